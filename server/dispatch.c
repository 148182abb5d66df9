/*
 * server/dispatch.c — hands a built query to the pool without blocking the worker thread:
 * suspend the connection, submit, and resume it from the pool thread once the callback has
 * left a response (srv_request_resume, also used by the login's hashing thread). Adds the
 * row-level-security prelude (request.jwt.claims) for requests made with a token; it is
 * pipelined with the query, so it costs no extra round trip. Sessions (srv_run_session) hold
 * one connection of the primary for a transaction of several steps (POST /batch/). Closes the
 * pool at shutdown so that no query is submitted to it afterwards.
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
    srv_http_loop_resumed(app);
}

static bool is_read(const struct srv_request *request);
static void fetch_commit_lsn(struct srv_request *request);
static bool is_replica_failure(const struct orm_outcome *outcome);
static bool retry_on_primary(struct srv_request *request);

static void query_finished(void *context, struct orm_outcome *outcome)
{
    struct srv_request *request = context;
    if (request->is_from_replica && is_replica_failure(outcome) && retry_on_primary(request)) {
        if (outcome->result) {
            PQclear(outcome->result);
            outcome->result = NULL;
        }
        return;
    }
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
    bool is_table_write =
        (request->route.table || request->route.kind == SRV_ROUTE_BATCH) && !is_read(request);
    if (!request->is_chained && request->app->replicas && is_table_write && request->status < 300)
        fetch_commit_lsn(request);
    if (!request->is_chained)
        srv_request_resume(request);
}

/* ---- replicas (SPEC §7) -------------------------------------------------------------------- */

static void commit_lsn_done(void *context, struct orm_outcome *outcome)
{
    struct srv_request *request = context;
    request->is_chained = false;
    if (outcome->status == ORM_OK && PQntuples(outcome->result) == 1)
        srv_add_header(request, "X-Restable-LSN", PQgetvalue(outcome->result, 0, 0));
    /* else the write stands and its answer goes out without the header: a read carrying no
     * position may then miss the write on a lagging replica, as any read without one may */
    if (outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    srv_request_resume(request);
}

/* A write's answer carries the WAL position its commit reached, read after the commit on the
 * primary: everything up to the current insert position includes the commit record, so a
 * replica that has replayed that far sees the write. With replicas only. */
static void fetch_commit_lsn(struct srv_request *request)
{
    static const struct orm_statement lsn = {"SELECT pg_current_wal_insert_lsn()::text", NULL, 0};
    struct srv_app *app = request->app;
    pthread_rwlock_rdlock(&app->pool_lock);
    if (!app->is_pool_closed) {
        request->is_chained = true;
        orm_pool_submit(app->pool, &lsn, 1, commit_lsn_done, request);
    }
    pthread_rwlock_unlock(&app->pool_lock);
}

/* A replica's read is kept (in the request's arena) until it is answered, so that a replica
 * failing under it sends it to the primary instead of failing the request. */
static void keep_for_primary(struct srv_request *request, const struct orm_statement *statements,
                             size_t count)
{
    struct orm_statement *kept = rs_arena_alloc(&request->arena, count * sizeof *kept);
    for (size_t i = 0; i < count; i++) {
        const char **params =
            rs_arena_alloc(&request->arena, (size_t)statements[i].param_count * sizeof *params + 1);
        for (int p = 0; p < statements[i].param_count; p++)
            params[p] = statements[i].params[p]
                            ? rs_arena_strdup(&request->arena, statements[i].params[p])
                            : NULL;
        kept[i] = (struct orm_statement){rs_arena_strdup(&request->arena, statements[i].sql),
                                         params, statements[i].param_count};
    }
    request->replica_statements = kept;
    request->replica_statement_count = count;
}

/* What a replica, not the query, is to blame for: no connection, a lost one, a server shutting
 * down or starting, or a query cancelled by a conflict with the WAL it replays. */
static bool is_replica_failure(const struct orm_outcome *outcome)
{
    switch (outcome->status) {
    case ORM_E_UNAVAILABLE:
    case ORM_E_TIMEOUT:
    case ORM_E_QUEUE_FULL:
        return true;
    case ORM_E_QUERY:
        return strncmp(outcome->sqlstate, "08", 2) == 0 ||
               strncmp(outcome->sqlstate, "57P", 3) == 0 ||
               strcmp(outcome->sqlstate, "40001") == 0 || outcome->sqlstate[0] == '\0';
    default:
        return false;
    }
}

static bool retry_on_primary(struct srv_request *request)
{
    struct srv_app *app = request->app;
    pthread_rwlock_rdlock(&app->pool_lock);
    bool is_open = !app->is_pool_closed;
    if (is_open) {
        request->is_from_replica = false;
        srv_metrics_replica_fallback(app);
        orm_pool_submit_read(app->pool, request->replica_statements,
                             request->replica_statement_count, query_finished, request);
    }
    pthread_rwlock_unlock(&app->pool_lock);
    return is_open;
}

/* The position a read asks for in X-Restable-LSN: 0 when it sends none, -1 after a 400. */
static int wanted_lsn(struct srv_request *request, uint64_t *out)
{
    *out = 0;
    const char *text =
        MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "X-Restable-LSN");
    if (!text)
        return 0;
    if (orm_lsn_parse(text, out) == 0)
        return 0;
    srv_respond_error(request, 400, "X-Restable-LSN",
                      "X-Restable-LSN must be a WAL position as a write's answer gave it "
                      "(like 0/16B3748)");
    return -1;
}

