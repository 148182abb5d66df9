/*
 * tests/unit/test_config.c — the config module's one suite (config/): every broken config in
 * the table below must be refused with exactly the message a user would read ("FILE:
 * JSON.PATH: reason"), all problems at once; valid configs load with the defaults,
 * substitutions, overrides, inheritance and resolution SPEC §2 promises; defaults and choices
 * are checked with the value grammar request values use. Configs and messages are written
 * with ' for " to stay readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define DB "'database': {'url': 'postgresql://app@localhost/app'}"
/* one table t with the given columns object */
#define WITH_COLUMNS(columns) "{" DB ", 'tables': {'t': {'columns': " columns "}}}"
/* one table t with one column c */
#define WITH_COLUMN(spec) WITH_COLUMNS("{'c': " spec "}")
/* table t with extra table keys */
#define WITH_TABLE_KEYS(keys)                                                                      \
    "{" DB ", 'tables': {'t': {'columns': {'c': {'type': 'text'}}, " keys "}}}"
/* a table t with one integer column a, for configs that need a valid table beside others */
#define TABLE_T "'t': {'columns': {'a': {'type': 'integer'}}}"
/* another top-level section next to the database and a trivial table */
#define WITH_SECTION(section) "{" DB ", " section ", 'tables': {'t': {'columns': {}}}}"

/* ---- helpers ----------------------------------------------------------------------------- */

static char *quoted(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *p = copy; *p; p++)
        if (*p == '\'')
            *p = '"';
    return copy;
}

static struct cfg_config *load(const char *single_quoted, struct cfg_errors *errors)
{
    char *text = quoted(single_quoted);
    struct cfg_config *config = cfg_load_string(text, "restable.json", errors);
    free(text);
    return config;
}

/* A load that must have succeeded: prints its errors when it did not; frees them. */
static void expect_loaded(const struct cfg_config *config, struct cfg_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        print_message("unexpected: %s\n", errors->messages[i]);
    assert_int_equal(errors->count, 0);
    assert_non_null(config);
    cfg_errors_free(errors);
}

/* Loads a config that must be valid, printing its errors when it is not. */
static struct cfg_config *load_ok(const char *single_quoted)
{
    struct cfg_errors errors;
    struct cfg_config *config = load(single_quoted, &errors);
    expect_loaded(config, &errors);
    return config;
}

/* Writes text to a new file at path. */
static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
}

/* Writes a config, written with ' for ", to a new file at path. */
static void write_config(const char *path, const char *single_quoted)
{
    char *text = quoted(single_quoted);
    write_text(path, text);
    free(text);
}

/* What cfg_print_summary prints for config. Caller frees. */
static char *summary_of(const struct cfg_config *config)
{
    char *summary = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&summary, &length);
    assert_non_null(out);
    cfg_print_summary(config, out);
    assert_int_equal(fclose(out), 0);
    return summary;
}

/* The server section's defaults beside its origins (a config without a server section). */
static void expect_default_server(const struct cfg_config *config)
{
    assert_string_equal(config->server.host, "0.0.0.0");
    assert_int_equal(config->server.port, 8080);
    assert_int_equal(config->server.threads, 0);
    assert_int_equal(config->server.max_body_bytes, 1048576);
    assert_string_equal(config->server.base_path, "/");
}

/* A table's defaults: paging, joins, no read-only, no bulk writes, no readable column. */
static void expect_default_table(const struct cfg_table *table)
{
    assert_int_equal(table->page_size, 15);
    assert_int_equal(table->max_page_size, 1000);
    assert_int_equal(table->max_joins, 0);
    assert_false(table->read_only);
    assert_false(table->allow_bulk_delete);
    assert_false(table->allow_bulk_update);
    assert_null(table->readable);
}

/* The database pool's and auth's defaults (a config with only the database url). */
static void expect_default_database_and_auth(const struct cfg_config *config)
{
    assert_int_equal(config->database.pool_size, 0); /* chosen at start from the CPUs */
    assert_int_equal(config->database.acquire_timeout_ms, 5000);
    assert_int_equal(config->database.statement_timeout_ms, 10000);
    assert_int_equal(config->auth.algorithm, CFG_JWT_NONE);
    assert_null(config->auth.secret);
    assert_null(config->auth.public_key_file);
    assert_null(config->auth.issuer);
    assert_null(config->auth.audience);
    assert_int_equal(config->auth.leeway_s, 30);
    assert_false(config->auth.login_enabled);
    assert_int_equal(config->auth.login_ttl_s, 3600);
    assert_int_equal(config->auth.login_rate_per_minute, 10);
    assert_int_equal(config->auth.password_iterations, 600000);
}

/* Loads a config that must fail with exactly these messages (NULL-terminated), in order. */
static void expect_errors(const char *single_quoted, const char *const *expected)
{
    struct cfg_errors errors;
    struct cfg_config *config = load(single_quoted, &errors);
    size_t count = 0;
    while (expected[count])
        count++;
    bool is_same = errors.count == count;
    for (size_t i = 0; is_same && i < count; i++) {
        char *want = quoted(expected[i]);
        is_same = strcmp(want, errors.messages[i]) == 0;
        free(want);
    }
    if (!is_same) {
        for (size_t i = 0; i < count; i++)
            print_message("expected: %s\n", expected[i]);
        for (size_t i = 0; i < errors.count; i++)
            print_message("got:      %s\n", errors.messages[i]);
    }
    assert_null(config);
    assert_true(is_same);
    cfg_errors_free(&errors);
}

/* For the few messages that hold a ' of their own (which expect_errors would turn into "). */
static void expect_error_verbatim(const char *single_quoted, const char *expected)
{
    struct cfg_errors errors;
    struct cfg_config *config = load(single_quoted, &errors);
    for (size_t i = 0; i < errors.count; i++)
        print_message("got:      %s\n", errors.messages[i]);
    assert_null(config);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0], expected);
    cfg_errors_free(&errors);
}

static const struct cfg_column *column_of(const struct cfg_config *config, const char *table,
                                          const char *column)
{
    const struct cfg_table *found = cfg_table_find(config, table);
    assert_non_null(found);
    const struct cfg_column *result = cfg_column_find(found, column);
    assert_non_null(result);
    return result;
}

