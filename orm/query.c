/*
 * orm/query.c — builds SQL text and parameters from a query description; no I/O. This file
 * holds the statement container (orm_sql) and the WHERE and ORDER BY clauses every builder
 * shares (identifiers are quoted by orm/identifiers.c). The statements themselves are assembled in
 * query_select.c (list, get, count) and query_write.c (insert, update, delete, ids).
 *
 * Two rules hold everywhere: values only ever travel as $n parameters with an explicit cast,
 * and identifiers only ever appear quoted after orm_identifier_is_valid accepted them.
 * Statement text depends on the request's shape only, never on values: several values of one
 * filter are one array parameter (= ANY($n::integer[])), and so is a single value, so the pool
 * prepares each shape once per connection. The one exception is the key of a one-row route,
 * a scalar "= $n" (orm_filter.is_row_key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"
#include "orm/orm_internal_types.h"
#include "orm/schema_internal.h"

/* ---- the statement container ------------------------------------------------------------- */

void orm_sql_free(struct orm_sql *sql)
{
    if (!sql)
        return;
    sb_free(&sql->text);
    for (size_t i = 0; i < sql->param_count; i++)
        free(sql->params[i]);
    free(sql->params);
    sql->params = NULL;
    sql->param_count = sql->param_capacity = 0;
}

int orm_sql_bind(struct orm_sql *sql, const char *value)
{
    if (sql->param_count == sql->param_capacity) {
        size_t capacity = sql->param_capacity ? sql->param_capacity * 2 : 8;
        sql->params = xrealloc(sql->params, capacity * sizeof *sql->params);
        sql->param_capacity = capacity;
    }
    sql->params[sql->param_count++] = xstrdup_or_null(value);
    return (int)sql->param_count;
}

/* ---- shared pieces ----------------------------------------------------------------------- */

void orm_build_identifier(struct orm_build *build, struct sb *out, const char *name)
{
    if (!orm_identifier_is_valid(name)) {
        if (!build->invalid)
            build->invalid = name ? name : "";
        sb_append(out, "\"?\"");
        return;
    }
    orm_quote_identifier(out, name);
}

void orm_build_key_literal(struct orm_build *build, struct sb *out, const char *name)
{
    if (!orm_identifier_is_valid(name)) {
        if (!build->invalid)
            build->invalid = name ? name : "";
        sb_append(out, "'?'");
        return;
    }
    /* valid identifiers hold no quote: nothing to escape */
    sb_append_char(out, '\'');
    sb_append(out, name);
    sb_append_char(out, '\'');
}

void orm_build_column_ref(struct orm_build *build, struct sb *out, int alias,
                          const struct cfg_column *column)
{
    if (alias >= 0 && alias < 10) {
        char prefix[4] = {'t', (char)('0' + alias), '.', '\0'};
        sb_append_n(out, prefix, 3);
    } else {
        sb_appendf(out, "t%d.", alias);
    }
    orm_build_identifier(build, out, column->name);
}

void orm_build_output_value(struct orm_build *build, struct sb *out, int alias,
                            const struct cfg_column *column)
{
    if (column->type == CFG_TYPE_BYTEA) {
        /* encode() wraps base64 every 76 characters; JSON clients want one string */
        sb_append(out, "translate(encode(");
        orm_build_column_ref(build, out, alias, column);
        sb_append(out, ", 'base64'), E'\\n', '')");
        return;
    }
    orm_build_column_ref(build, out, alias, column);
}

bool orm_table_has_column(const struct cfg_table *table, const struct cfg_column *column)
{
    for (size_t i = 0; table && column && i < table->column_count; i++)
        if (&table->columns[i] == column)
            return true;
    return false;
}

int orm_build_finish(struct orm_build *build, int result, struct rs_error *error)
{
    if (result == 0 && build->invalid) {
        char shown[48];
        orm_text_for_message(build->invalid, shown, sizeof shown, 40);
        rs_error_set(error, RS_INVALID, NULL, "invalid identifier \"%s\"", shown);
        result = -1;
    }
    if (result < 0)
        orm_sql_free(build->sql);
    return result;
}

/* LIMIT is written as a literal: the server's own number (a page size, bounded by
 * max_page_size), never client text. As a parameter, PostgreSQL prices the generic plan of a
 * prepared statement as if it returned 10% of the table, so it re-plans every execution
 * instead of caching the plan: 35% of list throughput (docs/decisions.md, "LIMIT"). OFFSET
 * stays a parameter: its values are unbounded and would each make a new statement. */
void orm_build_limit_offset(struct orm_build *build, long limit, long offset, struct sb *out)
{
    char number[32];
    if (limit >= 0)
        sb_appendf(out, " LIMIT %ld", limit);
    if (offset > 0) {
        snprintf(number, sizeof number, "%ld", offset);
        sb_appendf(out, " OFFSET $%d::bigint", orm_sql_bind(build->sql, number));
    }
}

/* ---- WHERE ------------------------------------------------------------------------------- */

