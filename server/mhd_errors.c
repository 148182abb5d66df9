/*
 * server/mhd_errors.c — every error restable sends is JSON, including the ones libmicrohttpd
 * writes by itself before a request reaches restable: a malformed request line or header
 * (400), an HTTP version it does not speak (505), a request line or head that does not fit its
 * buffer (414, 431), an over-long Content-Length (413). libmicrohttpd 0.9.75 answers these
 * with fixed HTML pages and offers no hook to change them, but it queues each one through its
 * own exported MHD_queue_response, which a definition in the executable takes the place of
 * (ELF symbol interposition, as a program-defined malloc does). This one passes every response
 * through unchanged except an error without a Content-Type: restable's own responses always
 * carry one, so such a response is libmicrohttpd's, and the same status goes out as JSON.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "server/app.h"

typedef enum MHD_Result (*queue_function)(struct MHD_Connection *connection,
                                          unsigned int status_code, struct MHD_Response *response);

static queue_function library_queue;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve_library_queue(void)
{
    void *symbol = dlsym(RTLD_NEXT, "MHD_queue_response");
    memcpy(&library_queue, &symbol, sizeof library_queue);
}

#define ERROR_BODY(status, message)                                                                \
    "{\"error\":{\"status\":" #status ",\"message\":\"" message "\"}}"

static const struct {
    unsigned int status;
    const char *body;
} error_bodies[] = {
    {400, ERROR_BODY(400, "malformed HTTP request: the request line, a header or the body "
                          "framing does not follow HTTP/1.1")},
    {413, ERROR_BODY(413, "the request body is too large")},
    {414, ERROR_BODY(414, "the URL is too long")},
    {431, ERROR_BODY(431, "the request headers are too large")},
    {505, ERROR_BODY(505, "HTTP version not supported: use HTTP/1.1 or HTTP/1.0")},
};
static const char other_error_body[] =
    "{\"error\":{\"status\":500,\"message\":\"the HTTP layer could not handle the request\"}}";

static const char *error_body_for(unsigned int status)
{
    for (size_t i = 0; i < sizeof error_bodies / sizeof error_bodies[0]; i++)
        if (error_bodies[i].status == status)
            return error_bodies[i].body;
    return other_error_body;
}

void srv_mhd_errors_install(void)
{
    pthread_once(&resolve_once, resolve_library_queue);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    pthread_once(&resolve_once, resolve_library_queue);
    if (!library_queue)
        return MHD_NO;
    if (status_code < 400 || !response ||
        MHD_get_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE))
        return library_queue(connection, status_code, response);
    const char *body = error_body_for(status_code);
    struct MHD_Response *json =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!json)
        return library_queue(connection, status_code, response);
    MHD_add_response_header(json, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    MHD_add_response_header(json, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result result = library_queue(connection, status_code, json);
    MHD_destroy_response(json); /* the connection holds its own reference */
    return result;
}
