/*
 * orm/pool_internal.h — private to orm/pool*.c: the pool's jobs, connections and shared state.
 * orm/pool.c owns the event loop, the wait queue and the public API; orm/pool_conn.c drives
 * one libpq connection (connect, send a job pipelined, read its results). Everything here
 * except the fields marked otherwise is touched by the loop thread only.
 */
#ifndef RESTABLE_ORM_POOL_INTERNAL_H
#define RESTABLE_ORM_POOL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "orm/orm.h"

/* Jobs in flight on one connection at once. Idle connections are always used first; only
 * when every connection is busy does a job queue behind another on the same connection, which
 * removes the round-trip gap between two queries (results come back in order, each job ends
 * with its own Sync, so an error in one job never touches the next). */
#define POOL_PIPELINE_DEPTH 4
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
    long long deadline_ms; /* CLOCK_MONOTONIC: fails with ORM_E_TIMEOUT if still waiting */
    bool needs_idle;       /* a probe: runs only on a connection with nothing in flight */
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
};

enum pool_conn_state { POOL_CONN_DOWN, POOL_CONN_CONNECTING, POOL_CONN_IDLE, POOL_CONN_BUSY };

/* One job sent on a connection and not yet answered in full. */
struct pool_inflight {
    struct pool_job *job;
    struct pool_item *items;
    size_t item_count, item_index, item_capacity;
    struct orm_outcome outcome; /* result: the last statement's, owned until the callback */
    bool has_error;
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

    struct pool_cache_entry cache[POOL_CACHE_SLOTS];
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
    bool is_driving;    /* loop thread */
    atomic_int incoming; /* jobs on incoming_head..tail */

    /* read by any thread */
    atomic_int queued; /* incoming + waiting */
    atomic_int connected;
    atomic_int busy;
    atomic_ullong completed, failed, reconnects;
};

long long orm_pool_now_ms(void);

/* Runs the callback exactly once and frees the job. Never called with the mutex held. */
void orm_pool_job_finish(struct orm_pool *pool, struct pool_job *job, struct orm_outcome *outcome);
void orm_pool_job_fail(struct orm_pool *pool, struct pool_job *job, enum orm_status status,
                       const char *message);

/* orm/pool_conn.c — all run on the loop thread. */

/* Begins a non-blocking connect; on failure the connection is down with a retry scheduled. */
void orm_pool_conn_start(struct pool_conn *conn);
/* Handles epoll events on the connection's socket. */
void orm_pool_conn_event(struct pool_conn *conn, uint32_t events);
/* Sends the job on an up connection with fewer than POOL_PIPELINE_DEPTH jobs in flight. */
void orm_pool_conn_run(struct pool_conn *conn, struct pool_job *job);
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
