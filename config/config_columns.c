/*
 * config/config_columns.c — one column declaration: its type and the keys that type takes
 * (length, precision/scale, of, references/on_delete/on_update), its constraints, its
 * default and its choices. Keys that do not belong to the type are errors, not ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const column_keys[] = {
    "type",      "null",      "default",      "unique",     "index",     "primary_key", "length",
    "precision", "scale",     "of",           "references", "on_delete", "on_update",   "choices",
    "secret",    "help_text", "renamed_from", "search",     NULL,
};

static void check_name(struct cfg_loader *loader, const char *path, const char *name)
{
    if (!cfg_name_is_valid(name))
        cfg_error(loader, path, "invalid column name \"%s\" (use [a-z_][a-z0-9_]{0,62})", name);
    else if (strncmp(name, "restable_", 9) == 0)
        cfg_error(loader, path, "names starting with \"restable_\" are reserved for restable");
    else if (strstr(name, "__"))
        cfg_error(loader, path,
                  "column names may not contain \"__\" (query parameters use it: "
                  "rating__operator, __page)");
}

/* "renamed_from": the name the column had, so a migration renames it instead of dropping
 * one column and adding another. */
static void load_renamed_from(struct cfg_loader *loader, const char *path, const json_t *spec,
                              const char *name, struct cfg_column *column)
{
    column->renamed_from = cfg_get_string(loader, spec, path, "renamed_from", NULL, CFG_NULLABLE);
    if (!column->renamed_from)
        return;
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, "renamed_from");
    if (!cfg_name_is_valid(column->renamed_from))
        cfg_error(loader, child, "invalid column name \"%s\"", column->renamed_from);
    else if (strcmp(column->renamed_from, name) == 0)
        cfg_error(loader, child, "is the column's own name");
}

/* Reads a type name at object.key into *type; reports and returns false otherwise. */
static bool load_type_name(struct cfg_loader *loader, const char *path, const json_t *object,
                           const char *key, enum cfg_type *type)
{
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, key);
    json_t *value = json_object_get(object, key);
    if (!value) {
        cfg_error(loader, child, "required");
        return false;
    }
    if (!json_is_string(value)) {
        char shown[80];
        cfg_describe(value, shown, sizeof shown);
        cfg_error(loader, child, "expected a type name, got %s", shown);
        return false;
    }
    if (cfg_type_from_name(json_string_value(value), type) < 0) {
        cfg_report_unknown_type(loader, child, json_string_value(value));
        return false;
    }
    return true;
}

static void check_applicable_keys(struct cfg_loader *loader, const char *path, const json_t *spec,
                                  enum cfg_type type)
{
    static const struct {
        const char *key;
        enum cfg_type owner, other_owner;
        const char *owners;
    } rules[] = {
        {"length", CFG_TYPE_VARCHAR, CFG_TYPE_EMAIL,
         "varchar and email columns, and arrays of them"},
        {"precision", CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, "numeric columns"},
        {"scale", CFG_TYPE_NUMERIC, CFG_TYPE_NUMERIC, "numeric columns"},
        {"of", CFG_TYPE_ARRAY, CFG_TYPE_ARRAY, "array columns"},
        {"references", CFG_TYPE_FOREIGN_KEY, CFG_TYPE_FOREIGN_KEY, "foreign_key columns"},
        {"on_delete", CFG_TYPE_FOREIGN_KEY, CFG_TYPE_FOREIGN_KEY, "foreign_key columns"},
        {"on_update", CFG_TYPE_FOREIGN_KEY, CFG_TYPE_FOREIGN_KEY, "foreign_key columns"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        bool is_owner = type == rules[i].owner || type == rules[i].other_owner ||
                        (rules[i].owner == CFG_TYPE_VARCHAR && type == CFG_TYPE_ARRAY);
        if (is_owner || !json_object_get(spec, rules[i].key))
            continue;
        char child[CFG_PATH_MAX];
        cfg_path_key(child, path, rules[i].key);
        cfg_error(loader, child, "does not apply to %s columns (only %s)", cfg_type_name(type),
                  rules[i].owners);
    }
}

static void load_element(struct cfg_loader *loader, const char *path, const json_t *spec,
                         struct cfg_column *column)
{
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, "of");
    enum cfg_type element;
    if (!json_object_get(spec, "of")) {
        cfg_error(loader, child,
                  "required for an array column (the element type, e.g. "
                  "\"varchar\")");
        return;
    }
    if (!load_type_name(loader, path, spec, "of", &element))
        return;
    if (element == CFG_TYPE_ARRAY || element == CFG_TYPE_FOREIGN_KEY ||
        element == CFG_TYPE_SERIAL || element == CFG_TYPE_BIGSERIAL) {
        cfg_error(loader, child,
                  "an array cannot hold %s values (use any type but array, "
                  "foreign_key, serial and bigserial)",
                  cfg_type_name(element));
        return;
    }
    column->value_type = element;
    if (json_object_get(spec, "length") && element != CFG_TYPE_VARCHAR &&
        element != CFG_TYPE_EMAIL) {
        cfg_path_key(child, path, "length");
        cfg_error(loader, child,
                  "does not apply to arrays of %s (only varchar and email "
                  "columns, and arrays of them)",
                  cfg_type_name(element));
    }
}

