/*
 * server/forwards.c — `migrations forwards` and `serve --migrate` alike: apply the pending
 * migration files, then close any gap left between the database and the declared tables. The
 * CLI and serve both use it, so it lives in neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli.h"

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
    char *path = orm_migrations_new(config, conn, &new_options, stdout, &error);
    if (!path) {
        if (error.status == 0 && strncmp(error.message, "no changes", 10) != 0)
            printf("%s\n", error.message);
        if (error.status == 0)
            return 0;
        fprintf(stderr, "restable: %s\n", error.message);
        return 1;
    }
    printf("the database did not match the config: wrote %s\n", path);
    free(path);
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
