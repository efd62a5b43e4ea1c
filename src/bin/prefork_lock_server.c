/*
 * prefork_lock_server.c: CHILDREN processes forked before the clients
 * come, accept serialised by an fcntl record lock on a temporary file
 * (twin of prefork_lock_server.rs).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../prefork.h"
#include "../wrap.h"

#define USAGE "[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, accept serialised by an fcntl lock"

/*
 * mkstemp(3) a file for the lock, and unlink(2) it at once: the
 * descriptor, shared by the children, is all that is needed. Record
 * locks belong to a process, so each child's lock is its own.
 */
static int lock_init(void)
{
	char path[] = "/tmp/prefork_lock.XXXXXX";
	int lockfd;

	if ((lockfd = mkstemp(path)) < 0)
		perr_exit("mkstemp");
	if (unlink(path) < 0)
		perr_exit("unlink");
	return lockfd;
}

/* fcntl(2) F_SETLKW, or F_SETLK to unlock, on the whole file; retried after EINTR. */
static void lock_set(int lockfd, short type)
{
	struct flock lock;

	memset(&lock, 0, sizeof(lock));
	lock.l_type = type;
	lock.l_whence = SEEK_SET;
	while (fcntl(lockfd, type == F_UNLCK ? F_SETLK : F_SETLKW, &lock) < 0)
		if (errno != EINTR)
			perr_exit("fcntl");
}

/* A child: take the lock, accept, give the lock back, serve; for ever. */
static void child_main(struct prefork *pf, int i)
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	int lockfd = *(int *)pf->arg;
	int connfd;

	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		lock_set(lockfd, F_WRLCK);
		connfd = Accept(pf->listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		lock_set(lockfd, F_UNLCK);
		prefork_counted(pf, i);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
}

int main(int argc, char *argv[])
{
	struct prefork pf;
	int listenfd, lockfd, nchildren;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nchildren = children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	lockfd = lock_init();
	prefork_init(&pf, listenfd, nchildren, child_main, &lockfd);

	printf("listening on 0.0.0.0:%d\n", port);
	prefork_wait(&pf);
}
