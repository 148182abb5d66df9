/*
 * server/cli.c — the command line (SPEC §1): finds the config (-c, $RESTABLE_CONFIG,
 * ./restable.json), dispatches to the subcommand, maps outcomes to exit codes (0 success,
 * 1 a failure the user can fix, 2 usage). Each subcommand's logic lives in its module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth.h"
#include "orm/orm.h"
#include "server/cli.h"
#include "server/server.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: restable [-c FILE] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  serve [--migrate]                         run the HTTP server\n"
    "  config check                              validate the config\n"
    "  migrations new [--auto] [--name NAME] [--allow-destructive]\n"
    "                                            write a migration file\n"
    "  migrations forwards [--to ID] [--preview] [--fake] [--force]\n"
    "  migrations backwards [--to ID | N] [--preview]\n"
    "  migrations check                          pending migrations and drift\n"
    "  schema sql                                CREATE statements for the tables\n"
    "  schema generate [--tables a,b]            config tables for an existing database\n"
    "  schema graph [--format dot|svg]           the tables and their foreign keys\n"
    "  token --sub ID [--scope \"a b\"] [--role R] [--ttl SECONDS]\n"
    "  user create --username U [--password-stdin]\n"
    "  --version, --help\n"
    "\n"
    "The config is -c FILE, else $RESTABLE_CONFIG, else ./restable.json.\n";

/* The command line once -c has been taken out of it. */
struct cli_args {
    const char *config_path;
    char **words;
    int count;
};

static const char *option_value(struct cli_args *args, const char *name, int *error)
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

static bool has_flag(struct cli_args *args, const char *name)
{
    for (int i = 0; i < args->count; i++)
        if (strcmp(args->words[i], name) == 0)
            return true;
    return false;
}

