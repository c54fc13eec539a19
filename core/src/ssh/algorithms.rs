//! The SSH algorithms paaf asks for, modern first, and why a handshake found none in common.
//!
//! By default paaf offers only modern key exchanges, host-key signatures, ciphers and MACs
//! (no CBC, 3DES, blowfish, RC4, SHA-1 or MD5); a `[[hosts]]` entry with
//! `legacy_algorithms = true` adds the legacy ones after them, for a server that offers
//! nothing else. The host-key types known_hosts records for the host are asked for first, as
//! OpenSSH does, so a host with keys of several types shows the one already trusted. When a
//! handshake fails, the server's own offer (its KEXINIT, read on a second connection) tells
//! whether it offers only legacy algorithms or none paaf can use.

use ssh2::{MethodType, Session};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One kind of algorithm a handshake agrees on, with paaf's lists.
struct Kind {
    name: &'static str,
    methods: &'static [MethodType],
    /// Its place among the name-lists of a KEXINIT (client to server, for directed kinds).
    kexinit_index: usize,
    modern: &'static [&'static str],
    legacy: &'static [&'static str],
}

/// NIST P-256 first: OpenSSH's sshd computes curve25519 with its own portable reference code
/// (smult_curve25519_ref.c) and P-256 through OpenSSL's optimised code. On the 2-core test
/// machine (OpenSSH 9.2, ed25519 host key) a login with curve25519 cost the host 25 ms of CPU,
/// with P-256 20 ms: on a fan-out, where the hosts' own work decides the wall time, that is a
/// fifth of it. Both give 128-bit security; libssh2 computes either through OpenSSL.
const KEX: Kind = Kind {
    name: "key exchange",
    methods: &[MethodType::Kex],
    kexinit_index: 0,
    modern: &[
        "ecdh-sha2-nistp256",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    ],
    legacy: &[
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group1-sha1",
    ],
};

const HOST_KEY: Kind = Kind {
    name: "host key",
    methods: &[MethodType::HostKey],
    kexinit_index: 1,
    modern: &[
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ],
    legacy: &["ssh-rsa", "ssh-dss"],
};

const CIPHER: Kind = Kind {
    name: "cipher",
    methods: &[MethodType::CryptCs, MethodType::CryptSc],
    kexinit_index: 2,
    modern: &[
        "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-gcm@openssh.com",
        "aes256-ctr",
        "aes192-ctr",
        "aes128-ctr",
    ],
    legacy: &[
        "aes256-cbc",
        "aes192-cbc",
        "aes128-cbc",
        "rijndael-cbc@lysator.liu.se",
        "3des-cbc",
        "blowfish-cbc",
        "cast128-cbc",
        "arcfour256",
        "arcfour128",
        "arcfour",
    ],
};

const MAC: Kind = Kind {
    name: "MAC",
    methods: &[MethodType::MacCs, MethodType::MacSc],
    kexinit_index: 4,
    modern: &[
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
    ],
    legacy: &[
        "hmac-sha1-etm@openssh.com",
        "hmac-sha1",
        "hmac-sha1-96",
        "hmac-ripemd160",
        "hmac-md5",
        "hmac-md5-96",
    ],
};

const KINDS: [&Kind; 4] = [&KEX, &HOST_KEY, &CIPHER, &MAC];

impl Kind {
    /// paaf's list for this kind, `first` ahead of the rest, without duplicates.
    fn list<'a>(&self, first: &[&'a str], legacy: bool) -> Vec<&'a str> {
        let allowed = |a: &&str| self.modern.contains(a) || (legacy && self.legacy.contains(a));
        let mut list: Vec<&str> = first.iter().copied().filter(allowed).collect();
        let rest = self
            .modern
            .iter()
            .chain(if legacy { self.legacy } else { &[] });
        for a in rest {
            if !list.contains(a) {
                list.push(a);
            }
        }
        list
    }
}

/// The host-key algorithms that verify a key of `key_type` as known_hosts records it.
fn signatures_for(key_type: &str) -> Vec<&str> {
    match key_type {
        "ssh-rsa" => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        other => vec![other],
    }
}

