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

json_t *srv_openapi_response(const char *description, json_t *schema)
{
    return json_pack("{s:s,s:o}", "description", description, "content",
                     srv_openapi_json_content(schema));
}

static const struct {
    const char *code, *name, *description;
} error_responses[] = {
    {"400", "BadRequest", "malformed request: unknown parameter or column, unparsable value"},
    {"401", "Unauthorized", "missing, invalid or expired token"},
    {"403", "Forbidden", "the token does not grant this, or the page size is over the limit"},
    {"404", "NotFound", "no such row"},
    {"409", "Conflict", "a unique or foreign key constraint refused the write"},
    {"413", "PayloadTooLarge", "the body is larger than server.max_body_bytes"},
    {"415", "UnsupportedMediaType", "the body is not application/json"},
    {"422", "UnprocessableEntity", "the body does not validate against the table's columns"},
    {"503", "ServiceUnavailable", "the database is unavailable or the pool is exhausted"},
};

void srv_openapi_add_errors(json_t *responses, const char *const *codes)
{
    for (; *codes; codes++)
        for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++)
            if (strcmp(error_responses[i].code, *codes) == 0)
                json_object_set_new(responses, *codes,
                                    srv_openapi_ref("responses", error_responses[i].name));
}

static json_t *error_components(void)
{
    json_t *responses = json_object();
    for (size_t i = 0; i < sizeof error_responses / sizeof error_responses[0]; i++) {
        json_t *response = srv_openapi_response(error_responses[i].description,
                                                srv_openapi_ref("schemas", "Error"));
        if (strcmp(error_responses[i].code, "401") == 0)
            json_object_set_new(response, "headers",
                                json_pack("{s:{s:s,s:{s:s}}}", "WWW-Authenticate", "description",
                                          "Bearer, with error=\"invalid_token\" "
                                          "when a token was refused",
                                          "schema", "type", "string"));
        if (strcmp(error_responses[i].code, "503") == 0)
            json_object_set_new(response, "headers",
                                json_pack("{s:{s:s,s:{s:s}}}", "Retry-After", "description",
                                          "seconds to wait", "schema", "type", "integer"));
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
    if (config->auth.algorithm == CFG_JWT_NONE) {
        json_object_set_new(operation, "security", json_array()); /* no auth at all */
        return;
    }
    json_object_set_new(operation, "x-restable-policy", policy_description(policy));
    json_t *security = json_array();
    json_t *responses = json_object_get(operation, "responses");
    /* a token presented on a public route is still verified: 401 is always possible */
    srv_openapi_add_errors(responses, (const char *const[]){"401", NULL});
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
    json_t *operation =
        json_pack("{s:s,s:s,s:o}", "operationId", id, "summary", summary, "responses", responses);
    json_object_set_new(operation, "tags", json_pack("[s]", table ? table : "operations"));
    return operation;
}

/* ---- the operator routes ---------------------------------------------------------------- */

static json_t *status_schema(void)
{
    return json_pack("{s:s,s:{s:{s:s}}}", "type", "object", "properties", "status", "type",
                     "string");
}

static void add_public_get(json_t *paths, const char *base, const char *path, const char *id,
                           const char *summary, json_t *ok, bool can_be_unavailable)
{
    json_t *responses = json_pack("{s:o}", "200", ok);
    if (can_be_unavailable)
        srv_openapi_add_errors(responses, (const char *const[]){"503", NULL});
    json_t *operation = srv_openapi_operation(id, NULL, summary, responses);
    json_object_set_new(operation, "security", json_array());
    char full[300];
    snprintf(full, sizeof full, "%s%s", base, path);
    json_object_set_new(paths, full, json_pack("{s:o}", "get", operation));
}

static void add_operator_routes(json_t *paths, const struct cfg_config *config)
{
    const char *base = config->server.base_path;
    add_public_get(paths, base, "healthz", "healthz", "the process is up (no database work)",
                   srv_openapi_response("up", status_schema()), false);
    add_public_get(paths, base, "readyz", "readyz",
                   "the database answers; 503 when it does not or while shutting down",
                   srv_openapi_response("ready", status_schema()), true);
    add_public_get(
        paths, base, "openapi.json", "openapi", "this document",
        srv_openapi_response("the OpenAPI 3.1 document", json_pack("{s:s}", "type", "object")),
        false);
    add_public_get(paths, base, "docs", "docs", "this document rendered by Swagger UI",
                   json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", "an HTML page", "content",
                             "text/html", "schema", "type", "string"),
                   false);

    json_t *metrics = srv_openapi_operation(
        "metrics", NULL, "Prometheus metrics",
        json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "Prometheus text format",
                  "content", "text/plain", "schema", "type", "string"));
    if (config->server.metrics_public)
        json_object_set_new(metrics, "security", json_array());
    else
        srv_openapi_apply_policy(metrics, config, &config->auth.default_read);
    char path[300];
    snprintf(path, sizeof path, "%smetrics", base);
    json_object_set_new(paths, path, json_pack("{s:o}", "get", metrics));

    if (!config->auth.login_enabled)
        return;
    json_t *login = srv_openapi_operation(
        "login", NULL, "exchange a username and password for a token",
        json_pack(
            "{s:o}", "200",
            srv_openapi_response("a bearer token",
                                 json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}", "type", "object",
                                           "properties", "token", "type", "string", "token_type",
                                           "type", "string", "expires_in", "type", "integer"))));
    srv_openapi_add_errors(json_object_get(login, "responses"),
                           (const char *const[]){"400", "401", "415", "422", "503", NULL});
    json_object_set_new(login, "security", json_array());
    json_object_set_new(
        login, "requestBody",
        json_pack("{s:b,s:o}", "required", 1, "content",
                  srv_openapi_json_content(json_pack(
                      "{s:s,s:{s:{s:s},s:{s:s,s:s}},s:[s,s]}", "type", "object", "properties",
                      "username", "type", "string", "password", "type", "string", "format",
                      "password", "required", "username", "password"))));
    snprintf(path, sizeof path, "%sauth/login", base);
    json_object_set_new(paths, path, json_pack("{s:o}", "post", login));
}

