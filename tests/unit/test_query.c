/*
 * tests/unit/test_query.c — the pure SQL builder (orm/query*.c): golden statement text and
 * parameters for every operator, match mode, join shape and write; the rules (identifiers
 * validated and quoted, values only as parameters, secrets never selected, text stable per
 * shape). When RESTABLE_TEST_DATABASE_URL is set, the generated statements also run against
 * PostgreSQL in a scratch schema, proving they are valid SQL that returns what they promise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orm/orm.h"

/* ---- fixture: studio <- director <- movie (SPEC §2, plus a column of most types) ---- */

enum {
    M_ID,
    M_NAME,
    M_RATING,
    M_DIRECTOR,
    M_RELEASED,
    M_CREATED,
    M_TAGS,
    M_API_KEY,
    M_POSTER,
    M_UID,
    M_BUDGET,
    M_META,
    M_RUNTIME,
    M_SUMMARY,
    M_COUNT
};
enum { D_ID, D_NAME, D_STUDIO, D_PHOTO, D_COUNT };
enum { S_ID, S_NAME, S_CITY, S_COUNT };

static struct cfg_column studio_columns[S_COUNT], director_columns[D_COUNT], movie_columns[M_COUNT];
static struct cfg_table studio, director, movie;

static struct cfg_column column_make(const char *name, enum cfg_type type)
{
    return (struct cfg_column){.name = (char *)name, .type = type, .value_type = type};
}

static struct cfg_column implicit_id(void)
{
    struct cfg_column id = column_make("id", CFG_TYPE_SERIAL);
    id.is_primary_key = id.is_implicit = true;
    return id;
}

static struct cfg_column foreign_key(const char *name, const struct cfg_table *target)
{
    struct cfg_column fk = column_make(name, CFG_TYPE_FOREIGN_KEY);
    fk.value_type = CFG_TYPE_INTEGER;
    fk.references = target->name;
    fk.referenced_table = target;
    fk.is_nullable = true;
    return fk;
}

static int fixture_setup(void **state)
{
    (void)state;
    studio_columns[S_ID] = implicit_id();
    studio_columns[S_NAME] = column_make("name", CFG_TYPE_VARCHAR);
    studio_columns[S_NAME].length = 100;
    studio_columns[S_CITY] = column_make("city", CFG_TYPE_TEXT);
    studio_columns[S_CITY].is_nullable = true;
    studio = (struct cfg_table){.name = "studio",
                                .columns = studio_columns,
                                .column_count = S_COUNT,
                                .page_size = 15,
                                .max_page_size = 1000};

    director_columns[D_ID] = implicit_id();
    director_columns[D_NAME] = column_make("name", CFG_TYPE_VARCHAR);
    director_columns[D_NAME].length = 100;
    director_columns[D_NAME].is_unique = true;
    director_columns[D_STUDIO] = foreign_key("studio", &studio);
    director_columns[D_PHOTO] = column_make("photo", CFG_TYPE_BYTEA);
    director_columns[D_PHOTO].is_nullable = true;
    director = (struct cfg_table){.name = "director",
                                  .columns = director_columns,
                                  .column_count = D_COUNT,
                                  .readable = &director_columns[D_NAME],
                                  .page_size = 15,
                                  .max_page_size = 1000,
                                  .max_joins = 1};

    struct cfg_column *m = movie_columns;
    m[M_ID] = implicit_id();
    m[M_NAME] = column_make("name", CFG_TYPE_VARCHAR);
    m[M_NAME].length = 200;
    m[M_RATING] = column_make("rating", CFG_TYPE_INTEGER);
    m[M_RATING].default_kind = CFG_DEFAULT_VALUE;
    m[M_DIRECTOR] = foreign_key("director", &director);
    m[M_RELEASED] = column_make("released", CFG_TYPE_BOOLEAN);
    m[M_RELEASED].default_kind = CFG_DEFAULT_VALUE;
    m[M_CREATED] = column_make("created", CFG_TYPE_TIMESTAMPTZ);
    m[M_CREATED].default_kind = CFG_DEFAULT_NOW;
    m[M_TAGS] = column_make("tags", CFG_TYPE_ARRAY);
    m[M_TAGS].value_type = CFG_TYPE_VARCHAR;
    m[M_TAGS].length = 20;
    m[M_TAGS].is_nullable = true;
    m[M_API_KEY] = column_make("api_key", CFG_TYPE_VARCHAR);
    m[M_API_KEY].length = 64;
    m[M_API_KEY].is_secret = true;
    m[M_API_KEY].is_nullable = true;
    m[M_POSTER] = column_make("poster", CFG_TYPE_BYTEA);
    m[M_POSTER].is_nullable = true;
    m[M_UID] = column_make("uid", CFG_TYPE_UUID);
    m[M_UID].default_kind = CFG_DEFAULT_UUID4;
    m[M_BUDGET] = column_make("budget", CFG_TYPE_NUMERIC);
    m[M_BUDGET].precision = 12;
    m[M_BUDGET].scale = 2;
    m[M_BUDGET].is_nullable = true;
    m[M_META] = column_make("meta", CFG_TYPE_JSON);
    m[M_META].is_nullable = true;
    m[M_RUNTIME] = column_make("runtime", CFG_TYPE_INTERVAL);
    m[M_RUNTIME].is_nullable = true;
    m[M_SUMMARY] = column_make("summary", CFG_TYPE_TEXT);
    m[M_SUMMARY].is_nullable = true;
    m[M_SUMMARY].is_searchable = true;
    movie = (struct cfg_table){.name = "movie",
                               .columns = movie_columns,
                               .column_count = M_COUNT,
                               .page_size = 15,
                               .max_page_size = 1000,
                               .max_joins = 2};
    return 0;
}

/* ---- helpers ---- */

#define MOVIE_EXPRS                                                                                \
    "t0.\"id\" AS \"id\", t0.\"name\" AS \"name\", t0.\"rating\" AS \"rating\", "                  \
    "t0.\"director\" AS \"director\", t0.\"released\" AS \"released\", "                           \
    "t0.\"created\" AS \"created\", t0.\"tags\" AS \"tags\", "                                     \
    "translate(encode(t0.\"poster\", 'base64'), E'\\n', '') AS \"poster\", t0.\"uid\" AS "         \
    "\"uid\", t0.\"budget\" AS \"budget\", t0.\"meta\" AS \"meta\", t0.\"runtime\" AS "            \
    "\"runtime\", t0.\"summary\" AS \"summary\""
#define MOVIE_KEYS                                                                                 \
    "s.\"id\", s.\"name\", s.\"rating\", s.\"director\", s.\"released\", s.\"created\", "          \
    "s.\"tags\", s.\"poster\", s.\"uid\", s.\"budget\", s.\"meta\", s.\"runtime\", "               \
    "s.\"summary\""

static void expect_sql_v(struct orm_sql *sql, const char *text, size_t param_count, va_list args)
{
    assert_string_equal(sb_text(&sql->text), text);
    assert_int_equal(sql->param_count, param_count);
    for (size_t i = 0; i < param_count; i++) {
        const char *expected = va_arg(args, const char *);
        if (!expected)
            assert_null(sql->params[i]);
        else
            assert_string_equal(sql->params[i], expected);
    }
    orm_sql_free(sql);
}

/* Checks the statement text and its parameters (NULL for an SQL NULL parameter), then frees. */
static void expect_sql(struct orm_sql *sql, const char *text, size_t param_count, ...)
{
    va_list args;
    va_start(args, param_count);
    expect_sql_v(sql, text, param_count, args);
    va_end(args);
}

/* Builds select with build (orm_build_list, _count...), which must succeed, and checks the
 * statement as expect_sql does. */
static void expect_built(int (*build)(const struct orm_select *, struct orm_sql *,
                                      struct rs_error *),
                         const struct orm_select *select, const char *text, size_t param_count, ...)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(build(select, &sql, &error), 0);
    va_list args;
    va_start(args, param_count);
    expect_sql_v(&sql, text, param_count, args);
    va_end(args);
}

static void expect_failure(int result, struct orm_sql *sql, const struct rs_error *error,
                           enum rs_outcome outcome, const char *field, const char *message)
{
    assert_int_equal(result, -1);
    assert_int_equal(error->outcome, outcome);
    assert_string_equal(error->field, field);
    if (!strstr(error->message, message))
        fail_msg("message \"%s\" lacks \"%s\"", error->message, message);
    assert_int_equal(sql->text.length, 0); /* nothing half-built is handed out */
    assert_int_equal(sql->param_count, 0);
    orm_sql_free(sql);
}

static struct orm_filter filter_of(int column, enum orm_operator op, char **values, size_t count)
{
    return (struct orm_filter){.column = &movie_columns[column],
                               .op = op,
                               .match = ORM_MATCH_EXACT,
                               .values = values,
                               .value_count = count};
}

/* The WHERE clause a count statement gets for one filter, checked with its one parameter. */
static void expect_where(const struct orm_filter *filter, const char *where, const char *param)
{
    struct orm_select select = {.table = &movie, .filters = filter, .filter_count = 1};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_count(&select, &sql, &error) < 0)
        fail_msg("count failed: %s", error.message);
    char expected[512];
    snprintf(expected, sizeof expected, "SELECT count(*) FROM \"movie\" t0 WHERE %s", where);
    if (param)
        expect_sql(&sql, expected, 1, param);
    else
        expect_sql(&sql, expected, 0);
}

static void expect_filter_error(const struct orm_filter *filter, const char *field,
                                const char *message)
{
    struct orm_select select = {.table = &movie, .filters = filter, .filter_count = 1, .limit = 5};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, field, message);
}

static struct orm_field field_of(const struct cfg_column *a, const struct cfg_column *b,
                                 const struct cfg_column *c)
{
    struct orm_field field = {.path = {a, b, c}, .depth = c ? 3 : b ? 2 : 1};
    return field;
}

/* ---- identifiers and the container ---- */

static void test_identifiers_are_validated_and_quoted(void **state)
{
    (void)state;
    assert_true(orm_identifier_is_valid("movie"));
    assert_true(orm_identifier_is_valid("_x9"));
    char longest[64];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    assert_true(orm_identifier_is_valid(longest));
    longest[62] = '\0';
    const char *bad[] = {"", "9a", "Movie", "a-b", "a b", "a\"b", "é", "a;"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(orm_identifier_is_valid(bad[i]));
    assert_false(orm_identifier_is_valid(NULL));
    char too_long[65];
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    assert_false(orm_identifier_is_valid(too_long));

    struct sb out = {0};
    orm_quote_identifier(&out, "a\"b");
    assert_string_equal(sb_text(&out), "\"a\"\"b\"");
    sb_free(&out);
}

static void test_bind_copies_values_and_numbers_them(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    char value[] = "abc";
    for (int i = 1; i <= 20; i++)
        assert_int_equal(orm_sql_bind(&sql, i == 2 ? NULL : value), i);
    value[0] = 'x';
    assert_string_equal(sql.params[0], "abc");
    assert_null(sql.params[1]);
    orm_sql_free(&sql);
    assert_int_equal(sql.param_count, 0);
    orm_sql_free(&sql); /* twice is harmless */
}

/* ---- list ---- */

static void test_list_default_selects_every_visible_column_newest_first(void **state)
{
    (void)state;
    struct orm_select select = {.table = &movie, .limit = 15};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    expect_sql(
        &sql,
        "SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT " MOVIE_EXPRS
        ", row_number() OVER (ORDER BY t0.\"id\" DESC) AS \"#n\" FROM \"movie\" t0 ORDER "
        "BY t0.\"id\" DESC LIMIT 15) s CROSS JOIN LATERAL (SELECT " MOVIE_KEYS ") r",
        0);
}

static void test_list_never_selects_secret_columns(void **state)
{
    (void)state;
    struct orm_select select = {.table = &movie, .limit = 15};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    assert_null(strstr(sb_text(&sql.text), "api_key"));
    orm_sql_free(&sql);

    struct orm_field fields[] = {field_of(&movie_columns[M_NAME], NULL, NULL),
                                 field_of(&movie_columns[M_API_KEY], NULL, NULL)};
    select.fields = fields;
    select.field_count = 2;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "api_key",
                   "unknown field \"api_key\"");
    expect_failure(orm_build_get(&select, "1", &sql, &error), &sql, &error, RS_INVALID, "api_key",
                   "unknown field");

    /* at depth too */
    director_columns[D_PHOTO].is_secret = true;
    struct orm_field nested =
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_PHOTO], NULL);
    select.fields = &nested;
    select.field_count = 1;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID,
                   "director.photo", "unknown field \"director.photo\"");
    director_columns[D_PHOTO].is_secret = false;

    char *values[] = {"k"};
    struct orm_filter filter = filter_of(M_API_KEY, ORM_OP_EQUAL, values, 1);
    expect_filter_error(&filter, "api_key", "unknown field");
    struct orm_order order = {&movie_columns[M_API_KEY], false};
    struct orm_select ordered = {.table = &movie, .orders = &order, .order_count = 1, .limit = 1};
    expect_failure(orm_build_list(&ordered, &sql, &error), &sql, &error, RS_INVALID, "__order",
                   "unknown field \"api_key\"");
}

