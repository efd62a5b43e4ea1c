/*
 * server.c: a multi-process upper-case echo server written the way the
 * course notes write one, to test `make compare-pair` against programs a
 * learner brings: the port fixed at build time (cc -DSERV_PORT=...), its
 * own banner, printf on stdout with the buffering the C library picks,
 * a backlog of 20, SIGPIPE left at its default, children reaped with
 * waitpid(0, ...), and read's result used unchecked (a -1 written as a
 * length). Not a twin of anything in src/.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SERV_PORT
#define SERV_PORT 8000
#endif
#define MAXLINE 80

static void fail(const char *what)
{
	perror(what);
	exit(1);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(0, NULL, WNOHANG) > 0)
		;
}

/*
 * Upper-case whatever the client sends, until it hangs up. As in the
 * course notes, only 0 ends the loop: when the client resets the
 * connection, read returns -1, and that -1 goes on as a length, to the
 * printf, the toupper loop (which does nothing) and both writes (which
 * take it as a huge size_t and fail with EFAULT); the next read then
 * returns 0.
 */
static void serve(int fd, struct sockaddr_in *peer)
{
	char buf[MAXLINE], ip[INET_ADDRSTRLEN];
	int i, n;

	for (;;) {
		n = read(fd, buf, MAXLINE);
		if (n == 0) {
			printf("client hung up\n");
			return;
		}
		printf("%d bytes from %s:%d\n", n,
		       inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip)),
		       ntohs(peer->sin_port));
		for (i = 0; i < n; i++)
			buf[i] = toupper((unsigned char)buf[i]);
		write(STDOUT_FILENO, buf, n);
		write(fd, buf, n);
	}
}

int main(void)
{
	struct sockaddr_in addr, peer;
	socklen_t len;
	struct sigaction sa;
	int lfd, cfd, on = 1;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons(SERV_PORT);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail("bind");
	listen(lfd, 20);

	printf("server up, waiting for clients ...\n");
	for (;;) {
		len = sizeof(peer);
		cfd = accept(lfd, (struct sockaddr *)&peer, &len);
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			fail("accept");
		}
		pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			close(lfd);
			serve(cfd, &peer);
			close(cfd);
			return 0;
		}
		close(cfd);
	}
}
