/*
 * tests/unit/test_migrate.c — DDL from declared tables (golden text, no database) and the
 * migrations commands against a real PostgreSQL: every database test gets a fresh database
 * of its own (mig_test_<pid>_<n>) and a fresh migrations folder. Database tests skip when
 * RESTABLE_TEST_DATABASE_URL is unset. Tables are declared by hand, not loaded from JSON, so
 * these tests do not depend on the config loader.
 */
#include <dirent.h>
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

#include "orm/orm.h"
#include "orm/schema_internal.h" /* the type normaliser */

/* ---- declared tables, by hand ------------------------------------------------------------ */

#define MAX_TABLES 4
#define MAX_COLUMNS 24

struct fixture {
    struct cfg_config config;
    struct cfg_table tables[MAX_TABLES];
    struct cfg_column columns[MAX_TABLES][MAX_COLUMNS];
    char folder[64];     /* mkdtemp: holds migrations/ */
    char migrations[96]; /* folder + "/migrations", created by `new` */
    PGconn *conn;        /* NULL without RESTABLE_TEST_DATABASE_URL */
    char database[64];
};

static struct cfg_table *add_table(struct fixture *f, const char *name)
{
    struct cfg_table *table = &f->tables[f->config.table_count];
    *table = (struct cfg_table){.name = (char *)name,
                                .columns = f->columns[f->config.table_count],
                                .page_size = 15,
                                .max_page_size = 1000};
    f->config.table_count++;
    return table;
}

static struct cfg_column *add_column(struct cfg_table *table, const char *name, enum cfg_type type)
{
    struct cfg_column *column = &table->columns[table->column_count++];
    *column = (struct cfg_column){.name = (char *)name, .type = type, .value_type = type};
    if (type == CFG_TYPE_ARRAY)
        column->value_type = CFG_TYPE_VARCHAR;
    return column;
}

static void add_id(struct cfg_table *table)
{
    struct cfg_column *id = add_column(table, "id", CFG_TYPE_SERIAL);
    id->is_primary_key = id->is_implicit = true;
    table->primary_key = table->column_count - 1;
}

static struct cfg_column *add_reference(struct cfg_table *table, const char *name,
                                        const struct cfg_table *target)
{
    struct cfg_column *column = add_column(table, name, CFG_TYPE_FOREIGN_KEY);
    column->value_type = CFG_TYPE_INTEGER;
    column->references = target->name;
    column->referenced_table = target;
    return column;
}

/* SPEC §2's director and movie, movie declared first: director must still be created first. */
static void declare_movies(struct fixture *f)
{
    struct cfg_table *movie = add_table(f, "movie");
    struct cfg_table *director = add_table(f, "director");
    add_id(director);
    struct cfg_column *name = add_column(director, "name", CFG_TYPE_VARCHAR);
    name->length = 100;
    name->is_unique = true;
    director->readable = name;

    add_id(movie);
    add_column(movie, "name", CFG_TYPE_VARCHAR)->length = 200;
    struct cfg_column *rating = add_column(movie, "rating", CFG_TYPE_INTEGER);
    rating->default_kind = CFG_DEFAULT_VALUE;
    rating->default_value = json_integer(0);
    rating->has_index = true;
    struct cfg_column *fk = add_reference(movie, "director", director);
    fk->is_nullable = true;
    fk->on_delete = CFG_FK_CASCADE;
    struct cfg_column *released = add_column(movie, "released", CFG_TYPE_BOOLEAN);
    released->default_kind = CFG_DEFAULT_VALUE;
    released->default_value = json_false();
    add_column(movie, "created", CFG_TYPE_TIMESTAMPTZ)->default_kind = CFG_DEFAULT_NOW;
    add_column(movie, "tags", CFG_TYPE_ARRAY);
    struct cfg_column *api_key = add_column(movie, "api_key", CFG_TYPE_VARCHAR);
    api_key->length = 64;
    api_key->is_secret = true;
}

/* Tables a and b that reference each other (and b itself): a cycle of foreign keys. */
static void declare_cycle(struct fixture *f)
{
    struct cfg_table *a = add_table(f, "a");
    struct cfg_table *b = add_table(f, "b");
    add_id(a);
    add_id(b);
    add_reference(a, "b", b)->is_nullable = true;
    add_reference(b, "a", a)->is_nullable = true;
    add_reference(b, "parent", b)->is_nullable = true;
}

static void free_fixture_json(struct fixture *f)
{
    for (size_t t = 0; t < MAX_TABLES; t++)
        for (size_t c = 0; c < MAX_COLUMNS; c++)
            json_decref(f->columns[t][c].default_value);
}

/* ---- databases and folders --------------------------------------------------------------- */

static int database_counter;

/* The test URL with its database name replaced. */
static char *url_for(const char *database)
{
    const char *url = getenv("RESTABLE_TEST_DATABASE_URL");
    const char *authority = strstr(url, "://");
    authority = authority ? authority + 3 : url;
    const char *path = strchr(authority, '/');
    const char *query = strchr(authority, '?');
    size_t prefix = path ? (size_t)(path - url) : query ? (size_t)(query - url) : strlen(url);
    struct sb out = {0};
    sb_append_n(&out, url, prefix);
    sb_appendf(&out, "/%s%s", database, query ? query : "");
    return sb_take(&out);
}

static void admin_exec(const char *sql)
{
    PGconn *admin = PQconnectdb(getenv("RESTABLE_TEST_DATABASE_URL"));
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    PGresult *result = PQexec(admin, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(admin));
    PQclear(result);
    PQfinish(admin);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->folder, sizeof f->folder, "/tmp/restable-migrate.XXXXXX");
    assert_non_null(mkdtemp(f->folder));
    snprintf(f->migrations, sizeof f->migrations, "%s/migrations", f->folder);
    f->config.migrations_dir = f->migrations;
    f->config.tables = f->tables;
    if (getenv("RESTABLE_TEST_DATABASE_URL")) {
        snprintf(f->database, sizeof f->database, "mig_test_%d_%d", (int)getpid(),
                 ++database_counter);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->database);
        admin_exec(sql);
        char *url = url_for(f->database);
        struct rs_error error = {0};
        f->conn = orm_connect_sync(url, &error);
        free(url);
        if (!f->conn)
            fail_msg("%s", error.message);
    }
    *state = f;
    return 0;
}

static void remove_folder(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        const struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[512];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            struct stat info;
            if (lstat(child, &info) == 0 && S_ISDIR(info.st_mode))
                remove_folder(child);
            else
                unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->conn) {
        PQfinish(f->conn);
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->database);
        admin_exec(sql);
    }
    remove_folder(f->folder);
    free_fixture_json(f);
    free(f);
    return 0;
}

