/*
 * server/log_sink.c — where finished log lines go. While `restable serve` runs, lines are
 * appended to a buffer in memory and a writer thread of their own writes them to stderr in
 * batches: a request never waits for stderr (a slow disk, a full pipe), and a busy server makes
 * one write(2) every few milliseconds instead of one per request. Outside serve (before start,
 * after stop, other commands) each line is written at once.
 *
 * If stderr falls so far behind that LOG_SINK_LIMIT bytes are waiting, further lines are
 * dropped and counted, and the report_dropped that start was given (server/log.c's warning
 * line) says how many once the writer catches up: the server's memory and its requests come
 * before its log. At stop the writer gets
 * LOG_SINK_STOP_WAIT_S to write what is left; a stderr that takes nothing does not hold up the
 * exit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"

#define LOG_SINK_LIMIT (8u << 20)
/* How long the writer lets lines gather after the first one arrives. */
#define LOG_SINK_BATCH_NS (5 * 1000 * 1000)
/* How long stop waits for the writer to empty the buffer: stderr may be a pipe nobody reads. */
#define LOG_SINK_STOP_WAIT_S 2

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool is_running;  /* lines go to the buffer */
    bool is_stopping; /* the writer empties the buffer and ends */
    struct sb pending;
    struct sb writing; /* the writer's: a batch being written */
    unsigned long long dropped;
    void (*report_dropped)(unsigned long long count);
} sink = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void write_all(const char *data, size_t length)
{
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return; /* stderr is gone: nothing else could report it */
        data += written;
        length -= (size_t)written;
    }
}

void srv_log_sink_write(const char *data, size_t length)
{
    pthread_mutex_lock(&sink.lock);
    if (!sink.is_running) {
        pthread_mutex_unlock(&sink.lock);
        write_all(data, length);
        return;
    }
    bool was_empty = sink.pending.length == 0;
    if (sink.pending.length + length > LOG_SINK_LIMIT) {
        sink.dropped++;
    } else {
        sb_append_n(&sink.pending, data, length);
        if (was_empty)
            pthread_cond_signal(&sink.wake);
    }
    pthread_mutex_unlock(&sink.lock);
}

static void *writer_main(void *argument)
{
    (void)argument;
    pthread_mutex_lock(&sink.lock);
    for (;;) {
        while (!sink.is_stopping && sink.pending.length == 0)
            pthread_cond_wait(&sink.wake, &sink.lock);
        if (sink.pending.length == 0 && sink.is_stopping)
            break;
        if (!sink.is_stopping) {
            /* let a batch gather: under load this turns hundreds of writes into one */
            pthread_mutex_unlock(&sink.lock);
            struct timespec pause = {0, LOG_SINK_BATCH_NS};
            nanosleep(&pause, NULL);
            pthread_mutex_lock(&sink.lock);
        }
        struct sb swap = sink.pending;
        sink.pending = sink.writing;
        sb_reset(&sink.pending);
        sink.writing = swap;
        unsigned long long dropped = sink.dropped;
        sink.dropped = 0;
        pthread_mutex_unlock(&sink.lock);
        /* sink.writing is this thread's alone until the next swap, which only it does */
        write_all(sink.writing.data, sink.writing.length);
        if (dropped && sink.report_dropped)
            sink.report_dropped(dropped);
        pthread_mutex_lock(&sink.lock);
    }
    pthread_mutex_unlock(&sink.lock);
    return NULL;
}

int srv_log_sink_start(void (*report_dropped)(unsigned long long count))
{
    pthread_mutex_lock(&sink.lock);
    sink.is_stopping = false;
    sink.report_dropped = report_dropped;
    sink.is_running = pthread_create(&sink.thread, NULL, writer_main, NULL) == 0;
    bool is_running = sink.is_running;
    pthread_mutex_unlock(&sink.lock);
    return is_running ? 0 : -1;
}

void srv_log_sink_stop(void)
{
    pthread_mutex_lock(&sink.lock);
    if (!sink.is_running) {
        pthread_mutex_unlock(&sink.lock);
        return;
    }
    sink.is_stopping = true;
    pthread_cond_signal(&sink.wake);
    pthread_mutex_unlock(&sink.lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += LOG_SINK_STOP_WAIT_S;
    if (pthread_timedjoin_np(sink.thread, NULL, &deadline) != 0) {
        /* the writer is stuck in write(2): stderr takes nothing. Leave it, and the sink
         * running, so that no later line blocks the exit either (what waits is lost). */
        return;
    }
    /* lines written while the writer was ending are still in the buffer: write them now */
    pthread_mutex_lock(&sink.lock);
    sink.is_running = false;
    struct sb rest = sink.pending;
    sink.pending = (struct sb){0};
    sb_free(&sink.writing);
    pthread_mutex_unlock(&sink.lock);
    write_all(rest.data, rest.length);
    sb_free(&rest);
}
