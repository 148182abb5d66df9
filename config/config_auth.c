/*
 * config/config_auth.c — the "auth" section: which JWT key verifies tokens (and so whether
 * auth is on at all), the login endpoint's settings, and access policies ("public",
 * "authenticated", or a list of scope:/role: grants), used by auth.default and every table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- policies ---------------------------------------------------------------------------- */

void cfg_policy_copy(struct cfg_policy *to, const struct cfg_policy *from)
{
    *to = (struct cfg_policy){.kind = from->kind};
    if (from->grant_count == 0)
        return;
    to->grants = xcalloc(from->grant_count, sizeof *to->grants);
    for (size_t i = 0; i < from->grant_count; i++)
        to->grants[i] = xstrdup(from->grants[i]);
    to->grant_count = from->grant_count;
}

void cfg_policy_free(struct cfg_policy *policy)
{
    for (size_t i = 0; i < policy->grant_count; i++)
        free(policy->grants[i]);
    free(policy->grants);
    policy->grants = NULL;
    policy->grant_count = 0;
}

/* "scope:NAME" or "role:NAME"; NAME without spaces, since the scope claim is space-separated
 * and such a grant could never be held. */
static bool is_grant(const char *text)
{
    const char *name = strncmp(text, "scope:", 6) == 0  ? text + 6
                       : strncmp(text, "role:", 5) == 0 ? text + 5
                                                        : NULL;
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            return false;
    return true;
}

static void load_grants(struct cfg_loader *loader, const json_t *list, const char *path,
                        struct cfg_policy *out)
{
    out->kind = CFG_POLICY_GRANTS;
    out->grants = xcalloc(json_array_size(list), sizeof *out->grants);
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item)
    {
        const char *grant = json_string_value(item);
        if (grant && is_grant(grant)) {
            out->grants[out->grant_count++] = xstrdup(grant);
            continue;
        }
        char child[CFG_PATH_MAX], shown[80];
        cfg_path_index(child, path, index);
        cfg_describe(item, shown, sizeof shown);
        cfg_error(loader, child, "expected \"scope:NAME\" or \"role:NAME\", got %s", shown);
    }
}

bool cfg_load_policy(struct cfg_loader *loader, const struct cfg_config *config,
                     const json_t *object, const char *path, const char *key,
                     struct cfg_policy *out)
{
    json_t *value = object ? json_object_get(object, key) : NULL;
    if (!value)
        return false;
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    const char *text = json_string_value(value);
    static const char *const kinds[] = {"public", "authenticated", NULL};
    if (text && strcmp(text, "public") == 0) {
        out->kind = CFG_POLICY_PUBLIC;
        return true; /* needs no key: nothing more to check */
    } else if (text && strcmp(text, "authenticated") == 0) {
        out->kind = CFG_POLICY_AUTHENTICATED;
    } else if (text && is_grant(text)) {
        cfg_error(loader, child, "grants go in a list: [\"%s\"]", text);
        return true;
    } else if (text) {
        const char *near = cfg_suggest(text, kinds);
        cfg_describe(value, shown, sizeof shown);
        if (near)
            cfg_error(loader, child, "unknown policy %s (did you mean \"%s\"?)", shown, near);
        else
            cfg_error(loader, child,
                      "unknown policy %s (use \"public\", \"authenticated\" or a "
                      "list of \"scope:NAME\" / \"role:NAME\" grants)",
                      shown);
        return true;
    } else if (json_is_array(value) && json_array_size(value) > 0) {
        load_grants(loader, value, child, out);
    } else if (json_is_array(value)) {
        cfg_error(loader, child, "expected at least one grant (\"scope:NAME\" or \"role:NAME\")");
        return true;
    } else {
        cfg_describe(value, shown, sizeof shown);
        cfg_error(loader, child,
                  "expected \"public\", \"authenticated\" or a list of "
                  "\"scope:NAME\" / \"role:NAME\" grants, got %s",
                  shown);
        return true;
    }
    /* Without a key every token is refused, so this policy could never be met: a table
     * locked for good is a mistake to point out, not a configuration to honour. */
    if (config->auth.algorithm == CFG_JWT_NONE && !loader->is_jwt_broken)
        cfg_error(loader, child,
                  "only \"public\" works without a JWT key (set auth.jwt.secret "
                  "or auth.jwt.public_key_file)");
    return true;
}

