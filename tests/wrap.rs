//! The wrappers, run by the driver programs on a socketpair: each Rust
//! wrapper and its C twin must give the same results.

use harness::base::wait::wait_until;
use harness::{Result, Twin, exe, twin_tests};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};

/// Starts `wrap_driver CMD ARG` with stdin and stdout on one end of a
/// socketpair; returns it and the other end.
fn driver(twin: Twin, cmd: &str, arg: &str) -> (Child, UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let child = Command::new(exe("wrap_driver", twin))
        .args([cmd, arg])
        .stdin(Stdio::from(OwnedFd::from(theirs.try_clone().unwrap())))
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wrap_driver");
    (child, ours)
}

/// Sends `piece`, then waits until the driver has read all of it, so that
/// the next piece comes in a read of its own.
fn send_piece(sock: &mut UnixStream, piece: &[u8]) {
    sock.write_all(piece).unwrap();
    wait_until("the driver to read the piece", || {
        let mut unread: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) stores one int: the bytes the peer has not read yet.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut unread) };
        rc == 0 && unread == 0
    })
    .unwrap();
}

/// Sends the pieces, each in a read of its own, closes, and returns the
/// driver's records: (length, bytes) for each result, ending with 0 or -1.
fn records(twin: Twin, cmd: &str, arg: &str, pieces: &[&[u8]]) -> Vec<(isize, Vec<u8>)> {
    let (child, mut sock) = driver(twin, cmd, arg);
    for piece in pieces {
        send_piece(&mut sock, piece);
    }
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    sock.read_to_end(&mut out).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let mut recs = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .expect("record header");
        let n: isize = std::str::from_utf8(&rest[..nl]).unwrap().parse().unwrap();
        let len = n.max(0) as usize;
        recs.push((n, rest[nl + 1..nl + 1 + len].to_vec()));
        rest = &rest[nl + 1 + len..];
    }
    recs
}

fn rec(s: &str) -> (isize, Vec<u8>) {
    (s.len() as isize, s.as_bytes().to_vec())
}

/// Lines split across reads are joined; several lines in one read are
/// handed out one by one; the last line may lack its newline.
fn readline_joins_split_lines(twin: Twin) -> Result<()> {
    let got = records(
        twin,
        "readline",
        "100",
        &[b"hel", b"lo\nwor", b"ld\nsecond\nthird\n", b"tail"],
    );
    let want = vec![
        rec("hello\n"),
        rec("world\n"),
        rec("second\n"),
        rec("third\n"),
        rec("tail"),
        rec(""),
    ];
    assert_eq!(got, want);
    Ok(())
}

/// A line longer than the buffer comes in pieces of maxlen - 1 bytes.
fn readline_cuts_long_lines(twin: Twin) -> Result<()> {
    let got = records(twin, "readline", "5", &[b"abcdefg\nxy\n"]);
    assert_eq!(got, vec![rec("abcd"), rec("efg\n"), rec("xy\n"), rec("")]);
    Ok(())
}

/// Short reads are gathered until the buffer is full; end of file ends it short.
fn readn_gathers_short_reads(twin: Twin) -> Result<()> {
    let got = records(twin, "readn", "10", &[b"abc", b"defg", b"hijkl", b"mn"]);
    assert_eq!(got, vec![rec("abcdefghij"), rec("klmn"), rec("")]);
    Ok(())
}

/// One MiB goes out whole, whatever the socket buffer takes at a time.
fn writen_writes_everything(twin: Twin) -> Result<()> {
    const N: usize = 1 << 20;
    let (child, mut sock) = driver(twin, "writen", &N.to_string());
    let mut got = Vec::new();
    sock.read_to_end(&mut got).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let want: Vec<u8> = (0..N).map(|i| (i * 7 + 3) as u8).collect();
    assert!(got == want, "got {} bytes, not the {N} written", got.len());
    Ok(())
}

/// perr_exit prints "msg: strerror(errno)" on stderr and exits 1.
fn perr_exit_prints_message_and_fails(twin: Twin) -> Result<()> {
    let (child, _sock) = driver(twin, "perr_exit", "closing");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "closing: Bad file descriptor\n"
    );
    Ok(())
}

/// Accept never lets the kernel write past the address it is given, whatever
/// length the caller passes: here a peer's address longer than a
/// sockaddr_in, and a length of 80 for a 16-byte `cliaddr` with a canary
/// after it. (Rust's alone: C's `Accept` trusts the length its caller passes.)
#[test]
fn accept_bounds_the_address_length() {
    let out = Command::new(exe("wrap_driver", Twin::Rust))
        .args(["accept", "80"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text, "63 1\n",
        "accept returns the address's real length, and the canary is intact"
    );
}

twin_tests!(
    readline_joins_split_lines,
    readline_cuts_long_lines,
    readn_gathers_short_reads,
    writen_writes_everything,
    perr_exit_prints_message_and_fails,
);
