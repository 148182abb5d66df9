"""CSV (SPEC §5): GET /T/ in CSV by Accept or __format (every column type, RFC 4180 quoting,
joined fields, NULLs, arrays and json, negotiation, ETag, HEAD, errors in JSON), and
GET /T/export/ streamed from COPY (the same bytes as the page, filters and order, policies and
row-level security, a client that disconnects or stalls mid-export gives its connection back,
and 1,000,000 rows in constant memory on the release build)."""
import copy
import csv
import io
import json
import os
import socket
import time

from fixtures import MOVIES, SAMPLE_TABLE, SEED_SQL
from harness import Server, expect, expect_error, expect_status, rss_mib, serve_as_non_owner

SECRET = "csv-test-secret-that-is-long-enough-0123456789"
BIG_ROWS = 200000
PAD = "x" * 100  # rows of about 80 bytes: more than the socket buffers hold


def config():
    conf = copy.deepcopy(MOVIES)
    conf["auth"] = {"jwt": {"secret": SECRET},
                    "default": {"read": "public", "write": "public", "delete": "public"}}
    conf["server"] = {"limits": {"export_stall_timeout_s": 1}}
    conf["database"] = {"pool_size": 2}
    conf["tables"]["sample"] = copy.deepcopy(SAMPLE_TABLE)
    conf["tables"]["vault"] = {"columns": {"body": {"type": "text"}},
                               "auth": {"read": ["role:admin"]}}
    conf["tables"]["note"] = {"columns": {"owner": {"type": "varchar", "length": 100},
                                          "body": {"type": "text"}},
                              "auth": {"read": "authenticated"}}
    conf["tables"]["big"] = {"columns": {"n": {"type": "integer"},
                                         "label": {"type": "text"}}}
    return conf


SAMPLE_SQL = """
INSERT INTO sample (small, big, ratio, score, at, clock, notes, doc, ints, movie) VALUES
  (-3, 9007199254740993, 1.5, -0.25, '2024-02-29 13:14:15.5', '08:30:00',
   'comma, "quote", CR' || chr(13) || ' LF' || chr(10) || ' end', '{"a": [1, "x,y"]}',
   '{1,NULL,3}', 1),
  (NULL, 0, NULL, NULL, NULL, NULL, '', 'null', '{}', NULL),
  (7, -1, 0, 1e300, NULL, NULL, '=1+1', '"just text"', NULL, 5),
  (NULL, 0, NULL, NULL, NULL, NULL, '\\.', NULL, NULL, NULL);
"""


def make_token(server, *args):
    return server.cli_ok(["token", "--sub", "alice"] + list(args)).stdout.strip()


def setup():
    server = Server(config())
    server.sql(SEED_SQL)
    server.sql(SAMPLE_SQL)
    server.sql("INSERT INTO vault (body) VALUES ('gold')")
    server.sql(f"INSERT INTO big (n, label) SELECT i, 'row ' || i || ' {PAD}' "
               f"FROM generate_series(1, {BIG_ROWS}) i")
    server.sql("ALTER TABLE note ENABLE ROW LEVEL SECURITY; "
               "CREATE POLICY note_owner ON note USING "
               "(owner = current_setting('request.jwt.claims', true)::json->>'sub')")
    server.sql("INSERT INTO note (owner, body) VALUES ('alice', 'a1'), ('alice', 'a2'), "
               "('bob', 'b1')")
    serve_as_non_owner(server)  # not the tables' owner: RLS applies
    return server.start()


def teardown(server):
    expect(server.stop() == 0, "serve did not exit 0 on SIGTERM")


def is_csv(response):
    return (response.header("Content-Type") or "").startswith("text/csv")


def parse(response):
    expect_status(response, 200)
    expect(response.header("Content-Type") == "text/csv; charset=utf-8", response.headers)
    return list(csv.reader(io.StringIO(response.body, newline="")))


