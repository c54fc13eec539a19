//! known_hosts checks over libssh2's own parser (OpenSSH format, hashed entries included).

use crate::error::{Error, Result};
use base64::Engine;
use ssh2::{CheckResult, KnownHostFileKind, Session};
use std::path::Path;

/// What the known_hosts file says of the key a host just offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum KeyStatus {
    Known,
    Unknown,
    Changed,
}

/// The key a host offered, as a person compares it (OpenSSH's `SHA256:` fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OfferedKey {
    pub key_type: String,
    pub fingerprint: String,
    pub status: KeyStatus,
}

/// The name a known_hosts line uses for a host: `addr`, or `[addr]:port` off port 22.
pub fn entry_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

fn key_type_name(t: ssh2::HostKeyType) -> &'static str {
    use ssh2::HostKeyType::*;
    match t {
        Rsa => "ssh-rsa",
        Dss => "ssh-dss",
        Ecdsa256 => "ecdsa-sha2-nistp256",
        Ecdsa384 => "ecdsa-sha2-nistp384",
        Ecdsa521 => "ecdsa-sha2-nistp521",
        Ed25519 => "ssh-ed25519",
        Unknown => "unknown",
    }
}

fn ssh_err(host: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Ssh {
        host: host.to_string(),
        reason: format!("{what}: {e}"),
    }
}

fn load(session: &Session, path: &Path, host: &str) -> Result<ssh2::KnownHosts> {
    let mut kh = session
        .known_hosts()
        .map_err(|e| ssh_err(host, "known_hosts", e))?;
    if path.exists() {
        kh.read_file(path, KnownHostFileKind::OpenSSH)
            .map_err(|e| ssh_err(host, &format!("cannot read {}", path.display()), e))?;
    }
    Ok(kh)
}

/// Checks the key of a handshaken session against the file.
pub fn check(
    session: &Session,
    path: &Path,
    host: &str,
    address: &str,
    port: u16,
) -> Result<OfferedKey> {
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| ssh_err(host, "handshake", "the server sent no host key"))?;
    let hash = session
        .host_key_hash(ssh2::HashType::Sha256)
        .ok_or_else(|| ssh_err(host, "handshake", "cannot hash the host key"))?;
    let fingerprint = format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
    );
    let kh = load(session, path, host)?;
    let status = match kh.check_port(address, port, key) {
        CheckResult::Match => KeyStatus::Known,
        CheckResult::NotFound => KeyStatus::Unknown,
        CheckResult::Mismatch => KeyStatus::Changed,
        CheckResult::Failure => {
            return Err(ssh_err(
                host,
                "known_hosts",
                "libssh2 could not check the key",
            ));
        }
    };
    Ok(OfferedKey {
        key_type: key_type_name(kind).to_string(),
        fingerprint,
        status,
    })
}

/// Appends the session's host key for `address:port` to the file (created 0600 if missing).
pub fn add(session: &Session, path: &Path, host: &str, address: &str, port: u16) -> Result<()> {
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| ssh_err(host, "handshake", "the server sent no host key"))?;
    let mut kh = load(session, path, host)?;
    kh.add(
        &entry_name(address, port),
        key,
        &format!("paaf:{host}"),
        kind.into(),
    )
    .map_err(|e| ssh_err(host, "known_hosts add", e))?;
    write(&kh, path, host)
}

/// Removes every key for `address:port`; returns how many entries went.
pub fn remove(
    session: &Session,
    path: &Path,
    host: &str,
    address: &str,
    port: u16,
) -> Result<usize> {
    let kh = load(session, path, host)?;
    let name = entry_name(address, port);
    let mut removed = 0;
    for entry in kh.hosts().map_err(|e| ssh_err(host, "known_hosts", e))? {
        if entry.name() == Some(name.as_str()) {
            kh.remove(&entry)
                .map_err(|e| ssh_err(host, "known_hosts remove", e))?;
            removed += 1;
        }
    }
    write(&kh, path, host)?;
    Ok(removed)
}

fn write(kh: &ssh2::KnownHosts, path: &Path, host: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ssh_err(host, "known_hosts dir", e))?;
    }
    kh.write_file(path, KnownHostFileKind::OpenSSH)
        .map_err(|e| ssh_err(host, &format!("cannot write {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_names_follow_openssh() {
        assert_eq!(super::entry_name("10.0.0.1", 22), "10.0.0.1");
        assert_eq!(super::entry_name("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }
}
