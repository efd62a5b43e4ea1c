/*
 * coserver.h: the coroutine servers, whole but for how they switch (twin
 * of coserver.rs): a coroutine per connection, serving it as the blocking
 * servers do, and one accepting. Used by coroutine_server.c and
 * fiber_server.c.
 */
#ifndef COSERVER_H
#define COSERVER_H

#include "coro.h"

/*
 * Each coroutine's stack, in KiB, by default: serve's frame holds a
 * MAXLINE (8 KiB) buffer, and the printf family, which echo_reply calls,
 * wants a few KiB more; 64 leaves room to spare. Only the pages a
 * coroutine touches take memory: an idle connection costs its address
 * space (64 KiB and a guard page) and a few resident pages.
 */
#define CO_STACK_KB 64

/* The smallest stack STACK_KB may ask for: a page, too small for serve. */
#define CO_STACK_MIN_KB 4

/* The largest: 64 MiB. */
#define CO_STACK_MAX_KB 65536

int co_server(int argc, char *argv[], const char *usage, const struct co_switch *sw);

#endif
