"""POST /batch/ (SPEC §5): operations on several tables in one transaction on one connection,
each checked against its table's policy before any runs; "$N.col" takes a column of an earlier
operation's row; the first failure rolls everything back and answers its error with
"operation": N; more than 100 operations is 413. Every error path is checked to write nothing."""
import threading

from harness import Server, expect, expect_error, expect_status, serve_as_non_owner
from test_auth import CONFIG as AUTH_CONFIG, bearer, claims, make_token

CONFIG = {
    # the JWT key of test_auth, whose tokens these are; every table open unless it says
    "auth": {"jwt": AUTH_CONFIG["auth"]["jwt"],
             "default": {"read": "public", "write": "public", "delete": "public"}},
    "tables": {
        "director": {"columns": {"name": {"type": "varchar", "length": 100, "unique": True}}},
        "movie": {
            "columns": {
                "title": {"type": "varchar", "length": 100},
                "rating": {"type": "integer", "default": 0},
                "director": {"type": "foreign_key", "references": "director", "null": True},
                "api_key": {"type": "varchar", "length": 64, "secret": True, "null": True},
            },
        },
        "studio": {"columns": {"name": {"type": "text"}}, "read_only": True},
        "award": {"columns": {"name": {"type": "text"}},
                  "auth": {"write": ["role:admin"], "delete": ["role:admin"]}},
        "ledger": {"columns": {"amount": {"type": "integer"}}, "require_if_match": True},
        "note": {"columns": {"owner": {"type": "varchar", "length": 100},
                             "body": {"type": "text"}},
                 "auth": {"read": "authenticated", "write": "authenticated",
                          "delete": "authenticated"}},
    },
}

ALICE = bearer(make_token(claims(sub="alice")))
ADMIN = bearer(make_token(claims(sub="root", roles=["admin"])))


def setup():
    server = Server(CONFIG)
    # the server connects as a role that is not the tables' owner, so RLS applies to it
    serve_as_non_owner(server)
    server.sql("ALTER TABLE note ENABLE ROW LEVEL SECURITY; CREATE POLICY note_owner ON note "
               "USING (owner = current_setting('request.jwt.claims', true)::json->>'sub') WITH "
               "CHECK (owner = current_setting('request.jwt.claims', true)::json->>'sub')")
    server.sql("INSERT INTO director (name) VALUES ('Kurosawa'); "
               "INSERT INTO movie (title, rating, director) VALUES ('Ran', 9, 1), ('Ikiru', 8, 1); "
               "INSERT INTO studio (name) VALUES ('Toho'); INSERT INTO ledger (amount) VALUES (1); "
               "INSERT INTO note (owner, body) VALUES ('alice', 'a1'), ('bob', 'b1')")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def batch(server, operations, headers=None):
    return server.request("POST", "/batch/", body={"operations": operations}, headers=headers)


def snapshot(server):
    """Every row of the writable tables, to show that a failed batch wrote nothing."""
    tables = ", ".join(f"'{t}', (SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM {t} t)"
                       for t in ("director", "movie", "award", "note", "ledger"))
    return server.sql(f"SELECT json_build_object({tables})")


def expect_failed(server, operations, status, operation, field=None, contains=None,
                  headers=None):
    """The batch fails with the error of operation N, and nothing at all was written."""
    before = snapshot(server)
    response = batch(server, operations, headers)
    body = expect_error(response, status, field, contains)
    expect(body["error"].get("operation") == operation, f"expected operation {operation}: {body}")
    expect(snapshot(server) == before, "a failed batch wrote something")
    return body


