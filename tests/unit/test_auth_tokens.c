/*
 * tests/unit/test_auth_tokens.c — cmocka tests for auth/: bearer JWT verification (tokens are
 * crafted and signed here with OpenSSL so that every hostile variant can be built: alg none,
 * key confusion, key-selecting headers, bad base64, tampering, time claims), the verification
 * cache, verifier creation, the policy matrix, token issuing and PBKDF2 password hashes.
 * RSA and EC keys are generated once per run and written as PEM files into a temporary folder.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"

#define SECRET "0123456789abcdef0123456789abcdef" /* exactly 32 bytes */
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static EVP_PKEY *rsa_key;
static EVP_PKEY *ec_key;
static char key_dir[64];
static char rsa_pem_path[128];
static char ec_pem_path[128];
static unsigned char *rsa_pem_bytes;
static size_t rsa_pem_length;

/* ---- token crafting ------------------------------------------------------------------------ */

static char *b64url(const unsigned char *data, size_t length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *text = malloc((length + 2) / 3 * 4 + 1);
    assert_non_null(text);
    size_t used = 0;
    for (size_t i = 0; i < length; i += 3) {
        unsigned int chunk = (unsigned int)data[i] << 16;
        if (i + 1 < length)
            chunk |= (unsigned int)data[i + 1] << 8;
        if (i + 2 < length)
            chunk |= data[i + 2];
        text[used++] = alphabet[(chunk >> 18) & 63];
        text[used++] = alphabet[(chunk >> 12) & 63];
        if (i + 1 < length)
            text[used++] = alphabet[(chunk >> 6) & 63];
        if (i + 2 < length)
            text[used++] = alphabet[chunk & 63];
    }
    text[used] = '\0';
    return text;
}

static char *b64url_text(const char *text)
{
    return b64url((const unsigned char *)text, strlen(text));
}

/* "b64(header).b64(payload)" */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64url_text(header), *p = b64url_text(payload), *input = NULL;
    assert_true(asprintf(&input, "%s.%s", h, p) > 0);
    free(h);
    free(p);
    return input;
}

/* input + "." + b64(signature); takes ownership of input */
static char *append_signature(char *input, const unsigned char *signature, size_t length)
{
    char *s = b64url(signature, length), *token = NULL;
    assert_true(asprintf(&token, "%s.%s", input, s) > 0);
    free(s);
    free(input);
    return token;
}

static char *hmac_token(const EVP_MD *md, const void *key, size_t key_length, const char *header,
                        const char *payload)
{
    char *input = signing_input(header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    assert_non_null(HMAC(md, key, (int)key_length, (const unsigned char *)input, strlen(input),
                         mac, &mac_length));
    return append_signature(input, mac, mac_length);
}

static char *hs256_token(const char *payload)
{
    return hmac_token(EVP_sha256(), SECRET, strlen(SECRET), HS256_HEADER, payload);
}

static unsigned char *digest_sign(EVP_PKEY *key, const char *input, size_t *length)
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    assert_non_null(context);
    assert_int_equal(EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(context, NULL, length, (const unsigned char *)input,
                                    strlen(input)), 1);
    unsigned char *signature = malloc(*length);
    assert_non_null(signature);
    assert_int_equal(EVP_DigestSign(context, signature, length, (const unsigned char *)input,
                                    strlen(input)), 1);
    EVP_MD_CTX_free(context);
    return signature;
}

static char *rs256_token(const char *header, const char *payload)
{
    char *input = signing_input(header, payload);
    size_t length = 0;
    unsigned char *signature = digest_sign(rsa_key, input, &length);
    char *token = append_signature(input, signature, length);
    free(signature);
    return token;
}

/* OpenSSL gives DER; JOSE wants r||s, 32 bytes each */
static char *es256_token(const char *header, const char *payload)
{
    char *input = signing_input(header, payload);
    size_t length = 0;
    unsigned char *der = digest_sign(ec_key, input, &length);
    const unsigned char *cursor = der;
    ECDSA_SIG *pair = d2i_ECDSA_SIG(NULL, &cursor, (long)length);
    assert_non_null(pair);
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(pair, &r, &s);
    unsigned char raw[64];
    assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
    assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
    ECDSA_SIG_free(pair);
    free(der);
    return append_signature(input, raw, sizeof raw);
}

/* A payload with sub and an exp one hour ahead, plus extra members ("" for none). */
static char *claims(const char *extra)
{
    char *payload = NULL;
    assert_true(asprintf(&payload, "{\"sub\":\"alice\",\"exp\":%ld%s%s}",
                         (long)time(NULL) + 3600, *extra ? "," : "", extra) > 0);
    return payload;
}

/* ---- verifying ----------------------------------------------------------------------------- */

static struct cfg_config config_for(enum cfg_jwt_algorithm algorithm)
{
    struct cfg_config config;
    memset(&config, 0, sizeof config);
    config.auth.algorithm = algorithm;
    config.auth.leeway_s = 30;
    if (algorithm == CFG_JWT_HS256 || algorithm == CFG_JWT_HS384 ||
        algorithm == CFG_JWT_HS512)
        config.auth.secret = SECRET;
    else if (algorithm == CFG_JWT_RS256)
        config.auth.public_key_file = rsa_pem_path;
    else if (algorithm == CFG_JWT_ES256)
        config.auth.public_key_file = ec_pem_path;
    return config;
}

