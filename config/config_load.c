/*
 * config/config_load.c — loads restable.json: ${VAR} substitution, environment overrides, and
 * validation of every key of SPEC §2 into an immutable cfg_config. Every problem is collected
 * (not just the first), each as "FILE: JSON.PATH: reason", with "did you mean" for near misses.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"

struct loader {
    const char *file;
    struct cfg_errors *errors;
};

static char *xstrdup(const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        abort();
    return copy;
}

static void add_error(struct loader *loader, const char *path, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct loader *loader, const char *path, const char *format, ...)
{
    struct sb line = {0};
    sb_appendf(&line, "%s: ", loader->file);
    if (path && *path)
        sb_appendf(&line, "%s: ", path);
    va_list args;
    va_start(args, format);
    sb_vappendf(&line, format, args);
    va_end(args);
    struct cfg_errors *errors = loader->errors;
    char **messages = realloc(errors->messages, (errors->count + 1) * sizeof *messages);
    if (!messages)
        abort();
    errors->messages = messages;
    errors->messages[errors->count++] = sb_take(&line);
}

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

/* ---- names ------------------------------------------------------------------------------ */

static const char *const type_names[CFG_TYPE_COUNT + 1] = {
    "varchar", "text",      "email",  "integer",     "bigint", "smallint", "serial",
    "bigserial", "boolean", "numeric", "real",       "double", "timestamp", "timestamptz",
    "date",    "time",      "interval", "uuid",      "json",   "jsonb",    "bytea",
    "array",   "foreign_key", NULL,
};

const char *cfg_type_name(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT ? type_names[type] : NULL;
}

int cfg_type_from_name(const char *name, enum cfg_type *type)
{
    for (int i = 0; i < CFG_TYPE_COUNT; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *type = (enum cfg_type)i;
            return 0;
        }
    }
    return -1;
}

const char *cfg_fk_action_sql(enum cfg_fk_action action)
{
    static const char *const sql[] = {"NO ACTION", "RESTRICT", "CASCADE", "SET NULL",
                                      "SET DEFAULT"};
    return (unsigned)action < 5 ? sql[action] : "NO ACTION";
}

/* Damerau-Levenshtein (optimal string alignment) distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

static const char *suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_distance = strlen(word) <= 3 ? 1 : 2;
    for (int i = 0; candidates[i]; i++) {
        size_t distance = edit_distance(word, candidates[i]);
        if (distance <= best_distance && (!best || distance < edit_distance(word, best)))
            best = candidates[i];
    }
    return best;
}

static bool name_is_valid(const char *name)
{
    if (!name[0] || strlen(name) > 63)
        return false;
    if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

/* ---- ${VAR} substitution ---------------------------------------------------------------- */

/* Paths are cut at the buffer size; the return values are checked only to say so. */
static void path_child(char *out, size_t size, const char *path, const char *key)
{
    int written = path && *path ? snprintf(out, size, "%s.%s", path, key)
                                : snprintf(out, size, "%s", key);
    if (written < 0)
        out[0] = '\0';
}

static void path_index(char *out, size_t size, const char *path, size_t index)
{
    if (snprintf(out, size, "%s[%zu]", path, index) < 0)
        out[0] = '\0';
}

/* Returns the substituted text (caller frees) or NULL after reporting an unset variable. */
static char *substitute_text(struct loader *loader, const char *path, const char *text)
{
    struct sb out = {0};
    const char *p = text;
    bool failed = false;
    while (*p) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                add_error(loader, path, "unterminated ${ in \"%s\"", text);
                failed = true;
                break;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(end - p - 2), p + 2);
            const char *fallback = NULL;
            char *separator = strstr(name, ":-");
            if (separator) {
                *separator = '\0';
                fallback = separator + 2;
            }
            const char *value = getenv(name);
            if (value && (*value || !fallback))
                sb_append(&out, value);
            else if (fallback)
                sb_append(&out, fallback);
            else {
                add_error(loader, path, "environment variable %s is not set", name);
                failed = true;
            }
            p = end + 1;
            continue;
        }
        sb_append_char(&out, *p++);
    }
    if (failed) {
        sb_free(&out);
        return NULL;
    }
    return sb_take(&out);
}

static void substitute(struct loader *loader, json_t *value, const char *path)
{
    char child[512];
    if (json_is_object(value)) {
        const char *key;
        json_t *item;
        json_object_foreach(value, key, item) {
            path_child(child, sizeof child, path, key);
            if (json_is_string(item)) {
                char *text = substitute_text(loader, child, json_string_value(item));
                if (text) {
                    json_object_set_new(value, key, json_string(text));
                    free(text);
                }
            } else {
                substitute(loader, item, child);
            }
        }
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++) {
            json_t *item = json_array_get(value, i);
            path_index(child, sizeof child, path, i);
            if (json_is_string(item)) {
                char *text = substitute_text(loader, child, json_string_value(item));
                if (text) {
                    json_array_set_new(value, i, json_string(text));
                    free(text);
                }
            } else {
                substitute(loader, item, child);
            }
        }
    }
}

/* ---- typed getters ---------------------------------------------------------------------- */

static const char *json_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static void describe(const json_t *value, char *out, size_t size)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, size, "%.60s", text ? text : "?");
    free(text);
}

/* Checks the object's keys against the allowed ones; reports the others. */
static void check_keys(struct loader *loader, const json_t *object, const char *path,
                       const char *const *allowed)
{
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)object, key, item) {
        bool known = false;
        for (int i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (known)
            continue;
        char child[512];
        path_child(child, sizeof child, path, key);
        const char *near = suggest(key, allowed);
        if (near)
            add_error(loader, child, "unknown key (did you mean \"%s\"?)", near);
        else
            add_error(loader, child, "unknown key");
    }
}

