/*
 * auth/auth_log.c — where auth's few log lines go (key set changes, failed refreshes and
 * reloads): the sink the server sets, or stderr before it has set one.
 */
#include <stdarg.h>
#include <stdio.h>

#include "auth/auth_internal.h"

static void (*log_sink)(const char *level, const char *message);

void auth_set_log(void (*log)(const char *level, const char *message))
{
    log_sink = log;
}

void auth_log(const char *level, const char *format, ...)
{
    struct sb message = {0};
    va_list args;
    va_start(args, format);
    sb_vappendf(&message, format, args);
    va_end(args);
    if (log_sink)
        log_sink(level, sb_text(&message));
    else
        fprintf(stderr, "restable: %s: %s\n", level, sb_text(&message));
    sb_free(&message);
}
