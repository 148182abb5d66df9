/*
 * auth/verify.c — verifies the bearer JWT of a request and turns its claims into a principal.
 * Nothing in the token is trusted before the signature is: the header is parsed here, not by
 * libjwt, and checked before any signature work — exactly three strict base64url parts, JSON
 * objects, an "alg" we take, no key-carrying members (jku, x5u, jwk, x5c), no "crit", "typ"
 * JWT (or at+jwt) or absent. Then the key: with one configured key, the "alg" must be its
 * algorithm and "kid" is refused as before; with a key set, "kid" picks a configured key
 * (an unknown one asks the refresher once, auth/jwks_refresh.c) whose algorithm must be the
 * token's ("none" and algorithm switching such as HS256-with-the-RSA-public-key stop here),
 * and a token without "kid" needs exactly one key that fits. Then the signature
 * (auth/signature.c), then exp (required), nbf, iat, iss and aud with the configured leeway.
 * Runs on the HTTP worker threads, concurrently; the shared mutable state is the cache
 * (auth/cache.c) and the published key set (auth/keyset.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth_internal.h"

/* Times outside ±2^62 s are clamped, so "exp + leeway" can never overflow a long. */
#define TIME_LIMIT ((long)1 << 62)

/* Every reason is a fixed phrase without quotes or backslashes: it goes verbatim into
 * WWW-Authenticate: Bearer error_description="...". */
static int fail(struct rs_error *error, const char *reason)
{
    rs_error_set(error, RS_UNAUTHORIZED, NULL, "%s", reason);
    return -1;
}

/* A NumericDate (RFC 7519 §2: integer or real seconds) as a clamped long. Reals round
 * towards the stricter side: exp down, nbf and iat up. */
static long numeric_date(const json_t *value, bool round_up)
{
    if (json_is_integer(value)) {
        json_int_t seconds = json_integer_value(value);
        return seconds > TIME_LIMIT    ? TIME_LIMIT
               : seconds < -TIME_LIMIT ? -TIME_LIMIT
                                       : (long)seconds;
    }
    double seconds = json_real_value(value);
    if (!(seconds < (double)TIME_LIMIT))
        return TIME_LIMIT;
    if (!(seconds > -(double)TIME_LIMIT))
        return -TIME_LIMIT;
    long whole = (long)seconds; /* truncates towards zero */
    if (round_up && (double)whole < seconds)
        whole++;
    else if (!round_up && (double)whole > seconds)
        whole--;
    return whole;
}

static int check_times(const struct auth_verifier *verifier, const json_t *claims, long now,
                       long *expires_at, long *not_before, struct rs_error *error)
{
    const json_t *exp = json_object_get(claims, "exp");
    if (!exp)
        return fail(error, "missing exp claim");
    if (!json_is_number(exp))
        return fail(error, "exp claim is not a number");
    *expires_at = numeric_date(exp, false);
    if (now > *expires_at + verifier->leeway)
        return fail(error, "token expired");
    const json_t *nbf = json_object_get(claims, "nbf");
    *not_before = -TIME_LIMIT;
    if (nbf) {
        if (!json_is_number(nbf))
            return fail(error, "nbf claim is not a number");
        *not_before = numeric_date(nbf, true);
        if (now + verifier->leeway < *not_before)
            return fail(error, "token not yet valid");
    }
    /* A token issued in the future means the issuer's clock is off by more than the leeway,
     * or the token was minted to outlive something; either way refuse rather than guess. */
    const json_t *iat = json_object_get(claims, "iat");
    if (iat) {
        if (!json_is_number(iat))
            return fail(error, "iat claim is not a number");
        if (numeric_date(iat, true) > now + verifier->leeway)
            return fail(error, "token issued in the future");
    }
    return 0;
}

