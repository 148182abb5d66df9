/*
 * auth/base64.c — strict base64url (JWT) and standard base64 (password hashes), written out
 * here so that every malformed input is refused rather than tolerated.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

static int value_of(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static int decode(const char *text, size_t length, bool url, unsigned char **out,
                  size_t *out_length)
{
    *out = NULL;
    *out_length = 0;
    if (!url) {
        if (length % 4 != 0)
            return -1;
        size_t padding = 0;
        while (padding < 2 && length > padding && text[length - 1 - padding] == '=')
            padding++;
        length -= padding;
    }
    if (length % 4 == 1)
        return -1;
    unsigned char *bytes = malloc(length * 3 / 4 + 3);
    if (!bytes)
        abort();
    size_t used = 0;
    unsigned int buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < length; i++) {
        int value = value_of(text[i], url);
        if (value < 0) {
            free(bytes);
            return -1;
        }
        buffer = (buffer << 6) | (unsigned int)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[used++] = (unsigned char)(buffer >> bits);
        }
    }
    /* leftover bits must be zero (canonical encoding) */
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
        free(bytes);
        return -1;
    }
    *out = bytes;
    *out_length = used;
    return 0;
}

int auth_base64url_decode(const char *text, size_t length, unsigned char **out, size_t *out_length)
{
    if (memchr(text, '=', length))
        return -1;
    return decode(text, length, true, out, out_length);
}

int auth_base64_decode(const char *text, unsigned char **out, size_t *out_length)
{
    return decode(text, strlen(text), false, out, out_length);
}

char *auth_base64_encode(const unsigned char *data, size_t length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *text = malloc((length + 2) / 3 * 4 + 1);
    if (!text)
        abort();
    size_t used = 0;
    for (size_t i = 0; i < length; i += 3) {
        unsigned int chunk = (unsigned int)data[i] << 16;
        if (i + 1 < length)
            chunk |= (unsigned int)data[i + 1] << 8;
        if (i + 2 < length)
            chunk |= data[i + 2];
        text[used++] = alphabet[(chunk >> 18) & 63];
        text[used++] = alphabet[(chunk >> 12) & 63];
        text[used++] = i + 1 < length ? alphabet[(chunk >> 6) & 63] : '=';
        text[used++] = i + 2 < length ? alphabet[chunk & 63] : '=';
    }
    text[used] = '\0';
    return text;
}
