/*
 * tests/unit/test_query_cursor.c — keyset pagination (orm/query_cursor.c, orm/cursor.c): the
 * keys an order becomes, golden statements for the continuation predicate (row comparisons for
 * NOT NULL runs, the NULL placements of nullable keys, filters, json keys), and cursors signed,
 * verified, bound to table and order, refused when altered. With RESTABLE_TEST_DATABASE_URL,
 * every column type's key value makes the round trip through PostgreSQL exactly: the page
 * after a row never repeats or skips a row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orm/orm.h"

enum { I_ID, I_GRP, I_SCORE, I_META, I_NAME, I_COUNT };
static struct cfg_column item_columns[I_COUNT];
static struct cfg_table item;

static struct cfg_column column_make(const char *name, enum cfg_type type, bool is_nullable)
{
    return (struct cfg_column){
        .name = (char *)name, .type = type, .value_type = type, .is_nullable = is_nullable};
}

static int fixture_setup(void **state)
{
    (void)state;
    item_columns[I_ID] = column_make("id", CFG_TYPE_SERIAL, false);
    item_columns[I_ID].is_primary_key = true;
    item_columns[I_GRP] = column_make("grp", CFG_TYPE_INTEGER, false);
    item_columns[I_SCORE] = column_make("score", CFG_TYPE_NUMERIC, true);
    item_columns[I_META] = column_make("meta", CFG_TYPE_JSON, true);
    item_columns[I_NAME] = column_make("name", CFG_TYPE_TEXT, false);
    item = (struct cfg_table){
        .name = "item", .columns = item_columns, .column_count = I_COUNT, .page_size = 15};
    return 0;
}

/* ---- keys -------------------------------------------------------------------------------- */

static const char *order_text_of(const struct orm_order *orders, size_t count, char *out,
                                 size_t size)
{
    struct orm_select select = {.table = &item, .orders = orders, .order_count = count};
    struct orm_keyset keyset;
    struct rs_error error = {0};
    assert_int_equal(orm_keyset_of(&select, &keyset, &error), 0);
    struct sb text = {0};
    orm_keyset_order_text(&keyset, &text);
    snprintf(out, size, "%s", sb_text(&text));
    sb_free(&text);
    return out;
}

static void test_keyset_is_the_order_up_to_the_primary_key_then_the_primary_key(void **state)
{
    (void)state;
    char text[128];
    const struct cfg_column *id = &item_columns[I_ID], *grp = &item_columns[I_GRP],
                            *score = &item_columns[I_SCORE];
    assert_string_equal(order_text_of(NULL, 0, text, sizeof text), "-id");
    struct orm_order one[] = {{grp, false}};
    assert_string_equal(order_text_of(one, 1, text, sizeof text), "grp,id");
    struct orm_order repeated[] = {{grp, true}, {grp, false}, {score, false}};
    assert_string_equal(order_text_of(repeated, 3, text, sizeof text), "-grp,score,id");
    struct orm_order pk_inside[] = {{grp, false}, {id, true}, {score, false}};
    assert_string_equal(order_text_of(pk_inside, 3, text, sizeof text), "grp,-id");
    struct orm_order pk_only[] = {{id, false}};
    assert_string_equal(order_text_of(pk_only, 1, text, sizeof text), "id");
}

/* ---- statements -------------------------------------------------------------------------- */

#define HEAD(n)                                                                                    \
    "SELECT coalesce(json_agg(r ORDER BY s.\"#n\") FILTER (WHERE s.\"#n\" <= " n                   \
    "), '[]')::text, CASE WHEN count(*) > " n " THEN max(s.\"#k\") FILTER (WHERE s.\"#n\" = " n    \
    ") END FROM (SELECT t0.\"id\" AS \"id\", "
#define TAIL(n) " LIMIT " n ") s CROSS JOIN LATERAL (SELECT s.\"id\") r"

static void build(const struct orm_order *orders, size_t order_count, const char *const *after,
                  size_t after_count, const struct orm_filter *filters, size_t filter_count,
                  struct orm_sql *sql)
{
    static struct orm_field id_only = {.path = {&item_columns[I_ID]}, .depth = 1};
    struct orm_select select = {.table = &item,
                                .orders = orders,
                                .order_count = order_count,
                                .filters = filters,
                                .filter_count = filter_count,
                                .fields = &id_only,
                                .field_count = 1,
                                .limit = 2,
                                .after = after,
                                .after_count = after_count};
    struct rs_error error = {0};
    if (orm_build_list_keyset(&select, sql, &error) < 0)
        fail_msg("build failed: %s", error.message);
}

