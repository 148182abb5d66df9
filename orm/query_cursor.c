/*
 * orm/query_cursor.c — the keyset page: a list statement that continues after a row instead of
 * skipping rows with OFFSET, so page 50,000 costs what page 1 costs. The keys are __order's
 * columns and the primary key; the continuation predicate compares the keys with the last row's
 * values as PostgreSQL orders them (NULLS LAST ascending, NULLS FIRST descending), written so
 * that an index on the keys gives a range: runs of NOT NULL keys in one direction become one
 * row comparison, `(a, id) > ($1, $2)`, guarded by `>=` when more keys follow.
 * Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"

static bool keyset_has(const struct orm_keyset *keyset, const struct cfg_column *column)
{
    for (size_t i = 0; i < keyset->key_count; i++)
        if (keyset->keys[i].column == column)
            return true;
    return false;
}

int orm_keyset_of(const struct orm_select *select, struct orm_keyset *keyset,
                  struct rs_error *error)
{
    const struct cfg_table *table = select->table;
    const struct cfg_column *pk = cfg_primary_key(table);
    keyset->key_count = 0;
    for (size_t i = 0; i < select->order_count && !keyset_has(keyset, pk); i++) {
        const struct cfg_column *column = select->orders[i].column;
        if (!orm_table_has_column(table, column) || column->is_secret) {
            rs_error_set(error, RS_INVALID, "__order", "unknown field \"%s\"",
                         column && column->name ? column->name : "?");
            return -1;
        }
        if (column->type == CFG_TYPE_ARRAY &&
            (column->value_type == CFG_TYPE_JSON || column->value_type == CFG_TYPE_JSONB)) {
            rs_error_set(error, RS_INVALID, "__order",
                         "cannot order by %s: arrays of json have no order", column->name);
            return -1;
        }
        if (!keyset_has(keyset, column) && keyset->key_count + 1 < ORM_MAX_KEYSET_KEYS)
            keyset->keys[keyset->key_count++] = select->orders[i];
    }
    if (!keyset_has(keyset, pk)) {
        bool is_alone = keyset->key_count == 0;
        keyset->keys[keyset->key_count++] =
            (struct orm_order){.column = pk, .descending = is_alone};
    }
    return 0;
}

void orm_keyset_order_text(const struct orm_keyset *keyset, struct sb *out)
{
    for (size_t i = 0; i < keyset->key_count; i++)
        sb_appendf(out, "%s%s%s", i ? "," : "", keyset->keys[i].descending ? "-" : "",
                   keyset->keys[i].column->name);
}

/* ---- the continuation predicate ---------------------------------------------------------- */

struct continuation {
    struct orm_build *build;
    const struct orm_keyset *keyset;
    const char *const *values;
    int *numbers; /* each non-NULL value's parameter number, bound once */
};

static const char *key_cast(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_JSON ? "jsonb" : orm_column_cast(column);
}

/* A key whose row comparison is plain: NOT NULL, and its value is not NULL either. */
static bool is_plain(const struct continuation *after, size_t index)
{
    return !after->keyset->keys[index].column->is_nullable && after->values[index];
}

/* "(t0.a, t0.b)" / "($1::int4, $2::text)" over keys [first, last] (no parentheses for one) */
static void append_keys(const struct continuation *after, size_t first, size_t last, bool values,
                        struct sb *out)
{
    if (last > first)
        sb_append_char(out, '(');
    for (size_t i = first; i <= last; i++) {
        const struct cfg_column *column = after->keyset->keys[i].column;
        if (i > first)
            sb_append(out, ", ");
        if (values)
            sb_appendf(out, "$%d::%s", after->numbers[i], key_cast(column));
        else
            orm_build_comparable_ref(after->build, out, column);
    }
    if (last > first)
        sb_append_char(out, ')');
}

static void append_comparison(const struct continuation *after, size_t first, size_t last,
                              const char *op, struct sb *out)
{
    append_keys(after, first, last, false, out);
    sb_appendf(out, " %s ", op);
    append_keys(after, first, last, true, out);
}

static void append_after(const struct continuation *after, size_t index, struct sb *out);

/* Keys [index, last] are plain and in one direction: one row comparison, and when keys follow,
 * `>=` first so that the index bounds the scan, then `>` or the rest. */
static void append_plain_run(const struct continuation *after, size_t index, size_t last,
                             struct sb *out)
{
    bool descending = after->keyset->keys[index].descending;
    if (last + 1 == after->keyset->key_count) {
        append_comparison(after, index, last, descending ? "<" : ">", out);
        return;
    }
    sb_append_char(out, '(');
    append_comparison(after, index, last, descending ? "<=" : ">=", out);
    sb_append(out, " AND (");
    append_comparison(after, index, last, descending ? "<" : ">", out);
    sb_append(out, " OR ");
    append_after(after, last + 1, out);
    sb_append(out, "))");
}

/* A nullable key: where its NULLs sit depends on the direction and on whether the last row's
 * value was NULL, which the cursor tells, so each case is its own text. */
static void append_nullable(const struct continuation *after, size_t index, struct sb *out)
{
    const struct orm_order *key = &after->keyset->keys[index];
    struct sb ref = {0};
    orm_build_comparable_ref(after->build, &ref, key->column);
    const char *column = sb_text(&ref);
    struct sb rest = {0};
    append_after(after, index + 1, &rest);
    if (!after->values[index]) {
        if (key->descending) /* NULLS FIRST: every value follows, and the NULLs after it */
            sb_appendf(out, "(%s IS NOT NULL OR (%s IS NULL AND %s))", column, column,
                       sb_text(&rest));
        else /* NULLS LAST: only NULLs follow */
            sb_appendf(out, "(%s IS NULL AND %s)", column, sb_text(&rest));
    } else {
        int number = after->numbers[index];
        const char *cast = key_cast(key->column);
        if (key->descending) /* the NULLs came first: a range below the value */
            sb_appendf(out, "(%s <= $%d::%s AND (%s < $%d::%s OR %s))", column, number, cast,
                       column, number, cast, sb_text(&rest));
        else /* greater values, then the NULLs */
            sb_appendf(out, "(%s > $%d::%s OR %s IS NULL OR (%s = $%d::%s AND %s))", column, number,
                       cast, column, column, number, cast, sb_text(&rest));
    }
    sb_free(&ref);
    sb_free(&rest);
}

