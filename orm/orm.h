/*
 * orm/orm.h — the public face of the ORM: column types, a pure SQL query builder, an async
 * libpq connection pool, and schema migrations. A C program could use it without the server:
 * it knows nothing of HTTP. Tables come from config/ (struct cfg_table / cfg_column).
 *
 * Values travel as PostgreSQL text: the type layer turns query-string text or JSON into the
 * canonical text PostgreSQL accepts for that type (or NULL for SQL NULL), the builder binds
 * that text as $n with an explicit cast, and PostgreSQL renders rows as JSON.
 */
#ifndef RESTABLE_ORM_H
#define RESTABLE_ORM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

/* ---- types (orm/types.c) ---------------------------------------------------------------- */

/* Parses a query-string value for the column (an array column takes one element). Returns
 * the PostgreSQL text the caller frees, or NULL with error->outcome RS_INVALID and error->field set
 * to field_name. The text "null" is not special here: the caller decides what it means. */
char *orm_value_from_text(const struct cfg_column *column, const char *text, const char *field_name,
                          struct rs_error *error);

/* Parses and validates a JSON body value for the column: JSON type, length, range, choices,
 * email/uuid/timestamp syntax, null against nullability. On success returns 0 and sets *out
 * to PostgreSQL text the caller frees (NULL for SQL NULL). On failure returns -1 with
 * error->outcome RS_UNPROCESSABLE and error->field the column name. */
int orm_value_from_json(const struct cfg_column *column, const json_t *value, char **out,
                        struct rs_error *error);

/* The SQL type used in DDL: "varchar(100)", "serial", "numeric(10,2)", "integer[]"... */
void orm_column_ddl_type(const struct cfg_column *column, struct sb *out);

/* The type a bound value of this column is cast to: "integer", "timestamptz", "varchar[]".
 * For arrays this is the array type; orm_column_element_cast gives the element's. */
const char *orm_column_cast(const struct cfg_column *column);
const char *orm_column_element_cast(const struct cfg_column *column);

/* The column's declared default as a JSON value for GET /T/new/ ("now" renders the current
 * time in the type's format, "uuid4" a fresh uuid). Caller owns the result; JSON null when
 * the column has no default. */
json_t *orm_column_default_json(const struct cfg_column *column);

/* A JSON Schema fragment describing one column (type, format, maxLength, enum, nullability). */
json_t *orm_column_json_schema(const struct cfg_column *column);

/* True for varchar, text and email: filters on them match text (contains by default). */
bool orm_column_is_text(const struct cfg_column *column);

/* ---- query builder (orm/query.c): pure, no I/O ------------------------------------------ */

#define ORM_MAX_JOIN_DEPTH 4

enum orm_operator {
    ORM_OP_EQUAL, /* "e"; the default. Text columns honour the match mode. Arrays: contains. */
    ORM_OP_NOT_EQUAL,
    ORM_OP_LESS,
    ORM_OP_LESS_EQUAL,
    ORM_OP_GREATER,
    ORM_OP_GREATER_EQUAL,
    ORM_OP_IS_NULL,
    ORM_OP_NOT_NULL,
};

/* SEARCH: full-text search of a "search": true column, one value (a websearch_to_tsquery
 * query in the table's search_language), operator EQUAL only. */
enum orm_match {
    ORM_MATCH_CONTAINS,
    ORM_MATCH_EXACT,
    ORM_MATCH_STARTS,
    ORM_MATCH_ENDS,
    ORM_MATCH_SEARCH,
};

/* One condition on a column of the base table. values are PostgreSQL texts from
 * orm_value_from_text; a NULL entry means "IS NULL". With several values the condition holds
 * when it holds for any of them (IN / ANY), bound as one array parameter so the statement
 * text does not depend on how many values there are. */
