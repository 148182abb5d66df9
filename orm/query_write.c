/*
 * orm/query_write.c — the statements that change rows (insert, update, delete) and the ids
 * listing. Each is one statement (CTEs where a write must also return something), so a request
 * is one round trip and one transaction. Columns are always emitted in table order, not in the
 * order a body happened to list them, so equal shapes give byte-identical statements.
 * Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"
#include "orm/orm_internal_types.h"

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

static int check_table(const struct cfg_table *table, const struct orm_sql *out,
                       struct rs_error *error)
{
    if (!table || !out || table->column_count == 0 || table->primary_key >= table->column_count) {
        rs_error_set(error, RS_INVALID, NULL, "no table to write");
        return -1;
    }
    return 0;
}

/* Every assignment names a column of the table, at most once per row. */
static int check_row(const struct cfg_table *table, const struct orm_row *row,
                     struct rs_error *error)
{
    if (row->assignment_count > 0 && !row->assignments) {
        rs_error_set(error, RS_INVALID, NULL, "a row has no assignments");
        return -1;
    }
    for (size_t i = 0; i < row->assignment_count; i++) {
        const struct cfg_column *column = row->assignments[i].column;
        if (!orm_table_has_column(table, column)) {
            rs_error_set(error, RS_INVALID, column && column->name ? column->name : NULL,
                         "unknown column \"%s\"", column && column->name ? column->name : "?");
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (row->assignments[j].column == column) {
                rs_error_set(error, RS_INVALID, column->name, "column \"%s\" is assigned twice",
                             column->name);
                return -1;
            }
        }
    }
    return 0;
}

static const struct orm_assignment *assignment_for(const struct orm_row *row,
                                                   const struct cfg_column *column)
{
    for (size_t i = 0; i < row->assignment_count; i++)
        if (row->assignments[i].column == column)
            return &row->assignments[i];
    return NULL;
}

/* "$n::cast" for the value (NULL binds SQL NULL) */
static void append_value(struct orm_build *build, struct sb *out,
                         const struct orm_assignment *assignment)
{
    int number = orm_sql_bind(build->sql, assignment->value);
    sb_appendf(out, "$%d::%s", number, orm_column_cast(assignment->column));
}

/* Rows may assign different columns: the statement lists the union (in table order) and
 * fills the gaps with DEFAULT. The new keys come back in row order: PostgreSQL inserts a
 * VALUES list in order and RETURNING emits each row as it is inserted — relied on, as every
 * ORM returning ids from a multi-row insert does, since SQL offers nothing to pair them. */
int orm_build_insert(const struct cfg_table *table, const struct orm_row *rows, size_t row_count,
                     struct orm_sql *out, struct rs_error *error)
{
    if (check_table(table, out, error) < 0)
        return -1;
    if (row_count == 0 || !rows) {
        rs_error_set(error, RS_INVALID, NULL, "no rows to insert");
        return -1;
    }
    for (size_t r = 0; r < row_count; r++)
        if (check_row(table, &rows[r], error) < 0)
            return -1;
    struct orm_build build = {.sql = out};
    struct sb *text = &out->text;
    const struct cfg_column *pk = cfg_primary_key(table);
    bool *is_used = xcalloc(table->column_count, sizeof *is_used);
    size_t used_count = 0;
    for (size_t c = 0; c < table->column_count; c++) {
        for (size_t r = 0; r < row_count && !is_used[c]; r++)
            is_used[c] = assignment_for(&rows[r], &table->columns[c]) != NULL;
        used_count += is_used[c];
    }

