/*
 * tests/unit/test_params.c — unit tests for the request parameter parser (server/params.c,
 * server/params_request.c): what a list, count or bulk query string turns into (filters,
 * operators, match modes, order, pages, visible fields), the primary key of a row route and
 * the arguments of /T/ids/, and which mistakes are refused with which status. Table-driven:
 * each case is a query string as a client sends it, decoded by the HTTP layer's own decoder.
 * No database and no HTTP: the request is built as server/http.c builds it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/app.h"

static const char config_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"},"
    " \"tables\": {"
    "  \"director\": {\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 50}},"
    "                 \"readable\": \"name\"},"
    "  \"movie\": {\"columns\": {"
    "     \"name\": {\"type\": \"varchar\", \"length\": 100},"
    "     \"rating\": {\"type\": \"integer\", \"null\": true},"
    "     \"director\": {\"type\": \"foreign_key\", \"references\": \"director\", \"null\": true},"
    "     \"api_key\": {\"type\": \"varchar\", \"length\": 64, \"secret\": true, \"null\": true}},"
    "   \"page_size\": 15, \"max_page_size\": 100, \"max_joins\": 1}}}";

static struct srv_app app;

static int setup(void **state)
{
    (void)state;
    struct cfg_errors errors = {0};
    app.config = cfg_load_string(config_text, "test.json", &errors);
    for (size_t i = 0; i < errors.count; i++)
        fprintf(stderr, "%s\n", errors.messages[i]);
    assert_non_null(app.config);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free((struct cfg_config *)app.config);
    return 0;
}

/* A GET of table T with the query string, as the HTTP layer hands it to a handler. */
static void request_for(struct srv_request *request, const char *table, const char *query)
{
    memset(request, 0, sizeof *request);
    rs_arena_init(&request->arena, NULL, 0);
    request->app = &app;
    request->method = "GET";
    request->route.kind = SRV_ROUTE_COLLECTION;
    request->route.table = cfg_table_find(app.config, table);
    assert_non_null(request->route.table);
    struct rs_error error = {0};
    assert_int_equal(
        srv_query_parse(query, strlen(query), 256, &request->arena, &request->query_args, &error),
        0);
    request->args = request->query_args.args;
    request->arg_count = request->query_args.count;
}

static void request_done(struct srv_request *request)
{
    if (request->response)
        MHD_destroy_response(request->response);
    rs_arena_free(&request->arena);
}

/* ---- list, count and bulk: accepted ------------------------------------------------------- */

static void test_filters_operators_and_match_modes(void **state)
{
    (void)state;
    struct srv_request request;
    struct srv_list_params parsed;
    request_for(&request, "movie",
                "name=seven&name=heat&rating__operator=gte&rating=8&director=null"
                "&name__match=starts");
    assert_int_equal(srv_list_params_parse(&request, SRV_PARAMS_LIST, &parsed), 0);
    assert_null(request.response);
    assert_int_equal(parsed.filter_count, 3);
    for (size_t i = 0; i < parsed.filter_count; i++) {
        const struct orm_filter *filter = &parsed.filters[i];
        if (strcmp(filter->column->name, "name") == 0) {
            assert_int_equal(filter->value_count, 2); /* any of them: one IN */
            assert_int_equal(filter->match, ORM_MATCH_STARTS);
        } else if (strcmp(filter->column->name, "rating") == 0) {
            assert_int_equal(filter->op, ORM_OP_GREATER_EQUAL);
            assert_string_equal(filter->values[0], "8");
        } else {
            assert_string_equal(filter->column->name, "director");
            assert_int_equal(filter->value_count, 1);
            assert_null(filter->values[0]); /* "null": the column IS NULL */
        }
    }
    request_done(&request);
}

static void test_order_pages_and_visible_fields(void **state)
{
    (void)state;
    struct srv_request request;
    struct srv_list_params parsed;
    request_for(&request, "movie",
                "__order=-rating,name&__page=3&__page_size=10&__visible_fields=name,director.name"
                "&__range_header=true");
    assert_int_equal(srv_list_params_parse(&request, SRV_PARAMS_LIST, &parsed), 0);
    assert_int_equal(parsed.order_count, 2);
    assert_string_equal(parsed.orders[0].column->name, "rating");
    assert_true(parsed.orders[0].descending);
    assert_false(parsed.orders[1].descending);
    assert_int_equal(parsed.page, 3);
    assert_int_equal(parsed.page_size, 10);
    assert_int_equal(parsed.select.limit, 10);
    assert_int_equal(parsed.select.offset, 20);
    assert_int_equal(parsed.field_count, 2);
    /* director.name follows the foreign key: a path of two columns */
    assert_int_equal(parsed.fields[1].depth, 2);
    assert_string_equal(parsed.fields[1].path[0]->name, "director");
    assert_string_equal(parsed.fields[1].path[1]->name, "name");
    assert_true(parsed.range_header);
    request_done(&request);
}

