//! A TCP fault proxy for the flapping-network campaign: it forwards `127.0.0.1:PORT` to an
//! upstream port on 127.0.0.1 and, per connection, injects faults drawn from a seeded RNG —
//! a reset (RST both ways), a stall, dropped bytes or a black hole at a random byte of either
//! direction, or a refusal at accept. The faults of connection `n` depend only on the seed and
//! `n`, so a trial can be replayed from its seed; each fault that fires is recorded.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client (paaf) to the server (sshd).
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// What happens when a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Both sockets are closed with a TCP RST.
    Reset,
    /// Forwarding in this direction pauses for a while, then goes on.
    Stall(Duration),
    /// These many bytes are discarded (the SSH stream is corrupt from there on).
    Drop(usize),
    /// Nothing more is forwarded either way while both sockets stay open (a partition).
    Blackhole,
}

/// One fault of a connection's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub direction: Direction,
    /// Fires when this many bytes went that way.
    pub at_byte: u64,
    pub kind: FaultKind,
}

/// What the proxy does to one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Clean,
    /// Accepted, then reset before any byte is forwarded.
    Refuse,
    /// Forwarded until each fault fires (sorted by byte).
    Faults(Vec<Fault>),
}

impl Plan {
    /// The plan of connection `index` under `seed`: `fault_rate` of the connections get one or
    /// two faults (or a refusal).
    pub fn draw(seed: u64, index: u64, fault_rate: f64) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if !rng.random_bool(fault_rate) {
            return Plan::Clean;
        }
        if rng.random_bool(0.1) {
            return Plan::Refuse;
        }
        let mut faults: Vec<Fault> = (0..rng.random_range(1..=2))
            .map(|_| {
                let direction = if rng.random_bool(0.5) {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                // Half in the handshake and login (the first ~3 kB each way), half in the
                // commands that follow.
                let at_byte = if rng.random_bool(0.5) {
                    rng.random_range(0..3_000)
                } else {
                    rng.random_range(3_000..12_000)
                };
                let kind = match rng.random_range(0..4) {
                    0 => FaultKind::Reset,
                    1 => FaultKind::Stall(Duration::from_millis(rng.random_range(50..8_000))),
                    2 => FaultKind::Drop(rng.random_range(1..64)),
                    _ => FaultKind::Blackhole,
                };
                Fault {
                    direction,
                    at_byte,
                    kind,
                }
            })
            .collect();
        faults.sort_by_key(|f| f.at_byte);
        Plan::Faults(faults)
    }
}

/// What a trial's connections went through.
#[derive(Debug, Default, Clone)]
pub struct TrialFaults {
    pub connections: u64,
    /// One line per fault that fired: `conn 3: ToClient at byte 4210: Reset`.
    pub fired: Vec<String>,
}

struct Trial {
    generation: u64,
    seed: u64,
    fault_rate: f64,
    record: TrialFaults,
    tasks: Vec<AbortHandle>,
}

struct Shared {
    upstream: SocketAddr,
    trial: Mutex<Trial>,
}

impl Shared {
    fn fired(&self, generation: u64, line: String) {
        let mut t = self.trial.lock().expect("proxy state poisoned");
        if t.generation == generation {
            t.record.fired.push(line);
        }
    }
}

/// The proxy, on its own runtime (so it runs the same under sync and async tests); stopped
/// on drop.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:upstream_port`, clean
    /// until the first [`FaultProxy::begin_trial`].
    pub fn start(upstream_port: u16) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream: SocketAddr::from(([127, 0, 0, 1], upstream_port)),
            trial: Mutex::new(Trial {
                generation: 0,
                seed: 0,
                fault_rate: 0.0,
                record: TrialFaults::default(),
                tasks: Vec::new(),
            }),
        });
        let accept_shared = shared.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("proxy listener");
            while let Ok((client, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                let mut t = shared.trial.lock().expect("proxy state poisoned");
                let index = t.record.connections;
                t.record.connections += 1;
                let plan = Plan::draw(t.seed, index, t.fault_rate);
                let generation = t.generation;
                let task = tokio::spawn(serve(
                    accept_shared.clone(),
                    generation,
                    index,
                    client,
                    plan,
                ));
                t.tasks.retain(|h| !h.is_finished());
                t.tasks.push(task.abort_handle());
            }
        });
        FaultProxy {
            port,
            shared,
            runtime: Some(runtime),
        }
    }

    /// Starts a trial: the connections of the last one are cut, and new ones get plans drawn
    /// from `seed` (connection 0, 1, … in accept order).
    pub fn begin_trial(&self, seed: u64, fault_rate: f64) {
        let mut t = self.shared.trial.lock().expect("proxy state poisoned");
        for task in t.tasks.drain(..) {
            task.abort();
        }
        t.generation += 1;
        t.seed = seed;
        t.fault_rate = fault_rate;
        t.record = TrialFaults::default();
    }

    /// The connections and fired faults of the current trial so far.
    pub fn trial_faults(&self) -> TrialFaults {
        self.shared
            .trial
            .lock()
            .expect("proxy state poisoned")
            .record
            .clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Where a connection stands; both directions watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flowing,
    Reset,
    Blackhole,
}

