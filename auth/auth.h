/*
 * auth/auth.h — who is asking and what they may do: verifies bearer JWTs with OpenSSL against
 * one key or a key set (auth.jwt.keys, a JWKS file, a JWKS URL refreshed by a thread of its
 * own), turns claims into a principal, decides per table policy, issues tokens for the CLI and
 * the login route, and hashes/verifies passwords (PBKDF2-HMAC-SHA256). Knows nothing of SQL or
 * HTTP.
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
    char *subject; /* "sub" claim, or NULL */
    char **scopes; /* from the scope claim (auth.jwt.scope_claim): words or an array */
    size_t scope_count;
    char **roles; /* from the roles claim (auth.jwt.roles_claim) and the "role" claim */
    size_t role_count;
    char *claims_json; /* every claim, compact JSON, for request.jwt.claims */
    long expires_at;   /* "exp" */
};

void auth_principal_clear(struct auth_principal *principal);

struct auth_verifier;

/* Reads keys per config: the single key (secret, or a PEM public key file), auth.jwt.keys,
 * jwks_file, and jwks_url (fetched once here, failing unless jwks_file is also given, then
 * refreshed by a thread of its own until auth_verifier_free). Refuses an HS secret shorter
 * than 32 bytes and RSA keys under 2048 bits. NULL with error. With no key configured returns
 * a verifier that refuses every token (auth is off: every policy is public). */
struct auth_verifier *auth_verifier_new(const struct cfg_config *config, struct rs_error *error);
void auth_verifier_free(struct auth_verifier *verifier);

/* Where the verifier's clock comes from (seconds since the epoch); time(NULL) by default.
 * Tests drive expiry with it instead of sleeping. Call before verifying. */
void auth_verifier_set_clock(struct auth_verifier *verifier, long (*now)(void *context),
                             void *context);

/* Re-reads auth.jwt.jwks_file (on SIGHUP). A file that cannot be read or parsed keeps the
 * current keys: -1 with error. 0 when there is no file or it was read. */
int auth_verifier_reload(struct auth_verifier *verifier, struct rs_error *error);

/* For /metrics: JWKS fetches tried and failed since start, keys held now. */
struct auth_stats {
    unsigned long long jwks_fetches;
    unsigned long long jwks_failures;
    size_t keys;
};
void auth_verifier_stats(struct auth_verifier *verifier, struct auth_stats *stats);

/* Where auth writes its few log lines (keys changed, a refresh failed); level is "info",
 * "warning" or "error". Default: stderr. Set once before auth_verifier_new. */
void auth_set_log(void (*log)(const char *level, const char *message));

/* Verifies the value of an Authorization header (or NULL when absent). Returns 0 with the
 * principal filled (anonymous when header is NULL), or -1 with error->outcome RS_UNAUTHORIZED and
 * error->message a short reason fit for error_description. Thread-safe. */
int auth_verify_bearer(struct auth_verifier *verifier, const char *authorization,
                       struct auth_principal *principal, struct rs_error *error);

/* True when the principal satisfies the policy. */
bool auth_policy_allows(const struct cfg_policy *policy, const struct auth_principal *principal);

/* Signs a token with the configured HS key carrying iss/aud from config, scope and roles at
 * auth.jwt.scope_claim / roles_claim. scope may be NULL; roles may be empty. Returns the token
 * (caller frees) or NULL with error. */
char *auth_token_issue(const struct cfg_config *config, const char *subject, const char *scope,
                       const char *const *roles, size_t role_count, long ttl_s,
                       struct rs_error *error);

/* The same claims signed with the PEM private key in key_file (RSA, EC P-256/384/521 or
 * Ed25519) with "kid": kid in the header. algorithm may be NULL: RS256 for RSA, ES256/384/512
 * by curve, EdDSA for Ed25519; "PS256" and the like choose another that fits the key. */
char *auth_token_issue_with_key(const struct cfg_config *config, const char *key_file,
                                const char *kid, const char *algorithm, const char *subject,
                                const char *scope, const char *const *roles, size_t role_count,
                                long ttl_s, struct rs_error *error);

/* PBKDF2-HMAC-SHA256 with a random 16-byte salt, stored as
 * "pbkdf2_sha256$ITERATIONS$SALT_B64$HASH_B64". Caller frees. NULL on failure. */
char *auth_password_hash(const char *password, int iterations);
/* Constant-time check against a stored string; a NULL stored string does the same work as a
 * real check against a dummy hash and returns false (no user enumeration by timing). */
bool auth_password_verify(const char *password, const char *stored, int iterations);

#endif
