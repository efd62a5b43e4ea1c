//! One connection of the single-threaded servers, non-blocking, and one pass
//! of an epoll loop over a table of them (twin of `conn.c`).

use crate::ffi::{__ctype_toupper_loc, INET_ADDRSTRLEN, inet_ntop, stderr};
use crate::wrap::{ACCEPT_BACKOFF_USEC, Close, MAXLINE, Write, accept_transient, errno, perr_exit};
use core::ffi::{c_char, c_int, c_void};
use core::mem::{MaybeUninit, size_of};
use core::ptr;
use core::slice;
use libc::{epoll_event, in_addr, sockaddr, sockaddr_in, socklen_t, ssize_t};

/// Connections accepted at most per wake-up, so that a burst of connects
/// cannot keep the loop from the clients already connected.
pub const MAXACCEPT: usize = 16;

/// Events taken at most per `epoll_wait`.
pub const MAXEVENTS: usize = 64;

/// One client, served a read at a time. A reply the socket does not take at
/// once waits in `out`, at most [`MAXLINE`] bytes, allocated only while it
/// waits; while it waits, the descriptor is watched for writing and not
/// read, so that a client that never reads holds no more than that
/// (C: `struct conn`, laid out alike).
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

impl Conn {
    /// A free slot, for arrays of them (C: `conn_init`).
    pub const fn new() -> Conn {
        Conn {
            fd: -1,
            cliaddr: sockaddr_in {
                sin_family: 0,
                sin_port: 0,
                sin_addr: in_addr { s_addr: 0 },
                sin_zero: [0; 8],
            },
            out: ptr::null_mut(),
            outpos: 0,
            outlen: 0,
        }
    }
}

impl Default for Conn {
    fn default() -> Conn {
        Conn::new()
    }
}

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

/// `fcntl(2)`: O_NONBLOCK on `fd`; exits on failure.
pub fn set_nonblock(fd: c_int) {
    // SAFETY: fcntl(2) with F_GETFL and F_SETFL takes no pointers.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            perr_exit(c"fcntl");
        }
    }
}

/// `open(2)` of /dev/null: the spare descriptor that [`accept_nb`] gives up
/// when the process runs out of them; exits on failure.
pub fn open_spare() -> c_int {
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        perr_exit(c"/dev/null");
    }
    fd
}

/// Out of descriptors: closes the spare, accepts the waiting connection in
/// its place and closes that at once, so that its client is told instead of
/// left waiting and the listening socket stops being readable; then opens
/// the spare again (-1 if that fails). True when a connection was closed,
/// false when none was waiting.
fn shed_one(listenfd: c_int, spare: &mut c_int) -> bool {
    Close(*spare);
    // SAFETY: accept(2) takes null address pointers when the address is not wanted.
    let connfd = unsafe { libc::accept(listenfd, ptr::null_mut(), ptr::null_mut()) };
    if connfd >= 0 {
        Close(connfd);
    }
    // SAFETY: a NUL-terminated path.
    *spare = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    connfd >= 0
}

