/* iterative_server.c: one client at a time (twin of iterative_server.rs). */
#include <signal.h>
#include <stdio.h>

#include "../args.h"
#include "../echo.h"
#include "../listen.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one client at a time"

int main(int argc, char *argv[])
{
	struct sockaddr_in cliaddr;
	socklen_t cliaddr_len;
	int listenfd, connfd;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		cliaddr_len = sizeof(cliaddr);
		connfd = Accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
		echo_upper(connfd, &cliaddr);
		Close(connfd);
	}
}
