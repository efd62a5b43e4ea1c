//! The coroutine servers: what a switch costs in system calls (glibc's
//! swapcontext against our own fiber_swap), a finished coroutine's stack
//! used again, a stack too small for its frame faulting in its guard
//! page, the coroutines run in the order epoll's ready list gives, and
//! `make demo-coroutine`. Their event-loop stories are in
//! tests/multiplexing.rs, tests/stdout.rs and tests/reliability.rs, with
//! the other event loops'.

use harness::base::client::Conn;
use harness::base::{procfs, server::Server, wait::wait_until};
use harness::testing::{demo, pass};
use harness::{Result, Twin};
use std::io::{Read, Write};
use std::path::PathBuf;

/// Where a test's trace of `server` goes.
fn trace_file(test: &str, server: &str, twin: Twin) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("coroutine-{test}-{server}-{twin:?}.trace"))
}

/// The trace's lines, without the PID strace -f puts first (padded to
/// five columns: a PID below 10000 is followed by two spaces).
fn lines(trace: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((pid, rest)) if pid.parse::<u32>().is_ok() => rest.trim_start().to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// The name of the call a trace line shows, if it shows one.
fn call(line: &str) -> Option<&str> {
    let name = line.split('(').next()?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
        .filter(|n| !n.is_empty())
}

/// Round trips traced one at a time: each message sent only once the
/// server has read again after replying to the last and found nothing
/// (its read's EAGAIN in the trace; the epoll server reads only when
/// epoll_wait says there is something to read). For each round trip, the calls from the
/// one after the `epoll_wait` that woke the server for it to the next
/// `epoll_wait`.
fn round_trips(name: &str, twin: Twin, n: usize) -> Result<Vec<Vec<String>>> {
    let trace = trace_file("round-trips", name, twin);
    let server = Server::build(name, twin).traced(&[], &trace).start()?;
    let mut conn = server.connect()?;
    let idle = |l: &String| l.starts_with("read(") && l.contains("EAGAIN");
    for i in 0..n {
        conn.check(format!("rt {i}\n").as_bytes())?;
        if name != "epoll_server" {
            wait_until(&format!("{name} to wait after round trip {i}"), || {
                lines(&trace).iter().filter(|l| idle(l)).count() > i
            })?;
        }
    }
    conn.finish()?;
    server.stop();
    let calls: Vec<String> = lines(&trace)
        .iter()
        .filter_map(|l| call(l).map(|c| (c.to_string(), l.contains("EAGAIN"))))
        .map(|(c, again)| if again { format!("{c} EAGAIN") } else { c })
        .collect();
    let all = lines(&trace);
    let mut trips = Vec::new();
    for i in 0..n {
        let read = all
            .iter()
            .position(|l| l.starts_with("read(") && l.contains(&format!("\"rt {i}\\n\"")))
            .ok_or_else(|| format!("{name} ({twin:?}): no read of round trip {i}"))?;
        let named: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, l)| call(l).is_some())
            .map(|(k, _)| k)
            .collect();
        let at = named.iter().position(|&k| k == read).unwrap();
        let start = named[..at]
            .iter()
            .rposition(|&k| all[k].starts_with("epoll_wait("))
            .ok_or("no epoll_wait before the read")?;
        let end = named[at..]
            .iter()
            .position(|&k| all[k].starts_with("epoll_wait("))
            .map_or(named.len(), |e| at + e);
        trips.push(calls[start + 1..end].to_vec());
    }
    Ok(trips)
}

/// What docs/coroutines.md quotes of `name`'s round trip: the calls
/// between the epoll_wait that wakes the server and the one it sleeps in
/// again, named as [`round_trips`] names them.
fn quoted_round_trip(name: &str) -> Vec<String> {
    let marker = format!("<!-- quoted: one round trip: {name} -->");
    let calls: Vec<String> = harness::testing::doc_block("coroutines.md", &marker)
        .iter()
        .filter_map(|l| {
            call(l).map(|c| {
                if l.contains("EAGAIN") {
                    format!("{c} EAGAIN")
                } else {
                    c.to_string()
                }
            })
        })
        .collect();
    let waits = calls.iter().filter(|c| *c == "epoll_wait").count();
    assert!(
        waits == 2 && calls.first() == calls.last() && calls[0] == "epoll_wait",
        "docs/coroutines.md: {name}'s round trip, from one epoll_wait to the next: {calls:?}"
    );
    calls[1..calls.len() - 1].to_vec()
}

