/*
 * server/cli_migrations.c — `restable migrations new | forwards | backwards | check`: reads
 * each one's options and calls the ORM's migrations (orm/migrate*.c), which do the work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli.h"

int srv_cli_migrations_new(struct srv_cli_args *args, const struct cfg_config *config)
{
    struct rs_error error = {0};
    int status = 1;
    int option_error = 0;
    static const char *const flags[] = {"--auto", "--allow-destructive", NULL};
    static const char *const valued[] = {"--name", NULL};
    if (srv_cli_check_options(args, 2, flags, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    const char *name = srv_cli_option_value(args, "--name", &option_error);
    if (option_error)
        return SRV_CLI_EXIT_USAGE;
    bool is_auto = srv_cli_has_flag(args, "--auto");
    PGconn *conn = is_auto ? srv_cli_connect(config) : NULL;
    if (is_auto && !conn)
        return 1;
    const struct orm_new_options options = {
        .is_auto = is_auto,
        .name = name,
        .allow_destructive = srv_cli_has_flag(args, "--allow-destructive"),
    };
    struct orm_new_written written;
    enum orm_migration_result result =
        orm_migrations_new(config, conn, &options, stderr, &written, &error);
    switch (result) {
    case ORM_MIGRATION_WROTE:
        printf("wrote %s\n", written.path);
        free(written.path);
        status = 0;
        break;
    case ORM_MIGRATION_NOTHING_TO_DO:
    case ORM_MIGRATION_HELD_BACK:
        srv_print_migration_not_written(result, &written);
        status = 0;
        break;
    case ORM_MIGRATION_FAILED:
        fprintf(stderr, "restable: %s\n", error.message);
        break;
    }
    if (conn)
        PQfinish(conn);
    return status;
}

int srv_cli_migrations_forwards(struct srv_cli_args *args, const struct cfg_config *config)
{
    int option_error = 0;
    static const char *const flags[] = {"--preview", "--fake", "--force", NULL};
    static const char *const valued[] = {"--to", NULL};
    if (srv_cli_check_options(args, 2, flags, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    struct orm_forwards_options options = {
        .to = srv_cli_option_value(args, "--to", &option_error),
        .preview = srv_cli_has_flag(args, "--preview"),
        .fake = srv_cli_has_flag(args, "--fake"),
        .force = srv_cli_has_flag(args, "--force"),
    };
    if (option_error)
        return SRV_CLI_EXIT_USAGE;
    PGconn *conn = srv_cli_connect(config);
    if (!conn)
        return 1;
    int status = srv_forwards_and_catch_up(config, conn, &options);
    PQfinish(conn);
    return status;
}

int srv_cli_migrations_backwards(struct srv_cli_args *args, const struct cfg_config *config)
{
    struct rs_error error = {0};
    int option_error = 0;
    static const char *const flags[] = {"--preview", NULL};
    static const char *const valued[] = {"--to", NULL};
    const char *to = srv_cli_option_value(args, "--to", &option_error);
    int count = 1;
    int first_unknown = 2;
    if (!to && args->count > 2 && args->words[2][0] != '-') {
        char *end = NULL;
        long value = strtol(args->words[2], &end, 10);
        if (*end || value < 1) {
            fprintf(stderr, "restable: backwards takes a count of 1 or more, or --to ID\n");
            return SRV_CLI_EXIT_USAGE;
        }
        count = (int)value;
        first_unknown = 3;
    }
    if (option_error || srv_cli_check_options(args, first_unknown, flags, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    PGconn *conn = srv_cli_connect(config);
    if (!conn)
        return 1;
    const struct orm_backwards_options options = {
        .to = to, .count = count, .preview = srv_cli_has_flag(args, "--preview")};
    int status = orm_migrations_backwards(config, conn, &options, stdout, &error) < 0 ? 1 : 0;
    if (status)
        fprintf(stderr, "restable: %s\n", error.message);
    PQfinish(conn);
    return status;
}

int srv_cli_migrations_check(struct srv_cli_args *args, const struct cfg_config *config)
{
    struct rs_error error = {0};
    if (srv_cli_check_options(args, 2, NULL, NULL) < 0)
        return SRV_CLI_EXIT_USAGE;
    PGconn *conn = srv_cli_connect(config);
    if (!conn)
        return 1;
    int result = orm_migrations_check(config, conn, stdout, &error);
    if (result < 0)
        fprintf(stderr, "restable: %s\n", error.message);
    PQfinish(conn);
    return result == 0 ? 0 : 1;
}
