/*
 * orm/query_insert.c — bulk create and upsert: many rows in one INSERT ... VALUES (DEFAULT where
 * a row leaves a column out), optionally ON CONFLICT (a unique key) DO UPDATE, answered as full
 * rows in the order sent. PostgreSQL does not promise that RETURNING follows the VALUES order,
 * so the order is not left to luck: every row's key (its primary key, or the conflict key) is
 * fixed first in a materialized CTE numbered 1..n (a sequence's next value, or the column's
 * declared default, when the row does not send it), the INSERT takes the key from there, and
 * the returned rows are joined back to that CTE by key and ordered by its number.
 * Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"
#include "orm/orm_internal_types.h"
#include "orm/schema_internal.h"

/* The statement's facts, worked out before any text is written. */
struct insert_plan {
    const struct cfg_table *table;
    size_t row_count;
    /* per row, per column (table order): the row's assignment, or NULL */
    const struct orm_assignment **cells;
    const struct cfg_column **keys; /* the pairing key: conflict columns, else the primary key */
    size_t key_count;
    int *key_params;    /* per row, per key: the sent value's parameter number, 0 = generated */
    bool *is_used;      /* per column: some row sends it, or it is a key */
    bool *is_partial;   /* per column: some rows send it and others do not */
    bool *is_generated; /* per key: some row does not send it (the database draws it) */
    bool upsert;
};

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

static size_t column_index(const struct cfg_table *table, const struct cfg_column *column)
{
    return (size_t)(column - table->columns);
}

bool orm_is_unique_key(const struct cfg_table *table, const struct cfg_column *const *columns,
                       size_t column_count)
{
    if (!table || !columns || column_count != 1 || !orm_table_has_column(table, columns[0]))
        return false;
    return columns[0]->is_primary_key || columns[0]->is_unique;
}

static bool is_key(const struct insert_plan *plan, const struct cfg_column *column)
{
    for (size_t k = 0; k < plan->key_count; k++)
        if (plan->keys[k] == column)
            return true;
    return false;
}

/* An upsert's column that only some rows send and that DO UPDATE may set: "#k" says which. */
static bool needs_sent_flag(const struct insert_plan *plan, size_t c)
{
    const struct cfg_column *column = &plan->table->columns[c];
    return plan->upsert && plan->is_partial[c] && !is_key(plan, column) && !column->is_primary_key;
}

static const struct orm_assignment *cell(const struct insert_plan *plan, size_t row, size_t column)
{
    return plan->cells[row * plan->table->column_count + column];
}

/* Fills the row's cells: every assignment names a column of the table, at most once. */
static int plan_row(struct insert_plan *plan, size_t r, const struct orm_row *row,
                    struct rs_error *error)
{
    if (row->assignment_count > 0 && !row->assignments) {
        rs_error_set(error, RS_INVALID, NULL, "a row has no assignments");
        return -1;
    }
    const struct orm_assignment **cells = &plan->cells[r * plan->table->column_count];
    for (size_t i = 0; i < row->assignment_count; i++) {
        const struct cfg_column *column = row->assignments[i].column;
        if (!orm_table_has_column(plan->table, column)) {
            rs_error_set(error, RS_INVALID, NULL, "a row assigns a column of another table");
            return -1;
        }
        size_t c = column_index(plan->table, column);
        if (cells[c]) {
            rs_error_set(error, RS_INVALID, column->name, "column \"%s\" is assigned twice",
                         column->name);
            return -1;
        }
        cells[c] = &row->assignments[i];
    }
    return 0;
}

/* A key column a row does not send must be one the database can fill (serial or a declared
 * default); a sent key may not be null (null never matches, so the row could not be paired). */
static int check_key_cells(struct insert_plan *plan, size_t k, struct rs_error *error)
{
    const struct cfg_column *key = plan->keys[k];
    struct sb probe = {0};
    bool can_generate = is_serial(key) || orm_schema_default_sql(key, &probe);
    sb_free(&probe);
    for (size_t r = 0; r < plan->row_count; r++) {
        const struct orm_assignment *sent = cell(plan, r, column_index(plan->table, key));
        if (sent && !sent->value) {
            rs_error_set(error, RS_UNPROCESSABLE, key->name, "row %zu: %s may not be null here", r,
                         key->name);
            return -1;
        }
        if (!sent && !can_generate) {
            rs_error_set(error, RS_UNPROCESSABLE, key->name, "row %zu: %s is required", r,
                         key->name);
            return -1;
        }
        plan->is_generated[k] = plan->is_generated[k] || !sent;
    }
    return 0;
}

