//! The children a preforked server creates before its clients come,
//! replaced when they die, stopped on SIGTERM or SIGINT, and the meter of
//! the connections each took (twin of `prefork.c`). Used by the prefork,
//! prefork_lock, prefork_mutex, prefork_passfd and herd servers.

use crate::ffi::stderr;
use crate::wrap::{errno, perr_exit, perror};
use core::ffi::{c_int, c_void};
use core::mem::{size_of, zeroed};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use libc::pid_t;

/// The children a server makes when CHILDREN is not given, and at most.
pub const CHILDREN_DEFAULT: c_int = 4;
pub const MAXCHILDREN: usize = 64;

/// Seconds between two tries at a fork that failed.
pub const FORK_RETRY_SEC: libc::time_t = 1;

pub struct Prefork {
    pub parent: pid_t,
    pub listenfd: c_int,
    pub nchildren: c_int,
    /// 0: no child in this slot.
    pub pid: [pid_t; MAXCHILDREN],
    /// Connections per slot, shared with the children.
    pub count: *mut libc::c_long,
    /// Never returns.
    pub child_main: fn(&mut Prefork, c_int) -> !,
    /// The program's own: its lock, its pipes.
    pub arg: *mut c_void,
    /// The mask before SIGTERM, SIGINT, SIGCHLD were blocked.
    pub oldmask: libc::sigset_t,
}

static STOPPING: AtomicBool = AtomicBool::new(false);

/// SIGTERM or SIGINT: the parent stops its children, and then itself.
extern "C" fn do_stop(_num: c_int) {
    STOPPING.store(true, Ordering::Relaxed);
}

/// SIGCHLD: nothing to do here; it ends the parent's wait, which reaps.
extern "C" fn do_sigchild(_num: c_int) {}

/// The children's slots, empty; their meter in a shared anonymous
/// mapping (mmap(2)), which every child writes its own count into; the
/// handlers for SIGTERM, SIGINT and SIGCHLD; and those three blocked, so
/// that they come only while the parent waits for them (ppoll(2) unblocks
/// them as it sleeps): none is lost between a check and the wait.
pub fn prefork_init(
    listenfd: c_int,
    nchildren: c_int,
    child_main: fn(&mut Prefork, c_int) -> !,
    arg: *mut c_void,
) -> Prefork {
    let mut pf = Prefork {
        // SAFETY: getpid(2) takes nothing.
        parent: unsafe { libc::getpid() },
        listenfd,
        nchildren,
        pid: [0; MAXCHILDREN],
        count: ptr::null_mut(),
        child_main,
        arg,
        // SAFETY: an all-zero sigset_t is a valid (empty) set.
        oldmask: unsafe { zeroed() },
    };
    // SAFETY: a new anonymous mapping, at no address of ours.
    let count = unsafe {
        libc::mmap(
            ptr::null_mut(),
            MAXCHILDREN * size_of::<libc::c_long>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if count == libc::MAP_FAILED {
        perr_exit(c"mmap");
    }
    pf.count = count.cast();

    // SAFETY: an all-zero sigaction and sigset_t are valid; every pointer
    // passed outlives its call.
    unsafe {
        let mut newact: libc::sigaction = zeroed();
        newact.sa_sigaction = do_stop as extern "C" fn(c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut newact.sa_mask);
        newact.sa_flags = 0;
        libc::sigaction(libc::SIGTERM, &newact, ptr::null_mut());
        libc::sigaction(libc::SIGINT, &newact, ptr::null_mut());
        newact.sa_sigaction = do_sigchild as extern "C" fn(c_int) as libc::sighandler_t;
        libc::sigaction(libc::SIGCHLD, &newact, ptr::null_mut());

        let mut set: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut pf.oldmask);
    }
    pf
}

impl Prefork {
    /// Slot `i`'s count of connections, in the shared mapping; `abort(3)`,
    /// with a message, when `i` is no slot (C: `prefork_count`).
    pub fn count(&self, i: c_int) -> *mut libc::c_long {
        if i < 0 || i as usize >= MAXCHILDREN {
            // SAFETY: a format whose one %d gets a c_int; abort(3) does not return.
            unsafe {
                libc::fprintf(stderr, c"prefork: no slot %d\n".as_ptr(), i);
                libc::abort();
            }
        }
        // SAFETY: count maps MAXCHILDREN longs, and 0 <= i < MAXCHILDREN
        // (checked above).
        unsafe { self.count.add(i as usize) }
    }

    /// Slot `i`'s count, one more: a connection taken (C: `prefork_counted`).
    pub fn counted(&self, i: c_int) {
        // SAFETY: as in count(); only slot i's child (or the parent alone) writes it.
        unsafe { *self.count(i) += 1 };
    }
}

/// Takes SIGTERM, SIGINT or SIGCHLD if one is pending (ppoll(2) with no
/// descriptor and no wait). A ppoll that finds a descriptor ready returns
/// without taking the signals it unblocks: a parent whose listener stays
/// readable (a client it cannot accept, out of descriptors) calls this.
pub fn prefork_check(pf: &Prefork) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: no descriptors; zero and pf.oldmask outlive the call.
    unsafe { libc::ppoll(ptr::null_mut(), 0, &zero, &pf.oldmask) };
}

