/*
 * config/config_auth.c — the "auth" section: which JWT keys verify tokens (one key, a static
 * list picked by kid, a JWKS URL or file; and so whether auth is on at all), where roles and
 * scopes sit in the claims (JSON Pointers), the login endpoint's settings, and access policies
 * ("public", "authenticated", or a list of scope:/role: grants), used by auth.default and every
 * table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* ---- policies ---------------------------------------------------------------------------- */

void cfg_policy_copy(struct rs_arena *arena, struct cfg_policy *to, const struct cfg_policy *from)
{
    *to = (struct cfg_policy){.kind = from->kind};
    if (from->grant_count == 0)
        return;
    to->grants = rs_arena_calloc(arena, from->grant_count, sizeof *to->grants);
    for (size_t i = 0; i < from->grant_count; i++)
        to->grants[i] = rs_arena_strdup(arena, from->grants[i]);
    to->grant_count = from->grant_count;
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
    out->grants = rs_arena_calloc(loader->arena, json_array_size(list), sizeof *out->grants);
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item)
    {
        const char *grant = json_string_value(item);
        if (grant && is_grant(grant)) {
            out->grants[out->grant_count++] = rs_arena_strdup(loader->arena, grant);
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
        if (!cfg_report_near_choice(loader, child, value, "policy", kinds, shown, sizeof shown))
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

/* Names in enum order from CFG_JWT_HS256 (index 0) on, NULL-terminated (for suggestions). */
static const char *const algorithm_names[] = {"HS256", "HS384", "HS512", "RS256", "ES256",
                                              "RS384", "RS512", "PS256", "PS384", "PS512",
                                              "ES384", "ES512", "EdDSA", NULL};
#define ALGORITHM_LIST                                                                             \
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, "                       \
    "ES384, ES512 or EdDSA"

const char *cfg_jwt_algorithm_name(enum cfg_jwt_algorithm algorithm)
{
    if (algorithm < CFG_JWT_HS256 || algorithm > CFG_JWT_EDDSA)
        return "";
    return algorithm_names[algorithm - CFG_JWT_HS256];
}

enum cfg_jwt_algorithm cfg_jwt_algorithm_from_name(const char *name)
{
    for (size_t i = 0; name && algorithm_names[i]; i++)
        if (strcmp(name, algorithm_names[i]) == 0)
            return (enum cfg_jwt_algorithm)(CFG_JWT_HS256 + i);
    return CFG_JWT_NONE;
}

bool cfg_jwt_algorithm_is_hmac(enum cfg_jwt_algorithm algorithm)
{
    return algorithm == CFG_JWT_HS256 || algorithm == CFG_JWT_HS384 || algorithm == CFG_JWT_HS512;
}

/* The algorithm named at path, reported with a suggestion when unknown (CFG_JWT_NONE). */
static enum cfg_jwt_algorithm parse_algorithm(struct cfg_loader *loader, const char *path,
                                              const char *name)
{
    enum cfg_jwt_algorithm chosen = cfg_jwt_algorithm_from_name(name);
    if (chosen != CFG_JWT_NONE)
        return chosen;
    const char *near = cfg_suggest(name, algorithm_names);
    if (near)
        jwt_error(loader, path, "unknown algorithm \"%s\" (did you mean \"%s\"?)", name, near);
    else
        jwt_error(loader, path, "unknown algorithm \"%s\" (use " ALGORITHM_LIST ")", name);
    return CFG_JWT_NONE;
}

/* A file we can open, reported at path: the auth module parses its content itself (naming
 * the file), this only catches the wrong path early. With is_pem, also the wrong file. */
static void check_file(struct cfg_loader *loader, const char *path, const char *file_name,
                       bool is_pem)
{
    FILE *file = fopen(file_name, "rb");
    if (!file) {
        jwt_error(loader, path, "cannot read %s: %s", file_name, strerror(errno));
        return;
    }
    char buffer[16385];
    size_t length = fread(buffer, 1, sizeof buffer - 1, file);
    int read_error = ferror(file) ? errno : 0;
    fclose(file);
    buffer[length] = '\0';
    if (read_error)
        jwt_error(loader, path, "cannot read %s: %s", file_name, strerror(read_error));
    else if (is_pem && !strstr(buffer, "-----BEGIN "))
        jwt_error(loader, path, "%s is not a PEM file (no \"-----BEGIN\" line)", file_name);
}

/* ---- the single key: secret or public_key_file, and algorithm ---------------------------- */

static void load_single_key(struct cfg_loader *loader, const json_t *jwt, struct cfg_config *config)
{
    /* An empty secret is refused below rather than taken for "no secret": a ${JWT_SECRET}
     * that came out empty must not quietly turn auth off. null is how to say "none". */
    char *secret =
        cfg_get_string(loader, jwt, "auth.jwt", "secret", NULL, CFG_NULLABLE | CFG_EMPTY_OK);
    char *key_file = cfg_get_string(loader, jwt, "auth.jwt", "public_key_file", NULL, CFG_NULLABLE);
    char *algorithm = cfg_get_string(loader, jwt, "auth.jwt", "algorithm", NULL, CFG_NULLABLE);
    bool was_broken = loader->is_jwt_broken;
    loader->is_jwt_broken = false;

    enum cfg_jwt_algorithm chosen = CFG_JWT_NONE;
    if (algorithm) {
        chosen = parse_algorithm(loader, "auth.jwt.algorithm", algorithm);
    } else if (secret && key_file) {
        jwt_error(loader, "auth.jwt",
                  "both secret and public_key_file are set: keep one, or "
                  "name the algorithm");
    } else if (secret) {
        chosen = CFG_JWT_HS256;
    } else if (key_file) {
        jwt_error(loader, "auth.jwt.algorithm",
                  "required with public_key_file: one of RS256, RS384, RS512, PS256, PS384, "
                  "PS512, ES256, ES384, ES512 or EdDSA");
    }
    const char *from = loader->secret_variable ? " (from RESTABLE_JWT_SECRET)" : "";
    bool is_hs = cfg_jwt_algorithm_is_hmac(chosen);
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
                      cfg_jwt_algorithm_name(chosen));
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
        check_file(loader, "auth.jwt.public_key_file", config->auth.public_key_file, true);
    }
    if (is_hs && !loader->is_jwt_broken)
        config->auth.secret = secret;
    if (!loader->is_jwt_broken)
        config->auth.algorithm = chosen;
    loader->is_jwt_broken = loader->is_jwt_broken || was_broken;
}