static int clear_environment(void **state)
{
    (void)state;
    const char *names[] = {"RESTABLE_DATABASE_URL",
                           "DATABASE_URL",
                           "RESTABLE_HOST",
                           "RESTABLE_PORT",
                           "RESTABLE_JWT_SECRET",
                           "JWT_SECRET",
                           "RESTABLE_TEST_VAR",
                           "RESTABLE_TEST_OTHER",
                           "RESTABLE_TEST_PORT",
                           "TCL_A",
                           "TCL_B",
                           "TCL_C",
                           "TCL_UNSET"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    return 0;
}

/* ---- broken configs: one case each, the exact messages -------------------------------- */

struct broken_case {
    const char *name;
    const char *config;
    const char *messages[6];
};

#define E(path_and_reason) "restable.json: " path_and_reason

static const struct broken_case broken_cases[] = {
    {"top_level_must_be_an_object",
     "[1, 2]",
     {E("expected a JSON object at the top level, got an array")}},
    {"unknown_top_level_key_suggests_and_tables_are_required",
     "{" DB ", 'tabels': {}}",
     {E("tabels: unknown key (did you mean 'tables'?)"), E("tables: declare at least one table")}},
    {"empty_tables_object_is_refused",
     "{" DB ", 'tables': {}}",
     {E("tables: declare at least one table")}},
    {"tables_must_be_an_object",
     "{" DB ", 'tables': ['movie']}",
     {E("tables: expected an object of tables, got an array")}},
    {"port_rejects_text",
     WITH_SECTION("'server': {'port': 'abc'}"),
     {E("server.port: expected an integer between 1 and 65535, got 'abc'")}},
    {"port_rejects_out_of_range",
     WITH_SECTION("'server': {'port': 70000}"),
     {E("server.port: expected an integer between 1 and 65535, got 70000")}},
    {"port_rejects_a_fraction",
     WITH_SECTION("'server': {'port': 80.5}"),
     {E("server.port: expected an integer between 1 and 65535, got 80.5")}},
    {"threads_reject_negative",
     WITH_SECTION("'server': {'threads': -1}"),
     {E("server.threads: expected an integer between 0 and 1024, got -1")}},
    {"max_body_bytes_rejects_zero",
     WITH_SECTION("'server': {'max_body_bytes': 0}"),
     {E("server.max_body_bytes: expected an integer between 1 and 1073741824, got 0")}},
    {"base_path_rejects_spaces",
     WITH_SECTION("'server': {'base_path': '/my api'}"),
     {E("server.base_path: expected a URL path like '/api/' (letters, digits, '-', '.', '_' and "
        "'~' between slashes), got '/my api'")}},
    {"base_path_rejects_dot_dot",
     WITH_SECTION("'server': {'base_path': '/a/../b'}"),
     {E("server.base_path: expected a URL path like '/api/' (letters, digits, '-', '.', '_' and "
        "'~' between slashes), got '/a/../b'")}},
    {"host_rejects_a_number",
     WITH_SECTION("'server': {'host': 8080}"),
     {E("server.host: expected a non-empty string, got 8080")}},
    {"server_must_be_an_object",
     WITH_SECTION("'server': 'fast'"),
     {E("server: expected an object, got 'fast'")}},
    {"unknown_server_key_suggests",
     WITH_SECTION("'server': {'prot': 80}"),
     {E("server.prot: unknown key (did you mean 'port'?)")}},
    {"cors_origin_rejects_a_path",
     WITH_SECTION("'server': {'cors': {'origins': ['*', 'https://a.example.com/', 5]}}"),
     {E("server.cors.origins[1]: expected '*' or an origin like 'https://app.example.com' "
        "(scheme and host, no path), got 'https://a.example.com/'"),
      E("server.cors.origins[2]: expected '*' or an origin like 'https://app.example.com' "
        "(scheme and host, no path), got 5")}},
    {"cors_origins_must_be_a_list",
     WITH_SECTION("'server': {'cors': {'origins': '*'}}"),
     {E("server.cors.origins: expected a list of origins, got '*'")}},
    {"database_url_is_required",
     "{'tables': {'t': {'columns': {}}}}",
     {E("database.url: required (or set RESTABLE_DATABASE_URL or DATABASE_URL)")}},
    {"database_url_rejects_empty",
     "{'database': {'url': ''}, 'tables': {'t': {'columns': {}}}}",
     {E("database.url: expected a non-empty string, got ''")}},
    {"pool_size_rejects_negative",
     "{'database': {'url': 'x', 'pool_size': -1}, 'tables': {'t': {'columns': {}}}}",
     {E("database.pool_size: expected an integer between 0 and 1000, got -1")}},
    {"timeouts_reject_negative",
     "{'database': {'url': 'x', 'acquire_timeout_ms': -1, 'statement_timeout_ms': '-5'},"
     " 'tables': {'t': {'columns': {}}}}",
     {E("database.acquire_timeout_ms: expected an integer >= 0, got -1"),
      E("database.statement_timeout_ms: expected an integer >= 0, got '-5'")}},
    {"short_secret_is_refused",
     WITH_SECTION("'auth': {'jwt': {'secret': 'short'}}"),
     {E("auth.jwt.secret: must be at least 32 bytes (got 5)")}},
    {"empty_secret_does_not_turn_auth_off",
     WITH_SECTION("'auth': {'jwt': {'secret': ''}}"),
     {E("auth.jwt.secret: must be at least 32 bytes (got 0)")}},
    {"unknown_algorithm_suggests",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'algorithm': 'HS257'}}"),
     {E("auth.jwt.algorithm: unknown algorithm 'HS257' (did you mean 'HS256'?)")}},
    {"unknown_algorithm_lists_the_known_ones",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'algorithm': 'none'}}"),
     {E("auth.jwt.algorithm: unknown algorithm 'none' (use HS256, HS384, HS512, RS256, RS384, "
        "RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA)")}},
    {"hs_algorithm_requires_a_secret",
     WITH_SECTION("'auth': {'jwt': {'algorithm': 'HS512'}}"),
     {E("auth.jwt.secret: required for HS512")}},
    {"rs256_requires_a_public_key_file",
     WITH_SECTION("'auth': {'jwt': {'algorithm': 'RS256'}}"),
     {E("auth.jwt.public_key_file: required for RS256 (a PEM public key)")}},
    {"rs256_refuses_a_secret",
     WITH_SECTION("'auth': {'jwt': {'algorithm': 'RS256', 'secret': '" SECRET "', "
                  "'public_key_file': 'k.pem'}}"),
     {E("auth.jwt.secret: does not apply to RS256 (it verifies with auth.jwt.public_key_file)")}},
    {"public_key_file_needs_an_algorithm",
     WITH_SECTION("'auth': {'jwt': {'public_key_file': 'k.pem'}}"),
     {E("auth.jwt.algorithm: required with public_key_file: one of RS256, RS384, RS512, PS256, "
        "PS384, PS512, ES256, ES384, ES512 or EdDSA")}},
    {"secret_and_key_file_without_algorithm_are_ambiguous",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'public_key_file': 'k.pem'}}"),
     {E("auth.jwt: both secret and public_key_file are set: keep one, or name the algorithm")}},
    {"jwks_url_must_be_https_or_loopback_http",
     WITH_SECTION("'auth': {'jwt': {'jwks_url': 'http://idp.example/keys'}}"),
     {E("auth.jwt.jwks_url: 'http://idp.example/keys' must be an https:// URL (http:// only to "
        "a loopback address)")}},
    {"jwks_ca_file_needs_a_jwks_url",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'jwks_ca_file': 'ca.pem'}}"),
     {E("auth.jwt.jwks_ca_file: applies only with auth.jwt.jwks_url")}},
    {"keys_need_kid_and_algorithm",
     WITH_SECTION("'auth': {'jwt': {'keys': [{'secret': '" SECRET "'}]}}"),
     {E("auth.jwt.keys[0].kid: required (the kid header of a token picks the key)"),
      E("auth.jwt.keys[0].algorithm: required (HS256, HS384, HS512, RS256, RS384, RS512, PS256, "
        "PS384, PS512, ES256, ES384, ES512 or EdDSA)")}},
    {"keys_refuse_duplicate_kids",
     WITH_SECTION("'auth': {'jwt': {'keys': [{'kid': 'a', 'algorithm': 'HS256', 'secret': '" SECRET
                  "'}, {'kid': 'a', 'algorithm': 'HS512', 'secret': '" SECRET "'}]}}"),
     {E("auth.jwt.keys[1].kid: duplicate kid 'a' (also auth.jwt.keys[0])")}},
    {"keys_refuse_a_short_secret_and_a_secret_for_rs256",
     WITH_SECTION("'auth': {'jwt': {'keys': [{'kid': 'a', 'algorithm': 'HS256', 'secret': 'x'}, "
                  "{'kid': 'b', 'algorithm': 'RS256', 'secret': '" SECRET "'}]}}"),
     {E("auth.jwt.keys[0].secret: must be at least 32 bytes (got 1)"),
      E("auth.jwt.keys[1].secret: does not apply to RS256 (it needs a public_key_file)")}},
    {"roles_claim_must_be_a_json_pointer",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'roles_claim': 'realm_access.roles'}}"),
     {E("auth.jwt.roles_claim: 'realm_access.roles' is not a JSON Pointer (RFC 6901): it starts "
        "with '/', and '~' is written '~0' and '/' inside a name '~1' (e.g. '/roles')")}},
    {"leeway_rejects_negative",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'leeway_s': -1}}"),
     {E("auth.jwt.leeway_s: expected an integer between 0 and 3600, got -1")}},
    {"audience_rejects_a_list",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'audience': ['a']}}"),
     {E("auth.jwt.audience: expected a non-empty string or null, got an array")}},
    {"login_needs_a_secret",
     WITH_SECTION("'auth': {'login': {'enabled': true}}"),
     {E("auth.login.enabled: login signs its tokens with auth.jwt.secret: configure an HS256, "
        "HS384 or HS512 secret")}},
    {"login_enabled_must_be_a_boolean",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'login': {'enabled': 'yes'}}"),
     {E("auth.login.enabled: expected true or false, got 'yes'")}},
    {"password_iterations_have_a_floor",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, "
                  "'login': {'password_iterations': 10}}"),
     {E("auth.login.password_iterations: expected an integer between 1000 and 100000000, got "
        "10")}},
    {"unknown_policy_suggests",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'read': 'publik'}}"),
     {E("auth.default.read: unknown policy 'publik' (did you mean 'public'?)")}},
    {"unknown_policy_explains",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'read': 'everyone'}}"),
     {E("auth.default.read: unknown policy 'everyone' (use 'public', 'authenticated' or a list "
        "of 'scope:NAME' / 'role:NAME' grants)")}},
    {"single_grant_must_be_in_a_list",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'write': 'role:x'}}"),
     {E("auth.default.write: grants go in a list: ['role:x']")}},
    {"grants_must_name_a_scope_or_role",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, "
                  "'default': {'write': ['role:admin', 'admin', 'scope:', 'scope:a b']}}"),
     {E("auth.default.write[1]: expected 'scope:NAME' or 'role:NAME', got 'admin'"),
      E("auth.default.write[2]: expected 'scope:NAME' or 'role:NAME', got 'scope:'"),
      E("auth.default.write[3]: expected 'scope:NAME' or 'role:NAME', got 'scope:a b'")}},
    {"empty_grant_list_is_refused",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'delete': []}}"),
     {E("auth.default.delete: expected at least one grant ('scope:NAME' or 'role:NAME')")}},
    {"policy_rejects_other_types",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'delete': true}}"),
     {E("auth.default.delete: expected 'public', 'authenticated' or a list of 'scope:NAME' / "
        "'role:NAME' grants, got true")}},
    {"non_public_policy_needs_a_key",
     "{" DB ", 'auth': {'default': {'write': 'authenticated'}}, 'tables': {'t': {'columns': {},"
     " 'auth': {'delete': ['role:admin']}}}}",
     {E("auth.default.write: only 'public' works without a JWT key (set auth.jwt.secret or "
        "auth.jwt.public_key_file)"),
      E("tables.t.auth.delete: only 'public' works without a JWT key (set auth.jwt.secret or "
        "auth.jwt.public_key_file)")}},
    {"table_name_must_be_lower_case",
     "{" DB ", 'tables': {'Movie': {'columns': {}}}}",
     {E("tables.Movie: invalid table name 'Movie' (use [a-z_][a-z0-9_]{0,62})")}},
    {"table_name_may_not_be_too_long",
     "{" DB ", 'tables': {'a234567890123456789012345678901234567890123456789012345678901234':"
     " {'columns': {}}}}",
     {E("tables.a234567890123456789012345678901234567890123456789012345678901234: invalid table "
        "name 'a234567890123456789012345678901234567890123456789012345678901234' (use "
        "[a-z_][a-z0-9_]{0,62})")}},
    {"table_name_may_not_be_a_reserved_path",
     "{" DB ", 'tables': {'admin': {'columns': {}}}}",
     {E("tables.admin: 'admin' is a reserved path (auth, admin, docs, healthz, readyz, metrics, "
        "openapi, batch) and cannot be a table name")}},
    {"batch_is_a_reserved_path",
     "{" DB ", 'tables': {'batch': {'columns': {}}}}",
     {E("tables.batch: 'batch' is a reserved path (auth, admin, docs, healthz, readyz, metrics, "
        "openapi, batch) and cannot be a table name")}},
    {"restable_prefix_is_ours",
     "{" DB ", 'tables': {'restable_user': {'columns': {}}}}",
     {E("tables.restable_user: names starting with 'restable_' are reserved for restable")}},
    {"unknown_table_key_suggests",
     WITH_TABLE_KEYS("'page_sise': 20"),
     {E("tables.t.page_sise: unknown key (did you mean 'page_size'?)")}},
    {"page_size_rejects_zero",
     WITH_TABLE_KEYS("'page_size': 0"),
     {E("tables.t.page_size: expected an integer between 1 and 1000000, got 0")}},
    {"max_page_size_must_cover_page_size",
     WITH_TABLE_KEYS("'page_size': 50, 'max_page_size': 20"),
     {E("tables.t.max_page_size: must be at least page_size (50), got 20")}},
    {"page_size_above_default_maximum_says_so",
     WITH_TABLE_KEYS("'page_size': 2000"),
     {E("tables.t.page_size: 2000 is above max_page_size (1000): raise max_page_size too")}},
    {"max_joins_is_capped",
     WITH_TABLE_KEYS("'max_joins': 5"),
     {E("tables.t.max_joins: expected an integer between 0 and 4, got 5")}},
    {"read_only_must_be_a_boolean",
     WITH_TABLE_KEYS("'read_only': 1"),
     {E("tables.t.read_only: expected true or false, got 1")}},
    {"table_must_be_an_object",
     "{" DB ", 'tables': {'t': []}}",
     {E("tables.t: expected an object with 'columns', got an array")}},
    {"columns_are_required",
     "{" DB ", 'tables': {'t': {'page_size': 10}}}",
     {E("tables.t.columns: required (an object of columns)")}},
    {"columns_must_be_an_object",
     "{" DB ", 'tables': {'t': {'columns': ['a']}}}",
     {E("tables.t.columns: expected an object of columns, got an array")}},
    {"column_must_be_an_object",
     WITH_COLUMN("'text'"),
     {E("tables.t.columns.c: expected an object with a 'type', got 'text'")}},
    {"column_type_is_required",
     WITH_COLUMN("{'null': true}"),
     {E("tables.t.columns.c.type: required")}},
    {"unknown_type_suggests",
     WITH_COLUMNS("{'rating': {'type': 'integr'}}"),
     {E("tables.t.columns.rating.type: unknown type 'integr' (did you mean 'integer'?)")}},
    {"type_spelled_like_postgresql_suggests_ours",
     WITH_COLUMN("{'type': 'int8'}"),
     {E("tables.t.columns.c.type: unknown type 'int8' (did you mean 'bigint'?)")}},
    {"unknown_type_lists_the_types",
     WITH_COLUMN("{'type': 'money'}"),
     {E("tables.t.columns.c.type: unknown type 'money' (known types: varchar, text, email, "
        "integer, bigint, smallint, serial, bigserial, boolean, numeric, real, double, "
        "timestamp, timestamptz, date, time, interval, uuid, json, jsonb, bytea, array, "
        "foreign_key)")}},
    {"type_must_be_a_string",
     WITH_COLUMN("{'type': 5}"),
     {E("tables.t.columns.c.type: expected a type name, got 5")}},
    {"unknown_column_key_suggests",
     WITH_COLUMN("{'type': 'text', 'nullable': true}"),
     {E("tables.t.columns.c.nullable: unknown key (did you mean 'null'?)")}},
    {"unknown_column_key_without_a_near_miss",
     WITH_COLUMN("{'type': 'text', 'colour': 'red'}"),
     {E("tables.t.columns.c.colour: unknown key")}},
    {"column_name_must_be_lower_case",
     WITH_COLUMNS("{'Title': {'type': 'text'}}"),
     {E("tables.t.columns.Title: invalid column name 'Title' (use [a-z_][a-z0-9_]{0,62})")}},
    {"column_name_may_not_hold_double_underscore",
     WITH_COLUMNS("{'a__b': {'type': 'text'}}"),
     {E("tables.t.columns.a__b: column names may not contain '__' (query parameters use it: "
        "rating__operator, __page)")}},
    {"length_does_not_apply_to_integer",
     WITH_COLUMN("{'type': 'integer', 'length': 10}"),
     {E("tables.t.columns.c.length: does not apply to integer columns (only varchar and email "
        "columns, and arrays of them)")}},
    {"foreign_key_keys_do_not_apply_to_text",
     WITH_COLUMN("{'type': 'text', 'references': 't', 'on_delete': 'cascade'}"),
     {E("tables.t.columns.c.references: does not apply to text columns (only foreign_key "
        "columns)"),
      E("tables.t.columns.c.on_delete: does not apply to text columns (only foreign_key "
        "columns)")}},
    {"varchar_length_has_bounds",
     WITH_COLUMN("{'type': 'varchar', 'length': 0}"),
     {E("tables.t.columns.c.length: expected an integer between 1 and 10485760, got 0")}},
    {"numeric_scale_may_not_exceed_precision",
     WITH_COLUMN("{'type': 'numeric', 'precision': 5, 'scale': 7}"),
     {E("tables.t.columns.c.scale: expected an integer between 0 and precision (5), got 7")}},
    {"numeric_scale_needs_a_precision",
     WITH_COLUMN("{'type': 'numeric', 'scale': 2}"),
     {E("tables.t.columns.c.scale: needs a precision")}},
    {"numeric_precision_has_bounds",
     WITH_COLUMN("{'type': 'numeric', 'precision': 1001}"),
     {E("tables.t.columns.c.precision: expected an integer between 1 and 1000, got 1001")}},
    {"array_needs_an_element_type",
     WITH_COLUMN("{'type': 'array'}"),
     {E("tables.t.columns.c.of: required for an array column (the element type, e.g. "
        "'varchar')")}},
    {"array_element_type_suggests",
     WITH_COLUMN("{'type': 'array', 'of': 'varchr'}"),
     {E("tables.t.columns.c.of: unknown type 'varchr' (did you mean 'varchar'?)")}},
    {"array_may_not_hold_foreign_keys",
     WITH_COLUMN("{'type': 'array', 'of': 'foreign_key'}"),
     {E("tables.t.columns.c.of: an array cannot hold foreign_key values (use any type but "
        "array, foreign_key, serial and bigserial)")}},
    {"array_of_integer_takes_no_length",
     WITH_COLUMN("{'type': 'array', 'of': 'integer', 'length': 3}"),
     {E("tables.t.columns.c.length: does not apply to arrays of integer (only varchar and email "
        "columns, and arrays of them)")}},
    {"foreign_key_needs_references",
     WITH_COLUMN("{'type': 'foreign_key'}"),
     {E("tables.t.columns.c.references: required for a foreign_key column (the referenced "
        "table)")}},
    {"foreign_key_to_unknown_table_suggests",
     "{" DB ", 'tables': {'director': {'columns': {}}, 'movie': {'columns': "
     "{'director': {'type': 'foreign_key', 'references': 'directr'}}}}}",
     {E("tables.movie.columns.director.references: no table 'directr' (did you mean "
        "'director'?)")}},
    {"foreign_key_action_suggests",
     WITH_COLUMN("{'type': 'foreign_key', 'references': 't', 'on_delete': 'cascde'}"),
     {E("tables.t.columns.c.on_delete: unknown action 'cascde' (did you mean 'cascade'?)")}},
    {"foreign_key_action_lists_the_actions",
     WITH_COLUMN("{'type': 'foreign_key', 'references': 't', 'on_update': 'drop'}"),
     {E("tables.t.columns.c.on_update: expected 'cascade', 'restrict', 'set null', 'set "
        "default' or 'no action', got 'drop'")}},
    {"set_null_needs_a_nullable_column",
     WITH_COLUMN("{'type': 'foreign_key', 'references': 't', 'on_delete': 'set null'}"),
     {E("tables.t.columns.c.on_delete: 'set null' needs 'null': true on the column")}},
    {"set_default_needs_a_default",
     WITH_COLUMN("{'type': 'foreign_key', 'references': 't', 'on_delete': 'set default'}"),
     {E("tables.t.columns.c.on_delete: 'set default' needs a 'default' on the column")}},
    {"foreign_key_default_takes_the_key_type",
     WITH_COLUMN("{'type': 'foreign_key', 'references': 't', 'default': 'one'}"),
     {E("tables.t.columns.c.default: expected an integer between -2147483648 and 2147483647, "
        "got 'one'")}},
    {"integer_default_must_be_an_integer",
     WITH_COLUMN("{'type': 'integer', 'default': 'x'}"),
     {E("tables.t.columns.c.default: expected an integer between -2147483648 and 2147483647, "
        "got 'x'")}},
    {"smallint_default_must_fit",
     WITH_COLUMN("{'type': 'smallint', 'default': 40000}"),
     {E("tables.t.columns.c.default: expected an integer between -32768 and 32767, got 40000")}},
    {"now_is_not_an_integer",
     WITH_COLUMN("{'type': 'integer', 'default': 'now'}"),
     {E("tables.t.columns.c.default: expected an integer between -2147483648 and 2147483647, "
        "got 'now'")}},
    {"null_default_needs_a_nullable_column",
     WITH_COLUMN("{'type': 'text', 'default': null}"),
     {E("tables.t.columns.c.default: null needs 'null': true on the column")}},
    {"boolean_default_must_be_a_boolean",
     WITH_COLUMN("{'type': 'boolean', 'default': 'no'}"),
     {E("tables.t.columns.c.default: expected true or false, got 'no'")}},
    {"uuid_default_must_look_like_a_uuid",
     WITH_COLUMN("{'type': 'uuid', 'default': 'abc'}"),
     {E("tables.t.columns.c.default: expected a uuid like '123e4567-e89b-12d3-a456-426614174000' "
        "or 'uuid4', got 'abc'")}},
    {"date_default_must_be_a_real_date",
     WITH_COLUMN("{'type': 'date', 'default': '2023-02-29'}"),
     {E("tables.t.columns.c.default: expected a date like '2024-01-31' or 'now', got "
        "'2023-02-29'")}},
    {"timestamp_default_takes_no_offset",
     WITH_COLUMN("{'type': 'timestamp', 'default': '2024-01-31T12:00:00+02:00'}"),
     {E("tables.t.columns.c.default: expected a timestamp like '2024-01-31T12:00:00' (no "
        "offset) or 'now', got '2024-01-31T12:00:00+02:00'")}},
    {"time_default_must_be_a_time",
     WITH_COLUMN("{'type': 'time', 'default': '25:00'}"),
     {E("tables.t.columns.c.default: expected a time like '12:30:00' or 'now', got '25:00'")}},
    {"varchar_default_must_fit_the_length",
     WITH_COLUMN("{'type': 'varchar', 'length': 3, 'default': 'abcd'}"),
     {E("tables.t.columns.c.default: 'abcd' is longer than length 3")}},
    {"email_default_must_be_an_email",
     WITH_COLUMN("{'type': 'email', 'default': 'nobody'}"),
     {E("tables.t.columns.c.default: expected an email address, got 'nobody'")}},
    {"bytea_default_must_be_base64",
     WITH_COLUMN("{'type': 'bytea', 'default': 'not base64!'}"),
     {E("tables.t.columns.c.default: expected a base64 string, got 'not base64!'")}},
    {"array_default_must_be_a_list_of_elements",
     WITH_COLUMNS("{'a': {'type': 'array', 'of': 'integer', 'default': 3}, "
                  "'b': {'type': 'array', 'of': 'integer', 'default': [1, 'two']}}"),
     {E("tables.t.columns.a.default: expected a list of integer values, got 3"),
      E("tables.t.columns.b.default[1]: expected an integer between -2147483648 and 2147483647, "
        "got 'two'")}},
    {"serial_takes_no_default",
     WITH_COLUMN("{'type': 'serial', 'default': 1}"),
     {E("tables.t.columns.c.default: serial columns take their values from a sequence (remove "
        "'default')")}},
    {"serial_cannot_be_null",
     WITH_COLUMN("{'type': 'bigserial', 'null': true}"),
     {E("tables.t.columns.c.null: bigserial columns cannot be null")}},
    {"choices_must_be_a_non_empty_list",
     WITH_COLUMN("{'type': 'text', 'choices': []}"),
     {E("tables.t.columns.c.choices: expected a non-empty list of allowed values, got an "
        "array")}},
    {"choices_must_fit_the_type",
     WITH_COLUMN("{'type': 'integer', 'choices': [1, '2', 3.5]}"),
     {E("tables.t.columns.c.choices[1]: expected an integer between -2147483648 and 2147483647, "
        "got '2'"),
      E("tables.t.columns.c.choices[2]: expected an integer between -2147483648 and 2147483647, "
        "got 3.5")}},
    {"choices_must_fit_the_length",
     WITH_COLUMN("{'type': 'varchar', 'length': 4, 'choices': ['ok', 'too long']}"),
     {E("tables.t.columns.c.choices[1]: 'too long' is longer than length 4")}},
    {"choices_do_not_apply_to_json",
     WITH_COLUMN("{'type': 'jsonb', 'choices': [1]}"),
     {E("tables.t.columns.c.choices: does not apply to jsonb columns")}},
    {"default_must_be_one_of_the_choices",
     WITH_COLUMN("{'type': 'text', 'choices': ['a', 'b'], 'default': 'c'}"),
     {E("tables.t.columns.c.default: 'c' is not one of the choices")}},
    {"json_cannot_be_unique",
     WITH_COLUMN("{'type': 'json', 'unique': true, 'index': true}"),
     {E("tables.t.columns.c.unique: json columns cannot be unique (use jsonb)"),
      E("tables.t.columns.c.index: json columns cannot be indexed (use jsonb)")}},
    {"search_applies_to_text_and_varchar_only",
     WITH_COLUMN("{'type': 'integer', 'search': true}"),
     {E("tables.t.columns.c.search: does not apply to integer columns (only text and varchar)")}},
    {"search_does_not_apply_to_email_or_arrays",
     WITH_COLUMNS("{'a': {'type': 'email', 'search': true}, "
                  "'b': {'type': 'array', 'of': 'text', 'search': true}}"),
     {E("tables.t.columns.a.search: does not apply to email columns (only text and varchar)"),
      E("tables.t.columns.b.search: does not apply to array columns (only text and varchar)")}},
    {"search_cannot_be_secret",
     WITH_COLUMN("{'type': 'text', 'search': true, 'secret': true}"),
     {E("tables.t.columns.c.search: a secret column cannot be searched")}},
    {"search_must_be_a_boolean",
     WITH_COLUMN("{'type': 'text', 'search': 'yes'}"),
     {E("tables.t.columns.c.search: expected true or false, got 'yes'")}},
    {"search_language_must_be_a_name",
     "{" DB ", 'tables': {'t': {'search_language': 'english; drop', 'columns': {}}}}",
     {E("tables.t.search_language: invalid text search configuration 'english; drop' (use "
        "[a-z_][a-z0-9_]{0,62}: simple, english, german...)")}},
    {"search_language_must_be_a_string",
     "{" DB ", 'tables': {'t': {'search_language': 1, 'columns': {}}}}",
     {E("tables.t.search_language: expected a non-empty string, got 1")}},
    {"one_primary_key_per_table",
     WITH_COLUMNS("{'a': {'type': 'uuid', 'primary_key': true}, "
                  "'b': {'type': 'integer', 'primary_key': true}}"),
     {E("tables.t.columns.b.primary_key: a table has one primary key, and 'a' is already it")}},
    {"primary_key_type_is_limited",
     WITH_COLUMN("{'type': 'boolean', 'primary_key': true}"),
     {E("tables.t.columns.c.primary_key: boolean columns cannot be the primary key (use "
        "integer, bigint, serial, bigserial, uuid, varchar or text)")}},
    {"primary_key_cannot_be_null_or_secret",
     WITH_COLUMN("{'type': 'text', 'primary_key': true, 'null': true, 'secret': true}"),
     {E("tables.t.columns.c.null: the primary key cannot be null"),
      E("tables.t.columns.c.secret: the primary key cannot be secret (creates return it)")}},
    {"id_column_conflicts_with_the_implicit_key",
     WITH_COLUMNS("{'id': {'type': 'integer'}}"),
     {E("tables.t.columns.id: conflicts with the implicit primary key 'id' (add 'primary_key': "
        "true to a column, or rename this one)")}},
    {"readable_must_name_a_column",
     WITH_TABLE_KEYS("'readable': 'cc'"),
     {E("tables.t.readable: no column 'cc' in table t (did you mean 'c'?)")}},
    {"readable_cannot_be_secret",
     "{" DB ", 'tables': {'t': {'columns': {'key': {'type': 'text', 'secret': true}}, "
     "'readable': 'key'}}}",
     {E("tables.t.readable: 'key' is secret and cannot be readable")}},
    {"unset_variable_is_an_error",
     "{'database': {'url': '${JWT_SECRET}'}, 'tables': {'t': "
     "{'columns': {}}}}",
     {E("database.url: environment variable JWT_SECRET is not set")}},
    {"every_unset_variable_of_a_string_is_named",
     "{'database': {'url': 'postgresql://${RESTABLE_TEST_VAR}@${RESTABLE_TEST_OTHER}/x'}, "
     "'tables': {'t': {'columns': {}}}}",
     {E("database.url: environment variable RESTABLE_TEST_VAR is not set"),
      E("database.url: environment variable RESTABLE_TEST_OTHER is not set")}},
    {"failed_substitution_is_reported_once",
     WITH_SECTION("'server': {'port': '${RESTABLE_TEST_PORT}'}"),
     {E("server.port: environment variable RESTABLE_TEST_PORT is not set")}},
    {"malformed_reference_is_an_error",
     WITH_SECTION("'server': {'host': '${1X}'}"),
     {E("server.host: invalid reference '${1X}' (write ${NAME} or ${NAME:-default})")}},
    {"unterminated_reference_is_an_error",
     WITH_COLUMN("{'type': 'text', 'choices': ['${RESTABLE_TEST_VAR']}"),
     {E("tables.t.columns.c.choices[0]: unterminated '${' (write ${NAME} or ${NAME:-default})")}},
    {"rejects_column_renamed_from_a_declared_column",
     WITH_COLUMNS("{'a': {'type': 'integer'}, 'b': {'type': 'integer', 'renamed_from': 'a'}}"),
     {E("tables.t.columns.b.renamed_from: column 'a' is still declared in table t")}},
    {"rejects_table_renamed_from_a_declared_table",
     "{" DB ", 'tables': {" TABLE_T ", 'u': {'renamed_from': 't', 'columns': {}}}}",
     {E("tables.u.renamed_from: table 't' is still declared")}},
    {"rejects_unknown_top_level_metrics_key",
     "{" DB ", 'metrics': {'open': true}, 'tables': {" TABLE_T "}}",
     {E("metrics.open: unknown key")}},
    {"rejects_unknown_type_listing_known_types",
     WITH_COLUMNS("{'a': "
                  "{'type': 'wibble'}"
                  "}"),
     {E("tables.t.columns.a.type: unknown type 'wibble' (known types: varchar, text, "
        "email, integer, bigint, smallint, serial, bigserial, boolean, numeric, real, "
        "double, timestamp, timestamptz, date, time, interval, uuid, json, jsonb, "
        "bytea, array, foreign_key)")}},
    {"rejects_unknown_column_key_with_suggestion",
     WITH_COLUMNS("{'a': "
                  "{'type': 'integer', 'nul': true}"
                  "}"),
     {E("tables.t.columns.a.nul: unknown key (did you mean 'null'?)")}},
    {"rejects_boolean_port",
     WITH_SECTION("'server': {'port': true}"),
     {E("server.port: expected an integer between 1 and 65535, got true")}},
    {"rejects_object_port",
     WITH_SECTION("'server': {'port': {}}"),
     {E("server.port: expected an integer between 1 and 65535, got an object")}},
    {"rejects_boolean_page_size",
     WITH_TABLE_KEYS("'page_size': true"),
     {E("tables.t.page_size: expected an integer between 1 and 1000000, got true")}},
    {"rejects_string_null_flag",
     WITH_COLUMNS("{'a': "
                  "{'type': 'integer', 'null': 'yes'}"
                  "}"),
     {E("tables.t.columns.a.null: expected true or false, got 'yes'")}},
    {"rejects_restable_prefixed_table",
     "{" DB ", 'tables': {'restable_x': {'columns': {'a': {'type': 'integer'}}}}}",
     {E("tables.restable_x: names starting with 'restable_' are reserved for restable")}},
    {"rejects_invalid_column_name",
     WITH_COLUMNS("{'9a': {'type': 'integer'}}"),
     {E("tables.t.columns.9a: invalid column name '9a' (use [a-z_][a-z0-9_]{0,62})")}},
    {"rejects_negative_varchar_length",
     WITH_COLUMNS("{'a': "
                  "{'type': 'varchar', 'length': -1}"
                  "}"),
     {E("tables.t.columns.a.length: expected an integer between 1 and 10485760, got -1")}},
    {"rejects_array_of_array",
     WITH_COLUMNS("{'a': "
                  "{'type': 'array', 'of': 'array'}"
                  "}"),
     {E("tables.t.columns.a.of: an array cannot hold array values (use any type but "
        "array, foreign_key, serial and bigserial)")}},
    {"rejects_of_on_non_array",
     WITH_COLUMNS("{'a': "
                  "{'type': 'varchar', 'of': 'integer'}"
                  "}"),
     {E("tables.t.columns.a.of: does not apply to varchar columns (only array columns)")}},
    {"rejects_reference_to_unknown_table_with_suggestion",
     "{" DB ", 'tables': {'director': {'columns': {'a': {'type': 'integer'}}}, 't': "
     "{'columns': {'a': {'type': 'foreign_key', 'references': 'directr'}}}}}",
     {E("tables.t.columns.a.references: no table 'directr' (did you mean 'director'?)")}},
    {"rejects_unknown_on_delete_action",
     "{" DB ", 'tables': {'d': {'columns': {}}, 't': {'columns': {'a': {'type': "
     "'foreign_key', 'references': 'd', 'on_delete': 'explode'}}}}}",
     {E("tables.t.columns.a.on_delete: expected 'cascade', 'restrict', 'set null', "
        "'set default' or 'no action', got 'explode'")}},
    {"rejects_unknown_readable_column_with_suggestion",
     "{" DB ", 'tables': {'t': {'columns': {'name': {'type': 'text'}}, 'readable': 'nam'}}}",
     {E("tables.t.readable: no column 'nam' in table t (did you mean 'name'?)")}},
    {"rejects_secret_readable_column",
     "{" DB ", 'tables': {'t': {'columns': {'name': {'type': 'text', 'secret': true}}, "
     "'readable': 'name'}}}",
     {E("tables.t.readable: 'name' is secret and cannot be readable")}},
    {"rejects_choices_of_wrong_type",
     WITH_COLUMNS("{'a': "
                  "{'type': 'integer', 'choices': ['x', 2]}"
                  "}"),
     {E("tables.t.columns.a.choices[0]: expected an integer between -2147483648 and "
        "2147483647, got 'x'")}},
    {"rejects_default_uuid4_on_integer",
     WITH_COLUMNS("{'a': "
                  "{'type': 'integer', 'default': 'uuid4'}"
                  "}"),
     {E("tables.t.columns.a.default: expected an integer between -2147483648 and "
        "2147483647, got 'uuid4'")}},
    {"rejects_default_uuid4_on_date",
     WITH_COLUMNS("{'a': "
                  "{'type': 'date', 'default': 'uuid4'}"
                  "}"),
     {E("tables.t.columns.a.default: expected a date like '2024-01-31' or 'now', got "
        "'uuid4'")}},
    {"rejects_unknown_algorithm_with_suggestion",
     WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'algorithm': 'HS265'}}"),
     {E("auth.jwt.algorithm: unknown algorithm 'HS265' (did you mean 'HS256'?)")}},
    {"rejects_bad_grant_string",
     "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}}, 'tables': {'t': {'columns': {}, "
     "'auth': {'write': ['scope']}}}}",
     {E("tables.t.auth.write[0]: expected 'scope:NAME' or 'role:NAME', got 'scope'")}},
    {"rejects_grant_outside_a_list",
     "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}}, 'tables': {'t': {'columns': {}, "
     "'auth': {'write': 'scope:x'}}}}",
     {E("tables.t.auth.write: grants go in a list: ['scope:x']")}},
    {"rejects_authenticated_policy_without_key",
     "{" DB ", 'tables': {'t': {'columns': {}, 'auth': {'write': 'authenticated'}}}}",
     {E("tables.t.auth.write: only 'public' works without a JWT key (set "
        "auth.jwt.secret or auth.jwt.public_key_file)")}},
    /* table settings are read before the table's columns */
    {"reports_server_database_table_and_column_problems_in_order",
     "{'server': {'port': 0, 'hots': 'x'}, 'database': {}, 'tables': {'t': "
     "{'columns': {'a': {'type': 'integr'}}, 'max_joins': 9}}}",
     {E("server.hots: unknown key (did you mean 'host'?)"),
      E("server.port: expected an integer between 1 and 65535, got 0"),
      E("database.url: required (or set RESTABLE_DATABASE_URL or DATABASE_URL)"),
      E("tables.t.max_joins: expected an integer between 0 and 4, got 9"),
      E("tables.t.columns.a.type: unknown type 'integr' (did you mean 'integer'?)")}},
};

