/*
 * orm/pool_job.h — private to orm/pool*.c: the pool's jobs, connections and shared state, and
 * orm/pool_job.c's jobs and wait queues, which both the loop and the connections use (so
 * neither .c file needs the other's). orm/pool.c owns the event loop and the public API;
 * orm/pool_conn.c drives one libpq connection (connect, send a job pipelined, read its
 * results). Everything here except the fields marked otherwise is touched by the loop thread
 * only.
 */
#ifndef RESTABLE_ORM_POOL_JOB_H
#define RESTABLE_ORM_POOL_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "orm/orm.h"

/* Jobs in flight on one connection at once. Idle connections are always used first; only
 * when every connection is busy does a job queue behind another on the same connection, which
 * removes the round-trip gap between two queries (results come back in order, each job ends
 * with its own Sync, so an error in one job never touches the next). A sent job cannot be
 * taken back, so a job is pipelined only where it is unlikely to wait: behind jobs whose
 * statements ran quickly last time on this connection, the oldest of them running for less than
 * POOL_STALL_MS, and only with at least POOL_PIPELINE_SLACK_MS of its acquire timeout left
 * (docs/decisions.md, "Pool: deadlines"). */
#define POOL_PIPELINE_DEPTH 4
/* A connection whose running job has had no answer for this long is stalled: it takes no more
 * pipelined jobs, and the reads already behind it are sent again on another connection. */
#define POOL_STALL_MS 50
#define POOL_PIPELINE_SLACK_MS (2 * POOL_STALL_MS)
/* A job still running statement_timeout_ms + this after it started is cancelled (PostgreSQL's
 * own statement_timeout normally answers first); one still running POOL_CANCEL_GRACE_MS after
 * its cancel was sent has its connection dropped. */
#define POOL_CANCEL_MARGIN_MS 250
#define POOL_CANCEL_GRACE_MS 1000
/* How long after a cancelled job ended a 57014 on the next jobs is taken for that cancel. */
#define POOL_STRAY_CANCEL_MS 200
/* Prepared statements per connection: an open-addressing table kept at most half full. */
#define POOL_CACHE_SLOTS 1024
#define POOL_CACHE_LIMIT 512
#define POOL_FIRST_BACKOFF_MS 100
#define POOL_MAX_BACKOFF_MS 5000
#define POOL_CONNECT_TIMEOUT_MS 10000

struct pool_statement {
    char *sql;
    char **params; /* NULL entries are SQL NULL */
    int param_count;
};

/* One submission: its own copy of the SQL and parameters, freed after the callback. */
struct pool_job {
    struct pool_job *next;
    orm_result_cb callback;
    void *context;
    size_t statement_count;
    struct pool_statement *statements;
    long long deadline_ms;        /* CLOCK_MONOTONIC: fails with ORM_E_TIMEOUT if still waiting */
    bool needs_idle;              /* a probe: runs only on a connection with nothing in flight */
    bool is_read;                 /* no side effects: may be sent again on another connection */
    struct orm_stream *stream;    /* a COPY streamed to a consumer (orm/pool_stream.c), or NULL */
    struct pool_session *session; /* a step of a session (orm/pool_session.c), or NULL */
};

struct pool_queue {
    struct pool_job *head, *tail;
};

/* What each request sent on a connection answers to, in the order the results come back.
 * statement_id names the prepared statement (0: unnamed); the cache entry is found again by
 * the statement's SQL text, since slots move when an entry is deleted. */
struct pool_item {
    bool is_prepare;
    size_t statement;
    unsigned int statement_id;
};

struct pool_cache_entry {
    char *sql; /* NULL: empty slot */
    uint64_t hash;
    unsigned int id;
    /* The job whose Prepare has not been answered yet. Until it is, other jobs pipelined on
     * the connection must not execute the name: if that Prepare is aborted (an earlier
     * statement of its job failed), the name never exists on the server. */
    const struct pool_job *pending;
    /* The last job that ended with this statement ran for less than POOL_STALL_MS: jobs may be
     * pipelined behind the next one. Unknown (false) until it has run once. */
    bool is_quick;
};

enum pool_conn_state { POOL_CONN_DOWN, POOL_CONN_CONNECTING, POOL_CONN_IDLE, POOL_CONN_BUSY };

/* One job sent on a connection and not yet answered in full. */
struct pool_inflight {
    struct pool_job *job;
    struct pool_item *items;
    size_t item_count, item_index, item_capacity;
    struct orm_outcome outcome; /* result: the last statement's, owned until the callback */
    bool has_error;
    /* A read sent again elsewhere: this copy's answer is dropped and the job freed without a
     * callback (its clone, on the wait queue, owns the callback). */
    bool is_abandoned;
    bool is_cancelled;   /* the pool sent a cancel request while this job was running */
    bool is_known_quick; /* its last statement's cache entry was quick when it was sent */
    size_t entry_slot;   /* that entry, while its id is still entry_id (0: unnamed) */
    unsigned int entry_id;
    long long started_ms; /* when it became the oldest in flight (0: still behind another) */
    long long cancelled_ms;
};

