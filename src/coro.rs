//! Coroutines on one thread, each with a stack of its own, and the
//! scheduler that switches to them as epoll says their descriptors are
//! ready (twin of `coro.c`). How a context is made and switched to is
//! given ([`CoSwitch`]): glibc's ucontext (`uctx`) or our own (`fiber`).
//! Used by `coio` and `coserver`.

use crate::epoll_loop::{MAXEVENTS, epoll_out};
use crate::fdutil::array_fit;
use crate::ffi::stderr;
use crate::outbuf::{OutBuf, out_flush, out_pending};
use crate::wrap::{Close, errno, perr_exit, perror};
use core::ffi::{c_int, c_void};
use core::mem::{MaybeUninit, size_of};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use libc::{epoll_event, sockaddr_in};

/// Calls a coroutine makes without waiting before it lets the others run.
pub const CO_RUNS: c_int = 16;

/// How a coroutine's context is made, and switched to (C: `struct co_switch`).
pub struct CoSwitch {
    /// Bytes of one context, a multiple of 16.
    pub ctx_size: usize,
    /// A context that starts `fn` on the stack `[stack, stack + size)`.
    pub make:
        unsafe extern "C" fn(ctx: *mut c_void, stack: *mut u8, size: usize, f: extern "C" fn()),
    /// Saves the running context in `from`, runs `to`.
    pub swap: unsafe extern "C" fn(from: *mut c_void, to: *mut c_void),
}

/// What a coroutine runs: itself and its argument.
pub type CoFn = unsafe fn(co: *mut Co, arg: *mut c_void);

/// One coroutine: a connection (or the listening socket) and the function
/// that serves it. It sits at the top of its own mapping, above its
/// context, its stack below them and a guard page below that (C: `struct co`).
#[repr(C)]
pub struct Co {
    /// What it waits on, closed at its end.
    pub fd: c_int,
    /// What `fd` is watched for in the set; 0: not in it.
    events: u32,
    /// Calls since it last waited.
    runs: c_int,
    /// Its function has returned.
    done: bool,
    pub peer: sockaddr_in,
    f: CoFn,
    arg: *mut c_void,
    ctx: *mut c_void,
    /// Its mapping: guard page, stack, context, this.
    map: *mut u8,
    /// On the free list.
    next: *mut Co,
    pub s: *mut Sched,
}

/// The scheduler: one epoll set, the coroutines by descriptor, the stacks
/// to reuse (C: `struct sched`).
pub struct Sched {
    sw: *const CoSwitch,
    epfd: c_int,
    /// The guard page's size.
    page: usize,
    /// One coroutine's mapping, guard page included.
    mapsize: usize,
    /// `fds[fd]`: the coroutine that waits on `fd`, or null.
    fds: *mut *mut Co,
    nfds: c_int,
    /// The coroutine running, null in the scheduler.
    cur: *mut Co,
    /// Finished coroutines, their mappings kept.
    free: *mut Co,
    /// The scheduler's own context.
    ctx: *mut c_void,
    /// The loop's stdout.
    pub o: *mut OutBuf,
}

impl Sched {
    /// No scheduler yet: the value one is declared with, where C declares
    /// one without a value; [`co_init`] makes it one.
    pub const NONE: Sched = Sched {
        sw: ptr::null(),
        epfd: -1,
        page: 0,
        mapsize: 0,
        fds: ptr::null_mut(),
        nfds: 0,
        cur: ptr::null_mut(),
        free: ptr::null_mut(),
        ctx: ptr::null_mut(),
        o: ptr::null_mut(),
    };
}

/// `struct co`'s room at the top of its mapping, a multiple of 16.
const CO_TOP: usize = (size_of::<Co>() + 15) & !15;

/// The scheduler [`co_main`] finds the running coroutine in: one per process.
static SCHED: AtomicPtr<Sched> = AtomicPtr::new(ptr::null_mut());

/// Coroutines alive, the accept loop's among them: `make watch` reads it,
/// by the name the C twin's has.
#[unsafe(no_mangle)]
#[allow(non_upper_case_globals)]
pub static co_live: AtomicI32 = AtomicI32::new(0);

