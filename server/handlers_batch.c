/*
 * server/handlers_batch.c — POST /batch/ (SPEC §5): up to 100 row writes in one transaction on
 * one connection. Every operation is checked before anything is sent — its shape, its table,
 * the method on that table (405 when read_only), its table's policy (401/403), its id and body
 * (422: a body that parses but does not say what a batch must; row bodies by the validator
 * the single routes use) and its references ("$N.col": an earlier operation that answers a
 * row holding col). The operations then run as the steps of one pool
 * session (srv_run_session): each step's statement is built on the pool thread from the results
 * so far, with references replaced by the values they name and validated again. The first
 * operation that fails ends the session with a ROLLBACK, and the answer is its error with
 * "operation": N (respond.c adds it), the same status, message and field as the single route.
 */
#include <stdlib.h>
#include <string.h>

#include "server/routes.h"
#include "server/validate.h"

#define BATCH_MAX_OPERATIONS 100

enum batch_method { BATCH_POST, BATCH_PUT, BATCH_PATCH, BATCH_DELETE };

static const char *const method_names[] = {"POST", "PUT", "PATCH", "DELETE"};

struct batch_op {
    enum batch_method method;
    const struct cfg_table *table;
    json_t *id;     /* as sent: a value or a reference; NULL for POST */
    json_t *body;   /* NULL for DELETE */
    const char *pk; /* the row's key as PostgreSQL text, once known */
    json_t *row;    /* the row it answered (POST, PATCH), held by the results */
};

struct batch_state {
    struct batch_op *ops;
    size_t count;
    size_t current;       /* the operation running */
    bool is_reading_back; /* POST: the insert ran, its row is being read */
    bool has_answer;      /* a step failed and responded already */
    json_t *results;
    struct orm_sql sql; /* the step being sent (the pool copies it) */
    struct orm_statement statement;
};

/* ---- errors ------------------------------------------------------------------------------ */

static void operation_error(struct srv_request *request, size_t index, unsigned int status,
                            const char *field, const char *message)
{
    request->error_operation = index + 1;
    srv_respond_error(request, status, field, "%s", message);
}

/* "operations[2].body.director" */
static void op_field(char *out, size_t size, size_t index, const char *part, const char *key)
{
    snprintf(out, size, "operations[%zu].%s%s%s", index, part, key ? "." : "", key ? key : "");
}

static void shape_error(struct srv_request *request, size_t index, const char *part,
                        const char *key, const char *message)
{
    char field[160];
    op_field(field, sizeof field, index, part, key);
    operation_error(request, index, 422, field, message);
}

/* ---- references: "$N.col" ------------------------------------------------------------------ */

/* Whether value is a reference; sets the operation and the column it names. */
static bool parse_reference(const json_t *value, size_t *operation, const char **column)
{
    const char *text = json_is_string(value) ? json_string_value(value) : NULL;
    if (!text || text[0] != '$' || text[1] < '0' || text[1] > '9')
        return false;
    char *end;
    unsigned long number = strtoul(text + 1, &end, 10);
    if (*end != '.' || !orm_identifier_is_valid(end + 1) || end - text > 4)
        return false;
    *operation = number;
    *column = end + 1;
    return true;
}

/* A reference of operation index must name an earlier operation that answers a row (POST,
 * PATCH) holding the column. Responds 422 and returns -1 otherwise. */
static int check_reference(struct srv_request *request, const struct batch_state *state,
                           size_t index, const json_t *value, const char *part, const char *key)
{
    size_t target;
    const char *column_name;
    if (!parse_reference(value, &target, &column_name))
        return 0;
    char message[256];
    const struct batch_op *named = target < index ? &state->ops[target] : NULL;
    const struct cfg_column *column = named ? cfg_column_find(named->table, column_name) : NULL;
    if (!named)
        snprintf(message, sizeof message,
                 "%s refers to operation %zu, which does not run before this one",
                 json_string_value(value), target);
    else if (named->method != BATCH_POST && named->method != BATCH_PATCH)
        snprintf(message, sizeof message,
                 "%s refers to operation %zu, a %s, which answers no row (only POST and PATCH do)",
                 json_string_value(value), target, method_names[named->method]);
    else if (!column || column->is_secret)
        snprintf(message, sizeof message, "%s: the rows of %s have no column \"%s\"",
                 json_string_value(value), named->table->name, column_name);
    else
        return 0;
    shape_error(request, index, part, key, message);
    return -1;
}

