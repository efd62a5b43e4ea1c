//! The event loops' stdout, which never blocks them (twin of `outbuf.c`).
//! What the loop prints goes out at once when stdout takes it; what stdout
//! does not take waits in a bounded buffer while the loop watches stdout
//! for writing. While the buffer is full, lines are dropped and counted;
//! once it has drained, a line says how many. Used by `conn` and
//! `epoll_loop`, and by the select, poll and epoll servers and each of the
//! pool server's workers, one each; and by the io_uring server, whose ring
//! writes what waits ([`out_add`], [`out_sent`]).

use crate::ffi::stderr;
use crate::wrap::{Close, Write, errno, perr_exit, perror};
use core::ffi::{c_char, c_int, c_ulong, c_void};
use core::mem::MaybeUninit;
use core::ptr;
use core::slice;
use libc::ssize_t;

/// What may wait to be printed; a line larger than this is never passed.
pub const OUTBUF_SIZE: usize = 65536;

/// Room for the line that says how many lines were dropped.
pub const OUT_LINEMAX: usize = 64;

/// How the lines are written (C: `enum out_mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OutMode {
    /// To stdout itself, blocking: a regular file, or no way round it.
    Block,
    /// To a non-blocking open file description of stdout, the loop's own.
    Nb,
    /// Stdout is a socket: `send(2)` with MSG_DONTWAIT.
    Send,
}

/// A loop's stdout (C: `struct outbuf`).
pub struct OutBuf {
    /// Where the lines go.
    pub fd: c_int,
    pub mode: OutMode,
    /// The loop watches `fd` for writing (epoll: it is in the set).
    pub watched: bool,
    /// [`OUTBUF_SIZE`] bytes while something waits, else null.
    buf: *mut u8,
    /// `buf[..len]` waits.
    len: usize,
    /// Lines not printed since the buffer was full.
    dropped: c_ulong,
}

impl OutBuf {
    /// Plain stdout, for statics (C: `out_init`).
    pub const fn new() -> OutBuf {
        OutBuf {
            fd: libc::STDOUT_FILENO,
            mode: OutMode::Block,
            watched: false,
            buf: ptr::null_mut(),
            len: 0,
            dropped: 0,
        }
    }
}

impl Default for OutBuf {
    fn default() -> OutBuf {
        OutBuf::new()
    }
}

/// Plain stdout, blocking, nothing waiting: for a loop that prints nothing.
pub fn out_init(o: &mut OutBuf) {
    o.fd = libc::STDOUT_FILENO;
    o.mode = OutMode::Block;
    o.watched = false;
    o.buf = ptr::null_mut();
    o.len = 0;
    o.dropped = 0;
}

