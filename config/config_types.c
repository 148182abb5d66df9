/*
 * config/config_types.c — config's one table of column types: per enum cfg_type its spelling,
 * its family, the keyword a default may use instead of a literal, and the rule its defaults
 * and choices are checked with before they ever reach PostgreSQL: the right JSON type, integer
 * ranges, string lengths, and for dates, times, timestamps, intervals, uuids, emails and
 * decimals the same grammar request values are parsed with (base/values.c). A literal
 * PostgreSQL would refuse at migration time is a config error at start-up instead.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- one check per kind of literal ------------------------------------------------------- */
/* Alike by design: each is named by rows of the table below and takes the same arguments. */

static int check_string(const struct cfg_type_row *rule, const struct cfg_column *column,
                        const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_string(value) ? RS_VALUE_OK : RS_VALUE_MALFORMED;
}

/* JSON integers only: 3.0 is a number a reader would not write for an integer default. */
static int check_integer(const struct cfg_type_row *rule, const struct cfg_column *column,
                         const json_t *value, struct rs_error *error)
{
    (void)column, (void)error;
    if (!json_is_integer(value))
        return RS_VALUE_MALFORMED;
    json_int_t number = json_integer_value(value);
    return number >= rule->minimum && number <= rule->maximum ? RS_VALUE_OK : RS_VALUE_MALFORMED;
}

/* JSON numbers only (a numeric request value may be a string; a default is written as a
 * number), spelled as orm/ spells them, then the decimal grammar with the column's precision. */
static int check_decimal(const struct cfg_type_row *rule, const struct cfg_column *column,
                         const json_t *value, struct rs_error *error)
{
    char text[64];
    if (json_is_integer(value))
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    else if (json_is_real(value))
        rs_format_double(json_real_value(value), text, sizeof text);
    else
        return RS_VALUE_MALFORMED;
    return rs_parse_decimal(text, rule->decimal_kind, column->precision, column->scale, NULL,
                            error);
}

static int check_boolean(const struct cfg_type_row *rule, const struct cfg_column *column,
                         const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_boolean(value) ? RS_VALUE_OK : RS_VALUE_MALFORMED;
}

/* A default goes into the DDL as written, so an offset on a timestamp (which PostgreSQL would
 * drop) is refused rather than converted as a request value's is: rule->zone says which. */
static int check_timestamp(const struct cfg_type_row *rule, const struct cfg_column *column,
                           const json_t *value, struct rs_error *error)
{
    (void)column;
    const char *text = json_string_value(value);
    return text ? rs_parse_timestamp(text, rule->zone, NULL, error) : RS_VALUE_MALFORMED;
}

