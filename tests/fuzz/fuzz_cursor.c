/*
 * tests/fuzz/fuzz_cursor.c — libFuzzer target for what a client hands back as a position:
 * keyset cursors (orm/cursor.c: base64url, HMAC-SHA256, a JSON payload bound to a table and an
 * order) and WAL positions in X-Restable-LSN (orm/replicas.c).
 *
 * Input: byte 0 picks the mode. Mode 0: the rest is a cursor as a client sends it, decoded with
 * the server's key: it is refused with a 400 naming __cursor, or it is one the key signed,
 * which fuzzed bytes cannot forge. Mode 1: the rest is a JSON array of key values, encoded and
 * decoded again: a cursor the server made comes back to the same values, and the same cursor
 * under another order is refused. Mode 2: the rest is an X-Restable-LSN: a parsed position
 * prints back to the same number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orm/orm.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct orm_cursor_key key = {.bytes = "0123456789abcdef0123456789abcdef"};

static void decode_untrusted(const char *text)
{
    struct rs_error error = {0};
    size_t count = 0;
    char **values = orm_cursor_decode(&key, text, "movie", "-id", &count, &error);
    if (values) {
        free(values); /* only a cursor signed with the key gets here */
        return;
    }
    fuzz_expect(error.outcome == RS_INVALID, "a bad cursor is a 400");
    fuzz_expect(strcmp(error.field, "__cursor") == 0, "the error names __cursor");
}

static void round_trip(const char *values_json)
{
    json_t *values = json_loads(values_json, 0, NULL);
    char *cursor = orm_cursor_encode(&key, "movie", "-id", values_json);
    if (cursor) {
        fuzz_expect(json_is_array(values), "only an array of values makes a cursor");
        struct rs_error error = {0};
        size_t count = 0;
        char **decoded = orm_cursor_decode(&key, cursor, "movie", "-id", &count, &error);
        if (decoded) {
            fuzz_expect(count == json_array_size(values), "as many values as were encoded");
            for (size_t i = 0; i < count; i++) {
                json_t *value = json_array_get(values, i);
                if (json_is_string(value))
                    fuzz_expect(decoded[i] && strcmp(decoded[i], json_string_value(value)) == 0,
                                "a string value comes back the same");
                else if (json_is_null(value))
                    fuzz_expect(decoded[i] == NULL, "null comes back as SQL NULL");
            }
            free(decoded);
        }
        decoded = orm_cursor_decode(&key, cursor, "movie", "name", &count, &error);
        fuzz_expect(decoded == NULL, "a cursor is bound to its order");
        free(cursor);
    }
    json_decref(values);
}

static void lsn(const char *text)
{
    uint64_t position = 0;
    if (orm_lsn_parse(text, &position) < 0)
        return;
    char printed[ORM_LSN_TEXT_MAX];
    orm_lsn_format(position, printed);
    uint64_t again = 0;
    fuzz_expect(orm_lsn_parse(printed, &again) == 0 && again == position,
                "a parsed position prints back to itself");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return -1;
    char *text = fuzz_strndup(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        decode_untrusted(text);
        break;
    case 1:
        round_trip(text);
        break;
    default:
        lsn(text);
        break;
    }
    free(text);
    return 0;
}
