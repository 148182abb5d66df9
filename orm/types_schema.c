/*
 * orm/types_schema.c — how a column describes itself to clients: its JSON Schema fragment
 * (for GET /T/schema/ and /openapi.json) and its default as a JSON value (for GET /T/new/),
 * including "now" rendered the way PostgreSQL renders that type and a fresh uuid v4.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "orm/orm_internal_types.h"

/* ---- defaults ---------------------------------------------------------------------------- */

/* The row's now_json with the current time: %f is written as the six digits of the
 * microseconds before strftime sees the format (digits are plain characters to it). */
static json_t *now_json(const struct orm_type_info *info)
{
    struct timespec now;
    struct tm utc;
    if (!info || !info->now_json || clock_gettime(CLOCK_REALTIME, &now) != 0 ||
        !gmtime_r(&now.tv_sec, &utc))
        return json_null();
    char format[64];
    size_t used = 0;
    for (const char *p = info->now_json; *p && used + 7 < sizeof format; p++) {
        if (p[0] == '%' && p[1] == 'f') {
            used +=
                (size_t)snprintf(format + used, sizeof format - used, "%06ld", now.tv_nsec / 1000);
            p++;
        } else {
            format[used++] = *p;
        }
    }
    format[used] = '\0';
    char text[64];
    if (strftime(text, sizeof text, format, &utc) == 0)
        return json_null();
    return json_string(text);
}

static int random_bytes(unsigned char *buffer, size_t length)
{
    size_t filled = 0;
    while (filled < length) {
        ssize_t got = getrandom(buffer + filled, length - filled, 0);
        if (got < 0)
            break;
        filled += (size_t)got;
    }
    if (filled == length)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (filled < length) {
        ssize_t got = read(fd, buffer + filled, length - filled);
        if (got <= 0)
            break;
        filled += (size_t)got;
    }
    close(fd);
    return filled == length ? 0 : -1;
}

static json_t *uuid4_json(void)
{
    unsigned char bytes[16];
    if (random_bytes(bytes, sizeof bytes) < 0)
        return json_null();
    bytes[6] = (unsigned char)((bytes[6] & 0x0F) | 0x40); /* version 4 */
    bytes[8] = (unsigned char)((bytes[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    char text[37];
    char *p = text;
    for (size_t i = 0; i < sizeof bytes; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        p += snprintf(p, 3, "%02x", bytes[i]);
    }
    return json_string(text);
}

json_t *orm_column_default_json(const struct cfg_column *column)
{
    switch (column->default_kind) {
    case CFG_DEFAULT_VALUE:
        return column->default_value ? json_deep_copy(column->default_value) : json_null();
    case CFG_DEFAULT_NOW:
        return now_json(
            orm_type_info(column->value_type == column->type ? column->type : column->value_type));
    case CFG_DEFAULT_UUID4:
        return uuid4_json();
    case CFG_DEFAULT_NONE:
        break;
    }
    return json_null();
}

/* ---- JSON Schema ------------------------------------------------------------------------- */

/* "release_date" → "Release Date" */
static json_t *title_of(const char *name)
{
    char title[128];
    size_t used = 0;
    bool starts_word = true;
    for (const char *p = name; *p && used + 2 < sizeof title; p++) {
        if (*p == '_') {
            starts_word = true;
            continue;
        }
        if (starts_word && used > 0)
            title[used++] = ' ';
        title[used++] = starts_word ? (char)toupper((unsigned char)*p) : *p;
        starts_word = false;
    }
    title[used] = '\0';
    return json_string(title);
}

/* type, format and the constraints that belong to a single value of the column's value type */
static void describe_value(json_t *schema, const struct orm_type_info *info,
                           const struct cfg_column *column, bool is_nullable)
{
    if (info->schema_type) {
        if (is_nullable)
            json_object_set_new(schema, "type", json_pack("[s,s]", info->schema_type, "null"));
        else
            json_object_set_new(schema, "type", json_string(info->schema_type));
    }
    if (info->schema_format)
        json_object_set_new(schema, "format", json_string(info->schema_format));
    if (info->schema_encoding)
        json_object_set_new(schema, "contentEncoding", json_string(info->schema_encoding));
    /* the types whose DDL takes the column's length are the ones it limits */
    bool has_length =
        info->ddl_modifier == ORM_DDL_LENGTH || info->ddl_modifier == ORM_DDL_LENGTH_OR_255;
    if (has_length && column->length > 0)
        json_object_set_new(schema, "maxLength", json_integer(column->length));
    if (info->is_range_in_schema) {
        json_object_set_new(schema, "minimum", json_integer(info->minimum));
        json_object_set_new(schema, "maximum", json_integer(info->maximum));
    }
    if (json_is_array(column->choices)) {
        json_t *choices = json_deep_copy(column->choices);
        if (choices && is_nullable)
            json_array_append_new(choices, json_null());
        if (choices)
            json_object_set_new(schema, "enum", choices);
    }
}

json_t *orm_column_json_schema(const struct cfg_column *column)
{
    json_t *schema = json_object();
    if (!schema)
        return NULL;
    const struct orm_type_info *info = orm_column_value_info(column);
    if (column->type == CFG_TYPE_ARRAY && info) {
        json_object_set_new(schema, "type",
                            column->is_nullable ? json_pack("[s,s]", "array", "null")
                                                : json_string("array"));
        json_t *items = json_object();
        if (items) {
            describe_value(items, info, column, false);
            json_object_set_new(schema, "items", items);
        }
    } else if (info) {
        describe_value(schema, info, column, column->is_nullable);
    }
    json_object_set_new(schema, "title", title_of(column->name));
    if (column->help_text)
        json_object_set_new(schema, "description", json_string(column->help_text));
    if (column->default_kind == CFG_DEFAULT_VALUE && column->default_value)
        json_object_set_new(schema, "default", json_deep_copy(column->default_value));
    if (column->is_secret)
        json_object_set_new(schema, "writeOnly", json_true());
    const struct orm_type_info *own = orm_type_info(column->type);
    if (own && own->is_generated)
        json_object_set_new(schema, "readOnly", json_true());
    return schema;
}