def expected_text(value):
    """What the CSV holds for a JSON value: its JSON text, strings without quotes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return None  # numbers, arrays and objects: compared as JSON below


def test_every_column_type_says_what_the_json_says(server):
    rows = server.get("/sample/?__order=id").json["rows"]
    table = parse(server.get("/sample/?__order=id&__format=csv"))
    header, records = table[0], table[1:]
    expect(header == list(rows[0].keys()), header)
    expect(len(records) == len(rows) == 4, table)
    for row, record in zip(rows, records):
        for key, cell in zip(header, record):
            value = row[key]
            if key == "doc":  # json as its JSON text; JSON null and SQL NULL look alike in JSON
                expect(cell == ("" if value is None else json.dumps(value)) or
                       (value is None and cell == "null") or json.loads(cell) == value,
                       f"doc: {cell!r}")
                continue
            text = expected_text(value)
            if text is not None:
                expect(cell == text, f"{key}: {cell!r} for {value!r}")
            else:
                expect(json.loads(cell) == value, f"{key}: {cell!r} for {value!r}")
    expect(records[1][header.index("doc")] == "null", records[1])  # JSON null, not SQL NULL
    expect(records[2][header.index("doc")] == '"just text"', records[2])  # JSON text as is
    expect(records[0][header.index("ints")] == "[1,null,3]", records[0])


def test_quoting_follows_rfc_4180(server):
    body = server.get("/sample/?__order=id&__format=csv&__visible_fields=id,notes,small").body
    lines = body.split("\r\n")
    expect(lines[0] == "id,notes,small", lines)
    expect(body.startswith('id,notes,small\r\n1,"comma, ""quote"", CR\r LF\n end",-3\r\n'), body)
    expect('\r\n2,"",\r\n' in body, "the empty string is quoted, NULL is not: " + body)
    expect("\r\n3,=1+1,7\r\n" in body, "formulas are written as they are: " + body)
    expect('\r\n4,\\.,\r\n' in body, body)
    lone = server.get("/sample/?__order=id&__format=csv&__visible_fields=notes&id=4").body
    expect(lone == 'notes\r\n"\\."\r\n', "COPY quotes a lone \\.: " + lone)
    expect(body.endswith("\r\n"), body)


def test_joined_fields_are_dotted_in_visible_field_order(server):
    table = parse(server.get("/movie/?__order=id&__format=csv"
                             "&__visible_fields=director.name,name,id"))
    expect(table[0] == ["director.name", "name", "id"], table[0])
    expect(table[1] == ["Akira Kurosawa", "Seven Samurai", "1"], table[1])
    expect(table[5] == ["", "100% Pure_Test", "5"], table[5])
    deep = parse(server.get("/sample/?__order=id&__format=csv"
                            "&__visible_fields=id,movie.director.name,movie.name"))
    expect(deep[0] == ["id", "movie.director.name", "movie.name"], deep[0])
    expect(deep[1] == ["1", "Akira Kurosawa", "Seven Samurai"], deep[1])
    expect(deep[2] == ["2", "", ""], deep[2])


def test_readable_adds_its_column(server):
    table = parse(server.get("/movie/?__order=id&__format=csv&__readable=true"
                             "&__visible_fields=name,director"))
    expect(table[0] == ["name", "director", "director_readable"], table[0])
    expect(table[1] == ["Seven Samurai", "1", "Akira Kurosawa"], table[1])


def test_filters_order_and_pages_apply(server):
    table = parse(server.get("/movie/?__format=csv&__visible_fields=name&__order=-rating,name"
                             "&released=true&__page_size=2&__page=2"))
    expect(table == [["name"], ["Cleo from 5 to 7"], ["Rashomon"]], table)
    empty = server.get("/movie/?__format=csv&__visible_fields=name,rating&rating=100")
    expect(empty.body == "name,rating\r\n", empty.body)


def test_accept_negotiation(server):
    cases = [
        (None, False), ("*/*", False), ("application/json", False), ("text/csv", True),
        ("text/*", True), ("TEXT/CSV; charset=utf-8", True),
        ("application/json;q=0.5, text/csv", True), ("text/csv;q=0.2, application/json", False),
        ("text/csv;q=0.9, */*;q=0.1", True), ("application/*, text/csv;q=0.5", False),
        ("text/csv;q=0", False), ("application/xml", False), ("text/html, text/*;q=0.3", True),
        ("text/csv, application/json", False),
    ]
    for accept, wants_csv in cases:
        headers = {"Accept": accept} if accept else {}
        response = server.get("/movie/", headers=headers)
        expect_status(response, 200)
        expect(is_csv(response) == wants_csv, f"Accept {accept!r}: {response.headers}")
        expect(response.header("Vary") == "Accept", response.headers)
    forced = server.get("/movie/?__format=json", headers={"Accept": "text/csv"})
    expect(not is_csv(forced) and forced.json["rows"], forced)
    expect(is_csv(server.get("/movie/?__format=csv", headers={"Accept": "application/json"})))
    expect_error(server.get("/movie/?__format=xml"), 400, field="__format")
    expect_error(server.get("/movie/?__format="), 400, field="__format")


def test_etag_differs_by_representation(server):
    as_json = server.get("/movie/")
    as_csv = server.get("/movie/", headers={"Accept": "text/csv"})
    expect(as_json.header("ETag") and as_csv.header("ETag"), as_csv.headers)
    expect(as_json.header("ETag") != as_csv.header("ETag"), "one tag for two representations")
    again = server.get("/movie/", headers={"Accept": "text/csv",
                                           "If-None-Match": as_csv.header("ETag")})
    expect_status(again, 304)
    other = server.get("/movie/", headers={"If-None-Match": as_csv.header("ETag")})
    expect_status(other, 200)


def test_head_and_errors(server):
    head = server.request("HEAD", "/movie/?__format=csv")
    expect_status(head, 200)
    expect(is_csv(head) and head.body == "", head.headers)
    head = server.request("HEAD", "/movie/export/")
    expect_status(head, 200)
    expect(is_csv(head) and head.header("Content-Disposition") == 'attachment; filename="movie.csv"')
    for path in ["/movie/?__format=csv&rating=abc", "/movie/export/?rating=abc",
                 "/movie/export/?nope=1", "/movie/export/?__visible_fields=nope"]:
        response = server.get(path, headers={"Accept": "text/csv"})
        expect_status(response, 400)
        expect(response.header("Content-Type").startswith("application/json"), response.headers)
    expect_error(server.get("/movie/export/?__page=2"), 400, field="__page")
    expect_error(server.get("/movie/export/?__page_size=5"), 400, field="__page_size")
    expect_error(server.get("/movie/export/?__format=csv"), 400, field="__format")


def test_export_is_the_list_in_full(server):
    for query in ["__order=id", "__order=-rating,name&released=true",
                  "__visible_fields=name,director.name,tags,extra&__order=name",
                  "__readable=true&__order=id", "genre=drama&genre=sci-fi&__order=id",
                  "name__match=starts&name=R&__order=id", "rating__operator=gte&rating=8"]:
        page = server.get(f"/movie/?__format=csv&__page_size=100&{query}")
        export = server.get(f"/movie/export/?{query}")
        expect_status(export, 200)
        expect(export.header("Content-Type") == "text/csv; charset=utf-8", export.headers)
        expect(export.header("Content-Disposition") == 'attachment; filename="movie.csv"')
        expect(export.body == page.body, f"{query}:\n{export.body!r}\n{page.body!r}")
    for query in ["__order=id", "__order=id&__visible_fields=notes"]:
        sample = server.get(f"/sample/export/?{query}")
        expect(sample.body == server.get(f"/sample/?__format=csv&{query}").body, sample.body)
    table = parse(server.get("/movie/export/?__order=-id&__visible_fields=id&rating=9"))
    expect(table == [["id"], ["3"], ["1"]], table)


def test_export_of_many_rows(server):
    export = server.get("/big/export/?__order=n&__visible_fields=n,label")
    lines = export.body.split("\r\n")
    expect(lines[0] == "n,label" and lines[1] == f"1,row 1 {PAD}", lines[:2])
    expect(lines[BIG_ROWS] == f"{BIG_ROWS},row {BIG_ROWS} {PAD}" and lines[-1] == "", lines[-3:])
    expect(len(lines) == BIG_ROWS + 2, len(lines))


def test_export_follows_policies_and_row_level_security(server):
    expect_error(server.get("/vault/export/"), 401)
    expect_error(server.get("/vault/export/",
                            headers={"Authorization": "Bearer " + make_token(server)}), 403)
    admin = {"Authorization": "Bearer " + make_token(server, "--role", "admin")}
    expect(parse(server.get("/vault/export/", headers=admin)) == [["id", "body"], ["1", "gold"]])
    expect_error(server.get("/note/export/"), 401)
    alice = {"Authorization": "Bearer " + make_token(server)}
    table = parse(server.get("/note/export/?__order=id", headers=alice))
    expect(table == [["id", "owner", "body"], ["1", "alice", "a1"], ["2", "alice", "a2"]], table)
    page = server.get("/note/?__format=csv&__order=id", headers=alice)
    expect(page.body == server.get("/note/export/?__order=id", headers=alice).body, page.body)


def busy_connections(server):
    text = server.get("/metrics").body
    for line in text.splitlines():
        if line.startswith('restable_db_pool_connections{state="busy"}'):
            return int(line.split()[-1])
    raise AssertionError("no busy gauge in /metrics")


def wait_idle(server, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if busy_connections(server) == 0:
            return True
        time.sleep(0.05)
    return False


def open_export(server, path):
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def test_client_disconnect_frees_the_connection(server):
    for _ in range(3):  # more times than the pool has connections
        sock = open_export(server, "/big/export/?__order=n")
        data = sock.recv(65536)
        expect(b"200 OK" in data and b"text/csv" in data, data[:200])
        sock.close()
        started = time.time()
        response = server.get("/movie/1/")
        expect_status(response, 200)
        expect(time.time() - started < 1, "the next request waited")
        expect(wait_idle(server, 2), "the export still holds its connection")
    expect(server.get("/big/count/").json["count"] == BIG_ROWS)


def test_stalled_client_is_bounded(server):
    sock = open_export(server, "/big/export/?__order=n")
    try:
        time.sleep(0.5)
        expect(busy_connections(server) == 1, "the export should be running")
        # export_stall_timeout_s is 1: once the buffers are full the copy is cut
        started = time.time()
        expect(wait_idle(server, 15), "a stalled client holds its connection")
        print(f"     cut {time.time() - started + 0.5:.1f} s after the client stopped reading")
        for _ in range(4):
            expect_status(server.get("/big/count/"), 200)
        # what did arrive is a chunked body cut short: no final zero-length chunk
        sock.settimeout(10)
        received = b""
        while True:
            try:
                data = sock.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            received += data
        expect(b"200 OK" in received[:200], received[:200])
        expect(not received.endswith(b"\r\n0\r\n\r\n"), "a cut export looks whole")
        expect(len(received) < BIG_ROWS * 110, "the whole export was sent")
    finally:
        sock.close()


def test_million_rows_in_constant_memory(server):
    """Measured on the release build (ASan keeps freed memory in quarantine on purpose), as
    tests/integration/test_hardening.py does."""
    binary = os.environ.get("RESTABLE_TEST_RELEASE_BINARY")
    if not binary:
        print("     (skipped: RESTABLE_TEST_RELEASE_BINARY is not set)")
        return
    import harness
    conf = {"tables": {"wide": {"columns": {"n": {"type": "integer"},
                                            "label": {"type": "text"},
                                            "at": {"type": "timestamptz"}}}}}
    saved, harness.BINARY = harness.BINARY, os.path.abspath(binary)
    try:
        release = Server(conf)
        release.sql("INSERT INTO wide (n, label, at) SELECT i, 'label number ' || i, "
                    "'2024-01-01'::timestamptz + i * interval '1 second' "
                    "FROM generate_series(1, 1000000) i")
        release.start()
    finally:
        harness.BINARY = saved
    try:
        release.get("/wide/export/?n=1")  # warm: the first export's allocations
        before = rss_mib(release.process.pid)
        sock = socket.create_connection(("127.0.0.1", release.port))
        sock.sendall(b"GET /wide/export/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received, rows, peak = 0, 0, before
        tail = b""
        while True:
            data = sock.recv(1 << 16)
            if not data:
                break
            received += len(data)
            rows += data.count(b"\r\n")
            tail = (tail + data)[-16:]
            if received % (1 << 22) < len(data):  # every 4 MiB or so
                peak = max(peak, rss_mib(release.process.pid))
        sock.close()
        peak = max(peak, rss_mib(release.process.pid))
        expect(tail.endswith(b"\r\n0\r\n\r\n"), "the export did not end whole")
        expect(rows > 1000000, f"{rows} lines")
        print(f"     1,000,000 rows, {received / 1e6:.0f} MB: RSS {before:.1f} MiB before, "
              f"{peak:.1f} MiB at most")
        expect(peak - before < 10, f"RSS grew by {peak - before:.1f} MiB")
    finally:
        release.stop()
