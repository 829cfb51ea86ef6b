//! `xtask precompress`: brotli and gzip copies of the console's files, next to them
//! (`app.wasm.br`, `app.wasm.gz`), made once per build so the registry serves them
//! as they are (`serve --console`, `berth-registry console`) instead of compressing
//! on every request. Trunk runs it after each build (Trunk.toml's post_build hook):
//! best compression for release builds, fast for the debug builds of `xtask dev`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Files worth compressing; everything else (images, fonts) already is.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "svg", "json", "txt", "map"];

/// Runs as Trunk's hook: the directory is `TRUNK_STAGING_DIR`, or the one given.
pub fn run(args: &[String]) -> Result<(), String> {
    let dir = match args.first() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("TRUNK_STAGING_DIR")
            .map(PathBuf::from)
            .ok_or("precompress: give a directory (or run as Trunk's post_build hook)")?,
    };
    let best = std::env::var("TRUNK_PROFILE").map_or(true, |p| p == "release");
    precompress(&dir, best)
}

/// Writes `.br` and `.gz` beside every compressible file under `dir`.
pub fn precompress(dir: &Path, best: bool) -> Result<(), String> {
    for path in files(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let write = |suffix: &str, bytes: Vec<u8>| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            std::fs::write(&name, bytes).map_err(|e| format!("{}: {e}", path.display()))
        };
        write(".br", brotli(&raw, best))?;
        write(".gz", gzip(&raw, best))?;
    }
    Ok(())
}

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files(&path)?);
        } else {
            found.push(path);
        }
    }
    Ok(found)
}

pub fn brotli(raw: &[u8], best: bool) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: if best { 11 } else { 5 },
        lgwin: 24,
        size_hint: raw.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &raw[..], &mut out, &params)
        .expect("compressing memory into memory cannot fail");
    out
}

pub fn gzip(raw: &[u8], best: bool) -> Vec<u8> {
    let level = if best {
        flate2::Compression::best()
    } else {
        flate2::Compression::fast()
    };
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
    encoder
        .write_all(raw)
        .expect("compressing memory into memory cannot fail");
    encoder
        .finish()
        .expect("compressing memory into memory cannot fail")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn both_copies_decompress_to_the_original() {
        let raw: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for best in [true, false] {
            let mut back = Vec::new();
            brotli::BrotliDecompress(&mut &super::brotli(&raw, best)[..], &mut back).unwrap();
            assert_eq!(back, raw);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&super::gzip(&raw, best)[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, raw);
        }
    }
}
