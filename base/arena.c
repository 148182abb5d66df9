/*
 * base/arena.c — the region allocator a request (and the loaded config) lives in, after h2o's
 * h2o_mem_pool_t: allocations are bumped out of chunks and never freed one by one; things that
 * must be released some other way (a PGresult, a json_t, memory another module malloc'ed)
 * register a cleanup; rs_arena_free runs the cleanups and drops every chunk at once.
 *
 * The first chunk may be the caller's own memory (inline in struct srv_request), so a typical
 * request allocates nothing beyond it. Later chunks double from 4 KiB up to 64 KiB; a large
 * allocation gets a chunk of its own, kept behind the current one so the room left in that
 * one is not wasted. Allocation failure aborts, as every x* allocation does.
 *
 * Not thread-safe: an arena belongs to one owner at a time (a request is touched by one thread
 * at a time, server/app.h; the config is read-only once loaded).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define ALIGNMENT alignof(max_align_t)
#define FIRST_HEAP_CHUNK 4096
#define LARGEST_CHUNK (64 * 1024)

struct rs_arena_chunk {
    struct rs_arena_chunk *next;
    alignas(max_align_t) unsigned char data[];
};

struct rs_arena_cleanup {
    struct rs_arena_cleanup *next;
    void (*release)(void *data);
    void *data;
};

static size_t round_up(size_t size)
{
    return (size + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
}

void rs_arena_init(struct rs_arena *arena, void *first, size_t first_size)
{
    memset(arena, 0, sizeof *arena);
    if (first && first_size >= ALIGNMENT) {
        /* the caller's block may start anywhere: align the cursor inside it */
        uintptr_t start = ((uintptr_t)first + ALIGNMENT - 1) & ~(uintptr_t)(ALIGNMENT - 1);
        uintptr_t end = (uintptr_t)first + first_size;
        arena->cursor = (unsigned char *)start;
        arena->end = start < end ? (unsigned char *)end : (unsigned char *)start;
    }
    arena->next_chunk_size = FIRST_HEAP_CHUNK;
}

static struct rs_arena_chunk *chunk_new(size_t data_size)
{
    if (data_size > SIZE_MAX - sizeof(struct rs_arena_chunk))
        rs_out_of_memory(0);
    return xmalloc(sizeof(struct rs_arena_chunk) + data_size);
}

/* The slow path: the current chunk has no room for size (already rounded). */
static void *alloc_from_new_chunk(struct rs_arena *arena, size_t size)
{
    if (size > arena->next_chunk_size / 4) {
        /* large: a chunk of its own, linked behind the current one so that the current one
         * (and the room still in it) stays where the next small allocation goes */
        struct rs_arena_chunk *chunk = chunk_new(size);
        if (arena->chunks) {
            chunk->next = arena->chunks->next;
            arena->chunks->next = chunk;
        } else {
            chunk->next = NULL;
            arena->chunks = chunk;
            /* no heap chunk is current yet: keep bumping in the inline block */
        }
        arena->heap_bytes += size;
        return chunk->data;
    }
    size_t chunk_size = arena->next_chunk_size;
    if (arena->next_chunk_size < LARGEST_CHUNK)
        arena->next_chunk_size *= 2;
    struct rs_arena_chunk *chunk = chunk_new(chunk_size);
    chunk->next = arena->chunks;
    arena->chunks = chunk;
    arena->heap_bytes += chunk_size;
    arena->cursor = chunk->data + size;
    arena->end = chunk->data + chunk_size;
    return chunk->data;
}

void *rs_arena_alloc(struct rs_arena *arena, size_t size)
{
    if (size > SIZE_MAX - ALIGNMENT)
        rs_out_of_memory(0);
    size = round_up(size ? size : 1);
    if ((size_t)(arena->end - arena->cursor) >= size) {
        void *memory = arena->cursor;
        arena->cursor += size;
        return memory;
    }
    return alloc_from_new_chunk(arena, size);
}

void *rs_arena_calloc(struct rs_arena *arena, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        rs_out_of_memory(0);
    void *memory = rs_arena_alloc(arena, count * size);
    memset(memory, 0, count * size);
    return memory;
}

char *rs_arena_strndup(struct rs_arena *arena, const char *text, size_t length)
{
    const char *nul = memchr(text, '\0', length);
    if (nul)
        length = (size_t)(nul - text);
    char *copy = rs_arena_alloc(arena, length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

char *rs_arena_strdup(struct rs_arena *arena, const char *text)
{
    size_t length = strlen(text);
    char *copy = rs_arena_alloc(arena, length + 1);
    memcpy(copy, text, length + 1);
    return copy;
}

void rs_arena_defer(struct rs_arena *arena, void (*release)(void *data), void *data)
{
    struct rs_arena_cleanup *cleanup = rs_arena_alloc(arena, sizeof *cleanup);
    cleanup->release = release;
    cleanup->data = data;
    cleanup->next = arena->cleanups;
    arena->cleanups = cleanup;
}

void *rs_arena_adopt(struct rs_arena *arena, void *memory)
{
    if (memory)
        rs_arena_defer(arena, free, memory);
    return memory;
}

void rs_arena_free(struct rs_arena *arena)
{
    /* newest first, so a cleanup may rely on what was registered before it */
    while (arena->cleanups) {
        struct rs_arena_cleanup *cleanup = arena->cleanups;
        arena->cleanups = cleanup->next;
        cleanup->release(cleanup->data);
    }
    struct rs_arena_chunk *chunk = arena->chunks;
    while (chunk) {
        struct rs_arena_chunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    arena->chunks = NULL;
    arena->cursor = arena->end = NULL;
    arena->heap_bytes = 0;
}
