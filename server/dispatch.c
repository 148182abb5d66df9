/*
 * server/dispatch.c — hands a built query to the pool without blocking the worker thread:
 * suspend the connection, submit, and resume it from the pool thread once the callback has
 * left a response (srv_request_resume, also used by the login's hashing thread). Adds the
 * row-level-security prelude (request.jwt.claims) for requests made with a token; it is
 * pipelined with the query, so it costs no extra round trip. Closes the pool at shutdown so
 * that no query is submitted to it afterwards.
 */
#include <string.h>

#include "server/app.h"

static const char claims_sql[] = "SELECT set_config('request.jwt.claims', $1::text, true)";

/* Here rather than in http.c: what suspends a connection (run_query, below) also resumes it,
 * and the query and login paths that call it then stand on this file alone, not on the HTTP
 * layer that calls into them. */
void srv_request_resume(struct srv_request *request)
{
    struct srv_app *app = request->app;
    MHD_resume_connection(request->connection);
    /* read nothing of request past this point: MHD may already be answering and freeing it */
    if (app->is_shared_loop)
        atomic_store(&app->has_resumed, true);
}

static void query_finished(void *context, struct orm_outcome *outcome)
{
    struct srv_request *request = context;
    request->is_chained = false;
    request->hand_off = NULL;
    request->query_done(request, outcome);
    if (outcome->result) {
        /* the done callback did not take the result */
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    void (*hand_off)(void *) = request->hand_off;
    if (hand_off) {
        hand_off(request->hand_off_argument); /* the last touch of the request here */
        return;
    }
    if (!request->is_chained)
        srv_request_resume(request);
}

/* GET and HEAD only read (SPEC §3), so the pool may send their query again on another
 * connection when the first one stalls; anything else might write and runs once. */
static bool is_read(const struct srv_request *request)
{
    return strcmp(request->method, MHD_HTTP_METHOD_GET) == 0 ||
           strcmp(request->method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* probe_timeout_ms > 0: a health probe (orm_pool_submit_probe) */
static void run_query(struct srv_request *request, const struct orm_sql *sql, int probe_timeout_ms,
                      srv_query_done done)
{
    struct srv_app *app = request->app;
    pthread_rwlock_rdlock(&app->pool_lock);
    if (app->is_pool_closed) {
        pthread_rwlock_unlock(&app->pool_lock);
        /* Past the shutdown grace period. From a query callback (a chained query) is_chained
         * stays false, so query_finished resumes the connection with this answer. */
        srv_respond_error(request, 503, NULL, "the server is shutting down, try another one");
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    }
    if (!request->did_suspend) {
        /* Only ever on the worker thread, inside the access handler, before the submit: the
         * callback may resume the connection as soon as the submit is made. */
        request->did_suspend = true;
        MHD_suspend_connection(request->connection);
    } else {
        request->is_chained = true;
    }
    request->query_done = done;
    /* the statement text only: values are parameters and never logged */
    if (srv_log_enabled("debug"))
        srv_log("debug", "request %s: %s", request->request_id, sb_text(&sql->text));

    struct orm_statement statements[2];
    size_t count = 0;
    const char *claims_params[1];
    if (request->principal.is_authenticated && request->principal.claims_json) {
        claims_params[0] = request->principal.claims_json;
        statements[count++] = (struct orm_statement){claims_sql, claims_params, 1};
    }
    statements[count++] = (struct orm_statement){
        sb_text(&sql->text), (const char *const *)sql->params, (int)sql->param_count};
    if (probe_timeout_ms > 0)
        orm_pool_submit_probe(app->pool, statements, count, probe_timeout_ms, query_finished,
                              request);
    else if (is_read(request))
        orm_pool_submit_read(app->pool, statements, count, query_finished, request);
    else
        orm_pool_submit(app->pool, statements, count, query_finished, request);
    pthread_rwlock_unlock(&app->pool_lock);
}

void srv_run_query(struct srv_request *request, const struct orm_sql *sql, srv_query_done done)
{
    run_query(request, sql, 0, done);
}

void srv_run_probe(struct srv_request *request, const struct orm_sql *sql, int timeout_ms,
                   srv_query_done done)
{
    run_query(request, sql, timeout_ms, done);
}

void srv_close_pool(struct srv_app *app)
{
    pthread_rwlock_wrlock(&app->pool_lock);
    app->is_pool_closed = true;
    pthread_rwlock_unlock(&app->pool_lock);
    /* fails the queries still waiting (503) and runs every callback before it returns */
    orm_pool_free(app->pool);
    app->pool = NULL;
}