/// `accept4(2)` of one waiting connection, made non-blocking: its
/// descriptor, or -1 when no connection is left (EAGAIN) or the one waiting
/// could not be taken. Retried after EINTR and the new connection's errors
/// ([`accept_transient`]). Out of descriptors, the spare makes room to turn
/// the connection away ([`shed_one`]); with no spare, or out of memory, a
/// report and a pause of [`ACCEPT_BACKOFF_USEC`], as `Accept` makes. Exits
/// on other failures, which only a bug can cause.
pub fn accept_nb(listenfd: c_int, cliaddr: &mut sockaddr_in, spare: &mut c_int) -> c_int {
    let mut cliaddr_len: socklen_t;

    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        // SAFETY: cliaddr is writable for cliaddr_len bytes, its size.
        let connfd = unsafe {
            libc::accept4(
                listenfd,
                (cliaddr as *mut sockaddr_in).cast::<sockaddr>(),
                &mut cliaddr_len,
                libc::SOCK_NONBLOCK,
            )
        };
        if connfd >= 0 {
            return connfd;
        }
        let e = errno();
        if e == libc::EINTR || accept_transient(e) {
            continue;
        }
        if e == libc::EAGAIN {
            return -1;
        }
        if (e == libc::EMFILE || e == libc::ENFILE) && *spare >= 0 {
            if shed_one(listenfd, spare) {
                // SAFETY: a format whose one %s gets strerror(3)'s C string.
                unsafe {
                    libc::fprintf(
                        stderr,
                        c"accept: %s, connection closed\n".as_ptr(),
                        libc::strerror(e),
                    )
                };
            }
            return -1;
        }
        if e == libc::EMFILE || e == libc::ENFILE || e == libc::ENOBUFS || e == libc::ENOMEM {
            // SAFETY: a NUL-terminated message; usleep(3) takes no pointers.
            unsafe {
                libc::perror(c"accept".as_ptr());
                libc::usleep(ACCEPT_BACKOFF_USEC);
            }
            return -1;
        }
        perr_exit(c"accept");
    }
}

/// `getrlimit(2)`: RLIMIT_NOFILE's soft limit, one more than the highest
/// descriptor the process can have; exits on failure.
pub fn open_max() -> c_int {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };

    // SAFETY: rl is a struct rlimit getrlimit(2) may write.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } < 0 {
        perr_exit(c"getrlimit");
    }
    if rl.rlim_cur < c_int::MAX as libc::rlim_t {
        rl.rlim_cur as c_int
    } else {
        c_int::MAX
    }
}

/// `calloc(3)` of `n` free connection slots, kept for the life of the process.
pub fn conn_table(n: c_int) -> &'static mut [Conn] {
    let n = n as usize;
    // SAFETY: calloc(3) takes no pointers.
    let client = unsafe { libc::calloc(n, size_of::<Conn>()) }.cast::<Conn>();
    if client.is_null() {
        perr_exit(c"calloc");
    }
    // SAFETY: client points to n zeroed Conns, each a valid value (integers
    // and a null pointer), never freed, so the slice may live for ever.
    let client = unsafe { slice::from_raw_parts_mut(client, n) };
    for c in client.iter_mut() {
        conn_init(c);
    }
    client
}

/// A free slot.
pub fn conn_init(c: &mut Conn) {
    c.fd = -1;
    c.out = ptr::null_mut();
    c.outpos = 0;
    c.outlen = 0;
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

/// `read(2)`, retried after EINTR.
fn read_again(fd: c_int, buf: &mut [MaybeUninit<u8>]) -> ssize_t {
    loop {
        // SAFETY: buf is writable for buf.len() bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return r;
    }
}

/// `write(2)`, retried after EINTR.
fn write_again(fd: c_int, buf: &[u8]) -> ssize_t {
    loop {
        // SAFETY: buf is readable for buf.len() bytes.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast::<c_void>(), buf.len()) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return r;
    }
}

/// Sends `buf` to the client: what the socket takes now, the rest kept in a
/// buffer of its own until the socket is writable again.
fn conn_send(c: &mut Conn, buf: &[u8]) -> ConnWant {
    let n = buf.len();
    let mut nw = write_again(c.fd, buf);

    if nw < 0 {
        if errno() != libc::EAGAIN {
            // SAFETY: a NUL-terminated message.
            unsafe { libc::perror(c"write".as_ptr()) };
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
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"malloc".as_ptr()) };
        return ConnWant::Close;
    }
    // SAFETY: out has room for the n - nw bytes of buf after nw, and is
    // fresh memory, apart from buf.
    unsafe { ptr::copy_nonoverlapping(buf.as_ptr().add(nw), c.out, n - nw) };
    c.outpos = 0;
    c.outlen = n - nw;
    ConnWant::Write
}