static struct auth_verifier *verifier_for(const struct cfg_config *config)
{
    struct rs_error error = {0};
    struct auth_verifier *verifier = auth_verifier_new(config, &error);
    if (!verifier)
        fail_msg("auth_verifier_new: %s", error.message);
    return verifier;
}

static int verify_token_with(struct auth_verifier *verifier, const char *token,
                             struct auth_principal *principal, struct rs_error *error)
{
    char *header = NULL;
    assert_true(asprintf(&header, "Bearer %s", token) > 0);
    int status = auth_verify_bearer(verifier, header, principal, error);
    free(header);
    return status;
}

/* Verifies token against a fresh verifier for config; expects acceptance. Frees token. */
static void expect_accepted(const struct cfg_config *config, char *token,
                            struct auth_principal *principal)
{
    struct auth_verifier *verifier = verifier_for(config);
    struct rs_error error = {0};
    int status = verify_token_with(verifier, token, principal, &error);
    if (status != 0)
        fail_msg("refused: %s", error.message);
    assert_true(principal->is_authenticated);
    auth_verifier_free(verifier);
    free(token);
}

static void expect_header_refused(const struct cfg_config *config, const char *authorization,
                                  const char *message)
{
    struct auth_verifier *verifier = verifier_for(config);
    struct rs_error error = {0};
    struct auth_principal principal;
    assert_int_equal(auth_verify_bearer(verifier, authorization, &principal, &error), -1);
    assert_int_equal(error.status, 401);
    assert_string_equal(error.message, message);
    assert_false(principal.is_authenticated);
    assert_null(principal.subject);
    auth_verifier_free(verifier);
}

/* Expects token refused with message under config. Frees token. */
static void expect_refused(const struct cfg_config *config, char *token, const char *message)
{
    char *header = NULL;
    assert_true(asprintf(&header, "Bearer %s", token) > 0);
    expect_header_refused(config, header, message);
    free(header);
    free(token);
}

static void expect_hs256_refused(const char *header, const char *payload, const char *message)
{
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config,
                   hmac_token(EVP_sha256(), SECRET, strlen(SECRET), header, payload), message);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int write_public_pem(EVP_PKEY *key, const char *path)
{
    FILE *file = fopen(path, "w");
    if (!file)
        return -1;
    int ok = PEM_write_PUBKEY(file, key);
    return fclose(file) == 0 && ok == 1 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    strcpy(key_dir, "/tmp/restable-auth-test.XXXXXX");
    if (!rsa_key || !ec_key || !mkdtemp(key_dir))
        return -1;
    snprintf(rsa_pem_path, sizeof rsa_pem_path, "%s/rsa.pem", key_dir);
    snprintf(ec_pem_path, sizeof ec_pem_path, "%s/ec.pem", key_dir);
    if (write_public_pem(rsa_key, rsa_pem_path) < 0 || write_public_pem(ec_key, ec_pem_path) < 0)
        return -1;
    FILE *file = fopen(rsa_pem_path, "r");
    if (!file)
        return -1;
    rsa_pem_bytes = malloc(8192);
    rsa_pem_length = rsa_pem_bytes ? fread(rsa_pem_bytes, 1, 8192, file) : 0;
    fclose(file);
    return rsa_pem_length > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    free(rsa_pem_bytes);
    unlink(rsa_pem_path);
    unlink(ec_pem_path);
    rmdir(key_dir);
    return 0;
}

/* ---- accepted tokens ----------------------------------------------------------------------- */

static void test_hs256_token_is_accepted_with_principal_fields(void **state)
{
    (void)state;
    long exp = (long)time(NULL) + 3600;
    char *payload = NULL;
    assert_true(asprintf(&payload, "{\"sub\":\"alice\",\"exp\":%ld,\"scope\":\"read  write\","
                                   "\"roles\":[\"admin\",\"editor\"],\"role\":\"viewer\"}",
                         exp) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_principal principal;
    expect_accepted(&config, hs256_token(payload), &principal);
    free(payload);
    assert_string_equal(principal.subject, "alice");
    assert_int_equal(principal.scope_count, 2);
    assert_string_equal(principal.scopes[0], "read");
    assert_string_equal(principal.scopes[1], "write");
    assert_int_equal(principal.role_count, 3);
    assert_string_equal(principal.roles[0], "admin");
    assert_string_equal(principal.roles[1], "editor");
    assert_string_equal(principal.roles[2], "viewer");
    assert_non_null(strstr(principal.claims_json, "\"sub\":\"alice\""));
    assert_int_equal(principal.expires_at, exp);
    auth_principal_clear(&principal);
    assert_null(principal.subject);
}

static void test_hs384_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS384);
    char *payload = claims("");
    struct auth_principal principal;
    expect_accepted(&config, hmac_token(EVP_sha384(), SECRET, strlen(SECRET),
                                        "{\"alg\":\"HS384\"}", payload), &principal);
    assert_string_equal(principal.subject, "alice");
    auth_principal_clear(&principal);
    free(payload);
}

static void test_hs512_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS512);
    char *payload = claims("");
    struct auth_principal principal;
    expect_accepted(&config, hmac_token(EVP_sha512(), SECRET, strlen(SECRET),
                                        "{\"alg\":\"HS512\"}", payload), &principal);
    assert_string_equal(principal.subject, "alice");
    auth_principal_clear(&principal);
    free(payload);
}

