/*
 * tests/unit/test_pool_async.c — the async pool against the throwaway PostgreSQL: results per
 * query, 1,000 concurrent queries, statement timeout, constraint errors, pipelined
 * transactions, acquire timeout, queue limit, a database down at start, and a restart mid-run.
 * Skips when RESTABLE_TEST_DATABASE_URL is unset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "orm/orm.h"

static const char *database_url(void)
{
    const char *url = getenv("RESTABLE_TEST_DATABASE_URL");
    return url && *url ? url : NULL;
}

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static struct orm_pool *pool_open(int size, int acquire_ms, int statement_ms, int queue_limit)
{
    struct orm_pool_options options = {.url = database_url(), .size = size,
                                       .acquire_timeout_ms = acquire_ms,
                                       .statement_timeout_ms = statement_ms,
                                       .queue_limit = queue_limit};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    return pool;
}

static void run(struct orm_pool *pool, const char *sql, const char *const *params, int count,
                struct orm_outcome *outcome)
{
    struct orm_statement statement = {sql, params, count};
    orm_pool_run_sync(pool, &statement, 1, outcome);
}

/* ---- collecting asynchronous outcomes ------------------------------------------------------ */

struct tally {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int done, ok, wrong, failed;
    int by_status[8];
};

struct expectation {
    struct tally *tally;
    char expected[32];
    int calls;
};

static void tally_callback(void *context, struct orm_outcome *outcome)
{
    struct expectation *expectation = context;
    struct tally *tally = expectation->tally;
    pthread_mutex_lock(&tally->lock);
    expectation->calls++;
    tally->by_status[outcome->status]++;
    if (outcome->status == ORM_OK) {
        if (strcmp(PQgetvalue(outcome->result, 0, 0), expectation->expected) == 0)
            tally->ok++;
        else
            tally->wrong++;
    } else {
        tally->failed++;
    }
    tally->done++;
    pthread_cond_broadcast(&tally->changed);
    pthread_mutex_unlock(&tally->lock);
}

static void tally_wait(struct tally *tally, int count, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    pthread_mutex_lock(&tally->lock);
    while (tally->done < count && now_ms() < deadline) {
        pthread_mutex_unlock(&tally->lock);
        usleep(5000);
        pthread_mutex_lock(&tally->lock);
    }
    pthread_mutex_unlock(&tally->lock);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_pool_runs_one_query(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(2, 5000, 0, 0);
    const char *params[] = {"41"};
    struct orm_outcome outcome;
    run(pool, "SELECT $1::int + 1", params, 1, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "42");
    PQclear(outcome.result);
    assert_true(orm_pool_is_ready(pool));
    orm_pool_free(pool);
}

static void test_pool_completes_1000_concurrent_queries_over_4_connections(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(4, 10000, 0, 0);
    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    enum { COUNT = 1000 };
    struct expectation *expectations = calloc(COUNT, sizeof *expectations);
    char params[COUNT][16];
    for (int i = 0; i < COUNT; i++) {
        expectations[i].tally = &tally;
        snprintf(params[i], sizeof params[i], "%d", i);
        const char *param = params[i];
        struct orm_statement statement;
        if (i % 3 == 0) {
            statement = (struct orm_statement){"SELECT $1::int * 2", &param, 1};
            snprintf(expectations[i].expected, sizeof expectations[i].expected, "%d", i * 2);
        } else if (i % 3 == 1) {
            statement = (struct orm_statement){"SELECT 'n' || $1::text", &param, 1};
            snprintf(expectations[i].expected, sizeof expectations[i].expected, "n%d", i);
        } else {
            statement = (struct orm_statement){"SELECT length($1::text)", &param, 1};
            snprintf(expectations[i].expected, sizeof expectations[i].expected, "%zu",
                     strlen(params[i]));
        }
        orm_pool_submit(pool, &statement, 1, tally_callback, &expectations[i]);
    }
    tally_wait(&tally, COUNT, 30000);
    assert_int_equal(tally.done, COUNT);
    assert_int_equal(tally.ok, COUNT);
    assert_int_equal(tally.wrong, 0);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(expectations[i].calls, 1);
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    assert_true(stats.completed >= COUNT);
    assert_int_equal(stats.size, 4);
    orm_pool_free(pool);
    free(expectations);
}

static void test_pool_statement_timeout_fails_cleanly(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 200, 0);
    struct orm_outcome outcome;
    run(pool, "SELECT pg_sleep(2)", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_E_QUERY);
    assert_string_equal(outcome.sqlstate, "57014");
    assert_null(outcome.result);
    run(pool, "SELECT 7", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "7");
    PQclear(outcome.result);
    orm_pool_free(pool);
}

