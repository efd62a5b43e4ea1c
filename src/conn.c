/*
 * conn.c: one connection of the event loops, non-blocking, served a step
 * at a time; the table of them, grown on demand (twin of conn.rs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "echo.h"
#include "fdutil.h"
#include "outbuf.h"
#include "wrap.h"

/*
 * A free slot: every slot of a table starts as one (conn_fit), and is one
 * again once closed (conn_close).
 */
static const struct conn conn_free = { .fd = -1 };

/* An empty table: no slot until one is needed. */
void conn_table_init(struct conn_table *t)
{
	t->c = NULL;
	t->n = 0;
}

/*
 * Make slot i of t exist (array_fit: the table doubles), every new slot
 * free. Pointers into the table do not survive it. Returns 0, or -1 when
 * out of memory (the table unchanged).
 */
int conn_fit(struct conn_table *t, int i)
{
	struct conn *c;

	if ((c = array_fit(t->c, &t->n, i, sizeof(*c), &conn_free)) == NULL)
		return -1;
	t->c = c;
	return 0;
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

/*
 * Send buf's n bytes to the client: what the socket takes now, the rest
 * kept in a buffer of its own until the socket is writable again.
 */
static enum conn_want conn_send(struct conn *c, const char *buf, size_t n)
{
	ssize_t nw;

	if ((nw = Write(c->fd, buf, n)) < 0) {
		if (errno != EAGAIN)
			return CONN_CLOSE;
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
 * One read from the client, and the business logic on it (echo_reply):
 * its report line and the upper-cased bytes to the loop's stdout o, the
 * bytes back to the client. End of file and errors end the connection;
 * nothing to read yet (EAGAIN) is no error.
 */
static enum conn_want conn_read(struct conn *c, struct outbuf *o)
{
	char buf[MAXLINE];
	char line[ECHO_LINEMAX];
	size_t len;
	ssize_t n;

	n = Read(c->fd, buf, MAXLINE);
	if (n == 0) {
		out_put(o, ECHO_CLOSED, sizeof(ECHO_CLOSED) - 1);
		return CONN_CLOSE;
	}
	if (n < 0) {
		if (errno == EAGAIN)
			return CONN_READ;
		return CONN_CLOSE;
	}
	len = echo_reply(line, sizeof(line), &c->cliaddr, buf, n);
	out_put(o, line, len);
	out_put(o, buf, n);
	return conn_send(c, buf, n);
}

/* Send what waits in c's buffer; the buffer goes once it is all sent. */
static enum conn_want conn_flush(struct conn *c)
{
	ssize_t nw;

	if ((nw = Write(c->fd, c->out + c->outpos, c->outlen - c->outpos)) < 0) {
		if (errno == EAGAIN)
			return CONN_WRITE;
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
 * or read, printing to o. Returns what to watch it for next, or
 * CONN_CLOSE: the caller takes it out of its set and calls conn_close.
 */
enum conn_want conn_ready(struct conn *c, struct outbuf *o)
{
	return c->out != NULL ? conn_flush(c) : conn_read(c, o);
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
	*c = conn_free;
}
