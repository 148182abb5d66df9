/*
 * orm/orm_memory.h — private to orm/: allocation that aborts with a message when memory runs
 * out, for the command-line paths (schema, diff, migrations) where there is nothing better
 * to do. The request paths handle failure themselves.
 */
#ifndef RESTABLE_ORM_MEMORY_H
#define RESTABLE_ORM_MEMORY_H

#include <stddef.h>

/* calloc of count items (at least one, so a zero count still gives a pointer to free). */
void *orm_zalloc(size_t count, size_t size);
/* strdup; NULL gives "". */
char *orm_strdup(const char *text);

#endif
