/*
 * orm/diff_constraints.c — the constraints of one column that exists: unique, index, the
 * full-text search index (and its language), foreign key (target and both actions) and the
 * choices check. Only one-column constraints, plain one-column btree indexes and search
 * indexes are compared; anything wider was made by hand and is left alone. A live constraint
 * is dropped under its live name; a new one gets restable's name.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/diff_internal.h"

struct column_names {
    const struct cfg_table *table;
    const struct cfg_column *column;
    const struct orm_live_table *live;
    const char *live_column;
};

static void add_pair(struct orm_plan *plan, enum orm_phase phase, const char *description,
                     struct sb *forwards, struct sb *backwards)
{
    orm_plan_add(plan, phase, false, description, sb_text(forwards), sb_text(backwards));
    sb_free(forwards);
    sb_free(backwards);
}

static void drop_live_index(struct orm_plan *plan, const struct orm_live_index *index,
                            const char *description)
{
    struct sb forwards = {0}, backwards = {0};
    sb_append(&forwards, "DROP INDEX ");
    orm_quote_identifier(&forwards, index->name);
    sb_append(&forwards, ";\n");
    sb_append(&backwards, index->definition);
    sb_append(&backwards, ";\n");
    add_pair(plan, ORM_PHASE_DROP_CONSTRAINTS, description, &forwards, &backwards);
}

static void drop_live_constraint(struct orm_plan *plan, enum orm_phase phase,
                                 const struct orm_live_table *live,
                                 const struct orm_live_constraint *constraint,
                                 const char *description)
{
    struct sb forwards = {0}, backwards = {0};
    orm_live_drop_constraint(live->name, constraint->name, &forwards);
    orm_live_add_constraint(live->name, constraint, &backwards);
    add_pair(plan, phase, description, &forwards, &backwards);
}

/* ALTER TABLE "t" ADD <constraint>; backwards drops it by restable's name. */
static void add_declared_constraint(struct orm_plan *plan, enum orm_phase phase,
                                    const struct column_names *names, const char *suffix,
                                    void (*append)(const struct cfg_table *,
                                                   const struct cfg_column *, struct sb *),
                                    const char *description)
{
    struct sb forwards = {0}, backwards = {0};
    orm_schema_alter_table(names->table, &forwards);
    sb_append(&forwards, "ADD ");
    append(names->table, names->column, &forwards);
    sb_append(&forwards, ";\n");
    orm_schema_alter_table(names->table, &backwards);
    sb_append(&backwards, "DROP CONSTRAINT ");
    orm_schema_object_name(&backwards, names->table->name, names->column->name, suffix);
    sb_append(&backwards, ";\n");
    add_pair(plan, phase, description, &forwards, &backwards);
}

/* CREATE INDEX (append writes the statement); backwards drops it by restable's name. */
static void
add_declared_index(struct orm_plan *plan, const struct column_names *names, const char *suffix,
                   void (*append)(const struct cfg_table *, const struct cfg_column *, struct sb *),
                   const char *description)
{
    struct sb forwards = {0}, backwards = {0};
    append(names->table, names->column, &forwards);
    sb_append(&backwards, "DROP INDEX ");
    orm_schema_object_name(&backwards, names->table->name, names->column->name, suffix);
    sb_append(&backwards, ";\n");
    add_pair(plan, ORM_PHASE_ADD_CONSTRAINTS, description, &forwards, &backwards);
}

/* A constraint or index kept through a rename of its table or column: when it has
 * restable's name for the old names, it gets restable's name for the new ones, so error
 * messages and later diffs read right. Runs with the renames, under the declared table name. */
void orm_diff_rename_kept(struct orm_plan *plan, const struct cfg_table *table,
                          const char *live_table, const char *live_column, const char *column,
                          const char *live_name, const char *suffix, bool is_index)
{
    struct sb old_name = {0}, new_name = {0};
    orm_schema_object_name_raw(&old_name, live_table, live_column, suffix);
    orm_schema_object_name_raw(&new_name, table->name, column, suffix);
    if (strcmp(live_name, sb_text(&old_name)) == 0 &&
        strcmp(sb_text(&old_name), sb_text(&new_name)) != 0) {
        struct sb forwards = {0}, backwards = {0};
        const char *pairs[2][2] = {{sb_text(&old_name), sb_text(&new_name)},
                                   {sb_text(&new_name), sb_text(&old_name)}};
        struct sb *outs[2] = {&forwards, &backwards};
        for (int i = 0; i < 2; i++) {
            if (is_index) {
                sb_append(outs[i], "ALTER INDEX ");
            } else {
                orm_schema_alter_table(table, outs[i]);
                sb_append(outs[i], "RENAME CONSTRAINT ");
            }
            orm_quote_identifier(outs[i], pairs[i][0]);
            sb_append(outs[i], is_index ? " RENAME TO " : " TO ");
            orm_quote_identifier(outs[i], pairs[i][1]);
            sb_append(outs[i], ";\n");
        }
        add_pair(plan, ORM_PHASE_RENAME_COLUMNS, NULL, &forwards, &backwards);
    }
    sb_free(&old_name);
    sb_free(&new_name);
}