/* The value a reference names, from the row its operation answered; NULL when the row does
 * not hold it (a row the policy hides after the write answers its key only). */
static json_t *resolve_reference(const struct batch_state *state, const json_t *value)
{
    size_t target;
    const char *column;
    if (!parse_reference(value, &target, &column) || target >= state->current)
        return NULL;
    return json_object_get(state->ops[target].row, column);
}

/* ---- checking an operation before anything runs -------------------------------------------- */

static int parse_method(struct srv_request *request, size_t index, const json_t *value,
                        enum batch_method *method)
{
    const char *text = json_is_string(value) ? json_string_value(value) : "";
    for (size_t m = 0; m < sizeof method_names / sizeof method_names[0]; m++)
        if (strcmp(text, method_names[m]) == 0) {
            *method = (enum batch_method)m;
            return 0;
        }
    shape_error(request, index, "method", NULL,
                value ? "unknown method: use POST, PUT, PATCH or DELETE"
                      : "each operation needs a method (POST, PUT, PATCH or DELETE)");
    return -1;
}

static int parse_table(struct srv_request *request, size_t index, const json_t *value,
                       const struct cfg_table **table)
{
    const char *name = json_is_string(value) ? json_string_value(value) : NULL;
    *table = name ? cfg_table_find(request->app->config, name) : NULL;
    if (*table)
        return 0;
    char message[200];
    snprintf(message, sizeof message, name ? "unknown table \"%.100s\"" : "%s",
             name ? name : "each operation needs a table");
    shape_error(request, index, "table", NULL, message);
    return -1;
}

/* The method on the table (405 on a read_only one), the table's policy (401/403) and
 * require_if_match (428, since a batch sends no If-Match). */
static int check_access(struct srv_request *request, size_t index, const struct batch_op *op)
{
    const struct cfg_table *table = op->table;
    char message[256];
    if (table->read_only) {
        snprintf(message, sizeof message, "method %s is not allowed on %s: it is read-only",
                 method_names[op->method], table->name);
        operation_error(request, index, 405, NULL, message);
        return -1;
    }
    request->error_operation = index + 1;
    request->route.table = table;
    int allowed = srv_request_authorize(request, op->method == BATCH_DELETE ? &table->delete_
                                                                            : &table->write);
    request->route.table = NULL;
    if (allowed < 0)
        return -1;
    if (table->require_if_match && op->method != BATCH_POST) {
        snprintf(message, sizeof message,
                 "%s requires If-Match on writes to one row, which a batch cannot send: write it "
                 "with %s /%s/{id}/ and If-Match",
                 table->name, method_names[op->method], table->name);
        operation_error(request, index, 428, NULL, message);
        return -1;
    }
    return 0;
}

/* The id, for PUT, PATCH and DELETE only: a value of the primary key's type or a reference. */
static int check_id(struct srv_request *request, struct batch_state *state, size_t index)
{
    struct batch_op *op = &state->ops[index];
    if (op->method == BATCH_POST && !op->id)
        return 0;
    if (op->method == BATCH_POST || !op->id) {
        shape_error(request, index, "id", NULL,
                    op->id ? "a POST creates a row: send no id"
                           : "PUT, PATCH and DELETE need the id of the row");
        return -1;
    }
    if (check_reference(request, state, index, op->id, "id", NULL) < 0)
        return -1;
    size_t target;
    const char *column;
    if (parse_reference(op->id, &target, &column))
        return 0;
    const struct cfg_column *pk = cfg_primary_key(op->table);
    char *text = NULL;
    struct rs_error error = {0};
    if (orm_value_from_json(pk, op->id, &text, &error) < 0 || !text) {
        char message[300];
        snprintf(message, sizeof message, "invalid primary key: %s",
                 error.message[0] ? error.message : "it may not be null");
        free(text);
        shape_error(request, index, "id", NULL, message);
        return -1;
    }
    op->pk = rs_arena_adopt(&request->arena, text);
    return 0;
}

