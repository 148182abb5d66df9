/*
 * orm/introspect.c — reads the live schema from pg_catalog on a blocking connection: the
 * tables of current_schema(), their columns (type, nullability, default), their constraints
 * (primary key, unique, foreign key, check) and the indexes no constraint owns (a full-text
 * search index read back into its column and language), into the structs the diff
 * (orm/diff_*.c) compares with the declaration.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"

/* Every table below: ordinary and partitioned tables of current_schema(), except the
 * migration history, which restable owns and never declares. */
#define LIVE_TABLES                                                                                \
    "FROM pg_catalog.pg_class c "                                                                  \
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "                                    \
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "                              \
    "AND c.relname <> 'restable_migrations' "

/* One row per column; a table without columns still gives one row, with NULL attname.
 * pg_catalog rather than information_schema: format_type() spells array and modifier types
 * completely ("character varying(20)[]"), which information_schema does not. */
static const char columns_sql[] =
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
    "AND c.relname <> 'restable_migrations' "
    "ORDER BY c.relname, a.attnum";

static const char constraints_sql[] =
    "SELECT c.relname, k.conname, k.contype, "
    "(SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = k.conrelid "
    " AND a.attnum = k.conkey[1]), "
    "coalesce(array_length(k.conkey, 1), 0), pg_get_constraintdef(k.oid), r.relname, "
    "(SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = k.confrelid "
    " AND a.attnum = k.confkey[1]), "
    "k.confdeltype, k.confupdtype "
    "FROM pg_catalog.pg_constraint k "
    "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_class r ON r.oid = k.confrelid "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
    "AND c.relname <> 'restable_migrations' AND k.contype IN ('p', 'u', 'f', 'c') "
    "ORDER BY c.relname, k.conname";

static const char indexes_sql[] =
    "SELECT c.relname, i.relname, "
    "(SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid "
    " AND a.attnum = x.indkey[0]), "
    "x.indnatts = 1 AND x.indkey[0] <> 0 AND x.indpred IS NULL AND x.indexprs IS NULL "
    "AND am.amname = 'btree', "
    "x.indisunique, pg_get_indexdef(x.indexrelid), "
    "CASE WHEN am.amname = 'gin' AND x.indnatts = 1 AND x.indkey[0] = 0 AND x.indpred IS NULL "
    "THEN pg_get_indexdef(x.indexrelid, 1, false) END "
    "FROM pg_catalog.pg_index x "
    "JOIN pg_catalog.pg_class c ON c.oid = x.indrelid "
    "JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid "
    "JOIN pg_catalog.pg_am am ON am.oid = i.relam "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
    "AND c.relname <> 'restable_migrations' "
    "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid "
    " AND k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) "
    "ORDER BY c.relname, i.relname";

static char *value_or_null(const PGresult *result, int row, int column)
{
    return PQgetisnull(result, row, column) ? NULL : xstrdup(PQgetvalue(result, row, column));
}

/* Arrays grow by doubling from 4, so a count of 0, 4, 8, 16... means "full". */
static void *grow(void *items, size_t count, size_t size)
{
    bool is_full = count == 0 || (count >= 4 && (count & (count - 1)) == 0);
    if (!is_full)
        return items;
    return xrealloc(items, (count ? count * 2 : 4) * size);
}

static PGresult *query(PGconn *conn, const char *sql, struct rs_error *error)
{
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) == PGRES_TUPLES_OK)
        return result;
    rs_error_set(error, RS_FAILED, NULL, "cannot read the database schema: %.200s",
                 PQerrorMessage(conn));
    PQclear(result);
    return NULL;
}

