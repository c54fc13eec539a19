//! known_hosts checks, line by line as OpenSSH reads the file: libssh2 decides whether a line's
//! host names match `address:port` (plain `addr`, `[addr]:port`, hashed `|1|…` names), and paaf
//! compares the key per key type, so a file that records only another type of key for a host
//! is "unknown", not "changed". Lines paaf does not understand are left alone, and edits
//! rewrite only the lines they concern.

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

fn ssh_err(host: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Ssh {
        host: host.to_string(),
        reason: format!("{what}: {e}"),
    }
}

/// The key type a public key blob names (its first SSH string: `ssh-ed25519`, `ssh-rsa`, …).
fn blob_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// One line of the file that is a host key entry (not a comment, not a CA).
struct Line<'a> {
    revoked: bool,
    names: &'a str,
    key_type: &'a str,
    key: &'a str,
}

impl<'a> Line<'a> {
    fn parse(line: &'a str) -> Option<Line<'a>> {
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        let revoked = match first {
            "@revoked" => true,
            // paaf checks host keys, not certificates.
            "@cert-authority" => return None,
            f if f.starts_with('#') => return None,
            _ => false,
        };
        if revoked {
            first = fields.next()?;
        }
        Some(Line {
            revoked,
            names: first,
            key_type: fields.next()?,
            key: fields.next()?,
        })
    }

    fn key_is(&self, blob: &[u8]) -> bool {
        base64::engine::general_purpose::STANDARD
            .decode(self.key)
            .is_ok_and(|k| k == blob)
    }
}

/// Decides whether one host name of a line (plain, `[addr]:port` or hashed) names
/// `address:port`, the way libssh2's check does (a plain `addr` also names it on any port).
struct Matcher {
    session: Session,
}

impl Matcher {
    fn new(host: &str) -> Result<Matcher> {
        Ok(Matcher {
            session: Session::new().map_err(|e| ssh_err(host, "session", e))?,
        })
    }

    fn names(&self, name: &str, line: &Line, address: &str, port: u16) -> bool {
        !cannot_name(name, address, port) && self.libssh2_names(name, line, address, port)
    }

    fn libssh2_names(&self, name: &str, line: &Line, address: &str, port: u16) -> bool {
        let Ok(mut kh) = self.session.known_hosts() else {
            return false;
        };
        // A name libssh2 cannot read (a pattern, an unknown key type) names nothing here.
        if kh
            .read_str(
                &format!("{name} {} {}", line.key_type, line.key),
                KnownHostFileKind::OpenSSH,
            )
            .is_err()
        {
            return false;
        }
        // Any key other than the line's: Mismatch means the name matched.
        !matches!(
            kh.check_port(address, port, &[0]),
            CheckResult::NotFound | CheckResult::Failure
        )
    }
}

/// True when a plain host name of a line cannot name `address:port` whatever libssh2 makes of
/// it, so the line need not go through libssh2 (a fan-out checks every host against every line):
/// libssh2 matches `[addr]:port` and `addr` as strings, and IPv6 addresses by value (which needs
/// a `:` in both), after the same `]:port` for a bracketed name. Hashed names always go to it.
fn cannot_name(name: &str, address: &str, port: u16) -> bool {
    if name.starts_with('|') {
        return false;
    }
    if name.starts_with('[') {
        // Without formatting `]:{port}`: this runs for every line and every host.
        return name
            .rsplit_once("]:")
            .is_none_or(|(_, p)| p.parse::<u16>().ok() != Some(port));
    }
    name != address && !(name.contains(':') && address.contains(':'))
}

/// The file's text (empty when it does not exist yet).
pub(crate) fn read(path: &Path, host: &str) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(ssh_err(host, &format!("cannot read {}", path.display()), e)),
    }
}

/// What `text` says of key `blob` for `address:port`: known when a line for the host has that
/// key (and none revokes it), changed when one revokes it or records another key of the same
/// type, else unknown (nothing recorded, or only keys of other types).
fn status_in(text: &str, host: &str, address: &str, port: u16, blob: &[u8]) -> Result<KeyStatus> {
    let key_type = blob_type(blob).unwrap_or("");
    let matcher = Matcher::new(host)?;
    let (mut known, mut changed) = (false, false);
    for line in text.lines().filter_map(Line::parse) {
        if !line
            .names
            .split(',')
            .any(|name| matcher.names(name, &line, address, port))
        {
            continue;
        }
        match (line.revoked, line.key_is(blob)) {
            (true, true) => return Ok(KeyStatus::Changed),
            (true, false) => {}
            (false, true) => known = true,
            (false, false) => changed |= line.key_type == key_type,
        }
    }
    Ok(match (known, changed) {
        (true, _) => KeyStatus::Known,
        (false, true) => KeyStatus::Changed,
        (false, false) => KeyStatus::Unknown,
    })
}

