/*
 * tests/unit/test_auth.c — the auth module's one unit suite, against real tokens: tokens made
 * with libjwt and by hand (base64url header and payload signed here with OpenSSL: HMAC, RSA
 * PKCS#1 and PSS, ECDSA on P-256/384/521 in JOSE form, Ed25519, keys generated for the run),
 * every JWT mistake the verifier must refuse, key sets (every algorithm against every key, kid
 * selection, JWKS files and their reload), claims at JSON Pointers, the verification cache
 * under an injected clock (no test sleeps), policies, token issuing and PBKDF2 password
 * hashes. Configs are built by hand. (It absorbed test_auth_tokens.c, which tested the same
 * behaviours with its own copy of these helpers.)
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
#include <openssl/rsa.h>
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
    /* for key sets: more curves and Ed25519, their public PEM files, and private PEM files
     * for `restable token --key` */
    EVP_PKEY *p384, *p521, *ed25519;
    char p384_path[128], p521_path[128], ed25519_path[128];
    char rsa_private[128], p384_private[128], ed25519_private[128];
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

static int write_private_key(const char *path, EVP_PKEY *key)
{
    BIO *file = BIO_new_file(path, "w");
    int ok = file && PEM_write_bio_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL) == 1;
    BIO_free(file);
    return ok ? 0 : -1;
}

static int setup_more_keys(void)
{
    keys.p384 = EVP_EC_gen("P-384");
    keys.p521 = EVP_EC_gen("P-521");
    keys.ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    snprintf(keys.p384_path, sizeof keys.p384_path, "%s/p384.pem", keys.dir);
    snprintf(keys.p521_path, sizeof keys.p521_path, "%s/p521.pem", keys.dir);
    snprintf(keys.ed25519_path, sizeof keys.ed25519_path, "%s/ed25519.pem", keys.dir);
    snprintf(keys.rsa_private, sizeof keys.rsa_private, "%s/rsa.key", keys.dir);
    snprintf(keys.p384_private, sizeof keys.p384_private, "%s/p384.key", keys.dir);
    snprintf(keys.ed25519_private, sizeof keys.ed25519_private, "%s/ed25519.key", keys.dir);
    return keys.p384 && keys.p521 && keys.ed25519 &&
                   write_public_key(keys.p384_path, keys.p384) == 0 &&
                   write_public_key(keys.p521_path, keys.p521) == 0 &&
                   write_public_key(keys.ed25519_path, keys.ed25519) == 0 &&
                   write_private_key(keys.rsa_private, keys.rsa) == 0 &&
                   write_private_key(keys.p384_private, keys.p384) == 0 &&
                   write_private_key(keys.ed25519_private, keys.ed25519) == 0
               ? 0
               : -1;
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
    if (setup_more_keys() < 0)
        return -1;
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
    EVP_PKEY_free(keys.p384);
    EVP_PKEY_free(keys.p521);
    EVP_PKEY_free(keys.ed25519);
    const char *more[] = {keys.p384_path,   keys.p521_path,    keys.ed25519_path,
                          keys.rsa_private, keys.p384_private, keys.ed25519_private};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        unlink(more[i]);
    free(keys.rsa_pem);
    return 0;
}

/* ---- building tokens by hand ------------------------------------------------------------- */

/* base64url without padding, as JOSE writes it (rs_base64_encode is checked against RFC 4648's
 * vectors in test_base.c). Caller frees. */
