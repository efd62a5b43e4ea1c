/*
 * conn.h: one connection of the event loops, its state machine, and the
 * table of them that grows with the descriptors in use (twin of conn.rs).
 * Used by epoll_loop.c, and by the select and poll servers and the pool
 * server's workers.
 */
#ifndef CONN_H
#define CONN_H

#include <netinet/in.h>
#include <sys/types.h>

#include "outbuf.h"

/*
 * One client, served a read at a time. A reply the socket does not take at
 * once waits in out, at most MAXLINE bytes, allocated only while it waits;
 * while it waits, the descriptor is watched for writing and not read, so
 * that a client that never reads holds no more than that.
 */
struct conn {
	int fd;                       /* -1: a free slot */
	struct sockaddr_in cliaddr;
	char *out;                    /* the unsent reply, NULL when none */
	size_t outpos;                /* out[outpos..outlen) is still to send */
	size_t outlen;
};

/* What a connection's descriptor is to be watched for next. */
enum conn_want {
	CONN_READ,                    /* readable: nothing waits to be sent */
	CONN_WRITE,                   /* writable: a reply waits in out */
	CONN_CLOSE                    /* nothing: the connection is over */
};

/* Connection slots, c[0..n), grown (conn_fit) as slots are needed. */
struct conn_table {
	struct conn *c;
	int n;
};

void conn_table_init(struct conn_table *t);
int conn_fit(struct conn_table *t, int i);

void conn_open(struct conn *c, int connfd, const struct sockaddr_in *cliaddr);
enum conn_want conn_wants(const struct conn *c);
enum conn_want conn_ready(struct conn *c, struct outbuf *o);
void conn_close(struct conn *c);

#endif
