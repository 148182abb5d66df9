/*
 * orm/pool.c — the async connection pool: N non-blocking libpq connections owned by one
 * event-loop thread (epoll over each PQsocket plus an eventfd for submissions), in pipeline
 * mode, with a per-connection prepared-statement cache, a bounded FIFO wait queue with an
 * acquire deadline, and reconnection with exponential back-off. Only the loop thread touches
 * a PGconn; other threads only queue jobs under the mutex and poke the eventfd.
 *
 * Availability rule: while the first connection attempts are still in progress, jobs wait
 * (up to the acquire timeout); once every connection has failed, jobs fail at once with
 * ORM_E_UNAVAILABLE, so an API answers 503 fast instead of hanging while the database is down.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "orm/orm.h"

#define CACHE_SLOTS 1024
#define CACHE_LIMIT 512
#define MAX_BACKOFF_MS 5000
#define CONNECT_TIMEOUT_MS 10000
#define SHUTDOWN_GRACE_MS 5000
/* Jobs in flight on one connection at once. Idle connections are always used first; only
 * when every connection is busy does a job queue behind another on the same connection, which
 * removes the round-trip gap between two queries (results come back in order, each job ends
 * with its own Sync, so an error in one job never touches the next). */
#define PIPELINE_DEPTH 4

struct job_statement {
    char *sql;
    char **params;
    int param_count;
};

struct job {
    struct job *next;
    orm_result_cb callback;
    void *context;
    size_t statement_count;
    struct job_statement *statements;
    long long deadline_ms;
};

/* What each pipelined request on a busy connection answers to. */
struct pipeline_item {
    bool is_prepare;
    size_t statement;
    size_t cache_slot;
};

struct cache_entry {
    char *sql;
    uint64_t hash;
    unsigned int id;
};

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

/* One job sent on a connection and not yet answered in full. */
struct inflight {
    struct job *job;
    struct pipeline_item *items;
    size_t item_count, item_index, item_capacity;
    struct orm_outcome outcome;
    bool has_error;
};

struct conn {
    struct orm_pool *pool;
    PGconn *pg;
    enum conn_state state;
    int fd;
    uint32_t events;
    bool is_first_attempt;
    bool was_up;
    int backoff_ms;
    long long retry_at_ms;
    long long connect_deadline_ms;
    PostgresPollingStatusType poll;

    /* jobs in flight, oldest first: slots[(head + i) % PIPELINE_DEPTH], i < in_flight */
    struct inflight slots[PIPELINE_DEPTH];
    size_t head, in_flight;

    struct cache_entry cache[CACHE_SLOTS];
    size_t cache_count;
    unsigned int next_statement_id;
};

struct orm_pool {
    char *url;
    char *session_options;
    int size;
    int acquire_timeout_ms;
    int queue_limit;

    pthread_t thread;
    int epoll_fd;
    int event_fd;

    pthread_mutex_t lock; /* guards incoming and closing */
    struct job *incoming_head, *incoming_tail;
    bool closing;

    /* loop thread only */
    struct job *wait_head, *wait_tail;
    struct conn *conns;

    atomic_int queued;     /* incoming + waiting */
    atomic_int connected;
    atomic_int busy;
    atomic_ullong completed, failed, reconnects;
};

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void one_line(char *text)
{
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == ' ')
        text[--length] = '\0';
}

static void job_free(struct job *job)
{
    for (size_t s = 0; s < job->statement_count; s++) {
        free(job->statements[s].sql);
        for (int p = 0; p < job->statements[s].param_count; p++)
            free(job->statements[s].params[p]);
        free(job->statements[s].params);
    }
    free(job->statements);
    free(job);
}

