/*
 * base/utf8.c — UTF-8 checks for text that came from outside (paths, query strings, headers,
 * error messages echoing them): where the first invalid sequence is, and a repair that makes
 * any bytes safe to put in a JSON string. RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
#include <string.h>

#include "base/base.h"

/* The length of the valid sequence at text[0], or 0 when it is not one. */
static size_t sequence_length(const unsigned char *text, size_t remaining)
{
    unsigned char first = text[0];
    if (first < 0x80)
        return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xBF; /* bounds of the second byte */
    if (first >= 0xC2 && first <= 0xDF) {
        length = 2;
    } else if (first >= 0xE0 && first <= 0xEF) {
        length = 3;
        if (first == 0xE0)
            low = 0xA0; /* overlong */
        else if (first == 0xED)
            high = 0x9F; /* surrogates */
    } else if (first >= 0xF0 && first <= 0xF4) {
        length = 4;
        if (first == 0xF0)
            low = 0x90; /* overlong */
        else if (first == 0xF4)
            high = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (remaining < length || text[1] < low || text[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if ((text[i] & 0xC0) != 0x80)
            return 0;
    return length;
}

size_t rs_utf8_invalid_at(const char *text, size_t length)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t at = 0;
    while (at < length) {
        if (bytes[at] < 0x80) {
            at++;
            continue;
        }
        size_t step = sequence_length(bytes + at, length - at);
        if (step == 0)
            return at;
        at += step;
    }
    return length;
}

bool rs_utf8_is_valid(const char *text, size_t length)
{
    return rs_utf8_invalid_at(text, length) == length;
}

void rs_utf8_repair(char *text)
{
    unsigned char *bytes = (unsigned char *)text;
    size_t length = strlen(text);
    size_t at = 0;
    while (at < length) {
        size_t step = bytes[at] < 0x80 ? 1 : sequence_length(bytes + at, length - at);
        if (step == 0) {
            bytes[at] = '?';
            step = 1;
        }
        at += step;
    }
}

void sb_append_json_string(struct sb *builder, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bytes = (const unsigned char *)text;
    sb_append_char(builder, '"');
    size_t span = 0; /* start of the run of bytes that need no escaping */
    size_t at = 0;
    while (at < length) {
        unsigned char c = bytes[at];
        size_t step = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            at++;
            continue;
        }
        if (c >= 0x80) {
            step = sequence_length(bytes + at, length - at);
            if (step > 0) {
                at += step;
                continue;
            }
            step = 1;
        }
        sb_append_n(builder, text + span, at - span);
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            sb_append_n(builder, escaped, 2);
        } else if (c >= 0x80) {
            sb_append(builder, "\\ufffd"); /* an invalid byte: shown as the replacement mark */
        } else {
            char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_append_n(builder, escaped, 6);
        }
        at += step;
        span = at;
    }
    sb_append_n(builder, text + span, at - span);
    sb_append_char(builder, '"');
}