#define NEED_DATABASE(f)                                                                           \
    do {                                                                                           \
        if (!(f)->conn)                                                                            \
            skip();                                                                                \
    } while (0)

/* First value of the first row, or NULL when there is no row; caller frees. */
static char *query_value(PGconn *conn, const char *sql)
{
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    char *value = PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)
                      ? strdup(PQgetvalue(result, 0, 0))
                      : NULL;
    PQclear(result);
    return value;
}

static void assert_query(PGconn *conn, const char *sql, const char *expected)
{
    char *value = query_value(conn, sql);
    bool is_expected = expected ? value && strcmp(value, expected) == 0 : value == NULL;
    if (!is_expected)
        print_error("%s\n  gave %s\n  expected %s\n", sql, value ? value : "(NULL)",
                    expected ? expected : "(NULL)");
    free(value);
    assert_true(is_expected);
}

static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(result);
}

/* Captures what a command prints. */
struct capture {
    FILE *out;
    char *text;
    size_t size;
};

static FILE *capture_start(struct capture *capture)
{
    free(capture->text);
    *capture = (struct capture){0};
    capture->out = open_memstream(&capture->text, &capture->size);
    assert_non_null(capture->out);
    return capture->out;
}

static const char *capture_end(struct capture *capture)
{
    assert_int_equal(fclose(capture->out), 0);
    capture->out = NULL;
    return capture->text;
}

static void capture_free(struct capture *capture)
{
    free(capture->text);
    capture->text = NULL;
}

static char *read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    struct sb text = {0};
    char buffer[1024];
    size_t count;
    while ((count = fread(buffer, 1, sizeof buffer, file)) > 0)
        sb_append_n(&text, buffer, count);
    fclose(file);
    return sb_take(&text);
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

static size_t count_files(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    size_t count = 0;
    const struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count;
}

/* orm_migrations_new, checked to have done what is expected; the path written, or NULL. */
static char *new_migration(const struct cfg_config *config, PGconn *conn,
                           const struct orm_new_options *options, struct rs_error *error,
                           enum orm_migration_result expected)
{
    struct orm_new_written written;
    enum orm_migration_result result =
        orm_migrations_new(config, conn, options, NULL, &written, error);
    if (result != expected)
        fail_msg("migrations new: %d (expected %d) %s", (int)result, (int)expected, error->message);
    return written.path;
}

static char *new_auto(struct fixture *f, const char *name)
{
    struct rs_error error = {0};
    return new_migration(&f->config, f->conn,
                         &(struct orm_new_options){.is_auto = true, .name = name}, &error,
                         ORM_MIGRATION_WROTE);
}

static void forwards_ok(struct fixture *f, const struct orm_forwards_options *options,
                        const char *expected_output)
{
    struct capture capture = {0};
    struct rs_error error = {0};
    int status =
        orm_migrations_forwards(&f->config, f->conn, options, capture_start(&capture), &error);
    const char *output = capture_end(&capture);
    if (status != 0)
        fail_msg("forwards: %s", error.message);
    if (expected_output && !strstr(output, expected_output))
        fail_msg("forwards printed:\n%s\nexpected it to contain: %s", output, expected_output);
    capture_free(&capture);
}

/* Writes the automatic migration of what is declared (named name) and applies it. */
static void migrate_all(struct fixture *f, const char *name)
{
    free(new_auto(f, name));
    forwards_ok(f, NULL, "applied ");
}

/* ---- DDL, no database -------------------------------------------------------------------- */

static void assert_ddl(const struct cfg_column *column, const char *expected)
{
    struct sb out = {0};
    orm_column_ddl_type(column, &out);
    if (strcmp(sb_text(&out), expected) != 0)
        fail_msg("%s: gave %s, expected %s", column->name, sb_text(&out), expected);
    sb_free(&out);
}

static void test_ddl_type_spells_every_type(void **state)
{
    (void)state;
    static const struct {
        enum cfg_type type, value_type;
        int length, precision, scale;
        const char *expected;
    } cases[] = {
        {CFG_TYPE_VARCHAR, CFG_TYPE_VARCHAR, 100, 0, 0, "varchar(100)"},
        {CFG_TYPE_VARCHAR, CFG_TYPE_VARCHAR, 0, 0, 0, "varchar"},
        {CFG_TYPE_TEXT, CFG_TYPE_TEXT, 0, 0, 0, "text"},
        {CFG_TYPE_EMAIL, CFG_TYPE_EMAIL, 0, 0, 0, "varchar(255)"},
        {CFG_TYPE_EMAIL, CFG_TYPE_EMAIL, 80, 0, 0, "varchar(80)"},
        {CFG_TYPE_INTEGER, CFG_TYPE_INTEGER, 0, 0, 0, "integer"},
        {CFG_TYPE_BIGINT, CFG_TYPE_BIGINT, 0, 0, 0, "bigint"},
        {CFG_TYPE_SMALLINT, CFG_TYPE_SMALLINT, 0, 0, 0, "smallint"},
        {CFG_TYPE_SERIAL, CFG_TYPE_SERIAL, 0, 0, 0, "serial"},
        {CFG_TYPE_BIGSERIAL, CFG_TYPE_BIGSERIAL, 0, 0, 0, "bigserial"},
        {CFG_TYPE_BOOLEAN, CFG_TYPE_BOOLEAN, 0, 0, 0, "boolean"},
        {CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, 0, 10, 2, "numeric(10,2)"},
        {CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, 0, 10, 0, "numeric(10)"},
        {CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, 0, 0, 0, "numeric"},
        {CFG_TYPE_REAL, CFG_TYPE_REAL, 0, 0, 0, "real"},
        {CFG_TYPE_DOUBLE, CFG_TYPE_DOUBLE, 0, 0, 0, "double precision"},
        {CFG_TYPE_TIMESTAMP, CFG_TYPE_TIMESTAMP, 0, 0, 0, "timestamp"},
        {CFG_TYPE_TIMESTAMPTZ, CFG_TYPE_TIMESTAMPTZ, 0, 0, 0, "timestamptz"},
        {CFG_TYPE_DATE, CFG_TYPE_DATE, 0, 0, 0, "date"},
        {CFG_TYPE_TIME, CFG_TYPE_TIME, 0, 0, 0, "time"},
        {CFG_TYPE_INTERVAL, CFG_TYPE_INTERVAL, 0, 0, 0, "interval"},
        {CFG_TYPE_UUID, CFG_TYPE_UUID, 0, 0, 0, "uuid"},
        {CFG_TYPE_JSON, CFG_TYPE_JSON, 0, 0, 0, "json"},
        {CFG_TYPE_JSONB, CFG_TYPE_JSONB, 0, 0, 0, "jsonb"},
        {CFG_TYPE_BYTEA, CFG_TYPE_BYTEA, 0, 0, 0, "bytea"},
        {CFG_TYPE_ARRAY, CFG_TYPE_VARCHAR, 0, 0, 0, "varchar[]"},
        {CFG_TYPE_ARRAY, CFG_TYPE_VARCHAR, 20, 0, 0, "varchar(20)[]"},
        {CFG_TYPE_ARRAY, CFG_TYPE_INTEGER, 0, 0, 0, "integer[]"},
        {CFG_TYPE_ARRAY, CFG_TYPE_NUMERIC, 0, 8, 3, "numeric(8,3)[]"},
        {CFG_TYPE_ARRAY, CFG_TYPE_EMAIL, 0, 0, 0, "varchar(255)[]"},
        {CFG_TYPE_FOREIGN_KEY, CFG_TYPE_INTEGER, 0, 0, 0, "integer"},
        {CFG_TYPE_FOREIGN_KEY, CFG_TYPE_SERIAL, 0, 0, 0, "integer"},
        {CFG_TYPE_FOREIGN_KEY, CFG_TYPE_BIGSERIAL, 0, 0, 0, "bigint"},
        {CFG_TYPE_FOREIGN_KEY, CFG_TYPE_UUID, 0, 0, 0, "uuid"},
    };
    bool is_covered[CFG_TYPE_COUNT] = {false};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_column column = {.name = (char *)cases[i].expected,
                                    .type = cases[i].type,
                                    .value_type = cases[i].value_type,
                                    .length = cases[i].length,
                                    .precision = cases[i].precision,
                                    .scale = cases[i].scale};
        assert_ddl(&column, cases[i].expected);
        is_covered[cases[i].type] = true;
    }
    for (int type = 0; type < CFG_TYPE_COUNT; type++)
        if (!is_covered[type])
            fail_msg("type %d has no case", type);
}