static enum srv_write_mode write_mode(enum batch_method method)
{
    return method == BATCH_POST  ? SRV_WRITE_CREATE
           : method == BATCH_PUT ? SRV_WRITE_REPLACE
                                 : SRV_WRITE_PATCH;
}

static void respond_invalid(struct srv_request *request, size_t index, json_t *errors)
{
    request->error_operation = index + 1;
    srv_respond_errors(request, 422, "the body did not validate", errors);
}

static void release_json(void *value)
{
    json_decref(value);
}

/* Validates what the body says without its references (422 for a bad one); the columns they
 * fill are validated once their values are known. */
static int check_body(struct srv_request *request, struct batch_state *state, size_t index)
{
    struct batch_op *op = &state->ops[index];
    if (op->method == BATCH_DELETE || !json_is_object(op->body)) {
        if (op->method == BATCH_DELETE && !op->body)
            return 0;
        shape_error(request, index, "body", NULL,
                    op->method == BATCH_DELETE ? "a DELETE takes no body"
                                               : "the body must be a JSON object");
        return -1;
    }
    json_t *known = json_object();
    rs_arena_defer(&request->arena, release_json, known);
    const char *key;
    json_t *value;
    json_object_foreach(op->body, key, value)
    {
        if (check_reference(request, state, index, value, "body", key) < 0)
            return -1;
        size_t target;
        const char *column;
        if (!parse_reference(value, &target, &column) || !cfg_column_find(op->table, key))
            json_object_set(known, key, value);
    }
    json_t *errors = json_array();
    struct srv_row_values values;
    srv_row_validate(&request->arena, op->table, known, write_mode(op->method), op->pk, &values,
                     errors);
    /* "required" on a column a reference fills is not an error */
    for (size_t e = json_array_size(errors); e-- > 0;) {
        const char *field = json_string_value(json_object_get(json_array_get(errors, e), "field"));
        if (field && json_object_get(op->body, field) && !json_object_get(known, field))
            json_array_remove(errors, e);
    }
    if (json_array_size(errors) > 0) {
        respond_invalid(request, index, errors);
        return -1;
    }
    json_decref(errors);
    return 0;
}

static const char *const op_keys[] = {"method", "table", "id", "body", NULL};

