//! The client: lines from stdin to the server, replies to stdout.

#[macro_use]
mod common;

use common::{Server, Twin, program};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::thread;

/// Runs the client against `port` with `input` piped to its stdin.
fn run_client(twin: Twin, port: u16, input: &[u8]) -> Output {
    let mut child = Command::new(program("client", twin))
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    // A client that fails early (no server) may exit before reading it all.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// Piped lines come back upper-cased, in order, and the client exits 0 at
/// the end of its input.
fn piped_lines_come_back_upper_cased(twin: Twin) {
    let server = Server::start("process_server", Twin::Rust);
    let input = "hello, server\nline two: \u{e9}t\u{e9} 42\n\nlast line without newline";
    let out = run_client(twin, server.port, input.as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        input.to_ascii_uppercase()
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server that reads the first line and closes gets the closed message.
fn server_that_closes_gets_closed_message(twin: Twin) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        line
    });
    let out = run_client(twin, port, b"first\nsecond\n");
    assert_eq!(server.join().unwrap(), "first\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "the other side has been closed.\n"
    );
}

/// Nobody listening: connect's error, the perror way, and a failure status.
fn no_server_is_an_error(twin: Twin) {
    let port = common::free_port();
    let out = run_client(twin, port, b"hello\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "connect: Connection refused\n"
    );
}

twin_tests!(
    piped_lines_come_back_upper_cased,
    server_that_closes_gets_closed_message,
    no_server_is_an_error,
);
