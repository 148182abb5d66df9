"""Read replicas (SPEC §7) on a real streaming standby of the test cluster: table reads go to
the replica, writes to the primary with the commit's WAL position in X-Restable-LSN; a read
carrying that position is answered where it is visible; a replica that lags or goes down
leaves the rotation (its reads in flight move to the primary, so none fails) and comes back."""
import re
import threading
import time

from harness import Server, expect, expect_error, expect_status
from standby import Standby

CONFIG = {
    "tables": {"movie": {"columns": {"name": {"type": "varchar", "length": 100}}}},
}
LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")


class Cluster:
    def __init__(self):
        self.standby = Standby()
        self.url = self.standby.primary_url
        config = dict(CONFIG)
        # lag is not what most tests look at: only test_a_lagging_replica... sets it low
        config["database"] = {"replicas": [self.standby.url(self.url)],
                              "replica_max_lag_ms": 60000}
        self.server = Server(config, database_url=self.url)
        self.server.sql("INSERT INTO movie (name) SELECT 'm' || g FROM generate_series(1, 5) g")
        self.server.start()

    def wait_for_source(self, source, path="/movie/", seconds=15, headers=None):
        deadline = time.time() + seconds
        while True:
            response = self.server.get(path, headers=headers)
            if response.status == 200 and response.header("X-Restable-Source") == source:
                return response
            expect(time.time() < deadline, f"{path} never came from the {source}: {response!r}")
            time.sleep(0.05)


def setup():
    return Cluster()


def teardown(cluster):
    try:
        expect(cluster.server.stop() == 0)
    finally:
        cluster.standby.remove()


def resume_replay(cluster):
    cluster.standby.sql(cluster.url, "SELECT pg_wal_replay_resume()")


def pause_replay(cluster):
    cluster.standby.sql(cluster.url, "SELECT pg_wal_replay_pause()")
    cluster.standby.wait_for(cluster.url, "SELECT pg_get_wal_replay_pause_state()", "paused")


def test_reads_go_to_the_replica_and_writes_to_the_primary(cluster):
    cluster.wait_for_source("replica")
    for path in ("/movie/", "/movie/1/", "/movie/count/", "/movie/ids/", "/movie/export/"):
        response = cluster.server.get(path)
        expect_status(response, 200)
        expect(response.header("X-Restable-Source") == "replica", (path, response.headers))
        expect(response.header("X-Restable-LSN") is None, response.headers)
    exported = cluster.server.get("/movie/export/")
    expect(exported.body.startswith("id,name") and "m5" in exported.body, exported.body[:300])
    created = cluster.server.request("POST", "/movie/", body={"name": "Heat"})
    expect_status(created, 201)
    expect(created.header("X-Restable-Source") == "primary", created.headers)
    expect(LSN.match(created.header("X-Restable-LSN") or ""), created.headers)
    patched = cluster.server.request("PATCH", "/movie/1/", body={"name": "m1b"})
    expect_status(patched, 200)
    expect(LSN.match(patched.header("X-Restable-LSN") or ""), patched.headers)
    # the WAL position only moves forward
    first, second = (tuple(int(part, 16) for part in r.header("X-Restable-LSN").split("/"))
                     for r in (created, patched))
    expect(second > first, (first, second))
    # a batch is a write: it runs on the primary and answers its commit's position too
    batch = cluster.server.request("POST", "/batch/", body={"operations": [
        {"method": "PATCH", "table": "movie", "id": 1, "body": {"name": "m1c"}}]})
    expect_status(batch, 200)
    third = tuple(int(part, 16) for part in (batch.header("X-Restable-LSN") or "0/0").split("/"))
    expect(third > second, (second, third, batch.headers))
    metrics = cluster.server.get("/metrics").body
    expect('restable_replica_up{replica="0"} 1' in metrics, metrics[-800:])


