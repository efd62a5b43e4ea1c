//! The classic concurrent TCP servers' shared pieces, in `no_std` Rust over `libc`.
//!
//! Each module but `ffi` (the few glibc declarations the `libc` crate lacks)
//! has a C twin beside it (`wrap.rs` and `wrap.c`, ...): the same functions,
//! in the same order, making the same system calls. The table of programs
//! is a crate of its own, `programs/`.
#![no_std]

pub mod accept;
pub mod args;
pub mod coio;
pub mod conn;
pub mod coro;
pub mod coserver;
pub mod echo;
pub mod epoll_loop;
pub mod fdutil;
pub mod ffi;
pub mod fiber;
pub mod listen;
pub mod outbuf;
pub mod prefork;
pub mod prethread;
pub mod slots;
pub mod uctx;
pub mod uring;
pub mod wrap;

/// What a `#![no_std]` + `#![no_main]` program must supply itself: a panic
/// handler (abort, as `panic = "abort"` everywhere) and the
/// `rust_eh_personality` symbol that the precompiled `core` may refer to.
/// Expand it once at the top level of each program.
#[macro_export]
macro_rules! no_std_program {
    () => {
        #[cfg(not(test))]
        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo) -> ! {
            // SAFETY: abort(3) has no preconditions and does not return.
            unsafe { libc::abort() }
        }

        #[cfg(not(test))]
        #[unsafe(no_mangle)]
        extern "C" fn rust_eh_personality() {}
    };
}
