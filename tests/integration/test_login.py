"""POST /auth/login and `restable user create` (SPEC §4): tokens for right credentials, the
same 401 for a wrong password and an unknown user, and the per-address rate limit (429)."""
from harness import Server, expect, expect_error, expect_status

SECRET = "login-test-secret-that-is-long-enough-0123456789"

CONFIG = {
    "auth": {
        "jwt": {"secret": SECRET, "issuer": "restable"},
        "login": {"enabled": True, "ttl_s": 600, "rate_per_minute": 6,
                  "password_iterations": 1000},
        "default": {"read": "authenticated", "write": "authenticated",
                    "delete": ["role:admin"]},
    },
    "tables": {"note": {"columns": {"body": {"type": "text"}}}},
}


def setup():
    server = Server(CONFIG)
    result = server.cli(["user", "create", "--username", "ada", "--role", "admin",
                         "--password-stdin"], input_text="correct horse battery\n")
    expect(result.returncode == 0, result)
    expect("correct horse" not in result.stdout + result.stderr, "password echoed")
    return server.start()


def teardown(server):
    expect(server.stop() == 0)


def login(server, username, password):
    return server.request("POST", "/auth/login", body={"username": username,
                                                       "password": password})


def test_login_returns_a_working_token(server):
    response = login(server, "ada", "correct horse battery")
    expect_status(response, 200)
    body = response.json
    expect(body["token_type"] == "bearer" and body["expires_in"] == 600, body)
    headers = {"Authorization": "Bearer " + body["token"]}
    expect_status(server.get("/note/", headers=headers), 200)
    # the user's role travels in the token: admin may delete
    new_id = server.request("POST", "/note/", body={"body": "x"}, headers=headers).json[0]["id"]
    expect_status(server.request("DELETE", f"/note/{new_id}/", headers=headers), 204)


def test_wrong_password_and_unknown_user_are_the_same_401(server):
    wrong = login(server, "ada", "wrong password")
    unknown = login(server, "nobody", "whatever")
    expect_error(wrong, 401)
    expect_error(unknown, 401)
    expect(wrong.json["error"]["message"] == unknown.json["error"]["message"])


def test_login_validates_its_body(server):
    expect_error(server.request("POST", "/auth/login", body={"username": "ada"}), 422,
                 field="password")
    expect_error(server.request("GET", "/auth/login"), 405)


def test_duplicate_user_is_refused(server):
    result = server.cli(["user", "create", "--username", "ada", "--password-stdin"],
                        input_text="another password\n")
    expect(result.returncode == 1 and "already exists" in result.stderr, result)


def test_zz_rate_limit_is_429_with_retry_after(server):
    statuses = [login(server, "ada", "bad").status for _ in range(8)]
    expect(429 in statuses, statuses)
    response = login(server, "ada", "bad")
    expect_error(response, 429)
    expect(int(response.header("Retry-After")) > 0, response.headers)
