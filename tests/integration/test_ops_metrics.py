"""Operations beyond the routes: /metrics values move as requests are made (requests, database
errors by SQLSTATE class, limit hits, build info), who may read /metrics (auth.default.read
unless server.metrics.public), the log level (server.log_level / RESTABLE_LOG_LEVEL), and the
shutdown grace period (server.shutdown_grace_s) with a request in flight."""
import copy
import json
import os
import re
import threading
import time

from fixtures import MOVIES
from harness import Server, expect, expect_error, expect_status, lock_table, wait_until

SECRET = "metrics-test-secret-0123456789abcdef01"


def metric(text, name, labels=""):
    pattern = r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels))
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else None


def setup():
    server = Server(MOVIES)
    server.sql("INSERT INTO director (name) VALUES ('Kurosawa')")
    return {"server": server.start()}


def teardown(context):
    context["server"].stop()


def test_request_counters_move_with_requests(context):
    server = context["server"]
    labels = '{table="director",route="list",method="GET",status="200"}'
    before = metric(server.get("/metrics").body, "restable_http_requests_total", labels) or 0
    for _ in range(3):
        expect_status(server.get("/director/"), 200)
    # a request is counted when MHD reports it complete, just after its answer went out
    deadline = time.time() + 5
    while True:
        after = metric(server.get("/metrics").body, "restable_http_requests_total", labels)
        if after == before + 3 or time.time() > deadline:
            break
        time.sleep(0.05)
    expect(after == before + 3, f"{before} -> {after}")


def test_database_errors_are_counted_by_sqlstate_class(context):
    server = context["server"]
    labels = '{class="23"}'
    before = metric(server.get("/metrics").body, "restable_db_errors_total", labels) or 0
    expect_error(server.request("POST", "/director/", body={"name": "Kurosawa"}), 409)
    expect_error(server.request("POST", "/movie/", body={"name": "x", "director": 999}), 409)
    after = metric(server.get("/metrics").body, "restable_db_errors_total", labels)
    expect(after == before + 2, f"{before} -> {after}")


def test_metrics_carry_build_info_pool_and_failure_counters(context):
    text = context["server"].get("/metrics").body
    expect(metric(text, "restable_build_info", '{version="0.1.0"}') == 1, text[-2000:])
    for name in ("restable_db_acquire_timeouts_total", "restable_db_reconnects_total",
                 "restable_db_queue_full_total", "restable_process_open_fds",
                 "restable_process_resident_memory_bytes"):
        expect(metric(text, name) is not None, f"{name} missing")
    # the default pool: two connections per usable CPU, from 2 to 32 (server/sizing.c)
    default_pool = min(max(2 * len(os.sched_getaffinity(0)), 2), 32)
    expect(metric(text, "restable_db_pool_connections", '{state="configured"}') == default_pool,
           text[-2000:])
    expect("# TYPE restable_limit_hits_total counter" in text)


def secured(metrics_public):
    conf = copy.deepcopy(MOVIES)
    conf["auth"] = {"jwt": {"secret": SECRET}}  # default read: authenticated
    if metrics_public is not None:
        conf["server"] = {"metrics": {"public": metrics_public}}
    return conf


def test_metrics_follow_default_read_unless_public(context):
    guarded = Server(secured(None)).start()
    try:
        expect_error(guarded.get("/metrics"), 401)
        token = guarded.cli_ok(["token", "--sub", "prometheus"]).stdout.strip()
        response = guarded.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        expect_status(response, 200)
        expect(response.header("Content-Type").startswith("text/plain"), response.headers)
    finally:
        guarded.stop()
    public = Server(secured(True), migrate=False,
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        expect_status(public.get("/metrics"), 200)
        expect_error(public.get("/metrics", headers={"Authorization": "Bearer nonsense"}), 401)
    finally:
        public.stop()


def access_lines(server):
    return [line for line in server.read_log().splitlines() if '"request_id"' in line]


def test_log_level_warn_drops_access_lines_and_debug_keeps_them(context):
    quiet = Server(MOVIES, env={"RESTABLE_LOG_LEVEL": "warn"}).start()
    try:
        expect_status(quiet.get("/director/"), 200)
        expect_status(quiet.get("/director/"), 200)
    finally:
        quiet.stop()
    # (the harness's /readyz polls before the pool is up may log 503s, which are warnings)
    expect(not any('"status":200' in line for line in access_lines(quiet)), access_lines(quiet))
    expect("no JWT key is configured" in quiet.read_log(), "warnings still show at warn")
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"log_level": "debug"}
    loud = Server(conf).start()
    try:
        expect_status(loud.get("/director/"), 200)
    finally:
        loud.stop()
    lines = [line for line in access_lines(loud) if '"path":"/director/"' in line]
    expect(len(lines) == 1 and '"table":"director"' in lines[0], lines)
    debug = [line for line in loud.read_log().splitlines() if '"level":"debug"' in line]
    expect(any("SELECT" in line for line in debug), "debug shows each query's statement")
    expect(not any("SELECT" in line for line in quiet.read_log().splitlines()), "not at warn")
    line = json.loads(lines[0])
    expect(line["bytes"] == len('{"rows":[]}') and line["status"] == 200, line)


