//! CHILDREN processes forked before the clients come, accept serialised by
//! an fcntl record lock on a temporary file (twin of
//! `prefork_lock_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, children_arg, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prefork::{CHILDREN_DEFAULT, MAXCHILDREN, Prefork, prefork_init, prefork_wait};
use concserv::wrap::{Accept, Close, errno, perr_exit, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int, c_short};
use core::mem::{size_of, zeroed};
use core::ptr;
use libc::{sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, accept serialised by an fcntl lock";

/// `mkstemp(3)` a file for the lock, and `unlink(2)` it at once: the
/// descriptor, shared by the children, is all that is needed. Record locks
/// belong to a process, so each child's lock is its own.
fn lock_init() -> c_int {
    let mut path = *b"/tmp/prefork_lock.XXXXXX\0";
    // SAFETY: path is a writable, NUL-terminated template.
    let lockfd = unsafe { libc::mkstemp(path.as_mut_ptr().cast()) };
    if lockfd < 0 {
        perr_exit(c"mkstemp");
    }
    // SAFETY: path now holds the file's NUL-terminated name.
    if unsafe { libc::unlink(path.as_ptr().cast()) } < 0 {
        perr_exit(c"unlink");
    }
    lockfd
}

/// `fcntl(2)` F_SETLKW, or F_SETLK to unlock, on the whole file; retried
/// after EINTR.
fn lock_set(lockfd: c_int, ty: c_short) {
    // SAFETY: an all-zero flock is valid: the whole file, from its start.
    let mut lock: libc::flock = unsafe { zeroed() };
    lock.l_type = ty;
    lock.l_whence = libc::SEEK_SET as c_short;
    let cmd = if ty == libc::F_UNLCK as c_short {
        libc::F_SETLK
    } else {
        libc::F_SETLKW
    };
    // SAFETY: lock is a struct flock, read by fcntl(2).
    while unsafe { libc::fcntl(lockfd, cmd, &lock) } < 0 {
        if errno() != libc::EINTR {
            perr_exit(c"fcntl");
        }
    }
}

/// A child: take the lock, accept, give the lock back, serve; for ever.
fn child_main(pf: &mut Prefork, i: c_int) -> ! {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    // SAFETY: arg points to main's lockfd, which lives as long as the process.
    let lockfd = unsafe { *pf.arg.cast::<c_int>() };

    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        lock_set(lockfd, libc::F_WRLCK as c_short);
        let connfd = Accept(pf.listenfd, &mut cliaddr, &mut cliaddr_len);
        lock_set(lockfd, libc::F_UNLCK as c_short);
        pf.counted(i);
        echo_upper(connfd, &cliaddr);
        Close(connfd);
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
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut lockfd = lock_init();
    let arg = (&raw mut lockfd).cast();
    let mut pf = prefork_init(listenfd, nchildren, child_main, arg);

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prefork_wait(&mut pf);
}
