/*
 * orm/diff_internal.h — private to orm/diff_*.c and orm/plan.c: the steps that turn the live
 * schema into the declared one. Each difference found adds one or more steps; a step holds
 * its forwards SQL, the SQL undoing it, and (for the first step of a difference) the line
 * `migrations check` prints. Steps run phase by phase, so a migration never adds a foreign
 * key before the column type it needs, or drops a table a foreign key still points at.
 *
 * Names: the two drop phases run before the renames, so their statements (and the backwards
 * statements that recreate what they dropped, which run after the renames are undone) use
 * the live names. Every phase from the renames on uses the declared names.
 */
#ifndef RESTABLE_ORM_DIFF_INTERNAL_H
#define RESTABLE_ORM_DIFF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "orm/migrate_internal.h"

enum orm_phase {
    ORM_PHASE_DROP_FOREIGN_KEYS, /* first: nothing else can be dropped while one points at it */
    ORM_PHASE_DROP_CONSTRAINTS,  /* unique, check, primary key, index */
    ORM_PHASE_RENAME_TABLES,
    ORM_PHASE_RENAME_COLUMNS,
    ORM_PHASE_CREATE_TABLES,
    ORM_PHASE_ADD_COLUMNS,
    ORM_PHASE_ALTER_COLUMNS, /* type, default, nullability */
    ORM_PHASE_DROP_COLUMNS,
    ORM_PHASE_ADD_CONSTRAINTS,
    ORM_PHASE_ADD_FOREIGN_KEYS, /* last but one: every column has its final type */
    ORM_PHASE_DROP_TABLES,      /* last: their foreign keys are gone by now */
    ORM_PHASE_COUNT,
};

struct orm_step {
    enum orm_phase phase;
    char *description; /* the drift line without "drift: ", or NULL */
    char *forwards;    /* complete statements, each ending ";\n" (may be empty) */
    char *backwards;
    bool is_destructive; /* loses data: written commented out unless allowed */
};

struct orm_plan {
    struct orm_step *steps; /* in the order found; orm_plan_render sorts by phase */
    size_t count;
};

/* Appends a step; copies every text. description may be NULL. */
void orm_plan_add(struct orm_plan *plan, enum orm_phase phase, bool is_destructive,
                  const char *description, const char *forwards, const char *backwards);

void orm_plan_free(struct orm_plan *plan);

/* Writes the forwards and backwards SQL of the plan. Destructive steps are written commented
 * out, with a warning, unless allow_destructive; returns how many differences were held
 * back that way. */
size_t orm_plan_render(const struct orm_plan *plan, bool allow_destructive, struct sb *forwards,
                       struct sb *backwards);

/* Writes one "drift: ..." line per difference to out (may be NULL); returns how many
 * (orm/migrate.c, with the rest of the commands' output). */
size_t orm_plan_describe(const struct orm_plan *plan, FILE *out);

/* ---- finding the steps -------------------------------------------------------------------- */

/* Every step that turns live into declared (orm/diff_tables.c). probe holds the declared
 * defaults as PostgreSQL prints them (orm/probe.c). */
void orm_diff_plan(const struct orm_declared *declared, const struct orm_live_schema *live,
                   const struct orm_probe *probe, struct orm_plan *plan);

/* Steps for one declared table that exists in the database (as live, maybe under its old
 * name): renamed, added, dropped and changed columns, and their constraints and indexes. */
void orm_diff_table(struct orm_plan *plan, const struct cfg_table *table,
                    const struct orm_probe_table *probe, const struct orm_live_table *live);

/* Steps for the unique constraint, index, foreign key and choices check of a declared column
 * that exists (as live_column, maybe under its old name) in live. */
void orm_diff_column_constraints(struct orm_plan *plan, const struct cfg_table *table,
                                 const struct cfg_column *column, const struct orm_live_table *live,
                                 const char *live_column);

/* Renames a kept constraint (or index) from restable's name for the live table and column to
 * its name for the declared ones, when it has the former. */
void orm_diff_rename_kept(struct orm_plan *plan, const struct cfg_table *table,
                          const char *live_table, const char *live_column, const char *column,
                          const char *live_name, const char *suffix, bool is_index);

/* ---- the live schema as DDL (orm/diff_live.c), for backwards SQL ---------------------------- */

/* "name" type [NOT NULL] [DEFAULT expr]: a sequence default becomes serial/bigserial, as the
 * sequence goes with the table or column being dropped. */
void orm_live_column_sql(const struct orm_live_column *column, struct sb *out);
/* CREATE TABLE with columns and every constraint but foreign keys, then its indexes. */
void orm_live_create_table(const struct orm_live_table *table, struct sb *out);
/* ALTER TABLE "t" ADD CONSTRAINT "name" definition;\n */
void orm_live_add_constraint(const char *table, const struct orm_live_constraint *constraint,
                             struct sb *out);
/* ALTER TABLE "t" DROP CONSTRAINT "name";\n */
void orm_live_drop_constraint(const char *table, const char *name, struct sb *out);
/* "integer not null default 0": how check describes a column. */
void orm_live_describe_column(const struct orm_live_column *column, struct sb *out);

#endif
