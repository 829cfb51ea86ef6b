//! What each subcommand of `berth-registry` does; `main.rs` holds what the command line accepts.

pub(crate) mod keys;
pub(crate) mod maintenance;
pub(crate) mod migrate;
pub(crate) mod serve;

use berth_registry::data_dir;
use berth_registry::storage::postgres::PostgresMetadata;
use berth_registry::storage::sqlite::{SqliteMetadata, DATABASE_FILE};
use berth_registry::storage::Metadata;

use crate::MetadataArgs;

/// The metadata store of an existing data dir (or a new one, with `create`), its
/// modes made private first; or the PostgreSQL database named.
pub(crate) async fn open_metadata(
    target: &MetadataArgs,
    create: bool,
) -> Result<Box<dyn Metadata>, String> {
    if let Some(url) = &target.database {
        let store = PostgresMetadata::connect(url, 2)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(store));
    }
    let data = &target.data;
    if !create && !data.join(DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
            data.display()
        ));
    }
    data_dir::secure_and_report(data)?;
    Ok(Box::new(
        SqliteMetadata::open(data).map_err(|e| e.to_string())?,
    ))
}

pub(crate) fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(future)
}

pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
    );
    Ok(())
}
