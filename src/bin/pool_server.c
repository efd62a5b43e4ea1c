/*
 * pool_server.c: an acceptor and a pool of worker threads, each with its own
 * epoll loop, each connection owned by one worker for its whole life (twin of
 * pool_server.rs).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../accept.h"
#include "../args.h"
#include "../conn.h"
#include "../epoll_loop.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../wrap.h"

#define USAGE "[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), one acceptor handing each connection to one of THREADS worker threads (default: one per online CPU), each with its own epoll loop"

#define MAXWORKERS 64

/* A new connection on its way from the acceptor to a worker. */
struct handoff {
	int connfd;
	struct sockaddr_in cliaddr;
};

/*
 * One worker: its epoll set, the pipe it is handed connections on, its
 * connections, its stdout.
 */
struct worker {
	int epfd;
	int pipefd[2];
	struct conn_table client;
	struct outbuf out;
};

static struct worker ws[MAXWORKERS];

/*
 * A worker's pipe (its read end non-blocking: the worker reads until it is
 * empty), its epoll set watching the pipe, its empty table of connections,
 * its stdout.
 */
static void worker_init(struct worker *w)
{
	if (pipe(w->pipefd) < 0)
		perr_exit("pipe");
	set_nonblock(w->pipefd[0]);
	w->epfd = epoll_open(w->pipefd[0]);
	conn_table_init(&w->client);
	out_open(&w->out);
}

/* Undo worker_init, for a worker whose thread could not be started. */
static void worker_free(struct worker *w)
{
	Close(w->epfd);
	Close(w->pipefd[0]);
	Close(w->pipefd[1]);
	out_close(&w->out);
}

/*
 * Take in every connection waiting in w's pipe: read(2) whole records, as
 * many as there are (they are written whole, so the pipe holds whole
 * records only), until the pipe is empty; epoll_add each.
 */
static void take_over(struct worker *w)
{
	struct handoff h[MAXACCEPT];
	ssize_t n;
	size_t i;

	for (;;) {
		if ((n = Read(w->pipefd[0], h, sizeof(h))) < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || n % sizeof(h[0]) != 0)
			perr_exit("hand-over");  /* only a bug cuts a record, or closes the pipe */
		for (i = 0; i < n / sizeof(h[0]); i++)
			epoll_add(w->epfd, &w->client, h[i].connfd, &h[i].cliaddr);
		if ((size_t)n < sizeof(h))
			return;          /* it was all there was */
	}
}

/* Serve the worker's connections; take in those handed over, after a pass. */
static void *do_work(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		if (!epoll_pass(w->epfd, &w->client, w->pipefd[0], &w->out))
			continue;
		take_over(w);
	}
	/* NOTREACHED */
	return NULL;
}

/*
 * Hand connfd to a worker: one write to pipefd, its pipe's write end,
 * whole (at most PIPE_BUF bytes), waiting while the pipe is full; a worker
 * that has read nothing yet is not left behind: the write is retried after
 * EINTR or EAGAIN.
 */
static void hand_over(int pipefd, int connfd, const struct sockaddr_in *cliaddr)
{
	struct handoff h;

	h.connfd = connfd;
	h.cliaddr = *cliaddr;
	while (write(pipefd, &h, sizeof(h)) != sizeof(h)) {
		if (errno != EINTR && errno != EAGAIN) {
			perror("hand-over");
			Close(connfd);
			return;
		}
	}
}

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	struct conn_table noconn;
	struct outbuf noout;
	pthread_t tid;
	int j, ret, nthreads, nworkers, next;
	int listenfd, connfd, epfd, spare;
	long online;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nthreads = threads_arg(argc, argv, 2, 0, MAXWORKERS, USAGE);
	if (nthreads == 0) {  /* none given: one per online CPU */
		online = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = online < 1 ? 1 : online > MAXWORKERS ? MAXWORKERS : online;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();
	epfd = epoll_open(listenfd);
	conn_table_init(&noconn);    /* the acceptor serves no connection, */
	out_init(&noout);            /* and prints nothing */

	for (nworkers = 0; nworkers < nthreads; nworkers++) {
		worker_init(&ws[nworkers]);
		if ((ret = pthread_create(&tid, NULL, do_work, &ws[nworkers])) != 0) {
			errno = ret;
			perror("pthread_create");
			worker_free(&ws[nworkers]);
			break;
		}
		pthread_detach(tid);
	}
	if (nworkers == 0) {
		fprintf(stderr, "%s: no worker thread could be started\n", argv[0]);
		exit(1);
	}
	if (nworkers < nthreads)
		fprintf(stderr, "%s: running with %d of %d worker threads\n", argv[0], nworkers, nthreads);

	printf("listening on 0.0.0.0:%d\n", port);
	for (next = 0;;) {
		if (!epoll_pass(epfd, &noconn, listenfd, &noout))
			continue;
		for (j = 0; j < MAXACCEPT; j++) {  /* new connections, each to the next worker */
			if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
				break;
			hand_over(ws[next].pipefd[1], connfd, &cliaddr);
			next = (next + 1) % nworkers;
		}
	}
}
