/*
 * tests/unit/test_diff.c — the schema diff without a database: a declared config (loaded
 * from JSON) against a live schema built by hand, through orm_diff_plan, orm_plan_render and
 * orm_plan_describe. Checks phase order, exact reversal, held-back destructive steps,
 * renames, widening versus narrowing, and what is left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orm/diff_internal.h"

/* ---- a live schema, by hand ---------------------------------------------------------------- */

struct live_builder {
    struct orm_live_schema schema;
};

static struct orm_live_table *live_table(struct orm_live_schema *schema, const char *name)
{
    schema->tables = realloc(schema->tables, (schema->table_count + 1) * sizeof *schema->tables);
    struct orm_live_table *table = &schema->tables[schema->table_count++];
    memset(table, 0, sizeof *table);
    table->name = strdup(name);
    return table;
}

static void live_column(struct orm_live_table *table, const char *name, const char *type,
                        bool is_nullable, const char *default_sql)
{
    table->columns = realloc(table->columns, (table->column_count + 1) * sizeof *table->columns);
    table->columns[table->column_count++] = (struct orm_live_column){
        .name = strdup(name),
        .type = strdup(type),
        .default_sql = default_sql ? strdup(default_sql) : NULL,
        .is_nullable = is_nullable,
    };
}

static void live_constraint(struct orm_live_table *table, const char *name, char kind,
                            const char *column, const char *definition)
{
    table->constraints =
        realloc(table->constraints, (table->constraint_count + 1) * sizeof *table->constraints);
    table->constraints[table->constraint_count++] = (struct orm_live_constraint){
        .name = strdup(name),
        .kind = kind,
        .column = strdup(column),
        .column_count = 1,
        .definition = strdup(definition),
        .on_delete = 'a',
        .on_update = 'a',
    };
}

/* A full-text search index on column, as orm/introspect.c reads it back. */
static void live_search_index(struct orm_live_table *table, const char *name, const char *column,
                              const char *language)
{
    table->indexes = realloc(table->indexes, (table->index_count + 1) * sizeof *table->indexes);
    char definition[256];
    snprintf(definition, sizeof definition,
             "CREATE INDEX %s ON public.%s USING gin (to_tsvector('%s'::regconfig, (%s)::text))",
             name, table->name, language, column);
    table->indexes[table->index_count++] = (struct orm_live_index){
        .name = strdup(name),
        .definition = strdup(definition),
        .search_column = strdup(column),
        .search_language = strdup(language),
    };
}

/* director (id serial, name varchar(100) unique) and movie (id serial, title varchar(50),
 * rating integer null), as restable would have made them. */
static void live_base(struct orm_live_schema *schema)
{
    struct orm_live_table *director = live_table(schema, "director");
    live_column(director, "id", "integer", false, "nextval('director_id_seq'::regclass)");
    live_column(director, "name", "character varying(100)", false, NULL);
    live_constraint(director, "director_pkey", 'p', "id", "PRIMARY KEY (id)");
    live_constraint(director, "director_name_key", 'u', "name", "UNIQUE (name)");
    struct orm_live_table *movie = live_table(schema, "movie");
    live_column(movie, "id", "integer", false, "nextval('movie_id_seq'::regclass)");
    live_column(movie, "title", "character varying(50)", false, NULL);
    live_column(movie, "rating", "integer", true, NULL);
    live_constraint(movie, "movie_pkey", 'p', "id", "PRIMARY KEY (id)");
}

static const char base_config[] =
    "{\"database\": {\"url\": \"postgresql://t@127.0.0.1/t\"}, \"tables\": {"
    " \"director\": {\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 100,"
    "  \"unique\": true}}},"
    " \"movie\": {%s\"columns\": {%s}}}}";

static const char base_movie_columns[] = "\"title\": {\"type\": \"varchar\", \"length\": 50},"
                                         "\"rating\": {\"type\": \"integer\", \"null\": true}";

