/* thread_server.c: one detached thread per connection (twin of thread_server.rs). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a detached thread per connection"

#define MAXSLOTS 256

/* What one connection's thread needs; connfd == -1 marks a free slot. */
struct s_info {
	struct sockaddr_in cliaddr;
	int connfd;
};

/* Guards the connfd of every slot, the mark that hands a slot over. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct s_info ts[MAXSLOTS] = { [0 ... MAXSLOTS - 1] = { .connfd = -1 } };

/* Mark a slot free; its thread no longer touches it. */
static void release_slot(struct s_info *info)
{
	pthread_mutex_lock(&slots_lock);
	info->connfd = -1;
	pthread_mutex_unlock(&slots_lock);
}

static void *do_work(void *arg)
{
	struct s_info *info = arg;

	echo_upper(info->connfd, &info->cliaddr);
	Close(info->connfd);
	release_slot(info);
	return NULL;
}

/* A free slot; while every slot is busy, look again each second. */
static struct s_info *find_slot(void)
{
	struct s_info *info = NULL;
	int i;

	for (;;) {
		pthread_mutex_lock(&slots_lock);
		for (i = 0; i < MAXSLOTS && info == NULL; i++)
			if (ts[i].connfd == -1)
				info = &ts[i];
		pthread_mutex_unlock(&slots_lock);
		if (info != NULL)
			return info;
		sleep(1);
	}
}

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	struct s_info *info;
	pthread_t tid;
	int listenfd, connfd, ret;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		info = find_slot();
		cliaddr_len = sizeof(cliaddr);
		connfd = Accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		info->cliaddr = cliaddr;
		info->connfd = connfd;
		if ((ret = pthread_create(&tid, NULL, do_work, info)) != 0) {
			errno = ret;
			perror("pthread_create");
			Close(connfd);
			release_slot(info);
			continue;
		}
		pthread_detach(tid);
	}
}