static void read_columns(const PGresult *result, struct orm_live_schema *schema)
{
    struct orm_live_table *table = NULL;
    for (int row = 0; row < PQntuples(result); row++) {
        const char *table_name = PQgetvalue(result, row, 0);
        if (!table || strcmp(table->name, table_name) != 0) {
            schema->tables = grow(schema->tables, schema->table_count, sizeof *schema->tables);
            table = &schema->tables[schema->table_count++];
            memset(table, 0, sizeof *table);
            table->name = xstrdup(table_name);
        }
        if (PQgetisnull(result, row, 1))
            continue;
        table->columns = grow(table->columns, table->column_count, sizeof *table->columns);
        struct orm_live_column *column = &table->columns[table->column_count++];
        column->name = xstrdup(PQgetvalue(result, row, 1));
        column->type = xstrdup(PQgetvalue(result, row, 2));
        column->is_nullable = strcmp(PQgetvalue(result, row, 3), "t") != 0;
        column->default_sql = value_or_null(result, row, 4);
    }
}

/* The tables come from read_columns; a constraint or index of a table created in between
 * the queries is skipped. */
static struct orm_live_table *table_of(struct orm_live_schema *schema, const char *name)
{
    return (struct orm_live_table *)orm_live_table_find(schema, name);
}

static void read_constraints(const PGresult *result, struct orm_live_schema *schema)
{
    for (int row = 0; row < PQntuples(result); row++) {
        struct orm_live_table *table = table_of(schema, PQgetvalue(result, row, 0));
        if (!table)
            continue;
        table->constraints =
            grow(table->constraints, table->constraint_count, sizeof *table->constraints);
        struct orm_live_constraint *constraint = &table->constraints[table->constraint_count++];
        memset(constraint, 0, sizeof *constraint);
        constraint->name = xstrdup(PQgetvalue(result, row, 1));
        constraint->kind = PQgetvalue(result, row, 2)[0];
        constraint->column = value_or_null(result, row, 3);
        constraint->column_count = atoi(PQgetvalue(result, row, 4));
        constraint->definition = xstrdup(PQgetvalue(result, row, 5));
        constraint->ref_table = value_or_null(result, row, 6);
        constraint->ref_column = value_or_null(result, row, 7);
        constraint->on_delete = PQgetvalue(result, row, 8)[0];
        constraint->on_update = PQgetvalue(result, row, 9)[0];
    }
}

static void read_indexes(const PGresult *result, struct orm_live_schema *schema)
{
    for (int row = 0; row < PQntuples(result); row++) {
        struct orm_live_table *table = table_of(schema, PQgetvalue(result, row, 0));
        if (!table)
            continue;
        table->indexes = grow(table->indexes, table->index_count, sizeof *table->indexes);
        struct orm_live_index *index = &table->indexes[table->index_count++];
        index->name = xstrdup(PQgetvalue(result, row, 1));
        index->column = value_or_null(result, row, 2);
        index->is_simple = strcmp(PQgetvalue(result, row, 3), "t") == 0;
        index->is_unique = strcmp(PQgetvalue(result, row, 4), "t") == 0;
        index->definition = xstrdup(PQgetvalue(result, row, 5));
        index->search_column = index->search_language = NULL;
        if (!PQgetisnull(result, row, 6) &&
            !orm_search_expression_parse(PQgetvalue(result, row, 6), &index->search_column,
                                         &index->search_language))
            index->search_column = index->search_language = NULL;
    }
}

json_t *orm_live_evaluate(PGconn *conn, const char *expression, bool is_bytea)
{
    struct sb sql = {0};
    sb_appendf(&sql, is_bytea ? "SELECT to_jsonb(encode((%s), 'base64'))" : "SELECT to_jsonb((%s))",
               expression);
    PQclear(PQexec(conn, "BEGIN READ ONLY"));
    PGresult *result = PQexec(conn, sb_text(&sql));
    sb_free(&sql);
    json_t *value = NULL;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
        !PQgetisnull(result, 0, 0))
        value = json_loads(PQgetvalue(result, 0, 0), JSON_DECODE_ANY, NULL);
    PQclear(result);
    PQclear(PQexec(conn, "ROLLBACK"));
    return value;
}

/* A one-column check of the form "col = ANY (ARRAY[...])" or "col <@ ARRAY[...]" keeps the
 * column to a list of choices: the list, evaluated. PostgreSQL may print the same check in
 * more than one way (after a dump and restore, say), so the values are what get compared. */
