//! What the reference servers (`std_server`, the tokio servers) share so
//! that they write to stdout as the classic servers do: each "received
//! from" line in one `write(2)` (a line on std's line-buffered stdout is
//! written at once, as `printf`'s on a line-buffered `stdout`), and each
//! echoed buffer in one `write(2)` of its own, straight to descriptor 1,
//! as `Write(STDOUT_FILENO, buf, n)`. Through std's stdout the echoed
//! bytes, which need not end in a newline, would wait in its buffer for
//! the next line and go out with it: one write per round trip where the
//! classic servers make two, and the benchmark would compare buffering
//! rather than server models.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// write(2) of all of `bytes` to descriptor 1, unbuffered; errors are
/// ignored, as the classic servers' are not fatal to the connection.
pub fn echo_to_stdout(bytes: &[u8]) {
    // SAFETY: descriptor 1 stays open for the life of the process; the
    // File is never dropped, so it is never closed here.
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    let _ = out.write_all(bytes);
}
