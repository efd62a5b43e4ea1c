/*
 * coro.h: coroutines on one thread, each with a stack of its own, and the
 * scheduler that switches to them as epoll says their descriptors are
 * ready (twin of coro.rs). How a context is made and switched to is given
 * (struct co_switch): glibc's ucontext (uctx.c) or our own (fiber.c).
 * Used by coio.c and coserver.c.
 */
#ifndef CORO_H
#define CORO_H

#include <netinet/in.h>
#include <stddef.h>

#include "outbuf.h"

/* Calls a coroutine makes without waiting before it lets the others run. */
#define CO_RUNS 16

/* How a coroutine's context is made, and switched to. */
struct co_switch {
	size_t ctx_size;              /* bytes of one context, a multiple of 16 */
	/* a context that starts fn on the stack [stack, stack + size) */
	void (*make)(void *ctx, char *stack, size_t size, void (*fn)(void));
	/* save the running context in from, run to */
	void (*swap)(void *from, void *to);
};

struct sched;

/*
 * One coroutine: a connection (or the listening socket) and the function
 * that serves it. It sits at the top of its own mapping, above its
 * context, its stack below them and a guard page below that.
 */
struct co {
	int fd;                       /* what it waits on, closed at its end */
	unsigned events;              /* what fd is watched for in the set; 0: not in it */
	int runs;                     /* calls since it last waited */
	int done;                     /* its function has returned */
	struct sockaddr_in peer;
	void (*fn)(struct co *, void *);
	void *arg;
	void *ctx;
	char *map;                    /* its mapping: guard page, stack, context, this */
	struct co *next;              /* on the free list */
	struct sched *s;
};

/* The scheduler: one epoll set, the coroutines by descriptor, the stacks to reuse. */
struct sched {
	const struct co_switch *sw;
	int epfd;
	size_t page;                  /* the guard page's size */
	size_t mapsize;               /* one coroutine's mapping, guard page included */
	struct co **fds;              /* fds[fd]: the coroutine that waits on fd, or NULL */
	int nfds;
	struct co *cur;               /* the coroutine running, NULL in the scheduler */
	struct co *free;              /* finished coroutines, their mappings kept */
	void *ctx;                    /* the scheduler's own context */
	struct outbuf *o;             /* the loop's stdout */
};

/* Coroutines alive, the accept loop's among them: make watch reads it. */
extern int co_live;

void co_init(struct sched *s, const struct co_switch *sw, size_t stack_kb, struct outbuf *o);
int co_spawn(struct sched *s, int fd, const struct sockaddr_in *peer,
    void (*fn)(struct co *, void *), void *arg);
int co_wait(struct co *c, unsigned events);
int co_turn(struct co *c, unsigned events);
void co_run(struct sched *s);

#endif
