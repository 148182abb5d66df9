/*
 * orm/pool_stream.c — a COPY ... TO STDOUT streamed to a consumer in constant memory. The job
 * runs alone on an idle connection (like a probe, nothing is pipelined behind it), out of
 * pipeline mode (libpq runs no COPY in a pipeline): BEGIN READ ONLY, the caller's prelude
 * (claims, settings), the COPY, COMMIT, each sent when the one before has answered; then the
 * connection goes back to pipeline mode and to the pool. Rows read with PQgetCopyData(async)
 * go into a bounded ring buffer (each row's LF end becomes CRLF); when it is full the loop stops
 * reading the socket, so PostgreSQL's sends block (backpressure), until the consumer has taken
 * half of it. The consumer (another thread, or the loop itself) reads under the stream's lock
 * and, when the buffer is empty, waits to be told (orm_stream_read's suspend, the ready
 * callback). A consumer that takes nothing for stall_timeout_ms while the buffer is full, or
 * that goes away, gets the connection reset: closed and opened again at once.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "orm/pool_job.h"

#define STREAM_DEFAULT_BUFFER (256 * 1024)

struct orm_stream {
    pthread_mutex_t lock;
    int references; /* the job and the consumer */
    /* under lock */
    char *ring;
    size_t capacity, head, length;
    bool is_done, is_cut, is_waiting, is_released, is_paused, is_wake_sent;
    long long taken_ms; /* when the consumer last took something */
    /* loop thread only */
    struct orm_pool *pool;
    orm_stream_started_cb started;
    orm_stream_ready_cb ready;
    void *context;
    int stall_timeout_ms;
    bool is_started, is_in_copy, has_error, is_rolling_back;
    size_t statement; /* the one running */
    size_t rows;      /* CopyData messages read, the header first */
    char *pending;    /* a row not yet (all) in the ring: libpq's buffer */
    size_t pending_length, pending_offset;
    long long paused_ms;
    struct orm_outcome outcome;
};

static void stream_unref(struct orm_stream *stream)
{
    pthread_mutex_lock(&stream->lock);
    bool is_last = --stream->references == 0;
    pthread_mutex_unlock(&stream->lock);
    if (!is_last)
        return;
    if (stream->pending)
        PQfreemem(stream->pending);
    pthread_mutex_destroy(&stream->lock);
    free(stream->ring);
    free(stream);
}

static void report_started(struct orm_stream *stream, struct orm_outcome *outcome)
{
    if (stream->is_started)
        return;
    stream->is_started = true;
    stream->started(stream->context, stream, outcome);
}

/* The consumer waiting on an empty buffer is told once something changed (under lock). */
static bool take_waiter(struct orm_stream *stream)
{
    bool is_waiting = stream->is_waiting && !stream->is_released;
    stream->is_waiting = false;
    return is_waiting;
}

