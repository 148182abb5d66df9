/*
 * server/openapi.c — GET /openapi.json: an OpenAPI 3.1 description of every route of every
 * declared table, built once from the config on first use (the config never changes).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

static pthread_once_t built_once = PTHREAD_ONCE_INIT;
static char *openapi_text;
static const struct cfg_config *openapi_config;

static json_t *error_response(const char *description)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", description, "content",
                     "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *json_body(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *ref(const char *table, const char *suffix)
{
    char text[200];
    snprintf(text, sizeof text, "#/components/schemas/%s%s", table, suffix);
    return json_pack("{s:s}", "$ref", text);
}

static json_t *query_parameter(const char *name, const char *description, const char *type)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "query", "description",
                     description, "required", 0, "schema", "type", type);
}

static json_t *list_parameters(const struct cfg_table *table)
{
    json_t *parameters = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue;
        char name[96];
        json_array_append_new(parameters, query_parameter(column->name, "filter", "string"));
        snprintf(name, sizeof name, "%s__operator", column->name);
        json_array_append_new(parameters, query_parameter(name, "lt, lte, gt, gte, e, ne, "
                                                          "is_null, not_null", "string"));
        if (orm_column_is_text(column)) {
            snprintf(name, sizeof name, "%s__match", column->name);
            json_array_append_new(parameters, query_parameter(name, "contains, exact, starts, "
                                                              "ends", "string"));
        }
    }
    static const char *reserved[][3] = {
        {"__ids", "comma-separated primary keys", "string"},
        {"__order", "columns, - for descending", "string"},
        {"__page", "1-based page", "integer"},
        {"__page_size", "rows per page", "integer"},
        {"__visible_fields", "fields to return, fk.col nests", "string"},
        {"__readable", "add <fk>_readable", "boolean"},
        {"__range_header", "add Content-Range", "boolean"},
        {"__range_header_name", "name of the range header", "string"},
    };
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        json_array_append_new(parameters,
                              query_parameter(reserved[i][0], reserved[i][1], reserved[i][2]));
    return parameters;
}

static json_t *operation(const char *summary, const char *tag, json_t *responses)
{
    json_t *op = json_pack("{s:s,s:[s],s:o}", "summary", summary, "tags", tag, "responses",
                           responses);
    json_object_set_new(responses, "400", error_response("malformed request"));
    json_object_set_new(responses, "401", error_response("missing or invalid token"));
    json_object_set_new(responses, "403", error_response("not permitted"));
    json_object_set_new(responses, "503", error_response("database unavailable"));
    return op;
}

static void add_table(json_t *paths, json_t *schemas, const struct cfg_table *table,
                      const char *base)
{
    json_t *row = json_object();
    json_t *properties = json_object();
    json_t *writable = json_object();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        json_t *schema = orm_column_json_schema(column);
        if (!column->is_secret)
            json_object_set(properties, column->name, schema);
        json_object_set_new(writable, column->name, schema);
    }
    json_object_set_new(row, "type", json_string("object"));
    json_object_set_new(row, "properties", properties);
    json_object_set_new(schemas, table->name, row);
    char input_name[128];
    snprintf(input_name, sizeof input_name, "%sInput", table->name);
    json_object_set_new(schemas, input_name,
                        json_pack("{s:s,s:o}", "type", "object", "properties", writable));

    const char *tag = table->name;
    char path[300];
    json_t *collection = json_object();
    json_t *list = operation("list rows", tag,
                             json_pack("{s:{s:s,s:o}}", "200", "description", "a page of rows",
                                       "content",
                                       json_body(json_pack("{s:s,s:{s:{s:s,s:o}}}", "type",
                                                           "object", "properties", "rows",
                                                           "type", "array", "items",
                                                           ref(table->name, "")))));
    json_object_set_new(list, "parameters", list_parameters(table));
    json_object_set_new(collection, "get", list);
    if (!table->read_only) {
        json_t *create = operation("create one row or many", tag,
                                   json_pack("{s:{s:s},s:o,s:o}", "201", "description",
                                             "the new primary keys", "409",
                                             error_response("conflict"), "422",
                                             error_response("validation failed")));
        json_object_set_new(create, "requestBody",
                            json_pack("{s:b,s:o}", "required", 1, "content",
                                      json_body(json_pack("{s:[o,{s:s,s:o}]}", "oneOf",
                                                          ref(table->name, "Input"), "type",
                                                          "array", "items",
                                                          ref(table->name, "Input")))));
        json_object_set_new(collection, "post", create);
        if (table->allow_bulk_delete)
            json_object_set_new(collection, "delete",
                                operation("delete matching rows", tag,
                                          json_pack("{s:{s:s}}", "204", "description",
                                                    "deleted")));
        if (table->allow_bulk_update)
            json_object_set_new(collection, "patch",
                                operation("update the rows named by __ids", tag,
                                          json_pack("{s:{s:s}}", "200", "description",
                                                    "the updated rows")));
    }
    snprintf(path, sizeof path, "%s%s/", base, table->name);
    json_object_set_new(paths, path, collection);

    static const char *extras[][2] = {{"count", "count matching rows"},
                                      {"schema", "JSON Schema of a row"},
                                      {"ids", "primary keys and readable values"},
                                      {"new", "a row filled with defaults"},
                                      {"references", "tables that point here"}};
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        snprintf(path, sizeof path, "%s%s/%s/", base, table->name, extras[i][0]);
        json_object_set_new(paths, path,
                            json_pack("{s:o}", "get",
                                      operation(extras[i][1], tag,
                                                json_pack("{s:{s:s}}", "200", "description",
                                                          "ok"))));
    }

    json_t *one = json_object();
    json_object_set_new(one, "parameters",
                        json_pack("[{s:s,s:s,s:b,s:o}]", "name", "pk", "in", "path", "required", 1,
                                  "schema", orm_column_json_schema(cfg_primary_key(table))));
    json_object_set_new(one, "get",
                        operation("one row", tag,
                                  json_pack("{s:{s:s,s:o},s:o}", "200", "description", "the row",
                                            "content", json_body(ref(table->name, "")), "404",
                                            error_response("no such row"))));
    if (!table->read_only) {
        json_object_set_new(one, "put", operation("replace the row", tag,
                                                  json_pack("{s:{s:s},s:o,s:o}", "204",
                                                            "description", "replaced", "404",
                                                            error_response("no such row"),
                                                            "422", error_response("invalid"))));
        json_object_set_new(one, "patch", operation("update some columns", tag,
                                                    json_pack("{s:{s:s},s:o,s:o}", "200",
                                                              "description", "the updated row",
                                                              "404", error_response("no such row"),
                                                              "422", error_response("invalid"))));
        json_object_set_new(one, "delete", operation("delete the row", tag,
                                                     json_pack("{s:{s:s},s:o}", "204",
                                                               "description", "deleted", "404",
                                                               error_response("no such row"))));
    }
    snprintf(path, sizeof path, "%s%s/{pk}/", base, table->name);
    json_object_set_new(paths, path, one);
}

static void build(void)
{
    const struct cfg_config *config = openapi_config;
    json_t *paths = json_object();
    json_t *schemas = json_object();
    json_object_set_new(
        schemas, "Error",
        json_pack("{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}}}", "type", "object",
                  "properties", "error", "type", "object", "properties", "status", "type",
                  "integer", "message", "type", "string", "field", "type", "string", "errors",
                  "type", "array"));
    for (size_t i = 0; i < config->table_count; i++)
        add_table(paths, schemas, &config->tables[i], config->server.base_path);
    json_t *document = json_pack(
        "{s:s,s:{s:s,s:s},s:o,s:{s:o}}", "openapi", "3.1.0", "info", "title", "restable",
        "version", RESTABLE_VERSION, "paths", paths, "components", "schemas", schemas);
    if (config->auth.algorithm != CFG_JWT_NONE) {
        json_object_set_new(json_object_get(document, "components"), "securitySchemes",
                            json_pack("{s:{s:s,s:s,s:s}}", "bearer", "type", "http", "scheme",
                                      "bearer", "bearerFormat", "JWT"));
        json_object_set_new(document, "security", json_pack("[{s:[]}]", "bearer"));
    }
    openapi_text = json_dumps(document, JSON_COMPACT);
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
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(openapi_text), openapi_text, MHD_RESPMEM_PERSISTENT);
    srv_respond_empty(request, 200);
    MHD_destroy_response(request->response);
    request->response = response;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json; charset=utf-8");
}