    sb_append(text, "WITH ins AS (INSERT INTO ");
    orm_build_identifier(&build, text, table->name);
    if (used_count == 0 && row_count == 1) {
        sb_append(text, " DEFAULT VALUES");
    } else if (used_count == 0) {
        /* several rows with nothing assigned: DEFAULT VALUES takes one row only */
        sb_append(text, " (");
        orm_build_identifier(&build, text, pk->name);
        sb_append(text, ") VALUES ");
        for (size_t r = 0; r < row_count; r++)
            sb_append(text, r ? ", (DEFAULT)" : "(DEFAULT)");
    } else {
        sb_append(text, " (");
        const char *separator = "";
        for (size_t c = 0; c < table->column_count; c++) {
            if (!is_used[c])
                continue;
            sb_append(text, separator);
            orm_build_identifier(&build, text, table->columns[c].name);
            separator = ", ";
        }
        sb_append(text, ") VALUES ");
        for (size_t r = 0; r < row_count; r++) {
            sb_append(text, r ? ", (" : "(");
            separator = "";
            for (size_t c = 0; c < table->column_count; c++) {
                if (!is_used[c])
                    continue;
                sb_append(text, separator);
                separator = ", ";
                const struct orm_assignment *assignment =
                    assignment_for(&rows[r], &table->columns[c]);
                if (assignment)
                    append_value(&build, text, assignment);
                else
                    sb_append(text, "DEFAULT");
            }
            sb_append_char(text, ')');
        }
    }
    free(is_used);
    sb_append(text, " RETURNING ");
    orm_build_identifier(&build, text, pk->name);
    sb_append(text, ") SELECT coalesce(json_agg(json_build_object(");
    orm_build_key_literal(&build, text, pk->name);
    sb_append(text, ", ");
    orm_build_output_value(&build, text, 0, pk);
    sb_append(text, ")), '[]')::text FROM ins t0");
    return orm_build_finish(&build, 0, error);
}

/* The SET list in table order; with reset_missing every other writable column (not the
 * primary key, not serial) goes back to DEFAULT, which is NULL when none is declared. */
static int append_set(struct orm_build *build, const struct cfg_table *table,
                      const struct orm_row *set, bool reset_missing, struct sb *out,
                      struct rs_error *error)
{
    const struct cfg_column *pk = cfg_primary_key(table);
    if (assignment_for(set, pk)) {
        rs_error_set(error, RS_UNPROCESSABLE, pk->name, "the primary key cannot be changed");
        return -1;
    }
    if (set->assignment_count == 0 && !reset_missing) {
        rs_error_set(error, RS_UNPROCESSABLE, NULL, "the body sets no columns");
        return -1;
    }
    bool is_empty = true;
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        const struct orm_assignment *assignment = assignment_for(set, column);
        if (!assignment && (!reset_missing || column == pk || is_serial(column)))
            continue;
        sb_append(out, is_empty ? " SET " : ", ");
        is_empty = false;
        orm_build_identifier(build, out, column->name);
        sb_append(out, " = ");
        if (assignment)
            append_value(build, out, assignment);
        else
            sb_append(out, "DEFAULT");
    }
    if (is_empty) {
        /* PUT on a table with nothing to reset: still touch the matching rows, so the caller
         * learns whether they exist */
        sb_append(out, " SET ");
        orm_build_identifier(build, out, pk->name);
        sb_append(out, " = ");
        orm_build_column_ref(build, out, 0, pk);
    }
    return 0;
}

/* The versions as one xid[] literal ("{1,2}"): only decimal texts that fit an xid go in; any
 * other text is a version no row can have, so it is left out (none left: '{}' matches
 * nothing). */
static void append_versions_literal(struct sb *out, const struct orm_row_target *target)
{
    sb_append_char(out, '{');
    bool is_first = true;
    for (size_t i = 0; i < target->version_count; i++) {
        const char *version = target->versions[i];
        size_t length = version ? strlen(version) : 0;
        if (length == 0 || length > 10 || strspn(version, "0123456789") != length ||
            strtoull(version, NULL, 10) > 0xffffffffULL)
            continue;
        if (!is_first)
            sb_append_char(out, ',');
        sb_append(out, version);
        is_first = false;
    }
    sb_append_char(out, '}');
}

/* " WHERE t0.pk = $n::cast[ AND t0.xmin = ANY($m::xid[])]": xmin is the row version (see
 * docs/decisions.md); in READ COMMITTED a writer blocked behind another re-checks this
 * condition against the row the other one left, whose xmin differs, so only one wins. Returns
 * the pk's parameter number. */
