/*
 * server/target.c — the request target as the client sent it. libmicrohttpd decodes the path
 * and the query into C strings, where "%00" silently ends a value and "%2F" becomes a path
 * separator; restable takes the raw target from MHD's URI callback instead and decodes it here,
 * strictly: a bad percent-escape, a NUL byte or invalid UTF-8 is a 400, and so is a query with
 * more parameters than server.limits.max_query_params. No I/O: unit-tested and fuzzed.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long srv_percent_decode(const char *in, size_t length, char *out, bool plus_is_space)
{
    size_t written = 0;
    for (size_t i = 0; i < length; i++) {
        char c = in[i];
        if (c == '%') {
            int high = i + 1 < length ? hex_value(in[i + 1]) : -1;
            int low = i + 2 < length ? hex_value(in[i + 2]) : -1;
            if (high < 0 || low < 0)
                return -1;
            out[written++] = (char)(high * 16 + low);
            i += 2;
        } else {
            out[written++] = c == '+' && plus_is_space ? ' ' : c;
        }
    }
    return (long)written;
}

const char *srv_decoded_text_problem(const char *text, size_t length)
{
    if (memchr(text, '\0', length))
        return "holds a NUL byte (%00)";
    if (!rs_utf8_is_valid(text, length))
        return "is not valid UTF-8";
    return NULL;
}

/* Decodes one key or value in place (decoding never lengthens) and NUL-terminates it. */
static int decode_part(char *part, size_t length, size_t index, const char *what,
                       struct rs_error *error)
{
    long decoded = srv_percent_decode(part, length, part, true);
    if (decoded < 0) {
        rs_error_set(error, RS_INVALID, NULL,
                     "query parameter %zu: the %s has a malformed percent-escape (use %%XX with "
                     "two hex digits)",
                     index + 1, what);
        return -1;
    }
    const char *problem = srv_decoded_text_problem(part, (size_t)decoded);
    if (problem) {
        rs_error_set(error, RS_INVALID, NULL, "query parameter %zu: the %s %s", index + 1, what,
                     problem);
        return -1;
    }
    part[decoded] = '\0';
    return 0;
}

int srv_query_parse(const char *text, size_t length, size_t max_params, struct rs_arena *arena,
                    struct srv_query *query, struct rs_error *error)
{
    memset(query, 0, sizeof *query);
    size_t pieces = 0; /* non-empty pieces between '&': what becomes an argument */
    for (size_t i = 0, start = 0; i <= length; i++) {
        if (i == length || text[i] == '&') {
            pieces += i > start;
            start = i + 1;
        }
    }
    if (pieces > max_params) {
        rs_error_set(error, RS_INVALID, NULL,
                     "the query string has %zu parameters, more than the %zu allowed "
                     "(server.limits.max_query_params)",
                     pieces, max_params);
        return -1;
    }
    if (pieces == 0)
        return 0;
    /* decoded in place in one copy of the text: args point into it */
    char *storage = rs_arena_alloc(arena, length + 1);
    memcpy(storage, text, length); /* as is: a raw NUL byte must reach decode_part's check */
    storage[length] = '\0';
    query->args = rs_arena_calloc(arena, pieces, sizeof *query->args);
    char *cursor = storage;
    char *end = storage + length;
    while (cursor < end) {
        char *amp = memchr(cursor, '&', (size_t)(end - cursor));
        char *piece_end = amp ? amp : end;
        if (piece_end > cursor) {
            size_t index = query->count;
            char *equals = memchr(cursor, '=', (size_t)(piece_end - cursor));
            char *key_end = equals ? equals : piece_end;
            struct srv_arg *arg = &query->args[query->count++];
            if (decode_part(cursor, (size_t)(key_end - cursor), index, "name", error) < 0)
                goto fail;
            arg->key = cursor;
            if (equals) {
                if (decode_part(equals + 1, (size_t)(piece_end - equals - 1), index, "value",
                                error) < 0)
                    goto fail;
                arg->value = equals + 1;
            }
        }
        cursor = piece_end + 1;
    }
    return 0;
fail:
    /* what was allocated stays in the arena until its owner ends */
    memset(query, 0, sizeof *query);
    return -1;
}
