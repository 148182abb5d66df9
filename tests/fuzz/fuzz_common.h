/*
 * tests/fuzz/fuzz_common.h — what every libFuzzer target of tests/fuzz/ shares: turning fuzz
 * bytes into C strings, the config the table-driven targets run against (a table with one
 * column of every type), and a check that aborts (so libFuzzer keeps the input) when an
 * invariant the project promises does not hold.
 */
#ifndef RESTABLE_FUZZ_COMMON_H
#define RESTABLE_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* A NUL-terminated copy of the bytes (a NUL inside them ends the C string early, as it would
 * for any C caller). Caller frees. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* The config text of fuzz_config_tables(): tables "director", "item" (one column of every
 * type, a foreign key to director, choices, arrays, a secret) and "keyed" (a varchar primary
 * key). Any migrations_dir lives under /tmp. */
extern const char fuzz_tables_json[];

/* Loads fuzz_tables_json once (aborting with its errors if it does not load) and keeps it for
 * the life of the process. */
const struct cfg_config *fuzz_config_tables(void);

/* Loads a config from text or aborts printing every error: targets build their fixtures
 * with it. Caller frees with cfg_free. */
struct cfg_config *fuzz_config_or_die(const char *json);

/* Is text (length bytes) well-formed UTF-8, as jansson requires of every string it encodes? */
bool fuzz_is_utf8(const char *text, size_t length);

/* Aborts with the message when condition is false: a broken invariant is a finding. */
void fuzz_expect(bool condition, const char *what);

#endif
