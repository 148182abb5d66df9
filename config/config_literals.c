/*
 * config/config_literals.c — checks a column's default and choices against its type before
 * they ever reach PostgreSQL: the right JSON type, integer ranges, string lengths, and for
 * dates, times, timestamps, intervals, uuids, emails and decimals the same grammar request
 * values are parsed with (base/values.c). A literal PostgreSQL would refuse at migration time
 * is a config error at start-up instead.
 */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- one check per kind of literal ------------------------------------------------------- */

struct literal_rule;

/* Returns RS_VALUE_OK, RS_VALUE_MALFORMED (the caller reports "expected <rule->expected>"),
 * or RS_VALUE_OUT_OF_RANGE with error->message saying why. */
typedef int (*literal_check)(const struct literal_rule *rule, const struct cfg_column *column,
                             const json_t *value, struct rs_error *error);

/* One row per enum cfg_type: what a declared value of that type must be. orm/types.c holds
 * the rest of what a type is; config/ cannot see that table, so this is its half of a row. */
struct literal_rule {
    const char *expected; /* in "expected %s, got ..." */
    literal_check check;
    long long minimum, maximum;        /* check_integer */
    enum rs_decimal_kind decimal_kind; /* check_decimal */
    enum rs_timestamp_zone zone;       /* check_timestamp */
};

static int check_string(const struct literal_rule *rule, const struct cfg_column *column,
                        const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_string(value) ? RS_VALUE_OK : RS_VALUE_MALFORMED;
}

