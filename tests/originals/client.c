/*
 * client.c: a line-at-a-time client in the course notes' manner, to test
 * `make compare-pair`: the server's address and port fixed at build time
 * (cc -DSERV_PORT=...), fgets into a small buffer, one read per reply.
 * Not a twin of anything in src/.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SERV_PORT
#define SERV_PORT 8000
#endif
#define MAXLINE 80

int main(void)
{
	struct sockaddr_in addr;
	char line[MAXLINE];
	int fd, n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	addr.sin_port = htons(SERV_PORT);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("connect");
		exit(1);
	}
	while (fgets(line, MAXLINE, stdin) != NULL) {
		write(fd, line, strlen(line));
		n = read(fd, line, MAXLINE);
		if (n == 0) {
			printf("server went away\n");
			break;
		}
		write(STDOUT_FILENO, line, n);
	}
	close(fd);
	return 0;
}