static void test_ddl_type_of_foreign_key_is_the_referenced_key_type(void **state)
{
    struct fixture *f = *state;
    struct cfg_table *country = add_table(f, "country");
    struct cfg_column *code = add_column(country, "code", CFG_TYPE_VARCHAR);
    code->length = 2;
    code->is_primary_key = true;
    struct cfg_table *event = add_table(f, "event");
    add_column(event, "id", CFG_TYPE_BIGSERIAL)->is_primary_key = true;
    struct cfg_table *city = add_table(f, "city");
    add_id(city);
    assert_ddl(add_reference(city, "country", country), "varchar(2)");
    assert_ddl(add_reference(city, "event", event), "bigint");
    struct cfg_column *unresolved = add_column(city, "loose", CFG_TYPE_FOREIGN_KEY);
    unresolved->value_type = CFG_TYPE_INTEGER;
    assert_ddl(unresolved, "integer");
}

static const char movies_sql[] =
    "CREATE TABLE \"director\" (\n"
    "    \"id\" serial NOT NULL,\n"
    "    \"name\" varchar(100) NOT NULL,\n"
    "    CONSTRAINT \"director_pkey\" PRIMARY KEY (\"id\"),\n"
    "    CONSTRAINT \"director_name_key\" UNIQUE (\"name\")\n"
    ");\n"
    "\n"
    "CREATE TABLE \"movie\" (\n"
    "    \"id\" serial NOT NULL,\n"
    "    \"name\" varchar(200) NOT NULL,\n"
    "    \"rating\" integer NOT NULL DEFAULT 0,\n"
    "    \"director\" integer,\n"
    "    \"released\" boolean NOT NULL DEFAULT false,\n"
    "    \"created\" timestamptz NOT NULL DEFAULT now(),\n"
    "    \"tags\" varchar[] NOT NULL,\n"
    "    \"api_key\" varchar(64) NOT NULL,\n"
    "    CONSTRAINT \"movie_pkey\" PRIMARY KEY (\"id\"),\n"
    "    CONSTRAINT \"movie_director_fkey\" FOREIGN KEY (\"director\") REFERENCES \"director\" "
    "(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION\n"
    ");\n"
    "CREATE INDEX \"movie_rating_idx\" ON \"movie\" (\"rating\");\n"
    "CREATE INDEX \"movie_director_idx\" ON \"movie\" (\"director\");\n";

static void test_schema_sql_creates_referenced_tables_first(void **state)
{
    struct fixture *f = *state;
    declare_movies(f);
    struct sb sql = {0};
    orm_schema_create_sql(&f->config, &sql);
    assert_string_equal(sb_text(&sql), movies_sql);
    sb_free(&sql);
}

static void test_schema_sql_adds_cyclic_foreign_keys_after_the_tables(void **state)
{
    struct fixture *f = *state;
    declare_cycle(f);
    struct sb sql = {0};
    orm_schema_create_sql(&f->config, &sql);
    const char *text = sb_text(&sql);
    const char *create_b = strstr(text, "CREATE TABLE \"b\"");
    const char *create_a = strstr(text, "CREATE TABLE \"a\"");
    const char *alter = strstr(text, "ALTER TABLE \"b\" ADD CONSTRAINT \"b_a_fkey\" FOREIGN KEY "
                                     "(\"a\") REFERENCES \"a\" (\"id\")");
    assert_non_null(create_b);
    assert_non_null(create_a);
    assert_non_null(alter);
    assert_true(create_b < create_a && create_a < alter);
    /* a's key to b and b's key to itself are inline */
    assert_non_null(strstr(create_a, "CONSTRAINT \"a_b_fkey\" FOREIGN KEY"));
    assert_true(strstr(create_b, "CONSTRAINT \"b_parent_fkey\" FOREIGN KEY") < create_a);
    const char *b_to_a = strstr(create_b, "CONSTRAINT \"b_a_fkey\" FOREIGN KEY");
    assert_true(b_to_a > create_a); /* only in the ALTER TABLE */
    sb_free(&sql);
}

static void test_schema_sql_declares_users_when_login_is_enabled(void **state)
{
    struct fixture *f = *state;
    declare_movies(f);
    struct sb sql = {0};
    orm_schema_create_sql(&f->config, &sql);
    assert_null(strstr(sb_text(&sql), "restable_user"));
    sb_reset(&sql);
    f->config.auth.login_enabled = true;
    orm_schema_create_sql(&f->config, &sql);
    assert_non_null(strstr(sb_text(&sql),
                           "CREATE TABLE \"restable_user\" (\n"
                           "    \"id\" bigserial NOT NULL,\n"
                           "    \"username\" varchar(150) NOT NULL,\n"
                           "    \"password_hash\" text NOT NULL,\n"
                           "    \"roles\" text[] NOT NULL DEFAULT '{}',\n"
                           "    \"created_at\" timestamptz DEFAULT now(),\n"
                           "    CONSTRAINT \"restable_user_pkey\" PRIMARY KEY (\"id\"),\n"
                           "    CONSTRAINT \"restable_user_username_key\" UNIQUE (\"username\")\n"
                           ");\n"));
    sb_free(&sql);
}