struct orm_filter {
    const struct cfg_column *column;
    enum orm_operator op;
    enum orm_match match;
    char *const *values;
    size_t value_count;
    /* The primary key of a one-row route (PUT/PATCH/DELETE /T/{id}/): one value, bound as a
     * scalar "= $n" rather than the list filters' "= ANY($n)", over which PostgreSQL never
     * keeps a generic plan for a unique column (docs/decisions.md). */
    bool is_row_key;
};

struct orm_order {
    const struct cfg_column *column;
    bool descending;
};

/* A visible field: path[0] is a column of the base table; each further element is a column
 * of the table the previous foreign key references. depth = number of elements (>= 1). */
struct orm_field {
    const struct cfg_column *path[ORM_MAX_JOIN_DEPTH + 1];
    size_t depth;
};

/* The default projection of a table (every non-secret column, with or without the readable
 * keys), built once ahead of the requests that ask for no field list: see orm_prepare_projection.
 */
struct orm_prepared_projection;

struct orm_select {
    const struct cfg_table *table;
    const struct orm_filter *filters;
    size_t filter_count;
    const struct orm_order *orders; /* none: primary key descending */
    size_t order_count;
    const struct orm_field *fields; /* none: every non-secret column of the table */
    size_t field_count;
    bool readable; /* add "<fk>_readable" for each foreign key in the output */
    long limit;    /* < 0: no limit */
    long offset;   /* <= 0: none */
    /* optional: used instead of building the same projection again when field_count is 0 and
     * it was prepared for this table and this readable */
    const struct orm_prepared_projection *prepared;
    /* keyset pagination (orm_build_list_keyset): the previous page's last row, one value per
     * key of orm_keyset_of (PostgreSQL text; NULL entries are SQL NULL); none: the first page */
    const char *const *after;
    size_t after_count;
};

/* Builds table's default projection once (readable: with the "<fk>_readable" keys), for
 * orm_select.prepared. NULL when the table cannot be read (the build then reports it). */
struct orm_prepared_projection *orm_prepare_projection(const struct cfg_table *table,
                                                       bool readable);
void orm_prepared_projection_free(struct orm_prepared_projection *prepared);

/* A column value to write: value is PostgreSQL text (NULL = SQL NULL). */
struct orm_assignment {
    const struct cfg_column *column;
    const char *value;
};

struct orm_row {
    const struct orm_assignment *assignments;
    size_t assignment_count;
};

/* SQL text and its parameters; params are owned copies (NULL entries bind SQL NULL). */
struct orm_sql {
    struct sb text;
    char **params;
    size_t param_count;
    size_t param_capacity;
};

void orm_sql_free(struct orm_sql *sql);
/* Appends a parameter (copied; NULL binds SQL NULL) and returns its 1-based number. */
int orm_sql_bind(struct orm_sql *sql, const char *value);
/* Appends "name" with embedded quotes doubled. */
void orm_quote_identifier(struct sb *out, const char *name);
/* True when name is a valid identifier per the config rules ([a-z_][a-z0-9_]{0,62}). */
bool orm_identifier_is_valid(const char *name);

/* Each builder returns 0, or -1 with error (RS_INVALID: e.g. a join deeper than the table's
 * max_joins, an operator that does not fit the column). Result shapes (one row, one column,
 * JSON text unless said otherwise):
 *   list:   JSON array of row objects ('[]' when none)
 *   list_with_total: two columns: the JSON array, and the count of all matching rows (bigint)
 *   get:    zero rows, or one: the JSON object, and the row's version (its xmin as text: the
 *           ETag of GET /T/{pk}/ and what orm_row_target.versions compares with)
 *   count:  one bigint
 *   insert: JSON array of {"<pk name>": value} in row order
 *   update: JSON array of updated row objects (rendered as list renders them)
 *   delete: one bigint, the number of rows deleted
 *   ids:    JSON object {"<pk>": "<readable>"} ordered by primary key
 */
int orm_build_list(const struct orm_select *select, struct orm_sql *out, struct rs_error *error);
int orm_build_list_with_total(const struct orm_select *select, struct orm_sql *out,
                              struct rs_error *error);