static void run_broken_case(void **state)
{
    const struct broken_case *test = *state;
    expect_errors(test->config, test->messages);
}

/* ---- several problems at once --------------------------------------------------------- */

static void test_reports_every_problem_at_once(void **state)
{
    (void)state;
    static const char *const expected[] = {
        E("server.port: expected an integer between 1 and 65535, got 0"),
        E("database.url: required (or set RESTABLE_DATABASE_URL or DATABASE_URL)"),
        E("auth.jwt.secret: must be at least 32 bytes (got 3)"),
        E("tables.admin: 'admin' is a reserved path (auth, admin, docs, healthz, readyz, "
          "metrics, openapi, batch) and cannot be a table name"),
        E("tables.movie.page_sise: unknown key (did you mean 'page_size'?)"),
        E("tables.movie.columns.rating.type: unknown type 'integr' (did you mean 'integer'?)"),
        E("tables.movie.columns.name.length: expected an integer between 1 and 10485760, got "
          "'long'"),
        E("tables.movie.columns.director.references: no table 'people'"),
        NULL,
    };
    expect_errors("{'server': {'port': 0}, 'auth': {'jwt': {'secret': 'abc'}},"
                  " 'tables': {'admin': {'columns': {}}, 'movie': {'page_sise': 3, 'columns': {"
                  "  'rating': {'type': 'integr'},"
                  "  'name': {'type': 'varchar', 'length': 'long'},"
                  "  'director': {'type': 'foreign_key', 'references': 'people'}}}}}",
                  expected);
}