static void expect_sql(struct orm_sql *sql, const char *text, size_t param_count, ...)
{
    assert_string_equal(sb_text(&sql->text), text);
    assert_int_equal(sql->param_count, param_count);
    va_list args;
    va_start(args, param_count);
    for (size_t i = 0; i < param_count; i++)
        assert_string_equal(sql->params[i], va_arg(args, const char *));
    va_end(args);
    orm_sql_free(sql);
}

static void test_first_page_reads_one_row_more_than_the_page_and_no_offset(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    build(NULL, 0, NULL, 0, NULL, 0, &sql);
    expect_sql(&sql,
               HEAD("2") "json_build_array(t0.\"id\"::text)::text AS \"#k\", row_number() OVER "
                         "(ORDER BY t0.\"id\" DESC) AS \"#n\" FROM \"item\" t0 ORDER BY t0.\"id\" "
                         "DESC" TAIL("3"),
               0);
}

static void test_default_order_continues_below_the_last_primary_key(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    const char *after[] = {"41"};
    build(NULL, 0, after, 1, NULL, 0, &sql);
    expect_sql(&sql,
               HEAD("2") "json_build_array(t0.\"id\"::text)::text AS \"#k\", row_number() OVER "
                         "(ORDER BY t0.\"id\" DESC) AS \"#n\" FROM \"item\" t0 WHERE t0.\"id\" < "
                         "$1::integer ORDER BY t0.\"id\" DESC" TAIL("3"),
               1, "41");
}

static void test_not_null_keys_in_one_direction_are_one_row_comparison(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct orm_order orders[] = {{&item_columns[I_GRP], false}};
    const char *after[] = {"3", "41"};
    build(orders, 1, after, 2, NULL, 0, &sql);
    expect_sql(&sql,
               HEAD("2") "json_build_array(t0.\"grp\"::text, t0.\"id\"::text)::text AS \"#k\", "
                         "row_number() OVER (ORDER BY t0.\"grp\" ASC, t0.\"id\" ASC) AS \"#n\" "
                         "FROM \"item\" t0 WHERE (t0.\"grp\", t0.\"id\") > ($1::integer, "
                         "$2::integer) ORDER BY t0.\"grp\" ASC, t0.\"id\" ASC" TAIL("3"),
               2, "3", "41");
}

static void test_mixed_directions_bound_the_first_key_then_compare_the_rest(void **state)
{
    (void)state;
    struct orm_sql sql = {0};
    struct orm_order orders[] = {{&item_columns[I_GRP], true}, {&item_columns[I_NAME], false}};
    const char *after[] = {"3", "b", "41"};
    build(orders, 2, after, 3, NULL, 0, &sql);
    expect_sql(&sql,
               HEAD("2") "json_build_array(t0.\"grp\"::text, t0.\"name\"::text, "
                         "t0.\"id\"::text)::text AS \"#k\", row_number() OVER (ORDER BY t0.\"grp\" "
                         "DESC, t0.\"name\" ASC, t0.\"id\" ASC) AS \"#n\" FROM \"item\" t0 WHERE "
                         "(t0.\"grp\" <= $1::integer AND (t0.\"grp\" < $1::integer OR "
                         "(t0.\"name\", t0.\"id\") > ($2::text, $3::integer))) ORDER BY t0.\"grp\" "
                         "DESC, t0.\"name\" ASC, t0.\"id\" ASC" TAIL("3"),
               3, "3", "b", "41");
}

/* The WHERE of a one-key order on column with the given direction and last value. */
static void expect_where(int column, bool descending, const char *value, const char *where,
                         size_t param_count)
{
    struct orm_sql sql = {0};
    struct orm_order orders[] = {{&item_columns[column], descending}};
    const char *after[] = {value, "41"};
    build(orders, 1, after, 2, NULL, 0, &sql);
    const char *text = sb_text(&sql.text);
    const char *start = strstr(text, " WHERE ");
    const char *end = strstr(text, " ORDER BY t0.");
    assert_non_null(start);
    assert_non_null(end);
    char got[512];
    snprintf(got, sizeof got, "%.*s", (int)(end - start - 7), start + 7);
    assert_string_equal(got, where);
    assert_int_equal(sql.param_count, param_count);
    orm_sql_free(&sql);
}

