//! What the registry does, independent of which API asked: routes call services,
//! services never call routes.

pub mod images;
pub mod paging;
pub mod repositories;
pub mod tokens;
