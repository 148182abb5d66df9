/*
 * tests/fuzz/fuzz_json_body.c — libFuzzer target for the validation of JSON write bodies:
 * server/validate.c (unknown keys, required columns, primary keys) over orm/types.c (each
 * column type's JSON and text parsers: lengths, ranges, choices, email, uuid, dates, times,
 * intervals, numerics, bytea, arrays, json), then the INSERT/UPDATE builder over what passed.
 *
 * Input: byte 0 picks the write mode (create, upsert, replace, patch: bits 0-1) and the table
 * of the shared fuzz config (bits 2-3); the rest is the request body, parsed as the server
 * parses it. Create and upsert come without a key in the path (POST /T/), replace and patch
 * with key "1" (PUT/PATCH /T/1/).
 *
 * Invariants: a row is accepted only when every key is a column; a refusal lists at least one
 * error, each with a field and a message, and the list encodes as JSON (the 422 body); a
 * json/jsonb value comes out as JSON text; a primary key never reaches an UPDATE (an upsert
 * may send it: it is the conflict key).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/validate.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const struct cfg_column *column, const char *text)
{
    if (!text)
        return;
    fuzz_expect(fuzz_is_utf8(text, strlen(text)), "a value is UTF-8 text for PostgreSQL");
    if (column->type == CFG_TYPE_JSON || column->type == CFG_TYPE_JSONB) {
        json_t *parsed = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        fuzz_expect(parsed != NULL, "a json value comes out as JSON text");
        json_decref(parsed);
    }
}

static void check_errors(const json_t *errors, size_t before)
{
    fuzz_expect(json_array_size(errors) > before, "a refused row lists an error");
    for (size_t i = before; i < json_array_size(errors); i++) {
        const json_t *error = json_array_get(errors, i);
        fuzz_expect(json_is_string(json_object_get(error, "field")), "an error names its field");
        const char *message = json_string_value(json_object_get(error, "message"));
        fuzz_expect(message && *message, "an error has a message");
    }
    char *text = json_dumps(errors, JSON_COMPACT);
    fuzz_expect(text != NULL, "the errors encode as a JSON body");
    free(text);
}

static void build_write(const struct cfg_table *table, enum srv_write_mode mode,
                        const struct srv_row_values *values)
{
    struct orm_row row = {values->assignments, values->count};
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    int status;
    if (mode == SRV_WRITE_CREATE) {
        status = orm_build_insert(table, &row, 1, &sql, &error);
    } else if (mode == SRV_WRITE_UPSERT) {
        /* POST /T/?__on_conflict=<primary key> */
        const struct cfg_column *key = cfg_primary_key(table);
        struct orm_conflict conflict = {&key, 1};
        status = orm_build_insert_rows(table, &row, 1, &conflict, &sql, &error);
    } else {
        for (size_t i = 0; i < values->count; i++)
            fuzz_expect(!values->assignments[i].column->is_primary_key,
                        "an update never sets the primary key");
        char *key = "1";
        struct orm_filter filter = {
            .column = cfg_primary_key(table), .values = &key, .value_count = 1, .is_row_key = true};
        status = orm_build_update(table, &row, mode == SRV_WRITE_REPLACE, &filter, 1, &sql, &error);
    }
    if (status < 0)
        fuzz_expect(error.outcome != RS_FAILED && error.message[0], "a builder refusal says why");
    orm_sql_free(&sql);
}

static void validate_row(const struct cfg_table *table, json_t *row, enum srv_write_mode mode)
{
    json_t *errors = json_array();
    struct srv_row_values values;
    bool is_post = mode == SRV_WRITE_CREATE || mode == SRV_WRITE_UPSERT;
    const char *path_pk = is_post ? NULL : "1";
    struct rs_arena arena; /* a request's, in the server */
    rs_arena_init(&arena, NULL, 0);
    if (srv_row_validate(&arena, table, row, mode, path_pk, &values, errors) == 0) {
        fuzz_expect(json_array_size(errors) == 0, "an accepted row has no errors");
        const char *key;
        json_t *value;
        json_object_foreach(row, key, value)
        {
            fuzz_expect(cfg_column_find(table, key) != NULL, "an accepted row has only columns");
        }
        for (size_t i = 0; i < values.count; i++)
            check_value(values.assignments[i].column, values.assignments[i].value);
        build_write(table, mode, &values);
    } else {
        check_errors(errors, 0);
    }
    rs_arena_free(&arena);
    json_decref(errors);
}

/* Every column's parsers against the member of the same name, else the whole body: each JSON
 * kind reaches each type; strings also go through the query-string parser. */
static void parse_per_column(const struct cfg_table *table, const json_t *body)
{
    for (size_t i = 0; i < table->column_count; i++) {
        const struct cfg_column *column = &table->columns[i];
        const json_t *value = json_is_object(body) ? json_object_get(body, column->name) : body;
        if (!value)
            value = body;
        char *text = NULL;
        struct rs_error error = {0};
        if (orm_value_from_json(column, value, &text, &error) == 0)
            check_value(column, text);
        else
            fuzz_expect(error.outcome == RS_UNPROCESSABLE && error.message[0],
                        "a JSON refusal is a 422");
        free(text);
        if (json_is_string(value)) {
            memset(&error, 0, sizeof error);
            text = orm_value_from_text(column, json_string_value(value), column->name, &error);
            if (text)
                check_value(column, text);
            else
                fuzz_expect(error.outcome == RS_INVALID && error.message[0],
                            "a text refusal is a 400");
            free(text);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return -1;
    const struct cfg_config *config = fuzz_config_tables();
    enum srv_write_mode mode = (enum srv_write_mode)(data[0] & 3);
    const struct cfg_table *table = &config->tables[((data[0] >> 2) & 3) % config->table_count];
    /* as server/request.c parses a body */
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    if (json_is_array(body) && (mode == SRV_WRITE_CREATE || mode == SRV_WRITE_UPSERT)) {
        for (size_t i = 0; i < json_array_size(body) && i < 64; i++)
            validate_row(table, json_array_get(body, i), mode);
    } else {
        validate_row(table, body, mode);
    }
    parse_per_column(table, body);
    json_decref(body);
    return 0;
}
