/*
 * orm/migrate.c — the `restable migrations` commands on a blocking connection: new (write a
 * file, optionally with the SQL --auto works out), forwards and backwards (run file sections,
 * each in its own transaction, recorded in restable_migrations, under an advisory lock so two
 * deploys cannot migrate at once), and check (pending files and schema drift).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "orm/diff_internal.h"

/* "restable" in ASCII as a bigint: the session-level advisory lock every migrator takes. */
#define LOCK_KEY "8243122740636142693"
#define DEFAULT_DIRECTORY "migrations"

/* checksum came later: an older history table gains it */
static const char create_history_sql[] =
    "CREATE TABLE IF NOT EXISTS restable_migrations ("
    "id text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
    "checksum text);\n"
    "ALTER TABLE restable_migrations ADD COLUMN IF NOT EXISTS checksum text";

static const char *directory_of(const struct cfg_config *config)
{
    return config->migrations_dir && *config->migrations_dir ? config->migrations_dir
                                                             : DEFAULT_DIRECTORY;
}

void orm_migrate_say(FILE *out, const char *format, ...)
{
    if (!out)
        return;
    va_list args;
    va_start(args, format);
    vfprintf(out, format, args);
    va_end(args);
    fflush(out); /* progress shows up as it happens, in order with stderr */
}

/* The drift lines of `migrations check`, through orm_migrate_say like the rest of its output. */
size_t orm_plan_describe(const struct orm_plan *plan, FILE *out)
{
    size_t found = 0;
    for (size_t i = 0; i < plan->count; i++) {
        if (!plan->steps[i].description)
            continue;
        orm_migrate_say(out, "drift: %s\n", plan->steps[i].description);
        found++;
    }
    return found;
}

/* The server's message on one line: libpq's end with a newline, some span several. */
static void set_database_error(struct rs_error *error, const char *context, PGconn *conn,
                               const PGresult *result)
{
    const char *message = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    rs_error_set(error, RS_FAILED, NULL, "%s: %.200s", context,
                 message ? message : PQerrorMessage(conn));
    for (char *p = error->message; *p; p++)
        if (*p == '\n')
            *p = ' ';
    size_t length = strlen(error->message);
    while (length > 0 && error->message[length - 1] == ' ')
        error->message[--length] = '\0';
}

static int run_command(PGconn *conn, const char *sql, const char *context, struct rs_error *error)
{
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        set_database_error(error, context, conn, result);
        PQclear(result);
        return -1;
    }
    PQclear(result);
    return 0;
}

static int lock(PGconn *conn, FILE *out, struct rs_error *error)
{
    PGresult *result = PQexec(conn, "SELECT pg_try_advisory_lock(" LOCK_KEY ")");
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
        set_database_error(error, "cannot take the migrations lock", conn, result);
        PQclear(result);
        return -1;
    }
    bool is_locked = strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    if (is_locked)
        return 0;
    orm_migrate_say(out, "waiting for another restable to finish migrating...\n");
    return run_command(conn, "SELECT pg_advisory_lock(" LOCK_KEY ")",
                       "cannot take the migrations lock", error);
}

/* Also after a failure: the lock is the session's, and the CLI may keep the connection. */
static void unlock(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" LOCK_KEY ")"));
}

/* The applied migrations, id order (descending when asked), as a result of (id, name,
 * checksum) rows; an empty result when the history table does not exist yet. The checksum
 * goes through to_jsonb so a history table from before checksums reads as NULL ones. NULL
 * with error on failure. */
static PGresult *read_applied(PGconn *conn, bool is_descending, struct rs_error *error)
{
    const char *sql = is_descending ? "SELECT id, name, to_jsonb(m)->>'checksum' "
                                      "FROM restable_migrations m ORDER BY id DESC"
                                    : "SELECT id, name, to_jsonb(m)->>'checksum' "
                                      "FROM restable_migrations m ORDER BY id";
    PGresult *exists = PQexec(conn, "SELECT to_regclass('restable_migrations') IS NOT NULL");
    if (PQresultStatus(exists) != PGRES_TUPLES_OK || PQntuples(exists) != 1) {
        set_database_error(error, "cannot read restable_migrations", conn, exists);
        PQclear(exists);
        return NULL;
    }
    if (strcmp(PQgetvalue(exists, 0, 0), "t") != 0)
        sql = "SELECT NULL::text AS id, NULL::text AS name, NULL::text WHERE false";
    PQclear(exists);
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        set_database_error(error, "cannot read restable_migrations", conn, result);
        PQclear(result);
        return NULL;
    }
    return result;
}

