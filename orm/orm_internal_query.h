/*
 * orm/orm_internal_query.h — private to orm/: the pieces the query builders share. A build
 * carries the statement being assembled and remembers the first identifier that failed
 * validation, so a hostile name can never reach a returned statement (the builder fails with
 * 400 instead).
 */
#ifndef RESTABLE_ORM_INTERNAL_QUERY_H
#define RESTABLE_ORM_INTERNAL_QUERY_H

#include "orm/orm.h"

struct orm_build {
    struct orm_sql *sql; /* params are bound here */
    const char *invalid; /* first identifier that failed orm_identifier_is_valid */
};

/* Appends "name" (quoted); an invalid name is recorded and fails the build at the end. */
void orm_build_identifier(struct orm_build *build, struct sb *out, const char *name);
/* Appends 'name' as an SQL string literal (a JSON key), validated like an identifier. */
void orm_build_key_literal(struct orm_build *build, struct sb *out, const char *name);
/* Appends t<alias>."column". */
void orm_build_column_ref(struct orm_build *build, struct sb *out, int alias,
                          const struct cfg_column *column);
/* Appends t0."column" as it is compared and ordered: json as jsonb (json has no ordering). */
void orm_build_comparable_ref(struct orm_build *build, struct sb *out,
                              const struct cfg_column *column);
/* Appends the column rendered for JSON output: bytea as one-line base64, else the column. */
void orm_build_output_value(struct orm_build *build, struct sb *out, int alias,
                            const struct cfg_column *column);

/* True when column is one of table's columns (by address). */
bool orm_table_has_column(const struct cfg_table *table, const struct cfg_column *column);

/* Appends " WHERE ..." for the filters on table (alias t0), binding their values; nothing when
 * there are none. -1 with a 400 error on a filter that does not fit its column. */
int orm_build_where(struct orm_build *build, const struct cfg_table *table,
                    const struct orm_filter *filters, size_t filter_count, struct sb *out,
                    struct rs_error *error);

/* Appends the ORDER BY list (without the keywords) for the select, ending with the primary
 * key as a tie-breaker. */
int orm_build_order(struct orm_build *build, const struct orm_select *select, struct sb *out,
                    struct rs_error *error);

/* Appends " LIMIT <n>" (a literal) / " OFFSET $n::bigint" as the select asks. */
void orm_build_limit_offset(struct orm_build *build, long limit, long offset, struct sb *out);

/* The SELECT list of a row (each `expr AS "key"`), the matching column list of the rendered
 * row (`s."key", ...`), and the LEFT JOINs they need. */
struct orm_projection {
    struct sb exprs;
    struct sb keys;
    struct sb joins;
};
int orm_build_projection(struct orm_build *build, const struct orm_select *select,
                         struct orm_projection *projection, struct rs_error *error);
void orm_projection_free(struct orm_projection *projection);

/* Appends `SELECT coalesce(json_agg(r ORDER BY s."#n"), '[]')::text FROM (SELECT <exprs>,
 * row_number() OVER (ORDER BY <order>) AS "#n" <from_where_order>) s CROSS JOIN LATERAL
 * (SELECT <keys>) r`: a JSON array of the rows, in order. */
void orm_build_rows_json(struct sb *out, const struct orm_projection *projection, const char *order,
                         const char *from_where_order);

/* Ends a build: -1 with 400 "invalid identifier" if one was seen (and out is freed). */
int orm_build_finish(struct orm_build *build, int result, struct rs_error *error);

#endif
