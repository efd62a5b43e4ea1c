//! The fixed port each side's server takes, whether it is free, and the
//! untraced server a client's session talks to.

use crate::base::procfs;
use crate::trace::session::Port;
use crate::{Program, Result};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// How `exe` learns the fixed port `n`. A program of the project takes it
/// as its argument, and is given it unless it is its default (and the
/// session passes nothing else, a pool's size); any other program is
/// started with no argument, and listens on `n` by itself.
pub fn side_port(exe: &Path, n: u16, program: &Program) -> Port {
    let default = n == concserv::args::DEFAULT_PORT as u16 && program.session_args.is_empty();
    if ours(exe) && !default {
        Port::Given(n)
    } else {
        Port::Fixed(n)
    }
}

/// Whether `exe` is one of the project's programs as built: in
/// target/release, target/c, or where build.rs put the C twins.
fn ours(exe: &Path) -> bool {
    let Ok(path) = fs::canonicalize(exe) else {
        return false;
    };
    let named = path
        .file_name()
        .is_some_and(|f| crate::PROGRAMS.iter().any(|p| f == p.name));
    let dirs = [
        crate::rust_dir(),
        crate::c_dir(),
        crate::rust_dir().join("../c"),
    ];
    named
        && dirs
            .iter()
            .filter_map(|d| fs::canonicalize(d).ok())
            .any(|d| path.parent() == Some(&d))
}

/// Fails when something listens on the fixed port `n`: another program
/// holds it (a server left running in another terminal, say). With
/// `wait`, first waits for it to be released.
pub fn port_free(n: u16, wait: bool) -> Result<()> {
    if wait {
        let _ = crate::base::wait::wait_until(&format!("port {n} to be free"), || {
            !procfs::port_listened(n)
        });
    }
    if procfs::port_listened(n) {
        return Err(format!(
            "port {n} is taken: another program listens on it ({}); stop it, and compare again",
            procfs::listeners(n).join("; ")
        ));
    }
    Ok(())
}

/// An untraced server for the client session, killed on drop.
pub fn plain_server(exe: &Path, port: u16) -> Result<crate::base::process::Running> {
    let mut cmd = Command::new(exe);
    cmd.arg(port.to_string());
    let server = crate::base::process::Running::spawn(
        cmd,
        exe,
        crate::base::process::Output::Capture,
        Some(Stdio::null()),
    )?;
    let pid = server.pid;
    crate::base::wait::wait_until("the server to listen", || {
        procfs::listen_ports(pid).contains(&port)
            || procfs::stat(pid).is_none_or(|s| s.state == 'Z')
    })?;
    if !procfs::listen_ports(pid).contains(&port) {
        return Err(format!(
            "the client's server {} ended: {}",
            exe.display(),
            server.stderr()
        ));
    }
    Ok(server)
}
