/* echo.h: the servers' business logic (twin of echo.rs). */
#ifndef ECHO_H
#define ECHO_H

#include <netinet/in.h>

void echo_upper(int connfd, const struct sockaddr_in *cliaddr);

#endif