static void test_pool_reports_constraint_violation(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    struct orm_outcome outcome;
    run(pool, "CREATE TABLE IF NOT EXISTS pool_test_unique (v int CONSTRAINT pool_test_v_key UNIQUE)",
        NULL, 0, &outcome);
    PQclear(outcome.result);
    run(pool, "INSERT INTO pool_test_unique VALUES (1)", NULL, 0, &outcome);
    PQclear(outcome.result);
    run(pool, "INSERT INTO pool_test_unique VALUES (1)", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_E_QUERY);
    assert_string_equal(outcome.sqlstate, "23505");
    assert_string_equal(outcome.constraint, "pool_test_v_key");
    run(pool, "DROP TABLE pool_test_unique", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    PQclear(outcome.result);
    orm_pool_free(pool);
}

static void test_pool_pipeline_is_one_transaction(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *claims[] = {"{\"sub\":\"ada\"}"};
    struct orm_statement statements[2] = {
        {"SELECT set_config('request.jwt.claims', $1::text, true)", claims, 1},
        {"SELECT current_setting('request.jwt.claims', true)::json->>'sub'", NULL, 0},
    };
    struct orm_outcome outcome;
    orm_pool_run_sync(pool, statements, 2, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "ada");
    PQclear(outcome.result);
    /* the setting was local to that transaction */
    run(pool, "SELECT coalesce(current_setting('request.jwt.claims', true), '')", NULL, 0,
        &outcome);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "");
    PQclear(outcome.result);

    run(pool, "CREATE TABLE IF NOT EXISTS pool_test_tx (v int)", NULL, 0, &outcome);
    PQclear(outcome.result);
    struct orm_statement failing[2] = {
        {"INSERT INTO pool_test_tx VALUES (1)", NULL, 0},
        {"SELECT 1 / 0", NULL, 0},
    };
    orm_pool_run_sync(pool, failing, 2, &outcome);
    assert_int_equal(outcome.status, ORM_E_QUERY);
    assert_string_equal(outcome.sqlstate, "22012");
    run(pool, "SELECT count(*) FROM pool_test_tx", NULL, 0, &outcome);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "0");
    PQclear(outcome.result);
    run(pool, "DROP TABLE pool_test_tx", NULL, 0, &outcome);
    PQclear(outcome.result);
    orm_pool_free(pool);
}

static void test_pool_acquire_timeout(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 100, 0, 0);
    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct expectation slow = {.tally = &tally, .expected = ""};
    struct orm_statement sleep_statement = {"SELECT pg_sleep(1)::text", NULL, 0};
    /* wait for the connection first, so the second job waits for a busy one, not a new one */
    struct orm_outcome outcome;
    run(pool, "SELECT 1", NULL, 0, &outcome);
    PQclear(outcome.result);
    /* fill every pipeline slot of the only connection, then one more */
    struct expectation sleepers[4];
    for (int i = 0; i < 4; i++) {
        sleepers[i] = slow;
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleepers[i]);
    }
    usleep(20000);
    struct expectation late = {.tally = &tally, .expected = "1"};
    struct orm_statement quick = {"SELECT 1", NULL, 0};
    long long started = now_ms();
    orm_pool_submit(pool, &quick, 1, tally_callback, &late);
    tally_wait(&tally, 5, 10000);
    assert_int_equal(tally.done, 5);
    assert_true(tally.by_status[ORM_E_TIMEOUT] >= 1);
    assert_true(now_ms() - started < 5000);
    orm_pool_free(pool);
}

