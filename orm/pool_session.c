/*
 * orm/pool_session.c — sessions: one transaction held on one connection across several steps,
 * each built on the loop thread from the previous step's result (a batch of writes where one
 * uses the id another created). The first step (BEGIN and the caller's statements) waits in
 * the queue like any job and goes to an idle connection, which the session then holds: the
 * loop sends nothing else on it (orm/pool.c, dispatch) until a COMMIT or ROLLBACK step has
 * been answered. Each step is an ordinary job on that connection, so the statement timeout,
 * cancels and a lost connection apply to it as to any job; a step that fails is followed by a
 * ROLLBACK, and a COMMIT or ROLLBACK that fails leaves the connection in an unknown state, so it
 * is dropped. Behind a transaction pooler (PgBouncer) the open transaction is what keeps the
 * same server connection under the session from its first step to its last. No thread ever waits:
 * the next step is queued on the session, and the loop sends it in the same round
 * (orm_pool_sessions_resume).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/pool_job.h"

struct pool_session {
    struct pool_conn *conn; /* held from the first step on; NULL before */
    orm_session_step_cb step;
    orm_result_cb done;
    void *context;
    bool is_ending;             /* the COMMIT or ROLLBACK is the step in flight or ready */
    bool is_sent;               /* a step is queued or on the connection: its end ends us */
    struct pool_job *next_job;  /* the step to send next, when the connection is idle */
    bool has_failure;           /* a step failed: failure is what done hears, after ROLLBACK */
    struct orm_outcome failure; /* its result is always NULL */
};

static void step_done(void *context, struct orm_outcome *outcome);

static struct pool_job *step_job(struct pool_session *session,
                                 const struct orm_statement *statements, size_t count)
{
    struct pool_job *job = orm_pool_job_new(statements, count, step_done, session);
    job->session = session;
    return job;
}

static void queue_end(struct pool_session *session, const char *sql)
{
    struct orm_statement statement = {sql, NULL, 0};
    session->is_ending = true;
    session->next_job = step_job(session, &statement, 1);
}

/* Lets go of the connection and reports: the failure if a step failed, else outcome. */
static void finish(struct pool_session *session, struct orm_outcome *outcome)
{
    if (session->conn && session->conn->session == session)
        session->conn->session = NULL;
    if (session->next_job)
        orm_pool_job_free(session->next_job);
    if (session->has_failure) {
        if (outcome->result)
            PQclear(outcome->result);
        *outcome = session->failure;
    }
    session->done(session->context, outcome);
    if (outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    free(session);
}

static void fail(struct pool_session *session, const struct orm_outcome *outcome)
{
    session->has_failure = true;
    session->failure = *outcome;
    session->failure.result = NULL;
    queue_end(session, "ROLLBACK");
}

/* Every step's callback (orm_pool_job_finish frees the job and a result left in outcome). */
static void step_done(void *context, struct orm_outcome *outcome)
{
    struct pool_session *session = context;
    session->is_sent = false;
    struct pool_conn *conn = session->conn;
    bool is_held = conn && conn->session == session && orm_pool_conn_is_up(conn);
    if (!is_held) { /* never started (acquire timeout, queue full, closing) or connection lost */
        finish(session, outcome);
        return;
    }
    if (session->is_ending) {
        if (outcome->status != ORM_OK) {
            /* a COMMIT or ROLLBACK that failed: the transaction's state is unknown */
            conn->session = NULL;
            orm_pool_conn_down(conn, ORM_E_UNAVAILABLE, "the database connection was dropped");
        }
        finish(session, outcome);
        return;
    }
    if (outcome->status != ORM_OK) {
        fail(session, outcome);
        return;
    }
    struct orm_session_next next = {0};
    enum orm_session_action action = session->step(session->context, outcome, &next);
    if (action == ORM_SESSION_NEXT && next.statement_count > 0)
        session->next_job = step_job(session, next.statements, next.statement_count);
    else if (action == ORM_SESSION_NEXT)
        fail(session, &(struct orm_outcome){.status = ORM_E_QUERY,
                                            .sqlstate = "XX000",
                                            .message = "a session step sent no statement"});
    else
        queue_end(session, action == ORM_SESSION_COMMIT ? "COMMIT" : "ROLLBACK");
}

void orm_pool_submit_session(struct orm_pool *pool, const struct orm_statement *statements,
                             size_t statement_count, orm_session_step_cb step, orm_result_cb done,
                             void *context)
{
    struct pool_session *session = xcalloc(1, sizeof *session);
    *session =
        (struct pool_session){.step = step, .done = done, .context = context, .is_sent = true};
    /* behind a transaction pooler, the session settings hold for the whole transaction */
    struct orm_statement *first = xcalloc(statement_count + 2, sizeof *first);
    size_t count = 0;
    first[count++] = (struct orm_statement){"BEGIN", NULL, 0};
    if (pool->transaction_settings_sql)
        first[count++] = (struct orm_statement){pool->transaction_settings_sql, NULL, 0};
    if (statement_count > 0)
        memcpy(first + count, statements, statement_count * sizeof *statements);
    struct pool_job *job = step_job(session, first, count + statement_count);
    free(first);
    orm_pool_enqueue(pool, job, pool->acquire_timeout_ms);
}

void orm_pool_session_bind(struct pool_session *session, struct pool_conn *conn)
{
    session->conn = conn;
    conn->session = session;
}

void orm_pool_sessions_resume(struct orm_pool *pool, long long now)
{
    for (int i = 0; i < pool->size; i++) {
        struct pool_conn *conn = &pool->conns[i];
        struct pool_session *session = conn->session;
        if (!session || !session->next_job || conn->in_flight > 0 || !orm_pool_conn_is_up(conn))
            continue;
        struct pool_job *job = session->next_job;
        session->next_job = NULL;
        session->is_sent = true;
        orm_pool_conn_run(conn, job, now);
    }
}

void orm_pool_session_lost(struct pool_conn *conn, enum orm_status status, const char *message)
{
    struct pool_session *session = conn->session;
    conn->session = NULL;
    if (session->is_sent)
        return; /* its step's failure ends it */
    struct orm_outcome outcome = {.status = status};
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    finish(session, &outcome);
}