static void test_list_with_visible_fields_order_limit_and_offset(void **state)
{
    (void)state;
    struct orm_field fields[] = {field_of(&studio_columns[S_NAME], NULL, NULL),
                                 field_of(&studio_columns[S_CITY], NULL, NULL),
                                 field_of(&studio_columns[S_NAME], NULL, NULL)};
    struct orm_order orders[] = {{&studio_columns[S_CITY], false}, {&studio_columns[S_NAME], true}};
    struct orm_select select = {.table = &studio,
                                .fields = fields,
                                .field_count = 3,
                                .orders = orders,
                                .order_count = 2,
                                .limit = 10,
                                .offset = 20};
    expect_built(orm_build_list, &select,
                 "SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
                 "t0.\"name\" AS \"name\", t0.\"city\" AS \"city\", row_number() OVER (ORDER BY "
                 "t0.\"city\" ASC, t0.\"name\" DESC, t0.\"id\" ASC) AS \"#n\" FROM \"studio\" t0 "
                 "ORDER BY t0.\"city\" ASC, t0.\"name\" DESC, t0.\"id\" ASC LIMIT 10 OFFSET "
                 "$1::bigint) s CROSS JOIN LATERAL (SELECT s.\"name\", s.\"city\") r",
                 1, "20");

    /* ordered by the primary key already: no tie-breaker; no limit, no offset */
    struct orm_order by_pk = {&studio_columns[S_ID], false};
    select = (struct orm_select){.table = &studio,
                                 .fields = fields,
                                 .field_count = 1,
                                 .orders = &by_pk,
                                 .order_count = 1,
                                 .limit = -1,
                                 .offset = 0};
    expect_built(orm_build_list, &select,
                 "SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
                 "t0.\"name\" AS \"name\", row_number() OVER (ORDER BY t0.\"id\" ASC) AS \"#n\" "
                 "FROM \"studio\" t0 ORDER BY t0.\"id\" ASC) s CROSS JOIN LATERAL (SELECT "
                 "s.\"name\") r",
                 0);

    select.limit = 0;
    select.offset = 3;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    assert_non_null(strstr(sb_text(&sql.text), " LIMIT 0 OFFSET $1::bigint) s"));
    assert_int_equal(sql.param_count, 1);
    assert_string_equal(sql.params[0], "3");
    orm_sql_free(&sql);
}

static void test_list_orders_json_columns_as_jsonb(void **state)
{
    (void)state;
    struct orm_order order = {&movie_columns[M_META], true};
    struct orm_select select = {.table = &movie, .orders = &order, .order_count = 1, .limit = 1};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    assert_non_null(strstr(sb_text(&sql.text), "ORDER BY t0.\"meta\"::jsonb DESC, t0.\"id\" ASC "
                                               "LIMIT"));
    orm_sql_free(&sql);
}

/* ---- filters ---- */

/* CSV: text columns named by the field's path, the page numbered and sorted as the list. */
static void test_list_csv_selects_text_columns_named_by_path(void **state)
{
    (void)state;
    struct orm_field fields[] = {
        field_of(&movie_columns[M_NAME], NULL, NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_NAME], NULL),
        field_of(&movie_columns[M_CREATED], NULL, NULL),
        field_of(&movie_columns[M_TAGS], NULL, NULL), field_of(&movie_columns[M_NAME], NULL, NULL)};
    struct orm_select select = {.table = &movie, .fields = fields, .field_count = 5, .limit = 2};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list_csv(&select, &sql, &error), 0);
    const char *text = sb_text(&sql.text);
    const char *head = "SELECT (s.\"name\")::text AS \"name\", (s.\"director\" -> 'name') #>> '{}' "
                       "AS \"director.name\", to_json(s.\"created\") #>> '{}' AS \"created\", "
                       "to_json(s.\"tags\")::text AS \"tags\" FROM (SELECT ";
    if (strncmp(text, head, strlen(head)) != 0)
        fail_msg("unexpected start: %s", text);
    assert_non_null(strstr(text, "LIMIT 2) s ORDER BY s.\"#n\""));
    orm_sql_free(&sql);
}

/* The export binds nothing in its COPY: each value is a transaction-local setting, set by a
 * statement with bound parameters; a NULL parameter is written NULL. */
static void test_export_reads_its_values_from_settings(void **state)
{
    (void)state;
    char *ratings[] = {"5", "7"};
    char *names[] = {"O'Brien $1"};
    struct orm_filter filters[] = {filter_of(M_RATING, ORM_OP_GREATER, ratings, 1),
                                   filter_of(M_NAME, ORM_OP_EQUAL, names, 1)};
    struct orm_field fields[] = {field_of(&movie_columns[M_ID], NULL, NULL)};
    struct orm_select select = {.table = &movie,
                                .filters = filters,
                                .filter_count = 2,
                                .fields = fields,
                                .field_count = 1,
                                .limit = 10,
                                .offset = 20};
    struct orm_sql settings = {0}, copy = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_export(&select, &settings, &copy, &error), 0);
    assert_int_equal(copy.param_count, 0);
    const char *text = sb_text(&copy.text);
    assert_null(strstr(text, "$"));
    assert_null(strstr(text, "O'Brien"));
    assert_null(strstr(text, "LIMIT"));
    assert_null(strstr(text, "OFFSET"));
    assert_null(strstr(text, "#n"));
    assert_non_null(strstr(text, "t0.\"rating\" > current_setting('restable.export_1')::integer"));
    assert_non_null(strstr(text, "= ANY(current_setting('restable.export_2')::"));
    if (strncmp(text, "COPY (SELECT (s.\"id\")::text AS \"id\" FROM (SELECT ", 49) != 0)
        fail_msg("unexpected start: %s", text);
    assert_non_null(strstr(text, ") s) TO STDOUT WITH (FORMAT csv, HEADER)"));
    expect_sql(&settings,
               "SELECT set_config('restable.export_1', $1, true), "
               "set_config('restable.export_2', $2, true)",
               2, "5", "{\"O'Brien $1\"}");
    orm_sql_free(&copy);
}

static void test_filter_equal_binds_one_array_parameter(void **state)
{
    (void)state;
    char *one[] = {"5"};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_EQUAL, one, 1);
    expect_where(&filter, "t0.\"rating\" = ANY($1::integer[])", "{\"5\"}");
    filter.is_row_key = true; /* the key of a one-row route: a scalar */
    expect_where(&filter, "t0.\"rating\" = $1::integer", "5");
    filter.is_row_key = false;
    char *three[] = {"1", "2", "3"};
    filter = filter_of(M_RATING, ORM_OP_EQUAL, three, 3);
    expect_where(&filter, "t0.\"rating\" = ANY($1::integer[])", "{\"1\",\"2\",\"3\"}");
    filter = filter_of(M_RATING, ORM_OP_NOT_EQUAL, three, 3);
    expect_where(&filter, "t0.\"rating\" <> ALL($1::integer[])", "{\"1\",\"2\",\"3\"}");
    char *uid[] = {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"};
    filter = filter_of(M_UID, ORM_OP_EQUAL, uid, 1);
    expect_where(&filter, "t0.\"uid\" = ANY($1::uuid[])",
                 "{\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"}");
}

/* A prepared default projection gives the very statements a fresh build gives, for each
 * readable setting and both get and list; it is ignored for another table, another readable
 * setting or an explicit field list. */
static void test_prepared_projection_gives_the_same_statements(void **state)
{
    (void)state;
    struct rs_error error = {0};
    struct orm_prepared_projection *prepared[2] = {orm_prepare_projection(&movie, false),
                                                   orm_prepare_projection(&movie, true)};
    assert_non_null(prepared[0]);
    assert_non_null(prepared[1]);
    for (int readable = 0; readable < 2; readable++) {
        for (int use = 0; use < 2; use++) {
            struct orm_select select = {.table = &movie, .readable = readable, .limit = 15};
            struct orm_sql fresh = {0}, reused = {0};
            assert_int_equal(use ? orm_build_get(&select, "7", &fresh, &error)
                                 : orm_build_list(&select, &fresh, &error),
                             0);
            select.prepared = prepared[readable];
            assert_int_equal(use ? orm_build_get(&select, "7", &reused, &error)
                                 : orm_build_list(&select, &reused, &error),
                             0);
            assert_string_equal(sb_text(&fresh.text), sb_text(&reused.text));
            orm_sql_free(&fresh);
            orm_sql_free(&reused);
        }
    }
    /* a mismatched preparation is not used: the readable keys appear only when asked for */
    struct orm_select select = {.table = &movie, .readable = false, .prepared = prepared[1]};
    struct orm_sql sql = {0};
    assert_int_equal(orm_build_get(&select, "7", &sql, &error), 0);
    assert_null(strstr(sb_text(&sql.text), "director_readable"));
    orm_sql_free(&sql);
    select.readable = true;
    assert_int_equal(orm_build_get(&select, "7", &sql, &error), 0);
    assert_non_null(strstr(sb_text(&sql.text), "director_readable"));
    orm_sql_free(&sql);
    struct orm_field fields[] = {{.path = {&movie_columns[M_NAME]}, .depth = 1}};
    select.fields = fields;
    select.field_count = 1;
    assert_int_equal(orm_build_get(&select, "7", &sql, &error), 0);
    assert_null(strstr(sb_text(&sql.text), "\"rating\""));
    orm_sql_free(&sql);
    select = (struct orm_select){.table = &director, .prepared = prepared[0]};
    assert_int_equal(orm_build_get(&select, "7", &sql, &error), 0);
    assert_null(strstr(sb_text(&sql.text), "\"rating\""));
    orm_sql_free(&sql);
    orm_prepared_projection_free(prepared[0]);
    orm_prepared_projection_free(prepared[1]);
}

static void test_statement_text_is_identical_for_one_and_three_values(void **state)
{
    (void)state;
    char *one[] = {"7"};
    char *three[] = {"7", "8", "9"};
    struct orm_filter filters[] = {filter_of(M_RATING, ORM_OP_EQUAL, one, 1),
                                   filter_of(M_RATING, ORM_OP_EQUAL, three, 3)};
    struct orm_sql first = {0}, second = {0};
    struct rs_error error = {0};
    struct orm_select select = {
        .table = &movie, .filters = &filters[0], .filter_count = 1, .limit = 15, .readable = true};
    assert_int_equal(orm_build_list(&select, &first, &error), 0);
    select.filters = &filters[1];
    /* same page size: LIMIT is a literal, so only the values may differ */
    assert_int_equal(orm_build_list(&select, &second, &error), 0);
    assert_string_equal(sb_text(&first.text), sb_text(&second.text));
    assert_string_not_equal(first.params[0], second.params[0]);
    orm_sql_free(&first);
    orm_sql_free(&second);

    /* text contains, exact, arrays: the same holds */
    char *names[] = {"a", "b", "c"};
    for (int match = ORM_MATCH_CONTAINS; match <= ORM_MATCH_ENDS; match++) {
        struct orm_filter text_filters[] = {filter_of(M_NAME, ORM_OP_EQUAL, names, 1),
                                            filter_of(M_TAGS, ORM_OP_EQUAL, names, 1)};
        text_filters[0].match = (enum orm_match)match;
        select = (struct orm_select){.table = &movie, .filters = text_filters, .filter_count = 2};
        assert_int_equal(orm_build_count(&select, &first, &error), 0);
        text_filters[0].value_count = text_filters[1].value_count = 3;
        assert_int_equal(orm_build_count(&select, &second, &error), 0);
        assert_string_equal(sb_text(&first.text), sb_text(&second.text));
        orm_sql_free(&first);
        orm_sql_free(&second);
    }
}

