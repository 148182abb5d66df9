/*
 * config/config_names.c — how foreign-key actions are spelled in SQL and what a table or column
 * name may look like. Type names are rows of config/config_types.c's table.
 */
#include <string.h>

#include "config/config_internal.h"

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