static int check_issuer_audience(const struct auth_verifier *verifier, const json_t *claims,
                                 struct rs_error *error)
{
    if (verifier->issuer) {
        const char *issuer = json_string_value(json_object_get(claims, "iss"));
        if (!issuer || strcmp(issuer, verifier->issuer) != 0)
            return fail(error, "issuer mismatch");
    }
    if (verifier->audience) {
        /* RFC 7519 §4.1.3: a single string, or an array of which one must be ours */
        const json_t *audience = json_object_get(claims, "aud");
        bool is_ours = json_is_string(audience) &&
                       strcmp(json_string_value(audience), verifier->audience) == 0;
        for (size_t i = 0; !is_ours && json_is_array(audience) && i < json_array_size(audience);
             i++) {
            const char *one = json_string_value(json_array_get(audience, i));
            is_ours = one && strcmp(one, verifier->audience) == 0;
        }
        if (!is_ours)
            return fail(error, "audience mismatch");
    }
    return 0;
}

static void list_append(char ***items, size_t *count, const char *text, size_t length)
{
    char **grown = xrealloc(*items, (*count + 2) * sizeof *grown);
    char *copy = xstrndup(text, length);
    grown[(*count)++] = copy;
    grown[*count] = NULL;
    *items = grown;
}

/* The strings of an array (other members and other types are ignored). */
static void append_strings(char ***items, size_t *count, const json_t *array)
{
    for (size_t i = 0; json_is_array(array) && i < json_array_size(array); i++) {
        const char *text = json_string_value(json_array_get(array, i));
        if (text)
            list_append(items, count, text, strlen(text));
    }
}

/* Fills an authenticated principal from claims that have passed every check. */
static void claims_to_principal(const struct auth_verifier *verifier, json_t *claims,
                                long expires_at, struct auth_principal *principal)
{
    memset(principal, 0, sizeof *principal);
    principal->is_authenticated = true;
    principal->expires_at = expires_at;
    json_t *subject = json_object_get(claims, "sub");
    if (json_is_string(subject))
        principal->subject = xstrdup_or_null(json_string_value(subject));
    else if (json_is_number(subject)) /* some issuers send numeric user ids */
        principal->subject = json_dumps(subject, JSON_ENCODE_ANY | JSON_COMPACT);

    principal->scopes = xcalloc(1, sizeof *principal->scopes);
    principal->roles = xcalloc(1, sizeof *principal->roles);
    /* OAuth 2 (RFC 6749 §3.3): space-delimited, case-sensitive scope tokens; some providers
     * (Okta's and Azure's "scp") send them as an array instead */
    const json_t *scopes = auth_json_pointer_get(claims, verifier->scope_pointer);
    const char *scope = json_string_value(scopes);
    while (scope && *scope) {
        size_t length = strcspn(scope, " ");
        if (length > 0)
            list_append(&principal->scopes, &principal->scope_count, scope, length);
        scope += length;
        scope += strspn(scope, " ");
    }
    append_strings(&principal->scopes, &principal->scope_count, scopes);
    const json_t *roles = auth_json_pointer_get(claims, verifier->roles_pointer);
    append_strings(&principal->roles, &principal->role_count, roles);
    if (json_is_string(roles))
        list_append(&principal->roles, &principal->role_count, json_string_value(roles),
                    strlen(json_string_value(roles)));
    const char *role = json_string_value(json_object_get(claims, "role"));
    if (role)
        list_append(&principal->roles, &principal->role_count, role, strlen(role));
    principal->claims_json = xcheck(json_dumps(claims, JSON_COMPACT));
}

/* Members that would let the token carry its own key or make us fetch one (jku/x5u point a
 * verifier at an attacker's key; jwk/x5c embed one): refused always. With a single key, kid
 * and the thumbprints are refused too, as before key sets: there is nothing to select. */
static const char *const key_carriers[] = {"jku", "x5u", "jwk", "x5c"};
static const char *const key_selectors[] = {"kid", "x5t", "x5t#S256"};
/* "JWT" (RFC 7519 §5.1) or "at+jwt" (RFC 9068 access tokens), bare or as the media type
 * "application/...", in any case. Anything else (a JWE, a logout token…) is not ours. */
