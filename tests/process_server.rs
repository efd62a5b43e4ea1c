//! The multi-process server: a child per connection, reaped on SIGCHLD.

#[macro_use]
mod common;

use common::{Server, Twin, scenarios, wait_until};

const NAME: &str = "process_server";

fn concurrent_clients_then_nothing_left(twin: Twin) {
    scenarios::concurrent_clients_then_nothing_left(NAME, twin);
}

fn sequential_clients_after_cleanup(twin: Twin) {
    scenarios::sequential_clients_after_cleanup(NAME, twin);
}

fn restart_on_same_port(twin: Twin) {
    scenarios::restart_on_same_port(NAME, twin);
}

/// While a client is connected its child is alive; once it leaves the child
/// is reaped, never left a zombie.
fn one_child_per_connection_reaped_on_exit(twin: Twin) {
    let server = Server::start(NAME, twin);
    let conns: Vec<_> = (0..3).map(|_| server.connect()).collect();
    for (i, mut c) in conns.into_iter().enumerate() {
        c.check(b"ping\n");
        wait_until("a child per live connection", || {
            server.children().len() == 3 - i
        });
        c.finish();
    }
    wait_until("every child reaped", || server.children().is_empty());
    assert_eq!(server.zombies(), 0);
}

twin_tests!(
    concurrent_clients_then_nothing_left,
    sequential_clients_after_cleanup,
    restart_on_same_port,
    one_child_per_connection_reaped_on_exit,
);

#[test]
fn stdout_same_as_twin() {
    scenarios::stdout_same_as_twin(NAME);
}