/// `fstat(2)` of stdout, then what to write the loop's lines to. A regular
/// file (or a block device) has no reader to wait for: stdout itself. A
/// socket: stdout itself, each `send(2)` with MSG_DONTWAIT, which leaves
/// the socket's flags alone. Anything else (a pipe, a terminal): `open(2)`
/// of /proc/self/fd/1, a new open file description of the same pipe or
/// terminal, O_NONBLOCK on it alone; the one the shell shares keeps its
/// flags. When that cannot be opened, stdout itself, blocking, and a
/// message says so.
pub fn out_open(o: &mut OutBuf) {
    let mut st = MaybeUninit::<libc::stat>::uninit();

    out_init(o);
    // SAFETY: st is a struct stat that fstat(2) may write.
    if unsafe { libc::fstat(libc::STDOUT_FILENO, st.as_mut_ptr()) } < 0 {
        return;
    }
    // SAFETY: fstat(2) succeeded, so it filled st.
    let kind = unsafe { st.assume_init_ref() }.st_mode & libc::S_IFMT;
    if kind == libc::S_IFREG || kind == libc::S_IFBLK {
        return;
    }
    if kind == libc::S_IFSOCK {
        o.mode = OutMode::Send;
        return;
    }
    // SAFETY: a NUL-terminated path.
    o.fd = unsafe {
        libc::open(
            c"/proc/self/fd/1".as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
    };
    if o.fd < 0 {
        // SAFETY: a format whose one %s gets strerror(3)'s C string.
        unsafe {
            libc::fprintf(
                stderr,
                c"stdout: /proc/self/fd/1: %s: printing blocks, and a stdout nobody reads stalls the server\n".as_ptr(),
                libc::strerror(errno()),
            )
        };
        o.fd = libc::STDOUT_FILENO;
        return;
    }
    o.mode = OutMode::Nb;
}

/// Undoes [`out_open`]: closes the description of stdout it opened, if any.
pub fn out_close(o: &mut OutBuf) {
    if o.mode == OutMode::Nb {
        Close(o.fd);
    }
    // SAFETY: buf is null or malloc(3)'s, and is not used again.
    unsafe { libc::free(o.buf.cast::<c_void>()) };
    o.buf = ptr::null_mut();
    o.len = 0;
}

/// [`Write`], or `send(2)` with MSG_DONTWAIT to a socket, retried after
/// EINTR: -1 with a message on failure, but none on EAGAIN (stdout is full).
fn out_write(o: &OutBuf, p: &[u8]) -> ssize_t {
    if o.mode != OutMode::Send {
        return Write(o.fd, p);
    }
    loop {
        // SAFETY: p is readable for p.len() bytes.
        let r = unsafe {
            libc::send(
                o.fd,
                p.as_ptr().cast::<c_void>(),
                p.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        if r < 0 && errno() != libc::EAGAIN {
            perror!(c"send");
        }
        return r;
    }
}

/// `write(2)` (`send(2)` to a socket) of `p` (at most [`OUTBUF_SIZE`]
/// bytes), one line of the loop's: at once if nothing waits, as much as
/// stdout takes; the rest waits in the buffer. No room for it there: it is
/// dropped and counted, and so is every line after it until the buffer has
/// drained. Blocking stdout: `Write`.
pub fn out_put(o: &mut OutBuf, p: &[u8]) {
    let n = p.len();
    let mut nw: usize = 0;

    if o.mode == OutMode::Block {
        Write(o.fd, p);
        return;
    }
    if o.dropped > 0 {
        o.dropped += 1;
        return;
    }
    if o.buf.is_null() {
        let r = out_write(o, p);
        if r < 0 {
            if errno() != libc::EAGAIN {
                return;
            }
        } else {
            nw = r as usize;
        }
        if nw == n {
            return;
        }
    }
    out_add(o, &p[nw..]);
}

/// `malloc(3)` of the buffer before the first line; exits on failure.
pub fn out_alloc(o: &mut OutBuf) {
    if o.buf.is_null() {
        // SAFETY: malloc(3) takes no pointers.
        o.buf = unsafe { libc::malloc(OUTBUF_SIZE) }.cast::<u8>();
        if o.buf.is_null() {
            perr_exit(c"malloc");
        }
    }
}

/// `p` waits in the buffer, behind what waits already. No room for it:
/// it is dropped and counted, and so is every line after it until the
/// buffer has drained.
pub fn out_add(o: &mut OutBuf, p: &[u8]) {
    let n = p.len();

    if o.dropped > 0 {
        o.dropped += 1;
        return;
    }
    if n > OUTBUF_SIZE - o.len {
        o.dropped = 1;
        return;
    }
    if o.buf.is_null() {
        // SAFETY: malloc(3) takes no pointers.
        o.buf = unsafe { libc::malloc(OUTBUF_SIZE) }.cast::<u8>();
        if o.buf.is_null() {
            perror!(c"malloc");
            return;
        }
    }
    // SAFETY: buf has OUTBUF_SIZE bytes, of which len are used, and room
    // for the n after them (checked above); p is apart from it.
    unsafe { ptr::copy_nonoverlapping(p.as_ptr(), o.buf.add(o.len), n) };
    o.len += n;
}

/// Whether lines wait: the loop is to watch `o.fd` for writing.
pub fn out_pending(o: &OutBuf) -> bool {
    o.len > 0
}

/// What waits, for a write the caller makes (C: `o->buf`, `o->len`).
pub fn out_waiting(o: &OutBuf) -> &[u8] {
    if o.buf.is_null() {
        return &[];
    }
    // SAFETY: buf holds len bytes that wait.
    unsafe { slice::from_raw_parts(o.buf, o.len) }
}

/// The first `nw` bytes of what waits have gone (at most all of it): the
/// rest moves up. Once it has all gone, if lines were dropped, a line that
/// says how many waits in their place.
pub fn out_sent(o: &mut OutBuf, nw: usize) {
    let mut line = [0 as c_char; OUT_LINEMAX];

    let nw = nw.min(o.len);
    if nw > 0 {
        // SAFETY: buf holds len bytes (len > 0: it is not null), of which
        // nw have gone: the rest moves to its start (the ranges may overlap).
        unsafe { ptr::copy(o.buf.add(nw), o.buf, o.len - nw) };
    }
    o.len -= nw;
    if o.len > 0 || o.dropped == 0 {
        return;
    }
    // SAFETY: line has the room given; the format's one %lu gets a c_ulong.
    let len = unsafe {
        libc::snprintf(
            line.as_mut_ptr(),
            line.len(),
            c"[%lu lines not printed: stdout was full]\n".as_ptr(),
            o.dropped,
        )
    };
    o.dropped = 0;
    // SAFETY: snprintf(3) wrote len bytes (and a NUL) into line.
    let line = unsafe { slice::from_raw_parts(line.as_ptr().cast::<u8>(), len as usize) };
    out_add(o, line);
}

/// `write(2)` (`send(2)` to a socket) of what waits, stdout being writable
/// (or having an error to report), and [`out_sent`] of what went. Once it
/// has all gone, the buffer is freed. An error (the reader gone) loses
/// what waited.
pub fn out_flush(o: &mut OutBuf) {
    if o.buf.is_null() {
        return;
    }
    // SAFETY: buf holds len bytes that wait.
    let waiting = unsafe { slice::from_raw_parts(o.buf, o.len) };
    let r = out_write(o, waiting);
    let nw = if r < 0 {
        if errno() == libc::EAGAIN {
            return;
        }
        o.len
    } else {
        r as usize
    };
    out_sent(o, nw);
    if o.len > 0 {
        return;
    }
    // SAFETY: buf came from malloc(3) and nothing points into it any more.
    unsafe { libc::free(o.buf.cast::<c_void>()) };
    o.buf = ptr::null_mut();
}