/* ---- jwt --------------------------------------------------------------------------------- */

static void jwt_error(struct cfg_loader *loader, const char *path, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void jwt_error(struct cfg_loader *loader, const char *path, const char *format, ...)
{
    struct sb text = {0};
    va_list args;
    va_start(args, format);
    sb_vappendf(&text, format, args);
    va_end(args);
    cfg_error(loader, path, "%s", sb_text(&text));
    sb_free(&text);
    loader->is_jwt_broken = true;
}

/* A PEM file we can open: the auth module parses the key itself, this only catches the
 * wrong path and the wrong file early, naming the file. */
static void check_key_file(struct cfg_loader *loader, const char *file_name)
{
    FILE *file = fopen(file_name, "rb");
    if (!file) {
        jwt_error(loader, "auth.jwt.public_key_file", "cannot read %s: %s", file_name,
                  strerror(errno));
        return;
    }
    char buffer[16385];
    size_t length = fread(buffer, 1, sizeof buffer - 1, file);
    int read_error = ferror(file) ? errno : 0;
    fclose(file);
    buffer[length] = '\0';
    if (read_error)
        jwt_error(loader, "auth.jwt.public_key_file", "cannot read %s: %s", file_name,
                  strerror(read_error));
    else if (!strstr(buffer, "-----BEGIN "))
        jwt_error(loader, "auth.jwt.public_key_file",
                  "%s is not a PEM file (no \"-----BEGIN\" "
                  "line)",
                  file_name);
}

static void load_jwt(struct cfg_loader *loader, const json_t *jwt, struct cfg_config *config)
{
    static const char *const keys[] = {
        "secret", "algorithm", "public_key_file", "issuer", "audience", "leeway_s", NULL};
    static const char *const algorithms[] = {"HS256", "HS384", "HS512", "RS256", "ES256", NULL};
    static const enum cfg_jwt_algorithm values[] = {CFG_JWT_HS256, CFG_JWT_HS384, CFG_JWT_HS512,
                                                    CFG_JWT_RS256, CFG_JWT_ES256};
    if (jwt)
        cfg_check_keys(loader, jwt, "auth.jwt", keys);
    size_t before = loader->errors->count;
    /* An empty secret is refused below rather than taken for "no secret": a ${JWT_SECRET}
     * that came out empty must not quietly turn auth off. null is how to say "none". */
    char *secret =
        cfg_get_string(loader, jwt, "auth.jwt", "secret", NULL, CFG_NULLABLE | CFG_EMPTY_OK);
    char *key_file = cfg_get_string(loader, jwt, "auth.jwt", "public_key_file", NULL, CFG_NULLABLE);
    char *algorithm = cfg_get_string(loader, jwt, "auth.jwt", "algorithm", NULL, CFG_NULLABLE);
    config->auth.issuer = cfg_get_string(loader, jwt, "auth.jwt", "issuer", NULL, CFG_NULLABLE);
    config->auth.audience = cfg_get_string(loader, jwt, "auth.jwt", "audience", NULL, CFG_NULLABLE);
    long long number;
    cfg_get_int(loader, jwt, "auth.jwt", "leeway_s", 0, 3600, 30, &number);
    config->auth.leeway_s = (int)number;
    loader->is_jwt_broken = loader->errors->count > before;

    enum cfg_jwt_algorithm chosen = CFG_JWT_NONE;
    if (algorithm) {
        for (size_t i = 0; algorithms[i]; i++)
            if (strcmp(algorithm, algorithms[i]) == 0)
                chosen = values[i];
        const char *near = chosen == CFG_JWT_NONE ? cfg_suggest(algorithm, algorithms) : NULL;
        if (near)
            jwt_error(loader, "auth.jwt.algorithm",
                      "unknown algorithm \"%s\" (did you mean "
                      "\"%s\"?)",
                      algorithm, near);
        else if (chosen == CFG_JWT_NONE)
            jwt_error(loader, "auth.jwt.algorithm",
                      "unknown algorithm \"%s\" (use HS256, "
                      "HS384, HS512, RS256 or ES256)",
                      algorithm);
    } else if (secret && key_file) {
        jwt_error(loader, "auth.jwt",
                  "both secret and public_key_file are set: keep one, or "
                  "name the algorithm");
    } else if (secret) {
        chosen = CFG_JWT_HS256;
    } else if (key_file) {
        jwt_error(loader, "auth.jwt.algorithm",
                  "required with public_key_file: \"RS256\" or "
                  "\"ES256\"");
    }
    const char *from = loader->secret_variable ? " (from RESTABLE_JWT_SECRET)" : "";
    bool is_hs = chosen == CFG_JWT_HS256 || chosen == CFG_JWT_HS384 || chosen == CFG_JWT_HS512;
    if (is_hs) {
        if (!secret)
            jwt_error(loader, "auth.jwt.secret", "required for %s", algorithm);
        else if (strlen(secret) < 32)
            jwt_error(loader, "auth.jwt.secret", "must be at least 32 bytes (got %zu)%s",
                      strlen(secret), from);
        if (key_file)
            jwt_error(loader, "auth.jwt.public_key_file",
                      "does not apply to %s (it signs with "
                      "auth.jwt.secret)",
                      algorithms[chosen - CFG_JWT_HS256]);
    } else if (chosen != CFG_JWT_NONE) {
        if (!key_file)
            jwt_error(loader, "auth.jwt.public_key_file", "required for %s (a PEM public key)",
                      algorithm);
        if (secret)
            jwt_error(loader, "auth.jwt.secret",
                      "does not apply to %s (it verifies with "
                      "auth.jwt.public_key_file)%s",
                      algorithm, from);
    }
    if (key_file && !loader->is_jwt_broken) {
        config->auth.public_key_file = cfg_resolve_path(config, key_file);
        check_key_file(loader, config->auth.public_key_file);
    }
    if (is_hs && !loader->is_jwt_broken)
        config->auth.secret = xstrdup(secret);
    if (!loader->is_jwt_broken)
        config->auth.algorithm = chosen;
    free(secret);
    free(key_file);
    free(algorithm);
}

/* ---- the section ------------------------------------------------------------------------- */

void cfg_load_auth(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *auth = cfg_get_object(loader, root, "", "auth");
    static const char *const keys[] = {"jwt", "login", "default", NULL};
    if (auth)
        cfg_check_keys(loader, auth, "auth", keys);
    load_jwt(loader, cfg_get_object(loader, auth, "auth", "jwt"), config);

    const json_t *login = cfg_get_object(loader, auth, "auth", "login");
    static const char *const login_keys[] = {"enabled", "ttl_s", "rate_per_minute",
                                             "password_iterations", NULL};
    if (login)
        cfg_check_keys(loader, login, "auth.login", login_keys);
    long long number;
    cfg_get_bool(loader, login, "auth.login", "enabled", false, &config->auth.login_enabled);
    cfg_get_int(loader, login, "auth.login", "ttl_s", 1, 31536000, 3600, &number);
    config->auth.login_ttl_s = (int)number;
    cfg_get_int(loader, login, "auth.login", "rate_per_minute", 1, 1000000, 10, &number);
    config->auth.login_rate_per_minute = (int)number;
    cfg_get_int(loader, login, "auth.login", "password_iterations", 1000, 100000000, 600000,
                &number);
    config->auth.password_iterations = (int)number;
    if (config->auth.login_enabled && !config->auth.secret && !loader->is_jwt_broken)
        cfg_error(loader, "auth.login.enabled",
                  "login signs its tokens with auth.jwt.secret: "
                  "configure an HS256, HS384 or HS512 secret");

    const json_t *defaults = cfg_get_object(loader, auth, "auth", "default");
    static const char *const actions[] = {"read", "write", "delete", NULL};
    if (defaults)
        cfg_check_keys(loader, defaults, "auth.default", actions);
    struct cfg_policy *targets[] = {&config->auth.default_read, &config->auth.default_write,
                                    &config->auth.default_delete};
    enum cfg_policy_kind fallback =
        config->auth.algorithm == CFG_JWT_NONE ? CFG_POLICY_PUBLIC : CFG_POLICY_AUTHENTICATED;
    for (size_t i = 0; i < 3; i++)
        if (!cfg_load_policy(loader, config, defaults, "auth.default", actions[i], targets[i]))
            targets[i]->kind = fallback;
}