/* ---- running the diff ------------------------------------------------------------------------ */

struct result {
    struct cfg_config *config;
    struct orm_declared declared;
    struct orm_live_schema live;
    struct orm_probe probe;
    struct orm_plan plan;
    struct sb forwards, backwards;
    size_t held_back;
    char *drift;
};

/* Loads the config (movie's columns given), diffs it against live_base plus whatever extra
 * adds, with no declared defaults, and renders it. */
static void run_with(struct result *r, const char *movie_options, const char *movie_columns,
                     void (*extra)(struct orm_live_schema *), bool allow_destructive)
{
    memset(r, 0, sizeof *r);
    char text[4096];
    snprintf(text, sizeof text, base_config, movie_options, movie_columns);
    struct cfg_errors errors = {0};
    r->config = cfg_load_string(text, "test.json", &errors);
    if (!r->config) {
        print_error("config: %s\n", errors.count ? errors.messages[0] : "?");
        cfg_errors_free(&errors);
        fail();
    }
    orm_declared_init(&r->declared, r->config);
    live_base(&r->live);
    if (extra)
        extra(&r->live);
    r->probe.table_count = r->declared.table_count;
    r->probe.tables = calloc(r->declared.table_count, sizeof *r->probe.tables);
    for (size_t t = 0; t < r->declared.table_count; t++) {
        r->probe.tables[t].column_count = r->declared.tables[t]->column_count;
        r->probe.tables[t].columns =
            calloc(r->declared.tables[t]->column_count, sizeof *r->probe.tables[t].columns);
    }
    orm_diff_plan(&r->declared, &r->live, &r->probe, &r->plan);
    r->held_back = orm_plan_render(&r->plan, allow_destructive, &r->forwards, &r->backwards);
    size_t size = 0;
    FILE *out = open_memstream(&r->drift, &size);
    orm_plan_describe(&r->plan, out);
    fclose(out);
}

static void run(struct result *r, const char *movie_columns,
                void (*extra)(struct orm_live_schema *), bool allow_destructive)
{
    run_with(r, "", movie_columns, extra, allow_destructive);
}

static void done(struct result *r)
{
    free(r->drift);
    sb_free(&r->forwards);
    sb_free(&r->backwards);
    orm_plan_free(&r->plan);
    orm_probe_free(&r->probe);
    orm_live_schema_free(&r->live);
    orm_declared_free(&r->declared);
    cfg_free(r->config);
}

