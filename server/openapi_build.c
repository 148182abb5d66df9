/*
 * server/openapi_build.c — the small builders every part of the OpenAPI document shares
 * (server/openapi.c's frame and server/openapi_table.c's tables): references, responses and
 * their headers, the shared error responses, and how a policy becomes an operation's security.
 */
#include <stdio.h>
#include <string.h>

#include "server/openapi_internal.h"

json_t *srv_openapi_ref(const char *section, const char *name)
{
    char text[200];
    snprintf(text, sizeof text, "#/components/%s/%s", section, name);
    return json_pack("{s:s}", "$ref", text);
}

json_t *srv_openapi_json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

void srv_openapi_add_header(json_t *response, const char *header)
{
    json_t *headers = json_object_get(response, "headers");
    if (!headers) {
        headers = json_object();
        json_object_set_new(response, "headers", headers);
    }
    json_object_set_new(headers, header, srv_openapi_ref("headers", header));
}

json_t *srv_openapi_empty_response(const char *description)
{
    json_t *response = json_pack("{s:s}", "description", description);
    srv_openapi_add_header(response, "X-Request-Id");
    srv_openapi_add_header(response, "X-Restable-Source");
    srv_openapi_add_header(response, "X-Restable-LSN");
    return response;
}

json_t *srv_openapi_response(const char *description, json_t *schema)
{
    json_t *response = srv_openapi_empty_response(description);
    json_object_set_new(response, "content", srv_openapi_json_content(schema));
    return response;
}

json_t *srv_openapi_text_response(const char *description, const char *content_type)
{
    json_t *response = srv_openapi_empty_response(description);
    json_object_set_new(response, "content",
                        json_pack("{s:{s:{s:s}}}", content_type, "schema", "type", "string"));
    return response;
}

/* Every error status restable answers, as components/responses; header: the one it always
 * carries beside X-Request-Id. */
static const struct {
    const char *code, *name, *description, *header;
} error_responses[] = {
    {"400", "BadRequest",
     "malformed request: unknown parameter, column, operator or field, a value that does not "
     "parse, a bad % escape or invalid UTF-8 in the query, malformed JSON, a repeated or "
     "non-numeric Content-Length",
     NULL},
    {"401", "Unauthorized",
     "no token where the policy needs one, or a presented token that fails verification "
     "(WWW-Authenticate: Bearer error=\"invalid_token\"); wrong login credentials",
     "WWW-Authenticate"},
    {"403", "Forbidden",
     "the token does not grant this, the page size or limit is over the table's maximum, or "
     "row-level security refused it",
     NULL},
    {"404", "NotFound", "no such row (or file)", NULL},
    {"405", "MethodNotAllowed",
     "the method is not one this path lists (read-only table, bulk writes not enabled); Allow "
     "lists the methods it takes",
     "Allow"},
    {"409", "Conflict", "a unique or foreign key constraint refused the write", NULL},
    {"412", "PreconditionFailed",
     "If-Match named a version the row is no longer at: it changed since it was read, and "
     "nothing was written",
     NULL},
    {"413", "PayloadTooLarge",
     "the body is larger than server.max_body_bytes, a create sends more rows than the "
     "table's max_page_size, or a batch holds more than 100 operations",
     NULL},
    {"414", "URITooLong", "the URL is longer than server.limits.max_url_bytes", NULL},
    {"415", "UnsupportedMediaType", "the body is not application/json", NULL},
    {"422", "UnprocessableEntity",
     "the body does not validate: errors lists every problem (a create of many names the row: "
     "\"[3].rating\", with row: 3)",
     NULL},
    {"428", "PreconditionRequired",
     "the table's require_if_match is on and the write came without If-Match", NULL},
    {"429", "TooManyRequests", "too many login attempts from this address", "Retry-After"},
    {"431", "RequestHeaderFieldsTooLarge",
     "the request headers are larger than server.limits.max_header_bytes", NULL},
    {"500", "InternalServerError",
     "a bug, or a database that does not match the config; the message names the request id "
     "to look up in the log",
     NULL},
    {"501", "NotImplemented",
     "the request has a Transfer-Encoding (chunked included): send a Content-Length instead", NULL},
    {"503", "ServiceUnavailable",
     "the database is unreachable, no connection became free within acquire_timeout_ms, too "
     "many open connections, or the server is shutting down",
     "Retry-After"},
    {"504", "GatewayTimeout", "the query ran past database.statement_timeout_ms and was cancelled",
     NULL},
    {"505", "HTTPVersionNotSupported", "an HTTP version other than 1.x", NULL},
};

