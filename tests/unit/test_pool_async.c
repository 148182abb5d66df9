/*
 * tests/unit/test_pool_async.c — the async pool (orm/pool.c) against a throwaway PostgreSQL:
 * one query, 1,000 concurrent queries, statement timeout, constraint errors, pipelined
 * transactions, acquire timeout, queue limit, the deadlines of jobs pipelined behind a query
 * that stalls (reads sent again elsewhere, a held-up write cancelling it, a job cancelled past
 * the statement timeout), a database down at start, free with queries in flight, callbacks
 * that submit again, the prepared-statement cache, NULL parameters, sessions (one connection
 * held for a transaction of several steps: no other job inside it, rollback, timeouts), and a
 * PostgreSQL restart under load. Skips when RESTABLE_TEST_DATABASE_URL is unset (the restart
 * test also needs RESTABLE_TEST_PG_DATA and RESTABLE_TEST_PG_BIN).
 *
 * Callbacks run on the pool thread, where a cmocka assert would longjmp into the wrong stack:
 * they only record what happened under a mutex, and the test thread asserts afterwards. Every
 * wait is bounded so a broken pool fails the test instead of hanging it.
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

#define WAIT_MS 20000

static struct orm_pool *pool_open(int size, int acquire_ms, int statement_ms, int queue_limit)
{
    return pool_open_url(database_url(), size, acquire_ms, statement_ms, queue_limit);
}

/* Runs sql and asserts it succeeded; for setup statements whose result is not interesting. */
static void run_ok(struct orm_pool *pool, const char *sql)
{
    struct orm_outcome outcome;
    run(pool, sql, NULL, 0, &outcome);
    if (outcome.status != ORM_OK)
        print_error("%s: %s\n", sql, outcome.message);
    assert_int_equal(outcome.status, ORM_OK);
    PQclear(outcome.result);
}

/* Waits (bounded) until every connection of the pool is up, so jobs spread as expected. */
static void wait_connected(struct orm_pool *pool, int count)
{
    long long deadline = now_ms() + WAIT_MS;
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    while (stats.connected < count && now_ms() < deadline) {
        usleep(5000);
        orm_pool_stats(pool, &stats);
    }
    assert_int_equal(stats.connected, count);
}

/* Waits (bounded) until the loop thread has taken every submitted job off the queue. */
static void wait_dispatched(struct orm_pool *pool)
{
    long long deadline = now_ms() + WAIT_MS;
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    while (stats.waiting > 0 && now_ms() < deadline) {
        usleep(1000);
        orm_pool_stats(pool, &stats);
    }
    assert_int_equal(stats.waiting, 0);
}

/* ---- collecting asynchronous outcomes ------------------------------------------------------ */

struct tally {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int done, ok, wrong, failed;
    int by_status[ORM_E_STATEMENT_TIMEOUT + 1];
};

/* One submitted job: what its result must be, and what actually happened to it. */
struct expectation {
    struct tally *tally;
    char expected[32];
    int calls;
    enum orm_status status;
    char sqlstate[6];
    long long finished_ms;
};

static void tally_init(struct tally *tally)
{
    memset(tally, 0, sizeof *tally);
    pthread_condattr_t attributes;
    assert_int_equal(pthread_condattr_init(&attributes), 0);
    assert_int_equal(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), 0);
    assert_int_equal(pthread_cond_init(&tally->changed, &attributes), 0);
    pthread_condattr_destroy(&attributes);
    assert_int_equal(pthread_mutex_init(&tally->lock, NULL), 0);
}

static void tally_destroy(struct tally *tally)
{
    pthread_mutex_destroy(&tally->lock);
    pthread_cond_destroy(&tally->changed);
}

static void expect(struct expectation *expectation, struct tally *tally, const char *expected)
{
    memset(expectation, 0, sizeof *expectation);
    expectation->tally = tally;
    snprintf(expectation->expected, sizeof expectation->expected, "%s", expected);
    expectation->status = -1;
}

/* The callback: compares the first value with the job's own expectation, then frees the result
 * the way the header says a callback should (PQclear and clear the pointer). */
static void tally_callback(void *context, struct orm_outcome *outcome)
{
    struct expectation *expectation = context;
    struct tally *tally = expectation->tally;
    bool is_right = outcome->status == ORM_OK && outcome->result &&
                    PQntuples(outcome->result) == 1 &&
                    strcmp(PQgetvalue(outcome->result, 0, 0), expectation->expected) == 0;
    if (outcome->result) {
        PQclear(outcome->result);
        outcome->result = NULL;
    }
    pthread_mutex_lock(&tally->lock);
    expectation->calls++;
    expectation->status = outcome->status;
    snprintf(expectation->sqlstate, sizeof expectation->sqlstate, "%s", outcome->sqlstate);
    expectation->finished_ms = now_ms();
    if ((int)outcome->status >= 0 && outcome->status <= ORM_E_STATEMENT_TIMEOUT)
        tally->by_status[outcome->status]++;
    if (outcome->status == ORM_OK) {
        if (is_right)
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

/* Returns how many callbacks had run when count was reached or timeout_ms passed. */
static int tally_wait(struct tally *tally, int count, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&tally->lock);
    while (tally->done < count)
        if (pthread_cond_timedwait(&tally->changed, &tally->lock, &deadline) != 0)
            break;
    int done = tally->done;
    pthread_mutex_unlock(&tally->lock);
    return done;
}

/* Reads tally counters under the lock (the pool thread may still write them). */
static int tally_get(struct tally *tally, const int *counter)
{
    pthread_mutex_lock(&tally->lock);
    int value = *counter;
    pthread_mutex_unlock(&tally->lock);
    return value;
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
    assert_non_null(outcome.result);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "42");
    PQclear(outcome.result);
    assert_true(orm_pool_is_ready(pool));

    /* the same through submit and a callback */
    struct tally tally;
    tally_init(&tally);
    struct expectation job;
    expect(&job, &tally, "42");
    struct orm_statement statement = {"SELECT $1::int + 1", params, 1};
    orm_pool_submit(pool, &statement, 1, tally_callback, &job);
    assert_int_equal(tally_wait(&tally, 1, WAIT_MS), 1);
    assert_int_equal(job.calls, 1);
    assert_int_equal(job.status, ORM_OK);
    assert_int_equal(tally.ok, 1);
    orm_pool_free(pool);
    tally_destroy(&tally);
}

