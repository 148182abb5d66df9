/*
 * base/values.c — the value grammar (base/base.h): what restable accepts as an integer in a
 * range, a decimal, a date, a time, a timestamp, an interval, a uuid and an email, and the
 * canonical PostgreSQL input text of each. config/ checks defaults and choices with it, orm/
 * parses request values with it, so a literal a config may declare and a value a client may
 * send are the same language. Pure functions; no I/O, no locale.
 *
 * Input is strict ISO 8601 for time (what JavaScript's toISOString and Python's isoformat
 * write); the output is the same value spelled so that PostgreSQL reads it whatever its
 * DateStyle. Decisions (docs/decisions.md, "One value grammar"): years 0001 to 9999, seconds
 * up to 59, 1 to 9 fractional digits, offsets up to ±15:59; a timestamptz without an offset
 * is UTC; an interval is an ISO 8601 duration or a plain number of seconds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void put(struct sb *out, const char *text)
{
    if (out)
        sb_append(out, text);
}

/* ---- integers ---------------------------------------------------------------------------- */

/* An optional '-' and decimal digits only: no spaces, no '+', no "1.0", no "0x". */
int rs_parse_integer(const char *text, long long minimum, long long maximum, long long *value)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    if (!*digits || strspn(digits, "0123456789") != strlen(digits))
        return RS_VALUE_MALFORMED;
    errno = 0;
    long long number = strtoll(text, NULL, 10);
    if (errno == ERANGE || number < minimum || number > maximum)
        return RS_VALUE_OUT_OF_RANGE;
    if (value)
        *value = number;
    return RS_VALUE_OK;
}

/* ---- decimals ---------------------------------------------------------------------------- */

void rs_format_double(double value, char *buffer, size_t size)
{
    /* 15 digits read back exactly for most doubles; 17 always do */
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buffer, size, "%.*g", precision, value);
        if (strtod(buffer, NULL) == value)
            return;
    }
}

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

static bool has_nonzero_digit(const struct decimal_parts *parts)
{
    for (size_t i = 0; i < parts->integer_length; i++)
        if (parts->integer[i] != '0')
            return true;
    for (size_t i = 0; i < parts->fraction_length; i++)
        if (parts->fraction[i] != '0')
            return true;
    return false;
}

/* A float that overflows, or underflows to zero from a non-zero literal, is out of range:
 * PostgreSQL refuses both rather than store infinity or a silent zero. */
static bool float_is_representable(const char *text, enum rs_decimal_kind kind, bool is_nonzero)
{
    if (kind == RS_DECIMAL_REAL) {
        float value = strtof(text, NULL);
        return !isinf(value) && !(value == 0.0f && is_nonzero);
    }
    double value = strtod(text, NULL);
    return !isinf(value) && !(value == 0.0 && is_nonzero);
}

int rs_parse_decimal(const char *text, enum rs_decimal_kind kind, int precision, int scale,
                     struct sb *out, struct rs_error *error)
{
    struct decimal_parts parts;
    if (!decimal_split(text, &parts))
        return RS_VALUE_MALFORMED;
    /* the shape has only ASCII, so cutting at 40 bytes never splits a character */
    const char *cut = strlen(text) > 40 ? "..." : "";
    if (kind != RS_DECIMAL_NUMERIC) {
        if (!float_is_representable(text, kind, has_nonzero_digit(&parts))) {
            if (error)
                rs_error_set(error, RS_FAILED, NULL, "%.40s%s is out of range for a %s", text, cut,
                             kind == RS_DECIMAL_REAL ? "real" : "double");
            return RS_VALUE_OUT_OF_RANGE;
        }
    } else if (parts.exponent > 1000 || parts.exponent < -1000) {
        if (error)
            rs_error_set(error, RS_FAILED, NULL, "%.40s%s is out of range for a numeric", text,
                         cut);
        return RS_VALUE_OUT_OF_RANGE;
    } else if (precision > 0 && !decimal_fits(&parts, scale, precision - scale)) {
        if (error)
            rs_error_set(error, RS_FAILED, NULL,
                         "%.40s%s is out of range: numeric(%d,%d) holds at most %d digit%s before "
                         "the point",
                         text, cut, precision, scale, precision - scale,
                         precision - scale == 1 ? "" : "s");
        return RS_VALUE_OUT_OF_RANGE;
    }
    put(out, text);
    return RS_VALUE_OK;
}

/* ---- dates and times --------------------------------------------------------------------- */

