//! io_uring without liburing (twin of `uring.c`): the kernel's structures
//! and constants, declared here as `linux/io_uring.h` defines them (only
//! what the uring server uses), and a ring: the submission and completion
//! queues mmapped from `io_uring_setup(2)`'s descriptor, and a ring of
//! buffers the kernel picks from for each receive.

use crate::ffi::stderr;
use crate::wrap::{errno, perr_exit};
use core::ffi::{CStr, c_int, c_long, c_uint, c_void};
use core::mem::offset_of;
use core::ptr;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

/// A submission queue entry: one operation for the kernel (64 bytes).
#[repr(C)]
pub struct IoUringSqe {
    /// `IORING_OP_*`.
    pub opcode: u8,
    /// `IOSQE_*`.
    pub flags: u8,
    /// accept and recv: their multishot flags.
    pub ioprio: u16,
    pub fd: i32,
    /// write: the file offset (-1: the current one).
    pub off: u64,
    /// The buffer (or the timespec, the user_data to cancel).
    pub addr: u64,
    pub len: u32,
    /// msg_flags, accept_flags, timeout_flags...
    pub op_flags: u32,
    /// Given back in the operation's completions.
    pub user_data: u64,
    /// `IOSQE_BUFFER_SELECT`: the buffer ring to pick from.
    pub buf_group: u16,
    pub personality: u16,
    /// multishot recv: stop after this many bytes (6.17).
    pub optlen: u32,
    pub addr3: u64,
    pub pad2: u64,
}
const _: () = assert!(size_of::<IoUringSqe>() == 64);
const _: () = assert!(offset_of!(IoUringSqe, fd) == 4);
const _: () = assert!(offset_of!(IoUringSqe, off) == 8);
const _: () = assert!(offset_of!(IoUringSqe, len) == 24);
const _: () = assert!(offset_of!(IoUringSqe, user_data) == 32);
const _: () = assert!(offset_of!(IoUringSqe, buf_group) == 40);
const _: () = assert!(offset_of!(IoUringSqe, optlen) == 44);

/// A completion queue entry: one result (16 bytes).
#[repr(C)]
pub struct IoUringCqe {
    pub user_data: u64,
    /// The call's return value, or -errno.
    pub res: i32,
    /// `IORING_CQE_F_*`, the buffer id in the top 16 bits.
    pub flags: u32,
}
const _: () = assert!(size_of::<IoUringCqe>() == 16);
const _: () = assert!(offset_of!(IoUringCqe, res) == 8);
const _: () = assert!(offset_of!(IoUringCqe, flags) == 12);

#[repr(C)]
#[derive(Default)]
pub struct IoSqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub array: u32,
    pub resv1: u32,
    pub user_addr: u64,
}
const _: () = assert!(size_of::<IoSqringOffsets>() == 40);
const _: () = assert!(offset_of!(IoSqringOffsets, array) == 24);
const _: () = assert!(offset_of!(IoSqringOffsets, user_addr) == 32);

#[repr(C)]
#[derive(Default)]
pub struct IoCqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    pub cqes: u32,
    pub flags: u32,
    pub resv1: u32,
    pub user_addr: u64,
}
const _: () = assert!(size_of::<IoCqringOffsets>() == 40);
const _: () = assert!(offset_of!(IoCqringOffsets, cqes) == 20);
const _: () = assert!(offset_of!(IoCqringOffsets, user_addr) == 32);

/// `io_uring_setup(2)`'s argument, filled in by the kernel (120 bytes).
#[repr(C)]
#[derive(Default)]
pub struct IoUringParams {
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub flags: u32,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    pub features: u32,
    pub wq_fd: u32,
    pub resv: [u32; 3],
    pub sq_off: IoSqringOffsets,
    pub cq_off: IoCqringOffsets,
}
const _: () = assert!(size_of::<IoUringParams>() == 120);
const _: () = assert!(offset_of!(IoUringParams, features) == 20);
const _: () = assert!(offset_of!(IoUringParams, sq_off) == 40);
const _: () = assert!(offset_of!(IoUringParams, cq_off) == 80);

