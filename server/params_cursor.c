/*
 * server/params_cursor.c — __cursor on GET /T/: which parameters it goes with, and the cursor
 * itself verified (orm/cursor.c) against the table and the request's __order, its values set
 * as the select's position. Runs at the end of srv_list_params_parse, once __order is known.
 */
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

/* What cannot go with a cursor: __page (a cursor page has no number: it follows the previous
 * one), and __range_header (its Content-Range names an offset the cursor does not know; the
 * total is at /T/count/). */
static int refuse_companions(struct srv_request *request, const struct srv_list_params *parsed)
{
    if (parsed->page_given) {
        srv_respond_error(request, 400, "__cursor",
                          "__cursor and __page cannot be combined: a cursor page follows the "
                          "previous one (drop __page)");
        return -1;
    }
    if (parsed->range_header) {
        srv_respond_error(request, 400, "__cursor",
                          "__cursor and __range_header cannot be combined: a cursor page has no "
                          "offset (the total is at /T/count/)");
        return -1;
    }
    return 0;
}

int srv_cursor_params_apply(struct srv_request *request, struct srv_list_params *parsed)
{
    if (refuse_companions(request, parsed) < 0)
        return -1;
    struct orm_keyset keyset;
    struct rs_error error = {0};
    if (orm_keyset_of(&parsed->select, &keyset, &error) < 0) {
        srv_respond_rs_error(request, &error);
        return -1;
    }
    struct sb order = {0};
    orm_keyset_order_text(&keyset, &order);
    parsed->cursor_order = rs_arena_strdup(&request->arena, sb_text(&order));
    sb_free(&order);
    parsed->select.offset = 0;
    if (!*parsed->cursor)
        return 0; /* the first page */
    size_t count = 0;
    char **values =
        orm_cursor_decode(&request->app->cursor_key, parsed->cursor, request->route.table->name,
                          parsed->cursor_order, &count, &error);
    if (!values) {
        srv_respond_rs_error(request, &error);
        return -1;
    }
    if (count != keyset.key_count) {
        free(values);
        srv_respond_error(request, 400, "__cursor", "__cursor holds no position for this order");
        return -1;
    }
    parsed->select.after = (const char *const *)rs_arena_adopt(&request->arena, values);
    parsed->select.after_count = count;
    return 0;
}
