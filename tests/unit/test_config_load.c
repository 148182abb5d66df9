/*
 * tests/unit/test_config_load.c — cfg_load / cfg_load_string against SPEC §2: each broken
 * config is refused with exactly the line a user reads ("FILE: JSON.PATH: reason"), several
 * problems are all reported at once, ${VAR} and the environment overrides apply, and valid
 * configs come back with the documented defaults, implicit keys, inherited policies and
 * resolved foreign keys. Configs are written with ' for " so they stay readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

#define FILE_NAME "restable.json"
#define SECRET "0123456789abcdef0123456789abcdef"
#define DB "'database': {'url': 'postgresql://x'}"
#define TABLE_T "'t': {'columns': {'a': {'type': 'integer'}}}"
/* a valid config around one table t whose columns are given */
#define COLUMNS(columns) "{" DB ", 'tables': {'t': {'columns': " columns "}}}"
/* one column a */
#define COLUMN(spec) COLUMNS("{'a': " spec "}")
/* table t (one integer column) with extra table keys */
#define TABLE_KEYS(keys)                                                                           \
    "{" DB ", 'tables': {'t': {'columns': {'a': {'type': 'integer'}}, " keys "}}}"
/* an extra top-level section next to database and table t */
#define SECTION(section) "{" DB ", " section ", 'tables': {" TABLE_T "}}"

/* The variables the loader reads; every test starts and ends without them. */
static const char *const loader_variables[] = {"RESTABLE_DATABASE_URL",
                                               "DATABASE_URL",
                                               "RESTABLE_HOST",
                                               "RESTABLE_PORT",
                                               "RESTABLE_JWT_SECRET",
                                               "TCL_A",
                                               "TCL_B",
                                               "TCL_C",
                                               "TCL_UNSET",
                                               "JWT_SECRET",
                                               NULL};

static int clean_environment(void **state)
{
    (void)state;
    for (size_t i = 0; loader_variables[i]; i++)
        unsetenv(loader_variables[i]);
    return 0;
}

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

static void print_errors(const struct cfg_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        print_message("  got: %s\n", errors->messages[i]);
}

