/*
 * server/metrics.c — request counters by table, route, method and status, a latency
 * histogram, and their Prometheus text rendering for GET /metrics. Counters are plain atomics
 * in one array sized at start-up (tables × routes × methods × statuses), so recording a
 * request takes no lock and no allocation. Also limit hits by limit, and failed queries by
 * outcome (acquire timeout, queue full, unavailable) and by SQLSTATE class.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/app.h"

static const char *const route_names[] = {"other", "list", "row",        "count",  "schema",
                                          "ids",   "new",  "references", "export", "batch"};
#define ROUTE_COUNT (sizeof route_names / sizeof route_names[0])
static const char *const method_names[] = {"GET",   "HEAD",   "POST",    "PUT",
                                           "PATCH", "DELETE", "OPTIONS", "other"};
#define METHOD_COUNT (sizeof method_names / sizeof method_names[0])
static const unsigned int status_codes[] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
                                            413, 414, 415, 422, 429, 431, 500, 503, 0};
#define STATUS_COUNT (sizeof status_codes / sizeof status_codes[0])
static const double bucket_seconds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define BUCKET_COUNT (sizeof bucket_seconds / sizeof bucket_seconds[0])

struct srv_metrics {
    size_t table_count; /* + 1 slot for requests outside tables */
    atomic_ullong *requests;
    atomic_ullong buckets[BUCKET_COUNT + 1];
    atomic_ullong duration_us_sum;
    atomic_ullong count;
    atomic_ullong limit_hits[SRV_LIMIT_COUNT];
    atomic_ullong acquire_timeouts, queue_full, unavailable, statement_timeouts;
    atomic_ullong replica_fallbacks;         /* reads a failing replica handed to the primary */
    atomic_ullong sqlstate_classes[36 * 36]; /* two characters of [0-9A-Z] */
};

struct srv_metrics *srv_metrics_new(size_t table_count)
{
    struct srv_metrics *metrics = xcalloc(1, sizeof *metrics);
    metrics->table_count = table_count + 1;
    metrics->requests = xcalloc(metrics->table_count * ROUTE_COUNT * METHOD_COUNT * STATUS_COUNT,
                                sizeof *metrics->requests);
    return metrics;
}

void srv_metrics_free(struct srv_metrics *metrics)
{
    if (!metrics)
        return;
    free(metrics->requests);
    free(metrics);
}

/* The limit label of restable_limit_hits_total: here, beside the metric that prints it, so
 * that limits.c (which counts hits) and this file do not depend on each other. */
static const char *const limit_names[SRV_LIMIT_COUNT] = {
    [SRV_LIMIT_MAX_CONNECTIONS] = "max_connections",
    [SRV_LIMIT_CONNECTION_TIMEOUT] = "connection_timeout",
    [SRV_LIMIT_MAX_HEADER_BYTES] = "max_header_bytes",
    [SRV_LIMIT_MAX_URL_BYTES] = "max_url_bytes",
    [SRV_LIMIT_MAX_BODY_BYTES] = "max_body_bytes",
    [SRV_LIMIT_MAX_PAGE_SIZE] = "max_page_size",
    [SRV_LIMIT_MAX_QUERY_PARAMS] = "max_query_params",
    [SRV_LIMIT_REQUEST_TIMEOUT] = "request_timeout",
};

const char *srv_limit_name(enum srv_limit limit)
{
    return limit < SRV_LIMIT_COUNT ? limit_names[limit] : "other";
}

static size_t route_index(enum srv_route_kind kind)
{
    switch (kind) {
    case SRV_ROUTE_COLLECTION:
        return 1;
    case SRV_ROUTE_ROW:
        return 2;
    case SRV_ROUTE_COUNT:
        return 3;
    case SRV_ROUTE_SCHEMA:
        return 4;
    case SRV_ROUTE_IDS:
        return 5;
    case SRV_ROUTE_NEW:
        return 6;
    case SRV_ROUTE_REFERENCES:
        return 7;
    case SRV_ROUTE_EXPORT:
        return 8;
    case SRV_ROUTE_BATCH:
        return 9;
    default:
        return 0;
    }
}

void srv_metrics_record(struct srv_app *app, const struct srv_request *request, long duration_us)
{
    struct srv_metrics *metrics = app->metrics;
    if (!metrics)
        return;
    size_t table = metrics->table_count - 1;
    if (request->route.table)
        table = (size_t)(request->route.table - app->config->tables);
    size_t method = METHOD_COUNT - 1;
    for (size_t i = 0; i + 1 < METHOD_COUNT; i++)
        if (request->method && strcmp(request->method, method_names[i]) == 0)
            method = i;
    size_t status = STATUS_COUNT - 1;
    for (size_t i = 0; i + 1 < STATUS_COUNT; i++)
        if (request->status == status_codes[i])
            status = i;
    size_t index =
        ((table * ROUTE_COUNT + route_index(request->route.kind)) * METHOD_COUNT + method) *
            STATUS_COUNT +
        status;
    atomic_fetch_add(&metrics->requests[index], 1);
    double seconds = (double)duration_us / 1e6;
    size_t bucket = 0;
    while (bucket < BUCKET_COUNT && seconds > bucket_seconds[bucket])
        bucket++;
    atomic_fetch_add(&metrics->buckets[bucket], 1);
    atomic_fetch_add(&metrics->duration_us_sum,
                     (unsigned long long)(duration_us > 0 ? duration_us : 0));
    atomic_fetch_add(&metrics->count, 1);
}