/// One buffer of a buffer ring; the ring's tail is the first entry's `resv`.
#[repr(C)]
pub struct IoUringBuf {
    pub addr: u64,
    pub len: u32,
    pub bid: u16,
    pub resv: u16,
}
const _: () = assert!(size_of::<IoUringBuf>() == 16);
const _: () = assert!(offset_of!(IoUringBuf, len) == 8);
const _: () = assert!(offset_of!(IoUringBuf, bid) == 12);
const _: () = assert!(offset_of!(IoUringBuf, resv) == 14);

/// `IORING_REGISTER_PBUF_RING`'s argument.
#[repr(C)]
#[derive(Default)]
pub struct IoUringBufReg {
    pub ring_addr: u64,
    pub ring_entries: u32,
    pub bgid: u16,
    pub flags: u16,
    pub resv: [u64; 3],
}
const _: () = assert!(size_of::<IoUringBufReg>() == 40);
const _: () = assert!(offset_of!(IoUringBufReg, ring_entries) == 8);
const _: () = assert!(offset_of!(IoUringBufReg, bgid) == 12);

/// One opcode of `IORING_REGISTER_PROBE`'s answer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IoUringProbeOp {
    pub op: u8,
    pub resv: u8,
    /// `IO_URING_OP_SUPPORTED`.
    pub flags: u16,
    pub resv2: u32,
}
const _: () = assert!(size_of::<IoUringProbeOp>() == 8);
const _: () = assert!(offset_of!(IoUringProbeOp, flags) == 2);

/// `IORING_REGISTER_PROBE`'s argument, zeroed, and its answer: a 16-byte
/// header, then one entry per opcode (the kernel's `ops[]` is open-ended;
/// here, room for `URING_PROBE_OPS`).
pub const URING_PROBE_OPS: usize = 256;
#[repr(C)]
pub struct IoUringProbe {
    /// The highest opcode this kernel knows.
    pub last_op: u8,
    /// Entries of `ops` filled in.
    pub ops_len: u8,
    pub resv: u16,
    pub resv2: [u32; 3],
    pub ops: [IoUringProbeOp; URING_PROBE_OPS],
}
const _: () = assert!(offset_of!(IoUringProbe, ops) == 16);
const _: () = assert!(size_of::<IoUringProbe>() == 16 + URING_PROBE_OPS * 8);

impl IoUringProbe {
    /// All zeroes, as the kernel wants it (C: `memset`).
    pub const fn new() -> IoUringProbe {
        const OP: IoUringProbeOp = IoUringProbeOp {
            op: 0,
            resv: 0,
            flags: 0,
            resv2: 0,
        };
        IoUringProbe {
            last_op: 0,
            ops_len: 0,
            resv: 0,
            resv2: [0; 3],
            ops: [OP; URING_PROBE_OPS],
        }
    }
}

impl Default for IoUringProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// `struct __kernel_timespec`, `IORING_OP_TIMEOUT`'s argument.
#[repr(C)]
pub struct UringTimespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}
const _: () = assert!(size_of::<UringTimespec>() == 16);
const _: () = assert!(offset_of!(UringTimespec, tv_nsec) == 8);

/// 5.5
pub const IORING_SETUP_CQSIZE: u32 = 1 << 3;
/// 5.18
pub const IORING_SETUP_SUBMIT_ALL: u32 = 1 << 7;
/// 5.19
pub const IORING_SETUP_COOP_TASKRUN: u32 = 1 << 8;
/// 6.0
pub const IORING_SETUP_SINGLE_ISSUER: u32 = 1 << 12;
/// 6.1
pub const IORING_SETUP_DEFER_TASKRUN: u32 = 1 << 13;
/// 5.4
pub const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;
/// 5.5
pub const IORING_FEAT_NODROP: u32 = 1 << 1;

pub const IORING_OFF_SQ_RING: i64 = 0;
pub const IORING_OFF_SQES: i64 = 0x10000000;

