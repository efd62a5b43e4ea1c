//! The client: lines from stdin to the server, replies to stdout.

use harness::base::{port::free_port, server::Server};
use harness::{Result, Twin, exe, twin_tests};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::thread;

/// Runs the client with `args` and `input` piped to its stdin.
fn run_client(twin: Twin, args: &[&str], input: &[u8]) -> Result<Output> {
    let mut child = Command::new(exe("client", twin))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start client: {e}"))?;
    // A client that fails early (no server) may exit before reading it all.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().map_err(|e| e.to_string())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Piped lines come back upper-cased, in order, and the client exits 0 at
/// the end of its input.
fn piped_lines_come_back_upper_cased(twin: Twin) -> Result<()> {
    let server = Server::start("process_server", Twin::Rust)?;
    let input = "hello, server\nline two: \u{e9}t\u{e9} 42\n\nlast line without newline";
    let out = run_client(
        twin,
        &["127.0.0.1", &server.port.to_string()],
        input.as_bytes(),
    )?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), input.to_ascii_uppercase());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    Ok(())
}

/// Lines with NUL bytes in them, and a line longer than the wrappers'
/// MAXLINE, go out and come back whole.
fn nul_bytes_and_long_lines_come_back_whole(twin: Twin) -> Result<()> {
    let server = Server::start("process_server", Twin::Rust)?;
    let long = "x".repeat(20_000);
    let input = format!("first\n\0x\n{long}\nhello\n");
    let out = run_client(
        twin,
        &["127.0.0.1", &server.port.to_string()],
        input.as_bytes(),
    )?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, input.to_ascii_uppercase().as_bytes());
    Ok(())
}

/// A host name is looked up, as nc does.
fn a_host_name_is_looked_up(twin: Twin) -> Result<()> {
    let server = Server::start("process_server", Twin::Rust)?;
    let out = run_client(twin, &["localhost", &server.port.to_string()], b"by name\n")?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "BY NAME\n");
    let out = run_client(
        twin,
        &["no-such-host.invalid", &server.port.to_string()],
        b"x\n",
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(": no-such-host.invalid: "),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

/// A server that reads the first line and closes gets the closed message.
fn server_that_closes_gets_closed_message(twin: Twin) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        line
    });
    let out = run_client(twin, &["127.0.0.1", &port.to_string()], b"first\nsecond\n")?;
    assert_eq!(server.join().unwrap(), "first\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout), "the other side has been closed.\n");
    Ok(())
}

/// A server that answers the first line and hangs up: the client's next
/// write, a long line, fails (the server's reset makes it EPIPE). SIGPIPE
/// is ignored, so the client is not killed by it (status 141, silently): it
/// reports the failure the perror way and exits with status 1.
fn server_that_hangs_up_mid_session_is_an_error(twin: Twin) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        conn.write_all(line.to_ascii_uppercase().as_bytes())
            .unwrap();
        line // and the connection is closed
    });
    // Longer than the socket buffers on both sides can take.
    let long = "y".repeat(32 << 20);
    let input = format!("first\n{long}\nthird\n");
    let out = run_client(twin, &["127.0.0.1", &port.to_string()], input.as_bytes())?;
    assert_eq!(server.join().unwrap(), "first\n");
    assert_eq!(out.status.signal(), None, "killed: {out:?}");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(text(&out.stdout), "FIRST\n");
    let err = text(&out.stderr);
    assert!(
        err == "write: Broken pipe\n" || err == "write: Connection reset by peer\n",
        "{err}"
    );
    Ok(())
}

/// Nobody listening: connect's error, the perror way, and a failure status.
fn no_server_is_an_error(twin: Twin) -> Result<()> {
    let port = free_port();
    let out = run_client(twin, &["127.0.0.1", &port.to_string()], b"hello\n")?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "connect: Connection refused\n");
    Ok(())
}

twin_tests!(
    piped_lines_come_back_upper_cased,
    nul_bytes_and_long_lines_come_back_whole,
    a_host_name_is_looked_up,
    server_that_closes_gets_closed_message,
    server_that_hangs_up_mid_session_is_an_error,
    no_server_is_an_error,
);
