/*
 * prefork_mutex_server.c: CHILDREN processes forked before the clients
 * come, accept serialised by a process-shared mutex in a shared mapping
 * (twin of prefork_mutex_server.rs).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../prefork.h"
#include "../wrap.h"

#define USAGE "[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, accept serialised by a process-shared mutex"

/*
 * A pthread mutex in a shared anonymous mapping (mmap(2)), shared by the
 * processes that fork from here on (PTHREAD_PROCESS_SHARED), and robust:
 * a child killed while it holds it does not leave it locked for ever.
 */
static pthread_mutex_t *lock_init(void)
{
	pthread_mutexattr_t mattr;
	pthread_mutex_t *mptr;
	int n;

	mptr = mmap(NULL, sizeof(*mptr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (mptr == MAP_FAILED)
		perr_exit("mmap");
	pthread_mutexattr_init(&mattr);
	pthread_mutexattr_setpshared(&mattr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&mattr, PTHREAD_MUTEX_ROBUST);
	if ((n = pthread_mutex_init(mptr, &mattr)) != 0) {
		errno = n;
		perr_exit("pthread_mutex_init");
	}
	pthread_mutexattr_destroy(&mattr);
	return mptr;
}

/*
 * pthread_mutex_lock(3); EOWNERDEAD (its holder died holding it) makes it
 * consistent again, and it is held.
 */
static void lock_take(pthread_mutex_t *mptr)
{
	int n;

	if ((n = pthread_mutex_lock(mptr)) == EOWNERDEAD)
		n = pthread_mutex_consistent(mptr);
	if (n != 0) {
		errno = n;
		perr_exit("pthread_mutex_lock");
	}
}

/* A child: take the mutex, accept, give the mutex back, serve; for ever. */
static void child_main(struct prefork *pf, int i)
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	pthread_mutex_t *mptr = pf->arg;
	int connfd;

	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		lock_take(mptr);
		connfd = Accept(pf->listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		pthread_mutex_unlock(mptr);
		prefork_counted(pf, i);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
}

int main(int argc, char *argv[])
{
	struct prefork pf;
	pthread_mutex_t *mptr;
	int listenfd, nchildren;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nchildren = children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	mptr = lock_init();
	prefork_init(&pf, listenfd, nchildren, child_main, mptr);

	printf("listening on 0.0.0.0:%d\n", port);
	prefork_wait(&pf);
}
