//! pftls tls crate.
