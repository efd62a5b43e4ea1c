//! The thread-per-connection servers' slots, one per connection's thread,
//! handed over under a mutex; a main thread that finds none free waits on a
//! condition variable until a thread frees one (twin of `slots.c`). Used by
//! the thread and reaper servers; its `Mutex` and `Cond`, the statics'
//! wrappers for a pthread mutex and condition variable (C needs none), by
//! the prethreaded servers too.
#![allow(non_camel_case_types, non_upper_case_globals)]

use crate::wrap::sockaddr_in_zero;
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_long};
use libc::{pthread_t, sockaddr_in};

pub const MAXSLOTS: usize = 256;

/// What one connection's thread needs; `connfd == -1` marks a free slot.
#[repr(C)]
pub struct s_info {
    pub cliaddr: UnsafeCell<sockaddr_in>,
    pub connfd: UnsafeCell<c_int>,
    /// Reaper: the connection's number, from 1.
    pub num: UnsafeCell<c_long>,
    /// Reaper: written by the thread itself when it is done.
    pub tid: UnsafeCell<pthread_t>,
}

// SAFETY: a free slot's fields are written by the main thread alone, a busy
// slot's by its thread alone (or, in the reaper server, its connfd by the
// reaper, once the thread is joined); the hand-over, connfd becoming -1 and
// being seen as -1, happens under slots_lock, and pthread_create orders the main
// thread's writes before the new thread's reads. The reaper server writes
// tid under a lock of its own (see there).
unsafe impl Sync for s_info {}

pub static ts: [s_info; MAXSLOTS] = [const {
    s_info {
        cliaddr: UnsafeCell::new(sockaddr_in_zero()),
        connfd: UnsafeCell::new(-1),
        num: UnsafeCell::new(0),
        tid: UnsafeCell::new(0),
    }
}; MAXSLOTS];

/// A `pthread_mutex_t` that can live in a static.
pub struct Mutex(pub UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex exists to be shared between threads.
unsafe impl Sync for Mutex {}

/// A `pthread_cond_t` that can live in a static.
pub struct Cond(pub UnsafeCell<libc::pthread_cond_t>);

// SAFETY: a condition variable exists to be shared between threads.
unsafe impl Sync for Cond {}

/// Guards the connfd of every slot, the mark that hands a slot over;
/// slot_freed is signalled each time a slot becomes free.
static slots_lock: Mutex = Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
static slot_freed: Cond = Cond(UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER));

/// A free slot; while every slot is busy, waits until a thread frees one
/// (pthread_cond_wait(3)).
pub fn find_slot() -> &'static s_info {
    // SAFETY: slots_lock and slot_freed are initialised; connfd is read
    // under the lock, which pthread_cond_wait gives back before it returns.
    unsafe {
        libc::pthread_mutex_lock(slots_lock.0.get());
        let info = loop {
            if let Some(info) = ts.iter().find(|info| *info.connfd.get() == -1) {
                break info;
            }
            libc::pthread_cond_wait(slot_freed.0.get(), slots_lock.0.get());
        };
        libc::pthread_mutex_unlock(slots_lock.0.get());
        info
    }
}

/// Marks a slot free, and wakes the main thread if it waits for one (no
/// system call when no one waits); its thread no longer touches it.
pub fn release_slot(info: &s_info) {
    // SAFETY: slots_lock and slot_freed are initialised, and connfd is
    // written under the lock.
    unsafe {
        libc::pthread_mutex_lock(slots_lock.0.get());
        *info.connfd.get() = -1;
        libc::pthread_cond_signal(slot_freed.0.get());
        libc::pthread_mutex_unlock(slots_lock.0.get());
    }
}