static int get_int(struct loader *loader, const json_t *object, const char *path,
                   const char *key, long long minimum, long long maximum, long long fallback,
                   long long *out)
{
    *out = fallback;
    json_t *value = json_object_get(object, key);
    if (!value)
        return 0;
    char child[512];
    path_child(child, sizeof child, path, key);
    long long number = 0;
    bool ok = false;
    if (json_is_integer(value)) {
        number = json_integer_value(value);
        ok = true;
    } else if (json_is_string(value)) {
        /* "${PORT}" substituted into a string: accept a string that is an integer */
        const char *text = json_string_value(value);
        char *end = NULL;
        errno = 0;
        number = strtoll(text, &end, 10);
        ok = *text && !*end && !errno;
    }
    if (!ok || number < minimum || number > maximum) {
        char shown[80];
        describe(value, shown, sizeof shown);
        add_error(loader, child, "expected an integer between %lld and %lld, got %s", minimum,
                  maximum, shown);
        return -1;
    }
    *out = number;
    return 0;
}

static int get_bool(struct loader *loader, const json_t *object, const char *path,
                    const char *key, bool fallback, bool *out)
{
    *out = fallback;
    json_t *value = json_object_get(object, key);
    if (!value)
        return 0;
    if (!json_is_boolean(value)) {
        char child[512], shown[80];
        path_child(child, sizeof child, path, key);
        describe(value, shown, sizeof shown);
        add_error(loader, child, "expected true or false, got %s", shown);
        return -1;
    }
    *out = json_is_true(value);
    return 0;
}

/* A string (or, with allow_null, null → NULL). Returns a copy or fallback copy. */
static char *get_string(struct loader *loader, const json_t *object, const char *path,
                        const char *key, const char *fallback, bool allow_null)
{
    json_t *value = json_object_get(object, key);
    if (!value || (allow_null && json_is_null(value)))
        return fallback ? xstrdup(fallback) : NULL;
    if (!json_is_string(value)) {
        char child[512], shown[80];
        path_child(child, sizeof child, path, key);
        describe(value, shown, sizeof shown);
        add_error(loader, child, "expected a string, got %s", shown);
        return fallback ? xstrdup(fallback) : NULL;
    }
    return xstrdup(json_string_value(value));
}

static const json_t *get_object(struct loader *loader, const json_t *object, const char *path,
                                const char *key)
{
    json_t *value = json_object_get(object, key);
    if (!value || json_is_null(value))
        return NULL;
    if (!json_is_object(value)) {
        char child[512];
        path_child(child, sizeof child, path, key);
        add_error(loader, child, "expected an object, got %s", json_kind(value));
        return NULL;
    }
    return value;
}

/* ---- policies ----------------------------------------------------------------------------- */

static void policy_copy(struct cfg_policy *to, const struct cfg_policy *from)
{
    to->kind = from->kind;
    to->grant_count = from->grant_count;
    to->grants = NULL;
    if (from->grant_count) {
        to->grants = calloc(from->grant_count, sizeof *to->grants);
        if (!to->grants)
            abort();
        for (size_t i = 0; i < from->grant_count; i++)
            to->grants[i] = xstrdup(from->grants[i]);
    }
}

static void policy_free(struct cfg_policy *policy)
{
    for (size_t i = 0; i < policy->grant_count; i++)
        free(policy->grants[i]);
    free(policy->grants);
    policy->grants = NULL;
    policy->grant_count = 0;
}

/* Returns 1 when the key is present (and parsed or reported), 0 when absent. */
static int get_policy(struct loader *loader, const json_t *object, const char *path,
                      const char *key, struct cfg_policy *out)
{
    json_t *value = json_object_get(object, key);
    if (!value)
        return 0;
    char child[512];
    path_child(child, sizeof child, path, key);
    if (json_is_string(value)) {
        const char *text = json_string_value(value);
        if (strcmp(text, "public") == 0) {
            out->kind = CFG_POLICY_PUBLIC;
            return 1;
        }
        if (strcmp(text, "authenticated") == 0) {
            out->kind = CFG_POLICY_AUTHENTICATED;
            return 1;
        }
    } else if (json_is_array(value) && json_array_size(value) > 0) {
        out->kind = CFG_POLICY_GRANTS;
        out->grants = calloc(json_array_size(value), sizeof *out->grants);
        if (!out->grants)
            abort();
        for (size_t i = 0; i < json_array_size(value); i++) {
            const char *grant = json_string_value(json_array_get(value, i));
            if (!grant || !((strncmp(grant, "scope:", 6) == 0 && grant[6]) ||
                            (strncmp(grant, "role:", 5) == 0 && grant[5]))) {
                char item[540];
                path_index(item, sizeof item, child, i);
                add_error(loader, item, "expected a grant \"scope:NAME\" or \"role:NAME\"");
                continue;
            }
            out->grants[out->grant_count++] = xstrdup(grant);
        }
        return 1;
    }
    add_error(loader, child,
              "expected \"public\", \"authenticated\" or a list of \"scope:NAME\"/\"role:NAME\"");
    return 1;
}

/* ---- server, database, auth ------------------------------------------------------------- */

