//! What the registry does, independent of which API asked: routes call services,
//! services never call routes. Services speak [`Error`], never wire errors.

pub mod error;
pub mod fsck;
pub mod gc;
pub mod images;
pub mod layers;
pub mod lifecycle;
pub mod manifests;
pub mod paging;
pub mod policies;
pub mod pulls;
pub mod repositories;
pub mod scanning;
pub mod tokens;
pub mod uploads;
pub mod users;

pub use error::{Error, Result};
