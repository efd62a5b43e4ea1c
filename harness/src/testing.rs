//! For the tests: run a story on every server of the table, both twins, in
//! parallel, and fail with every failure, readably; and the fixtures more
//! than one test file uses.

use crate::base::server::Server;
use crate::base::wait::wait_until;
use crate::{Model, Result, Twin};
use std::path::{Path, PathBuf};
use std::thread;

/// Runs `story`: passes, or fails the test with the error as it reads.
pub fn pass(story: impl FnOnce() -> Result<()>) {
    if let Err(e) = story() {
        panic!("{e}");
    }
}

/// Runs `story` on each server whose model `select` picks, Rust and C, all
/// at once; fails the test with every failure, named.
pub fn each_server(
    select: impl Fn(&Model) -> bool,
    story: impl Fn(&str, Twin) -> Result<()> + Sync,
) {
    each_server_by(usize::MAX, select, story);
}

/// [`each_server`], `at_most` runs at a time: for stories that cost a
/// second or more of CPU time each (a server under valgrind), which on two
/// cores would otherwise queue past their deadlines.
pub fn each_server_by(
    at_most: usize,
    select: impl Fn(&Model) -> bool,
    story: impl Fn(&str, Twin) -> Result<()> + Sync,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runs: Vec<(&str, Twin)> = crate::servers()
        .filter(|p| select(p.model().unwrap()))
        .flat_map(|p| Twin::BOTH.map(|t| (p.name, t)))
        .collect();
    assert!(!runs.is_empty(), "no server fits");
    let next = AtomicUsize::new(0);
    let failures: Vec<String> = thread::scope(|s| {
        let workers: Vec<_> = (0..at_most.min(runs.len()))
            .map(|_| {
                let (runs, next, story) = (&runs, &next, &story);
                s.spawn(move || {
                    let mut failed = Vec::new();
                    while let Some(&(name, twin)) = runs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let run = thread::scope(|t| t.spawn(|| story(name, twin)).join());
                        match run {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => failed.push(format!("{name} ({twin:?}): {e}")),
                            Err(_) => failed.push(format!("{name} ({twin:?}): panicked")),
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    if !failures.is_empty() {
        panic!(
            "{} of {} failed:\n{}",
            failures.len(),
            runs.len(),
            failures.join("\n")
        );
    }
}

/// Raises this process's RLIMIT_NOFILE to at least `want` (servers started
/// after inherit it): the soft limit, and the hard one too where it is
/// lower and this process may (root, as on CI: up to fs.nr_open); false
/// when it cannot.
pub fn raise_nofile(want: u64) -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a struct rlimit, written by getrlimit(2).
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return false;
    }
    lim.rlim_max = lim.rlim_max.max(want);
    lim.rlim_cur = lim.rlim_cur.max(want);
    // SAFETY: lim is a valid struct rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

/// A test that cannot make the condition it needs: under CI (`CI` set, as
/// `.ci/run` runs) that fails the test, for a test that did not run must
/// not pass; elsewhere it is said, and the test returns.
pub fn cannot_run(why: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("cannot run, and CI is set: {why}");
    }
    println!("skipped (not under CI): {why}");
}

/// Every server.
pub fn all(_: &Model) -> bool {
    true
}

/// A fresh, empty directory `root/name` (`name` may hold a `/`), made
/// for one test (tests run in parallel); fails the test if it cannot be
/// made. Called through [`scratch!`](crate::scratch), with `root` the test
/// crate's CARGO_TARGET_TMPDIR.
pub fn scratch(root: &str, name: &str) -> PathBuf {
    crate::base::dir::scratch(Path::new(root), name).unwrap_or_else(|e| panic!("scratch: {e}"))
}

/// `scratch!("strace/{test}")`: a fresh, empty directory of that name, as
/// `format!` spells it, under the calling test crate's CARGO_TARGET_TMPDIR.
#[macro_export]
macro_rules! scratch {
    ($($name:tt)+) => {
        $crate::testing::scratch(env!("CARGO_TARGET_TMPDIR"), &format!($($name)+))
    };
}

/// Declares each named story `fn name(twin: Twin) -> Result<()>` as two
/// tests, `name::rust` and `name::c`.
#[macro_export]
macro_rules! twin_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn rust() {
                $crate::testing::pass(|| super::$name($crate::Twin::Rust))
            }
            #[test]
            fn c() {
                $crate::testing::pass(|| super::$name($crate::Twin::C))
            }
        }
    )*};
}

/// The lines of the fenced block in `docs/PAGE` (a path under docs/) that
/// follow the line `opening`: a line inside it (`$ make compare`, say), or
/// the line just before its fence, best a marker that the page does not
/// show (`<!-- quoted: NAME -->`), which rewrapping the prose cannot break. What the chapter quotes of a tool, for
/// a test to hold against the tool's output. Fails the test when the page
/// or the line is not there.
pub fn doc_block(page: &str, opening: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    lines
        .position(|l| l == opening)
        .unwrap_or_else(|| panic!("no line {opening:?} in {}", path.display()));
    // From a line before the block: past the blank lines and the fence,
    // which a list item indents (its lines lose that indent).
    let mut lines = lines.peekable();
    while lines.next_if(|l| l.is_empty()).is_some() {}
    let indent = lines
        .next_if(|l| l.trim_start().starts_with("```"))
        .map_or(0, |fence| fence.len() - fence.trim_start().len());
    lines
        .take_while(|l| !l.trim_start().starts_with("```"))
        .map(|l| l.get(indent..).unwrap_or("").to_string())
        .collect()
}

/// `demo ARGS...` (the tool of `make demo-*`): what it printed, or an
/// error with all it printed if it failed.
pub fn demo(args: &[&str]) -> Result<String> {
    let exe = crate::rust_dir().join("demo");
    let out = std::process::Command::new(&exe)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "demo {args:?}: {}\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// A server out of descriptors, with a client queued, pauses between its
/// tries rather than spins. Over a fixed second (a window the server
/// cannot shorten by spinning): a pause of 100 ms between tries reports
/// EMFILE about ten times and uses next to no CPU; a spin burns tens of
/// 10 ms ticks and reports thousands of times.
pub fn pauses_out_of_descriptors(server: &Server) -> Result<()> {
    let reports = || {
        server
            .stderr()
            .matches("accept: Too many open files\n")
            .count()
    };
    wait_until("EMFILE reported", || reports() >= 1)?;
    let (ticks, seen) = (server.cpu_ticks(), reports());
    thread::sleep(std::time::Duration::from_secs(1));
    let (burnt, told) = (server.cpu_ticks() - ticks, reports() - seen);
    if burnt >= 10 || !(3..=20).contains(&told) {
        return Err(format!(
            "a pause between tries while out of descriptors: {burnt} ticks of CPU and {told} reports in 1 s"
        ));
    }
    Ok(())
}

/// Handshakes under way at once in [`clients_at_once`], well below the
/// servers' backlog of 128.
pub const CONNECTING: usize = 32;

/// `n` clients at once, each sending messages that together hold every
/// byte value (8 each, [`talk`](crate::base::client::talk)) on a
/// connection it holds until it is served; all must be served byte-exact.
///
/// At most [`CONNECTING`] of them are in `connect` at a time: hundreds of
/// handshakes at once overflow the listening socket's queue of half-open
/// connections (its backlog), and the kernel answers with SYN cookies.
/// Under heavy load a late segment carrying a valid cookie, for a
/// connection already served and closed, then made a second server-side
/// socket for it: a prethreaded server's thread sat in `read` on an
/// ESTABLISHED socket whose client's end was in TIME_WAIT, a connection
/// no client held (seen once in a few hundred runs, with three test suites
/// on two cores). The clients still hold their connections at once; only
/// their handshakes are spaced.
pub fn clients_at_once(server: &Server, n: usize) -> Result<()> {
    let barrier = std::sync::Barrier::new(n);
    let gate = Gate::new(CONNECTING);
    thread::scope(|s| {
        let clients: Vec<_> = (0..n)
            .map(|id| {
                let (barrier, gate) = (&barrier, &gate);
                s.spawn(move || {
                    barrier.wait();
                    let conn = gate.through(|| server.connect())?;
                    crate::base::client::talk(id, 8, conn)
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}

/// A counting gate: at most `n` callers inside [`Gate::through`] at once.
struct Gate {
    inside: std::sync::Mutex<usize>,
    left: std::sync::Condvar,
    n: usize,
}

impl Gate {
    fn new(n: usize) -> Gate {
        Gate {
            inside: std::sync::Mutex::new(0),
            left: std::sync::Condvar::new(),
            n,
        }
    }

    fn through<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut inside = self.inside.lock().unwrap();
        while *inside >= self.n {
            inside = self.left.wait(inside).unwrap();
        }
        *inside += 1;
        drop(inside);
        let out = f();
        *self.inside.lock().unwrap() -= 1;
        self.left.notify_one();
        out
    }
}
