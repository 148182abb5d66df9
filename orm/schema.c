/*
 * orm/schema.c — the declared schema as DDL: which tables exist (the config's, plus
 * restable_user when login is enabled), in which order they can be created (foreign-key
 * dependency order), and the CREATE TABLE / CREATE INDEX / ALTER TABLE text that makes them.
 * Used by `schema sql` and by `migrations new --auto`. Pure text; no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm.h"
#include "orm/schema_internal.h"

static void user_table_init(struct orm_declared *declared)
{
    /* SPEC §4: login users. roles feed the "roles" claim of the tokens /auth/login issues. */
    struct cfg_column *columns = declared->user_columns;
    columns[0] = (struct cfg_column){.name = "id",
                                     .type = CFG_TYPE_BIGSERIAL,
                                     .value_type = CFG_TYPE_BIGSERIAL,
                                     .is_primary_key = true};
    columns[1] = (struct cfg_column){.name = "username",
                                     .type = CFG_TYPE_VARCHAR,
                                     .value_type = CFG_TYPE_VARCHAR,
                                     .length = 150,
                                     .is_unique = true};
    columns[2] = (struct cfg_column){.name = "password_hash",
                                     .type = CFG_TYPE_TEXT,
                                     .value_type = CFG_TYPE_TEXT,
                                     .is_secret = true};
    json_t *no_roles = xcheck(json_array());
    columns[3] = (struct cfg_column){.name = "roles",
                                     .type = CFG_TYPE_ARRAY,
                                     .value_type = CFG_TYPE_TEXT,
                                     .default_kind = CFG_DEFAULT_VALUE,
                                     .default_value = no_roles};
    columns[4] = (struct cfg_column){.name = "created_at",
                                     .type = CFG_TYPE_TIMESTAMPTZ,
                                     .value_type = CFG_TYPE_TIMESTAMPTZ,
                                     .is_nullable = true,
                                     .default_kind = CFG_DEFAULT_NOW};
    declared->user_table = (struct cfg_table){.name = ORM_USER_TABLE,
                                              .columns = columns,
                                              .column_count = ORM_USER_COLUMN_COUNT,
                                              .primary_key = 0,
                                              .page_size = 15,
                                              .max_page_size = 1000,
                                              .read_only = true};
}

/* Where a foreign key column points: the resolved table, else the one named. */
static long referenced_index(const struct orm_declared *declared, const struct cfg_column *column)
{
    if (column->type != CFG_TYPE_FOREIGN_KEY)
        return -1;
    const char *name =
        column->referenced_table ? column->referenced_table->name : column->references;
    return name ? orm_declared_find(declared, name) : -1;
}

struct sort_state {
    const struct cfg_table *const *input;
    size_t count;
    unsigned char *mark; /* 0 unvisited, 1 on the current path, 2 placed */
    const struct cfg_table **output;
    size_t placed;
};

static long input_find(const struct sort_state *state, const char *name)
{
    for (size_t i = 0; i < state->count; i++)
        if (strcmp(state->input[i]->name, name) == 0)
            return (long)i;
    return -1;
}

static void sort_visit(struct sort_state *state, size_t index)
{
    /* Depth-first, referenced tables first, otherwise declaration order: the output is
     * stable for a given config. A table met again while on the path closes a cycle; that
     * edge is simply not followed, and orm_schema_create_tables defers its foreign key. */
    state->mark[index] = 1;
    const struct cfg_table *table = state->input[index];
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (column->type != CFG_TYPE_FOREIGN_KEY)
            continue;
        const char *name =
            column->referenced_table ? column->referenced_table->name : column->references;
        long target = name ? input_find(state, name) : -1;
        if (target >= 0 && state->mark[target] == 0)
            sort_visit(state, (size_t)target);
    }
    state->mark[index] = 2;
    state->output[state->placed++] = table;
}

void orm_declared_init(struct orm_declared *declared, const struct cfg_config *config)
{
    memset(declared, 0, sizeof *declared);
    bool has_users = config->auth.login_enabled;
    for (size_t i = 0; i < config->table_count && has_users; i++)
        if (strcmp(config->tables[i].name, ORM_USER_TABLE) == 0)
            has_users = false; /* declared by hand: the declaration wins */
    size_t count = config->table_count + (has_users ? 1 : 0);
    const struct cfg_table **input = xcalloc(count, sizeof *input);
    for (size_t i = 0; i < config->table_count; i++)
        input[i] = &config->tables[i];
    if (has_users) {
        user_table_init(declared);
        input[config->table_count] = &declared->user_table;
    }
    struct sort_state state = {.input = input,
                               .count = count,
                               .mark = xcalloc(count, 1),
                               .output = xcalloc(count, sizeof *state.output)};
    for (size_t i = 0; i < count; i++)
        if (state.mark[i] == 0)
            sort_visit(&state, i);
    free(state.mark);
    free(input);
    declared->tables = state.output;
    declared->table_count = count;
}

