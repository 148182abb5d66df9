/*
 * config/config_literals.c — checks a column's default and choices against its type before
 * they ever reach PostgreSQL: the right JSON type, integer ranges, string lengths, and the
 * shape (not the full grammar) of dates, times, timestamps, uuids, emails and base64. A
 * literal PostgreSQL would refuse at migration time is a config error at start-up instead.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- shapes ------------------------------------------------------------------------------ */

static bool take_digits(const char **p, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        *value = *value * 10 + ((*p)[i] - '0');
    }
    *p += count;
    return true;
}

static bool take_date(const char **p)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, month, day;
    if (!take_digits(p, 4, &year) || *(*p)++ != '-' || !take_digits(p, 2, &month) ||
        *(*p)++ != '-' || !take_digits(p, 2, &day))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > days[month - 1])
        return false;
    bool is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return !(month == 2 && day == 29 && !is_leap);
}

/* HH:MM[:SS[.fraction]] */
static bool take_time(const char **p)
{
    int hour, minute, second = 0;
    if (!take_digits(p, 2, &hour) || *(*p)++ != ':' || !take_digits(p, 2, &minute))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!take_digits(p, 2, &second))
            return false;
        if (**p == '.') {
            (*p)++;
            if (!isdigit((unsigned char)**p))
                return false;
            while (isdigit((unsigned char)**p))
                (*p)++;
        }
    }
    return hour <= 23 && minute <= 59 && second <= 60;
}

/* Z, or +HH[:MM] / -HH[:MM] */
static bool take_offset(const char **p)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    (*p)++;
    int hours, minutes = 0;
    if (!take_digits(p, 2, &hours))
        return false;
    if (**p == ':')
        (*p)++;
    if (isdigit((unsigned char)**p) && !take_digits(p, 2, &minutes))
        return false;
    return hours <= 15 && minutes <= 59;
}

static bool is_date(const char *text)
{
    return take_date(&text) && !*text;
}

static bool is_time(const char *text)
{
    return take_time(&text) && !*text;
}

/* A date, optionally followed by T or a space and a time, and (with_offset) an offset. */
static bool is_timestamp(const char *text, bool with_offset)
{
    if (!take_date(&text))
        return false;
    if (!*text)
        return true;
    if (*text != 'T' && *text != 't' && *text != ' ')
        return false;
    text++;
    if (!take_time(&text))
        return false;
    if (*text && with_offset && !take_offset(&text))
        return false;
    return !*text;
}

static bool is_uuid(const char *text)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        if (g > 0 && *text++ != '-')
            return false;
        for (int i = 0; i < groups[g]; i++)
            if (!isxdigit((unsigned char)*text++))
                return false;
    }
    return !*text;
}

static bool is_email(const char *text)
{
    const char *at = strchr(text, '@');
    if (!at || at == text || strchr(at + 1, '@'))
        return false;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || !dot[1])
        return false;
    for (const char *p = text; *p; p++)
        if (isspace((unsigned char)*p))
            return false;
    return true;
}

/* Characters, not bytes: varchar(n) counts characters. */
static size_t utf8_length(const char *text)
{
    size_t count = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        count += (*p & 0xC0) != 0x80;
    return count;
}

/* ---- the check --------------------------------------------------------------------------- */

