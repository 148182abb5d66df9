/*
 * config/config.h — the public face of the config module: what the user declared in
 * restable.json, loaded once, validated once, immutable afterwards (workers share it
 * read-only). It includes base/base.h, so every module that includes it also has the bottom
 * layer: the allocation policy, the error value (rs_error), the string builder (sb), UTF-8 and
 * base64.
 *
 * Depends on nothing but base/ and jansson.
 */
#ifndef RESTABLE_CONFIG_H
#define RESTABLE_CONFIG_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/base.h"

/* ---- the declaration -------------------------------------------------------------------- */

enum cfg_type {
    CFG_TYPE_VARCHAR,
    CFG_TYPE_TEXT,
    CFG_TYPE_EMAIL,
    CFG_TYPE_INTEGER,
    CFG_TYPE_BIGINT,
    CFG_TYPE_SMALLINT,
    CFG_TYPE_SERIAL,
    CFG_TYPE_BIGSERIAL,
    CFG_TYPE_BOOLEAN,
    CFG_TYPE_NUMERIC,
    CFG_TYPE_REAL,
    CFG_TYPE_DOUBLE,
    CFG_TYPE_TIMESTAMP,
    CFG_TYPE_TIMESTAMPTZ,
    CFG_TYPE_DATE,
    CFG_TYPE_TIME,
    CFG_TYPE_INTERVAL,
    CFG_TYPE_UUID,
    CFG_TYPE_JSON,
    CFG_TYPE_JSONB,
    CFG_TYPE_BYTEA,
    CFG_TYPE_ARRAY,
    CFG_TYPE_FOREIGN_KEY,
    CFG_TYPE_COUNT
};

/* The config spelling of a type ("varchar", "foreign_key"...); NULL when out of range. */
const char *cfg_type_name(enum cfg_type type);
/* Looks a spelling up; returns 0 and sets *type, or -1 when unknown. */
int cfg_type_from_name(const char *name, enum cfg_type *type);

enum cfg_default_kind {
    CFG_DEFAULT_NONE,  /* no default declared */
    CFG_DEFAULT_VALUE, /* default_value holds a JSON value (may be JSON null) */
    CFG_DEFAULT_NOW,   /* "now": current timestamp / date / time */
    CFG_DEFAULT_UUID4, /* "uuid4": gen_random_uuid() */
};

enum cfg_fk_action {
    CFG_FK_NO_ACTION,
    CFG_FK_RESTRICT,
    CFG_FK_CASCADE,
    CFG_FK_SET_NULL,
    CFG_FK_SET_DEFAULT,
};

/* SQL spelling of an action ("NO ACTION", "SET NULL"...). */
const char *cfg_fk_action_sql(enum cfg_fk_action action);

struct cfg_table;

struct cfg_column {
    char *name;
    enum cfg_type type;
    /* For arrays: the element type (never ARRAY or FOREIGN_KEY). For foreign keys: the
     * referenced primary key's type, with serial/bigserial mapped to integer/bigint.
     * Otherwise equal to type. */
    enum cfg_type value_type;
    int length;           /* varchar/email (and array of varchar) max length; 0 = unbounded */
    int precision, scale; /* numeric; 0 = unspecified */
    bool is_nullable;
    bool is_unique;
    bool has_index;
    bool is_index_off; /* "index": false: a foreign key gets no automatic index */
    bool is_primary_key;
    bool is_secret;
    bool is_implicit; /* the implicit "id serial" primary key */
    enum cfg_default_kind default_kind;
    json_t *default_value;                    /* owned; set only for CFG_DEFAULT_VALUE */
    char *references;                         /* foreign key: referenced table name */
    const struct cfg_table *referenced_table; /* resolved after load */
    enum cfg_fk_action on_delete, on_update;
    json_t *choices;    /* owned JSON array of allowed values, or NULL */
    char *help_text;    /* or NULL */
    char *renamed_from; /* the column's previous name, for migrations; or NULL */
    bool is_searchable; /* "search": true (text/varchar): a GIN index, col__match=search */
};

enum cfg_policy_kind { CFG_POLICY_PUBLIC, CFG_POLICY_AUTHENTICATED, CFG_POLICY_GRANTS };

