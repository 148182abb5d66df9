/*
 * config/config_server.c — the "server" and "database" sections (with their defaults), and
 * how relative paths in the config resolve against the config file's folder.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- server ------------------------------------------------------------------------------ */

static bool is_path_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* "api", "/api", "api/" and "//api//" all become "/api/". Only unreserved URL characters are
 * taken, and no "." or ".." segments: the router compares raw request paths with this. */
static char *normalise_base_path(struct cfg_loader *loader, const char *text)
{
    struct sb out = {0};
    sb_append_char(&out, '/');
    const char *p = text;
    bool is_ok = true;
    while (*p && is_ok) {
        if (*p == '/') {
            p++;
            continue;
        }
        size_t length = 0;
        while (p[length] && p[length] != '/')
            is_ok &= is_path_char(p[length++]);
        if ((length == 1 && p[0] == '.') || (length == 2 && p[0] == '.' && p[1] == '.'))
            is_ok = false;
        sb_append_n(&out, p, length);
        sb_append_char(&out, '/');
        p += length;
    }
    if (is_ok) {
        char *normal = rs_arena_strdup(loader->arena, out.data);
        sb_free(&out);
        return normal;
    }
    sb_free(&out);
    char shown[80];
    cfg_describe_text(text, shown, sizeof shown);
    cfg_error(loader, "server.base_path",
              "expected a URL path like \"/api/\" (letters, digits, "
              "\"-\", \".\", \"_\" and \"~\" between slashes), got %s",
              shown);
    return rs_arena_strdup(loader->arena, "/");
}

/* "*", or scheme://host[:port] exactly as browsers send it in Origin: no path, no slash. */
static bool is_origin(const char *text)
{
    if (strcmp(text, "*") == 0)
        return true;
    const char *host = strncmp(text, "https://", 8) == 0  ? text + 8
                       : strncmp(text, "http://", 7) == 0 ? text + 7
                                                          : NULL;
    if (!host || !*host)
        return false;
    for (const char *p = host; *p; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || isspace((unsigned char)*p))
            return false;
    return true;
}

static void load_cors(struct cfg_loader *loader, const json_t *server, struct cfg_config *config)
{
    const json_t *cors = cfg_get_object(loader, server, "server", "cors");
    if (!cors)
        return;
    static const char *const keys[] = {"origins", NULL};
    cfg_check_keys(loader, cors, "server.cors", keys);
    json_t *origins = json_object_get(cors, "origins");
    if (!origins)
        return;
    char shown[80];
    if (!json_is_array(origins)) {
        cfg_describe(origins, shown, sizeof shown);
        cfg_error(loader, "server.cors.origins", "expected a list of origins, got %s", shown);
        return;
    }
    /* NULL-terminated as a courtesy to callers that walk it */
    config->server.cors_origins =
        rs_arena_calloc(loader->arena, json_array_size(origins) + 1, sizeof(char *));
    size_t index;
    json_t *origin;
    json_array_foreach(origins, index, origin)
    {
        const char *text = json_string_value(origin);
        if (text && is_origin(text)) {
            config->server.cors_origins[config->server.cors_origin_count++] =
                rs_arena_strdup(loader->arena, text);
            continue;
        }
        char item[CFG_PATH_MAX];
        cfg_path_index(item, "server.cors.origins", index);
        cfg_describe(origin, shown, sizeof shown);
        cfg_error(loader, item,
                  "expected \"*\" or an origin like \"https://app.example.com\" "
                  "(scheme and host, no path), got %s",
                  shown);
    }
}

static void load_limits(struct cfg_loader *loader, const json_t *server, struct cfg_config *config)
{
    const json_t *limits = cfg_get_object(loader, server, "server", "limits");
    static const char *const keys[] = {"max_connections",  "connection_timeout_s",
                                       "max_header_bytes", "max_url_bytes",
                                       "max_query_params", "header_timeout_s",
                                       "body_timeout_s",   "export_stall_timeout_s",
                                       "export_timeout_s", NULL};
    if (limits)
        cfg_check_keys(loader, limits, "server.limits", keys);
    long long number;
    cfg_get_int(loader, limits, "server.limits", "max_connections", 1, 100000, 10000, &number);
    config->server.limits.max_connections = (int)number;
    cfg_get_int(loader, limits, "server.limits", "connection_timeout_s", 1, 3600, 60, &number);
    config->server.limits.connection_timeout_s = (int)number;
    cfg_get_int(loader, limits, "server.limits", "max_header_bytes", 1024, 1 << 20, 16384, &number);
    config->server.limits.max_header_bytes = (int)number;
    cfg_get_int(loader, limits, "server.limits", "max_url_bytes", 256, 1 << 20, 8192, &number);
    config->server.limits.max_url_bytes = (int)number;
    cfg_get_int(loader, limits, "server.limits", "max_query_params", 1, 65536, 256, &number);
    config->server.limits.max_query_params = (int)number;
    cfg_get_int(loader, limits, "server.limits", "header_timeout_s", 1, 3600, 10, &number);
    config->server.limits.header_timeout_s = (int)number;
    cfg_get_int(loader, limits, "server.limits", "body_timeout_s", 1, 3600, 30, &number);
    config->server.limits.body_timeout_s = (int)number;
    cfg_get_int(loader, limits, "server.limits", "export_stall_timeout_s", 1, 3600, 10, &number);
    config->server.limits.export_stall_timeout_s = (int)number;
    cfg_get_int(loader, limits, "server.limits", "export_timeout_s", 1, 86400, 300, &number);
    config->server.limits.export_timeout_s = (int)number;
}

