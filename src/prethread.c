/* prethread.c: the threads of the prethreaded servers (twin of prethread.rs). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prethread.h"
#include "wrap.h"

static volatile sig_atomic_t stopping;
static sigset_t oldmask;        /* the mask before SIGTERM and SIGINT were blocked */
static int started;             /* threads running */
static long count[MAXTHREADS];  /* connections per thread, each its own thread's (atomic) */

/* SIGTERM or SIGINT: the main thread prints the meter and exits. */
static void do_stop(int num)
{
	(void)num;
	stopping = 1;
}

/* The online CPUs (sysconf(3)), at least min, at most MAXTHREADS. */
int threads_online(int min)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	return online < min ? min : online > MAXTHREADS ? MAXTHREADS : online;
}

/*
 * The handler for SIGTERM and SIGINT, and both blocked: in every thread
 * created from here on too (they inherit the mask), so that they come to
 * the main thread alone, and only while it waits for them (ppoll(2)
 * unblocks them as it sleeps): none is lost between a check and the wait.
 */
void prethread_init(void)
{
	struct sigaction newact;
	sigset_t set;

	memset(&newact, 0, sizeof(newact));
	newact.sa_handler = do_stop;
	sigemptyset(&newact.sa_mask);
	newact.sa_flags = 0;
	sigaction(SIGTERM, &newact, NULL);
	sigaction(SIGINT, &newact, NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
}

/*
 * Start nthreads detached threads running do_work, thread i given i as
 * its argument. A thread that cannot be created is said on stderr, and
 * the server runs with those before it; with none, it exits 1. Returns
 * how many run.
 */
int prethread_start(int nthreads, void *(*do_work)(void *), const char *prog)
{
	pthread_t tid;
	int ret;

	for (started = 0; started < nthreads; started++) {
		if ((ret = pthread_create(&tid, NULL, do_work, (void *)(long)started)) != 0) {
			errno = ret;
			perror("pthread_create");
			break;
		}
		pthread_detach(tid);
	}
	if (started == 0) {
		fprintf(stderr, "%s: no thread could be started\n", prog);
		exit(1);
	}
	if (started < nthreads)
		fprintf(stderr, "%s: running with %d of %d threads\n", prog, started, nthreads);
	return started;
}

/* Thread i has taken one more connection. */
void prethread_served(int i)
{
	__atomic_fetch_add(&count[i], 1, __ATOMIC_RELAXED);
}

/* The meter, one line per thread (the connections it took), and exit 0. */
static _Noreturn void prethread_stop(void)
{
	int i;

	for (i = 0; i < started; i++)
		printf("thread %d: %ld connections\n", i, __atomic_load_n(&count[i], __ATOMIC_RELAXED));
	exit(0);
}

/* The main thread's life once the threads run: wait for SIGTERM or SIGINT, and stop. */
_Noreturn void prethread_wait(void)
{
	for (;;) {
		if (stopping)
			prethread_stop();
		if (ppoll(NULL, 0, NULL, &oldmask) < 0 && errno != EINTR)
			perr_exit("ppoll");
	}
}

/*
 * Take SIGTERM or SIGINT if one is pending, and stop (ppoll(2) with no
 * descriptor and no wait). A ppoll that finds its descriptor ready returns
 * without taking the signals it unblocks: a caller whose listener stays
 * readable (a client it cannot accept, out of descriptors) calls this.
 */
void prethread_check(void)
{
	struct timespec zero = {0, 0};

	ppoll(NULL, 0, &zero, &oldmask);
	if (stopping)
		prethread_stop();
}

/* Wait until fd is readable (ppoll(2)); stop if SIGTERM or SIGINT comes first. */
void prethread_poll(int fd)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (stopping)
			prethread_stop();
		if (ppoll(&pfd, 1, NULL, &oldmask) > 0)
			return;
		if (errno != EINTR)
			perr_exit("ppoll");
	}
}
