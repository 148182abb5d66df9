/*
 * server/cli.h — private to server/: the command line's pieces. server/cli.c holds the table
 * of commands and dispatches; each command's handler lives in a file of its own and reads its
 * options with the helpers of server/cli_args.c.
 */
#ifndef RESTABLE_SERVER_CLI_H
#define RESTABLE_SERVER_CLI_H

#include <stdbool.h>

#include "config/config.h"
#include "orm/orm.h"

#define SRV_CLI_EXIT_USAGE 2

/* The command line once -c has been taken out of it: words[0] is the command. */
struct srv_cli_args {
    const char *config_path;
    char **words;
    int count;
};

/* A command's handler: returns the exit code (0, 1 a failure the user can fix, 2 usage). */
typedef int (*srv_cli_handler)(struct srv_cli_args *args, const struct cfg_config *config);

/* ---- options (server/cli_args.c) ----------------------------------------------------------- */

/* The value of --name X or --name=X, or NULL; *error = 1 (said on stderr) when X is missing. */
const char *srv_cli_option_value(struct srv_cli_args *args, const char *name, int *error);
bool srv_cli_has_flag(struct srv_cli_args *args, const char *name);
/* Refuses (on stderr, -1) any word from first on that is not one of flags or valued options
 * (each NULL-terminated, or NULL for none). */
int srv_cli_check_options(struct srv_cli_args *args, int first, const char *const *flags,
                          const char *const *valued);
/* A blocking connection to database.url, or NULL after saying why on stderr. */
PGconn *srv_cli_connect(const struct cfg_config *config);

/* ---- migrations (server/cli_migrations.c, server/forwards.c) -------------------------------- */

int srv_cli_migrations_new(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_migrations_forwards(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_migrations_backwards(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_migrations_check(struct srv_cli_args *args, const struct cfg_config *config);
/* Applies the pending files; unless options preview, fake or stop at an ID, then writes and
 * applies the migration that closes what still differs. Returns an exit code (0 or 1). */
int srv_forwards_and_catch_up(const struct cfg_config *config, PGconn *conn,
                              const struct orm_forwards_options *options);
/* Prints on stdout what `migrations new` found when it wrote nothing (no difference, or only
 * differences that would lose data). */
void srv_print_migration_not_written(enum orm_migration_result result,
                                     const struct orm_new_written *written);
/* The same with default options on a connection of its own (serve --migrate). */
int srv_migrate_forwards(const struct cfg_config *config);

/* ---- the other commands ---------------------------------------------------------------------- */

int srv_cli_schema_sql(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_schema_generate(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_schema_graph(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_token(struct srv_cli_args *args, const struct cfg_config *config);
int srv_cli_user_create(struct srv_cli_args *args, const struct cfg_config *config);
/* Runs the server until SIGTERM/SIGINT (server/serve.c). */
int srv_cli_serve(const struct cfg_config *config, bool migrate);

#endif
