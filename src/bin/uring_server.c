/*
 * uring_server.c: one thread, every operation queued in an io_uring ring
 * (twin of uring_server.rs). One multishot accept takes every connection;
 * one multishot recv per connection fills buffers the kernel picks from a
 * ring; each reply is a send, and stdout's lines are writes to fd 1, so
 * that a round trip makes no system call of its own: one io_uring_enter(2)
 * carries every operation queued since the last and collects what
 * completed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../args.h"
#include "../echo.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../outbuf.h"
#include "../uring.h"
#include "../wrap.h"

#define USAGE "[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread queueing every operation in an io_uring ring"

/* What an operation was queued for, in the top byte of its user_data. */
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_WRITE, OP_CLOSE, OP_CANCEL, OP_TIMEOUT, OP_POLL };

/*
 * The most a connection holds: what one arming of its recv brings (less
 * than URING_BUFSIZE bytes, and one more receive), not yet sent back.
 */
#define OUTMAX (2 * URING_BUFSIZE)

/* One client. Its slot is indexed by descriptor; serial tells its completions from those of an earlier client of the same descriptor. */
struct uconn {
	int fd;                       /* -1: a free slot */
	unsigned serial;
	struct sockaddr_in cliaddr;
	int recv;                     /* its multishot recv is armed */
	int starved;                  /* its recv ended for want of a buffer */
	int eof;                      /* the client is done: closed once the held replies are sent */
	int sending;                  /* a send of out[sent..) is in flight */
	char *out;                    /* OUTMAX bytes while a reply waits, else NULL */
	unsigned outlen;              /* out[0..outlen) was received */
	unsigned sent;                /* out[0..sent) has been sent back */
};

/* A free slot: every slot of the table starts as one. */
static const struct uconn uconn_free = { .fd = -1 };

struct server {
	struct uring ring;
	int listenfd;
	struct uconn *c;              /* c[0..n), indexed by descriptor */
	int n;
	unsigned serial;
	int starved;                  /* connections whose recv waits for a buffer */
	int returned;                 /* buffers went back to the ring since the last pass */
	struct outbuf out;            /* stdout's lines, which the ring writes */
	int writing;                  /* a write of them (or a poll for room) is in flight */
};

static uint64_t tag(enum op op, unsigned serial, int fd)
{
	return (uint64_t)op << 56 | (uint64_t)(serial & 0xffffff) << 32 | (uint32_t)fd;
}

/* IORING_OP_ACCEPT, multishot (5.19): one entry for every connection to come. */
static void queue_accept(struct server *s)
{
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_ACCEPT, s->listenfd, tag(OP_ACCEPT, 0, 0));

	sqe->ioprio = IORING_ACCEPT_MULTISHOT;
}

/*
 * IORING_OP_RECV, multishot (6.0), into buffers of the ring, and ending
 * once URING_BUFSIZE bytes have come (optlen, 6.17): re-armed only when
 * they have all been sent back, it bounds what a client that never reads
 * makes the server hold.
 */
static void queue_recv(struct server *s, struct uconn *c)
{
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_RECV, c->fd, tag(OP_RECV, c->serial, c->fd));

	sqe->ioprio = IORING_RECV_MULTISHOT;
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	sqe->optlen = URING_BUFSIZE;
	c->recv = 1;
	c->starved = 0;
}

/* IORING_OP_SEND of what c holds and has not sent yet. */
static void queue_send(struct server *s, struct uconn *c)
{
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_SEND, c->fd, tag(OP_SEND, c->serial, c->fd));

	sqe->addr = (uintptr_t)(c->out + c->sent);
	sqe->len = c->outlen - c->sent;
	c->sending = 1;
}

/* IORING_OP_WRITE to stdout of the lines that wait, at the current offset. */
static void queue_write(struct server *s)
{
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_WRITE, s->out.fd, tag(OP_WRITE, 0, 0));

	sqe->addr = (uintptr_t)s->out.buf;
	sqe->len = s->out.len;
	sqe->off = (uint64_t)-1;
	s->writing = 1;
}

/* IORING_OP_POLL_ADD: a completion once stdout takes more (its write failed with EAGAIN). */
static void queue_poll(struct server *s)
{
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_POLL_ADD, s->out.fd, tag(OP_POLL, 0, 0));

	sqe->op_flags = POLLOUT;
	s->writing = 1;
}

/* IORING_OP_TIMEOUT: a completion in 100 ms, after which accepting starts again. */
static void queue_pause(struct server *s)
{
	static const struct uring_timespec ts = { 0, ACCEPT_BACKOFF_USEC * 1000LL };
	struct io_uring_sqe *sqe = uring_sqe(&s->ring, IORING_OP_TIMEOUT, -1, tag(OP_TIMEOUT, 0, 0));

	sqe->addr = (uintptr_t)&ts;
	sqe->len = 1;
}