static char *b64url(const void *data, size_t length)
{
    return rs_base64_encode(data, length, RS_BASE64_URL);
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

/* A key-set config of the given [auth.jwt.keys] entries. */
static struct cfg_config config_for_keys(struct cfg_jwt_key *entries, size_t count)
{
    struct cfg_config config = config_for(CFG_JWT_NONE);
    config.auth.keys = entries;
    config.auth.key_count = count;
    config.auth.algorithm = CFG_JWT_KEY_SET;
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

/* A verifier of the HS256 test secret. */
static struct auth_verifier *hs256_verifier(void)
{
    struct cfg_config config = config_for(CFG_JWT_HS256);
    return verifier_for(&config);
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

/* Accepts token, then frees it; with subject, the principal's subject must be it. */
static void expect_token_accepted(struct auth_verifier *verifier, char *token, const char *subject)
{
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    if (subject)
        assert_string_equal(principal.subject, subject);
    auth_principal_clear(&principal);
    free(token);
}

/* Refused with 401 and exactly `reason`, which must be fit for error_description. */
static void expect_refused_header(struct auth_verifier *verifier, const char *authorization,
                                  const char *reason)
{
    struct auth_principal principal;
    struct rs_error error = {0};
    assert_int_equal(auth_verify_bearer(verifier, authorization, &principal, &error), -1);
    assert_int_equal(error.outcome, RS_UNAUTHORIZED);
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

/* Refused with exactly reason, or accepted when reason is NULL; the token stays the caller's. */
static void expect_verdict(struct auth_verifier *verifier, const char *token, const char *reason)
{
    if (reason) {
        expect_refused(verifier, token, reason);
        return;
    }
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
}

/* An HS256 token of payload_with(extra), refused with exactly reason. */
static void expect_extra_refused(struct auth_verifier *verifier, const char *extra,
                                 const char *reason)
{
    char *payload = payload_with(extra);
    char *token = make_hs256(payload);
    expect_refused(verifier, token, reason);
    free(token);
    free(payload);
}

/* One hand-made HS256 token with the given payload, checked against an HS256 verifier. */
static void expect_hs256_payload_refused(const char *payload, const char *reason)
{
    struct auth_verifier *verifier = hs256_verifier();
    char *token = make_hs256(payload);
    expect_refused(verifier, token, reason);
    free(token);
    auth_verifier_free(verifier);
}

static void expect_hs256_header_refused(const char *header, const char *reason)
{
    struct auth_verifier *verifier = hs256_verifier();
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

    struct auth_verifier *verifier = hs256_verifier();
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
        expect_token_accepted(
            verifier, make_hs(cases[i].header, payload, cases[i].digest, SECRET, strlen(SECRET)),
            "alice");
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
        expect_token_accepted(verifier, make_signed(ES256_HEADER, payload, keys.ec, true), "alice");
    }
    free(payload);
    auth_verifier_free(verifier);
}

static void test_numeric_sub_is_rendered_as_text(void **state)
{
    (void)state;
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
    char *payload = payload_with("");
    const char *headers[] = {"{\"alg\":\"HS256\"}", "{\"typ\":\"jwt\",\"alg\":\"HS256\"}",
                             "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}"};
    for (size_t i = 0; i < 3; i++) {
        expect_token_accepted(
            verifier, make_hs(headers[i], payload, EVP_sha256(), SECRET, strlen(SECRET)), NULL);
    }
    free(payload);
    auth_verifier_free(verifier);
}

/* ---- the header: algorithm and key selection --------------------------------------------- */

static void test_alg_none_without_signature_is_refused(void **state)
{
    (void)state;
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
    char *payload = format("{\"sub\":\"alice\",\"exp\":%ld}", (long)time(NULL) - 10);
    expect_token_accepted(verifier, make_hs256(payload), NULL);
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
    struct auth_verifier *verifier = hs256_verifier();
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

    struct auth_verifier *verifier = hs256_verifier();
    payload = format("{\"exp\":%ld,\"nbf\":%ld}", now + 600, now + 10);
    expect_token_accepted(verifier, make_hs256(payload), NULL);
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
        expect_extra_refused(verifier, extras[i], "issuer mismatch");
    }
    char *payload = payload_with(",\"iss\":\"https://issuer.example\"");
    expect_token_accepted(verifier, make_hs256(payload), NULL);
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
        expect_extra_refused(verifier, extras[i], "audience mismatch");
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
        expect_token_accepted(verifier, make_hs256(payload), NULL);
        free(payload);
    }
    auth_verifier_free(verifier);
}

/* ---- the Authorization header ------------------------------------------------------------ */

static void test_missing_header_gives_the_anonymous_principal(void **state)
{
    (void)state;
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    struct auth_verifier *verifier = hs256_verifier();
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
    assert_int_equal(error.outcome, RS_FAILED);
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
        assert_int_equal(error.outcome, RS_FAILED);
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
    struct auth_verifier *verifier = hs256_verifier();
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

/* The verifier's clock, driven by the tests that are about time: no test sleeps. */
static long fake_now;
static long fake_clock(void *context)
{
    (void)context;
    return fake_now;
}

static void test_cached_token_is_refused_once_expired(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.leeway_s = 5;
    struct auth_verifier *verifier = verifier_for(&config);
    fake_now = 1000000;
    auth_verifier_set_clock(verifier, fake_clock, NULL);
    char *payload =
        format("{\"sub\":\"alice\",\"exp\":%ld,\"nbf\":%ld}", fake_now + 60, fake_now - 10);
    char *token = make_hs256(payload);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    fake_now += 65; /* past exp, within the leeway: the cached entry still answers */
    expect_accepted(verifier, token, &principal);
    auth_principal_clear(&principal);
    fake_now += 1; /* exp + leeway + 1 */
    expect_refused(verifier, token, "token expired");
    fake_now = 1000000 - 20; /* before nbf - leeway: the cache holds it, and still refuses */
    expect_refused(verifier, token, "token not yet valid");
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
    struct auth_verifier *verifier = hs256_verifier();
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
    assert_int_equal(error.outcome, RS_FAILED);
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

/* ---- key sets: every algorithm, kid selection, JWKS files, claim pointers ----------------- */

struct algorithm_case {
    const char *name; /* also the kid of its key in the set */
    EVP_PKEY **key;   /* NULL: HMAC with SECRET */
    const char *public_path;
};

/* One key per algorithm; the RSA one serves RS* and PS* under different kids. */
static const struct algorithm_case *algorithm_cases(size_t *count)
{
    static struct algorithm_case cases[13];
    static const char *const names[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                        "RS512", "PS256", "PS384", "PS512", "ES256",
                                        "ES384", "ES512", "EdDSA"};
    for (size_t i = 0; i < 13; i++) {
        cases[i].name = names[i];
        cases[i].key = i < 3     ? NULL
                       : i < 9   ? &keys.rsa
                       : i == 9  ? &keys.ec
                       : i == 10 ? &keys.p384
                       : i == 11 ? &keys.p521
                                 : &keys.ed25519;
        cases[i].public_path = i < 3     ? NULL
                               : i < 9   ? keys.rsa_path
                               : i == 9  ? keys.ec_path
                               : i == 10 ? keys.p384_path
                               : i == 11 ? keys.p521_path
                                         : keys.ed25519_path;
    }
    *count = 13;
    return cases;
}

static const EVP_MD *digest_for(const char *alg)
{
    if (strcmp(alg, "EdDSA") == 0)
        return NULL;
    return strstr(alg, "384") ? EVP_sha384() : strstr(alg, "512") ? EVP_sha512() : EVP_sha256();
}

/* A token signed here with OpenSSL, independently of auth/signature.c. key NULL: HMAC. */
static char *sign_with(const char *alg, EVP_PKEY *key, const char *header, const char *payload)
{
    if (!key)
        return make_hs(header, payload, digest_for(alg), SECRET, strlen(SECRET));
    char *input = signing_input(header, payload);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    EVP_PKEY_CTX *key_context = NULL;
    assert_int_equal(EVP_DigestSignInit(context, &key_context, digest_for(alg), NULL, key), 1);
    if (alg[0] == 'P') {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, RSA_PSS_SALTLEN_DIGEST) > 0);
    }
    size_t length = 0;
    assert_int_equal(EVP_DigestSign(context, NULL, &length, (unsigned char *)input, strlen(input)),
                     1);
    unsigned char *signature = malloc(length);
    assert_int_equal(
        EVP_DigestSign(context, signature, &length, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(context);
    if (alg[0] == 'E' && alg[1] == 'S') {
        int half = strstr(alg, "384") ? 48 : strstr(alg, "512") ? 66 : 32;
        const unsigned char *der = signature;
        ECDSA_SIG *pair = d2i_ECDSA_SIG(NULL, &der, (long)length);
        unsigned char raw[132];
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(pair), raw, half), half);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(pair), raw + half, half), half);
        ECDSA_SIG_free(pair);
        free(signature);
        return append_signature(input, raw, (size_t)(2 * half));
    }
    char *token = append_signature(input, signature, length);
    free(signature);
    return token;
}

