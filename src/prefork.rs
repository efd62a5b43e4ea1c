//! The children a preforked server creates before its clients come,
//! replaced when they die, stopped on SIGTERM or SIGINT, and the meter of
//! the connections each took (twin of `prefork.c`). Used by the prefork,
//! prefork_lock, prefork_mutex, prefork_passfd and herd servers.

use crate::ffi::stderr;
use crate::wrap::{ACCEPT_BACKOFF_USEC, accept_transient, errno, perr_exit};
use core::ffi::{c_int, c_void};
use core::mem::{size_of, zeroed};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use libc::{pid_t, sockaddr, sockaddr_in, socklen_t};

/// The children a server makes when CHILDREN is not given, and at most.
pub const CHILDREN_DEFAULT: c_int = 4;
pub const MAXCHILDREN: usize = 64;

/// How many times a fork that fails is tried, a second apart.
pub const FORK_TRIES: c_int = 5;

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
}

static STOPPING: AtomicBool = AtomicBool::new(false);

/// SIGTERM or SIGINT: the parent stops its children, and then itself.
extern "C" fn do_stop(_num: c_int) {
    STOPPING.store(true, Ordering::Relaxed);
}

/// The children's slots, empty; their meter in a shared anonymous
/// mapping (mmap(2)), which every child writes its own count into; and
/// the handler for SIGTERM and SIGINT, without SA_RESTART, so that they
/// interrupt the parent's wait.
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

    // SAFETY: an all-zero sigaction is valid; every pointer passed outlives the call.
    unsafe {
        let mut newact: libc::sigaction = zeroed();
        newact.sa_sigaction = do_stop as extern "C" fn(c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut newact.sa_mask);
        newact.sa_flags = 0;
        libc::sigaction(libc::SIGTERM, &newact, ptr::null_mut());
        libc::sigaction(libc::SIGINT, &newact, ptr::null_mut());
    }
    pf
}

impl Prefork {
    /// Slot `i`'s count of connections, in the shared mapping.
    pub fn count(&self, i: c_int) -> *mut libc::c_long {
        // SAFETY: count maps MAXCHILDREN longs, and i < nchildren <= MAXCHILDREN.
        unsafe { self.count.add(i as usize) }
    }

    /// Slot `i`'s count, one more: a connection taken.
    pub fn counted(&self, i: c_int) {
        // SAFETY: as in count(); only slot i's child (or the parent alone) writes it.
        unsafe { *self.count(i) += 1 };
    }
}

/// Whether SIGTERM or SIGINT has come.
pub fn prefork_stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// `fork(2)` the child of slot `i`, tried FORK_TRIES times a second apart;
/// the child takes the default action for SIGTERM and SIGINT again, asks
/// for SIGTERM when its parent dies (prctl(2) PR_SET_PDEATHSIG: a parent
/// killed leaves no child serving behind it), and runs `child_main`.
/// Returns the child's pid, or -1 when no child could be made.
pub fn child_make(pf: &mut Prefork, i: c_int) -> pid_t {
    let mut tries = 1;
    let pid = loop {
        // SAFETY: the process has one thread, so the child may go on running anything.
        let pid = unsafe { libc::fork() };
        if pid >= 0 {
            break pid;
        }
        // SAFETY: a NUL-terminated message.
        unsafe { libc::perror(c"fork".as_ptr()) };
        if tries == FORK_TRIES || prefork_stopping() {
            // SAFETY: the format's one conversion, %d, gets a c_int.
            unsafe { libc::fprintf(stderr, c"child %d: not started\n".as_ptr(), i) };
            return -1;
        }
        // SAFETY: sleep(3) takes no pointers.
        unsafe { libc::sleep(1) };
        tries += 1;
    };
    if pid == 0 {
        // SAFETY: SIG_DFL is a valid disposition for both; prctl(2) and
        // getppid(2) take no pointers; exit(3) does not return.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
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

/// SIGTERM to each child and a wait for it, one after the other (so that
/// each SIGCHLD comes after the wait it ends, the same in every run), the
/// meter (one line per child: the connections its slot took), and exit 0.
pub fn prefork_stop(pf: &mut Prefork) -> ! {
    for &pid in &pf.pid[..pf.nchildren as usize] {
        if pid <= 0 {
            continue;
        }
        // SAFETY: kill(2) takes no pointers; waitpid(2) accepts a null status pointer.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
            while libc::waitpid(pid, ptr::null_mut(), 0) < 0 && errno() == libc::EINTR {}
        }
    }
    for i in 0..pf.nchildren {
        // SAFETY: %d gets a c_int, %ld a c_long.
        unsafe { libc::printf(c"child %d: %ld connections\n".as_ptr(), i, *pf.count(i)) };
    }
    // SAFETY: exit(3) flushes stdio and does not return.
    unsafe { libc::exit(0) }
}

/// The parent's life once its children are made: wait(2) for one to end,
/// and make another in its slot, until SIGTERM or SIGINT.
pub fn prefork_wait(pf: &mut Prefork) -> ! {
    let mut status: c_int = 0;
    loop {
        // SAFETY: status is a writable int.
        let pid = unsafe { libc::wait(&mut status) };
        let i = if pid > 0 {
            child_ended(pf, pid, status)
        } else {
            -1
        };
        if prefork_stopping() {
            prefork_stop(pf);
        }
        if i >= 0 {
            child_make(pf, i);
        } else if pid < 0 && errno() != libc::EINTR {
            perr_exit(c"wait");
        }
    }
}

/// `accept(2)` on a non-blocking listener that poll or epoll said was
/// ready: the connection, a blocking socket; or -1 when there was none
/// after all (another process took it: EAGAIN; or it was reset), or after
/// a pause when out of descriptors or memory (it waits in the queue).
pub fn accept_ready(listenfd: c_int, cliaddr: &mut sockaddr_in) -> c_int {
    let mut cliaddr_len = size_of::<sockaddr_in>() as socklen_t;
    // SAFETY: cliaddr is writable for cliaddr_len bytes.
    let connfd = unsafe {
        libc::accept(
            listenfd,
            (cliaddr as *mut sockaddr_in).cast::<sockaddr>(),
            &mut cliaddr_len,
        )
    };
    if connfd >= 0 {
        return connfd;
    }
    let e = errno();
    if e == libc::EAGAIN || e == libc::EINTR || accept_transient(e) {
        return -1;
    }
    if e == libc::EMFILE || e == libc::ENFILE || e == libc::ENOBUFS || e == libc::ENOMEM {
        // SAFETY: a NUL-terminated message; usleep(3) takes no pointers.
        unsafe {
            libc::perror(c"accept".as_ptr());
            libc::usleep(ACCEPT_BACKOFF_USEC);
        }
        return -1;
    }
    perr_exit(c"accept");
}
