/*
 * orm/types_scalar.c — parsers for the non-temporal scalar types: integers, booleans,
 * numeric/real/double, strings (varchar, text, email), uuid, json/jsonb and bytea. Each turns
 * query-string text or a JSON value into the canonical PostgreSQL input text of its type; the
 * grammar of integers, decimals, uuids and emails is base/values.c's, shared with config/, and
 * what is left here is the JSON side and the messages. Dates, times and intervals are in
 * types_time.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "orm/orm_internal_types.h"

/* ---- integers ---------------------------------------------------------------------------- */

static int integer_range_error(const struct orm_type_info *info, struct rs_error *error,
                               const char *shown)
{
    rs_error_set(error, RS_FAILED, NULL, "expected an integer between %lld and %lld, got %s",
                 info->minimum, info->maximum, shown);
    return -1;
}

/* The grammar's integer (base/values.c): an optional '-' and decimal digits only. */
int orm_parse_integer_text(const struct orm_type_info *info, const struct cfg_column *column,
                           const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    long long value;
    if (rs_parse_integer(text, info->minimum, info->maximum, &value) != RS_VALUE_OK) {
        char shown[64];
        char quoted[70];
        orm_text_for_message(text, shown, sizeof shown, 40);
        snprintf(quoted, sizeof quoted, "\"%s\"", shown);
        return integer_range_error(info, error, quoted);
    }
    sb_appendf(out, "%lld", value);
    return 0;
}

/* JSON integers, and (a deliberate kindness to clients whose serialisers write 3.0) reals with
 * no fractional part; anything else, including numeric strings, is rejected. */
int orm_parse_integer_json(const struct orm_type_info *info, const struct cfg_column *column,
                           const json_t *value, struct sb *out, struct rs_error *error)
{
    (void)column;
    long long number;
    if (json_is_integer(value)) {
        number = json_integer_value(value);
    } else if (json_is_real(value)) {
        double real = json_real_value(value);
        if (!isfinite(real) || trunc(real) != real)
            return orm_type_fail_json(info, value, error);
        if (real < -9223372036854775808.0 || real >= 9223372036854775808.0) {
            char shown[40];
            rs_format_double(real, shown, sizeof shown);
            return integer_range_error(info, error, shown);
        }
        number = (long long)real;
    } else {
        return orm_type_fail_json(info, value, error);
    }
    if (number < info->minimum || number > info->maximum) {
        char shown[32];
        snprintf(shown, sizeof shown, "%lld", number);
        return integer_range_error(info, error, shown);
    }
    sb_appendf(out, "%lld", number);
    return 0;
}

/* ---- booleans ---------------------------------------------------------------------------- */

int orm_parse_boolean_text(const struct orm_type_info *info, const struct cfg_column *column,
                           const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    static const char *const truthy[] = {"true", "t", "1", "yes"};
    static const char *const falsy[] = {"false", "f", "0", "no"};
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        if (strcasecmp(text, truthy[i]) == 0) {
            sb_append(out, "true");
            return 0;
        }
        if (strcasecmp(text, falsy[i]) == 0) {
            sb_append(out, "false");
            return 0;
        }
    }
    return orm_type_fail_text(info, text, error);
}

int orm_parse_boolean_json(const struct orm_type_info *info, const struct cfg_column *column,
                           const json_t *value, struct sb *out, struct rs_error *error)
{
    (void)column;
    if (!json_is_boolean(value))
        return orm_type_fail_json(info, value, error);
    sb_append(out, json_is_true(value) ? "true" : "false");
    return 0;
}

/* ---- numeric, real, double --------------------------------------------------------------- */

/* The grammar's decimal (base/values.c); a column's precision and scale bound a numeric. */
int orm_parse_decimal_text(const struct orm_type_info *info, const struct cfg_column *column,
                           const char *text, struct sb *out, struct rs_error *error)
{
    int result =
        rs_parse_decimal(text, info->decimal_kind, column->precision, column->scale, out, error);
    if (result == RS_VALUE_MALFORMED)
        return orm_type_fail_text(info, text, error);
    return result == RS_VALUE_OK ? 0 : -1;
}

/* JSON numbers; numeric also takes a string holding a decimal, so values beyond a double's
 * precision ("12345678901234567890.01") arrive exactly. Reals are written in the shortest form
 * that reads back as the same double: 0.1 stays "0.1". */
int orm_parse_decimal_json(const struct orm_type_info *info, const struct cfg_column *column,
                           const json_t *value, struct sb *out, struct rs_error *error)
{
    char text[64];
    if (json_is_integer(value)) {
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(value));
    } else if (json_is_real(value)) {
        rs_format_double(json_real_value(value), text, sizeof text);
    } else if (json_is_string(value) && info->type == CFG_TYPE_NUMERIC) {
        return orm_parse_string_json(info, column, value, out, error);
    } else {
        return orm_type_fail_json(info, value, error);
    }
    return orm_parse_decimal_text(info, column, text, out, error);
}

/* ---- strings ----------------------------------------------------------------------------- */

