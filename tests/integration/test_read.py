"""Reads: list, filters, operators, match modes, order, pages, visible fields, readable,
range header, count, ids, one row, schema, new, references (SPEC §3)."""
import time

from fixtures import MOVIES, SEED_SQL
from harness import Server, expect, expect_error, expect_status


def setup():
    server = Server(MOVIES)
    server.sql(SEED_SQL)
    return server.start()


def teardown(server):
    expect(server.stop() == 0, "serve did not exit 0 on SIGTERM")


def names(response):
    expect_status(response, 200)
    return [row["name"] for row in response.json["rows"]]


def test_list_returns_rows_newest_first(server):
    response = server.get("/movie/")
    expect(response.header("Content-Type").startswith("application/json"))
    expect(names(response) == ["100% Pure_Test", "Rashomon", "2001: A Space Odyssey",
                               "Cleo from 5 to 7", "Seven Samurai"], names(response))


def test_list_without_trailing_slash(server):
    expect(len(names(server.get("/movie"))) == 5)


def test_list_renders_types_as_json(server):
    row = server.get("/movie/?__order=id&__page_size=1").json["rows"][0]
    expect(row["id"] == 1 and row["rating"] == 9 and row["released"] is True, row)
    expect(row["tags"] == ["drama", "action"], row)
    expect(row["budget"] == 125000.5, row)
    expect(row["poster"] == "aGVsbG8=", row)
    expect(row["release_date"] == "1954-04-26", row)
    expect(row["extra"] == {"awards": 3}, row)
    expect(row["length"] == "PT3H27M", row)
    expect(row["created"].endswith("+00:00") and "T" in row["created"], row)
    expect(len(row["code"]) == 36, row)


def test_list_never_returns_secret_columns(server):
    for row in server.get("/movie/").json["rows"]:
        expect("api_key" not in row, row)
    expect("api_key" not in server.get("/movie/1/").json)


def test_filter_text_is_case_insensitive_contains(server):
    expect(names(server.get("/movie/?name=SAMURAI")) == ["Seven Samurai"])


def test_filter_match_exact_starts_ends(server):
    expect(names(server.get("/movie/?name=Rashomon&name__match=exact")) == ["Rashomon"])
    expect(names(server.get("/movie/?name=rashomon&name__match=exact")) == [])
    expect(names(server.get("/movie/?name=seven&name__match=starts")) == ["Seven Samurai"])
    expect(names(server.get("/movie/?name=odyssey&name__match=ends")) ==
           ["2001: A Space Odyssey"])


def test_filter_percent_and_underscore_are_literal(server):
    expect(names(server.get("/movie/?name=0%25")) == ["100% Pure_Test"])
    expect(names(server.get("/movie/?name=e_T")) == ["100% Pure_Test"])
    expect(names(server.get("/movie/?name=%25%25")) == [])


def test_filter_integer_equals_and_operators(server):
    expect(sorted(names(server.get("/movie/?rating=9"))) ==
           ["2001: A Space Odyssey", "Seven Samurai"])
    expect(len(names(server.get("/movie/?rating=8&rating__operator=gte"))) == 3)
    expect(len(names(server.get("/movie/?rating=8&rating__operator=gt"))) == 2)
    expect(len(names(server.get("/movie/?rating=7&rating__operator=lt"))) == 1)
    expect(len(names(server.get("/movie/?rating=7&rating__operator=lte"))) == 2)
    expect(len(names(server.get("/movie/?rating=9&rating__operator=ne"))) == 3)
    expect(len(names(server.get("/movie/?rating=9&rating__operator=e"))) == 2)


def test_filter_null_and_null_operators(server):
    expect(names(server.get("/movie/?director=null")) == ["100% Pure_Test"])
    expect(names(server.get("/movie/?director__operator=is_null")) == ["100% Pure_Test"])
    expect(len(names(server.get("/movie/?director__operator=not_null"))) == 4)


