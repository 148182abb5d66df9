/*
 * auth/auth_internal.h — private to auth/: keys and key sets (keys.c, jwk.c, keyset.c), the
 * verifier's layout (verifier.c builds it, verify.c reads it), signature checking
 * (signature.c), the JWKS fetch and its refresher thread (jwks_fetch.c, jwks_refresh.c), JSON
 * Pointers (pointer.c), the verification cache and principal copying. (base64 is base/'s.)
 */
#ifndef RESTABLE_AUTH_INTERNAL_H
#define RESTABLE_AUTH_INTERNAL_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

#define AUTH_MIN_SECRET_BYTES 32
#define AUTH_MIN_RSA_BITS 2048

/* What a key is, which fixes the algorithms it can verify. */
enum auth_key_family {
    AUTH_FAMILY_HMAC,
    AUTH_FAMILY_RSA,
    AUTH_FAMILY_P256,
    AUTH_FAMILY_P384,
    AUTH_FAMILY_P521,
    AUTH_FAMILY_ED25519,
};

/* One verification key. Immutable once in a set. */
struct auth_key {
    char *kid;                        /* NULL: none */
    enum cfg_jwt_algorithm algorithm; /* CFG_JWT_NONE: any its family allows (a JWK without alg) */
    enum auth_key_family family;
    unsigned char *secret; /* HMAC */
    size_t secret_length;
    EVP_PKEY *public_key; /* the others */
};

/* An immutable set of keys, published whole (keyset.c) and read without locks. */
struct auth_key_set {
    struct auth_key *keys;
    size_t count;
    unsigned long generation;     /* changes whenever the published set does */
    struct auth_key_set *retired; /* keyset.c's list of replaced sets not yet freed */
};

/* Where the current set lives. Readers bracket their use with auth_keyset_enter/leave (one
 * atomic counter, no lock); a publisher swaps the pointer and frees a replaced set only once it
 * has seen no reader in flight, so a reader never holds freed keys. */
struct auth_keyset_slot {
    _Atomic(struct auth_key_set *) current;
    atomic_ulong generation; /* of current, readable without entering */
    atomic_long readers;
    pthread_mutex_t publish_lock; /* publishers: the refresher thread, SIGHUP, start-up */
    struct auth_key_set *retired;
    /* The parts the published set is merged from, owned under publish_lock. */
    struct auth_key_set *static_keys, *file_keys, *url_keys;
};

struct auth_cache;
struct auth_refresher;

/* Built at start (verifier.c); only the key set slot and the cache inside change afterwards,
 * each with its own synchronisation, so worker threads share the verifier freely. */
struct auth_verifier {
    bool is_on;                   /* some key source is configured */
    bool has_key_set;             /* kid picks among keys (keys, jwks_url, jwks_file) */
    char *issuer;                 /* NULL: not checked */
    char *audience;               /* NULL: not checked */
    char *roles_pointer;          /* JSON Pointer into the claims */
    char *scope_pointer;          /* JSON Pointer into the claims */
    long leeway;                  /* seconds, never negative */
    long (*clock)(void *context); /* seconds since the epoch; time(NULL) unless a test sets it */
    void *clock_context;
    struct auth_keyset_slot slot;
    char *jwks_file;                  /* NULL: none */
    struct auth_refresher *refresher; /* NULL without jwks_url */
    struct auth_cache *cache;         /* NULL when auth is off */
};

/* ---- keys (keys.c) ------------------------------------------------------------------------- */

/* The family an algorithm needs. */
enum auth_key_family auth_algorithm_family(enum cfg_jwt_algorithm algorithm);
/* True when the key may verify a token whose header says algorithm. */
bool auth_key_fits(const struct auth_key *key, enum cfg_jwt_algorithm algorithm);
/* The family of a public key, refusing RSA under 2048 bits and curves JOSE does not name;
 * -1 with a reason ("RSA key of 1024 bits (2048 at least)"). */
int auth_key_family_of(EVP_PKEY *key, enum auth_key_family *family, char *reason, size_t size);
/* Reads a PEM public key file into key (kid and algorithm are the caller's). -1 with error;
 * key->public_key is then set when the file held a key of a refused kind. */
int auth_key_from_pem_file(struct auth_key *key, const char *path, struct rs_error *error);
void auth_key_clear(struct auth_key *key);
void auth_key_copy(struct auth_key *to, const struct auth_key *from);
void auth_key_set_free(struct auth_key_set *set);
/* The configured single key and auth.jwt.keys as one set; NULL with error (the field is the
 * config path). An empty set when there are none. */
struct auth_key_set *auth_static_keys_new(const struct cfg_config *config, struct rs_error *error);

/* ---- JWK and JWKS (jwk.c) ------------------------------------------------------------------ */

/* Parses a JWKS document ({"keys": [...]}). Keys whose use is not "sig", with an alg we do not
 * know or a type we do not take, are skipped (counted in *skipped); from a URL (allow_oct
 * false) so are "oct" keys. A duplicate kid, or no usable key, refuses the whole set. NULL
 * with error->message naming the reason. */
struct auth_key_set *auth_jwks_parse(const char *text, size_t length, bool allow_oct,
                                     size_t *skipped, struct rs_error *error);
