/*
 * server/app.h — private to server/: the running application (config, pool, verifier), the
 * per-request context, and the functions the HTTP layer, router and handlers share.
 *
 * Threads: MHD worker threads run the access handler (routing, auth, validation, query
 * building); the pool thread runs query callbacks, which render the response and resume the
 * connection. A request context is touched by one thread at a time: the worker until it
 * suspends, the pool thread until it resumes, then the worker again. With server.threads = 1
 * there are no MHD threads: the pool's thread drives MHD as well (server/http_loop.c), and a
 * request never changes thread.
 *
 * Memory: each request owns an arena (request->arena) holding everything allocated for it —
 * the decoded query, the route's {pk}, parsed parameters and values, JSON bodies, handler
 * state — freed once when MHD reports the request complete (server/http.c). The one-thread-
 * at-a-time rule above is what makes the unlocked arena safe.
 */
#ifndef RESTABLE_SERVER_APP_H
#define RESTABLE_SERVER_APP_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "auth/auth.h"
#include "config/config.h"
#include "orm/orm.h"

struct srv_metrics;
struct srv_watchdog;
struct srv_watched;

/* What serve runs with where the config leaves it to the machine (server/sizing.c). */
struct srv_sizing {
    int cpus;              /* usable: the affinity mask, capped by the cgroup's CPU quota */
    int threads;           /* server.threads, or cpus when it is 0 */
    int pool_size;         /* database.pool_size, or 2 per usable CPU (2-32) when it is 0 */
    int replica_pool_size; /* database.replica_pool_size, or pool_size when it is 0 */
    bool is_threads_auto, is_pool_auto;
    char why[128]; /* for the start-up log: the CPUs and where the number came from */
};
/* The CPUs a cgroup's quota allows under cgroup_root (v2 cpu.max, else v1 cpu/cpu.cfs_*), or 0
 * when it sets none. */
int srv_cpu_quota(const char *cgroup_root);
/* The sizing from a config and what the machine allows (affinity_cpus 0: unknown, taken as 1). */
void srv_sizing_choose(const struct cfg_config *config, int affinity_cpus, int quota_cpus,
                       struct srv_sizing *sizing);
/* srv_sizing_choose with this process's affinity mask and cgroup. */
void srv_sizing_of_machine(const struct cfg_config *config, struct srv_sizing *sizing);
/* Says at start what was chosen and why (or that the config chose it). */
void srv_sizing_log(const struct srv_sizing *sizing);

struct srv_app {
    const struct cfg_config *config;
    struct orm_pool *pool;
    struct orm_replicas *replicas; /* database.replicas, or NULL */
    struct srv_sizing sizing;
    struct auth_verifier *verifier;
    struct MHD_Daemon *daemon;
    atomic_long in_flight;       /* requests started and not yet completed */
    atomic_int open_connections; /* TCP connections MHD holds open */
    /* Submits hold it for reading; shutdown takes it for writing to set is_pool_closed, so no
     * query reaches a pool being freed (they get 503 instead). */
    pthread_rwlock_t pool_lock;
    bool is_pool_closed;
    atomic_bool is_stopping; /* SIGTERM received: /readyz answers 503, no new conns */
    /* server.threads = 1: MHD runs in the pool's thread (server/http_loop.c) */
    bool is_shared_loop;
    int mhd_threads; /* MHD's worker threads (1 in a shared loop): its limit is split by them */
    atomic_bool has_resumed;        /* shared loop: a connection was resumed since MHD last ran */
    atomic_ullong request_counter;  /* for request ids */
    unsigned int request_id_prefix; /* random per process */
    struct timespec started_at;
    struct srv_metrics *metrics;
    struct srv_watchdog *watchdog; /* request head/body deadlines (server/watchdog.c) */
    char docs_dir[1024];           /* where /docs serves Swagger UI from; "" when none was found */
    char admin_dir[1024];          /* where /admin/ serves the admin UI from; "" when none */
    /* each table's default projection, built at start: [2 * i] plain, [2 * i + 1] readable */
    struct orm_prepared_projection **projections;
    struct orm_cursor_key cursor_key; /* signs keyset cursors (orm_cursor_key_init) */
};

