/*
 * tests/unit/test_auth.c — the auth module against real tokens: tokens made with libjwt and
 * by hand (base64url header and payload signed here with OpenSSL HMAC, RSA and EC keys
 * generated for the run), every JWT mistake the verifier must refuse, the verification cache,
 * policies, token issuing and PBKDF2 password hashes. Configs are built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
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

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS256_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define ES256_HEADER "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"

/* ---- keys generated once for the run ----------------------------------------------------- */

static struct {
    char dir[64];
    char rsa_path[128], ec_path[128], rsa1024_path[128], k1_path[128], junk_path[128];
    EVP_PKEY *rsa, *rsa_other, *ec, *ec_other;
    char *rsa_pem; /* the RSA public key file's text: the key-confusion HMAC secret */
} keys;

static int write_public_key(const char *path, EVP_PKEY *key)
{
    BIO *file = BIO_new_file(path, "w");
    int ok = file && PEM_write_bio_PUBKEY(file, key) == 1;
    BIO_free(file);
    return ok ? 0 : -1;
}

static char *read_text(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    char *text = calloc(1, 8192);
    size_t used = text ? fread(text, 1, 8191, file) : 0;
    fclose(file);
    if (text && used == 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int setup_keys(void **state)
{
    (void)state;
    snprintf(keys.dir, sizeof keys.dir, "/tmp/restable-auth-test.XXXXXX");
    if (!mkdtemp(keys.dir))
        return -1;
    snprintf(keys.rsa_path, sizeof keys.rsa_path, "%s/rsa.pem", keys.dir);
    snprintf(keys.ec_path, sizeof keys.ec_path, "%s/ec.pem", keys.dir);
    snprintf(keys.rsa1024_path, sizeof keys.rsa1024_path, "%s/rsa1024.pem", keys.dir);
    snprintf(keys.k1_path, sizeof keys.k1_path, "%s/secp256k1.pem", keys.dir);
    snprintf(keys.junk_path, sizeof keys.junk_path, "%s/junk.pem", keys.dir);
    keys.rsa = EVP_RSA_gen(2048);
    keys.rsa_other = EVP_RSA_gen(2048);
    keys.ec = EVP_EC_gen("P-256");
    keys.ec_other = EVP_EC_gen("P-256");
    EVP_PKEY *rsa1024 = EVP_RSA_gen(1024);
    EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
    int status = keys.rsa && keys.rsa_other && keys.ec && keys.ec_other && rsa1024 && k1 &&
                         write_public_key(keys.rsa_path, keys.rsa) == 0 &&
                         write_public_key(keys.ec_path, keys.ec) == 0 &&
                         write_public_key(keys.rsa1024_path, rsa1024) == 0 &&
                         write_public_key(keys.k1_path, k1) == 0
                     ? 0
                     : -1;
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(k1);
    FILE *junk = fopen(keys.junk_path, "w");
    if (!junk || fputs("this is not a key\n", junk) < 0)
        status = -1;
    if (junk)
        fclose(junk);
    keys.rsa_pem = read_text(keys.rsa_path);
    return keys.rsa_pem ? status : -1;
}

static int teardown_keys(void **state)
{
    (void)state;
    unlink(keys.rsa_path);
    unlink(keys.ec_path);
    unlink(keys.rsa1024_path);
    unlink(keys.k1_path);
    unlink(keys.junk_path);
    rmdir(keys.dir);
    EVP_PKEY_free(keys.rsa);
    EVP_PKEY_free(keys.rsa_other);
    EVP_PKEY_free(keys.ec);
    EVP_PKEY_free(keys.ec_other);
    free(keys.rsa_pem);
    return 0;
}

/* ---- building tokens by hand ------------------------------------------------------------- */

static char *b64url(const void *data, size_t length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *bytes = data;
    char *text = malloc(length * 4 / 3 + 4);
    assert_non_null(text);
    size_t used = 0;
    for (size_t i = 0; i < length; i += 3) {
        unsigned int chunk = (unsigned int)bytes[i] << 16;
        if (i + 1 < length)
            chunk |= (unsigned int)bytes[i + 1] << 8;
        if (i + 2 < length)
            chunk |= bytes[i + 2];
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

static char *format(const char *pattern, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *pattern, ...)
{
    va_list args;
    va_start(args, pattern);
    char *text = NULL;
    int length = vasprintf(&text, pattern, args);
    va_end(args);
    assert_true(length >= 0);
    return text;
}

/* "b64(header).b64(payload)" */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    char *input = format("%s.%s", h, p);
    free(h);
    free(p);
    return input;
}

static char *append_signature(char *input, const unsigned char *signature, size_t length)
{
    char *s = b64url(signature, length);
    char *token = format("%s.%s", input, s);
    free(s);
    free(input);
    return token;
}

static char *make_hs(const char *header, const char *payload, const EVP_MD *digest, const void *key,
                     size_t key_length)
{
    char *input = signing_input(header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    assert_non_null(HMAC(digest, key, (int)key_length, (unsigned char *)input, strlen(input), mac,
                         &mac_length));
    return append_signature(input, mac, mac_length);
}

static char *make_hs256(const char *payload)
{
    return make_hs(HS256_HEADER, payload, EVP_sha256(), SECRET, strlen(SECRET));
}

/* RS256, or ES256 when as_jose_ec: the DER signature is rewritten as r||s. */
static char *make_signed(const char *header, const char *payload, EVP_PKEY *key, bool as_jose_ec)
{
    char *input = signing_input(header, payload);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t length = 0;
    assert_non_null(context);
    assert_int_equal(EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(context, NULL, &length, (unsigned char *)input, strlen(input)),
                     1);
    unsigned char *signature = malloc(length);
    assert_non_null(signature);
    assert_int_equal(
        EVP_DigestSign(context, signature, &length, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(context);
    if (as_jose_ec) {
        const unsigned char *der = signature;
        ECDSA_SIG *pair = d2i_ECDSA_SIG(NULL, &der, (long)length);
        assert_non_null(pair);
        unsigned char raw[64];
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(pair), raw, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(pair), raw + 32, 32), 32);
        ECDSA_SIG_free(pair);
        free(signature);
        return append_signature(input, raw, sizeof raw);
    }
    char *token = append_signature(input, signature, length);
    free(signature);
    return token;
}

/* A payload with sub alice and exp an hour away, plus `extra` members ("" or ",\"k\":v"). */
static char *payload_with(const char *extra)
{
    return format("{\"sub\":\"alice\",\"exp\":%ld%s}", (long)time(NULL) + 3600, extra);
}

/* ---- configs and verification ------------------------------------------------------------ */

static struct cfg_config config_for(enum cfg_jwt_algorithm algorithm)
{
    struct cfg_config config;
    memset(&config, 0, sizeof config);
    config.auth.algorithm = algorithm;
    config.auth.leeway_s = 30;
    if (algorithm == CFG_JWT_HS256 || algorithm == CFG_JWT_HS384 || algorithm == CFG_JWT_HS512)
        config.auth.secret = (char *)SECRET;
    else if (algorithm == CFG_JWT_RS256)
        config.auth.public_key_file = keys.rsa_path;
    else if (algorithm == CFG_JWT_ES256)
        config.auth.public_key_file = keys.ec_path;
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

static void expect_accepted(struct auth_verifier *verifier, const char *token,
                            struct auth_principal *principal)
{
    char *header = format("Bearer %s", token);
    struct rs_error error = {0};
    int status = auth_verify_bearer(verifier, header, principal, &error);
    free(header);
    if (status != 0)
        fail_msg("token refused: %s", error.message);
    assert_true(principal->is_authenticated);
}

/* Refused with 401 and exactly `reason`, which must be fit for error_description. */
static void expect_refused_header(struct auth_verifier *verifier, const char *authorization,
                                  const char *reason)
{
    struct auth_principal principal;
    struct rs_error error = {0};
    assert_int_equal(auth_verify_bearer(verifier, authorization, &principal, &error), -1);
    assert_int_equal(error.status, 401);
    assert_string_equal(error.message, reason);
    assert_null(strchr(error.message, '"'));
    assert_null(strchr(error.message, '\\'));
    assert_false(principal.is_authenticated);
    assert_null(principal.subject);
    assert_null(principal.claims_json);
}

static void expect_refused(struct auth_verifier *verifier, const char *token, const char *reason)
{
    char *header = format("Bearer %s", token);
    expect_refused_header(verifier, header, reason);
    free(header);
}

/* One hand-made HS256 token with the given payload, checked against an HS256 verifier. */
static void expect_hs256_payload_refused(const char *payload, const char *reason)
{
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *token = make_hs256(payload);
    expect_refused(verifier, token, reason);
    free(token);
    auth_verifier_free(verifier);
}

static void expect_hs256_header_refused(const char *header, const char *reason)
{
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs(header, payload, EVP_sha256(), SECRET, strlen(SECRET));
    expect_refused(verifier, token, reason);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static bool has_item(char **items, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(items[i], name) == 0)
            return true;
    return false;
}

/* ---- accepted tokens --------------------------------------------------------------------- */

static void test_hs256_token_made_by_libjwt_is_accepted_with_principal_fields(void **state)
{
    (void)state;
    long exp = (long)time(NULL) + 600;
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grant(jwt, "sub", "alice"), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
    assert_int_equal(jwt_add_grant(jwt, "scope", "  read   write "), 0);
    assert_int_equal(jwt_add_grant(jwt, "role", "auditor"), 0);
    assert_int_equal(jwt_add_grants_json(jwt, "{\"roles\":[\"admin\",7,\"editor\"]}"), 0);
    assert_int_equal(
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
    char *token = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(token);

    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    assert_string_equal(principal.subject, "alice");
    assert_int_equal(principal.expires_at, exp);
    assert_int_equal(principal.scope_count, 2);
    assert_string_equal(principal.scopes[0], "read");
    assert_string_equal(principal.scopes[1], "write");
    assert_int_equal(principal.role_count, 3); /* the number 7 is not a role */
    assert_true(has_item(principal.roles, principal.role_count, "admin"));
    assert_true(has_item(principal.roles, principal.role_count, "editor"));
    assert_true(has_item(principal.roles, principal.role_count, "auditor"));
    assert_non_null(strstr(principal.claims_json, "\"sub\":\"alice\""));
    assert_null(strchr(principal.claims_json, '\n'));
    auth_principal_clear(&principal);
    assert_null(principal.subject);
    free(token);
    auth_verifier_free(verifier);
}

static void test_hs384_and_hs512_handmade_tokens_are_accepted(void **state)
{
    (void)state;
    char *payload = payload_with("");
    struct {
        enum cfg_jwt_algorithm algorithm;
        const char *header;
        const EVP_MD *digest;
    } cases[] = {
        {CFG_JWT_HS384, "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", EVP_sha384()},
        {CFG_JWT_HS512, "{\"alg\":\"HS512\"}", EVP_sha512()},
    };
    for (size_t i = 0; i < 2; i++) {
        struct cfg_config config = config_for(cases[i].algorithm);
        struct auth_verifier *verifier = verifier_for(&config);
        char *token = make_hs(cases[i].header, payload, cases[i].digest, SECRET, strlen(SECRET));
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        assert_string_equal(principal.subject, "alice");
        auth_principal_clear(&principal);
        free(token);
        auth_verifier_free(verifier);
    }
    free(payload);
}

static void test_rs256_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with(",\"scope\":\"read\"");
    char *token = make_signed(RS256_HEADER, payload, keys.rsa, false);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    assert_string_equal(principal.subject, "alice");
    assert_int_equal(principal.scope_count, 1);
    auth_principal_clear(&principal);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_es256_token_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_ES256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    /* ECDSA signatures are random: sign several times so a short r or s gets exercised */
    for (int i = 0; i < 8; i++) {
        char *token = make_signed(ES256_HEADER, payload, keys.ec, true);
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        assert_string_equal(principal.subject, "alice");
        auth_principal_clear(&principal);
        free(token);
    }
    free(payload);
    auth_verifier_free(verifier);
}

static void test_numeric_sub_is_rendered_as_text(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = format("{\"sub\":42,\"exp\":%ld}", (long)time(NULL) + 60);
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    assert_string_equal(principal.subject, "42");
    assert_int_equal(principal.scope_count, 0);
    assert_int_equal(principal.role_count, 0);
    auth_principal_clear(&principal);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_typ_is_optional_and_case_insensitive(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    const char *headers[] = {"{\"alg\":\"HS256\"}", "{\"typ\":\"jwt\",\"alg\":\"HS256\"}",
                             "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}"};
    for (size_t i = 0; i < 3; i++) {
        char *token = make_hs(headers[i], payload, EVP_sha256(), SECRET, strlen(SECRET));
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        auth_principal_clear(&principal);
        free(token);
    }
    free(payload);
    auth_verifier_free(verifier);
}

/* ---- the header: algorithm and key selection --------------------------------------------- */

static void test_alg_none_without_signature_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *input = signing_input("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload);
    char *token = format("%s.", input);
    expect_refused(verifier, token, "algorithm not allowed");
    expect_refused(verifier, input, "malformed token"); /* no trailing dot: two parts */
    free(input);
    free(token);

    /* and the same from libjwt itself */
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, payload), 0);
    assert_int_equal(jwt_set_alg(jwt, JWT_ALG_NONE, NULL, 0), 0);
    token = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(token);
    expect_refused(verifier, token, "algorithm not allowed");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_alg_none_with_signature_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("{\"alg\":\"none\",\"typ\":\"JWT\"}", "algorithm not allowed");
}

static void test_alg_None_capitalised_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("{\"alg\":\"None\"}", "algorithm not allowed");
    expect_hs256_header_refused("{\"alg\":\"NONE\"}", "algorithm not allowed");
    expect_hs256_header_refused("{\"alg\":\"hs256\"}", "algorithm not allowed");
}

static void test_missing_or_non_string_alg_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("{\"typ\":\"JWT\"}", "algorithm not allowed");
    expect_hs256_header_refused("{\"alg\":[\"HS256\"]}", "algorithm not allowed");
    expect_hs256_header_refused("{\"alg\":null}", "algorithm not allowed");
}

static void test_hs384_token_is_refused_when_hs256_configured(void **state)
{
    (void)state;
    char *payload = payload_with("");
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *token = make_hs("{\"alg\":\"HS384\"}", payload, EVP_sha384(), SECRET, strlen(SECRET));
    expect_refused(verifier, token, "algorithm not allowed");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

/* The classic key confusion: RS256 configured, the attacker signs HS256 with the public PEM. */
static void test_hs256_signed_with_rsa_public_key_is_refused_when_rs256_configured(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs(HS256_HEADER, payload, EVP_sha256(), keys.rsa_pem, strlen(keys.rsa_pem));
    expect_refused(verifier, token, "algorithm not allowed");
    free(token);
    /* claiming RS256 while carrying the HMAC does not help either */
    token = make_hs(RS256_HEADER, payload, EVP_sha256(), keys.rsa_pem, strlen(keys.rsa_pem));
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_rs256_token_is_refused_by_an_es256_verifier(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_ES256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_signed(RS256_HEADER, payload, keys.rsa, false);
    expect_refused(verifier, token, "algorithm not allowed");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_key_selecting_headers_are_refused(void **state)
{
    (void)state;
    const char *members[] = {"kid", "jku", "x5u", "jwk", "x5c", "x5t"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        char *header = format("{\"alg\":\"HS256\",\"%s\":\"k1\"}", members[i]);
        char *reason = format("%s header not allowed", members[i]);
        expect_hs256_header_refused(header, reason);
        free(header);
        free(reason);
    }
}

static void test_crit_header_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
                                "crit header not supported");
}

static void test_unexpected_typ_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", "unexpected typ header");
    expect_hs256_header_refused("{\"alg\":\"HS256\",\"typ\":1}", "unexpected typ header");
}

/* ---- signatures -------------------------------------------------------------------------- */

static void test_wrong_signature_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    const char *other = "another-secret-of-enough-length-1234567890";
    char *token = make_hs(HS256_HEADER, payload, EVP_sha256(), other, strlen(other));
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    /* an HS256 MAC truncated to 16 bytes */
    char *input = signing_input(HS256_HEADER, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)input,
                         strlen(input), mac, &mac_length));
    token = append_signature(input, mac, 16);
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_tampered_payload_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with(",\"role\":\"user\"");
    char *token = make_hs256(payload);
    /* swap the payload for one granting admin, keep the original signature */
    char *forged_payload = payload_with(",\"role\":\"admin\"");
    char *forged_input = signing_input(HS256_HEADER, forged_payload);
    char *forged = format("%s%s", forged_input, strrchr(token, '.'));
    expect_refused(verifier, forged, "signature mismatch");
    free(forged);
    free(forged_input);
    free(forged_payload);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_rs256_token_signed_by_another_key_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_signed(RS256_HEADER, payload, keys.rsa_other, false);
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_es256_bad_signatures_are_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_ES256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_signed(ES256_HEADER, payload, keys.ec_other, true);
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    /* DER, as OpenSSL produces it, is not the JOSE form */
    token = make_signed(ES256_HEADER, payload, keys.ec, false);
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    /* r = s = 0 */
    unsigned char zeros[64] = {0};
    token = append_signature(signing_input(ES256_HEADER, payload), zeros, sizeof zeros);
    expect_refused(verifier, token, "signature mismatch");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

