/*
 * orm/pool.c — the async connection pool: N non-blocking libpq connections owned by one
 * event-loop thread (epoll over each PQsocket plus an eventfd for submissions and shutdown),
 * a bounded FIFO wait queue with an acquire deadline, and reconnection with exponential
 * back-off. This file is the loop and the public API; orm/pool_job.c the jobs and the queues,
 * orm/pool_conn.c drives each connection. Only the loop thread touches a PGconn; other threads only
 * queue jobs under the mutex and poke the eventfd. Callbacks run on the loop thread, never under
 * the mutex, so a callback may submit again.
 *
 * Deadline rule: a query waits in the queue at most acquire_timeout_ms (then ORM_E_TIMEOUT) and
 * runs at most statement_timeout_ms once it has started (then ORM_E_STATEMENT_TIMEOUT, or
 * PostgreSQL's own 57014); orm/pool_conn.c's police step keeps both true for jobs pipelined
 * behind one that stalls, so a stuck table holds only the connections running its queries.
 *
 * Availability rule: while the first connection attempts are still in progress, jobs wait
 * (up to the acquire timeout), so a server that starts and serves at once does not fail its
 * first requests. Once no connection is up and none is on its first attempt (the database is
 * down, at start or later), jobs fail at once with ORM_E_UNAVAILABLE, so an API answers 503
 * fast instead of hanging; as soon as one connection is up again, jobs run normally.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "orm/pool_job.h"

#define SHUTDOWN_GRACE_MS 5000
#define IDLE_WAKE_MS 1000

static void fail_waiting(struct orm_pool *pool, enum orm_status status, const char *message)
{
    struct pool_job *job;
    while ((job = orm_pool_queue_pop(pool, &pool->probes)) ||
           (job = orm_pool_queue_pop(pool, &pool->waiting)))
        orm_pool_job_fail(pool, job, status, message);
}

/* Moves what other threads submitted onto the wait queues, keeping their order. */
static void take_incoming(struct orm_pool *pool, bool *is_closing)
{
    pthread_mutex_lock(&pool->lock);
    struct pool_job *head = pool->incoming_head;
    pool->incoming_head = pool->incoming_tail = NULL;
    atomic_store(&pool->incoming, 0);
    *is_closing = pool->is_closing;
    bool is_driver_new = pool->is_driver_new;
    pool->is_driver_new = false;
    pthread_mutex_unlock(&pool->lock);
    if (is_driver_new) {
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = &pool->driver_fd};
        if (epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->driver_fd, &event) < 0)
            abort(); /* a descriptor the caller just made: only a bug can get here */
        pool->is_driving = true;
    }
    for (struct pool_job *job = head, *next; job; job = next) {
        next = job->next;
        orm_pool_queue_push(job->needs_idle ? &pool->probes : &pool->waiting, job);
    }
}

static void expire_queue(struct orm_pool *pool, struct pool_queue *queue, long long now)
{
    while (queue->head && queue->head->deadline_ms <= now)
        orm_pool_job_fail(pool, orm_pool_queue_pop(pool, queue), ORM_E_TIMEOUT,
                          "no database connection became free in time");
}

