//! `make explain`: each program's rows show its lessons, each call mapped
//! to the line that made it in both languages (the lines found by searching
//! the sources, never written here); the page is valid, self-contained, and
//! renders in Chromium; `make compare`'s call-site check fails on a twin
//! whose calls match but whose call sites do not; and the line tables add
//! nothing to the binaries `make bench` measures, stripped.

use harness::base::process::require;
use harness::tools::compare::{self, Job};
use harness::tools::explain::text::View;
use harness::tools::explain::{self, Call, Explained, Origin, Row, html, text};
use harness::{Kind, PROGRAMS, Program, Result, Twin, exe, program, scratch};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{LazyLock, OnceLock};

/// The repository's file `rel`.
fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The number of the first line of `rel` holding `needle`, searching from
/// the first line holding `after` (from the top when it is empty).
fn line_of(rel: &str, after: &str, needle: &str) -> u32 {
    let text = fs::read_to_string(repo(rel)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(after))
        .unwrap_or_else(|| {
            panic!("{rel}: no line holds {after:?}");
        });
    let i = lines[start..]
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{rel}: no line after {after:?} holds {needle:?}"));
    (start + i + 1) as u32
}

/// Each program of the table explained once, for every test that reads it.
fn explained(name: &str) -> &'static Explained {
    static RUNS: LazyLock<Vec<OnceLock<Explained>>> =
        LazyLock::new(|| PROGRAMS.iter().map(|_| OnceLock::new()).collect());
    let i = PROGRAMS
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("no program {name}"));
    RUNS[i].get_or_init(|| {
        let p = &PROGRAMS[i];
        explain::run(p, &scratch!("explain/{}", p.name))
            .unwrap_or_else(|e| panic!("explain {}: {e}", p.name))
    })
}

/// Where a call's shown line is: file name, line, and what it says there.
fn site(call: &Option<Call>) -> Option<(String, u32, String)> {
    let (s, label) = call.as_ref()?.site()?;
    Some((s.file_name().to_string(), s.line, label))
}

/// The rows of every task whose call line starts with `prefix`.
fn rows<'a>(e: &'a Explained, prefix: &str) -> Vec<&'a Row> {
    e.tasks
        .iter()
        .flat_map(|t| &t.rows)
        .filter(|r| r.line().starts_with(prefix))
        .collect()
}

/// Some row starting with `prefix` was made at `c` in C and at `rust` in
/// Rust, each a (file, line, label); every such row, if `all`.
fn made_at(e: &Explained, prefix: &str, c: (&str, u32, &str), rust: (&str, u32, &str), all: bool) {
    let want = |w: (&str, u32, &str)| Some((w.0.to_string(), w.1, w.2.to_string()));
    let rows = rows(e, prefix);
    assert!(!rows.is_empty(), "no {prefix} call");
    let ok = |r: &&Row| site(&r.c) == want(c) && site(&r.rust) == want(rust);
    let found = if all {
        rows.iter().all(ok)
    } else {
        rows.iter().any(ok)
    };
    let seen: Vec<_> = rows.iter().map(|r| (site(&r.c), site(&r.rust))).collect();
    assert!(
        found,
        "{prefix}: want C {c:?} and Rust {rust:?}; the rows say {seen:#?}"
    );
}

/// The three-column view, as wide as it needs, has a row with these three
/// parts, in order, the last one ending it.
fn shown(e: &Explained, c: &str, call: &str, rust: &str) {
    let all: Vec<usize> = (0..e.tasks.len()).collect();
    let view = View {
        width: 1000,
        loader: true,
    };
    let out = text::render(e, &all, &view);
    assert!(
        out.lines().any(|l| {
            let (Some(a), Some(b), Some(r)) = (l.find(c), l.find(call), l.rfind(rust)) else {
                return false;
            };
            a < b && b < r && l.ends_with(rust)
        }),
        "no row `{c} … {call} … {rust}` in:\n{out}"
    );
}

/// The coroutine server: each `rt_sigprocmask` that glibc's context
/// calls make is shown where the scheduler switches (`uctx.c` only
/// passes the call on): into a coroutine in `co_resume`, out of it in
/// `co_wait`, for good in `co_main`; `getcontext`'s in `co_spawn`.
#[test]
fn coroutine_switches_are_shown_where_the_scheduler_switches() {
    let e = explained("coroutine_server");
    assert!(e.alike());
    let (c, r) = ("src/coro.c", "src/coro.rs");
    let at = |func: &str, rfunc: &str, c_needle: &str, r_needle: &str, callee: &str| {
        (
            (
                "coro.c",
                line_of(c, func, c_needle),
                format!("{} → {callee}", func.trim_end_matches('(')),
            ),
            (
                "coro.rs",
                line_of(r, rfunc, r_needle),
                format!("{} → {callee}", func.trim_end_matches('(')),
            ),
        )
    };
    for (prefix, func, rfunc, c_needle, r_needle, callee) in [
        (
            "rt_sigprocmask(SIG_SETMASK",
            "co_resume(",
            "fn co_resume",
            "sw->swap(",
            "sw).swap)(",
            "uctx_swap",
        ),
        (
            "rt_sigprocmask(SIG_SETMASK",
            "co_wait(",
            "fn co_wait",
            "sw->swap(",
            "sw).swap)(",
            "uctx_swap",
        ),
        (
            "rt_sigprocmask(SIG_SETMASK",
            "co_main(",
            "fn co_main",
            "sw->swap(",
            "sw).swap)(",
            "uctx_swap",
        ),
        (
            "rt_sigprocmask(SIG_BLOCK",
            "co_spawn(",
            "fn co_spawn",
            "sw->make(",
            "sw).make)(",
            "uctx_make",
        ),
    ] {
        let (cs, rs) = at(func, rfunc, c_needle, r_needle, callee);
        made_at(
            e,
            prefix,
            (cs.0, cs.1, &cs.2),
            (rs.0, rs.1, &rs.2),
            prefix.ends_with("BLOCK"),
        );
    }
}

