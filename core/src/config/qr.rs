//! A whole config in one QR code, for a phone to import (`paaf config qr`, the Onboarding
//! screen's `import_qr`).
//!
//! Format, version 1: `paaf-config:1:` followed by the base64url (RFC 4648 §5, no padding) of
//! the config's TOML compressed as zlib (RFC 1950: DEFLATE with an Adler-32 checksum, so a
//! truncated or altered payload is refused rather than read as a shorter config). A payload
//! is at most [`PAYLOAD_MAX`] characters, what one QR code holds (version 40, error correction
//! L, byte mode), and inflates to at most [`TOML_MAX`] bytes. The TOML is the config file as
//! it is: it names secrets (`keyring:NAME`, `env:VAR`) and never holds their values, which the
//! config's validation refuses anyway. Decoding gives the TOML only; the caller validates it
//! as a pasted config ([`super::write_validated`], `Paaf::open_text`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use miniz_oxide::inflate::TINFLStatus;

/// What every payload starts with: the format's name and version.
pub const PREFIX: &str = "paaf-config:1:";
/// The most characters a payload has: the bytes one QR code holds (version 40, level L).
pub const PAYLOAD_MAX: usize = 2953;
/// The most bytes of TOML a payload inflates to (a crafted payload cannot exhaust memory).
pub const TOML_MAX: usize = 256 * 1024;

/// Why a QR payload cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Not a paaf config payload at all (another QR code, or text cut at its start).
    #[error(
        "this QR code is not a paaf config: its text does not start with `{PREFIX}` (make one with `paaf config qr`)"
    )]
    WrongPrefix,
    /// A paaf config payload of a format version this paaf does not read.
    #[error(
        "this QR code holds a paaf config of format version {version}, which this paaf does not read: update the app, or make the code with this paaf's `paaf config qr`"
    )]
    UnsupportedVersion { version: String },
    /// Longer than one QR code holds, or inflating past [`TOML_MAX`].
    #[error(
        "the config is too large for one QR code ({what} {size} bytes, limit {limit}): import it as a file instead"
    )]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// Not base64url, or not a complete zlib stream whose checksum matches (cut or altered).
    #[error(
        "this QR code's config is damaged or incomplete ({reason}): scan it again, or import the config as a file"
    )]
    Damaged { reason: String },
    /// The inflated bytes are not UTF-8 text.
    #[error(
        "this QR code's config is not text (not UTF-8): make the code again with `paaf config qr`"
    )]
    NotText,
}

impl From<QrError> for crate::Error {
    fn from(e: QrError) -> Self {
        crate::Error::InvalidInput {
            message: e.to_string(),
        }
    }
}

/// The payload of a QR code that carries `toml` (not validated here: `paaf config qr` encodes
/// the config file it has just loaded).
pub fn encode(toml: &str) -> Result<String, QrError> {
    if toml.len() > TOML_MAX {
        return Err(QrError::TooLarge {
            what: "TOML",
            size: toml.len(),
            limit: TOML_MAX,
        });
    }
    // Level 10: the smallest output; a config is a few KB, so the time does not matter.
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(toml.as_bytes(), 10);
    let payload = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed));
    if payload.len() > PAYLOAD_MAX {
        return Err(QrError::TooLarge {
            what: "payload",
            size: payload.len(),
            limit: PAYLOAD_MAX,
        });
    }
    Ok(payload)
}