static void test_pool_completes_1000_concurrent_queries_over_4_connections(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    enum { COUNT = 1000 };
    struct orm_pool *pool = pool_open(4, 20000, 0, 0);
    struct tally tally;
    tally_init(&tally);
    struct expectation *jobs = calloc(COUNT, sizeof *jobs);
    assert_non_null(jobs);
    for (int i = 0; i < COUNT; i++) {
        char param[16], expected[32];
        snprintf(param, sizeof param, "%d", i);
        const char *params[] = {param, "x"};
        struct orm_statement statement;
        switch (i % 4) {
        case 0:
            statement = (struct orm_statement){"SELECT $1::int * 2", params, 1};
            snprintf(expected, sizeof expected, "%d", i * 2);
            break;
        case 1:
            statement = (struct orm_statement){"SELECT 'n' || $1::text", params, 1};
            snprintf(expected, sizeof expected, "n%d", i);
            break;
        case 2:
            statement = (struct orm_statement){"SELECT length($1::text)", params, 1};
            snprintf(expected, sizeof expected, "%zu", strlen(param));
            break;
        default:
            statement = (struct orm_statement){"SELECT $2::text || $1::text", params, 2};
            snprintf(expected, sizeof expected, "x%d", i);
            break;
        }
        expect(&jobs[i], &tally, expected);
        /* params are copied by submit, so the stack buffers may go away now */
        orm_pool_submit(pool, &statement, 1, tally_callback, &jobs[i]);
    }
    int done = tally_wait(&tally, COUNT, 30000);
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    orm_pool_free(pool); /* joins the pool thread: the counters are stable after this */
    assert_int_equal(done, COUNT);
    assert_int_equal(tally.done, COUNT);
    assert_int_equal(tally.wrong, 0);
    assert_int_equal(tally.ok, COUNT);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(jobs[i].calls, 1);
    assert_true(stats.completed >= COUNT);
    assert_int_equal(stats.size, 4);
    free(jobs);
    tally_destroy(&tally);
}

static void test_pool_statement_timeout_fails_cleanly(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 200, 0);
    struct orm_outcome outcome;
    long long started = now_ms();
    run(pool, "SELECT pg_sleep(2)", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_E_QUERY);
    assert_string_equal(outcome.sqlstate, "57014");
    assert_null(outcome.result);
    assert_true(now_ms() - started < 1500);
    expect_first_value(pool, "SELECT 7", NULL, 0, "7");
    orm_pool_free(pool);
}

static void test_pool_reports_constraint_violation(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    char table[48], constraint[48], sql[256];
    snprintf(table, sizeof table, "pool_test_unique_%d", (int)getpid());
    snprintf(constraint, sizeof constraint, "pool_test_v_key_%d", (int)getpid());
    snprintf(sql, sizeof sql, "CREATE TABLE %s (v int CONSTRAINT %s UNIQUE)", table, constraint);
    run_ok(pool, sql);
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES ($1::int)", table);
    const char *params[] = {"1"};
    struct orm_outcome first, second;
    run(pool, sql, params, 1, &first);
    PQclear(first.result);
    run(pool, sql, params, 1, &second);
    PQclear(second.result);
    snprintf(sql, sizeof sql, "DROP TABLE %s", table);
    run_ok(pool, sql);
    orm_pool_free(pool);
    assert_int_equal(first.status, ORM_OK);
    assert_int_equal(second.status, ORM_E_QUERY);
    assert_null(second.result);
    assert_string_equal(second.sqlstate, "23505");
    assert_string_equal(second.constraint, constraint);
    assert_true(strlen(second.message) > 0);
}

static void test_pool_pipeline_is_one_transaction(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *claims[] = {"{\"sub\":\"ada\",\"role\":\"reader\"}"};
    struct orm_statement statements[2] = {
        {"SELECT set_config('request.jwt.claims', $1, true)", claims, 1},
        {"SELECT current_setting('request.jwt.claims', true)", NULL, 0},
    };
    struct orm_outcome outcome;
    orm_pool_run_sync(pool, statements, 2, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), claims[0]);
    PQclear(outcome.result);
    /* is_local = true: the setting ended with that transaction */
    expect_first_value(pool, "SELECT coalesce(current_setting('request.jwt.claims', true), '')",
                       NULL, 0, "");

    char table[64], create[128], insert[128], count[128], drop[128];
    snprintf(table, sizeof table, "pool_test_tx_%d", (int)getpid());
    snprintf(create, sizeof create, "CREATE TABLE %s (v int)", table);
    snprintf(insert, sizeof insert, "INSERT INTO %s VALUES (1)", table);
    snprintf(count, sizeof count, "SELECT count(*) FROM %s", table);
    snprintf(drop, sizeof drop, "DROP TABLE %s", table);
    run_ok(pool, create);
    struct orm_statement failing[2] = {{insert, NULL, 0}, {"SELECT 1 / 0", NULL, 0}};
    struct orm_outcome failed;
    orm_pool_run_sync(pool, failing, 2, &failed);
    struct orm_outcome counted;
    run(pool, count, NULL, 0, &counted);
    char rows[16] = "?";
    if (counted.status == ORM_OK)
        snprintf(rows, sizeof rows, "%s", PQgetvalue(counted.result, 0, 0));
    PQclear(counted.result);
    run_ok(pool, drop);
    orm_pool_free(pool);
    assert_int_equal(failed.status, ORM_E_QUERY);
    assert_string_equal(failed.sqlstate, "22012");
    assert_null(failed.result);
    assert_int_equal(counted.status, ORM_OK);
    assert_string_equal(rows, "0");
}

/* The pool pipelines up to 4 jobs on a busy connection before a job has to wait for one to
 * free up, so "every connection busy" means 4 sleepers on a pool of size 1. */
