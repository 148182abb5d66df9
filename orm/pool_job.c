/*
 * orm/pool_job.c — the pool's jobs and wait queues, shared by the loop (orm/pool.c) and the
 * connections (orm/pool_conn.c): a job's own copy of its statements, its one callback, its
 * clone for sending a read again elsewhere, the deadline-ordered queues it waits on, and an
 * error result turned into its outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orm/pool_job.h"

long long orm_pool_now_ms(void)
{
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        abort(); /* cannot fail for CLOCK_MONOTONIC on Linux */
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

/* One job owns a copy of the statements, so the caller's buffers may go right after submit.
 * Allocation failure aborts, as everywhere (the x* policy of base/base.h). */
struct pool_job *orm_pool_job_new(const struct orm_statement *statements, size_t count,
                                  orm_result_cb callback, void *context)
{
    struct pool_job *job = xcalloc(1, sizeof *job);
    job->callback = callback;
    job->context = context;
    job->statement_count = count;
    job->statements = xcalloc(count ? count : 1, sizeof *job->statements);
    for (size_t s = 0; s < count; s++) {
        struct pool_statement *copy = &job->statements[s];
        copy->sql = xstrdup(statements[s].sql);
        copy->param_count = statements[s].param_count > 0 ? statements[s].param_count : 0;
        copy->params = xcalloc((size_t)copy->param_count + 1, sizeof *copy->params);
        for (int p = 0; p < copy->param_count; p++)
            copy->params[p] = xstrdup_or_null(statements[s].params[p]);
    }
    return job;
}

void orm_pool_job_free(struct pool_job *job)
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

struct pool_job *orm_pool_job_clone(const struct pool_job *job)
{
    struct orm_statement *statements = xcalloc(job->statement_count, sizeof *statements);
    for (size_t s = 0; s < job->statement_count; s++)
        statements[s] = (struct orm_statement){job->statements[s].sql,
                                               (const char *const *)job->statements[s].params,
                                               job->statements[s].param_count};
    struct pool_job *clone =
        orm_pool_job_new(statements, job->statement_count, job->callback, job->context);
    free(statements);
    clone->deadline_ms = job->deadline_ms;
    clone->needs_idle = job->needs_idle;
    clone->is_read = job->is_read;
    return clone;
}

void orm_pool_job_finish(struct orm_pool *pool, struct pool_job *job, struct orm_outcome *outcome)
{
    if (outcome->status == ORM_OK)
        atomic_fetch_add(&pool->completed, 1);
    else
        atomic_fetch_add(&pool->failed, 1);
    job->callback(job->context, outcome);
    /* the callback owns the result; it sets it to NULL if it kept it (run_sync does) */
    if (outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    orm_pool_job_free(job);
}

void orm_pool_job_fail(struct orm_pool *pool, struct pool_job *job, enum orm_status status,
                       const char *message)
{
    struct orm_outcome outcome = {.status = status};
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    orm_pool_job_finish(pool, job, &outcome);
}

/* ---- the wait queue (loop thread) ---------------------------------------------------------- */

void orm_pool_queue_push(struct pool_queue *queue, struct pool_job *job)
{
    job->next = NULL;
    if (queue->tail)
        queue->tail->next = job;
    else
        queue->head = job;
    queue->tail = job;
}

struct pool_job *orm_pool_queue_pop(struct orm_pool *pool, struct pool_queue *queue)
{
    struct pool_job *job = queue->head;
    if (!job)
        return NULL;
    queue->head = job->next;
    if (!queue->head)
        queue->tail = NULL;
    job->next = NULL;
    atomic_fetch_sub(&pool->queued, 1);
    return job;
}

void orm_pool_requeue(struct orm_pool *pool, struct pool_job *job)
{
    struct pool_queue *queue = job->needs_idle ? &pool->probes : &pool->waiting;
    atomic_fetch_add(&pool->queued, 1);
    if (!queue->head || queue->head->deadline_ms > job->deadline_ms) {
        job->next = queue->head;
        queue->head = job;
        if (!queue->tail)
            queue->tail = job;
        return;
    }
    struct pool_job *before = queue->head;
    while (before->next && before->next->deadline_ms <= job->deadline_ms)
        before = before->next;
    job->next = before->next;
    before->next = job;
    if (!job->next)
        queue->tail = job;
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

void orm_pool_outcome_from_error(struct orm_outcome *outcome, const PGresult *result)
{
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
