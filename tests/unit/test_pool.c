/*
 * tests/unit/test_pool.c — regression tests for the pool's connection internals
 * (orm/pool_conn.c) against a throwaway PostgreSQL: the prepared-statement cache when a
 * pipelined job fails before its Prepare, the cache's deletions, and following libpq's socket
 * when it tries several hosts. The behaviour suite (1,000 queries, timeouts, restart, ...) is
 * tests/unit/test_pool_async.c. Skips when RESTABLE_TEST_DATABASE_URL is unset.
 *
 * Callbacks run on the pool thread, where a cmocka assert would longjmp into the wrong stack:
 * they only record under a mutex, and the test thread asserts afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "orm/orm.h"
#include "tests/unit/test_pool_helpers.h"

static struct orm_pool *pool_open(const char *url, int size)
{
    return pool_open_url(url, size, 5000, 0, 0);
}

struct record {
    pthread_mutex_t lock;
    int calls;
    enum orm_status status;
    char value[64];
    char sqlstate[6];
};

static void record_callback(void *context, struct orm_outcome *outcome)
{
    struct record *record = context;
    pthread_mutex_lock(&record->lock);
    record->calls++;
    record->status = outcome->status;
    snprintf(record->sqlstate, sizeof record->sqlstate, "%s", outcome->sqlstate);
    if (outcome->status == ORM_OK)
        snprintf(record->value, sizeof record->value, "%s", PQgetvalue(outcome->result, 0, 0));
    pthread_mutex_unlock(&record->lock);
}

static int record_calls(struct record *record)
{
    pthread_mutex_lock(&record->lock);
    int calls = record->calls;
    pthread_mutex_unlock(&record->lock);
    return calls;
}

static void wait_for_calls(struct record *records, int count)
{
    long long deadline = now_ms() + 20000;
    for (int i = 0; i < count; i++)
        while (record_calls(&records[i]) == 0 && now_ms() < deadline)
            usleep(2000);
}

static void test_pool_rejects_a_size_below_one(void **state)
{
    (void)state;
    struct orm_pool_options options = {.url = "postgresql://127.0.0.1/none", .size = 0};
    struct rs_error error = {0};
    assert_null(orm_pool_new(&options, &error));
    assert_non_null(strstr(error.message, "size"));
}

static void test_pool_rejects_a_malformed_url(void **state)
{
    (void)state;
    struct orm_pool_options options = {.url = "postgresql://127.0.0.1/db?nonsense=1", .size = 1};
    struct rs_error error = {0};
    assert_null(orm_pool_new(&options, &error));
    assert_non_null(strstr(error.message, "invalid database url"));
    assert_null(strchr(error.message, '\n'));
}

/* An acquire timeout of 0 means "do not wait", not "always time out". */
static void test_pool_runs_with_an_acquire_timeout_of_zero(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool_options options = {.url = database_url(), .size = 1};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    long long deadline = now_ms() + 5000;
    while (!orm_pool_is_ready(pool) && now_ms() < deadline)
        usleep(5000);
    assert_true(orm_pool_is_ready(pool));
    expect_first_value(pool, "SELECT 3", NULL, 0, "3");
    orm_pool_free(pool);
}

/* orm_pool_free waits for queries in flight only so long, then fails them: every callback
 * still runs exactly once. */
static void test_pool_free_gives_up_on_a_long_query(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(database_url(), 1);
    expect_first_value(pool, "SELECT 1", NULL, 0, "1");
    struct record record = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct orm_statement sleep_statement = {"SELECT pg_sleep(9)", NULL, 0};
    orm_pool_submit(pool, &sleep_statement, 1, record_callback, &record);
    usleep(100000);
    long long started = now_ms();
    orm_pool_free(pool);
    long long took = now_ms() - started;
    assert_true(took >= 4000 && took < 8000);
    assert_int_equal(record.calls, 1);
    assert_int_equal(record.status, ORM_E_SHUTDOWN);
}

/* Job 1 fails before its Prepare of S, so S is never prepared; job 2, pipelined right behind
 * it on the only connection, runs S too and must not execute the name job 1 meant to create. */
