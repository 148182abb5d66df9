/*
 * tests/unit/test_base.c — the bottom layer (base/): the one base64 every caller shares, in
 * both alphabets and with each caller's padding rule (JWT parts unpadded url, password hashes
 * and bytea padded standard, config's looser bytea-default shape), the x* allocators'
 * promises (never NULL, zero sizes freeable, xstrndup stops at the length or a NUL), and the
 * arena's (the inline block first, alignment, growth, large allocations beside the current
 * chunk, cleanups newest first).
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