/// The process server: the child closes the listening socket it inherited
/// (its `close(3)`, at `Close(listenfd)` in both); the parent accepts and
/// forks; the SIGCHLD handler reaps with waitpid; the child reads through
/// the wrapper; and the loader's start-up is grouped as such.
#[test]
fn process_server_rows_teach_its_lessons() {
    let e = explained("process_server");
    assert!(e.alike(), "every task identical, every site alike");
    let (c, r) = ("src/bin/process_server.c", "src/bin/process_server.rs");
    let child_close = (
        line_of(c, "pid == 0", "Close(listenfd);"),
        line_of(r, "pid == 0", "Close(listenfd);"),
    );
    made_at(
        e,
        "close(3) = 0",
        ("process_server.c", child_close.0, "main → Close"),
        ("process_server.rs", child_close.1, "main → Close"),
        false,
    );
    // The Rust column names the functions only where they differ from C's.
    shown(
        e,
        &format!("process_server.c:{} main → Close", child_close.0),
        "close(3) = 0",
        &format!("process_server.rs:{}", child_close.1),
    );
    made_at(
        e,
        "accept(3, {",
        (
            "process_server.c",
            line_of(c, "main(", "Accept(listenfd"),
            "main → Accept",
        ),
        (
            "process_server.rs",
            line_of(r, "fn main", "Accept(listenfd"),
            "main → Accept",
        ),
        true,
    );
    made_at(
        e,
        "clone(",
        (
            "process_server.c",
            line_of(c, "main(", "fork()"),
            "main → fork",
        ),
        (
            "process_server.rs",
            line_of(r, "fn main", "fork()"),
            "main → fork",
        ),
        true,
    );
    made_at(
        e,
        "wait4(-1, NULL, WNOHANG, NULL)",
        (
            "process_server.c",
            line_of(c, "do_sigchild", "waitpid(-1"),
            "do_sigchild → wait4",
        ),
        (
            "process_server.rs",
            line_of(r, "fn do_sigchild", "waitpid(-1"),
            "do_sigchild → wait4",
        ),
        true,
    );
    made_at(
        e,
        "read(4, \"round 0",
        (
            "echo.c",
            line_of("src/echo.c", "", "Read(connfd"),
            "echo_upper → Read",
        ),
        (
            "echo.rs",
            line_of("src/echo.rs", "", "ReadUninit(connfd"),
            "echo_upper → ReadUninit",
        ),
        true,
    );
    // The parent's close(connfd), at its own line in both (not merged
    // with the fork-failure branch's Close(connfd): see the build flags).
    made_at(
        e,
        "close(4) = 0",
        (
            "process_server.c",
            line_of(c, "pid > 0", "Close(connfd);"),
            "main → Close",
        ),
        (
            "process_server.rs",
            line_of(r, "pid > 0", "Close(connfd);"),
            "main → Close",
        ),
        false,
    );
    // The main task starts with the loader, grouped as such.
    let main = &e.tasks[0];
    assert_eq!(main.rows[0].origin, Origin::Startup);
    assert!(main.rows[0].line().starts_with("execve("));
    assert!(
        text::group(&main.rows, 0, true)
            .unwrap()
            .starts_with("before main: the loader"),
    );
    let module = main.rows[1].c.as_ref().unwrap().at.module.clone().unwrap();
    assert!(module.starts_with("ld-linux"), "{module}");
}

