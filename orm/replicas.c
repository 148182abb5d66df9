/*
 * orm/replicas.c — streaming replicas for table reads (SPEC §7): one pool per replica, their
 * health and lag watched by a poller thread that only submits probes (no request ever waits for
 * one), and the choice of the pool a read goes to. The choice itself is a pure function of the
 * replicas' last known states (orm_replica_choose), so it is unit-tested without a database.
 *
 * Lag is measured in time, not bytes: every poll records the primary's flushed WAL position
 * with the time it was seen; a replica that has replayed position R lags by the time since the
 * primary was first seen past R (0 when it has replayed the newest position seen). That stays
 * right when the primary is idle, where "now minus the last replayed transaction's time"
 * would grow forever.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orm/orm.h"

#define REPLICA_POLL_MS 200
/* a replica whose last good probe is older than this is down */
#define REPLICA_STALE_MS 2000
/* primary positions remembered: REPLICA_POLL_MS apart, about 25 s */
#define PRIMARY_SAMPLES 128

struct primary_sample {
    long long seen_ms;
    uint64_t lsn;
};

struct replica {
    struct orm_replicas *set;
    struct orm_pool *pool;
    size_t index;
    /* under set->lock */
    bool is_probing;
    bool is_in_recovery;
    long long last_ok_ms; /* 0: never */
    uint64_t replay_lsn;
};

struct orm_replicas {
    struct orm_pool *primary;
    struct replica *replicas;
    size_t count;
    int max_lag_ms;
    pthread_mutex_t lock;
    /* under lock */
    struct primary_sample samples[PRIMARY_SAMPLES];
    size_t sample_count, sample_next; /* a ring: the newest is before sample_next */
    bool is_primary_probing;
    size_t next_choice;
    bool is_stopping;
    pthread_cond_t wake;
    pthread_t poller;
    bool has_poller;
};

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- WAL positions ------------------------------------------------------------------------- */

/* 1-8 hexadecimal digits from *p up to stop (or the end); -1 when there are none or others. */
static int parse_hex32(const char **p, char stop, uint64_t *out)
{
    size_t digits = 0;
    *out = 0;
    for (; **p && **p != stop; (*p)++, digits++) {
        char c = **p;
        int value = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (value < 0 || digits >= 8)
            return -1;
        *out = *out * 16 + (uint64_t)value;
    }
    return digits > 0 ? 0 : -1;
}

int orm_lsn_parse(const char *text, uint64_t *out)
{
    /* PostgreSQL's pg_lsn text: two hexadecimal numbers of 1-8 digits, "16/B374D848" */
    uint64_t high, low;
    const char *p = text;
    if (parse_hex32(&p, '/', &high) < 0 || *p != '/')
        return -1;
    p++;
    if (parse_hex32(&p, '\0', &low) < 0 || *p)
        return -1;
    *out = high << 32 | low;
    return 0;
}

void orm_lsn_format(uint64_t lsn, char out[ORM_LSN_TEXT_MAX])
{
    snprintf(out, ORM_LSN_TEXT_MAX, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
}

/* ---- the choice ------------------------------------------------------------------------------ */

int orm_replica_choose(const struct orm_replica_view *views, size_t count, int max_lag_ms,
                       uint64_t wanted_lsn, size_t start)
{
    for (size_t step = 0; step < count; step++) {
        size_t i = (start + step) % count;
        const struct orm_replica_view *view = &views[i];
        if (!view->is_up || view->lag_ms > max_lag_ms)
            continue;
        if (wanted_lsn && view->replay_lsn < wanted_lsn)
            continue;
        return (int)i;
    }
    return -1;
}

/* How long ago the primary was first seen past lsn (0: lsn is the newest seen). Under lock. */
static long long lag_ms(const struct orm_replicas *set, uint64_t lsn, long long now)
{
    long long lag = 0;
    for (size_t k = 0; k < set->sample_count; k++) {
        /* from the newest back: the oldest sample still past lsn bounds the lag */
        size_t slot = (set->sample_next + PRIMARY_SAMPLES - 1 - k) % PRIMARY_SAMPLES;
        if (set->samples[slot].lsn <= lsn)
            break;
        lag = now - set->samples[slot].seen_ms;
    }
    return lag;
}

/* Under lock. */
static void view_of(const struct orm_replicas *set, const struct replica *replica, long long now,
                    struct orm_replica_view *view)
{
    view->is_up = replica->last_ok_ms > 0 && now - replica->last_ok_ms <= REPLICA_STALE_MS &&
                  replica->is_in_recovery && orm_pool_is_ready(replica->pool);
    view->replay_lsn = replica->replay_lsn;
    view->lag_ms = view->is_up ? lag_ms(set, replica->replay_lsn, now) : 0;
}

struct orm_pool *orm_replicas_pick(struct orm_replicas *set, uint64_t wanted_lsn)
{
    if (!set || set->count == 0)
        return NULL;
    struct orm_replica_view views[ORM_MAX_REPLICAS];
    long long now = now_ms();
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->count; i++)
        view_of(set, &set->replicas[i], now, &views[i]);
    int chosen =
        orm_replica_choose(views, set->count, set->max_lag_ms, wanted_lsn, set->next_choice);
    if (chosen >= 0)
        set->next_choice = (size_t)chosen + 1;
    pthread_mutex_unlock(&set->lock);
    return chosen >= 0 ? set->replicas[chosen].pool : NULL;
}

void orm_replicas_stats(struct orm_replicas *set, size_t index, struct orm_replica_view *view)
{
    long long now = now_ms();
    pthread_mutex_lock(&set->lock);
    view_of(set, &set->replicas[index], now, view);
    pthread_mutex_unlock(&set->lock);
}

