/*
 * server/sizing.c — the defaults chosen from the machine: how many CPUs this process may use
 * (its affinity mask, and the CPU quota of its cgroup in a container: cgroup v2 cpu.max, or v1
 * cpu.cfs_quota_us / cpu.cfs_period_us), and from that server.threads (0 = one HTTP thread per
 * usable CPU; up to two CPUs: HTTP in the pool's loop) and database.pool_size (absent or 0 = two
 * connections per usable CPU, docs/decisions.md "Defaults chosen from the machine"). What the
 * config sets explicitly wins. The start-up log says what was chosen and why.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

#define POOL_PER_CPU 2
/* Up to this many usable CPUs one thread serves HTTP and the database together: measured on 2
 * cores, it answered more requests with a shorter tail than a thread per CPU handing each
 * request to the pool's thread (docs/decisions.md, "Defaults chosen from the machine"). */
#define SHARED_LOOP_MAX_CPUS 2
#define POOL_AUTO_MIN 2
#define POOL_AUTO_MAX 32

/* The CPUs a quota of quota µs per period µs buys, rounded up; 0 when there is no quota. */
static int quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

/* cgroup v2: "max 100000" or "200000 100000"; 0 when absent or unlimited. */
static int cgroup_v2_cpus(const char *root)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cpu.max", root);
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    char quota[32] = "";
    long long period = 0;
    int fields = fscanf(file, "%31s %lld", quota, &period);
    fclose(file);
    if (fields != 2 || strcmp(quota, "max") == 0)
        return 0;
    return quota_cpus(atoll(quota), period);
}

static long long read_number(const char *root, const char *name)
{
    char path[1024]; /* root is at most 511 bytes (srv_cpu_quota), name a short constant */
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    long long value = 0;
    if (fscanf(file, "%lld", &value) != 1)
        value = 0;
    fclose(file);
    return value;
}

int srv_cpu_quota(const char *cgroup_root)
{
    int cpus = cgroup_v2_cpus(cgroup_root);
    if (cpus > 0)
        return cpus;
    /* cgroup v1: the cpu controller's own folder; quota -1 means none */
    char v1[512];
    snprintf(v1, sizeof v1, "%s/cpu", cgroup_root);
    return quota_cpus(read_number(v1, "cpu.cfs_quota_us"), read_number(v1, "cpu.cfs_period_us"));
}

void srv_sizing_choose(const struct cfg_config *config, int affinity_cpus, int quota_cpus,
                       struct srv_sizing *sizing)
{
    int cpus = affinity_cpus > 0 ? affinity_cpus : 1;
    if (quota_cpus > 0 && quota_cpus < cpus)
        cpus = quota_cpus;
    sizing->cpus = cpus;
    sizing->is_threads_auto = config->server.threads == 0;
    int threads = cpus <= SHARED_LOOP_MAX_CPUS ? 1 : cpus;
    sizing->threads = sizing->is_threads_auto ? threads : config->server.threads;
    sizing->is_pool_auto = config->database.pool_size == 0;
    int pool = cpus * POOL_PER_CPU;
    pool = pool < POOL_AUTO_MIN ? POOL_AUTO_MIN : pool > POOL_AUTO_MAX ? POOL_AUTO_MAX : pool;
    sizing->pool_size = sizing->is_pool_auto ? pool : config->database.pool_size;
    sizing->replica_pool_size = config->database.replica_pool_size > 0
                                    ? config->database.replica_pool_size
                                    : sizing->pool_size;
    char quota[32] = "none";
    if (quota_cpus > 0)
        snprintf(quota, sizeof quota, "%d CPU%s", quota_cpus, quota_cpus == 1 ? "" : "s");
    snprintf(sizing->why, sizeof sizing->why,
             "%d usable CPU%s (affinity mask: %d, cgroup CPU quota: %s)", cpus,
             cpus == 1 ? "" : "s", affinity_cpus, quota);
}

void srv_sizing_of_machine(const struct cfg_config *config, struct srv_sizing *sizing)
{
    cpu_set_t set;
    int affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    srv_sizing_choose(config, affinity, srv_cpu_quota("/sys/fs/cgroup"), sizing);
}

void srv_sizing_log(const struct srv_sizing *sizing)
{
    srv_log("info", "%d HTTP thread%s%s and %d database connection%s%s, from %s", sizing->threads,
            sizing->threads == 1 ? " (sharing the pool's loop)" : "s",
            sizing->is_threads_auto ? "" : " (server.threads)", sizing->pool_size,
            sizing->pool_size == 1 ? "" : "s", sizing->is_pool_auto ? "" : " (database.pool_size)",
            sizing->why);
}
