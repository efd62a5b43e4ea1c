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

/*
 * argv[i] as a number from min to max, dflt when absent; exit 2, saying
 * which argument (what) was wrong, when invalid.
 */
static int number_arg(int argc, char *argv[], int i, int dflt, int min, int max,
    const char *what, const char *usage)
{
	char *end;
	long n;

	if (i >= argc)
		return dflt;
	n = strtol(argv[i], &end, 10);
	if (end == argv[i] || *end != '\0' || n < min || n > max) {
		fprintf(stderr, "%s: invalid %s: %s\n", argv[0], what, argv[i]);
		usage_exit(argv, usage);
	}
	return n;
}

/* argv[i] as a TCP port, DEFAULT_PORT when absent; exit 2 when invalid. */
int port_arg(int argc, char *argv[], int i, const char *usage)
{
	return number_arg(argc, argv, i, DEFAULT_PORT, 1, 65535, "port", usage);
}

/* argv[i] as a number of threads from 1 to max, dflt when absent; exit 2 when invalid. */
int threads_arg(int argc, char *argv[], int i, int dflt, int max, const char *usage)
{
	return number_arg(argc, argv, i, dflt, 1, max, "number of threads", usage);
}

/* argv[i] as a number of children from 1 to max, dflt when absent; exit 2 when invalid. */
int children_arg(int argc, char *argv[], int i, int dflt, int max, const char *usage)
{
	return number_arg(argc, argv, i, dflt, 1, max, "number of children", usage);
}

/* argv[i] as a stack size in KiB from min to max, dflt when absent; exit 2 when invalid. */
int stack_arg(int argc, char *argv[], int i, int dflt, int min, int max, const char *usage)
{
	return number_arg(argc, argv, i, dflt, min, max, "stack size in KiB", usage);
}

/* Whether argv[i] is word: 1 if it is, 0 when absent; exit 2 when it is another. */
int word_arg(int argc, char *argv[], int i, const char *word, const char *usage)
{
	if (i >= argc)
		return 0;
	if (strcmp(argv[i], word) != 0) {
		fprintf(stderr, "%s: invalid argument: %s\n", argv[0], argv[i]);
		usage_exit(argv, usage);
	}
	return 1;
}