static void load_server(struct loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *server = get_object(loader, root, "", "server");
    static const char *const keys[] = {"host", "port", "threads", "max_body_bytes", "base_path",
                                       "cors", NULL};
    long long number;
    config->server.host = get_string(loader, server, "server", "host", "0.0.0.0", false);
    get_int(loader, server, "server", "port", 1, 65535, 8080, &number);
    config->server.port = (int)number;
    get_int(loader, server, "server", "threads", 0, 1024, 0, &number);
    config->server.threads = (int)number;
    get_int(loader, server, "server", "max_body_bytes", 1, 1LL << 34, 1048576, &number);
    config->server.max_body_bytes = (size_t)number;
    char *base = get_string(loader, server, "server", "base_path", "/", false);
    struct sb normalised = {0};
    if (base[0] != '/')
        sb_append_char(&normalised, '/');
    sb_append(&normalised, base);
    if (normalised.length == 0 || normalised.data[normalised.length - 1] != '/')
        sb_append_char(&normalised, '/');
    free(base);
    config->server.base_path = sb_take(&normalised);
    if (!server)
        return;
    check_keys(loader, server, "server", keys);
    const json_t *cors = get_object(loader, server, "server", "cors");
    if (cors) {
        static const char *const cors_keys[] = {"origins", NULL};
        check_keys(loader, cors, "server.cors", cors_keys);
        json_t *origins = json_object_get(cors, "origins");
        if (origins && !json_is_array(origins)) {
            add_error(loader, "server.cors.origins", "expected a list of origins");
        } else if (origins) {
            config->server.cors_origins = calloc(json_array_size(origins) + 1, sizeof(char *));
            if (!config->server.cors_origins)
                abort();
            for (size_t i = 0; i < json_array_size(origins); i++) {
                const char *origin = json_string_value(json_array_get(origins, i));
                if (!origin) {
                    char item[80];
                    path_index(item, sizeof item, "server.cors.origins", i);
                    add_error(loader, item, "expected a string");
                    continue;
                }
                config->server.cors_origins[config->server.cors_origin_count++] =
                    xstrdup(origin);
            }
        }
    }
}

static void load_database(struct loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *database = get_object(loader, root, "", "database");
    static const char *const keys[] = {"url", "pool_size", "acquire_timeout_ms",
                                       "statement_timeout_ms", NULL};
    if (database)
        check_keys(loader, database, "database", keys);
    long long number;
    config->database.url = get_string(loader, database, "database", "url", NULL, false);
    get_int(loader, database, "database", "pool_size", 1, 1000, 8, &number);
    config->database.pool_size = (int)number;
    get_int(loader, database, "database", "acquire_timeout_ms", 0, 3600000, 5000, &number);
    config->database.acquire_timeout_ms = (int)number;
    get_int(loader, database, "database", "statement_timeout_ms", 0, 86400000, 10000, &number);
    config->database.statement_timeout_ms = (int)number;
}

static void load_auth(struct loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *auth = get_object(loader, root, "", "auth");
    static const char *const keys[] = {"jwt", "login", "default", NULL};
    if (auth)
        check_keys(loader, auth, "auth", keys);
    const json_t *jwt = get_object(loader, auth, "auth", "jwt");
    const json_t *login = get_object(loader, auth, "auth", "login");
    const json_t *defaults = get_object(loader, auth, "auth", "default");
    long long number;

    static const char *const jwt_keys[] = {"secret", "algorithm", "public_key_file", "issuer",
                                           "audience", "leeway_s", NULL};
    if (jwt)
        check_keys(loader, jwt, "auth.jwt", jwt_keys);
    config->auth.secret = get_string(loader, jwt, "auth.jwt", "secret", NULL, true);
    char *key_file = get_string(loader, jwt, "auth.jwt", "public_key_file", NULL, true);
    config->auth.issuer = get_string(loader, jwt, "auth.jwt", "issuer", NULL, true);
    config->auth.audience = get_string(loader, jwt, "auth.jwt", "audience", NULL, true);
    get_int(loader, jwt, "auth.jwt", "leeway_s", 0, 3600, 30, &number);
    config->auth.leeway_s = (int)number;
    if (config->auth.secret && !*config->auth.secret) {
        free(config->auth.secret);
        config->auth.secret = NULL;
    }
    char *algorithm = get_string(loader, jwt, "auth.jwt", "algorithm",
                                 key_file && !config->auth.secret ? "RS256" : "HS256", false);
    static const char *const algorithms[] = {"HS256", "HS384", "HS512", "RS256", "ES256", NULL};
    static const enum cfg_jwt_algorithm algorithm_values[] = {
        CFG_JWT_HS256, CFG_JWT_HS384, CFG_JWT_HS512, CFG_JWT_RS256, CFG_JWT_ES256};
    enum cfg_jwt_algorithm chosen = CFG_JWT_NONE;
    for (int i = 0; algorithms[i]; i++)
        if (strcmp(algorithm, algorithms[i]) == 0)
            chosen = algorithm_values[i];
    if (chosen == CFG_JWT_NONE) {
        const char *near = suggest(algorithm, algorithms);
        if (near)
            add_error(loader, "auth.jwt.algorithm", "unknown algorithm \"%s\" (did you mean \"%s\"?)",
                      algorithm, near);
        else
            add_error(loader, "auth.jwt.algorithm",
                      "unknown algorithm \"%s\" (use HS256, HS384, HS512, RS256 or ES256)",
                      algorithm);
    }
    bool is_hs = chosen == CFG_JWT_HS256 || chosen == CFG_JWT_HS384 || chosen == CFG_JWT_HS512;
    if (is_hs && config->auth.secret) {
        size_t length = strlen(config->auth.secret);
        if (length < 32)
            add_error(loader, "auth.jwt.secret", "must be at least 32 bytes (got %zu)", length);
        config->auth.algorithm = chosen;
    } else if (!is_hs && chosen != CFG_JWT_NONE && key_file) {
        if (key_file[0] == '/')
            config->auth.public_key_file = xstrdup(key_file);
        else {
            struct sb full = {0};
            sb_appendf(&full, "%s/%s", config->directory, key_file);
            config->auth.public_key_file = sb_take(&full);
        }
        if (access(config->auth.public_key_file, R_OK) != 0)
            add_error(loader, "auth.jwt.public_key_file", "cannot read %s: %s",
                      config->auth.public_key_file, strerror(errno));
        config->auth.algorithm = chosen;
    } else if (!is_hs && chosen != CFG_JWT_NONE && jwt && json_object_get(jwt, "algorithm")) {
        add_error(loader, "auth.jwt.public_key_file", "%s needs a public_key_file (PEM)",
                  algorithm);
    }
    free(algorithm);
    free(key_file);

    static const char *const login_keys[] = {"enabled", "ttl_s", "rate_per_minute",
                                             "password_iterations", NULL};
    if (login)
        check_keys(loader, login, "auth.login", login_keys);
    get_bool(loader, login, "auth.login", "enabled", false, &config->auth.login_enabled);
    get_int(loader, login, "auth.login", "ttl_s", 1, 31536000, 3600, &number);
    config->auth.login_ttl_s = (int)number;
    get_int(loader, login, "auth.login", "rate_per_minute", 1, 1000000, 10, &number);
    config->auth.login_rate_per_minute = (int)number;
    get_int(loader, login, "auth.login", "password_iterations", 1000, 100000000, 600000, &number);
    config->auth.password_iterations = (int)number;
    if (config->auth.login_enabled && !(is_hs && config->auth.secret))
        add_error(loader, "auth.login.enabled",
                  "login needs an HS256/HS384/HS512 auth.jwt.secret to sign its tokens");

    struct cfg_policy fallback = {.kind = config->auth.algorithm == CFG_JWT_NONE
                                              ? CFG_POLICY_PUBLIC
                                              : CFG_POLICY_AUTHENTICATED};
    static const char *const default_keys[] = {"read", "write", "delete", NULL};
    if (defaults)
        check_keys(loader, defaults, "auth.default", default_keys);
    struct cfg_policy *targets[] = {&config->auth.default_read, &config->auth.default_write,
                                    &config->auth.default_delete};
    for (int i = 0; i < 3; i++)
        if (!get_policy(loader, defaults, "auth.default", default_keys[i], targets[i]))
            *targets[i] = fallback;
}

