/*
 * auth/token.c — issues tokens signed with the configured HS key (for `restable token` and
 * POST /auth/login): sub, iat, exp and the configured iss/aud, plus scope and roles when
 * given. The claims are built with jansson and signed with libjwt; libjwt is used only to
 * sign, never to verify (see auth/verify.c).
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"

#define DEFAULT_TTL_S 3600
#define MIN_SECRET_BYTES 32

static int hs_algorithm(enum cfg_jwt_algorithm algorithm, jwt_alg_t *alg)
{
    switch (algorithm) {
    case CFG_JWT_HS256:
        *alg = JWT_ALG_HS256;
        return 0;
    case CFG_JWT_HS384:
        *alg = JWT_ALG_HS384;
        return 0;
    case CFG_JWT_HS512:
        *alg = JWT_ALG_HS512;
        return 0;
    default:
        return -1;
    }
}

/* The claims as compact JSON (caller frees), or NULL when a value cannot be represented. */
static char *claims_text(const struct cfg_config *config, const char *subject, const char *scope,
                         const char *const *roles, size_t role_count, long ttl_s)
{
    long now = (long)time(NULL);
    json_t *claims = json_pack("{s:s,s:I,s:I}", "sub", subject, "iat", (json_int_t)now, "exp",
                               (json_int_t)now + (ttl_s > 0 ? ttl_s : DEFAULT_TTL_S));
    if (!claims)
        return NULL;
    int failures = 0;
    if (config->auth.issuer)
        failures += json_object_set_new(claims, "iss", json_string(config->auth.issuer));
    if (config->auth.audience)
        failures += json_object_set_new(claims, "aud", json_string(config->auth.audience));
    if (scope && *scope)
        failures += json_object_set_new(claims, "scope", json_string(scope));
    if (role_count > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < role_count; i++)
            failures += json_array_append_new(list, json_string(roles[i]));
        failures += json_object_set_new(claims, "roles", list);
    }
    char *text = failures == 0 ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    return text;
}

char *auth_token_issue(const struct cfg_config *config, const char *subject, const char *scope,
                       const char *const *roles, size_t role_count, long ttl_s,
                       struct rs_error *error)
{
    jwt_alg_t alg;
    if (hs_algorithm(config->auth.algorithm, &alg) < 0) {
        rs_error_set(error, 1, NULL,
                     "tokens can only be issued with an HS256/HS384/HS512 auth.jwt.secret");
        return NULL;
    }
    /* the same floor the verifier enforces: never sign what the server would refuse */
    if (!config->auth.secret || strlen(config->auth.secret) < MIN_SECRET_BYTES) {
        rs_error_set(error, 1, "auth.jwt.secret", "auth.jwt.secret: must be at least %d bytes",
                     MIN_SECRET_BYTES);
        return NULL;
    }
    if (!subject || !*subject) {
        rs_error_set(error, 1, NULL, "a token needs a subject");
        return NULL;
    }
    char *claims = claims_text(config, subject, scope, roles, role_count, ttl_s);
    if (!claims) {
        rs_error_set(error, 1, NULL,
                     "cannot encode the claims: subject, scope and roles must be UTF-8 text");
        return NULL;
    }
    jwt_t *jwt = NULL;
    char *token = NULL;
    /* libjwt 1.10 writes the header {"alg":...,"typ":"JWT"} itself */
    if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, claims) == 0 &&
        jwt_set_alg(jwt, alg, (const unsigned char *)config->auth.secret,
                    (int)strlen(config->auth.secret)) == 0)
        token = jwt_encode_str(jwt); /* malloc'd by libjwt 1.10: the caller's free() fits */
    jwt_free(jwt);
    free(claims);
    if (!token)
        rs_error_set(error, 1, NULL, "could not sign the token");
    return token;
}