#define SLEEPERS_TO_FILL_ONE_CONNECTION 4
/* orm/pool_job.h's POOL_STALL_MS, and a little more: a connection whose query has run this
 * long takes no more pipelined jobs. */
#define STALLED_AFTER_MS 80

/* The statement the tests stall with. */
static const char sleep_sql[] = "SELECT pg_sleep($1::float8)::text";

/* The pool pipelines a job only behind statements that ran quickly last time on that connection.
 * Runs statement once on each of `size` connections (submitted together, so each goes to a
 * connection of its own: a statement never run is not known to be quick, so nothing is
 * pipelined behind it), which makes it known to be quick on all of them. Each must succeed,
 * with expected as its first value unless expected is NULL. */
static void teach_is_quick(struct orm_pool *pool, const struct orm_statement *statement, int size,
                           const char *expected)
{
    struct tally tally;
    tally_init(&tally);
    struct expectation jobs[8];
    assert_true(size <= 8);
    wait_connected(pool, size);
    for (int i = 0; i < size; i++) {
        expect(&jobs[i], &tally, expected ? expected : "");
        orm_pool_submit(pool, statement, 1, tally_callback, &jobs[i]);
    }
    assert_int_equal(tally_wait(&tally, size, WAIT_MS), size);
    assert_int_equal(tally.by_status[ORM_OK], size);
    if (expected)
        assert_int_equal(tally.ok, size);
    tally_destroy(&tally);
}

/* The sleep statement, for 0 s. */
static void teach_sleep_is_quick(struct orm_pool *pool, int size)
{
    const char *zero[] = {"0"};
    struct orm_statement statement = {sleep_sql, zero, 1};
    teach_is_quick(pool, &statement, size, "");
}

/* A job that cannot start within acquire_timeout_ms fails then, not when the query ahead of it
 * ends (a statement never run before is not known to be quick, so nothing is pipelined behind
 * it). */
static void test_pool_acquire_timeout(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 100, 0, 0);
    run_ok(pool,
           "SELECT 1"); /* the connection is up: the late job waits for it, not for a connect */
    struct tally tally;
    tally_init(&tally);
    struct expectation sleeper, late;
    struct orm_statement sleep_statement = {"SELECT pg_sleep(1)::text", NULL, 0};
    expect(&sleeper, &tally, "");
    orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleeper);
    wait_dispatched(pool);
    usleep(STALLED_AFTER_MS * 1000);
    expect(&late, &tally, "1");
    struct orm_statement quick = {"SELECT 1", NULL, 0};
    long long submitted = now_ms();
    orm_pool_submit(pool, &quick, 1, tally_callback, &late);
    int done = tally_wait(&tally, 2, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, 2);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.status, ORM_E_TIMEOUT);
    /* it failed after about acquire_timeout_ms, not when the sleeper finished */
    assert_true(late.finished_ms - submitted >= 90);
    assert_true(late.finished_ms - submitted < 900);
    assert_int_equal(sleeper.calls, 1);
    assert_int_equal(sleeper.status, ORM_OK);
    tally_destroy(&tally);
}

/* Jobs submitted together on one connection: each one either runs or fails with ORM_E_TIMEOUT
 * within its acquire timeout; none waits behind the others for their whole run (those
 * pipelined behind the first get it cancelled, one after another, to start in time). */
static void test_pool_no_job_waits_past_its_acquire_timeout(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    enum { COUNT = 6, ACQUIRE_MS = 300 };
    struct orm_pool *pool = pool_open(1, ACQUIRE_MS, 0, 0);
    teach_sleep_is_quick(pool, 1); /* so the jobs are pipelined behind one another */
    struct tally tally;
    tally_init(&tally);
    struct expectation jobs[COUNT];
    const char *one[] = {"1"};
    struct orm_statement sleep_statement = {sleep_sql, one, 1};
    long long submitted = now_ms();
    for (int i = 0; i < COUNT; i++) {
        expect(&jobs[i], &tally, "");
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &jobs[i]);
    }
    int done = tally_wait(&tally, COUNT, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, COUNT);
    int timed_out = 0;
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal(jobs[i].calls, 1);
        long long took = jobs[i].finished_ms - submitted;
        if (jobs[i].status == ORM_E_TIMEOUT) {
            timed_out++;
            assert_true(took < ACQUIRE_MS + 300);
        } else {
            /* it ran (or was cancelled to let the one behind it start): started in time */
            assert_true(jobs[i].status == ORM_OK || jobs[i].status == ORM_E_STATEMENT_TIMEOUT);
            assert_true(took < ACQUIRE_MS + 400 + 1000);
        }
    }
    assert_true(timed_out >= 1);
    assert_int_equal(tally.wrong, 0);
    tally_destroy(&tally);
}

/* Jobs that arrive while a connection is busy with quick statements go behind them on that
 * connection, not to the idle one (one backend woken instead of two), and those given to one
 * connection in a round leave in one segment (orm/pool_conn.c: the Syncs held back, the socket
 * corked) while each keeps its own Sync: the one that fails rolls back alone. Before, the
 * fourth job went to the second connection's backend. */
static void packs_a_round_onto_the_busy_connection(const char *url)
{
    enum { COUNT = 4 };
    struct orm_pool *pool = pool_open_url(url, 2, 5000, 0, 0);
    static const char pid_sql[] = "SELECT (pg_backend_pid() / $1::int)::text FROM pg_sleep(0.02)";
    const char *one[] = {"1"}, *zero[] = {"0"};
    struct orm_statement by_one = {pid_sql, one, 1}, by_zero = {pid_sql, zero, 1};
    teach_is_quick(pool, &by_one, 2, NULL); /* each backend answers its own pid */
    /* an idle pool starts with its first connection: whose backend is that? */
    struct orm_outcome first;
    run(pool, "SELECT pg_backend_pid()::text", NULL, 0, &first);
    assert_int_equal(first.status, ORM_OK);
    char backend[32];
    snprintf(backend, sizeof backend, "%s", PQgetvalue(first.result, 0, 0));
    PQclear(first.result);

    struct tally tally;
    tally_init(&tally);
    struct expectation jobs[COUNT];
    for (int i = 0; i < COUNT; i++) {
        expect(&jobs[i], &tally, backend);
        orm_pool_submit(pool, i == 1 ? &by_zero : &by_one, 1, tally_callback, &jobs[i]);
    }
    int done = tally_wait(&tally, COUNT, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, COUNT);
    assert_int_equal(jobs[1].status, ORM_E_QUERY);
    assert_string_equal(jobs[1].sqlstate, "22012");
    for (int i = 0; i < COUNT; i++)
        if (i != 1) {
            assert_int_equal(jobs[i].status, ORM_OK);
            assert_int_equal(jobs[i].calls, 1);
        }
    assert_int_equal(tally.ok, COUNT - 1); /* all on the first connection's backend */
    assert_int_equal(tally.wrong, 0);
    tally_destroy(&tally);
}

