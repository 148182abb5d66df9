/*
 * orm/query_csv.c — the read statements behind CSV: the page of GET /T/ as text columns (one
 * per visible field, "director.name" for a joined one, in __visible_fields order) and the
 * export's COPY of every matching row. Each value is the text of its JSON rendering, so CSV
 * says what the JSON list says: numbers, booleans and timestamps as their JSON text, strings
 * unquoted, arrays and json/jsonb as JSON text, NULL as SQL NULL (an empty field).
 *
 * COPY takes no bind parameters, and a prepared statement cannot be copied either, so the
 * export binds its values another way: each $n of the SELECT becomes
 * current_setting('restable.export_n'), and a statement of its own, run first in the same
 * transaction, sets those settings from bound parameters (set_config(..., true): they end with
 * the transaction). Values never enter SQL text (docs/decisions.md, "CSV export").
 * Pure: no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_query.h"

static bool same_field(const struct orm_field *a, const struct orm_field *b)
{
    if (a->depth != b->depth)
        return false;
    for (size_t i = 0; i < a->depth; i++)
        if (a->path[i] != b->path[i])
            return false;
    return true;
}

static bool is_json(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_JSON || column->type == CFG_TYPE_JSONB;
}

/* Whether a field reaches below the foreign key fields[index] names (then that key is an object
 * and carries no "_readable" key, as orm/query_select.c renders it). */
static bool has_deeper(const struct orm_field *fields, size_t count, const struct cfg_column *fk)
{
    for (size_t i = 0; i < count; i++)
        if (fields[i].depth > 1 && fields[i].path[0] == fk)
            return true;
    return false;
}

/* The text of one field's JSON value, read from the row s the projection renders. A column
 * is cast to text where that is its JSON text already (numbers, booleans, strings, dates,
 * uuids, ISO 8601 intervals in the session's style): to_json only for timestamps (their JSON
 * has the "T") and arrays, as it costs a JSON round trip per value. A joined field is read out
 * of its nested object; json/jsonb stay JSON text. */
static void append_value(struct orm_build *build, struct sb *out, const struct orm_field *field)
{
    const struct cfg_column *last = field->path[field->depth - 1];
    bool is_time = last->type == CFG_TYPE_TIMESTAMP || last->type == CFG_TYPE_TIMESTAMPTZ;
    if (field->depth == 1) {
        bool is_array = last->type == CFG_TYPE_ARRAY;
        sb_append(out, is_time || is_array ? "to_json(s." : "(s.");
        orm_build_identifier(build, out, last->name);
        sb_append(out, is_time ? ") #>> '{}'" : ")::text");
        return;
    }
    sb_append(out, "(s.");
    orm_build_identifier(build, out, field->path[0]->name);
    for (size_t i = 1; i < field->depth; i++) {
        sb_append(out, " -> ");
        orm_build_key_literal(build, out, field->path[i]->name);
    }
    sb_append(out, is_json(last) ? ")::text" : ") #>> '{}'");
}

/* "director.name": the header of a field, quoted as an identifier */
static void append_header(struct sb *out, const struct orm_field *field)
{
    struct sb name = {0};
    for (size_t i = 0; i < field->depth; i++) {
        if (i)
            sb_append_char(&name, '.');
        sb_append(&name, field->path[i]->name);
    }
    orm_quote_identifier(out, sb_text(&name));
    sb_free(&name);
}

static void append_column(struct orm_build *build, struct sb *out, const struct orm_field *field)
{
    if (out->length > 0)
        sb_append(out, ", ");
    append_value(build, out, field);
    sb_append(out, " AS ");
    append_header(out, field);
}

/* s."<fk>_readable" after a foreign key shown as its value, when __readable asks for it */
static void append_readable(struct sb *out, const struct cfg_column *fk)
{
    char key[80];
    snprintf(key, sizeof key, "%s_readable", fk->name);
    sb_append(out, ", s.");
    orm_quote_identifier(out, key);
    sb_append(out, " AS ");
    orm_quote_identifier(out, key);
}

/* The select list: each distinct field once, in order (every non-secret column when the
 * select names none). */
static void append_columns(struct orm_build *build, const struct orm_select *select, struct sb *out)
{
    const struct cfg_table *table = select->table;
    size_t count = select->field_count ? select->field_count : table->column_count;
    struct orm_field *fields = xcalloc(count, sizeof *fields);
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        struct orm_field field = {0};
        if (select->field_count) {
            field = select->fields[i];
        } else if (!table->columns[i].is_secret) {
            field.path[0] = &table->columns[i];
            field.depth = 1;
        }
        bool is_repeated = field.depth == 0;
        for (size_t j = 0; j < used && !is_repeated; j++)
            is_repeated = same_field(&fields[j], &field);
        if (!is_repeated)
            fields[used++] = field;
    }
    for (size_t i = 0; i < used; i++) {
        const struct cfg_column *column = fields[i].path[0];
        append_column(build, out, &fields[i]);
        if (select->readable && fields[i].depth == 1 && column->type == CFG_TYPE_FOREIGN_KEY &&
            column->referenced_table && !has_deeper(fields, used, column))
            append_readable(out, column);
    }
    free(fields);
}

