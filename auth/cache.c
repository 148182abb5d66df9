/*
 * auth/cache.c — remembers verified tokens so a token presented again skips the signature
 * work (an RSA verify costs more than the query behind it). Bounded: a fixed table of slots,
 * a new token overwrites whatever shared its slot. Keyed by the whole token, compared in
 * constant time; an entry is never trusted past its exp (+ leeway) or before its nbf, nor
 * under another key set than the one that verified it (its key may have been removed since:
 * the token is then verified afresh). The entry remembers the kid that verified it.
 * Thread-safe: slots are guarded by a small set of striped mutexes.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

#define CACHE_SLOTS 1024
#define CACHE_STRIPES 16 /* slot i is guarded by lock i % CACHE_STRIPES */

struct cache_entry {
    char *token; /* NULL: empty slot */
    size_t length;
    struct auth_principal principal;
    long not_before;
    char *kid;                /* the header's kid, or NULL */
    unsigned long generation; /* of the key set that verified it */
};

struct auth_cache {
    uint64_t seed; /* random per process, so nobody can aim tokens at one slot */
    pthread_mutex_t locks[CACHE_STRIPES];
    struct cache_entry entries[CACHE_SLOTS];
};

struct auth_cache *auth_cache_new(void)
{
    struct auth_cache *cache = xcalloc(1, sizeof *cache);
    if (RAND_bytes((unsigned char *)&cache->seed, sizeof cache->seed) != 1) {
        free(cache);
        return NULL;
    }
    for (size_t i = 0; i < CACHE_STRIPES; i++) {
        if (pthread_mutex_init(&cache->locks[i], NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&cache->locks[i]);
            free(cache);
            return NULL;
        }
    }
    return cache;
}

void auth_cache_free(struct auth_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(cache->entries[i].token);
        free(cache->entries[i].kid);
        auth_principal_clear(&cache->entries[i].principal);
    }
    for (size_t i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_destroy(&cache->locks[i]);
    free(cache);
}

/* FNV-1a from a secret starting point, then a splitmix64 finish to spread the low bits. */
static size_t slot_of(const struct auth_cache *cache, const char *token, size_t length)
{
    uint64_t hash = 1469598103934665603ULL ^ cache->seed;
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char)token[i]) * 1099511628211ULL;
    hash ^= hash >> 30;
    hash *= 0xbf58476d1ce4e5b9ULL;
    hash ^= hash >> 27;
    hash *= 0x94d049bb133111ebULL;
    hash ^= hash >> 31;
    return (size_t)(hash % CACHE_SLOTS);
}

bool auth_cache_lookup(struct auth_cache *cache, const char *token, size_t length, long now,
                       long leeway, unsigned long generation, struct auth_principal *principal,
                       struct rs_error *error, int *status)
{
    size_t slot = slot_of(cache, token, length);
    struct cache_entry *entry = &cache->entries[slot];
    bool is_found = false;
    pthread_mutex_lock(&cache->locks[slot % CACHE_STRIPES]);
    /* constant time over the bytes: a timing difference must not tell a forger how much of
     * a cached (valid) token their guess shares */
    if (entry->token && entry->length == length && entry->generation == generation &&
        CRYPTO_memcmp(entry->token, token, length) == 0) {
        is_found = true;
        if (now > entry->principal.expires_at + leeway) {
            rs_error_set(error, RS_UNAUTHORIZED, NULL, "token expired");
            *status = -1;
        } else if (now + leeway < entry->not_before) {
            rs_error_set(error, RS_UNAUTHORIZED, NULL, "token not yet valid");
            *status = -1;
        } else {
            auth_principal_copy(principal, &entry->principal);
            *status = 0;
        }
    }
    pthread_mutex_unlock(&cache->locks[slot % CACHE_STRIPES]);
    return is_found;
}

void auth_cache_store(struct auth_cache *cache, const char *token, size_t length,
                      const struct auth_principal *principal, long not_before, const char *kid,
                      unsigned long generation)
{
    size_t slot = slot_of(cache, token, length);
    struct cache_entry *entry = &cache->entries[slot];
    /* copy outside the lock: allocation is the slow part */
    char *copy = xmalloc(length + 1);
    memcpy(copy, token, length);
    copy[length] = '\0';
    struct auth_principal fresh;
    auth_principal_copy(&fresh, principal);
    char *kid_copy = xstrdup_or_null(kid);

    pthread_mutex_lock(&cache->locks[slot % CACHE_STRIPES]);
    char *old_token = entry->token;
    struct auth_principal old_principal = entry->principal;
    char *old_kid = entry->kid;
    entry->token = copy;
    entry->kid = kid_copy;
    entry->generation = generation;
    entry->length = length;
    entry->principal = fresh;
    entry->not_before = not_before;
    pthread_mutex_unlock(&cache->locks[slot % CACHE_STRIPES]);

    free(old_token);
    free(old_kid);
    auth_principal_clear(&old_principal);
}
