/*
 * base/base.h — the bottom layer every module stands on: one allocation policy (allocate or
 * abort), arenas, the user-facing error value, the string builder, UTF-8 checks, base64 and
 * the value grammar (integers, decimals, dates, times, uuids, emails...). It depends on
 * nothing but the C library; config/config.h includes it, so every module sees it.
 */
#ifndef RESTABLE_BASE_H
#define RESTABLE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- allocation (base/alloc.c) ----------------------------------------------------------- */

/* Allocate or abort, in the manner of Redis's zmalloc: there is nothing sensible a request, a
 * config load or a migration can do without memory, so failure is reported once on stderr
 * ("restable: out of memory (N bytes)") and the process aborts. None of them returns NULL; a
 * zero size still gives a pointer the caller frees. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *memory, size_t size);
char *xstrdup(const char *text);                 /* text must not be NULL */
char *xstrndup(const char *text, size_t length); /* at most length bytes, NUL-terminated */
char *xstrdup_or_null(const char *text);         /* NULL stays NULL */
/* For memory a library allocated (json_dumps, json_deep_copy...): returns allocated, or
 * reports and aborts like the x* functions when it is NULL. */
void *xcheck(void *allocated);
/* The report and the abort themselves; bytes 0 when the size is not known. */
void rs_out_of_memory(size_t bytes) __attribute__((noreturn));

/* ---- arenas (base/arena.c) ---------------------------------------------------------------- */

/* A region in the manner of h2o's h2o_mem_pool_t: everything a request (or the loaded config)
 * allocates is bumped out of chunks and freed at once by rs_arena_free, with the cleanups
 * registered by rs_arena_defer (PQclear, json_decref, free for memory another module
 * malloc'ed) run first, newest first. Allocation never fails (the x* policy above) and is
 * aligned for any type. Not thread-safe: one owner at a time. Fields are private. */
struct rs_arena {
    unsigned char *cursor, *end;       /* the room left in the current chunk */
    struct rs_arena_chunk *chunks;     /* heap chunks, freed by rs_arena_free */
    struct rs_arena_cleanup *cleanups; /* newest first */
    size_t next_chunk_size;
    size_t heap_bytes; /* bytes malloc'ed beyond the first block: tests and sizing */
};

/* first/first_size: a block of the caller's (inline in the owner, say) used before any heap
 * chunk, never freed by the arena; NULL, 0 for none. */
void rs_arena_init(struct rs_arena *arena, void *first, size_t first_size);
void *rs_arena_alloc(struct rs_arena *arena, size_t size);
void *rs_arena_calloc(struct rs_arena *arena, size_t count, size_t size);
char *rs_arena_strdup(struct rs_arena *arena, const char *text); /* text must not be NULL */
char *rs_arena_strndup(struct rs_arena *arena, const char *text, size_t length);
/* release(data) runs when the arena is freed. */
void rs_arena_defer(struct rs_arena *arena, void (*release)(void *data), void *data);
/* Makes malloc'ed memory the arena's (freed with it); returns memory. NULL is ignored. */
void *rs_arena_adopt(struct rs_arena *arena, void *memory);
/* Runs the cleanups and frees every chunk; the arena is empty afterwards (init to reuse). */
void rs_arena_free(struct rs_arena *arena);

/* ---- errors fit for a user (base/rs_error.c) --------------------------------------------- */

/* What kind of failure an error is. Only server/respond.c turns an outcome into an HTTP
 * status; the other layers say what went wrong, never which status answers it. */
enum rs_outcome {
    RS_FAILED = 0,    /* a failure with nothing more to tell a client (I/O, files, the database) */
    RS_INVALID,       /* the request is malformed: a parameter, the target, a value's text */
    RS_UNPROCESSABLE, /* the request is well-formed but its body cannot be stored as it is */
    RS_UNAUTHORIZED,  /* the presented credentials are refused */
    RS_UNAVAILABLE,   /* a resource (the database) cannot be reached now; try again */
};

