"""The process's life: clean shutdown with a request in flight, a database that is down at
start or goes away (503, then recovery without a restart), a port already in use, a stderr
that nobody reads."""
import http.client
import os
import socket
import subprocess
import threading
import time

from fixtures import MOVIES
from harness import (Server, expect, expect_error, expect_status, lock_table, pg_start,
                     pg_stop, run_cli, wait_until)


def test_sigterm_drains_answers_the_request_in_flight_and_exits_0():
    server = Server(MOVIES).start()
    server.sql("INSERT INTO director (name) VALUES ('x')")
    # Hold a lock so the list query waits while SIGTERM arrives.
    locker = lock_table(server, "director", 2.5)
    result = {}

    def slow_request():
        result["response"] = server.get("/director/")

    # a balancer's keep-alive connection, open before the signal
    probe = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    probe.request("GET", "/readyz")
    expect(probe.getresponse().read() and True)
    thread = threading.Thread(target=slow_request)
    thread.start()
    wait_until(server, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    server.process.send_signal(15)
    # draining: /readyz says 503 on the open connection, and a new connection gets no answer.
    # (A probe sent at the very moment of the signal may still pass, with Connection: close:
    # wait until the server says it is draining.)
    deadline = time.time() + 5
    while "finishing in-flight requests" not in server.read_log():
        expect(time.time() < deadline, "the server did not log the signal")
        time.sleep(0.02)
    time.sleep(0.1)
    probe.request("GET", "/readyz")
    answer = probe.getresponse()
    answer.read()
    expect(answer.status == 503, f"/readyz answered {answer.status} while draining")
    expect(answer.getheader("Connection") == "close", answer.getheaders())
    refused = False
    try:
        server.get("/healthz", timeout=5)
    except (ConnectionError, http.client.HTTPException, OSError):
        refused = True
    expect(refused, "a new connection was served while draining")
    thread.join(timeout=20)
    locker.wait(timeout=20)
    expect("response" in result, "the in-flight request got no answer")
    expect_status(result["response"], 200)
    expect(result["response"].json["rows"][0]["name"] == "x")
    expect(server.stop() == 0, "serve did not exit 0")


def test_database_down_at_start_then_recovers():
    server = Server(MOVIES)
    server.start()
    pg_stop()
    try:
        started = time.time()
        expect_error(server.get("/movie/"), 503)
        expect(time.time() - started < 3, "503 took too long")
        response = server.get("/movie/")
        expect(response.header("Retry-After") is not None, response.headers)
        expect_status(server.get("/healthz"), 200)
        expect_error(server.get("/readyz"), 503)
    finally:
        pg_start()
    deadline = time.time() + 15
    while time.time() < deadline and server.get("/movie/").status != 200:
        time.sleep(0.2)
    expect_status(server.get("/movie/"), 200)
    expect_status(server.get("/readyz"), 200)
    code = server.stop()
    expect(code == 0, f"serve exited {code}; its log ends:\n{server.read_log()[-3000:]}")


def test_server_starts_while_database_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    server = Server(MOVIES, migrate=False,
                    database_url=f"postgresql://postgres@127.0.0.1:{closed_port}/nope")
    server.start(wait_ready=False)
    expect_status(server.get("/healthz"), 200)
    expect_error(server.get("/movie/"), 503)
    expect_error(server.get("/readyz"), 503)
    expect(server.stop() == 0)


def test_port_in_use_is_a_clear_error():
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        server = Server(MOVIES, migrate=False)
        result = run_cli(["serve"], server.config_path, {"RESTABLE_PORT": str(port)}, timeout=20)
        expect(result.returncode == 1, result)
        expect("cannot listen" in result.stderr and str(port) in result.stderr, result.stderr)


def test_a_stderr_nobody_reads_neither_slows_requests_nor_holds_up_the_exit():
    # stderr is a pipe that is never read: after 64 KiB the log writer blocks in write(2).
    # Requests must go on being answered (they never wait on the log), and SIGTERM must still
    # end the process, with exit 0, within the grace period and the writer's 2 s.
    server = Server(MOVIES)
    # sanitizer reports to a file: stderr takes nothing
    server.env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":log_path=" + \
        os.path.join(server.directory, "asan")
    process = server.start(output=subprocess.PIPE).process
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        started = time.time()
        for number in range(1500):  # about 300 KiB of access lines
            connection.request("GET", "/director/", headers={"X-Request-Id": "pipe-%d" % number})
            response = connection.getresponse()
            response.read()
            expect(response.status == 200, "request %d: %d" % (number, response.status))
        expect(time.time() - started < 60, "1500 requests took %.1f s" % (time.time() - started))
        connection.close()
        process.send_signal(15)
        started = time.time()
        code = process.wait(timeout=20)
        expect(code == 0, "serve exited %s" % code)
        expect(time.time() - started < 10, "exit took %.1f s" % (time.time() - started))
        head = process.stdout.read(65536).decode("utf-8", "replace")
        expect("listening on" in head, head[:500])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    reports = [name for name in os.listdir(server.directory) if name.startswith("asan")]
    expect(not reports, "sanitizer reports: %s" % reports)


def test_start_says_the_threads_and_pool_it_chose_from_the_machine():
    usable = len(os.sched_getaffinity(0))
    server = Server(MOVIES).start()
    try:
        log = server.read_log()
    finally:
        expect(server.stop() == 0)
    expected_pool = min(max(2 * usable, 2), 32)
    expect(f"{expected_pool} database connections" in log and "usable CPU" in log, log[-2000:])
    # what the config sets is used as it is, and said so
    conf = dict(MOVIES)
    conf["database"] = {"pool_size": 3}
    server = Server(conf).start()
    try:
        log = server.read_log()
    finally:
        expect(server.stop() == 0)
    expect("3 database connections (database.pool_size)" in log, log[-2000:])
