/*
 * config/config_tables.c — the "tables" section: each table's name, settings, policies and
 * columns (with the implicit "id serial" primary key when none is declared), then the
 * foreign keys, resolved once every table exists; and looking a table or a column up by
 * name, which the loading here needs as much as every module after it.
 *
 * Invariant the rest of restable relies on: config->tables and each table's columns are
 * allocated once at their final size and never moved, so the pointers resolution hands out
 * (referenced_table, readable) stay valid for the config's lifetime.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const reserved_names[] = {"auth",    "admin",   "docs",  "healthz", "readyz",
                                             "metrics", "openapi", "batch", NULL};

static void check_name(struct cfg_loader *loader, const char *path, const char *name)
{
    if (!cfg_name_is_valid(name)) {
        cfg_error(loader, path, "invalid table name \"%s\" (use [a-z_][a-z0-9_]{0,62})", name);
        return;
    }
    if (strncmp(name, "restable_", 9) == 0)
        cfg_error(loader, path, "names starting with \"restable_\" are reserved for restable");
    for (size_t i = 0; reserved_names[i]; i++)
        if (strcmp(name, reserved_names[i]) == 0)
            cfg_error(loader, path,
                      "\"%s\" is a reserved path (auth, admin, docs, healthz, "
                      "readyz, metrics, openapi, batch) and cannot be a table name",
                      name);
}

/* The same rule cfg_get_bool applies, for the look-ahead that decides on the implicit id. */
static bool is_flag_set(const json_t *spec, const char *key)
{
    const json_t *value = json_is_object(spec) ? json_object_get(spec, key) : NULL;
    return json_is_true(value) ||
           (json_is_string(value) && strcmp(json_string_value(value), "true") == 0);
}

static void load_columns(struct cfg_loader *loader, const char *path, const json_t *spec,
                         struct cfg_table *table)
{
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, "columns");
    json_t *columns = json_object_get(spec, "columns");
    if (!columns) {
        cfg_error(loader, child, "required (an object of columns)");
        return;
    }
    if (!json_is_object(columns)) {
        char shown[80];
        cfg_describe(columns, shown, sizeof shown);
        cfg_error(loader, child, "expected an object of columns, got %s", shown);
        return;
    }
    const char *name;
    json_t *item;
    const char *first_key = NULL;
    json_object_foreach(columns, name, item)
    {
        if (is_flag_set(item, "primary_key")) {
            first_key = name;
            break;
        }
    }
    size_t start = first_key ? 0 : 1; /* the implicit id goes first */
    table->columns =
        rs_arena_calloc(loader->arena, json_object_size(columns) + start, sizeof *table->columns);
    table->column_count = start;
    json_object_foreach(columns, name, item)
    {
        char column_path[CFG_PATH_MAX];
        cfg_path_key(column_path, child, name);
        struct cfg_column *column = &table->columns[table->column_count++];
        cfg_load_column(loader, column_path, name, item, column);
        if (!first_key && strcmp(name, "id") == 0)
            cfg_error(loader, column_path,
                      "conflicts with the implicit primary key \"id\" (add "
                      "\"primary_key\": true to a column, or rename this one)");
        if (column->is_primary_key && first_key && strcmp(name, first_key) != 0) {
            char key_path[CFG_PATH_MAX];
            cfg_path_key(key_path, column_path, "primary_key");
            cfg_error(loader, key_path, "a table has one primary key, and \"%s\" is already it",
                      first_key);
        }
        if (first_key && strcmp(name, first_key) == 0)
            table->primary_key = table->column_count - 1;
    }
    if (!first_key) {
        struct cfg_column *id = &table->columns[0];
        id->name = rs_arena_strdup(loader->arena, "id");
        id->type = id->value_type = CFG_TYPE_SERIAL;
        id->is_primary_key = id->is_unique = id->is_implicit = true;
        table->primary_key = 0;
    }
}

static void load_readable(struct cfg_loader *loader, const char *path, const json_t *spec,
                          struct cfg_table *table)
{
    char *readable = cfg_get_string(loader, spec, path, "readable", NULL, CFG_NULLABLE);
    if (!readable || !table->columns)
        return;
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, "readable");
    const struct cfg_column *column = cfg_column_find(table, readable);
    if (column && column->is_secret) {
        cfg_error(loader, child, "\"%s\" is secret and cannot be readable", readable);
    } else if (column) {
        table->readable = column;
    } else {
        const char **names = xcalloc(table->column_count + 1, sizeof *names);
        for (size_t i = 0; i < table->column_count; i++)
            names[i] = table->columns[i].name;
        const char *near = cfg_suggest(readable, names);
        if (near)
            cfg_error(loader, child, "no column \"%s\" in table %s (did you mean \"%s\"?)",
                      readable, table->name, near);
        else
            cfg_error(loader, child, "no column \"%s\" in table %s", readable, table->name);
        free(names);
    }
}

