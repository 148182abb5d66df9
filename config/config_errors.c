/*
 * config/config_errors.c — collecting the loader's messages ("FILE: JSON.PATH: reason", one
 * per problem, all of them) and building the JSON paths and value descriptions they quote.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

void cfg_errors_free(struct cfg_errors *errors)
{
    if (!errors)
        return;
    for (size_t i = 0; i < errors->count; i++)
        free(errors->messages[i]);
    free(errors->messages);
    errors->messages = NULL;
    errors->count = 0;
}

static bool has_failed(const struct cfg_loader *loader, const char *path)
{
    for (size_t i = 0; i < loader->failed_count; i++)
        if (strcmp(loader->failed_paths[i], path) == 0)
            return true;
    return false;
}

void cfg_error(struct cfg_loader *loader, const char *path, const char *format, ...)
{
    if (path && has_failed(loader, path))
        return;
    struct sb line = {0};
    sb_appendf(&line, "%s: ", loader->file);
    if (path && *path)
        sb_appendf(&line, "%s: ", path);
    va_list args;
    va_start(args, format);
    sb_vappendf(&line, format, args);
    va_end(args);
    struct cfg_errors *errors = loader->errors;
    errors->messages = xrealloc(errors->messages, (errors->count + 1) * sizeof(char *));
    errors->messages[errors->count++] = sb_take(&line);
}

void cfg_mark_failed(struct cfg_loader *loader, const char *path)
{
    if (has_failed(loader, path))
        return;
    loader->failed_paths =
        xrealloc(loader->failed_paths, (loader->failed_count + 1) * sizeof(char *));
    loader->failed_paths[loader->failed_count++] = xstrdup(path);
}

void cfg_loader_release(struct cfg_loader *loader)
{
    for (size_t i = 0; i < loader->failed_count; i++)
        free(loader->failed_paths[i]);
    free(loader->failed_paths);
    loader->failed_paths = NULL;
    loader->failed_count = 0;
}

void cfg_path_key(char out[CFG_PATH_MAX], const char *path, const char *key)
{
    int written = path && *path ? snprintf(out, CFG_PATH_MAX, "%s.%s", path, key)
                                : snprintf(out, CFG_PATH_MAX, "%s", key);
    if (written < 0)
        out[0] = '\0';
}

void cfg_path_index(char out[CFG_PATH_MAX], const char *path, size_t index)
{
    if (snprintf(out, CFG_PATH_MAX, "%s[%zu]", path, index) < 0)
        out[0] = '\0';
}

void cfg_describe(const json_t *value, char *out, size_t size)
{
    if (json_is_object(value)) {
        snprintf(out, size, "an object");
        return;
    }
    if (json_is_array(value)) {
        snprintf(out, size, "an array");
        return;
    }
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    if (!text) {
        snprintf(out, size, "an unprintable value");
        return;
    }
    if (strlen(text) > 60)
        snprintf(out, size, "%.57s...", text);
    else
        snprintf(out, size, "%s", text);
    free(text);
}

void cfg_describe_text(const char *text, char *out, size_t size)
{
    json_t *value = json_string(text);
    if (value)
        cfg_describe(value, out, size);
    else
        snprintf(out, size, "(not UTF-8)");
    json_decref(value);
}