/// Whether SIGTERM or SIGINT has come.
pub fn prefork_stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// `fork(2)` the child of slot `i`. The child takes the default action for
/// SIGTERM again, ignores SIGINT (a Ctrl-C reaches the whole group: the
/// parent stops the children), unblocks the signals, asks for SIGTERM when
/// its parent dies (prctl(2) PR_SET_PDEATHSIG: a parent killed leaves no
/// child serving behind it), and runs `child_main`. Returns the child's
/// pid, or -1, said on stderr, when fork fails: the slot stays empty.
pub fn child_make(pf: &mut Prefork, i: c_int) -> pid_t {
    // SAFETY: the process has one thread, so the child may go on running anything.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        perror!(c"fork");
        return -1;
    }
    if pid == 0 {
        // SAFETY: SIG_DFL and SIG_IGN are valid dispositions; oldmask is
        // the mask sigprocmask(2) gave back; prctl(2) and getppid(2) take
        // no pointers; exit(3) does not return.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            libc::sigprocmask(libc::SIG_SETMASK, &pf.oldmask, ptr::null_mut());
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            // it died before prctl
            if libc::getppid() != pf.parent {
                libc::exit(0);
            }
        }
        (pf.child_main)(pf, i);
    }
    pf.pid[i as usize] = pid;
    pid
}

/// The child `pid` has ended, with `status` (from wait(2)): its slot is
/// emptied and its end said on stderr. Returns the slot, -1 if `pid` is
/// not one of the children.
pub fn child_ended(pf: &mut Prefork, pid: pid_t, status: c_int) -> c_int {
    let Some(i) = (0..pf.nchildren).find(|&i| pf.pid[i as usize] == pid) else {
        return -1;
    };
    pf.pid[i as usize] = 0;
    // SAFETY: each format's two conversions, %d, get c_ints.
    unsafe {
        if libc::WIFSIGNALED(status) {
            libc::fprintf(
                stderr,
                c"child %d: killed by signal %d\n".as_ptr(),
                i,
                libc::WTERMSIG(status),
            );
        } else {
            libc::fprintf(
                stderr,
                c"child %d: exited with status %d\n".as_ptr(),
                i,
                libc::WEXITSTATUS(status),
            );
        }
    }
    i
}

/// A child for every empty slot; returns how many are still empty.
pub fn prefork_refill(pf: &mut Prefork) -> c_int {
    let mut empty = 0;
    for i in 0..pf.nchildren {
        if pf.pid[i as usize] == 0 && child_make(pf, i) < 0 {
            empty += 1;
        }
    }
    empty
}

/// SIGTERM to each child and a wait for it, one after the other (SIGCHLD
/// stays blocked), the meter (one line per child: the connections its slot
/// took), and exit 0.
pub fn prefork_stop(pf: &mut Prefork) -> ! {
    for &pid in &pf.pid[..pf.nchildren as usize] {
        if pid <= 0 {
            continue;
        }
        // SAFETY: kill(2) takes no pointers; waitpid(2) accepts a null status pointer.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
            libc::waitpid(pid, ptr::null_mut(), 0);
        }
    }
    for i in 0..pf.nchildren {
        // SAFETY: %d gets a c_int, %ld a c_long.
        unsafe { libc::printf(c"child %d: %ld connections\n".as_ptr(), i, *pf.count(i)) };
    }
    // SAFETY: exit(3) flushes stdio and does not return.
    unsafe { libc::exit(0) }
}

/// The parent's life: a child in every slot, and then, until SIGTERM or
/// SIGINT, the children that end reaped (waitpid(2) WNOHANG) and made
/// again; between two rounds, a wait for a signal (ppoll(2), no
/// descriptor), a second at most while a slot is empty (its fork failed).
pub fn prefork_wait(pf: &mut Prefork) -> ! {
    let retry = libc::timespec {
        tv_sec: FORK_RETRY_SEC,
        tv_nsec: 0,
    };
    let mut status: c_int = 0;
    loop {
        if prefork_stopping() {
            prefork_stop(pf);
        }
        loop {
            // SAFETY: status is a writable int.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            child_ended(pf, pid, status);
        }
        let timeout = if prefork_refill(pf) > 0 {
            &raw const retry
        } else {
            ptr::null()
        };
        // SAFETY: no descriptors; timeout is null or points to retry;
        // oldmask is the mask sigprocmask(2) gave back.
        if unsafe { libc::ppoll(ptr::null_mut(), 0, timeout, &pf.oldmask) } < 0
            && errno() != libc::EINTR
        {
            perr_exit(c"ppoll");
        }
    }
}
