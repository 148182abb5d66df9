/*
 * server/admin.c — GET /admin/: the admin UI (SPEC §8), a react-admin app built by
 * scripts/admin-assets into a folder (admin.dir, else found beside the binary; see
 * docs/operations.md), and GET /admin/{file...}: its other files. Names are checked against a
 * strict grammar (letters, digits, "-", "_", "." inside names, "/" between them, no segment
 * starting with a dot) before the file system sees them, so no path leaves the folder. Vite's
 * hashed files under assets/ are cached forever, everything else is revalidated. A gzip copy
 * (file.gz, written by the build) is sent to clients that accept it. index.html is answered
 * at /admin and /admin/ alike, its <base> pointed at {base_path}admin/. Public as a page: every
 * piece of data the app shows comes from the API with the user's token. Never touches the
 * database.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/app.h"

void srv_admin_find(const struct cfg_config *config, char *out, size_t size)
{
    if (!config->admin.enabled)
        return;
    /* an installed binary (bin/ → share/restable/admin, as the container has it), the install
     * folder meson was configured with, then the source tree (scripts/admin-assets builds
     * web/admin/dist) */
    const struct srv_static_dir wanted = {config->admin.dir,
                                          "index.html",
                                          "/../share/restable/admin",
                                          RESTABLE_ADMIN_INSTALL_DIR,
                                          "/../web/admin/dist",
                                          "admin UI",
                                          "admin.dir",
                                          "scripts/admin-assets",
                                          "GET /admin/"};
    srv_static_dir_find(&wanted, out, size);
}

static bool is_name_character(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* "assets/index-3f2a.js": segments of name characters, none empty, none starting with a dot
 * (so never "." or ".."), and not a .gz copy (those are sent only as an encoding). */
static bool is_safe_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 200 || (length > 3 && strcmp(name + length - 3, ".gz") == 0))
        return false;
    bool at_segment_start = true;
    for (const char *p = name; *p; p++) {
        if (*p == '/') {
            if (at_segment_start)
                return false;
            at_segment_start = true;
            continue;
        }
        if (!is_name_character(*p) || (at_segment_start && *p == '.'))
            return false;
        at_segment_start = false;
    }
    return !at_segment_start;
}

/* Whether Accept-Encoding admits gzip: "gzip" (or "x-gzip"), else "*", with a q other than 0. */
static bool accepts_gzip(const char *header)
{
    int gzip = -1, any = -1;
    while (header && *header) {
        const char *end = strchr(header, ',');
        size_t length = end ? (size_t)(end - header) : strlen(header);
        char item[64];
        if (length < sizeof item) {
            memcpy(item, header, length);
            item[length] = '\0';
            char *name = item;
            while (*name == ' ' || *name == '\t')
                name++;
            char *parameters = strchr(name, ';');
            if (parameters)
                *parameters++ = '\0';
            size_t name_length = strcspn(name, " \t");
            name[name_length] = '\0';
            const char *q = parameters ? strstr(parameters, "q=") : NULL;
            int accepted = q ? strtod(q + 2, NULL) > 0 : 1;
            if (strcasecmp(name, "gzip") == 0 || strcasecmp(name, "x-gzip") == 0)
                gzip = accepted;
            else if (strcmp(name, "*") == 0)
                any = accepted;
        }
        header = end ? end + 1 : NULL;
    }
    return gzip >= 0 ? gzip == 1 : any == 1;
}

static bool respond_file(struct srv_request *request, const char *name)
{
    const char *directory = request->app->admin_dir;
    const char *content_type = srv_content_type_of(name);
    const char *encodings = MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_ACCEPT_ENCODING);
    char compressed[300];
    bool is_gzip =
        accepts_gzip(encodings) &&
        (size_t)snprintf(compressed, sizeof compressed, "%s.gz", name) < sizeof compressed &&
        srv_respond_static_file(request, directory, compressed, content_type);
    if (!is_gzip && !srv_respond_static_file(request, directory, name, content_type))
        return false;
    if (is_gzip)
        srv_add_header(request, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    srv_add_header(request, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    /* Vite names what it builds under assets/ by a hash of the content */
    bool is_hashed = strncmp(name, "assets/", 7) == 0;
    srv_add_header(request, MHD_HTTP_HEADER_CACHE_CONTROL,
                   is_hashed ? "public, max-age=31536000, immutable" : "no-cache");
    srv_add_header(request, "X-Content-Type-Options", "nosniff");
    return true;
}

static void respond_not_installed(struct srv_request *request)
{
    srv_respond_error(request, 404, NULL,
                      "the admin UI is not installed on this server (its operator can run "
                      "scripts/admin-assets or set admin.dir)");
}

/* The whole of a small file as a string (malloc'd), or NULL when it cannot be read or is over
 * limit bytes. */
static char *read_small_file(const char *path, size_t limit)
{
    FILE *file = fopen(path, "rbe");
    if (!file)
        return NULL;
    char *text = xmalloc(limit + 1);
    size_t length = fread(text, 1, limit + 1, file);
    fclose(file);
    if (length > limit) {
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

/* index.html, with its <base href="./"> made absolute ({base_path}admin/): the page then
 * finds its files and the API (one folder up) from /admin as from /admin/. */
static void respond_index(struct srv_request *request)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/index.html", request->app->admin_dir);
    char *page = NULL;
    if (!request->app->admin_dir[0] || !(page = read_small_file(path, 65536))) {
        respond_not_installed(request);
        return;
    }
    struct sb body = {0};
    static const char relative[] = "<base href=\"./\">";
    const char *base = strstr(page, relative);
    if (base)
        sb_appendf(&body, "%.*s<base href=\"%sadmin/\">%s", (int)(base - page), page,
                   request->app->config->server.base_path, base + strlen(relative));
    else
        sb_appendf(&body, "%s", page);
    free(page);
    /* the app calls only this server; MUI's emotion writes <style> elements at run time */
    srv_respond_page(request, &body,
                     "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                     "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                     "frame-ancestors 'none'");
}

void srv_handle_admin(struct srv_request *request)
{
    const char *name = request->route.pk_text;
    if (request->route.kind == SRV_ROUTE_ADMIN || strcmp(name, "index.html") == 0)
        respond_index(request);
    else if (!request->app->admin_dir[0])
        respond_not_installed(request);
    else if (!is_safe_name(name) || !respond_file(request, name))
        srv_respond_error(request, 404, NULL, "no such file in the admin UI");
}
