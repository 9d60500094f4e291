//! pftls maillog crate.
