/*
 * tests/unit/test_pool_helpers.h — what the pool's two suites (test_pool.c, test_pool_async.c)
 * share: the throwaway database's URL, a monotonic clock, running one statement and checking
 * the value it returns, and a local port nobody listens on.
 */
#ifndef RESTABLE_TEST_POOL_HELPERS_H
#define RESTABLE_TEST_POOL_HELPERS_H

#include "orm/orm.h"

/* RESTABLE_TEST_DATABASE_URL, or NULL when it is unset or empty (the test then skips). */
const char *database_url(void);
/* Milliseconds on the monotonic clock. */
long long now_ms(void);
/* Opens a pool of size connections on url; asserts it opened. */
struct orm_pool *pool_open_url(const char *url, int size, int acquire_ms, int statement_ms,
                               int queue_limit);
/* Runs one statement and waits for its outcome. */
void run(struct orm_pool *pool, const char *sql, const char *const *params, int count,
         struct orm_outcome *outcome);
/* Runs one statement, which must succeed with expected as its first value. */
void expect_first_value(struct orm_pool *pool, const char *sql, const char *const *params,
                        int count, const char *expected);
/* A loopback port nobody listens on: bound to port 0, read back, released. */
int unused_port(void);

#endif
