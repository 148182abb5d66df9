/*
 * server/openapi_table.c — one table's part of the OpenAPI document: its row schemas (the
 * same JSON Schema per column as /T/schema/), its query parameters (a filter per visible
 * column typed by the column, with its operators and text match modes, and the reserved
 * __order, __page, __page_size...), and the operations of /T/, /T/{pk}/ and the sub-routes,
 * each with its response schemas, its error responses and its table policy as security.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "server/openapi_internal.h"

static bool is_required_on_create(const struct cfg_column *column)
{
    return !column->is_nullable && column->default_kind == CFG_DEFAULT_NONE &&
           column->type != CFG_TYPE_SERIAL && column->type != CFG_TYPE_BIGSERIAL;
}

/* The schema of one filter value: the column's value type without nullability, default or
 * read/write markers (for an array column, its element's type: tags=x means "contains x"). */
static json_t *filter_value_schema(const struct cfg_column *column)
{
    json_t *full = orm_column_json_schema(column);
    json_t *value = json_object_get(full, "items");
    value = json_deep_copy(value ? value : full);
    json_decref(full);
    json_t *type = json_object_get(value, "type");
    if (json_is_array(type))
        json_object_set(value, "type", json_array_get(type, 0));
    json_t *choices = json_object_get(value, "enum");
    if (json_is_array(choices) &&
        json_is_null(json_array_get(choices, json_array_size(choices) - 1)))
        json_array_remove(choices, json_array_size(choices) - 1);
    static const char *const dropped[] = {"default", "readOnly", "writeOnly", "title",
                                          "description"};
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        json_object_del(value, dropped[i]);
    return value;
}

static json_t *query_parameter(const char *name, const char *description, json_t *schema)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", "query", "description",
                     description, "required", 0, "schema", schema);
}

static void add_filters(json_t *parameters, const struct cfg_table *table)
{
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue;
        bool is_text = orm_column_is_text(column);
        char description[320];
        snprintf(description, sizeof description,
                 "filter on %s (%s): %s; repeat for any of several values; the value null "
                 "matches NULL",
                 column->name, cfg_type_name(column->type),
                 column->type == CFG_TYPE_ARRAY ? "rows whose array contains the value"
                 : is_text                      ? "case-insensitive contains, see __match"
                                                : "equals, see __operator");
        json_t *filter = query_parameter(
            column->name, description,
            json_pack("{s:s,s:o}", "type", "array", "items", filter_value_schema(column)));
        json_object_set_new(filter, "style", json_string("form"));
        json_object_set_new(filter, "explode", json_true());
        json_array_append_new(parameters, filter);

        char name[96];
        snprintf(name, sizeof name, "%s__operator", column->name);
        json_array_append_new(
            parameters,
            query_parameter(name, "comparison applied to the filter on this column",
                            json_pack("{s:s,s:[s,s,s,s,s,s,s,s]}", "type", "string", "enum", "e",
                                      "ne", "lt", "lte", "gt", "gte", "is_null", "not_null")));
        if (is_text) {
            snprintf(name, sizeof name, "%s__match", column->name);
            json_array_append_new(
                parameters, query_parameter(name,
                                            "how text matches: contains (default), exact "
                                            "(case-sensitive), starts, ends",
                                            json_pack("{s:s,s:[s,s,s,s]}", "type", "string", "enum",
                                                      "contains", "exact", "starts", "ends")));
        }
    }
}

static json_t *string_schema(void)
{
    return json_pack("{s:s}", "type", "string");
}

static json_t *boolean_schema(void)
{
    return json_pack("{s:s}", "type", "boolean");
}

static void add_reserved(json_t *parameters, const struct cfg_table *table, bool with_paging)
{
    json_array_append_new(
        parameters,
        query_parameter("__ids", "only these primary keys, comma-separated", string_schema()));
    if (!with_paging)
        return;
    json_array_append_new(parameters,
                          query_parameter("__order",
                                          "columns to order by, comma-separated; a "
                                          "leading - is descending (default: primary key "
                                          "descending)",
                                          string_schema()));
    json_array_append_new(
        parameters, query_parameter("__page", "1-based page number",
                                    json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1,
                                              "maximum", INT_MAX, "default", 1)));
    json_array_append_new(
        parameters,
        query_parameter("__page_size", "rows per page",
                        json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum",
                                  table->max_page_size, "default", table->page_size)));
    json_array_append_new(parameters,
                          query_parameter("__visible_fields",
                                          "fields to return, "
                                          "comma-separated; fk.col follows a foreign key",
                                          string_schema()));
    json_array_append_new(parameters, query_parameter("__readable",
                                                      "add FK_readable (the referenced row's "
                                                      "readable value) for each foreign key FK",
                                                      boolean_schema()));
    json_array_append_new(
        parameters,
        query_parameter("__range_header", "add a Content-Range header", boolean_schema()));
    json_array_append_new(
        parameters, query_parameter("__range_header_name", "name of that header", string_schema()));
}

static json_t *list_parameters(const struct cfg_table *table, bool with_paging)
{
    json_t *parameters = json_array();
    add_filters(parameters, table);
    add_reserved(parameters, table, with_paging);
    return parameters;
}

