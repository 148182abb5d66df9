/*
 * auth/policy.c — decides whether a principal satisfies a table policy: "public",
 * "authenticated", or any one of a list of "scope:NAME" / "role:NAME" grants.
 */
#include <string.h>

#include "auth/auth.h"

static bool contains(char *const *items, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(items[i], name) == 0)
            return true;
    return false;
}

bool auth_policy_allows(const struct cfg_policy *policy, const struct auth_principal *principal)
{
    switch (policy->kind) {
    case CFG_POLICY_PUBLIC:
        return true;
    case CFG_POLICY_AUTHENTICATED:
        return principal->is_authenticated;
    case CFG_POLICY_GRANTS:
        break;
    }
    if (!principal->is_authenticated)
        return false;
    for (size_t i = 0; i < policy->grant_count; i++) {
        const char *grant = policy->grants[i];
        if (strncmp(grant, "scope:", 6) == 0 &&
            contains(principal->scopes, principal->scope_count, grant + 6))
            return true;
        if (strncmp(grant, "role:", 5) == 0 &&
            contains(principal->roles, principal->role_count, grant + 5))
            return true;
    }
    return false;
}