static void test_rs256_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    char *payload = claims("\"scope\":\"read\"");
    struct auth_principal principal;
    expect_accepted(&config, rs256_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload),
                    &principal);
    assert_string_equal(principal.subject, "alice");
    assert_int_equal(principal.scope_count, 1);
    assert_string_equal(principal.scopes[0], "read");
    auth_principal_clear(&principal);
    free(payload);
}

static void test_es256_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_ES256);
    char *payload = claims("\"role\":\"ops\"");
    struct auth_principal principal;
    expect_accepted(&config, es256_token("{\"alg\":\"ES256\"}", payload), &principal);
    assert_string_equal(principal.subject, "alice");
    assert_int_equal(principal.role_count, 1);
    assert_string_equal(principal.roles[0], "ops");
    auth_principal_clear(&principal);
    free(payload);
}

static void test_numeric_sub_becomes_decimal_subject(void **state)
{
    (void)state;
    char *payload = NULL;
    assert_true(asprintf(&payload, "{\"sub\":12345,\"exp\":%ld}", (long)time(NULL) + 60) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_principal principal;
    expect_accepted(&config, hs256_token(payload), &principal);
    assert_string_equal(principal.subject, "12345");
    assert_int_equal(principal.scope_count, 0);
    assert_int_equal(principal.role_count, 0);
    auth_principal_clear(&principal);
    free(payload);
}

static void test_absent_header_gives_anonymous_principal(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    struct rs_error error = {0};
    struct auth_principal principal;
    memset(&principal, 0xff, sizeof principal);
    assert_int_equal(auth_verify_bearer(verifier, NULL, &principal, &error), 0);
    assert_false(principal.is_authenticated);
    assert_null(principal.subject);
    assert_int_equal(principal.scope_count, 0);
    auth_verifier_free(verifier);
}

/* ---- algorithm and header attacks ---------------------------------------------------------- */

static void test_alg_none_with_empty_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    char *input = signing_input("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload);
    char *token = NULL;
    assert_true(asprintf(&token, "%s.", input) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, token, "algorithm not allowed");
    free(input);
    free(payload);
}

static void test_alg_none_with_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("{\"alg\":\"none\"}", payload, "algorithm not allowed");
    free(payload);
}

static void test_alg_capitalised_none_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("{\"alg\":\"None\"}", payload, "algorithm not allowed");
    free(payload);
}

static void test_key_confusion_hs256_signed_with_rsa_public_key_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_RS256);
    expect_refused(&config, hmac_token(EVP_sha256(), rsa_pem_bytes, rsa_pem_length,
                                       HS256_HEADER, payload), "algorithm not allowed");
    free(payload);
}

static void test_hs384_token_is_refused_when_hs256_configured(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, hmac_token(EVP_sha384(), SECRET, strlen(SECRET),
                                       "{\"alg\":\"HS384\"}", payload), "algorithm not allowed");
    free(payload);
}

static void test_rs256_token_is_refused_when_es256_configured(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_ES256);
    expect_refused(&config, rs256_token("{\"alg\":\"RS256\"}", payload), "algorithm not allowed");
    free(payload);
}

static void expect_key_selector_refused(const char *header, const char *message)
{
    char *payload = claims("");
    expect_hs256_refused(header, payload, message);
    free(payload);
}

static void test_kid_header_is_refused(void **state)
{
    (void)state;
    expect_key_selector_refused("{\"alg\":\"HS256\",\"kid\":\"../../dev/null\"}",
                                "kid header not allowed");
}

static void test_jku_header_is_refused(void **state)
{
    (void)state;
    expect_key_selector_refused("{\"alg\":\"HS256\",\"jku\":\"https://evil.example/jwks\"}",
                                "jku header not allowed");
}

static void test_x5u_header_is_refused(void **state)
{
    (void)state;
    expect_key_selector_refused("{\"alg\":\"HS256\",\"x5u\":\"https://evil.example/c.pem\"}",
                                "x5u header not allowed");
}

static void test_jwk_header_is_refused(void **state)
{
    (void)state;
    expect_key_selector_refused("{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
                                "jwk header not allowed");
}

static void test_x5c_header_is_refused(void **state)
{
    (void)state;
    expect_key_selector_refused("{\"alg\":\"HS256\",\"x5c\":[\"MIIB\"]}",
                                "x5c header not allowed");
}

static void test_crit_header_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", payload,
                         "crit header not supported");
    free(payload);
}

static void test_unexpected_typ_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("{\"alg\":\"HS256\",\"typ\":\"JOSE+foo\"}", payload,
                         "unexpected typ header");
    free(payload);
}

static void test_wrong_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    const char *other = "ffffffffffffffffffffffffffffffff";
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, hmac_token(EVP_sha256(), other, strlen(other), HS256_HEADER, payload),
                   "signature mismatch");
    free(payload);
}

static void test_tampered_payload_with_old_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("\"role\":\"user\"");
    char *token = hs256_token(payload);
    char *old_signature = strrchr(token, '.') + 1;
    char *forged_payload = claims("\"role\":\"admin\"");
    char *input = signing_input(HS256_HEADER, forged_payload);
    char *forged = NULL;
    assert_true(asprintf(&forged, "%s.%s", input, old_signature) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, forged, "signature mismatch");
    free(input);
    free(forged_payload);
    free(token);
    free(payload);
}

