"""Writes: create one and many, put, patch, delete, bulk delete and update, validation (422),
conflicts (409), malformed bodies (400/415/413) — SPEC §3 "Writes"."""
import json

from fixtures import MOVIES
from harness import Server, expect, expect_error, expect_status


def setup():
    config = dict(MOVIES)
    config["server"] = {"max_body_bytes": 4096,
                        "cors": {"origins": ["https://app.example.com"]}}
    server = Server(config)
    server.sql("INSERT INTO director (name) VALUES ('Akira Kurosawa'), ('Agnes Varda')")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def create(server, body):
    return server.request("POST", "/movie/", body=body)


def test_create_one_returns_201_with_new_key(server):
    response = create(server, {"name": "Ikiru", "rating": 8, "director": 1,
                               "tags": ["drama"], "api_key": "secret"})
    expect_status(response, 201)
    expect(len(response.json) == 1 and isinstance(response.json[0]["id"], int), response.json)
    new_id = response.json[0]["id"]
    row = server.get(f"/movie/{new_id}/").json
    expect(row["name"] == "Ikiru" and row["rating"] == 8 and row["tags"] == ["drama"], row)
    expect("api_key" not in row)
    expect(server.sql(f"SELECT api_key FROM movie WHERE id = {new_id}") == "secret")


def test_create_many_in_one_transaction(server):
    response = create(server, [{"name": "A1"}, {"name": "A2", "rating": 3}])
    expect_status(response, 201)
    rows = response.json["rows"]  # an array answers the full rows, in the order sent (SPEC §5)
    expect(len(rows) == 2 and rows[0]["id"] < rows[1]["id"], rows)
    expect(rows[0]["name"] == "A1" and rows[1]["rating"] == 3, rows)
    before = server.sql("SELECT count(*) FROM movie")
    response = create(server, [{"name": "B1"}, {"name": "B2", "director": 999}])
    expect_error(response, 409, field="director", contains="movie_director_fkey")
    expect(server.sql("SELECT count(*) FROM movie") == before, "a failed batch left rows")


def test_create_validation_lists_every_field(server):
    response = create(server, {"rating": "high", "nope": 1, "genre": "horror",
                               "contact": "not-an-email", "code": "xyz",
                               "name": "x" * 201, "release_date": "2024-02-30"})
    body = expect_error(response, 422)
    fields = sorted(error["field"] for error in body["error"]["errors"])
    expect(fields == sorted(["rating", "nope", "genre", "contact", "code", "name",
                             "release_date"]), fields)


def test_create_missing_required_column_is_422(server):
    body = expect_error(create(server, {"rating": 1}), 422, field="name")
    expect(body["error"]["errors"][0]["field"] == "name")


def test_create_null_in_not_null_column_is_422(server):
    expect_error(create(server, {"name": None}), 422, field="name")


def test_create_serial_primary_key_is_refused(server):
    expect_error(create(server, {"name": "x", "id": 77}), 422, field="id")


def test_create_out_of_range_integer_is_422(server):
    expect_error(create(server, {"name": "x", "rating": 2 ** 40}), 422, field="rating")


def test_unique_violation_is_409_naming_constraint(server):
    response = server.request("POST", "/director/", body={"name": "Akira Kurosawa"})
    expect_error(response, 409, field="name", contains="director_name_key")


def test_malformed_json_is_400(server):
    response = server.request("POST", "/movie/", raw="{\"name\": ",
                              headers={"Content-Type": "application/json"})
    expect_error(response, 400, contains="line")