/// `make explain-NAME` in a terminal: every line as wide as the view at
/// most (long calls cut with `…`, the legend wrapped), the loader's calls
/// folded into one line that counts them, so that the main task opens on
/// the program's own first call; `--loader` shows them.
#[test]
fn the_rows_fit_the_terminal_and_open_on_the_programs_own_calls() {
    let e = explained("process_server");
    let tasks = e.select(&explain::Which::Default).unwrap();
    for width in [View::MIN_WIDTH, 100, 132] {
        let view = View {
            width,
            loader: false,
        };
        let out = text::render(e, &tasks, &view);
        for line in out.lines() {
            assert!(
                line.chars().count() <= width,
                "wider than {width}: {line:?}"
            );
        }
        // The legend, whole, in lines.
        let words: Vec<&str> = text::LEGEND.split_whitespace().collect();
        assert!(
            out.split_whitespace()
                .collect::<Vec<_>>()
                .windows(words.len())
                .any(|w| w == words),
            "{out}"
        );
        // The main task: its heading, the columns, the loader's calls
        // folded, then the program's first call of its own.
        let main: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.starts_with("== task 0"))
            .collect();
        let loader = e.tasks[0]
            .rows
            .iter()
            .take_while(|r| r.origin == Origin::Startup)
            .count();
        assert!(loader > 10, "the loader's calls: {loader}");
        let heading = format!(
            "-- before main: the loader and libc starting the program ({loader} calls), folded (--loader shows them)"
        );
        if heading.chars().count() <= width {
            assert_eq!(main[2], heading);
        } else {
            let kept: String = heading.chars().take(width - 1).collect();
            assert_eq!(main[2], format!("{}…", kept.trim_end()), "at {width}");
        }
        let first = &e.tasks[0].rows[loader];
        assert_eq!(first.origin, Origin::Program);
        let (file, line, label) = site(&first.c).unwrap();
        // The site whole from 100 columns on; cut narrower, its line kept.
        let whole = format!("{file}:{line} {label}");
        let want = if width >= 100 {
            whole
        } else {
            format!("{file}:{line}")
        };
        assert!(main[3].starts_with(&want), "at {width}: {}", main[3]);
        assert!(main[3].contains(first.line().split('(').next().unwrap()));
        assert!(!out.contains("execve("), "{out}");
    }
    for name in ["thread_server", "client"] {
        let e = explained(name);
        let all: Vec<usize> = (0..e.tasks.len()).collect();
        for width in [View::MIN_WIDTH, 100] {
            let view = View {
                width,
                loader: true,
            };
            let out = text::render(e, &all, &view);
            for line in out.lines() {
                assert!(line.chars().count() <= width, "{name}, {width}: {line:?}");
            }
        }
    }
    // Cut only where it must be: as wide as the calls need, nothing is.
    let wide = View {
        width: 1000,
        loader: true,
    };
    let out = text::render(e, &tasks, &wide);
    assert!(out.contains("execve("));
    assert!(
        out.lines()
            .filter(|l| l.contains("ERESTARTSYS"))
            .all(|l| l.contains("= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"))
    );
}

/// The thread server: pthread_create makes clone3 (its stack stops inside
/// libc, so its line is inferred from the calls either side, and says so);
/// each thread closes its connection in do_work; a thread's start-up and
/// end are libc's own.
#[test]
fn thread_server_rows_teach_its_lessons() {
    let e = explained("thread_server");
    assert!(e.alike());
    let (c, r) = ("src/bin/thread_server.c", "src/bin/thread_server.rs");
    made_at(
        e,
        "clone3(",
        (
            "thread_server.c",
            line_of(c, "main(", "pthread_create("),
            "main → pthread_create",
        ),
        (
            "thread_server.rs",
            line_of(r, "fn main", "libc::pthread_create("),
            "main → pthread_create",
        ),
        true,
    );
    let clone3 = rows(e, "clone3(")[0];
    assert!(clone3.c.as_ref().unwrap().at.inferred);
    assert!(clone3.c.as_ref().unwrap().site_text().ends_with(" *"));
    made_at(
        e,
        "mmap(NULL, 8392704",
        (
            "thread_server.c",
            line_of(c, "main(", "pthread_create("),
            "main → pthread_create",
        ),
        (
            "thread_server.rs",
            line_of(r, "fn main", "libc::pthread_create("),
            "main → pthread_create",
        ),
        true,
    );
    assert_eq!(rows(e, "mmap(NULL, 8392704")[0].origin, Origin::Inside);
    made_at(
        e,
        "close(4) = 0",
        (
            "thread_server.c",
            line_of(c, "do_work", "Close(info->connfd);"),
            "do_work → Close",
        ),
        (
            "thread_server.rs",
            line_of(r, "fn do_work", "Close(connfd);"),
            "do_work → Close",
        ),
        false,
    );
    made_at(
        e,
        "accept(3, {",
        (
            "thread_server.c",
            line_of(c, "main(", "Accept(listenfd"),
            "main → Accept",
        ),
        (
            "thread_server.rs",
            line_of(r, "fn main", "Accept(listenfd"),
            "main → Accept",
        ),
        true,
    );
    let thread = &e.tasks[1];
    assert_eq!(thread.rows[0].origin, Origin::Startup);
    let exit = thread
        .rows
        .iter()
        .find(|r| r.line() == "exit(0) = ?")
        .unwrap();
    assert_eq!(exit.origin, Origin::Libc);
}

/// The client: its socket and connection through the wrappers, each line
/// through Writen and Readn, the reply through Write to stdout; and
/// getaddrinfo's own calls grouped under it.
#[test]
fn client_rows_teach_its_lessons() {
    let e = explained("client");
    assert!(e.alike());
    let (c, r) = ("src/bin/client.c", "src/bin/client.rs");
    made_at(
        e,
        "socket(AF_INET",
        (
            "client.c",
            line_of(c, "", "Socket(AF_INET"),
            "main → Socket",
        ),
        (
            "client.rs",
            line_of(r, "", "Socket(libc::AF_INET"),
            "main → Socket",
        ),
        true,
    );
    made_at(
        e,
        "connect(3",
        (
            "client.c",
            line_of(c, "", "Connect(sockfd"),
            "main → Connect",
        ),
        (
            "client.rs",
            line_of(r, "", "Connect(sockfd"),
            "main → Connect",
        ),
        true,
    );
    made_at(
        e,
        "write(3, \"hello, server\\n\"",
        ("client.c", line_of(c, "", "Writen(sockfd"), "main → Writen"),
        (
            "client.rs",
            line_of(r, "", "Writen(sockfd"),
            "main → Writen",
        ),
        true,
    );
    made_at(
        e,
        "read(3, \"HELLO, SERVER\\n\"",
        ("client.c", line_of(c, "", "Readn(sockfd"), "main → Readn"),
        ("client.rs", line_of(r, "", "Readn(sockfd"), "main → Readn"),
        true,
    );
    made_at(
        e,
        "write(1, \"HELLO, SERVER\\n\"",
        (
            "client.c",
            line_of(c, "", "Write(STDOUT_FILENO"),
            "main → Write",
        ),
        (
            "client.rs",
            line_of(r, "", "Write(libc::STDOUT_FILENO"),
            "main → Write",
        ),
        true,
    );
    let gai = line_of(c, "", "getaddrinfo(host");
    let rows = &e.tasks[0].rows;
    let inside = rows
        .iter()
        .position(|r| r.origin == Origin::Inside && site(&r.c).is_some_and(|s| s.1 == gai))
        .expect("a call made inside getaddrinfo");
    assert!(
        text::group(rows, inside, true).is_some_and(|g| g.starts_with("made inside getaddrinfo")),
        "{:?}",
        text::group(rows, inside, true)
    );
}