static void test_es256_der_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    char *input = signing_input("{\"alg\":\"ES256\"}", payload);
    size_t length = 0;
    unsigned char *der = digest_sign(ec_key, input, &length);
    struct cfg_config config = config_for(CFG_JWT_ES256);
    expect_refused(&config, append_signature(input, der, length), "signature mismatch");
    free(der);
    free(payload);
}

/* ---- time, issuer and audience claims ------------------------------------------------------ */

static char *payload_with_exp(long exp, const char *extra)
{
    char *payload = NULL;
    assert_true(asprintf(&payload, "{\"sub\":\"alice\",\"exp\":%ld%s}", exp, extra) > 0);
    return payload;
}

static void test_expired_token_is_refused(void **state)
{
    (void)state;
    char *payload = payload_with_exp((long)time(NULL) - 3600, "");
    expect_hs256_refused(HS256_HEADER, payload, "token expired");
    free(payload);
}

static void test_token_expired_within_leeway_is_accepted(void **state)
{
    (void)state;
    char *payload = payload_with_exp((long)time(NULL) - 10, "");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.leeway_s = 30;
    struct auth_principal principal;
    expect_accepted(&config, hs256_token(payload), &principal);
    auth_principal_clear(&principal);
    free(payload);
}

static void test_missing_exp_is_refused(void **state)
{
    (void)state;
    expect_hs256_refused(HS256_HEADER, "{\"sub\":\"alice\"}", "missing exp claim");
}

static void test_exp_as_string_is_refused(void **state)
{
    (void)state;
    expect_hs256_refused(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":\"9999999999\"}",
                         "exp claim is not a number");
}

static void test_nbf_in_the_future_is_refused(void **state)
{
    (void)state;
    char *extra = NULL;
    assert_true(asprintf(&extra, ",\"nbf\":%ld", (long)time(NULL) + 600) > 0);
    char *payload = payload_with_exp((long)time(NULL) + 3600, extra);
    expect_hs256_refused(HS256_HEADER, payload, "token not yet valid");
    free(payload);
    free(extra);
}

static void test_exp_beyond_long_range_is_accepted_without_overflow(void **state)
{
    (void)state;
    const char *payloads[] = {"{\"sub\":\"alice\",\"exp\":9223372036854775807}",
                              "{\"sub\":\"alice\",\"exp\":1e300}"};
    struct cfg_config config = config_for(CFG_JWT_HS256);
    for (int i = 0; i < 2; i++) {
        struct auth_principal principal;
        expect_accepted(&config, hs256_token(payloads[i]), &principal);
        assert_true(principal.expires_at > (long)time(NULL));
        auth_principal_clear(&principal);
    }
}

static void test_exp_far_in_the_past_as_real_is_refused(void **state)
{
    (void)state;
    expect_hs256_refused(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":-1e300}", "token expired");
}

static void test_iat_in_the_future_is_refused(void **state)
{
    (void)state;
    char *extra = NULL;
    assert_true(asprintf(&extra, ",\"iat\":%ld", (long)time(NULL) + 600) > 0);
    char *payload = payload_with_exp((long)time(NULL) + 3600, extra);
    expect_hs256_refused(HS256_HEADER, payload, "token issued in the future");
    free(payload);
    free(extra);
}

static void test_typ_at_jwt_is_accepted(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_principal principal;
    expect_accepted(&config, hmac_token(EVP_sha256(), SECRET, strlen(SECRET),
                                        "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", payload),
                    &principal);
    assert_string_equal(principal.subject, "alice");
    auth_principal_clear(&principal);
    free(payload);
}

static void test_issuer_mismatch_is_refused(void **state)
{
    (void)state;
    char *payload = claims("\"iss\":\"https://evil.example\"");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.issuer = "https://issuer.example";
    expect_refused(&config, hs256_token(payload), "issuer mismatch");
    free(payload);
}

static void test_missing_issuer_is_refused_when_configured(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.issuer = "https://issuer.example";
    expect_refused(&config, hs256_token(payload), "issuer mismatch");
    free(payload);
}

static void test_audience_mismatch_is_refused(void **state)
{
    (void)state;
    char *payload = claims("\"aud\":\"other-api\"");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.audience = "restable";
    expect_refused(&config, hs256_token(payload), "audience mismatch");
    free(payload);
}

static void test_audience_array_containing_audience_is_accepted(void **state)
{
    (void)state;
    char *payload = claims("\"aud\":[\"other-api\",\"restable\"],\"iss\":\"https://i.example\"");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.audience = "restable";
    config.auth.issuer = "https://i.example";
    struct auth_principal principal;
    expect_accepted(&config, hs256_token(payload), &principal);
    auth_principal_clear(&principal);
    free(payload);
}

static void test_audience_array_without_audience_is_refused(void **state)
{
    (void)state;
    char *payload = claims("\"aud\":[\"other-api\",1]");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.audience = "restable";
    expect_refused(&config, hs256_token(payload), "audience mismatch");
    free(payload);
}

/* ---- malformed tokens and headers ---------------------------------------------------------- */

static void test_token_with_two_parts_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_header_refused(&config, "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0",
                          "malformed token");
}

static void test_token_with_four_parts_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    char *token = hs256_token(payload);
    char *longer = NULL;
    assert_true(asprintf(&longer, "%s.AAAA", token) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, longer, "malformed token");
    free(token);
    free(payload);
}

