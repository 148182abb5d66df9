/*
 * server/request.c — the front of every request once its body is in: route it, answer CORS
 * preflights, check the method (405 with Allow), verify the bearer token (401) and the table
 * policy (403) before any database work, then call the route's handler.
 */
#include <string.h>
#include <strings.h>

#include "server/app.h"

enum action { ACTION_READ, ACTION_WRITE, ACTION_DELETE };

static bool method_is(const struct srv_request *request, const char *method)
{
    return strcmp(request->method, method) == 0;
}

static bool is_read_method(const struct srv_request *request)
{
    return method_is(request, "GET") || method_is(request, "HEAD");
}

void srv_add_cors_headers(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    if (config->server.cors_origin_count == 0 || !request->response ||
        MHD_get_response_header(request->response, "Access-Control-Allow-Origin"))
        return;
    const char *origin = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                     "Origin");
    if (!origin)
        return;
    for (size_t i = 0; i < config->server.cors_origin_count; i++) {
        const char *allowed = config->server.cors_origins[i];
        if (strcmp(allowed, "*") == 0 || strcmp(allowed, origin) == 0) {
            srv_add_header(request, "Access-Control-Allow-Origin",
                           strcmp(allowed, "*") == 0 ? "*" : origin);
            srv_add_header(request, "Vary", "Origin");
            srv_add_header(request, "Access-Control-Expose-Headers",
                           "Content-Range, X-Request-Id");
            return;
        }
    }
}

