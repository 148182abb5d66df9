/*
 * auth/jwks_fetch.c — one bounded GET of a JWKS URL with libcurl: https verified against the
 * system CA store (or auth.jwt.jwks_ca_file), plain http only to loopback (checked by the
 * config, and here again through the protocols curl may use), no redirects, at most 1 MiB
 * and 5 s in all. Also reads the answer's Cache-Control max-age. Runs on the refresher thread
 * (and once at start), never on an HTTP worker.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_internal.h"

struct answer {
    struct sb body;
    bool is_too_large;
    long max_age; /* -1: none seen */
};

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
    struct answer *answer = context;
    size_t length = size * count;
    if (answer->body.length + length > AUTH_JWKS_MAX_BYTES) {
        answer->is_too_large = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    sb_append_n(&answer->body, data, length);
    return length;
}

/* "Cache-Control: public, max-age=3600, must-revalidate" → 3600. no-store and no-cache mean
 * "ask again soon": the floor applies. */
static size_t on_header(char *data, size_t size, size_t count, void *context)
{
    struct answer *answer = context;
    size_t length = size * count;
    static const char name[] = "cache-control:";
    if (length <= sizeof name - 1 || strncasecmp(data, name, sizeof name - 1) != 0)
        return length;
    char value[256];
    size_t value_length = length - (sizeof name - 1);
    if (value_length >= sizeof value)
        value_length = sizeof value - 1;
    memcpy(value, data + sizeof name - 1, value_length);
    value[value_length] = '\0';
    for (char *p = value; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *age = strstr(value, "max-age=");
    if (strstr(value, "no-store") || strstr(value, "no-cache"))
        answer->max_age = 0;
    else if (age && isdigit((unsigned char)age[8]))
        answer->max_age = strtol(age + 8, NULL, 10);
    return length;
}

long auth_jwks_refresh_after(long max_age)
{
    if (max_age < 0)
        return AUTH_JWKS_DEFAULT_AGE_S;
    if (max_age < AUTH_JWKS_MIN_AGE_S)
        return AUTH_JWKS_MIN_AGE_S;
    return max_age > AUTH_JWKS_MAX_AGE_S ? AUTH_JWKS_MAX_AGE_S : max_age;
}

static void set_options(CURL *curl, const char *url, const char *ca_file, struct answer *answer)
{
    /* http only for the loopback URLs the config let through; a redirect is never followed,
     * so an https set cannot be downgraded or sent elsewhere */
    bool is_http = strncasecmp(url, "http://", 7) == 0 && cfg_jwks_url_is_allowed(url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, is_http ? "http" : "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: we are threaded */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)AUTH_JWKS_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)AUTH_JWKS_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, (long)AUTH_JWKS_MAX_BYTES);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "restable/" RESTABLE_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, answer);
}

char *auth_jwks_fetch(const char *url, const char *ca_file, long *max_age, size_t *length,
                      struct rs_error *error)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        rs_error_set(error, RS_FAILED, NULL, "cannot set up an HTTP client");
        return NULL;
    }
    struct answer answer = {.max_age = -1};
    set_options(curl, url, ca_file, &answer);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (answer.is_too_large || code == CURLE_FILESIZE_EXCEEDED)
        rs_error_set(error, RS_FAILED, NULL, "the answer is larger than %d bytes",
                     AUTH_JWKS_MAX_BYTES);
    else if (code != CURLE_OK)
        rs_error_set(error, RS_FAILED, NULL, "%s", curl_easy_strerror(code));
    else if (status != 200)
        rs_error_set(error, RS_FAILED, NULL, "HTTP status %ld", status);
    if (answer.is_too_large || code != CURLE_OK || status != 200) {
        sb_free(&answer.body);
        return NULL;
    }
    *max_age = answer.max_age;
    *length = answer.body.length;
    return sb_take(&answer.body);
}