static void test_filter_comparison_operators(void **state)
{
    (void)state;
    char *value[] = {"5"};
    static const struct {
        enum orm_operator op;
        const char *where;
    } cases[] = {
        {ORM_OP_NOT_EQUAL, "t0.\"rating\" <> ALL($1::integer[])"},
        {ORM_OP_LESS, "t0.\"rating\" < $1::integer"},
        {ORM_OP_LESS_EQUAL, "t0.\"rating\" <= $1::integer"},
        {ORM_OP_GREATER, "t0.\"rating\" > $1::integer"},
        {ORM_OP_GREATER_EQUAL, "t0.\"rating\" >= $1::integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct orm_filter filter = filter_of(M_RATING, cases[i].op, value, 1);
        expect_where(&filter, cases[i].where, strchr(cases[i].where, '[') ? "{\"5\"}" : "5");
    }
    char *when[] = {"2020-01-01T00:00:00+00:00"};
    struct orm_filter filter = filter_of(M_CREATED, ORM_OP_GREATER_EQUAL, when, 1);
    expect_where(&filter, "t0.\"created\" >= $1::timestamptz", when[0]);
    char *meta[] = {"{\"a\":1}"};
    filter = filter_of(M_META, ORM_OP_EQUAL, meta, 1);
    expect_where(&filter, "t0.\"meta\"::jsonb = ANY($1::jsonb[])", "{\"{\\\"a\\\":1}\"}");
}

static void test_filter_is_null_and_not_null(void **state)
{
    (void)state;
    struct orm_filter filter = filter_of(M_DIRECTOR, ORM_OP_IS_NULL, NULL, 0);
    expect_where(&filter, "t0.\"director\" IS NULL", NULL);
    filter = filter_of(M_DIRECTOR, ORM_OP_NOT_NULL, NULL, 0);
    expect_where(&filter, "t0.\"director\" IS NOT NULL", NULL);
    filter = filter_of(M_TAGS, ORM_OP_IS_NULL, NULL, 0);
    expect_where(&filter, "t0.\"tags\" IS NULL", NULL);
}

static void test_filter_null_among_values(void **state)
{
    (void)state;
    char *only_null[] = {NULL};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_EQUAL, only_null, 1);
    expect_where(&filter, "t0.\"rating\" IS NULL", NULL);
    char *mixed[] = {"1", NULL, "2"};
    filter = filter_of(M_RATING, ORM_OP_EQUAL, mixed, 3);
    expect_where(&filter, "(t0.\"rating\" IS NULL OR t0.\"rating\" = ANY($1::integer[]))",
                 "{\"1\",\"2\"}");
    filter = filter_of(M_RATING, ORM_OP_NOT_EQUAL, only_null, 1);
    expect_where(&filter, "t0.\"rating\" IS NOT NULL", NULL);
    filter = filter_of(M_RATING, ORM_OP_NOT_EQUAL, mixed, 3);
    expect_where(&filter, "(t0.\"rating\" IS NOT NULL AND t0.\"rating\" <> ALL($1::integer[]))",
                 "{\"1\",\"2\"}");
    filter = filter_of(M_NAME, ORM_OP_EQUAL, mixed, 3);
    filter.match = ORM_MATCH_CONTAINS;
    expect_where(&filter, "(t0.\"name\" IS NULL OR t0.\"name\" ILIKE ANY($1::text[]))",
                 "{\"%1%\",\"%2%\"}");
}

static void test_text_filter_match_modes_escape_wildcards(void **state)
{
    (void)state;
    char *value[] = {"50%_a\\b"};
    static const struct {
        enum orm_match match;
        const char *param;
    } cases[] = {
        {ORM_MATCH_CONTAINS, "{\"%50\\\\%\\\\_a\\\\\\\\b%\"}"},
        {ORM_MATCH_STARTS, "{\"50\\\\%\\\\_a\\\\\\\\b%\"}"},
        {ORM_MATCH_ENDS, "{\"%50\\\\%\\\\_a\\\\\\\\b\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct orm_filter filter = filter_of(M_NAME, ORM_OP_EQUAL, value, 1);
        filter.match = cases[i].match;
        expect_where(&filter, "t0.\"name\" ILIKE ANY($1::text[])", cases[i].param);
    }
    struct orm_filter filter = filter_of(M_NAME, ORM_OP_EQUAL, value, 1);
    expect_where(&filter, "t0.\"name\" = ANY($1::varchar[])", "{\"50%_a\\\\b\"}");
    char *two[] = {"x\"y", "z"};
    filter = filter_of(M_SUMMARY, ORM_OP_EQUAL, two, 2);
    filter.match = ORM_MATCH_CONTAINS;
    expect_where(&filter, "t0.\"summary\" ILIKE ANY($1::text[])", "{\"%x\\\"y%\",\"%z%\"}");
    filter.match = ORM_MATCH_EXACT;
    expect_where(&filter, "t0.\"summary\" = ANY($1::text[])", "{\"x\\\"y\",\"z\"}");
}

static void test_search_filter_is_the_index_expression(void **state)
{
    (void)state;
    char *query[] = {"rebel -empire \"new hope\""};
    struct orm_filter filter = filter_of(M_SUMMARY, ORM_OP_EQUAL, query, 1);
    filter.match = ORM_MATCH_SEARCH;
    /* no search_language: simple */
    expect_where(&filter,
                 "to_tsvector('simple'::regconfig, t0.\"summary\") @@ "
                 "websearch_to_tsquery('simple'::regconfig, $1::text)",
                 query[0]);
    movie.search_language = "english";
    expect_where(&filter,
                 "to_tsvector('english'::regconfig, t0.\"summary\") @@ "
                 "websearch_to_tsquery('english'::regconfig, $1::text)",
                 query[0]);
    movie.search_language = NULL;
    filter = filter_of(M_NAME, ORM_OP_EQUAL, query, 1);
    filter.match = ORM_MATCH_SEARCH;
    expect_filter_error(&filter, "name", "not a \"search\": true column");
    char *two[] = {"a", "b"};
    filter = filter_of(M_SUMMARY, ORM_OP_EQUAL, two, 2);
    filter.match = ORM_MATCH_SEARCH;
    expect_filter_error(&filter, "summary", "a search takes one query and no operator");
    filter = filter_of(M_SUMMARY, ORM_OP_NOT_EQUAL, query, 1);
    filter.match = ORM_MATCH_SEARCH;
    expect_filter_error(&filter, "summary", "a search takes one query and no operator");
    char *none[] = {NULL};
    filter = filter_of(M_SUMMARY, ORM_OP_EQUAL, none, 1);
    filter.match = ORM_MATCH_SEARCH;
    expect_filter_error(&filter, "summary", "a search takes one query and no operator");
}

static void test_text_filter_other_operators_compare_plainly(void **state)
{
    (void)state;
    char *value[] = {"M"};
    struct orm_filter filter = filter_of(M_NAME, ORM_OP_NOT_EQUAL, value, 1);
    filter.match = ORM_MATCH_CONTAINS; /* match modes only shape e */
    expect_where(&filter, "t0.\"name\" <> ALL($1::varchar[])", "{\"M\"}");
    filter.op = ORM_OP_LESS;
    expect_where(&filter, "t0.\"name\" < $1::varchar", "M");
    filter.op = ORM_OP_GREATER_EQUAL;
    expect_where(&filter, "t0.\"name\" >= $1::varchar", "M");
}

static void test_array_filter_contains_and_overlaps(void **state)
{
    (void)state;
    char *one[] = {"sci-fi"};
    struct orm_filter filter = filter_of(M_TAGS, ORM_OP_EQUAL, one, 1);
    filter.match = ORM_MATCH_CONTAINS;
    expect_where(&filter, "t0.\"tags\" && $1::varchar[]", "{\"sci-fi\"}");
    char *two[] = {"a,b", "c"};
    filter = filter_of(M_TAGS, ORM_OP_EQUAL, two, 2);
    expect_where(&filter, "t0.\"tags\" && $1::varchar[]", "{\"a,b\",\"c\"}");
    char *with_null[] = {NULL, "c"};
    filter = filter_of(M_TAGS, ORM_OP_EQUAL, with_null, 2);
    expect_where(&filter, "(t0.\"tags\" IS NULL OR t0.\"tags\" && $1::varchar[])", "{\"c\"}");
    filter = filter_of(M_TAGS, ORM_OP_LESS, one, 1);
    expect_filter_error(&filter, "tags", "tags: operator lt does not apply to an array column");
    filter = filter_of(M_TAGS, ORM_OP_NOT_EQUAL, one, 1);
    expect_filter_error(&filter, "tags", "operator ne does not apply to an array column");
}

static void test_filter_errors(void **state)
{
    (void)state;
    char *two[] = {"1", "2"};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_LESS, two, 2);
    expect_filter_error(&filter, "rating", "rating: only one value allowed with operator lt");
    filter = filter_of(M_RATING, ORM_OP_GREATER_EQUAL, two, 2);
    expect_filter_error(&filter, "rating", "only one value allowed with operator gte");
    char *null_value[] = {NULL};
    filter = filter_of(M_RATING, ORM_OP_GREATER, null_value, 1);
    expect_filter_error(&filter, "rating", "operator gt needs a value, not null");
    filter = filter_of(M_RATING, ORM_OP_EQUAL, NULL, 0);
    expect_filter_error(&filter, "rating", "operator e needs a value");
    filter = (struct orm_filter){.column = &director_columns[D_NAME], .op = ORM_OP_IS_NULL};
    expect_filter_error(&filter, "name", "unknown field");
}

/* ---- joins and readable ---- */

static void test_nested_fields_join_once_per_path(void **state)
{
    (void)state;
    struct orm_field fields[] = {
        field_of(&movie_columns[M_NAME], NULL, NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_NAME], NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_STUDIO], &studio_columns[S_NAME]),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_PHOTO], NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_STUDIO], &studio_columns[S_CITY]),
    };
    struct orm_select select = {
        .table = &movie, .fields = fields, .field_count = 5, .limit = 15, .readable = true};
    expect_built(
        orm_build_list, &select,
        "SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
        "t0.\"name\" AS \"name\", CASE WHEN t1.\"id\" IS NULL THEN NULL ELSE "
        "json_build_object('name', t1.\"name\", 'studio', CASE WHEN t2.\"id\" IS NULL THEN "
        "NULL ELSE json_build_object('name', t2.\"name\", 'city', t2.\"city\") END, "
        "'photo', translate(encode(t1.\"photo\", 'base64'), E'\\n', '')) END AS "
        "\"director\", row_number() OVER (ORDER BY t0.\"id\" DESC) AS \"#n\" FROM "
        "\"movie\" t0 LEFT JOIN \"director\" t1 ON t1.\"id\" = t0.\"director\" LEFT JOIN "
        "\"studio\" t2 ON t2.\"id\" = t1.\"studio\" ORDER BY t0.\"id\" DESC LIMIT "
        "15) s CROSS JOIN LATERAL (SELECT s.\"name\", s.\"director\") r",
        0);
}

static void test_depth_one_foreign_key_is_its_value_with_readable(void **state)
{
    (void)state;
    struct orm_field fields[] = {field_of(&movie_columns[M_DIRECTOR], NULL, NULL)};
    struct orm_select select = {
        .table = &movie, .fields = fields, .field_count = 1, .readable = true};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_get(&select, "3", &sql, &error), 0);
    expect_sql(&sql,
               "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT t0.\"director\" AS "
               "\"director\", t1.\"name\"::text AS \"director_readable\", t0.xmin::text AS \"#v\" "
               "FROM \"movie\" t0 LEFT JOIN \"director\" t1 ON t1.\"id\" = t0.\"director\" WHERE "
               "t0.\"id\" = $1::integer) s CROSS JOIN LATERAL (SELECT s.\"director\", "
               "s.\"director_readable\") r",
               1, "3");

    /* a target without a readable column shows its primary key; readable off adds nothing */
    struct orm_field studio_field = field_of(&director_columns[D_STUDIO], NULL, NULL);
    select = (struct orm_select){
        .table = &director, .fields = &studio_field, .field_count = 1, .readable = true};
    assert_int_equal(orm_build_get(&select, "1", &sql, &error), 0);
    expect_sql(&sql,
               "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT t0.\"studio\" AS \"studio\", "
               "t1.\"id\"::text AS \"studio_readable\", t0.xmin::text AS \"#v\" FROM \"director\" "
               "t0 LEFT JOIN \"studio\" t1 ON t1.\"id\" = t0.\"studio\" WHERE t0.\"id\" = "
               "$1::integer) s CROSS JOIN LATERAL (SELECT s.\"studio\", s.\"studio_readable\") r",
               1, "1");
    select.readable = false;
    assert_int_equal(orm_build_get(&select, "1", &sql, &error), 0);
    expect_sql(&sql,
               "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT t0.\"studio\" AS \"studio\", "
               "t0.xmin::text AS \"#v\" FROM \"director\" t0 WHERE t0.\"id\" = $1::integer) s "
               "CROSS JOIN LATERAL (SELECT s.\"studio\") r",
               1, "1");
}

