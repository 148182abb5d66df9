/*
 * tests/unit/test_base.c — the bottom layer (base/): the one base64 every caller shares, in
 * both alphabets and with each caller's padding rule (JWT parts unpadded url, password hashes
 * and bytea padded standard, config's looser bytea-default shape), the x* allocators'
 * promises (never NULL, zero sizes freeable, xstrndup stops at the length or a NUL), and the
 * arena's (the inline block first, alignment, growth, large allocations beside the current
 * chunk, cleanups newest first), and the value grammar config/ and orm/ share (what each
 * parser accepts, refuses and writes back).
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void expect_decoded(const char *text, enum rs_base64_variant variant, const char *bytes,
                           size_t length)
{
    unsigned char *out = NULL;
    size_t out_length = 99;
    assert_int_equal(rs_base64_decode(text, strlen(text), variant, &out, &out_length), 0);
    assert_non_null(out);
    assert_int_equal(out_length, length);
    assert_memory_equal(out, bytes, length);
    free(out);
}

static void expect_refused(const char *text, enum rs_base64_variant variant)
{
    unsigned char *out = (unsigned char *)"not touched";
    size_t out_length = 99;
    assert_int_equal(rs_base64_decode(text, strlen(text), variant, &out, &out_length), -1);
    assert_null(out);
    assert_int_equal(out_length, 0);
}

static void test_standard_decodes_padded_text(void **state)
{
    (void)state;
    expect_decoded("", RS_BASE64_STANDARD, "", 0);
    expect_decoded("QQ==", RS_BASE64_STANDARD, "A", 1);
    expect_decoded("QUI=", RS_BASE64_STANDARD, "AB", 2);
    expect_decoded("QUJD", RS_BASE64_STANDARD, "ABC", 3);
    expect_decoded("+/+/", RS_BASE64_STANDARD, "\xfb\xff\xbf", 3);
}

static void test_standard_refuses_missing_or_misplaced_padding(void **state)
{
    (void)state;
    static const char *const bad[] = {"QQ",   "QUI",   "Q===",  "====", "QQ=A",   "Q=Q=",
                                      "QQ= ", " QQ==", "QUJD=", "-_-_", "QUJD\n", "QQ==QQ=="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(bad[i], RS_BASE64_STANDARD);
}

static void test_unused_bits_must_be_zero(void **state)
{
    (void)state;
    expect_refused("QR==", RS_BASE64_STANDARD); /* 'R' leaves bits set after the one byte */
    expect_refused("QUJ=", RS_BASE64_STANDARD);
    expect_decoded("QUI=", RS_BASE64_STANDARD, "AB", 2);
    expect_refused("QR", RS_BASE64_URL);
}

static void test_url_decodes_unpadded_text_only(void **state)
{
    (void)state;
    expect_decoded("QQ", RS_BASE64_URL, "A", 1);
    expect_decoded("QUI", RS_BASE64_URL, "AB", 2);
    expect_decoded("-_-_", RS_BASE64_URL, "\xfb\xff\xbf", 3);
    expect_refused("QQ==", RS_BASE64_URL);
    expect_refused("+/+/", RS_BASE64_URL);
    expect_refused("QUJDR", RS_BASE64_URL); /* a length no encoding has */
}

static void test_decode_reads_only_the_given_length(void **state)
{
    (void)state;
    unsigned char *out = NULL;
    size_t length = 0;
    assert_int_equal(rs_base64_decode("QUI.junk", 3, RS_BASE64_URL, &out, &length), 0);
    assert_int_equal(length, 2);
    assert_memory_equal(out, "AB", 2);
    free(out);
}

static void test_shape_check_allows_unused_bits(void **state)
{
    (void)state;
    assert_true(rs_base64_is_shaped("QR==", 4, RS_BASE64_STANDARD));
    assert_true(rs_base64_is_shaped("", 0, RS_BASE64_STANDARD));
    assert_false(rs_base64_is_shaped("QQ", 2, RS_BASE64_STANDARD));
    assert_false(rs_base64_is_shaped("Q===", 4, RS_BASE64_STANDARD));
    assert_false(rs_base64_is_shaped("QQ=A", 4, RS_BASE64_STANDARD));
    assert_false(rs_base64_is_shaped("not base64!", 11, RS_BASE64_STANDARD));
}