static void test_invalid_json_names_line_and_column(void **state)
{
    (void)state;
    struct cfg_errors errors;
    assert_null(cfg_load_string("{\n  \"tables\": {,\n}", "conf/restable.json", &errors));
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0],
                        "conf/restable.json: line 2, column 14: string or '}' expected near ','");
    cfg_errors_free(&errors);
    assert_null(cfg_load_string("{\"a\": 1, \"a\": 2}", "restable.json", &errors));
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0],
                        "restable.json: line 1, column 12: duplicate object key near '\"a\"'");
    cfg_errors_free(&errors);
}

/* ---- the SPEC §2 example ------------------------------------------------------------------- */

static const char spec_example[] =
    "{\n"
    "  'server':   { 'host': '0.0.0.0', 'port': 8080, 'threads': 0, 'max_body_bytes': 1048576,\n"
    "                'base_path': '/', 'cors': { 'origins': ['https://app.example.com'] } },\n"
    "  'database': { 'url': 'postgresql://app@localhost:5432/app', 'pool_size': 8,\n"
    "                'acquire_timeout_ms': 5000, 'statement_timeout_ms': 10000 },\n"
    "  'auth': {\n"
    "    'jwt':     { 'secret': '${JWT_SECRET}', 'algorithm': 'HS256', 'issuer': 'restable',\n"
    "                 'audience': null, 'leeway_s': 30 },\n"
    "    'login':   { 'enabled': true, 'ttl_s': 3600 },\n"
    "    'default': { 'read': 'public', 'write': 'authenticated', 'delete': 'authenticated' }\n"
    "  },\n"
    "  'migrations_dir': 'migrations',\n"
    "  'tables': {\n"
    "    'director': {\n"
    "      'columns': { 'name': { 'type': 'varchar', 'length': 100, 'unique': true } },\n"
    "      'readable': 'name'\n"
    "    },\n"
    "    'movie': {\n"
    "      'columns': {\n"
    "        'name':     { 'type': 'varchar', 'length': 200 },\n"
    "        'rating':   { 'type': 'integer', 'default': 0, 'index': true },\n"
    "        'director': { 'type': 'foreign_key', 'references': 'director', 'null': true,\n"
    "                      'on_delete': 'cascade' },\n"
    "        'released': { 'type': 'boolean', 'default': false },\n"
    "        'created':  { 'type': 'timestamptz', 'default': 'now' },\n"
    "        'tags':     { 'type': 'array', 'of': 'varchar' },\n"
    "        'api_key':  { 'type': 'varchar', 'length': 64, 'secret': true }\n"
    "      },\n"
    "      'page_size': 15, 'max_page_size': 1000, 'read_only': false,\n"
    "      'allow_bulk_delete': false, 'allow_bulk_update': false, 'max_joins': 1,\n"
    "      'auth': { 'read': 'public', 'write': ['scope:movies:write'], 'delete': ['role:admin'] "
    "}\n"
    "    }\n"
    "  }\n"
    "}\n";