/* A table with one column of each type, each with a default; used by two tests. */
static void declare_defaults(struct fixture *f)
{
    struct cfg_table *t = add_table(f, "defaults");
    add_id(t);
    struct {
        const char *name;
        enum cfg_type type, value_type;
        enum cfg_default_kind kind;
        const char *json;
    } columns[] = {
        {"quote", CFG_TYPE_VARCHAR, CFG_TYPE_VARCHAR, CFG_DEFAULT_VALUE, "\"it's \\\\n\""},
        {"note", CFG_TYPE_TEXT, CFG_TYPE_TEXT, CFG_DEFAULT_VALUE, "\"\""},
        {"mail", CFG_TYPE_EMAIL, CFG_TYPE_EMAIL, CFG_DEFAULT_VALUE, "\"a@b.example\""},
        {"small", CFG_TYPE_SMALLINT, CFG_TYPE_SMALLINT, CFG_DEFAULT_VALUE, "-3"},
        {"big", CFG_TYPE_BIGINT, CFG_TYPE_BIGINT, CFG_DEFAULT_VALUE, "9007199254740993"},
        {"flag", CFG_TYPE_BOOLEAN, CFG_TYPE_BOOLEAN, CFG_DEFAULT_VALUE, "true"},
        {"price", CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, CFG_DEFAULT_VALUE, "1.25"},
        {"ratio", CFG_TYPE_REAL, CFG_TYPE_REAL, CFG_DEFAULT_VALUE, "0.1"},
        {"score", CFG_TYPE_DOUBLE, CFG_TYPE_DOUBLE, CFG_DEFAULT_VALUE, "2"},
        {"local", CFG_TYPE_TIMESTAMP, CFG_TYPE_TIMESTAMP, CFG_DEFAULT_NOW, NULL},
        {"stamp", CFG_TYPE_TIMESTAMPTZ, CFG_TYPE_TIMESTAMPTZ, CFG_DEFAULT_VALUE,
         "\"2024-01-02T03:04:05Z\""},
        {"day", CFG_TYPE_DATE, CFG_TYPE_DATE, CFG_DEFAULT_NOW, NULL},
        {"clock", CFG_TYPE_TIME, CFG_TYPE_TIME, CFG_DEFAULT_NOW, NULL},
        {"span", CFG_TYPE_INTERVAL, CFG_TYPE_INTERVAL, CFG_DEFAULT_VALUE, "\"PT1H30M\""},
        {"code", CFG_TYPE_UUID, CFG_TYPE_UUID, CFG_DEFAULT_UUID4, NULL},
        {"doc", CFG_TYPE_JSON, CFG_TYPE_JSON, CFG_DEFAULT_VALUE, "[1, \"x\"]"},
        {"extra", CFG_TYPE_JSONB, CFG_TYPE_JSONB, CFG_DEFAULT_VALUE, "{\"it's\": null}"},
        {"blob", CFG_TYPE_BYTEA, CFG_TYPE_BYTEA, CFG_DEFAULT_VALUE, "\"aGk=\""},
        {"tags", CFG_TYPE_ARRAY, CFG_TYPE_VARCHAR, CFG_DEFAULT_VALUE,
         "[\"a,b\", \"say \\\"hi\\\"\", \"NULL\", null, \"o'k\"]"},
        {"counts", CFG_TYPE_ARRAY, CFG_TYPE_INTEGER, CFG_DEFAULT_VALUE, "[1, 2]"},
        {"nothing", CFG_TYPE_INTEGER, CFG_TYPE_INTEGER, CFG_DEFAULT_VALUE, "null"},
        {"amount", CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, CFG_DEFAULT_VALUE, "\"12.50\""},
        {"whole", CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, CFG_DEFAULT_NONE, NULL},
        {"codes", CFG_TYPE_ARRAY, CFG_TYPE_VARCHAR, CFG_DEFAULT_VALUE, "[]"},
    };
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++) {
        struct cfg_column *column = add_column(t, columns[i].name, columns[i].type);
        column->value_type = columns[i].value_type;
        column->default_kind = columns[i].kind;
        column->is_nullable = true;
        if (columns[i].json) {
            json_error_t error;
            column->default_value = json_loads(columns[i].json, JSON_DECODE_ANY, &error);
            assert_non_null(column->default_value);
        }
    }
    struct cfg_column *amount = &t->columns[t->column_count - 3];
    amount->precision = 10;
    amount->scale = 2;
    t->columns[t->column_count - 2].precision = 5;
    t->columns[t->column_count - 1].length = 3;
}

static void test_defaults_render_as_safe_literals(void **state)
{
    struct fixture *f = *state;
    declare_defaults(f);
    struct sb sql = {0};
    orm_schema_create_sql(&f->config, &sql);
    static const char *const expected[] = {
        "\"quote\" varchar DEFAULT 'it''s \\n',",
        "\"note\" text DEFAULT '',",
        "\"small\" smallint DEFAULT -3,",
        "\"big\" bigint DEFAULT 9007199254740993,",
        "\"flag\" boolean DEFAULT true,",
        "\"price\" numeric DEFAULT 1.25,",
        "\"ratio\" real DEFAULT 0.1,",
        "\"local\" timestamp DEFAULT LOCALTIMESTAMP,",
        "\"day\" date DEFAULT CURRENT_DATE,",
        "\"clock\" time DEFAULT LOCALTIME,",
        "\"code\" uuid DEFAULT gen_random_uuid(),",
        "\"doc\" json DEFAULT '[1,\"x\"]'::json,",
        "\"extra\" jsonb DEFAULT '{\"it''s\":null}'::jsonb,",
        "\"blob\" bytea DEFAULT decode('aGk=', 'base64'),",
        "\"tags\" varchar[] DEFAULT '{\"a,b\",\"say \\\"hi\\\"\",\"NULL\",NULL,\"o''k\"}',",
        "\"counts\" integer[] DEFAULT '{1,2}',",
        "\"nothing\" integer,",
        "\"amount\" numeric(10,2) DEFAULT '12.50',",
        "\"whole\" numeric(5),",
        "\"codes\" varchar(3)[] DEFAULT '{}',",
    };
    size_t missing = 0;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr(sb_text(&sql), expected[i])) {
            print_error("missing: %s\n", expected[i]);
            missing++;
        }
    }
    if (missing)
        print_error("in:\n%s\n", sb_text(&sql));
    sb_free(&sql);
    assert_int_equal(missing, 0);
}

