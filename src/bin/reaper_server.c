/* reaper_server.c: joinable threads, joined by a reaper thread (twin of reaper_server.rs). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../slots.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a joinable thread per connection, joined by a reaper thread"

/*
 * A slot (slots.h) stays busy until the reaper has joined its thread, so
 * that there are never more than MAXSLOTS threads, finished or not.
 */

/*
 * The slots whose threads are done and not yet joined, oldest first: a ring
 * of MAXSLOTS, room for every slot, as a slot is on it at most once. Guarded,
 * with the tid of every slot, by finished_lock; finished_sem counts the
 * slots on it.
 */
static pthread_mutex_t finished_lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t finished_sem;
static struct s_info *finished[MAXSLOTS];
static int finished_head, finished_tail;   /* the oldest, where the next goes */

/*
 * Put the calling thread's slot, with its tid, on the finished list, and
 * wake the reaper: after the unlock, so that the reaper, woken, finds the
 * mutex free.
 */
static void finish(struct s_info *info)
{
	pthread_mutex_lock(&finished_lock);
	info->tid = pthread_self();
	finished[finished_tail] = info;
	finished_tail = (finished_tail + 1) % MAXSLOTS;
	pthread_mutex_unlock(&finished_lock);
	sem_post(&finished_sem);
}

/* The oldest slot on the finished list, taken off it; wait while it is empty. */
static struct s_info *next_finished(void)
{
	struct s_info *info;

	while (sem_wait(&finished_sem) < 0)
		if (errno != EINTR)
			perr_exit("sem_wait");
	pthread_mutex_lock(&finished_lock);
	info = finished[finished_head];
	finished_head = (finished_head + 1) % MAXSLOTS;
	pthread_mutex_unlock(&finished_lock);
	return info;
}

/*
 * Serve one connection, then tell the reaper and end with the connection's
 * number as the exit value. Returning it is pthread_exit(3) without the
 * unwinding, for which glibc loads libgcc_s.so.1 at the first call, in
 * whatever thread makes it, and aborts the whole server if that fails.
 */
static void *do_work(void *arg)
{
	struct s_info *info = arg;
	long num = info->num;

	echo_upper(info->connfd, &info->cliaddr);
	Close(info->connfd);
	finish(info);
	return (void *)num;
}

/* Join each thread that is done, free its slot, and print its exit value. */
static void *do_reap(void *arg)
{
	struct s_info *info;
	void *value;
	int ret;

	(void)arg;
	for (;;) {
		info = next_finished();
		if ((ret = pthread_join(info->tid, &value)) != 0) {
			errno = ret;
			perr_exit("pthread_join");
		}
		release_slot(info);
		printf("joined worker %ld\n", (long)value);
	}
}

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	struct s_info *info;
	pthread_t tid;
	long nconn = 0;
	int listenfd, connfd, ret;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);

	if (sem_init(&finished_sem, 0, 0) < 0)
		perr_exit("sem_init");
	if ((ret = pthread_create(&tid, NULL, do_reap, NULL)) != 0) {
		errno = ret;
		perr_exit("pthread_create");
	}

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		info = find_slot();
		cliaddr_len = sizeof(cliaddr);
		connfd = Accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		info->cliaddr = cliaddr;
		info->connfd = connfd;
		info->num = ++nconn;
		if ((ret = pthread_create(&tid, NULL, do_work, info)) != 0) {
			errno = ret;
			perror("pthread_create");
			Close(connfd);
			release_slot(info);
		}
	}
}