static void test_pool_packs_a_round_onto_the_busy_connection(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    packs_a_round_onto_the_busy_connection(database_url());
}

/* The same over a Unix socket, where there is no TCP_CORK: each job leaves on its own. */
static void test_pool_packs_a_round_over_a_unix_socket(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    struct orm_outcome where;
    run(pool,
        "SELECT split_part(current_setting('unix_socket_directories'), ',', 1) || ' ' || "
        "current_setting('port') || ' ' || current_database() || ' ' || current_user",
        NULL, 0, &where);
    orm_pool_free(pool);
    assert_int_equal(where.status, ORM_OK);
    char directory[256] = "", database[128] = "", user[128] = "";
    int port = 0;
    int fields = sscanf(PQgetvalue(where.result, 0, 0), "%255s %d %127s %127s", directory, &port,
                        database, user);
    PQclear(where.result);
    if (fields != 4 || directory[0] != '/')
        skip(); /* the server listens on no Unix socket */
    char url[600];
    snprintf(url, sizeof url, "host=%s port=%d dbname=%s user=%s", directory, port, database, user);
    packs_a_round_onto_the_busy_connection(url);
}

/* A read pipelined behind a query that stalls is sent again on another connection instead of
 * waiting for it (a locked table must not hold up the others). The stalling statement ran
 * quickly before, as a query on a table that has just been locked did. */
static void test_pool_read_behind_a_stalled_query_runs_elsewhere(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(2, 5000, 0, 0);
    teach_sleep_is_quick(pool, 2);
    struct tally tally;
    tally_init(&tally);
    struct expectation slow, short_one, read;
    const char *three[] = {"3"}, *short_time[] = {"0.2"};
    struct orm_statement slow_statement = {sleep_sql, three, 1};
    struct orm_statement short_statement = {sleep_sql, short_time, 1};
    struct orm_statement read_statement = {"SELECT 'read'", NULL, 0};
    expect(&slow, &tally, "");
    expect(&short_one, &tally, "");
    expect(&read, &tally, "read");
    long long submitted = now_ms();
    /* both connections busy and young: the read is pipelined behind one of them */
    orm_pool_submit(pool, &slow_statement, 1, tally_callback, &slow);
    orm_pool_submit(pool, &short_statement, 1, tally_callback, &short_one);
    orm_pool_submit_read(pool, &read_statement, 1, tally_callback, &read);
    int done = tally_wait(&tally, 2, WAIT_MS);
    long long read_took = read.finished_ms - submitted;
    assert_int_equal(done, 2);
    done = tally_wait(&tally, 3, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, 3);
    assert_int_equal(read.calls, 1);
    assert_int_equal(read.status, ORM_OK);
    assert_true(read.finished_ms > 0 && read_took < 1500);
    assert_int_equal(slow.status, ORM_OK);
    assert_int_equal(short_one.status, ORM_OK);
    assert_int_equal(tally.ok, 3);
    tally_destroy(&tally);
}

/* A write cannot be sent again: when one pipelined behind a stalled query reaches its acquire
 * deadline, the stalled query is cancelled (ORM_E_STATEMENT_TIMEOUT) and the write runs. */
static void test_pool_write_held_up_by_a_stalled_query_cancels_it(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 300, 0, 0);
    teach_sleep_is_quick(pool, 1);
    struct tally tally;
    tally_init(&tally);
    struct expectation slow, write;
    const char *five[] = {"5"};
    struct orm_statement slow_statement = {sleep_sql, five, 1};
    struct orm_statement write_statement = {"SELECT 'written'", NULL, 0};
    expect(&slow, &tally, "");
    expect(&write, &tally, "written");
    long long submitted = now_ms();
    orm_pool_submit(pool, &slow_statement, 1, tally_callback, &slow);
    orm_pool_submit(pool, &write_statement, 1, tally_callback, &write);
    int done = tally_wait(&tally, 2, WAIT_MS);
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    orm_pool_free(pool);
    assert_int_equal(done, 2);
    assert_int_equal(slow.status, ORM_E_STATEMENT_TIMEOUT);
    assert_int_equal(write.status, ORM_OK);
    assert_true(write.finished_ms - submitted >= 250);
    assert_true(write.finished_ms - submitted < 1500);
    assert_true(stats.cancels >= 1);
    tally_destroy(&tally);
}

/* PostgreSQL's statement_timeout bounds each statement; the pool bounds the job: three
 * statements of 0.2 s each under a 300 ms timeout are cancelled, and the connection is fine
 * afterwards. */
static void test_pool_cancels_a_job_past_the_statement_timeout(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 300, 0);
    run_ok(pool, "SELECT 1");
    struct orm_statement statements[3] = {{"SELECT pg_sleep(0.2)", NULL, 0},
                                          {"SELECT pg_sleep(0.2)", NULL, 0},
                                          {"SELECT pg_sleep(0.2)::text", NULL, 0}};
    struct orm_outcome outcome;
    long long started = now_ms();
    orm_pool_run_sync(pool, statements, 3, &outcome);
    long long took = now_ms() - started;
    assert_int_equal(outcome.status, ORM_E_STATEMENT_TIMEOUT);
    assert_null(outcome.result);
    assert_true(took >= 300 && took < 1500);
    expect_first_value(pool, "SELECT 7", NULL, 0, "7");
    orm_pool_free(pool);
}

