//! Berth's shared model: everything the console and the registry must agree on,
//! with no I/O and no target-specific dependencies.
//!
//! - [`ecr`]: ECR API wire types with AWS's exact field names.
//! - [`names`]: repository-name rules (the ones ECR enforces).
//! - [`oci`]: manifests, digests and tags as the OCI Distribution API carries them.
//! - [`policy`]: repository and registry policies: grammar, validation, evaluation.
//! - [`lifecycle`]: lifecycle policies: grammar, validation, evaluation.
//! - [`mutability`]: tag mutability with exclusion filters.
//! - [`scanning`]: registry scanning configurations and what each repository gets.
//! - [`json`], [`problem`]: JSON that keeps positions, and problems pinned to them.
//! - [`push`]: the "View push commands" lines.
//! - [`berth`]: Berth's own API actions beside ECR's (garbage collection status).

pub mod berth;
pub mod ecr;
pub mod glob;
pub mod json;
pub mod lifecycle;
pub mod mutability;
pub mod names;
pub mod oci;
pub mod policy;
pub mod problem;
pub mod push;
pub mod scanning;
pub mod sigv4;
pub mod suggest;

/// The `X-Amz-Target` prefix of every ECR action.
pub const ECR_TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";

/// The `Content-Type` of AWS JSON 1.1 requests and responses.
pub const AWS_JSON_1_1: &str = "application/x-amz-json-1.1";

/// The SigV4 service name of the ECR API.
pub const ECR_SIGNING_NAME: &str = "ecr";
