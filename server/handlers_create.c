/*
 * server/handlers_create.c — POST /T/: create one row (an object, answered with its new key as
 * piccolo_api does), many (an array, answered with the full rows in the order sent), and
 * upsert with ?__on_conflict=<unique key> (201 when inserted, 200 when an existing row was
 * updated). Every row is validated before any SQL; a bad one is named "[i].field" and nothing
 * is written. Each request is one statement, so one transaction (docs/decisions.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/validate.h"

/* What the query string asks of a create: at most one parameter, __on_conflict. */
struct create_request {
    const struct cfg_column **keys; /* the __on_conflict columns, table order; NULL: plain */
    size_t key_count;
    bool is_many;
    size_t row_count;
};

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

/* "id", "name": the keys __on_conflict may name, for the 400's message. */
static void unique_keys_text(const struct cfg_table *table, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t c = 0; c < table->column_count && used < size; c++) {
        const struct cfg_column *column = &table->columns[c];
        if (column->is_primary_key || column->is_unique)
            used +=
                (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", column->name);
    }
}

static int respond_bad_conflict(struct srv_request *request, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int respond_bad_conflict(struct srv_request *request, const char *format, ...)
{
    char reason[200];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    char keys[256];
    unique_keys_text(request->route.table, keys, sizeof keys);
    srv_respond_error(request, 400, "__on_conflict",
                      "%s: __on_conflict names a unique key of %s (its primary key or a unique "
                      "column: %s)",
                      reason, request->route.table->name, keys);
    return -1;
}

/* "a,b" → the columns in table order (a name given twice counts once); -1 after a 400. */
static int parse_conflict(struct srv_request *request, const char *text, struct create_request *out)
{
    const struct cfg_table *table = request->route.table;
    bool *is_named = rs_arena_calloc(&request->arena, table->column_count, sizeof *is_named);
    char *names = rs_arena_strdup(&request->arena, text);
    char *saved = NULL;
    size_t named = 0;
    for (char *name = strtok_r(names, ",", &saved); name; name = strtok_r(NULL, ",", &saved)) {
        const struct cfg_column *column = cfg_column_find(table, name);
        if (!column)
            return respond_bad_conflict(request, "unknown column \"%.60s\"", name);
        size_t index = (size_t)(column - table->columns);
        named += !is_named[index];
        is_named[index] = true;
    }
    if (named == 0)
        return respond_bad_conflict(request, "no column named");
    out->keys = rs_arena_alloc(&request->arena, named * sizeof *out->keys);
    for (size_t c = 0; c < table->column_count; c++)
        if (is_named[c])
            out->keys[out->key_count++] = &table->columns[c];
    if (!orm_is_unique_key(table, out->keys, out->key_count))
        return respond_bad_conflict(request, "\"%.100s\" is not a unique key", text);
    return 0;
}

/* Only __on_conflict, once; anything else is said rather than ignored. */
static int parse_create_parameters(struct srv_request *request, struct create_request *out)
{
    *out = (struct create_request){0};
    for (size_t i = 0; i < request->arg_count; i++) {
        const struct srv_arg *arg = &request->args[i];
        if (strcmp(arg->key, "__on_conflict") != 0) {
            srv_respond_error(request, 400, arg->key, "unknown parameter \"%s\"", arg->key);
            return -1;
        }
        if (out->keys) {
            srv_respond_error(request, 400, arg->key, "__on_conflict is given twice");
            return -1;
        }
        if (parse_conflict(request, arg->value ? arg->value : "", out) < 0)
            return -1;
    }
    return 0;
}

static void add_error(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

/* A conflict column must identify the row: sent and not null, unless the database fills it
 * (serial, or a default that is not null); two rows may not send the same key. */
static void check_conflict_keys(const struct create_request *create, size_t r,
                                const struct orm_row *rows, json_t *errors)
{
    for (size_t k = 0; k < create->key_count; k++) {
        const struct cfg_column *key = create->keys[k];
        const struct orm_assignment *sent = NULL;
        for (size_t a = 0; a < rows[r].assignment_count && !sent; a++)
            if (rows[r].assignments[a].column == key)
                sent = &rows[r].assignments[a];
        bool has_default = key->default_kind != CFG_DEFAULT_NONE &&
                           !(key->default_value && json_is_null(key->default_value));
        if (!sent && !is_serial(key) && !has_default)
            add_error(errors, key->name, "required: __on_conflict matches rows on it");
        else if (sent && !sent->value)
            add_error(errors, key->name, "may not be null: __on_conflict matches rows on it");
    }
}

/* Exact duplicates of a row's conflict key among the rows before it (PostgreSQL would refuse
 * the statement: one command cannot update a row twice). Values that differ in text but are
 * equal in the database (1.0, 1) are caught by the statement itself (21000 → 422). */
static bool repeats_an_earlier_key(const struct create_request *create, const struct orm_row *rows,
                                   size_t r)
{
    if (!create->keys || create->key_count != 1)
        return false;
    const struct cfg_column *key = create->keys[0];
    const char *value = NULL;
    for (size_t a = 0; a < rows[r].assignment_count; a++)
        if (rows[r].assignments[a].column == key)
            value = rows[r].assignments[a].value;
    for (size_t earlier = 0; value && earlier < r; earlier++)
        for (size_t a = 0; a < rows[earlier].assignment_count; a++)
            if (rows[earlier].assignments[a].column == key && rows[earlier].assignments[a].value &&
                strcmp(rows[earlier].assignments[a].value, value) == 0)
                return true;
    return false;
}

/* "[2].rating" (and "row": 2) for the errors of row i of an array, from index before on. */
static void name_the_row(json_t *errors, size_t before, size_t i)
{
    for (size_t e = before; e < json_array_size(errors); e++) {
        json_t *error = json_array_get(errors, e);
        const char *field = json_string_value(json_object_get(error, "field"));
        char named[160];
        snprintf(named, sizeof named, *field ? "[%zu].%s" : "[%zu]", i, field);
        json_object_set_new(error, "row", json_integer((json_int_t)i));
        json_object_set_new(error, "field", json_string(named));
    }
}

/* Validates every row; the errors name their rows when the body is an array. */
static struct orm_row *validate_rows(struct srv_request *request,
                                     const struct create_request *create, json_t *body,
                                     json_t *errors)
{
    const struct cfg_table *table = request->route.table;
    struct orm_row *rows = rs_arena_alloc(&request->arena, create->row_count * sizeof *rows);
    /* a serial primary key may be sent only to name the row an upsert on it updates */
    bool names_pk = create->key_count == 1 && create->keys[0]->is_primary_key;
    enum srv_write_mode mode = names_pk ? SRV_WRITE_UPSERT : SRV_WRITE_CREATE;
    for (size_t i = 0; i < create->row_count; i++) {
        json_t *row = create->is_many ? json_array_get(body, i) : body;
        size_t before = json_array_size(errors);
        struct srv_row_values values;
        srv_row_validate(&request->arena, table, row, mode, NULL, &values, errors);
        rows[i] = (struct orm_row){values.assignments, values.count};
        if (create->keys && json_is_object(row))
            check_conflict_keys(create, i, rows, errors);
        if (json_array_size(errors) == before && repeats_an_earlier_key(create, rows, i))
            add_error(errors, create->keys[0]->name,
                      "an earlier row has the same __on_conflict key: one request can change a "
                      "row only once");
        if (create->is_many)
            name_the_row(errors, before, i);
    }
    return rows;
}

/* ---- answers -------------------------------------------------------------------------------- */

static bool is_failed(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status == ORM_OK)
        return false;
    srv_respond_outcome_error(request, outcome);
    return true;
}

/* A single object: [{"<pk>": value}] (piccolo_api's answer) */
static void create_one_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (is_failed(request, outcome))
        return;
    srv_respond_result(request, 201, NULL, outcome->result, NULL);
    outcome->result = NULL;
}

