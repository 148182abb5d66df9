/*
 * server/cli.c — the command line (SPEC §1): finds the config (-c, $RESTABLE_CONFIG,
 * ./restable.json) and dispatches to a command by the table below, from which the help, the
 * unknown-command and missing-subcommand errors derive too. Exit codes: 0 success, 1 a failure
 * the user can fix, 2 usage. Each command's logic lives in its own file and module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cli.h"
#include "server/server.h"

static int cli_serve(struct srv_cli_args *args, const struct cfg_config *config)
{
    static const char *const flags[] = {"--migrate", NULL};
    if (srv_cli_check_options(args, 1, flags, NULL) < 0)
        return SRV_CLI_EXIT_USAGE;
    return srv_cli_serve(config, srv_cli_has_flag(args, "--migrate"));
}

static int cli_config_check(struct srv_cli_args *args, const struct cfg_config *config)
{
    if (srv_cli_check_options(args, 2, NULL, NULL) < 0)
        return SRV_CLI_EXIT_USAGE;
    cfg_print_summary(config, stdout);
    return 0;
}

struct cli_command {
    const char *words[2]; /* the command and its subcommand, or NULL when it has none */
    const char *usage;    /* what follows the words in the help */
    const char *summary;  /* what it does, or NULL */
    srv_cli_handler run;  /* with the config loaded */
};

/* One row per command, in the help's order; a command's subcommands sit together. */
static const struct cli_command commands[] = {
    {{"serve"}, "[--migrate]", "run the HTTP server", cli_serve},
    {{"config", "check"}, "", "validate the config", cli_config_check},
    {{"migrations", "new"},
     "[--auto] [--name NAME] [--allow-destructive]",
     "write a migration file",
     srv_cli_migrations_new},
    {{"migrations", "forwards"},
     "[--to ID] [--preview] [--fake] [--force]",
     NULL,
     srv_cli_migrations_forwards},
    {{"migrations", "backwards"}, "[--to ID | N] [--preview]", NULL, srv_cli_migrations_backwards},
    {{"migrations", "check"}, "", "pending migrations and drift", srv_cli_migrations_check},
    {{"schema", "sql"}, "", "CREATE statements for the tables", srv_cli_schema_sql},
    {{"schema", "generate"},
     "[--tables a,b]",
     "config tables for an existing database",
     srv_cli_schema_generate},
    {{"schema", "graph"},
     "[--format dot|svg]",
     "the tables and their foreign keys",
     srv_cli_schema_graph},
    {{"token"},
     "--sub ID [--scope \"a b\"] [--role R] [--ttl SECONDS] [--key FILE --kid K [--alg ALG]]",
     NULL,
     srv_cli_token},
    {{"user", "create"}, "--username U [--password-stdin]", NULL, srv_cli_user_create},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* The column where summaries start; a longer usage puts its summary on the next line. */
#define SUMMARY_COLUMN 44

static void print_command(const struct cli_command *command, FILE *out)
{
    int length = fprintf(out, "  %s%s%s%s%s", command->words[0], command->words[1] ? " " : "",
                         command->words[1] ? command->words[1] : "", *command->usage ? " " : "",
                         command->usage);
    if (command->summary && length < SUMMARY_COLUMN)
        fprintf(out, "%*s%s", SUMMARY_COLUMN - length, "", command->summary);
    else if (command->summary)
        fprintf(out, "\n%*s%s", SUMMARY_COLUMN, "", command->summary);
    fputc('\n', out);
}

/* The commands whose first word is name (every command when name is NULL) and, when sub
 * names one of their subcommands, only that one. */
static bool is_shown(const struct cli_command *command, const char *name, const char *sub)
{
    if (!name)
        return true;
    if (strcmp(command->words[0], name) != 0)
        return false;
    bool sub_is_known = false;
    for (size_t i = 0; sub && i < COMMAND_COUNT; i++)
        sub_is_known |= strcmp(commands[i].words[0], name) == 0 && commands[i].words[1] &&
                        strcmp(commands[i].words[1], sub) == 0;
    return !sub_is_known || (command->words[1] && strcmp(command->words[1], sub) == 0);
}

static void print_help(const char *name, const char *sub, FILE *out)
{
    fprintf(out, "usage: restable [-c FILE] %s [OPTIONS]\n\ncommands:\n", name ? name : "COMMAND");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (is_shown(&commands[i], name, sub))
            print_command(&commands[i], out);
    if (!name)
        fputs("  --version, --help\n", out);
    fputs("\nThe config is -c FILE, else $RESTABLE_CONFIG, else ./restable.json.\n", out);
}

static bool is_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].words[0], name) == 0)
            return true;
    return false;
}