def test_operations_run_in_order_with_references(server):
    response = batch(server, [
        {"method": "POST", "table": "director", "body": {"name": "Varda"}},
        {"method": "POST", "table": "movie", "body": {"title": "Cleo", "director": "$0.id"}},
        {"method": "PATCH", "table": "movie", "id": "$1.id", "body": {"rating": 8}},
        {"method": "PUT", "table": "movie", "id": 2, "body": {"title": "Ikiru", "rating": 7}},
        {"method": "POST", "table": "movie", "body": {"title": "Vagabond", "director": "$0.id",
                                                       "rating": "$2.rating"}},
        {"method": "DELETE", "table": "movie", "id": "$4.id"},
    ])
    expect_status(response, 200)
    results = response.json["results"]
    expect([r["status"] for r in results] == [201, 201, 200, 204, 201, 204], results)
    director, created, patched, _, vagabond, _ = results
    # POST answers the whole row it created, as GET /T/{pk}/ shows it
    expect(director["body"]["name"] == "Varda" and isinstance(director["body"]["id"], int))
    expect(created["body"]["director"] == director["body"]["id"], results)
    expect(created["body"]["rating"] == 0 and "api_key" not in created["body"], results)
    expect(patched["body"]["id"] == created["body"]["id"] and patched["body"]["rating"] == 8)
    expect("body" not in results[3] and "body" not in results[5], results)
    expect(vagabond["body"]["rating"] == 8, vagabond)
    cleo = server.get(f"/movie/{created['body']['id']}/").json
    expect(cleo["title"] == "Cleo" and cleo["rating"] == 8 and cleo["director"] ==
           director["body"]["id"], cleo)
    expect(server.get("/movie/2/").json["rating"] == 7)
    expect_status(server.get(f"/movie/{vagabond['body']['id']}/"), 404)
    metrics = server.get("/metrics").body
    expect('route="batch",method="POST",status="200"' in metrics, metrics[-2000:])


def test_more_than_100_operations_is_413(server):
    operations = [{"method": "POST", "table": "director", "body": {"name": f"d{i}"}}
                  for i in range(101)]
    before = snapshot(server)
    expect_error(batch(server, operations), 413, "operations")
    expect(snapshot(server) == before)
    # 100 is allowed
    response = batch(server, operations[:100])
    expect_status(response, 200)
    expect(len(response.json["results"]) == 100)
    server.sql("DELETE FROM director WHERE name LIKE 'd%'")


def test_envelope_errors(server):
    """Malformed JSON is 400; JSON that is not a batch is 422, like a row body that does not
    validate; a query parameter is 400 and GET is 405."""
    expect_error(batch(server, []), 422, "operations", "empty")
    expect_error(server.request("POST", "/batch/", body=[{"method": "POST"}]), 422, "operations")
    expect_error(server.request("POST", "/batch/", body={"operations": [], "x": 1}), 422, "x")
    expect_error(server.request("POST", "/batch/", raw="{nope",
                                headers={"Content-Type": "application/json"}), 400)
    expect_error(server.request("POST", "/batch/", raw="a=1",
                                headers={"Content-Type": "text/plain"}), 415)
    expect_error(server.request("POST", "/batch/?x=1", body={"operations": []}), 400, "x")
    response = server.get("/batch/")
    expect_error(response, 405)
    expect(response.header("Allow") == "POST, OPTIONS", response.headers)
    expect_error(batch(server, [{"method": "DELETE", "table": "movie", "id": 1}],
                       headers={"Authorization": "Bearer not.a.token"}), 401)


def test_unknown_table_method_and_keys(server):
    good = {"method": "POST", "table": "director", "body": {"name": "never"}}
    expect_failed(server, [good, {"method": "POST", "table": "nope", "body": {}}], 422, 1,
                  "operations[1].table", "unknown table")
    expect_failed(server, [good, {"method": "GET", "table": "movie", "id": 1}], 422, 1,
                  "operations[1].method", "unknown method")
    expect_failed(server, [good, {"method": 5, "table": "movie", "id": 1}], 422, 1,
                  "operations[1].method", "unknown method")
    expect_failed(server, [good, {"table": "movie", "id": 1}], 422, 1, "operations[1].method")
    expect_failed(server, [good, {"method": "DELETE", "table": "movie", "id": 1, "if": 1}], 422,
                  1, "operations[1].if", "unknown key")
    expect_failed(server, [good, "DELETE"], 422, 1, "operations[1]")