/* ---- tables and columns ------------------------------------------------------------------ */

static const char *const reserved_names[] = {"auth", "admin", "docs", "healthz", "readyz",
                                             "metrics", "openapi", NULL};

static bool is_integer_type(enum cfg_type type)
{
    return type == CFG_TYPE_INTEGER || type == CFG_TYPE_BIGINT || type == CFG_TYPE_SMALLINT ||
           type == CFG_TYPE_SERIAL || type == CFG_TYPE_BIGSERIAL;
}

/* Does a JSON value have the right JSON type for a column of this (value) type? */
static bool json_fits(enum cfg_type type, enum cfg_type element, const json_t *value)
{
    switch (type) {
    case CFG_TYPE_INTEGER:
    case CFG_TYPE_BIGINT:
    case CFG_TYPE_SMALLINT:
    case CFG_TYPE_SERIAL:
    case CFG_TYPE_BIGSERIAL:
        return json_is_integer(value);
    case CFG_TYPE_NUMERIC:
    case CFG_TYPE_REAL:
    case CFG_TYPE_DOUBLE:
        return json_is_number(value);
    case CFG_TYPE_BOOLEAN:
        return json_is_boolean(value);
    case CFG_TYPE_JSON:
    case CFG_TYPE_JSONB:
        return true;
    case CFG_TYPE_ARRAY:
        if (!json_is_array(value))
            return false;
        for (size_t i = 0; i < json_array_size(value); i++)
            if (!json_fits(element, element, json_array_get(value, i)))
                return false;
        return true;
    case CFG_TYPE_INTERVAL:
        return json_is_string(value) || json_is_number(value);
    default:
        return json_is_string(value);
    }
}