/* The row the words name, or NULL when the command's subcommand is missing or unknown. */
static const struct cli_command *find_command(const struct srv_cli_args *args)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const struct cli_command *command = &commands[i];
        if (strcmp(command->words[0], args->words[0]) == 0 &&
            (!command->words[1] ||
             (args->count > 1 && strcmp(command->words[1], args->words[1]) == 0)))
            return command;
    }
    return NULL;
}

/* "restable: migrations needs new, forwards, backwards or check" */
static void say_subcommands(const char *name)
{
    const char *subs[COMMAND_COUNT];
    size_t count = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].words[0], name) == 0 && commands[i].words[1])
            subs[count++] = commands[i].words[1];
    fprintf(stderr, "restable: %s needs ", name);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ", subs[i]);
    fputc('\n', stderr);
}

static struct cfg_config *load_config(const struct srv_cli_args *args)
{
    const char *path = args->config_path;
    if (!path)
        path = getenv("RESTABLE_CONFIG");
    if (!path || !*path)
        path = "restable.json";
    struct cfg_errors errors = {0};
    struct cfg_config *config = cfg_load(path, &errors);
    if (!config) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s\n", errors.messages[i]);
        cfg_errors_free(&errors);
    }
    return config;
}

/* A known command: its help, or its handler once the config is loaded (before the subcommand
 * is checked, as a config error is the first thing to fix). */
static int run_command(struct srv_cli_args *args)
{
    if (srv_cli_has_flag(args, "--help") || srv_cli_has_flag(args, "-h")) {
        print_help(args->words[0], args->count > 1 ? args->words[1] : NULL, stdout);
        return 0;
    }
    struct cfg_config *config = load_config(args);
    if (!config)
        return 1;
    const struct cli_command *command = find_command(args);
    int status = SRV_CLI_EXIT_USAGE;
    if (command)
        status = command->run(args, config);
    else
        say_subcommands(args->words[0]);
    cfg_free(config);
    return status;
}

static int run_words(struct srv_cli_args *args)
{
    const char *first = args->count > 0 ? args->words[0] : NULL;
    if (!first) {
        print_help(NULL, NULL, stderr);
        return SRV_CLI_EXIT_USAGE;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "version") == 0) {
        printf("restable %s\n", RESTABLE_VERSION);
        return 0;
    }
    if (strcmp(first, "--help") == 0 || strcmp(first, "help") == 0 || strcmp(first, "-h") == 0) {
        print_help(NULL, NULL, stdout);
        return 0;
    }
    if (!is_command(first)) {
        fprintf(stderr, "restable: unknown command \"%s\" (see restable --help)\n", first);
        return SRV_CLI_EXIT_USAGE;
    }
    return run_command(args);
}

int srv_cli_main(int argc, char **argv)
{
    struct srv_cli_args args = {0};
    args.words = xcalloc((size_t)argc + 1, sizeof *args.words);
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "restable: %s needs a file\n", argv[i]);
                free(args.words);
                return SRV_CLI_EXIT_USAGE;
            }
            args.config_path = argv[++i];
            continue;
        }
        args.words[args.count++] = argv[i];
    }
    int status = run_words(&args);
    free(args.words);
    return status;
}
