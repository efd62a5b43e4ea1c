/*
 * reuseport_server.c: THREADS threads, each with its own listening socket
 * on the same port (SO_REUSEPORT) and its own epoll loop; the kernel
 * spreads the connections over the sockets (twin of reuseport_server.rs).
 */
#include <signal.h>
#include <stdio.h>

#include "../accept.h"
#include "../args.h"
#include "../conn.h"
#include "../epoll_loop.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../prethread.h"
#include "../wrap.h"

#define USAGE "[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), THREADS threads (default: one per online CPU)\n  created at start, each with its own SO_REUSEPORT listening socket and epoll loop"

/* One thread's listening socket, epoll set, spare descriptor (its own), connections and stdout. */
struct listener {
	int listenfd;
	int epfd;
	int spare;
	struct conn_table client;
	struct outbuf out;
};

static struct listener ls[MAXTHREADS];

/*
 * A listening socket of the port's group (in the order they are made:
 * which socket a connection goes to depends on it), non-blocking, in an
 * epoll set of its own; its spare, its empty table, its stdout. Made here,
 * in order, rather than in the threads, whose race for the lowest free
 * descriptor would number the spares differently from run to run.
 */
static void listener_init(struct listener *l, int port)
{
	l->listenfd = tcp_listen_reuseport(port);
	set_nonblock(l->listenfd);
	l->epfd = epoll_open(l->listenfd);
	l->spare = open_spare();
	conn_table_init(&l->client);
	out_open(&l->out);
}

/* Undo listener_init, for a socket whose thread could not be started. */
static void listener_free(struct listener *l)
{
	Close(l->spare);
	Close(l->epfd);
	Close(l->listenfd);
	out_close(&l->out);
}

/* Thread i: serve the connections of its own socket with epoll; for ever. */
static void *do_work(void *arg)
{
	struct sockaddr_in cliaddr;
	int i = (long)arg;
	struct listener *l = &ls[i];
	int j, connfd;

	for (;;) {
		if (!epoll_pass(l->epfd, &l->client, l->listenfd, &l->out))
			continue;
		for (j = 0; j < MAXACCEPT; j++) {  /* new connections, after the pass */
			if ((connfd = accept_nb(l->listenfd, &cliaddr, &l->spare)) < 0)
				break;
			prethread_served(i);
			epoll_add(l->epfd, &l->client, connfd, &cliaddr);
		}
	}
	/* NOTREACHED */
	return NULL;
}

int main(int argc, char *argv[])
{
	int i, nthreads, started;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nthreads = threads_arg(argc, argv, 2, 0, MAXTHREADS, USAGE);
	if (nthreads == 0)  /* none given */
		nthreads = threads_online(1);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = 0; i < nthreads; i++)
		listener_init(&ls[i], port);
	signal(SIGPIPE, SIG_IGN);
	prethread_init();
	started = prethread_start(nthreads, do_work, argv[0]);
	for (i = started; i < nthreads; i++)  /* its clients, if any came, are reset */
		listener_free(&ls[i]);

	printf("listening on 0.0.0.0:%d\n", port);
	prethread_wait();
}
