/*
 * server/routes.c — the route table (SPEC §3): one row per path and method, with the policy a
 * request must satisfy and the handler that answers it, and what derives from the rows alone:
 * the row for a method (405 when there is none) and the Allow header of a route.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/routes.h"

/* Rows of one kind sit together, GET first, then in the order Allow lists them. A new route
 * is one row here (and its kind in server/app.h). */
const struct srv_route_row srv_route_rows[] = {
    {SRV_ROUTE_ROOT, "/", "GET", SRV_POLICY_DEFAULT_READ, srv_handle_root, 0},
    {SRV_ROUTE_HEALTHZ, "/healthz", "GET", SRV_POLICY_NONE, srv_handle_healthz, SRV_ROW_NO_TOKEN},
    {SRV_ROUTE_READYZ, "/readyz", "GET", SRV_POLICY_NONE, srv_handle_readyz, SRV_ROW_NO_TOKEN},
    {SRV_ROUTE_METRICS, "/metrics", "GET", SRV_POLICY_DEFAULT_READ, srv_handle_metrics,
     SRV_ROW_METRICS_SWITCH},
    {SRV_ROUTE_OPENAPI, "/openapi.json", "GET", SRV_POLICY_NONE, srv_handle_openapi,
     SRV_ROW_NO_TOKEN},
    {SRV_ROUTE_DOCS, "/docs", "GET", SRV_POLICY_NONE, srv_handle_docs, SRV_ROW_NO_TOKEN},
    {SRV_ROUTE_DOCS_ASSET, "/docs/{file}", "GET", SRV_POLICY_NONE, srv_handle_docs,
     SRV_ROW_NO_TOKEN},
    {SRV_ROUTE_ADMIN, "/admin", "GET", SRV_POLICY_NONE, srv_handle_admin,
     SRV_ROW_NO_TOKEN | SRV_ROW_ADMIN},
    {SRV_ROUTE_ADMIN_ASSET, "/admin/{file...}", "GET", SRV_POLICY_NONE, srv_handle_admin,
     SRV_ROW_NO_TOKEN | SRV_ROW_ADMIN},
    {SRV_ROUTE_LOGIN, "/auth/login", "POST", SRV_POLICY_NONE, srv_handle_login, SRV_ROW_LOGIN},
    /* each operation is checked against its own table's policy (server/handlers_batch.c) */
    {SRV_ROUTE_BATCH, "/batch/", "POST", SRV_POLICY_NONE, srv_handle_batch, 0},

    {SRV_ROUTE_COLLECTION, "/{table}/", "GET", SRV_POLICY_TABLE_READ, srv_handle_list, 0},
    {SRV_ROUTE_COLLECTION, "/{table}/", "POST", SRV_POLICY_TABLE_WRITE, srv_handle_create,
     SRV_ROW_WRITES},
    {SRV_ROUTE_COLLECTION, "/{table}/", "PATCH", SRV_POLICY_TABLE_WRITE, srv_handle_bulk_update,
     SRV_ROW_WRITES | SRV_ROW_BULK_UPDATE},
    {SRV_ROUTE_COLLECTION, "/{table}/", "DELETE", SRV_POLICY_TABLE_DELETE, srv_handle_bulk_delete,
     SRV_ROW_WRITES | SRV_ROW_BULK_DELETE},
    {SRV_ROUTE_COUNT, "/{table}/count/", "GET", SRV_POLICY_TABLE_READ, srv_handle_count, 0},
    {SRV_ROUTE_SCHEMA, "/{table}/schema/", "GET", SRV_POLICY_TABLE_READ, srv_handle_schema, 0},
    {SRV_ROUTE_IDS, "/{table}/ids/", "GET", SRV_POLICY_TABLE_READ, srv_handle_ids, 0},
    {SRV_ROUTE_NEW, "/{table}/new/", "GET", SRV_POLICY_TABLE_READ, srv_handle_new, 0},
    {SRV_ROUTE_REFERENCES, "/{table}/references/", "GET", SRV_POLICY_TABLE_READ,
     srv_handle_references, 0},
    {SRV_ROUTE_EXPORT, "/{table}/export/", "GET", SRV_POLICY_TABLE_READ, srv_handle_export, 0},
    /* after the named routes: /T/count/ is the count, not the row whose key is "count" */
    {SRV_ROUTE_ROW, "/{table}/{pk}/", "GET", SRV_POLICY_TABLE_READ, srv_handle_get, 0},
    {SRV_ROUTE_ROW, "/{table}/{pk}/", "PUT", SRV_POLICY_TABLE_WRITE, srv_handle_replace_one,
     SRV_ROW_WRITES},
    {SRV_ROUTE_ROW, "/{table}/{pk}/", "PATCH", SRV_POLICY_TABLE_WRITE, srv_handle_patch_one,
     SRV_ROW_WRITES},
    {SRV_ROUTE_ROW, "/{table}/{pk}/", "DELETE", SRV_POLICY_TABLE_DELETE, srv_handle_delete_one,
     SRV_ROW_WRITES},
};
const size_t srv_route_row_count = sizeof srv_route_rows / sizeof srv_route_rows[0];

