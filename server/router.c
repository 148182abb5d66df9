/*
 * server/router.c — maps a request path to a route: the reserved paths (healthz, readyz,
 * metrics, openapi.json, docs and docs/{file}, auth/login) and, for each declared table T, /T/, /T/count/,
 * /T/schema/, /T/ids/, /T/new/, /T/references/ and /T/{pk}/. A trailing slash is optional.
 * Named sub-routes win over a primary key with the same text. The path is the one the client
 * sent, still percent-encoded (server/target.c says why); only data segments are decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

#define MAX_SEGMENTS 4

/* A path segment as sent (still percent-encoded). */
struct segment {
    const char *start;
    size_t length;
};

static bool segment_is(const struct segment *segment, const char *text)
{
    return strlen(text) == segment->length && memcmp(segment->start, text, segment->length) == 0;
}

/* Splits "/a/b/" into segments. One trailing slash is optional; any other empty segment
 * ("/movie//", "//movie/") means no route: an empty primary key must never turn a row route
 * into its collection (DELETE /movie// would delete every row). Returns the count, or -1. */
static int split_path(const char *path, struct segment *segments)
{
    if (*path != '/')
        return -1;
    int count = 0;
    const char *p = path + 1;
    while (*p) {
        const char *start = p;
        while (*p && *p != '/')
            p++;
        if (p == start)
            return -1; /* an empty segment */
        if (count == MAX_SEGMENTS)
            return -1;
        segments[count++] = (struct segment){start, (size_t)(p - start)};
        if (*p == '/')
            p++;
    }
    return count;
}

static const struct cfg_table *table_for(const struct cfg_config *config,
                                         const struct segment *segment)
{
    for (size_t i = 0; i < config->table_count; i++)
        if (segment_is(segment, config->tables[i].name))
            return &config->tables[i];
    return NULL;
}

static const char *strip_base_path(const char *url, const char *base_path)
{
    size_t length = strlen(base_path);
    if (strncmp(url, base_path, length) == 0)
        return url + length - 1; /* keep the leading slash */
    if (length > 1 && strncmp(url, base_path, length - 1) == 0 && url[length - 1] == '\0')
        return "/";
    return NULL;
}

/* The decoded text of a segment that is data (a primary key, a file name), or NULL after
 * marking the route a bad request. */
static char *decode_segment(const struct segment *segment, struct srv_route *route)
{
    char *text = malloc(segment->length + 1);
    if (!text)
        abort();
    long length = srv_percent_decode(segment->start, segment->length, text, false);
    const char *problem = length < 0 ? "has a malformed percent-escape (use %XX with two hex "
                                       "digits)"
                                     : srv_decoded_text_problem(text, (size_t)length);
    if (problem) {
        free(text);
        route->kind = SRV_ROUTE_BAD_REQUEST;
        route->problem = problem;
        return NULL;
    }
    text[length] = '\0';
    return text;
}

/* Named segments (tables, count, docs...) are compared as sent: they are plain ASCII, so an
 * escaped form of one ("%63ount") is simply not a route. */
void srv_route_parse(const struct cfg_config *config, const char *url, struct srv_route *route)
{
    memset(route, 0, sizeof *route);
    route->kind = SRV_ROUTE_NOT_FOUND;
    const char *path = strip_base_path(url, config->server.base_path);
    if (!path)
        return;
    struct segment segments[MAX_SEGMENTS];
    int count = split_path(path, segments);
    if (count < 0)
        return;
    if (count == 0) {
        route->kind = SRV_ROUTE_ROOT;
        return;
    }
    if (count == 1) {
        if (segment_is(&segments[0], "healthz"))
            route->kind = SRV_ROUTE_HEALTHZ;
        else if (segment_is(&segments[0], "readyz"))
            route->kind = SRV_ROUTE_READYZ;
        else if (segment_is(&segments[0], "metrics"))
            route->kind = SRV_ROUTE_METRICS;
        else if (segment_is(&segments[0], "openapi.json"))
            route->kind = SRV_ROUTE_OPENAPI;
        else if (segment_is(&segments[0], "docs"))
            route->kind = SRV_ROUTE_DOCS;
        if (route->kind != SRV_ROUTE_NOT_FOUND)
            return;
    }
    if (count == 2 && segment_is(&segments[0], "auth") && segment_is(&segments[1], "login")) {
        if (config->auth.login_enabled)
            route->kind = SRV_ROUTE_LOGIN;
        return;
    }
    if (count == 2 && segment_is(&segments[0], "docs")) {
        route->pk_text = decode_segment(&segments[1], route);
        if (route->pk_text)
            route->kind = SRV_ROUTE_DOCS_ASSET;
        return;
    }
    const struct cfg_table *table = table_for(config, &segments[0]);
    if (!table || count > 2)
        return;
    route->table = table;
    if (count == 1) {
        route->kind = SRV_ROUTE_COLLECTION;
        return;
    }
    static const struct {
        const char *name;
        enum srv_route_kind kind;
    } named[] = {
        {"count", SRV_ROUTE_COUNT},   {"schema", SRV_ROUTE_SCHEMA}, {"ids", SRV_ROUTE_IDS},
        {"new", SRV_ROUTE_NEW},       {"references", SRV_ROUTE_REFERENCES},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (segment_is(&segments[1], named[i].name)) {
            route->kind = named[i].kind;
            return;
        }
    }
    route->pk_text = decode_segment(&segments[1], route);
    if (route->pk_text)
        route->kind = SRV_ROUTE_ROW;
}

void srv_route_clear(struct srv_route *route)
{
    free(route->pk_text);
    route->pk_text = NULL;
}

const char *srv_route_allowed_methods(const struct srv_route *route)
{
    bool read_only = route->table && route->table->read_only;
    switch (route->kind) {
    case SRV_ROUTE_COLLECTION:
        if (read_only)
            return "GET, HEAD, OPTIONS";
        if (route->table->allow_bulk_delete && route->table->allow_bulk_update)
            return "GET, HEAD, POST, PATCH, DELETE, OPTIONS";
        if (route->table->allow_bulk_delete)
            return "GET, HEAD, POST, DELETE, OPTIONS";
        if (route->table->allow_bulk_update)
            return "GET, HEAD, POST, PATCH, OPTIONS";
        return "GET, HEAD, POST, OPTIONS";
    case SRV_ROUTE_ROW:
        return read_only ? "GET, HEAD, OPTIONS" : "GET, HEAD, PUT, PATCH, DELETE, OPTIONS";
    case SRV_ROUTE_LOGIN:
        return "POST, OPTIONS";
    default:
        return "GET, HEAD, OPTIONS";
    }
}
