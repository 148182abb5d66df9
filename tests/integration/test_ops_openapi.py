"""GET /openapi.json: valid OpenAPI 3.1 by a standard validator (swagger-parser, run with node
from tests/web), and complete: every route, typed filters with their operators, the reserved
parameters, request and response schemas, error responses, and each route's policy as bearer
security."""
import copy
import os
import re
import subprocess

from fixtures import MOVIES
from harness import Server, expect, expect_status

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web")
SECRET = "openapi-test-secret-0123456789abcdef"


def config():
    conf = copy.deepcopy(MOVIES)
    conf["auth"] = {"jwt": {"secret": SECRET},
                    "default": {"read": "public", "write": "authenticated",
                                "delete": "authenticated"}}
    conf["tables"]["movie"]["auth"] = {"write": ["scope:movies:write", "role:editor"],
                                       "delete": ["role:admin"]}
    return conf


def setup():
    server = Server(config()).start()
    return {"server": server, "doc": server.get("/openapi.json").json}


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
    for table in ("director", "movie", "studio"):
        for suffix in ("", "count/", "schema/", "ids/", "new/", "references/", "{pk}/"):
            expect(f"/{table}/{suffix}" in paths, f"/{table}/{suffix} missing")
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        expect(path in paths, f"{path} missing")
    expect(set(paths["/movie/"]) == {"get", "post", "delete", "patch"}, paths["/movie/"].keys())
    expect(set(paths["/studio/"]) == {"get"}, "read_only studio must only list")
    expect(set(paths["/studio/{pk}/"]) - {"parameters"} == {"get"}, paths["/studio/{pk}/"])


def parameters(doc, path, method):
    return {p["name"]: p for p in doc["paths"][path][method]["parameters"]}


def test_filters_are_typed_per_column_with_operators(context):
    params = parameters(context["doc"], "/movie/", "get")
    expect(params["rating"]["schema"]["items"]["type"] == "integer", params["rating"])
    expect(params["released"]["schema"]["items"]["type"] == "boolean", params["released"])
    expect(params["created"]["schema"]["items"].get("format") == "date-time", params["created"])
    expect(params["tags"]["schema"]["items"]["type"] == "string", params["tags"])
    expect(params["genre"]["schema"]["items"]["enum"] == ["drama", "comedy", "sci-fi"],
           params["genre"])
    expect(set(params["rating__operator"]["schema"]["enum"]) ==
           {"lt", "lte", "gt", "gte", "e", "ne", "is_null", "not_null"}, params["rating__operator"])
    expect(set(params["name__match"]["schema"]["enum"]) == {"contains", "exact", "starts", "ends"})
    expect("rating__match" not in params, "only text columns have __match")
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


def test_error_responses_use_the_error_shape(context):
    doc = context["doc"]
    responses = doc["paths"]["/movie/"]["post"]["responses"]
    for code in ("400", "401", "409", "413", "415", "422", "503"):
        expect(code in responses, f"POST /movie/ lacks {code}")
        schema = resolve(doc, responses[code])["content"]["application/json"]["schema"]
        expect(resolve(doc, schema)["required"] == ["error"], schema)
    expect("404" in doc["paths"]["/movie/{pk}/"]["get"]["responses"])
    unavailable = resolve(doc, responses["503"])
    expect("Retry-After" in unavailable["headers"], unavailable)


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
