/*
 * fdutil.h: descriptor helpers of the event loops (twin of fdutil.rs):
 * non-blocking mode, and tables indexed by descriptor (or slot) that grow
 * with them. Used by accept.c, conn.c, epoll_loop.c and the select, poll,
 * epoll and pool servers.
 */
#ifndef FDUTIL_H
#define FDUTIL_H

#include <stddef.h>

/* Slots a table starts with, the first time it grows. */
#define TABLE_MIN 8

void set_nonblock(int fd);
void *array_grow(void *a, int *n, int i, size_t size);
void *array_fit(void *a, int *n, int i, size_t size, const void *empty);

#endif