/// Sets the session's preferences before its handshake: the host-key types `recorded` in
/// known_hosts first, then modern algorithms, then (only with `legacy`) legacy ones.
pub(crate) fn prefer(
    session: &Session,
    recorded: &[String],
    legacy: bool,
) -> Result<(), ssh2::Error> {
    let recorded: Vec<&str> = recorded.iter().flat_map(|t| signatures_for(t)).collect();
    for kind in KINDS {
        let first: &[&str] = if kind.name == HOST_KEY.name {
            &recorded
        } else {
            &[]
        };
        let list = kind.list(first, legacy).join(",");
        for method in kind.methods {
            session.method_pref(*method, &list)?;
        }
    }
    Ok(())
}

/// The algorithm name-lists of a server's KEXINIT, in their protocol order.
#[derive(Debug, PartialEq)]
pub(crate) struct ServerOffer(Vec<Vec<String>>);

/// Reads the server's KEXINIT on a new connection to `addr` (each read bounded by `timeout`,
/// the whole exchange by 64 KiB); `None` when it cannot be had.
pub(crate) fn read_offer(addr: &SocketAddr, timeout: Duration) -> Option<ServerOffer> {
    let mut tcp = TcpStream::connect_timeout(addr, timeout).ok()?;
    tcp.set_read_timeout(Some(timeout)).ok()?;
    tcp.set_write_timeout(Some(timeout)).ok()?;
    tcp.write_all(b"SSH-2.0-paaf_algorithm_probe\r\n").ok()?;
    let mut reader = BufReader::new(tcp.take(64 * 1024));
    // RFC 4253 4.2: the server may send other lines before its identification.
    let mut line = Vec::new();
    for _ in 0..32 {
        line.clear();
        reader.read_until(b'\n', &mut line).ok()?;
        if line.starts_with(b"SSH-") {
            break;
        }
    }
    if !line.starts_with(b"SSH-") {
        return None;
    }
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len) as usize;
    if !(2..=35_000).contains(&len) {
        return None;
    }
    let mut packet = vec![0u8; len];
    reader.read_exact(&mut packet).ok()?;
    let payload = packet.get(1..len.checked_sub(usize::from(packet[0]))?)?;
    parse_kexinit(payload)
}

/// SSH_MSG_KEXINIT (RFC 4253 7.1): byte 20, a 16-byte cookie, then ten name-lists.
fn parse_kexinit(payload: &[u8]) -> Option<ServerOffer> {
    if payload.first() != Some(&20) {
        return None;
    }
    let mut rest = payload.get(17..)?;
    let mut lists = Vec::with_capacity(10);
    for _ in 0..10 {
        let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let names = std::str::from_utf8(rest.get(4..4 + n)?).ok()?;
        lists.push(
            names
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        );
        rest = &rest[4 + n..];
    }
    Some(ServerOffer(lists))
}