static void expire_waiting(struct orm_pool *pool, long long now)
{
    expire_queue(pool, &pool->waiting, now);
    expire_queue(pool, &pool->probes, now);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static bool any_up(const struct orm_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (orm_pool_conn_is_up(&pool->conns[i]))
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

/* epoll_wait's timeout: the nearest acquire deadline, reconnect time, connect deadline or
 * in-flight deadline (police_at, from the last police round). */
static int next_timeout(const struct orm_pool *pool, long long now, long long police_at)
{
    long long next = now + IDLE_WAKE_MS < police_at ? now + IDLE_WAKE_MS : police_at;
    const struct pool_job *heads[] = {pool->waiting.head, pool->probes.head}; /* the nearest */
    for (size_t i = 0; i < 2; i++)
        if (heads[i] && heads[i]->deadline_ms < next)
            next = heads[i]->deadline_ms;
    for (int i = 0; i < pool->size; i++) {
        const struct pool_conn *conn = &pool->conns[i];
        if (conn->state == POOL_CONN_DOWN && conn->retry_at_ms < next)
            next = conn->retry_at_ms;
        if (conn->state == POOL_CONN_CONNECTING && conn->connect_deadline_ms < next)
            next = conn->connect_deadline_ms;
    }
    return next <= now ? 0 : (int)(next - now);
}

static void wait_for_events(struct orm_pool *pool, long long police_at)
{
    struct epoll_event events[64];
    /* sleeping first, then a look at the queue: a submit either shows up in the look or
     * finds the flag set and writes the eventfd (both sides are sequentially consistent) */
    atomic_store(&pool->is_sleeping, true);
    bool has_work = atomic_load(&pool->incoming) > 0 || atomic_load(&pool->is_driver_poked);
    int timeout = has_work ? 0 : next_timeout(pool, orm_pool_now_ms(), police_at);
    if (pool->is_driving && pool->driver_timeout_ms >= 0 && pool->driver_timeout_ms < timeout)
        timeout = pool->driver_timeout_ms;
    int count = epoll_wait(pool->epoll_fd, events, 64, timeout);
    atomic_store(&pool->is_sleeping, false);
    /* count < 0 is EINTR (or a bug that the next round repeats): nothing to do either way */
    for (int i = 0; i < count; i++) {
        if (events[i].data.ptr == &pool->driver_fd)
            continue; /* the driven source: run every round anyway */
        if (events[i].data.ptr) {
            orm_pool_conn_event(events[i].data.ptr, events[i].events);
            continue;
        }
        uint64_t value;
        if (read(pool->event_fd, &value, sizeof value) < 0 && errno != EAGAIN) {
            /* a wake-up only: take_incoming looks at the queue whatever happened */
        }
    }
}

static void tend_connections(struct orm_pool *pool, long long now)
{
    for (int i = 0; i < pool->size; i++) {
        struct pool_conn *conn = &pool->conns[i];
        if (conn->state == POOL_CONN_DOWN && conn->retry_at_ms <= now)
            orm_pool_conn_start(conn);
        else if (conn->state == POOL_CONN_CONNECTING && conn->connect_deadline_ms <= now)
            orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, "the database is unavailable");
    }
}

/* Where the next waiting job goes: the busiest connection that can still take it, an idle one
 * only when no busy one can. A job sent to a backend that is still working on the ones before
 * it lands in a socket it will read anyway; a job sent to an idle backend has to wake it, which
 * costs the sender and the backend more than the query itself on small machines (and idle
 * connections still get used as soon as the busy ones are full). A job goes behind others only
 * when the connection is flowing and the job can afford the risk (not a session's, not close to
 * its acquire deadline); a session starts where no late cancel can still land on its
 * statements. NULL: the job cannot go anywhere now. */
static struct pool_conn *pick_connection(struct orm_pool *pool, const struct pool_job *job,
                                         long long now)
{
    bool may_queue = !job->session && job->deadline_ms - now >= POOL_PIPELINE_SLACK_MS;
    struct pool_conn *best = NULL;
    for (int i = 0; i < pool->size; i++) {
        struct pool_conn *conn = &pool->conns[i];
        if (!orm_pool_conn_is_up(conn) || conn->session || conn->in_flight >= POOL_PIPELINE_DEPTH)
            continue;
        if (conn->in_flight > 0 && (!may_queue || !orm_pool_conn_is_flowing(conn, now)))
            continue;
        if (job->session && now < conn->stray_cancel_until_ms)
            continue;
        if (!best || conn->in_flight > best->in_flight)
            best = conn;
    }
    return best;
}

/* Probes first, each on an idle connection (a probe never goes behind other work), then the
 * waiting jobs in order. The queue stays first-in first-out: when its head can go nowhere,
 * everything behind it waits too. */
static void dispatch(struct orm_pool *pool, long long now)
{
    orm_pool_sessions_resume(pool, now);
    for (int i = 0; i < pool->size && pool->probes.head; i++) {
        struct pool_conn *conn = &pool->conns[i];
        if (orm_pool_conn_is_up(conn) && conn->in_flight == 0 && !conn->session)
            orm_pool_conn_run(conn, orm_pool_queue_pop(pool, &pool->probes), now);
    }
    for (const struct pool_job *next; (next = pool->waiting.head);) {
        struct pool_conn *conn = pick_connection(pool, next, now);
        if (!conn)
            break;
        struct pool_job *job = orm_pool_queue_pop(pool, &pool->waiting);
        if (job->session)
            orm_pool_session_bind(job->session, conn);
        orm_pool_conn_run(conn, job, now);
    }
    for (int i = 0; i < pool->size; i++)
        orm_pool_conn_end_round(&pool->conns[i]);
}

/* Runs each busy connection's police step; returns the earliest time one asked to run again. */
static long long police(struct orm_pool *pool, long long now)
{
    long long next = LLONG_MAX;
    for (int i = 0; i < pool->size; i++) {
        struct pool_conn *conn = &pool->conns[i];
        if (conn->in_flight == 0 || !orm_pool_conn_is_up(conn))
            continue;
        long long at = orm_pool_conn_police(conn, now);
        if (at < next)
            next = at;
    }
    return next;
}

static bool any_in_flight(const struct orm_pool *pool)
{
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].in_flight > 0)
            return true;
    return false;
}