size_t orm_replicas_count(const struct orm_replicas *set)
{
    return set ? set->count : 0;
}

/* ---- the poller ---------------------------------------------------------------------------- */

static void primary_probed(void *context, struct orm_outcome *outcome)
{
    struct orm_replicas *set = context;
    uint64_t lsn = 0;
    bool is_ok = outcome->status == ORM_OK && PQntuples(outcome->result) == 1 &&
                 orm_lsn_parse(PQgetvalue(outcome->result, 0, 0), &lsn) == 0;
    pthread_mutex_lock(&set->lock);
    set->is_primary_probing = false;
    size_t newest = (set->sample_next + PRIMARY_SAMPLES - 1) % PRIMARY_SAMPLES;
    /* a position is recorded when first seen, so its time is when the primary got there */
    if (is_ok && (set->sample_count == 0 || set->samples[newest].lsn < lsn)) {
        set->samples[set->sample_next] = (struct primary_sample){now_ms(), lsn};
        set->sample_next = (set->sample_next + 1) % PRIMARY_SAMPLES;
        if (set->sample_count < PRIMARY_SAMPLES)
            set->sample_count++;
    }
    pthread_mutex_unlock(&set->lock);
}

static void replica_probed(void *context, struct orm_outcome *outcome)
{
    struct replica *replica = context;
    struct orm_replicas *set = replica->set;
    uint64_t lsn = 0;
    bool is_ok = outcome->status == ORM_OK && PQntuples(outcome->result) == 1;
    bool is_in_recovery = is_ok && strcmp(PQgetvalue(outcome->result, 0, 0), "t") == 0;
    /* NULL replay position: a server that is not (or not yet) replaying */
    if (is_in_recovery && (PQgetisnull(outcome->result, 0, 1) ||
                           orm_lsn_parse(PQgetvalue(outcome->result, 0, 1), &lsn) < 0))
        is_in_recovery = false;
    pthread_mutex_lock(&set->lock);
    replica->is_probing = false;
    if (is_ok) {
        replica->last_ok_ms = now_ms();
        replica->is_in_recovery = is_in_recovery;
        replica->replay_lsn = lsn;
    }
    pthread_mutex_unlock(&set->lock);
}

static const struct orm_statement primary_probe = {"SELECT pg_current_wal_flush_lsn()::text", NULL,
                                                   0};
static const struct orm_statement replica_probe = {
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text", NULL, 0};

/* One round: a probe to the primary and to each replica, unless the last one is still out. */
static void poll_once(struct orm_replicas *set)
{
    pthread_mutex_lock(&set->lock);
    bool probe_primary = !set->is_primary_probing;
    set->is_primary_probing = true;
    pthread_mutex_unlock(&set->lock);
    if (probe_primary)
        orm_pool_submit_read(set->primary, &primary_probe, 1, primary_probed, set);
    for (size_t i = 0; i < set->count; i++) {
        struct replica *replica = &set->replicas[i];
        pthread_mutex_lock(&set->lock);
        bool probe = !replica->is_probing;
        replica->is_probing = true;
        pthread_mutex_unlock(&set->lock);
        if (probe)
            orm_pool_submit_read(replica->pool, &replica_probe, 1, replica_probed, replica);
    }
}

static void *poller_main(void *argument)
{
    struct orm_replicas *set = argument;
    pthread_mutex_lock(&set->lock);
    while (!set->is_stopping) {
        pthread_mutex_unlock(&set->lock);
        poll_once(set);
        pthread_mutex_lock(&set->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += REPLICA_POLL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!set->is_stopping && pthread_cond_timedwait(&set->wake, &set->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&set->lock);
    return NULL;
}

/* ---- life ---------------------------------------------------------------------------------- */

struct orm_replicas *orm_replicas_new(const struct orm_replicas_options *options,
                                      struct rs_error *error)
{
    if (options->count > ORM_MAX_REPLICAS) {
        rs_error_set(error, RS_INVALID, NULL, "at most %d replicas", ORM_MAX_REPLICAS);
        return NULL;
    }
    struct orm_replicas *set = xcalloc(1, sizeof *set);
    set->primary = options->primary;
    set->max_lag_ms = options->max_lag_ms;
    set->replicas = xcalloc(options->count ? options->count : 1, sizeof *set->replicas);
    pthread_mutex_init(&set->lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&set->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    for (size_t i = 0; i < options->count; i++) {
        struct orm_pool_options pool_options = options->pool;
        pool_options.url = options->urls[i];
        struct replica *replica = &set->replicas[i];
        replica->set = set;
        replica->index = i;
        replica->pool = orm_pool_new(&pool_options, error);
        if (!replica->pool) {
            orm_replicas_free(set);
            return NULL;
        }
        set->count++;
    }
    if (pthread_create(&set->poller, NULL, poller_main, set) != 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot start the replicas' poller thread");
        orm_replicas_free(set);
        return NULL;
    }
    set->has_poller = true;
    return set;
}

void orm_replicas_stop(struct orm_replicas *set)
{
    if (!set || !set->has_poller)
        return;
    pthread_mutex_lock(&set->lock);
    set->is_stopping = true;
    pthread_cond_signal(&set->wake);
    pthread_mutex_unlock(&set->lock);
    pthread_join(set->poller, NULL);
    set->has_poller = false;
}

void orm_replicas_free(struct orm_replicas *set)
{
    if (!set)
        return;
    orm_replicas_stop(set);
    /* each pool runs its probes' callbacks before it is gone */
    for (size_t i = 0; i < set->count; i++)
        orm_pool_free(set->replicas[i].pool);
    pthread_cond_destroy(&set->wake);
    pthread_mutex_destroy(&set->lock);
    free(set->replicas);
    free(set);
}
