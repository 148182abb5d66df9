/*
 * server/handlers_meta.c — routes answered from the config alone, without the database:
 * /T/schema/ (JSON Schema plus PiccoloCRUD's "extra"), /T/new/ (defaults), /T/references/,
 * and the table index at the base path.
 */
#include <ctype.h>
#include <string.h>

#include "server/app.h"

static json_t *title_of(const char *name)
{
    char title[160];
    size_t used = 0;
    bool start = true;
    for (const char *p = name; *p && used + 1 < sizeof title; p++) {
        if (*p == '_') {
            title[used++] = ' ';
            start = true;
            continue;
        }
        title[used++] = start ? (char)toupper((unsigned char)*p) : *p;
        start = false;
    }
    title[used] = '\0';
    return json_string(title);
}

static void add_visible_field_options(json_t *options, const struct cfg_table *table,
                                      const char *prefix, int joins_left)
{
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s%s", prefix, column->name);
        json_array_append_new(options, json_string(path));
        if (column->type == CFG_TYPE_FOREIGN_KEY && joins_left > 0 && column->referenced_table) {
            char nested[260];
            snprintf(nested, sizeof nested, "%s.", path);
            add_visible_field_options(options, column->referenced_table, nested, joins_left - 1);
        }
    }
}

static bool is_required(const struct cfg_column *column)
{
    return !column->is_nullable && column->default_kind == CFG_DEFAULT_NONE &&
           column->type != CFG_TYPE_SERIAL && column->type != CFG_TYPE_BIGSERIAL;
}

void srv_handle_schema(struct srv_request *request)
{
    const struct cfg_table *table = request->route.table;
    json_t *properties = json_object();
    json_t *required = json_array();
    json_t *foreign_keys = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        json_t *property = orm_column_json_schema(column);
        if (!json_object_get(property, "title"))
            json_object_set_new(property, "title", title_of(column->name));
        json_t *extra = json_object();
        if (column->type == CFG_TYPE_FOREIGN_KEY && column->referenced_table) {
            const struct cfg_table *target = column->referenced_table;
            json_object_set_new(extra, "foreign_key", json_true());
            json_object_set_new(extra, "to", json_string(target->name));
            json_object_set_new(extra, "target_column", json_string(cfg_primary_key(target)->name));
            json_array_append_new(foreign_keys, json_pack("{s:s,s:s,s:s}", "column", column->name,
                                                          "to", target->name, "target_column",
                                                          cfg_primary_key(target)->name));
        }
        json_object_set_new(extra, "primary_key", json_boolean(column->is_primary_key));
        json_object_set_new(extra, "unique", json_boolean(column->is_unique));
        json_object_set_new(extra, "secret", json_boolean(column->is_secret));
        json_object_set_new(extra, "choices",
                            column->choices ? json_copy(column->choices) : json_null());
        json_object_set_new(property, "extra", extra);
        json_object_set_new(properties, column->name, property);
        if (is_required(column))
            json_array_append_new(required, json_string(column->name));
    }
    json_t *options = json_array();
    add_visible_field_options(options, table, "", table->max_joins);
    json_t *schema =
        json_pack("{s:s,s:o,s:s,s:o,s:o,s:{s:s,s:o,s:o,s:o,s:b}}", "$schema",
                  "https://json-schema.org/draft/2020-12/schema", "title", title_of(table->name),
                  "type", "object", "properties", properties, "required", required, "extra",
                  "primary_key_name", cfg_primary_key(table)->name, "visible_fields_options",
                  options, "foreign_keys", foreign_keys, "readable",
                  table->readable ? json_string(table->readable->name) : json_null(), "read_only",
                  table->read_only);
    srv_respond_json(request, 200, schema);
}

void srv_handle_new(struct srv_request *request)
{
    const struct cfg_table *table = request->route.table;
    json_t *row = json_object();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret || column->type == CFG_TYPE_SERIAL ||
            column->type == CFG_TYPE_BIGSERIAL)
            continue;
        json_object_set_new(row, column->name, orm_column_default_json(column));
    }
    srv_respond_json(request, 200, row);
}

void srv_handle_references(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    json_t *references = json_array();
    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        for (size_t c = 0; c < table->column_count; c++) {
            const struct cfg_column *column = &table->columns[c];
            if (column->type == CFG_TYPE_FOREIGN_KEY &&
                column->referenced_table == request->route.table)
                json_array_append_new(references, json_pack("{s:s,s:s}", "tableName", table->name,
                                                            "columnName", column->name));
        }
    }
    srv_respond_json(request, 200, json_pack("{s:o}", "references", references));
}

void srv_handle_root(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    json_t *tables = json_array();
    for (size_t t = 0; t < config->table_count; t++)
        json_array_append_new(tables, json_string(config->tables[t].name));
    srv_respond_json(request, 200,
                     json_pack("{s:s,s:s,s:o}", "name", "restable", "version", RESTABLE_VERSION,
                               "tables", tables));
}
