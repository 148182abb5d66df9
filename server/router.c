/*
 * server/router.c — maps a request path to a route by the patterns of the route table
 * (server/routes.c): the reserved paths (healthz, readyz, metrics, openapi.json, docs and
 * docs/{file}, admin/ and admin/{file...}, auth/login, batch) and, for each declared table T, /T/,
 * /T/count/, /T/schema/, /T/ids/, /T/new/, /T/references/ and /T/{pk}/. A trailing slash is
 * optional. Named sub-routes win over a primary key with the same text. The path is the one the
 * client sent, still percent-encoded (server/target.c says why); only data segments are decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "server/routes.h"

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

/* The decoded text of a segment that is data (a primary key, a file name), from arena, or NULL
 * after marking the route a bad request. */
static char *decode_segment(const struct segment *segment, struct srv_route *route,
                            struct rs_arena *arena)
{
    char *text = rs_arena_alloc(arena, segment->length + 1);
    long length = srv_percent_decode(segment->start, segment->length, text, false);
    const char *problem = length < 0 ? "has a malformed percent-escape (use %XX with two hex "
                                       "digits)"
                                     : srv_decoded_text_problem(text, (size_t)length);
    if (problem) {
        route->kind = SRV_ROUTE_BAD_REQUEST;
        route->problem = problem;
        return NULL;
    }
    text[length] = '\0';
    return text;
}

/* One request path being matched: its segments, and its first segment's table, looked up once
 * however many {table} patterns are tried. */
struct target {
    struct segment segments[MAX_SEGMENTS];
    int count;
    const struct cfg_config *config;
    const struct cfg_table *table;
    bool has_looked_up_table;
};

static const struct cfg_table *target_table(struct target *target, int index)
{
    if (index != 0)
        return table_for(target->config, &target->segments[index]);
    if (!target->has_looked_up_table) {
        target->table = table_for(target->config, &target->segments[0]);
        target->has_looked_up_table = true;
    }
    return target->table;
}

/* Whether the path has the pattern's shape; sets *table ({table}) and *data (the index of the
 * {pk} or {file} segment, else -1). */
static bool pattern_matches(const char *pattern, struct target *target,
                            const struct cfg_table **table, int *data)
{
    struct segment pieces[MAX_SEGMENTS];
    int count = split_path(pattern, pieces);
    /* a last {name...} takes every remaining segment (at least one) */
    bool takes_rest = count > 0 && segment_is(&pieces[count - 1], "{file...}");
    if (takes_rest ? target->count < count : count != target->count)
        return false;
    *table = NULL;
    *data = -1;
    for (int i = 0; i < count; i++) {
        const struct segment *piece = &pieces[i];
        if (segment_is(piece, "{table}")) {
            *table = target_table(target, i);
            if (!*table)
                return false;
        } else if (piece->start[0] == '{') {
            *data = i;
        } else if (piece->length != target->segments[i].length ||
                   memcmp(piece->start, target->segments[i].start, piece->length) != 0) {
            return false;
        }
    }
    return true;
}

/* Named segments (tables, count, docs...) are compared as sent: they are plain ASCII, so an
 * escaped form of one ("%63ount") is simply not a route. The first pattern that fits wins, in
 * the route table's order; each kind's pattern is tried once. */
void srv_route_parse(const struct cfg_config *config, const char *url, struct srv_route *route,
                     struct rs_arena *arena)
{
    memset(route, 0, sizeof *route);
    route->kind = SRV_ROUTE_NOT_FOUND;
    const char *path = strip_base_path(url, config->server.base_path);
    struct target target = {.config = config};
    if (!path || (target.count = split_path(path, target.segments)) < 0)
        return;
    for (size_t i = 0; i < srv_route_row_count; i++) {
        const struct srv_route_row *row = &srv_route_rows[i];
        if (i > 0 && srv_route_rows[i - 1].kind == row->kind)
            continue;
        if ((row->flags & SRV_ROW_LOGIN) && !config->auth.login_enabled)
            continue;
        if ((row->flags & SRV_ROW_ADMIN) && !config->admin.enabled)
            continue;
        int data;
        if (!pattern_matches(row->pattern, &target, &route->table, &data))
            continue;
        if (data >= 0) {
            /* {file...}: the data runs from its segment to the end of the path */
            const struct segment *last = &target.segments[target.count - 1];
            struct segment rest = {
                target.segments[data].start,
                (size_t)(last->start + last->length - target.segments[data].start)};
            if (!(route->pk_text = decode_segment(&rest, route, arena)))
                return; /* decode_segment made it a bad request */
        }
        route->kind = row->kind;
        return;
    }
    route->table = NULL;
}
