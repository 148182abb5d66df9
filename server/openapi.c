/*
 * server/openapi.c — GET /openapi.json: an OpenAPI 3.1 description of every route, built once
 * from the config on first use (the config never changes) and then served from memory. This
 * file holds the document's frame (info, the operator routes, the shared headers and the
 * bearer scheme); each table's part is in server/openapi_table.c, and the builders both use
 * (responses, shared errors, how a policy becomes an operation's security) in
 * server/openapi_build.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/openapi_internal.h"

static pthread_once_t built_once = PTHREAD_ONCE_INIT;
static char *openapi_text;
static const struct cfg_config *openapi_config;

/* ---- the shared headers ----------------------------------------------------------------- */

static json_t *header(const char *description, json_t *schema)
{
    return json_pack("{s:s,s:o}", "description", description, "schema", schema);
}

static json_t *header_components(void)
{
    json_t *headers = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "X-Request-Id",
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
        "Content-Disposition",
        header("the export is a download: attachment; filename=\"TABLE.csv\"",
               json_pack("{s:s,s:s}", "type", "string", "pattern",
                         "^attachment; filename=\"[a-z_][a-z0-9_]*\\.csv\"$")),
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
    json_object_set_new(
        headers, "Link",
        header("with __cursor, when a next page exists: <URL of the next page>; rel=\"next\", "
               "the URL being this request's path and query (an absolute-path reference, "
               "server.base_path included) with __cursor replaced by next_cursor",
               json_pack("{s:s,s:s}", "type", "string", "pattern", "^<[^<>]*>; rel=\"next\"$")));
    return headers;
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

/* A public HTML page served from installed files: 404 when they are not installed. */
static void set_page(json_t *paths, const char *base, const char *path, const char *id,
                     const char *summary)
{
    json_t *page = srv_openapi_text_response("an HTML page", "text/html");
    srv_openapi_add_header(page, "Content-Security-Policy");
    srv_openapi_add_header(page, "X-Content-Type-Options");
    json_t *operation = token_free_get(id, summary, page);
    srv_openapi_add_errors(json_object_get(operation, "responses"),
                           (const char *const[]){"404", NULL});
    set_path(paths, base, path, "get", operation);
}

/* GET /admin/ (also /admin) and /admin/{file}: the admin UI's page and its built files. */
static void add_admin_routes(json_t *paths, const char *base)
{
    set_page(paths, base, "admin/", "admin", "the admin UI (its data comes from this API)");

    json_t *asset = srv_openapi_empty_response(
        "the file; gzip-encoded when Accept-Encoding allows it (Vary: Accept-Encoding); files "
        "under assets/ are named by their content's hash and cached for a year");
    json_object_set_new(asset, "content",
                        json_pack("{s:{s:{s:s}},s:{s:{s:s}},s:{s:{s:s}}}", "text/html", "schema",
                                  "type", "string", "text/javascript", "schema", "type", "string",
                                  "text/css", "schema", "type", "string"));
    srv_openapi_add_header(asset, "X-Content-Type-Options");
    srv_openapi_add_header(asset, "Content-Security-Policy"); /* on index.html */
    json_t *file = token_free_get("admin_file", "a file of the admin UI", asset);
    srv_openapi_add_errors(json_object_get(file, "responses"), (const char *const[]){"404", NULL});
    set_path(paths, base, "admin/{file}", "get", file);
    char full[300];
    snprintf(full, sizeof full, "%sadmin/{file}", base);
    json_object_set_new(json_object_get(paths, full), "parameters",
                        json_pack("[{s:s,s:s,s:s,s:b,s:{s:s,s:s,s:[s]}}]", "name", "file", "in",
                                  "path", "description",
                                  "the file's path in the built app (assets/index-HASH.js; its "
                                  "slashes may be sent as they are)",
                                  "required", 1, "schema", "type", "string", "pattern",
                                  "^[A-Za-z0-9_-][A-Za-z0-9._/-]*$", "examples", "index.html"));
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
    set_page(paths, base, "docs", "docs", "this document rendered by Swagger UI");

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

    if (config->admin.enabled)
        add_admin_routes(paths, base);

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
    json_t *operation = json_pack("{s:s,s:i,s:s}", "type", "integer", "minimum", 0, "description",
                                  "POST /batch/: the index of the operation at fault, from 0");
    return json_pack("{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:{s:s,s:i,s:i},s:{s:s},s:{s:s},s:{s:s,"
                     "s:o},s:o},s:b}},s:b}",
                     "type", "object", "required", "error", "properties", "error", "type", "object",
                     "required", "status", "message", "properties", "status", "type", "integer",
                     "minimum", 400, "maximum", 599, "message", "type", "string", "field", "type",
                     "string", "errors", "type", "array", "items", item, "operation", operation,
                     "additionalProperties", 0, "additionalProperties", 0);
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
                                   "responses", srv_openapi_error_components(config), "headers",
                                   header_components(), "parameters", json_object());
    add_operator_routes(paths, config);
    srv_openapi_add_batch(paths, config);
    for (size_t i = 0; i < config->table_count; i++)
        srv_openapi_add_table(paths, components, config, &config->tables[i]);
    add_heads(paths);
    if (config->auth.algorithm != CFG_JWT_NONE)
        json_object_set_new(components, "securitySchemes",
                            json_pack("{s:{s:s,s:s,s:s,s:s,s:s,s:s}}", "bearer", "type", "http",
                                      "scheme", "bearer", "bearerFormat", "JWT", "description",
                                      "a JWT: the scopes and roles listed on an operation are "
                                      "its grants, any one of which suffices; the token's "
                                      "scopes and roles sit at the JSON Pointers "
                                      "x-restable-scope-claim and x-restable-roles-claim",
                                      "x-restable-scope-claim", config->auth.scope_claim,
                                      "x-restable-roles-claim", config->auth.roles_claim));
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
