/*
 * orm/diff_columns.c — the column level of the diff for one table that exists: renamed
 * columns ("renamed_from"), missing ones (added), undeclared ones (dropped: destructive),
 * and for the rest their type (USING a cast; narrowing is destructive), default and
 * nullability, then the table's primary key. Constraints: orm/diff_constraints.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/diff_internal.h"

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

/* The type a declared column has in the database: serial is integer plus a sequence. */
static void append_storage_type(const struct cfg_column *column, struct sb *out)
{
    if (column->type == CFG_TYPE_SERIAL)
        sb_append(out, "integer");
    else if (column->type == CFG_TYPE_BIGSERIAL)
        sb_append(out, "bigint");
    else
        orm_column_ddl_type(column, out);
}

static bool declared_nullable(const struct cfg_column *column)
{
    return column->is_nullable && !column->is_primary_key;
}

static void describe_declared(const struct cfg_column *column, const char *default_sql,
                              struct sb *out)
{
    orm_column_ddl_type(column, out);
    sb_append(out, declared_nullable(column) ? " null" : " not null");
    if (default_sql) {
        sb_append(out, " default ");
        sb_append(out, default_sql);
    }
}

/* ---- widening: a type change that keeps every value as it was ------------------------------ */

static int rank_of_integer(const char *type)
{
    if (strcmp(type, "smallint") == 0)
        return 1;
    if (strcmp(type, "integer") == 0)
        return 2;
    if (strcmp(type, "bigint") == 0)
        return 3;
    return 0;
}

/* from and to are normalized (format_type spelling). */
static bool is_widening(const char *from, const char *to)
{
    size_t from_length = strlen(from), to_length = strlen(to);
    bool from_array = from_length > 2 && strcmp(from + from_length - 2, "[]") == 0;
    bool to_array = to_length > 2 && strcmp(to + to_length - 2, "[]") == 0;
    if (from_array != to_array)
        return false;
    if (from_array) {
        char from_element[128], to_element[128];
        snprintf(from_element, sizeof from_element, "%.*s", (int)(from_length - 2), from);
        snprintf(to_element, sizeof to_element, "%.*s", (int)(to_length - 2), to);
        return is_widening(from_element, to_element);
    }
    if (strcmp(from, to) == 0 || strcmp(to, "text") == 0)
        return true;
    int from_length_limit = 0, to_length_limit = 0;
    bool from_text = strcmp(from, "text") == 0 || strcmp(from, "character varying") == 0 ||
                     sscanf(from, "character varying(%d)", &from_length_limit) == 1;
    if (from_text && strcmp(to, "character varying") == 0)
        return true;
    if (from_text && from_length_limit > 0 &&
        sscanf(to, "character varying(%d)", &to_length_limit) == 1)
        return to_length_limit >= from_length_limit;
    int from_rank = rank_of_integer(from), to_rank = rank_of_integer(to);
    if (from_rank && to_rank)
        return to_rank >= from_rank;
    if (from_rank && strcmp(to, "numeric") == 0)
        return true;
    if (strcmp(from, "real") == 0 && strcmp(to, "double precision") == 0)
        return true;
    int from_precision, from_scale, to_precision, to_scale;
    if (sscanf(from, "numeric(%d,%d)", &from_precision, &from_scale) == 2) {
        if (strcmp(to, "numeric") == 0)
            return true;
        if (sscanf(to, "numeric(%d,%d)", &to_precision, &to_scale) == 2)
            return to_scale >= from_scale && to_precision - to_scale >= from_precision - from_scale;
    }
    return false;
}

/* ---- statements ------------------------------------------------------------------------------ */

static void alter_column(struct sb *out, const char *table, const char *column)
{
    sb_append(out, "ALTER TABLE ");
    orm_quote_identifier(out, table);
    sb_append(out, " ALTER COLUMN ");
    orm_quote_identifier(out, column);
    sb_append_char(out, ' ');
}

static void set_type(struct sb *out, const char *table, const char *column, const char *type)
{
    alter_column(out, table, column);
    sb_appendf(out, "TYPE %s USING ", type);
    orm_quote_identifier(out, column);
    sb_appendf(out, "::%s;\n", type);
}

static void set_default(struct sb *out, const char *table, const char *column,
                        const char *default_sql)
{
    alter_column(out, table, column);
    if (default_sql)
        sb_appendf(out, "SET DEFAULT %s;\n", default_sql);
    else
        sb_append(out, "DROP DEFAULT;\n");
}

