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

static void append_timestamp(struct sb *line)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char text[40];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    sb_appendf(line, "{\"time\":\"%s.%03ldZ\"", text, now.tv_nsec / 1000000);
}

static void append_json_string(struct sb *line, const char *text)
{
    /* runs of plain characters are appended whole: this is on every request's path */
    sb_append_char(line, '"');
    const unsigned char *span = (const unsigned char *)text;
    for (const unsigned char *p = span;; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        sb_append_n(line, (const char *)span, (size_t)(p - span));
        if (*p == '\0')
            break;
        if (*p == '"' || *p == '\\')
            sb_appendf(line, "\\%c", *p);
        else
            sb_appendf(line, "\\u%04x", *p);
        span = p + 1;
    }
    sb_append_char(line, '"');
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
    const char *level = request->status == 503 ? "warning"
                        : request->status >= 500 ? "error"
                                                 : "info";
    if (!srv_log_enabled(level))
        return;
    struct sb line = {0};
    append_timestamp(&line);
    sb_appendf(&line, ",\"level\":\"%s\",\"request_id\":", level);
    append_json_string(&line, request->request_id);
    sb_append(&line, ",\"method\":");
    append_json_string(&line, request->method ? request->method : "");
    sb_append(&line, ",\"path\":");
    append_json_string(&line, request->path ? request->path : "");
    sb_appendf(&line, ",\"status\":%u,\"bytes\":%llu,\"duration_us\":%ld", request->status,
               (unsigned long long)request->body_bytes, duration_us);
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
