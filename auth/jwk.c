/*
 * auth/jwk.c — JSON Web Key Sets (RFC 7517/7518/8037) into key sets: RSA (n, e), EC (crv,
 * x, y on P-256/384/521), OKP Ed25519 (x), and oct (k) only when the set comes from a file.
 * A key is skipped, not fatal, when it is not for signatures ("use" other than "sig"), names
 * an "alg" we do not take or one that does not fit its type, or is of a kind we refuse (RSA
 * under 2048 bits, other curves): providers publish encryption keys beside signing keys. A
 * duplicate kid refuses the whole set: which key a token meant would be a guess.
 */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

#define MAX_KEYS 256

/* The bytes of a base64url member, or NULL (absent, not a string, not base64url). */
static unsigned char *member_bytes(const json_t *jwk, const char *name, size_t *length)
{
    const char *text = json_string_value(json_object_get(jwk, name));
    unsigned char *bytes = NULL;
    if (!text || rs_base64_decode(text, strlen(text), RS_BASE64_URL, &bytes, length) < 0 ||
        *length == 0) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

static EVP_PKEY *key_from_params(const char *type, OSSL_PARAM_BLD *builder)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(builder);
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;
    if (!params || !context || EVP_PKEY_fromdata_init(context) != 1 ||
        EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(context);
    return key;
}

static EVP_PKEY *rsa_key(const json_t *jwk)
{
    size_t n_length = 0, e_length = 0;
    unsigned char *n_bytes = member_bytes(jwk, "n", &n_length);
    unsigned char *e_bytes = member_bytes(jwk, "e", &e_length);
    BIGNUM *n = n_bytes ? BN_bin2bn(n_bytes, (int)n_length, NULL) : NULL;
    BIGNUM *e = e_bytes ? BN_bin2bn(e_bytes, (int)e_length, NULL) : NULL;
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    if (n && e && builder && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e) == 1)
        key = key_from_params("RSA", builder);
    OSSL_PARAM_BLD_free(builder);
    BN_free(n);
    BN_free(e);
    free(n_bytes);
    free(e_bytes);
    return key;
}

static EVP_PKEY *ec_key(const json_t *jwk)
{
    static const struct {
        const char *crv, *group;
        size_t size;
    } curves[] = {
        {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t which = 0;
    while (which < 3 && !(crv && strcmp(crv, curves[which].crv) == 0))
        which++;
    if (which == 3)
        return NULL;
    size_t x_length = 0, y_length = 0;
    unsigned char *x = member_bytes(jwk, "x", &x_length);
    unsigned char *y = member_bytes(jwk, "y", &y_length);
    EVP_PKEY *key = NULL;
    /* RFC 7518 §6.2.1.2: x and y are exactly the field size; an uncompressed point is 04||x||y */
    size_t size = curves[which].size;
    if (x && y && x_length == size && y_length == size) {
        unsigned char point[1 + 2 * 66];
        point[0] = 0x04;
        memcpy(point + 1, x, size);
        memcpy(point + 1 + size, y, size);
        OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
        if (builder &&
            OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME,
                                            curves[which].group, 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point,
                                             1 + 2 * size) == 1)
            key = key_from_params("EC", builder);
        OSSL_PARAM_BLD_free(builder);
    }
    free(x);
    free(y);
    /* the point must be on the curve, or a crafted key could leak or forge */
    EVP_PKEY_CTX *check = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
    if (key && (!check || EVP_PKEY_public_check(check) != 1)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(check);
    return key;
}

static EVP_PKEY *okp_key(const json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!crv || strcmp(crv, "Ed25519") != 0)
        return NULL;
    size_t length = 0;
    unsigned char *x = member_bytes(jwk, "x", &length);
    EVP_PKEY *key =
        x && length == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, length) : NULL;
    free(x);
    return key;
}

