/*
 * tests/fuzz/fuzz_jwt.c — libFuzzer target for bearer token verification (auth/verify.c,
 * auth/keys.c, auth/cache.c, auth/base64.c) with three verifiers: HS256 (with issuer and
 * audience), RS256 and ES256 (keys generated at start, written as PEM files for the config).
 *
 * Input: byte 0 picks the verifier and how the rest becomes an Authorization header:
 *   raw:    the rest is the header value as sent ("Bearer …", or anything);
 *   token:  "Bearer " + the rest (header, payload and signature parts as the fuzzer writes them);
 *   signed: the rest is "<header JSON>\n<payload JSON>", base64url-encoded and signed with the
 *           verifier's own key, so the checks after the signature (exp, nbf, iat, iss, aud, the
 *           claims turned into a principal, the cache) are reached too (for RS256 only with
 *           mode 3, since an RSA signature costs about a millisecond).
 *
 * Invariants: a refusal is a 401 with a reason; an acceptance carries an authenticated principal
 * whose claims are a JSON object with a numeric exp, from a token whose header "alg" is exactly
 * the configured algorithm.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HS_SECRET "fuzz-secret-0123456789abcdef-0123456789"

enum { HS256, RS256, ES256, VERIFIER_COUNT };
static const char *const algorithm_names[VERIFIER_COUNT] = {"HS256", "RS256", "ES256"};

static struct auth_verifier *verifiers[VERIFIER_COUNT];
static EVP_PKEY *private_keys[VERIFIER_COUNT];
static struct cfg_config *configs[VERIFIER_COUNT];

static char *write_public_key(const char *folder, const char *name, EVP_PKEY *key)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s.pem", folder, name);
    FILE *file = fopen(path, "w");
    fuzz_expect(file && PEM_write_PUBKEY(file, key) == 1, "write a public key");
    fclose(file);
    return path;
}

static void make_verifier(int which, const char *jwt_json)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"database\": {\"url\": \"postgresql://fuzz@localhost/fuzz\"},"
             " \"auth\": {\"jwt\": %s, \"default\": {\"read\": [\"scope:read\", \"role:admin\"]}},"
             " \"tables\": {\"t\": {\"columns\": {\"name\": {\"type\": \"text\"}}}}}",
             jwt_json);
    configs[which] = fuzz_config_or_die(text);
    struct rs_error error = {0};
    verifiers[which] = auth_verifier_new(configs[which], &error);
    if (!verifiers[which]) {
        fprintf(stderr, "fuzz_jwt: %s verifier: %s\n", algorithm_names[which], error.message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("RESTABLE_JWT_SECRET");
    char folder[] = "/tmp/restable-fuzz-jwt-XXXXXX";
    fuzz_expect(mkdtemp(folder) != NULL, "mkdtemp");
    make_verifier(HS256, "{\"secret\": \"" HS_SECRET "\", \"algorithm\": \"HS256\", "
                         "\"issuer\": \"restable\", \"audience\": \"api\", \"leeway_s\": 30}");

    private_keys[RS256] = EVP_RSA_gen(2048);
    private_keys[ES256] = EVP_EC_gen("P-256");
    fuzz_expect(private_keys[RS256] && private_keys[ES256], "generate keys");
    char jwt[512];
    char *path = write_public_key(folder, "rs256", private_keys[RS256]);
    snprintf(jwt, sizeof jwt, "{\"public_key_file\": \"%s\", \"algorithm\": \"RS256\"}", path);
    make_verifier(RS256, jwt);
    unlink(path);
    path = write_public_key(folder, "es256", private_keys[ES256]);
    snprintf(jwt, sizeof jwt, "{\"public_key_file\": \"%s\", \"algorithm\": \"ES256\"}", path);
    make_verifier(ES256, jwt);
    unlink(path);
    rmdir(folder);
    return 0;
}

static void base64url_append(struct sb *out, const unsigned char *data, size_t length)
{
    char *text = rs_base64_encode(data, length, RS_BASE64_URL);
    sb_append(out, text);
    free(text);
}

/* The JWS signature of input with the verifier's key, in JOSE form; 0 bytes when it fails. */
static size_t sign(int which, const char *input, size_t input_length, unsigned char *out)
{
    if (which == HS256) {
        unsigned int length = 0;
        HMAC(EVP_sha256(), HS_SECRET, (int)strlen(HS_SECRET), (const unsigned char *)input,
             input_length, out, &length);
        return length;
    }
    unsigned char der[512];
    size_t der_length = sizeof der;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    bool is_signed =
        context &&
        EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, private_keys[which]) == 1 &&
        EVP_DigestSign(context, der, &der_length, (const unsigned char *)input, input_length) == 1;
    EVP_MD_CTX_free(context);
    fuzz_expect(is_signed, "sign a token");
    if (which == RS256) {
        memcpy(out, der, der_length);
        return der_length;
    }
    const unsigned char *cursor = der;
    ECDSA_SIG *pair = d2i_ECDSA_SIG(NULL, &cursor, (long)der_length);
    fuzz_expect(pair != NULL, "decode an ECDSA signature");
    BN_bn2binpad(ECDSA_SIG_get0_r(pair), out, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(pair), out + 32, 32);
    ECDSA_SIG_free(pair);
    return 64;
}

