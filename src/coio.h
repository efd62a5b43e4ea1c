/*
 * coio.h: a coroutine's accept, read and write, written as the blocking
 * servers call theirs: each waits (co_wait) where a blocking call would
 * block (twin of coio.rs). Used by coserver.c.
 */
#ifndef COIO_H
#define COIO_H

#include <netinet/in.h>
#include <sys/types.h>

#include "coro.h"

int co_accept(struct co *c, struct sockaddr_in *cliaddr, int *spare);
ssize_t co_read(struct co *c, void *buf, size_t n);
ssize_t co_write(struct co *c, const void *buf, size_t n);

#endif
