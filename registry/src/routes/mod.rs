//! HTTP only: parse, authorize, call a service, and map its errors once
//! (`error.rs`) to the ECR API's or `/v2`'s wire errors.

pub mod console;
pub mod ecr;
pub mod error;
pub mod oci;
pub mod record;
pub mod unread_body;
