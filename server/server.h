/*
 * server/server.h — the public face of the server module: the command-line entry point.
 * Everything else in server/ is private to it.
 */
#ifndef RESTABLE_SERVER_H
#define RESTABLE_SERVER_H

/* Runs the restable command line; returns the process exit code (0, 1 user error, 2 usage). */
int srv_cli_main(int argc, char **argv);

#endif
