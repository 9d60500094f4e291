//! pftls txn crate.
