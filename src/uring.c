/*
 * uring.c: an io_uring ring through the raw system calls (twin of
 * uring.rs): io_uring_setup(2), io_uring_enter(2) and io_uring_register(2)
 * by syscall(2), the queues mmapped, a ring of buffers registered for the
 * receives to pick from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"
#include "wrap.h"

/* One line on stderr naming what this kernel lacks and the Linux it came in; exit(3) 1. */
static _Noreturn void uring_lacks(const char *what, const char *since)
{
	fprintf(stderr, "uring_server: this kernel lacks %s (Linux %s or later needed)\n", what, since);
	exit(1);
}

/*
 * io_uring_setup(2), or exit 1 saying why: ENOSYS and EPERM mean the
 * kernel refuses io_uring, EINVAL that it has io_uring but not a flag the
 * ring is set up with (the newest, IORING_SETUP_DEFER_TASKRUN, 6.1).
 */
static int uring_setup(struct io_uring_params *p)
{
	int fd;

	memset(p, 0, sizeof(*p));
	p->flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p->cq_entries = URING_CQ_ENTRIES;
	if ((fd = syscall(SYS_io_uring_setup, URING_SQ_ENTRIES, p)) >= 0)
		return fd;
	if (errno == ENOSYS || errno == EPERM) {
		fprintf(stderr, "io_uring_setup: %s: this kernel refuses io_uring "
		    "(see /proc/sys/kernel/io_uring_disabled)\n", strerror(errno));
		exit(1);
	}
	if (errno == EINVAL)
		uring_lacks("IORING_SETUP_DEFER_TASKRUN", "6.1");
	perr_exit("io_uring_setup");
}

/* The features of io_uring_setup(2)'s answer the ring relies on, or exit 1 naming the one missing. */
static void uring_features(const struct io_uring_params *p)
{
	if (!(p->features & IORING_FEAT_SINGLE_MMAP))
		uring_lacks("IORING_FEAT_SINGLE_MMAP", "5.4");
	if (!(p->features & IORING_FEAT_NODROP))
		uring_lacks("IORING_FEAT_NODROP", "5.5");
}

