/*
 * coio.c: a coroutine's accept, read and write, written as the blocking
 * servers call theirs: each waits (co_wait) where a blocking call would
 * block (twin of coio.rs).
 */
#include <errno.h>
#include <sys/epoll.h>

#include "accept.h"
#include "coio.h"
#include "coro.h"
#include "wrap.h"

/*
 * accept_nb(3) on c's listening socket: the next connection, non-blocking.
 * While none waits (or one was turned away: out of descriptors), c waits
 * for the socket to be readable. -1 only when c cannot wait.
 */
int co_accept(struct co *c, struct sockaddr_in *cliaddr, int *spare)
{
	int connfd;

	if (co_turn(c, EPOLLIN) < 0)
		return -1;
	while ((connfd = accept_nb(c->fd, cliaddr, spare)) < 0)
		if (co_wait(c, EPOLLIN) < 0)
			return -1;
	return connfd;
}

/*
 * Read(3) of at most n bytes from c's connection; while none is there
 * (EAGAIN), c waits for it to be readable. As read(2): the bytes read, 0
 * at end of file, -1 on error.
 */
ssize_t co_read(struct co *c, void *buf, size_t n)
{
	ssize_t nr;

	if (co_turn(c, EPOLLIN) < 0)
		return -1;
	while ((nr = Read(c->fd, buf, n)) < 0 && errno == EAGAIN)
		if (co_wait(c, EPOLLIN) < 0)
			return -1;
	return nr;
}

/*
 * Write(3) of all n bytes to c's connection; while the socket takes no
 * more (EAGAIN), c waits for it to be writable, and reads nothing
 * meanwhile: back-pressure. n, or -1 on error.
 */
ssize_t co_write(struct co *c, const void *buf, size_t n)
{
	const char *p = buf;
	size_t left = n;
	ssize_t nw;

	while (left > 0) {
		if ((nw = Write(c->fd, p, left)) < 0) {
			if (errno != EAGAIN || co_wait(c, EPOLLOUT) < 0)
				return -1;
			continue;
		}
		p += nw;
		left -= nw;
	}
	return n;
}