static void load_column(struct loader *loader, const char *path, const char *name,
                        const json_t *spec, struct cfg_column *column)
{
    column->name = xstrdup(name);
    if (!name_is_valid(name))
        add_error(loader, path, "invalid column name \"%s\" (use [a-z_][a-z0-9_]{0,62})", name);
    else if (strncmp(name, "restable_", 9) == 0)
        add_error(loader, path, "names starting with \"restable_\" are reserved");
    if (!json_is_object(spec)) {
        add_error(loader, path, "expected an object with a \"type\", got %s", json_kind(spec));
        return;
    }
    static const char *const keys[] = {"type", "null", "default", "unique", "index",
                                       "primary_key", "length", "precision", "scale", "of",
                                       "references", "on_delete", "on_update", "choices",
                                       "secret", "help_text", NULL};
    check_keys(loader, spec, path, keys);
    char child[600];
    json_t *type = json_object_get(spec, "type");
    path_child(child, sizeof child, path, "type");
    if (!type) {
        add_error(loader, path, "missing \"type\"");
        return;
    }
    if (!json_is_string(type)) {
        add_error(loader, child, "expected a type name, got %s", json_kind(type));
        return;
    }
    if (cfg_type_from_name(json_string_value(type), &column->type) < 0) {
        const char *near = suggest(json_string_value(type), type_names);
        if (near)
            add_error(loader, child, "unknown type \"%s\" (did you mean \"%s\"?)",
                      json_string_value(type), near);
        else
            add_error(loader, child, "unknown type \"%s\"", json_string_value(type));
        return;
    }
    enum cfg_type kind = column->type;
    column->value_type = kind;
    get_bool(loader, spec, path, "null", false, &column->is_nullable);
    get_bool(loader, spec, path, "unique", false, &column->is_unique);
    get_bool(loader, spec, path, "index", false, &column->has_index);
    get_bool(loader, spec, path, "primary_key", false, &column->is_primary_key);
    get_bool(loader, spec, path, "secret", false, &column->is_secret);
    column->help_text = get_string(loader, spec, path, "help_text", NULL, true);

    struct {
        const char *key;
        bool allowed;
    } specific[] = {
        {"length", kind == CFG_TYPE_VARCHAR || kind == CFG_TYPE_EMAIL || kind == CFG_TYPE_ARRAY},
        {"precision", kind == CFG_TYPE_NUMERIC},
        {"scale", kind == CFG_TYPE_NUMERIC},
        {"of", kind == CFG_TYPE_ARRAY},
        {"references", kind == CFG_TYPE_FOREIGN_KEY},
        {"on_delete", kind == CFG_TYPE_FOREIGN_KEY},
        {"on_update", kind == CFG_TYPE_FOREIGN_KEY},
    };
    for (size_t i = 0; i < sizeof specific / sizeof specific[0]; i++) {
        if (!specific[i].allowed && json_object_get(spec, specific[i].key)) {
            path_child(child, sizeof child, path, specific[i].key);
            add_error(loader, child, "does not apply to a %s column", type_names[kind]);
        }
    }

    long long number;
    if (kind == CFG_TYPE_ARRAY) {
        json_t *of = json_object_get(spec, "of");
        path_child(child, sizeof child, path, "of");
        enum cfg_type element;
        if (!of)
            add_error(loader, path, "an array column needs \"of\" (its element type)");
        else if (!json_is_string(of) || cfg_type_from_name(json_string_value(of), &element) < 0) {
            const char *near = json_is_string(of) ? suggest(json_string_value(of), type_names) : NULL;
            if (near)
                add_error(loader, child, "unknown type \"%s\" (did you mean \"%s\"?)",
                          json_string_value(of), near);
            else
                add_error(loader, child, "expected an element type name");
        } else if (element == CFG_TYPE_ARRAY || element == CFG_TYPE_FOREIGN_KEY ||
                   element == CFG_TYPE_SERIAL || element == CFG_TYPE_BIGSERIAL) {
            add_error(loader, child, "arrays of %s are not supported", type_names[element]);
        } else {
            column->value_type = element;
            if (json_object_get(spec, "length") && element != CFG_TYPE_VARCHAR &&
                element != CFG_TYPE_EMAIL) {
                path_child(child, sizeof child, path, "length");
                add_error(loader, child, "does not apply to an array of %s", type_names[element]);
            }
        }
    }
    enum cfg_type text_kind = kind == CFG_TYPE_ARRAY ? column->value_type : kind;
    if (text_kind == CFG_TYPE_VARCHAR || text_kind == CFG_TYPE_EMAIL) {
        get_int(loader, spec, path, "length", 1, 10485760,
                text_kind == CFG_TYPE_EMAIL ? 255 : 0, &number);
        column->length = (int)number;
    }
    if (kind == CFG_TYPE_NUMERIC) {
        get_int(loader, spec, path, "precision", 1, 1000, 0, &number);
        column->precision = (int)number;
        get_int(loader, spec, path, "scale", 0, 1000, 0, &number);
        column->scale = (int)number;
        if (column->scale > column->precision && column->precision > 0) {
            path_child(child, sizeof child, path, "scale");
            add_error(loader, child, "must not exceed precision (%d)", column->precision);
        } else if (column->scale > 0 && column->precision == 0) {
            path_child(child, sizeof child, path, "scale");
            add_error(loader, child, "needs a precision");
        }
    }
    if (kind == CFG_TYPE_FOREIGN_KEY) {
        column->references = get_string(loader, spec, path, "references", NULL, false);
        if (!column->references)
            add_error(loader, path, "a foreign_key column needs \"references\" (a table name)");
        static const char *const actions[] = {"no action", "restrict", "cascade", "set null",
                                              "set default", NULL};
        const char *action_keys[] = {"on_delete", "on_update"};
        enum cfg_fk_action *targets[] = {&column->on_delete, &column->on_update};
        for (int a = 0; a < 2; a++) {
            json_t *value = json_object_get(spec, action_keys[a]);
            if (!value)
                continue;
            path_child(child, sizeof child, path, action_keys[a]);
            bool found = false;
            for (int i = 0; actions[i] && json_is_string(value); i++) {
                if (strcasecmp(json_string_value(value), actions[i]) == 0) {
                    *targets[a] = (enum cfg_fk_action)i;
                    found = true;
                }
            }
            if (!found)
                add_error(loader, child, "expected one of \"cascade\", \"restrict\", \"set null\", "
                          "\"set default\", \"no action\"");
            else if (*targets[a] == CFG_FK_SET_NULL && !column->is_nullable)
                add_error(loader, child, "\"set null\" needs \"null\": true");
        }
    }
    if (column->is_primary_key) {
        bool allowed = is_integer_type(kind) || kind == CFG_TYPE_UUID ||
                       kind == CFG_TYPE_VARCHAR || kind == CFG_TYPE_TEXT;
        if (!allowed) {
            path_child(child, sizeof child, path, "primary_key");
            add_error(loader, child, "a %s column cannot be the primary key", type_names[kind]);
        }
        if (column->is_nullable) {
            path_child(child, sizeof child, path, "null");
            add_error(loader, child, "the primary key cannot be null");
        }
        column->is_nullable = false;
        column->is_unique = true;
    }

    json_t *choices = json_object_get(spec, "choices");
    if (choices) {
        path_child(child, sizeof child, path, "choices");
        if (!json_is_array(choices) || json_array_size(choices) == 0) {
            add_error(loader, child, "expected a non-empty list of allowed values");
        } else {
            bool ok = true;
            for (size_t i = 0; i < json_array_size(choices); i++)
                if (!json_fits(column->value_type, column->value_type, json_array_get(choices, i)))
                    ok = false;
            if (!ok)
                add_error(loader, child, "every choice must be a %s value",
                          type_names[column->value_type]);
            else
                column->choices = json_deep_copy(choices);
        }
    }

    json_t *fallback = json_object_get(spec, "default");
    if (fallback) {
        path_child(child, sizeof child, path, "default");
        const char *text = json_string_value(fallback);
        bool time_kind = kind == CFG_TYPE_TIMESTAMP || kind == CFG_TYPE_TIMESTAMPTZ ||
                         kind == CFG_TYPE_DATE || kind == CFG_TYPE_TIME;
        if (kind == CFG_TYPE_SERIAL || kind == CFG_TYPE_BIGSERIAL) {
            add_error(loader, child, "a %s column takes its values from a sequence",
                      type_names[kind]);
        } else if (text && strcmp(text, "now") == 0 && time_kind) {
            column->default_kind = CFG_DEFAULT_NOW;
        } else if (text && strcmp(text, "uuid4") == 0 && kind == CFG_TYPE_UUID) {
            column->default_kind = CFG_DEFAULT_UUID4;
        } else if (json_is_null(fallback)) {
            if (!column->is_nullable)
                add_error(loader, child, "null is not allowed: the column is not nullable");
            else {
                column->default_kind = CFG_DEFAULT_VALUE;
                column->default_value = json_null();
            }
        } else if (kind != CFG_TYPE_FOREIGN_KEY && !json_fits(kind, column->value_type, fallback)) {
            char shown[80];
            describe(fallback, shown, sizeof shown);
            add_error(loader, child, "%s does not fit a %s column%s", shown, type_names[kind],
                      time_kind ? " (use a value or \"now\")" :
                      kind == CFG_TYPE_UUID ? " (use a uuid or \"uuid4\")" : "");
        } else {
            column->default_kind = CFG_DEFAULT_VALUE;
            column->default_value = json_deep_copy(fallback);
        }
    }
}