enum srv_route_kind {
    SRV_ROUTE_NOT_FOUND,
    SRV_ROUTE_BAD_REQUEST, /* a data segment that does not decode: route.problem says why */
    SRV_ROUTE_ROOT,        /* GET {base_path}: table index */
    SRV_ROUTE_HEALTHZ,
    SRV_ROUTE_READYZ,
    SRV_ROUTE_METRICS,
    SRV_ROUTE_OPENAPI,
    SRV_ROUTE_DOCS,        /* /docs: the Swagger UI page */
    SRV_ROUTE_DOCS_ASSET,  /* /docs/{file}: its static files; the name is in pk_text */
    SRV_ROUTE_ADMIN,       /* /admin/: the admin UI's index.html */
    SRV_ROUTE_ADMIN_ASSET, /* /admin/{file...}: its files; the decoded rest in pk_text */
    SRV_ROUTE_LOGIN,
    SRV_ROUTE_BATCH,      /* POST /batch/ */
    SRV_ROUTE_COLLECTION, /* /T/ */
    SRV_ROUTE_COUNT,      /* /T/count/ */
    SRV_ROUTE_SCHEMA,     /* /T/schema/ */
    SRV_ROUTE_IDS,        /* /T/ids/ */
    SRV_ROUTE_NEW,        /* /T/new/ */
    SRV_ROUTE_REFERENCES, /* /T/references/ */
    SRV_ROUTE_EXPORT,     /* /T/export/ */
    SRV_ROUTE_ROW,        /* /T/{pk}/ */
    SRV_ROUTE_KIND_COUNT
};

struct srv_route {
    enum srv_route_kind kind;
    const struct cfg_table *table;
    char *pk_text;       /* decoded {pk} for SRV_ROUTE_ROW, file name for SRV_ROUTE_DOCS_ASSET;
                          * in the arena given to srv_route_parse */
    const char *problem; /* SRV_ROUTE_BAD_REQUEST: what is wrong with the segment (static) */
};

/* Parses url (the path as the client sent it, percent-encoded, without the query) against
 * base_path, the tables and the route table's patterns (server/router.c); the decoded segment
 * is allocated from arena. */
void srv_route_parse(const struct cfg_config *config, const char *url, struct srv_route *route,
                     struct rs_arena *arena);
/* The methods a route answers, for 405 and Allow ("GET, HEAD, POST, OPTIONS"), from the route
 * table (server/routes.c); never NULL. */
const char *srv_route_allowed_methods(const struct srv_route *route);

struct srv_request;
typedef void (*srv_query_done)(struct srv_request *request, struct orm_outcome *outcome);
/* A session's step (srv_run_session): reads outcome, fills next or ends the session. */
typedef enum orm_session_action (*srv_session_step)(struct srv_request *request,
                                                    struct orm_outcome *outcome,
                                                    struct orm_session_next *next);

/* A query-string argument, in the order sent. value is NULL for "?flag" (no '='). */
struct srv_arg {
    const char *key;
    const char *value;
};

/* ---- the request target (server/target.c) ------------------------------------------------ */

/* The decoded query string: args and the texts they point to are in the parser's arena. */
struct srv_query {
    struct srv_arg *args;
    size_t count;
};

/* Splits the raw query string (after '?') on '&' and decodes each name and value ('+' is a
 * space), allocating from arena. Empty pieces ("a=1&&b=2") are skipped. Returns 0, or -1 with
 * a 400 in error for a malformed percent-escape, a NUL byte, invalid UTF-8 or more than
 * max_params parameters. */
int srv_query_parse(const char *text, size_t length, size_t max_params, struct rs_arena *arena,
                    struct srv_query *query, struct rs_error *error);
/* Percent-decodes length bytes of in into out (which may be in: decoding never lengthens).
 * Returns the decoded length, or -1 for a '%' not followed by two hex digits. */
long srv_percent_decode(const char *in, size_t length, char *out, bool plus_is_space);
/* What is wrong with decoded text ("holds a NUL byte (%00)", "is not valid UTF-8"), or NULL. */
const char *srv_decoded_text_problem(const char *text, size_t length);

/* The request's first arena block, inline so that a typical request (a list with a few
 * filters, a get, a small create) allocates nothing beyond the request itself. */
