/*
 * server/openapi_table.c — one table's part of the OpenAPI document: its schemas (the row as
 * reads answer it, with foreign keys that __visible_fields=fk.col turns into objects and the
 * <fk>_readable keys of __readable; the create/replace input; the patch; the row /T/new/
 * answers; the joined row), its query parameters (components/parameters: a filter per
 * visible column typed by the column, with null, its operators and text match modes, and
 * the reserved __order, __page, __page_size...), and the operations of /T/, /T/{pk}/ and the
 * sub-routes, each with its response schemas and headers, its errors and its table policy as
 * security. The schemas describe what the server answers: the conformance test
 * (tests/web/conformance.mjs) validates every live response against them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openapi_internal.h"

static bool is_required_on_create(const struct cfg_column *column)
{
    return !column->is_nullable && column->default_kind == CFG_DEFAULT_NONE &&
           column->type != CFG_TYPE_SERIAL && column->type != CFG_TYPE_BIGSERIAL;
}

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

/* ---- column schemas ------------------------------------------------------------------------ */

enum schema_use {
    USE_READ,   /* what reads answer */
    USE_WRITE,  /* what bodies may send */
    USE_FILTER, /* one value of a filter in the query string */
};

/* Adds "null" to a schema's type (and enum), for the values that may be null. */
static void admit_null(json_t *schema)
{
    json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "null") != 0)
        json_object_set_new(schema, "type", json_pack("[s,s]", json_string_value(type), "null"));
    json_t *choices = json_object_get(schema, "enum");
    if (json_is_array(choices) &&
        !json_is_null(json_array_get(choices, json_array_size(choices) - 1)))
        json_array_append_new(choices, json_null());
}

/* Where the server's value forms differ from the JSON Schema format the column type suggests
 * (RFC 3339 formats demand an offset; PostgreSQL's ISO 8601 durations may be signed and
 * fractional), the format becomes a pattern; examples give clients (and the conformance
 * test) a value the server takes. value is a single value's schema (an array's items). */
static void fix_value(json_t *value, enum cfg_type type, enum schema_use use)
{
    static const char time_pattern[] = "^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?$";
    switch (type) {
    case CFG_TYPE_TIMESTAMP:
        json_object_del(value, "format");
        json_object_set_new(
            value, "pattern",
            json_string(use == USE_READ
                            ? "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                              "(\\.[0-9]{1,6})?$"
                            : "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
                              "(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"));
        json_object_set_new(value, "description",
                            json_string("ISO 8601 date and time without an offset (UTC); on "
                                        "writes an offset is converted to UTC"));
        json_object_set_new(value, "examples", json_pack("[s]", "2024-01-02T03:04:05"));
        break;
    case CFG_TYPE_TIMESTAMPTZ:
        json_object_set_new(value, "examples", json_pack("[s]", "2024-01-02T03:04:05+00:00"));
        break;
    case CFG_TYPE_DATE:
        json_object_set_new(value, "examples", json_pack("[s]", "2024-02-29"));
        break;
    case CFG_TYPE_TIME:
        json_object_del(value, "format"); /* RFC 3339 full-time has an offset; these do not */
        json_object_set_new(value, "pattern", json_string(time_pattern));
        json_object_set_new(value, "examples", json_pack("[s]", "13:45:00"));
        break;
    case CFG_TYPE_INTERVAL:
        json_object_del(value, "format");
        json_object_set_new(value, "pattern",
                            json_string("^P(?=.)(-?[0-9]+(\\.[0-9]+)?[YMWD])*"
                                        "(T(-?[0-9]+(\\.[0-9]+)?[HMS])+)?$"));
        json_object_set_new(value, "description",
                            json_string(use == USE_READ
                                            ? "ISO 8601 duration as PostgreSQL writes it"
                                            : "ISO 8601 duration, or a number of seconds"));
        json_object_set_new(value, "examples", json_pack("[s]", "PT2H30M"));
        break;
    case CFG_TYPE_NUMERIC:
        json_object_set_new(value, "examples", json_pack("[f]", 12.5));
        break;
    case CFG_TYPE_UUID:
        json_object_set_new(value, "examples",
                            json_pack("[s]", "6f1c8e4a-3b2d-4c5e-9f70-8a1b2c3d4e5f"));
        break;
    case CFG_TYPE_BYTEA:
        json_object_set_new(value, "examples", json_pack("[s]", "aGVsbG8="));
        break;
    case CFG_TYPE_EMAIL:
        json_object_set_new(value, "examples", json_pack("[s]", "ada@example.com"));
        break;
    default:
        break;
    }
    if (use != USE_WRITE)
        return;
    json_t *kind = json_object_get(value, "type");
    const char *first =
        json_is_array(kind) ? json_string_value(json_array_get(kind, 0)) : json_string_value(kind);
    bool is_nullable = json_is_array(kind);
    if (type == CFG_TYPE_NUMERIC && first) {
        /* a string of digits keeps more than double precision */
        json_object_set_new(value, "type",
                            is_nullable ? json_pack("[s,s,s]", "number", "string", "null")
                                        : json_pack("[s,s]", "number", "string"));
        json_object_set_new(value, "pattern", json_string("^-?[0-9]+(\\.[0-9]+)?$"));
    } else if (type == CFG_TYPE_INTERVAL && first) {
        json_object_set_new(value, "type",
                            is_nullable ? json_pack("[s,s,s]", "string", "number", "null")
                                        : json_pack("[s,s]", "string", "number"));
    }
}

