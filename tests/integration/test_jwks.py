"""Key sets and identity providers over HTTP (SPEC §6): a JSON Web Key Set served by a small
http.server on 127.0.0.1 inside this test, keys made with the openssl CLI, tokens signed with
the openssl CLI (RS256, ES256) or the built `restable token --key` (PS256, EdDSA). Rotation
through the on-demand refresh, the identity provider down, garbage, oversized and slow, the
Cache-Control bounds seen in /metrics, jwks_file with SIGHUP, auth.jwt.keys, and the claim
layouts of Keycloak, Auth0, Okta/Azure (scp arrays) and aud arrays. Nothing is mocked."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import re
import signal
import subprocess
import tempfile
import threading
import time

from harness import Server, expect, expect_status

TABLES = {
    "movie": {
        "columns": {"name": {"type": "varchar", "length": 100}},
        "auth": {"read": "authenticated", "write": ["scope:movies:write"],
                 "delete": ["role:admin"]},
    },
}
HS_SECRET = "jwks-integration-secret-that-is-long-enough-0123456789"


# ---- keys and tokens made with the openssl CLI ----------------------------------------------

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, input_bytes=None):
    result = subprocess.run(["openssl", *args], input=input_bytes, capture_output=True)
    if result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {result.stderr.decode()}")
    return result.stdout


class Key:
    """A private key file, its public PEM, and its JWK."""

    def __init__(self, folder, kid, kind):
        self.kid = kid
        self.private = os.path.join(folder, kid + ".key")
        self.public = os.path.join(folder, kid + ".pub")
        options = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                   "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                   "ed25519": ["-algorithm", "ED25519"]}[kind]
        openssl("genpkey", *options, "-out", self.private)
        openssl("pkey", "-in", self.private, "-pubout", "-out", self.public)
        der = openssl("pkey", "-in", self.private, "-pubout", "-outform", "DER")
        if kind == "rsa":
            modulus = openssl("rsa", "-in", self.private, "-modulus", "-noout").decode()
            n = bytes.fromhex(modulus.strip().split("=", 1)[1])
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "n": b64(n), "e": "AQAB"}
        elif kind == "p256":
            point = der[-65:]  # SubjectPublicKeyInfo ends with the point 04||x||y
            self.jwk = {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(point[1:33]),
                        "y": b64(point[33:])}
        else:
            self.jwk = {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(der[-32:])}


def der_to_jose(der, size=32):
    """An ECDSA DER signature as JOSE r||s."""
    def read_integer(data, at):
        expect(data[at] == 0x02, "DER INTEGER")
        length = data[at + 1]
        value = data[at + 2:at + 2 + length].lstrip(b"\0")
        return value.rjust(size, b"\0"), at + 2 + length
    start = 2 if der[1] < 0x80 else 3
    r, after = read_integer(der, start)
    s, _ = read_integer(der, after)
    return r + s


def sign(key, claims, alg="RS256", kid=None, header_extra=None):
    """A token signed by the openssl CLI (RS256 or ES256)."""
    header = {"alg": alg, "typ": "JWT"}
    if kid is not False:
        header["kid"] = kid or key.kid
    header.update(header_extra or {})
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = openssl("dgst", "-sha256", "-sign", key.private,
                        input_bytes=signing_input.encode())
    if alg == "ES256":
        signature = der_to_jose(signature)
    return signing_input + "." + b64(signature)


def sign_hs(claims, kid, secret=HS_SECRET):
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret.encode(), signing_input.encode(),
                                               hashlib.sha256).digest())


def claims(**extra):
    base = {"sub": "alice", "exp": int(time.time()) + 600}
    base.update(extra)
    return base


def bearer(token):
    return {"Authorization": "Bearer " + token}


def reason(response):
    match = re.search(r'error_description="([^"]*)"', response.header("WWW-Authenticate") or "")
    return match.group(1) if match else None


def expect_accepted(server, token, path="/movie/"):
    response = server.get(path, headers=bearer(token))
    expect(response.status == 200, f"token refused: {response.status} {reason(response)}")


def expect_refused(server, token, why):
    response = server.get("/movie/", headers=bearer(token))
    expect(response.status == 401 and reason(response) == why,
           f"expected 401 {why!r}, got {response.status} {reason(response)!r}")


def metric(server, name):
    text = server.get("/metrics").body
    match = re.search(rf"^{name} (\d+)$", text, re.M)
    expect(match, f"{name} not in /metrics")
    return int(match.group(1))


# ---- the identity provider ------------------------------------------------------------------

class Provider:
    """A JWKS endpoint on 127.0.0.1 whose answer each test sets: the keys, Cache-Control, and
    a mode (ok, down, garbage, huge, slow). Counts the fetches."""

    def __init__(self, tls=None):
        """tls: (certificate file, private key file) to serve https instead of http."""
        self.keys = []
        self.cache_control = "max-age=3600"
        self.mode = "ok"
        self.fetches = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                provider.fetches += 1
                if provider.mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                if provider.mode == "slow":
                    time.sleep(7)
                body = {"ok": json.dumps({"keys": [k.jwk for k in provider.keys]}).encode(),
                        "garbage": b"<html>not a key set</html>",
                        "slow": b"{}",
                        "huge": b" " * (2 * 1024 * 1024)}[provider.mode]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", provider.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the server hung up on an oversized answer, as it should

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.http.socket = context.wrap_socket(self.http.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.http.server_address[1]}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def reset(self, keys):
        self.keys, self.mode, self.cache_control, self.fetches = list(keys), "ok", "max-age=3600", 0


class Context:
    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="restable-jwks-")
        self.rsa1 = Key(self.folder, "rsa-1", "rsa")
        self.rsa2 = Key(self.folder, "rsa-2", "rsa")
        self.ec1 = Key(self.folder, "ec-1", "p256")
        self.ed1 = Key(self.folder, "ed-1", "ed25519")
        self.provider = Provider()
        self.servers = []

    def serve(self, jwt, tables=TABLES, start=True, migrate=True):
        config = {"auth": {"jwt": jwt, "default": {"read": "authenticated"}}, "tables": tables,
                  "server": {"metrics": {"public": True}}}
        server = Server(config, migrate=migrate)
        self.servers.append(server)
        return server.start() if start else server

    def stop_all(self):
        for server in self.servers:
            server.stop()
        self.servers = []


def setup():
    return Context()


def teardown(context):
    context.stop_all()
    context.provider.http.shutdown()


def fresh(context, keys):
    context.stop_all()
    context.provider.reset(keys)


# ---- jwks_url ---------------------------------------------------------------------------------

def test_jwks_url_token_with_kid_is_accepted_and_the_refusals_hold(context):
    fresh(context, [context.rsa1, context.ec1])
    server = context.serve({"jwks_url": context.provider.url})
    expect_accepted(server, sign(context.rsa1, claims()))
    expect_accepted(server, sign(context.ec1, claims(), alg="ES256"))
    expect_accepted(server, sign(context.rsa1, claims()))  # from the cache
    # the kid picks the key and the key's type fixes the algorithm
    expect_refused(server, sign(context.ec1, claims(), kid="rsa-1", alg="ES256"),
                   "algorithm not allowed")
    expect_refused(server, sign(context.rsa2, claims(), kid="rsa-1"), "signature mismatch")
    expect_refused(server, sign(context.rsa1, claims(), header_extra={"jku": "http://x/"}),
                   "jku header not allowed")
    expect_refused(server, sign(context.rsa1, claims(), header_extra={"x5c": ["MII"]}),
                   "x5c header not allowed")
    # no kid: two keys could be meant only if they share a type; here one RSA key fits RS256
    expect_accepted(server, sign(context.rsa1, claims(), kid=False))
    # a URL never supplies HMAC keys, so an HS token has no key at all
    expect_refused(server, sign_hs(claims(), "rsa-1"), "algorithm not allowed")
    expect(metric(server, "restable_auth_keys") == 2)
    expect(metric(server, "restable_jwks_fetches_total") >= 1)


def test_rotation_new_kid_accepted_and_removed_kid_refused_after_refresh(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url})
    old = sign(context.rsa1, claims())
    expect_accepted(server, old)
    # the provider rotates: rsa-2 in, rsa-1 out; the first token naming rsa-2 fetches the set
    context.provider.keys = [context.rsa2]
    before = context.provider.fetches
    expect_accepted(server, sign(context.rsa2, claims()))
    expect(context.provider.fetches == before + 1, "one on-demand refresh")
    expect_refused(server, old, "unknown kid")  # cached before, refused now
    expect("auth keys changed (jwks_url)" in server.read_log(), "the log says keys changed")
    # at most one on-demand refresh per 30 s: another unknown kid does not fetch again
    expect_refused(server, sign(context.rsa1, claims(), kid="rsa-9"), "unknown kid")
    expect(context.provider.fetches == before + 1, "no second refresh within 30 s")


def test_provider_down_keeps_the_last_good_set(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url})
    context.provider.mode = "down"
    expect_refused(server, sign(context.rsa2, claims()), "unknown kid")  # triggers a refresh
    expect_accepted(server, sign(context.rsa1, claims()))
    expect(metric(server, "restable_jwks_failures_total") == 1)
    expect(metric(server, "restable_auth_keys") == 1)
    expect_status(server.get("/readyz"), 200)
    expect("refresh failed" in server.read_log(), server.read_log())


def test_garbage_jwks_is_kept_out(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url})
    context.provider.mode = "garbage"
    expect_refused(server, sign(context.rsa2, claims()), "unknown kid")
    expect_accepted(server, sign(context.rsa1, claims()))
    expect(metric(server, "restable_jwks_failures_total") == 1)


def test_oversized_and_slow_answers_are_bounded(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url})
    context.provider.mode = "huge"
    expect_refused(server, sign(context.rsa2, claims()), "unknown kid")
    expect_accepted(server, sign(context.rsa1, claims()))
    expect(metric(server, "restable_jwks_failures_total") == 1)
    expect("larger than 1048576 bytes" in server.read_log(), server.read_log())

    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url})
    context.provider.mode = "slow"
    started = time.time()
    expect_refused(server, sign(context.rsa2, claims()), "unknown kid")
    waited = time.time() - started
    expect(waited < 3, f"the request that asked for a refresh waited {waited:.1f} s (2 s max)")
    # other requests never wait for the refresher
    started = time.time()
    expect_accepted(server, sign(context.rsa1, claims(sub="bob")))
    expect(time.time() - started < 1, "a request with a known kid waited")
    deadline = time.time() + 8
    while metric(server, "restable_jwks_failures_total") == 0:
        expect(time.time() < deadline, "the slow fetch was not cut at 5 s")
        time.sleep(0.2)


def test_cache_control_max_age_is_bounded_below_by_60_s(context):
    fresh(context, [context.rsa1])
    context.provider.cache_control = "public, max-age=1"
    server = context.serve({"jwks_url": context.provider.url})
    time.sleep(3)  # with max-age=1 obeyed there would be two or three fetches by now
    expect(metric(server, "restable_jwks_fetches_total") == 1)
    expect(context.provider.fetches == 1, context.provider.fetches)


def test_start_fails_when_the_jwks_cannot_be_fetched(context):
    fresh(context, [context.rsa1])
    context.provider.mode = "down"
    server = context.serve({"jwks_url": context.provider.url}, start=False)
    try:
        server.start()
        raise AssertionError("started without its keys")
    except AssertionError as failure:
        expect("auth.jwt.jwks_url: cannot fetch" in str(failure), str(failure))
    # with a jwks_file beside it, start goes on with the file's keys
    path = os.path.join(context.folder, "fallback.json")
    with open(path, "w") as handle:
        json.dump({"keys": [context.ec1.jwk]}, handle)
    server = context.serve({"jwks_url": context.provider.url, "jwks_file": path})
    expect_accepted(server, sign(context.ec1, claims(), alg="ES256"))


def test_http_jwks_url_must_be_loopback(context):
    fresh(context, [])
    server = context.serve({"jwks_url": "http://example.com/jwks.json"}, start=False,
                           migrate=False)
    result = server.cli(["config", "check"])
    expect(result.returncode != 0, result)
    expect("auth.jwt.jwks_url" in result.stderr and "https://" in result.stderr, result.stderr)


# ---- jwks_file and auth.jwt.keys --------------------------------------------------------------

def test_jwks_file_is_reread_on_sighup(context):
    fresh(context, [])
    path = os.path.join(context.folder, "keys.json")
    with open(path, "w") as handle:
        json.dump({"keys": [context.rsa1.jwk]}, handle)
    server = context.serve({"jwks_file": path})
    expect_accepted(server, sign(context.rsa1, claims()))
    expect_refused(server, sign(context.rsa2, claims()), "unknown kid")
    with open(path, "w") as handle:
        json.dump({"keys": [context.rsa2.jwk]}, handle)
    server.process.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while server.get("/movie/", headers=bearer(sign(context.rsa2, claims()))).status != 200:
        expect(time.time() < deadline, "SIGHUP did not reload the key file")
        time.sleep(0.1)
    expect_refused(server, sign(context.rsa1, claims()), "unknown kid")
    # a broken file keeps the keys held
    with open(path, "w") as handle:
        handle.write("{not json")
    server.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    expect_accepted(server, sign(context.rsa2, claims(sub="carol")))
    expect("not reloaded" in server.read_log(), server.read_log())


def test_keys_list_picks_by_kid_and_cli_signs_with_private_keys(context):
    fresh(context, [])
    server = context.serve({"keys": [
        {"kid": "hs", "algorithm": "HS256", "secret": HS_SECRET},
        {"kid": "rs", "algorithm": "RS256", "public_key_file": context.rsa1.public},
        {"kid": "ps", "algorithm": "PS256", "public_key_file": context.rsa2.public},
        {"kid": "ed", "algorithm": "EdDSA", "public_key_file": context.ed1.public},
    ]})
    expect_accepted(server, sign_hs(claims(), "hs"))
    expect_accepted(server, sign(context.rsa1, claims(), kid="rs"))
    # PKCS#1 v1.5 under a PS256 key: the key's algorithm is the one a token must use
    expect_refused(server, sign(context.rsa2, claims(), kid="ps"), "algorithm not allowed")
    expect_refused(server, sign_hs(claims(), "rs"), "algorithm not allowed")
    expect_refused(server, sign_hs(claims(), "../../etc/passwd"), "unknown kid")
    expect_refused(server, sign_hs(claims(), "x' OR '1'='1"), "unknown kid")
    for kid, key, alg in [("ps", context.rsa2, "PS256"), ("ed", context.ed1, None),
                          ("rs", context.rsa1, None)]:
        args = ["token", "--sub", "dave", "--key", key.private, "--kid", kid,
                "--scope", "movies:write"]
        result = server.cli(args + (["--alg", alg] if alg else []))
        expect(result.returncode == 0, result.stderr)
        token = result.stdout.strip()
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        expect(header["kid"] == kid, header)
        response = server.request("POST", "/movie/", body={"name": kid}, headers=bearer(token))
        expect(response.status == 201, f"{kid}: {response.status} {reason(response)}")


def test_duplicate_kids_are_refused_at_load(context):
    fresh(context, [])
    server = context.serve({"keys": [
        {"kid": "a", "algorithm": "RS256", "public_key_file": context.rsa1.public},
        {"kid": "a", "algorithm": "RS256", "public_key_file": context.rsa2.public},
    ]}, start=False, migrate=False)
    result = server.cli(["config", "check"])
    expect(result.returncode != 0 and "auth.jwt.keys[1].kid: duplicate kid" in result.stderr,
           result.stderr)
    path = os.path.join(context.folder, "duplicate.json")
    with open(path, "w") as handle:
        json.dump({"keys": [context.rsa1.jwk, dict(context.rsa2.jwk, kid="rsa-1")]}, handle)
    server = context.serve({"jwks_file": path}, start=False)
    try:
        server.start()
        raise AssertionError("started with duplicate kids")
    except AssertionError as failure:
        expect("duplicate kid" in str(failure), str(failure))


# ---- claim layouts of the providers -----------------------------------------------------------

def test_keycloak_realm_roles_pointer(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url, "roles_claim": "/realm_access/roles",
                            "issuer": "https://sso.example/realms/demo", "audience": "account"})
    base = claims(iss="https://sso.example/realms/demo", aud="account", typ="Bearer",
                  scope="openid profile email", preferred_username="alice")
    admin = sign(context.rsa1, dict(base, realm_access={"roles": ["offline_access", "admin"]}))
    user = sign(context.rsa1, dict(base, realm_access={"roles": ["offline_access"]}))
    expect_status(server.request("DELETE", "/movie/1/", headers=bearer(user)), 403)
    expect_status(server.request("DELETE", "/movie/1/", headers=bearer(admin)), 404)


def test_auth0_namespaced_roles_and_aud_array(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url,
                            "roles_claim": "/https:~1~1example.com~1roles",
                            "issuer": "https://tenant.auth0.com/", "audience": "https://api"})
    base = claims(iss="https://tenant.auth0.com/", azp="client",
                  aud=["https://api", "https://tenant.auth0.com/userinfo"])
    admin = sign(context.rsa1, dict(base, **{"https://example.com/roles": ["admin"]}))
    expect_status(server.request("DELETE", "/movie/1/", headers=bearer(admin)), 404)
    expect_refused(server, sign(context.rsa1, dict(base, aud=["https://other"])),
                   "audience mismatch")
    expect_refused(server, sign(context.rsa1, dict(base, aud="https://other")),
                   "audience mismatch")


def test_scope_array_scp_and_cognito_groups(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url, "scope_claim": "/scp",
                            "roles_claim": "/cognito:groups"})
    token = sign(context.rsa1, claims(scp=["movies:read", "movies:write"]))
    expect_status(server.request("POST", "/movie/", body={"name": "Ran"}, headers=bearer(token)),
                  201)
    token = sign(context.rsa1, claims(scp=["movies:read"], **{"cognito:groups": ["admin"]}))
    expect_status(server.request("POST", "/movie/", body={"name": "Ran"}, headers=bearer(token)),
                  403)
    expect_status(server.request("DELETE", "/movie/1/", headers=bearer(token)), 204)


def test_azure_style_token_with_x5t_beside_kid(context):
    fresh(context, [context.rsa1])
    server = context.serve({"jwks_url": context.provider.url, "scope_claim": "/scp",
                            "roles_claim": "/roles", "audience": "api://restable"})
    token = sign(context.rsa1, claims(aud="api://restable", scp="movies:write", roles=["admin"],
                                      ver="2.0", tid="t"),
                 header_extra={"x5t": "thumbprint"})
    expect_status(server.request("POST", "/movie/", body={"name": "Az"}, headers=bearer(token)),
                  201)


def make_tls_files(folder):
    """A CA and a certificate it signed for 127.0.0.1 (made with the openssl CLI)."""
    ca_key, ca_cert = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.pem")
    key, request, cert = (os.path.join(folder, name) for name in ("tls.key", "tls.csr", "tls.pem"))
    extensions = os.path.join(folder, "san.ext")
    with open(extensions, "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert,
            "-days", "2", "-subj", "/CN=restable test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
            "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions)
    return ca_cert, cert, key


def test_https_jwks_url_is_verified_against_the_ca(context):
    """TLS is verified: a certificate from a CA the server does not trust stops the start;
    jwks_ca_file naming that CA lets it fetch the keys."""
    context.stop_all()
    ca_cert, cert, key = make_tls_files(context.folder)
    provider = Provider(tls=(cert, key))
    try:
        provider.reset([context.rsa1])
        server = context.serve({"jwks_url": provider.url}, start=False)
        try:
            server.start()
            raise AssertionError("started with a key set from an untrusted certificate")
        except AssertionError as failure:
            expect("auth.jwt.jwks_url: cannot fetch" in str(failure), str(failure))
        server = context.serve({"jwks_url": provider.url, "jwks_ca_file": ca_cert})
        expect_accepted(server, sign(context.rsa1, claims()))
        expect(provider.fetches >= 1, provider.fetches)
    finally:
        context.stop_all()
        provider.http.shutdown()