/* The operations the server queues, and the Linux each came in (io_uring_enter(2)). */
static const struct uring_op {
	uint8_t op;
	const char *name;
	const char *since;
} uring_ops[] = {
	{ IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD", "5.1" },
	{ IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT", "5.4" },
	{ IORING_OP_ACCEPT, "IORING_OP_ACCEPT", "5.5" },
	{ IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL", "5.5" },
	{ IORING_OP_CLOSE, "IORING_OP_CLOSE", "5.6" },
	{ IORING_OP_WRITE, "IORING_OP_WRITE", "5.6" },
	{ IORING_OP_SEND, "IORING_OP_SEND", "5.6" },
	{ IORING_OP_RECV, "IORING_OP_RECV", "5.6" },
};

/*
 * io_uring_register(2) IORING_REGISTER_PROBE: whether the kernel knows
 * every operation of uring_ops; exit 1 naming the first it does not, or
 * the probe itself when the kernel does not know that (EINVAL).
 */
static void uring_probe(struct uring *r)
{
	struct io_uring_probe p;
	size_t i;
	uint8_t op;

	memset(&p, 0, sizeof(p));
	if (syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_PROBE, &p, URING_PROBE_OPS) < 0) {
		if (errno == EINVAL)
			uring_lacks("IORING_REGISTER_PROBE", "5.6");
		perr_exit("io_uring_register");
	}
	for (i = 0; i < sizeof(uring_ops) / sizeof(uring_ops[0]); i++) {
		op = uring_ops[i].op;
		if (op >= p.ops_len || !(p.ops[op].flags & IO_URING_OP_SUPPORTED))
			uring_lacks(uring_ops[i].name, uring_ops[i].since);
	}
}

/* mmap(2) of len bytes of the ring fd at off, shared with the kernel; exits on failure. */
static void *uring_map(int fd, size_t len, unsigned long long off)
{
	void *p;

	if ((p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off)) ==
	    MAP_FAILED)
		perr_exit("mmap");
	return p;
}

/* mmap(2) of anonymous memory, zeroed, or MAP_FAILED. */
static void *anon_map(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/*
 * mmap(2) of URING_NBUFS buffers and of a ring to hand them to the kernel,
 * io_uring_register(2) IORING_REGISTER_PBUF_RING of the ring as group
 * URING_BGID (EINVAL: a kernel without buffer rings), then every buffer
 * into it. Anonymous memory, zeroed: what the kernel writes there is
 * defined to valgrind before it is written.
 */
static void uring_bufs(struct uring *r)
{
	struct io_uring_buf_reg reg;
	size_t ringlen = URING_NBUFS * sizeof(struct io_uring_buf);
	unsigned bid;

	r->br = anon_map(ringlen);
	r->bufs = anon_map((size_t)URING_NBUFS * URING_BUFSIZE);
	if (r->br == MAP_FAILED || r->bufs == MAP_FAILED)
		perr_exit("mmap");
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)r->br;
	reg.ring_entries = URING_NBUFS;
	reg.bgid = URING_BGID;
	if (syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
		if (errno == EINVAL)
			uring_lacks("IORING_REGISTER_PBUF_RING", "5.19");
		perr_exit("io_uring_register");
	}
	r->br_tail = 0;
	for (bid = 0; bid < URING_NBUFS; bid++)
		uring_buf_put(r, bid);
}

/* The trial's operations, by user_data. */
#define TRIAL_ACCEPT 1
#define TRIAL_RECV   2

/*
 * What IORING_REGISTER_PROBE cannot tell, tried: a multishot accept (5.19)
 * and a multishot recv with a byte limit (optlen, 6.17), both on fd -1.
 * A kernel that knows them fails them when it looks the descriptor up
 * (EBADF); one that does not, before (EINVAL): before 6.17, a recv's
 * optlen was the file_index field, which had to be zero. Exits 1 naming
 * the one missing.
 */
static void uring_trial(struct uring *r)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int res[3] = { 0, 0, 0 };
	int n = 0;

	sqe = uring_sqe(r, IORING_OP_ACCEPT, -1, TRIAL_ACCEPT);
	sqe->ioprio = IORING_ACCEPT_MULTISHOT;
	sqe = uring_sqe(r, IORING_OP_RECV, -1, TRIAL_RECV);
	sqe->ioprio = IORING_RECV_MULTISHOT;
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	sqe->optlen = URING_BUFSIZE;
	while (n < 2) {
		if (uring_enter(r) < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
			perr_exit("io_uring_enter");
		for (; (cqe = uring_cqe(r)) != NULL; uring_cqe_seen(r), n++)
			res[cqe->user_data == TRIAL_RECV ? TRIAL_RECV : TRIAL_ACCEPT] = cqe->res;
	}
	if (res[TRIAL_ACCEPT] == -EINVAL)
		uring_lacks("multishot accept", "5.19");
	if (res[TRIAL_RECV] == -EINVAL)
		uring_lacks("multishot recv with a length limit", "6.17");
}

/*
 * A new ring: io_uring_setup(2), what the kernel can do checked (its
 * features, its operations), its two queues mmapped as one
 * (IORING_FEAT_SINGLE_MMAP, 5.4), the submission entries beside, the
 * submission array filled once (entry i is slot i), the buffer ring, and
 * a trial of what no probe tells. Exits on failure, or on a kernel that
 * lacks what the server uses.
 */
void uring_open(struct uring *r)
{
	struct io_uring_params p;
	size_t sqlen, cqlen;
	unsigned *array, i;
	char *q;

	r->fd = uring_setup(&p);
	uring_features(&p);
	uring_probe(r);
	sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	q = uring_map(r->fd, sqlen > cqlen ? sqlen : cqlen, IORING_OFF_SQ_RING);
	r->sqes = uring_map(r->fd, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
	r->sq_head = (unsigned *)(q + p.sq_off.head);
	r->sq_tail = (unsigned *)(q + p.sq_off.tail);
	r->sq_mask = *(unsigned *)(q + p.sq_off.ring_mask);
	array = (unsigned *)(q + p.sq_off.array);
	for (i = 0; i < p.sq_entries; i++)
		array[i] = i;
	r->sq_local = *r->sq_tail;
	r->to_submit = 0;
	r->cq_head = (unsigned *)(q + p.cq_off.head);
	r->cq_tail = (unsigned *)(q + p.cq_off.tail);
	r->cq_mask = *(unsigned *)(q + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(q + p.cq_off.cqes);
	uring_bufs(r);
	uring_trial(r);
}

/*
 * io_uring_enter(2): hand the kernel the entries filled in since the last
 * call, and wait for at least one completion (IORING_ENTER_GETEVENTS; with
 * IORING_SETUP_DEFER_TASKRUN, completions are posted only here). Returns
 * its result: the entries submitted, or -1 with errno (EINTR: a signal
 * came first, and nothing was submitted).
 */
int uring_enter(struct uring *r)
{
	int n;

	__atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
	n = syscall(SYS_io_uring_enter, r->fd, r->to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (n > 0)
		r->to_submit -= (unsigned)n < r->to_submit ? (unsigned)n : r->to_submit;
	return n;
}

/* The kernel's head of the submission queue: the entries before it are consumed. */
static unsigned sq_head(struct uring *r)
{
	return __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}

/*
 * The next free submission entry, zeroed, its opcode, fd and user_data set.
 * When the queue is full, what it holds is submitted first, without waiting
 * (io_uring_enter(2) with no flag); exits if that fails.
 */
struct io_uring_sqe *uring_sqe(struct uring *r, uint8_t opcode, int fd, uint64_t user_data)
{
	struct io_uring_sqe *sqe;
	int n;

	while (r->sq_local - sq_head(r) > r->sq_mask) {
		__atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
		n = syscall(SYS_io_uring_enter, r->fd, r->to_submit, 0, 0, NULL, 0);
		if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
			perr_exit("io_uring_enter");
		if (n > 0)
			r->to_submit -= n;
	}
	sqe = &r->sqes[r->sq_local & r->sq_mask];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->fd = fd;
	sqe->user_data = user_data;
	r->sq_local++;
	r->to_submit++;
	return sqe;
}

/* The oldest completion not yet seen, or NULL when there is none. */
struct io_uring_cqe *uring_cqe(struct uring *r)
{
	unsigned head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return NULL;
	return &r->cqes[head & r->cq_mask];
}

/* The completion uring_cqe gave is done with: its slot goes back to the kernel. */
void uring_cqe_seen(struct uring *r)
{
	__atomic_store_n(r->cq_head, *r->cq_head + 1, __ATOMIC_RELEASE);
}

/*
 * Buffer bid of the buffer ring; abort(3), with a message, when the ring
 * has no such buffer (the kernel named one it was never given).
 */
char *uring_buf(struct uring *r, unsigned bid)
{
	if (bid >= URING_NBUFS) {
		fprintf(stderr, "uring: no buffer %u\n", bid);
		abort();
	}
	return r->bufs + (size_t)bid * URING_BUFSIZE;
}

/* Buffer bid back into the buffer ring, for the kernel to fill again. */
void uring_buf_put(struct uring *r, unsigned bid)
{
	struct io_uring_buf *b = &r->br[r->br_tail & (URING_NBUFS - 1)];

	b->addr = (uintptr_t)uring_buf(r, bid);
	b->len = URING_BUFSIZE;
	b->bid = bid;
	r->br_tail++;
	__atomic_store_n(&r->br[0].resv, r->br_tail, __ATOMIC_RELEASE);
}
