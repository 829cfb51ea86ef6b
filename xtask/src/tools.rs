//! Installing what Berth needs, only where it is missing, and fast when present.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use crate::process::{output, run};

pub const TRUNK_VERSION: &str = "0.21.14";
/// wasm-opt from npm's `binaryen` (Debian's 108 builds apps that die at load).
pub const BINARYEN_VERSION: &str = "132.0.0";
/// The splitter that cuts the console into screens loaded on demand (`xtask split`).
pub const WASM_SPLIT_VERSION: &str = "0.2.4";
const MIN_WASM_OPT: u32 = 116;
/// axe-core, which the browser journeys inject to check every screen's accessibility.
pub const AXE_CORE_VERSION: &str = "4.14.1";

/// Where project-local tools (npm's binaryen) are installed.
fn tools_dir() -> PathBuf {
    crate::root().join("target").join("tools")
}

fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    home.join("bin")
}

/// PATH with the cargo bin dir and the project's tools first, for every child.
pub fn path_env() -> std::ffi::OsString {
    let mut parts = vec![tools_dir().join("node_modules").join(".bin"), cargo_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(parts).unwrap_or_default()
}

fn tool(name: &str) -> Command {
    let mut command = Command::new(name);
    command.env("PATH", path_env());
    command
}

fn version_of(name: &str) -> Option<String> {
    output(tool(name).arg("--version")).map(|s| s.trim().to_string())
}

/// The `wasm-bindgen` version locked in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string(crate::root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// Everything needed to build the console: wasm32 target, trunk, wasm-bindgen-cli, wasm-opt.
pub fn ensure_build_tools() -> Result<(), String> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    if version_of("trunk").as_deref() != Some(&format!("trunk {TRUNK_VERSION}")) {
        println!("Installing trunk {TRUNK_VERSION} (first run only; about 10 minutes on 2 cores)…");
        run(tool("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    }

    let bindgen = locked_wasm_bindgen_version()?;
    if version_of("wasm-bindgen").as_deref() != Some(&format!("wasm-bindgen {bindgen}")) {
        println!("Installing wasm-bindgen-cli {bindgen} to match Cargo.lock (first run only; about 5 minutes)…");
        // Without --locked: the CLI's own lock file does not resolve on this toolchain.
        run(tool("cargo").args(["install", "wasm-bindgen-cli", "--version", &bindgen]))?;
    }

    let listed = output(tool("cargo").args(["install", "--list"])).unwrap_or_default();
    if !listed.contains(&format!("wasm_split_cli_support v{WASM_SPLIT_VERSION}:")) {
        println!(
            "Installing wasm-split-cli {WASM_SPLIT_VERSION} (first run only; about 3 minutes)…"
        );
        run(tool("cargo").args([
            "install",
            "--locked",
            "wasm_split_cli_support",
            "--version",
            WASM_SPLIT_VERSION,
            "--features",
            "build-binary",
        ]))?;
    }

    let wasm_opt_ok = version_of("wasm-opt")
        .and_then(|v| {
            v.split_whitespace()
                .nth(2)
                .and_then(|n| n.parse::<u32>().ok())
        })
        .is_some_and(|n| n >= MIN_WASM_OPT);
    if !wasm_opt_ok {
        println!("Installing wasm-opt (npm binaryen {BINARYEN_VERSION}) into target/tools…");
        std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(tools_dir())
            .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
    }
    Ok(())
}

static APT_UPDATE: Once = Once::new();

/// Installs Debian packages whose marker file is missing.
pub fn ensure_apt(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, marker)| !Path::new(marker).exists())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("Installing Debian packages: {}", missing.join(" "));
    let mut update_result = Ok(());
    APT_UPDATE.call_once(|| update_result = run(apt_get().args(["update", "-q"])));
    update_result?;
    run(apt_get()
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing))
}

