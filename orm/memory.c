/*
 * orm/memory.c — allocation that aborts when memory runs out (orm/orm_memory.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm_memory.h"

static void out_of_memory(void)
{
    fputs("restable: out of memory\n", stderr);
    abort();
}

void *orm_zalloc(size_t count, size_t size)
{
    void *memory = calloc(count ? count : 1, size);
    if (!memory)
        out_of_memory();
    return memory;
}

char *orm_strdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        out_of_memory();
    return copy;
}