pub const IORING_ENTER_GETEVENTS: c_uint = 1 << 0;
/// 5.6
pub const IORING_REGISTER_PROBE: c_uint = 8;
/// 5.19
pub const IORING_REGISTER_PBUF_RING: c_uint = 22;
pub const IO_URING_OP_SUPPORTED: u16 = 1 << 0;

pub const IORING_OP_POLL_ADD: u8 = 6;
pub const IORING_OP_TIMEOUT: u8 = 11;
pub const IORING_OP_ACCEPT: u8 = 13;
pub const IORING_OP_ASYNC_CANCEL: u8 = 14;
pub const IORING_OP_CLOSE: u8 = 19;
pub const IORING_OP_WRITE: u8 = 23;
pub const IORING_OP_SEND: u8 = 26;
pub const IORING_OP_RECV: u8 = 27;

pub const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
/// 5.17
pub const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << 6;
/// 5.19
pub const IORING_ACCEPT_MULTISHOT: u16 = 1 << 0;
/// 6.0
pub const IORING_RECV_MULTISHOT: u16 = 1 << 1;
pub const IORING_CQE_F_BUFFER: u32 = 1 << 0;
pub const IORING_CQE_F_MORE: u32 = 1 << 1;
pub const IORING_CQE_BUFFER_SHIFT: u32 = 16;

/// Entries of the submission queue, and of the completion queue.
pub const URING_SQ_ENTRIES: c_uint = 256;
pub const URING_CQ_ENTRIES: u32 = 4096;

/// The buffers receives land in: a ring of `URING_NBUFS` of `URING_BUFSIZE` each.
pub const URING_NBUFS: usize = 256;
pub const URING_BUFSIZE: usize = 8192;
pub const URING_BGID: u16 = 0;

/// A ring: its descriptor, and the two queues as mmapped from it.
pub struct Uring {
    pub fd: c_int,
    sq_head: *mut u32,
    sq_tail: *mut u32,
    sq_mask: u32,
    sqes: *mut IoUringSqe,
    /// Our tail: entries filled in, not yet published.
    sq_local: u32,
    /// Published, not yet passed to `io_uring_enter`.
    to_submit: u32,
    cq_head: *mut u32,
    cq_tail: *mut u32,
    cq_mask: u32,
    cqes: *mut IoUringCqe,
    /// The buffer ring.
    br: *mut IoUringBuf,
    /// Its `URING_NBUFS` buffers.
    bufs: *mut u8,
    br_tail: u16,
}

/// One line on stderr naming what this kernel lacks and the Linux it came
/// in; `exit(3)` 1.
fn uring_lacks(what: &CStr, since: &CStr) -> ! {
    // SAFETY: a format whose two %s get C strings; exit(3) does not return.
    unsafe {
        libc::fprintf(
            stderr,
            c"uring_server: this kernel lacks %s (Linux %s or later needed)\n".as_ptr(),
            what.as_ptr(),
            since.as_ptr(),
        );
        libc::exit(1);
    }
}

/// `io_uring_setup(2)`, or exit 1 saying why: ENOSYS and EPERM mean the
/// kernel refuses io_uring, EINVAL that it has io_uring but not a flag the
/// ring is set up with (the newest, `IORING_SETUP_DEFER_TASKRUN`, 6.1).
fn uring_setup(p: &mut IoUringParams) -> c_int {
    *p = IoUringParams::default();
    p.flags = IORING_SETUP_CQSIZE
        | IORING_SETUP_SUBMIT_ALL
        | IORING_SETUP_COOP_TASKRUN
        | IORING_SETUP_SINGLE_ISSUER
        | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = URING_CQ_ENTRIES;
    // SAFETY: io_uring_setup(2) reads and fills in the params p points to.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_io_uring_setup,
            URING_SQ_ENTRIES as c_long,
            ptr::from_mut(p),
        )
    } as c_int;
    if fd >= 0 {
        return fd;
    }
    let e = errno();
    if e == libc::ENOSYS || e == libc::EPERM {
        // SAFETY: a format whose one %s gets strerror(3)'s C string.
        unsafe {
            libc::fprintf(
                stderr,
                c"io_uring_setup: %s: this kernel refuses io_uring (see /proc/sys/kernel/io_uring_disabled)\n"
                    .as_ptr(),
                libc::strerror(e),
            );
            libc::exit(1);
        }
    }
    if e == libc::EINVAL {
        uring_lacks(c"IORING_SETUP_DEFER_TASKRUN", c"6.1");
    }
    perr_exit(c"io_uring_setup");
}

