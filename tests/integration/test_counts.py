"""Counts (SPEC §5 "Counts"): __count=exact (the default) or __count=estimated on /T/count/ and
with __range_header. Estimated is the planner's estimate from count_exact_below rows up, exact
below; /T/count/ says which it gave."""
from harness import Server, expect, expect_error, expect_status

CONFIG = {
    "tables": {
        "event": {"columns": {"kind": {"type": "integer", "index": True}},
                  "count_exact_below": 10},
        "small": {"columns": {"kind": {"type": "integer"}}},
    },
}


def setup():
    server = Server(CONFIG)
    server.sql("INSERT INTO event (kind) SELECT g % 4 FROM generate_series(1, 1000) g; "
               "INSERT INTO small (kind) SELECT g % 4 FROM generate_series(1, 1000) g; "
               "ANALYZE event; ANALYZE small")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def test_exact_is_the_default(server):
    body = server.get("/event/count/").json
    expect(body["count"] == 1000 and "estimated" not in body, body)
    body = server.get("/event/count/?__count=exact&kind=1").json
    expect(body == {"count": 250, "page_size": 15, "estimated": False}, body)


def test_estimated_from_the_planner_above_count_exact_below(server):
    # rows the planner would not know of: an exact count would see them, the estimate not
    server.sql("INSERT INTO event (kind) SELECT 9 FROM generate_series(1, 5)")
    body = server.get("/event/count/?__count=estimated").json
    expect(body["estimated"] is True, body)
    expect(900 <= body["count"] <= 1100, body)
    filtered = server.get("/event/count/?__count=estimated&kind=1").json
    expect(filtered["estimated"] is True and 150 <= filtered["count"] <= 350, filtered)
    server.sql("DELETE FROM event WHERE kind = 9; ANALYZE event")


def test_estimated_is_exact_below_count_exact_below(server):
    # the planner expects about 5 rows of kind 9 (none): under 10, so counted exactly
    body = server.get("/event/count/?__count=estimated&kind=9").json
    expect(body == {"count": 0, "page_size": 15, "estimated": False}, body)
    # the default count_exact_below is 100000: 1000 rows are always counted
    body = server.get("/small/count/?__count=estimated").json
    expect(body["count"] == 1000 and body["estimated"] is False, body)


def test_estimated_total_in_the_range_header(server):
    response = server.get("/event/?__range_header=true&__count=estimated&__page_size=5")
    expect_status(response, 200)
    value = response.header("Content-Range")
    expect(value.startswith("event 0-4/"), value)
    total = int(value.split("/")[1])
    expect(900 <= total <= 1100, value)
    exact = server.get("/small/?__range_header=true&__count=estimated&__page_size=5")
    expect(exact.header("Content-Range") == "small 0-4/1000", exact.header("Content-Range"))
    below = server.get("/event/?__range_header=true&__count=estimated&kind=9")
    expect(below.header("Content-Range") == "event */0", below.header("Content-Range"))


def test_bad_count_value_is_400(server):
    expect_error(server.get("/event/count/?__count=approximate"), 400, field="__count")
    expect_error(server.get("/event/?__range_header=true&__count="), 400, field="__count")