static void rename_kept(struct orm_plan *plan, const struct column_names *names,
                        const char *live_name, const char *suffix, bool is_index)
{
    orm_diff_rename_kept(plan, names->table, names->live->name, names->live_column,
                         names->column->name, live_name, suffix, is_index);
}

static void diff_unique(struct orm_plan *plan, const struct column_names *names)
{
    bool is_wanted = names->column->is_unique && !names->column->is_primary_key;
    const struct orm_live_constraint *constraint =
        orm_live_constraint_find(names->live, 'u', names->live_column);
    const struct orm_live_index *index =
        constraint ? NULL : orm_live_index_find(names->live, names->live_column, true);
    if (is_wanted && constraint)
        rename_kept(plan, names, constraint->name, "key", false);
    else if (is_wanted && index)
        rename_kept(plan, names, index->name, "key", true);
    if (is_wanted == (constraint || index))
        return;
    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared %s, database %s", names->table->name,
               names->column->name, is_wanted ? "unique" : "not unique",
               is_wanted ? "not unique" : "unique");
    if (is_wanted)
        add_declared_constraint(plan, ORM_PHASE_ADD_CONSTRAINTS, names, "key", orm_schema_unique,
                                sb_text(&description));
    else if (constraint)
        drop_live_constraint(plan, ORM_PHASE_DROP_CONSTRAINTS, names->live, constraint,
                             sb_text(&description));
    else
        drop_live_index(plan, index, sb_text(&description));
    sb_free(&description);
}

static void diff_index(struct orm_plan *plan, const struct column_names *names)
{
    bool is_wanted = orm_schema_column_is_indexed(names->column);
    const struct orm_live_index *index =
        orm_live_index_find(names->live, names->live_column, false);
    if (is_wanted && index)
        rename_kept(plan, names, index->name, "idx", true);
    if (is_wanted == (index != NULL))
        return;
    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared %s, database %s", names->table->name,
               names->column->name, is_wanted ? "indexed" : "not indexed",
               is_wanted ? "not indexed" : "indexed");
    if (is_wanted)
        add_declared_index(plan, names, "idx", orm_schema_index, sb_text(&description));
    else
        drop_live_index(plan, index, sb_text(&description));
    sb_free(&description);
}

static void describe_search(struct sb *out, const char *language)
{
    if (language)
        sb_appendf(out, "search (%s)", language);
    else
        sb_append(out, "no search");
}

/* The GIN index of a searchable column, in the table's search_language: another language is
 * another index (dropped and made again: no data is lost). */
static void diff_search(struct orm_plan *plan, const struct column_names *names)
{
    const char *wanted = names->column->is_searchable ? names->table->search_language : NULL;
    if (names->column->is_searchable && !wanted)
        wanted = "simple";
    const struct orm_live_index *index =
        orm_live_search_index_find(names->live, names->live_column);
    const char *live = index ? index->search_language : NULL;
    if (wanted && live && strcmp(wanted, live) == 0) {
        rename_kept(plan, names, index->name, "search", true);
        return;
    }
    if (!wanted && !live)
        return;
    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared ", names->table->name, names->column->name);
    describe_search(&description, wanted);
    sb_append(&description, ", database ");
    describe_search(&description, live);
    const char *described = sb_text(&description);
    if (index) {
        drop_live_index(plan, index, described);
        described = NULL;
    }
    if (wanted)
        add_declared_index(plan, names, "search", orm_schema_search_index, described);
    sb_free(&description);
}

static char action_code(enum cfg_fk_action action)
{
    switch (action) {
    case CFG_FK_RESTRICT:
        return 'r';
    case CFG_FK_CASCADE:
        return 'c';
    case CFG_FK_SET_NULL:
        return 'n';
    case CFG_FK_SET_DEFAULT:
        return 'd';
    case CFG_FK_NO_ACTION:
        break;
    }
    return 'a';
}

static const char *action_words(char code)
{
    switch (code) {
    case 'r':
        return "restrict";
    case 'c':
        return "cascade";
    case 'n':
        return "set null";
    case 'd':
        return "set default";
    default:
        return "no action";
    }
}