static void test_readable_reuses_the_nesting_join(void **state)
{
    (void)state;
    struct orm_field fields[] = {
        field_of(&director_columns[D_STUDIO], &studio_columns[S_NAME], NULL),
        field_of(&director_columns[D_NAME], NULL, NULL),
    };
    struct orm_select select = {
        .table = &director, .fields = fields, .field_count = 2, .readable = true};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_get(&select, "1", &sql, &error), 0);
    const char *text = sb_text(&sql.text);
    /* a nested object replaces the value: no studio_readable, one join */
    assert_null(strstr(text, "studio_readable"));
    assert_null(strstr(text, " t2 "));
    assert_non_null(strstr(text, "LEFT JOIN \"studio\" t1 ON t1.\"id\" = t0.\"studio\""));
    orm_sql_free(&sql);
}

static void test_join_deeper_than_max_joins_is_rejected(void **state)
{
    (void)state;
    struct orm_field deep =
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_STUDIO], &studio_columns[S_NAME]);
    struct orm_select select = {.table = &movie, .fields = &deep, .field_count = 1, .limit = 1};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    movie.max_joins = 1;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID,
                   "director.studio.name",
                   "too many joins: \"director.studio.name\" needs 2, max_joins is 1");
    movie.max_joins = 2;
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    orm_sql_free(&sql);

    struct orm_field one = field_of(&director_columns[D_STUDIO], &studio_columns[S_NAME], NULL);
    select = (struct orm_select){.table = &director, .fields = &one, .field_count = 1};
    director.max_joins = 0;
    expect_failure(orm_build_get(&select, "1", &sql, &error), &sql, &error, RS_INVALID,
                   "studio.name", "max_joins is 0");
    director.max_joins = 1;
}

static void test_invalid_field_paths_are_rejected(void **state)
{
    (void)state;
    struct orm_select select = {.table = &movie, .field_count = 1, .limit = 1};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    struct orm_field foreign = field_of(&director_columns[D_NAME], NULL, NULL);
    select.fields = &foreign;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "name",
                   "unknown field \"name\"");
    struct orm_field through_plain =
        field_of(&movie_columns[M_NAME], &director_columns[D_NAME], NULL);
    select.fields = &through_plain;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "name.name",
                   "unknown field");
    struct orm_field wrong_table =
        field_of(&movie_columns[M_DIRECTOR], &studio_columns[S_NAME], NULL);
    select.fields = &wrong_table;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "director.name",
                   "unknown field");
    struct orm_field empty = {.depth = 0};
    select.fields = &empty;
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID,
                   "__visible_fields", "1 to 5 parts");
}

/* ---- list with total, get, count ---- */

static void test_list_with_total_reuses_filter_parameters(void **state)
{
    (void)state;
    char *value[] = {"3"};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_GREATER, value, 1);
    struct orm_field fields[] = {field_of(&movie_columns[M_ID], NULL, NULL)};
    struct orm_select select = {.table = &movie,
                                .filters = &filter,
                                .filter_count = 1,
                                .fields = fields,
                                .field_count = 1,
                                .limit = 15,
                                .offset = 15};
    expect_built(orm_build_list_with_total, &select,
                 "SELECT (SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
                 "t0.\"id\" AS \"id\", row_number() OVER (ORDER BY t0.\"id\" DESC) AS \"#n\" FROM "
                 "\"movie\" t0 WHERE t0.\"rating\" > $1::integer ORDER BY t0.\"id\" DESC LIMIT "
                 "15 OFFSET $2::bigint) s CROSS JOIN LATERAL (SELECT s.\"id\") r), (SELECT "
                 "count(*) FROM \"movie\" t0 WHERE t0.\"rating\" > $1::integer)",
                 2, "3", "15");
}

static void test_get_ignores_filters_and_order(void **state)
{
    (void)state;
    char *value[] = {"3"};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_GREATER, value, 1);
    struct orm_order order = {&movie_columns[M_NAME], false};
    struct orm_select select = {.table = &movie,
                                .filters = &filter,
                                .filter_count = 1,
                                .orders = &order,
                                .order_count = 1,
                                .limit = 4};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_get(&select, "42", &sql, &error), 0);
    expect_sql(&sql,
               "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT " MOVIE_EXPRS
               ", t0.xmin::text AS \"#v\" FROM \"movie\" t0 WHERE t0.\"id\" = $1::integer) s "
               "CROSS JOIN LATERAL (SELECT " MOVIE_KEYS ") r",
               1, "42");
    expect_failure(orm_build_get(&select, NULL, &sql, &error), &sql, &error, RS_INVALID, "id",
                   "primary key");
}

static void test_count_with_and_without_filters(void **state)
{
    (void)state;
    struct orm_select select = {.table = &movie};
    expect_built(orm_build_count, &select, "SELECT count(*) FROM \"movie\" t0", 0);
    char *ids[] = {"1", "2"};
    struct orm_filter filters[] = {filter_of(M_ID, ORM_OP_EQUAL, ids, 2),
                                   filter_of(M_RELEASED, ORM_OP_NOT_NULL, NULL, 0)};
    select.filters = filters;
    select.filter_count = 2;
    expect_built(orm_build_count, &select,
                 "SELECT count(*) FROM \"movie\" t0 WHERE t0.\"id\" = ANY($1::integer[]) AND "
                 "t0.\"released\" IS NOT NULL",
                 1, "{\"1\",\"2\"}");
}

/* ---- writes ---- */

#define INSERT_TAIL                                                                                \
    " RETURNING \"id\") SELECT coalesce(json_agg(json_build_object('id', t0.\"id\")), "            \
    "'[]')::text FROM ins t0"

static void test_insert_one_row(void **state)
{
    (void)state;
    struct orm_assignment set[] = {{&movie_columns[M_TAGS], "{\"a\"}"},
                                   {&movie_columns[M_NAME], "Alien"},
                                   {&movie_columns[M_DIRECTOR], NULL}};
    struct orm_row row = {set, 3};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert(&movie, &row, 1, &sql, &error), 0);
    expect_sql(&sql,
               "WITH ins AS (INSERT INTO \"movie\" (\"name\", \"director\", \"tags\") VALUES "
               "($1::varchar, $2::integer, $3::varchar[])" INSERT_TAIL,
               3, "Alien", NULL, "{\"a\"}");
}

static void test_insert_rows_with_different_columns_fill_defaults(void **state)
{
    (void)state;
    struct orm_assignment first[] = {{&movie_columns[M_NAME], "A"}};
    struct orm_assignment second[] = {{&movie_columns[M_RATING], "3"},
                                      {&movie_columns[M_NAME], "B"}};
    struct orm_assignment third[] = {{&movie_columns[M_POSTER], "\\x01"}};
    struct orm_row rows[] = {{first, 1}, {second, 2}, {third, 1}, {NULL, 0}};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert(&movie, rows, 4, &sql, &error), 0);
    expect_sql(&sql,
               "WITH ins AS (INSERT INTO \"movie\" (\"name\", \"rating\", \"poster\") VALUES "
               "($1::varchar, DEFAULT, DEFAULT), ($2::varchar, $3::integer, DEFAULT), (DEFAULT, "
               "DEFAULT, $4::bytea), (DEFAULT, DEFAULT, DEFAULT)" INSERT_TAIL,
               4, "A", "B", "3", "\\x01");
}

static void test_insert_rows_without_values_use_defaults(void **state)
{
    (void)state;
    struct orm_row rows[] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert(&movie, rows, 1, &sql, &error), 0);
    expect_sql(&sql, "WITH ins AS (INSERT INTO \"movie\" DEFAULT VALUES" INSERT_TAIL, 0);
    assert_int_equal(orm_build_insert(&movie, rows, 3, &sql, &error), 0);
    expect_sql(&sql,
               "WITH ins AS (INSERT INTO \"movie\" (\"id\") VALUES (DEFAULT), (DEFAULT), "
               "(DEFAULT)" INSERT_TAIL,
               0);
}

static void test_insert_rejects_bad_rows(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    expect_failure(orm_build_insert(&movie, NULL, 0, &sql, &error), &sql, &error, RS_INVALID, "",
                   "no rows");
    struct orm_assignment twice[] = {{&movie_columns[M_NAME], "A"}, {&movie_columns[M_NAME], "B"}};
    struct orm_row row = {twice, 2};
    expect_failure(orm_build_insert(&movie, &row, 1, &sql, &error), &sql, &error, RS_INVALID,
                   "name", "assigned twice");
    struct orm_assignment foreign[] = {{&studio_columns[S_CITY], "x"}};
    row = (struct orm_row){foreign, 1};
    expect_failure(orm_build_insert(&movie, &row, 1, &sql, &error), &sql, &error, RS_INVALID,
                   "city", "unknown column");
}

/* ---- bulk create and upsert (orm/query_insert.c) ---- */

#define INSERT_ROWS_RETURNING " RETURNING t0.*, t0.xmin AS \"#v\", (t0.xmax = 0) AS \"#new\")"
#define STUDIO_PAIRED " FROM ins t0 JOIN \"#k\" k ON k.\"#k0\" = t0.\"id\""

static void test_insert_rows_pairs_generated_keys_with_the_order_sent(void **state)
{
    (void)state;
    struct orm_assignment first[] = {{&studio_columns[S_NAME], "Pixar"}};
    struct orm_assignment second[] = {{&studio_columns[S_CITY], "Tokyo"},
                                      {&studio_columns[S_NAME], "Ghibli"}};
    struct orm_row rows[] = {{first, 1}, {second, 2}};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert_rows(&studio, rows, 2, NULL, &sql, &error), 0);
    expect_sql(&sql,
               "WITH \"#k\"(\"#o\", \"#k0\") AS MATERIALIZED (SELECT v.\"#o\", "
               "coalesce(v.\"#k0\", nextval(q.\"#q0\")::integer) FROM (VALUES (1, NULL::integer), "
               "(2, NULL::integer)) v(\"#o\", \"#k0\") CROSS JOIN (SELECT "
               "pg_get_serial_sequence($1, $2)::regclass AS \"#q0\") q), ins AS (INSERT INTO "
               "\"studio\" AS t0 (\"id\", \"name\", \"city\") VALUES ((SELECT \"#k0\" FROM "
               "\"#k\" WHERE \"#o\" = 1), $3::varchar, DEFAULT), ((SELECT \"#k0\" FROM \"#k\" "
               "WHERE \"#o\" = 2), $4::varchar, $5::text)" INSERT_ROWS_RETURNING
               " SELECT (SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
               "t0.\"id\" AS \"id\", t0.\"name\" AS \"name\", t0.\"city\" AS \"city\", "
               "row_number() OVER (ORDER BY k.\"#o\") AS \"#n\"" STUDIO_PAIRED
               ") s CROSS JOIN LATERAL (SELECT s.\"id\", s.\"name\", s.\"city\") r), (SELECT "
               "json_agg(t0.\"#new\" ORDER BY k.\"#o\")" STUDIO_PAIRED
               ")::text, (SELECT t0.\"#v\"::text" STUDIO_PAIRED " WHERE k.\"#o\" = 1)",
               5, "\"studio\"", "id", "Pixar", "Ghibli", "Tokyo");
}

static void test_upsert_updates_what_each_row_sent(void **state)
{
    (void)state;
    const struct cfg_column *key[] = {&director_columns[D_NAME]};
    struct orm_conflict conflict = {key, 1};
    struct orm_assignment first[] = {{&director_columns[D_NAME], "Lucas"},
                                     {&director_columns[D_STUDIO], "1"}};
    struct orm_assignment second[] = {{&director_columns[D_NAME], "Varda"}};
    struct orm_row rows[] = {{first, 2}, {second, 1}};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert_rows(&director, rows, 2, &conflict, &sql, &error), 0);
    /* the answer is the same as above, paired on the conflict key: only the INSERT differs */
    char *answer = strstr(sql.text.data, " SELECT (SELECT");
    assert_non_null(answer);
    assert_non_null(strstr(answer, " FROM ins t0 JOIN \"#k\" k ON k.\"#k0\" = t0.\"name\") s "));
    *answer = '\0';
    expect_sql(&sql,
               "WITH \"#k\"(\"#o\", \"#k0\", \"#s2\") AS MATERIALIZED (SELECT v.\"#o\", "
               "v.\"#k0\", v.\"#s2\" FROM (VALUES (1, $1::varchar, true), (2, $2::varchar, false)) "
               "v(\"#o\", \"#k0\", \"#s2\")), ins AS (INSERT INTO \"director\" "
               "AS t0 (\"name\", \"studio\") VALUES ($1::varchar, $3::integer), ($2::varchar, "
               "DEFAULT) ON CONFLICT (\"name\") DO UPDATE SET \"studio\" = CASE WHEN (SELECT "
               "k.\"#s2\" FROM \"#k\" k WHERE k.\"#k0\" = EXCLUDED.\"name\") THEN "
               "EXCLUDED.\"studio\" ELSE t0.\"studio\" END" INSERT_ROWS_RETURNING,
               3, "Lucas", "Varda", "1");
}

