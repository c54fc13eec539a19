//! One SSH connection: connect with timeouts, check the host key, authenticate, run commands.
//!
//! Everything here blocks (libssh2 is a blocking C library); callers run it on
//! `tokio::task::spawn_blocking` through [`super::pool::SshPool`].

use super::algorithms;
use super::known_hosts::{self, KeyStatus, OfferedKey};
use super::login_files::LoginFiles;
use crate::error::{Error, Phase, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use ssh2::Session;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Credentials, resolved from the secret store for one connection. Debug never shows them.
#[derive(Clone)]
pub enum Credentials {
    Key {
        path: PathBuf,
        passphrase: Option<SecretString>,
    },
    Password(SecretString),
    Agent,
}

impl Credentials {
    /// The method's name (`key`, `password`, `agent`), never the secret.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::Key { .. } => "key",
            Credentials::Password(_) => "password",
            Credentials::Agent => "agent",
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Key { path, passphrase } => f
                .debug_struct("Key")
                .field("path", path)
                .field("passphrase", &passphrase.as_ref().map(|_| "[redacted]"))
                .finish(),
            Credentials::Password(_) => f.write_str("Password([redacted])"),
            Credentials::Agent => f.write_str("Agent"),
        }
    }
}

/// Everything needed to open a connection to one host.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub known_hosts: PathBuf,
    /// Also offer legacy algorithms (CBC ciphers, SHA-1, ...) after the modern ones.
    pub legacy_algorithms: bool,
    /// Where known_hosts and the key are read from: the same for every target of a fan-out,
    /// so each file is read once however many hosts it logs in to.
    pub files: std::sync::Arc<LoginFiles>,
}

/// What to do with a host key known_hosts does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse unknown keys (the default for every action).
    Strict,
    /// Accept and record an unknown key; with `Some(fp)`, only if it has that fingerprint
    /// (the one the user confirmed), so a key swapped between prompt and accept is refused.
    AcceptNew(Option<String>),
}

/// The result of a command, with output bounded to the host's `max_output_bytes` per stream.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExecOutput {
    pub exit_code: i32,
    /// Set when the command was killed by a signal (e.g. "KILL").
    pub signal: Option<String>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: u64,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0 && self.signal.is_none()
    }

    /// How it ended, as the journal says it: `exit code 0 in 12 ms`, `killed by signal KILL in
    /// 30000 ms`.
    pub fn summary(&self) -> String {
        let how = match &self.signal {
            Some(sig) => format!("killed by signal {sig}"),
            None => format!("exit code {}", self.exit_code),
        };
        format!("{how} in {} ms", self.duration_ms)
    }

    /// The exit code a front-end passes on, as `ssh HOST CMD` and a shell do: the command's
    /// own, 128 + N when signal N killed it (255 for a signal without a number here).
    pub fn passed_exit_code(&self) -> i32 {
        match &self.signal {
            None => self.exit_code,
            Some(sig) => signal_number(sig).map_or(255, |n| 128 + n),
        }
    }
}

/// The POSIX number of a signal named as SSH names it (`KILL`, `TERM`).
fn signal_number(name: &str) -> Option<i32> {
    Some(match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "USR1" => 10,
        "USR2" => 12,
        _ => return None,
    })
}

/// An authenticated SSH session to one host.
pub struct Connection {
    session: Session,
    host: String,
    // The session owns a clone of this socket; ours is kept to poll() it.
    #[cfg_attr(not(unix), allow(dead_code))]
    tcp: TcpStream,
    /// Set when a command was abandoned mid-way: the session's state is unknown, never reuse it.
    broken: bool,
    /// Set when the last command failed before anything reached the server (no channel).
    failed_before_sending: bool,
}

fn unreachable(target: &Target, reason: impl Into<String>) -> Error {
    Error::Unreachable {
        host: target.name.clone(),
        address: format!("{}:{}", target.address, target.port),
        reason: reason.into(),
    }
}

/// How a host name becomes addresses (the system's resolver, or a test's).
type Resolver = fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>;

