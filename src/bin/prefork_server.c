/*
 * prefork_server.c: CHILDREN processes forked before the clients come,
 * each blocked in accept on the shared listener, no lock (twin of
 * prefork_server.rs).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../prefork.h"
#include "../wrap.h"

#define USAGE "[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, each in accept"

/* A child: accept, serve, and again, for ever. */
static void child_main(struct prefork *pf, int i)
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	int connfd;

	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		connfd = Accept(pf->listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		prefork_counted(pf, i);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
}

int main(int argc, char *argv[])
{
	struct prefork pf;
	int listenfd, nchildren;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nchildren = children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	prefork_init(&pf, listenfd, nchildren, child_main, NULL);

	printf("listening on 0.0.0.0:%d\n", port);
	prefork_wait(&pf);
}
