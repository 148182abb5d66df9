/*
 * tests/unit/test_request_target.c — unit tests for how a request target is read: the query
 * string's strict decoding (server/target.c) and the router on raw paths (server/router.c),
 * including the paths that once reached bulk delete with an empty primary key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/app.h"

static const char config_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"}, \"tables\": {"
    "\"movie\": {\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 20}}, "
    "\"allow_bulk_delete\": true},"
    "\"code\": {\"columns\": {\"key\": {\"type\": \"varchar\", \"length\": 20, "
    "\"primary_key\": true}}}}}";

/* What the parsers allocate, freed by teardown (a request frees its arena at its end). */
static struct rs_arena arena;

static int setup(void **state)
{
    rs_arena_init(&arena, NULL, 0);
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(config_text, "test.json", &errors);
    cfg_errors_free(&errors);
    *state = config;
    return config ? 0 : -1;
}

static int teardown(void **state)
{
    rs_arena_free(&arena);
    cfg_free(*state);
    return 0;
}

/* ---- the query string ---------------------------------------------------------------------- */

static int parse(const char *text, size_t max_params, struct srv_query *query,
                 struct rs_error *error)
{
    memset(error, 0, sizeof *error);
    return srv_query_parse(text, strlen(text), max_params, &arena, query, error);
}

static void test_query_decodes_names_values_and_plus(void **state)
{
    (void)state;
    struct srv_query query;
    struct rs_error error;
    assert_int_equal(parse("name=a%20b+c&flag&&__order=-id&x=", 10, &query, &error), 0);
    assert_int_equal(query.count, 4);
    assert_string_equal(query.args[0].key, "name");
    assert_string_equal(query.args[0].value, "a b c");
    assert_string_equal(query.args[1].key, "flag");
    assert_null(query.args[1].value);
    assert_string_equal(query.args[2].value, "-id");
    assert_string_equal(query.args[3].value, "");
}

static void test_query_refuses_nul_bad_escapes_and_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {"name=a%00b", "NUL"},         {"na%00me=1", "NUL"},         {"name=%zz", "percent-escape"},
        {"name=%4", "percent-escape"}, {"name=%", "percent-escape"}, {"name=%FF", "UTF-8"},
        {"name=%C3%28", "UTF-8"},      {"name=%ED%A0%80", "UTF-8"},  {"name=%C0%AF", "UTF-8"},
        {"%F4%90%80%80=1", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_query query;
        struct rs_error error;
        assert_int_equal(parse(cases[i].text, 10, &query, &error), -1);
        assert_int_equal(error.outcome, RS_INVALID);
        assert_non_null(strstr(error.message, cases[i].says));
        assert_null(query.args);
    }
}

static void test_query_counts_parameters_against_the_cap(void **state)
{
    (void)state;
    struct srv_query query;
    struct rs_error error;
    assert_int_equal(parse("a=1&b=2&c=3", 3, &query, &error), 0);
    assert_int_equal(parse("a=1&b=2&c=3&d", 3, &query, &error), -1);
    assert_non_null(strstr(error.message, "max_query_params"));
    /* empty pieces are not parameters */
    assert_int_equal(parse("&&&a=1&&&", 1, &query, &error), 0);
    assert_int_equal(query.count, 1);
}

static void test_query_keeps_valid_utf8(void **state)
{
    (void)state;
    struct srv_query query;
    struct rs_error error;
    assert_int_equal(parse("name=%C3%A9t%C3%A9+%F0%9F%8E%AC", 5, &query, &error), 0);
    assert_string_equal(query.args[0].value, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\xac");
}

/* ---- the router ---------------------------------------------------------------------------- */

static enum srv_route_kind route_kind(void **state, const char *path, struct srv_route *route)
{
    srv_route_parse(*state, path, route, &arena);
    return route->kind;
}

static void test_router_maps_tables_and_named_routes(void **state)
{
    struct srv_route route;
    assert_int_equal(route_kind(state, "/movie/", &route), SRV_ROUTE_COLLECTION);
    assert_int_equal(route_kind(state, "/movie", &route), SRV_ROUTE_COLLECTION);
    assert_int_equal(route_kind(state, "/movie/count/", &route), SRV_ROUTE_COUNT);
    assert_int_equal(route_kind(state, "/movie/7", &route), SRV_ROUTE_ROW);
    assert_string_equal(route.pk_text, "7");
    assert_int_equal(route_kind(state, "/", &route), SRV_ROUTE_ROOT);
    assert_int_equal(route_kind(state, "/healthz", &route), SRV_ROUTE_HEALTHZ);
    assert_int_equal(route_kind(state, "/nope/", &route), SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route_kind(state, "/movie/1/2/", &route), SRV_ROUTE_NOT_FOUND);
}

static void test_router_never_turns_an_empty_key_into_the_collection(void **state)
{
    static const char *const paths[] = {"/movie//", "//movie/", "/movie///", "//", "/movie//7"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct srv_route route;
        assert_int_equal(route_kind(state, paths[i], &route), SRV_ROUTE_NOT_FOUND);
    }
}

static void test_router_refuses_keys_that_do_not_decode(void **state)
{
    static const char *const paths[] = {"/movie/%00/", "/movie/%00junk/", "/movie/1%00",
                                        "/movie/%zz/", "/movie/%FF/",     "/docs/a%00.js"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct srv_route route;
        assert_int_equal(route_kind(state, paths[i], &route), SRV_ROUTE_BAD_REQUEST);
        assert_non_null(route.problem);
        assert_null(route.pk_text);
    }
}

static void test_router_decodes_a_key_with_an_escaped_slash_as_data(void **state)
{
    struct srv_route route;
    assert_int_equal(route_kind(state, "/code/a%2Fb/", &route), SRV_ROUTE_ROW);
    assert_string_equal(route.pk_text, "a/b");
    assert_int_equal(route_kind(state, "/movie/%2F", &route), SRV_ROUTE_ROW);
    assert_string_equal(route.pk_text, "/"); /* not an integer: the handler answers 400 */
    /* a named route is matched as sent: an escaped form of it is a key */
    assert_int_equal(route_kind(state, "/movie/%63ount/", &route), SRV_ROUTE_ROW);
    assert_string_equal(route.pk_text, "count");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_decodes_names_values_and_plus),
        cmocka_unit_test(test_query_refuses_nul_bad_escapes_and_invalid_utf8),
        cmocka_unit_test(test_query_counts_parameters_against_the_cap),
        cmocka_unit_test(test_query_keeps_valid_utf8),
        cmocka_unit_test(test_router_maps_tables_and_named_routes),
        cmocka_unit_test(test_router_never_turns_an_empty_key_into_the_collection),
        cmocka_unit_test(test_router_refuses_keys_that_do_not_decode),
        cmocka_unit_test(test_router_decodes_a_key_with_an_escaped_slash_as_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