/* The default moves into the description: generators (openapi-typescript) make a property
 * with a default required, which neither a body nor a row with __visible_fields honours. */
static void describe_default(json_t *schema)
{
    json_t *value = json_object_get(schema, "default");
    if (!value)
        return;
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *before = json_string_value(json_object_get(schema, "description"));
    char description[512];
    snprintf(description, sizeof description, "%s%sdefault: %s", before ? before : "",
             before ? "; " : "", text ? text : "?");
    free(text);
    json_object_set_new(schema, "description", json_string(description));
    json_object_del(schema, "default");
}

static json_t *column_schema(const struct cfg_column *column, enum schema_use use)
{
    json_t *schema = orm_column_json_schema(column);
    describe_default(schema);
    json_t *items = json_object_get(schema, "items");
    fix_value(items ? items : schema, column->value_type, use);
    if (column->type == CFG_TYPE_FOREIGN_KEY && column->referenced_table)
        json_object_set_new(schema, "x-restable-references",
                            json_string(column->referenced_table->name));
    return schema;
}

/* The schema of one filter value: the column's value type without nullability, default or
 * read/write markers (for an array column, its element's type: tags=x means "contains x"),
 * or the word null (the column IS NULL), which every column takes. */
static json_t *filter_value_schema(const struct cfg_column *column, bool with_null)
{
    json_t *full = column_schema(column, USE_FILTER);
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
    if (!with_null)
        return value;
    return json_pack("{s:[o,{s:s,s:s}]}", "anyOf", value, "const", "null", "description",
                     "the column IS NULL");
}

/* ---- parameters (components/parameters, shared by list, count, HEAD and bulk writes) ---- */

static json_t *query_parameter(const char *name, const char *description, json_t *schema)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", "query", "description",
                     description, "required", 0, "schema", schema);
}

/* A parameter that may be repeated (name=a&name=b): an exploded form array. */
static json_t *repeated_parameter(const char *name, const char *description, json_t *items)
{
    json_t *parameter =
        query_parameter(name, description, json_pack("{s:s,s:o}", "type", "array", "items", items));
    json_object_set_new(parameter, "style", json_string("form"));
    json_object_set_new(parameter, "explode", json_true());
    return parameter;
}

/* Registers parameter as components/parameters/<table>.<name> (or <name> when table is
 * NULL: the same for every table) and appends a reference to it to list. */
static void add_parameter(json_t *components, json_t *list, const char *table, json_t *parameter)
{
    char key[200];
    const char *name = json_string_value(json_object_get(parameter, "name"));
    snprintf(key, sizeof key, "%s%s%s", table ? table : "", table ? "." : "", name);
    json_object_set_new(json_object_get(components, "parameters"), key, parameter);
    json_array_append_new(list, srv_openapi_ref("parameters", key));
}

static json_t *string_schema(void)
{
    return json_pack("{s:s}", "type", "string");
}

/* An optional request header of the given name. */
static json_t *header_parameter(const char *name, const char *description)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", "header", "description",
                     description, "required", 0, "schema", string_schema());
}

static json_t *boolean_schema(void)
{
    return json_pack("{s:s}", "type", "boolean");
}

/* col__match: the text match modes, and search on a "search": true column. */
static json_t *match_parameter(const struct cfg_table *table, const struct cfg_column *column)
{
    char name[96], description[400];
    snprintf(name, sizeof name, "%s__match", column->name);
    json_t *modes = json_pack("[s,s,s,s]", "contains", "exact", "starts", "ends");
    if (column->is_searchable) {
        json_array_append_new(modes, json_string("search"));
        snprintf(description, sizeof description,
                 "how text matches: contains (default), exact (case-sensitive), starts, ends, "
                 "or search: full-text search in %s with PostgreSQL's websearch_to_tsquery "
                 "(words, \"exact phrase\", -word, or; one query, no operator but e)",
                 table->search_language ? table->search_language : "simple");
    } else {
        snprintf(description, sizeof description,
                 "how text matches: contains (default), exact (case-sensitive), starts, ends");
    }
    return query_parameter(name, description,
                           json_pack("{s:s,s:o}", "type", "string", "enum", modes));
}

/* The filters of a table: col, col__operator and, on text columns, col__match. */
static json_t *filter_parameters(json_t *components, const struct cfg_table *table)
{
    json_t *list = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue; /* cannot be filtered on (400) */
        bool is_text = orm_column_is_text(column);
        char description[400];
        snprintf(description, sizeof description,
                 "filter on %s (%s): %s; repeat for any of several values (col[]=v is the "
                 "same); the value null matches NULL%s",
                 column->name, cfg_type_name(column->type),
                 column->type == CFG_TYPE_ARRAY ? "rows whose array contains the value"
                 : is_text                      ? "case-insensitive contains, see __match"
                                                : "equals, see __operator",
                 column->is_searchable ? " (with __match=search: one full-text query, in "
                                         "which null is a word like any other)"
                                       : "");
        add_parameter(
            components, list, table->name,
            repeated_parameter(column->name, description, filter_value_schema(column, true)));
        char name[96];
        snprintf(name, sizeof name, "%s__operator", column->name);
        add_parameter(
            components, list, table->name,
            query_parameter(name,
                            "comparison applied to the filter on this column "
                            "(is_null and not_null need no value)",
                            json_pack("{s:s,s:[s,s,s,s,s,s,s,s]}", "type", "string", "enum", "e",
                                      "ne", "lt", "lte", "gt", "gte", "is_null", "not_null")));
        if (is_text)
            add_parameter(components, list, table->name, match_parameter(table, column));
    }
    return list;
}

