/*
 * orm/migrate_internal.h — private to orm/: the live schema read from pg_catalog, the diff
 * between it and the declared schema, and migration files on disk. orm/migrate.c drives them.
 */
#ifndef RESTABLE_ORM_MIGRATE_INTERNAL_H
#define RESTABLE_ORM_MIGRATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "orm/orm.h"
#include "orm/schema_internal.h"

/* ---- the live schema (orm/introspect.c) ---------------------------------------------------- */

struct orm_live_column {
    char *name;
    char *type;        /* format_type(): "character varying(100)", "integer[]"... */
    char *default_sql; /* pg_get_expr() of the default, or NULL */
    bool is_nullable;
};

struct orm_live_table {
    char *name;
    struct orm_live_column *columns; /* attnum order */
    size_t column_count;
};

/* Ordinary and partitioned tables of current_schema() (normally "public"). Later diffs
 * (constraints, indexes) extend these structs. */
struct orm_live_schema {
    struct orm_live_table *tables; /* name order */
    size_t table_count;
};

int orm_live_schema_read(PGconn *conn, struct orm_live_schema *schema, struct rs_error *error);
void orm_live_schema_free(struct orm_live_schema *schema);
const struct orm_live_table *orm_live_table_find(const struct orm_live_schema *schema,
                                                 const char *name);
const struct orm_live_column *orm_live_column_find(const struct orm_live_table *table,
                                                   const char *name);

/* ---- the diff (orm/migrate_diff.c) --------------------------------------------------------- */

/* Appends the SQL turning the live schema into the declared one, and the SQL undoing it.
 * Today: missing tables (with their constraints and indexes) and missing columns. Returns
 * the number of changes; 0 means the database already has everything declared. */
/* Progress for the CLI on out (may be NULL), flushed so it keeps order with stderr
 * (orm/migrate.c). */
void orm_migrate_say(FILE *out, const char *format, ...) __attribute__((format(printf, 2, 3)));

size_t orm_diff_sql(const struct orm_declared *declared, const struct orm_live_schema *live,
                    struct sb *forwards, struct sb *backwards);

/* Writes one "drift: ..." line to out (may be NULL) per difference between the declared and
 * the live schema: missing tables and columns, undeclared columns of declared tables, type
 * and nullability mismatches. Returns how many. */
size_t orm_diff_drift(const struct orm_declared *declared, const struct orm_live_schema *live,
                      FILE *out);

/* ---- migration files (orm/migrate_files.c) ------------------------------------------------- */

struct orm_migration {
    char *id;        /* "20240102030405" ("...05b" for a second one in that second) */
    char *name;      /* from the file name, "" when it has none */
    char *file_name; /* "20240102030405_initial.sql" */
    char *path;      /* directory + file name */
    char *forwards;  /* the text between the section markers */
    char *backwards;
    int forwards_line; /* file line of the first line of each section (1-based) */
    int backwards_line;
};

struct orm_migration_list {
    struct orm_migration *items; /* id order */
    size_t count;
};

/* Reads every migration file of directory (files named "<digit...>_<name>.sql"). A missing
 * directory is an empty list. -1 with error (status 1) naming the file on a malformed one. */
int orm_migration_list_read(const char *directory, struct orm_migration_list *list,
                            struct rs_error *error);
void orm_migration_list_free(struct orm_migration_list *list);
const struct orm_migration *orm_migration_list_find(const struct orm_migration_list *list,
                                                    const char *id);

/* Writes a new migration file (creating directory and its parents as needed) with an id from
 * the current UTC time; existing lists the files already there. Returns its path (caller
 * frees) or NULL with error. */
char *orm_migration_write(const char *directory, const struct orm_migration_list *existing,
                          const char *name, const char *forwards, const char *backwards,
                          struct rs_error *error);

/* Lowercases name and turns every run of characters outside [a-z0-9] into one '_', trimmed
 * and cut at 60 characters; an empty result gives fallback. Writes into out[64]. */
void orm_migration_name_clean(const char *name, const char *fallback, char *out);

#endif