/* One JWK into key; false (with a reason) when it is to be skipped. */
static bool load_jwk(const json_t *jwk, bool allow_oct, struct auth_key *key, char *reason,
                     size_t size)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    const json_t *alg = json_object_get(jwk, "alg");
    const json_t *kid = json_object_get(jwk, "kid");
    if (!kty || (json_object_get(jwk, "use") && (!use || strcmp(use, "sig") != 0))) {
        snprintf(reason, size, "not a signing key");
        return false;
    }
    if (kid && !json_is_string(kid)) {
        snprintf(reason, size, "kid is not a string");
        return false;
    }
    if (alg) {
        key->algorithm = cfg_jwt_algorithm_from_name(json_string_value(alg));
        if (key->algorithm == CFG_JWT_NONE) {
            snprintf(reason, size, "alg not taken");
            return false;
        }
    }
    if (strcmp(kty, "oct") == 0) {
        if (!allow_oct) {
            /* anyone who can read a published key set would hold the HMAC secret */
            snprintf(reason, size, "oct keys are never taken from a URL");
            return false;
        }
        key->family = AUTH_FAMILY_HMAC;
        key->secret = member_bytes(jwk, "k", &key->secret_length);
        if (!key->secret || key->secret_length < AUTH_MIN_SECRET_BYTES) {
            snprintf(reason, size, "oct key shorter than %d bytes", AUTH_MIN_SECRET_BYTES);
            return false;
        }
    } else {
        key->public_key = strcmp(kty, "RSA") == 0   ? rsa_key(jwk)
                          : strcmp(kty, "EC") == 0  ? ec_key(jwk)
                          : strcmp(kty, "OKP") == 0 ? okp_key(jwk)
                                                    : NULL;
        ERR_clear_error();
        if (!key->public_key) {
            snprintf(reason, size, "unusable %s key", kty);
            return false;
        }
        if (auth_key_family_of(key->public_key, &key->family, reason, size) < 0)
            return false;
    }
    if (key->algorithm != CFG_JWT_NONE && auth_algorithm_family(key->algorithm) != key->family) {
        snprintf(reason, size, "alg %s does not fit a %s key", json_string_value(alg), kty);
        return false;
    }
    key->kid = xstrdup_or_null(json_string_value(kid));
    return true;
}

static bool has_kid(const struct auth_key_set *set, const char *kid)
{
    for (size_t i = 0; kid && i < set->count; i++)
        if (set->keys[i].kid && strcmp(set->keys[i].kid, kid) == 0)
            return true;
    return false;
}

struct auth_key_set *auth_jwks_parse(const char *text, size_t length, bool allow_oct,
                                     size_t *skipped, struct rs_error *error)
{
    *skipped = 0;
    json_t *document = json_loadb(text, length, JSON_REJECT_DUPLICATES, NULL);
    json_t *list = json_object_get(document, "keys");
    if (!json_is_array(list)) {
        rs_error_set(error, RS_FAILED, NULL, "not a JSON Web Key Set (no \"keys\" array)");
        json_decref(document);
        return NULL;
    }
    if (json_array_size(list) > MAX_KEYS) {
        rs_error_set(error, RS_FAILED, NULL, "more than %d keys", MAX_KEYS);
        json_decref(document);
        return NULL;
    }
    struct auth_key_set *set = xcalloc(1, sizeof *set);
    set->keys = xcalloc(json_array_size(list) + 1, sizeof *set->keys);
    size_t index;
    json_t *jwk;
    json_array_foreach(list, index, jwk)
    {
        struct auth_key *key = &set->keys[set->count];
        char reason[128] = "";
        if (!json_is_object(jwk) || !load_jwk(jwk, allow_oct, key, reason, sizeof reason)) {
            auth_key_clear(key);
            (*skipped)++;
            continue;
        }
        if (has_kid(set, key->kid)) {
            rs_error_set(error, RS_FAILED, NULL, "duplicate kid \"%.64s\"", key->kid);
            set->count++;
            auth_key_set_free(set);
            json_decref(document);
            return NULL;
        }
        set->count++;
    }
    json_decref(document);
    if (set->count == 0) {
        rs_error_set(error, RS_FAILED, NULL, "no usable signing key (%zu skipped)", *skipped);
        auth_key_set_free(set);
        return NULL;
    }
    return set;
}

struct auth_key_set *auth_jwks_read_file(const char *path, struct rs_error *error)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        rs_error_set(error, RS_FAILED, "auth.jwt.jwks_file",
                     "auth.jwt.jwks_file: cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = xmalloc(AUTH_JWKS_MAX_BYTES + 1);
    size_t length = fread(text, 1, AUTH_JWKS_MAX_BYTES + 1, file);
    bool is_broken = ferror(file) != 0;
    fclose(file);
    struct auth_key_set *set = NULL;
    struct rs_error reason = {0};
    size_t skipped = 0;
    if (is_broken)
        rs_error_set(&reason, RS_FAILED, NULL, "read error");
    else if (length > AUTH_JWKS_MAX_BYTES)
        rs_error_set(&reason, RS_FAILED, NULL, "larger than %d bytes", AUTH_JWKS_MAX_BYTES);
    else
        set = auth_jwks_parse(text, length, true, &skipped, &reason);
    free(text);
    if (!set)
        rs_error_set(error, RS_FAILED, "auth.jwt.jwks_file", "auth.jwt.jwks_file: %s: %s", path,
                     reason.message);
    return set;
}
