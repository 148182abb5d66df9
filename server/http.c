/*
 * server/http.c — libmicrohttpd glue: the listening socket, the daemon (internal epoll thread
 * pool, suspend/resume), the limits MHD enforces (connections, idle timeout, its buffer), body
 * accumulation with the size limit, and the per-request context's life from first byte to
 * "request completed": request_new makes it and its arena, request_free frees both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"

/* What the request holds outside its arena, released by the arena's cleanups at its end. */
static void release_outside(void *context)
{
    struct srv_request *request = context;
    if (request->response)
        MHD_destroy_response(request->response);
    auth_principal_clear(&request->principal);
    sb_free(&request->body);
}

/* Everything the request allocated goes with its arena (the first block is inline). */
static void request_free(struct srv_request *request)
{
    rs_arena_free(&request->arena);
    free(request);
}

/* A new request from its raw target ("/movie/?rating=8"): path and query copied as sent. */
static struct srv_request *request_new(struct srv_app *app, struct MHD_Connection *connection,
                                       const char *target)
{
    /* the inline arena block is left as malloc gives it: zeroing it would cost every request */
    struct srv_request *request = xmalloc(sizeof *request);
    memset(request, 0, offsetof(struct srv_request, arena_block));
    rs_arena_init(&request->arena, request->arena_block, sizeof request->arena_block);
    rs_arena_defer(&request->arena, release_outside, request);
    request->app = app;
    request->connection = connection;
    const char *question = strchr(target, '?');
    size_t path_length = question ? (size_t)(question - target) : strlen(target);
    /* one allocation: "path\0query\0" */
    request->path = rs_arena_strdup(&request->arena, target);
    request->path[path_length] = '\0';
    request->query = question ? request->path + path_length + 1 : NULL;
    clock_gettime(CLOCK_MONOTONIC, &request->started_at);
    atomic_fetch_add(&app->in_flight, 1);
    return request;
}

/* MHD_OPTION_URI_LOG_CALLBACK: called with the request target exactly as sent, before MHD
 * decodes it; what it returns is the request's context. restable decodes the target itself
 * (server/target.c), so MHD's own parse of the query string is switched off by ending the
 * string it is about to parse: it would decode "%00" into a cut-short C string and spend the
 * connection's memory on a record per parameter (500 of them exhausted it and the connection
 * hung). MHD hands the target in its own writable read buffer and reads the query from the
 * byte after '?' once this returns (libmicrohttpd 0.9.75, parse_initial_message_line). */
static void *target_received(void *cls, const char *target, struct MHD_Connection *connection)
{
    struct srv_app *app = cls;
    struct srv_request *request = request_new(app, connection, target);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    request->watched = info ? info->socket_context : NULL;
    char *question = strchr(target, '?');
    if (question)
        question[1] = '\0';
    return request;
}

/* The request's id: a client's (or balancer's) X-Request-Id when it is a sane token, so one id
 * follows the request across services; otherwise one of ours. */
static void assign_request_id(struct srv_request *request)
{
    struct srv_app *app = request->app;
    const char *given =
        MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, "X-Request-Id");
    size_t given_length = given ? strlen(given) : 0;
    if (given_length > 0 && given_length < sizeof request->request_id &&
        strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") ==
            given_length) {
        memcpy(request->request_id, given, given_length + 1);
    } else {
        unsigned long long number = atomic_fetch_add(&app->request_counter, 1) + 1;
        snprintf(request->request_id, sizeof request->request_id, "%08x-%llx",
                 app->request_id_prefix, number);
    }
}

/* Decodes the query string into request->args; -1 after responding 400. */
static int decode_query(struct srv_request *request)
{
    if (!request->query)
        return 0;
    struct rs_error error = {0};
    size_t max_params = (size_t)request->app->config->server.limits.max_query_params;
    if (srv_query_parse(request->query, strlen(request->query), max_params, &request->arena,
                        &request->query_args, &error) < 0) {
        if (strstr(error.message, "max_query_params"))
            srv_metrics_limit_hit(request->app, SRV_LIMIT_MAX_QUERY_PARAMS);
        srv_respond_rs_error(request, &error);
        return -1;
    }
    request->args = request->query_args.args;
    request->arg_count = request->query_args.count;
    return 0;
}

