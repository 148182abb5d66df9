/*
 * server/static_files.c — what the two pages of static files (/docs and /admin/) share: finding
 * their folder (configured, else beside the binary, else the install folder meson was given,
 * else the source tree's build output) and sending one regular file of it.
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

bool srv_static_dir_find(const struct srv_static_dir *wanted, char *out, size_t size)
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
