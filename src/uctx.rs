//! A coroutine's context as glibc's `ucontext_t` (twin of `uctx.c`): made
//! by `getcontext(3)` and `makecontext(3)`, switched by `swapcontext(3)`,
//! which sets the signal mask as it switches: an `rt_sigprocmask(2)` each
//! time. Used by coroutine_server.

use crate::coro::CoSwitch;
use crate::wrap::perr_exit;
use core::ffi::c_void;
use core::mem::size_of;
use libc::ucontext_t;

/// `getcontext(3)`, then `makecontext(3)`: `ctx` starts `f` on the stack
/// `[stack, stack + size)`; exits on failure.
///
/// # Safety
///
/// `ctx` has room for a `ucontext_t`, 16-aligned; the stack is unused.
unsafe extern "C" fn uctx_make(ctx: *mut c_void, stack: *mut u8, size: usize, f: extern "C" fn()) {
    let uc = ctx.cast::<ucontext_t>();

    // SAFETY: the caller's guarantee.
    unsafe {
        if libc::getcontext(uc) < 0 {
            perr_exit(c"getcontext");
        }
        (*uc).uc_stack.ss_sp = stack.cast::<c_void>();
        (*uc).uc_stack.ss_size = size;
        (*uc).uc_link = core::ptr::null_mut();
        libc::makecontext(uc, f, 0);
    }
}

/// `swapcontext(3)`: the running context saved in `from`, `to` to run;
/// exits on failure.
///
/// # Safety
///
/// Both are `ucontext_t`s; `to` one that [`uctx_make`] made or this saved.
unsafe extern "C" fn uctx_swap(from: *mut c_void, to: *mut c_void) {
    // SAFETY: the caller's guarantee.
    if unsafe { libc::swapcontext(from.cast::<ucontext_t>(), to.cast::<ucontext_t>()) } < 0 {
        perr_exit(c"swapcontext");
    }
}

/// C: `co_ucontext`.
pub static CO_UCONTEXT: CoSwitch = CoSwitch {
    ctx_size: (size_of::<ucontext_t>() + 15) & !15,
    make: uctx_make,
    swap: uctx_swap,
};
