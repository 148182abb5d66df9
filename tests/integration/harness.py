"""tests/integration/harness.py — drives the built restable binary against a real PostgreSQL.

Each Server gets its own fresh database (created with psql), its own config file in a temp
dir, migrates it with the binary itself, and serves on a free loopback port. Requests go over
real HTTP (http.client). Nothing is mocked.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

BINARY = None
DATABASE_URL = None
_database_counter = [0]


def psql(url, sql, check=True):
    result = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def fresh_database():
    _database_counter[0] += 1
    name = f"it_{os.getpid()}_{_database_counter[0]}"
    psql(DATABASE_URL, f"DROP DATABASE IF EXISTS {name}")
    psql(DATABASE_URL, f"CREATE DATABASE {name}")
    parsed = urllib.parse.urlparse(DATABASE_URL)
    return urllib.parse.urlunparse(parsed._replace(path="/" + name))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(args, config_path=None, env=None, input_text=None, timeout=60):
    command = [BINARY] + (["-c", config_path] if config_path else []) + list(args)
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(command, capture_output=True, text=True, env=full_env,
                          input=input_text, timeout=timeout)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Server:
    """A restable process with its own database and config."""

    def __init__(self, config, migrate=True, env=None, database_url=None):
        self.database_url = database_url or fresh_database()
        self.directory = tempfile.mkdtemp(prefix="restable-it-")
        self.port = free_port()
        config = json.loads(json.dumps(config))
        config.setdefault("server", {})
        config["server"].setdefault("host", "127.0.0.1")
        config["server"]["port"] = self.port
        # scripts/test runs the suite twice: MHD's worker threads, then one shared loop
        if os.environ.get("RESTABLE_TEST_THREADS"):
            config["server"].setdefault("threads", int(os.environ["RESTABLE_TEST_THREADS"]))
        config.setdefault("database", {})
        config["database"].setdefault("url", self.database_url)
        self.config = config
        self.config_path = os.path.join(self.directory, "restable.json")
        with open(self.config_path, "w") as handle:
            json.dump(config, handle)
        self.env = dict(env or {})
        self.process = None
        self.log_path = os.path.join(self.directory, "server.log")
        if migrate:
            self.cli_ok(["migrations", "new", "--auto", "--name", "initial"])
            self.cli_ok(["migrations", "forwards"])

    def cli(self, args, input_text=None, env=None):
        merged = dict(self.env)
        merged.update(env or {})
        return run_cli(args, self.config_path, merged, input_text)

    def cli_ok(self, args, input_text=None):
        result = self.cli(args, input_text)
        if result.returncode != 0:
            raise AssertionError(f"restable {' '.join(args)} failed ({result.returncode}): "
                                 f"{result.stderr}{result.stdout}")
        return result

    def sql(self, statement):
        return psql(self.database_url, statement)

    def serve_config_path(self):
        """The config serve runs with. With RESTABLE_TEST_POOLER (a postgresql:// URL of a
        PgBouncer in front of the test server: scripts/pgbouncer-up), serve reaches the same
        database through it with database.prepared_statements false, while the CLI (migrations)
        keeps the direct URL: the suite then proves the API through a transaction pooler."""
        pooler = os.environ.get("RESTABLE_TEST_POOLER")
        if not pooler:
            return self.config_path
        with open(self.config_path) as handle:
            config = json.load(handle)
        database = config.setdefault("database", {})
        direct = urllib.parse.urlparse(database.get("url", self.database_url))
        through = urllib.parse.urlparse(pooler)
        user = f"{direct.username}@" if direct.username else ""
        netloc = f"{user}{through.hostname}:{through.port}"
        database["url"] = urllib.parse.urlunparse(direct._replace(netloc=netloc))
        database.setdefault("prepared_statements", False)
        path = os.path.join(self.directory, "restable-serve.json")
        with open(path, "w") as handle:
            json.dump(config, handle)
        return path

    def start(self, wait_ready=True, output=None):
        """output: where the server's stdout and stderr go; by default the log file that
        read_log reads (subprocess.PIPE: a pipe in self.process.stdout)."""
        full_env = dict(os.environ)
        full_env.update(self.env)
        if output is None:
            self.log = open(self.log_path, "w")
            output = self.log
        self.process = subprocess.Popen([BINARY, "-c", self.serve_config_path(), "serve"],
                                        stdout=output, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}: "
                                     f"{self.read_log()}")
            try:
                base = self.config["server"].get("base_path", "/").rstrip("/")
                response = self.request("GET", base + ("/readyz" if wait_ready else "/healthz"))
                if response.status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become ready: " + self.read_log())

    def read_log(self):
        if not os.path.exists(self.log_path):
            return "(the server's output went elsewhere)"
        with open(self.log_path) as handle:
            return handle.read()

    def request(self, method, path, body=None, headers=None, raw=None, timeout=30):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = dict(headers or {})
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        if isinstance(payload, str):
            payload = payload.encode()
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read().decode("utf-8", "replace")
        result = Response(response.status, response.getheaders(), data)
        connection.close()
        return result

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("server did not stop on SIGTERM")
        code = self.process.returncode if self.process else 0
        if self.process:
            self.log.close()
            log = self.read_log()
            if "ERROR: AddressSanitizer" in log or "runtime error:" in log or \
                    "LeakSanitizer" in log:
                raise AssertionError("sanitizer report in the server log:\n" + log[-4000:])
        return code


def rss_mib(pid):
    """The resident set of a process, in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def serve_as_non_owner(server):
    """Points the server's config at restable_it_app, a role that does not own the tables (so
    row-level security applies to it) and holds every privilege on them. Call after creating
    the tables (Server() migrates) and before start()."""
    server.sql("DO $$ BEGIN CREATE ROLE restable_it_app LOGIN; EXCEPTION WHEN duplicate_object "
               "THEN NULL; END $$")
    server.sql("GRANT ALL ON ALL TABLES IN SCHEMA public TO restable_it_app; "
               "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO restable_it_app")
    parsed = urllib.parse.urlparse(server.database_url)
    app_url = urllib.parse.urlunparse(parsed._replace(netloc=f"restable_it_app@{parsed.hostname}:"
                                                             f"{parsed.port}"))
    server.config["database"]["url"] = app_url
    with open(server.config_path, "w") as handle:
        json.dump(server.config, handle)