#define SRV_REQUEST_ARENA_BYTES 4096

struct srv_request {
    struct srv_app *app;
    struct rs_arena arena; /* owns everything below that is not inline */
    struct MHD_Connection *connection;
    struct srv_watched *watched; /* its connection's deadline record (server/watchdog.c) */
    char request_id[64];
    const char *method;
    char *path;      /* the path as sent (percent-encoded, no query): routing and the log */
    char *query;     /* the raw query string after '?', or NULL; stored with path */
    bool is_started; /* the access handler has seen this request */
    struct timespec started_at;

    struct sb body; /* grows by realloc while it arrives; freed with the arena */
    bool body_too_large;
    bool did_suspend;     /* written by the worker thread only */
    bool is_chained;      /* a query callback submitted a follow-up query */
    bool is_from_replica; /* its last query went to a replica: X-Restable-Source */
    /* that query, kept to send to the primary if the replica fails under it */
    const struct orm_statement *replica_statements;
    size_t replica_statement_count;
    srv_query_done query_done;
    srv_session_step session_step; /* srv_run_session's steps */
    /* Set by a query callback that passes the request to another thread (the login's hashing
     * thread), which then answers and resumes it: dispatch.c makes the hand-off only once it
     * is done reading the request, since the other thread may free it at any moment after. */
    void (*hand_off)(void *argument);
    void *hand_off_argument;
    bool is_processed; /* the handler has run (response queued or pending) */

    struct srv_route route;
    struct auth_principal principal;
    struct srv_arg *args; /* the decoded query (query_args.args) */
    size_t arg_count;
    struct srv_query query_args;

    /* Set by a handler or a query callback; queued by the HTTP layer. */
    struct MHD_Response *response;
    unsigned int status;
    uint64_t body_bytes; /* the response body's length, for the access log */

    /* POST /batch/: 1 + the operation an error answer names ("operation": N); 0: none. */
    size_t error_operation;

    /* Handler scratch for its query callback, allocated from the arena. */
    void *handler_state;

    /* last: only the fields above are zeroed when a request is made */
    alignas(max_align_t) unsigned char arena_block[SRV_REQUEST_ARENA_BYTES];
};

/* ---- responses (server/respond.c) ------------------------------------------------------- */

/* Each sets request->response and request->status. */
void srv_respond_json_text(struct srv_request *request, unsigned int status, const char *json);
void srv_respond_json(struct srv_request *request, unsigned int status, json_t *value); /* steals */
/* Zero-copy: body is prefix + PQgetvalue(result, 0, 0) + suffix; the result is PQclear'ed
 * when MHD is done with the response. prefix/suffix must be static strings. */
void srv_respond_result(struct srv_request *request, unsigned int status, const char *prefix,
                        PGresult *result, const char *suffix);
/* Same, for a one-element JSON array: the body is the element ("[{...}]" → "{...}"). */
void srv_respond_result_only_element(struct srv_request *request, unsigned int status,
                                     PGresult *result);
void srv_respond_empty(struct srv_request *request, unsigned int status);
/* Any other response (a file, text): replaces the request's response; content_type may be NULL. */
void srv_respond_with(struct srv_request *request, unsigned int status,
                      struct MHD_Response *response, uint64_t body_bytes, const char *content_type);
/* {"error": {"status", "message", "field"?}} */
void srv_respond_error(struct srv_request *request, unsigned int status, const char *field,
                       const char *format, ...) __attribute__((format(printf, 4, 5)));
void srv_respond_rs_error(struct srv_request *request, const struct rs_error *error);
/* {"error": {"status", "message", "errors": [{"field", "message"}...]}} — steals errors. */
void srv_respond_errors(struct srv_request *request, unsigned int status, const char *message,
                        json_t *errors);
/* Maps a failed pool outcome to 409/422/503/500... */
void srv_respond_outcome_error(struct srv_request *request, const struct orm_outcome *outcome);
void srv_add_header(struct srv_request *request, const char *name, const char *value);
/* Adds name to the response's one Vary header ("Accept, Origin"). */
void srv_add_vary(struct srv_request *request, const char *name);
/* Access-Control-* headers when the request's Origin is allowed. */
void srv_add_cors_headers(struct srv_request *request);