/* "public", "authenticated", or a list of grants ("scope:NAME" / "role:NAME"), one suffices. */
struct cfg_policy {
    enum cfg_policy_kind kind;
    char **grants;
    size_t grant_count;
};

struct cfg_table {
    char *name;
    struct cfg_column *columns; /* declaration order; the implicit id, when added, is first */
    size_t column_count;
    size_t primary_key;                /* index into columns */
    const struct cfg_column *readable; /* the "readable" column, or NULL */
    int page_size;                     /* default 15 */
    int max_page_size;                 /* default 1000 */
    int max_joins;                     /* default 0 */
    char *renamed_from;                /* the table's previous name, for migrations; or NULL */
    bool read_only;
    bool allow_bulk_delete;
    bool allow_bulk_update;
    bool require_if_match; /* PUT/PATCH/DELETE /T/{pk}/ without If-Match: 428 */
    /* __count=estimated counts exactly below this many planned rows; default 100000 */
    long long count_exact_below;
    /* the text search configuration (regconfig) of its searchable columns; default "simple" */
    char *search_language;
    struct cfg_policy read, write, delete_; /* resolved: the table's own, else auth.default */
};

enum cfg_jwt_algorithm {
    CFG_JWT_NONE, /* no key configured: tokens are not verified, auth is off */
    CFG_JWT_HS256,
    CFG_JWT_HS384,
    CFG_JWT_HS512,
    CFG_JWT_RS256,
    CFG_JWT_ES256,
    CFG_JWT_RS384,
    CFG_JWT_RS512,
    CFG_JWT_PS256,
    CFG_JWT_PS384,
    CFG_JWT_PS512,
    CFG_JWT_ES384,
    CFG_JWT_ES512,
    CFG_JWT_EDDSA,
    /* auth.algorithm when only a key set is configured (jwks_url, jwks_file, keys): each key
     * carries its own algorithm. Anything but CFG_JWT_NONE means auth is on. */
    CFG_JWT_KEY_SET,
};

/* One entry of auth.jwt.keys: a static key picked by the token's kid. */
struct cfg_jwt_key {
    char *kid;
    enum cfg_jwt_algorithm algorithm;
    char *secret;          /* HS*: the shared secret, or NULL */
    char *public_key_file; /* the others: absolute path of a PEM public key, or NULL */
};

enum cfg_log_level { CFG_LOG_ERROR, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG };

struct cfg_config {
    char *path;      /* the file it came from, as given */
    char *directory; /* the file's folder: relative paths resolve against it */

    struct {
        char *host;            /* default "0.0.0.0" */
        int port;              /* default 8080 */
        int threads;           /* 0 = one per usable CPU, chosen at start */
        size_t max_body_bytes; /* default 1048576 */
        char *base_path;       /* normalised to start and end with '/'; default "/" */
        char *cursor_secret;   /* signs keyset cursors (at least 32 bytes); or NULL */
        char **cors_origins;
        size_t cors_origin_count;
        bool metrics_public;  /* server.metrics.public; default false: auth.default.read */
        int log_level;        /* enum cfg_log_level; default CFG_LOG_INFO */
        int shutdown_grace_s; /* in-flight requests get this long after SIGTERM; default 15 */
        char docs_dir[1024];  /* Swagger UI assets for /docs (absolute); "" = look beside
                               * the binary (see docs/operations.md) */
        struct {
            int max_connections;        /* default 10000; more get 503 */
            int connection_timeout_s;   /* idle connections are closed; default 60 */
            int max_header_bytes;       /* default 16384; over it: 431 */
            int max_url_bytes;          /* default 8192; over it: 414 */
            int max_query_params;       /* default 256; over it: 400 */
            int header_timeout_s;       /* the whole request head must arrive in it; default 10 */
            int body_timeout_s;         /* the whole body must arrive in it once the head is in;
                                         * default 30 */
            int export_stall_timeout_s; /* /T/export/: a client that takes nothing for this
                                         * long while the buffer is full is cut; default 10 */
            int export_timeout_s;       /* /T/export/: the whole copy's statement timeout;
                                         * default 300 */
        } limits;
    } server;

