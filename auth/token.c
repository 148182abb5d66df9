/*
 * auth/token.c — issues tokens (for `restable token` and POST /auth/login): sub, iat, exp and
 * the configured iss/aud, plus scope and roles when given, written where auth.jwt.scope_claim
 * and roles_claim point so the verifier finds them. Signed with the configured HS key by
 * libjwt (used only to sign, never to verify: see auth/verify.c), or with a PEM private key
 * and a kid by OpenSSL (auth/signature.c), so operators can test their key sets.
 */
#include <errno.h>
#include <jwt.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth_internal.h"

#define DEFAULT_TTL_S 3600

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
        failures += auth_json_pointer_set(
            claims, config->auth.scope_claim ? config->auth.scope_claim : "/scope",
            json_string(scope));
    if (role_count > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < role_count; i++)
            failures += json_array_append_new(list, json_string(roles[i]));
        failures += auth_json_pointer_set(
            claims, config->auth.roles_claim ? config->auth.roles_claim : "/roles", list);
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
        rs_error_set(error, RS_FAILED, NULL,
                     "tokens can only be issued with an HS256/HS384/HS512 auth.jwt.secret");
        return NULL;
    }
    /* the same floor the verifier enforces: never sign what the server would refuse */
    if (!config->auth.secret || strlen(config->auth.secret) < AUTH_MIN_SECRET_BYTES) {
        rs_error_set(error, RS_FAILED, "auth.jwt.secret",
                     "auth.jwt.secret: must be at least %d bytes", AUTH_MIN_SECRET_BYTES);
        return NULL;
    }
    if (!subject || !*subject) {
        rs_error_set(error, RS_FAILED, NULL, "a token needs a subject");
        return NULL;
    }
    char *claims = claims_text(config, subject, scope, roles, role_count, ttl_s);
    if (!claims) {
        rs_error_set(error, RS_FAILED, NULL,
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
        rs_error_set(error, RS_FAILED, NULL, "could not sign the token");
    return token;
}

/* ---- signing with a private key ------------------------------------------------------------ */

static EVP_PKEY *read_private_key(const char *path, struct rs_error *error)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        rs_error_set(error, RS_FAILED, NULL, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    ERR_clear_error();
    if (!key)
        rs_error_set(error, RS_FAILED, NULL, "%s is not a PEM private key", path);
    return key;
}

/* The algorithm for key: the one named (which must fit), or the usual one for its family. */
static enum cfg_jwt_algorithm signing_algorithm(EVP_PKEY *key, const char *name,
                                                struct rs_error *error)
{
    enum auth_key_family family;
    char reason[128];
    if (auth_key_family_of(key, &family, reason, sizeof reason) < 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot sign with this key: %s", reason);
        return CFG_JWT_NONE;
    }
    static const enum cfg_jwt_algorithm usual[] = {CFG_JWT_NONE,  CFG_JWT_RS256, CFG_JWT_ES256,
                                                   CFG_JWT_ES384, CFG_JWT_ES512, CFG_JWT_EDDSA};
    enum cfg_jwt_algorithm algorithm = name ? cfg_jwt_algorithm_from_name(name) : usual[family];
    if (algorithm == CFG_JWT_NONE || auth_algorithm_family(algorithm) != family) {
        rs_error_set(error, RS_FAILED, NULL, "algorithm %s does not fit this key",
                     name ? name : "?");
        return CFG_JWT_NONE;
    }
    return algorithm;
}

static char *b64url(const void *data, size_t length)
{
    return rs_base64_encode(data, length, RS_BASE64_URL);
}

char *auth_token_issue_with_key(const struct cfg_config *config, const char *key_file,
                                const char *kid, const char *algorithm_name, const char *subject,
                                const char *scope, const char *const *roles, size_t role_count,
                                long ttl_s, struct rs_error *error)
{
    if (!subject || !*subject || !kid || !*kid) {
        rs_error_set(error, RS_FAILED, NULL, "a token signed with a key needs a subject and a kid");
        return NULL;
    }
    EVP_PKEY *key = read_private_key(key_file, error);
    if (!key)
        return NULL;
    enum cfg_jwt_algorithm algorithm = signing_algorithm(key, algorithm_name, error);
    char *claims = algorithm != CFG_JWT_NONE
                       ? claims_text(config, subject, scope, roles, role_count, ttl_s)
                       : NULL;
    json_t *header = json_pack("{s:s,s:s,s:s}", "alg", cfg_jwt_algorithm_name(algorithm), "typ",
                               "JWT", "kid", kid);
    char *header_text = header ? json_dumps(header, JSON_COMPACT) : NULL;
    json_decref(header);
    char *token = NULL;
    if (claims && header_text) {
        char *h = b64url(header_text, strlen(header_text));
        char *p = b64url(claims, strlen(claims));
        struct sb text = {0};
        sb_appendf(&text, "%s.%s", h, p);
        size_t length = 0;
        unsigned char *signature =
            auth_signature_make(key, algorithm, sb_text(&text), text.length, &length);
        if (signature) {
            char *s = b64url(signature, length);
            sb_appendf(&text, ".%s", s);
            free(s);
            token = sb_take(&text);
        }
        sb_free(&text);
        free(signature);
        free(h);
        free(p);
    }
    if (!token && algorithm != CFG_JWT_NONE)
        rs_error_set(error, RS_FAILED, NULL, "could not sign the token");
    free(claims);
    free(header_text);
    EVP_PKEY_free(key);
    return token;
}