static void test_spec_example_loads_with_its_values(void **state)
{
    (void)state;
    setenv("JWT_SECRET", SECRET, 1);
    struct cfg_config *config = load_ok(spec_example);
    assert_string_equal(config->path, "restable.json");
    expect_default_server(config);
    assert_int_equal(config->server.cors_origin_count, 1);
    assert_string_equal(config->server.cors_origins[0], "https://app.example.com");
    assert_string_equal(config->database.url, "postgresql://app@localhost:5432/app");
    assert_int_equal(config->database.pool_size, 8);
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS256);
    assert_string_equal(config->auth.secret, SECRET);
    assert_null(config->auth.public_key_file);
    assert_string_equal(config->auth.issuer, "restable");
    assert_null(config->auth.audience);
    assert_true(config->auth.login_enabled);
    assert_int_equal(config->auth.default_read.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(config->auth.default_write.kind, CFG_POLICY_AUTHENTICATED);

    assert_int_equal(config->table_count, 2);
    const struct cfg_table *director = &config->tables[0], *movie = &config->tables[1];
    assert_string_equal(director->name, "director");
    assert_ptr_equal(cfg_table_find(config, "movie"), movie);
    assert_int_equal(director->column_count, 2);
    assert_true(director->columns[1].is_unique);
    assert_int_equal(director->columns[1].length, 100);
    assert_ptr_equal(director->readable, &director->columns[1]);

    static const char *const names[] = {"id",       "name",    "rating", "director",
                                        "released", "created", "tags",   "api_key"};
    assert_int_equal(movie->column_count, 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(movie->columns[i].name, names[i]);
    assert_int_equal(movie->max_joins, 1);
    const struct cfg_column *rating = cfg_column_find(movie, "rating");
    assert_int_equal(rating->default_kind, CFG_DEFAULT_VALUE);
    assert_int_equal(json_integer_value(rating->default_value), 0);
    assert_true(rating->has_index);
    const struct cfg_column *fk = cfg_column_find(movie, "director");
    assert_ptr_equal(fk->referenced_table, director);
    assert_int_equal(fk->value_type, CFG_TYPE_INTEGER);
    assert_int_equal(fk->on_delete, CFG_FK_CASCADE);
    assert_int_equal(fk->on_update, CFG_FK_NO_ACTION);
    assert_true(fk->is_nullable);
    assert_true(json_is_false(cfg_column_find(movie, "released")->default_value));
    assert_int_equal(cfg_column_find(movie, "created")->default_kind, CFG_DEFAULT_NOW);
    const struct cfg_column *tags = cfg_column_find(movie, "tags");
    assert_int_equal(tags->type, CFG_TYPE_ARRAY);
    assert_int_equal(tags->value_type, CFG_TYPE_VARCHAR);
    assert_int_equal(tags->length, 0);
    assert_true(cfg_column_find(movie, "api_key")->is_secret);
    assert_int_equal(movie->read.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(movie->write.kind, CFG_POLICY_GRANTS);
    assert_int_equal(movie->write.grant_count, 1);
    assert_string_equal(movie->write.grants[0], "scope:movies:write");
    assert_string_equal(movie->delete_.grants[0], "role:admin");
    /* director declares no auth: it inherits auth.default */
    assert_int_equal(director->read.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(director->write.kind, CFG_POLICY_AUTHENTICATED);
    assert_int_equal(director->delete_.kind, CFG_POLICY_AUTHENTICATED);

    char *expected = summary_of(config);
    assert_string_equal(expected,
                        "director: 2 columns, primary key id (serial), 0 foreign keys, read public "
                        "/ write authenticated / delete authenticated\n"
                        "movie: 8 columns, primary key id (serial), 1 foreign key, read public / "
                        "write [scope:movies:write] / delete [role:admin]\n");
    free(expected);
    cfg_free(config);
}

/* ---- defaults -------------------------------------------------------------------------- */

static void test_minimal_config_gets_every_default(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMN("{'type': 'email'}"));
    expect_default_server(config);
    assert_int_equal(config->server.cors_origin_count, 0);
    expect_default_database_and_auth(config);
    /* no key: everything is public */
    assert_int_equal(config->auth.default_read.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(config->auth.default_write.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(config->auth.default_delete.kind, CFG_POLICY_PUBLIC);
    char *cwd = getcwd(NULL, 0);
    char expected[4200];
    snprintf(expected, sizeof expected, "%s/migrations", cwd);
    assert_string_equal(config->migrations_dir, expected);
    assert_string_equal(config->directory, cwd);
    free(cwd);

    const struct cfg_table *table = &config->tables[0];
    expect_default_table(table);
    assert_int_equal(table->write.kind, CFG_POLICY_PUBLIC);
    const struct cfg_column *column = cfg_column_find(table, "c");
    assert_int_equal(column->length, 255); /* email's default length */
    assert_false(column->is_nullable);
    assert_false(column->is_unique);
    assert_false(column->has_index);
    assert_false(column->is_primary_key);
    assert_false(column->is_secret);
    assert_int_equal(column->default_kind, CFG_DEFAULT_NONE);
    assert_null(column->default_value);
    assert_null(column->choices);
    assert_null(column->help_text);
    cfg_free(config);
}

static void test_table_without_primary_key_gets_implicit_id(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS("{'title': {'type': 'text'}}"));
    const struct cfg_table *table = &config->tables[0];
    assert_int_equal(table->column_count, 2);
    assert_int_equal(table->primary_key, 0);
    const struct cfg_column *id = cfg_primary_key(table);
    assert_string_equal(id->name, "id");
    assert_int_equal(id->type, CFG_TYPE_SERIAL);
    assert_int_equal(id->value_type, CFG_TYPE_SERIAL);
    assert_true(id->is_implicit);
    assert_true(id->is_primary_key);
    assert_true(id->is_unique);
    assert_false(id->is_nullable);
    assert_string_equal(table->columns[1].name, "title");
    cfg_free(config);
}

static void test_declared_primary_key_replaces_implicit_id(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        WITH_COLUMNS("{'title': {'type': 'text'}, 'id': {'type': 'uuid', 'primary_key': true, "
                     "'default': 'uuid4'}}"));
    const struct cfg_table *table = &config->tables[0];
    assert_int_equal(table->column_count, 2);
    assert_int_equal(table->primary_key, 1);
    const struct cfg_column *id = cfg_primary_key(table);
    assert_false(id->is_implicit);
    assert_true(id->is_unique);
    assert_int_equal(id->default_kind, CFG_DEFAULT_UUID4);
    cfg_free(config);
}

/* ---- environment --------------------------------------------------------------------------- */

static void test_substitutes_variables_and_defaults_everywhere(void **state)
{
    (void)state;
    setenv("RESTABLE_TEST_VAR", "db.internal", 1);
    setenv("RESTABLE_TEST_PORT", "9090", 1);
    setenv("RESTABLE_TEST_OTHER", "", 1);
    struct cfg_config *config = load_ok(
        "{'server': {'port': '${RESTABLE_TEST_PORT}', 'host': '${RESTABLE_TEST_OTHER:-127.0.0.1}',"
        "  'cors': {'origins': ['https://${RESTABLE_TEST_VAR}']}},"
        " 'database': {'url': 'postgresql://${UNSET_RESTABLE_USER:-app}@${RESTABLE_TEST_VAR}:"
        "${UNSET_RESTABLE_PORT:-5432}/app', 'pool_size': '${UNSET_RESTABLE_POOL:-3}'},"
        " 'auth': {'login': {'enabled': '${UNSET_RESTABLE_LOGIN:-false}'}},"
        " 'tables': {'t': {'columns': {'c': {'type': 'text', 'default': '${RESTABLE_TEST_OTHER}'"
        "}}}}}");
    assert_int_equal(config->server.port, 9090);
    assert_string_equal(config->server.host, "127.0.0.1"); /* set but empty takes the default */
    assert_string_equal(config->server.cors_origins[0], "https://db.internal");
    assert_string_equal(config->database.url, "postgresql://app@db.internal:5432/app");
    assert_int_equal(config->database.pool_size, 3);
    assert_false(config->auth.login_enabled);
    assert_string_equal(json_string_value(config->tables[0].columns[1].default_value), "");
    cfg_free(config);
}

static void test_substituted_text_is_not_scanned_again(void **state)
{
    (void)state;
    setenv("RESTABLE_TEST_VAR", "${RESTABLE_TEST_OTHER}", 1);
    struct cfg_config *config = load_ok(
        "{'database': {'url': 'a${RESTABLE_TEST_VAR}b'}, 'tables': {'t': {'columns': {}}}}");
    assert_string_equal(config->database.url, "a${RESTABLE_TEST_OTHER}b");
    cfg_free(config);
}

static void test_environment_overrides_win_over_the_file(void **state)
{
    (void)state;
    setenv("DATABASE_URL", "postgresql://plain@h/db", 1);
    struct cfg_config *config = load_ok(WITH_SECTION("'server': {'host': '1.2.3.4', 'port': 1}"));
    assert_string_equal(config->database.url, "postgresql://plain@h/db");
    cfg_free(config);

    setenv("RESTABLE_DATABASE_URL", "postgresql://ours@h/db", 1);
    setenv("RESTABLE_HOST", "::1", 1);
    setenv("RESTABLE_PORT", "4000", 1);
    setenv("RESTABLE_JWT_SECRET", SECRET "!", 1);
    /* the file's own values would fail: overridden keys are neither substituted nor checked */
    config = load_ok("{'server': {'host': '1.2.3.4', 'port': 1},"
                     " 'database': {'url': '${UNSET_RESTABLE_URL}'},"
                     " 'auth': {'jwt': {'secret': 'short'}}, 'tables': {'t': {'columns': {}}}}");
    assert_string_equal(config->database.url, "postgresql://ours@h/db");
    assert_string_equal(config->server.host, "::1");
    assert_int_equal(config->server.port, 4000);
    assert_string_equal(config->auth.secret, SECRET "!");
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS256);
    /* a key is now configured: the defaults become "authenticated" */
    assert_int_equal(config->tables[0].read.kind, CFG_POLICY_AUTHENTICATED);
    cfg_free(config);

    /* the override also supplies a database section the file does not have */
    config = load_ok("{'tables': {'t': {'columns': {}}}}");
    assert_string_equal(config->database.url, "postgresql://ours@h/db");
    cfg_free(config);
}

static void test_environment_override_errors_name_the_variable(void **state)
{
    (void)state;
    setenv("RESTABLE_PORT", "http", 1);
    setenv("RESTABLE_JWT_SECRET", "tiny", 1);
    static const char *const expected[] = {
        E("server.port: environment variable RESTABLE_PORT: expected an integer between 1 and "
          "65535, got 'http'"),
        E("auth.jwt.secret: must be at least 32 bytes (got 4) (from RESTABLE_JWT_SECRET)"),
        NULL,
    };
    expect_errors(WITH_SECTION("'server': {'port': 8000}"), expected);
    setenv("RESTABLE_PORT", "0", 1);
    unsetenv("RESTABLE_JWT_SECRET");
    static const char *const out_of_range[] = {
        E("server.port: environment variable RESTABLE_PORT: expected an integer between 1 and "
          "65535, got '0'"),
        NULL,
    };
    expect_errors(WITH_SECTION("'server': {'port': 8000}"), out_of_range);
}

/* ---- auth ---------------------------------------------------------------------------------- */

static void test_policies_inherit_auth_default_per_action(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok("{" DB ", 'auth': {'jwt': {'secret': '" SECRET "', 'algorithm': 'HS384'},"
                "  'default': {'read': 'public', 'write': ['role:editor', 'scope:write']}},"
                " 'tables': {'a': {'columns': {}}, 'b': {'columns': {}, 'auth': {'read': "
                "'authenticated'}}}}");
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS384);
    const struct cfg_table *a = cfg_table_find(config, "a"), *b = cfg_table_find(config, "b");
    assert_int_equal(a->read.kind, CFG_POLICY_PUBLIC);
    assert_int_equal(a->write.kind, CFG_POLICY_GRANTS);
    assert_int_equal(a->write.grant_count, 2);
    assert_string_equal(a->write.grants[0], "role:editor");
    assert_string_equal(a->write.grants[1], "scope:write");
    /* delete is not in auth.default: with a key it defaults to "authenticated" */
    assert_int_equal(a->delete_.kind, CFG_POLICY_AUTHENTICATED);
    assert_int_equal(b->read.kind, CFG_POLICY_AUTHENTICATED);
    assert_int_equal(b->write.kind, CFG_POLICY_GRANTS);
    assert_string_equal(b->write.grants[1], "scope:write");
    assert_ptr_not_equal(b->write.grants, config->auth.default_write.grants); /* own copy */
    cfg_free(config);
}

