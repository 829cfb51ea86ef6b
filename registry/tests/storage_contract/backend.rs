//! Fresh storage for one case, on either backend, and what cases share.

use std::path::PathBuf;
use std::sync::Arc;

use berth_registry::storage::cache::{CachedMetadata, ChangeFeed};
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::postgres::PostgresMetadata;
use berth_registry::storage::s3::{Credentials, S3Blobs, S3Location, StaticCredentials};
use berth_registry::storage::sqlite::changes::SqliteChanges;
use berth_registry::storage::sqlite::SqliteMetadata;
use berth_registry::storage::{Blobs, Metadata, RepositoryRecord};
use berth_testbed::Services;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Embedded,
    ScaleOut,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::ScaleOut => "scale_out",
        }
    }
}

/// Where one case's data lives: a data dir, or a database and a bucket prefix.
enum Place {
    Dir(PathBuf),
    Shared {
        database_url: String,
        location: S3Location,
    },
}

pub struct Backend {
    pub kind: Kind,
    pub metadata: Arc<dyn Metadata>,
    pub blobs: Arc<dyn Blobs>,
    place: Place,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

fn credentials() -> Credentials {
    // moto accepts any keys; these keep the process's own AWS environment out.
    Credentials::Berth(StaticCredentials {
        access_key_id: "berth-test".into(),
        secret_access_key: "berth-test-secret".into(),
        session_token: None,
    })
}

impl Backend {
    pub async fn new(kind: Kind, services: &Services) -> Result<Backend, String> {
        let place = match kind {
            Kind::Embedded => {
                let dir = std::env::temp_dir().join(unique("berth-contract"));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                Place::Dir(dir)
            }
            Kind::ScaleOut => {
                let database_url =
                    berth_testbed::create_database(&services.database_url, &unique("contract"))?;
                let (endpoint, bucket) = services
                    .s3
                    .rsplit_once('/')
                    .ok_or_else(|| format!("{}: not ENDPOINT/BUCKET", services.s3))?;
                let location = S3Location::parse(&format!(
                    "s3://{bucket}/{}?endpoint={endpoint}&region=us-east-1",
                    unique("contract")
                ))?;
                Place::Shared {
                    database_url,
                    location,
                }
            }
        };
        let (metadata, blobs) = open(&place).await?;
        Ok(Backend {
            kind,
            metadata,
            blobs,
            place,
        })
    }

    /// Another process's view of the same storage: its own connections and handles.
    pub async fn open(&self) -> Result<(Arc<dyn Metadata>, Arc<dyn Blobs>), String> {
        open(&self.place).await
    }

    /// Another process's metadata as a server reads it: behind the cache, fed by the
    /// store's change feed.
    pub async fn cached(&self) -> Result<Arc<dyn Metadata>, String> {
        let (store, feed): (Arc<dyn Metadata>, Box<dyn ChangeFeed>) = match &self.place {
            Place::Dir(dir) => (
                Arc::new(SqliteMetadata::open(dir).map_err(|e| e.to_string())?),
                Box::new(SqliteChanges::open(dir).map_err(|e| e.to_string())?),
            ),
            Place::Shared { database_url, .. } => {
                let store = PostgresMetadata::connect(database_url, 4)
                    .await
                    .map_err(|e| e.to_string())?;
                let feed = Box::new(store.changes());
                (Arc::new(store), feed)
            }
        };
        Ok(Arc::new(CachedMetadata::new(store, feed)))
    }

    /// Whether several processes may share this storage (scale-out).
    pub fn shared(&self) -> bool {
        self.kind == Kind::ScaleOut
    }

    /// Overwrites a stored blob's bytes behind the store's back, as a faulty disk or
    /// an operator would.
    pub async fn damage(&self, digest: &berth_model::oci::Digest, bytes: &[u8]) {
        let hex = digest.hex();
        match &self.place {
            Place::Dir(dir) => {
                let path = dir.join("blobs").join("sha256").join(&hex[..2]).join(hex);
                std::fs::write(path, bytes).unwrap();
            }
            Place::Shared { location, .. } => {
                use object_store::ObjectStore;
                let store = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&location.bucket)
                    .with_region("us-east-1")
                    .with_endpoint(location.endpoint.as_deref().expect("a test endpoint"))
                    .with_allow_http(true)
                    .with_access_key_id("berth-test")
                    .with_secret_access_key("berth-test-secret")
                    .build()
                    .unwrap();
                let key = object_store::path::Path::from(format!(
                    "{}/blobs/sha256/{hex}",
                    location.prefix
                ));
                let bytes = bytes::Bytes::copy_from_slice(bytes);
                store.put(&key, bytes.into()).await.unwrap();
            }
        }
    }

    pub fn database_url(&self) -> Option<&str> {
        match &self.place {
            Place::Shared { database_url, .. } => Some(database_url),
            Place::Dir(_) => None,
        }
    }

    /// Creates a repository and returns its id.
    pub async fn repository(&self, name: &str) -> i64 {
        self.metadata
            .insert_repository(&record(name), &[])
            .await
            .unwrap()
            .expect("a new name")
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Place::Dir(dir) = &self.place {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn record(name: &str) -> RepositoryRecord {
    RepositoryRecord {
        id: 0,
        policy: None,
        name: name.into(),
        created_at: 1_700_000_000.25,
        image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
        scan_on_push: false,
        encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
        kms_key: None,
        image_tag_mutability_exclusion_filters: Vec::new(),
    }
}

async fn open(place: &Place) -> Result<(Arc<dyn Metadata>, Arc<dyn Blobs>), String> {
    match place {
        Place::Dir(dir) => Ok((
            Arc::new(SqliteMetadata::open(dir).map_err(|e| e.to_string())?),
            Arc::new(BlobFiles::open(dir).map_err(|e| e.to_string())?),
        )),
        Place::Shared {
            database_url,
            location,
        } => {
            let metadata: Arc<dyn Metadata> = Arc::new(
                PostgresMetadata::connect(database_url, 4)
                    .await
                    .map_err(|e| e.to_string())?,
            );
            let blobs = S3Blobs::open(location, &credentials(), metadata.clone()).await?;
            Ok((metadata, Arc::new(blobs)))
        }
    }
}
