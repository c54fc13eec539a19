//! The files a login reads — known_hosts and the private key — read once for every host of a
//! fan-out instead of once per host. libssh2 given only a key file parses it twice per login
//! (once to derive the public key, once to sign), each parse a failing OpenSSL
//! `PEM_read_bio_PrivateKey` before its own OpenSSH parser: ~1 ms and contended locks, which
//! made most of paaf's CPU on 200 hosts. Here the public key comes from the key file's OpenSSH
//! header (in clear even in an encrypted key), and an unencrypted ed25519 key signs from memory
//! (ed25519-dalek), so libssh2 parses nothing; any other key is handed to libssh2 from memory
//! with its public key, one parse per login instead of two.

use super::known_hosts;
use crate::error::Result;
use base64::Engine;
use ed25519_dalek::Signer;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A private key file as a login uses it. Debug never shows the key.
pub struct LoginKey {
    /// The file's text, for libssh2 when paaf does not sign itself.
    pem: SecretString,
    /// `TYPE BASE64` of the public key, when the file is in OpenSSH's format.
    public: Option<String>,
    /// The public key blob and the signing key of an unencrypted ed25519 key.
    ed25519: Option<(Vec<u8>, ed25519_dalek::SigningKey)>,
}

impl std::fmt::Debug for LoginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginKey")
            .field("public", &self.public)
            .field("signs_itself", &self.ed25519.is_some())
            .finish_non_exhaustive()
    }
}

/// The files one or many logins share. A target made alone gets its own (each login reads the
/// files, as before); a fan-out gives every target the same one, so each file is read once.
#[derive(Default)]
pub struct LoginFiles {
    known_hosts: Mutex<HashMap<PathBuf, Arc<str>>>,
    keys: Mutex<HashMap<PathBuf, Arc<LoginKey>>>,
    key_reads: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for LoginFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginFiles")
    }
}

impl LoginFiles {
    /// The text of known_hosts at `path`, read on first use.
    pub(crate) fn known_hosts(&self, path: &Path, host: &str) -> Result<Arc<str>> {
        let mut read = self.known_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(text) = read.get(path) {
            return Ok(text.clone());
        }
        let text: Arc<str> = known_hosts::read(path, host)?.into();
        tracing::info!(path = %path.display(), "ssh: known_hosts read");
        read.insert(path.to_path_buf(), text.clone());
        Ok(text)
    }

    /// The private key at `path`, read on first use; the error says why it cannot be read.
    pub(crate) fn key(&self, path: &Path) -> std::result::Result<Arc<LoginKey>, String> {
        let mut read = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = read.get(path) {
            return Ok(key.clone());
        }
        self.key_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = Arc::new(LoginKey::read(path)?);
        tracing::info!(path = %path.display(), signs_in_paaf = key.ed25519.is_some(), "ssh: private key read");
        read.insert(path.to_path_buf(), key.clone());
        Ok(key)
    }

    /// How many times a private key file was read (for the tests that count them).
    pub fn key_reads(&self) -> usize {
        self.key_reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl LoginKey {
    fn read(path: &Path) -> std::result::Result<LoginKey, String> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(format!("{} is not a file", path.display())),
            Err(e) => return Err(format!("cannot read key {}: {e}", path.display())),
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read key {}: {e}", path.display()))?;
        Ok(LoginKey::parse(SecretString::from(text)))
    }

    /// What paaf can read of the key itself; anything it cannot is left to libssh2.
    fn parse(pem: SecretString) -> LoginKey {
        let parsed = OpenSsh::decode(pem.expose_secret());
        LoginKey {
            public: parsed.as_ref().map(|k| k.public_line()),
            ed25519: parsed.and_then(|k| k.ed25519()),
            pem,
        }
    }

    /// Logs `user` in with this key (`passphrase` unlocks an encrypted one).
    pub(crate) fn authenticate(
        &self,
        session: &ssh2::Session,
        user: &str,
        passphrase: Option<&str>,
    ) -> std::result::Result<(), ssh2::Error> {
        match &self.ed25519 {
            Some((blob, signing)) => sign_in(session, user, blob, signing),
            None => session.userauth_pubkey_memory(
                user,
                self.public.as_deref(),
                self.pem.expose_secret(),
                passphrase,
            ),
        }
    }
}

/// An OpenSSH-format private key (`openssh-key-v1`, PROTOCOL.key): the public key blob, and
/// the private section when it is not encrypted.
struct OpenSsh {
    public: Vec<u8>,
    private: Option<secrecy::SecretBox<Vec<u8>>>,
}

const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END: &str = "-----END OPENSSH PRIVATE KEY-----";

/// Reads the SSH wire format: big-endian u32 lengths before byte strings.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_at_checked(4)?;
        self.0 = rest;
        Some(u32::from_be_bytes(head.try_into().ok()?))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(head)
    }
}

