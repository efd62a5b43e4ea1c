//! Runs one wrapper on stdin/stdout for `tests/wrap.rs` (twin of `wrap_driver.c`).
//!
//! ```text
//! wrap_driver readline MAXLEN   each Readline result as "len\n" + bytes
//! wrap_driver readn N           each Readn result as "len\n" + bytes
//! wrap_driver writen N          Writen N patterned bytes to stdout
//! wrap_driver perr_exit MSG     close(-1), then perr_exit(MSG)
//! wrap_driver accept LEN        Accept with cliaddr_len LEN a connection whose
//!                               address is longer than a sockaddr_in; prints
//!                               "LEN CANARY": the length accept returned, and
//!                               1 if the bytes after cliaddr are untouched
//! ```
//! (`accept` is Rust's alone: C's `Accept` trusts the length its caller passes.)
#![no_std]
#![no_main]
#![allow(non_upper_case_globals)]

use concserv::ffi::{stderr, stdout};
use concserv::wrap::{Accept, Readline, Readn, Rline, Writen, perr_exit, sockaddr_in_zero};
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

/// A `sockaddr_in` with bytes after it that nobody may write.
#[repr(C)]
struct Guarded {
    cliaddr: libc::sockaddr_in,
    canary: [u8; 64],
}

/// A Unix socket address in the abstract namespace: `name` after a NUL.
fn unix_addr(name: &[u8]) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut sun: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in sun.sun_path[1..].iter_mut().zip(name) {
        *d = *s as c_char;
    }
    let len = core::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    (sun, len as libc::socklen_t)
}

/// Accepts, with `Accept` and a length of `len`, a connection from a peer
/// bound to a 60-byte name, then prints what `accept` returned as the
/// length and whether the canary after `cliaddr` survived.
fn accept_long_address(len: c_int) {
    let mut g = Guarded {
        cliaddr: sockaddr_in_zero(),
        canary: [0xaa; 64],
    };
    let mut salen = len as libc::socklen_t;
    // SAFETY: getpid(2) takes no pointers.
    let pid = unsafe { libc::getpid() } as u32;
    let mut server = *b"concserv-accept-xxxxxxxx";
    let mut client = [b'c'; 60];
    for i in 0..8 {
        let digit = b"0123456789abcdef"[(pid >> (4 * i)) as usize & 15];
        server[16 + i] = digit;
        client[i] = digit;
    }
    let (saddr, slen) = unix_addr(&server);
    let (caddr, clen) = unix_addr(&client);
    // SAFETY: each address is a sockaddr_un of the length passed.
    let listenfd = unsafe {
        let listenfd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        let c = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        if libc::bind(listenfd, (&raw const saddr).cast(), slen) < 0
            || libc::listen(listenfd, 1) < 0
            || libc::bind(c, (&raw const caddr).cast(), clen) < 0
            || libc::connect(c, (&raw const saddr).cast(), slen) < 0
        {
            perr_exit(c"accept setup");
        }
        listenfd
    };
    Accept(listenfd, &mut g.cliaddr, &mut salen);
    let intact = g.canary.iter().all(|&b| b == 0xaa);
    // SAFETY: %u gets a c_uint, %d a c_int.
    unsafe { libc::printf(c"%u %d\n".as_ptr(), salen, c_int::from(intact)) };
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut n: ssize_t;

    if argc != 3 {
        // SAFETY: argv[0] is a C string.
        unsafe {
            libc::fprintf(
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
    if cmd == c"accept" {
        accept_long_address(arg);
        return 0;
    }
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