/* "a|b|fk\.c": the names a comma-separated list of this table's fields may hold. */
static void field_alternatives(struct sb *out, const struct cfg_table *table, bool with_joins)
{
    bool first = true;
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue;
        sb_appendf(out, "%s%s", first ? "" : "|", column->name);
        first = false;
        if (!with_joins || column->type != CFG_TYPE_FOREIGN_KEY || !column->referenced_table)
            continue;
        const struct cfg_table *target = column->referenced_table;
        for (size_t j = 0; j < target->column_count; j++)
            if (!target->columns[j].is_secret)
                sb_appendf(out, "|%s\\.%s", column->name, target->columns[j].name);
    }
}

/* ^(sign)(a|b)(,(sign)(a|b))*$ */
static json_t *list_pattern(const struct cfg_table *table, bool with_joins, const char *sign)
{
    struct sb alternatives = {0};
    field_alternatives(&alternatives, table, with_joins);
    struct sb pattern = {0};
    sb_appendf(&pattern, "^%s(%s)(,%s(%s))*$", sign, sb_text(&alternatives), sign,
               sb_text(&alternatives));
    json_t *text = json_string(sb_text(&pattern));
    sb_free(&alternatives);
    sb_free(&pattern);
    return text;
}

static json_t *visible_fields_parameter(const struct cfg_table *table)
{
    /* one level of fk.col is what a table with max_joins >= 1 takes; deeper paths are valid
     * up to max_joins but not listed in the pattern */
    bool with_joins = table->max_joins > 0;
    json_t *items =
        json_pack("{s:s,s:o,s:[s]}", "type", "string", "pattern",
                  with_joins && table->max_joins > 1 ? json_string("^[a-z0-9_.]+(,[a-z0-9_.]+)*$")
                                                     : list_pattern(table, with_joins, ""),
                  "examples", cfg_primary_key(table)->name);
    char description[300];
    snprintf(description, sizeof description,
             "fields to return, comma-separated, in this order; may be repeated (the lists add "
             "up); fk.col follows a foreign key (up to %d deep) and nests the result: "
             "{\"fk\": {\"col\": ...}}",
             table->max_joins);
    return repeated_parameter("__visible_fields", description, items);
}

struct table_parameters {
    json_t *filters;    /* col, col__operator, col__match */
    json_t *list;       /* filters, __ids and the paging and shaping ones: list and count */
    json_t *bulk;       /* filters and __ids: bulk delete */
    json_t *bulk_ids;   /* filters and a required __ids: bulk update */
    json_t *row_fields; /* __visible_fields, __readable: one row */
    json_t *export;     /* filters, __ids, __order, __visible_fields, __readable: the export */
    json_t *ids;        /* search, limit, offset */
};

