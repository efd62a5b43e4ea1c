/*
 * accept.h: how the event loops accept, and what they do when out of
 * descriptors (twin of accept.rs). Used by the select, poll and epoll
 * servers, and by the pool server's acceptor; accept_ready by the passfd,
 * herd and prethread_queue servers.
 */
#ifndef ACCEPT_H
#define ACCEPT_H

#include <netinet/in.h>

/* Connections accepted at most per wake-up, so that a burst of connects
 * cannot keep the loop from the clients already connected. */
#define MAXACCEPT 16

int open_spare(void);
int accept_nb(int listenfd, struct sockaddr_in *cliaddr, int *spare);
int accept_ready(int listenfd, struct sockaddr_in *cliaddr);

#endif
