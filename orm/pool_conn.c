/*
 * orm/pool_conn.c — one pooled libpq connection as a state machine driven by the pool's event
 * loop (after Kore's src/pgsql.c): a non-blocking connect with PQconnectPoll, then pipeline
 * mode, where each statement of a job is sent as Execute of a prepared statement (preceded by
 * its Prepare the first time this connection sees the SQL text), the job ends with a Sync, and
 * results are read back as they arrive without ever blocking. Also keeps the connection's
 * prepared-statement cache, and polices the deadlines of the jobs in flight: a job that stalls
 * is cancelled (PQcancel blocks, so a short-lived thread of its own sends it) or its connection
 * dropped, and the reads pipelined behind it are sent again elsewhere. Runs on the pool's loop
 * thread only, except the cancel threads, which touch nothing but their own PGcancel.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "orm/pool_job.h"

static const char *const CONNECTION_LOST = "the database connection was lost";
static const char *const DATABASE_UNAVAILABLE = "the database is unavailable";
static const char *const STATEMENT_TIMEOUT =
    "the query did not finish within the statement timeout and was cancelled";

/* Cancel threads still running, in the whole process: a thread may outlive its pool, so the
 * count is not the pool's (orm_pool_conn_wait_cancels). */
static atomic_int cancel_threads;

/* ---- prepared-statement cache -------------------------------------------------------------- */

/* Eight bytes a step: the text is hashed on every job, and statements run to hundreds of
 * bytes (a byte-at-a-time FNV-1a was a visible share of a one-row read's CPU). */
static uint64_t hash_text(const char *text)
{
    size_t length = strlen(text), i = 0;
    uint64_t hash = 0x9e3779b97f4a7c15ULL ^ length;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, text + i, 8);
        hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
        hash ^= hash >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, text + i, length - i);
    hash = (hash ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    return hash ^ (hash >> 29);
}

/* "r" and the id: the name of a cached statement on its connection. */
static void statement_name(char name[static 16], unsigned int id)
{
    char digits[10];
    size_t count = 0;
    do
        digits[count++] = (char)('0' + id % 10);
    while ((id /= 10) > 0);
    name[0] = 'r';
    for (size_t i = 0; i < count; i++)
        name[1 + i] = digits[count - 1 - i];
    name[1 + count] = '\0';
}

/* The slot holding sql, or the empty slot where it would go: the table is never more than
 * half full, so linear probing always ends. */
static size_t cache_find(const struct pool_conn *conn, const char *sql, uint64_t hash)
{
    size_t slot = hash % POOL_CACHE_SLOTS;
    while (conn->cache[slot].sql &&
           (conn->cache[slot].hash != hash || strcmp(conn->cache[slot].sql, sql) != 0))
        slot = (slot + 1) % POOL_CACHE_SLOTS;
    return slot;
}

static void cache_clear(struct pool_conn *conn)
{
    for (size_t i = 0; i < POOL_CACHE_SLOTS; i++) {
        free(conn->cache[i].sql);
        conn->cache[i] = (struct pool_cache_entry){0};
    }
    conn->cache_count = 0;
}

/* Deletes by moving later members of the probe chain back into the hole (no tombstones). An
 * entry may stay where it is only if its home slot lies cyclically in (hole, slot]. */
static void cache_delete(struct pool_conn *conn, size_t slot)
{
    free(conn->cache[slot].sql);
    conn->cache[slot] = (struct pool_cache_entry){0};
    conn->cache_count--;
    size_t hole = slot;
    for (size_t next = (slot + 1) % POOL_CACHE_SLOTS; conn->cache[next].sql;
         next = (next + 1) % POOL_CACHE_SLOTS) {
        size_t home = conn->cache[next].hash % POOL_CACHE_SLOTS;
        bool stays = hole < next ? hole < home && home <= next : hole < home || home <= next;
        if (stays)
            continue;
        conn->cache[hole] = conn->cache[next];
        conn->cache[next] = (struct pool_cache_entry){0};
        hole = next;
    }
}

