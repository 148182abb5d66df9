/*
 * orm/identifiers.c — SQL identifiers: quoting a name from the config for any statement, and
 * the rule a name must follow. The bottom of orm/: every SQL builder (queries, DDL, search)
 * uses it, and it uses none of them.
 */
#include <string.h>

#include "orm/orm.h"

void orm_quote_identifier(struct sb *out, const char *name)
{
    /* whole spans between quotes: this runs for every column of every statement */
    sb_append_char(out, '"');
    for (const char *span = name;;) {
        const char *quote = strchr(span, '"');
        if (!quote) {
            sb_append(out, span);
            break;
        }
        sb_append_n(out, span, (size_t)(quote - span) + 1);
        sb_append_char(out, '"');
        span = quote + 1;
    }
    sb_append_char(out, '"');
}

bool orm_identifier_is_valid(const char *name)
{
    if (!name || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return false;
    size_t length = 1;
    for (const char *p = name + 1; *p; p++, length++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return length <= 63;
}