/* ---- structure and encoding -------------------------------------------------------------- */

static void test_two_and_four_part_tokens_are_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    char *four = format("%s.%s", token, "c2ln");
    expect_refused(verifier, four, "malformed token");
    *strrchr(token, '.') = '\0';
    expect_refused(verifier, token, "malformed token");
    expect_refused(verifier, "abc", "malformed token");
    expect_refused(verifier, "..", "malformed token");
    free(four);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_empty_header_or_payload_part_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    char *no_header = format("%s", strchr(token, '.'));
    expect_refused(verifier, no_header, "malformed token");
    char *first = strchr(token, '.');
    char *no_payload = format("%.*s.%s", (int)(first - token + 1), token, strrchr(token, '.'));
    expect_refused(verifier, no_payload, "malformed token");
    free(no_payload);
    free(no_header);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_base64_padding_and_foreign_characters_are_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    /* the HS256 signature is 43 characters: a padded form appends "=" */
    char *padded = format("%s=", token);
    expect_refused(verifier, padded, "malformed token");
    free(padded);
    size_t dots[2] = {(size_t)(strchr(token, '.') - token), (size_t)(strrchr(token, '.') - token)};
    const char bad[] = {'+', '/', '*', '=', '\t'};
    for (size_t i = 0; i < sizeof bad; i++) {
        for (size_t part = 0; part < 2; part++) {
            char *mangled = format("%s", token);
            mangled[dots[part] + 1] = bad[i];
            expect_refused(verifier, mangled, "malformed token");
            free(mangled);
        }
        char *mangled = format("%s", token);
        mangled[1] = bad[i];
        expect_refused(verifier, mangled, "malformed token");
        free(mangled);
    }
    /* the HS256 signature's last character carries 2 unused bits: non-zero is non-canonical */
    char *last = format("%s", token);
    char *end = last + strlen(last) - 1;
    *end = *end == 'B' ? 'C' : 'B';
    expect_refused(verifier, last, "malformed token");
    free(last);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_header_that_is_not_json_is_refused(void **state)
{
    (void)state;
    expect_hs256_header_refused("not json at all", "malformed token");
    expect_hs256_header_refused("\"HS256\"", "malformed token");
}

