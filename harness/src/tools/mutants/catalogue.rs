//! The catalogue of mutants: each a small edit that breaks one property,
//! and the tests that must catch it.

/// One textual edit: the only occurrence of `find` in `file` becomes `replace`.
pub struct Edit {
    pub file: &'static str,
    pub find: &'static str,
    pub replace: &'static str,
}

/// A mutation, and the tests that must catch it.
pub struct Mutant {
    pub name: &'static str,
    /// The property it breaks, in words.
    pub breaks: &'static str,
    pub edits: &'static [Edit],
    /// `cargo test --release` arguments, one run each: `--test FILE -- FILTER`.
    pub tests: &'static [&'static [&'static str]],
}

macro_rules! edit {
    ($file:literal, $find:literal => $replace:literal) => {
        Edit {
            file: $file,
            find: $find,
            replace: $replace,
        }
    };
}
pub(crate) use edit;

/// Every mutant: those of the programs, then those of the harness's own
/// checks and tools ([`super::tool_mutants`]).
pub fn all() -> impl Iterator<Item = &'static Mutant> {
    MUTANTS.iter().chain(super::tool_mutants::MUTANTS)
}

/// The mutants of the programs, one property each.
const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "epoll-sigpipe",
        breaks: "the epoll server ignores SIGPIPE: a reset client cannot kill it",
        edits: &[
            edit!("src/bin/epoll_server.c", "\tsignal(SIGPIPE, SIG_IGN);" => "\t/* mutant */"),
            edit!("src/bin/epoll_server.rs", "    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };" => "    let _ = 0;"),
        ],
        tests: &[&["--test", "reliability", "--", "reset_after_half_close"]],
    },
    Mutant {
        name: "iterative-sigpipe",
        breaks: "the iterative server ignores SIGPIPE",
        edits: &[
            edit!("src/bin/iterative_server.c", "\tsignal(SIGPIPE, SIG_IGN);" => "\t/* mutant */"),
            edit!("src/bin/iterative_server.rs", "    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };" => "    let _ = 0;"),
        ],
        tests: &[&["--test", "reliability", "--", "reset_after_half_close"]],
    },
    Mutant {
        name: "accept-spins",
        breaks: "out of descriptors, Accept pauses 100 ms between tries rather than spin",
        edits: &[
            edit!("src/wrap.h", "#define ACCEPT_BACKOFF_USEC 100000" => "#define ACCEPT_BACKOFF_USEC 1"),
            edit!("src/wrap.rs", "pub const ACCEPT_BACKOFF_USEC: libc::useconds_t = 100_000;" => "pub const ACCEPT_BACKOFF_USEC: libc::useconds_t = 1;"),
        ],
        tests: &[&[
            "--test",
            "reliability",
            "--",
            "descriptor_limit_is_waited_out",
            "accept_out_of_descriptors",
        ]],
    },
    Mutant {
        name: "thread-not-detached",
        breaks: "the thread server detaches its threads, whose stacks are then reused",
        edits: &[
            edit!("src/bin/thread_server.c", "\t\tpthread_detach(tid);" => "\t\t/* mutant */"),
            edit!("src/bin/thread_server.rs", "        unsafe { libc::pthread_detach(tid) };" => "        let _ = tid;"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "thread_server_trace_detaches_rather_than_joins",
        ]],
    },
    Mutant {
        name: "process-not-reaped",
        breaks: "the process server reaps its children on SIGCHLD: no zombies",
        edits: &[
            edit!("src/bin/process_server.c", "\twhile (waitpid(-1, NULL, WNOHANG) > 0)" => "\twhile (0)"),
            edit!("src/bin/process_server.rs", "    while unsafe { libc::waitpid(-1, ptr::null_mut(), libc::WNOHANG) } > 0 {}" => "    let _ = ptr::null_mut::<i32>();"),
        ],
        tests: &[
            &["--test", "process_server"],
            &["--test", "reliability", "--", "a_thousand_sequential"],
        ],
    },
    Mutant {
        name: "thread-slots-50",
        breaks: "the thread server holds the 256 connections the table declares; the bench takes no other stop",
        edits: &[
            edit!("src/slots.h", "#define MAXSLOTS 256" => "#define MAXSLOTS 50"),
            edit!("src/slots.rs", "pub const MAXSLOTS: usize = 256;" => "pub const MAXSLOTS: usize = 50;"),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--test",
            "tools",
            "--",
            "a_short_benchmark",
        ]],
    },
    Mutant {
        name: "echo-upper-64",
        breaks: "every byte of a read is upper-cased, not only the first 64 (which is all strace -s 64 showed)",
        edits: &[
            edit!("src/echo.c", "\tfor (i = 0; i < n; i++)\n\t\tbuf[i] = toupper" => "\tfor (i = 0; i < n && i < 64; i++)\n\t\tbuf[i] = toupper"),
            edit!("src/echo.rs", "    for b in buf.iter_mut() {" => "    for b in buf.iter_mut().take(64) {"),
        ],
        tests: &[&["--test", "reliability", "--", "one_mebibyte_in_one_send"]],
    },
    Mutant {
        name: "spare-not-retried",
        breaks: "an event loop reopens its spare descriptor once it could not (else every EMFILE pauses it)",
        edits: &[
            edit!("src/accept.c", "\tif (*spare < 0)\n\t\t*spare = open(\"/dev/null\", O_RDONLY);\nagain:" => "again:"),
            edit!("src/accept.rs", "    if *spare < 0 {\n        // SAFETY: a NUL-terminated path.\n        *spare = unsafe { libc::open(c\"/dev/null\".as_ptr(), libc::O_RDONLY) };\n    }\n    loop {" => "    loop {"),
        ],
        tests: &[&[
            "--test",
            "multiplexing",
            "--",
            "spare_reopened_after_a_failed_reopen",
        ]],
    },
    Mutant {
        name: "pool-one-handover",
        breaks: "a pool worker takes in every connection waiting in its pipe in one pass",
        edits: &[
            edit!("src/bin/pool_server.c", "Read(w->pipefd[0], h, sizeof(h))" => "Read(w->pipefd[0], h, sizeof(h[0]))"),
            edit!("src/bin/pool_server.rs", "                size_of::<[handoff; MAXACCEPT]>(),\n            )" => "                size_of::<handoff>(),\n            )"),
        ],
        tests: &[&[
            "--test",
            "pool_server",
            "--",
            "a_burst_is_taken_in_with_one_read",
        ]],
    },
    Mutant {
        name: "stdout-blocks-the-loop",
        breaks: "an event loop's stdout never blocks it: a stdout nobody reads stalls no client",
        edits: &[
            edit!("src/outbuf.c", "O_WRONLY | O_NONBLOCK | O_NOCTTY" => "O_WRONLY | O_NOCTTY"),
            edit!("src/outbuf.rs", "libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY" => "libc::O_WRONLY | libc::O_NOCTTY"),
        ],
        tests: &[&["--test", "stdout", "--", "stdout_a_pipe_nobody_reads"]],
    },
    Mutant {
        name: "epoll-drops-idle",
        breaks: "the epoll server holds every connection it is given: 10,000 idle at once, counted in /proc (the test may not skip under CI)",
        edits: &[
            edit!("src/bin/epoll_server.c", "\t\t\tepoll_add(epfd, &client, connfd, &cliaddr);" => "\t\t\tepoll_add(epfd, &client, connfd, &cliaddr);\n\t\t\tif (connfd > 1010)\n\t\t\t\tClose(connfd - 1000);"),
            edit!("src/bin/epoll_server.rs", "            epoll_add(epfd, &mut client, connfd, &cliaddr);" => "            epoll_add(epfd, &mut client, connfd, &cliaddr);\n            if connfd > 1010 {\n                unsafe { libc::close(connfd - 1000) };\n            }"),
        ],
        tests: &[&[
            "--test",
            "multiplexing",
            "--",
            "ten_thousand_idle_connections_and_one_active",
        ]],
    },
    Mutant {
        name: "loop-waits-for-a-reader",
        breaks: "back-pressure: a reply the socket cannot take waits in the connection's buffer, and the loop goes on serving the others",
        edits: &[
            edit!("src/conn.c", "\tif ((size_t)nw == n)\n\t\treturn CONN_READ;\n\tif ((c->out = malloc" => "\twhile ((size_t)nw < n) {\n\t\tssize_t k = Write(c->fd, buf + nw, n - nw);\n\t\tif (k > 0)\n\t\t\tnw += k;\n\t}\n\tif ((size_t)nw == n)\n\t\treturn CONN_READ;\n\tif ((c->out = malloc"),
            edit!("src/conn.rs", "    let nw = nw as usize;\n    if nw == n {" => "    let mut nw = nw as usize;\n    while nw < n {\n        let k = Write(c.fd, &buf[nw..]);\n        if k > 0 {\n            nw += k as usize;\n        }\n    }\n    if nw == n {"),
        ],
        tests: &[&["--test", "multiplexing", "--", "slow_reader_stalls_no_one"]],
    },
    Mutant {
        name: "echo-high-bytes",
        breaks: "every byte value comes back upper-cased, 251 to 255 too (a test that sent i % 251 never saw them)",
        edits: &[
            edit!("src/echo.c", "\t\tbuf[i] = toupper((unsigned char)buf[i]);" => "\t\tbuf[i] = (unsigned char)buf[i] >= 251 ? 0 : toupper((unsigned char)buf[i]);"),
            edit!("src/echo.rs", "        *b = unsafe { *toupper.add(usize::from(*b)) } as u8;" => "        *b = if *b >= 251 { 0 } else { (unsafe { *toupper.add(usize::from(*b)) }) as u8 };"),
        ],
        tests: &[&["--test", "reliability", "--", "one_mebibyte_in_one_send"]],
    },
    Mutant {
        name: "prefork-not-replaced",
        breaks: "a preforked server forks another child in the slot of one that died",
        edits: &[
            edit!("src/prefork.c", "\tpf->pid[i] = 0;\n\tif (WIFSIGNALED" => "\tif (WIFSIGNALED"),
            edit!("src/prefork.rs", "    pf.pid[i as usize] = 0;\n    // SAFETY: each format's" => "    // SAFETY: each format's"),
        ],
        tests: &[&["--test", "prefork", "--", "a_killed_child_is_replaced"]],
    },
    Mutant {
        name: "prefork-stop-no-wait",
        breaks: "a preforked server's parent waits for each child it stops before it exits",
        edits: &[
            edit!("src/prefork.c", "\t\tkill(pf->pid[i], SIGTERM);\n\t\twaitpid(pf->pid[i], NULL, 0);" => "\t\tkill(pf->pid[i], SIGTERM);"),
            edit!("src/prefork.rs", "            libc::kill(pid, libc::SIGTERM);\n            libc::waitpid(pid, ptr::null_mut(), 0);" => "            libc::kill(pid, libc::SIGTERM);"),
        ],
        tests: &[&["--test", "prefork", "--", "sigterm_stops_them_all"]],
    },
    Mutant {
        name: "slot-freed-not-signalled",
        breaks: "a thread that frees its slot wakes the main thread waiting for one",
        edits: &[
            edit!("src/slots.c", "\tinfo->connfd = -1;\n\tpthread_cond_signal(&slot_freed);" => "\tinfo->connfd = -1;"),
            edit!("src/slots.rs", "        *info.connfd.get() = -1;\n        libc::pthread_cond_signal(slot_freed.0.get());" => "        *info.connfd.get() = -1;"),
        ],
        tests: &[&["--test", "thread_server", "--", "more_clients_than_slots"]],
    },
    Mutant {
        name: "prethread-no-lock",
        breaks: "prethread_server's threads take turns at accept behind the mutex",
        edits: &[
            edit!("src/bin/prethread_server.c", "\t\tpthread_mutex_lock(&accept_lock);\n" => "\t\t(void)&accept_lock;\n"),
            edit!("src/bin/prethread_server.c", "\t\tpthread_mutex_unlock(&accept_lock);\n" => ""),
            edit!("src/bin/prethread_server.rs", "        unsafe { libc::pthread_mutex_lock(ACCEPT_LOCK.0.get()) };" => ""),
            edit!("src/bin/prethread_server.rs", "        unsafe { libc::pthread_mutex_unlock(ACCEPT_LOCK.0.get()) };" => ""),
        ],
        tests: &[&["--test", "prethread", "--", "sigterm_prints_the_meter"]],
    },
    Mutant {
        name: "queue-unbounded",
        breaks: "prethread_queue_server's main thread stops accepting while its queue is full",
        edits: &[
            edit!("src/bin/prethread_queue_server.c", "\tfull = qcount == QSIZE;\n\tpthread_mutex_unlock(&qlock);\n\tpthread_cond_signal" => "\tfull = 0;\n\tpthread_mutex_unlock(&qlock);\n\tpthread_cond_signal"),
            edit!("src/bin/prethread_queue_server.rs", "        let full = *QUEUE.count.get() == QSIZE;\n        libc::pthread_mutex_unlock(QLOCK.0.get());\n        libc::pthread_cond_signal" => "        let full = false;\n        libc::pthread_mutex_unlock(QLOCK.0.get());\n        libc::pthread_cond_signal"),
        ],
        tests: &[&["--test", "prethread", "--", "a_full_queue"]],
    },
    Mutant {
        name: "prethread-meter-one-thread",
        breaks: "each prethreaded thread counts its own connections in the meter",
        edits: &[
            edit!("src/prethread.c", "__atomic_fetch_add(&count[i], 1" => "__atomic_fetch_add(&count[i * 0], 1"),
            edit!("src/prethread.rs", "    COUNT[i as usize].fetch_add(1" => "    COUNT[i as usize * 0].fetch_add(1"),
        ],
        tests: &[&["--test", "prethread", "--", "sigterm_prints_the_meter"]],
    },
    Mutant {
        name: "spares-in-threads",
        breaks: "the reuseport server's main thread opens the spares in order: threads racing for the lowest descriptor numbered them differently from run to run",
        edits: &[
            edit!("src/bin/reuseport_server.c", "\tl->spare = open_spare();\n" => ""),
            edit!("src/bin/reuseport_server.c", "\tfor (;;) {\n\t\tif (!epoll_pass" => "\tl->spare = open_spare();\n\tfor (;;) {\n\t\tif (!epoll_pass"),
            edit!("src/bin/reuseport_server.rs", "    *l.spare.get_mut() = open_spare();\n" => ""),
            edit!("src/bin/reuseport_server.rs", "\n    loop {\n" => "\n    unsafe { *l.spare.get() = open_spare() };\n    loop {\n"),
        ],
        tests: &[&[
            "--test",
            "strace",
            "--",
            "reuseports_spares_are_opened_in_order_by_the_main_thread",
        ]],
    },
    Mutant {
        name: "client-end-unsaid",
        breaks: "a failed wait names the state of the client's end of a socket a task reads",
        edits: &[
            edit!("harness/src/base/procfs.rs", "Some(c) => format!(\"its client's end {}\", state(c))," => "Some(_) => String::new(),"),
        ],
        tests: &[&[
            "--test",
            "servers",
            "--",
            "a_task_in_read_is_described_with_both_ends",
        ]],
    },
    Mutant {
        name: "uring-probe-passes",
        breaks: "the io_uring server refuses a kernel whose probe does not list an operation it queues",
        edits: &[
            edit!("src/uring.c", "\t\t\turing_lacks(uring_ops[i].name, uring_ops[i].since);" => "\t\t\t(void)uring_ops[i];"),
            edit!("src/uring.rs", "            uring_lacks(o.name, o.since);" => "            let _ = o;"),
        ],
        tests: &[&["--test", "uring", "--", "a_kernel_without_an_operation"]],
    },
    Mutant {
        name: "uring-trial-trusted",
        breaks: "the io_uring server refuses a kernel that fails its trial recv with a byte limit",
        edits: &[
            edit!("src/uring.c", "\tif (res[TRIAL_RECV] == -EINVAL)" => "\tif (0)"),
            edit!("src/uring.rs", "    if res[TRIAL_RECV as usize] == -libc::EINVAL {" => "    if false {"),
        ],
        tests: &[&["--test", "uring", "--", "a_kernel_that_fails_the_trial"]],
    },
    Mutant {
        name: "coro-no-guard",
        breaks: "a coroutine's stack has a guard page below it: a stack too small faults there, not past it",
        edits: &[
            edit!("src/coro.c", "\tif (mprotect(map, s->page, PROT_NONE) < 0) {" => "\tif (0) {"),
            edit!("src/coro.rs", "    if unsafe { libc::mprotect(map, page, libc::PROT_NONE) } < 0 {" => "    if page == 0 {"),
        ],
        tests: &[&["--test", "coroutine", "--", "a_stack_too_small"]],
    },
    Mutant {
        name: "coro-no-free-list",
        breaks: "a finished coroutine's mapping is used again (the free list), not a new one mapped per connection",
        edits: &[
            edit!("src/coro.c", "\tif ((c = s->free) != NULL) {" => "\tif ((c = s->free) != NULL && 0) {"),
            edit!("src/coro.rs", "        if !c.is_null() {\n            (*s).free = (*c).next;" => "        if false && !c.is_null() {\n            (*s).free = (*c).next;"),
        ],
        tests: &[&["--test", "coroutine", "--", "finished_coroutines_stacks"]],
    },
    Mutant {
        name: "coro-live-uncounted",
        breaks: "a coroutine that ends is taken off the count of those alive (co_live), which make watch shows",
        edits: &[
            edit!("src/coro.c", "\ts->free = c;\n\tco_live--;" => "\ts->free = c;"),
            edit!("src/coro.rs", "    co_live.fetch_sub(1, Ordering::Relaxed);\n" => ""),
        ],
        tests: &[&[
            "-p",
            "harness",
            "--features",
            "watch",
            "--test",
            "watch",
            "--",
            "one_thread_and_a_coroutine_per_client",
        ]],
    },
    Mutant {
        name: "coro-ready-reversed",
        breaks: "the scheduler switches to the coroutines in the order epoll's ready list gives (here the last ready first)",
        edits: &[
            edit!("src/coro.c", "\t\tfor (i = 0; i < n; i++) {" => "\t\tfor (i = n - 1; i >= 0; i--) {"),
            edit!("src/coro.rs", "        for i in 0..n as usize {" => "        for i in (0..n as usize).rev() {"),
        ],
        tests: &[&["--test", "coroutine", "--", "coroutines_run_in_the_order"]],
    },
    Mutant {
        name: "fiber-syscall",
        breaks: "fiber_swap makes no system call (it calls rt_sigprocmask, as swapcontext does)",
        edits: &[
            edit!("src/fiber.c", "\t\"\tmovq %rsp, (%rdi)\\n\"" => "\t\"\tpushq %rdi\\n\\tpushq %rsi\\n\\tmovl $14, %eax\\n\\txorl %edi, %edi\\n\\txorl %esi, %esi\\n\\txorl %edx, %edx\\n\\tmovl $8, %r10d\\n\\tsyscall\\n\\tpopq %rsi\\n\\tpopq %rdi\\n\"\n\t\"\tmovq %rsp, (%rdi)\\n\""),
            edit!("src/fiber.rs", "    \"    movq %rsp, (%rdi)\"," => "    \"    pushq %rdi\",\n    \"    pushq %rsi\",\n    \"    movl $14, %eax\",\n    \"    xorl %edi, %edi\",\n    \"    xorl %esi, %esi\",\n    \"    xorl %edx, %edx\",\n    \"    movl $8, %r10d\",\n    \"    syscall\",\n    \"    popq %rsi\",\n    \"    popq %rdi\",\n    \"    movq %rsp, (%rdi)\","),
        ],
        tests: &[&["--test", "coroutine", "--", "a_switch_costs"]],
    },
    Mutant {
        name: "fiber-few-registers",
        breaks: "fiber_swap saves every callee-saved register (here not rbx and r12, their slots kept)",
        edits: &[
            edit!("src/fiber.c", "\t\"\tpushq %rbx\\n\"\n\t\"\tpushq %r12\\n\"" => "\t\"\tsubq $16, %rsp\\n\""),
            edit!("src/fiber.c", "\t\"\tpopq %r12\\n\"\n\t\"\tpopq %rbx\\n\"" => "\t\"\taddq $16, %rsp\\n\""),
            edit!("src/fiber.rs", "    \"    pushq %rbx\",\n    \"    pushq %r12\"," => "    \"    subq $16, %rsp\","),
            edit!("src/fiber.rs", "    \"    popq %r12\",\n    \"    popq %rbx\"," => "    \"    addq $16, %rsp\","),
        ],
        tests: &[
            &["--test", "coroutine", "--", "a_switch_costs"],
            &[
                "--test",
                "multiplexing",
                "--",
                "three_hundred_concurrent_clients",
            ],
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// Every edit still finds its text exactly once in the tree: the list
    /// follows the code (a stale mutant would only show in `make mutants`).
    #[test]
    fn every_mutant_applies_to_the_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for m in all() {
            assert!(!m.edits.is_empty() && !m.tests.is_empty(), "{}", m.name);
            for e in m.edits {
                let text = fs::read_to_string(root.join(e.file)).unwrap();
                assert_eq!(
                    text.matches(e.find).count(),
                    1,
                    "{}: {} {:?}",
                    m.name,
                    e.file,
                    e.find
                );
                assert_ne!(e.find, e.replace, "{}", m.name);
            }
        }
        let mut names: Vec<&str> = all().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().count(), "names are unique");
    }
}