static void test_upsert_of_keys_only_still_returns_the_row(void **state)
{
    (void)state;
    movie_columns[M_UID].is_unique = true;
    const struct cfg_column *key[] = {&movie_columns[M_UID]};
    struct orm_conflict conflict = {key, 1};
    struct orm_assignment sent[] = {
        {&movie_columns[M_UID], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}};
    struct orm_row rows[] = {{sent, 1}, {NULL, 0}};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert_rows(&movie, rows, 2, &conflict, &sql, &error), 0);
    movie_columns[M_UID].is_unique = false;
    /* the second row's key is the column's declared default, drawn once in "#k" */
    char *answer = strstr(sql.text.data, " SELECT (SELECT");
    assert_non_null(answer);
    *answer = '\0';
    expect_sql(
        &sql,
        "WITH \"#k\"(\"#o\", \"#k0\") AS MATERIALIZED (SELECT v.\"#o\", "
        "coalesce(v.\"#k0\", (gen_random_uuid())::uuid) FROM (VALUES (1, $1::uuid), (2, "
        "NULL::uuid)) v(\"#o\", \"#k0\")), ins AS (INSERT INTO \"movie\" AS t0 (\"uid\") VALUES "
        "($1::uuid), ((SELECT \"#k0\" FROM \"#k\" WHERE \"#o\" = 2)) ON CONFLICT (\"uid\") "
        "DO UPDATE SET \"uid\" = EXCLUDED.\"uid\"" INSERT_ROWS_RETURNING,
        1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

static void test_insert_rows_rejects_what_cannot_be_paired(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    const struct cfg_column *not_unique[] = {&movie_columns[M_RATING]};
    struct orm_conflict conflict = {not_unique, 1};
    struct orm_assignment name[] = {{&movie_columns[M_NAME], "A"}};
    struct orm_row row = {name, 1};
    expect_failure(orm_build_insert_rows(&movie, &row, 1, &conflict, &sql, &error), &sql, &error,
                   RS_INVALID, "", "not the primary key or a unique column");
    const struct cfg_column *two[] = {&director_columns[D_ID], &director_columns[D_NAME]};
    conflict = (struct orm_conflict){two, 2};
    expect_failure(orm_build_insert_rows(&director, &row, 1, &conflict, &sql, &error), &sql, &error,
                   RS_INVALID, "", "not the primary key or a unique column");
    const struct cfg_column *by_name[] = {&director_columns[D_NAME]};
    conflict = (struct orm_conflict){by_name, 1};
    struct orm_row empty = {NULL, 0};
    expect_failure(orm_build_insert_rows(&director, &empty, 1, &conflict, &sql, &error), &sql,
                   &error, RS_UNPROCESSABLE, "name", "required");
    struct orm_assignment null_name[] = {{&director_columns[D_NAME], NULL}};
    row = (struct orm_row){null_name, 1};
    expect_failure(orm_build_insert_rows(&director, &row, 1, &conflict, &sql, &error), &sql, &error,
                   RS_UNPROCESSABLE, "name", "may not be null");
    struct orm_assignment twice[] = {{&studio_columns[S_NAME], "A"},
                                     {&studio_columns[S_NAME], "B"}};
    row = (struct orm_row){twice, 2};
    expect_failure(orm_build_insert_rows(&studio, &row, 1, NULL, &sql, &error), &sql, &error,
                   RS_INVALID, "name", "assigned twice");
    row = (struct orm_row){name, 1};
    expect_failure(orm_build_insert_rows(&studio, &row, 1, NULL, &sql, &error), &sql, &error,
                   RS_INVALID, "", "another table");
    expect_failure(orm_build_insert_rows(&studio, NULL, 0, NULL, &sql, &error), &sql, &error,
                   RS_INVALID, "", "no rows");
}

#define UPDATE_TAIL                                                                                \
    " RETURNING t0.*) SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM "            \
    "(SELECT " MOVIE_EXPRS                                                                         \
    ", row_number() OVER (ORDER BY t0.\"id\" ASC) AS \"#n\" FROM upd t0) s CROSS "                 \
    "JOIN LATERAL (SELECT " MOVIE_KEYS ") r"

static void test_update_patch_sets_given_columns_in_table_order(void **state)
{
    (void)state;
    struct orm_assignment set[] = {{&movie_columns[M_RATING], "4"},
                                   {&movie_columns[M_API_KEY], "k"},
                                   {&movie_columns[M_NAME], "Z"}};
    struct orm_row row = {set, 3};
    char *pk[] = {"9"};
    struct orm_filter filter = filter_of(M_ID, ORM_OP_EQUAL, pk, 1);
    filter.is_row_key = true;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_update(&movie, &row, false, &filter, 1, &sql, &error), 0);
    expect_sql(&sql,
               "WITH upd AS (UPDATE \"movie\" t0 SET \"name\" = $1::varchar, \"rating\" = "
               "$2::integer, \"api_key\" = $3::varchar WHERE t0.\"id\" = $4::integer" UPDATE_TAIL,
               4, "Z", "4", "k", "9");
}

static void test_update_put_resets_missing_columns(void **state)
{
    (void)state;
    struct orm_assignment set[] = {{&movie_columns[M_NAME], "Z"}};
    struct orm_row row = {set, 1};
    char *pk[] = {"9"};
    struct orm_filter filter = filter_of(M_ID, ORM_OP_EQUAL, pk, 1);
    filter.is_row_key = true;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_update(&movie, &row, true, &filter, 1, &sql, &error), 0);
    expect_sql(&sql,
               "WITH upd AS (UPDATE \"movie\" t0 SET \"name\" = $1::varchar, \"rating\" = "
               "DEFAULT, \"director\" = DEFAULT, \"released\" = DEFAULT, \"created\" = DEFAULT, "
               "\"tags\" = DEFAULT, \"api_key\" = DEFAULT, \"poster\" = DEFAULT, \"uid\" = "
               "DEFAULT, \"budget\" = DEFAULT, \"meta\" = DEFAULT, \"runtime\" = DEFAULT, "
               "\"summary\" = DEFAULT WHERE t0.\"id\" = $2::integer" UPDATE_TAIL,
               2, "Z", "9");

    /* nothing to reset: the rows are still touched, so the caller learns if they exist */
    struct orm_row none = {NULL, 0};
    struct orm_filter studio_pk = {.column = &studio_columns[S_ID],
                                   .op = ORM_OP_EQUAL,
                                   .values = pk,
                                   .value_count = 1,
                                   .is_row_key = true};
    struct cfg_table only_id = studio;
    only_id.column_count = 1;
    assert_int_equal(orm_build_update(&only_id, &none, true, &studio_pk, 1, &sql, &error), 0);
    assert_non_null(strstr(sb_text(&sql.text), "UPDATE \"studio\" t0 SET \"id\" = t0.\"id\" "
                                               "WHERE t0.\"id\" = $1::integer"));
    orm_sql_free(&sql);
}

static void test_update_rejects_primary_key_and_empty_patch(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    struct orm_assignment set[] = {{&movie_columns[M_ID], "1"}};
    struct orm_row row = {set, 1};
    expect_failure(orm_build_update(&movie, &row, false, NULL, 0, &sql, &error), &sql, &error,
                   RS_UNPROCESSABLE, "id", "the primary key cannot be changed");
    struct orm_row none = {NULL, 0};
    expect_failure(orm_build_update(&movie, &none, false, NULL, 0, &sql, &error), &sql, &error,
                   RS_UNPROCESSABLE, "", "the body sets no columns");
    char *two[] = {"1", "2"};
    struct orm_filter bad = filter_of(M_RATING, ORM_OP_LESS, two, 2);
    struct orm_assignment name[] = {{&movie_columns[M_NAME], "x"}};
    row = (struct orm_row){name, 1};
    expect_failure(orm_build_update(&movie, &row, false, &bad, 1, &sql, &error), &sql, &error,
                   RS_INVALID, "rating", "only one value");
}

static void test_delete_with_and_without_filters(void **state)
{
    (void)state;
    char *pk[] = {"9"};
    struct orm_filter filter = filter_of(M_ID, ORM_OP_EQUAL, pk, 1);
    filter.is_row_key = true;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_delete(&movie, &filter, 1, &sql, &error), 0);
    expect_sql(&sql,
               "WITH del AS (DELETE FROM \"movie\" t0 WHERE t0.\"id\" = $1::integer "
               "RETURNING 1) SELECT count(*) FROM del",
               1, "9");
    assert_int_equal(orm_build_delete(&movie, NULL, 0, &sql, &error), 0);
    expect_sql(&sql, "WITH del AS (DELETE FROM \"movie\" t0 RETURNING 1) SELECT count(*) FROM del",
               0);
}

/* ---- one-row writes with If-Match, and the count estimate ---- */

#define UPDATE_ROW_TAIL                                                                            \
    " RETURNING t0.*, t0.xmin AS \"#v\") SELECT (SELECT coalesce(json_agg(r ORDER BY "             \
    "s.\"#n\"), '[]')::text FROM (SELECT " MOVIE_EXPRS                                             \
    ", row_number() OVER (ORDER BY t0.\"id\" ASC) AS \"#n\" FROM upd t0) s CROSS "                 \
    "JOIN LATERAL (SELECT " MOVIE_KEYS ") r), (SELECT \"#v\"::text FROM upd)"

static void test_update_row_checks_the_version_in_the_same_statement(void **state)
{
    (void)state;
    struct orm_assignment set[] = {{&movie_columns[M_RATING], "4"}};
    struct orm_row row = {set, 1};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    /* no If-Match (or *): by key, answering the new version */
    struct orm_row_target target = {.pk_value = "9"};
    assert_int_equal(orm_build_update_row(&movie, &row, false, &target, &sql, &error), 0);
    expect_sql(&sql,
               "WITH upd AS (UPDATE \"movie\" t0 SET \"rating\" = $1::integer WHERE t0.\"id\" = "
               "$2::integer" UPDATE_ROW_TAIL,
               2, "4", "9");
    /* If-Match: the version joins the WHERE, and EXISTS tells 404 from 412; a text that is
     * no xid is left out of the array (it can never match) */
    const char *versions[] = {"123", "4294967296", "x1", "77"};
    target = (struct orm_row_target){.pk_value = "9", .versions = versions, .version_count = 4};
    assert_int_equal(orm_build_update_row(&movie, &row, false, &target, &sql, &error), 0);
    expect_sql(&sql,
               "WITH upd AS (UPDATE \"movie\" t0 SET \"rating\" = $1::integer WHERE t0.\"id\" = "
               "$2::integer AND t0.xmin = ANY($3::xid[])" UPDATE_ROW_TAIL
               ", EXISTS (SELECT 1 FROM \"movie\" t0 WHERE t0.\"id\" = $2::integer)",
               3, "4", "9", "{123,77}");
    const char *none[] = {""};
    target = (struct orm_row_target){.pk_value = "9", .versions = none, .version_count = 1};
    assert_int_equal(orm_build_update_row(&movie, &row, false, &target, &sql, &error), 0);
    assert_string_equal(sql.params[2], "{}");
    orm_sql_free(&sql);
    expect_failure(orm_build_update_row(&movie, &row, false, NULL, &sql, &error), &sql, &error,
                   RS_INVALID, "", "no row");
    target = (struct orm_row_target){0};
    expect_failure(orm_build_update_row(&movie, &row, false, &target, &sql, &error), &sql, &error,
                   RS_INVALID, "id", "primary key");
}