static void set_nullable(struct sb *out, const char *table, const char *column, bool is_nullable)
{
    alter_column(out, table, column);
    sb_append(out, is_nullable ? "DROP NOT NULL;\n" : "SET NOT NULL;\n");
}

/* Type, default and nullability of a column that exists. The type change and the default
 * travel together (an old default may not cast to the new type); nullability is separate,
 * so a held-back narrowing does not hold back the rest. */
static void diff_column(struct orm_plan *plan, const struct cfg_table *table,
                        const struct cfg_column *column, const struct orm_probe_column *probe,
                        const struct orm_live_column *live)
{
    struct sb declared_type = {0}, declared_normal = {0}, live_normal = {0};
    append_storage_type(column, &declared_type);
    orm_schema_normalize_type(sb_text(&declared_type), &declared_normal);
    orm_schema_normalize_type(live->type, &live_normal);
    bool type_differs = strcmp(sb_text(&declared_normal), sb_text(&live_normal)) != 0;
    const char *wanted_default = probe->default_sql;
    const char *live_default = live->default_sql;
    bool has_sequence = live_default && strncmp(live_default, "nextval(", 8) == 0;
    bool default_differs;
    if (is_serial(column))
        default_differs = !has_sequence;
    else if (!wanted_default || !live_default)
        default_differs = wanted_default != live_default;
    else
        default_differs = strcmp(wanted_default, live_default) != 0 &&
                          !(orm_schema_is_now(wanted_default) && orm_schema_is_now(live_default));
    bool null_differs = declared_nullable(column) != live->is_nullable;
    if (!type_differs && !default_differs && !null_differs)
        goto done;

    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared ", table->name, column->name);
    describe_declared(column, is_serial(column) ? NULL : wanted_default, &description);
    sb_append(&description, ", database ");
    orm_live_describe_column(live, &description);
    if (is_serial(column) && default_differs)
        sb_append(&description, " (no sequence default)");
    const char *described = sb_text(&description);

    if (type_differs || (default_differs && !is_serial(column))) {
        struct sb forwards = {0}, backwards = {0};
        if (type_differs && live_default && !is_serial(column))
            set_default(&forwards, table->name, column->name, NULL);
        if (type_differs)
            set_type(&forwards, table->name, column->name, sb_text(&declared_type));
        if (wanted_default && !is_serial(column) && (type_differs || default_differs))
            set_default(&forwards, table->name, column->name, wanted_default);
        else if (default_differs && !is_serial(column) && !type_differs)
            set_default(&forwards, table->name, column->name, NULL);
        if (type_differs && (wanted_default || live_default) && !is_serial(column))
            set_default(&backwards, table->name, column->name, NULL);
        if (type_differs)
            set_type(&backwards, table->name, column->name, live->type);
        if (live_default && !is_serial(column) && (type_differs || default_differs))
            set_default(&backwards, table->name, column->name, live_default);
        else if (default_differs && !type_differs && !is_serial(column))
            set_default(&backwards, table->name, column->name, NULL);
        bool is_destructive =
            type_differs && !is_widening(sb_text(&live_normal), sb_text(&declared_normal));
        orm_plan_add(plan, ORM_PHASE_ALTER_COLUMNS, is_destructive, described, sb_text(&forwards),
                     sb_text(&backwards));
        described = NULL;
        sb_free(&forwards);
        sb_free(&backwards);
    }
    if (is_serial(column) && default_differs) {
        /* giving an existing column a sequence takes a sequence, ownership and a start value:
         * left to a hand-written migration */
        struct sb comment = {0};
        sb_appendf(&comment,
                   "-- %s.%s is declared %s but has no sequence default: write this "
                   "change by hand\n",
                   table->name, column->name,
                   column->type == CFG_TYPE_SERIAL ? "serial" : "bigserial");
        orm_plan_add(plan, ORM_PHASE_ALTER_COLUMNS, false, described, sb_text(&comment), "");
        described = NULL;
        sb_free(&comment);
    }
    if (null_differs) {
        struct sb forwards = {0}, backwards = {0};
        if (!declared_nullable(column) && (wanted_default || is_serial(column))) {
            /* the declared default fills the NULLs already there, as it would for new rows */
            sb_append(&forwards, "UPDATE ");
            orm_quote_identifier(&forwards, table->name);
            sb_append(&forwards, " SET ");
            orm_quote_identifier(&forwards, column->name);
            sb_append(&forwards, " = DEFAULT WHERE ");
            orm_quote_identifier(&forwards, column->name);
            sb_append(&forwards, " IS NULL;\n");
        } else if (!declared_nullable(column)) {
            sb_append(&forwards, "-- fails if the column holds NULLs: fill them in first\n");
        }
        set_nullable(&forwards, table->name, column->name, declared_nullable(column));
        set_nullable(&backwards, table->name, column->name, live->is_nullable);
        orm_plan_add(plan, ORM_PHASE_ALTER_COLUMNS, false, described, sb_text(&forwards),
                     sb_text(&backwards));
        sb_free(&forwards);
        sb_free(&backwards);
    }
    sb_free(&description);
done:
    sb_free(&declared_type);
    sb_free(&declared_normal);
    sb_free(&live_normal);
}

