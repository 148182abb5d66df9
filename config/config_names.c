/*
 * config/config_names.c — the spellings the config uses for types and foreign-key actions,
 * what a table or column name may look like, and the families of types the rules refer to.
 */
#include <string.h>

#include "config/config_internal.h"

/* Indexed by enum cfg_type; NULL-terminated so the suggester can walk it. */
const char *const cfg_type_names[CFG_TYPE_COUNT + 1] = {
    [CFG_TYPE_VARCHAR] = "varchar",
    [CFG_TYPE_TEXT] = "text",
    [CFG_TYPE_EMAIL] = "email",
    [CFG_TYPE_INTEGER] = "integer",
    [CFG_TYPE_BIGINT] = "bigint",
    [CFG_TYPE_SMALLINT] = "smallint",
    [CFG_TYPE_SERIAL] = "serial",
    [CFG_TYPE_BIGSERIAL] = "bigserial",
    [CFG_TYPE_BOOLEAN] = "boolean",
    [CFG_TYPE_NUMERIC] = "numeric",
    [CFG_TYPE_REAL] = "real",
    [CFG_TYPE_DOUBLE] = "double",
    [CFG_TYPE_TIMESTAMP] = "timestamp",
    [CFG_TYPE_TIMESTAMPTZ] = "timestamptz",
    [CFG_TYPE_DATE] = "date",
    [CFG_TYPE_TIME] = "time",
    [CFG_TYPE_INTERVAL] = "interval",
    [CFG_TYPE_UUID] = "uuid",
    [CFG_TYPE_JSON] = "json",
    [CFG_TYPE_JSONB] = "jsonb",
    [CFG_TYPE_BYTEA] = "bytea",
    [CFG_TYPE_ARRAY] = "array",
    [CFG_TYPE_FOREIGN_KEY] = "foreign_key",
    [CFG_TYPE_COUNT] = NULL,
};

const char *cfg_type_name(enum cfg_type type)
{
    return (unsigned)type < CFG_TYPE_COUNT ? cfg_type_names[type] : NULL;
}

int cfg_type_from_name(const char *name, enum cfg_type *type)
{
    if (!name)
        return -1;
    for (int i = 0; i < CFG_TYPE_COUNT; i++) {
        if (strcmp(name, cfg_type_names[i]) == 0) {
            *type = (enum cfg_type)i;
            return 0;
        }
    }
    return -1;
}

const char *cfg_fk_action_sql(enum cfg_fk_action action)
{
    switch (action) {
    case CFG_FK_NO_ACTION:
        return "NO ACTION";
    case CFG_FK_RESTRICT:
        return "RESTRICT";
    case CFG_FK_CASCADE:
        return "CASCADE";
    case CFG_FK_SET_NULL:
        return "SET NULL";
    case CFG_FK_SET_DEFAULT:
        return "SET DEFAULT";
    }
    return "NO ACTION";
}

bool cfg_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 63)
        return false;
    if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
        return false;
    for (size_t i = 1; i < length; i++) {
        char c = name[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

bool cfg_is_integer_type(enum cfg_type type)
{
    return type == CFG_TYPE_INTEGER || type == CFG_TYPE_BIGINT || type == CFG_TYPE_SMALLINT ||
           type == CFG_TYPE_SERIAL || type == CFG_TYPE_BIGSERIAL;
}

bool cfg_is_text_type(enum cfg_type type)
{
    return type == CFG_TYPE_VARCHAR || type == CFG_TYPE_TEXT || type == CFG_TYPE_EMAIL;
}

bool cfg_is_time_type(enum cfg_type type)
{
    return type == CFG_TYPE_TIMESTAMP || type == CFG_TYPE_TIMESTAMPTZ || type == CFG_TYPE_DATE ||
           type == CFG_TYPE_TIME;
}
