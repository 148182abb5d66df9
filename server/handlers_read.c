/*
 * server/handlers_read.c — the GET routes that read rows: list, one row, count and ids. Each
 * parses its parameters, builds one statement, and passes PostgreSQL's JSON through.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

/* What the list callback needs to write Content-Range. */
struct list_state {
    bool range_header;
    char range_name[64]; /* the name written in the value: __range_header_name, or the table */
    long offset;
    long limit;
};

static void list_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    struct list_state *state = request->handler_state;
    long long total = -1;
    if (state->range_header && PQnfields(outcome->result) > 1)
        total = strtoll(PQgetvalue(outcome->result, 0, 1), NULL, 10);
    srv_respond_result(request, 200, "{\"rows\":", outcome->result, "}");
    outcome->result = NULL;
    if (total >= 0) {
        char value[128];
        const char *table = state->range_name;
        long last = state->offset + state->limit;
        if (last > total)
            last = (long)total;
        if (last <= state->offset)
            snprintf(value, sizeof value, "%s */%lld", table, total);
        else
            snprintf(value, sizeof value, "%s %ld-%ld/%lld", table, state->offset, last - 1, total);
        srv_add_header(request, MHD_HTTP_HEADER_CONTENT_RANGE, value);
    }
}

void srv_handle_list(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_LIST, &params) < 0)
        return;
    struct list_state *state = rs_arena_alloc(&request->arena, sizeof *state);
    state->range_header = params.range_header;
    /* as piccolo_api: the header is always Content-Range, __range_header_name changes the name
     * written in its value ("movies 0-14/42") */
    snprintf(state->range_name, sizeof state->range_name, "%s",
             params.range_header_name && *params.range_header_name ? params.range_header_name
                                                                   : request->route.table->name);
    state->offset = params.select.offset;
    state->limit = params.select.limit;
    request->handler_state = state;

    struct orm_sql sql = {0};
    struct rs_error error = {0};
    int built = params.range_header ? orm_build_list_with_total(&params.select, &sql, &error)
                                    : orm_build_list(&params.select, &sql, &error);
    if (built < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, list_done);
    orm_sql_free(&sql);
}

static void get_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    if (PQntuples(outcome->result) == 0) {
        srv_respond_error(request, 404, NULL, "%s %s not found", request->route.table->name,
                          request->route.pk_text);
        return;
    }
    srv_respond_result(request, 200, NULL, outcome->result, NULL);
    outcome->result = NULL;
}

void srv_handle_get(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_GET, &params) < 0)
        return;
    char *pk = srv_parse_pk(request);
    if (!pk)
        return;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_get(&params.select, pk, &sql, &error) < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, get_done);
    orm_sql_free(&sql);
}

static void count_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    long long count = strtoll(PQgetvalue(outcome->result, 0, 0), NULL, 10);
    long page_size = *(long *)request->handler_state;
    srv_respond_json(
        request, 200,
        json_pack("{s:I,s:I}", "count", (json_int_t)count, "page_size", (json_int_t)page_size));
}

void srv_handle_count(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_COUNT, &params) < 0)
        return;
    long *page_size = rs_arena_alloc(&request->arena, sizeof *page_size);
    *page_size = params.page_size;
    request->handler_state = page_size;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_count(&params.select, &sql, &error) < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, count_done);
    orm_sql_free(&sql);
}

static void ids_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    srv_respond_result(request, 200, NULL, outcome->result, NULL);
    outcome->result = NULL;
}

void srv_handle_ids(struct srv_request *request)
{
    struct srv_ids_params params;
    if (srv_ids_params_parse(request, &params) < 0)
        return;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_ids(request->route.table, params.search, params.limit, params.offset, &sql,
                      &error) < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, ids_done);
    orm_sql_free(&sql);
}
