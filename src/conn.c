/*
 * conn.c: one connection of the single-threaded servers, non-blocking, and
 * one pass of an epoll loop over a table of them (twin of conn.rs).
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conn.h"
#include "wrap.h"

/* fcntl(2): O_NONBLOCK on fd; exits on failure. */
void set_nonblock(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		perr_exit("fcntl");
}

/*
 * open(2) of /dev/null: the spare descriptor that accept_nb gives up when
 * the process runs out of them; exits on failure.
 */
int open_spare(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDONLY)) < 0)
		perr_exit("/dev/null");
	return fd;
}

/*
 * Out of descriptors: close the spare, accept the waiting connection in its
 * place and close that at once, so that its client is told instead of left
 * waiting and the listening socket stops being readable; then open the
 * spare again (-1 if that fails). Returns 1 when a connection was closed, 0
 * when none was waiting.
 */
static int shed_one(int listenfd, int *spare)
{
	int connfd;

	Close(*spare);
	if ((connfd = accept(listenfd, NULL, NULL)) >= 0)
		Close(connfd);
	*spare = open("/dev/null", O_RDONLY);
	return connfd >= 0;
}

/*
 * accept4(2) of one waiting connection, made non-blocking: its descriptor,
 * or -1 when no connection is left (EAGAIN) or the one waiting could not be
 * taken. Retried after EINTR and the new connection's errors
 * (accept_transient). Out of descriptors, the spare makes room to turn the
 * connection away (shed_one); with no spare, or out of memory, a report and
 * a pause of ACCEPT_BACKOFF_USEC, as Accept makes. Exits on other failures,
 * which only a bug can cause.
 */
int accept_nb(int listenfd, struct sockaddr_in *cliaddr, int *spare)
{
	socklen_t cliaddr_len;
	int connfd, err;

again:
	cliaddr_len = sizeof(*cliaddr);
	connfd = accept4(listenfd, (struct sockaddr *)cliaddr, &cliaddr_len, SOCK_NONBLOCK);
	if (connfd >= 0)
		return connfd;
	if (errno == EINTR || accept_transient(errno))
		goto again;
	if (errno == EAGAIN)
		return -1;
	if ((errno == EMFILE || errno == ENFILE) && *spare >= 0) {
		err = errno;
		if (shed_one(listenfd, spare))
			fprintf(stderr, "accept: %s, connection closed\n", strerror(err));
		return -1;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		perror("accept");
		usleep(ACCEPT_BACKOFF_USEC);
		return -1;
	}
	perr_exit("accept");
}

/*
 * getrlimit(2): RLIMIT_NOFILE's soft limit, one more than the highest
 * descriptor the process can have; exits on failure.
 */
int open_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		perr_exit("getrlimit");
	return rl.rlim_cur < INT_MAX ? (int)rl.rlim_cur : INT_MAX;
}

/* calloc(3) of n free connection slots, kept for the life of the process. */
struct conn *conn_table(int n)
{
	struct conn *client;
	int i;

	if ((client = calloc(n, sizeof(*client))) == NULL)
		perr_exit("calloc");
	for (i = 0; i < n; i++)
		conn_init(&client[i]);
	return client;
}

/* A free slot. */
void conn_init(struct conn *c)
{
	c->fd = -1;
	c->out = NULL;
	c->outpos = 0;
	c->outlen = 0;
}

/* A free slot takes the connection connfd, from cliaddr, with nothing to send. */
void conn_open(struct conn *c, int connfd, const struct sockaddr_in *cliaddr)
{
	c->fd = connfd;
	c->cliaddr = *cliaddr;
}

/* What c's descriptor is watched for now: writing while a reply waits, else reading. */
enum conn_want conn_wants(const struct conn *c)
{
	return c->out != NULL ? CONN_WRITE : CONN_READ;
}