static void load_table(struct loader *loader, const char *name, const json_t *spec,
                       struct cfg_table *table, const struct cfg_config *config)
{
    char path[300], child[400];
    path_child(path, sizeof path, "tables", name);
    table->name = xstrdup(name);
    table->page_size = 15;
    table->max_page_size = 1000;
    if (!name_is_valid(name))
        add_error(loader, path, "invalid table name \"%s\" (use [a-z_][a-z0-9_]{0,62})", name);
    else if (strncmp(name, "restable_", 9) == 0)
        add_error(loader, path, "names starting with \"restable_\" are reserved");
    for (int i = 0; reserved_names[i]; i++)
        if (strcmp(name, reserved_names[i]) == 0)
            add_error(loader, path, "\"%s\" is a reserved path and cannot be a table name", name);
    if (!json_is_object(spec)) {
        add_error(loader, path, "expected an object with \"columns\", got %s", json_kind(spec));
        return;
    }
    static const char *const keys[] = {"columns", "readable", "page_size", "max_page_size",
                                       "read_only", "allow_bulk_delete", "allow_bulk_update",
                                       "max_joins", "auth", "help_text", NULL};
    check_keys(loader, spec, path, keys);
    long long number;
    get_int(loader, spec, path, "page_size", 1, 100000, 15, &number);
    table->page_size = (int)number;
    get_int(loader, spec, path, "max_page_size", 1, 1000000, 1000, &number);
    table->max_page_size = (int)number;
    if (table->max_page_size < table->page_size) {
        path_child(child, sizeof child, path, "max_page_size");
        add_error(loader, child, "must be at least page_size (%d)", table->page_size);
    }
    get_int(loader, spec, path, "max_joins", 0, 4, 0, &number);
    table->max_joins = (int)number;
    get_bool(loader, spec, path, "read_only", false, &table->read_only);
    get_bool(loader, spec, path, "allow_bulk_delete", false, &table->allow_bulk_delete);
    get_bool(loader, spec, path, "allow_bulk_update", false, &table->allow_bulk_update);

    const json_t *auth = get_object(loader, spec, path, "auth");
    path_child(child, sizeof child, path, "auth");
    static const char *const auth_keys[] = {"read", "write", "delete", NULL};
    if (auth)
        check_keys(loader, auth, child, auth_keys);
    struct cfg_policy *targets[] = {&table->read, &table->write, &table->delete_};
    const struct cfg_policy *defaults[] = {&config->auth.default_read, &config->auth.default_write,
                                           &config->auth.default_delete};
    for (int i = 0; i < 3; i++)
        if (!get_policy(loader, auth, child, auth_keys[i], targets[i]))
            policy_copy(targets[i], defaults[i]);