def test_bad_ids(server):
    good = {"method": "POST", "table": "director", "body": {"name": "never"}}
    expect_failed(server, [good, {"method": "DELETE", "table": "movie", "id": "abc"}], 422, 1,
                  "operations[1].id", "invalid primary key")
    expect_failed(server, [good, {"method": "PATCH", "table": "movie", "body": {}}], 422, 1,
                  "operations[1].id")
    expect_failed(server, [{"method": "POST", "table": "movie", "id": 1, "body": {"title": "x"}}],
                  422, 0, "operations[0].id")
    expect_failed(server, [good, {"method": "DELETE", "table": "movie", "id": 1, "body": {}}],
                  422, 1, "operations[1].body")


def test_references_must_point_back_to_a_row(server):
    director = {"method": "POST", "table": "director", "body": {"name": "never"}}
    # to itself, and to a later operation
    expect_failed(server, [director, {"method": "POST", "table": "movie",
                                      "body": {"title": "x", "director": "$1.id"}}],
                  422, 1, "operations[1].body.director", "does not run before")
    expect_failed(server, [{"method": "POST", "table": "movie",
                            "body": {"title": "x", "director": "$1.id"}}, director],
                  422, 0, "operations[0].body.director", "does not run before")
    # a column the row does not have, a secret one, an operation that answers no row
    expect_failed(server, [director, {"method": "POST", "table": "movie",
                                      "body": {"title": "x", "director": "$0.nope"}}],
                  422, 1, "operations[1].body.director", "no column")
    movie = {"method": "POST", "table": "movie", "body": {"title": "y"}}
    expect_failed(server, [movie, {"method": "POST", "table": "movie",
                                   "body": {"title": "$0.api_key"}}],
                  422, 1, "operations[1].body.title", "no column")
    expect_failed(server, [{"method": "DELETE", "table": "movie", "id": 1},
                           {"method": "PATCH", "table": "movie", "id": "$0.id", "body": {}}],
                  422, 1, "operations[1].id", "answers no row")


def test_policy_of_each_table_applies_before_anything_runs(server):
    operations = [{"method": "POST", "table": "director", "body": {"name": "never"}},
                  {"method": "POST", "table": "award", "body": {"name": "Palme"}}]
    response = expect_failed(server, operations, 401, 1)
    expect_failed(server, operations, 403, 1, contains="award", headers=ALICE)
    delete = [{"method": "DELETE", "table": "award", "id": 1}]
    expect_failed(server, delete, 403, 0, headers=ALICE)
    response = batch(server, operations, headers=ADMIN)
    expect_status(response, 200)
    expect(response.json["results"][1]["body"]["name"] == "Palme")
    server.sql("DELETE FROM award; DELETE FROM director WHERE name = 'never'")
    del response


def test_read_only_table_is_405_and_require_if_match_428(server):
    good = {"method": "POST", "table": "director", "body": {"name": "never"}}
    expect_failed(server, [good, {"method": "POST", "table": "studio", "body": {"name": "x"}}],
                  405, 1, contains="read-only")
    expect_failed(server, [good, {"method": "PATCH", "table": "ledger", "id": 1,
                                  "body": {"amount": 2}}], 428, 1)


def test_invalid_body_is_422_as_the_single_route_says(server):
    good = {"method": "POST", "table": "director", "body": {"name": "never"}}
    single = server.request("POST", "/movie/", body={"title": "x", "rating": "many"})
    expect_error(single, 422, "rating")
    body = expect_failed(server, [good, {"method": "POST", "table": "movie",
                                         "body": {"title": "x", "rating": "many"}}], 422, 1, "rating")
    expect(body["error"]["message"] == single.json["error"]["message"], (body, single.json))
    expect_failed(server, [good, {"method": "POST", "table": "movie", "body": {"rating": 1}}],
                  422, 1, "title", "required")
    expect_failed(server, [good, {"method": "PATCH", "table": "movie", "id": 1,
                                  "body": {"nope": 1}}], 422, 1, "nope")
    expect_failed(server, [good, {"method": "POST", "table": "movie", "body": [1]}], 422, 1,
                  "operations[1].body")