static void add_column(struct orm_plan *plan, const struct cfg_table *table,
                       const struct cfg_column *column, const struct orm_probe_column *probe)
{
    struct sb description = {0}, forwards = {0}, backwards = {0};
    sb_appendf(&description, "%s.%s: declared ", table->name, column->name);
    describe_declared(column, probe->default_sql, &description);
    sb_append(&description, ", missing from the database");
    orm_schema_add_column(table, column, &forwards, &backwards);
    orm_plan_add(plan, ORM_PHASE_ADD_COLUMNS, false, sb_text(&description), sb_text(&forwards),
                 sb_text(&backwards));
    sb_free(&description);
    sb_free(&forwards);
    sb_free(&backwards);
}

static void rename_column(struct orm_plan *plan, const struct cfg_table *table,
                          const struct cfg_column *column)
{
    struct sb description = {0}, forwards = {0}, backwards = {0};
    sb_appendf(&description, "%s.%s: declared as renamed from %s, still named %s in the database",
               table->name, column->name, column->renamed_from, column->renamed_from);
    const char *names[2][2] = {{column->renamed_from, column->name},
                               {column->name, column->renamed_from}};
    struct sb *outs[2] = {&forwards, &backwards};
    for (int i = 0; i < 2; i++) {
        sb_append(outs[i], "ALTER TABLE ");
        orm_quote_identifier(outs[i], table->name);
        sb_append(outs[i], " RENAME COLUMN ");
        orm_quote_identifier(outs[i], names[i][0]);
        sb_append(outs[i], " TO ");
        orm_quote_identifier(outs[i], names[i][1]);
        sb_append(outs[i], ";\n");
    }
    orm_plan_add(plan, ORM_PHASE_RENAME_COLUMNS, false, sb_text(&description), sb_text(&forwards),
                 sb_text(&backwards));
    sb_free(&description);
    sb_free(&forwards);
    sb_free(&backwards);
}

/* A live column nobody declares: dropped (destructive). Backwards adds it back, empty, with
 * its constraints and indexes. */
static void drop_column(struct orm_plan *plan, const struct cfg_table *table,
                        const struct orm_live_table *live, const struct orm_live_column *column)
{
    struct sb description = {0}, forwards = {0}, backwards = {0};
    sb_appendf(&description, "%s.%s: in the database (", table->name, column->name);
    orm_live_describe_column(column, &description);
    sb_append(&description, "), not declared (drop column)");
    sb_append(&forwards, "ALTER TABLE ");
    orm_quote_identifier(&forwards, table->name);
    sb_append(&forwards, " DROP COLUMN ");
    orm_quote_identifier(&forwards, column->name);
    sb_append(&forwards, ";\n");
    sb_append(&backwards, "-- added back empty: the values dropped with it are not restored\n");
    sb_append(&backwards, "ALTER TABLE ");
    orm_quote_identifier(&backwards, table->name);
    sb_append(&backwards, " ADD COLUMN ");
    struct orm_live_column nullable = *column;
    nullable.is_nullable = nullable.is_nullable || !column->default_sql;
    orm_live_column_sql(&nullable, &backwards); /* NOT NULL without a default cannot be added */
    sb_append(&backwards, ";\n");
    for (size_t k = 0; k < live->constraint_count; k++) {
        const struct orm_live_constraint *constraint = &live->constraints[k];
        if (constraint->column_count == 1 && constraint->column &&
            strcmp(constraint->column, column->name) == 0)
            orm_live_add_constraint(table->name, constraint, &backwards);
    }
    for (size_t i = 0; i < live->index_count; i++) {
        const struct orm_live_index *index = &live->indexes[i];
        bool is_its_own =
            (index->is_simple && index->column && strcmp(index->column, column->name) == 0) ||
            (index->search_column && strcmp(index->search_column, column->name) == 0);
        if (is_its_own) {
            sb_append(&backwards, index->definition);
            sb_append(&backwards, ";\n");
        }
    }
    orm_plan_add(plan, ORM_PHASE_DROP_COLUMNS, true, sb_text(&description), sb_text(&forwards),
                 sb_text(&backwards));
    sb_free(&description);
    sb_free(&forwards);
    sb_free(&backwards);
}

