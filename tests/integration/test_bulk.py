"""Bulk create and upsert (SPEC §5 "Bulk create, upsert, batch", the first two bullets): an
array of rows in one statement answered with the full rows in the order sent, "[i].field" 422s
with nothing written, 413 over max_page_size, and POST /T/?__on_conflict=<unique key>: 201 when
inserted, 200 when updated, only on the primary key or a unique column, under the table's
write policy and row-level security."""
from harness import Server, expect, expect_error, expect_status, serve_as_non_owner
from test_auth import CONFIG as AUTH_CONFIG, bearer, claims, make_token

CONFIG = {
    "auth": AUTH_CONFIG["auth"],  # HS256; read public, write and delete authenticated
    "tables": {
        "film": {
            "columns": {
                "title": {"type": "varchar", "length": 100},
                "rating": {"type": "integer", "default": 0},
                "year": {"type": "integer", "null": True},
                "code": {"type": "varchar", "length": 20, "unique": True, "null": True},
                "ref": {"type": "uuid", "default": "uuid4", "unique": True},
                "api_key": {"type": "varchar", "length": 64, "secret": True, "null": True},
                "poster": {"type": "bytea", "null": True},
                "shown": {"type": "timestamptz", "unique": True, "null": True},
            },
            "page_size": 5, "max_page_size": 5,
        },
        "label": {
            "columns": {
                "slug": {"type": "varchar", "length": 40, "primary_key": True},
                "title": {"type": "text"},
                "hits": {"type": "integer", "default": 0},
            },
        },
        "ticket": {
            "columns": {
                "code": {"type": "uuid", "default": "uuid4", "primary_key": True},
                "seat": {"type": "varchar", "length": 10},
            },
        },
        "tally": {"columns": {"n": {"type": "integer"}}, "read_only": True},
        "guarded": {
            "columns": {"name": {"type": "varchar", "length": 40, "unique": True}},
            "auth": {"read": "public", "write": ["scope:guarded:write"]},
        },
        "note": {
            "columns": {"owner": {"type": "varchar", "length": 100},
                        "body": {"type": "text"},
                        "tag": {"type": "varchar", "length": 40, "unique": True}},
        },
    },
}

TOKEN = make_token(claims(scope="guarded:write"))


def setup():
    server = Server(CONFIG)
    serve_as_non_owner(server)  # a role that does not own the tables: RLS applies to it
    server.sql("ALTER TABLE note ENABLE ROW LEVEL SECURITY; "
               "CREATE POLICY note_owner ON note USING "
               "(owner = current_setting('request.jwt.claims', true)::json->>'sub') "
               "WITH CHECK (owner = current_setting('request.jwt.claims', true)::json->>'sub')")
    server.sql("INSERT INTO note (owner, body, tag) VALUES ('bob', 'b1', 'bobs')")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def post(server, path, body, token=TOKEN):
    headers = bearer(token) if token else None
    return server.request("POST", path, body=body, headers=headers)


def count(server, table, where="true"):
    return int(server.sql(f"SELECT count(*) FROM {table} WHERE {where}"))


# ---- bulk create ------------------------------------------------------------------------------

def test_array_answers_full_rows_in_the_order_sent(server):
    titles = ["Zulu", "Alpha", "Mike", "Bravo", "Yankee"]
    response = post(server, "/film/", [{"title": t, "rating": i} for i, t in enumerate(titles)])
    expect_status(response, 201)
    rows = response.json["rows"]
    expect([row["title"] for row in rows] == titles, rows)
    expect([row["rating"] for row in rows] == [0, 1, 2, 3, 4], rows)
    for row in rows:
        expect(row == server.get(f"/film/{row['id']}/").json, (row, "differs from GET"))
        expect("api_key" not in row and len(row["ref"]) == 36, row)


def test_array_order_holds_when_keys_are_sent_out_of_order(server):
    slugs = ["m", "c", "x", "a"]
    response = post(server, "/label/", [{"slug": s, "title": s.upper()} for s in slugs])
    expect_status(response, 201)
    expect([row["slug"] for row in response.json["rows"]] == slugs, response.json)
    expect([row["title"] for row in response.json["rows"]] == ["M", "C", "X", "A"])


