/*
 * auth/verify.c — verifies bearer JWTs. The header is parsed and checked here before any
 * signature work: exactly three base64url parts, JSON objects, "alg" equal to the configured
 * algorithm (so "none" and algorithm switching are refused), no key-selecting headers (kid,
 * jku, x5u, jwk, x5c) and no "crit". The signature is checked with OpenSSL (HMAC compared in
 * constant time; RSA PKCS#1 v1.5; ECDSA P-256 with the JOSE r||s form). Then exp (required),
 * nbf, iss and aud with the configured leeway. Verified tokens are cached, bounded, until exp.
 */
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/auth_internal.h"

#define CACHE_SLOTS 1024

struct cache_entry {
    char *token;
    struct auth_principal principal;
    long not_before;
};

struct auth_verifier {
    enum cfg_jwt_algorithm algorithm;
    unsigned char *secret;
    size_t secret_length;
    EVP_PKEY *public_key;
    char *issuer;
    char *audience;
    long leeway;
    pthread_mutex_t lock;
    struct cache_entry cache[CACHE_SLOTS];
};

static const char *algorithm_name(enum cfg_jwt_algorithm algorithm)
{
    switch (algorithm) {
    case CFG_JWT_HS256:
        return "HS256";
    case CFG_JWT_HS384:
        return "HS384";
    case CFG_JWT_HS512:
        return "HS512";
    case CFG_JWT_RS256:
        return "RS256";
    case CFG_JWT_ES256:
        return "ES256";
    default:
        return "";
    }
}

static char *copy_or_null(const char *text)
{
    if (!text)
        return NULL;
    char *copy = strdup(text);
    if (!copy)
        abort();
    return copy;
}

struct auth_verifier *auth_verifier_new(const struct cfg_config *config, struct rs_error *error)
{
    struct auth_verifier *verifier = calloc(1, sizeof *verifier);
    if (!verifier)
        abort();
    pthread_mutex_init(&verifier->lock, NULL);
    verifier->algorithm = config->auth.algorithm;
    verifier->issuer = copy_or_null(config->auth.issuer);
    verifier->audience = copy_or_null(config->auth.audience);
    verifier->leeway = config->auth.leeway_s;
    switch (verifier->algorithm) {
    case CFG_JWT_NONE:
        return verifier;
    case CFG_JWT_HS256:
    case CFG_JWT_HS384:
    case CFG_JWT_HS512:
        if (!config->auth.secret || strlen(config->auth.secret) < 32) {
            rs_error_set(error, 1, NULL, "auth.jwt.secret: must be at least 32 bytes");
            auth_verifier_free(verifier);
            return NULL;
        }
        verifier->secret_length = strlen(config->auth.secret);
        verifier->secret = (unsigned char *)copy_or_null(config->auth.secret);
        return verifier;
    case CFG_JWT_RS256:
    case CFG_JWT_ES256: {
        FILE *file = config->auth.public_key_file ? fopen(config->auth.public_key_file, "r") : NULL;
        if (file) {
            verifier->public_key = PEM_read_PUBKEY(file, NULL, NULL, NULL);
            fclose(file);
        }
        int type = verifier->public_key ? EVP_PKEY_get_base_id(verifier->public_key) : 0;
        bool fits = verifier->algorithm == CFG_JWT_RS256
                        ? type == EVP_PKEY_RSA && EVP_PKEY_get_bits(verifier->public_key) >= 2048
                        : type == EVP_PKEY_EC && EVP_PKEY_get_bits(verifier->public_key) == 256;
        if (!fits) {
            rs_error_set(error, 1, NULL, "auth.jwt.public_key_file: %s is not a readable PEM %s "
                         "public key", config->auth.public_key_file ? config->auth.public_key_file
                                                                    : "(none)",
                         verifier->algorithm == CFG_JWT_RS256 ? "RSA (2048 bits or more)"
                                                              : "EC P-256");
            auth_verifier_free(verifier);
            return NULL;
        }
        return verifier;
    }
    }
    return verifier;
}