/* ---- auth.jwt.keys: static keys picked by kid --------------------------------------------- */

static void load_key_entry(struct cfg_loader *loader, const json_t *entry, const char *path,
                           struct cfg_config *config, struct cfg_jwt_key *key)
{
    static const char *const members[] = {"kid", "algorithm", "public_key_file", "secret", NULL};
    cfg_check_keys(loader, entry, path, members);
    key->kid = cfg_get_string(loader, entry, path, "kid", NULL, 0);
    char *algorithm = cfg_get_string(loader, entry, path, "algorithm", NULL, 0);
    char *key_file = cfg_get_string(loader, entry, path, "public_key_file", NULL, 0);
    key->secret = cfg_get_string(loader, entry, path, "secret", NULL, CFG_EMPTY_OK);
    char child[CFG_PATH_MAX];
    if (!key->kid) {
        cfg_path_key(child, path, "kid");
        jwt_error(loader, child, "required (the kid header of a token picks the key)");
    }
    cfg_path_key(child, path, "algorithm");
    if (!algorithm)
        jwt_error(loader, child, "required (" ALGORITHM_LIST ")");
    else
        key->algorithm = parse_algorithm(loader, child, algorithm);
    bool is_hs = cfg_jwt_algorithm_is_hmac(key->algorithm);
    if (key->secret && key_file) {
        jwt_error(loader, path, "both secret and public_key_file are set: keep one");
    } else if (is_hs) {
        cfg_path_key(child, path, key_file ? "public_key_file" : "secret");
        if (key_file)
            jwt_error(loader, child, "does not apply to %s (it needs a secret)", algorithm);
        else if (!key->secret)
            jwt_error(loader, child, "required for %s", algorithm);
        else if (strlen(key->secret) < 32)
            jwt_error(loader, child, "must be at least 32 bytes (got %zu)", strlen(key->secret));
    } else if (key->algorithm != CFG_JWT_NONE) {
        cfg_path_key(child, path, key->secret ? "secret" : "public_key_file");
        if (key->secret)
            jwt_error(loader, child, "does not apply to %s (it needs a public_key_file)",
                      algorithm);
        else if (!key_file)
            jwt_error(loader, child, "required for %s (a PEM public key)", algorithm);
        else {
            key->public_key_file = cfg_resolve_path(config, key_file);
            check_file(loader, child, key->public_key_file, true);
        }
    }
}