/* A Prepare's answer settles its entry: confirmed, or deleted so the text is prepared again
 * next time (a failed or aborted Prepare leaves no statement on the server). */
static void cache_settle(struct pool_conn *conn, const char *sql, unsigned int statement_id,
                         bool is_prepared)
{
    size_t slot = cache_find(conn, sql, hash_text(sql));
    if (!conn->cache[slot].sql || conn->cache[slot].id != statement_id)
        return;
    if (is_prepared)
        conn->cache[slot].pending = NULL;
    else
        cache_delete(conn, slot);
}

/* ---- epoll registration ---------------------------------------------------------------------- */

/* Registers the connection's current socket for events. While connecting, libpq closes its
 * socket and opens another for each host and address it tries; the new one may get the old
 * number, which the kernel has already dropped from the epoll set. Hence MOD falling back to
 * ADD, and no trusting conn->events while connecting. -1 if there is no socket or epoll
 * refuses it. */
static int watch(struct pool_conn *conn, uint32_t events)
{
    int epoll_fd = conn->pool->epoll_fd;
    int fd = PQsocket(conn->pg);
    if (fd < 0)
        return -1;
    struct epoll_event event = {.events = events, .data.ptr = conn};
    if (fd != conn->fd) {
        /* fails (harmlessly) when libpq has closed the old socket already */
        if (conn->fd >= 0)
            (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
        conn->fd = -1;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0 &&
            (errno != EEXIST || epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event) < 0))
            return -1;
    } else if (events != conn->events || conn->state == POOL_CONN_CONNECTING) {
        if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event) < 0 &&
            (errno != ENOENT || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0))
            return -1;
    }
    conn->fd = fd;
    conn->events = events;
    return 0;
}

int orm_pool_conn_watch(struct pool_conn *conn, uint32_t events)
{
    return watch(conn, events);
}

/* Only while libpq still holds the socket: once libpq has closed it (it does on a broken
 * connection) the kernel dropped it from the set, and its number may belong to another file. */