void auth_verifier_free(struct auth_verifier *verifier)
{
    if (!verifier)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(verifier->cache[i].token);
        auth_principal_clear(&verifier->cache[i].principal);
    }
    if (verifier->secret)
        OPENSSL_cleanse(verifier->secret, verifier->secret_length);
    free(verifier->secret);
    EVP_PKEY_free(verifier->public_key);
    free(verifier->issuer);
    free(verifier->audience);
    pthread_mutex_destroy(&verifier->lock);
    free(verifier);
}

void auth_principal_clear(struct auth_principal *principal)
{
    if (!principal)
        return;
    free(principal->subject);
    for (size_t i = 0; i < principal->scope_count; i++)
        free(principal->scopes[i]);
    free(principal->scopes);
    for (size_t i = 0; i < principal->role_count; i++)
        free(principal->roles[i]);
    free(principal->roles);
    free(principal->claims_json);
    memset(principal, 0, sizeof *principal);
}

static void principal_copy(struct auth_principal *to, const struct auth_principal *from)
{
    memset(to, 0, sizeof *to);
    to->is_authenticated = from->is_authenticated;
    to->subject = copy_or_null(from->subject);
    to->claims_json = copy_or_null(from->claims_json);
    to->expires_at = from->expires_at;
    to->scopes = calloc(from->scope_count + 1, sizeof *to->scopes);
    to->roles = calloc(from->role_count + 1, sizeof *to->roles);
    if (!to->scopes || !to->roles)
        abort();
    for (size_t i = 0; i < from->scope_count; i++)
        to->scopes[to->scope_count++] = copy_or_null(from->scopes[i]);
    for (size_t i = 0; i < from->role_count; i++)
        to->roles[to->role_count++] = copy_or_null(from->roles[i]);
}

static int fail(struct rs_error *error, const char *reason)
{
    rs_error_set(error, 401, NULL, "%s", reason);
    return -1;
}

static bool signature_is_valid(const struct auth_verifier *verifier, const char *signing_input,
                               size_t input_length, const unsigned char *signature,
                               size_t signature_length)
{
    if (verifier->secret) {
        const EVP_MD *digest = verifier->algorithm == CFG_JWT_HS256   ? EVP_sha256()
                               : verifier->algorithm == CFG_JWT_HS384 ? EVP_sha384()
                                                                      : EVP_sha512();
        unsigned char expected[EVP_MAX_MD_SIZE];
        unsigned int expected_length = 0;
        if (!HMAC(digest, verifier->secret, (int)verifier->secret_length,
                  (const unsigned char *)signing_input, input_length, expected, &expected_length))
            return false;
        return expected_length == signature_length &&
               CRYPTO_memcmp(expected, signature, signature_length) == 0;
    }
    if (!verifier->public_key)
        return false;
    unsigned char *der = NULL;
    size_t der_length = signature_length;
    const unsigned char *to_check = signature;
    if (verifier->algorithm == CFG_JWT_ES256) {
        /* JOSE sends r||s (32 bytes each); OpenSSL verifies DER */
        if (signature_length != 64)
            return false;
        ECDSA_SIG *pair = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(signature, 32, NULL);
        BIGNUM *s = BN_bin2bn(signature + 32, 32, NULL);
        if (!pair || !r || !s || !ECDSA_SIG_set0(pair, r, s)) {
            ECDSA_SIG_free(pair);
            BN_free(r);
            BN_free(s);
            return false;
        }
        int length = i2d_ECDSA_SIG(pair, &der);
        ECDSA_SIG_free(pair);
        if (length <= 0)
            return false;
        to_check = der;
        der_length = (size_t)length;
    }
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    bool ok = context &&
              EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, verifier->public_key) == 1 &&
              EVP_DigestVerify(context, to_check, der_length, (const unsigned char *)signing_input,
                               input_length) == 1;
    EVP_MD_CTX_free(context);
    OPENSSL_free(der);
    return ok;
}

static void add_role(struct auth_principal *principal, const char *role)
{
    char **roles = realloc(principal->roles, (principal->role_count + 2) * sizeof *roles);
    if (!roles)
        abort();
    principal->roles = roles;
    principal->roles[principal->role_count++] = copy_or_null(role);
}

