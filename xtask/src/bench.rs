//! `cargo xtask bench`: Berth against the reference Distribution registry and the
//! machine's own ceilings, the ECR API, memory, and the console's size and speed;
//! writes BENCHMARKS.md. Not part of `test`.

use crate::process;
use crate::tools;

pub fn run(_args: &[String]) -> Result<(), String> {
    let root = crate::root();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    tools::ensure_apt(&[
        ("docker-registry", "/usr/bin/docker-registry"),
        ("wrk", "/usr/bin/wrk"),
        ("time", "/usr/bin/time"),
        // The ceiling for manifest GETs: the same bytes as a static file.
        ("nginx-light", "/usr/sbin/nginx"),
    ])?;
    // The registry, and the compiled bench client (xtask bench-client) at full speed.
    process::run(tools::cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "berth-registry",
        "-p",
        "xtask",
    ]))?;
    process::run(&mut tools::build_console_release())?;
    process::run(
        tools::python("release")
            .env(
                "BERTH_BENCH_CLIENT",
                root.join("target").join("release").join("xtask"),
            )
            .arg("bench/bench.py"),
    )
}