static void test_pool_queue_limit(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 2);
    run_ok(pool, "SELECT 1");
    struct tally tally;
    tally_init(&tally);
    struct expectation sleepers[SLEEPERS_TO_FILL_ONE_CONNECTION], quick_jobs[5];
    struct orm_statement sleep_statement = {"SELECT pg_sleep(0.3)::text", NULL, 0};
    /* one at a time, so the sleepers themselves never meet the limit of 2 */
    for (int i = 0; i < SLEEPERS_TO_FILL_ONE_CONNECTION; i++) {
        expect(&sleepers[i], &tally, "");
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleepers[i]);
        wait_dispatched(pool);
    }
    struct orm_statement quick = {"SELECT 1", NULL, 0};
    for (int i = 0; i < 5; i++) {
        expect(&quick_jobs[i], &tally, "1");
        orm_pool_submit(pool, &quick, 1, tally_callback, &quick_jobs[i]);
    }
    /* refusals are immediate: the callback already ran inside submit */
    int refused_at_once = tally_get(&tally, &tally.by_status[ORM_E_QUEUE_FULL]);
    int done = tally_wait(&tally, SLEEPERS_TO_FILL_ONE_CONNECTION + 5, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, SLEEPERS_TO_FILL_ONE_CONNECTION + 5);
    assert_true(refused_at_once >= 1);
    assert_int_equal(tally.by_status[ORM_E_QUEUE_FULL], refused_at_once);
    int accepted = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(quick_jobs[i].calls, 1);
        if (quick_jobs[i].status == ORM_OK)
            accepted++;
        else
            assert_int_equal(quick_jobs[i].status, ORM_E_QUEUE_FULL);
    }
    assert_true(accepted >= 1 && accepted <= 2); /* the queue held at most its limit */
    assert_int_equal(tally.wrong, 0);
    tally_destroy(&tally);
}

static void test_pool_database_down_at_start(void **state)
{
    (void)state;
    /* a port nobody listens on: bind to port 0, read what the kernel chose, release it */
    int unused = unused_port(); /* nothing listens there */
    char url[128];
    snprintf(url, sizeof url, "postgresql://nobody@127.0.0.1:%d/none", unused);

    struct orm_pool *pool = pool_open_url(url, 2, 5000, 0, 0);
    assert_false(orm_pool_is_ready(pool));
    long long started = now_ms();
    struct orm_outcome outcome;
    run(pool, "SELECT 1", NULL, 0, &outcome);
    long long elapsed = now_ms() - started;
    assert_int_equal(outcome.status, ORM_E_UNAVAILABLE);
    assert_null(outcome.result);
    assert_true(elapsed < 2000);
    assert_false(orm_pool_is_ready(pool));
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    assert_int_equal(stats.connected, 0);
    assert_true(stats.failed >= 1);
    orm_pool_free(pool);
}

static void test_pool_free_with_queries_in_flight(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    enum { COUNT = 12 };
    struct orm_pool *pool = pool_open(2, 5000, 0, 0);
    wait_connected(pool, 2);
    struct tally tally;
    tally_init(&tally);
    struct expectation jobs[COUNT];
    struct orm_statement sleep_statement = {"SELECT pg_sleep(0.3)::text", NULL, 0};
    for (int i = 0; i < COUNT; i++) {
        expect(&jobs[i], &tally, "");
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &jobs[i]);
    }
    usleep(50000);
    long long started = now_ms();
    orm_pool_free(pool);
    assert_true(now_ms() - started < 10000);
    assert_int_equal(tally.done, COUNT);
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal(jobs[i].calls, 1);
        assert_true(jobs[i].status == ORM_OK || jobs[i].status == ORM_E_SHUTDOWN);
    }
    assert_int_equal(tally.wrong, 0);
    assert_true(tally.ok >= 1); /* jobs already sent were allowed to finish */
    tally_destroy(&tally);
}

struct chain {
    struct orm_pool *pool;
    struct expectation first, second;
};

static void chain_first(void *context, struct orm_outcome *outcome)
{
    struct chain *chain = context;
    tally_callback(&chain->first, outcome);
    struct orm_statement next = {"SELECT 'second'", NULL, 0};
    orm_pool_submit(chain->pool, &next, 1, tally_callback, &chain->second);
}

static void test_pool_callback_may_submit_again(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    struct tally tally;
    tally_init(&tally);
    struct chain chain = {.pool = pool};
    expect(&chain.first, &tally, "first");
    expect(&chain.second, &tally, "second");
    struct orm_statement first = {"SELECT 'first'", NULL, 0};
    orm_pool_submit(pool, &first, 1, chain_first, &chain);
    int done = tally_wait(&tally, 2, WAIT_MS);
    orm_pool_free(pool);
    assert_int_equal(done, 2);
    assert_int_equal(chain.first.calls, 1);
    assert_int_equal(chain.second.calls, 1);
    assert_int_equal(chain.first.status, ORM_OK);
    assert_int_equal(chain.second.status, ORM_OK);
    assert_int_equal(tally.ok, 2);
    tally_destroy(&tally);
}

static void test_pool_prepared_statement_cache(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *sql = "SELECT 40 + $1::int";
    const char *params[] = {"2"};
    for (int i = 0; i < 3; i++) {
        expect_first_value(pool, sql, params, 1, "42");
    }
    const char *check[] = {sql};
    expect_first_value(pool, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                       check, 1, "1");
    orm_pool_free(pool);
}

/* database.prepared_statements: false — nothing prepared is left on the connection, so a
 * PgBouncer in transaction mode may hand the next transaction to another server connection. */
static void test_pool_unnamed_statements_only_prepares_nothing(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool_options options = {.url = database_url(),
                                       .size = 1,
                                       .acquire_timeout_ms = 5000,
                                       .unnamed_statements_only = true};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    const char *sql = "SELECT 40 + $1::int";
    const char *params[] = {"2"};
    for (int i = 0; i < 3; i++) {
        expect_first_value(pool, sql, params, 1, "42");
    }
    expect_first_value(pool, "SELECT count(*) FROM pg_prepared_statements", NULL, 0, "0");
    orm_pool_free(pool);
}