/* Rows after the last one on keys [index, ...), given that the keys before are equal to its. */
static void append_after(const struct continuation *after, size_t index, struct sb *out)
{
    const struct orm_keyset *keyset = after->keyset;
    if (!is_plain(after, index)) {
        append_nullable(after, index, out);
        return;
    }
    size_t last = index;
    while (last + 1 < keyset->key_count && is_plain(after, last + 1) &&
           keyset->keys[last + 1].descending == keyset->keys[index].descending)
        last++;
    append_plain_run(after, index, last, out);
}

/* ---- the statement ----------------------------------------------------------------------- */

static void append_key_order(struct orm_build *build, const struct orm_keyset *keyset,
                             struct sb *out)
{
    for (size_t i = 0; i < keyset->key_count; i++) {
        if (i > 0)
            sb_append(out, ", ");
        orm_build_comparable_ref(build, out, keyset->keys[i].column);
        sb_append(out, keyset->keys[i].descending ? " DESC" : " ASC");
    }
}

/* json_build_array(t0."a"::text, t0."id"::text)::text: the values a cursor carries. The
 * session's settings (orm/connect.c: UTC, ISO dates, iso_8601 intervals, shortest exact
 * floats) make each text read back as the same value. */
static void append_key_values(struct orm_build *build, const struct orm_keyset *keyset,
                              struct sb *out)
{
    sb_append(out, "json_build_array(");
    for (size_t i = 0; i < keyset->key_count; i++) {
        if (i > 0)
            sb_append(out, ", ");
        orm_build_comparable_ref(build, out, keyset->keys[i].column);
        sb_append(out, "::text");
    }
    sb_append(out, ")::text");
}

static int check_keyset_select(const struct orm_select *select, const struct orm_sql *out,
                               struct rs_error *error)
{
    if (!select || !select->table || !out || select->table->column_count == 0 ||
        select->table->primary_key >= select->table->column_count || select->limit < 1) {
        rs_error_set(error, RS_INVALID, NULL, "no table to read");
        return -1;
    }
    return 0;
}

/* " WHERE <filters> AND <continuation>", binding the cursor's values once each */
static int append_where(struct orm_build *build, const struct orm_select *select,
                        const struct orm_keyset *keyset, struct sb *out, struct rs_error *error)
{
    if (orm_build_where(build, select->table, select->filters, select->filter_count, out, error) <
        0)
        return -1;
    if (select->after_count == 0)
        return 0;
    if (select->after_count != keyset->key_count) {
        rs_error_set(error, RS_INVALID, "__cursor", "__cursor was made for another order");
        return -1;
    }
    int numbers[ORM_MAX_KEYSET_KEYS] = {0};
    for (size_t i = 0; i < keyset->key_count; i++)
        if (select->after[i])
            numbers[i] = orm_sql_bind(build->sql, select->after[i]);
    struct continuation after = {build, keyset, select->after, numbers};
    sb_append(out, select->filter_count ? " AND " : " WHERE ");
    append_after(&after, 0, out);
    return 0;
}

/* limit + 1 rows are read: the extra one only says whether a next page exists, so the last
 * page is known as such (next_cursor null) even when it is full. */
int orm_build_list_keyset(const struct orm_select *select, struct orm_sql *out,
                          struct rs_error *error)
{
    if (check_keyset_select(select, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct orm_keyset keyset;
    struct orm_projection projection = {0};
    struct sb order = {0};
    struct sb where = {0};
    int result = -1;
    if (orm_keyset_of(select, &keyset, error) == 0 &&
        orm_build_projection(&build, select, &projection, error) == 0 &&
        append_where(&build, select, &keyset, &where, error) == 0) {
        append_key_order(&build, &keyset, &order);
        struct sb *text = &out->text;
        sb_appendf(text,
                   "SELECT coalesce(json_agg(r ORDER BY s.\"#n\") FILTER (WHERE s.\"#n\" <= %ld), "
                   "'[]')::text, CASE WHEN count(*) > %ld THEN max(s.\"#k\") FILTER (WHERE "
                   "s.\"#n\" = %ld) END FROM (SELECT ",
                   select->limit, select->limit, select->limit);
        sb_append(text, sb_text(&projection.exprs));
        sb_append(text, ", ");
        append_key_values(&build, &keyset, text);
        sb_append(text, " AS \"#k\", row_number() OVER (ORDER BY ");
        sb_append(text, sb_text(&order));
        sb_append(text, ") AS \"#n\" FROM ");
        orm_build_identifier(&build, text, select->table->name);
        sb_append(text, " t0");
        sb_append(text, sb_text(&projection.joins));
        sb_append(text, sb_text(&where));
        sb_append(text, " ORDER BY ");
        sb_append(text, sb_text(&order));
        sb_appendf(text, " LIMIT %ld) s CROSS JOIN LATERAL (SELECT ", select->limit + 1);
        sb_append(text, sb_text(&projection.keys));
        sb_append(text, ") r");
        result = 0;
    }
    orm_projection_free(&projection);
    sb_free(&order);
    sb_free(&where);
    return orm_build_finish(&build, result, error);
}
