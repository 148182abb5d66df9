/*
 * auth/keys.c — the verifier's keys: builds the verifier from the config (HS secret of at
 * least 32 bytes, or a PEM public key whose type fits the algorithm: RSA of 2048 bits or more
 * for RS256, EC on P-256 for ES256) and checks JWS signatures with OpenSSL using that key
 * only. The algorithm is fixed here, never taken from a token.
 */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

#define MIN_SECRET_BYTES 32
#define MIN_RSA_BITS 2048
#define ES256_HALF 32

const char *auth_algorithm_name(enum cfg_jwt_algorithm algorithm)
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
    case CFG_JWT_NONE:
        break;
    }
    return "";
}

static bool is_p256(EVP_PKEY *key)
{
    char group[64];
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1)
        return false;
    /* OpenSSL reports the curve by its X9.62 name; "P-256" is the NIST alias */
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

static int load_public_key(struct auth_verifier *verifier, const char *path, struct rs_error *error)
{
    if (!path) {
        rs_error_set(error, 1, "auth.jwt.public_key_file",
                     "auth.jwt.public_key_file: required for %s", verifier->algorithm_name);
        return -1;
    }
    BIO *file = BIO_new_file(path, "r");
    if (!file) {
        rs_error_set(error, 1, "auth.jwt.public_key_file",
                     "auth.jwt.public_key_file: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    verifier->public_key = PEM_read_bio_PUBKEY(file, NULL, NULL, NULL);
    BIO_free(file);
    ERR_clear_error();
    if (!verifier->public_key) {
        rs_error_set(
            error, 1, "auth.jwt.public_key_file",
            "auth.jwt.public_key_file: %s is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
            path);
        return -1;
    }
    EVP_PKEY *key = verifier->public_key;
    if (verifier->algorithm == CFG_JWT_RS256) {
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < MIN_RSA_BITS) {
            rs_error_set(
                error, 1, "auth.jwt.public_key_file",
                "auth.jwt.public_key_file: %s must be an RSA key of at least %d bits for RS256",
                path, MIN_RSA_BITS);
            return -1;
        }
    } else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || !is_p256(key)) {
        rs_error_set(error, 1, "auth.jwt.public_key_file",
                     "auth.jwt.public_key_file: %s must be an EC key on curve P-256 for ES256",
                     path);
        return -1;
    }
    return 0;
}

struct auth_verifier *auth_verifier_new(const struct cfg_config *config, struct rs_error *error)
{
    struct auth_verifier *verifier = xcalloc(1, sizeof *verifier);
    verifier->algorithm = config->auth.algorithm;
    verifier->algorithm_name = auth_algorithm_name(config->auth.algorithm);
    verifier->issuer = xstrdup_or_null(config->auth.issuer);
    verifier->audience = xstrdup_or_null(config->auth.audience);
    verifier->leeway = config->auth.leeway_s > 0 ? config->auth.leeway_s : 0;
    switch (verifier->algorithm) {
    case CFG_JWT_NONE:
        return verifier;
    case CFG_JWT_HS256:
    case CFG_JWT_HS384:
    case CFG_JWT_HS512:
        /* RFC 7518 §3.2: the key must be at least as long as the hash output; 32 bytes is the
         * floor for every HS size, so a short or guessable secret never goes live */
        if (!config->auth.secret || strlen(config->auth.secret) < MIN_SECRET_BYTES) {
            rs_error_set(error, 1, "auth.jwt.secret", "auth.jwt.secret: must be at least %d bytes",
                         MIN_SECRET_BYTES);
            goto fail;
        }
        verifier->secret_length = strlen(config->auth.secret);
        verifier->secret = (unsigned char *)xstrdup_or_null(config->auth.secret);
        break;
    case CFG_JWT_RS256:
    case CFG_JWT_ES256:
        if (load_public_key(verifier, config->auth.public_key_file, error) < 0)
            goto fail;
        break;
    default:
        rs_error_set(error, 1, "auth.jwt", "auth.jwt: unknown algorithm");
        goto fail;
    }
    verifier->cache = auth_cache_new();
    if (!verifier->cache) {
        rs_error_set(error, 1, NULL, "cannot set up the token cache");
        goto fail;
    }
    return verifier;
fail:
    auth_verifier_free(verifier);
    return NULL;
}