/// Whether source line `text` calls `name`: `name(`, `name::<`, or
/// through a pointer of that name (`(pf.child_main)(`), not as the tail
/// of a longer name, outside a `//` comment.
fn line_calls(text: &str, name: &str) -> bool {
    let code = text.split("//").next().unwrap_or(text);
    code.match_indices(name).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = &code[i + name.len()..];
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && (after.starts_with('(') || after.starts_with("::<") || after.starts_with(")("))
    })
}

/// Whether source line `text` calls through a function pointer held in a
/// field (`c->fn(c, c->arg)`, `((*c).f)(c, (*c).arg)`): it calls whichever
/// function was stored there, whatever its name.
fn calls_through_pointer(text: &str) -> bool {
    let code = text.split("//").next().unwrap_or(text);
    code.contains(")(")
        || code.split("->").skip(1).any(|rest| {
            let field = rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            field > 0 && rest[field..].starts_with('(')
        })
}

/// Whether function `name` is used as a value somewhere in src/ (passed
/// as an argument, or stored in a table: `serve,`, `.swap = uctx_swap,`):
/// the functions a call through a pointer can reach.
fn address_taken(name: &str) -> bool {
    static SOURCES: LazyLock<String> = LazyLock::new(|| {
        let mut all = String::new();
        for dir in [repo("src"), repo("src/bin")] {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "c" || e == "rs") {
                    all += &fs::read_to_string(&path).unwrap();
                }
            }
        }
        all
    });
    SOURCES.match_indices(name).any(|(i, _)| {
        let before = SOURCES[..i].chars().next_back();
        let after = SOURCES[i + name.len()..].trim_start();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && (after.starts_with(',') || after.starts_with(')') || after.starts_with(';'))
    })
}

/// The lines (0-based, first and last) of the Rust statement that spans
/// line `i`, as rustfmt splits one: up while `i` is inside brackets
/// opened above it, or continues the line above (`.method(`, `?`, after
/// `=`); down until the brackets opened close. No wider.
fn statement(lines: &[&str], i: usize) -> (usize, usize) {
    let code = |l: &str| l.split("//").next().unwrap_or(l).trim().to_string();
    // Brackets opened minus closed.
    let depth = |from: usize, to: usize| -> i32 {
        lines[from..=to]
            .iter()
            .flat_map(|l| code(l).chars().collect::<Vec<_>>())
            .map(|c| match c {
                '(' | '[' => 1,
                ')' | ']' => -1,
                _ => 0,
            })
            .sum()
    };
    let mut first = i;
    while first > 0 {
        let (above, here) = (code(lines[first - 1]), code(lines[first]));
        let inside = (first..=i).any(|k| depth(first, k) < 0);
        let continues = here.starts_with('.')
            || here.starts_with('?')
            || above.ends_with('=')
            || above.ends_with('(');
        if !inside && !continues {
            break;
        }
        first -= 1;
    }
    let mut last = i;
    while last + 1 < lines.len() && depth(first, last) > 0 {
        last += 1;
    }
    (first, last)
}

/// The library functions a line's source calls by another name than
/// strace's: glibc's shared library exports only some of its names, and
/// strace names a frame after the exported symbol nearest below it (a
/// waitpid's frame is `wait4`, a perror's `__isoc99_vsscanf`); some call
/// another that makes the call (getline's getdelim, realloc's malloc); and
/// GCC makes a `printf` of a constant string ending in a newline a `puts`.
const CALLED_AS: &[(&str, &str)] = &[
    ("puts", "printf"),
    ("wait4", "waitpid"),
    ("fcntl64", "fcntl"),
    ("open64", "open"),
    ("fstatat", "fstat"),
    ("malloc", "realloc"),
    ("getdelim", "getline"),
    ("fwrite", "fputs"),
    ("isoc99_vsscanf", "perror"),
    ("sem_unlink", "sem_wait"),
    ("pthread_mutex_init", "pthread_mutex_lock"),
    ("pthread_mutex_trylock", "pthread_mutex_unlock"),
    ("tempnam", "mkstemp"),
];