static void unwatch(struct pool_conn *conn)
{
    if (conn->fd >= 0 && conn->pg && PQsocket(conn->pg) == conn->fd)
        (void)epoll_ctl(conn->pool->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
    conn->fd = -1;
    conn->events = 0;
}

/* ---- connection life ------------------------------------------------------------------------- */

/* xorshift64 on the loop thread's own state: rand() is shared with every other thread. */
static int jitter_ms(struct orm_pool *pool, int range)
{
    uint64_t x = pool->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pool->random_state = x;
    return range > 0 ? (int)(x % (uint64_t)(range + 1)) : 0;
}

static void schedule_retry(struct pool_conn *conn)
{
    conn->retry_at_ms =
        orm_pool_now_ms() + conn->backoff_ms + jitter_ms(conn->pool, conn->backoff_ms / 4);
    conn->backoff_ms =
        conn->backoff_ms * 2 > POOL_MAX_BACKOFF_MS ? POOL_MAX_BACKOFF_MS : conn->backoff_ms * 2;
}

static struct pool_inflight *oldest(struct pool_conn *conn)
{
    return conn->in_flight ? &conn->slots[conn->head] : NULL;
}

static void inflight_reset(struct pool_inflight *flight)
{
    flight->job = NULL;
    flight->item_count = flight->item_index = 0;
    flight->has_error = false;
    flight->is_abandoned = flight->is_cancelled = flight->is_known_quick = false;
    flight->entry_slot = 0;
    flight->entry_id = 0;
    flight->started_ms = flight->cancelled_ms = 0;
    if (flight->outcome.result)
        PQclear(flight->outcome.result);
    memset(&flight->outcome, 0, sizeof flight->outcome);
}

/* Takes the oldest job off the connection; the caller finishes it, or frees it when
 * *is_abandoned says its clone owns the callback. The next job starts running now. */
static struct pool_job *pop_oldest(struct pool_conn *conn, bool *is_abandoned)
{
    struct pool_inflight *flight = oldest(conn);
    struct pool_job *job = flight->job;
    *is_abandoned = flight->is_abandoned;
    inflight_reset(flight);
    conn->head = (conn->head + 1) % POOL_PIPELINE_DEPTH;
    conn->in_flight--;
    if (conn->in_flight == 0) {
        conn->state = POOL_CONN_IDLE;
        atomic_fetch_sub(&conn->pool->busy, 1);
    } else {
        conn->slots[conn->head].started_ms = orm_pool_now_ms();
    }
    return job;
}

void orm_pool_conn_down(struct pool_conn *conn, enum orm_status status, const char *message)
{
    struct orm_pool *pool = conn->pool;
    struct pool_job *failed[POOL_PIPELINE_DEPTH] = {0};
    bool is_abandoned[POOL_PIPELINE_DEPTH] = {0};
    size_t failed_count = 0;
    while (conn->in_flight > 0) {
        failed[failed_count] = pop_oldest(conn, &is_abandoned[failed_count]);
        failed_count++;
    }
    if (orm_pool_conn_is_up(conn))
        atomic_fetch_sub(&pool->connected, 1);
    unwatch(conn);
    if (conn->pg)
        PQfinish(conn->pg);
    conn->pg = NULL;
    conn->state = POOL_CONN_DOWN;
    conn->is_first_attempt = false;
    conn->head = 0;
    conn->is_sync_held = conn->is_corked = conn->cannot_cork = false;
    conn->stray_cancel_until_ms = 0;
    cache_clear(conn);
    schedule_retry(conn);
    /* last: a callback may submit again, and should find the connection already down */
    for (size_t i = 0; i < failed_count; i++) {
        if (is_abandoned[i])
            orm_pool_job_free(failed[i]);
        else
            orm_pool_job_fail(pool, failed[i], status, message);
    }
    if (conn->session)
        orm_pool_session_lost(conn, status, message);
}

/* libpq prints server notices (e.g. "terminating connection due to administrator command")
 * to stderr by default; the pool reports failures through outcomes instead. */
static void discard_notice(void *context, const char *message)
{
    (void)context;
    (void)message;
}

void orm_pool_conn_start(struct pool_conn *conn)
{
    struct orm_pool *pool = conn->pool;
    /* dbname is expanded as a URL or connection string; options comes later, so it wins */
    const char *const keywords[] = {"dbname", "options", "application_name", NULL};
    const char *const values[] = {pool->url, pool->session_options, "restable", NULL};
    conn->fd = -1;
    conn->events = 0;
    conn->state = POOL_CONN_CONNECTING;
    conn->connect_deadline_ms = orm_pool_now_ms() + POOL_CONNECT_TIMEOUT_MS;
    conn->pg = PQconnectStartParams(keywords, values, 1);
    if (!conn->pg || PQstatus(conn->pg) == CONNECTION_BAD) {
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
        return;
    }
    PQsetNoticeProcessor(conn->pg, discard_notice, NULL);
    /* libpq's documented start: behave as if PQconnectPoll had asked to write */
    if (watch(conn, EPOLLOUT) < 0)
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
}

static void continue_connect(struct pool_conn *conn)
{
    struct orm_pool *pool = conn->pool;
    switch (PQconnectPoll(conn->pg)) {
    case PGRES_POLLING_READING:
        if (watch(conn, EPOLLIN) < 0)
            orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
        return;
    case PGRES_POLLING_WRITING:
        if (watch(conn, EPOLLOUT) < 0)
            orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
        return;
    case PGRES_POLLING_OK:
        break;
    default: /* PGRES_POLLING_FAILED; PGRES_POLLING_ACTIVE is no longer returned */
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
        return;
    }
    if (PQsetnonblocking(conn->pg, 1) != 0 || PQenterPipelineMode(conn->pg) != 1 ||
        watch(conn, EPOLLIN) < 0) {
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, DATABASE_UNAVAILABLE);
        return;
    }
    conn->state = POOL_CONN_IDLE;
    conn->is_first_attempt = false;
    conn->backoff_ms = POOL_FIRST_BACKOFF_MS;
    if (conn->was_up)
        atomic_fetch_add(&pool->reconnects, 1);
    conn->was_up = true;
    atomic_fetch_add(&pool->connected, 1);
}

