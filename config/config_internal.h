/*
 * config/config_internal.h — what the files of the config module share while loading: the
 * loader state (where errors go), JSON-path helpers, typed getters that report what they
 * expected, "did you mean", and the per-section loaders cfg_load_string calls in order.
 * Nothing here is visible outside config/.
 */
#ifndef RESTABLE_CONFIG_INTERNAL_H
#define RESTABLE_CONFIG_INTERNAL_H

#include "config/config.h"

/* Long enough for any path built from valid names; longer (invalid) names are cut, which
 * only shortens a message. */
#define CFG_PATH_MAX 512

struct cfg_loader {
    const char *file;          /* the path as given, first word of every message */
    struct rs_arena *arena;    /* the config's: whatever the config keeps comes from it */
    struct cfg_errors *errors; /* where messages go */
    /* Paths whose ${VAR} could not be substituted: any later complaint about the same path
     * is a consequence of that one, so it is dropped rather than shown twice. */
    char **failed_paths;
    size_t failed_count;
    const char *secret_variable; /* "RESTABLE_JWT_SECRET" when it supplied auth.jwt.secret */
    /* An auth.jwt problem was reported: checks that depend on the key being known stay quiet. */
    bool is_jwt_broken;
};

/* ---- errors and paths (config_errors.c) ---------------------------------------------------- */