/* Rejects options the subcommand does not know, so typos are not silently ignored. */
static int check_options(struct cli_args *args, int first, const char *const *flags,
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

static struct cfg_config *load_config(const struct cli_args *args)
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

static PGconn *connect_or_say(const struct cfg_config *config)
{
    struct rs_error error = {0};
    PGconn *conn = orm_connect_sync(config->database.url, &error);
    if (!conn)
        fprintf(stderr, "restable: %s\n", error.message);
    return conn;
}

/* Applies pending files; then, when the database still differs from the declared tables,
 * writes the migration that closes the gap (as `new --auto` would) and applies it too, so
 * `forwards` alone takes a fresh database to the declared schema. */
static int forwards_and_catch_up(const struct cfg_config *config, PGconn *conn,
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

int srv_cli_migrate_forwards(const struct cfg_config *config)
{
    PGconn *conn = connect_or_say(config);
    if (!conn)
        return 1;
    struct orm_forwards_options options = {0};
    int status = forwards_and_catch_up(config, conn, &options);
    PQfinish(conn);
    return status;
}

static int cli_migrations(struct cli_args *args, const struct cfg_config *config)
{
    const char *action = args->count > 1 ? args->words[1] : "";
    struct rs_error error = {0};
    int status = 1;
    int option_error = 0;
    if (strcmp(action, "new") == 0) {
        static const char *const flags[] = {"--auto", "--allow-destructive", NULL};
        static const char *const valued[] = {"--name", NULL};
        if (check_options(args, 2, flags, valued) < 0)
            return EXIT_USAGE;
        const char *name = option_value(args, "--name", &option_error);
        if (option_error)
            return EXIT_USAGE;
        bool is_auto = has_flag(args, "--auto");
        PGconn *conn = is_auto ? connect_or_say(config) : NULL;
        if (is_auto && !conn)
            return 1;
        const struct orm_new_options options = {
            .is_auto = is_auto,
            .name = name,
            .allow_destructive = has_flag(args, "--allow-destructive"),
        };
        char *path = orm_migrations_new(config, conn, &options, stderr, &error);
        if (path) {
            printf("wrote %s\n", path);
            free(path);
            status = 0;
        } else if (error.status == 0) {
            printf("%s\n", error.message);
            status = 0;
        } else {
            fprintf(stderr, "restable: %s\n", error.message);
        }
        if (conn)
            PQfinish(conn);
        return status;
    }
    if (strcmp(action, "forwards") == 0) {
        static const char *const flags[] = {"--preview", "--fake", "--force", NULL};
        static const char *const valued[] = {"--to", NULL};
        if (check_options(args, 2, flags, valued) < 0)
            return EXIT_USAGE;
        struct orm_forwards_options options = {
            .to = option_value(args, "--to", &option_error),
            .preview = has_flag(args, "--preview"),
            .fake = has_flag(args, "--fake"),
            .force = has_flag(args, "--force"),
        };
        if (option_error)
            return EXIT_USAGE;
        PGconn *conn = connect_or_say(config);
        if (!conn)
            return 1;
        status = forwards_and_catch_up(config, conn, &options);
        PQfinish(conn);
        return status;
    }
    if (strcmp(action, "backwards") == 0) {
        static const char *const flags[] = {"--preview", NULL};
        static const char *const valued[] = {"--to", NULL};
        const char *to = option_value(args, "--to", &option_error);
        int count = 1;
        int first_unknown = 2;
        if (!to && args->count > 2 && args->words[2][0] != '-') {
            char *end = NULL;
            long value = strtol(args->words[2], &end, 10);
            if (*end || value < 1) {
                fprintf(stderr, "restable: backwards takes a count of 1 or more, or --to ID\n");
                return EXIT_USAGE;
            }
            count = (int)value;
            first_unknown = 3;
        }
        if (option_error || check_options(args, first_unknown, flags, valued) < 0)
            return EXIT_USAGE;
        PGconn *conn = connect_or_say(config);
        if (!conn)
            return 1;
        const struct orm_backwards_options options = {
            .to = to, .count = count, .preview = has_flag(args, "--preview")};
        status = orm_migrations_backwards(config, conn, &options, stdout, &error) < 0 ? 1 : 0;
        if (status)
            fprintf(stderr, "restable: %s\n", error.message);
        PQfinish(conn);
        return status;
    }
    if (strcmp(action, "check") == 0) {
        if (check_options(args, 2, NULL, NULL) < 0)
            return EXIT_USAGE;
        PGconn *conn = connect_or_say(config);
        if (!conn)
            return 1;
        int result = orm_migrations_check(config, conn, stdout, &error);
        if (result < 0)
            fprintf(stderr, "restable: %s\n", error.message);
        PQfinish(conn);
        return result == 0 ? 0 : 1;
    }
    fprintf(stderr, "restable: migrations needs new, forwards, backwards or check\n");
    return EXIT_USAGE;
}

/* The declared tables, their columns and foreign keys as a Graphviz digraph. */
static void write_graph(const struct cfg_config *config, FILE *out)
{
    fprintf(out, "digraph restable {\n  node [shape=record];\n");
    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        fprintf(out, "  \"%s\" [label=\"{%s", table->name, table->name);
        for (size_t c = 0; c < table->column_count; c++)
            fprintf(out, "|%s: %s", table->columns[c].name, cfg_type_name(table->columns[c].type));
        fprintf(out, "}\"];\n");
    }
    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        for (size_t c = 0; c < table->column_count; c++)
            if (table->columns[c].type == CFG_TYPE_FOREIGN_KEY)
                fprintf(out, "  \"%s\" -> \"%s\" [label=\"%s\"];\n", table->name,
                        table->columns[c].references, table->columns[c].name);
    }
    fprintf(out, "}\n");
}