    json_t *columns = json_object_get(spec, "columns");
    path_child(child, sizeof child, path, "columns");
    if (!columns) {
        add_error(loader, path, "missing \"columns\"");
        return;
    }
    if (!json_is_object(columns)) {
        add_error(loader, child, "expected an object of columns, got %s", json_kind(columns));
        return;
    }
    size_t declared = json_object_size(columns);
    table->columns = calloc(declared + 1, sizeof *table->columns);
    if (!table->columns)
        abort();
    /* The implicit primary key goes first; decide after reading whether it is needed. */
    size_t first = 1;
    const char *key;
    json_t *item;
    bool has_primary_key = false;
    json_object_foreach(columns, key, item) {
        if (json_is_true(json_object_get(item, "primary_key")))
            has_primary_key = true;
    }
    if (has_primary_key)
        first = 0;
    size_t index = first;
    json_object_foreach(columns, key, item) {
        char column_path[600];
        path_child(column_path, sizeof column_path, child, key);
        load_column(loader, column_path, key, item, &table->columns[index]);
        if (!has_primary_key && strcmp(key, "id") == 0)
            add_error(loader, column_path, "conflicts with the implicit \"id\" primary key "
                      "(mark a column \"primary_key\": true, or rename this one)");
        index++;
    }
    table->column_count = index;
    if (!has_primary_key) {
        struct cfg_column *id = &table->columns[0];
        id->name = xstrdup("id");
        id->type = id->value_type = CFG_TYPE_SERIAL;
        id->is_primary_key = id->is_unique = id->is_implicit = true;
        table->primary_key = 0;
    } else {
        size_t count = 0;
        for (size_t i = 0; i < table->column_count; i++) {
            if (table->columns[i].is_primary_key) {
                if (count++ == 0)
                    table->primary_key = i;
            }
        }
        if (count > 1)
            add_error(loader, child, "only one column may be the primary key (found %zu)", count);
    }
    char *readable = get_string(loader, spec, path, "readable", NULL, true);
    if (readable) {
        path_child(child, sizeof child, path, "readable");
        const struct cfg_column *column = cfg_column_find(table, readable);
        if (!column)
            add_error(loader, child, "no column \"%s\" in table %s", readable, name);
        else if (column->is_secret)
            add_error(loader, child, "\"%s\" is secret and cannot be readable", readable);
        else
            table->readable = column;
        free(readable);
    }
}

/* Resolves foreign keys once every table is loaded (the tables array never moves again). */
static void resolve_foreign_keys(struct loader *loader, struct cfg_config *config)
{
    for (size_t t = 0; t < config->table_count; t++) {
        struct cfg_table *table = &config->tables[t];
        for (size_t c = 0; c < table->column_count; c++) {
            struct cfg_column *column = &table->columns[c];
            if (column->type != CFG_TYPE_FOREIGN_KEY || !column->references)
                continue;
            const struct cfg_table *target = cfg_table_find(config, column->references);
            if (!target) {
                char path[600];
                snprintf(path, sizeof path, "tables.%s.columns.%s.references", table->name,
                         column->name);
                const char **names = calloc(config->table_count + 1, sizeof *names);
                if (!names)
                    abort();
                for (size_t i = 0; i < config->table_count; i++)
                    names[i] = config->tables[i].name;
                const char *near = suggest(column->references, names);
                if (near)
                    add_error(loader, path, "no table \"%s\" (did you mean \"%s\"?)",
                              column->references, near);
                else
                    add_error(loader, path, "no table \"%s\"", column->references);
                free(names);
                continue;
            }
            column->referenced_table = target;
            if (target->column_count == 0)
                continue;
            enum cfg_type pk_type = cfg_primary_key(target)->type;
            column->value_type = pk_type == CFG_TYPE_SERIAL      ? CFG_TYPE_INTEGER
                                 : pk_type == CFG_TYPE_BIGSERIAL ? CFG_TYPE_BIGINT
                                                                 : pk_type;
        }
    }
}

/* ---- entry points ------------------------------------------------------------------------ */

static void apply_environment(struct cfg_config *config, struct loader *loader)
{
    const char *url = getenv("RESTABLE_DATABASE_URL");
    if (!url || !*url)
        url = getenv("DATABASE_URL");
    if (url && *url) {
        free(config->database.url);
        config->database.url = xstrdup(url);
    }
    const char *host = getenv("RESTABLE_HOST");
    if (host && *host) {
        free(config->server.host);
        config->server.host = xstrdup(host);
    }
    const char *port = getenv("RESTABLE_PORT");
    if (port && *port) {
        char *end = NULL;
        long value = strtol(port, &end, 10);
        if (*end || value < 1 || value > 65535)
            add_error(loader, "", "RESTABLE_PORT: expected a port between 1 and 65535, got \"%s\"",
                      port);
        else
            config->server.port = (int)value;
    }
}

static char *directory_of(const char *path)
{
    char *copy = xstrdup(path);
    char *slash = strrchr(copy, '/');
    if (!slash) {
        free(copy);
        copy = xstrdup(".");
    } else if (slash == copy) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    char *resolved = realpath(copy, NULL);
    if (resolved) {
        free(copy);
        return resolved;
    }
    return copy;
}