static void test_public_key_file_resolves_against_the_config_folder(void **state)
{
    (void)state;
    char folder[] = "/tmp/restable-config-test.XXXXXX";
    assert_non_null(mkdtemp(folder));
    char path[256], keys[256], key[256], config_path[256];
    snprintf(keys, sizeof keys, "%s/keys", folder);
    assert_int_equal(mkdir(keys, 0700), 0);
    snprintf(key, sizeof key, "%s/keys/public.pem", folder);
    write_text(key, "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
    snprintf(config_path, sizeof config_path, "%s/restable.json", folder);
    write_config(config_path, "{" DB ", 'auth': {'jwt': {'algorithm': 'ES256', "
                              "'public_key_file': 'keys/public.pem'}}, 'migrations_dir': './db/',"
                              " 'tables': {'t': {'columns': {}}}}");

    struct cfg_errors errors;
    struct cfg_config *config = cfg_load(config_path, &errors);
    assert_int_equal(errors.count, 0);
    assert_non_null(config);
    assert_int_equal(config->auth.algorithm, CFG_JWT_ES256);
    assert_string_equal(config->auth.public_key_file, key);
    assert_string_equal(config->directory, folder);
    snprintf(path, sizeof path, "%s/db", folder);
    assert_string_equal(config->migrations_dir, path);
    assert_int_equal(config->tables[0].write.kind, CFG_POLICY_AUTHENTICATED);
    cfg_free(config);

    /* a key file that is missing, and one that is not PEM, name the resolved path */
    write_config(config_path, "{" DB ", 'auth': {'jwt': {'algorithm': 'RS256', 'public_key_file': "
                              "'keys/missing.pem'}}, 'tables': {'t': {'columns': {}}}}");
    assert_null(cfg_load(config_path, &errors));
    assert_int_equal(errors.count, 1);
    char expected[600];
    snprintf(expected, sizeof expected,
             "%s: auth.jwt.public_key_file: cannot read "
             "%s/keys/missing.pem: No such file or directory",
             config_path, folder);
    assert_string_equal(errors.messages[0], expected);
    cfg_errors_free(&errors);

    assert_int_equal(rename(config_path, key), 0); /* now the "key" is a JSON file */
    write_config(config_path, "{" DB ", 'auth': {'jwt': {'algorithm': 'RS256', 'public_key_file': "
                              "'keys/public.pem'}}, 'tables': {'t': {'columns': {}}}}");
    assert_null(cfg_load(config_path, &errors));
    assert_int_equal(errors.count, 1);
    snprintf(expected, sizeof expected,
             "%s: auth.jwt.public_key_file: %s is not a PEM file "
             "(no \"-----BEGIN\" line)",
             config_path, key);
    assert_string_equal(errors.messages[0], expected);
    cfg_errors_free(&errors);

    assert_int_equal(unlink(key), 0);
    assert_int_equal(unlink(config_path), 0);
    assert_int_equal(rmdir(keys), 0);
    assert_int_equal(rmdir(folder), 0);
}

static void test_missing_file_and_folder_cannot_be_read(void **state)
{
    (void)state;
    struct cfg_errors errors;
    assert_null(cfg_load("/nonexistent/restable.json", &errors));
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0],
                        "/nonexistent/restable.json: cannot read: No such file or directory");
    cfg_errors_free(&errors);
    assert_null(cfg_load("/tmp", &errors));
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0], "/tmp: cannot read: Is a directory");
    cfg_errors_free(&errors);
}

/* ---- server ---------------------------------------------------------------------------------- */

static void test_base_path_is_normalised(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"api", "/api/"}, {"/api", "/api/"},           {"api/", "/api/"},
        {"", "/"},        {"//v1//api//", "/v1/api/"}, {"/", "/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, WITH_SECTION("'server': {'base_path': '%s'}"), cases[i][0]);
        struct cfg_config *config = load_ok(text);
        assert_string_equal(config->server.base_path, cases[i][1]);
        cfg_free(config);
    }
}

/* ---- tables and columns ---------------------------------------------------------------------- */

static void test_foreign_keys_take_the_referenced_key_type(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        "{" DB ", 'tables': {"
        " 'node': {'columns': {'parent': {'type': 'foreign_key', 'references': 'node', "
        "   'null': true, 'on_delete': 'set null', 'on_update': 'cascade'},"
        "   'owner': {'type': 'foreign_key', 'references': 'person', 'default': "
        "   '123e4567-e89b-12d3-a456-426614174000', 'on_delete': 'set default'},"
        "   'big': {'type': 'foreign_key', 'references': 'ledger', 'choices': [1, 2]},"
        "   'named': {'type': 'foreign_key', 'references': 'code', 'on_delete': 'restrict'}}},"
        " 'person': {'columns': {'key': {'type': 'uuid', 'primary_key': true}}},"
        " 'ledger': {'columns': {'n': {'type': 'bigserial', 'primary_key': true}}},"
        " 'code': {'columns': {'c': {'type': 'varchar', 'length': 8, 'primary_key': true}}}}}");
    const struct cfg_table *node = cfg_table_find(config, "node");
    const struct cfg_column *parent = cfg_column_find(node, "parent");
    assert_ptr_equal(parent->referenced_table, node);
    assert_int_equal(parent->value_type, CFG_TYPE_INTEGER);
    assert_int_equal(parent->on_delete, CFG_FK_SET_NULL);
    assert_int_equal(parent->on_update, CFG_FK_CASCADE);
    const struct cfg_column *owner = cfg_column_find(node, "owner");
    assert_int_equal(owner->value_type, CFG_TYPE_UUID);
    assert_int_equal(owner->on_delete, CFG_FK_SET_DEFAULT);
    assert_ptr_equal(owner->referenced_table, cfg_table_find(config, "person"));
    assert_int_equal(cfg_column_find(node, "big")->value_type, CFG_TYPE_BIGINT);
    assert_int_equal(cfg_column_find(node, "named")->value_type, CFG_TYPE_VARCHAR);
    assert_int_equal(cfg_column_find(node, "named")->on_delete, CFG_FK_RESTRICT);
    assert_string_equal(cfg_fk_action_sql(parent->on_delete), "SET NULL");
    assert_string_equal(cfg_fk_action_sql(CFG_FK_NO_ACTION), "NO ACTION");
    cfg_free(config);
}

static void test_column_settings_are_kept(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS(
        "{'price': {'type': 'numeric', 'precision': 12, 'scale': 2, 'default': 9.5},"
        " 'emails': {'type': 'array', 'of': 'email', 'default': ['a@b.co']},"
        " 'codes': {'type': 'array', 'of': 'varchar', 'length': 4, 'choices': ['ab', 'cd'],"
        "   'default': ['ab']},"
        " 'kind': {'type': 'text', 'choices': ['x', 'y'], 'default': 'y', 'help_text': 'Kind'},"
        " 'seen': {'type': 'timestamp', 'default': '2024-01-31 12:00:00.5', 'null': true},"
        " 'day': {'type': 'date', 'default': 'now', 'unique': 'true'},"
        " 'span': {'type': 'interval', 'default': 'PT1H'},"
        " 'blob': {'type': 'bytea', 'default': 'aGk=', 'null': true},"
        " 'meta': {'type': 'jsonb', 'default': {'a': [1]}},"
        " 'note': {'type': 'text', 'null': true, 'default': null}}"));
    const struct cfg_table *table = &config->tables[0];
    const struct cfg_column *price = cfg_column_find(table, "price");
    assert_int_equal(price->precision, 12);
    assert_int_equal(price->scale, 2);
    const struct cfg_column *emails = cfg_column_find(table, "emails");
    assert_int_equal(emails->value_type, CFG_TYPE_EMAIL);
    assert_int_equal(emails->length, 255);
    const struct cfg_column *codes = cfg_column_find(table, "codes");
    assert_int_equal(codes->length, 4);
    assert_int_equal(json_array_size(codes->choices), 2);
    const struct cfg_column *kind = cfg_column_find(table, "kind");
    assert_string_equal(kind->help_text, "Kind");
    assert_string_equal(json_string_value(kind->default_value), "y");
    assert_int_equal(cfg_column_find(table, "day")->default_kind, CFG_DEFAULT_NOW);
    assert_true(cfg_column_find(table, "day")->is_unique);
    assert_true(json_is_object(cfg_column_find(table, "meta")->default_value));
    const struct cfg_column *note = cfg_column_find(table, "note");
    assert_int_equal(note->default_kind, CFG_DEFAULT_VALUE);
    assert_true(json_is_null(note->default_value));
    assert_null(cfg_column_find(table, "nothing"));
    assert_null(cfg_table_find(config, "nothing"));
    cfg_free(config);
}

