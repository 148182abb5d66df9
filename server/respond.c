/*
 * server/respond.c — building responses: JSON bodies, the error shape of SPEC §3, the
 * zero-copy pass-through of JSON rendered by PostgreSQL, the CORS headers every answer to an
 * allowed Origin carries, and the mapping of database errors to HTTP statuses (only server/
 * turns errors into statuses).
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

static const char json_content_type[] = "application/json; charset=utf-8";

void srv_respond_with(struct srv_request *request, unsigned int status,
                      struct MHD_Response *response, uint64_t body_bytes, const char *content_type)
{
    if (request->response)
        MHD_destroy_response(request->response);
    request->response = response;
    request->status = status;
    request->body_bytes = response ? body_bytes : 0;
    if (response && content_type)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

static void set_response(struct srv_request *request, unsigned int status,
                         struct MHD_Response *response, uint64_t body_bytes)
{
    srv_respond_with(request, status, response, body_bytes, json_content_type);
}

void srv_add_header(struct srv_request *request, const char *name, const char *value)
{
    if (request->response)
        MHD_add_response_header(request->response, name, value);
}

void srv_add_vary(struct srv_request *request, const char *name)
{
    if (!request->response)
        return;
    const char *vary = MHD_get_response_header(request->response, MHD_HTTP_HEADER_VARY);
    if (!vary) {
        MHD_add_response_header(request->response, MHD_HTTP_HEADER_VARY, name);
        return;
    }
    char merged[128];
    snprintf(merged, sizeof merged, "%s, %s", vary, name);
    MHD_del_response_header(request->response, MHD_HTTP_HEADER_VARY, vary);
    MHD_add_response_header(request->response, MHD_HTTP_HEADER_VARY, merged);
}

void srv_add_cors_headers(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    if (config->server.cors_origin_count == 0 || !request->response ||
        MHD_get_response_header(request->response, "Access-Control-Allow-Origin"))
        return;
    const char *origin =
        MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return;
    for (size_t i = 0; i < config->server.cors_origin_count; i++) {
        const char *allowed = config->server.cors_origins[i];
        if (strcmp(allowed, "*") == 0 || strcmp(allowed, origin) == 0) {
            srv_add_header(request, "Access-Control-Allow-Origin",
                           strcmp(allowed, "*") == 0 ? "*" : origin);
            srv_add_vary(request, "Origin");
            /* ETag: a browser client reads it to send If-Match / If-None-Match back */
            srv_add_header(request, "Access-Control-Expose-Headers",
                           "Content-Range, ETag, X-Request-Id, X-Restable-Source, X-Restable-LSN");
            return;
        }
    }
}

void srv_respond_json_text(struct srv_request *request, unsigned int status, const char *json)
{
    size_t length = strlen(json);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, (void *)json, MHD_RESPMEM_MUST_COPY);
    set_response(request, status, response, length);
}

void srv_respond_json(struct srv_request *request, unsigned int status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    if (!text) {
        srv_respond_json_text(request, 500,
                              "{\"error\":{\"status\":500,\"message\":\"out of memory\"}}");
        return;
    }
    size_t length = strlen(text);
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(length, text, free, text);
    set_response(request, status, response, length);
}

static void result_free(void *result)
{
    PQclear(result);
}

void srv_respond_result(struct srv_request *request, unsigned int status, const char *prefix,
                        PGresult *result, const char *suffix)
{
    const char *value = PQgetvalue(result, 0, 0);
    struct MHD_IoVec parts[3];
    unsigned int count = 0;
    if (prefix && *prefix)
        parts[count++] = (struct MHD_IoVec){prefix, strlen(prefix)};
    parts[count++] = (struct MHD_IoVec){value, (size_t)PQgetlength(result, 0, 0)};
    if (suffix && *suffix)
        parts[count++] = (struct MHD_IoVec){suffix, strlen(suffix)};
    uint64_t length = 0;
    for (unsigned int i = 0; i < count; i++)
        length += parts[i].iov_len;
    struct MHD_Response *response =
        MHD_create_response_from_iovec(parts, count, result_free, result);
    if (!response)
        PQclear(result);
    set_response(request, status, response, length);
}