/* The job's one callback: the copy ended (outcome) or the connection failed under it. */
static void stream_job_done(void *context, struct orm_outcome *outcome)
{
    struct orm_stream *stream = context;
    bool was_started = stream->is_started;
    if (outcome->status == ORM_OK && outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    report_started(stream, outcome);
    pthread_mutex_lock(&stream->lock);
    stream->is_done = true;
    stream->is_cut = outcome->status != ORM_OK;
    if (!was_started && stream->is_cut)
        stream->length = 0; /* the consumer answered the error: nothing of this goes out */
    bool is_waiting = take_waiter(stream);
    pthread_mutex_unlock(&stream->lock);
    if (is_waiting)
        stream->ready(stream->context);
    stream_unref(stream);
}

void orm_pool_stream(struct orm_pool *pool, const struct orm_statement *prelude,
                     size_t prelude_count, const char *copy_sql,
                     const struct orm_stream_options *options, orm_stream_started_cb started,
                     orm_stream_ready_cb ready, void *context)
{
    struct orm_stream *stream = xcalloc(1, sizeof *stream);
    pthread_mutex_init(&stream->lock, NULL);
    stream->references = 2;
    stream->capacity = options->buffer_bytes ? options->buffer_bytes : STREAM_DEFAULT_BUFFER;
    stream->ring = xmalloc(stream->capacity);
    stream->pool = pool;
    stream->started = started;
    stream->ready = ready;
    stream->context = context;
    stream->stall_timeout_ms = options->stall_timeout_ms;
    stream->taken_ms = orm_pool_now_ms();

    /* behind a transaction pooler the session settings come first in the transaction, as for
     * every job (orm/pool.c); the prelude's own settings come after them and win */
    size_t first = pool->transaction_settings_sql ? 2 : 1;
    size_t count = first + prelude_count + 2;
    struct orm_statement *statements = xcalloc(count, sizeof *statements);
    statements[0] = (struct orm_statement){"BEGIN READ ONLY", NULL, 0};
    if (pool->transaction_settings_sql)
        statements[1] = (struct orm_statement){pool->transaction_settings_sql, NULL, 0};
    for (size_t i = 0; i < prelude_count; i++)
        statements[first + i] = prelude[i];
    statements[count - 2] = (struct orm_statement){copy_sql, NULL, 0};
    statements[count - 1] = (struct orm_statement){"COMMIT", NULL, 0};
    struct pool_job *job = orm_pool_job_new(statements, count, stream_job_done, stream);
    free(statements);
    job->stream = stream;
    job->needs_idle = true;
    orm_pool_enqueue(pool, job, pool->acquire_timeout_ms);
}

/* ---- the consumer ---------------------------------------------------------------------------- */

enum orm_stream_state orm_stream_read(struct orm_stream *stream, char *out, size_t size,
                                      size_t *length, void (*suspend)(void *argument),
                                      void *argument)
{
    *length = 0;
    pthread_mutex_lock(&stream->lock);
    if (stream->length == 0 || stream->is_cut) {
        enum orm_stream_state state = ORM_STREAM_WAIT;
        if (stream->is_done)
            state = stream->is_cut ? ORM_STREAM_CUT : ORM_STREAM_END;
        else {
            stream->is_waiting = true;
            suspend(argument); /* under the lock: the ready callback comes after it */
        }
        pthread_mutex_unlock(&stream->lock);
        return state;
    }
    while (*length < size && stream->length > 0) {
        size_t run = stream->capacity - stream->head;
        if (run > stream->length)
            run = stream->length;
        if (run > size - *length)
            run = size - *length;
        memcpy(out + *length, stream->ring + stream->head, run);
        *length += run;
        stream->head = (stream->head + run) % stream->capacity;
        stream->length -= run;
    }
    stream->taken_ms = orm_pool_now_ms();
    bool wake =
        stream->is_paused && !stream->is_wake_sent && stream->length <= stream->capacity / 2;
    if (wake)
        stream->is_wake_sent = true;
    pthread_mutex_unlock(&stream->lock);
    if (wake)
        orm_pool_wake(stream->pool);
    return ORM_STREAM_DATA;
}

void orm_stream_release(struct orm_stream *stream)
{
    if (!stream)
        return;
    pthread_mutex_lock(&stream->lock);
    stream->is_released = true;
    bool is_done = stream->is_done;
    pthread_mutex_unlock(&stream->lock);
    if (!is_done)
        orm_pool_wake(stream->pool); /* the loop resets the connection at once */
    stream_unref(stream);
}

/* ---- the loop side ------------------------------------------------------------------------- */

/* The pending row's length as sent: its final LF is written CRLF. */
static size_t pending_total(const struct orm_stream *stream)
{
    return stream->pending_length + 1;
}

/* Moves what fits of the pending row into the ring; true when all of it went. */
static bool push_pending(struct orm_stream *stream)
{
    pthread_mutex_lock(&stream->lock);
    size_t total = pending_total(stream);
    size_t body = stream->pending_length - 1; /* without its LF */
    while (stream->pending_offset < total && stream->length < stream->capacity) {
        size_t tail = (stream->head + stream->length) % stream->capacity;
        size_t room = tail >= stream->head ? stream->capacity - tail : stream->head - tail;
        size_t offset = stream->pending_offset;
        size_t run;
        if (offset < body) {
            run = body - offset < room ? body - offset : room;
            memcpy(stream->ring + tail, stream->pending + offset, run);
        } else {
            stream->ring[tail] = offset == body ? '\r' : '\n';
            run = 1;
        }
        stream->length += run;
        stream->pending_offset += run;
    }
    bool is_all = stream->pending_offset >= total;
    if (!is_all) { /* in the same lock as the full ring: a consumer that empties it wakes us */
        stream->is_paused = true;
        stream->is_wake_sent = false;
    }
    pthread_mutex_unlock(&stream->lock);
    if (is_all) {
        PQfreemem(stream->pending);
        stream->pending = NULL;
    }
    return is_all;
}

static void capture_error(struct orm_stream *stream, const PGresult *result)
{
    if (stream->has_error)
        return;
    stream->has_error = true;
    orm_pool_outcome_from_error(&stream->outcome, result);
}

static void cut(struct orm_stream *stream, const char *message)
{
    stream->has_error = true;
    stream->outcome.status = ORM_E_UNAVAILABLE;
    snprintf(stream->outcome.message, sizeof stream->outcome.message, "%s", message);
}

static enum pool_stream_step send_statement(struct pool_conn *conn, struct orm_stream *stream,
                                            const struct pool_statement *statement)
{
    (void)stream;
    if (!PQsendQueryParams(conn->pg, statement->sql, statement->param_count, NULL,
                           (const char *const *)statement->params, NULL, NULL, 0))
        return POOL_STREAM_RESET;
    int pending = PQflush(conn->pg);
    if (pending < 0 || orm_pool_conn_watch(conn, pending ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
        return POOL_STREAM_RESET;
    return POOL_STREAM_CONTINUE;
}

static const struct pool_statement rollback = {"ROLLBACK", NULL, 0};

/* A statement answered in full: the next one, ROLLBACK after an error, or the end. */
static enum pool_stream_step next_statement(struct pool_conn *conn, struct pool_job *job)
{
    struct orm_stream *stream = job->stream;
    if (stream->is_rolling_back || ++stream->statement == job->statement_count)
        return POOL_STREAM_DONE;
    if (stream->has_error) {
        stream->is_rolling_back = true;
        return send_statement(conn, stream, &rollback);
    }
    return send_statement(conn, stream, &job->statements[stream->statement]);
}

static void pause_reading(struct pool_conn *conn, struct orm_stream *stream)
{
    stream->paused_ms = orm_pool_now_ms();
    (void)orm_pool_conn_watch(conn, 0); /* a hang-up is still reported */
}

/* Reads what libpq has: rows into the ring while there is room, results, next statements. */
static enum pool_stream_step pump_rows(struct pool_conn *conn, struct pool_job *job)
{
    struct orm_stream *stream = job->stream;
    for (;;) {
        if (stream->pending && !push_pending(stream)) {
            pause_reading(conn, stream);
            return POOL_STREAM_CONTINUE;
        }
        if (stream->is_in_copy) {
            char *row = NULL;
            int length = PQgetCopyData(conn->pg, &row, 1);
            if (length > 0) {
                stream->pending = row;
                stream->pending_length = (size_t)length;
                stream->pending_offset = 0;
                if (++stream->rows == 2) /* the header, then a row: errors are past */
                    report_started(stream, &(struct orm_outcome){.status = ORM_OK});
                continue;
            }
            if (length == 0)
                return POOL_STREAM_CONTINUE;
            stream->is_in_copy = false;
            if (length == -2)
                return POOL_STREAM_RESET;
            continue;
        }
        if (PQisBusy(conn->pg))
            return POOL_STREAM_CONTINUE;
        PGresult *result = PQgetResult(conn->pg);
        if (!result) {
            enum pool_stream_step step = next_statement(conn, job);
            if (step != POOL_STREAM_CONTINUE)
                return step;
            continue;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_COPY_OUT)
            stream->is_in_copy = true;
        else if (status == PGRES_FATAL_ERROR)
            capture_error(stream, result);
        PQclear(result);
    }
}

/* pump_rows, then a consumer waiting for rows is told once, not at every row: a resumed
 * connection costs a round of libmicrohttpd's loop. */
static enum pool_stream_step pump(struct pool_conn *conn, struct pool_job *job)
{
    struct orm_stream *stream = job->stream;
    enum pool_stream_step step = pump_rows(conn, job);
    pthread_mutex_lock(&stream->lock);
    bool is_waiting = stream->length > 0 && take_waiter(stream);
    pthread_mutex_unlock(&stream->lock);
    if (is_waiting)
        stream->ready(stream->context);
    return step;
}

enum pool_stream_step orm_pool_stream_begin(struct pool_conn *conn, struct pool_job *job)
{
    if (PQexitPipelineMode(conn->pg) != 1)
        return POOL_STREAM_RESET;
    return send_statement(conn, job->stream, &job->statements[0]);
}

enum pool_stream_step orm_pool_stream_event(struct pool_conn *conn, struct pool_job *job,
                                            uint32_t events)
{
    struct orm_stream *stream = job->stream;
    if (events & EPOLLOUT) {
        int pending = PQflush(conn->pg);
        if (pending < 0 || orm_pool_conn_watch(conn, pending ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
            return POOL_STREAM_RESET;
    }
    if (stream->pending) { /* paused: only a hang-up matters */
        if (events & (EPOLLHUP | EPOLLERR))
            return POOL_STREAM_RESET;
        return POOL_STREAM_CONTINUE;
    }
    if (!PQconsumeInput(conn->pg))
        return POOL_STREAM_RESET;
    return pump(conn, job);
}

enum pool_stream_step orm_pool_stream_police(struct pool_conn *conn, struct pool_job *job,
                                             long long now, long long *next)
{
    struct orm_stream *stream = job->stream;
    *next = LLONG_MAX;
    pthread_mutex_lock(&stream->lock);
    bool is_released = stream->is_released;
    bool has_room = stream->length <= stream->capacity / 2;
    long long taken_ms = stream->taken_ms;
    pthread_mutex_unlock(&stream->lock);
    if (is_released) {
        cut(stream, "the client went away");
        return POOL_STREAM_RESET;
    }
    if (!stream->pending)
        return POOL_STREAM_CONTINUE;
    if (has_room) {
        pthread_mutex_lock(&stream->lock);
        stream->is_paused = false;
        pthread_mutex_unlock(&stream->lock);
        if (orm_pool_conn_watch(conn, EPOLLIN) < 0)
            return POOL_STREAM_RESET;
        return pump(conn, job);
    }
    long long since = taken_ms > stream->paused_ms ? taken_ms : stream->paused_ms;
    if (stream->stall_timeout_ms > 0) {
        long long stall_at = since + stream->stall_timeout_ms;
        if (now >= stall_at) {
            cut(stream, "the client took nothing within the export stall timeout");
            return POOL_STREAM_RESET;
        }
        *next = stall_at;
    }
    return POOL_STREAM_CONTINUE;
}

void orm_pool_stream_outcome(const struct pool_job *job, struct orm_outcome *outcome)
{
    const struct orm_stream *stream = job->stream;
    *outcome = stream->has_error ? stream->outcome : (struct orm_outcome){.status = ORM_OK};
}

const char *orm_pool_stream_cut_reason(const struct pool_job *job)
{
    const struct orm_stream *stream = job->stream;
    return stream->has_error && stream->outcome.message[0] ? stream->outcome.message
                                                           : "the database connection was lost";
}
