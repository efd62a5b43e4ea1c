//! The event loops' accept, non-blocking, and the spare descriptor that lets
//! them turn a client away when out of descriptors (twin of `accept.c`).
//! Used by the select, poll and epoll servers, and by the pool server's
//! acceptor; `accept_ready` by the passfd, herd and prethread_queue servers.

use crate::ffi::stderr;
use crate::wrap::{ACCEPT_BACKOFF_USEC, Close, accept_transient, errno, perr_exit, perror};
use core::ffi::c_int;
use core::mem::size_of;
use core::ptr;
use libc::{sockaddr, sockaddr_in, socklen_t};

/// Connections accepted at most per wake-up, so that a burst of connects
/// cannot keep the loop from the clients already connected.
pub const MAXACCEPT: usize = 16;

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
/// the spare again (-1 if that fails: [`accept_nb`] tries again). True when
/// a connection was closed, false when none was waiting.
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
/// could not be taken. A spare that could not be reopened (ENFILE, or
/// another thread took the descriptor) is opened again first, on every call
/// while it is missing. Retried after EINTR and the new connection's errors
/// ([`accept_transient`]). Out of descriptors, the spare makes room to turn
/// the connection away ([`shed_one`]); with no spare, or out of memory, a
/// report and a pause of [`ACCEPT_BACKOFF_USEC`], as `Accept` makes. Exits
/// on other failures, which only a bug can cause.
pub fn accept_nb(listenfd: c_int, cliaddr: &mut sockaddr_in, spare: &mut c_int) -> c_int {
    let mut cliaddr_len: socklen_t;

    if *spare < 0 {
        // SAFETY: a NUL-terminated path.
        *spare = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    }
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
            perror!(c"accept");
            // SAFETY: usleep(3) takes no pointers.
            unsafe { libc::usleep(ACCEPT_BACKOFF_USEC) };
            return -1;
        }
        perr_exit(c"accept");
    }
}

/// `accept(2)` on a non-blocking listener that poll or epoll said was
/// ready: the connection, a blocking socket; or -1 when there was none
/// after all (another process took it: EAGAIN; or it was reset), or after
/// a pause when out of descriptors or memory (it waits in the queue).
pub fn accept_ready(listenfd: c_int, cliaddr: &mut sockaddr_in) -> c_int {
    let mut cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
    // SAFETY: cliaddr is writable for cliaddr_len bytes.
    let connfd = unsafe {
        libc::accept(
            listenfd,
            (cliaddr as *mut sockaddr_in).cast::<sockaddr>(),
            &mut cliaddr_len,
        )
    };
    if connfd >= 0 {
        return connfd;
    }
    let e = errno();
    if e == libc::EAGAIN || e == libc::EINTR || accept_transient(e) {
        return -1;
    }
    if e == libc::EMFILE || e == libc::ENFILE || e == libc::ENOBUFS || e == libc::ENOMEM {
        perror!(c"accept");
        // SAFETY: usleep(3) takes no pointers.
        unsafe { libc::usleep(ACCEPT_BACKOFF_USEC) };
        return -1;
    }
    perr_exit(c"accept");
}
