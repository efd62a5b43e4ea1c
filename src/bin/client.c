/* client.c: lines from stdin to the server, replies to stdout (twin of client.rs). */
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../args.h"
#include "../wrap.h"

#define USAGE "[HOST [PORT]]\n  send stdin's lines to HOST:PORT (default 127.0.0.1 8000), print the replies"

int main(int argc, char *argv[])
{
	struct sockaddr_in servaddr;
	struct addrinfo hints, *res;
	char *line = NULL;
	size_t cap = 0;
	const char *host;
	int sockfd, port, err, status = 0;
	ssize_t n, len;

	check_args(argc, argv, 2, USAGE);
	host = argc > 1 ? argv[1] : "127.0.0.1";
	port = port_arg(argc, argv, 2, USAGE);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], host, gai_strerror(err));
		exit(1);
	}
	memcpy(&servaddr, res->ai_addr, sizeof(servaddr));
	servaddr.sin_port = htons(port);
	freeaddrinfo(res);

	sockfd = Socket(AF_INET, SOCK_STREAM, 0);
	Connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr));
	/* A server that hangs up makes a write fail (EPIPE), not kill the client. */
	signal(SIGPIPE, SIG_IGN);

	/* A failed read or write has been reported (perror): status 1. */
	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (Writen(sockfd, line, len) < 0) {
			status = 1;
			break;
		}
		n = Readn(sockfd, line, len);
		if (n == 0) {
			printf("the other side has been closed.\n");
			break;
		}
		if (n < 0 || Write(STDOUT_FILENO, line, n) < 0) {
			status = 1;
			break;
		}
	}
	free(line);
	Close(sockfd);
	return status;
}
