/*
 * orm/diff_tables.c — the table level of the diff: declared tables that are missing (created,
 * in foreign-key order), renamed ("renamed_from"), present (compared column by column in
 * orm/diff_columns.c), and live tables nobody declares any more (dropped: destructive).
 */
#include <stdlib.h>
#include <string.h>

#include "orm/diff_internal.h"

static void add_rename(struct orm_plan *plan, const struct cfg_table *table, const char *old_name)
{
    struct sb description = {0}, forwards = {0}, backwards = {0};
    sb_appendf(&description, "%s: declared as renamed from %s, still named %s in the database",
               table->name, old_name, old_name);
    sb_append(&forwards, "ALTER TABLE ");
    orm_quote_identifier(&forwards, old_name);
    sb_append(&forwards, " RENAME TO ");
    orm_quote_identifier(&forwards, table->name);
    sb_append(&forwards, ";\n");
    sb_append(&backwards, "ALTER TABLE ");
    orm_quote_identifier(&backwards, table->name);
    sb_append(&backwards, " RENAME TO ");
    orm_quote_identifier(&backwards, old_name);
    sb_append(&backwards, ";\n");
    orm_plan_add(plan, ORM_PHASE_RENAME_TABLES, false, sb_text(&description), sb_text(&forwards),
                 sb_text(&backwards));
    sb_free(&description);
    sb_free(&forwards);
    sb_free(&backwards);
}

static void add_creates(struct orm_plan *plan, const struct orm_declared *declared,
                        const bool *is_missing)
{
    for (size_t i = 0; i < declared->table_count; i++) {
        if (!is_missing[i])
            continue;
        struct sb description = {0};
        sb_appendf(&description, "%s: declared, missing from the database",
                   declared->tables[i]->name);
        orm_plan_add(plan, ORM_PHASE_CREATE_TABLES, false, sb_text(&description), "", "");
        sb_free(&description);
    }
    struct sb forwards = {0}, backwards = {0};
    if (orm_schema_create_tables(declared, is_missing, &forwards, &backwards) > 0)
        orm_plan_add(plan, ORM_PHASE_CREATE_TABLES, false, NULL, sb_text(&forwards),
                     sb_text(&backwards));
    sb_free(&forwards);
    sb_free(&backwards);
}

/* A live table no declaration claims: its foreign keys go first (another dropped table may
 * be what they point at), the table last. Backwards recreates it empty. */
static void add_drop(struct orm_plan *plan, const struct orm_live_table *table)
{
    for (size_t k = 0; k < table->constraint_count; k++) {
        const struct orm_live_constraint *constraint = &table->constraints[k];
        if (constraint->kind != 'f')
            continue;
        struct sb forwards = {0}, backwards = {0};
        orm_live_drop_constraint(table->name, constraint->name, &forwards);
        orm_live_add_constraint(table->name, constraint, &backwards);
        orm_plan_add(plan, ORM_PHASE_DROP_FOREIGN_KEYS, true, NULL, sb_text(&forwards),
                     sb_text(&backwards));
        sb_free(&forwards);
        sb_free(&backwards);
    }
    struct sb description = {0}, forwards = {0}, backwards = {0};
    sb_appendf(&description, "%s: in the database, not declared (drop table)", table->name);
    sb_append(&forwards, "DROP TABLE ");
    orm_quote_identifier(&forwards, table->name);
    sb_append(&forwards, ";\n");
    sb_append(&backwards, "-- recreated empty: the rows dropped with it are not restored\n");
    orm_live_create_table(table, &backwards);
    orm_plan_add(plan, ORM_PHASE_DROP_TABLES, true, sb_text(&description), sb_text(&forwards),
                 sb_text(&backwards));
    sb_free(&description);
    sb_free(&forwards);
    sb_free(&backwards);
}

void orm_diff_plan(const struct orm_declared *declared, const struct orm_live_schema *live,
                   const struct orm_probe *probe, struct orm_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    bool *is_missing = xcalloc(declared->table_count, sizeof *is_missing);
    bool *is_claimed = xcalloc(live->table_count, sizeof *is_claimed);
    const struct orm_live_table **matches = xcalloc(declared->table_count, sizeof *matches);
    bool has_missing = false;
    for (size_t i = 0; i < declared->table_count; i++) {
        const struct cfg_table *table = declared->tables[i];
        const struct orm_live_table *match = orm_live_table_find(live, table->name);
        if (!match && table->renamed_from) {
            match = orm_live_table_find(live, table->renamed_from);
            if (match)
                add_rename(plan, table, table->renamed_from);
        }
        matches[i] = match;
        is_missing[i] = match == NULL;
        has_missing |= match == NULL;
        if (match)
            is_claimed[match - live->tables] = true;
    }
    if (has_missing)
        add_creates(plan, declared, is_missing);
    for (size_t i = 0; i < declared->table_count; i++)
        if (matches[i])
            orm_diff_table(plan, declared->tables[i], &probe->tables[i], matches[i]);
    /* restable's own tables (restable_user while login is off) are never dropped */
    for (size_t t = 0; t < live->table_count; t++)
        if (!is_claimed[t] && strncmp(live->tables[t].name, "restable_", 9) != 0)
            add_drop(plan, &live->tables[t]);
    free(matches);
    free(is_claimed);
    free(is_missing);
}
