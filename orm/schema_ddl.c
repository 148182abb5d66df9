/*
 * orm/schema_ddl.c — the SQL spelling of one declared column: its type, its DEFAULT, its
 * definition line, the names of its constraints, and the normaliser that lets a declared type
 * be compared with PostgreSQL's format_type(). What differs between types (DDL name and
 * modifier, "now", how a default is written) is in the type table (orm/types.c); this file
 * only assembles. Pure text; no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm.h"
#include "orm/orm_internal_types.h"
#include "orm/schema_internal.h"

/* PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated by the server. */
#define PG_MAX_IDENTIFIER 63
/* A foreign key to a key that is itself a foreign key (one-to-one tables) is followed this
 * far; a config cycle of such keys cannot recurse forever. */
#define MAX_KEY_CHAIN 8

void orm_schema_quote_literal(struct sb *out, const char *text)
{
    /* standard_conforming_strings is on (the default since PostgreSQL 9.1): backslashes are
     * ordinary characters and only the quote needs doubling. */
    sb_append_char(out, '\'');
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            sb_append_char(out, '\'');
        sb_append_char(out, *p);
    }
    sb_append_char(out, '\'');
}

void orm_schema_object_name(struct sb *out, const char *table, const char *column,
                            const char *suffix)
{
    struct sb name = {0};
    orm_schema_object_name_raw(&name, table, column, suffix);
    orm_quote_identifier(out, sb_text(&name));
    sb_free(&name);
}

void orm_schema_object_name_raw(struct sb *out, const char *table, const char *column,
                                const char *suffix)
{
    /* PostgreSQL's makeObjectName: drop characters from the longer part until it fits. Names
     * are ASCII (config rule), so byte counts are character counts. */
    size_t table_length = strlen(table);
    size_t column_length = column ? strlen(column) : 0;
    size_t overhead = strlen(suffix) + 1 + (column ? 1 : 0);
    size_t available = PG_MAX_IDENTIFIER - overhead;
    while (table_length + column_length > available) {
        if (table_length > column_length)
            table_length--;
        else
            column_length--;
    }
    sb_append_n(out, table, table_length);
    if (column) {
        sb_append_char(out, '_');
        sb_append_n(out, column, column_length);
    }
    sb_append_char(out, '_');
    sb_append(out, suffix);
}

static enum cfg_type key_value_type(enum cfg_type type)
{
    if (type == CFG_TYPE_SERIAL)
        return CFG_TYPE_INTEGER;
    if (type == CFG_TYPE_BIGSERIAL)
        return CFG_TYPE_BIGINT;
    return type;
}

/* The type's row says how it is spelled; only the modifier's numbers come from the column. */
static void append_scalar_type(struct sb *out, enum cfg_type type, int length, int precision,
                               int scale)
{
    const struct orm_type_info *info = orm_type_info(type);
    if (!info) {
        /* A validated config never gets here; text keeps the DDL valid if one does. */
        sb_append(out, "text");
        return;
    }
    sb_append(out, info->ddl_name);
    switch (info->ddl_modifier) {
    case ORM_DDL_PLAIN:
        break;
    case ORM_DDL_LENGTH:
        if (length > 0)
            sb_appendf(out, "(%d)", length);
        break;
    case ORM_DDL_LENGTH_OR_255:
        sb_appendf(out, "(%d)", length > 0 ? length : 255);
        break;
    case ORM_DDL_PRECISION:
        if (precision > 0 && scale > 0)
            sb_appendf(out, "(%d,%d)", precision, scale);
        else if (precision > 0)
            sb_appendf(out, "(%d)", precision);
        break;
    }
}

static void append_key_type(struct sb *out, const struct cfg_column *column, int depth)
{
    const struct cfg_table *target = column->referenced_table;
    if (target && depth < MAX_KEY_CHAIN) {
        /* The referenced key itself decides: a varchar(20) key needs a varchar(20) column. */
        const struct cfg_column *key = cfg_primary_key(target);
        if (key->type == CFG_TYPE_FOREIGN_KEY)
            append_key_type(out, key, depth + 1);
        else
            append_scalar_type(out, key_value_type(key->type), key->length, key->precision,
                               key->scale);
        return;
    }
    append_scalar_type(out, key_value_type(column->value_type), column->length, column->precision,
                       column->scale);
}

void orm_column_ddl_type(const struct cfg_column *column, struct sb *out)
{
    if (column->type == CFG_TYPE_FOREIGN_KEY) {
        append_key_type(out, column, 0);
    } else if (column->type == CFG_TYPE_ARRAY) {
        append_scalar_type(out, key_value_type(column->value_type), column->length,
                           column->precision, column->scale);
        sb_append(out, "[]");
    } else {
        append_scalar_type(out, column->type, column->length, column->precision, column->scale);
    }
}

/* ---- defaults ------------------------------------------------------------------------- */

/* Compact JSON text of any value; caller frees. */
static char *dump(const json_t *value)
{
    return xcheck(json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY));
}

static void append_json_text(struct sb *out, const json_t *value)
{
    char *text = dump(value);
    orm_schema_quote_literal(out, text);
    free(text);
}

/* A JSON number as SQL writes it: 0.1 stays 0.1 (the shortest text that reads back as the
 * same double), not 0.10000000000000001. */
static void append_number(struct sb *out, const json_t *value)
{
    if (json_is_integer(value)) {
        sb_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return;
    }
    char text[40];
    rs_format_double(json_real_value(value), text, sizeof text);
    sb_append(out, text);
}

/* One element of a PostgreSQL array literal ({...}), before the literal is SQL-quoted. */
static void append_array_element(struct sb *out, const json_t *value)
{
    if (json_is_array(value)) {
        sb_append_char(out, '{');
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (i)
                sb_append_char(out, ',');
            append_array_element(out, json_array_get(value, i));
        }
        sb_append_char(out, '}');
        return;
    }
    if (json_is_null(value)) {
        sb_append(out, "NULL");
        return;
    }
    if (json_is_number(value)) {
        append_number(out, value);
        return;
    }
    if (json_is_boolean(value)) {
        sb_append(out, json_is_true(value) ? "true" : "false");
        return;
    }
    /* Text is always double-quoted, so "NULL", "" and text with commas or braces stay
     * strings; an object (a jsonb[] element) is its JSON text. */
    char *owned = json_is_string(value) ? NULL : dump(value);
    const char *text = owned ? owned : json_string_value(value);
    sb_append_char(out, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_append_char(out, '\\');
        sb_append_char(out, *p);
    }
    sb_append_char(out, '"');
    free(owned);
}

void orm_literal_sql_plain(const struct orm_type_info *info, const json_t *value, struct sb *out)
{
    (void)info;
    if (json_is_array(value)) {
        struct sb literal = {0};
        append_array_element(&literal, value);
        orm_schema_quote_literal(out, sb_text(&literal));
        sb_free(&literal);
    } else if (json_is_string(value)) {
        orm_schema_quote_literal(out, json_string_value(value));
    } else if (json_is_true(value)) {
        sb_append(out, "true");
    } else if (json_is_false(value)) {
        sb_append(out, "false");
    } else if (json_is_number(value)) {
        append_number(out, value);
    } else {
        /* an object for a non-JSON column: the config rejects it; keep the DDL valid */
        append_json_text(out, value);
    }
}

void orm_literal_sql_json(const struct orm_type_info *info, const json_t *value, struct sb *out)
{
    append_json_text(out, value);
    sb_appendf(out, "::%s", info->cast);
}

void orm_literal_sql_base64(const struct orm_type_info *info, const json_t *value, struct sb *out)
{
    if (!json_is_string(value)) {
        orm_literal_sql_plain(info, value, out);
        return;
    }
    sb_append(out, "decode(");
    orm_schema_quote_literal(out, json_string_value(value));
    sb_append(out, ", 'base64')");
}

/* The column's own type decides (an array of json is an array literal, not JSON text). */
static void append_value_default(const struct cfg_column *column, const json_t *value,
                                 struct sb *out)
{
    const struct orm_type_info *info = orm_type_info(column->type);
    if (info && info->literal_sql)
        info->literal_sql(info, value, out);
    else
        orm_literal_sql_plain(info, value, out);
}

bool orm_schema_is_now(const char *expression)
{
    static const char *const spellings[] = {
        "now()",
        "CURRENT_TIMESTAMP",
        "transaction_timestamp()",
        "LOCALTIMESTAMP",
        "CURRENT_DATE",
        "LOCALTIME",
        "CURRENT_TIME",
        NULL,
    };
    for (size_t i = 0; spellings[i]; i++)
        if (strcmp(expression, spellings[i]) == 0)
            return true;
    return false;
}

bool orm_schema_default_sql(const struct cfg_column *column, struct sb *out)
{
    if (column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL)
        return false;
    switch (column->default_kind) {
    case CFG_DEFAULT_NONE:
        return false;
    case CFG_DEFAULT_VALUE:
        /* DEFAULT NULL is what a column has anyway; PostgreSQL would not even store it. */
        if (!column->default_value || json_is_null(column->default_value))
            return false;
        append_value_default(column, column->default_value, out);
        return true;
    case CFG_DEFAULT_NOW: {
        const struct orm_type_info *info = orm_type_info(column->value_type);
        sb_append(out, info && info->now_sql ? info->now_sql : "now()");
        return true;
    }
    case CFG_DEFAULT_UUID4:
        sb_append(out, "gen_random_uuid()"); /* core since PostgreSQL 13: no extension */
        return true;
    }
    return false;
}

void orm_schema_choices_check(const struct cfg_column *column, struct sb *out)
{
    bool is_array = column->type == CFG_TYPE_ARRAY;
    sb_append(out, "CHECK (");
    orm_quote_identifier(out, column->name);
    sb_append(out, is_array ? " <@ ARRAY[" : " IN (");
    size_t index;
    const json_t *choice;
    json_array_foreach(column->choices, index, choice)
    {
        if (index)
            sb_append(out, ", ");
        if (!is_array)
            append_value_default(column, choice, out);
        else if (json_is_string(choice))
            orm_schema_quote_literal(out, json_string_value(choice));
        else if (json_is_boolean(choice))
            sb_append(out, json_is_true(choice) ? "true" : "false");
        else if (json_is_number(choice))
            append_number(out, choice);
        else
            append_json_text(out, choice);
    }
    if (is_array) {
        /* an empty ARRAY[] needs the type, and a typed one compares without casts */
        sb_append(out, "]::");
        orm_column_ddl_type(column, out);
        sb_append_char(out, ')');
        return;
    }
    sb_append(out, "))");
}

