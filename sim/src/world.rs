//! The simulated implementations of nut-bins' seams: turmoil networking ([`SimNet`]),
//! recorded system effects ([`SimSys`]) and a harness-controlled device ([`SimDevice`]).
//!
//! All shared state sits behind `std::sync::Mutex` (turmoil runs every host on one thread,
//! so there is no contention, and the `Send` bounds of the seams hold).

use nut_bins::seam::{DataSource, ExecPurpose, Net, Reading, Sys};
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use turmoil::net::{TcpListener, TcpStream};

/// First loopback port used for driver sockets (each socket name maps to one port).
pub const LOCAL_PORT_BASE: u16 = 20_000;
/// Number of loopback ports driver sockets are spread over.
pub const LOCAL_PORT_SPAN: u16 = 20_000;

/// Loopback port standing in for the unix socket called `name` (stable hash).
pub fn local_port(name: &str) -> u16 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    LOCAL_PORT_BASE + (hash % u64::from(LOCAL_PORT_SPAN)) as u16
}

/// turmoil networking; driver sockets are loopback TCP on the same simulated host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimNet;

impl Net for SimNet {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type LocalStream = TcpStream;
    type LocalListener = TcpListener;

    async fn bind(&self, addr: &str) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, String)> {
        let (stream, peer) = listener.accept().await?;
        Ok((stream, peer.ip().to_string()))
    }

    async fn connect(&self, addr: &str) -> io::Result<TcpStream> {
        TcpStream::connect(addr).await
    }

    async fn bind_local(&self, name: &str) -> io::Result<TcpListener> {
        TcpListener::bind(format!("127.0.0.1:{}", local_port(name))).await
    }

    async fn accept_local(listener: &TcpListener) -> io::Result<TcpStream> {
        Ok(listener.accept().await?.0)
    }

    async fn connect_local(&self, name: &str) -> io::Result<TcpStream> {
        TcpStream::connect(format!("127.0.0.1:{}", local_port(name))).await
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Simulated time in milliseconds.
    pub t_ms: u64,
    /// Host (or `scenario` for harness events).
    pub host: String,
    /// What happened.
    pub what: String,
}

/// Where a host is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    /// Up.
    Running,
    /// SHUTDOWNCMD is running since this time (ms).
    ShuttingDown(u64),
    /// SHUTDOWNCMD finished at this time (ms); the host is down.
    Halted(u64),
    /// Lost power at this time (ms) before halting.
    PowerLost(u64),
}

/// Everything the simulated hosts did that the harness and the verdict look at.
#[derive(Debug, Default)]
pub struct World {
    /// The timeline, in the order things happened.
    pub timeline: Vec<Entry>,
    /// Files written per (host, path).
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// Host states.
    pub hosts: BTreeMap<String, HostState>,
    /// How long each host's SHUTDOWNCMD takes.
    pub shutdown_ms: BTreeMap<String, u64>,
}

/// Shared handle on the [`World`].
pub type SharedWorld = Arc<Mutex<World>>;

fn now_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64
}

impl World {
    /// Appends a timeline entry.
    pub fn record(&mut self, t_ms: u64, host: &str, what: String) {
        self.timeline.push(Entry {
            t_ms,
            host: host.to_string(),
            what,
        });
    }
}

/// Recorded system effects of one simulated host.
#[derive(Debug, Clone)]
pub struct SimSys {
    host: Arc<str>,
    world: SharedWorld,
}

impl SimSys {
    /// Effects of `host`, recorded into `world`.
    pub fn new(host: &str, world: SharedWorld) -> Self {
        SimSys {
            host: host.into(),
            world,
        }
    }

    fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut world)
    }
}

impl Sys for SimSys {
    fn event(&self, what: String) {
        self.with_world(|w| w.record(now_ms(), &self.host, what));
    }

    fn log(&self, _what: String) {}

    async fn exec(
        &self,
        purpose: ExecPurpose,
        _command: &str,
        _args: &[String],
        _env: &[(String, String)],
    ) -> io::Result<i32> {
        if purpose != ExecPurpose::Shutdown {
            return Ok(0);
        }
        let duration_ms = self.with_world(|w| {
            w.hosts
                .insert(self.host.to_string(), HostState::ShuttingDown(now_ms()));
            w.shutdown_ms.get(&*self.host).copied().unwrap_or(0)
        });
        tokio::time::sleep(Duration::from_millis(duration_ms)).await;
        self.with_world(|w| {
            let t = now_ms();
            w.hosts.insert(self.host.to_string(), HostState::Halted(t));
            w.record(t, &self.host, "halted".to_string());
        });
        Ok(0)
    }

    async fn write_file(&self, path: &str, data: &[u8]) -> io::Result<()> {
        self.with_world(|w| {
            w.files
                .insert((self.host.to_string(), path.to_string()), data.to_vec())
        });
        Ok(())
    }

    async fn read_file(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.with_world(|w| {
            w.files
                .get(&(self.host.to_string(), path.to_string()))
                .cloned()
        }))
    }

    async fn remove_file(&self, path: &str) -> io::Result<()> {
        self.with_world(|w| w.files.remove(&(self.host.to_string(), path.to_string())));
        Ok(())
    }
}

/// What the simulated device currently reports.
#[derive(Debug, Default)]
pub struct DeviceState {
    /// The data file text dummy-ups reads.
    pub text: Vec<u8>,
    /// Bumped on every change.
    pub version: u64,
    /// The device does not answer.
    pub dead: bool,
}

/// The dummy-ups data source in the simulation, set by the harness.
#[derive(Debug)]
pub struct SimDevice {
    state: Arc<Mutex<DeviceState>>,
    seen: Option<u64>,
}

impl SimDevice {
    /// A reader of `state`.
    pub fn new(state: Arc<Mutex<DeviceState>>) -> Self {
        SimDevice { state, seen: None }
    }
}

impl DataSource for SimDevice {
    async fn read(&mut self) -> Reading {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.dead {
            return Reading::Dead;
        }
        if self.seen == Some(state.version) {
            return Reading::Unchanged;
        }
        self.seen = Some(state.version);
        Reading::Changed(state.text.clone())
    }
}