/// A new scheduler: its epoll set (`epoll_create1(2)`), and stacks of
/// `stack_kb` KiB, each above a guard page; exits on failure. Every
/// function here takes the scheduler and its coroutines by raw pointer:
/// each coroutine reaches them too, between two switches.
///
/// # Safety
///
/// `s` and `o` are valid, and live as long as the process.
pub unsafe fn co_init(s: *mut Sched, sw: &'static CoSwitch, stack_kb: usize, o: *mut OutBuf) {
    // SAFETY: the caller's guarantee; sysconf(3), epoll_create1(2) and
    // malloc(3) take no pointers.
    unsafe {
        (*s).sw = sw;
        (*s).page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        (*s).mapsize = (*s).page + (stack_kb * 1024).div_ceil((*s).page) * (*s).page;
        (*s).epfd = libc::epoll_create1(0);
        if (*s).epfd < 0 {
            perr_exit(c"epoll_create1");
        }
        (*s).fds = ptr::null_mut();
        (*s).nfds = 0;
        (*s).cur = ptr::null_mut();
        (*s).free = ptr::null_mut();
        (*s).ctx = libc::malloc(sw.ctx_size);
        if (*s).ctx.is_null() {
            perr_exit(c"malloc");
        }
        (*s).o = o;
    }
    SCHED.store(s, Ordering::Relaxed);
}

/// `mmap(2)` of a coroutine's mapping, and `mprotect(2)` of its lowest
/// page: the guard page, where a stack that overflows faults (SIGSEGV)
/// instead of writing over whatever lies below. A finished coroutine's
/// mapping is taken first. Null, with a message, on failure.
///
/// # Safety
///
/// `s` is a scheduler [`co_init`] made.
unsafe fn co_new(s: *mut Sched) -> *mut Co {
    // SAFETY: the caller's guarantee; the free list holds finished
    // coroutines, in their mappings.
    unsafe {
        let c = (*s).free;
        if !c.is_null() {
            (*s).free = (*c).next;
            return c;
        }
    }
    // SAFETY: a new anonymous mapping; s is valid.
    let (map, mapsize, page) = unsafe {
        let map = libc::mmap(
            ptr::null_mut(),
            (*s).mapsize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        );
        (map, (*s).mapsize, (*s).page)
    };
    if map == libc::MAP_FAILED {
        perror!(c"mmap");
        return ptr::null_mut();
    }
    // SAFETY: map's first page is ours; map is unused if this fails.
    if unsafe { libc::mprotect(map, page, libc::PROT_NONE) } < 0 {
        perror!(c"mprotect");
        // SAFETY: map is the mapping just made, and nothing points into it.
        unsafe { libc::munmap(map, mapsize) };
        return ptr::null_mut();
    }
    let map = map.cast::<u8>();
    // SAFETY: the mapping has mapsize bytes, CO_TOP of them for the Co at
    // its top (16-aligned: mapsize is whole pages), and ctx_size below it.
    unsafe {
        let c = map.add(mapsize - CO_TOP).cast::<Co>();
        (&raw mut (*c).ctx).write(c.cast::<u8>().sub((*(*s).sw).ctx_size).cast::<c_void>());
        (&raw mut (*c).map).write(map);
        c
    }
}

/// Where every coroutine starts: its function, then back to the scheduler
/// for good, which ends it ([`co_end`]).
extern "C" fn co_main() {
    let sched = SCHED.load(Ordering::Relaxed);
    // SAFETY: the scheduler set cur to this coroutine before it switched
    // here, and both live as long as the process.
    unsafe {
        let c = (*sched).cur;
        ((*c).f)(c, (*c).arg);
        (*c).done = true;
        ((*(*sched).sw).swap)((*c).ctx, (*sched).ctx);
        libc::abort();
    }
}