static void add_shared_parameters(json_t *components)
{
    json_t *parameters = json_object_get(components, "parameters");
    if (json_object_get(parameters, "__ids"))
        return;
    json_t *ignored = json_array();
    add_parameter(components, ignored, NULL,
                  query_parameter("__ids",
                                  "only these primary keys, comma-separated (when repeated, the "
                                  "last one counts)",
                                  string_schema()));
    json_t *required = query_parameter("__ids_required",
                                       "the primary keys to update, comma-separated; filters "
                                       "may narrow them further",
                                       string_schema());
    json_object_set_new(required, "name", json_string("__ids"));
    json_object_set_new(required, "required", json_true());
    json_object_set_new(parameters, "__ids_required", required);
    add_parameter(components, ignored, NULL,
                  query_parameter("__page", "1-based page number",
                                  json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1,
                                            "maximum", INT_MAX, "default", 1)));
    add_parameter(components, ignored, NULL,
                  query_parameter("__readable",
                                  "add FK_readable (the referenced row's readable value as "
                                  "text) beside each foreign key FK shown as a value",
                                  boolean_schema()));
    add_parameter(components, ignored, NULL,
                  query_parameter("__range_header",
                                  "add a Content-Range header: the page's position and the "
                                  "total under the same filters",
                                  boolean_schema()));
    json_t *name = query_parameter(
        "__range_header_name",
        "the name written in the Content-Range value instead of the table's (movies 0-14/42)",
        json_pack("{s:s,s:s}", "type", "string", "pattern", "^[A-Za-z0-9_-]{1,60}$"));
    add_parameter(components, ignored, NULL, name);
    json_t *cursor = query_parameter(
        "__cursor",
        "keyset pagination: empty for the first page, then the next_cursor of the previous page "
        "(same __order); the answer adds next_cursor and a Link to the next page. Not with "
        "__page or __range_header (400); an altered cursor, or one made for another __order, "
        "is a 400",
        json_pack("{s:s,s:i,s:s,s:[s]}", "type", "string", "maxLength", ORM_CURSOR_MAX_LENGTH,
                  "pattern", "^[A-Za-z0-9_-]*$", "examples", ""));
    /* for clients and the conformance test: the parameters it does not go with */
    json_object_set_new(cursor, "x-restable-not-with",
                        json_pack("[s,s]", "__page", "__range_header"));
    add_parameter(components, ignored, NULL, cursor);
    add_parameter(components, ignored, NULL,
                  query_parameter("__format",
                                  "json (the default), or csv: the page as RFC 4180 CSV, as an "
                                  "Accept header preferring text/csv asks too; this parameter "
                                  "wins over Accept",
                                  json_pack("{s:s,s:[s,s],s:s}", "type", "string", "enum", "json",
                                            "csv", "default", "json")));
    add_parameter(components, ignored, NULL,
                  query_parameter("search", "case-insensitive contains on the readable value",
                                  string_schema()));
    add_parameter(components, ignored, NULL,
                  query_parameter("__count",
                                  "on /T/count/ and with __range_header: exact (count(*)), or "
                                  "estimated: the planner's estimate when it expects at least the "
                                  "table's count_exact_below rows, else exact; /T/count/ then says "
                                  "\"estimated\"",
                                  json_pack("{s:s,s:[s,s],s:s}", "type", "string", "enum", "exact",
                                            "estimated", "default", "exact")));
    add_parameter(
        components, ignored, NULL,
        header_parameter("If-None-Match",
                         "ETags the client holds (or *): when one matches (weak comparison) "
                         "the answer is 304 without a body"));
    add_parameter(
        components, ignored, NULL,
        header_parameter("X-Restable-LSN",
                         "read your writes: the X-Restable-LSN a write answered; the read "
                         "goes to a replica that has replayed that far, else the primary"));
    add_parameter(
        components, ignored, NULL,
        header_parameter("If-Match",
                         "the row's ETag as read (or *): the write happens only if the row "
                         "is still at that version, else 412 and nothing is written"));
    add_parameter(components, ignored, NULL,
                  query_parameter("offset", "skip this many",
                                  json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 0,
                                            "maximum", INT_MAX)));
    json_decref(ignored);
}

static json_t *copy_refs(json_t *refs)
{
    return json_deep_copy(refs);
}

static struct table_parameters table_parameters(json_t *components, const struct cfg_table *table)
{
    add_shared_parameters(components);
    struct table_parameters parameters = {0};
    parameters.filters = filter_parameters(components, table);

    parameters.bulk = copy_refs(parameters.filters);
    json_array_append_new(parameters.bulk, srv_openapi_ref("parameters", "__ids"));
    parameters.bulk_ids = copy_refs(parameters.filters);
    json_array_append_new(parameters.bulk_ids, srv_openapi_ref("parameters", "__ids_required"));

    parameters.list = copy_refs(parameters.bulk);
    char description[300];
    snprintf(description, sizeof description,
             "columns to order by, comma-separated, a leading - descending (+ or nothing "
             "ascending); may be repeated (the columns add up); default: %s descending",
             cfg_primary_key(table)->name);
    add_parameter(components, parameters.list, table->name,
                  repeated_parameter("__order", description,
                                     json_pack("{s:s,s:o,s:[s+]}", "type", "string", "pattern",
                                               list_pattern(table, false, "[+-]?"), "examples", "-",
                                               cfg_primary_key(table)->name)));
    parameters.export = copy_refs(parameters.list);
    json_array_append_new(parameters.list, srv_openapi_ref("parameters", "__page"));
    snprintf(description, sizeof description, "rows per page; over max_page_size (%d) is a 403",
             table->max_page_size);
    /* a larger value than the maximum is a 403 (the limit), not a 400 */
    add_parameter(
        components, parameters.list, table->name,
        query_parameter("__page_size", description,
                        json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum",
                                  table->max_page_size, "default", table->page_size)));
    json_t *fields = json_array();
    add_parameter(components, fields, table->name, visible_fields_parameter(table));
    json_array_append_new(fields, srv_openapi_ref("parameters", "__readable"));
    parameters.row_fields = copy_refs(fields);
    json_array_extend(parameters.export, fields);
    json_array_extend(parameters.list, fields);
    json_decref(fields);
    json_array_append_new(parameters.list, srv_openapi_ref("parameters", "__range_header"));
    json_array_append_new(parameters.list, srv_openapi_ref("parameters", "__range_header_name"));
    json_array_append_new(parameters.list, srv_openapi_ref("parameters", "__count"));
    json_array_append_new(parameters.list, srv_openapi_ref("parameters", "__cursor"));

    parameters.ids = json_pack("[o]", srv_openapi_ref("parameters", "search"));
    snprintf(description, sizeof description,
             "at most this many (default and maximum %d; over it is a 403)", table->max_page_size);
    add_parameter(
        components, parameters.ids, table->name,
        query_parameter("limit", description,
                        json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum",
                                  table->max_page_size, "default", table->max_page_size)));
    json_array_append_new(parameters.ids, srv_openapi_ref("parameters", "offset"));
    return parameters;
}

