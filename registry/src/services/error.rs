//! What can go wrong in the registry's own words. Services return these; only
//! `routes/` turns them into ECR `__type`s or OCI error codes.

use crate::storage::{BlobError, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is wrong; the message names the field and says why.
    #[error("{0}")]
    InvalidParameter(String),
    /// A resource tag's key or value is outside AWS's bounds.
    #[error("{0}")]
    InvalidTagParameter(String),
    /// A repository would carry more resource tags than AWS allows.
    #[error("{0}")]
    TooManyTags(String),
    #[error("repository '{name}' does not exist")]
    RepositoryNotFound { name: String },
    #[error("repository '{name}' already exists")]
    RepositoryAlreadyExists { name: String },
    #[error("repository '{name}' still holds {images} images")]
    RepositoryNotEmpty { name: String, images: u64 },
    #[error("repository '{name}' has no policy")]
    RepositoryPolicyNotFound { name: String },
    #[error("repository '{name}' has no lifecycle policy")]
    LifecyclePolicyNotFound { name: String },
    #[error("repository '{name}' has no lifecycle policy preview")]
    LifecyclePolicyPreviewNotFound { name: String },
    #[error("a lifecycle policy preview of repository '{name}' is still running")]
    LifecyclePolicyPreviewInProgress { name: String },
    /// `image` describes how the image was named (`imageTag=v1`, …).
    #[error("image {image} is not in repository '{repository}'")]
    ImageNotFound { repository: String, image: String },
    #[error("image {digest} is already in repository '{repository}' as asked")]
    ImageAlreadyExists {
        repository: String,
        digest: String,
        tag: Option<String>,
    },
    #[error("tag '{tag}' in repository '{repository}' is immutable")]
    TagImmutable { repository: String, tag: String },
    #[error("'{0}' is not a valid tag")]
    InvalidTag(String),
    #[error("the manifest is invalid: {0}")]
    InvalidManifest(String),
    #[error("the manifest's digest is {actual}, not {given}")]
    ManifestDigestMismatch { given: String, actual: String },
    /// A manifest references blobs the repository does not have.
    #[error("blobs {digests:?} are not in repository '{repository}'")]
    MissingBlobs {
        repository: String,
        digests: Vec<String>,
    },
    /// An index references a manifest the repository does not have.
    #[error("manifest {digest} is not in repository '{repository}'")]
    MissingManifest { repository: String, digest: String },
    #[error("blob {digest} is not in repository '{repository}'")]
    BlobNotFound { repository: String, digest: String },
    #[error("manifest {reference} is not in repository '{repository}'")]
    ManifestNotFound {
        repository: String,
        reference: String,
    },
    /// An index in the repository references the image, which must stay.
    #[error("Requested image referenced by manifest list: [{}]", indexes.join(", "))]
    ImageReferencedByManifestList {
        repository: String,
        digest: String,
        indexes: Vec<String>,
    },
    /// Manifests in the repository reference the blob, which must stay.
    #[error("blob {digest} is referenced by manifests [{}] in repository '{repository}': delete them first", manifests.join(", "))]
    BlobReferenced {
        repository: String,
        digest: String,
        manifests: Vec<String>,
    },
    #[error("upload {id} is not in progress in repository '{repository}'")]
    UploadNotFound { repository: String, id: String },
    /// An UploadLayerPart that does not continue its upload where it stands, or whose
    /// byte range does not fit its bytes. `last_valid_byte` is the offset of the last
    /// byte the upload holds (`None` while it holds none), so the client can resume.
    #[error("{reason}")]
    InvalidLayerPart {
        repository: String,
        id: String,
        last_valid_byte: Option<u64>,
        reason: String,
    },
    #[error("upload {id} in repository '{repository}' holds no layer parts")]
    EmptyUpload { repository: String, id: String },
    /// CompleteLayerUpload of a layer the repository already has.
    #[error("layer {digest} is already in repository '{repository}'")]
    LayerAlreadyExists { repository: String, digest: String },
    #[error("the registry has no registry policy")]
    RegistryPolicyNotFound,
    /// Berth has no scanner: a scan of this image cannot be started.
    #[error(
        "image {image} in repository '{repository}' cannot be scanned: Berth does not scan images"
    )]
    ScanUnsupported { repository: String, image: String },
    /// Berth has no scanner, so no image has scan findings.
    #[error("image {image} in repository '{repository}' has no scan: Berth does not scan images")]
    ScanNotFound { repository: String, image: String },
    #[error("{0}")]
    InvalidDigest(String),
    #[error("upload offset mismatch: the upload has {size} bytes, the chunk starts at {start}")]
    UploadOutOfOrder { size: u64, start: u64 },
    #[error("the content's digest is {actual}, not {expected}")]
    BlobDigestMismatch { expected: String, actual: String },
    #[error("the request body could not be read: {0}")]
    Body(String),
    #[error("there is no user named '{name}'")]
    UserNotFound { name: String },
    #[error("a user named '{name}' already exists")]
    UserAlreadyExists { name: String },
    /// The caller may not do this; the message is AWS's wording.
    #[error("{0}")]
    AccessDenied(String),
    /// A backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A request field is wrong: `message` names the field and says why.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidParameter(message.into())
    }
}

impl From<BlobError> for Error {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::RangeMismatch { size, start } => Error::UploadOutOfOrder { size, start },
            BlobError::DigestMismatch { expected, actual } => {
                Error::BlobDigestMismatch { expected, actual }
            }
            BlobError::Body(message) => Error::Body(message),
            other => Error::Storage(StorageError(other.to_string())),
        }
    }
}