/// A coroutine for `fd`, from `peer` (none for a listening socket), that
/// runs `f(c, arg)`, first when `fd` is readable: `fd` into the epoll set
/// (`epoll_ctl(2)` EPOLL_CTL_ADD), as the epoll server's `epoll_add`. On
/// failure, `fd` is closed, with a message, and -1 returned.
///
/// # Safety
///
/// `s` is a scheduler [`co_init`] made; `f` may be run with `arg`.
pub unsafe fn co_spawn(
    s: *mut Sched,
    fd: c_int,
    peer: Option<&sockaddr_in>,
    f: CoFn,
    arg: *mut c_void,
) -> c_int {
    let none: *mut Co = ptr::null_mut();

    // SAFETY: fds is null (nfds 0) or malloc(3)'s nfds pointers, replaced below.
    let fds = unsafe { array_fit((*s).fds, &mut (*s).nfds, fd, &none) };
    if fds.is_null() {
        // SAFETY: a format whose one %d gets a c_int.
        unsafe {
            libc::fprintf(
                stderr,
                c"coro: no memory for fd %d, connection closed\n".as_ptr(),
                fd,
            )
        };
        Close(fd);
        return -1;
    }
    // SAFETY: the caller's guarantee.
    unsafe { (*s).fds = fds };
    // SAFETY: the caller's guarantee.
    let c = unsafe { co_new(s) };
    if c.is_null() {
        Close(fd);
        return -1;
    }
    let mut ev = epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: ev is an epoll_event epoll_ctl(2) reads; s is valid.
    if unsafe { libc::epoll_ctl((*s).epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        perror!(c"epoll_ctl");
        // SAFETY: c is a coroutine's record, in its mapping, unused.
        unsafe {
            (&raw mut (*c).next).write((*s).free);
            (*s).free = c;
        }
        Close(fd);
        return -1;
    }
    // SAFETY: c's record is in its mapping, and its ctx and map are set
    // (co_new); the stack is the mapping from past the guard page up to
    // the context; fd < nfds (array_fit).
    unsafe {
        (&raw mut (*c).fd).write(fd);
        (&raw mut (*c).events).write(libc::EPOLLIN as u32);
        (&raw mut (*c).runs).write(0);
        (&raw mut (*c).done).write(false);
        if let Some(peer) = peer {
            (&raw mut (*c).peer).write(*peer);
        }
        (&raw mut (*c).f).write(f);
        (&raw mut (*c).arg).write(arg);
        (&raw mut (*c).s).write(s);
        let stack = (*c).map.add((*s).page);
        let size = (*c).ctx.cast::<u8>().offset_from(stack) as usize;
        ((*(*s).sw).make)((*c).ctx, stack, size, co_main);
        *(*s).fds.add(fd as usize) = c;
    }
    co_live.fetch_add(1, Ordering::Relaxed);
    0
}

/// The running coroutine `c` waits until its descriptor is ready for
/// `events` (EPOLLIN or EPOLLOUT): `epoll_ctl(2)` EPOLL_CTL_MOD when it was
/// watched for the other, then the scheduler runs. -1, with a message,
/// when epoll_ctl fails: the caller ends the connection.
///
/// # Safety
///
/// `c` is the coroutine running.
pub unsafe fn co_wait(c: *mut Co, events: u32) -> c_int {
    // SAFETY: the caller's guarantee: c and its scheduler are valid.
    let (fd, s) = unsafe { ((*c).fd, (*c).s) };
    // SAFETY: as above.
    if unsafe { (*c).events } != events {
        let mut ev = epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: as above; ev is an epoll_event epoll_ctl(2) reads.
        if unsafe { libc::epoll_ctl((*s).epfd, libc::EPOLL_CTL_MOD, fd, &mut ev) } < 0 {
            perror!(c"epoll_ctl");
            return -1;
        }
        // SAFETY: as above.
        unsafe { (*c).events = events };
    }
    // SAFETY: as above: c runs, on its own stack, and the scheduler's
    // context is where it switched from.
    unsafe {
        (*c).runs = 0;
        ((*(*s).sw).swap)((*c).ctx, (*s).ctx);
    }
    0
}

/// The others' turn: after [`CO_RUNS`] calls without waiting, `c` waits
/// for its descriptor ([`co_wait`]), which epoll then reports ready again
/// behind the others, so that a client that keeps its coroutine busy
/// cannot keep the scheduler from the rest.
///
/// # Safety
///
/// `c` is the coroutine running.
pub unsafe fn co_turn(c: *mut Co, events: u32) -> c_int {
    // SAFETY: the caller's guarantee.
    unsafe {
        let runs = (*c).runs;
        (*c).runs += 1;
        if runs < CO_RUNS {
            return 0;
        }
        co_wait(c, events)
    }
}

/// A coroutine that has returned: out of the set (`epoll_ctl(2)`
/// EPOLL_CTL_DEL), its descriptor closed (`close(2)`), each failure
/// reported, and its mapping kept for the next (the free list).
///
/// # Safety
///
/// `s` is the scheduler, `c` a coroutine of its that has returned.
unsafe fn co_end(s: *mut Sched, c: *mut Co) {
    // SAFETY: the caller's guarantee; EPOLL_CTL_DEL takes a null event.
    if unsafe { libc::epoll_ctl((*s).epfd, libc::EPOLL_CTL_DEL, (*c).fd, ptr::null_mut()) } < 0 {
        perror!(c"epoll_ctl");
    }
    // SAFETY: close(2) takes no pointers; the coroutine owns its fd.
    if unsafe { libc::close((*c).fd) } < 0 {
        perror!(c"close");
    }
    // SAFETY: fd < nfds (co_spawn); c's record is in its mapping.
    unsafe {
        *(*s).fds.add((*c).fd as usize) = ptr::null_mut();
        (*c).next = (*s).free;
        (*s).free = c;
    }
    co_live.fetch_sub(1, Ordering::Relaxed);
}

/// Runs `c` until it waits or returns; ends it if it returned.
///
/// # Safety
///
/// `s` is the scheduler, running; `c` a coroutine of its that waits.
unsafe fn co_resume(s: *mut Sched, c: *mut Co) {
    // SAFETY: the caller's guarantee: c's context is one co_spawn made or
    // co_wait saved; its record stays in its mapping.
    unsafe {
        (*s).cur = c;
        ((*(*s).sw).swap)((*s).ctx, (*c).ctx);
        (*s).cur = ptr::null_mut();
        if (*c).done {
            co_end(s, c);
        }
    }
}

/// The scheduler, for ever: the loop's stdout into the set or out of it
/// ([`epoll_out`]), `epoll_wait(2)`, then stdout flushed if it is
/// writable, and each ready coroutine run, in the order of epoll's ready
/// list.
///
/// # Safety
///
/// `s` is a scheduler [`co_init`] made.
pub unsafe fn co_run(s: *mut Sched) -> ! {
    let mut events = MaybeUninit::<[epoll_event; MAXEVENTS]>::uninit();

    loop {
        // SAFETY: the caller's guarantee; s.o is the server's stdout,
        // which outlives the scheduler.
        let (epfd, o) = unsafe { ((*s).epfd, &mut *(*s).o) };
        if out_pending(o) != o.watched {
            epoll_out(epfd, o);
        }
        // SAFETY: events has room for MAXEVENTS events.
        let n = unsafe {
            libc::epoll_wait(
                epfd,
                events.as_mut_ptr().cast::<epoll_event>(),
                MAXEVENTS as c_int,
                -1,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            perr_exit(c"epoll_wait");
        }
        for i in 0..n as usize {
            // SAFETY: epoll_wait(2) filled the first n events.
            let fd = unsafe { (*events.as_ptr().cast::<epoll_event>().add(i)).u64 } as c_int;
            // SAFETY: as above.
            let o = unsafe { &mut *(*s).o };
            if o.watched && fd == o.fd {
                out_flush(o);
                continue;
            }
            // SAFETY: fd < nfds, the slots of fds; a coroutine found there waits.
            unsafe {
                if fd < (*s).nfds {
                    let c = *(*s).fds.add(fd as usize);
                    if !c.is_null() {
                        co_resume(s, c);
                    }
                }
            }
        }
    }
}