static void *pool_main(void *argument)
{
    struct orm_pool *pool = argument;
    bool is_closing = false;
    long long closing_since = 0, police_at = LLONG_MAX;
    for (int i = 0; i < pool->size; i++)
        orm_pool_conn_start(&pool->conns[i]);
    for (;;) {
        wait_for_events(pool, police_at);
        /* the driven source answers what the results completed and submits new work, which
         * take_incoming and dispatch then send, all in this round */
        if (pool->is_driving) {
            /* cleared before the run: a poke during it gives another round */
            atomic_store(&pool->is_driver_poked, false);
            pool->driver_timeout_ms = pool->driver_run(pool->driver_context);
        }
        take_incoming(pool, &is_closing);
        long long now = orm_pool_now_ms();
        if (is_closing) {
            /* in-flight jobs may finish, within a grace period; nothing new starts */
            if (!closing_since)
                closing_since = now;
            fail_waiting(pool, ORM_E_SHUTDOWN, "the pool is closing");
            if (!any_in_flight(pool) || now - closing_since > SHUTDOWN_GRACE_MS)
                break;
            continue;
        }
        tend_connections(pool, now);
        if (!any_up(pool) && !first_attempts_pending(pool)) {
            fail_waiting(pool, ORM_E_UNAVAILABLE, "the database is unavailable");
            continue;
        }
        /* police first, so the reads it takes off a stalled connection are sent in this round;
         * then dispatch before expiry: a job that finds a connection free has not waited too
         * long, even with an acquire timeout of 0. Police again for when to look next, now that
         * jobs were sent (it changes nothing else: dispatch feeds only flowing connections). */
        police(pool, now);
        dispatch(pool, now);
        expire_waiting(pool, now);
        police_at = police(pool, now);
    }
    for (int i = 0; i < pool->size; i++)
        orm_pool_conn_close(&pool->conns[i]);
    return NULL;
}

/* ---- public API ---------------------------------------------------------------------------- */

/* A malformed URL or connection string would only fail, forever, in the background: say so
 * now. A plain database name (no "=", no URI scheme) is not expanded by libpq, so it is fine. */
static int check_url(const char *url, struct rs_error *error)
{
    if (!strchr(url, '=') && strncmp(url, "postgresql://", 13) != 0 &&
        strncmp(url, "postgres://", 11) != 0)
        return 0;
    char *message = NULL;
    PQconninfoOption *parsed = PQconninfoParse(url, &message);
    if (parsed) {
        PQconninfoFree(parsed);
        return 0;
    }
    rs_error_set(error, RS_FAILED, NULL, "invalid database url: %.200s",
                 message ? message : "out of memory");
    size_t length = strlen(error->message); /* libpq's messages end with a newline */
    while (length > 0 && (error->message[length - 1] == '\n' || error->message[length - 1] == ' '))
        error->message[--length] = '\0';
    for (char *p = error->message; *p; p++)
        if (*p == '\n')
            *p = ' ';
    PQfreemem(message);
    return -1;
}

static void pool_release(struct orm_pool *pool)
{
    if (pool->epoll_fd >= 0)
        close(pool->epoll_fd);
    if (pool->event_fd >= 0)
        close(pool->event_fd);
    free(pool->conns);
    free(pool->url);
    free(pool->session_options);
    free(pool->transaction_settings_sql);
    free(pool);
}