/* Runs the callback exactly once and frees the job. Never called with the mutex held. */
static void job_finish(struct orm_pool *pool, struct job *job, struct orm_outcome *outcome)
{
    if (outcome->status == ORM_OK)
        atomic_fetch_add(&pool->completed, 1);
    else
        atomic_fetch_add(&pool->failed, 1);
    job->callback(job->context, outcome);
    if (outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    job_free(job);
}

static void job_fail(struct orm_pool *pool, struct job *job, enum orm_status status,
                     const char *message)
{
    struct orm_outcome outcome = {.status = status};
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    job_finish(pool, job, &outcome);
}

/* ---- prepared statement cache ------------------------------------------------------------ */

static uint64_t hash_text(const char *text)
{
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        hash = (hash ^ *p) * 1099511628211ULL;
    return hash;
}

/* Returns the slot holding sql, or the empty slot where it would go. */
static size_t cache_slot(const struct conn *conn, const char *sql, uint64_t hash)
{
    size_t slot = hash % CACHE_SLOTS;
    while (conn->cache[slot].sql &&
           (conn->cache[slot].hash != hash || strcmp(conn->cache[slot].sql, sql) != 0))
        slot = (slot + 1) % CACHE_SLOTS;
    return slot;
}

static void cache_clear(struct conn *conn)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(conn->cache[i].sql);
        conn->cache[i].sql = NULL;
    }
    conn->cache_count = 0;
}

/* Open addressing without tombstones: a failed prepare is rare, so rebuild the table. */
static void cache_remove(struct conn *conn, size_t slot)
{
    struct cache_entry *saved = malloc(sizeof conn->cache);
    if (!saved)
        abort();
    memcpy(saved, conn->cache, sizeof conn->cache);
    free(saved[slot].sql);
    saved[slot].sql = NULL;
    memset(conn->cache, 0, sizeof conn->cache);
    conn->cache_count = 0;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (!saved[i].sql)
            continue;
        size_t target = cache_slot(conn, saved[i].sql, saved[i].hash);
        conn->cache[target] = saved[i];
        conn->cache_count++;
    }
    free(saved);
}

/* ---- epoll bookkeeping ------------------------------------------------------------------- */

static void watch(struct conn *conn, uint32_t events)
{
    struct orm_pool *pool = conn->pool;
    int fd = PQsocket(conn->pg);
    if (fd < 0)
        return;
    struct epoll_event event = {.events = events, .data.ptr = conn};
    if (conn->fd != fd) {
        if (conn->fd >= 0)
            epoll_ctl(pool->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
        conn->fd = fd;
        conn->events = events;
        if (epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0 && errno == EEXIST)
            epoll_ctl(pool->epoll_fd, EPOLL_CTL_MOD, fd, &event);
    } else if (conn->events != events) {
        conn->events = events;
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_MOD, fd, &event);
    }
}