/* With no write in flight, the lines that wait go out. */
static void out_kick(struct server *s)
{
	if (!s->writing && out_pending(&s->out))
		queue_write(s);
}

/* A message for stderr: what: strerror(e). */
static void report(const char *what, int e)
{
	fprintf(stderr, "%s: %s\n", what, strerror(e));
}

/*
 * A write of stdout's lines completed: what went leaves the buffer
 * (out_sent); the rest goes with the next out_kick. No room (EAGAIN): a
 * poll waits for some. An error (the reader gone) loses what waited.
 */
static void out_done(struct server *s, int res)
{
	s->writing = 0;
	if (res == -EINTR)
		return;
	if (res == -EAGAIN) {
		queue_poll(s);
		return;
	}
	if (res < 0) {
		report("write", -res);
		res = s->out.len;
	}
	out_sent(&s->out, res);
}

/*
 * The slot of a new connection connfd, grown to hold it: its address from
 * getpeername(2) (multishot accept gives descriptors only), and its recv
 * armed. Closed, with a message, when that fails.
 */
static void conn_new(struct server *s, int connfd)
{
	struct uconn *c;
	socklen_t len = sizeof(c->cliaddr);
	struct uconn *t;

	if ((t = array_fit(s->c, &s->n, connfd, sizeof(*t), &uconn_free)) == NULL) {
		fprintf(stderr, "uring: no memory for fd %d, connection closed\n", connfd);
		Close(connfd);
		return;
	}
	s->c = t;
	c = &s->c[connfd];
	if (getpeername(connfd, (struct sockaddr *)&c->cliaddr, &len) < 0) {
		perror("getpeername");
		Close(connfd);
		return;
	}
	c->fd = connfd;
	c->serial = ++s->serial;
	c->eof = c->sending = 0;
	c->out = NULL;
	c->outlen = c->sent = 0;
	queue_recv(s, c);
}

/* Buffer bid back into the ring, and counted: the starved recvs may go on. */
static void give_back(struct server *s, unsigned bid)
{
	uring_buf_put(&s->ring, bid);
	s->returned++;
}

/*
 * The connection is over: its recv cancelled if still armed
 * (IORING_OP_ASYNC_CANCEL, whose completion, like the close's, is skipped
 * on success), its descriptor closed (IORING_OP_CLOSE) and what it held
 * freed. Its slot is free at once: what completes later for it carries
 * the old serial. No send of it is in flight.
 */
static void conn_end(struct server *s, struct uconn *c)
{
	struct io_uring_sqe *sqe;

	if (c->recv) {
		sqe = uring_sqe(&s->ring, IORING_OP_ASYNC_CANCEL, -1, tag(OP_CANCEL, c->serial, c->fd));
		sqe->addr = tag(OP_RECV, c->serial, c->fd);
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	}
	sqe = uring_sqe(&s->ring, IORING_OP_CLOSE, c->fd, tag(OP_CLOSE, c->serial, c->fd));
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	free(c->out);
	c->out = NULL;
	if (c->starved)
		s->starved--;
	c->fd = -1;
}

/*
 * Nothing in flight for c: send what it holds; with nothing left,
 * close if the client is done, or arm the recv again if it ended.
 */
static void conn_next(struct server *s, struct uconn *c)
{
	if (c->sending)
		return;
	if (c->sent < c->outlen) {
		queue_send(s, c);
		return;
	}
	if (c->eof) {
		conn_end(s, c);
		return;
	}
	if (!c->recv && !c->starved)
		queue_recv(s, c);
}

/*
 * n bytes came in buffer bid: the business logic on them (echo_reply),
 * printed, and copied to what c holds to send back, so that the buffer
 * goes back to the ring at once: a client that never reads holds memory
 * of its own (at most OUTMAX bytes), never the ring's buffers, which every
 * connection shares.
 */
static void conn_data(struct server *s, struct uconn *c, unsigned bid, unsigned n)
{
	char line[ECHO_LINEMAX];
	char *buf = uring_buf(&s->ring, bid);
	size_t len;

	len = echo_reply(line, sizeof(line), &c->cliaddr, buf, n);
	out_add(&s->out, line, len);
	out_add(&s->out, buf, n);
	if (c->out == NULL && (c->out = malloc(OUTMAX)) == NULL) {
		perror("malloc");
		c->eof = 1;
	} else if (c->outlen + n > OUTMAX) {
		fprintf(stderr, "uring: fd %d holds %u bytes, connection closed\n", c->fd, c->outlen);
		c->eof = 1;
	} else {
		memcpy(c->out + c->outlen, buf, n);
		c->outlen += n;
	}
	give_back(s, bid);
}

