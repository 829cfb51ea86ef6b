//! Schema migrations, versioned in the repository (`registry/migrations/<backend>/`)
//! and applied in order at start: SQLite records the version in `PRAGMA
//! user_version`, PostgreSQL in a `schema_migrations` table under an advisory lock.

/// One step of a schema: applied once, in version order, inside a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($backend:literal, $version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/",
                $backend,
                "/",
                $name,
                ".sql"
            )),
        }
    };
}

pub const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "0001_initial"),
    migration!("sqlite", 2, "0002_upload_parts"),
    migration!("sqlite", 3, "0003_manifest_blobs"),
    migration!("sqlite", 4, "0004_references_and_lifecycle"),
];

pub const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "0001_initial"),
    migration!("postgres", 2, "0002_change_notifications"),
    migration!("postgres", 3, "0003_change_log"),
    migration!("postgres", 4, "0004_change_log_pruned"),
];

/// Why a database cannot be used with this build.
pub fn too_new(found: i64, known: &[Migration]) -> Option<String> {
    let latest = known.last().map(|m| m.version).unwrap_or(0);
    (found > latest).then(|| {
        format!(
            "the metadata database is at schema version {found}, newer than this \
             berth-registry knows ({latest}): run a berth-registry at least as new as \
             the one that migrated it"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_and_match_their_file_names() {
        for list in [SQLITE, POSTGRES] {
            for (i, migration) in list.iter().enumerate() {
                assert_eq!(migration.version, i as i64 + 1);
                assert!(migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version)));
                assert!(!migration.sql.trim().is_empty());
            }
        }
    }
}
