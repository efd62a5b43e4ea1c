/* args.c: command-line arguments shared by the programs (twin of args.rs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* The usage line on stderr, and exit status 2. */
static void usage_exit(char *argv[], const char *usage)
{
	fprintf(stderr, "usage: %s %s\n", argv[0], usage);
	exit(2);
}

/*
 * -h or --help: the usage line on stdout, exit 0. More than maxargs
 * arguments: the usage line on stderr, exit 2.
 */
void check_args(int argc, char *argv[], int maxargs, const char *usage)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: %s %s\n", argv[0], usage);
		exit(0);
	}
	if (argc > maxargs + 1) {
		fprintf(stderr, "%s: too many arguments\n", argv[0]);
		usage_exit(argv, usage);
	}
}

/* argv[i] as a TCP port, DEFAULT_PORT when absent; exit 2 when invalid. */
int port_arg(int argc, char *argv[], int i, const char *usage)
{
	char *end;
	long port;

	if (i >= argc)
		return DEFAULT_PORT;
	port = strtol(argv[i], &end, 10);
	if (end == argv[i] || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "%s: invalid port: %s\n", argv[0], argv[i]);
		usage_exit(argv, usage);
	}
	return port;
}
