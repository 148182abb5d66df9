/*
 * tests/unit/test_replicas.c — the choice of the pool a table read goes to (SPEC §7), as the pure
 * function orm/replicas.c makes it from the replicas' last known states, and the WAL position
 * text of X-Restable-LSN. No database: the behaviour on a real standby is
 * tests/integration/test_replicas.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "orm/orm.h"

#define UP(lag, lsn)                                                                               \
    {                                                                                              \
        .is_up = true, .lag_ms = (lag), .replay_lsn = (lsn)                                        \
    }
#define DOWN                                                                                       \
    {                                                                                              \
        .is_up = false                                                                             \
    }

static void test_choice_takes_replicas_in_turn(void **state)
{
    (void)state;
    struct orm_replica_view views[] = {UP(0, 100), UP(0, 100), UP(0, 100)};
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 0), 0);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 1), 1);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 2), 2);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 3), 0); /* wraps */
}

static void test_choice_skips_replicas_down_or_lagging(void **state)
{
    (void)state;
    struct orm_replica_view views[] = {DOWN, UP(6000, 100), UP(10, 100)};
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 0), 2);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 2), 2);
    /* lag exactly at the limit still counts as fit */
    views[1].lag_ms = 5000;
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 0), 1);
}

static void test_choice_is_the_primary_when_none_is_fit(void **state)
{
    (void)state;
    struct orm_replica_view views[] = {DOWN, UP(9000, 100)};
    assert_int_equal(orm_replica_choose(views, 2, 5000, 0, 0), -1);
    assert_int_equal(orm_replica_choose(views, 0, 5000, 0, 0), -1);
}

static void test_choice_honours_the_wanted_position(void **state)
{
    (void)state;
    struct orm_replica_view views[] = {UP(0, 99), UP(0, 100), UP(0, 101)};
    assert_int_equal(orm_replica_choose(views, 3, 5000, 100, 0), 1);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 101, 0), 2);
    assert_int_equal(orm_replica_choose(views, 3, 5000, 102, 0), -1);
    /* 0: no position asked for */
    assert_int_equal(orm_replica_choose(views, 3, 5000, 0, 0), 0);
}

static void test_lsn_text_round_trips(void **state)
{
    (void)state;
    uint64_t lsn = 0;
    assert_int_equal(orm_lsn_parse("16/B374D848", &lsn), 0);
    assert_true(lsn == ((uint64_t)0x16 << 32 | 0xB374D848));
    char text[ORM_LSN_TEXT_MAX];
    orm_lsn_format(lsn, text);
    assert_string_equal(text, "16/B374D848");
    assert_int_equal(orm_lsn_parse("ffffffff/ffffffff", &lsn), 0);
    assert_true(lsn == UINT64_MAX);
    orm_lsn_format(lsn, text);
    assert_string_equal(text, "FFFFFFFF/FFFFFFFF");
    assert_int_equal(orm_lsn_parse("0/0", &lsn), 0);
    assert_true(lsn == 0);
}

static void test_lsn_text_refuses_what_is_not_a_position(void **state)
{
    (void)state;
    static const char *const bad[] = {"",      "/",           "0/",          "/0",    "1",
                                      "0/1/2", "123456789/0", "0/123456789", "0x1/2", "g/1",
                                      "1/ 2",  " 1/2",        "-1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t lsn = 7;
        assert_int_equal(orm_lsn_parse(bad[i], &lsn), -1);
        assert_true(lsn == 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice_takes_replicas_in_turn),
        cmocka_unit_test(test_choice_skips_replicas_down_or_lagging),
        cmocka_unit_test(test_choice_is_the_primary_when_none_is_fit),
        cmocka_unit_test(test_choice_honours_the_wanted_position),
        cmocka_unit_test(test_lsn_text_round_trips),
        cmocka_unit_test(test_lsn_text_refuses_what_is_not_a_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