static void test_declaration_order_is_kept(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        "{" DB ", 'tables': {'zeta': {'columns': {'z': {'type': 'text'}, 'a': {'type': 'text'}, "
        "'m': {'type': 'text'}}}, 'alpha': {'columns': {}}, 'mid': {'columns': {}}}}");
    assert_string_equal(config->tables[0].name, "zeta");
    assert_string_equal(config->tables[1].name, "alpha");
    assert_string_equal(config->tables[2].name, "mid");
    assert_string_equal(config->tables[0].columns[1].name, "z");
    assert_string_equal(config->tables[0].columns[2].name, "a");
    assert_string_equal(config->tables[0].columns[3].name, "m");
    cfg_free(config);
}

static void test_type_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < CFG_TYPE_COUNT; i++) {
        enum cfg_type type;
        assert_non_null(cfg_type_name((enum cfg_type)i));
        assert_int_equal(cfg_type_from_name(cfg_type_name((enum cfg_type)i), &type), 0);
        assert_int_equal(type, i);
    }
    enum cfg_type type;
    assert_int_equal(cfg_type_from_name("Integer", &type), -1);
    assert_null(cfg_type_name(CFG_TYPE_COUNT));
    assert_string_equal(cfg_type_name(CFG_TYPE_FOREIGN_KEY), "foreign_key");
}

static void test_summary_lists_flags_and_grants(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok("{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}}, 'tables': {'s': {'columns': "
                "{'code': {'type': 'text', 'primary_key': true}}, 'read_only': true, "
                "'allow_bulk_delete': true, 'allow_bulk_update': true, 'auth': {'read': "
                "['role:a', 'scope:b']}}}}");
    char *text = summary_of(config);
    assert_string_equal(text, "s: 1 column, primary key code (text), 0 foreign keys, read "
                              "[role:a, scope:b] / write authenticated / delete authenticated; "
                              "read-only, bulk delete, bulk update\n");
    free(text);
    cfg_free(config);
}

/* ---- main ---------------------------------------------------------------------------------- */

/* ---- loading: settings, environment, resolution ------------------------------------ */

static void test_load_reads_top_level_metrics_public(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok("{" DB ", 'tables': {" TABLE_T "}}");
    assert_false(config->server.metrics_public);
    cfg_free(config);
    config = load_ok("{" DB ", 'metrics': {'public': true}, 'tables': {" TABLE_T "}}");
    assert_true(config->server.metrics_public);
    cfg_free(config);
}

static void test_load_reads_renames_and_index_off(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok("{" DB ", 'tables': {'d': {'columns': {}}, 'film': {'renamed_from': 'movie', "
                "'columns': {'name': {'type': 'text', 'renamed_from': 'title'}, "
                "'d': {'type': 'foreign_key', 'references': 'd', 'index': false}}}}}");
    assert_string_equal(cfg_table_find(config, "film")->renamed_from, "movie");
    assert_string_equal(column_of(config, "film", "name")->renamed_from, "title");
    assert_true(column_of(config, "film", "d")->is_index_off);
    assert_false(column_of(config, "film", "name")->is_index_off);
    cfg_free(config);
}

static void test_load_reads_search(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok("{" DB ", 'tables': {'a': {'columns': {'t': {'type': 'text'}}}, "
                "'b': {'search_language': 'english', 'columns': {"
                "'t': {'type': 'text', 'search': true}, 'v': {'type': 'varchar', 'search': true}, "
                "'n': {'type': 'text'}}}}}");
    assert_string_equal(cfg_table_find(config, "a")->search_language, "simple");
    assert_string_equal(cfg_table_find(config, "b")->search_language, "english");
    assert_false(column_of(config, "a", "t")->is_searchable);
    assert_true(column_of(config, "b", "t")->is_searchable);
    assert_true(column_of(config, "b", "v")->is_searchable);
    assert_false(column_of(config, "b", "n")->is_searchable);
    cfg_free(config);
}

static void test_load_rejects_every_reserved_table_name(void **state)
{
    (void)state;
    static const char *const names[] = {"auth",   "admin",   "docs",    "healthz",
                                        "readyz", "metrics", "openapi", "batch"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[256], message[256];
        snprintf(text, sizeof text, "{" DB ", 'tables': {'%s': {'columns': {}}}}", names[i]);
        snprintf(message, sizeof message,
                 E("tables.%s: '%s' is a reserved path (auth, admin, docs, healthz, readyz, "
                   "metrics, openapi, batch) and cannot be a table name"),
                 names[i], names[i]);
        expect_errors(text, (const char *const[]){message, NULL});
    }
}

static void test_load_substitutes_set_variable(void **state)
{
    (void)state;
    setenv("TCL_A", "postgresql://from-env/db", 1);
    struct cfg_config *config =
        load_ok("{'database': {'url': '${TCL_A}'}, 'tables': {" TABLE_T "}}");
    assert_string_equal(config->database.url, "postgresql://from-env/db");
    cfg_free(config);
}

static void test_load_uses_default_of_unset_variable(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok("{'server': {'host': '${TCL_UNSET:-127.0.0.1}'}, " DB ", 'tables': {" TABLE_T "}}");
    assert_string_equal(config->server.host, "127.0.0.1");
    cfg_free(config);
    setenv("TCL_UNSET", "::1", 1);
    config =
        load_ok("{'server': {'host': '${TCL_UNSET:-127.0.0.1}'}, " DB ", 'tables': {" TABLE_T "}}");
    assert_string_equal(config->server.host, "::1");
    cfg_free(config);
}

static void test_load_substitutes_several_variables_in_one_string(void **state)
{
    (void)state;
    setenv("TCL_A", "app", 1);
    setenv("TCL_B", "pw", 1);
    struct cfg_config *config = load_ok("{'database': {'url': "
                                        "'postgresql://${TCL_A}:${TCL_B}@${TCL_C:-localhost}/"
                                        "${TCL_A}'}, 'tables': {" TABLE_T "}}");
    assert_string_equal(config->database.url, "postgresql://app:pw@localhost/app");
    cfg_free(config);
}

static void test_load_environment_overrides_win_over_file(void **state)
{
    (void)state;
    static const char *const text =
        "{'server': {'host': '10.0.0.1', 'port': 1234}, " DB ", 'auth': {'jwt': {'secret': "
        "'" SECRET "'}}, 'tables': {" TABLE_T "}}";
    setenv("DATABASE_URL", "postgresql://plain/db", 1);
    struct cfg_config *config = load_ok(text);
    assert_string_equal(config->database.url, "postgresql://plain/db");
    cfg_free(config);

    setenv("RESTABLE_DATABASE_URL", "postgresql://restable/db", 1);
    setenv("RESTABLE_HOST", "127.0.0.2", 1);
    setenv("RESTABLE_PORT", "9999", 1);
    setenv("RESTABLE_JWT_SECRET", "abcdefghijklmnopqrstuvwxyz0123456789ABCD", 1);
    config = load_ok(text);
    assert_string_equal(config->database.url, "postgresql://restable/db");
    assert_string_equal(config->server.host, "127.0.0.2");
    assert_int_equal(config->server.port, 9999);
    assert_string_equal(config->auth.secret, "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS256);
    cfg_free(config);
    clear_environment(NULL);
}

static void test_load_database_url_may_come_from_environment_only(void **state)
{
    (void)state;
    setenv("DATABASE_URL", "postgresql://only-env/db", 1);
    struct cfg_config *config = load_ok("{'tables': {" TABLE_T "}}");
    assert_string_equal(config->database.url, "postgresql://only-env/db");
    cfg_free(config);
    clear_environment(NULL);
}

static void test_load_rejects_bad_restable_port(void **state)
{
    (void)state;
    const char *ports[] = {"eighty", "65536"};
    for (size_t i = 0; i < 2; i++) {
        setenv("RESTABLE_PORT", ports[i], 1);
        char message[200];
        snprintf(message, sizeof message,
                 E("server.port: environment variable RESTABLE_PORT: expected an integer "
                   "between 1 and 65535, got '%s'"),
                 ports[i]);
        expect_errors("{" DB ", 'tables': {" TABLE_T "}}", (const char *const[]){message, NULL});
    }
    clear_environment(NULL);
}

static void test_load_adds_implicit_serial_id_first(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS("{'z': {'type': 'text'}, 'b': {'type': "
                                                     "'integer'}, 'm': {'type': 'boolean'}}"));
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_non_null(table);
    assert_int_equal(table->column_count, 4);
    assert_int_equal(table->primary_key, 0);
    const struct cfg_column *id = cfg_primary_key(table);
    assert_string_equal(id->name, "id");
    assert_true(id->is_implicit);
    assert_true(id->is_primary_key);
    assert_false(id->is_nullable);
    assert_int_equal(id->type, CFG_TYPE_SERIAL);
    assert_string_equal(table->columns[1].name, "z");
    assert_string_equal(table->columns[2].name, "b");
    assert_string_equal(table->columns[3].name, "m");
    assert_false(table->columns[1].is_implicit);
    cfg_free(config);
}

static void test_load_keeps_declared_primary_key_in_place(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS(
        "{'x': {'type': 'text'}, 'code': {'type': 'varchar', 'length': 8, 'primary_key': "
        "true}, 'y': {'type': 'integer'}}"));
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_int_equal(table->column_count, 3);
    assert_int_equal(table->primary_key, 1);
    assert_string_equal(cfg_primary_key(table)->name, "code");
    assert_false(cfg_primary_key(table)->is_implicit);
    assert_null(cfg_column_find(table, "id"));
    assert_string_equal(table->columns[0].name, "x");
    assert_string_equal(table->columns[2].name, "y");
    cfg_free(config);
}

static void test_load_applies_every_default(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok("{" DB ", 'tables': {" TABLE_T "}}");
    assert_string_equal(config->path, "restable.json");
    expect_default_server(config);
    assert_int_equal(config->server.cors_origin_count, 0);
    expect_default_database_and_auth(config);
    /* no file behind the name: the folder is the working directory */
    char *cwd = getcwd(NULL, 0);
    assert_non_null(cwd);
    char expected[4096];
    snprintf(expected, sizeof expected, "%s/migrations", cwd);
    free(cwd);
    assert_string_equal(config->migrations_dir, expected);
    const struct cfg_table *table = cfg_table_find(config, "t");
    expect_default_table(table);
    const struct cfg_column *column = cfg_column_find(table, "a");
    assert_false(column->is_nullable);
    assert_false(column->is_unique);
    assert_false(column->has_index);
    assert_false(column->is_secret);
    assert_int_equal(column->default_kind, CFG_DEFAULT_NONE);
    assert_null(column->choices);
    assert_null(column->help_text);
    cfg_free(config);
}

static void test_load_normalises_base_path(void **state)
{
    (void)state;
    static const char *const given[] = {"api", "/api", "api/", "/api/"};
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, WITH_SECTION("'server': {'base_path': '%s'}"), given[i]);
        struct cfg_config *config = load_ok(text);
        assert_string_equal(config->server.base_path, "/api/");
        cfg_free(config);
    }
}

