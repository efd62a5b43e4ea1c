/* poll_server.c: one thread serving every connection with poll (twin of poll_server.rs). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../accept.h"
#include "../args.h"
#include "../conn.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with poll"

/* The slots of fds[] that are not connections. */
#define LISTEN_SLOT 0
#define STDOUT_SLOT 1

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

/* A free slot of fds[], which poll skips. */
static const struct pollfd pollfd_free = { .fd = -1 };

/*
 * Make slot i exist in fds[] (nfds slots) and in client: each grows
 * (array_fit, conn_fit), a new slot free. Returns 0, or -1 when out of
 * memory.
 */
static int fit(struct pollfd **fds, int *nfds, struct conn_table *client, int i)
{
	struct pollfd *p;

	if ((p = array_fit(*fds, nfds, i, sizeof(*p), &pollfd_free)) == NULL)
		return -1;
	*fds = p;
	return conn_fit(client, i);
}

int main(int argc, char *argv[])
{
	struct pollfd *fds;
	struct conn_table client;
	struct sockaddr_in cliaddr;
	struct outbuf out;
	int i, j, maxi, nfds, listenfd, connfd, nready, spare;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();
	out_open(&out);

	/* Slot i is fds[i] and client.c[i]; both grow as slots are needed. */
	fds = NULL;
	nfds = 0;
	conn_table_init(&client);
	if (fit(&fds, &nfds, &client, STDOUT_SLOT) < 0)
		perr_exit("realloc");
	fds[LISTEN_SLOT].fd = listenfd;
	fds[LISTEN_SLOT].events = POLLIN;
	fds[STDOUT_SLOT].events = POLLOUT;   /* its fd is set while lines wait */
	maxi = STDOUT_SLOT;          /* the highest slot in use */

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		fds[STDOUT_SLOT].fd = out_pending(&out) ? out.fd : -1;
		if ((nready = poll(fds, maxi + 1, -1)) < 0) {
			if (errno == EINTR)
				continue;
			perr_exit("poll");
		}

		if (fds[LISTEN_SLOT].revents & POLLIN) {   /* new connections */
			for (j = 0; j < MAXACCEPT; j++) {
				if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
					break;
				/* The first free slot, or one past the last in use. */
				for (i = STDOUT_SLOT + 1; i <= maxi && fds[i].fd >= 0; i++)
					;
				if (fit(&fds, &nfds, &client, i) < 0) {
					fprintf(stderr, "poll: no memory for fd %d, connection closed\n",
					    connfd);
					Close(connfd);
					continue;
				}
				fds[i].fd = connfd;
				fds[i].events = POLLIN;
				fds[i].revents = 0;
				conn_open(&client.c[i], connfd, &cliaddr);
				if (i > maxi)
					maxi = i;
			}
			if (--nready <= 0)
				continue;        /* no client is ready */
		}

		if (fds[STDOUT_SLOT].revents != 0) {   /* stdout takes more, or fails */
			out_flush(&out);
			if (--nready <= 0)
				continue;
		}

		for (i = STDOUT_SLOT + 1; i <= maxi; i++) {   /* the clients ready */
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			if (fds[i].revents & POLLNVAL)  /* not open: conn_close reports it */
				watch(&fds[i], &client.c[i], CONN_CLOSE);
			else                            /* POLLERR, POLLHUP: the call tells */
				watch(&fds[i], &client.c[i], conn_ready(&client.c[i], &out));
			if (--nready <= 0)
				break;           /* no more ready */
		}
	}
}
