/*
 * orm/query_select.c — the read statements: list (optionally with the total count), get, and
 * count. PostgreSQL renders the rows as JSON; this file decides what goes in a row: visible
 * fields, foreign keys followed into nested objects through LEFT JOINs (t1, t2, ... after the
 * base table t0, each distinct foreign-key path joined once), and "<fk>_readable" values.
 * Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"
#include "orm/orm_internal_types.h"

/* json_build_object takes at most 100 arguments */
#define MAX_OBJECT_MEMBERS 50

struct join {
    const struct cfg_column *path[ORM_MAX_JOIN_DEPTH];
    size_t depth;
    int alias;
};

struct plan {
    struct orm_build *build;
    const struct orm_select *select;
    const struct orm_field *fields;
    size_t field_count;
    struct join *joins;
    size_t join_count;
    struct orm_projection *projection;
};

static bool same_path(const struct cfg_column *const *a, const struct cfg_column *const *b,
                      size_t depth)
{
    for (size_t i = 0; i < depth; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The alias of the table reached by following path[0..depth) from t0, joining it (and its
 * parents) on first use. Each foreign key on the path is valid (checked beforehand). */
static int join_for(struct plan *plan, const struct cfg_column *const *path, size_t depth)
{
    if (depth == 0)
        return 0;
    for (size_t i = 0; i < plan->join_count; i++)
        if (plan->joins[i].depth == depth && same_path(plan->joins[i].path, path, depth))
            return plan->joins[i].alias;
    int parent = join_for(plan, path, depth - 1);
    plan->joins = xrealloc(plan->joins, (plan->join_count + 1) * sizeof *plan->joins);
    struct join *join = &plan->joins[plan->join_count++];
    memset(join, 0, sizeof *join);
    memcpy(join->path, path, depth * sizeof *path);
    join->depth = depth;
    join->alias = (int)plan->join_count;

    const struct cfg_column *fk = path[depth - 1];
    const struct cfg_table *target = fk->referenced_table;
    struct sb *out = &plan->projection->joins;
    sb_append(out, " LEFT JOIN ");
    orm_build_identifier(plan->build, out, target->name);
    sb_appendf(out, " t%d ON ", join->alias);
    orm_build_column_ref(plan->build, out, join->alias, cfg_primary_key(target));
    sb_append(out, " = ");
    orm_build_column_ref(plan->build, out, parent, fk);
    return join->alias;
}

/* "director.studio.name": the first depth elements of the field's path */
static void path_text(const struct orm_field *field, size_t depth, char *buffer, size_t size)
{
    size_t used = 0;
    buffer[0] = '\0';
    for (size_t i = 0; i < depth && i < field->depth && field->path[i]; i++) {
        int written = snprintf(buffer + used, size - used, "%s%s", i ? "." : "",
                               field->path[i]->name ? field->path[i]->name : "?");
        if (written < 0 || (size_t)written >= size - used)
            return;
        used += (size_t)written;
    }
}

static int check_field(const struct orm_select *select, const struct orm_field *field,
                       struct rs_error *error)
{
    char shown[160]; /* the dotted path, for the error messages only */
    if (field->depth < 1 || field->depth > ORM_MAX_JOIN_DEPTH + 1) {
        rs_error_set(error, RS_INVALID, "__visible_fields", "a field path has 1 to %d parts",
                     ORM_MAX_JOIN_DEPTH + 1);
        return -1;
    }
    const struct cfg_table *table = select->table;
    for (size_t i = 0; i < field->depth; i++) {
        const struct cfg_column *column = field->path[i];
        bool is_last = i + 1 == field->depth;
        if (!orm_table_has_column(table, column) || column->is_secret ||
            (!is_last && (column->type != CFG_TYPE_FOREIGN_KEY || !column->referenced_table))) {
            path_text(field, field->depth, shown, sizeof shown);
            rs_error_set(error, RS_INVALID, shown, "unknown field \"%s\"", shown);
            return -1;
        }
        table = is_last ? NULL : column->referenced_table;
    }
    if ((int)field->depth - 1 > select->table->max_joins) {
        path_text(field, field->depth, shown, sizeof shown);
        rs_error_set(error, RS_INVALID, shown, "too many joins: \"%s\" needs %zu, max_joins is %d",
                     shown, field->depth - 1, select->table->max_joins);
        return -1;
    }
    return 0;
}

/* Whether fields[index] is the first field with this path[0..level]. */
static bool is_first_at(const struct plan *plan, size_t index, size_t level)
{
    const struct orm_field *field = &plan->fields[index];
    for (size_t i = 0; i < index; i++)
        if (plan->fields[i].depth > level &&
            same_path(plan->fields[i].path, field->path, level + 1))
            return false;
    return true;
}

/* Whether some field goes deeper than level below path[0..level]: then that key is an object
 * (a nested object wins over the plain foreign key value when both are asked for). */
static bool is_object_at(const struct plan *plan, const struct orm_field *field, size_t level)
{
    for (size_t i = 0; i < plan->field_count; i++)
        if (plan->fields[i].depth > level + 1 &&
            same_path(plan->fields[i].path, field->path, level + 1))
            return true;
    return false;
}

static bool has_top_key(const struct plan *plan, const char *key)
{
    for (size_t i = 0; i < plan->field_count; i++)
        if (strcmp(plan->fields[i].path[0]->name, key) == 0)
            return true;
    return false;
}

/* key is a column name (validated like any identifier) or "<fk>_readable", which is built
 * from a validated name and may exceed 63 characters, so it is quoted as it is. */
static void emit_top(struct plan *plan, const char *key, bool is_column_name, const struct sb *expr)
{
    struct orm_projection *projection = plan->projection;
    if (projection->exprs.length > 0) {
        sb_append(&projection->exprs, ", ");
        sb_append(&projection->keys, ", ");
    }
    sb_append(&projection->exprs, sb_text(expr));
    sb_append(&projection->exprs, " AS ");
    sb_append(&projection->keys, "s.");
    if (is_column_name) {
        orm_build_identifier(plan->build, &projection->exprs, key);
        orm_build_identifier(plan->build, &projection->keys, key);
    } else {
        orm_quote_identifier(&projection->exprs, key);
        orm_quote_identifier(&projection->keys, key);
    }
}

/* The readable text of the row a foreign key points at: the target's readable column, else its
 * primary key. */
static void readable_expr(struct plan *plan, const struct cfg_column *fk, struct sb *out)
{
    const struct cfg_table *target = fk->referenced_table;
    const struct cfg_column *shown = target->readable && !target->readable->is_secret
                                         ? target->readable
                                         : cfg_primary_key(target);
    int alias = join_for(plan, &fk, 1);
    orm_build_column_ref(plan->build, out, alias, shown);
    sb_append(out, "::text");
}

/* Renders the members under path[0..level) of `owner` (all fields when level is 0): at the top
 * as `expr AS "key"`, below as json_build_object arguments `'key', expr`. */
static int render_members(struct plan *plan, const struct orm_field *owner, size_t level, int alias,
                          struct sb *object, struct rs_error *error)
{
    size_t members = 0;
    if (level > ORM_MAX_JOIN_DEPTH) /* never reached (depth is checked); bounds the recursion */
        return 0;
    for (size_t i = 0; i < plan->field_count; i++) {
        const struct orm_field *field = &plan->fields[i];
        if (field->depth <= level || (owner && !same_path(field->path, owner->path, level)) ||
            !is_first_at(plan, i, level))
            continue;
        const struct cfg_column *column = field->path[level];
        struct sb expr = {0};
        if (is_object_at(plan, field, level)) {
            int child = join_for(plan, field->path, level + 1);
            sb_append(&expr, "CASE WHEN ");
            orm_build_column_ref(plan->build, &expr, child,
                                 cfg_primary_key(column->referenced_table));
            sb_append(&expr, " IS NULL THEN NULL ELSE json_build_object(");
            if (render_members(plan, field, level + 1, child, &expr, error) < 0) {
                sb_free(&expr);
                return -1;
            }
            sb_append(&expr, ") END");
        } else {
            orm_build_output_value(plan->build, &expr, alias, column);
        }
        if (level == 0) {
            emit_top(plan, column->name, true, &expr);
            char key[80];
            if (plan->select->readable && column->type == CFG_TYPE_FOREIGN_KEY &&
                column->referenced_table && !is_object_at(plan, field, 0) &&
                snprintf(key, sizeof key, "%s_readable", column->name) > 0 &&
                !has_top_key(plan, key)) {
                sb_reset(&expr);
                readable_expr(plan, column, &expr);
                emit_top(plan, key, false, &expr);
            }
        } else {
            if (++members > MAX_OBJECT_MEMBERS) {
                char shown[160];
                path_text(owner, level, shown, sizeof shown);
                rs_error_set(error, RS_INVALID, shown,
                             "too many fields under \"%.*s\" (at most %d)", (int)sizeof shown,
                             shown, MAX_OBJECT_MEMBERS);
                sb_free(&expr);
                return -1;
            }
            if (members > 1)
                sb_append(object, ", ");
            orm_build_key_literal(plan->build, object, column->name);
            sb_append(object, ", ");
            sb_append(object, sb_text(&expr));
        }
        sb_free(&expr);
    }
    return 0;
}

struct orm_prepared_projection {
    const struct cfg_table *table;
    bool readable;
    struct orm_projection projection;
};

static bool is_prepared_for(const struct orm_select *select)
{
    const struct orm_prepared_projection *prepared = select->prepared;
    return prepared && select->field_count == 0 && prepared->table == select->table &&
           prepared->readable == select->readable;
}

int orm_build_projection(struct orm_build *build, const struct orm_select *select,
                         struct orm_projection *projection, struct rs_error *error)
{
    if (is_prepared_for(select)) {
        /* the same text every time: copied, not built again (identifiers were checked then) */
        const struct orm_projection *ready = &select->prepared->projection;
        sb_append_n(&projection->exprs, sb_text(&ready->exprs), ready->exprs.length);
        sb_append_n(&projection->keys, sb_text(&ready->keys), ready->keys.length);
        sb_append_n(&projection->joins, sb_text(&ready->joins), ready->joins.length);
        return 0;
    }
    const struct cfg_table *table = select->table;
    struct orm_field *defaults = NULL;
    struct plan plan = {.build = build,
                        .select = select,
                        .fields = select->fields,
                        .field_count = select->field_count,
                        .projection = projection};
    if (select->field_count == 0) {
        /* every non-secret column, in declaration order */
        defaults = xcalloc(table->column_count, sizeof *defaults);
        for (size_t i = 0; i < table->column_count; i++) {
            if (table->columns[i].is_secret)
                continue;
            defaults[plan.field_count].path[0] = &table->columns[i];
            defaults[plan.field_count++].depth = 1;
        }
        plan.fields = defaults;
    }
    int result = 0;
    for (size_t i = 0; i < plan.field_count && result == 0; i++)
        result = check_field(select, &plan.fields[i], error);
    if (result == 0 && plan.field_count == 0) {
        rs_error_set(error, RS_INVALID, "__visible_fields", "no visible fields");
        result = -1;
    }
    if (result == 0)
        result = render_members(&plan, NULL, 0, 0, NULL, error);
    free(plan.joins);
    free(defaults);
    return result;
}

void orm_projection_free(struct orm_projection *projection)
{
    sb_free(&projection->exprs);
    sb_free(&projection->keys);
    sb_free(&projection->joins);
}

struct orm_prepared_projection *orm_prepare_projection(const struct cfg_table *table, bool readable)
{
    if (!table || table->column_count == 0)
        return NULL;
    struct orm_prepared_projection *prepared = xcalloc(1, sizeof *prepared);
    prepared->table = table;
    prepared->readable = readable;
    struct orm_sql scratch = {0};
    struct orm_build build = {.sql = &scratch};
    struct orm_select select = {.table = table, .readable = readable};
    struct rs_error error = {0};
    int result = orm_build_projection(&build, &select, &prepared->projection, &error);
    if (result == 0 && build.invalid)
        result = -1;
    orm_sql_free(&scratch);
    if (result < 0) {
        orm_prepared_projection_free(prepared);
        return NULL;
    }
    return prepared;
}

void orm_prepared_projection_free(struct orm_prepared_projection *prepared)
{
    if (!prepared)
        return;
    orm_projection_free(&prepared->projection);
    free(prepared);
}

/* Row order: json_agg follows the explicit ORDER BY on the row number, which PostgreSQL
 * guarantees, instead of relying on the order a subquery happens to deliver rows in. The
 * lateral subselect r holds only the visible keys, so "#n" never reaches the JSON. */
void orm_build_rows_json(struct sb *out, const struct orm_projection *projection, const char *order,
                         const char *from_where_order)
{
    /* plain appends: printf would copy these long pieces a character at a time */
    sb_append(out, "SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT ");
    sb_append(out, sb_text(&projection->exprs));
    sb_append(out, ", row_number() OVER (ORDER BY ");
    sb_append(out, order);
    sb_append(out, ") AS \"#n\"");
    sb_append(out, from_where_order);
    sb_append(out, ") s CROSS JOIN LATERAL (SELECT ");
    sb_append(out, sb_text(&projection->keys));
    sb_append(out, ") r");
}

/* " FROM "table" t0 <joins>" */
static void append_from(struct orm_build *build, const struct cfg_table *table,
                        const struct orm_projection *projection, struct sb *out)
{
    sb_append(out, " FROM ");
    orm_build_identifier(build, out, table->name);
    sb_append(out, " t0");
    if (projection)
        sb_append(out, sb_text(&projection->joins));
}

/* The list statement into out->text; where_sql receives the WHERE clause for reuse. */
static int build_list_into(struct orm_build *build, const struct orm_select *select, struct sb *out,
                           struct sb *where_sql, struct rs_error *error)
{
    struct orm_projection projection = {0};
    struct sb order = {0};
    struct sb tail = {0};
    int result = -1;
    if (orm_build_projection(build, select, &projection, error) == 0 &&
        orm_build_where(build, select->table, select->filters, select->filter_count, where_sql,
                        error) == 0 &&
        orm_build_order(build, select, &order, error) == 0) {
        append_from(build, select->table, &projection, &tail);
        sb_append(&tail, sb_text(where_sql));
        sb_append(&tail, " ORDER BY ");
        sb_append(&tail, sb_text(&order));
        orm_build_limit_offset(build, select->limit, select->offset, &tail);
        orm_build_rows_json(out, &projection, sb_text(&order), sb_text(&tail));
        result = 0;
    }
    orm_projection_free(&projection);
    sb_free(&order);
    sb_free(&tail);
    return result;
}

static int check_select(const struct orm_select *select, const struct orm_sql *out,
                        struct rs_error *error)
{
    if (!select || !select->table || !out || select->table->column_count == 0 ||
        select->table->primary_key >= select->table->column_count) {
        rs_error_set(error, RS_INVALID, NULL, "no table to read");
        return -1;
    }
    return 0;
}

int orm_build_list(const struct orm_select *select, struct orm_sql *out, struct rs_error *error)
{
    if (check_select(select, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb where_sql = {0};
    int result = build_list_into(&build, select, &out->text, &where_sql, error);
    sb_free(&where_sql);
    return orm_build_finish(&build, result, error);
}

/* One statement, one round trip: the page and the number of all matching rows. The count's
 * WHERE reuses the page's parameter numbers. */
int orm_build_list_with_total(const struct orm_select *select, struct orm_sql *out,
                              struct rs_error *error)
{
    if (check_select(select, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    struct sb where_sql = {0};
    struct sb list = {0};
    int result = build_list_into(&build, select, &list, &where_sql, error);
    if (result == 0) {
        sb_append(&out->text, "SELECT (");
        sb_append(&out->text, sb_text(&list));
        sb_append(&out->text, "), (SELECT count(*)");
        append_from(&build, select->table, NULL, &out->text);
        sb_append(&out->text, sb_text(&where_sql));
        sb_append_char(&out->text, ')');
    }
    sb_free(&list);
    sb_free(&where_sql);
    return orm_build_finish(&build, result, error);
}

int orm_build_get(const struct orm_select *select, const char *pk_value, struct orm_sql *out,
                  struct rs_error *error)
{
    if (check_select(select, out, error) < 0)
        return -1;
    const struct cfg_column *pk = cfg_primary_key(select->table);
    if (!pk_value) {
        rs_error_set(error, RS_INVALID, pk->name, "a primary key value is required");
        return -1;
    }
    struct orm_build build = {.sql = out};
    struct orm_projection projection = {0};
    int result = orm_build_projection(&build, select, &projection, error);
    if (result == 0) {
        /* the row's version (xmin) rides along as a second column, outside the JSON: the
         * lateral r holds only the visible keys */
        sb_append(&out->text, "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT ");
        sb_append(&out->text, sb_text(&projection.exprs));
        sb_append(&out->text, ", t0.xmin::text AS \"#v\"");
        append_from(&build, select->table, &projection, &out->text);
        sb_append(&out->text, " WHERE ");
        orm_build_column_ref(&build, &out->text, 0, pk);
        sb_appendf(&out->text, " = $%d::%s) s CROSS JOIN LATERAL (SELECT ",
                   orm_sql_bind(out, pk_value), orm_column_cast(pk));
        sb_append(&out->text, sb_text(&projection.keys));
        sb_append(&out->text, ") r");
    }
    orm_projection_free(&projection);
    return orm_build_finish(&build, result, error);
}

int orm_build_count(const struct orm_select *select, struct orm_sql *out, struct rs_error *error)
{
    if (check_select(select, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    sb_append(&out->text, "SELECT count(*)");
    append_from(&build, select->table, NULL, &out->text);
    int result = orm_build_where(&build, select->table, select->filters, select->filter_count,
                                 &out->text, error);
    return orm_build_finish(&build, result, error);
}

/* The planner's row estimate of the count's rows: EXPLAIN of the same FROM and WHERE (with
 * the same parameters, so a custom plan sees the values). The planner scales the table's
 * last-analyzed density by its current size and applies the filters' selectivities. */
int orm_build_count_estimate(const struct orm_select *select, struct orm_sql *out,
                             struct rs_error *error)
{
    if (check_select(select, out, error) < 0)
        return -1;
    struct orm_build build = {.sql = out};
    sb_append(&out->text, "EXPLAIN (FORMAT JSON) SELECT 1");
    append_from(&build, select->table, NULL, &out->text);
    int result = orm_build_where(&build, select->table, select->filters, select->filter_count,
                                 &out->text, error);
    return orm_build_finish(&build, result, error);
}

long long orm_explain_rows(const char *explain_json)
{
    if (!explain_json)
        return -1;
    json_t *plan = json_loads(explain_json, 0, NULL);
    json_t *rows = json_object_get(json_object_get(json_array_get(plan, 0), "Plan"), "Plan Rows");
    long long estimate = -1;
    if (json_is_integer(rows))
        estimate = (long long)json_integer_value(rows);
    else if (json_is_real(rows) && json_real_value(rows) >= 0 && json_real_value(rows) < 9e18)
        estimate = (long long)json_real_value(rows);
    if (estimate < 0)
        estimate = -1;
    json_decref(plan);
    return estimate;
}