int orm_build_get(const struct orm_select *select, const char *pk_value, struct orm_sql *out,
                  struct rs_error *error);
int orm_build_count(const struct orm_select *select, struct orm_sql *out, struct rs_error *error);
int orm_build_insert(const struct cfg_table *table, const struct orm_row *rows, size_t row_count,
                     struct orm_sql *out, struct rs_error *error);
/* Most parameters one statement may bind (the protocol's limit). */
#define ORM_MAX_PARAMS 65535
/* The unique key an upsert names (POST /T/?__on_conflict=...). */
struct orm_conflict {
    const struct cfg_column *const *columns;
    size_t column_count;
};
/* True when columns are exactly a unique key of table: its primary key or a unique column (the
 * config declares no composite unique keys). */
bool orm_is_unique_key(const struct cfg_table *table, const struct cfg_column *const *columns,
                       size_t column_count);
/* Bulk create (conflict NULL) and upsert (orm/query_insert.c): one INSERT ... VALUES, DEFAULT
 * where a row leaves a column out; with conflict, ON CONFLICT (its columns) DO UPDATE SET the
 * columns each row sent (never the primary key). An upsert row must send each conflict column
 * that the database cannot fill (serial, a declared default), and not as null. One row, three
 * columns: the JSON array of the rows in the order sent (rendered as list renders them), a JSON
 * array of booleans in the same order (true: inserted, false: an existing row was updated), and
 * the first row's version (as orm_build_get's). */
int orm_build_insert_rows(const struct cfg_table *table, const struct orm_row *rows,
                          size_t row_count, const struct orm_conflict *conflict,
                          struct orm_sql *out, struct rs_error *error);
/* Updates rows matching filters. With reset_missing, every writable column not assigned goes
 * back to its default (or NULL): the PUT semantics. */
int orm_build_update(const struct cfg_table *table, const struct orm_row *set, bool reset_missing,
                     const struct orm_filter *filters, size_t filter_count, struct orm_sql *out,
                     struct rs_error *error);
int orm_build_delete(const struct cfg_table *table, const struct orm_filter *filters,
                     size_t filter_count, struct orm_sql *out, struct rs_error *error);
/* One row of a table, for PUT/PATCH/DELETE /T/{pk}/. versions (If-Match): when non-NULL the
 * write happens only if the row is still at one of these versions (the second column of
 * orm_build_get: the row's xmin as decimal text; anything else never matches), tested in the
 * statement's own WHERE, so two writers holding the same version cannot both succeed. */
struct orm_row_target {
    const char *pk_value;
    const char *const *versions; /* NULL: no precondition (also If-Match: *) */
    size_t version_count;
};
/* One-row writes. Result columns:
 *   update_row: the JSON array of the updated row ('[]' when none, as update renders it), the
 *               row's new version (NULL when nothing was updated), and, with versions, whether
 *               the row exists (true with '[]' means its version did not match: 412)
 *   delete_row: the number of rows deleted (bigint), and, with versions, whether the row
 *               exists (as above)
 * The existence test reads the statement's snapshot, taken before the write: one round trip. */
int orm_build_update_row(const struct cfg_table *table, const struct orm_row *set,
                         bool reset_missing, const struct orm_row_target *target,
                         struct orm_sql *out, struct rs_error *error);
int orm_build_delete_row(const struct cfg_table *table, const struct orm_row_target *target,
                         struct orm_sql *out, struct rs_error *error);
/* CSV (orm/query_csv.c). list_csv: the page as rows of text columns, one per visible field
 * (named "director.name" for a joined one), each value the text of its JSON rendering (SQL NULL
 * for null). export: every matching row (no limit or offset) as `COPY (...) TO STDOUT WITH
 * (FORMAT csv, HEADER)` in copy, which binds nothing: its values are read with
 * current_setting('restable.export_n'), which settings (empty text when there are none; its
 * parameters are bound) sets for the transaction, so it must run first in the same one. */
int orm_build_list_csv(const struct orm_select *select, struct orm_sql *out,
                       struct rs_error *error);
