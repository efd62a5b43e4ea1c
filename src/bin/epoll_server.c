/* epoll_server.c: one thread serving every connection with epoll (twin of epoll_server.rs). */
#include <signal.h>
#include <stdio.h>

#include "../accept.h"
#include "../args.h"
#include "../conn.h"
#include "../epoll_loop.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread serving every connection with epoll"

int main(int argc, char *argv[])
{
	struct conn_table client;
	struct sockaddr_in cliaddr;
	struct outbuf out;
	int j, listenfd, connfd, epfd, spare;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(listenfd);
	spare = open_spare();
	out_open(&out);

	/* client.c[] is indexed by descriptor, and grows as they do (epoll_add). */
	conn_table_init(&client);
	epfd = epoll_open(listenfd);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		if (!epoll_pass(epfd, &client, listenfd, &out))
			continue;
		for (j = 0; j < MAXACCEPT; j++) {  /* new connections, after the pass */
			if ((connfd = accept_nb(listenfd, &cliaddr, &spare)) < 0)
				break;
			epoll_add(epfd, &client, connfd, &cliaddr);
		}
	}
}