/* Loads text (with ' for ") and expects exactly the messages given, in order. */
static void expect_errors(const char *text, const char *const *expected, size_t count)
{
    char *json = quoted(text);
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(json, FILE_NAME, &errors);
    free(json);
    assert_null(config);
    if (errors.count != count)
        print_errors(&errors);
    assert_int_equal(errors.count, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(errors.messages[i], expected[i]);
    cfg_errors_free(&errors);
}

static void expect_error(const char *text, const char *expected)
{
    expect_errors(text, &expected, 1);
}

static struct cfg_config *load_ok(const char *text)
{
    char *json = quoted(text);
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(json, FILE_NAME, &errors);
    free(json);
    if (!config)
        print_errors(&errors);
    assert_non_null(config);
    assert_int_equal(errors.count, 0);
    cfg_errors_free(&errors);
    return config;
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

/* ---- broken configs: one message each ---------------------------------------------------- */

#define BROKEN(name, text, message)                                                                \
    static void name(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        expect_error(text, message);                                                               \
    }

BROKEN(test_load_rejects_column_renamed_from_a_declared_column,
       COLUMNS("{'a': {'type': 'integer'}, 'b': {'type': 'integer', 'renamed_from': 'a'}}"),
       FILE_NAME ": tables.t.columns.b.renamed_from: column \"a\" is still declared in table t")
BROKEN(test_load_rejects_column_renamed_from_itself,
       COLUMN("{'type': 'integer', 'renamed_from': 'a'}"),
       FILE_NAME ": tables.t.columns.a.renamed_from: is the column's own name")
BROKEN(test_load_rejects_table_renamed_from_a_declared_table,
       "{" DB ", 'tables': {" TABLE_T ", 'u': {'renamed_from': 't', 'columns': {}}}}",
       FILE_NAME ": tables.u.renamed_from: table \"t\" is still declared")

BROKEN(test_load_rejects_unknown_top_level_metrics_key,
       "{" DB ", 'metrics': {'open': true}, 'tables': {" TABLE_T "}}",
       FILE_NAME ": metrics.open: unknown key")

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

BROKEN(test_load_rejects_unknown_type_with_suggestion,
       "{" DB ", 'tables': {'movie': {'columns': {'rating': {'type': 'integr'}}}}}",
       FILE_NAME ": tables.movie.columns.rating.type: unknown type \"integr\" (did you mean "
                 "\"integer\"?)")
BROKEN(test_load_rejects_unknown_type_listing_known_types, COLUMN("{'type': 'wibble'}"),
       FILE_NAME ": tables.t.columns.a.type: unknown type \"wibble\" (known types: varchar, "
                 "text, email, integer, bigint, smallint, serial, bigserial, boolean, numeric, "
                 "real, double, timestamp, timestamptz, date, time, interval, uuid, json, jsonb, "
                 "bytea, array, foreign_key)")
BROKEN(test_load_rejects_unknown_top_level_key_with_suggestion,
       "{" DB ", 'tabels': {}, 'tables': {" TABLE_T "}}",
       FILE_NAME ": tabels: unknown key (did you mean \"tables\"?)")
BROKEN(test_load_rejects_unknown_table_key_with_suggestion, TABLE_KEYS("'page_sise': 3"),
       FILE_NAME ": tables.t.page_sise: unknown key (did you mean \"page_size\"?)")
BROKEN(test_load_rejects_unknown_column_key_with_suggestion,
       COLUMN("{'type': 'integer', 'nul': true}"),
       FILE_NAME ": tables.t.columns.a.nul: unknown key (did you mean \"null\"?)")
BROKEN(test_load_rejects_boolean_port, SECTION("'server': {'port': true}"),
       FILE_NAME ": server.port: expected an integer between 1 and 65535, got true")
BROKEN(test_load_rejects_object_port, SECTION("'server': {'port': {}}"),
       FILE_NAME ": server.port: expected an integer between 1 and 65535, got an object")
BROKEN(test_load_rejects_boolean_page_size, TABLE_KEYS("'page_size': true"),
       FILE_NAME ": tables.t.page_size: expected an integer between 1 and 1000000, got true")
BROKEN(test_load_rejects_string_null_flag, COLUMN("{'type': 'integer', 'null': 'yes'}"),
       FILE_NAME ": tables.t.columns.a.null: expected true or false, got \"yes\"")
BROKEN(test_load_rejects_port_out_of_range, SECTION("'server': {'port': 70000}"),
       FILE_NAME ": server.port: expected an integer between 1 and 65535, got 70000")
BROKEN(test_load_rejects_port_zero, SECTION("'server': {'port': 0}"),
       FILE_NAME ": server.port: expected an integer between 1 and 65535, got 0")
BROKEN(test_load_rejects_invalid_table_name,
       "{" DB ", 'tables': {'Movie': {'columns': {'a': {'type': 'integer'}}}}}",
       FILE_NAME ": tables.Movie: invalid table name \"Movie\" (use [a-z_][a-z0-9_]{0,62})")
BROKEN(test_load_rejects_restable_prefixed_table,
       "{" DB ", 'tables': {'restable_x': {'columns': {'a': {'type': 'integer'}}}}}",
       FILE_NAME ": tables.restable_x: names starting with \"restable_\" are reserved for "
                 "restable")
BROKEN(test_load_rejects_invalid_column_name, COLUMNS("{'9a': {'type': 'integer'}}"),
       FILE_NAME ": tables.t.columns.9a: invalid column name \"9a\" (use [a-z_][a-z0-9_]{0,62})")
BROKEN(test_load_rejects_length_on_integer, COLUMN("{'type': 'integer', 'length': 10}"),
       FILE_NAME ": tables.t.columns.a.length: does not apply to integer columns (only varchar "
                 "and email columns, and arrays of them)")
BROKEN(test_load_rejects_negative_varchar_length, COLUMN("{'type': 'varchar', 'length': -1}"),
       FILE_NAME ": tables.t.columns.a.length: expected an integer between 1 and 10485760, "
                 "got -1")
BROKEN(test_load_rejects_column_without_type, COLUMN("{'null': true}"),
       FILE_NAME ": tables.t.columns.a.type: required")
BROKEN(test_load_rejects_array_without_of, COLUMN("{'type': 'array'}"),
       FILE_NAME ": tables.t.columns.a.of: required for an array column (the element type, "
                 "e.g. \"varchar\")")
BROKEN(test_load_rejects_array_of_array, COLUMN("{'type': 'array', 'of': 'array'}"),
       FILE_NAME ": tables.t.columns.a.of: an array cannot hold array values (use any type but "
                 "array, foreign_key, serial and bigserial)")
BROKEN(test_load_rejects_of_on_non_array, COLUMN("{'type': 'varchar', 'of': 'integer'}"),
       FILE_NAME ": tables.t.columns.a.of: does not apply to varchar columns (only array "
                 "columns)")
BROKEN(test_load_rejects_foreign_key_without_references, COLUMN("{'type': 'foreign_key'}"),
       FILE_NAME ": tables.t.columns.a.references: required for a foreign_key column (the "
                 "referenced table)")
BROKEN(test_load_rejects_reference_to_unknown_table_with_suggestion,
       "{" DB ", 'tables': {'director': {'columns': {'a': {'type': 'integer'}}}, 't': "
       "{'columns': {'a': {'type': 'foreign_key', 'references': 'directr'}}}}}",
       FILE_NAME ": tables.t.columns.a.references: no table \"directr\" (did you mean "
                 "\"director\"?)")
BROKEN(test_load_rejects_unknown_on_delete_action,
       "{" DB ", 'tables': {'d': {'columns': {}}, 't': {'columns': {'a': {'type': "
       "'foreign_key', 'references': 'd', 'on_delete': 'explode'}}}}}",
       FILE_NAME ": tables.t.columns.a.on_delete: expected \"cascade\", \"restrict\", \"set "
                 "null\", \"set default\" or \"no action\", got \"explode\"")
BROKEN(test_load_rejects_misspelt_on_delete_action_with_suggestion,
       "{" DB ", 'tables': {'d': {'columns': {}}, 't': {'columns': {'a': {'type': "
       "'foreign_key', 'references': 'd', 'on_delete': 'cascde'}}}}}",
       FILE_NAME ": tables.t.columns.a.on_delete: unknown action \"cascde\" (did you mean "
                 "\"cascade\"?)")
BROKEN(test_load_rejects_set_null_on_non_null_column,
       "{" DB ", 'tables': {'d': {'columns': {}}, 't': {'columns': {'a': {'type': "
       "'foreign_key', 'references': 'd', 'on_delete': 'set null'}}}}}",
       FILE_NAME ": tables.t.columns.a.on_delete: \"set null\" needs \"null\": true on the "
                 "column")
BROKEN(test_load_rejects_two_primary_keys,
       COLUMNS("{'a': {'type': 'integer', 'primary_key': true}, 'b': {'type': 'integer', "
               "'primary_key': true}}"),
       FILE_NAME ": tables.t.columns.b.primary_key: a table has one primary key, and \"a\" is "
                 "already it")
BROKEN(test_load_rejects_id_column_without_primary_key, COLUMNS("{'id': {'type': 'integer'}}"),
       FILE_NAME ": tables.t.columns.id: conflicts with the implicit primary key \"id\" (add "
                 "\"primary_key\": true to a column, or rename this one)")
BROKEN(test_load_rejects_unknown_readable_column_with_suggestion,
       "{" DB ", 'tables': {'t': {'columns': {'name': {'type': 'text'}}, 'readable': 'nam'}}}",
       FILE_NAME ": tables.t.readable: no column \"nam\" in table t (did you mean \"name\"?)")
BROKEN(test_load_rejects_secret_readable_column,
       "{" DB ", 'tables': {'t': {'columns': {'name': {'type': 'text', 'secret': true}}, "
       "'readable': 'name'}}}",
       FILE_NAME ": tables.t.readable: \"name\" is secret and cannot be readable")
BROKEN(test_load_rejects_choices_of_wrong_type, COLUMN("{'type': 'integer', 'choices': ['x', 2]}"),
       FILE_NAME ": tables.t.columns.a.choices[0]: expected an integer between -2147483648 and "
                 "2147483647, got \"x\"")
BROKEN(test_load_rejects_default_of_wrong_type, COLUMN("{'type': 'integer', 'default': 'x'}"),
       FILE_NAME ": tables.t.columns.a.default: expected an integer between -2147483648 and "
                 "2147483647, got \"x\"")
BROKEN(test_load_rejects_default_now_on_integer, COLUMN("{'type': 'integer', 'default': 'now'}"),
       FILE_NAME ": tables.t.columns.a.default: expected an integer between -2147483648 and "
                 "2147483647, got \"now\"")
BROKEN(test_load_rejects_default_uuid4_on_integer,
       COLUMN("{'type': 'integer', 'default': 'uuid4'}"),
       FILE_NAME ": tables.t.columns.a.default: expected an integer between -2147483648 and "
                 "2147483647, got \"uuid4\"")
BROKEN(test_load_rejects_default_uuid4_on_date, COLUMN("{'type': 'date', 'default': 'uuid4'}"),
       FILE_NAME ": tables.t.columns.a.default: expected a date like \"2024-01-31\" or \"now\", "
                 "got \"uuid4\"")
BROKEN(test_load_rejects_default_on_serial, COLUMN("{'type': 'serial', 'default': 1}"),
       FILE_NAME ": tables.t.columns.a.default: serial columns take their values from a "
                 "sequence (remove \"default\")")
BROKEN(test_load_rejects_max_page_size_below_page_size,
       TABLE_KEYS("'page_size': 50, 'max_page_size': 20"),
       FILE_NAME ": tables.t.max_page_size: must be at least page_size (50), got 20")
BROKEN(test_load_rejects_max_joins_above_four, TABLE_KEYS("'max_joins': 5"),
       FILE_NAME ": tables.t.max_joins: expected an integer between 0 and 4, got 5")
BROKEN(test_load_rejects_secret_shorter_than_32_bytes,
       SECTION("'auth': {'jwt': {'secret': 'short'}}"),
       FILE_NAME ": auth.jwt.secret: must be at least 32 bytes (got 5)")
BROKEN(test_load_rejects_login_without_secret, SECTION("'auth': {'login': {'enabled': true}}"),
       FILE_NAME ": auth.login.enabled: login signs its tokens with auth.jwt.secret: configure "
                 "an HS256, HS384 or HS512 secret")
BROKEN(test_load_rejects_unknown_algorithm_with_suggestion,
       SECTION("'auth': {'jwt': {'secret': '" SECRET "', 'algorithm': 'HS265'}}"),
       FILE_NAME ": auth.jwt.algorithm: unknown algorithm \"HS265\" (did you mean \"HS256\"?)")
BROKEN(test_load_rejects_bad_grant_string,
       "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}}, 'tables': {'t': {'columns': {}, "
       "'auth': {'write': ['scope']}}}}",
       FILE_NAME ": tables.t.auth.write[0]: expected \"scope:NAME\" or \"role:NAME\", got "
                 "\"scope\"")
BROKEN(test_load_rejects_grant_outside_a_list,
       "{" DB ", 'auth': {'jwt': {'secret': '" SECRET "'}}, 'tables': {'t': {'columns': {}, "
       "'auth': {'write': 'scope:x'}}}}",
       FILE_NAME ": tables.t.auth.write: grants go in a list: [\"scope:x\"]")
BROKEN(test_load_rejects_authenticated_policy_without_key,
       "{" DB ", 'tables': {'t': {'columns': {}, 'auth': {'write': 'authenticated'}}}}",
       FILE_NAME ": tables.t.auth.write: only \"public\" works without a JWT key (set "
                 "auth.jwt.secret or auth.jwt.public_key_file)")
BROKEN(test_load_rejects_missing_database_url, "{'tables': {" TABLE_T "}}",
       FILE_NAME ": database.url: required (or set RESTABLE_DATABASE_URL or DATABASE_URL)")
BROKEN(test_load_rejects_missing_tables, "{" DB "}",
       FILE_NAME ": tables: declare at least one table")
BROKEN(test_load_rejects_empty_tables, "{" DB ", 'tables': {}}",
       FILE_NAME ": tables: declare at least one table")
BROKEN(test_load_rejects_top_level_array, "[1]",
       FILE_NAME ": expected a JSON object at the top level, got an array")

static void test_load_rejects_every_reserved_table_name(void **state)
{
    (void)state;
    static const char *const names[] = {"auth",   "admin",   "docs",   "healthz",
                                        "readyz", "metrics", "openapi"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[256], message[256];
        snprintf(text, sizeof text, "{" DB ", 'tables': {'%s': {'columns': {}}}}", names[i]);
        snprintf(message, sizeof message,
                 FILE_NAME ": tables.%s: \"%s\" is a reserved path (auth, admin, docs, healthz, "
                           "readyz, metrics, openapi) and cannot be a table name",
                 names[i], names[i]);
        expect_error(text, message);
    }
}

static void test_load_reports_invalid_json_with_line_and_column(void **state)
{
    (void)state;
    expect_error("{" DB ",\n 'tables': {,}}",
                 FILE_NAME ": line 2, column 13: string or '}' expected near ','");
}

static void test_load_reports_missing_file(void **state)
{
    (void)state;
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load("/nonexistent/restable-test/restable.json", &errors);
    assert_null(config);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.messages[0], "/nonexistent/restable-test/restable.json: cannot "
                                            "read: No such file or directory");
    cfg_errors_free(&errors);
}

static void test_load_reports_every_problem_at_once(void **state)
{
    (void)state;
    /* table settings are read before the table's columns */
    static const char *const expected[] = {
        FILE_NAME ": server.hots: unknown key (did you mean \"host\"?)",
        FILE_NAME ": server.port: expected an integer between 1 and 65535, got 0",
        FILE_NAME ": database.url: required (or set RESTABLE_DATABASE_URL or DATABASE_URL)",
        FILE_NAME ": tables.t.max_joins: expected an integer between 0 and 4, got 9",
        FILE_NAME ": tables.t.columns.a.type: unknown type \"integr\" (did you mean "
                  "\"integer\"?)",
    };
    expect_errors("{'server': {'port': 0, 'hots': 'x'}, 'database': {}, 'tables': {'t': "
                  "{'columns': {'a': {'type': 'integr'}}, 'max_joins': 9}}}",
                  expected, sizeof expected / sizeof expected[0]);
}

/* ---- ${VAR} and environment overrides ---------------------------------------------------- */

static void test_load_substitutes_set_variable(void **state)
{
    (void)state;
    setenv("TCL_A", "postgresql://from-env/db", 1);
    struct cfg_config *config =
        load_ok("{'database': {'url': '${TCL_A}'}, 'tables': {" TABLE_T "}}");
    assert_string_equal(config->database.url, "postgresql://from-env/db");
    cfg_free(config);
}

static void test_load_reports_unset_variable_with_its_path(void **state)
{
    (void)state;
    expect_error("{'database': {'url': 'postgresql://${TCL_UNSET}/db'}, 'tables': {" TABLE_T "}}",
                 FILE_NAME ": database.url: environment variable TCL_UNSET is not set");
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
    clean_environment(NULL);
}

static void test_load_database_url_may_come_from_environment_only(void **state)
{
    (void)state;
    setenv("DATABASE_URL", "postgresql://only-env/db", 1);
    struct cfg_config *config = load_ok("{'tables': {" TABLE_T "}}");
    assert_string_equal(config->database.url, "postgresql://only-env/db");
    cfg_free(config);
    clean_environment(NULL);
}

static void test_load_rejects_bad_restable_port(void **state)
{
    (void)state;
    setenv("RESTABLE_PORT", "eighty", 1);
    expect_error("{" DB ", 'tables': {" TABLE_T "}}",
                 FILE_NAME ": server.port: environment variable RESTABLE_PORT: expected an "
                           "integer between 1 and 65535, got \"eighty\"");
    setenv("RESTABLE_PORT", "65536", 1);
    expect_error("{" DB ", 'tables': {" TABLE_T "}}",
                 FILE_NAME ": server.port: environment variable RESTABLE_PORT: expected an "
                           "integer between 1 and 65535, got \"65536\"");
    clean_environment(NULL);
}

/* ---- valid configs ----------------------------------------------------------------------- */

static void test_load_adds_implicit_serial_id_first(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(COLUMNS("{'z': {'type': 'text'}, 'b': {'type': "
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
    struct cfg_config *config = load_ok(
        COLUMNS("{'x': {'type': 'text'}, 'code': {'type': 'varchar', 'length': 8, 'primary_key': "
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
    assert_string_equal(config->path, FILE_NAME);
    assert_string_equal(config->server.host, "0.0.0.0");
    assert_int_equal(config->server.port, 8080);
    assert_int_equal(config->server.threads, 0);
    assert_int_equal(config->server.max_body_bytes, 1048576);
    assert_string_equal(config->server.base_path, "/");
    assert_int_equal(config->server.cors_origin_count, 0);
    assert_int_equal(config->database.pool_size, 8);
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
    /* no file behind the name: the folder is the working directory */
    char *cwd = getcwd(NULL, 0);
    assert_non_null(cwd);
    char expected[4096];
    snprintf(expected, sizeof expected, "%s/migrations", cwd);
    free(cwd);
    assert_string_equal(config->migrations_dir, expected);
    const struct cfg_table *table = cfg_table_find(config, "t");
    assert_int_equal(table->page_size, 15);
    assert_int_equal(table->max_page_size, 1000);
    assert_int_equal(table->max_joins, 0);
    assert_false(table->read_only);
    assert_false(table->allow_bulk_delete);
    assert_false(table->allow_bulk_update);
    assert_null(table->readable);
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
        snprintf(text, sizeof text, SECTION("'server': {'base_path': '%s'}"), given[i]);
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
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"database\": {\"url\": \"postgresql://x\"}, \"migrations_dir\": \"db/migrations\","
          " \"tables\": {\"t\": {\"columns\": {}}}}",
          file);
    assert_int_equal(fclose(file), 0);

    struct cfg_errors errors;
    struct cfg_config *config = cfg_load(path, &errors);
    if (!config)
        print_errors(&errors);
    assert_non_null(config);
    assert_int_equal(errors.count, 0);
    snprintf(expected, sizeof expected, "%s/db/migrations", real);
    assert_string_equal(config->migrations_dir, expected);
    assert_string_equal(config->directory, real);
    assert_string_equal(config->path, path);
    cfg_free(config);
    cfg_errors_free(&errors);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(folder), 0);
    free(real);
}

static void test_load_keeps_absolute_migrations_dir(void **state)
{
    (void)state;
    struct cfg_config *config = load_ok(SECTION("'migrations_dir': '/srv/migrations/'"));
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
    struct cfg_config *config = load_ok(SECTION("'auth': {'jwt': {'secret': '" SECRET "'}}"));
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
    struct cfg_config *config = load_ok(
        COLUMNS("{'tags': {'type': 'array', 'of': 'varchar', 'length': 20}, 'scores': {'type': "
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
    struct cfg_config *config = load_ok(COLUMN("{'type': 'email'}"));
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
    struct cfg_config *config = load_ok(COLUMNS("{'a': {'type': 'varchar', 'default': 'uuid4'},"
                                                " 'b': {'type': 'text', 'default': 'now'},"
                                                " 'c': {'type': 'date', 'default': 'now'}}"));
    const struct cfg_column *a = column_of(config, "t", "a");
    assert_int_equal(a->default_kind, CFG_DEFAULT_VALUE);
    assert_string_equal(json_string_value(a->default_value), "uuid4");
    assert_int_equal(column_of(config, "t", "b")->default_kind, CFG_DEFAULT_VALUE);
    assert_int_equal(column_of(config, "t", "c")->default_kind, CFG_DEFAULT_NOW);
    cfg_free(config);
}

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

#define JWT_SECRET_VALUE "0123456789012345678901234567890123456789"

static void test_load_spec_example(void **state)
{
    (void)state;
    setenv("JWT_SECRET", JWT_SECRET_VALUE, 1);
    struct cfg_config *config = load_ok(spec_example);
    assert_int_equal(config->server.cors_origin_count, 1);
    assert_string_equal(config->server.cors_origins[0], "https://app.example.com");
    assert_string_equal(config->database.url, "postgresql://app@localhost:5432/app");
    assert_int_equal(config->auth.algorithm, CFG_JWT_HS256);
    assert_string_equal(config->auth.secret, JWT_SECRET_VALUE);
    assert_string_equal(config->auth.issuer, "restable");
    assert_null(config->auth.audience);
    assert_true(config->auth.login_enabled);
    assert_policy(&config->auth.default_read, CFG_POLICY_PUBLIC);
    assert_policy(&config->auth.default_write, CFG_POLICY_AUTHENTICATED);

    assert_int_equal(config->table_count, 2);
    assert_string_equal(config->tables[0].name, "director");
    assert_string_equal(config->tables[1].name, "movie");

    const struct cfg_table *director = &config->tables[0];
    assert_int_equal(director->column_count, 2);
    assert_true(cfg_primary_key(director)->is_implicit);
    assert_ptr_equal(director->readable, cfg_column_find(director, "name"));
    assert_true(director->readable->is_unique);
    assert_int_equal(director->readable->length, 100);
    assert_policy(&director->write, CFG_POLICY_AUTHENTICATED);

    const struct cfg_table *movie = &config->tables[1];
    static const char *const names[] = {"id",       "name",    "rating", "director",
                                        "released", "created", "tags",   "api_key"};
    assert_int_equal(movie->column_count, 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(movie->columns[i].name, names[i]);
    assert_int_equal(movie->max_joins, 1);
    const struct cfg_column *rating = cfg_column_find(movie, "rating");
    assert_true(rating->has_index);
    assert_int_equal(rating->default_kind, CFG_DEFAULT_VALUE);
    assert_int_equal(json_integer_value(rating->default_value), 0);
    const struct cfg_column *fk = cfg_column_find(movie, "director");
    assert_int_equal(fk->type, CFG_TYPE_FOREIGN_KEY);
    assert_int_equal(fk->value_type, CFG_TYPE_INTEGER);
    assert_string_equal(fk->references, "director");
    assert_ptr_equal(fk->referenced_table, director);
    assert_true(fk->is_nullable);
    assert_int_equal(fk->on_delete, CFG_FK_CASCADE);
    assert_int_equal(fk->on_update, CFG_FK_NO_ACTION);
    assert_true(json_is_false(cfg_column_find(movie, "released")->default_value));
    assert_int_equal(cfg_column_find(movie, "created")->default_kind, CFG_DEFAULT_NOW);
    assert_int_equal(cfg_column_find(movie, "tags")->value_type, CFG_TYPE_VARCHAR);
    assert_true(cfg_column_find(movie, "api_key")->is_secret);

    assert_policy(&movie->read, CFG_POLICY_PUBLIC);
    assert_policy(&movie->write, CFG_POLICY_GRANTS);
    assert_int_equal(movie->write.grant_count, 1);
    assert_string_equal(movie->write.grants[0], "scope:movies:write");
    assert_policy(&movie->delete_, CFG_POLICY_GRANTS);
    assert_int_equal(movie->delete_.grant_count, 1);
    assert_string_equal(movie->delete_.grants[0], "role:admin");
    cfg_free(config);
    unsetenv("JWT_SECRET");
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
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    cfg_print_summary(config, out);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(text,
                        "a: 2 columns, primary key id (serial), 0 foreign keys, read public / "
                        "write authenticated / delete authenticated; read-only, bulk update\n"
                        "b: 3 columns, primary key code (uuid), 2 foreign keys, read public / "
                        "write authenticated / delete [role:admin, scope:b]\n");
    free(text);
    cfg_free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, clean_environment, clean_environment)
        T(test_load_rejects_column_renamed_from_a_declared_column),
        T(test_load_rejects_column_renamed_from_itself),
        T(test_load_rejects_table_renamed_from_a_declared_table),
        T(test_load_reads_renames_and_index_off),
        T(test_load_rejects_unknown_top_level_metrics_key),
        T(test_load_reads_top_level_metrics_public),
        T(test_load_rejects_unknown_type_with_suggestion),
        T(test_load_rejects_unknown_type_listing_known_types),
        T(test_load_rejects_unknown_top_level_key_with_suggestion),
        T(test_load_rejects_unknown_table_key_with_suggestion),
        T(test_load_rejects_unknown_column_key_with_suggestion),
        T(test_load_rejects_boolean_port),
        T(test_load_rejects_object_port),
        T(test_load_rejects_boolean_page_size),
        T(test_load_rejects_string_null_flag),
        T(test_load_rejects_port_out_of_range),
        T(test_load_rejects_port_zero),
        T(test_load_rejects_invalid_table_name),
        T(test_load_rejects_every_reserved_table_name),
        T(test_load_rejects_restable_prefixed_table),
        T(test_load_rejects_invalid_column_name),
        T(test_load_rejects_length_on_integer),
        T(test_load_rejects_negative_varchar_length),
        T(test_load_rejects_column_without_type),
        T(test_load_rejects_array_without_of),
        T(test_load_rejects_array_of_array),
        T(test_load_rejects_of_on_non_array),
        T(test_load_rejects_foreign_key_without_references),
        T(test_load_rejects_reference_to_unknown_table_with_suggestion),
        T(test_load_rejects_unknown_on_delete_action),
        T(test_load_rejects_misspelt_on_delete_action_with_suggestion),
        T(test_load_rejects_set_null_on_non_null_column),
        T(test_load_rejects_two_primary_keys),
        T(test_load_rejects_id_column_without_primary_key),
        T(test_load_rejects_unknown_readable_column_with_suggestion),
        T(test_load_rejects_secret_readable_column),
        T(test_load_rejects_choices_of_wrong_type),
        T(test_load_rejects_default_of_wrong_type),
        T(test_load_rejects_default_now_on_integer),
        T(test_load_rejects_default_uuid4_on_integer),
        T(test_load_rejects_default_uuid4_on_date),
        T(test_load_rejects_default_on_serial),
        T(test_load_rejects_max_page_size_below_page_size),
        T(test_load_rejects_max_joins_above_four),
        T(test_load_rejects_secret_shorter_than_32_bytes),
        T(test_load_rejects_login_without_secret),
        T(test_load_rejects_unknown_algorithm_with_suggestion),
        T(test_load_rejects_bad_grant_string),
        T(test_load_rejects_grant_outside_a_list),
        T(test_load_rejects_authenticated_policy_without_key),
        T(test_load_rejects_missing_database_url),
        T(test_load_rejects_missing_tables),
        T(test_load_rejects_empty_tables),
        T(test_load_rejects_top_level_array),
        T(test_load_reports_invalid_json_with_line_and_column),
        T(test_load_reports_missing_file),
        T(test_load_reports_every_problem_at_once),
        T(test_load_substitutes_set_variable),
        T(test_load_reports_unset_variable_with_its_path),
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
        T(test_load_spec_example),
        T(test_print_summary_one_line_per_table),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