static void test_payload_that_is_a_json_array_is_refused(void **state)
{
    (void)state;
    expect_hs256_payload_refused("[{\"sub\":\"alice\",\"exp\":99999999999}]", "malformed token");
    expect_hs256_payload_refused("{\"sub\":\"alice\",", "malformed token");
}

static void test_duplicate_claims_are_refused(void **state)
{
    (void)state;
    char *payload =
        format("{\"sub\":\"alice\",\"sub\":\"root\",\"exp\":%ld}", (long)time(NULL) + 60);
    expect_hs256_payload_refused(payload, "malformed token");
    free(payload);
    expect_hs256_header_refused("{\"alg\":\"HS256\",\"alg\":\"none\"}", "malformed token");
}

static void test_token_over_8_kib_is_refused_and_8_kib_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *at_limit = NULL;
    /* grow a padding claim until the token is exactly AUTH_MAX_TOKEN_BYTES long */
    for (size_t pad = 6000; pad < 6200 && !at_limit; pad++) {
        char *filler = malloc(pad + 1);
        assert_non_null(filler);
        memset(filler, 'x', pad);
        filler[pad] = '\0';
        char *extra = format(",\"pad\":\"%s\"", filler);
        char *payload = payload_with(extra);
        char *token = make_hs256(payload);
        if (strlen(token) == AUTH_MAX_TOKEN_BYTES)
            at_limit = token;
        else
            free(token);
        free(payload);
        free(extra);
        free(filler);
    }
    assert_non_null(at_limit);
    struct auth_principal principal;
    expect_accepted(verifier, at_limit, &principal);
    auth_principal_clear(&principal);
    char *over = format("%sA", at_limit);
    expect_refused(verifier, over, "token too large");
    free(over);
    free(at_limit);
    auth_verifier_free(verifier);
}