int orm_build_export(const struct orm_select *select, struct orm_sql *settings,
                     struct orm_sql *copy, struct rs_error *error);
/* `EXPLAIN (FORMAT JSON) SELECT 1 FROM <table> WHERE <filters>`: the planner's estimate of how
 * many rows the select's filters match (for __count=estimated), read by orm_explain_rows. */
int orm_build_count_estimate(const struct orm_select *select, struct orm_sql *out,
                             struct rs_error *error);
/* The top plan node's "Plan Rows" of an EXPLAIN (FORMAT JSON) result, or -1 when the text is
 * not such a plan. */
long long orm_explain_rows(const char *explain_json);
/* search: case-insensitive contains on the readable text, or NULL. */
int orm_build_ids(const struct cfg_table *table, const char *search, long limit, long offset,
                  struct orm_sql *out, struct rs_error *error);

/* ---- keyset pagination (orm/query_cursor.c, orm/cursor.c) ------------------------------ */

/* The keys a keyset page is ordered by: the select's orders up to the primary key (each column
 * once: a repeat changes no order), then the primary key (ascending after other columns,
 * descending alone: the list's default). The primary key makes every position unique. */
#define ORM_MAX_KEYSET_KEYS 17
struct orm_keyset {
    struct orm_order keys[ORM_MAX_KEYSET_KEYS];
    size_t key_count;
};
/* -1 with a 400 error for an order that cannot be a keyset (an array of json). */
int orm_keyset_of(const struct orm_select *select, struct orm_keyset *keyset,
                  struct rs_error *error);
/* The keyset's normalised order, what a cursor is bound to: "name,-rating,id". */
void orm_keyset_order_text(const struct orm_keyset *keyset, struct sb *out);
/* A page of select->limit rows after select->after (every row when after_count is 0) in the
 * keyset's order, without OFFSET: the continuation is a row comparison over the keys (NULLs
 * placed as PostgreSQL orders them: last ascending, first descending). One row, two columns:
 * the JSON array of the page's rows, and the page's last row's key values as a JSON array of
 * PostgreSQL texts (NULL when no row follows the page: the last page). */
int orm_build_list_keyset(const struct orm_select *select, struct orm_sql *out,
                          struct rs_error *error);

/* The key cursors are signed with (HMAC-SHA256). */
struct orm_cursor_key {
    unsigned char bytes[32];
};
enum orm_cursor_key_source {
    ORM_CURSOR_KEY_CONFIGURED, /* server.cursor_secret */
    ORM_CURSOR_KEY_FROM_JWT,   /* derived from auth.jwt.secret (HKDF, a label of its own) */
    ORM_CURSOR_KEY_RANDOM,     /* neither: random, so this process's cursors only */
};
/* The cursor key of a config: HKDF-SHA256 of server.cursor_secret, else of auth.jwt.secret
 * (both shared by every instance), else random bytes. */
enum orm_cursor_key_source orm_cursor_key_init(const struct cfg_config *config,
                                               struct orm_cursor_key *key);
#define ORM_CURSOR_MAX_LENGTH 4096
/* The opaque cursor of a position: base64url of the HMAC and a payload naming the table, the
 * normalised order and the key values (values_json: orm_build_list_keyset's second column).
 * Caller frees; NULL when values_json is not a JSON array or the cursor would be too long. */
char *orm_cursor_encode(const struct orm_cursor_key *key, const char *table, const char *order,
                        const char *values_json);
/* Verifies text (its HMAC, then that it was made for table and order) and returns its values
 * (count in *value_count; NULL entries are SQL NULL) as one allocation the caller frees, or
 * NULL with a 400 error for field "__cursor". */
char **orm_cursor_decode(const struct orm_cursor_key *key, const char *text, const char *table,
                         const char *order, size_t *value_count, struct rs_error *error);

/* ---- pool (orm/pool.c): async, one event-loop thread ------------------------------------ */

struct orm_pool;