struct orm_pool *orm_pool_new(const struct orm_pool_options *options, struct rs_error *error)
{
    if (!options || !options->url || options->size < 1 || options->acquire_timeout_ms < 0 ||
        options->statement_timeout_ms < 0 || options->queue_limit < 0) {
        rs_error_set(error, RS_FAILED, NULL,
                     "the pool needs a database url, a size of at least 1 and no negative "
                     "timeouts or limits");
        return NULL;
    }
    if (check_url(options->url, error) < 0)
        return NULL;
    struct orm_pool *pool = xcalloc(1, sizeof *pool);
    pool->epoll_fd = pool->event_fd = -1;
    pool->url = xstrdup(options->url);
    if (options->unnamed_statements_only)
        pool->transaction_settings_sql =
            orm_transaction_settings_sql(options->statement_timeout_ms);
    else
        pool->session_options = orm_session_options(options->statement_timeout_ms);
    pool->size = options->size;
    pool->acquire_timeout_ms = options->acquire_timeout_ms;
    pool->statement_timeout_ms = options->statement_timeout_ms;
    pool->queue_limit = options->queue_limit > 0 ? options->queue_limit : 4096;
    pool->unnamed_statements_only = options->unnamed_statements_only;
    pool->conns = xcalloc((size_t)options->size, sizeof *pool->conns);
    pool->random_state = ((uint64_t)orm_pool_now_ms() << 20) ^ (uint64_t)(uintptr_t)pool ^ 1;
    for (int i = 0; i < pool->size; i++)
        pool->conns[i] = (struct pool_conn){
            .pool = pool, .fd = -1, .backoff_ms = POOL_FIRST_BACKOFF_MS, .is_first_attempt = true};
    int failure = pthread_mutex_init(&pool->lock, NULL);
    if (failure) {
        rs_error_set(error, RS_FAILED, NULL, "cannot start the pool: %s", strerror(failure));
        pool_release(pool);
        return NULL;
    }
    pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    pool->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the eventfd */
    if (pool->epoll_fd < 0 || pool->event_fd < 0 ||
        epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->event_fd, &event) < 0)
        failure = errno;
    else
        failure = pthread_create(&pool->thread, NULL, pool_main, pool);
    if (failure) {
        rs_error_set(error, RS_FAILED, NULL, "cannot start the pool: %s", strerror(failure));
        pthread_mutex_destroy(&pool->lock);
        pool_release(pool);
        return NULL;
    }
    return pool;
}

