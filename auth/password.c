/*
 * auth/password.c — PBKDF2-HMAC-SHA256 password hashes, stored self-describing as
 * "pbkdf2_sha256$ITERATIONS$SALT_B64$HASH_B64", compared in constant time. A missing or
 * malformed stored hash costs the same PBKDF2 work as a real check, so the time a login takes
 * does not tell whether the user exists.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_internal.h"

#define PREFIX "pbkdf2_sha256$"
#define SALT_BYTES 16
#define MIN_SALT_BYTES 8
#define HASH_BYTES 32
#define MAX_ITERATIONS 100000000L

char *auth_password_hash(const char *password, int iterations)
{
    unsigned char salt[SALT_BYTES], hash[HASH_BYTES];
    if (!password || iterations < 1 || RAND_bytes(salt, sizeof salt) != 1 ||
        PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, iterations,
                          EVP_sha256(), sizeof hash, hash) != 1)
        return NULL;
    char *salt_text = rs_base64_encode(salt, sizeof salt, RS_BASE64_STANDARD);
    char *hash_text = rs_base64_encode(hash, sizeof hash, RS_BASE64_STANDARD);
    struct sb stored = {0};
    sb_appendf(&stored, PREFIX "%d$%s$%s", iterations, salt_text, hash_text);
    free(salt_text);
    free(hash_text);
    OPENSSL_cleanse(hash, sizeof hash);
    return sb_take(&stored);
}

/* A decimal count of iterations, digits only, within bounds; -1 otherwise. */
static long parse_iterations(const char *text, size_t length)
{
    if (length == 0 || length > 9)
        return -1;
    long value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value >= 1 && value <= MAX_ITERATIONS ? value : -1;
}

/* Splits "pbkdf2_sha256$N$SALT$HASH" (exactly four fields). 0 with *salt and *hash to free. */
static int parse_stored(const char *stored, long *iterations, unsigned char **salt,
                        size_t *salt_length, unsigned char **hash)
{
    *salt = NULL;
    *hash = NULL;
    if (strncmp(stored, PREFIX, strlen(PREFIX)) != 0)
        return -1;
    const char *rounds_text = stored + strlen(PREFIX);
    const char *salt_text = strchr(rounds_text, '$');
    const char *hash_text = salt_text ? strchr(salt_text + 1, '$') : NULL;
    if (!hash_text || strchr(hash_text + 1, '$'))
        return -1;
    *iterations = parse_iterations(rounds_text, (size_t)(salt_text - rounds_text));
    size_t salt_text_length = (size_t)(hash_text - salt_text - 1), hash_length = 0;
    int status = *iterations > 0 &&
                         rs_base64_decode(salt_text + 1, salt_text_length, RS_BASE64_STANDARD, salt,
                                          salt_length) == 0 &&
                         *salt_length >= MIN_SALT_BYTES &&
                         rs_base64_decode(hash_text + 1, strlen(hash_text + 1), RS_BASE64_STANDARD,
                                          hash, &hash_length) == 0 &&
                         hash_length == HASH_BYTES
                     ? 0
                     : -1;
    if (status < 0) {
        free(*salt);
        free(*hash);
        *salt = NULL;
        *hash = NULL;
    }
    return status;
}

bool auth_password_verify(const char *password, const char *stored, int iterations)
{
    static const unsigned char dummy_salt[SALT_BYTES] = "restable-dummy!";
    unsigned char *salt = NULL, *expected = NULL;
    size_t salt_length = 0;
    long rounds = 0;
    bool is_real = stored && parse_stored(stored, &rounds, &salt, &salt_length, &expected) == 0;
    if (!is_real)
        rounds = iterations > 0 ? iterations : 1;
    const char *text = password ? password : "";
    unsigned char computed[HASH_BYTES];
    /* the work is done whatever happened above: that is the point */
    int ok = PKCS5_PBKDF2_HMAC(text, (int)strlen(text), is_real ? salt : dummy_salt,
                               is_real ? (int)salt_length : SALT_BYTES, (int)rounds, EVP_sha256(),
                               sizeof computed, computed);
    bool matches =
        ok == 1 && is_real && password && CRYPTO_memcmp(computed, expected, HASH_BYTES) == 0;
    OPENSSL_cleanse(computed, sizeof computed);
    free(salt);
    free(expected);
    return matches;
}
