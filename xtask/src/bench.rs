//! `cargo xtask bench`: Berth against the reference Distribution registry, the ECR
//! API, and the console's size and speed; writes BENCHMARKS.md. Not part of `test`.

use std::process::Command;

use crate::process;
use crate::tools;

pub fn run(_args: &[String]) -> Result<(), String> {
    let root = crate::root();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    tools::ensure_apt(&[
        ("docker-registry", "/usr/bin/docker-registry"),
        ("wrk", "/usr/bin/wrk"),
    ])?;
    process::run(tools::cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "berth-registry",
    ]))?;
    process::run(tools::trunk().current_dir(&root).args([
        "build",
        "--release",
        "--offline",
        "--dist",
        "target/console-dist",
    ]))?;
    process::run(
        Command::new("python3")
            .current_dir(&root)
            .env("PATH", tools::path_env())
            .env("BERTH_ROOT", &root)
            .env(
                "BERTH_REGISTRY_BIN",
                root.join("target/release/berth-registry"),
            )
            .env("BERTH_CONSOLE_DIST", root.join("target/console-dist"))
            .arg("bench/bench.py"),
    )
}