static void test_token_with_empty_parts_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_header_refused(&config, "Bearer ..", "malformed token");
    expect_header_refused(&config, "Bearer .eyJzdWIiOiJhIn0.AAAA", "malformed token");
    expect_header_refused(&config, "Bearer eyJhbGciOiJIUzI1NiJ9..AAAA", "malformed token");
}

static void test_empty_signature_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    char *input = signing_input(HS256_HEADER, payload);
    char *token = NULL;
    assert_true(asprintf(&token, "%s.", input) > 0);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, token, "signature mismatch");
    free(input);
    free(payload);
}

static void test_base64_padding_is_refused(void **state)
{
    (void)state;
    /* {"alg":"HS256"} is 15 bytes: unpadded 20 chars; add "==" padding onto a 16-byte header */
    char *payload = claims("");
    char *token = hs256_token(payload);
    char *padded = NULL;
    assert_true(asprintf(&padded, "%s=", token) > 0); /* signature part gains '=' */
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, padded, "malformed token");
    char *h = b64url_text("{\"alg\":\"HS256\"} ");
    char *p = b64url_text(payload);
    char *header_padded = NULL;
    assert_true(asprintf(&header_padded, "%s=.%s.AAAA", h, p) > 0);
    expect_refused(&config, header_padded, "malformed token");
    free(h);
    free(p);
    free(token);
    free(payload);
}

static void test_invalid_base64_characters_are_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    char *token = hs256_token(payload);
    token[3] = '+'; /* standard-base64 character, not base64url */
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, token, "malformed token");
    expect_header_refused(&config, "Bearer eyJh*GciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.AAAA",
                          "malformed token");
    free(payload);
}

static void test_header_not_json_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("alg=HS256", payload,
                         "malformed token");
    free(payload);
}

static void test_payload_json_array_is_refused(void **state)
{
    (void)state;
    expect_hs256_refused(HS256_HEADER, "[{\"sub\":\"alice\",\"exp\":99999999999}]",
                         "malformed token");
}

static void test_duplicate_header_member_is_refused(void **state)
{
    (void)state;
    char *payload = claims("");
    expect_hs256_refused("{\"alg\":\"HS256\",\"alg\":\"none\"}", payload,
                         "malformed token");
    free(payload);
}

static void test_token_over_8_kib_is_refused(void **state)
{
    (void)state;
    char *filler = malloc(AUTH_MAX_TOKEN_BYTES + 1);
    assert_non_null(filler);
    memset(filler, 'x', AUTH_MAX_TOKEN_BYTES);
    filler[AUTH_MAX_TOKEN_BYTES] = '\0';
    char *extra = NULL;
    assert_true(asprintf(&extra, "\"pad\":\"%s\"", filler) > 0);
    char *payload = claims(extra);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_refused(&config, hs256_token(payload), "token too large");
    free(payload);
    free(extra);
    free(filler);
}

static void test_basic_authorization_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_header_refused(&config, "Basic YWxpY2U6c2VjcmV0", "expected a Bearer token");
}

static void test_bearer_without_token_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_header_refused(&config, "Bearer ", "expected a Bearer token");
    expect_header_refused(&config, "Bearer    ", "expected a Bearer token");
    expect_header_refused(&config, "Bearer", "expected a Bearer token");
}

static void test_bearer_with_two_words_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    expect_header_refused(&config, "Bearer a b", "expected a Bearer token");
}

static void test_no_key_configured_refuses_every_token(void **state)
{
    (void)state;
    char *payload = claims("");
    struct cfg_config config = config_for(CFG_JWT_NONE);
    expect_refused(&config, hs256_token(payload), "tokens are not accepted: no key is configured");
    char *input = signing_input("{\"alg\":\"none\"}", payload);
    char *unsigned_token = NULL;
    assert_true(asprintf(&unsigned_token, "%s.", input) > 0);
    expect_refused(&config, unsigned_token, "tokens are not accepted: no key is configured");
    free(input);
    free(payload);
}

/* ---- cache --------------------------------------------------------------------------------- */

static void test_cached_token_gives_same_principal(void **state)
{
    (void)state;
    char *payload = claims("\"scope\":\"a b\",\"roles\":[\"r\"]");
    char *token = hs256_token(payload);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    struct rs_error error = {0};
    struct auth_principal first, second;
    assert_int_equal(verify_token_with(verifier, token, &first, &error), 0);
    assert_int_equal(verify_token_with(verifier, token, &second, &error), 0);
    assert_true(second.is_authenticated);
    assert_string_equal(first.subject, second.subject);
    assert_string_equal(first.claims_json, second.claims_json);
    assert_int_equal(first.expires_at, second.expires_at);
    assert_int_equal(second.scope_count, 2);
    assert_string_equal(second.scopes[1], "b");
    assert_int_equal(second.role_count, 1);
    assert_string_equal(second.roles[0], "r");
    assert_ptr_not_equal(first.subject, second.subject); /* independent copies */
    auth_principal_clear(&first);
    auth_principal_clear(&second);
    auth_verifier_free(verifier);
    free(token);
    free(payload);
}