/* ---- conditional requests (server/conditional.c) ---------------------------------------- */

/* A request header's value, or NULL. */
const char *srv_header(const struct srv_request *request, const char *name);
/* If-None-Match against our etag (weak comparison; "*" matches any): true → answer 304. */
bool srv_if_none_match_hits(const struct srv_request *request, const char *etag);
/* If-Match as the row writes use it: absent, "*" (present, versions NULL), or the opaque texts
 * of its strong tags (in the arena). */
struct srv_if_match {
    bool is_present;
    const char *const *versions;
    size_t version_count;
};
/* 0, or -1 after responding 400 to a header that is not "*" or a list of entity tags. */
int srv_if_match_parse(struct srv_request *request, struct srv_if_match *parsed);
/* The table's require_if_match without If-Match: responds 428 and returns true. */
bool srv_if_match_required(struct srv_request *request, const struct srv_if_match *parsed);
/* A row's strong ETag ("123") from its version; a list's weak one (W/"<hash>") from the body
 * and the Content-Range total (-1 when none). */
#define SRV_ETAG_SIZE 48
void srv_row_etag(const char *version, char *out, size_t size);
void srv_list_etag(const char *body, size_t length, long long total, char *out, size_t size);
/* The weak ETag of a cursor page: its rows and its next cursor (NULL on the last page). */
void srv_cursor_page_etag(const char *rows, size_t length, const char *next_cursor, char *out,
                          size_t size);
/* 304, no body, with the ETag. */
void srv_respond_not_modified(struct srv_request *request, const char *etag);

/* ---- running queries (server/dispatch.c) ------------------------------------------------ */

/* The pool a request's query goes to (SPEC §7): a fit replica, in turn, for a table route's
 * GET or HEAD (honouring its X-Restable-LSN), else the primary; sets is_from_replica. NULL
 * after answering 400 to a malformed X-Restable-LSN. The caller holds app->pool_lock. */
struct orm_pool *srv_pool_for_request(struct srv_request *request);

/* Resumes the request's suspended connection (any thread), and in a shared loop tells the
 * loop to let MHD send it. After it the request may be answered and freed by another thread:
 * touch nothing of it afterwards. */
void srv_request_resume(struct srv_request *request);
/* Suspends the connection and submits sql (plus the RLS claims prelude when the request has
 * an authenticated principal). done runs on the pool thread; it must set a response (or call
 * srv_run_query again to chain) — the connection is resumed after it returns unless it chained.
 * Takes ownership of nothing: sql may be freed after the call. */
void srv_run_query(struct srv_request *request, const struct orm_sql *sql, srv_query_done done);
/* What a handler does with an orm_build_* result: runs sql when built is 0, else answers the
 * builder's error (400 and the like); frees sql either way. */
void srv_run_built(struct srv_request *request, int built, struct orm_sql *sql,
                   const struct rs_error *error, srv_query_done done);
/* The same for a health probe: an idle connection only, failing (ORM_E_TIMEOUT) when none is
 * free within timeout_ms (orm_pool_submit_probe). */
void srv_run_probe(struct srv_request *request, const struct orm_sql *sql, int timeout_ms,
                   srv_query_done done);
/* Suspends the connection and starts a session (orm_pool_submit_session): the RLS claims
 * prelude and first are its first step; step runs on the pool thread after each step that
 * succeeded; done runs once at the end and must set a response (the connection is resumed
 * after it). first may be freed after the call. */
void srv_run_session(struct srv_request *request, const struct orm_sql *first,
                     srv_session_step step, srv_query_done done);
/* Refuses further queries (503) and frees the pool; queries still queued fail, and every
 * callback has run when it returns. Main thread, at shutdown. */
void srv_close_pool(struct srv_app *app);

/* ---- handlers ---------------------------------------------------------------------------- */
/* One per route, a deliberate list: the rows of server/routes.c name them. */

void srv_handle_request(struct srv_request *request, const char *upload, size_t upload_size);
void srv_handle_list(struct srv_request *request);
struct srv_list_params;
/* GET /T/?__cursor=... (server/handlers_cursor.c): the keyset page of parsed params, with
 * next_cursor and a Link to the next page. */
