/*
 * auth/jwks_refresh.c — keeps the jwks_url part of the key set fresh from a thread of its
 * own: fetches when the last answer's max-age (bounded to [60 s, 24 h]; 1 h without one) runs
 * out, or sooner when a token names an unknown kid — at most once per 30 s, and only the
 * request that asked waits (up to 2 s); every other request goes on with the keys it has. A
 * failed fetch keeps the last good set, says so in the log and is counted for /metrics.
 * Times here are monotonic: a clock step must not trigger or starve refreshes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth_internal.h"

struct auth_refresher {
    struct auth_verifier *verifier;
    char *url, *ca_file;
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* to the thread: a demand, or stop */
    pthread_cond_t done; /* from the thread: a fetch finished */
    /* guarded by lock */
    bool is_stopping, is_demanded, has_demanded;
    unsigned long started, completed;
    struct timespec next_due;
    time_t last_demand;
    atomic_ullong fetches, failures;
};

static struct timespec monotonic_after(long seconds, long milliseconds)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_sec += seconds + milliseconds / 1000;
    now.tv_nsec += (milliseconds % 1000) * 1000000L;
    if (now.tv_nsec >= 1000000000L) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000L;
    }
    return now;
}

static bool is_due(const struct timespec *due)
{
    struct timespec now = monotonic_after(0, 0);
    return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

/* One fetch into the key set. Returns seconds until the next, or -1 when it failed (error
 * filled; the set is unchanged). */
static long fetch_once(struct auth_refresher *refresher, struct rs_error *error)
{
    atomic_fetch_add(&refresher->fetches, 1);
    long max_age = -1;
    size_t length = 0, skipped = 0;
    char *body = auth_jwks_fetch(refresher->url, refresher->ca_file, &max_age, &length, error);
    struct auth_key_set *set = body ? auth_jwks_parse(body, length, false, &skipped, error) : NULL;
    free(body);
    if (!set || auth_keyset_replace(&refresher->verifier->slot, AUTH_PART_URL, set, "jwks_url",
                                    error) < 0) {
        atomic_fetch_add(&refresher->failures, 1);
        return -1;
    }
    return auth_jwks_refresh_after(max_age);
}

static void *refresh_loop(void *context)
{
    struct auth_refresher *refresher = context;
    pthread_mutex_lock(&refresher->lock);
    while (!refresher->is_stopping) {
        if (!refresher->is_demanded && !is_due(&refresher->next_due)) {
            pthread_cond_timedwait(&refresher->wake, &refresher->lock, &refresher->next_due);
            continue;
        }
        refresher->is_demanded = false;
        refresher->started++;
        pthread_mutex_unlock(&refresher->lock);
        struct rs_error error = {0};
        long after = fetch_once(refresher, &error);
        if (after < 0)
            auth_log("warning", "auth.jwt.jwks_url: refresh failed (%s); keeping the %zu keys held",
                     error.message, auth_keyset_count(&refresher->verifier->slot));
        pthread_mutex_lock(&refresher->lock);
        refresher->completed++;
        refresher->next_due = monotonic_after(after > 0 ? after : AUTH_JWKS_MIN_AGE_S, 0);
        pthread_cond_broadcast(&refresher->done);
    }
    pthread_mutex_unlock(&refresher->lock);
    return NULL;
}

static int init_sync(struct auth_refresher *refresher)
{
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return -1;
    int status = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0 &&
                         pthread_mutex_init(&refresher->lock, NULL) == 0 &&
                         pthread_cond_init(&refresher->wake, &attributes) == 0 &&
                         pthread_cond_init(&refresher->done, &attributes) == 0
                     ? 0
                     : -1;
    pthread_condattr_destroy(&attributes);
    return status;
}

struct auth_refresher *auth_refresher_start(struct auth_verifier *verifier, const char *url,
                                            const char *ca_file, bool must_succeed,
                                            struct rs_error *error)
{
    struct auth_refresher *refresher = xcalloc(1, sizeof *refresher);
    refresher->verifier = verifier;
    refresher->url = xstrdup(url);
    refresher->ca_file = xstrdup_or_null(ca_file);
    if (init_sync(refresher) < 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot set up the JWKS refresher");
        auth_refresher_stop(refresher);
        return NULL;
    }
    struct rs_error reason = {0};
    long after = fetch_once(refresher, &reason);
    if (after < 0 && must_succeed) {
        rs_error_set(error, RS_FAILED, "auth.jwt.jwks_url",
                     "auth.jwt.jwks_url: cannot fetch %s: %s", url, reason.message);
        auth_refresher_stop(refresher);
        return NULL;
    }
    if (after < 0)
        auth_log("warning",
                 "auth.jwt.jwks_url: cannot fetch %s (%s); starting with the keys of jwks_file",
                 url, reason.message);
    refresher->next_due = monotonic_after(after > 0 ? after : AUTH_JWKS_MIN_AGE_S, 0);
    if (pthread_create(&refresher->thread, NULL, refresh_loop, refresher) != 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot start the JWKS refresher thread");
        auth_refresher_stop(refresher);
        return NULL;
    }
    refresher->has_thread = true;
    return refresher;
}

void auth_refresher_stop(struct auth_refresher *refresher)
{
    if (!refresher)
        return;
    if (refresher->has_thread) {
        pthread_mutex_lock(&refresher->lock);
        refresher->is_stopping = true;
        pthread_cond_broadcast(&refresher->wake);
        pthread_cond_broadcast(&refresher->done);
        pthread_mutex_unlock(&refresher->lock);
        pthread_join(refresher->thread, NULL);
    }
    pthread_mutex_destroy(&refresher->lock);
    pthread_cond_destroy(&refresher->wake);
    pthread_cond_destroy(&refresher->done);
    free(refresher->url);
    free(refresher->ca_file);
    free(refresher);
}

bool auth_refresher_demand(struct auth_refresher *refresher)
{
    if (!refresher || !refresher->has_thread)
        return false;
    pthread_mutex_lock(&refresher->lock);
    time_t now = monotonic_after(0, 0).tv_sec;
    if (refresher->is_stopping ||
        (refresher->has_demanded && now - refresher->last_demand < AUTH_JWKS_DEMAND_INTERVAL_S)) {
        pthread_mutex_unlock(&refresher->lock);
        return false;
    }
    refresher->has_demanded = true;
    refresher->last_demand = now;
    refresher->is_demanded = true;
    /* a fetch already under way may have started before the new key was published */
    unsigned long target = refresher->started + 1;
    pthread_cond_signal(&refresher->wake);
    struct timespec deadline = monotonic_after(0, AUTH_JWKS_DEMAND_WAIT_MS);
    while (refresher->completed < target && !refresher->is_stopping)
        if (pthread_cond_timedwait(&refresher->done, &refresher->lock, &deadline) == ETIMEDOUT)
            break;
    bool is_done = refresher->completed >= target;
    pthread_mutex_unlock(&refresher->lock);
    return is_done;
}

void auth_refresher_stats(struct auth_refresher *refresher, unsigned long long *fetches,
                          unsigned long long *failures)
{
    *fetches = refresher ? atomic_load(&refresher->fetches) : 0;
    *failures = refresher ? atomic_load(&refresher->failures) : 0;
}