static int check_operation(struct srv_request *request, struct batch_state *state, size_t index,
                           json_t *spec)
{
    if (!json_is_object(spec)) {
        char field[32];
        snprintf(field, sizeof field, "operations[%zu]", index);
        operation_error(request, index, 422, field, "each operation must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(spec, key, value)
    {
        size_t k = 0;
        while (op_keys[k] && strcmp(op_keys[k], key) != 0)
            k++;
        if (!op_keys[k]) {
            char message[200];
            snprintf(message, sizeof message,
                     "unknown key \"%.100s\" (an operation has method, table, id and body)", key);
            shape_error(request, index, key, NULL, message);
            return -1;
        }
    }
    struct batch_op *op = &state->ops[index];
    op->id = json_object_get(spec, "id");
    op->body = json_object_get(spec, "body");
    if (parse_method(request, index, json_object_get(spec, "method"), &op->method) < 0 ||
        parse_table(request, index, json_object_get(spec, "table"), &op->table) < 0 ||
        check_access(request, index, op) < 0 || check_id(request, state, index) < 0)
        return -1;
    return check_body(request, state, index);
}

/* ---- building an operation's statement ------------------------------------------------------ */

/* A reference as the operation's id: the key it names, parsed by the primary key's type; 422
 * when the row does not hold it or it is no key. */
static int substitute_id(struct srv_request *request, struct batch_state *state,
                         struct batch_op *op)
{
    size_t target;
    const char *column;
    if (!op->id || !parse_reference(op->id, &target, &column))
        return 0;
    json_t *found = resolve_reference(state, op->id);
    const struct cfg_column *pk = cfg_primary_key(op->table);
    char *text = NULL;
    struct rs_error error = {0};
    if (found && orm_value_from_json(pk, found, &text, &error) == 0 && text) {
        op->pk = rs_arena_adopt(&request->arena, text);
        return 0;
    }
    free(text);
    char message[512], field[160];
    snprintf(message, sizeof message, "%s is not a key of %s: %s", json_string_value(op->id),
             op->table->name, found ? error.message : "the row it names does not hold it");
    op_field(field, sizeof field, state->current, "id", NULL);
    operation_error(request, state->current, 422, field, message);
    return -1;
}

/* Puts the values references name into the body (validated afterwards with the rest of it);
 * 422 when the row they name does not hold one. */
static int substitute_body(struct srv_request *request, struct batch_state *state,
                           struct batch_op *op)
{
    const char *key;
    json_t *value;
    json_object_foreach(op->body, key, value)
    {
        size_t target;
        const char *column;
        if (!parse_reference(value, &target, &column))
            continue;
        json_t *found = resolve_reference(state, value);
        if (!found) {
            char message[300], field[160];
            snprintf(message, sizeof message, "%s: the row operation %zu answered does not hold it",
                     json_string_value(value), target);
            op_field(field, sizeof field, state->current, "body", key);
            operation_error(request, state->current, 422, field, message);
            return -1;
        }
        json_object_set(op->body, key, found); /* replacing a value keeps the iteration valid */
    }
    return 0;
}

/* The write's SQL into state->sql; -1 after responding. */
static int build_write(struct srv_request *request, struct batch_state *state)
{
    struct batch_op *op = &state->ops[state->current];
    orm_sql_free(&state->sql);
    state->sql = (struct orm_sql){0};
    if (substitute_id(request, state, op) < 0 || substitute_body(request, state, op) < 0)
        return -1;
    struct srv_row_values values = {0};
    if (op->body) {
        json_t *errors = json_array();
        if (srv_row_validate(&request->arena, op->table, op->body, write_mode(op->method), op->pk,
                             &values, errors) < 0) {
            respond_invalid(request, state->current, errors);
            return -1;
        }
        json_decref(errors);
    }
    struct orm_row row = {values.assignments, values.count};
    struct orm_row_target target = {.pk_value = op->pk};
    struct rs_error error = {0};
    int built = op->method == BATCH_POST ? orm_build_insert(op->table, &row, 1, &state->sql, &error)
                : op->method == BATCH_DELETE
                    ? orm_build_delete_row(op->table, &target, &state->sql, &error)
                    : orm_build_update_row(op->table, &row, op->method == BATCH_PUT, &target,
                                           &state->sql, &error);
    if (built < 0) {
        request->error_operation = state->current + 1;
        srv_respond_rs_error(request, &error);
    }
    return built;
}

/* POST answers the whole row it created, read back as GET /T/{pk}/ reads it. */
static int build_read_back(struct srv_request *request, struct batch_state *state)
{
    struct batch_op *op = &state->ops[state->current];
    const struct srv_app *app = request->app;
    size_t table_index = (size_t)(op->table - app->config->tables);
    struct orm_select select = {.table = op->table, .limit = -1};
    if (app->projections)
        select.prepared = app->projections[2 * table_index];
    orm_sql_free(&state->sql);
    state->sql = (struct orm_sql){0};
    struct rs_error error = {0};
    if (orm_build_get(&select, op->pk, &state->sql, &error) < 0) {
        request->error_operation = state->current + 1;
        srv_respond_rs_error(request, &error);
        return -1;
    }
    return 0;
}

static void set_next(struct batch_state *state, struct orm_session_next *next)
{
    state->statement =
        (struct orm_statement){sb_text(&state->sql.text), (const char *const *)state->sql.params,
                               (int)state->sql.param_count};
    *next = (struct orm_session_next){&state->statement, 1};
}

/* ---- reading each step's result ------------------------------------------------------------ */

static void add_result(struct batch_state *state, unsigned int status, json_t *row)
{
    json_t *result = json_pack("{s:i}", "status", (int)status);
    if (row)
        json_object_set(result, "body", row);
    json_array_append_new(state->results, result);
    state->ops[state->current].row = row;
}

static void respond_missing(struct srv_request *request, const struct batch_state *state)
{
    const struct batch_op *op = &state->ops[state->current];
    char message[300];
    snprintf(message, sizeof message, "%s %s not found", op->table->name, op->pk);
    operation_error(request, state->current, 404, NULL, message);
}

/* The first element of a JSON array text ("[{...}]"), as a new reference, or NULL. */
static json_t *first_row(const char *text)
{
    json_t *rows = json_loads(text, 0, NULL);
    json_t *row = json_array_get(rows, 0);
    row = json_is_object(row) ? json_incref(row) : NULL;
    json_decref(rows);
    return row;
}

/* A POST's insert answered its key ([{"<pk>": value}]): kept, with that object as the row
 * until the read-back answers. -1 after a 500 when it did not come back (a bug). */
static int take_created_key(struct srv_request *request, struct batch_state *state,
                            const char *first)
{
    struct batch_op *op = &state->ops[state->current];
    json_t *created = first ? first_row(first) : NULL;
    const struct cfg_column *pk = cfg_primary_key(op->table);
    json_t *key = json_object_get(created, pk->name);
    char *text = NULL;
    struct rs_error error = {0};
    if (!key || orm_value_from_json(pk, key, &text, &error) < 0 || !text) {
        free(text);
        json_decref(created);
        srv_log("error", "request %s: batch operation %zu: the insert answered no key",
                request->request_id, state->current);
        char message[160];
        snprintf(message, sizeof message,
                 "internal error (a bug); see the server log for request %s", request->request_id);
        operation_error(request, state->current, 500, NULL, message);
        return -1;
    }
    op->pk = rs_arena_adopt(&request->arena, text);
    op->row = created;
    state->is_reading_back = true;
    return 0;
}

/* The read-back of a POST: the whole row, or, when the read policy hides it, its key. */
static void take_created_row(struct batch_state *state, const char *first)
{
    struct batch_op *op = &state->ops[state->current];
    json_t *row = first ? json_loads(first, 0, NULL) : NULL;
    if (json_is_object(row)) {
        json_decref(op->row);
    } else {
        json_decref(row);
        row = op->row;
    }
    state->is_reading_back = false;
    add_result(state, 201, row);
    json_decref(row); /* the results hold it */
}

/* Records what the operation's step answered; -1 after responding (404, or a POST whose key
 * did not come back). Sets *is_more when the operation needs another step (POST's read). */
static int take_result(struct srv_request *request, struct batch_state *state,
                       const PGresult *result, bool *is_more)
{
    struct batch_op *op = &state->ops[state->current];
    const char *first = PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : NULL;
    *is_more = op->method == BATCH_POST && !state->is_reading_back;
    if (*is_more)
        return take_created_key(request, state, first);
    if (op->method == BATCH_POST) {
        take_created_row(state, first);
        return 0;
    }
    bool is_gone = !first || (op->method == BATCH_DELETE ? strtoll(first, NULL, 10) == 0
                                                         : strcmp(first, "[]") == 0);
    if (is_gone) {
        respond_missing(request, state);
        return -1;
    }
    json_t *row = op->method == BATCH_PATCH ? first_row(first) : NULL;
    add_result(state, op->method == BATCH_PATCH ? 200 : 204, row);
    json_decref(row);
    return 0;
}

static enum orm_session_action batch_step(struct srv_request *request, struct orm_outcome *outcome,
                                          struct orm_session_next *next)
{
    struct batch_state *state = request->handler_state;
    bool is_more;
    if (take_result(request, state, outcome->result, &is_more) < 0) {
        state->has_answer = true;
        return ORM_SESSION_ROLLBACK;
    }
    if (!is_more && ++state->current == state->count)
        return ORM_SESSION_COMMIT;
    if ((is_more ? build_read_back(request, state) : build_write(request, state)) < 0) {
        state->has_answer = true;
        return ORM_SESSION_ROLLBACK;
    }
    set_next(state, next);
    return ORM_SESSION_NEXT;
}

static void batch_done(struct srv_request *request, struct orm_outcome *outcome)
{
    struct batch_state *state = request->handler_state;
    if (state->has_answer)
        return;
    if (outcome->status != ORM_OK) {
        /* the operation whose statement failed, unless no operation was running (a connection
         * that never came, a COMMIT that failed) */
        bool names_one =
            state->current < state->count &&
            (outcome->status == ORM_E_QUERY || outcome->status == ORM_E_STATEMENT_TIMEOUT);
        if (names_one) {
            request->error_operation = state->current + 1;
            request->route.table = state->ops[state->current].table;
        }
        srv_respond_outcome_error(request, outcome);
        request->route.table = NULL;
        return;
    }
    srv_respond_json(request, 200, json_pack("{s:O}", "results", state->results));
}

/* ---- the handler ----------------------------------------------------------------------------- */

static void release_state(void *data)
{
    struct batch_state *state = data;
    if (state->is_reading_back) /* a POST's key, owned until its read answered */
        json_decref(state->ops[state->current].row);
    orm_sql_free(&state->sql);
    json_decref(state->results);
}

/* The operations array of the body; NULL after responding 422/413. */
static json_t *operations_of(struct srv_request *request, json_t *body)
{
    json_t *operations = json_is_object(body) ? json_object_get(body, "operations") : NULL;
    const char *key;
    json_t *value;
    json_object_foreach(json_is_object(body) ? body : NULL, key, value)
    {
        if (strcmp(key, "operations") != 0) {
            srv_respond_error(request, 422, key,
                              "unknown key \"%.100s\": send {\"operations\": [...]}", key);
            return NULL;
        }
    }
    if (!json_is_array(operations)) {
        srv_respond_error(request, 422, "operations",
                          "the body must be {\"operations\": [...]}, an array of operations");
        return NULL;
    }
    size_t count = json_array_size(operations);
    if (count == 0) {
        srv_respond_error(request, 422, "operations", "operations is empty: send 1 to %d",
                          BATCH_MAX_OPERATIONS);
        return NULL;
    }
    if (count > BATCH_MAX_OPERATIONS) {
        srv_respond_error(request, 413, "operations",
                          "a batch holds at most %d operations (this one has %zu)",
                          BATCH_MAX_OPERATIONS, count);
        return NULL;
    }
    return operations;
}

void srv_handle_batch(struct srv_request *request)
{
    if (request->arg_count > 0) {
        srv_respond_error(request, 400, request->args[0].key, "unknown parameter \"%s\"",
                          request->args[0].key);
        return;
    }
    json_t *body = srv_parse_json_body(request);
    json_t *operations = body ? operations_of(request, body) : NULL;
    if (!operations)
        return;
    struct batch_state *state = rs_arena_alloc(&request->arena, sizeof *state);
    *state = (struct batch_state){.count = json_array_size(operations), .results = json_array()};
    state->ops = rs_arena_alloc(&request->arena, state->count * sizeof *state->ops);
    memset(state->ops, 0, state->count * sizeof *state->ops);
    rs_arena_defer(&request->arena, release_state, state);
    request->handler_state = state;
    for (size_t i = 0; i < state->count; i++)
        if (check_operation(request, state, i, json_array_get(operations, i)) < 0)
            return;
    request->error_operation = 0;
    if (build_write(request, state) == 0)
        srv_run_session(request, &state->sql, batch_step, batch_done);
}
