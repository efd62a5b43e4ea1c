//! Runs one wrapper on stdin/stdout for `tests/wrap.rs` (twin of `wrap_driver.c`).
//!
//! ```text
//! wrap_driver readline MAXLEN   each Readline result as "len\n" + bytes
//! wrap_driver readn N           each Readn result as "len\n" + bytes
//! wrap_driver writen N          Writen N patterned bytes to stdout
//! wrap_driver perr_exit MSG     close(-1), then perr_exit(MSG)
//! ```
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::ffi::{fprintf, stderr, stdout};
use concserv::wrap::{Readline, Readn, Rline, Writen, perr_exit};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int};
use core::ptr;
use libc::ssize_t;

concserv::no_std_program!();

const BIG: usize = 1 << 20;

struct Buf(UnsafeCell<[u8; BIG]>);
// SAFETY: the driver has one thread.
unsafe impl Sync for Buf {}
static buf: Buf = Buf(UnsafeCell::new([0; BIG]));

/// One result: its length as a decimal line, then its bytes.
fn record(b: &[u8], n: ssize_t) {
    // SAFETY: %zd gets an ssize_t.
    unsafe { libc::printf(c"%zd\n".as_ptr(), n) };
    if n > 0 {
        Writen(libc::STDOUT_FILENO, &b[..n as usize]);
    }
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut n: ssize_t;

    if argc != 3 {
        // SAFETY: argv[0] is a C string.
        unsafe {
            fprintf(
                stderr,
                c"usage: %s readline|readn|writen|perr_exit ARG\n".as_ptr(),
                *argv,
            )
        };
        return 2;
    }
    // SAFETY: argv holds argc C strings; stdout is glibc's stream, unused so far;
    // buf is used by this one thread only.
    let (cmd, argv2, b) = unsafe {
        libc::setvbuf(stdout, ptr::null_mut(), libc::_IONBF, 0);
        (
            CStr::from_ptr(*argv.add(1)),
            CStr::from_ptr(*argv.add(2)),
            &mut *buf.0.get(),
        )
    };
    // SAFETY: argv2 is a C string.
    let arg = unsafe { libc::atoi(argv2.as_ptr()) };
    if cmd == c"perr_exit" {
        // SAFETY: close(2) takes no pointers; -1 is never a descriptor.
        unsafe { libc::close(-1) };
        perr_exit(argv2);
    }
    if arg < 0 || arg as usize > BIG {
        return 2;
    }
    let arg = arg as usize;
    if cmd == c"readline" {
        let mut rl = Rline::new(libc::STDIN_FILENO);
        loop {
            n = Readline(&mut rl, &mut b[..arg]);
            record(b, n);
            if n <= 0 {
                break;
            }
        }
    } else if cmd == c"readn" {
        loop {
            n = Readn(libc::STDIN_FILENO, &mut b[..arg]);
            record(b, n);
            if n <= 0 {
                break;
            }
        }
    } else if cmd == c"writen" {
        for (i, c) in b[..arg].iter_mut().enumerate() {
            *c = (i * 7 + 3) as u8;
        }
        return if Writen(libc::STDOUT_FILENO, &b[..arg]) == arg as ssize_t {
            0
        } else {
            1
        };
    } else {
        return 2;
    }
    0
}