/* ---- claims ------------------------------------------------------------------------------ */

static void test_expired_token_is_refused(void **state)
{
    (void)state;
    char *payload = format("{\"sub\":\"alice\",\"exp\":%ld}", (long)time(NULL) - 100);
    expect_hs256_payload_refused(payload, "token expired");
    free(payload);
}

static void test_token_expired_within_leeway_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = format("{\"sub\":\"alice\",\"exp\":%ld}", (long)time(NULL) - 10);
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_missing_exp_is_refused(void **state)
{
    (void)state;
    expect_hs256_payload_refused("{\"sub\":\"alice\"}", "missing exp claim");
}

static void test_non_numeric_exp_is_refused(void **state)
{
    (void)state;
    expect_hs256_payload_refused("{\"sub\":\"alice\",\"exp\":\"99999999999\"}",
                                 "exp claim is not a number");
    expect_hs256_payload_refused("{\"sub\":\"alice\",\"exp\":true}", "exp claim is not a number");
    expect_hs256_payload_refused("{\"sub\":\"alice\",\"exp\":null}", "exp claim is not a number");
}

static void test_real_and_extreme_exp_values_are_handled(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    const char *far[] = {"{\"exp\":9223372036854775807}", "{\"exp\":1e300}"};
    for (size_t i = 0; i < 2; i++) {
        char *token = make_hs256(far[i]);
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        assert_true(principal.expires_at > (long)time(NULL));
        assert_null(principal.subject);
        auth_principal_clear(&principal);
        free(token);
    }
    long now = (long)time(NULL);
    char *real = format("{\"exp\":%ld.5}", now + 60);
    char *token = make_hs256(real);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    assert_int_equal(principal.expires_at, now + 60); /* rounded down */
    auth_principal_clear(&principal);
    free(token);
    free(real);
    auth_verifier_free(verifier);
    expect_hs256_payload_refused("{\"exp\":-1e300}", "token expired");
    expect_hs256_payload_refused("{\"exp\":-9223372036854775807}", "token expired");
}

