"""Conditional requests (SPEC §5 "Conditional requests (ETag)"): a row's strong ETag is its
version, the same for every client; a list's is weak; If-None-Match answers 304; If-Match makes
PUT/PATCH/DELETE conditional in the write's own statement (412, and a race has one winner);
require_if_match answers 428."""
import threading

from harness import Server, expect, expect_error, expect_status
from test_auth import bearer, claims, make_token

SECRET = "integration-test-secret-that-is-long-enough-0123456789"
CONFIG = {
    "auth": {
        "jwt": {"secret": SECRET, "algorithm": "HS256", "issuer": "restable"},
        "default": {"read": "public", "write": "public", "delete": "public"},
    },
    "server": {"cors": {"origins": ["https://app.example.com"]}},
    "tables": {
        "movie": {"columns": {"name": {"type": "varchar", "length": 100},
                              "rating": {"type": "integer", "default": 0}}},
        "ledger": {"columns": {"amount": {"type": "integer"}}, "require_if_match": True},
    },
}


def setup():
    server = Server(CONFIG)
    server.sql("INSERT INTO movie (name, rating) VALUES ('Ikiru', 8), ('Ran', 9)")
    server.sql("INSERT INTO ledger (amount) VALUES (10)")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def etag_of(server, path, **kwargs):
    response = server.get(path, **kwargs)
    expect_status(response, 200)
    tag = response.header("ETag")
    expect(tag is not None, "no ETag")
    return tag


def new_movie(server, name="x"):
    return server.request("POST", "/movie/", body={"name": name}).json[0]["id"]


def test_row_etag_is_strong_stable_and_the_same_for_every_principal(server):
    first = etag_of(server, "/movie/1/")
    expect(first.startswith('"') and first.endswith('"'), first)
    expect(etag_of(server, "/movie/1/") == first)
    token = make_token(claims(sub="bob"))
    expect(etag_of(server, "/movie/1/", headers=bearer(token)) == first)
    # the tag is the row's version, not a hash of the fields asked for
    expect(etag_of(server, "/movie/1/?__visible_fields=name") == first)


def test_row_etag_changes_after_a_write(server):
    row = new_movie(server, "before")
    before = etag_of(server, f"/movie/{row}/")
    response = server.request("PATCH", f"/movie/{row}/", body={"rating": 3})
    expect_status(response, 200)
    after = etag_of(server, f"/movie/{row}/")
    expect(after != before, (before, after))
    expect(response.header("ETag") == after, (response.header("ETag"), after))
    # a write outside restable changes it as well
    server.sql(f"UPDATE movie SET rating = 4 WHERE id = {row}")
    expect(etag_of(server, f"/movie/{row}/") != after)


def test_if_none_match_gives_304_without_a_body(server):
    tag = etag_of(server, "/movie/2/")
    for method in ("GET", "HEAD"):
        response = server.request(method, "/movie/2/", headers={"If-None-Match": tag})
        expect_status(response, 304)
        expect(response.body == "", response.body)
        expect(response.header("ETag") == tag)
    listed = server.request("GET", "/movie/2/", headers={"If-None-Match": f'"0", W/{tag}'})
    expect_status(listed, 304)  # weak comparison, and a list of tags
    expect_status(server.request("GET", "/movie/2/", headers={"If-None-Match": '"0"'}), 200)
    expect_status(server.request("GET", "/movie/2/", headers={"If-None-Match": "*"}), 304)


def test_list_has_a_weak_etag_of_its_body(server):
    response = server.get("/movie/?__order=id")
    tag = response.header("ETag")
    expect(tag and tag.startswith('W/"'), tag)
    expect(server.get("/movie/?__order=id").header("ETag") == tag)
    expect(server.get("/movie/?__order=-id").header("ETag") != tag)
    for method in ("GET", "HEAD"):
        again = server.request(method, "/movie/?__order=id", headers={"If-None-Match": tag})
        expect_status(again, 304)
        expect(again.body == "")
    new_movie(server, "changes the list")
    expect_status(server.request("GET", "/movie/?__order=id", headers={"If-None-Match": tag}),
                  200)
    # with __range_header the total is part of it too
    ranged = server.get("/movie/?__order=id&__range_header=true")
    expect(ranged.header("ETag").startswith('W/"') and ranged.header("Content-Range"))