static void load_key_list(struct cfg_loader *loader, const json_t *jwt, struct cfg_config *config)
{
    const json_t *list = jwt ? json_object_get(jwt, "keys") : NULL;
    if (!list || json_is_null(list))
        return;
    char shown[80];
    if (!json_is_array(list) || json_array_size(list) == 0) {
        cfg_describe(list, shown, sizeof shown);
        jwt_error(loader, "auth.jwt.keys",
                  "expected a list of {\"kid\", \"algorithm\", \"public_key_file\" | "
                  "\"secret\"}, got %s",
                  shown);
        return;
    }
    config->auth.keys =
        rs_arena_calloc(loader->arena, json_array_size(list), sizeof *config->auth.keys);
    size_t index;
    json_t *entry;
    json_array_foreach(list, index, entry)
    {
        char path[CFG_PATH_MAX];
        cfg_path_index(path, "auth.jwt.keys", index);
        if (!json_is_object(entry)) {
            cfg_describe(entry, shown, sizeof shown);
            jwt_error(loader, path, "expected an object, got %s", shown);
            continue;
        }
        struct cfg_jwt_key *key = &config->auth.keys[config->auth.key_count++];
        load_key_entry(loader, entry, path, config, key);
        /* two keys under one kid: which one a token meant would be a guess */
        for (size_t other = 0; key->kid && other + 1 < config->auth.key_count; other++) {
            if (config->auth.keys[other].kid &&
                strcmp(config->auth.keys[other].kid, key->kid) == 0) {
                char child[CFG_PATH_MAX];
                cfg_path_key(child, path, "kid");
                jwt_error(loader, child, "duplicate kid \"%s\" (also auth.jwt.keys[%zu])", key->kid,
                          other);
                break;
            }
        }
    }
}

/* ---- jwks_url, jwks_file, jwks_ca_file ---------------------------------------------------- */

/* http is allowed only to this machine: a key set read in clear text over a network could be
 * swapped by anyone on the path. */
static bool is_loopback_host(const char *host, size_t length)
{
    if (length == 9 && strncasecmp(host, "localhost", 9) == 0)
        return true;
    if (length == 5 && strncmp(host, "[::1]", 5) == 0)
        return true;
    if (length < 4 || strncmp(host, "127.", 4) != 0)
        return false;
    for (size_t i = 4; i < length; i++)
        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
            return false;
    return true;
}

bool cfg_jwks_url_is_allowed(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/';
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    const char *host = url + 7;
    if (strpbrk(host, "@")) /* user@host could dress a remote host as a local one */
        return false;
    size_t length = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/?#");
    return is_loopback_host(host, length);
}