fn system_resolver(address: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok((address, port).to_socket_addrs()?.collect())
}

/// Resolves `address` on a thread of its own and waits at most `timeout` for it: the system's
/// resolver can block far longer than the connect timeout (a DNS server that does not answer),
/// and cannot be interrupted. An IP address needs no resolver.
fn resolve_within(
    address: &str,
    port: u16,
    timeout: Duration,
    resolve: Resolver,
) -> std::result::Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = address.to_string();
    std::thread::Builder::new()
        .name("paaf-resolve".into())
        .spawn(move || {
            // The receiver is gone when the lookup took too long: nobody needs the answer.
            let _ = tx.send(resolve(&name, port));
        })
        .map_err(|e| format!("cannot resolve the address: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("cannot resolve the address: {e}")),
        Err(_) => Err(format!(
            "the name did not resolve within {}s (connect_timeout_secs): check the DNS servers this machine uses",
            timeout.as_secs()
        )),
    }
}

/// TCP connect + SSH handshake, bounded by the target's connect timeout.
fn handshake(target: &Target) -> Result<(Session, TcpStream)> {
    let addrs = resolve_within(
        &target.address,
        target.port,
        target.connect_timeout,
        system_resolver,
    )
    .map_err(|reason| unreachable(target, reason))?;
    let mut last = None;
    let mut tcp = None;
    for addr in &addrs {
        tracing::info!(host = %target.name, %addr, timeout_s = target.connect_timeout.as_secs(), "ssh: connecting");
        match TcpStream::connect_timeout(addr, target.connect_timeout) {
            Ok(s) => {
                tcp = Some((s, *addr));
                break;
            }
            Err(e) => {
                tracing::info!(host = %target.name, %addr, error = %e, "ssh: connect failed");
                last = Some(e);
            }
        }
    }
    let (tcp, addr) = match tcp {
        Some(t) => t,
        None => {
            let reason = match last {
                Some(e) if e.kind() == ErrorKind::TimedOut => format!(
                    "no answer within {}s (connect_timeout_secs)",
                    target.connect_timeout.as_secs()
                ),
                Some(e) => crate::error::plain_io(&e),
                None => "the address resolved to nothing".into(),
            };
            return Err(unreachable(target, reason));
        }
    };
    let _ = tcp.set_nodelay(true);
    quick_ack(&tcp);
    let mut session = Session::new().map_err(|e| ssh_error(&target.name, "session", e))?;
    session.set_timeout(duration_ms(target.connect_timeout));
    // A known_hosts that cannot be read is reported by the host key check after the handshake.
    let recorded = target
        .files
        .known_hosts(&target.known_hosts, &target.name)
        .map(|text| known_hosts::recorded_types(&text, &target.name, &target.address, target.port))
        .unwrap_or_default();
    algorithms::prefer(&session, &recorded, target.legacy_algorithms)
        .map_err(|e| ssh_error(&target.name, "SSH algorithm preferences", e))?;
    session.set_tcp_stream(
        tcp.try_clone()
            .map_err(|e| unreachable(target, e.to_string()))?,
    );
    session.handshake().map_err(|e| {
        if is_timeout(&e) {
            return Error::Timeout {
                host: target.name.clone(),
                phase: Phase::Connect,
                after: target.connect_timeout,
            };
        }
        let no_common_algorithm = is_kex_failure(&e)
            .then(|| algorithms::read_offer(&addr, target.connect_timeout))
            .flatten()
            .and_then(|offer| {
                algorithms::diagnose(&target.name, &offer, target.legacy_algorithms, |m| {
                    Session::new()
                        .and_then(|s| s.supported_algs(m))
                        .unwrap_or_default()
                })
            });
        match no_common_algorithm {
            Some(reason) => Error::Ssh {
                host: target.name.clone(),
                reason,
            },
            None => unreachable(target, format!("SSH handshake failed: {}", e.message())),
        }
    })?;
    tracing::info!(
        host = %target.name,
        kex = session.methods(ssh2::MethodType::Kex).unwrap_or("?"),
        host_key = session.methods(ssh2::MethodType::HostKey).unwrap_or("?"),
        cipher = session.methods(ssh2::MethodType::CryptCs).unwrap_or("?"),
        "ssh: handshake done"
    );
    Ok((session, tcp))
}