static struct orm_pool *pool_for(struct srv_request *request, int probe_timeout_ms)
{
    if (probe_timeout_ms > 0) {
        request->is_from_replica = false;
        return request->app->pool;
    }
    return srv_pool_for_request(request);
}

struct orm_pool *srv_pool_for_request(struct srv_request *request)
{
    struct srv_app *app = request->app;
    request->is_from_replica = false;
    if (!app->replicas || !request->route.table || !is_read(request))
        return app->pool;
    uint64_t lsn;
    if (wanted_lsn(request, &lsn) < 0)
        return NULL;
    struct orm_pool *replica = orm_replicas_pick(app->replicas, lsn);
    if (!replica)
        return app->pool;
    request->is_from_replica = true;
    return replica;
}

/* GET and HEAD only read (SPEC §3), so the pool may send their query again on another
 * connection when the first one stalls; anything else might write and runs once. */
static bool is_read(const struct srv_request *request)
{
    return strcmp(request->method, MHD_HTTP_METHOD_GET) == 0 ||
           strcmp(request->method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* Takes the pool lock for reading, picks the pool (pool_for) and suspends the connection (or
 * marks a chained query). NULL, unlocked and after a 503 or 400, when there is nothing to
 * submit to. */
static struct orm_pool *submit_begin(struct srv_request *request, const struct orm_sql *sql,
                                     int probe_timeout_ms, srv_query_done done)
{
    struct srv_app *app = request->app;
    pthread_rwlock_rdlock(&app->pool_lock);
    if (app->is_pool_closed) {
        pthread_rwlock_unlock(&app->pool_lock);
        /* Past the shutdown grace period. From a query callback (a chained query) is_chained
         * stays false, so query_finished resumes the connection with this answer. */
        srv_respond_error(request, 503, NULL, "the server is shutting down, try another one");
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return NULL;
    }
    /* like the 503 above: a 400 answered before anything is suspended or chained */
    struct orm_pool *pool = pool_for(request, probe_timeout_ms);
    if (!pool) {
        pthread_rwlock_unlock(&app->pool_lock);
        return NULL;
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
    return pool;
}

/* The RLS claims prelude when the request has a token, then sql: the count of statements. */
static size_t with_claims(const struct srv_request *request, const struct orm_sql *sql,
                          struct orm_statement statements[2], const char *claims_params[1])
{
    size_t count = 0;
    if (request->principal.is_authenticated && request->principal.claims_json) {
        claims_params[0] = request->principal.claims_json;
        statements[count++] = (struct orm_statement){claims_sql, claims_params, 1};
    }
    statements[count++] = (struct orm_statement){
        sb_text(&sql->text), (const char *const *)sql->params, (int)sql->param_count};
    return count;
}

/* probe_timeout_ms > 0: a health probe (orm_pool_submit_probe) */
static void run_query(struct srv_request *request, const struct orm_sql *sql, int probe_timeout_ms,
                      srv_query_done done)
{
    struct orm_pool *pool = submit_begin(request, sql, probe_timeout_ms, done);
    if (!pool)
        return;
    struct orm_statement statements[2];
    const char *claims_params[1];
    size_t count = with_claims(request, sql, statements, claims_params);
    if (request->is_from_replica)
        keep_for_primary(request, statements, count);
    if (probe_timeout_ms > 0)
        orm_pool_submit_probe(pool, statements, count, probe_timeout_ms, query_finished, request);
    else if (is_read(request))
        orm_pool_submit_read(pool, statements, count, query_finished, request);
    else
        orm_pool_submit(pool, statements, count, query_finished, request);
    pthread_rwlock_unlock(&request->app->pool_lock);
}

static enum orm_session_action session_step(void *context, struct orm_outcome *outcome,
                                            struct orm_session_next *next)
{
    struct srv_request *request = context;
    return request->session_step(request, outcome, next);
}

void srv_run_session(struct srv_request *request, const struct orm_sql *first,
                     srv_session_step step, srv_query_done done)
{
    struct orm_pool *pool = submit_begin(request, first, 0, done); /* a write: the primary */
    if (!pool)
        return;
    request->session_step = step;
    struct orm_statement statements[2];
    const char *claims_params[1];
    size_t count = with_claims(request, first, statements, claims_params);
    orm_pool_submit_session(pool, statements, count, session_step, query_finished, request);
    pthread_rwlock_unlock(&request->app->pool_lock);
}

void srv_run_query(struct srv_request *request, const struct orm_sql *sql, srv_query_done done)
{
    run_query(request, sql, 0, done);
}

void srv_run_built(struct srv_request *request, int built, struct orm_sql *sql,
                   const struct rs_error *error, srv_query_done done)
{
    if (built < 0)
        srv_respond_rs_error(request, error);
    else
        srv_run_query(request, sql, done);
    orm_sql_free(sql);
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
    /* no probe after this; the primary's callbacks may still touch the replica set */
    orm_replicas_stop(app->replicas);
    /* fails the queries still waiting (503) and runs every callback before it returns */
    orm_pool_free(app->pool);
    app->pool = NULL;
    orm_replicas_free(app->replicas);
    app->replicas = NULL;
}
