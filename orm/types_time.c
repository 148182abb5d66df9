/*
 * orm/types_time.c — parsers for timestamp, timestamptz, date, time and interval request
 * values. The grammar itself is base/values.c's (shared with config/'s defaults): strict ISO
 * 8601 in, the same value spelled canonically out, which PostgreSQL reads whatever its
 * DateStyle. What is decided here is what an offset means for each column type.
 *
 * Decisions: a timestamptz without an offset is taken as UTC (the API speaks UTC); a
 * timestamp (without time zone) given with an offset is converted to UTC wall time, because
 * PostgreSQL would otherwise silently drop the offset; an interval may also be a plain number
 * of seconds.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "orm/orm_internal_types.h"

/* MALFORMED becomes "expected <what the row says>, got ..."; OUT_OF_RANGE keeps the
 * grammar's own message. */
static int grammar_result(const struct orm_type_info *info, const char *text, int result,
                          struct rs_error *error)
{
    if (result == RS_VALUE_MALFORMED)
        return orm_type_fail_text(info, text, error);
    return result == RS_VALUE_OK ? 0 : -1;
}

int orm_parse_timestamp_text(const struct orm_type_info *info, const struct cfg_column *column,
                             const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    enum rs_timestamp_zone zone = info->type == CFG_TYPE_TIMESTAMP ? RS_ZONE_TO_UTC : RS_ZONE_KEPT;
    return grammar_result(info, text, rs_parse_timestamp(text, zone, out, error), error);
}

int orm_parse_date_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    return grammar_result(info, text, rs_parse_date(text, out), error);
}

int orm_parse_time_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    return grammar_result(info, text, rs_parse_time(text, out), error);
}

int orm_parse_interval_text(const struct orm_type_info *info, const struct cfg_column *column,
                            const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    return grammar_result(info, text, rs_parse_interval(text, out), error);
}

int orm_parse_interval_json(const struct orm_type_info *info, const struct cfg_column *column,
                            const json_t *value, struct sb *out, struct rs_error *error)
{
    char text[64];
    if (json_is_integer(value))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(value));
    else if (json_is_real(value) && fabs(json_real_value(value)) < 1e15)
        snprintf(text, sizeof text, "%.6f", json_real_value(value)); /* microseconds */
    else if (json_is_real(value))
        return orm_type_fail_json(info, value, error);
    else
        return orm_parse_string_json(info, column, value, out, error);
    if (strchr(text, '.')) {
        size_t length = strlen(text);
        while (text[length - 1] == '0')
            text[--length] = '\0';
        if (text[length - 1] == '.')
            text[--length] = '\0';
    }
    return orm_parse_interval_text(info, column, text, out, error);
}