/* Reads and parses a JWKS file (oct keys allowed). */
struct auth_key_set *auth_jwks_read_file(const char *path, struct rs_error *error);

/* ---- the published set (keyset.c) --------------------------------------------------------- */

int auth_keyset_slot_init(struct auth_keyset_slot *slot, struct auth_key_set *static_keys);
void auth_keyset_slot_destroy(struct auth_keyset_slot *slot);
const struct auth_key_set *auth_keyset_enter(struct auth_keyset_slot *slot);
void auth_keyset_leave(struct auth_keyset_slot *slot);
/* Replaces the file part or the URL part (takes ownership of part) and publishes the merged
 * set when it differs; source names the part in the log ("jwks_url"). -1 with error (the set
 * stays as it was, part is freed) when part repeats a kid held by another part. */
enum auth_keyset_part { AUTH_PART_FILE, AUTH_PART_URL };
int auth_keyset_replace(struct auth_keyset_slot *slot, enum auth_keyset_part which,
                        struct auth_key_set *part, const char *source, struct rs_error *error);
size_t auth_keyset_count(struct auth_keyset_slot *slot);

/* ---- signatures (signature.c) ------------------------------------------------------------- */

/* Checks the JWS signature over "header.payload" with key, for algorithm (which the caller
 * has matched to the key with auth_key_fits). */
bool auth_signature_is_valid(const struct auth_key *key, enum cfg_jwt_algorithm algorithm,
                             const char *signing_input, size_t input_length,
                             const unsigned char *signature, size_t signature_length);
/* Signs input with a private key for algorithm, in JOSE form (r||s for ECDSA). Returns the
 * signature (caller frees) or NULL. */
unsigned char *auth_signature_make(EVP_PKEY *key, enum cfg_jwt_algorithm algorithm,
                                   const char *input, size_t input_length, size_t *length);

/* ---- JWKS over HTTP (jwks_fetch.c, jwks_refresh.c) ---------------------------------------- */

#define AUTH_JWKS_MAX_BYTES (1024 * 1024)
#define AUTH_JWKS_TIMEOUT_MS 5000
#define AUTH_JWKS_MIN_AGE_S 60
#define AUTH_JWKS_MAX_AGE_S 86400
#define AUTH_JWKS_DEFAULT_AGE_S 3600
#define AUTH_JWKS_DEMAND_INTERVAL_S 30
#define AUTH_JWKS_DEMAND_WAIT_MS 2000

/* One bounded GET of url. Returns the body (caller frees, NUL-terminated) with *max_age the
 * answer's Cache-Control max-age (-1 when absent), or NULL with error. */
char *auth_jwks_fetch(const char *url, const char *ca_file, long *max_age, size_t *length,
                      struct rs_error *error);
/* How long a fetched set is good for: max-age bounded to [60 s, 24 h], 1 h without one. */
long auth_jwks_refresh_after(long max_age);

/* Fetches once (failing start when it cannot and must_succeed), then starts the thread. */
struct auth_refresher *auth_refresher_start(struct auth_verifier *verifier, const char *url,
                                            const char *ca_file, bool must_succeed,
                                            struct rs_error *error);
void auth_refresher_stop(struct auth_refresher *refresher);
/* Asks for a refresh because a token named an unknown kid. At most one per 30 s: the caller
 * that triggers one waits up to 2 s for it and gets true when it finished; every other caller
 * gets false at once. */
bool auth_refresher_demand(struct auth_refresher *refresher);
void auth_refresher_stats(struct auth_refresher *refresher, unsigned long long *fetches,
                          unsigned long long *failures);

/* ---- JSON Pointers (pointer.c) ------------------------------------------------------------ */

/* RFC 6901: the value at pointer in document, or NULL. */
json_t *auth_json_pointer_get(const json_t *document, const char *pointer);
/* Sets value (reference stolen) at pointer, creating objects on the way; -1 when a step is not
 * an object. */
int auth_json_pointer_set(json_t *document, const char *pointer, json_t *value);

/* ---- log (auth_log.c) ---------------------------------------------------------------------- */

void auth_log(const char *level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* ---- principals and the cache ------------------------------------------------------------- */

/* Deep copy (auth/principal.c); `to` is overwritten, not cleared first. */
void auth_principal_copy(struct auth_principal *to, const struct auth_principal *from);

/* A bounded map from a verified token to its principal, the kid that verified it and the key
 * set generation it was verified under. Thread-safe. */
struct auth_cache *auth_cache_new(void);
void auth_cache_free(struct auth_cache *cache);
/* True when the token is cached under generation: then *status is 0 with a copy of the
 * principal, or -1 with error filled because the cached token has expired (or is not yet
 * valid) by now. A token cached under another generation is not found: its key may be gone. */
bool auth_cache_lookup(struct auth_cache *cache, const char *token, size_t length, long now,
                       long leeway, unsigned long generation, struct auth_principal *principal,
                       struct rs_error *error, int *status);
void auth_cache_store(struct auth_cache *cache, const char *token, size_t length,
                      const struct auth_principal *principal, long not_before, const char *kid,
                      unsigned long generation);

#endif