/// The features of `io_uring_setup(2)`'s answer the ring relies on, or
/// exit 1 naming the one missing.
fn uring_features(p: &IoUringParams) {
    if p.features & IORING_FEAT_SINGLE_MMAP == 0 {
        uring_lacks(c"IORING_FEAT_SINGLE_MMAP", c"5.4");
    }
    if p.features & IORING_FEAT_NODROP == 0 {
        uring_lacks(c"IORING_FEAT_NODROP", c"5.5");
    }
}

/// An operation the server queues, and the Linux it came in (`io_uring_enter(2)`).
struct UringOp {
    op: u8,
    name: &'static CStr,
    since: &'static CStr,
}

impl UringOp {
    const fn new(op: u8, name: &'static CStr, since: &'static CStr) -> UringOp {
        UringOp { op, name, since }
    }
}

/// The operations the server queues (C: `uring_ops`).
static URING_OPS: [UringOp; 8] = [
    UringOp::new(IORING_OP_POLL_ADD, c"IORING_OP_POLL_ADD", c"5.1"),
    UringOp::new(IORING_OP_TIMEOUT, c"IORING_OP_TIMEOUT", c"5.4"),
    UringOp::new(IORING_OP_ACCEPT, c"IORING_OP_ACCEPT", c"5.5"),
    UringOp::new(IORING_OP_ASYNC_CANCEL, c"IORING_OP_ASYNC_CANCEL", c"5.5"),
    UringOp::new(IORING_OP_CLOSE, c"IORING_OP_CLOSE", c"5.6"),
    UringOp::new(IORING_OP_WRITE, c"IORING_OP_WRITE", c"5.6"),
    UringOp::new(IORING_OP_SEND, c"IORING_OP_SEND", c"5.6"),
    UringOp::new(IORING_OP_RECV, c"IORING_OP_RECV", c"5.6"),
];

/// `io_uring_register(2)` `IORING_REGISTER_PROBE`: whether the kernel knows
/// every operation of `URING_OPS`; exit 1 naming the first it does not, or
/// the probe itself when the kernel does not know that (EINVAL).
fn uring_probe(r: &Uring) {
    let mut p = IoUringProbe::new();

    // SAFETY: io_uring_register(2) fills in the probe, which has room for
    // the URING_PROBE_OPS entries it is told of.
    if unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            r.fd as c_long,
            IORING_REGISTER_PROBE as c_long,
            ptr::from_mut(&mut p),
            URING_PROBE_OPS as c_long,
        )
    } < 0
    {
        if errno() == libc::EINVAL {
            uring_lacks(c"IORING_REGISTER_PROBE", c"5.6");
        }
        perr_exit(c"io_uring_register");
    }
    for o in &URING_OPS {
        if o.op >= p.ops_len || p.ops[o.op as usize].flags & IO_URING_OP_SUPPORTED == 0 {
            uring_lacks(o.name, o.since);
        }
    }
}

/// `mmap(2)` of `len` bytes of the ring `fd` at `off`, shared with the
/// kernel; exits on failure.
fn uring_map(fd: c_int, len: usize, off: i64) -> *mut u8 {
    // SAFETY: a new mapping, at an address the kernel picks.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            off,
        )
    };
    if p == libc::MAP_FAILED {
        perr_exit(c"mmap");
    }
    p.cast::<u8>()
}

/// `mmap(2)` of anonymous memory, zeroed, or `MAP_FAILED`.
fn anon_map(len: usize) -> *mut c_void {
    // SAFETY: a new private mapping, at an address the kernel picks.
    unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    }
}

