//! `cargo xtask dev`: the registry and the console, running, with what to type.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::process::{self, stop, wait_for_file, wait_for_port};
use crate::tools;

pub fn run(args: &[String]) -> Result<(), String> {
    let registry_port: u16 = crate::option(args, "--registry-port")
        .unwrap_or("5000")
        .parse()
        .map_err(|_| "--registry-port takes a port number")?;
    let console_port: u16 = crate::option(args, "--console-port")
        .unwrap_or("8080")
        .parse()
        .map_err(|_| "--console-port takes a port number")?;
    let data = PathBuf::from(crate::option(args, "--data").unwrap_or("data"));
    let release = crate::flag(args, "--release");
    let root = crate::root();

    tools::ensure_build_tools()?;
    let mut build = tools::cargo();
    build
        .current_dir(&root)
        .args(["build", "--package", "berth-registry"]);
    if release {
        build.arg("--release");
    }
    process::run(&mut build)?;

    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        ctrlc::set_handler(move || stopping.store(true, Ordering::SeqCst))
            .map_err(|e| e.to_string())?;
    }

    let registry_addr: SocketAddr = ([127, 0, 0, 1], registry_port).into();
    let console_addr: SocketAddr = ([127, 0, 0, 1], console_port).into();
    let registry_url = format!("http://{registry_addr}");
    let console_url = format!("http://{console_addr}");
    let binary = root
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("berth-registry");
    let mut registry = std::process::Command::new(&binary)
        .current_dir(&root)
        .args([
            "serve",
            "--listen",
            &registry_addr.to_string(),
            "--public-url",
            &registry_url,
        ])
        .arg("--data")
        .arg(&data)
        .args([
            "--cors-origin",
            &console_url,
            "--cors-origin",
            &format!("http://localhost:{console_port}"),
        ])
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    if let Err(e) = wait_for_port(
        registry_addr,
        &mut registry,
        Duration::from_secs(30),
        "the registry",
    ) {
        stop(&mut registry, Duration::from_secs(5));
        return Err(e);
    }

    println!("Building and serving the console (the first build takes a few minutes)…");
    // Trunk rebuilds on every change into its own dist dir (so `trunk build --release`
    // elsewhere cannot race it), with the precompressed copies its post_build hook
    // makes; the registry binary serves them as `serve --console` does.
    let dist = root.join("target").join("dev-dist");
    let index = dist.join("index.html");
    let _ = std::fs::remove_file(&index);
    let mut trunk = tools::trunk();
    trunk
        .current_dir(&root)
        .args(["watch", "--offline", "--dist"])
        .arg(&dist);
    if release {
        trunk.arg("--release");
    }
    let mut watcher = match trunk.spawn() {
        Ok(child) => child,
        Err(e) => {
            stop(&mut registry, Duration::from_secs(5));
            return Err(format!("cannot start trunk: {e}"));
        }
    };
    let built = wait_for_file(
        &index,
        &mut watcher,
        Duration::from_secs(1800),
        "trunk watch",
        &stopping,
    );
    let mut console = match built.and_then(|()| {
        std::process::Command::new(&binary)
            .arg("console")
            .arg("--listen")
            .arg(console_addr.to_string())
            .arg("--dir")
            .arg(&dist)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))
    }) {
        Ok(child) => child,
        Err(e) => {
            stop(&mut watcher, Duration::from_secs(10));
            stop(&mut registry, Duration::from_secs(5));
            return Err(e);
        }
    };
    let ready = wait_for_port(
        console_addr,
        &mut console,
        Duration::from_secs(30),
        "the console",
    );
    if ready.is_ok() && !stopping.load(Ordering::SeqCst) {
        let credentials = std::fs::read_to_string(root.join(&data).join("admin-credentials.json"))
            .unwrap_or_default();
        let credentials: serde_json::Value = serde_json::from_str(&credentials).unwrap_or_default();
        println!();
        println!("  Berth is running.");
        println!("  Console:   {console_url}");
        println!("  Registry:  {registry_url}   (region us-east-1)");
        println!(
            "  Admin access key id:     {}",
            credentials["accessKeyId"].as_str().unwrap_or("?")
        );
        println!(
            "  Admin secret access key: {}",
            credentials["secretAccessKey"].as_str().unwrap_or("?")
        );
        println!("  Sign in to the console with these; Ctrl-C stops both.");
        println!("  Trunk rebuilds the console when its code changes: reload the page.");
        println!();
    }
    while ready.is_ok() && !stopping.load(Ordering::SeqCst) {
        if let Ok(Some(status)) = watcher.try_wait() {
            eprintln!("xtask: trunk watch exited ({status})");
            break;
        }
        if let Ok(Some(status)) = console.try_wait() {
            eprintln!("xtask: the console server exited ({status})");
            break;
        }
        if let Ok(Some(status)) = registry.try_wait() {
            eprintln!("xtask: the registry exited ({status})");
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("Stopping the console and the registry…");
    stop(&mut console, Duration::from_secs(10));
    stop(&mut watcher, Duration::from_secs(10));
    stop(&mut registry, Duration::from_secs(10));
    ready
}