static void test_delete_row_with_and_without_a_version(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    struct orm_row_target target = {.pk_value = "9"};
    assert_int_equal(orm_build_delete_row(&movie, &target, &sql, &error), 0);
    expect_sql(&sql,
               "WITH del AS (DELETE FROM \"movie\" t0 WHERE t0.\"id\" = $1::integer RETURNING 1) "
               "SELECT count(*) FROM del",
               1, "9");
    const char *versions[] = {"55"};
    target.versions = versions;
    target.version_count = 1;
    assert_int_equal(orm_build_delete_row(&movie, &target, &sql, &error), 0);
    expect_sql(&sql,
               "WITH del AS (DELETE FROM \"movie\" t0 WHERE t0.\"id\" = $1::integer AND t0.xmin = "
               "ANY($2::xid[]) RETURNING 1) SELECT count(*), EXISTS (SELECT 1 FROM \"movie\" t0 "
               "WHERE t0.\"id\" = $1::integer) FROM del",
               2, "9", "{55}");
}

static void test_count_estimate_explains_the_filtered_rows(void **state)
{
    (void)state;
    struct orm_select select = {.table = &movie};
    expect_built(orm_build_count_estimate, &select,
                 "EXPLAIN (FORMAT JSON) SELECT 1 FROM \"movie\" t0", 0);
    char *ratings[] = {"3"};
    struct orm_filter filter = filter_of(M_RATING, ORM_OP_GREATER, ratings, 1);
    select.filters = &filter;
    select.filter_count = 1;
    expect_built(orm_build_count_estimate, &select,
                 "EXPLAIN (FORMAT JSON) SELECT 1 FROM \"movie\" t0 WHERE t0.\"rating\" > "
                 "$1::integer",
                 1, "3");
    assert_int_equal(orm_explain_rows("[{\"Plan\": {\"Node Type\": \"Seq Scan\", \"Plan Rows\": "
                                      "1234}}]"),
                     1234);
    assert_int_equal(orm_explain_rows("[{\"Plan\": {\"Plan Rows\": 12.0}}]"), 12);
    assert_int_equal(orm_explain_rows("[{\"Plan\": {}}]"), -1);
    assert_int_equal(orm_explain_rows("not json"), -1);
    assert_int_equal(orm_explain_rows(NULL), -1);
}

static void test_ids_with_and_without_search(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_ids(&director, "50%_x", 10, 5, &sql, &error), 0);
    expect_sql(&sql,
               "SELECT coalesce(json_object_agg(s.k, s.v ORDER BY s.o), '{}')::text FROM (SELECT "
               "t0.\"id\" AS o, t0.\"id\"::text AS k, t0.\"name\"::text AS v FROM \"director\" t0 "
               "WHERE t0.\"name\"::text ILIKE $1::text ORDER BY t0.\"id\" LIMIT 10 OFFSET "
               "$2::bigint) s",
               2, "%50\\%\\_x%", "5");
    assert_int_equal(orm_build_ids(&studio, NULL, 1000, 0, &sql, &error), 0);
    expect_sql(&sql,
               "SELECT coalesce(json_object_agg(s.k, s.v ORDER BY s.o), '{}')::text FROM (SELECT "
               "t0.\"id\" AS o, t0.\"id\"::text AS k, t0.\"id\"::text AS v FROM \"studio\" t0 "
               "ORDER BY t0.\"id\" LIMIT 1000) s",
               0);
}

/* ---- hostile names ---- */

static void test_hostile_names_never_reach_sql(void **state)
{
    (void)state;
    struct cfg_column columns[2] = {implicit_id(),
                                    column_make("a\"; DROP TABLE x; --", CFG_TYPE_TEXT)};
    struct cfg_table hostile = {.name = "evil", .columns = columns, .column_count = 2};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    const char *message = "invalid identifier \"a\"; DROP TABLE x; --\"";

    struct orm_select select = {.table = &hostile, .limit = 1};
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "", message);
    expect_failure(orm_build_list_with_total(&select, &sql, &error), &sql, &error, RS_INVALID, "",
                   message);
    expect_failure(orm_build_get(&select, "1", &sql, &error), &sql, &error, RS_INVALID, "",
                   message);
    char *values[] = {"v"};
    struct orm_filter filter = {
        .column = &columns[1], .op = ORM_OP_EQUAL, .values = values, .value_count = 1};
    select.filters = &filter;
    select.filter_count = 1;
    expect_failure(orm_build_count(&select, &sql, &error), &sql, &error, RS_INVALID, "", message);
    struct orm_assignment set[] = {{&columns[1], "v"}};
    struct orm_row row = {set, 1};
    expect_failure(orm_build_insert(&hostile, &row, 1, &sql, &error), &sql, &error, RS_INVALID, "",
                   message);
    expect_failure(orm_build_update(&hostile, &row, false, NULL, 0, &sql, &error), &sql, &error,
                   RS_INVALID, "", message);
    expect_failure(orm_build_delete(&hostile, &filter, 1, &sql, &error), &sql, &error, RS_INVALID,
                   "", message);
    hostile.readable = &columns[1];
    expect_failure(orm_build_ids(&hostile, NULL, 5, 0, &sql, &error), &sql, &error, RS_INVALID, "",
                   message);

    /* a hostile table name too, even with harmless columns */
    struct cfg_table bad_table = studio;
    bad_table.name = "Studio\"";
    select = (struct orm_select){.table = &bad_table};
    expect_failure(orm_build_count(&select, &sql, &error), &sql, &error, RS_INVALID, "",
                   "invalid identifier");
    expect_failure(orm_build_delete(&bad_table, NULL, 0, &sql, &error), &sql, &error, RS_INVALID,
                   "", "invalid identifier");
}

static void test_nested_object_wins_over_the_plain_foreign_key(void **state)
{
    (void)state;
    struct orm_field fields[] = {
        field_of(&movie_columns[M_DIRECTOR], NULL, NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_NAME], NULL)};
    struct orm_select select = {
        .table = &movie, .fields = fields, .field_count = 2, .readable = true};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_get(&select, "1", &sql, &error), 0);
    expect_sql(&sql,
               "SELECT row_to_json(r)::text, s.\"#v\" FROM (SELECT CASE WHEN t1.\"id\" IS NULL "
               "THEN NULL ELSE json_build_object('name', t1.\"name\") END AS \"director\", "
               "t0.xmin::text AS \"#v\" FROM \"movie\" t0 LEFT JOIN \"director\" t1 ON t1.\"id\" = "
               "t0.\"director\" WHERE t0.\"id\" = $1::integer) s CROSS JOIN LATERAL (SELECT "
               "s.\"director\") r",
               1, "1");
}

static void test_filters_combine_with_and_in_parameter_order(void **state)
{
    (void)state;
    char *name[] = {"a"};
    char *bytes[] = {"\\x01"};
    char *yes[] = {"true"};
    struct orm_filter filters[] = {filter_of(M_POSTER, ORM_OP_EQUAL, bytes, 1),
                                   filter_of(M_NAME, ORM_OP_EQUAL, name, 1),
                                   filter_of(M_RELEASED, ORM_OP_NOT_EQUAL, yes, 1)};
    filters[1].match = ORM_MATCH_ENDS;
    struct orm_select select = {.table = &movie, .filters = filters, .filter_count = 3};
    expect_built(orm_build_count, &select,
                 "SELECT count(*) FROM \"movie\" t0 WHERE t0.\"poster\" = ANY($1::bytea[]) AND "
                 "t0.\"name\" ILIKE ANY($2::text[]) AND t0.\"released\" <> ALL($3::boolean[])",
                 3, "{\"\\\\x01\"}", "{\"%a\"}", "{\"true\"}");
}

static void test_ids_fall_back_to_the_key_when_readable_is_secret(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    director_columns[D_NAME].is_secret = true;
    assert_int_equal(orm_build_ids(&director, "x", -1, 0, &sql, &error), 0);
    director_columns[D_NAME].is_secret = false;
    expect_sql(&sql,
               "SELECT coalesce(json_object_agg(s.k, s.v ORDER BY s.o), '{}')::text FROM (SELECT "
               "t0.\"id\" AS o, t0.\"id\"::text AS k, t0.\"id\"::text AS v FROM \"director\" t0 "
               "WHERE t0.\"id\"::text ILIKE $1::text ORDER BY t0.\"id\") s",
               1, "%x%");
}

static void test_builders_reject_a_missing_table(void **state)
{
    (void)state;
    struct orm_select select = {0};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    expect_failure(orm_build_list(&select, &sql, &error), &sql, &error, RS_INVALID, "", "no table");
    expect_failure(orm_build_count(&select, &sql, &error), &sql, &error, RS_INVALID, "",
                   "no table");
    expect_failure(orm_build_delete(NULL, NULL, 0, &sql, &error), &sql, &error, RS_INVALID, "",
                   "no table");
    expect_failure(orm_build_ids(NULL, NULL, 1, 0, &sql, &error), &sql, &error, RS_INVALID, "",
                   "no table");
}

static void test_nested_object_member_limit(void **state)
{
    (void)state;
    /* json_build_object takes 100 arguments: 50 members */
    enum { WIDE = 52 };
    static struct cfg_column wide_columns[WIDE];
    static char names[WIDE][8];
    for (int i = 0; i < WIDE; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        wide_columns[i] = column_make(names[i], CFG_TYPE_INTEGER);
    }
    wide_columns[0].is_primary_key = true;
    struct cfg_table wide = {.name = "wide", .columns = wide_columns, .column_count = WIDE};
    struct cfg_column link = foreign_key("wide", &wide);
    struct cfg_column owner_columns[2] = {implicit_id(), link};
    struct cfg_table owner = {
        .name = "owner", .columns = owner_columns, .column_count = 2, .max_joins = 1};
    struct orm_field fields[WIDE];
    for (int i = 0; i < WIDE; i++)
        fields[i] = field_of(&owner_columns[1], &wide_columns[i], NULL);
    struct orm_select select = {.table = &owner, .fields = fields, .field_count = 50};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_get(&select, "1", &sql, &error), 0);
    orm_sql_free(&sql);
    select.field_count = 51;
    expect_failure(orm_build_get(&select, "1", &sql, &error), &sql, &error, RS_INVALID, "wide",
                   "too many fields under \"wide\" (at most 50)");
}

static void test_update_reset_skips_serial_columns(void **state)
{
    (void)state;
    struct cfg_column columns[3] = {column_make("code", CFG_TYPE_VARCHAR),
                                    column_make("seq", CFG_TYPE_BIGSERIAL),
                                    column_make("note", CFG_TYPE_TEXT)};
    columns[0].is_primary_key = true;
    struct cfg_table coded = {.name = "coded", .columns = columns, .column_count = 3};
    char *key[] = {"ab"};
    struct orm_filter filter = {.column = &columns[0],
                                .op = ORM_OP_EQUAL,
                                .match = ORM_MATCH_EXACT,
                                .values = key,
                                .value_count = 1,
                                .is_row_key = true};
    struct orm_row none = {NULL, 0};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_update(&coded, &none, true, &filter, 1, &sql, &error), 0);
    assert_non_null(strstr(sb_text(&sql.text), "UPDATE \"coded\" t0 SET \"note\" = DEFAULT WHERE "
                                               "t0.\"code\" = $1::varchar RETURNING"));
    orm_sql_free(&sql);
}

static void test_write_statements_do_not_depend_on_values(void **state)
{
    (void)state;
    struct orm_assignment first[] = {{&movie_columns[M_NAME], "A"},
                                     {&movie_columns[M_RATING], "1"}};
    struct orm_assignment second[] = {{&movie_columns[M_RATING], NULL},
                                      {&movie_columns[M_NAME], "a much longer name"}};
    struct orm_row one = {first, 2}, other = {second, 2};
    struct orm_sql a = {0}, b = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_insert(&movie, &one, 1, &a, &error), 0);
    assert_int_equal(orm_build_insert(&movie, &other, 1, &b, &error), 0);
    assert_string_equal(sb_text(&a.text), sb_text(&b.text));
    orm_sql_free(&a);
    orm_sql_free(&b);
    assert_int_equal(orm_build_update(&movie, &one, false, NULL, 0, &a, &error), 0);
    assert_int_equal(orm_build_update(&movie, &other, false, NULL, 0, &b, &error), 0);
    assert_string_equal(sb_text(&a.text), sb_text(&b.text));
    assert_null(b.params[1]);
    orm_sql_free(&a);
    orm_sql_free(&b);
}

