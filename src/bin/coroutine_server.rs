//! One thread, a coroutine per connection, switched by `swapcontext(3)`
//! (twin of `coroutine_server.c`).
#![no_std]
#![no_main]

use concserv::coserver::co_server;
use concserv::uctx::CO_UCONTEXT;
use core::ffi::{CStr, c_char, c_int};

concserv::no_std_program!();

const USAGE: &CStr = c"[PORT [STACK_KB]]\n  listen on 0.0.0.0:PORT (default 8000), one thread, a coroutine per connection on a stack of STACK_KB KiB (default 64), switched by swapcontext";

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argv is main's, as glibc's start-up passes it.
    unsafe { co_server(argc, argv, USAGE, &CO_UCONTEXT) }
}