static void assert_before(const char *text, const char *first, const char *second)
{
    const char *a = strstr(text, first), *b = strstr(text, second);
    if (!a || !b || a >= b)
        fail_msg("expected \"%s\" before \"%s\" in:\n%s", first, second, text);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in:\n%s", part, text);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_matching_schema_has_no_steps(void **state)
{
    (void)state;
    struct result r;
    run(&r, base_movie_columns, NULL, false);
    assert_int_equal(r.plan.count, 0);
    assert_string_equal(sb_text(&r.forwards), "");
    assert_string_equal(r.drift, "");
    done(&r);
}

static void test_widening_is_applied_and_narrowing_held_back(void **state)
{
    (void)state;
    struct result r;
    run(&r,
        "\"title\": {\"type\": \"varchar\", \"length\": 200},"
        "\"rating\": {\"type\": \"bigint\", \"null\": true}",
        NULL, false);
    assert_int_equal(r.held_back, 0);
    assert_contains(sb_text(&r.forwards),
                    "ALTER TABLE \"movie\" ALTER COLUMN \"rating\" TYPE bigint USING "
                    "\"rating\"::bigint;\n");
    assert_contains(sb_text(&r.backwards), "TYPE integer USING \"rating\"::integer;\n");
    done(&r);

    run(&r,
        "\"title\": {\"type\": \"varchar\", \"length\": 10},"
        "\"rating\": {\"type\": \"smallint\", \"null\": true}",
        NULL, false);
    assert_int_equal(r.held_back, 2);
    assert_contains(sb_text(&r.forwards), "-- DESTRUCTIVE, not applied: movie.title: declared "
                                          "varchar(10) not null, database character varying(50) "
                                          "not null\n");
    assert_contains(sb_text(&r.forwards), "-- ALTER TABLE \"movie\" ALTER COLUMN \"title\" TYPE "
                                          "varchar(10)");
    assert_contains(sb_text(&r.backwards), "-- ALTER TABLE \"movie\" ALTER COLUMN \"title\"");
    done(&r);

    run(&r,
        "\"title\": {\"type\": \"varchar\", \"length\": 10},"
        "\"rating\": {\"type\": \"integer\", \"null\": true}",
        NULL, true);
    assert_int_equal(r.held_back, 0);
    assert_null(strstr(sb_text(&r.forwards), "-- "));
    done(&r);
}

static void test_backwards_is_the_exact_reverse(void **state)
{
    (void)state;
    struct result r;
    /* director.name loses unique (a drop phase), movie gains a column (an add phase) */
    static const char config[] =
        "{\"database\": {\"url\": \"postgresql://t@127.0.0.1/t\"}, \"tables\": {"
        " \"director\": {\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 100}}},"
        " \"movie\": {\"columns\": {\"title\": {\"type\": \"varchar\", \"length\": 50},"
        "  \"rating\": {\"type\": \"integer\", \"null\": true},"
        "  \"seen\": {\"type\": \"boolean\", \"null\": true}}}}}";
    memset(&r, 0, sizeof r);
    struct cfg_errors errors = {0};
    r.config = cfg_load_string(config, "test.json", &errors);
    assert_non_null(r.config);
    orm_declared_init(&r.declared, r.config);
    live_base(&r.live);
    r.probe.table_count = r.declared.table_count;
    r.probe.tables = calloc(r.declared.table_count, sizeof *r.probe.tables);
    for (size_t t = 0; t < r.declared.table_count; t++) {
        r.probe.tables[t].column_count = r.declared.tables[t]->column_count;
        r.probe.tables[t].columns =
            calloc(r.probe.tables[t].column_count, sizeof *r.probe.tables[t].columns);
    }
    orm_diff_plan(&r.declared, &r.live, &r.probe, &r.plan);
    orm_plan_render(&r.plan, false, &r.forwards, &r.backwards);
    assert_before(sb_text(&r.forwards), "DROP CONSTRAINT \"director_name_key\"",
                  "ADD COLUMN \"seen\"");
    assert_before(sb_text(&r.backwards), "DROP COLUMN \"seen\"",
                  "ADD CONSTRAINT \"director_name_key\" UNIQUE (name)");
    done(&r);
}

static void test_rename_column_is_not_drop_and_add(void **state)
{
    (void)state;
    struct result r;
    run(&r,
        "\"name\": {\"type\": \"varchar\", \"length\": 50, \"renamed_from\": \"title\"},"
        "\"rating\": {\"type\": \"integer\", \"null\": true}",
        NULL, false);
    assert_string_equal(sb_text(&r.forwards),
                        "ALTER TABLE \"movie\" RENAME COLUMN \"title\" TO \"name\";\n");
    assert_string_equal(sb_text(&r.backwards),
                        "ALTER TABLE \"movie\" RENAME COLUMN \"name\" TO \"title\";\n");
    assert_string_equal(r.drift, "drift: movie.name: declared as renamed from title, still "
                                 "named title in the database\n");
    done(&r);

    /* without renamed_from: a drop (held back) and an add */
    run(&r,
        "\"name\": {\"type\": \"varchar\", \"length\": 50, \"null\": true},"
        "\"rating\": {\"type\": \"integer\", \"null\": true}",
        NULL, false);
    assert_int_equal(r.held_back, 1);
    assert_contains(sb_text(&r.forwards), "ADD COLUMN \"name\" varchar(50);\n");
    assert_contains(sb_text(&r.forwards), "-- ALTER TABLE \"movie\" DROP COLUMN \"title\";\n");
    done(&r);
}

static void extra_tables(struct orm_live_schema *schema)
{
    struct orm_live_table *old = live_table(schema, "old_stuff");
    live_column(old, "id", "integer", false, NULL);
    live_constraint(old, "old_stuff_pkey", 'p', "id", "PRIMARY KEY (id)");
    struct orm_live_table *users = live_table(schema, "restable_user");
    live_column(users, "id", "bigint", false, NULL);
}

static void test_undeclared_tables_are_dropped_but_not_restables_own(void **state)
{
    (void)state;
    struct result r;
    run(&r, base_movie_columns, extra_tables, true);
    assert_string_equal(sb_text(&r.forwards), "DROP TABLE \"old_stuff\";\n");
    assert_contains(sb_text(&r.backwards), "CREATE TABLE \"old_stuff\" (\n    \"id\" integer "
                                           "NOT NULL,\n    CONSTRAINT \"old_stuff_pkey\" PRIMARY "
                                           "KEY (id)\n);\n");
    assert_string_equal(r.drift, "drift: old_stuff: in the database, not declared (drop table)\n");
    done(&r);
}

static void test_nullability_and_unique_each_describe_once(void **state)
{
    (void)state;
    struct result r;
    run(&r,
        "\"title\": {\"type\": \"varchar\", \"length\": 50, \"unique\": true},"
        "\"rating\": {\"type\": \"integer\"}",
        NULL, false);
    assert_string_equal(r.drift, "drift: movie.title: declared unique, database not unique\n"
                                 "drift: movie.rating: declared integer not null, database integer "
                                 "null\n");
    assert_contains(sb_text(&r.forwards), "ALTER TABLE \"movie\" ALTER COLUMN \"rating\" SET "
                                          "NOT NULL;\n");
    assert_contains(sb_text(&r.backwards), "ALTER TABLE \"movie\" ALTER COLUMN \"rating\" DROP "
                                           "NOT NULL;\n");
    done(&r);
}

static const char searched_columns[] =
    "\"title\": {\"type\": \"varchar\", \"length\": 50, \"search\": true},"
    "\"rating\": {\"type\": \"integer\", \"null\": true}";

static void extra_simple_search(struct orm_live_schema *schema)
{
    live_search_index(&schema->tables[1], "movie_title_search", "title", "simple");
}

static void extra_english_search(struct orm_live_schema *schema)
{
    live_search_index(&schema->tables[1], "movie_title_search", "title", "english");
}

static void test_search_index_is_created_dropped_and_kept(void **state)
{
    (void)state;
    struct result r;
    run(&r, searched_columns, NULL, false);
    assert_string_equal(sb_text(&r.forwards),
                        "CREATE INDEX \"movie_title_search\" ON \"movie\" USING gin "
                        "(to_tsvector('simple'::regconfig, \"title\"));\n");
    assert_string_equal(sb_text(&r.backwards), "DROP INDEX \"movie_title_search\";\n");
    assert_string_equal(r.drift,
                        "drift: movie.title: declared search (simple), database no search\n");
    done(&r);

    run(&r, base_movie_columns, extra_simple_search, false);
    assert_int_equal(r.held_back, 0); /* an index holds no data */
    assert_string_equal(sb_text(&r.forwards), "DROP INDEX \"movie_title_search\";\n");
    assert_string_equal(sb_text(&r.backwards),
                        "CREATE INDEX movie_title_search ON public.movie USING gin "
                        "(to_tsvector('simple'::regconfig, (title)::text));\n");
    assert_string_equal(r.drift,
                        "drift: movie.title: declared no search, database search (simple)\n");
    done(&r);

    run(&r, searched_columns, extra_simple_search, false);
    assert_string_equal(sb_text(&r.forwards), "");
    assert_string_equal(r.drift, "");
    done(&r);
    run_with(&r, "\"search_language\": \"english\", ", searched_columns, extra_english_search,
             false);
    assert_string_equal(sb_text(&r.forwards), "");
    done(&r);
}

static void test_search_language_change_remakes_the_index(void **state)
{
    (void)state;
    struct result r;
    run_with(&r, "\"search_language\": \"english\", ", searched_columns, extra_simple_search,
             false);
    assert_before(sb_text(&r.forwards), "DROP INDEX \"movie_title_search\";\n",
                  "CREATE INDEX \"movie_title_search\" ON \"movie\" USING gin "
                  "(to_tsvector('english'::regconfig, \"title\"));\n");
    assert_before(sb_text(&r.backwards), "DROP INDEX \"movie_title_search\";\n",
                  "CREATE INDEX movie_title_search ON public.movie USING gin "
                  "(to_tsvector('simple'::regconfig, (title)::text));\n");
    assert_string_equal(
        r.drift, "drift: movie.title: declared search (english), database search (simple)\n");
    done(&r);
}

static void test_search_index_follows_a_renamed_column(void **state)
{
    (void)state;
    struct result r;
    run(&r,
        "\"name\": {\"type\": \"varchar\", \"length\": 50, \"renamed_from\": \"title\", "
        "\"search\": true}, \"rating\": {\"type\": \"integer\", \"null\": true}",
        extra_simple_search, false);
    assert_string_equal(sb_text(&r.forwards),
                        "ALTER TABLE \"movie\" RENAME COLUMN \"title\" TO \"name\";\n"
                        "ALTER INDEX \"movie_title_search\" RENAME TO \"movie_name_search\";\n");
    done(&r);
}

static void test_search_expression_is_read_back(void **state)
{
    (void)state;
    static const struct {
        const char *expression, *column, *language;
    } cases[] = {
        {"to_tsvector('english'::regconfig, title)", "title", "english"},
        {"to_tsvector('simple'::regconfig, (title)::text)", "title", "simple"},
        {"to_tsvector('simple'::regconfig, \"select\")", "select", "simple"},
        {"to_tsvector('simple'::regconfig, (\"a\"\"b\")::text)", "a\"b", "simple"},
        {"to_tsvector(title)", NULL, NULL},
        {"to_tsvector('simple'::regconfig, title || body)", NULL, NULL},
        {"to_tsvector('simple'::regconfig, lower(title))", NULL, NULL},
        {"to_tsvector(''::regconfig, title)", NULL, NULL},
        {"to_tsvector('simple'::regconfig, (title)::text", NULL, NULL},
        {"to_tsvector('simple'::regconfig, \"title)", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *column = NULL, *language = NULL;
        bool is_read = orm_search_expression_parse(cases[i].expression, &column, &language);
        if (is_read != (cases[i].column != NULL))
            fail_msg("%s: read %d", cases[i].expression, is_read);
        if (is_read) {
            assert_string_equal(column, cases[i].column);
            assert_string_equal(language, cases[i].language);
        }
        free(column);
        free(language);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_schema_has_no_steps),
        cmocka_unit_test(test_widening_is_applied_and_narrowing_held_back),
        cmocka_unit_test(test_backwards_is_the_exact_reverse),
        cmocka_unit_test(test_rename_column_is_not_drop_and_add),
        cmocka_unit_test(test_undeclared_tables_are_dropped_but_not_restables_own),
        cmocka_unit_test(test_nullability_and_unique_each_describe_once),
        cmocka_unit_test(test_search_index_is_created_dropped_and_kept),
        cmocka_unit_test(test_search_language_change_remakes_the_index),
        cmocka_unit_test(test_search_index_follows_a_renamed_column),
        cmocka_unit_test(test_search_expression_is_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