static void test_list_with_total_without_filters(void **state)
{
    (void)state;
    struct orm_field fields[] = {field_of(&studio_columns[S_ID], NULL, NULL)};
    struct orm_select select = {.table = &studio, .fields = fields, .field_count = 1, .limit = -1};
    expect_built(
        orm_build_list_with_total, &select,
        "SELECT (SELECT coalesce(json_agg(r ORDER BY s.\"#n\"), '[]')::text FROM (SELECT "
        "t0.\"id\" AS \"id\", row_number() OVER (ORDER BY t0.\"id\" DESC) AS \"#n\" FROM "
        "\"studio\" t0 ORDER BY t0.\"id\" DESC) s CROSS JOIN LATERAL (SELECT s.\"id\") r), "
        "(SELECT count(*) FROM \"studio\" t0)",
        0);
}

/* ---- against PostgreSQL (skipped without RESTABLE_TEST_DATABASE_URL) ---- */

static void pg_exec(PGconn *conn, const char *sql)
{
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail_msg("%s\n-- %s", PQresultErrorMessage(result), sql);
    PQclear(result);
}

/* Runs a built statement with its parameters as text, then frees the statement. */
static PGresult *pg_run(PGconn *conn, struct orm_sql *sql)
{
    PGresult *result = PQexecParams(conn, sb_text(&sql->text), (int)sql->param_count, NULL,
                                    (const char *const *)sql->params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s\n-- %s", PQresultErrorMessage(result), sb_text(&sql->text));
    orm_sql_free(sql);
    return result;
}

static json_t *json_of(const char *text)
{
    json_error_t parse_error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &parse_error);
    if (!value)
        fail_msg("not JSON (%s): %s", parse_error.text, text);
    return value;
}

/* The first column of the one row the statement returns equals the expected JSON. */
static void pg_expect_json(PGconn *conn, struct orm_sql *sql, const char *expected_text)
{
    PGresult *result = pg_run(conn, sql);
    assert_int_equal(PQntuples(result), 1);
    json_t *actual = json_of(PQgetvalue(result, 0, 0));
    json_t *expected = json_of(expected_text);
    if (!json_equal(actual, expected))
        fail_msg("got %s\nexpected %s", PQgetvalue(result, 0, 0), expected_text);
    json_decref(actual);
    json_decref(expected);
    PQclear(result);
}

/* A body row through the type layer into assignments, as the server does. */
struct pg_row {
    struct orm_assignment assignments[M_COUNT];
    char *values[M_COUNT];
    struct orm_row row;
};

static void pg_row_from_json(const struct cfg_table *table, const char *body, struct pg_row *out)
{
    memset(out, 0, sizeof *out);
    json_t *object = json_of(body);
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        const struct cfg_column *column = NULL;
        for (size_t i = 0; !column && i < table->column_count; i++)
            if (strcmp(table->columns[i].name, key) == 0)
                column = &table->columns[i];
        assert_non_null(column);
        struct rs_error error = {0};
        size_t n = out->row.assignment_count++;
        if (orm_value_from_json(column, value, &out->values[n], &error) < 0)
            fail_msg("%s: %s", key, error.message);
        out->assignments[n] = (struct orm_assignment){column, out->values[n]};
    }
    out->row.assignments = out->assignments;
    json_decref(object);
}

static void pg_row_free(struct pg_row *row)
{
    for (size_t i = 0; i < row->row.assignment_count; i++)
        free(row->values[i]);
}

static void pg_insert(PGconn *conn, const struct cfg_table *table, const char *const *bodies,
                      size_t count, const char *expected_ids)
{
    struct pg_row rows[8];
    struct orm_row plain[8];
    for (size_t i = 0; i < count; i++) {
        pg_row_from_json(table, bodies[i], &rows[i]);
        plain[i] = rows[i].row;
    }
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_insert(table, plain, count, &sql, &error) < 0)
        fail_msg("insert: %s", error.message);
    pg_expect_json(conn, &sql, expected_ids);
    for (size_t i = 0; i < count; i++)
        pg_row_free(&rows[i]);
}

static char *pg_text(const struct cfg_column *column, const char *text)
{
    struct rs_error error = {0};
    char *value = orm_value_from_text(column, text, column->name, &error);
    if (!value)
        fail_msg("%s: %s", text, error.message);
    return value;
}

/* Canonical texts from the type layer are what PostgreSQL reads back as the same value. */
static void pg_check_canonical_texts(PGconn *conn)
{
    static const struct {
        enum cfg_type type;
        const char *input, *expected;
    } cases[] = {
        {CFG_TYPE_TIMESTAMP, "2020-01-01T02:00:00+05:00", "2019-12-31 21:00:00"},
        {CFG_TYPE_TIMESTAMPTZ, "2020-01-01T02:00:00.5-01:30", "2020-01-01 03:30:00.5+00"},
        {CFG_TYPE_TIMESTAMPTZ, "2020-01-01T02:00", "2020-01-01 02:00:00+00"},
        {CFG_TYPE_DATE, "2024-02-29", "2024-02-29"},
        {CFG_TYPE_TIME, "12:30", "12:30:00"},
        {CFG_TYPE_INTERVAL, "90", "PT1M30S"},
        {CFG_TYPE_INTERVAL, "P1Y2M3DT4H5M6.5S", "P1Y2M3DT4H5M6.5S"},
        {CFG_TYPE_INTERVAL, "P2W", "P14D"},
        {CFG_TYPE_INTERVAL, "PT-1.5S", "PT-1.5S"},
        {CFG_TYPE_BYTEA, "AQI=", "\\x0102"},
        {CFG_TYPE_BYTEA, "", "\\x"},
        {CFG_TYPE_UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
         "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {CFG_TYPE_NUMERIC, "1e3", "1000"},
        {CFG_TYPE_NUMERIC, ".5", "0.5"},
        {CFG_TYPE_REAL, "3.4e38", "3.4e+38"},
        {CFG_TYPE_DOUBLE, "-2.5e-3", "-0.0025"},
        {CFG_TYPE_SMALLINT, "-32768", "-32768"},
        {CFG_TYPE_BIGINT, "9223372036854775807", "9223372036854775807"},
        {CFG_TYPE_BOOLEAN, "yes", "true"},
        {CFG_TYPE_JSONB, "{\"b\": [1, 0.1], \"a\": null}", "{\"a\": null, \"b\": [1, 0.1]}"},
        {CFG_TYPE_EMAIL, "a@b.co", "a@b.co"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_column column = column_make("c", cases[i].type);
        char *value = pg_text(&column, cases[i].input);
        char query[128];
        snprintf(query, sizeof query, "SELECT $1::%s::text", orm_column_cast(&column));
        const char *params[] = {value};
        PGresult *result = PQexecParams(conn, query, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(result) != PGRES_TUPLES_OK)
            fail_msg("%s <- %s: %s", query, value, PQresultErrorMessage(result));
        if (strcmp(PQgetvalue(result, 0, 0), cases[i].expected) != 0)
            fail_msg("%s: %s -> %s, expected %s", query, cases[i].input, PQgetvalue(result, 0, 0),
                     cases[i].expected);
        PQclear(result);
        free(value);
    }
}

static void pg_create_fixture(PGconn *conn)
{
    pg_exec(conn, "SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'; SET DateStyle = 'ISO'; "
                  "SET client_min_messages = warning");
    pg_exec(conn, "BEGIN");
    pg_exec(conn, "CREATE SCHEMA restable_query_test; SET LOCAL search_path = restable_query_test");
    pg_exec(conn, "CREATE TABLE studio (id serial PRIMARY KEY, name varchar(100), city text)");
    pg_exec(conn, "CREATE TABLE director (id serial PRIMARY KEY, name varchar(100) NOT NULL "
                  "UNIQUE, studio integer REFERENCES studio (id), photo bytea)");
    pg_exec(conn, "CREATE TABLE movie (id serial PRIMARY KEY, name varchar(200) NOT NULL, rating "
                  "integer NOT NULL DEFAULT 0, director integer REFERENCES director (id), "
                  "released boolean NOT NULL DEFAULT false, created timestamptz NOT NULL "
                  "DEFAULT now(), tags varchar(20)[], api_key varchar(64), poster bytea, uid uuid "
                  "NOT NULL DEFAULT gen_random_uuid(), budget numeric(12,2), meta json, runtime "
                  "interval, summary text)");
}

static void pg_check_inserts(PGconn *conn)
{
    const char *studios[] = {"{\"name\": \"Pixar\", \"city\": \"Emeryville\"}",
                             "{\"name\": \"Ghibli\"}"};
    pg_insert(conn, &studio, studios, 2, "[{\"id\": 1}, {\"id\": 2}]");
    const char *empty[] = {"{}", "{}"};
    pg_insert(conn, &studio, empty, 2, "[{\"id\": 3}, {\"id\": 4}]");
    pg_insert(conn, &studio, empty, 1, "[{\"id\": 5}]");
    const char *directors[] = {"{\"name\": \"Lucas\", \"studio\": 1, \"photo\": \"AQI=\"}",
                               "{\"name\": \"Miyazaki\", \"studio\": 2}",
                               "{\"name\": \"100%_real\"}"};
    pg_insert(conn, &director, directors, 3, "[{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]");
    const char *movies[] = {
        "{\"name\": \"Star Wars\", \"rating\": 9, \"director\": 1, \"tags\": [\"space\", "
        "\"a\\\"b\\\\c\"], \"api_key\": \"secret\", \"poster\": \"AQID\", \"budget\": 11000000.5, "
        "\"meta\": {\"a\": [1, 0.1]}, \"runtime\": \"PT2H1M\", \"created\": "
        "\"1977-05-25T00:00:00Z\", \"uid\": \"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"}",
        "{\"name\": \"Totoro\", \"rating\": 8, \"director\": 2, \"tags\": [\"anime\"], "
        "\"released\": true}",
        "{\"rating\": 3, \"name\": \"50% Off_Road\"}"};
    pg_insert(conn, &movie, movies, 3, "[{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]");
}

static void pg_list(PGconn *conn, const struct orm_select *select, const char *expected)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    if (orm_build_list(select, &sql, &error) < 0)
        fail_msg("list: %s", error.message);
    pg_expect_json(conn, &sql, expected);
}

