/*
 * coserver.c: the coroutine servers, whole but for how they switch (twin
 * of coserver.rs): a coroutine per connection, serving it as the blocking
 * servers do, and one accepting.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "accept.h"
#include "args.h"
#include "coio.h"
#include "coro.h"
#include "coserver.h"
#include "echo.h"
#include "fdutil.h"
#include "listen.h"
#include "outbuf.h"
#include "wrap.h"

/*
 * One client, served until it closes or fails, as the process server's
 * child serves it, printing to the loop's stdout (arg); co_read and
 * co_write wait where Read and Write would block.
 */
static void serve(struct co *co, void *arg)
{
	struct outbuf *o = arg;
	char buf[MAXLINE];
	char line[ECHO_LINEMAX];
	size_t len;
	ssize_t n;

	for (;;) {
		n = co_read(co, buf, MAXLINE);
		if (n == 0) {
			out_put(o, ECHO_CLOSED, sizeof(ECHO_CLOSED) - 1);
			break;
		}
		if (n < 0)
			break;
		len = echo_reply(line, sizeof(line), &co->peer, buf, n);
		out_put(o, line, len);
		out_put(o, buf, n);
		if (co_write(co, buf, n) < 0)
			break;
	}
}

/* The listening socket's coroutine: a coroutine for each connection (arg: the spare descriptor). */
static void acceptor(struct co *co, void *arg)
{
	struct sockaddr_in cliaddr;
	int *spare = arg;
	int connfd;

	while ((connfd = co_accept(co, &cliaddr, spare)) >= 0)
		co_spawn(co->s, connfd, &cliaddr, serve, co->s->o);
	perr_exit("accept");
}

/*
 * The server: its arguments, the listening socket, the coroutine that
 * accepts, and the scheduler, for ever; sw switches the coroutines.
 */
int co_server(int argc, char *argv[], const char *usage, const struct co_switch *sw)
{
	struct sched s;
	struct outbuf out;
	int listenfd, spare, port, stack_kb;

	check_args(argc, argv, 2, usage);
	port = port_arg(argc, argv, 1, usage);
	stack_kb = stack_arg(argc, argv, 2, CO_STACK_KB, CO_STACK_MIN_KB, CO_STACK_MAX_KB, usage);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();
	out_open(&out);

	co_init(&s, sw, stack_kb, &out);
	if (co_spawn(&s, listenfd, NULL, acceptor, &spare) < 0)
		exit(1);

	printf("listening on 0.0.0.0:%d\n", port);
	co_run(&s);
	return 0;
}
