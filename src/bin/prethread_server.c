/*
 * prethread_server.c: THREADS threads created before the clients come,
 * accept serialised by a mutex (twin of prethread_server.rs).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../prethread.h"
#include "../wrap.h"

#define USAGE "[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), THREADS threads (default: one per online CPU,\n  at least 4) created at start, accept serialised by a mutex"

/* Each thread serves one client at a time, idle or not: at least this many. */
#define THREADS_MIN 4

static int listenfd;

/* Held by the thread in accept; the others wait for it. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Thread i: take the mutex, accept, give the mutex back, serve; for ever. */
static void *do_work(void *arg)
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	int i = (long)arg;
	int connfd;

	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		pthread_mutex_lock(&accept_lock);
		connfd = Accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		pthread_mutex_unlock(&accept_lock);
		prethread_served(i);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
	/* NOTREACHED */
	return NULL;
}

int main(int argc, char *argv[])
{
	int nthreads;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nthreads = threads_arg(argc, argv, 2, 0, MAXTHREADS, USAGE);
	if (nthreads == 0)  /* none given */
		nthreads = threads_online(THREADS_MIN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	prethread_init();
	prethread_start(nthreads, do_work, argv[0]);

	printf("listening on 0.0.0.0:%d\n", port);
	prethread_wait();
}
