/*
 * orm/probe.c — the declared defaults as PostgreSQL itself prints them. A default written
 * as 'abc' comes back from pg_get_expr() as 'abc'::character varying: instead of imitating
 * PostgreSQL's deparser, the declared tables are created as temporary tables in a
 * transaction that is rolled back, and their defaults read back. Declared and live text then
 * compare as strings. First, each search_language is looked up: one the database lacks stops
 * `migrations new --auto`, `check` and `forwards` with a message naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"

#define PROBE_PREFIX "restable_probe_"

static const char read_sql[] =
    "SELECT substr(c.relname, length('" PROBE_PREFIX "') + 1)::int, a.attnum, "
    "pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
    "WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'restable\\_probe\\_%'";

/* CREATE TEMP TABLE "restable_probe_<index>" with the declared columns' types and
 * defaults. */
static void append_probe_table(const struct cfg_table *table, size_t index, struct sb *out)
{
    sb_appendf(out, "CREATE TEMP TABLE \"" PROBE_PREFIX "%zu\" (", index);
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (c)
            sb_append(out, ", ");
        orm_quote_identifier(out, column->name);
        sb_append_char(out, ' ');
        if (column->type == CFG_TYPE_SERIAL)
            sb_append(out, "integer"); /* no sequence: its default is not compared */
        else if (column->type == CFG_TYPE_BIGSERIAL)
            sb_append(out, "bigint");
        else
            orm_column_ddl_type(column, out);
        struct sb expression = {0};
        if (orm_schema_default_sql(column, &expression)) {
            sb_append(out, " DEFAULT ");
            sb_append(out, sb_text(&expression));
        }
        sb_free(&expression);
    }
    sb_append(out, ");\n");
}

static int fail(PGconn *conn, PGresult *result, const char *what, struct rs_error *error)
{
    const char *message = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    rs_error_set(error, RS_FAILED, NULL, "%s: %.200s", what,
                 message ? message : PQerrorMessage(conn));
    PQclear(result);
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}

/* A search_language the database lacks would fail the migration that makes the table's
 * search indexes, and every search after it: said here, before anything is written. */
static int check_search_languages(PGconn *conn, const struct orm_declared *declared,
                                  struct rs_error *error)
{
    static const char sql[] = "SELECT 1 FROM pg_catalog.pg_ts_config WHERE cfgname = $1 "
                              "AND pg_catalog.pg_ts_config_is_visible(oid)";
    for (size_t t = 0; t < declared->table_count; t++) {
        const struct cfg_table *table = declared->tables[t];
        bool is_searched = false;
        for (size_t c = 0; c < table->column_count; c++)
            is_searched |= table->columns[c].is_searchable;
        if (!is_searched || !table->search_language)
            continue;
        const char *params[1] = {table->search_language};
        PGresult *result = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
        bool is_known = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
        PQclear(result);
        if (!is_known) {
            rs_error_set(error, RS_FAILED, NULL,
                         "tables.%s.search_language: the database has no text search "
                         "configuration \"%s\" (SELECT cfgname FROM pg_ts_config lists those "
                         "it has)",
                         table->name, table->search_language);
            return -1;
        }
    }
    return 0;
}

int orm_probe_read(PGconn *conn, const struct orm_declared *declared, struct orm_probe *probe,
                   struct rs_error *error)
{
    memset(probe, 0, sizeof *probe);
    if (check_search_languages(conn, declared, error) < 0)
        return -1;
    probe->table_count = declared->table_count;
    probe->tables = xcalloc(declared->table_count, sizeof *probe->tables);
    for (size_t t = 0; t < declared->table_count; t++) {
        probe->tables[t].column_count = declared->tables[t]->column_count;
        probe->tables[t].columns =
            xcalloc(probe->tables[t].column_count, sizeof *probe->tables[t].columns);
    }
    struct sb sql = {0};
    sb_append(&sql, "BEGIN;\n");
    for (size_t t = 0; t < declared->table_count; t++)
        append_probe_table(declared->tables[t], t, &sql);
    PGresult *result = PQexec(conn, sb_text(&sql));
    sb_free(&sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        orm_probe_free(probe);
        return fail(conn, result, "cannot compare the declared defaults and choices", error);
    }
    PQclear(result);
    result = PQexec(conn, read_sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        orm_probe_free(probe);
        return fail(conn, result, "cannot read the declared defaults back", error);
    }
    for (int row = 0; row < PQntuples(result); row++) {
        long table = strtol(PQgetvalue(result, row, 0), NULL, 10);
        long column = strtol(PQgetvalue(result, row, 1), NULL, 10) - 1;
        if (table < 0 || (size_t)table >= declared->table_count || column < 0 ||
            (size_t)column >= declared->tables[table]->column_count)
            continue;
        struct orm_probe_column *probed = &probe->tables[table].columns[column];
        if (!PQgetisnull(result, row, 2))
            probed->default_sql = xstrdup(PQgetvalue(result, row, 2));
    }
    PQclear(result);
    PQclear(PQexec(conn, "ROLLBACK"));
    return 0;
}

void orm_probe_free(struct orm_probe *probe)
{
    for (size_t t = 0; t < probe->table_count && probe->tables; t++) {
        for (size_t c = 0; c < probe->tables[t].column_count; c++) {
            free(probe->tables[t].columns[c].default_sql);
        }
        free(probe->tables[t].columns);
    }
    free(probe->tables);
    memset(probe, 0, sizeof *probe);
}
