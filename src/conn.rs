//! One connection of the event loops, non-blocking, served a step at a
//! time, and the table of them that grows with the descriptors in use
//! (twin of `conn.c`). Used by `epoll_loop`, and by the select and poll
//! servers and the pool server's workers.

use crate::echo::{ECHO_CLOSED, ECHO_LINEMAX, echo_reply};
use crate::fdutil::array_fit;
use crate::outbuf::{OutBuf, out_put};
use crate::wrap::{MAXLINE, ReadUninit, Write, errno, perror, sockaddr_in_zero};
use core::ffi::{c_char, c_int, c_void};
use core::mem::MaybeUninit;
use core::ptr;
use core::slice;
use libc::sockaddr_in;

/// One client, served a read at a time. A reply the socket does not take at
/// once waits in `out`, at most [`MAXLINE`] bytes, allocated only while it
/// waits; while it waits, the descriptor is watched for writing and not
/// read, so that a client that never reads holds no more than that
/// (C: `struct conn`, laid out alike: the table grows by the same sizes).
#[repr(C)]
pub struct Conn {
    /// -1: a free slot.
    pub fd: c_int,
    pub cliaddr: sockaddr_in,
    /// The unsent reply, null when none.
    out: *mut u8,
    /// `out[outpos..outlen]` is still to send.
    outpos: usize,
    outlen: usize,
}

/// A free slot: every slot of a table starts as one ([`conn_fit`]), and
/// is one again once closed ([`conn_close`]) (C: `conn_free`).
const CONN_FREE: Conn = Conn {
    fd: -1,
    cliaddr: sockaddr_in_zero(),
    out: ptr::null_mut(),
    outpos: 0,
    outlen: 0,
};

/// What a connection's descriptor is to be watched for next (C: `enum conn_want`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConnWant {
    /// Readable: nothing waits to be sent.
    Read,
    /// Writable: a reply waits in `out`.
    Write,
    /// Nothing: the connection is over.
    Close,
}

/// Connection slots, grown ([`conn_fit`]) as slots are needed (C: `struct conn_table`).
pub struct ConnTable {
    /// `n` slots from `malloc(3)`, or null when `n` is 0.
    c: *mut Conn,
    n: c_int,
}

impl ConnTable {
    /// No table yet: the value a table is declared with, in a static or a
    /// local, where C declares one without a value. [`conn_table_init`],
    /// the one initialiser, makes it a table before its first use.
    pub const NONE: ConnTable = ConnTable {
        c: ptr::null_mut(),
        n: 0,
    };

    /// Its slots.
    pub fn slots(&mut self) -> &mut [Conn] {
        if self.c.is_null() {
            return &mut [];
        }
        // SAFETY: c points to n initialised slots, owned by the table.
        unsafe { slice::from_raw_parts_mut(self.c, self.n as usize) }
    }
}

/// An empty table: no slot until one is needed.
pub fn conn_table_init(t: &mut ConnTable) {
    t.c = ptr::null_mut();
    t.n = 0;
}

/// Makes slot `i` of `t` exist ([`array_fit`]: the table doubles), every
/// new slot free. Returns 0, or -1 when out of memory (the table unchanged).
pub fn conn_fit(t: &mut ConnTable, i: c_int) -> c_int {
    // SAFETY: t.c is null (n 0) or malloc(3)'s n slots; on success the old
    // pointer is replaced below and not used again.
    let c = unsafe { array_fit(t.c, &mut t.n, i, &CONN_FREE) };
    if c.is_null() {
        return -1;
    }
    t.c = c;
    0
}

/// A free slot takes the connection `connfd`, from `cliaddr`, with nothing to send.
pub fn conn_open(c: &mut Conn, connfd: c_int, cliaddr: &sockaddr_in) {
    c.fd = connfd;
    c.cliaddr = *cliaddr;
}

/// What `c`'s descriptor is watched for now: writing while a reply waits, else reading.
pub fn conn_wants(c: &Conn) -> ConnWant {
    if !c.out.is_null() {
        ConnWant::Write
    } else {
        ConnWant::Read
    }
}

