/*
 * base/base64.c — strict RFC 4648 base64 in its two alphabets: STANDARD with '=' padding
 * (password hashes, bytea values and defaults) and URL without padding (JWT parts). Written
 * out here, once, so that every malformed input is refused rather than tolerated.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static const char standard_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The six bits c stands for, or -1 when it is not in the variant's alphabet. */
static int value_of(char c, enum rs_base64_variant variant)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    bool is_url = variant == RS_BASE64_URL;
    if (c == (is_url ? '-' : '+'))
        return 62;
    if (c == (is_url ? '_' : '/'))
        return 63;
    return -1;
}

/* The length of text without its padding, or -1 when the padding breaks the variant's rule:
 * STANDARD is a multiple of four ending in at most two '='; URL has none. A '=' anywhere
 * else is left in, for the alphabet check to refuse. */
static long long unpadded_length(const char *text, size_t length, enum rs_base64_variant variant)
{
    if (variant == RS_BASE64_URL)
        return memchr(text, '=', length) ? -1 : (long long)length;
    if (length % 4 != 0)
        return -1;
    size_t padding = 0;
    while (padding < 2 && length > padding && text[length - 1 - padding] == '=')
        padding++;
    return (long long)(length - padding);
}

/* Walks the characters of text (padding removed), writing the decoded bytes to out when it is
 * not NULL. Returns the number of bytes, or -1 on a character outside the alphabet, a length
 * no encoding has, or (when is_canonical) unused bits that are not zero. */
static long long decode(const char *text, size_t length, enum rs_base64_variant variant,
                        bool is_canonical, unsigned char *out)
{
    if (length % 4 == 1)
        return -1;
    size_t used = 0;
    unsigned int buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < length; i++) {
        int value = value_of(text[i], variant);
        if (value < 0)
            return -1;
        buffer = (buffer << 6) | (unsigned int)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out)
                out[used] = (unsigned char)(buffer >> bits);
            used++;
        }
    }
    if (is_canonical && bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
        return -1;
    return (long long)used;
}

int rs_base64_decode(const char *text, size_t length, enum rs_base64_variant variant,
                     unsigned char **out, size_t *out_length)
{
    *out = NULL;
    *out_length = 0;
    long long unpadded = unpadded_length(text, length, variant);
    if (unpadded < 0)
        return -1;
    unsigned char *bytes = xmalloc((size_t)unpadded * 3 / 4 + 3);
    long long used = decode(text, (size_t)unpadded, variant, true, bytes);
    if (used < 0) {
        free(bytes);
        return -1;
    }
    *out = bytes;
    *out_length = (size_t)used;
    return 0;
}

bool rs_base64_is_shaped(const char *text, size_t length, enum rs_base64_variant variant)
{
    long long unpadded = unpadded_length(text, length, variant);
    return unpadded >= 0 && decode(text, (size_t)unpadded, variant, false, NULL) >= 0;
}

char *rs_base64_encode(const unsigned char *data, size_t length, enum rs_base64_variant variant)
{
    bool is_url = variant == RS_BASE64_URL;
    const char *alphabet = is_url ? url_alphabet : standard_alphabet;
    char *text = xmalloc((length + 2) / 3 * 4 + 1);
    size_t used = 0;
    for (size_t i = 0; i < length; i += 3) {
        unsigned int chunk = (unsigned int)data[i] << 16;
        if (i + 1 < length)
            chunk |= (unsigned int)data[i + 1] << 8;
        if (i + 2 < length)
            chunk |= data[i + 2];
        text[used++] = alphabet[(chunk >> 18) & 63];
        text[used++] = alphabet[(chunk >> 12) & 63];
        if (i + 1 < length)
            text[used++] = alphabet[(chunk >> 6) & 63];
        else if (!is_url)
            text[used++] = '=';
        if (i + 2 < length)
            text[used++] = alphabet[chunk & 63];
        else if (!is_url)
            text[used++] = '=';
    }
    text[used] = '\0';
    return text;
}
