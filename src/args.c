/* args.c: command-line arguments shared by the programs (twin of args.rs). */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"

/* argv[i] as a TCP port, DEFAULT_PORT when absent; exit 2 when invalid. */
int port_arg(int argc, char *argv[], int i)
{
	char *end;
	long port;

	if (i >= argc)
		return DEFAULT_PORT;
	port = strtol(argv[i], &end, 10);
	if (end == argv[i] || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "%s: invalid port: %s\n", argv[0], argv[i]);
		exit(2);
	}
	return port;
}
