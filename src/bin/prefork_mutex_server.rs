//! CHILDREN processes forked before the clients come, accept serialised by
//! a process-shared mutex in a shared mapping (twin of
//! `prefork_mutex_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, children_arg, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prefork::{CHILDREN_DEFAULT, MAXCHILDREN, Prefork, prefork_init, prefork_wait};
use concserv::wrap::{Accept, Close, perr_exit, set_errno, sockaddr_in_zero};
use core::ffi::{CStr, c_char, c_int};
use core::mem::{MaybeUninit, size_of};
use core::ptr;
use libc::{pthread_mutex_t, sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start, accept serialised by a process-shared mutex";

/// A pthread mutex in a shared anonymous mapping (mmap(2)), shared by the
/// processes that fork from here on (PTHREAD_PROCESS_SHARED), and robust:
/// a child killed while it holds it does not leave it locked for ever.
fn lock_init() -> *mut pthread_mutex_t {
    // SAFETY: a new anonymous mapping, at no address of ours.
    let mptr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size_of::<pthread_mutex_t>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mptr == libc::MAP_FAILED {
        perr_exit(c"mmap");
    }
    let mptr = mptr.cast::<pthread_mutex_t>();
    let mut mattr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: mattr is initialised by pthread_mutexattr_init(3) before any
    // other use; mptr is a fresh mapping with room for a mutex.
    unsafe {
        libc::pthread_mutexattr_init(mattr.as_mut_ptr());
        libc::pthread_mutexattr_setpshared(mattr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED);
        libc::pthread_mutexattr_setrobust(mattr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST);
        let n = libc::pthread_mutex_init(mptr, mattr.as_ptr());
        if n != 0 {
            set_errno(n);
            perr_exit(c"pthread_mutex_init");
        }
        libc::pthread_mutexattr_destroy(mattr.as_mut_ptr());
    }
    mptr
}

/// `pthread_mutex_lock(3)`; EOWNERDEAD (its holder died holding it) makes it
/// consistent again, and it is held.
fn lock_take(mptr: *mut pthread_mutex_t) {
    // SAFETY: mptr is the mutex lock_init made, mapped in every child.
    let mut n = unsafe { libc::pthread_mutex_lock(mptr) };
    if n == libc::EOWNERDEAD {
        // SAFETY: as above; this process holds it now.
        n = unsafe { libc::pthread_mutex_consistent(mptr) };
    }
    if n != 0 {
        set_errno(n);
        perr_exit(c"pthread_mutex_lock");
    }
}

/// A child: take the mutex, accept, give the mutex back, serve; for ever.
fn child_main(pf: &mut Prefork, i: c_int) -> ! {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    let mptr = pf.arg.cast::<pthread_mutex_t>();

    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        lock_take(mptr);
        let connfd = Accept(pf.listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: this process holds the mutex.
        unsafe { libc::pthread_mutex_unlock(mptr) };
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
    let mptr = lock_init();
    let mut pf = prefork_init(listenfd, nchildren, child_main, mptr.cast());

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prefork_wait(&mut pf);
}