static void answer_options(struct srv_request *request)
{
    srv_respond_empty(request, 204);
    const char *allowed = srv_route_allowed_methods(&request->route);
    srv_add_header(request, MHD_HTTP_HEADER_ALLOW, allowed);
    srv_add_cors_headers(request);
    if (request->response &&
        MHD_get_response_header(request->response, "Access-Control-Allow-Origin")) {
        srv_add_header(request, "Access-Control-Allow-Methods", allowed);
        srv_add_header(request, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, Range");
        srv_add_header(request, "Access-Control-Max-Age", "600");
    }
}

static void respond_unauthorized(struct srv_request *request, const char *description)
{
    if (description) {
        srv_respond_error(request, 401, NULL, "invalid token: %s", description);
        char header[320];
        snprintf(header, sizeof header,
                 "Bearer error=\"invalid_token\", error_description=\"%s\"", description);
        srv_add_header(request, MHD_HTTP_HEADER_WWW_AUTHENTICATE, header);
    } else {
        srv_respond_error(request, 401, NULL, "authentication required: send a bearer token");
        srv_add_header(request, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
}

/* Verifies the token when one is presented; returns -1 after responding 401. */
static int authenticate(struct srv_request *request)
{
    const char *authorization = MHD_lookup_connection_value(
        request->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!authorization)
        return 0;
    struct rs_error error = {0};
    if (auth_verify_bearer(request->app->verifier, authorization, &request->principal,
                           &error) < 0) {
        respond_unauthorized(request, error.message[0] ? error.message : "invalid token");
        return -1;
    }
    return 0;
}

static int authorize(struct srv_request *request, const struct cfg_policy *policy)
{
    if (auth_policy_allows(policy, &request->principal))
        return 0;
    if (!request->principal.is_authenticated)
        respond_unauthorized(request, NULL);
    else
        srv_respond_error(request, 403, NULL, "this token does not grant access to %s",
                          request->route.table ? request->route.table->name : "this route");
    return -1;
}

static const struct cfg_policy *policy_for(const struct cfg_table *table, enum action action)
{
    switch (action) {
    case ACTION_READ:
        return &table->read;
    case ACTION_WRITE:
        return &table->write;
    case ACTION_DELETE:
        return &table->delete_;
    }
    return &table->read;
}

static void method_not_allowed(struct srv_request *request)
{
    srv_respond_error(request, 405, NULL, "method %s is not allowed here", request->method);
}

static void handle_table_route(struct srv_request *request)
{
    const struct cfg_table *table = request->route.table;
    enum srv_route_kind kind = request->route.kind;
    bool is_read = is_read_method(request);
    bool is_collection = kind == SRV_ROUTE_COLLECTION;
    bool is_row = kind == SRV_ROUTE_ROW;

    enum action action = ACTION_READ;
    if (!is_read) {
        bool allowed = false;
        if (is_collection)
            allowed = method_is(request, "POST") ||
                      (method_is(request, "DELETE") && table->allow_bulk_delete) ||
                      (method_is(request, "PATCH") && table->allow_bulk_update);
        else if (is_row)
            allowed = method_is(request, "PUT") || method_is(request, "PATCH") ||
                      method_is(request, "DELETE");
        if (!allowed || table->read_only) {
            method_not_allowed(request);
            return;
        }
        action = method_is(request, "DELETE") ? ACTION_DELETE : ACTION_WRITE;
    }
    if (authorize(request, policy_for(table, action)) < 0)
        return;

    switch (kind) {
    case SRV_ROUTE_COLLECTION:
        if (is_read)
            srv_handle_list(request);
        else if (method_is(request, "POST"))
            srv_handle_create(request);
        else if (method_is(request, "DELETE"))
            srv_handle_bulk_delete(request);
        else
            srv_handle_bulk_update(request);
        return;
    case SRV_ROUTE_ROW:
        if (is_read)
            srv_handle_get(request);
        else if (method_is(request, "DELETE"))
            srv_handle_delete_one(request);
        else
            srv_handle_update_one(request, method_is(request, "PUT"));
        return;
    case SRV_ROUTE_COUNT:
        srv_handle_count(request);
        return;
    case SRV_ROUTE_SCHEMA:
        srv_handle_schema(request);
        return;
    case SRV_ROUTE_IDS:
        srv_handle_ids(request);
        return;
    case SRV_ROUTE_NEW:
        srv_handle_new(request);
        return;
    case SRV_ROUTE_REFERENCES:
        srv_handle_references(request);
        return;
    default:
        srv_respond_error(request, 404, NULL, "not found");
    }
}

static void route_and_handle(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    srv_route_parse(config, request->path, &request->route);
    enum srv_route_kind kind = request->route.kind;

    if (kind == SRV_ROUTE_BAD_REQUEST) {
        srv_respond_error(request, 400, NULL, "a segment of the path %s", request->route.problem);
        return;
    }
    if (kind == SRV_ROUTE_NOT_FOUND) {
        srv_respond_error(request, 404, NULL, "no such route: %s", request->path);
        return;
    }
    if (method_is(request, "OPTIONS")) {
        answer_options(request);
        return;
    }
    /* Probes, the API description and its docs page stay public and never look at tokens. */
    if (kind == SRV_ROUTE_HEALTHZ || kind == SRV_ROUTE_READYZ || kind == SRV_ROUTE_OPENAPI ||
        kind == SRV_ROUTE_DOCS || kind == SRV_ROUTE_DOCS_ASSET) {
        if (!is_read_method(request)) {
            method_not_allowed(request);
            return;
        }
        if (kind == SRV_ROUTE_HEALTHZ)
            srv_handle_healthz(request);
        else if (kind == SRV_ROUTE_READYZ)
            srv_handle_readyz(request);
        else if (kind == SRV_ROUTE_OPENAPI)
            srv_handle_openapi(request);
        else
            srv_handle_docs(request);
        return;
    }
    if (authenticate(request) < 0)
        return;
    switch (kind) {
    case SRV_ROUTE_LOGIN:
        if (!method_is(request, "POST"))
            method_not_allowed(request);
        else
            srv_handle_login(request);
        return;
    case SRV_ROUTE_METRICS:
    case SRV_ROUTE_ROOT:
        if (!is_read_method(request)) {
            method_not_allowed(request);
            return;
        }
        /* server.metrics.public opens /metrics to scrapers that carry no token */
        bool is_public = kind == SRV_ROUTE_METRICS && config->server.metrics_public;
        if (!is_public && authorize(request, &config->auth.default_read) < 0)
            return;
        if (kind == SRV_ROUTE_METRICS)
            srv_handle_metrics(request);
        else
            srv_handle_root(request);
        return;
    default:
        handle_table_route(request);
    }
}

void srv_handle_request(struct srv_request *request, const char *upload, size_t upload_size)
{
    (void)upload;
    (void)upload_size;
    route_and_handle(request);
}

json_t *srv_parse_json_body(struct srv_request *request)
{
    const char *type = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (request->body.length > 0 || type) {
        size_t length = 0;
        if (type) {
            while (*type == ' ')
                type++;
            length = strcspn(type, "; ");
        }
        if (!type || !(length == 16 && strncasecmp(type, "application/json", 16) == 0)) {
            srv_respond_error(request, 415, NULL, "send the body as application/json (got %s)",
                              type ? type : "no Content-Type");
            return NULL;
        }
    }
    if (request->body.length == 0) {
        srv_respond_error(request, 400, NULL, "the request needs a JSON body");
        return NULL;
    }
    json_error_t error;
    json_t *body = json_loadb(request->body.data, request->body.length, JSON_REJECT_DUPLICATES,
                              &error);
    if (!body) {
        srv_respond_error(request, 400, NULL, "malformed JSON at line %d, column %d: %s",
                          error.line, error.column, error.text);
        return NULL;
    }
    return body;
}