static void load_numeric(struct cfg_loader *loader, const char *path, const json_t *spec,
                         struct cfg_column *column)
{
    long long precision, scale;
    bool is_ok = cfg_get_int(loader, spec, path, "precision", 1, 1000, 0, &precision) == 0;
    is_ok &= cfg_get_int(loader, spec, path, "scale", 0, 1000, 0, &scale) == 0;
    column->precision = (int)precision;
    column->scale = (int)scale;
    char child[CFG_PATH_MAX];
    cfg_path_key(child, path, "scale");
    if (is_ok && json_object_get(spec, "scale") && !json_object_get(spec, "precision"))
        cfg_error(loader, child, "needs a precision");
    else if (is_ok && scale > precision && precision > 0)
        cfg_error(loader, child, "expected an integer between 0 and precision (%lld), got %lld",
                  precision, scale);
}

static void load_action(struct cfg_loader *loader, const char *path, const json_t *spec,
                        const char *key, struct cfg_column *column, enum cfg_fk_action *out)
{
    static const char *const actions[] = {"no action", "restrict",    "cascade",
                                          "set null",  "set default", NULL};
    json_t *value = json_object_get(spec, key);
    if (!value)
        return;
    char child[CFG_PATH_MAX], shown[80];
    cfg_path_key(child, path, key);
    const char *text = json_string_value(value);
    for (size_t i = 0; text && actions[i]; i++) {
        if (strcmp(text, actions[i]) != 0)
            continue;
        *out = (enum cfg_fk_action)i; /* actions[] follows enum cfg_fk_action */
        if (*out == CFG_FK_SET_NULL && !column->is_nullable)
            cfg_error(loader, child, "\"set null\" needs \"null\": true on the column");
        if (*out == CFG_FK_SET_DEFAULT && column->default_kind == CFG_DEFAULT_NONE &&
            !column->is_nullable)
            cfg_error(loader, child, "\"set default\" needs a \"default\" on the column");
        return;
    }
    if (!cfg_report_near_choice(loader, child, value, "action", actions, shown, sizeof shown))
        cfg_error(loader, child,
                  "expected \"cascade\", \"restrict\", \"set null\", \"set "
                  "default\" or \"no action\", got %s",
                  shown);
}

static void load_foreign_key(struct cfg_loader *loader, const char *path, const json_t *spec,
                             struct cfg_column *column)
{
    column->references = cfg_get_string(loader, spec, path, "references", NULL, 0);
    if (!json_object_get(spec, "references")) {
        char child[CFG_PATH_MAX];
        cfg_path_key(child, path, "references");
        cfg_error(loader, child, "required for a foreign_key column (the referenced table)");
    }
    load_action(loader, path, spec, "on_delete", column, &column->on_delete);
    load_action(loader, path, spec, "on_update", column, &column->on_update);
}