static bool is_jwt_type(const char *type)
{
    if (!type)
        return false;
    if (strncasecmp(type, "application/", 12) == 0)
        type += 12;
    return strcasecmp(type, "JWT") == 0 || strcasecmp(type, "at+jwt") == 0;
}

static int refuse_member(const char *name, struct rs_error *error)
{
    char reason[64];
    snprintf(reason, sizeof reason, "%s header not allowed", name);
    return fail(error, reason);
}

static int check_header(const struct auth_verifier *verifier, const json_t *header,
                        enum cfg_jwt_algorithm *algorithm, struct rs_error *error)
{
    /* exact, case-sensitive names: "none", "None", "hs256" all stop here */
    *algorithm = cfg_jwt_algorithm_from_name(json_string_value(json_object_get(header, "alg")));
    if (*algorithm == CFG_JWT_NONE)
        return fail(error, "algorithm not allowed");
    for (size_t i = 0; i < sizeof key_carriers / sizeof *key_carriers; i++)
        if (json_object_get(header, key_carriers[i]))
            return refuse_member(key_carriers[i], error);
    for (size_t i = 0; !verifier->has_key_set && i < sizeof key_selectors / sizeof *key_selectors;
         i++)
        if (json_object_get(header, key_selectors[i]))
            return refuse_member(key_selectors[i], error);
    /* RFC 7515 §4.1.11: extensions listed in crit must be understood; we understand none */
    if (json_object_get(header, "crit"))
        return fail(error, "crit header not supported");
    const json_t *type = json_object_get(header, "typ");
    if (type && !is_jwt_type(json_string_value(type)))
        return fail(error, "unexpected typ header");
    return 0;
}

/* The key for (kid, algorithm) in set: by kid when there is one, else the only key that fits.
 * NULL with the reason. */
static const struct auth_key *find_key(const struct auth_key_set *set, const char *kid,
                                       enum cfg_jwt_algorithm algorithm, const char **reason)
{
    const struct auth_key *found = NULL;
    size_t fitting = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct auth_key *key = &set->keys[i];
        if (kid) {
            if (key->kid && strcmp(key->kid, kid) == 0) {
                *reason = auth_key_fits(key, algorithm) ? NULL : "algorithm not allowed";
                return *reason ? NULL : key;
            }
        } else if (auth_key_fits(key, algorithm)) {
            found = key;
            fitting++;
        }
    }
    *reason = kid ? "unknown kid" : fitting == 0 ? "algorithm not allowed" : "kid header required";
    return fitting == 1 ? (*reason = NULL, found) : NULL;
}

/* Checks the signature with the key the header names, asking the refresher once for a kid
 * the set does not hold. On success *generation is the set's. */
static int check_signature(struct auth_verifier *verifier, const json_t *header,
                           enum cfg_jwt_algorithm algorithm, const char *input, size_t input_length,
                           const unsigned char *signature, size_t signature_length,
                           unsigned long *generation, struct rs_error *error)
{
    const json_t *kid_value = json_object_get(header, "kid");
    if (kid_value && !json_is_string(kid_value))
        return fail(error, "malformed token");
    const char *kid = json_string_value(kid_value);
    const char *reason = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        const struct auth_key_set *set = auth_keyset_enter(&verifier->slot);
        const struct auth_key *key = find_key(set, kid, algorithm, &reason);
        bool is_valid = key && auth_signature_is_valid(key, algorithm, input, input_length,
                                                       signature, signature_length);
        *generation = set->generation;
        auth_keyset_leave(&verifier->slot);
        if (key)
            return is_valid ? 0 : fail(error, "signature mismatch");
        /* a new kid is how a rotation shows up first: one refresh, then look again */
        if (!kid || attempt > 0 || !auth_refresher_demand(verifier->refresher))
            break;
    }
    return fail(error, reason);
}

