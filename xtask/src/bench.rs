//! `cargo xtask bench`: Berth against the reference Distribution registry and the
//! machine's own ceilings, the ECR API, memory, the console's size and speed, and
//! scale-out behind nginx; writes BENCHMARKS.md. Not part of `test`.
//! `BENCH_ONLY=scale` (or `console`) runs that part alone and prints it.

use crate::process;
use crate::tools;

pub fn run(_args: &[String]) -> Result<(), String> {
    let root = crate::root();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    tools::ensure_scale_out_tools()?;
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
    let scale_only = std::env::var("BENCH_ONLY").is_ok_and(|only| only == "scale");
    if !scale_only {
        process::run(&mut tools::build_console_release())?;
    }
    let services = crate::services::start()?;
    process::run(
        tools::python("release")
            .env(
                "BERTH_BENCH_CLIENT",
                root.join("target").join("release").join("xtask"),
            )
            .arg("bench/bench.py")
            .envs(services.env()),
    )
}
