/*
 * herd_server.c: CHILDREN processes forked before the clients come, each
 * in epoll_wait on the shared, non-blocking listener: a connection wakes
 * them all, and all but one find nothing to accept (the thundering herd);
 * with "exclusive", EPOLLEXCLUSIVE wakes one (twin of herd_server.rs).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../accept.h"
#include "../args.h"
#include "../echo.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../prefork.h"
#include "../wrap.h"

#define USAGE "[PORT [CHILDREN [exclusive]]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, each in epoll_wait (with EPOLLEXCLUSIVE: exclusive)"

/*
 * A child: an epoll instance of its own, watching the listener; then wait,
 * accept (EAGAIN when another child took the connection), serve; for ever.
 */
static void child_main(struct prefork *pf, int i)
{
	struct epoll_event ev;
	struct sockaddr_in cliaddr;
	int exclusive = *(int *)pf->arg;
	int epfd, connfd;

	if ((epfd = epoll_create1(0)) < 0)
		perr_exit("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0);
	ev.data.fd = pf->listenfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, pf->listenfd, &ev) < 0)
		perr_exit("epoll_ctl");
	for (;;) {
		if (epoll_wait(epfd, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perr_exit("epoll_wait");
		}
		if ((connfd = accept_ready(pf->listenfd, &cliaddr)) < 0)
			continue;
		prefork_counted(pf, i);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
}

int main(int argc, char *argv[])
{
	struct prefork pf;
	int listenfd, nchildren, exclusive;
	int port;

	check_args(argc, argv, 3, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nchildren = children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN, USAGE);
	exclusive = word_arg(argc, argv, 3, "exclusive", USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	set_nonblock(listenfd);
	signal(SIGPIPE, SIG_IGN);
	prefork_init(&pf, listenfd, nchildren, child_main, &exclusive);

	printf("listening on 0.0.0.0:%d\n", port);
	prefork_wait(&pf);
}