/// Per round trip, after the epoll_wait that wakes it: coroutine_server
/// makes the epoll server's calls (read, two writes to stdout, the reply),
/// then the read that finds nothing and sends the coroutine back to the
/// scheduler, and an rt_sigprocmask for each of its two switches
/// (swapcontext sets the signal mask); fiber_server makes the same calls
/// without the two rt_sigprocmask: its switch is no system call. The
/// chapter's excerpts of the three traces make those very calls.
#[test]
fn a_switch_costs_swapcontext_a_system_call_and_fiber_swap_none() {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let epoll = s(&["read", "write", "write", "write"]);
    let mut coroutine = vec!["rt_sigprocmask".to_string()];
    coroutine.extend(epoll.clone());
    coroutine.extend(s(&["read EAGAIN", "rt_sigprocmask"]));
    let mut fiber = epoll.clone();
    fiber.push("read EAGAIN".into());
    for (name, want) in [
        ("epoll_server", &epoll),
        ("coroutine_server", &coroutine),
        ("fiber_server", &fiber),
    ] {
        assert_eq!(
            &quoted_round_trip(name),
            want,
            "docs/coroutines.md quotes {name}"
        );
    }
    for twin in Twin::BOTH {
        for (name, want) in [
            ("epoll_server", &epoll),
            ("coroutine_server", &coroutine),
            ("fiber_server", &fiber),
        ] {
            pass(|| {
                for (i, trip) in round_trips(name, twin, 5)?.iter().enumerate() {
                    if trip != want {
                        return Err(format!(
                            "{name} ({twin:?}), round trip {i}: {trip:?}, not {want:?}"
                        ));
                    }
                }
                Ok(())
            });
        }
    }
}

/// Three clients one after another: one mapping for the coroutine that
/// accepts, and one for the first client's, which the next two use again
/// (the free list): two `mmap` calls of a coroutine's size in all.
fn stacks_are_used_again(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("stacks", name, twin);
    let server = Server::build(name, twin)
        .traced(&["-e", "trace=mmap,close,accept4"], &trace)
        .start()?;
    for i in 0..3 {
        let mut c = server.connect()?;
        c.check(format!("client {i}\n").as_bytes())?;
        c.finish()?;
        wait_until(&format!("client {i}'s connection closed"), || {
            let l = lines(&trace);
            let first = l
                .iter()
                .position(|l| l.starts_with("accept4("))
                .unwrap_or(l.len());
            l[first..]
                .iter()
                .filter(|l| l.starts_with("close("))
                .count()
                > i
        })?;
    }
    server.stop();
    // 64 KiB and a guard page.
    let size = format!("mmap(NULL, {}, ", 64 * 1024 + 4096);
    let maps = lines(&trace)
        .iter()
        .filter(|l| l.starts_with(&size))
        .count();
    if maps != 2 {
        return Err(format!(
            "{name} ({twin:?}): {maps} stacks mapped for three clients one after another"
        ));
    }
    Ok(())
}

#[test]
fn finished_coroutines_stacks_are_used_again() {
    for twin in Twin::BOTH {
        for name in ["coroutine_server", "fiber_server"] {
            pass(|| stacks_are_used_again(name, twin));
        }
    }
}

/// A hexadecimal address in a trace line, after `key`.
fn hex_after(line: &str, key: &str) -> Option<u64> {
    let rest = line.split(key).nth(1)?.trim_start_matches("0x");
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).ok()
}