def test_filter_repeated_values_and_axios_brackets_are_in(server):
    expect(len(names(server.get("/movie/?rating=7&rating=8"))) == 2)
    expect(len(names(server.get("/movie/?rating[]=7&rating[]=3"))) == 2)


def test_filter_array_contains_element(server):
    expect(sorted(names(server.get("/movie/?tags=drama"))) ==
           ["Cleo from 5 to 7", "Rashomon", "Seven Samurai"])


def test_filter_boolean_and_fk(server):
    expect(names(server.get("/movie/?released=false")) == ["100% Pure_Test"])
    expect(sorted(names(server.get("/movie/?director=1"))) == ["Rashomon", "Seven Samurai"])


def test_ids_parameter_limits_rows(server):
    expect(sorted(names(server.get("/movie/?__ids=1,4"))) == ["Rashomon", "Seven Samurai"])


def test_order_ascending_descending_and_several(server):
    expect(names(server.get("/movie/?__order=name"))[0] == "100% Pure_Test")
    expect(names(server.get("/movie/?__order=-rating,name")) ==
           ["2001: A Space Odyssey", "Seven Samurai", "Cleo from 5 to 7", "Rashomon",
            "100% Pure_Test"])
    expect(names(server.get("/movie/?__order=-rating&__order=name"))[0] ==
           "2001: A Space Odyssey")


def test_pagination(server):
    expect(names(server.get("/movie/?__order=id&__page_size=2&__page=2")) ==
           ["2001: A Space Odyssey", "Rashomon"])
    expect(names(server.get("/movie/?__page_size=2&__page=9")) == [])


def test_page_size_over_max_is_403(server):
    expect_error(server.get("/movie/?__page_size=101"), 403)
    expect_status(server.get("/movie/?__page_size=100"), 200)


def test_bad_page_values_are_400(server):
    expect_error(server.get("/movie/?__page=0"), 400, field="__page")
    expect_error(server.get("/movie/?__page=abc"), 400, field="__page")
    expect_error(server.get("/movie/?__page=2147483648"), 400, field="__page")
    expect_error(server.get("/movie/?__page_size=-1"), 400, field="__page_size")


def test_visible_fields_and_nesting(server):
    rows = server.get("/movie/?__visible_fields=name,rating&__order=id").json["rows"]
    expect(rows[0] == {"name": "Seven Samurai", "rating": 9}, rows[0])
    rows = server.get("/movie/?__visible_fields=name,director.name&__order=id").json["rows"]
    expect(rows[0] == {"name": "Seven Samurai", "director": {"name": "Akira Kurosawa"}},
           rows[0])
    expect(rows[4] == {"name": "100% Pure_Test", "director": None}, rows[4])


def test_visible_fields_too_deep_or_unknown_is_400(server):
    expect_error(server.get("/movie/?__visible_fields=director.name.x"), 400,
                 field="__visible_fields")
    expect_error(server.get("/movie/?__visible_fields=nope"), 400, field="__visible_fields")
    expect_error(server.get("/movie/?__visible_fields=api_key"), 400, field="__visible_fields")
    expect_error(server.get("/director/?__visible_fields=name.x"), 400)


def test_readable_adds_fk_readable(server):
    row = server.get("/movie/1/?__readable=true").json
    expect(row["director_readable"] == "Akira Kurosawa", row)
    row = server.get("/movie/?__readable=1&__order=id").json["rows"][0]
    expect(row["director_readable"] == "Akira Kurosawa", row)
    expect("director_readable" not in server.get("/movie/1/?__readable=false").json)
    expect_error(server.get("/movie/?__readable=maybe"), 400, field="__readable")


def test_range_header(server):
    response = server.get("/movie/?__range_header=true&__page_size=2")
    expect(response.header("Content-Range") == "movie 0-1/5", response.headers)
    response = server.get("/movie/?__range_header=true&__page_size=2&__page=3&rating=9"
                          "&__range_header_name=movies")
    expect(response.header("Content-Range") == "movies */2", response.headers)
    expect_error(server.get("/movie/?__range_header=true&__range_header_name=a%20b"), 400,
                 field="__range_header_name")
    response = server.get("/movie/?__range_header=true&__page_size=2&__page=3")
    expect(response.header("Content-Range") == "movie 4-4/5", response.headers)