/// Program `p`'s C twin compiled again into `out` as build.rs compiles
/// it, but at -O0 (under its own name: it shows in the execve).
fn build_c_o0(p: &Program, out: &Path) -> PathBuf {
    fs::create_dir_all(out).unwrap();
    let exe = out.join(p.name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(
            programs::C_FLAGS
                .iter()
                .map(|f| if *f == "-O2" { "-O0" } else { f }),
        )
        .args(p.c_sources)
        .arg("-o")
        .arg(&exe)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cc");
    assert!(status.success(), "{}: cc -O0", p.name);
    exe
}

/// Every call that explain maps to lines, in every program's session,
/// both twins, was made where those lines say: the innermost line of the
/// program's own code calls the library function strace saw it enter,
/// and each line further out calls the function of the frame inside it.
/// A compiler that merges the same call from two lines into one
/// instruction gives it one line (GCC: the parent's `Close(connfd)` at the
/// fork-failure branch's line) or none (LLVM: line 0, not mapped); the
/// flags the programs are built with keep each call at its own line, so
/// every call is mapped, and to a line that makes it.
#[test]
fn every_mapped_call_is_made_by_the_lines_it_names() {
    let programs: Vec<&Program> = PROGRAMS.iter().filter(|p| p.kind != Kind::Driver).collect();
    // Each C twin built again at -O0, which merges no call and makes no
    // tail call: the lines it names are the reference for the C twins'
    // (GCC gives a merged call one of its lines, a line that calls the
    // same function, but not the one that ran). Explained beside the
    // programs, a few at a time: each is two sessions under strace -f -k.
    let reference = std::sync::Mutex::new(std::collections::HashMap::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while let Some(p) =
                    programs.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                {
                    explained(p.name);
                    let d = scratch!("explain/{}-O0", p.name);
                    let o0 = build_c_o0(p, &d.join("cc"));
                    let e = explain::run_pair(p, &exe(p.name, Twin::Rust), &o0, &d)
                        .unwrap_or_else(|e| panic!("explain {} at -O0: {e}", p.name));
                    reference.lock().unwrap().insert(p.name, e);
                }
            });
        }
    });
    let reference = reference.into_inner().unwrap();
    let mut sources: std::collections::HashMap<String, String> = Default::default();
    let mut wrong = Vec::new();
    let mut unmapped = Vec::new();
    let mut checked = 0;
    let mut against_o0 = 0;
    let mut mapped = 0;
    let mut counts = Vec::new();
    for p in &programs {
        let e = explained(p.name);
        for (twin, rust) in [("C", false), ("Rust", true)] {
            let mut mine = 0;
            let calls = e
                .tasks
                .iter()
                .filter_map(|t| if rust { t.rust.as_ref() } else { t.c.as_ref() })
                .flat_map(|t| &t.calls);
            for call in calls.filter(|c| !c.at.own.is_empty() || c.at.unresolved) {
                let own = &call.at.own;
                if call.at.unresolved || own.iter().any(|s| s.line == 0) {
                    unmapped.push(format!("{} {twin}: {} at {own:?}", p.name, call.line));
                    continue;
                }
                mapped += 1;
                // What each own frame's line must call, innermost first.
                let callees = std::iter::once(call.at.entry.clone())
                    .chain(own.iter().map(|s| Some(s.name().to_string())));
                for (site, callee) in own.iter().zip(callees) {
                    let Some(callee) = callee else { continue };
                    let text = sources
                        .entry(site.file.clone())
                        .or_insert_with(|| fs::read_to_string(&site.file).unwrap());
                    let lines: Vec<&str> = text.lines().collect();
                    let i = site.line as usize - 1;
                    let (first, last) = if rust { statement(&lines, i) } else { (i, i) };
                    let names: Vec<&str> = std::iter::once(callee.as_str())
                        .chain(
                            CALLED_AS
                                .iter()
                                .filter(|(as_, _)| *as_ == callee)
                                .map(|(_, name)| *name),
                        )
                        .collect();
                    let ok = lines[first..=last]
                        .iter()
                        .any(|l| names.iter().any(|n| line_calls(l, n)))
                        || (lines[first..=last].iter().any(|l| calls_through_pointer(l))
                            && address_taken(&callee));
                    if !ok {
                        wrong.push(format!(
                            "{} {twin}: {} — {}:{} ({}) does not call {callee}: {:?}",
                            p.name,
                            call.line,
                            site.file_name(),
                            site.line,
                            site.name(),
                            lines[i].trim()
                        ));
                    }
                    checked += 1;
                    mine += 1;
                }
            }
            assert!(mine > 0, "{} {twin}: no call mapped", p.name);
            counts.push(format!("{} {twin}: {mine}", p.name));
            if rust {
                continue;
            }
            // The C twin's lines, call by call, as at -O0 (its tasks
            // matched by their calls, numbers aside: the two runs listen
            // on ports of their own).
            let at_o0 = &reference[p.name];
            for t in e.tasks.iter().filter_map(|t| t.c.as_ref()) {
                fn lines(t: &explain::Task) -> Vec<String> {
                    let shape = |l: &str| {
                        l.split(|c: char| c.is_ascii_digit())
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join("N")
                    };
                    t.calls.iter().map(|c| shape(&c.line)).collect()
                }
                let Some(r) = at_o0
                    .tasks
                    .iter()
                    .filter_map(|r| r.c.as_ref())
                    .find(|r| lines(r) == lines(t))
                else {
                    wrong.push(format!("{} C: task {} has no twin at -O0", p.name, t.pid));
                    continue;
                };
                for (call, o0) in t.calls.iter().zip(&r.calls) {
                    let (Some((a, _)), Some((b, _))) = (call.site(), o0.site()) else {
                        continue;
                    };
                    if (&a.file, a.line) != (&b.file, b.line) {
                        wrong.push(format!(
                            "{} C: {} — {} where -O0 names {}",
                            p.name,
                            call.line,
                            a.short(),
                            b.short()
                        ));
                    }
                    against_o0 += 1;
                }
            }
        }
    }
    println!(
        "calls mapped: {mapped}; lines checked: {checked} ({}); C calls checked against -O0: {against_o0}",
        counts.join(", ")
    );
    assert!(
        wrong.is_empty() && unmapped.is_empty(),
        "{} of {checked} lines do not make the call they are named for:\n{}\n\
         {} calls not mapped:\n{}",
        wrong.len(),
        wrong.join("\n"),
        unmapped.len(),
        unmapped.join("\n")
    );
    assert!(mapped > 5000, "only {mapped} calls mapped");
    assert!(checked > 10_000, "only {checked} lines checked");
    assert!(against_o0 > 2000, "only {against_o0} C calls against -O0");
}

