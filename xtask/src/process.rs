//! Running commands and children, with the output a person needs to follow along.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Runs a command to completion, its output going to the terminal.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = describe(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its standard output, or `None` if it fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn describe(command: &Command) -> String {
    let mut parts = vec![command.get_program().to_string_lossy().into_owned()];
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Waits until something accepts connections on `addr`, or the child dies.
pub fn wait_for_port(
    addr: SocketAddr,
    child: &mut Child,
    timeout: Duration,
    what: &str,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited before it was ready ({status})"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "{what} did not start listening on {addr} within {}s",
        timeout.as_secs()
    ))
}

/// Waits until `path` exists (a build's output), or the child dies, or `stopping`.
pub fn wait_for_file(
    path: &std::path::Path,
    child: &mut Child,
    timeout: Duration,
    what: &str,
    stopping: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if path.exists() {
            return Ok(());
        }
        if stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("stopped before the console was built".into());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited before it made {} ({status})",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "{} did not appear within {}s",
        path.display(),
        timeout.as_secs()
    ))
}

/// Asks a child to stop (SIGTERM), then kills it if it has not after `grace`.
pub fn stop(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