static void table_parameters_free(struct table_parameters *parameters)
{
    json_decref(parameters->filters);
    json_decref(parameters->list);
    json_decref(parameters->bulk);
    json_decref(parameters->bulk_ids);
    json_decref(parameters->row_fields);
    json_decref(parameters->export);
    json_decref(parameters->ids);
}

/* ---- schemas ------------------------------------------------------------------------------ */

static json_t *table_ref(const struct cfg_table *table, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", table->name, suffix);
    return srv_openapi_ref("schemas", name);
}

static bool is_referenced(const struct cfg_config *config, const struct cfg_table *table)
{
    for (size_t t = 0; t < config->table_count; t++)
        for (size_t c = 0; c < config->tables[t].column_count; c++)
            if (config->tables[t].columns[c].referenced_table == table)
                return true;
    return false;
}

/* A foreign key's value in a row: the referenced key, or (when joins are possible) the
 * referenced row's requested fields as an object. */
static json_t *foreign_key_schema(const struct cfg_column *column, bool can_join)
{
    json_t *value = column_schema(column, USE_READ);
    if (!can_join || !column->referenced_table)
        return value;
    json_t *title = json_object_get(value, "title");
    json_t *schema = json_pack("{s:O,s:s,s:[o,o]}", "title", title, "description",
                               "the referenced key, or with __visible_fields=fk.col an object "
                               "of the referenced row's fields",
                               "anyOf", value, table_ref(column->referenced_table, "Joined"));
    return schema;
}

/* The visible fields of a row as reads answer them. joined: the nested form (its foreign
 * keys may nest further, up to the root table's max_joins). */
static json_t *read_schema(const struct cfg_table *table, bool joined)
{
    json_t *properties = json_object();
    bool can_join = joined || table->max_joins > 0;
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret)
            continue; /* never answered */
        if (column->type != CFG_TYPE_FOREIGN_KEY) {
            json_object_set_new(properties, column->name, column_schema(column, USE_READ));
            continue;
        }
        json_object_set_new(properties, column->name, foreign_key_schema(column, can_join));
        if (joined)
            continue; /* __readable adds <fk>_readable at the top level only */
        char name[96];
        snprintf(name, sizeof name, "%s_readable", column->name);
        json_object_set_new(properties, name,
                            json_pack("{s:[s,s],s:b,s:s}", "type", "string", "null", "readOnly", 1,
                                      "description",
                                      "with __readable=true: the referenced row's readable "
                                      "value as text (null when the key is)"));
    }
    char title[160];
    snprintf(title, sizeof title, "%s%s", table->name, joined ? " (joined)" : "");
    /* every key is optional: __visible_fields picks which, in its order */
    return json_pack("{s:s,s:s,s:o,s:b}", "title", title, "type", "object", "properties",
                     properties, "additionalProperties", 0);
}

/* What GET /T/new/ answers: every column but serial keys and secrets, each present, with its
 * default or null. */
static json_t *new_schema(const struct cfg_table *table)
{
    json_t *properties = json_object(), *required = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        if (column->is_secret || is_serial(column))
            continue;
        json_t *schema = column_schema(column, USE_READ);
        admit_null(schema);
        json_object_set_new(properties, column->name, schema);
        json_array_append_new(required, json_string(column->name));
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:b}", "title", "new row", "type", "object", "properties",
                     properties, "required", required, "additionalProperties", 0);
}

/* "movie" (a row as read), "movieJoined", "movieNew", "movieInput" (create / replace:
 * required columns), "moviePatch" (any subset), "movieKeys" (what create answers) */
static void add_schemas(json_t *schemas, const struct cfg_config *config,
                        const struct cfg_table *table)
{
    json_t *writable = json_object(), *required = json_array();
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        json_object_set_new(writable, column->name, column_schema(column, USE_WRITE));
        if (is_required_on_create(column))
            json_array_append_new(required, json_string(column->name));
    }
    char name[128];
    json_t *row = read_schema(table, false);
    /* what a generic client (the admin UI) needs beyond the columns: the key, the column that
     * names a row for people */
    json_object_set_new(row, "x-restable-primary-key", json_string(cfg_primary_key(table)->name));
    if (table->readable)
        json_object_set_new(row, "x-restable-readable", json_string(table->readable->name));
    json_object_set_new(schemas, table->name, row);
    if (is_referenced(config, table)) {
        snprintf(name, sizeof name, "%sJoined", table->name);
        json_object_set_new(schemas, name, read_schema(table, true));
    }
    snprintf(name, sizeof name, "%sNew", table->name);
    json_object_set_new(schemas, name, new_schema(table));
    snprintf(name, sizeof name, "%sInput", table->name);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:O,s:o,s:b}", "type", "object", "properties", writable,
                                  "required", required, "additionalProperties", 0));
    snprintf(name, sizeof name, "%sPatch", table->name);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:o,s:b,s:i}", "type", "object", "properties", writable,
                                  "additionalProperties", 0, "minProperties", 1));
    const struct cfg_column *pk = cfg_primary_key(table);
    json_t *key = column_schema(pk, USE_READ);
    snprintf(name, sizeof name, "%sKeys", table->name);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:s,s:{s:s,s:{s:o},s:[s],s:b}}", "description",
                                  "the new primary keys, in the order sent", "type", "array",
                                  "items", "type", "object", "properties", pk->name, key,
                                  "required", pk->name, "additionalProperties", 0));
}

