//! `cargo xtask services`: a throwaway PostgreSQL cluster and moto's S3 server for
//! running scale-out tests by hand (`cargo test -p berth-registry --test
//! storage_contract`, `pytest e2e/test_scale_out.py`), until Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::tools;

pub fn run(args: &[String]) -> Result<(), String> {
    if !crate::flag(args, "--skip-install") {
        tools::ensure_scale_out_tools()?;
    }
    let services = start()?;
    let exports: Vec<String> = services
        .env()
        .iter()
        .map(|(name, value)| format!("export {name}={value}"))
        .collect();
    if let Some(path) = crate::option(args, "--env-file") {
        // Written last and whole (rename), so a reader that sees it sees it all.
        let temp = format!("{path}.tmp");
        std::fs::write(&temp, exports.join("\n") + "\n").map_err(|e| format!("{temp}: {e}"))?;
        std::fs::rename(&temp, path).map_err(|e| format!("{path}: {e}"))?;
    }
    println!("PostgreSQL and S3 (moto) are running; in another shell:");
    for line in &exports {
        println!("  {line}");
    }
    println!("Ctrl-C stops them and removes their data.");
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        ctrlc::set_handler(move || stopping.store(true, Ordering::SeqCst))
            .map_err(|e| e.to_string())?;
    }
    while !stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(services);
    Ok(())
}

/// Starts both, saying what it does: the cluster's initdb takes a few seconds.
pub fn start() -> Result<berth_testbed::Services, String> {
    println!("Starting a throwaway PostgreSQL cluster and moto's S3 server…");
    berth_testbed::Services::start()
}