static int plan_columns(struct insert_plan *plan, struct rs_error *error)
{
    const struct cfg_table *table = plan->table;
    for (size_t c = 0; c < table->column_count; c++) {
        size_t sent = 0;
        for (size_t r = 0; r < plan->row_count; r++)
            sent += cell(plan, r, c) != NULL;
        plan->is_used[c] = sent > 0 || is_key(plan, &table->columns[c]);
        plan->is_partial[c] = sent > 0 && sent < plan->row_count;
    }
    for (size_t k = 0; k < plan->key_count; k++)
        if (check_key_cells(plan, k, error) < 0)
            return -1;
    return 0;
}

static void plan_free(struct insert_plan *plan)
{
    free(plan->cells);
    free(plan->keys);
    free(plan->key_params);
    free(plan->is_used);
    free(plan->is_partial);
    free(plan->is_generated);
}

static int plan_make(struct insert_plan *plan, const struct cfg_table *table,
                     const struct orm_row *rows, size_t row_count,
                     const struct orm_conflict *conflict, struct rs_error *error)
{
    *plan =
        (struct insert_plan){.table = table, .row_count = row_count, .upsert = conflict != NULL};
    plan->cells = xcalloc(row_count * table->column_count, sizeof *plan->cells);
    plan->is_used = xcalloc(table->column_count, sizeof *plan->is_used);
    plan->is_partial = xcalloc(table->column_count, sizeof *plan->is_partial);
    plan->key_count = conflict ? conflict->column_count : 1;
    plan->keys = xcalloc(plan->key_count, sizeof *plan->keys);
    plan->key_params = xcalloc(row_count * plan->key_count, sizeof *plan->key_params);
    plan->is_generated = xcalloc(plan->key_count, sizeof *plan->is_generated);
    if (conflict)
        memcpy(plan->keys, conflict->columns, plan->key_count * sizeof *plan->keys);
    else
        plan->keys[0] = cfg_primary_key(table);
    for (size_t r = 0; r < row_count; r++)
        if (plan_row(plan, r, &rows[r], error) < 0)
            return -1;
    return plan_columns(plan, error);
}

/* ---- text ----------------------------------------------------------------------------------- */

/* The key k of "#k": the row's own (v."#k<k>"), or, where a row sends none, the sequence's next
 * value (serial: the sequence is looked up once, in q) or the column's declared default. */
static void append_key_value(const struct insert_plan *plan, size_t k, struct sb *out)
{
    const struct cfg_column *key = plan->keys[k];
    if (!plan->is_generated[k]) {
        sb_appendf(out, ", v.\"#k%zu\"", k);
        return;
    }
    sb_appendf(out, ", coalesce(v.\"#k%zu\", ", k);
    if (is_serial(key)) {
        sb_appendf(out, "nextval(q.\"#q%zu\")", k);
    } else {
        sb_append_char(out, '(');
        orm_schema_default_sql(key, out);
        sb_append_char(out, ')');
    }
    sb_appendf(out, "::%s)", orm_column_cast(key));
}

/* " CROSS JOIN (SELECT pg_get_serial_sequence('"t"', 'c')::regclass AS "#q0", ...) q" for the
 * serial keys some row does not send: one catalog lookup per statement, not one per row. */
static void append_sequences(struct orm_build *build, const struct insert_plan *plan,
                             struct sb *out)
{
    const char *separator = " CROSS JOIN (SELECT ";
    for (size_t k = 0; k < plan->key_count; k++) {
        if (!plan->is_generated[k] || !is_serial(plan->keys[k]))
            continue;
        struct sb quoted = {0};
        orm_quote_identifier(&quoted, plan->table->name);
        int table_number = orm_sql_bind(build->sql, sb_text(&quoted));
        sb_free(&quoted);
        sb_appendf(out, "%spg_get_serial_sequence($%d, $%d)::regclass AS \"#q%zu\"", separator,
                   table_number, orm_sql_bind(build->sql, plan->keys[k]->name), k);
        separator = ", ";
    }
    if (*separator == ',')
        sb_append(out, ") q");
}

/* ("#o", "#k0"..., "#s<c>"...): the names of "#k"'s columns and of its VALUES. */
static void append_keys_columns(const struct insert_plan *plan, struct sb *out)
{
    sb_append(out, "(\"#o\"");
    for (size_t k = 0; k < plan->key_count; k++)
        sb_appendf(out, ", \"#k%zu\"", k);
    for (size_t c = 0; c < plan->table->column_count; c++)
        if (needs_sent_flag(plan, c))
            sb_appendf(out, ", \"#s%zu\"", c);
    sb_append_char(out, ')');
}

