//! CHILDREN processes forked before the clients come; the parent alone
//! accepts, and passes each connection to an idle child over its
//! socketpair (SCM_RIGHTS); the child writes one byte back when it is idle
//! again (twin of `prefork_passfd_server.c`).
#![no_std]
#![no_main]

use concserv::accept::accept_ready;
use concserv::args::{check_args, children_arg, port_arg};
use concserv::echo::echo_upper;
use concserv::fdutil::set_nonblock;
use concserv::ffi::{stderr, stdout};
use concserv::listen::tcp_listen;
use concserv::prefork::{
    CHILDREN_DEFAULT, FORK_RETRY_SEC, MAXCHILDREN, Prefork, child_ended, child_make, prefork_check,
    prefork_init, prefork_stop, prefork_stopping,
};
use concserv::wrap::{Close, ReadUninit, Write, errno, perr_exit, perror, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::{MaybeUninit, size_of, zeroed};
use core::ptr;
use libc::sockaddr_in;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start; the parent accepts and passes each connection to one";

/// The parent's side of its children.
struct Passfd {
    /// Its end of child i's socketpair, -1: none.
    fd: [c_int; MAXCHILDREN],
    /// Child i is serving a connection.
    busy: [bool; MAXCHILDREN],
    /// Children with a socketpair, not busy.
    nidle: c_int,
    /// The child's end, while it is being made.
    childfd: c_int,
}

/// Room for one control message carrying one descriptor, aligned for its header.
#[repr(C)]
union Control {
    cm: libc::cmsghdr,
    space: [u8; CONTROL_SPACE],
}

// SAFETY: CMSG_SPACE is arithmetic on its argument.
const CONTROL_SPACE: usize = unsafe { libc::CMSG_SPACE(size_of::<c_int>() as u32) } as usize;

/// A msghdr whose one iovec is `cliaddr` and whose control buffer is `control`.
fn conn_msg(
    cliaddr: &mut sockaddr_in,
    iov: &mut libc::iovec,
    control: &mut Control,
) -> libc::msghdr {
    iov.iov_base = (cliaddr as *mut sockaddr_in).cast::<c_void>();
    iov.iov_len = size_of::<sockaddr_in>();
    // SAFETY: an all-zero msghdr is valid: no name, no buffers.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    // SAFETY: space is the union's whole storage.
    msg.msg_control = unsafe { control.space.as_mut_ptr() }.cast();
    msg.msg_controllen = CONTROL_SPACE;
    msg
}

/// `sendmsg(2)` of `connfd` (SCM_RIGHTS) and its client's address (the
/// data) over `fd`; -1 on failure, said on stderr.
fn send_conn(fd: c_int, connfd: c_int, cliaddr: &mut sockaddr_in) -> c_int {
    let mut control = Control {
        space: [0; CONTROL_SPACE],
    };
    let mut iov = libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    };
    let msg = conn_msg(cliaddr, &mut iov, &mut control);
    // SAFETY: msg's control buffer has room for one header and one int,
    // and CMSG_FIRSTHDR returns its start.
    unsafe {
        let cmptr = libc::CMSG_FIRSTHDR(&msg);
        (*cmptr).cmsg_len = libc::CMSG_LEN(size_of::<c_int>() as u32) as usize;
        (*cmptr).cmsg_level = libc::SOL_SOCKET;
        (*cmptr).cmsg_type = libc::SCM_RIGHTS;
        ptr::copy_nonoverlapping(
            (&raw const connfd).cast::<u8>(),
            libc::CMSG_DATA(cmptr),
            size_of::<c_int>(),
        );
    }
    // SAFETY: msg and every buffer it points to outlive the call.
    while unsafe { libc::sendmsg(fd, &msg, 0) } < 0 {
        if errno() != libc::EINTR {
            perror!(c"sendmsg");
            return -1;
        }
    }
    0
}