def test_keys_the_database_draws_keep_the_order(server):
    # a uuid primary key with a default: drawn once per row in the statement, then paired
    seats = [f"S{i}" for i in range(8)]
    response = post(server, "/ticket/", [{"seat": seat} for seat in seats])
    expect_status(response, 201)
    rows = response.json["rows"]
    expect([row["seat"] for row in rows] == seats and len({row["code"] for row in rows}) == 8, rows)
    for row in rows:
        expect(server.get(f"/ticket/{row['code']}/").json["seat"] == row["seat"], row)
    # an upsert row without the key inserts with a fresh one; one with it updates
    response = post(server, "/ticket/?__on_conflict=code",
                    [{"seat": "new"}, {"code": rows[0]["code"], "seat": "moved"}])
    expect_status(response, 201)
    expect(response.json["inserted"] == [True, False], response.json)
    expect(response.json["rows"][1] == {"code": rows[0]["code"], "seat": "moved"}, response.json)


def test_rows_may_send_different_columns(server):
    response = post(server, "/film/", [{"title": "Only title"},
                                       {"title": "With year", "year": 1999, "api_key": "s"},
                                       {"rating": 7, "title": "With rating", "poster": "AQI="}])
    expect_status(response, 201)
    first, second, third = response.json["rows"]
    expect(first["rating"] == 0 and first["year"] is None, first)
    expect(second["year"] == 1999 and second["rating"] == 0, second)
    expect(third["rating"] == 7 and third["poster"] == "AQI=", third)
    expect(server.sql(f"SELECT api_key FROM film WHERE id = {second['id']}") == "s")


def test_a_bad_row_is_named_and_nothing_is_written(server):
    before = count(server, "film")
    response = post(server, "/film/", [{"title": "ok"}, {"title": "ok too"}, {"title": "fine"},
                                       {"title": "bad", "rating": "high"}])
    body = expect_error(response, 422, field="[3].rating")
    expect(body["error"]["errors"][0]["row"] == 3, body)
    expect(count(server, "film") == before, "a rejected array wrote rows")


def test_several_bad_rows_list_every_error(server):
    before = count(server, "film")
    response = post(server, "/film/", [{"rating": 1}, {"title": "x", "nope": 1}, 7])
    body = expect_error(response, 422)
    fields = sorted(error["field"] for error in body["error"]["errors"])
    expect(fields == ["[0].title", "[1].nope", "[2]"], fields)
    expect(count(server, "film") == before)


def test_a_database_refusal_rolls_back_every_row(server):
    post(server, "/film/", {"title": "coded", "code": "taken"})
    before = count(server, "film")
    response = post(server, "/film/", [{"title": "new", "code": "fresh"},
                                       {"title": "dup", "code": "taken"}])
    expect_error(response, 409, field="code", contains="film_code_key")
    expect(count(server, "film") == before, "a failed array left rows")


def test_more_rows_than_max_page_size_is_413(server):
    before = count(server, "film")
    response = post(server, "/film/", [{"title": f"t{i}"} for i in range(6)])
    expect_error(response, 413, contains="max_page_size")
    expect(count(server, "film") == before)
    expect_status(post(server, "/film/", [{"title": f"t{i}"} for i in range(5)]), 201)


def test_empty_array_is_400(server):
    expect_error(post(server, "/film/", []), 400, contains="at least one row")


def test_single_object_still_answers_its_key(server):
    response = post(server, "/film/", {"title": "single"})
    expect_status(response, 201)
    expect(isinstance(response.json, list) and list(response.json[0]) == ["id"], response.json)


def test_unknown_parameter_on_create_is_400(server):
    expect_error(post(server, "/film/?nope=1", {"title": "x"}), 400, field="nope")


# ---- upsert -----------------------------------------------------------------------------------