static int claims_to_principal(const struct auth_verifier *verifier, json_t *claims,
                               struct auth_principal *principal, long *not_before,
                               struct rs_error *error)
{
    long now = (long)time(NULL);
    json_t *exp = json_object_get(claims, "exp");
    if (!exp)
        return fail(error, "missing exp claim");
    if (!json_is_number(exp))
        return fail(error, "exp claim is not a number");
    long expires_at = (long)json_number_value(exp);
    if (now > expires_at + verifier->leeway)
        return fail(error, "token expired");
    json_t *nbf = json_object_get(claims, "nbf");
    *not_before = 0;
    if (nbf) {
        if (!json_is_number(nbf))
            return fail(error, "nbf claim is not a number");
        *not_before = (long)json_number_value(nbf);
        if (now + verifier->leeway < *not_before)
            return fail(error, "token not yet valid");
    }
    if (verifier->issuer) {
        const char *issuer = json_string_value(json_object_get(claims, "iss"));
        if (!issuer || strcmp(issuer, verifier->issuer) != 0)
            return fail(error, "issuer mismatch");
    }
    if (verifier->audience) {
        json_t *audience = json_object_get(claims, "aud");
        bool found = json_is_string(audience) &&
                     strcmp(json_string_value(audience), verifier->audience) == 0;
        for (size_t i = 0; json_is_array(audience) && i < json_array_size(audience); i++) {
            const char *one = json_string_value(json_array_get(audience, i));
            found |= one && strcmp(one, verifier->audience) == 0;
        }
        if (!found)
            return fail(error, "audience mismatch");
    }
    memset(principal, 0, sizeof *principal);
    principal->is_authenticated = true;
    principal->expires_at = expires_at;
    json_t *subject = json_object_get(claims, "sub");
    if (json_is_string(subject)) {
        principal->subject = copy_or_null(json_string_value(subject));
    } else if (json_is_integer(subject)) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(subject));
        principal->subject = copy_or_null(text);
    }
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    principal->scopes = calloc(1, sizeof *principal->scopes);
    if (!principal->scopes)
        abort();
    if (scope) {
        char *copy = copy_or_null(scope);
        char *save = NULL;
        for (char *word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
            char **scopes = realloc(principal->scopes,
                                    (principal->scope_count + 2) * sizeof *scopes);
            if (!scopes)
                abort();
            principal->scopes = scopes;
            principal->scopes[principal->scope_count++] = copy_or_null(word);
        }
        free(copy);
    }
    json_t *roles = json_object_get(claims, "roles");
    for (size_t i = 0; json_is_array(roles) && i < json_array_size(roles); i++) {
        const char *role = json_string_value(json_array_get(roles, i));
        if (role)
            add_role(principal, role);
    }
    const char *role = json_string_value(json_object_get(claims, "role"));
    if (role)
        add_role(principal, role);
    principal->claims_json = json_dumps(claims, JSON_COMPACT);
    return 0;
}

static uint64_t token_hash(const char *token)
{
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        hash = (hash ^ *p) * 1099511628211ULL;
    return hash;
}

static bool cache_lookup(struct auth_verifier *verifier, const char *token,
                         struct auth_principal *principal, struct rs_error *error, int *status)
{
    bool found = false;
    long now = (long)time(NULL);
    struct cache_entry *entry = &verifier->cache[token_hash(token) % CACHE_SLOTS];
    pthread_mutex_lock(&verifier->lock);
    if (entry->token && strcmp(entry->token, token) == 0) {
        found = true;
        if (now > entry->principal.expires_at + verifier->leeway)
            *status = fail(error, "token expired");
        else if (now + verifier->leeway < entry->not_before)
            *status = fail(error, "token not yet valid");
        else {
            principal_copy(principal, &entry->principal);
            *status = 0;
        }
    }
    pthread_mutex_unlock(&verifier->lock);
    return found;
}

