/*
 * base/strbuf.c — the growable string builder (sb_*) every module uses to assemble text
 * (SQL, JSON fragments, messages). Allocation failure aborts: see base/base.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void sb_reserve(struct sb *builder, size_t extra)
{
    size_t needed = builder->length + extra + 1;
    if (needed <= builder->capacity)
        return;
    size_t capacity = builder->capacity ? builder->capacity : 64;
    while (capacity < needed)
        capacity *= 2;
    builder->data = xrealloc(builder->data, capacity);
    builder->capacity = capacity;
}

void sb_append_n(struct sb *builder, const char *text, size_t length)
{
    sb_reserve(builder, length);
    memcpy(builder->data + builder->length, text, length);
    builder->length += length;
    builder->data[builder->length] = '\0';
}

void sb_append(struct sb *builder, const char *text)
{
    sb_append_n(builder, text, strlen(text));
}

void sb_append_char(struct sb *builder, char c)
{
    sb_append_n(builder, &c, 1);
}

void sb_vappendf(struct sb *builder, const char *format, va_list args)
{
    /* Try the space already there first; most appends fit, and it avoids formatting twice. */
    sb_reserve(builder, 64);
    size_t room = builder->capacity - builder->length;
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(builder->data + builder->length, room, format, copy);
    va_end(copy);
    if (needed < 0) {
        builder->data[builder->length] = '\0';
        return;
    }
    if ((size_t)needed >= room) {
        sb_reserve(builder, (size_t)needed);
        vsnprintf(builder->data + builder->length, (size_t)needed + 1, format, args);
    }
    builder->length += (size_t)needed;
}

void sb_appendf(struct sb *builder, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    sb_vappendf(builder, format, args);
    va_end(args);
}

void sb_reset(struct sb *builder)
{
    builder->length = 0;
    if (builder->data)
        builder->data[0] = '\0';
}

char *sb_take(struct sb *builder)
{
    char *data = builder->data ? builder->data : xstrdup("");
    builder->data = NULL;
    builder->length = builder->capacity = 0;
    return data;
}

void sb_free(struct sb *builder)
{
    free(builder->data);
    builder->data = NULL;
    builder->length = builder->capacity = 0;
}
