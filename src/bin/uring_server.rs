//! One thread, every operation queued in an io_uring ring (twin of
//! `uring_server.c`). One multishot accept takes every connection; one
//! multishot recv per connection fills buffers the kernel picks from a
//! ring; each reply is a send, and stdout's lines are writes to fd 1, so
//! that a round trip makes no system call of its own: one
//! `io_uring_enter(2)` carries every operation queued since the last and
//! collects what completed.
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg};
use concserv::echo::{ECHO_CLOSED, ECHO_LINEMAX, echo_reply};
use concserv::fdutil::array_fit;
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::outbuf::{OutBuf, out_add, out_alloc, out_open, out_pending, out_sent, out_waiting};
use concserv::uring::{
    IORING_ACCEPT_MULTISHOT, IORING_CQE_BUFFER_SHIFT, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE,
    IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL, IORING_OP_CLOSE, IORING_OP_POLL_ADD, IORING_OP_RECV,
    IORING_OP_SEND, IORING_OP_TIMEOUT, IORING_OP_WRITE, IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT,
    IOSQE_CQE_SKIP_SUCCESS, URING_BGID, URING_BUFSIZE, Uring, UringTimespec, uring_buf,
    uring_buf_put, uring_cqe, uring_cqe_seen, uring_enter, uring_open, uring_sqe,
};
use concserv::wrap::{
    ACCEPT_BACKOFF_USEC, Close, accept_transient, errno, perr_exit, perror, sockaddr_in_zero,
};

use core::ffi::{CStr, c_char, c_int, c_void};
use core::ptr;
use core::slice;
use libc::{sockaddr, sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), one thread queueing every operation in an io_uring ring";

/// What an operation was queued for, in the top byte of its user_data.
const OP_ACCEPT: u64 = 1;
const OP_RECV: u64 = 2;
const OP_SEND: u64 = 3;
const OP_WRITE: u64 = 4;
const OP_CLOSE: u64 = 5;
const OP_CANCEL: u64 = 6;
const OP_TIMEOUT: u64 = 7;
const OP_POLL: u64 = 8;

/// The most a connection holds: what one arming of its recv brings (less
/// than `URING_BUFSIZE` bytes, and one more receive), not yet sent back.
const OUTMAX: usize = 2 * URING_BUFSIZE;

/// One client. Its slot is indexed by descriptor; `serial` tells its
/// completions from those of an earlier client of the same descriptor.
struct UConn {
    /// -1: a free slot.
    fd: c_int,
    serial: u32,
    cliaddr: sockaddr_in,
    /// Its multishot recv is armed.
    recv: bool,
    /// Its recv ended for want of a buffer.
    starved: bool,
    /// The client is done: closed once the held replies are sent.
    eof: bool,
    /// A send of `out[sent..]` is in flight.
    sending: bool,
    /// `OUTMAX` bytes while a reply waits, else null.
    out: *mut u8,
    /// `out[..outlen]` was received.
    outlen: u32,
    /// `out[..sent]` has been sent back.
    sent: u32,
}

/// A free slot: every slot of the table starts as one (C: `uconn_free`).
const UCONN_FREE: UConn = UConn {
    fd: -1,
    serial: 0,
    cliaddr: sockaddr_in_zero(),
    recv: false,
    starved: false,
    eof: false,
    sending: false,
    out: ptr::null_mut(),
    outlen: 0,
    sent: 0,
};

struct Server {
    ring: Uring,
    listenfd: c_int,
    /// `c[0..n)`, indexed by descriptor.
    c: *mut UConn,
    n: c_int,
    serial: u32,
    /// Connections whose recv waits for a buffer.
    starved: c_int,
    /// Buffers went back to the ring since the last pass.
    returned: c_int,
    /// stdout's lines, which the ring writes.
    out: OutBuf,
    /// A write of them (or a poll for room) is in flight.
    writing: bool,
}

