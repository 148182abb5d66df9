"""GET /admin/ (SPEC §8): the react-admin app built by scripts/admin-assets, served from local
files. Checked in real headless Chromium (tests/web/admin-page.mjs: sign in, list, filter,
sort, page, show, edit, create with a validation error, autocomplete, delete, bulk delete, bulk
edit, a create and an edit through an input of each column type, 412 and 409 notifications,
read-only table, a token without write grants, a refused token back to sign-in; screenshots in
test-artifacts/), plus what the server must do
with the files: gzip when asked (with Vary), immutable caching for hashed names and no-cache
for the page, nothing outside the folder, the whole app under 700 KB gzipped, admin.enabled,
a clear 404 when the app is not installed."""
import copy
import gzip
import http.client
import os
import re
import subprocess

from fixtures import MOVIES, SEED_SQL
from harness import Server, expect, expect_error, expect_status

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
WEB = os.path.join(ROOT, "tests", "web")
DIST = os.path.join(ROOT, "web", "admin", "dist")
ARTIFACTS = os.environ.get("RESTABLE_TEST_ARTIFACTS", os.path.join(ROOT, "test-artifacts"))
SECRET = "admin-test-secret-0123456789abcdef0123"
BUDGET_BYTES = 700 * 1024


def secured():
    conf = copy.deepcopy(MOVIES)
    # any valid token reads; editors write and delete; studio is read_only and read by
    # editors only
    conf["auth"] = {"jwt": {"secret": SECRET}, "login": {"enabled": True},
                    "default": {"read": "authenticated", "write": ["role:editor"],
                                "delete": ["role:editor"]}}
    conf["tables"]["studio"]["auth"] = {"read": ["role:editor"]}
    # rows can be picked on the director list, which offers bulk delete but no bulk edit
    conf["tables"]["director"]["allow_bulk_delete"] = True
    return conf


def setup():
    expect(os.path.isfile(os.path.join(DIST, "index.html")),
           "web/admin/dist has no index.html: run scripts/admin-assets (scripts/test does)")
    server = Server(secured())
    server.sql(SEED_SQL)
    # 35 movies: three pages of 15
    server.sql("INSERT INTO movie (name, rating) "
               "SELECT 'Extra ' || lpad(i::text, 2, '0'), 5 FROM generate_series(1, 30) i")
    server.cli_ok(["user", "create", "--username", "alice", "--role", "editor",
                   "--password-stdin"], input_text="editorpass1\n")
    return {"server": server.start()}


def teardown(context):
    context["server"].stop()


