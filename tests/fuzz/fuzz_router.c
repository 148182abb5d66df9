/*
 * tests/fuzz/fuzz_router.c — libFuzzer target for the router (server/router.c): a request path
 * as the client sent it (still percent-encoded: the router decodes data segments itself),
 * against the shared fuzz config (tables director, item, keyed) mounted under two base paths
 * ("/" and "/api/v1/").
 *
 * Input: byte 0 picks the base path; the rest is the path.
 *
 * Invariants: a collection route (the one bulk DELETE and PATCH act on) is only ever the exact
 * path {base}T or {base}T/, so no junk id ("//", "%00", "%2F", "") can fall through to it; a row
 * route names a table and a non-empty UTF-8 key; a bad request says what is wrong; table routes
 * name a table; every route has its allowed methods.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg_config *configs[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    configs[0] = fuzz_config_or_die(fuzz_tables_json);
    /* the same tables under a base path: splice it in as the first member */
    struct sb text = {0};
    sb_append(&text, "{\"server\": {\"base_path\": \"/api/v1\"}, \"auth\": {\"login\": "
                     "{\"enabled\": true}, \"jwt\": {\"secret\": "
                     "\"0123456789abcdef0123456789abcdef\"}}, ");
    sb_append(&text, fuzz_tables_json + 1);
    configs[1] = fuzz_config_or_die(sb_text(&text));
    sb_free(&text);
    return 0;
}

static void check_collection(const struct cfg_config *config, const char *path,
                             const struct srv_route *route)
{
    fuzz_expect(route->table != NULL, "a collection route names its table");
    struct sb expected = {0};
    sb_append(&expected, config->server.base_path);
    sb_append(&expected, route->table->name);
    size_t length = expected.length;
    bool is_exact = strncmp(path, sb_text(&expected), length) == 0 &&
                    (path[length] == '\0' || (path[length] == '/' && path[length + 1] == '\0'));
    sb_free(&expected);
    fuzz_expect(is_exact, "a collection route is exactly {base}T or {base}T/");
}

static void check_route(const struct cfg_config *config, const char *path,
                        const struct srv_route *route)
{
    switch (route->kind) {
    case SRV_ROUTE_COLLECTION:
        check_collection(config, path, route);
        break;
    case SRV_ROUTE_BAD_REQUEST:
        fuzz_expect(route->problem && route->problem[0], "a bad request says what is wrong");
        break;
    case SRV_ROUTE_ROW:
        fuzz_expect(route->table != NULL, "a row route names its table");
        fuzz_expect(route->pk_text && route->pk_text[0], "a row route has a non-empty key");
        fuzz_expect(fuzz_is_utf8(route->pk_text, strlen(route->pk_text)), "a key is UTF-8");
        break;
    case SRV_ROUTE_DOCS_ASSET:
        fuzz_expect(route->pk_text && route->pk_text[0], "a docs asset has a name");
        break;
    case SRV_ROUTE_COUNT:
    case SRV_ROUTE_SCHEMA:
    case SRV_ROUTE_IDS:
    case SRV_ROUTE_NEW:
    case SRV_ROUTE_REFERENCES:
        fuzz_expect(route->table != NULL, "a table route names its table");
        break;
    default:
        break;
    }
    const char *allowed = srv_route_allowed_methods(route);
    fuzz_expect(allowed && strstr(allowed, "OPTIONS"), "every route has its allowed methods");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16 * 1024)
        return -1;
    const struct cfg_config *config = configs[data[0] & 1];
    char *path = fuzz_strndup(data + 1, size - 1);
    struct srv_route route;
    struct rs_arena arena;
    rs_arena_init(&arena, NULL, 0);
    srv_route_parse(config, path, &route, &arena);
    check_route(config, path, &route);
    rs_arena_free(&arena);
    free(path);
    return 0;
}