static void pg_check_reads(PGconn *conn)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    /* default fields: rendering of every type, no secret, newest first */
    struct orm_select all = {.table = &movie, .limit = 15};
    assert_int_equal(orm_build_list(&all, &sql, &error), 0);
    PGresult *result = pg_run(conn, &sql);
    json_t *rows = json_of(PQgetvalue(result, 0, 0));
    PQclear(result);
    assert_int_equal(json_array_size(rows), 3);
    json_t *star_wars = json_array_get(rows, 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 3);
    assert_null(json_object_get(star_wars, "api_key"));
    json_t *expected = json_of(
        "{\"id\": 1, \"name\": \"Star Wars\", \"rating\": 9, \"director\": 1, \"released\": "
        "false, \"created\": \"1977-05-25T00:00:00+00:00\", \"tags\": [\"space\", "
        "\"a\\\"b\\\\c\"], \"poster\": \"AQID\", \"uid\": "
        "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\", \"budget\": 11000000.50, \"meta\": {\"a\": "
        "[1, 0.1]}, \"runtime\": \"PT2H1M\", \"summary\": null}");
    if (!json_equal(star_wars, expected)) {
        char *shown = json_dumps(star_wars, 0);
        fail_msg("got %s", shown);
    }
    json_decref(expected);
    json_decref(rows);

    struct orm_field id_name[] = {field_of(&movie_columns[M_ID], NULL, NULL),
                                  field_of(&movie_columns[M_NAME], NULL, NULL)};
    struct orm_order by_id = {&movie_columns[M_ID], false};
    struct orm_select select = {.table = &movie,
                                .fields = id_name,
                                .field_count = 2,
                                .orders = &by_id,
                                .order_count = 1,
                                .limit = -1};
    /* % is literal in a contains filter */
    char *percent[] = {"%"};
    struct orm_filter filter = filter_of(M_NAME, ORM_OP_EQUAL, percent, 1);
    filter.match = ORM_MATCH_CONTAINS;
    select.filters = &filter;
    select.filter_count = 1;
    pg_list(conn, &select, "[{\"id\": 3, \"name\": \"50% Off_Road\"}]");
    char *starts[] = {"sTaR", "toto"};
    filter = filter_of(M_NAME, ORM_OP_EQUAL, starts, 2);
    filter.match = ORM_MATCH_STARTS;
    pg_list(conn, &select,
            "[{\"id\": 1, \"name\": \"Star Wars\"}, {\"id\": 2, \"name\": "
            "\"Totoro\"}]");
    char *ratings[] = {"8", "9"};
    filter = filter_of(M_RATING, ORM_OP_EQUAL, ratings, 2);
    struct orm_order by_rating = {&movie_columns[M_RATING], false};
    select.orders = &by_rating;
    pg_list(conn, &select,
            "[{\"id\": 2, \"name\": \"Totoro\"}, {\"id\": 1, \"name\": "
            "\"Star Wars\"}]");
    select.orders = &by_id;
    char *tag[] = {"a\"b\\c"};
    filter = filter_of(M_TAGS, ORM_OP_EQUAL, tag, 1);
    pg_list(conn, &select, "[{\"id\": 1, \"name\": \"Star Wars\"}]");
    char *no_director[] = {NULL, "2"};
    filter = filter_of(M_DIRECTOR, ORM_OP_EQUAL, no_director, 2);
    pg_list(conn, &select,
            "[{\"id\": 2, \"name\": \"Totoro\"}, {\"id\": 3, \"name\": "
            "\"50% Off_Road\"}]");
    char *after[] = {"1980-01-01T00:00:00+00:00"};
    filter = filter_of(M_CREATED, ORM_OP_LESS, after, 1);
    pg_list(conn, &select, "[{\"id\": 1, \"name\": \"Star Wars\"}]");
    char *meta[] = {"{\"a\":[1,0.1]}"};
    filter = filter_of(M_META, ORM_OP_EQUAL, meta, 1);
    pg_list(conn, &select, "[{\"id\": 1, \"name\": \"Star Wars\"}]");

    /* nesting two deep, and readable */
    struct orm_field nested[] = {
        field_of(&movie_columns[M_NAME], NULL, NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_NAME], NULL),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_STUDIO], &studio_columns[S_NAME]),
        field_of(&movie_columns[M_DIRECTOR], &director_columns[D_PHOTO], NULL)};
    select = (struct orm_select){.table = &movie,
                                 .fields = nested,
                                 .field_count = 4,
                                 .orders = &by_id,
                                 .order_count = 1,
                                 .limit = 2,
                                 .offset = 1,
                                 .readable = true};
    pg_list(conn, &select,
            "[{\"name\": \"Totoro\", \"director\": {\"name\": \"Miyazaki\", \"studio\": {\"name\": "
            "\"Ghibli\"}, \"photo\": null}}, {\"name\": \"50% Off_Road\", \"director\": null}]");
    struct orm_field plain_fk[] = {field_of(&movie_columns[M_DIRECTOR], NULL, NULL)};
    select = (struct orm_select){.table = &movie,
                                 .fields = plain_fk,
                                 .field_count = 1,
                                 .orders = &by_id,
                                 .order_count = 1,
                                 .limit = 15,
                                 .readable = true};
    pg_list(conn, &select,
            "[{\"director\": 1, \"director_readable\": \"Lucas\"}, {\"director\": 2, "
            "\"director_readable\": \"Miyazaki\"}, {\"director\": null, \"director_readable\": "
            "null}]");
    struct orm_select directors = {.table = &director,
                                   .orders = &by_id,
                                   .order_count = 0,
                                   .limit = 1,
                                   .offset = 2,
                                   .readable = true};
    pg_list(conn, &directors,
            "[{\"id\": 1, \"name\": \"Lucas\", \"studio\": 1, \"studio_readable\": \"1\", "
            "\"photo\": \"AQI=\"}]");

    /* page and total in one statement */
    char *positive[] = {"0"};
    filter = filter_of(M_RATING, ORM_OP_GREATER, positive, 1);
    select = (struct orm_select){.table = &movie,
                                 .fields = id_name,
                                 .field_count = 1,
                                 .filters = &filter,
                                 .filter_count = 1,
                                 .limit = 1,
                                 .offset = 1};
    assert_int_equal(orm_build_list_with_total(&select, &sql, &error), 0);
    result = pg_run(conn, &sql);
    assert_string_equal(PQgetvalue(result, 0, 0), "[{\"id\":2}]");
    assert_string_equal(PQgetvalue(result, 0, 1), "3");
    PQclear(result);

    /* one row, or none */
    select = (struct orm_select){.table = &movie, .fields = id_name, .field_count = 2};
    assert_int_equal(orm_build_get(&select, "2", &sql, &error), 0);
    pg_expect_json(conn, &sql, "{\"id\": 2, \"name\": \"Totoro\"}");
    assert_int_equal(orm_build_get(&select, "99", &sql, &error), 0);
    result = pg_run(conn, &sql);
    assert_int_equal(PQntuples(result), 0);
    PQclear(result);

    char *yes[] = {"true"};
    filter = filter_of(M_RELEASED, ORM_OP_EQUAL, yes, 1);
    select = (struct orm_select){.table = &movie, .filters = &filter, .filter_count = 1};
    assert_int_equal(orm_build_count(&select, &sql, &error), 0);
    pg_expect_json(conn, &sql, "1");

    assert_int_equal(orm_build_ids(&director, "0%_", 10, 0, &sql, &error), 0);
    pg_expect_json(conn, &sql, "{\"3\": \"100%_real\"}");
    assert_int_equal(orm_build_ids(&director, NULL, -1, 0, &sql, &error), 0);
    pg_expect_json(conn, &sql, "{\"1\": \"Lucas\", \"2\": \"Miyazaki\", \"3\": \"100%_real\"}");
    assert_int_equal(orm_build_ids(&studio, NULL, 2, 1, &sql, &error), 0);
    result = pg_run(conn, &sql);
    assert_string_equal(PQgetvalue(result, 0, 0), "{ \"2\" : \"2\", \"3\" : \"3\" }");
    PQclear(result);
}

static void pg_check_writes(PGconn *conn)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    /* PATCH two rows: both come back, by primary key, without secrets */
    struct pg_row patch;
    pg_row_from_json(&movie, "{\"rating\": 10, \"summary\": \"x\"}", &patch);
    char *ids[] = {"2", "1"};
    struct orm_filter filter = filter_of(M_ID, ORM_OP_EQUAL, ids, 2);
    assert_int_equal(orm_build_update(&movie, &patch.row, false, &filter, 1, &sql, &error), 0);
    pg_row_free(&patch);
    PGresult *result = pg_run(conn, &sql);
    json_t *rows = json_of(PQgetvalue(result, 0, 0));
    PQclear(result);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "rating")), 10);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "poster")),
                        "AQID");
    assert_null(json_object_get(json_array_get(rows, 0), "api_key"));
    json_decref(rows);

    /* PUT: everything not given returns to its default */
    struct pg_row put;
    pg_row_from_json(&movie, "{\"name\": \"SW\"}", &put);
    char *one[] = {"1"};
    filter = filter_of(M_ID, ORM_OP_EQUAL, one, 1);
    assert_int_equal(orm_build_update(&movie, &put.row, true, &filter, 1, &sql, &error), 0);
    pg_row_free(&put);
    PQclear(pg_run(conn, &sql));
    result = PQexec(conn, "SELECT rating, director IS NULL, tags IS NULL, api_key IS NULL, "
                          "created > '2000-01-01', summary IS NULL FROM movie WHERE id = 1");
    assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(result, 0, 0), "0");
    for (int i = 1; i < 6; i++)
        assert_string_equal(PQgetvalue(result, 0, i), "t");
    PQclear(result);

    /* an update matching nothing says so with [] */
    char *missing[] = {"99"};
    filter = filter_of(M_ID, ORM_OP_EQUAL, missing, 1);
    struct orm_assignment set[] = {{&movie_columns[M_RATING], "1"}};
    struct orm_row row = {set, 1};
    assert_int_equal(orm_build_update(&movie, &row, false, &filter, 1, &sql, &error), 0);
    result = pg_run(conn, &sql);
    assert_string_equal(PQgetvalue(result, 0, 0), "[]");
    PQclear(result);

    char *low[] = {"5"};
    filter = filter_of(M_RATING, ORM_OP_LESS, low, 1);
    assert_int_equal(orm_build_delete(&movie, &filter, 1, &sql, &error), 0);
    pg_expect_json(conn, &sql, "2");
    assert_int_equal(orm_build_delete(&movie, NULL, 0, &sql, &error), 0);
    pg_expect_json(conn, &sql, "1");
    struct orm_select select = {.table = &movie, .limit = 15};
    assert_int_equal(orm_build_list(&select, &sql, &error), 0);
    pg_expect_json(conn, &sql, "[]");
}

static void test_generated_sql_runs_on_postgresql(void **state)
{
    (void)state;
    const char *url = getenv("RESTABLE_TEST_DATABASE_URL");
    if (!url || !*url)
        skip();
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(conn));
    /* everything happens in one transaction that is rolled back: nothing is left behind */
    pg_create_fixture(conn);
    pg_check_canonical_texts(conn);
    pg_check_inserts(conn);
    pg_check_reads(conn);
    pg_check_writes(conn);
    pg_exec(conn, "ROLLBACK");
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers_are_validated_and_quoted),
        cmocka_unit_test(test_bind_copies_values_and_numbers_them),
        cmocka_unit_test(test_list_default_selects_every_visible_column_newest_first),
        cmocka_unit_test(test_list_never_selects_secret_columns),
        cmocka_unit_test(test_prepared_projection_gives_the_same_statements),
        cmocka_unit_test(test_list_with_visible_fields_order_limit_and_offset),
        cmocka_unit_test(test_list_orders_json_columns_as_jsonb),
        cmocka_unit_test(test_list_csv_selects_text_columns_named_by_path),
        cmocka_unit_test(test_export_reads_its_values_from_settings),
        cmocka_unit_test(test_filter_equal_binds_one_array_parameter),
        cmocka_unit_test(test_statement_text_is_identical_for_one_and_three_values),
        cmocka_unit_test(test_filter_comparison_operators),
        cmocka_unit_test(test_filter_is_null_and_not_null),
        cmocka_unit_test(test_filter_null_among_values),
        cmocka_unit_test(test_text_filter_match_modes_escape_wildcards),
        cmocka_unit_test(test_search_filter_is_the_index_expression),
        cmocka_unit_test(test_text_filter_other_operators_compare_plainly),
        cmocka_unit_test(test_array_filter_contains_and_overlaps),
        cmocka_unit_test(test_filter_errors),
        cmocka_unit_test(test_nested_fields_join_once_per_path),
        cmocka_unit_test(test_depth_one_foreign_key_is_its_value_with_readable),
        cmocka_unit_test(test_readable_reuses_the_nesting_join),
        cmocka_unit_test(test_join_deeper_than_max_joins_is_rejected),
        cmocka_unit_test(test_invalid_field_paths_are_rejected),
        cmocka_unit_test(test_list_with_total_reuses_filter_parameters),
        cmocka_unit_test(test_get_ignores_filters_and_order),
        cmocka_unit_test(test_count_with_and_without_filters),
        cmocka_unit_test(test_insert_one_row),
        cmocka_unit_test(test_insert_rows_with_different_columns_fill_defaults),
        cmocka_unit_test(test_insert_rows_without_values_use_defaults),
        cmocka_unit_test(test_insert_rejects_bad_rows),
        cmocka_unit_test(test_insert_rows_pairs_generated_keys_with_the_order_sent),
        cmocka_unit_test(test_upsert_updates_what_each_row_sent),
        cmocka_unit_test(test_upsert_of_keys_only_still_returns_the_row),
        cmocka_unit_test(test_insert_rows_rejects_what_cannot_be_paired),
        cmocka_unit_test(test_update_patch_sets_given_columns_in_table_order),
        cmocka_unit_test(test_update_put_resets_missing_columns),
        cmocka_unit_test(test_update_rejects_primary_key_and_empty_patch),
        cmocka_unit_test(test_delete_with_and_without_filters),
        cmocka_unit_test(test_update_row_checks_the_version_in_the_same_statement),
        cmocka_unit_test(test_delete_row_with_and_without_a_version),
        cmocka_unit_test(test_count_estimate_explains_the_filtered_rows),
        cmocka_unit_test(test_ids_with_and_without_search),
        cmocka_unit_test(test_hostile_names_never_reach_sql),
        cmocka_unit_test(test_nested_object_wins_over_the_plain_foreign_key),
        cmocka_unit_test(test_filters_combine_with_and_in_parameter_order),
        cmocka_unit_test(test_ids_fall_back_to_the_key_when_readable_is_secret),
        cmocka_unit_test(test_builders_reject_a_missing_table),
        cmocka_unit_test(test_nested_object_member_limit),
        cmocka_unit_test(test_update_reset_skips_serial_columns),
        cmocka_unit_test(test_write_statements_do_not_depend_on_values),
        cmocka_unit_test(test_list_with_total_without_filters),
        cmocka_unit_test(test_generated_sql_runs_on_postgresql),
    };
    return cmocka_run_group_tests(tests, fixture_setup, NULL);
}