static const char *operator_name(enum orm_operator op)
{
    static const char *const names[] = {"e", "ne", "lt", "lte", "gt", "gte", "is_null", "not_null"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

static bool is_json_type(enum cfg_type type)
{
    return type == CFG_TYPE_JSON || type == CFG_TYPE_JSONB;
}

/* json has no equality or ordering in PostgreSQL: compare such columns as jsonb. */
void orm_build_comparable_ref(struct orm_build *build, struct sb *out,
                              const struct cfg_column *column)
{
    orm_build_column_ref(build, out, 0, column);
    if (column->type == CFG_TYPE_JSON)
        sb_append(out, "::jsonb");
}

static const char *comparable_cast(const struct cfg_column *column, bool as_array)
{
    if (column->type == CFG_TYPE_JSON)
        return as_array ? "jsonb[]" : "jsonb";
    return as_array ? orm_column_array_cast(column) : orm_column_element_cast(column);
}

/* Binds the non-NULL values as one array literal parameter; returns its number. */
static int bind_array(struct orm_build *build, const char *const *values, size_t count,
                      const char *prefix, const char *suffix, bool is_like)
{
    struct sb literal = {0};
    const char **items = xcalloc(count, sizeof *items);
    char **owned = xcalloc(count, sizeof *owned);
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (!values[i])
            continue;
        if (is_like) {
            struct sb pattern = {0};
            sb_append(&pattern, prefix);
            orm_like_escape_append(&pattern, values[i]);
            sb_append(&pattern, suffix);
            owned[used] = sb_take(&pattern);
            items[used] = owned[used];
        } else {
            items[used] = values[i];
        }
        used++;
    }
    orm_array_literal_append(&literal, items, used);
    int number = orm_sql_bind(build->sql, sb_text(&literal));
    for (size_t i = 0; i < used; i++)
        free(owned[i]);
    free(owned);
    free(items);
    sb_free(&literal);
    return number;
}

static int filter_error(struct rs_error *error, const struct cfg_column *column,
                        const char *message)
{
    rs_error_set(error, RS_INVALID, column->name, "%s: %s", column->name, message);
    return -1;
}

/* to_tsvector('<language>'::regconfig, <column>) @@ websearch_to_tsquery(same language, $n):
 * the expression of the column's GIN index (orm/search.c), so the planner can use it. */
static int append_search(struct orm_build *build, const struct cfg_table *table,
                         const struct orm_filter *filter, struct sb *out, struct rs_error *error)
{
    const struct cfg_column *column = filter->column;
    if (!column->is_searchable)
        return filter_error(error, column, "not a \"search\": true column");
    if (filter->op != ORM_OP_EQUAL || filter->value_count != 1 || !filter->values ||
        !filter->values[0])
        return filter_error(error, column, "a search takes one query and no operator");
    orm_search_vector_open(out, table->search_language);
    orm_build_column_ref(build, out, 0, column);
    sb_append(out, ") @@ websearch_to_tsquery(");
    orm_search_language(out, table->search_language);
    sb_appendf(out, ", $%d::text)", orm_sql_bind(build->sql, filter->values[0]));
    return 0;
}

static int append_filter(struct orm_build *build, const struct cfg_table *table,
                         const struct orm_filter *filter, struct sb *out, struct rs_error *error)
{
    const struct cfg_column *column = filter->column;
    if (!orm_table_has_column(table, column) || column->is_secret) {
        rs_error_set(error, RS_INVALID, column ? column->name : NULL, "unknown field \"%s\"",
                     column && column->name ? column->name : "?");
        return -1;
    }
    char message[128];
    if (filter->match == ORM_MATCH_SEARCH)
        return append_search(build, table, filter, out, error);
    if (filter->op == ORM_OP_IS_NULL || filter->op == ORM_OP_NOT_NULL) {
        orm_build_column_ref(build, out, 0, column);
        sb_append(out, filter->op == ORM_OP_IS_NULL ? " IS NULL" : " IS NOT NULL");
        return 0;
    }
    if ((unsigned)filter->op > ORM_OP_NOT_NULL)
        return filter_error(error, column, "unknown operator");
    if (filter->value_count == 0 || !filter->values) {
        snprintf(message, sizeof message, "operator %s needs a value", operator_name(filter->op));
        return filter_error(error, column, message);
    }
    size_t null_count = 0;
    for (size_t i = 0; i < filter->value_count; i++)
        null_count += filter->values[i] == NULL;
    bool has_values = null_count < filter->value_count;
    const char *const *values = (const char *const *)filter->values;
    bool is_array = column->type == CFG_TYPE_ARRAY;

    if (filter->op != ORM_OP_EQUAL && filter->op != ORM_OP_NOT_EQUAL) {
        if (is_array) {
            snprintf(message, sizeof message, "operator %s does not apply to an array column",
                     operator_name(filter->op));
            return filter_error(error, column, message);
        }
        if (filter->value_count > 1) {
            snprintf(message, sizeof message, "only one value allowed with operator %s",
                     operator_name(filter->op));
            return filter_error(error, column, message);
        }
        if (null_count) {
            snprintf(message, sizeof message, "operator %s needs a value, not null",
                     operator_name(filter->op));
            return filter_error(error, column, message);
        }
        static const char *const symbols[] = {"", "", " < ", " <= ", " > ", " >= "};
        orm_build_comparable_ref(build, out, column);
        int number = orm_sql_bind(build->sql, values[0]);
        sb_appendf(out, "%s$%d::%s", symbols[filter->op], number, comparable_cast(column, false));
        return 0;
    }

    if (filter->op == ORM_OP_NOT_EQUAL) {
        if (is_array)
            return filter_error(error, column, "operator ne does not apply to an array column");
        /* NULL never equals anything: "ne null" means IS NOT NULL, and rows where the column is
         * NULL stay out, as in SQL */
        bool both = null_count && has_values;
        if (both)
            sb_append_char(out, '(');
        if (null_count) {
            orm_build_column_ref(build, out, 0, column);
            sb_append(out, " IS NOT NULL");
        }
        if (both)
            sb_append(out, " AND ");
        if (has_values) {
            orm_build_comparable_ref(build, out, column);
            int number = bind_array(build, values, filter->value_count, "", "", false);
            sb_appendf(out, " <> ALL($%d::%s)", number, comparable_cast(column, true));
        }
        if (both)
            sb_append_char(out, ')');
        return 0;
    }

    /* EQUAL: holds when the column matches any value; a NULL value means IS NULL */
    if (is_array && is_json_type(column->value_type))
        return filter_error(error, column, "arrays of json cannot be filtered on");
    bool both = null_count && has_values;
    if (both)
        sb_append_char(out, '(');
    if (null_count) {
        orm_build_column_ref(build, out, 0, column);
        sb_append(out, " IS NULL");
    }
    if (both)
        sb_append(out, " OR ");
    if (has_values) {
        if (is_array) {
            /* "contains x": overlaps the one-element array {x}, any of several values */
            orm_build_column_ref(build, out, 0, column);
            int number = bind_array(build, values, filter->value_count, "", "", false);
            sb_appendf(out, " && $%d::%s", number, orm_column_cast(column));
        } else if (orm_column_is_text(column) && filter->match != ORM_MATCH_EXACT) {
            bool is_open_start = filter->match != ORM_MATCH_STARTS;
            bool is_open_end = filter->match != ORM_MATCH_ENDS;
            orm_build_column_ref(build, out, 0, column);
            int number = bind_array(build, values, filter->value_count, is_open_start ? "%" : "",
                                    is_open_end ? "%" : "", true);
            sb_appendf(out, " ILIKE ANY($%d::text[])", number);
        } else if (filter->is_row_key && filter->value_count == 1) {
            orm_build_comparable_ref(build, out, column);
            sb_appendf(out, " = $%d::%s", orm_sql_bind(build->sql, values[0]),
                       comparable_cast(column, false));
        } else {
            orm_build_comparable_ref(build, out, column);
            int number = bind_array(build, values, filter->value_count, "", "", false);
            sb_appendf(out, " = ANY($%d::%s)", number, comparable_cast(column, true));
        }
    }
    if (both)
        sb_append_char(out, ')');
    return 0;
}

int orm_build_where(struct orm_build *build, const struct cfg_table *table,
                    const struct orm_filter *filters, size_t filter_count, struct sb *out,
                    struct rs_error *error)
{
    for (size_t i = 0; i < filter_count; i++) {
        sb_append(out, i == 0 ? " WHERE " : " AND ");
        if (append_filter(build, table, &filters[i], out, error) < 0)
            return -1;
    }
    return 0;
}

/* ---- ORDER BY ---------------------------------------------------------------------------- */

/* The primary key always ends the list (unless already in it) so that rows equal on the
 * requested columns keep one order from page to page: pagination stays stable. */
int orm_build_order(struct orm_build *build, const struct orm_select *select, struct sb *out,
                    struct rs_error *error)
{
    const struct cfg_table *table = select->table;
    const struct cfg_column *pk = cfg_primary_key(table);
    if (select->order_count == 0) {
        orm_build_column_ref(build, out, 0, pk);
        sb_append(out, " DESC");
        return 0;
    }
    bool has_pk = false;
    for (size_t i = 0; i < select->order_count; i++) {
        const struct cfg_column *column = select->orders[i].column;
        if (!orm_table_has_column(table, column) || column->is_secret) {
            rs_error_set(error, RS_INVALID, "__order", "unknown field \"%s\"",
                         column && column->name ? column->name : "?");
            return -1;
        }
        if (column->type == CFG_TYPE_ARRAY && is_json_type(column->value_type)) {
            rs_error_set(error, RS_INVALID, "__order",
                         "cannot order by %s: arrays of json have no "
                         "order",
                         column->name);
            return -1;
        }
        if (i > 0)
            sb_append(out, ", ");
        orm_build_comparable_ref(build, out, column);
        sb_append(out, select->orders[i].descending ? " DESC" : " ASC");
        has_pk = has_pk || column == pk;
    }
    if (!has_pk) {
        sb_append(out, ", ");
        orm_build_column_ref(build, out, 0, pk);
        sb_append(out, " ASC");
    }
    return 0;
}
