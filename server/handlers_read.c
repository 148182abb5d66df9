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
    char header_name[64];
    long offset;
    long limit;
};

static void free_state(void *state)
{
    free(state);
}

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
        const char *table = request->route.table->name;
        long last = state->offset + state->limit;
        if (last > total)
            last = (long)total;
        if (last <= state->offset)
            snprintf(value, sizeof value, "%s */%lld", table, total);
        else
            snprintf(value, sizeof value, "%s %ld-%ld/%lld", table, state->offset, last - 1,
                     total);
        srv_add_header(request, state->header_name, value);
    }
}

void srv_handle_list(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_LIST, &params) < 0) {
        srv_list_params_free(&params);
        return;
    }
    struct list_state *state = calloc(1, sizeof *state);
    if (!state)
        abort();
    state->range_header = params.range_header;
    snprintf(state->header_name, sizeof state->header_name, "%s",
             params.range_header_name && *params.range_header_name ? params.range_header_name
                                                                    : "Content-Range");
    state->offset = params.select.offset;
    state->limit = params.select.limit;
    request->handler_state = state;
    request->handler_state_free = free_state;

    struct orm_sql sql = {0};
    struct rs_error error = {0};
    int built = params.range_header ? orm_build_list_with_total(&params.select, &sql, &error)
                                    : orm_build_list(&params.select, &sql, &error);
    if (built < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, list_done);
    orm_sql_free(&sql);
    srv_list_params_free(&params);
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

/* Parses the {pk} of the path; responds 400 and returns NULL when it is not of the pk type. */
char *srv_parse_pk(struct srv_request *request)
{
    const struct cfg_column *pk = cfg_primary_key(request->route.table);
    struct rs_error error = {0};
    char *value = orm_value_from_text(pk, request->route.pk_text, pk->name, &error);
    if (!value)
        srv_respond_error(request, 400, pk->name, "invalid primary key \"%s\": %s",
                          request->route.pk_text, error.message);
    return value;
}

void srv_handle_get(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_GET, &params) < 0) {
        srv_list_params_free(&params);
        return;
    }
    char *pk = srv_parse_pk(request);
    if (pk) {
        struct orm_sql sql = {0};
        struct rs_error error = {0};
        if (orm_build_get(&params.select, pk, &sql, &error) < 0)
            srv_respond_rs_error(request, &error);
        else
            srv_run_query(request, &sql, get_done);
        orm_sql_free(&sql);
        free(pk);
    }
    srv_list_params_free(&params);
}

static void count_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    long long count = strtoll(PQgetvalue(outcome->result, 0, 0), NULL, 10);
    long page_size = *(long *)request->handler_state;
    srv_respond_json(request, 200,
                     json_pack("{s:I,s:I}", "count", (json_int_t)count, "page_size",
                               (json_int_t)page_size));
}

void srv_handle_count(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_COUNT, &params) < 0) {
        srv_list_params_free(&params);
        return;
    }
    long *page_size = malloc(sizeof *page_size);
    if (!page_size)
        abort();
    *page_size = params.page_size;
    request->handler_state = page_size;
    request->handler_state_free = free_state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_count(&params.select, &sql, &error) < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, count_done);
    orm_sql_free(&sql);
    srv_list_params_free(&params);
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

static int parse_count_arg(struct srv_request *request, const char *key, long fallback,
                           long minimum, long *out)
{
    const char *text = srv_arg_get(request, key);
    *out = fallback;
    if (!text)
        return 0;
    /* digits only, as every number in a query string (params.c) */
    size_t length = strlen(text);
    bool is_digits = length > 0 && length <= 10 && strspn(text, "0123456789") == length;
    long long value = is_digits ? strtoll(text, NULL, 10) : -1;
    if (!is_digits || value < minimum || value > 2147483647LL) {
        srv_respond_error(request, 400, key, "%s must be an integer between %ld and 2147483647",
                          key, minimum);
        return -1;
    }
    *out = (long)value;
    return 0;
}

void srv_handle_ids(struct srv_request *request)
{
    const struct cfg_table *table = request->route.table;
    for (size_t i = 0; i < request->arg_count; i++) {
        const char *key = request->args[i].key;
        if (strcmp(key, "search") && strcmp(key, "limit") && strcmp(key, "offset")) {
            srv_respond_error(request, 400, key, "unknown parameter \"%s\" (ids takes search, "
                              "limit and offset)", key);
            return;
        }
    }
    long limit, offset;
    if (parse_count_arg(request, "limit", table->max_page_size, 1, &limit) < 0 ||
        parse_count_arg(request, "offset", 0, 0, &offset) < 0)
        return;
    if (limit > table->max_page_size) {
        srv_metrics_limit_hit(request->app, SRV_LIMIT_MAX_PAGE_SIZE);
        srv_respond_error(request, 403, "limit", "limit %ld is over this table's max_page_size "
                          "of %d", limit, table->max_page_size);
        return;
    }
    const char *search = srv_arg_get(request, "search");
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_ids(table, search && *search ? search : NULL, limit, offset, &sql, &error) < 0)
        srv_respond_rs_error(request, &error);
    else
        srv_run_query(request, &sql, ids_done);
    orm_sql_free(&sql);
}