/* A column renamed from a name another column still has would make the rename ambiguous. */
static void check_renames(struct cfg_loader *loader, const char *path,
                          const struct cfg_table *table)
{
    char columns_path[CFG_PATH_MAX], column_path[CFG_PATH_MAX], child[CFG_PATH_MAX];
    cfg_path_key(columns_path, path, "columns");
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (!column->renamed_from || strcmp(column->renamed_from, column->name) == 0 ||
            !cfg_column_find(table, column->renamed_from))
            continue; /* renamed from itself: reported where it is read */
        cfg_path_key(column_path, columns_path, column->name);
        cfg_path_key(child, column_path, "renamed_from");
        cfg_error(loader, child, "column \"%s\" is still declared in table %s",
                  column->renamed_from, table->name);
    }
}

/* "search_language": a text search configuration's name, written into SQL as a literal
 * ('english'::regconfig), so only the identifier spelling is let in. Whether the database has
 * it is known only there: migrations check it, and a search answers 500 until it does. */
static void load_search_language(struct cfg_loader *loader, const char *path, const json_t *spec,
                                 struct cfg_table *table)
{
    table->search_language = cfg_get_string(loader, spec, path, "search_language", "simple", 0);
    if (table->search_language && !cfg_name_is_valid(table->search_language)) {
        char child[CFG_PATH_MAX];
        cfg_path_key(child, path, "search_language");
        cfg_error(loader, child,
                  "invalid text search configuration \"%s\" (use [a-z_][a-z0-9_]{0,62}: "
                  "simple, english, german...)",
                  table->search_language);
    }
}

static void load_table(struct cfg_loader *loader, const char *name, const json_t *spec,
                       struct cfg_table *table, const struct cfg_config *config)
{
    char path[CFG_PATH_MAX], child[CFG_PATH_MAX];
    cfg_path_key(path, "tables", name);
    table->name = rs_arena_strdup(loader->arena, name);
    table->page_size = 15;
    table->max_page_size = 1000;
    check_name(loader, path, name);
    const struct cfg_policy *defaults[] = {&config->auth.default_read, &config->auth.default_write,
                                           &config->auth.default_delete};
    struct cfg_policy *policies[] = {&table->read, &table->write, &table->delete_};
    if (!json_is_object(spec)) {
        char shown[80];
        cfg_describe(spec, shown, sizeof shown);
        cfg_error(loader, path, "expected an object with \"columns\", got %s", shown);
        for (size_t i = 0; i < 3; i++)
            cfg_policy_copy(loader->arena, policies[i], defaults[i]);
        return;
    }
    static const char *const keys[] = {"columns",
                                       "readable",
                                       "page_size",
                                       "max_page_size",
                                       "read_only",
                                       "allow_bulk_delete",
                                       "allow_bulk_update",
                                       "max_joins",
                                       "auth",
                                       "renamed_from",
                                       "require_if_match",
                                       "count_exact_below",
                                       "search_language",
                                       NULL};
    cfg_check_keys(loader, spec, path, keys);
    long long page_size, max_page_size, max_joins;
    bool is_ok = cfg_get_int(loader, spec, path, "page_size", 1, 1000000, 15, &page_size) == 0;
    is_ok &=
        cfg_get_int(loader, spec, path, "max_page_size", 1, 1000000, 1000, &max_page_size) == 0;
    table->page_size = (int)page_size;
    table->max_page_size = (int)max_page_size;
    if (is_ok && max_page_size < page_size && json_object_get(spec, "max_page_size")) {
        cfg_path_key(child, path, "max_page_size");
        cfg_error(loader, child, "must be at least page_size (%lld), got %lld", page_size,
                  max_page_size);
    } else if (is_ok && max_page_size < page_size) {
        cfg_path_key(child, path, "page_size");
        cfg_error(loader, child, "%lld is above max_page_size (%lld): raise max_page_size too",
                  page_size, max_page_size);
    }
    cfg_get_int(loader, spec, path, "max_joins", 0, 4, 0, &max_joins);
    table->max_joins = (int)max_joins;
    cfg_get_bool(loader, spec, path, "read_only", false, &table->read_only);
    cfg_get_bool(loader, spec, path, "allow_bulk_delete", false, &table->allow_bulk_delete);
    cfg_get_bool(loader, spec, path, "allow_bulk_update", false, &table->allow_bulk_update);
    cfg_get_bool(loader, spec, path, "require_if_match", false, &table->require_if_match);
    long long count_exact_below;
    cfg_get_int(loader, spec, path, "count_exact_below", 0, 1000000000000LL, 100000,
                &count_exact_below);
    table->count_exact_below = count_exact_below;
    load_search_language(loader, path, spec, table);

