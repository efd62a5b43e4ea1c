/* thread_server.c: one detached thread per connection (twin of thread_server.rs). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../slots.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a detached thread per connection"

static void *do_work(void *arg)
{
	struct s_info *info = arg;

	echo_upper(info->connfd, &info->cliaddr);
	Close(info->connfd);
	release_slot(info);
	return NULL;
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