void auth_verifier_free(struct auth_verifier *verifier)
{
    if (!verifier)
        return;
    auth_cache_free(verifier->cache);
    if (verifier->secret)
        OPENSSL_cleanse(verifier->secret, verifier->secret_length);
    free(verifier->secret);
    EVP_PKEY_free(verifier->public_key);
    free(verifier->issuer);
    free(verifier->audience);
    free(verifier);
}

static bool hmac_is_valid(const struct auth_verifier *verifier, const char *signing_input,
                          size_t input_length, const unsigned char *signature,
                          size_t signature_length)
{
    const EVP_MD *digest = verifier->algorithm == CFG_JWT_HS256   ? EVP_sha256()
                           : verifier->algorithm == CFG_JWT_HS384 ? EVP_sha384()
                                                                  : EVP_sha512();
    unsigned char expected[EVP_MAX_MD_SIZE];
    unsigned int expected_length = 0;
    if (!HMAC(digest, verifier->secret, (int)verifier->secret_length,
              (const unsigned char *)signing_input, input_length, expected, &expected_length))
        return false;
    /* the length is public (fixed by the algorithm); the bytes are compared in constant time */
    return expected_length == signature_length &&
           CRYPTO_memcmp(expected, signature, signature_length) == 0;
}

/* JOSE carries an ES256 signature as r||s, 32 bytes each, big-endian (RFC 7518 §3.4);
 * OpenSSL verifies the DER ECDSA-Sig-Value. Returns the DER (OPENSSL_free) or NULL. */
static unsigned char *es256_to_der(const unsigned char *signature, size_t signature_length,
                                   size_t *der_length)
{
    if (signature_length != 2 * ES256_HALF)
        return NULL;
    ECDSA_SIG *pair = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(signature, ES256_HALF, NULL);
    BIGNUM *s = BN_bin2bn(signature + ES256_HALF, ES256_HALF, NULL);
    if (!pair || !r || !s || ECDSA_SIG_set0(pair, r, s) != 1) {
        ECDSA_SIG_free(pair);
        BN_free(r);
        BN_free(s);
        return NULL;
    }
    unsigned char *der = NULL;
    int length = i2d_ECDSA_SIG(pair, &der);
    ECDSA_SIG_free(pair);
    if (length <= 0)
        return NULL;
    *der_length = (size_t)length;
    return der;
}

bool auth_signature_is_valid(const struct auth_verifier *verifier, const char *signing_input,
                             size_t input_length, const unsigned char *signature,
                             size_t signature_length)
{
    if (signature_length == 0)
        return false;
    if (verifier->secret)
        return hmac_is_valid(verifier, signing_input, input_length, signature, signature_length);
    if (!verifier->public_key)
        return false;
    unsigned char *der = NULL;
    const unsigned char *to_check = signature;
    size_t check_length = signature_length;
    if (verifier->algorithm == CFG_JWT_ES256) {
        der = es256_to_der(signature, signature_length, &check_length);
        if (!der)
            return false;
        to_check = der;
    }
    /* RSA keys default to PKCS#1 v1.5 padding, which is what RS256 means */
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    bool is_valid =
        context &&
        EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, verifier->public_key) == 1 &&
        EVP_DigestVerify(context, to_check, check_length, (const unsigned char *)signing_input,
                         input_length) == 1;
    EVP_MD_CTX_free(context);
    OPENSSL_free(der);
    /* a refused signature leaves entries on this thread's OpenSSL error queue; drop them so
     * they are not mistaken for a later failure (libpq's TLS code reads that queue too) */
    if (!is_valid)
        ERR_clear_error();
    return is_valid;
}