/* read(2), retried after EINTR. */
static ssize_t read_again(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* write(2), retried after EINTR. */
static ssize_t write_again(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do
		r = write(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/*
 * Send buf's n bytes to the client: what the socket takes now, the rest
 * kept in a buffer of its own until the socket is writable again.
 */
static enum conn_want conn_send(struct conn *c, const char *buf, size_t n)
{
	ssize_t nw;

	if ((nw = write_again(c->fd, buf, n)) < 0) {
		if (errno != EAGAIN) {
			perror("write");
			return CONN_CLOSE;
		}
		nw = 0;
	}
	if ((size_t)nw == n)
		return CONN_READ;
	if ((c->out = malloc(n - nw)) == NULL) {
		perror("malloc");
		return CONN_CLOSE;
	}
	memcpy(c->out, buf + nw, n - nw);
	c->outpos = 0;
	c->outlen = n - nw;
	return CONN_WRITE;
}

/*
 * One read from the client, as echo_upper makes it: report it, upper-case
 * it, write it to stdout and send it back. End of file and errors end the
 * connection; nothing to read yet (EAGAIN) is no error.
 */
static enum conn_want conn_read(struct conn *c)
{
	char buf[MAXLINE];
	char str[INET_ADDRSTRLEN];
	ssize_t i, n;

	n = read_again(c->fd, buf, MAXLINE);
	if (n == 0) {
		printf("the other side has been closed.\n");
		return CONN_CLOSE;
	}
	if (n < 0) {
		if (errno == EAGAIN)
			return CONN_READ;
		perror("read");
		return CONN_CLOSE;
	}
	printf("received from %s at PORT %d\n",
	    inet_ntop(AF_INET, &c->cliaddr.sin_addr, str, sizeof(str)),
	    ntohs(c->cliaddr.sin_port));
	for (i = 0; i < n; i++)
		buf[i] = toupper((unsigned char)buf[i]);
	Write(STDOUT_FILENO, buf, n);
	return conn_send(c, buf, n);
}

/* Send what waits in c's buffer; the buffer goes once it is all sent. */
static enum conn_want conn_flush(struct conn *c)
{
	ssize_t nw;

	if ((nw = write_again(c->fd, c->out + c->outpos, c->outlen - c->outpos)) < 0) {
		if (errno == EAGAIN)
			return CONN_WRITE;
		perror("write");
		return CONN_CLOSE;
	}
	c->outpos += nw;
	if (c->outpos < c->outlen)
		return CONN_WRITE;
	free(c->out);
	c->out = NULL;
	return CONN_READ;
}

/*
 * c's descriptor is ready for what it was watched for (or has an error or a
 * hang-up to report, which the call then returns): flush the waiting reply,
 * or read. Returns what to watch it for next, or CONN_CLOSE: the caller
 * takes it out of its set and calls conn_close.
 */
enum conn_want conn_ready(struct conn *c)
{
	return c->out != NULL ? conn_flush(c) : conn_read(c);
}

/*
 * close(2) the connection and free its slot. A failure (EBADF: the
 * descriptor was not open) is reported, and the slot freed all the same.
 */
void conn_close(struct conn *c)
{
	if (close(c->fd) < 0)
		perror("close");
	free(c->out);
	conn_init(c);
}

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
 * the epoll set epfd, watched for reading, and into client[], nclient slots
 * indexed by descriptor. Closed, with a message, when it has no slot or
 * epoll_ctl fails.
 */
void epoll_add(int epfd, struct conn *client, int nclient, int connfd,
    const struct sockaddr_in *cliaddr)
{
	struct epoll_event ev;

	if (connfd >= nclient) {
		fprintf(stderr, "epoll: no slot for fd %d, connection closed\n", connfd);
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
	conn_open(&client[connfd], connfd, cliaddr);
}

/*
 * One pass of an epoll loop: epoll_wait(2) on epfd, then serve each ready
 * connection of client[] (indexed by descriptor) and watch it for what it
 * wants next; an event for a descriptor closed earlier in the pass finds a
 * free slot and is ignored. Returns 1 when srcfd, where new connections
 * come from, is readable: the caller takes them in after the pass, so that
 * a descriptor closed during it cannot come back as a new connection while
 * events for the old one are still to be seen. No state but the arguments:
 * each thread may run its own loop.
 */
int epoll_pass(int epfd, struct conn *client, int srcfd)
{
	struct epoll_event events[MAXEVENTS];
	enum conn_want was, want;
	int i, n, fd, srcready = 0;

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
		if (client[fd].fd < 0)
			continue;
		was = conn_wants(&client[fd]);
		if ((want = conn_ready(&client[fd])) != was)
			epoll_watch(epfd, &client[fd], want);
	}
	return srcready;
}