/* Where a query's session settings come from: "client" is the options sent at connect,
 * "session" a set_config in the query's own transaction. */
static void assert_settings_source(bool unnamed_statements_only, const char *expected_source)
{
    struct orm_pool_options options = {.url = database_url(),
                                       .size = 1,
                                       .acquire_timeout_ms = 5000,
                                       .statement_timeout_ms = 4000,
                                       .unnamed_statements_only = unnamed_statements_only};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    struct orm_outcome outcome;
    run(pool,
        "SELECT current_setting('IntervalStyle') || ' ' || current_setting('TimeZone') || ' ' || "
        "current_setting('statement_timeout') || ' ' || source FROM pg_settings "
        "WHERE name = 'IntervalStyle'",
        NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    char expected[64];
    snprintf(expected, sizeof expected, "iso_8601 UTC 4s %s", expected_source);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), expected);
    PQclear(outcome.result);
    orm_pool_free(pool);
}

/* Behind a transaction pooler the settings cannot live on the session (PgBouncer 1.18 refuses
 * "options", and the next transaction may run on another server session): every query's
 * transaction sets them itself. Directly, they are set once at connect. */
static void test_pool_session_settings_per_transaction_behind_a_pooler(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    assert_settings_source(true, "session");
    assert_settings_source(false, "client");
}

static void test_pool_null_parameters_bind_sql_null(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    const char *params[] = {NULL, "x"};
    expect_first_value(pool, "SELECT $1::text IS NULL", params, 1, "t");
    /* NULL next to a value: only the NULL one is NULL */
    expect_first_value(pool, "SELECT ($1::text IS NULL)::text || ($2::text IS NULL)::text", params,
                       2, "truefalse");
    orm_pool_free(pool);
}

/* ---- restart ------------------------------------------------------------------------------- */

/* Runs pg_ctl on the test cluster (as postgres when we are root); returns system()'s status. */
static int pg_ctl(const char *arguments)
{
    char command[4096];
    snprintf(command, sizeof command, "%s%s/pg_ctl -D %s %s >/dev/null 2>&1",
             geteuid() == 0 ? "runuser -u postgres -- " : "", getenv("RESTABLE_TEST_PG_BIN"),
             getenv("RESTABLE_TEST_PG_DATA"), arguments);
    return system(command);
}

/* postmaster.opts is one line: BIN "-D" "DATA" "-c" "x=y" "-p" "PORT" ...; options gets the
 * words after the data dir, unquoted and space-separated, ready for pg_ctl -o. */
static int read_postmaster_options(char *options, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/postmaster.opts", getenv("RESTABLE_TEST_PG_DATA"));
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    char line[4096] = "";
    char *read = fgets(line, sizeof line, file);
    fclose(file);
    if (!read)
        return -1;
    options[0] = '\0';
    size_t used = 0;
    bool after_data = false, is_data_next = false;
    for (char *p = line; (p = strchr(p, '"'));) {
        char *end = strchr(p + 1, '"');
        if (!end)
            return -1;
        *end = '\0';
        const char *word = p + 1;
        if (after_data) {
            int written = snprintf(options + used, size - used, "%s%s", used ? " " : "", word);
            if (written < 0 || (size_t)written >= size - used)
                return -1;
            used += (size_t)written;
        } else if (is_data_next) {
            after_data = true;
        } else if (strcmp(word, "-D") == 0) {
            is_data_next = true;
        }
        p = end + 1;
    }
    return after_data ? 0 : -1;
}

static void test_pool_survives_database_restart(void **state)
{
    (void)state;
    if (!database_url() || !getenv("RESTABLE_TEST_PG_DATA") || !getenv("RESTABLE_TEST_PG_BIN"))
        skip();
    char options[2048];
    assert_int_equal(read_postmaster_options(options, sizeof options), 0);
    assert_non_null(strstr(options, "-p "));
    char start[3072];
    snprintf(start, sizeof start, "-w -l %s/../server.log -o \"%s\" start",
             getenv("RESTABLE_TEST_PG_DATA"), options);

    enum { SIZE = 4 };
    struct orm_pool *pool = pool_open(SIZE, 3000, 0, 0);
    wait_connected(pool, SIZE);
    struct tally tally;
    tally_init(&tally);
    struct expectation sleepers[SIZE];
    struct orm_statement sleep_statement = {"SELECT pg_sleep(5)::text", NULL, 0};
    for (int i = 0; i < SIZE; i++) {
        expect(&sleepers[i], &tally, "");
        orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleepers[i]);
    }
    wait_dispatched(pool);
    usleep(200000); /* let the sleeps start on the server */

    /* Nothing is asserted while the database is down: a failed assert would leave the cluster
     * stopped for whatever runs next. Record, restart, then assert. */
    int stopped = pg_ctl("-m fast -w stop");
    int done_while_down = tally_wait(&tally, SIZE, WAIT_MS);
    struct orm_outcome down_outcome;
    long long started = now_ms();
    run(pool, "SELECT 1", NULL, 0, &down_outcome);
    long long down_elapsed = now_ms() - started;
    PQclear(down_outcome.result);
    bool is_ready_while_down = orm_pool_is_ready(pool);

    int restarted = pg_ctl(start);
    bool is_recovered = false;
    long long restarted_at = now_ms();
    while (!is_recovered && now_ms() - restarted_at < 15000) {
        struct orm_outcome outcome;
        run(pool, "SELECT 2", NULL, 0, &outcome);
        is_recovered = outcome.status == ORM_OK && outcome.result &&
                       strcmp(PQgetvalue(outcome.result, 0, 0), "2") == 0;
        PQclear(outcome.result);
        if (!is_recovered)
            usleep(100000);
    }
    struct orm_pool_stats stats;
    orm_pool_stats(pool, &stats);
    orm_pool_free(pool);

    assert_int_equal(stopped, 0);
    assert_int_equal(restarted, 0);
    assert_int_equal(done_while_down, SIZE);
    for (int i = 0; i < SIZE; i++) {
        assert_int_equal(sleepers[i].calls, 1);
        bool is_expected_error =
            sleepers[i].status == ORM_E_UNAVAILABLE ||
            (sleepers[i].status == ORM_E_QUERY && strcmp(sleepers[i].sqlstate, "57P01") == 0);
        if (!is_expected_error)
            print_error("sleeper %d: status %d sqlstate %s\n", i, sleepers[i].status,
                        sleepers[i].sqlstate);
        assert_true(is_expected_error);
    }
    assert_int_equal(down_outcome.status, ORM_E_UNAVAILABLE);
    assert_true(down_elapsed < 2000);
    assert_false(is_ready_while_down);
    assert_true(is_recovered);
    assert_true(stats.reconnects >= 1);
    tally_destroy(&tally);
}