struct orm_pool_options {
    const char *url;          /* libpq connection string or URI */
    int size;                 /* connections */
    int acquire_timeout_ms;   /* how long a query may wait to start, in the queue or
                               * pipelined behind another query: then ORM_E_TIMEOUT */
    int statement_timeout_ms; /* how long a query may run once started: PostgreSQL's
                               * statement_timeout on every connection, and the pool cancels
                               * (ORM_E_STATEMENT_TIMEOUT) what runs past it; 0 = none */
    int queue_limit;          /* waiting queries beyond this fail at once; 0 = 4096 */
    /* Unnamed statements only (Parse + Bind + Execute every time, nothing prepared lives on
     * the connection): for PgBouncer in transaction mode, where the next transaction may run
     * on another server connection. database.prepared_statements: false. Nothing is set on
     * the session either: no "options" at connect (PgBouncer 1.18 refuses them), and every job
     * starts with orm_transaction_settings_sql instead. */
    bool unnamed_statements_only;
};

enum orm_status {
    ORM_OK = 0,
    ORM_E_UNAVAILABLE,       /* no connection to the database could be used (down, reconnecting) */
    ORM_E_TIMEOUT,           /* waited acquire_timeout_ms without getting a connection */
    ORM_E_QUEUE_FULL,        /* too many waiting already */
    ORM_E_QUERY,             /* PostgreSQL answered with an error: see sqlstate / constraint */
    ORM_E_SHUTDOWN,          /* the pool is closing */
    ORM_E_STATEMENT_TIMEOUT, /* started, but cancelled after statement_timeout_ms (PostgreSQL's
                              * own timeout comes back as ORM_E_QUERY with sqlstate 57014) */
};

/* What a query came to. On ORM_OK result holds the last statement's result and belongs to the
 * callback: hand it on and set outcome->result to NULL, or leave it set and the pool PQclears
 * it after the callback returns (never PQclear it and leave the pointer). Otherwise result is
 * NULL and message says why. */
struct orm_outcome {
    enum orm_status status;
    PGresult *result;
    char sqlstate[6];
    char constraint[64];
    char column[64];
    char message[256];
};

/* Runs on the pool's thread. It must not block; it owns outcome->result. */
typedef void (*orm_result_cb)(void *context, struct orm_outcome *outcome);

struct orm_statement {
    const char *sql;
    const char *const *params;
    int param_count;
};

/* Starts the event-loop thread and begins connecting (does not wait for the database: a
 * database that is down is retried with back-off). NULL with error on bad options. */
struct orm_pool *orm_pool_new(const struct orm_pool_options *options, struct rs_error *error);

/* Queues statements to run, pipelined, as one transaction on one connection (statements up to
 * the last run in the same implicit transaction; any error rolls them all back). SQL and
 * params are copied. The callback runs exactly once, on the pool thread — possibly before this
 * returns when the query fails at once (queue full, shutting down, no connection up). */
void orm_pool_submit(struct orm_pool *pool, const struct orm_statement *statements,
                     size_t statement_count, orm_result_cb callback, void *context);

/* Like orm_pool_submit, for statements without side effects (reads): when they were pipelined
 * behind a query that stalls, the pool sends them again on another connection and drops the
 * first copy's answer, so a stuck table does not hold them up. */
void orm_pool_submit_read(struct orm_pool *pool, const struct orm_statement *statements,
                          size_t statement_count, orm_result_cb callback, void *context);

/* A health probe: like orm_pool_submit, but it runs only on a connection with nothing in
 * flight (never pipelined behind other work) and fails with ORM_E_TIMEOUT when none is free
 * within timeout_ms (or the pool's acquire timeout, if shorter). */
void orm_pool_submit_probe(struct orm_pool *pool, const struct orm_statement *statements,
                           size_t statement_count, int timeout_ms, orm_result_cb callback,
                           void *context);

/* ---- streams (orm/pool_stream.c): COPY ... TO STDOUT in constant memory ------------------ */

