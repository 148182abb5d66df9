/*
 * orm/generate.c — `restable schema generate [--tables a,b]`: reads an existing database's
 * tables (orm/introspect.c) and prints a config "tables" object declaring them: types with
 * their lengths and precision, nullability, defaults, primary keys, unique columns, indexes,
 * foreign keys with both actions, choices read back from choices checks, and full-text search
 * indexes ("search": true, the table's search_language). Fed back into
 * `migrations check`, the output shows no drift for everything the config can express; what
 * it cannot (a type with no restable equivalent, a two-column key) is reported on stderr.
 *
 * Constant defaults are evaluated by PostgreSQL itself (orm_live_evaluate: to_jsonb of the
 * catalog's own expression, in a read-only transaction), so '{a,b}'::text[] becomes
 * ["a","b"] and '{"x": 1}'::jsonb becomes {"x":1} without a parser of our own.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"

struct type_name {
    const char *live; /* format_type() spelling, without modifiers */
    const char *config;
};

static const struct type_name type_names[] = {
    {"text", "text"},
    {"integer", "integer"},
    {"bigint", "bigint"},
    {"smallint", "smallint"},
    {"boolean", "boolean"},
    {"real", "real"},
    {"double precision", "double"},
    {"timestamp without time zone", "timestamp"},
    {"timestamp with time zone", "timestamptz"},
    {"date", "date"},
    {"time without time zone", "time"},
    {"interval", "interval"},
    {"uuid", "uuid"},
    {"json", "json"},
    {"jsonb", "jsonb"},
    {"bytea", "bytea"},
};

static void set_default(PGconn *conn, json_t *spec, const char *table, const char *column,
                        const struct orm_live_column *live, bool is_bytea)
{
    const char *expression = live->default_sql;
    if (!expression || strncmp(expression, "nextval(", 8) == 0)
        return;
    if (orm_schema_is_now(expression)) {
        json_object_set_new(spec, "default", json_string("now"));
        return;
    }
    if (strcmp(expression, "gen_random_uuid()") == 0) {
        json_object_set_new(spec, "default", json_string("uuid4"));
        return;
    }
    json_t *value = orm_live_evaluate(conn, expression, is_bytea);
    if (!value)
        fprintf(stderr, "restable: %s.%s: default %s is not a constant; left out\n", table, column,
                expression);
    else if (json_is_null(value))
        json_decref(value);
    else
        json_object_set_new(spec, "default", value);
}

/* The choices of the column's choices check (restable's name for it), read as a list. */
static void set_choices(json_t *spec, const struct orm_live_table *table, const char *column)
{
    struct sb name = {0};
    orm_schema_object_name_raw(&name, table->name, column, "check");
    for (size_t k = 0; k < table->constraint_count; k++) {
        const struct orm_live_constraint *check = &table->constraints[k];
        if (check->choices && strcmp(check->name, sb_text(&name)) == 0) {
            json_object_set(spec, "choices", check->choices);
            break;
        }
    }
    sb_free(&name);
}

/* type, of, length, precision, scale; false when the type has no config equivalent. */
static bool set_type(json_t *spec, const struct orm_live_column *live)
{
    const char *type = live->type;
    size_t length = strlen(type);
    bool is_array = length > 2 && strcmp(type + length - 2, "[]") == 0;
    char base[128];
    snprintf(base, sizeof base, "%.*s", (int)(length - (is_array ? 2 : 0)), type);
    bool has_sequence = live->default_sql && strncmp(live->default_sql, "nextval(", 8) == 0;
    const char *name = NULL;
    int max_length = 0, precision = 0, scale = 0;
    if (sscanf(base, "character varying(%d)", &max_length) == 1 ||
        strcmp(base, "character varying") == 0)
        name = "varchar";
    else if (sscanf(base, "numeric(%d,%d)", &precision, &scale) >= 1 ||
             strcmp(base, "numeric") == 0)
        name = "numeric";
    for (size_t i = 0; !name && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(base, type_names[i].live) == 0)
            name = type_names[i].config;
    if (!name)
        return false;
    if (has_sequence && !is_array && strcmp(name, "integer") == 0)
        name = "serial";
    else if (has_sequence && !is_array && strcmp(name, "bigint") == 0)
        name = "bigserial";
    json_object_set_new(spec, "type", json_string(is_array ? "array" : name));
    if (is_array)
        json_object_set_new(spec, "of", json_string(name));
    if (max_length > 0)
        json_object_set_new(spec, "length", json_integer(max_length));
    if (precision > 0)
        json_object_set_new(spec, "precision", json_integer(precision));
    if (scale > 0)
        json_object_set_new(spec, "scale", json_integer(scale));
    return true;
}

static const char *action_name(char code)
{
    switch (code) {
    case 'c':
        return "cascade";
    case 'r':
        return "restrict";
    case 'n':
        return "set null";
    case 'd':
        return "set default";
    default:
        return NULL; /* no action: the default */
    }
}

