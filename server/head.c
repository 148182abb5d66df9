/*
 * server/head.c — checks of a request head that libmicrohttpd accepts but a server behind a
 * proxy must not: a repeated or non-numeric Content-Length, and any Transfer-Encoding. Two
 * framings for one body are how requests are smuggled past a proxy that reads the other one.
 * restable bodies are bounded JSON, so it asks for Content-Length and implements no transfer
 * coding (chunked included): 501 at once, instead of waiting on a chunk that never ends.
 */
#include <string.h>
#include <strings.h>

#include "server/app.h"

struct head_scan {
    size_t content_length_count;
    bool is_content_length_bad;
    const char *transfer_encoding;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct head_scan *scan = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        scan->content_length_count++;
        size_t length = value ? strlen(value) : 0;
        if (length == 0 || length > 19 || strspn(value, "0123456789") != length)
            scan->is_content_length_bad = true;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        scan->transfer_encoding = value ? value : "";
    }
    return MHD_YES;
}

static int refuse(struct srv_request *request, unsigned int status, const char *message,
                  const char *detail)
{
    srv_respond_error(request, status, NULL, message, detail);
    srv_add_header(request, MHD_HTTP_HEADER_CONNECTION, "close");
    return -1;
}

int srv_head_check(struct srv_request *request)
{
    struct head_scan scan = {0};
    MHD_get_connection_values(request->connection, MHD_HEADER_KIND, scan_header, &scan);
    if (scan.content_length_count > 1)
        return refuse(request, 400, "%s", "the request has more than one Content-Length header");
    if (scan.is_content_length_bad)
        return refuse(request, 400, "%s", "Content-Length must be a number of bytes");
    if (scan.transfer_encoding && scan.content_length_count > 0)
        return refuse(request, 400, "%s",
                      "the request has both Content-Length and Transfer-Encoding");
    if (scan.transfer_encoding) {
        char shown[64];
        snprintf(shown, sizeof shown, "%s", scan.transfer_encoding);
        return refuse(request, 501,
                      "Transfer-Encoding \"%s\" is not supported: send the body with a "
                      "Content-Length",
                      shown);
    }
    return 0;
}