impl OpenSsh {
    fn decode(text: &str) -> Option<OpenSsh> {
        let body = text.trim().strip_prefix(BEGIN)?.strip_suffix(END)?;
        let b64: String = body.split_whitespace().collect();
        let raw = secrecy::SecretBox::new(Box::new(
            base64::engine::general_purpose::STANDARD.decode(b64).ok()?,
        ));
        let mut wire = Wire(raw.expose_secret().strip_prefix(b"openssh-key-v1\0")?);
        let cipher = wire.string()?;
        let _kdf = wire.string()?;
        let _kdf_options = wire.string()?;
        if wire.u32()? != 1 {
            return None;
        }
        let public = wire.string()?.to_vec();
        let section = wire.string()?;
        let private =
            (cipher == b"none").then(|| secrecy::SecretBox::new(Box::new(section.to_vec())));
        Some(OpenSsh { public, private })
    }

    fn public_line(&self) -> String {
        let key_type = Wire(&self.public)
            .string()
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("");
        format!(
            "{key_type} {}",
            base64::engine::general_purpose::STANDARD.encode(&self.public)
        )
    }

    /// The signing key of an unencrypted ed25519 key whose halves agree.
    fn ed25519(self) -> Option<(Vec<u8>, ed25519_dalek::SigningKey)> {
        let private = self.private?;
        let mut wire = Wire(private.expose_secret());
        if wire.u32()? != wire.u32()? || wire.string()? != b"ssh-ed25519" {
            return None;
        }
        let public: [u8; 32] = wire.string()?.try_into().ok()?;
        // The private half is the 32-byte seed followed by the public key again.
        let pair = wire.string()?;
        let seed: &[u8; 32] = pair.get(..32)?.try_into().ok()?;
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let mut blob = Wire(&self.public);
        let agrees = blob.string()? == b"ssh-ed25519"
            && blob.string()? == public
            && pair.get(32..)? == public
            && signing.verifying_key().to_bytes() == public;
        agrees.then_some((self.public, signing))
    }
}

unsafe extern "C" {
    // libssh2.h; libssh2-sys links the library but does not declare this one.
    fn libssh2_userauth_publickey(
        session: *mut libc::c_void,
        username: *const libc::c_char,
        pubkeydata: *const libc::c_uchar,
        pubkeydata_len: libc::size_t,
        sign_callback: extern "C" fn(
            *mut libc::c_void,
            *mut *mut libc::c_uchar,
            *mut libc::size_t,
            *const libc::c_uchar,
            libc::size_t,
            *mut *mut libc::c_void,
        ) -> libc::c_int,
        abstract_: *mut *mut libc::c_void,
    ) -> libc::c_int;
}

/// libssh2's signing callback: signs `data` with the ed25519 key `abstract_` points to, into a
/// buffer from malloc (the session's allocator, which frees it).
extern "C" fn sign_ed25519(
    _session: *mut libc::c_void,
    sig: *mut *mut libc::c_uchar,
    sig_len: *mut libc::size_t,
    data: *const libc::c_uchar,
    data_len: libc::size_t,
    abstract_: *mut *mut libc::c_void,
) -> libc::c_int {
    let signed = std::panic::catch_unwind(|| {
        // SAFETY: `abstract_` is the pointer sign_in passed, to a SigningKey that outlives the
        // call; `data` is `data_len` bytes libssh2 owns for the call.
        let (key, data) = unsafe {
            (
                &*((*abstract_) as *const ed25519_dalek::SigningKey),
                std::slice::from_raw_parts(data, data_len),
            )
        };
        key.sign(data).to_bytes()
    });
    let Ok(signature) = signed else { return -1 };
    // SAFETY: a fresh buffer of the signature's size, handed to libssh2 with its length.
    unsafe {
        let buf = libc::malloc(signature.len()) as *mut libc::c_uchar;
        if buf.is_null() {
            return -1;
        }
        std::ptr::copy_nonoverlapping(signature.as_ptr(), buf, signature.len());
        *sig = buf;
        *sig_len = signature.len();
    }
    0
}