/* ---- a streamed job (orm/pool_stream.c) ------------------------------------------------------ */

/* Acts on what the stream said: an ended stream leaves the connection (back in pipeline mode)
 * to the pool; a reset closes it and connects again at once, not after a back-off: nothing is
 * wrong with the database. */
static void stream_step(struct pool_conn *conn, enum pool_stream_step step)
{
    if (step == POOL_STREAM_CONTINUE)
        return;
    struct pool_job *job = oldest(conn)->job;
    if (step == POOL_STREAM_DONE && PQenterPipelineMode(conn->pg) == 1 &&
        watch(conn, EPOLLIN) == 0) {
        struct orm_outcome outcome;
        orm_pool_stream_outcome(job, &outcome);
        bool is_abandoned;
        orm_pool_job_finish(conn->pool, pop_oldest(conn, &is_abandoned), &outcome);
        return;
    }
    char reason[256];
    snprintf(reason, sizeof reason, "%s", orm_pool_stream_cut_reason(job));
    orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, reason);
    conn->backoff_ms = POOL_FIRST_BACKOFF_MS;
    conn->retry_at_ms = orm_pool_now_ms();
}

static struct pool_job *streamed_job(struct pool_conn *conn)
{
    struct pool_inflight *flight = oldest(conn);
    return flight && flight->job && flight->job->stream ? flight->job : NULL;
}

/* ---- sending a job --------------------------------------------------------------------------- */

static void add_item(struct pool_inflight *flight, bool is_prepare, size_t statement,
                     unsigned int statement_id)
{
    if (flight->item_count == flight->item_capacity) {
        size_t capacity = flight->item_capacity ? flight->item_capacity * 2 : 8;
        /* allocation failure aborts, as everywhere (the x* policy of base/base.h) */
        flight->items = xrealloc(flight->items, capacity * sizeof *flight->items);
        flight->item_capacity = capacity;
    }
    flight->items[flight->item_count++] = (struct pool_item){is_prepare, statement, statement_id};
}

/* Queues one statement unnamed: Parse, Bind and Execute, nothing kept on the connection. */
static int send_unnamed(struct pool_conn *conn, struct pool_inflight *flight, size_t index,
                        const struct pool_statement *statement, const char *const *params)
{
    add_item(flight, false, index, 0);
    return PQsendQueryParams(conn->pg, statement->sql, statement->param_count, NULL, params, NULL,
                             NULL, 0)
               ? 0
               : -1;
}

/* Queues one statement: Execute of this connection's prepared statement for the text, with its
 * Prepare first when the text is new. Unnamed (Parse + Execute each time) when the cache is
 * full, or when another job's Prepare of the same text is still unanswered, or always when the
 * pool takes unnamed statements only. Params and results are text. 0, or -1 when libpq refuses (the
 * connection is broken). */