static void test_pool_job_behind_an_aborted_prepare_still_runs(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(database_url(), 1);
    expect_first_value(pool, "SELECT 1", NULL, 0, "1");

    const char *param[] = {"x"};
    const char *shared_sql = "SELECT 'behind ' || $1::text";
    struct orm_statement failing[2] = {{"SELECT 1 / 0", NULL, 0}, {shared_sql, param, 1}};
    struct orm_statement shared = {shared_sql, param, 1};
    struct record records[2] = {{.lock = PTHREAD_MUTEX_INITIALIZER},
                                {.lock = PTHREAD_MUTEX_INITIALIZER}};
    orm_pool_submit(pool, failing, 2, record_callback, &records[0]);
    orm_pool_submit(pool, &shared, 1, record_callback, &records[1]);
    wait_for_calls(records, 2);
    assert_int_equal(records[0].calls, 1);
    assert_int_equal(records[0].status, ORM_E_QUERY);
    assert_string_equal(records[0].sqlstate, "22012");
    assert_int_equal(records[1].calls, 1);
    assert_int_equal(records[1].status, ORM_OK);
    assert_string_equal(records[1].value, "behind x");

    /* and the text is prepared (once) when it next runs */
    expect_first_value(pool, shared_sql, param, 1, "behind x");
    const char *check[] = {shared_sql};
    expect_first_value(pool, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                       check, 1, "1");
    orm_pool_free(pool);
}

/* A failing first statement aborts the Prepares of 300 new texts behind it; each must be
 * forgotten (the cache deletes while other entries move in their probe chains), so every text
 * runs, and is prepared, the next time. */
static void test_pool_forgets_every_prepare_a_failed_job_aborted(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    enum { COUNT = 300 };
    struct orm_pool *pool = pool_open(database_url(), 1);
    static char texts[COUNT][64];
    struct orm_statement statements[COUNT + 1];
    statements[0] = (struct orm_statement){"SELECT 1 / 0", NULL, 0};
    for (int i = 0; i < COUNT; i++) {
        snprintf(texts[i], sizeof texts[i], "SELECT %d AS forgotten", i);
        statements[i + 1] = (struct orm_statement){texts[i], NULL, 0};
    }
    struct orm_outcome outcome;
    orm_pool_run_sync(pool, statements, COUNT + 1, &outcome);
    assert_int_equal(outcome.status, ORM_E_QUERY);
    assert_string_equal(outcome.sqlstate, "22012");
    assert_null(outcome.result);

    char expected[16];
    for (int i = 0; i < COUNT; i++) {
        run(pool, texts[i], NULL, 0, &outcome);
        if (outcome.status != ORM_OK)
            print_error("%s: %s\n", texts[i], outcome.message);
        assert_int_equal(outcome.status, ORM_OK);
        snprintf(expected, sizeof expected, "%d", i);
        assert_string_equal(PQgetvalue(outcome.result, 0, 0), expected);
        PQclear(outcome.result);
    }
    run(pool, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%AS forgotten'",
        NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    snprintf(expected, sizeof expected, "%d", COUNT);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), expected);
    PQclear(outcome.result);
    orm_pool_free(pool);
}

/* libpq closes its socket and opens another for each host it tries; the new one often gets
 * the same number. The pool must follow it rather than wait for a socket epoll forgot. */
static void test_pool_connects_when_the_first_host_refuses(void **state)
{
    (void)state;
    const char *url = database_url();
    if (!url)
        skip();
    const char *port = strrchr(url, ':'); /* ":PORT/database" of pg-up's URL */
    assert_non_null(port);
    int unused = unused_port(); /* nothing listens there */
    char two_hosts[512];
    snprintf(two_hosts, sizeof two_hosts, "postgresql://postgres@127.0.0.1:%d,127.0.0.1%s", unused,
             port);

    struct orm_pool *pool = pool_open(two_hosts, 2);
    long long started = now_ms();
    expect_first_value(pool, "SELECT 5", NULL, 0, "5");
    assert_true(now_ms() - started < 3000);
    long long deadline = now_ms() + 3000;
    struct orm_pool_stats stats;
    do {
        usleep(10000);
        orm_pool_stats(pool, &stats);
    } while (stats.connected < 2 && now_ms() < deadline);
    assert_int_equal(stats.connected, 2);
    orm_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_rejects_a_size_below_one),
        cmocka_unit_test(test_pool_rejects_a_malformed_url),
        cmocka_unit_test(test_pool_runs_with_an_acquire_timeout_of_zero),
        cmocka_unit_test(test_pool_free_gives_up_on_a_long_query),
        cmocka_unit_test(test_pool_job_behind_an_aborted_prepare_still_runs),
        cmocka_unit_test(test_pool_forgets_every_prepare_a_failed_job_aborted),
        cmocka_unit_test(test_pool_connects_when_the_first_host_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