struct orm_stream;
struct orm_stream_options {
    size_t buffer_bytes;  /* the bounded buffer between PostgreSQL and the consumer; 0: 256 KiB */
    int stall_timeout_ms; /* the buffer full and nothing taken for this long: the copy is cut
                           * and its connection reset; 0: no limit */
};
/* Runs once on the pool thread: ORM_OK when the first row after the header is in (or the copy
 * ended: the header alone), else the failure before any row (nothing was read: answer it). */
typedef void (*orm_stream_started_cb)(void *context, struct orm_stream *stream,
                                      struct orm_outcome *outcome);
/* Runs on the pool thread after orm_stream_read said ORM_STREAM_WAIT: something to read. */
typedef void (*orm_stream_ready_cb)(void *context);

/* Runs BEGIN READ ONLY, the prelude statements (bound parameters), copy_sql (a COPY ... TO
 * STDOUT) and COMMIT on an idle connection of its own, nothing pipelined behind it. Everything
 * is copied. The started callback hands over the stream (it may run before this returns: queue
 * full, no database); from then the caller must call orm_stream_release on it once. */
void orm_pool_stream(struct orm_pool *pool, const struct orm_statement *prelude,
                     size_t prelude_count, const char *copy_sql,
                     const struct orm_stream_options *options, orm_stream_started_cb started,
                     orm_stream_ready_cb ready, void *context);
enum orm_stream_state {
    ORM_STREAM_DATA, /* *length bytes were copied */
    ORM_STREAM_WAIT, /* nothing yet: suspend(argument) ran under the stream's lock, and the
                      * ready callback comes once there is something */
    ORM_STREAM_END,  /* all of it was read */
    ORM_STREAM_CUT,  /* the copy failed or was cut part-way */
};
/* Any thread; the CSV bytes (rows end with CRLF) up to size. */
enum orm_stream_state orm_stream_read(struct orm_stream *stream, char *out, size_t size,
                                      size_t *length, void (*suspend)(void *argument),
                                      void *argument);
/* The consumer is done with the stream, whole or not: no callback runs after it, and a copy
 * still running is cut at once (its connection reset). NULL is ignored. */
void orm_stream_release(struct orm_stream *stream);

/* ---- sessions (orm/pool_session.c): one connection held for one transaction ------------- */

/* What a session's step asks for next. */
enum orm_session_action { ORM_SESSION_NEXT, ORM_SESSION_COMMIT, ORM_SESSION_ROLLBACK };
/* With ORM_SESSION_NEXT: the next step's statements, copied before the step callback returns. */
struct orm_session_next {
    const struct orm_statement *statements;
    size_t statement_count;
};
/* Runs on the pool thread after each step that succeeded; outcome is as for orm_result_cb. It
 * must not block: it builds the next step from this one's result (or ends the session). */
typedef enum orm_session_action (*orm_session_step_cb)(void *context, struct orm_outcome *outcome,
                                                       struct orm_session_next *next);

/* A conversation on one connection: BEGIN plus statements is sent on an idle connection, which
 * the session then holds — nothing else is sent on it, pipelined or not, until it ends. After
 * each step, step() says what comes next; ORM_SESSION_COMMIT and ORM_SESSION_ROLLBACK end it.
 * A failed step (an error, the statement timeout, a lost connection) rolls the transaction back
 * at once, without calling step(). done runs exactly once, on the pool thread (or before this
 * returns when the session cannot start): with a failed step's outcome, else with the outcome
 * of the COMMIT (which may fail too) or the ROLLBACK asked for. When a COMMIT or ROLLBACK fails
 * the connection's state is unknown and it is dropped. Each step is bounded by the statement
 * timeout, the wait for a connection by the acquire timeout. */
void orm_pool_submit_session(struct orm_pool *pool, const struct orm_statement *statements,
                             size_t statement_count, orm_session_step_cb step, orm_result_cb done,
                             void *context);

/* Blocking convenience for the CLI and tests: submits and waits. Caller PQclears
 * outcome->result. Must not be called from the pool thread. */