/* Filled by any function that can fail: outcome says what kind of failure it is; field names
 * the one field at fault, or "". */
struct rs_error {
    enum rs_outcome outcome;
    char field[64];
    char message[256];
};

void rs_error_set(struct rs_error *error, enum rs_outcome outcome, const char *field,
                  const char *format, ...) __attribute__((format(printf, 4, 5)));
void rs_error_clear(struct rs_error *error);

/* ---- string builder (base/strbuf.c) ------------------------------------------------------ */

/* A growable NUL-terminated buffer. A zeroed struct is a valid empty builder. Allocation
 * failure aborts (the x* policy above). */
struct sb {
    char *data;
    size_t length;
    size_t capacity;
};

void sb_append(struct sb *builder, const char *text);
void sb_append_n(struct sb *builder, const char *text, size_t length);
void sb_append_char(struct sb *builder, char c);
void sb_appendf(struct sb *builder, const char *format, ...) __attribute__((format(printf, 2, 3)));
void sb_vappendf(struct sb *builder, const char *format, va_list args);
void sb_reset(struct sb *builder); /* length 0, keeps the memory */
char *sb_take(struct sb *builder); /* caller frees; builder is empty after */
void sb_free(struct sb *builder);
static inline const char *sb_text(const struct sb *builder)
{
    return builder->data ? builder->data : "";
}

/* ---- UTF-8 (base/utf8.c) ----------------------------------------------------------------- */

/* The offset of the first byte that does not start a valid UTF-8 sequence, or length. */
size_t rs_utf8_invalid_at(const char *text, size_t length);
bool rs_utf8_is_valid(const char *text, size_t length);
/* Replaces each byte of text that is not part of a valid sequence with '?', in place. */
void rs_utf8_repair(char *text);
/* Appends text as a JSON string literal (quotes included): control characters, quotes and
 * backslashes escaped, invalid UTF-8 bytes written as U+FFFD, so the output is always JSON. */
void sb_append_json_string(struct sb *builder, const char *text, size_t length);

/* ---- CSV (base/csv.c) ---------------------------------------------------------------------- */

/* Appends one RFC 4180 field, preceded by a comma unless is_first. text NULL (SQL NULL) writes
 * nothing; the empty string and text holding a comma, a quote, CR or LF are quoted (as
 * PostgreSQL's COPY CSV output quotes them). */
void rs_csv_append_field(struct sb *out, bool is_first, const char *text, size_t length);
/* The same for the only field of a row, where "\." (an end-of-data marker to COPY) is quoted. */
void rs_csv_append_lone_field(struct sb *out, const char *text, size_t length);
/* Ends a row: CRLF. */
void rs_csv_end_row(struct sb *out);

/* ---- base64 (base/base64.c) -------------------------------------------------------------- */

/* RFC 4648's two alphabets as restable meets them: STANDARD ("+/") is padded with '=' to a
 * multiple of four (password hashes, bytea values); URL ("-_") has no padding at all (JWT). */
enum rs_base64_variant { RS_BASE64_STANDARD, RS_BASE64_URL };

/* Strict decoding of length bytes of text: only the variant's alphabet, its padding rule, no
 * whitespace, and the unused bits of the last character zero, so each byte string has exactly
 * one accepted spelling. Returns 0 and a buffer the caller frees in *out (never NULL on
 * success, even for no bytes), or -1 on any bad input (*out NULL). */
int rs_base64_decode(const char *text, size_t length, enum rs_base64_variant variant,
                     unsigned char **out, size_t *out_length);
/* Encodes data in the variant's spelling (padded for STANDARD, unpadded for URL). Caller
 * frees. */
char *rs_base64_encode(const unsigned char *data, size_t length, enum rs_base64_variant variant);
/* The alphabet and padding checks of rs_base64_decode without the unused-bits one: the shape
 * config/ has always required of a bytea default, which PostgreSQL's decode() reads. */
