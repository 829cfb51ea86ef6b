//! `cargo xtask test`: every check Berth has, in the order that fails fastest.

use std::process::Command;
use std::time::Instant;

use crate::process;
use crate::tools;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::root();
    let started = Instant::now();
    if !crate::flag(args, "--skip-install") {
        tools::ensure_build_tools()?;
        tools::ensure_test_tools()?;
    }
    let wasm = ["--target", "wasm32-unknown-unknown"];

    step(
        "format",
        tools::cargo()
            .current_dir(&root)
            .args(["fmt", "--all", "--check"]),
    )?;
    step(
        "clippy (native)",
        tools::cargo().current_dir(&root).args([
            "clippy",
            "--workspace",
            "--exclude",
            "berth-console",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step(
        "clippy (wasm32)",
        tools::cargo()
            .current_dir(&root)
            // All features: the screens as Trunk builds them (`split`) too.
            .args([
                "clippy",
                "-p",
                "berth-console",
                "--all-targets",
                "--all-features",
            ])
            .args(wasm)
            .args(["--", "-D", "warnings"]),
    )?;
    // One PostgreSQL cluster and one S3 server for the whole run: the storage
    // contract and the scale-out end-to-end tests each make their own database and
    // bucket prefix in them.
    let services = crate::services::start()?;
    // The unit tests' data dirs go under target/, removed once they pass: CI
    // machines have little disk, and a test that panics cannot clean up after itself.
    let scratch = root.join("target").join("test-tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    step(
        "unit tests and the storage contract (SQLite + files, PostgreSQL + S3)",
        tools::cargo()
            .current_dir(&root)
            .args(["test", "--workspace", "--exclude", "berth-console"])
            .envs(services.env())
            .env("TMPDIR", &scratch),
    )?;
    let _ = std::fs::remove_dir_all(&scratch);
    step(
        "console tests in headless Chromium",
        tools::cargo()
            .current_dir(&root)
            .args(["test", "-p", "berth-console"])
            .args(wasm)
            .env("CHROMEDRIVER", CHROMEDRIVER),
    )?;
    step(
        "build the registry",
        tools::cargo()
            .current_dir(&root)
            .args(["build", "-p", "berth-registry"]),
    )?;
    step(
        "build the console (release, as shipped)",
        &mut tools::build_console_release(),
    )?;
    println!(
        "==> checks before the end-to-end suite took {}s",
        started.elapsed().as_secs()
    );
    let _docker = tools::ensure_docker_engine()?;
    // Last, and silent after it: pytest's summary stays the run's closing line.
    println!("\n==> end-to-end: real registry, AWS CLI, boto3, docker, podman, skopeo, headless Chromium, PostgreSQL + S3 + nginx");
    process::run(
        tools::python("debug")
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .envs(services.env())
            .args([
                "-m",
                "pytest",
                "e2e",
                "-q",
                "-rs",
                "--durations=10",
                "-p",
                "no:cacheprovider",
            ]),
    )
}

fn step(name: &str, command: &mut Command) -> Result<(), String> {
    println!("\n==> {name}");
    let started = Instant::now();
    let result = process::run(command);
    println!(
        "==> {name}: {} in {}s",
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed().as_secs()
    );
    result
}