static int check_date(const struct cfg_type_row *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_date(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_time(const struct cfg_type_row *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_time(text, NULL) : RS_VALUE_MALFORMED;
}

/* A JSON number is a number of seconds; a string is the interval grammar. */
static int check_interval(const struct cfg_type_row *rule, const struct cfg_column *column,
                          const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    if (json_is_number(value))
        return RS_VALUE_OK;
    const char *text = json_string_value(value);
    return text ? rs_parse_interval(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_uuid(const struct cfg_type_row *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_uuid(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_email(const struct cfg_type_row *rule, const struct cfg_column *column,
                       const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_email(text, NULL) : RS_VALUE_MALFORMED;
}

/* The shape only, not the unused bits: PostgreSQL's decode() reads either (base/base64.c). */
static int check_base64(const struct cfg_type_row *rule, const struct cfg_column *column,
                        const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text && rs_base64_is_shaped(text, strlen(text), RS_BASE64_STANDARD) ? RS_VALUE_OK
                                                                               : RS_VALUE_MALFORMED;
}

static int check_json(const struct cfg_type_row *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_null(value) ? RS_VALUE_MALFORMED : RS_VALUE_OK;
}

#define INT32_RANGE .minimum = -2147483648LL, .maximum = 2147483647LL
#define INT64_RANGE .minimum = (-9223372036854775807LL - 1), .maximum = 9223372036854775807LL
#define INTEGER_WORDS "an integer between -2147483648 and 2147483647"

/* ---- the table --------------------------------------------------------------------------- */

#define INTEGER_TYPE .family = CFG_FAMILY_INTEGER, .check = check_integer
#define TIME_TYPE .family = CFG_FAMILY_TIME, .default_keyword = "now"

/* One row per type, a deliberate table (its rows repeat one shape). ARRAY and FOREIGN_KEY have
 * no check: their values are checked as their value_type. */
const struct cfg_type_row cfg_types[CFG_TYPE_COUNT] = {
    [CFG_TYPE_VARCHAR] = {.name = "varchar",
                          .family = CFG_FAMILY_TEXT,
                          .expected = "a string",
                          .check = check_string},
    [CFG_TYPE_TEXT] = {.name = "text",
                       .family = CFG_FAMILY_TEXT,
                       .expected = "a string",
                       .check = check_string},
    [CFG_TYPE_EMAIL] = {.name = "email",
                        .family = CFG_FAMILY_TEXT,
                        .expected = "an email address",
                        .check = check_email},
    [CFG_TYPE_INTEGER] = {.name = "integer", .expected = INTEGER_WORDS, INTEGER_TYPE, INT32_RANGE},
    [CFG_TYPE_SERIAL] = {.name = "serial", .expected = INTEGER_WORDS, INTEGER_TYPE, INT32_RANGE},
    [CFG_TYPE_SMALLINT] = {.name = "smallint",
                           .expected = "an integer between -32768 and 32767",
                           INTEGER_TYPE,
                           .minimum = -32768,
                           .maximum = 32767},
    [CFG_TYPE_BIGINT] = {.name = "bigint", .expected = "an integer", INTEGER_TYPE, INT64_RANGE},
    [CFG_TYPE_BIGSERIAL] = {.name = "bigserial",
                            .expected = "an integer",
                            INTEGER_TYPE,
                            INT64_RANGE},
    [CFG_TYPE_NUMERIC] = {.name = "numeric",
                          .expected = "a number",
                          .check = check_decimal,
                          .decimal_kind = RS_DECIMAL_NUMERIC},
    [CFG_TYPE_REAL] = {.name = "real",
                       .expected = "a number",
                       .check = check_decimal,
                       .decimal_kind = RS_DECIMAL_REAL},
    [CFG_TYPE_DOUBLE] = {.name = "double",
                         .expected = "a number",
                         .check = check_decimal,
                         .decimal_kind = RS_DECIMAL_DOUBLE},
    [CFG_TYPE_BOOLEAN] = {.name = "boolean", .expected = "true or false", .check = check_boolean},
    [CFG_TYPE_TIMESTAMP] = {.name = "timestamp",
                            TIME_TYPE,
                            .expected = "a timestamp like \"2024-01-31T12:00:00\" (no offset)",
                            .check = check_timestamp,
                            .zone = RS_ZONE_REFUSED},
    [CFG_TYPE_TIMESTAMPTZ] = {.name = "timestamptz",
                              TIME_TYPE,
                              .expected = "a timestamp like \"2024-01-31T12:00:00Z\"",
                              .check = check_timestamp,
                              .zone = RS_ZONE_KEPT},
    [CFG_TYPE_DATE] = {.name = "date",
                       TIME_TYPE,
                       .expected = "a date like \"2024-01-31\"",
                       .check = check_date},
    [CFG_TYPE_TIME] = {.name = "time",
                       TIME_TYPE,
                       .expected = "a time like \"12:30:00\"",
                       .check = check_time},
    [CFG_TYPE_INTERVAL] = {.name = "interval",
                           .expected = "an interval like \"PT1H30M\" or a number of seconds",
                           .check = check_interval},
    [CFG_TYPE_UUID] = {.name = "uuid",
                       .default_keyword = "uuid4",
                       .expected = "a uuid like \"123e4567-e89b-12d3-a456-426614174000\"",
                       .check = check_uuid},
    [CFG_TYPE_BYTEA] = {.name = "bytea", .expected = "a base64 string", .check = check_base64},
    [CFG_TYPE_JSON] = {.name = "json", .expected = "a JSON value", .check = check_json},
    [CFG_TYPE_JSONB] = {.name = "jsonb", .expected = "a JSON value", .check = check_json},
    [CFG_TYPE_ARRAY] = {.name = "array"},
    [CFG_TYPE_FOREIGN_KEY] = {.name = "foreign_key"},
};

/* ---- names and families ------------------------------------------------------------------ */

const char *cfg_type_name(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT ? cfg_types[type].name : NULL;
}

int cfg_type_from_name(const char *name, enum cfg_type *type)
{
    if (!name)
        return -1;
    for (int i = 0; i < CFG_TYPE_COUNT; i++) {
        if (strcmp(name, cfg_types[i].name) == 0) {
            *type = (enum cfg_type)i;
            return 0;
        }
    }
    return -1;
}

bool cfg_is_integer_type(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT && cfg_types[type].family == CFG_FAMILY_INTEGER;
}

bool cfg_is_text_type(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT && cfg_types[type].family == CFG_FAMILY_TEXT;
}

bool cfg_is_time_type(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT && cfg_types[type].family == CFG_FAMILY_TIME;
}

/* ---- the check --------------------------------------------------------------------------- */

/* Characters, not bytes: varchar(n) counts characters. */
static size_t utf8_length(const char *text)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        count += (*p & 0xC0) != 0x80;
    return count;
}

static void report_misfit(struct cfg_loader *loader, const char *path,
                          const struct cfg_column *column, enum cfg_type value_type,
                          const json_t *value, bool is_default)
{
    const struct cfg_type_row *rule = &cfg_types[value_type];
    char shown[80];
    cfg_describe(value, shown, sizeof shown);
    /* "now" and "uuid4" are keywords of a default, not of an array's elements */
    bool has_keyword = is_default && rule->default_keyword && column->type != CFG_TYPE_ARRAY;
    cfg_error(loader, path, "expected %s%s%s%s, got %s",
              rule->check ? rule->expected : "a JSON value", has_keyword ? " or \"" : "",
              has_keyword ? rule->default_keyword : "", has_keyword ? "\"" : "", shown);
}

bool cfg_check_literal(struct cfg_loader *loader, const char *path, const struct cfg_column *column,
                       enum cfg_type value_type, const json_t *value, bool is_default)
{
    const struct cfg_type_row *rule =
        (unsigned)value_type < CFG_TYPE_COUNT ? &cfg_types[value_type] : NULL;
    struct rs_error error = {0};
    int result =
        rule && rule->check ? rule->check(rule, column, value, &error) : RS_VALUE_MALFORMED;
    if (result == RS_VALUE_OUT_OF_RANGE) {
        cfg_error(loader, path, "%s", error.message);
        return false;
    }
    if (result != RS_VALUE_OK) {
        report_misfit(loader, path, column, rule ? value_type : CFG_TYPE_JSON, value, is_default);
        return false;
    }
    const char *text = json_string_value(value);
    if (text && column->length > 0 &&
        (value_type == CFG_TYPE_VARCHAR || value_type == CFG_TYPE_EMAIL) &&
        utf8_length(text) > (size_t)column->length) {
        char shown[80];
        cfg_describe(value, shown, sizeof shown);
        cfg_error(loader, path, "%s is longer than length %d", shown, column->length);
        return false;
    }
    return true;
}