bool rs_base64_is_shaped(const char *text, size_t length, enum rs_base64_variant variant);

/* ---- the value grammar (base/values.c) --------------------------------------------------- */

/* One reading of every typed value restable meets, used by config/ for defaults and choices
 * and by orm/ for request values, so both accept exactly the same text. Each rs_parse_*
 * returns RS_VALUE_OK and appends the value's canonical PostgreSQL input text to out (which
 * may be NULL to only check), RS_VALUE_MALFORMED when text is not of that shape (the caller
 * says what it expected, in its own words), or RS_VALUE_OUT_OF_RANGE when the shape is right
 * but the value is not; where error is given and the reason needs words of its own ("1e99 is
 * out of range for a real"), its message says so. None allocates except through out. */
enum rs_value_result { RS_VALUE_OK = 0, RS_VALUE_MALFORMED = -1, RS_VALUE_OUT_OF_RANGE = -2 };

/* -?[0-9]+ only (no spaces, '+', "1.0" or "0x") within [minimum, maximum]; *value may be
 * NULL. */
int rs_parse_integer(const char *text, long long minimum, long long maximum, long long *value);

/* -?(D+.?D*|.D+)([eE][+-]?D+)? (no NaN, no Infinity). REAL and DOUBLE refuse what would
 * overflow or underflow to zero; NUMERIC refuses exponents past ±1000 and, when precision > 0,
 * values with more than precision - scale digits before the point once rounded to scale. The
 * canonical text is the input. */
enum rs_decimal_kind { RS_DECIMAL_NUMERIC, RS_DECIMAL_REAL, RS_DECIMAL_DOUBLE };
int rs_parse_decimal(const char *text, enum rs_decimal_kind kind, int precision, int scale,
                     struct sb *out, struct rs_error *error);
/* The shortest "%.Ng" spelling (15 to 17 digits) that reads back as the same double. */
void rs_format_double(double value, char *buffer, size_t size);

/* YYYY-MM-DD, years 0001 to 9999, real days only. */
int rs_parse_date(const char *text, struct sb *out);
/* HH:MM[:SS[.f]], seconds 00-59, 1 to 9 fractional digits. Canonical: HH:MM:SS[.f]. */
int rs_parse_time(const char *text, struct sb *out);
/* A date, 'T' or ' ', a time, then an optional offset (Z, ±HH, ±HH:MM, ±HHMM, up to ±15:59).
 * What happens to the offset is the caller's rule:
 *   RS_ZONE_KEPT     timestamptz: written as +HH:MM (none means UTC, +00:00);
 *   RS_ZONE_TO_UTC   timestamp: the wall time moves to UTC and the offset goes (PostgreSQL
 *                    would silently drop it); out of range when that leaves years 1-9999;
 *   RS_ZONE_REFUSED  timestamp where the text is kept as written (a config default that goes
 *                    into DDL verbatim): an offset makes it MALFORMED. */
enum rs_timestamp_zone { RS_ZONE_KEPT, RS_ZONE_TO_UTC, RS_ZONE_REFUSED };
int rs_parse_timestamp(const char *text, enum rs_timestamp_zone zone, struct sb *out,
                       struct rs_error *error);
/* An ISO 8601 duration (P[nY][nM][nW][nD][T[nH][nM][nS]], signed and fractional numbers) kept
 * as written, or a plain number of seconds (-?D+(.D+)?) written as PT<n>S. */
int rs_parse_interval(const char *text, struct sb *out);
/* 8-4-4-4-12 hex digits, either case; canonical lower case. */
int rs_parse_uuid(const char *text, struct sb *out);
/* One '@', a non-empty local part, a dotted domain with no empty label, no spaces or control
 * characters, at most 254 bytes. Canonical: as written. */
int rs_parse_email(const char *text, struct sb *out);

#endif