def test_upsert_inserts_then_updates_only_what_was_sent(server):
    response = post(server, "/film/?__on_conflict=code", {"title": "Up", "code": "up-1",
                                                          "year": 2001, "rating": 5})
    expect_status(response, 201)
    row = response.json
    expect(row["title"] == "Up" and row["year"] == 2001 and row["code"] == "up-1", row)
    etag = response.header("ETag")
    expect(etag and etag == server.get(f"/film/{row['id']}/").header("ETag"), etag)
    response = post(server, "/film/?__on_conflict=code", {"code": "up-1", "title": "Up again",
                                                          "rating": 6})
    expect_status(response, 200)
    updated = response.json
    expect(updated["id"] == row["id"] and updated["title"] == "Up again", updated)
    expect(updated["rating"] == 6 and updated["year"] == 2001, "an unsent column changed")
    expect(updated["ref"] == row["ref"], "the default of an unsent column was applied")
    expect(response.header("ETag") not in (None, etag), response.headers)
    expect(count(server, "film", "code = 'up-1'") == 1)


def test_upsert_on_the_primary_key(server):
    expect_status(post(server, "/label/?__on_conflict=slug", {"slug": "pk", "title": "one"}), 201)
    response = post(server, "/label/?__on_conflict=slug", {"slug": "pk", "hits": 3})
    expect_error(response, 422, field="title")  # it might insert: required columns stay required
    response = post(server, "/label/?__on_conflict=slug", {"slug": "pk", "title": "two"})
    expect_status(response, 200)
    expect(response.json == {"slug": "pk", "title": "two", "hits": 0}, response.json)


def test_upsert_on_a_serial_primary_key(server):
    row = post(server, "/film/?__on_conflict=id", {"title": "serial"}).json
    response = post(server, "/film/?__on_conflict=id", {"id": row["id"], "title": "renamed"})
    expect_status(response, 200)
    expect(response.json["id"] == row["id"] and response.json["title"] == "renamed")
    # without __on_conflict a serial key is still the database's to assign
    expect_error(post(server, "/film/", {"id": 5000, "title": "x"}), 422, field="id")


def test_upsert_sending_only_the_key_returns_the_row(server):
    post(server, "/label/", {"slug": "keyonly", "title": "kept"})
    response = post(server, "/label/?__on_conflict=slug", [{"slug": "keyonly", "title": "kept"}])
    expect_status(response, 200)
    response = post(server, "/film/?__on_conflict=code", {"title": "k", "code": "k-1"})
    ref = response.json["ref"]
    response = post(server, "/film/?__on_conflict=ref", {"ref": ref, "title": "k"})
    expect_status(response, 200)
    expect(response.json["code"] == "k-1" and response.json["ref"] == ref, response.json)


def test_array_upsert_mixes_inserts_and_updates(server):
    post(server, "/film/", [{"title": "A", "code": "arr-a", "year": 1},
                            {"title": "B", "code": "arr-b", "year": 2}])
    response = post(server, "/film/?__on_conflict=code",
                    [{"title": "new C", "code": "arr-c"},
                     {"title": "new B", "code": "arr-b"},
                     {"title": "new A", "code": "arr-a", "year": 10}])
    expect_status(response, 201)
    rows = response.json["rows"]
    expect([row["code"] for row in rows] == ["arr-c", "arr-b", "arr-a"], rows)
    expect(response.json["inserted"] == [True, False, False], response.json)
    expect(rows[1]["title"] == "new B" and rows[1]["year"] == 2, "B's unsent year changed")
    expect(rows[2]["year"] == 10, rows[2])
    response = post(server, "/film/?__on_conflict=code", [{"title": "again", "code": "arr-c"}])
    expect_status(response, 200)
    expect(response.json["inserted"] == [False], response.json)


def test_duplicate_keys_in_one_array_are_422(server):
    before = count(server, "film")
    response = post(server, "/film/?__on_conflict=code", [{"title": "d1", "code": "dup"},
                                                          {"title": "d2", "code": "dup"}])
    expect_error(response, 422, field="[1].code")
    response = post(server, "/label/?__on_conflict=hits", [{"slug": "h1", "title": "t"}])
    expect_error(response, 400, field="__on_conflict")
    post(server, "/film/", {"title": "id-dup"})
    response = post(server, "/film/?__on_conflict=id", [{"id": 1, "title": "x"},
                                                        {"id": 1, "title": "y"}])
    expect_error(response, 422, field="[1].id")
    expect(count(server, "film") == before + 1)