void srv_metrics_replica_fallback(struct srv_app *app)
{
    if (app->metrics)
        atomic_fetch_add(&app->metrics->replica_fallbacks, 1);
}

/* Each replica's state as table reads see it, and the reads moved to the primary. */
static void render_replicas(struct srv_app *app, struct sb *out)
{
    size_t count = orm_replicas_count(app->replicas);
    if (count == 0)
        return;
    sb_append(out, "# HELP restable_replica_up Whether a replica takes table reads (probed, "
                   "replaying, a connection up).\n# TYPE restable_replica_up gauge\n");
    struct orm_replica_view views[ORM_MAX_REPLICAS];
    for (size_t i = 0; i < count; i++) {
        orm_replicas_stats(app->replicas, i, &views[i]);
        sb_appendf(out, "restable_replica_up{replica=\"%zu\"} %d\n", i, views[i].is_up);
    }
    sb_append(out, "# HELP restable_replica_lag_seconds How long ago the primary was first seen "
                   "past what the replica has replayed.\n"
                   "# TYPE restable_replica_lag_seconds gauge\n");
    for (size_t i = 0; i < count; i++)
        sb_appendf(out, "restable_replica_lag_seconds{replica=\"%zu\"} %.3f\n", i,
                   (double)views[i].lag_ms / 1000);
    sb_appendf(out,
               "# HELP restable_replica_fallbacks_total Reads a failing replica handed to the "
               "primary.\n# TYPE restable_replica_fallbacks_total counter\n"
               "restable_replica_fallbacks_total %llu\n",
               atomic_load(&app->metrics->replica_fallbacks));
}

void srv_metrics_limit_hit(struct srv_app *app, enum srv_limit limit)
{
    if (app->metrics && limit < SRV_LIMIT_COUNT)
        atomic_fetch_add(&app->metrics->limit_hits[limit], 1);
}

static int class_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

void srv_metrics_db_failure(struct srv_app *app, const struct orm_outcome *outcome)
{
    struct srv_metrics *metrics = app->metrics;
    if (!metrics)
        return;
    switch (outcome->status) {
    case ORM_E_TIMEOUT:
        atomic_fetch_add(&metrics->acquire_timeouts, 1);
        return;
    case ORM_E_QUEUE_FULL:
        atomic_fetch_add(&metrics->queue_full, 1);
        return;
    case ORM_E_UNAVAILABLE:
    case ORM_E_SHUTDOWN:
        atomic_fetch_add(&metrics->unavailable, 1);
        return;
    case ORM_E_STATEMENT_TIMEOUT:
        atomic_fetch_add(&metrics->statement_timeouts, 1);
        return;
    case ORM_E_QUERY: {
        if (strcmp(outcome->sqlstate, "57014") == 0) /* PostgreSQL's own statement_timeout */
            atomic_fetch_add(&metrics->statement_timeouts, 1);
        int high = class_digit(outcome->sqlstate[0]), low = class_digit(outcome->sqlstate[1]);
        if (high >= 0 && low >= 0)
            atomic_fetch_add(&metrics->sqlstate_classes[high * 36 + low], 1);
        return;
    }
    case ORM_OK:
        return;
    }
}

static void render_failures(struct srv_metrics *metrics, struct sb *out)
{
    sb_append(out, "# HELP restable_limit_hits_total Requests refused by a configured limit.\n"
                   "# TYPE restable_limit_hits_total counter\n");
    for (size_t i = 0; i < SRV_LIMIT_COUNT; i++)
        sb_appendf(out, "restable_limit_hits_total{limit=\"%s\"} %llu\n",
                   srv_limit_name((enum srv_limit)i), atomic_load(&metrics->limit_hits[i]));
    sb_appendf(out,
               "# HELP restable_db_acquire_timeouts_total Requests that waited "
               "acquire_timeout_ms for a connection in vain.\n"
               "# TYPE restable_db_acquire_timeouts_total counter\n"
               "restable_db_acquire_timeouts_total %llu\n"
               "# HELP restable_db_queue_full_total Requests refused because too many waited.\n"
               "# TYPE restable_db_queue_full_total counter\n"
               "restable_db_queue_full_total %llu\n"
               "# HELP restable_db_unavailable_total Requests that found no usable connection.\n"
               "# TYPE restable_db_unavailable_total counter\n"
               "restable_db_unavailable_total %llu\n"
               "# HELP restable_db_statement_timeouts_total Queries cancelled for running "
               "longer than statement_timeout_ms.\n"
               "# TYPE restable_db_statement_timeouts_total counter\n"
               "restable_db_statement_timeouts_total %llu\n"
               "# HELP restable_db_errors_total Queries PostgreSQL refused, by SQLSTATE class.\n"
               "# TYPE restable_db_errors_total counter\n",
               atomic_load(&metrics->acquire_timeouts), atomic_load(&metrics->queue_full),
               atomic_load(&metrics->unavailable), atomic_load(&metrics->statement_timeouts));
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (size_t i = 0; i < 36 * 36; i++) {
        unsigned long long value = atomic_load(&metrics->sqlstate_classes[i]);
        if (value)
            sb_appendf(out, "restable_db_errors_total{class=\"%c%c\"} %llu\n", digits[i / 36],
                       digits[i % 36], value);
    }
}