/// One read from the client, as `echo_upper` makes it: reports it,
/// upper-cases it, writes it to stdout and sends it back. End of file and
/// errors end the connection; nothing to read yet (EAGAIN) is no error.
fn conn_read(c: &mut Conn) -> ConnWant {
    // Left uninitialised, as in C and echo.rs.
    let mut buf = [MaybeUninit::<u8>::uninit(); MAXLINE];
    let mut str = [0 as c_char; INET_ADDRSTRLEN];

    let n = read_again(c.fd, &mut buf);
    if n == 0 {
        // SAFETY: a NUL-terminated format without conversions.
        unsafe { libc::printf(c"the other side has been closed.\n".as_ptr()) };
        return ConnWant::Close;
    }
    if n < 0 {
        if errno() == libc::EAGAIN {
            return ConnWant::Read;
        }
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"read".as_ptr()) };
        return ConnWant::Close;
    }
    // SAFETY: read(2) initialised the first n bytes.
    let buf = unsafe { slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n as usize) };
    // SAFETY: str has the INET_ADDRSTRLEN bytes inet_ntop(3) needs for an
    // IPv4 address, so it returns str, which the format's %s reads.
    unsafe {
        libc::printf(
            c"received from %s at PORT %d\n".as_ptr(),
            inet_ntop(
                libc::AF_INET,
                (&raw const c.cliaddr.sin_addr).cast::<c_void>(),
                str.as_mut_ptr(),
                str.len() as socklen_t,
            ),
            c_int::from(libc::ntohs(c.cliaddr.sin_port)),
        )
    };
    // toupper(3), as glibc's <ctype.h> inlines it in the C twin (see echo.rs).
    // SAFETY: the table is valid for every unsigned char value.
    let toupper = unsafe { *__ctype_toupper_loc() };
    for b in buf.iter_mut() {
        // SAFETY: as above; *b is an unsigned char value.
        *b = unsafe { *toupper.add(usize::from(*b)) } as u8;
    }
    Write(libc::STDOUT_FILENO, buf);
    conn_send(c, buf)
}

/// Sends what waits in `c`'s buffer; the buffer goes once it is all sent.
fn conn_flush(c: &mut Conn) -> ConnWant {
    // SAFETY: out holds outlen bytes, of which outpos are sent.
    let rest = unsafe { slice::from_raw_parts(c.out.add(c.outpos), c.outlen - c.outpos) };
    let nw = write_again(c.fd, rest);
    if nw < 0 {
        if errno() == libc::EAGAIN {
            return ConnWant::Write;
        }
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"write".as_ptr()) };
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
/// waiting reply, or reads. Returns what to watch it for next, or
/// [`ConnWant::Close`]: the caller takes it out of its set and calls
/// [`conn_close`].
pub fn conn_ready(c: &mut Conn) -> ConnWant {
    if !c.out.is_null() {
        conn_flush(c)
    } else {
        conn_read(c)
    }
}

/// `close(2)` the connection and free its slot. A failure (EBADF: the
/// descriptor was not open) is reported, and the slot freed all the same.
pub fn conn_close(c: &mut Conn) {
    // SAFETY: close(2) takes no pointers; the slot owns c.fd.
    if unsafe { libc::close(c.fd) } < 0 {
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"close".as_ptr()) };
    }
    // SAFETY: out is null or came from malloc(3), and is not used again.
    unsafe { libc::free(c.out.cast::<c_void>()) };
    conn_init(c);
}

/// `epoll_ctl(2)` EPOLL_CTL_DEL, then [`conn_close`]: out of the set before it is closed.
fn epoll_drop(epfd: c_int, c: &mut Conn) {
    // SAFETY: EPOLL_CTL_DEL takes a null event.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, c.fd, ptr::null_mut()) } < 0 {
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"epoll_ctl".as_ptr()) };
    }
    conn_close(c);
}