def test_unknown_parameters_are_400_naming_them(server):
    expect_error(server.get("/movie/?nope=1"), 400, field="nope")
    expect_error(server.get("/movie/?__nope=1"), 400, field="__nope")
    expect_error(server.get("/movie/?rating__operator=between&rating=1"), 400,
                 field="rating__operator")
    expect_error(server.get("/movie/?rating=abc"), 400, field="rating")
    expect_error(server.get("/movie/?rating=99999999999"), 400, field="rating")
    expect_error(server.get("/movie/?api_key=k1"), 400, field="api_key")
    expect_error(server.get("/movie/?rating__match=exact&rating=1"), 400,
                 field="rating__match")
    expect_error(server.get("/movie/?name__match=fuzzy&name=a"), 400, field="name__match")
    expect_error(server.get("/movie/?__order=nope"), 400, field="__order")
    expect_error(server.get("/movie/?created=yesterday"), 400, field="created")


def test_count_with_filters(server):
    response = server.get("/movie/count/?rating=9")
    expect_status(response, 200)
    expect(response.json == {"count": 2, "page_size": 15}, response.json)
    expect(server.get("/movie/count").json["count"] == 5)
    expect(server.get("/movie/count/?__page_size=50").json["page_size"] == 50)


def test_get_one_row(server):
    response = server.get("/movie/2/")
    expect_status(response, 200)
    expect(response.json["name"] == "Cleo from 5 to 7", response.json)
    expect(server.get("/movie/2/?__visible_fields=name").json == {"name": "Cleo from 5 to 7"})
    expect(server.get("/movie/2").status == 200)


def test_get_missing_row_is_404_and_bad_pk_400(server):
    expect_error(server.get("/movie/999/"), 404)
    expect_error(server.get("/movie/abc/"), 400, field="id")


def test_unknown_table_is_404(server):
    expect_error(server.get("/nope/"), 404)
    expect_error(server.get("/movie/1/extra/"), 404)


def test_ids_route(server):
    response = server.get("/director/ids/")
    expect(response.json == {"1": "Akira Kurosawa", "2": "Agnes Varda", "3": "Stanley Kubrick"},
           response.json)
    expect(server.get("/director/ids/?search=VARDA").json == {"2": "Agnes Varda"})
    expect(server.get("/director/ids/?limit=1&offset=1").json == {"2": "Agnes Varda"})
    expect(server.get("/movie/ids/?limit=1").json == {"1": "1"})
    expect_error(server.get("/director/ids/?limit=x"), 400, field="limit")


def test_new_route_fills_defaults(server):
    row = server.get("/movie/new/").json
    expect(row["rating"] == 0 and row["released"] is False, row)
    expect("T" in row["created"], row)
    expect(len(row["code"]) == 36, row)
    expect("id" not in row and "api_key" not in row, row)


def test_schema_route(server):
    schema = server.get("/movie/schema/").json
    properties = schema["properties"]
    expect(properties["name"]["maxLength"] == 200, properties["name"])
    expect(properties["genre"]["enum"][:3] == ["drama", "comedy", "sci-fi"], properties["genre"])
    expect(properties["created"]["format"] == "date-time", properties["created"])
    expect(properties["code"]["format"] == "uuid", properties["code"])
    expect(properties["contact"]["format"] == "email", properties["contact"])
    expect("name" in schema["required"] and "rating" not in schema["required"], schema)
    expect(schema["extra"]["primary_key_name"] == "id", schema["extra"])
    expect("director.name" in schema["extra"]["visible_fields_options"], schema["extra"])
    expect("api_key" not in schema["extra"]["visible_fields_options"], schema["extra"])
    expect(schema["extra"]["foreign_keys"][0]["to"] == "director", schema["extra"])


