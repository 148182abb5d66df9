"""GET /openapi.json as a contract. The document is valid OpenAPI 3.1 by a standard
validator (swagger-parser) and complete (every route, typed filters with their operators, the
reserved parameters, request and response schemas, errors, each route's policy as bearer
security). Then the conformance test (tests/web/conformance.mjs) drives every operation of the
live document with a third-party client (swagger-client), valid requests and each documented
error it can provoke, and validates every answer (status, headers, body) with a JSON Schema
2020-12 validator (ajv), against a config with every column type, a secret column, a
read-only table, foreign keys with readable, bulk flags and auth policies; once more with
PostgreSQL stopped (503). And the typed client proof: openapi-typescript types from the live
document and openapi-fetch, compiled by tsc --strict, list/create/patch/delete."""
import copy
import json
import os
import re
import shutil
import subprocess

from fixtures import MOVIES, SAMPLE_TABLE
from harness import Server, expect, expect_status, pg_start, pg_stop

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web")
SECRET = "openapi-test-secret-0123456789abcdef"
LOGIN = {"username": "conformance", "password": "conformance-password-1"}
# a batch the document cannot make up: a row created, then patched through a reference to it
BATCH = {"operations": [{"method": "POST", "table": "sample", "body": {"notes": "batch"}},
                        {"method": "PATCH", "table": "sample", "id": "$0.id",
                         "body": {"notes": "$0.notes", "big": 2}},
                        {"method": "DELETE", "table": "sample", "id": "$0.id"}]}


def config():
    """MOVIES (director with readable, movie with a secret, a foreign key, bulk flags and most
    column types, read-only studio) plus the remaining types, a nested foreign key, a
    non-serial primary key, login and per-table policies."""
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"max_body_bytes": 65536}
    # /docs and its files answer 200 when the Swagger UI files are here (scripts/docs-assets)
    docs = os.path.join(WEB, "..", "..", "web", "node_modules", "swagger-ui-dist")
    if os.path.isfile(os.path.join(docs, "swagger-ui-bundle.js")):
        conf["server"]["docs_dir"] = os.path.abspath(docs)
    conf["auth"] = {"jwt": {"secret": SECRET},
                    "login": {"enabled": True, "ttl_s": 600, "password_iterations": 1000,
                              "rate_per_minute": 10000},
                    "default": {"read": "public", "write": "authenticated",
                                "delete": "authenticated"}}
    conf["tables"]["movie"]["auth"] = {"write": ["scope:movies:write", "role:editor"],
                                       "delete": ["role:admin"]}
    conf["tables"]["sample"] = dict(copy.deepcopy(SAMPLE_TABLE), auth={"read": "authenticated"})
    conf["tables"]["kind"] = {"search_language": "english", "columns": {
        "code": {"type": "varchar", "length": 20, "primary_key": True},
        "label": {"type": "text", "search": True},
    }}
    return conf


def setup():
    server = Server(config())
    server.sql("INSERT INTO studio (name) VALUES ('Toho')")
    result = server.cli(["user", "create", "--username", LOGIN["username"], "--role", "admin",
                         "--password-stdin"], input_text=LOGIN["password"] + "\n")
    expect(result.returncode == 0, result)
    server.start()
    token = server.cli_ok(["token", "--sub", "conformance", "--scope", "movies:write",
                           "--role", "admin"]).stdout.strip()
    weak = server.cli_ok(["token", "--sub", "weak"]).stdout.strip()
    return {"server": server, "doc": server.get("/openapi.json").json, "token": token,
            "weak": weak}


def teardown(context):
    context["server"].stop()


def validate_with_node(url):
    expect(os.path.isdir(os.path.join(WEB, "node_modules", "@apidevtools")),
           "tests/web has no node_modules: run scripts/npm-install tests/web (scripts/test does)")
    return subprocess.run(["node", os.path.join(WEB, "validate-openapi.mjs"), url],
                          capture_output=True, text=True, timeout=120)


def test_openapi_validates_with_swagger_parser(context):
    server = context["server"]
    result = validate_with_node(f"http://127.0.0.1:{server.port}/openapi.json")
    expect(result.returncode == 0, f"validator said: {result.stdout}{result.stderr}")
    expect("valid: OpenAPI 3.1.0" in result.stdout, result.stdout)


def test_validator_refuses_a_broken_document(context):
    # the check above can fail: a document without "info" is refused by the same script
    import http.server
    import json
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"openapi": "3.1.0", "paths": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        result = validate_with_node(f"http://127.0.0.1:{httpd.server_port}/openapi.json")
    finally:
        httpd.shutdown()
    expect(result.returncode == 1, f"a broken document passed: {result.stdout}")
    expect("info" in result.stderr, result.stderr)


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        node = doc
        for part in parts:
            node = node[part]
    return node