static int send_statement(struct pool_conn *conn, struct pool_inflight *flight, size_t index)
{
    const struct pool_job *job = flight->job;
    const struct pool_statement *statement = &job->statements[index];
    const char *const *params = (const char *const *)statement->params;
    if (conn->pool->unnamed_statements_only)
        return send_unnamed(conn, flight, index, statement, params);
    uint64_t hash = hash_text(statement->sql);
    size_t slot = cache_find(conn, statement->sql, hash);
    struct pool_cache_entry *entry = &conn->cache[slot];
    bool is_last = index + 1 == job->statement_count;
    char name[16];
    if (entry->sql && (!entry->pending || entry->pending == job)) {
        if (is_last) {
            flight->is_known_quick = entry->is_quick;
            flight->entry_slot = slot;
            flight->entry_id = entry->id;
        }
        statement_name(name, entry->id);
        add_item(flight, false, index, entry->id);
        return PQsendQueryPrepared(conn->pg, name, statement->param_count, params, NULL, NULL, 0)
                   ? 0
                   : -1;
    }
    if (!entry->sql && conn->cache_count < POOL_CACHE_LIMIT) {
        char *sql = xstrdup(statement->sql);
        if (++conn->next_statement_id == 0) /* 0 means unnamed */
            conn->next_statement_id = 1;
        entry->sql = sql;
        entry->hash = hash;
        entry->id = conn->next_statement_id;
        entry->pending = job;
        entry->is_quick = false;
        conn->cache_count++;
        if (is_last) {
            flight->entry_slot = slot;
            flight->entry_id = entry->id;
        }
        statement_name(name, entry->id);
        add_item(flight, true, index, entry->id);
        add_item(flight, false, index, entry->id);
        return PQsendPrepare(conn->pg, name, statement->sql, statement->param_count, NULL) &&
                       PQsendQueryPrepared(conn->pg, name, statement->param_count, params, NULL,
                                           NULL, 0)
                   ? 0
                   : -1;
    }
    return send_unnamed(conn, flight, index, statement, params);
}

