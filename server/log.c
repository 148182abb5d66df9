/*
 * server/log.c — one JSON object per line on stderr: a line per request (method, path,
 * status, microseconds, request id) and occasional event lines. Each line is formatted into
 * one buffer and written with a single write(2), so lines from several threads never
 * interleave and no lock is taken.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"

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
    sb_append_char(line, '"');
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_appendf(line, "\\%c", *p);
        else if (*p < 0x20)
            sb_appendf(line, "\\u%04x", *p);
        else
            sb_append_char(line, (char)*p);
    }
    sb_append_char(line, '"');
}

static void write_line(struct sb *line)
{
    sb_append(line, "}\n");
    const char *data = sb_text(line);
    size_t left = line->length;
    while (left > 0) {
        ssize_t written = write(STDERR_FILENO, data, left);
        if (written <= 0)
            break;
        data += written;
        left -= (size_t)written;
    }
    sb_free(line);
}

void srv_log_request(const struct srv_request *request, long duration_us)
{
    struct sb line = {0};
    append_timestamp(&line);
    sb_append(&line, ",\"level\":\"info\",\"request_id\":");
    append_json_string(&line, request->request_id);
    sb_append(&line, ",\"method\":");
    append_json_string(&line, request->method ? request->method : "");
    sb_append(&line, ",\"path\":");
    append_json_string(&line, request->path ? request->path : "");
    sb_appendf(&line, ",\"status\":%u,\"duration_us\":%ld", request->status, duration_us);
    if (request->principal.subject) {
        sb_append(&line, ",\"sub\":");
        append_json_string(&line, request->principal.subject);
    }
    write_line(&line);
}

void srv_log(const char *level, const char *format, ...)
{
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
