/*
 * tests/unit/test_pool_helpers.c — the helpers the pool's two suites share (see
 * test_pool_helpers.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_pool_helpers.h"

const char *database_url(void)
{
    const char *url = getenv("RESTABLE_TEST_DATABASE_URL");
    return url && *url ? url : NULL;
}

long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

struct orm_pool *pool_open_url(const char *url, int size, int acquire_ms, int statement_ms,
                               int queue_limit)
{
    struct orm_pool_options options = {.url = url,
                                       .size = size,
                                       .acquire_timeout_ms = acquire_ms,
                                       .statement_timeout_ms = statement_ms,
                                       .queue_limit = queue_limit};
    struct rs_error error = {0};
    struct orm_pool *pool = orm_pool_new(&options, &error);
    assert_non_null(pool);
    return pool;
}

void run(struct orm_pool *pool, const char *sql, const char *const *params, int count,
         struct orm_outcome *outcome)
{
    struct orm_statement statement = {sql, params, count};
    orm_pool_run_sync(pool, &statement, 1, outcome);
}

void expect_first_value(struct orm_pool *pool, const char *sql, const char *const *params,
                        int count, const char *expected)
{
    struct orm_outcome outcome;
    run(pool, sql, params, count, &outcome);
    if (outcome.status != ORM_OK)
        print_error("%s: %s\n", sql, outcome.message);
    assert_int_equal(outcome.status, ORM_OK);
    assert_string_equal(PQgetvalue(outcome.result, 0, 0), expected);
    PQclear(outcome.result);
}

int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t length = sizeof address;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    close(fd);
    return ntohs(address.sin_port);
}
