/*
 * server/params.c — turns the query string of list, count, bulk and get-one requests into an
 * orm_select: filters (col, col[], col__operator, col__match, col=null), __ids, __order,
 * __page, __page_size, __visible_fields, __readable, __range_header(_name), __count, __cursor
 * (checked by server/params_cursor.c). Every value is
 * parsed by its column's type; anything unknown or unparsable is a 400 naming the parameter.
 * With server/params_request.c, the one place a request is parsed: handlers never parse.
 * Everything parsed is allocated from the request's arena, so an early 400 frees nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/app.h"

#define MAX_FILTERS 64
#define MAX_ORDERS 16
#define MAX_FIELDS 128

const char *srv_arg_get(const struct srv_request *request, const char *key)
{
    for (size_t i = 0; i < request->arg_count; i++)
        if (strcmp(request->args[i].key, key) == 0)
            return request->args[i].value ? request->args[i].value : "";
    return NULL;
}

static bool has_suffix(const char *text, const char *suffix, size_t *stem_length)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);
    if (length <= suffix_length || strcmp(text + length - suffix_length, suffix) != 0)
        return false;
    *stem_length = length - suffix_length;
    return true;
}

/* Per-column state while reading the arguments. */
struct column_args {
    const struct cfg_column *column;
    const char **values; /* room for every argument of the request */
    size_t value_count;
    const char *operator_text;
    const char *match_text;
};

/* The values a filter holds: orm_value_from_text's texts, which the arena adopts. */
static char **new_value_list(struct srv_request *request, size_t count)
{
    return rs_arena_calloc(&request->arena, count ? count : 1, sizeof(char *));
}

static int parse_bool_flag(struct srv_request *request, const char *key, const char *value,
                           bool *out)
{
    if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(value, "false") || !strcmp(value, "0")) {
        *out = false;
        return 0;
    }
    srv_respond_error(request, 400, key, "%s must be true, false, 1 or 0", key);
    return -1;
}

static int parse_positive(struct srv_request *request, const char *key, const char *value,
                          long *out)
{
    /* digits only: strtoll alone would take " 5", "+5" and "-0" */
    size_t length = strlen(value);
    bool is_digits = length > 0 && strspn(value, "0123456789") == length;
    char *end = NULL;
    errno = 0;
    long long number = is_digits ? strtoll(value, &end, 10) : 0;
    if (!is_digits || errno || number < 1 || number > INT_MAX) {
        srv_respond_error(request, 400, key, "%s must be an integer between 1 and %d", key,
                          INT_MAX);
        return -1;
    }
    *out = (long)number;
    return 0;
}

static const struct cfg_column *visible_column(const struct cfg_table *table, const char *name)
{
    const struct cfg_column *column = cfg_column_find(table, name);
    return column && !column->is_secret ? column : NULL;
}

static struct column_args *column_args_for(struct srv_request *request, struct column_args *all,
                                           size_t *count, const struct cfg_column *column,
                                           size_t capacity)
{
    for (size_t i = 0; i < *count; i++)
        if (all[i].column == column)
            return &all[i];
    if (*count == capacity)
        return NULL;
    all[*count] = (struct column_args){.column = column};
    all[*count].values =
        rs_arena_alloc(&request->arena, request->arg_count * sizeof *all[*count].values);
    return &all[(*count)++];
}

/* A comma-separated list with an empty item ("1,,2", ",a", "a,"): refused (400), since a
 * client that sends one has a bug worth hearing about. An empty value is no list at all. */
static int refuse_empty_item(struct srv_request *request, const char *key, const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || (text[0] != ',' && text[length - 1] != ',' && !strstr(text, ",,")))
        return 0;
    srv_respond_error(request, 400, key,
                      "%s has an empty item: separate the items with single "
                      "commas",
                      key);
    return -1;
}

static int add_ids_filter(struct srv_request *request, struct srv_list_params *parsed,
                          const char *text)
{
    const struct cfg_table *table = request->route.table;
    const struct cfg_column *pk = cfg_primary_key(table);
    if (refuse_empty_item(request, "__ids", text) < 0)
        return -1;
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    char **values = new_value_list(request, count);
    size_t used = 0;
    const char *start = text;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t length = comma ? (size_t)(comma - start) : strlen(start);
        if (length > 0) {
            char *piece = rs_arena_strndup(&request->arena, start, length);
            struct rs_error error = {0};
            char *value =
                rs_arena_adopt(&request->arena, orm_value_from_text(pk, piece, "__ids", &error));
            if (!value) {
                srv_respond_rs_error(request, &error);
                return -1;
            }
            values[used++] = value;
        }
        if (!comma)
            break;
        start = comma + 1;
    }
    if (used == 0) {
        srv_respond_error(request, 400, "__ids", "__ids must list at least one primary key");
        return -1;
    }
    parsed->filters[parsed->filter_count++] = (struct orm_filter){.column = pk,
                                                                  .op = ORM_OP_EQUAL,
                                                                  .match = ORM_MATCH_EXACT,
                                                                  .values = values,
                                                                  .value_count = used};
    return 0;
}