static void test_object_names_are_shortened_like_postgresql(void **state)
{
    struct fixture *f = *state;
    static const char long_table[] = "a_table_name_that_goes_on_and_on_for_a_long_while_yes";
    static const char long_column[] = "column_with_a_rather_long_name";
    struct cfg_table *t = add_table(f, long_table);
    add_id(t);
    add_column(t, long_column, CFG_TYPE_TEXT)->is_unique = true;
    struct sb sql = {0};
    orm_schema_create_sql(&f->config, &sql);
    /* PostgreSQL's own rule: trim the longer part until "<table>_<column>_key" fits 63 */
    assert_non_null(strstr(sb_text(&sql), "CONSTRAINT \"a_table_name_that_goes_on_and_"
                                          "column_with_a_rather_long_nam_key\" UNIQUE"));
    sb_free(&sql);
}

static void test_normaliser_spells_types_as_format_type_does(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"varchar(100)", "character varying(100)"},
        {"varchar", "character varying"},
        {"varchar(20)[]", "character varying(20)[]"},
        {"serial", "integer"},
        {"bigserial", "bigint"},
        {"int4", "integer"},
        {"bool", "boolean"},
        {"numeric(10)", "numeric(10,0)"},
        {"numeric(10, 2)", "numeric(10,2)"},
        {"NUMERIC", "numeric"},
        {"timestamptz", "timestamp with time zone"},
        {"timestamp", "timestamp without time zone"},
        {"timestamptz(3)", "timestamp(3) with time zone"},
        {"time", "time without time zone"},
        {"double precision", "double precision"},
        {"float8", "double precision"},
        {"char(2)", "character(2)"},
        {"text[][]", "text[][]"},
        {"character varying(5)", "character varying(5)"},
        {"jsonb", "jsonb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sb out = {0};
        orm_schema_normalize_type(cases[i][0], &out);
        if (strcmp(sb_text(&out), cases[i][1]) != 0)
            print_error("%s: gave %s, expected %s\n", cases[i][0], sb_text(&out), cases[i][1]);
        bool is_expected = strcmp(sb_text(&out), cases[i][1]) == 0;
        sb_free(&out);
        assert_true(is_expected);
    }
}

/* ---- files, no database ------------------------------------------------------------------ */

static void test_new_without_auto_writes_a_skeleton_and_creates_the_folder(void **state)
{
    struct fixture *f = *state;
    struct rs_error error = {0};
    char *path = new_migration(
        &f->config, NULL, &(struct orm_new_options){.is_auto = false, .name = "Add Users! (v2)"},
        &error, ORM_MIGRATION_WROTE);
    assert_non_null(path);
    const char *file_name = strrchr(path, '/') + 1;
    assert_int_equal(strncmp(path, f->migrations, strlen(f->migrations)), 0);
    assert_int_equal(strspn(file_name, "0123456789"), 14);
    assert_string_equal(file_name + 14, "_add_users_v2.sql");
    char *text = read_file(path);
    char expected[256];
    snprintf(expected, sizeof expected,
             "-- restable migration %.14s add_users_v2\n-- +forwards\n\n"
             "-- +backwards\n",
             file_name);
    assert_string_equal(text, expected);
    free(text);
    free(path);
    path =
        new_migration(&f->config, NULL, &(struct orm_new_options){.is_auto = false, .name = NULL},
                      &error, ORM_MIGRATION_WROTE);
    assert_non_null(path);
    assert_non_null(strstr(path, "_manual.sql"));
    free(path);
}

static void test_new_in_the_same_second_gets_a_later_id(void **state)
{
    struct fixture *f = *state;
    struct rs_error error = {0};
    char *first =
        new_migration(&f->config, NULL, &(struct orm_new_options){.is_auto = false, .name = "one"},
                      &error, ORM_MIGRATION_WROTE);
    char *second =
        new_migration(&f->config, NULL, &(struct orm_new_options){.is_auto = false, .name = "two"},
                      &error, ORM_MIGRATION_WROTE);
    assert_non_null(first);
    assert_non_null(second);
    const char *first_id = strrchr(first, '/') + 1, *second_id = strrchr(second, '/') + 1;
    if (strncmp(first_id, second_id, 14) == 0)
        assert_string_equal(second_id + 14, "b_two.sql");
    assert_true(strcmp(first_id, second_id) < 0); /* file names sort as ids do */
    char *third = new_migration(&f->config, NULL,
                                &(struct orm_new_options){.is_auto = false, .name = "three"},
                                &error, ORM_MIGRATION_WROTE);
    assert_non_null(third);
    assert_true(strcmp(second_id, strrchr(third, '/') + 1) < 0);
    free(third);
    free(first);
    free(second);
}

static void test_file_without_markers_is_named_in_the_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->migrations, 0755), 0);
    char path[160];
    snprintf(path, sizeof path, "%s/20200101000000_bare.sql", f->migrations);
    write_file(path, "CREATE TABLE x (id int);\n");
    struct rs_error error = {0};
    assert_null(new_migration(&f->config, NULL,
                              &(struct orm_new_options){.is_auto = false, .name = "next"}, &error,
                              ORM_MIGRATION_FAILED));
    assert_int_equal(error.outcome, RS_FAILED);
    assert_non_null(strstr(error.message, "20200101000000_bare.sql"));
    assert_non_null(strstr(error.message, "-- +forwards"));
}

/* Found while writing fuzz_migration_file: the sections were read as C strings, so everything after
 * a NUL byte was silently dropped from the SQL (and from the checksum). */
static void test_file_with_a_nul_byte_is_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->migrations, 0755), 0);
    char path[160];
    snprintf(path, sizeof path, "%s/20200101000000_nul.sql", f->migrations);
    static const char text[] = "-- +forwards\nCREATE TABLE x (id int);\n\0DROP TABLE y;\n";
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, file), sizeof text - 1);
    fclose(file);
    struct rs_error error = {0};
    assert_null(new_migration(&f->config, NULL,
                              &(struct orm_new_options){.is_auto = false, .name = "next"}, &error,
                              ORM_MIGRATION_FAILED));
    assert_int_equal(error.outcome, RS_FAILED);
    assert_non_null(strstr(error.message, "20200101000000_nul.sql: line 3: holds a NUL byte"));
}

/* ---- against PostgreSQL ------------------------------------------------------------------ */

static int check(struct fixture *f, struct capture *capture)
{
    struct rs_error error = {0};
    int status = orm_migrations_check(&f->config, f->conn, capture_start(capture), &error);
    capture_end(capture);
    if (status < 0)
        fail_msg("check: %s", error.message);
    return status;
}