void srv_openapi_add_errors(json_t *responses, const char *const *codes)
{
    for (; *codes; codes++)
        for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++)
            if (strcmp(error_responses[i].code, *codes) == 0)
                json_object_set_new(responses, *codes,
                                    srv_openapi_ref("responses", error_responses[i].name));
}

void srv_openapi_add_any_request_errors(json_t *responses)
{
    /* checked before the route is known (limits, framing, the query's encoding), or
     * possible anywhere (a bug, shutting down, too many connections) */
    srv_openapi_add_errors(responses, (const char *const[]){"400", "413", "414", "431", "500",
                                                            "501", "503", "505", NULL});
}

/* The limit behind a response, so clients (and the conformance test) know where it lies. */
static void add_limit(json_t *response, const char *code, const struct cfg_config *config)
{
    long long limit = -1;
    if (strcmp(code, "413") == 0)
        limit = (long long)config->server.max_body_bytes;
    else if (strcmp(code, "414") == 0)
        limit = config->server.limits.max_url_bytes;
    else if (strcmp(code, "431") == 0)
        limit = config->server.limits.max_header_bytes;
    if (limit >= 0)
        json_object_set_new(response, "x-restable-limit-bytes", json_integer(limit));
}

json_t *srv_openapi_error_components(const struct cfg_config *config)
{
    json_t *responses = json_object();
    for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++) {
        json_t *response = srv_openapi_response(error_responses[i].description,
                                                srv_openapi_ref("schemas", "Error"));
        if (error_responses[i].header)
            srv_openapi_add_header(response, error_responses[i].header);
        add_limit(response, error_responses[i].code, config);
        json_object_set_new(responses, error_responses[i].name, response);
    }
    return responses;
}

static json_t *policy_description(const struct cfg_policy *policy)
{
    switch (policy->kind) {
    case CFG_POLICY_PUBLIC:
        return json_string("public");
    case CFG_POLICY_AUTHENTICATED:
        return json_string("authenticated");
    case CFG_POLICY_GRANTS:
        break;
    }
    json_t *grants = json_array();
    for (size_t i = 0; i < policy->grant_count; i++)
        json_array_append_new(grants, json_string(policy->grants[i]));
    return grants;
}

void srv_openapi_apply_policy(json_t *operation, const struct cfg_config *config,
                              const struct cfg_policy *policy)
{
    json_t *responses = json_object_get(operation, "responses");
    /* a token presented on a public route is still verified (and with no key configured,
     * every token is refused): 401 is always possible */
    srv_openapi_add_errors(responses, (const char *const[]){"401", NULL});
    if (config->auth.algorithm == CFG_JWT_NONE) {
        json_object_set_new(operation, "security", json_array()); /* no auth at all */
        return;
    }
    json_object_set_new(operation, "x-restable-policy", policy_description(policy));
    json_t *security = json_array();
    switch (policy->kind) {
    case CFG_POLICY_PUBLIC:
        /* {} first: no token needed; a valid one is accepted */
        json_array_append_new(security, json_object());
        json_array_append_new(security, json_pack("{s:[]}", "bearer"));
        break;
    case CFG_POLICY_AUTHENTICATED:
        json_array_append_new(security, json_pack("{s:[]}", "bearer"));
        break;
    case CFG_POLICY_GRANTS:
        /* one requirement per grant: any one of them suffices (OpenAPI 3.1 lets a non-OAuth
         * scheme list the roles a requirement needs) */
        for (size_t i = 0; i < policy->grant_count; i++)
            json_array_append_new(security, json_pack("{s:[s]}", "bearer", policy->grants[i]));
        srv_openapi_add_errors(responses, (const char *const[]){"403", NULL});
        break;
    }
    json_object_set_new(operation, "security", security);
}

json_t *srv_openapi_operation(const char *id_prefix, const char *table, const char *summary,
                              json_t *responses)
{
    char id[160];
    snprintf(id, sizeof id, "%s%s%s", id_prefix, table ? "_" : "", table ? table : "");
    srv_openapi_add_any_request_errors(responses);
    json_t *operation =
        json_pack("{s:s,s:s,s:o}", "operationId", id, "summary", summary, "responses", responses);
    json_object_set_new(operation, "tags", json_pack("[s]", table ? table : "operations"));
    return operation;
}