static int add_orders(struct srv_request *request, struct srv_list_params *parsed, const char *text)
{
    if (refuse_empty_item(request, "__order", text) < 0)
        return -1;
    if (!parsed->orders)
        parsed->orders = rs_arena_alloc(&request->arena, MAX_ORDERS * sizeof *parsed->orders);
    const char *start = text;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t length = comma ? (size_t)(comma - start) : strlen(start);
        if (length > 0) {
            bool descending = *start == '-';
            if (*start == '-' || *start == '+') {
                start++;
                length--;
            }
            char name[80];
            snprintf(name, sizeof name, "%.*s", (int)length, start);
            const struct cfg_column *column = visible_column(request->route.table, name);
            if (!column || length >= sizeof name) {
                srv_respond_error(request, 400, "__order", "__order: unknown column \"%s\"", name);
                return -1;
            }
            if (parsed->order_count == MAX_ORDERS) {
                srv_respond_error(request, 400, "__order", "__order: too many columns");
                return -1;
            }
            parsed->orders[parsed->order_count++] = (struct orm_order){column, descending};
        }
        if (!comma)
            return 0;
        start = comma + 1;
    }
}

static int add_field(struct srv_request *request, struct srv_list_params *parsed, const char *path,
                     size_t length)
{
    struct orm_field field = {0};
    const struct cfg_table *table = request->route.table;
    const char *start = path;
    const char *end = path + length;
    char shown[160];
    snprintf(shown, sizeof shown, "%.*s", (int)length, path);
    while (start < end) {
        const char *dot = memchr(start, '.', (size_t)(end - start));
        size_t piece_length = dot ? (size_t)(dot - start) : (size_t)(end - start);
        char name[80];
        if (piece_length == 0 || piece_length >= sizeof name || !table) {
            srv_respond_error(request, 400, "__visible_fields",
                              "__visible_fields: unknown field \"%s\"", shown);
            return -1;
        }
        memcpy(name, start, piece_length);
        name[piece_length] = '\0';
        const struct cfg_column *column = visible_column(table, name);
        if (!column) {
            srv_respond_error(request, 400, "__visible_fields",
                              "__visible_fields: unknown field \"%s\"", shown);
            return -1;
        }
        if (field.depth == ORM_MAX_JOIN_DEPTH + 1 ||
            (int)field.depth > request->route.table->max_joins) {
            srv_respond_error(request, 400, "__visible_fields",
                              "__visible_fields: \"%s\" needs more joins than this table's "
                              "max_joins (%d)",
                              shown, request->route.table->max_joins);
            return -1;
        }
        field.path[field.depth++] = column;
        table = column->type == CFG_TYPE_FOREIGN_KEY ? column->referenced_table : NULL;
        start = dot ? dot + 1 : end;
        if (dot && dot + 1 == end) {
            srv_respond_error(request, 400, "__visible_fields",
                              "__visible_fields: unknown field \"%s\"", shown);
            return -1;
        }
    }
    if (field.depth == 0)
        return 0;
    if (parsed->field_count == parsed->field_capacity) {
        srv_respond_error(request, 400, "__visible_fields", "__visible_fields: too many fields");
        return -1;
    }
    parsed->fields[parsed->field_count++] = field;
    return 0;
}

/* Makes room for the items of one __visible_fields (up to MAX_FIELDS in all), so that the
 * usual short list costs a few hundred bytes of the arena, not room for MAX_FIELDS. */
static void reserve_fields(struct srv_request *request, struct srv_list_params *parsed,
                           const char *text)
{
    size_t items = 1;
    for (const char *p = text; *p; p++)
        items += *p == ',';
    size_t wanted = parsed->field_count + items;
    if (wanted > MAX_FIELDS)
        wanted = MAX_FIELDS;
    if (wanted <= parsed->field_capacity)
        return;
    struct orm_field *fields = rs_arena_alloc(&request->arena, wanted * sizeof *fields);
    if (parsed->field_count)
        memcpy(fields, parsed->fields, parsed->field_count * sizeof *fields);
    parsed->fields = fields; /* the old array stays in the arena, unused */
    parsed->field_capacity = wanted;
}

