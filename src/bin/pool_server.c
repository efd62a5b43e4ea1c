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

#include "../args.h"
#include "../conn.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), one acceptor handing each connection to one of THREADS worker threads (default: one per online CPU), each with its own epoll loop"

#define MAXWORKERS 64

/* A new connection on its way from the acceptor to a worker. */
struct handoff {
	int connfd;
	struct sockaddr_in cliaddr;
};

/* One worker: its epoll set, the pipe it is handed connections on, its connections. */
struct worker {
	int epfd;
	int pipefd[2];
	struct conn *client;
	int nclient;
};

static struct worker ws[MAXWORKERS];

/* A worker's pipe, its epoll set watching the pipe, its table of connections. */
static void worker_init(struct worker *w, int nclient)
{
	if (pipe(w->pipefd) < 0)
		perr_exit("pipe");
	w->epfd = epoll_open(w->pipefd[0]);
	w->client = conn_table(nclient);
	w->nclient = nclient;
}

/* Undo worker_init, for a worker whose thread could not be started. */
static void worker_free(struct worker *w)
{
	Close(w->epfd);
	Close(w->pipefd[0]);
	Close(w->pipefd[1]);
	free(w->client);
}

/* Serve the worker's connections; take in each one handed over, after a pass. */
static void *do_work(void *arg)
{
	struct worker *w = arg;
	struct handoff h;
	ssize_t n;

	for (;;) {
		if (!epoll_pass(w->epfd, w->client, w->pipefd[0]))
			continue;
		n = read(w->pipefd[0], &h, sizeof(h));
		if (n == sizeof(h))
			epoll_add(w->epfd, w->client, w->nclient, h.connfd, &h.cliaddr);
		else if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			perr_exit("hand-over");  /* a record is written whole: only a bug cuts one */
	}
}

/*
 * Hand connfd to worker w: one write to its pipe, whole (at most PIPE_BUF
 * bytes), waiting while the pipe is full; a worker that has read nothing
 * yet is not left behind: the write is retried after EINTR or EAGAIN.
 */
static void hand_over(struct worker *w, int connfd, const struct sockaddr_in *cliaddr)
{
	struct handoff h;

	h.connfd = connfd;
	h.cliaddr = *cliaddr;
	while (write(w->pipefd[1], &h, sizeof(h)) != sizeof(h)) {
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
	pthread_t tid;
	int j, ret, nthreads, nworkers, next, nclient;
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

	/* Every descriptor is below RLIMIT_NOFILE: each client[] is indexed by it. */
	nclient = open_max();
	for (nworkers = 0; nworkers < nthreads; nworkers++) {
		worker_init(&ws[nworkers], nclient);
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
		if (!epoll_pass(epfd, NULL, listenfd))
			continue;
		for (j = 0; j < MAXACCEPT; j++) {  /* new connections, each to the next worker */
			if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
				break;
			hand_over(&ws[next], connfd, &cliaddr);
			next = (next + 1) % nworkers;
		}
	}
}
