//! One detached thread per connection (twin of `thread_server.c`).
#![no_std]
#![no_main]
#![allow(non_camel_case_types, non_upper_case_globals)]

use concserv::args::{check_args, port_arg};
use concserv::echo::echo_upper;
use concserv::ffi::stdout;
use concserv::listen::tcp_listen;
use concserv::wrap::{Accept, Close, set_errno};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::size_of;
use core::ptr;
use libc::{in_addr, sockaddr_in, socklen_t};

concserv::no_std_program!();

const USAGE: &CStr =
    c"[PORT]\n  listen on 0.0.0.0:PORT (default 8000), a detached thread per connection";

const MAXSLOTS: usize = 256;

/// What one connection's thread needs; `connfd == -1` marks a free slot.
#[repr(C)]
struct s_info {
    cliaddr: UnsafeCell<sockaddr_in>,
    connfd: UnsafeCell<c_int>,
}

// SAFETY: a free slot's fields are written by the main thread alone, a busy
// slot's by its thread alone; the hand-over, connfd becoming -1 and being
// seen as -1, happens under slots_lock, and pthread_create orders the main
// thread's writes before the new thread's reads.
unsafe impl Sync for s_info {}

/// A `pthread_mutex_t` that can live in a static.
struct Mutex(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex exists to be shared between threads.
unsafe impl Sync for Mutex {}

/// Guards the connfd of every slot, the mark that hands a slot over.
static slots_lock: Mutex = Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
static ts: [s_info; MAXSLOTS] = [const {
    s_info {
        cliaddr: UnsafeCell::new(sockaddr_in {
            sin_family: 0,
            sin_port: 0,
            sin_addr: in_addr { s_addr: 0 },
            sin_zero: [0; 8],
        }),
        connfd: UnsafeCell::new(-1),
    }
}; MAXSLOTS];

/// Marks a slot free; its thread no longer touches it.
fn release_slot(info: &s_info) {
    // SAFETY: slots_lock is an initialised mutex, and connfd is written under it.
    unsafe {
        libc::pthread_mutex_lock(slots_lock.0.get());
        *info.connfd.get() = -1;
        libc::pthread_mutex_unlock(slots_lock.0.get());
    }
}

extern "C" fn do_work(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the &ts[i] that main passed to pthread_create, a slot
    // this thread owns until it releases it.
    let (info, connfd, cliaddr) = unsafe {
        let info = &*arg.cast::<s_info>();
        (info, *info.connfd.get(), &*info.cliaddr.get())
    };

    echo_upper(connfd, cliaddr);
    Close(connfd);
    release_slot(info);
    ptr::null_mut()
}

/// A free slot; while every slot is busy, look again each second.
fn find_slot() -> &'static s_info {
    loop {
        // SAFETY: slots_lock is an initialised mutex, and connfd is read under it.
        let info = unsafe {
            libc::pthread_mutex_lock(slots_lock.0.get());
            let info = ts.iter().find(|info| *info.connfd.get() == -1);
            libc::pthread_mutex_unlock(slots_lock.0.get());
            info
        };
        if let Some(info) = info {
            return info;
        }
        // SAFETY: sleep(3) takes no pointers.
        unsafe { libc::sleep(1) };
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut cliaddr = sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    let mut cliaddr_len: socklen_t;
    let mut tid: libc::pthread_t = 0;
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

    // SAFETY: the format's one conversion, %d, gets a c_int.
    unsafe { libc::printf(c"listening on 0.0.0.0:%d\n".as_ptr(), port) };
    loop {
        let info = find_slot();
        cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
        let connfd = Accept(listenfd, &mut cliaddr, &mut cliaddr_len);
        // SAFETY: the slot is free, so no other thread touches it.
        unsafe {
            *info.cliaddr.get() = cliaddr;
            *info.connfd.get() = connfd;
        }
        let arg = ptr::from_ref(info).cast_mut().cast::<c_void>();
        // SAFETY: do_work has the signature pthread_create(3) expects and arg
        // points into the static ts, which outlives every thread.
        let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_work, arg) };
        if ret != 0 {
            set_errno(ret);
            // SAFETY: a NUL-terminated message.
            unsafe { libc::perror(c"pthread_create".as_ptr()) };
            Close(connfd);
            release_slot(info);
            continue;
        }
        // SAFETY: tid is the thread just created, not yet detached or joined.
        unsafe { libc::pthread_detach(tid) };
    }
}
