/* sigign_server.c: a child process per connection, reaped by the kernel (twin of sigign_server.rs). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a child process per connection, SIGCHLD ignored"

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	int listenfd, connfd;
	int port;
	pid_t pid;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Ignored, SIGCHLD is never sent: the kernel frees each child as it exits. */
	signal(SIGCHLD, SIG_IGN);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		connfd = Accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		pid = fork();
		if (pid == 0) {
			Close(listenfd);
			echo_upper(connfd, &cliaddr);
			Close(connfd);
			exit(0);
		} else if (pid > 0) {
			Close(connfd);
		} else {
			perror("fork");
			Close(connfd);
		}
	}
}
