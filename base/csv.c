/*
 * base/csv.c — RFC 4180 fields and rows: what GET /T/ in CSV writes for each value. A field is
 * quoted when it holds a comma, a double quote (doubled inside), CR or LF, and when it is the
 * empty string (so an empty string and NULL, written as nothing, stay apart), as PostgreSQL's
 * COPY ... (FORMAT csv) quotes them, so a page and an export of the same rows have the same
 * bytes (COPY also quotes "\." when it is a row's only field: rs_csv_append_lone_field). Rows
 * end with CRLF.
 */
#include <string.h>

#include "base/base.h"

static bool needs_quotes(const char *text, size_t length)
{
    if (length == 0)
        return true;
    for (size_t i = 0; i < length; i++)
        if (text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n')
            return true;
    return false;
}

void rs_csv_append_field(struct sb *out, bool is_first, const char *text, size_t length)
{
    if (!is_first)
        sb_append_char(out, ',');
    if (!text)
        return;
    if (!needs_quotes(text, length)) {
        sb_append_n(out, text, length);
        return;
    }
    sb_append_char(out, '"');
    const char *end = text + length;
    const char *quote;
    while ((quote = memchr(text, '"', (size_t)(end - text)))) {
        sb_append_n(out, text, (size_t)(quote - text) + 1); /* the quote, doubled below */
        sb_append_char(out, '"');
        text = quote + 1;
    }
    sb_append_n(out, text, (size_t)(end - text));
    sb_append_char(out, '"');
}

void rs_csv_append_lone_field(struct sb *out, const char *text, size_t length)
{
    if (text && length == 2 && text[0] == '\\' && text[1] == '.')
        sb_append(out, "\"\\.\"");
    else
        rs_csv_append_field(out, true, text, length);
}

void rs_csv_end_row(struct sb *out)
{
    sb_append_n(out, "\r\n", 2);
}