static void cache_store(struct auth_verifier *verifier, const char *token,
                        const struct auth_principal *principal, long not_before)
{
    struct cache_entry *entry = &verifier->cache[token_hash(token) % CACHE_SLOTS];
    pthread_mutex_lock(&verifier->lock);
    free(entry->token);
    auth_principal_clear(&entry->principal);
    entry->token = copy_or_null(token);
    principal_copy(&entry->principal, principal);
    entry->not_before = not_before;
    pthread_mutex_unlock(&verifier->lock);
}

static int verify_token(struct auth_verifier *verifier, const char *token,
                        struct auth_principal *principal, struct rs_error *error)
{
    size_t length = strlen(token);
    if (length > AUTH_MAX_TOKEN_BYTES)
        return fail(error, "token too large");
    const char *first_dot = strchr(token, '.');
    const char *second_dot = first_dot ? strchr(first_dot + 1, '.') : NULL;
    if (!first_dot || !second_dot || strchr(second_dot + 1, '.'))
        return fail(error, "malformed token");
    size_t header_length = (size_t)(first_dot - token);
    size_t payload_length = (size_t)(second_dot - first_dot - 1);
    size_t signature_length = length - (size_t)(second_dot - token) - 1;
    if (header_length == 0 || payload_length == 0)
        return fail(error, "malformed token");

    unsigned char *header_bytes = NULL, *payload_bytes = NULL, *signature = NULL;
    size_t header_size = 0, payload_size = 0, signature_size = 0;
    json_t *header = NULL, *claims = NULL;
    int status = -1;
    if (auth_base64url_decode(token, header_length, &header_bytes, &header_size) < 0 ||
        auth_base64url_decode(first_dot + 1, payload_length, &payload_bytes, &payload_size) < 0 ||
        auth_base64url_decode(second_dot + 1, signature_length, &signature, &signature_size) < 0) {
        fail(error, "malformed token: bad base64url");
        goto done;
    }
    header = json_loadb((const char *)header_bytes, header_size, JSON_REJECT_DUPLICATES, NULL);
    claims = json_loadb((const char *)payload_bytes, payload_size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(header) || !json_is_object(claims)) {
        fail(error, "malformed token: header and payload must be JSON objects");
        goto done;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    if (!alg || strcmp(alg, algorithm_name(verifier->algorithm)) != 0) {
        fail(error, "algorithm not allowed");
        goto done;
    }
    static const char *const key_selectors[] = {"kid", "jku", "x5u", "jwk", "x5c", "x5t", NULL};
    for (int i = 0; key_selectors[i]; i++) {
        if (json_object_get(header, key_selectors[i])) {
            fail(error, "key-selecting header not allowed");
            goto done;
        }
    }
    if (json_object_get(header, "crit")) {
        fail(error, "crit header not supported");
        goto done;
    }
    const char *type = json_string_value(json_object_get(header, "typ"));
    if (json_object_get(header, "typ") && (!type || strcasecmp(type, "JWT") != 0)) {
        fail(error, "unexpected typ header");
        goto done;
    }
    if (signature_size == 0 ||
        !signature_is_valid(verifier, token, (size_t)(second_dot - token), signature,
                            signature_size)) {
        fail(error, "signature mismatch");
        goto done;
    }
    long not_before = 0;
    if (claims_to_principal(verifier, claims, principal, &not_before, error) < 0)
        goto done;
    cache_store(verifier, token, principal, not_before);
    status = 0;
done:
    free(header_bytes);
    free(payload_bytes);
    free(signature);
    json_decref(header);
    json_decref(claims);
    return status;
}

int auth_verify_bearer(struct auth_verifier *verifier, const char *authorization,
                       struct auth_principal *principal, struct rs_error *error)
{
    memset(principal, 0, sizeof *principal);
    if (!authorization)
        return 0;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return fail(error, "expected a Bearer token");
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    if (!*token || strchr(token, ' '))
        return fail(error, "expected a Bearer token");
    if (verifier->algorithm == CFG_JWT_NONE)
        return fail(error, "tokens are not accepted: no key is configured");
    if (strlen(token) > AUTH_MAX_TOKEN_BYTES)
        return fail(error, "token too large");
    int status = 0;
    if (cache_lookup(verifier, token, principal, error, &status))
        return status;
    return verify_token(verifier, token, principal, error);
}