/* A verifier whose auth.jwt.keys hold one key per algorithm, kid = the algorithm's name. */
static struct auth_verifier *every_algorithm_verifier(struct cfg_jwt_key *entries,
                                                      struct cfg_config *config)
{
    size_t count = 0;
    const struct algorithm_case *cases = algorithm_cases(&count);
    *config = config_for(CFG_JWT_NONE);
    for (size_t i = 0; i < count; i++)
        entries[i] = (struct cfg_jwt_key){
            .kid = (char *)cases[i].name,
            .algorithm = cfg_jwt_algorithm_from_name(cases[i].name),
            .secret = cases[i].key ? NULL : (char *)SECRET,
            .public_key_file = (char *)cases[i].public_path,
        };
    config->auth.keys = entries;
    config->auth.key_count = count;
    config->auth.algorithm = CFG_JWT_KEY_SET;
    return verifier_for(config);
}

static void test_every_algorithm_is_accepted_with_its_key_and_refused_with_every_other(void **state)
{
    (void)state;
    struct cfg_jwt_key entries[13];
    struct cfg_config config;
    struct auth_verifier *verifier = every_algorithm_verifier(entries, &config);
    size_t count = 0;
    const struct algorithm_case *cases = algorithm_cases(&count);
    char *payload = payload_with("");
    for (size_t a = 0; a < count; a++) {
        for (size_t k = 0; k < count; k++) {
            char *header = format("{\"alg\":\"%s\",\"kid\":\"%s\"}", cases[a].name, cases[k].name);
            char *token =
                sign_with(cases[a].name, cases[a].key ? *cases[a].key : NULL, header, payload);
            expect_verdict(verifier, token, a == k ? NULL : "algorithm not allowed");
            free(token);
            free(header);
        }
    }
    /* the right algorithm and kid, signed by another key of the same kind */
    EVP_PKEY *others[] = {keys.rsa_other, keys.ec_other};
    const char *names[] = {"PS256", "ES256"};
    for (size_t i = 0; i < 2; i++) {
        char *header = format("{\"alg\":\"%s\",\"kid\":\"%s\"}", names[i], names[i]);
        char *token = sign_with(names[i], others[i], header, payload);
        expect_refused(verifier, token, "signature mismatch");
        free(token);
        free(header);
    }
    free(payload);
    auth_verifier_free(verifier);
}

