/*
 * config/config_values.c — typed reads of config keys (integer, boolean, string, object)
 * that fall back to the key's default when it is absent and, when it is wrong, say what was
 * expected and what was found.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

int cfg_get_int(struct cfg_loader *loader, const json_t *object, const char *path, const char *key,
                long long minimum, long long maximum, long long fallback, long long *out)
{
    *out = fallback;
    json_t *value = object ? json_object_get(object, key) : NULL;
    if (!value)
        return 0;
    long long number = 0;
    bool is_integer = false;
    if (json_is_integer(value)) {
        number = json_integer_value(value);
        is_integer = true;
    } else if (json_is_string(value)) {
        /* "8080" or "-3": what ${PORT} leaves behind. The grammar's integer (base/values.c):
         * no spaces, no "+", no exponent, nothing a reader would not call an integer. */
        is_integer =
            rs_parse_integer(json_string_value(value), minimum, maximum, &number) == RS_VALUE_OK;
    }
    if (is_integer && number >= minimum && number <= maximum) {
        *out = number;
        return 0;
    }
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    cfg_describe(value, shown, sizeof shown);
    if (maximum >= INT_MAX)
        cfg_error(loader, child, "expected an integer >= %lld, got %s", minimum, shown);
    else
        cfg_error(loader, child, "expected an integer between %lld and %lld, got %s", minimum,
                  maximum, shown);
    return -1;
}

int cfg_get_bool(struct cfg_loader *loader, const json_t *object, const char *path, const char *key,
                 bool fallback, bool *out)
{
    *out = fallback;
    json_t *value = object ? json_object_get(object, key) : NULL;
    if (!value)
        return 0;
    if (json_is_boolean(value)) {
        *out = json_is_true(value);
        return 0;
    }
    /* "${FLAG:-false}" substitutes to a string; take the two spellings JSON itself uses */
    const char *text = json_string_value(value);
    if (text && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)) {
        *out = strcmp(text, "true") == 0;
        return 0;
    }
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    cfg_describe(value, shown, sizeof shown);
    cfg_error(loader, child, "expected true or false, got %s", shown);
    return -1;
}

static char *copy_or_null(struct cfg_loader *loader, const char *text)
{
    return text ? rs_arena_strdup(loader->arena, text) : NULL;
}

char *cfg_get_string(struct cfg_loader *loader, const json_t *object, const char *path,
                     const char *key, const char *fallback, unsigned flags)
{
    json_t *value = object ? json_object_get(object, key) : NULL;
    if (!value || ((flags & CFG_NULLABLE) && json_is_null(value)))
        return copy_or_null(loader, fallback);
    const char *text = json_string_value(value);
    if (text && (*text || (flags & CFG_EMPTY_OK)))
        return copy_or_null(loader, text);
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    cfg_describe(value, shown, sizeof shown);
    cfg_error(loader, child, "expected a %sstring%s, got %s",
              flags & CFG_EMPTY_OK ? "" : "non-empty ", flags & CFG_NULLABLE ? " or null" : "",
              shown);
    return copy_or_null(loader, fallback);
}

const json_t *cfg_get_object(struct cfg_loader *loader, const json_t *object, const char *path,
                             const char *key)
{
    json_t *value = object ? json_object_get(object, key) : NULL;
    if (!value || json_is_object(value))
        return value;
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    cfg_describe(value, shown, sizeof shown);
    cfg_error(loader, child, "expected an object, got %s", shown);
    return NULL;
}
