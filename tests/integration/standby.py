"""tests/integration/standby.py — a primary and its streaming standby, for the replica tests.

The primary is a small cluster of its own (scripts/pg-up: the shared test cluster holds every
test's database by then, too much to copy); pg_basebackup -R copies it into a temp dir and
writes the standby's connection back to it; the standby then starts on a free loopback port and
replays the primary's WAL. Runs the PostgreSQL tools as "postgres" when the tests run as root,
as harness.py's pg_ctl does.
"""
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import harness


def _as_owner(command):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + command
    return command


def _tool(name):
    return os.path.join(os.environ["RESTABLE_TEST_PG_BIN"], name)


SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


class Standby:
    def __init__(self):
        self.primary_directory = tempfile.mkdtemp(prefix="restable-primary-")
        self.primary_url = subprocess.run([os.path.join(SCRIPTS, "pg-up"), self.primary_directory],
                                          check=True, capture_output=True, text=True,
                                          timeout=120).stdout.strip()
        primary = urllib.parse.urlparse(self.primary_url)
        self.directory = tempfile.mkdtemp(prefix="restable-standby-")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = os.path.join(self.directory, "data")
        subprocess.run(_as_owner([_tool("pg_basebackup"), "-h", primary.hostname, "-p",
                                  str(primary.port), "-U", primary.username or "postgres",
                                  "-D", self.data, "-R", "-X", "stream", "-c", "fast"]),
                       check=True, capture_output=True, timeout=120)
        self.port = harness.free_port()
        self.log = os.path.join(self.directory, "standby.log")
        self.start()

    def start(self):
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
                   "-c hot_standby=on -c fsync=off -c max_connections=300")
        subprocess.run(_as_owner([_tool("pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                                  "-t", "60", "-o", options, "start"]),
                       check=True, capture_output=True, timeout=90)

    def stop(self, mode="fast"):
        subprocess.run(_as_owner([_tool("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"]),
                       capture_output=True, timeout=60)

    def url(self, database_url):
        """database_url (a database on the primary) as the same database on this standby."""
        parsed = urllib.parse.urlparse(database_url)
        user = f"{parsed.username}@" if parsed.username else ""
        return urllib.parse.urlunparse(parsed._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def sql(self, database_url, statement):
        return harness.psql(self.url(database_url), statement)

    def wait_for(self, database_url, statement, expected, seconds=20):
        """Polls statement on the standby until it prints expected (replay is asynchronous)."""
        deadline = time.time() + seconds
        while True:
            value = harness.psql(self.url(database_url), statement, check=False)
            if value == expected:
                return
            harness.expect(time.time() < deadline,
                           f"standby: {statement} gave {value!r}, waited for {expected!r}")
            time.sleep(0.05)

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
        subprocess.run([os.path.join(SCRIPTS, "pg-down"), self.primary_directory],
                       capture_output=True, timeout=60)