static void test_nullable_and_json_keys_place_nulls_as_postgresql_orders_them(void **state)
{
    (void)state;
    static const struct {
        int column;
        bool descending;
        const char *value, *where;
        size_t param_count;
    } cases[] = {
        /* ascending: NULLS LAST */
        {I_SCORE, false, "1.5",
         "(t0.\"score\" > $1::numeric OR t0.\"score\" IS NULL OR (t0.\"score\" = $1::numeric AND "
         "t0.\"id\" > $2::integer))",
         2},
        {I_SCORE, false, NULL, "(t0.\"score\" IS NULL AND t0.\"id\" > $1::integer)", 1},
        /* descending: NULLS FIRST */
        {I_SCORE, true, "1.5",
         "(t0.\"score\" <= $1::numeric AND (t0.\"score\" < $1::numeric OR t0.\"id\" > "
         "$2::integer))",
         2},
        {I_SCORE, true, NULL,
         "(t0.\"score\" IS NOT NULL OR (t0.\"score\" IS NULL AND t0.\"id\" > $1::integer))", 1},
        /* json has no ordering: compared as jsonb */
        {I_META, false, "{\"a\": 1}",
         "(t0.\"meta\"::jsonb > $1::jsonb OR t0.\"meta\"::jsonb IS NULL OR (t0.\"meta\"::jsonb = "
         "$1::jsonb AND t0.\"id\" > $2::integer))",
         2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_where(cases[i].column, cases[i].descending, cases[i].value, cases[i].where,
                     cases[i].param_count);
}

static void test_filters_and_the_continuation_share_the_where(void **state)
{
    (void)state;
    char *values[] = {"2"};
    struct orm_filter filter = {.column = &item_columns[I_GRP],
                                .op = ORM_OP_EQUAL,
                                .match = ORM_MATCH_EXACT,
                                .values = values,
                                .value_count = 1};
    const char *after[] = {"41"};
    struct orm_sql sql = {0};
    build(NULL, 0, after, 1, &filter, 1, &sql);
    assert_non_null(
        strstr(sb_text(&sql.text),
               " WHERE t0.\"grp\" = ANY($1::integer[]) AND t0.\"id\" < $2::integer ORDER BY"));
    assert_int_equal(sql.param_count, 2);
    orm_sql_free(&sql);
}

static void test_values_for_another_keyset_are_refused(void **state)
{
    (void)state;
    const char *after[] = {"3", "41"};
    struct orm_select select = {.table = &item, .limit = 2, .after = after, .after_count = 2};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    assert_int_equal(orm_build_list_keyset(&select, &sql, &error), -1);
    assert_string_equal(error.field, "__cursor");
    assert_int_equal(sql.text.length, 0);
    orm_sql_free(&sql);
}

/* ---- cursors ----------------------------------------------------------------------------- */

static struct orm_cursor_key key_of(const char *cursor_secret, const char *jwt_secret,
                                    enum orm_cursor_key_source expected)
{
    struct cfg_config config = {0};
    config.server.cursor_secret = (char *)cursor_secret;
    config.auth.secret = (char *)jwt_secret;
    struct orm_cursor_key key;
    assert_int_equal(orm_cursor_key_init(&config, &key), expected);
    return key;
}

static void test_cursor_keys_are_derived_the_same_way_on_every_instance(void **state)
{
    (void)state;
    const char *secret = "0123456789abcdef0123456789abcdef";
    struct orm_cursor_key a = key_of(secret, NULL, ORM_CURSOR_KEY_CONFIGURED);
    struct orm_cursor_key b =
        key_of(secret, "another secret of some length...", ORM_CURSOR_KEY_CONFIGURED);
    assert_memory_equal(a.bytes, b.bytes, sizeof a.bytes);
    struct orm_cursor_key jwt = key_of(NULL, secret, ORM_CURSOR_KEY_FROM_JWT);
    assert_memory_equal(a.bytes, jwt.bytes, sizeof a.bytes); /* one derivation */
    /* the derived key is not the secret itself */
    assert_memory_not_equal(a.bytes, secret, sizeof a.bytes);
    struct orm_cursor_key random1 = key_of(NULL, NULL, ORM_CURSOR_KEY_RANDOM);
    struct orm_cursor_key random2 = key_of(NULL, NULL, ORM_CURSOR_KEY_RANDOM);
    assert_memory_not_equal(random1.bytes, random2.bytes, sizeof random1.bytes);
}

static void test_cursor_round_trip_keeps_every_value_and_null(void **state)
{
    (void)state;
    struct orm_cursor_key key =
        key_of("0123456789abcdef0123456789abcdef", NULL, ORM_CURSOR_KEY_CONFIGURED);
    char *cursor = orm_cursor_encode(&key, "item", "score,-grp,id",
                                     "[\"1.000000000000000000001\", null, \"é\\\"\\\\\", \"41\"]");
    assert_non_null(cursor);
    assert_int_equal(strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_"),
                     strlen(cursor));
    size_t count = 0;
    struct rs_error error = {0};
    char **values = orm_cursor_decode(&key, cursor, "item", "score,-grp,id", &count, &error);
    assert_non_null(values);
    assert_int_equal(count, 4);
    assert_string_equal(values[0], "1.000000000000000000001");
    assert_null(values[1]);
    assert_string_equal(values[2], "é\"\\");
    assert_string_equal(values[3], "41");
    free(values);
    free(cursor);
}

static void expect_refused(const struct orm_cursor_key *key, const char *cursor, const char *table,
                           const char *order, const char *message)
{
    size_t count = 0;
    struct rs_error error = {0};
    assert_null(orm_cursor_decode(key, cursor, table, order, &count, &error));
    assert_int_equal(error.outcome, RS_INVALID);
    assert_string_equal(error.field, "__cursor");
    if (!strstr(error.message, message))
        fail_msg("message \"%s\" lacks \"%s\"", error.message, message);
}

static void test_altered_foreign_or_malformed_cursors_are_refused(void **state)
{
    (void)state;
    struct orm_cursor_key key =
        key_of("0123456789abcdef0123456789abcdef", NULL, ORM_CURSOR_KEY_CONFIGURED);
    char *cursor = orm_cursor_encode(&key, "item", "grp,id", "[\"3\", \"41\"]");
    assert_non_null(cursor);
    expect_refused(&key, cursor, "item", "-grp,id", "made for __order=grp,id");
    expect_refused(&key, cursor, "other", "grp,id", "another table");
    /* every character changed, one at a time: never accepted */
    size_t length = strlen(cursor);
    for (size_t i = 0; i < length; i++) {
        char saved = cursor[i];
        cursor[i] = saved == 'A' ? 'B' : 'A';
        size_t count = 0;
        struct rs_error error = {0};
        char **values = orm_cursor_decode(&key, cursor, "item", "grp,id", &count, &error);
        if (values)
            fail_msg("an altered cursor was accepted (character %zu)", i);
        cursor[i] = saved;
    }
    struct orm_cursor_key other =
        key_of("another-secret-0123456789abcdef-xx", NULL, ORM_CURSOR_KEY_CONFIGURED);
    expect_refused(&other, cursor, "item", "grp,id", "altered");
    expect_refused(&key, "abc", "item", "grp,id", "not a cursor");
    expect_refused(&key, "a+b/", "item", "grp,id", "not a cursor");
    char *long_text = malloc(ORM_CURSOR_MAX_LENGTH + 2);
    memset(long_text, 'A', ORM_CURSOR_MAX_LENGTH + 1);
    long_text[ORM_CURSOR_MAX_LENGTH + 1] = '\0';
    expect_refused(&key, long_text, "item", "grp,id", "too long");
    free(long_text);
    /* a signed payload without values is no position */
    assert_null(orm_cursor_encode(&key, "item", "grp,id", "{}"));
    char *empty = orm_cursor_encode(&key, "item", "grp,id", "[]");
    expect_refused(&key, empty, "item", "grp,id", "no position");
    free(empty);
    free(cursor);
}

/* ---- against PostgreSQL: every type's key value round-trips ------------------------------ */

/* Runs sql (several statements are fine), failing the test on an error. */
static void pg_exec(PGconn *conn, const char *sql)
{
    PGresult *result = PQexec(conn, sql);
    bool is_ok =
        PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
    char message[512];
    snprintf(message, sizeof message, "%s", PQresultErrorMessage(result));
    PQclear(result);
    if (!is_ok)
        fail_msg("%s\n-- %s", message, sql);
}

/* A connection to RESTABLE_TEST_DATABASE_URL, or NULL when it is not set (the test skips). */
static PGconn *pg_connect_or_null(void)
{
    const char *url = getenv("RESTABLE_TEST_DATABASE_URL");
    PGconn *conn = url && *url ? PQconnectdb(url) : NULL;
    if (conn && PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(conn));
    return conn;
}

/* Walks table t ordered by column (ascending or descending), one row a page; returns how many
 * pages had a row, failing on a repeated row. */
static int walk(PGconn *conn, const struct cfg_table *table, const struct orm_order *order)
{
    char *values_json = NULL;
    int pages = 0;
    int seen[16] = {0};
    for (;;) {
        size_t count = 0;
        char **after = NULL;
        if (values_json) {
            struct orm_cursor_key key = key_of(NULL, NULL, ORM_CURSOR_KEY_RANDOM);
            char *cursor = orm_cursor_encode(&key, table->name, "x", values_json);
            struct rs_error error = {0};
            after = orm_cursor_decode(&key, cursor, table->name, "x", &count, &error);
            assert_non_null(after);
            free(cursor);
        }
        static struct orm_field id_only;
        id_only = (struct orm_field){.path = {&table->columns[0]}, .depth = 1};
        struct orm_select select = {.table = table,
                                    .orders = order,
                                    .order_count = 1,
                                    .fields = &id_only,
                                    .field_count = 1,
                                    .limit = 1,
                                    .after = (const char *const *)after,
                                    .after_count = count};
        struct orm_sql sql = {0};
        struct rs_error error = {0};
        if (orm_build_list_keyset(&select, &sql, &error) < 0)
            fail_msg("%s", error.message);
        PGresult *result = PQexecParams(conn, sb_text(&sql.text), (int)sql.param_count, NULL,
                                        (const char *const *)sql.params, NULL, NULL, 0);
        if (PQresultStatus(result) != PGRES_TUPLES_OK)
            fail_msg("%s\n-- %s", PQresultErrorMessage(result), sb_text(&sql.text));
        orm_sql_free(&sql);
        free(after);
        free(values_json);
        values_json = NULL;
        const char *rows = PQgetvalue(result, 0, 0);
        if (strcmp(rows, "[]") != 0) {
            int id = atoi(strstr(rows, ":") + 1);
            assert_true(id > 0 && id < 16);
            if (seen[id]++)
                fail_msg("row %d came twice ordering by %s", id, order->column->name);
            pages++;
        }
        if (PQgetisnull(result, 0, 1)) {
            PQclear(result);
            return pages;
        }
        values_json = strdup(PQgetvalue(result, 0, 1));
        PQclear(result);
        if (pages > 20)
            fail_msg("the walk does not end");
    }
}

struct typed_case {
    enum cfg_type type;
    enum cfg_type value_type; /* arrays: the element's; else CFG_TYPE_ARRAY means "as type" */
    const char *sql_type;
    const char *values; /* neighbours that differ only in their last digit, and a NULL */
};

static void test_every_type_round_trips_through_postgresql(void **state)
{
    (void)state;
    PGconn *conn = pg_connect_or_null();
    if (!conn)
        skip();
    /* the session restable's pool sets (orm/connect.c) */
    pg_exec(conn, "SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'; SET DateStyle = 'ISO'; "
                  "SET extra_float_digits = 1; SET client_min_messages = warning; BEGIN");
    static const struct typed_case cases[] = {
        {CFG_TYPE_TEXT, CFG_TYPE_ARRAY, "text", "('a'), ('a '), ('B'), ('é'), (NULL), ('a')"},
        {CFG_TYPE_INTEGER, CFG_TYPE_ARRAY, "integer",
         "(2147483647), (-2147483648), (0), (NULL), (0)"},
        {CFG_TYPE_BIGINT, CFG_TYPE_ARRAY, "bigint",
         "(9007199254740993), (9007199254740992), (NULL)"},
        {CFG_TYPE_NUMERIC, CFG_TYPE_ARRAY, "numeric",
         "(1.000000000000000000001), (1.000000000000000000002), (1.0000000000000000000010), "
         "(NULL), (1e-30)"},
        {CFG_TYPE_DOUBLE, CFG_TYPE_ARRAY, "double precision",
         "(0.1), (0.30000000000000004), (0.3), (1e300), ('NaN'), (NULL)"},
        {CFG_TYPE_REAL, CFG_TYPE_ARRAY, "real", "(0.1), (0.100000001), (NULL), (3.4e38)"},
        {CFG_TYPE_TIMESTAMPTZ, CFG_TYPE_ARRAY, "timestamptz",
         "('2024-02-29 23:59:59.999999+00'), ('2024-02-29 23:59:59.999998+00'), "
         "('2024-03-01 01:59:59.999999+02'), (NULL), ('infinity')"},
        {CFG_TYPE_TIMESTAMP, CFG_TYPE_ARRAY, "timestamp",
         "('2024-02-29 23:59:59.000001'), ('2024-02-29 23:59:59.000002'), (NULL)"},
        {CFG_TYPE_DATE, CFG_TYPE_ARRAY, "date",
         "('2024-02-29'), ('2024-03-01'), ('0001-01-01 BC'), (NULL)"},
        {CFG_TYPE_TIME, CFG_TYPE_ARRAY, "time", "('23:59:59.999999'), ('23:59:59.999998'), (NULL)"},
        {CFG_TYPE_INTERVAL, CFG_TYPE_ARRAY, "interval",
         "('PT0.000001S'), ('PT0.000002S'), ('P1M'), (NULL)"},
        {CFG_TYPE_UUID, CFG_TYPE_ARRAY, "uuid",
         "('00000000-0000-0000-0000-000000000002'), ('00000000-0000-0000-0000-000000000001'), "
         "(NULL)"},
        {CFG_TYPE_BOOLEAN, CFG_TYPE_ARRAY, "boolean", "(true), (false), (NULL), (true), (NULL)"},
        {CFG_TYPE_JSONB, CFG_TYPE_ARRAY, "jsonb", "('{\"a\": 1}'), ('[1, 2]'), ('\"x\"'), (NULL)"},
        {CFG_TYPE_JSON, CFG_TYPE_ARRAY, "json", "('{\"a\": 1}'), ('{\"a\":  1}'), (NULL)"},
        {CFG_TYPE_BYTEA, CFG_TYPE_ARRAY, "bytea", "('\\x00'), ('\\x0001'), (NULL)"},
        {CFG_TYPE_ARRAY, CFG_TYPE_VARCHAR, "varchar(20)[]",
         "('{a,b}'), ('{a}'), ('{\"a,\",\"\"}'), ('{}'), (NULL), ('{NULL}')"},
        {CFG_TYPE_ARRAY, CFG_TYPE_NUMERIC, "numeric[]", "('{1.10,1.1}'), ('{1.1}'), (NULL)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS keyset_case; CREATE TEMP TABLE "
                 "keyset_case (id serial PRIMARY KEY, v %s)",
                 cases[i].sql_type);
        pg_exec(conn, sql);
        snprintf(sql, sizeof sql, "INSERT INTO keyset_case (v) VALUES %s", cases[i].values);
        pg_exec(conn, sql);
        PGresult *count = PQexec(conn, "SELECT count(*) FROM keyset_case");
        int rows = atoi(PQgetvalue(count, 0, 0));
        PQclear(count);
        struct cfg_column columns[2] = {column_make("id", CFG_TYPE_SERIAL, false),
                                        column_make("v", cases[i].type, true)};
        if (cases[i].type == CFG_TYPE_ARRAY)
            columns[1].value_type = cases[i].value_type;
        columns[0].is_primary_key = true;
        struct cfg_table table = {.name = "keyset_case", .columns = columns, .column_count = 2};
        for (int descending = 0; descending < 2; descending++) {
            struct orm_order order = {&columns[1], descending == 1};
            int pages = walk(conn, &table, &order);
            if (pages != rows)
                fail_msg("%s %s: %d rows walked of %d", cases[i].sql_type,
                         descending ? "DESC" : "ASC", pages, rows);
        }
    }
    pg_exec(conn, "ROLLBACK");
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyset_is_the_order_up_to_the_primary_key_then_the_primary_key),
        cmocka_unit_test(test_first_page_reads_one_row_more_than_the_page_and_no_offset),
        cmocka_unit_test(test_default_order_continues_below_the_last_primary_key),
        cmocka_unit_test(test_not_null_keys_in_one_direction_are_one_row_comparison),
        cmocka_unit_test(test_mixed_directions_bound_the_first_key_then_compare_the_rest),
        cmocka_unit_test(test_nullable_and_json_keys_place_nulls_as_postgresql_orders_them),
        cmocka_unit_test(test_filters_and_the_continuation_share_the_where),
        cmocka_unit_test(test_values_for_another_keyset_are_refused),
        cmocka_unit_test(test_cursor_keys_are_derived_the_same_way_on_every_instance),
        cmocka_unit_test(test_cursor_round_trip_keeps_every_value_and_null),
        cmocka_unit_test(test_altered_foreign_or_malformed_cursors_are_refused),
        cmocka_unit_test(test_every_type_round_trips_through_postgresql),
    };
    return cmocka_run_group_tests(tests, fixture_setup, NULL);
}
