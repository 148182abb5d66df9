/*
 * orm/generate.c — `restable schema generate`: reads an existing database's tables from
 * pg_catalog and prints a config "tables" object declaring them (types, lengths, nullability,
 * primary keys, foreign keys, unique columns), so an existing database can be adopted.
 */
#include <stdlib.h>
#include <string.h>

#include "orm/orm.h"

static const char columns_sql[] =
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "       coalesce(pg_get_expr(d.adbin, d.adrelid), ''), "
    "       EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p' "
    "               AND p.conkey = ARRAY[a.attnum]), "
    "       EXISTS (SELECT 1 FROM pg_constraint u WHERE u.conrelid = c.oid AND u.contype = 'u' "
    "               AND u.conkey = ARRAY[a.attnum]), "
    "       coalesce((SELECT r.relname FROM pg_constraint f JOIN pg_class r ON r.oid = f.confrelid "
    "                 WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conkey = ARRAY[a.attnum] "
    "                 LIMIT 1), ''), "
    "       coalesce((SELECT f.confdeltype::text FROM pg_constraint f WHERE f.conrelid = c.oid "
    "                 AND f.contype = 'f' AND f.conkey = ARRAY[a.attnum] LIMIT 1), '') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
    "  AND c.relname NOT LIKE 'restable\\_%' "
    "ORDER BY c.relname, a.attnum";

/* Maps format_type() text to a config column spec; NULL type when there is no equivalent. */
static json_t *column_spec(const char *type, const char *default_sql, bool is_primary_key)
{
    json_t *spec = json_object();
    bool is_array = strlen(type) > 2 && strcmp(type + strlen(type) - 2, "[]") == 0;
    char base[128];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(type) - (is_array ? 2 : 0)), type);
    bool from_sequence = strncmp(default_sql, "nextval(", 8) == 0;
    const char *name = NULL;
    int length = 0, precision = 0, scale = 0;
    if (sscanf(base, "character varying(%d)", &length) == 1)
        name = "varchar";
    else if (strcmp(base, "character varying") == 0)
        name = "varchar";
    else if (strcmp(base, "text") == 0)
        name = "text";
    else if (strcmp(base, "integer") == 0)
        name = from_sequence && is_primary_key ? "serial" : "integer";
    else if (strcmp(base, "bigint") == 0)
        name = from_sequence && is_primary_key ? "bigserial" : "bigint";
    else if (strcmp(base, "smallint") == 0)
        name = "smallint";
    else if (strcmp(base, "boolean") == 0)
        name = "boolean";
    else if (sscanf(base, "numeric(%d,%d)", &precision, &scale) >= 1 || !strcmp(base, "numeric"))
        name = "numeric";
    else if (strcmp(base, "real") == 0)
        name = "real";
    else if (strcmp(base, "double precision") == 0)
        name = "double";
    else if (strcmp(base, "timestamp without time zone") == 0)
        name = "timestamp";
    else if (strcmp(base, "timestamp with time zone") == 0)
        name = "timestamptz";
    else if (strcmp(base, "date") == 0)
        name = "date";
    else if (strcmp(base, "time without time zone") == 0)
        name = "time";
    else if (strcmp(base, "interval") == 0)
        name = "interval";
    else if (strcmp(base, "uuid") == 0)
        name = "uuid";
    else if (strcmp(base, "json") == 0 || strcmp(base, "jsonb") == 0 || strcmp(base, "bytea") == 0)
        name = base;
    if (!name) {
        json_decref(spec);
        return NULL;
    }
    if (is_array) {
        json_object_set_new(spec, "type", json_string("array"));
        json_object_set_new(spec, "of", json_string(name));
    } else {
        json_object_set_new(spec, "type", json_string(name));
    }
    if (length > 0)
        json_object_set_new(spec, "length", json_integer(length));
    if (precision > 0)
        json_object_set_new(spec, "precision", json_integer(precision));
    if (scale > 0)
        json_object_set_new(spec, "scale", json_integer(scale));
    if (strstr(default_sql, "now()") || strstr(default_sql, "CURRENT_"))
        json_object_set_new(spec, "default", json_string("now"));
    else if (strstr(default_sql, "gen_random_uuid()"))
        json_object_set_new(spec, "default", json_string("uuid4"));
    return spec;
}

static const char *on_delete_name(const char *code)
{
    switch (code[0]) {
    case 'c':
        return "cascade";
    case 'r':
        return "restrict";
    case 'n':
        return "set null";
    case 'd':
        return "set default";
    default:
        return NULL;
    }
}

int orm_schema_generate(PGconn *conn, FILE *out, struct rs_error *error)
{
    PGresult *result = PQexec(conn, columns_sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        rs_error_set(error, 1, NULL, "cannot read the schema: %s", PQresultErrorMessage(result));
        PQclear(result);
        return -1;
    }
    json_t *tables = json_object();
    for (int row = 0; row < PQntuples(result); row++) {
        const char *table = PQgetvalue(result, row, 0);
        const char *column = PQgetvalue(result, row, 1);
        bool is_primary_key = PQgetvalue(result, row, 5)[0] == 't';
        json_t *spec =
            column_spec(PQgetvalue(result, row, 2), PQgetvalue(result, row, 4), is_primary_key);
        json_t *declared = json_object_get(tables, table);
        if (!declared) {
            declared = json_pack("{s:{}}", "columns");
            json_object_set_new(tables, table, declared);
        }
        if (!spec) {
            fprintf(stderr, "restable: %s.%s: type %s has no restable equivalent; left out\n",
                    table, column, PQgetvalue(result, row, 2));
            continue;
        }
        const char *references = PQgetvalue(result, row, 7);
        if (*references) {
            json_object_clear(spec);
            json_object_set_new(spec, "type", json_string("foreign_key"));
            json_object_set_new(spec, "references", json_string(references));
            const char *action = on_delete_name(PQgetvalue(result, row, 8));
            if (action)
                json_object_set_new(spec, "on_delete", json_string(action));
        }
        if (is_primary_key)
            json_object_set_new(spec, "primary_key", json_true());
        else if (PQgetvalue(result, row, 6)[0] == 't')
            json_object_set_new(spec, "unique", json_true());
        if (PQgetvalue(result, row, 3)[0] != 't' && !is_primary_key)
            json_object_set_new(spec, "null", json_true());
        json_object_set_new(json_object_get(declared, "columns"), column, spec);
    }
    PQclear(result);
    json_t *document = json_pack("{s:o}", "tables", tables);
    char *text = json_dumps(document, JSON_INDENT(2));
    json_decref(document);
    if (text) {
        fputs(text, out);
        fputc('\n', out);
        free(text);
    }
    return 0;
}
