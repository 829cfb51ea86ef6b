//! `xtask split`: the console's screens as wasm chunks loaded on demand.
//!
//! Screens are `LazyRoute`s (`src/lib.rs`); built with the `split` feature, each
//! one's code is marked for `wasm-split-cli` (crates.io `wasm_split_cli_support`),
//! which cuts the raw rustc output into a main module, one module per screen and
//! chunks they share, plus a small JS loader that fetches a screen's modules the first
//! time it is shown. The cut must happen before wasm-bindgen, which Trunk runs
//! itself: so this hook (Trunk.toml, before `precompress`) takes the raw wasm again,
//! splits it, runs wasm-bindgen and wasm-opt on the parts and replaces Trunk's
//! files in the staging dir. Every new file gets a content hash in its name, so the
//! registry serves it as immutable.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::{process, tools};

/// What wasm-bindgen writes for a module that was not split (Trunk's output of a
/// `split` build): the sign that this hook has work to do.
const PLACEHOLDER: &str = "__wasm_split_placeholder__";

/// Runs as Trunk's post_build hook, on `TRUNK_STAGING_DIR`.
pub fn run(_args: &[String]) -> Result<(), String> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| format!("split: {name} is not set (run by Trunk)"))
    };
    let staging = PathBuf::from(var("TRUNK_STAGING_DIR")?);
    let release = var("TRUNK_PROFILE")? == "release";
    let stem = stem(&staging)?;
    let js = read_text(&staging.join(format!("{stem}.js")))?;
    if !js.contains(PLACEHOLDER) {
        return Ok(());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(var("TRUNK_SOURCE_DIR").unwrap_or_default()).join("target")
        });
    let raw = target
        .join("wasm32-unknown-unknown")
        .join(if release { "wasm-release" } else { "debug" })
        .join("berth-console.wasm");
    // Outside the staging dir: whatever a failed run leaves there is never shipped.
    let work = std::env::temp_dir().join(format!("berth-split-{stem}"));
    let (cut, bound) = (work.join("cut"), work.join("bound"));
    let _ = std::fs::remove_dir_all(&work);
    process::run(tools::wasm_split().arg(&raw).arg(&cut).args([
        "--target",
        "web",
        "--out-name",
        &stem,
    ]))?;
    process::run(
        tools::wasm_bindgen()
            .args([
                "--target",
                "web",
                "--keep-lld-exports",
                "--no-demangle",
                "--no-typescript",
            ])
            .arg("--out-dir")
            .arg(&bound)
            .args(["--out-name", &stem])
            .arg(cut.join(format!("{stem}.wasm"))),
    )?;

    let mut loader = read_text(&cut.join("__wasm_split.js"))?;
    for entry in std::fs::read_dir(&cut).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = file_name(&path);
        if !name.ends_with(".wasm") || name == format!("{stem}.wasm") {
            continue;
        }
        let optimised = work.join(&name);
        optimise(&path, &optimised, release)?;
        let bytes = std::fs::read(&optimised).map_err(|e| e.to_string())?;
        let base: String = name
            .trim_end_matches(".wasm")
            .split('_')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let hashed = format!("{base}-{}.wasm", hash16(&bytes));
        std::fs::write(staging.join(&hashed), &bytes).map_err(|e| e.to_string())?;
        loader = loader.replace(&format!("\"./{name}\""), &format!("\"./{hashed}\""));
    }
    let loader_name = format!("wasm-split-{}.js", hash16(loader.as_bytes()));
    std::fs::write(staging.join(&loader_name), &loader).map_err(|e| e.to_string())?;
    let js = read_text(&bound.join(format!("{stem}.js")))?.replace(
        "from \"./__wasm_split.js\"",
        &format!("from \"./{loader_name}\""),
    );
    std::fs::write(staging.join(format!("{stem}.js")), js).map_err(|e| e.to_string())?;
    optimise(
        &bound.join(format!("{stem}_bg.wasm")),
        &staging.join(format!("{stem}_bg.wasm")),
        release,
    )?;
    std::fs::remove_dir_all(&work).map_err(|e| e.to_string())
}

/// `berth-console-<hash>` from the staged `…_bg.wasm`.
fn stem(staging: &Path) -> Result<String, String> {
    let mut stems = std::fs::read_dir(staging)
        .map_err(|e| format!("{}: {e}", staging.display()))?
        .filter_map(|e| e.ok())
        .map(|e| file_name(&e.path()))
        .filter_map(|n| n.strip_suffix("_bg.wasm").map(str::to_string));
    match (stems.next(), stems.next()) {
        (Some(stem), None) => Ok(stem),
        _ => Err(format!(
            "split: expected one *_bg.wasm in {}",
            staging.display()
        )),
    }
}

/// wasm-opt as index.html asked of Trunk before splitting (release builds only).
fn optimise(from: &Path, to: &Path, release: bool) -> Result<(), String> {
    if !release {
        return std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    process::run(
        tools::wasm_opt()
            .args(["-Os", "--one-caller-inline-max-function-size=0"])
            .args([
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-mutable-globals",
                "--enable-sign-ext",
                "--enable-reference-types",
            ])
            .arg(from)
            .arg("-o")
            .arg(to),
    )
}

fn hash16(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}
