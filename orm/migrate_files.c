/*
 * orm/migrate_files.c — migration files on disk: naming, writing, listing and splitting them
 * into their forwards and backwards sections. A file looks like
 *
 *     -- restable migration 20240102030405 add_rating
 *     -- +forwards
 *     ALTER TABLE "movie" ADD COLUMN "rating" integer;
 *     -- +backwards
 *     ALTER TABLE "movie" DROP COLUMN "rating";
 *
 * and is named "<id>_<name>.sql"; the id (UTC creation time, YYYYMMDDHHMMSS, then "b", "c"...
 * for more in the same second) orders migrations: plain string order.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "orm/migrate_internal.h"

#define FORWARDS_MARKER "-- +forwards"
#define BACKWARDS_MARKER "-- +backwards"
/* what files written before 0.2 say; still read */
#define OLD_FORWARDS_MARKER "-- restable:forwards"
#define OLD_BACKWARDS_MARKER "-- restable:backwards"
#define MAX_NAME 60

void orm_migration_name_clean(const char *name, const char *fallback, char *out)
{
    size_t length = 0;
    bool is_gap = false;
    for (const char *p = name ? name : ""; *p && length < MAX_NAME; p++) {
        char c = (char)tolower((unsigned char)*p);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (is_gap && length > 0)
                out[length++] = '_';
            if (length < MAX_NAME)
                out[length++] = c;
            is_gap = false;
        } else {
            is_gap = true;
        }
    }
    out[length] = '\0';
    if (length == 0)
        snprintf(out, MAX_NAME + 1, "%s", fallback);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* The file's bytes, NUL-terminated, with their count in *length (a NUL inside is kept, for
 * the parser to refuse). Caller frees. */
static char *read_whole_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    struct sb text = {0};
    char buffer[4096];
    size_t count;
    while ((count = fread(buffer, 1, sizeof buffer, file)) > 0)
        sb_append_n(&text, buffer, count);
    bool has_failed = ferror(file) != 0;
    fclose(file);
    if (has_failed) {
        sb_free(&text);
        return NULL;
    }
    *length = text.length;
    return sb_take(&text);
}

/* Is this line (up to its newline) the marker? Trailing blanks and a CR are forgiven. */
static bool is_marker(const char *line, size_t length, const char *marker)
{
    while (length > 0 &&
           (line[length - 1] == ' ' || line[length - 1] == '\t' || line[length - 1] == '\r'))
        length--;
    return length == strlen(marker) && strncmp(line, marker, length) == 0;
}

static int split_sections(struct orm_migration *migration, const char *text, struct rs_error *error)
{
    const char *forwards = NULL, *backwards = NULL, *forwards_end = NULL;
    int line_number = 1;
    for (const char *line = text; *line;) {
        const char *newline = strchr(line, '\n');
        size_t length = newline ? (size_t)(newline - line) : strlen(line);
        const char *next = newline ? newline + 1 : line + length;
        if (is_marker(line, length, FORWARDS_MARKER) ||
            is_marker(line, length, OLD_FORWARDS_MARKER)) {
            if (forwards) {
                rs_error_set(error, RS_FAILED, NULL,
                             "%s: line %d: a second \"" FORWARDS_MARKER "\"", migration->file_name,
                             line_number);
                return -1;
            }
            forwards = next;
            migration->forwards_line = line_number + 1;
        } else if (is_marker(line, length, BACKWARDS_MARKER) ||
                   is_marker(line, length, OLD_BACKWARDS_MARKER)) {
            if (!forwards || backwards) {
                rs_error_set(error, RS_FAILED, NULL,
                             "%s: line %d: \"" BACKWARDS_MARKER
                             "\" must follow one \"" FORWARDS_MARKER "\"",
                             migration->file_name, line_number);
                return -1;
            }
            forwards_end = line;
            backwards = next;
            migration->backwards_line = line_number + 1;
        }
        line = next;
        line_number++;
    }
    if (!forwards) {
        rs_error_set(error, RS_FAILED, NULL,
                     "%s: not a restable migration: no \"" FORWARDS_MARKER "\" line",
                     migration->file_name);
        return -1;
    }
    if (!backwards) {
        /* a file without the backwards marker simply cannot be reverted by SQL */
        forwards_end = forwards + strlen(forwards);
        backwards = forwards_end;
        migration->backwards_line = line_number;
    }
    migration->forwards = xstrndup(forwards, (size_t)(forwards_end - forwards));
    migration->backwards = xstrdup(backwards);
    return 0;
}