struct cfg_config *cfg_load_string(const char *text, const char *path, struct cfg_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    struct loader loader = {path, errors};
    json_error_t parse_error;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &parse_error);
    if (!root) {
        add_error(&loader, "", "line %d, column %d: %s", parse_error.line, parse_error.column,
                  parse_error.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        add_error(&loader, "", "expected a JSON object at the top, got %s", json_kind(root));
        json_decref(root);
        return NULL;
    }
    substitute(&loader, root, "");

    struct cfg_config *config = calloc(1, sizeof *config);
    if (!config)
        abort();
    config->path = xstrdup(path);
    config->directory = directory_of(path);
    static const char *const keys[] = {"server", "database", "auth", "migrations_dir", "tables",
                                       NULL};
    check_keys(&loader, root, "", keys);
    load_server(&loader, root, config);
    load_database(&loader, root, config);
    const char *secret_override = getenv("RESTABLE_JWT_SECRET");
    if (secret_override && *secret_override) {
        json_t *auth = json_object_get(root, "auth");
        if (!auth) {
            auth = json_object();
            json_object_set_new(root, "auth", auth);
        }
        json_t *jwt = json_object_get(auth, "jwt");
        if (json_is_object(auth) && !jwt) {
            jwt = json_object();
            json_object_set_new(auth, "jwt", jwt);
        }
        if (json_is_object(jwt))
            json_object_set_new(jwt, "secret", json_string(secret_override));
    }
    load_auth(&loader, root, config);
    apply_environment(config, &loader);
    if (!config->database.url || !*config->database.url)
        add_error(&loader, "database.url",
                  "required (or set RESTABLE_DATABASE_URL / DATABASE_URL)");

    char *migrations = get_string(&loader, root, "", "migrations_dir", "migrations", false);
    if (migrations[0] == '/') {
        config->migrations_dir = migrations;
    } else {
        struct sb full = {0};
        sb_appendf(&full, "%s/%s", config->directory, migrations);
        config->migrations_dir = sb_take(&full);
        free(migrations);
    }

    json_t *tables = json_object_get(root, "tables");
    if (!tables) {
        add_error(&loader, "tables", "required: declare at least one table");
    } else if (!json_is_object(tables) || json_object_size(tables) == 0) {
        add_error(&loader, "tables", "expected an object declaring at least one table");
    } else {
        config->tables = calloc(json_object_size(tables), sizeof *config->tables);
        if (!config->tables)
            abort();
        const char *name;
        json_t *spec;
        json_object_foreach(tables, name, spec) {
            load_table(&loader, name, spec, &config->tables[config->table_count], config);
            config->table_count++;
        }
        resolve_foreign_keys(&loader, config);
    }
    json_decref(root);
    if (errors->count > 0) {
        cfg_free(config);
        return NULL;
    }
    return config;
}

struct cfg_config *cfg_load(const char *path, struct cfg_errors *errors)
{
    memset(errors, 0, sizeof *errors);
    FILE *file = fopen(path, "rb");
    if (!file) {
        struct loader loader = {path, errors};
        add_error(&loader, "", "cannot read: %s", strerror(errno));
        return NULL;
    }
    struct sb text = {0};
    char buffer[8192];
    size_t length;
    while ((length = fread(buffer, 1, sizeof buffer, file)) > 0)
        sb_append_n(&text, buffer, length);
    bool failed = ferror(file);
    fclose(file);
    if (failed) {
        struct loader loader = {path, errors};
        add_error(&loader, "", "cannot read: %s", strerror(errno));
        sb_free(&text);
        return NULL;
    }
    struct cfg_config *config = cfg_load_string(sb_text(&text), path, errors);
    sb_free(&text);
    return config;
}

static void column_free(struct cfg_column *column)
{
    free(column->name);
    free(column->references);
    free(column->help_text);
    json_decref(column->default_value);
    json_decref(column->choices);
}

void cfg_free(struct cfg_config *config)
{
    if (!config)
        return;
    for (size_t t = 0; t < config->table_count; t++) {
        struct cfg_table *table = &config->tables[t];
        for (size_t c = 0; c < table->column_count; c++)
            column_free(&table->columns[c]);
        free(table->columns);
        free(table->name);
        policy_free(&table->read);
        policy_free(&table->write);
        policy_free(&table->delete_);
    }
    free(config->tables);
    for (size_t i = 0; i < config->server.cors_origin_count; i++)
        free(config->server.cors_origins[i]);
    free(config->server.cors_origins);
    free(config->server.host);
    free(config->server.base_path);
    free(config->database.url);
    free(config->auth.secret);
    free(config->auth.public_key_file);
    free(config->auth.issuer);
    free(config->auth.audience);
    policy_free(&config->auth.default_read);
    policy_free(&config->auth.default_write);
    policy_free(&config->auth.default_delete);
    free(config->migrations_dir);
    free(config->path);
    free(config->directory);
    free(config);
}

const struct cfg_table *cfg_table_find(const struct cfg_config *config, const char *name)
{
    for (size_t i = 0; i < config->table_count; i++)
        if (strcmp(config->tables[i].name, name) == 0)
            return &config->tables[i];
    return NULL;
}

const struct cfg_column *cfg_column_find(const struct cfg_table *table, const char *name)
{
    for (size_t i = 0; i < table->column_count; i++)
        if (table->columns[i].name && strcmp(table->columns[i].name, name) == 0)
            return &table->columns[i];
    return NULL;
}

static const char *policy_text(const struct cfg_policy *policy, char *out, size_t size)
{
    if (policy->kind == CFG_POLICY_PUBLIC)
        return "public";
    if (policy->kind == CFG_POLICY_AUTHENTICATED)
        return "authenticated";
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < policy->grant_count && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "|" : "", policy->grants[i]);
    return out;
}

void cfg_print_summary(const struct cfg_config *config, FILE *out)
{
    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        size_t foreign_keys = 0;
        for (size_t c = 0; c < table->column_count; c++)
            foreign_keys += table->columns[c].type == CFG_TYPE_FOREIGN_KEY;
        const struct cfg_column *pk = cfg_primary_key(table);
        char read[256], write[256], remove[256];
        fprintf(out, "%s: %zu columns, primary key %s (%s), %zu foreign key%s, %s, "
                     "read %s / write %s / delete %s\n",
                table->name, table->column_count, pk->name, cfg_type_name(pk->type), foreign_keys,
                foreign_keys == 1 ? "" : "s", table->read_only ? "read-only" : "read-write",
                policy_text(&table->read, read, sizeof read),
                policy_text(&table->write, write, sizeof write),
                policy_text(&table->delete_, remove, sizeof remove));
    }
}
