//! `cargo xtask bench`: Berth against the reference Distribution registry, the ECR
//! API, and the console's size and speed; writes BENCHMARKS.md. Not part of `test`.

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
    ])?;
    process::run(tools::cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "berth-registry",
    ]))?;
    process::run(&mut tools::build_console_release())?;
    process::run(tools::python("release").arg("bench/bench.py"))
}
