/* select_server.c: one thread serving every connection with select (twin of select_server.rs). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

#include "../accept.h"
#include "../args.h"
#include "../conn.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with select"

/*
 * One of the server's own descriptors, what, must go in an fd_set: at or
 * past FD_SETSIZE (the server started with that many open), FD_SET would
 * write past it. Exits with a message.
 */
static void check_fd(int fd, const char *what)
{
	if (fd < FD_SETSIZE)
		return;
	fprintf(stderr, "select: %s is fd %d, not below FD_SETSIZE (%d): "
	    "too many descriptors open at start\n", what, fd, FD_SETSIZE);
	exit(1);
}

/*
 * Watch c's descriptor for what it wants next, in the sets each select
 * starts from: reading, or writing while a reply waits; or close it.
 */
static void watch(struct conn *c, enum conn_want want, fd_set *allrset, fd_set *allwset)
{
	FD_CLR(c->fd, allrset);
	FD_CLR(c->fd, allwset);
	if (want == CONN_READ)
		FD_SET(c->fd, allrset);
	else if (want == CONN_WRITE)
		FD_SET(c->fd, allwset);
	else
		conn_close(c);
}

int main(int argc, char *argv[])
{
	struct conn_table client;
	struct sockaddr_in cliaddr;
	struct outbuf out;
	fd_set rset, wset, allrset, allwset;
	int i, j, maxi, maxfd, listenfd, connfd, sockfd, nready, spare;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();
	out_open(&out);
	check_fd(listenfd, "the listening socket");
	check_fd(spare, "the spare descriptor");
	check_fd(out.fd, "stdout");

	maxfd = listenfd > out.fd ? listenfd : out.fd;  /* the highest descriptor in the sets */
	maxi = -1;                   /* the highest slot of client in use */
	conn_table_init(&client);
	FD_ZERO(&allrset);
	FD_ZERO(&allwset);
	FD_SET(listenfd, &allrset);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		rset = allrset;          /* select overwrites the sets it is given */
		wset = allwset;
		if (out_pending(&out))   /* stdout, while lines wait */
			FD_SET(out.fd, &wset);
		if ((nready = select(maxfd + 1, &rset, &wset, NULL, NULL)) < 0) {
			if (errno == EINTR)
				continue;
			perr_exit("select");
		}

		if (FD_ISSET(listenfd, &rset)) {   /* new connections */
			for (j = 0; j < MAXACCEPT; j++) {
				if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
					break;
				if (connfd >= FD_SETSIZE) {
					fprintf(stderr, "select: fd %d >= FD_SETSIZE, connection closed\n",
					    connfd);
					Close(connfd);
					continue;
				}
				/* The first free slot, the table grown when none is. */
				for (i = 0; i < client.n && client.c[i].fd >= 0; i++)
					;
				if (conn_fit(&client, i) < 0) {
					fprintf(stderr, "select: no memory for fd %d, connection closed\n",
					    connfd);
					Close(connfd);
					continue;
				}
				conn_open(&client.c[i], connfd, &cliaddr);
				FD_SET(connfd, &allrset);
				if (connfd > maxfd)
					maxfd = connfd;
				if (i > maxi)
					maxi = i;
			}
			if (--nready <= 0)
				continue;        /* no client is ready */
		}

		if (out_pending(&out) && FD_ISSET(out.fd, &wset)) {   /* stdout takes more */
			out_flush(&out);
			if (--nready <= 0)
				continue;
		}

		for (i = 0; i <= maxi; i++) {      /* the clients ready */
			if ((sockfd = client.c[i].fd) < 0)
				continue;
			if (FD_ISSET(sockfd, &rset) || FD_ISSET(sockfd, &wset)) {
				watch(&client.c[i], conn_ready(&client.c[i], &out), &allrset, &allwset);
				if (--nready <= 0)
					break;       /* no more ready */
			}
		}
	}
}