def wait_until(server, count_sql, seconds=10):
    """Polls count_sql (a SELECT count(*)) until it is not 0."""
    deadline = time.time() + seconds
    while server.sql(count_sql) == "0":
        expect(time.time() < deadline, f"timed out waiting for: {count_sql}")
        time.sleep(0.05)


def lock_table(server, table, seconds):
    """Holds an ACCESS EXCLUSIVE lock on table from another session for `seconds`, so queries
    on it wait; returns the psql process once the lock is granted."""
    locker = subprocess.Popen(["psql", "-qAtX", server.database_url, "-c",
                               f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; "
                               f"SELECT pg_sleep({seconds}); COMMIT;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(server, f"SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass "
                       "AND mode = 'AccessExclusiveLock' AND granted")
    return locker


def expect(condition, message="expectation failed"):
    if not condition:
        raise AssertionError(message)


def expect_status(response, status):
    if response.status != status:
        raise AssertionError(f"expected {status}, got {response!r}")


def expect_error(response, status, field=None, contains=None):
    expect_status(response, status)
    body = response.json
    expect("error" in body, f"no error object in {body}")
    expect(body["error"]["status"] == status, f"error.status mismatch in {body}")
    expect(isinstance(body["error"]["message"], str) and body["error"]["message"],
           f"error.message missing in {body}")
    if field is not None:
        expect(body["error"].get("field") == field, f"expected field {field!r} in {body}")
    if contains is not None:
        expect(contains in body["error"]["message"], f"{contains!r} not in {body}")
    return body


def _pg_ctl(*args):
    pg_bin = os.environ["RESTABLE_TEST_PG_BIN"]
    command = [os.path.join(pg_bin, "pg_ctl"), "-D", os.environ["RESTABLE_TEST_PG_DATA"]]
    command += list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _pg_options():
    """The options the running cluster was started with, for pg_ctl -o: everything after
    "-D DIR" in postmaster.opts (the port, socket dir and settings pg-up chose)."""
    import shlex
    data = os.environ["RESTABLE_TEST_PG_DATA"]
    with open(os.path.join(data, "postmaster.opts")) as handle:
        words = shlex.split(handle.read())
    index = words.index("-D")
    return " ".join(shlex.quote(word) for word in words[index + 2:])


def pg_stop():
    """Stops the shared test cluster (fast: open connections are terminated)."""
    pg_stop.options = _pg_options()
    _pg_ctl("-m", "fast", "-w", "stop")


def pg_start():
    log = os.path.join(os.path.dirname(os.environ["RESTABLE_TEST_PG_DATA"]), "server.log")
    options = getattr(pg_stop, "options", None) or _pg_options()
    _pg_ctl("-w", "-l", log, "-o", options, "start")


def _is_alive(pid):
    """True while pid exists and is not a zombie (a container's init may never reap one)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pg_is_running():
    try:
        with open(os.path.join(os.environ["RESTABLE_TEST_PG_DATA"], "postmaster.pid")) as handle:
            return _is_alive(int(handle.readline()))
    except (OSError, ValueError):
        return False


def pg_kill():
    """Crashes the shared test cluster: SIGKILL to the postmaster and every process it forked,
    as a machine losing power would leave it (minus the disk). Start it again with pg_start,
    which then runs crash recovery."""
    data = os.environ["RESTABLE_TEST_PG_DATA"]
    pid_file = os.path.join(data, "postmaster.pid")
    with open(pid_file) as handle:
        lines = handle.read().splitlines()  # pid, data dir, start time, port, socket dir, ...
    postmaster = int(lines[0])
    socket_lock = os.path.join(lines[4], f".s.PGSQL.{lines[3]}.lock")
    pg_stop.options = _pg_options()
    # stopped first, so it forks nothing between the listing of its children and the kill
    os.kill(postmaster, signal.SIGSTOP)
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                if int(handle.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    for pid in [postmaster] + children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while any(_is_alive(pid) for pid in [postmaster] + children):
        expect(time.time() < deadline, "PostgreSQL did not die on SIGKILL")
        time.sleep(0.02)
    # a dead postmaster left as a zombie still answers kill(pid, 0): its lock files would make
    # the next postmaster refuse to start, as they would not after a real crash
    if os.path.exists(f"/proc/{postmaster}"):
        for lock in (pid_file, socket_lock):
            if os.path.exists(lock):
                os.unlink(lock)


def percentile(values, fraction):
    """Nearest-rank percentile of a non-empty list (fraction 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]


def timed_requests(server, path, seconds, limit, stop=None, interval=None):
    """GETs path one request after another, each on a new connection as a fresh client would,
    for `seconds` or `limit` requests (whichever ends first, or until the threading.Event stop
    is set); returns [(status, seconds taken)], status None when no answer came (10 s).
    interval: request i is due at start + i * interval and its time is counted from then; all
    seconds / interval of them are sent (a late one at once, within 15 s more), so a request
    that stalls counts against every one it held up instead of hiding them (a closed loop makes
    fewer requests exactly when it is slow)."""
    results = []
    started = time.time()
    deadline = started + seconds
    if interval:
        limit = min(limit, int(seconds / interval))
        deadline += 15
    while time.time() < deadline and len(results) < limit and not (stop and stop.is_set()):
        due = time.time()
        if interval:
            due = started + len(results) * interval
            if due > time.time():
                time.sleep(due - time.time())
        try:
            status = server.get(path, timeout=10).status
        except (OSError, http.client.HTTPException):
            status = None
        results.append((status, time.time() - due))
    return results


def open_connections(port, count, timeout=5):
    """Opens count TCP connections to 127.0.0.1:port that send nothing; the caller closes
    them."""
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=timeout))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets
