/*
 * orm/types.c — the table of column type descriptors and the public entry points that use it:
 * turning query-string text or a JSON body value into the canonical PostgreSQL text of the
 * column's type (with null, array and choices handling), and the cast names bound values get.
 * The same rows give schema_ddl.c each type's DDL spelling, its "now" and its default literal,
 * and types_schema.c its JSON Schema and its "now" as JSON. The per-type parsers live in
 * types_scalar.c and types_time.c (over base/values.c's grammar).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_types.h"

#define INT32_RANGE .minimum = -2147483648LL, .maximum = 2147483647LL
#define INT64_RANGE .minimum = (-9223372036854775807LL - 1), .maximum = 9223372036854775807LL

/* One row per type, a deliberate table (its rows repeat one shape): everything orm/ knows of
 * it. A new column type is a row here (plus the enum value in config/config.h and its row in
 * config/config_types.c: its name and literal rule, which config/ keeps because it cannot see
 * this table). */
static const struct orm_type_info type_table[CFG_TYPE_COUNT] = {
    [CFG_TYPE_VARCHAR] = {.type = CFG_TYPE_VARCHAR,
                          .cast = "varchar",
                          .array_cast = "varchar[]",
                          .ddl_name = "varchar",
                          .ddl_modifier = ORM_DDL_LENGTH,
                          .expected = "a string",
                          .from_text = orm_parse_string_text,
                          .from_json = orm_parse_string_json,
                          .schema_type = "string"},
    [CFG_TYPE_TEXT] = {.type = CFG_TYPE_TEXT,
                       .cast = "text",
                       .array_cast = "text[]",
                       .ddl_name = "text",
                       .expected = "a string",
                       .from_text = orm_parse_string_text,
                       .from_json = orm_parse_string_json,
                       .schema_type = "string"},
    /* RFC 5321 caps a forward path at 254 characters; 255 is the customary column. */
    [CFG_TYPE_EMAIL] = {.type = CFG_TYPE_EMAIL,
                        .cast = "varchar",
                        .array_cast = "varchar[]",
                        .ddl_name = "varchar",
                        .ddl_modifier = ORM_DDL_LENGTH_OR_255,
                        .expected = "an email address",
                        .from_text = orm_parse_string_text,
                        .from_json = orm_parse_string_json,
                        .schema_type = "string",
                        .schema_format = "email"},
    [CFG_TYPE_INTEGER] = {.type = CFG_TYPE_INTEGER,
                          .cast = "integer",
                          .array_cast = "integer[]",
                          .ddl_name = "integer",
                          .expected = "an integer",
                          .from_text = orm_parse_integer_text,
                          .from_json = orm_parse_integer_json,
                          .schema_type = "integer",
                          .is_range_in_schema = true,
                          INT32_RANGE},
    [CFG_TYPE_BIGINT] = {.type = CFG_TYPE_BIGINT,
                         .cast = "bigint",
                         .array_cast = "bigint[]",
                         .ddl_name = "bigint",
                         .expected = "an integer",
                         .from_text = orm_parse_integer_text,
                         .from_json = orm_parse_integer_json,
                         .schema_type = "integer",
                         INT64_RANGE},
    [CFG_TYPE_SMALLINT] = {.type = CFG_TYPE_SMALLINT,
                           .cast = "smallint",
                           .array_cast = "smallint[]",
                           .ddl_name = "smallint",
                           .expected = "an integer",
                           .from_text = orm_parse_integer_text,
                           .from_json = orm_parse_integer_json,
                           .schema_type = "integer",
                           .is_range_in_schema = true,
                           .minimum = -32768,
                           .maximum = 32767},
    [CFG_TYPE_SERIAL] = {.type = CFG_TYPE_SERIAL,
                         .cast = "integer",
                         .array_cast = "integer[]",
                         .ddl_name = "serial",
                         .expected = "an integer",
                         .from_text = orm_parse_integer_text,
                         .from_json = orm_parse_integer_json,
                         .schema_type = "integer",
                         .is_range_in_schema = true,
                         .is_generated = true,
                         INT32_RANGE},
    [CFG_TYPE_BIGSERIAL] = {.type = CFG_TYPE_BIGSERIAL,
                            .cast = "bigint",
                            .array_cast = "bigint[]",
                            .ddl_name = "bigserial",
                            .expected = "an integer",
                            .from_text = orm_parse_integer_text,
                            .from_json = orm_parse_integer_json,
                            .schema_type = "integer",
                            .is_generated = true,
                            INT64_RANGE},
    [CFG_TYPE_BOOLEAN] = {.type = CFG_TYPE_BOOLEAN,
                          .cast = "boolean",
                          .array_cast = "boolean[]",
                          .ddl_name = "boolean",
                          .expected = "a boolean",
                          .from_text = orm_parse_boolean_text,
                          .from_json = orm_parse_boolean_json,
                          .schema_type = "boolean"},
    [CFG_TYPE_NUMERIC] = {.type = CFG_TYPE_NUMERIC,
                          .cast = "numeric",
                          .array_cast = "numeric[]",
                          .ddl_name = "numeric",
                          .ddl_modifier = ORM_DDL_PRECISION,
                          .expected = "a number",
                          .from_text = orm_parse_decimal_text,
                          .from_json = orm_parse_decimal_json,
                          .schema_type = "number",
                          .decimal_kind = RS_DECIMAL_NUMERIC},
    [CFG_TYPE_REAL] = {.type = CFG_TYPE_REAL,
                       .cast = "real",
                       .array_cast = "real[]",
                       .ddl_name = "real",
                       .expected = "a number",
                       .from_text = orm_parse_decimal_text,
                       .from_json = orm_parse_decimal_json,
                       .schema_type = "number",
                       .decimal_kind = RS_DECIMAL_REAL},
    [CFG_TYPE_DOUBLE] = {.type = CFG_TYPE_DOUBLE,
                         .cast = "double precision",
                         .array_cast = "double precision[]",
                         .ddl_name = "double precision",
                         .expected = "a number",
                         .from_text = orm_parse_decimal_text,
                         .from_json = orm_parse_decimal_json,
                         .schema_type = "number",
                         .decimal_kind = RS_DECIMAL_DOUBLE},
    /* "now" is spelled with the SQL-standard function that returns exactly the column's type */
    [CFG_TYPE_TIMESTAMP] = {.type = CFG_TYPE_TIMESTAMP,
                            .cast = "timestamp",
                            .array_cast = "timestamp[]",
                            .ddl_name = "timestamp",
                            .now_sql = "LOCALTIMESTAMP",
                            .now_json = "%Y-%m-%dT%H:%M:%S.%f",
                            .expected = "an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS)",
                            .from_text = orm_parse_timestamp_text,
                            .from_json = orm_parse_string_json,
                            .schema_type = "string",
                            .schema_format = "date-time"},
    [CFG_TYPE_TIMESTAMPTZ] = {.type = CFG_TYPE_TIMESTAMPTZ,
                              .cast = "timestamptz",
                              .array_cast = "timestamptz[]",
                              .ddl_name = "timestamptz",
                              .now_sql = "now()",
                              .now_json = "%Y-%m-%dT%H:%M:%S.%f+00:00",
                              .expected = "an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS+HH:MM)",
                              .from_text = orm_parse_timestamp_text,
                              .from_json = orm_parse_string_json,
                              .schema_type = "string",
                              .schema_format = "date-time"},
    [CFG_TYPE_DATE] = {.type = CFG_TYPE_DATE,
                       .cast = "date",
                       .array_cast = "date[]",
                       .ddl_name = "date",
                       .now_sql = "CURRENT_DATE",
                       .now_json = "%Y-%m-%d",
                       .expected = "a date (YYYY-MM-DD)",
                       .from_text = orm_parse_date_text,
                       .from_json = orm_parse_string_json,
                       .schema_type = "string",
                       .schema_format = "date"},
    [CFG_TYPE_TIME] = {.type = CFG_TYPE_TIME,
                       .cast = "time",
                       .array_cast = "time[]",
                       .ddl_name = "time",
                       .now_sql = "LOCALTIME",
                       .now_json = "%H:%M:%S",
                       .expected = "a time (HH:MM[:SS[.ffffff]])",
                       .from_text = orm_parse_time_text,
                       .from_json = orm_parse_string_json,
                       .schema_type = "string",
                       .schema_format = "time"},
    [CFG_TYPE_INTERVAL] = {.type = CFG_TYPE_INTERVAL,
                           .cast = "interval",
                           .array_cast = "interval[]",
                           .ddl_name = "interval",
                           .expected = "an ISO 8601 duration (e.g. PT2H30M) or a number of seconds",
                           .from_text = orm_parse_interval_text,
                           .from_json = orm_parse_interval_json,
                           .schema_type = "string",
                           .schema_format = "duration"},
    [CFG_TYPE_UUID] = {.type = CFG_TYPE_UUID,
                       .cast = "uuid",
                       .array_cast = "uuid[]",
                       .ddl_name = "uuid",
                       .expected = "a uuid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                       .from_text = orm_parse_uuid_text,
                       .from_json = orm_parse_string_json,
                       .schema_type = "string",
                       .schema_format = "uuid"},
    /* json and jsonb defaults are their JSON text cast to the type */
    [CFG_TYPE_JSON] = {.type = CFG_TYPE_JSON,
                       .cast = "json",
                       .array_cast = "json[]",
                       .ddl_name = "json",
                       .literal_sql = orm_literal_sql_json,
                       .expected = "JSON",
                       .from_text = orm_parse_json_text,
                       .from_json = orm_parse_json_json},
    [CFG_TYPE_JSONB] = {.type = CFG_TYPE_JSONB,
                        .cast = "jsonb",
                        .array_cast = "jsonb[]",
                        .ddl_name = "jsonb",
                        .literal_sql = orm_literal_sql_json,
                        .expected = "JSON",
                        .from_text = orm_parse_json_text,
                        .from_json = orm_parse_json_json},
    /* bytea travels as base64 in JSON (SPEC §2), its default too */
    [CFG_TYPE_BYTEA] = {.type = CFG_TYPE_BYTEA,
                        .cast = "bytea",
                        .array_cast = "bytea[]",
                        .ddl_name = "bytea",
                        .literal_sql = orm_literal_sql_base64,
                        .expected = "base64 text (standard alphabet, padded)",
                        .from_text = orm_parse_bytea_text,
                        .from_json = orm_parse_string_json,
                        .schema_type = "string",
                        .schema_format = "byte",
                        .schema_encoding = "base64"},
    [CFG_TYPE_ARRAY] = {.type = CFG_TYPE_ARRAY, .expected = "an array", .schema_type = "array"},
    [CFG_TYPE_FOREIGN_KEY] = {.type = CFG_TYPE_FOREIGN_KEY},
};

const struct orm_type_info *orm_type_info(enum cfg_type type)
{
    if ((int)type < 0 || type >= CFG_TYPE_COUNT || !type_table[type].cast)
        return NULL;
    return &type_table[type];
}

const struct orm_type_info *orm_column_value_info(const struct cfg_column *column)
{
    if (column->type == CFG_TYPE_ARRAY || column->type == CFG_TYPE_FOREIGN_KEY)
        return orm_type_info(column->value_type);
    return orm_type_info(column->type);
}

/* ---- messages ---------------------------------------------------------------------------- */

static size_t utf8_sequence_length(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t length;
    unsigned int code;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
        code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        code = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        code = (code << 6) | (p[i] & 0x3F);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return length;
}

long orm_utf8_length(const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *end = p + length;
    long count = 0;
    while (p < end) {
        size_t step = utf8_sequence_length(p);
        if (step == 0 || step > (size_t)(end - p))
            return -1;
        p += step;
        count++;
    }
    return count;
}

void orm_text_for_message(const char *text, char *buffer, size_t size, size_t limit)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t used = 0;
    if (size < 4)
        limit = 0;
    else if (limit > size - 4)
        limit = size - 4;
    while (*p) {
        size_t step = utf8_sequence_length(p);
        if (step > 0 && strnlen((const char *)p, step) < step)
            step = 0;
        size_t emit = step ? step : 1;
        if (used + emit > limit) {
            memcpy(buffer + used, "...", 3);
            used += 3;
            break;
        }
        if (step)
            memcpy(buffer + used, p, step);
        else
            buffer[used] = '?';
        used += emit;
        p += emit;
    }
    if (size > 0)
        buffer[used < size ? used : size - 1] = '\0';
}

int orm_type_fail_text(const struct orm_type_info *info, const char *text, struct rs_error *error)
{
    char shown[64];
    orm_text_for_message(text, shown, sizeof shown, 40);
    rs_error_set(error, RS_FAILED, NULL, "expected %s, got \"%s\"", info->expected, shown);
    return -1;
}

static const char *json_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

int orm_type_fail_json(const struct orm_type_info *info, const json_t *value,
                       struct rs_error *error)
{
    rs_error_set(error, RS_FAILED, NULL, "expected %s, got %s", info->expected, json_kind(value));
    return -1;
}

/* ---- shared text helpers ----------------------------------------------------------------- */

void orm_array_literal_append(struct sb *out, const char *const *values, size_t count)
{
    sb_append_char(out, '{');
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            sb_append_char(out, ',');
        if (!values[i]) {
            sb_append(out, "NULL");
            continue;
        }
        sb_append_char(out, '"');
        for (const char *p = values[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                sb_append_char(out, '\\');
            sb_append_char(out, *p);
        }
        sb_append_char(out, '"');
    }
    sb_append_char(out, '}');
}

void orm_like_escape_append(struct sb *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\' || *p == '%' || *p == '_')
            sb_append_char(out, '\\');
        sb_append_char(out, *p);
    }
}

/* ---- casts ------------------------------------------------------------------------------- */

const char *orm_column_element_cast(const struct cfg_column *column)
{
    const struct orm_type_info *info = orm_column_value_info(column);
    return info ? info->cast : "text";
}

const char *orm_column_cast(const struct cfg_column *column)
{
    const struct orm_type_info *info = orm_column_value_info(column);
    if (!info)
        return "text";
    return column->type == CFG_TYPE_ARRAY ? info->array_cast : info->cast;
}

const char *orm_column_array_cast(const struct cfg_column *column)
{
    const struct orm_type_info *info = orm_column_value_info(column);
    return info ? info->array_cast : "text[]";
}

bool orm_column_is_text(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_VARCHAR || column->type == CFG_TYPE_TEXT ||
           column->type == CFG_TYPE_EMAIL;
}

/* ---- choices ----------------------------------------------------------------------------- */

/* Choices are compared on canonical text, so 1 and 1.0, or "ABC..." and "abc..." uuids, are
 * the same choice. For arrays each element must be one of the choices. */
static int check_choices(const struct orm_type_info *info, const struct cfg_column *element,
                         const char *canonical, struct rs_error *error)
{
    if (!json_is_array(element->choices) || json_array_size(element->choices) == 0)
        return 0;
    struct sb listed = {0};
    size_t index;
    json_t *choice;
    json_array_foreach(element->choices, index, choice)
    {
        struct sb text = {0};
        struct rs_error ignored = {0};
        bool is_same = info->from_json(info, element, choice, &text, &ignored) == 0 &&
                       strcmp(sb_text(&text), canonical) == 0;
        sb_free(&text);
        if (is_same) {
            sb_free(&listed);
            return 0;
        }
        char *shown = json_dumps(choice, JSON_ENCODE_ANY | JSON_COMPACT);
        if (shown) {
            sb_appendf(&listed, "%s%s", index ? ", " : "", shown);
            free(shown);
        }
    }
    rs_error_set(error, RS_FAILED, NULL, "must be one of: %s", sb_text(&listed));
    sb_free(&listed);
    return -1;
}

/* ---- public parsing ---------------------------------------------------------------------- */

/* The column an array's elements are parsed as: same length and choices, the element type. */
static struct cfg_column element_of(const struct cfg_column *column)
{
    struct cfg_column element = *column;
    element.type = column->value_type;
    element.is_nullable = false;
    return element;
}

char *orm_value_from_text(const struct cfg_column *column, const char *text, const char *field_name,
                          struct rs_error *error)
{
    const struct orm_type_info *info = orm_column_value_info(column);
    const char *field = field_name ? field_name : column->name;
    if (!info || !text) {
        rs_error_set(error, RS_INVALID, field, "this column cannot be parsed");
        return NULL;
    }
    struct cfg_column element = element_of(column);
    struct sb out = {0};
    /* A text filter matches by substring by default, so a partial value is legitimate there:
     * choices only constrain the other types. */
    if (info->from_text(info, &element, text, &out, error) < 0 ||
        (!orm_column_is_text(&element) &&
         check_choices(info, &element, sb_text(&out), error) < 0)) {
        sb_free(&out);
        error->outcome = RS_INVALID;
        snprintf(error->field, sizeof error->field, "%s", field);
        return NULL;
    }
    return sb_take(&out);
}

static int array_from_json(const struct orm_type_info *info, const struct cfg_column *column,
                           const json_t *value, struct sb *out, struct rs_error *error)
{
    if (!json_is_array(value)) {
        rs_error_set(error, RS_FAILED, NULL, "expected an array, got %s", json_kind(value));
        return -1;
    }
    struct cfg_column element = element_of(column);
    size_t count = json_array_size(value);
    char **texts = xcalloc(count, sizeof *texts);
    int result = 0;
    for (size_t i = 0; i < count && result == 0; i++) {
        const json_t *item = json_array_get(value, i);
        struct sb text = {0};
        if (json_is_null(item)) {
            rs_error_set(error, RS_FAILED, NULL, "item %zu: may not be null", i);
            result = -1;
        } else if (info->from_json(info, &element, item, &text, error) < 0 ||
                   check_choices(info, &element, sb_text(&text), error) < 0) {
            char message[sizeof error->message];
            snprintf(message, sizeof message, "%s", error->message);
            rs_error_set(error, RS_FAILED, NULL, "item %zu: %s", i, message);
            result = -1;
        }
        texts[i] = sb_take(&text);
    }
    if (result == 0)
        orm_array_literal_append(out, (const char *const *)texts, count);
    for (size_t i = 0; i < count; i++)
        free(texts[i]);
    free(texts);
    return result;
}

int orm_value_from_json(const struct cfg_column *column, const json_t *value, char **out,
                        struct rs_error *error)
{
    *out = NULL;
    const struct orm_type_info *info = orm_column_value_info(column);
    if (!info || !value) {
        rs_error_set(error, RS_UNPROCESSABLE, column->name, "this column cannot be parsed");
        return -1;
    }
    if (json_is_null(value)) {
        if (column->is_nullable)
            return 0;
        rs_error_set(error, RS_UNPROCESSABLE, column->name, "may not be null");
        return -1;
    }
    struct sb text = {0};
    int result;
    if (column->type == CFG_TYPE_ARRAY) {
        result = array_from_json(info, column, value, &text, error);
    } else {
        result = info->from_json(info, column, value, &text, error);
        if (result == 0)
            result = check_choices(info, column, sb_text(&text), error);
    }
    if (result < 0) {
        sb_free(&text);
        error->outcome = RS_UNPROCESSABLE;
        snprintf(error->field, sizeof error->field, "%s", column->name);
        return -1;
    }
    *out = sb_take(&text);
    return 0;
}
