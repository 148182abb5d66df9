/*
 * orm/cursor.c — the keyset cursor as a client holds it: base64url of an HMAC-SHA256 tag and a
 * small JSON payload {"t": table, "o": normalised order, "v": [key values as PostgreSQL text]}.
 * Signed, not encrypted: it carries only values of columns the client may read and order by.
 * The key is the same on every instance (from the config), so a client may follow its cursor
 * through any of them. Here rather than in server/ because it is the ORM's keyset position in
 * transit and needs no HTTP; here rather than in auth/ because it is no credential.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "orm/orm.h"

#define TAG_BYTES 32

static const char hkdf_salt[] = "restable";
static const char hkdf_info[] = "restable keyset cursor v1";

/* HKDF-SHA256 (RFC 5869) of secret into key; false when OpenSSL fails. The info label keeps
 * the derived key independent of any other use of the same secret (JWT signatures). */
static bool derive_key(const char *secret, struct orm_cursor_key *key)
{
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t length = sizeof key->bytes;
    bool is_ok = context && EVP_PKEY_derive_init(context) > 0 &&
                 EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) > 0 &&
                 EVP_PKEY_CTX_set1_hkdf_salt(context, (const unsigned char *)hkdf_salt,
                                             (int)strlen(hkdf_salt)) > 0 &&
                 EVP_PKEY_CTX_set1_hkdf_key(context, (const unsigned char *)secret,
                                            (int)strlen(secret)) > 0 &&
                 EVP_PKEY_CTX_add1_hkdf_info(context, (const unsigned char *)hkdf_info,
                                             (int)strlen(hkdf_info)) > 0 &&
                 EVP_PKEY_derive(context, key->bytes, &length) > 0 && length == sizeof key->bytes;
    EVP_PKEY_CTX_free(context);
    return is_ok;
}

enum orm_cursor_key_source orm_cursor_key_init(const struct cfg_config *config,
                                               struct orm_cursor_key *key)
{
    const char *configured = config ? config->server.cursor_secret : NULL;
    const char *jwt = config ? config->auth.secret : NULL;
    if (configured && *configured && derive_key(configured, key))
        return ORM_CURSOR_KEY_CONFIGURED;
    if (jwt && *jwt && derive_key(jwt, key))
        return ORM_CURSOR_KEY_FROM_JWT;
    if (RAND_bytes(key->bytes, (int)sizeof key->bytes) != 1)
        abort(); /* no randomness: nothing safe to sign with */
    return ORM_CURSOR_KEY_RANDOM;
}

static bool sign(const struct orm_cursor_key *key, const unsigned char *data, size_t length,
                 unsigned char tag[TAG_BYTES])
{
    unsigned int tag_length = 0;
    return HMAC(EVP_sha256(), key->bytes, (int)sizeof key->bytes, data, length, tag, &tag_length) &&
           tag_length == TAG_BYTES;
}

char *orm_cursor_encode(const struct orm_cursor_key *key, const char *table, const char *order,
                        const char *values_json)
{
    json_t *values = values_json ? json_loads(values_json, 0, NULL) : NULL;
    json_t *payload = json_is_array(values)
                          ? json_pack("{s:s,s:s,s:O}", "t", table, "o", order, "v", values)
                          : NULL;
    char *payload_text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(values);
    json_decref(payload);
    if (!payload_text)
        return NULL;
    size_t length = strlen(payload_text);
    unsigned char *blob = xmalloc(TAG_BYTES + length);
    char *cursor = NULL;
    if (sign(key, (const unsigned char *)payload_text, length, blob)) {
        memcpy(blob + TAG_BYTES, payload_text, length);
        cursor = rs_base64_encode(blob, TAG_BYTES + length, RS_BASE64_URL);
    }
    free(blob);
    free(payload_text);
    if (cursor && strlen(cursor) > ORM_CURSOR_MAX_LENGTH) {
        free(cursor);
        return NULL;
    }
    return cursor;
}

/* The payload's values, checked to be strings or nulls, copied into one allocation: the
 * pointer array followed by the texts. */
static char **copy_values(const json_t *values, size_t *value_count)
{
    if (!json_is_array(values) || json_array_size(values) == 0)
        return NULL;
    size_t count = json_array_size(values), bytes = count * sizeof(char *);
    for (size_t i = 0; i < count; i++) {
        const json_t *value = json_array_get(values, i);
        if (!json_is_string(value) && !json_is_null(value))
            return NULL;
        bytes += json_is_string(value) ? json_string_length(value) + 1 : 0;
    }
    char **out = xmalloc(bytes ? bytes : 1);
    char *text = (char *)(out + count);
    for (size_t i = 0; i < count; i++) {
        const json_t *value = json_array_get(values, i);
        out[i] = NULL;
        if (json_is_string(value)) {
            size_t length = json_string_length(value);
            memcpy(text, json_string_value(value), length + 1);
            out[i] = text;
            text += length + 1;
        }
    }
    *value_count = count;
    return out;
}

/* The signed payload of text, parsed; NULL with the error when it is not ours. */
static json_t *verified_payload(const struct orm_cursor_key *key, const char *text,
                                struct rs_error *error)
{
    size_t text_length = strlen(text);
    unsigned char *blob = NULL;
    size_t length = 0;
    if (text_length > ORM_CURSOR_MAX_LENGTH) {
        rs_error_set(error, RS_INVALID, "__cursor", "__cursor is too long (at most %d characters)",
                     ORM_CURSOR_MAX_LENGTH);
        return NULL;
    }
    if (rs_base64_decode(text, text_length, RS_BASE64_URL, &blob, &length) < 0 ||
        length <= TAG_BYTES) {
        free(blob);
        rs_error_set(error, RS_INVALID, "__cursor",
                     "__cursor is not a cursor: pass next_cursor as it was received");
        return NULL;
    }
    unsigned char tag[TAG_BYTES];
    json_t *payload = NULL;
    if (sign(key, blob + TAG_BYTES, length - TAG_BYTES, tag) &&
        CRYPTO_memcmp(tag, blob, TAG_BYTES) == 0)
        payload = json_loadb((const char *)blob + TAG_BYTES, length - TAG_BYTES, 0, NULL);
    free(blob);
    if (!json_is_object(payload)) {
        json_decref(payload);
        rs_error_set(error, RS_INVALID, "__cursor",
                     "__cursor was altered or was not made by this service");
        return NULL;
    }
    return payload;
}

char **orm_cursor_decode(const struct orm_cursor_key *key, const char *text, const char *table,
                         const char *order, size_t *value_count, struct rs_error *error)
{
    json_t *payload = verified_payload(key, text, error);
    if (!payload)
        return NULL;
    const char *made_for_table = json_string_value(json_object_get(payload, "t"));
    const char *made_for_order = json_string_value(json_object_get(payload, "o"));
    char **values = NULL;
    if (!made_for_table || strcmp(made_for_table, table) != 0)
        rs_error_set(error, RS_INVALID, "__cursor", "__cursor was made for another table");
    else if (!made_for_order || strcmp(made_for_order, order) != 0)
        rs_error_set(error, RS_INVALID, "__cursor",
                     "__cursor was made for __order=%.200s, not %.200s: keep the order of the "
                     "first page",
                     made_for_order ? made_for_order : "?", order);
    else if (!(values = copy_values(json_object_get(payload, "v"), value_count)))
        rs_error_set(error, RS_INVALID, "__cursor", "__cursor holds no position");
    json_decref(payload);
    return values;
}