/// `apt-get` that waits for another apt-get's dpkg lock (an unattended upgrade, a
/// second xtask) instead of failing at once.
fn apt_get() -> Command {
    let mut command = Command::new("apt-get");
    command
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-o", "DPkg::Lock::Timeout=300"]);
    command
}

/// Installs `e2e/requirements.txt` unless all of its modules already import.
pub fn ensure_pip(modules: &[&str]) -> Result<(), String> {
    let check = format!("import {}", modules.join(", "));
    if output(Command::new("python3").args(["-c", &check])).is_some() {
        return Ok(());
    }
    let requirements = crate::root().join("e2e").join("requirements.txt");
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
            "-r",
        ])
        .arg(requirements))?;
    // pyenv only exposes new console scripts (such as `aws`) after a rehash.
    let _ = Command::new("pyenv").arg("rehash").status();
    Ok(())
}

/// Installs an npm package into target/tools unless that version is there.
fn ensure_npm(package: &str, version: &str) -> Result<(), String> {
    let manifest = tools_dir()
        .join("node_modules")
        .join(package)
        .join("package.json");
    let installed = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| {
            v.get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    if installed.as_deref() == Some(version) {
        return Ok(());
    }
    println!("Installing {package} {version} from npm into target/tools…");
    std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools_dir())
        .arg(format!("{package}@{version}")))
}

/// Everything the test suite drives: Chromium and its driver, the docker engine,
/// podman and skopeo, PostgreSQL, nginx, the AWS CLI, boto3, pytest, Selenium,
/// moto's S3 server, and axe-core.
pub fn ensure_test_tools() -> Result<(), String> {
    ensure_apt(&[
        ("chromium", "/usr/bin/chromium"),
        ("chromium-driver", "/usr/bin/chromedriver"),
        ("docker.io", "/usr/sbin/dockerd"),
        ("podman", "/usr/bin/podman"),
        ("skopeo", "/usr/bin/skopeo"),
        // e2e/test_zero_copy.py watches the registry's sendfile calls.
        ("strace", "/usr/bin/strace"),
        // Scale-out: a throwaway PostgreSQL 15 cluster per run, nginx in front of
        // several registry processes (moto's S3 server comes from requirements.txt).
        ("postgresql", "/usr/lib/postgresql/15/bin/initdb"),
        ("nginx-light", "/usr/sbin/nginx"),
    ])?;
    ensure_npm("axe-core", AXE_CORE_VERSION)?;
    ensure_pip(PIP_MODULES)
}

/// What the end-to-end suite imports (moto's S3 server among them).
const PIP_MODULES: &[&str] = &[
    "awscli",
    "boto3",
    "pytest",
    "selenium",
    "moto.server",
    "oras",
    "requests",
    // Decodes the console's precompressed brotli files (test_console_assets.py).
    "brotli",
];

/// What the scale-out tests start: PostgreSQL, nginx and moto's S3 server.
pub fn ensure_scale_out_tools() -> Result<(), String> {
    ensure_apt(&[
        ("postgresql", "/usr/lib/postgresql/15/bin/initdb"),
        ("nginx-light", "/usr/sbin/nginx"),
    ])?;
    ensure_pip(PIP_MODULES)
}

