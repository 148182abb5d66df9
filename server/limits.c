/*
 * server/limits.c — the request limits from server.limits that MHD does not answer in our
 * JSON error shape by itself: too many open connections (503), a URL too long (414), request
 * headers too large (431). Each is checked once per request, before routing, and each hit is
 * counted in restable_limit_hits_total{limit=...}. Also the MHD options those limits become
 * and the open-files limit the connection limit needs.
 *
 * MHD's own per-connection buffer (MHD_OPTION_CONNECTION_MEMORY_LIMIT) is our header and URL
 * limits plus 16 KiB, so a request somewhat over a limit still reaches us and gets the JSON
 * answer; one far bigger is refused by MHD itself (431 or 414 without a JSON body) before a
 * byte of it is ours. The buffer is per connection: 10,000 idle connections must stay cheap.
 */
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "server/app.h"

size_t srv_limits_mhd_memory(const struct cfg_config *config)
{
    size_t ours = (size_t)config->server.limits.max_header_bytes +
                  (size_t)config->server.limits.max_url_bytes;
    /* Room for our limits plus MHD's own response headers. Above 32 KiB MHD maps the buffer
     * with mmap instead of malloc: pages cost memory only once touched, and go back to the
     * system when the connection closes, where malloc'ed buffers stayed in the allocator's
     * per-thread arenas (a burst of 10k connections left 300 MB behind). */
    size_t size = ours + 16 * 1024;
    return size > 40 * 1024 ? size : 40 * 1024;
}

unsigned int srv_limits_mhd_connections(const struct cfg_config *config)
{
    /* headroom above ours, so a connection over our limit is still read and answered 503 */
    return (unsigned int)config->server.limits.max_connections + 64;
}

void srv_limits_raise_open_files(const struct cfg_config *config)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    rlim_t wanted = (rlim_t)srv_limits_mhd_connections(config) + 256; /* pool, logs, files */
    if (limit.rlim_cur >= wanted)
        return;
    limit.rlim_cur = wanted < limit.rlim_max ? wanted : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < wanted)
        srv_log("warning",
                "the open-files limit (%llu) is below what server.limits."
                "max_connections needs (%llu): raise it (ulimit -n)",
                (unsigned long long)limit.rlim_cur, (unsigned long long)wanted);
}

#define OVER_CAPACITY_BODY                                                                         \
    "{\"error\":{\"status\":503,\"message\":\"the server has too many open connections "           \
    "(server.limits.max_connections); try again shortly\"}}"

bool srv_limits_refuse_connection(struct srv_app *app, int fd)
{
    if (atomic_load(&app->open_connections) <= app->config->server.limits.max_connections)
        return false;
    char answer[512];
    int length = snprintf(answer, sizeof answer,
                          "HTTP/1.1 503 Service Unavailable\r\n"
                          "Content-Type: application/json; charset=utf-8\r\n"
                          "Retry-After: 1\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                          sizeof OVER_CAPACITY_BODY - 1, OVER_CAPACITY_BODY);
    /* A new socket's send buffer takes these few hundred bytes whole, and MHD has not written
     * to it. Shutting both ways at once makes MHD close it on its next look, so a flood of
     * refused clients holds descriptors for no longer than that; a request sent meanwhile is
     * read by no one, and the client's kernel still hands it the 503 that came first. */
    send(fd, answer, (size_t)length, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_RDWR);
    srv_metrics_limit_hit(app, SRV_LIMIT_MAX_CONNECTIONS);
    return true;
}

struct header_sum {
    size_t bytes;
};

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    struct header_sum *sum = cls;
    sum->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* The request target as the client sent it: path, '?' and query. */
static size_t url_bytes(const struct srv_request *request)
{
    size_t bytes = strlen(request->path);
    if (request->query)
        bytes += 1 + strlen(request->query);
    return bytes;
}

static void refuse(struct srv_request *request, enum srv_limit limit, unsigned int status,
                   const char *message, long value)
{
    srv_metrics_limit_hit(request->app, limit);
    srv_respond_error(request, status, NULL, message, value);
    srv_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
}

int srv_limits_check(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    if (atomic_load(&request->app->open_connections) > config->server.limits.max_connections) {
        refuse(request, SRV_LIMIT_MAX_CONNECTIONS, 503,
               "the server has too many open connections (server.limits.max_connections is "
               "%ld); try again shortly",
               (long)config->server.limits.max_connections);
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return -1;
    }
    if (url_bytes(request) > (size_t)config->server.limits.max_url_bytes) {
        refuse(request, SRV_LIMIT_MAX_URL_BYTES, 414, "the URL is longer than %ld bytes",
               (long)config->server.limits.max_url_bytes);
        return -1;
    }
    struct header_sum sum = {0};
    MHD_get_connection_values(request->connection, MHD_HEADER_KIND, add_header_bytes, &sum);
    if (sum.bytes > (size_t)config->server.limits.max_header_bytes) {
        refuse(request, SRV_LIMIT_MAX_HEADER_BYTES, 431,
               "the request headers are larger than %ld bytes",
               (long)config->server.limits.max_header_bytes);
        return -1;
    }
    return 0;
}