static void test_pool_queue_limit(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 2);
    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct expectation jobs[10];
    struct orm_statement quick = {"SELECT 1", NULL, 0};
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct expectation){.tally = &tally, .expected = "1"};
        orm_pool_submit(pool, &quick, 1, tally_callback, &jobs[i]);
    }
    tally_wait(&tally, 10, 10000);
    assert_int_equal(tally.done, 10);
    assert_true(tally.by_status[ORM_E_QUEUE_FULL] >= 1);
    orm_pool_free(pool);
}

static void test_pool_database_down_at_start(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t length = sizeof address;
    getsockname(fd, (struct sockaddr *)&address, &length);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "postgresql://nobody@127.0.0.1:%d/none", ntohs(address.sin_port));
    struct orm_pool_options options = {.url = url, .size = 2, .acquire_timeout_ms = 5000};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    usleep(200000);
    assert_false(orm_pool_is_ready(pool));
    long long started = now_ms();
    struct orm_outcome outcome;
    run(pool, "SELECT 1", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_E_UNAVAILABLE);
    assert_true(now_ms() - started < 2000);
    orm_pool_free(pool);
}

static void test_pool_free_with_queries_in_flight(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(2, 5000, 0, 0);
    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct expectation jobs[12];
    struct orm_statement sleep_statement = {"SELECT pg_sleep(0.3)::text", NULL, 0};
    for (int i = 0; i < 12; i++) {
        jobs[i] = (struct expectation){.tally = &tally, .expected = ""};
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &jobs[i]);
    }
    usleep(50000);
    orm_pool_free(pool);
    assert_int_equal(tally.done, 12);
    for (int i = 0; i < 12; i++)
        assert_int_equal(jobs[i].calls, 1);
}

struct chain {
    struct orm_pool *pool;
    struct tally *tally;
    struct expectation second;
};

static void chain_first(void *context, struct orm_outcome *outcome)
{
    struct chain *chain = context;
    assert_int_equal(outcome->status, ORM_OK);
    struct orm_statement next = {"SELECT 'second'", NULL, 0};
    orm_pool_submit(chain->pool, &next, 1, tally_callback, &chain->second);
}

static void test_pool_callback_may_submit_again(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct chain chain = {.pool = pool, .tally = &tally,
                          .second = {.tally = &tally, .expected = "second"}};
    struct orm_statement first = {"SELECT 'first'", NULL, 0};
    orm_pool_submit(pool, &first, 1, chain_first, &chain);
    tally_wait(&tally, 1, 10000);
    assert_int_equal(tally.ok, 1);
    orm_pool_free(pool);
}

static void test_pool_prepares_each_statement_once_per_connection(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *sql = "SELECT 40 + $1::int";
    const char *params[] = {"2"};
    struct orm_outcome outcome;
    for (int i = 0; i < 3; i++) {
        run(pool, sql, params, 1, &outcome);
        assert_string_equal(PQgetvalue(outcome.result, 0, 0), "42");
        PQclear(outcome.result);
    }
    const char *check[] = {sql};
    run(pool, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", check, 1,
        &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "1");
    PQclear(outcome.result);
    orm_pool_free(pool);
}

static void test_pool_null_parameters_bind_sql_null(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *params[] = {NULL};
    struct orm_outcome outcome;
    run(pool, "SELECT ($1::text IS NULL)::text", params, 1, &outcome);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "true");
    PQclear(outcome.result);
    orm_pool_free(pool);
}