/// In a trace of an overflow: the guard page the client's coroutine got
/// (the first mprotect PROT_NONE after the accept4 that took the client),
/// its length, and the SIGSEGV line, which must be an access the mapping
/// forbids (SEGV_ACCERR) at an address in that page.
fn fault_in_guard_page(l: &[String]) -> Result<(u64, u64, String)> {
    let accepted = l
        .iter()
        .position(|l| l.starts_with("accept4(") && !l.contains("= -1"))
        .ok_or("no accept4 of the client")?;
    let protect = l[accepted..]
        .iter()
        .find(|l| l.starts_with("mprotect(") && l.contains("PROT_NONE"))
        .ok_or("no guard page made for the client's coroutine")?;
    let guard = hex_after(protect, "mprotect(").ok_or("no address in mprotect")?;
    let len: u64 = protect
        .split(", ")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .ok_or("no length in mprotect")?;
    let fault = l
        .iter()
        .find(|l| l.starts_with("--- SIGSEGV"))
        .ok_or("no SIGSEGV")?
        .clone();
    if !fault.contains("si_code=SEGV_ACCERR") {
        return Err(format!("not an access to a protected page: {fault}"));
    }
    let addr = hex_after(&fault, "si_addr=").ok_or("no si_addr")?;
    if !(guard..guard + len).contains(&addr) {
        return Err(format!(
            "the fault at {addr:#x}, outside the client's guard page {guard:#x}: {fault}"
        ));
    }
    Ok((guard, len, fault))
}

/// STACK_KB 8: room for the coroutine that accepts, not for serve's frame
/// and its MAXLINE (8 KiB) buffer. The first client's coroutine faults as
/// it starts: the server dies of SIGSEGV (SEGV_ACCERR: an access the
/// mapping forbids), at an address in the guard page below that
/// coroutine's stack, the page its mprotect(PROT_NONE) made, after the
/// accept4 that took the client: not in the stack of the coroutine
/// beside it, nor anywhere else. The client sees its connection end.
fn overflow_faults_in_the_guard_page(name: &str, twin: Twin) -> Result<()> {
    let trace = trace_file("overflow", name, twin);
    let server = Server::build(name, twin)
        .args(&["8"])
        .traced(&["-e", "trace=mprotect,accept4"], &trace)
        .start()?;
    let mut c = server.connect()?;
    if c.round_trip(b"overflow\n").is_ok_and(|r| !r.is_empty()) {
        return Err("a reply from a coroutine whose frame does not fit its stack".into());
    }
    wait_until("the server to die of SIGSEGV", || {
        lines(&trace)
            .iter()
            .any(|l| l.starts_with("+++ killed by SIGSEGV"))
    })?;
    let (guard, len, fault) = fault_in_guard_page(&lines(&trace))?;
    println!(
        "{name} ({twin:?}): guard page {guard:#x}-{:#x}, {fault}",
        guard + len
    );
    Ok(())
}

/// The overflow docs/coroutines.md quotes faults in the guard page it
/// quotes, as a live one must.
#[test]
fn a_stack_too_small_faults_in_its_guard_page() {
    let quoted = harness::testing::doc_block("coroutines.md", "<!-- quoted: the guard page -->");
    let quoted: Vec<String> = quoted
        .iter()
        .map(|l| l.split("    <- ").next().unwrap().trim_end().to_string())
        .collect();
    if let Err(e) = fault_in_guard_page(&quoted) {
        panic!("docs/coroutines.md's overflow: {e}");
    }
    for twin in Twin::BOTH {
        for name in ["coroutine_server", "fiber_server"] {
            pass(|| overflow_faults_in_the_guard_page(name, twin));
        }
    }
}

