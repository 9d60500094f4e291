//! pftls policy crate.