/// `mmap(2)` of `URING_NBUFS` buffers and of a ring to hand them to the
/// kernel, `io_uring_register(2)` `IORING_REGISTER_PBUF_RING` of the ring as
/// group `URING_BGID` (EINVAL: a kernel without buffer rings), then every
/// buffer into it. Anonymous memory, zeroed: what the kernel writes there
/// is defined to valgrind before it is written.
fn uring_bufs(r: &mut Uring) {
    let ringlen = URING_NBUFS * size_of::<IoUringBuf>();
    let br = anon_map(ringlen);
    let bufs = anon_map(URING_NBUFS * URING_BUFSIZE);
    if br == libc::MAP_FAILED || bufs == libc::MAP_FAILED {
        perr_exit(c"mmap");
    }
    r.br = br.cast::<IoUringBuf>();
    r.bufs = bufs.cast::<u8>();
    let reg = IoUringBufReg {
        ring_addr: br as u64,
        ring_entries: URING_NBUFS as u32,
        bgid: URING_BGID,
        ..IoUringBufReg::default()
    };
    // SAFETY: io_uring_register(2) reads the one buf_reg given.
    if unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            r.fd as c_long,
            IORING_REGISTER_PBUF_RING as c_long,
            ptr::from_ref(&reg),
            1 as c_long,
        )
    } < 0
    {
        if errno() == libc::EINVAL {
            uring_lacks(c"IORING_REGISTER_PBUF_RING", c"5.19");
        }
        perr_exit(c"io_uring_register");
    }
    r.br_tail = 0;
    for bid in 0..URING_NBUFS as u32 {
        uring_buf_put(r, bid);
    }
}

impl Uring {
    /// A ring not yet open: [`uring_open`] fills it in.
    pub const fn new() -> Uring {
        Uring {
            fd: -1,
            sq_head: ptr::null_mut(),
            sq_tail: ptr::null_mut(),
            sq_mask: 0,
            sqes: ptr::null_mut(),
            sq_local: 0,
            to_submit: 0,
            cq_head: ptr::null_mut(),
            cq_tail: ptr::null_mut(),
            cq_mask: 0,
            cqes: ptr::null_mut(),
            br: ptr::null_mut(),
            bufs: ptr::null_mut(),
            br_tail: 0,
        }
    }
}

impl Default for Uring {
    fn default() -> Self {
        Self::new()
    }
}

/// The trial's operations, by user_data.
const TRIAL_ACCEPT: u64 = 1;
const TRIAL_RECV: u64 = 2;

/// What `IORING_REGISTER_PROBE` cannot tell, tried: a multishot accept
/// (5.19) and a multishot recv with a byte limit (optlen, 6.17), both on fd
/// -1. A kernel that knows them fails them when it looks the descriptor up
/// (EBADF); one that does not, before (EINVAL): before 6.17, a recv's
/// optlen was the file_index field, which had to be zero. Exits 1 naming
/// the one missing.
fn uring_trial(r: &mut Uring) {
    let mut res = [0 as c_int; 3];
    let mut n = 0;

    let sqe = uring_sqe(r, IORING_OP_ACCEPT, -1, TRIAL_ACCEPT);
    sqe.ioprio = IORING_ACCEPT_MULTISHOT;
    let sqe = uring_sqe(r, IORING_OP_RECV, -1, TRIAL_RECV);
    sqe.ioprio = IORING_RECV_MULTISHOT;
    sqe.flags = IOSQE_BUFFER_SELECT;
    sqe.buf_group = URING_BGID;
    sqe.optlen = URING_BUFSIZE as u32;
    while n < 2 {
        if uring_enter(r) < 0 {
            let e = errno();
            if e != libc::EINTR && e != libc::EAGAIN && e != libc::EBUSY {
                perr_exit(c"io_uring_enter");
            }
        }
        while let Some(cqe) = uring_cqe(r) {
            let i = if cqe.user_data == TRIAL_RECV {
                TRIAL_RECV
            } else {
                TRIAL_ACCEPT
            };
            res[i as usize] = cqe.res;
            uring_cqe_seen(r);
            n += 1;
        }
    }
    if res[TRIAL_ACCEPT as usize] == -libc::EINVAL {
        uring_lacks(c"multishot accept", c"5.19");
    }
    if res[TRIAL_RECV as usize] == -libc::EINVAL {
        uring_lacks(c"multishot recv with a length limit", c"6.17");
    }
}