void orm_declared_free(struct orm_declared *declared)
{
    free(declared->tables);
    json_decref(declared->user_columns[3].default_value);
    memset(declared, 0, sizeof *declared);
}

long orm_declared_find(const struct orm_declared *declared, const char *name)
{
    for (size_t i = 0; i < declared->table_count; i++)
        if (strcmp(declared->tables[i]->name, name) == 0)
            return (long)i;
    return -1;
}

/* ---- statements ------------------------------------------------------------------------ */

/* CONSTRAINT "t_c_fkey" FOREIGN KEY ("c") REFERENCES "target" ("key") ON DELETE … */
void orm_schema_foreign_key(const struct cfg_table *table, const struct cfg_column *column,
                            struct sb *out)
{
    sb_append(out, "CONSTRAINT ");
    orm_schema_object_name(out, table->name, column->name, "fkey");
    sb_append(out, " FOREIGN KEY (");
    orm_quote_identifier(out, column->name);
    sb_append(out, ") REFERENCES ");
    const struct cfg_table *target = column->referenced_table;
    orm_quote_identifier(out, target ? target->name : column->references ? column->references : "");
    if (target) {
        /* named, not implied: the reference survives a later change of primary key */
        sb_append(out, " (");
        orm_quote_identifier(out, cfg_primary_key(target)->name);
        sb_append_char(out, ')');
    }
    sb_appendf(out, " ON DELETE %s ON UPDATE %s", cfg_fk_action_sql(column->on_delete),
               cfg_fk_action_sql(column->on_update));
}

void orm_schema_unique(const struct cfg_table *table, const struct cfg_column *column,
                       struct sb *out)
{
    sb_append(out, "CONSTRAINT ");
    orm_schema_object_name(out, table->name, column->name, "key");
    sb_append(out, " UNIQUE (");
    orm_quote_identifier(out, column->name);
    sb_append_char(out, ')');
}

void orm_schema_choices(const struct cfg_table *table, const struct cfg_column *column,
                        struct sb *out)
{
    sb_append(out, "CONSTRAINT ");
    orm_schema_object_name(out, table->name, column->name, "check");
    sb_append_char(out, ' ');
    orm_schema_choices_check(column, out);
}

void orm_schema_index(const struct cfg_table *table, const struct cfg_column *column,
                      struct sb *out)
{
    struct sb key = {0};
    orm_quote_identifier(&key, column->name);
    orm_schema_create_index(table, column, "idx", NULL, sb_text(&key), out);
    sb_free(&key);
}

void orm_schema_alter_table(const struct cfg_table *table, struct sb *out)
{
    sb_append(out, "ALTER TABLE ");
    orm_quote_identifier(out, table->name);
    sb_append_char(out, ' ');
}

void orm_schema_create_table_open(struct sb *out, const char *name)
{
    sb_append(out, "CREATE TABLE ");
    orm_quote_identifier(out, name);
    sb_append(out, " (");
}

void orm_schema_table_item(struct sb *out, bool *is_first)
{
    sb_append(out, *is_first ? "\n    " : ",\n    ");
    *is_first = false;
}

/* A foreign key goes inside CREATE TABLE unless its target is created later (a cycle). */
static bool is_deferred(const struct orm_declared *declared, const bool *is_missing, size_t index,
                        const struct cfg_column *column)
{
    long target = referenced_index(declared, column);
    if (target < 0 || (size_t)target <= index)
        return false;
    return is_missing ? is_missing[target] : true;
}

static void append_create_table(const struct orm_declared *declared, const bool *is_missing,
                                size_t index, struct sb *out)
{
    const struct cfg_table *table = declared->tables[index];
    orm_schema_create_table_open(out, table->name);
    bool is_first = true;
    for (size_t c = 0; c < table->column_count; c++) {
        orm_schema_table_item(out, &is_first);
        orm_schema_column_sql(&table->columns[c], out);
    }
    if (table->column_count > 0) {
        orm_schema_table_item(out, &is_first);
        sb_append(out, "CONSTRAINT ");
        orm_schema_object_name(out, table->name, NULL, "pkey");
        sb_append(out, " PRIMARY KEY (");
        orm_quote_identifier(out, cfg_primary_key(table)->name);
        sb_append_char(out, ')');
    }
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (column->is_unique && !column->is_primary_key) {
            orm_schema_table_item(out, &is_first);
            orm_schema_unique(table, column, out);
        }
    }
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (column->choices) {
            orm_schema_table_item(out, &is_first);
            orm_schema_choices(table, column, out);
        }
    }
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (column->type == CFG_TYPE_FOREIGN_KEY &&
            !is_deferred(declared, is_missing, index, column)) {
            orm_schema_table_item(out, &is_first);
            orm_schema_foreign_key(table, column, out);
        }
    }
    sb_append(out, "\n);\n");
    for (size_t c = 0; c < table->column_count; c++) {
        if (orm_schema_column_is_indexed(&table->columns[c]))
            orm_schema_index(table, &table->columns[c], out);
        if (table->columns[c].is_searchable)
            orm_schema_search_index(table, &table->columns[c], out);
    }
}

