/*
 * orm/search.c — full-text search's one expression, to_tsvector('<language>'::regconfig,
 * "<column>"): written the same way by the GIN index of a "search": true column and by the
 * col__match=search filter, so the planner matches the filter to the index; and read back
 * from an index's definition when the live schema is introspected.
 *
 * The language is a literal, not a bound parameter: an index on an expression serves only a
 * query with the same expression, constants included, and a parameter is no constant in a
 * generic plan. The config lets only [a-z_][a-z0-9_]* through, and it is quoted besides.
 */
#include <string.h>

#include "orm/schema_internal.h"

void orm_search_language(struct sb *out, const char *language)
{
    orm_schema_quote_literal(out, language ? language : "simple");
    sb_append(out, "::regconfig");
}

void orm_search_vector_open(struct sb *out, const char *language)
{
    sb_append(out, "to_tsvector(");
    orm_search_language(out, language);
    sb_append(out, ", ");
}

void orm_schema_search_index(const struct cfg_table *table, const struct cfg_column *column,
                             struct sb *out)
{
    struct sb vector = {0};
    orm_search_vector_open(&vector, table->search_language);
    orm_quote_identifier(&vector, column->name);
    sb_append_char(&vector, ')');
    orm_schema_create_index(table, column, "search", "gin", sb_text(&vector), out);
    sb_free(&vector);
}

static const char *after_prefix(const char *text, const char *prefix)
{
    size_t length = strlen(prefix);
    return text && strncmp(text, prefix, length) == 0 ? text + length : NULL;
}

/* An identifier as PostgreSQL prints it: bare, or in double quotes with "" for a quote.
 * Returns what follows it, or NULL. */
static const char *read_identifier(const char *text, struct sb *name)
{
    if (*text != '"') {
        size_t length = strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789_$");
        sb_append_n(name, text, length);
        return length ? text + length : NULL;
    }
    for (text++; *text; text++) {
        if (*text == '"' && text[1] != '"')
            return text + 1;
        if (*text == '"')
            text++;
        sb_append_char(name, *text);
    }
    return NULL;
}

bool orm_search_expression_parse(const char *expression, char **column, char **language)
{
    const char *start = after_prefix(expression, "to_tsvector('");
    const char *quote = start ? strchr(start, '\'') : NULL;
    const char *rest = after_prefix(quote, "'::regconfig, ");
    if (!rest || quote == start)
        return false;
    /* a varchar column is cast to text: to_tsvector('simple'::regconfig, (title)::text) */
    bool is_cast = *rest == '(';
    struct sb name = {0};
    rest = read_identifier(rest + is_cast, &name);
    if (is_cast)
        rest = after_prefix(rest, ")::text");
    if (!rest || strcmp(rest, ")") != 0) {
        sb_free(&name);
        return false;
    }
    *column = sb_take(&name);
    *language = xstrndup(start, (size_t)(quote - start));
    return true;
}
