/*
 * server/conditional.c — conditional requests (RFC 9110 §13): the entity tags restable sends
 * and the If-Match / If-None-Match headers it reads. A row's ETag is its version (xmin, see
 * docs/decisions.md), strong and the same for every client; a list's is weak, a hash of the
 * bytes that principal was sent. The If-Match test itself is in the write's SQL (orm/
 * query_write.c), never here: a check made apart from the write could be raced.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>

#include "server/app.h"

const char *srv_header(const struct srv_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

/* One element of an entity-tag list: *weak and the opaque text between the quotes (start,
 * length). Returns the position after it and its comma, or NULL when the text is not a tag. */
static const char *next_tag(const char *p, bool *weak, const char **start, size_t *length)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    *weak = false;
    if (p[0] == 'W' && p[1] == '/') {
        *weak = true;
        p += 2;
    }
    if (*p != '"')
        return NULL;
    const char *end = strchr(p + 1, '"');
    if (!end)
        return NULL;
    *start = p + 1;
    *length = (size_t)(end - p - 1);
    for (const char *c = *start; c < end; c++) /* etagc: visible ASCII but '"', or obs-text */
        if ((unsigned char)*c < 0x21 || *c == 0x7f)
            return NULL;
    p = end + 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != ',' && *p != '\0')
        return NULL;
    return p;
}

/* The next tag of the list at *p, and *p moved past it and the commas and blanks after it.
 * Returns 1 with the tag, 0 at the end of the list, -1 when the list is malformed. */
static int next_in_list(const char **p, bool *weak, const char **start, size_t *length)
{
    if (!**p)
        return 0;
    *p = next_tag(*p, weak, start, length);
    if (!*p)
        return -1;
    while (**p == ',' || **p == ' ' || **p == '\t')
        (*p)++;
    return 1;
}

static bool is_star(const char *header)
{
    while (*header == ' ' || *header == '\t')
        header++;
    if (*header != '*')
        return false;
    header++;
    while (*header == ' ' || *header == '\t')
        header++;
    return *header == '\0';
}

/* The opaque part of our own tag: "123" → 123, W/"abc" → abc. */
static void opaque_of(const char *etag, const char **start, size_t *length)
{
    if (etag[0] == 'W' && etag[1] == '/')
        etag += 2;
    *start = etag + 1;
    *length = strlen(etag) - 2;
}

bool srv_if_none_match_hits(const struct srv_request *request, const char *etag)
{
    const char *header = srv_header(request, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (!header || !etag)
        return false;
    if (is_star(header))
        return true; /* the resource exists: it has a tag */
    const char *ours;
    size_t our_length;
    opaque_of(etag, &ours, &our_length);
    /* weak comparison (If-None-Match): W/ is ignored on both sides */
    const char *p = header;
    bool weak;
    const char *start;
    size_t length;
    /* a malformed list matches nothing: the full answer is safe */
    while (next_in_list(&p, &weak, &start, &length) > 0)
        if (length == our_length && memcmp(start, ours, length) == 0)
            return true;
    return false;
}

int srv_if_match_parse(struct srv_request *request, struct srv_if_match *parsed)
{
    memset(parsed, 0, sizeof *parsed);
    const char *header = srv_header(request, MHD_HTTP_HEADER_IF_MATCH);
    if (!header)
        return 0;
    parsed->is_present = true;
    if (is_star(header))
        return 0; /* any current row: no version to compare */
    size_t capacity = 1;
    for (const char *c = header; *c; c++)
        capacity += *c == ',';
    const char **versions = rs_arena_alloc(&request->arena, capacity * sizeof *versions);
    size_t count = 0;
    const char *p = header;
    bool weak;
    const char *start;
    size_t length;
    int found;
    while ((found = next_in_list(&p, &weak, &start, &length)) > 0 && count < capacity)
        if (!weak) /* strong comparison: a weak tag never matches a row; keep it out */
            versions[count++] = rs_arena_strndup(&request->arena, start, length);
    if (found != 0) {
        srv_respond_error(request, 400, NULL,
                          "If-Match must be * or a list of entity tags (\"...\")");
        return -1;
    }
    if (count == 0) {
        /* only weak tags (or none): nothing can match, yet the row's existence still decides
         * between 404 and 412, so the statement runs with a version no row has */
        versions[count++] = "";
    }
    parsed->versions = versions;
    parsed->version_count = count;
    return 0;
}

bool srv_if_match_required(struct srv_request *request, const struct srv_if_match *parsed)
{
    if (parsed->is_present || !request->route.table || !request->route.table->require_if_match)
        return false;
    srv_respond_error(request, 428, NULL,
                      "%s requires If-Match: send the row's ETag (from GET) or *, so that a "
                      "change made since you read it is not overwritten",
                      request->route.table->name);
    return true;
}

void srv_row_etag(const char *version, char *out, size_t size)
{
    snprintf(out, size, "\"%s\"", version ? version : "");
}

/* W/"<128 bits of SHA-256 over body and then tail>" */
static void weak_etag(const char *body, size_t length, const char *tail, size_t tail_length,
                      char *out, size_t size)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (!context || EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(context, body, length) != 1 ||
        EVP_DigestUpdate(context, tail, tail_length) != 1 ||
        EVP_DigestFinal_ex(context, digest, &digest_length) != 1)
        digest_length = 0;
    EVP_MD_CTX_free(context);
    /* 128 bits are plenty to tell two bodies apart */
    char hex[33] = "";
    for (unsigned int i = 0; i < 16 && i < digest_length; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(out, size, "W/\"%s\"", hex);
}

void srv_list_etag(const char *body, size_t length, long long total, char *out, size_t size)
{
    char total_text[32];
    int total_length = snprintf(total_text, sizeof total_text, "/%lld", total);
    /* the total (Content-Range) is part of what the client was told */
    weak_etag(body, length, total_text, (size_t)total_length, out, size);
}

void srv_cursor_page_etag(const char *rows, size_t length, const char *next_cursor, char *out,
                          size_t size)
{
    /* "#" cannot start a cursor: a page with a next cursor never hashes like one without */
    const char *tail = next_cursor ? next_cursor : "#";
    weak_etag(rows, length, tail, strlen(tail), out, size);
}

void srv_respond_not_modified(struct srv_request *request, const char *etag)
{
    srv_respond_empty(request, 304);
    srv_add_header(request, MHD_HTTP_HEADER_ETAG, etag);
}
