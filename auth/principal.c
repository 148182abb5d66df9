/*
 * auth/principal.c — who is asking, as an owned value: releasing a principal and copying one
 * deeply. verify.c fills principals from claims; the cache (cache.c) keeps copies of them,
 * so both stand on this file rather than on each other.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

void auth_principal_clear(struct auth_principal *principal)
{
    if (!principal)
        return;
    free(principal->subject);
    for (size_t i = 0; i < principal->scope_count; i++)
        free(principal->scopes[i]);
    free(principal->scopes);
    for (size_t i = 0; i < principal->role_count; i++)
        free(principal->roles[i]);
    free(principal->roles);
    free(principal->claims_json);
    memset(principal, 0, sizeof *principal);
}

void auth_principal_copy(struct auth_principal *to, const struct auth_principal *from)
{
    memset(to, 0, sizeof *to);
    to->is_authenticated = from->is_authenticated;
    to->subject = xstrdup_or_null(from->subject);
    to->claims_json = xstrdup_or_null(from->claims_json);
    to->expires_at = from->expires_at;
    to->scopes = xcalloc(from->scope_count + 1, sizeof *to->scopes);
    to->roles = xcalloc(from->role_count + 1, sizeof *to->roles);
    for (size_t i = 0; i < from->scope_count; i++)
        to->scopes[to->scope_count++] = xstrdup_or_null(from->scopes[i]);
    for (size_t i = 0; i < from->role_count; i++)
        to->roles[to->role_count++] = xstrdup_or_null(from->roles[i]);
}