static void test_nbf_in_the_future_is_refused_and_within_leeway_accepted(void **state)
{
    (void)state;
    long now = (long)time(NULL);
    char *payload = format("{\"exp\":%ld,\"nbf\":%ld}", now + 600, now + 300);
    expect_hs256_payload_refused(payload, "token not yet valid");
    free(payload);
    expect_hs256_payload_refused("{\"exp\":99999999999,\"nbf\":\"soon\"}",
                                 "nbf claim is not a number");

    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    payload = format("{\"exp\":%ld,\"nbf\":%ld}", now + 600, now + 10);
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_iat_in_the_future_is_refused(void **state)
{
    (void)state;
    long now = (long)time(NULL);
    char *payload = format("{\"exp\":%ld,\"iat\":%ld}", now + 600, now + 300);
    expect_hs256_payload_refused(payload, "token issued in the future");
    free(payload);
    expect_hs256_payload_refused("{\"exp\":99999999999,\"iat\":[]}", "iat claim is not a number");
}

static void test_issuer_mismatch_or_absence_is_refused_when_configured(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.issuer = (char *)"https://issuer.example";
    struct auth_verifier *verifier = verifier_for(&config);
    const char *extras[] = {",\"iss\":\"https://evil.example\"", "",
                            ",\"iss\":[\"https://issuer.example\"]",
                            ",\"iss\":\"https://issuer.example/\""};
    for (size_t i = 0; i < 4; i++) {
        char *payload = payload_with(extras[i]);
        char *token = make_hs256(payload);
        expect_refused(verifier, token, "issuer mismatch");
        free(token);
        free(payload);
    }
    char *payload = payload_with(",\"iss\":\"https://issuer.example\"");
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_audience_mismatch_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.audience = (char *)"restable";
    struct auth_verifier *verifier = verifier_for(&config);
    const char *extras[] = {",\"aud\":\"other\"", "", ",\"aud\":[\"a\",\"b\"]", ",\"aud\":[]",
                            ",\"aud\":{\"restable\":true}"};
    for (size_t i = 0; i < 5; i++) {
        char *payload = payload_with(extras[i]);
        char *token = make_hs256(payload);
        expect_refused(verifier, token, "audience mismatch");
        free(token);
        free(payload);
    }
    auth_verifier_free(verifier);
}

static void test_audience_string_or_array_containing_it_is_accepted(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.audience = (char *)"restable";
    struct auth_verifier *verifier = verifier_for(&config);
    const char *extras[] = {",\"aud\":\"restable\"", ",\"aud\":[\"billing\",1,\"restable\"]"};
    for (size_t i = 0; i < 2; i++) {
        char *payload = payload_with(extras[i]);
        char *token = make_hs256(payload);
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        auth_principal_clear(&principal);
        free(token);
        free(payload);
    }
    auth_verifier_free(verifier);
}

/* ---- the Authorization header ------------------------------------------------------------ */

static void test_missing_header_gives_the_anonymous_principal(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    struct auth_principal principal;
    memset(&principal, 0xff, sizeof principal);
    struct rs_error error = {0};
    assert_int_equal(auth_verify_bearer(verifier, NULL, &principal, &error), 0);
    assert_false(principal.is_authenticated);
    assert_null(principal.subject);
    assert_int_equal(principal.scope_count, 0);
    assert_int_equal(principal.role_count, 0);
    auth_principal_clear(&principal);
    auth_verifier_free(verifier);
}

static void test_other_schemes_and_empty_bearer_are_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    char *trailing = format("Bearer %s extra", token);
    char *tab = format("Bearer\t%s", token);
    char *glued = format("Bearer%s", token);
    const char *headers[] = {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer    ", "",
                             "Token abc",          trailing, tab,       glued};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++)
        expect_refused_header(verifier, headers[i], "expected a Bearer token");
    free(trailing);
    free(tab);
    free(glued);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_bearer_scheme_is_case_insensitive_and_allows_several_spaces(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    const char *forms[] = {"bearer %s", "BEARER   %s"};
    for (size_t i = 0; i < 2; i++) {
        char *header = format(forms[i], token);
        struct auth_principal principal;
        struct rs_error error = {0};
        assert_int_equal(auth_verify_bearer(verifier, header, &principal, &error), 0);
        assert_string_equal(principal.subject, "alice");
        auth_principal_clear(&principal);
        free(header);
    }
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_no_key_configured_refuses_every_token(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_NONE);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    expect_refused(verifier, token, "tokens are not accepted: no key is configured");
    expect_refused(verifier, "a.b.", "tokens are not accepted: no key is configured");
    struct auth_principal principal;
    struct rs_error error = {0};
    assert_int_equal(auth_verify_bearer(verifier, NULL, &principal, &error), 0);
    assert_false(principal.is_authenticated);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

/* ---- verifier construction --------------------------------------------------------------- */

static void test_secret_shorter_than_32_bytes_is_refused(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.secret = (char *)"0123456789abcdef0123456789abcde"; /* 31 bytes */
    struct rs_error error = {0};
    assert_null(auth_verifier_new(&config, &error));
    assert_int_equal(error.status, 1);
    assert_string_equal(error.message, "auth.jwt.secret: must be at least 32 bytes");
    config.auth.secret = NULL;
    memset(&error, 0, sizeof error);
    assert_null(auth_verifier_new(&config, &error));
    assert_string_equal(error.message, "auth.jwt.secret: must be at least 32 bytes");
    config.auth.secret = (char *)"0123456789abcdef0123456789abcdef"; /* exactly 32 */
    struct auth_verifier *verifier = verifier_for(&config);
    auth_verifier_free(verifier);
}

static void test_public_key_that_does_not_fit_the_algorithm_is_refused(void **state)
{
    (void)state;
    struct {
        enum cfg_jwt_algorithm algorithm;
        const char *path;
        const char *expect;
    } cases[] = {
        {CFG_JWT_RS256, "/nonexistent/key.pem", "cannot read"},
        {CFG_JWT_RS256, keys.junk_path, "not a PEM public key"},
        {CFG_JWT_RS256, keys.rsa1024_path, "at least 2048 bits"},
        {CFG_JWT_RS256, keys.ec_path, "must be an RSA key"},
        {CFG_JWT_ES256, keys.rsa_path, "curve P-256"},
        {CFG_JWT_ES256, keys.k1_path, "curve P-256"},
        {CFG_JWT_ES256, NULL, "required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct cfg_config config = config_for(cases[i].algorithm);
        config.auth.public_key_file = (char *)cases[i].path;
        struct rs_error error = {0};
        assert_null(auth_verifier_new(&config, &error));
        assert_int_equal(error.status, 1);
        if (!strstr(error.message, cases[i].expect))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, error.message, cases[i].expect);
    }
}

/* ---- the cache --------------------------------------------------------------------------- */

static void test_cached_verification_returns_the_same_principal(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_RS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with(",\"scope\":\"a b\",\"roles\":[\"r\"]");
    char *token = make_signed(RS256_HEADER, payload, keys.rsa, false);
    struct auth_principal first, second;
    expect_accepted(verifier, token, &first);
    expect_accepted(verifier, token, &second);
    assert_string_equal(first.subject, second.subject);
    assert_ptr_not_equal(first.subject, second.subject); /* each caller owns its copy */
    assert_string_equal(first.claims_json, second.claims_json);
    assert_int_equal(first.expires_at, second.expires_at);
    assert_int_equal(second.scope_count, 2);
    assert_string_equal(second.scopes[1], "b");
    assert_int_equal(second.role_count, 1);
    assert_string_equal(second.roles[0], "r");
    auth_principal_clear(&first);
    auth_principal_clear(&second);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_cache_does_not_accept_a_tampered_copy_of_a_cached_token(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    char *tampered = format("%s", token);
    char *last = tampered + strlen(tampered) - 2;
    *last = *last == 'A' ? 'Q' : 'A';
    expect_refused(verifier, tampered, "signature mismatch");
    char *shorter = format("%.*s", (int)strlen(token) - 3, token); /* a 30-byte MAC */
    expect_refused(verifier, shorter, "signature mismatch");
    free(shorter);
    free(tampered);
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

static void test_cached_token_is_refused_once_expired(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.leeway_s = 0;
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = format("{\"sub\":\"alice\",\"exp\":%ld}", (long)time(NULL) + 1);
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    sleep(2);
    expect_refused(verifier, token, "token expired");
    free(token);
    free(payload);
    auth_verifier_free(verifier);
}

struct thread_job {
    struct auth_verifier *verifier;
    const char *headers[2];
    int failures;
};

static void *verify_in_a_loop(void *argument)
{
    struct thread_job *job = argument;
    for (int i = 0; i < 300; i++) {
        struct auth_principal principal;
        struct rs_error error = {0};
        const char *header = job->headers[i % 2];
        if (auth_verify_bearer(job->verifier, header, &principal, &error) != 0 ||
            !principal.subject || strcmp(principal.subject, "alice") != 0 ||
            principal.role_count != 1)
            job->failures++;
        auth_principal_clear(&principal);
    }
    return NULL;
}

static void test_same_token_verified_from_four_threads(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with(",\"role\":\"writer\"");
    char *other_payload = payload_with(",\"role\":\"reader\",\"n\":2");
    char *token = make_hs256(payload);
    char *other = make_hs256(other_payload);
    char *headers[2] = {format("Bearer %s", token), format("Bearer %s", other)};
    pthread_t threads[4];
    struct thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct thread_job){verifier, {headers[i % 2], headers[(i + 1) % 2]}, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, verify_in_a_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    free(headers[0]);
    free(headers[1]);
    free(token);
    free(other);
    free(payload);
    free(other_payload);
    auth_verifier_free(verifier);
}

/* ---- policies ---------------------------------------------------------------------------- */

static void test_policy_allows_matrix(void **state)
{
    (void)state;
    char *scopes[] = {"read", "write"};
    char *roles[] = {"editor"};
    struct auth_principal anonymous = {0};
    struct auth_principal user = {.is_authenticated = true,
                                  .subject = "alice",
                                  .scopes = scopes,
                                  .scope_count = 2,
                                  .roles = roles,
                                  .role_count = 1};
    struct auth_principal bare = {.is_authenticated = true};
    char *by_scope[] = {"scope:write"};
    char *by_role[] = {"scope:admin", "role:editor"};
    char *none_match[] = {"scope:admin", "role:owner", "role:read", "scope:editor", "read"};
    char *prefix_only[] = {"scope:rea", "role:edit"};
    struct cfg_policy public_policy = {CFG_POLICY_PUBLIC, NULL, 0};
    struct cfg_policy authenticated = {CFG_POLICY_AUTHENTICATED, NULL, 0};
    struct cfg_policy scope_grant = {CFG_POLICY_GRANTS, by_scope, 1};
    struct cfg_policy role_grant = {CFG_POLICY_GRANTS, by_role, 2};
    struct cfg_policy no_grant = {CFG_POLICY_GRANTS, none_match, 5};
    struct cfg_policy prefixes = {CFG_POLICY_GRANTS, prefix_only, 2};
    struct cfg_policy empty = {CFG_POLICY_GRANTS, NULL, 0};

    assert_true(auth_policy_allows(&public_policy, &anonymous));
    assert_true(auth_policy_allows(&public_policy, &user));
    assert_false(auth_policy_allows(&authenticated, &anonymous));
    assert_true(auth_policy_allows(&authenticated, &user));
    assert_true(auth_policy_allows(&authenticated, &bare));
    assert_true(auth_policy_allows(&scope_grant, &user));
    assert_false(auth_policy_allows(&scope_grant, &anonymous));
    assert_false(auth_policy_allows(&scope_grant, &bare));
    assert_true(auth_policy_allows(&role_grant, &user));
    assert_false(auth_policy_allows(&role_grant, &bare));
    assert_false(auth_policy_allows(&no_grant, &user));
    assert_false(auth_policy_allows(&prefixes, &user));
    assert_false(auth_policy_allows(&empty, &user));
}

/* ---- issuing tokens ---------------------------------------------------------------------- */

static void test_issued_token_round_trips_with_iss_aud_scope_and_roles(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS512);
    config.auth.issuer = (char *)"https://issuer.example";
    config.auth.audience = (char *)"restable";
    const char *roles[] = {"admin", "editor"};
    struct rs_error error = {0};
    char *token = auth_token_issue(&config, "bob", "read write", roles, 2, 120, &error);
    assert_non_null(token);
    struct auth_verifier *verifier = verifier_for(&config);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    long now = (long)time(NULL);
    assert_string_equal(principal.subject, "bob");
    assert_true(principal.expires_at >= now + 118 && principal.expires_at <= now + 120);
    assert_int_equal(principal.scope_count, 2);
    assert_string_equal(principal.scopes[0], "read");
    assert_int_equal(principal.role_count, 2);
    assert_string_equal(principal.roles[1], "editor");
    assert_non_null(strstr(principal.claims_json, "\"iss\":\"https://issuer.example\""));
    assert_non_null(strstr(principal.claims_json, "\"aud\":\"restable\""));
    assert_non_null(strstr(principal.claims_json, "\"iat\":"));
    auth_principal_clear(&principal);
    free(token);

    /* no scope, no roles, default lifetime */
    token = auth_token_issue(&config, "carol", NULL, NULL, 0, 0, &error);
    assert_non_null(token);
    expect_accepted(verifier, token, &principal);
    now = (long)time(NULL);
    assert_true(principal.expires_at >= now + 3598 && principal.expires_at <= now + 3600);
    assert_int_equal(principal.scope_count, 0);
    assert_int_equal(principal.role_count, 0);
    assert_null(strstr(principal.claims_json, "roles"));
    auth_principal_clear(&principal);
    free(token);
    auth_verifier_free(verifier);
}

static void test_issue_refuses_non_hs_algorithm_or_missing_secret(void **state)
{
    (void)state;
    struct rs_error error = {0};
    struct cfg_config config = config_for(CFG_JWT_RS256);
    assert_null(auth_token_issue(&config, "bob", NULL, NULL, 0, 60, &error));
    assert_int_equal(error.status, 1);
    assert_non_null(strstr(error.message, "HS256"));
    config = config_for(CFG_JWT_NONE);
    assert_null(auth_token_issue(&config, "bob", NULL, NULL, 0, 60, &error));
    config = config_for(CFG_JWT_HS256);
    config.auth.secret = NULL;
    memset(&error, 0, sizeof error);
    assert_null(auth_token_issue(&config, "bob", NULL, NULL, 0, 60, &error));
    assert_string_equal(error.message, "auth.jwt.secret: must be at least 32 bytes");
    config.auth.secret = (char *)"short";
    assert_null(auth_token_issue(&config, "bob", NULL, NULL, 0, 60, &error));
    config = config_for(CFG_JWT_HS256);
    memset(&error, 0, sizeof error);
    assert_null(auth_token_issue(&config, NULL, NULL, NULL, 0, 60, &error));
    assert_non_null(strstr(error.message, "subject"));
    const char *bad_utf8[] = {"\xff\xfe"};
    assert_null(auth_token_issue(&config, "bob", NULL, bad_utf8, 1, 60, &error));
}

/* ---- passwords --------------------------------------------------------------------------- */

static void test_password_hash_has_the_documented_format(void **state)
{
    (void)state;
    char *first = auth_password_hash("correct horse", 1000);
    char *second = auth_password_hash("correct horse", 1000);
    assert_non_null(first);
    assert_non_null(second);
    assert_string_not_equal(first, second); /* random salt */
    assert_int_equal(strncmp(first, "pbkdf2_sha256$1000$", 19), 0);
    const char *salt = first + 19;
    const char *hash = strchr(salt, '$');
    assert_non_null(hash);
    assert_int_equal(hash - salt, 24);      /* 16 bytes */
    assert_int_equal(strlen(hash + 1), 44); /* 32 bytes */
    assert_null(strchr(hash + 1, '$'));
    assert_null(strchr(first, '\n'));
    assert_null(auth_password_hash("x", 0));
    assert_null(auth_password_hash(NULL, 1000));
    free(first);
    free(second);
}

static void test_password_verify_accepts_the_right_password_only(void **state)
{
    (void)state;
    char *stored = auth_password_hash("correct horse", 1000);
    assert_non_null(stored);
    assert_true(auth_password_verify("correct horse", stored, 1000));
    /* the stored iteration count wins over the configured one */
    assert_true(auth_password_verify("correct horse", stored, 5000));
    assert_false(auth_password_verify("correct horsE", stored, 1000));
    assert_false(auth_password_verify("", stored, 1000));
    assert_false(auth_password_verify(NULL, stored, 1000));
    free(stored);
}

static void test_password_verify_with_no_stored_hash_returns_false(void **state)
{
    (void)state;
    assert_false(auth_password_verify("anything", NULL, 1000));
    assert_false(auth_password_verify("", NULL, 1000));
    assert_false(auth_password_verify(NULL, NULL, 0));
}

static void test_password_verify_refuses_malformed_stored_strings(void **state)
{
    (void)state;
    char *stored = auth_password_hash("pw", 1000);
    assert_non_null(stored);
    const char *salt = stored + 19;
    const char *hash = strchr(salt, '$') + 1;
    char *cases[] = {
        format("%s", ""),
        format("pbkdf2_sha1$1000$%s", salt),
        format("pbkdf2_sha256$1000$%s$extra", salt),
        format("pbkdf2_sha256$1000x$%s", salt),
        format("pbkdf2_sha256$0$%s", salt),
        format("pbkdf2_sha256$-5$%s", salt),
        format("pbkdf2_sha256$$%s", salt),
        format("pbkdf2_sha256$1000$$%s", hash),
        format("pbkdf2_sha256$1000$%.*s", (int)strlen(salt) - 4, salt), /* hash cut short */
        format("pbkdf2_sha256$1000$%.*s*%s", (int)(hash - salt - 2), salt, hash - 1),
        format("pbkdf2_sha256$1000$YWJj$%s", hash), /* 3-byte salt */
        format("pbkdf2_sha256$1000"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (auth_password_verify("pw", cases[i], 1000))
            fail_msg("accepted malformed stored string %zu: %s", i, cases[i]);
        free(cases[i]);
    }
    assert_true(auth_password_verify("pw", stored, 1000));
    free(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs256_token_made_by_libjwt_is_accepted_with_principal_fields),
        cmocka_unit_test(test_hs384_and_hs512_handmade_tokens_are_accepted),
        cmocka_unit_test(test_rs256_token_is_accepted),
        cmocka_unit_test(test_es256_token_is_accepted),
        cmocka_unit_test(test_numeric_sub_is_rendered_as_text),
        cmocka_unit_test(test_typ_is_optional_and_case_insensitive),
        cmocka_unit_test(test_alg_none_without_signature_is_refused),
        cmocka_unit_test(test_alg_none_with_signature_is_refused),
        cmocka_unit_test(test_alg_None_capitalised_is_refused),
        cmocka_unit_test(test_missing_or_non_string_alg_is_refused),
        cmocka_unit_test(test_hs384_token_is_refused_when_hs256_configured),
        cmocka_unit_test(test_hs256_signed_with_rsa_public_key_is_refused_when_rs256_configured),
        cmocka_unit_test(test_rs256_token_is_refused_by_an_es256_verifier),
        cmocka_unit_test(test_key_selecting_headers_are_refused),
        cmocka_unit_test(test_crit_header_is_refused),
        cmocka_unit_test(test_unexpected_typ_is_refused),
        cmocka_unit_test(test_wrong_signature_is_refused),
        cmocka_unit_test(test_tampered_payload_is_refused),
        cmocka_unit_test(test_rs256_token_signed_by_another_key_is_refused),
        cmocka_unit_test(test_es256_bad_signatures_are_refused),
        cmocka_unit_test(test_two_and_four_part_tokens_are_refused),
        cmocka_unit_test(test_empty_header_or_payload_part_is_refused),
        cmocka_unit_test(test_base64_padding_and_foreign_characters_are_refused),
        cmocka_unit_test(test_header_that_is_not_json_is_refused),
        cmocka_unit_test(test_payload_that_is_a_json_array_is_refused),
        cmocka_unit_test(test_duplicate_claims_are_refused),
        cmocka_unit_test(test_token_over_8_kib_is_refused_and_8_kib_accepted),
        cmocka_unit_test(test_expired_token_is_refused),
        cmocka_unit_test(test_token_expired_within_leeway_is_accepted),
        cmocka_unit_test(test_missing_exp_is_refused),
        cmocka_unit_test(test_non_numeric_exp_is_refused),
        cmocka_unit_test(test_real_and_extreme_exp_values_are_handled),
        cmocka_unit_test(test_nbf_in_the_future_is_refused_and_within_leeway_accepted),
        cmocka_unit_test(test_iat_in_the_future_is_refused),
        cmocka_unit_test(test_issuer_mismatch_or_absence_is_refused_when_configured),
        cmocka_unit_test(test_audience_mismatch_is_refused),
        cmocka_unit_test(test_audience_string_or_array_containing_it_is_accepted),
        cmocka_unit_test(test_missing_header_gives_the_anonymous_principal),
        cmocka_unit_test(test_other_schemes_and_empty_bearer_are_refused),
        cmocka_unit_test(test_bearer_scheme_is_case_insensitive_and_allows_several_spaces),
        cmocka_unit_test(test_no_key_configured_refuses_every_token),
        cmocka_unit_test(test_secret_shorter_than_32_bytes_is_refused),
        cmocka_unit_test(test_public_key_that_does_not_fit_the_algorithm_is_refused),
        cmocka_unit_test(test_cached_verification_returns_the_same_principal),
        cmocka_unit_test(test_cache_does_not_accept_a_tampered_copy_of_a_cached_token),
        cmocka_unit_test(test_cached_token_is_refused_once_expired),
        cmocka_unit_test(test_same_token_verified_from_four_threads),
        cmocka_unit_test(test_policy_allows_matrix),
        cmocka_unit_test(test_issued_token_round_trips_with_iss_aud_scope_and_roles),
        cmocka_unit_test(test_issue_refuses_non_hs_algorithm_or_missing_secret),
        cmocka_unit_test(test_password_hash_has_the_documented_format),
        cmocka_unit_test(test_password_verify_accepts_the_right_password_only),
        cmocka_unit_test(test_password_verify_with_no_stored_hash_returns_false),
        cmocka_unit_test(test_password_verify_refuses_malformed_stored_strings),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