static void test_encode_pads_standard_and_not_url(void **state)
{
    (void)state;
    static const struct {
        const char *bytes, *standard, *url;
    } cases[] = {{"", "", ""},
                 {"A", "QQ==", "QQ"},
                 {"AB", "QUI=", "QUI"},
                 {"ABC", "QUJD", "QUJD"},
                 {"\xfb\xff\xbf", "+/+/", "-_-_"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const unsigned char *bytes = (const unsigned char *)cases[i].bytes;
        size_t length = strlen(cases[i].bytes);
        char *standard = rs_base64_encode(bytes, length, RS_BASE64_STANDARD);
        char *url = rs_base64_encode(bytes, length, RS_BASE64_URL);
        assert_string_equal(standard, cases[i].standard);
        assert_string_equal(url, cases[i].url);
        expect_decoded(standard, RS_BASE64_STANDARD, cases[i].bytes, length);
        expect_decoded(url, RS_BASE64_URL, cases[i].bytes, length);
        free(standard);
        free(url);
    }
}

static void test_allocators_never_return_null(void **state)
{
    (void)state;
    void *nothing = xmalloc(0);
    void *none = xcalloc(0, 8);
    void *grown = xrealloc(NULL, 0);
    assert_non_null(nothing);
    assert_non_null(none);
    assert_non_null(grown);
    free(nothing);
    free(none);
    free(grown);
    char *copy = xstrdup("movie");
    char *cut = xstrndup("movie", 3);
    char *short_text = xstrndup("ab\0cd", 5);
    assert_string_equal(copy, "movie");
    assert_string_equal(cut, "mov");
    assert_string_equal(short_text, "ab");
    assert_null(xstrdup_or_null(NULL));
    free(copy);
    free(cut);
    free(short_text);
}

/* ---- arenas ---------------------------------------------------------------------------- */

static void test_arena_uses_the_inline_block_first(void **state)
{
    (void)state;
    alignas(max_align_t) unsigned char block[1024];
    struct rs_arena arena;
    rs_arena_init(&arena, block, sizeof block);
    for (int i = 0; i < 20; i++) {
        unsigned char *memory = rs_arena_alloc(&arena, 24);
        assert_true(memory >= block && memory + 24 <= block + sizeof block);
    }
    assert_int_equal(arena.heap_bytes, 0);
    rs_arena_free(&arena);
}

static void test_arena_aligns_every_allocation(void **state)
{
    (void)state;
    unsigned char block[301];
    struct rs_arena arena;
    rs_arena_init(&arena, block + 1, sizeof block - 1); /* a block that starts unaligned */
    for (size_t size = 1; size < 40; size++) {
        void *memory = rs_arena_alloc(&arena, size);
        assert_int_equal((uintptr_t)memory % alignof(max_align_t), 0);
        memset(memory, 0xab, size);
    }
    rs_arena_free(&arena);
}

static void test_arena_grows_past_the_first_block(void **state)
{
    (void)state;
    unsigned char block[64];
    struct rs_arena arena;
    rs_arena_init(&arena, block, sizeof block);
    char *texts[500];
    for (int i = 0; i < 500; i++) {
        char number[16];
        snprintf(number, sizeof number, "value %d", i);
        texts[i] = rs_arena_strdup(&arena, number);
    }
    for (int i = 0; i < 500; i++) {
        char number[16];
        snprintf(number, sizeof number, "value %d", i);
        assert_string_equal(texts[i], number);
    }
    assert_true(arena.heap_bytes > 0);
    rs_arena_free(&arena); /* LeakSanitizer checks every chunk went */
}

static void test_arena_large_allocation_keeps_the_current_chunk(void **state)
{
    (void)state;
    struct rs_arena arena;
    rs_arena_init(&arena, NULL, 0);
    char *small = rs_arena_alloc(&arena, 16);
    unsigned char *cursor = arena.cursor;
    char *large = rs_arena_calloc(&arena, 100, 1024);
    assert_int_equal(large[100 * 1024 - 1], 0);
    assert_ptr_equal(arena.cursor, cursor); /* the next small one still goes after small */
    char *next = rs_arena_alloc(&arena, 16);
    assert_ptr_equal(next, small + 16);
    rs_arena_free(&arena);
}

static void test_arena_strndup_stops_at_length_or_nul(void **state)
{
    (void)state;
    struct rs_arena arena;
    rs_arena_init(&arena, NULL, 0);
    assert_string_equal(rs_arena_strndup(&arena, "movie", 3), "mov");
    assert_string_equal(rs_arena_strndup(&arena, "ab\0cd", 5), "ab");
    assert_string_equal(rs_arena_strdup(&arena, ""), "");
    assert_non_null(rs_arena_alloc(&arena, 0));
    rs_arena_free(&arena);
}

static int cleanup_order[4];
static int cleanup_count;

static void record_cleanup(void *data)
{
    cleanup_order[cleanup_count++] = *(int *)data;
}

static void test_arena_runs_cleanups_newest_first_at_free(void **state)
{
    (void)state;
    struct rs_arena arena;
    rs_arena_init(&arena, NULL, 0);
    cleanup_count = 0;
    int *first = rs_arena_alloc(&arena, sizeof *first);
    int *second = rs_arena_alloc(&arena, sizeof *second);
    *first = 1;
    *second = 2;
    rs_arena_defer(&arena, record_cleanup, first);
    rs_arena_defer(&arena, record_cleanup, second);
    assert_int_equal(cleanup_count, 0);
    assert_null(rs_arena_adopt(&arena, NULL));
    rs_arena_adopt(&arena, xstrdup("freed with the arena"));
    rs_arena_free(&arena);
    assert_int_equal(cleanup_count, 2);
    assert_int_equal(cleanup_order[0], 2);
    assert_int_equal(cleanup_order[1], 1);
}

/* ---- the value grammar ---------------------------------------------------------------- */

enum grammar { DATE, TIME, STAMP_KEPT, STAMP_TO_UTC, STAMP_REFUSED, INTERVAL, UUID, EMAIL };

struct grammar_case {
    enum grammar grammar;
    const char *text;
    int result;            /* RS_VALUE_* */
    const char *canonical; /* when RS_VALUE_OK */
};

static int run_grammar(enum grammar grammar, const char *text, struct sb *out)
{
    struct rs_error error = {0};
    switch (grammar) {
    case DATE:
        return rs_parse_date(text, out);
    case TIME:
        return rs_parse_time(text, out);
    case STAMP_KEPT:
        return rs_parse_timestamp(text, RS_ZONE_KEPT, out, &error);
    case STAMP_TO_UTC:
        return rs_parse_timestamp(text, RS_ZONE_TO_UTC, out, &error);
    case STAMP_REFUSED:
        return rs_parse_timestamp(text, RS_ZONE_REFUSED, out, &error);
    case INTERVAL:
        return rs_parse_interval(text, out);
    case UUID:
        return rs_parse_uuid(text, out);
    case EMAIL:
        return rs_parse_email(text, out);
    }
    return -99;
}

/* Each accepted input with its canonical text, each refused one with the reason it is refused
 * for; the decisions of docs/decisions.md ("One value grammar") are rows here. */
static void test_grammar_accepts_and_canonicalises_as_documented(void **state)
{
    (void)state;
    static const struct grammar_case cases[] = {
        {DATE, "2024-02-29", RS_VALUE_OK, "2024-02-29"},
        {DATE, "2023-02-29", RS_VALUE_MALFORMED, NULL},
        {DATE, "0000-01-01", RS_VALUE_MALFORMED, NULL}, /* no year 0 in PostgreSQL */
        {DATE, "2024-1-01", RS_VALUE_MALFORMED, NULL},
        {DATE, "2024-01-01 ", RS_VALUE_MALFORMED, NULL},
        {TIME, "12:30", RS_VALUE_OK, "12:30:00"},
        {TIME, "23:59:59.123456789", RS_VALUE_OK, "23:59:59.123456789"},
        {TIME, "23:59:59.1234567890", RS_VALUE_MALFORMED, NULL}, /* at most 9 digits */
        {TIME, "23:59:60", RS_VALUE_MALFORMED, NULL},            /* no leap second */
        {TIME, "24:00", RS_VALUE_MALFORMED, NULL},
        {STAMP_KEPT, "2024-01-31T12:00:00", RS_VALUE_OK, "2024-01-31T12:00:00+00:00"},
        {STAMP_KEPT, "2024-01-31 12:00:00.5-0130", RS_VALUE_OK, "2024-01-31T12:00:00.5-01:30"},
        {STAMP_KEPT, "2024-01-31T12:00z", RS_VALUE_OK, "2024-01-31T12:00:00+00:00"},
        {STAMP_KEPT, "2024-01-31T12:00:00+05:", RS_VALUE_MALFORMED, NULL},
        {STAMP_KEPT, "2024-01-31T12:00:00+16", RS_VALUE_MALFORMED, NULL},
        {STAMP_KEPT, "2024-01-31", RS_VALUE_MALFORMED, NULL}, /* a date is not a timestamp */
        {STAMP_KEPT, "2024-01-31t12:00:00", RS_VALUE_MALFORMED, NULL},
        {STAMP_TO_UTC, "2024-01-01T01:00:00+02:00", RS_VALUE_OK, "2023-12-31T23:00:00"},
        {STAMP_TO_UTC, "2024-01-01T01:00:00Z", RS_VALUE_OK, "2024-01-01T01:00:00"},
        {STAMP_TO_UTC, "0001-01-01T00:30:00+01:00", RS_VALUE_OUT_OF_RANGE, NULL},
        {STAMP_REFUSED, "2024-01-01T01:00:00", RS_VALUE_OK, "2024-01-01T01:00:00"},
        {STAMP_REFUSED, "2024-01-01T01:00:00Z", RS_VALUE_MALFORMED, NULL},
        {STAMP_REFUSED, "2024-01-01T01:00:00+02:00", RS_VALUE_MALFORMED, NULL},
        {INTERVAL, "PT1H30M", RS_VALUE_OK, "PT1H30M"},
        {INTERVAL, "P-1DT0.5S", RS_VALUE_OK, "P-1DT0.5S"},
        {INTERVAL, "90", RS_VALUE_OK, "PT90S"},
        {INTERVAL, "-1.5", RS_VALUE_OK, "PT-1.5S"},
        {INTERVAL, "1 hour", RS_VALUE_MALFORMED, NULL},
        {INTERVAL, "PT", RS_VALUE_MALFORMED, NULL},
        {INTERVAL, "PT1M1H", RS_VALUE_MALFORMED, NULL},
        {UUID, "123E4567-E89B-12D3-A456-426614174000", RS_VALUE_OK,
         "123e4567-e89b-12d3-a456-426614174000"},
        {UUID, "123e4567e89b12d3a456426614174000", RS_VALUE_MALFORMED, NULL},
        {EMAIL, "a@b.co", RS_VALUE_OK, "a@b.co"},
        {EMAIL, "a@b..co", RS_VALUE_MALFORMED, NULL},
        {EMAIL, "a@.b.co", RS_VALUE_MALFORMED, NULL},
        {EMAIL, "a\x01@b.co", RS_VALUE_MALFORMED, NULL},
        {EMAIL, "a@b@c.co", RS_VALUE_MALFORMED, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sb out = {0};
        int result = run_grammar(cases[i].grammar, cases[i].text, &out);
        if (result != cases[i].result ||
            (cases[i].canonical && strcmp(sb_text(&out), cases[i].canonical) != 0))
            fail_msg("%s: got %d \"%s\", expected %d \"%s\"", cases[i].text, result, sb_text(&out),
                     cases[i].result, cases[i].canonical ? cases[i].canonical : "");
        assert_int_equal(run_grammar(cases[i].grammar, cases[i].text, NULL), cases[i].result);
        sb_free(&out);
    }
}

static void test_grammar_integers_are_digits_within_the_range(void **state)
{
    (void)state;
    long long value = 0;
    assert_int_equal(rs_parse_integer("-32768", -32768, 32767, &value), RS_VALUE_OK);
    assert_int_equal(value, -32768);
    assert_int_equal(rs_parse_integer("32768", -32768, 32767, NULL), RS_VALUE_OUT_OF_RANGE);
    assert_int_equal(rs_parse_integer("99999999999999999999", 0, 10, NULL), RS_VALUE_OUT_OF_RANGE);
    static const char *const malformed[] = {"", "-", "+1", " 1", "1.0", "0x10", "1e3"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(rs_parse_integer(malformed[i], -100, 100, NULL), RS_VALUE_MALFORMED);
}

static void test_grammar_decimals_say_why_they_are_out_of_range(void **state)
{
    (void)state;
    struct rs_error error = {0};
    struct sb out = {0};
    assert_int_equal(rs_parse_decimal("-.5e3", RS_DECIMAL_NUMERIC, 0, 0, &out, &error),
                     RS_VALUE_OK);
    assert_string_equal(sb_text(&out), "-.5e3");
    sb_free(&out);
    assert_int_equal(rs_parse_decimal("999.995", RS_DECIMAL_NUMERIC, 5, 2, NULL, &error),
                     RS_VALUE_OUT_OF_RANGE);
    assert_string_equal(error.message,
                        "999.995 is out of range: numeric(5,2) holds at most 3 digits before "
                        "the point");
    assert_int_equal(rs_parse_decimal("999.994", RS_DECIMAL_NUMERIC, 5, 2, NULL, &error),
                     RS_VALUE_OK);
    assert_int_equal(rs_parse_decimal("1e39", RS_DECIMAL_REAL, 0, 0, NULL, &error),
                     RS_VALUE_OUT_OF_RANGE);
    assert_string_equal(error.message, "1e39 is out of range for a real");
    assert_int_equal(rs_parse_decimal("1e-400", RS_DECIMAL_DOUBLE, 0, 0, NULL, &error),
                     RS_VALUE_OUT_OF_RANGE);
    assert_int_equal(rs_parse_decimal("1e39", RS_DECIMAL_DOUBLE, 0, 0, NULL, NULL), RS_VALUE_OK);
    assert_int_equal(rs_parse_decimal("NaN", RS_DECIMAL_DOUBLE, 0, 0, NULL, NULL),
                     RS_VALUE_MALFORMED);
    assert_int_equal(rs_parse_decimal("+1", RS_DECIMAL_NUMERIC, 0, 0, NULL, NULL),
                     RS_VALUE_MALFORMED);
    char text[40];
    rs_format_double(0.1, text, sizeof text);
    assert_string_equal(text, "0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_decodes_padded_text),
        cmocka_unit_test(test_standard_refuses_missing_or_misplaced_padding),
        cmocka_unit_test(test_unused_bits_must_be_zero),
        cmocka_unit_test(test_url_decodes_unpadded_text_only),
        cmocka_unit_test(test_decode_reads_only_the_given_length),
        cmocka_unit_test(test_shape_check_allows_unused_bits),
        cmocka_unit_test(test_encode_pads_standard_and_not_url),
        cmocka_unit_test(test_allocators_never_return_null),
        cmocka_unit_test(test_arena_uses_the_inline_block_first),
        cmocka_unit_test(test_arena_aligns_every_allocation),
        cmocka_unit_test(test_arena_grows_past_the_first_block),
        cmocka_unit_test(test_arena_large_allocation_keeps_the_current_chunk),
        cmocka_unit_test(test_arena_strndup_stops_at_length_or_nul),
        cmocka_unit_test(test_arena_runs_cleanups_newest_first_at_free),
        cmocka_unit_test(test_grammar_accepts_and_canonicalises_as_documented),
        cmocka_unit_test(test_grammar_integers_are_digits_within_the_range),
        cmocka_unit_test(test_grammar_decimals_say_why_they_are_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
