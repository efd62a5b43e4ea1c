//! THREADS threads created before the clients come, each taking connections
//! from a bounded queue that the main thread alone fills with what it
//! accepts (twin of `prethread_queue_server.c`).
#![no_std]
#![no_main]

use concserv::accept::accept_ready;
use concserv::args::{check_args, port_arg, threads_arg};
use concserv::echo::echo_upper;
use concserv::fdutil::set_nonblock;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::prethread::{
    MAXTHREADS, prethread_check, prethread_init, prethread_poll, prethread_served, prethread_start,
    threads_online,
};
use concserv::slots::{Cond, Mutex};
use concserv::wrap::{Close, Read, Write, perr_exit, sockaddr_in_zero};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};
use libc::sockaddr_in;

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [THREADS]]\n  listen on 0.0.0.0:PORT (default 8000), the main thread accepting into a queue of 32\n  connections, THREADS threads (default: one per online CPU, at least 4) created at start\n  taking them from it";

/// Each thread serves one client at a time, idle or not: at least this many.
const THREADS_MIN: c_int = 4;

/// Connections accepted and not yet taken by a thread, at most.
const QSIZE: usize = 32;

/// An accepted connection, waiting in the queue.
#[derive(Clone, Copy)]
struct Handoff {
    connfd: c_int,
    cliaddr: sockaddr_in,
}

/// The queue, a ring: `count` connections from `head` on (C: `queue`,
/// `qhead`, `qcount`).
struct Queue {
    ring: UnsafeCell<[Handoff; QSIZE]>,
    head: UnsafeCell<usize>,
    count: UnsafeCell<usize>,
}

// SAFETY: every field is read and written under QLOCK only.
unsafe impl Sync for Queue {}

/// Guards QUEUE; QREADY is signalled for each connection put in.
static QLOCK: Mutex = Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
static QREADY: Cond = Cond(UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER));
static QUEUE: Queue = Queue {
    ring: UnsafeCell::new(
        [Handoff {
            connfd: -1,
            cliaddr: sockaddr_in_zero(),
        }; QSIZE],
    ),
    head: UnsafeCell::new(0),
    count: UnsafeCell::new(0),
};

/// Written by a thread that takes from a full queue: the main thread may
/// accept again (C: `roomfd`). Set before any thread starts.
static ROOMFD: AtomicI32 = AtomicI32::new(-1);

/// Puts a connection at the queue's tail, and wakes a thread waiting for
/// one: after the unlock, so that the thread, woken, finds the mutex free.
/// Returns whether the queue is full now.
fn put(connfd: c_int, cliaddr: &sockaddr_in) -> bool {
    // SAFETY: QLOCK and QREADY are initialised; QUEUE is touched under QLOCK.
    unsafe {
        libc::pthread_mutex_lock(QLOCK.0.get());
        let t = (*QUEUE.head.get() + *QUEUE.count.get()) % QSIZE;
        let h = &mut (*QUEUE.ring.get())[t];
        h.connfd = connfd;
        h.cliaddr = *cliaddr;
        *QUEUE.count.get() += 1;
        let full = *QUEUE.count.get() == QSIZE;
        libc::pthread_mutex_unlock(QLOCK.0.get());
        libc::pthread_cond_signal(QREADY.0.get());
        full
    }
}

/// The connection at the queue's head, taken off it; waits while the queue
/// is empty. One taken from a full queue is said on ROOMFD.
fn take() -> Handoff {
    let one: u64 = 1;
    // SAFETY: as in put(); pthread_cond_wait gives QLOCK back before it returns.
    let (h, full) = unsafe {
        libc::pthread_mutex_lock(QLOCK.0.get());
        while *QUEUE.count.get() == 0 {
            libc::pthread_cond_wait(QREADY.0.get(), QLOCK.0.get());
        }
        let head = *QUEUE.head.get();
        let h = (*QUEUE.ring.get())[head];
        *QUEUE.head.get() = (head + 1) % QSIZE;
        let full = *QUEUE.count.get() == QSIZE;
        *QUEUE.count.get() -= 1;
        libc::pthread_mutex_unlock(QLOCK.0.get());
        (h, full)
    };
    if full {
        Write(ROOMFD.load(Ordering::Relaxed), &one.to_ne_bytes());
    }
    h
}

/// Whether the queue is full.
fn queue_full() -> bool {
    // SAFETY: QLOCK is initialised; count is read under it.
    unsafe {
        libc::pthread_mutex_lock(QLOCK.0.get());
        let full = *QUEUE.count.get() == QSIZE;
        libc::pthread_mutex_unlock(QLOCK.0.get());
        full
    }
}

/// Thread `i`: take a connection from the queue, serve it; for ever.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    let i = arg.addr() as c_int;

    loop {
        let h = take();
        prethread_served(i);
        echo_upper(h.connfd, &h.cliaddr);
        Close(h.connfd);
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in_zero();
    let mut room = [0u8; size_of::<u64>()];
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

    let listenfd = tcp_listen(port);
    set_nonblock(listenfd); // accept_ready: nothing to take leaves it at once
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: eventfd(2) takes no pointers.
    let roomfd = unsafe { libc::eventfd(0, 0) };
    if roomfd < 0 {
        perr_exit(c"eventfd");
    }
    ROOMFD.store(roomfd, Ordering::Relaxed);
    prethread_init();
    // SAFETY: argv[0] is main's.
    prethread_start(nthreads, do_work, unsafe { CStr::from_ptr(*argv) });

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    let mut full = false;
    loop {
        if full {
            // new clients wait in the kernel's accept queue
            prethread_poll(roomfd);
            Read(roomfd, &mut room);
            full = queue_full();
            continue;
        }
        prethread_poll(listenfd);
        let connfd = accept_ready(listenfd, &mut cliaddr);
        if connfd < 0 {
            prethread_check(); // none after all, or a pause
            continue;
        }
        full = put(connfd, &cliaddr);
    }
}
