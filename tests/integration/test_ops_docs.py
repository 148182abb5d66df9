"""GET /docs: Swagger UI rendering /openapi.json, from local files only. Checked in real
headless Chromium (tests/web/docs-page.mjs: the page loads offline, lists the movie routes,
"Try it out" on GET /movie/ returns rows; screenshots in test-artifacts/), plus what the page
must never do: need a token, touch the database, serve a file it was not built to serve."""
import copy
import os
import subprocess

from fixtures import MOVIES, SEED_SQL
from harness import Server, expect, expect_error, expect_status

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
WEB = os.path.join(ROOT, "tests", "web")
ARTIFACTS = os.environ.get("RESTABLE_TEST_ARTIFACTS", os.path.join(ROOT, "test-artifacts"))
SECRET = "docs-test-secret-0123456789abcdef0123"


def secured():
    conf = copy.deepcopy(MOVIES)
    # reads of movie are public (so "Try it out" needs no token); the rest is not
    conf["auth"] = {"jwt": {"secret": SECRET},
                    "default": {"read": "authenticated", "write": "authenticated",
                                "delete": "authenticated"}}
    conf["tables"]["movie"]["auth"] = {"read": "public"}
    return conf


def setup():
    server = Server(secured())
    server.sql(SEED_SQL)
    return {"server": server.start()}


def teardown(context):
    context["server"].stop()


def test_docs_page_in_headless_chromium(context):
    server = context["server"]
    expect(os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core")),
           "tests/web has no node_modules: run scripts/npm-install tests/web (scripts/test does)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    result = subprocess.run(["node", os.path.join(WEB, "docs-page.mjs"),
                             f"http://127.0.0.1:{server.port}", ARTIFACTS],
                            capture_output=True, text=True, timeout=180)
    expect(result.returncode == 0, f"the browser test failed:\n{result.stdout}{result.stderr}")
    expect("ok: it returned 5 rows" in result.stdout, result.stdout)
    expect(os.path.getsize(os.path.join(ARTIFACTS, "docs-page.png")) > 10000, "no screenshot")


def test_docs_page_is_html_that_loads_local_assets_only(context):
    response = context["server"].get("/docs")
    expect_status(response, 200)
    expect(response.header("Content-Type").startswith("text/html"), response.headers)
    expect('src="/docs/swagger-ui-bundle.js"' in response.body, response.body)
    expect('url: "/openapi.json"' in response.body, response.body)
    expect("http://" not in response.body and "https://" not in response.body,
           "the page must not load anything from elsewhere")
    expect_status(context["server"].get("/docs/"), 200)
    policy = response.header("Content-Security-Policy")
    expect(policy and "default-src 'self'" in policy, response.headers)


def test_docs_assets_are_served_with_their_types(context):
    server = context["server"]
    script = server.get("/docs/swagger-ui-bundle.js")
    expect_status(script, 200)
    expect(script.header("Content-Type").startswith("text/javascript"), script.headers)
    expect(len(script.body) > 100000, "the bundle is the real one")
    css = server.get("/docs/swagger-ui.css")
    expect_status(css, 200)
    expect(css.header("Content-Type").startswith("text/css"), css.headers)


def test_docs_serves_only_its_own_files(context):
    server = context["server"]
    for path in ("/docs/package.json", "/docs/..%2f..%2fetc%2fpasswd", "/docs/index.html",
                 "/docs/swagger-ui-bundle.js.map"):
        expect_error(server.get(path), 404)
    expect_error(server.get("/docs/a/b"), 404)


def test_docs_is_public_even_when_reads_need_a_token(context):
    server = context["server"]
    expect_error(server.get("/director/"), 401)  # the API itself is guarded
    expect_status(server.get("/docs"), 200)
    expect_status(server.get("/docs/swagger-ui.css"), 200)
    expect_error(server.request("POST", "/docs", body={}), 405)


def test_docs_never_touches_the_database(context):
    # a server whose database does not exist at all still serves the page
    server = Server(MOVIES, migrate=False,
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        expect_error(server.get("/readyz"), 503)
        expect_status(server.get("/docs"), 200)
        expect_status(server.get("/docs/swagger-ui-bundle.js"), 200)
        expect_status(server.get("/openapi.json"), 200)
    finally:
        server.stop()


def test_docs_without_assets_is_a_clear_json_error(context):
    server = Server(MOVIES, env={"RESTABLE_DOCS_DIR": "/nonexistent-docs"}).start()
    try:
        body = expect_error(server.get("/docs"), 404, contains="not installed")
        expect("/nonexistent" not in body["error"]["message"], "no server paths in answers")
        expect_error(server.get("/docs/swagger-ui.css"), 404)
        expect_status(server.get("/openapi.json"), 200)
        expect("holds no Swagger UI" in server.read_log(), "the operator is told at start")
    finally:
        server.stop()