static int append_row_where(struct orm_build *build, const struct cfg_table *table,
                            const struct orm_row_target *target, struct sb *out)
{
    const struct cfg_column *pk = cfg_primary_key(table);
    sb_append(out, " WHERE ");
    orm_build_column_ref(build, out, 0, pk);
    int pk_number = orm_sql_bind(build->sql, target->pk_value);
    sb_appendf(out, " = $%d::%s", pk_number, orm_column_cast(pk));
    if (target->versions) {
        struct sb literal = {0};
        append_versions_literal(&literal, target);
        sb_appendf(out, " AND t0.xmin = ANY($%d::xid[])",
                   orm_sql_bind(build->sql, sb_text(&literal)));
        sb_free(&literal);
    }
    return pk_number;
}

/* ", EXISTS (SELECT 1 FROM "table" t0 WHERE t0.pk = $n::cast)": read from the statement's
 * snapshot, before its own write, so it tells "no such row" (404) from "changed since" (412). */
static void append_row_exists(struct orm_build *build, const struct cfg_table *table, int pk_number,
                              struct sb *out)
{
    const struct cfg_column *pk = cfg_primary_key(table);
    sb_append(out, ", EXISTS (SELECT 1 FROM ");
    orm_build_identifier(build, out, table->name);
    sb_append(out, " t0 WHERE ");
    orm_build_column_ref(build, out, 0, pk);
    sb_appendf(out, " = $%d::%s)", pk_number, orm_column_cast(pk));
}

static int row_target_check(const struct orm_row_target *target, const struct cfg_table *table,
                            struct rs_error *error)
{
    if (!target || !target->pk_value) {
        rs_error_set(error, RS_INVALID, cfg_primary_key(table)->name,
                     "a primary key value is required");
        return -1;
    }
    if (target->version_count > 0 && !target->versions) {
        rs_error_set(error, RS_INVALID, NULL, "versions are missing");
        return -1;
    }
    return 0;
}

/* target NULL: the rows the filters match (bulk update, a JSON array of rows); else one row by
 * its key, with its new version and, when versions are checked, whether it exists. */