static json_t *row_fields_parameters(void)
{
    return json_pack(
        "[o,o]",
        query_parameter("__visible_fields", "fields to return, comma-separated", string_schema()),
        query_parameter("__readable",
                        "add FK_readable (the referenced row's "
                        "readable value) for each foreign key FK",
                        boolean_schema()));
}

/* "movie", "movieInput" (create / replace: required columns), "moviePatch" (any subset) */
static void add_schemas(json_t *schemas, const struct cfg_table *table)
{
    json_t *visible = json_object(), *writable = json_object(), *required = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        json_t *schema = orm_column_json_schema(column);
        if (!column->is_secret)
            json_object_set(visible, column->name, schema);
        json_object_set_new(writable, column->name, schema);
        if (is_required_on_create(column))
            json_array_append_new(required, json_string(column->name));
    }
    char name[128];
    json_object_set_new(
        schemas, table->name,
        json_pack("{s:s,s:s,s:o}", "title", table->name, "type", "object", "properties", visible));
    snprintf(name, sizeof name, "%sInput", table->name);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:O,s:o,s:b}", "type", "object", "properties", writable,
                                  "required", required, "additionalProperties", 0));
    snprintf(name, sizeof name, "%sPatch", table->name);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:o,s:b}", "type", "object", "properties", writable,
                                  "additionalProperties", 0));
}

static json_t *table_ref(const struct cfg_table *table, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", table->name, suffix);
    return srv_openapi_ref("schemas", name);
}

static json_t *rows_schema(const struct cfg_table *table)
{
    return json_pack("{s:s,s:{s:{s:s,s:o}},s:[s]}", "type", "object", "properties", "rows", "type",
                     "array", "items", table_ref(table, ""), "required", "rows");
}

static json_t *request_body(json_t *schema)
{
    return json_pack("{s:b,s:o}", "required", 1, "content", srv_openapi_json_content(schema));
}

/* Adds an operation under method at item, with its errors and its policy. */
static json_t *add_operation(json_t *item, const char *method, const struct cfg_config *config,
                             const struct cfg_table *table, const struct cfg_policy *policy,
                             const char *id_prefix, const char *summary, json_t *responses,
                             const char *const *errors)
{
    srv_openapi_add_errors(responses, errors);
    json_t *operation = srv_openapi_operation(id_prefix, table->name, summary, responses);
    srv_openapi_apply_policy(operation, config, policy);
    json_object_set_new(item, method, operation);
    return operation;
}

static void add_collection(json_t *paths, const struct cfg_config *config,
                           const struct cfg_table *table, const char *path)
{
    static const char *const read_errors[] = {"400", "503", NULL};
    static const char *const write_errors[] = {"400", "409", "413", "415", "422", "503", NULL};
    json_t *item = json_object();
    json_t *list = add_operation(
        item, "get", config, table, &table->read, "list", "list rows (filters, order, pages)",
        json_pack("{s:o}", "200", srv_openapi_response("a page of rows", rows_schema(table))),
        read_errors);
    json_object_set_new(list, "parameters", list_parameters(table, true));
    srv_openapi_add_errors(json_object_get(list, "responses"),
                           (const char *const[]){"403", NULL}); /* page size over the limit */
    if (!table->read_only) {
        json_t *pk = orm_column_json_schema(cfg_primary_key(table));
        json_t *keys = json_pack("{s:s,s:{s:{s:o}}}", "type", "array", "items", "properties",
                                 cfg_primary_key(table)->name, pk);
        json_t *create = add_operation(
            item, "post", config, table, &table->write, "create",
            "create one row (an object) or many (an array)",
            json_pack("{s:o}", "201", srv_openapi_response("the new primary keys", keys)),
            write_errors);
        json_object_set_new(
            create, "requestBody",
            request_body(json_pack("{s:[o,{s:s,s:o}]}", "oneOf", table_ref(table, "Input"), "type",
                                   "array", "items", table_ref(table, "Input"))));
        if (table->allow_bulk_delete) {
            json_t *bulk =
                add_operation(item, "delete", config, table, &table->delete_, "bulk_delete",
                              "delete the rows matching the filters",
                              json_pack("{s:{s:s}}", "204", "description", "deleted"), read_errors);
            json_object_set_new(bulk, "parameters", list_parameters(table, false));
        }
        if (table->allow_bulk_update) {
            json_t *bulk = add_operation(
                item, "patch", config, table, &table->write, "bulk_update",
                "update the rows named by __ids",
                json_pack("{s:o}", "200",
                          srv_openapi_response("the updated rows", rows_schema(table))),
                write_errors);
            json_object_set_new(bulk, "parameters",
                                json_pack("[{s:s,s:s,s:s,s:b,s:o}]", "name", "__ids", "in", "query",
                                          "description",
                                          "the primary keys to update, comma-separated", "required",
                                          1, "schema", string_schema()));
            json_object_set_new(bulk, "requestBody", request_body(table_ref(table, "Patch")));
        }
    }
    json_object_set_new(paths, path, item);
}

