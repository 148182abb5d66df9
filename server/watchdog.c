/*
 * server/watchdog.c — deadlines libmicrohttpd does not keep: its connection timeout is an
 * idle timeout, so a client that drips one byte a second (slowloris) holds a connection
 * forever. Every open connection has a record here with a deadline for what it must send
 * next: its request head within server.limits.header_timeout_s of connecting (or, on a
 * kept-alive connection, of the idle timeout after its last answer), its body within
 * body_timeout_s of the head. A thread of its own looks once every 250 ms and shuts down the
 * socket of a connection past its deadline; MHD then sees the end of the stream and closes it
 * as usual. A connection waiting on the database has no deadline here: the pool bounds that.
 * The same thread gives freed memory back to the system after a burst of connections.
 *
 * Records are added and removed by MHD's connection notifications (on MHD's threads) under
 * one mutex, which the sweep also holds: MHD reports a connection closed before it closes the
 * socket, so the sweep never shuts down a descriptor that was reused for another connection.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/app.h"

struct srv_watched {
    struct srv_watched *previous, *next;
    int fd;
    atomic_llong deadline_ms; /* monotonic; 0: none */
    bool is_refused;          /* answered 503 at once (over max_connections): close it */
};

struct srv_watchdog {
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    struct srv_watched *head;
    bool is_stopping;
    pthread_t thread;
    bool has_thread;
    struct srv_app *app;
    int peak_connections; /* most open at once since memory was last given back */
};

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void sweep(struct srv_watchdog *watchdog)
{
    long long now = now_ms();
    pthread_mutex_lock(&watchdog->mutex);
    for (struct srv_watched *watched = watchdog->head; watched; watched = watched->next) {
        long long deadline = atomic_load(&watched->deadline_ms);
        if (deadline == 0 || now < deadline)
            continue;
        atomic_store(&watched->deadline_ms, 0);
        shutdown(watched->fd, SHUT_RDWR);
        srv_metrics_limit_hit(watchdog->app, SRV_LIMIT_REQUEST_TIMEOUT);
    }
    pthread_mutex_unlock(&watchdog->mutex);
}

/* After a burst of connections closes, hands the allocator's free memory back to the system:
 * glibc keeps what MHD's threads freed in their arenas, so RSS would stay at the peak. */
static void trim_after_burst(struct srv_watchdog *watchdog)
{
    int open = atomic_load(&watchdog->app->open_connections);
    if (open > watchdog->peak_connections)
        watchdog->peak_connections = open;
    if (watchdog->peak_connections - open < 256 || open > watchdog->peak_connections / 2)
        return;
    malloc_trim(0);
    watchdog->peak_connections = open;
}

static void *watchdog_main(void *argument)
{
    struct srv_watchdog *watchdog = argument;
    pthread_mutex_lock(&watchdog->mutex);
    while (!watchdog->is_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&watchdog->wake, &watchdog->mutex, &until);
        if (watchdog->is_stopping)
            break;
        pthread_mutex_unlock(&watchdog->mutex);
        sweep(watchdog);
        trim_after_burst(watchdog);
        pthread_mutex_lock(&watchdog->mutex);
    }
    pthread_mutex_unlock(&watchdog->mutex);
    return NULL;
}

struct srv_watchdog *srv_watchdog_start(struct srv_app *app)
{
    struct srv_watchdog *watchdog = xcalloc(1, sizeof *watchdog);
    watchdog->app = app;
    pthread_mutex_init(&watchdog->mutex, NULL);
    pthread_cond_init(&watchdog->wake, NULL);
    int status = pthread_create(&watchdog->thread, NULL, watchdog_main, watchdog);
    if (status != 0)
        srv_log("warning",
                "no watchdog thread (%s): slow clients are closed only by the idle "
                "timeout",
                strerror(status));
    watchdog->has_thread = status == 0;
    return watchdog;
}

void srv_watchdog_stop(struct srv_watchdog *watchdog)
{
    if (!watchdog)
        return;
    pthread_mutex_lock(&watchdog->mutex);
    watchdog->is_stopping = true;
    pthread_cond_signal(&watchdog->wake);
    pthread_mutex_unlock(&watchdog->mutex);
    if (watchdog->has_thread)
        pthread_join(watchdog->thread, NULL);
    /* connections MHD never reported closed (it is stopped after this) */
    while (watchdog->head) {
        struct srv_watched *next = watchdog->head->next;
        free(watchdog->head);
        watchdog->head = next;
    }
    pthread_cond_destroy(&watchdog->wake);
    pthread_mutex_destroy(&watchdog->mutex);
    free(watchdog);
}

struct srv_watched *srv_watchdog_add(struct srv_watchdog *watchdog, int fd, int timeout_s)
{
    struct srv_watched *watched = xcalloc(1, sizeof *watched);
    watched->fd = fd;
    atomic_init(&watched->deadline_ms, now_ms() + (long long)timeout_s * 1000);
    pthread_mutex_lock(&watchdog->mutex);
    watched->next = watchdog->head;
    if (watchdog->head)
        watchdog->head->previous = watched;
    watchdog->head = watched;
    pthread_mutex_unlock(&watchdog->mutex);
    return watched;
}

void srv_watchdog_remove(struct srv_watchdog *watchdog, struct srv_watched *watched)
{
    if (!watched)
        return;
    pthread_mutex_lock(&watchdog->mutex);
    if (watched->previous)
        watched->previous->next = watched->next;
    else
        watchdog->head = watched->next;
    if (watched->next)
        watched->next->previous = watched->previous;
    pthread_mutex_unlock(&watchdog->mutex);
    free(watched);
}

void srv_watchdog_expect(struct srv_watched *watched, int timeout_s)
{
    if (watched)
        atomic_store(&watched->deadline_ms,
                     timeout_s > 0 ? now_ms() + (long long)timeout_s * 1000 : 0);
}

void srv_watchdog_refuse(struct srv_watched *watched, int timeout_s)
{
    if (!watched)
        return;
    watched->is_refused = true; /* before MHD reads from it: same thread, no race */
    srv_watchdog_expect(watched, timeout_s);
}

bool srv_watchdog_is_refused(const struct srv_watched *watched)
{
    return watched && watched->is_refused;
}