static void test_cached_token_is_refused_once_expired(void **state)
{
    (void)state;
    char *payload = payload_with_exp((long)time(NULL) + 1, "");
    char *token = hs256_token(payload);
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.leeway_s = 0;
    struct auth_verifier *verifier = verifier_for(&config);
    struct rs_error error = {0};
    struct auth_principal principal;
    assert_int_equal(verify_token_with(verifier, token, &principal, &error), 0);
    auth_principal_clear(&principal);
    sleep(2);
    assert_int_equal(verify_token_with(verifier, token, &principal, &error), -1);
    assert_int_equal(error.status, 401);
    assert_string_equal(error.message, "token expired");
    assert_false(principal.is_authenticated);
    auth_verifier_free(verifier);
    free(token);
    free(payload);
}

/* ---- verifier creation --------------------------------------------------------------------- */

static void test_verifier_refuses_31_byte_secret(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.secret = "0123456789abcdef0123456789abcde";
    assert_int_equal(strlen(config.auth.secret), 31);
    struct rs_error error = {0};
    assert_null(auth_verifier_new(&config, &error));
    assert_non_null(strstr(error.message, "32 bytes"));
}

static void test_verifier_refuses_rsa_key_when_es256_configured(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_ES256);
    config.auth.public_key_file = rsa_pem_path;
    struct rs_error error = {0};
    assert_null(auth_verifier_new(&config, &error));
    assert_non_null(strstr(error.message, "must be an EC key on curve P-256"));
}

static void test_verifier_refuses_ec_key_on_other_256_bit_curve(void **state)
{
    (void)state;
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    assert_non_null(k1);
    char path[160];
    snprintf(path, sizeof path, "%s/k1.pem", key_dir);
    assert_int_equal(write_public_pem(k1, path), 0);
    EVP_PKEY_free(k1);
    struct cfg_config config = config_for(CFG_JWT_ES256);
    config.auth.public_key_file = path;
    struct rs_error error = {0};
    struct auth_verifier *verifier = auth_verifier_new(&config, &error);
    unlink(path);
    assert_null(verifier);
    assert_non_null(strstr(error.message, "must be an EC key on curve P-256"));
}

static void test_verifier_refuses_missing_key_file(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    config.auth.public_key_file = "/nonexistent/restable/key.pem";
    struct rs_error error = {0};
    assert_null(auth_verifier_new(&config, &error));
    assert_non_null(strstr(error.message, "auth.jwt.public_key_file"));
}

/* ---- policy -------------------------------------------------------------------------------- */

static void test_public_policy_allows_anonymous(void **state)
{
    (void)state;
    struct cfg_policy policy = {.kind = CFG_POLICY_PUBLIC};
    struct auth_principal anonymous = {0};
    assert_true(auth_policy_allows(&policy, &anonymous));
}

static void test_authenticated_policy_refuses_anonymous(void **state)
{
    (void)state;
    struct cfg_policy policy = {.kind = CFG_POLICY_AUTHENTICATED};
    struct auth_principal anonymous = {0};
    assert_false(auth_policy_allows(&policy, &anonymous));
}

static void test_authenticated_policy_allows_principal(void **state)
{
    (void)state;
    struct cfg_policy policy = {.kind = CFG_POLICY_AUTHENTICATED};
    struct auth_principal principal = {.is_authenticated = true, .subject = "alice"};
    assert_true(auth_policy_allows(&policy, &principal));
}

static void test_scope_grant_requires_held_scope(void **state)
{
    (void)state;
    char *grants[] = {"scope:write", "role:admin"};
    struct cfg_policy policy = {.kind = CFG_POLICY_GRANTS, .grants = grants, .grant_count = 2};
    char *held[] = {"read", "write"};
    char *not_held[] = {"read", "writer"};
    struct auth_principal with = {.is_authenticated = true, .scopes = held, .scope_count = 2};
    struct auth_principal without = {.is_authenticated = true, .scopes = not_held,
                                     .scope_count = 2};
    assert_true(auth_policy_allows(&policy, &with));
    assert_false(auth_policy_allows(&policy, &without));
}

static void test_role_grant_matches_roles_array_and_role_claim(void **state)
{
    (void)state;
    char *grants[] = {"role:admin"};
    struct cfg_policy policy = {.kind = CFG_POLICY_GRANTS, .grants = grants, .grant_count = 1};
    struct cfg_config config = config_for(CFG_JWT_HS256);
    const char *payloads[] = {"\"roles\":[\"user\",\"admin\"]", "\"role\":\"admin\""};
    for (int i = 0; i < 2; i++) {
        char *payload = claims(payloads[i]);
        struct auth_principal principal;
        expect_accepted(&config, hs256_token(payload), &principal);
        assert_true(auth_policy_allows(&policy, &principal));
        auth_principal_clear(&principal);
        free(payload);
    }
    char *payload = claims("\"roles\":[\"user\"],\"role\":\"administrator\",\"scope\":\"admin\"");
    struct auth_principal principal;
    expect_accepted(&config, hs256_token(payload), &principal);
    assert_false(auth_policy_allows(&policy, &principal));
    auth_principal_clear(&principal);
    free(payload);
}

static void test_grants_refuse_anonymous(void **state)
{
    (void)state;
    char *grants[] = {"scope:read", "role:admin"};
    struct cfg_policy policy = {.kind = CFG_POLICY_GRANTS, .grants = grants, .grant_count = 2};
    struct auth_principal anonymous = {0};
    assert_false(auth_policy_allows(&policy, &anonymous));
    /* holding the names without being authenticated is not enough */
    char *scopes[] = {"read"};
    struct auth_principal forged = {.scopes = scopes, .scope_count = 1};
    assert_false(auth_policy_allows(&policy, &forged));
}

