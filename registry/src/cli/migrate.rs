//! `migrate` (embedded → PostgreSQL + S3) and `bench-fill` (a registry of many blobs for the benchmark).

use std::path::PathBuf;

use berth_registry::config::BlobStore;
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::s3::{self, S3Location};
use berth_registry::storage::sqlite::{SqliteMetadata, DATABASE_FILE};
use berth_registry::storage::Metadata;

pub(crate) fn migrate(data: PathBuf, database: String, blob_store: &str) -> Result<(), String> {
    if !data
        .join(berth_registry::storage::sqlite::DATABASE_FILE)
        .is_file()
    {
        return Err(format!(
            "--data {}: no embedded registry there (no {})",
            data.display(),
            berth_registry::storage::sqlite::DATABASE_FILE
        ));
    }
    let blob_store = BlobStore::S3 {
        location: S3Location::parse(blob_store)?,
        credentials: s3::credentials(&|name| std::env::var(name).ok())?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let report = berth_registry::migrate::run(&data, &database, &blob_store, &mut |line| {
            println!("{line}")
        })
        .await
        .map_err(|e| e.to_string())?;
        println!("{report}");
        Ok(())
    })
}

pub(crate) fn bench_fill(data: &std::path::Path, count: usize) -> Result<(), String> {
    use berth_model::oci::Digest;
    use berth_registry::storage::sqlite::fixtures::BulkImage;
    use sha2::Digest as _;

    const BLOBS_PER_IMAGE: usize = 10;
    if data.join(DATABASE_FILE).exists() {
        return Err(format!("{}: already holds a registry", data.display()));
    }
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let metadata = SqliteMetadata::open(data).map_err(|e| e.to_string())?;
    let files = BlobFiles::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let mut blobs = Vec::with_capacity(count);
    for i in 0..count {
        let content = format!("berth garbage collection benchmark, blob {i:012}\n");
        let digest = Digest::from_sha256(&sha2::Sha256::digest(content.as_bytes()));
        let path = files.blob_path(&digest);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, &content).map_err(|e| format!("{}: {e}", path.display()))?;
        blobs.push((digest, content.len() as u64));
    }
    let referenced = count / 2;
    let descriptor = |(digest, size): &(Digest, u64)| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.as_str(), "size": size});
    let images: Vec<BulkImage> = blobs[..referenced]
        .chunks(BLOBS_PER_IMAGE)
        .map(|group| {
            let content = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor(&group[0]),
                "layers": group[1..].iter().map(descriptor).collect::<Vec<_>>(),
            })
            .to_string()
            .into_bytes();
            BulkImage {
                digest: Digest::from_sha256(&sha2::Sha256::digest(&content)),
                content,
                blobs: group.iter().map(|(d, _)| d.clone()).collect(),
            }
        })
        .collect();
    let image_count = images.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let record = berth_registry::storage::RepositoryRecord {
            id: 0,
            policy: None,
            name: "bench/gc".into(),
            created_at: berth_registry::clock::now_epoch_seconds(),
            image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
            image_tag_mutability_exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
            kms_key: None,
        };
        let repository = metadata
            .insert_repository(&record, &[])
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the repository exists")?;
        // Recorded a minute ago, as if pushed before the collection starts.
        let recorded_at = berth_registry::clock::now_epoch_seconds() - 60.0;
        metadata
            .record_in_bulk(repository, blobs, referenced, images, recorded_at)
            .await
            .map_err(|e| e.to_string())
    })?;
    println!(
        "{}",
        serde_json::json!({"blobs": count, "referenced": referenced, "images": image_count})
    );
    Ok(())
}
