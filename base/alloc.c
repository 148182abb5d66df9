/*
 * base/alloc.c — the one allocation policy (base/base.h): allocate or report and abort, after
 * Redis's zmalloc. Callers never test for NULL; a failure is one line on stderr, written
 * without allocating (there is no memory to format with), then abort() for the core dump.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

void rs_out_of_memory(size_t bytes)
{
    /* several threads may fail at once; the first one to get here says so */
    static atomic_flag has_reported = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&has_reported)) {
        char line[80];
        int length =
            bytes ? snprintf(line, sizeof line, "restable: out of memory (%zu bytes)\n", bytes)
                  : snprintf(line, sizeof line, "restable: out of memory\n");
        if (length > 0 && write(STDERR_FILENO, line, (size_t)length) < 0) {
            /* nowhere left to say it; the abort below still ends the process */
        }
    }
    abort();
}

/* malloc(0) and realloc(p, 0) may return NULL (or free p) without failing: asking for one
 * byte instead keeps "NULL means out of memory" true and the result always freeable. */
void *xmalloc(size_t size)
{
    void *memory = malloc(size ? size : 1);
    if (!memory)
        rs_out_of_memory(size);
    return memory;
}

void *xcalloc(size_t count, size_t size)
{
    if (count == 0 || size == 0)
        count = size = 1;
    void *memory = calloc(count, size);
    if (!memory)
        rs_out_of_memory(size > SIZE_MAX / count ? SIZE_MAX : count * size);
    return memory;
}

void *xrealloc(void *memory, size_t size)
{
    void *grown = realloc(memory, size ? size : 1);
    if (!grown)
        rs_out_of_memory(size);
    return grown;
}

char *xstrdup(const char *text)
{
    size_t length = strlen(text);
    char *copy = xmalloc(length + 1);
    memcpy(copy, text, length + 1);
    return copy;
}

char *xstrndup(const char *text, size_t length)
{
    const char *end = memchr(text, '\0', length);
    size_t used = end ? (size_t)(end - text) : length;
    char *copy = xmalloc(used + 1);
    memcpy(copy, text, used);
    copy[used] = '\0';
    return copy;
}

char *xstrdup_or_null(const char *text)
{
    return text ? xstrdup(text) : NULL;
}

void *xcheck(void *allocated)
{
    if (!allocated)
        rs_out_of_memory(0);
    return allocated;
}