/* An array: {"rows": [...]} in the order sent */
static void create_many_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (is_failed(request, outcome))
        return;
    srv_respond_result(request, 201, "{\"rows\":", outcome->result, "}");
    outcome->result = NULL;
}

/* columns (orm_build_insert_rows): the rows, whether each was inserted, the first's version */
static void upsert_one_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (is_failed(request, outcome))
        return;
    bool inserted = strcmp(PQgetvalue(outcome->result, 0, 1), "[true]") == 0;
    char etag[SRV_ETAG_SIZE];
    srv_row_etag(PQgetvalue(outcome->result, 0, 2), etag, sizeof etag);
    srv_respond_result_only_element(request, inserted ? 201 : 200, outcome->result);
    outcome->result = NULL;
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
}

/* {"rows": [...], "inserted": [true, false, ...]}: 201 when any row was inserted, else 200 */
static void upsert_many_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (is_failed(request, outcome))
        return;
    const char *inserted = PQgetvalue(outcome->result, 0, 1);
    char *suffix = rs_arena_alloc(&request->arena, strlen(inserted) + 16);
    sprintf(suffix, ",\"inserted\":%s}", inserted);
    unsigned int status = strstr(inserted, "true") ? 201 : 200;
    srv_respond_result(request, status, "{\"rows\":", outcome->result, suffix);
    outcome->result = NULL;
}