static int add_fields(struct srv_request *request, struct srv_list_params *parsed, const char *text)
{
    if (refuse_empty_item(request, "__visible_fields", text) < 0)
        return -1;
    reserve_fields(request, parsed, text);
    const char *start = text;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t length = comma ? (size_t)(comma - start) : strlen(start);
        if (length > 0 && add_field(request, parsed, start, length) < 0)
            return -1;
        if (!comma)
            return 0;
        start = comma + 1;
    }
}

static int parse_operator(const char *text, enum orm_operator *op)
{
    static const struct {
        const char *name;
        enum orm_operator op;
    } operators[] = {
        {"e", ORM_OP_EQUAL},         {"ne", ORM_OP_NOT_EQUAL},      {"lt", ORM_OP_LESS},
        {"lte", ORM_OP_LESS_EQUAL},  {"gt", ORM_OP_GREATER},        {"gte", ORM_OP_GREATER_EQUAL},
        {"is_null", ORM_OP_IS_NULL}, {"not_null", ORM_OP_NOT_NULL},
    };
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
        if (strcmp(text, operators[i].name) == 0) {
            *op = operators[i].op;
            return 0;
        }
    }
    return -1;
}

static int parse_match(const char *text, enum orm_match *match)
{
    static const char *names[] = {"contains", "exact", "starts", "ends", "search"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(text, names[i]) == 0) {
            *match = (enum orm_match)i;
            return 0;
        }
    }
    return -1;
}

/* col=<query>&col__match=search on a "search": true column: one query, taken as it is ("null"
 * included: it is a word to search for here), and no operator but e. */
static int build_search(struct srv_request *request, struct srv_list_params *parsed,
                        const struct column_args *args)
{
    const char *name = args->column->name;
    char key[96];
    snprintf(key, sizeof key, "%s__match", name);
    if (!args->column->is_searchable) {
        srv_respond_error(request, 400, key,
                          "%s: %s is not a search column (its config needs \"search\": true)", key,
                          name);
        return -1;
    }
    if (args->operator_text && strcmp(args->operator_text, "e") != 0) {
        snprintf(key, sizeof key, "%s__operator", name);
        srv_respond_error(request, 400, key, "%s: a search takes no operator (only e)", key);
        return -1;
    }
    if (args->value_count != 1) {
        srv_respond_error(request, 400, name,
                          "%s: a search takes one query (%zu given); write \"a or b\" in one "
                          "query instead",
                          name, args->value_count);
        return -1;
    }
    char **values = new_value_list(request, 1);
    values[0] = (char *)args->values[0]; /* the request's already */
    parsed->filters[parsed->filter_count++] = (struct orm_filter){
        .column = args->column,
        .op = ORM_OP_EQUAL,
        .match = ORM_MATCH_SEARCH,
        .values = values,
        .value_count = 1,
    };
    return 0;
}

static int build_filter(struct srv_request *request, struct srv_list_params *parsed,
                        const struct column_args *args)
{
    const struct cfg_column *column = args->column;
    const char *name = column->name;
    char key[96];
    enum orm_operator op = ORM_OP_EQUAL;
    enum orm_match match = ORM_MATCH_CONTAINS;
    if (args->operator_text && parse_operator(args->operator_text, &op) < 0) {
        snprintf(key, sizeof key, "%s__operator", name);
        srv_respond_error(request, 400, key,
                          "%s: unknown operator \"%s\" (use e, ne, lt, lte, "
                          "gt, gte, is_null or not_null)",
                          key, args->operator_text);
        return -1;
    }
    if (args->match_text) {
        snprintf(key, sizeof key, "%s__match", name);
        if (!orm_column_is_text(column)) {
            srv_respond_error(request, 400, key, "%s: only text columns take a match mode", key);
            return -1;
        }
        if (parse_match(args->match_text, &match) < 0) {
            srv_respond_error(request, 400, key,
                              "%s: unknown match \"%s\" (use contains, "
                              "exact, starts, ends or search)",
                              key, args->match_text);
            return -1;
        }
    }
    if (match == ORM_MATCH_SEARCH)
        return build_search(request, parsed, args);
    struct orm_filter filter = {.column = column, .op = op, .match = match};
    if (op == ORM_OP_IS_NULL || op == ORM_OP_NOT_NULL) {
        parsed->filters[parsed->filter_count++] = filter;
        return 0;
    }
    if (args->value_count == 0) {
        snprintf(key, sizeof key, "%s__operator", name);
        srv_respond_error(request, 400, key, "%s needs a value for %s", key, name);
        return -1;
    }
    char **values = new_value_list(request, args->value_count);
    for (size_t i = 0; i < args->value_count; i++) {
        if (strcmp(args->values[i], "null") == 0) {
            values[i] = NULL;
            continue;
        }
        struct rs_error error = {0};
        /* A text filter is a pattern, not a value to store: "example.com" finds the emails
         * that contain it, and a longer text than the column holds simply matches nothing. */
        values[i] =
            orm_column_is_text(column)
                ? (char *)args->values[i] /* the request's already */
                : rs_arena_adopt(&request->arena,
                                 orm_value_from_text(column, args->values[i], name, &error));
        if (!values[i]) {
            srv_respond_rs_error(request, &error);
            return -1;
        }
    }
    filter.values = values;
    filter.value_count = args->value_count;
    parsed->filters[parsed->filter_count++] = filter;
    return 0;
}

