//! The pairing code a relay shows (as text and as a QR code) and a device scans or pastes:
//! `paaf://pair/?url=<relay URL>&token=<pairing token>&key=ed25519:<relay public key>`.
//! It carries the key, so the device pins the key it was shown, not whatever key answers at
//! that URL: a pairing whose relay answers with another key is refused (and revoked).

use crate::error::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

/// The deep-link prefix of a pairing code.
pub const PAIR_PREFIX: &str = "paaf://pair/";

/// A pairing code, read. Its Debug never shows the token.
#[derive(Clone)]
pub struct PairingCode {
    /// The relay's URL, as devices reach it.
    pub url: String,
    /// The team's pairing token.
    pub token: SecretString,
    /// The relay's public key (`ed25519:...`), to pin.
    pub key: String,
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCode")
            .field("url", &self.url)
            .field("token", &"…")
            .field("key", &self.key)
            .finish()
    }
}

impl PairingCode {
    /// The code's text (what the QR code holds).
    pub fn to_text(&self) -> String {
        let mut link = reqwest::Url::parse(PAIR_PREFIX).expect("the prefix is a URL");
        link.query_pairs_mut()
            .append_pair("url", &self.url)
            .append_pair("token", self.token.expose_secret())
            .append_pair("key", &self.key);
        link.to_string()
    }

    /// Whether `text` is meant as a pairing code (it starts with `paaf://pair`).
    pub fn is_code(text: &str) -> bool {
        text.trim().starts_with("paaf://pair")
    }

    /// Reads a code; the error says what is wrong without quoting the token.
    pub fn parse(text: &str) -> Result<PairingCode> {
        let bad = |why: &str| Error::InvalidInput {
            message: format!(
                "not a paaf pairing code ({why}): scan or paste the paaf://pair/?url=...&token=...&key=... the relay shows (`paaf-relay pair-code`)"
            ),
        };
        let link = reqwest::Url::parse(text.trim()).map_err(|_| bad("not a URL"))?;
        if link.scheme() != "paaf" || link.host_str() != Some("pair") {
            return Err(bad("it does not start with paaf://pair/"));
        }
        let (mut url, mut token, mut key) = (None, None, None);
        for (name, value) in link.query_pairs() {
            match name.as_ref() {
                "url" => url = Some(value.into_owned()),
                "token" => token = Some(value.into_owned()),
                "key" => key = Some(value.into_owned()),
                _ => {}
            }
        }
        let url = url.ok_or_else(|| bad("it has no url"))?;
        let relay = reqwest::Url::parse(&url)
            .ok()
            .filter(|u| u.has_host() && matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| bad("its url is not an http(s) URL"))?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("it has no pairing token"))?;
        let key = key.ok_or_else(|| bad("it has no relay key"))?;
        let key = super::parse_key(&key).map_err(|e| bad(&e.to_string()))?;
        Ok(PairingCode {
            url: relay.as_str().trim_end_matches('/').to_string(),
            token: SecretString::from(token),
            key: super::format_key(&key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn code() -> PairingCode {
        PairingCode {
            url: "https://relay.example.com:8443/paaf".into(),
            token: SecretString::from("team token+with/odd&chars=".to_string()),
            key: crate::intent::format_key(&SigningKey::from_bytes(&[3; 32]).verifying_key()),
        }
    }

    #[test]
    fn a_pairing_code_reads_back_what_it_was_written_from() {
        let text = code().to_text();
        assert!(text.starts_with(PAIR_PREFIX), "{text}");
        let read = PairingCode::parse(&text).unwrap();
        assert_eq!(read.url, "https://relay.example.com:8443/paaf");
        assert_eq!(read.token.expose_secret(), "team token+with/odd&chars=");
        assert_eq!(read.key, code().key);
        assert!(!format!("{read:?}").contains("odd&chars"), "token in Debug");
    }

    #[test]
    fn bad_pairing_codes_are_refused_with_what_is_wrong_and_never_the_token() {
        let good = code().to_text();
        for (text, why) in [
            ("https://relay.example.com".to_string(), "paaf://pair/"),
            ("paaf://intent/abc".to_string(), "paaf://pair/"),
            (good.replace("url=", "uri="), "no url"),
            (good.replace("key=", "kee="), "no relay key"),
            (good.replace("key=ed25519%3A", "key=rsa%3A"), "relay key"),
            (good.replace("url=https", "url=file"), "not an http(s) URL"),
        ] {
            let refused = PairingCode::parse(&text).unwrap_err().to_string();
            assert!(refused.contains(why), "{text}: {refused}");
            assert!(!refused.contains("odd&chars"), "token in {refused}");
        }
        let no_token = reqwest::Url::parse_with_params(
            PAIR_PREFIX,
            &[
                ("url", "https://r.example.com"),
                ("key", code().key.as_str()),
            ],
        )
        .unwrap();
        let refused = PairingCode::parse(no_token.as_str())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("no pairing token"), "{refused}");
    }
}