def test_readyz_answers_503_at_once_when_no_connection_is_up(context):
    server = Server(MOVIES, migrate=False,
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        started = time.time()
        body = expect_error(server.get("/readyz"), 503, contains="not reachable")
        expect(time.time() - started < 1, "readyz must not wait for the pool")
        expect_status(server.get("/healthz"), 200)
    finally:
        server.stop()
    expect(body is not None)


def test_log_level_is_validated(context):
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"log_level": "loud"}
    server = Server(conf, migrate=False)
    result = server.cli(["config", "check"])
    expect(result.returncode == 1 and "server.log_level" in result.stderr, result.stderr)
    expect('"loud"' in result.stderr, result.stderr)


def test_shutdown_grace_period_bounds_the_wait_for_requests_in_flight(context):
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"shutdown_grace_s": 1}
    conf["database"] = {"statement_timeout_ms": 4000}
    server = Server(conf).start()
    server.sql("INSERT INTO director (name) VALUES ('x')")
    locker = lock_table(server, "director", 3)
    result = {}

    def slow_request():
        try:
            result["response"] = server.get("/director/", timeout=15)
        except OSError as error:
            result["error"] = error

    thread = threading.Thread(target=slow_request)
    thread.start()
    wait_until(server, "SELECT count(*) FROM pg_locks WHERE relation = 'director'::regclass "
                     "AND NOT granted")  # the list query waits on the lock
    started = time.time()
    server.process.send_signal(15)
    thread.join(timeout=20)
    code = server.stop(timeout=20)
    locker.wait(timeout=20)
    expect(code == 0, f"serve exited {code}")
    expect("response" in result, f"the request in flight got no answer: {result}")
    expect(result["response"].status in (200, 503), result["response"])
    expect("grace period of 1 s is over" in server.read_log(), server.read_log()[-2000:])
    expect(time.time() - started < 10, "shutdown took too long")



def test_acquire_timeouts_and_reconnects_are_counted(context):
    conf = copy.deepcopy(MOVIES)
    conf["database"] = {"pool_size": 1, "acquire_timeout_ms": 200}
    server = Server(conf).start()
    try:
        server.sql("INSERT INTO director (name) VALUES ('x')")
        text = server.get("/metrics").body
        timeouts_before = metric(text, "restable_db_acquire_timeouts_total")
        reconnects_before = metric(text, "restable_db_reconnects_total")
        # the one connection is stuck behind a lock: what cannot be pipelined on it times out
        locker = lock_table(server, "director", 2)
        statuses = []

        def one():
            statuses.append(server.get("/director/", timeout=15).status)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        locker.wait(timeout=20)
        expect(503 in statuses and 200 in statuses, statuses)
        text = server.get("/metrics").body
        timeouts = metric(text, "restable_db_acquire_timeouts_total")
        expect(timeouts >= timeouts_before + statuses.count(503), f"{timeouts} {statuses}")
        # PostgreSQL drops the pool's connection: the pool reconnects, and says so
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        deadline = time.time() + 10
        while time.time() < deadline:
            server.get("/director/")
            reconnects = metric(server.get("/metrics").body, "restable_db_reconnects_total")
            if reconnects > reconnects_before:
                break
            time.sleep(0.2)
        expect(reconnects > reconnects_before, f"reconnects stayed at {reconnects}")
    finally:
        server.stop()


def test_readyz_is_503_within_a_second_when_every_connection_is_busy(context):
    """Issue 6: a pool connection answers SELECT 1 within 1 s, else 503 with the reason. The
    probe is never pipelined behind the stuck query, and does not wait the 5 s acquire
    timeout."""
    conf = copy.deepcopy(MOVIES)
    conf["database"] = {"pool_size": 1, "acquire_timeout_ms": 5000}
    server = Server(conf).start()
    try:
        expect_status(server.get("/readyz"), 200)
        locker = lock_table(server, "director", 3)
        stuck = threading.Thread(target=lambda: server.get("/director/", timeout=15))
        stuck.start()
        wait_until(server, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        started = time.time()
        response = server.get("/readyz", timeout=10)
        elapsed = time.time() - started
        expect_error(response, 503, contains="within 1000 ms")
        expect(0.9 <= elapsed < 2.5, f"answered after {elapsed:.2f} s")
        stuck.join(timeout=15)
        locker.wait(timeout=15)
        expect_status(server.get("/readyz"), 200)
    finally:
        server.stop()


def test_access_lines_reach_the_log_while_the_server_runs(context):
    # lines are written in batches by a thread of their own: they must still show up promptly,
    # in order, whole, without waiting for the server to stop
    server = context["server"]
    marker = "batched-%d" % time.time_ns()
    for number in range(50):
        expect_status(server.get("/director/", headers={"X-Request-Id": "%s-%d" % (marker, number)}),
                      200)
    deadline = time.time() + 5
    lines = []
    while time.time() < deadline:
        lines = [line for line in access_lines(server) if marker in line]
        if len(lines) == 50:
            break
        time.sleep(0.05)
    expect(len(lines) == 50, "%d of 50 access lines within 5 s" % len(lines))
    numbers = [int(json.loads(line)["request_id"].rsplit("-", 1)[1]) for line in lines]
    expect(numbers == list(range(50)), numbers)