/// The TOML a QR payload carries (surrounding whitespace, as scanners add, is ignored).
pub fn decode(payload: &str) -> Result<String, QrError> {
    let payload = payload.trim();
    if payload.len() > PAYLOAD_MAX {
        return Err(QrError::TooLarge {
            what: "payload",
            size: payload.len(),
            limit: PAYLOAD_MAX,
        });
    }
    let Some(data) = payload.strip_prefix(PREFIX) else {
        return Err(match payload.strip_prefix("paaf-config:") {
            Some(rest) => QrError::UnsupportedVersion {
                version: rest
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect(),
            },
            None => QrError::WrongPrefix,
        });
    };
    let packed = URL_SAFE_NO_PAD.decode(data).map_err(|e| QrError::Damaged {
        reason: format!("not base64url: {e}"),
    })?;
    let toml = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&packed, TOML_MAX).map_err(
        |e| match e.status {
            TINFLStatus::HasMoreOutput => QrError::TooLarge {
                what: "TOML",
                size: e.output.len(),
                limit: TOML_MAX,
            },
            TINFLStatus::Adler32Mismatch => QrError::Damaged {
                reason: "checksum mismatch".into(),
            },
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                QrError::Damaged {
                    reason: "cut short".into(),
                }
            }
            _ => QrError::Damaged {
                reason: "not a zlib stream".into(),
            },
        },
    )?;
    String::from_utf8(toml).map_err(|_| QrError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.5\"\nuser = \"deploy\"\nauth = { type = \"password\", password = \"keyring:web-1\" }\n";

    #[test]
    fn round_trip_gives_the_same_toml() {
        let payload = encode(CONFIG).unwrap();
        assert!(payload.starts_with(PREFIX));
        assert!(
            payload[PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{payload}"
        );
        assert_eq!(decode(&payload).unwrap(), CONFIG);
        assert_eq!(decode(&format!("  {payload}\n")).unwrap(), CONFIG);
        assert_eq!(decode(&encode("").unwrap()).unwrap(), "");
    }

    #[test]
    fn a_truncated_payload_is_damaged_never_a_shorter_config() {
        let payload = encode(CONFIG).unwrap();
        for cut in PREFIX.len()..payload.len() {
            let err = decode(&payload[..cut]).unwrap_err();
            assert!(
                matches!(err, QrError::Damaged { .. }),
                "cut at {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn an_altered_payload_is_damaged() {
        let payload = encode(CONFIG).unwrap();
        let mut bytes = payload.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let err = decode(std::str::from_utf8(&bytes).unwrap()).unwrap_err();
        assert!(matches!(err, QrError::Damaged { .. }), "{err:?}");
        let err = decode(&format!("{PREFIX}not base64!")).unwrap_err();
        assert!(matches!(err, QrError::Damaged { .. }), "{err:?}");
    }

    #[test]
    fn another_prefix_or_version_is_refused_with_what_to_do() {
        assert_eq!(
            decode("https://example.com/").unwrap_err(),
            QrError::WrongPrefix
        );
        let payload = encode(CONFIG).unwrap().replacen(":1:", ":2:", 1);
        let err = decode(&payload).unwrap_err();
        assert_eq!(
            err,
            QrError::UnsupportedVersion {
                version: "2".into()
            }
        );
        assert!(err.to_string().contains("update the app"), "{err}");
        let err = crate::Error::from(QrError::WrongPrefix);
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        assert!(err.to_string().contains("paaf config qr"), "{err}");
    }

    #[test]
    fn oversize_is_refused_both_ways() {
        // Random-looking lines compress badly: far more than one QR code holds.
        let big: String = (0..4000u64)
            .map(|i| format!("# {:016x}\n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let err = encode(&big).unwrap_err();
        assert!(
            matches!(
                err,
                QrError::TooLarge {
                    what: "payload",
                    limit: PAYLOAD_MAX,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = decode(&format!("{PREFIX}{}", "A".repeat(PAYLOAD_MAX))).unwrap_err();
        assert!(
            matches!(
                err,
                QrError::TooLarge {
                    what: "payload",
                    ..
                }
            ),
            "{err:?}"
        );
        // A small payload that inflates past the limit (a zip bomb) stops at the limit.
        let bomb = " ".repeat(TOML_MAX + 1);
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(bomb.as_bytes(), 10);
        let err = decode(&format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed))).unwrap_err();
        assert!(
            matches!(err, QrError::TooLarge { what: "TOML", .. }),
            "{err:?}"
        );
        assert!(matches!(
            encode(&bomb).unwrap_err(),
            QrError::TooLarge { what: "TOML", .. }
        ));
    }

    #[test]
    fn bytes_that_are_not_text_are_refused() {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&[0xff, 0xfe, 0x00], 10);
        let err = decode(&format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed))).unwrap_err();
        assert_eq!(err, QrError::NotText);
    }

    #[test]
    fn a_decoded_config_goes_through_the_config_validation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let bad = encode("[[hosts]]\nname = \"web-1\"\n").unwrap();
        let err = super::super::write_validated(&path, &decode(&bad).unwrap()).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Config);
        assert!(!path.exists() || std::fs::read_to_string(&path).unwrap().is_empty());
        let secret = encode(&CONFIG.replace("keyring:web-1", "hunter2")).unwrap();
        let err = super::super::write_validated(&path, &decode(&secret).unwrap()).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let good = super::super::write_validated(&path, &decode(&encode(CONFIG).unwrap()).unwrap());
        assert_eq!(good.unwrap().hosts.len(), 1);
    }
}
