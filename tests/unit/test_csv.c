/*
 * tests/unit/test_csv.c — the RFC 4180 writer (base/csv.c): which fields are quoted, how quotes
 * are doubled, NULL against the empty string, and row ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void field(struct sb *out, bool is_first, const char *text)
{
    rs_csv_append_field(out, is_first, text, text ? strlen(text) : 0);
}

static void test_plain_fields_are_written_as_they_are(void **state)
{
    (void)state;
    struct sb out = {0};
    field(&out, true, "abc");
    field(&out, false, "12.5");
    field(&out, false, " spaced ");
    field(&out, false, "=1+2");
    rs_csv_end_row(&out);
    assert_string_equal(sb_text(&out), "abc,12.5, spaced ,=1+2\r\n");
    sb_free(&out);
}

static void test_specials_are_quoted_and_quotes_doubled(void **state)
{
    (void)state;
    struct sb out = {0};
    field(&out, true, "a,b");
    field(&out, false, "say \"hi\"");
    field(&out, false, "line\nbreak");
    field(&out, false, "cr\rhere");
    field(&out, false, "\"");
    rs_csv_end_row(&out);
    assert_string_equal(sb_text(&out),
                        "\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"cr\rhere\",\"\"\"\"\r\n");
    sb_free(&out);
}

static void test_null_is_nothing_and_empty_is_quoted(void **state)
{
    (void)state;
    struct sb out = {0};
    field(&out, true, NULL);
    field(&out, false, "");
    field(&out, false, NULL);
    field(&out, false, "\\.");
    rs_csv_end_row(&out);
    rs_csv_append_lone_field(&out, "\\.", 2);
    rs_csv_end_row(&out);
    rs_csv_append_lone_field(&out, NULL, 0);
    rs_csv_end_row(&out);
    assert_string_equal(sb_text(&out), ",\"\",,\\.\r\n\"\\.\"\r\n\r\n");
    sb_free(&out);
}

static void test_length_is_respected_and_utf8_passes_through(void **state)
{
    (void)state;
    struct sb out = {0};
    rs_csv_append_field(&out, true, "héllo,world", 6);
    rs_csv_append_field(&out, false, "x\"y", 3);
    assert_string_equal(sb_text(&out), "héllo,\"x\"\"y\"");
    sb_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_fields_are_written_as_they_are),
        cmocka_unit_test(test_specials_are_quoted_and_quotes_doubled),
        cmocka_unit_test(test_null_is_nothing_and_empty_is_quoted),
        cmocka_unit_test(test_length_is_respected_and_utf8_passes_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
