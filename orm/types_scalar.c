/*
 * orm/types_scalar.c — parsers for the non-temporal scalar types: integers, booleans,
 * numeric/real/double, strings (varchar, text, email), uuid, json/jsonb and bytea. Each turns
 * query-string text or a JSON value into the canonical PostgreSQL input text of its type.
 * Dates, times and intervals are in types_time.c.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "orm/orm_internal_types.h"

/* ---- integers ---------------------------------------------------------------------------- */

static int integer_range_error(const struct orm_type_info *info, struct rs_error *error,
                               const char *shown)
{
    rs_error_set(error, 0, NULL, "expected an integer between %lld and %lld, got %s", info->minimum,
                 info->maximum, shown);
    return -1;
}

/* Strict: an optional '-' and decimal digits only. No spaces, no '+', no "1.0", no "0x". */
int orm_parse_integer_text(const struct orm_type_info *info, const struct cfg_column *column,
                           const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    const char *digits = text[0] == '-' ? text + 1 : text;
    bool is_integer = *digits && strspn(digits, "0123456789") == strlen(digits);
    errno = 0;
    long long value = is_integer ? strtoll(text, NULL, 10) : 0;
    if (!is_integer || errno == ERANGE || value < info->minimum || value > info->maximum) {
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
            orm_format_double(real, shown, sizeof shown);
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

/* The shape of a decimal literal: -?(D+.?D*|.D+)([eE][+-]?D+)? — what PostgreSQL's numeric
 * and float input accept, minus spaces, '+', NaN and Infinity. */
struct decimal_parts {
    const char *integer, *fraction; /* digit runs (may be empty) */
    size_t integer_length, fraction_length;
    long exponent;
};

static bool decimal_split(const char *text, struct decimal_parts *parts)
{
    const char *p = text;
    if (*p == '-')
        p++;
    parts->integer = p;
    parts->integer_length = strspn(p, "0123456789");
    p += parts->integer_length;
    parts->fraction = p;
    parts->fraction_length = 0;
    if (*p == '.') {
        parts->fraction = ++p;
        parts->fraction_length = strspn(p, "0123456789");
        p += parts->fraction_length;
    }
    if (parts->integer_length + parts->fraction_length == 0)
        return false;
    parts->exponent = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        bool is_negative = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        size_t exponent_digits = strspn(p, "0123456789");
        if (exponent_digits == 0 || exponent_digits > 6)
            return false;
        parts->exponent = strtol(p, NULL, 10) * (is_negative ? -1 : 1);
        p += exponent_digits;
    }
    return *p == '\0';
}

/* Whether the value, rounded to `scale` fractional digits as PostgreSQL does (half away from
 * zero), has at most `integer_limit` digits before the point. */
static bool decimal_fits(const struct decimal_parts *parts, int scale, int integer_limit)
{
    /* all significant digits in one run, with the point after `point` of them */
    size_t total = parts->integer_length + parts->fraction_length;
    char *digits = xmalloc(total + 1);
    memcpy(digits, parts->integer, parts->integer_length);
    memcpy(digits + parts->integer_length, parts->fraction, parts->fraction_length);
    long point = (long)parts->integer_length + parts->exponent;
    size_t first = 0;
    while (first < total && digits[first] == '0')
        first++;
    bool fits;
    if (first == total) {
        fits = true; /* zero */
    } else {
        long integer_digits = point - (long)first; /* may be <= 0 */
        /* rounding at position point + scale can carry into a new leading digit only when
         * every kept digit is a 9 */
        long keep = point + scale; /* digits [0, keep) survive the rounding */
        if (keep >= 0 && keep < (long)total && digits[keep] >= '5') {
            bool all_nines = true;
            for (long i = (long)first; i < keep; i++)
                all_nines = all_nines && digits[i] == '9';
            if (all_nines)
                integer_digits = point - (keep > (long)first ? (long)first : keep) + 1;
        }
        fits = integer_digits <= integer_limit;
    }
    free(digits);
    return fits;
}

int orm_parse_decimal_text(const struct orm_type_info *info, const struct cfg_column *column,
                           const char *text, struct sb *out, struct rs_error *error)
{
    struct decimal_parts parts;
    if (!decimal_split(text, &parts))
        return orm_type_fail_text(info, text, error);
    bool has_nonzero_digit = false;
    for (size_t i = 0; i < parts.integer_length; i++)
        has_nonzero_digit = has_nonzero_digit || parts.integer[i] != '0';
    for (size_t i = 0; i < parts.fraction_length; i++)
        has_nonzero_digit = has_nonzero_digit || parts.fraction[i] != '0';
    char shown[64];
    orm_text_for_message(text, shown, sizeof shown, 40);
    if (info->type == CFG_TYPE_REAL) {
        errno = 0;
        float value = strtof(text, NULL);
        if (isinf(value) || (value == 0.0f && has_nonzero_digit)) {
            rs_error_set(error, 0, NULL, "%s is out of range for a real", shown);
            return -1;
        }
    } else if (info->type == CFG_TYPE_DOUBLE) {
        errno = 0;
        double value = strtod(text, NULL);
        if (isinf(value) || (value == 0.0 && has_nonzero_digit)) {
            rs_error_set(error, 0, NULL, "%s is out of range for a double", shown);
            return -1;
        }
    } else {
        if (parts.exponent > 1000 || parts.exponent < -1000) {
            rs_error_set(error, 0, NULL, "%s is out of range for a numeric", shown);
            return -1;
        }
        if (column->precision > 0 &&
            !decimal_fits(&parts, column->scale, column->precision - column->scale)) {
            rs_error_set(error, 0, NULL,
                         "%s is out of range: numeric(%d,%d) holds at most %d digit%s before "
                         "the point",
                         shown, column->precision, column->scale, column->precision - column->scale,
                         column->precision - column->scale == 1 ? "" : "s");
            return -1;
        }
    }
    sb_append(out, text);
    return 0;
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
        orm_format_double(json_real_value(value), text, sizeof text);
    } else if (json_is_string(value) && info->type == CFG_TYPE_NUMERIC) {
        return orm_parse_string_json(info, column, value, out, error);
    } else {
        return orm_type_fail_json(info, value, error);
    }
    return orm_parse_decimal_text(info, column, text, out, error);
}