/* The table's options as the bits of the flags they permit: a row applies when every such
 * flag it carries is permitted. */
#define TABLE_FLAGS (SRV_ROW_WRITES | SRV_ROW_BULK_DELETE | SRV_ROW_BULK_UPDATE)

static unsigned int table_permits(const struct cfg_table *table)
{
    if (!table)
        return 0;
    return (table->read_only ? 0u : SRV_ROW_WRITES) |
           (table->allow_bulk_delete ? SRV_ROW_BULK_DELETE : 0u) |
           (table->allow_bulk_update ? SRV_ROW_BULK_UPDATE : 0u);
}

static bool row_applies(const struct srv_route_row *row, unsigned int permitted)
{
    return (row->flags & TABLE_FLAGS & ~permitted) == 0;
}

const struct srv_route_row *srv_route_row_for(const struct srv_route *route, const char *method)
{
    const char *wanted = strcmp(method, "HEAD") == 0 ? "GET" : method;
    unsigned int permitted = table_permits(route->table);
    for (size_t i = 0; i < srv_route_row_count; i++) {
        const struct srv_route_row *row = &srv_route_rows[i];
        if (row->kind == route->kind && strcmp(row->method, wanted) == 0 &&
            row_applies(row, permitted))
            return row;
    }
    return NULL;
}

bool srv_route_is_token_free(const struct srv_route *route)
{
    for (size_t i = 0; i < srv_route_row_count; i++)
        if (srv_route_rows[i].kind == route->kind)
            return (srv_route_rows[i].flags & SRV_ROW_NO_TOKEN) != 0;
    return false;
}

/* ---- Allow ----------------------------------------------------------------------------------
 * It depends only on the kind and the table's three options, so every value is written once,
 * on first use, and shared by all threads; the longest possible list fits ALLOW_SIZE. */

#define ALLOW_SIZE 64

static char allow_texts[SRV_ROUTE_KIND_COUNT][TABLE_FLAGS + 1][ALLOW_SIZE];
static pthread_once_t allow_once = PTHREAD_ONCE_INIT;

static void allow_write(enum srv_route_kind kind, unsigned int permitted, char *out)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < srv_route_row_count; i++) {
        const struct srv_route_row *row = &srv_route_rows[i];
        if (row->kind != kind || !row_applies(row, permitted))
            continue;
        bool is_get = strcmp(row->method, "GET") == 0;
        if (used >= ALLOW_SIZE)
            break;
        used += (size_t)snprintf(out + used, ALLOW_SIZE - used, "%s%s, ", row->method,
                                 is_get ? ", HEAD" : "");
    }
    if (used < ALLOW_SIZE)
        snprintf(out + used, ALLOW_SIZE - used, "OPTIONS");
}

static void allow_build(void)
{
    for (int kind = 0; kind < SRV_ROUTE_KIND_COUNT; kind++)
        for (unsigned int permitted = 0; permitted <= TABLE_FLAGS; permitted++)
            allow_write((enum srv_route_kind)kind, permitted, allow_texts[kind][permitted]);
}

const char *srv_route_allowed_methods(const struct srv_route *route)
{
    pthread_once(&allow_once, allow_build);
    if ((unsigned int)route->kind >= SRV_ROUTE_KIND_COUNT)
        return "OPTIONS";
    return allow_texts[route->kind][table_permits(route->table)];
}