def raw_get(server, path, headers=None):
    """GET with the path sent byte for byte and the body kept as bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def script_of(server):
    page = server.get("/admin/").body
    match = re.search(r'src="\./(assets/[^"]+\.js)"', page)
    expect(match, f"the page loads its script from assets/: {page}")
    return match.group(1)


def test_admin_in_headless_chromium(context):
    server = context["server"]
    expect(os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core")),
           "tests/web has no node_modules: run scripts/npm-install tests/web (scripts/test does)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    reader = server.cli_ok(["token", "--sub", "bob"]).stdout.strip()
    result = subprocess.run(["node", os.path.join(WEB, "admin-page.mjs"),
                             f"http://127.0.0.1:{server.port}", ARTIFACTS, "alice", "editorpass1",
                             reader], capture_output=True, text=True, timeout=600)
    expect(result.returncode == 0, f"the browser test failed:\n{result.stdout}{result.stderr}")
    for line in ("no request left the server", "no console errors",
                 "the API shows the new rating (10)", "the 422 is shown under the contact field",
                 "the read-only studio table has no Create",
                 "the reader's movie page has no Edit or Delete",
                 "bulk delete removed the two picked rows",
                 "bulk edit set rating 4 on exactly the two picked rows",
                 "a bulk edit the server refuses (422) shows",
                 "a table without allow_bulk_update has bulk delete but no Bulk edit",
                 "the create form starts from /movie/new/'s defaults "
                 "(rating 0, released unchecked)",
                 "genre (choices) is a select offering (none), drama, comedy, sci-fi",
                 "api_key (secret) is a password input", "released (boolean) is a switch",
                 "release_date is a date input", "extra (jsonb) keeps the JSON text as typed",
                 "reads back through the API with genre, released, release_date, tags and "
                 "extra",
                 "its page never shows the secret api_key",
                 "on edit, api_key is an empty password input",
                 "the edit form shows extra, release_date, released and the tags as saved",
                 "director__operator=is_null", "name__match=starts",
                 "a stale edit is refused (412)",
                 "a duplicate director name (409) is shown",
                 "the studio table, which the reader may not read, is not in the menu",
                 "a 401 forgets the token and returns to the sign-in page"):
        expect(line in result.stdout, f"{line!r} missing from:\n{result.stdout}")
    expect(os.path.getsize(os.path.join(ARTIFACTS, "admin-02-list.png")) > 10000, "no screenshot")
    # the secret typed on create was stored, and the edit that left it empty kept it
    expect(server.sql("SELECT api_key FROM movie WHERE name = 'Dreams'") == "dreams-key-1",
           "the api_key typed in the create form is in the database, unchanged by the edit")


def test_page_is_html_pointing_at_its_folder(context):
    server = context["server"]
    for path in ("/admin/", "/admin", "/admin/index.html"):
        response = server.get(path)
        expect_status(response, 200)
        expect(response.header("Content-Type").startswith("text/html"), response.headers)
        expect('<base href="/admin/">' in response.body, response.body)
        expect(response.header("Cache-Control") == "no-cache", response.headers)
        policy = response.header("Content-Security-Policy")
        expect(policy and "default-src 'self'" in policy and "connect-src 'self'" in policy,
               response.headers)
    body = server.get("/admin/").body
    expect("http://" not in body and "https://" not in body, "nothing is loaded from elsewhere")


def test_assets_are_immutable_and_gzipped_when_asked(context):
    server = context["server"]
    script = script_of(server)
    with open(os.path.join(DIST, script), "rb") as handle:
        plain = handle.read()
    status, headers, body = raw_get(server, f"/admin/{script}", {"Accept-Encoding": "gzip, br"})
    expect(status == 200, status)
    expect(headers.get("content-encoding") == "gzip", headers)
    expect(headers.get("vary") == "Accept-Encoding", headers)
    expect(headers.get("cache-control") == "public, max-age=31536000, immutable", headers)
    expect(headers.get("content-type", "").startswith("text/javascript"), headers)
    expect(gzip.decompress(body) == plain, "the gzip copy is the same file")
    for refused in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, *"},
                    {"Accept-Encoding": "br, *;q=0"}):
        status, headers, body = raw_get(server, f"/admin/{script}", refused)
        expect(status == 200 and body == plain and "content-encoding" not in headers,
               f"{refused}: {headers}")
        expect(headers.get("vary") == "Accept-Encoding", headers)
    status, headers, body = raw_get(server, f"/admin/{script}", {"Accept-Encoding": "*"})
    expect(headers.get("content-encoding") == "gzip", headers)


def test_whole_app_is_under_700_kb_gzipped(context):
    server = context["server"]
    status, headers, page = raw_get(server, "/admin/", {"Accept-Encoding": "gzip"})
    total = len(gzip.compress(page))
    for name in re.findall(r'(?:src|href)="\./(assets/[^"]+)"', page.decode()):
        status, headers, body = raw_get(server, f"/admin/{name}", {"Accept-Encoding": "gzip"})
        expect(status == 200, name)
        total += len(body)
    print(f"admin UI: {total} bytes gzipped")
    expect(total <= BUDGET_BYTES, f"the admin UI is {total} bytes gzipped, over 700 KB")


def test_nothing_outside_the_folder(context):
    server = context["server"]
    for path in ("/admin/../restable.json", "/admin/%2e%2e/%2e%2e/etc/passwd",
                 "/admin/assets/..%2f..%2fpackage.json", "/admin/.restable-sources.sha256",
                 "/admin/%2e%2e", "/admin/assets/", "/admin/nope.js", "/admin/index.html.gz",
                 "/admin/assets/%2e/x.js", "/admin/a%5cb"):
        status, headers, body = raw_get(server, path)
        expect(status == 404, f"{path}: {status} {body[:200]}")
    for path in ("/admin/a%00", "/admin/assets/x%00.js", "/admin/%ff"):
        status, headers, body = raw_get(server, path)
        expect(status == 400, f"{path}: {status}")
    script = script_of(server)
    expect_error(server.get(f"/admin/{script}.gz"), 404)


def test_admin_is_public_and_read_only(context):
    server = context["server"]
    expect_error(server.get("/movie/"), 401)  # the API itself is guarded
    response = server.get("/admin/", headers={"Authorization": "Bearer not-a-token"})
    expect_status(response, 200)
    expect_error(server.request("POST", "/admin/", body={}), 405)
    expect_error(server.request("DELETE", f"/admin/{script_of(server)}"), 405)


def test_openapi_tells_the_admin_what_it_needs(context):
    document = context["server"].get("/openapi.json").json
    expect("/admin/" in document["paths"] and "/admin/{file}" in document["paths"],
           list(document["paths"]))
    movie = document["components"]["schemas"]["movie"]
    expect(movie["x-restable-primary-key"] == "id", movie)
    director = document["components"]["schemas"]["director"]
    expect(director["x-restable-readable"] == "name", director)
    bearer = document["components"]["securitySchemes"]["bearer"]
    expect(bearer["x-restable-scope-claim"] == "/scope", bearer)
    expect(bearer["x-restable-roles-claim"] == "/roles", bearer)


def test_disabled_admin_is_404_and_undocumented(context):
    conf = copy.deepcopy(MOVIES)
    conf["admin"] = {"enabled": False}
    server = Server(conf, migrate=False,
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        expect_error(server.get("/admin/"), 404)
        expect_error(server.get("/admin/index.html"), 404)
        expect("/admin/" not in server.get("/openapi.json").json["paths"], "no /admin/ route")
    finally:
        server.stop()


def test_base_path_and_no_database(context):
    # a server whose database does not exist at all still serves the app, under its base path
    conf = copy.deepcopy(MOVIES)
    conf["server"] = {"base_path": "/api/"}
    server = Server(conf, migrate=False,
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        response = server.get("/api/admin/")
        expect_status(response, 200)
        expect('<base href="/api/admin/">' in response.body, response.body)
        expect_error(server.get("/admin/"), 404)
    finally:
        server.stop()


def test_missing_app_is_a_clear_json_error(context):
    server = Server(MOVIES, migrate=False, env={"RESTABLE_ADMIN_DIR": "/nonexistent-admin"},
                    database_url="postgresql://nobody@127.0.0.1:1/none").start(wait_ready=False)
    try:
        body = expect_error(server.get("/admin/"), 404, contains="not installed")
        expect("/nonexistent" not in body["error"]["message"], "no server paths in answers")
        expect_error(server.get("/admin/assets/x.js"), 404)
        expect("holds no admin UI" in server.read_log(), "the operator is told at start")
    finally:
        server.stop()
