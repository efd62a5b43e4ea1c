/*
 * coro.c: coroutines on one thread, each with a stack of its own, and the
 * scheduler that switches to them as epoll says their descriptors are
 * ready (twin of coro.rs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro.h"
#include "epoll_loop.h"
#include "fdutil.h"
#include "outbuf.h"
#include "wrap.h"

/* struct co's room at the top of its mapping, a multiple of 16. */
#define CO_TOP ((sizeof(struct co) + 15) & ~(size_t)15)

/* The scheduler co_main finds the running coroutine in: one per process. */
static struct sched *sched;

int co_live;

/*
 * A new scheduler: its epoll set (epoll_create1(2)), and stacks of
 * stack_kb KiB, each above a guard page; exits on failure.
 */
void co_init(struct sched *s, const struct co_switch *sw, size_t stack_kb, struct outbuf *o)
{
	s->sw = sw;
	s->page = sysconf(_SC_PAGESIZE);
	s->mapsize = s->page + (stack_kb * 1024 + s->page - 1) / s->page * s->page;
	if ((s->epfd = epoll_create1(0)) < 0)
		perr_exit("epoll_create1");
	s->fds = NULL;
	s->nfds = 0;
	s->cur = NULL;
	s->free = NULL;
	if ((s->ctx = malloc(sw->ctx_size)) == NULL)
		perr_exit("malloc");
	s->o = o;
	sched = s;
}

/*
 * mmap(2) of a coroutine's mapping, and mprotect(2) of its lowest page:
 * the guard page, where a stack that overflows faults (SIGSEGV) instead of
 * writing over whatever lies below. A finished coroutine's mapping is
 * taken first. NULL, with a message, on failure.
 */
static struct co *co_new(struct sched *s)
{
	struct co *c;
	char *map;

	if ((c = s->free) != NULL) {
		s->free = c->next;
		return c;
	}
	map = mmap(NULL, s->mapsize, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	if (mprotect(map, s->page, PROT_NONE) < 0) {
		perror("mprotect");
		munmap(map, s->mapsize);
		return NULL;
	}
	c = (struct co *)(map + s->mapsize - CO_TOP);
	c->ctx = (char *)c - s->sw->ctx_size;
	c->map = map;
	return c;
}

/*
 * Where every coroutine starts: its function, then back to the scheduler
 * for good, which ends it (co_end).
 */
static void co_main(void)
{
	struct co *c = sched->cur;

	c->fn(c, c->arg);
	c->done = 1;
	sched->sw->swap(c->ctx, sched->ctx);
	abort();
}

/*
 * A coroutine for fd, from peer (NULL: none), that runs fn(c, arg), first
 * when fd is readable: fd into the epoll set (epoll_ctl(2) EPOLL_CTL_ADD),
 * as the epoll server's epoll_add. On failure, fd is closed, with a
 * message, and -1 returned.
 */
int co_spawn(struct sched *s, int fd, const struct sockaddr_in *peer,
    void (*fn)(struct co *, void *), void *arg)
{
	static struct co *const none = NULL;
	struct epoll_event ev;
	struct co **fds;
	struct co *c;

	if ((fds = array_fit(s->fds, &s->nfds, fd, sizeof(*fds), &none)) == NULL) {
		fprintf(stderr, "coro: no memory for fd %d, connection closed\n", fd);
		Close(fd);
		return -1;
	}
	s->fds = fds;
	if ((c = co_new(s)) == NULL) {
		Close(fd);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("epoll_ctl");
		c->next = s->free;
		s->free = c;
		Close(fd);
		return -1;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	c->runs = 0;
	c->done = 0;
	if (peer != NULL)
		c->peer = *peer;
	c->fn = fn;
	c->arg = arg;
	c->s = s;
	s->sw->make(c->ctx, c->map + s->page, (char *)c->ctx - (c->map + s->page), co_main);
	s->fds[fd] = c;
	co_live++;
	return 0;
}

/*
 * The running coroutine c waits until its descriptor is ready for events
 * (EPOLLIN or EPOLLOUT): epoll_ctl(2) EPOLL_CTL_MOD when it was watched
 * for the other, then the scheduler runs. -1, with a message, when
 * epoll_ctl fails: the caller ends the connection.
 */
int co_wait(struct co *c, unsigned events)
{
	struct epoll_event ev;

	if (c->events != events) {
		memset(&ev, 0, sizeof(ev));
		ev.events = events;
		ev.data.fd = c->fd;
		if (epoll_ctl(c->s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			perror("epoll_ctl");
			return -1;
		}
		c->events = events;
	}
	c->runs = 0;
	c->s->sw->swap(c->ctx, c->s->ctx);
	return 0;
}

/*
 * The others' turn: after CO_RUNS calls without waiting, c waits for its
 * descriptor (co_wait), which epoll then reports ready again behind the
 * others, so that a client that keeps its coroutine busy cannot keep the
 * scheduler from the rest.
 */
int co_turn(struct co *c, unsigned events)
{
	if (c->runs++ < CO_RUNS)
		return 0;
	return co_wait(c, events);
}

/*
 * A coroutine that has returned: out of the set (epoll_ctl(2)
 * EPOLL_CTL_DEL), its descriptor closed (close(2)), each failure reported,
 * and its mapping kept for the next (the free list).
 */
static void co_end(struct sched *s, struct co *c)
{
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		perror("epoll_ctl");
	if (close(c->fd) < 0)
		perror("close");
	s->fds[c->fd] = NULL;
	c->next = s->free;
	s->free = c;
	co_live--;
}

/* Run c until it waits or returns; end it if it returned. */
static void co_resume(struct sched *s, struct co *c)
{
	s->cur = c;
	s->sw->swap(s->ctx, c->ctx);
	s->cur = NULL;
	if (c->done)
		co_end(s, c);
}

/*
 * The scheduler, for ever: the loop's stdout into the set or out of it
 * (epoll_out), epoll_wait(2), then stdout flushed if it is writable, and
 * each ready coroutine run, in the order of epoll's ready list.
 */
void co_run(struct sched *s)
{
	struct epoll_event events[MAXEVENTS];
	struct co *c;
	int i, n, fd;

	for (;;) {
		if (out_pending(s->o) != s->o->watched)
			epoll_out(s->epfd, s->o);
		if ((n = epoll_wait(s->epfd, events, MAXEVENTS, -1)) < 0) {
			if (errno == EINTR)
				continue;
			perr_exit("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			fd = events[i].data.fd;
			if (s->o->watched && fd == s->o->fd) {
				out_flush(s->o);
				continue;
			}
			if (fd < s->nfds && (c = s->fds[fd]) != NULL)
				co_resume(s, c);
		}
	}
}