void srv_respond_result_only_element(struct srv_request *request, unsigned int status,
                                     PGresult *result)
{
    const char *value = PQgetvalue(result, 0, 0);
    size_t length = (size_t)PQgetlength(result, 0, 0);
    if (length < 2 || value[0] != '[' || value[length - 1] != ']') {
        srv_respond_result(request, status, NULL, result, NULL);
        return;
    }
    struct MHD_IoVec part = {value + 1, length - 2};
    struct MHD_Response *response = MHD_create_response_from_iovec(&part, 1, result_free, result);
    if (!response)
        PQclear(result);
    set_response(request, status, response, part.iov_len);
}

void srv_respond_empty(struct srv_request *request, unsigned int status)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    srv_respond_with(request, status, response, 0, NULL);
}

/* In a batch, the error names the operation that failed (server/handlers_batch.c). */
static json_t *error_object(const struct srv_request *request, unsigned int status,
                            const char *message)
{
    json_t *body = json_pack("{s:{s:i,s:s}}", "error", "status", (int)status, "message", message);
    if (request->error_operation > 0)
        json_object_set_new(json_object_get(body, "error"), "operation",
                            json_integer((json_int_t)request->error_operation - 1));
    return body;
}

void srv_respond_error(struct srv_request *request, unsigned int status, const char *field,
                       const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    /* messages echo what the client sent (a key, a header): JSON strings must be UTF-8 */
    rs_utf8_repair(message);
    json_t *body = error_object(request, status, message);
    if (field && *field) {
        char field_text[128];
        snprintf(field_text, sizeof field_text, "%s", field);
        rs_utf8_repair(field_text);
        json_object_set_new(json_object_get(body, "error"), "field", json_string(field_text));
    }
    srv_respond_json(request, status, body);
    if (status == 405)
        srv_add_header(request, MHD_HTTP_HEADER_ALLOW, srv_route_allowed_methods(&request->route));
    if (status == 503)
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

/* The one place an error's outcome becomes an HTTP status. A failure with nothing more to
 * tell the client is answered 400, as it always was. */
static unsigned int outcome_status(enum rs_outcome outcome)
{
    switch (outcome) {
    case RS_INVALID:
        return 400;
    case RS_UNPROCESSABLE:
        return 422;
    case RS_UNAUTHORIZED:
        return 401;
    case RS_UNAVAILABLE:
        return 503;
    case RS_FAILED:
        break;
    }
    return 400;
}

void srv_respond_rs_error(struct srv_request *request, const struct rs_error *error)
{
    srv_respond_error(request, outcome_status(error->outcome), error->field, "%s", error->message);
}

void srv_respond_errors(struct srv_request *request, unsigned int status, const char *message,
                        json_t *errors)
{
    json_t *body = error_object(request, status, message);
    json_t *inner = json_object_get(body, "error");
    if (json_array_size(errors) == 1) {
        json_t *only = json_array_get(errors, 0);
        json_object_set(inner, "field", json_object_get(only, "field"));
        json_object_set(inner, "message", json_object_get(only, "message"));
    }
    json_object_set_new(inner, "errors", errors);
    srv_respond_json(request, status, body);
}

/* The column a constraint restable named ("<table>_<column>_key", "_fkey", "_check") is on,
 * when PostgreSQL does not say (it names columns only for NOT NULL); NULL otherwise. */
static const char *column_of_constraint(const struct srv_request *request, const char *name)
{
    const struct cfg_table *table = request->route.table;
    size_t table_length = table ? strlen(table->name) : 0;
    if (!table || strncmp(name, table->name, table_length) != 0 || name[table_length] != '_')
        return NULL;
    const char *rest = name + table_length + 1;
    static const char *const suffixes[] = {"_key", "_fkey", "_check"};
    for (size_t c = 0; c < table->column_count; c++) {
        const char *column = table->columns[c].name;
        size_t length = strlen(column);
        if (strncmp(rest, column, length) != 0)
            continue;
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
            if (strcmp(rest + length, suffixes[i]) == 0)
                return column;
    }
    return NULL;
}

/* 504, not 503: the query got a connection and started, and ran longer than allowed */
static const char statement_timeout_message[] =
    "the query did not finish within the statement timeout and was cancelled";

void srv_respond_outcome_error(struct srv_request *request, const struct orm_outcome *outcome)
{
    srv_metrics_db_failure(request->app, outcome);
    switch (outcome->status) {
    case ORM_E_UNAVAILABLE:
    case ORM_E_SHUTDOWN:
        srv_respond_error(request, 503, NULL, "the database is unavailable, try again shortly");
        return;
    case ORM_E_TIMEOUT:
    case ORM_E_QUEUE_FULL:
        srv_respond_error(request, 503, NULL,
                          "the server is busy: no database connection "
                          "became free in time, try again shortly");
        return;
    case ORM_E_STATEMENT_TIMEOUT:
        srv_respond_error(request, 504, NULL, "%s", statement_timeout_message);
        return;
    case ORM_OK:
    case ORM_E_QUERY:
        break;
    }
    const char *state = outcome->sqlstate;
    const char *column =
        outcome->column[0] ? outcome->column : column_of_constraint(request, outcome->constraint);
    if (strcmp(state, "23505") == 0) {
        srv_respond_error(request, 409, column,
                          "unique constraint \"%s\" violated: a row with "
                          "this value already exists",
                          outcome->constraint);
    } else if (strcmp(state, "23503") == 0) {
        srv_respond_error(request, 409, column,
                          "foreign key constraint \"%s\" violated: the "
                          "referenced row does not exist or is still referenced",
                          outcome->constraint);
    } else if (strcmp(state, "23502") == 0) {
        srv_respond_error(request, 422, column, "%s may not be null", column ? column : "a column");
    } else if (strcmp(state, "23514") == 0) {
        srv_respond_error(request, 422, column, "check constraint \"%s\" violated",
                          outcome->constraint);
    } else if (strcmp(state, "21000") == 0) {
        /* an upsert whose rows name one key twice (values equal but spelled differently) */
        srv_respond_error(request, 422, NULL,
                          "two rows of the request have the same __on_conflict key: one request "
                          "can change a row only once");
    } else if (strncmp(state, "22", 2) == 0) {
        srv_respond_error(request, 422, column, "invalid value: %s", outcome->message);
    } else if (strcmp(state, "57014") == 0) {
        /* PostgreSQL's statement_timeout: the query started and ran too long (504), unlike a
         * query that never got a connection (503) */
        srv_respond_error(request, 504, NULL, "%s", statement_timeout_message);
    } else if (strcmp(state, "42501") == 0) {
        srv_respond_error(request, 403, NULL, "permission denied by the database: %s",
                          outcome->message);
    } else if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
               strcmp(state, "57P03") == 0) {
        srv_respond_error(request, 503, NULL, "the database is unavailable, try again shortly");
    } else if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0 ||
               strcmp(state, "42P10") == 0 || strcmp(state, "42704") == 0) {
        /* a missing table, column, unique key (42P10: ON CONFLICT) or object (42704: a
         * search_language the database lacks) */
        srv_log("error", "request %s: schema out of date: %s (run restable migrations forwards)",
                request->request_id, outcome->message);
        srv_respond_error(request, 500, NULL,
                          "internal error: the database schema does not match "
                          "the config (request %s)",
                          request->request_id);
    } else {
        srv_log("error", "request %s: database error %s: %s", request->request_id, state,
                outcome->message);
        srv_respond_error(request, 500, NULL,
                          "internal error (a bug); see the server log for "
                          "request %s",
                          request->request_id);
    }
}
