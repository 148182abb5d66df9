/*
 * server/cli_args.c — what every subcommand needs from its command line: an option's value
 * (--name X or --name=X), a flag, the refusal of options it does not know (so a typo is never
 * silently ignored), and a database connection whose failure is said on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "server/cli.h"

const char *srv_cli_option_value(struct srv_cli_args *args, const char *name, int *error)
{
    for (int i = 0; i < args->count; i++) {
        if (strcmp(args->words[i], name) == 0) {
            if (i + 1 >= args->count) {
                fprintf(stderr, "restable: %s needs a value\n", name);
                *error = 1;
                return NULL;
            }
            return args->words[i + 1];
        }
        size_t length = strlen(name);
        if (strncmp(args->words[i], name, length) == 0 && args->words[i][length] == '=')
            return args->words[i] + length + 1;
    }
    return NULL;
}

bool srv_cli_has_flag(struct srv_cli_args *args, const char *name)
{
    for (int i = 0; i < args->count; i++)
        if (strcmp(args->words[i], name) == 0)
            return true;
    return false;
}

int srv_cli_check_options(struct srv_cli_args *args, int first, const char *const *flags,
                          const char *const *valued)
{
    for (int i = first; i < args->count; i++) {
        const char *word = args->words[i];
        bool known = false;
        for (int f = 0; flags && flags[f]; f++)
            known |= strcmp(word, flags[f]) == 0;
        for (int v = 0; valued && valued[v]; v++) {
            size_t length = strlen(valued[v]);
            if (strcmp(word, valued[v]) == 0) {
                known = true;
                i++;
            } else if (strncmp(word, valued[v], length) == 0 && word[length] == '=') {
                known = true;
            }
        }
        if (!known) {
            fprintf(stderr, "restable: unknown argument \"%s\" (see restable --help)\n", word);
            return -1;
        }
    }
    return 0;
}

PGconn *srv_cli_connect(const struct cfg_config *config)
{
    struct rs_error error = {0};
    PGconn *conn = orm_connect_sync(config->database.url, &error);
    if (!conn)
        fprintf(stderr, "restable: %s\n", error.message);
    return conn;
}