static const char *expected_text(enum cfg_type type)
{
    switch (type) {
    case CFG_TYPE_VARCHAR:
    case CFG_TYPE_TEXT:
        return "a string";
    case CFG_TYPE_EMAIL:
        return "an email address";
    case CFG_TYPE_INTEGER:
    case CFG_TYPE_SERIAL:
        return "an integer between -2147483648 and 2147483647";
    case CFG_TYPE_SMALLINT:
        return "an integer between -32768 and 32767";
    case CFG_TYPE_BIGINT:
    case CFG_TYPE_BIGSERIAL:
        return "an integer";
    case CFG_TYPE_NUMERIC:
    case CFG_TYPE_REAL:
    case CFG_TYPE_DOUBLE:
        return "a number";
    case CFG_TYPE_BOOLEAN:
        return "true or false";
    case CFG_TYPE_TIMESTAMP:
        return "a timestamp like \"2024-01-31T12:00:00\" (no offset)";
    case CFG_TYPE_TIMESTAMPTZ:
        return "a timestamp like \"2024-01-31T12:00:00Z\"";
    case CFG_TYPE_DATE:
        return "a date like \"2024-01-31\"";
    case CFG_TYPE_TIME:
        return "a time like \"12:30:00\"";
    case CFG_TYPE_INTERVAL:
        return "an interval like \"PT1H30M\" or a number of seconds";
    case CFG_TYPE_UUID:
        return "a uuid like \"123e4567-e89b-12d3-a456-426614174000\"";
    case CFG_TYPE_BYTEA:
        return "a base64 string";
    case CFG_TYPE_JSON:
    case CFG_TYPE_JSONB:
    case CFG_TYPE_ARRAY:
    case CFG_TYPE_FOREIGN_KEY:
    case CFG_TYPE_COUNT:
        break;
    }
    return "a JSON value";
}

static bool fits(enum cfg_type type, const json_t *value)
{
    const char *text = json_string_value(value);
    json_int_t number = json_is_integer(value) ? json_integer_value(value) : 0;
    switch (type) {
    case CFG_TYPE_VARCHAR:
    case CFG_TYPE_TEXT:
        return text != NULL;
    case CFG_TYPE_EMAIL:
        return text && is_email(text);
    case CFG_TYPE_INTEGER:
    case CFG_TYPE_SERIAL:
        return json_is_integer(value) && number >= -2147483648LL && number <= 2147483647LL;
    case CFG_TYPE_SMALLINT:
        return json_is_integer(value) && number >= -32768 && number <= 32767;
    case CFG_TYPE_BIGINT:
    case CFG_TYPE_BIGSERIAL:
        return json_is_integer(value);
    case CFG_TYPE_NUMERIC:
    case CFG_TYPE_REAL:
    case CFG_TYPE_DOUBLE:
        return json_is_number(value);
    case CFG_TYPE_BOOLEAN:
        return json_is_boolean(value);
    case CFG_TYPE_TIMESTAMP:
        return text && is_timestamp(text, false);
    case CFG_TYPE_TIMESTAMPTZ:
        return text && is_timestamp(text, true);
    case CFG_TYPE_DATE:
        return text && is_date(text);
    case CFG_TYPE_TIME:
        return text && is_time(text);
    case CFG_TYPE_INTERVAL:
        return (text && *text) || json_is_number(value);
    case CFG_TYPE_UUID:
        return text && is_uuid(text);
    case CFG_TYPE_BYTEA:
        return text && rs_base64_is_shaped(text, strlen(text), RS_BASE64_STANDARD);
    case CFG_TYPE_JSON:
    case CFG_TYPE_JSONB:
        return !json_is_null(value);
    case CFG_TYPE_ARRAY:
    case CFG_TYPE_FOREIGN_KEY:
    case CFG_TYPE_COUNT:
        break;
    }
    return false;
}

bool cfg_check_literal(struct cfg_loader *loader, const char *path, const struct cfg_column *column,
                       enum cfg_type value_type, const json_t *value, bool is_default)
{
    if (!fits(value_type, value)) {
        char shown[80];
        cfg_describe(value, shown, sizeof shown);
        const char *keyword = "";
        if (is_default && cfg_is_time_type(value_type) && column->type != CFG_TYPE_ARRAY)
            keyword = " or \"now\"";
        else if (is_default && value_type == CFG_TYPE_UUID && column->type != CFG_TYPE_ARRAY)
            keyword = " or \"uuid4\"";
        cfg_error(loader, path, "expected %s%s, got %s", expected_text(value_type), keyword, shown);
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
