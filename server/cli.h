/*
 * server/cli.h — private to server/: the subcommands main's dispatcher calls.
 */
#ifndef RESTABLE_SERVER_CLI_H
#define RESTABLE_SERVER_CLI_H

#include <stdbool.h>

#include "config/config.h"

int srv_cli_serve(const struct cfg_config *config, bool migrate);
int srv_cli_migrate_forwards(const struct cfg_config *config);

#endif