/// A new ring: `io_uring_setup(2)`, what the kernel can do checked (its
/// features, its operations), its two queues mmapped as one
/// (`IORING_FEAT_SINGLE_MMAP`, 5.4), the submission entries beside, the
/// submission array filled once (entry i is slot i), the buffer ring, and
/// a trial of what no probe tells. Exits on failure, or on a kernel that
/// lacks what the server uses.
pub fn uring_open(r: &mut Uring) {
    let mut p = IoUringParams::default();

    r.fd = uring_setup(&mut p);
    uring_features(&p);
    uring_probe(r);
    let sqlen = p.sq_off.array as usize + p.sq_entries as usize * size_of::<c_uint>();
    let cqlen = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<IoUringCqe>();
    let q = uring_map(r.fd, sqlen.max(cqlen), IORING_OFF_SQ_RING);
    r.sqes = uring_map(
        r.fd,
        p.sq_entries as usize * size_of::<IoUringSqe>(),
        IORING_OFF_SQES,
    )
    .cast::<IoUringSqe>();
    // SAFETY: the kernel's offsets are within the mapping of q, whose
    // length it gave; each field there is a u32 (array: sq_entries of them).
    unsafe {
        r.sq_head = q.add(p.sq_off.head as usize).cast::<u32>();
        r.sq_tail = q.add(p.sq_off.tail as usize).cast::<u32>();
        r.sq_mask = *q.add(p.sq_off.ring_mask as usize).cast::<u32>();
        let array = q.add(p.sq_off.array as usize).cast::<u32>();
        for i in 0..p.sq_entries {
            *array.add(i as usize) = i;
        }
        r.sq_local = *r.sq_tail;
        r.to_submit = 0;
        r.cq_head = q.add(p.cq_off.head as usize).cast::<u32>();
        r.cq_tail = q.add(p.cq_off.tail as usize).cast::<u32>();
        r.cq_mask = *q.add(p.cq_off.ring_mask as usize).cast::<u32>();
        r.cqes = q.add(p.cq_off.cqes as usize).cast::<IoUringCqe>();
    }
    uring_bufs(r);
    uring_trial(r);
}

/// The kernel's u32 at `p`, shared: an atomic view of it.
///
/// # Safety
///
/// `p` points into a ring's mapping, aligned, for as long as the ring lives.
unsafe fn shared<'a>(p: *mut u32) -> &'a AtomicU32 {
    // SAFETY: as the caller promises; the kernel reads and writes it atomically too.
    unsafe { AtomicU32::from_ptr(p) }
}

/// `io_uring_enter(2)`: hand the kernel the entries filled in since the
/// last call, and wait for at least one completion (`IORING_ENTER_GETEVENTS`;
/// with `IORING_SETUP_DEFER_TASKRUN`, completions are posted only here).
/// Returns its result: the entries submitted, or -1 with errno (EINTR: a
/// signal came first, and nothing was submitted).
pub fn uring_enter(r: &mut Uring) -> c_int {
    // SAFETY: sq_tail is the ring's, mapped by uring_open.
    unsafe { shared(r.sq_tail) }.store(r.sq_local, Ordering::Release);
    // SAFETY: io_uring_enter(2) with no argument struct (NULL, 0).
    let n = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            r.fd as c_long,
            r.to_submit as c_long,
            1 as c_long,
            IORING_ENTER_GETEVENTS as c_long,
            ptr::null::<c_void>(),
            0 as c_long,
        )
    } as c_int;
    if n > 0 {
        r.to_submit -= (n as u32).min(r.to_submit);
    }
    n
}

/// The kernel's head of the submission queue: the entries before it are consumed.
fn sq_head(r: &Uring) -> u32 {
    // SAFETY: sq_head is the ring's, mapped by uring_open.
    unsafe { shared(r.sq_head) }.load(Ordering::Acquire)
}