static long resident_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    long kib = 0;
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (status)
        fclose(status);
    return kib;
}

static long open_fds(void)
{
    long count = 0;
    for (int fd = 0; fd < 65536; fd++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (access(path, F_OK) == 0)
            count++;
        else if (fd > 1024 && count > 0 && fd > count * 4)
            break;
    }
    return count;
}

/* JWKS fetches and the keys held (auth/), so an identity provider that stopped answering
 * shows before the tokens it signs start failing. */
static void render_auth(struct srv_app *app, struct sb *out)
{
    struct auth_stats stats;
    auth_verifier_stats(app->verifier, &stats);
    sb_appendf(out,
               "# HELP restable_jwks_fetches_total Fetches of auth.jwt.jwks_url tried.\n"
               "# TYPE restable_jwks_fetches_total counter\n"
               "restable_jwks_fetches_total %llu\n"
               "# HELP restable_jwks_failures_total Fetches of auth.jwt.jwks_url that failed "
               "(the last good key set was kept).\n"
               "# TYPE restable_jwks_failures_total counter\n"
               "restable_jwks_failures_total %llu\n"
               "# HELP restable_auth_keys Token verification keys held.\n"
               "# TYPE restable_auth_keys gauge\n"
               "restable_auth_keys %zu\n",
               stats.jwks_fetches, stats.jwks_failures, stats.keys);
}

void srv_metrics_render(struct srv_app *app, struct sb *out)
{
    struct srv_metrics *metrics = app->metrics;
    if (!metrics)
        return;
    sb_append(out, "# HELP restable_http_requests_total HTTP requests by table, route, method "
                   "and status.\n# TYPE restable_http_requests_total counter\n");
    for (size_t t = 0; t < metrics->table_count; t++) {
        const char *table = t < app->config->table_count ? app->config->tables[t].name : "";
        for (size_t r = 0; r < ROUTE_COUNT; r++)
            for (size_t m = 0; m < METHOD_COUNT; m++)
                for (size_t s = 0; s < STATUS_COUNT; s++) {
                    size_t index = ((t * ROUTE_COUNT + r) * METHOD_COUNT + m) * STATUS_COUNT + s;
                    unsigned long long value = atomic_load(&metrics->requests[index]);
                    if (!value)
                        continue;
                    char status[8];
                    snprintf(status, sizeof status, "%u", status_codes[s]);
                    sb_appendf(out,
                               "restable_http_requests_total{table=\"%s\",route=\"%s\","
                               "method=\"%s\",status=\"%s\"} %llu\n",
                               table, route_names[r], method_names[m],
                               status_codes[s] ? status : "other", value);
                }
    }
    sb_append(out, "# HELP restable_http_request_duration_seconds Time to answer a request.\n"
                   "# TYPE restable_http_request_duration_seconds histogram\n");
    unsigned long long cumulative = 0;
    for (size_t b = 0; b < BUCKET_COUNT; b++) {
        cumulative += atomic_load(&metrics->buckets[b]);
        sb_appendf(out, "restable_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                   bucket_seconds[b], cumulative);
    }
    cumulative += atomic_load(&metrics->buckets[BUCKET_COUNT]);
    sb_appendf(out,
               "restable_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
               "restable_http_request_duration_seconds_sum %.6f\n"
               "restable_http_request_duration_seconds_count %llu\n",
               cumulative, (double)atomic_load(&metrics->duration_us_sum) / 1e6,
               atomic_load(&metrics->count));
    sb_appendf(out,
               "# HELP restable_process_resident_memory_bytes Resident memory.\n"
               "# TYPE restable_process_resident_memory_bytes gauge\n"
               "restable_process_resident_memory_bytes %ld\n"
               "# HELP restable_process_open_fds Open file descriptors.\n"
               "# TYPE restable_process_open_fds gauge\n"
               "restable_process_open_fds %ld\n"
               "# HELP restable_build_info Build information.\n"
               "# TYPE restable_build_info gauge\n"
               "restable_build_info{version=\"%s\"} 1\n",
               resident_kib() * 1024, open_fds(), RESTABLE_VERSION);
    render_failures(metrics, out);
    render_auth(app, out);
    render_replicas(app, out);
}
