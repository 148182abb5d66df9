/*
 * auth/auth_internal.h — private to auth/: the verifier's layout (keys.c builds it, verify.c
 * reads it), signature checking, the verification cache and principal copying. (base64 is
 * base/'s: rs_base64_decode and rs_base64_encode.)
 */
#ifndef RESTABLE_AUTH_INTERNAL_H
#define RESTABLE_AUTH_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

struct auth_cache;

/* Immutable after auth_verifier_new, so worker threads share it without locking; only the
 * cache inside has its own locks. */
struct auth_verifier {
    enum cfg_jwt_algorithm algorithm;
    const char *algorithm_name; /* the exact "alg" a token header must carry */
    unsigned char *secret;      /* HS*: the shared secret */
    size_t secret_length;
    EVP_PKEY *public_key;     /* RS256 / ES256 */
    char *issuer;             /* NULL: not checked */
    char *audience;           /* NULL: not checked */
    long leeway;              /* seconds, never negative */
    struct auth_cache *cache; /* NULL when no key is configured */
};

/* "HS256" … for a configured algorithm, "" for CFG_JWT_NONE. */
const char *auth_algorithm_name(enum cfg_jwt_algorithm algorithm);

/* Checks the JWS signature over "header.payload" with the configured key only. */
bool auth_signature_is_valid(const struct auth_verifier *verifier, const char *signing_input,
                             size_t input_length, const unsigned char *signature,
                             size_t signature_length);

/* Deep copy (auth/principal.c); `to` is overwritten, not cleared first. */
void auth_principal_copy(struct auth_principal *to, const struct auth_principal *from);

/* A bounded map from a verified token to its principal. Thread-safe. */
struct auth_cache *auth_cache_new(void);
void auth_cache_free(struct auth_cache *cache);
/* True when the token is cached: then *status is 0 with a copy of the principal, or -1 with
 * error filled because the cached token has expired (or is not yet valid) by now. */
bool auth_cache_lookup(struct auth_cache *cache, const char *token, size_t length, long now,
                       long leeway, struct auth_principal *principal, struct rs_error *error,
                       int *status);
void auth_cache_store(struct auth_cache *cache, const char *token, size_t length,
                      const struct auth_principal *principal, long not_before);

#endif
