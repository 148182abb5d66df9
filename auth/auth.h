/*
 * auth/auth.h — who is asking and what they may do: verifies bearer JWTs (libjwt + OpenSSL),
 * turns claims into a principal, decides per table policy, issues tokens for the CLI and the
 * login route, and hashes/verifies passwords (PBKDF2-HMAC-SHA256). Knows nothing of SQL or HTTP.
 */
#ifndef RESTABLE_AUTH_H
#define RESTABLE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define AUTH_MAX_TOKEN_BYTES 8192

/* The verified identity behind a request. A zeroed struct is the anonymous principal. */
struct auth_principal {
    bool is_authenticated;
    char *subject;       /* "sub" claim, or NULL */
    char **scopes;       /* from the space-separated "scope" claim */
    size_t scope_count;
    char **roles;        /* from the "roles" array claim and the "role" claim */
    size_t role_count;
    char *claims_json;   /* every claim, compact JSON, for request.jwt.claims */
    long expires_at;     /* "exp" */
};

void auth_principal_clear(struct auth_principal *principal);

struct auth_verifier;

/* Reads keys per config (secret, or the PEM public key file). Refuses an HS secret shorter than
 * 32 bytes. NULL with error. With no key configured returns a verifier that refuses every
 * token (auth is off: every policy is public). */
struct auth_verifier *auth_verifier_new(const struct cfg_config *config, struct rs_error *error);
void auth_verifier_free(struct auth_verifier *verifier);

/* Verifies the value of an Authorization header (or NULL when absent). Returns 0 with the
 * principal filled (anonymous when header is NULL), or -1 with error->status 401 and
 * error->message a short reason fit for error_description. Thread-safe. */
int auth_verify_bearer(struct auth_verifier *verifier, const char *authorization,
                       struct auth_principal *principal, struct rs_error *error);

/* True when the principal satisfies the policy. */
bool auth_policy_allows(const struct cfg_policy *policy, const struct auth_principal *principal);

/* Signs a token with the configured HS key carrying iss/aud from config. scope may be NULL;
 * roles may be empty. Returns the token (caller frees) or NULL with error. */
char *auth_token_issue(const struct cfg_config *config, const char *subject, const char *scope,
                       const char *const *roles, size_t role_count, long ttl_s,
                       struct rs_error *error);

/* PBKDF2-HMAC-SHA256 with a random 16-byte salt, stored as
 * "pbkdf2_sha256$ITERATIONS$SALT_B64$HASH_B64". Caller frees. NULL on failure. */
char *auth_password_hash(const char *password, int iterations);
/* Constant-time check against a stored string; a NULL stored string does the same work as a
 * real check against a dummy hash and returns false (no user enumeration by timing). */
bool auth_password_verify(const char *password, const char *stored, int iterations);

#endif
