/*
 * tests/fuzz/fuzz_migration_file.c — libFuzzer target for the migration file parser
 * (orm/migrate_files.c: the file name's id and name, the checksum, the forwards and backwards
 * sections and their markers, old and new spellings, CRs and trailing blanks).
 *
 * Input: when it starts with a digit, its first line is the file name and the rest the file's
 * text; otherwise the whole input is the text of "20240102030405_fuzz.sql".
 *
 * Invariants: an accepted file has a non-empty id of the name's leading part, a 64-digit hex
 * checksum, both sections (each a part of the text) and line numbers in order; a refusal says
 * why.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orm/migrate_internal.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_migration(const struct orm_migration *migration, const char *file_name,
                            size_t text_length)
{
    fuzz_expect(migration->id && isdigit((unsigned char)migration->id[0]), "an id of digits first");
    fuzz_expect(strchr(migration->id, '_') == NULL, "an id without '_'");
    fuzz_expect(strncmp(file_name, migration->id, strlen(migration->id)) == 0,
                "the id starts the file name");
    fuzz_expect(migration->name && strcmp(migration->file_name, file_name) == 0, "names kept");
    fuzz_expect(strlen(migration->checksum) == 64 &&
                    strspn(migration->checksum, "0123456789abcdef") == 64,
                "a SHA-256 checksum in hex");
    fuzz_expect(migration->forwards && migration->backwards, "both sections");
    fuzz_expect(strlen(migration->forwards) + strlen(migration->backwards) <= text_length,
                "sections are parts of the text");
    fuzz_expect(migration->forwards_line >= 2 &&
                    migration->backwards_line >= migration->forwards_line,
                "section lines in order");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return -1;
    char *input = fuzz_strndup(data, size);
    const char *file_name = "20240102030405_fuzz.sql";
    const char *text = input;
    size_t length = size;
    if (size > 0 && isdigit(data[0])) {
        char *newline = memchr(input, '\n', size);
        if (newline) {
            *newline = '\0';
            file_name = input;
            text = newline + 1;
            length = size - (size_t)(text - input);
        }
    }
    struct orm_migration migration;
    struct rs_error error = {0};
    if (orm_migration_parse(file_name, text, length, &migration, &error) == 0)
        check_migration(&migration, file_name, length);
    else
        fuzz_expect(error.message[0] != '\0', "a refused file says why");
    orm_migration_clear(&migration);
    free(input);
    return 0;
}
