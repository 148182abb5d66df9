/*
 * server/openapi.c — GET /openapi.json: an OpenAPI 3.1 description of every route, built once
 * from the config on first use (the config never changes) and then served from memory. This
 * file holds the document's frame (info, the operator routes, shared error responses, the
 * bearer scheme and how a table policy becomes an operation's security); each table's part is
 * in server/openapi_table.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/openapi_internal.h"

static pthread_once_t built_once = PTHREAD_ONCE_INIT;
static char *openapi_text;
static const struct cfg_config *openapi_config;

/* ---- helpers shared with openapi_table.c ------------------------------------------------ */

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
     "the body is larger than server.max_body_bytes, or a create sends more rows than the "
     "table's max_page_size",
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

static json_t *error_components(const struct cfg_config *config)
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

static json_t *header(const char *description, json_t *schema)
{
    return json_pack("{s:s,s:o}", "description", description, "schema", schema);
}

static json_t *header_components(void)
{
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "X-Request-Id",
        header("the request's id, also in the log line: the client's own X-Request-Id when it is "
               "1-63 characters of A-Z a-z 0-9 - _ . :, otherwise a generated one",
               json_pack("{s:s,s:s}", "type", "string", "pattern", "^[A-Za-z0-9._:-]{1,63}$")),
        "X-Restable-Source",
        header("on the routes of a table: which database answered, primary or replica",
               json_pack("{s:s,s:[s,s]}", "type", "string", "enum", "primary", "replica")),
        "X-Restable-LSN",
        header(
            "with database.replicas, on a table write's success: the WAL position its "
            "commit reached; send it back on reads to see the write",
            json_pack("{s:s,s:s}", "type", "string", "pattern", "^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")),
        "Content-Range",
        header("with __range_header=true: the page's position and the total under the same "
               "filters, NAME first-last/total (zero-based, inclusive) or NAME */total past the "
               "end; NAME is the table's, or __range_header_name",
               json_pack("{s:s,s:s}", "type", "string", "pattern",
                         "^[A-Za-z0-9_-]+ ([0-9]+-[0-9]+|\\*)/[0-9]+$")),
        "Allow", header("the methods this path takes", json_pack("{s:s}", "type", "string")),
        "ETag",
        header("a row's version, strong (\"123\"), the same for every client and changed by "
               "every write to the row: send it back in If-None-Match or If-Match; or a list's "
               "weak tag (W/\"...\"), a hash of the body this client was sent",
               json_pack("{s:s,s:s}", "type", "string", "pattern", "^(W/)?\"[^\"]*\"$")),
        "Retry-After",
        header("seconds to wait", json_pack("{s:s,s:i}", "type", "integer", "minimum", 0)),
        "WWW-Authenticate",
        header("the Bearer challenge: error=\"invalid_token\", with error_description when a "
               "presented token was refused",
               json_pack("{s:s,s:s}", "type", "string", "pattern", "^Bearer")),
        "Content-Security-Policy",
        header("what the page may load: this origin only", json_pack("{s:s}", "type", "string")),
        "X-Content-Type-Options", header("nosniff", json_pack("{s:s}", "type", "string")));
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

/* ---- the operator routes ---------------------------------------------------------------- */

static json_t *status_schema(void)
{
    return json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties", "status", "type",
                     "string", "required", "status");
}

static void set_path(json_t *paths, const char *base, const char *path, const char *method,
                     json_t *operation)
{
    char full[300];
    snprintf(full, sizeof full, "%s%s", base, path);
    json_t *item = json_object_get(paths, full);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, full, item);
    }
    json_object_set_new(item, method, operation);
}

/* A route that never looks at the Authorization header (probes, this document, the page). */
static json_t *token_free_get(const char *id, const char *summary, json_t *ok)
{
    json_t *operation = srv_openapi_operation(id, NULL, summary, json_pack("{s:o}", "200", ok));
    json_object_set_new(operation, "security", json_array());
    return operation;
}

