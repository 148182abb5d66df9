/*
 * orm/orm_internal_types.h — private to orm/: the table of type descriptors behind the public
 * orm_value_* / orm_column_* functions and the DDL writer, the parsers and literal writers it
 * points at, and the small text helpers the type layer and the query builder share
 * (PostgreSQL array literals, LIKE escaping).
 */
#ifndef RESTABLE_ORM_INTERNAL_TYPES_H
#define RESTABLE_ORM_INTERNAL_TYPES_H

#include "orm/orm.h"

struct orm_type_info;

/* A parser writes the canonical PostgreSQL text of one scalar value to out and returns 0, or
 * returns -1 with error->message saying what was expected and what came. Parsers leave
 * error->outcome and error->field to the public entry points, which know the caller's context
 * (RS_INVALID for a query string, RS_UNPROCESSABLE for a body). column gives length / precision /
 * scale; its type may differ from info's (an array's element, a foreign key's referenced type). */
typedef int (*orm_text_parser)(const struct orm_type_info *info, const struct cfg_column *column,
                               const char *text, struct sb *out, struct rs_error *error);
typedef int (*orm_json_parser)(const struct orm_type_info *info, const struct cfg_column *column,
                               const json_t *value, struct sb *out, struct rs_error *error);

/* Writes a declared value (a default or a choice, JSON as the config holds it) as an SQL
 * literal of the row's type, for DDL. */
typedef void (*orm_literal_writer)(const struct orm_type_info *info, const json_t *value,
                                   struct sb *out);

/* What follows a type's DDL name, from the column's declaration. */
enum orm_ddl_modifier {
    ORM_DDL_PLAIN,         /* the name alone */
    ORM_DDL_LENGTH,        /* name(length) when the column has a length: varchar */
    ORM_DDL_LENGTH_OR_255, /* name(length), 255 when none: email */
    ORM_DDL_PRECISION,     /* name(precision[,scale]) when it has a precision: numeric */
};

/* One row per enum cfg_type. ARRAY and FOREIGN_KEY rows carry only schema data: values of
 * those columns are handled through column->value_type. */
struct orm_type_info {
    enum cfg_type type;
    const char *cast;       /* the type a bound value is cast to */
    const char *array_cast; /* the same as an array type, for ANY(...) parameters */
    const char *ddl_name;   /* the type in CREATE TABLE ("serial", "double precision") */
    enum orm_ddl_modifier ddl_modifier;
    const char *now_sql; /* DEFAULT for "now", or NULL where "now" does not apply */
    /* "now" as GET /T/new/ shows it: strftime's format in UTC, %f the microseconds (the shape
     * of PostgreSQL's JSON rendering under the session settings: UTC, ISO) */
    const char *now_json;
    orm_literal_writer literal_sql; /* a default or choice in DDL; NULL: orm_literal_sql_plain */
    const char *expected;           /* "an integer", "a date (YYYY-MM-DD)": used in messages */
    orm_text_parser from_text;
    orm_json_parser from_json;
    const char *schema_type;     /* JSON Schema "type", or NULL for any JSON */
    const char *schema_format;   /* JSON Schema "format", or NULL */
    const char *schema_encoding; /* JSON Schema "contentEncoding", or NULL */
    /* minimum and maximum are stated in the JSON Schema (not bigint's: no JSON reader keeps
     * them exact) */
    bool is_range_in_schema;
    bool is_generated;                 /* the database writes it (serial): "readOnly" */
    long long minimum, maximum;        /* integer types */
    enum rs_decimal_kind decimal_kind; /* numeric, real, double: which decimal grammar */
};

/* The descriptor of a scalar type; serial/bigserial share integer/bigint's parsing. NULL for
 * ARRAY, FOREIGN_KEY and out-of-range values. */
const struct orm_type_info *orm_type_info(enum cfg_type type);

