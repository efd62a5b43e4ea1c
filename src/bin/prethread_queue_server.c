/*
 * prethread_queue_server.c: THREADS threads created before the clients
 * come, each taking connections from a bounded queue that the main thread
 * alone fills with what it accepts (twin of prethread_queue_server.rs).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "../accept.h"
#include "../args.h"
#include "../echo.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../prethread.h"
#include "../wrap.h"

#define USAGE "[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), the main thread accepting into a queue of 32\n  connections, THREADS threads (default: one per online CPU, at least 4) created at start\n  taking them from it"

/* Each thread serves one client at a time, idle or not: at least this many. */
#define THREADS_MIN 4

/* Connections accepted and not yet taken by a thread, at most. */
#define QSIZE 32

/* An accepted connection, waiting in the queue. */
struct handoff {
	int connfd;
	struct sockaddr_in cliaddr;
};

/*
 * The queue, a ring: qcount connections from qhead on. Guarded by
 * qlock; qready is signalled for each one put in.
 */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qready = PTHREAD_COND_INITIALIZER;
static struct handoff queue[QSIZE];
static int qhead, qcount;

/* Written by a thread that takes from a full queue: the main thread may accept again. */
static int roomfd;

/*
 * Put a connection at the queue's tail, and wake a thread waiting for one:
 * after the unlock, so that the thread, woken, finds the mutex free.
 * Returns whether the queue is full now.
 */
static int put(int connfd, const struct sockaddr_in *cliaddr)
{
	struct handoff *h;
	int full;

	pthread_mutex_lock(&qlock);
	h = &queue[(qhead + qcount) % QSIZE];
	h->connfd = connfd;
	h->cliaddr = *cliaddr;
	qcount++;
	full = qcount == QSIZE;
	pthread_mutex_unlock(&qlock);
	pthread_cond_signal(&qready);
	return full;
}

/*
 * The connection at the queue's head, taken off it; wait while the queue
 * is empty. One taken from a full queue is said on roomfd.
 */
static struct handoff take(void)
{
	struct handoff h;
	uint64_t one = 1;
	int full;

	pthread_mutex_lock(&qlock);
	while (qcount == 0)
		pthread_cond_wait(&qready, &qlock);
	h = queue[qhead];
	qhead = (qhead + 1) % QSIZE;
	full = qcount == QSIZE;
	qcount--;
	pthread_mutex_unlock(&qlock);
	if (full)
		Write(roomfd, &one, sizeof(one));
	return h;
}

/* Whether the queue is full. */
static int queue_full(void)
{
	int full;

	pthread_mutex_lock(&qlock);
	full = qcount == QSIZE;
	pthread_mutex_unlock(&qlock);
	return full;
}

/* Thread i: take a connection from the queue, serve it; for ever. */
static void *do_work(void *arg)
{
	struct handoff h;
	int i = (long)arg;

	for (;;) {
		h = take();
		prethread_served(i);
		echo_upper(h.connfd, &h.cliaddr);
		Close(h.connfd);
	}
	/* NOTREACHED */
	return NULL;
}

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	uint64_t room;
	int listenfd, connfd, nthreads, full;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nthreads = threads_arg(argc, argv, 2, 0, MAXTHREADS, USAGE);
	if (nthreads == 0)  /* none given */
		nthreads = threads_online(THREADS_MIN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	set_nonblock(listenfd);  /* accept_ready: nothing to take leaves it at once */
	signal(SIGPIPE, SIG_IGN);
	if ((roomfd = eventfd(0, 0)) < 0)
		perr_exit("eventfd");
	prethread_init();
	prethread_start(nthreads, do_work, argv[0]);

	printf("listening on 0.0.0.0:%d\n", port);
	for (full = 0;;) {
		if (full) {  /* new clients wait in the kernel's accept queue */
			prethread_poll(roomfd);
			Read(roomfd, &room, sizeof(room));
			full = queue_full();
			continue;
		}
		prethread_poll(listenfd);
		if ((connfd = accept_ready(listenfd, &cliaddr)) < 0) {
			prethread_check();  /* none after all, or a pause */
			continue;
		}
		full = put(connfd, &cliaddr);
	}
}