/// Asks Linux to acknowledge what arrives next at once (TCP_QUICKACK). sshd sets TCP_NODELAY
/// only on interactive sessions, so on an exec channel its last small packets (exit status, EOF,
/// close) wait under Nagle's algorithm for our ACK of the one before, which Linux delays up to
/// 40 ms. The kernel drops the flag again by itself, so it is set before each wait.
fn quick_ack(tcp: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let one: libc::c_int = 1;
        // SAFETY: a valid socket this connection owns, and a c_int option of the right size.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(tcp),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}

fn duration_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

fn is_timeout(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_TIMEOUT
    e.code() == ssh2::ErrorCode::Session(-9)
}

fn is_kex_failure(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_KEX_FAILURE: no algorithm in common, among other key-exchange failures
    e.code() == ssh2::ErrorCode::Session(-5)
}

fn is_eagain(e: &ssh2::Error) -> bool {
    // LIBSSH2_ERROR_EAGAIN
    e.code() == ssh2::ErrorCode::Session(-37)
}

pub(crate) fn ssh_error(host: &str, what: &str, e: ssh2::Error) -> Error {
    Error::Ssh {
        host: host.to_string(),
        reason: format!("{what}: {}", e.message()),
    }
}

/// Connects to the host and reports its key without logging in (for the trust prompt).
pub fn probe_host_key(target: &Target) -> Result<OfferedKey> {
    let (session, _tcp) = handshake(target)?;
    offered_key(&session, target)
}

/// The key a handshaken session offers, checked against the target's known_hosts.
fn offered_key(session: &Session, target: &Target) -> Result<OfferedKey> {
    let offered = known_hosts::check(
        session,
        &target
            .files
            .known_hosts(&target.known_hosts, &target.name)?,
        &target.name,
        &target.address,
        target.port,
    )?;
    tracing::info!(host = %target.name, key_type = %offered.key_type, fingerprint = %offered.fingerprint, status = ?offered.status, "ssh: host key");
    Ok(offered)
}

/// Removes the host's keys from known_hosts; returns how many entries went.
pub fn forget_host_key(target: &Target) -> Result<usize> {
    known_hosts::remove(
        &target.known_hosts,
        &target.name,
        &target.address,
        target.port,
    )
}

impl Connection {
    /// Connects, checks the host key under `policy`, then authenticates.
    pub fn open(target: &Target, policy: &HostKeyPolicy) -> Result<Connection> {
        let (session, tcp) = handshake(target)?;
        let offered = offered_key(&session, target)?;
        match (offered.status, policy) {
            (KeyStatus::Known, _) => {}
            (KeyStatus::Changed, _) => {
                return Err(Error::HostKeyChanged {
                    host: target.name.clone(),
                    fingerprint: offered.fingerprint,
                    known_hosts: target.known_hosts.clone(),
                });
            }
            (KeyStatus::Unknown, HostKeyPolicy::Strict) => {
                return Err(Error::HostKeyUnknown {
                    host: target.name.clone(),
                    key_type: offered.key_type,
                    fingerprint: offered.fingerprint,
                });
            }
            (KeyStatus::Unknown, HostKeyPolicy::AcceptNew(expected)) => {
                if let Some(fp) = expected
                    && *fp != offered.fingerprint
                {
                    return Err(Error::Ssh {
                        host: target.name.clone(),
                        reason: format!(
                            "the host now offers {} but {fp} was confirmed; nothing was trusted, check the host and try again",
                            offered.fingerprint
                        ),
                    });
                }
                known_hosts::add(
                    &session,
                    &target.known_hosts,
                    &target.name,
                    &target.address,
                    target.port,
                )?;
                tracing::info!(host = %target.name, fingerprint = %offered.fingerprint, "host key trusted");
            }
        }
        authenticate(&session, target).map_err(|e| match e {
            // libssh2 reports a connection lost mid-login as a refused login (e.g.
            // PUBLICKEY_UNVERIFIED, "Waiting for publickey USERAUTH response"). One refused
            // key or password leaves the connection open; many agent keys may not.
            Error::AuthFailed { method, .. } if method != "agent" && socket_closed(&tcp) => {
                Error::Ssh {
                    host: target.name.clone(),
                    reason: "connection lost while logging in".into(),
                }
            }
            e => e,
        })?;
        tracing::info!(host = %target.name, user = %target.user, "ssh: logged in");
        Ok(Connection {
            session,
            host: target.name.clone(),
            tcp,
            broken: false,
            failed_before_sending: false,
        })
    }

    /// False once a command failed on this connection: it must not be reused.
    pub fn is_alive(&self) -> bool {
        !self.broken
    }

    /// True when the last command failed before the server got it (the channel did not even
    /// open), so running it again elsewhere cannot run it twice.
    pub fn failed_before_sending(&self) -> bool {
        self.failed_before_sending
    }

    /// Runs `command`, collecting at most `max_output` bytes of each stream, within `timeout`.
    pub fn exec(
        &mut self,
        command: &str,
        timeout: Duration,
        max_output: usize,
    ) -> Result<ExecOutput> {
        let started = Instant::now();
        let deadline = started + timeout;
        self.failed_before_sending = false;
        self.session.set_blocking(false);
        let result = self.exec_nonblocking(command, deadline, max_output, timeout);
        self.session.set_blocking(true);
        if result.is_err() {
            self.broken = true;
        }
        let mut out = result?;
        out.duration_ms = started.elapsed().as_millis() as u64;
        Ok(out)
    }

    // Non-blocking so stdout and stderr are drained together: reading one stream to its end
    // while the other fills the SSH window would deadlock on commands with large stderr.
    fn exec_nonblocking(
        &mut self,
        command: &str,
        deadline: Instant,
        max: usize,
        timeout: Duration,
    ) -> Result<ExecOutput> {
        let host = self.host.clone();
        let timed_out = || Error::Timeout {
            host: host.clone(),
            phase: Phase::Command,
            after: timeout,
        };
        let mut channel =
            match self.retry(deadline, "open channel", || self.session.channel_session()) {
                Ok(c) => c,
                Err(e) => {
                    self.failed_before_sending = true;
                    return Err(e);
                }
            };
        tracing::info!(host = %self.host, "ssh: channel open");
        tracing::debug!(host = %self.host, command, "ssh: exec");
        self.retry(deadline, "exec", || channel.exec(command))?;
        let (mut out, mut err) = (Bounded::new(max), Bounded::new(max));
        let mut chunk = vec![0u8; 32 * 1024];
        let mut idle_passes = 0;
        loop {
            let mut progressed = false;
            for (stream_id, sink) in [(0, &mut out), (1, &mut err)] {
                let mut stream = channel.stream(stream_id);
                loop {
                    match stream.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            sink.push(&chunk[..n]);
                            progressed = true;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            return Err(Error::Ssh {
                                host: self.host.clone(),
                                reason: format!("connection lost while reading output: {e}"),
                            });
                        }
                    }
                }
            }
            if channel.eof() && !progressed {
                break;
            }
            if Instant::now() >= deadline {
                let _ = channel.close();
                return Err(timed_out());
            }
            if progressed {
                idle_passes = 0;
            } else {
                // A read of one stream may buffer the other's data inside libssh2; only after
                // two passes with nothing is it safe to sleep on the socket.
                idle_passes += 1;
                if idle_passes >= 2 {
                    self.wait_socket(deadline);
                }
            }
        }
        self.retry(deadline, "close", || channel.wait_close())?;
        let exit_code = channel
            .exit_status()
            .map_err(|e| ssh_error(&self.host, "exit status", e))?;
        let signal = channel
            .exit_signal()
            .ok()
            .and_then(|s| s.exit_signal)
            .filter(|s| !s.is_empty());
        tracing::info!(host = %self.host, exit_code, signal = ?signal, stdout_bytes = out.data.len(), stderr_bytes = err.data.len(), "ssh: exit status");
        Ok(ExecOutput {
            exit_code,
            signal,
            stdout_truncated: out.truncated,
            stderr_truncated: err.truncated,
            stdout: String::from_utf8_lossy(&out.data).into_owned(),
            stderr: String::from_utf8_lossy(&err.data).into_owned(),
            duration_ms: 0,
        })
    }

    fn retry<T>(
        &self,
        deadline: Instant,
        what: &str,
        mut f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T> {
        loop {
            match f() {
                Err(e) if is_eagain(&e) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Timeout {
                            host: self.host.clone(),
                            phase: Phase::Command,
                            after: deadline.saturating_duration_since(Instant::now()),
                        });
                    }
                    self.wait_socket(deadline);
                }
                Err(e) => return Err(ssh_error(&self.host, what, e)),
                Ok(v) => return Ok(v),
            }
        }
    }

    /// Sleeps until the socket is ready in the direction libssh2 waits for (at most 100 ms).
    fn wait_socket(&self, deadline: Instant) {
        let slice = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        #[cfg(unix)]
        {
            let dirs = self.session.block_directions();
            let mut events = 0;
            if matches!(
                dirs,
                ssh2::BlockDirections::Inbound | ssh2::BlockDirections::Both
            ) {
                events |= libc::POLLIN;
            }
            if matches!(
                dirs,
                ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
            ) {
                events |= libc::POLLOUT;
            }
            if events == 0 {
                events = libc::POLLIN;
            }
            quick_ack(&self.tcp);
            let mut pfd = libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(&self.tcp),
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd on a socket this connection owns, for a bounded time.
            unsafe { libc::poll(&mut pfd, 1, slice.as_millis() as libc::c_int) };
        }
        #[cfg(not(unix))]
        std::thread::sleep(slice.min(Duration::from_millis(2)));
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Freeing a session with an abandoned channel blocks until the server closes it (a
        // command that timed out may never do so); without blocking, libssh2 just lets go.
        if self.broken {
            self.session.set_blocking(false);
        }
    }
}

