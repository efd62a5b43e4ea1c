/*
 * outbuf.h: the event loops' stdout, which never blocks them (twin of
 * outbuf.rs). What the loop prints goes out at once when stdout takes it;
 * what stdout does not take waits in a bounded buffer while the loop
 * watches stdout for writing. While the buffer is full, lines are dropped
 * and counted; once it has drained, a line says how many. Used by conn.c
 * and epoll_loop.c, and by the select, poll and epoll servers and each of
 * the pool server's workers, one each; and by the io_uring server, whose
 * ring writes what waits (out_add, out_sent).
 */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stddef.h>

/* What may wait to be printed; a line larger than this is never passed. */
#define OUTBUF_SIZE 65536

/* Room for the line that says how many lines were dropped. */
#define OUT_LINEMAX 64

/* How the lines are written. */
enum out_mode {
	OUT_BLOCK,               /* to stdout itself, blocking: a regular file, or no way round it */
	OUT_NB,                  /* to a non-blocking open file description of stdout, the loop's own */
	OUT_SEND                 /* stdout is a socket: send(2) with MSG_DONTWAIT */
};

struct outbuf {
	int fd;                  /* where the lines go */
	enum out_mode mode;
	int watched;             /* the loop watches fd for writing (epoll: it is in the set) */
	char *buf;               /* OUTBUF_SIZE bytes while something waits, else NULL */
	size_t len;              /* buf[0..len) waits */
	unsigned long dropped;   /* lines not printed since the buffer was full */
};

void out_init(struct outbuf *o);
void out_open(struct outbuf *o);
void out_close(struct outbuf *o);
void out_put(struct outbuf *o, const char *p, size_t n);
void out_alloc(struct outbuf *o);
void out_add(struct outbuf *o, const char *p, size_t n);
int out_pending(const struct outbuf *o);
void out_sent(struct outbuf *o, size_t nw);
void out_flush(struct outbuf *o);

#endif