    const json_t *auth = cfg_get_object(loader, spec, path, "auth");
    static const char *const actions[] = {"read", "write", "delete", NULL};
    cfg_path_key(child, path, "auth");
    if (auth)
        cfg_check_keys(loader, auth, child, actions);
    for (size_t i = 0; i < 3; i++)
        if (!cfg_load_policy(loader, config, auth, child, actions[i], policies[i]))
            cfg_policy_copy(loader->arena, policies[i], defaults[i]);

    table->renamed_from = cfg_get_string(loader, spec, path, "renamed_from", NULL, CFG_NULLABLE);
    cfg_path_key(child, path, "renamed_from");
    if (table->renamed_from && !cfg_name_is_valid(table->renamed_from))
        cfg_error(loader, child, "invalid table name \"%s\"", table->renamed_from);
    else if (table->renamed_from && strcmp(table->renamed_from, name) == 0)
        cfg_error(loader, child, "is the table's own name");
    load_columns(loader, path, spec, table);
    load_readable(loader, path, spec, table);
    check_renames(loader, path, table);
}

static void resolve_foreign_key(struct cfg_loader *loader, struct cfg_config *config,
                                const struct cfg_table *table, struct cfg_column *column)
{
    char path[CFG_PATH_MAX], child[CFG_PATH_MAX];
    cfg_path_key(path, "tables", table->name);
    cfg_path_key(child, path, "columns");
    cfg_path_key(path, child, column->name);
    const struct cfg_table *target = cfg_table_find(config, column->references);
    if (!target) {
        const char **names = xcalloc(config->table_count + 1, sizeof *names);
        for (size_t i = 0; i < config->table_count; i++)
            names[i] = config->tables[i].name;
        const char *near = cfg_suggest(column->references, names);
        cfg_path_key(child, path, "references");
        if (near)
            cfg_error(loader, child, "no table \"%s\" (did you mean \"%s\"?)", column->references,
                      near);
        else
            cfg_error(loader, child, "no table \"%s\"", column->references);
        free(names);
        return;
    }
    column->referenced_table = target;
    if (target->column_count == 0)
        return; /* the target's own errors say why */
    enum cfg_type key_type = cfg_primary_key(target)->type;
    column->value_type = key_type == CFG_TYPE_SERIAL      ? CFG_TYPE_INTEGER
                         : key_type == CFG_TYPE_BIGSERIAL ? CFG_TYPE_BIGINT
                                                          : key_type;
    cfg_check_column_values(loader, path, column);
}

void cfg_load_tables(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    json_t *tables = json_object_get(root, "tables");
    if (tables && !json_is_object(tables)) {
        char shown[80];
        cfg_describe(tables, shown, sizeof shown);
        cfg_error(loader, "tables", "expected an object of tables, got %s", shown);
        return;
    }
    if (!tables || json_object_size(tables) == 0) {
        cfg_error(loader, "tables", "declare at least one table");
        return;
    }
    config->tables =
        rs_arena_calloc(loader->arena, json_object_size(tables), sizeof *config->tables);
    const char *name;
    json_t *spec;
    json_object_foreach(tables, name, spec)
    {
        load_table(loader, name, spec, &config->tables[config->table_count], config);
        config->table_count++;
    }
    for (size_t t = 0; t < config->table_count; t++) {
        struct cfg_table *table = &config->tables[t];
        if (table->renamed_from && cfg_table_find(config, table->renamed_from)) {
            char path[CFG_PATH_MAX], child[CFG_PATH_MAX];
            cfg_path_key(path, "tables", table->name);
            cfg_path_key(child, path, "renamed_from");
            cfg_error(loader, child, "table \"%s\" is still declared", table->renamed_from);
        }
        for (size_t c = 0; c < table->column_count; c++)
            if (table->columns[c].type == CFG_TYPE_FOREIGN_KEY && table->columns[c].references)
                resolve_foreign_key(loader, config, table, &table->columns[c]);
    }
}

/* ---- finding by name ------------------------------------------------------------------------- */

const struct cfg_table *cfg_table_find(const struct cfg_config *config, const char *name)
{
    if (!config || !name)
        return NULL;
    for (size_t i = 0; i < config->table_count; i++)
        if (config->tables[i].name && strcmp(config->tables[i].name, name) == 0)
            return &config->tables[i];
    return NULL;
}

const struct cfg_column *cfg_column_find(const struct cfg_table *table, const char *name)
{
    if (!table || !name)
        return NULL;
    for (size_t i = 0; i < table->column_count; i++)
        if (table->columns[i].name && strcmp(table->columns[i].name, name) == 0)
            return &table->columns[i];
    return NULL;
}
