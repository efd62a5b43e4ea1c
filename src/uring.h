/*
 * uring.h: io_uring without liburing (twin of uring.rs). The kernel's
 * structures and constants, declared here as linux/io_uring.h defines
 * them (only what the uring server uses), and a ring: the submission and
 * completion queues mmapped from io_uring_setup(2)'s descriptor, and a
 * ring of buffers the kernel picks from for each receive.
 */
#ifndef URING_H
#define URING_H

#include <stddef.h>
#include <stdint.h>

/* A submission queue entry: one operation for the kernel (64 bytes). */
struct io_uring_sqe {
	uint8_t opcode;          /* IORING_OP_* */
	uint8_t flags;           /* IOSQE_* */
	uint16_t ioprio;         /* accept and recv: their multishot flags */
	int32_t fd;
	uint64_t off;            /* write: the file offset (-1: the current one) */
	uint64_t addr;           /* the buffer (or the timespec, the user_data to cancel) */
	uint32_t len;
	uint32_t op_flags;       /* msg_flags, accept_flags, timeout_flags... */
	uint64_t user_data;      /* given back in the operation's completions */
	uint16_t buf_group;      /* IOSQE_BUFFER_SELECT: the buffer ring to pick from */
	uint16_t personality;
	uint32_t optlen;         /* multishot recv: stop after this many bytes (6.17) */
	uint64_t addr3;
	uint64_t pad2;
};
_Static_assert(sizeof(struct io_uring_sqe) == 64, "struct io_uring_sqe: 64 bytes");
_Static_assert(offsetof(struct io_uring_sqe, fd) == 4, "io_uring_sqe.fd at 4");
_Static_assert(offsetof(struct io_uring_sqe, off) == 8, "io_uring_sqe.off at 8");
_Static_assert(offsetof(struct io_uring_sqe, len) == 24, "io_uring_sqe.len at 24");
_Static_assert(offsetof(struct io_uring_sqe, user_data) == 32, "io_uring_sqe.user_data at 32");
_Static_assert(offsetof(struct io_uring_sqe, buf_group) == 40, "io_uring_sqe.buf_group at 40");
_Static_assert(offsetof(struct io_uring_sqe, optlen) == 44, "io_uring_sqe.optlen at 44");

/* A completion queue entry: one result (16 bytes). */
struct io_uring_cqe {
	uint64_t user_data;
	int32_t res;             /* the call's return value, or -errno */
	uint32_t flags;          /* IORING_CQE_F_*, the buffer id in the top 16 bits */
};
_Static_assert(sizeof(struct io_uring_cqe) == 16, "struct io_uring_cqe: 16 bytes");
_Static_assert(offsetof(struct io_uring_cqe, res) == 8, "io_uring_cqe.res at 8");
_Static_assert(offsetof(struct io_uring_cqe, flags) == 12, "io_uring_cqe.flags at 12");

struct io_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
	uint64_t user_addr;
};
_Static_assert(sizeof(struct io_sqring_offsets) == 40, "struct io_sqring_offsets: 40 bytes");
_Static_assert(offsetof(struct io_sqring_offsets, array) == 24, "io_sqring_offsets.array at 24");
_Static_assert(offsetof(struct io_sqring_offsets, user_addr) == 32, "io_sqring_offsets.user_addr at 32");

struct io_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
	uint64_t user_addr;
};
_Static_assert(sizeof(struct io_cqring_offsets) == 40, "struct io_cqring_offsets: 40 bytes");
_Static_assert(offsetof(struct io_cqring_offsets, cqes) == 20, "io_cqring_offsets.cqes at 20");
_Static_assert(offsetof(struct io_cqring_offsets, user_addr) == 32, "io_cqring_offsets.user_addr at 32");

/* io_uring_setup(2)'s argument, filled in by the kernel (120 bytes). */
struct io_uring_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd;
	uint32_t resv[3];
	struct io_sqring_offsets sq_off;
	struct io_cqring_offsets cq_off;
};
_Static_assert(sizeof(struct io_uring_params) == 120, "struct io_uring_params: 120 bytes");
_Static_assert(offsetof(struct io_uring_params, features) == 20, "io_uring_params.features at 20");
_Static_assert(offsetof(struct io_uring_params, sq_off) == 40, "io_uring_params.sq_off at 40");
_Static_assert(offsetof(struct io_uring_params, cq_off) == 80, "io_uring_params.cq_off at 80");

/* One buffer of a buffer ring; the ring's tail is the first entry's resv. */
struct io_uring_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t bid;
	uint16_t resv;
};
_Static_assert(sizeof(struct io_uring_buf) == 16, "struct io_uring_buf: 16 bytes");
_Static_assert(offsetof(struct io_uring_buf, len) == 8, "io_uring_buf.len at 8");
_Static_assert(offsetof(struct io_uring_buf, bid) == 12, "io_uring_buf.bid at 12");
_Static_assert(offsetof(struct io_uring_buf, resv) == 14, "io_uring_buf.resv at 14");