/* Sends what libpq has buffered; watches for writability only while some is left. */
static void flush(struct pool_conn *conn)
{
    int pending = PQflush(conn->pg);
    if (pending < 0 || watch(conn, pending ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
}

/* ---- a round's jobs in one segment ------------------------------------------------------------
 * libpq 15's PQpipelineSync always flushes, so every job would leave in a TCP segment of its
 * own, and on loopback the sender pays for the receiver's side of each segment too: a third of
 * the loop's CPU per one-row read went there, and a wake-up of the backend per job. So a job's
 * Sync waits until the round gives the connection another job or ends; when a second job comes,
 * the socket is corked, the first job's Sync flushes into the cork, and at the end of the round
 * the uncork sends them all in one segment. A connection with one job in the round costs
 * nothing more (no setsockopt). Not TCP (a Unix socket): no cork, a segment per job as before. */

static void set_cork(struct pool_conn *conn, int is_on)
{
    if (setsockopt(PQsocket(conn->pg), IPPROTO_TCP, TCP_CORK, &is_on, sizeof is_on) < 0) {
        conn->cannot_cork = true;
        return;
    }
    conn->is_corked = is_on;
}

/* The Sync held back for the job before; false when the connection went down. */
static bool release_sync(struct pool_conn *conn)
{
    if (!conn->is_sync_held)
        return true;
    conn->is_sync_held = false;
    /* the Sync ends the job's implicit transaction: an error rolls back all its statements */
    if (!PQpipelineSync(conn->pg)) {
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
        return false;
    }
    return true;
}

void orm_pool_conn_end_round(struct pool_conn *conn)
{
    if (!conn->is_sync_held && !conn->is_corked)
        return;
    if (!release_sync(conn))
        return;
    if (conn->is_corked)
        set_cork(conn, 0); /* sends what the cork held */
    flush(conn);
}

void orm_pool_conn_run(struct pool_conn *conn, struct pool_job *job, long long now)
{
    struct pool_inflight *flight =
        &conn->slots[(conn->head + conn->in_flight) % POOL_PIPELINE_DEPTH];
    inflight_reset(flight);
    flight->job = job;
    if (conn->in_flight++ == 0) {
        conn->state = POOL_CONN_BUSY;
        flight->started_ms = now;
        atomic_fetch_add(&conn->pool->busy, 1);
    }
    if (conn->is_sync_held) { /* a second job this round: one segment for them all */
        if (!conn->is_corked && !conn->cannot_cork)
            set_cork(conn, 1);
        if (!release_sync(conn))
            return; /* the connection is down, and this job failed with the others */
    }
    if (job->stream) {
        stream_step(conn, orm_pool_stream_begin(conn, job));
        return;
    }
    for (size_t s = 0; s < job->statement_count; s++) {
        if (send_statement(conn, flight, s) < 0) {
            orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
            return;
        }
    }
    conn->is_sync_held = true; /* sent by the next job or at the end of the round */
}

/* ---- reading results ------------------------------------------------------------------------- */

/* The first error of a job is the one worth reporting; later results are only "aborted". */
static void capture_error(struct pool_inflight *flight, const PGresult *result)
{
    if (flight->has_error)
        return;
    flight->has_error = true;
    orm_pool_outcome_from_error(&flight->outcome, result);
}

/* Remembers whether the job's last statement ran quickly, on its cache entry (unless the entry
 * has moved or gone since: then the next run learns it). */
static void learn_speed(struct pool_conn *conn, const struct pool_inflight *flight, bool is_quick)
{
    struct pool_cache_entry *entry = &conn->cache[flight->entry_slot];
    if (flight->entry_id && entry->sql && entry->id == flight->entry_id)
        entry->is_quick = is_quick;
}

/* The oldest job's Sync came back: every one of its results has been read. A "canceling
 * statement" error (57014) is the statement timeout when the pool cancelled this job. On the
 * next jobs, right after a cancelled one ended, it is that cancel landing late: the job may have
 * finished first, and the postmaster signals a backend twice (its pid and its process group),
 * so a second interrupt can hit the statement that was already waiting in the pipeline. Such a
 * job rolled back and goes back to the queue. */
static void complete_oldest(struct pool_conn *conn)
{
    struct pool_inflight *flight = oldest(conn);
    struct orm_outcome outcome = flight->outcome;
    bool is_cancelled = flight->is_cancelled;
    memset(&flight->outcome, 0, sizeof flight->outcome);
    long long now = orm_pool_now_ms();
    learn_speed(conn, flight, now - flight->started_ms < POOL_STALL_MS);
    if (outcome.status != ORM_OK && outcome.result) {
        PQclear(outcome.result);
        outcome.result = NULL;
    }
    if (outcome.status == ORM_OK && !outcome.result) { /* not expected from PostgreSQL */
        outcome.status = ORM_E_QUERY;
        snprintf(outcome.message, sizeof outcome.message, "the database sent no result");
    }
    bool is_abandoned;
    struct pool_job *job = pop_oldest(conn, &is_abandoned);
    bool was_cancelled = outcome.status == ORM_E_QUERY && strcmp(outcome.sqlstate, "57014") == 0;
    if (is_cancelled)
        conn->stray_cancel_until_ms = now + POOL_STRAY_CANCEL_MS;
    if (is_abandoned) {
        if (outcome.result)
            PQclear(outcome.result);
        orm_pool_job_free(job);
        return;
    }
    if (was_cancelled && is_cancelled) {
        outcome = (struct orm_outcome){.status = ORM_E_STATEMENT_TIMEOUT};
        snprintf(outcome.message, sizeof outcome.message, "%s", STATEMENT_TIMEOUT);
    } else if (was_cancelled && now < conn->stray_cancel_until_ms && !job->session) {
        orm_pool_requeue(conn->pool, job);
        return;
    }
    orm_pool_job_finish(conn->pool, job, &outcome);
}

/* Keeps the last statement's result when nothing failed; clears everything else. */
static void take_result(struct pool_conn *conn, struct pool_inflight *flight, PGresult *result)
{
    const struct pool_item *item = &flight->items[flight->item_index];
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_FATAL_ERROR)
        capture_error(flight, result);
    if (item->is_prepare) {
        cache_settle(conn, flight->job->statements[item->statement].sql, item->statement_id,
                     status == PGRES_COMMAND_OK);
    } else if (item->statement + 1 == flight->job->statement_count && !flight->has_error &&
               status != PGRES_PIPELINE_ABORTED) {
        if (flight->outcome.result)
            PQclear(flight->outcome.result);
        flight->outcome.result = result;
        return;
    }
    PQclear(result);
}

static void read_results(struct pool_conn *conn)
{
    if (!PQconsumeInput(conn->pg)) {
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
        return;
    }
    /* Results come in request order: per request its result then a NULL, per job a
     * PGRES_PIPELINE_SYNC (not followed by a NULL). */
    while (!PQisBusy(conn->pg)) {
        struct pool_inflight *flight = oldest(conn);
        PGresult *result = PQgetResult(conn->pg);
        if (!result) {
            /* a NULL we are not waiting for means "nothing more": with nothing in flight, or
             * once libpq has given up on a broken connection (it would repeat forever) */
            if (!flight || flight->item_index >= flight->item_count ||
                PQstatus(conn->pg) == CONNECTION_BAD)
                break;
            flight->item_index++;
            continue;
        }
        if (PQresultStatus(result) == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            if (flight)
                complete_oldest(conn);
            continue;
        }
        if (!flight || flight->item_index >= flight->item_count) {
            PQclear(result); /* nothing of ours is waiting for it */
            continue;
        }
        take_result(conn, flight, result);
    }
    if (PQstatus(conn->pg) == CONNECTION_BAD)
        orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
}

void orm_pool_conn_event(struct pool_conn *conn, uint32_t events)
{
    if (conn->state == POOL_CONN_CONNECTING) {
        continue_connect(conn);
        return;
    }
    if (conn->state == POOL_CONN_DOWN)
        return;
    struct pool_job *streamed = streamed_job(conn);
    if (streamed) {
        stream_step(conn, orm_pool_stream_event(conn, streamed, events));
        return;
    }
    if (events & EPOLLOUT) {
        flush(conn);
        if (conn->state == POOL_CONN_DOWN)
            return;
    }
    /* also on an idle connection: that is how a server going away is noticed early */
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read_results(conn);
}

/* ---- deadlines ------------------------------------------------------------------------------- */

bool orm_pool_conn_is_flowing(const struct pool_conn *conn, long long now)
{
    const struct pool_inflight *running = &conn->slots[conn->head];
    if (conn->in_flight == 0)
        return true;
    if (running->is_cancelled || now - running->started_ms >= POOL_STALL_MS)
        return false;
    for (size_t i = 0; i < conn->in_flight; i++)
        if (!conn->slots[(conn->head + i) % POOL_PIPELINE_DEPTH].is_known_quick)
            return false;
    return true;
}

static void *cancel_main(void *argument)
{
    PGcancel *request = argument;
    char error[256];
    /* a failure is not reported: the job's grace period ends in a dropped connection */
    (void)PQcancel(request, error, sizeof error);
    PQfreeCancel(request);
    atomic_fetch_sub(&cancel_threads, 1);
    return NULL;
}

void orm_pool_conn_wait_cancels(int timeout_ms)
{
    long long deadline = orm_pool_now_ms() + timeout_ms;
    while (atomic_load(&cancel_threads) > 0 && orm_pool_now_ms() < deadline)
        usleep(1000);
}

/* Drops a connection whose running job ignored its cancel: that job fails with the statement
 * timeout, the reads behind it go back to the queue, the writes behind it fail as on any lost
 * connection (PostgreSQL may still run them: their outcome is unknown). */
static void drop(struct pool_conn *conn)
{
    struct orm_pool *pool = conn->pool;
    for (size_t i = 1; i < conn->in_flight; i++) {
        struct pool_inflight *flight = &conn->slots[(conn->head + i) % POOL_PIPELINE_DEPTH];
        if (!flight->is_abandoned && flight->job->is_read) {
            orm_pool_requeue(pool, orm_pool_job_clone(flight->job));
            flight->is_abandoned = true;
        }
    }
    bool is_abandoned;
    struct pool_job *running = pop_oldest(conn, &is_abandoned);
    orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, CONNECTION_LOST);
    if (is_abandoned)
        orm_pool_job_free(running);
    else
        orm_pool_job_fail(pool, running, ORM_E_STATEMENT_TIMEOUT, STATEMENT_TIMEOUT);
}

