/*
 * orm/types_time.c — parsers for timestamp, timestamptz, date, time and interval. Input is
 * strict ISO 8601 (what JavaScript's toISOString and Python's isoformat write); the output is
 * the same value spelled canonically, which PostgreSQL reads whatever its DateStyle.
 *
 * Decisions: a timestamptz without an offset is taken as UTC (the API speaks UTC); a
 * timestamp (without time zone) given with an offset is converted to UTC wall time, because
 * PostgreSQL would otherwise silently drop the offset; an interval may also be a plain number
 * of seconds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_internal_types.h"

struct moment {
    int year, month, day;
    int hour, minute, second;
    char fraction[16]; /* "" or ".123456" */
    bool has_offset;
    int offset_minutes; /* east of UTC */
};

static bool read_digits(const char **p, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        *value = *value * 10 + (c - '0');
    }
    *p += count;
    return true;
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* YYYY-MM-DD, years 0001 to 9999 */
static bool parse_date(const char **p, struct moment *m)
{
    if (!read_digits(p, 4, &m->year) || *(*p)++ != '-' || !read_digits(p, 2, &m->month) ||
        *(*p)++ != '-' || !read_digits(p, 2, &m->day))
        return false;
    return m->year >= 1 && m->month >= 1 && m->month <= 12 && m->day >= 1 &&
           m->day <= days_in_month(m->year, m->month);
}

/* HH:MM[:SS[.f]] with 1 to 9 fractional digits (PostgreSQL rounds past microseconds) */
static bool parse_clock(const char **p, struct moment *m)
{
    m->second = 0;
    m->fraction[0] = '\0';
    if (!read_digits(p, 2, &m->hour) || *(*p)++ != ':' || !read_digits(p, 2, &m->minute))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!read_digits(p, 2, &m->second))
            return false;
        if (**p == '.') {
            size_t digits = strspn(*p + 1, "0123456789");
            if (digits < 1 || digits > 9)
                return false;
            memcpy(m->fraction, *p, digits + 1);
            m->fraction[digits + 1] = '\0';
            *p += digits + 1;
        }
    }
    return m->hour <= 23 && m->minute <= 59 && m->second <= 59;
}

/* Z, ±HH, ±HH:MM or ±HHMM, up to ±15:59 as PostgreSQL allows */
static bool parse_offset(const char **p, struct moment *m)
{
    m->has_offset = false;
    m->offset_minutes = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        m->has_offset = true;
        return true;
    }
    if (**p != '+' && **p != '-')
        return true;
    int sign = *(*p)++ == '-' ? -1 : 1;
    int hours, minutes = 0;
    if (!read_digits(p, 2, &hours))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!read_digits(p, 2, &minutes))
            return false;
    } else if (**p >= '0' && **p <= '9' && !read_digits(p, 2, &minutes)) {
        return false;
    }
    if (hours > 15 || minutes > 59)
        return false;
    m->has_offset = true;
    m->offset_minutes = sign * (hours * 60 + minutes);
    return true;
}

/* Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, exact. */
static long days_from_civil(long year, int month, int day)
{
    year -= month <= 2;
    long era = (year >= 0 ? year : year - 399) / 400;
    long year_of_era = year - era * 400;
    long day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(long days, struct moment *m)
{
    days += 719468;
    long era = (days >= 0 ? days : days - 146096) / 146097;
    long day_of_era = days - era * 146097;
    long year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    long shifted_month = (5 * day_of_year + 2) / 153;
    m->day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    m->month = (int)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    m->year = (int)(year_of_era + era * 400 + (m->month <= 2));
}

/* Moves the wall time by -offset so it reads as UTC. */
static void shift_to_utc(struct moment *m)
{
    long minutes = days_from_civil(m->year, m->month, m->day) * 1440 + m->hour * 60 + m->minute -
                   m->offset_minutes;
    long days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
    long minute_of_day = minutes - days * 1440;
    civil_from_days(days, m);
    m->hour = (int)(minute_of_day / 60);
    m->minute = (int)(minute_of_day % 60);
    m->offset_minutes = 0;
}

int orm_parse_timestamp_text(const struct orm_type_info *info, const struct cfg_column *column,
                             const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    struct moment m;
    const char *p = text;
    if (!parse_date(&p, &m) || (*p != 'T' && *p != ' '))
        return orm_type_fail_text(info, text, error);
    p++;
    if (!parse_clock(&p, &m) || !parse_offset(&p, &m) || *p)
        return orm_type_fail_text(info, text, error);
    if (info->type == CFG_TYPE_TIMESTAMP) {
        if (m.offset_minutes != 0)
            shift_to_utc(&m);
        if (m.year < 1 || m.year > 9999) {
            rs_error_set(error, 0, NULL, "timestamp out of range");
            return -1;
        }
        sb_appendf(out, "%04d-%02d-%02dT%02d:%02d:%02d%s", m.year, m.month, m.day, m.hour, m.minute,
                   m.second, m.fraction);
        return 0;
    }
    int offset = m.offset_minutes < 0 ? -m.offset_minutes : m.offset_minutes;
    sb_appendf(out, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", m.year, m.month, m.day, m.hour,
               m.minute, m.second, m.fraction, m.offset_minutes < 0 ? '-' : '+', offset / 60,
               offset % 60);
    return 0;
}

int orm_parse_date_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    struct moment m;
    const char *p = text;
    if (!parse_date(&p, &m) || *p)
        return orm_type_fail_text(info, text, error);
    sb_appendf(out, "%04d-%02d-%02d", m.year, m.month, m.day);
    return 0;
}

int orm_parse_time_text(const struct orm_type_info *info, const struct cfg_column *column,
                        const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    struct moment m;
    const char *p = text;
    if (!parse_clock(&p, &m) || *p)
        return orm_type_fail_text(info, text, error);
    sb_appendf(out, "%02d:%02d:%02d%s", m.hour, m.minute, m.second, m.fraction);
    return 0;
}

/* One signed decimal number: -?D+(.D+)? ; returns its length or 0. */
static size_t number_length(const char *p)
{
    size_t length = *p == '-' ? 1 : 0;
    size_t digits = strspn(p + length, "0123456789");
    if (digits == 0)
        return 0;
    length += digits;
    if (p[length] == '.') {
        size_t fraction = strspn(p + length + 1, "0123456789");
        if (fraction == 0)
            return 0;
        length += fraction + 1;
    }
    return length;
}

/* ISO 8601 durations the way PostgreSQL reads and (with IntervalStyle iso_8601) writes them:
 * P[nY][nM][nW][nD][T[nH][nM][nS]], at least one part, parts in that order, each number may be
 * signed and fractional ("P-1D", "PT0.5S"). */
static bool is_iso_duration(const char *text)
{
    const char *p = text;
    if (*p++ != 'P')
        return false;
    static const char date_units[] = "YMWD";
    static const char time_units[] = "HMS";
    const char *units = date_units;
    size_t next_unit = 0;
    int parts = 0;
    bool in_time = false;
    while (*p) {
        if (*p == 'T') {
            if (in_time)
                return false;
            in_time = true;
            units = time_units;
            next_unit = 0;
            p++;
            if (!*p)
                return false;
            continue;
        }
        size_t length = number_length(p);
        if (length == 0)
            return false;
        p += length;
        const char *unit = *p ? strchr(units + next_unit, *p) : NULL;
        if (!unit)
            return false;
        next_unit = (size_t)(unit - units) + 1;
        parts++;
        p++;
    }
    return parts > 0;
}

int orm_parse_interval_text(const struct orm_type_info *info, const struct cfg_column *column,
                            const char *text, struct sb *out, struct rs_error *error)
{
    (void)column;
    size_t length = number_length(text);
    if (length > 0 && text[length] == '\0') {
        /* a plain number of seconds */
        sb_appendf(out, "PT%sS", text);
        return 0;
    }
    if (!is_iso_duration(text))
        return orm_type_fail_text(info, text, error);
    sb_append(out, text);
    return 0;
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
