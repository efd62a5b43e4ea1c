/*
 * outbuf.c: the event loops' stdout, which never blocks them: a bounded
 * buffer, and lines dropped and counted while it is full (twin of
 * outbuf.rs).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbuf.h"
#include "wrap.h"

/* Plain stdout, blocking, nothing waiting: for a loop that prints nothing. */
void out_init(struct outbuf *o)
{
	o->fd = STDOUT_FILENO;
	o->mode = OUT_BLOCK;
	o->watched = 0;
	o->buf = NULL;
	o->len = 0;
	o->dropped = 0;
}

/*
 * fstat(2) of stdout, then what to write the loop's lines to. A regular
 * file (or a block device) has no reader to wait for: stdout itself. A
 * socket: stdout itself, each send(2) with MSG_DONTWAIT, which leaves the
 * socket's flags alone. Anything else (a pipe, a terminal): open(2) of
 * /proc/self/fd/1, a new open file description of the same pipe or
 * terminal, O_NONBLOCK on it alone; the one the shell shares keeps its
 * flags. When that cannot be opened, stdout itself, blocking, and a
 * message says so.
 */
void out_open(struct outbuf *o)
{
	struct stat st;

	out_init(o);
	if (fstat(STDOUT_FILENO, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		o->mode = OUT_SEND;
		return;
	}
	if ((o->fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY)) < 0) {
		fprintf(stderr, "stdout: /proc/self/fd/1: %s: printing blocks, "
		    "and a stdout nobody reads stalls the server\n", strerror(errno));
		o->fd = STDOUT_FILENO;
		return;
	}
	o->mode = OUT_NB;
}

/* Undo out_open: close the description of stdout it opened, if any. */
void out_close(struct outbuf *o)
{
	if (o->mode == OUT_NB)
		Close(o->fd);
	free(o->buf);
	o->buf = NULL;
	o->len = 0;
}

/*
 * Write, or send(2) with MSG_DONTWAIT to a socket, retried after EINTR:
 * -1 with a message on failure, but none on EAGAIN (stdout is full).
 */
static ssize_t out_write(struct outbuf *o, const void *p, size_t n)
{
	ssize_t r;

	if (o->mode != OUT_SEND)
		return Write(o->fd, p, n);
	do
		r = send(o->fd, p, n, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EAGAIN)
		perror("send");
	return r;
}

/*
 * write(2) (send(2) to a socket) of p's n bytes (at most OUTBUF_SIZE), one
 * line of the loop's: at once if nothing waits, as much as stdout takes;
 * the rest waits in the buffer. No room for it there: it is dropped and
 * counted, and so is every line after it until the buffer has drained.
 * Blocking stdout: Write.
 */
void out_put(struct outbuf *o, const char *p, size_t n)
{
	ssize_t nw = 0;

	if (o->mode == OUT_BLOCK) {
		Write(o->fd, p, n);
		return;
	}
	if (o->dropped > 0) {
		o->dropped++;
		return;
	}
	if (o->buf == NULL) {
		if ((nw = out_write(o, p, n)) < 0) {
			if (errno != EAGAIN)
				return;
			nw = 0;
		}
		if ((size_t)nw == n)
			return;
	}
	out_add(o, p + nw, n - nw);
}

/* malloc(3) of the buffer before the first line; exits on failure. */
void out_alloc(struct outbuf *o)
{
	if (o->buf == NULL && (o->buf = malloc(OUTBUF_SIZE)) == NULL)
		perr_exit("malloc");
}

/*
 * p's n bytes wait in the buffer, behind what waits already. No room for
 * them: they are dropped and counted, and so is every line after them
 * until the buffer has drained.
 */
void out_add(struct outbuf *o, const char *p, size_t n)
{
	if (o->dropped > 0) {
		o->dropped++;
		return;
	}
	if (n > OUTBUF_SIZE - o->len) {
		o->dropped = 1;
		return;
	}
	if (o->buf == NULL && (o->buf = malloc(OUTBUF_SIZE)) == NULL) {
		perror("malloc");
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Whether lines wait: the loop is to watch o->fd for writing. */
int out_pending(const struct outbuf *o)
{
	return o->len > 0;
}

/*
 * The first nw bytes of what waits have gone (at most all of it): the
 * rest moves up. Once it has all gone, if lines were dropped, a line that
 * says how many waits in their place.
 */
void out_sent(struct outbuf *o, size_t nw)
{
	char line[OUT_LINEMAX];
	int len;

	if (nw > o->len)
		nw = o->len;
	memmove(o->buf, o->buf + nw, o->len - nw);
	o->len -= nw;
	if (o->len > 0 || o->dropped == 0)
		return;
	len = snprintf(line, sizeof(line), "[%lu lines not printed: stdout was full]\n", o->dropped);
	o->dropped = 0;
	out_add(o, line, len);
}

/*
 * write(2) (send(2) to a socket) of what waits, stdout being writable (or
 * having an error to report), and out_sent of what went. Once it has all
 * gone, the buffer is freed. An error (the reader gone) loses what waited.
 */
void out_flush(struct outbuf *o)
{
	ssize_t nw;

	if (o->buf == NULL)
		return;
	if ((nw = out_write(o, o->buf, o->len)) < 0) {
		if (errno == EAGAIN)
			return;
		nw = o->len;
	}
	out_sent(o, nw);
	if (o->len > 0)
		return;
	free(o->buf);
	o->buf = NULL;
}