size_t orm_schema_create_tables(const struct orm_declared *declared, const bool *is_missing,
                                struct sb *forwards, struct sb *backwards)
{
    size_t created = 0;
    for (size_t i = 0; i < declared->table_count; i++) {
        if (is_missing && !is_missing[i])
            continue;
        if (created)
            sb_append_char(forwards, '\n');
        append_create_table(declared, is_missing, i, forwards);
        created++;
    }
    /* Cycles: every table exists now, so the remaining foreign keys can be added. Backwards
     * drops them first, so the tables can then go in reverse order without CASCADE (which
     * would silently take views and other dependants with them). */
    bool has_deferred = false;
    for (size_t i = 0; i < declared->table_count; i++) {
        const struct cfg_table *table = declared->tables[i];
        if (is_missing && !is_missing[i])
            continue;
        for (size_t c = 0; c < table->column_count; c++) {
            const struct cfg_column *column = &table->columns[c];
            if (column->type != CFG_TYPE_FOREIGN_KEY ||
                !is_deferred(declared, is_missing, i, column))
                continue;
            if (!has_deferred)
                sb_append_char(forwards, '\n');
            has_deferred = true;
            orm_schema_alter_table(table, forwards);
            sb_append(forwards, "ADD ");
            orm_schema_foreign_key(table, column, forwards);
            sb_append(forwards, ";\n");
        }
    }
    if (!backwards)
        return created;
    for (size_t i = declared->table_count; i-- > 0;) {
        const struct cfg_table *table = declared->tables[i];
        if (is_missing && !is_missing[i])
            continue;
        for (size_t c = table->column_count; c-- > 0;) {
            const struct cfg_column *column = &table->columns[c];
            if (column->type != CFG_TYPE_FOREIGN_KEY ||
                !is_deferred(declared, is_missing, i, column))
                continue;
            orm_schema_alter_table(table, backwards);
            sb_append(backwards, "DROP CONSTRAINT ");
            orm_schema_object_name(backwards, table->name, column->name, "fkey");
            sb_append(backwards, ";\n");
        }
    }
    for (size_t i = declared->table_count; i-- > 0;) {
        if (is_missing && !is_missing[i])
            continue;
        sb_append(backwards, "DROP TABLE ");
        orm_quote_identifier(backwards, declared->tables[i]->name);
        sb_append(backwards, ";\n");
    }
    return created;
}

void orm_schema_add_column(const struct cfg_table *table, const struct cfg_column *column,
                           struct sb *forwards, struct sb *backwards)
{
    struct sb expression = {0};
    bool has_default = orm_schema_default_sql(column, &expression);
    sb_free(&expression);
    bool is_serial = column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
    if (!column->is_nullable && !has_default && !is_serial) {
        sb_append(forwards, "-- NOT NULL without a default: this fails if ");
        orm_quote_identifier(forwards, table->name);
        sb_append(forwards, " has rows; add a DEFAULT or fill the column in first\n");
    }
    orm_schema_alter_table(table, forwards);
    sb_append(forwards, "ADD COLUMN ");
    orm_schema_column_sql(column, forwards);
    sb_append(forwards, ";\n");
    if (column->is_primary_key) {
        orm_schema_alter_table(table, forwards);
        sb_append(forwards, "ADD CONSTRAINT ");
        orm_schema_object_name(forwards, table->name, NULL, "pkey");
        sb_append(forwards, " PRIMARY KEY (");
        orm_quote_identifier(forwards, column->name);
        sb_append(forwards, ");\n");
    } else if (column->is_unique) {
        orm_schema_alter_table(table, forwards);
        sb_append(forwards, "ADD ");
        orm_schema_unique(table, column, forwards);
        sb_append(forwards, ";\n");
    }
    if (column->choices) {
        orm_schema_alter_table(table, forwards);
        sb_append(forwards, "ADD ");
        orm_schema_choices(table, column, forwards);
        sb_append(forwards, ";\n");
    }
    if (column->type == CFG_TYPE_FOREIGN_KEY) {
        orm_schema_alter_table(table, forwards);
        sb_append(forwards, "ADD ");
        orm_schema_foreign_key(table, column, forwards);
        sb_append(forwards, ";\n");
    }
    if (orm_schema_column_is_indexed(column))
        orm_schema_index(table, column, forwards);
    if (column->is_searchable)
        orm_schema_search_index(table, column, forwards);
    if (backwards) {
        orm_schema_alter_table(table, backwards);
        sb_append(backwards, "DROP COLUMN ");
        orm_quote_identifier(backwards, column->name);
        sb_append(backwards, ";\n");
    }
}

void orm_schema_create_sql(const struct cfg_config *config, struct sb *out)
{
    struct orm_declared declared;
    orm_declared_init(&declared, config);
    orm_schema_create_tables(&declared, NULL, out, NULL);
    orm_declared_free(&declared);
}
