/*
 * server/params_request.c — the rest of the parameter parser (server/params.c has the list
 * query): the {pk} of a row route, the arguments of /T/ids/, and a write's JSON body. Each
 * parses by the table's types or answers 400/403/415 itself, so a handler only ever sees
 * parsed values; what it parses belongs to the request's arena.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/app.h"

/* Only application/json (any parameters after ';' are ignored); a body-less request that says
 * no Content-Type is simply missing its body (400), not of the wrong type. */
static bool is_json_type(const char *type)
{
    while (*type == ' ')
        type++;
    size_t length = strcspn(type, "; ");
    return length == 16 && strncasecmp(type, "application/json", 16) == 0;
}

static void release_json(void *value)
{
    json_decref(value);
}

json_t *srv_parse_json_body(struct srv_request *request)
{
    const char *type = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if ((request->body.length > 0 || type) && (!type || !is_json_type(type))) {
        srv_respond_error(request, 415, NULL, "send the body as application/json (got %s)",
                          type ? type : "no Content-Type");
        return NULL;
    }
    if (request->body.length == 0) {
        srv_respond_error(request, 400, NULL, "the request needs a JSON body");
        return NULL;
    }
    json_error_t error;
    json_t *body =
        json_loadb(request->body.data, request->body.length, JSON_REJECT_DUPLICATES, &error);
    if (!body) {
        srv_respond_error(request, 400, NULL, "malformed JSON at line %d, column %d: %s",
                          error.line, error.column, error.text);
        return NULL;
    }
    rs_arena_defer(&request->arena, release_json, body);
    return body;
}

char *srv_parse_pk(struct srv_request *request)
{
    const struct cfg_column *pk = cfg_primary_key(request->route.table);
    struct rs_error error = {0};
    char *value = rs_arena_adopt(&request->arena,
                                 orm_value_from_text(pk, request->route.pk_text, pk->name, &error));
    if (!value)
        srv_respond_error(request, 400, pk->name, "invalid primary key \"%s\": %s",
                          request->route.pk_text, error.message);
    return value;
}

static int parse_count_arg(struct srv_request *request, const char *key, long fallback,
                           long minimum, long *out)
{
    const char *text = srv_arg_get(request, key);
    *out = fallback;
    if (!text)
        return 0;
    /* digits only, as every number in a query string */
    size_t length = strlen(text);
    bool is_digits = length > 0 && length <= 10 && strspn(text, "0123456789") == length;
    long long value = is_digits ? strtoll(text, NULL, 10) : -1;
    if (!is_digits || value < minimum || value > 2147483647LL) {
        srv_respond_error(request, 400, key, "%s must be an integer between %ld and 2147483647",
                          key, minimum);
        return -1;
    }
    *out = (long)value;
    return 0;
}

int srv_ids_params_parse(struct srv_request *request, struct srv_ids_params *parsed)
{
    const struct cfg_table *table = request->route.table;
    memset(parsed, 0, sizeof *parsed);
    for (size_t i = 0; i < request->arg_count; i++) {
        const char *key = request->args[i].key;
        if (strcmp(key, "search") && strcmp(key, "limit") && strcmp(key, "offset")) {
            srv_respond_error(request, 400, key,
                              "unknown parameter \"%s\" (ids takes search, "
                              "limit and offset)",
                              key);
            return -1;
        }
    }
    if (parse_count_arg(request, "limit", table->max_page_size, 1, &parsed->limit) < 0 ||
        parse_count_arg(request, "offset", 0, 0, &parsed->offset) < 0)
        return -1;
    if (parsed->limit > table->max_page_size) {
        srv_metrics_limit_hit(request->app, SRV_LIMIT_MAX_PAGE_SIZE);
        srv_respond_error(request, 403, "limit",
                          "limit %ld is over this table's max_page_size "
                          "of %d",
                          parsed->limit, table->max_page_size);
        return -1;
    }
    const char *search = srv_arg_get(request, "search");
    parsed->search = search && *search ? search : NULL;
    return 0;
}
