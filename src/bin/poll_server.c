/* poll_server.c: one thread serving every connection with poll (twin of poll_server.rs). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../args.h"
#include "../conn.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with poll"

/*
 * Watch slot i's descriptor for what its connection wants next: reading,
 * or writing while a reply waits; or close it and free the slot.
 */
static void watch(struct pollfd *pfd, struct conn *c, enum conn_want want)
{
	if (want == CONN_READ) {
		pfd->events = POLLIN;
	} else if (want == CONN_WRITE) {
		pfd->events = POLLOUT;
	} else {
		conn_close(c);
		pfd->fd = -1;
	}
}

int main(int argc, char *argv[])
{
	struct pollfd *fds;
	struct conn *client;
	struct sockaddr_in cliaddr;
	int i, j, maxi, nslots, listenfd, connfd, nready, spare;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();

	/* Every descriptor is below RLIMIT_NOFILE: a slot each, fds[i] and client[i]. */
	nslots = open_max();
	if ((fds = calloc(nslots, sizeof(*fds))) == NULL)
		perr_exit("calloc");
	client = conn_table(nslots);
	fds[0].fd = listenfd;        /* slot 0: the listening socket */
	fds[0].events = POLLIN;
	for (i = 1; i < nslots; i++)
		fds[i].fd = -1;          /* a free slot, which poll skips */
	maxi = 0;                    /* the highest slot in use */

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		if ((nready = poll(fds, maxi + 1, -1)) < 0) {
			if (errno == EINTR)
				continue;
			perr_exit("poll");
		}

		if (fds[0].revents & POLLIN) {     /* new connections */
			for (j = 0; j < MAXACCEPT; j++) {
				if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
					break;
				if (connfd >= nslots) {
					fprintf(stderr, "poll: no slot for fd %d, connection closed\n",
					    connfd);
					Close(connfd);
					continue;
				}
				/* Below nslots, one of the nslots slots is free. */
				for (i = 1; fds[i].fd >= 0; i++)
					;
				fds[i].fd = connfd;
				fds[i].events = POLLIN;
				fds[i].revents = 0;
				conn_open(&client[i], connfd, &cliaddr);
				if (i > maxi)
					maxi = i;
			}
			if (--nready <= 0)
				continue;        /* no client is ready */
		}

		for (i = 1; i <= maxi; i++) {      /* the clients ready */
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			if (fds[i].revents & POLLNVAL)  /* not open: conn_close reports it */
				watch(&fds[i], &client[i], CONN_CLOSE);
			else                            /* POLLERR, POLLHUP: the call tells */
				watch(&fds[i], &client[i], conn_ready(&client[i]));
			if (--nready <= 0)
				break;           /* no more ready */
		}
	}
}