/* Rules between keys, once each key has been read on its own. */
static void check_constraints(struct cfg_loader *loader, const char *path,
                              struct cfg_column *column)
{
    char child[CFG_PATH_MAX];
    const char *type = cfg_type_name(column->type);
    bool is_serial = column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL;
    if (column->is_primary_key) {
        bool is_key_type =
            (cfg_is_integer_type(column->type) && column->type != CFG_TYPE_SMALLINT) ||
            column->type == CFG_TYPE_UUID || column->type == CFG_TYPE_VARCHAR ||
            column->type == CFG_TYPE_TEXT;
        if (!is_key_type) {
            cfg_path_key(child, path, "primary_key");
            cfg_error(loader, child,
                      "%s columns cannot be the primary key (use integer, bigint, "
                      "serial, bigserial, uuid, varchar or text)",
                      type);
        }
        cfg_path_key(child, path, "null");
        if (column->is_nullable)
            cfg_error(loader, child, "the primary key cannot be null");
        cfg_path_key(child, path, "secret");
        if (column->is_secret)
            cfg_error(loader, child, "the primary key cannot be secret (creates return it)");
        column->is_nullable = false;
        column->is_unique = true;
    } else if (is_serial && column->is_nullable) {
        cfg_path_key(child, path, "null");
        cfg_error(loader, child, "%s columns cannot be null", type);
    }
    /* PostgreSQL has no equality for json, so neither a unique nor a btree index on it */
    if (column->type == CFG_TYPE_JSON && column->is_unique && !column->is_primary_key) {
        cfg_path_key(child, path, "unique");
        cfg_error(loader, child, "json columns cannot be unique (use jsonb)");
    }
    if (column->type == CFG_TYPE_JSON && column->has_index) {
        cfg_path_key(child, path, "index");
        cfg_error(loader, child, "json columns cannot be indexed (use jsonb)");
    }
    cfg_path_key(child, path, "search");
    if (column->is_searchable && column->type != CFG_TYPE_TEXT && column->type != CFG_TYPE_VARCHAR)
        cfg_error(loader, child, "does not apply to %s columns (only text and varchar)", type);
    else if (column->is_searchable && column->is_secret)
        cfg_error(loader, child, "a secret column cannot be searched");
}

static void release_json(void *value)
{
    json_decref(value);
}

/* A copy of value that lives as long as the config (its arena drops the reference). */
static json_t *keep_json(struct cfg_loader *loader, const json_t *value)
{
    json_t *copy = xcheck(json_deep_copy(value));
    rs_arena_defer(loader->arena, release_json, copy);
    return copy;
}

static void load_default_and_choices(struct cfg_loader *loader, const char *path,
                                     const json_t *spec, struct cfg_column *column)
{
    char child[CFG_PATH_MAX], shown[80];
    json_t *value = json_object_get(spec, "default");
    const char *text = json_string_value(value);
    cfg_path_key(child, path, "default");
    if (!value) {
        /* no default: nothing to record */
    } else if (column->type == CFG_TYPE_SERIAL || column->type == CFG_TYPE_BIGSERIAL) {
        cfg_error(loader, child,
                  "%s columns take their values from a sequence (remove "
                  "\"default\")",
                  cfg_type_name(column->type));
    } else if (text && strcmp(text, "now") == 0 && cfg_is_time_type(column->type)) {
        column->default_kind = CFG_DEFAULT_NOW;
    } else if (text && strcmp(text, "uuid4") == 0 && column->type == CFG_TYPE_UUID) {
        column->default_kind = CFG_DEFAULT_UUID4;
    } else {
        column->default_kind = CFG_DEFAULT_VALUE;
        column->default_value = keep_json(loader, value);
    }

    value = json_object_get(spec, "choices");
    if (!value)
        return;
    cfg_path_key(child, path, "choices");
    enum cfg_type type = column->value_type;
    if (type == CFG_TYPE_JSON || type == CFG_TYPE_JSONB || type == CFG_TYPE_BYTEA ||
        type == CFG_TYPE_SERIAL || type == CFG_TYPE_BIGSERIAL) {
        cfg_error(loader, child, "does not apply to %s %s", cfg_type_name(type),
                  column->type == CFG_TYPE_ARRAY ? "arrays" : "columns");
    } else if (!json_is_array(value) || json_array_size(value) == 0) {
        cfg_describe(value, shown, sizeof shown);
        cfg_error(loader, child, "expected a non-empty list of allowed values, got %s", shown);
    } else {
        column->choices = keep_json(loader, value);
    }
}

