//! Pseudo-terminals for a program's stdout.

use crate::Result;
use std::os::fd::{FromRawFd, OwnedFd};

/// A new pseudo-terminal: its master end, for the harness to read, and its
/// slave end, for a program's stdout. What openpty(3) makes, but with both
/// descriptors close-on-exec from the start (openpty's are not): a program
/// that another thread starts meanwhile would inherit the slave, hold the
/// terminal open, and its reader would never see the end.
pub fn pty() -> Result<(std::fs::File, OwnedFd)> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: posix_openpt(3) takes flags and returns a new descriptor or -1.
    let fd = unsafe { libc::posix_openpt(flags) };
    if fd < 0 {
        return Err(err("posix_openpt"));
    }
    // SAFETY: fd is a descriptor just opened, owned by nothing else.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: grantpt(3) and unlockpt(3) take a descriptor, no pointer.
    if unsafe { libc::grantpt(fd) } != 0 || unsafe { libc::unlockpt(fd) } != 0 {
        return Err(err("unlockpt"));
    }
    // SAFETY: TIOCGPTPEER opens the slave end with the flags given; no pointer.
    let slave = unsafe { libc::ioctl(fd, libc::TIOCGPTPEER, flags) };
    if slave < 0 {
        return Err(err("TIOCGPTPEER"));
    }
    // SAFETY: as for the master.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    Ok((std::fs::File::from(master), slave))
}
