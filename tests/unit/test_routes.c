/*
 * tests/unit/test_routes.c — unit tests for the route table (server/routes.c): what derives
 * from its rows (the row for a method, 405, Allow with HEAD wherever GET is, the routes that
 * never look at a token) and that every row's pattern routes back to its kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/routes.h"

#define COLUMNS "\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 20}}"

/* One table per combination of the options that change a table's rows. */
static const char config_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"},"
    " \"auth\": {\"jwt\": {\"secret\": \"0123456789abcdef0123456789abcdef\"},"
    "            \"login\": {\"enabled\": true}},"
    " \"tables\": {"
    "  \"plain\": {" COLUMNS "},"
    "  \"deletable\": {" COLUMNS ", \"allow_bulk_delete\": true},"
    "  \"updatable\": {" COLUMNS ", \"allow_bulk_update\": true},"
    "  \"both\": {" COLUMNS ", \"allow_bulk_delete\": true, \"allow_bulk_update\": true},"
    "  \"frozen\": {" COLUMNS ", \"read_only\": true, \"allow_bulk_delete\": true,"
    "              \"allow_bulk_update\": true}}}";

static const char no_login_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"}, \"tables\": {\"plain\": {" COLUMNS "}}}";

static struct cfg_config *load(const char *text)
{
    struct cfg_errors errors = {0};
    struct cfg_config *config = cfg_load_string(text, "test.json", &errors);
    for (size_t i = 0; i < errors.count; i++)
        fprintf(stderr, "%s\n", errors.messages[i]);
    cfg_errors_free(&errors);
    return config;
}

/* What the parsers allocate, freed by teardown (a request frees its arena at its end). */
static struct rs_arena arena;

static int setup(void **state)
{
    rs_arena_init(&arena, NULL, 0);
    *state = load(config_text);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    rs_arena_free(&arena);
    cfg_free(*state);
    return 0;
}

/* The route of path; its text is in the arena. */
static struct srv_route route_of(void **state, const char *path)
{
    struct srv_route route;
    srv_route_parse(*state, path, &route, &arena);
    return route;
}

static void expect_allow(void **state, const char *path, const char *allow)
{
    struct srv_route route = route_of(state, path);
    assert_string_equal(srv_route_allowed_methods(&route), allow);
}