static json_t *column_spec(PGconn *conn, const struct orm_live_table *table,
                           const struct orm_live_column *column, const char *primary_key)
{
    json_t *spec = json_object();
    const struct orm_live_constraint *foreign_key =
        orm_live_constraint_find(table, 'f', column->name);
    bool is_primary_key = primary_key && strcmp(primary_key, column->name) == 0;
    if (foreign_key && foreign_key->ref_table) {
        json_object_set_new(spec, "type", json_string("foreign_key"));
        json_object_set_new(spec, "references", json_string(foreign_key->ref_table));
        if (action_name(foreign_key->on_delete))
            json_object_set_new(spec, "on_delete",
                                json_string(action_name(foreign_key->on_delete)));
        if (action_name(foreign_key->on_update))
            json_object_set_new(spec, "on_update",
                                json_string(action_name(foreign_key->on_update)));
    } else if (!set_type(spec, column)) {
        fprintf(stderr, "restable: %s.%s: type %s has no restable equivalent; left out\n",
                table->name, column->name, column->type);
        json_decref(spec);
        return NULL;
    }
    if (is_primary_key)
        json_object_set_new(spec, "primary_key", json_true());
    else if (orm_live_constraint_find(table, 'u', column->name) ||
             orm_live_index_find(table, column->name, true))
        json_object_set_new(spec, "unique", json_true());
    bool is_indexed = orm_live_index_find(table, column->name, false) != NULL;
    if (foreign_key && !is_indexed && !is_primary_key && !json_object_get(spec, "unique"))
        json_object_set_new(spec, "index", json_false());
    else if (!foreign_key && is_indexed)
        json_object_set_new(spec, "index", json_true());
    if (column->is_nullable && !is_primary_key)
        json_object_set_new(spec, "null", json_true());
    set_default(conn, spec, table->name, column->name, column, strcmp(column->type, "bytea") == 0);
    set_choices(spec, table, column->name);
    const char *type = json_string_value(json_object_get(spec, "type"));
    if (orm_live_search_index_find(table, column->name) && type &&
        (strcmp(type, "text") == 0 || strcmp(type, "varchar") == 0))
        json_object_set_new(spec, "search", json_true());
    return spec;
}

static const char *primary_key_of(const struct orm_live_table *table)
{
    for (size_t k = 0; k < table->constraint_count; k++) {
        const struct orm_live_constraint *constraint = &table->constraints[k];
        if (constraint->kind != 'p')
            continue;
        if (constraint->column_count == 1)
            return constraint->column;
        fprintf(stderr,
                "restable: %s: its primary key spans %d columns; restable keys are one column\n",
                table->name, constraint->column_count);
        return NULL;
    }
    fprintf(stderr, "restable: %s: no primary key; the config will give it an \"id\" serial\n",
            table->name);
    return NULL;
}

/* Is name in the comma-separated list (NULL: every table)? */
static bool is_listed(const char *list, const char *name)
{
    if (!list)
        return true;
    size_t length = strlen(name);
    for (const char *item = list; *item;) {
        const char *comma = strchr(item, ',');
        size_t item_length = comma ? (size_t)(comma - item) : strlen(item);
        if (item_length == length && strncmp(item, name, length) == 0)
            return true;
        item += item_length + (comma ? 1 : 0);
    }
    return false;
}

/* A table has one search_language: the language of its first search index ("simple" is the
 * default and left out); a column whose index has another one is reported. */
static void set_search_language(json_t *spec, const struct orm_live_table *table)
{
    const char *language = NULL;
    for (size_t i = 0; i < table->index_count; i++) {
        const struct orm_live_index *index = &table->indexes[i];
        if (!index->search_language)
            continue;
        if (!language)
            language = index->search_language;
        else if (strcmp(language, index->search_language) != 0)
            fprintf(stderr,
                    "restable: %s.%s: searched in %s, but a table has one search_language (%s)\n",
                    table->name, index->search_column, index->search_language, language);
    }
    if (language && strcmp(language, "simple") != 0)
        json_object_set_new(spec, "search_language", json_string(language));
}

static json_t *table_spec(PGconn *conn, const struct orm_live_table *table, const char *tables)
{
    json_t *columns = json_object();
    const char *primary_key = primary_key_of(table);
    for (size_t c = 0; c < table->column_count; c++) {
        json_t *spec = column_spec(conn, table, &table->columns[c], primary_key);
        if (!spec)
            continue;
        const char *references = json_string_value(json_object_get(spec, "references"));
        if (references && !is_listed(tables, references))
            fprintf(stderr, "restable: %s.%s references %s, which --tables leaves out\n",
                    table->name, table->columns[c].name, references);
        json_object_set_new(columns, table->columns[c].name, spec);
    }
    json_t *spec = json_pack("{s:o}", "columns", columns);
    set_search_language(spec, table);
    return spec;
}

int orm_schema_generate(PGconn *conn, const char *tables, FILE *out, struct rs_error *error)
{
    struct orm_live_schema live;
    if (orm_live_schema_read(conn, &live, error) < 0)
        return -1;
    for (const char *item = tables; item && *item;) {
        const char *comma = strchr(item, ',');
        size_t length = comma ? (size_t)(comma - item) : strlen(item);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(length < 127 ? length : 127), item);
        if (!orm_live_table_find(&live, name)) {
            rs_error_set(error, RS_FAILED, NULL, "--tables: no table \"%.100s\" in the database",
                         name);
            orm_live_schema_free(&live);
            return -1;
        }
        item += length + (comma ? 1 : 0);
    }
    json_t *specs = json_object();
    for (size_t t = 0; t < live.table_count; t++) {
        const struct orm_live_table *table = &live.tables[t];
        if (strncmp(table->name, "restable_", 9) == 0 || !is_listed(tables, table->name))
            continue; /* restable's own tables are declared by restable */
        json_object_set_new(specs, table->name, table_spec(conn, table, tables));
    }
    orm_live_schema_free(&live);
    json_t *document = json_pack("{s:o}", "tables", specs);
    char *text = json_dumps(document, JSON_INDENT(2));
    json_decref(document);
    if (text) {
        fputs(text, out);
        fputc('\n', out);
        free(text);
    }
    return 0;
}