static void unwatch(struct conn *conn)
{
    if (conn->fd >= 0)
        epoll_ctl(conn->pool->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
    conn->fd = -1;
    conn->events = 0;
}

/* ---- connection life ----------------------------------------------------------------------- */

static void conn_schedule_retry(struct conn *conn)
{
    int jitter = conn->backoff_ms / 4 > 0 ? rand() % (conn->backoff_ms / 4 + 1) : 0;
    conn->retry_at_ms = now_ms() + conn->backoff_ms + jitter;
    conn->backoff_ms = conn->backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : conn->backoff_ms * 2;
}

static struct inflight *oldest(struct conn *conn)
{
    return conn->in_flight ? &conn->slots[conn->head] : NULL;
}

static void inflight_reset(struct inflight *slot)
{
    slot->job = NULL;
    slot->item_count = slot->item_index = 0;
    slot->has_error = false;
    if (slot->outcome.result)
        PQclear(slot->outcome.result);
    memset(&slot->outcome, 0, sizeof slot->outcome);
}

/* Removes the oldest job from the connection and returns it. */
static struct job *pop_oldest(struct conn *conn)
{
    struct inflight *slot = oldest(conn);
    struct job *job = slot->job;
    slot->job = NULL;
    conn->head = (conn->head + 1) % PIPELINE_DEPTH;
    conn->in_flight--;
    if (conn->in_flight == 0) {
        conn->state = CONN_IDLE;
        atomic_fetch_sub(&conn->pool->busy, 1);
    }
    return job;
}

static void conn_down(struct conn *conn, const char *message)
{
    struct orm_pool *pool = conn->pool;
    struct job *failed[PIPELINE_DEPTH];
    size_t failed_count = 0;
    while (conn->in_flight > 0) {
        if (oldest(conn)->outcome.result) {
            PQclear(oldest(conn)->outcome.result);
            oldest(conn)->outcome.result = NULL;
        }
        failed[failed_count++] = pop_oldest(conn);
    }
    if (conn->state == CONN_IDLE || conn->state == CONN_BUSY)
        atomic_fetch_sub(&pool->connected, 1);
    unwatch(conn);
    if (conn->pg)
        PQfinish(conn->pg);
    conn->pg = NULL;
    conn->state = CONN_DOWN;
    conn->is_first_attempt = false;
    conn->head = 0;
    cache_clear(conn);
    conn_schedule_retry(conn);
    for (size_t i = 0; i < failed_count; i++)
        job_fail(pool, failed[i], ORM_E_UNAVAILABLE, message);
}

/* libpq prints server notices (e.g. "terminating connection due to administrator command")
 * to stderr by default; the pool reports failures through outcomes instead. */
static void discard_notice(void *context, const char *message)
{
    (void)context;
    (void)message;
}

static void conn_start(struct conn *conn)
{
    struct orm_pool *pool = conn->pool;
    const char *keywords[] = {"dbname", "options", "application_name", NULL};
    const char *values[] = {pool->url, pool->session_options, "restable", NULL};
    conn->pg = PQconnectStartParams(keywords, values, 1);
    conn->fd = -1;
    if (!conn->pg || PQstatus(conn->pg) == CONNECTION_BAD) {
        conn->state = CONN_CONNECTING; /* so conn_down does not touch the counters */
        conn_down(conn, "the database is unavailable");
        return;
    }
    PQsetNoticeProcessor(conn->pg, discard_notice, NULL);
    conn->state = CONN_CONNECTING;
    conn->poll = PGRES_POLLING_WRITING;
    conn->connect_deadline_ms = now_ms() + CONNECT_TIMEOUT_MS;
    watch(conn, EPOLLOUT);
}

static void conn_continue_connect(struct conn *conn)
{
    struct orm_pool *pool = conn->pool;
    conn->poll = PQconnectPoll(conn->pg);
    switch (conn->poll) {
    case PGRES_POLLING_READING:
        watch(conn, EPOLLIN);
        return;
    case PGRES_POLLING_WRITING:
        watch(conn, EPOLLOUT);
        return;
    case PGRES_POLLING_FAILED:
        conn_down(conn, "the database is unavailable");
        return;
    default:
        break;
    }
    if (PQsetnonblocking(conn->pg, 1) != 0 || PQenterPipelineMode(conn->pg) != 1) {
        conn_down(conn, "the database is unavailable");
        return;
    }
    conn->state = CONN_IDLE;
    conn->backoff_ms = 100;
    if (conn->was_up)
        atomic_fetch_add(&pool->reconnects, 1);
    conn->was_up = true;
    atomic_fetch_add(&pool->connected, 1);
    watch(conn, EPOLLIN);
}

static void add_item(struct inflight *flight, bool is_prepare, size_t statement, size_t slot)
{
    if (flight->item_count == flight->item_capacity) {
        size_t capacity = flight->item_capacity ? flight->item_capacity * 2 : 8;
        struct pipeline_item *items = realloc(flight->items, capacity * sizeof *items);
        if (!items)
            abort();
        flight->items = items;
        flight->item_capacity = capacity;
    }
    flight->items[flight->item_count++] = (struct pipeline_item){is_prepare, statement, slot};
}

static void conn_flush(struct conn *conn)
{
    int pending = PQflush(conn->pg);
    if (pending < 0)
        conn_down(conn, "the database connection was lost");
    else
        watch(conn, pending ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void conn_run(struct conn *conn, struct job *job)
{
    struct orm_pool *pool = conn->pool;
    struct inflight *flight = &conn->slots[(conn->head + conn->in_flight) % PIPELINE_DEPTH];
    inflight_reset(flight);
    flight->job = job;
    if (conn->in_flight++ == 0) {
        conn->state = CONN_BUSY;
        atomic_fetch_add(&pool->busy, 1);
    }
    for (size_t s = 0; s < job->statement_count; s++) {
        struct job_statement *statement = &job->statements[s];
        const char *const *params = (const char *const *)statement->params;
        uint64_t hash = hash_text(statement->sql);
        size_t slot = cache_slot(conn, statement->sql, hash);
        char name[32];
        int sent;
        if (conn->cache[slot].sql) {
            snprintf(name, sizeof name, "r%u", conn->cache[slot].id);
            sent = PQsendQueryPrepared(conn->pg, name, statement->param_count, params, NULL,
                                       NULL, 0);
            add_item(flight, false, s, slot);
        } else if (conn->cache_count < CACHE_LIMIT) {
            unsigned int id = ++conn->next_statement_id;
            snprintf(name, sizeof name, "r%u", id);
            conn->cache[slot] = (struct cache_entry){strdup(statement->sql), hash, id};
            if (!conn->cache[slot].sql)
                abort();
            conn->cache_count++;
            sent = PQsendPrepare(conn->pg, name, statement->sql, statement->param_count, NULL);
            add_item(flight, true, s, slot);
            sent = sent && PQsendQueryPrepared(conn->pg, name, statement->param_count, params,
                                               NULL, NULL, 0);
            add_item(flight, false, s, slot);
        } else {
            sent = PQsendQueryParams(conn->pg, statement->sql, statement->param_count, NULL,
                                     params, NULL, NULL, 0);
            add_item(flight, false, s, CACHE_SLOTS);
        }
        if (!sent) {
            conn_down(conn, "the database connection was lost");
            return;
        }
    }
    if (!PQpipelineSync(conn->pg)) {
        conn_down(conn, "the database connection was lost");
        return;
    }
    conn_flush(conn);
}

static void capture_error(struct inflight *flight, PGresult *result)
{
    if (flight->has_error)
        return;
    flight->has_error = true;
    struct orm_outcome *outcome = &flight->outcome;
    outcome->status = ORM_E_QUERY;
    const char *field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    snprintf(outcome->sqlstate, sizeof outcome->sqlstate, "%s", field ? field : "XX000");
    field = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    snprintf(outcome->constraint, sizeof outcome->constraint, "%s", field ? field : "");
    field = PQresultErrorField(result, PG_DIAG_COLUMN_NAME);
    snprintf(outcome->column, sizeof outcome->column, "%s", field ? field : "");
    field = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    snprintf(outcome->message, sizeof outcome->message, "%s",
             field ? field : PQresultErrorMessage(result));
    one_line(outcome->message);
}

static void conn_complete(struct conn *conn)
{
    struct orm_pool *pool = conn->pool;
    struct inflight *flight = oldest(conn);
    struct orm_outcome outcome = flight->outcome;
    memset(&flight->outcome, 0, sizeof flight->outcome);
    struct job *job = pop_oldest(conn);
    if (outcome.status != ORM_OK && outcome.result) {
        PQclear(outcome.result);
        outcome.result = NULL;
    }
    job_finish(pool, job, &outcome);
}

static void conn_read(struct conn *conn)
{
    if (!PQconsumeInput(conn->pg)) {
        conn_down(conn, "the database connection was lost");
        return;
    }
    while (conn->pg && !PQisBusy(conn->pg)) {
        struct inflight *flight = oldest(conn);
        PGresult *result = PQgetResult(conn->pg);
        if (!result) {
            if (!flight)
                break;
            flight->item_index++;
            continue;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(result);
            if (flight)
                conn_complete(conn);
            continue;
        }
        if (!flight || flight->item_index >= flight->item_count) {
            PQclear(result); /* nothing of ours is waiting for it */
            continue;
        }
        struct pipeline_item *item = &flight->items[flight->item_index];
        if (status == PGRES_FATAL_ERROR) {
            capture_error(flight, result);
            if (item->is_prepare && item->cache_slot < CACHE_SLOTS)
                cache_remove(conn, item->cache_slot);
        } else if (status == PGRES_PIPELINE_ABORTED) {
            if (item->is_prepare && item->cache_slot < CACHE_SLOTS)
                cache_remove(conn, item->cache_slot);
        } else if (!item->is_prepare && item->statement + 1 == flight->job->statement_count &&
                   !flight->has_error) {
            if (flight->outcome.result)
                PQclear(flight->outcome.result);
            flight->outcome.result = result;
            continue;
        }
        PQclear(result);
    }
    if (conn->pg && PQstatus(conn->pg) == CONNECTION_BAD)
        conn_down(conn, "the database connection was lost");
}

static void conn_event(struct conn *conn, uint32_t events)
{
    if (conn->state == CONN_CONNECTING) {
        conn_continue_connect(conn);
        return;
    }
    if (conn->state == CONN_DOWN)
        return;
    if (events & EPOLLOUT) {
        conn_flush(conn);
        if (conn->state == CONN_DOWN)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(conn);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static bool any_up(const struct orm_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].state == CONN_IDLE || pool->conns[i].state == CONN_BUSY)
            return true;
    return false;
}

static bool first_attempts_pending(const struct orm_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].is_first_attempt)
            return true;
    return false;
}

static struct job *wait_pop(struct orm_pool *pool)
{
    struct job *job = pool->wait_head;
    if (job) {
        pool->wait_head = job->next;
        if (!pool->wait_head)
            pool->wait_tail = NULL;
        atomic_fetch_sub(&pool->queued, 1);
    }
    return job;
}

static void fail_waiting(struct orm_pool *pool, enum orm_status status, const char *message)
{
    struct job *job;
    while ((job = wait_pop(pool)))
        job_fail(pool, job, status, message);
}

static void take_incoming(struct orm_pool *pool, bool *closing)
{
    pthread_mutex_lock(&pool->lock);
    struct job *head = pool->incoming_head;
    struct job *tail = pool->incoming_tail;
    pool->incoming_head = pool->incoming_tail = NULL;
    *closing = pool->closing;
    pthread_mutex_unlock(&pool->lock);
    if (!head)
        return;
    if (pool->wait_tail)
        pool->wait_tail->next = head;
    else
        pool->wait_head = head;
    pool->wait_tail = tail;
}

static void expire_waiting(struct orm_pool *pool, long long now)
{
    struct job **link = &pool->wait_head;
    struct job *previous = NULL;
    while (*link) {
        struct job *job = *link;
        if (job->deadline_ms <= now) {
            *link = job->next;
            if (pool->wait_tail == job)
                pool->wait_tail = previous;
            atomic_fetch_sub(&pool->queued, 1);
            job_fail(pool, job, ORM_E_TIMEOUT, "no database connection became free in time");
            continue;
        }
        previous = job;
        link = &job->next;
    }
}

static int next_timeout(const struct orm_pool *pool, long long now)
{
    long long next = now + 1000;
    for (const struct job *job = pool->wait_head; job; job = job->next)
        if (job->deadline_ms < next)
            next = job->deadline_ms;
    for (int i = 0; i < pool->size; i++) {
        const struct conn *conn = &pool->conns[i];
        if (conn->state == CONN_DOWN && conn->retry_at_ms < next)
            next = conn->retry_at_ms;
        if (conn->state == CONN_CONNECTING && conn->connect_deadline_ms < next)
            next = conn->connect_deadline_ms;
    }
    return next <= now ? 0 : (int)(next - now);
}

static void *pool_main(void *argument)
{
    struct orm_pool *pool = argument;
    struct epoll_event events[64];
    bool closing = false;
    long long closing_since = 0;
    for (int i = 0; i < pool->size; i++)
        conn_start(&pool->conns[i]);
    for (;;) {
        long long now = now_ms();
        int count = epoll_wait(pool->epoll_fd, events, 64, next_timeout(pool, now));
        for (int i = 0; i < count; i++) {
            if (!events[i].data.ptr) {
                uint64_t value;
                if (read(pool->event_fd, &value, sizeof value) < 0 && errno != EAGAIN)
                    continue;
                continue;
            }
            conn_event(events[i].data.ptr, events[i].events);
        }
        take_incoming(pool, &closing);
        now = now_ms();
        if (closing) {
            if (!closing_since)
                closing_since = now;
            fail_waiting(pool, ORM_E_SHUTDOWN, "the pool is closing");
            bool busy = false;
            for (int i = 0; i < pool->size; i++)
                busy |= pool->conns[i].state == CONN_BUSY;
            if (!busy || now - closing_since > SHUTDOWN_GRACE_MS)
                break;
            continue;
        }
        for (int i = 0; i < pool->size; i++) {
            struct conn *conn = &pool->conns[i];
            if (conn->state == CONN_DOWN && conn->retry_at_ms <= now)
                conn_start(conn);
            else if (conn->state == CONN_CONNECTING && conn->connect_deadline_ms <= now)
                conn_down(conn, "the database is unavailable");
        }
        expire_waiting(pool, now);
        if (!any_up(pool) && !first_attempts_pending(pool)) {
            fail_waiting(pool, ORM_E_UNAVAILABLE, "the database is unavailable");
            continue;
        }
        /* idle connections first, then the least loaded busy ones */
        for (size_t depth = 0; depth < PIPELINE_DEPTH && pool->wait_head; depth++)
            for (int i = 0; i < pool->size && pool->wait_head; i++) {
                struct conn *conn = &pool->conns[i];
                if ((conn->state == CONN_IDLE || conn->state == CONN_BUSY) &&
                    conn->in_flight == depth)
                    conn_run(conn, wait_pop(pool));
            }
    }
    for (int i = 0; i < pool->size; i++) {
        struct conn *conn = &pool->conns[i];
        if (conn->in_flight)
            conn_down(conn, "the pool is closing");
        unwatch(conn);
        if (conn->pg)
            PQfinish(conn->pg);
        conn->pg = NULL;
        cache_clear(conn);
        for (size_t slot = 0; slot < PIPELINE_DEPTH; slot++) {
            inflight_reset(&conn->slots[slot]);
            free(conn->slots[slot].items);
        }
    }
    return NULL;
}

/* ---- public API ---------------------------------------------------------------------------- */

struct orm_pool *orm_pool_new(const struct orm_pool_options *options, struct rs_error *error)
{
    if (!options || !options->url || options->size < 1) {
        rs_error_set(error, 1, NULL, "the pool needs a database url and a size of at least 1");
        return NULL;
    }
    struct orm_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        abort();
    pool->url = strdup(options->url);
    pool->session_options = orm_session_options(options->statement_timeout_ms);
    pool->size = options->size;
    pool->acquire_timeout_ms = options->acquire_timeout_ms;
    pool->queue_limit = options->queue_limit > 0 ? options->queue_limit : 4096;
    pool->conns = calloc((size_t)options->size, sizeof *pool->conns);
    if (!pool->url || !pool->conns)
        abort();
    for (int i = 0; i < pool->size; i++) {
        pool->conns[i] = (struct conn){.pool = pool, .fd = -1, .backoff_ms = 100,
                                       .is_first_attempt = true};
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    pool->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    if (pool->epoll_fd < 0 || pool->event_fd < 0 ||
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->event_fd, &event) < 0 ||
        pthread_create(&pool->thread, NULL, pool_main, pool) != 0) {
        rs_error_set(error, 1, NULL, "cannot start the pool: %s", strerror(errno));
        if (pool->epoll_fd >= 0)
            close(pool->epoll_fd);
        if (pool->event_fd >= 0)
            close(pool->event_fd);
        free(pool->url);
        free(pool->session_options);
        free(pool->conns);
        free(pool);
        return NULL;
    }
    return pool;
}

static struct job *job_new(const struct orm_statement *statements, size_t count,
                           orm_result_cb callback, void *context)
{
    struct job *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    job->callback = callback;
    job->context = context;
    job->statement_count = count;
    job->statements = calloc(count ? count : 1, sizeof *job->statements);
    if (!job->statements)
        abort();
    for (size_t s = 0; s < count; s++) {
        struct job_statement *copy = &job->statements[s];
        copy->sql = strdup(statements[s].sql);
        copy->param_count = statements[s].param_count;
        copy->params = calloc((size_t)copy->param_count + 1, sizeof *copy->params);
        if (!copy->sql || !copy->params)
            abort();
        for (int p = 0; p < copy->param_count; p++) {
            const char *value = statements[s].params[p];
            if (value && !(copy->params[p] = strdup(value)))
                abort();
        }
    }
    return job;
}

void orm_pool_submit(struct orm_pool *pool, const struct orm_statement *statements,
                     size_t statement_count, orm_result_cb callback, void *context)
{
    struct job *job = job_new(statements, statement_count, callback, context);
    if (statement_count == 0) {
        job_fail(pool, job, ORM_E_QUERY, "no statement to run");
        return;
    }
    job->deadline_ms = now_ms() + pool->acquire_timeout_ms;
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        job_fail(pool, job, ORM_E_SHUTDOWN, "the pool is closing");
        return;
    }
    if (atomic_load(&pool->queued) >= pool->queue_limit) {
        pthread_mutex_unlock(&pool->lock);
        job_fail(pool, job, ORM_E_QUEUE_FULL, "too many queries are waiting");
        return;
    }
    atomic_fetch_add(&pool->queued, 1);
    if (pool->incoming_tail)
        pool->incoming_tail->next = job;
    else
        pool->incoming_head = job;
    pool->incoming_tail = job;
    pthread_mutex_unlock(&pool->lock);
    uint64_t one = 1;
    if (write(pool->event_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* the counter is saturated, which still wakes the loop */
    }
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t done_signal;
    bool done;
    struct orm_outcome *outcome;
};

static void sync_done(void *context, struct orm_outcome *outcome)
{
    struct sync_wait *wait = context;
    pthread_mutex_lock(&wait->lock);
    *wait->outcome = *outcome;
    outcome->result = NULL; /* ownership moves to the waiting caller */
    wait->done = true;
    pthread_cond_signal(&wait->done_signal);
    pthread_mutex_unlock(&wait->lock);
}

void orm_pool_run_sync(struct orm_pool *pool, const struct orm_statement *statements,
                       size_t statement_count, struct orm_outcome *outcome)
{
    struct sync_wait wait = {.done = false, .outcome = outcome};
    pthread_mutex_init(&wait.lock, NULL);
    pthread_cond_init(&wait.done_signal, NULL);
    orm_pool_submit(pool, statements, statement_count, sync_done, &wait);
    pthread_mutex_lock(&wait.lock);
    while (!wait.done)
        pthread_cond_wait(&wait.done_signal, &wait.lock);
    pthread_mutex_unlock(&wait.lock);
    pthread_mutex_destroy(&wait.lock);
    pthread_cond_destroy(&wait.done_signal);
}

bool orm_pool_is_ready(struct orm_pool *pool)
{
    return atomic_load(&pool->connected) > 0;
}

void orm_pool_stats(struct orm_pool *pool, struct orm_pool_stats *stats)
{
    stats->size = pool->size;
    stats->connected = atomic_load(&pool->connected);
    stats->busy = atomic_load(&pool->busy);
    stats->waiting = atomic_load(&pool->queued);
    stats->completed = atomic_load(&pool->completed);
    stats->failed = atomic_load(&pool->failed);
    stats->reconnects = atomic_load(&pool->reconnects);
}

void orm_pool_free(struct orm_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    pthread_mutex_unlock(&pool->lock);
    uint64_t one = 1;
    if (write(pool->event_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* saturated: the loop wakes anyway */
    }
    pthread_join(pool->thread, NULL);
    bool closing;
    take_incoming(pool, &closing);
    fail_waiting(pool, ORM_E_SHUTDOWN, "the pool is closing");
    close(pool->epoll_fd);
    close(pool->event_fd);
    pthread_mutex_destroy(&pool->lock);
    free(pool->conns);
    free(pool->url);
    free(pool->session_options);
    free(pool);
}
