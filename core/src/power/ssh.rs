//! Verified reboot over SSH, after Ansible's reboot module: read the boot id, send the reboot
//! detached under `sudo -n`, see the connection drop, knock on the SSH port every 250 ms until
//! it answers, then log in until the boot id changed (backing off only when the login or the
//! read fails), then run a test command until it succeeds. Each phase has its own budget and a
//! timeout names the phase. The new boot id counts only from the same machine: when
//! `/etc/machine-id` is readable before the reboot, it must read the same after.
//!
//! The reboot command runs as one program with its arguments, and `sudo -n` runs that program
//! itself (never a shell), so a least-privilege rule such as
//! `deploy ALL=(root) NOPASSWD: /usr/sbin/shutdown` is enough; the pre-check asks sudo about
//! exactly that command (`sudo -n -l shutdown -r now`).

use crate::config::HostConfig;
use crate::error::{Error, Phase, Result};
use crate::events::{CancellationToken, Progress, Step};
use crate::ssh::{Connection, ExecOutput, HostKeyPolicy, SUDO_SECURE_PATH, SshPool, Target};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What a verified reboot saw.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RebootReport {
    pub host: String,
    pub rebooted: bool,
    pub boot_id_before: String,
    pub boot_id_after: String,
    /// From the reboot command to the connection drop.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub shutdown_ms: u64,
    /// From the drop to the new boot id.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub boot_ms: u64,
    /// From the new boot id to the test command's success.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub test_ms: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
}

impl RebootReport {
    /// One line for the journal: its time and the two boot ids (their first 8 characters).
    pub fn summary(&self) -> String {
        let short = |id: &str| id.get(..8).unwrap_or(id).to_string();
        format!(
            "verified in {:.1}s: boot id {} -> {}, test command ok",
            self.elapsed_ms as f64 / 1000.0,
            short(&self.boot_id_before),
            short(&self.boot_id_after)
        )
    }
}

/// Everything one reboot needs; `target` is called for each new connection.
pub(crate) struct RebootJob<'a> {
    pub pool: &'a SshPool,
    pub host: &'a HostConfig,
    pub target: &'a (dyn Fn() -> Result<Target> + Send + Sync),
    pub progress: Progress,
    pub cancel: CancellationToken,
    /// Called right before the reboot command is sent (the journal's `running`); when it
    /// fails, nothing is sent.
    pub sending: Box<dyn Fn() -> Result<()> + Send + Sync + 'a>,
    /// Another way to start the reboot than the host's reboot command over SSH (a cloud
    /// API's reboot), with what it is called in progress; the verification is the same. In a
    /// mutex only to keep the job `Sync` (a future is not), as its methods borrow it.
    pub external: Option<std::sync::Mutex<ExternalReboot<'a>>>,
    /// How many answers of the test command other than exit 0 end the reboot with that answer
    /// (a fleet's health gate); `None`: it is retried until `test_timeout_secs`, as Ansible's
    /// reboot module does. A try that cannot connect or run is never counted: the host is not
    /// back yet.
    pub test_tries: Option<u32>,
}

/// A reboot started outside the SSH session: what it is called, and the call.
pub(crate) struct ExternalReboot<'a> {
    pub description: String,
    pub send: std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>,
}

/// How often the boot phase knocks on the SSH port (a bare TCP connect) while the host is down.
pub(crate) const PORT_KNOCK_INTERVAL: Duration = Duration::from_millis(250);
/// Knocks waiting for their connect timeout at once, at most.
const PORT_KNOCKS_IN_FLIGHT: usize = 8;

/// One TCP connect to the SSH port, closed at once; the reason the port gave when it failed.
async fn knock(address: String, port: u16, timeout: Duration) -> std::result::Result<(), String> {
    match tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((address.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("port {port}: {}", crate::error::plain_io(&e))),
        Err(_) => Err(format!(
            "port {port}: no answer within {}s (connect_timeout_secs)",
            timeout.as_secs()
        )),
    }
}