static json_t *decode_object(const char *text, size_t length)
{
    unsigned char *bytes = NULL;
    size_t size = 0;
    if (rs_base64_decode(text, length, RS_BASE64_URL, &bytes, &size) < 0)
        return NULL;
    /* duplicate members are refused: two "sub" or two "alg" could be read differently by
     * another parser down the line (PostgreSQL's json, for one) */
    json_t *value = json_loadb((const char *)bytes, size, JSON_REJECT_DUPLICATES, NULL);
    free(bytes);
    if (value && !json_is_object(value)) {
        json_decref(value);
        return NULL;
    }
    return value;
}

/* token is NUL-terminated and at most AUTH_MAX_TOKEN_BYTES long; not in the cache. */
static int verify_token(struct auth_verifier *verifier, const char *token, size_t length, long now,
                        struct auth_principal *principal, struct rs_error *error)
{
    const char *first_dot = memchr(token, '.', length);
    const char *second_dot =
        first_dot ? memchr(first_dot + 1, '.', length - (size_t)(first_dot + 1 - token)) : NULL;
    if (!first_dot || !second_dot ||
        memchr(second_dot + 1, '.', length - (size_t)(second_dot + 1 - token)))
        return fail(error, "malformed token");
    size_t header_length = (size_t)(first_dot - token);
    size_t payload_length = (size_t)(second_dot - first_dot - 1);
    size_t signature_length = length - (size_t)(second_dot + 1 - token);
    if (header_length == 0 || payload_length == 0)
        return fail(error, "malformed token");

    json_t *header = decode_object(token, header_length);
    json_t *claims = header ? decode_object(first_dot + 1, payload_length) : NULL;
    unsigned char *signature = NULL;
    size_t signature_size = 0;
    int status = -1;
    if (!header || !claims ||
        rs_base64_decode(second_dot + 1, signature_length, RS_BASE64_URL, &signature,
                         &signature_size) < 0) {
        fail(error, "malformed token");
        goto done;
    }
    enum cfg_jwt_algorithm algorithm = CFG_JWT_NONE;
    unsigned long generation = 0;
    if (check_header(verifier, header, &algorithm, error) < 0 ||
        check_signature(verifier, header, algorithm, token, header_length + 1 + payload_length,
                        signature, signature_size, &generation, error) < 0)
        goto done;
    long expires_at = 0, not_before = 0;
    if (check_times(verifier, claims, now, &expires_at, &not_before, error) < 0 ||
        check_issuer_audience(verifier, claims, error) < 0)
        goto done;
    claims_to_principal(verifier, claims, expires_at, principal);
    auth_cache_store(verifier->cache, token, length, principal, not_before,
                     json_string_value(json_object_get(header, "kid")), generation);
    status = 0;
done:
    free(signature);
    json_decref(header);
    json_decref(claims);
    return status;
}

/* Returns the token of "Bearer <token>" (scheme case-insensitive, one or more spaces, no
 * trailing text), or NULL. */
static const char *bearer_token(const char *authorization)
{
    if (strncasecmp(authorization, "Bearer", 6) != 0 || authorization[6] != ' ')
        return NULL;
    const char *token = authorization + 6;
    token += strspn(token, " ");
    if (!*token || strchr(token, ' '))
        return NULL;
    return token;
}

int auth_verify_bearer(struct auth_verifier *verifier, const char *authorization,
                       struct auth_principal *principal, struct rs_error *error)
{
    memset(principal, 0, sizeof *principal);
    if (!authorization)
        return 0;
    const char *token = bearer_token(authorization);
    if (!token)
        return fail(error, "expected a Bearer token");
    if (!verifier || !verifier->is_on || !verifier->cache)
        return fail(error, "tokens are not accepted: no key is configured");
    size_t length = strlen(token);
    if (length > AUTH_MAX_TOKEN_BYTES)
        return fail(error, "token too large");
    long now = verifier->clock(verifier->clock_context);
    int status = 0;
    if (auth_cache_lookup(verifier->cache, token, length, now, verifier->leeway,
                          atomic_load(&verifier->slot.generation), principal, error, &status))
        return status;
    return verify_token(verifier, token, length, now, principal, error);
}