struct pool_conn {
    struct orm_pool *pool;
    PGconn *pg;
    enum pool_conn_state state;
    int fd;          /* the socket registered with epoll, -1 when none */
    uint32_t events; /* what it is registered for */
    bool is_first_attempt;
    bool was_up;
    int backoff_ms;
    long long retry_at_ms;
    long long connect_deadline_ms;

    /* jobs in flight, oldest first: slots[(head + i) % POOL_PIPELINE_DEPTH], i < in_flight */
    struct pool_inflight slots[POOL_PIPELINE_DEPTH];
    size_t head, in_flight;
    /* This round's last job on the connection still lacks its Sync, which libpq 15 always
     * sends at once (orm/pool_conn.c, "a round's jobs in one segment"). */
    bool is_sync_held;
    bool is_corked;   /* TCP_CORK is on: the round's segments wait for orm_pool_conn_end_round */
    bool cannot_cork; /* not TCP (a Unix socket): setsockopt refused */

    /* A cancel may also interrupt the job after its own (orm/pool_conn.c, complete_oldest): a
     * "canceling statement" error before this time goes back to the queue, as it rolled back. */
    long long stray_cancel_until_ms;

    /* The session holding the connection (orm/pool_session.c): no other job is sent on it. */
    struct pool_session *session;

    struct pool_cache_entry cache[POOL_CACHE_SLOTS];
    size_t cache_count;
    unsigned int next_statement_id;
};

struct orm_pool {
    char *url;
    char *session_options;          /* libpq "options" at connect, or NULL behind a pooler */
    char *transaction_settings_sql; /* the first statement of every job behind a pooler */
    int size;
    int acquire_timeout_ms;
    int statement_timeout_ms; /* 0: none */
    int queue_limit;
    bool unnamed_statements_only; /* orm_pool_options: never prepare */

    pthread_t thread;
    int epoll_fd;
    int event_fd; /* written by submit and free to wake the loop */

    pthread_mutex_t lock; /* guards incoming and is_closing */
    struct pool_job *incoming_head, *incoming_tail;
    bool is_closing;

    /* loop thread only. Each queue's deadlines never decrease along it (jobs arrive in
     * submission order with one timeout per kind), so the expired jobs are a prefix. */
    struct pool_queue waiting; /* queries, oldest first */
    struct pool_queue probes;  /* health probes: only an idle connection takes one */
    struct pool_conn *conns;
    uint64_t random_state; /* back-off jitter */

    /* The loop is in (or about to enter) epoll_wait: only then does a submit need the eventfd.
     * A busy loop takes the incoming queue on its next round anyway, and under load it is
     * busy most of the time, so most submits skip a write and the loop a spurious wake-up. */
    atomic_bool is_sleeping;

    /* orm_pool_drive: another event source the loop runs (the HTTP server in a one-thread
     * server). Written under lock; the loop starts watching driver_fd on its next round. */
    int driver_fd;
    int (*driver_run)(void *context);
    int driver_timeout_ms; /* loop thread: what the last run asked for (-1: no limit) */
    void *driver_context;
    bool is_driver_new; /* under lock */
    /* any thread: the driven source has work its descriptor will not announce (a connection
     * resumed from another thread); the loop runs it without sleeping first */
    atomic_bool is_driver_poked;
    bool is_driving;     /* loop thread */
    atomic_int incoming; /* jobs on incoming_head..tail */

    /* read by any thread */
    atomic_int queued; /* incoming + waiting */
    atomic_int connected;
    atomic_int busy;
    atomic_ullong completed, failed, reconnects, cancels;
};

/* orm/pool_job.c — jobs and wait queues, used by the loop and the connections alike. */

long long orm_pool_now_ms(void);

/* A job owning a copy of the statements, so the caller's buffers may go right after submit. */
struct pool_job *orm_pool_job_new(const struct orm_statement *statements, size_t count,
                                  orm_result_cb callback, void *context);
/* Runs the callback exactly once and frees the job. Never called with the mutex held. */
void orm_pool_job_finish(struct orm_pool *pool, struct pool_job *job, struct orm_outcome *outcome);
void orm_pool_job_fail(struct orm_pool *pool, struct pool_job *job, enum orm_status status,
                       const char *message);
/* Fills outcome (ORM_E_QUERY) from an error result: SQLSTATE, constraint, column, the primary
 * message on one line. */
void orm_pool_outcome_from_error(struct orm_outcome *outcome, const PGresult *result);
/* Frees a job without running its callback (an abandoned copy). */
void orm_pool_job_free(struct pool_job *job);
/* A copy of the job, callback and deadline included, for sending it again elsewhere. */
struct pool_job *orm_pool_job_clone(const struct pool_job *job);
/* Puts a job that was taken off the wait queue back in it, in deadline order (so before the
 * jobs submitted after it): it runs next, or fails at its own acquire deadline. */