fn tag(op: u64, serial: u32, fd: c_int) -> u64 {
    op << 56 | ((serial & 0xffffff) as u64) << 32 | fd as u32 as u64
}

/// `IORING_OP_ACCEPT`, multishot (5.19): one entry for every connection to come.
fn queue_accept(s: &mut Server) {
    let sqe = uring_sqe(
        &mut s.ring,
        IORING_OP_ACCEPT,
        s.listenfd,
        tag(OP_ACCEPT, 0, 0),
    );
    sqe.ioprio = IORING_ACCEPT_MULTISHOT;
}

/// `IORING_OP_RECV`, multishot (6.0), into buffers of the ring, and ending
/// once `URING_BUFSIZE` bytes have come (optlen, 6.17): re-armed only when
/// they have all been sent back, it bounds what a client that never reads
/// makes the server hold.
fn queue_recv(s: &mut Server, c: &mut UConn) {
    let sqe = uring_sqe(
        &mut s.ring,
        IORING_OP_RECV,
        c.fd,
        tag(OP_RECV, c.serial, c.fd),
    );
    sqe.ioprio = IORING_RECV_MULTISHOT;
    sqe.flags = IOSQE_BUFFER_SELECT;
    sqe.buf_group = URING_BGID;
    sqe.optlen = URING_BUFSIZE as u32;
    c.recv = true;
    c.starved = false;
}

/// `IORING_OP_SEND` of what c holds and has not sent yet.
fn queue_send(s: &mut Server, c: &mut UConn) {
    let sqe = uring_sqe(
        &mut s.ring,
        IORING_OP_SEND,
        c.fd,
        tag(OP_SEND, c.serial, c.fd),
    );
    sqe.addr = c.out.wrapping_add(c.sent as usize) as u64;
    sqe.len = c.outlen - c.sent;
    c.sending = true;
}

/// `IORING_OP_WRITE` to stdout of the lines that wait, at the current offset.
fn queue_write(s: &mut Server) {
    let sqe = uring_sqe(&mut s.ring, IORING_OP_WRITE, s.out.fd, tag(OP_WRITE, 0, 0));
    let w = out_waiting(&s.out);
    sqe.addr = w.as_ptr() as u64;
    sqe.len = w.len() as u32;
    sqe.off = u64::MAX;
    s.writing = true;
}

/// `IORING_OP_POLL_ADD`: a completion once stdout takes more (its write
/// failed with EAGAIN).
fn queue_poll(s: &mut Server) {
    let sqe = uring_sqe(
        &mut s.ring,
        IORING_OP_POLL_ADD,
        s.out.fd,
        tag(OP_POLL, 0, 0),
    );
    sqe.op_flags = libc::POLLOUT as u32;
    s.writing = true;
}

/// `IORING_OP_TIMEOUT`: a completion in 100 ms, after which accepting starts again.
fn queue_pause(s: &mut Server) {
    static TS: UringTimespec = UringTimespec {
        tv_sec: 0,
        tv_nsec: ACCEPT_BACKOFF_USEC as i64 * 1000,
    };
    let sqe = uring_sqe(&mut s.ring, IORING_OP_TIMEOUT, -1, tag(OP_TIMEOUT, 0, 0));
    sqe.addr = ptr::from_ref(&TS) as u64;
    sqe.len = 1;
}

/// With no write in flight, the lines that wait go out.
fn out_kick(s: &mut Server) {
    if !s.writing && out_pending(&s.out) {
        queue_write(s);
    }
}

/// A message for stderr: `what: strerror(e)`.
fn report(what: &CStr, e: c_int) {
    // SAFETY: a format whose two %s get C strings: what, and strerror(3)'s.
    unsafe {
        libc::fprintf(
            stderr,
            c"%s: %s\n".as_ptr(),
            what.as_ptr(),
            libc::strerror(e),
        )
    };
}