static void wake_loop(struct orm_pool *pool)
{
    uint64_t one = 1;
    if (write(pool->event_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* EAGAIN: the counter is saturated, which wakes the loop all the same; nothing else
         * can fail on an eventfd we own */
    }
}

/* The job for statements; behind a transaction pooler, with the session settings first (only
 * the last statement's result reaches the callback, so the caller sees no difference). */
static struct pool_job *new_job(struct orm_pool *pool, const struct orm_statement *statements,
                                size_t statement_count, orm_result_cb callback, void *context)
{
    if (!pool->transaction_settings_sql || statement_count == 0)
        return orm_pool_job_new(statements, statement_count, callback, context);
    struct orm_statement *all = xcalloc(statement_count + 1, sizeof *all);
    all[0] = (struct orm_statement){.sql = pool->transaction_settings_sql};
    memcpy(all + 1, statements, statement_count * sizeof *all);
    struct pool_job *job = orm_pool_job_new(all, statement_count + 1, callback, context);
    free(all);
    return job;
}

void orm_pool_wake(struct orm_pool *pool)
{
    if (atomic_exchange(&pool->is_sleeping, false))
        wake_loop(pool);
}

void orm_pool_enqueue(struct orm_pool *pool, struct pool_job *job, int timeout_ms)
{
    pthread_mutex_lock(&pool->lock);
    job->deadline_ms = orm_pool_now_ms() + timeout_ms;
    if (pool->is_closing) {
        pthread_mutex_unlock(&pool->lock);
        orm_pool_job_fail(pool, job, ORM_E_SHUTDOWN, "the pool is closing");
        return;
    }
    if (atomic_load(&pool->queued) >= pool->queue_limit) {
        pthread_mutex_unlock(&pool->lock);
        orm_pool_job_fail(pool, job, ORM_E_QUEUE_FULL, "too many queries are waiting");
        return;
    }
    atomic_fetch_add(&pool->queued, 1);
    if (pool->incoming_tail)
        pool->incoming_tail->next = job;
    else
        pool->incoming_head = job;
    pool->incoming_tail = job;
    atomic_fetch_add(&pool->incoming, 1);
    pthread_mutex_unlock(&pool->lock);
    orm_pool_wake(pool);
}

static void submit(struct orm_pool *pool, const struct orm_statement *statements,
                   size_t statement_count, int timeout_ms, bool needs_idle, bool is_read,
                   orm_result_cb callback, void *context)
{
    struct pool_job *job = new_job(pool, statements, statement_count, callback, context);
    job->needs_idle = needs_idle;
    job->is_read = is_read;
    if (statement_count == 0) {
        orm_pool_job_fail(pool, job, ORM_E_QUERY, "no statement to run");
        return;
    }
    orm_pool_enqueue(pool, job, timeout_ms);
}

void orm_pool_submit(struct orm_pool *pool, const struct orm_statement *statements,
                     size_t statement_count, orm_result_cb callback, void *context)
{
    submit(pool, statements, statement_count, pool->acquire_timeout_ms, false, false, callback,
           context);
}

void orm_pool_submit_read(struct orm_pool *pool, const struct orm_statement *statements,
                          size_t statement_count, orm_result_cb callback, void *context)
{
    submit(pool, statements, statement_count, pool->acquire_timeout_ms, false, true, callback,
           context);
}

void orm_pool_submit_probe(struct orm_pool *pool, const struct orm_statement *statements,
                           size_t statement_count, int timeout_ms, orm_result_cb callback,
                           void *context)
{
    int limit = timeout_ms < pool->acquire_timeout_ms ? timeout_ms : pool->acquire_timeout_ms;
    submit(pool, statements, statement_count, limit, true, true, callback, context);
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t done_signal;
    bool is_done;
    struct orm_outcome *outcome;
};

static void sync_done(void *context, struct orm_outcome *outcome)
{
    struct sync_wait *wait = context;
    pthread_mutex_lock(&wait->lock);
    *wait->outcome = *outcome;
    outcome->result = NULL; /* ownership moves to the waiting caller */
    wait->is_done = true;
    pthread_cond_signal(&wait->done_signal);
    pthread_mutex_unlock(&wait->lock);
}

void orm_pool_run_sync(struct orm_pool *pool, const struct orm_statement *statements,
                       size_t statement_count, struct orm_outcome *outcome)
{
    struct sync_wait wait = {.lock = PTHREAD_MUTEX_INITIALIZER,
                             .done_signal = PTHREAD_COND_INITIALIZER,
                             .is_done = false,
                             .outcome = outcome};
    orm_pool_submit(pool, statements, statement_count, sync_done, &wait);
    pthread_mutex_lock(&wait.lock);
    while (!wait.is_done)
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
    stats->cancels = atomic_load(&pool->cancels);
}

void orm_pool_free(struct orm_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->is_closing = true;
    pthread_mutex_unlock(&pool->lock);
    wake_loop(pool);
    int failure = pthread_join(pool->thread, NULL);
    if (failure) /* only if called on the pool thread itself: a caller bug */
        abort();
    /* a cancel still connecting holds no pool memory, but let it end with its pool */
    orm_pool_conn_wait_cancels(2000);
    /* anything that slipped in after the loop's last look */
    bool is_closing;
    take_incoming(pool, &is_closing);
    fail_waiting(pool, ORM_E_SHUTDOWN, "the pool is closing");
    pthread_mutex_destroy(&pool->lock);
    pool_release(pool);
}

void orm_pool_poke_driver(struct orm_pool *pool)
{
    /* the flag first: either the loop sees it before it sleeps, or it already sleeps and
     * orm_pool_wake finds is_sleeping set (both sides sequentially consistent) */
    atomic_store(&pool->is_driver_poked, true);
    orm_pool_wake(pool);
}

void orm_pool_drive(struct orm_pool *pool, int fd, int (*run)(void *context), void *context)
{
    pthread_mutex_lock(&pool->lock);
    pool->driver_fd = fd;
    pool->driver_run = run;
    pool->driver_context = context;
    pool->driver_timeout_ms = 0; /* a first run at once */
    pool->is_driver_new = true;
    pthread_mutex_unlock(&pool->lock);
    wake_loop(pool);
}
