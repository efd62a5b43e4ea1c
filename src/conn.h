/* conn.h: one connection of the single-threaded servers (twin of conn.rs). */
#ifndef CONN_H
#define CONN_H

#include <netinet/in.h>
#include <sys/types.h>

/* Connections accepted at most per wake-up, so that a burst of connects
 * cannot keep the loop from the clients already connected. */
#define MAXACCEPT 16

/* Events taken at most per epoll_wait. */
#define MAXEVENTS 64

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

void set_nonblock(int fd);
int open_spare(void);
int accept_nb(int listenfd, struct sockaddr_in *cliaddr, int *spare);
int open_max(void);
struct conn *conn_table(int n);

void conn_init(struct conn *c);
void conn_open(struct conn *c, int connfd, const struct sockaddr_in *cliaddr);
enum conn_want conn_wants(const struct conn *c);
enum conn_want conn_ready(struct conn *c);
void conn_close(struct conn *c);

int epoll_open(int fd);
void epoll_add(int epfd, struct conn *client, int nclient, int connfd,
    const struct sockaddr_in *cliaddr);
int epoll_pass(int epfd, struct conn *client, int srcfd);

#endif
