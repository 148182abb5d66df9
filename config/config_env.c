/*
 * config/config_env.c — the environment's say in the config: ${VAR} and ${VAR:-default} in
 * every string value of the file, and the overrides (RESTABLE_DATABASE_URL or DATABASE_URL,
 * RESTABLE_HOST, RESTABLE_PORT, RESTABLE_JWT_SECRET, RESTABLE_CURSOR_SECRET, and the operator's
 * knobs RESTABLE_LOG_LEVEL,
 * RESTABLE_DOCS_DIR, RESTABLE_SHUTDOWN_GRACE_S, RESTABLE_MAX_CONNECTIONS,
 * RESTABLE_CONNECTION_TIMEOUT_S, RESTABLE_MAX_HEADER_BYTES, RESTABLE_MAX_URL_BYTES) that win
 * over whatever the file says.
 * Both act on the parsed JSON tree, before validation, so every value is checked the same way
 * wherever it came from.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

struct override {
    const char *path;     /* JSON path it replaces */
    const char *variable; /* the environment variable it came from */
    json_t *value;        /* owned until set into the tree */
};

/* ---- ${VAR} ------------------------------------------------------------------------------ */

static bool is_name_start(char c)
{
    return c == '_' || isalpha((unsigned char)c);
}

static bool is_name_char(char c)
{
    return c == '_' || isalnum((unsigned char)c);
}

/* Appends text with its references replaced to out. Returns false after reporting every
 * unset variable (or the first malformed reference) at path. Substituted text is not scanned
 * again: a value may contain "${" without surprises. */
static bool substitute_text(struct cfg_loader *loader, const char *path, const char *text,
                            struct sb *out)
{
    bool is_ok = true;
    const char *p = text;
    while (*p) {
        if (p[0] != '$' || p[1] != '{') {
            sb_append_char(out, *p++);
            continue;
        }
        const char *name = p + 2, *q = name;
        while (is_name_char(*q))
            q++;
        const char *fallback = NULL, *end = q;
        if (q[0] == ':' && q[1] == '-') {
            fallback = q + 2;
            end = strchr(fallback, '}');
        }
        if (!end || *end != '}') {
            const char *close = strchr(p, '}');
            if (!close)
                cfg_error(loader, path, "unterminated \"${\" (write ${NAME} or ${NAME:-default})");
            else
                cfg_error(loader, path,
                          "invalid reference \"%.*s\" (write ${NAME} or "
                          "${NAME:-default})",
                          (int)(close - p + 1), p);
            return false;
        }
        if (q == name || !is_name_start(*name)) {
            cfg_error(loader, path,
                      "invalid reference \"%.*s\" (write ${NAME} or "
                      "${NAME:-default})",
                      (int)(end - p + 1), p);
            return false;
        }
        struct sb variable = {0};
        sb_append_n(&variable, name, (size_t)(q - name));
        const char *value = getenv(sb_text(&variable));
        /* as in the shell, ":-" also replaces a variable that is set but empty */
        if (value && (*value || !fallback))
            sb_append(out, value);
        else if (fallback)
            sb_append_n(out, fallback, (size_t)(end - fallback));
        else {
            cfg_error(loader, path, "environment variable %s is not set", sb_text(&variable));
            is_ok = false;
        }
        sb_free(&variable);
        p = end + 1;
    }
    return is_ok;
}

static bool is_overridden(const struct override *overrides, size_t count, const char *path)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(overrides[i].path, path) == 0)
            return true;
    return false;
}

static void substitute_string(struct cfg_loader *loader, json_t *string, const char *path)
{
    const char *text = json_string_value(string);
    if (!strstr(text, "${"))
        return;
    struct sb out = {0};
    if (!substitute_text(loader, path, text, &out)) {
        cfg_mark_failed(loader, path);
    } else if (json_string_set(string, sb_text(&out)) != 0) {
        cfg_error(loader, path, "the substituted text is not valid UTF-8");
        cfg_mark_failed(loader, path);
    }
    sb_free(&out);
}

static void substitute(struct cfg_loader *loader, json_t *value, const char *path,
                       const struct override *overrides, size_t count)
{
    char child[CFG_PATH_MAX];
    if (json_is_object(value)) {
        const char *key;
        json_t *item;
        json_object_foreach(value, key, item)
        {
            cfg_path_key(child, path, key);
            if (json_is_string(item) && !is_overridden(overrides, count, child))
                substitute_string(loader, item, child);
            else
                substitute(loader, item, child, overrides, count);
        }
    } else if (json_is_array(value)) {
        size_t index;
        json_t *item;
        json_array_foreach(value, index, item)
        {
            cfg_path_index(child, path, index);
            if (json_is_string(item))
                substitute_string(loader, item, child);
            else
                substitute(loader, item, child, overrides, count);
        }
    }
}