void srv_list_cursor_run(struct srv_request *request, const struct srv_list_params *params);
void srv_handle_count(struct srv_request *request);
void srv_handle_get(struct srv_request *request);
void srv_handle_ids(struct srv_request *request);
void srv_handle_new(struct srv_request *request);
void srv_handle_schema(struct srv_request *request);
void srv_handle_references(struct srv_request *request);
void srv_handle_export(struct srv_request *request); /* server/export.c */
struct srv_list_params;
/* GET /T/ as CSV (server/list_csv.c): whether the request asks for it (__format, else Accept;
 * 406 is never answered: JSON is the fallback), and the page answered in CSV. */
bool srv_list_wants_csv(const struct srv_request *request, const struct srv_list_params *params);
void srv_list_csv(struct srv_request *request, const struct srv_list_params *params);
void srv_handle_create(struct srv_request *request);
void srv_handle_replace_one(struct srv_request *request); /* PUT */
void srv_handle_patch_one(struct srv_request *request);
void srv_handle_delete_one(struct srv_request *request);
void srv_handle_bulk_delete(struct srv_request *request);
void srv_handle_bulk_update(struct srv_request *request);
void srv_handle_healthz(struct srv_request *request);
void srv_handle_readyz(struct srv_request *request);
void srv_handle_metrics(struct srv_request *request);
void srv_handle_openapi(struct srv_request *request);
void srv_handle_docs(struct srv_request *request);
/* Where a page's static files may be (server/static_files.c). */
struct srv_static_dir {
    const char *configured;       /* the configured folder, or "": then the ones below */
    const char *marker;           /* a file the folder must hold */
    const char *beside_installed; /* relative to the binary's folder: "/../share/restable/x" */
    const char *install_dir;      /* the install folder meson was configured with */
    const char *beside_build;     /* relative to the binary's folder, in the source tree */
    const char *what, *key, *script, *route; /* for the warning: "Swagger UI", "server.docs_dir",
                                              * "scripts/docs-assets", "GET /docs" */
};
/* Writes the first folder of wanted that holds its marker to out; false (out "", a warning
 * logged) when none does, or the configured one does not. */
bool srv_static_dir_find(const struct srv_static_dir *wanted, char *out, size_t size);
/* Answers 200 with the regular file directory/name (not following a final symlink); false,
 * with nothing answered, when there is no such file. */
bool srv_respond_static_file(struct srv_request *request, const char *directory, const char *name,
                             const char *content_type);
/* The content type a file name's extension says; application/octet-stream when unknown. */
const char *srv_content_type_of(const char *name);
/* Answers 200 with the HTML in page (taken), no-cache, nosniff and the given
 * Content-Security-Policy. */
void srv_respond_page(struct srv_request *request, struct sb *page, const char *policy);
/* GET /admin/ and /admin/{file...}: the admin UI (server/admin.c). */
void srv_handle_admin(struct srv_request *request);
/* Finds the admin UI's built files (admin.dir, else beside the binary) like srv_docs_find. */
void srv_admin_find(const struct cfg_config *config, char *out, size_t size);
/* Finds the Swagger UI files (server.docs_dir, else beside the binary) and writes their folder
 * to out, or "" after logging a warning (server/docs.c). */
void srv_docs_find(const struct cfg_config *config, char *out, size_t size);
void srv_handle_login(struct srv_request *request);
void srv_handle_batch(struct srv_request *request);
void srv_handle_root(struct srv_request *request);

/* ---- the parameter parser (server/params.c, server/params_request.c) -------------------- */

/* Parses list/count/bulk query parameters into a select. Returns 0, or -1 after responding
 * with 400/403. Everything allocated (the arrays, every parsed value) is in the request's
 * arena: there is nothing to free. */
