/*
 * server/handlers_ops.c — the operator's routes: /healthz (the process is up), /readyz (the
 * database answers a query, else 503 — at once when no pool connection is up), /metrics
 * (Prometheus text).
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

void srv_handle_healthz(struct srv_request *request)
{
    srv_respond_json_text(request, 200, "{\"status\":\"ok\"}");
}

#define READYZ_TIMEOUT_MS 1000

static void readyz_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status == ORM_E_TIMEOUT)
        srv_respond_error(request, 503, NULL,
                          "no database connection answered SELECT 1 within "
                          "%d ms: every connection is busy",
                          READYZ_TIMEOUT_MS);
    else if (outcome->status != ORM_OK)
        srv_respond_error(request, 503, NULL, "the database is not reachable: %s",
                          outcome->message[0] ? outcome->message : "unavailable");
    else
        srv_respond_json_text(request, 200, "{\"status\":\"ready\"}");
}

void srv_handle_readyz(struct srv_request *request)
{
    if (atomic_load(&request->app->is_stopping)) {
        srv_respond_error(request, 503, NULL, "shutting down");
        return;
    }
    /* No connection is up: say so at once rather than wait acquire_timeout_ms for one. */
    if (!orm_pool_is_ready(request->app->pool)) {
        srv_respond_error(request, 503, NULL,
                          "the database is not reachable: no connection "
                          "is up (reconnecting)");
        return;
    }
    /* issue 6: a connection answers SELECT 1 within a second, or the server is not ready;
     * the probe never queues behind other queries on a busy connection */
    struct orm_sql sql = {0};
    sb_append(&sql.text, "SELECT 1");
    srv_run_probe(request, &sql, READYZ_TIMEOUT_MS, readyz_done);
    orm_sql_free(&sql);
}

void srv_handle_metrics(struct srv_request *request)
{
    struct srv_app *app = request->app;
    struct orm_pool_stats stats;
    orm_pool_stats(app->pool, &stats);
    struct sb text = {0};
    sb_appendf(&text,
               "# HELP restable_http_requests_in_flight Requests being answered.\n"
               "# TYPE restable_http_requests_in_flight gauge\n"
               "restable_http_requests_in_flight %ld\n"
               "# HELP restable_http_open_connections Open client connections "
               "(server.limits.max_connections: %d).\n"
               "# TYPE restable_http_open_connections gauge\n"
               "restable_http_open_connections %d\n"
               "# HELP restable_db_pool_connections Pool connections by state.\n"
               "# TYPE restable_db_pool_connections gauge\n"
               "restable_db_pool_connections{state=\"configured\"} %d\n"
               "restable_db_pool_connections{state=\"connected\"} %d\n"
               "restable_db_pool_connections{state=\"busy\"} %d\n"
               "# HELP restable_db_pool_waiting Queries waiting for a connection.\n"
               "# TYPE restable_db_pool_waiting gauge\n"
               "restable_db_pool_waiting %d\n"
               "# HELP restable_db_queries_total Queries by outcome.\n"
               "# TYPE restable_db_queries_total counter\n"
               "restable_db_queries_total{outcome=\"ok\"} %llu\n"
               "restable_db_queries_total{outcome=\"error\"} %llu\n"
               "# HELP restable_db_reconnects_total Reconnections to the database.\n"
               "# TYPE restable_db_reconnects_total counter\n"
               "restable_db_reconnects_total %llu\n",
               atomic_load(&app->in_flight), app->config->server.limits.max_connections,
               atomic_load(&app->open_connections), stats.size, stats.connected, stats.busy,
               stats.waiting, stats.completed, stats.failed, stats.reconnects);
    srv_metrics_render(app, &text);
    size_t length = text.length;
    char *body = sb_take(&text);
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(length, body, free, body);
    srv_respond_with(request, 200, response, length, "text/plain; version=0.0.4; charset=utf-8");
}
