/* echo.c: read, upper-case, write to stdout and back (twin of echo.rs). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#include "echo.h"
#include "wrap.h"

/* Serve one client until it closes or fails; the caller closes connfd. */
void echo_upper(int connfd, const struct sockaddr_in *cliaddr)
{
	char buf[MAXLINE];
	char str[INET_ADDRSTRLEN];
	ssize_t i, n;

	for (;;) {
		n = Read(connfd, buf, MAXLINE);
		if (n == 0) {
			printf("the other side has been closed.\n");
			break;
		}
		if (n < 0)
			break;
		printf("received from %s at PORT %d\n",
		    inet_ntop(AF_INET, &cliaddr->sin_addr, str, sizeof(str)),
		    ntohs(cliaddr->sin_port));
		for (i = 0; i < n; i++)
			buf[i] = toupper((unsigned char)buf[i]);
		Write(STDOUT_FILENO, buf, n);
		if (Writen(connfd, buf, n) < 0)
			break;
	}
}