/* ---- issuing ------------------------------------------------------------------------------- */

static void test_issued_token_verifies_back(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.issuer = "https://issuer.example";
    config.auth.audience = "restable";
    const char *roles[] = {"admin", "ops"};
    struct rs_error error = {0};
    long before = (long)time(NULL);
    char *token = auth_token_issue(&config, "bob", "read write", roles, 2, 600, &error);
    if (!token)
        fail_msg("auth_token_issue: %s", error.message);
    struct auth_principal principal;
    expect_accepted(&config, token, &principal);
    assert_string_equal(principal.subject, "bob");
    assert_int_equal(principal.scope_count, 2);
    assert_string_equal(principal.scopes[0], "read");
    assert_string_equal(principal.scopes[1], "write");
    assert_int_equal(principal.role_count, 2);
    assert_string_equal(principal.roles[0], "admin");
    assert_string_equal(principal.roles[1], "ops");
    assert_non_null(strstr(principal.claims_json, "\"iss\":\"https://issuer.example\""));
    assert_non_null(strstr(principal.claims_json, "\"aud\":\"restable\""));
    assert_in_range(principal.expires_at, before + 600, (long)time(NULL) + 600);
    auth_principal_clear(&principal);
}

static void test_issue_refused_for_rs256_config(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct rs_error error = {0};
    assert_null(auth_token_issue(&config, "bob", NULL, NULL, 0, 600, &error));
    assert_non_null(strstr(error.message, "HS256"));
}

/* ---- passwords ----------------------------------------------------------------------------- */

static void test_password_hash_has_documented_format(void **state)
{
    (void)state;
    char *stored = auth_password_hash("correct horse", 1000);
    assert_non_null(stored);
    assert_true(strncmp(stored, "pbkdf2_sha256$1000$", 19) == 0);
    const char *salt = stored + 19;
    const char *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    assert_int_equal(dollar - salt, 24);      /* 16 bytes, padded base64 */
    assert_int_equal(strlen(dollar + 1), 44); /* 32 bytes, padded base64 */
    assert_null(strchr(dollar + 1, '$'));
    free(stored);
}

static void test_password_verify_accepts_right_and_refuses_wrong(void **state)
{
    (void)state;
    char *stored = auth_password_hash("correct horse", 1000);
    assert_non_null(stored);
    assert_true(auth_password_verify("correct horse", stored, 1000));
    assert_false(auth_password_verify("correct horsf", stored, 1000));
    assert_false(auth_password_verify("", stored, 1000));
    free(stored);
}

static void test_password_verify_with_null_stored_is_false(void **state)
{
    (void)state;
    assert_false(auth_password_verify("anything", NULL, 1000));
}