/* ---- strings ----------------------------------------------------------------------------- */

/* Pragmatic, not RFC 5322: one '@', a non-empty local part, a dotted domain without empty
 * labels, no spaces or control characters, at most 254 bytes. */
static bool email_is_plausible(const char *text)
{
    size_t length = strlen(text);
    const char *at = strchr(text, '@');
    if (length > 254 || !at || at == text || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= ' ' || *p == 0x7F)
            return false;
    const char *domain = at + 1;
    size_t domain_length = strlen(domain);
    if (domain_length < 3 || !strchr(domain, '.') || domain[0] == '.' ||
        domain[domain_length - 1] == '.' || strstr(domain, ".."))
        return false;
    return true;
}

int orm_parse_string_text(const struct orm_type_info *info, const struct cfg_column *column,
                          const char *text, struct sb *out, struct rs_error *error)
{
    long length = orm_utf8_length(text, strlen(text));
    if (length < 0) {
        rs_error_set(error, 0, NULL, "expected UTF-8 text");
        return -1;
    }
    if (column->length > 0 && length > column->length) {
        rs_error_set(error, 0, NULL, "expected at most %d characters, got %ld", column->length,
                     length);
        return -1;
    }
    if (info->type == CFG_TYPE_EMAIL && !email_is_plausible(text))
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
        rs_error_set(error, 0, NULL, "text may not contain NUL characters (\\u0000)");
        return -1;
    }
    return info->from_text(info, column, text, out, error);
}

/* ---- uuid -------------------------------------------------------------------------------- */

int orm_parse_uuid_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(text) != sizeof pattern - 1)
        return orm_type_fail_text(info, text, error);
    char canonical[sizeof pattern];
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        char c = text[i];
        if (pattern[i] == '-' ? c != '-' : !strchr("0123456789abcdefABCDEF", c) || !c)
            return orm_type_fail_text(info, text, error);
        canonical[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    canonical[sizeof pattern - 1] = '\0';
    sb_append(out, canonical);
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
                rs_error_set(error, 0, NULL, "expected JSON with UTF-8 keys");
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
            rs_error_set(error, 0, NULL, "JSON strings may not contain NUL characters (\\u0000)");
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
        orm_format_double(json_real_value(value), number, sizeof number);
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
