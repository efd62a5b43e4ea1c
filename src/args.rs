//! Command-line arguments shared by the programs (twin of `args.c`).

use crate::ffi::stderr;
use core::ffi::{CStr, c_char, c_int};
use core::ptr;

pub const DEFAULT_PORT: c_int = 8000;

/// The usage line on stderr, and exit status 2.
///
/// # Safety
/// `argv[0]` must be a valid C string.
unsafe fn usage_exit(argv: *const *const c_char, usage: &CStr) -> ! {
    // SAFETY: argv[0] and usage are C strings, one for each %s.
    unsafe {
        libc::fprintf(stderr, c"usage: %s %s\n".as_ptr(), *argv, usage.as_ptr());
        libc::exit(2)
    }
}

/// `-h` or `--help`: the usage line on stdout, exit 0. More than `maxargs`
/// arguments: the usage line on stderr, exit 2.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn check_args(argc: c_int, argv: *const *const c_char, maxargs: c_int, usage: &CStr) {
    // SAFETY: the caller guarantees argv[0..argc] are valid C strings.
    unsafe {
        if argc > 1
            && (libc::strcmp(*argv.add(1), c"-h".as_ptr()) == 0
                || libc::strcmp(*argv.add(1), c"--help".as_ptr()) == 0)
        {
            libc::printf(c"usage: %s %s\n".as_ptr(), *argv, usage.as_ptr());
            libc::exit(0);
        }
        if argc > maxargs + 1 {
            libc::fprintf(stderr, c"%s: too many arguments\n".as_ptr(), *argv);
            usage_exit(argv, usage);
        }
    }
}

/// `argv[i]` as a number from `min` to `max`, `dflt` when absent; exit 2,
/// saying which argument (`what`) was wrong, when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
#[allow(clippy::too_many_arguments)]
unsafe fn number_arg(
    argc: c_int,
    argv: *const *const c_char,
    i: c_int,
    dflt: c_int,
    min: c_int,
    max: c_int,
    what: &CStr,
    usage: &CStr,
) -> c_int {
    let mut end: *mut c_char = ptr::null_mut();

    if i >= argc {
        return dflt;
    }
    // SAFETY: the caller guarantees argv[0..argc] are valid C strings, and i < argc.
    unsafe {
        let arg = *argv.add(i as usize);
        let n = libc::strtol(arg, &mut end, 10);
        if ptr::eq(end, arg)
            || *end != 0
            || n < libc::c_long::from(min)
            || n > libc::c_long::from(max)
        {
            libc::fprintf(
                stderr,
                c"%s: invalid %s: %s\n".as_ptr(),
                *argv,
                what.as_ptr(),
                arg,
            );
            usage_exit(argv, usage);
        }
        n as c_int
    }
}

/// `argv[i]` as a TCP port, [`DEFAULT_PORT`] when absent; exit 2 when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn port_arg(argc: c_int, argv: *const *const c_char, i: c_int, usage: &CStr) -> c_int {
    // SAFETY: the caller's guarantee.
    unsafe { number_arg(argc, argv, i, DEFAULT_PORT, 1, 65535, c"port", usage) }
}

/// `argv[i]` as a number of threads from 1 to `max`, `dflt` when absent;
/// exit 2 when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn threads_arg(
    argc: c_int,
    argv: *const *const c_char,
    i: c_int,
    dflt: c_int,
    max: c_int,
    usage: &CStr,
) -> c_int {
    // SAFETY: the caller's guarantee.
    unsafe { number_arg(argc, argv, i, dflt, 1, max, c"number of threads", usage) }
}

/// `argv[i]` as a number of children from 1 to `max`, `dflt` when absent;
/// exit 2 when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn children_arg(
    argc: c_int,
    argv: *const *const c_char,
    i: c_int,
    dflt: c_int,
    max: c_int,
    usage: &CStr,
) -> c_int {
    // SAFETY: the caller's guarantee.
    unsafe { number_arg(argc, argv, i, dflt, 1, max, c"number of children", usage) }
}

/// `argv[i]` as a stack size in KiB from `min` to `max`, `dflt` when
/// absent; exit 2 when invalid.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn stack_arg(
    argc: c_int,
    argv: *const *const c_char,
    i: c_int,
    dflt: c_int,
    min: c_int,
    max: c_int,
    usage: &CStr,
) -> c_int {
    // SAFETY: the caller's guarantee.
    unsafe { number_arg(argc, argv, i, dflt, min, max, c"stack size in KiB", usage) }
}

/// Whether `argv[i]` is `word`: true if it is, false when absent; exit 2
/// when it is another.
///
/// # Safety
/// `argv` must hold `argc` valid C strings, as `main` receives it.
pub unsafe fn word_arg(
    argc: c_int,
    argv: *const *const c_char,
    i: c_int,
    word: &CStr,
    usage: &CStr,
) -> bool {
    if i >= argc {
        return false;
    }
    // SAFETY: the caller guarantees argv[0..argc] are valid C strings, and i < argc.
    unsafe {
        let arg = *argv.add(i as usize);
        if libc::strcmp(arg, word.as_ptr()) != 0 {
            libc::fprintf(stderr, c"%s: invalid argument: %s\n".as_ptr(), *argv, arg);
            usage_exit(argv, usage);
        }
    }
    true
}