/* ---- sessions (orm/pool_session.c) --------------------------------------------------------- */

/* A scripted session: steps[i] runs after step i - 1 with that step's first value as $1 (the
 * first step has no parameter); after the last one the session commits, or rolls back when
 * rollback_at_end is set. Records every step's first value and the end. */
#define SESSION_STEPS 6

struct session_script {
    const char *steps[SESSION_STEPS];
    size_t step_count;
    bool rollback_at_end;
    struct tally *tally;
    size_t step_calls;
    char values[SESSION_STEPS][32];
    char param[32];
    enum orm_status status;
    char sqlstate[6];
    int done_calls;
    long long done_ms;
};

static enum orm_session_action session_step(void *context, struct orm_outcome *outcome,
                                            struct orm_session_next *next)
{
    struct session_script *script = context;
    pthread_mutex_lock(&script->tally->lock);
    size_t index = script->step_calls++;
    if (index < SESSION_STEPS && PQntuples(outcome->result) > 0)
        snprintf(script->values[index], sizeof script->values[index], "%s",
                 PQgetvalue(outcome->result, 0, 0));
    pthread_mutex_unlock(&script->tally->lock);
    if (index + 1 >= script->step_count)
        return script->rollback_at_end ? ORM_SESSION_ROLLBACK : ORM_SESSION_COMMIT;
    snprintf(script->param, sizeof script->param, "%s", script->values[index]);
    static const char *params[1];
    params[0] = script->param; /* copied by the pool before this returns */
    static struct orm_statement statement;
    statement = (struct orm_statement){script->steps[index + 1], params, 1};
    *next = (struct orm_session_next){&statement, 1};
    return ORM_SESSION_NEXT;
}

static void session_done(void *context, struct orm_outcome *outcome)
{
    struct session_script *script = context;
    struct tally *tally = script->tally;
    pthread_mutex_lock(&tally->lock);
    script->status = outcome->status;
    snprintf(script->sqlstate, sizeof script->sqlstate, "%s", outcome->sqlstate);
    script->done_calls++;
    script->done_ms = now_ms();
    tally->done++;
    pthread_cond_broadcast(&tally->changed);
    pthread_mutex_unlock(&tally->lock);
}

static void session_start(struct orm_pool *pool, struct session_script *script)
{
    struct orm_statement first = {script->steps[0], NULL, 0};
    orm_pool_submit_session(pool, &first, 1, session_step, session_done, script);
}

/* Makes a table of the test's own: name gets its name, and the statements that use it. */
static void session_table(struct orm_pool *pool, char *name, size_t size, const char *kind)
{
    char sql[256];
    snprintf(name, size, "pool_session_%s_%d", kind, (int)getpid());
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id serial PRIMARY KEY, v int UNIQUE)", name);
    run_ok(pool, sql);
}

static char *session_count(struct orm_pool *pool, const char *table, char *out, size_t size)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    struct orm_outcome outcome;
    run(pool, sql, NULL, 0, &outcome);
    snprintf(out, size, "%s", outcome.status == ORM_OK ? PQgetvalue(outcome.result, 0, 0) : "?");
    PQclear(outcome.result);
    return out;
}

/* After a session, the connection holds no transaction: a new statement that writes nothing
 * runs in a transaction of its own, which has no transaction id (the session's writes had one). */
static void assert_connection_clean(struct orm_pool *pool)
{
    struct orm_outcome outcome;
    run(pool, "SELECT (txid_current_if_assigned() IS NULL)::text", NULL, 0, &outcome);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), "true");
    PQclear(outcome.result);
}

/* Steps build on each other in one transaction on one connection, and jobs submitted while the
 * session holds the pool's only connection run after it, never inside its transaction. */
static void test_pool_session_holds_its_connection_until_commit(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    char table[64], insert[160], read_back[160], drop[96], count[16];
    session_table(pool, table, sizeof table, "commit");
    snprintf(insert, sizeof insert,
             "INSERT INTO %s (v) SELECT $1::int + 1 FROM pg_sleep(0.1) RETURNING v::text", table);
    snprintf(read_back, sizeof read_back,
             "SELECT txid_current()::text FROM %s, pg_sleep(0.1) WHERE v = $1::int", table);
    struct tally tally;
    tally_init(&tally);
    struct session_script script = {
        .steps = {"SELECT 40::text FROM pg_sleep(0.1)", insert, read_back},
        .step_count = 3,
        .tally = &tally};
    session_start(pool, &script);
    wait_dispatched(pool);
    struct expectation others[10];
    struct orm_statement other = {"SELECT txid_current()::text", NULL, 0};
    for (int i = 0; i < 10; i++) {
        expect(&others[i], &tally, "");
        orm_pool_submit(pool, &other, 1, tally_callback, &others[i]);
    }
    int done = tally_wait(&tally, 11, WAIT_MS);
    char inserted[16];
    snprintf(inserted, sizeof inserted, "%s", session_count(pool, table, count, sizeof count));
    assert_connection_clean(pool);
    snprintf(drop, sizeof drop, "DROP TABLE %s", table);
    run_ok(pool, drop);
    orm_pool_free(pool);
    assert_int_equal(done, 11);
    assert_int_equal(script.done_calls, 1);
    assert_int_equal(script.status, ORM_OK);
    assert_int_equal(script.step_calls, 3);
    assert_string_equal(script.values[0], "40");
    assert_string_equal(script.values[1], "41"); /* the first step's value, plus one */
    assert_string_equal(inserted, "1");          /* committed */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(others[i].status, ORM_OK);
        assert_true(others[i].finished_ms >= script.done_ms);
    }
    tally_destroy(&tally);
}