static bool is_applied(const PGresult *applied, const char *id)
{
    for (int row = 0; row < PQntuples(applied); row++)
        if (strcmp(PQgetvalue(applied, row, 0), id) == 0)
            return true;
    return false;
}

static void warn_missing_files(const PGresult *applied, const struct orm_migration_list *files,
                               const char *directory, FILE *out)
{
    for (int row = 0; row < PQntuples(applied); row++)
        if (!orm_migration_list_find(files, PQgetvalue(applied, row, 0)))
            orm_migrate_say(out, "warning: %s %s is recorded as applied but has no file in %s\n",
                            PQgetvalue(applied, row, 0), PQgetvalue(applied, row, 1), directory);
}

/* Runs one section of a migration and (un)records it, in one transaction. */
static int run_section(PGconn *conn, const struct orm_migration *migration, bool is_forwards,
                       struct rs_error *error)
{
    if (run_command(conn, "BEGIN", "cannot start a transaction", error) < 0)
        return -1;
    const char *sql = is_forwards ? migration->forwards : migration->backwards;
    /* One PQexec with the whole section: the simple query protocol runs every statement,
     * and stops at the first error, inside our transaction. */
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        const char *position =
            result ? PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION) : NULL;
        int line = is_forwards ? migration->forwards_line : migration->backwards_line;
        if (position) {
            /* a 1-based count of characters: step over UTF-8 continuation bytes */
            long characters = strtol(position, NULL, 10) - 1;
            for (const char *p = sql; *p && characters > 0; p++) {
                if ((*p & 0xC0) != 0x80)
                    characters--;
                if (*p == '\n')
                    line++;
            }
        }
        struct sb context = {0};
        sb_appendf(&context, "%s failed (rolled back)", migration->file_name);
        if (position)
            sb_appendf(&context, " at line %d", line);
        set_database_error(error, sb_text(&context), conn, result);
        sb_free(&context);
        PQclear(result);
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    PQclear(result);
    const char *record_sql =
        is_forwards ? "INSERT INTO restable_migrations (id, name, checksum) VALUES ($1, $2, $3)"
                    : "DELETE FROM restable_migrations WHERE id = $1";
    const char *values[] = {migration->id, migration->name, migration->checksum};
    result = PQexecParams(conn, record_sql, is_forwards ? 3 : 1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        set_database_error(error, "cannot record the migration", conn, result);
        PQclear(result);
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    PQclear(result);
    /* deferred constraints are checked here, so COMMIT can fail too */
    struct sb context = {0};
    sb_appendf(&context, "%s failed at commit (rolled back)", migration->file_name);
    int committed = run_command(conn, "COMMIT", sb_text(&context), error);
    sb_free(&context);
    return committed;
}

static int record_only(PGconn *conn, const struct orm_migration *migration, struct rs_error *error)
{
    const char *values[] = {migration->id, migration->name, migration->checksum};
    PGresult *result = PQexecParams(
        conn, "INSERT INTO restable_migrations (id, name, checksum) VALUES ($1, $2, $3)", 3, NULL,
        values, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        set_database_error(error, "cannot record the migration", conn, result);
        PQclear(result);
        return -1;
    }
    PQclear(result);
    return 0;
}

static int store_checksum(PGconn *conn, const struct orm_migration *migration,
                          struct rs_error *error)
{
    const char *values[] = {migration->id, migration->checksum};
    PGresult *result =
        PQexecParams(conn, "UPDATE restable_migrations SET checksum = $2 WHERE id = $1", 2, NULL,
                     values, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        set_database_error(error, "cannot record the checksum", conn, result);
        PQclear(result);
        return -1;
    }
    PQclear(result);
    return 0;
}

/* Is the applied migration's file the one that was applied? A record from before checksums
 * (NULL) cannot tell, and counts as unchanged. */
