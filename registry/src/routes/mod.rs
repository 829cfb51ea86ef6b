//! HTTP routes, one module per API area.

pub mod ecr;
pub mod oci;