static void test_load_resolves_migrations_dir_against_config_folder(void **state)
{
    (void)state;
    char folder[] = "/tmp/restable-config-load.XXXXXX";
    assert_non_null(mkdtemp(folder));
    char *real = realpath(folder, NULL);
    assert_non_null(real);
    char path[512], expected[512];
    snprintf(path, sizeof path, "%s/restable.json", folder);
    write_text(path, "{\"database\": {\"url\": \"postgresql://x\"}, \"migrations_dir\": "
                     "\"db/migrations\", \"tables\": {\"t\": {\"columns\": {}}}}");

    struct cfg_errors errors;
    struct cfg_config *config = cfg_load(path, &errors);
    expect_loaded(config, &errors);
    snprintf(expected, sizeof expected, "%s/db/migrations", real);
    assert_string_equal(config->migrations_dir, expected);
    assert_string_equal(config->directory, real);
    assert_string_equal(config->path, path);
    cfg_free(config);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(folder), 0);
    free(real);
}

static void test_load_keeps_absolute_migrations_dir(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_SECTION("'migrations_dir': '/srv/migrations/'"));
    assert_string_equal(config->migrations_dir, "/srv/migrations");
    cfg_free(config);
}

static void assert_policy(const struct cfg_policy *policy, enum cfg_policy_kind kind)
{
    assert_int_equal(policy->kind, kind);
    if (kind != CFG_POLICY_GRANTS)
        assert_int_equal(policy->grant_count, 0);
}

static void test_load_policies_are_public_without_a_key(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok("{" DB ", 'tables': {" TABLE_T "}}");
    assert_policy(&config->auth.default_read, CFG_POLICY_PUBLIC);
    assert_policy(&config->auth.default_write, CFG_POLICY_PUBLIC);
    assert_policy(&config->auth.default_delete, CFG_POLICY_PUBLIC);
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_policy(&table->read, CFG_POLICY_PUBLIC);
    assert_policy(&table->write, CFG_POLICY_PUBLIC);
    assert_policy(&table->delete_, CFG_POLICY_PUBLIC);
    cfg_free(config);
}

static void test_load_policies_are_authenticated_with_a_secret(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_SECTION("'auth': {'jwt': {'secret': '" SECRET "'}}"));
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS256);
    assert_string_equal(config->auth.secret, SECRET);
    assert_policy(&config->auth.default_read, CFG_POLICY_AUTHENTICATED);
    assert_policy(&config->auth.default_write, CFG_POLICY_AUTHENTICATED);
    assert_policy(&config->auth.default_delete, CFG_POLICY_AUTHENTICATED);
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_policy(&table->read, CFG_POLICY_AUTHENTICATED);
    assert_policy(&table->write, CFG_POLICY_AUTHENTICATED);
    assert_policy(&table->delete_, CFG_POLICY_AUTHENTICATED);
    cfg_free(config);
}

static void test_load_table_auth_overrides_default(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'read': 'public'}}, "
        "'tables': {'t': {'columns': {}, 'auth': {'write': ['role:admin', 'scope:t:write']}}, "
        "'u': {'columns': {}}}}");
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_policy(&table->read, CFG_POLICY_PUBLIC);
    assert_policy(&table->write, CFG_POLICY_GRANTS);
    assert_int_equal(table->write.grant_count, 2);
    assert_string_equal(table->write.grants[0], "role:admin");
    assert_string_equal(table->write.grants[1], "scope:t:write");
    assert_policy(&table->delete_, CFG_POLICY_AUTHENTICATED);
    const struct cfg_table *other = cfg_table_find(config, "u");
    assert_policy(&other->read, CFG_POLICY_PUBLIC);
    assert_policy(&other->write, CFG_POLICY_AUTHENTICATED);
    cfg_free(config);
}

static void test_load_resolves_foreign_key_value_types(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        "{" DB ", 'tables': {"
        "'s': {'columns': {}},"
        "'b': {'columns': {'k': {'type': 'bigserial', 'primary_key': true}}},"
        "'u': {'columns': {'k': {'type': 'uuid', 'primary_key': true, 'default': 'uuid4'}}},"
        "'f': {'columns': {'to_s': {'type': 'foreign_key', 'references': 's'},"
        "                  'to_b': {'type': 'foreign_key', 'references': 'b', 'null': true,"
        "                           'on_delete': 'set null', 'on_update': 'cascade'},"
        "                  'to_u': {'type': 'foreign_key', 'references': 'u'}}}}}");
    const struct cfg_column *to_s = column_of(config, "f", "to_s");
    const struct cfg_column *to_b = column_of(config, "f", "to_b");
    const struct cfg_column *to_u = column_of(config, "f", "to_u");
    assert_int_equal(to_s->type, CFG_TYPE_FOREIGN_KEY);
    assert_int_equal(to_s->value_type, CFG_TYPE_INTEGER);
    assert_int_equal(to_b->value_type, CFG_TYPE_BIGINT);
    assert_int_equal(to_u->value_type, CFG_TYPE_UUID);
    assert_ptr_equal(to_s->referenced_table, cfg_table_find(config, "s"));
    assert_ptr_equal(to_b->referenced_table, cfg_table_find(config, "b"));
    assert_ptr_equal(to_u->referenced_table, cfg_table_find(config, "u"));
    assert_string_equal(to_b->references, "b");
    assert_int_equal(to_s->on_delete, CFG_FK_NO_ACTION);
    assert_int_equal(to_b->on_delete, CFG_FK_SET_NULL);
    assert_int_equal(to_b->on_update, CFG_FK_CASCADE);
    assert_int_equal(column_of(config, "u", "k")->default_kind, CFG_DEFAULT_UUID4);
    cfg_free(config);
}

static void test_load_array_value_type_is_element_type(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS(
        "{'tags': {'type': 'array', 'of': 'varchar', 'length': 20}, 'scores': {'type': "
        "'array', 'of': 'integer'}}"));
    const struct cfg_column *tags = column_of(config, "t", "tags");
    assert_int_equal(tags->type, CFG_TYPE_ARRAY);
    assert_int_equal(tags->value_type, CFG_TYPE_VARCHAR);
    assert_int_equal(tags->length, 20);
    assert_int_equal(column_of(config, "t", "scores")->value_type, CFG_TYPE_INTEGER);
    cfg_free(config);
}

static void test_load_email_defaults_to_length_255(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(WITH_COLUMNS("{'a': {'type': 'email'}}"));
    const struct cfg_column *column = column_of(config, "t", "a");
    assert_int_equal(column->type, CFG_TYPE_EMAIL);
    assert_int_equal(column->value_type, CFG_TYPE_EMAIL);
    assert_int_equal(column->length, 255);
    cfg_free(config);
}

/* "uuid4" and "now" are keywords only for uuid and time columns; elsewhere they are text. */
static void test_load_keyword_defaults_are_literals_on_text_columns(void **state)
{
    (void)state;
    struct cfg_config *config =
        load_ok(WITH_COLUMNS("{'a': {'type': 'varchar', 'default': 'uuid4'},"
                             " 'b': {'type': 'text', 'default': 'now'},"
                             " 'c': {'type': 'date', 'default': 'now'}}"));
    const struct cfg_column *a = column_of(config, "t", "a");
    assert_int_equal(a->default_kind, CFG_DEFAULT_VALUE);
    assert_string_equal(json_string_value(a->default_value), "uuid4");
    assert_int_equal(column_of(config, "t", "b")->default_kind, CFG_DEFAULT_VALUE);
    assert_int_equal(column_of(config, "t", "c")->default_kind, CFG_DEFAULT_NOW);
    cfg_free(config);
}

static void test_print_summary_one_line_per_table(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(
        "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}, 'default': {'read': 'public'}}, "
        "'tables': {'a': {'columns': {'name': {'type': 'text'}}, 'read_only': true, "
        "'allow_bulk_update': true},"
        " 'b': {'columns': {'code': {'type': 'uuid', 'primary_key': true}, 'x': {'type': "
        "'foreign_key', 'references': 'a'}, 'y': {'type': 'foreign_key', 'references': 'a'}},"
        " 'auth': {'delete': ['role:admin', 'scope:b']}}}}");
    char *text = summary_of(config);
    assert_string_equal(text,
                        "a: 2 columns, primary key id (serial), 0 foreign keys, read public / "
                        "write authenticated / delete authenticated; read-only, bulk update\n"
                        "b: 3 columns, primary key code (uuid), 2 foreign keys, read public / "
                        "write authenticated / delete [role:admin, scope:b]\n");
    free(text);
    cfg_free(config);
}

static void test_load_rejects_column_renamed_from_itself(void **state)
{
    (void)state;
    expect_error_verbatim(WITH_COLUMNS("{'a': {'type': 'integer', 'renamed_from': 'a'}}"),
                          "restable.json: tables.t.columns.a.renamed_from: is the column's own "
                          "name");
}

#define T(name) cmocka_unit_test_setup_teardown(name, clear_environment, clear_environment)

int main(void)
{
    size_t count = sizeof broken_cases / sizeof broken_cases[0];
    struct CMUnitTest *broken = calloc(count, sizeof *broken);
    if (!broken)
        return 1;
    for (size_t i = 0; i < count; i++)
        broken[i] = (struct CMUnitTest){.name = broken_cases[i].name,
                                        .test_func = run_broken_case,
                                        .setup_func = clear_environment,
                                        .initial_state = (void *)&broken_cases[i]};
    int failures =
        _cmocka_run_group_tests("config_refuses_broken_configs", broken, count, NULL, NULL);
    free(broken);

    const struct CMUnitTest tests[] = {
        T(test_reports_every_problem_at_once),
        T(test_invalid_json_names_line_and_column),
        T(test_spec_example_loads_with_its_values),
        T(test_minimal_config_gets_every_default),
        T(test_table_without_primary_key_gets_implicit_id),
        T(test_declared_primary_key_replaces_implicit_id),
        T(test_substitutes_variables_and_defaults_everywhere),
        T(test_substituted_text_is_not_scanned_again),
        T(test_environment_overrides_win_over_the_file),
        T(test_environment_override_errors_name_the_variable),
        T(test_policies_inherit_auth_default_per_action),
        T(test_public_key_file_resolves_against_the_config_folder),
        T(test_missing_file_and_folder_cannot_be_read),
        T(test_base_path_is_normalised),
        T(test_foreign_keys_take_the_referenced_key_type),
        T(test_column_settings_are_kept),
        T(test_declaration_order_is_kept),
        T(test_type_names_round_trip),
        T(test_summary_lists_flags_and_grants),
        T(test_load_reads_top_level_metrics_public),
        T(test_load_reads_renames_and_index_off),
        T(test_load_reads_search),
        T(test_load_rejects_every_reserved_table_name),
        T(test_load_substitutes_set_variable),
        T(test_load_uses_default_of_unset_variable),
        T(test_load_substitutes_several_variables_in_one_string),
        T(test_load_environment_overrides_win_over_file),
        T(test_load_database_url_may_come_from_environment_only),
        T(test_load_rejects_bad_restable_port),
        T(test_load_adds_implicit_serial_id_first),
        T(test_load_keeps_declared_primary_key_in_place),
        T(test_load_applies_every_default),
        T(test_load_normalises_base_path),
        T(test_load_resolves_migrations_dir_against_config_folder),
        T(test_load_keeps_absolute_migrations_dir),
        T(test_load_policies_are_public_without_a_key),
        T(test_load_policies_are_authenticated_with_a_secret),
        T(test_load_table_auth_overrides_default),
        T(test_load_resolves_foreign_key_value_types),
        T(test_load_array_value_type_is_element_type),
        T(test_load_email_defaults_to_length_255),
        T(test_load_keyword_defaults_are_literals_on_text_columns),
        T(test_print_summary_one_line_per_table),
        T(test_load_rejects_column_renamed_from_itself),
    };
    failures += cmocka_run_group_tests_name("config", tests, NULL, NULL);
    return failures;
}
