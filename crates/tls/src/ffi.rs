//! The few libssl functions the openssl crate does not bind (see reference §3.3).

use openssl::ssl::{SslCipher, SslRef};
use openssl::stack::StackRef;
use openssl_sys as sys;

extern "C" {
    // STACK_OF(SSL_CIPHER) *SSL_get1_supported_ciphers(SSL *s);
    // Returns a new stack (caller frees the stack, not the ciphers, which are static)
    // holding the ciphers usable by `s` given its protocol range and security level.
    fn SSL_get1_supported_ciphers(s: *mut sys::SSL) -> *mut sys::stack_st_SSL_CIPHER;
    // void OPENSSL_sk_free(OPENSSL_STACK *);
    fn OPENSSL_sk_free(st: *mut sys::OPENSSL_STACK);
}

/// Calls `f` with the ciphers `ssl` would really offer/accept (protocol range and security
/// level applied), in preference order. Returns None if libssl returned no stack at all
/// (it does so when nothing is usable).
pub(crate) fn with_supported_ciphers<R>(
    ssl: &SslRef,
    f: impl FnOnce(&StackRef<SslCipher>) -> R,
) -> Option<R> {
    use foreign_types::ForeignTypeRef;
    // SAFETY: `ssl` is a valid SSL for the duration of the call; the returned stack is owned
    // by us and freed below with OPENSSL_sk_free (sk_SSL_CIPHER_free), never with pop_free,
    // because its elements are libssl's static cipher table entries.
    unsafe {
        let sk = SSL_get1_supported_ciphers(ssl.as_ptr());
        if sk.is_null() {
            return None;
        }
        let result = f(StackRef::<SslCipher>::from_ptr(sk));
        OPENSSL_sk_free(sk as *mut sys::OPENSSL_STACK);
        Some(result)
    }
}
