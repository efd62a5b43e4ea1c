//! Stories every server of the table must get through, Rust and C.

use harness::base::client::{at_once, mask_ports, talk};
use harness::base::{server::Server, wait::wait_until};
use harness::testing::{all, each_server};
use harness::{Result, Twin};

/// Twenty clients at once, each sending messages that together hold every
/// byte value, get byte-exact replies (one after another, from a server
/// that serves one at a time); once they leave, the server is back where it
/// started: no child, no thread beyond its own, the descriptors it opened.
fn concurrent_clients_then_nothing_left(name: &str, twin: Twin) -> Result<()> {
    const CLIENTS: usize = 20;
    let server = Server::start(name, twin)?;
    // Settled first: a preforked server makes its children (and the
    // passfd server their socketpairs) after its ready line.
    server.settled()?;
    let fds_at_start = server.fds();
    let conns = (0..CLIENTS)
        .map(|_| server.connect())
        .collect::<Result<Vec<_>>>()?;
    at_once(conns, |id, conn| talk(id, 40, conn))?;

    server.settled()?;
    wait_until("descriptors back to the start", || {
        server.fds() == fds_at_start
    })
}

/// Clients one after another, each waiting until the server has cleaned up
/// after the last: a process server has then been interrupted in `accept` by
/// SIGCHLD, and must have retried it.
fn sequential_clients_after_cleanup(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    for round in 0..5 {
        let mut conn = server.connect()?;
        conn.check(format!("round {round}: hello\n").as_bytes())?;
        conn.finish()?;
        server.settled()?;
    }
    let (out, _) = server.stop();
    let closed = out.matches("the other side has been closed.\n").count();
    if closed != 5 {
        return Err(format!("{closed} closed messages, not 5:\n{out}"));
    }
    Ok(())
}

/// A server killed while it holds a connection comes back on the same port
/// at once (SO_REUSEADDR), and serves.
fn restart_on_same_port(name: &str, twin: Twin) -> Result<()> {
    let mut first = Server::start(name, twin)?;
    let mut conn = first.connect()?;
    conn.check(b"still here\n")?;
    first.kill();
    // A preforked server's children listen too, until their parent's
    // death ends them (PR_SET_PDEATHSIG).
    wait_until("nothing listening on the port", || {
        !harness::base::procfs::port_listened(first.port)
    })?;

    let second = Server::build(name, twin).port(first.port).start()?;
    second.connect()?.check(b"served again\n")?;
    drop(conn);
    Ok(())
}

/// The same session gives the same stdout from the Rust program and its C
/// twin, but for the clients' ephemeral ports.
fn stdout_same_as_twin(name: &str, _: Twin) -> Result<()> {
    let mut port = None;
    let mut outputs = Vec::new();
    for twin in Twin::BOTH {
        // The first on a free port (another, should it be taken before the
        // server binds it), the second on the same port once it is free.
        let server = match port {
            None => Server::start(name, twin)?,
            Some(p) => {
                wait_until("nothing listening on the port", || {
                    !harness::base::procfs::port_listened(p)
                })?;
                Server::build(name, twin).port(p).start()?
            }
        };
        port = Some(server.port);
        for (i, text) in ["hello\n", "Mixed Case 123 \u{e9}\n"].iter().enumerate() {
            let mut conn = server.connect()?;
            conn.check(text.as_bytes())?;
            conn.check(b"second message\n")?;
            conn.finish()?;
            wait_until("the closed message", || {
                server.stdout().matches("closed.\n").count() > i
            })?;
            server.settled()?;
        }
        outputs.push(mask_ports(&server.stop().0));
    }
    if !outputs[0].contains("received from 127.0.0.1 at PORT N\nHELLO\n") {
        return Err(format!("unexpected stdout:\n{}", outputs[0]));
    }
    if outputs[0] != outputs[1] {
        return Err(format!(
            "Rust and C stdout differ:\n{}\n---\n{}",
            outputs[0], outputs[1]
        ));
    }
    Ok(())
}

#[test]
fn concurrent_clients_then_nothing_left_every_server() {
    each_server(all, concurrent_clients_then_nothing_left);
}

#[test]
fn sequential_clients_after_cleanup_every_server() {
    each_server(all, sequential_clients_after_cleanup);
}

#[test]
fn restart_on_same_port_every_server() {
    each_server(all, restart_on_same_port);
}

#[test]
fn stdout_same_as_twin_every_server() {
    // Both twins in one story: run it once per server.
    each_server(all, |name, twin| {
        if twin == Twin::Rust {
            stdout_same_as_twin(name, twin)
        } else {
            Ok(())
        }
    });
}

/// A server that does not settle says what its tasks wait on: a task in
/// `read` names its descriptor, both ports, the TCP state, the bytes
/// unread and the state of the client's end (gone, for a connection no
/// client holds).
#[test]
fn a_task_in_read_is_described_with_both_ends() {
    let run = || -> Result<()> {
        let server = Server::start("iterative_server", Twin::Rust)?;
        let mut conn = server.connect()?;
        conn.check(b"hello\n")?;
        server.serving(1)?;
        let client_port = conn.0.local_addr().map_err(|e| e.to_string())?.port();
        let said = harness::base::model::describe(server.pid);
        let want = format!(
            "TCP :{} from :{client_port}, ESTABLISHED, 0 bytes unread, its client's end ESTABLISHED",
            server.port
        );
        if !said.contains(&want) {
            return Err(format!("{said:?} does not say {want:?}"));
        }
        conn.finish()
    };
    run().unwrap();
}