/* "<id>_<name>.sql" or "<id>.sql", the id starting with a digit and holding no '_'. */
static bool parse_file_name(const char *file_name, size_t *id_length, size_t *name_length)
{
    size_t length = strlen(file_name);
    if (length < 5 || strcmp(file_name + length - 4, ".sql") != 0 ||
        !isdigit((unsigned char)file_name[0]))
        return false;
    size_t id_end = strcspn(file_name, "_");
    if (id_end >= length - 4) {
        *id_length = length - 4;
        *name_length = 0;
    } else {
        *id_length = id_end;
        *name_length = length - 4 - id_end - 1;
    }
    return true;
}

static int compare_migrations(const void *left, const void *right)
{
    const struct orm_migration *a = left, *b = right;
    return strcmp(a->id, b->id);
}

static void migration_free(struct orm_migration *migration)
{
    free(migration->id);
    free(migration->name);
    free(migration->file_name);
    free(migration->path);
    free(migration->forwards);
    free(migration->backwards);
}

int orm_migration_parse(const char *file_name, const char *text, size_t length,
                        struct orm_migration *migration, struct rs_error *error)
{
    memset(migration, 0, sizeof *migration);
    size_t id_length, name_length;
    if (!parse_file_name(file_name, &id_length, &name_length)) {
        rs_error_set(error, RS_FAILED, NULL, "%.200s: not a migration file name (<id>_<name>.sql)",
                     file_name);
        return -1;
    }
    migration->id = xstrndup(file_name, id_length);
    migration->name = xstrndup(file_name + id_length + (name_length ? 1 : 0), name_length);
    migration->file_name = xstrdup(file_name);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(text, length, digest, &digest_length, EVP_sha256(), NULL) != 1)
        digest_length = 0;
    for (unsigned int i = 0; i < digest_length && i < 32; i++)
        snprintf(migration->checksum + 2 * i, 3, "%02x", digest[i]);
    /* the sections are C strings: what follows a NUL would be silently dropped (and left out
     * of nothing the checksum covers), and PostgreSQL takes no NUL in SQL text anyway */
    const char *nul = memchr(text, '\0', length);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        rs_error_set(error, RS_FAILED, NULL, "%s: line %d: holds a NUL byte: not a text file",
                     migration->file_name, line);
        return -1;
    }
    return split_sections(migration, text, error);
}

void orm_migration_clear(struct orm_migration *migration)
{
    migration_free(migration);
    memset(migration, 0, sizeof *migration);
}

static int read_one(const char *directory, const char *file_name, struct orm_migration *migration,
                    struct rs_error *error)
{
    struct sb path = {0};
    sb_appendf(&path, "%s/%s", directory, file_name);
    size_t length = 0;
    char *text = read_whole_file(sb_text(&path), &length);
    if (!text) {
        memset(migration, 0, sizeof *migration);
        rs_error_set(error, RS_FAILED, NULL, "cannot read %.200s: %s", sb_text(&path),
                     strerror(errno));
        migration->path = sb_take(&path);
        return -1;
    }
    int status = orm_migration_parse(file_name, text, length, migration, error);
    migration->path = sb_take(&path);
    free(text);
    return status;
}

int orm_migration_list_read(const char *directory, struct orm_migration_list *list,
                            struct rs_error *error)
{
    memset(list, 0, sizeof *list);
    DIR *dir = opendir(directory);
    if (!dir) {
        if (errno == ENOENT)
            return 0;
        rs_error_set(error, RS_FAILED, NULL, "cannot open the migrations folder %.180s: %s",
                     directory, strerror(errno));
        return -1;
    }
    size_t capacity = 0;
    int status = 0;
    const struct dirent *entry;
    while (status == 0 && (entry = readdir(dir)) != NULL) {
        size_t id_length, name_length;
        if (!parse_file_name(entry->d_name, &id_length, &name_length))
            continue;
        if (list->count == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            list->items = xrealloc(list->items, capacity * sizeof *list->items);
        }
        status = read_one(directory, entry->d_name, &list->items[list->count], error);
        list->count++; /* even a half-read one: the free below takes what it holds */
    }
    closedir(dir);
    if (status == 0 && list->count > 1) {
        qsort(list->items, list->count, sizeof *list->items, compare_migrations);
        for (size_t i = 1; i < list->count; i++) {
            if (strcmp(list->items[i - 1].id, list->items[i].id) == 0) {
                rs_error_set(error, RS_FAILED, NULL, "%s and %s share the id %s: rename one",
                             list->items[i - 1].file_name, list->items[i].file_name,
                             list->items[i].id);
                status = -1;
                break;
            }
        }
    }
    if (status < 0)
        orm_migration_list_free(list);
    return status;
}

