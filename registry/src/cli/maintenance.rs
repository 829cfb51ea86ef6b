//! `gc`, `lifecycle run` and `fsck`: the maintenance passes, run beside `serve`.

use berth_registry::config::Database;
use berth_registry::services::lifecycle::run as lifecycle;
use berth_registry::services::{self, gc};
use berth_registry::storage::sqlite::DATABASE_FILE;

use super::{block_on, print_json};
use crate::{GcArgs, StorageArgs};

pub(crate) fn collect_garbage(args: GcArgs) -> Result<(), String> {
    let (data_dir, database, blob_store) = args.storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here (no {DATABASE_FILE})",
                data.display()
            ));
        }
    }
    let options = gc::Options {
        upload_expiry: args.upload_expiry,
        dry_run: args.dry_run,
        wait: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(async {
            let (metadata, blobs) =
                berth_registry::open_storage(data_dir.as_deref(), &database, &blob_store)
                    .await
                    .map_err(|e| e.to_string())?;
            gc::run(&metadata, &blobs, &options)
                .await
                .map_err(|e| e.to_string())
        })?
        .ok_or("garbage collection did not run")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.summary());
    }
    if report.failure_count > 0 {
        return Err(format!(
            "{} items could not be deleted",
            report.failure_count
        ));
    }
    Ok(())
}

pub(crate) fn run_lifecycle(storage: StorageArgs, dry_run: bool, json: bool) -> Result<(), String> {
    let (data_dir, database, blob_store) = storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
                data.display()
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(async {
        let state = berth_registry::open_existing(data_dir.as_deref(), &database, &blob_store)
            .await
            .map_err(|e| e.to_string())?;
        let options = lifecycle::Options {
            dry_run,
            wait: true,
        };
        lifecycle::run(&state, options)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the lifecycle run did not start".to_string())
    })?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.summary());
        for image in &report.expired {
            println!(
                "  {} {}@{} (rulePriority {})",
                if dry_run { "would expire" } else { "expired" },
                image.repository_name,
                image.image_digest,
                image.applied_rule_priority
            );
        }
    }
    if report.failure_count > 0 {
        return Err(format!("{} lifecycle actions failed", report.failure_count));
    }
    Ok(())
}

/// Runs fsck and prints its report; whether the data dir is sound.
pub(crate) fn fsck(storage: StorageArgs, repair: bool) -> Result<bool, String> {
    let (data_dir, database, blob_store) = storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
                data.display()
            ));
        }
    }
    block_on(async {
        let (store, blobs) =
            berth_registry::open_storage(data_dir.as_deref(), &database, &blob_store)
                .await
                .map_err(|e| e.to_string())?;
        let report = services::fsck::run(store.as_ref(), blobs.as_ref(), repair)
            .await
            .map_err(|e| e.to_string())?;
        let damaged: Vec<serde_json::Value> = report
            .damaged
            .iter()
            .map(|d| {
                serde_json::json!({
                    "digest": d.digest,
                    "actualDigest": d.actual,
                    "size": d.size,
                    "quarantinedTo": d.quarantined,
                })
            })
            .collect();
        let dangling: Vec<serde_json::Value> = report
            .dangling
            .iter()
            .map(|d| {
                serde_json::json!({
                    "repositoryName": d.repository,
                    "imageDigest": d.manifest,
                    "layerDigest": d.blob,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "blobsChecked": report.blobs_checked,
            "damaged": damaged,
            "missing": report.missing,
            "orphans": report.orphans,
            "danglingReferences": dangling,
        }))?;
        Ok(!report.has_problems())
    })
}