def test_read_your_writes_while_the_replica_replays_nothing(cluster):
    cluster.wait_for_source("replica")
    pause_replay(cluster)
    try:
        created = cluster.server.request("POST", "/movie/", body={"name": "Ronin"})
        expect_status(created, 201)
        new_id = created.json[0]["id"]
        lsn = created.header("X-Restable-LSN")
        # with the position: the replica has not replayed it, so the primary answers
        mine = cluster.server.get(f"/movie/{new_id}/", headers={"X-Restable-LSN": lsn})
        expect_status(mine, 200)
        expect(mine.header("X-Restable-Source") == "primary", mine.headers)
        expect(mine.json["name"] == "Ronin", mine.json)
        # without it: the replica, which does not have the row yet
        theirs = cluster.server.get(f"/movie/{new_id}/")
        expect(theirs.header("X-Restable-Source") == "replica", theirs.headers)
        expect_error(theirs, 404)
    finally:
        resume_replay(cluster)
    # once replayed, the replica answers the same read
    response = cluster.wait_for_source("replica", f"/movie/{new_id}/",
                                       headers={"X-Restable-LSN": lsn})
    expect(response.json["name"] == "Ronin", response.json)


def test_a_malformed_lsn_is_400(cluster):
    for value in ("zz", "0/", "/1", "123456789/0", "0/1/2", "0x1/2"):
        expect_error(cluster.server.get("/movie/", headers={"X-Restable-LSN": value}), 400,
                     field="X-Restable-LSN")


def test_a_replica_read_is_answered_at_once_with_one_shared_thread(cluster):
    """With server.threads 1, HTTP runs in the primary pool's loop, and a replica's answer is
    resumed from the replica pool's thread: that must wake the loop. It did not, so each replica
    read waited for the loop's next unrelated wake-up (50-170 ms, up to the 200 ms poller)."""
    config = dict(CONFIG)
    config["server"] = {"threads": 1}
    config["database"] = {"replicas": [cluster.standby.url(cluster.url)],
                          "replica_max_lag_ms": 60000}
    server = Server(config, migrate=False, database_url=cluster.url).start()
    try:
        deadline = time.time() + 15
        while server.get("/movie/").header("X-Restable-Source") != "replica":
            expect(time.time() < deadline, "the one-thread server never read from the replica")
            time.sleep(0.05)
        durations = []
        for _ in range(30):
            started = time.monotonic()
            response = server.get("/movie/?__page_size=5")
            durations.append(time.monotonic() - started)
            expect_status(response, 200)
            expect(response.header("X-Restable-Source") == "replica", response.headers)
        durations.sort()
        median = durations[len(durations) // 2]
        expect(median < 0.04, f"replica reads took {median * 1000:.0f} ms (median of 30): "
                              f"{[round(d * 1000) for d in durations]}")
    finally:
        expect(server.stop() == 0)


def test_a_lagging_replica_leaves_the_rotation_and_comes_back(cluster):
    config = dict(CONFIG)
    config["database"] = {"replicas": [cluster.standby.url(cluster.url)],
                          "replica_max_lag_ms": 500}
    lagging = Server(config, migrate=False, database_url=cluster.url).start()
    try:
        view = Cluster.__new__(Cluster)
        view.server = lagging
        view.wait_for_source("replica")
        pause_replay(cluster)
        try:
            # the primary moves on; the replica stays behind for longer than 500 ms
            cluster.server.sql("INSERT INTO movie (name) VALUES ('moved on')")
            view.wait_for_source("primary", seconds=10)
            metrics = lagging.get("/metrics").body
            lag = float(re.search(r'restable_replica_lag_seconds\{replica="0"\} ([0-9.]+)',
                                  metrics).group(1))
            expect(lag >= 0.5, metrics[-600:])
        finally:
            resume_replay(cluster)
        view.wait_for_source("replica", seconds=10)
    finally:
        expect(lagging.stop() == 0)


def test_standby_down_reads_fall_back_without_failing_then_it_returns(cluster):
    cluster.wait_for_source("replica")
    statuses, sources, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            response = cluster.server.get("/movie/?__page_size=5")
            statuses.append(response.status)
            sources.append(response.header("X-Restable-Source"))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        cluster.standby.stop("immediate")
        time.sleep(2)
        expect_status(cluster.server.get("/readyz"), 200)  # it follows the primary only
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    expect(set(statuses) == {200}, f"reads failed: {sorted(set(statuses))}")
    expect("replica" in sources and sources[-1] == "primary", sources[-20:])
    metrics = cluster.server.get("/metrics").body
    expect('restable_replica_up{replica="0"} 0' in metrics, metrics[-800:])
    cluster.standby.start()
    cluster.wait_for_source("replica", seconds=20)