def test_duplicate_values_equal_only_in_the_database_are_422(server):
    before = count(server, "film")
    response = post(server, "/film/?__on_conflict=shown",
                    [{"title": "s1", "shown": "2024-01-01T00:00:00Z"},
                     {"title": "s2", "shown": "2024-01-01T01:00:00+01:00"}])
    body = expect_error(response, 422, contains="same __on_conflict key")
    expect("field" not in body["error"], body)  # PostgreSQL's refusal (21000), not the check
    expect(count(server, "film") == before)


def test_on_conflict_must_name_a_unique_key(server):
    expect_error(post(server, "/film/?__on_conflict=year", {"title": "x"}), 400,
                 field="__on_conflict", contains="not a unique key")
    expect_error(post(server, "/film/?__on_conflict=nope", {"title": "x"}), 400,
                 field="__on_conflict", contains="unknown column")
    # no composite unique key can be declared: a pair of unique columns is not one
    expect_error(post(server, "/film/?__on_conflict=code,ref", {"title": "x"}), 400,
                 field="__on_conflict")
    expect_error(post(server, "/film/?__on_conflict=", {"title": "x"}), 400,
                 field="__on_conflict")
    expect_error(post(server, "/film/?__on_conflict=code&__on_conflict=code", {"title": "x"}),
                 400, field="__on_conflict")
    # set equality: a name given twice is the same key
    expect_status(post(server, "/film/?__on_conflict=code,code", {"title": "x", "code": "cc"}),
                  201)


def test_on_conflict_key_must_identify_the_row(server):
    response = post(server, "/film/?__on_conflict=code", [{"title": "no code"}])
    expect_error(response, 422, field="[0].code", contains="__on_conflict")
    response = post(server, "/film/?__on_conflict=code", {"title": "null code", "code": None})
    expect_error(response, 422, field="code")


def test_upsert_on_a_read_only_table_is_405(server):
    response = post(server, "/tally/?__on_conflict=id", {"n": 1})
    expect_error(response, 405)
    expect_error(post(server, "/tally/", [{"n": 1}]), 405)


def test_upsert_needs_the_write_policy(server):
    body = [{"name": "g"}]
    expect_error(post(server, "/guarded/?__on_conflict=name", body, token=None), 401)
    weak = make_token(claims(scope="other"))
    expect_error(post(server, "/guarded/?__on_conflict=name", body, token=weak), 403)
    expect(count(server, "guarded") == 0)
    expect_status(post(server, "/guarded/?__on_conflict=name", body), 201)


def test_row_level_security_applies_to_bulk_and_upsert(server):
    alice = make_token(claims(sub="alice"))
    response = post(server, "/note/", [{"owner": "alice", "body": "a", "tag": "a1"},
                                       {"owner": "alice", "body": "b", "tag": "a2"}], token=alice)
    expect_status(response, 201)
    response = post(server, "/note/", [{"owner": "alice", "body": "c", "tag": "a3"},
                                       {"owner": "bob", "body": "d", "tag": "b9"}], token=alice)
    expect_error(response, 403)
    expect(count(server, "note", "tag IN ('a3', 'b9')") == 0)
    # bob's row is not alice's to update, even by its unique key
    response = post(server, "/note/?__on_conflict=tag", {"owner": "alice", "body": "mine",
                                                          "tag": "bobs"}, token=alice)
    expect(response.status in (403, 409), response)
    expect(server.sql("SELECT body FROM note WHERE tag = 'bobs'") == "b1")
    response = post(server, "/note/?__on_conflict=tag", {"owner": "alice", "body": "edited",
                                                          "tag": "a1"}, token=alice)
    expect_status(response, 200)
    expect(response.json["body"] == "edited", response.json)


def test_openapi_describes_bulk_and_upsert(server):
    document = server.get("/openapi.json").json
    create = document["paths"]["/film/"]["post"]
    parameter = create["parameters"][0]
    expect(parameter["name"] == "__on_conflict", parameter)
    expect(sorted(parameter["schema"]["enum"]) == ["code", "id", "ref", "shown"], parameter)
    expect({"200", "201", "413"} <= set(create["responses"]), create["responses"])
    array = create["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]
    expect(array["maxItems"] == 5, array)
    expect("ETag" in create["responses"]["200"]["headers"])