static int cli_schema(struct cli_args *args, const struct cfg_config *config)
{
    const char *action = args->count > 1 ? args->words[1] : "";
    if (strcmp(action, "sql") == 0) {
        if (check_options(args, 2, NULL, NULL) < 0)
            return EXIT_USAGE;
        struct sb sql = {0};
        orm_schema_create_sql(config, &sql);
        fputs(sb_text(&sql), stdout);
        sb_free(&sql);
        return 0;
    }
    if (strcmp(action, "generate") == 0) {
        static const char *const valued[] = {"--tables", NULL};
        int option_error = 0;
        const char *tables = option_value(args, "--tables", &option_error);
        if (option_error || check_options(args, 2, NULL, valued) < 0)
            return EXIT_USAGE;
        PGconn *conn = connect_or_say(config);
        if (!conn)
            return 1;
        struct rs_error error = {0};
        int status = orm_schema_generate(conn, tables, stdout, &error) < 0 ? 1 : 0;
        if (status)
            fprintf(stderr, "restable: %s\n", error.message);
        PQfinish(conn);
        return status;
    }
    if (strcmp(action, "graph") == 0) {
        static const char *const valued[] = {"--format", NULL};
        int option_error = 0;
        const char *format = option_value(args, "--format", &option_error);
        if (option_error || check_options(args, 2, NULL, valued) < 0)
            return EXIT_USAGE;
        bool is_svg = format && strcmp(format, "svg") == 0;
        if (format && !is_svg && strcmp(format, "dot") != 0) {
            fprintf(stderr, "restable: --format must be dot or svg\n");
            return EXIT_USAGE;
        }
        /* svg goes through Graphviz's dot, the one renderer people already have */
        FILE *out = stdout;
        if (is_svg) {
            fflush(stdout);
            out = popen("dot -Tsvg", "w");
            if (!out) {
                fprintf(stderr, "restable: cannot run dot (install graphviz for svg)\n");
                return 1;
            }
        }
        write_graph(config, out);
        if (is_svg) {
            int status = pclose(out);
            if (status != 0) {
                fprintf(stderr, "restable: dot failed (install graphviz for svg)\n");
                return 1;
            }
        }
        return 0;
    }
    fprintf(stderr, "restable: schema needs sql, generate or graph\n");
    return EXIT_USAGE;
}