/* `migrations check` finds the database as declared. */
static void expect_no_drift(struct fixture *f)
{
    struct capture capture = {0};
    assert_int_equal(check(f, &capture), 0);
    capture_free(&capture);
}

static void test_auto_migration_round_trip(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    struct capture capture = {0};
    assert_int_equal(check(f, &capture), 1);
    assert_non_null(strstr(capture.text, "drift: movie: declared, missing from the database"));

    char *path = new_auto(f, "initial");
    assert_non_null(strstr(path, "_initial.sql"));
    char *text = read_file(path);
    const char *forwards = strstr(text, "-- +forwards\n");
    const char *backwards = strstr(text, "-- +backwards\n");
    assert_non_null(forwards);
    assert_non_null(backwards);
    /* the forwards section is exactly what `schema sql` prints */
    assert_int_equal(strncmp(forwards + strlen("-- +forwards\n"), movies_sql, strlen(movies_sql)),
                     0);
    assert_string_equal(backwards, "-- +backwards\n"
                                   "DROP TABLE \"movie\";\nDROP TABLE \"director\";\n");
    free(text);
    assert_int_equal(check(f, &capture), 1);
    assert_non_null(strstr(capture.text, "pending "));

    forwards_ok(f, NULL, "applied ");
    assert_query(f->conn, "SELECT count(*) FROM restable_migrations", "1");
    forwards_ok(f, NULL, "nothing to apply");
    assert_query(f->conn, "SELECT count(*) FROM restable_migrations", "1");

    struct rs_error error = {0};
    assert_null(new_migration(&f->config, f->conn,
                              &(struct orm_new_options){.is_auto = true, .name = NULL}, &error,
                              ORM_MIGRATION_NOTHING_TO_DO));
    assert_int_equal(count_files(f->migrations), 1);

    assert_int_equal(check(f, &capture), 0);
    assert_non_null(strstr(capture.text, "applied "));
    assert_null(strstr(capture.text, "drift:"));
    capture_free(&capture);
    free(path);
}

static void test_created_schema_matches_the_declaration(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    migrate_all(f, "initial");
    static const char columns_sql[] =
        "SELECT string_agg(format('%s %s %s %s', a.attname, format_type(a.atttypid, "
        "a.atttypmod), CASE WHEN a.attnotnull THEN 'not-null' ELSE 'null' END, "
        "coalesce(pg_get_expr(d.adbin, d.adrelid), '-')), '; ' ORDER BY a.attnum) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
        "AND d.adnum = a.attnum WHERE a.attrelid = 'movie'::regclass AND a.attnum > 0";
    assert_query(f->conn, columns_sql,
                 "id integer not-null nextval('movie_id_seq'::regclass); "
                 "name character varying(200) not-null -; "
                 "rating integer not-null 0; "
                 "director integer null -; "
                 "released boolean not-null false; "
                 "created timestamp with time zone not-null now(); "
                 "tags character varying[] not-null -; "
                 "api_key character varying(64) not-null -");
    assert_query(f->conn,
                 "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                 "WHERE conname = 'movie_director_fkey' AND conrelid = 'movie'::regclass",
                 "FOREIGN KEY (director) REFERENCES director(id) ON DELETE CASCADE");
    assert_query(f->conn,
                 "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                 "WHERE conname = 'director_name_key' AND conrelid = 'director'::regclass",
                 "UNIQUE (name)");
    assert_query(f->conn,
                 "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                 "WHERE conname = 'movie_pkey' AND conrelid = 'movie'::regclass",
                 "PRIMARY KEY (id)");
    assert_query(f->conn, "SELECT indexdef FROM pg_indexes WHERE indexname = 'movie_rating_idx'",
                 "CREATE INDEX movie_rating_idx ON public.movie USING btree (rating)");
    assert_query(f->conn, "SELECT indexdef FROM pg_indexes WHERE indexname = 'movie_director_idx'",
                 "CREATE INDEX movie_director_idx ON public.movie USING btree (director)");
    /* the defaults work: a row needs only the columns without one */
    exec_ok(f->conn, "INSERT INTO director (name) VALUES ('Agnes Varda')");
    exec_ok(f->conn, "INSERT INTO movie (name, director, tags, api_key) "
                     "VALUES ('Cleo', 1, '{drama}', 'k')");
    assert_query(f->conn,
                 "SELECT rating || ' ' || released || ' ' || (created > now() - "
                 "interval '1 minute') FROM movie",
                 "0 false true");
    exec_ok(f->conn, "DELETE FROM director");
    assert_query(f->conn, "SELECT count(*) FROM movie", "0"); /* ON DELETE CASCADE */
}

static void test_every_type_and_default_is_valid_sql(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_defaults(f);
    migrate_all(f, "defaults");
    exec_ok(f->conn, "INSERT INTO defaults DEFAULT VALUES");
    assert_query(f->conn,
                 "SELECT concat_ws('|', quote, note, mail, small, big, flag, price, ratio, score, "
                 "local IS NOT NULL, stamp, day = CURRENT_DATE, clock IS NOT NULL, span, "
                 "code IS NOT NULL, doc, extra, encode(blob, 'escape'), tags::text, counts, "
                 "coalesce(nothing, -1), amount, coalesce(whole, 7), codes) FROM defaults",
                 "it's \\n||a@b.example|-3|9007199254740993|t|1.25|0.1|2|t|"
                 "2024-01-02 03:04:05+00|t|t|PT1H30M|t|[1,\"x\"]|{\"it's\": null}|hi|"
                 "{\"a,b\",\"say \\\"hi\\\"\",\"NULL\",NULL,o'k}|{1,2}|-1|12.50|7|{}");
    expect_no_drift(f);
}

static void test_preview_changes_nothing(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    free(new_auto(f, "initial"));
    struct orm_forwards_options options = {.preview = true};
    forwards_ok(f, &options, "CREATE TABLE \"director\"");
    forwards_ok(f, &options, " initial\nCREATE TABLE"); /* after the "-- <id> <name>" line */
    assert_query(f->conn, "SELECT to_regclass('director')", NULL);
    assert_query(f->conn, "SELECT to_regclass('restable_migrations')", NULL);
}

static void test_fake_records_without_creating(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    free(new_auto(f, "initial"));
    struct orm_forwards_options options = {.fake = true};
    forwards_ok(f, &options, "faked ");
    assert_query(f->conn, "SELECT to_regclass('director')", NULL);
    assert_query(f->conn, "SELECT name FROM restable_migrations", "initial");
    forwards_ok(f, NULL, "nothing to apply");
}