/// Output capped at a size; what goes past the cap is counted as truncated, not kept.
struct Bounded {
    data: Vec<u8>,
    max: usize,
    truncated: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Bounded {
            data: Vec::new(),
            max,
            truncated: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.max.saturating_sub(self.data.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A login that ran out of time is a connect timeout, not a refusal.
fn login_timeout(target: &Target, e: &ssh2::Error) -> Option<Error> {
    is_timeout(e).then(|| Error::Timeout {
        host: target.name.clone(),
        phase: Phase::Connect,
        after: target.connect_timeout,
    })
}

/// True when the peer closed or reset the connection (nothing is waiting to be read, and the
/// socket is not merely idle).
fn socket_closed(tcp: &TcpStream) -> bool {
    if tcp.set_nonblocking(true).is_err() {
        return true;
    }
    let closed = match tcp.peek(&mut [0u8; 1]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    let _ = tcp.set_nonblocking(false);
    closed
}

fn authenticate(session: &Session, target: &Target) -> Result<()> {
    tracing::info!(host = %target.name, user = %target.user, method = target.credentials.method(), "ssh: trying authentication");
    let failed = |method: &'static str, reason: String| Error::AuthFailed {
        host: target.name.clone(),
        user: target.user.clone(),
        method,
        reason,
    };
    match &target.credentials {
        Credentials::Password(pw) => {
            session
                .userauth_password(&target.user, pw.expose_secret())
                .map_err(|e| {
                    login_timeout(target, &e).unwrap_or_else(|| {
                        failed("password", "the server refused the user or password".into())
                    })
                })?;
        }
        Credentials::Key { path, passphrase } => {
            let key = target.files.key(path).map_err(|r| failed("key", r))?;
            key.authenticate(
                session,
                &target.user,
                passphrase.as_ref().map(|p| p.expose_secret()),
            )
            .map_err(|e| {
                if let Some(timeout) = login_timeout(target, &e) {
                    return timeout;
                }
                let reason =
                    if e.message().contains("passphrase") || e.message().contains("private key") {
                        format!(
                            "cannot use key {}: {} (is the passphrase stored and right?)",
                            path.display(),
                            e.message()
                        )
                    } else {
                        format!("the server refused key {}", path.display())
                    };
                failed("key", reason)
            })?;
        }
        Credentials::Agent => {
            let mut agent = session
                .agent()
                .map_err(|e| failed("agent", e.message().to_string()))?;
            agent.connect().map_err(|e| {
                failed(
                    "agent",
                    format!(
                        "cannot reach ssh-agent (is SSH_AUTH_SOCK set?): {}",
                        e.message()
                    ),
                )
            })?;
            agent
                .list_identities()
                .map_err(|e| failed("agent", e.message().to_string()))?;
            let identities = agent
                .identities()
                .map_err(|e| failed("agent", e.message().to_string()))?;
            if identities.is_empty() {
                return Err(failed(
                    "agent",
                    "the agent holds no keys (ssh-add one)".into(),
                ));
            }
            let ok = identities
                .iter()
                .any(|id| agent.userauth(&target.user, id).is_ok());
            let _ = agent.disconnect();
            if !ok {
                return Err(failed(
                    "agent",
                    format!("the server refused all {} agent keys", identities.len()),
                ));
            }
        }
    }
    if !session.authenticated() {
        return Err(failed(
            "unknown",
            "the server did not accept the login".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_output_keeps_the_head_and_flags_the_rest() {
        let mut b = Bounded::new(5);
        b.push(b"abc");
        b.push(b"defg");
        assert_eq!(b.data, b"abcde");
        assert!(b.truncated);
    }

    #[test]
    fn a_name_that_never_resolves_fails_within_the_connect_timeout() {
        fn never_answers(_: &str, _: u16) -> std::io::Result<Vec<SocketAddr>> {
            std::thread::sleep(Duration::from_secs(5));
            Err(std::io::Error::other("no answer"))
        }
        let started = Instant::now();
        let e = resolve_within("db.internal", 22, Duration::from_millis(300), never_answers)
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(e.contains("did not resolve within"), "{e}");
        // An address needs no resolver; a resolver's own error is passed on.
        assert_eq!(
            resolve_within("127.0.0.1", 2222, Duration::ZERO, never_answers).unwrap(),
            [SocketAddr::from(([127, 0, 0, 1], 2222))]
        );
        let e = resolve_within("nowhere.invalid", 22, Duration::from_secs(5), |_, _| {
            Err(std::io::Error::other("Name or service not known"))
        })
        .unwrap_err();
        assert!(e.contains("Name or service not known"), "{e}");
    }

    #[test]
    fn the_passed_exit_code_is_the_commands_own_or_128_plus_its_signal() {
        let out = |exit_code, signal: Option<&str>| ExecOutput {
            exit_code,
            signal: signal.map(str::to_string),
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            duration_ms: 0,
        };
        assert_eq!(out(0, None).passed_exit_code(), 0);
        assert_eq!(out(3, None).passed_exit_code(), 3);
        assert_eq!(out(0, Some("KILL")).passed_exit_code(), 137);
        assert_eq!(out(0, Some("TERM")).passed_exit_code(), 143);
        assert_eq!(out(0, Some("WEIRD")).passed_exit_code(), 255);
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = Credentials::Password(SecretString::from("pa55-word-xyz"));
        assert!(!format!("{c:?}").contains("pa55"));
        let k = Credentials::Key {
            path: "/k".into(),
            passphrase: Some(SecretString::from("phrase-xyz")),
        };
        assert!(!format!("{k:?}").contains("phrase-xyz"));
    }
}