struct srv_list_params {
    struct orm_select select;
    struct orm_filter *filters;
    size_t filter_count;
    struct orm_order *orders; /* NULL until __order is seen */
    size_t order_count;
    struct orm_field *fields; /* NULL until __visible_fields is seen */
    size_t field_count, field_capacity;
    bool range_header;
    char *range_header_name;
    bool count_estimated; /* __count=estimated (default exact) */
    bool count_given;     /* __count was sent: /T/count/ then says "estimated" */
    const char *format;   /* __format: "json", "csv", or NULL when absent (then Accept) */
    long page, page_size;
    bool page_given;
    const char *cursor;       /* __cursor ("" for the first page), or NULL: a keyset page */
    const char *cursor_order; /* the keyset's normalised order, what its cursors are bound to */
};

enum srv_params_use {
    SRV_PARAMS_LIST,
    SRV_PARAMS_COUNT,
    SRV_PARAMS_BULK,
    SRV_PARAMS_GET,
    SRV_PARAMS_EXPORT /* filters, __order, __visible_fields, __readable; no pages */
};
int srv_list_params_parse(struct srv_request *request, enum srv_params_use use,
                          struct srv_list_params *parsed);

/* The __cursor of a parsed list (server/params_cursor.c): refuses it beside __page or
 * __range_header, verifies it and sets the select's position. Returns 0, or -1 after
 * responding 400. */
int srv_cursor_params_apply(struct srv_request *request, struct srv_list_params *parsed);

/* Parses the {pk} of a row route by the primary key's type; responds 400 and returns NULL
 * when it does not parse. The text is the request's (its arena). */
char *srv_parse_pk(struct srv_request *request);

/* The query-string value of key, or NULL. */
const char *srv_arg_get(const struct srv_request *request, const char *key);
/* The arguments of /T/ids/: search (NULL when absent or empty), limit (default and at most
 * max_page_size, else 403) and offset. Returns 0, or -1 after responding 400/403. */
struct srv_ids_params {
    const char *search; /* points into the request's arguments */
    long limit, offset;
};
int srv_ids_params_parse(struct srv_request *request, struct srv_ids_params *parsed);

/* Parses a JSON body for writing; 400/415 responded on failure (returns NULL). The value is
 * the request's: decref'ed when it ends. */
json_t *srv_parse_json_body(struct srv_request *request);

/* ---- limits (server/limits.c) ----------------------------------------------------------- */

enum srv_limit {
    SRV_LIMIT_MAX_CONNECTIONS,
    SRV_LIMIT_CONNECTION_TIMEOUT,
    SRV_LIMIT_MAX_HEADER_BYTES,
    SRV_LIMIT_MAX_URL_BYTES,
    SRV_LIMIT_MAX_BODY_BYTES,
    SRV_LIMIT_MAX_PAGE_SIZE,
    SRV_LIMIT_MAX_QUERY_PARAMS,
    SRV_LIMIT_REQUEST_TIMEOUT, /* a request head or body that did not arrive in time */
    SRV_LIMIT_COUNT
};

/* A new connection over server.limits.max_connections is answered 503 on its socket at once,
 * before it sends anything, so a client never waits on a full server; returns whether it was
 * (the caller closes it). Called as MHD reports the connection, before MHD reads from it. */
bool srv_limits_refuse_connection(struct srv_app *app, int fd);
/* Checks connections (503), URL length (414) and header size (431) for a new request; returns
 * -1 after responding (with Connection: close) and counting the hit, else 0. */
int srv_limits_check(struct srv_request *request);
/* Checks what libmicrohttpd lets through in a request head: a repeated or malformed
 * Content-Length (400), a Transfer-Encoding (501; 400 beside a Content-Length). Returns -1
 * after responding (with Connection: close), else 0 (server/head.c). */
int srv_head_check(struct srv_request *request);
/* MHD_OPTION_CONNECTION_MEMORY_LIMIT and MHD_OPTION_CONNECTION_LIMIT for the configured limits. */
size_t srv_limits_mhd_memory(const struct cfg_config *config);
unsigned int srv_limits_mhd_connections(const struct cfg_config *config);
/* Raises the soft RLIMIT_NOFILE to what max_connections needs (warns when it cannot). */
void srv_limits_raise_open_files(const struct cfg_config *config);

/* ---- metrics (server/metrics.c) --------------------------------------------------------- */

