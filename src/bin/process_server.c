/* process_server.c: one child process per connection (twin of process_server.rs). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a child process per connection"

/* Reap every child that has exited, keeping errno for the code interrupted. */
static void do_sigchild(int num)
{
	int saved_errno = errno;

	(void)num;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved_errno;
}

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	struct sigaction newact;
	int listenfd, connfd;
	int port;
	pid_t pid;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&newact, 0, sizeof(newact));
	newact.sa_handler = do_sigchild;
	sigemptyset(&newact.sa_mask);
	newact.sa_flags = 0;
	sigaction(SIGCHLD, &newact, NULL);

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