/// Ansible's retry delay: 2^attempt seconds plus up to a second of jitter, capped.
pub(crate) fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = 2f64.powi(attempt.min(16) as i32) + rand::random::<f64>();
    Duration::from_secs_f64(base).min(max)
}

/// The reboot command's words (config-checked to split like a shell line), each quoted for
/// the remote shell.
fn reboot_words(host: &HostConfig) -> Result<String> {
    let invalid = || {
        Error::invalid(format!(
            "host `{}`: reboot.command `{}` is not a program with arguments",
            host.name, host.reboot.command
        ))
    };
    let words = shlex::split(&host.reboot.command)
        .filter(|w| !w.is_empty())
        .ok_or_else(invalid)?;
    shlex::try_join(words.iter().map(String::as_str)).map_err(|_| invalid())
}

/// The shell line that starts the reboot in the background and returns at once, so the
/// command's own exit is seen before the connection drops. The login user's shell waits;
/// `sudo -n` then runs the reboot program itself.
pub(crate) fn detached_reboot_command(host: &HostConfig) -> Result<String> {
    let sudo = if uses_sudo(host) { "sudo -n " } else { "" };
    let inner = format!("sleep 1; exec {sudo}{}", reboot_words(host)?);
    let quoted = shlex::try_quote(&inner).map_err(|_| {
        Error::invalid(format!(
            "host `{}`: reboot.command holds a NUL byte",
            host.name
        ))
    })?;
    Ok(format!("nohup sh -c {quoted} >/dev/null 2>&1 </dev/null &"))
}

fn uses_sudo(host: &HostConfig) -> bool {
    host.reboot.sudo && host.user != "root"
}

/// Runs one command on a connection owned by the caller, handing the connection back.
async fn exec_on(
    pool: &SshPool,
    mut conn: Connection,
    cmd: String,
    timeout: Duration,
    max: usize,
) -> Result<(Connection, Result<ExecOutput>)> {
    pool.run(move || {
        let r = conn.exec(&cmd, timeout, max);
        Ok((conn, r))
    })
    .await
}

