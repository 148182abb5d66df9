/*
 * server/routes.h — private to server/: the route table. Every (path, method) the server
 * answers is one row; the router (server/router.c), the 405 answer and its Allow header, the
 * OPTIONS answer, the policy checked and the handler called (server/request.c) all read the
 * rows, so a new route is one enum value (server/app.h) and one row (server/routes.c).
 */
#ifndef RESTABLE_SERVER_ROUTES_H
#define RESTABLE_SERVER_ROUTES_H

#include "server/app.h"

/* Which policy a request on the row must satisfy, checked before the handler runs. */
enum srv_route_policy {
    SRV_POLICY_NONE,         /* nothing to check (the login route, the public pages) */
    SRV_POLICY_DEFAULT_READ, /* auth.default.read: routes outside the tables */
    SRV_POLICY_TABLE_READ,   /* the table's read, write or delete policy (SPEC §4) */
    SRV_POLICY_TABLE_WRITE,
    SRV_POLICY_TABLE_DELETE,
};

/* When a row applies and how its requests are checked. */
enum srv_row_flag {
    SRV_ROW_WRITES = 1 << 0,         /* absent on a read_only table */
    SRV_ROW_BULK_DELETE = 1 << 1,    /* only with the table's allow_bulk_delete */
    SRV_ROW_BULK_UPDATE = 1 << 2,    /* only with the table's allow_bulk_update */
    SRV_ROW_LOGIN = 1 << 3,          /* the path exists only with auth.login.enabled */
    SRV_ROW_NO_TOKEN = 1 << 4,       /* never looks at a token, even an invalid one (probes) */
    SRV_ROW_METRICS_SWITCH = 1 << 5, /* server.metrics.public waives the policy */
    SRV_ROW_ADMIN = 1 << 6,          /* the path exists only with admin.enabled */
};

struct srv_route_row {
    enum srv_route_kind kind;
    /* "/{table}/count/": literal segments are compared as sent; {table} is a declared table;
     * {pk} and {file} are data, percent-decoded into route.pk_text. A trailing slash is
     * optional. Rows of one kind share the pattern and sit together, GET first. */
    const char *pattern;
    const char *method; /* GET also answers HEAD; OPTIONS is answered on every route */
    enum srv_route_policy policy;
    void (*handler)(struct srv_request *request);
    unsigned int flags; /* enum srv_row_flag */
};

/* The rows, in matching order: a named path before a {pk} that would take the same text. */
extern const struct srv_route_row srv_route_rows[];
extern const size_t srv_route_row_count;

/* The row that answers method on the route, or NULL (405). HEAD finds the GET row. */
const struct srv_route_row *srv_route_row_for(const struct srv_route *route, const char *method);
/* Whether the route's rows never look at a token (SRV_ROW_NO_TOKEN). */
bool srv_route_is_token_free(const struct srv_route *route);
/* 0 when the principal satisfies policy, else -1 after responding 401 (no token) or 403 naming
 * request->route.table (server/request.c). */
int srv_request_authorize(struct srv_request *request, const struct cfg_policy *policy);
/* Whether the row is there for this table (read_only, allow_bulk_*); table may be NULL. */
bool srv_route_row_applies(const struct srv_route_row *row, const struct cfg_table *table);

#endif