int orm_parse_string_text(const struct orm_type_info *info, const struct cfg_column *column,
                          const char *text, struct sb *out, struct rs_error *error)
{
    long length = orm_utf8_length(text, strlen(text));
    if (length < 0) {
        rs_error_set(error, RS_FAILED, NULL, "expected UTF-8 text");
        return -1;
    }
    if (column->length > 0 && length > column->length) {
        rs_error_set(error, RS_FAILED, NULL, "expected at most %d characters, got %ld",
                     column->length, length);
        return -1;
    }
    if (info->type == CFG_TYPE_EMAIL && rs_parse_email(text, NULL) != RS_VALUE_OK)
        return orm_type_fail_text(info, text, error);
    sb_append(out, text);
    return 0;
}

/* PostgreSQL text cannot hold U+0000, so a string carrying one is refused here with a clear
 * message rather than failing in the database. */
int orm_parse_string_json(const struct orm_type_info *info, const struct cfg_column *column,
                          const json_t *value, struct sb *out, struct rs_error *error)
{
    if (!json_is_string(value))
        return orm_type_fail_json(info, value, error);
    const char *text = json_string_value(value);
    if (json_string_length(value) != strlen(text)) {
        rs_error_set(error, RS_FAILED, NULL, "text may not contain NUL characters (\\u0000)");
        return -1;
    }
    return info->from_text(info, column, text, out, error);
}

/* ---- uuid -------------------------------------------------------------------------------- */

int orm_parse_uuid_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    if (rs_parse_uuid(text, out) != RS_VALUE_OK)
        return orm_type_fail_text(info, text, error);
    return 0;
}

/* ---- json, jsonb ------------------------------------------------------------------------- */

/* A compact serialiser instead of json_dumps: jansson writes reals with 17 significant digits
 * (0.1 becomes 0.10000000000000001), which would alter the user's data. */
static int json_write(const json_t *value, struct sb *out, struct rs_error *error)
{
    char number[64];
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *member;
        bool is_first = true;
        sb_append_char(out, '{');
        json_object_foreach((json_t *)value, key, member)
        {
            json_t *name = json_string(key);
            if (!name) {
                rs_error_set(error, RS_FAILED, NULL, "expected JSON with UTF-8 keys");
                return -1;
            }
            if (!is_first)
                sb_append_char(out, ',');
            is_first = false;
            int result = json_write(name, out, error);
            json_decref(name);
            sb_append_char(out, ':');
            if (result < 0 || json_write(member, out, error) < 0)
                return -1;
        }
        sb_append_char(out, '}');
        return 0;
    }
    case JSON_ARRAY: {
        size_t index;
        json_t *item;
        sb_append_char(out, '[');
        json_array_foreach(value, index, item)
        {
            if (index > 0)
                sb_append_char(out, ',');
            if (json_write(item, out, error) < 0)
                return -1;
        }
        sb_append_char(out, ']');
        return 0;
    }
    case JSON_STRING: {
        const char *text = json_string_value(value);
        size_t length = json_string_length(value);
        if (length != strlen(text)) {
            rs_error_set(error, RS_FAILED, NULL,
                         "JSON strings may not contain NUL characters (\\u0000)");
            return -1;
        }
        sb_append_char(out, '"');
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
            if (*p == '"' || *p == '\\')
                sb_appendf(out, "\\%c", *p);
            else if (*p < 0x20)
                sb_appendf(out, "\\u%04x", *p);
            else
                sb_append_char(out, (char)*p);
        }
        sb_append_char(out, '"');
        return 0;
    }
    case JSON_INTEGER:
        sb_appendf(out, "%lld", (long long)json_integer_value(value));
        return 0;
    case JSON_REAL:
        rs_format_double(json_real_value(value), number, sizeof number);
        sb_append(out, number);
        return 0;
    case JSON_TRUE:
        sb_append(out, "true");
        return 0;
    case JSON_FALSE:
        sb_append(out, "false");
        return 0;
    case JSON_NULL:
        sb_append(out, "null");
        return 0;
    }
    return -1;
}

int orm_parse_json_json(const struct orm_type_info *info, const struct cfg_column *column,
                        const json_t *value, struct sb *out, struct rs_error *error)
{
    (void)info;
    (void)column;
    return json_write(value, out, error);
}

int orm_parse_json_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    json_error_t parse_error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &parse_error);
    if (!value)
        return orm_type_fail_text(info, text, error);
    int result = orm_parse_json_json(info, column, value, out, error);
    json_decref(value);
    return result;
}

/* ---- bytea ------------------------------------------------------------------------------- */

/* Strict RFC 4648 base64 (base/base64.c): standard alphabet, padding required, no whitespace,
 * and unused bits zero (so each byte string has exactly one accepted spelling). Output:
 * PostgreSQL's hex form "\x0a1b...". */
int orm_parse_bytea_text(const struct orm_type_info *info, const struct cfg_column *column,
                         const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    static const char hex[] = "0123456789abcdef";
    unsigned char *bytes;
    size_t length;
    if (rs_base64_decode(text, strlen(text), RS_BASE64_STANDARD, &bytes, &length) < 0)
        return orm_type_fail_text(info, text, error);
    sb_append(out, "\\x");
    for (size_t i = 0; i < length; i++) {
        char pair[2] = {hex[bytes[i] >> 4], hex[bytes[i] & 15]};
        sb_append_n(out, pair, 2);
    }
    free(bytes);
    return 0;
}