impl RebootJob<'_> {
    fn cancelled(&self, sent: bool) -> Error {
        Error::Cancelled {
            what: if sent {
                format!(
                    "reboot of {}: the reboot command had been sent, the host may still be rebooting",
                    self.host.name
                )
            } else {
                format!("reboot of {}: nothing was sent", self.host.name)
            },
        }
    }

    /// Sleeps `d` unless cancelled first.
    /// The wait before try `attempt` + 1 of `phase`, which began at `since` with `budget`: the
    /// backoff, cut to what is left of the budget; a timeout naming the phase once it is spent.
    fn next_wait(
        &self,
        phase: Phase,
        since: Instant,
        budget: Duration,
        attempt: u32,
    ) -> Result<Duration> {
        let spent = since.elapsed();
        if spent >= budget {
            return Err(Error::Timeout {
                host: self.host.name.clone(),
                phase,
                after: budget,
            });
        }
        Ok(backoff(attempt, self.host.reboot.backoff_max).min(budget - spent))
    }

    async fn pause(&self, d: Duration, sent: bool) -> Result<()> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(self.cancelled(sent)),
        }
    }

    async fn connect(&self) -> Result<Connection> {
        let target = (self.target)()?;
        self.pool
            .run(move || Connection::open(&target, &HostKeyPolicy::Strict))
            .await
    }

    /// A connection attempt after the reboot was sent, given up at once on cancel (the
    /// attempt itself may block until its connect timeout).
    async fn reconnect(&self) -> Result<Result<Connection>> {
        tokio::select! {
            c = self.connect() => Ok(c),
            _ = self.cancel.cancelled() => Err(self.cancelled(true)),
        }
    }

    async fn read_boot_id(&self, conn: Connection) -> Result<(Connection, Result<String>)> {
        let h = self.host;
        let (conn, out) = exec_on(
            self.pool,
            conn,
            h.boot_id_command.clone(),
            h.command_timeout,
            4096,
        )
        .await?;
        let id = out.and_then(|o| {
            let id = o.stdout.trim().to_string();
            if o.success() && !id.is_empty() {
                Ok(id)
            } else {
                Err(Error::RemoteCommand {
                    host: h.name.clone(),
                    command: h.boot_id_command.clone(),
                    exit_code: o.exit_code,
                    stderr: if id.is_empty() && o.success() {
                        "it printed nothing; set boot_id_command for this host".into()
                    } else {
                        o.stderr.trim().to_string()
                    },
                })
            }
        });
        Ok((conn, id))
    }

    /// Asks sudo whether the login user may run the reboot command without a password (`sudo
    /// -n -l COMMAND`: the same program lookup as the run); if not, the error names the program
    /// sudo would run and the sudoers rule that allows it.
    async fn check_sudo(&self, conn: Connection) -> Result<Connection> {
        let h = self.host;
        let words = reboot_words(h)?;
        let (conn, out) = exec_on(
            self.pool,
            conn,
            format!("sudo -n -l {words}"),
            h.command_timeout,
            4096,
        )
        .await?;
        let out = out?;
        if out.success() {
            return Ok(conn);
        }
        let said = match out.stderr.trim() {
            "" => "no sudoers rule allows it".to_string(),
            e => e.to_string(),
        };
        let program = shlex::split(&h.reboot.command)
            .and_then(|w| w.into_iter().next())
            .unwrap_or_default();
        let (path, found) = if program.starts_with('/') {
            (program.clone(), String::new())
        } else {
            let lookup = format!(
                "PATH={SUDO_SECURE_PATH}; command -v {}",
                shlex::try_quote(&program).map_err(|_| Error::invalid("NUL in reboot.command"))?
            );
            let (_, found) = exec_on(self.pool, conn, lookup, h.command_timeout, 4096).await?;
            match found {
                Ok(o) if o.success() && o.stdout.trim().starts_with('/') => {
                    let path = o.stdout.trim().to_string();
                    let note = format!(
                        " (sudo finds `{program}` at {path} through its secure_path; to allow another path, name it in reboot.command, e.g. \"/usr/sbin/{program} ...\")"
                    );
                    (path, note)
                }
                _ => (
                    format!("/path/to/{program}"),
                    format!(
                        " (`{program}` is not found in {SUDO_SECURE_PATH}: name it by its absolute path in reboot.command)"
                    ),
                ),
            }
        };
        Err(Error::Privilege {
            host: h.name.clone(),
            reason: format!(
                "`sudo -n` does not let {user} run `{command}` without a password ({said}). Allow that program: `{user} ALL=(root) NOPASSWD: {path}` in /etc/sudoers.d/paaf{found}, or log in as root, or set reboot.sudo = false",
                user = h.user,
                command = h.reboot.command,
            ),
        })
    }

    /// The host's `/etc/machine-id`, `None` when it cannot be read (no file, no permission);
    /// an `Err` inside means the connection failed, not the file.
    async fn read_machine_id(
        &self,
        conn: Connection,
    ) -> Result<(Connection, Result<Option<String>>)> {
        let (conn, out) = exec_on(
            self.pool,
            conn,
            "cat /etc/machine-id".into(),
            self.host.command_timeout,
            4096,
        )
        .await?;
        let id = out
            .map(|o| Some(o.stdout.trim().to_string()).filter(|id| o.success() && !id.is_empty()));
        Ok((conn, id))
    }

    /// Returns once a TCP connection to the host's SSH port succeeds, knocking every
    /// [`PORT_KNOCK_INTERVAL`] (a few knocks in flight when a down host drops packets instead
    /// of refusing). Each new reason the port gives is reported once, counted in `tries`; a
    /// timeout naming the boot phase once its budget since `since` is spent.
    async fn wait_for_port(&self, since: Instant, tries: &mut u32) -> Result<()> {
        let h = self.host;
        let deadline = tokio::time::Instant::from_std(since + h.reboot.boot_timeout);
        let mut ticks = tokio::time::interval(PORT_KNOCK_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut knocks = tokio::task::JoinSet::new();
        let mut last_reason = None;
        loop {
            tokio::select! {
                _ = ticks.tick(), if knocks.len() < PORT_KNOCKS_IN_FLIGHT => {
                    knocks.spawn(knock(h.address.clone(), h.port, h.connect_timeout));
                }
                Some(knocked) = knocks.join_next() => {
                    let reason = match knocked {
                        Ok(Ok(())) => return Ok(()),
                        Ok(Err(reason)) => reason,
                        Err(e) => e.to_string(),
                    };
                    *tries += 1;
                    if last_reason.as_ref() != Some(&reason) {
                        self.progress.step(Step::WaitingForHost {
                            attempt: *tries,
                            retry_in_ms: PORT_KNOCK_INTERVAL.as_millis() as u64,
                            reason: reason.clone(),
                        });
                        last_reason = Some(reason);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Error::Timeout {
                        host: h.name.clone(),
                        phase: Phase::Boot,
                        after: h.reboot.boot_timeout,
                    });
                }
                _ = self.cancel.cancelled() => return Err(self.cancelled(true)),
            }
        }
    }

    pub async fn run(mut self) -> Result<RebootReport> {
        let external = self
            .external
            .take()
            .map(|e| e.into_inner().expect("external reboot poisoned"));
        let h = self.host;
        let started = Instant::now();
        self.progress.step(Step::Connecting {
            host: h.name.clone(),
        });
        let conn = self.connect().await?;
        let (conn, before) = self.read_boot_id(conn).await?;
        let before = before?;
        let (conn, machine_before) = self.read_machine_id(conn).await?;
        let machine_before = machine_before?;
        self.progress.step(Step::BootIdRead {
            boot_id: before.clone(),
        });

        let mut conn = conn;
        if uses_sudo(h) && external.is_none() {
            conn = self.check_sudo(conn).await?;
            self.progress.step(Step::PrivilegeChecked);
        }
        if self.cancel.is_cancelled() {
            return Err(self.cancelled(false));
        }

        // Phase 0: send. A dropped connection, EOF or exit 255 after sending counts as initiated.
        let (conn, sent_what) = match external {
            Some(ExternalReboot { description, send }) => {
                (self.sending)()?;
                send.await?;
                (conn, description)
            }
            None => {
                let command = detached_reboot_command(h)?;
                (self.sending)()?;
                let (conn, sent) =
                    exec_on(self.pool, conn, command, h.connect_timeout, 4096).await?;
                match &sent {
                    Ok(o) if !o.success() && o.exit_code != 255 => {
                        return Err(Error::RemoteCommand {
                            host: h.name.clone(),
                            command: h.reboot.command.clone(),
                            exit_code: o.exit_code,
                            stderr: o.stderr.trim().to_string(),
                        });
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::info!(host = %h.name, "connection ended while sending the reboot ({e}); counting it as initiated")
                    }
                }
                (conn, h.reboot.command.clone())
            }
        };
        let sent_at = Instant::now();
        self.progress.step(Step::CommandSent { command: sent_what });

        // Phase 1: the old connection must drop.
        let mut conn = Some(conn);
        while let Some(c) = conn.take() {
            if sent_at.elapsed() >= h.reboot.shutdown_timeout {
                return Err(Error::Timeout {
                    host: h.name.clone(),
                    phase: Phase::Shutdown,
                    after: h.reboot.shutdown_timeout,
                });
            }
            let (c, out) = exec_on(self.pool, c, "true".into(), Duration::from_secs(3), 64).await?;
            if out.is_ok() {
                conn = Some(c);
                self.pause(Duration::from_millis(300), true).await?;
            }
        }
        let dropped_at = Instant::now();
        self.progress.step(Step::ConnectionDropped);

        // Phase 2: reconnect until the boot id changed. A TCP knock every 250 ms finds the
        // moment sshd listens again; the SSH login and boot-id read run only then, and only
        // their failures back off (a backoff sleep would overshoot that moment by seconds).
        let mut tries = 0u32;
        let mut ssh_failures = 0u32;
        let mut seen_up = false;
        let (conn, after, machine_after) = loop {
            if self.cancel.is_cancelled() {
                return Err(self.cancelled(true));
            }
            self.wait_for_port(dropped_at, &mut tries).await?;
            let reason = match self.reconnect().await? {
                Ok(c) => {
                    if !seen_up {
                        seen_up = true;
                        self.progress.step(Step::BackUp);
                    }
                    match self.read_boot_id(c).await? {
                        (c, Ok(id)) if id != before => match self.read_machine_id(c).await? {
                            (c, Ok(machine_after)) => break (c, id, machine_after),
                            (_, Err(e)) => e.to_string(),
                        },
                        (_, Ok(_)) => "boot id unchanged, not rebooted yet".to_string(),
                        (_, Err(e)) => e.to_string(),
                    }
                }
                Err(
                    e @ (Error::HostKeyChanged { .. }
                    | Error::HostKeyUnknown { .. }
                    | Error::Secret { .. }),
                ) => return Err(e),
                Err(e) => e.to_string(),
            };
            let delay =
                self.next_wait(Phase::Boot, dropped_at, h.reboot.boot_timeout, ssh_failures)?;
            ssh_failures += 1;
            tries += 1;
            self.progress.step(Step::WaitingForHost {
                attempt: tries,
                retry_in_ms: delay.as_millis() as u64,
                reason,
            });
            self.pause(delay, true).await?;
        };
        if let Some(before) = machine_before
            && machine_after.as_ref() != Some(&before)
        {
            return Err(Error::MachineChanged {
                host: h.name.clone(),
                before,
                after: machine_after.unwrap_or_else(|| "unreadable".into()),
            });
        }
        let booted_at = Instant::now();
        self.progress.step(Step::BootIdChanged {
            old: before.clone(),
            new: after.clone(),
        });

        // Phase 3: the test command must succeed.
        let mut attempt = 0u32;
        let mut refusals = 0u32;
        let mut conn = Some(conn);
        loop {
            let c = match conn.take() {
                Some(c) => Ok(c),
                None => self.reconnect().await?,
            };
            let reason = match c {
                Ok(c) => match exec_on(
                    self.pool,
                    c,
                    h.test_command.clone(),
                    h.command_timeout,
                    64 * 1024,
                )
                .await?
                {
                    (_, Ok(o)) if o.success() => break,
                    (_, Ok(o)) if self.test_tries.is_some_and(|t| refusals + 1 >= t) => {
                        return Err(Error::RemoteCommand {
                            host: h.name.clone(),
                            command: h.test_command.clone(),
                            exit_code: o.exit_code,
                            stderr: o.stderr.trim().to_string(),
                        });
                    }
                    (c, Ok(o)) => {
                        refusals += 1;
                        conn = Some(c);
                        format!("exit code {}: {}", o.exit_code, o.stderr.trim())
                    }
                    (_, Err(e)) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            let budget = h.reboot.test_timeout;
            let delay = self.next_wait(Phase::TestCommand, booted_at, budget, attempt)?;
            attempt += 1;
            self.progress
                .step(Step::WaitingForTestCommand { attempt, reason });
            self.pause(delay, true).await?;
        }
        self.progress.step(Step::TestCommandOk {
            command: h.test_command.clone(),
        });
        self.progress.step(Step::Done);
        let ms = |d: Duration| d.as_millis() as u64;
        Ok(RebootReport {
            host: h.name.clone(),
            rebooted: true,
            boot_id_before: before,
            boot_id_after: after,
            shutdown_ms: ms(dropped_at - sent_at),
            boot_ms: ms(booted_at - dropped_at),
            test_ms: ms(booted_at.elapsed()),
            elapsed_ms: ms(started.elapsed()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_ansible_and_is_capped() {
        let max = Duration::from_secs(12);
        for attempt in 0..3 {
            let d = backoff(attempt, max).as_secs_f64();
            let base = 2f64.powi(attempt as i32);
            assert!(d >= base && d < base + 1.0, "attempt {attempt}: {d}");
        }
        assert_eq!(backoff(10, max), max);
    }
}
