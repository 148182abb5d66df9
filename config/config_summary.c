/*
 * config/config_summary.c — the one line per table `restable config check` prints:
 *   movie: 8 columns, primary key id (serial), 1 foreign key, read public / write
 *   [scope:movies:write] / delete [role:admin]; read-only, bulk delete, bulk update
 * (one line; the part after ";" only when a flag is on). Scripts may parse it: keep it stable.
 */
#include <stdio.h>

#include "config/config_internal.h"

static void append_policy(struct sb *out, const char *action, const struct cfg_policy *policy)
{
    sb_appendf(out, "%s ", action);
    if (policy->kind == CFG_POLICY_PUBLIC) {
        sb_append(out, "public");
        return;
    }
    if (policy->kind == CFG_POLICY_AUTHENTICATED) {
        sb_append(out, "authenticated");
        return;
    }
    sb_append_char(out, '[');
    for (size_t i = 0; i < policy->grant_count; i++)
        sb_appendf(out, "%s%s", i ? ", " : "", policy->grants[i]);
    sb_append_char(out, ']');
}

void cfg_print_summary(const struct cfg_config *config, FILE *out)
{
    struct sb line = {0};
    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        size_t foreign_keys = 0;
        for (size_t c = 0; c < table->column_count; c++)
            foreign_keys += table->columns[c].type == CFG_TYPE_FOREIGN_KEY;
        const struct cfg_column *key = cfg_primary_key(table);
        sb_reset(&line);
        sb_appendf(&line, "%s: %zu column%s, primary key %s (%s), %zu foreign key%s, ", table->name,
                   table->column_count, table->column_count == 1 ? "" : "s", key->name,
                   cfg_type_name(key->type), foreign_keys, foreign_keys == 1 ? "" : "s");
        append_policy(&line, "read", &table->read);
        append_policy(&line, " / write", &table->write);
        append_policy(&line, " / delete", &table->delete_);
        const char *separator = "; ";
        if (table->read_only) {
            sb_appendf(&line, "%sread-only", separator);
            separator = ", ";
        }
        if (table->allow_bulk_delete) {
            sb_appendf(&line, "%sbulk delete", separator);
            separator = ", ";
        }
        if (table->allow_bulk_update)
            sb_appendf(&line, "%sbulk update", separator);
        fprintf(out, "%s\n", sb_text(&line));
    }
    sb_free(&line);
}
