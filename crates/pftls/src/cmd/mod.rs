//! One module per command; each renders text or JSON from library results.

pub mod after_apply;
pub mod apply;
pub mod doctor;
pub mod logs;
pub mod mta_sts;
pub mod policies;
pub mod probe;
pub mod rollback;
pub mod set;
pub mod show;
pub mod simulate;
pub mod tlsa;
pub mod verify;
