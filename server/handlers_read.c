/*
 * server/handlers_read.c — the GET routes that read rows: list, one row, count and ids. Each
 * parses its parameters, builds one statement, and passes PostgreSQL's JSON through. A row
 * carries its ETag and a list a weak one; If-None-Match is answered 304 after the query, from
 * the tag of what would have been sent. __count=estimated asks the planner first (EXPLAIN),
 * then counts exactly only below the table's count_exact_below.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

/* What the list callbacks need: Content-Range, and for __count=estimated the parsed request
 * itself (in the arena), since the page's statement is built once the estimate is in. */
struct list_state {
    bool range_header;
    char range_name[64]; /* the name written in the value: __range_header_name, or the table */
    long offset;
    long limit;
    long long estimate; /* the planner's total when it is used instead of count(*); else -1 */
    struct srv_list_params *params;
};

static void list_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    struct list_state *state = request->handler_state;
    long long total = state->estimate;
    if (state->range_header && PQnfields(outcome->result) > 1)
        total = strtoll(PQgetvalue(outcome->result, 0, 1), NULL, 10);
    /* weak: a hash of the bytes this principal is sent (its rows under its policies) */
    char etag[SRV_ETAG_SIZE];
    srv_list_etag(PQgetvalue(outcome->result, 0, 0), (size_t)PQgetlength(outcome->result, 0, 0),
                  state->range_header ? total : -1, etag, sizeof etag);
    if (srv_if_none_match_hits(request, etag)) {
        srv_respond_not_modified(request, etag);
        return;
    }
    srv_respond_result(request, 200, "{\"rows\":", outcome->result, "}");
    outcome->result = NULL;
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
    srv_add_vary(request, "Accept"); /* CSV is the other one */
    if (state->range_header && total >= 0) {
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

/* with_total: the page and count(*) in one statement; else the page alone */
static void run_list(struct srv_request *request, const struct orm_select *select, bool with_total)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request,
                  with_total ? orm_build_list_with_total(select, &sql, &error)
                             : orm_build_list(select, &sql, &error),
                  &sql, &error, list_done);
}

/* The estimated total of the list's filters (__count=estimated): below count_exact_below the
 * planner's guess is not trusted and the page comes with count(*) as usual. */
static void list_estimate_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    struct list_state *state = request->handler_state;
    long long estimate = orm_explain_rows(PQgetvalue(outcome->result, 0, 0));
    bool is_exact = estimate < 0 || estimate < request->route.table->count_exact_below;
    state->estimate = is_exact ? -1 : estimate;
    run_list(request, &state->params->select, is_exact);
}

void srv_handle_list(struct srv_request *request)
{
    struct srv_list_params *params = rs_arena_alloc(&request->arena, sizeof *params);
    if (srv_list_params_parse(request, SRV_PARAMS_LIST, params) < 0)
        return;
    bool wants_csv = srv_list_wants_csv(request, params);
    if (params->cursor && wants_csv) {
        srv_respond_error(request, 400, "__cursor",
                          "__cursor pages are JSON: a CSV page takes __page, and GET /T/export/ "
                          "has every row");
        return;
    }
    if (wants_csv) {
        srv_list_csv(request, params);
        return;
    }
    if (params->cursor) {
        srv_list_cursor_run(request, params);
        return;
    }
    struct list_state *state = rs_arena_alloc(&request->arena, sizeof *state);
    state->range_header = params->range_header;
    /* as piccolo_api: the header is always Content-Range, __range_header_name changes the name
     * written in its value ("movies 0-14/42") */
    snprintf(state->range_name, sizeof state->range_name, "%s",
             params->range_header_name && *params->range_header_name ? params->range_header_name
                                                                     : request->route.table->name);
    state->offset = params->select.offset;
    state->limit = params->select.limit;
    state->estimate = -1;
    state->params = params;
    request->handler_state = state;

    if (!params->range_header || !params->count_estimated) {
        run_list(request, &params->select, params->range_header);
        return;
    }
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_count_estimate(&params->select, &sql, &error), &sql, &error,
                  list_estimate_done);
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
    /* strong: the row's version, the same for every client whatever fields it asked for */
    char etag[SRV_ETAG_SIZE];
    srv_row_etag(PQgetvalue(outcome->result, 0, 1), etag, sizeof etag);
    if (srv_if_none_match_hits(request, etag)) {
        srv_respond_not_modified(request, etag);
        return;
    }
    srv_respond_result(request, 200, NULL, outcome->result, NULL);
    outcome->result = NULL;
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
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
    srv_run_built(request, orm_build_get(&params.select, pk, &sql, &error), &sql, &error, get_done);
}

struct count_state {
    struct srv_list_params *params;
};

static void respond_count(struct srv_request *request, long long count, bool is_estimated)
{
    struct count_state *state = request->handler_state;
    json_t *body = json_pack("{s:I,s:I}", "count", (json_int_t)count, "page_size",
                             (json_int_t)state->params->page_size);
    if (state->params->count_given)
        json_object_set_new(body, "estimated", json_boolean(is_estimated));
    srv_respond_json(request, 200, body);
}

static void count_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    respond_count(request, strtoll(PQgetvalue(outcome->result, 0, 0), NULL, 10), false);
}

static void run_count(struct srv_request *request, const struct orm_select *select)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_count(select, &sql, &error), &sql, &error, count_done);
}

/* __count=estimated: the planner's estimate when it expects count_exact_below rows or more
 * (counting them would read them all), else the exact count, chained */
static void count_estimate_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    struct count_state *state = request->handler_state;
    long long estimate = orm_explain_rows(PQgetvalue(outcome->result, 0, 0));
    if (estimate < 0 || estimate < request->route.table->count_exact_below)
        run_count(request, &state->params->select);
    else
        respond_count(request, estimate, true);
}

void srv_handle_count(struct srv_request *request)
{
    struct srv_list_params *params = rs_arena_alloc(&request->arena, sizeof *params);
    if (srv_list_params_parse(request, SRV_PARAMS_COUNT, params) < 0)
        return;
    struct count_state *state = rs_arena_alloc(&request->arena, sizeof *state);
    state->params = params;
    request->handler_state = state;
    if (!params->count_estimated) {
        run_count(request, &params->select);
        return;
    }
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_count_estimate(&params->select, &sql, &error), &sql, &error,
                  count_estimate_done);
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
    srv_run_built(request,
                  orm_build_ids(request->route.table, params.search, params.limit, params.offset,
                                &sql, &error),
                  &sql, &error, ids_done);
}