static void load_log_level(struct cfg_loader *loader, const json_t *server,
                           struct cfg_config *config)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    config->server.log_level = CFG_LOG_INFO;
    char *text = cfg_get_string(loader, server, "server", "log_level", "info", 0);
    if (!text)
        return;
    bool is_known = false;
    for (int level = CFG_LOG_ERROR; level <= CFG_LOG_DEBUG; level++)
        if (strcmp(text, names[level]) == 0) {
            config->server.log_level = level;
            is_known = true;
        }
    if (!is_known) {
        char shown[80];
        cfg_describe_text(text, shown, sizeof shown);
        cfg_error(loader, "server.log_level",
                  "expected \"error\", \"warn\", \"info\" or "
                  "\"debug\", got %s",
                  shown);
    }
}

static void load_operations(struct cfg_loader *loader, const json_t *server,
                            struct cfg_config *config)
{
    const json_t *metrics = cfg_get_object(loader, server, "server", "metrics");
    static const char *const metrics_keys[] = {"public", NULL};
    if (metrics)
        cfg_check_keys(loader, metrics, "server.metrics", metrics_keys);
    cfg_get_bool(loader, metrics, "server.metrics", "public", false,
                 &config->server.metrics_public);
    load_log_level(loader, server, config);
    long long number;
    cfg_get_int(loader, server, "server", "shutdown_grace_s", 0, 3600, 15, &number);
    config->server.shutdown_grace_s = (int)number;
    cfg_get_folder(loader, server, "server", "docs_dir", config, config->server.docs_dir,
                   sizeof config->server.docs_dir);
    load_limits(loader, server, config);
}

/* Every instance must sign cursors with the same key, so a client can move between them. */
static void load_cursor_secret(struct cfg_loader *loader, const json_t *server,
                               struct cfg_config *config)
{
    char *secret = cfg_get_string(loader, server, "server", "cursor_secret", NULL,
                                  CFG_NULLABLE | CFG_EMPTY_OK);
    if (secret && strlen(secret) < 32)
        cfg_error(loader, "server.cursor_secret", "must be at least 32 bytes (got %zu)",
                  strlen(secret));
    config->server.cursor_secret = secret;
}

void cfg_load_server(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *server = cfg_get_object(loader, root, "", "server");
    static const char *const keys[] = {
        "host",   "port",          "threads",   "max_body_bytes",   "base_path",
        "cors",   "metrics",       "log_level", "shutdown_grace_s", "docs_dir",
        "limits", "cursor_secret", NULL};
    if (server)
        cfg_check_keys(loader, server, "server", keys);
    long long number;
    config->server.host = cfg_get_string(loader, server, "server", "host", "0.0.0.0", 0);
    cfg_get_int(loader, server, "server", "port", 1, 65535, 8080, &number);
    config->server.port = (int)number;
    cfg_get_int(loader, server, "server", "threads", 0, 1024, 0, &number);
    config->server.threads = (int)number;
    cfg_get_int(loader, server, "server", "max_body_bytes", 1, 1LL << 30, 1048576, &number);
    config->server.max_body_bytes = (size_t)number;
    char *base_path = cfg_get_string(loader, server, "server", "base_path", "/", CFG_EMPTY_OK);
    config->server.base_path = normalise_base_path(loader, base_path);
    load_cors(loader, server, config);
    load_operations(loader, server, config);
    load_cursor_secret(loader, server, config);
}

/* ---- database ---------------------------------------------------------------------------- */