/// `epoll_ctl(2)` EPOLL_CTL_MOD: watches `c` for what it wants now; or drops it.
fn epoll_watch(epfd: c_int, c: &mut Conn, want: ConnWant) {
    if want == ConnWant::Close {
        epoll_drop(epfd, c);
        return;
    }
    // libc names the data union by its u64 member; data.fd is its low half.
    let mut ev = epoll_event {
        events: if want == ConnWant::Write {
            libc::EPOLLOUT
        } else {
            libc::EPOLLIN
        } as u32,
        u64: c.fd as u64,
    };
    // SAFETY: ev is an epoll_event epoll_ctl(2) reads.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_MOD, c.fd, &mut ev) } < 0 {
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"epoll_ctl".as_ptr()) };
        epoll_drop(epfd, c);
    }
}

/// `epoll_create1(2)`: a new epoll set, with `fd` in it watched for
/// reading; exits on failure.
pub fn epoll_open(fd: c_int) -> c_int {
    // SAFETY: epoll_create1(2) takes no pointers.
    let epfd = unsafe { libc::epoll_create1(0) };
    if epfd < 0 {
        perr_exit(c"epoll_create1");
    }
    // libc names the data union by its u64 member; data.fd is its low half.
    let mut ev = epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: ev is an epoll_event epoll_ctl(2) reads.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        perr_exit(c"epoll_ctl");
    }
    epfd
}

/// `epoll_ctl(2)` EPOLL_CTL_ADD: the new connection `connfd`, from
/// `cliaddr`, into the epoll set `epfd`, watched for reading, and into
/// `client`, indexed by descriptor. Closed, with a message, when it has no
/// slot or `epoll_ctl` fails.
pub fn epoll_add(epfd: c_int, client: &mut [Conn], connfd: c_int, cliaddr: &sockaddr_in) {
    if connfd as usize >= client.len() {
        // SAFETY: a format whose one %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"epoll: no slot for fd %d, connection closed\n".as_ptr(),
                connfd,
            )
        };
        Close(connfd);
        return;
    }
    let mut ev = epoll_event {
        events: libc::EPOLLIN as u32,
        u64: connfd as u64,
    };
    // SAFETY: ev is an epoll_event epoll_ctl(2) reads.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, connfd, &mut ev) } < 0 {
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"epoll_ctl".as_ptr()) };
        Close(connfd);
        return;
    }
    conn_open(&mut client[connfd as usize], connfd, cliaddr);
}

/// One pass of an epoll loop: `epoll_wait(2)` on `epfd`, then serves each
/// ready connection of `client` (indexed by descriptor) and watches it for
/// what it wants next; an event for a descriptor closed earlier in the pass
/// finds a free slot and is ignored. True when `srcfd`, where new
/// connections come from, is readable: the caller takes them in after the
/// pass, so that a descriptor closed during it cannot come back as a new
/// connection while events for the old one are still to be seen. No state
/// but the arguments: each thread may run its own loop.
pub fn epoll_pass(epfd: c_int, client: &mut [Conn], srcfd: c_int) -> bool {
    let mut events = MaybeUninit::<[epoll_event; MAXEVENTS]>::uninit();
    let mut srcready = false;

    // SAFETY: events has room for MAXEVENTS events.
    let n = unsafe {
        libc::epoll_wait(
            epfd,
            events.as_mut_ptr().cast::<epoll_event>(),
            MAXEVENTS as c_int,
            -1,
        )
    };
    if n < 0 {
        if errno() == libc::EINTR {
            return false;
        }
        perr_exit(c"epoll_wait");
    }
    // SAFETY: epoll_wait(2) filled the first n events.
    let events =
        unsafe { slice::from_raw_parts(events.as_ptr().cast::<epoll_event>(), n as usize) };
    for ev in events {
        let fd = ev.u64 as c_int;
        if fd == srcfd {
            srcready = true;
            continue;
        }
        let c = &mut client[fd as usize];
        if c.fd < 0 {
            continue;
        }
        let was = conn_wants(c);
        let want = conn_ready(c);
        if want != was {
            epoll_watch(epfd, c, want);
        }
    }
    srcready
}