static json_t *rows_schema(const struct cfg_table *table)
{
    return json_pack("{s:s,s:{s:{s:s,s:o}},s:[s],s:b}", "type", "object", "properties", "rows",
                     "type", "array", "items", table_ref(table, ""), "required", "rows",
                     "additionalProperties", 0);
}

/* The list's 200: rows, and with __cursor the next page's cursor (null on the last page). */
static json_t *page_schema(const struct cfg_table *table)
{
    json_t *schema = rows_schema(table);
    json_object_set_new(json_object_get(schema, "properties"), "next_cursor",
                        json_pack("{s:[s,s],s:s,s:i}", "type", "string", "null", "description",
                                  "with __cursor: pass it as __cursor for the next page; null on "
                                  "the last page",
                                  "maxLength", ORM_CURSOR_MAX_LENGTH));
    return schema;
}

static json_t *request_body(json_t *schema)
{
    return json_pack("{s:b,s:o}", "required", 1, "content", srv_openapi_json_content(schema));
}

/* ---- operations ---------------------------------------------------------------------------- */

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

/* 304 to an If-None-Match that matched: no body, the ETag again. */
static json_t *not_modified_response(void)
{
    json_t *response = srv_openapi_empty_response("not modified: If-None-Match matched the ETag");
    srv_openapi_add_header(response, "ETag");
    return response;
}

/* A read that answers an ETag and honours If-None-Match (json_t *ok is the 200). */
static void make_conditional_read(json_t *operation, json_t *ok)
{
    srv_openapi_add_header(ok, "ETag");
    json_object_set_new(json_object_get(operation, "responses"), "304", not_modified_response());
    json_t *parameters = json_object_get(operation, "parameters");
    if (!parameters) {
        parameters = json_array();
        json_object_set_new(operation, "parameters", parameters);
    }
    json_array_append_new(parameters, srv_openapi_ref("parameters", "If-None-Match"));
    json_array_append_new(parameters, srv_openapi_ref("parameters", "X-Restable-LSN"));
}

/* A one-row write that takes If-Match: 412, and 428 when the table requires it. */
static void make_conditional_write(json_t *operation, const struct cfg_table *table)
{
    json_t *responses = json_object_get(operation, "responses");
    srv_openapi_add_errors(responses, (const char *const[]){"412", NULL});
    if (table->require_if_match)
        srv_openapi_add_errors(responses, (const char *const[]){"428", NULL});
    json_object_set_new(operation, "parameters",
                        json_pack("[o]", srv_openapi_ref("parameters", "If-Match")));
}

/* Errors of operations that run a query: 403 (row-level security, or a limit), 504 (the
 * statement timeout); 503 is on every operation already. */
#define DB_ERRORS "403", "504"

/* {"rows": [...]} of an array create, and of an array upsert with "inserted" beside it */
static json_t *created_rows_schema(const struct cfg_table *table)
{
    json_t *schema = rows_schema(table);
    json_object_set_new(json_object_get(schema, "properties"), "inserted",
                        json_pack("{s:s,s:s,s:{s:s}}", "description",
                                  "upserts: per row, in the order sent, whether it was inserted "
                                  "(true) or an existing row was updated (false)",
                                  "type", "array", "items", "type", "boolean"));
    return schema;
}

/* The unique keys __on_conflict may name: the primary key and each unique column. */
static json_t *conflict_parameter(const struct cfg_table *table)
{
    json_t *keys = json_array();
    for (size_t c = 0; c < table->column_count; c++)
        if (table->columns[c].is_primary_key || table->columns[c].is_unique)
            json_array_append_new(keys, json_string(table->columns[c].name));
    return query_parameter(
        "__on_conflict",
        "upsert: insert each row, or, when a row with the same value of this unique key (the "
        "primary key or a unique column) exists, update the columns the row sent; 201 when "
        "inserted, 200 when updated (an array: 200 only when no row was inserted)",
        json_pack("{s:s,s:o}", "type", "string", "enum", keys));
}

/* POST /T/: an object (201 [{"<pk>": ...}]), an array (201 {"rows": [...]}), or either with
 * __on_conflict (the row, or {"rows", "inserted"}: 201 inserted, 200 updated). */