/// Three clients, each served a line and then idle, their coroutines
/// parked in co_read; the server stopped (SIGSTOP); each client sends a
/// line, in an order that is neither the one they connected in (nor their
/// descriptors') nor its reverse, each in the server's receive queue
/// before the next is sent; SIGCONT. One epoll_wait returns the three
/// descriptors, in the order they became ready (the ready list is first
/// in, first out), and the coroutines run in that order: the server
/// prints their lines in the order they arrived.
fn ready_list_order(name: &str, twin: Twin) -> Result<()> {
    let server = Server::start(name, twin)?;
    let mut conns: Vec<Conn> = (0..3).map(|_| server.connect()).collect::<Result<_>>()?;
    for c in &mut conns {
        c.check(b"hello\n")?;
    }
    server.serving(3)?;
    server.run.signal(libc::SIGSTOP);
    wait_until("the server stopped", || {
        procfs::task_state(server.pid, server.pid) == Some('T')
    })?;
    let order = [2, 0, 1];
    for i in order {
        let line = format!("client {i}\n");
        conns[i]
            .0
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
        let peer = conns[i].0.local_addr().map_err(|e| e.to_string())?.port();
        wait_until(&format!("client {i}'s line in the server's queue"), || {
            procfs::unread(server.port, peer) == Some(line.len())
        })?;
    }
    server.run.signal(libc::SIGCONT);
    for i in order {
        let want = format!("CLIENT {i}\n");
        let mut got = vec![0; want.len()];
        conns[i]
            .0
            .read_exact(&mut got)
            .map_err(|e| format!("client {i}'s reply: {e}"))?;
        if got != want.as_bytes() {
            return Err(format!(
                "client {i}: reply {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
    }
    // Replied to, the lines are written to the server's stdout, a pipe
    // the harness reads on a thread of its own: there soon.
    let ran = |out: &str| -> Vec<usize> {
        out.lines()
            .filter_map(|l| l.strip_prefix("CLIENT ")?.parse().ok())
            .collect()
    };
    wait_until("the three lines on the server's stdout", || {
        ran(&server.stdout()).len() == order.len()
    })?;
    let out = server.stdout();
    let ran = ran(&out);
    if ran != order {
        return Err(format!(
            "lines arrived from clients {order:?}, served in the order {ran:?}:\n{out}"
        ));
    }
    Ok(())
}

#[test]
fn coroutines_run_in_the_order_of_the_ready_list() {
    for twin in Twin::BOTH {
        for name in ["coroutine_server", "fiber_server"] {
            pass(|| ready_list_order(name, twin));
        }
    }
}

/// The number just before `word` in `line`.
fn number_before(line: &str, word: &str) -> Option<usize> {
    line.split(word)
        .next()?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// `make demo-coroutine`, both twins: for each server, one thread, blocked
/// in epoll_wait, before the clients and once B is served; B served while
/// A is idle; B's round trip with rt_sigprocmask calls for
/// coroutine_server and none for fiber_server; the 102 connections held
/// by one thread, at 64 KiB or more of address space each.
#[test]
fn demo_coroutine_shows_one_thread_and_the_switch_calls() {
    for twin in [&[][..], &["--c"][..]] {
        let out = demo(&[&["coroutine"][..], twin].concat()).unwrap();
        let said = |start: &str| -> Vec<&str> {
            out.lines()
                .filter_map(|l| l.split_once("] ").map(|(_, r)| r))
                .filter(|l| l.starts_with(start))
                .collect()
        };
        let started = said("coroutine_server on port")
            .into_iter()
            .chain(said("fiber_server on port"))
            .collect::<Vec<_>>();
        let b = said("B: ");
        assert_eq!((started.len(), b.len()), (2, 2), "{out}");
        for l in started.iter().chain(&b) {
            assert!(
                l.contains(": 1 thread, blocked in epoll_wait"),
                "{l}\n{out}"
            );
        }
        assert!(
            b.iter()
                .all(|l| l.contains("got \"HELLO FROM B\"") && l.contains("A still idle")),
            "{out}"
        );
        // The chapter's counts: four calls and the EAGAIN read, and the
        // two switches' rt_sigprocmask for swapcontext alone.
        let trips = said("B's round trip");
        let count = |what: &str| -> Vec<usize> {
            trips
                .iter()
                .filter_map(|l| number_before(l, what))
                .collect()
        };
        assert_eq!(count("system calls in the server"), [7, 5], "{out}");
        assert_eq!(count("of them rt_sigprocmask"), [2, 0], "{out}");
        let held = said("100 more idle clients: ");
        assert_eq!(held.len(), 2, "{out}");
        for l in held {
            assert_eq!(number_before(l, "connections held"), Some(102), "{out}");
            assert_eq!(number_before(l, "thread;"), Some(1), "{out}");
            let size: f64 = l
                .split(" KiB a connection (its stack")
                .next()
                .and_then(|s| s.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0.0);
            assert!(size >= 64.0, "{l}");
        }
    }
}
