//! `cargo xtask dev` runs Berth; `cargo xtask test` runs every test.
//! Both install what is missing first, so a fresh machine needs nothing else.

mod bench;
mod bench_client;
mod dev;
mod precompress;
mod process;
mod services;
mod split;
mod test;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  dev     install what is missing, start the registry (127.0.0.1:5000) and the
          console (http://127.0.0.1:8080), print the URLs and the admin key
          options: --registry-port N  --console-port N  --data DIR  --release
  test    install what tests need, then fmt, clippy (native + wasm32) and every test
          options: --skip-install (assume tools are present)
  bench   Berth vs the reference Distribution registry and the machine's ceilings,
          the ECR API, memory, the console's size and speed, and scale-out behind
          nginx; writes BENCHMARKS.md
  services  a throwaway PostgreSQL and S3 server (moto) for running scale-out
          tests by hand; prints their env vars, runs until Ctrl-C
          options: --env-file PATH  --skip-install
  precompress [DIR]
          brotli and gzip copies of a built console's files (Trunk runs it after
          every build, on its staging dir)
  split   the console's screens as wasm loaded on demand (Trunk runs it after
          every build, before precompress)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("services") => services::run(&args[1..]),
        Some("precompress") => precompress::run(&args[1..]),
        Some("split") => split::run(&args[1..]),
        // Run by `bench` (bench/bench.py), not by people: see bench_client.rs.
        Some("bench-client") => bench_client::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or(manifest)
}

/// Reads `--name value` from `args`.
pub fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

pub fn flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}