static int build_update(const struct cfg_table *table, const struct orm_row *set,
                        bool reset_missing, const struct orm_filter *filters, size_t filter_count,
                        const struct orm_row_target *target, struct orm_sql *out,
                        struct rs_error *error)
{
    static const struct orm_row no_assignments = {NULL, 0};
    if (check_table(table, out, error) < 0)
        return -1;
    if (target && row_target_check(target, table, error) < 0)
        return -1;
    if (!set)
        set = &no_assignments;
    if (check_row(table, set, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb *text = &out->text;
    struct orm_projection projection = {0};
    struct orm_select select = {.table = table};
    struct sb order = {0};
    int pk_number = 0;
    sb_append(text, "WITH upd AS (UPDATE ");
    orm_build_identifier(&build, text, table->name);
    sb_append(text, " t0");
    int result = append_set(&build, table, set, reset_missing, text, error);
    if (result == 0 && target)
        pk_number = append_row_where(&build, table, target, text);
    else if (result == 0)
        result = orm_build_where(&build, table, filters, filter_count, text, error);
    if (result == 0)
        result = orm_build_projection(&build, &select, &projection, error);
    if (result == 0) {
        /* rendered as list renders rows (no secrets, bytea as base64), by primary key */
        sb_append(text,
                  target ? " RETURNING t0.*, t0.xmin AS \"#v\") SELECT (" : " RETURNING t0.*) ");
        orm_build_column_ref(&build, &order, 0, cfg_primary_key(table));
        sb_append(&order, " ASC");
        orm_build_rows_json(text, &projection, sb_text(&order), " FROM upd t0");
        if (target) {
            sb_append(text, "), (SELECT \"#v\"::text FROM upd)");
            if (target->versions)
                append_row_exists(&build, table, pk_number, text);
        }
    }
    orm_projection_free(&projection);
    sb_free(&order);
    return orm_build_finish(&build, result, error);
}

int orm_build_update(const struct cfg_table *table, const struct orm_row *set, bool reset_missing,
                     const struct orm_filter *filters, size_t filter_count, struct orm_sql *out,
                     struct rs_error *error)
{
    return build_update(table, set, reset_missing, filters, filter_count, NULL, out, error);
}

int orm_build_update_row(const struct cfg_table *table, const struct orm_row *set,
                         bool reset_missing, const struct orm_row_target *target,
                         struct orm_sql *out, struct rs_error *error)
{
    if (!target) {
        rs_error_set(error, RS_INVALID, NULL, "no row to update");
        return -1;
    }
    return build_update(table, set, reset_missing, NULL, 0, target, out, error);
}

/* "WITH del AS (DELETE FROM "T" t0": the start both deletes share, WHERE next. */
static void open_delete(struct orm_build *build, const struct cfg_table *table, struct sb *text)
{
    sb_append(text, "WITH del AS (DELETE FROM ");
    orm_build_identifier(build, text, table->name);
    sb_append(text, " t0");
}

int orm_build_delete(const struct cfg_table *table, const struct orm_filter *filters,
                     size_t filter_count, struct orm_sql *out, struct rs_error *error)
{
    if (check_table(table, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb *text = &out->text;
    open_delete(&build, table, text);
    int result = orm_build_where(&build, table, filters, filter_count, text, error);
    sb_append(text, " RETURNING 1) SELECT count(*) FROM del");
    return orm_build_finish(&build, result, error);
}

int orm_build_delete_row(const struct cfg_table *table, const struct orm_row_target *target,
                         struct orm_sql *out, struct rs_error *error)
{
    if (check_table(table, out, error) < 0 || row_target_check(target, table, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb *text = &out->text;
    open_delete(&build, table, text);
    int pk_number = append_row_where(&build, table, target, text);
    sb_append(text, " RETURNING 1) SELECT count(*)");
    /* an uncorrelated subquery next to the aggregate: one row either way */
    if (target->versions)
        append_row_exists(&build, table, pk_number, text);
    sb_append(text, " FROM del");
    return orm_build_finish(&build, 0, error);
}

/* {"<pk>": "<readable>"} in primary key order. json_object_agg orders by the key's own value
 * (s.o), not its text, so 10 follows 9. */
int orm_build_ids(const struct cfg_table *table, const char *search, long limit, long offset,
                  struct orm_sql *out, struct rs_error *error)
{
    if (check_table(table, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb *text = &out->text;
    const struct cfg_column *pk = cfg_primary_key(table);
    const struct cfg_column *shown =
        table->readable && !table->readable->is_secret ? table->readable : pk;
    struct sb readable = {0};
    orm_build_column_ref(&build, &readable, 0, shown);
    sb_append(&readable, "::text");

    sb_append(text, "SELECT coalesce(json_object_agg(s.k, s.v ORDER BY s.o), '{}')::text FROM "
                    "(SELECT ");
    orm_build_column_ref(&build, text, 0, pk);
    sb_append(text, " AS o, ");
    orm_build_column_ref(&build, text, 0, pk);
    sb_appendf(text, "::text AS k, %s AS v FROM ", sb_text(&readable));
    orm_build_identifier(&build, text, table->name);
    sb_append(text, " t0");
    if (search) {
        struct sb pattern = {0};
        sb_append_char(&pattern, '%');
        orm_like_escape_append(&pattern, search);
        sb_append_char(&pattern, '%');
        int number = orm_sql_bind(out, sb_text(&pattern));
        sb_appendf(text, " WHERE %s ILIKE $%d::text", sb_text(&readable), number);
        sb_free(&pattern);
    }
    sb_append(text, " ORDER BY ");
    orm_build_column_ref(&build, text, 0, pk);
    orm_build_limit_offset(&build, limit, offset, text);
    sb_append(text, ") s");
    sb_free(&readable);
    return orm_build_finish(&build, 0, error);
}
