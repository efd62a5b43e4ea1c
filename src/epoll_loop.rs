//! One pass of an epoll loop over a table of connections indexed by
//! descriptor, and the loop's stdout watched in the same set (twin of
//! `epoll_loop.c`). Used by the epoll server, and by the pool server's
//! acceptor and each of its workers.

use crate::conn::{
    Conn, ConnTable, ConnWant, conn_close, conn_fit, conn_open, conn_ready, conn_wants,
};
use crate::ffi::stderr;
use crate::outbuf::{OutBuf, out_flush, out_pending};
use crate::wrap::{Close, errno, perr_exit, perror};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::ptr;
use core::slice;
use libc::{epoll_event, sockaddr_in};

/// Events taken at most per `epoll_wait`.
pub const MAXEVENTS: usize = 64;

/// `epoll_ctl(2)` EPOLL_CTL_DEL, then [`conn_close`]: out of the set before it is closed.
fn epoll_drop(epfd: c_int, c: &mut Conn) {
    // SAFETY: EPOLL_CTL_DEL takes a null event.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, c.fd, ptr::null_mut()) } < 0 {
        perror!(c"epoll_ctl");
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
        perror!(c"epoll_ctl");
        epoll_drop(epfd, c);
    }
}

/// `epoll_ctl(2)`: stdout into the set, watched for writing, while lines
/// wait (EPOLL_CTL_ADD), and out of it once they have gone
/// (EPOLL_CTL_DEL): a writable stdout with nothing to print would wake the
/// loop for ever. On failure, a report, and the next pass tries again.
/// Used by `coro` too.
pub fn epoll_out(epfd: c_int, o: &mut OutBuf) {
    let mut ev = epoll_event {
        events: libc::EPOLLOUT as u32,
        u64: o.fd as u64,
    };
    let op = if o.watched {
        libc::EPOLL_CTL_DEL
    } else {
        libc::EPOLL_CTL_ADD
    };
    // SAFETY: ev is an epoll_event epoll_ctl(2) reads.
    if unsafe { libc::epoll_ctl(epfd, op, o.fd, &mut ev) } < 0 {
        perror!(c"epoll_ctl");
        return;
    }
    o.watched = !o.watched;
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
/// `cliaddr`, into the epoll set `epfd`, watched for reading, and into `t`,
/// indexed by descriptor, which grows to hold it ([`conn_fit`]). Closed,
/// with a message, when there is no memory for its slot or `epoll_ctl`
/// fails.
pub fn epoll_add(epfd: c_int, t: &mut ConnTable, connfd: c_int, cliaddr: &sockaddr_in) {
    if conn_fit(t, connfd) < 0 {
        // SAFETY: a format whose one %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"epoll: no memory for fd %d, connection closed\n".as_ptr(),
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
        perror!(c"epoll_ctl");
        Close(connfd);
        return;
    }
    conn_open(&mut t.slots()[connfd as usize], connfd, cliaddr);
}

/// One pass of an epoll loop: the loop's stdout `o` into the set or out of
/// it as lines wait or not ([`epoll_out`]), `epoll_wait(2)` on `epfd`, then
/// flushes stdout if it is writable, and serves each ready connection of
/// `t` (indexed by descriptor) and watches it for what it wants next; an
/// event for a descriptor closed earlier in the pass finds a free slot and
/// is ignored. True when `srcfd`, where new connections come from, is
/// readable: the caller takes them in after the pass, so that a descriptor
/// closed during it cannot come back as a new connection while events for
/// the old one are still to be seen, and so that `t` grows only between
/// passes. No state but the arguments: each thread may run its own loop.
pub fn epoll_pass(epfd: c_int, t: &mut ConnTable, srcfd: c_int, o: &mut OutBuf) -> bool {
    let mut events = MaybeUninit::<[epoll_event; MAXEVENTS]>::uninit();
    let mut srcready = false;

    if out_pending(o) != o.watched {
        epoll_out(epfd, o);
    }
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
        if o.watched && fd == o.fd {
            out_flush(o);
            continue;
        }
        let c = &mut t.slots()[fd as usize];
        if c.fd < 0 {
            continue;
        }
        let was = conn_wants(c);
        let want = conn_ready(c, o);
        if want != was {
            epoll_watch(epfd, c, want);
        }
    }
    srcready
}
