/*
 * base/rs_error.c — filling the user-facing error struct shared by every module.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

void rs_error_set(struct rs_error *error, enum rs_outcome outcome, const char *field,
                  const char *format, ...)
{
    if (!error)
        return;
    error->outcome = outcome;
    snprintf(error->field, sizeof error->field, "%s", field ? field : "");
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
}

void rs_error_clear(struct rs_error *error)
{
    if (error)
        memset(error, 0, sizeof *error);
}