/// Public key authentication with a key paaf signs with itself (blocking, within the
/// session's timeout like every libssh2 call).
fn sign_in(
    session: &ssh2::Session,
    user: &str,
    blob: &[u8],
    signing: &ed25519_dalek::SigningKey,
) -> std::result::Result<(), ssh2::Error> {
    let user = std::ffi::CString::new(user).map_err(|_| {
        ssh2::Error::new(
            ssh2::ErrorCode::Session(-34), // LIBSSH2_ERROR_INVAL
            "the user name has a NUL byte",
        )
    })?;
    let mut key = signing as *const ed25519_dalek::SigningKey as *mut libc::c_void;
    let rc = {
        let mut raw = session.raw();
        let raw: *mut _ = &mut *raw;
        // SAFETY: a live session (its lock held for the call), a NUL-terminated user, the blob
        // with its length, and `key` valid until the call returns (the callback runs inside).
        unsafe {
            libssh2_userauth_publickey(
                raw.cast(),
                user.as_ptr(),
                blob.as_ptr(),
                blob.len(),
                sign_ed25519,
                &mut key,
            )
        }
    };
    if rc == 0 {
        return Ok(());
    }
    Err(ssh2::Error::last_session_error(session)
        .unwrap_or_else(|| ssh2::Error::from_errno(ssh2::ErrorCode::Session(rc))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    // Throwaway keys made for these tests with ssh-keygen (-C test), and their public halves.
    const ED25519: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBNiIH+1FWPQ48/tAe/e+QOCklAntSFheg7NTYy41DMeQAAAIgZXBIJGVwS
CQAAAAtzc2gtZWQyNTUxOQAAACBNiIH+1FWPQ48/tAe/e+QOCklAntSFheg7NTYy41DMeQ
AAAECqE5cIwic+sWLR4YYVc15xvd6uDzrgfsd4xe3aFdb6Ak2Igf7UVY9Djz+0B7975A4K
SUCe1IWF6Ds1NjLjUMx5AAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";
    const ED25519_PUB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Igf7UVY9Djz+0B7975A4KSUCe1IWF6Ds1NjLjUMx5";
    /// `-N secret-phrase`: aes256-ctr, bcrypt.
    const ED25519_LOCKED: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABCBgmZtLj
fjCNt6nl7qRwMZAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAII4wnwN6cMjLz7iA
G1dAoefe519aLa7j9SyDmHC/YguZAAAAkMD3+GHOHAaSHF2NOjN3oh4N+hFT7Q86yc096K
v6+Wv+tSDXZ+nUp2k4JDlslXC47w20gRQEollYctt2KTciQTXUiZ83kLmVfKIixeKTSvry
X3R8vukgGbNapL2vtxHyESZzceepHXIZOstTy92neS5HMnE2L14B5+g8YcWi5KmtmuW2ku
/nCXk/qErjsXyC/A==
-----END OPENSSH PRIVATE KEY-----
";
    const ED25519_LOCKED_PUB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII4wnwN6cMjLz7iAG1dAoefe519aLa7j9SyDmHC/YguZ";
    const ECDSA: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSMuC9ucRrq90cqoBPYCtU0OFm95j/2
D4dZWy/miU59FXKpA7qhfAm8seVfrcTbX5rk4yPrJCDOfkrEP9scNZlbAAAAoBrugcca7o
HHAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIy4L25xGur3Ryqg
E9gK1TQ4Wb3mP/YPh1lbL+aJTn0VcqkDuqF8Cbyx5V+txNtfmuTjI+skIM5+SsQ/2xw1mV
sAAAAgE69wgfRNKTwJ6g4O+2vKS+Em4AiuTo2F63n9VeZLXdkAAAAEdGVzdAECAwQ=
-----END OPENSSH PRIVATE KEY-----
";
    const ECDSA_PUB: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIy4L25xGur3RyqgE9gK1TQ4Wb3mP/YPh1lbL+aJTn0VcqkDuqF8Cbyx5V+txNtfmuTjI+skIM5+SsQ/2xw1mVs=";
    /// `-t rsa -b 1024 -m PEM`: no public key in the file.
    const RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXAIBAAKBgQC9Eh36El8UeqeYezts4hdauYdbQiA7TY5HmbL5ZIX2+FCAjfmI
aSuyJJ+9w7nrWEl02GkaK6IPCmVMUxvClyrSY5D+LTxvrS35tZDko6Vp9oVREciP
bdkKx7F5ECB4gwnHzKdocs0KNbLfUNS2JlBzxsJ8jUDHQAVrYCHI5llKKwIDAQAB
AoGAAIihjwgoPo2OFY8bftYwjLADYs2P+7rfUPJtH+kZu7W9vG8qKilp1ynlTYrU
5oYsRukpespuva4g1RNS+7yjgU1I8w2DaVXRzwAcg0y69Bz5ZyHkdVeB2M4KbMyV
ASm+cOdrAS0X9EhcZioG009tnNJtjmeW3mJ+jssU2ccQLlECQQD0JcFEFSlat8H6
C6DutSY34a47/hhVZlGf3SZRU/1nmr9C8pFUYKcMprbiNatb1HKLd1srgrxkwt6d
CeZNKmazAkEAxj/fjpCm3gZhW1RDXssee4Dk2R/viEYCptHG+TB3Tcw77tlhXINk
G6ZqQ70E56aOUktcrtsjQx+OpSSIxYWKqQJAKEsS2mmjqZUqLlo89ShwZkiYuM32
tiFs1zVoXYO/Dpo7dpER6xsIds4M4Mh6v20QenP4V/X7oaWHl+NKXvHggQJAXbey
Mg31pD215lu2IWi59z5ecLnlHTGjbUL74a7kpzVmG6pNmVNPjrajw3Pmjq+w1fxk
SxCy4bdYUn8r3NwdSQJBAJFl2wyon+U02zHUjIpfXOw1XDA0sK13QTvVXJZsqFw5
luX5fS7qxk0THEW3R7ZVJD7v6O1NEqNVpT+yxqbcrjU=
-----END RSA PRIVATE KEY-----
";

    fn parsed(text: &str) -> LoginKey {
        LoginKey::parse(SecretString::from(text))
    }

    #[test]
    fn an_unencrypted_ed25519_key_signs_itself_as_its_public_key() {
        let key = parsed(ED25519);
        assert_eq!(key.public.as_deref(), Some(ED25519_PUB));
        let (blob, signing) = key.ed25519.as_ref().expect("signs itself");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(blob),
            ED25519_PUB.split(' ').nth(1).unwrap()
        );
        let public =
            ed25519_dalek::VerifyingKey::from_bytes(blob[blob.len() - 32..].try_into().unwrap())
                .unwrap();
        let signature = signing.sign(b"session data");
        assert!(public.verify(b"session data", &signature).is_ok());
    }

    #[test]
    fn other_keys_give_libssh2_their_public_key_when_the_file_has_it() {
        for (text, public) in [
            (ED25519_LOCKED, Some(ED25519_LOCKED_PUB)),
            (ECDSA, Some(ECDSA_PUB)),
            (RSA_PEM, None),
            ("not a key", None),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n",
                None,
            ),
        ] {
            let key = parsed(text);
            assert_eq!(key.public.as_deref(), public, "{text}");
            assert!(key.ed25519.is_none(), "{text}");
        }
    }

    #[test]
    fn an_ed25519_key_whose_halves_disagree_is_left_to_libssh2() {
        // The public blob of the header replaced by another key's: paaf does not sign with it.
        let mut raw = OpenSsh::decode(ED25519).unwrap();
        raw.public = OpenSsh::decode(ED25519_LOCKED).unwrap().public;
        assert!(raw.ed25519().is_none());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", parsed(ED25519));
        assert!(!shown.contains("PRIVATE"), "{shown}");
        assert!(!shown.contains(&ED25519[40..80]), "{shown}");
    }

    #[test]
    fn a_key_file_is_read_once_however_many_logins_share_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_ed25519");
        std::fs::write(&path, ED25519).unwrap();
        let files = LoginFiles::default();
        for _ in 0..5 {
            assert!(files.key(&path).unwrap().ed25519.is_some());
        }
        assert_eq!(files.key_reads(), 1);
        let missing = files.key(&dir.path().join("nope")).unwrap_err();
        assert!(missing.starts_with("cannot read key"), "{missing}");
        assert!(
            files
                .key(dir.path())
                .unwrap_err()
                .ends_with("is not a file")
        );
    }

    #[test]
    fn known_hosts_is_read_once_however_many_logins_share_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, "[127.0.0.1]:2222 ssh-ed25519 AAAA\n").unwrap();
        let files = LoginFiles::default();
        let first = files.known_hosts(&path, "web-1").unwrap();
        std::fs::write(&path, "changed\n").unwrap();
        assert_eq!(files.known_hosts(&path, "web-2").unwrap(), first);
        // A missing file is an empty one, as before.
        assert_eq!(
            &*files
                .known_hosts(&dir.path().join("none"), "web-1")
                .unwrap(),
            ""
        );
    }
}