/// The key types the file's `text` records for `address:port`, in file order (for the
/// host-key algorithms to ask for first).
pub(crate) fn recorded_types(text: &str, host: &str, address: &str, port: u16) -> Vec<String> {
    let Ok(matcher) = Matcher::new(host) else {
        return Vec::new();
    };
    let mut types: Vec<String> = Vec::new();
    for line in text.lines().filter_map(Line::parse) {
        if !line.revoked
            && !types.iter().any(|t| t == line.key_type)
            && line
                .names
                .split(',')
                .any(|name| matcher.names(name, &line, address, port))
        {
            types.push(line.key_type.to_string());
        }
    }
    types
}

/// Checks the key of a handshaken session against the file's `text`.
pub fn check(
    session: &Session,
    text: &str,
    host: &str,
    address: &str,
    port: u16,
) -> Result<OfferedKey> {
    let (key, _) = session
        .host_key()
        .ok_or_else(|| ssh_err(host, "handshake", "the server sent no host key"))?;
    let hash = session
        .host_key_hash(ssh2::HashType::Sha256)
        .ok_or_else(|| ssh_err(host, "handshake", "cannot hash the host key"))?;
    let fingerprint = format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
    );
    Ok(OfferedKey {
        key_type: blob_type(key).unwrap_or("unknown").to_string(),
        fingerprint,
        status: status_in(text, host, address, port, key)?,
    })
}

/// Appends the session's host key for `address:port` to the file (created 0600 if missing).
pub fn add(session: &Session, path: &Path, host: &str, address: &str, port: u16) -> Result<()> {
    let (key, _) = session
        .host_key()
        .ok_or_else(|| ssh_err(host, "handshake", "the server sent no host key"))?;
    let key_type =
        blob_type(key).ok_or_else(|| ssh_err(host, "handshake", "the host key has no type"))?;
    let mut text = read(path, host)?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "{} {key_type} {} paaf:{host}\n",
        entry_name(address, port),
        base64::engine::general_purpose::STANDARD.encode(key)
    ));
    write(&text, path, host)
}

/// Removes every entry a check of `address:port` would match (plain `addr`, `[addr]:port`,
/// hashed names; a line that also names other hosts keeps them); `@revoked` lines stay.
/// Returns how many entries went.
pub fn remove(path: &Path, host: &str, address: &str, port: u16) -> Result<usize> {
    let (text, removed) = remove_from(&read(path, host)?, host, address, port)?;
    if removed > 0 {
        write(&text, path, host)?;
    }
    Ok(removed)
}

fn remove_from(text: &str, host: &str, address: &str, port: u16) -> Result<(String, usize)> {
    let matcher = Matcher::new(host)?;
    let mut kept = String::with_capacity(text.len());
    let mut removed = 0;
    for raw in text.split_inclusive('\n') {
        let Some(line) = Line::parse(raw).filter(|l| !l.revoked) else {
            kept.push_str(raw);
            continue;
        };
        let (gone, stay): (Vec<&str>, Vec<&str>) = line
            .names
            .split(',')
            .partition(|name| matcher.names(name, &line, address, port));
        if gone.is_empty() {
            kept.push_str(raw);
            continue;
        }
        removed += gone.len();
        if !stay.is_empty() {
            let start = raw.find(line.names).unwrap_or(0);
            kept.push_str(&raw[..start]);
            kept.push_str(&stay.join(","));
            kept.push_str(&raw[start + line.names.len()..]);
        }
    }
    Ok((kept, removed))
}

