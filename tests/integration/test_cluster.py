"""The scale-out deployment of SPEC §7 on loopback (scripts/cluster-up): a primary, a streaming
standby, PgBouncer in transaction mode, two restable instances (the second reading from the
standby) and HAProxy balancing them on /readyz. Reads through the balancer reach the replica;
an instance SIGTERMed under load drains while HAProxy routes around it, and no request fails;
the standby killed under load costs no request either. The tests run in name order, each
leaving the cluster with one part fewer."""
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import harness
from harness import expect

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


class Cluster:
    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="restable-cluster-")
        env = dict(os.environ, RESTABLE_BINARY=harness.BINARY)
        result = subprocess.run([os.path.join(SCRIPTS, "cluster-up"), self.directory], env=env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            subprocess.run([os.path.join(SCRIPTS, "cluster-down"), self.directory])
            raise AssertionError(f"cluster-up failed: {result.stderr[-3000:]}")
        self.env = dict(line.split("=", 1) for line in result.stdout.split())

    def get(self, path, base=None):
        url = (base or self.env["BALANCER"]) + path
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.headers.get("X-Restable-Source")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("X-Restable-Source")
        except OSError as error:
            return f"error: {error}", None

    def hammer(self, seconds, during, threads=4):
        """GETs through the balancer from `threads` threads for `seconds`; runs during() after
        a quarter of it. Returns every (status, source)."""
        answers, stop = [], threading.Event()

        def reader():
            while not stop.is_set():
                answers.append(self.get("/movie/?__page_size=5"))

        workers = [threading.Thread(target=reader) for _ in range(threads)]
        for worker in workers:
            worker.start()
        try:
            time.sleep(seconds / 4)
            during()
            time.sleep(seconds * 3 / 4)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        return answers


def setup():
    return Cluster()


def teardown(cluster):
    subprocess.run([os.path.join(SCRIPTS, "cluster-down"), cluster.directory], timeout=120)


def test_reads_through_the_balancer_reach_both_instances_and_the_replica(cluster):
    sources = [cluster.get("/movie/")[1] for _ in range(20)]
    expect("replica" in sources and "primary" in sources, sources)
    status, source = cluster.get("/movie/", base=cluster.env["RESTABLE_A"])
    expect(status == 200 and source == "primary", (status, source))


def test_the_standby_killed_under_load_fails_no_read(cluster):
    def kill_standby():
        pg_bin = os.environ["RESTABLE_TEST_PG_BIN"]
        command = [os.path.join(pg_bin, "pg_ctl"), "-D", cluster.env["STANDBY_DATA"], "-m",
                   "immediate", "-w", "stop"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    answers = cluster.hammer(4, kill_standby)
    statuses = {status for status, _ in answers}
    expect(statuses == {200}, f"{len(answers)} reads: {statuses}")
    expect(answers[-1][1] == "primary", answers[-5:])


def test_then_an_instance_sigterm_under_load_fails_no_request(cluster):
    pid = int(cluster.env["RESTABLE_A_PID"])
    answers = cluster.hammer(6, lambda: os.kill(pid, signal.SIGTERM))
    statuses = {status for status, _ in answers}
    expect(statuses == {200}, f"{len(answers)} requests: {statuses}")
    for _ in range(200):  # it drained and exited
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the SIGTERMed instance did not exit")
    status, _ = cluster.get("/movie/")
    expect(status == 200, status)
    with open(os.path.join(cluster.directory, "a", "server.log")) as handle:
        log = handle.read()
    expect(not any(word in log for word in ("AddressSanitizer", "LeakSanitizer", "runtime error:")),
           log[-3000:])
    expect('"stopped"' in log, log[-1500:])
