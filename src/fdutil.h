/*
 * fdutil.h: descriptor helpers of the event loops (twin of fdutil.rs):
 * non-blocking mode, read and write retried after EINTR, and tables
 * indexed by descriptor (or slot) that grow with them. Used by accept.c,
 * conn.c, outbuf.c, epoll_loop.c and the select, poll, epoll and pool
 * servers.
 */
#ifndef FDUTIL_H
#define FDUTIL_H

#include <sys/types.h>

/* Slots a table starts with, the first time it grows. */
#define TABLE_MIN 8

void set_nonblock(int fd);
ssize_t read_again(int fd, void *buf, size_t n);
ssize_t write_again(int fd, const void *buf, size_t n);
void *array_grow(void *a, int *n, int i, size_t size);

#endif