    struct {
        bool enabled;   /* admin.enabled: GET /admin/ serves the admin UI; default true */
        char dir[1024]; /* its built files (absolute); "" = look beside the binary */
    } admin;

    struct {
        char *url;
        int pool_size;            /* default 0: 2 per usable CPU, chosen at start */
        int acquire_timeout_ms;   /* default 5000 */
        int statement_timeout_ms; /* default 10000; 0 = none */
        bool prepared_statements; /* default true; false: unnamed statements only (PgBouncer in
                                   * transaction mode) */
        /* streaming replicas that serve table reads (SPEC §7) */
        char **replicas;
        size_t replica_count;
        int replica_pool_size;  /* default 0: pool_size */
        int replica_max_lag_ms; /* default 5000: further behind, out of the rotation */
    } database;

    struct {
        enum cfg_jwt_algorithm algorithm; /* CFG_JWT_NONE when no key at all; CFG_JWT_KEY_SET */
        char *secret;                     /* HS*: the shared secret, or NULL */
        char *public_key_file;            /* RS256/ES256: absolute path, or NULL */
        char *issuer;                     /* or NULL: not checked */
        char *audience;                   /* or NULL: not checked */
        int leeway_s;                     /* default 30 */
        char *jwks_url;                   /* https (http only to loopback), or NULL */
        char *jwks_ca_file;       /* absolute path of a CA bundle for jwks_url, or NULL: system */
        char *jwks_file;          /* absolute path of a JWKS file (re-read on SIGHUP), or NULL */
        struct cfg_jwt_key *keys; /* auth.jwt.keys, in order */
        size_t key_count;
        char *roles_claim;         /* RFC 6901 JSON Pointer; default "/roles" */
        char *scope_claim;         /* RFC 6901 JSON Pointer; default "/scope" */
        bool login_enabled;        /* default false */
        int login_ttl_s;           /* default 3600 */
        int login_rate_per_minute; /* default 10 */
        int password_iterations;   /* default 600000 */
        struct cfg_policy default_read, default_write, default_delete;
    } auth;

    char *migrations_dir; /* absolute (resolved against directory); default "migrations" */

    struct cfg_table *tables; /* declaration order */
    size_t table_count;

    /* Owns everything above that the loader allocated (strings, tables, columns, policies,
     * keys, origins, kept JSON values): cfg_free frees it in one go. */
    struct rs_arena arena;
};

/* auth.jwt helpers (config/config_auth.c): "HS256" … "EdDSA" for an algorithm ("" for NONE and
 * KEY_SET), the algorithm of a name (CFG_JWT_NONE when unknown; exact, case-sensitive), whether
 * it is an HMAC one, and whether a jwks_url may be fetched (https, or http to loopback). */
const char *cfg_jwt_algorithm_name(enum cfg_jwt_algorithm algorithm);
enum cfg_jwt_algorithm cfg_jwt_algorithm_from_name(const char *name);
bool cfg_jwt_algorithm_is_hmac(enum cfg_jwt_algorithm algorithm);
bool cfg_jwks_url_is_allowed(const char *url);

/* Every problem found while loading, one line each, already formatted as
 * "FILE: JSON.PATH: reason". */
struct cfg_errors {
    char **messages;
    size_t count;
};

void cfg_errors_free(struct cfg_errors *errors);

/* Loads, substitutes ${VAR} / ${VAR:-default}, applies environment overrides, validates.
 * Returns a config the caller frees with cfg_free, or NULL with every problem in *errors
 * (which the caller frees with cfg_errors_free). */
struct cfg_config *cfg_load(const char *path, struct cfg_errors *errors);

/* Same, from text already in memory; path is only used in messages and to resolve
 * relative paths. */
struct cfg_config *cfg_load_string(const char *text, const char *path, struct cfg_errors *errors);

void cfg_free(struct cfg_config *config);

const struct cfg_table *cfg_table_find(const struct cfg_config *config, const char *name);
const struct cfg_column *cfg_column_find(const struct cfg_table *table, const char *name);
static inline const struct cfg_column *cfg_primary_key(const struct cfg_table *table)
{
    return &table->columns[table->primary_key];
}

/* Writes the `restable config check` summary: one line per table. */
void cfg_print_summary(const struct cfg_config *config, FILE *out);

#endif
