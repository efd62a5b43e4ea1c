/*
 * wrap_driver.c: runs one wrapper on stdin/stdout for tests/wrap.rs
 * (twin of wrap_driver.rs).
 *
 *   wrap_driver readline MAXLEN   each Readline result as "len\n" + bytes
 *   wrap_driver readn N           each Readn result as "len\n" + bytes
 *   wrap_driver writen N          Writen N patterned bytes to stdout
 *   wrap_driver perr_exit MSG     close(-1), then perr_exit(MSG)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/wrap.h"

#define BIG (1 << 20)

static char buf[BIG];

/* One result: its length as a decimal line, then its bytes. */
static void record(ssize_t n)
{
	printf("%zd\n", n);
	if (n > 0)
		Writen(STDOUT_FILENO, buf, n);
}

int main(int argc, char *argv[])
{
	struct rline rl;
	ssize_t n;
	int arg, i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s readline|readn|writen|perr_exit ARG\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	arg = atoi(argv[2]);
	if (strcmp(argv[1], "perr_exit") == 0) {
		close(-1);
		perr_exit(argv[2]);
	}
	if (arg < 0 || arg > BIG)
		return 2;
	if (strcmp(argv[1], "readline") == 0) {
		rline_init(&rl, STDIN_FILENO);
		do
			record(n = Readline(&rl, buf, arg));
		while (n > 0);
	} else if (strcmp(argv[1], "readn") == 0) {
		do
			record(n = Readn(STDIN_FILENO, buf, arg));
		while (n > 0);
	} else if (strcmp(argv[1], "writen") == 0) {
		for (i = 0; i < arg; i++)
			buf[i] = (char)(i * 7 + 3);
		return Writen(STDOUT_FILENO, buf, arg) == arg ? 0 : 1;
	} else {
		return 2;
	}
	return 0;
}