/* A step that fails rolls back what the earlier steps wrote; done hears that step's error and
 * the step callback is not called for it. A ROLLBACK asked for undoes everything as well. */
static void test_pool_session_rolls_back_on_failure(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 5000, 0, 0);
    char table[64], insert[160], again[160], drop[96], after_failure[16], after_rollback[16];
    session_table(pool, table, sizeof table, "rollback");
    snprintf(insert, sizeof insert, "INSERT INTO %s (v) VALUES (7) RETURNING v::text", table);
    snprintf(again, sizeof again, "INSERT INTO %s (v) VALUES ($1::int) RETURNING v::text", table);
    struct tally tally;
    tally_init(&tally);
    struct session_script failing = {
        .steps = {insert, again, "SELECT 1"}, .step_count = 3, .tally = &tally};
    session_start(pool, &failing);
    assert_int_equal(tally_wait(&tally, 1, WAIT_MS), 1);
    session_count(pool, table, after_failure, sizeof after_failure);
    assert_connection_clean(pool);
    struct session_script asked = {
        .steps = {insert}, .step_count = 1, .rollback_at_end = true, .tally = &tally};
    session_start(pool, &asked);
    assert_int_equal(tally_wait(&tally, 2, WAIT_MS), 2);
    session_count(pool, table, after_rollback, sizeof after_rollback);
    assert_connection_clean(pool);
    snprintf(drop, sizeof drop, "DROP TABLE %s", table);
    run_ok(pool, drop);
    orm_pool_free(pool);
    assert_int_equal(failing.done_calls, 1);
    assert_int_equal(failing.status, ORM_E_QUERY);
    assert_string_equal(failing.sqlstate, "23505");
    assert_int_equal(failing.step_calls, 1); /* not for the step that failed */
    assert_string_equal(after_failure, "0");
    assert_int_equal(asked.done_calls, 1);
    assert_int_equal(asked.status, ORM_OK);
    assert_string_equal(after_rollback, "0");
    tally_destroy(&tally);
}

/* A step past the statement timeout fails the session (and rolls it back); a session that finds
 * no connection within the acquire timeout fails with ORM_E_TIMEOUT without running a step. */
static void test_pool_session_timeouts(void **state)
{
    (void)state;
    if (!database_url())
        skip();
    struct orm_pool *pool = pool_open(1, 150, 300, 0);
    char table[64], insert[160], drop[96], count[16];
    session_table(pool, table, sizeof table, "timeout");
    snprintf(insert, sizeof insert, "INSERT INTO %s (v) VALUES (1) RETURNING v::text", table);
    struct tally tally;
    tally_init(&tally);
    struct session_script slow = {.steps = {insert, "SELECT pg_sleep(5 + 0 * $1::int)::text"},
                                  .step_count = 2,
                                  .tally = &tally};
    long long started = now_ms();
    session_start(pool, &slow);
    assert_int_equal(tally_wait(&tally, 1, WAIT_MS), 1);
    long long elapsed = now_ms() - started;
    session_count(pool, table, count, sizeof count);
    assert_connection_clean(pool);

    struct expectation sleeper;
    expect(&sleeper, &tally, "");
    struct orm_statement sleep_statement = {"SELECT pg_sleep(0.25)::text", NULL, 0};
    orm_pool_submit(pool, &sleep_statement, 1, tally_callback, &sleeper);
    wait_dispatched(pool);
    struct session_script late = {.steps = {"SELECT 1"}, .step_count = 1, .tally = &tally};
    session_start(pool, &late);
    assert_int_equal(tally_wait(&tally, 3, WAIT_MS), 3);
    snprintf(drop, sizeof drop, "DROP TABLE %s", table);
    run_ok(pool, drop);
    orm_pool_free(pool);
    bool is_timeout = slow.status == ORM_E_STATEMENT_TIMEOUT ||
                      (slow.status == ORM_E_QUERY && strcmp(slow.sqlstate, "57014") == 0);
    assert_true(is_timeout);
    assert_true(elapsed < 3000);
    assert_string_equal(count, "0");
    assert_int_equal(late.status, ORM_E_TIMEOUT);
    assert_int_equal(late.step_calls, 0);
    assert_int_equal(sleeper.status, ORM_OK);
    tally_destroy(&tally);
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
        cmocka_unit_test(test_pool_no_job_waits_past_its_acquire_timeout),
        cmocka_unit_test(test_pool_packs_a_round_onto_the_busy_connection),
        cmocka_unit_test(test_pool_packs_a_round_over_a_unix_socket),
        cmocka_unit_test(test_pool_read_behind_a_stalled_query_runs_elsewhere),
        cmocka_unit_test(test_pool_write_held_up_by_a_stalled_query_cancels_it),
        cmocka_unit_test(test_pool_cancels_a_job_past_the_statement_timeout),
        cmocka_unit_test(test_pool_queue_limit),
        cmocka_unit_test(test_pool_database_down_at_start),
        cmocka_unit_test(test_pool_free_with_queries_in_flight),
        cmocka_unit_test(test_pool_callback_may_submit_again),
        cmocka_unit_test(test_pool_prepared_statement_cache),
        cmocka_unit_test(test_pool_unnamed_statements_only_prepares_nothing),
        cmocka_unit_test(test_pool_session_settings_per_transaction_behind_a_pooler),
        cmocka_unit_test(test_pool_null_parameters_bind_sql_null),
        cmocka_unit_test(test_pool_session_holds_its_connection_until_commit),
        cmocka_unit_test(test_pool_session_rolls_back_on_failure),
        cmocka_unit_test(test_pool_session_timeouts),
        /* last: it stops and restarts the cluster */
        cmocka_unit_test(test_pool_survives_database_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