/* "#k": each row's number, its key, and (upserts) whether it sent each column that only some
 * rows send. Materialized: a generated key is drawn once. The VALUES hold what rows sent
 * (NULL: a key to generate, since a sent key is never null). */
static void append_keys_cte(struct orm_build *build, struct insert_plan *plan, struct sb *out)
{
    const struct cfg_table *table = plan->table;
    sb_append(out, "WITH \"#k\"");
    append_keys_columns(plan, out);
    sb_append(out, " AS MATERIALIZED (SELECT v.\"#o\"");
    for (size_t k = 0; k < plan->key_count; k++)
        append_key_value(plan, k, out);
    for (size_t c = 0; c < table->column_count; c++)
        if (needs_sent_flag(plan, c))
            sb_appendf(out, ", v.\"#s%zu\"", c);
    sb_append(out, " FROM (VALUES ");
    for (size_t r = 0; r < plan->row_count; r++) {
        sb_appendf(out, r ? ", (%zu" : "(%zu", r + 1);
        for (size_t k = 0; k < plan->key_count; k++) {
            const struct cfg_column *key = plan->keys[k];
            const struct orm_assignment *sent = cell(plan, r, column_index(table, key));
            int number = sent ? orm_sql_bind(build->sql, sent->value) : 0;
            plan->key_params[r * plan->key_count + k] = number;
            if (number)
                sb_appendf(out, ", $%d::%s", number, orm_column_cast(key));
            else
                sb_appendf(out, ", NULL::%s", orm_column_cast(key));
        }
        for (size_t c = 0; c < table->column_count; c++)
            if (needs_sent_flag(plan, c))
                sb_append(out, cell(plan, r, c) ? ", true" : ", false");
        sb_append_char(out, ')');
    }
    sb_append(out, ") v");
    append_keys_columns(plan, out);
    append_sequences(build, plan, out);
    sb_append_char(out, ')');
}

static void append_cell(struct orm_build *build, const struct insert_plan *plan, size_t r, size_t c,
                        struct sb *out)
{
    const struct cfg_column *column = &plan->table->columns[c];
    for (size_t k = 0; k < plan->key_count; k++) {
        if (plan->keys[k] != column)
            continue;
        int number = plan->key_params[r * plan->key_count + k];
        if (number)
            sb_appendf(out, "$%d::%s", number, orm_column_cast(column));
        else
            sb_appendf(out, "(SELECT \"#k%zu\" FROM \"#k\" WHERE \"#o\" = %zu)", k, r + 1);
        return;
    }
    const struct orm_assignment *sent = cell(plan, r, c);
    if (!sent) {
        sb_append(out, "DEFAULT");
        return;
    }
    int number = orm_sql_bind(build->sql, sent->value);
    sb_appendf(out, "$%d::%s", number, orm_column_cast(column));
}

/* prefix."#k0" = other."key0" AND ...: a "#k" row and a table row with the same key */
static void append_key_match(struct orm_build *build, const struct insert_plan *plan,
                             const char *keys_alias, const char *row_alias, struct sb *out)
{
    for (size_t k = 0; k < plan->key_count; k++) {
        sb_appendf(out, "%s%s.\"#k%zu\" = %s.", k ? " AND " : "", keys_alias, k, row_alias);
        orm_build_identifier(build, out, plan->keys[k]->name);
    }
}

/* ON CONFLICT (keys) DO UPDATE SET each sent column (not the primary key, which never moves);
 * a column only some rows send keeps its value for the others. Only keys sent: the first key
 * is set to itself, so the row is still returned. */
static void append_on_conflict(struct orm_build *build, const struct insert_plan *plan,
                               struct sb *out)
{
    const struct cfg_table *table = plan->table;
    sb_append(out, " ON CONFLICT (");
    for (size_t k = 0; k < plan->key_count; k++) {
        sb_append(out, k ? ", " : "");
        orm_build_identifier(build, out, plan->keys[k]->name);
    }
    sb_append(out, ") DO UPDATE SET ");
    bool is_empty = true;
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (!plan->is_used[c] || is_key(plan, column) || column->is_primary_key)
            continue;
        sb_append(out, is_empty ? "" : ", ");
        is_empty = false;
        orm_build_identifier(build, out, column->name);
        sb_append(out, " = ");
        if (needs_sent_flag(plan, c)) {
            sb_appendf(out, "CASE WHEN (SELECT k.\"#s%zu\" FROM \"#k\" k WHERE ", c);
            append_key_match(build, plan, "k", "EXCLUDED", out);
            sb_append(out, ") THEN EXCLUDED.");
            orm_build_identifier(build, out, column->name);
            sb_append(out, " ELSE ");
            orm_build_column_ref(build, out, 0, column);
            sb_append(out, " END");
        } else {
            sb_append(out, "EXCLUDED.");
            orm_build_identifier(build, out, column->name);
        }
    }
    if (is_empty) {
        orm_build_identifier(build, out, plan->keys[0]->name);
        sb_append(out, " = EXCLUDED.");
        orm_build_identifier(build, out, plan->keys[0]->name);
    }
}