/// Why no handshake is possible with a server that offers `offer`, if its offer is the
/// reason: the kinds with nothing in common, and whether `legacy_algorithms` would help.
/// `supported` lists what paaf's SSH library implements of a kind.
pub(crate) fn diagnose(
    host: &str,
    offer: &ServerOffer,
    legacy: bool,
    supported: impl Fn(MethodType) -> Vec<&'static str>,
) -> Option<String> {
    let mut missing = Vec::new();
    let mut only_legacy = true;
    for kind in KINDS {
        let offered = offer.0.get(kind.kexinit_index)?;
        let ours = supported(kind.methods[0]);
        let usable = |list: &[&str]| {
            offered
                .iter()
                .any(|a| list.contains(&a.as_str()) && ours.contains(&a.as_str()))
        };
        if usable(kind.modern) || (legacy && usable(kind.legacy)) {
            continue;
        }
        only_legacy &= !legacy && usable(kind.legacy);
        missing.push(format!("{} {}", kind.name, offered.join(",")));
    }
    if missing.is_empty() {
        return None;
    }
    let offers = missing.join("; ");
    Some(if only_legacy {
        format!(
            "{host} offers only legacy SSH algorithms ({offers}), which paaf refuses by default; upgrade its OpenSSH, or set legacy_algorithms = true in its [[hosts]] entry to accept them"
        )
    } else {
        format!(
            "{host} offers no SSH algorithm paaf can use ({offers}); upgrade its OpenSSH to one that offers modern algorithms"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut payload = vec![20u8];
        payload.extend([7u8; 16]);
        for l in lists {
            payload.extend((l.len() as u32).to_be_bytes());
            payload.extend(l.as_bytes());
        }
        payload.extend([0u8; 5]);
        payload
    }

    fn offer(kex: &str, host_key: &str, cipher: &str, mac: &str) -> ServerOffer {
        parse_kexinit(&kexinit([
            kex, host_key, cipher, cipher, mac, mac, "none", "none", "", "",
        ]))
        .unwrap()
    }

    /// What the bundled libssh2 implements (it has no SHA-1 key exchange, no MD5 or SHA-1 MAC).
    fn supported(method: MethodType) -> Vec<&'static str> {
        Session::new().unwrap().supported_algs(method).unwrap()
    }

    #[test]
    fn modern_algorithms_come_first_and_legacy_ones_only_when_allowed() {
        let ciphers = CIPHER.list(&[], false);
        assert_eq!(ciphers[0], "chacha20-poly1305@openssh.com");
        for weak in ["cbc", "3des", "blowfish", "arcfour"] {
            assert!(!ciphers.iter().any(|c| c.contains(weak)), "{ciphers:?}");
        }
        assert!(
            !MAC.list(&[], false)
                .iter()
                .any(|m| m.contains("md5") || m.contains("sha1"))
        );
        assert!(!KEX.list(&[], false).iter().any(|k| k.ends_with("sha1")));
        // The key exchange sshd computes fastest (OpenSSL's P-256, not OpenSSH's own curve25519).
        assert_eq!(KEX.list(&[], false)[0], "ecdh-sha2-nistp256");
        assert!(!HOST_KEY.list(&[], false).contains(&"ssh-rsa"));
        let with_legacy = CIPHER.list(&[], true);
        assert_eq!(&with_legacy[..6], CIPHER.modern);
        assert!(with_legacy.contains(&"aes128-cbc"));
        // Known types first; a legacy one only when allowed.
        let recorded = signatures_for("ssh-rsa");
        assert_eq!(
            &HOST_KEY.list(&recorded, false)[..3],
            ["rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519"]
        );
        assert_eq!(HOST_KEY.list(&recorded, true)[2], "ssh-rsa");
        let session = Session::new().unwrap();
        prefer(&session, &["ecdsa-sha2-nistp256".into()], false).unwrap();
    }

    #[test]
    fn a_failed_handshake_says_what_the_server_offers_and_what_helps() {
        let modern = offer(
            "curve25519-sha256",
            "ssh-ed25519",
            "aes128-ctr",
            "hmac-sha2-256",
        );
        assert_eq!(diagnose("old", &modern, false, supported), None);

        let cbc = offer(
            "curve25519-sha256",
            "ssh-ed25519",
            "aes128-cbc",
            "hmac-sha2-256",
        );
        let why = diagnose("old", &cbc, false, supported).unwrap();
        assert!(
            why.contains("only legacy")
                && why.contains("cipher aes128-cbc")
                && why.contains("legacy_algorithms = true"),
            "{why}"
        );
        assert_eq!(diagnose("old", &cbc, true, supported), None);

        let md5 = offer("curve25519-sha256", "ssh-ed25519", "aes128-cbc", "hmac-md5");
        for legacy in [false, true] {
            let why = diagnose("old", &md5, legacy, supported).unwrap();
            assert!(
                why.contains("no SSH algorithm paaf can use")
                    && why.contains("MAC hmac-md5")
                    && !why.contains("legacy_algorithms"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_truncated_or_foreign_packet_is_no_offer() {
        let good = kexinit(["a", "b", "c", "c", "d", "d", "none", "none", "", ""]);
        assert!(parse_kexinit(&good).is_some());
        assert_eq!(parse_kexinit(&good[..30]), None);
        let mut other = good.clone();
        other[0] = 21;
        assert_eq!(parse_kexinit(&other), None);
    }
}