async fn serve(shared: Arc<Shared>, generation: u64, index: u64, client: TcpStream, plan: Plan) {
    let faults = match plan {
        Plan::Clean => Vec::new(),
        Plan::Refuse => {
            shared.fired(generation, format!("conn {index}: refused at accept"));
            let _ = client.set_zero_linger();
            return;
        }
        Plan::Faults(f) => f,
    };
    // A host that is down refuses: so does the proxy then (RST, as a closed port would).
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let (mode, _) = watch::channel(Mode::Flowing);
    let of = |d: Direction| {
        faults
            .iter()
            .copied()
            .filter(|f| f.direction == d)
            .collect::<Vec<_>>()
    };
    let note = |line: String| shared.fired(generation, format!("conn {index}: {line}"));
    tokio::join!(
        pump(
            Direction::ToServer,
            &mut client_rd,
            &mut server_wr,
            of(Direction::ToServer),
            &mode,
            &note
        ),
        pump(
            Direction::ToClient,
            &mut server_rd,
            &mut client_wr,
            of(Direction::ToClient),
            &mode,
            &note
        ),
    );
    let end = *mode.borrow();
    match end {
        Mode::Reset => {
            let _ = client_rd.as_ref().set_zero_linger();
            let _ = server_rd.as_ref().set_zero_linger();
        }
        Mode::Blackhole => {
            // Swallow what the client still sends until it gives up; the server hears nothing.
            let mut sink = vec![0u8; 16 * 1024];
            while matches!(client_rd.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Mode::Flowing => {}
    }
}

/// Forwards one direction until EOF, an error, or a fault that stops the connection.
async fn pump(
    direction: Direction,
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    faults: Vec<Fault>,
    mode: &watch::Sender<Mode>,
    note: &(impl Fn(String) + Sync),
) {
    let mut stopped = mode.subscribe();
    let mut pending = faults.into_iter().peekable();
    let mut sent: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(n) if n > 0 => n,
                _ => {
                    let _ = to.shutdown().await;
                    return;
                }
            },
            _ = until_stopped(&mut stopped) => return,
        };
        let mut chunk = &buf[..n];
        while let Some(f) = pending.next_if(|f| f.at_byte < sent + chunk.len() as u64) {
            let head = (f.at_byte.saturating_sub(sent) as usize).min(chunk.len());
            if !forward(to, &chunk[..head], &mut stopped).await {
                return;
            }
            sent += head as u64;
            chunk = &chunk[head..];
            note(format!("{direction:?} at byte {sent}: {:?}", f.kind));
            match f.kind {
                FaultKind::Reset => {
                    mode.send_replace(Mode::Reset);
                    return;
                }
                FaultKind::Blackhole => {
                    mode.send_replace(Mode::Blackhole);
                    return;
                }
                FaultKind::Stall(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = until_stopped(&mut stopped) => return,
                    }
                }
                FaultKind::Drop(k) => {
                    let k = k.min(chunk.len());
                    sent += k as u64;
                    chunk = &chunk[k..];
                }
            }
        }
        if !forward(to, chunk, &mut stopped).await {
            return;
        }
        sent += chunk.len() as u64;
    }
}

/// Returns once a fault stopped the connection (never, if none does).
async fn until_stopped(stopped: &mut watch::Receiver<Mode>) {
    if stopped.wait_for(|m| *m != Mode::Flowing).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Writes `bytes` unless the connection stops first; false when it stopped or failed.
async fn forward(
    to: &mut OwnedWriteHalf,
    bytes: &[u8],
    stopped: &mut watch::Receiver<Mode>,
) -> bool {
    if bytes.is_empty() {
        return true;
    }
    tokio::select! {
        r = to.write_all(bytes) => r.is_ok(),
        _ = until_stopped(stopped) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_depends_only_on_the_seed_and_the_connection() {
        for index in 0..50 {
            assert_eq!(Plan::draw(7, index, 0.5), Plan::draw(7, index, 0.5));
        }
        let plans: Vec<Plan> = (0..200).map(|i| Plan::draw(7, i, 0.5)).collect();
        let faulty = plans.iter().filter(|p| **p != Plan::Clean).count();
        assert!((60..140).contains(&faulty), "about half: {faulty}");
        assert!((0..200).all(|i| Plan::draw(7, i, 0.0) == Plan::Clean));
    }

    #[test]
    fn bytes_pass_untouched_without_faults_and_stop_at_a_reset() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let echo_port = echo.local_addr().unwrap().port();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = echo.accept().await {
                    tokio::spawn(async move {
                        let (mut r, mut w) = s.split();
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                    });
                }
            });
            let proxy = FaultProxy::start(echo_port);
            let mut c = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
            let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
            c.write_all(&data).await.unwrap();
            let mut back = vec![0u8; data.len()];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, data);

            // A seed whose first connection is reset: the client sees the connection end.
            let seed = (0..)
                .find(|s| {
                    matches!(Plan::draw(*s, 0, 1.0), Plan::Faults(f)
                        if f.len() == 1 && f[0].kind == FaultKind::Reset)
                })
                .unwrap();
            proxy.begin_trial(seed, 1.0);
            let mut c = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
            let _ = c.write_all(&data).await;
            let mut got = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut got)).await;
            assert!(got.len() < data.len(), "the reset cut the stream");
            let faults = proxy.trial_faults();
            assert_eq!(faults.connections, 1);
            assert!(faults.fired[0].contains("Reset"), "{:?}", faults.fired);
            drop(proxy);
        });
    }
}