void orm_schema_column_sql(const struct cfg_column *column, struct sb *out)
{
    orm_quote_identifier(out, column->name);
    sb_append_char(out, ' ');
    orm_column_ddl_type(column, out);
    if (!column->is_nullable || column->is_primary_key)
        sb_append(out, " NOT NULL");
    struct sb expression = {0};
    if (orm_schema_default_sql(column, &expression)) {
        sb_append(out, " DEFAULT ");
        sb_append(out, sb_text(&expression));
    }
    sb_free(&expression);
}

bool orm_schema_column_is_indexed(const struct cfg_column *column)
{
    if (column->is_primary_key || column->is_unique)
        return false;
    return column->has_index || (column->type == CFG_TYPE_FOREIGN_KEY && !column->is_index_off);
}

/* ---- the normaliser ------------------------------------------------------------------- */

struct type_alias {
    const char *name;
    const char *canonical;
};

/* Spellings PostgreSQL accepts in DDL, mapped to what format_type() prints. */
static const struct type_alias type_aliases[] = {
    {"serial", "integer"},
    {"serial4", "integer"},
    {"int", "integer"},
    {"int4", "integer"},
    {"bigserial", "bigint"},
    {"serial8", "bigint"},
    {"int8", "bigint"},
    {"smallserial", "smallint"},
    {"serial2", "smallint"},
    {"int2", "smallint"},
    {"bool", "boolean"},
    {"float4", "real"},
    {"float8", "double precision"},
    {"float", "double precision"},
    {"varchar", "character varying"},
    {"char", "character(1)"},
    {"bpchar", "character"},
    {"decimal", "numeric"},
    {"timestamp", "timestamp without time zone"},
    {"timestamptz", "timestamp with time zone"},
    {"time", "time without time zone"},
    {"timetz", "time with time zone"},
};

void orm_schema_normalize_type(const char *type, struct sb *out)
{
    /* lowercase, without spaces next to parentheses and commas, and split off the "[]"s */
    struct sb base = {0};
    for (const char *p = type; *p; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (c == ' ' && (base.length == 0 || strchr("(,", base.data[base.length - 1]) ||
                         strchr("(),[", p[1]) || p[1] == '\0'))
            continue;
        sb_append_char(&base, c);
    }
    size_t dimensions = 0;
    while (base.length >= 2 && strcmp(base.data + base.length - 2, "[]") == 0) {
        base.length -= 2;
        base.data[base.length] = '\0';
        dimensions++;
    }
    const char *text = sb_text(&base);
    const char *modifier = strchr(text, '(');
    size_t name_length = modifier ? (size_t)(modifier - text) : strlen(text);
    if (!modifier)
        modifier = "";
    struct sb name = {0};
    sb_append_n(&name, text, name_length);
    for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++) {
        if (strcmp(type_aliases[i].name, sb_text(&name)) == 0) {
            sb_reset(&name);
            sb_append(&name, type_aliases[i].canonical);
            break;
        }
    }
    const char *canonical = sb_text(&name);
    const char *zone = strstr(canonical, " with");
    if (strncmp(canonical, "character(", 10) == 0 && *modifier) {
        /* "char(5)": the alias's implied length gives way to the written one */
        sb_append(out, "character");
        sb_append(out, modifier);
    } else if (zone && strstr(canonical, "time") == canonical && *modifier) {
        /* "timestamptz(3)" is "timestamp(3) with time zone" */
        sb_append_n(out, canonical, (size_t)(zone - canonical));
        sb_append(out, modifier);
        sb_append(out, zone);
    } else if (strcmp(canonical, "numeric") == 0 && *modifier && !strchr(modifier, ',')) {
        /* numeric(p) is numeric(p,0), and format_type says so */
        sb_append(out, canonical);
        sb_append_n(out, modifier, strlen(modifier) - 1);
        sb_append(out, ",0)");
    } else {
        sb_append(out, canonical);
        sb_append(out, modifier);
    }
    sb_free(&name);
    for (size_t i = 0; i < dimensions; i++)
        sb_append(out, "[]");
    sb_free(&base);
}

void orm_schema_create_index(const struct cfg_table *table, const struct cfg_column *column,
                             const char *suffix, const char *method, const char *key,
                             struct sb *out)
{
    sb_append(out, "CREATE INDEX ");
    orm_schema_object_name(out, table->name, column->name, suffix);
    sb_append(out, " ON ");
    orm_quote_identifier(out, table->name);
    if (method)
        sb_appendf(out, " USING %s", method);
    sb_appendf(out, " (%s);\n", key);
}
