/*
 * auth/password.c — PBKDF2-HMAC-SHA256 password hashes, stored self-describing as
 * "pbkdf2_sha256$ITERATIONS$SALT_B64$HASH_B64", compared in constant time. A missing or
 * malformed stored hash costs the same work as a real check, so timing does not tell whether
 * a user exists.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_internal.h"

#define SALT_BYTES 16
#define HASH_BYTES 32

char *auth_password_hash(const char *password, int iterations)
{
    unsigned char salt[SALT_BYTES], hash[HASH_BYTES];
    if (iterations < 1 || RAND_bytes(salt, sizeof salt) != 1 ||
        PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, iterations,
                          EVP_sha256(), sizeof hash, hash) != 1)
        return NULL;
    char *salt_text = auth_base64_encode(salt, sizeof salt);
    char *hash_text = auth_base64_encode(hash, sizeof hash);
    struct sb stored = {0};
    sb_appendf(&stored, "pbkdf2_sha256$%d$%s$%s", iterations, salt_text, hash_text);
    free(salt_text);
    free(hash_text);
    OPENSSL_cleanse(hash, sizeof hash);
    return sb_take(&stored);
}

bool auth_password_verify(const char *password, const char *stored, int iterations)
{
    static const unsigned char dummy_salt[SALT_BYTES] = "restable-dummy!";
    unsigned char *salt = NULL, *expected = NULL;
    size_t salt_length = 0, expected_length = 0;
    int rounds = iterations;
    bool is_real = false;
    if (stored && strncmp(stored, "pbkdf2_sha256$", 14) == 0) {
        char *copy = strdup(stored + 14);
        char *save = NULL;
        char *rounds_text = copy ? strtok_r(copy, "$", &save) : NULL;
        char *salt_text = rounds_text ? strtok_r(NULL, "$", &save) : NULL;
        char *hash_text = salt_text ? strtok_r(NULL, "$", &save) : NULL;
        long parsed = rounds_text ? strtol(rounds_text, NULL, 10) : 0;
        if (hash_text && parsed >= 1 && parsed <= 100000000 &&
            auth_base64_decode(salt_text, &salt, &salt_length) == 0 &&
            auth_base64_decode(hash_text, &expected, &expected_length) == 0 &&
            expected_length == HASH_BYTES) {
            rounds = (int)parsed;
            is_real = true;
        }
        free(copy);
    }
    unsigned char computed[HASH_BYTES];
    int ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
                               is_real ? salt : dummy_salt,
                               is_real ? (int)salt_length : SALT_BYTES, rounds > 0 ? rounds : 1,
                               EVP_sha256(), sizeof computed, computed);
    bool matches = ok == 1 && is_real && CRYPTO_memcmp(computed, expected, HASH_BYTES) == 0;
    OPENSSL_cleanse(computed, sizeof computed);
    free(salt);
    free(expected);
    return matches;
}
