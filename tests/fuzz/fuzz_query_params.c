/*
 * tests/fuzz/fuzz_query_params.c — libFuzzer target for the query-string parser of list,
 * count, bulk and get-one requests (server/params.c: filters, operators, match modes, col[],
 * null, __ids, __order, __page, __page_size, __visible_fields, __readable, __range_header),
 * then the SQL builder over what it accepted.
 *
 * Input: byte 0 picks the use (list/count/bulk/get/export) and the table; the rest is the raw query
 * string as a client sends it, decoded by the HTTP layer's own decoder (server/target.c:
 * percent-escapes, '+', NULs, UTF-8, the parameter cap), then parsed.
 *
 * Invariants: the decoder either refuses with a 400 or hands over NUL-free valid UTF-8; a
 * refusal of the parser is a JSON error response with 400 or 403, never a 500; an accepted
 * select builds, and the SQL text holds no byte of the request (values are bound, identifiers
 * come from the config).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 1024

static struct srv_app app;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app.config = fuzz_config_tables();
    size_t count = 2 * app.config->table_count;
    app.projections = calloc(count, sizeof *app.projections);
    fuzz_expect(app.projections != NULL, "calloc");
    for (size_t i = 0; i < count; i++)
        app.projections[i] = orm_prepare_projection(&app.config->tables[i / 2], i % 2 == 1);
    return 0;
}

static void expect_ascii(const struct orm_sql *sql)
{
    const char *text = sb_text(&sql->text);
    for (size_t i = 0; text[i]; i++)
        fuzz_expect((unsigned char)text[i] < 0x80, "SQL text holds only config identifiers");
}

static void build_sql(const struct srv_list_params *parsed, enum srv_params_use use)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    int status = 0;
    switch (use) {
    case SRV_PARAMS_LIST:
        status = orm_build_list_with_total(&parsed->select, &sql, &error);
        if (status == 0) {
            expect_ascii(&sql);
            orm_sql_free(&sql);
            status = orm_build_list(&parsed->select, &sql, &error);
        }
        break;
    case SRV_PARAMS_COUNT:
        status = orm_build_count(&parsed->select, &sql, &error);
        break;
    case SRV_PARAMS_BULK:
        status = orm_build_delete(parsed->select.table, parsed->select.filters,
                                  parsed->select.filter_count, &sql, &error);
        break;
    case SRV_PARAMS_GET:
        status = orm_build_get(&parsed->select, "1", &sql, &error);
        break;
    case SRV_PARAMS_EXPORT: {
        /* COPY takes no parameters: the values travel in the settings statement, and the COPY
         * text holds none of them either */
        struct orm_sql settings = {0};
        status = orm_build_export(&parsed->select, &settings, &sql, &error);
        if (status == 0)
            expect_ascii(&settings);
        orm_sql_free(&settings);
        break;
    }
    }
    if (status == 0)
        expect_ascii(&sql);
    else
        fuzz_expect(error.outcome == RS_INVALID && error.message[0], "a builder refusal is a 400");
    orm_sql_free(&sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16 * 1024)
        return -1;
    enum srv_params_use use = (enum srv_params_use)((data[0] & 7) % (SRV_PARAMS_EXPORT + 1));
    size_t table_index = (size_t)((data[0] >> 3) & 3) % app.config->table_count;
    /* the request owns everything parsed, as in the server: its arena, freed at the end */
    struct srv_request request = {0};
    rs_arena_init(&request.arena, NULL, 0);
    struct srv_query query;
    struct rs_error decode_error = {0};
    if (srv_query_parse((const char *)data + 1, size - 1, MAX_ARGS, &request.arena, &query,
                        &decode_error) < 0) {
        fuzz_expect(decode_error.outcome == RS_INVALID && decode_error.message[0],
                    "a query string that does not decode is a 400");
        rs_arena_free(&request.arena);
        return 0;
    }
    for (size_t i = 0; i < query.count; i++) {
        fuzz_expect(fuzz_is_utf8(query.args[i].key, strlen(query.args[i].key)),
                    "decoded names are UTF-8");
        fuzz_expect(!query.args[i].value ||
                        fuzz_is_utf8(query.args[i].value, strlen(query.args[i].value)),
                    "decoded values are UTF-8");
    }

    request.app = &app;
    request.method = "GET";
    request.route.kind = SRV_ROUTE_COLLECTION;
    request.route.table = &app.config->tables[table_index];
    request.args = query.args;
    request.arg_count = query.count;

    struct srv_list_params parsed;
    if (srv_list_params_parse(&request, use, &parsed) == 0) {
        fuzz_expect(request.response == NULL, "an accepted query string responds nothing");
        fuzz_expect(parsed.page >= 1 && parsed.page_size >= 1, "page and page size positive");
        fuzz_expect(parsed.page_size <= request.route.table->max_page_size,
                    "page size within max_page_size");
        build_sql(&parsed, use);
    } else {
        fuzz_expect(request.response != NULL, "a refused query string has a response");
        fuzz_expect(request.status == 400 || request.status == 403,
                    "a refused query string is a 400 or 403, not a 500");
    }
    if (request.response)
        MHD_destroy_response(request.response);
    rs_arena_free(&request.arena);
    return 0;
}