struct moment {
    int year, month, day;
    int hour, minute, second;
    char fraction[16];  /* "" or ".123456" */
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

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && is_leap ? 29 : days[month - 1];
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

/* Nothing, Z, ±HH, ±HH:MM or ±HHMM, up to ±15:59 as PostgreSQL allows. */
static bool parse_offset(const char **p, struct moment *m, bool *has_offset)
{
    *has_offset = false;
    m->offset_minutes = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *has_offset = true;
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
    *has_offset = true;
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

int rs_parse_date(const char *text, struct sb *out)
{
    struct moment m;
    const char *p = text;
    if (!parse_date(&p, &m) || *p)
        return RS_VALUE_MALFORMED;
    if (out)
        sb_appendf(out, "%04d-%02d-%02d", m.year, m.month, m.day);
    return RS_VALUE_OK;
}

int rs_parse_time(const char *text, struct sb *out)
{
    struct moment m;
    const char *p = text;
    if (!parse_clock(&p, &m) || *p)
        return RS_VALUE_MALFORMED;
    if (out)
        sb_appendf(out, "%02d:%02d:%02d%s", m.hour, m.minute, m.second, m.fraction);
    return RS_VALUE_OK;
}

int rs_parse_timestamp(const char *text, enum rs_timestamp_zone zone, struct sb *out,
                       struct rs_error *error)
{
    struct moment m;
    bool has_offset;
    const char *p = text;
    if (!parse_date(&p, &m) || (*p != 'T' && *p != ' '))
        return RS_VALUE_MALFORMED;
    p++;
    if (!parse_clock(&p, &m) || !parse_offset(&p, &m, &has_offset) || *p)
        return RS_VALUE_MALFORMED;
    if (zone == RS_ZONE_REFUSED && has_offset)
        return RS_VALUE_MALFORMED;
    if (zone == RS_ZONE_KEPT) {
        int offset = m.offset_minutes < 0 ? -m.offset_minutes : m.offset_minutes;
        if (out)
            sb_appendf(out, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", m.year, m.month, m.day,
                       m.hour, m.minute, m.second, m.fraction, m.offset_minutes < 0 ? '-' : '+',
                       offset / 60, offset % 60);
        return RS_VALUE_OK;
    }
    if (m.offset_minutes != 0)
        shift_to_utc(&m);
    if (m.year < 1 || m.year > 9999) {
        if (error)
            rs_error_set(error, RS_FAILED, NULL, "timestamp out of range");
        return RS_VALUE_OUT_OF_RANGE;
    }
    if (out)
        sb_appendf(out, "%04d-%02d-%02dT%02d:%02d:%02d%s", m.year, m.month, m.day, m.hour, m.minute,
                   m.second, m.fraction);
    return RS_VALUE_OK;
}

/* ---- intervals --------------------------------------------------------------------------- */

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

int rs_parse_interval(const char *text, struct sb *out)
{
    size_t length = number_length(text);
    if (length > 0 && text[length] == '\0') {
        /* a plain number of seconds */
        if (out)
            sb_appendf(out, "PT%sS", text);
        return RS_VALUE_OK;
    }
    if (!is_iso_duration(text))
        return RS_VALUE_MALFORMED;
    put(out, text);
    return RS_VALUE_OK;
}

/* ---- uuids and emails -------------------------------------------------------------------- */

int rs_parse_uuid(const char *text, struct sb *out)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(text) != sizeof pattern - 1)
        return RS_VALUE_MALFORMED;
    char canonical[sizeof pattern];
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        char c = text[i];
        if (pattern[i] == '-' ? c != '-' : !strchr("0123456789abcdefABCDEF", c) || !c)
            return RS_VALUE_MALFORMED;
        canonical[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    canonical[sizeof pattern - 1] = '\0';
    put(out, canonical);
    return RS_VALUE_OK;
}

/* Pragmatic, not RFC 5322: one '@', a non-empty local part, a dotted domain without empty
 * labels, no spaces or control characters, at most 254 bytes (RFC 5321's forward path). */
int rs_parse_email(const char *text, struct sb *out)
{
    size_t length = strlen(text);
    const char *at = strchr(text, '@');
    if (length > 254 || !at || at == text || strchr(at + 1, '@'))
        return RS_VALUE_MALFORMED;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= ' ' || *p == 0x7F)
            return RS_VALUE_MALFORMED;
    const char *domain = at + 1;
    size_t domain_length = strlen(domain);
    if (domain_length < 3 || !strchr(domain, '.') || domain[0] == '.' ||
        domain[domain_length - 1] == '.' || strstr(domain, ".."))
        return RS_VALUE_MALFORMED;
    put(out, text);
    return RS_VALUE_OK;
}