/* JSON integers only: 3.0 is a number a reader would not write for an integer default. */
static int check_integer(const struct literal_rule *rule, const struct cfg_column *column,
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
static int check_decimal(const struct literal_rule *rule, const struct cfg_column *column,
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

static int check_boolean(const struct literal_rule *rule, const struct cfg_column *column,
                         const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_boolean(value) ? RS_VALUE_OK : RS_VALUE_MALFORMED;
}

/* A default goes into the DDL as written, so an offset on a timestamp (which PostgreSQL would
 * drop) is refused rather than converted as a request value's is: rule->zone says which. */
static int check_timestamp(const struct literal_rule *rule, const struct cfg_column *column,
                           const json_t *value, struct rs_error *error)
{
    (void)column;
    const char *text = json_string_value(value);
    return text ? rs_parse_timestamp(text, rule->zone, NULL, error) : RS_VALUE_MALFORMED;
}

static int check_date(const struct literal_rule *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_date(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_time(const struct literal_rule *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_time(text, NULL) : RS_VALUE_MALFORMED;
}

/* A JSON number is a number of seconds; a string is the interval grammar. */
static int check_interval(const struct literal_rule *rule, const struct cfg_column *column,
                          const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    if (json_is_number(value))
        return RS_VALUE_OK;
    const char *text = json_string_value(value);
    return text ? rs_parse_interval(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_uuid(const struct literal_rule *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_uuid(text, NULL) : RS_VALUE_MALFORMED;
}

static int check_email(const struct literal_rule *rule, const struct cfg_column *column,
                       const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text ? rs_parse_email(text, NULL) : RS_VALUE_MALFORMED;
}

/* The shape only, not the unused bits: PostgreSQL's decode() reads either (base/base64.c). */
static int check_base64(const struct literal_rule *rule, const struct cfg_column *column,
                        const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    const char *text = json_string_value(value);
    return text && rs_base64_is_shaped(text, strlen(text), RS_BASE64_STANDARD) ? RS_VALUE_OK
                                                                               : RS_VALUE_MALFORMED;
}

static int check_json(const struct literal_rule *rule, const struct cfg_column *column,
                      const json_t *value, struct rs_error *error)
{
    (void)rule, (void)column, (void)error;
    return json_is_null(value) ? RS_VALUE_MALFORMED : RS_VALUE_OK;
}

#define INT32_RANGE .minimum = -2147483648LL, .maximum = 2147483647LL
#define INT64_RANGE .minimum = (-9223372036854775807LL - 1), .maximum = 9223372036854775807LL
#define INTEGER_WORDS "an integer between -2147483648 and 2147483647"

/* ARRAY and FOREIGN_KEY have no row: their values are checked as their value_type. */
static const struct literal_rule literal_rules[CFG_TYPE_COUNT] = {
    [CFG_TYPE_VARCHAR] = {.expected = "a string", .check = check_string},
    [CFG_TYPE_TEXT] = {.expected = "a string", .check = check_string},
    [CFG_TYPE_EMAIL] = {.expected = "an email address", .check = check_email},
    [CFG_TYPE_INTEGER] = {.expected = INTEGER_WORDS, .check = check_integer, INT32_RANGE},
    [CFG_TYPE_SERIAL] = {.expected = INTEGER_WORDS, .check = check_integer, INT32_RANGE},
    [CFG_TYPE_SMALLINT] = {.expected = "an integer between -32768 and 32767",
                           .check = check_integer,
                           .minimum = -32768,
                           .maximum = 32767},
    [CFG_TYPE_BIGINT] = {.expected = "an integer", .check = check_integer, INT64_RANGE},
    [CFG_TYPE_BIGSERIAL] = {.expected = "an integer", .check = check_integer, INT64_RANGE},
    [CFG_TYPE_NUMERIC] = {.expected = "a number",
                          .check = check_decimal,
                          .decimal_kind = RS_DECIMAL_NUMERIC},
    [CFG_TYPE_REAL] = {.expected = "a number",
                       .check = check_decimal,
                       .decimal_kind = RS_DECIMAL_REAL},
    [CFG_TYPE_DOUBLE] = {.expected = "a number",
                         .check = check_decimal,
                         .decimal_kind = RS_DECIMAL_DOUBLE},
    [CFG_TYPE_BOOLEAN] = {.expected = "true or false", .check = check_boolean},
    [CFG_TYPE_TIMESTAMP] = {.expected = "a timestamp like \"2024-01-31T12:00:00\" (no offset)",
                            .check = check_timestamp,
                            .zone = RS_ZONE_REFUSED},
    [CFG_TYPE_TIMESTAMPTZ] = {.expected = "a timestamp like \"2024-01-31T12:00:00Z\"",
                              .check = check_timestamp,
                              .zone = RS_ZONE_KEPT},
    [CFG_TYPE_DATE] = {.expected = "a date like \"2024-01-31\"", .check = check_date},
    [CFG_TYPE_TIME] = {.expected = "a time like \"12:30:00\"", .check = check_time},
    [CFG_TYPE_INTERVAL] = {.expected = "an interval like \"PT1H30M\" or a number of seconds",
                           .check = check_interval},
    [CFG_TYPE_UUID] = {.expected = "a uuid like \"123e4567-e89b-12d3-a456-426614174000\"",
                       .check = check_uuid},
    [CFG_TYPE_BYTEA] = {.expected = "a base64 string", .check = check_base64},
    [CFG_TYPE_JSON] = {.expected = "a JSON value", .check = check_json},
    [CFG_TYPE_JSONB] = {.expected = "a JSON value", .check = check_json},
};

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
    const struct literal_rule *rule = &literal_rules[value_type];
    char shown[80];
    cfg_describe(value, shown, sizeof shown);
    const char *keyword = "";
    if (is_default && cfg_is_time_type(value_type) && column->type != CFG_TYPE_ARRAY)
        keyword = " or \"now\"";
    else if (is_default && value_type == CFG_TYPE_UUID && column->type != CFG_TYPE_ARRAY)
        keyword = " or \"uuid4\"";
    cfg_error(loader, path, "expected %s%s, got %s", rule->check ? rule->expected : "a JSON value",
              keyword, shown);
}

bool cfg_check_literal(struct cfg_loader *loader, const char *path, const struct cfg_column *column,
                       enum cfg_type value_type, const json_t *value, bool is_default)
{
    const struct literal_rule *rule =
        (unsigned)value_type < CFG_TYPE_COUNT ? &literal_rules[value_type] : NULL;
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
