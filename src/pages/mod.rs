//! One module per screen.

pub mod repositories;
pub mod shell;
pub mod sign_in;
