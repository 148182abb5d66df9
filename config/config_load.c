/*
 * config/config_load.c — the entry points: reads restable.json (or text in memory) with
 * jansson, lets the environment in (config_env.c), runs each section's loader in order and
 * hands back an immutable cfg_config, or every problem found, each "FILE: JSON.PATH: reason".
 * Everything the config keeps lives in its arena, so freeing it is freeing that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"

/* The config file's folder, absolute: realpath when it exists, else joined to the working
 * directory (cfg_load_string may be given a path that names no real file). Caller frees. */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *folder;
    if (!slash) {
        folder = xstrdup(".");
    } else if (slash == path) {
        folder = xstrdup("/");
    } else {
        folder = xstrdup(path);
        folder[slash - path] = '\0';
    }
    char *resolved = realpath(folder, NULL);
    if (resolved) {
        free(folder);
        return resolved;
    }
    if (folder[0] == '/')
        return folder;
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return folder;
    struct sb joined = {0};
    sb_appendf(&joined, "%s/%s", cwd, folder);
    free(cwd);
    free(folder);
    return sb_take(&joined);
}

/* "metrics": {"public": true} at the top level (issue 6 spells it so) means the same as
 * server.metrics.public; either one opens /metrics. */
static void load_top_level_metrics(struct cfg_loader *loader, const json_t *root,
                                   struct cfg_config *config)
{
    const json_t *metrics = cfg_get_object(loader, root, "", "metrics");
    if (!metrics)
        return;
    static const char *const keys[] = {"public", NULL};
    cfg_check_keys(loader, metrics, "metrics", keys);
    bool is_public = false;
    cfg_get_bool(loader, metrics, "metrics", "public", false, &is_public);
    config->server.metrics_public |= is_public;
}

static struct cfg_config *load_tree(struct cfg_loader *loader, json_t *root,
                                    const json_error_t *parse_error)
{
    if (!root) {
        cfg_error(loader, "", "line %d, column %d: %s", parse_error->line, parse_error->column,
                  parse_error->text);
        return NULL;
    }
    if (!json_is_object(root)) {
        char shown[80];
        cfg_describe(root, shown, sizeof shown);
        cfg_error(loader, "", "expected a JSON object at the top level, got %s", shown);
        json_decref(root);
        return NULL;
    }
    cfg_env_apply(loader, root);

    struct cfg_config *config = xcalloc(1, sizeof *config);
    rs_arena_init(&config->arena, NULL, 0);
    loader->arena = &config->arena;
    config->path = rs_arena_strdup(&config->arena, loader->file);
    config->directory = rs_arena_adopt(&config->arena, directory_of(loader->file));
    static const char *const keys[] = {"server", "database", "auth",  "migrations_dir",
                                       "tables", "metrics",  "admin", NULL};
    cfg_check_keys(loader, root, "", keys);
    cfg_load_server(loader, root, config);
    load_top_level_metrics(loader, root, config);
    cfg_load_database(loader, root, config);
    cfg_load_admin(loader, root, config);
    cfg_load_auth(loader, root, config); /* before tables: they inherit auth.default */
    char *migrations = cfg_get_string(loader, root, "", "migrations_dir", "migrations", 0);
    config->migrations_dir = cfg_resolve_path(config, migrations);
    cfg_load_tables(loader, root, config);

    json_decref(root);
    cfg_loader_release(loader);
    if (loader->errors->count > 0) {
        cfg_free(config);
        return NULL;
    }
    return config;
}

struct cfg_config *cfg_load_string(const char *text, const char *path, struct cfg_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    struct cfg_loader loader = {.file = path ? path : "restable.json", .errors = errors};
    json_error_t parse_error;
    json_t *root = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &parse_error);
    return load_tree(&loader, root, &parse_error);
}

struct cfg_config *cfg_load(const char *path, struct cfg_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    struct cfg_loader loader = {.file = path ? path : "restable.json", .errors = errors};
    FILE *file = fopen(loader.file, "rb");
    if (!file) {
        cfg_error(&loader, "", "cannot read: %s", strerror(errno));
        return NULL;
    }
    /* fopen opens a folder too; say so rather than report a JSON error */
    struct stat status;
    int failure = fstat(fileno(file), &status) != 0 ? errno : S_ISDIR(status.st_mode) ? EISDIR : 0;
    if (failure) {
        fclose(file);
        cfg_error(&loader, "", "cannot read: %s", strerror(failure));
        return NULL;
    }
    json_error_t parse_error;
    json_t *root = json_loadf(file, JSON_REJECT_DUPLICATES, &parse_error);
    fclose(file);
    return load_tree(&loader, root, &parse_error);
}

void cfg_free(struct cfg_config *config)
{
    if (!config)
        return;
    rs_arena_free(&config->arena);
    free(config);
}
