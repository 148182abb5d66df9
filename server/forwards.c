/*
 * server/forwards.c — `migrations forwards` and `serve --migrate` alike: apply the pending
 * migration files, then close any gap left between the database and the declared tables. The
 * CLI and serve both use it, so it lives in neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli.h"

void srv_print_migration_not_written(enum orm_migration_result result,
                                     const struct orm_new_written *written)
{
    if (result == ORM_MIGRATION_NOTHING_TO_DO)
        printf("no changes: the database matches the config\n");
    else if (result == ORM_MIGRATION_HELD_BACK)
        printf("not written: the %zu remaining difference(s) would lose data; run `restable "
               "migrations check` to see them and `restable migrations new --auto "
               "--allow-destructive` to write them\n",
               written->held_back);
}

/* Applies pending files; then, when the database still differs from the declared tables,
 * writes the migration that closes the gap (as `new --auto` would) and applies it too, so
 * `forwards` alone takes a fresh database to the declared schema. */
int srv_forwards_and_catch_up(const struct cfg_config *config, PGconn *conn,
                              const struct orm_forwards_options *options)
{
    struct rs_error error = {0};
    if (orm_migrations_forwards(config, conn, options, stdout, &error) < 0) {
        fprintf(stderr, "restable: %s\n", error.message);
        return 1;
    }
    if (options->preview || options->fake || options->to)
        return 0;
    const struct orm_new_options new_options = {
        .is_auto = true, .name = "auto", .skip_when_only_destructive = true};
    struct orm_new_written written;
    switch (orm_migrations_new(config, conn, &new_options, stdout, &written, &error)) {
    case ORM_MIGRATION_WROTE:
        break;
    case ORM_MIGRATION_NOTHING_TO_DO:
        return 0;
    case ORM_MIGRATION_HELD_BACK:
        srv_print_migration_not_written(ORM_MIGRATION_HELD_BACK, &written);
        return 0;
    case ORM_MIGRATION_FAILED:
    default:
        fprintf(stderr, "restable: %s\n", error.message);
        return 1;
    }
    printf("the database did not match the config: wrote %s\n", written.path);
    free(written.path);
    if (orm_migrations_forwards(config, conn, options, stdout, &error) < 0) {
        fprintf(stderr, "restable: %s\n", error.message);
        return 1;
    }
    return 0;
}

int srv_migrate_forwards(const struct cfg_config *config)
{
    PGconn *conn = srv_cli_connect(config);
    if (!conn)
        return 1;
    struct orm_forwards_options options = {0};
    int status = srv_forwards_and_catch_up(config, conn, &options);
    PQfinish(conn);
    return status;
}
