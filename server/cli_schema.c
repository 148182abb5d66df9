/*
 * server/cli_schema.c — `restable schema sql | generate | graph`: the declared tables as SQL,
 * an existing database's tables as config, the tables and their foreign keys as a graph.
 */
#include <stdio.h>
#include <string.h>

#include "server/cli.h"

int srv_cli_schema_sql(struct srv_cli_args *args, const struct cfg_config *config)
{
    if (srv_cli_check_options(args, 2, NULL, NULL) < 0)
        return SRV_CLI_EXIT_USAGE;
    struct sb sql = {0};
    orm_schema_create_sql(config, &sql);
    fputs(sb_text(&sql), stdout);
    sb_free(&sql);
    return 0;
}

int srv_cli_schema_generate(struct srv_cli_args *args, const struct cfg_config *config)
{
    static const char *const valued[] = {"--tables", NULL};
    int option_error = 0;
    const char *tables = srv_cli_option_value(args, "--tables", &option_error);
    if (option_error || srv_cli_check_options(args, 2, NULL, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    PGconn *conn = srv_cli_connect(config);
    if (!conn)
        return 1;
    struct rs_error error = {0};
    int status = orm_schema_generate(conn, tables, stdout, &error) < 0 ? 1 : 0;
    if (status)
        fprintf(stderr, "restable: %s\n", error.message);
    PQfinish(conn);
    return status;
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

int srv_cli_schema_graph(struct srv_cli_args *args, const struct cfg_config *config)
{
    static const char *const valued[] = {"--format", NULL};
    int option_error = 0;
    const char *format = srv_cli_option_value(args, "--format", &option_error);
    if (option_error || srv_cli_check_options(args, 2, NULL, valued) < 0)
        return SRV_CLI_EXIT_USAGE;
    bool is_svg = format && strcmp(format, "svg") == 0;
    if (format && !is_svg && strcmp(format, "dot") != 0) {
        fprintf(stderr, "restable: --format must be dot or svg\n");
        return SRV_CLI_EXIT_USAGE;
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