/* Restart: stop PostgreSQL under the pool and start it again with the options pg-up chose. */
static int pg_ctl(const char *arguments)
{
    const char *data = getenv("RESTABLE_TEST_PG_DATA");
    const char *bin = getenv("RESTABLE_TEST_PG_BIN");
    char command[2048];
    snprintf(command, sizeof command, "%s%s/pg_ctl -D %s %s >/dev/null 2>&1",
             geteuid() == 0 ? "runuser -u postgres -- " : "", bin, data, arguments);
    return system(command);
}

static void test_pool_survives_database_restart(void **state)
{
    (void)state;
    const char *data = getenv("RESTABLE_TEST_PG_DATA");
    if (!database_url() || !data || !getenv("RESTABLE_TEST_PG_BIN"))
        skip();
    char path[1024], options[1024] = "";
    snprintf(path, sizeof path, "%s/postmaster.opts", data);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char line[2048] = "";
    assert_non_null(fgets(line, sizeof line, file));
    fclose(file);
    /* postmaster.opts: BIN "-D" "DIR" "-c" "..." — keep what follows the data dir */
    char *rest = strstr(line, "\"-D\"");
    assert_non_null(rest);
    rest = strchr(rest + 5, '"');
    rest = rest ? strchr(rest + 1, '"') : NULL;
    assert_non_null(rest);
    snprintf(options, sizeof options, "%s", rest + 1);
    options[strcspn(options, "\n")] = '\0';
    for (char *p = options; *p; p++)
        if (*p == '"')
            *p = ' ';

    struct orm_pool *pool = pool_open(4, 3000, 0, 0);
    struct orm_outcome outcome;
    run(pool, "SELECT 1", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    PQclear(outcome.result);

    struct tally tally = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct expectation sleepers[4];
    struct orm_statement sleep_statement = {"SELECT pg_sleep(5)::text", NULL, 0};
    for (int i = 0; i < 4; i++) {
        sleepers[i] = (struct expectation){.tally = &tally, .expected = ""};
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleepers[i]);
    }
    usleep(200000);
    assert_int_equal(pg_ctl("-m fast -w stop"), 0);
    tally_wait(&tally, 4, 10000);
    assert_int_equal(tally.done, 4);
    assert_int_equal(tally.ok, 0);

    long long started = now_ms();
    run(pool, "SELECT 1", NULL, 0, &outcome);
    assert_int_not_equal(outcome.status, ORM_OK);
    assert_true(now_ms() - started < 2500);

    char start[2048];
    snprintf(start, sizeof start, "-w -l %s/../server.log -o \"%s\" start", data, options);
    assert_int_equal(pg_ctl(start), 0);
    bool recovered = false;
    for (int attempt = 0; attempt < 150 && !recovered; attempt++) {
        run(pool, "SELECT 2", NULL, 0, &outcome);
        recovered = outcome.status == ORM_OK;
        if (outcome.result)
            PQclear(outcome.result);
        if (!recovered)
            usleep(100000);
    }
    assert_true(recovered);
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    assert_true(stats.reconnects >= 1);
    orm_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_one_query),
        cmocka_unit_test(test_pool_completes_1000_concurrent_queries_over_4_connections),
        cmocka_unit_test(test_pool_statement_timeout_fails_cleanly),
        cmocka_unit_test(test_pool_reports_constraint_violation),
        cmocka_unit_test(test_pool_pipeline_is_one_transaction),
        cmocka_unit_test(test_pool_acquire_timeout),
        cmocka_unit_test(test_pool_queue_limit),
        cmocka_unit_test(test_pool_database_down_at_start),
        cmocka_unit_test(test_pool_free_with_queries_in_flight),
        cmocka_unit_test(test_pool_callback_may_submit_again),
        cmocka_unit_test(test_pool_prepares_each_statement_once_per_connection),
        cmocka_unit_test(test_pool_null_parameters_bind_sql_null),
        cmocka_unit_test(test_pool_survives_database_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