def test_references_route(server):
    response = server.get("/director/references/")
    expect(response.json == {"references": [{"tableName": "movie", "columnName": "director"}]},
           response.json)
    expect(server.get("/movie/references/").json == {"references": []})


def test_head_is_answered_like_get(server):
    response = server.request("HEAD", "/movie/")
    expect_status(response, 200)
    expect(response.body == "")


def test_read_only_table_refuses_writes_with_405(server):
    expect_status(server.get("/studio/"), 200)
    response = server.request("POST", "/studio/", body={"name": "x"})
    expect_error(response, 405)
    expect("GET" in response.header("Allow") and "POST" not in response.header("Allow"))
    expect_error(server.request("DELETE", "/studio/1/"), 405)


def test_method_not_on_route_is_405_with_allow(server):
    response = server.request("PUT", "/movie/")
    expect_error(response, 405)
    expect("POST" in response.header("Allow"), response.headers)
    expect_error(server.request("POST", "/movie/count/"), 405)
    expect_error(server.request("DELETE", "/healthz"), 405)


def test_openapi_describes_every_table(server):
    document = server.get("/openapi.json").json
    expect(document["openapi"].startswith("3.1"), document["openapi"])
    expect("/movie/" in document["paths"] and "/director/{pk}/" in document["paths"])


def test_health_and_ready(server):
    expect(server.get("/healthz").json == {"status": "ok"})
    expect_status(server.get("/readyz"), 200)


def test_request_id_header(server):
    expect(server.get("/movie/").header("X-Request-Id"))


def metric_value(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_move_as_requests_are_made(server):
    response = server.get("/metrics")
    expect_status(response, 200)
    expect(response.header("Content-Type").startswith("text/plain"), response.headers)
    key = 'restable_http_requests_total{table="director",route="count",method="GET",status="200"}'
    before = metric_value(response.body, key)
    for _ in range(3):
        server.get("/director/count/")
    # a request is counted when it completes, just after its response went out: allow the
    # last one a moment
    deadline = time.time() + 2
    after = metric_value(server.get("/metrics").body, key)
    while after < before + 3 and time.time() < deadline:
        time.sleep(0.01)
        after = metric_value(server.get("/metrics").body, key)
    expect(after == before + 3, (before, after))
    expect("restable_http_request_duration_seconds_bucket" in response.body)
    expect("restable_db_pool_connections" in response.body)


def test_request_id_round_trip(server):
    response = server.get("/movie/", headers={"X-Request-Id": "abc-123.x"})
    expect(response.header("X-Request-Id") == "abc-123.x", response.headers)
    response = server.get("/movie/", headers={"X-Request-Id": "bad id\twith spaces"})
    expect(response.header("X-Request-Id") not in (None, "bad id\twith spaces"), response.headers)


def test_cors_preflight_is_answered(server):
    response = server.request("OPTIONS", "/movie/")
    expect_status(response, 204)
    expect("GET" in response.header("Allow"), response.headers)


def test_email_columns_filter_like_text(server):
    """SPEC §3: email is a text column, so its filter is a case-insensitive contains (and the
    match modes apply), not a whole address to validate."""
    names = [row["name"] for row in server.get("/movie/?contact=EXAMPLE.com").json["rows"]]
    expect(names == ["Seven Samurai"], names)
    rows = server.get("/movie/?contact=a@&contact__match=starts").json["rows"]
    expect([row["name"] for row in rows] == ["Seven Samurai"], rows)
    expect(server.get("/movie/?contact=nobody").json["rows"] == [])


def test_table_responses_say_which_database_answered(server):
    """SPEC §7: X-Restable-Source on every table response (primary: no replicas configured);
    not on the routes that are no table's."""
    for path in ("/movie/", "/movie/1/", "/movie/count/", "/movie/999999/", "/movie/?nope=1"):
        response = server.get(path)
        expect(response.header("X-Restable-Source") == "primary", (path, response.headers))
    expect(server.get("/healthz").header("X-Restable-Source") is None)