/// `recvmsg(2)` of a connection and its client's address from `fd`,
/// retried after EINTR; -1 at end of file (the parent is gone). Exits when
/// the message holds no descriptor.
fn recv_conn(fd: c_int, cliaddr: &mut sockaddr_in) -> c_int {
    let mut control = Control {
        space: [0; CONTROL_SPACE],
    };
    let mut iov = libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    };
    let mut msg = conn_msg(cliaddr, &mut iov, &mut control);
    let n = loop {
        // SAFETY: msg and every buffer it points to outlive the call.
        let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
        if n >= 0 {
            break n;
        }
        if errno() != libc::EINTR {
            perr_exit(c"recvmsg");
        }
    };
    if n == 0 {
        return -1;
    }
    // SAFETY: recvmsg(2) filled msg's control buffer, msg_controllen long.
    unsafe {
        let cmptr = libc::CMSG_FIRSTHDR(&msg);
        if cmptr.is_null()
            || (*cmptr).cmsg_len != libc::CMSG_LEN(size_of::<c_int>() as u32) as usize
            || (*cmptr).cmsg_level != libc::SOL_SOCKET
            || (*cmptr).cmsg_type != libc::SCM_RIGHTS
        {
            libc::fprintf(stderr, c"recvmsg: no descriptor\n".as_ptr());
            libc::exit(1);
        }
        let mut connfd: c_int = 0;
        ptr::copy_nonoverlapping(
            libc::CMSG_DATA(cmptr),
            (&raw mut connfd).cast::<u8>(),
            size_of::<c_int>(),
        );
        connfd
    }
}

/// A child: close what is the parent's (the listener, the parent's end of
/// every socketpair), then take a connection from its socketpair, serve
/// it, write one byte back; for ever, or until the parent is gone.
fn child_main(pf: &mut Prefork, _i: c_int) -> ! {
    // SAFETY: arg points to main's Passfd, copied into this child by fork.
    let ps = unsafe { &*pf.arg.cast::<Passfd>() };
    let mut cliaddr = sockaddr_in_zero();
    let sockfd = ps.childfd;

    Close(pf.listenfd);
    for &fd in &ps.fd[..pf.nchildren as usize] {
        if fd >= 0 {
            Close(fd);
        }
    }
    loop {
        let connfd = recv_conn(sockfd, &mut cliaddr);
        if connfd < 0 {
            break;
        }
        echo_upper(connfd, &cliaddr);
        Close(connfd);
        if Write(sockfd, b"\0") < 0 {
            break;
        }
    }
    // SAFETY: exit(3) flushes stdio and does not return.
    unsafe { libc::exit(0) }
}

/// `socketpair(2)` for child `i`, and the child, which closes the parent's
/// end with the others' (so that each end is held by one process: the end
/// of file one side sees is the other's end); idle once made. -1 when the
/// slot stays empty.
fn child_start(pf: &mut Prefork, ps: *mut Passfd, i: c_int) -> c_int {
    let iu = i as usize;
    let mut sv = [0 as c_int; 2];
    // SAFETY: sv has room for the two descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) } < 0 {
        perror!(c"socketpair");
        return -1;
    }
    // SAFETY: ps is main's Passfd; no other reference to it is alive.
    unsafe {
        (*ps).fd[iu] = sv[0];
        (*ps).childfd = sv[1];
    }
    if child_make(pf, i) < 0 {
        Close(sv[0]);
        Close(sv[1]);
        // SAFETY: as above.
        unsafe { (*ps).fd[iu] = -1 };
        return -1;
    }
    Close(sv[1]);
    // SAFETY: as above.
    let ps = unsafe { &mut *ps };
    ps.busy[iu] = false;
    ps.nidle += 1;
    0
}

/// A child for every empty slot; returns how many are still empty.
fn passfd_refill(pf: &mut Prefork, ps: *mut Passfd) -> c_int {
    let mut empty = 0;
    for i in 0..pf.nchildren {
        // SAFETY: ps is main's Passfd; no other reference to it is alive.
        let free = unsafe { (*ps).fd[i as usize] } < 0;
        if free && child_start(pf, ps, i) < 0 {
            empty += 1;
        }
    }
    empty
}

