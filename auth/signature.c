/*
 * auth/signature.c — JWS signatures with OpenSSL EVP, for every algorithm restable takes
 * (RFC 7518 §3, RFC 8037): HMAC compared in constant time, RSA PKCS#1 v1.5, RSA-PSS (salt as
 * long as the hash, MGF1 with the same hash), ECDSA in JOSE's r||s form, Ed25519. The key and
 * the algorithm come from the caller, which has matched them; nothing here reads a token.
 * Signing (for `restable token --key`) is the mirror image.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

static const EVP_MD *digest_of(enum cfg_jwt_algorithm algorithm)
{
    switch (algorithm) {
    case CFG_JWT_HS384:
    case CFG_JWT_RS384:
    case CFG_JWT_PS384:
    case CFG_JWT_ES384:
        return EVP_sha384();
    case CFG_JWT_HS512:
    case CFG_JWT_RS512:
    case CFG_JWT_PS512:
    case CFG_JWT_ES512:
        return EVP_sha512();
    case CFG_JWT_EDDSA:
        return NULL; /* Ed25519 hashes internally */
    default:
        return EVP_sha256();
    }
}

static bool is_pss(enum cfg_jwt_algorithm algorithm)
{
    return algorithm == CFG_JWT_PS256 || algorithm == CFG_JWT_PS384 || algorithm == CFG_JWT_PS512;
}

/* Bytes of r (and of s) in a JOSE ECDSA signature: the curve's order size, P-521 rounded up. */
static size_t ec_half(enum cfg_jwt_algorithm algorithm)
{
    return algorithm == CFG_JWT_ES384 ? 48 : algorithm == CFG_JWT_ES512 ? 66 : 32;
}

static bool hmac_is_valid(const struct auth_key *key, enum cfg_jwt_algorithm algorithm,
                          const char *input, size_t input_length, const unsigned char *signature,
                          size_t signature_length)
{
    unsigned char expected[EVP_MAX_MD_SIZE];
    unsigned int expected_length = 0;
    if (!HMAC(digest_of(algorithm), key->secret, (int)key->secret_length,
              (const unsigned char *)input, input_length, expected, &expected_length))
        return false;
    /* the length is public (fixed by the algorithm); the bytes are compared in constant time */
    return expected_length == signature_length &&
           CRYPTO_memcmp(expected, signature, signature_length) == 0;
}

/* JOSE r||s (RFC 7518 §3.4) to the DER ECDSA-Sig-Value OpenSSL verifies; a DER signature in
 * the token is refused by the length check. Returns the DER (OPENSSL_free) or NULL. */
static unsigned char *jose_to_der(const unsigned char *signature, size_t length, size_t half,
                                  size_t *der_length)
{
    if (length != 2 * half)
        return NULL;
    ECDSA_SIG *pair = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(signature, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(signature + half, (int)half, NULL);
    if (!pair || !r || !s || ECDSA_SIG_set0(pair, r, s) != 1) {
        ECDSA_SIG_free(pair);
        BN_free(r);
        BN_free(s);
        return NULL;
    }
    unsigned char *der = NULL;
    int written = i2d_ECDSA_SIG(pair, &der);
    ECDSA_SIG_free(pair);
    if (written <= 0)
        return NULL;
    *der_length = (size_t)written;
    return der;
}

/* PSS as RFC 7518 §3.5 fixes it: salt length = hash length, MGF1 with the same hash. */
static bool set_pss(EVP_PKEY_CTX *context, enum cfg_jwt_algorithm algorithm)
{
    return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(context, RSA_PSS_SALTLEN_DIGEST) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(context, digest_of(algorithm)) > 0;
}

bool auth_signature_is_valid(const struct auth_key *key, enum cfg_jwt_algorithm algorithm,
                             const char *signing_input, size_t input_length,
                             const unsigned char *signature, size_t signature_length)
{
    if (signature_length == 0 || !auth_key_fits(key, algorithm))
        return false;
    if (key->family == AUTH_FAMILY_HMAC)
        return key->secret && hmac_is_valid(key, algorithm, signing_input, input_length, signature,
                                            signature_length);
    if (!key->public_key)
        return false;
    unsigned char *der = NULL;
    const unsigned char *to_check = signature;
    size_t check_length = signature_length;
    if (algorithm == CFG_JWT_ES256 || algorithm == CFG_JWT_ES384 || algorithm == CFG_JWT_ES512) {
        der = jose_to_der(signature, signature_length, ec_half(algorithm), &check_length);
        if (!der)
            return false;
        to_check = der;
    }
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    EVP_PKEY_CTX *key_context = NULL;
    /* RSA keys default to PKCS#1 v1.5 padding, which is what RS* means */
    bool is_valid = context &&
                    EVP_DigestVerifyInit(context, &key_context, digest_of(algorithm), NULL,
                                         key->public_key) == 1 &&
                    (!is_pss(algorithm) || set_pss(key_context, algorithm)) &&
                    EVP_DigestVerify(context, to_check, check_length,
                                     (const unsigned char *)signing_input, input_length) == 1;
    EVP_MD_CTX_free(context);
    OPENSSL_free(der);
    /* a refused signature leaves entries on this thread's OpenSSL error queue; drop them so
     * they are not mistaken for a later failure (libpq's TLS code reads that queue too) */
    if (!is_valid)
        ERR_clear_error();
    return is_valid;
}

/* DER ECDSA-Sig-Value to JOSE r||s, each half left-padded to the curve's size. */
static unsigned char *der_to_jose(const unsigned char *der, size_t der_length, size_t half,
                                  size_t *length)
{
    const unsigned char *cursor = der;
    ECDSA_SIG *pair = d2i_ECDSA_SIG(NULL, &cursor, (long)der_length);
    if (!pair)
        return NULL;
    unsigned char *jose = xmalloc(2 * half);
    bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(pair), jose, (int)half) == (int)half &&
              BN_bn2binpad(ECDSA_SIG_get0_s(pair), jose + half, (int)half) == (int)half;
    ECDSA_SIG_free(pair);
    if (!ok) {
        free(jose);
        return NULL;
    }
    *length = 2 * half;
    return jose;
}

unsigned char *auth_signature_make(EVP_PKEY *key, enum cfg_jwt_algorithm algorithm,
                                   const char *input, size_t input_length, size_t *length)
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    EVP_PKEY_CTX *key_context = NULL;
    unsigned char *signature = NULL;
    size_t size = 0;
    if (context &&
        EVP_DigestSignInit(context, &key_context, digest_of(algorithm), NULL, key) == 1 &&
        (!is_pss(algorithm) || set_pss(key_context, algorithm)) &&
        EVP_DigestSign(context, NULL, &size, (const unsigned char *)input, input_length) == 1) {
        signature = xmalloc(size);
        if (EVP_DigestSign(context, signature, &size, (const unsigned char *)input, input_length) !=
            1) {
            free(signature);
            signature = NULL;
        }
    }
    EVP_MD_CTX_free(context);
    ERR_clear_error();
    if (!signature)
        return NULL;
    if (auth_algorithm_family(algorithm) >= AUTH_FAMILY_P256 &&
        auth_algorithm_family(algorithm) <= AUTH_FAMILY_P521) {
        unsigned char *jose = der_to_jose(signature, size, ec_half(algorithm), length);
        free(signature);
        return jose;
    }
    *length = size;
    return signature;
}
