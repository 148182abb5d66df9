"""Limits from server.limits (and their environment overrides): each hit answers with its
status and a JSON error in the SPEC's shape, and moves restable_limit_hits_total{limit=...}.
Connections over the limit get 503, a URL too long 414, headers too large 431, a body too
large 413, a page too large 403; an idle connection is closed after connection_timeout_s."""
import copy
import re
import socket
import time

from fixtures import MOVIES
from harness import Server, expect, expect_error, expect_status


def limited():
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"max_body_bytes": 2048,
                      "limits": {"max_connections": 4, "connection_timeout_s": 1,
                                 "max_header_bytes": 2048, "max_url_bytes": 1024}}
    return conf


def setup():
    return {"server": Server(limited()).start()}


def teardown(context):
    context["server"].stop()


def limit_hits(server, limit):
    text = server.get("/metrics").body
    match = re.search(r'^restable_limit_hits_total\{limit="%s"\} (\d+)$' % limit, text, re.M)
    expect(match, f"no limit_hits for {limit} in /metrics")
    return int(match.group(1))


def test_url_over_max_url_bytes_is_414(context):
    server = context["server"]
    before = limit_hits(server, "max_url_bytes")
    expect_error(server.get("/movie/?name=" + "x" * 1100), 414, contains="1024")
    expect_status(server.get("/healthz?pad=" + "x" * 900), 200)
    expect(limit_hits(server, "max_url_bytes") == before + 1)


def test_headers_over_max_header_bytes_are_431(context):
    server = context["server"]
    before = limit_hits(server, "max_header_bytes")
    expect_error(server.get("/healthz", headers={"X-Padding": "y" * 2100}), 431,
                 contains="2048")
    expect_status(server.get("/healthz", headers={"X-Padding": "y" * 1500}), 200)
    expect(limit_hits(server, "max_header_bytes") == before + 1)


def test_body_over_max_body_bytes_is_413(context):
    server = context["server"]
    before = limit_hits(server, "max_body_bytes")
    expect_error(server.request("POST", "/movie/", body={"name": "z" * 3000}), 413)
    expect(limit_hits(server, "max_body_bytes") == before + 1)


def test_page_over_max_page_size_is_403(context):
    server = context["server"]
    before = limit_hits(server, "max_page_size")
    expect_error(server.get("/movie/?__page_size=101"), 403, field="__page_size")
    expect_error(server.get("/director/ids/?limit=100000"), 403, field="limit")
    expect(limit_hits(server, "max_page_size") == before + 2)


def test_connections_over_max_connections_get_503(context):
    server = context["server"]
    before = limit_hits(server, "max_connections")
    idle = []
    try:
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            # one answered request each: the server has surely taken and counted it
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            expect(sock.recv(4096).startswith(b"HTTP/1.1 200"))
            idle.append(sock)
        response = server.get("/healthz")
        expect_error(response, 503, contains="max_connections")
        expect(response.header("Retry-After") == "1", response.headers)
    finally:
        for sock in idle:
            sock.close()
    # the server counts a closed connection once its thread has seen the close: on a loaded
    # machine that can take a moment, and until then a new one is still over the limit
    deadline = time.time() + 5
    while server.get("/healthz").status != 200 and time.time() < deadline:
        time.sleep(0.1)
    expect_status(server.get("/healthz"), 200)
    expect(limit_hits(server, "max_connections") >= before + 1)


def read_until_closed(sock, seconds):
    """Returns how long the server took to close the connection (or None if it did not)."""
    started = time.time()
    sock.settimeout(0.2)
    while time.time() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.time() - started
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - started
    return None


def test_a_silent_connection_is_closed_after_connection_timeout_s(context):
    server = context["server"]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        closed_after = read_until_closed(sock, 6)
    finally:
        sock.close()
    expect(closed_after is not None, "the server kept a silent connection open")
    expect(closed_after < 4, f"closed only after {closed_after:.1f} s")


def test_a_stalled_body_is_cut_off_and_counted(context):
    server = context["server"]
    before = limit_hits(server, "connection_timeout")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        sock.sendall(b"POST /movie/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"na")
        closed_after = read_until_closed(sock, 6)
    finally:
        sock.close()
    expect(closed_after is not None and closed_after < 4, f"closed after {closed_after}")
    expect(limit_hits(server, "connection_timeout") == before + 1)


def test_limits_follow_the_environment(context):
    server = Server(MOVIES, env={"RESTABLE_MAX_URL_BYTES": "300",
                                 "RESTABLE_MAX_HEADER_BYTES": "1500"}).start()
    try:
        expect_error(server.get("/movie/?name=" + "x" * 400), 414, contains="300")
        expect_error(server.get("/healthz", headers={"X-Padding": "y" * 1600}), 431)
        expect_status(server.get("/movie/?name=" + "x" * 200), 200)
    finally:
        server.stop()


def test_limits_have_sane_defaults_and_are_validated(context):
    server = Server(MOVIES).start()
    try:
        expect_status(server.get("/healthz?pad=" + "x" * 7000), 200)
        expect_error(server.get("/movie/?name=" + "x" * 9000), 414, contains="8192")
    finally:
        server.stop()
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"limits": {"max_connections": 0, "max_url_bytes": "big", "max_header": 1}}
    bad = Server(conf, migrate=False)
    result = bad.cli(["config", "check"])
    expect(result.returncode == 1, result.stderr)
    for text in ("server.limits.max_connections", "server.limits.max_url_bytes",
                 "server.limits.max_header"):
        expect(text in result.stderr, f"{text} not in {result.stderr}")
    result = bad.cli(["config", "check"], env={"RESTABLE_MAX_CONNECTIONS": "lots"})
    expect("RESTABLE_MAX_CONNECTIONS" in result.stderr, result.stderr)


def test_open_connections_are_a_gauge_in_metrics(context):
    server = context["server"]
    time.sleep(0.3)  # connections of earlier tests close
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
    try:
        time.sleep(0.2)
        text = server.get("/metrics").body
        match = re.search(r"^restable_http_open_connections (\d+)$", text, re.M)
        expect(match and int(match.group(1)) >= 3, f"open connections: {match and match[1]}")
    finally:
        for sock in idle:
            sock.close()


def test_body_over_the_limit_is_read_before_the_413(context):
    """A client that sends a large body whole, without waiting for 100-continue, reads the 413
    instead of a reset (RFC 9112 §9.6): the server drains the body before answering."""
    server = context["server"]
    body = b'{"name": "' + b"z" * 4000000 + b'"}'
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(b"POST /movie/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            answer = sock.recv(4096)
        finally:
            sock.close()
        expect(answer.startswith(b"HTTP/1.1 413"), answer[:100])
        expect(b'"status":413' in answer, answer)


def test_body_over_the_limit_with_expect_continue_is_refused_before_it_is_sent(context):
    server = context["server"]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"POST /movie/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 50000000\r\n\r\n")
        answer = sock.recv(4096)
    finally:
        sock.close()
    expect(answer.startswith(b"HTTP/1.1 413"), answer[:100])