static const struct orm_live_constraint *live_primary_key(const struct orm_live_table *live)
{
    for (size_t k = 0; k < live->constraint_count; k++)
        if (live->constraints[k].kind == 'p')
            return &live->constraints[k];
    return NULL;
}

/* The primary key moved to another column, or the table has none. A key column that is
 * being added brings its own constraint (orm_schema_add_column). */
static void diff_primary_key(struct orm_plan *plan, const struct cfg_table *table,
                             const struct orm_live_table *live, const char *key_live_name)
{
    const struct cfg_column *key = cfg_primary_key(table);
    const struct orm_live_constraint *current = live_primary_key(live);
    if (!current && !key_live_name)
        return; /* the key column is added, with its constraint */
    if (current && current->column_count == 1 && key_live_name &&
        strcmp(current->column, key_live_name) == 0) {
        orm_diff_rename_kept(plan, table, live->name, NULL, NULL, current->name, "pkey", false);
        return;
    }
    struct sb description = {0};
    sb_appendf(&description, "%s: primary key declared %s, database %s", table->name, key->name,
               current ? current->column : "none");
    if (current) {
        struct sb forwards = {0}, backwards = {0};
        orm_live_drop_constraint(live->name, current->name, &forwards);
        orm_live_add_constraint(live->name, current, &backwards);
        orm_plan_add(plan, ORM_PHASE_DROP_CONSTRAINTS, false, sb_text(&description),
                     sb_text(&forwards), sb_text(&backwards));
        sb_free(&forwards);
        sb_free(&backwards);
    }
    if (key_live_name) {
        struct sb forwards = {0}, backwards = {0};
        orm_schema_alter_table(table, &forwards);
        sb_append(&forwards, "ADD CONSTRAINT ");
        orm_schema_object_name(&forwards, table->name, NULL, "pkey");
        sb_append(&forwards, " PRIMARY KEY (");
        orm_quote_identifier(&forwards, key->name);
        sb_append(&forwards, ");\n");
        orm_schema_alter_table(table, &backwards);
        sb_append(&backwards, "DROP CONSTRAINT ");
        orm_schema_object_name(&backwards, table->name, NULL, "pkey");
        sb_append(&backwards, ";\n");
        orm_plan_add(plan, ORM_PHASE_ADD_CONSTRAINTS, false, current ? NULL : sb_text(&description),
                     sb_text(&forwards), sb_text(&backwards));
        sb_free(&forwards);
        sb_free(&backwards);
    }
    sb_free(&description);
}

void orm_diff_table(struct orm_plan *plan, const struct cfg_table *table,
                    const struct orm_probe_table *probe, const struct orm_live_table *live)
{
    bool *is_claimed = xcalloc(live->column_count, sizeof *is_claimed);
    const char *key_live_name = NULL;
    for (size_t c = 0; c < table->column_count; c++) {
        const struct cfg_column *column = &table->columns[c];
        const struct orm_live_column *match = orm_live_column_find(live, column->name);
        if (!match && column->renamed_from) {
            match = orm_live_column_find(live, column->renamed_from);
            if (match)
                rename_column(plan, table, column);
        }
        if (!match) {
            add_column(plan, table, column, &probe->columns[c]);
            continue;
        }
        is_claimed[match - live->columns] = true;
        if (column->is_primary_key)
            key_live_name = match->name;
        diff_column(plan, table, column, &probe->columns[c], match);
        orm_diff_column_constraints(plan, table, column, live, match->name);
    }
    for (size_t c = 0; c < live->column_count; c++)
        if (!is_claimed[c])
            drop_column(plan, table, live, &live->columns[c]);
    diff_primary_key(plan, table, live, key_live_name);
    free(is_claimed);
}
