//! One module per screen.

pub mod create_repository;
pub mod image;
pub mod images;
pub mod lifecycle;
pub mod permissions;
pub mod registry;
pub mod registry_permissions;
pub mod repositories;
pub mod repository;
pub mod settings;
pub mod shell;
pub mod sign_in;
