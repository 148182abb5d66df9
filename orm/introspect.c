/*
 * orm/introspect.c — reads the live schema (tables, their columns with type, nullability and
 * default) from pg_catalog on a blocking connection, into the structs migrate_diff.c compares
 * with the declaration.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"

/* One row per column; a table without columns still gives one row, with NULL attname.
 * pg_catalog rather than information_schema: format_type() spells array and modifier types
 * completely ("character varying(20)[]"), which information_schema does not. */
static const char live_columns_sql[] =
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
    "ORDER BY c.relname, a.attnum";

static char *copy_or_abort(const char *text)
{
    char *copy = strdup(text);
    if (!copy) {
        fputs("restable: out of memory\n", stderr);
        abort();
    }
    return copy;
}

/* Arrays grow by doubling from 4, so a count of 0, 4, 8, 16... means "full". */
static void *grow_or_abort(void *items, size_t count, size_t size)
{
    bool is_full = count == 0 || (count >= 4 && (count & (count - 1)) == 0);
    if (!is_full)
        return items;
    void *grown = realloc(items, (count ? count * 2 : 4) * size);
    if (!grown) {
        fputs("restable: out of memory\n", stderr);
        abort();
    }
    return grown;
}

int orm_live_schema_read(PGconn *conn, struct orm_live_schema *schema, struct rs_error *error)
{
    memset(schema, 0, sizeof *schema);
    PGresult *result = PQexec(conn, live_columns_sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        rs_error_set(error, 1, NULL, "cannot read the database schema: %.200s",
                     PQerrorMessage(conn));
        PQclear(result);
        return -1;
    }
    struct orm_live_table *table = NULL;
    for (int row = 0; row < PQntuples(result); row++) {
        const char *table_name = PQgetvalue(result, row, 0);
        if (!table || strcmp(table->name, table_name) != 0) {
            schema->tables =
                grow_or_abort(schema->tables, schema->table_count, sizeof *schema->tables);
            table = &schema->tables[schema->table_count++];
            memset(table, 0, sizeof *table);
            table->name = copy_or_abort(table_name);
        }
        if (PQgetisnull(result, row, 1))
            continue;
        table->columns = grow_or_abort(table->columns, table->column_count, sizeof *table->columns);
        struct orm_live_column *column = &table->columns[table->column_count++];
        column->name = copy_or_abort(PQgetvalue(result, row, 1));
        column->type = copy_or_abort(PQgetvalue(result, row, 2));
        column->is_nullable = strcmp(PQgetvalue(result, row, 3), "t") != 0;
        column->default_sql =
            PQgetisnull(result, row, 4) ? NULL : copy_or_abort(PQgetvalue(result, row, 4));
    }
    PQclear(result);
    return 0;
}

void orm_live_schema_free(struct orm_live_schema *schema)
{
    for (size_t t = 0; t < schema->table_count; t++) {
        struct orm_live_table *table = &schema->tables[t];
        for (size_t c = 0; c < table->column_count; c++) {
            free(table->columns[c].name);
            free(table->columns[c].type);
            free(table->columns[c].default_sql);
        }
        free(table->columns);
        free(table->name);
    }
    free(schema->tables);
    memset(schema, 0, sizeof *schema);
}

const struct orm_live_table *orm_live_table_find(const struct orm_live_schema *schema,
                                                 const char *name)
{
    for (size_t t = 0; t < schema->table_count; t++)
        if (strcmp(schema->tables[t].name, name) == 0)
            return &schema->tables[t];
    return NULL;
}

const struct orm_live_column *orm_live_column_find(const struct orm_live_table *table,
                                                   const char *name)
{
    for (size_t c = 0; c < table->column_count; c++)
        if (strcmp(table->columns[c].name, name) == 0)
            return &table->columns[c];
    return NULL;
}
