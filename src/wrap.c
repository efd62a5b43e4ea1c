/* wrap.c: one wrapper per call, one check, one perror message (twin of wrap.rs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "wrap.h"

_Noreturn void perr_exit(const char *s)
{
	perror(s);
	exit(1);
}

int Socket(int family, int type, int protocol)
{
	int n;

	if ((n = socket(family, type, protocol)) < 0)
		perr_exit("socket");
	return n;
}

void Bind(int fd, const struct sockaddr *sa, socklen_t salen)
{
	if (bind(fd, sa, salen) < 0)
		perr_exit("bind");
}

void Listen(int fd, int backlog)
{
	if (listen(fd, backlog) < 0)
		perr_exit("listen");
}

/* Errors of the new connection that accept(2) passes up: try the next one. */
int accept_transient(int e)
{
	return e == ECONNABORTED || e == EPROTO || e == ENOPROTOOPT || e == EHOSTDOWN ||
	    e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH ||
	    e == ENETDOWN;
}

int Accept(int fd, struct sockaddr *sa, socklen_t *salenptr)
{
	int n;

again:
	if ((n = accept(fd, sa, salenptr)) < 0) {
		if (accept_transient(errno) || errno == EINTR)
			goto again;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The connection waits in the queue until resources free up. */
			perror("accept");
			usleep(ACCEPT_BACKOFF_USEC);
			goto again;
		}
		perr_exit("accept");
	}
	return n;
}

void Connect(int fd, const struct sockaddr *sa, socklen_t salen)
{
	if (connect(fd, sa, salen) < 0)
		perr_exit("connect");
}

ssize_t Read(int fd, void *ptr, size_t nbytes)
{
	ssize_t n;

again:
	if ((n = read(fd, ptr, nbytes)) < 0) {
		if (errno == EINTR)
			goto again;
		if (errno != EAGAIN)
			perror("read");
	}
	return n;
}

ssize_t Write(int fd, const void *ptr, size_t nbytes)
{
	ssize_t n;

again:
	if ((n = write(fd, ptr, nbytes)) < 0) {
		if (errno == EINTR)
			goto again;
		if (errno != EAGAIN)
			perror("write");
	}
	return n;
}

void Close(int fd)
{
	if (close(fd) < 0)
		perr_exit("close");
}

/* Read n bytes, fewer only at end of file. */
ssize_t Readn(int fd, void *vptr, size_t n)
{
	char *ptr = vptr;
	size_t nleft = n;
	ssize_t nread;

	while (nleft > 0) {
		if ((nread = Read(fd, ptr, nleft)) < 0)
			return -1;
		if (nread == 0)
			break;
		nleft -= nread;
		ptr += nread;
	}
	return n - nleft;
}

/* Write all n bytes. */
ssize_t Writen(int fd, const void *vptr, size_t n)
{
	const char *ptr = vptr;
	size_t nleft = n;
	ssize_t nwritten;

	while (nleft > 0) {
		if ((nwritten = Write(fd, ptr, nleft)) < 0)
			return -1;
		nleft -= nwritten;
		ptr += nwritten;
	}
	return n;
}

void rline_init(struct rline *rl, int fd)
{
	rl->fd = fd;
	rl->cnt = 0;
	rl->pos = 0;
}

/* One byte from rl's buffer, refilled with one Read when empty. */
static ssize_t rline_byte(struct rline *rl, char *c)
{
	if (rl->cnt <= 0) {
		if ((rl->cnt = Read(rl->fd, rl->buf, sizeof(rl->buf))) <= 0)
			return rl->cnt;
		rl->pos = 0;
	}
	rl->cnt--;
	*c = rl->buf[rl->pos++];
	return 1;
}

/* Read a line of at most maxlen - 1 bytes, newline kept, NUL added. */
ssize_t Readline(struct rline *rl, void *vptr, size_t maxlen)
{
	char *ptr = vptr;
	size_t n = 0;
	ssize_t rc;
	char c;

	if (maxlen == 0)
		return 0;
	while (n < maxlen - 1) {
		if ((rc = rline_byte(rl, &c)) < 0)
			return -1;
		if (rc == 0)
			break;
		ptr[n++] = c;
		if (c == '\n')
			break;
	}
	ptr[n] = '\0';
	return n;
}