static bool is_edited(const PGresult *applied, int row, const struct orm_migration *migration)
{
    return !PQgetisnull(applied, row, 2) &&
           strcmp(PQgetvalue(applied, row, 2), migration->checksum) != 0;
}

/* Applied files edited since are refused, unless force (their new checksums are recorded
 * then). Records without a checksum take the file's as it is now. may_write false (preview)
 * records nothing. */
static int verify_checksums(PGconn *conn, const PGresult *applied,
                            const struct orm_migration_list *files, bool force, bool may_write,
                            FILE *out, struct rs_error *error)
{
    size_t edited = 0;
    const char *first = NULL;
    for (int row = 0; row < PQntuples(applied); row++) {
        const struct orm_migration *migration =
            orm_migration_list_find(files, PQgetvalue(applied, row, 0));
        if (!migration)
            continue;
        bool needs_record = PQgetisnull(applied, row, 2);
        if (is_edited(applied, row, migration)) {
            if (!force) {
                edited++;
                first = first ? first : migration->file_name;
                continue;
            }
            orm_migrate_say(out, "accepted the edit of %s (changed after it was applied)\n",
                            migration->file_name);
            needs_record = true;
        }
        if (needs_record && may_write && store_checksum(conn, migration, error) < 0)
            return -1;
    }
    if (edited == 0)
        return 0;
    rs_error_set(error, RS_FAILED, NULL,
                 "%.100s%s was edited after it was applied (its checksum differs from the one "
                 "recorded): restore it, or run `restable migrations forwards --force` to "
                 "accept the edit",
                 first, edited > 1 ? " (and other files)" : "");
    return -1;
}

int orm_migrations_forwards(const struct cfg_config *config, PGconn *conn,
                            const struct orm_forwards_options *options, FILE *out,
                            struct rs_error *error)
{
    static const struct orm_forwards_options no_options = {0};
    if (!options)
        options = &no_options;
    const char *directory = directory_of(config);
    struct orm_migration_list files;
    if (orm_migration_list_read(directory, &files, error) < 0)
        return -1;
    if (options->to && !orm_migration_list_find(&files, options->to)) {
        rs_error_set(error, RS_FAILED, NULL, "--to %.64s: no such migration in %.150s", options->to,
                     directory);
        orm_migration_list_free(&files);
        return -1;
    }
    if (lock(conn, out, error) < 0) {
        orm_migration_list_free(&files);
        return -1;
    }
    int status = 0;
    PGresult *applied = NULL;
    /* --preview changes nothing, not even the history table. */
    if (!options->preview &&
        run_command(conn, create_history_sql, "cannot create restable_migrations", error) < 0)
        status = -1;
    if (status == 0 && !(applied = read_applied(conn, false, error)))
        status = -1;
    if (status == 0)
        warn_missing_files(applied, &files, directory, out);
    if (status == 0)
        status =
            verify_checksums(conn, applied, &files, options->force, !options->preview, out, error);
    size_t done = 0;
    for (size_t i = 0; status == 0 && i < files.count; i++) {
        const struct orm_migration *migration = &files.items[i];
        if (!is_applied(applied, migration->id)) {
            if (options->preview) {
                size_t length = strlen(migration->forwards);
                orm_migrate_say(out, "-- %s %s\n%s%s", migration->id, migration->name,
                                migration->forwards,
                                length && migration->forwards[length - 1] != '\n' ? "\n" : "");
            } else if (options->fake) {
                status = record_only(conn, migration, error);
                if (status == 0)
                    orm_migrate_say(out, "faked %s %s\n", migration->id, migration->name);
            } else {
                status = run_section(conn, migration, true, error);
                if (status == 0)
                    orm_migrate_say(out, "applied %s %s\n", migration->id, migration->name);
            }
            done++;
        }
        if (options->to && strcmp(migration->id, options->to) == 0)
            break;
    }
    if (status == 0 && done == 0)
        orm_migrate_say(out, "nothing to apply\n");
    PQclear(applied);
    unlock(conn);
    orm_migration_list_free(&files);
    return status;
}