static char *signed_header(int which, const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    size_t header_length = newline ? (size_t)(newline - data) : size;
    const uint8_t *payload = newline ? newline + 1 : data + size;
    size_t payload_length = (size_t)(data + size - payload);
    struct sb token = {0};
    sb_append(&token, "Bearer ");
    base64url_append(&token, data, header_length);
    sb_append_char(&token, '.');
    base64url_append(&token, payload, payload_length);
    unsigned char signature[512];
    size_t signature_length = sign(which, sb_text(&token) + 7, token.length - 7, signature);
    sb_append_char(&token, '.');
    base64url_append(&token, signature, signature_length);
    return sb_take(&token);
}

/* The "alg" of the token's header, decoded our own way, or NULL: for the invariant only. */
static char *header_alg(const char *authorization)
{
    const char *token = strrchr(authorization, ' ');
    token = token ? token + 1 : authorization;
    size_t length = strcspn(token, ".");
    struct sb json = {0};
    unsigned long group = 0;
    int bits = 0;
    for (size_t i = 0; i < length; i++) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *at = strchr(alphabet, token[i]);
        if (!at || !token[i])
            break;
        group = (group << 6) | (unsigned long)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            sb_append_char(&json, (char)((group >> bits) & 0xFF));
        }
    }
    json_t *header = json_loadb(sb_text(&json), json.length, 0, NULL);
    sb_free(&json);
    const char *alg = json_string_value(json_object_get(header, "alg"));
    char *copy = alg ? strdup(alg) : NULL;
    json_decref(header);
    return copy;
}

static void check_principal(int which, const char *authorization,
                            const struct auth_principal *principal)
{
    fuzz_expect(principal->is_authenticated, "an accepted token authenticates");
    json_t *claims = json_loads(principal->claims_json ? principal->claims_json : "", 0, NULL);
    fuzz_expect(json_is_object(claims), "claims are a JSON object");
    fuzz_expect(json_is_number(json_object_get(claims, "exp")), "an accepted token has exp");
    json_decref(claims);
    char *alg = header_alg(authorization);
    fuzz_expect(alg && strcmp(alg, algorithm_names[which]) == 0,
                "an accepted token's alg is the configured one");
    free(alg);
    for (size_t i = 0; i < principal->scope_count; i++)
        fuzz_expect(principal->scopes[i] && principal->scopes[i][0], "scopes are not empty");
    auth_policy_allows(&configs[which]->auth.default_read, principal);
    auth_policy_allows(&configs[which]->auth.default_write, principal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 12 * 1024)
        return -1;
    int which = (data[0] & 3) % VERIFIER_COUNT;
    int mode = (data[0] >> 2) & 3;
    char *authorization;
    if (mode == 0) {
        authorization = fuzz_strndup(data + 1, size - 1);
    } else if (mode == 1 || (mode == 2 && which == RS256)) {
        /* RS256 signs in mode 3 only: an RSA signature costs a millisecond */
        struct sb text = {0};
        sb_append(&text, "Bearer ");
        sb_append_n(&text, (const char *)data + 1, size - 1);
        authorization = sb_take(&text);
    } else {
        authorization = signed_header(which, data + 1, size - 1);
    }
    struct auth_principal principal;
    struct rs_error error = {0};
    if (auth_verify_bearer(verifiers[which], authorization, &principal, &error) == 0)
        check_principal(which, authorization, &principal);
    else
        fuzz_expect(error.outcome == RS_UNAUTHORIZED && error.message[0],
                    "a refused token is a 401");
    auth_principal_clear(&principal);
    free(authorization);
    return 0;
}