static enum MHD_Result queue_response(struct srv_request *request)
{
    if (!request->response)
        srv_respond_error(request, 500, NULL,
                          "internal error: no response was produced (request %s)",
                          request->request_id);
    srv_add_header(request, "X-Request-Id", request->request_id);
    /* SPEC §7: every table response says which database answered it */
    if (request->route.table)
        srv_add_header(request, "X-Restable-Source",
                       request->is_from_replica ? "replica" : "primary");
    if (atomic_load(&request->app->is_stopping))
        srv_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
    srv_add_cors_headers(request);
    return MHD_queue_response(request->connection, request->status, request->response);
}

/* The body's declared length (Content-Length; head.c has refused a malformed one), or 0. */
static unsigned long long declared_length(struct srv_request *request)
{
    const char *length = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    return length ? strtoull(length, NULL, 10) : 0;
}

/* A body over max_body_bytes is read and thrown away before the 413 goes out, up to this much:
 * a client still sending when the server closes gets a reset, which often destroys the 413
 * before it reads it (RFC 9112 §9.6; Node's fetch saw ECONNRESET in 7-14 of 20 tries). */
#define DRAIN_LIMIT_BYTES (16ULL * 1024 * 1024)

/* Answers 413 at once when the client waits for "100 Continue" (it has sent nothing to
 * drain) or the body is too big to be worth draining; otherwise the body is drained and the
 * 413 sent when it is in. Returns true when the answer was queued now. */
static bool refuse_large_body_now(struct srv_request *request)
{
    const char *expect =
        MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    if (!(expect && strcasecmp(expect, "100-continue") == 0) &&
        declared_length(request) <= DRAIN_LIMIT_BYTES) {
        request->body_too_large = true;
        return false;
    }
    srv_metrics_limit_hit(request->app, SRV_LIMIT_MAX_BODY_BYTES);
    srv_respond_error(request, 413, NULL, "the request body is larger than %zu bytes",
                      request->app->config->server.max_body_bytes);
    srv_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
    return true;
}

