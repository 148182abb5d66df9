/*
 * server/static_files.c — what the two pages of static files (/docs and /admin/) share: finding
 * their folder (configured, else beside the binary, else the install folder meson was given,
 * else the source tree's build output), sending one regular file of it with its content type,
 * and sending an HTML page made in memory.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/app.h"

/* Whether directory holds marker (a file only a real install has). */
static bool holds(const char *directory, const char *marker)
{
    char path[PATH_MAX];
    int length = snprintf(path, sizeof path, "%s/%s", directory, marker);
    return length > 0 && (size_t)length < sizeof path && access(path, R_OK) == 0;
}

static bool find(const struct srv_static_dir *wanted, char *out, size_t size)
{
    out[0] = '\0';
    if (wanted->configured[0]) {
        if (holds(wanted->configured, wanted->marker) &&
            (size_t)snprintf(out, size, "%s", wanted->configured) < size)
            return true;
        out[0] = '\0';
        return false;
    }
    char binary[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", binary, sizeof binary - 1);
    binary[length > 0 ? length : 0] = '\0';
    /* without /proc (a bare chroot) only the configured install folder can be tried */
    const char *folder = length > 0 ? dirname(binary) : NULL;
    /* an installed binary (bin/ → share/restable/...), the install folder, the source tree */
    const char *const candidates[] = {wanted->beside_installed, NULL, wanted->beside_build};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char path[PATH_MAX];
        int written = -1;
        if (!candidates[i])
            written = snprintf(path, sizeof path, "%s", wanted->install_dir);
        else if (folder)
            written = snprintf(path, sizeof path, "%s%s", folder, candidates[i]);
        if (written < 0 || (size_t)written >= sizeof path)
            continue;
        char resolved[PATH_MAX];
        if (realpath(path, resolved) && holds(resolved, wanted->marker) &&
            (size_t)snprintf(out, size, "%s", resolved) < size)
            return true;
        out[0] = '\0';
    }
    return false;
}

bool srv_static_dir_find(const struct srv_static_dir *wanted, char *out, size_t size)
{
    if (find(wanted, out, size))
        return true;
    if (wanted->configured[0])
        srv_log("warning", "%s %s holds no %s (%s): %s answers 404", wanted->key,
                wanted->configured, wanted->what, wanted->marker, wanted->route);
    else
        srv_log("warning", "no %s found beside the binary (run %s or set %s): %s answers 404",
                wanted->what, wanted->script, wanted->key, wanted->route);
    return false;
}

static const struct {
    const char *extension, *content_type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *srv_content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof content_types / sizeof content_types[0]; i++)
        if (strcmp(dot, content_types[i].extension) == 0)
            return content_types[i].content_type;
    return "application/octet-stream";
}

void srv_respond_page(struct srv_request *request, struct sb *page, const char *policy)
{
    size_t length = page->length;
    char *body = sb_take(page);
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(length, body, free, body);
    srv_respond_with(request, 200, response, length, "text/html; charset=utf-8");
    srv_add_header(request, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* the browser itself refuses anything from elsewhere */
    srv_add_header(request, "Content-Security-Policy", policy);
    srv_add_header(request, "X-Content-Type-Options", "nosniff");
}

bool srv_respond_static_file(struct srv_request *request, const char *directory, const char *name,
                             const char *content_type)
{
    char path[PATH_MAX];
    int length = snprintf(path, sizeof path, "%s/%s", directory, name);
    int fd = length > 0 && (size_t)length < sizeof path
                 ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                 : -1;
    struct stat status;
    if (fd < 0 || fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    /* MHD sends the file (sendfile where it can) and closes fd with the response */
    struct MHD_Response *response = MHD_create_response_from_fd((uint64_t)status.st_size, fd);
    if (!response) {
        close(fd);
        srv_respond_error(request, 503, NULL, "cannot send the file now, try again");
        return true;
    }
    srv_respond_with(request, 200, response, (uint64_t)status.st_size, content_type);
    return true;
}