static void add_sub_routes(json_t *paths, const struct cfg_config *config,
                           const struct cfg_table *table, const char *base)
{
    static const char *const errors[] = {"400", "503", NULL};
    static const char *const no_db_errors[] = {"400", NULL};
    char path[300];
    json_t *item;

    item = json_object();
    json_t *count = add_operation(
        item, "get", config, table, &table->read, "count", "count the rows matching the filters",
        json_pack("{s:o}", "200",
                  srv_openapi_response("the count and the default page size",
                                       json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "type", "object",
                                                 "properties", "count", "type", "integer",
                                                 "page_size", "type", "integer"))),
        errors);
    json_object_set_new(count, "parameters", list_parameters(table, true));
    snprintf(path, sizeof path, "%s%s/count/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(
        item, "get", config, table, &table->read, "schema",
        "JSON Schema of a row, with PiccoloCRUD's extra",
        json_pack("{s:o}", "200",
                  srv_openapi_response("the schema", json_pack("{s:s}", "type", "object"))),
        no_db_errors);
    snprintf(path, sizeof path, "%s%s/schema/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    json_t *ids = add_operation(
        item, "get", config, table, &table->read, "ids", "primary keys with their readable value",
        json_pack("{s:o}", "200",
                  srv_openapi_response("{\"<pk>\": \"<readable>\"}",
                                       json_pack("{s:s,s:{s:s}}", "type", "object",
                                                 "additionalProperties", "type", "string"))),
        errors);
    json_object_set_new(
        ids, "parameters",
        json_pack("[o,o,o]",
                  query_parameter("search", "case-insensitive search of the readable value",
                                  string_schema()),
                  query_parameter("limit", "at most this many",
                                  json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 1,
                                            "maximum", table->max_page_size)),
                  query_parameter("offset", "skip this many",
                                  json_pack("{s:s,s:i}", "type", "integer", "minimum", 0))));
    snprintf(path, sizeof path, "%s%s/ids/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(
        item, "get", config, table, &table->read, "new", "a new row filled with defaults",
        json_pack("{s:o}", "200", srv_openapi_response("the defaults", table_ref(table, "Patch"))),
        no_db_errors);
    snprintf(path, sizeof path, "%s%s/new/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(item, "get", config, table, &table->read, "references",
                  "tables whose foreign keys point here",
                  json_pack("{s:o}", "200",
                            srv_openapi_response(
                                "the referencing tables and columns",
                                json_pack("{s:s,s:{s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s}}}}}}", "type",
                                          "object", "properties", "references", "type", "array",
                                          "items", "type", "object", "properties", "tableName",
                                          "type", "string", "columnName", "type", "string"))),
                  no_db_errors);
    snprintf(path, sizeof path, "%s%s/references/", base, table->name);
    json_object_set_new(paths, path, item);
}

static void add_row(json_t *paths, const struct cfg_config *config, const struct cfg_table *table,
                    const char *path)
{
    static const char *const read_errors[] = {"400", "404", "503", NULL};
    static const char *const write_errors[] = {"400", "404", "409", "413",
                                               "415", "422", "503", NULL};
    json_t *item = json_object();
    json_object_set_new(item, "parameters",
                        json_pack("[{s:s,s:s,s:s,s:b,s:o}]", "name", "pk", "in", "path",
                                  "description", "the row's primary key", "required", 1, "schema",
                                  filter_value_schema(cfg_primary_key(table))));
    json_t *get = add_operation(
        item, "get", config, table, &table->read, "get", "one row",
        json_pack("{s:o}", "200", srv_openapi_response("the row", table_ref(table, ""))),
        read_errors);
    json_object_set_new(get, "parameters", row_fields_parameters());
    if (!table->read_only) {
        json_t *put =
            add_operation(item, "put", config, table, &table->write, "replace",
                          "replace the row (columns left out return to their default)",
                          json_pack("{s:{s:s}}", "204", "description", "replaced"), write_errors);
        json_object_set_new(put, "requestBody", request_body(table_ref(table, "Input")));
        json_t *patch = add_operation(
            item, "patch", config, table, &table->write, "update", "update the given columns",
            json_pack("{s:o}", "200",
                      srv_openapi_response("the updated row", table_ref(table, ""))),
            write_errors);
        json_object_set_new(patch, "requestBody", request_body(table_ref(table, "Patch")));
        add_operation(item, "delete", config, table, &table->delete_, "delete", "delete the row",
                      json_pack("{s:{s:s}}", "204", "description", "deleted"), read_errors);
    }
    json_object_set_new(paths, path, item);
}

void srv_openapi_add_table(json_t *paths, json_t *schemas, const struct cfg_config *config,
                           const struct cfg_table *table)
{
    const char *base = config->server.base_path;
    char path[300];
    add_schemas(schemas, table);
    snprintf(path, sizeof path, "%s%s/", base, table->name);
    add_collection(paths, config, table, path);
    add_sub_routes(paths, config, table, base);
    snprintf(path, sizeof path, "%s%s/{pk}/", base, table->name);
    add_row(paths, config, table, path);
}
