//! One module per command; each renders text or JSON from library results.

pub mod apply;
pub mod doctor;
pub mod policies;
pub mod rollback;
pub mod show;
