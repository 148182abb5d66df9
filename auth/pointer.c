/*
 * auth/pointer.c — RFC 6901 JSON Pointers into a token's claims: where roles and scopes sit
 * for each identity provider ("/realm_access/roles" for Keycloak, "/https:~1~1example.com~1roles"
 * for Auth0's namespaced claims, "/cognito:groups"). Reading walks objects (and arrays by
 * decimal index); writing, for the tokens restable issues, creates the objects on the way.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

/* The next reference token of *pointer (after its "/"), unescaped: "~1" is "/", "~0" is "~".
 * Caller frees. Advances *pointer past it. */
static char *next_token(const char **pointer)
{
    const char *start = *pointer + 1;
    size_t length = strcspn(start, "/");
    char *token = xmalloc(length + 1);
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        if (start[i] == '~' && i + 1 < length && (start[i + 1] == '0' || start[i + 1] == '1')) {
            token[used++] = start[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            token[used++] = start[i];
        }
    }
    token[used] = '\0';
    *pointer = start + length;
    return token;
}

/* A decimal array index without sign or leading zeros, or -1. */
static long array_index(const char *token)
{
    if (!*token || (token[0] == '0' && token[1]) || strspn(token, "0123456789") != strlen(token) ||
        strlen(token) > 9)
        return -1;
    return strtol(token, NULL, 10);
}

json_t *auth_json_pointer_get(const json_t *document, const char *pointer)
{
    json_t *value = (json_t *)document;
    if (!pointer || pointer[0] != '/')
        return NULL;
    while (value && *pointer == '/') {
        char *token = next_token(&pointer);
        if (json_is_object(value)) {
            value = json_object_get(value, token);
        } else if (json_is_array(value)) {
            long index = array_index(token);
            value = index >= 0 ? json_array_get(value, (size_t)index) : NULL;
        } else {
            value = NULL;
        }
        free(token);
    }
    return value;
}

int auth_json_pointer_set(json_t *document, const char *pointer, json_t *value)
{
    json_t *at = document;
    if (!pointer || pointer[0] != '/' || !json_is_object(at)) {
        json_decref(value);
        return -1;
    }
    for (;;) {
        char *token = next_token(&pointer);
        if (*pointer != '/') {
            int status = json_object_set_new(at, token, value);
            free(token);
            return status == 0 ? 0 : -1;
        }
        json_t *next = json_object_get(at, token);
        if (!next) {
            next = json_object();
            if (json_object_set_new(at, token, next) != 0)
                next = NULL;
        }
        free(token);
        if (!json_is_object(next)) {
            json_decref(value);
            return -1;
        }
        at = next;
    }
}