/// The next free submission entry, zeroed, its opcode, fd and user_data
/// set. When the queue is full, what it holds is submitted first, without
/// waiting (`io_uring_enter(2)` with no flag); exits if that fails.
pub fn uring_sqe(r: &mut Uring, opcode: u8, fd: c_int, user_data: u64) -> &mut IoUringSqe {
    while r.sq_local.wrapping_sub(sq_head(r)) > r.sq_mask {
        // SAFETY: as for sq_head.
        unsafe { shared(r.sq_tail) }.store(r.sq_local, Ordering::Release);
        // SAFETY: io_uring_enter(2) with no argument struct (NULL, 0).
        let n = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                r.fd as c_long,
                r.to_submit as c_long,
                0 as c_long,
                0 as c_long,
                ptr::null::<c_void>(),
                0 as c_long,
            )
        } as c_int;
        if n < 0 {
            let e = errno();
            if e != libc::EINTR && e != libc::EAGAIN && e != libc::EBUSY {
                perr_exit(c"io_uring_enter");
            }
        }
        if n > 0 {
            r.to_submit -= n as u32;
        }
    }
    // SAFETY: sqes has sq_mask + 1 entries, mapped by uring_open; the slot
    // at sq_local is ours, the kernel having consumed it (checked above).
    let sqe = unsafe { &mut *r.sqes.add((r.sq_local & r.sq_mask) as usize) };
    // SAFETY: an IoUringSqe is plain integers: all zeroes is a valid one.
    unsafe { ptr::write_bytes(ptr::from_mut(sqe), 0, 1) };
    sqe.opcode = opcode;
    sqe.fd = fd;
    sqe.user_data = user_data;
    r.sq_local = r.sq_local.wrapping_add(1);
    r.to_submit += 1;
    sqe
}

/// The oldest completion not yet seen, or None when there is none.
pub fn uring_cqe(r: &Uring) -> Option<&IoUringCqe> {
    // SAFETY: cq_head and cq_tail are the ring's, mapped by uring_open;
    // only we write the head.
    let head = unsafe { *r.cq_head };
    // SAFETY: as above.
    if head == unsafe { shared(r.cq_tail) }.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: cqes has cq_mask + 1 entries; the kernel has written this one
    // (the acquire load of the tail above sees it) and leaves it until the
    // head moves past it.
    Some(unsafe { &*r.cqes.add((head & r.cq_mask) as usize) })
}

/// The completion [`uring_cqe`] gave is done with: its slot goes back to
/// the kernel.
pub fn uring_cqe_seen(r: &mut Uring) {
    // SAFETY: cq_head is the ring's, mapped by uring_open.
    let head = unsafe { shared(r.cq_head) };
    head.store(
        head.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Release,
    );
}

/// Buffer `bid` of the buffer ring; `abort(3)`, with a message, when the
/// ring has no such buffer (the kernel named one it was never given).
pub fn uring_buf(r: &Uring, bid: u32) -> *mut u8 {
    if bid as usize >= URING_NBUFS {
        // SAFETY: a format whose one %u gets a c_uint; abort(3) does not return.
        unsafe {
            libc::fprintf(stderr, c"uring: no buffer %u\n".as_ptr(), bid);
            libc::abort();
        }
    }
    // SAFETY: bufs has URING_NBUFS buffers of URING_BUFSIZE bytes, and
    // bid < URING_NBUFS (checked above).
    unsafe { r.bufs.add(bid as usize * URING_BUFSIZE) }
}

/// Buffer `bid` back into the buffer ring, for the kernel to fill again.
pub fn uring_buf_put(r: &mut Uring, bid: u32) {
    // SAFETY: br has URING_NBUFS entries (a power of two), mapped by
    // uring_bufs; the kernel reads an entry only once the tail passes it.
    unsafe {
        let b = r.br.add(r.br_tail as usize & (URING_NBUFS - 1));
        (*b).addr = uring_buf(r, bid) as u64;
        (*b).len = URING_BUFSIZE as u32;
        (*b).bid = bid as u16;
        r.br_tail = r.br_tail.wrapping_add(1);
        AtomicU16::from_ptr(&raw mut (*r.br).resv).store(r.br_tail, Ordering::Release);
    }
}
