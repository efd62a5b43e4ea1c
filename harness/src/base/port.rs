//! TCP ports for servers, each handed out once across processes.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;

/// A TCP port that was free a moment ago, below the ephemeral range
/// (32768 and up) that the clients' own ports come from, and handed to no
/// one else by this function, in this process or another, while this
/// process lives: each port handed out is held by an flock(2) on a file
/// of its own in the temporary directory, released when the process ends.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static HELD: Mutex<Vec<std::fs::File>> = Mutex::new(Vec::new());
    let seed = std::process::id().wrapping_mul(7919)
        ^ NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(104_729);
    let dir = std::env::temp_dir().join("concserv-ports");
    let _ = std::fs::create_dir_all(&dir);
    (0..4000)
        .map(|i| 20000 + (seed.wrapping_add(i * 6133) % 12000) as u16)
        .find(|&p| {
            let Some(lock) = reserve(&dir, p) else {
                return false;
            };
            if TcpListener::bind(("0.0.0.0", p)).is_err() {
                return false;
            }
            HELD.lock().unwrap().push(lock);
            true
        })
        .expect("a free port below 32000")
}

/// flock(2) LOCK_EX | LOCK_NB on `dir/port`: the open file while the lock
/// is held, None if someone holds it (or the file cannot be opened).
fn reserve(dir: &Path, port: u16) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(port.to_string()))
        .ok()?;
    // SAFETY: flock(2) on a descriptor `file` owns and keeps open.
    let held = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    held.then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_port_is_handed_out_once_whoever_asks() {
        let ports: Vec<u16> = thread::scope(|s| {
            let asks: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..25).map(|_| free_port()).collect::<Vec<_>>()))
                .collect();
            asks.into_iter().flat_map(|a| a.join().unwrap()).collect()
        });
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "a port handed out twice");
        // Another opening of their files, as another process would make, finds
        // each of them held.
        let dir = std::env::temp_dir().join("concserv-ports");
        assert!(ports.iter().all(|&p| reserve(&dir, p).is_none()));
    }
}