static void load_key_sources(struct cfg_loader *loader, const json_t *jwt,
                             struct cfg_config *config)
{
    char *url = cfg_get_string(loader, jwt, "auth.jwt", "jwks_url", NULL, CFG_NULLABLE);
    char *file = cfg_get_string(loader, jwt, "auth.jwt", "jwks_file", NULL, CFG_NULLABLE);
    char *ca_file = cfg_get_string(loader, jwt, "auth.jwt", "jwks_ca_file", NULL, CFG_NULLABLE);
    if (url && !cfg_jwks_url_is_allowed(url))
        jwt_error(loader, "auth.jwt.jwks_url",
                  "\"%s\" must be an https:// URL (http:// only to a loopback address)", url);
    else if (url)
        config->auth.jwks_url = url;
    if (ca_file && !url)
        jwt_error(loader, "auth.jwt.jwks_ca_file", "applies only with auth.jwt.jwks_url");
    else if (ca_file) {
        config->auth.jwks_ca_file = cfg_resolve_path(config, ca_file);
        check_file(loader, "auth.jwt.jwks_ca_file", config->auth.jwks_ca_file, true);
    }
    if (file) {
        config->auth.jwks_file = cfg_resolve_path(config, file);
        check_file(loader, "auth.jwt.jwks_file", config->auth.jwks_file, false);
    }
}

/* RFC 6901: "" or "/" followed by reference tokens in which "~" is always "~0" or "~1". We
 * insist on at least one token: the whole claims object is neither a role list nor a scope. */
static bool is_json_pointer(const char *pointer)
{
    if (pointer[0] != '/')
        return false;
    for (const char *p = pointer; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return false;
    return true;
}

static char *load_pointer(struct cfg_loader *loader, const json_t *jwt, const char *key,
                          const char *fallback)
{
    char *pointer = cfg_get_string(loader, jwt, "auth.jwt", key, fallback, 0);
    if (pointer && !is_json_pointer(pointer)) {
        char path[CFG_PATH_MAX];
        cfg_path_key(path, "auth.jwt", key);
        cfg_error(loader, path,
                  "\"%s\" is not a JSON Pointer (RFC 6901): it starts with \"/\", and \"~\" is "
                  "written \"~0\" and \"/\" inside a name \"~1\" (e.g. \"%s\")",
                  pointer, fallback);
        pointer = rs_arena_strdup(loader->arena, fallback);
    }
    return pointer;
}

static void load_jwt(struct cfg_loader *loader, const json_t *jwt, struct cfg_config *config)
{
    static const char *const keys[] = {
        "secret",   "algorithm", "public_key_file", "issuer", "audience",    "leeway_s",
        "jwks_url", "jwks_file", "jwks_ca_file",    "keys",   "roles_claim", "scope_claim",
        NULL};
    if (jwt)
        cfg_check_keys(loader, jwt, "auth.jwt", keys);
    size_t before = loader->errors->count;
    config->auth.issuer = cfg_get_string(loader, jwt, "auth.jwt", "issuer", NULL, CFG_NULLABLE);
    config->auth.audience = cfg_get_string(loader, jwt, "auth.jwt", "audience", NULL, CFG_NULLABLE);
    long long number;
    cfg_get_int(loader, jwt, "auth.jwt", "leeway_s", 0, 3600, 30, &number);
    config->auth.leeway_s = (int)number;
    config->auth.roles_claim = load_pointer(loader, jwt, "roles_claim", "/roles");
    config->auth.scope_claim = load_pointer(loader, jwt, "scope_claim", "/scope");
    loader->is_jwt_broken = loader->errors->count > before;

    load_single_key(loader, jwt, config);
    load_key_list(loader, jwt, config);
    load_key_sources(loader, jwt, config);
    bool has_key_set = config->auth.jwks_url || config->auth.jwks_file || config->auth.key_count;
    if (has_key_set && !loader->is_jwt_broken && config->auth.algorithm == CFG_JWT_NONE)
        config->auth.algorithm = CFG_JWT_KEY_SET;
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