static void add_create(json_t *item, const struct cfg_config *config, const struct cfg_table *table,
                       const char *const *errors)
{
    char summary[300];
    snprintf(summary, sizeof summary,
             "create one row (an object: its new key) or many (an array of 1 to %d rows, all or "
             "nothing: the rows in the order sent); with __on_conflict, insert or update",
             table->max_page_size);
    json_t *created = srv_openapi_response(
        "created: the new key of an object; the rows of an array, in the order sent; the row "
        "of an upsert that inserted",
        json_pack("{s:[o,o,o]}", "anyOf", table_ref(table, "Keys"), created_rows_schema(table),
                  table_ref(table, "")));
    json_t *updated = srv_openapi_response(
        "an upsert that inserted nothing: the row (an object) or the rows (an array) updated",
        json_pack("{s:[o,o]}", "anyOf", table_ref(table, ""), created_rows_schema(table)));
    srv_openapi_add_header(created, "ETag");
    srv_openapi_add_header(updated, "ETag");
    json_t *create = add_operation(item, "post", config, table, &table->write, "create", summary,
                                   json_pack("{s:o,s:o}", "201", created, "200", updated), errors);
    json_object_set_new(create, "parameters", json_pack("[o]", conflict_parameter(table)));
    json_object_set_new(
        create, "requestBody",
        request_body(json_pack("{s:[o,{s:s,s:o,s:i,s:i}]}", "oneOf", table_ref(table, "Input"),
                               "type", "array", "items", table_ref(table, "Input"), "minItems", 1,
                               "maxItems", table->max_page_size)));
}

static void add_collection(json_t *paths, const struct cfg_config *config,
                           const struct cfg_table *table, const char *path,
                           const struct table_parameters *parameters)
{
    static const char *const read_errors[] = {DB_ERRORS, NULL};
    static const char *const write_errors[] = {DB_ERRORS, "409", "415", "422", NULL};
    static const char *const delete_errors[] = {DB_ERRORS, "409", NULL};
    json_t *item = json_object();
    json_t *page = srv_openapi_response(
        "a page of rows; in CSV (text/csv) for __format=csv or an Accept preferring it: a header "
        "row of the field names (fk.col for a joined one), then a row per record, CRLF line "
        "ends, NULL an empty field, arrays and json as JSON text (no Content-Range then)",
        page_schema(table));
    json_object_set_new(json_object_get(page, "content"), "text/csv",
                        json_pack("{s:{s:s}}", "schema", "type", "string"));
    srv_openapi_add_header(page, "Content-Range");
    srv_openapi_add_header(page, "Link");
    json_t *list = add_operation(item, "get", config, table, &table->read, "list",
                                 "list rows (filters, order, pages), as JSON or CSV",
                                 json_pack("{s:o}", "200", page), read_errors);
    json_object_set_new(list, "parameters", copy_refs(parameters->list));
    json_array_append_new(json_object_get(list, "parameters"),
                          srv_openapi_ref("parameters", "__format"));
    make_conditional_read(list, page);
    if (!table->read_only) {
        add_create(item, config, table, write_errors);
        if (table->allow_bulk_delete) {
            json_t *bulk = add_operation(
                item, "delete", config, table, &table->delete_, "bulk_delete",
                "delete the rows matching the filters and __ids (every row when there are none)",
                json_pack("{s:o}", "204", srv_openapi_empty_response("deleted")), delete_errors);
            json_object_set_new(bulk, "parameters", copy_refs(parameters->bulk));
        }
        if (table->allow_bulk_update) {
            json_t *bulk = add_operation(
                item, "patch", config, table, &table->write, "bulk_update",
                "update the rows named by __ids (and matching the filters)",
                json_pack("{s:o}", "200",
                          srv_openapi_response("the rows changed", rows_schema(table))),
                write_errors);
            json_object_set_new(bulk, "parameters", copy_refs(parameters->bulk_ids));
            json_object_set_new(bulk, "requestBody", request_body(table_ref(table, "Patch")));
        }
    }
    json_object_set_new(paths, path, item);
}