static void append_insert(struct orm_build *build, const struct insert_plan *plan, struct sb *out)
{
    const struct cfg_table *table = plan->table;
    sb_append(out, ", ins AS (INSERT INTO ");
    orm_build_identifier(build, out, table->name);
    sb_append(out, " AS t0 (");
    const char *separator = "";
    for (size_t c = 0; c < table->column_count; c++) {
        if (!plan->is_used[c])
            continue;
        sb_append(out, separator);
        separator = ", ";
        orm_build_identifier(build, out, table->columns[c].name);
    }
    sb_append(out, ") VALUES ");
    for (size_t r = 0; r < plan->row_count; r++) {
        sb_append(out, r ? ", (" : "(");
        separator = "";
        for (size_t c = 0; c < table->column_count; c++) {
            if (!plan->is_used[c])
                continue;
            sb_append(out, separator);
            separator = ", ";
            append_cell(build, plan, r, c, out);
        }
        sb_append_char(out, ')');
    }
    if (plan->upsert)
        append_on_conflict(build, plan, out);
    sb_append(out, " RETURNING t0.*, t0.xmin AS \"#v\", (t0.xmax = 0) AS \"#new\")");
}

/* The three answers: the rows in the order sent (rendered as list renders rows), whether each
 * was inserted, the first row's version. */
static int append_answer(struct orm_build *build, const struct insert_plan *plan, struct sb *out,
                         struct rs_error *error)
{
    struct orm_projection projection = {0};
    struct orm_select select = {.table = plan->table};
    if (orm_build_projection(build, &select, &projection, error) < 0) {
        orm_projection_free(&projection);
        return -1;
    }
    struct sb from = {0};
    sb_append(&from, " FROM ins t0 JOIN \"#k\" k ON ");
    append_key_match(build, plan, "k", "t0", &from);
    sb_append(out, " SELECT (");
    struct sb rows_from = {0};
    sb_append(&rows_from, sb_text(&from));
    sb_append(&rows_from, sb_text(&projection.joins));
    orm_build_rows_json(out, &projection, "k.\"#o\"", sb_text(&rows_from));
    sb_appendf(out,
               "), (SELECT json_agg(t0.\"#new\" ORDER BY k.\"#o\")%s)::text, "
               "(SELECT t0.\"#v\"::text%s WHERE k.\"#o\" = 1)",
               sb_text(&from), sb_text(&from));
    sb_free(&rows_from);
    sb_free(&from);
    orm_projection_free(&projection);
    return 0;
}

static int check_conflict(const struct cfg_table *table, const struct orm_conflict *conflict,
                          struct rs_error *error)
{
    if (conflict && !orm_is_unique_key(table, conflict->columns, conflict->column_count)) {
        rs_error_set(error, RS_INVALID, NULL,
                     "the conflict target is not the primary key or a unique column");
        return -1;
    }
    return 0;
}

int orm_build_insert_rows(const struct cfg_table *table, const struct orm_row *rows,
                          size_t row_count, const struct orm_conflict *conflict,
                          struct orm_sql *out, struct rs_error *error)
{
    if (!table || !out || table->column_count == 0 || table->primary_key >= table->column_count) {
        rs_error_set(error, RS_INVALID, NULL, "no table to write");
        return -1;
    }
    if (row_count == 0 || !rows) {
        rs_error_set(error, RS_INVALID, NULL, "no rows to insert");
        return -1;
    }
    if (check_conflict(table, conflict, error) < 0)
        return -1;
    struct insert_plan plan;
    struct orm_build build = {.sql = out};
    int result = plan_make(&plan, table, rows, row_count, conflict, error);
    if (result == 0) {
        append_keys_cte(&build, &plan, &out->text);
        append_insert(&build, &plan, &out->text);
        result = append_answer(&build, &plan, &out->text, error);
    }
    plan_free(&plan);
    if (result == 0 && out->param_count > ORM_MAX_PARAMS) {
        rs_error_set(error, RS_INVALID, NULL,
                     "too many values for one statement (%zu, at most %d): send fewer rows",
                     out->param_count, ORM_MAX_PARAMS);
        result = -1;
    }
    return orm_build_finish(&build, result, error);
}