def test_non_json_content_type_is_415(server):
    response = server.request("POST", "/movie/", raw="name=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect_error(response, 415)


def test_body_over_limit_is_413(server):
    response = create(server, {"name": "x" * 5000})
    expect_error(response, 413)


def test_chunked_body_is_refused_with_501(server):
    """restable reads bodies by Content-Length only (docs/decisions.md): a chunked upload is
    answered 501 before any of it is read, and nothing is written."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", "/movie/")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    part = b"{\"name\": \"Chunked\"}"
    connection.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(part), part))
    response = connection.getresponse()
    expect(response.status == 501, response.status)
    expect("Content-Length" in json.loads(response.read())["error"]["message"])
    connection.close()
    expect(server.sql("SELECT count(*) FROM movie WHERE name = 'Chunked'") == "0")


def test_patch_returns_updated_row(server):
    new_id = create(server, {"name": "Patch me", "rating": 1}).json[0]["id"]
    response = server.request("PATCH", f"/movie/{new_id}/", body={"rating": 5})
    expect_status(response, 200)
    expect(response.json["rating"] == 5 and response.json["name"] == "Patch me", response.json)
    expect("api_key" not in response.json)


def test_patch_validation_and_missing_row(server):
    expect_error(server.request("PATCH", "/movie/1/", body={"rating": "x"}), 422,
                 field="rating")
    expect_error(server.request("PATCH", "/movie/99999/", body={"rating": 1}), 404)
    expect_error(server.request("PATCH", "/movie/abc/", body={"rating": 1}), 400)


def test_put_replaces_row_and_resets_missing_columns(server):
    new_id = create(server, {"name": "Put me", "rating": 7, "tags": ["a"]}).json[0]["id"]
    response = server.request("PUT", f"/movie/{new_id}/", body={"name": "Replaced"})
    expect_status(response, 204)
    row = server.get(f"/movie/{new_id}/").json
    expect(row["name"] == "Replaced" and row["rating"] == 0 and row["tags"] is None, row)
    expect_error(server.request("PUT", f"/movie/{new_id}/", body={"rating": 1}), 422,
                 field="name")
    expect_error(server.request("PUT", "/movie/99999/", body={"name": "x"}), 404)


def test_delete_one(server):
    new_id = create(server, {"name": "Delete me"}).json[0]["id"]
    expect_status(server.request("DELETE", f"/movie/{new_id}/"), 204)
    expect_error(server.get(f"/movie/{new_id}/"), 404)
    expect_error(server.request("DELETE", f"/movie/{new_id}/"), 404)


def test_bulk_delete_by_filter(server):
    create(server, [{"name": "bulkdel one"}, {"name": "bulkdel two"}, {"name": "keep"}])
    expect_status(server.request("DELETE", "/movie/?name=bulkdel"), 204)
    expect(server.get("/movie/count/?name=bulkdel").json["count"] == 0)
    expect(server.get("/movie/count/?name=keep").json["count"] >= 1)
    expect_error(server.request("DELETE", "/movie/?nope=1"), 400, field="nope")


def test_bulk_delete_not_allowed_is_405(server):
    expect_error(server.request("DELETE", "/director/"), 405)


def test_bulk_update_by_ids(server):
    ids = [row["id"] for row in create(server, [{"name": "bu1"}, {"name": "bu2"}]).json["rows"]]
    response = server.request("PATCH", f"/movie/?__ids={ids[0]},{ids[1]}", body={"rating": 4})
    expect_status(response, 200)
    expect(sorted(row["rating"] for row in response.json["rows"]) == [4, 4], response.json)
    expect_error(server.request("PATCH", "/movie/", body={"rating": 4}), 400, field="__ids")
    expect_error(server.request("PATCH", "/director/?__ids=1", body={"name": "x"}), 405)


def test_types_round_trip(server):
    body = {"name": "Types", "budget": 1234.56, "length": "PT2H30M", "poster": "aGk=",
            "release_date": "2020-02-29", "extra": {"a": [1, 2]}, "contact": "b@example.org",
            "code": "5D3C8A3E-0B7B-4C5A-9E7E-2B1F8F0C1A11", "genre": "comedy",
            "created": "2024-01-02T03:04:05+02:00"}
    new_id = create(server, body).json[0]["id"]
    row = server.get(f"/movie/{new_id}/").json
    expect(row["budget"] == 1234.56 and row["length"] == "PT2H30M" and row["poster"] == "aGk=",
           row)
    expect(row["extra"] == {"a": [1, 2]} and row["release_date"] == "2020-02-29", row)
    expect(row["code"] == "5d3c8a3e-0b7b-4c5a-9e7e-2b1f8f0c1a11", row)
    expect(row["created"] == "2024-01-02T01:04:05+00:00", row)


def test_unicode_text_round_trips(server):
    new_id = create(server, {"name": "東京物語 — Tōkyō"}).json[0]["id"]
    expect(server.get(f"/movie/{new_id}/").json["name"] == "東京物語 — Tōkyō")
    expect_status(create(server, {"name": "é" * 200}), 201)
    expect_error(create(server, {"name": "é" * 201}), 422, field="name")


def test_body_must_be_object_or_array(server):
    expect_error(create(server, 42), 400)
    expect_error(create(server, []), 400)
    expect_error(server.request("PATCH", "/movie/1/", body=[1]), 400)


def test_sql_injection_attempts_are_inert_or_400(server):
    before = server.sql("SELECT count(*) FROM movie")
    attempts = [
        "/movie/?name=%27%3B%20DROP%20TABLE%20movie%3B%20--",
        "/movie/?name%3B%20DROP%20TABLE%20movie=1",
        "/movie/?__order=id%3B%20DROP%20TABLE%20movie",
        "/movie/?__order=-(select%201)",
        "/movie/?rating=1%20OR%201%3D1",
        "/movie/?__visible_fields=name%22%2C%22api_key",
        "/movie/?name__operator=e%27--&name=x",
        "/movie/1%20OR%201=1/",
    ]
    for path in attempts:
        response = server.get(path)
        expect(response.status in (200, 400, 404), f"{path}: {response!r}")
        if response.status == 200:
            expect(response.json["rows"] == [] or "name=" in path, f"{path}: {response!r}")
    response = create(server, {"name": "x'); DROP TABLE movie; --"})
    expect_status(response, 201)
    new_id = response.json[0]["id"]
    expect(server.get(f"/movie/{new_id}/").json["name"] == "x'); DROP TABLE movie; --")
    expect(int(server.sql("SELECT count(*) FROM movie")) == int(before) + 1)


def test_quotes_and_backslashes_round_trip(server):
    name = "He said \"hi\" \\ and 'bye'"
    new_id = create(server, {"name": name, "tags": ["a\"b", "c\\d", "e,f", "{g}"]}).json[0]["id"]
    row = server.get(f"/movie/{new_id}/").json
    expect(row["name"] == name and row["tags"] == ["a\"b", "c\\d", "e,f", "{g}"], row)
    expect(names_of(server.get("/movie/?name=said%20%22hi%22")) == [name])


def names_of(response):
    return [row["name"] for row in response.json["rows"]]


def test_sixty_concurrent_creates_all_land(server):
    import threading
    results = []

    def one(number):
        response = create(server, {"name": f"concurrent {number}"})
        results.append(response.status)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    expect(results.count(201) == 60, results)
    expect(server.get("/movie/count/?name=concurrent").json["count"] == 60)


def test_cors_allows_only_configured_origins(server):
    allowed = server.get("/movie/", headers={"Origin": "https://app.example.com"})
    expect(allowed.header("Access-Control-Allow-Origin") == "https://app.example.com",
           allowed.headers)
    # one Vary header: the list also varies by Accept (JSON or CSV)
    expect(allowed.header("Vary") == "Accept, Origin", allowed.headers)
    denied = server.get("/movie/", headers={"Origin": "https://evil.example.com"})
    expect(denied.header("Access-Control-Allow-Origin") is None, denied.headers)
    preflight = server.request("OPTIONS", "/movie/1/", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"})
    expect_status(preflight, 204)
    expect("PATCH" in preflight.header("Access-Control-Allow-Methods"), preflight.headers)