static bool reserved_allowed(const char *key, enum srv_params_use use)
{
    static const char *list_keys[] = {"__order",
                                      "__page",
                                      "__page_size",
                                      "__visible_fields",
                                      "__readable",
                                      "__range_header",
                                      "__range_header_name",
                                      "__ids",
                                      "__count",
                                      "__cursor",
                                      NULL};
    static const char *export_keys[] = {"__order", "__visible_fields", "__readable", "__ids", NULL};
    if (use == SRV_PARAMS_EXPORT) {
        for (int i = 0; export_keys[i]; i++)
            if (!strcmp(key, export_keys[i]))
                return true;
        return false;
    }
    if (!strcmp(key, "__format")) /* the list's page only */
        return use == SRV_PARAMS_LIST;
    if (use == SRV_PARAMS_GET)
        return !strcmp(key, "__visible_fields") || !strcmp(key, "__readable");
    if (use == SRV_PARAMS_BULK)
        return !strcmp(key, "__ids");
    if (use != SRV_PARAMS_LIST && !strcmp(key, "__cursor"))
        return false;
    for (int i = 0; list_keys[i]; i++)
        if (!strcmp(key, list_keys[i]))
            return true;
    return false;
}

int srv_list_params_parse(struct srv_request *request, enum srv_params_use use,
                          struct srv_list_params *parsed)
{
    const struct cfg_table *table = request->route.table;
    memset(parsed, 0, sizeof *parsed);
    /* each argument names at most one column: size by the request, not by the maximum; a
     * filter per column and one for __ids */
    size_t column_capacity = request->arg_count < MAX_FILTERS ? request->arg_count : MAX_FILTERS;
    struct rs_arena *arena = &request->arena;
    parsed->filters = rs_arena_alloc(arena, (column_capacity + 1) * sizeof *parsed->filters);
    struct column_args *columns =
        rs_arena_alloc(arena, (column_capacity ? column_capacity : 1) * sizeof *columns);
    size_t column_count = 0;
    const char *ids = NULL;
    parsed->page = 1;
    parsed->page_size = table->page_size;

