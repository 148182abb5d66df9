/*
 * server/validate.c — checks a JSON body row against the table before any SQL: unknown keys,
 * types, lengths, ranges, choices, nulls, required columns, a primary key the database
 * assigns. Collects every failing field, so one 422 lists them all.
 */
#include <stdlib.h>
#include <string.h>

#include "server/validate.h"

static void add_error(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

/* How many bytes of text (valid UTF-8, as every key jansson parsed is) fit in limit without
 * cutting a character: a cut one would make the message invalid UTF-8, which jansson refuses
 * to hold, and the error would silently go missing. */
static int utf8_prefix_length(const char *text, size_t limit)
{
    size_t length = strnlen(text, limit + 1);
    if (length <= limit)
        return (int)length;
    length = limit;
    while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80)
        length--;
    return (int)length;
}

static bool is_serial(const struct cfg_column *column)
{
    return column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
}

static bool is_required(const struct cfg_column *column)
{
    return !column->is_nullable && column->default_kind == CFG_DEFAULT_NONE && !is_serial(column);
}

int srv_row_validate(struct rs_arena *arena, const struct cfg_table *table, json_t *object,
                     enum srv_write_mode mode, const char *path_pk, struct srv_row_values *out,
                     json_t *errors)
{
    memset(out, 0, sizeof *out);
    size_t errors_before = json_array_size(errors);
    if (!json_is_object(object)) {
        add_error(errors, "", "each row must be a JSON object");
        return -1;
    }
    out->assignments = rs_arena_alloc(arena, (table->column_count + 1) * sizeof *out->assignments);

    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        const struct cfg_column *column = cfg_column_find(table, key);
        if (!column) {
            char message[160];
            snprintf(message, sizeof message, "unknown column \"%.*s\"",
                     utf8_prefix_length(key, 100), key);
            add_error(errors, key, message);
            continue;
        }
        char *text = NULL;
        struct rs_error error = {0};
        if (orm_value_from_json(column, value, &text, &error) < 0) {
            add_error(errors, column->name, error.message);
            continue;
        }
        rs_arena_adopt(arena, text);
        if (column->is_primary_key) {
            /* A body may repeat the row's own key (clients send rows back as they got them);
             * anything else would move the row or fight the sequence. */
            bool same_as_path = path_pk && text && strcmp(text, path_pk) == 0;
            if (!same_as_path) {
                if (mode != SRV_WRITE_CREATE && mode != SRV_WRITE_UPSERT)
                    add_error(errors, column->name, "the primary key cannot be changed");
                else if (is_serial(column) && mode == SRV_WRITE_CREATE)
                    add_error(errors, column->name, "the primary key is assigned by the database");
                else
                    goto assign;
            }
            continue;
        }
    assign:
        out->assignments[out->count++] = (struct orm_assignment){column, text};
    }

    if (mode != SRV_WRITE_PATCH) {
        for (size_t i = 0; i < table->column_count; i++) {
            const struct cfg_column *column = &table->columns[i];
            if (column->is_primary_key && mode != SRV_WRITE_CREATE && mode != SRV_WRITE_UPSERT)
                continue;
            if (is_required(column) && !json_object_get(object, column->name))
                add_error(errors, column->name, "required");
        }
    }
    return json_array_size(errors) > errors_before ? -1 : 0;
}
