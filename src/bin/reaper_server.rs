//! Joinable threads, joined by a reaper thread (twin of `reaper_server.c`).
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::args::{check_args, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::slots::{MAXSLOTS, Mutex, find_slot, release_slot, s_info};
use concserv::wrap::{Accept, Close, errno, perr_exit, perror, set_errno, sockaddr_in_zero};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_long, c_void};
use core::mem::{size_of, zeroed};
use core::ptr;
use libc::{pthread_t, sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a joinable thread per connection, joined by a reaper thread";

// A slot (slots.rs) stays busy until the reaper has joined its thread, so
// that there are never more than MAXSLOTS threads, finished or not.

/// A `sem_t` that can live in a static; `sem_init` readies it at start-up.
struct Sem(UnsafeCell<libc::sem_t>);

// SAFETY: a semaphore exists to be shared between threads.
unsafe impl Sync for Sem {}

/// The slots whose threads are done and not yet joined, oldest first: a ring
/// of `MAXSLOTS`, room for every slot, as a slot is on it at most once
/// (C: `finished`, `finished_head`, `finished_tail`).
struct Finished {
    slots: UnsafeCell<[*const s_info; MAXSLOTS]>,
    /// The oldest.
    head: UnsafeCell<usize>,
    /// Where the next goes.
    tail: UnsafeCell<usize>,
}

// SAFETY: every field is read and written under finished_lock only, and the
// pointers point into the static ts.
unsafe impl Sync for Finished {}

/// Guards the finished list and the tid of every slot; finished_sem counts
/// the slots on the list.
static finished_lock: Mutex = Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
// SAFETY: all zeros is a valid bit pattern for sem_t, an array of bytes; main
// calls sem_init before any other thread exists.
static finished_sem: Sem = Sem(UnsafeCell::new(unsafe { zeroed() }));
static finished: Finished = Finished {
    slots: UnsafeCell::new([ptr::null(); MAXSLOTS]),
    head: UnsafeCell::new(0),
    tail: UnsafeCell::new(0),
};

/// Puts the calling thread's slot, with its tid, on the finished list, and
/// wakes the reaper: after the unlock, so that the reaper, woken, finds the
/// mutex free.
fn finish(info: &'static s_info) {
    // SAFETY: finished_lock is an initialised mutex, and the list and tid are
    // written under it; main initialised finished_sem.
    unsafe {
        libc::pthread_mutex_lock(finished_lock.0.get());
        *info.tid.get() = libc::pthread_self();
        let t = *finished.tail.get();
        (*finished.slots.get())[t] = info;
        *finished.tail.get() = (t + 1) % MAXSLOTS;
        libc::pthread_mutex_unlock(finished_lock.0.get());
        libc::sem_post(finished_sem.0.get());
    }
}

/// The oldest slot on the finished list, taken off it; waits while it is empty.
fn next_finished() -> &'static s_info {
    // SAFETY: main initialised finished_sem.
    while unsafe { libc::sem_wait(finished_sem.0.get()) } < 0 {
        if errno() != libc::EINTR {
            perr_exit(c"sem_wait");
        }
    }
    // SAFETY: finished_lock is an initialised mutex, and the list is read and
    // written under it; the semaphore counted the entry at head, which points
    // into ts.
    unsafe {
        libc::pthread_mutex_lock(finished_lock.0.get());
        let h = *finished.head.get();
        let info = &*(*finished.slots.get())[h];
        *finished.head.get() = (h + 1) % MAXSLOTS;
        libc::pthread_mutex_unlock(finished_lock.0.get());
        info
    }
}

/// Serves one connection, then tells the reaper and ends with the
/// connection's number as the exit value. Returning it is pthread_exit(3)
/// without the unwinding, for which glibc loads libgcc_s.so.1 at the first
/// call, in whatever thread makes it, and aborts the whole server if that fails.
extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ts[i] that main passed to pthread_create, a slot
    // this thread owns until it puts it on the finished list.
    let (info, connfd, cliaddr, num) = unsafe {
        let info = &*arg.cast::<s_info>();
        (
            info,
            *info.connfd.get(),
            &*info.cliaddr.get(),
            *info.num.get(),
        )
    };

    echo_upper(connfd, cliaddr);
    Close(connfd);
    finish(info);
    ptr::without_provenance_mut(num as usize)
}

/// Joins each thread that is done, frees its slot, and prints its exit value.
extern "C" fn do_reap(_arg: *mut c_void) -> *mut c_void {
    let mut value: *mut c_void = ptr::null_mut();

    loop {
        let info = next_finished();
        // SAFETY: the slot came off the finished list, so its tid, written
        // under finished_lock before, names a thread that is done serving and
        // that no other thread joins; value is a valid place for its result.
        let ret = unsafe { libc::pthread_join(*info.tid.get(), &mut value) };
        if ret != 0 {
            set_errno(ret);
            perr_exit(c"pthread_join");
        }
        release_slot(info);
        // SAFETY: the format's one conversion, %ld, gets a c_long.
        unsafe { libc::printf(c"joined worker %ld\n".as_ptr(), value.addr() as c_long) };
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in_zero();
    let mut cliaddr_len: socklen_t;
    let mut tid: pthread_t = 0;
    let mut nconn: c_long = 0;
    // SAFETY: argv is main's, as glibc's start-up passes it.
    let port = unsafe {
        check_args(argc, argv, 1, USAGE);
        port_arg(argc, argv, 1, USAGE)
    };

    // SAFETY: stdout is glibc's stream and nothing has been written to it yet.
    unsafe { libc::setvbuf(stdout, ptr::null_mut(), libc::_IOLBF, 0) };

    let listenfd = tcp_listen(port);
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };

    // SAFETY: finished_sem is a sem_t, and no other thread exists yet.
    if unsafe { libc::sem_init(finished_sem.0.get(), 0, 0) } < 0 {
        perr_exit(c"sem_init");
    }
    // SAFETY: do_reap has the signature pthread_create(3) expects and ignores its argument.
    let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_reap, ptr::null_mut()) };
    if ret != 0 {
        set_errno(ret);
        perr_exit(c"pthread_create");
    }

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        let info = find_slot();
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        nconn += 1;
        // SAFETY: the slot is free, so no other thread touches it.
        unsafe {
            *info.cliaddr.get() = cliaddr;
            *info.connfd.get() = connfd;
            *info.num.get() = nconn;
        }
        let arg = ptr::from_ref(info).cast_mut().cast::<c_void>();
        // SAFETY: do_work has the signature pthread_create(3) expects and arg
        // points into the static ts, which outlives every thread.
        let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_work, arg) };
        if ret != 0 {
            set_errno(ret);
            perror!(c"pthread_create");
            Close(connfd);
            release_slot(info);
        }
    }
}
