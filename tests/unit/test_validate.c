/*
 * tests/unit/test_validate.c — unit tests for server/validate.c: how a JSON body row is checked
 * against its table before any SQL (unknown keys, required columns, primary keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/validate.h"

static const char config_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"}, \"tables\": {\"movie\": {\"columns\": {"
    "\"name\": {\"type\": \"varchar\", \"length\": 20}, "
    "\"rating\": {\"type\": \"integer\", \"null\": true}}}}}";

static int setup(void **state)
{
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(config_text, "test.json", &errors);
    cfg_errors_free(&errors);
    *state = config;
    return config ? 0 : -1;
}

static int teardown(void **state)
{
    cfg_free(*state);
    return 0;
}

static const struct cfg_table *movie(void **state)
{
    return cfg_table_find(*state, "movie");
}

static int validate(void **state, const char *body, enum srv_write_mode mode, json_t *errors)
{
    json_t *row = json_loads(body, 0, NULL);
    assert_non_null(row);
    struct srv_row_values values;
    struct rs_arena arena;
    rs_arena_init(&arena, NULL, 0);
    int status = srv_row_validate(&arena, movie(state), row, mode, NULL, &values, errors);
    rs_arena_free(&arena);
    json_decref(row);
    return status;
}

static void test_validate_accepts_known_columns(void **state)
{
    json_t *errors = json_array();
    assert_int_equal(
        validate(state, "{\"name\": \"Alien\", \"rating\": 5}", SRV_WRITE_CREATE, errors), 0);
    assert_int_equal(json_array_size(errors), 0);
    json_decref(errors);
}

static void test_validate_refuses_an_unknown_key(void **state)
{
    json_t *errors = json_array();
    assert_int_equal(validate(state, "{\"nope\": 1}", SRV_WRITE_PATCH, errors), -1);
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                        "unknown column \"nope\"");
    json_decref(errors);
}

/* Found by fuzz_json_body: the message cut the key at 100 bytes, inside a character; jansson
 * refused the invalid UTF-8, the error went missing and the row was accepted (the unknown key
 * silently ignored). */
static void test_validate_refuses_a_long_unknown_key_cut_inside_a_character(void **state)
{
    char body[256];
    /* 99 ASCII bytes, then "ç" (2 bytes) across the 100-byte limit */
    snprintf(body, sizeof body, "{\"%.*s\\u00e7b\": 1}", 99,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    json_t *errors = json_array();
    assert_int_equal(validate(state, body, SRV_WRITE_PATCH, errors), -1);
    assert_int_equal(json_array_size(errors), 1);
    const char *message = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    assert_non_null(message);
    assert_non_null(strstr(message, "unknown column \"aaaa"));
    json_decref(errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_accepts_known_columns),
        cmocka_unit_test(test_validate_refuses_an_unknown_key),
        cmocka_unit_test(test_validate_refuses_a_long_unknown_key_cut_inside_a_character),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