static void add_sub_routes(json_t *paths, const struct cfg_config *config,
                           const struct cfg_table *table, const char *base,
                           const struct table_parameters *parameters)
{
    static const char *const db_errors[] = {DB_ERRORS, NULL};
    static const char *const no_db_errors[] = {NULL};
    char path[300];
    json_t *item;

    item = json_object();
    json_t *count = add_operation(
        item, "get", config, table, &table->read, "count", "count the rows matching the filters",
        json_pack("{s:o}", "200",
                  srv_openapi_response(
                      "the count and the page size the same list would use",
                      json_pack("{s:s,s:{s:{s:s,s:i},s:{s:s,s:i},s:{s:s,s:s}},"
                                "s:[s,s],s:b}",
                                "type", "object", "properties", "count", "type", "integer",
                                "minimum", 0, "page_size", "type", "integer", "minimum", 1,
                                "estimated", "type", "boolean", "description",
                                "with __count: whether count is the planner's "
                                "estimate (true) or exact (false)",
                                "required", "count", "page_size", "additionalProperties", 0))),
        db_errors);
    json_object_set_new(count, "parameters", copy_refs(parameters->list));
    snprintf(path, sizeof path, "%s%s/count/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    json_t *rows = srv_openapi_text_response(
        "every matching row as CSV (as the list's CSV, without pages), streamed: a failure "
        "after the first row cuts the body short (no final chunk)",
        "text/csv");
    srv_openapi_add_header(rows, "Content-Disposition");
    json_t *export =
        add_operation(item, "get", config, table, &table->read, "export",
                      "export the rows matching the filters as CSV (__page and __page_size are "
                      "a 400)",
                      json_pack("{s:o}", "200", rows), db_errors);
    json_object_set_new(export, "parameters", copy_refs(parameters->export));
    snprintf(path, sizeof path, "%s%s/export/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(
        item, "get", config, table, &table->read, "schema",
        "JSON Schema of a row, with PiccoloCRUD's extra",
        json_pack("{s:o}", "200",
                  srv_openapi_response("the schema", json_pack("{s:s,s:[s,s]}", "type", "object",
                                                               "required", "properties", "extra"))),
        no_db_errors);
    snprintf(path, sizeof path, "%s%s/schema/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    json_t *ids = add_operation(
        item, "get", config, table, &table->read, "ids", "primary keys with their readable value",
        json_pack("{s:o}", "200",
                  srv_openapi_response("{\"<pk>\": \"<readable>\"}, in key order",
                                       json_pack("{s:s,s:{s:s}}", "type", "object",
                                                 "additionalProperties", "type", "string"))),
        db_errors);
    json_object_set_new(ids, "parameters", copy_refs(parameters->ids));
    snprintf(path, sizeof path, "%s%s/ids/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(
        item, "get", config, table, &table->read, "new",
        "a new row filled with defaults (null where there is none)",
        json_pack("{s:o}", "200", srv_openapi_response("the defaults", table_ref(table, "New"))),
        no_db_errors);
    snprintf(path, sizeof path, "%s%s/new/", base, table->name);
    json_object_set_new(paths, path, item);

    item = json_object();
    add_operation(
        item, "get", config, table, &table->read, "references",
        "tables whose foreign keys point here",
        json_pack("{s:o}", "200",
                  srv_openapi_response(
                      "the referencing tables and columns",
                      json_pack("{s:s,s:{s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s}},s:[s,s],s:b}}},s:[s],"
                                "s:b}",
                                "type", "object", "properties", "references", "type", "array",
                                "items", "type", "object", "properties", "tableName", "type",
                                "string", "columnName", "type", "string", "required", "tableName",
                                "columnName", "additionalProperties", 0, "required", "references",
                                "additionalProperties", 0))),
        no_db_errors);
    snprintf(path, sizeof path, "%s%s/references/", base, table->name);
    json_object_set_new(paths, path, item);
}

static void add_row(json_t *paths, const struct cfg_config *config, const struct cfg_table *table,
                    const char *path, const struct table_parameters *parameters)
{
    static const char *const read_errors[] = {"404", DB_ERRORS, NULL};
    static const char *const write_errors[] = {"404", DB_ERRORS, "409", "415", "422", NULL};
    static const char *const delete_errors[] = {"404", DB_ERRORS, "409", NULL};
    json_t *item = json_object();
    json_object_set_new(
        item, "parameters",
        json_pack("[{s:s,s:s,s:s,s:b,s:o,s:s}]", "name", "pk", "in", "path", "description",
                  "the row's primary key (percent-encoded; a value that does not parse as the "
                  "key's type is a 400)",
                  "required", 1, "schema", filter_value_schema(cfg_primary_key(table), false),
                  "x-restable-column", cfg_primary_key(table)->name));
    json_t *row = srv_openapi_response("the row", table_ref(table, ""));
    json_t *get = add_operation(item, "get", config, table, &table->read, "get", "one row",
                                json_pack("{s:o}", "200", row), read_errors);
    json_object_set_new(get, "parameters", copy_refs(parameters->row_fields));
    make_conditional_read(get, row);
    if (!table->read_only) {
        json_t *replaced = srv_openapi_empty_response("replaced");
        srv_openapi_add_header(replaced, "ETag");
        json_t *put =
            add_operation(item, "put", config, table, &table->write, "replace",
                          "replace the row (columns left out return to their default, or null)",
                          json_pack("{s:o}", "204", replaced), write_errors);
        json_object_set_new(put, "requestBody", request_body(table_ref(table, "Input")));
        make_conditional_write(put, table);
        json_t *updated = srv_openapi_response("the row as it now is", table_ref(table, ""));
        srv_openapi_add_header(updated, "ETag");
        json_t *patch = add_operation(item, "patch", config, table, &table->write, "update",
                                      "update the given columns",
                                      json_pack("{s:o}", "200", updated), write_errors);
        json_object_set_new(patch, "requestBody", request_body(table_ref(table, "Patch")));
        make_conditional_write(patch, table);
        json_t *delete_ = add_operation(
            item, "delete", config, table, &table->delete_, "delete", "delete the row",
            json_pack("{s:o}", "204", srv_openapi_empty_response("deleted")), delete_errors);
        make_conditional_write(delete_, table);
    }
    json_object_set_new(paths, path, item);
}

void srv_openapi_add_table(json_t *paths, json_t *components, const struct cfg_config *config,
                           const struct cfg_table *table)
{
    const char *base = config->server.base_path;
    char path[300];
    add_schemas(json_object_get(components, "schemas"), config, table);
    struct table_parameters parameters = table_parameters(components, table);
    snprintf(path, sizeof path, "%s%s/", base, table->name);
    add_collection(paths, config, table, path, &parameters);
    add_sub_routes(paths, config, table, base, &parameters);
    snprintf(path, sizeof path, "%s%s/{pk}/", base, table->name);
    add_row(paths, config, table, path, &parameters);
    table_parameters_free(&parameters);
}
