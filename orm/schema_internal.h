/*
 * orm/schema_internal.h — private to orm/: the declared schema (the config's tables plus the
 * tables restable itself needs, in foreign-key dependency order) and the DDL pieces that
 * `schema sql`, `migrations new --auto` and `migrations check` share. Constraint and index
 * names are fixed here, so 409 messages and drift checks can rely on them:
 *   "<table>_pkey", "<table>_<column>_key", "<table>_<column>_fkey", "<table>_<column>_idx",
 *   "<table>_<column>_search" (the GIN index of a searchable column).
 */
#ifndef RESTABLE_ORM_SCHEMA_INTERNAL_H
#define RESTABLE_ORM_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "orm/orm.h"

/* The login users table, part of the declared schema when auth.login is enabled. */
#define ORM_USER_TABLE "restable_user"
#define ORM_USER_COLUMN_COUNT 5

struct orm_declared {
    /* Every declared table, ordered so that a table comes after the tables its foreign keys
     * reference (except inside a cycle; see orm_schema_create_tables). Points into the config
     * or into user_table below. */
    const struct cfg_table **tables;
    size_t table_count;
    struct cfg_table user_table;
    struct cfg_column user_columns[ORM_USER_COLUMN_COUNT];
};

/* Builds the declared schema; the config must outlive it. Allocation failure aborts. */
void orm_declared_init(struct orm_declared *declared, const struct cfg_config *config);
void orm_declared_free(struct orm_declared *declared);
/* Position of the table named name in declared->tables, or -1. */
long orm_declared_find(const struct orm_declared *declared, const char *name);

/* Opens a CREATE TABLE: CREATE TABLE "name" (. Each item of its list (column, constraint)
 * then starts with orm_schema_table_item, is_first set to true before the first. */
void orm_schema_create_table_open(struct sb *out, const char *name);
/* Starts an item of a CREATE TABLE's list on a line of its own, after a comma unless it is
 * the first. */
void orm_schema_table_item(struct sb *out, bool *is_first);

/* Appends a SQL string literal: 'text' with embedded quotes doubled. */
void orm_schema_quote_literal(struct sb *out, const char *text);

/* Appends a constraint or index name "<table>_<column>_<suffix>" (column may be NULL),
 * quoted, shortened as PostgreSQL shortens the names it makes up so it fits in 63 bytes. */
void orm_schema_object_name(struct sb *out, const char *table, const char *column,
                            const char *suffix);

/* The same name unquoted, as pg_catalog holds it. */
void orm_schema_object_name_raw(struct sb *out, const char *table, const char *column,
                                const char *suffix);

/* Appends the CHECK expression that keeps a column with choices to them:
 * CHECK ("genre" IN ('drama', 'comedy')), or CHECK ("tags" <@ ARRAY['a', 'b']::text[]) for
 * an array. Named "<table>_<column>_check". */
void orm_schema_choices_check(const struct cfg_column *column, struct sb *out);

/* Is expression one of the spellings of "the current time" (now(), CURRENT_TIMESTAMP,
 * LOCALTIMESTAMP, CURRENT_DATE...)? For a column of one type they all mean the config's
 * "now", so a database made by hand with CURRENT_TIMESTAMP shows no drift. */
bool orm_schema_is_now(const char *expression);

/* Appends the column's DEFAULT expression ("0", "'it''s'", "now()", "'{}'"...). Returns false
 * (appending nothing) when the column has no default in the database: none declared, a JSON
 * null, or a serial column whose sequence provides it. */
bool orm_schema_default_sql(const struct cfg_column *column, struct sb *out);

/* Appends a column definition: "name" type [NOT NULL] [DEFAULT expr]. */
void orm_schema_column_sql(const struct cfg_column *column, struct sb *out);

/* Rewrites a SQL type as PostgreSQL's format_type() spells it, so a declared type and a live
 * one compare as strings: "varchar(20)[]" → "character varying(20)[]", "serial" → "integer",
 * "timestamptz" → "timestamp with time zone", "numeric(5)" → "numeric(5,0)". */
void orm_schema_normalize_type(const char *type, struct sb *out);

/* True for a column that gets its own index: "index": true, and every foreign key (PostgreSQL
 * does not index the referencing side), unless a primary key or unique constraint already
 * provides one. */
bool orm_schema_column_is_indexed(const struct cfg_column *column);

/* Pieces of DDL for one column of a table (orm/schema.c):
 *   orm_schema_unique       CONSTRAINT "t_c_key" UNIQUE ("c")
 *   orm_schema_choices      CONSTRAINT "t_c_check" CHECK (...)
 *   orm_schema_foreign_key  CONSTRAINT "t_c_fkey" FOREIGN KEY ("c") REFERENCES ... ON UPDATE ...
 *   orm_schema_index        CREATE INDEX "t_c_idx" ON "t" ("c");\n
 *   orm_schema_alter_table  ALTER TABLE "t" (and a space) */
void orm_schema_unique(const struct cfg_table *table, const struct cfg_column *column,
                       struct sb *out);
void orm_schema_choices(const struct cfg_table *table, const struct cfg_column *column,
                        struct sb *out);
void orm_schema_foreign_key(const struct cfg_table *table, const struct cfg_column *column,
                            struct sb *out);
void orm_schema_index(const struct cfg_table *table, const struct cfg_column *column,
                      struct sb *out);
void orm_schema_alter_table(const struct cfg_table *table, struct sb *out);
/* CREATE INDEX "t_c_<suffix>" ON "t" [USING method] (key);\n (method may be NULL). */
void orm_schema_create_index(const struct cfg_table *table, const struct cfg_column *column,
                             const char *suffix, const char *method, const char *key,
                             struct sb *out);

/* Full-text search (orm/search.c): the expression the GIN index of a "search": true column and
 * the col__match=search filter share, to_tsvector('<language>'::regconfig, <column>).
 *   orm_search_language      'english'::regconfig
 *   orm_search_vector_open   to_tsvector('english'::regconfig,   (the caller adds column and ")")
 *   orm_schema_search_index  CREATE INDEX "t_c_search" ON "t" USING gin (to_tsvector(...));\n */
void orm_search_language(struct sb *out, const char *language);
void orm_search_vector_open(struct sb *out, const char *language);
void orm_schema_search_index(const struct cfg_table *table, const struct cfg_column *column,
                             struct sb *out);
/* Reads an index's key expression as pg_get_indexdef() prints it back into the column and the
 * language (both allocated, caller frees); false when it is not that expression. */
bool orm_search_expression_parse(const char *expression, char **column, char **language);

/* Appends the statements creating the tables for which is_missing[i] is true (NULL: all of
 * them), each with its indexes, in declared order. A foreign key to a table that exists
 * already, comes earlier or is the table itself is declared inline; one to a missing table
 * that comes later (a cycle) is added by ALTER TABLE once every table exists. backwards (may
 * be NULL) receives the statements undoing all that, in reverse. Returns the number of
 * tables created. */
size_t orm_schema_create_tables(const struct orm_declared *declared, const bool *is_missing,
                                struct sb *forwards, struct sb *backwards);

/* Appends the statements adding one column to an existing table, with its unique constraint,
 * foreign key and index; backwards (may be NULL) gets the DROP COLUMN, which drops those too. */
void orm_schema_add_column(const struct cfg_table *table, const struct cfg_column *column,
                           struct sb *forwards, struct sb *backwards);

#endif