static void add_operator_routes(json_t *paths, const struct cfg_config *config)
{
    const char *base = config->server.base_path;
    json_t *index = srv_openapi_operation(
        "index", NULL, "the server's name, version and tables",
        json_pack("{s:o}", "200",
                  srv_openapi_response(
                      "the tables",
                      json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s,s:{s:s}}},s:[s,s,s]}", "type",
                                "object", "properties", "name", "type", "string", "version", "type",
                                "string", "tables", "type", "array", "items", "type", "string",
                                "required", "name", "version", "tables"))));
    srv_openapi_apply_policy(index, config, &config->auth.default_read);
    set_path(paths, base, "", "get", index);

    set_path(paths, base, "healthz", "get",
             token_free_get("healthz", "the process is up (no database work)",
                            srv_openapi_response("up", status_schema())));
    /* its own 503 (database not ready) is the shared one, added to every operation */
    set_path(paths, base, "readyz", "get",
             token_free_get("readyz",
                            "the database answers; 503 when it does not or while shutting down",
                            srv_openapi_response("ready", status_schema())));
    set_path(paths, base, "openapi.json", "get",
             token_free_get("openapi", "this document",
                            srv_openapi_response("the OpenAPI 3.1 document",
                                                 json_pack("{s:s}", "type", "object"))));
    json_t *page = srv_openapi_text_response("an HTML page", "text/html");
    srv_openapi_add_header(page, "Content-Security-Policy");
    srv_openapi_add_header(page, "X-Content-Type-Options");
    json_t *docs = token_free_get("docs", "this document rendered by Swagger UI", page);
    /* the page's files are not installed on this server */
    srv_openapi_add_errors(json_object_get(docs, "responses"), (const char *const[]){"404", NULL});
    set_path(paths, base, "docs", "get", docs);

    json_t *asset = srv_openapi_empty_response("the file (CSS, JavaScript or PNG)");
    json_object_set_new(asset, "content",
                        json_pack("{s:{s:{s:s}},s:{s:{s:s}},s:{s:{s:s,s:s}}}", "text/css", "schema",
                                  "type", "string", "text/javascript", "schema", "type", "string",
                                  "image/png", "schema", "type", "string", "contentEncoding",
                                  "binary"));
    json_t *file = token_free_get("docs_file", "a file of the Swagger UI page", asset);
    srv_openapi_add_errors(json_object_get(file, "responses"), (const char *const[]){"404", NULL});
    set_path(paths, base, "docs/{file}", "get", file);
    char full[300];
    snprintf(full, sizeof full, "%sdocs/{file}", base);
    json_object_set_new(
        json_object_get(paths, full), "parameters",
        json_pack("[{s:s,s:s,s:b,s:{s:s,s:[s,s,s,s,s]}}]", "name", "file", "in", "path", "required",
                  1, "schema", "type", "string", "enum", "swagger-ui.css", "swagger-ui-bundle.js",
                  "swagger-ui-standalone-preset.js", "favicon-32x32.png", "favicon-16x16.png"));

    json_t *metrics = srv_openapi_operation(
        "metrics", NULL, "Prometheus metrics",
        json_pack("{s:o}", "200",
                  srv_openapi_text_response("Prometheus text format", "text/plain")));
    srv_openapi_apply_policy(metrics, config, &config->auth.default_read);
    if (config->server.metrics_public) {
        /* server.metrics.public waives the policy, not the check of a presented token */
        json_object_set_new(metrics, "security", json_array());
        json_object_del(metrics, "x-restable-policy");
        json_object_del(json_object_get(metrics, "responses"), "403");
    }
    set_path(paths, base, "metrics", "get", metrics);

    if (!config->auth.login_enabled)
        return;
    json_t *login = srv_openapi_operation(
        "login", NULL, "exchange a username and password for a token",
        json_pack(
            "{s:o}", "200",
            srv_openapi_response(
                "a bearer token",
                json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s},s:{s:s}},s:[s,s,s],s:b}", "type", "object",
                          "properties", "token", "type", "string", "token_type", "type", "string",
                          "const", "bearer", "expires_in", "type", "integer", "required", "token",
                          "token_type", "expires_in", "additionalProperties", 0))));
    srv_openapi_add_errors(json_object_get(login, "responses"),
                           (const char *const[]){"401", "415", "422", "429", "504", NULL});
    json_object_set_new(login, "security", json_array());
    json_object_set_new(
        login, "requestBody",
        json_pack("{s:b,s:o}", "required", 1, "content",
                  srv_openapi_json_content(json_pack(
                      "{s:s,s:{s:{s:s},s:{s:s,s:s}},s:[s,s]}", "type", "object", "properties",
                      "username", "type", "string", "password", "type", "string", "format",
                      "password", "required", "username", "password"))));
    set_path(paths, base, "auth/login", "post", login);
}

/* ---- HEAD -------------------------------------------------------------------------------- */

/* HEAD is answered wherever GET is, with GET's status and headers and no body: each GET
 * operation gets a twin, so clients and generators see it as a real operation. */