struct srv_metrics *srv_metrics_new(size_t table_count);
void srv_metrics_free(struct srv_metrics *metrics);
/* Lock-free; called once per completed request. */
void srv_metrics_record(struct srv_app *app, const struct srv_request *request, long duration_us);
void srv_metrics_render(struct srv_app *app, struct sb *out);
/* The limit's name in metrics ("max_url_bytes"). */
const char *srv_limit_name(enum srv_limit limit);
/* Lock-free counters: a limit was hit; a query failed (by outcome, SQLSTATE class). */
void srv_metrics_limit_hit(struct srv_app *app, enum srv_limit limit);
void srv_metrics_replica_fallback(struct srv_app *app);
void srv_metrics_db_failure(struct srv_app *app, const struct orm_outcome *outcome);

/* ---- logging (server/log.c) -------------------------------------------------------------- */

void srv_log_request(const struct srv_request *request, long duration_us);
/* Sets the level from server.log_level (enum cfg_log_level); before it, info. */
void srv_log_set_level(int level);
/* Whether a line at level ("error", "warning", "info", "debug") is written. */
bool srv_log_enabled(const char *level);
void srv_log(const char *level, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* The warning line for log lines the sink dropped (what serve hands srv_log_sink_start). */
void srv_log_dropped(unsigned long long count);
/* server/log_sink.c: from start to stop, lines are written to stderr in batches by a thread of
 * their own; before and after, each at once. report_dropped is called on the writer thread,
 * with no lock held, with the number of lines dropped since it last said (the sink formats no
 * lines of its own: server/log.c does). */
int srv_log_sink_start(void (*report_dropped)(unsigned long long count));
void srv_log_sink_stop(void);
void srv_log_sink_write(const char *data, size_t length);

/* ---- the HTTP server (server/http.c) ----------------------------------------------------- */

int srv_http_start(struct srv_app *app, struct rs_error *error);
/* Makes libmicrohttpd's own error pages JSON (server/mhd_errors.c); called before the daemon
 * starts, it also links that file into every program that serves. */
void srv_mhd_errors_install(void);
/* Shutdown, first half: stop accepting, /readyz answers 503, answers say Connection: close;
 * waits up to server.shutdown_grace_s for the requests in flight. */
void srv_http_drain(struct srv_app *app);
/* Second half, once the pool is closed (so no connection is still suspended on a query):
 * waits briefly for the last answers to go out, then stops the daemon. */
void srv_http_stop(struct srv_app *app);

/* ---- deadlines for slow clients (server/watchdog.c) --------------------------------------- */

/* Starts the thread that shuts down connections past their deadline. */
struct srv_watchdog *srv_watchdog_start(struct srv_app *app);
/* Stops it and frees what is left; after the daemon is stopped. */
void srv_watchdog_stop(struct srv_watchdog *watchdog);
/* A new connection, which must send a request head within timeout_s. Any thread. */
struct srv_watched *srv_watchdog_add(struct srv_watchdog *watchdog, int fd, int timeout_s);
/* The connection is closing (before its socket is closed). NULL is ignored. */
void srv_watchdog_remove(struct srv_watchdog *watchdog, struct srv_watched *watched);
/* What the connection must send next must arrive within timeout_s; 0: nothing is awaited. */
void srv_watchdog_expect(struct srv_watched *watched, int timeout_s);
/* The connection was answered already (503 over the connection cap) and is closed within
 * timeout_s, or as soon as its request arrives. */
void srv_watchdog_refuse(struct srv_watched *watched, int timeout_s);
bool srv_watchdog_is_refused(const struct srv_watched *watched);

/* ---- one thread for HTTP and the database (server/http_loop.c) ---------------------------- */

/* Whether the config asks for it: server.threads = 1, or 0 on a one-core machine. */
bool srv_http_loop_wanted(const struct srv_sizing *sizing);
/* A connection was resumed (MHD_resume_connection), on whatever thread: with the shared loop,
 * MHD runs again in the loop's next round, which this wakes. */
void srv_http_loop_resumed(struct srv_app *app);
/* Hands the daemon (started without threads of its own) to the pool's loop thread. */
void srv_http_loop_attach(struct srv_app *app);
/* One round of MHD from the calling thread: for shutdown, once the pool (whose loop ran MHD)
 * is freed. */
void srv_http_loop_run(struct srv_app *app);

#endif