/* IORING_REGISTER_PBUF_RING's argument. */
struct io_uring_buf_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid;
	uint16_t flags;
	uint64_t resv[3];
};
_Static_assert(sizeof(struct io_uring_buf_reg) == 40, "struct io_uring_buf_reg: 40 bytes");
_Static_assert(offsetof(struct io_uring_buf_reg, ring_entries) == 8, "io_uring_buf_reg.ring_entries at 8");
_Static_assert(offsetof(struct io_uring_buf_reg, bgid) == 12, "io_uring_buf_reg.bgid at 12");

/* One opcode of IORING_REGISTER_PROBE's answer. */
struct io_uring_probe_op {
	uint8_t op;
	uint8_t resv;
	uint16_t flags;          /* IO_URING_OP_SUPPORTED */
	uint32_t resv2;
};
_Static_assert(sizeof(struct io_uring_probe_op) == 8, "struct io_uring_probe_op: 8 bytes");
_Static_assert(offsetof(struct io_uring_probe_op, flags) == 2, "io_uring_probe_op.flags at 2");

/*
 * IORING_REGISTER_PROBE's argument, zeroed, and its answer: a 16-byte
 * header, then one entry per opcode (the kernel's ops[] is open-ended;
 * here, room for URING_PROBE_OPS).
 */
#define URING_PROBE_OPS 256
struct io_uring_probe {
	uint8_t last_op;         /* the highest opcode this kernel knows */
	uint8_t ops_len;         /* entries of ops[] filled in */
	uint16_t resv;
	uint32_t resv2[3];
	struct io_uring_probe_op ops[URING_PROBE_OPS];
};
_Static_assert(offsetof(struct io_uring_probe, ops) == 16, "io_uring_probe.ops at 16");
_Static_assert(sizeof(struct io_uring_probe) == 16 + URING_PROBE_OPS * 8, "struct io_uring_probe: 16 + 8 per op");

/* struct __kernel_timespec, IORING_OP_TIMEOUT's argument. */
struct uring_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};
_Static_assert(sizeof(struct uring_timespec) == 16, "struct uring_timespec: 16 bytes");
_Static_assert(offsetof(struct uring_timespec, tv_nsec) == 8, "uring_timespec.tv_nsec at 8");

#define IORING_SETUP_CQSIZE        (1U << 3)   /* 5.5 */
#define IORING_SETUP_SUBMIT_ALL    (1U << 7)   /* 5.18 */
#define IORING_SETUP_COOP_TASKRUN  (1U << 8)   /* 5.19 */
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)  /* 6.0 */
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)  /* 6.1 */
#define IORING_FEAT_SINGLE_MMAP    (1U << 0)   /* 5.4 */
#define IORING_FEAT_NODROP         (1U << 1)   /* 5.5 */

#define IORING_OFF_SQ_RING 0ULL
#define IORING_OFF_SQES    0x10000000ULL

#define IORING_ENTER_GETEVENTS (1U << 0)
#define IORING_REGISTER_PROBE     8            /* 5.6 */
#define IORING_REGISTER_PBUF_RING 22           /* 5.19 */
#define IO_URING_OP_SUPPORTED     (1U << 0)

#define IORING_OP_POLL_ADD     6
#define IORING_OP_TIMEOUT      11
#define IORING_OP_ACCEPT       13
#define IORING_OP_ASYNC_CANCEL 14
#define IORING_OP_CLOSE        19
#define IORING_OP_WRITE        23
#define IORING_OP_SEND         26
#define IORING_OP_RECV         27

#define IOSQE_BUFFER_SELECT     (1U << 5)
#define IOSQE_CQE_SKIP_SUCCESS  (1U << 6)      /* 5.17 */
#define IORING_ACCEPT_MULTISHOT (1U << 0)      /* 5.19 */
#define IORING_RECV_MULTISHOT   (1U << 1)      /* 6.0 */
#define IORING_CQE_F_BUFFER     (1U << 0)
#define IORING_CQE_F_MORE       (1U << 1)
#define IORING_CQE_BUFFER_SHIFT 16

/* Entries of the submission queue, and of the completion queue. */
#define URING_SQ_ENTRIES 256
#define URING_CQ_ENTRIES 4096

/* The buffers receives land in: a ring of URING_NBUFS of URING_BUFSIZE each. */
#define URING_NBUFS   256
#define URING_BUFSIZE 8192
#define URING_BGID    0

/* A ring: its descriptor, and the two queues as mmapped from it. */
struct uring {
	int fd;
	unsigned *sq_head, *sq_tail, sq_mask;
	struct io_uring_sqe *sqes;
	unsigned sq_local;        /* our tail: entries filled in, not yet published */
	unsigned to_submit;       /* published, not yet passed to io_uring_enter */
	unsigned *cq_head, *cq_tail, cq_mask;
	struct io_uring_cqe *cqes;
	struct io_uring_buf *br;  /* the buffer ring */
	char *bufs;               /* its URING_NBUFS buffers */
	uint16_t br_tail;
};

void uring_open(struct uring *r);
struct io_uring_sqe *uring_sqe(struct uring *r, uint8_t opcode, int fd, uint64_t user_data);
int uring_enter(struct uring *r);
struct io_uring_cqe *uring_cqe(struct uring *r);
void uring_cqe_seen(struct uring *r);
char *uring_buf(struct uring *r, unsigned bid);
void uring_buf_put(struct uring *r, unsigned bid);

#endif