def test_a_substituted_value_is_validated_by_its_column(server):
    # the title of a director's row is not an integer rating
    expect_failed(server, [{"method": "POST", "table": "director", "body": {"name": "never"}},
                           {"method": "POST", "table": "movie",
                            "body": {"title": "x", "rating": "$0.name"}}],
                  422, 1, "rating")


def test_a_missing_row_is_404_and_rolls_back(server):
    operations = [{"method": "POST", "table": "director", "body": {"name": "never"}},
                  {"method": "PATCH", "table": "movie", "id": 1, "body": {"rating": 1}},
                  {"method": "DELETE", "table": "movie", "id": 999999}]
    expect_failed(server, operations, 404, 2, contains="movie 999999 not found")
    expect(server.get("/movie/1/").json["rating"] == 9)
    expect_failed(server, [{"method": "PUT", "table": "movie", "id": 999999,
                            "body": {"title": "x"}}], 404, 0)


def test_a_conflict_is_409_and_rolls_back(server):
    operations = [{"method": "POST", "table": "director", "body": {"name": "never"}},
                  {"method": "PATCH", "table": "movie", "id": 1, "body": {"rating": 2}},
                  {"method": "POST", "table": "director", "body": {"name": "Kurosawa"}}]
    expect_failed(server, operations, 409, 2, "name")
    # a foreign key to a row that does not exist
    expect_failed(server, [operations[1], {"method": "PATCH", "table": "movie", "id": 2,
                                           "body": {"director": 424242}}], 409, 1, "director")
    expect(server.get("/movie/1/").json["rating"] == 9)


def test_claims_reach_row_level_security(server):
    response = batch(server, [
        {"method": "POST", "table": "note", "body": {"owner": "alice", "body": "a2"}},
        {"method": "PATCH", "table": "note", "id": "$0.id", "body": {"body": "a3"}},
    ], headers=ALICE)
    expect_status(response, 200)
    expect(response.json["results"][1]["body"]["body"] == "a3")
    # bob's note is invisible to alice: not found, and alice's write before it is undone
    bob = server.sql("SELECT id FROM note WHERE owner = 'bob'")
    expect_failed(server, [{"method": "POST", "table": "note",
                            "body": {"owner": "alice", "body": "a4"}},
                           {"method": "DELETE", "table": "note", "id": int(bob)}],
                  404, 1, headers=ALICE)
    # a row the policy refuses to write: the database says no
    expect_failed(server, [{"method": "POST", "table": "note",
                            "body": {"owner": "bob", "body": "forged"}}], 403, 0, headers=ALICE)


def test_batches_do_not_interleave_with_other_requests(server):
    """Writes running alongside batches that fail: every batch rolls back whole, every single
    write lands, and no single write is undone by a batch's rollback."""
    failures, singles = [], []

    def run_batches():
        for i in range(15):
            response = batch(server, [
                {"method": "POST", "table": "director", "body": {"name": f"tmp{i}"}},
                {"method": "POST", "table": "movie", "body": {"title": f"b{i}", "director": "$0.id"}},
                {"method": "DELETE", "table": "movie", "id": 999999}])
            failures.append(response.status)

    def run_singles():
        for i in range(30):
            response = server.request("POST", "/movie/", body={"title": f"single{i}"})
            singles.append(response.status)

    threads = [threading.Thread(target=run_batches), threading.Thread(target=run_singles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expect(failures == [404] * 15, failures)
    expect(singles == [201] * 30, singles)
    expect(server.sql("SELECT count(*) FROM movie WHERE title LIKE 'single%'") == "30")
    expect(server.sql("SELECT count(*) FROM director WHERE name LIKE 'tmp%'") == "0")
    expect(server.sql("SELECT count(*) FROM movie WHERE title LIKE 'b%'") == "0")
    server.sql("DELETE FROM movie WHERE title LIKE 'single%'")