    for (size_t i = 0; i < request->arg_count; i++) {
        const char *key = request->args[i].key;
        const char *value = request->args[i].value ? request->args[i].value : "";
        if (strncmp(key, "__", 2) == 0) {
            if (!reserved_allowed(key, use)) {
                bool is_page = !strcmp(key, "__page") || !strcmp(key, "__page_size");
                if (use == SRV_PARAMS_EXPORT && is_page)
                    srv_respond_error(request, 400, key,
                                      "%s does not apply: the export has every matching row", key);
                else
                    srv_respond_error(request, 400, key, "unknown parameter \"%s\"", key);
                return -1;
            }
            if (!strcmp(key, "__ids")) {
                ids = value;
            } else if (!strcmp(key, "__order")) {
                if (add_orders(request, parsed, value) < 0)
                    return -1;
            } else if (!strcmp(key, "__page")) {
                if (parse_positive(request, key, value, &parsed->page) < 0)
                    return -1;
                parsed->page_given = true;
            } else if (!strcmp(key, "__cursor")) {
                if (parsed->cursor) {
                    srv_respond_error(request, 400, key, "__cursor may be given once");
                    return -1;
                }
                parsed->cursor = value;
            } else if (!strcmp(key, "__page_size")) {
                if (parse_positive(request, key, value, &parsed->page_size) < 0)
                    return -1;
                if (parsed->page_size > table->max_page_size) {
                    srv_metrics_limit_hit(request->app, SRV_LIMIT_MAX_PAGE_SIZE);
                    srv_respond_error(request, 403, key,
                                      "__page_size %ld is over this table's "
                                      "max_page_size of %d",
                                      parsed->page_size, table->max_page_size);
                    return -1;
                }
            } else if (!strcmp(key, "__visible_fields")) {
                if (add_fields(request, parsed, value) < 0)
                    return -1;
            } else if (!strcmp(key, "__readable")) {
                if (parse_bool_flag(request, key, value, &parsed->select.readable) < 0)
                    return -1;
            } else if (!strcmp(key, "__range_header")) {
                if (parse_bool_flag(request, key, value, &parsed->range_header) < 0)
                    return -1;
            } else if (!strcmp(key, "__count")) {
                if (strcmp(value, "exact") != 0 && strcmp(value, "estimated") != 0) {
                    srv_respond_error(request, 400, key,
                                      "__count must be exact or estimated, got \"%.40s\"", value);
                    return -1;
                }
                parsed->count_estimated = strcmp(value, "estimated") == 0;
                parsed->count_given = true;
            } else if (!strcmp(key, "__format")) {
                if (strcmp(value, "json") != 0 && strcmp(value, "csv") != 0) {
                    srv_respond_error(request, 400, key,
                                      "__format must be json or csv, got \"%.40s\"", value);
                    return -1;
                }
                parsed->format = value;
            } else if (!strcmp(key, "__range_header_name")) {
                /* written into the Content-Range value: a plain word, nothing that could split
                 * or end a header */
                size_t length = strlen(value);
                if (length == 0 || length > 60 ||
                    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_") != length) {
                    srv_respond_error(request, 400, key,
                                      "%s must be 1 to 60 letters, digits, - and _", key);
                    return -1;
                }
                parsed->range_header_name = (char *)value;
            }
            continue;
        }
        if (use == SRV_PARAMS_GET) {
            srv_respond_error(request, 400, key, "unknown parameter \"%s\"", key);
            return -1;
        }
        size_t stem = 0;
        enum { VALUE, OPERATOR, MATCH } kind = VALUE;
        char name[80];
        if (has_suffix(key, "__operator", &stem))
            kind = OPERATOR;
        else if (has_suffix(key, "__match", &stem))
            kind = MATCH;
        else if (!has_suffix(key, "[]", &stem))
            stem = strlen(key);
        if (stem >= sizeof name) {
            srv_respond_error(request, 400, key, "unknown column \"%.60s\"", key);
            return -1;
        }
        memcpy(name, key, stem);
        name[stem] = '\0';
        const struct cfg_column *column = cfg_column_find(table, name);
        if (!column) {
            srv_respond_error(request, 400, key, "unknown column \"%s\"", name);
            return -1;
        }
        if (column->is_secret) {
            srv_respond_error(request, 400, key,
                              "\"%s\" is a secret column: it cannot be "
                              "filtered on",
                              name);
            return -1;
        }
        struct column_args *args =
            column_args_for(request, columns, &column_count, column, column_capacity);
        if (!args) {
            srv_respond_error(request, 400, key, "too many filters");
            return -1;
        }
        if (kind == OPERATOR) {
            args->operator_text = value;
        } else if (kind == MATCH) {
            args->match_text = value;
        } else {
            args->values[args->value_count++] = value;
        }
    }

    for (size_t i = 0; i < column_count; i++)
        if (build_filter(request, parsed, &columns[i]) < 0)
            return -1;
    if (ids && add_ids_filter(request, parsed, ids) < 0)
        return -1;

    if ((long long)(parsed->page - 1) * parsed->page_size > (long long)INT_MAX * 1000) {
        srv_respond_error(request, 400, "__page", "__page is too large");
        return -1;
    }
    parsed->select.table = table;
    parsed->select.filters = parsed->filters;
    parsed->select.filter_count = parsed->filter_count;
    parsed->select.orders = parsed->orders;
    parsed->select.order_count = parsed->order_count;
    parsed->select.fields = parsed->fields;
    parsed->select.field_count = parsed->field_count;
    const struct srv_app *app = request->app;
    size_t table_index = (size_t)(table - app->config->tables);
    if (app->projections && table_index < app->config->table_count)
        parsed->select.prepared = app->projections[2 * table_index + parsed->select.readable];
    parsed->select.limit = use == SRV_PARAMS_LIST ? parsed->page_size : -1;
    parsed->select.offset = use == SRV_PARAMS_LIST ? (parsed->page - 1) * parsed->page_size : 0;
    return parsed->cursor ? srv_cursor_params_apply(request, parsed) : 0;
}