/* ---- the document ----------------------------------------------------------------------- */

static json_t *error_schema(void)
{
    return json_pack(
        "{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:{s:s,s:{s:{s:s},"
        "s:{s:s}}}}}}}}",
        "type", "object", "required", "error", "properties", "error", "type", "object", "required",
        "status", "message", "properties", "status", "type", "integer", "message", "type", "string",
        "field", "type", "string", "errors", "type", "array", "items", "type", "object",
        "properties", "field", "type", "string", "message", "type", "string");
}

static void build(void)
{
    const struct cfg_config *config = openapi_config;
    json_t *paths = json_object();
    json_t *schemas = json_pack("{s:o}", "Error", error_schema());
    add_operator_routes(paths, config);
    for (size_t i = 0; i < config->table_count; i++)
        srv_openapi_add_table(paths, schemas, config, &config->tables[i]);
    json_t *components =
        json_pack("{s:o,s:o}", "schemas", schemas, "responses", error_components());
    if (config->auth.algorithm != CFG_JWT_NONE)
        json_object_set_new(components, "securitySchemes",
                            json_pack("{s:{s:s,s:s,s:s,s:s}}", "bearer", "type", "http", "scheme",
                                      "bearer", "bearerFormat", "JWT", "description",
                                      "a JWT: the scopes and roles listed on an operation are "
                                      "its grants, any one of which suffices"));
    json_t *document =
        json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:o}", "openapi", "3.1.0", "info", "title", "restable",
                  "version", RESTABLE_VERSION, "description",
                  "CRUD routes for the tables declared in the server's config (PiccoloCRUD style). "
                  "Errors are {\"error\": {\"status\", \"message\", \"field\"?}}.",
                  "paths", paths, "components", components);
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