def all_refs(node, found):
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(node["$ref"])
        for value in node.values():
            all_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            all_refs(value, found)
    return found


def operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, operation


def test_every_ref_resolves_and_operation_ids_are_unique(context):
    doc = context["doc"]
    for ref in all_refs(doc, []):
        resolve(doc, {"$ref": ref})  # raises KeyError when dangling
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    expect(len(ids) == len(set(ids)), f"duplicate operationIds: {ids}")


def test_path_templates_declare_their_parameters(context):
    doc = context["doc"]
    for path, item in doc["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            declared = [p for p in item.get("parameters", []) if p["in"] == "path"]
            expect(any(p["name"] == name and p["required"] for p in declared),
                   f"{path} does not declare {name}")


def test_every_route_is_described(context):
    paths = context["doc"]["paths"]
    for table in ("director", "movie", "studio", "sample", "kind"):
        for suffix in ("", "count/", "schema/", "ids/", "new/", "references/", "{pk}/"):
            expect(f"/{table}/{suffix}" in paths, f"/{table}/{suffix} missing")
            expect("head" in paths[f"/{table}/{suffix}"], f"/{table}/{suffix} has no HEAD")
    for path in ("/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/{file}",
                 "/auth/login", "/batch/"):
        expect(path in paths, f"{path} missing")
    expect(set(paths["/movie/"]) == {"get", "head", "post", "delete", "patch"},
           paths["/movie/"].keys())
    expect(set(paths["/studio/"]) == {"get", "head"}, "read_only studio must only list")
    expect(set(paths["/studio/{pk}/"]) - {"parameters"} == {"get", "head"},
           paths["/studio/{pk}/"])
    expect(context["doc"]["x-restable-trailing-slash"] == "optional")


def parameters(doc, path, method):
    return {resolve(doc, p)["name"]: resolve(doc, p)
            for p in doc["paths"][path][method]["parameters"]}


def filter_items(parameter):
    """The value schema of a filter: anyOf [the column's value, the word null]."""
    values, null = parameter["schema"]["items"]["anyOf"]
    expect(null == {"const": "null", "description": "the column IS NULL"}, parameter)
    return values


def test_filters_are_typed_per_column_with_operators(context):
    params = parameters(context["doc"], "/movie/", "get")
    expect(filter_items(params["rating"])["type"] == "integer", params["rating"])
    expect(filter_items(params["released"])["type"] == "boolean", params["released"])
    expect(filter_items(params["created"]).get("format") == "date-time", params["created"])
    expect(filter_items(params["tags"])["type"] == "string", params["tags"])
    expect(filter_items(params["genre"])["enum"] == ["drama", "comedy", "sci-fi"],
           params["genre"])
    for name in ("rating", "__order", "__visible_fields"):
        expect(params[name]["schema"]["type"] == "array" and params[name]["explode"] is True,
               f"{name} may be repeated: {params[name]}")
    expect(set(params["rating__operator"]["schema"]["enum"]) ==
           {"lt", "lte", "gt", "gte", "e", "ne", "is_null", "not_null"}, params["rating__operator"])
    expect(set(params["name__match"]["schema"]["enum"]) == {"contains", "exact", "starts", "ends"})
    expect("rating__match" not in params, "only text columns have __match")
    searched = parameters(context["doc"], "/kind/", "get")["label__match"]
    expect(searched["schema"]["enum"] == ["contains", "exact", "starts", "ends", "search"] and
           "search: full-text search in english" in searched["description"], searched)
    expect("api_key" not in params, "a secret column must not be offered as a filter")


def test_reserved_parameters_are_described(context):
    params = parameters(context["doc"], "/movie/", "get")
    for name in ("__order", "__page", "__page_size", "__visible_fields", "__readable", "__ids",
                 "__range_header"):
        expect(name in params, f"{name} missing")
    expect(params["__page"]["schema"]["minimum"] == 1)
    expect(params["__page_size"]["schema"]["maximum"] == 100, "max_page_size of movie is 100")
    count = parameters(context["doc"], "/movie/count/", "get")
    expect("rating" in count and "__ids" in count)


def test_request_and_response_schemas(context):
    doc = context["doc"]
    row = resolve(doc, doc["components"]["schemas"]["movie"])
    expect("rating" in row["properties"] and "api_key" not in row["properties"], row)
    expect(row["properties"]["rating"]["type"] == "integer")
    create_input = doc["components"]["schemas"]["movieInput"]
    expect("name" in create_input["required"], create_input)
    expect("rating" not in create_input["required"], "a column with a default is optional")
    expect("api_key" in create_input["properties"], "secret columns can be written")
    post = doc["paths"]["/movie/"]["post"]
    expect(post["requestBody"]["required"] is True)
    for method in ("put", "patch"):
        operation = doc["paths"]["/movie/{pk}/"][method]
        expect("requestBody" in operation, f"{method} has no request body")
    listed = resolve(doc, doc["paths"]["/movie/"]["get"]["responses"]["200"])
    rows = listed["content"]["application/json"]["schema"]["properties"]["rows"]
    expect(rows["items"]["$ref"] == "#/components/schemas/movie", rows)
    # a foreign key is a key or, with __visible_fields=director.name, an object; __readable
    # adds director_readable; nothing else may appear
    director = row["properties"]["director"]
    expect(director["anyOf"][1] == {"$ref": "#/components/schemas/directorJoined"}, director)
    expect("director_readable" in row["properties"], row)
    expect(row["additionalProperties"] is False, row)
    # /T/new/ answers null where a column has no default
    new = doc["components"]["schemas"]["movieNew"]
    expect("null" in new["properties"]["name"]["type"] and "name" in new["required"], new)


def test_error_responses_use_the_error_shape(context):
    doc = context["doc"]
    responses = doc["paths"]["/movie/"]["post"]["responses"]
    for code in ("400", "401", "409", "413", "414", "415", "422", "431", "501", "503", "504"):
        expect(code in responses, f"POST /movie/ lacks {code}")
        schema = resolve(doc, responses[code])["content"]["application/json"]["schema"]
        expect(resolve(doc, schema)["required"] == ["error"], schema)
    expect("404" in doc["paths"]["/movie/{pk}/"]["get"]["responses"])
    unavailable = resolve(doc, responses["503"])
    expect("Retry-After" in unavailable["headers"], unavailable)
    for code in ("403", "504"):
        for path in ("/movie/count/", "/movie/ids/"):
            expect(code in doc["paths"][path]["get"]["responses"], f"{path} lacks {code}")
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    expect("row" in error["properties"]["errors"]["items"]["properties"], error)
    allowed = doc["components"]["responses"]["MethodNotAllowed"]
    expect("Allow" in allowed["headers"], allowed)
    for code, response in doc["paths"]["/movie/"]["get"]["responses"].items():
        expect("X-Request-Id" in resolve(doc, response)["headers"], f"{code} lacks X-Request-Id")
    expect("Content-Range" in doc["paths"]["/movie/"]["get"]["responses"]["200"]["headers"])


def test_security_follows_each_route_policy(context):
    doc = context["doc"]
    scheme = doc["components"]["securitySchemes"]["bearer"]
    expect(scheme["type"] == "http" and scheme["scheme"] == "bearer", scheme)
    paths = doc["paths"]
    expect({} in paths["/movie/"]["get"]["security"], "public read: no token needed")
    expect(paths["/director/"]["post"]["security"] == [{"bearer": []}], "authenticated write")
    expect(paths["/movie/"]["post"]["security"] ==
           [{"bearer": ["scope:movies:write"]}, {"bearer": ["role:editor"]}],
           paths["/movie/"]["post"]["security"])
    expect(paths["/movie/{pk}/"]["delete"]["security"] == [{"bearer": ["role:admin"]}])
    expect(paths["/movie/{pk}/"]["delete"]["x-restable-policy"] == ["role:admin"])
    expect("403" in paths["/movie/{pk}/"]["delete"]["responses"])
    expect(paths["/healthz"]["get"]["security"] == [], "probes are public")
    expect(paths["/sample/"]["get"]["security"] == [{"bearer": []}], "authenticated read")


def test_openapi_without_a_jwt_key_declares_no_security(context):
    server = Server(MOVIES).start()
    try:
        response = server.get("/openapi.json")
        expect_status(response, 200)
        doc = response.json
        expect("securitySchemes" not in doc["components"], doc["components"].keys())
        expect(doc["paths"]["/movie/"]["post"]["security"] == [])
        result = validate_with_node(f"http://127.0.0.1:{server.port}/openapi.json")
        expect(result.returncode == 0, result.stdout + result.stderr)
    finally:
        server.stop()


def run_node(args, timeout=300):
    expect(os.path.isdir(os.path.join(WEB, "node_modules", "swagger-client")),
           "tests/web has no node_modules: run scripts/npm-install tests/web (scripts/test does)")
    return subprocess.run(["node"] + args, capture_output=True, text=True, timeout=timeout,
                          cwd=WEB)


def conformance(context, *extra):
    server = context["server"]
    return run_node([os.path.join(WEB, "conformance.mjs"), f"http://127.0.0.1:{server.port}/",
                     "--token", context["token"], "--weak-token", context["weak"],
                     "--body", "login=" + json.dumps(LOGIN),
                     "--body", "batch=" + json.dumps(BATCH)] + list(extra))


def output_json(result, label):
    for line in result.stdout.splitlines():
        if line.startswith(label + ": "):
            return json.loads(line[len(label) + 2:])
    raise AssertionError(f"no {label} line in:\n{result.stdout}{result.stderr}")


def test_every_operation_conforms_to_the_document(context):
    result = conformance(context)
    expect(result.returncode == 0,
           f"non-conforming answers:\n{result.stdout[-20000:]}{result.stderr[-4000:]}")
    statuses = output_json(result, "statuses")
    answered = output_json(result, "answered")
    # every documented error the test can provoke was provoked and conformed
    for status in ("200", "201", "204", "400", "401", "403", "404", "405", "409", "413", "414",
                   "415", "422", "431", "501", "505"):
        expect(status in statuses, f"no {status} was seen: {statuses}")
    for table in ("director", "movie", "sample", "kind", "studio"):
        for operation in (f"count_{table}", f"ids_{table}", f"list_{table}"):
            expect(403 in answered[operation], f"{operation}: the limit's 403 was not provoked")
        expect(404 in answered[f"get_{table}"], f"get_{table} never answered 404")
    expect(422 in answered["create_movie"] and 409 in answered["create_movie"], answered)
    expect(200 in answered["batch"] and 422 in answered["batch"], answered["batch"])
    doc = context["doc"]
    driven = {operation["operationId"] for item in doc["paths"].values()
              for method, operation in item.items() if method != "parameters"}
    expect(driven <= set(answered), f"not driven: {driven - set(answered)}")


def test_every_operation_conforms_with_postgresql_stopped(context):
    pg_stop()
    try:
        result = conformance(context, "--unavailable")
    finally:
        pg_start()
    expect(result.returncode == 0,
           f"non-conforming answers:\n{result.stdout[-20000:]}{result.stderr[-4000:]}")
    answered = output_json(result, "answered")
    for operation in ("list_movie", "create_movie", "get_movie", "count_director", "readyz",
                      "login"):
        expect(503 in answered[operation], f"{operation}: {answered[operation]}")
    # and the server recovers by itself
    server = context["server"]
    for _ in range(100):
        if server.get("/readyz").status == 200:
            break
        __import__("time").sleep(0.1)
    expect_status(server.get("/movie/"), 200)


def test_typed_client_from_the_live_document(context):
    """openapi-typescript types from /openapi.json + openapi-fetch, under tsc --strict."""
    server = context["server"]
    # under node_modules/ (ignored by git), so the program resolves openapi-fetch from there
    out = os.path.join(WEB, "node_modules", ".restable-typed")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    bin_dir = os.path.join(WEB, "node_modules", ".bin")
    generated = subprocess.run([os.path.join(bin_dir, "openapi-typescript"),
                                f"http://127.0.0.1:{server.port}/openapi.json", "-o",
                                os.path.join(out, "api.d.ts")],
                               capture_output=True, text=True, timeout=120)
    expect(generated.returncode == 0, generated.stdout + generated.stderr)
    shutil.copy(os.path.join(WEB, "typed-client.ts"), out)
    with open(os.path.join(out, "package.json"), "w") as handle:
        json.dump({"type": "module", "private": True}, handle)
    with open(os.path.join(out, "tsconfig.json"), "w") as handle:
        json.dump({"compilerOptions": {"strict": True, "target": "es2022", "module": "nodenext",
                                       "moduleResolution": "nodenext", "skipLibCheck": True,
                                       "noEmitOnError": True, "outDir": "."},
                   "files": ["typed-client.ts"]}, handle)
    compiled = subprocess.run([os.path.join(bin_dir, "tsc"), "-p", out, "--strict"],
                              capture_output=True, text=True, timeout=180)
    expect(compiled.returncode == 0, f"tsc --strict failed:\n{compiled.stdout}{compiled.stderr}")
    ran = run_node([os.path.join(out, "typed-client.js"), f"http://127.0.0.1:{server.port}/",
                    context["token"]], timeout=60)
    expect(ran.returncode == 0, f"the typed client failed:\n{ran.stdout}{ran.stderr}")
    expect("ok: then it is a 404" in ran.stdout, ran.stdout)