/* Cancels the running job from a thread of its own, so the loop never waits on the cancel's
 * connection; without a thread, drops the connection instead. */
static void cancel(struct pool_conn *conn, long long now)
{
    struct pool_inflight *running = oldest(conn);
    running->is_cancelled = true;
    running->cancelled_ms = now;
    atomic_fetch_add(&conn->pool->cancels, 1);
    PGcancel *request = PQgetCancel(conn->pg);
    pthread_attr_t attributes;
    pthread_t thread;
    bool is_started = false;
    if (request && pthread_attr_init(&attributes) == 0) {
        atomic_fetch_add(&cancel_threads, 1);
        is_started = pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED) == 0 &&
                     pthread_create(&thread, &attributes, cancel_main, request) == 0;
        pthread_attr_destroy(&attributes);
        if (!is_started)
            atomic_fetch_sub(&cancel_threads, 1);
    }
    if (!is_started) {
        if (request)
            PQfreeCancel(request);
        drop(conn);
    }
}

static long long earlier(long long a, long long b)
{
    return a < b ? a : b;
}

long long orm_pool_conn_police(struct pool_conn *conn, long long now)
{
    struct orm_pool *pool = conn->pool;
    struct pool_inflight *running = oldest(conn);
    long long next = LLONG_MAX;
    if (running->job->stream) {
        stream_step(conn, orm_pool_stream_police(conn, running->job, now, &next));
        return conn->in_flight ? next : LLONG_MAX;
    }
    if (running->is_cancelled) {
        long long give_up = running->cancelled_ms + POOL_CANCEL_GRACE_MS;
        if (now >= give_up) {
            drop(conn);
            return LLONG_MAX;
        }
        next = give_up;
    } else if (pool->statement_timeout_ms > 0) {
        long long overdue =
            running->started_ms + pool->statement_timeout_ms + POOL_CANCEL_MARGIN_MS;
        if (now >= overdue) {
            cancel(conn, now);
            return conn->in_flight ? now + POOL_CANCEL_GRACE_MS : LLONG_MAX;
        }
        next = overdue;
    }
    if (conn->in_flight == 1)
        return next;
    long long stalled_at = running->started_ms + POOL_STALL_MS;
    if (now < stalled_at)
        return earlier(next, stalled_at);
    learn_speed(conn, running, false); /* no more pipelining behind this statement for now */
    /* Stalled. Nothing behind it has started: reads go where they can run now; a write can
     * only wait, and when it has waited its acquire timeout the job holding it up is cancelled
     * (that job had run for POOL_STALL_MS at least: a write is pipelined only with
     * POOL_PIPELINE_SLACK_MS left, behind a job younger than POOL_STALL_MS). */
    bool is_write_overdue = false;
    for (size_t i = 1; i < conn->in_flight; i++) {
        struct pool_inflight *flight = &conn->slots[(conn->head + i) % POOL_PIPELINE_DEPTH];
        if (flight->is_abandoned)
            continue;
        if (flight->job->is_read) {
            orm_pool_requeue(pool, orm_pool_job_clone(flight->job));
            flight->is_abandoned = true;
        } else if (flight->job->deadline_ms <= now) {
            is_write_overdue = true;
        } else {
            next = earlier(next, flight->job->deadline_ms);
        }
    }
    if (is_write_overdue && !running->is_cancelled) {
        cancel(conn, now);
        return conn->in_flight ? earlier(next, now + POOL_CANCEL_GRACE_MS) : LLONG_MAX;
    }
    return next;
}

void orm_pool_conn_close(struct pool_conn *conn)
{
    if (conn->state != POOL_CONN_DOWN)
        orm_pool_conn_down(conn, ORM_E_SHUTDOWN, "the pool is closing");
    cache_clear(conn);
    for (size_t i = 0; i < POOL_PIPELINE_DEPTH; i++) {
        inflight_reset(&conn->slots[i]);
        free(conn->slots[i].items);
        conn->slots[i].items = NULL;
        conn->slots[i].item_capacity = 0;
    }
}
