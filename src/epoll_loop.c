/*
 * epoll_loop.c: one pass of an epoll loop over a table of connections
 * indexed by descriptor, and the loop's stdout watched in the same set
 * (twin of epoll_loop.rs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"
#include "epoll_loop.h"
#include "outbuf.h"
#include "wrap.h"

/* epoll_ctl(2) EPOLL_CTL_DEL, then conn_close: out of the set before it is closed. */
static void epoll_drop(int epfd, struct conn *c)
{
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		perror("epoll_ctl");
	conn_close(c);
}

/* epoll_ctl(2) EPOLL_CTL_MOD: watch c for what it wants now; or drop it. */
static void epoll_watch(int epfd, struct conn *c, enum conn_want want)
{
	struct epoll_event ev;

	if (want == CONN_CLOSE) {
		epoll_drop(epfd, c);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = want == CONN_WRITE ? EPOLLOUT : EPOLLIN;
	ev.data.fd = c->fd;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		perror("epoll_ctl");
		epoll_drop(epfd, c);
	}
}

/*
 * epoll_ctl(2): stdout into the set, watched for writing, while lines wait
 * (EPOLL_CTL_ADD), and out of it once they have gone (EPOLL_CTL_DEL): a
 * writable stdout with nothing to print would wake the loop for ever. On
 * failure, a report, and the next pass tries again. Used by coro.c too.
 */
void epoll_out(int epfd, struct outbuf *o)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.fd = o->fd;
	if (epoll_ctl(epfd, o->watched ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, o->fd, &ev) < 0) {
		perror("epoll_ctl");
		return;
	}
	o->watched = !o->watched;
}

/* epoll_create1(2): a new epoll set, with fd in it watched for reading; exits on failure. */
int epoll_open(int fd)
{
	struct epoll_event ev;
	int epfd;

	if ((epfd = epoll_create1(0)) < 0)
		perr_exit("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		perr_exit("epoll_ctl");
	return epfd;
}

/*
 * epoll_ctl(2) EPOLL_CTL_ADD: the new connection connfd, from cliaddr, into
 * the epoll set epfd, watched for reading, and into t, indexed by
 * descriptor, which grows to hold it (conn_fit). Closed, with a message,
 * when there is no memory for its slot or epoll_ctl fails.
 */
void epoll_add(int epfd, struct conn_table *t, int connfd, const struct sockaddr_in *cliaddr)
{
	struct epoll_event ev;

	if (conn_fit(t, connfd) < 0) {
		fprintf(stderr, "epoll: no memory for fd %d, connection closed\n", connfd);
		Close(connfd);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = connfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, connfd, &ev) < 0) {
		perror("epoll_ctl");
		Close(connfd);
		return;
	}
	conn_open(&t->c[connfd], connfd, cliaddr);
}

/*
 * One pass of an epoll loop: the loop's stdout o into the set or out of it
 * as lines wait or not (epoll_out), epoll_wait(2) on epfd, then flush
 * stdout if it is writable, and serve each ready connection of t (indexed
 * by descriptor) and watch it for what it wants next; an event for a
 * descriptor closed earlier in the pass finds a free slot and is ignored.
 * Returns 1 when srcfd, where new connections come from, is readable: the
 * caller takes them in after the pass, so that a descriptor closed during
 * it cannot come back as a new connection while events for the old one
 * are still to be seen, and so that t grows only between passes. No state
 * but the arguments: each thread may run its own loop.
 */
int epoll_pass(int epfd, struct conn_table *t, int srcfd, struct outbuf *o)
{
	struct epoll_event events[MAXEVENTS];
	enum conn_want was, want;
	struct conn *c;
	int i, n, fd, srcready = 0;

	if (out_pending(o) != o->watched)
		epoll_out(epfd, o);
	if ((n = epoll_wait(epfd, events, MAXEVENTS, -1)) < 0) {
		if (errno == EINTR)
			return 0;
		perr_exit("epoll_wait");
	}
	for (i = 0; i < n; i++) {
		fd = events[i].data.fd;
		if (fd == srcfd) {
			srcready = 1;
			continue;
		}
		if (o->watched && fd == o->fd) {
			out_flush(o);
			continue;
		}
		c = &t->c[fd];
		if (c->fd < 0)
			continue;
		was = conn_wants(c);
		if ((want = conn_ready(c, o)) != was)
			epoll_watch(epfd, c, want);
	}
	return srcready;
}