static void test_allow_follows_each_tables_options(void **state)
{
    expect_allow(state, "/plain/", "GET, HEAD, POST, OPTIONS");
    expect_allow(state, "/deletable/", "GET, HEAD, POST, DELETE, OPTIONS");
    expect_allow(state, "/updatable/", "GET, HEAD, POST, PATCH, OPTIONS");
    expect_allow(state, "/both/", "GET, HEAD, POST, PATCH, DELETE, OPTIONS");
    /* read_only wins over the bulk options */
    expect_allow(state, "/frozen/", "GET, HEAD, OPTIONS");
    expect_allow(state, "/plain/7/", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
    expect_allow(state, "/frozen/7/", "GET, HEAD, OPTIONS");
}

static void test_allow_outside_the_collection_and_row(void **state)
{
    static const char *const read_paths[] = {
        "/",           "/healthz",   "/readyz",        "/metrics",          "/openapi.json",
        "/docs",       "/docs/a.js", "/plain/count/",  "/plain/schema/",    "/plain/ids/",
        "/plain/new/", "/both/new/", "/frozen/count/", "/plain/references/"};
    for (size_t i = 0; i < sizeof read_paths / sizeof read_paths[0]; i++)
        expect_allow(state, read_paths[i], "GET, HEAD, OPTIONS");
    expect_allow(state, "/auth/login", "POST, OPTIONS");
    expect_allow(state, "/batch/", "POST, OPTIONS");
    expect_allow(state, "/batch", "POST, OPTIONS");
}

static bool answers(void **state, const char *method, const char *path)
{
    struct srv_route route = route_of(state, path);
    const struct srv_route_row *row = srv_route_row_for(&route, method);
    return row != NULL;
}

static void test_methods_without_a_row_are_405(void **state)
{
    assert_false(answers(state, "POST", "/frozen/"));
    assert_false(answers(state, "PUT", "/frozen/7/"));
    assert_false(answers(state, "DELETE", "/frozen/7/"));
    assert_false(answers(state, "DELETE", "/plain/"));
    assert_false(answers(state, "PATCH", "/plain/"));
    assert_false(answers(state, "PATCH", "/deletable/"));
    assert_false(answers(state, "PUT", "/both/"));
    assert_false(answers(state, "POST", "/plain/7/"));
    assert_false(answers(state, "POST", "/plain/count/"));
    assert_false(answers(state, "DELETE", "/healthz"));
    assert_false(answers(state, "POST", "/docs"));
    assert_false(answers(state, "GET", "/auth/login"));
    assert_false(answers(state, "HEAD", "/auth/login"));
    assert_false(answers(state, "BREW", "/plain/"));
    assert_false(answers(state, "get", "/plain/"));
    assert_true(answers(state, "DELETE", "/deletable/"));
    assert_true(answers(state, "PATCH", "/updatable/"));
    assert_true(answers(state, "POST", "/auth/login"));
    assert_true(answers(state, "POST", "/batch/"));
    assert_false(answers(state, "GET", "/batch/"));
    assert_false(answers(state, "DELETE", "/batch/"));
}

static void test_head_is_answered_by_the_get_row(void **state)
{
    for (size_t i = 0; i < srv_route_row_count; i++) {
        const struct srv_route_row *row = &srv_route_rows[i];
        struct srv_route route = {.kind = row->kind};
        const struct srv_route_row *get = srv_route_row_for(&route, "GET");
        assert_ptr_equal(srv_route_row_for(&route, "HEAD"), get);
        if (get)
            assert_non_null(strstr(srv_route_allowed_methods(&route), "GET, HEAD"));
    }
    struct srv_route route = route_of(state, "/plain/7/");
    assert_ptr_equal(srv_route_row_for(&route, "HEAD")->handler, srv_handle_get);
}

static void test_rows_pick_their_policy_and_handler(void **state)
{
    struct srv_route route = route_of(state, "/both/");
    assert_int_equal(srv_route_row_for(&route, "GET")->policy, SRV_POLICY_TABLE_READ);
    assert_int_equal(srv_route_row_for(&route, "POST")->policy, SRV_POLICY_TABLE_WRITE);
    assert_int_equal(srv_route_row_for(&route, "PATCH")->policy, SRV_POLICY_TABLE_WRITE);
    assert_int_equal(srv_route_row_for(&route, "DELETE")->policy, SRV_POLICY_TABLE_DELETE);
    assert_ptr_equal(srv_route_row_for(&route, "DELETE")->handler, srv_handle_bulk_delete);
    route = route_of(state, "/plain/7/");
    assert_ptr_equal(srv_route_row_for(&route, "PUT")->handler, srv_handle_replace_one);
    assert_ptr_equal(srv_route_row_for(&route, "PATCH")->handler, srv_handle_patch_one);
    assert_int_equal(srv_route_row_for(&route, "DELETE")->policy, SRV_POLICY_TABLE_DELETE);
    route = route_of(state, "/metrics");
    assert_int_equal(srv_route_row_for(&route, "GET")->policy, SRV_POLICY_DEFAULT_READ);
}

static void test_probes_and_docs_never_look_at_tokens(void **state)
{
    static const struct {
        const char *path;
        bool is_token_free;
    } cases[] = {
        {"/healthz", true},   {"/readyz", true},        {"/openapi.json", true},
        {"/docs", true},      {"/docs/x.css", true},    {"/metrics", false},
        {"/", false},         {"/auth/login", false},   {"/plain/", false},
        {"/plain/7/", false}, {"/plain/count/", false}, {"/batch/", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_route route = route_of(state, cases[i].path);
        assert_int_equal(srv_route_is_token_free(&route), cases[i].is_token_free);
    }
}

static void test_login_route_exists_only_when_enabled(void **state)
{
    struct srv_route route = route_of(state, "/auth/login/");
    assert_int_equal(route.kind, SRV_ROUTE_LOGIN);
    struct cfg_config *no_login = load(no_login_text);
    assert_non_null(no_login);
    srv_route_parse(no_login, "/auth/login", &route, &arena);
    assert_int_equal(route.kind, SRV_ROUTE_NOT_FOUND);
    cfg_free(no_login);
}

static void test_admin_file_takes_the_rest_of_the_path(void **state)
{
    static const struct {
        const char *path, *file;
    } files[] = {
        {"/admin/index.html", "index.html"},
        {"/admin/assets/index-3f2a.js", "assets/index-3f2a.js"},
        {"/admin/assets%2Fx.js", "assets/x.js"}, /* decoded as a whole, then checked */
        {"/admin/a/b/", "a/b"},
        {"/admin/%2e%2e/x", "../x"}, /* routed; server/admin.c refuses the name */
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct srv_route route = route_of(state, files[i].path);
        assert_int_equal(route.kind, SRV_ROUTE_ADMIN_ASSET);
        assert_string_equal(route.pk_text, files[i].file);
    }
    assert_int_equal(route_of(state, "/admin").kind, SRV_ROUTE_ADMIN);
    assert_int_equal(route_of(state, "/admin/").kind, SRV_ROUTE_ADMIN);
    assert_int_equal(route_of(state, "/admin//x").kind, SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route_of(state, "/admin/a/b/c/d").kind, SRV_ROUTE_NOT_FOUND);
    assert_int_equal(route_of(state, "/admin/a%00").kind, SRV_ROUTE_BAD_REQUEST);
    struct srv_route route = route_of(state, "/admin/x.js");
    assert_true(srv_route_is_token_free(&route));
    assert_false(answers(state, "POST", "/admin/"));
}

static void test_admin_routes_exist_only_when_enabled(void **state)
{
    (void)state;
    struct cfg_config *off = load("{\"database\": {\"url\": \"postgresql://u@h/d\"},"
                                  " \"admin\": {\"enabled\": false},"
                                  " \"tables\": {\"plain\": {" COLUMNS "}}}");
    assert_non_null(off);
    struct srv_route route;
    srv_route_parse(off, "/admin/", &route, &arena);
    assert_int_equal(route.kind, SRV_ROUTE_NOT_FOUND);
    srv_route_parse(off, "/admin/index.html", &route, &arena);
    assert_int_equal(route.kind, SRV_ROUTE_NOT_FOUND);
    cfg_free(off);
}

/* The pattern with {table} as "both" (every row applies to it) and data segments as "7". */
static void instantiate(const char *pattern, char *out, size_t size)
{
    size_t used = 0;
    for (const char *p = pattern; *p && used + 8 < size;) {
        if (strncmp(p, "{table}", 7) == 0) {
            used += (size_t)snprintf(out + used, size - used, "both");
            p += 7;
        } else if (*p == '{') {
            used += (size_t)snprintf(out + used, size - used, "7");
            p = strchr(p, '}') + 1;
        } else {
            out[used++] = *p++;
        }
    }
    out[used] = '\0';
}

static void test_every_row_routes_back_to_its_kind(void **state)
{
    for (size_t i = 0; i < srv_route_row_count; i++) {
        char path[128];
        instantiate(srv_route_rows[i].pattern, path, sizeof path);
        struct srv_route route = route_of(state, path);
        assert_int_equal(route.kind, srv_route_rows[i].kind);
        assert_non_null(srv_route_row_for(&route, srv_route_rows[i].method));
    }
}

/* The router tries each kind's pattern once, at its first row: the rest must follow it. */
static void test_rows_of_a_kind_sit_together_with_one_pattern(void **state)
{
    (void)state;
    bool seen[SRV_ROUTE_KIND_COUNT] = {false};
    for (size_t i = 0; i < srv_route_row_count; i++) {
        const struct srv_route_row *row = &srv_route_rows[i];
        bool continues = i > 0 && srv_route_rows[i - 1].kind == row->kind;
        if (continues) {
            assert_string_equal(srv_route_rows[i - 1].pattern, row->pattern);
            assert_string_not_equal(row->method, "GET"); /* GET first: Allow's order */
        } else {
            assert_false(seen[row->kind]);
        }
        seen[row->kind] = true;
        assert_string_not_equal(row->method, "HEAD");
        assert_string_not_equal(row->method, "OPTIONS");
    }
    for (int kind = SRV_ROUTE_ROOT; kind < SRV_ROUTE_KIND_COUNT; kind++)
        assert_true(seen[kind]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_follows_each_tables_options),
        cmocka_unit_test(test_allow_outside_the_collection_and_row),
        cmocka_unit_test(test_methods_without_a_row_are_405),
        cmocka_unit_test(test_head_is_answered_by_the_get_row),
        cmocka_unit_test(test_rows_pick_their_policy_and_handler),
        cmocka_unit_test(test_probes_and_docs_never_look_at_tokens),
        cmocka_unit_test(test_login_route_exists_only_when_enabled),
        cmocka_unit_test(test_admin_file_takes_the_rest_of_the_path),
        cmocka_unit_test(test_admin_routes_exist_only_when_enabled),
        cmocka_unit_test(test_every_row_routes_back_to_its_kind),
        cmocka_unit_test(test_rows_of_a_kind_sit_together_with_one_pattern),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
