/*
 * tests/fuzz/fuzz_common.c — helpers shared by the libFuzzer targets (see fuzz_common.h): C
 * strings from fuzz bytes, the shared table config, UTF-8 checking and invariant aborts.
 */
#include "tests/fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

const char fuzz_tables_json[] =
    "{\"database\": {\"url\": \"postgresql://fuzz@localhost/fuzz\"},"
    " \"migrations_dir\": \"/tmp/restable-fuzz-migrations\", \"tables\": {"
    " \"director\": {\"columns\": {\"name\": {\"type\": \"varchar\", \"length\": 100,"
    "   \"unique\": true}, \"born\": {\"type\": \"date\", \"null\": true}},"
    "   \"readable\": \"name\"},"
    " \"item\": {\"max_joins\": 1, \"page_size\": 15, \"max_page_size\": 100, \"columns\": {"
    "  \"v_varchar\": {\"type\": \"varchar\", \"length\": 8},"
    "  \"v_text\": {\"type\": \"text\", \"null\": true},"
    "  \"v_email\": {\"type\": \"email\", \"null\": true},"
    "  \"v_integer\": {\"type\": \"integer\", \"default\": 0},"
    "  \"v_bigint\": {\"type\": \"bigint\", \"null\": true},"
    "  \"v_smallint\": {\"type\": \"smallint\", \"null\": true},"
    "  \"v_boolean\": {\"type\": \"boolean\", \"default\": false},"
    "  \"v_numeric\": {\"type\": \"numeric\", \"precision\": 6, \"scale\": 2, \"null\": true},"
    "  \"v_real\": {\"type\": \"real\", \"null\": true},"
    "  \"v_double\": {\"type\": \"double\", \"null\": true},"
    "  \"v_timestamp\": {\"type\": \"timestamp\", \"null\": true},"
    "  \"v_timestamptz\": {\"type\": \"timestamptz\", \"default\": \"now\"},"
    "  \"v_date\": {\"type\": \"date\", \"null\": true},"
    "  \"v_time\": {\"type\": \"time\", \"null\": true},"
    "  \"v_interval\": {\"type\": \"interval\", \"null\": true},"
    "  \"v_uuid\": {\"type\": \"uuid\", \"default\": \"uuid4\"},"
    "  \"v_json\": {\"type\": \"json\", \"null\": true},"
    "  \"v_jsonb\": {\"type\": \"jsonb\", \"null\": true},"
    "  \"v_bytea\": {\"type\": \"bytea\", \"null\": true},"
    "  \"v_tags\": {\"type\": \"array\", \"of\": \"varchar\", \"length\": 5, \"null\": true},"
    "  \"v_ints\": {\"type\": \"array\", \"of\": \"integer\", \"null\": true},"
    "  \"v_director\": {\"type\": \"foreign_key\", \"references\": \"director\", \"null\": true},"
    "  \"v_choice\": {\"type\": \"varchar\", \"length\": 10, \"choices\": [\"a\", \"b\", "
    "\"\\u00e7a\"], \"null\": true},"
    "  \"v_level\": {\"type\": \"integer\", \"choices\": [1, 2, 3], \"null\": true},"
    "  \"v_secret\": {\"type\": \"varchar\", \"length\": 64, \"secret\": true, \"null\": true}"
    " }},"
    " \"keyed\": {\"allow_bulk_delete\": true, \"columns\": {"
    "  \"code\": {\"type\": \"varchar\", \"length\": 12, \"primary_key\": true},"
    "  \"owner\": {\"type\": \"foreign_key\", \"references\": \"item\", \"null\": true},"
    "  \"stamp\": {\"type\": \"bigserial\"}}}"
    "}}";

struct cfg_config *fuzz_config_or_die(const char *json)
{
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(json, "/tmp/restable-fuzz.json", &errors);
    if (!config) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "fuzz fixture config: %s\n", errors.messages[i]);
        cfg_errors_free(&errors);
        abort();
    }
    return config;
}

const struct cfg_config *fuzz_config_tables(void)
{
    static struct cfg_config *config;
    if (!config)
        config = fuzz_config_or_die(fuzz_tables_json);
    return config;
}

bool fuzz_is_utf8(const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + length;
    while (p < end) {
        unsigned char c = *p;
        size_t need;
        unsigned int code;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            code = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            code = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= need)
            return false;
        for (size_t i = 1; i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (p[i] & 0x3F);
        }
        if ((need == 2 && code < 0x800) || (need == 3 && (code < 0x10000 || code > 0x10FFFF)) ||
            (code >= 0xD800 && code <= 0xDFFF))
            return false;
        p += need + 1;
    }
    return true;
}

void fuzz_expect(bool condition, const char *what)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}
