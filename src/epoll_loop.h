/*
 * epoll_loop.h: one pass of an epoll loop over a table of connections,
 * with the loop's stdout (twin of epoll_loop.rs). Used by the epoll server,
 * and by the pool server's acceptor and each of its workers.
 */
#ifndef EPOLL_LOOP_H
#define EPOLL_LOOP_H

#include <netinet/in.h>

#include "conn.h"
#include "outbuf.h"

/* Events taken at most per epoll_wait. */
#define MAXEVENTS 64

int epoll_open(int fd);
void epoll_out(int epfd, struct outbuf *o);
void epoll_add(int epfd, struct conn_table *t, int connfd, const struct sockaddr_in *cliaddr);
int epoll_pass(int epfd, struct conn_table *t, int srcfd, struct outbuf *o);

#endif
