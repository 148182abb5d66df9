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

/* A primary key, unique, foreign key or check constraint. */
struct orm_live_constraint {
    char *name;
    char kind;        /* 'p', 'u', 'f' or 'c', as pg_constraint.contype */
    char *column;     /* its first column, or NULL (a table-wide check) */
    int column_count; /* how many columns it spans; only 1-column ones are ever compared */
    char *definition; /* pg_get_constraintdef(): "UNIQUE (title)", "CHECK (...)"... */
    char *ref_table;  /* foreign keys: the referenced table and column, else NULL */
    char *ref_column;
    char on_delete, on_update; /* foreign keys: pg_constraint's 'a' 'r' 'c' 'n' 'd' */
    json_t *choices;           /* a check that keeps the column to a list (= ANY (ARRAY[...]) or
                                * <@ ARRAY[...]): the list, evaluated by PostgreSQL; else NULL */
};

/* An index that no constraint owns (those go and come with their constraint). */
struct orm_live_index {
    char *name;
    char *column;   /* its first column, or NULL for an expression index */
    bool is_simple; /* one plain column, btree, no predicate: what "index": true makes */
    bool is_unique;
    char *definition; /* pg_get_indexdef(): the CREATE INDEX statement */
    /* a full-text search index (GIN on to_tsvector('<language>'::regconfig, <column>), no
     * predicate: what "search": true makes): its column and language; else both NULL */
    char *search_column;
    char *search_language;
};

struct orm_live_table {
    char *name;
    struct orm_live_column *columns; /* attnum order */
    size_t column_count;
    struct orm_live_constraint *constraints; /* name order */
    size_t constraint_count;
    struct orm_live_index *indexes; /* name order */
    size_t index_count;
};

/* Ordinary and partitioned tables of current_schema() (normally "public"), except
 * restable_migrations, with their columns, constraints and indexes. */
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
/* Evaluates a SQL expression taken from the catalog (a default, a list of choices) as JSON,
 * in a read-only transaction; bytea as base64 text. NULL when it cannot. */
json_t *orm_live_evaluate(PGconn *conn, const char *expression, bool is_bytea);

/* The first 1-column constraint of kind on column, or NULL. */
const struct orm_live_constraint *orm_live_constraint_find(const struct orm_live_table *table,
                                                           char kind, const char *column);
/* The first simple index on column (unique or not, as asked), or NULL. */
const struct orm_live_index *orm_live_index_find(const struct orm_live_table *table,
                                                 const char *column, bool is_unique);

/* The first full-text search index on column, or NULL. */
const struct orm_live_index *orm_live_search_index_find(const struct orm_live_table *table,
                                                        const char *column);

/* ---- the declared defaults as PostgreSQL prints them (orm/probe.c) ------------------------- */

struct orm_probe_column {
    char *default_sql; /* pg_get_expr() of the declared default, or NULL for none */
};

struct orm_probe {
    struct orm_probe_table {
        struct orm_probe_column *columns; /* as declared->tables[t]->columns */
        size_t column_count;
    } * tables; /* as declared->tables */
    size_t table_count;
};

/* Creates the declared tables as temporary tables in a transaction it rolls back, and reads
 * their defaults. Needs the connection idle (not in a transaction). */
int orm_probe_read(PGconn *conn, const struct orm_declared *declared, struct orm_probe *probe,
                   struct rs_error *error);
void orm_probe_free(struct orm_probe *probe);

/* ---- the diff (orm/migrate_diff.c) --------------------------------------------------------- */

/* Progress for the CLI on out (may be NULL), flushed so it keeps order with stderr
 * (orm/migrate.c). */
void orm_migrate_say(FILE *out, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The diff between the declared and the live schema is a plan of steps: orm/diff_internal.h. */

/* ---- migration files (orm/migrate_files.c) ------------------------------------------------- */

struct orm_migration {
    char *id;        /* "20240102030405" ("...05b" for a second one in that second) */
    char *name;      /* from the file name, "" when it has none */
    char *file_name; /* "20240102030405_initial.sql" */
    char *path;      /* directory + file name */
    char *forwards;  /* the text between the section markers */
    char *backwards;
    char checksum[65]; /* SHA-256 of the whole file, hex: an edit after applying shows */
    int forwards_line; /* file line of the first line of each section (1-based) */
    int backwards_line;
};

struct orm_migration_list {
    struct orm_migration *items; /* id order */
    size_t count;
};

/* Reads every migration file of directory (files named "<digit...>_<name>.sql"). A missing
 * directory is an empty list. -1 with error (RS_FAILED) naming the file on a malformed one. */
int orm_migration_list_read(const char *directory, struct orm_migration_list *list,
                            struct rs_error *error);
void orm_migration_list_free(struct orm_migration_list *list);

/* Parses one migration file: its name ("<id>_<name>.sql") and its text (length bytes, as read
 * from disk), filling every field but path. -1 with error naming the file when either is
 * malformed; in both cases free what it filled with orm_migration_clear. */
int orm_migration_parse(const char *file_name, const char *text, size_t length,
                        struct orm_migration *migration, struct rs_error *error);
void orm_migration_clear(struct orm_migration *migration);
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