void orm_pool_run_sync(struct orm_pool *pool, const struct orm_statement *statements,
                       size_t statement_count, struct orm_outcome *outcome);

/* True when at least one connection is up. Thread-safe. */
bool orm_pool_is_ready(struct orm_pool *pool);

struct orm_pool_stats {
    int size, connected, busy, waiting;
    unsigned long long completed, failed, reconnects;
    unsigned long long cancels; /* cancel requests sent for queries that ran too long */
};
void orm_pool_stats(struct orm_pool *pool, struct orm_pool_stats *stats);

/* ---- streaming replicas (orm/replicas.c) ------------------------------------------------- */

#define ORM_MAX_REPLICAS 16
#define ORM_LSN_TEXT_MAX 20 /* "FFFFFFFF/FFFFFFFF" */

struct orm_replicas_options {
    struct orm_pool *primary; /* polled for its WAL position (the lag's yardstick) */
    const char *const *urls;
    size_t count;                 /* at most ORM_MAX_REPLICAS */
    struct orm_pool_options pool; /* each replica's pool: these, with its own url */
    int max_lag_ms;               /* further behind: out of the rotation */
};

/* What is known of a replica: up (probed lately, in recovery, a connection up), how far it has
 * replayed, and how long ago the primary was first seen past that point. */
struct orm_replica_view {
    bool is_up;
    long long lag_ms;
    uint64_t replay_lsn;
};

struct orm_replicas;
/* One pool per replica, and a poller thread probing them and the primary every 200 ms. */
struct orm_replicas *orm_replicas_new(const struct orm_replicas_options *options,
                                      struct rs_error *error);
/* The pool a table read goes to: the next replica in turn that is up, lags at most
 * max_lag_ms and (when wanted_lsn is not 0) has replayed that far; NULL: the primary.
 * Thread-safe and never waits on the database. */
struct orm_pool *orm_replicas_pick(struct orm_replicas *set, uint64_t wanted_lsn);
/* The choice itself: the index of views to use, from start on in turn, or -1. */
int orm_replica_choose(const struct orm_replica_view *views, size_t count, int max_lag_ms,
                       uint64_t wanted_lsn, size_t start);
size_t orm_replicas_count(const struct orm_replicas *set);
void orm_replicas_stats(struct orm_replicas *set, size_t index, struct orm_replica_view *view);
/* Stops the poller (no probe is submitted after it returns); the pools stay open. */
void orm_replicas_stop(struct orm_replicas *set);
/* Stops the poller and frees the replicas' pools (their waiting queries fail first). */
void orm_replicas_free(struct orm_replicas *set);

/* PostgreSQL's pg_lsn text ("16/B374D848") to a number and back. */
int orm_lsn_parse(const char *text, uint64_t *out);
void orm_lsn_format(uint64_t lsn, char out[ORM_LSN_TEXT_MAX]);

/* Fails waiting queries with ORM_E_SHUTDOWN, waits for in-flight ones, closes connections,
 * joins the thread, frees. */
void orm_pool_free(struct orm_pool *pool);

/* Makes the pool's loop thread also drive another event source (the HTTP server, when it runs
 * in this thread: server.threads = 1): the loop watches fd and calls run(context) on every
 * round, after it has read the database's results (their callbacks ran) and before it sends
 * what was submitted, so a request can arrive, be queried and be answered without changing
 * thread. run returns how long the loop may sleep before the next call, in ms (0: at once,
 * for work it has left; -1: until fd is readable). Once orm_pool_free has returned, run is
 * never called again: the caller drives its source itself from then on. */
void orm_pool_drive(struct orm_pool *pool, int fd, int (*run)(void *context), void *context);
/* Tells the loop that the driven source has work its descriptor will not announce (say, a
 * connection resumed by another thread: a replica's pool, the login's hashing thread): the
 * loop calls run again in its next round, waking first if it sleeps. Any thread; cheap when the
 * loop is awake. */
void orm_pool_poke_driver(struct orm_pool *pool);

