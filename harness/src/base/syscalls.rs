//! System call numbers by name: what a task blocked in one shows in
//! /proc/PID/task/TID/syscall, in words.

/// The calls a server may be found blocked in, or running, by number.
#[cfg(target_arch = "x86_64")]
const ARCH: &[(i64, &str)] = &[
    (libc::SYS_accept, "accept"),
    (libc::SYS_poll, "poll"),
    (libc::SYS_select, "select"),
    (libc::SYS_epoll_wait, "epoll_wait"),
    (libc::SYS_pause, "pause"),
    (libc::SYS_wait4, "wait4"),
    (libc::SYS_open, "open"),
];

#[cfg(not(target_arch = "x86_64"))]
const ARCH: &[(i64, &str)] = &[];

/// The calls of every architecture.
const COMMON: &[(i64, &str)] = &[
    (libc::SYS_read, "read"),
    (libc::SYS_write, "write"),
    (libc::SYS_readv, "readv"),
    (libc::SYS_writev, "writev"),
    (libc::SYS_close, "close"),
    (libc::SYS_openat, "openat"),
    (libc::SYS_accept4, "accept4"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_recvfrom, "recvfrom"),
    (libc::SYS_sendto, "sendto"),
    (libc::SYS_recvmsg, "recvmsg"),
    (libc::SYS_sendmsg, "sendmsg"),
    (libc::SYS_ppoll, "ppoll"),
    (libc::SYS_pselect6, "pselect6"),
    (libc::SYS_epoll_pwait, "epoll_pwait"),
    (libc::SYS_epoll_pwait2, "epoll_pwait2"),
    (libc::SYS_epoll_ctl, "epoll_ctl"),
    (libc::SYS_futex, "futex"),
    (libc::SYS_fcntl, "fcntl"),
    (libc::SYS_io_uring_enter, "io_uring_enter"),
    (libc::SYS_waitid, "waitid"),
    (libc::SYS_nanosleep, "nanosleep"),
    (libc::SYS_clock_nanosleep, "clock_nanosleep"),
    (libc::SYS_rt_sigsuspend, "rt_sigsuspend"),
    (libc::SYS_rt_sigtimedwait, "rt_sigtimedwait"),
    (libc::SYS_restart_syscall, "restart_syscall"),
    (libc::SYS_exit_group, "exit_group"),
    (libc::SYS_clone, "clone"),
    (libc::SYS_clone3, "clone3"),
    (libc::SYS_mmap, "mmap"),
    (libc::SYS_munmap, "munmap"),
    (libc::SYS_sched_yield, "sched_yield"),
];

/// The name of system call `nr` (`accept`, `epoll_wait`), or `syscall
/// NR` for one the table does not hold.
pub fn name(nr: i64) -> String {
    ARCH.iter()
        .chain(COMMON)
        .find(|&&(n, _)| n == nr)
        .map_or_else(|| format!("syscall {nr}"), |&(_, name)| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_numbers() {
        assert_eq!(name(libc::SYS_accept4), "accept4");
        assert_eq!(name(libc::SYS_futex), "futex");
        assert_eq!(name(100_000), "syscall 100000");
    }
}