/// The tags of an HTML document, well nested; the elements that need no
/// end tag need none. Returns (tag, attributes) of each start tag.
fn tags(doc: &str) -> std::result::Result<Vec<(String, String)>, String> {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("a tag that does not end")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(o) if o == name => {}
                o => return Err(format!("</{name}> closes {o:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let attrs = tag[name.len()..].to_string();
        if !attrs.matches('"').count().is_multiple_of(2) {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        if !VOID.contains(&name.as_str()) {
            open.push(name.clone());
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let j = rest.find(&close).ok_or("an unclosed script or style")?;
            rest = &rest[j + close.len()..];
            open.pop();
        }
        seen.push((name, attrs));
    }
    if !open.is_empty() {
        return Err(format!("left open: {open:?}"));
    }
    Ok(seen)
}

/// The page is one valid, self-contained HTML file: a doctype, a language,
/// a character set and a title; tags nested; ids unique; nothing fetched
/// (no src, no link, no http address); every call a row.
#[test]
fn the_page_is_valid_and_self_contained() {
    let e = explained("process_server");
    let page = html::page(e);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    let tags = tags(&page).unwrap();
    let names: Vec<&str> = tags.iter().map(|t| t.0.as_str()).collect();
    for needed in [
        "html", "head", "meta", "title", "style", "body", "main", "table", "script",
    ] {
        assert!(names.contains(&needed), "no <{needed}>");
    }
    assert!(page.contains("<meta charset=\"utf-8\">"));
    for (name, attrs) in &tags {
        assert!(
            name != "link" && name != "img" && name != "iframe",
            "<{name}> fetches"
        );
        assert!(!attrs.contains(" src="), "<{name}{attrs}> fetches");
        assert!(
            !attrs.contains("http:") && !attrs.contains("https:"),
            "<{name}{attrs}>"
        );
    }
    assert!(!page.contains("@import") && !page.contains("url("));
    let mut ids: Vec<&str> = page
        .split(" id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "ids are unique");
    let calls: usize = e.tasks.iter().map(|t| t.rows.len()).sum();
    assert_eq!(page.matches("<tr class=\"call ").count(), calls);
    // Every call whole; the loader's calls folded under one button.
    for row in e.tasks.iter().flat_map(|t| &t.rows) {
        assert!(
            page.contains(&format!("</span>{}</td>", html::escape(row.line()))),
            "{}",
            row.line()
        );
    }
    let loader = e.tasks[0]
        .rows
        .iter()
        .filter(|r| r.origin == Origin::Startup)
        .count();
    assert_eq!(
        page.matches("data-run=\"run-0-0\"").count(),
        loader + 1,
        "each of the loader's calls, and the button that unfolds them"
    );
}

/// Headless Chromium renders the page: every call row, both sources with
/// every line, and the call the address names chosen, its lines lit on
/// both sides (the child's close(3), at Close(listenfd)).
#[test]
fn chromium_renders_every_call_and_both_sources() {
    require("chromium", "chromium").unwrap_or_else(|e| panic!("{e} (make deps installs it)"));
    let e = explained("process_server");
    let d = scratch!("explain/page");
    let file = d.join("process_server.html");
    fs::write(&file, html::page(e)).unwrap();

    // The child's close(3): its row's id, and the lines it lights.
    let (ti, ri) = e
        .tasks
        .iter()
        .enumerate()
        .find_map(|(ti, t)| {
            t.rows
                .iter()
                .position(|r| {
                    r.line() == "close(3) = 0" && site(&r.c).is_some_and(|s| s.2 == "main → Close")
                })
                .map(|ri| (ti, ri))
        })
        .unwrap();
    let c_line = line_of("src/bin/process_server.c", "pid == 0", "Close(listenfd);");
    let r_line = line_of("src/bin/process_server.rs", "pid == 0", "Close(listenfd);");

    // The page as Chromium leaves it, opened at `address`.
    let dump = |address: &str| -> String {
        let profile = d.join("profile");
        let _ = fs::remove_dir_all(&profile);
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(format!("file://{}{address}", file.display()))
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // Opened on no call: the program's own first, the loader's folded.
    let dom = dump("");
    let loader = e.tasks[0]
        .rows
        .iter()
        .take_while(|r| r.origin == Origin::Startup)
        .count();
    assert!(
        dom.contains(&format!("data-picked=\"call-0-{loader}\"")),
        "the first call of the program's own chosen"
    );
    assert_eq!(
        dom.matches("<tr class=\"call o-startup folded\"").count(),
        loader
    );
    // Opened on one of the loader's calls: its run unfolds.
    let dom = dump("#call-0-1");
    assert!(dom.contains("data-picked=\"call-0-1\""));
    assert!(!dom.contains("<tr class=\"call o-startup folded\""));
    assert!(dom.contains("aria-expanded=\"true\""));

    let dom = dump(&format!("#call-{ti}-{ri}"));

    let calls: usize = e.tasks.iter().map(|t| t.rows.len()).sum();
    assert!(
        dom.contains(&format!("data-calls=\"{calls}\"")),
        "the script counted every call row"
    );
    assert_eq!(dom.matches("<tr class=\"call ").count(), calls);
    assert!(dom.contains(&format!("data-picked=\"call-{ti}-{ri}\"")));
    for (side, prefix, rel) in [
        ("C", "c", "src/bin/process_server.c"),
        ("Rust", "r", "src/bin/process_server.rs"),
    ] {
        assert!(
            dom.contains(&format!("<h2>{side}</h2>")),
            "the {side} sources"
        );
        let lines = fs::read_to_string(repo(rel)).unwrap().lines().count();
        // The main file is the first of each side's: every line of it.
        for n in [1, lines] {
            assert!(
                dom.contains(&format!("id=\"{prefix}0-{n}\"")),
                "{rel}: line {n} rendered"
            );
        }
    }
    assert!(
        dom.contains(&format!("<span class=\"l hit\" id=\"c0-{c_line}\">")),
        "C line {c_line} lit"
    );
    assert!(
        dom.contains(&format!("<span class=\"l hit\" id=\"r0-{r_line}\">")),
        "Rust line {r_line} lit"
    );
    assert!(
        dom.contains("class=\"l chain\""),
        "the wrappers' lines lit lightly"
    );
}

/// The copy of the Rust twin that explain traces, its code segment's
/// header moved to a page boundary for strace's unwinder, makes the same
/// calls from the same functions as the executable built.
#[test]
fn the_aligned_copy_makes_the_same_calls() {
    for name in ["process_server", "thread_server"] {
        let e = explained(name);
        let needs = harness::trace::elf::Elf::read(&e.rust.exe)
            .unwrap()
            .needs_aligning();
        assert_eq!(
            e.rust.traced != e.rust.exe,
            needs,
            "{name}: a copy traced exactly when the executable needs aligning"
        );
        if !needs {
            // Laid out as libunwind expects: traced as built, nothing to compare.
            continue;
        }
        let mut job = Job::twins(program(name).unwrap(), None);
        job.a = e.rust.exe.clone();
        job.b = e.rust.traced.clone();
        let outcome = compare::run(&job, &scratch!("explain/aligned-{name}")).unwrap();
        assert!(outcome.identical, "{}", outcome.report);
    }
}

/// Compiles the C twin of the process server from the repository's
/// sources into `out`, its main source first edited by `edit`.
fn build_c_variant(out: &Path, edit: impl Fn(&str) -> String) -> PathBuf {
    fs::create_dir_all(out).unwrap();
    let p = program("process_server").unwrap();
    let main = p.c_sources[0];
    let src = out.join("process_server.c");
    fs::write(&src, edit(&fs::read_to_string(repo(main)).unwrap())).unwrap();
    let exe = out.join("process_server");
    let include = repo(main).parent().unwrap().to_path_buf();
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(programs::C_FLAGS)
        .arg("-iquote")
        .arg(&include)
        .arg(&src)
        .args(p.c_sources[1..].iter().map(|s| {
            if s.ends_with(".c") {
                repo(s).into_os_string()
            } else {
                s.into()
            }
        }))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run cc");
    assert!(status.success());
    exe
}

/// The call-site check: a C twin that calls close(listenfd) from main
/// rather than through Close makes the very same calls, so the traces
/// match, but the child's close(3) comes from main in C and from Close in
/// Rust, and `make compare-pair` says so. The same sources compiled the
/// same way, unedited, compare identical.
#[test]
fn call_site_check_fails_a_twin_that_calls_from_elsewhere() {
    let pair = |b: PathBuf, test: &str| -> Result<compare::Outcome> {
        let mut job = Job::twins(program("process_server")?, None);
        job.a = exe("process_server", Twin::Rust);
        job.b = b;
        compare::run(&job, &scratch!("explain/{test}/traces"))
    };
    let same = build_c_variant(&scratch!("explain/site-same"), str::to_string);
    let outcome = pair(same, "site-same").unwrap();
    assert!(outcome.identical, "{}", outcome.report);
    assert!(
        outcome.report.contains(" call sites\n")
            || outcome.report.contains(" call sites checked, "),
        "{}",
        outcome.report
    );

    let needle = "\t\tif (pid == 0) {\n\t\t\tClose(listenfd);";
    let variant = build_c_variant(&scratch!("explain/site-variant"), |s| {
        assert!(s.contains(needle));
        s.replace(needle, "\t\tif (pid == 0) {\n\t\t\tclose(listenfd);")
    });
    let outcome = pair(variant, "site-variant").unwrap();
    assert!(!outcome.identical, "{}", outcome.report);
    assert!(
        outcome
            .report
            .starts_with("process_server: DIFFERENT call sites: "),
        "the traces match, the sites do not: {}",
        outcome.report
    );
    let diff: Vec<&str> = outcome
        .report
        .lines()
        .filter(|l| l.contains("close(3) = 0"))
        .collect();
    assert!(!diff.is_empty(), "{}", outcome.report);
    for l in &diff {
        let (rust, c) = l.rsplit_once(" | ").unwrap_or_else(|| panic!("{l}"));
        assert!(rust.ends_with(" Close"), "{l}");
        assert_eq!(c, "main", "{l}");
    }
    assert!(
        !outcome.report.lines().any(|l| l.contains("read(")),
        "only the close differs: {}",
        outcome.report
    );
}

/// The line tables (`-g`, `debug = "line-tables-only"`) change no code:
/// stripped, as `make bench` measures them, the programs are as large as
/// built without, and their code is the same byte for byte.
#[test]
fn line_tables_add_nothing_to_the_stripped_binaries() {
    require("strip", "binutils").unwrap();
    let d = scratch!("explain/stripped");
    let strip = |from: &Path, to: PathBuf| -> PathBuf {
        let ok = Command::new("strip")
            .arg("-o")
            .arg(&to)
            .arg(from)
            .status()
            .unwrap()
            .success();
        assert!(ok, "strip {}", from.display());
        to
    };
    let text = |f: &Path| -> Vec<u8> {
        let out = f.with_extension("text");
        let ok = Command::new("objcopy")
            .args(["-O", "binary", "--only-section=.text"])
            .arg(f)
            .arg(&out)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        fs::read(out).unwrap()
    };
    let alike = |with: &Path, without: &Path, what: &str| {
        let a = strip(with, d.join(format!("{what}.with")));
        let b = strip(without, d.join(format!("{what}.without")));
        let size = |p: &Path| fs::metadata(p).unwrap().len();
        assert_eq!(size(&a), size(&b), "{what}: stripped sizes");
        assert!(text(&a) == text(&b), "{what}: the code");
    };

    // The Rust programs, built again without line tables; and with them,
    // in the release profile, when this test runs in another.
    let build = |target: &Path, line_tables: bool| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--release", "--quiet", "-p", "concserv", "--bins"])
            .arg("--target-dir")
            .arg(target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if !line_tables {
            cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false");
        }
        assert!(cmd.status().expect("run cargo").success());
        target.join("release")
    };
    let without_dir = build(&d.join("target"), false);
    let with_dir = if cfg!(debug_assertions) {
        build(&d.join("target-with"), true)
    } else {
        harness::rust_dir()
    };
    // The C twins, compiled again without -g.
    for p in harness::PROGRAMS {
        alike(
            &with_dir.join(p.name),
            &without_dir.join(p.name),
            &format!("{}-rust", p.name),
        );
        let without = d.join(format!("{}-c-nog", p.name));
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(programs::C_FLAGS.iter().filter(|f| **f != "-g"))
            .args(p.c_sources)
            .arg("-o")
            .arg(&without)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
        alike(&exe(p.name, Twin::C), &without, &format!("{}-c", p.name));
    }
}

/// `pid 123` as `pid PID`, for lines that name the tasks' pids.
fn pids_masked(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("pid ") {
        out.push_str(&rest[..i + 4]);
        rest = rest[i + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push_str("PID");
    }
    out.push_str(rest);
    out
}

/// The process server's excerpts docs/explain.md quotes from `make
/// explain-process` in a terminal 100 columns wide (its three blocks
/// marked `quoted: make explain-process: …`) stand, line after line, in
/// what the tool prints today.
#[test]
fn the_chapter_quotes_make_explain_as_it_prints() {
    let e = explained("process_server");
    let all: Vec<usize> = (0..e.tasks.len()).collect();
    let view = View {
        width: 100,
        loader: false,
    };
    let printed: Vec<String> = text::render(e, &all, &view)
        .lines()
        .map(pids_masked)
        .collect();
    for name in ["task 1", "task 0", "SIGCHLD"] {
        let marker = format!("<!-- quoted: make explain-process: {name} -->");
        let block: Vec<String> = harness::testing::doc_block("explain.md", &marker)
            .iter()
            .map(|l| pids_masked(l))
            .collect();
        assert!(block.len() >= 4, "{block:?}");
        assert!(
            printed.windows(block.len()).any(|w| w == block),
            "docs/explain.md quotes\n{}\nwhich make explain-process does not print:\n{}",
            block.join("\n"),
            printed.join("\n")
        );
    }
}

/// docs/uring.md quotes the queued operations `make explain-uring` prints,
/// each beside the C and Rust lines that queued it: as it prints them.
#[test]
fn the_uring_chapter_quotes_its_queued_operations_as_printed() {
    let exe = harness::rust_dir().join("explain");
    let out = std::process::Command::new(&exe)
        .arg("uring")
        .output()
        .expect("run explain");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let block =
        harness::testing::doc_block("uring.md", "  <!-- quoted: make explain-uring: queued -->");
    assert!(block.len() >= 4, "{block:?}");
    for line in &block {
        assert!(
            printed.lines().any(|l| l.trim_end() == line.trim_end()),
            "docs/uring.md quotes {line:?}, which make explain-uring does not print:\n{printed}"
        );
    }
}