/* SELECT <text columns> FROM (<the list's rows>, numbered) s ORDER BY their number: the page,
 * in an order PostgreSQL guarantees. The export leaves the numbers out (sorting every row again
 * would spill to disk): a subquery with ORDER BY is never pulled up into the outer query, and
 * a plain projection of its scan delivers its rows in its order. */
static int build_csv_select(struct orm_build *build, const struct orm_select *select,
                            bool is_numbered, struct sb *out, struct rs_error *error)
{
    struct orm_projection projection = {0};
    struct sb where = {0}, order = {0}, columns = {0};
    int result = -1;
    if (orm_build_projection(build, select, &projection, error) == 0 &&
        orm_build_where(build, select->table, select->filters, select->filter_count, &where,
                        error) == 0 &&
        orm_build_order(build, select, &order, error) == 0) {
        append_columns(build, select, &columns);
        sb_append(out, "SELECT ");
        sb_append(out, sb_text(&columns));
        sb_append(out, " FROM (SELECT ");
        sb_append(out, sb_text(&projection.exprs));
        if (is_numbered) {
            sb_append(out, ", row_number() OVER (ORDER BY ");
            sb_append(out, sb_text(&order));
            sb_append(out, ") AS \"#n\"");
        }
        sb_append(out, " FROM ");
        orm_build_identifier(build, out, select->table->name);
        sb_append(out, " t0");
        sb_append(out, sb_text(&projection.joins));
        sb_append(out, sb_text(&where));
        sb_append(out, " ORDER BY ");
        sb_append(out, sb_text(&order));
        orm_build_limit_offset(build, select->limit, select->offset, out);
        sb_append(out, is_numbered ? ") s ORDER BY s.\"#n\"" : ") s");
        result = 0;
    }
    orm_projection_free(&projection);
    sb_free(&where);
    sb_free(&order);
    sb_free(&columns);
    return result;
}

static int build_csv(const struct orm_select *select, bool is_numbered, struct orm_sql *out,
                     struct rs_error *error)
{
    if (!select || !select->table || select->table->column_count == 0) {
        rs_error_set(error, RS_INVALID, NULL, "no table to read");
        return -1;
    }
    struct orm_build build = {.sql = out};
    int result = build_csv_select(&build, select, is_numbered, &out->text, error);
    return orm_build_finish(&build, result, error);
}

int orm_build_list_csv(const struct orm_select *select, struct orm_sql *out, struct rs_error *error)
{
    return build_csv(select, true, out, error);
}

/* Copies text, turning each $n outside quotes into current_setting('restable.export_n'), or
 * NULL for a parameter bound as SQL NULL. */
static void rewrite_parameters(const char *text, char *const *params, size_t count, struct sb *out)
{
    char quote = 0;
    for (const char *p = text; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '$' && isdigit((unsigned char)p[1])) {
            char *end;
            unsigned long number = strtoul(p + 1, &end, 10);
            if (number >= 1 && number <= count) {
                if (params[number - 1])
                    sb_appendf(out, "current_setting('restable.export_%lu')", number);
                else
                    sb_append(out, "NULL");
                p = end - 1;
                continue;
            }
        }
        sb_append_char(out, *p);
    }
}

/* SELECT set_config('restable.export_1', $1, true), ... for the parameters that are not NULL */
static void build_settings(const struct orm_sql *copy, struct orm_sql *settings)
{
    for (size_t i = 0; i < copy->param_count; i++) {
        if (!copy->params[i])
            continue;
        sb_append(&settings->text, settings->text.length ? ", " : "SELECT ");
        sb_appendf(&settings->text, "set_config('restable.export_%zu', $%d, true)", i + 1,
                   orm_sql_bind(settings, copy->params[i]));
    }
}

int orm_build_export(const struct orm_select *select, struct orm_sql *settings,
                     struct orm_sql *copy, struct rs_error *error)
{
    struct orm_sql selected = {0};
    struct orm_select all = *select;
    all.limit = -1;
    all.offset = 0;
    if (build_csv(&all, false, &selected, error) < 0)
        return -1;
    sb_append(&copy->text, "COPY (");
    rewrite_parameters(sb_text(&selected.text), selected.params, selected.param_count, &copy->text);
    sb_append(&copy->text, ") TO STDOUT WITH (FORMAT csv, HEADER)");
    build_settings(&selected, settings);
    orm_sql_free(&selected);
    return 0;
}
