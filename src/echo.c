/* echo.c: read, upper-case, write to stdout and back (twin of echo.rs). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#include "echo.h"
#include "wrap.h"

/*
 * snprintf(3) of one read's report line, and toupper(3) of its bytes: the
 * business of one read. buf's n bytes came from cliaddr; the report line
 * for them goes into line (size bytes, NUL-terminated), and buf is
 * upper-cased in place: what is printed after the line, and sent back.
 * Returns the line's length.
 */
size_t echo_reply(char *line, size_t size, const struct sockaddr_in *cliaddr, char *buf,
    size_t n)
{
	char str[INET_ADDRSTRLEN];
	size_t i;
	int len;

	len = snprintf(line, size, "received from %s at PORT %d\n",
	    inet_ntop(AF_INET, &cliaddr->sin_addr, str, sizeof(str)),
	    ntohs(cliaddr->sin_port));
	for (i = 0; i < n; i++)
		buf[i] = toupper((unsigned char)buf[i]);
	return (size_t)len < size ? (size_t)len : size - 1;
}

/*
 * Serve one client until it closes or fails, blocking, printing with
 * stdio; the caller closes connfd.
 */
void echo_upper(int connfd, const struct sockaddr_in *cliaddr)
{
	char buf[MAXLINE];
	char line[ECHO_LINEMAX];
	ssize_t n;

	for (;;) {
		n = Read(connfd, buf, MAXLINE);
		if (n == 0) {
			fputs(ECHO_CLOSED, stdout);
			break;
		}
		if (n < 0)
			break;
		echo_reply(line, sizeof(line), cliaddr, buf, n);
		fputs(line, stdout);
		Write(STDOUT_FILENO, buf, n);
		if (Writen(connfd, buf, n) < 0)
			break;
	}
}