static void test_kid_selection_rules(void **state)
{
    (void)state;
    struct cfg_jwt_key entries[] = {
        {.kid = (char *)"rs-a", .algorithm = CFG_JWT_RS256, .public_key_file = keys.rsa_path},
        {.kid = (char *)"rs-b", .algorithm = CFG_JWT_RS256, .public_key_file = keys.rsa_path},
        {.kid = (char *)"es", .algorithm = CFG_JWT_ES256, .public_key_file = keys.ec_path},
    };
    struct cfg_config config = config_for_keys(entries, 3);
    struct auth_verifier *verifier = verifier_for(&config);
    char *payload = payload_with("");
    static const struct {
        const char *header;
        const char *reason; /* NULL: accepted */
        bool is_ec;
    } cases[] = {
        {"{\"alg\":\"RS256\",\"kid\":\"rs-b\"}", NULL, false},
        {"{\"alg\":\"ES256\"}", NULL, true}, /* no kid: exactly one key fits ES256 */
        {"{\"alg\":\"RS256\"}", "kid header required", false},   /* two fit */
        {"{\"alg\":\"RS384\"}", "algorithm not allowed", false}, /* none fits */
        {"{\"alg\":\"RS256\",\"kid\":\"missing\"}", "unknown kid", false},
        {"{\"alg\":\"RS256\",\"kid\":\"../../etc/passwd\"}", "unknown kid", false},
        {"{\"alg\":\"RS256\",\"kid\":\"x' OR '1'='1\"}", "unknown kid", false},
        {"{\"alg\":\"RS256\",\"kid\":\"RS-A\"}", "unknown kid", false}, /* exact match only */
        {"{\"alg\":\"RS256\",\"kid\":7}", "malformed token", false},
        {"{\"alg\":\"RS256\",\"kid\":\"rs-a\",\"jku\":\"https://x/\"}", "jku header not allowed",
         false},
        {"{\"alg\":\"RS256\",\"kid\":\"rs-a\",\"x5u\":\"https://x/\"}", "x5u header not allowed",
         false},
        {"{\"alg\":\"RS256\",\"kid\":\"rs-a\",\"jwk\":{}}", "jwk header not allowed", false},
        {"{\"alg\":\"RS256\",\"kid\":\"rs-a\",\"x5c\":[]}", "x5c header not allowed", false},
        {"{\"alg\":\"RS256\",\"kid\":\"rs-a\",\"x5t\":\"abc\"}", NULL, false}, /* Azure AD */
        {"{\"alg\":\"none\",\"kid\":\"rs-a\"}", "algorithm not allowed", false},
        {"{\"alg\":\"HS256\",\"kid\":\"rs-a\"}", "algorithm not allowed", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *alg = strstr(cases[i].header, "HS256")   ? "HS256"
                          : cases[i].is_ec                   ? "ES256"
                          : strstr(cases[i].header, "RS384") ? "RS384"
                                                             : "RS256";
        EVP_PKEY *key = strcmp(alg, "HS256") == 0 ? NULL : cases[i].is_ec ? keys.ec : keys.rsa;
        char *token = strstr(cases[i].header, "none")
                          ? append_signature(signing_input(cases[i].header, payload),
                                             (const unsigned char *)"", 0)
                          : sign_with(alg, key, cases[i].header, payload);
        expect_verdict(verifier, token, cases[i].reason);
        free(token);
    }
    free(payload);
    auth_verifier_free(verifier);
}

static void test_keys_list_refuses_weak_or_mismatched_keys(void **state)
{
    (void)state;
    static const struct {
        enum cfg_jwt_algorithm algorithm;
        const char *secret;
        const char *path_name; /* which key file */
        const char *message;
    } cases[] = {
        {CFG_JWT_RS256, NULL, "rsa1024", "auth.jwt.keys[0].public_key_file: "},
        {CFG_JWT_ES384, NULL, "ec", "must be an EC key on curve P-384 for ES384"},
        {CFG_JWT_EDDSA, NULL, "rsa", "must be an Ed25519 key for EdDSA"},
        {CFG_JWT_HS512, "short", NULL, "auth.jwt.keys[0].secret: must be at least 32 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = !cases[i].path_name                          ? NULL
                           : strcmp(cases[i].path_name, "rsa1024") == 0 ? keys.rsa1024_path
                           : strcmp(cases[i].path_name, "ec") == 0      ? keys.ec_path
                                                                        : keys.rsa_path;
        struct cfg_jwt_key entry = {.kid = (char *)"k",
                                    .algorithm = cases[i].algorithm,
                                    .secret = (char *)cases[i].secret,
                                    .public_key_file = (char *)path};
        struct cfg_config config = config_for_keys(&entry, 1);
        struct rs_error error = {0};
        assert_null(auth_verifier_new(&config, &error));
        if (!strstr(error.message, cases[i].message))
            fail_msg("case %zu: %s", i, error.message);
    }
}

/* ---- JWKS files --------------------------------------------------------------------------- */

static char *b64url_bn(EVP_PKEY *key, const char *name)
{
    BIGNUM *number = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(key, name, &number), 1);
    unsigned char bytes[1024];
    int length = BN_bn2bin(number, bytes);
    BN_free(number);
    return b64url(bytes, (size_t)length);
}

/* A JWK (JSON text) for a public key: RSA, EC or Ed25519. extra: ",\"alg\":..." or "". */
static char *jwk_of(EVP_PKEY *key, const char *kid, const char *extra)
{
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        char *n = b64url_bn(key, "n"), *e = b64url_bn(key, "e");
        char *jwk = format("{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, n,
                           e, extra);
        free(n);
        free(e);
        return jwk;
    }
    unsigned char point[200];
    size_t length = 0;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
        length = sizeof point;
        assert_int_equal(EVP_PKEY_get_raw_public_key(key, point, &length), 1);
        char *x = b64url(point, length);
        char *jwk = format("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\"%s}",
                           kid, x, extra);
        free(x);
        return jwk;
    }
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point, sizeof point, &length), 1);
    size_t half = (length - 1) / 2;
    const char *crv = half == 32 ? "P-256" : half == 48 ? "P-384" : "P-521";
    char *x = b64url(point + 1, half), *y = b64url(point + 1 + half, half);
    char *jwk = format("{\"kty\":\"EC\",\"crv\":\"%s\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}",
                       crv, kid, x, y, extra);
    free(x);
    free(y);
    return jwk;
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    fclose(file);
}

