//! Postfix built-in defaults of the TLS parameters this crate models, per version
//! (reference postfix-config-syntax.md §5 and crypto-policies notes §2.3).

use crate::PostfixVersion;

/// `tls_high_cipherlist` up to 3.7.
pub const HIGH_37: &str = "aNULL:-aNULL:HIGH:@STRENGTH";
/// `tls_medium_cipherlist` up to 3.7.
pub const MEDIUM_37: &str = "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH";
/// `tls_low_cipherlist` up to 3.7.
pub const LOW_37: &str = "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH";
/// `tls_export_cipherlist` up to 3.7.
pub const EXPORT_37: &str = "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH";
/// `tls_null_cipherlist` up to 3.7.
pub const NULL_37: &str = "eNULL:!aNULL";
/// `tls_high_cipherlist` from 3.8.
pub const HIGH_38: &str =
    "aNULL:-aNULL:HIGH:!SEED:!IDEA:!3DES:!RC2:!RC4:!RC5:!kDH:!kECDH:!aDSS:!MD5:@STRENGTH";
/// `tls_medium_cipherlist` from 3.8.
pub const MEDIUM_38: &str = "aNULL:-aNULL:HIGH:MEDIUM:!SEED:!IDEA:!3DES:!RC2:!RC4:!RC5:!kDH:!kECDH:!aDSS:!MD5:+RC4:@STRENGTH";
/// `tls_null_cipherlist` from 3.8.
pub const NULL_38: &str = "eNULL:!kDH:!kECDH:!aDSS:!MD5:!aNULL";

/// The built-in default of `name` for Postfix `version`, when this crate knows it.
/// `$name` references are returned expanded where the model needs them expanded
/// (`smtpd_tls_key_file` defaults to the cert file: the caller resolves that).
pub fn default_value(name: &str, version: PostfixVersion) -> Option<&'static str> {
    let v38 = version >= PostfixVersion::new(3, 8);
    let v36 = version.has_protocol_bounds();
    Some(match name {
        "tls_high_cipherlist" => {
            if v38 {
                HIGH_38
            } else {
                HIGH_37
            }
        }
        "tls_medium_cipherlist" => {
            if v38 {
                MEDIUM_38
            } else {
                MEDIUM_37
            }
        }
        "tls_low_cipherlist" => {
            if v38 {
                ""
            } else {
                LOW_37
            }
        }
        "tls_export_cipherlist" => {
            if v38 {
                ""
            } else {
                EXPORT_37
            }
        }
        "tls_null_cipherlist" => {
            if v38 {
                NULL_38
            } else {
                NULL_37
            }
        }
        "smtpd_tls_ciphers" | "smtpd_tls_mandatory_ciphers" => "medium",
        "smtpd_tls_protocols" | "smtpd_tls_mandatory_protocols" => {
            if v36 {
                ">=TLSv1"
            } else {
                "!SSLv2, !SSLv3"
            }
        }
        "smtpd_tls_exclude_ciphers"
        | "smtpd_tls_mandatory_exclude_ciphers"
        | "smtpd_tls_security_level"
        | "smtpd_tls_cert_file"
        | "smtpd_tls_eccert_file"
        | "smtpd_tls_dcert_file"
        | "smtpd_tls_chain_files" => "",
        "smtpd_use_tls"
        | "smtpd_enforce_tls"
        | "smtpd_tls_wrappermode"
        | "smtpd_tls_auth_only"
        | "smtpd_tls_ask_ccert"
        | "tls_preempt_cipherlist" => "no",
        "smtpd_tls_eecdh_grade" => "auto",
        "tls_eecdh_auto_curves" => {
            if version >= PostfixVersion::new(3, 10) {
                "X25519 X448 prime256v1 secp384r1 secp521r1"
            } else {
                "X25519 X448 prime256v1 secp521r1 secp384r1"
            }
        }
        "tls_ffdhe_auto_groups" if v38 => "ffdhe2048 ffdhe3072",
        _ => return None,
    })
}