/// A write of stdout's lines completed: what went leaves the buffer
/// ([`out_sent`]); the rest goes with the next [`out_kick`]. No room
/// (EAGAIN): a poll waits for some. An error (the reader gone) loses what
/// waited.
fn out_done(s: &mut Server, mut res: c_int) {
    s.writing = false;
    if res == -libc::EINTR {
        return;
    }
    if res == -libc::EAGAIN {
        queue_poll(s);
        return;
    }
    if res < 0 {
        report(c"write", -res);
        res = out_waiting(&s.out).len() as c_int;
    }
    out_sent(&mut s.out, res as usize);
}

/// The slot of a new connection `connfd`, grown to hold it: its address
/// from `getpeername(2)` (multishot accept gives descriptors only), and its
/// recv armed. Closed, with a message, when that fails.
fn conn_new(s: &mut Server, connfd: c_int) {
    let mut len = size_of::<sockaddr_in>() as socklen_t;

    // SAFETY: s.c is null (n 0) or malloc(3)'s n slots; on success the old
    // pointer is replaced below and not used again.
    let t = unsafe { array_fit(s.c, &mut s.n, connfd, &UCONN_FREE) };
    if t.is_null() {
        // SAFETY: a format whose one %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"uring: no memory for fd %d, connection closed\n".as_ptr(),
                connfd,
            )
        };
        Close(connfd);
        return;
    }
    s.c = t;
    // SAFETY: connfd < n: its slot exists, and nothing else refers to it now.
    let c = unsafe { &mut *s.c.add(connfd as usize) };
    // SAFETY: cliaddr is writable for len bytes, its size.
    if unsafe { libc::getpeername(connfd, (&raw mut c.cliaddr).cast::<sockaddr>(), &mut len) } < 0 {
        perror!(c"getpeername");
        Close(connfd);
        return;
    }
    c.fd = connfd;
    s.serial = s.serial.wrapping_add(1);
    c.serial = s.serial;
    c.eof = false;
    c.sending = false;
    c.out = ptr::null_mut();
    c.outlen = 0;
    c.sent = 0;
    queue_recv(s, c);
}

/// Buffer `bid` back into the ring, and counted: the starved recvs may go on.
fn give_back(s: &mut Server, bid: u32) {
    uring_buf_put(&mut s.ring, bid);
    s.returned += 1;
}

/// The connection is over: its recv cancelled if still armed
/// (`IORING_OP_ASYNC_CANCEL`, whose completion, like the close's, is
/// skipped on success), its descriptor closed (`IORING_OP_CLOSE`) and what
/// it held freed. Its slot is free at once: what completes later for it
/// carries the old serial. No send of it is in flight.
fn conn_end(s: &mut Server, c: &mut UConn) {
    if c.recv {
        let sqe = uring_sqe(
            &mut s.ring,
            IORING_OP_ASYNC_CANCEL,
            -1,
            tag(OP_CANCEL, c.serial, c.fd),
        );
        sqe.addr = tag(OP_RECV, c.serial, c.fd);
        sqe.flags = IOSQE_CQE_SKIP_SUCCESS;
    }
    let sqe = uring_sqe(
        &mut s.ring,
        IORING_OP_CLOSE,
        c.fd,
        tag(OP_CLOSE, c.serial, c.fd),
    );
    sqe.flags = IOSQE_CQE_SKIP_SUCCESS;
    // SAFETY: out is null or malloc(3)'s, and no send uses it (none is in flight).
    unsafe { libc::free(c.out.cast::<c_void>()) };
    c.out = ptr::null_mut();
    if c.starved {
        s.starved -= 1;
    }
    c.fd = -1;
}

/// Nothing in flight for c: send what it holds; with nothing left,
/// close if the client is done, or arm the recv again if it ended.
fn conn_next(s: &mut Server, c: &mut UConn) {
    if c.sending {
        return;
    }
    if c.sent < c.outlen {
        queue_send(s, c);
        return;
    }
    if c.eof {
        conn_end(s, c);
        return;
    }
    if !c.recv && !c.starved {
        queue_recv(s, c);
    }
}

