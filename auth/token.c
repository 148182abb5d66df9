/*
 * auth/token.c — issues tokens signed with the configured HS key (for `restable token` and
 * POST /auth/login), carrying sub, iat, exp and the configured iss/aud, with libjwt.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"

char *auth_token_issue(const struct cfg_config *config, const char *subject, const char *scope,
                       const char *const *roles, size_t role_count, long ttl_s,
                       struct rs_error *error)
{
    jwt_alg_t alg;
    switch (config->auth.algorithm) {
    case CFG_JWT_HS256:
        alg = JWT_ALG_HS256;
        break;
    case CFG_JWT_HS384:
        alg = JWT_ALG_HS384;
        break;
    case CFG_JWT_HS512:
        alg = JWT_ALG_HS512;
        break;
    default:
        rs_error_set(error, 1, NULL, "tokens can only be issued with an HS256/HS384/HS512 "
                                     "auth.jwt.secret");
        return NULL;
    }
    if (!config->auth.secret) {
        rs_error_set(error, 1, NULL, "no auth.jwt.secret is configured");
        return NULL;
    }
    long now = (long)time(NULL);
    json_t *claims = json_pack("{s:s,s:I,s:I}", "sub", subject, "iat", (json_int_t)now, "exp",
                               (json_int_t)(now + (ttl_s > 0 ? ttl_s : 3600)));
    if (config->auth.issuer)
        json_object_set_new(claims, "iss", json_string(config->auth.issuer));
    if (config->auth.audience)
        json_object_set_new(claims, "aud", json_string(config->auth.audience));
    if (scope && *scope)
        json_object_set_new(claims, "scope", json_string(scope));
    if (role_count > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < role_count; i++)
            json_array_append_new(list, json_string(roles[i]));
        json_object_set_new(claims, "roles", list);
    }
    char *claims_text = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    jwt_t *jwt = NULL;
    char *token = NULL;
    if (claims_text && jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, claims_text) == 0 &&
        jwt_set_alg(jwt, alg, (const unsigned char *)config->auth.secret,
                    (int)strlen(config->auth.secret)) == 0) {
        char *encoded = jwt_encode_str(jwt);
        if (encoded) {
            token = strdup(encoded);
            free(encoded);
        }
    }
    jwt_free(jwt);
    free(claims_text);
    if (!token)
        rs_error_set(error, 1, NULL, "could not sign the token");
    return token;
}
