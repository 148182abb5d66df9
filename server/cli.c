/* server/cli.c — placeholder */
#include "server/server.h"
int srv_cli_main(int argc, char **argv) { (void)argc; (void)argv; return 2; }