/// `n` bytes came in buffer `bid`: the business logic on them
/// (`echo_reply`), printed, and copied to what c holds to send back, so
/// that the buffer goes back to the ring at once: a client that never reads
/// holds memory of its own (at most `OUTMAX` bytes), never the ring's
/// buffers, which every connection shares.
fn conn_data(s: &mut Server, c: &mut UConn, bid: u32, n: usize) {
    let mut line = [0 as c_char; ECHO_LINEMAX];
    let buf = uring_buf(&s.ring, bid);

    // SAFETY: the kernel filled n bytes of buffer bid, which is ours until
    // it goes back to the ring (give_back, below).
    let data = unsafe { slice::from_raw_parts_mut(buf, n) };
    let len = echo_reply(&mut line, &c.cliaddr, data);
    // SAFETY: echo_reply wrote len bytes of line.
    out_add(&mut s.out, unsafe {
        slice::from_raw_parts(line.as_ptr().cast::<u8>(), len)
    });
    out_add(&mut s.out, data);
    if c.out.is_null() && {
        // SAFETY: malloc(3) takes no pointers.
        c.out = unsafe { libc::malloc(OUTMAX) }.cast::<u8>();
        c.out.is_null()
    } {
        perror!(c"malloc");
        c.eof = true;
    } else if c.outlen as usize + n > OUTMAX {
        // SAFETY: a format whose %d gets a c_int and %u a c_uint.
        unsafe {
            libc::fprintf(
                stderr,
                c"uring: fd %d holds %u bytes, connection closed\n".as_ptr(),
                c.fd,
                c.outlen,
            )
        };
        c.eof = true;
    } else {
        // SAFETY: out has OUTMAX bytes, outlen used and room for n more
        // (checked above); buf is the ring's, apart from it.
        unsafe { ptr::copy_nonoverlapping(buf, c.out.add(c.outlen as usize), n) };
        c.outlen += n as u32;
    }
    give_back(s, bid);
}

/// A completion of c's recv: data, the end of the stream, or an error.
/// Without `IORING_CQE_F_MORE` the recv has ended: for want of a buffer
/// (ENOBUFS: armed again once one comes back, or, if c holds replies,
/// once they have gone), at its byte limit (armed again once the replies have
/// gone), or for good.
fn recv_done(s: &mut Server, c: &mut UConn, res: c_int, flags: u32) {
    if flags & IORING_CQE_F_MORE == 0 {
        c.recv = false;
    }
    if res > 0 {
        conn_data(s, c, flags >> IORING_CQE_BUFFER_SHIFT, res as usize);
    } else if res == 0 {
        out_add(&mut s.out, ECHO_CLOSED.to_bytes());
        c.eof = true;
    } else if res == -libc::ENOBUFS && c.outlen == 0 {
        c.starved = true;
        s.starved += 1;
    } else if res != -libc::ENOBUFS && res != -libc::EINTR && res != -libc::EAGAIN {
        report(c"recv", -res);
        c.eof = true;
    }
    conn_next(s, c);
}

/// A completion of c's send: the rest of a partial send, or what came meanwhile.
fn send_done(s: &mut Server, c: &mut UConn, res: c_int) {
    c.sending = false;
    if res < 0 && res != -libc::EINTR && res != -libc::EAGAIN {
        report(c"send", -res);
        conn_end(s, c);
        return;
    }
    if res > 0 {
        c.sent += res as u32;
    }
    if c.sent == c.outlen {
        // SAFETY: out is malloc(3)'s (or null) and the send that used it has completed.
        unsafe { libc::free(c.out.cast::<c_void>()) };
        c.out = ptr::null_mut();
        c.outlen = 0;
        c.sent = 0;
    }
    conn_next(s, c);
}

