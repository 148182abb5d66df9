/*
 * config/config_suggest.c — "did you mean": near misses of keys, type names and table names
 * (Damerau-Levenshtein distance, case-insensitive, plus the spellings other tools use), and
 * the unknown-key check every section of the config runs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* Spellings users bring from PostgreSQL, Piccolo or other frameworks, lower case. They are
 * too far from ours for the distance to find them, yet unambiguous. */
static const struct {
    const char *alias;
    const char *meant;
} aliases[] = {
    {"nullable", "null"},
    {"max_length", "length"},
    {"maxlength", "length"},
    {"enum", "choices"},
    {"pk", "primary_key"},
    {"primary", "primary_key"},
    {"foreign_key", "references"},
    {"ref", "references"},
    {"description", "help_text"},
    {"hidden", "secret"},
    {"int", "integer"},
    {"int4", "integer"},
    {"int8", "bigint"},
    {"int2", "smallint"},
    {"string", "text"},
    {"str", "text"},
    {"bool", "boolean"},
    {"float", "double"},
    {"float8", "double"},
    {"float4", "real"},
    {"doubleprecision", "double"},
    {"double precision", "double"},
    {"decimal", "numeric"},
    {"datetime", "timestamptz"},
    {"character varying", "varchar"},
    {"char", "varchar"},
    {"timestamp with time zone", "timestamptz"},
    {"fk", "foreign_key"},
    {"list", "array"},
    {"blob", "bytea"},
    {"binary", "bytea"},
    {"bytes", "bytea"},
};

#define MAX_WORD 64

/* Optimal string alignment distance on lower-cased text; words past MAX_WORD never match. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_WORD || m > MAX_WORD)
        return (size_t)-1;
    size_t d[MAX_WORD + 1][MAX_WORD + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int x = tolower((unsigned char)a[i - 1]), y = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (x == y ? 0 : 1);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && x == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == y && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

static bool is_candidate(const char *name, const char *const *candidates)
{
    for (size_t i = 0; candidates[i]; i++)
        if (strcmp(candidates[i], name) == 0)
            return true;
    return false;
}

const char *cfg_suggest(const char *word, const char *const *candidates)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(word, aliases[i].alias) == 0 && is_candidate(aliases[i].meant, candidates))
            return aliases[i].meant;
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    size_t word_length = strlen(word);
    for (size_t i = 0; candidates[i]; i++) {
        size_t distance = edit_distance(word, candidates[i]);
        size_t shortest = strlen(candidates[i]) < word_length ? strlen(candidates[i]) : word_length;
        /* two edits turn any three-letter word into many others: be stricter there */
        size_t limit = shortest <= 3 ? 1 : 2;
        if (distance <= limit && distance < word_length && distance < best_distance) {
            best = candidates[i];
            best_distance = distance;
        }
    }
    return best;
}

void cfg_check_keys(struct cfg_loader *loader, const json_t *object, const char *path,
                    const char *const *allowed)
{
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)object, key, item)
    {
        if (is_candidate(key, allowed))
            continue;
        char child[CFG_PATH_MAX];
        cfg_path_key(child, path, key);
        const char *near = cfg_suggest(key, allowed);
        if (near)
            cfg_error(loader, child, "unknown key (did you mean \"%s\"?)", near);
        else
            cfg_error(loader, child, "unknown key");
    }
}

bool cfg_report_near_choice(struct cfg_loader *loader, const char *path, const json_t *value,
                            const char *what, const char *const *candidates, char *shown,
                            size_t size)
{
    const char *text = json_string_value(value);
    const char *near = text ? cfg_suggest(text, candidates) : NULL;
    cfg_describe(value, shown, size);
    if (near)
        cfg_error(loader, path, "unknown %s %s (did you mean \"%s\"?)", what, shown, near);
    return near != NULL;
}

void cfg_report_unknown_type(struct cfg_loader *loader, const char *path, const char *name)
{
    const char *names[CFG_TYPE_COUNT + 1];
    for (size_t i = 0; i < CFG_TYPE_COUNT; i++)
        names[i] = cfg_types[i].name;
    names[CFG_TYPE_COUNT] = NULL;
    const char *near = cfg_suggest(name, names);
    if (near) {
        cfg_error(loader, path, "unknown type \"%s\" (did you mean \"%s\"?)", name, near);
        return;
    }
    struct sb known = {0};
    for (size_t i = 0; names[i]; i++)
        sb_appendf(&known, "%s%s", i ? ", " : "", names[i]);
    cfg_error(loader, path, "unknown type \"%s\" (known types: %s)", name, sb_text(&known));
    sb_free(&known);
}
