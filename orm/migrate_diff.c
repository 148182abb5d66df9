/*
 * orm/migrate_diff.c — compares the declared schema with the live one: the SQL that closes
 * the gap (for `migrations new --auto`) and the list of differences (for `migrations check`).
 * Pure: both schemas are already in memory.
 *
 * What --auto handles today: tables and columns that are declared but missing. Type,
 * nullability and constraint changes, drops and renames are reported by check as drift and
 * left to a hand-written migration; they belong in orm_diff_sql when they are automated.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"

/* Puts text in front of what builder holds: backwards SQL undoes things in reverse order. */
static void prepend(struct sb *builder, const char *text)
{
    struct sb joined = {0};
    sb_append(&joined, text);
    sb_append(&joined, sb_text(builder));
    sb_free(builder);
    *builder = joined;
}

size_t orm_diff_sql(const struct orm_declared *declared, const struct orm_live_schema *live,
                    struct sb *forwards, struct sb *backwards)
{
    bool *is_missing = calloc(declared->table_count ? declared->table_count : 1, sizeof(bool));
    if (!is_missing) {
        fputs("restable: out of memory\n", stderr);
        abort();
    }
    for (size_t i = 0; i < declared->table_count; i++)
        is_missing[i] = orm_live_table_find(live, declared->tables[i]->name) == NULL;

    /* New tables first: a column added below may reference one of them. */
    struct sb drop_tables = {0};
    size_t changes = orm_schema_create_tables(declared, is_missing, forwards, &drop_tables);

    struct sb drop_columns = {0};
    for (size_t i = 0; i < declared->table_count; i++) {
        if (is_missing[i])
            continue;
        const struct cfg_table *table = declared->tables[i];
        const struct orm_live_table *live_table = orm_live_table_find(live, table->name);
        for (size_t c = 0; c < table->column_count; c++) {
            const struct cfg_column *column = &table->columns[c];
            if (orm_live_column_find(live_table, column->name))
                continue;
            if (changes)
                sb_append_char(forwards, '\n');
            struct sb undo = {0};
            orm_schema_add_column(table, column, forwards, &undo);
            prepend(&drop_columns, sb_text(&undo));
            sb_free(&undo);
            changes++;
        }
    }
    sb_append(backwards, sb_text(&drop_columns));
    sb_append(backwards, sb_text(&drop_tables));
    sb_free(&drop_columns);
    sb_free(&drop_tables);
    free(is_missing);
    return changes;
}

static size_t column_drift(const struct cfg_table *table, const struct cfg_column *column,
                           const struct orm_live_column *live, FILE *out)
{
    size_t found = 0;
    struct sb declared_type = {0}, declared_normal = {0}, live_normal = {0};
    orm_column_ddl_type(column, &declared_type);
    orm_schema_normalize_type(sb_text(&declared_type), &declared_normal);
    orm_schema_normalize_type(live->type, &live_normal);
    if (strcmp(sb_text(&declared_normal), sb_text(&live_normal)) != 0) {
        orm_migrate_say(out, "drift: %s.%s is %s in the database, declared %s\n", table->name, column->name,
            live->type, sb_text(&declared_type));
        found++;
    }
    bool is_serial = column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
    if (is_serial && (!live->default_sql || strncmp(live->default_sql, "nextval(", 8) != 0)) {
        orm_migrate_say(out, "drift: %s.%s is declared %s but has no sequence default in the database\n",
            table->name, column->name, sb_text(&declared_type));
        found++;
    }
    bool is_nullable = column->is_nullable && !column->is_primary_key;
    if (is_nullable != live->is_nullable) {
        orm_migrate_say(out, "drift: %s.%s is %s in the database, declared %s\n", table->name, column->name,
            live->is_nullable ? "nullable" : "NOT NULL", is_nullable ? "nullable" : "NOT NULL");
        found++;
    }
    sb_free(&declared_type);
    sb_free(&declared_normal);
    sb_free(&live_normal);
    return found;
}

static bool declared_column(const struct cfg_table *table, const char *name)
{
    for (size_t c = 0; c < table->column_count; c++)
        if (strcmp(table->columns[c].name, name) == 0)
            return true;
    return false;
}

size_t orm_diff_drift(const struct orm_declared *declared, const struct orm_live_schema *live,
                      FILE *out)
{
    size_t found = 0;
    for (size_t i = 0; i < declared->table_count; i++) {
        const struct cfg_table *table = declared->tables[i];
        const struct orm_live_table *live_table = orm_live_table_find(live, table->name);
        if (!live_table) {
            orm_migrate_say(out, "drift: table %s is declared but missing from the database\n", table->name);
            found++;
            continue;
        }
        for (size_t c = 0; c < table->column_count; c++) {
            const struct cfg_column *column = &table->columns[c];
            const struct orm_live_column *live_column =
                orm_live_column_find(live_table, column->name);
            if (!live_column) {
                orm_migrate_say(out, "drift: %s.%s is declared but missing from the database\n", table->name,
                    column->name);
                found++;
                continue;
            }
            found += column_drift(table, column, live_column, out);
        }
        for (size_t c = 0; c < live_table->column_count; c++) {
            const char *name = live_table->columns[c].name;
            if (!declared_column(table, name)) {
                orm_migrate_say(out, "drift: %s.%s is in the database but not declared\n", table->name, name);
                found++;
            }
        }
    }
    return found;
}
