/*
 * server/request.c — the front of every request once its body is in: route it, answer CORS
 * preflights, verify the bearer token (401), find the route table's row for the method (405
 * with Allow), check the row's policy (401/403) before any database work, then call the row's
 * handler.
 */
#include <string.h>

#include "server/routes.h"

static void answer_options(struct srv_request *request)
{
    srv_respond_empty(request, 204);
    const char *allowed = srv_route_allowed_methods(&request->route);
    srv_add_header(request, MHD_HTTP_HEADER_ALLOW, allowed);
    srv_add_cors_headers(request);
    if (request->response &&
        MHD_get_response_header(request->response, "Access-Control-Allow-Origin")) {
        srv_add_header(request, "Access-Control-Allow-Methods", allowed);
        srv_add_header(
            request, "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Range, If-Match, If-None-Match, X-Restable-LSN");
        srv_add_header(request, "Access-Control-Max-Age", "600");
    }
}

static void respond_unauthorized(struct srv_request *request, const char *description)
{
    if (description) {
        srv_respond_error(request, 401, NULL, "invalid token: %s", description);
        char header[320];
        snprintf(header, sizeof header, "Bearer error=\"invalid_token\", error_description=\"%s\"",
                 description);
        srv_add_header(request, MHD_HTTP_HEADER_WWW_AUTHENTICATE, header);
    } else {
        srv_respond_error(request, 401, NULL, "authentication required: send a bearer token");
        /* SPEC §3 gives every token 401 this challenge, a missing token included (RFC 6750
         * would leave the error out there; clients that look for it find it either way) */
        srv_add_header(request, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                       "Bearer error=\"invalid_token\", error_description=\"no bearer token was "
                       "sent\"");
    }
}

/* Verifies the token when one is presented; returns -1 after responding 401. */
static int authenticate(struct srv_request *request)
{
    const char *authorization = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_AUTHORIZATION);
    if (!authorization)
        return 0;
    struct rs_error error = {0};
    if (auth_verify_bearer(request->app->verifier, authorization, &request->principal, &error) <
        0) {
        respond_unauthorized(request, error.message[0] ? error.message : "invalid token");
        return -1;
    }
    return 0;
}

int srv_request_authorize(struct srv_request *request, const struct cfg_policy *policy)
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

/* The policy the row names, or NULL when there is none to check. */
static const struct cfg_policy *policy_for(const struct srv_request *request,
                                           const struct srv_route_row *row)
{
    const struct cfg_config *config = request->app->config;
    const struct cfg_table *table = request->route.table;
    /* server.metrics.public opens /metrics to scrapers that carry no token */
    if ((row->flags & SRV_ROW_METRICS_SWITCH) && config->server.metrics_public)
        return NULL;
    switch (row->policy) {
    case SRV_POLICY_NONE:
        return NULL;
    case SRV_POLICY_DEFAULT_READ:
        return &config->auth.default_read;
    case SRV_POLICY_TABLE_READ:
        return &table->read;
    case SRV_POLICY_TABLE_WRITE:
        return &table->write;
    case SRV_POLICY_TABLE_DELETE:
        return &table->delete_;
    }
    return &config->auth.default_read;
}

/* In this order: 400/404 for the path, OPTIONS, 401 for an invalid token (except on the
 * routes that never look at one), 405 with Allow, 401/403 for the row's policy, the handler.
 * Nothing touches the database before the policy is satisfied. */
static void route_and_handle(struct srv_request *request)
{
    srv_route_parse(request->app->config, request->path, &request->route, &request->arena);
    enum srv_route_kind kind = request->route.kind;
    if (kind == SRV_ROUTE_BAD_REQUEST) {
        srv_respond_error(request, 400, NULL, "a segment of the path %s", request->route.problem);
        return;
    }
    if (kind == SRV_ROUTE_NOT_FOUND) {
        srv_respond_error(request, 404, NULL, "no such route: %s", request->path);
        return;
    }
    if (strcmp(request->method, "OPTIONS") == 0) {
        answer_options(request);
        return;
    }
    if (!srv_route_is_token_free(&request->route) && authenticate(request) < 0)
        return;
    const struct srv_route_row *row = srv_route_row_for(&request->route, request->method);
    if (!row) {
        srv_respond_error(request, 405, NULL, "method %s is not allowed here", request->method);
        return;
    }
    const struct cfg_policy *policy = policy_for(request, row);
    if (policy && srv_request_authorize(request, policy) < 0)
        return;
    row->handler(request);
}

void srv_handle_request(struct srv_request *request, const char *upload, size_t upload_size)
{
    (void)upload;
    (void)upload_size;
    route_and_handle(request);
}