/// Replaces the file with `text` (through a temporary file beside it, mode 0600).
fn write(text: &str, path: &Path, host: &str) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        ssh_err(
            host,
            &format!("cannot write {} ({what})", path.display()),
            e,
        )
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail("directory", e))?;
    let tmp = dir.join(format!(
        ".{}.paaf-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("known_hosts"),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("temporary file", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenSSH's test keys (generated once; nobody has their private halves).
    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKBhuffmPU743GQrMxj3EKHhMD18mXpnppRBLIE8vMyd";
    const ED_OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGm7wxnsFMEz98q/Zh44O+UAsSFRT/2qEk+teIX4yysC";
    const EC: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBG8Sb5h8f0LkRf7Gza5pHPiqmZFY2Xi4D7+lrAEXut+HjHELMIwBcn2/PVrqXIK1qFXJDekY5xzcdzJmzL+cqJk=";
    /// `[127.0.0.1]:2222` and `127.0.0.1`, hashed by `ssh-keygen -H`, with key ED.
    const HASHED_PORT: &str = "|1|wqvlZFk7bi24RlDHSLSd6yo0rZw=|l0uJs6xuwjGMH+OSe4/6LID061A=";
    const HASHED_PLAIN: &str = "|1|kxtQHKrQweOvu8zDJCqG2S32Ajg=|Yn2aBFvW5oMWncWbyKEZ9Bfqbi8=";

    fn blob(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    fn status(text: &str, port: u16, key: &str) -> KeyStatus {
        status_in(text, "web-1", "127.0.0.1", port, &blob(key)).unwrap()
    }

    #[test]
    fn entry_names_follow_openssh() {
        assert_eq!(super::entry_name("10.0.0.1", 22), "10.0.0.1");
        assert_eq!(super::entry_name("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }

    #[test]
    fn a_key_is_compared_with_the_keys_of_its_own_type() {
        let ec_only = format!("[127.0.0.1]:2222 ecdsa-sha2-nistp256 {EC}\n");
        assert_eq!(status(&ec_only, 2222, ED), KeyStatus::Unknown);
        assert_eq!(status(&ec_only, 2222, EC), KeyStatus::Known);
        let both = format!("{ec_only}[127.0.0.1]:2222 ssh-ed25519 {ED_OTHER}\n");
        assert_eq!(status(&both, 2222, ED), KeyStatus::Changed);
        assert_eq!(status(&both, 2222, ED_OTHER), KeyStatus::Known);
        // Another port's entry says nothing of this one; a plain address names every port.
        assert_eq!(status(&both, 2223, ED), KeyStatus::Unknown);
        let plain = format!("127.0.0.1 ssh-ed25519 {ED}\n");
        assert_eq!(status(&plain, 2222, ED), KeyStatus::Known);
        assert_eq!(status(&plain, 2222, ED_OTHER), KeyStatus::Changed);
    }

    #[test]
    fn hashed_names_and_revoked_keys_count() {
        let hashed = format!("{HASHED_PORT} ssh-ed25519 {ED}\n");
        assert_eq!(status(&hashed, 2222, ED), KeyStatus::Known);
        assert_eq!(status(&hashed, 2222, ED_OTHER), KeyStatus::Changed);
        assert_eq!(status(&hashed, 2223, ED), KeyStatus::Unknown);
        let revoked =
            format!("{hashed}@revoked * ssh-ed25519 {ED}\n@revoked 127.0.0.1 ssh-ed25519 {ED}\n");
        assert_eq!(status(&revoked, 2222, ED), KeyStatus::Changed);
        assert_eq!(
            recorded_types_in(&format!("{hashed}127.0.0.1 ecdsa-sha2-nistp256 {EC}\n")),
            ["ssh-ed25519", "ecdsa-sha2-nistp256"]
        );
    }

    #[test]
    fn a_name_skipped_without_libssh2_is_one_libssh2_would_not_match() {
        let names = [
            "127.0.0.1",
            "127.0.0.2",
            "[127.0.0.1]:2222",
            "[127.0.0.1]:22",
            "[127.0.0.1]:22222",
            "[127.0.0.2]:2222",
            "::1",
            "0:0::1",
            "[::1]:2222",
            "[0:0:0:0:0:0:0:1]:2222",
            "[::1]:22",
            "::ffff:127.0.0.1",
            "[::ffff:127.0.0.1]:2222",
            "web-1.example",
            "WEB-1.example",
            "*",
            "[web-1.example]:2222",
        ];
        let addresses = [
            "127.0.0.1",
            "::1",
            "0::1",
            "::ffff:127.0.0.1",
            "web-1.example",
        ];
        let matcher = Matcher::new("web-1").unwrap();
        let mut matched = 0;
        for name in names {
            let line = Line::parse(&format!("{name} ssh-ed25519 {ED}"))
                .map(|l| (l.key_type.to_string(), l.key.to_string()))
                .unwrap();
            let line = Line {
                revoked: false,
                names: name,
                key_type: &line.0,
                key: &line.1,
            };
            for address in addresses {
                for port in [22, 2222] {
                    let libssh2 = matcher.libssh2_names(name, &line, address, port);
                    matched += usize::from(libssh2);
                    assert!(
                        !(cannot_name(name, address, port) && libssh2),
                        "{name} names {address}:{port} for libssh2"
                    );
                    assert_eq!(matcher.names(name, &line, address, port), libssh2);
                }
            }
        }
        assert!(matched > 10, "the cases include matches: {matched}");
    }

    fn recorded_types_in(text: &str) -> Vec<String> {
        recorded_types(text, "web-1", "127.0.0.1", 2222)
    }

    #[test]
    fn remove_takes_every_matching_entry_and_nothing_else() {
        let kept = format!(
            "# a comment stays\n@cert-authority *.example ssh-ed25519 {ED}\nother.example ssh-ed25519 {ED}\n[127.0.0.1]:2223 ssh-ed25519 {ED}\n@revoked 127.0.0.1 ssh-ed25519 {ED_OTHER}\n"
        );
        let text = format!(
            "{kept}127.0.0.1 ssh-ed25519 {ED}\n[127.0.0.1]:2222 ecdsa-sha2-nistp256 {EC}\n{HASHED_PORT} ssh-ed25519 {ED}\n{HASHED_PLAIN} ssh-ed25519 {ED}\nother.example,[127.0.0.1]:2222 ssh-ed25519 {ED} paaf:web-1\n"
        );
        let (left, removed) = remove_from(&text, "web-1", "127.0.0.1", 2222).unwrap();
        assert_eq!(removed, 5);
        assert_eq!(
            left,
            format!("{kept}other.example ssh-ed25519 {ED} paaf:web-1\n")
        );
        assert_eq!(status(&left, 2222, ED), KeyStatus::Unknown);
    }

    #[test]
    fn the_file_is_replaced_whole_at_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let text = "# mine\nother.example ssh-ed25519 AAAA\n";
        write(text, &path, "web-1").unwrap();
        assert_eq!(read(&path, "web-1").unwrap(), text);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
