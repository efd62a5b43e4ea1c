//! A coroutine's context of our own (twin of `fiber.c`): the stack pointer
//! it was switched away at, its callee-saved registers pushed below it.
//! The switch is a few instructions and makes no system call: the signal
//! mask, which `swapcontext(3)` sets at every switch, is left alone (no
//! coroutine changes it). x86-64 and aarch64. Used by fiber_server.

use crate::coro::CoSwitch;
use core::ffi::c_void;

/// A fiber's context: where its registers were pushed (C: `struct fiber`).
#[repr(C)]
struct Fiber {
    sp: *mut usize,
}

// fiber_swap(from, to): push the callee-saved registers, save the stack
// pointer in from, load to's, pop its registers and return where to was
// switched away (or to its function, the first time: fiber_make).
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".text",
    ".globl fiber_swap",
    ".type fiber_swap, @function",
    "fiber_swap:",
    "    pushq %rbp",
    "    pushq %rbx",
    "    pushq %r12",
    "    pushq %r13",
    "    pushq %r14",
    "    pushq %r15",
    "    movq %rsp, (%rdi)",
    "    movq (%rsi), %rsp",
    "    popq %r15",
    "    popq %r14",
    "    popq %r13",
    "    popq %r12",
    "    popq %rbx",
    "    popq %rbp",
    "    ret",
    ".size fiber_swap, .-fiber_swap",
    options(att_syntax)
);

/// r15-r12, rbx, rbp, the return address, and `fn`'s own (0).
#[cfg(target_arch = "x86_64")]
const FIBER_FRAME: usize = 8;
#[cfg(target_arch = "x86_64")]
const FIBER_RET: usize = 6;

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    ".globl fiber_swap",
    ".type fiber_swap, %function",
    "fiber_swap:",
    "    sub sp, sp, #176",
    "    stp x19, x20, [sp, #0]",
    "    stp x21, x22, [sp, #16]",
    "    stp x23, x24, [sp, #32]",
    "    stp x25, x26, [sp, #48]",
    "    stp x27, x28, [sp, #64]",
    "    stp x29, x30, [sp, #80]",
    "    stp d8, d9, [sp, #96]",
    "    stp d10, d11, [sp, #112]",
    "    stp d12, d13, [sp, #128]",
    "    stp d14, d15, [sp, #144]",
    "    mov x9, sp",
    "    str x9, [x0]",
    "    ldr x9, [x1]",
    "    mov sp, x9",
    "    ldp x19, x20, [sp, #0]",
    "    ldp x21, x22, [sp, #16]",
    "    ldp x23, x24, [sp, #32]",
    "    ldp x25, x26, [sp, #48]",
    "    ldp x27, x28, [sp, #64]",
    "    ldp x29, x30, [sp, #80]",
    "    ldp d8, d9, [sp, #96]",
    "    ldp d10, d11, [sp, #112]",
    "    ldp d12, d13, [sp, #128]",
    "    ldp d14, d15, [sp, #144]",
    "    add sp, sp, #176",
    "    ret",
    ".size fiber_swap, .-fiber_swap",
);

/// x19-x28, x29, x30 (the return address), d8-d15, and two words unused
/// (the frame is 176 bytes).
#[cfg(target_arch = "aarch64")]
const FIBER_FRAME: usize = 22;
#[cfg(target_arch = "aarch64")]
const FIBER_RET: usize = 11;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("fiber.rs: a fiber switch for x86-64 and aarch64 only");

unsafe extern "C" {
    /// The switch above: `from` and `to` are [`Fiber`]s, `to` one that
    /// [`fiber_make`] made or a switch saved.
    fn fiber_swap(from: *mut c_void, to: *mut c_void);
}

/// A context that starts `f` on the stack `[stack, stack + size)`: a frame
/// as `fiber_swap` leaves one, registers zero and `f` as the return
/// address, placed so that `f` starts with the stack aligned as after a
/// call.
///
/// # Safety
///
/// `ctx` has room for a [`Fiber`]; the stack is unused and writable.
unsafe extern "C" fn fiber_make(ctx: *mut c_void, stack: *mut u8, size: usize, f: extern "C" fn()) {
    let fb = ctx.cast::<Fiber>();
    let top = (stack as usize + size) & !15;
    let sp = (top as *mut usize).wrapping_sub(FIBER_FRAME);

    // SAFETY: the caller's guarantee: the frame is the stack's top.
    unsafe {
        for i in 0..FIBER_FRAME {
            *sp.add(i) = 0;
        }
        *sp.add(FIBER_RET) = f as usize;
        (*fb).sp = sp;
    }
}

/// C: `co_fiber`.
pub static CO_FIBER: CoSwitch = CoSwitch {
    ctx_size: 16,
    make: fiber_make,
    swap: fiber_swap,
};