/*
 * A completion of c's recv: data, the end of the stream, or an error.
 * Without IORING_CQE_F_MORE the recv has ended: for want of a buffer
 * (ENOBUFS: armed again once one comes back, or, if c holds replies,
 * once they have gone), at its byte limit (armed
 * again once the replies have gone), or for good.
 */
static void recv_done(struct server *s, struct uconn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->recv = 0;
	if (res > 0)
		conn_data(s, c, flags >> IORING_CQE_BUFFER_SHIFT, res);
	else if (res == 0) {
		out_add(&s->out, ECHO_CLOSED, sizeof(ECHO_CLOSED) - 1);
		c->eof = 1;
	} else if (res == -ENOBUFS && c->outlen == 0) {
		c->starved = 1;
		s->starved++;
	} else if (res != -ENOBUFS && res != -EINTR && res != -EAGAIN) {
		report("recv", -res);
		c->eof = 1;
	}
	conn_next(s, c);
}

/* A completion of c's send: the rest of a partial send, or what came meanwhile. */
static void send_done(struct server *s, struct uconn *c, int res)
{
	c->sending = 0;
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		report("send", -res);
		conn_end(s, c);
		return;
	}
	if (res > 0)
		c->sent += res;
	if (c->sent == c->outlen) {
		free(c->out);
		c->out = NULL;
		c->outlen = c->sent = 0;
	}
	conn_next(s, c);
}

/*
 * A completion of the multishot accept: a new connection, or an error,
 * which ends it. Out of descriptors or memory: a message, and accepting
 * starts again in 100 ms (queue_pause), so that the loop does not spin.
 */
static void accept_done(struct server *s, int res, unsigned flags)
{
	if (res >= 0)
		conn_new(s, res);
	else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		report("accept", -res);
		if (!(flags & IORING_CQE_F_MORE)) {
			queue_pause(s);
			return;
		}
	} else if (!accept_transient(-res) && res != -EINTR && res != -EAGAIN)
		report("accept", -res);
	if (!(flags & IORING_CQE_F_MORE))
		queue_accept(s);
}

/* A completion, to the handler of the operation that queued it; a stale one only gives back its buffer. */
static void complete(struct server *s, const struct io_uring_cqe *cqe)
{
	enum op op = cqe->user_data >> 56;
	int fd = (int)(uint32_t)cqe->user_data;
	unsigned serial = (cqe->user_data >> 32) & 0xffffff;
	struct uconn *c;

	if (op == OP_ACCEPT)
		accept_done(s, cqe->res, cqe->flags);
	else if (op == OP_WRITE)
		out_done(s, cqe->res);
	else if (op == OP_TIMEOUT)
		queue_accept(s);
	else if (op == OP_POLL)
		queue_write(s);
	else if (op == OP_CLOSE)
		report("close", -cqe->res);
	else if (op == OP_CANCEL)
		return;  /* a cancel fails only when the recv had ended: nothing to do */
	else if (fd < 0 || fd >= s->n || (c = &s->c[fd])->fd != fd ||
	    (c->serial & 0xffffff) != serial) {
		if (cqe->flags & IORING_CQE_F_BUFFER)
			give_back(s, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	} else if (op == OP_RECV)
		recv_done(s, c, cqe->res, cqe->flags);
	else
		send_done(s, c, cqe->res);
}

/* Buffers came back: the recvs that ended for want of one are armed again. */
static void rearm_starved(struct server *s)
{
	int fd;

	for (fd = 0; s->returned > 0 && fd < s->n && s->starved > 0; fd++)
		if (s->c[fd].fd >= 0 && s->c[fd].starved) {
			s->starved--;
			queue_recv(s, &s->c[fd]);
		}
	s->returned = 0;
}

int main(int argc, char *argv[])
{
	struct server s;
	struct io_uring_cqe *cqe;
	int port;

	check_args(argc, argv, 1, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	s.listenfd = tcp_listen(port);
	signal(SIGPIPE, SIG_IGN);
	uring_open(&s.ring);
	s.c = NULL;
	s.n = 0;
	s.serial = 0;
	s.starved = s.returned = 0;
	out_open(&s.out);
	out_alloc(&s.out);
	s.writing = 0;
	queue_accept(&s);

	printf("listening on 0.0.0.0:%d\n", port);
	for (;;) {
		out_kick(&s);
		rearm_starved(&s);
		if (uring_enter(&s.ring) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
			perr_exit("io_uring_enter");
		while ((cqe = uring_cqe(&s.ring)) != NULL) {
			complete(&s, cqe);
			uring_cqe_seen(&s.ring);
		}
	}
}
