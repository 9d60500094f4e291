//! pftls doctor: findings over the effective Postfix TLS configuration.