void orm_migration_list_free(struct orm_migration_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        migration_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

const struct orm_migration *orm_migration_list_find(const struct orm_migration_list *list,
                                                    const char *id)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].id, id) == 0)
            return &list->items[i];
    return NULL;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* mkdir -p */
static int make_directories(const char *directory, struct rs_error *error)
{
    struct sb path = {0};
    sb_append(&path, directory);
    for (char *p = path.data + 1; p && *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path.data, 0755) != 0 && errno != EEXIST) {
            rs_error_set(error, RS_FAILED, NULL, "cannot create %.200s: %s", path.data,
                         strerror(errno));
            sb_free(&path);
            return -1;
        }
        *p = '/';
    }
    int status = 0;
    if (path.data && mkdir(path.data, 0755) != 0 && errno != EEXIST) {
        rs_error_set(error, RS_FAILED, NULL, "cannot create %.200s: %s", directory,
                     strerror(errno));
        status = -1;
    }
    sb_free(&path);
    return status;
}

static bool id_is_taken(const struct orm_migration_list *existing, const char *id)
{
    return existing && orm_migration_list_find(existing, id) != NULL;
}

static void append_section(struct sb *out, const char *marker, const char *sql)
{
    sb_append(out, marker);
    sb_append_char(out, '\n');
    sb_append(out, sql ? sql : "");
    if (sql && *sql && sql[strlen(sql) - 1] != '\n')
        sb_append_char(out, '\n');
}

char *orm_migration_write(const char *directory, const struct orm_migration_list *existing,
                          const char *name, const char *forwards, const char *backwards,
                          struct rs_error *error)
{
    if (make_directories(directory, error) < 0)
        return NULL;
    time_t now = time(NULL);
    struct tm utc;
    char base[32];
    if (now == (time_t)-1 || !gmtime_r(&now, &utc) ||
        strftime(base, sizeof base, "%Y%m%d%H%M%S", &utc) == 0) {
        rs_error_set(error, RS_FAILED, NULL, "cannot read the clock to name the migration");
        return NULL;
    }
    /* A second migration in the same second gets "b", "c"...: "<id>b" sorts after "<id>"
     * and before the next second, both as an id and as a file name ('b' > '_'). */
    for (char suffix = 'a'; suffix <= 'z'; suffix++) {
        char id[40];
        snprintf(id, sizeof id, "%s%.*s", base, suffix == 'a' ? 0 : 1, &suffix);
        if (id_is_taken(existing, id))
            continue;
        struct sb path = {0};
        sb_appendf(&path, "%s/%s_%s.sql", directory, id, name);
        int fd = open(sb_text(&path), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST) {
            sb_free(&path);
            continue;
        }
        if (fd < 0) {
            rs_error_set(error, RS_FAILED, NULL, "cannot create %.200s: %s", sb_text(&path),
                         strerror(errno));
            sb_free(&path);
            return NULL;
        }
        struct sb text = {0};
        sb_appendf(&text, "-- restable migration %s %s\n", id, name);
        append_section(&text, FORWARDS_MARKER, forwards);
        sb_append_char(&text, '\n');
        append_section(&text, BACKWARDS_MARKER, backwards);
        size_t written = 0;
        while (written < text.length) {
            ssize_t count = write(fd, text.data + written, text.length - written);
            if (count < 0 && errno == EINTR)
                continue;
            if (count <= 0)
                break;
            written += (size_t)count;
        }
        int saved_errno = errno;
        bool is_complete = written == text.length;
        sb_free(&text);
        if (close(fd) != 0 && is_complete) {
            is_complete = false;
            saved_errno = errno;
        }
        if (!is_complete) {
            rs_error_set(error, RS_FAILED, NULL, "cannot write %.200s: %s", sb_text(&path),
                         strerror(saved_errno));
            unlink(sb_text(&path));
            sb_free(&path);
            return NULL;
        }
        return sb_take(&path);
    }
    rs_error_set(error, RS_FAILED, NULL, "too many migrations created within one second");
    return NULL;
}
