/*
 * server/export.c — GET /T/export/ (SPEC §5): every matching row as CSV, streamed from
 * PostgreSQL's COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER) to the client in constant
 * memory. The worker suspends the connection and hands the copy to the pool
 * (orm_pool_stream); once the first row is in, the answer is a libmicrohttpd callback response
 * whose reader takes what the pool's bounded buffer holds, and when it is empty suspends the
 * connection until the pool has more (no thread waits, no spinning). A failure before the first
 * row is a JSON error; after it the chunked body is cut short (no final chunk), which is how a
 * client tells a broken export from a whole one. The pool bounds a client that stops reading
 * (server.limits.export_stall_timeout_s) and one that goes away frees the connection at once;
 * the copy runs under statement_timeout = server.limits.export_timeout_s and with the request's
 * claims, as every read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

#define EXPORT_READ_BLOCK (64 * 1024)

static const char csv_content_type[] = "text/csv; charset=utf-8";

/* Lives from the submit until libmicrohttpd frees the response (or the error is answered). */
struct export_state {
    struct srv_app *app;
    struct srv_request *request; /* until the answer is handed to MHD */
    struct srv_request *owner;   /* its request, for the bytes sent (only while MHD reads) */
    struct MHD_Connection *connection;
    struct orm_stream *stream;
};

static void suspend_connection(void *argument)
{
    struct export_state *state = argument;
    MHD_suspend_connection(state->connection);
}

static ssize_t read_rows(void *context, uint64_t position, char *out, size_t size)
{
    (void)position;
    struct export_state *state = context;
    size_t length = 0;
    switch (orm_stream_read(state->stream, out, size, &length, suspend_connection, state)) {
    case ORM_STREAM_DATA:
        state->owner->body_bytes += length; /* the access log's count */
        return (ssize_t)length;
    case ORM_STREAM_WAIT:
        return 0; /* suspended: ready_rows resumes it */
    case ORM_STREAM_END:
        return MHD_CONTENT_READER_END_OF_STREAM;
    default:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void ready_rows(void *context)
{
    struct export_state *state = context;
    struct srv_app *app = state->app;
    MHD_resume_connection(state->connection);
    srv_http_loop_resumed(app);
}

static void free_state(void *context)
{
    struct export_state *state = context;
    orm_stream_release(state->stream); /* a copy still running is cut at once */
    free(state);
}

static void add_download_headers(struct srv_request *request)
{
    char disposition[160];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"",
             request->route.table->name);
    srv_add_header(request, "Content-Disposition", disposition);
}

static void export_started(void *context, struct orm_stream *stream, struct orm_outcome *outcome)
{
    struct export_state *state = context;
    struct srv_request *request = state->request;
    state->request = NULL;
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        orm_stream_release(stream);
        free(state);
    } else {
        state->stream = stream;
        struct MHD_Response *response = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, EXPORT_READ_BLOCK, read_rows, state, free_state);
        if (!response) {
            free_state(state);
            srv_respond_error(request, 500, NULL, "internal error: no response (request %s)",
                              request->request_id);
        } else {
            srv_respond_with(request, 200, response, 0, csv_content_type);
            add_download_headers(request);
        }
    }
    srv_request_resume(request);
}

/* The statements before the COPY, in its transaction: its statement timeout and the claims
 * (as srv_run_query adds them to every read), then the settings its SELECT reads its values
 * from. */
static size_t export_prelude(struct srv_request *request, const struct orm_sql *settings,
                             char *timeout, size_t timeout_size, struct orm_statement *out,
                             const char **params)
{
    size_t count = 0;
    snprintf(timeout, timeout_size, "%ds", request->app->config->server.limits.export_timeout_s);
    params[0] = timeout;
    params[1] = request->principal.is_authenticated ? request->principal.claims_json : NULL;
    out[count++] =
        (struct orm_statement){params[1] ? "SELECT set_config('statement_timeout', $1, true), "
                                           "set_config('request.jwt.claims', $2::text, true)"
                                         : "SELECT set_config('statement_timeout', $1, true)",
                               params, params[1] ? 2 : 1};
    if (settings->text.length > 0)
        out[count++] =
            (struct orm_statement){sb_text(&settings->text), (const char *const *)settings->params,
                                   (int)settings->param_count};
    return count;
}

static void start_export(struct srv_request *request, const struct orm_sql *settings,
                         const struct orm_sql *copy)
{
    struct srv_app *app = request->app;
    struct orm_statement prelude[2];
    const char *params[2];
    char timeout[32];
    size_t count = export_prelude(request, settings, timeout, sizeof timeout, prelude, params);
    struct orm_stream_options options = {
        .stall_timeout_ms = app->config->server.limits.export_stall_timeout_s * 1000};
    struct export_state *state = xcalloc(1, sizeof *state);
    state->app = app;
    state->request = state->owner = request;
    state->connection = request->connection;
    if (srv_log_enabled("debug"))
        srv_log("debug", "request %s: %s", request->request_id, sb_text(&copy->text));
    pthread_rwlock_rdlock(&app->pool_lock);
    if (app->is_pool_closed) {
        pthread_rwlock_unlock(&app->pool_lock);
        free(state);
        srv_respond_error(request, 503, NULL, "the server is shutting down, try another one");
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    }
    /* a table read: a replica's when one is fit (SPEC §7) */
    struct orm_pool *pool = srv_pool_for_request(request);
    if (!pool) {
        pthread_rwlock_unlock(&app->pool_lock);
        free(state);
        return; /* 400: a malformed X-Restable-LSN */
    }
    /* before the submit: the started callback resumes it, maybe before orm_pool_stream returns */
    request->did_suspend = true;
    MHD_suspend_connection(request->connection);
    orm_pool_stream(pool, prelude, count, sb_text(&copy->text), &options, export_started,
                    ready_rows, state);
    pthread_rwlock_unlock(&app->pool_lock);
}

void srv_handle_export(struct srv_request *request)
{
    struct srv_list_params *params = rs_arena_alloc(&request->arena, sizeof *params);
    if (srv_list_params_parse(request, SRV_PARAMS_EXPORT, params) < 0)
        return;
    struct orm_sql settings = {0}, copy = {0};
    struct rs_error error = {0};
    if (orm_build_export(&params->select, &settings, &copy, &error) < 0) {
        srv_respond_rs_error(request, &error);
    } else if (strcmp(request->method, MHD_HTTP_METHOD_HEAD) == 0) {
        /* the headers a GET would have; the copy is not run for them */
        srv_respond_with(request, 200,
                         MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), 0,
                         csv_content_type);
        add_download_headers(request);
    } else {
        start_export(request, &settings, &copy);
    }
    orm_sql_free(&settings);
    orm_sql_free(&copy);
}
