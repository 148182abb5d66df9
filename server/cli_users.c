/*
 * server/cli_users.c — `restable token` (a JWT signed with the configured HS key, or with a
 * private key file and a kid, for scripts, tests and trying a key set) and `restable user create`
 * (a login user; the password is read without echo and only its hash is stored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/auth.h"
#include "server/cli.h"

int srv_cli_token(struct srv_cli_args *args, const struct cfg_config *config)
{
    static const char *const valued[] = {"--sub", "--scope", "--role", "--ttl",
                                         "--key", "--kid",   "--alg",  NULL};
    if (srv_cli_check_options(args, 1, NULL, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    int option_error = 0;
    const char *subject = srv_cli_option_value(args, "--sub", &option_error);
    const char *scope = srv_cli_option_value(args, "--scope", &option_error);
    const char *role = srv_cli_option_value(args, "--role", &option_error);
    const char *ttl_text = srv_cli_option_value(args, "--ttl", &option_error);
    const char *key_file = srv_cli_option_value(args, "--key", &option_error);
    const char *kid = srv_cli_option_value(args, "--kid", &option_error);
    const char *algorithm = srv_cli_option_value(args, "--alg", &option_error);
    if (option_error)
        return SRV_CLI_EXIT_USAGE;
    if ((key_file != NULL) != (kid != NULL) || (algorithm && !key_file)) {
        fprintf(stderr, "restable: token --key FILE and --kid K go together (--alg with them)\n");
        return SRV_CLI_EXIT_USAGE;
    }
    if (!subject || !*subject) {
        fprintf(stderr, "restable: token needs --sub ID\n");
        return SRV_CLI_EXIT_USAGE;
    }
    long ttl = 3600;
    if (ttl_text) {
        char *end = NULL;
        ttl = strtol(ttl_text, &end, 10);
        if (*end || ttl < 1) {
            fprintf(stderr, "restable: --ttl must be a positive number of seconds\n");
            return SRV_CLI_EXIT_USAGE;
        }
    }
    const char *roles[1] = {role};
    struct rs_error error = {0};
    char *token = key_file
                      ? auth_token_issue_with_key(config, key_file, kid, algorithm, subject, scope,
                                                  roles, role ? 1 : 0, ttl, &error)
                      : auth_token_issue(config, subject, scope, roles, role ? 1 : 0, ttl, &error);
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

int srv_cli_user_create(struct srv_cli_args *args, const struct cfg_config *config)
{
    static const char *const flags[] = {"--password-stdin", NULL};
    static const char *const valued[] = {"--username", "--role", NULL};
    if (srv_cli_check_options(args, 2, flags, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    int option_error = 0;
    const char *username = srv_cli_option_value(args, "--username", &option_error);
    const char *role = srv_cli_option_value(args, "--role", &option_error);
    if (option_error || !username || !*username) {
        fprintf(stderr, "restable: user create needs --username U\n");
        return SRV_CLI_EXIT_USAGE;
    }
    char *password = read_password(!srv_cli_has_flag(args, "--password-stdin"));
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
    PGconn *conn = srv_cli_connect(config);
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
