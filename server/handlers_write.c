/*
 * server/handlers_write.c — the routes that change rows (create and upsert are in
 * server/handlers_create.c): replace (PUT), patch, delete one, bulk delete and bulk update. Each
 * validates everything before SQL, then runs a single statement (UPDATE/DELETE ... RETURNING):
 * there is no check-then-act race. If-Match is part of that statement's WHERE, for the same
 * reason; PUT and PATCH answer the row's new ETag.
 */
#include <stdlib.h>
#include <string.h>

#include "server/validate.h"

static void pass_through_done(struct srv_request *request, struct orm_outcome *outcome,
                              unsigned int status, const char *prefix, const char *suffix)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    srv_respond_result(request, status, prefix, outcome->result, suffix);
    outcome->result = NULL;
}

/* Single-row writes take no query parameters: say so rather than ignore them. */
static bool has_query_parameters(struct srv_request *request)
{
    if (request->arg_count == 0)
        return false;
    srv_respond_error(request, 400, request->args[0].key, "unknown parameter \"%s\"",
                      request->args[0].key);
    return true;
}

static void respond_invalid(struct srv_request *request, json_t *errors)
{
    srv_respond_errors(request, 422, "the body did not validate", errors);
}

/* A one-row write that changed nothing: the row is gone (404), or, when If-Match named
 * versions, it exists at another version (412). exists_column is the statement's EXISTS. */
static void respond_row_unchanged(struct srv_request *request, const PGresult *result,
                                  int exists_column)
{
    if (PQnfields(result) > exists_column && strcmp(PQgetvalue(result, 0, exists_column), "t") == 0)
        srv_respond_error(request, 412, NULL,
                          "%s %s has changed since the version in If-Match: nothing was written; "
                          "GET it again for its current ETag",
                          request->route.table->name, request->route.pk_text);
    else
        srv_respond_error(request, 404, NULL, "%s %s not found", request->route.table->name,
                          request->route.pk_text);
}

/* columns: the updated rows ('[]' or one), the new version, [exists] */
static void update_one_done(struct srv_request *request, struct orm_outcome *outcome, bool is_put)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    PGresult *result = outcome->result;
    if (strcmp(PQgetvalue(result, 0, 0), "[]") == 0) {
        respond_row_unchanged(request, result, 2);
        return;
    }
    char etag[SRV_ETAG_SIZE];
    srv_row_etag(PQgetvalue(result, 0, 1), etag, sizeof etag);
    if (is_put) {
        srv_respond_empty(request, 204);
    } else {
        /* one row: "[{...}]" → pass the object through without copying it */
        srv_respond_result_only_element(request, 200, result);
        outcome->result = NULL;
    }
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
}

static void patch_one_done(struct srv_request *request, struct orm_outcome *outcome)
{
    update_one_done(request, outcome, false);
}

static void put_one_done(struct srv_request *request, struct orm_outcome *outcome)
{
    update_one_done(request, outcome, true);
}

/* The row a one-row write names, with If-Match's versions. -1 after responding (400, 428). */
static int row_target(struct srv_request *request, char *pk, struct orm_row_target *target)
{
    struct srv_if_match if_match;
    if (srv_if_match_parse(request, &if_match) < 0 || srv_if_match_required(request, &if_match))
        return -1;
    *target = (struct orm_row_target){
        .pk_value = pk, .versions = if_match.versions, .version_count = if_match.version_count};
    return 0;
}

static void update_one(struct srv_request *request, bool is_put)
{
    const struct cfg_table *table = request->route.table;
    if (has_query_parameters(request))
        return;
    char *pk = srv_parse_pk(request);
    if (!pk)
        return;
    struct orm_row_target target;
    if (row_target(request, pk, &target) < 0)
        return;
    json_t *body = srv_parse_json_body(request);
    if (!body)
        return;
    if (!json_is_object(body)) {
        srv_respond_error(request, 400, NULL, "the body must be a JSON object");
        return;
    }
    json_t *errors = json_array();
    struct srv_row_values values;
    if (srv_row_validate(&request->arena, table, body, is_put ? SRV_WRITE_REPLACE : SRV_WRITE_PATCH,
                         pk, &values, errors) < 0) {
        respond_invalid(request, errors);
    } else {
        json_decref(errors);
        struct orm_row set = {values.assignments, values.count};
        struct orm_sql sql = {0};
        struct rs_error error = {0};
        srv_run_built(request, orm_build_update_row(table, &set, is_put, &target, &sql, &error),
                      &sql, &error, is_put ? put_one_done : patch_one_done);
    }
}

void srv_handle_replace_one(struct srv_request *request)
{
    update_one(request, true);
}

void srv_handle_patch_one(struct srv_request *request)
{
    update_one(request, false);
}

/* columns: the number deleted, [exists] */
static void delete_one_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    if (strtoll(PQgetvalue(outcome->result, 0, 0), NULL, 10) == 0)
        respond_row_unchanged(request, outcome->result, 1);
    else
        srv_respond_empty(request, 204);
}

void srv_handle_delete_one(struct srv_request *request)
{
    if (has_query_parameters(request))
        return;
    char *pk = srv_parse_pk(request);
    if (!pk)
        return;
    struct orm_row_target target;
    if (row_target(request, pk, &target) < 0)
        return;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_delete_row(request->route.table, &target, &sql, &error), &sql,
                  &error, delete_one_done);
}

static void bulk_delete_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK)
        srv_respond_outcome_error(request, outcome);
    else
        srv_respond_empty(request, 204);
}

void srv_handle_bulk_delete(struct srv_request *request)
{
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_BULK, &params) == 0) {
        struct orm_sql sql = {0};
        struct rs_error error = {0};
        srv_run_built(request,
                      orm_build_delete(request->route.table, params.filters, params.filter_count,
                                       &sql, &error),
                      &sql, &error, bulk_delete_done);
    }
}

static void bulk_update_done(struct srv_request *request, struct orm_outcome *outcome)
{
    pass_through_done(request, outcome, 200, "{\"rows\":", "}");
}

void srv_handle_bulk_update(struct srv_request *request)
{
    if (!srv_arg_get(request, "__ids")) {
        srv_respond_error(request, 400, "__ids", "bulk update needs __ids=1,2,...");
        return;
    }
    struct srv_list_params params;
    if (srv_list_params_parse(request, SRV_PARAMS_BULK, &params) < 0)
        return;
    json_t *body = srv_parse_json_body(request);
    if (body && !json_is_object(body)) {
        srv_respond_error(request, 400, NULL, "the body must be a JSON object");
    } else if (body) {
        json_t *errors = json_array();
        struct srv_row_values values;
        if (srv_row_validate(&request->arena, request->route.table, body, SRV_WRITE_PATCH, NULL,
                             &values, errors) < 0) {
            respond_invalid(request, errors);
        } else {
            json_decref(errors);
            struct orm_row set = {values.assignments, values.count};
            struct orm_sql sql = {0};
            struct rs_error error = {0};
            srv_run_built(request,
                          orm_build_update(request->route.table, &set, false, params.filters,
                                           params.filter_count, &sql, &error),
                          &sql, &error, bulk_update_done);
        }
    }
}
