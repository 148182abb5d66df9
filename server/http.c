/*
 * server/http.c — libmicrohttpd glue: the listening socket, the daemon (internal epoll thread
 * pool, suspend/resume), the limits MHD enforces (connections, idle timeout, its buffer), body
 * accumulation with the size limit, and the per-request context's life from first byte to
 * "request completed".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"

static void request_free(struct srv_request *request)
{
    if (request->response)
        MHD_destroy_response(request->response);
    if (request->handler_state_free)
        request->handler_state_free(request->handler_state);
    srv_route_clear(&request->route);
    auth_principal_clear(&request->principal);
    free(request->args);
    free(request->path);
    sb_free(&request->body);
    free(request);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct srv_request *request = cls;
    if (request->arg_count == request->arg_capacity) {
        size_t capacity = request->arg_capacity ? request->arg_capacity * 2 : 8;
        struct srv_arg *args = realloc(request->args, capacity * sizeof *args);
        if (!args)
            return MHD_NO;
        request->args = args;
        request->arg_capacity = capacity;
    }
    request->args[request->arg_count++] = (struct srv_arg){key, value};
    return MHD_YES;
}

static struct srv_request *request_new(struct srv_app *app, struct MHD_Connection *connection,
                                       const char *url, const char *method)
{
    struct srv_request *request = calloc(1, sizeof *request);
    if (!request)
        return NULL;
    request->app = app;
    request->connection = connection;
    request->method = method; /* MHD keeps it alive for the request's life */
    request->path = strdup(url);
    if (!request->path) {
        free(request);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &request->started_at);
    /* A client's (or balancer's) X-Request-Id is kept when it is a sane token, so one id
     * follows the request across services; otherwise we make one. */
    const char *given = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Request-Id");
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
    atomic_fetch_add(&app->in_flight, 1);
    return request;
}

static enum MHD_Result queue_response(struct srv_request *request)
{
    if (!request->response)
        srv_respond_error(request, 500, NULL,
                          "internal error: no response was produced (request %s)",
                          request->request_id);
    srv_add_header(request, "X-Request-Id", request->request_id);
    if (atomic_load(&request->app->is_stopping))
        srv_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
    srv_add_cors_headers(request);
    return MHD_queue_response(request->connection, request->status, request->response);
}

/* Refuses a body whose declared length is over the limit before reading any of it. */
static bool declared_length_too_large(struct srv_request *request)
{
    const char *length = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!length)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(length, &end, 10);
    if (errno || end == length)
        return false;
    return value > request->app->config->server.max_body_bytes;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct srv_app *app = cls;
    struct srv_request *request = *con_cls;

    if (!request) {
        request = request_new(app, connection, url, method);
        if (!request)
            return MHD_NO;
        *con_cls = request;
        if (MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_arg,
                                      request) < 0)
            return MHD_NO;
        if (srv_limits_check(request) < 0) {
            request->is_processed = true;
            return queue_response(request);
        }
        if (declared_length_too_large(request)) {
            request->is_processed = true;
            srv_metrics_limit_hit(app, SRV_LIMIT_MAX_BODY_BYTES);
            srv_respond_error(request, 413, NULL, "the request body is larger than %zu bytes",
                              app->config->server.max_body_bytes);
            return queue_response(request);
        }
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
    srv_log_request(request, duration_us);
    srv_metrics_record(app, request, duration_us);
    request_free(request);
    *con_cls = NULL;
    atomic_fetch_sub(&app->in_flight, 1);
}

/* Counts open connections for server.limits.max_connections (MHD's own limit sits above it,
 * so that a connection over ours is still answered with a JSON 503). */
static void connection_changed(void *cls, struct MHD_Connection *connection,
                               void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    (void)connection;
    (void)socket_context;
    struct srv_app *app = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&app->open_connections, 1);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&app->open_connections, 1);
}

static int listen_socket_open(const char *host, int port, struct rs_error *error)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *addresses = NULL;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    int status = getaddrinfo(host, port_text, &hints, &addresses);
    if (status != 0) {
        rs_error_set(error, 1, NULL, "cannot listen on %s:%d: %s", host, port,
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
        rs_error_set(error, 1, NULL, "cannot listen on %s:%d: %s", host, port,
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
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *address,
                                     socklen_t length)
{
    (void)address;
    (void)length;
    const struct srv_app *app = cls;
    return atomic_load(&app->is_stopping) ? MHD_NO : MHD_YES;
}

int srv_http_start(struct srv_app *app, struct rs_error *error)
{
    const struct cfg_config *config = app->config;
    srv_limits_raise_open_files(config);
    int fd = listen_socket_open(config->server.host, config->server.port, error);
    if (fd < 0)
        return -1;
    unsigned int threads = (unsigned int)config->server.threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned int)cores : 1;
    }
    /* one thread: no MHD threads at all, the pool's loop drives MHD (server/http_loop.c) */
    app->is_shared_loop = srv_http_loop_wanted(config);
    unsigned int flags = (app->is_shared_loop ? MHD_USE_EPOLL : MHD_USE_EPOLL_INTERNAL_THREAD) |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    app->daemon = MHD_start_daemon(
        flags, 0, accept_policy, app, access_handler, app,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, app,
        MHD_OPTION_NOTIFY_CONNECTION, connection_changed, app,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)config->server.limits.connection_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, srv_limits_mhd_connections(config),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv_limits_mhd_memory(config),
        /* last: a daemon without threads of its own takes no pool size (MHD would log a
         * warning at every start), so for it the list ends here */
        app->is_shared_loop ? MHD_OPTION_END : MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_END);
    if (!app->daemon) {
        close(fd);
        rs_error_set(error, 1, NULL, "cannot start the HTTP server on %s:%d",
                     config->server.host, config->server.port);
        return -1;
    }
    if (app->is_shared_loop)
        srv_http_loop_attach(app);
    return 0;
}

void srv_http_resume(struct srv_app *app, struct MHD_Connection *connection)
{
    MHD_resume_connection(connection);
    if (app->is_shared_loop)
        atomic_store(&app->has_resumed, true);
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
        srv_log("warning", "shutdown grace period of %d s is over with %ld requests in flight: "
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
}
