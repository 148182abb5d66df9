"""Auth over HTTP (SPEC §4): bearer tokens, policies per table and action, 401 vs 403,
WWW-Authenticate, and the claims reaching PostgreSQL for row-level security."""
import base64
import hashlib
import hmac
import json
import time

from harness import Server, expect, expect_error, expect_status, serve_as_non_owner

SECRET = "integration-test-secret-that-is-long-enough-0123456789"

CONFIG = {
    "auth": {
        "jwt": {"secret": SECRET, "algorithm": "HS256", "issuer": "restable"},
        "default": {"read": "public", "write": "authenticated", "delete": "authenticated"},
    },
    "tables": {
        "movie": {
            "columns": {"name": {"type": "varchar", "length": 100}},
            "auth": {"read": "public", "write": ["scope:movies:write"], "delete": ["role:admin"]},
        },
        "secret_doc": {
            "columns": {"title": {"type": "text"}},
            "auth": {"read": "authenticated"},
        },
        "note": {
            "columns": {"owner": {"type": "varchar", "length": 100},
                        "body": {"type": "text"}},
            "auth": {"read": "authenticated", "write": "authenticated",
                     "delete": "authenticated"},
        },
    },
}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(claims, secret=SECRET, alg="HS256", header_extra=None):
    header = {"alg": alg, "typ": "JWT"}
    header.update(header_extra or {})
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}.get(alg, hashlib.sha256)
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64(signature)


def claims(**extra):
    base = {"sub": "alice", "iss": "restable", "exp": int(time.time()) + 600}
    base.update(extra)
    return base


def bearer(token):
    return {"Authorization": "Bearer " + token}


def setup():
    server = Server(CONFIG)
    # The server connects as a role that is not the tables' owner, so RLS applies to it.
    serve_as_non_owner(server)
    server.sql("ALTER TABLE note ENABLE ROW LEVEL SECURITY; "
               "CREATE POLICY note_owner ON note USING "
               "(owner = current_setting('request.jwt.claims', true)::json->>'sub') "
               "WITH CHECK (owner = current_setting('request.jwt.claims', true)::json->>'sub')")
    server.sql("INSERT INTO note (owner, body) VALUES ('alice', 'a1'), ('alice', 'a2'), "
               "('bob', 'b1'); INSERT INTO movie (name) VALUES ('Heat')")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def test_public_read_needs_no_token(server):
    expect_status(server.get("/movie/"), 200)


def test_write_without_token_is_401_with_bearer_challenge(server):
    response = server.request("POST", "/movie/", body={"name": "x"})
    expect_error(response, 401)
    expect(response.header("WWW-Authenticate").startswith('Bearer error="invalid_token"'),
           response.headers)


def test_write_with_token_lacking_scope_is_403(server):
    response = server.request("POST", "/movie/", body={"name": "x"},
                              headers=bearer(make_token(claims())))
    expect_error(response, 403)


def test_write_with_scope_is_allowed(server):
    token = make_token(claims(scope="movies:read movies:write"))
    response = server.request("POST", "/movie/", body={"name": "Ran"}, headers=bearer(token))
    expect_status(response, 201)


def test_delete_needs_role(server):
    token = make_token(claims(scope="movies:write"))
    expect_error(server.request("DELETE", "/movie/1/", headers=bearer(token)), 403)
    token = make_token(claims(roles=["admin"]))
    new_id = server.request("POST", "/movie/", body={"name": "Gone"},
                            headers=bearer(make_token(claims(scope="movies:write")))).json[0]["id"]
    expect_status(server.request("DELETE", f"/movie/{new_id}/", headers=bearer(token)), 204)
    token = make_token(claims(role="admin"))
    expect_error(server.request("DELETE", "/movie/99999/", headers=bearer(token)), 404)


def test_invalid_tokens_are_401_even_on_public_routes(server):
    bad = [
        make_token(claims(exp=int(time.time()) - 3600)),
        make_token(claims(), secret="another-secret-that-is-long-enough-0123456789"),
        make_token(claims(), alg="HS384"),
        make_token({"sub": "alice", "iss": "restable"}),
        make_token(claims(iss="someone-else")),
        make_token(claims(), header_extra={"kid": "../../etc/passwd"}),
        b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(json.dumps(claims()).encode()) + ".",
        "not.a.token",
        "x" * 9000,
    ]
    for token in bad:
        response = server.get("/movie/", headers=bearer(token))
        expect_error(response, 401)
        challenge = response.header("WWW-Authenticate") or ""
        expect(challenge.startswith('Bearer error="invalid_token"'), challenge)


def test_other_schemes_are_401(server):
    response = server.get("/secret_doc/", headers={"Authorization": "Basic YTpi"})
    expect_error(response, 401)


def test_authenticated_read(server):
    expect_error(server.get("/secret_doc/"), 401)
    expect_status(server.get("/secret_doc/", headers=bearer(make_token(claims()))), 200)


def test_probes_stay_public(server):
    bad = bearer("garbage")
    expect_status(server.get("/healthz", headers=bad), 200)
    expect_status(server.get("/openapi.json", headers=bad), 200)


def test_token_cli_issues_a_token_the_server_accepts(server):
    result = server.cli(["token", "--sub", "carol", "--scope", "movies:write", "--ttl", "60"])
    expect(result.returncode == 0, result)
    token = result.stdout.strip()
    response = server.request("POST", "/movie/", body={"name": "From CLI"}, headers=bearer(token))
    expect_status(response, 201)


def test_row_level_security_sees_only_own_rows(server):
    alice = bearer(make_token(claims(sub="alice")))
    bob = bearer(make_token(claims(sub="bob")))
    rows = server.get("/note/?__order=id", headers=alice).json["rows"]
    expect([row["body"] for row in rows] == ["a1", "a2"], rows)
    rows = server.get("/note/", headers=bob).json["rows"]
    expect([row["body"] for row in rows] == ["b1"], rows)
    expect(server.get("/note/count/", headers=bob).json["count"] == 1)
    # bob cannot change or even see alice's row
    expect_error(server.request("PATCH", "/note/1/", body={"body": "hacked"}, headers=bob), 404)
    expect_error(server.request("DELETE", "/note/1/", headers=bob), 404)
    expect(server.sql("SELECT body FROM note WHERE id = 1") == "a1")
    # and cannot write rows as alice
    response = server.request("POST", "/note/", body={"owner": "alice", "body": "x"},
                              headers=bob)
    expect(response.status in (403, 422), response)
    response = server.request("POST", "/note/", body={"owner": "bob", "body": "b2"}, headers=bob)
    expect_status(response, 201)