static void run_create(struct srv_request *request, const struct create_request *create,
                       const struct orm_row *rows)
{
    const struct cfg_table *table = request->route.table;
    struct orm_conflict conflict = {create->keys, create->key_count};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    int built;
    srv_query_done done;
    if (!create->is_many && !create->keys) {
        built = orm_build_insert(table, rows, 1, &sql, &error);
        done = create_one_done;
    } else {
        built = orm_build_insert_rows(table, rows, create->row_count,
                                      create->keys ? &conflict : NULL, &sql, &error);
        done = !create->keys ? create_many_done
                             : (create->is_many ? upsert_many_done : upsert_one_done);
    }
    srv_run_built(request, built, &sql, &error, done);
}

/* The body's shape and size: an object, or an array of 1 to max_page_size rows. */
static int check_body_shape(struct srv_request *request, json_t *body,
                            struct create_request *create)
{
    const struct cfg_table *table = request->route.table;
    create->is_many = json_is_array(body);
    create->row_count = create->is_many ? json_array_size(body) : 1;
    if (!create->is_many && !json_is_object(body)) {
        srv_respond_error(request, 400, NULL,
                          "the body must be a JSON object or an array of objects");
        return -1;
    }
    if (create->row_count == 0) {
        srv_respond_error(request, 400, NULL, "the array is empty: send at least one row");
        return -1;
    }
    if (create->row_count > (size_t)table->max_page_size) {
        srv_respond_error(request, 413, NULL,
                          "%zu rows sent: at most %d rows per request (max_page_size of %s)",
                          create->row_count, table->max_page_size, table->name);
        return -1;
    }
    return 0;
}

/* At most the parameters the statement binds: every value, and a sequence's name per key. */
static size_t value_count(const struct create_request *create, const struct orm_row *rows)
{
    size_t count = 2 * (create->key_count + 1);
    for (size_t r = 0; r < create->row_count; r++)
        count += rows[r].assignment_count;
    return count;
}

void srv_handle_create(struct srv_request *request)
{
    struct create_request create;
    if (parse_create_parameters(request, &create) < 0)
        return;
    json_t *body = srv_parse_json_body(request);
    if (!body || check_body_shape(request, body, &create) < 0)
        return;
    json_t *errors = json_array();
    struct orm_row *rows = validate_rows(request, &create, body, errors);
    if (json_array_size(errors) > 0) {
        srv_respond_errors(request, 422, "the body did not validate", errors);
        return;
    }
    json_decref(errors);
    if (value_count(&create, rows) > ORM_MAX_PARAMS) {
        srv_respond_error(request, 413, NULL,
                          "too many values for one statement (at most %d): send fewer rows",
                          ORM_MAX_PARAMS);
        return;
    }
    run_create(request, &create, rows);
}