/// Child `i`'s socketpair is readable: its byte says it is idle again; end
/// of file (or an error) that it has ended: it is waited for, and its slot
/// emptied, to be filled again.
fn child_ready(pf: &mut Prefork, ps: &mut Passfd, i: c_int) {
    let iu = i as usize;
    let mut c = [MaybeUninit::<u8>::uninit(); 1];
    let mut status: c_int = 0;

    if ReadUninit(ps.fd[iu], &mut c) == 1 {
        ps.busy[iu] = false;
        ps.nidle += 1;
        return;
    }
    Close(ps.fd[iu]);
    ps.fd[iu] = -1;
    if !ps.busy[iu] {
        ps.nidle -= 1;
    }
    // SAFETY: status is a writable int.
    if unsafe { libc::waitpid(pf.pid[iu], &mut status, 0) } < 0 {
        perr_exit(c"waitpid");
    }
    child_ended(pf, pf.pid[iu], status);
}

/// The listener is readable: accept, and pass the connection to the first
/// idle child, or, if that fails (the child is gone: its end of file comes
/// next), to the next. A child given one is busy until its byte comes back.
fn pass_one(pf: &mut Prefork, ps: &mut Passfd) {
    let mut cliaddr = sockaddr_in_zero();
    let connfd = accept_ready(pf.listenfd, &mut cliaddr);
    if connfd < 0 {
        prefork_check(pf); // none after all, or a pause
        return;
    }
    for i in 0..pf.nchildren as usize {
        if ps.fd[i] < 0 || ps.busy[i] {
            continue;
        }
        ps.busy[i] = true;
        ps.nidle -= 1;
        if send_conn(ps.fd[i], connfd, &mut cliaddr) == 0 {
            pf.counted(i as c_int);
            break;
        }
    }
    Close(connfd);
}

/// The parent's life: a child in every slot, and then, until SIGTERM or
/// SIGINT, ppoll(2) of the children's socketpairs, and of the listener
/// while a child is idle (a second at most while a slot is empty: its fork
/// failed). The signals, blocked, come only while it waits.
fn parent_loop(pf: &mut Prefork, ps: *mut Passfd) -> ! {
    let retry = libc::timespec {
        tv_sec: FORK_RETRY_SEC,
        tv_nsec: 0,
    };
    let mut pfd = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 1 + MAXCHILDREN];
    let n = pf.nchildren as usize;

    loop {
        if prefork_stopping() {
            prefork_stop(pf);
        }
        let empty = passfd_refill(pf, ps);
        // SAFETY: ps is main's Passfd; no other reference to it is alive.
        let ps = unsafe { &mut *ps };
        pfd[0].fd = pf.listenfd;
        pfd[0].events = if ps.nidle > 0 { libc::POLLIN } else { 0 };
        for i in 0..n {
            pfd[1 + i].fd = ps.fd[i];
            pfd[1 + i].events = libc::POLLIN;
        }
        let timeout = if empty > 0 {
            &raw const retry
        } else {
            ptr::null()
        };
        // SAFETY: pfd holds 1 + n pollfds; timeout is null or points to
        // retry; oldmask is the mask sigprocmask(2) gave back.
        if unsafe {
            libc::ppoll(
                pfd.as_mut_ptr(),
                (1 + n) as libc::nfds_t,
                timeout,
                &pf.oldmask,
            )
        } < 0
        {
            if errno() != libc::EINTR {
                perr_exit(c"ppoll");
            }
            continue;
        }
        for i in 0..n {
            if pfd[1 + i].revents != 0 {
                child_ready(pf, ps, i as c_int);
            }
        }
        if pfd[0].revents != 0 && ps.nidle > 0 {
            pass_one(pf, ps);
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, nchildren) = unsafe {
        check_args(argc, argv, 2, USAGE);
        (
            port_arg(argc, argv, 1, USAGE),
            children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN as c_int, USAGE),
        )
    };
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    set_nonblock(listenfd);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut ps = Passfd {
        fd: [-1; MAXCHILDREN],
        busy: [false; MAXCHILDREN],
        nidle: 0,
        childfd: 0,
    };
    let psp: *mut Passfd = &mut ps;
    let mut pf = prefork_init(listenfd, nchildren, child_main, psp.cast());

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    parent_loop(&mut pf, psp);
}