static void expect_kid_accepted(struct auth_verifier *verifier, const char *alg, EVP_PKEY *key,
                                const char *kid)
{
    char *header = format("{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    char *payload = payload_with("");
    expect_token_accepted(verifier, sign_with(alg, key, header, payload), NULL);
    free(payload);
    free(header);
}

static void expect_kid_refused(struct auth_verifier *verifier, const char *alg, EVP_PKEY *key,
                               const char *kid, const char *reason)
{
    char *header = format("{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    char *payload = payload_with("");
    char *token = sign_with(alg, key, header, payload);
    expect_refused(verifier, token, reason);
    free(token);
    free(payload);
    free(header);
}

static void test_jwks_file_keys_skips_and_reload(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/jwks.json", keys.dir);
    char *rsa = jwk_of(keys.rsa, "r", ",\"use\":\"sig\",\"alg\":\"PS384\"");
    char *ec = jwk_of(keys.p521, "e", "");
    char *ed = jwk_of(keys.ed25519, "d", "");
    char *encryption = jwk_of(keys.rsa_other, "enc", ",\"use\":\"enc\"");
    char *wrong_alg = jwk_of(keys.ec, "w", ",\"alg\":\"RS256\"");
    char *secret = b64url(SECRET, strlen(SECRET));
    char *text = format("{\"keys\":[%s,%s,%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"%s\"},"
                        "{\"kty\":\"RSA\",\"kid\":\"junk\",\"n\":\"!!\",\"e\":\"AQAB\"}]}",
                        rsa, ec, ed, encryption, wrong_alg, secret);
    write_file(path, text);
    struct cfg_config config = config_for(CFG_JWT_NONE);
    config.auth.jwks_file = path;
    config.auth.algorithm = CFG_JWT_KEY_SET;
    struct auth_verifier *verifier = verifier_for(&config);
    struct auth_stats stats;
    auth_verifier_stats(verifier, &stats);
    assert_int_equal(stats.keys, 4); /* enc, the mismatched alg and the junk key are skipped */
    expect_kid_accepted(verifier, "PS384", keys.rsa, "r");
    expect_kid_refused(verifier, "RS256", keys.rsa, "r", "algorithm not allowed");
    expect_kid_accepted(verifier, "ES512", keys.p521, "e");
    expect_kid_accepted(verifier, "EdDSA", keys.ed25519, "d");
    expect_kid_accepted(verifier, "HS384", NULL, "h"); /* a file may hold oct keys */
    expect_kid_refused(verifier, "RS256", keys.rsa_other, "enc", "unknown kid");
    expect_kid_refused(verifier, "ES256", keys.ec, "w", "unknown kid");

    /* SIGHUP: a new file replaces the keys, and a token cached under the old ones is
     * verified afresh */
    char *header = format("{\"alg\":\"EdDSA\",\"kid\":\"d\"}");
    char *payload = payload_with("");
    char *cached = sign_with("EdDSA", keys.ed25519, header, payload);
    struct auth_principal principal;
    expect_accepted(verifier, cached, &principal);
    auth_principal_clear(&principal);
    char *next = jwk_of(keys.p384, "n", "");
    char *next_text = format("{\"keys\":[%s]}", next);
    write_file(path, next_text);
    struct rs_error error = {0};
    assert_int_equal(auth_verifier_reload(verifier, &error), 0);
    expect_kid_accepted(verifier, "ES384", keys.p384, "n");
    expect_refused(verifier, cached, "unknown kid");
    /* a broken file keeps the keys held */
    write_file(path, "{\"keys\": [");
    assert_int_equal(auth_verifier_reload(verifier, &error), -1);
    assert_non_null(strstr(error.message, "auth.jwt.jwks_file"));
    expect_kid_accepted(verifier, "ES384", keys.p384, "n");

    free(cached);
    free(header);
    free(payload);
    free(next);
    free(next_text);
    free(rsa);
    free(ec);
    free(ed);
    free(encryption);
    free(wrong_alg);
    free(secret);
    free(text);
    auth_verifier_free(verifier);
    unlink(path);
}

static void test_jwks_file_with_duplicate_kids_or_no_keys_is_refused(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/dup.json", keys.dir);
    char *a = jwk_of(keys.rsa, "same", ""), *b = jwk_of(keys.ec, "same", "");
    char *texts[] = {format("{\"keys\":[%s,%s]}", a, b), format("{\"keys\":[]}"), format("[1,2]"),
                     format("{\"keys\":[%s]}", a)};
    const char *reasons[] = {"duplicate kid", "no usable signing key", "no \"keys\" array", NULL};
    for (size_t i = 0; i < 4; i++) {
        write_file(path, texts[i]);
        struct cfg_config config = config_for(CFG_JWT_NONE);
        config.auth.jwks_file = path;
        config.auth.algorithm = CFG_JWT_KEY_SET;
        struct rs_error error = {0};
        struct auth_verifier *verifier = auth_verifier_new(&config, &error);
        if (reasons[i]) {
            assert_null(verifier);
            if (!strstr(error.message, reasons[i]))
                fail_msg("case %zu: %s", i, error.message);
        } else {
            assert_non_null(verifier);
        }
        auth_verifier_free(verifier);
        free(texts[i]);
    }
    free(a);
    free(b);
    unlink(path);
}

/* ---- claims at JSON Pointers ------------------------------------------------------------- */

static void test_roles_and_scopes_come_from_json_pointers(void **state)
{
    (void)state;
    static const struct {
        const char *roles_claim, *scope_claim, *extra;
        const char *role, *scope; /* expected first role / scope, or NULL */
    } cases[] = {
        {"/realm_access/roles", "/scope", ",\"realm_access\":{\"roles\":[\"admin\"]}", "admin",
         NULL},
        {"/https:~1~1example.com~1roles", "/scope", ",\"https://example.com/roles\":[\"ed\"]", "ed",
         NULL},
        {"/cognito:groups", "/scope", ",\"cognito:groups\":[\"g1\"],\"scope\":\"a b\"", "g1", "a"},
        {"/roles", "/scp", ",\"scp\":[\"x:read\",\"x:write\"]", NULL, "x:read"},
        {"/roles", "/scp", ",\"scp\":\"x:write y\"", NULL, "x:write"},
        {"/a~0b/0", "/scope", ",\"a~b\":[\"tilde\"]", "tilde", NULL}, /* ~0 and array index */
        {"/roles", "/scope", ",\"roles\":\"solo\"", "solo", NULL},    /* a single string */
        {"/missing/deep", "/nope", ",\"roles\":[\"ignored\"]", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct cfg_config config = config_for(CFG_JWT_HS256);
        config.auth.roles_claim = (char *)cases[i].roles_claim;
        config.auth.scope_claim = (char *)cases[i].scope_claim;
        struct auth_verifier *verifier = verifier_for(&config);
        char *payload = payload_with(cases[i].extra);
        char *token = make_hs256(payload);
        struct auth_principal principal;
        expect_accepted(verifier, token, &principal);
        if (cases[i].role) {
            assert_true(principal.role_count >= 1);
            assert_string_equal(principal.roles[0], cases[i].role);
        } else {
            assert_int_equal(principal.role_count, 0);
        }
        if (cases[i].scope) {
            assert_true(principal.scope_count >= 1);
            assert_string_equal(principal.scopes[0], cases[i].scope);
        } else {
            assert_int_equal(principal.scope_count, 0);
        }
        auth_principal_clear(&principal);
        free(token);
        free(payload);
        auth_verifier_free(verifier);
    }
}

static void test_issued_tokens_write_roles_and_scope_at_the_pointers(void **state)
{
    (void)state;
    struct cfg_config config = config_for(CFG_JWT_HS256);
    config.auth.roles_claim = (char *)"/realm_access/roles";
    config.auth.scope_claim = (char *)"/scp";
    config.auth.audience = (char *)"api";
    struct auth_verifier *verifier = verifier_for(&config);
    const char *roles[] = {"admin"};
    struct rs_error error = {0};
    char *token = auth_token_issue(&config, "ann", "a:read", roles, 1, 60, &error);
    assert_non_null(token);
    struct auth_principal principal;
    expect_accepted(verifier, token, &principal);
    assert_int_equal(principal.role_count, 1);
    assert_string_equal(principal.roles[0], "admin");
    assert_int_equal(principal.scope_count, 1);
    assert_non_null(strstr(principal.claims_json, "\"realm_access\":{\"roles\":[\"admin\"]}"));
    auth_principal_clear(&principal);
    free(token);
    auth_verifier_free(verifier);
}

static void test_tokens_signed_with_a_private_key_and_kid_verify(void **state)
{
    (void)state;
    struct cfg_jwt_key entries[] = {
        {.kid = (char *)"ps", .algorithm = CFG_JWT_PS512, .public_key_file = keys.rsa_path},
        {.kid = (char *)"rs", .algorithm = CFG_JWT_RS256, .public_key_file = keys.rsa_path},
        {.kid = (char *)"es", .algorithm = CFG_JWT_ES384, .public_key_file = keys.p384_path},
        {.kid = (char *)"ed", .algorithm = CFG_JWT_EDDSA, .public_key_file = keys.ed25519_path},
    };
    struct cfg_config config = config_for_keys(entries, 4);
    struct auth_verifier *verifier = verifier_for(&config);
    static const struct {
        const char *kid, *alg;
        int key; /* 0 rsa, 1 p384, 2 ed25519 */
    } cases[] = {{"ps", "PS512", 0}, {"rs", NULL, 0}, {"es", NULL, 1}, {"ed", NULL, 2}};
    const char *files[] = {keys.rsa_private, keys.p384_private, keys.ed25519_private};
    for (size_t i = 0; i < 4; i++) {
        struct rs_error error = {0};
        char *token = auth_token_issue_with_key(&config, files[cases[i].key], cases[i].kid,
                                                cases[i].alg, "kim", "s", NULL, 0, 60, &error);
        if (!token)
            fail_msg("%s: %s", cases[i].kid, error.message);
        expect_token_accepted(verifier, token, "kim");
    }
    struct rs_error error = {0};
    assert_null(auth_token_issue_with_key(&config, keys.p384_private, "es", "RS256", "kim", NULL,
                                          NULL, 0, 60, &error));
    assert_non_null(strstr(error.message, "does not fit"));
    assert_null(auth_token_issue_with_key(&config, keys.rsa_path, "es", NULL, "kim", NULL, NULL, 0,
                                          60, &error));
    assert_non_null(strstr(error.message, "not a PEM private key"));
    auth_verifier_free(verifier);
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
        cmocka_unit_test(
            test_every_algorithm_is_accepted_with_its_key_and_refused_with_every_other),
        cmocka_unit_test(test_kid_selection_rules),
        cmocka_unit_test(test_keys_list_refuses_weak_or_mismatched_keys),
        cmocka_unit_test(test_jwks_file_keys_skips_and_reload),
        cmocka_unit_test(test_jwks_file_with_duplicate_kids_or_no_keys_is_refused),
        cmocka_unit_test(test_roles_and_scopes_come_from_json_pointers),
        cmocka_unit_test(test_issued_tokens_write_roles_and_scope_at_the_pointers),
        cmocka_unit_test(test_tokens_signed_with_a_private_key_and_kid_verify),
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
