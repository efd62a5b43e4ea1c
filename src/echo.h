/*
 * echo.h: the servers' business logic (twin of echo.rs): echo_upper for
 * the servers that give a connection a process or a thread of its own,
 * echo_reply for every read, in those and in the event loops (conn.c).
 */
#ifndef ECHO_H
#define ECHO_H

#include <netinet/in.h>
#include <stddef.h>

/* What a server prints when its client has closed. */
#define ECHO_CLOSED "the other side has been closed.\n"

/* Room for the report line of one read. */
#define ECHO_LINEMAX 64

size_t echo_reply(char *line, size_t size, const struct sockaddr_in *cliaddr, char *buf,
    size_t n);
void echo_upper(int connfd, const struct sockaddr_in *cliaddr);

#endif