/* Whether the head announces a body (a Content-Length above 0; head.c refuses the rest). */
static bool declares_body(struct srv_request *request)
{
    const char *length = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    return length && strspn(length, "0") != strlen(length);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct srv_app *app = cls;
    struct srv_request *request = *con_cls;

    if (!request) {
        /* MHD calls the URI callback for every request; this is only a safety net */
        request = request_new(app, connection, url);
        *con_cls = request;
    }
    if (srv_watchdog_is_refused(request->watched))
        return MHD_NO; /* answered 503 when it connected: close it */
    if (!request->is_started) {
        request->is_started = true;
        request->method = method; /* MHD keeps it alive for the request's life */
        assign_request_id(request);
        if (srv_limits_check(request) < 0 || srv_head_check(request) < 0 ||
            decode_query(request) < 0) {
            request->is_processed = true;
            return queue_response(request);
        }
        if (declared_length(request) > app->config->server.max_body_bytes &&
            refuse_large_body_now(request)) {
            request->is_processed = true;
            return queue_response(request);
        }
        /* the head is in: now the body, if one is announced */
        srv_watchdog_expect(request->watched,
                            declares_body(request) ? app->config->server.limits.body_timeout_s : 0);
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        if (!request->is_processed) {
            size_t limit = app->config->server.max_body_bytes;
            if (request->body_too_large || request->body.length + *upload_data_size > limit) {
                request->body_too_large = true;
                sb_free(&request->body);
            } else {
                sb_append_n(&request->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (request->is_processed) {
        /* Called again after a resume: the query callback left the response. */
        if (!request->response)
            return MHD_YES;
        return queue_response(request);
    }
    request->is_processed = true;
    srv_watchdog_expect(request->watched, 0); /* all in: the pool's timeouts bound the rest */

    if (request->body_too_large) {
        srv_metrics_limit_hit(app, SRV_LIMIT_MAX_BODY_BYTES);
        srv_respond_error(request, 413, NULL, "the request body is larger than %zu bytes",
                          app->config->server.max_body_bytes);
        return queue_response(request);
    }

    srv_handle_request(request, sb_text(&request->body), request->body.length);
    /* Once suspended, the response is queued when MHD calls us again after the resume, even
     * if the query already finished (its callback may run before we get here). */
    if (request->did_suspend)
        return MHD_YES;
    return queue_response(request);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code)
{
    (void)connection;
    struct srv_app *app = cls;
    struct srv_request *request = *con_cls;
    if (code == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
        srv_metrics_limit_hit(app, SRV_LIMIT_CONNECTION_TIMEOUT);
    if (!request)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long duration_us = (now.tv_sec - request->started_at.tv_sec) * 1000000L +
                       (now.tv_nsec - request->started_at.tv_nsec) / 1000;
    /* a kept-alive connection is closed by MHD after connection_timeout_s of silence; one that
     * starts its next request must finish the head within header_timeout_s more */
    const struct cfg_config *config = app->config;
    srv_watchdog_expect(request->watched, config->server.limits.connection_timeout_s +
                                              config->server.limits.header_timeout_s);
    srv_log_request(request, duration_us);
    srv_metrics_record(app, request, duration_us);
    request_free(request);
    *con_cls = NULL;
    atomic_fetch_sub(&app->in_flight, 1);
}

/* Counts open connections for server.limits.max_connections (MHD's own limit sits above it,
 * so that a connection over ours is still answered with a JSON 503). */
static void connection_changed(void *cls, struct MHD_Connection *connection, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    struct srv_app *app = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&app->open_connections, 1);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
            return;
        *socket_context = srv_watchdog_add(app->watchdog, info->connect_fd,
                                           app->config->server.limits.header_timeout_s);
        if (srv_limits_refuse_connection(app, info->connect_fd))
            srv_watchdog_refuse(*socket_context, 1);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_watchdog_remove(app->watchdog, *socket_context);
        *socket_context = NULL;
        atomic_fetch_sub(&app->open_connections, 1);
    }
}

static int listen_socket_open(const char *host, int port, struct rs_error *error)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *addresses = NULL;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    int status = getaddrinfo(host, port_text, &hints, &addresses);
    if (status != 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot listen on %s:%d: %s", host, port,
                     gai_strerror(status));
        return -1;
    }
    int last_errno = 0;
    int fd = -1;
    for (struct addrinfo *address = addresses; address; address = address->ai_next) {
        fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (bind(fd, address->ai_addr, address->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(addresses);
    if (fd < 0)
        rs_error_set(error, RS_FAILED, NULL, "cannot listen on %s:%d: %s", host, port,
                     strerror(last_errno));
    return fd;
}

static void mhd_log(void *cls, const char *format, va_list args)
{
    (void)cls;
    struct sb message = {0};
    sb_vappendf(&message, format, args);
    while (message.length && message.data[message.length - 1] == '\n')
        message.data[--message.length] = '\0';
    srv_log("warning", "http: %s", sb_text(&message));
    sb_free(&message);
}

/* Shutting down: a new connection is closed as soon as it is accepted. MHD_quiesce_daemon
 * would stop accepting outright, but with a worker pool it races the workers over the listening
 * socket's epoll registration and aborts the process (libmicrohttpd 0.9.75: "Failed to remove
 * listen FD from epoll set", seen in CI). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *address, socklen_t length)
{
    (void)address;
    (void)length;
    const struct srv_app *app = cls;
    if (atomic_load(&app->is_stopping))
        return MHD_NO;
    /* Past server.limits.max_connections a connection is still taken and answered 503 (limits.c)
     * up to MHD's own limit; beyond that it is closed at once. MHD itself must never reach its
     * limit: a worker thread at its share of it stops accepting, and new clients then hang in
     * the listen backlog instead of being told anything. */
    long hard_limit = (long)srv_limits_mhd_connections(app->config) - app->mhd_threads - 1;
    return atomic_load(&app->open_connections) >= hard_limit ? MHD_NO : MHD_YES;
}

int srv_http_start(struct srv_app *app, struct rs_error *error)
{
    const struct cfg_config *config = app->config;
    srv_mhd_errors_install();
    srv_limits_raise_open_files(config);
    int fd = listen_socket_open(config->server.host, config->server.port, error);
    if (fd < 0)
        return -1;
    unsigned int threads = (unsigned int)app->sizing.threads;
    /* one thread: no MHD threads at all, the pool's loop drives MHD (server/http_loop.c) */
    app->is_shared_loop = srv_http_loop_wanted(&app->sizing);
    app->mhd_threads = app->is_shared_loop ? 1 : (int)threads;
    app->watchdog = srv_watchdog_start(app);
    unsigned int flags = (app->is_shared_loop ? MHD_USE_EPOLL : MHD_USE_EPOLL_INTERNAL_THREAD) |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    app->daemon = MHD_start_daemon(
        flags, 0, accept_policy, app, access_handler, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_URI_LOG_CALLBACK, target_received, app, MHD_OPTION_LISTEN_SOCKET,
        (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, request_completed, app,
        MHD_OPTION_NOTIFY_CONNECTION, connection_changed, app, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)config->server.limits.connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        srv_limits_mhd_connections(config), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        srv_limits_mhd_memory(config),
        /* last: a daemon without threads of its own takes no pool size (MHD would log a
         * warning at every start), so for it the list ends here */
        app->is_shared_loop ? MHD_OPTION_END : MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_END);
    if (!app->daemon) {
        srv_watchdog_stop(app->watchdog);
        app->watchdog = NULL;
        close(fd);
        rs_error_set(error, RS_FAILED, NULL, "cannot start the HTTP server on %s:%d",
                     config->server.host, config->server.port);
        return -1;
    }
    if (app->is_shared_loop)
        srv_http_loop_attach(app);
    return 0;
}

/* Waits up to limit_ms for the requests in flight to be answered. drive: nothing else runs
 * MHD any more (a shared loop whose pool is gone), so run it between the pauses. */
static void wait_for_in_flight(struct srv_app *app, long limit_ms, bool drive)
{
    for (long waited_ms = 0; atomic_load(&app->in_flight) > 0 && waited_ms < limit_ms;
         waited_ms++) {
        if (drive)
            srv_http_loop_run(app);
        struct timespec pause = {0, 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

void srv_http_drain(struct srv_app *app)
{
    if (!app->daemon)
        return;
    atomic_store(&app->is_stopping, true); /* from now on accept_policy closes new connections */
    /* Let in-flight requests finish (their queries complete or fail), for up to the grace
     * period; after it the pool closes under what is left (serve.c). */
    wait_for_in_flight(app, (long)app->config->server.shutdown_grace_s * 1000, false);
    if (atomic_load(&app->in_flight) > 0)
        srv_log("warning",
                "shutdown grace period of %d s is over with %ld requests in flight: "
                "closing the pool (queries still waiting get 503)",
                app->config->server.shutdown_grace_s, (long)atomic_load(&app->in_flight));
}

void srv_http_stop(struct srv_app *app)
{
    if (!app->daemon)
        return;
    /* The pool is closed: every suspended connection has been resumed with its answer. MHD
     * aborts when stopped with a suspended connection, so give the answers a moment to go. */
    wait_for_in_flight(app, 2000, app->is_shared_loop);
    MHD_stop_daemon(app->daemon); /* closes the listening socket too */
    app->daemon = NULL;
    srv_watchdog_stop(app->watchdog); /* after MHD has reported every connection closed */
    app->watchdog = NULL;
}