static json_t *read_choices(PGconn *conn, const struct orm_live_constraint *constraint)
{
    const char *definition = constraint->definition;
    const char *start = strstr(definition, "ARRAY[");
    if (constraint->kind != 'c' || constraint->column_count != 1 || !start ||
        !(strstr(definition, "= ANY (") || strstr(definition, "<@")))
        return NULL;
    const char *end = start + 6;
    int depth = 1;
    bool is_quoted = false;
    for (; *end && depth > 0; end++) {
        if (*end == '\'')
            is_quoted = !is_quoted;
        else if (!is_quoted && *end == '[')
            depth++;
        else if (!is_quoted && *end == ']')
            depth--;
    }
    if (depth != 0)
        return NULL;
    struct sb array = {0};
    sb_append_n(&array, start, (size_t)(end - start));
    json_t *choices = orm_live_evaluate(conn, sb_text(&array), false);
    sb_free(&array);
    if (json_is_array(choices))
        return choices;
    json_decref(choices);
    return NULL;
}

int orm_live_schema_read(PGconn *conn, struct orm_live_schema *schema, struct rs_error *error)
{
    memset(schema, 0, sizeof *schema);
    PGresult *columns = query(conn, columns_sql, error);
    if (!columns)
        return -1;
    read_columns(columns, schema);
    PQclear(columns);
    PGresult *constraints = query(conn, constraints_sql, error);
    if (!constraints) {
        orm_live_schema_free(schema);
        return -1;
    }
    read_constraints(constraints, schema);
    PQclear(constraints);
    for (size_t t = 0; t < schema->table_count; t++)
        for (size_t k = 0; k < schema->tables[t].constraint_count; k++)
            schema->tables[t].constraints[k].choices =
                read_choices(conn, &schema->tables[t].constraints[k]);
    PGresult *indexes = query(conn, indexes_sql, error);
    if (!indexes) {
        orm_live_schema_free(schema);
        return -1;
    }
    read_indexes(indexes, schema);
    PQclear(indexes);
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
        for (size_t k = 0; k < table->constraint_count; k++) {
            struct orm_live_constraint *constraint = &table->constraints[k];
            free(constraint->name);
            free(constraint->column);
            free(constraint->definition);
            free(constraint->ref_table);
            free(constraint->ref_column);
            json_decref(constraint->choices);
        }
        for (size_t i = 0; i < table->index_count; i++) {
            free(table->indexes[i].name);
            free(table->indexes[i].column);
            free(table->indexes[i].definition);
            free(table->indexes[i].search_column);
            free(table->indexes[i].search_language);
        }
        free(table->columns);
        free(table->constraints);
        free(table->indexes);
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

const struct orm_live_constraint *orm_live_constraint_find(const struct orm_live_table *table,
                                                           char kind, const char *column)
{
    for (size_t k = 0; k < table->constraint_count; k++) {
        const struct orm_live_constraint *constraint = &table->constraints[k];
        if (constraint->kind == kind && constraint->column_count == 1 && constraint->column &&
            strcmp(constraint->column, column) == 0)
            return constraint;
    }
    return NULL;
}

const struct orm_live_index *orm_live_index_find(const struct orm_live_table *table,
                                                 const char *column, bool is_unique)
{
    for (size_t i = 0; i < table->index_count; i++) {
        const struct orm_live_index *index = &table->indexes[i];
        if (index->is_simple && index->is_unique == is_unique && index->column &&
            strcmp(index->column, column) == 0)
            return index;
    }
    return NULL;
}

const struct orm_live_index *orm_live_search_index_find(const struct orm_live_table *table,
                                                        const char *column)
{
    for (size_t i = 0; i < table->index_count; i++) {
        const struct orm_live_index *index = &table->indexes[i];
        if (index->search_column && strcmp(index->search_column, column) == 0)
            return index;
    }
    return NULL;
}
