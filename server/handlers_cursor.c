/*
 * server/handlers_cursor.c — GET /T/?__cursor=: a keyset page. One statement (orm/
 * query_cursor.c) answers the page and its last row's key values; they become next_cursor,
 * signed (orm/cursor.c), and a `Link: <...>; rel="next"` header: the request's own path and
 * query with __cursor replaced, as an absolute-path reference (what the client sent, so it is
 * right under any server.base_path and behind a proxy that keeps the path). The body is
 * {"rows": [...], "next_cursor": "..." | null}; the weak ETag covers both.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

struct cursor_state {
    const char *order; /* the normalised order the next cursor is bound to */
};

/* Appends text with every byte that may not appear in a URI (RFC 3986) percent-encoded; '%'
 * stays: the request's escapes are already escapes. Nothing can end the <...> of the Link. */
static void append_uri_text(struct sb *out, const char *text, size_t length)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "-._~!$&'()*+,;=:@/?%";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c && strchr(allowed, c))
            sb_append_char(out, (char)c);
        else
            sb_appendf(out, "%%%02X", c);
    }
}

/* Whether the raw query piece "key=value" has the key __cursor (compared decoded). */
static bool is_cursor_piece(const char *piece, size_t length)
{
    const char *equals = memchr(piece, '=', length);
    size_t key_length = equals ? (size_t)(equals - piece) : length;
    char key[48];
    if (key_length >= sizeof key)
        return false;
    memcpy(key, piece, key_length);
    long decoded = srv_percent_decode(key, key_length, key, true);
    return decoded == 8 && memcmp(key, "__cursor", 8) == 0;
}

/* <path?query with __cursor=next_cursor>; rel="next" */
static char *next_link(struct srv_request *request, const char *next_cursor)
{
    struct sb link = {0};
    sb_append_char(&link, '<');
    append_uri_text(&link, request->path, strlen(request->path));
    sb_append_char(&link, '?');
    const char *query = request->query ? request->query : "";
    bool is_first = true;
    while (*query) {
        size_t length = strcspn(query, "&");
        if (length > 0) {
            if (!is_first)
                sb_append_char(&link, '&');
            is_first = false;
            if (is_cursor_piece(query, length))
                sb_appendf(&link, "__cursor=%s", next_cursor); /* base64url: URI-safe */
            else
                append_uri_text(&link, query, length);
        }
        query += length + (query[length] == '&');
    }
    sb_append(&link, ">; rel=\"next\"");
    char *text = rs_arena_strdup(&request->arena, sb_text(&link));
    sb_free(&link);
    return text;
}

/* The next page's cursor, in the arena, or NULL on the last page. */
static const char *next_cursor_of(struct srv_request *request, PGresult *result)
{
    if (PQgetisnull(result, 0, 1))
        return NULL;
    struct cursor_state *state = request->handler_state;
    char *cursor = orm_cursor_encode(&request->app->cursor_key, request->route.table->name,
                                     state->order, PQgetvalue(result, 0, 1));
    return cursor ? rs_arena_adopt(&request->arena, cursor) : NULL;
}

/* ,"next_cursor":"..."} or ,"next_cursor":null} — in the arena, which outlives the response:
 * MHD has sent it before the request is freed */
static const char *body_tail(struct srv_request *request, const char *next_cursor)
{
    if (!next_cursor)
        return ",\"next_cursor\":null}";
    size_t size = strlen(next_cursor) + 32;
    char *tail = rs_arena_alloc(&request->arena, size);
    snprintf(tail, size, ",\"next_cursor\":\"%s\"}", next_cursor);
    return tail;
}

static void cursor_page_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    PGresult *result = outcome->result;
    const char *next_cursor = next_cursor_of(request, result);
    if (!next_cursor && !PQgetisnull(result, 0, 1)) {
        srv_respond_error(request, 400, "__order",
                          "the next page's cursor would be longer than %d characters: order by "
                          "shorter columns",
                          ORM_CURSOR_MAX_LENGTH);
        return;
    }
    char etag[SRV_ETAG_SIZE];
    srv_cursor_page_etag(PQgetvalue(result, 0, 0), (size_t)PQgetlength(result, 0, 0), next_cursor,
                         etag, sizeof etag);
    if (srv_if_none_match_hits(request, etag)) {
        srv_respond_not_modified(request, etag);
        return;
    }
    srv_respond_result(request, 200, "{\"rows\":", result, body_tail(request, next_cursor));
    outcome->result = NULL;
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
    if (next_cursor)
        srv_add_header(request, MHD_HTTP_HEADER_LINK, next_link(request, next_cursor));
}

void srv_list_cursor_run(struct srv_request *request, const struct srv_list_params *params)
{
    struct cursor_state *state = rs_arena_alloc(&request->arena, sizeof *state);
    state->order = params->cursor_order;
    request->handler_state = state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_list_keyset(&params->select, &sql, &error), &sql, &error,
                  cursor_page_done);
}