void orm_pool_requeue(struct orm_pool *pool, struct pool_job *job);
/* Appends a job to a wait queue (the caller counts it in pool->queued). */
void orm_pool_queue_push(struct pool_queue *queue, struct pool_job *job);
/* Takes the oldest job off a wait queue (NULL: empty) and uncounts it from pool->queued. */
struct pool_job *orm_pool_queue_pop(struct orm_pool *pool, struct pool_queue *queue);

/* orm/pool.c: queues a job made by orm_pool_job_new (fails it at once when the pool is closing
 * or the queue is full); wakes the loop from any thread. */
void orm_pool_enqueue(struct orm_pool *pool, struct pool_job *job, int timeout_ms);
void orm_pool_wake(struct orm_pool *pool);

/* orm/pool_stream.c — a streamed job's steps on its connection (loop thread). Each says what
 * the connection does next: go on, end the job (orm_pool_stream_outcome says how it went; the
 * connection is back out of COPY and transaction, to be put in pipeline mode again), or reset
 * the connection (close it and connect again at once; the job fails with
 * orm_pool_stream_cut_reason). */
enum pool_stream_step { POOL_STREAM_CONTINUE, POOL_STREAM_DONE, POOL_STREAM_RESET };
enum pool_stream_step orm_pool_stream_begin(struct pool_conn *conn, struct pool_job *job);
enum pool_stream_step orm_pool_stream_event(struct pool_conn *conn, struct pool_job *job,
                                            uint32_t events);
/* Each loop round: resumes reading once the consumer made room, enforces the stall timeout,
 * resets when the consumer went away; *next is when it must look again. */
enum pool_stream_step orm_pool_stream_police(struct pool_conn *conn, struct pool_job *job,
                                             long long now, long long *next);
void orm_pool_stream_outcome(const struct pool_job *job, struct orm_outcome *outcome);
const char *orm_pool_stream_cut_reason(const struct pool_job *job);

/* orm/pool_session.c — on the loop thread. */

/* The session's first step is about to be sent on conn, which it holds from now on. */
void orm_pool_session_bind(struct pool_session *session, struct pool_conn *conn);
/* Sends the next step of every session whose connection is idle and whose step is ready. */
void orm_pool_sessions_resume(struct orm_pool *pool, long long now);
/* conn went down: a session holding it between two steps ends with status and message (one
 * with a step in flight ends through that step's failure). */
void orm_pool_session_lost(struct pool_conn *conn, enum orm_status status, const char *message);

/* orm/pool_conn.c — all run on the loop thread. */

/* Registers the connection's socket for events (0: hang-ups only); -1 when epoll refuses. */
int orm_pool_conn_watch(struct pool_conn *conn, uint32_t events);

/* Begins a non-blocking connect; on failure the connection is down with a retry scheduled. */
void orm_pool_conn_start(struct pool_conn *conn);
/* Handles epoll events on the connection's socket. */
void orm_pool_conn_event(struct pool_conn *conn, uint32_t events);
/* Sends the job on an up connection with fewer than POOL_PIPELINE_DEPTH jobs in flight; the
 * last job of a round on the connection leaves with orm_pool_conn_end_round. */
void orm_pool_conn_run(struct pool_conn *conn, struct pool_job *job, long long now);
/* Ends the round's sending on the connection: what orm_pool_conn_run held back goes out. */
void orm_pool_conn_end_round(struct pool_conn *conn);
/* True when a job may be pipelined behind what the busy connection is running: every job in
 * flight is known to be quick, and the oldest has been running for less than POOL_STALL_MS and
 * was not cancelled. */
bool orm_pool_conn_is_flowing(const struct pool_conn *conn, long long now);
/* Enforces the deadlines of the jobs in flight on a busy connection: reads behind a stalled
 * job go back to the queue, a job that holds up a write past its acquire deadline or runs past
 * the statement timeout is cancelled, and a cancel that does not take is followed by dropping
 * the connection. Returns when it next needs to look (LLONG_MAX: not before an event). */
long long orm_pool_conn_police(struct pool_conn *conn, long long now);
/* Waits up to timeout_ms for the cancel threads still running in the process to end. */
void orm_pool_conn_wait_cancels(int timeout_ms);
/* Fails the jobs in flight with status and message, closes the connection and schedules a
 * reconnect with back-off. */
void orm_pool_conn_down(struct pool_conn *conn, enum orm_status status, const char *message);
/* At shutdown: fails what is still in flight, closes, frees the connection's memory. */
void orm_pool_conn_close(struct pool_conn *conn);

static inline bool orm_pool_conn_is_up(const struct pool_conn *conn)
{
    return conn->state == POOL_CONN_IDLE || conn->state == POOL_CONN_BUSY;
}

#endif
