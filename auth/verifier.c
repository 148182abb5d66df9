/*
 * auth/verifier.c — builds and tears down the verifier: the static keys of the config, the
 * jwks_file (read at start, again on SIGHUP), the jwks_url's refresher, the cache and the
 * clock; and its statistics for /metrics.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth_internal.h"

static long system_clock(void *context)
{
    (void)context;
    return (long)time(NULL);
}

void auth_verifier_set_clock(struct auth_verifier *verifier, long (*now)(void *context),
                             void *context)
{
    verifier->clock = now ? now : system_clock;
    verifier->clock_context = context;
}

/* curl_global_init is not thread-safe: run it once, from the thread that starts the server,
 * before any refresher exists. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool is_curl_ready;

static void init_curl(void)
{
    is_curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int start_sources(struct auth_verifier *verifier, const struct cfg_config *config,
                         struct rs_error *error)
{
    if (verifier->jwks_file) {
        struct auth_key_set *part = auth_jwks_read_file(verifier->jwks_file, error);
        if (!part ||
            auth_keyset_replace(&verifier->slot, AUTH_PART_FILE, part, "jwks_file", error) < 0)
            return -1;
    }
    if (config->auth.jwks_url) {
        pthread_once(&curl_once, init_curl);
        if (!is_curl_ready) {
            rs_error_set(error, RS_FAILED, NULL, "cannot initialise libcurl");
            return -1;
        }
        verifier->refresher =
            auth_refresher_start(verifier, config->auth.jwks_url, config->auth.jwks_ca_file,
                                 verifier->jwks_file == NULL, error);
        if (!verifier->refresher)
            return -1;
    }
    return 0;
}

struct auth_verifier *auth_verifier_new(const struct cfg_config *config, struct rs_error *error)
{
    struct auth_verifier *verifier = xcalloc(1, sizeof *verifier);
    verifier->clock = system_clock;
    verifier->issuer = xstrdup_or_null(config->auth.issuer);
    verifier->audience = xstrdup_or_null(config->auth.audience);
    verifier->roles_pointer =
        xstrdup(config->auth.roles_claim ? config->auth.roles_claim : "/roles");
    verifier->scope_pointer =
        xstrdup(config->auth.scope_claim ? config->auth.scope_claim : "/scope");
    verifier->leeway = config->auth.leeway_s > 0 ? config->auth.leeway_s : 0;
    verifier->jwks_file = xstrdup_or_null(config->auth.jwks_file);
    verifier->has_key_set =
        config->auth.key_count > 0 || config->auth.jwks_url || config->auth.jwks_file;
    verifier->is_on = config->auth.algorithm != CFG_JWT_NONE || verifier->has_key_set;
    struct auth_key_set *static_keys = auth_static_keys_new(config, error);
    if (!static_keys) {
        free(verifier->roles_pointer);
        free(verifier->scope_pointer);
        free(verifier->issuer);
        free(verifier->audience);
        free(verifier->jwks_file);
        free(verifier);
        return NULL;
    }
    if (auth_keyset_slot_init(&verifier->slot, static_keys) < 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot set up the key set");
        auth_key_set_free(static_keys);
        free(verifier);
        return NULL;
    }
    if (!verifier->is_on)
        return verifier;
    verifier->cache = auth_cache_new();
    if (!verifier->cache) {
        rs_error_set(error, RS_FAILED, NULL, "cannot set up the token cache");
        goto fail;
    }
    if (start_sources(verifier, config, error) < 0)
        goto fail;
    return verifier;
fail:
    auth_verifier_free(verifier);
    return NULL;
}

void auth_verifier_free(struct auth_verifier *verifier)
{
    if (!verifier)
        return;
    auth_refresher_stop(verifier->refresher); /* first: it publishes into the slot */
    auth_cache_free(verifier->cache);
    auth_keyset_slot_destroy(&verifier->slot);
    free(verifier->issuer);
    free(verifier->audience);
    free(verifier->roles_pointer);
    free(verifier->scope_pointer);
    free(verifier->jwks_file);
    free(verifier);
}

int auth_verifier_reload(struct auth_verifier *verifier, struct rs_error *error)
{
    if (!verifier || !verifier->jwks_file)
        return 0;
    struct auth_key_set *part = auth_jwks_read_file(verifier->jwks_file, error);
    if (!part ||
        auth_keyset_replace(&verifier->slot, AUTH_PART_FILE, part, "jwks_file", error) < 0) {
        auth_log("warning", "auth.jwt.jwks_file: not reloaded (%s); keeping the %zu keys held",
                 error->message, auth_keyset_count(&verifier->slot));
        return -1;
    }
    return 0;
}

void auth_verifier_stats(struct auth_verifier *verifier, struct auth_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (!verifier)
        return;
    auth_refresher_stats(verifier->refresher, &stats->jwks_fetches, &stats->jwks_failures);
    stats->keys = auth_keyset_count(&verifier->slot);
}
