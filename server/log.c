/*
 * server/log.c — one JSON object per line on stderr: a line per request (method, path,
 * status, microseconds, request id) and occasional event lines. Each line is formatted whole
 * and handed to server/log_sink.c in one piece, so lines from several threads never
 * interleave. Lines above the configured level (server.log_level:
 * error < warn < info < debug; request lines are info, warning for a 503, error for other
 * 5xx) are not written.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/app.h"

static atomic_int log_level = CFG_LOG_INFO;

void srv_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

static int level_of(const char *name)
{
    if (strcmp(name, "error") == 0)
        return CFG_LOG_ERROR;
    if (strcmp(name, "warning") == 0 || strcmp(name, "warn") == 0)
        return CFG_LOG_WARN;
    if (strcmp(name, "debug") == 0)
        return CFG_LOG_DEBUG;
    return CFG_LOG_INFO;
}

bool srv_log_enabled(const char *level)
{
    return level_of(level) <= atomic_load(&log_level);
}

/* {"time":"2026-11-29T17:22:15.123Z" — the part up to the seconds is formatted once per second
 * per thread: gmtime and strftime on every request line cost more than the rest of it. */
static void append_timestamp(struct sb *line)
{
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached_text[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != cached_second) {
        struct tm utc;
        gmtime_r(&now.tv_sec, &utc);
        strftime(cached_text, sizeof cached_text, "%Y-%m-%dT%H:%M:%S", &utc);
        cached_second = now.tv_sec;
    }
    sb_append(line, "{\"time\":\"");
    sb_append(line, cached_text);
    long milliseconds = now.tv_nsec / 1000000;
    char fraction[8] = {'.',
                        (char)('0' + milliseconds / 100),
                        (char)('0' + milliseconds / 10 % 10),
                        (char)('0' + milliseconds % 10),
                        'Z',
                        '"',
                        '\0'};
    sb_append(line, fraction);
}

/* A decimal number without printf. */
static void append_unsigned(struct sb *line, unsigned long long value)
{
    char digits[24];
    size_t at = sizeof digits;
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    sb_append_n(line, digits + at, sizeof digits - at);
}

static void append_json_string(struct sb *line, const char *text)
{
    sb_append_json_string(line, text, strlen(text));
}

static void write_line(struct sb *line)
{
    sb_append(line, "}\n");
    srv_log_sink_write(sb_text(line), line->length);
    sb_free(line);
}

void srv_log_request(const struct srv_request *request, long duration_us)
{
    /* a 500 is a bug; a 503 (database away, pool busy, shutting down) is worth a warning */
    const char *level = request->status == 503   ? "warning"
                        : request->status >= 500 ? "error"
                                                 : "info";
    if (!srv_log_enabled(level))
        return;
    struct sb line = {0};
    append_timestamp(&line);
    sb_append(&line, ",\"level\":\"");
    sb_append(&line, level);
    sb_append(&line, "\",\"request_id\":");
    append_json_string(&line, request->request_id);
    sb_append(&line, ",\"method\":");
    append_json_string(&line, request->method ? request->method : "");
    sb_append(&line, ",\"path\":");
    append_json_string(&line, request->path ? request->path : "");
    sb_append(&line, ",\"status\":");
    append_unsigned(&line, request->status);
    sb_append(&line, ",\"bytes\":");
    append_unsigned(&line, (unsigned long long)request->body_bytes);
    sb_append(&line, ",\"duration_us\":");
    append_unsigned(&line, duration_us > 0 ? (unsigned long long)duration_us : 0);
    if (request->route.table) {
        sb_append(&line, ",\"table\":");
        append_json_string(&line, request->route.table->name);
    }
    if (request->principal.subject) {
        sb_append(&line, ",\"sub\":");
        append_json_string(&line, request->principal.subject);
    }
    write_line(&line);
}

void srv_log(const char *level, const char *format, ...)
{
    if (!srv_log_enabled(level))
        return;
    struct sb message = {0};
    va_list args;
    va_start(args, format);
    sb_vappendf(&message, format, args);
    va_end(args);
    struct sb line = {0};
    append_timestamp(&line);
    sb_append(&line, ",\"level\":");
    append_json_string(&line, level);
    sb_append(&line, ",\"message\":");
    append_json_string(&line, sb_text(&message));
    sb_free(&message);
    write_line(&line);
}

void srv_log_dropped(unsigned long long count)
{
    srv_log("warning", "%llu log lines were dropped: stderr could not keep up", count);
}