void cfg_load_column(struct cfg_loader *loader, const char *path, const char *name,
                     const json_t *spec, struct cfg_column *column)
{
    column->name = rs_arena_strdup(loader->arena, name);
    check_name(loader, path, name);
    if (!json_is_object(spec)) {
        char shown[80];
        cfg_describe(spec, shown, sizeof shown);
        cfg_error(loader, path, "expected an object with a \"type\", got %s", shown);
        return;
    }
    cfg_check_keys(loader, spec, path, column_keys);
    bool has_type = load_type_name(loader, path, spec, "type", &column->type);
    column->value_type = column->type;
    cfg_get_bool(loader, spec, path, "null", false, &column->is_nullable);
    cfg_get_bool(loader, spec, path, "unique", false, &column->is_unique);
    cfg_get_bool(loader, spec, path, "index", false, &column->has_index);
    column->is_index_off = json_is_false(json_object_get(spec, "index"));
    cfg_get_bool(loader, spec, path, "primary_key", false, &column->is_primary_key);
    cfg_get_bool(loader, spec, path, "secret", false, &column->is_secret);
    cfg_get_bool(loader, spec, path, "search", false, &column->is_searchable);
    column->help_text =
        cfg_get_string(loader, spec, path, "help_text", NULL, CFG_NULLABLE | CFG_EMPTY_OK);
    load_renamed_from(loader, path, spec, name, column);
    if (!has_type)
        return;
    check_applicable_keys(loader, path, spec, column->type);
    if (column->type == CFG_TYPE_ARRAY)
        load_element(loader, path, spec, column);
    if (column->value_type == CFG_TYPE_VARCHAR || column->value_type == CFG_TYPE_EMAIL) {
        long long length;
        cfg_get_int(loader, spec, path, "length", 1, 10485760,
                    column->value_type == CFG_TYPE_EMAIL ? 255 : 0, &length);
        column->length = (int)length;
    }
    if (column->type == CFG_TYPE_NUMERIC)
        load_numeric(loader, path, spec, column);
    check_constraints(loader, path, column);
    load_default_and_choices(loader, path, spec, column);
    if (column->type == CFG_TYPE_FOREIGN_KEY)
        load_foreign_key(loader, path, spec, column); /* values checked once resolved */
    else
        cfg_check_column_values(loader, path, column);
}

/* ---- defaults and choices against the final value type ----------------------------------- */

static bool same_value(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

static bool is_choice(const struct cfg_column *column, const json_t *value)
{
    size_t index;
    json_t *choice;
    json_array_foreach(column->choices, index, choice) if (same_value(choice, value)) return true;
    return false;
}

void cfg_check_column_values(struct cfg_loader *loader, const char *path, struct cfg_column *column)
{
    char child[CFG_PATH_MAX], item_path[CFG_PATH_MAX], shown[80];
    bool are_choices_valid = column->choices != NULL;
    size_t index;
    json_t *item;
    cfg_path_key(child, path, "choices");
    json_array_foreach(column->choices, index, item)
    {
        cfg_path_index(item_path, child, index);
        are_choices_valid &=
            cfg_check_literal(loader, item_path, column, column->value_type, item, false);
    }
    if (column->default_kind != CFG_DEFAULT_VALUE)
        return;
    json_t *value = column->default_value;
    cfg_path_key(child, path, "default");
    if (json_is_null(value)) {
        if (!column->is_nullable)
            cfg_error(loader, child, "null needs \"null\": true on the column");
        return;
    }
    if (column->type != CFG_TYPE_ARRAY) {
        if (cfg_check_literal(loader, child, column, column->value_type, value, true) &&
            are_choices_valid && !is_choice(column, value)) {
            cfg_describe(value, shown, sizeof shown);
            cfg_error(loader, child, "%s is not one of the choices", shown);
        }
        return;
    }
    if (!json_is_array(value)) {
        cfg_describe(value, shown, sizeof shown);
        cfg_error(loader, child, "expected a list of %s values, got %s",
                  cfg_type_name(column->value_type), shown);
        return;
    }
    json_array_foreach(value, index, item)
    {
        cfg_path_index(item_path, child, index);
        if (cfg_check_literal(loader, item_path, column, column->value_type, item, false) &&
            are_choices_valid && !is_choice(column, item)) {
            cfg_describe(item, shown, sizeof shown);
            cfg_error(loader, item_path, "%s is not one of the choices", shown);
        }
    }
}