void cfg_error(struct cfg_loader *loader, const char *path, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_mark_failed(struct cfg_loader *loader, const char *path);
void cfg_loader_release(struct cfg_loader *loader);
/* "a.b" from ("a", "b"); "b" from ("", "b"). Cut at CFG_PATH_MAX. */
void cfg_path_key(char out[CFG_PATH_MAX], const char *path, const char *key);
void cfg_path_index(char out[CFG_PATH_MAX], const char *path, size_t index);
/* How a found value reads in "got ...": scalars as compact JSON (cut at 60 characters),
 * containers as "an object" / "an array". */
void cfg_describe(const json_t *value, char *out, size_t size);
/* The same for a C string (an environment variable, a parsed part of a value). */
void cfg_describe_text(const char *text, char *out, size_t size);

/* ---- did you mean (config_suggest.c) --------------------------------------------------- */

/* The candidate a user most likely meant by word (case-insensitive, Damerau-Levenshtein
 * distance <= 2, <= 1 for short words, plus a few well-known aliases), or NULL.
 * candidates is NULL-terminated. */
const char *cfg_suggest(const char *word, const char *const *candidates);
/* Reports every key of object not in allowed (NULL-terminated), with a suggestion. */
void cfg_check_keys(struct cfg_loader *loader, const json_t *object, const char *path,
                    const char *const *allowed);
/* value, at path, is none of candidates (NULL-terminated): when one is near, reports "unknown
 * WHAT VALUE (did you mean "NEAR"?)" and returns true; otherwise returns false and the caller
 * says what it expected. Either way shown gets value as cfg_describe writes it. */
bool cfg_report_near_choice(struct cfg_loader *loader, const char *path, const json_t *value,
                            const char *what, const char *const *candidates, char *shown,
                            size_t size);
/* Reports an unknown type name at path, with a suggestion or the list of types. */
void cfg_report_unknown_type(struct cfg_loader *loader, const char *path, const char *name);

/* ---- typed getters (config_values.c) ---------------------------------------------------- */
/* object may be NULL (its section is absent): the fallback applies. A wrong value is
 * reported at path.key and the fallback is kept. */

int cfg_get_int(struct cfg_loader *loader, const json_t *object, const char *path, const char *key,
                long long minimum, long long maximum, long long fallback, long long *out);
int cfg_get_bool(struct cfg_loader *loader, const json_t *object, const char *path, const char *key,
                 bool fallback, bool *out);
enum {
    CFG_NULLABLE = 1, /* null means "not set" */
    CFG_EMPTY_OK = 2, /* "" is a value (otherwise refused) */
};
/* A copy of the string in loader->arena (it dies with the config); when absent (or null with
 * CFG_NULLABLE), or wrong, a copy of fallback, or NULL when fallback is NULL. */
char *cfg_get_string(struct cfg_loader *loader, const json_t *object, const char *path,
                     const char *key, const char *fallback, unsigned flags);
/* The object at key, or NULL when absent or (reported) not an object. */
const json_t *cfg_get_object(struct cfg_loader *loader, const json_t *object, const char *path,
                             const char *key);

/* ---- the column types (config_types.c) ------------------------------------------------- */

struct cfg_type_row;
/* Returns RS_VALUE_OK, RS_VALUE_MALFORMED (the caller reports "expected <row->expected>"), or
 * RS_VALUE_OUT_OF_RANGE with error->message saying why. */
typedef int (*cfg_literal_check)(const struct cfg_type_row *row, const struct cfg_column *column,
                                 const json_t *value, struct rs_error *error);

/* What the rules about types refer to: integer types may be serial-like keys, text types have
 * a length, time types take "now". */
enum cfg_type_family { CFG_FAMILY_OTHER, CFG_FAMILY_INTEGER, CFG_FAMILY_TEXT, CFG_FAMILY_TIME };

/* One row per enum cfg_type: all config/ knows of a type. orm/types.c holds the rest (DDL,
 * casts, request parsing, JSON Schema); config/ cannot see that table, so a new type is the
 * enum value, a row here and a row there. */
struct cfg_type_row {
    const char *name; /* its spelling in the config, "did you mean" and "known types" */
    enum cfg_type_family family;
    const char *default_keyword; /* a default that is not a literal ("now", "uuid4"), or NULL */
    const char *expected;        /* in "expected %s, got ..." */
    cfg_literal_check check;     /* defaults and choices; NULL: checked as the value_type */
    long long minimum, maximum;  /* check_integer */
    enum rs_decimal_kind decimal_kind; /* check_decimal */
    enum rs_timestamp_zone zone;       /* check_timestamp */
};
extern const struct cfg_type_row cfg_types[CFG_TYPE_COUNT];

bool cfg_is_integer_type(enum cfg_type type);
bool cfg_is_text_type(enum cfg_type type); /* varchar, text, email */
bool cfg_is_time_type(enum cfg_type type); /* the types "now" applies to */
bool cfg_name_is_valid(const char *name);  /* [a-z_][a-z0-9_]{0,62} (config_names.c) */
/* Checks one default (is_default) or choice against a column whose values are of type
 * value_type; reports at path and returns false when it does not fit. */
bool cfg_check_literal(struct cfg_loader *loader, const char *path, const struct cfg_column *column,
                       enum cfg_type value_type, const json_t *value, bool is_default);

/* ---- sections (config_env.c, config_server.c, config_auth.c, config_tables.c) ---------- */

/* Applies environment overrides to the parsed tree and substitutes ${VAR} everywhere else. */
void cfg_env_apply(struct cfg_loader *loader, json_t *root);
void cfg_load_server(struct cfg_loader *loader, const json_t *root, struct cfg_config *config);
void cfg_load_database(struct cfg_loader *loader, const json_t *root, struct cfg_config *config);
/* Resolves path (relative to config->directory) into a new absolute path in the config's
 * arena. */
char *cfg_resolve_path(struct cfg_config *config, const char *path);
/* The optional folder at object.key, resolved, copied into out (left as it is when absent; an
 * error when its path does not fit size). */
void cfg_get_folder(struct cfg_loader *loader, const json_t *object, const char *path,
                    const char *key, struct cfg_config *config, char *out, size_t size);
void cfg_load_auth(struct cfg_loader *loader, const json_t *root, struct cfg_config *config);
/* The "admin" section (config_admin.c). */
void cfg_load_admin(struct cfg_loader *loader, const json_t *root, struct cfg_config *config);
/* Parses a policy at object.key into *out; returns true when the key was present. */
bool cfg_load_policy(struct cfg_loader *loader, const struct cfg_config *config,
                     const json_t *object, const char *path, const char *key,
                     struct cfg_policy *out);
/* A copy of from in arena. */
void cfg_policy_copy(struct rs_arena *arena, struct cfg_policy *to, const struct cfg_policy *from);
void cfg_load_tables(struct cfg_loader *loader, const json_t *root, struct cfg_config *config);
void cfg_load_column(struct cfg_loader *loader, const char *path, const char *name,
                     const json_t *spec, struct cfg_column *column);
/* Checks a column's default and choices once its value type is final. */
void cfg_check_column_values(struct cfg_loader *loader, const char *path,
                             struct cfg_column *column);

#endif
