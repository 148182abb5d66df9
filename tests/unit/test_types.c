/*
 * tests/unit/test_types.c — the column type layer (orm/types*.c): every type parsed from
 * query-string text and from JSON into canonical PostgreSQL text, every class of invalid
 * input with its message, cast names, defaults for GET /T/new/ and JSON Schema fragments.
 * Pure: no database. Each test is a deliberate table of cases: one expect_text / expect_json
 * (/_error) line a row, input then expected output or message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orm/orm.h"

static struct cfg_column column_of(enum cfg_type type)
{
    return (struct cfg_column){.name = "c", .type = type, .value_type = type};
}

static struct cfg_column array_of(enum cfg_type element, int length)
{
    return (struct cfg_column){
        .name = "tags", .type = CFG_TYPE_ARRAY, .value_type = element, .length = length};
}

/* ---- helpers: each checks one parse and reports the input when it fails ---- */

static void expect_text(const struct cfg_column *column, const char *input, const char *expected)
{
    struct rs_error error = {0};
    char *value = orm_value_from_text(column, input, "f", &error);
    if (!value)
        fail_msg("text \"%s\" was rejected: %s", input, error.message);
    assert_string_equal(value, expected);
    free(value);
}

static void expect_text_error(const struct cfg_column *column, const char *input,
                              const char *message)
{
    struct rs_error error = {0};
    char *value = orm_value_from_text(column, input, "f", &error);
    if (value)
        fail_msg("text \"%s\" was accepted as \"%s\"", input, value);
    assert_int_equal(error.outcome, RS_INVALID);
    assert_string_equal(error.field, "f");
    if (!strstr(error.message, message))
        fail_msg("text \"%s\": message \"%s\" lacks \"%s\"", input, error.message, message);
}

static json_t *parse_json(const char *text)
{
    json_error_t parse_error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &parse_error);
    if (!value)
        fail_msg("bad test JSON %s: %s", text, parse_error.text);
    return value;
}

static void expect_json_value(const struct cfg_column *column, json_t *value, const char *expected)
{
    struct rs_error error = {0};
    char *out = (char *)"unset";
    int result = orm_value_from_json(column, value, &out, &error);
    if (result != 0)
        fail_msg("JSON was rejected: %s", error.message);
    if (!expected)
        assert_null(out);
    else
        assert_string_equal(out, expected);
    free(out);
    json_decref(value);
}

static void expect_json(const struct cfg_column *column, const char *json, const char *expected)
{
    expect_json_value(column, parse_json(json), expected);
}

static void expect_json_value_error(const struct cfg_column *column, json_t *value,
                                    const char *message)
{
    struct rs_error error = {0};
    char *out = NULL;
    int result = orm_value_from_json(column, value, &out, &error);
    json_decref(value);
    if (result == 0)
        fail_msg("JSON was accepted as \"%s\"", out ? out : "NULL");
    assert_null(out);
    assert_int_equal(error.outcome, RS_UNPROCESSABLE);
    assert_string_equal(error.field, column->name);
    if (!strstr(error.message, message))
        fail_msg("message \"%s\" lacks \"%s\"", error.message, message);
}

static void expect_json_error(const struct cfg_column *column, const char *json,
                              const char *message)
{
    expect_json_value_error(column, parse_json(json), message);
}

/* ---- integers ---- */

static void test_integer_text_accepts_exact_range_limits(void **state)
{
    (void)state;
    struct cfg_column integer = column_of(CFG_TYPE_INTEGER);
    expect_text(&integer, "2147483647", "2147483647");
    expect_text(&integer, "-2147483648", "-2147483648");
    expect_text(&integer, "0", "0");
    expect_text(&integer, "007", "7");
    expect_text_error(&integer, "2147483648", "between -2147483648 and 2147483647");
    expect_text_error(&integer, "-2147483649", "between -2147483648 and 2147483647");
    struct cfg_column smallint = column_of(CFG_TYPE_SMALLINT);
    expect_text(&smallint, "32767", "32767");
    expect_text(&smallint, "-32768", "-32768");
    expect_text_error(&smallint, "32768", "between -32768 and 32767");
    struct cfg_column bigint = column_of(CFG_TYPE_BIGINT);
    expect_text(&bigint, "9223372036854775807", "9223372036854775807");
    expect_text(&bigint, "-9223372036854775808", "-9223372036854775808");
    expect_text_error(&bigint, "9223372036854775808", "between");
    struct cfg_column serial = column_of(CFG_TYPE_SERIAL);
    expect_text(&serial, "2147483647", "2147483647");
    expect_text_error(&serial, "2147483648", "between");
    struct cfg_column bigserial = column_of(CFG_TYPE_BIGSERIAL);
    expect_text(&bigserial, "2147483648", "2147483648");
}

static void test_integer_text_is_strict(void **state)
{
    (void)state;
    struct cfg_column integer = column_of(CFG_TYPE_INTEGER);
    const char *bad[] = {"abc", "1.0", "0x10", " 1", "1 ", "+1", "", "-", "1e3", "١"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&integer, bad[i], "expected an integer");
    expect_text_error(&integer, "abc", "got \"abc\"");
}

