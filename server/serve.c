/*
 * server/serve.c — `restable serve`: wires config, auth, pool and HTTP together, then waits
 * for SIGTERM/SIGINT and shuts down in order: stop accepting (/readyz turns 503), let in-flight
 * requests finish for up to server.shutdown_grace_s, close the pool (what still waits gets
 * 503), stop HTTP, exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"
#include "server/cli.h"

static unsigned int random_prefix(void)
{
    unsigned int value = 0;
    FILE *source = fopen("/dev/urandom", "rb");
    if (source) {
        if (fread(&value, sizeof value, 1, source) != 1)
            value = 0;
        fclose(source);
    }
    return value ? value : (unsigned int)time(NULL) ^ (unsigned int)getpid();
}

static void warn_about_open_tables(const struct cfg_config *config)
{
    if (config->auth.algorithm == CFG_JWT_NONE)
        srv_log("warning", "no JWT key is configured (auth.jwt): every table is open to "
                           "anyone who can reach this server");
    for (size_t i = 0; i < config->table_count; i++) {
        const struct cfg_table *table = &config->tables[i];
        if (table->read_only)
            continue;
        if (table->write.kind == CFG_POLICY_PUBLIC || table->delete_.kind == CFG_POLICY_PUBLIC)
            srv_log("warning", "table %s is writable by the public (auth %s is \"public\")",
                    table->name, table->write.kind == CFG_POLICY_PUBLIC ? "write" : "delete");
    }
}

/* The SQL for a table's columns is the same on every request that names no fields: built once
 * here instead (orm_prepare_projection). */
static void prepare_projections(struct srv_app *app)
{
    size_t count = 2 * app->config->table_count;
    app->projections = xcalloc(count ? count : 1, sizeof *app->projections);
    for (size_t i = 0; i < count; i++)
        app->projections[i] = orm_prepare_projection(&app->config->tables[i / 2], i % 2 == 1);
}

static void free_projections(struct srv_app *app)
{
    for (size_t i = 0; app->projections && i < 2 * app->config->table_count; i++)
        orm_prepared_projection_free(app->projections[i]);
    free(app->projections);
    app->projections = NULL;
}

static void log_auth(const char *level, const char *message)
{
    srv_log(level, "%s", message);
}

/* SIGHUP: the key file may have changed (a rotation); a file that does not read keeps the
 * keys held, and auth logs why. */
static void reload_keys(struct auth_verifier *verifier)
{
    struct rs_error error = {0};
    srv_log("info", "received SIGHUP: re-reading auth.jwt.jwks_file");
    auth_verifier_reload(verifier, &error);
}

/* database.replicas: a pool each, like the primary's but for its size (SPEC §7). */
static int start_replicas(struct srv_app *app, const struct orm_pool_options *primary,
                          struct rs_error *error)
{
    const struct cfg_config *config = app->config;
    if (config->database.replica_count == 0)
        return 0;
    struct orm_replicas_options options = {
        .primary = app->pool,
        .urls = (const char *const *)config->database.replicas,
        .count = config->database.replica_count,
        .pool = *primary,
        .max_lag_ms = config->database.replica_max_lag_ms,
    };
    options.pool.size = app->sizing.replica_pool_size;
    app->replicas = orm_replicas_new(&options, error);
    if (!app->replicas)
        return -1;
    srv_log("info",
            "%zu replica(s), %d connections each: table reads go to them in turn while "
            "they lag at most %d ms",
            config->database.replica_count, app->sizing.replica_pool_size,
            config->database.replica_max_lag_ms);
    return 0;
}

int srv_cli_serve(const struct cfg_config *config, bool migrate)
{
    /* Block the signals before any thread starts, so every thread inherits the mask and only
     * sigwait below receives them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP); /* re-reads auth.jwt.jwks_file */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct rs_error error = {0};
    if (migrate && srv_migrate_forwards(config) != 0)
        return 1;

    srv_log_set_level(config->server.log_level);
    struct srv_app app = {.config = config};
    pthread_rwlock_init(&app.pool_lock, NULL);
    srv_docs_find(config, app.docs_dir, sizeof app.docs_dir);
    srv_admin_find(config, app.admin_dir, sizeof app.admin_dir);
    prepare_projections(&app);
    enum orm_cursor_key_source cursor_key = orm_cursor_key_init(config, &app.cursor_key);
    app.request_id_prefix = random_prefix();
    app.metrics = srv_metrics_new(config->table_count);
    clock_gettime(CLOCK_REALTIME, &app.started_at);
    auth_set_log(log_auth);
    app.verifier = auth_verifier_new(config, &error);
    if (!app.verifier) {
        fprintf(stderr, "restable: %s\n", error.message);
        srv_metrics_free(app.metrics);
        free_projections(&app);
        return 1;
    }
    srv_sizing_of_machine(config, &app.sizing);
    struct orm_pool_options options = {
        .url = config->database.url,
        .size = app.sizing.pool_size,
        .acquire_timeout_ms = config->database.acquire_timeout_ms,
        .statement_timeout_ms = config->database.statement_timeout_ms,
        .unnamed_statements_only = !config->database.prepared_statements,
    };
    app.pool = orm_pool_new(&options, &error);
    if (!app.pool) {
        fprintf(stderr, "restable: %s\n", error.message);
        auth_verifier_free(app.verifier);
        srv_metrics_free(app.metrics);
        free_projections(&app);
        return 1;
    }
    if (start_replicas(&app, &options, &error) < 0 || srv_http_start(&app, &error) < 0) {
        fprintf(stderr, "restable: %s\n", error.message);
        orm_replicas_stop(app.replicas); /* the primary's probe callbacks use the set */
        orm_pool_free(app.pool);
        orm_replicas_free(app.replicas);
        auth_verifier_free(app.verifier);
        srv_metrics_free(app.metrics);
        free_projections(&app);
        return 1;
    }
    if (srv_log_sink_start(srv_log_dropped) < 0)
        srv_log("warning", "log lines are written one at a time: no thread for the log writer");
    warn_about_open_tables(config);
    if (cursor_key == ORM_CURSOR_KEY_RANDOM)
        srv_log("warning",
                "neither server.cursor_secret nor auth.jwt.secret is set: keyset cursors "
                "are signed with a random key, so another instance (or this one after "
                "a restart) refuses them; set server.cursor_secret on every instance");
    srv_sizing_log(&app.sizing);
    srv_log("info", "restable %s listening on http://%s:%d%s with %zu tables", RESTABLE_VERSION,
            config->server.host, config->server.port, config->server.base_path,
            config->table_count);

    /* Say once whether the database is there; the pool keeps retrying either way. */
    for (int waited = 0; waited < 30 && !orm_pool_is_ready(app.pool); waited++) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (!orm_pool_is_ready(app.pool))
        srv_log("warning", "the database is not reachable yet; retrying with back-off "
                           "(table routes answer 503 until it is)");

    int received = 0;
    while (sigwait(&signals, &received) == 0 && received == SIGHUP)
        reload_keys(app.verifier);
    srv_log("info", "received %s: finishing in-flight requests", strsignal(received));
    srv_http_drain(&app);
    srv_close_pool(&app);
    srv_http_stop(&app);
    auth_verifier_free(app.verifier);
    srv_metrics_free(app.metrics);
    free_projections(&app);
    pthread_rwlock_destroy(&app.pool_lock);
    srv_log("info", "stopped");
    srv_log_sink_stop();
    return 0;
}