static void add_heads(json_t *paths)
{
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        json_t *get = json_object_get(item, "get");
        if (!get)
            continue;
        json_t *head = json_deep_copy(get);
        char text[400];
        snprintf(text, sizeof text, "head_%s",
                 json_string_value(json_object_get(get, "operationId")));
        json_object_set_new(head, "operationId", json_string(text));
        snprintf(text, sizeof text, "%s (HEAD: the status and headers of GET, no body)",
                 json_string_value(json_object_get(get, "summary")));
        json_object_set_new(head, "summary", json_string(text));
        const char *code;
        json_t *response;
        json_object_foreach(json_object_get(head, "responses"), code, response)
            json_object_del(response, "content"); /* shared $ref responses keep theirs */
        json_object_set_new(item, "head", head);
    }
}

/* ---- the document ----------------------------------------------------------------------- */

static json_t *error_schema(void)
{
    json_t *item =
        json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s,s:i}},s:[s],s:b}", "type", "object", "properties",
                  "field", "type", "string", "message", "type", "string", "row", "type", "integer",
                  "minimum", 0, "required", "message", "additionalProperties", 0);
    json_object_set_new(json_object_get(json_object_get(item, "properties"), "row"), "description",
                        json_string("create of many: the index of the row at fault, from 0"));
    return json_pack("{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:{s:s,s:i,s:i},s:{s:s},s:{s:s},s:{s:s,"
                     "s:o}},s:b}},s:b}",
                     "type", "object", "required", "error", "properties", "error", "type", "object",
                     "required", "status", "message", "properties", "status", "type", "integer",
                     "minimum", 400, "maximum", 599, "message", "type", "string", "field", "type",
                     "string", "errors", "type", "array", "items", item, "additionalProperties", 0,
                     "additionalProperties", 0);
}

static const char document_description[] =
    "CRUD routes for the tables declared in the server's config (PiccoloCRUD style).\n\n"
    "- Every path is also answered without its trailing slash (/movie and /movie/ are the "
    "same route; x-restable-trailing-slash).\n"
    "- HEAD is answered wherever GET is: the same status and headers, no body.\n"
    "- OPTIONS on any path answers 204 with Allow (no auth); any other method a path does not "
    "list answers 405 with Allow (components/responses/MethodNotAllowed).\n"
    "- Every response carries X-Request-Id. With server.cors.origins, a listed Origin also "
    "gets the Access-Control-* headers.\n"
    "- Errors are {\"error\": {\"status\", \"message\", \"field\"?, \"errors\"?}}; the errors any "
    "request can get (400, 413, 414, 431, 500, 501, 503 with Retry-After, 505) are listed on "
    "every operation.";

static void build(void)
{
    const struct cfg_config *config = openapi_config;
    json_t *paths = json_object();
    json_t *components = json_pack("{s:{s:o},s:o,s:o,s:o}", "schemas", "Error", error_schema(),
                                   "responses", error_components(config), "headers",
                                   header_components(), "parameters", json_object());
    add_operator_routes(paths, config);
    for (size_t i = 0; i < config->table_count; i++)
        srv_openapi_add_table(paths, components, config, &config->tables[i]);
    add_heads(paths);
    if (config->auth.algorithm != CFG_JWT_NONE)
        json_object_set_new(components, "securitySchemes",
                            json_pack("{s:{s:s,s:s,s:s,s:s}}", "bearer", "type", "http", "scheme",
                                      "bearer", "bearerFormat", "JWT", "description",
                                      "a JWT: the scopes and roles listed on an operation are "
                                      "its grants, any one of which suffices"));
    json_t *document = json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:o,s:s}", "openapi", "3.1.0", "info",
                                 "title", "restable", "version", RESTABLE_VERSION, "description",
                                 document_description, "paths", paths, "components", components,
                                 "x-restable-trailing-slash", "optional");
    openapi_text = document ? json_dumps(document, JSON_COMPACT) : NULL;
    json_decref(document);
}

void srv_handle_openapi(struct srv_request *request)
{
    openapi_config = request->app->config;
    pthread_once(&built_once, build);
    if (!openapi_text) {
        srv_respond_error(request, 500, NULL, "internal error: cannot render the API description");
        return;
    }
    size_t length = strlen(openapi_text);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, openapi_text, MHD_RESPMEM_PERSISTENT);
    srv_respond_with(request, 200, response, length, "application/json; charset=utf-8");
}