def test_if_match_with_the_current_tag_writes_and_answers_the_new_tag(server):
    row = new_movie(server)
    tag = etag_of(server, f"/movie/{row}/")
    response = server.request("PATCH", f"/movie/{row}/", body={"rating": 5},
                              headers={"If-Match": tag})
    expect_status(response, 200)
    expect(response.json["rating"] == 5)
    new_tag = response.header("ETag")
    expect(new_tag and new_tag != tag and new_tag == etag_of(server, f"/movie/{row}/"))
    put = server.request("PUT", f"/movie/{row}/", body={"name": "replaced"},
                         headers={"If-Match": f'"1", {new_tag}'})
    expect_status(put, 204)
    expect(put.header("ETag") == etag_of(server, f"/movie/{row}/"))
    expect(server.sql(f"SELECT name FROM movie WHERE id = {row}") == "replaced")


def test_stale_if_match_is_412_and_writes_nothing(server):
    row = new_movie(server, "original")
    stale = etag_of(server, f"/movie/{row}/")
    server.request("PATCH", f"/movie/{row}/", body={"rating": 1})
    for method, body in (("PATCH", {"name": "lost"}), ("PUT", {"name": "lost"}),
                         ("DELETE", None)):
        response = server.request(method, f"/movie/{row}/", body=body,
                                  headers={"If-Match": stale})
        expect_error(response, 412, contains="changed")
        expect(server.sql(f"SELECT name FROM movie WHERE id = {row}") == "original")
    # a weak tag never matches under If-Match's strong comparison
    current = etag_of(server, f"/movie/{row}/")
    expect_error(server.request("PATCH", f"/movie/{row}/", body={"name": "w"},
                                headers={"If-Match": "W/" + current}), 412)
    expect_error(server.request("PATCH", f"/movie/{row}/", body={"name": "w"},
                                headers={"If-Match": "not a tag"}), 400)
    # a row that does not exist stays a 404
    expect_error(server.request("PATCH", "/movie/99999/", body={"name": "w"},
                                headers={"If-Match": stale}), 404)
    expect_error(server.request("DELETE", "/movie/99999/", headers={"If-Match": stale}), 404)


def test_if_match_star_writes_any_existing_row(server):
    row = new_movie(server)
    response = server.request("PATCH", f"/movie/{row}/", body={"rating": 2},
                              headers={"If-Match": "*"})
    expect_status(response, 200)
    expect(response.header("ETag"))
    expect_error(server.request("PATCH", "/movie/99999/", body={"rating": 2},
                                headers={"If-Match": "*"}), 404)


def test_delete_with_if_match(server):
    row = new_movie(server)
    tag = etag_of(server, f"/movie/{row}/")
    expect_status(server.request("DELETE", f"/movie/{row}/", headers={"If-Match": tag}), 204)
    expect(server.sql(f"SELECT count(*) FROM movie WHERE id = {row}") == "0")
    expect_error(server.request("DELETE", f"/movie/{row}/", headers={"If-Match": tag}), 404)


def test_require_if_match_is_428_without_it(server):
    for method, body in (("PATCH", {"amount": 1}), ("PUT", {"amount": 1}), ("DELETE", None)):
        expect_error(server.request(method, "/ledger/1/", body=body), 428,
                     contains="If-Match")
    expect(server.sql("SELECT amount FROM ledger WHERE id = 1") == "10")
    tag = etag_of(server, "/ledger/1/")
    response = server.request("PATCH", "/ledger/1/", body={"amount": 11},
                              headers={"If-Match": tag})
    expect_status(response, 200)
    expect_status(server.request("PATCH", "/ledger/1/", body={"amount": 12},
                                 headers={"If-Match": "*"}), 200)
    # reads and creates are unaffected
    expect_status(server.request("POST", "/ledger/", body={"amount": 1}), 201)


def test_racing_writers_with_the_same_if_match_have_one_winner(server):
    row = new_movie(server, "raced")
    for round_number in range(5):
        tag = etag_of(server, f"/movie/{row}/")
        statuses = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def write(index):
            start.wait()
            response = server.request("PATCH", f"/movie/{row}/",
                                      body={"rating": round_number * 10 + index},
                                      headers={"If-Match": tag})
            with lock:
                statuses.append(response.status)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expect(sorted(statuses) == [200] + [412] * 7, (round_number, statuses))


def test_cors_exposes_etag_and_allows_the_conditional_headers(server):
    origin = {"Origin": "https://app.example.com"}
    response = server.get("/movie/1/", headers=origin)
    expect("ETag" in (response.header("Access-Control-Expose-Headers") or ""))
    preflight = server.request("OPTIONS", "/movie/1/",
                               headers=dict(origin, **{"Access-Control-Request-Method": "PATCH"}))
    allowed = preflight.header("Access-Control-Allow-Headers") or ""
    expect("If-Match" in allowed and "If-None-Match" in allowed, allowed)