/// Sends `buf` to the client: what the socket takes now, the rest kept in a
/// buffer of its own until the socket is writable again.
fn conn_send(c: &mut Conn, buf: &[u8]) -> ConnWant {
    let n = buf.len();
    let mut nw = Write(c.fd, buf);

    if nw < 0 {
        if errno() != libc::EAGAIN {
            return ConnWant::Close;
        }
        nw = 0;
    }
    let nw = nw as usize;
    if nw == n {
        return ConnWant::Read;
    }
    // SAFETY: malloc(3) takes no pointers.
    c.out = unsafe { libc::malloc(n - nw) }.cast::<u8>();
    if c.out.is_null() {
        perror!(c"malloc");
        return ConnWant::Close;
    }
    // SAFETY: out has room for the n - nw bytes of buf after nw, and is
    // fresh memory, apart from buf.
    unsafe { ptr::copy_nonoverlapping(buf.as_ptr().add(nw), c.out, n - nw) };
    c.outpos = 0;
    c.outlen = n - nw;
    ConnWant::Write
}

/// One read from the client, and the business logic on it ([`echo_reply`]):
/// its report line and the upper-cased bytes to the loop's stdout `o`, the
/// bytes back to the client. End of file and errors end the connection;
/// nothing to read yet (EAGAIN) is no error.
fn conn_read(c: &mut Conn, o: &mut OutBuf) -> ConnWant {
    // Left uninitialised, as in C and echo.rs.
    let mut buf = [MaybeUninit::<u8>::uninit(); MAXLINE];
    let mut line = [0 as c_char; ECHO_LINEMAX];

    let n = ReadUninit(c.fd, &mut buf);
    if n == 0 {
        out_put(o, ECHO_CLOSED.to_bytes());
        return ConnWant::Close;
    }
    if n < 0 {
        if errno() == libc::EAGAIN {
            return ConnWant::Read;
        }
        return ConnWant::Close;
    }
    // SAFETY: read(2) initialised the first n bytes.
    let buf = unsafe { slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n as usize) };
    let len = echo_reply(&mut line, &c.cliaddr, buf);
    // SAFETY: echo_reply wrote len bytes of line; c_char and u8 have one layout.
    out_put(o, unsafe {
        slice::from_raw_parts(line.as_ptr().cast::<u8>(), len)
    });
    out_put(o, buf);
    conn_send(c, buf)
}

/// Sends what waits in `c`'s buffer; the buffer goes once it is all sent.
fn conn_flush(c: &mut Conn) -> ConnWant {
    // SAFETY: out holds outlen bytes, of which outpos are sent.
    let rest = unsafe { slice::from_raw_parts(c.out.add(c.outpos), c.outlen - c.outpos) };
    let nw = Write(c.fd, rest);
    if nw < 0 {
        if errno() == libc::EAGAIN {
            return ConnWant::Write;
        }
        return ConnWant::Close;
    }
    c.outpos += nw as usize;
    if c.outpos < c.outlen {
        return ConnWant::Write;
    }
    // SAFETY: out came from malloc(3) and nothing points into it any more.
    unsafe { libc::free(c.out.cast::<c_void>()) };
    c.out = ptr::null_mut();
    ConnWant::Read
}

/// `c`'s descriptor is ready for what it was watched for (or has an error
/// or a hang-up to report, which the call then returns): flushes the
/// waiting reply, or reads, printing to `o`. Returns what to watch it for
/// next, or [`ConnWant::Close`]: the caller takes it out of its set and
/// calls [`conn_close`].
pub fn conn_ready(c: &mut Conn, o: &mut OutBuf) -> ConnWant {
    if !c.out.is_null() {
        conn_flush(c)
    } else {
        conn_read(c, o)
    }
}

/// `close(2)` the connection and free its slot. A failure (EBADF: the
/// descriptor was not open) is reported, and the slot freed all the same.
pub fn conn_close(c: &mut Conn) {
    // SAFETY: close(2) takes no pointers; the slot owns c.fd.
    if unsafe { libc::close(c.fd) } < 0 {
        perror!(c"close");
    }
    // SAFETY: out is null or came from malloc(3), and is not used again.
    unsafe { libc::free(c.out.cast::<c_void>()) };
    *c = CONN_FREE;
}