static void test_password_verify_with_malformed_stored_is_false(void **state)
{
    (void)state;
    char *stored = auth_password_hash("pw", 1000);
    assert_non_null(stored);
    char *wrong_rounds = NULL, *truncated = strdup(stored), *other_scheme = NULL;
    assert_non_null(truncated);
    truncated[strlen(truncated) - 4] = '\0';
    assert_true(asprintf(&wrong_rounds, "pbkdf2_sha256$1001$%s", stored + 19) > 0);
    assert_true(asprintf(&other_scheme, "pbkdf2_sha512$%s", stored + 14) > 0);
    const char *bad[] = {
        "",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$1000",
        "pbkdf2_sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==",
        "pbkdf2_sha256$0$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pbkdf2_sha256$1000$!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pbkdf2_sha256$1000$c2FsdA==$AAAA",
        "plaintext-password",
        truncated,
        wrong_rounds,
        other_scheme,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(auth_password_verify("pw", bad[i], 1000));
    free(truncated);
    free(wrong_rounds);
    free(other_scheme);
    free(stored);
}

static void test_password_hashes_use_random_salt(void **state)
{
    (void)state;
    char *first = auth_password_hash("same", 1000);
    char *second = auth_password_hash("same", 1000);
    assert_non_null(first);
    assert_non_null(second);
    assert_string_not_equal(first, second);
    assert_true(auth_password_verify("same", first, 1000));
    assert_true(auth_password_verify("same", second, 1000));
    free(first);
    free(second);
}

/* ---- concurrency --------------------------------------------------------------------------- */

struct thread_job {
    struct auth_verifier *verifier;
    const char *token;
    int successes;
};

static void *verify_many(void *argument)
{
    struct thread_job *job = argument;
    for (int i = 0; i < 200; i++) {
        struct rs_error error = {0};
        struct auth_principal principal;
        char header[1024];
        snprintf(header, sizeof header, "Bearer %s", job->token);
        if (auth_verify_bearer(job->verifier, header, &principal, &error) == 0 &&
            principal.subject && strcmp(principal.subject, "alice") == 0)
            job->successes++;
        auth_principal_clear(&principal);
    }
    return NULL;
}

static void test_concurrent_verification_of_same_token_succeeds(void **state)
{
    (void)state;
    char *payload = claims("\"scope\":\"read\"");
    char *token = rs256_token("{\"alg\":\"RS256\"}", payload);
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct auth_verifier *verifier = verifier_for(&config);
    struct thread_job jobs[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct thread_job){.verifier = verifier, .token = token};
        assert_int_equal(pthread_create(&threads[i], NULL, verify_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(jobs[i].successes, 200);
    }
    auth_verifier_free(verifier);
    free(token);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256_token_is_accepted_with_principal_fields),
        cmocka_unit_test(test_hs384_token_is_accepted),
        cmocka_unit_test(test_hs512_token_is_accepted),
        cmocka_unit_test(test_rs256_token_is_accepted),
        cmocka_unit_test(test_es256_token_is_accepted),
        cmocka_unit_test(test_numeric_sub_becomes_decimal_subject),
        cmocka_unit_test(test_absent_header_gives_anonymous_principal),
        cmocka_unit_test(test_alg_none_with_empty_signature_is_refused),
        cmocka_unit_test(test_alg_none_with_signature_is_refused),
        cmocka_unit_test(test_alg_capitalised_none_is_refused),
        cmocka_unit_test(test_key_confusion_hs256_signed_with_rsa_public_key_is_refused),
        cmocka_unit_test(test_hs384_token_is_refused_when_hs256_configured),
        cmocka_unit_test(test_rs256_token_is_refused_when_es256_configured),
        cmocka_unit_test(test_kid_header_is_refused),
        cmocka_unit_test(test_jku_header_is_refused),
        cmocka_unit_test(test_x5u_header_is_refused),
        cmocka_unit_test(test_jwk_header_is_refused),
        cmocka_unit_test(test_x5c_header_is_refused),
        cmocka_unit_test(test_crit_header_is_refused),
        cmocka_unit_test(test_unexpected_typ_is_refused),
        cmocka_unit_test(test_wrong_signature_is_refused),
        cmocka_unit_test(test_tampered_payload_with_old_signature_is_refused),
        cmocka_unit_test(test_es256_der_signature_is_refused),
        cmocka_unit_test(test_expired_token_is_refused),
        cmocka_unit_test(test_token_expired_within_leeway_is_accepted),
        cmocka_unit_test(test_missing_exp_is_refused),
        cmocka_unit_test(test_exp_as_string_is_refused),
        cmocka_unit_test(test_nbf_in_the_future_is_refused),
        cmocka_unit_test(test_exp_beyond_long_range_is_accepted_without_overflow),
        cmocka_unit_test(test_exp_far_in_the_past_as_real_is_refused),
        cmocka_unit_test(test_iat_in_the_future_is_refused),
        cmocka_unit_test(test_typ_at_jwt_is_accepted),
        cmocka_unit_test(test_issuer_mismatch_is_refused),
        cmocka_unit_test(test_missing_issuer_is_refused_when_configured),
        cmocka_unit_test(test_audience_mismatch_is_refused),
        cmocka_unit_test(test_audience_array_containing_audience_is_accepted),
        cmocka_unit_test(test_audience_array_without_audience_is_refused),
        cmocka_unit_test(test_token_with_two_parts_is_refused),
        cmocka_unit_test(test_token_with_four_parts_is_refused),
        cmocka_unit_test(test_token_with_empty_parts_is_refused),
        cmocka_unit_test(test_empty_signature_is_refused),
        cmocka_unit_test(test_base64_padding_is_refused),
        cmocka_unit_test(test_invalid_base64_characters_are_refused),
        cmocka_unit_test(test_header_not_json_is_refused),
        cmocka_unit_test(test_payload_json_array_is_refused),
        cmocka_unit_test(test_duplicate_header_member_is_refused),
        cmocka_unit_test(test_token_over_8_kib_is_refused),
        cmocka_unit_test(test_basic_authorization_is_refused),
        cmocka_unit_test(test_bearer_without_token_is_refused),
        cmocka_unit_test(test_bearer_with_two_words_is_refused),
        cmocka_unit_test(test_no_key_configured_refuses_every_token),
        cmocka_unit_test(test_cached_token_gives_same_principal),
        cmocka_unit_test(test_cached_token_is_refused_once_expired),
        cmocka_unit_test(test_verifier_refuses_31_byte_secret),
        cmocka_unit_test(test_verifier_refuses_rsa_key_when_es256_configured),
        cmocka_unit_test(test_verifier_refuses_ec_key_on_other_256_bit_curve),
        cmocka_unit_test(test_verifier_refuses_missing_key_file),
        cmocka_unit_test(test_public_policy_allows_anonymous),
        cmocka_unit_test(test_authenticated_policy_refuses_anonymous),
        cmocka_unit_test(test_authenticated_policy_allows_principal),
        cmocka_unit_test(test_scope_grant_requires_held_scope),
        cmocka_unit_test(test_role_grant_matches_roles_array_and_role_claim),
        cmocka_unit_test(test_grants_refuse_anonymous),
        cmocka_unit_test(test_issued_token_verifies_back),
        cmocka_unit_test(test_issue_refused_for_rs256_config),
        cmocka_unit_test(test_password_hash_has_documented_format),
        cmocka_unit_test(test_password_verify_accepts_right_and_refuses_wrong),
        cmocka_unit_test(test_password_verify_with_null_stored_is_false),
        cmocka_unit_test(test_password_verify_with_malformed_stored_is_false),
        cmocka_unit_test(test_password_hashes_use_random_salt),
        cmocka_unit_test(test_concurrent_verification_of_same_token_succeeds),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