/* ---- overrides --------------------------------------------------------------------------- */

static const char *environment(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL; /* set but empty counts as unset */
}

static void add_string(struct cfg_loader *loader, struct override *overrides, size_t *count,
                       const char *path, const char *variable)
{
    const char *text = environment(variable);
    if (!text)
        return;
    json_t *value = json_string(text);
    if (!value) {
        cfg_error(loader, path, "environment variable %s is not valid UTF-8", variable);
        return;
    }
    overrides[(*count)++] = (struct override){path, variable, value};
}

/* Sets value at the dotted path, creating the objects on the way. When something on the way
 * is not an object the value is dropped: validation reports that object anyway. */
static void set_at(json_t *root, const char *path, json_t *value)
{
    char copy[CFG_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    json_t *object = root;
    char *key = copy;
    for (char *dot = strchr(key, '.'); dot; key = dot + 1, dot = strchr(key, '.')) {
        *dot = '\0';
        json_t *next = json_object_get(object, key);
        if (!next) {
            next = json_object();
            if (!next || json_object_set_new(object, key, next) != 0)
                next = NULL;
        }
        if (!json_is_object(next)) {
            json_decref(value);
            return;
        }
        object = next;
    }
    json_object_set_new(object, key, value);
}

/* An integer override; the range is checked by the loader like the file's own value, so the
 * message is the same wherever the value came from. */
static void add_integer(struct cfg_loader *loader, struct override *overrides, size_t *count,
                        const char *path, const char *variable)
{
    const char *text = environment(variable);
    if (!text)
        return;
    char *end = NULL;
    errno = 0;
    long long number = strtoll(text, &end, 10);
    if (errno || !(isdigit((unsigned char)text[0]) || text[0] == '-') || *end) {
        char shown[80];
        cfg_describe_text(text, shown, sizeof shown);
        cfg_error(loader, path, "environment variable %s: expected an integer, got %s", variable,
                  shown);
        return;
    }
    overrides[(*count)++] = (struct override){path, variable, json_integer(number)};
}

static void add_operations(struct cfg_loader *loader, struct override *overrides, size_t *count)
{
    add_string(loader, overrides, count, "server.log_level", "RESTABLE_LOG_LEVEL");
    add_string(loader, overrides, count, "server.docs_dir", "RESTABLE_DOCS_DIR");
    add_string(loader, overrides, count, "admin.dir", "RESTABLE_ADMIN_DIR");
    add_integer(loader, overrides, count, "server.shutdown_grace_s", "RESTABLE_SHUTDOWN_GRACE_S");
    add_integer(loader, overrides, count, "server.limits.max_connections",
                "RESTABLE_MAX_CONNECTIONS");
    add_integer(loader, overrides, count, "server.limits.connection_timeout_s",
                "RESTABLE_CONNECTION_TIMEOUT_S");
    add_integer(loader, overrides, count, "server.limits.max_header_bytes",
                "RESTABLE_MAX_HEADER_BYTES");
    add_integer(loader, overrides, count, "server.limits.max_url_bytes", "RESTABLE_MAX_URL_BYTES");
}

void cfg_env_apply(struct cfg_loader *loader, json_t *root)
{
    struct override overrides[16];
    size_t count = 0;
    if (environment("RESTABLE_DATABASE_URL"))
        add_string(loader, overrides, &count, "database.url", "RESTABLE_DATABASE_URL");
    else
        add_string(loader, overrides, &count, "database.url", "DATABASE_URL");
    add_string(loader, overrides, &count, "server.host", "RESTABLE_HOST");
    const char *port = environment("RESTABLE_PORT");
    if (port) {
        char *end = NULL;
        long number = strtol(port, &end, 10);
        bool is_digits = isdigit((unsigned char)port[0]) && !*end;
        if (!is_digits || number < 1 || number > 65535) {
            char shown[80];
            cfg_describe_text(port, shown, sizeof shown);
            cfg_error(loader, "server.port",
                      "environment variable RESTABLE_PORT: expected an "
                      "integer between 1 and 65535, got %s",
                      shown);
        } else {
            overrides[count++] =
                (struct override){"server.port", "RESTABLE_PORT", json_integer(number)};
        }
    }
    add_string(loader, overrides, &count, "auth.jwt.secret", "RESTABLE_JWT_SECRET");
    add_string(loader, overrides, &count, "server.cursor_secret", "RESTABLE_CURSOR_SECRET");
    add_operations(loader, overrides, &count);

    substitute(loader, root, "", overrides, count);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(overrides[i].variable, "RESTABLE_JWT_SECRET") == 0)
            loader->secret_variable = overrides[i].variable;
        set_at(root, overrides[i].path, overrides[i].value);
    }
}
