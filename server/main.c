/*
 * server/main.c — the restable binary: hands the command line to the CLI dispatcher.
 */
#include "server/server.h"

int main(int argc, char **argv)
{
    return srv_cli_main(argc, argv);
}
