/*
 * server/list_csv.c — GET /T/ as CSV (SPEC §5): which representation a request asks for
 * (__format, else the Accept header, negotiated by q-values with JSON the default), and the page
 * written as RFC 4180 CSV from the text columns orm_build_list_csv selects: a header row of the
 * field names, then one row per record. Filters, __order, __page, __page_size,
 * __visible_fields and __readable apply as for JSON; Content-Range does not (a CSV page carries
 * no total). Its weak ETag hashes the CSV bytes, so it differs from the JSON page's; both say
 * Vary: Accept.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/app.h"

static const char csv_content_type[] = "text/csv; charset=utf-8";

static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t'))
        text[--length] = '\0';
    return text;
}

/* How well a media range matches type/subtype: 3 exactly, 2 type/star, 1 star/star, 0 not. */
static int range_match(const char *range, const char *type, const char *subtype)
{
    const char *slash = strchr(range, '/');
    if (!slash)
        return 0;
    size_t type_length = (size_t)(slash - range);
    const char *sub = slash + 1;
    if (type_length == 1 && range[0] == '*')
        return strcmp(sub, "*") == 0 ? 1 : 0;
    if (type_length != strlen(type) || strncasecmp(range, type, type_length) != 0)
        return 0;
    if (strcmp(sub, "*") == 0)
        return 2;
    return strcasecmp(sub, subtype) == 0 ? 3 : 0;
}

/* The q of an element's parameters ("q=0.5;charset=x"), 1 when absent, 0 when malformed. */
static double element_quality(char *params)
{
    char *saved = NULL;
    for (char *param = strtok_r(params, ";", &saved); param; param = strtok_r(NULL, ";", &saved)) {
        param = trim(param);
        if ((param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            char *stop;
            double q = strtod(param + 2, &stop);
            return stop == param + 2 || *stop || q < 0 || q > 1 ? 0 : q;
        }
    }
    return 1;
}

/* The quality the Accept header gives type/subtype: that of its most specific matching range
 * (RFC 9110 §12.5.1); 0 when none matches. The header is at most max_header_bytes. */
static double accept_quality(const char *accept, const char *type, const char *subtype)
{
    char *copy = xstrdup(accept);
    int best = 0;
    double quality = 0;
    char *saved = NULL;
    for (char *element = strtok_r(copy, ",", &saved); element;
         element = strtok_r(NULL, ",", &saved)) {
        char *params = strchr(element, ';');
        if (params)
            *params++ = '\0';
        int match = range_match(trim(element), type, subtype);
        if (match > best) {
            best = match;
            quality = params ? element_quality(params) : 1;
        }
    }
    free(copy);
    return quality;
}

bool srv_list_wants_csv(const struct srv_request *request, const struct srv_list_params *params)
{
    if (params->format)
        return strcmp(params->format, "csv") == 0;
    const char *accept = srv_header(request, MHD_HTTP_HEADER_ACCEPT);
    if (!accept || !*accept)
        return false;
    /* JSON wins ties, and answers when neither is acceptable (never 406: docs/decisions.md) */
    return accept_quality(accept, "text", "csv") > accept_quality(accept, "application", "json");
}

static void write_csv(const PGresult *result, struct sb *out)
{
    int columns = PQnfields(result);
    for (int c = 0; c < columns; c++) {
        const char *name = PQfname(result, c);
        rs_csv_append_field(out, c == 0, name, strlen(name));
    }
    rs_csv_end_row(out);
    for (int r = 0; r < PQntuples(result); r++) {
        for (int c = 0; c < columns; c++) {
            const char *value = PQgetisnull(result, r, c) ? NULL : PQgetvalue(result, r, c);
            size_t length = (size_t)PQgetlength(result, r, c);
            if (columns == 1)
                rs_csv_append_lone_field(out, value, length);
            else
                rs_csv_append_field(out, c == 0, value, length);
        }
        rs_csv_end_row(out);
    }
}

static void csv_done(struct srv_request *request, struct orm_outcome *outcome)
{
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    struct sb body = {0};
    write_csv(outcome->result, &body);
    char etag[SRV_ETAG_SIZE];
    srv_list_etag(sb_text(&body), body.length, -1, etag, sizeof etag);
    if (srv_if_none_match_hits(request, etag)) {
        sb_free(&body);
        srv_respond_not_modified(request, etag);
        srv_add_vary(request, "Accept");
        return;
    }
    size_t length = body.length;
    char *text = sb_take(&body);
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(length, text, free, text);
    srv_respond_with(request, 200, response, length, csv_content_type);
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
    srv_add_vary(request, "Accept");
}

void srv_list_csv(struct srv_request *request, const struct srv_list_params *params)
{
    struct orm_sql sql = {0};
    struct rs_error error = {0};
    srv_run_built(request, orm_build_list_csv(&params->select, &sql, &error), &sql, &error,
                  csv_done);
}