int orm_migrations_backwards(const struct cfg_config *config, PGconn *conn,
                             const struct orm_backwards_options *options, FILE *out,
                             struct rs_error *error)
{
    const char *to = options->to;
    int count = options->count ? options->count : 1;
    if (!to && count < 1) {
        rs_error_set(error, RS_FAILED, NULL,
                     "backwards takes a count of 1 or more, or a migration id");
        return -1;
    }
    const char *directory = directory_of(config);
    struct orm_migration_list files;
    if (orm_migration_list_read(directory, &files, error) < 0)
        return -1;
    if (lock(conn, out, error) < 0) {
        orm_migration_list_free(&files);
        return -1;
    }
    int status = 0;
    PGresult *applied = read_applied(conn, true, error);
    if (!applied)
        status = -1;
    if (status == 0 && to && !orm_migration_list_find(&files, to) && !is_applied(applied, to)) {
        rs_error_set(error, RS_FAILED, NULL, "--to %.64s: no such migration", to);
        status = -1;
    }
    /* targets: the first `targets` rows of applied (newest first) */
    int targets = 0;
    while (status == 0 && targets < PQntuples(applied) &&
           (to ? strcmp(PQgetvalue(applied, targets, 0), to) > 0 : targets < count))
        targets++;
    /* every file must be there before anything is reverted */
    for (int row = 0; status == 0 && row < targets; row++) {
        if (!orm_migration_list_find(&files, PQgetvalue(applied, row, 0))) {
            rs_error_set(error, RS_FAILED, NULL,
                         "cannot revert %s: its file is missing from %.150s",
                         PQgetvalue(applied, row, 0), directory);
            status = -1;
        }
    }
    for (int row = 0; status == 0 && row < targets; row++) {
        const struct orm_migration *migration =
            orm_migration_list_find(&files, PQgetvalue(applied, row, 0));
        if (options->preview) {
            size_t length = strlen(migration->backwards);
            orm_migrate_say(out, "-- %s %s (backwards)\n%s%s", migration->id, migration->name,
                            migration->backwards,
                            length && migration->backwards[length - 1] != '\n' ? "\n" : "");
            continue;
        }
        status = run_section(conn, migration, false, error);
        if (status == 0)
            orm_migrate_say(out, "reverted %s %s%s\n", migration->id, migration->name,
                            strspn(migration->backwards, " \t\r\n") == strlen(migration->backwards)
                                ? " (its backwards section is empty: only the record was removed)"
                                : "");
    }
    if (status == 0 && targets == 0)
        orm_migrate_say(out, "nothing to revert\n");
    PQclear(applied);
    unlock(conn);
    orm_migration_list_free(&files);
    return status;
}

/* The plan turning the database's schema into the declared one. -1 with error. */
static int plan_changes(const struct cfg_config *config, PGconn *conn, struct orm_plan *plan,
                        struct rs_error *error)
{
    struct orm_live_schema live;
    if (orm_live_schema_read(conn, &live, error) < 0)
        return -1;
    struct orm_declared declared;
    orm_declared_init(&declared, config);
    struct orm_probe probe;
    int status = orm_probe_read(conn, &declared, &probe, error);
    if (status == 0) {
        orm_diff_plan(&declared, &live, &probe, plan);
        orm_probe_free(&probe);
    }
    orm_declared_free(&declared);
    orm_live_schema_free(&live);
    return status;
}

static size_t count_pending(const PGresult *applied, const struct orm_migration_list *files,
                            const char **first)
{
    size_t pending = 0;
    *first = NULL;
    for (size_t i = 0; i < files->count; i++) {
        if (!is_applied(applied, files->items[i].id)) {
            pending++;
            if (!*first)
                *first = files->items[i].file_name;
        }
    }
    return pending;
}

