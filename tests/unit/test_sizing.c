/*
 * tests/unit/test_sizing.c — the defaults serve chooses from the machine (server/sizing.c):
 * the CPUs a cgroup's quota allows (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us,
 * written into a temporary folder laid out like /sys/fs/cgroup), and the threads and pool
 * sizes chosen from them, with whatever the config sets explicitly winning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/app.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void remove_tree(const char *dir)
{
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

static void test_cgroup_v2_quota(void **state)
{
    (void)state;
    char dir[] = "/tmp/restable-cgroup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(srv_cpu_quota(dir), 0); /* no cgroup files: no quota */
    write_file(dir, "cpu.max", "max 100000\n");
    assert_int_equal(srv_cpu_quota(dir), 0);
    write_file(dir, "cpu.max", "200000 100000\n");
    assert_int_equal(srv_cpu_quota(dir), 2);
    write_file(dir, "cpu.max", "150000 100000\n"); /* 1.5 CPUs: rounded up */
    assert_int_equal(srv_cpu_quota(dir), 2);
    write_file(dir, "cpu.max", "50000 100000\n");
    assert_int_equal(srv_cpu_quota(dir), 1);
    write_file(dir, "cpu.max", "garbage\n");
    assert_int_equal(srv_cpu_quota(dir), 0);
    remove_tree(dir);
}

static void test_cgroup_v1_quota(void **state)
{
    (void)state;
    char dir[] = "/tmp/restable-cgroup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char v1[512];
    snprintf(v1, sizeof v1, "%s/cpu", dir);
    assert_int_equal(mkdir(v1, 0700), 0);
    write_file(v1, "cpu.cfs_quota_us", "-1\n");
    write_file(v1, "cpu.cfs_period_us", "100000\n");
    assert_int_equal(srv_cpu_quota(dir), 0);
    write_file(v1, "cpu.cfs_quota_us", "300000\n");
    assert_int_equal(srv_cpu_quota(dir), 3);
    remove_tree(dir);
}

static const char config_text[] =
    "{\"database\": {\"url\": \"postgresql://u@h/d\"%s}, \"server\": {\"port\": 1%s},"
    " \"tables\": {\"t\": {\"columns\": {\"a\": {\"type\": \"integer\"}}}}}";

static struct cfg_config *load(const char *database_extra, const char *server_extra)
{
    char text[512];
    snprintf(text, sizeof text, config_text, database_extra, server_extra);
    struct cfg_errors errors = {0};
    struct cfg_config *config = cfg_load_string(text, "test.json", &errors);
    assert_non_null(config);
    return config;
}

static void test_defaults_follow_the_usable_cpus(void **state)
{
    (void)state;
    struct cfg_config *config = load("", "");
    struct srv_sizing sizing;
    srv_sizing_choose(config, 2, 0, &sizing);
    assert_int_equal(sizing.cpus, 2);
    /* up to two CPUs: one thread serves HTTP and the database together */
    assert_int_equal(sizing.threads, 1);
    assert_true(srv_http_loop_wanted(&sizing));
    assert_int_equal(sizing.pool_size, 4);
    assert_int_equal(sizing.replica_pool_size, 4);
    assert_true(sizing.is_threads_auto && sizing.is_pool_auto);
    assert_non_null(strstr(sizing.why, "2 usable CPUs"));
    /* a quota below the affinity mask wins: a container on a big host */
    srv_sizing_choose(config, 64, 3, &sizing);
    assert_int_equal(sizing.cpus, 3);
    assert_int_equal(sizing.threads, 3);
    assert_false(srv_http_loop_wanted(&sizing));
    assert_int_equal(sizing.pool_size, 6);
    assert_non_null(strstr(sizing.why, "cgroup CPU quota: 3 CPUs"));
    /* one CPU: HTTP shares the pool's loop; the pool keeps two connections */
    srv_sizing_choose(config, 1, 0, &sizing);
    assert_int_equal(sizing.threads, 1);
    assert_true(srv_http_loop_wanted(&sizing));
    assert_int_equal(sizing.pool_size, 2);
    /* many CPUs: the pool stops at 32 */
    srv_sizing_choose(config, 128, 0, &sizing);
    assert_int_equal(sizing.pool_size, 32);
    assert_false(srv_http_loop_wanted(&sizing));
    /* unknown affinity: one CPU */
    srv_sizing_choose(config, 0, 0, &sizing);
    assert_int_equal(sizing.cpus, 1);
    cfg_free(config);
}

static void test_the_config_wins(void **state)
{
    (void)state;
    struct cfg_config *config =
        load(", \"pool_size\": 8, \"replica_pool_size\": 3", ", \"threads\": 1");
    struct srv_sizing sizing;
    srv_sizing_choose(config, 16, 0, &sizing);
    assert_int_equal(sizing.threads, 1);
    assert_int_equal(sizing.pool_size, 8);
    assert_int_equal(sizing.replica_pool_size, 3);
    assert_false(sizing.is_threads_auto || sizing.is_pool_auto);
    cfg_free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroup_v2_quota),
        cmocka_unit_test(test_cgroup_v1_quota),
        cmocka_unit_test(test_defaults_follow_the_usable_cpus),
        cmocka_unit_test(test_the_config_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
