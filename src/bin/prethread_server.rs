//! THREADS threads created before the clients come, accept serialised by a
//! mutex (twin of `prethread_server.c`).
#![no_std]
#![no_main]

use concserv::args::{check_args, port_arg, threads_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prethread::{
    MAXTHREADS, prethread_init, prethread_served, prethread_start, prethread_wait, threads_online,
};
use concserv::slots::Mutex;
use concserv::wrap::{Accept, Close, sockaddr_in_zero};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};
use libc::{sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), THREADS threads (default: one per online CPU,\n  at least 4) created at start, accept serialised by a mutex";

/// Each thread serves one client at a time, idle or not: at least this many.
const THREADS_MIN: c_int = 4;

/// Set by main before any thread starts (C: `listenfd`).
static LISTENFD: AtomicI32 = AtomicI32::new(-1);

/// Held by the thread in accept; the others wait for it.
static ACCEPT_LOCK: Mutex = Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));

/// Thread `i`: take the mutex, accept, give the mutex back, serve; for ever.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    let i = arg.addr() as c_int;
    let listenfd = LISTENFD.load(Ordering::Relaxed);

    loop {
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        // SAFETY: ACCEPT_LOCK is an initialised mutex, unlocked by the
        // thread that locked it.
        unsafe { libc::pthread_mutex_lock(ACCEPT_LOCK.0.get()) };
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: as above.
        unsafe { libc::pthread_mutex_unlock(ACCEPT_LOCK.0.get()) };
        prethread_served(i);
        echo_upper(connfd, &cliaddr);
        Close(connfd);
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let (port, mut nthreads) = unsafe {
        check_args(argc, argv, 2, USAGE);
        let port = port_arg(argc, argv, 1, USAGE);
        (
            port,
            threads_arg(argc, argv, 2, 0, MAXTHREADS as c_int, USAGE),
        )
    };
    if nthreads == 0 {
        // none given
        nthreads = threads_online(THREADS_MIN);
    }
    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    LISTENFD.store(tcp_listen(port), Ordering::Relaxed);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    prethread_init();
    // SAFETY: argv[0] is main's.
    prethread_start(nthreads, do_work, unsafe { CStr::from_ptr(*argv) });

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    prethread_wait()
}