static void test_backwards_drops_the_tables_and_the_record(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    migrate_all(f, "initial");
    struct capture capture = {0};
    struct rs_error error = {0};
    assert_int_equal(
        orm_migrations_backwards(&f->config, f->conn,
                                 &(struct orm_backwards_options){.to = NULL, .count = 1},
                                 capture_start(&capture), &error),
        0);
    assert_non_null(strstr(capture_end(&capture), "reverted "));
    assert_query(f->conn, "SELECT to_regclass('movie')", NULL);
    assert_query(f->conn, "SELECT to_regclass('director')", NULL);
    assert_query(f->conn, "SELECT count(*) FROM restable_migrations", "0");
    assert_int_equal(
        orm_migrations_backwards(&f->config, f->conn,
                                 &(struct orm_backwards_options){.to = NULL, .count = 1},
                                 capture_start(&capture), &error),
        0);
    assert_non_null(strstr(capture_end(&capture), "nothing to revert"));
    capture_free(&capture);
    forwards_ok(f, NULL, "applied "); /* and it can go forwards again */
    assert_query(f->conn, "SELECT to_regclass('movie')::text", "movie");
}

static void write_migration(struct fixture *f, const char *file_name, const char *forwards,
                            const char *backwards)
{
    mkdir(f->migrations, 0755);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->migrations, file_name);
    char text[2048];
    snprintf(text, sizeof text, "-- restable migration\n-- +forwards\n%s-- +backwards\n%s",
             forwards, backwards);
    write_file(path, text);
}

