//! The data dir holds every secret the registry has (access keys, the URL-signing
//! and page-token keys, admin credentials) next to its blobs, so all of it is
//! private to the user the registry runs as: directories 0700, files 0600,
//! whatever the umask, including files SQLite, uploads and blobs create later.

use std::io;
use std::path::{Path, PathBuf};

/// Makes everything the process creates from now on private to its user: SQLite's
/// WAL and SHM files, blobs, upload files, credentials. Call before any file is made.
pub fn restrict_umask() {
    // SAFETY: umask has no preconditions; it only swaps the process's file-mode mask.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
}

/// A path whose mode was tightened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeFix {
    pub path: PathBuf,
    pub from: u32,
    pub to: u32,
}

impl std::fmt::Display for ModeFix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: mode {:04o} -> {:04o} (group and others could reach it)",
            self.path.display(),
            self.from,
            self.to
        )
    }
}

/// Creates the data dir if it is missing, and takes group and other permissions
/// away from it and everything in it (an install made under a looser umask, or
/// files copied in). Symbolic links are left alone, never followed.
pub fn secure(dir: &Path) -> io::Result<Vec<ModeFix>> {
    std::fs::create_dir_all(dir)?;
    let mut fixes = Vec::new();
    tighten(dir, &std::fs::metadata(dir)?, &mut fixes)?;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let path = entry.path();
            let metadata = std::fs::symlink_metadata(&path)?;
            if metadata.file_type().is_symlink() {
                continue;
            }
            tighten(&path, &metadata, &mut fixes)?;
            if metadata.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(fixes)
}

#[cfg(unix)]
fn tighten(path: &Path, metadata: &std::fs::Metadata, fixes: &mut Vec<ModeFix>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let from = metadata.permissions().mode() & 0o7777;
    let to = from & 0o700;
    if from != to {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(to))?;
        fixes.push(ModeFix {
            path: path.to_path_buf(),
            from,
            to,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: &std::fs::Metadata, _: &mut Vec<ModeFix>) -> io::Result<()> {
    Ok(())
}

/// [`secure`], telling the operator on stderr what was tightened.
pub fn secure_and_report(dir: &Path) -> Result<(), String> {
    let fixes = secure(dir).map_err(|e| format!("cannot secure {}: {e}", dir.display()))?;
    for fix in &fixes {
        eprintln!("berth-registry: made private: {fix}");
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn an_open_data_dir_is_made_private_and_links_are_left_alone() {
        let dir =
            std::env::temp_dir().join(format!("berth-data-dir-test-{}", rand::random::<u64>()));
        let blobs = dir.join("blobs").join("ab");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(dir.join("berth.db"), b"x").unwrap();
        std::fs::write(blobs.join("abcd"), b"y").unwrap();
        let outside = std::env::temp_dir().join(format!("berth-outside-{}", rand::random::<u64>()));
        std::fs::write(&outside, b"z").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        for path in [&dir, &dir.join("blobs"), &blobs] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for path in [dir.join("berth.db"), blobs.join("abcd")] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }

        let fixes = secure(&dir).unwrap();
        assert_eq!(fixes.len(), 5, "{fixes:?}");
        assert!(fixes
            .iter()
            .all(|f| f.from & 0o077 != 0 && f.to & 0o077 == 0));
        for path in [&dir, &dir.join("blobs"), &blobs] {
            assert_eq!(mode(path), 0o700);
        }
        for path in [dir.join("berth.db"), blobs.join("abcd")] {
            assert_eq!(mode(&path), 0o600);
        }
        assert_eq!(
            mode(&outside),
            0o644,
            "a link's target is not the data dir's"
        );
        assert!(
            secure(&dir).unwrap().is_empty(),
            "a private dir needs nothing"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_file(&outside).unwrap();
    }
}