/* The descriptor a column's values are parsed with: value_type for arrays and foreign keys. */
const struct orm_type_info *orm_column_value_info(const struct cfg_column *column);

/* The array type of the column's value type ("integer[]" for an integer or a foreign key to
 * one, "varchar[]" for varchar and for an array of varchar): what ANY($n) parameters use. */
const char *orm_column_array_cast(const struct cfg_column *column);

/* ---- parsers (orm/types_scalar.c, orm/types_time.c) ---- */
int orm_parse_integer_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                           struct sb *, struct rs_error *);
int orm_parse_integer_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                           struct sb *, struct rs_error *);
int orm_parse_boolean_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                           struct sb *, struct rs_error *);
int orm_parse_boolean_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                           struct sb *, struct rs_error *);
int orm_parse_decimal_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                           struct sb *, struct rs_error *);
int orm_parse_decimal_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                           struct sb *, struct rs_error *);
int orm_parse_string_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                          struct sb *, struct rs_error *);
int orm_parse_uuid_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                        struct sb *, struct rs_error *);
int orm_parse_json_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                        struct sb *, struct rs_error *);
int orm_parse_json_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                        struct sb *, struct rs_error *);
int orm_parse_bytea_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                         struct sb *, struct rs_error *);
int orm_parse_timestamp_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                             struct sb *, struct rs_error *);
int orm_parse_date_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                        struct sb *, struct rs_error *);
int orm_parse_time_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                        struct sb *, struct rs_error *);
int orm_parse_interval_text(const struct orm_type_info *, const struct cfg_column *, const char *,
                            struct sb *, struct rs_error *);
int orm_parse_interval_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                            struct sb *, struct rs_error *);
/* For types whose JSON form is a string holding the text form (dates, uuids, text...). */
int orm_parse_string_json(const struct orm_type_info *, const struct cfg_column *, const json_t *,
                          struct sb *, struct rs_error *);

/* ---- message helpers (orm/types.c) ---- */

/* Sets error->message to `expected <info->expected>, got "<text>"` (text shortened and made
 * safe to embed in JSON) and returns -1. */
int orm_type_fail_text(const struct orm_type_info *info, const char *text, struct rs_error *error);
/* Sets `expected <info->expected>, got <a string / a number / ...>` and returns -1. */
int orm_type_fail_json(const struct orm_type_info *info, const json_t *value,
                       struct rs_error *error);
/* Copies text into buffer, at most about limit bytes, never splitting a UTF-8 sequence,
 * replacing invalid bytes with '?' and marking a cut with "...": safe inside a JSON message. */
void orm_text_for_message(const char *text, char *buffer, size_t size, size_t limit);

/* Number of code points when text is valid UTF-8, else -1. */
long orm_utf8_length(const char *text, size_t length);

/* ---- default and choice literals for DDL (orm/schema_ddl.c) ---- */

/* Strings quoted, numbers in their shortest exact spelling, booleans as true/false, arrays as
 * a quoted PostgreSQL array literal, anything else as quoted JSON text. */
void orm_literal_sql_plain(const struct orm_type_info *info, const json_t *value, struct sb *out);
/* The value's JSON text, quoted and cast to the row's type: '{"a":1}'::jsonb. */
void orm_literal_sql_json(const struct orm_type_info *info, const json_t *value, struct sb *out);
/* A base64 string as decode('...', 'base64'); anything else as orm_literal_sql_plain. */
void orm_literal_sql_base64(const struct orm_type_info *info, const json_t *value, struct sb *out);

/* ---- shared with the query builder ---- */

/* Appends a PostgreSQL array literal: {"a","b\"c",NULL}. Every element is double-quoted with
 * " and \ escaped, so any text is safe; NULL entries become NULL. */
void orm_array_literal_append(struct sb *out, const char *const *values, size_t count);

/* Appends text with \ % _ escaped by a backslash, so LIKE treats them literally. */
void orm_like_escape_append(struct sb *out, const char *text);

#endif
