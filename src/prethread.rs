//! The threads a prethreaded server creates before its clients come, the
//! meter of the connections each took, and the main thread's wait for
//! SIGTERM or SIGINT, which stops the server (twin of `prethread.c`). Used
//! by the prethread, prethread_queue and reuseport servers.

use crate::ffi::stderr;
use crate::wrap::{errno, perr_exit, perror, set_errno};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_int, c_long, c_void};
use core::mem::zeroed;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// The threads a server starts at most.
pub const MAXTHREADS: usize = 64;

static STOPPING: AtomicBool = AtomicBool::new(false);

/// The mask before SIGTERM and SIGINT were blocked: written by
/// prethread_init before any thread is created, then only read.
struct Mask(UnsafeCell<libc::sigset_t>);

// SAFETY: written once by the main thread before any other thread exists,
// and read by the main thread alone.
unsafe impl Sync for Mask {}

// SAFETY: all zeros is a valid (empty) sigset_t.
static OLDMASK: Mask = Mask(UnsafeCell::new(unsafe { zeroed() }));

/// Threads running.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Connections per thread, each written by its own thread (C: `count`).
static COUNT: [AtomicI64; MAXTHREADS] = [const { AtomicI64::new(0) }; MAXTHREADS];

/// SIGTERM or SIGINT: the main thread prints the meter and exits.
extern "C" fn do_stop(_num: c_int) {
    STOPPING.store(true, Ordering::Relaxed);
}

/// The online CPUs (sysconf(3)), at least `min`, at most `MAXTHREADS`.
pub fn threads_online(min: c_int) -> c_int {
    // SAFETY: sysconf(3) takes no pointers.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    online.clamp(min as c_long, MAXTHREADS as c_long) as c_int
}

/// The handler for SIGTERM and SIGINT, and both blocked: in every thread
/// created from here on too (they inherit the mask), so that they come to
/// the main thread alone, and only while it waits for them (ppoll(2)
/// unblocks them as it sleeps): none is lost between a check and the wait.
pub fn prethread_init() {
    // SAFETY: an all-zero sigaction and sigset_t are valid; every pointer
    // passed outlives its call; no other thread exists yet to read OLDMASK.
    unsafe {
        let mut newact: libc::sigaction = zeroed();
        newact.sa_sigaction = do_stop as extern "C" fn(c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut newact.sa_mask);
        newact.sa_flags = 0;
        libc::sigaction(libc::SIGTERM, &newact, ptr::null_mut());
        libc::sigaction(libc::SIGINT, &newact, ptr::null_mut());

        let mut set: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigprocmask(libc::SIG_BLOCK, &set, OLDMASK.0.get());
    }
}

/// Starts `nthreads` detached threads running `do_work`, thread `i` given
/// `i` as its argument. A thread that cannot be created is said on stderr,
/// and the server runs with those before it; with none, it exits 1.
/// Returns how many run.
pub fn prethread_start(
    nthreads: c_int,
    do_work: extern "C" fn(*mut c_void) -> *mut c_void,
    prog: &CStr,
) -> c_int {
    let mut tid: libc::pthread_t = 0;
    let mut started: c_int = 0;
    while started < nthreads {
        let arg = ptr::without_provenance_mut::<c_void>(started as usize);
        // SAFETY: do_work has the signature pthread_create(3) expects; its
        // argument is a number, not a pointer.
        let ret = unsafe { libc::pthread_create(&mut tid, ptr::null(), do_work, arg) };
        if ret != 0 {
            set_errno(ret);
            perror!(c"pthread_create");
            break;
        }
        // SAFETY: tid is the thread just created, not yet detached or joined.
        unsafe { libc::pthread_detach(tid) };
        started += 1;
        STARTED.store(started as usize, Ordering::Relaxed);
    }
    if started == 0 {
        // SAFETY: prog is a C string for %s; exit(3) does not return.
        unsafe {
            libc::fprintf(
                stderr,
                c"%s: no thread could be started\n".as_ptr(),
                prog.as_ptr(),
            );
            libc::exit(1);
        }
    }
    if started < nthreads {
        // SAFETY: prog is a C string; each %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"%s: running with %d of %d threads\n".as_ptr(),
                prog.as_ptr(),
                started,
                nthreads,
            )
        };
    }
    started
}

/// Thread `i` has taken one more connection.
pub fn prethread_served(i: c_int) {
    COUNT[i as usize].fetch_add(1, Ordering::Relaxed);
}

/// The meter, one line per thread (the connections it took), and exit 0.
fn prethread_stop() -> ! {
    for (i, count) in COUNT
        .iter()
        .take(STARTED.load(Ordering::Relaxed))
        .enumerate()
    {
        // SAFETY: %d gets a c_int, %ld a c_long.
        unsafe {
            libc::printf(
                c"thread %d: %ld connections\n".as_ptr(),
                i as c_int,
                count.load(Ordering::Relaxed) as c_long,
            )
        };
    }
    // SAFETY: exit(3) flushes stdio and does not return.
    unsafe { libc::exit(0) }
}

/// The main thread's life once the threads run: waits for SIGTERM or
/// SIGINT, and stops.
pub fn prethread_wait() -> ! {
    loop {
        if STOPPING.load(Ordering::Relaxed) {
            prethread_stop();
        }
        // SAFETY: no descriptors, no timeout; OLDMASK was written before any
        // thread was created.
        if unsafe { libc::ppoll(ptr::null_mut(), 0, ptr::null(), OLDMASK.0.get()) } < 0
            && errno() != libc::EINTR
        {
            perr_exit(c"ppoll");
        }
    }
}

/// Takes SIGTERM or SIGINT if one is pending, and stops (ppoll(2) with no
/// descriptor and no wait). A ppoll that finds its descriptor ready
/// returns without taking the signals it unblocks: a caller whose listener
/// stays readable (a client it cannot accept, out of descriptors) calls
/// this.
pub fn prethread_check() {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: no descriptors; zero outlives the call; OLDMASK as in
    // prethread_wait.
    unsafe { libc::ppoll(ptr::null_mut(), 0, &zero, OLDMASK.0.get()) };
    if STOPPING.load(Ordering::Relaxed) {
        prethread_stop();
    }
}

/// Waits until `fd` is readable (ppoll(2)); stops if SIGTERM or SIGINT
/// comes first.
pub fn prethread_poll(fd: c_int) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        if STOPPING.load(Ordering::Relaxed) {
            prethread_stop();
        }
        // SAFETY: pfd is one pollfd; no timeout; OLDMASK as in prethread_wait.
        if unsafe { libc::ppoll(&mut pfd, 1, ptr::null(), OLDMASK.0.get()) } > 0 {
            return;
        }
        if errno() != libc::EINTR {
            perr_exit(c"ppoll");
        }
    }
}
