//! The checks, one module per concern. Each appends drafts; `diagnose` merges and sorts.

pub(crate) mod certs;
pub(crate) mod ciphers;
pub(crate) mod dane;
pub(crate) mod duplicates;
pub(crate) mod hygiene;
pub(crate) mod mta_sts;
pub(crate) mod params;
pub(crate) mod port25;
pub(crate) mod protocols;