static int cli_token(struct cli_args *args, const struct cfg_config *config)
{
    static const char *const valued[] = {"--sub", "--scope", "--role", "--ttl", NULL};
    if (check_options(args, 1, NULL, valued) < 0)
        return EXIT_USAGE;
    int option_error = 0;
    const char *subject = option_value(args, "--sub", &option_error);
    const char *scope = option_value(args, "--scope", &option_error);
    const char *role = option_value(args, "--role", &option_error);
    const char *ttl_text = option_value(args, "--ttl", &option_error);
    if (option_error)
        return EXIT_USAGE;
    if (!subject || !*subject) {
        fprintf(stderr, "restable: token needs --sub ID\n");
        return EXIT_USAGE;
    }
    long ttl = 3600;
    if (ttl_text) {
        char *end = NULL;
        ttl = strtol(ttl_text, &end, 10);
        if (*end || ttl < 1) {
            fprintf(stderr, "restable: --ttl must be a positive number of seconds\n");
            return EXIT_USAGE;
        }
    }
    const char *roles[1] = {role};
    struct rs_error error = {0};
    char *token = auth_token_issue(config, subject, scope, roles, role ? 1 : 0, ttl, &error);
    if (!token) {
        fprintf(stderr, "restable: %s\n", error.message);
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}

/* Reads one line without echoing it when stdin is a terminal. Caller frees. */
static char *read_password(bool prompt)
{
    struct termios saved, quiet;
    bool is_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (is_tty) {
        if (prompt)
            fputs("password: ", stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length = getline(&line, &capacity, stdin);
    if (is_tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (prompt)
            fputc('\n', stderr);
    }
    if (length < 0) {
        free(line);
        return NULL;
    }
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
        line[--length] = '\0';
    return line;
}

static int cli_user(struct cli_args *args, const struct cfg_config *config)
{
    if (args->count < 2 || strcmp(args->words[1], "create") != 0) {
        fprintf(stderr, "restable: user needs create\n");
        return EXIT_USAGE;
    }
    static const char *const flags[] = {"--password-stdin", NULL};
    static const char *const valued[] = {"--username", "--role", NULL};
    if (check_options(args, 2, flags, valued) < 0)
        return EXIT_USAGE;
    int option_error = 0;
    const char *username = option_value(args, "--username", &option_error);
    const char *role = option_value(args, "--role", &option_error);
    if (option_error || !username || !*username) {
        fprintf(stderr, "restable: user create needs --username U\n");
        return EXIT_USAGE;
    }
    char *password = read_password(!has_flag(args, "--password-stdin"));
    if (!password || strlen(password) < 8) {
        fprintf(stderr, "restable: the password must be at least 8 characters\n");
        free(password);
        return 1;
    }
    char *hash = auth_password_hash(password, config->auth.password_iterations);
    memset(password, 0, strlen(password));
    free(password);
    if (!hash) {
        fprintf(stderr, "restable: could not hash the password\n");
        return 1;
    }
    PGconn *conn = connect_or_say(config);
    int status = 1;
    if (conn) {
        char roles[160];
        snprintf(roles, sizeof roles, "{%s}", role ? role : "");
        const char *params[] = {username, hash, roles};
        PGresult *result =
            PQexecParams(conn,
                         "INSERT INTO restable_user (username, password_hash, roles) "
                         "VALUES ($1, $2, $3::text[])",
                         3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(result) == PGRES_COMMAND_OK) {
            printf("created user %s\n", username);
            status = 0;
        } else {
            const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            if (state && strcmp(state, "23505") == 0)
                fprintf(stderr, "restable: user %s already exists\n", username);
            else if (state && strcmp(state, "42P01") == 0)
                fprintf(stderr, "restable: no restable_user table: enable auth.login and run "
                                "restable migrations new --auto && restable migrations forwards\n");
            else
                fprintf(stderr, "restable: %s", PQresultErrorMessage(result));
        }
        PQclear(result);
        PQfinish(conn);
    }
    free(hash);
    return status;
}

static int command_needing_config(struct cli_args *args)
{
    const char *command = args->words[0];
    if (has_flag(args, "--help") || has_flag(args, "-h")) {
        fputs(usage_text, stdout);
        return 0;
    }
    struct cfg_config *config = load_config(args);
    if (!config)
        return 1;
    int status = EXIT_USAGE;
    if (strcmp(command, "serve") == 0) {
        static const char *const flags[] = {"--migrate", NULL};
        if (check_options(args, 1, flags, NULL) == 0)
            status = srv_cli_serve(config, has_flag(args, "--migrate"));
    } else if (strcmp(command, "config") == 0) {
        if (args->count >= 2 && strcmp(args->words[1], "check") == 0 &&
            check_options(args, 2, NULL, NULL) == 0) {
            cfg_print_summary(config, stdout);
            status = 0;
        } else if (args->count < 2 || strcmp(args->words[1], "check") != 0) {
            fprintf(stderr, "restable: config needs check\n");
        }
    } else if (strcmp(command, "migrations") == 0) {
        status = cli_migrations(args, config);
    } else if (strcmp(command, "schema") == 0) {
        status = cli_schema(args, config);
    } else if (strcmp(command, "token") == 0) {
        status = cli_token(args, config);
    } else if (strcmp(command, "user") == 0) {
        status = cli_user(args, config);
    }
    cfg_free(config);
    return status;
}

int srv_cli_main(int argc, char **argv)
{
    struct cli_args args = {0};
    args.words = calloc((size_t)argc + 1, sizeof *args.words);
    if (!args.words)
        return 1;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "restable: %s needs a file\n", argv[i]);
                free(args.words);
                return EXIT_USAGE;
            }
            args.config_path = argv[++i];
            continue;
        }
        args.words[args.count++] = argv[i];
    }
    int status;
    if (args.count == 0) {
        fputs(usage_text, stderr);
        status = EXIT_USAGE;
    } else if (strcmp(args.words[0], "--version") == 0 || strcmp(args.words[0], "version") == 0) {
        printf("restable %s\n", RESTABLE_VERSION);
        status = 0;
    } else if (strcmp(args.words[0], "--help") == 0 || strcmp(args.words[0], "help") == 0 ||
               strcmp(args.words[0], "-h") == 0) {
        fputs(usage_text, stdout);
        status = 0;
    } else {
        static const char *commands[] = {"serve", "config", "migrations", "schema",
                                         "token", "user",   NULL};
        bool known = false;
        for (int i = 0; commands[i]; i++)
            known |= strcmp(args.words[0], commands[i]) == 0;
        if (!known) {
            fprintf(stderr, "restable: unknown command \"%s\" (see restable --help)\n",
                    args.words[0]);
            status = EXIT_USAGE;
        } else {
            status = command_needing_config(&args);
        }
    }
    free(args.words);
    return status;
}