static void test_integer_json_takes_integers_and_integral_reals(void **state)
{
    (void)state;
    struct cfg_column integer = column_of(CFG_TYPE_INTEGER);
    expect_json(&integer, "42", "42");
    expect_json(&integer, "-2147483648", "-2147483648");
    expect_json(&integer, "3.0", "3");
    expect_json_error(&integer, "1.5", "expected an integer, got a number");
    expect_json_error(&integer, "\"1\"", "expected an integer, got a string");
    expect_json_error(&integer, "true", "got true");
    expect_json_error(&integer, "[1]", "got an array");
    expect_json_error(&integer, "2147483648", "between -2147483648 and 2147483647, got 2147483648");
    expect_json_error(&integer, "1e30", "between");
    struct cfg_column smallint = column_of(CFG_TYPE_SMALLINT);
    expect_json_error(&smallint, "-32769", "between -32768 and 32767");
}

static void test_foreign_key_parses_as_its_referenced_type(void **state)
{
    (void)state;
    struct cfg_column fk = {
        .name = "director", .type = CFG_TYPE_FOREIGN_KEY, .value_type = CFG_TYPE_INTEGER};
    expect_text(&fk, "12", "12");
    expect_text_error(&fk, "x", "expected an integer");
    expect_json(&fk, "12", "12");
    struct cfg_column uuid_fk = {
        .name = "owner", .type = CFG_TYPE_FOREIGN_KEY, .value_type = CFG_TYPE_UUID};
    expect_json(&uuid_fk, "\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

/* ---- booleans ---- */

static void test_boolean_text_spellings(void **state)
{
    (void)state;
    struct cfg_column boolean = column_of(CFG_TYPE_BOOLEAN);
    const char *truthy[] = {"true", "TRUE", "t", "1", "yes", "Yes"};
    const char *falsy[] = {"false", "False", "f", "0", "no", "NO"};
    for (size_t i = 0; i < 6; i++) {
        expect_text(&boolean, truthy[i], "true");
        expect_text(&boolean, falsy[i], "false");
    }
    expect_text_error(&boolean, "2", "expected a boolean");
    expect_text_error(&boolean, "", "expected a boolean");
    expect_text_error(&boolean, "on", "expected a boolean");
}

static void test_boolean_json_takes_only_true_and_false(void **state)
{
    (void)state;
    struct cfg_column boolean = column_of(CFG_TYPE_BOOLEAN);
    expect_json(&boolean, "true", "true");
    expect_json(&boolean, "false", "false");
    expect_json_error(&boolean, "1", "expected a boolean, got an integer");
    expect_json_error(&boolean, "\"true\"", "got a string");
}

/* ---- numeric, real, double ---- */

static void test_decimal_text_syntax_is_strict(void **state)
{
    (void)state;
    struct cfg_column numeric = column_of(CFG_TYPE_NUMERIC);
    const char *good[] = {"1",    "-1.5", ".5",     "5.",
                          "1e10", "1E-3", "-0.000", "12345678901234567890.5"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        expect_text(&numeric, good[i], good[i]);
    const char *bad[] = {"nan", "NaN", "inf", "-Infinity", "1e", "--1", "1.2.3", "0x1",
                         " 1",  "1 ",  "+1",  ".",         "e5", "1e+", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&numeric, bad[i], "expected a number");
    struct cfg_column real = column_of(CFG_TYPE_REAL);
    expect_text_error(&real, "inf", "expected a number");
    struct cfg_column precise = column_of(CFG_TYPE_DOUBLE);
    expect_text(&precise, "2.5e-3", "2.5e-3");
}

static void test_numeric_precision_and_scale_limit_integer_digits(void **state)
{
    (void)state;
    struct cfg_column money = column_of(CFG_TYPE_NUMERIC);
    money.precision = 5;
    money.scale = 2;
    expect_text(&money, "999.99", "999.99");
    expect_text(&money, "-999.99", "-999.99");
    expect_text(&money, "999.994", "999.994");
    expect_text(&money, "0.001", "0.001");
    expect_text(&money, "12345e-2", "12345e-2");
    expect_text(&money, "000123.4", "000123.4");
    expect_text_error(&money, "1000", "out of range: numeric(5,2) holds at most 3 digits");
    expect_text_error(&money, "999.995", "out of range"); /* rounds to 1000.00 */
    expect_text_error(&money, "1e3", "out of range");
    expect_json_error(&money, "1000.5", "out of range");
    expect_json(&money, "12.5", "12.5");
    struct cfg_column whole = column_of(CFG_TYPE_NUMERIC);
    whole.precision = 2;
    expect_text(&whole, "99.4", "99.4");
    expect_text_error(&whole, "99.5", "out of range"); /* rounds to 100 */
}

static void test_real_and_double_reject_out_of_range(void **state)
{
    (void)state;
    struct cfg_column real = column_of(CFG_TYPE_REAL);
    expect_text(&real, "3.4e38", "3.4e38");
    expect_text(&real, "0e-999", "0e-999");
    expect_text_error(&real, "1e39", "out of range for a real");
    expect_text_error(&real, "1e-50", "out of range for a real");
    struct cfg_column precise = column_of(CFG_TYPE_DOUBLE);
    expect_text(&precise, "1e308", "1e308");
    expect_text_error(&precise, "1e309", "out of range for a double");
    expect_text_error(&precise, "1e-400", "out of range for a double");
    expect_json_error(&real, "1e39", "out of range for a real");
}

static void test_decimal_json_keeps_shortest_exact_spelling(void **state)
{
    (void)state;
    struct cfg_column numeric = column_of(CFG_TYPE_NUMERIC);
    expect_json(&numeric, "0.1", "0.1");
    expect_json(&numeric, "5", "5");
    expect_json(&numeric, "1e20", "1e+20");
    expect_json(&numeric, "\"12345678901234567890.01\"", "12345678901234567890.01");
    expect_json_error(&numeric, "\"abc\"", "expected a number, got \"abc\"");
    expect_json_error(&numeric, "true", "expected a number, got true");
    struct cfg_column precise = column_of(CFG_TYPE_DOUBLE);
    expect_json(&precise, "0.30000000000000004", "0.30000000000000004");
    expect_json_error(&precise, "\"1.5\"", "expected a number, got a string");
}

/* ---- strings ---- */

static void test_varchar_length_counts_characters_not_bytes(void **state)
{
    (void)state;
    struct cfg_column name = column_of(CFG_TYPE_VARCHAR);
    name.length = 3;
    expect_text(&name, "héé", "héé");
    expect_text(&name, "日本語", "日本語");
    expect_json(&name, "\"abc\"", "abc");
    expect_json(&name, "\"\"", "");
    expect_text_error(&name, "abcd", "expected at most 3 characters, got 4");
    expect_json_error(&name, "\"éééé\"", "expected at most 3 characters, got 4");
    expect_json_error(&name, "12", "expected a string, got an integer");
    struct cfg_column body = column_of(CFG_TYPE_TEXT);
    char long_text[5001];
    memset(long_text, 'x', 5000);
    long_text[5000] = '\0';
    expect_text(&body, long_text, long_text);
}

static void test_strings_reject_nul_and_invalid_utf8(void **state)
{
    (void)state;
    struct cfg_column name = column_of(CFG_TYPE_VARCHAR);
    expect_json_value_error(&name, json_stringn("a\0b", 3), "NUL");
    struct cfg_column body = column_of(CFG_TYPE_TEXT);
    expect_json_value_error(&body, json_stringn("\0", 1), "may not contain NUL");
    expect_text_error(&name, "ab\xff", "expected UTF-8 text");
    expect_text_error(&name, "\xc3\x28", "expected UTF-8 text");
    expect_text_error(&name, "\xed\xa0\x80", "expected UTF-8 text"); /* a surrogate */
}

static void test_email_needs_one_at_and_a_dotted_domain(void **state)
{
    (void)state;
    struct cfg_column email = column_of(CFG_TYPE_EMAIL);
    expect_text(&email, "a@b.co", "a@b.co");
    expect_json(&email, "\"first.last+tag@example.org\"", "first.last+tag@example.org");
    const char *bad[] = {"a",        "@b.co",   "a@b",     "a@@b.co", "a@b@c.co",
                         "a b@c.de", "a@.b.co", "a@b.co.", "a@b..co", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&email, bad[i], "expected an email address");
    char long_address[300];
    memset(long_address, 'a', 250);
    strcpy(long_address + 250, "@b.co");
    expect_text_error(&email, long_address, "expected an email address");
    email.length = 5;
    expect_text_error(&email, "ab@c.de", "at most 5 characters");
}

/* ---- uuid ---- */

static void test_uuid_is_canonical_lower_case(void **state)
{
    (void)state;
    struct cfg_column uuid = column_of(CFG_TYPE_UUID);
    expect_text(&uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    expect_json(&uuid, "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    const char *bad[] = {
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",   "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "a0eebc99_9c0b-4ef8-bb6d-6bb9bd380a11"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&uuid, bad[i], "expected a uuid");
    expect_json_error(&uuid, "7", "expected a uuid");
}

/* ---- dates and times ---- */

static void test_timestamptz_keeps_offsets_and_defaults_to_utc(void **state)
{
    (void)state;
    struct cfg_column at = column_of(CFG_TYPE_TIMESTAMPTZ);
    expect_text(&at, "2020-01-02T03:04:05Z", "2020-01-02T03:04:05+00:00");
    expect_text(&at, "2020-01-02 03:04:05.123456+05:30", "2020-01-02T03:04:05.123456+05:30");
    expect_text(&at, "2020-01-02T03:04", "2020-01-02T03:04:00+00:00");
    expect_text(&at, "2020-01-02T03:04:05-0800", "2020-01-02T03:04:05-08:00");
    expect_text(&at, "2020-01-02T03:04:05+05", "2020-01-02T03:04:05+05:00");
    expect_json(&at, "\"2026-11-25T06:50:00.123Z\"", "2026-11-25T06:50:00.123+00:00");
    expect_json_error(&at, "1700000000", "expected an ISO 8601 timestamp");
}

static void test_timestamp_converts_an_offset_to_utc(void **state)
{
    (void)state;
    struct cfg_column at = column_of(CFG_TYPE_TIMESTAMP);
    expect_text(&at, "2020-01-01T02:00:00+05:00", "2019-12-31T21:00:00");
    expect_text(&at, "2020-02-28T23:30:00-01:00", "2020-02-29T00:30:00");
    expect_text(&at, "2020-01-01T02:00:00.5Z", "2020-01-01T02:00:00.5");
    expect_text(&at, "2020-01-01 02:00", "2020-01-01T02:00:00");
    expect_text_error(&at, "0001-01-01T00:00:00+01:00", "out of range");
}

static void test_timestamps_reject_impossible_and_malformed_values(void **state)
{
    (void)state;
    struct cfg_column at = column_of(CFG_TYPE_TIMESTAMPTZ);
    const char *bad[] = {"2020-13-01T00:00:00",
                         "2020-02-30T00:00",
                         "2020-01-01",
                         "2020-01-01T24:00:00",
                         "2020-01-01T10:60",
                         "2020-01-01T10:00:60",
                         "2020-01-01T10:00:00+16:00",
                         "2020-01-01T10:00:00.1234567890",
                         "20200101T100000",
                         "2020-01-01T10:00:00+05:",
                         "2020-01-01T10:00:00 ",
                         "2020-1-01T10:00",
                         "2020-01-01T10:00:00.",
                         "now"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&at, bad[i], "expected an ISO 8601 timestamp");
}

static void test_date_knows_leap_years(void **state)
{
    (void)state;
    struct cfg_column day = column_of(CFG_TYPE_DATE);
    expect_text(&day, "2024-02-29", "2024-02-29");
    expect_text(&day, "2000-02-29", "2000-02-29");
    expect_json(&day, "\"1999-12-31\"", "1999-12-31");
    expect_text_error(&day, "2023-02-29", "expected a date (YYYY-MM-DD)");
    expect_text_error(&day, "1900-02-29", "expected a date");
    expect_text_error(&day, "2023-04-31", "expected a date");
    expect_text_error(&day, "0000-01-01", "expected a date");
    expect_text_error(&day, "2023-04-01T00:00", "expected a date");
}

static void test_time_forms(void **state)
{
    (void)state;
    struct cfg_column clock = column_of(CFG_TYPE_TIME);
    expect_text(&clock, "12:30", "12:30:00");
    expect_text(&clock, "23:59:59.999999", "23:59:59.999999");
    expect_json(&clock, "\"00:00:01\"", "00:00:01");
    expect_text_error(&clock, "24:00", "expected a time");
    expect_text_error(&clock, "12:30+01:00", "expected a time");
    expect_text_error(&clock, "1:30", "expected a time");
}

static void test_interval_takes_iso_durations_and_seconds(void **state)
{
    (void)state;
    struct cfg_column span = column_of(CFG_TYPE_INTERVAL);
    const char *good[] = {"P1Y2M3DT4H5M6.5S", "PT2H30M", "P2W",  "P-1D",
                          "PT-1.5S",          "P1DT1S",  "P0.5Y"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        expect_text(&span, good[i], good[i]);
    expect_text(&span, "90", "PT90S");
    expect_text(&span, "1.5", "PT1.5S");
    expect_json(&span, "90", "PT90S");
    expect_json(&span, "1.25", "PT1.25S");
    expect_json(&span, "2.0", "PT2S");
    expect_json(&span, "\"PT2H30M\"", "PT2H30M");
    const char *bad[] = {"P",    "PT",   "P1H",    "PT1D", "P1M1Y", "1 day", "P1.5.5D",
                         "-P1D", "P1DT", "PT1H1H", "p1d",  "P1D ",  ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&span, bad[i], "expected an ISO 8601 duration");
    expect_json_error(&span, "true", "expected an ISO 8601 duration");
}

/* ---- json, bytea ---- */

static void test_json_is_written_compactly_and_exactly(void **state)
{
    (void)state;
    struct cfg_column document = column_of(CFG_TYPE_JSONB);
    expect_json(&document, "{\"a\": [1, 0.1, \"x\"], \"b\": {\"c\": null}}",
                "{\"a\":[1,0.1,\"x\"],\"b\":{\"c\":null}}");
    expect_json(&document, "\"quote\\\" and \\\\ and \\n\"", "\"quote\\\" and \\\\ and \\u000a\"");
    expect_json(&document, "42", "42");
    expect_json(&document, "false", "false");
    expect_text(&document, "[1, 2]", "[1,2]");
    expect_text(&document, "\"s\"", "\"s\"");
    expect_text_error(&document, "not json", "expected JSON");
    expect_text_error(&document, "{\"a\":", "expected JSON");
    struct cfg_column plain = column_of(CFG_TYPE_JSON);
    json_t *with_nul = json_pack("{s:o}", "k", json_stringn("a\0", 2));
    expect_json_value_error(&plain, with_nul, "NUL");
}

static void test_bytea_takes_strict_base64(void **state)
{
    (void)state;
    struct cfg_column data = column_of(CFG_TYPE_BYTEA);
    expect_text(&data, "AQI=", "\\x0102");
    expect_text(&data, "AQID", "\\x010203");
    expect_text(&data, "AQ==", "\\x01");
    expect_text(&data, "", "\\x");
    expect_json(&data, "\"/+8=\"", "\\xffef");
    const char *bad[] = {
        "AQI", "AQ=I", "A===", "AR==", "AQJ=", "AQI=\n", "****", "AQ-_", "AQ==AQ==", "=AQI"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_text_error(&data, bad[i], "expected base64");
    expect_json_error(&data, "[1,2]", "expected base64");
}

/* ---- arrays ---- */

static void test_array_json_becomes_a_quoted_literal(void **state)
{
    (void)state;
    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 5);
    expect_json(&tags, "[\"a\", \"b\\\"c\", \"d\\\\e\", \"x,y\", \"\", \"NULL\", \"{}\"]",
                "{\"a\",\"b\\\"c\",\"d\\\\e\",\"x,y\",\"\",\"NULL\",\"{}\"}");
    expect_json(&tags, "[]", "{}");
    expect_json_error(&tags, "[\"a\", null]", "item 1: may not be null");
    expect_json_error(&tags, "[\"abcdef\"]", "item 0: expected at most 5 characters, got 6");
    expect_json_error(&tags, "\"a\"", "expected an array, got a string");
    expect_json_error(&tags, "[[\"a\"]]", "item 0: expected a string, got an array");
    struct cfg_column numbers = array_of(CFG_TYPE_INTEGER, 0);
    expect_json(&numbers, "[1, -2, 3.0]", "{\"1\",\"-2\",\"3\"}");
    expect_json_error(&numbers, "[1, \"2\"]", "item 1: expected an integer");
    struct cfg_column blobs = array_of(CFG_TYPE_BYTEA, 0);
    expect_json(&blobs, "[\"AQI=\"]", "{\"\\\\x0102\"}");
}

static void test_array_text_parses_one_element(void **state)
{
    (void)state;
    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 5);
    expect_text(&tags, "scifi", "scifi");
    expect_text_error(&tags, "too long", "at most 5 characters");
    struct cfg_column numbers = array_of(CFG_TYPE_INTEGER, 0);
    expect_text(&numbers, "7", "7");
    expect_text_error(&numbers, "x", "expected an integer");
}

/* ---- choices and null ---- */

static void test_choices_compare_canonically(void **state)
{
    (void)state;
    struct cfg_column genre = column_of(CFG_TYPE_VARCHAR);
    genre.name = "genre";
    genre.choices = json_pack("[s,s]", "drama", "comedy");
    expect_json(&genre, "\"drama\"", "drama");
    expect_json_error(&genre, "\"horror\"", "must be one of: \"drama\", \"comedy\"");
    /* a text filter matches by substring: choices do not constrain it */
    expect_text(&genre, "dra", "dra");
    json_decref(genre.choices);

    struct cfg_column level = column_of(CFG_TYPE_INTEGER);
    level.choices = json_pack("[i,i,i]", 1, 2, 3);
    expect_json(&level, "2", "2");
    expect_json(&level, "2.0", "2");
    expect_text(&level, "3", "3");
    expect_json_error(&level, "4", "must be one of: 1, 2, 3");
    expect_text_error(&level, "4", "must be one of: 1, 2, 3");
    json_decref(level.choices);

    struct cfg_column key = column_of(CFG_TYPE_UUID);
    key.choices = json_pack("[s]", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
    expect_json(&key, "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    json_decref(key.choices);

    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 0);
    tags.choices = json_pack("[s,s]", "new", "old");
    expect_json(&tags, "[\"old\", \"new\"]", "{\"old\",\"new\"}");
    expect_json_error(&tags, "[\"new\", \"mid\"]", "item 1: must be one of: \"new\", \"old\"");
    json_decref(tags.choices);
}

static void test_null_depends_on_nullability(void **state)
{
    (void)state;
    struct cfg_column rating = column_of(CFG_TYPE_INTEGER);
    rating.name = "rating";
    expect_json_error(&rating, "null", "may not be null");
    rating.is_nullable = true;
    expect_json(&rating, "null", NULL);
    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 0);
    expect_json_error(&tags, "null", "may not be null");
    tags.is_nullable = true;
    expect_json(&tags, "null", NULL);
    /* the text "null" is not special to the type layer */
    struct cfg_column name = column_of(CFG_TYPE_VARCHAR);
    expect_text(&name, "null", "null");
}

static void test_errors_carry_outcome_and_field(void **state)
{
    (void)state;
    struct cfg_column rating = column_of(CFG_TYPE_INTEGER);
    rating.name = "rating";
    struct rs_error error = {0};
    assert_null(orm_value_from_text(&rating, "x", "rating__gt", &error));
    assert_int_equal(error.outcome, RS_INVALID);
    assert_string_equal(error.field, "rating__gt");
    assert_string_equal(error.message,
                        "expected an integer between -2147483648 and 2147483647, got \"x\"");
    json_t *value = json_string("x");
    char *out = NULL;
    assert_int_equal(orm_value_from_json(&rating, value, &out, &error), -1);
    assert_int_equal(error.outcome, RS_UNPROCESSABLE);
    assert_string_equal(error.field, "rating");
    assert_string_equal(error.message, "expected an integer, got a string");
    json_decref(value);
}

static void test_error_messages_stay_short_and_valid_utf8(void **state)
{
    (void)state;
    struct cfg_column integer = column_of(CFG_TYPE_INTEGER);
    struct rs_error error = {0};
    assert_null(orm_value_from_text(&integer,
                                    "\xff\xfe"
                                    "abc",
                                    "f", &error));
    assert_string_equal(error.message,
                        "expected an integer between -2147483648 and 2147483647, got \"??abc\"");
    char long_input[200];
    memset(long_input, 'x', sizeof long_input - 1);
    long_input[sizeof long_input - 1] = '\0';
    memcpy(long_input + 38, "é", 2); /* straddles the cut */
    assert_null(orm_value_from_text(&integer, long_input, "f", &error));
    assert_non_null(strstr(error.message, "...\""));
    json_t *message = json_string(error.message); /* NULL if not valid UTF-8 */
    assert_non_null(message);
    json_decref(message);
}

/* ---- casts ---- */

static void test_cast_names(void **state)
{
    (void)state;
    static const struct {
        enum cfg_type type;
        const char *cast;
    } casts[] = {
        {CFG_TYPE_VARCHAR, "varchar"},     {CFG_TYPE_TEXT, "text"},
        {CFG_TYPE_EMAIL, "varchar"},       {CFG_TYPE_INTEGER, "integer"},
        {CFG_TYPE_BIGINT, "bigint"},       {CFG_TYPE_SMALLINT, "smallint"},
        {CFG_TYPE_SERIAL, "integer"},      {CFG_TYPE_BIGSERIAL, "bigint"},
        {CFG_TYPE_BOOLEAN, "boolean"},     {CFG_TYPE_NUMERIC, "numeric"},
        {CFG_TYPE_REAL, "real"},           {CFG_TYPE_DOUBLE, "double precision"},
        {CFG_TYPE_TIMESTAMP, "timestamp"}, {CFG_TYPE_TIMESTAMPTZ, "timestamptz"},
        {CFG_TYPE_DATE, "date"},           {CFG_TYPE_TIME, "time"},
        {CFG_TYPE_INTERVAL, "interval"},   {CFG_TYPE_UUID, "uuid"},
        {CFG_TYPE_JSON, "json"},           {CFG_TYPE_JSONB, "jsonb"},
        {CFG_TYPE_BYTEA, "bytea"},
    };
    for (size_t i = 0; i < sizeof casts / sizeof casts[0]; i++) {
        struct cfg_column column = column_of(casts[i].type);
        assert_string_equal(orm_column_cast(&column), casts[i].cast);
        assert_string_equal(orm_column_element_cast(&column), casts[i].cast);
    }
    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 0);
    assert_string_equal(orm_column_cast(&tags), "varchar[]");
    assert_string_equal(orm_column_element_cast(&tags), "varchar");
    struct cfg_column scores = array_of(CFG_TYPE_DOUBLE, 0);
    assert_string_equal(orm_column_cast(&scores), "double precision[]");
    struct cfg_column fk = {.type = CFG_TYPE_FOREIGN_KEY, .value_type = CFG_TYPE_BIGINT};
    assert_string_equal(orm_column_cast(&fk), "bigint");
    assert_string_equal(orm_column_element_cast(&fk), "bigint");
}

static void test_only_string_types_are_text(void **state)
{
    (void)state;
    for (int type = 0; type < CFG_TYPE_COUNT; type++) {
        struct cfg_column column = column_of((enum cfg_type)type);
        bool expected = type == CFG_TYPE_VARCHAR || type == CFG_TYPE_TEXT || type == CFG_TYPE_EMAIL;
        assert_int_equal(orm_column_is_text(&column), expected);
    }
}

/* ---- defaults ---- */

static bool all_digits(const char *text, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

static void test_default_json_renders_each_kind(void **state)
{
    (void)state;
    struct cfg_column rating = column_of(CFG_TYPE_INTEGER);
    rating.default_kind = CFG_DEFAULT_VALUE;
    rating.default_value = json_integer(7);
    json_t *value = orm_column_default_json(&rating);
    assert_true(json_is_integer(value));
    assert_int_equal(json_integer_value(value), 7);
    assert_ptr_not_equal(value, rating.default_value);
    json_decref(value);
    json_decref(rating.default_value);

    struct cfg_column none = column_of(CFG_TYPE_TEXT);
    value = orm_column_default_json(&none);
    assert_true(json_is_null(value));
    json_decref(value);

    struct cfg_column created = column_of(CFG_TYPE_TIMESTAMPTZ);
    created.default_kind = CFG_DEFAULT_NOW;
    value = orm_column_default_json(&created);
    const char *text = json_string_value(value);
    assert_non_null(text); /* 2026-11-25T06:50:00.123456+00:00 */
    assert_int_equal(strlen(text), 32);
    assert_true(all_digits(text, 0, 4) && text[4] == '-' && text[10] == 'T' && text[19] == '.');
    assert_true(all_digits(text, 20, 26));
    assert_string_equal(text + 26, "+00:00");
    json_decref(value);

    created.type = created.value_type = CFG_TYPE_TIMESTAMP;
    value = orm_column_default_json(&created);
    assert_int_equal(strlen(json_string_value(value)), 26);
    json_decref(value);
    created.type = created.value_type = CFG_TYPE_DATE;
    value = orm_column_default_json(&created);
    assert_int_equal(strlen(json_string_value(value)), 10);
    assert_true(all_digits(json_string_value(value), 5, 7));
    json_decref(value);
    created.type = created.value_type = CFG_TYPE_TIME;
    value = orm_column_default_json(&created);
    assert_int_equal(strlen(json_string_value(value)), 8);
    assert_int_equal(json_string_value(value)[2], ':');
    json_decref(value);
}

static void test_default_uuid4_is_fresh_and_well_formed(void **state)
{
    (void)state;
    struct cfg_column key = column_of(CFG_TYPE_UUID);
    key.default_kind = CFG_DEFAULT_UUID4;
    json_t *first = orm_column_default_json(&key);
    json_t *second = orm_column_default_json(&key);
    const char *text = json_string_value(first);
    assert_non_null(text);
    assert_int_equal(strlen(text), 36);
    assert_int_equal(text[14], '4');
    assert_non_null(strchr("89ab", text[19]));
    assert_string_not_equal(text, json_string_value(second));
    /* and it parses as a uuid */
    struct rs_error error = {0};
    char *parsed = orm_value_from_text(&key, text, "f", &error);
    assert_string_equal(parsed, text);
    free(parsed);
    json_decref(first);
    json_decref(second);
}

/* ---- JSON Schema ---- */

static json_t *schema_of(const struct cfg_column *column)
{
    json_t *schema = orm_column_json_schema(column);
    assert_non_null(schema);
    return schema;
}

static const char *string_at(json_t *schema, const char *key)
{
    return json_string_value(json_object_get(schema, key));
}

static void test_json_schema_types_and_formats(void **state)
{
    (void)state;
    static const struct {
        enum cfg_type type;
        const char *json_type, *format;
    } expected[] = {
        {CFG_TYPE_INTEGER, "integer", NULL},
        {CFG_TYPE_BOOLEAN, "boolean", NULL},
        {CFG_TYPE_NUMERIC, "number", NULL},
        {CFG_TYPE_TEXT, "string", NULL},
        {CFG_TYPE_TIMESTAMPTZ, "string", "date-time"},
        {CFG_TYPE_TIMESTAMP, "string", "date-time"},
        {CFG_TYPE_DATE, "string", "date"},
        {CFG_TYPE_TIME, "string", "time"},
        {CFG_TYPE_UUID, "string", "uuid"},
        {CFG_TYPE_EMAIL, "string", "email"},
        {CFG_TYPE_INTERVAL, "string", "duration"},
        {CFG_TYPE_BYTEA, "string", "byte"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        struct cfg_column column = column_of(expected[i].type);
        json_t *schema = schema_of(&column);
        assert_string_equal(string_at(schema, "type"), expected[i].json_type);
        if (expected[i].format)
            assert_string_equal(string_at(schema, "format"), expected[i].format);
        else
            assert_null(json_object_get(schema, "format"));
        json_decref(schema);
    }
    struct cfg_column data = column_of(CFG_TYPE_BYTEA);
    json_t *schema = schema_of(&data);
    assert_string_equal(string_at(schema, "contentEncoding"), "base64");
    json_decref(schema);
    struct cfg_column document = column_of(CFG_TYPE_JSONB);
    schema = schema_of(&document);
    assert_null(json_object_get(schema, "type")); /* any JSON */
    json_decref(schema);
    struct cfg_column fk = {
        .name = "director", .type = CFG_TYPE_FOREIGN_KEY, .value_type = CFG_TYPE_INTEGER};
    schema = schema_of(&fk);
    assert_string_equal(string_at(schema, "type"), "integer");
    json_decref(schema);
}

static void test_json_schema_constraints_and_annotations(void **state)
{
    (void)state;
    struct cfg_column name = column_of(CFG_TYPE_VARCHAR);
    name.name = "release_date_note";
    name.length = 100;
    name.is_nullable = true;
    name.help_text = "shown to users";
    name.choices = json_pack("[s,s]", "a", "b");
    name.default_kind = CFG_DEFAULT_VALUE;
    name.default_value = json_string("a");
    json_t *schema = schema_of(&name);
    json_t *expected_type = json_pack("[s,s]", "string", "null");
    assert_true(json_equal(json_object_get(schema, "type"), expected_type));
    assert_int_equal(json_integer_value(json_object_get(schema, "maxLength")), 100);
    json_t *expected_enum = json_pack("[s,s,n]", "a", "b");
    assert_true(json_equal(json_object_get(schema, "enum"), expected_enum));
    assert_string_equal(string_at(schema, "title"), "Release Date Note");
    assert_string_equal(string_at(schema, "description"), "shown to users");
    assert_string_equal(string_at(schema, "default"), "a");
    assert_null(json_object_get(schema, "writeOnly"));
    json_decref(expected_type);
    json_decref(expected_enum);
    json_decref(schema);
    json_decref(name.choices);
    json_decref(name.default_value);

    struct cfg_column key = column_of(CFG_TYPE_VARCHAR);
    key.name = "api_key";
    key.is_secret = true;
    schema = schema_of(&key);
    assert_true(json_is_true(json_object_get(schema, "writeOnly")));
    assert_string_equal(string_at(schema, "title"), "Api Key");
    json_decref(schema);

    struct cfg_column tags = array_of(CFG_TYPE_VARCHAR, 20);
    schema = schema_of(&tags);
    assert_string_equal(string_at(schema, "type"), "array");
    json_t *items = json_object_get(schema, "items");
    assert_string_equal(string_at(items, "type"), "string");
    assert_int_equal(json_integer_value(json_object_get(items, "maxLength")), 20);
    json_decref(schema);

    struct cfg_column small = column_of(CFG_TYPE_SMALLINT);
    schema = schema_of(&small);
    assert_int_equal(json_integer_value(json_object_get(schema, "maximum")), 32767);
    json_decref(schema);
}

static void test_text_error_field_defaults_to_column_name(void **state)
{
    (void)state;
    struct cfg_column rating = column_of(CFG_TYPE_INTEGER);
    rating.name = "rating";
    struct rs_error error = {0};
    assert_null(orm_value_from_text(&rating, "x", NULL, &error));
    assert_string_equal(error.field, "rating");
    assert_int_equal(error.outcome, RS_INVALID);
}

static void test_array_elements_are_canonicalised(void **state)
{
    (void)state;
    struct cfg_column keys = array_of(CFG_TYPE_UUID, 0);
    expect_json(&keys, "[\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"]",
                "{\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"}");
    struct cfg_column flags = array_of(CFG_TYPE_BOOLEAN, 0);
    expect_json(&flags, "[true, false]", "{\"true\",\"false\"}");
    expect_json_error(&flags, "[1]", "item 0: expected a boolean");
    struct cfg_column days = array_of(CFG_TYPE_DATE, 0);
    expect_json_error(&days, "[\"2024-02-29\", \"2023-02-29\"]", "item 1: expected a date");
    struct cfg_column docs = array_of(CFG_TYPE_JSONB, 0);
    expect_json(&docs, "[{\"a\": \"x\"}]", "{\"{\\\"a\\\":\\\"x\\\"}\"}");
}

static void test_interval_json_rejects_huge_numbers(void **state)
{
    (void)state;
    struct cfg_column span = column_of(CFG_TYPE_INTERVAL);
    expect_json_error(&span, "1e300", "expected an ISO 8601 duration");
    expect_json(&span, "-0.5", "PT-0.5S");
}

static void test_json_schema_marks_serial_read_only_and_nullable_arrays(void **state)
{
    (void)state;
    struct cfg_column id = column_of(CFG_TYPE_SERIAL);
    id.name = "id";
    json_t *schema = schema_of(&id);
    assert_true(json_is_true(json_object_get(schema, "readOnly")));
    assert_string_equal(string_at(schema, "type"), "integer");
    json_decref(schema);
    struct cfg_column tags = array_of(CFG_TYPE_INTEGER, 0);
    tags.is_nullable = true;
    schema = schema_of(&tags);
    json_t *expected = json_pack("[s,s]", "array", "null");
    assert_true(json_equal(json_object_get(schema, "type"), expected));
    assert_string_equal(string_at(json_object_get(schema, "items"), "type"), "integer");
    json_decref(expected);
    json_decref(schema);
}

static void test_default_value_may_be_json_null(void **state)
{
    (void)state;
    struct cfg_column note = column_of(CFG_TYPE_TEXT);
    note.default_kind = CFG_DEFAULT_VALUE;
    note.default_value = json_null();
    json_t *value = orm_column_default_json(&note);
    assert_true(json_is_null(value));
    json_decref(value);
    json_t *schema = schema_of(&note);
    assert_true(json_is_null(json_object_get(schema, "default")));
    json_decref(schema);
    json_decref(note.default_value);
}

static void test_choices_apply_to_text_filters_of_other_types(void **state)
{
    (void)state;
    struct cfg_column day = column_of(CFG_TYPE_DATE);
    day.choices = json_pack("[s]", "2024-01-01");
    expect_text(&day, "2024-01-01", "2024-01-01");
    expect_text_error(&day, "2024-01-02", "must be one of: \"2024-01-01\"");
    json_decref(day.choices);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_text_accepts_exact_range_limits),
        cmocka_unit_test(test_integer_text_is_strict),
        cmocka_unit_test(test_integer_json_takes_integers_and_integral_reals),
        cmocka_unit_test(test_foreign_key_parses_as_its_referenced_type),
        cmocka_unit_test(test_boolean_text_spellings),
        cmocka_unit_test(test_boolean_json_takes_only_true_and_false),
        cmocka_unit_test(test_decimal_text_syntax_is_strict),
        cmocka_unit_test(test_numeric_precision_and_scale_limit_integer_digits),
        cmocka_unit_test(test_real_and_double_reject_out_of_range),
        cmocka_unit_test(test_decimal_json_keeps_shortest_exact_spelling),
        cmocka_unit_test(test_varchar_length_counts_characters_not_bytes),
        cmocka_unit_test(test_strings_reject_nul_and_invalid_utf8),
        cmocka_unit_test(test_email_needs_one_at_and_a_dotted_domain),
        cmocka_unit_test(test_uuid_is_canonical_lower_case),
        cmocka_unit_test(test_timestamptz_keeps_offsets_and_defaults_to_utc),
        cmocka_unit_test(test_timestamp_converts_an_offset_to_utc),
        cmocka_unit_test(test_timestamps_reject_impossible_and_malformed_values),
        cmocka_unit_test(test_date_knows_leap_years),
        cmocka_unit_test(test_time_forms),
        cmocka_unit_test(test_interval_takes_iso_durations_and_seconds),
        cmocka_unit_test(test_json_is_written_compactly_and_exactly),
        cmocka_unit_test(test_bytea_takes_strict_base64),
        cmocka_unit_test(test_array_json_becomes_a_quoted_literal),
        cmocka_unit_test(test_array_text_parses_one_element),
        cmocka_unit_test(test_choices_compare_canonically),
        cmocka_unit_test(test_null_depends_on_nullability),
        cmocka_unit_test(test_errors_carry_outcome_and_field),
        cmocka_unit_test(test_error_messages_stay_short_and_valid_utf8),
        cmocka_unit_test(test_cast_names),
        cmocka_unit_test(test_only_string_types_are_text),
        cmocka_unit_test(test_default_json_renders_each_kind),
        cmocka_unit_test(test_default_uuid4_is_fresh_and_well_formed),
        cmocka_unit_test(test_json_schema_types_and_formats),
        cmocka_unit_test(test_json_schema_constraints_and_annotations),
        cmocka_unit_test(test_text_error_field_defaults_to_column_name),
        cmocka_unit_test(test_array_elements_are_canonicalised),
        cmocka_unit_test(test_interval_json_rejects_huge_numbers),
        cmocka_unit_test(test_json_schema_marks_serial_read_only_and_nullable_arrays),
        cmocka_unit_test(test_default_value_may_be_json_null),
        cmocka_unit_test(test_choices_apply_to_text_filters_of_other_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