static void test_broken_migration_rolls_back_and_names_the_file(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    write_migration(f, "20200101000000_good.sql", "CREATE TABLE good (id int);\n",
                    "DROP TABLE good;\n");
    write_migration(f, "20200102000000_broken.sql",
                    "CREATE TABLE partial (id int);\n\nCREAT TABLE oops (id int);\n",
                    "DROP TABLE partial;\n");
    struct capture capture = {0};
    struct rs_error error = {0};
    assert_int_equal(
        orm_migrations_forwards(&f->config, f->conn, NULL, capture_start(&capture), &error), -1);
    assert_non_null(strstr(capture_end(&capture), "applied 20200101000000 good"));
    capture_free(&capture);
    assert_non_null(strstr(error.message, "20200102000000_broken.sql"));
    assert_non_null(strstr(error.message, "line 5")); /* the file's line, not the section's */
    assert_non_null(strstr(error.message, "syntax error"));
    assert_query(f->conn, "SELECT to_regclass('partial')", NULL);
    assert_query(f->conn, "SELECT to_regclass('good')::text", "good");
    assert_query(f->conn, "SELECT string_agg(id, ',') FROM restable_migrations", "20200101000000");
    /* the lock was released: another session can take it */
    assert_query(f->conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0");
}

static void test_auto_adds_a_column_declared_later(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    migrate_all(f, "initial");
    exec_ok(f->conn, "INSERT INTO movie (name, tags, api_key) VALUES ('Ran', '{}', 'k')");
    struct cfg_column *genre = add_column(&f->tables[0], "genre", CFG_TYPE_VARCHAR);
    genre->length = 20;
    genre->is_nullable = true;
    genre->has_index = true;
    struct capture capture = {0};
    assert_int_equal(check(f, &capture), 1);
    assert_non_null(strstr(
        capture.text, "drift: movie.genre: declared varchar(20) null, missing from the database"));
    capture_free(&capture);

    char *path = new_auto(f, "genre");
    char *text = read_file(path);
    assert_non_null(strstr(text, "-- +forwards\n"
                                 "ALTER TABLE \"movie\" ADD COLUMN \"genre\" varchar(20);\n"
                                 "CREATE INDEX \"movie_genre_idx\" ON \"movie\" (\"genre\");\n"));
    assert_non_null(strstr(text, "-- +backwards\n"
                                 "ALTER TABLE \"movie\" DROP COLUMN \"genre\";\n"));
    free(text);
    free(path);
    forwards_ok(f, NULL, " genre\n");
    assert_query(f->conn,
                 "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                 "WHERE attrelid = 'movie'::regclass AND attname = 'genre'",
                 "character varying(20)");
    assert_int_equal(check(f, &capture), 0);
    capture_free(&capture);
}

static void test_auto_adds_a_searchable_column_with_its_gin_index(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    free(new_auto(f, "initial"));
    forwards_ok(f, NULL, "applied ");
    struct cfg_column *plot = add_column(&f->tables[0], "plot", CFG_TYPE_TEXT);
    plot->is_nullable = true;
    plot->is_searchable = true;
    f->tables[0].search_language = "english";
    char *path = new_auto(f, "plot");
    char *text = read_file(path);
    assert_non_null(strstr(text, "-- +forwards\n"
                                 "ALTER TABLE \"movie\" ADD COLUMN \"plot\" text;\n"
                                 "CREATE INDEX \"movie_plot_search\" ON \"movie\" USING gin "
                                 "(to_tsvector('english'::regconfig, \"plot\"));\n"));
    free(text);
    free(path);
    forwards_ok(f, NULL, " plot\n");
    assert_query(f->conn, "SELECT indexdef FROM pg_indexes WHERE indexname = 'movie_plot_search'",
                 "CREATE INDEX movie_plot_search ON public.movie USING gin "
                 "(to_tsvector('english'::regconfig, plot))");
    struct capture capture = {0};
    assert_int_equal(check(f, &capture), 0);
    capture_free(&capture);
    f->tables[0].search_language = "simple";
    assert_int_equal(check(f, &capture), 1);
    assert_non_null(strstr(capture.text, "drift: movie.plot: declared search (simple), database "
                                         "search (english)"));
    capture_free(&capture);
    f->tables[0].search_language = NULL;
}

static void test_check_reports_type_and_nullability_drift(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    migrate_all(f, "initial");
    exec_ok(f->conn, "ALTER TABLE movie ALTER rating TYPE bigint, ALTER name DROP NOT NULL, "
                     "ADD COLUMN stray text; ALTER TABLE director ALTER id DROP DEFAULT");
    struct capture capture = {0};
    assert_int_equal(check(f, &capture), 1);
    static const char *const expected[] = {
        "drift: movie.rating: declared integer not null default 0, database bigint not null "
        "default 0\n",
        "drift: movie.name: declared varchar(200) not null, database character varying(200) "
        "null\n",
        "drift: movie.stray: in the database (text null), not declared (drop column)\n",
        "drift: director.id: declared serial not null, database integer not null (no sequence "
        "default)\n",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(capture.text, expected[i]))
            fail_msg("check printed:\n%s\nmissing: %s", capture.text, expected[i]);
    capture_free(&capture);
}

static void test_forwards_to_stops_there_and_rejects_an_unknown_id(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    write_migration(f, "20200101000000_one.sql", "CREATE TABLE one (id int);\n",
                    "DROP TABLE one;\n");
    write_migration(f, "20200102000000_two.sql", "CREATE TABLE two (id int);\n",
                    "DROP TABLE two;\n");
    write_migration(f, "20200103000000_three.sql", "CREATE TABLE three (id int);\n",
                    "DROP TABLE three;\n");
    struct orm_forwards_options options = {.to = "20990101000000"};
    struct rs_error error = {0};
    assert_int_equal(orm_migrations_forwards(&f->config, f->conn, &options, NULL, &error), -1);
    assert_non_null(strstr(error.message, "20990101000000"));
    assert_query(f->conn, "SELECT to_regclass('restable_migrations')", NULL);
    options.to = "20200102000000";
    forwards_ok(f, &options, "applied 20200102000000 two");
    assert_query(f->conn, "SELECT string_agg(id, ',' ORDER BY id) FROM restable_migrations",
                 "20200101000000,20200102000000");
    forwards_ok(f, &options, "nothing to apply");
    forwards_ok(f, NULL, "applied 20200103000000 three");

    /* backwards --to reverts what came after, newest first */
    struct capture capture = {0};
    assert_int_equal(orm_migrations_backwards(
                         &f->config, f->conn,
                         &(struct orm_backwards_options){.to = "20200101000000", .count = 0},
                         capture_start(&capture), &error),
                     0);
    const char *output = capture_end(&capture);
    const char *three = strstr(output, "reverted 20200103000000");
    const char *two = strstr(output, "reverted 20200102000000");
    assert_true(three && two && three < two);
    capture_free(&capture);
    assert_query(f->conn, "SELECT string_agg(id, ',') FROM restable_migrations", "20200101000000");
    assert_query(f->conn, "SELECT to_regclass('two')", NULL);
    assert_int_equal(orm_migrations_backwards(
                         &f->config, f->conn,
                         &(struct orm_backwards_options){.to = "20990101000000", .count = 0}, NULL,
                         &error),
                     -1);
}

static void test_missing_file_warns_forwards_and_stops_backwards(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    write_migration(f, "20200101000000_one.sql", "CREATE TABLE one (id int);\n",
                    "DROP TABLE one;\n");
    forwards_ok(f, NULL, "applied 20200101000000 one");
    char path[256];
    snprintf(path, sizeof path, "%s/20200101000000_one.sql", f->migrations);
    assert_int_equal(unlink(path), 0);
    forwards_ok(f, NULL, "warning: 20200101000000 one is recorded as applied but has no file");
    struct rs_error error = {0};
    assert_int_equal(orm_migrations_backwards(
                         &f->config, f->conn,
                         &(struct orm_backwards_options){.to = NULL, .count = 1}, NULL, &error),
                     -1);
    assert_non_null(strstr(error.message, "cannot revert 20200101000000"));
    assert_query(f->conn, "SELECT to_regclass('one')::text", "one");
}

static void test_auto_refuses_while_migrations_are_pending(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    free(new_auto(f, "initial"));
    struct rs_error error = {0};
    assert_null(new_migration(&f->config, f->conn,
                              &(struct orm_new_options){.is_auto = true, .name = "again"}, &error,
                              ORM_MIGRATION_FAILED));
    assert_int_equal(error.outcome, RS_FAILED);
    assert_non_null(strstr(error.message, "_initial.sql"));
    assert_int_equal(count_files(f->migrations), 1);
}

static void test_cyclic_tables_migrate_both_ways(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_cycle(f);
    migrate_all(f, "cycle");
    assert_query(f->conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'", "3");
    struct rs_error error = {0};
    assert_int_equal(orm_migrations_backwards(
                         &f->config, f->conn,
                         &(struct orm_backwards_options){.to = NULL, .count = 1}, NULL, &error),
                     0);
    assert_query(f->conn, "SELECT to_regclass('a')", NULL);
    assert_query(f->conn, "SELECT to_regclass('b')", NULL);
}

static void test_login_adds_the_user_table(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    declare_movies(f);
    f->config.auth.login_enabled = true;
    migrate_all(f, "initial");
    exec_ok(f->conn, "INSERT INTO restable_user (username, password_hash) VALUES ('ann', 'x')");
    assert_query(f->conn,
                 "SELECT roles::text || ' ' || (created_at IS NOT NULL) "
                 "FROM restable_user",
                 "{} true");
    expect_no_drift(f);
}

static void test_object_names_match_the_ones_postgresql_makes_up(void **state)
{
    struct fixture *f = *state;
    NEED_DATABASE(f);
    exec_ok(f->conn, "CREATE TABLE a_table_name_that_goes_on_and_on_for_a_long_while_yes "
                     "(column_with_a_rather_long_name text UNIQUE)");
    assert_query(f->conn,
                 "SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid = "
                 "'a_table_name_that_goes_on_and_on_for_a_long_while_yes'::regclass",
                 "a_table_name_that_goes_on_and_column_with_a_rather_long_nam_key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        TEST(test_ddl_type_spells_every_type),
        TEST(test_ddl_type_of_foreign_key_is_the_referenced_key_type),
        TEST(test_schema_sql_creates_referenced_tables_first),
        TEST(test_schema_sql_adds_cyclic_foreign_keys_after_the_tables),
        TEST(test_schema_sql_declares_users_when_login_is_enabled),
        TEST(test_defaults_render_as_safe_literals),
        TEST(test_object_names_are_shortened_like_postgresql),
        TEST(test_normaliser_spells_types_as_format_type_does),
        TEST(test_new_without_auto_writes_a_skeleton_and_creates_the_folder),
        TEST(test_new_in_the_same_second_gets_a_later_id),
        TEST(test_file_without_markers_is_named_in_the_error),
        TEST(test_file_with_a_nul_byte_is_refused),
        TEST(test_auto_migration_round_trip),
        TEST(test_created_schema_matches_the_declaration),
        TEST(test_every_type_and_default_is_valid_sql),
        TEST(test_preview_changes_nothing),
        TEST(test_fake_records_without_creating),
        TEST(test_backwards_drops_the_tables_and_the_record),
        TEST(test_broken_migration_rolls_back_and_names_the_file),
        TEST(test_auto_adds_a_column_declared_later),
        TEST(test_auto_adds_a_searchable_column_with_its_gin_index),
        TEST(test_check_reports_type_and_nullability_drift),
        TEST(test_forwards_to_stops_there_and_rejects_an_unknown_id),
        TEST(test_missing_file_warns_forwards_and_stops_backwards),
        TEST(test_auto_refuses_while_migrations_are_pending),
        TEST(test_cyclic_tables_migrate_both_ways),
        TEST(test_login_adds_the_user_table),
        TEST(test_object_names_match_the_ones_postgresql_makes_up),
#undef TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