/* ---- blocking connection for the CLI (orm/connect.c) ------------------------------------ */

/* Connects with the same session settings the pool uses. NULL with error (status 503). */
PGconn *orm_connect_sync(const char *url, struct rs_error *error);

/* The libpq "options" value every connection uses: UTC, ISO dates, ISO 8601 intervals,
 * and statement_timeout when > 0. Caller frees. */
char *orm_session_options(int statement_timeout_ms);
/* The same settings as one statement, "SELECT set_config(..., true), ...", local to the
 * transaction it runs in: what a pool behind a transaction pooler sends first in every job,
 * since the next transaction may run on another server session. Caller frees. */
char *orm_transaction_settings_sql(int statement_timeout_ms);

/* ---- schema and migrations (orm/schema.c, orm/migrate.c) -------------------------------- */

/* CREATE TABLE / INDEX statements for the declared tables, in foreign-key dependency order. */
void orm_schema_create_sql(const struct cfg_config *config, struct sb *out);

/* `restable schema generate [--tables a,b]` (tables: comma-separated, or NULL for all): prints a
 * config {"tables": ...} declaring the database's existing tables (orm/generate.c). 0, or -1 with
 * error. */
int orm_schema_generate(PGconn *conn, const char *tables, FILE *out, struct rs_error *error);

/* `restable migrations new [--auto] [--name NAME]`: writes a file into migrations_dir. */
struct orm_new_options {
    bool is_auto;           /* fill it with the SQL the config needs */
    const char *name;       /* or NULL: "auto" / "manual" */
    bool allow_destructive; /* write drops and narrowing type changes live, not commented */
    /* write nothing when every change would be held back (forwards' catch-up: such a file
     * would change nothing, and the next run would write it again) */
    bool skip_when_only_destructive;
};
/* What `migrations new` did. */
enum orm_migration_result {
    ORM_MIGRATION_FAILED,        /* error says why */
    ORM_MIGRATION_WROTE,         /* written->path is the new file (caller frees) */
    ORM_MIGRATION_NOTHING_TO_DO, /* --auto found no difference: the database matches the config */
    ORM_MIGRATION_HELD_BACK,     /* skip_when_only_destructive and every difference would lose
                                  * data: nothing written; written->held_back counts them */
};
struct orm_new_written {
    char *path;       /* ORM_MIGRATION_WROTE: the file written (caller frees), else NULL */
    size_t held_back; /* destructive changes held back (commented out, or not written) */
};
/* Warnings (destructive steps written commented out) go to out (may be NULL). */
enum orm_migration_result orm_migrations_new(const struct cfg_config *config, PGconn *conn,
                                             const struct orm_new_options *options, FILE *out,
                                             struct orm_new_written *written,
                                             struct rs_error *error);

struct orm_forwards_options {
    const char *to; /* stop after this migration id, or NULL for all */
    bool preview;   /* print SQL, change nothing */
    bool fake;      /* record as applied without running */
    bool force;     /* accept applied files edited since: record their new checksums */
};
/* Applies pending migrations under an advisory lock; reports progress on out. */
int orm_migrations_forwards(const struct cfg_config *config, PGconn *conn,
                            const struct orm_forwards_options *options, FILE *out,
                            struct rs_error *error);
struct orm_backwards_options {
    const char *to; /* revert every migration after this one (it stays), or NULL */
    int count;      /* without to: how many to revert, newest first (0 means 1) */
    bool preview;   /* print the backwards SQL, change nothing */
};
/* Reverts migrations under the advisory lock; reports progress on out. */
int orm_migrations_backwards(const struct cfg_config *config, PGconn *conn,
                             const struct orm_backwards_options *options, FILE *out,
                             struct rs_error *error);
/* Lists applied/pending and drift; returns 0 when clean, 1 when pending or drifted, -1 on
 * error. */
int orm_migrations_check(const struct cfg_config *config, PGconn *conn, FILE *out,
                         struct rs_error *error);

#endif
