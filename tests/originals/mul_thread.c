/*
 * mul_thread.c: a thread-per-client upper-case echo server in the course
 * notes' manner, to test `make compare-pair`: the port fixed at build time
 * (cc -DSERV_PORT=...), its own banner, printf without setvbuf, a backlog
 * of 20, SIGPIPE at its default; each client's address and socket in the
 * next slot of a fixed array, never bounds-checked, and pthread_create's
 * result never looked at. Not a twin of anything in src/.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SERV_PORT
#define SERV_PORT 8000
#endif
#define MAXLINE 80

struct client {
	struct sockaddr_in addr;
	int fd;
};

static struct client clients[256];

static void *talk(void *arg)
{
	struct client *c = arg;
	char buf[MAXLINE], ip[INET_ADDRSTRLEN];
	int i, n;

	for (;;) {
		n = read(c->fd, buf, MAXLINE);
		if (n == 0) {
			printf("client on fd %d hung up\n", c->fd);
			break;
		}
		if (n < 0) {
			perror("read");
			break;
		}
		printf("%d bytes from %s:%d\n", n,
		       inet_ntop(AF_INET, &c->addr.sin_addr, ip, sizeof(ip)),
		       ntohs(c->addr.sin_port));
		for (i = 0; i < n; i++)
			buf[i] = toupper((unsigned char)buf[i]);
		write(STDOUT_FILENO, buf, n);
		write(c->fd, buf, n);
	}
	close(c->fd);
	return NULL;
}

int main(void)
{
	struct sockaddr_in addr, peer;
	socklen_t len;
	pthread_t tid;
	int lfd, cfd, on = 1, next = 0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons(SERV_PORT);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("bind");
		exit(1);
	}
	listen(lfd, 20);

	printf("threaded server up, waiting for clients ...\n");
	for (;;) {
		len = sizeof(peer);
		cfd = accept(lfd, (struct sockaddr *)&peer, &len);
		if (cfd < 0) {
			perror("accept");
			continue;
		}
		clients[next].addr = peer;
		clients[next].fd = cfd;
		pthread_create(&tid, NULL, talk, &clients[next]);
		pthread_detach(tid);
		next++;
	}
}
