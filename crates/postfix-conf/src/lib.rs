//! pftls postfix-conf crate.