/// A completion of the multishot accept: a new connection, or an error,
/// which ends it. Out of descriptors or memory: a message, and accepting
/// starts again in 100 ms (`queue_pause`), so that the loop does not spin.
fn accept_done(s: &mut Server, res: c_int, flags: u32) {
    if res >= 0 {
        conn_new(s, res);
    } else if res == -libc::EMFILE
        || res == -libc::ENFILE
        || res == -libc::ENOBUFS
        || res == -libc::ENOMEM
    {
        report(c"accept", -res);
        if flags & IORING_CQE_F_MORE == 0 {
            queue_pause(s);
            return;
        }
    } else if !accept_transient(-res) && res != -libc::EINTR && res != -libc::EAGAIN {
        report(c"accept", -res);
    }
    if flags & IORING_CQE_F_MORE == 0 {
        queue_accept(s);
    }
}

/// A completion, to the handler of the operation that queued it; a stale
/// one only gives back its buffer.
fn complete(s: &mut Server, user_data: u64, res: c_int, flags: u32) {
    let op = user_data >> 56;
    let fd = user_data as u32 as c_int;
    let serial = (user_data >> 32) as u32 & 0xffffff;

    if op == OP_ACCEPT {
        accept_done(s, res, flags);
    } else if op == OP_WRITE {
        out_done(s, res);
    } else if op == OP_TIMEOUT {
        queue_accept(s);
    } else if op == OP_POLL {
        queue_write(s);
    } else if op == OP_CLOSE {
        report(c"close", -res);
    } else if op == OP_CANCEL {
        // A cancel fails only when the recv had ended: nothing to do.
    } else {
        // SAFETY: 0 <= fd < n: its slot exists. Nothing else refers to it,
        // and nothing the handlers below call grows the table (only
        // conn_new does, for an accept), so the reference stays valid.
        let c = (fd >= 0 && fd < s.n).then(|| unsafe { &mut *s.c.add(fd as usize) });
        match c {
            Some(c) if c.fd == fd && c.serial & 0xffffff == serial => {
                if op == OP_RECV {
                    recv_done(s, c, res, flags);
                } else {
                    send_done(s, c, res);
                }
            }
            _ => {
                if flags & IORING_CQE_F_BUFFER != 0 {
                    give_back(s, flags >> IORING_CQE_BUFFER_SHIFT);
                }
            }
        }
    }
}

/// Buffers came back: the recvs that ended for want of one are armed again.
fn rearm_starved(s: &mut Server) {
    let mut fd = 0;
    while s.returned > 0 && fd < s.n && s.starved > 0 {
        // SAFETY: fd < n: its slot exists, and nothing else refers to it now.
        let c = unsafe { &mut *s.c.add(fd as usize) };
        if c.fd >= 0 && c.starved {
            s.starved -= 1;
            queue_recv(s, c);
        }
        fd += 1;
    }
    s.returned = 0;
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let port = unsafe {
        check_args(argc, argv, 1, USAGE);
        port_arg(argc, argv, 1, USAGE)
    };
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut s = Server {
        ring: Uring::new(),
        listenfd,
        c: ptr::null_mut(),
        n: 0,
        serial: 0,
        starved: 0,
        returned: 0,
        out: OutBuf::new(),
        writing: false,
    };
    uring_open(&mut s.ring);
    out_open(&mut s.out);
    out_alloc(&mut s.out);
    s.writing = false;
    queue_accept(&mut s);

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        out_kick(&mut s);
        rearm_starved(&mut s);
        if uring_enter(&mut s.ring) < 0 {
            let e = errno();
            if e != libc::EINTR && e != libc::EAGAIN && e != libc::EBUSY {
                perr_exit(c"io_uring_enter");
            }
        }
        while let Some(cqe) = uring_cqe(&s.ring) {
            let (user_data, res, flags) = (cqe.user_data, cqe.res, cqe.flags);
            complete(&mut s, user_data, res, flags);
            uring_cqe_seen(&mut s.ring);
        }
    }
}