/* database.replicas: a list of non-empty URL strings, none the primary's own. */
static void load_replicas(struct cfg_loader *loader, const json_t *database,
                          struct cfg_config *config)
{
    const json_t *list = database ? json_object_get(database, "replicas") : NULL;
    if (!list || json_is_null(list))
        return;
    if (!json_is_array(list)) {
        char shown[80];
        cfg_describe(list, shown, sizeof shown);
        cfg_error(loader, "database.replicas", "expected a list of connection URLs, got %s", shown);
        return;
    }
    config->database.replicas = rs_arena_calloc(loader->arena, json_array_size(list) + 1,
                                                sizeof *config->database.replicas);
    size_t index;
    const json_t *item;
    json_array_foreach(list, index, item)
    {
        char path[CFG_PATH_MAX];
        snprintf(path, sizeof path, "database.replicas[%zu]", index);
        const char *url = json_string_value(item);
        if (!url || !*url) {
            char shown[80];
            cfg_describe(item, shown, sizeof shown);
            cfg_error(loader, path, "expected a non-empty connection URL, got %s", shown);
            continue;
        }
        if (config->database.url && strcmp(url, config->database.url) == 0) {
            cfg_error(loader, path,
                      "is the primary's own URL (database.url): a replica is "
                      "another server");
            continue;
        }
        config->database.replicas[config->database.replica_count++] =
            rs_arena_strdup(loader->arena, url);
    }
}

void cfg_load_database(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *database = cfg_get_object(loader, root, "", "database");
    static const char *const keys[] = {"url",
                                       "pool_size",
                                       "acquire_timeout_ms",
                                       "statement_timeout_ms",
                                       "prepared_statements",
                                       "replicas",
                                       "replica_pool_size",
                                       "replica_max_lag_ms",
                                       NULL};
    if (database)
        cfg_check_keys(loader, database, "database", keys);
    long long number;
    config->database.url = cfg_get_string(loader, database, "database", "url", NULL, 0);
    bool is_section_wrong = json_object_get(root, "database") && !database;
    if (!is_section_wrong && !(database && json_object_get(database, "url")))
        cfg_error(loader, "database.url",
                  "required (or set RESTABLE_DATABASE_URL or "
                  "DATABASE_URL)");
    /* 0: from the machine at start (server/sizing.c) */
    cfg_get_int(loader, database, "database", "pool_size", 0, 1000, 0, &number);
    config->database.pool_size = (int)number;
    cfg_get_int(loader, database, "database", "acquire_timeout_ms", 0, INT_MAX, 5000, &number);
    config->database.acquire_timeout_ms = (int)number;
    cfg_get_int(loader, database, "database", "statement_timeout_ms", 0, INT_MAX, 10000, &number);
    config->database.statement_timeout_ms = (int)number;
    cfg_get_bool(loader, database, "database", "prepared_statements", true,
                 &config->database.prepared_statements);
    load_replicas(loader, database, config);
    /* 0: pool_size */
    cfg_get_int(loader, database, "database", "replica_pool_size", 0, 1000, 0, &number);
    config->database.replica_pool_size = (int)number;
    cfg_get_int(loader, database, "database", "replica_max_lag_ms", 0, INT_MAX, 5000, &number);
    config->database.replica_max_lag_ms = (int)number;
}

/* ---- paths ------------------------------------------------------------------------------- */

void cfg_get_folder(struct cfg_loader *loader, const json_t *object, const char *path,
                    const char *key, struct cfg_config *config, char *out, size_t size)
{
    char *folder = cfg_get_string(loader, object, path, key, NULL, CFG_NULLABLE);
    if (!folder)
        return;
    char *resolved = cfg_resolve_path(config, folder);
    char full[128];
    snprintf(full, sizeof full, "%s.%s", path, key);
    if (strlen(resolved) >= size)
        cfg_error(loader, full, "the path is longer than %zu bytes", size - 1);
    else
        memcpy(out, resolved, strlen(resolved) + 1);
}

char *cfg_resolve_path(struct cfg_config *config, const char *path)
{
    struct sb out = {0};
    if (path[0] != '/') {
        sb_append(&out, config->directory);
        while (path[0] == '.' && path[1] == '/')
            for (path += 2; *path == '/'; path++)
                ;
        if (*path && !(path[0] == '.' && !path[1]))
            sb_appendf(&out, "%s%s", out.length && out.data[out.length - 1] == '/' ? "" : "/",
                       path);
    } else {
        sb_append(&out, path);
    }
    while (out.length > 1 && out.data[out.length - 1] == '/')
        out.data[--out.length] = '\0';
    char *resolved = rs_arena_strdup(&config->arena, out.data ? out.data : "");
    sb_free(&out);
    return resolved;
}
