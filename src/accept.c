/*
 * accept.c: the event loops' accept, non-blocking, and the spare
 * descriptor that lets them turn a client away when out of descriptors
 * (twin of accept.rs).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accept.h"
#include "wrap.h"

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
 * spare again (-1 if that fails: accept_nb tries again). Returns 1 when a
 * connection was closed, 0 when none was waiting.
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
 * taken. A spare that could not be reopened (ENFILE, or another thread took
 * the descriptor) is opened again first, on every call while it is
 * missing. Retried after EINTR and the new connection's errors
 * (accept_transient). Out of descriptors, the spare makes room to turn the
 * connection away (shed_one); with no spare, or out of memory, a report and
 * a pause of ACCEPT_BACKOFF_USEC, as Accept makes. Exits on other failures,
 * which only a bug can cause.
 */
int accept_nb(int listenfd, struct sockaddr_in *cliaddr, int *spare)
{
	socklen_t cliaddr_len;
	int connfd, err;

	if (*spare < 0)
		*spare = open("/dev/null", O_RDONLY);
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
 * accept(2) on a non-blocking listener that poll or epoll said was ready:
 * the connection, a blocking socket; or -1 when there was none after all
 * (another process took it: EAGAIN; or it was reset), or after a pause
 * when out of descriptors or memory (it waits in the queue).
 */
int accept_ready(int listenfd, struct sockaddr_in *cliaddr)
{
	socklen_t cliaddr_len;
	int connfd;

	cliaddr_len = sizeof(*cliaddr);
	if ((connfd = accept(listenfd, (struct sockaddr *)cliaddr, &cliaddr_len)) >= 0)
		return connfd;
	if (errno == EAGAIN || errno == EINTR || accept_transient(errno))
		return -1;
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		perror("accept");
		usleep(ACCEPT_BACKOFF_USEC);
		return -1;
	}
	perr_exit("accept");
}
