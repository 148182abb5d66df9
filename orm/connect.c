/*
 * orm/connect.c — the session settings every connection uses, and a blocking connect for the
 * CLI. The settings make PostgreSQL render values the way the API promises: timestamps in
 * UTC ISO 8601, intervals as ISO 8601 durations. A pool behind a transaction pooler
 * (PgBouncer) cannot keep them on a session: it sets them in every transaction instead.
 */
#include <stdio.h>
#include <stdlib.h>

#include "orm/orm.h"

/* The settings, once: at connect (options) or in every transaction (set_config). Constants:
 * nothing here comes from a request or the config. */
static const char *const session_settings[][2] = {
    {"TimeZone", "UTC"},
    {"DateStyle", "ISO"},
    {"IntervalStyle", "iso_8601"},
    {"extra_float_digits", "1"},
};
#define SESSION_SETTING_COUNT (sizeof session_settings / sizeof session_settings[0])

char *orm_session_options(int statement_timeout_ms)
{
    struct sb options = {0};
    for (size_t i = 0; i < SESSION_SETTING_COUNT; i++)
        sb_appendf(&options, "%s-c %s=%s", i ? " " : "", session_settings[i][0],
                   session_settings[i][1]);
    if (statement_timeout_ms > 0)
        sb_appendf(&options, " -c statement_timeout=%d", statement_timeout_ms);
    return sb_take(&options);
}

char *orm_transaction_settings_sql(int statement_timeout_ms)
{
    struct sb sql = {0};
    sb_append(&sql, "SELECT");
    for (size_t i = 0; i < SESSION_SETTING_COUNT; i++)
        sb_appendf(&sql, "%s set_config('%s', '%s', true)", i ? "," : "", session_settings[i][0],
                   session_settings[i][1]);
    if (statement_timeout_ms > 0)
        sb_appendf(&sql, ", set_config('statement_timeout', '%d', true)", statement_timeout_ms);
    return sb_take(&sql);
}

PGconn *orm_connect_sync(const char *url, struct rs_error *error)
{
    char *options = orm_session_options(0);
    const char *keywords[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *values[] = {url, options, "restable", "10", NULL};
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    free(options);
    if (!conn) {
        rs_error_set(error, RS_UNAVAILABLE, NULL, "cannot connect to the database: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *message = PQerrorMessage(conn);
        rs_error_set(error, RS_UNAVAILABLE, NULL, "cannot connect to the database: %.200s",
                     message);
        /* libpq messages end with a newline; the user sees one line */
        for (char *p = error->message; *p; p++)
            if (*p == '\n')
                *p = ' ';
        PQfinish(conn);
        return NULL;
    }
    /* quiet NOTICEs (e.g. "relation already exists, skipping") on the CLI */
    PGresult *result = PQexec(conn, "SET client_min_messages = warning");
    PQclear(result);
    return conn;
}
