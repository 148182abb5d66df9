/*
 * orm/diff_live.c — the live schema written back as DDL, for the backwards section of a
 * migration that drops something: the table or column as it was, with its constraints and
 * indexes (the data is not restored: a backwards section cannot bring it back).
 */
#include <string.h>

#include "orm/diff_internal.h"

/* A column whose default draws from a sequence: the sequence belongs to the column and goes
 * with it, so it is recreated as serial, which makes a new one. */
static const char *serial_type(const struct orm_live_column *column)
{
    if (!column->default_sql || strncmp(column->default_sql, "nextval(", 8) != 0)
        return NULL;
    if (strcmp(column->type, "integer") == 0)
        return "serial";
    if (strcmp(column->type, "bigint") == 0)
        return "bigserial";
    if (strcmp(column->type, "smallint") == 0)
        return "smallserial";
    return NULL;
}

void orm_live_column_sql(const struct orm_live_column *column, struct sb *out)
{
    orm_quote_identifier(out, column->name);
    sb_append_char(out, ' ');
    const char *serial = serial_type(column);
    sb_append(out, serial ? serial : column->type);
    if (!column->is_nullable)
        sb_append(out, " NOT NULL");
    if (column->default_sql && !serial) {
        sb_append(out, " DEFAULT ");
        sb_append(out, column->default_sql);
    }
}

void orm_live_describe_column(const struct orm_live_column *column, struct sb *out)
{
    sb_append(out, column->type);
    sb_append(out, column->is_nullable ? " null" : " not null");
    if (column->default_sql) {
        sb_append(out, " default ");
        sb_append(out, column->default_sql);
    }
}

void orm_live_add_constraint(const char *table, const struct orm_live_constraint *constraint,
                             struct sb *out)
{
    sb_append(out, "ALTER TABLE ");
    orm_quote_identifier(out, table);
    sb_append(out, " ADD CONSTRAINT ");
    orm_quote_identifier(out, constraint->name);
    sb_append_char(out, ' ');
    sb_append(out, constraint->definition);
    sb_append(out, ";\n");
}

void orm_live_drop_constraint(const char *table, const char *name, struct sb *out)
{
    sb_append(out, "ALTER TABLE ");
    orm_quote_identifier(out, table);
    sb_append(out, " DROP CONSTRAINT ");
    orm_quote_identifier(out, name);
    sb_append(out, ";\n");
}

void orm_live_create_table(const struct orm_live_table *table, struct sb *out)
{
    orm_schema_create_table_open(out, table->name);
    bool is_first = true;
    for (size_t c = 0; c < table->column_count; c++) {
        orm_schema_table_item(out, &is_first);
        orm_live_column_sql(&table->columns[c], out);
    }
    for (size_t k = 0; k < table->constraint_count; k++) {
        const struct orm_live_constraint *constraint = &table->constraints[k];
        if (constraint->kind == 'f')
            continue; /* added once every table they may point at exists */
        orm_schema_table_item(out, &is_first);
        sb_append(out, "CONSTRAINT ");
        orm_quote_identifier(out, constraint->name);
        sb_append_char(out, ' ');
        sb_append(out, constraint->definition);
    }
    sb_append(out, "\n);\n");
    for (size_t i = 0; i < table->index_count; i++) {
        sb_append(out, table->indexes[i].definition);
        sb_append(out, ";\n");
    }
}