/// A docker engine this run started, stopped again when dropped.
pub struct DockerEngine {
    children: Vec<std::process::Child>,
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            crate::process::stop(child, std::time::Duration::from_secs(20));
        }
    }
}

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Uses the running docker engine, or starts containerd and dockerd the way that
/// works on these machines (no iptables, no bridge, vfs storage).
pub fn ensure_docker_engine() -> Result<DockerEngine, String> {
    let mut engine = DockerEngine {
        children: Vec::new(),
    };
    if docker_answers() {
        return Ok(engine);
    }
    println!("Starting containerd and dockerd for the tests…");
    let logs = crate::root().join("target").join("docker-logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log = |name: &str| -> Result<(std::fs::File, std::fs::File), String> {
        let out = std::fs::File::create(logs.join(name)).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        Ok((out, err))
    };
    // A socket file can outlive a killed containerd: ask it, rather than look for it.
    let containerd_answers =
        std::os::unix::net::UnixStream::connect("/run/containerd/containerd.sock").is_ok();
    if !containerd_answers {
        let (out, err) = log("containerd.log")?;
        let child = Command::new("containerd").stdout(out).stderr(err).spawn();
        engine
            .children
            .push(child.map_err(|e| format!("cannot start containerd: {e}"))?);
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let (out, err) = log("dockerd.log")?;
    let child = Command::new("dockerd")
        .args([
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ])
        .args(["--containerd", "/run/containerd/containerd.sock"])
        .stdout(out)
        .stderr(err)
        .spawn();
    engine
        .children
        .push(child.map_err(|e| format!("cannot start dockerd: {e}"))?);
    for _ in 0..120 {
        if docker_answers() {
            return Ok(engine);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    Err(format!(
        "dockerd did not answer within 60s; see {}",
        logs.display()
    ))
}

/// Where the release console is built for tests and benchmarks.
pub const CONSOLE_DIST: &str = "target/console-dist";

/// `trunk build --release` of the console into [`CONSOLE_DIST`].
pub fn build_console_release() -> Command {
    let mut command = trunk();
    command.current_dir(crate::root()).args([
        "build",
        "--release",
        "--offline",
        "--dist",
        CONSOLE_DIST,
    ]);
    command
}

/// python3 with what the e2e fixtures read: the repository, the registry binary
/// (`debug` or `release`) and the built console.
pub fn python(profile: &str) -> Command {
    let root = crate::root();
    let mut command = Command::new("python3");
    command
        .current_dir(&root)
        .env("PATH", path_env())
        .env("BERTH_ROOT", &root)
        .env(
            "BERTH_REGISTRY_BIN",
            root.join("target").join(profile).join("berth-registry"),
        )
        .env("BERTH_CONSOLE_DIST", root.join(CONSOLE_DIST));
    command
}

pub fn wasm_split() -> Command {
    tool("wasm-split-cli")
}

pub fn wasm_bindgen() -> Command {
    tool("wasm-bindgen")
}

pub fn wasm_opt() -> Command {
    tool("wasm-opt")
}

pub fn trunk() -> Command {
    tool("trunk")
}

pub fn cargo() -> Command {
    tool("cargo")
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    /// Holds dpkg's front-end lock the way apt does (an fcntl lock), until told to let go.
    fn hold_dpkg_lock() -> std::process::Child {
        let script = "import fcntl, sys\n\
                      f = open('/var/lib/dpkg/lock-frontend', 'w')\n\
                      fcntl.lockf(f, fcntl.LOCK_EX)\n\
                      print('held', flush=True)\n\
                      sys.stdin.read()\n";
        let mut holder = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(holder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held");
        holder
    }

    #[test]
    fn apt_waits_for_a_held_dpkg_lock() {
        assert!(
            std::path::Path::new("/var/lib/dpkg/lock-frontend").exists(),
            "this test needs Debian's dpkg (cargo xtask test runs on Debian as root)"
        );
        let mut holder = hold_dpkg_lock();
        // Installing something present changes nothing, but takes the lock all the same.
        let mut apt = super::apt_get()
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "coreutils",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // apt says it is waiting: proof it met the lock and did not give up.
        let mut waiting = String::new();
        let mut stdout = BufReader::new(apt.stdout.take().unwrap());
        while !waiting.contains("Waiting for cache lock") {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                break;
            }
            waiting.push_str(&line);
        }
        assert!(
            waiting.contains("Waiting for cache lock"),
            "apt-get should report waiting for the lock, said: {waiting}"
        );
        // Let apt finish once the lock is free; its further output is not needed.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        holder.stdin.take().unwrap().write_all(b"").unwrap();
        holder.wait().unwrap();
        assert!(apt.wait().unwrap().success(), "apt-get gave up: {waiting}");
    }
}
