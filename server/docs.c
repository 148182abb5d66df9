/*
 * server/docs.c — GET /docs: a page that renders /openapi.json with Swagger UI, and
 * GET /docs/<asset>: Swagger UI's own files, served from a directory (server.docs_dir, else
 * found beside the binary; see docs/operations.md). Nothing comes from a CDN, so the page works
 * offline. Only the files named below are served, so no request path ever reaches the file
 * system. Public, and never touches the database.
 */
#include <string.h>

#include "server/app.h"

static const char *const assets[] = {
    "swagger-ui.css",    "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
    "favicon-32x32.png", "favicon-16x16.png",
};

void srv_docs_find(const struct cfg_config *config, char *out, size_t size)
{
    /* an installed binary (bin/ → share/restable/docs, as the container has it), the install
     * folder meson was configured with, then a build folder of the source tree
     * (scripts/docs-assets fetches into web/node_modules) */
    const struct srv_static_dir wanted = {config->server.docs_dir,
                                          "swagger-ui-bundle.js",
                                          "/../share/restable/docs",
                                          RESTABLE_DOCS_INSTALL_DIR,
                                          "/../web/node_modules/swagger-ui-dist",
                                          "Swagger UI",
                                          "server.docs_dir",
                                          "scripts/docs-assets",
                                          "GET /docs"};
    srv_static_dir_find(&wanted, out, size);
}

static void respond_not_installed(struct srv_request *request)
{
    srv_respond_error(request, 404, NULL,
                      "the API docs page is not installed on this server "
                      "(its operator can run scripts/docs-assets or set server.docs_dir); the "
                      "API description is at /openapi.json");
}

static void respond_page(struct srv_request *request)
{
    const char *base = request->app->config->server.base_path; /* only URL-safe characters */
    struct sb page = {0};
    sb_appendf(&page,
               "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>restable API</title>\n"
               "<link rel=\"icon\" type=\"image/png\" href=\"%sdocs/favicon-32x32.png\">\n"
               "<link rel=\"stylesheet\" href=\"%sdocs/swagger-ui.css\">\n</head>\n<body>\n"
               "<div id=\"swagger-ui\"></div>\n"
               "<script src=\"%sdocs/swagger-ui-bundle.js\"></script>\n"
               "<script>\nwindow.ui = SwaggerUIBundle({url: \"%sopenapi.json\", "
               "dom_id: \"#swagger-ui\", deepLinking: true});\n</script>\n</body>\n</html>\n",
               base, base, base, base);
    /* Swagger UI needs inline styles and our one inline script, and "Try it out" calls this
     * same origin */
    srv_respond_page(request, &page,
                     "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                     "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                     "connect-src 'self'; frame-ancestors 'none'");
}

static void respond_asset(struct srv_request *request, const char *name)
{
    size_t index = sizeof assets / sizeof assets[0];
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(assets[i], name) == 0)
            index = i;
    if (index == sizeof assets / sizeof assets[0]) {
        srv_respond_error(request, 404, NULL, "no such file in the docs page");
        return;
    }
    if (!srv_respond_static_file(request, request->app->docs_dir, assets[index],
                                 srv_content_type_of(assets[index]))) {
        respond_not_installed(request);
        return;
    }
    srv_add_header(request, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=3600");
}

void srv_handle_docs(struct srv_request *request)
{
    if (!request->app->docs_dir[0]) {
        respond_not_installed(request);
        return;
    }
    if (request->route.kind == SRV_ROUTE_DOCS_ASSET)
        respond_asset(request, request->route.pk_text);
    else
        respond_page(request);
}