static void test_defaults_without_parameters(void **state)
{
    (void)state;
    struct srv_request request;
    struct srv_list_params parsed;
    request_for(&request, "movie", "");
    assert_int_equal(srv_list_params_parse(&request, SRV_PARAMS_LIST, &parsed), 0);
    assert_int_equal(parsed.filter_count, 0);
    assert_int_equal(parsed.page, 1);
    assert_int_equal(parsed.page_size, 15); /* the table's page_size */
    assert_int_equal(parsed.select.offset, 0);
    assert_false(parsed.range_header);
    request_done(&request);
}

/* ---- refusals ------------------------------------------------------------------------------ */

struct refusal {
    enum srv_params_use use;
    const char *query;
    unsigned int status;
};

static void test_mistakes_are_refused_with_their_status(void **state)
{
    (void)state;
    static const struct refusal cases[] = {
        {SRV_PARAMS_LIST, "nope=1", 400},                /* unknown column */
        {SRV_PARAMS_LIST, "api_key=x", 400},             /* secret columns: no filter */
        {SRV_PARAMS_LIST, "rating=eight", 400},          /* does not parse as the type */
        {SRV_PARAMS_LIST, "rating__operator=like", 400}, /* unknown operator */
        {SRV_PARAMS_LIST, "rating__match=exact", 400},   /* match modes: text only */
        {SRV_PARAMS_LIST, "name__match=sounds", 400},    /* unknown match mode */
        {SRV_PARAMS_LIST, "__order=nope", 400},
        {SRV_PARAMS_LIST, "__order=api_key", 400},
        {SRV_PARAMS_LIST, "__page=0", 400},
        {SRV_PARAMS_LIST, "__page=2147483648", 400}, /* past 2^31 */
        {SRV_PARAMS_LIST, "__page_size=101", 403},   /* over max_page_size */
        {SRV_PARAMS_LIST, "__page_size=x", 400},
        {SRV_PARAMS_LIST, "__visible_fields=nope", 400},
        {SRV_PARAMS_LIST, "__visible_fields=director.name.x", 400}, /* deeper than a column */
        {SRV_PARAMS_LIST, "__readable=maybe", 400},
        {SRV_PARAMS_LIST, "__range_header_name=no%20spaces&__range_header=true", 400},
        {SRV_PARAMS_LIST, "__count=roughly", 400},
        {SRV_PARAMS_LIST, "__ids=x", 400}, /* the key is an integer */
        {SRV_PARAMS_LIST, "__unknown=1", 400},
        {SRV_PARAMS_COUNT, "nope=1", 400},
        {SRV_PARAMS_BULK, "rating=eight", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_request request;
        struct srv_list_params parsed;
        request_for(&request, "movie", cases[i].query);
        int result = srv_list_params_parse(&request, cases[i].use, &parsed);
        if (result != -1 || request.status != cases[i].status || !request.response)
            fail_msg("\"%s\": result %d, status %u, expected %u", cases[i].query, result,
                     request.status, cases[i].status);
        request_done(&request);
    }
}

/* ---- a row's primary key, and /T/ids/ ----------------------------------------------------- */

static void test_primary_key_parsed_by_its_type(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *parsed; /* NULL: 400 */
    } cases[] = {{"42", "42"},          {"0", "0"}, {"abc", NULL}, {"4.5", NULL},
                 {"99999999999", NULL}, {"", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_request request;
        request_for(&request, "movie", "");
        request.route.pk_text = (char *)cases[i].text;
        char *value = srv_parse_pk(&request);
        if (cases[i].parsed) {
            assert_non_null(value);
            assert_string_equal(value, cases[i].parsed);
            assert_null(request.response);
        } else {
            assert_null(value);
            assert_int_equal(request.status, 400);
        }
        request_done(&request);
    }
}

static void test_ids_arguments(void **state)
{
    (void)state;
    struct srv_request request;
    struct srv_ids_params parsed;
    request_for(&request, "movie", "search=sev&limit=5&offset=10");
    assert_int_equal(srv_ids_params_parse(&request, &parsed), 0);
    assert_string_equal(parsed.search, "sev");
    assert_int_equal(parsed.limit, 5);
    assert_int_equal(parsed.offset, 10);
    request_done(&request);

    request_for(&request, "movie", "");
    assert_int_equal(srv_ids_params_parse(&request, &parsed), 0);
    assert_null(parsed.search);
    assert_int_equal(parsed.limit, 100); /* max_page_size */
    request_done(&request);

    static const struct {
        const char *query;
        unsigned int status;
    } refused[] = {{"limit=0", 400},
                   {"limit=-1", 400},
                   {"offset=x", 400},
                   {"limit=101", 403},
                   {"name=x", 400}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        request_for(&request, "movie", refused[i].query);
        assert_int_equal(srv_ids_params_parse(&request, &parsed), -1);
        if (request.status != refused[i].status)
            fail_msg("\"%s\": status %u, expected %u", refused[i].query, request.status,
                     refused[i].status);
        request_done(&request);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_operators_and_match_modes),
        cmocka_unit_test(test_order_pages_and_visible_fields),
        cmocka_unit_test(test_defaults_without_parameters),
        cmocka_unit_test(test_mistakes_are_refused_with_their_status),
        cmocka_unit_test(test_primary_key_parsed_by_its_type),
        cmocka_unit_test(test_ids_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