static bool foreign_key_matches(const struct cfg_column *column,
                                const struct orm_live_constraint *live)
{
    const struct cfg_table *target = column->referenced_table;
    if (!target || !live->ref_table || !live->ref_column)
        return false;
    /* a referenced table renamed in this same migration: PostgreSQL follows the rename */
    bool is_target = strcmp(live->ref_table, target->name) == 0 ||
                     (target->renamed_from && strcmp(live->ref_table, target->renamed_from) == 0);
    return is_target && strcmp(live->ref_column, cfg_primary_key(target)->name) == 0 &&
           live->on_delete == action_code(column->on_delete) &&
           live->on_update == action_code(column->on_update);
}

static void diff_foreign_key(struct orm_plan *plan, const struct column_names *names)
{
    const struct cfg_column *column = names->column;
    bool is_wanted = column->type == CFG_TYPE_FOREIGN_KEY && column->referenced_table;
    const struct orm_live_constraint *live =
        orm_live_constraint_find(names->live, 'f', names->live_column);
    if (!is_wanted && !live)
        return;
    if (is_wanted && live && foreign_key_matches(column, live)) {
        rename_kept(plan, names, live->name, "fkey", false);
        return;
    }
    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared ", names->table->name, column->name);
    if (is_wanted)
        sb_appendf(&description, "foreign key to %s (on delete %s, on update %s)",
                   column->referenced_table->name, action_words(action_code(column->on_delete)),
                   action_words(action_code(column->on_update)));
    else
        sb_append(&description, "no foreign key");
    if (live)
        sb_appendf(&description, ", database foreign key to %s (on delete %s, on update %s)",
                   live->ref_table ? live->ref_table : "?", action_words(live->on_delete),
                   action_words(live->on_update));
    else
        sb_append(&description, ", database no foreign key");
    const char *described = sb_text(&description);
    if (live) {
        drop_live_constraint(plan, ORM_PHASE_DROP_FOREIGN_KEYS, names->live, live, described);
        described = NULL;
    }
    if (is_wanted)
        add_declared_constraint(plan, ORM_PHASE_ADD_FOREIGN_KEYS, names, "fkey",
                                orm_schema_foreign_key, described);
    sb_free(&description);
}

/* The live choices check: restable's name, and a list (read by orm/introspect.c). */
static const struct orm_live_constraint *live_choices(const struct column_names *names)
{
    struct sb name = {0};
    orm_schema_object_name_raw(&name, names->live->name, names->live_column, "check");
    const struct orm_live_constraint *found = NULL;
    for (size_t k = 0; k < names->live->constraint_count && !found; k++) {
        const struct orm_live_constraint *constraint = &names->live->constraints[k];
        if (constraint->choices && strcmp(constraint->name, sb_text(&name)) == 0)
            found = constraint;
    }
    sb_free(&name);
    return found;
}

static void append_choices_text(struct sb *out, const json_t *choices)
{
    char *text = choices ? json_dumps(choices, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text)
        sb_appendf(out, "choices %s", text);
    else
        sb_append(out, "no choices");
    free(text);
}

/* Compared by value: the same list may be printed by PostgreSQL in more than one way. */
static void diff_choices(struct orm_plan *plan, const struct column_names *names)
{
    const struct orm_live_constraint *live = live_choices(names);
    const json_t *wanted = names->column->choices;
    if (!wanted && !live)
        return;
    if (wanted && live && json_equal((json_t *)wanted, live->choices)) {
        rename_kept(plan, names, live->name, "check", false);
        return;
    }
    struct sb description = {0};
    sb_appendf(&description, "%s.%s: declared ", names->table->name, names->column->name);
    append_choices_text(&description, wanted);
    sb_append(&description, ", database ");
    append_choices_text(&description, live ? live->choices : NULL);
    const char *described = sb_text(&description);
    if (live) {
        drop_live_constraint(plan, ORM_PHASE_DROP_CONSTRAINTS, names->live, live, described);
        described = NULL;
    }
    if (wanted)
        add_declared_constraint(plan, ORM_PHASE_ADD_CONSTRAINTS, names, "check", orm_schema_choices,
                                described);
    sb_free(&description);
}

void orm_diff_column_constraints(struct orm_plan *plan, const struct cfg_table *table,
                                 const struct cfg_column *column, const struct orm_live_table *live,
                                 const char *live_column)
{
    const struct column_names names = {
        .table = table, .column = column, .live = live, .live_column = live_column};
    diff_unique(plan, &names);
    diff_index(plan, &names);
    diff_search(plan, &names);
    diff_foreign_key(plan, &names);
    diff_choices(plan, &names);
}
