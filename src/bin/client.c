/* client.c: lines from stdin to the server, replies to stdout (twin of client.rs). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../args.h"
#include "../wrap.h"

int main(int argc, char *argv[])
{
	struct sockaddr_in servaddr;
	char buf[MAXLINE];
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	int sockfd, port = port_arg(argc, argv, 2);
	ssize_t n, len;

	memset(&servaddr, 0, sizeof(servaddr));
	servaddr.sin_family = AF_INET;
	servaddr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &servaddr.sin_addr) != 1) {
		fprintf(stderr, "%s: invalid IPv4 address: %s\n", argv[0], host);
		exit(2);
	}

	sockfd = Socket(AF_INET, SOCK_STREAM, 0);
	Connect(sockfd, (struct sockaddr *)&servaddr, sizeof(servaddr));

	while (fgets(buf, MAXLINE, stdin) != NULL) {
		len = strlen(buf);
		if (Writen(sockfd, buf, len) < 0)
			break;
		n = Readn(sockfd, buf, len);
		if (n == 0) {
			printf("the other side has been closed.\n");
			break;
		}
		if (n < 0)
			break;
		Write(STDOUT_FILENO, buf, n);
	}
	Close(sockfd);
	return 0;
}