enum orm_migration_result orm_migrations_new(const struct cfg_config *config, PGconn *conn,
                                             const struct orm_new_options *options, FILE *out,
                                             struct orm_new_written *written,
                                             struct rs_error *error)
{
    *written = (struct orm_new_written){0};
    char clean_name[64];
    orm_migration_name_clean(options->name, options->is_auto ? "auto" : "manual", clean_name);
    const char *directory = directory_of(config);
    struct orm_migration_list files;
    if (orm_migration_list_read(directory, &files, error) < 0)
        return ORM_MIGRATION_FAILED;
    if (!options->is_auto) {
        written->path = orm_migration_write(directory, &files, clean_name, "", "", error);
        orm_migration_list_free(&files);
        return written->path ? ORM_MIGRATION_WROTE : ORM_MIGRATION_FAILED;
    }
    if (!conn) {
        rs_error_set(error, RS_FAILED, NULL, "--auto needs a database connection");
        orm_migration_list_free(&files);
        return ORM_MIGRATION_FAILED;
    }
    PGresult *applied = read_applied(conn, false, error);
    if (!applied) {
        orm_migration_list_free(&files);
        return ORM_MIGRATION_FAILED;
    }
    /* --auto compares with the database: SQL already written but not applied would be
     * written again. */
    const char *first_pending;
    size_t pending = count_pending(applied, &files, &first_pending);
    enum orm_migration_result result = ORM_MIGRATION_FAILED;
    struct orm_plan plan = {0};
    if (pending) {
        rs_error_set(error, RS_FAILED, NULL,
                     "%zu migration(s) not applied yet (%.100s): run `restable migrations "
                     "forwards` first, --auto compares the config with the database",
                     pending, first_pending);
    } else if (plan_changes(config, conn, &plan, error) == 0) {
        struct sb forwards = {0}, backwards = {0};
        size_t held_back =
            orm_plan_render(&plan, options->allow_destructive, &forwards, &backwards);
        written->held_back = held_back;
        if (plan.count == 0) {
            result = ORM_MIGRATION_NOTHING_TO_DO;
        } else if (options->skip_when_only_destructive &&
                   held_back == orm_plan_describe(&plan, NULL)) {
            result = ORM_MIGRATION_HELD_BACK;
        } else {
            written->path = orm_migration_write(directory, &files, clean_name, sb_text(&forwards),
                                                sb_text(&backwards), error);
            if (written->path)
                result = ORM_MIGRATION_WROTE;
        }
        if (written->path && held_back)
            orm_migrate_say(out,
                            "warning: %zu destructive change(s) written commented out, not "
                            "applied (they lose data): see %s, or write the migration again "
                            "with --allow-destructive\n",
                            held_back, written->path);
        sb_free(&forwards);
        sb_free(&backwards);
    }
    orm_plan_free(&plan);
    PQclear(applied);
    orm_migration_list_free(&files);
    return result;
}

int orm_migrations_check(const struct cfg_config *config, PGconn *conn, FILE *out,
                         struct rs_error *error)
{
    const char *directory = directory_of(config);
    struct orm_migration_list files;
    if (orm_migration_list_read(directory, &files, error) < 0)
        return -1;
    PGresult *applied = read_applied(conn, false, error);
    struct orm_plan plan = {0};
    if (!applied || plan_changes(config, conn, &plan, error) < 0) {
        PQclear(applied);
        orm_migration_list_free(&files);
        return -1;
    }
    size_t edited = 0;
    for (int row = 0; row < PQntuples(applied); row++) {
        const char *id = PQgetvalue(applied, row, 0);
        const struct orm_migration *migration = orm_migration_list_find(&files, id);
        bool was_edited = migration && is_edited(applied, row, migration);
        edited += was_edited;
        orm_migrate_say(out, "applied %s %s%s\n", id, PQgetvalue(applied, row, 1),
                        !migration   ? " (warning: its file is missing)"
                        : was_edited ? " (edited since it was applied: checksum differs)"
                                     : "");
    }
    size_t pending = 0;
    for (size_t i = 0; i < files.count; i++) {
        if (!is_applied(applied, files.items[i].id)) {
            orm_migrate_say(out, "pending %s %s\n", files.items[i].id, files.items[i].name);
            pending++;
        }
    }
    size_t drift = orm_plan_describe(&plan, out);
    if (pending == 0 && drift == 0 && edited == 0)
        orm_migrate_say(out, "ok: %d applied, nothing pending, no drift\n", PQntuples(applied));
    else if (edited)
        orm_migrate_say(out, "%zu pending, %zu drift, %zu edited\n", pending, drift, edited);
    else
        orm_migrate_say(out, "%zu pending, %zu drift\n", pending, drift);
    orm_plan_free(&plan);
    PQclear(applied);
    orm_migration_list_free(&files);
    return pending || drift || edited ? 1 : 0;
}
