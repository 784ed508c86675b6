//! The simulated implementations of nut-bins' seams: turmoil networking ([`SimNet`]),
//! recorded system effects and a per-host filesystem ([`SimSys`]), and dummy-ups's data
//! file read from that filesystem ([`SimFileSource`]).
//!
//! All shared state sits behind `std::sync::Mutex` (turmoil runs every host on one thread,
//! so there is no contention, and the `Send` bounds of the seams hold).

use nut_bins::seam::{DataSource, ExecPurpose, Net, Reading, Sys};
use nut_core::event::Event;
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// What the simulated world itself did (power, hosts, the scenario's faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldEvent {
    /// The device reports a new `ups.status`.
    UpsStatus {
        /// The status text.
        status: String,
    },
    /// The device stops answering.
    UpsStopsAnswering {
        /// The status it reported last.
        last_status: String,
    },
    /// A scenario fault was applied (rendered text of the fault).
    Fault {
        /// What the fault does.
        what: String,
    },
    /// The battery is exhausted while on battery: the load loses power.
    BatteryExhausted,
    /// A halted host's late shutdown told the UPS to cut the load after
    /// `ups.delay.shutdown`.
    LateShutdown {
        /// The delay in milliseconds.
        delay_ms: u64,
    },
    /// The UPS output is off.
    OutputOff,
    /// A host lost power while running.
    PowerLostRunning,
    /// A host lost power while its SHUTDOWNCMD ran.
    PowerLostShuttingDown {
        /// How long the shutdown had run.
        done_ms: u64,
        /// How long it takes in all.
        total_ms: u64,
    },
    /// A host's SHUTDOWNCMD finished: the host is down.
    Halted,
    /// A halted host's power went off.
    PowerOffHalted,
    /// A host's power came back: it boots.
    Booting,
    /// A host finished booting; its daemons start.
    Booted,
    /// A halted host reboots by itself (POWEROFF_WAIT expired: the UPS did not cut).
    RebootAfterWait,
    /// Mains power on a UPS.
    Mains {
        /// Present or not.
        on: bool,
    },
    /// The UPS's output came back on.
    OutputOn,
    /// A contact-closure UPS ignores the kill-power request: mains is present.
    KillIgnoredOnMains,
    /// NOTIFYCMD (or another command) ran.
    Exec {
        /// Why it ran.
        purpose: &'static str,
        /// The command line.
        command: String,
        /// `NOTIFYTYPE`, when set.
        notifytype: Option<String>,
    },
    /// A simulated process exited on its own with an error.
    ProcessFailed {
        /// The error.
        error: String,
    },
}

impl std::fmt::Display for WorldEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorldEvent::UpsStatus { status } => write!(f, "status {status}"),
            WorldEvent::UpsStopsAnswering { last_status } => {
                write!(f, "stops answering (last status {last_status})")
            }
            WorldEvent::Fault { what } => write!(f, "{what}"),
            WorldEvent::BatteryExhausted => write!(f, "battery exhausted: load off"),
            WorldEvent::LateShutdown { delay_ms } => write!(
                f,
                "late shutdown (upsdrvctl shutdown): load off in {} s",
                *delay_ms as f64 / 1000.0
            ),
            WorldEvent::OutputOff => write!(f, "output off"),
            WorldEvent::PowerLostRunning => write!(f, "POWER LOST while running"),
            WorldEvent::PowerLostShuttingDown { done_ms, total_ms } => write!(
                f,
                "POWER LOST while shutting down ({:.1} s of {:.1} s done)",
                *done_ms as f64 / 1000.0,
                *total_ms as f64 / 1000.0
            ),
            WorldEvent::Halted => write!(f, "halted"),
            WorldEvent::PowerOffHalted => write!(f, "power off (halted)"),
            WorldEvent::Booting => write!(f, "power on: booting"),
            WorldEvent::Booted => write!(f, "booted: daemons start"),
            WorldEvent::RebootAfterWait => {
                write!(f, "POWEROFF_WAIT expired with power still on: reboot")
            }
            WorldEvent::Mains { on } => write!(f, "mains {}", if *on { "on" } else { "off" }),
            WorldEvent::OutputOn => write!(f, "output on"),
            WorldEvent::KillIgnoredOnMains => {
                write!(
                    f,
                    "kill-power ignored: mains is present (contact-closure unit)"
                )
            }
            WorldEvent::Exec {
                purpose,
                command,
                notifytype,
            } => match notifytype {
                Some(t) => write!(f, "{purpose} {command} (NOTIFYTYPE={t})"),
                None => write!(f, "{purpose} {command}"),
            },
            WorldEvent::ProcessFailed { error } => write!(f, "process failed: {error}"),
        }
    }
}

impl WorldEvent {
    /// A short stable name of the variant, for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            WorldEvent::UpsStatus { .. } => "ups_status",
            WorldEvent::UpsStopsAnswering { .. } => "ups_stops_answering",
            WorldEvent::Fault { .. } => "fault",
            WorldEvent::BatteryExhausted => "battery_exhausted",
            WorldEvent::LateShutdown { .. } => "late_shutdown",
            WorldEvent::OutputOff => "output_off",
            WorldEvent::PowerLostRunning => "power_lost_running",
            WorldEvent::PowerLostShuttingDown { .. } => "power_lost_shutting_down",
            WorldEvent::Halted => "halted",
            WorldEvent::PowerOffHalted => "power_off_halted",
            WorldEvent::Booting => "booting",
            WorldEvent::Booted => "booted",
            WorldEvent::RebootAfterWait => "reboot_after_wait",
            WorldEvent::Mains { .. } => "mains",
            WorldEvent::OutputOn => "output_on",
            WorldEvent::KillIgnoredOnMains => "kill_ignored_on_mains",
            WorldEvent::Exec { .. } => "exec",
            WorldEvent::ProcessFailed { .. } => "process_failed",
        }
    }
}

/// What a timeline entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A daemon's event, as it crossed the `Sys` seam.
    Daemon(Event),
    /// The world's own event.
    World(WorldEvent),
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Simulated time in milliseconds.
    pub t_ms: u64,
    /// Host (`ups` and `scenario` for the world's own events).
    pub host: String,
    /// The process (`upsd`, `upsmon`, `dummy-ups`) or `world`.
    pub program: &'static str,
    /// What happened.
    pub what: What,
}

impl Entry {
    /// The daemon event, if this entry is one.
    pub fn event(&self) -> Option<&Event> {
        match &self.what {
            What::Daemon(event) => Some(event),
            What::World(_) => None,
        }
    }

    /// The world event, if this entry is one.
    pub fn world(&self) -> Option<&WorldEvent> {
        match &self.what {
            What::World(event) => Some(event),
            What::Daemon(_) => None,
        }
    }
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
    /// Halted, then its power went off at this time (ms): safe.
    Off(u64),
    /// Power came back at this time (ms); the host is booting.
    Booting(u64),
}

/// Everything the simulated hosts did that the harness and the verdict look at.
#[derive(Debug, Default, Clone)]
pub struct World {
    /// The timeline, in the order things happened.
    pub timeline: Vec<Entry>,
    /// Each host's files (config files, POWERDOWNFLAG, the device's data file) per
    /// (host, path).
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// Host states; changed only through [`World::set_host`], which counts the
    /// changes so that the site can cache what it reads from them.
    hosts: BTreeMap<String, HostState>,
    /// How many times [`World::set_host`] ran.
    host_changes: u64,
    /// How long each host's SHUTDOWNCMD takes.
    pub shutdown_ms: BTreeMap<String, u64>,
    /// What each host's upssched CMDSCRIPT does for an argument, per (host, argument):
    /// `upsmon -c fsd` asks that host's upsmon to shut down; anything else is only
    /// recorded.
    pub cmdscript_actions: BTreeMap<(String, String), String>,
    /// Hosts whose CMDSCRIPT asked for `upsmon -c fsd`; the harness delivers it.
    pub fsd_requests: Vec<String>,
    /// Commands serial UPSes received (Megatec `S..R..`, `C`, ...), for the harness's
    /// UPS model to carry out.
    pub device_inbox: Vec<DeviceWrite>,
}

/// Bytes a driver wrote to a modelled serial UPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceWrite {
    /// Simulated time.
    pub t_ms: u64,
    /// The UPS.
    pub ups: String,
    /// The command, `\r` included.
    pub bytes: Vec<u8>,
}

/// Shared handle on the [`World`].
pub type SharedWorld = Arc<Mutex<World>>;

/// Simulated milliseconds since the start (0 outside the simulation).
pub fn now_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64
}

/// The time a seam stamps its effects with: a fixed instant (work done between steps,
/// as the late shutdown's `-k`), the fast engine's clock, else turmoil's.
fn stamp(fixed_ms: Option<u64>, clock: Option<&Arc<AtomicU64>>) -> u64 {
    match (fixed_ms, clock) {
        (Some(t), _) => t,
        (None, Some(clock)) => clock.load(Ordering::Relaxed),
        (None, None) => now_ms(),
    }
}

impl World {
    /// SHUTDOWNCMD starts on `host` at `t`: the host is shutting down (a second
    /// SHUTDOWNCMD keeps the first start); returns how long the shutdown takes. The
    /// site model halts the host when it is done, whatever happens to upsmon meanwhile:
    /// the system's shutdown is not upsmon's child.
    pub fn begin_shutdown(&mut self, host: &str, t: u64) -> u64 {
        if !matches!(self.hosts.get(host), Some(HostState::ShuttingDown(_))) {
            self.set_host(host, HostState::ShuttingDown(t));
        }
        self.shutdown_ms.get(host).copied().unwrap_or(0)
    }

    /// Every host's state, by name.
    pub fn hosts(&self) -> &BTreeMap<String, HostState> {
        &self.hosts
    }

    /// Sets `host`'s state.
    pub fn set_host(&mut self, host: &str, state: HostState) {
        self.host_changes += 1;
        match self.hosts.get_mut(host) {
            Some(s) => *s = state,
            None => {
                self.hosts.insert(host.to_string(), state);
            }
        }
    }

    /// A count that moves whenever a host's state is set.
    pub fn host_changes(&self) -> u64 {
        self.host_changes
    }

    /// Each host that is shutting down, with when its shutdown is done.
    pub fn shutdowns_end(&self) -> impl Iterator<Item = (&str, u64)> {
        self.hosts.iter().filter_map(|(host, state)| match state {
            HostState::ShuttingDown(since) => {
                let ms = self.shutdown_ms.get(host).copied().unwrap_or(0);
                Some((host.as_str(), since.saturating_add(ms)))
            }
            _ => None,
        })
    }

    /// Appends a world event to the timeline.
    pub fn record(&mut self, t_ms: u64, host: &str, what: WorldEvent) {
        self.timeline.push(Entry {
            t_ms,
            host: host.to_string(),
            program: "world",
            what: What::World(what),
        });
    }
}

/// Recorded system effects of one process on one simulated host.
#[derive(Debug, Clone)]
pub struct SimSys {
    host: Arc<str>,
    program: &'static str,
    world: SharedWorld,
    /// The time of every event, for code the harness runs itself between steps (the
    /// late-shutdown hook of a halted host); `None` inside the simulation.
    fixed_ms: Option<u64>,
    /// The clock of a driver that is not turmoil (the fast driver), if any.
    clock: Option<Arc<AtomicU64>>,
}

impl SimSys {
    /// Effects of `program` on `host`, recorded into `world`.
    pub fn new(host: &str, program: &'static str, world: SharedWorld) -> Self {
        SimSys {
            host: host.into(),
            program,
            world,
            fixed_ms: None,
            clock: None,
        }
    }

    /// Effects of `program` on `host` timed by `clock` (simulated ms) instead of
    /// turmoil's.
    pub fn clocked(
        host: &str,
        program: &'static str,
        world: SharedWorld,
        clock: Arc<AtomicU64>,
    ) -> Self {
        SimSys {
            clock: Some(clock),
            ..SimSys::new(host, program, world)
        }
    }

    /// Effects of `program` on `host` run by the harness at simulated time `t_ms`.
    pub fn at(host: &str, program: &'static str, world: SharedWorld, t_ms: u64) -> Self {
        SimSys {
            fixed_ms: Some(t_ms),
            ..SimSys::new(host, program, world)
        }
    }

    /// The simulated time of this process's effects, in ms.
    pub fn now(&self) -> u64 {
        stamp(self.fixed_ms, self.clock.as_ref())
    }

    /// The host's name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The shared world.
    pub fn world(&self) -> &SharedWorld {
        &self.world
    }

    fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut world)
    }
}

impl Sys for SimSys {
    fn event(&self, event: Event) {
        self.with_world(|w| {
            w.timeline.push(Entry {
                t_ms: self.now(),
                host: self.host.to_string(),
                program: self.program,
                what: What::Daemon(event),
            })
        });
    }

    fn log(&self, _what: String) {}

    fn read_config(&self, path: &str) -> io::Result<Vec<u8>> {
        self.with_world(|w| {
            w.files
                .get(&(self.host.to_string(), path.to_string()))
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
        })
    }

    fn list_dir(&self, path: &str) -> io::Result<Option<Vec<String>>> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let names: Vec<String> = self.with_world(|w| {
            w.files
                .keys()
                .filter(|(h, p)| **h == *self.host && p.starts_with(&prefix))
                .filter_map(|(_, p)| {
                    let rest = &p[prefix.len()..];
                    (!rest.contains('/')).then(|| rest.to_string())
                })
                .collect()
        });
        Ok((!names.is_empty()).then_some(names))
    }

    // A named, boxed future: upssched's client runs inside `exec` and runs CMDSCRIPT
    // through `exec` again, which an opaque `impl Future` type cannot contain.
    #[allow(refining_impl_trait)]
    fn exec(
        &self,
        purpose: ExecPurpose,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<i32>> + Send + 'static>>
    {
        let (sys, command, args, env) = (
            self.clone(),
            command.to_string(),
            args.to_vec(),
            env.to_vec(),
        );
        Box::pin(async move { sys.exec_owned(purpose, &command, &args, &env).await })
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

    async fn create_new(&self, path: &str) -> io::Result<bool> {
        Ok(self.with_world(|w| {
            let key = (self.host.to_string(), path.to_string());
            match w.files.entry(key) {
                std::collections::btree_map::Entry::Occupied(_) => false,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(Vec::new());
                    true
                }
            }
        }))
    }

    async fn remove_file(&self, path: &str) -> io::Result<()> {
        self.with_world(|w| w.files.remove(&(self.host.to_string(), path.to_string())));
        Ok(())
    }
}

impl SimSys {
    async fn exec_owned(
        &self,
        purpose: ExecPurpose,
        command: &str,
        _args: &[String],
        env: &[(String, String)],
    ) -> io::Result<i32> {
        if purpose == ExecPurpose::Notify && is_upssched(command) {
            // upsmon's NOTIFYCMD is upssched: the same upssched code runs on this host,
            // its timer daemon as a task of the host.
            let sys = SimSys::new(&self.host, "upssched", self.world.clone());
            let notice = nut_core::upssched::Notice {
                notifytype: env_value(env, "NOTIFYTYPE"),
                upsname: env_value(env, "UPSNAME"),
                message: _args.first().cloned().unwrap_or_default(),
            };
            let run: std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<i32>> + Send>> =
                Box::pin(run_upssched(sys, notice));
            return run.await;
        }
        if purpose == ExecPurpose::CmdScript {
            let cmd = _args.last().cloned().unwrap_or_default();
            self.with_world(|w| {
                let action = w
                    .cmdscript_actions
                    .get(&(self.host.to_string(), cmd.clone()))
                    .cloned();
                if action.as_deref() == Some("upsmon -c fsd") {
                    w.fsd_requests.push(self.host.to_string());
                }
            });
        }
        if matches!(purpose, ExecPurpose::CmdScript | ExecPurpose::Wall) {
            // upssched reports CMDSCRIPT runs itself (Event::CmdScriptRan); WALL goes to
            // terminals and changes nothing in the world.
            return Ok(0);
        }
        if purpose != ExecPurpose::Shutdown {
            let notifytype = env
                .iter()
                .find(|(k, _)| k == "NOTIFYTYPE")
                .map(|(_, v)| v.clone());
            let what = WorldEvent::Exec {
                purpose: match purpose {
                    ExecPurpose::Notify => "NOTIFYCMD",
                    ExecPurpose::CmdScript => "CMDSCRIPT",
                    ExecPurpose::Shutdown => "SHUTDOWNCMD",
                    ExecPurpose::Wall => "WALL",
                },
                command: command.to_string(),
                notifytype,
            };
            let t = self.now();
            self.with_world(|w| w.record(t, &self.host, what));
            return Ok(0);
        }
        // The host stops by itself (the site halts it when the time is up, even if
        // upsmon dies meanwhile); SHUTDOWNCMD returns then.
        let t = self.now();
        let duration_ms = self.with_world(|w| w.begin_shutdown(&self.host, t));
        tokio::time::sleep(Duration::from_millis(duration_ms)).await;
        Ok(0)
    }
}

pub(crate) fn is_upssched(command: &str) -> bool {
    command
        .split_whitespace()
        .next()
        .is_some_and(|program| program.rsplit('/').next() == Some("upssched"))
}

pub(crate) fn env_value(env: &[(String, String)], name: &str) -> String {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// upssched for one notification on a simulated host, through nut-bins' upssched code:
/// the config from the host's `/etc/nut/upssched.conf`, the daemon as a task.
async fn run_upssched(sys: SimSys, notice: nut_core::upssched::Notice) -> io::Result<i32> {
    let env = crate::harness::nut_env();
    let conf = match nut_bins::upssched::wire(&sys, &env) {
        Ok(conf) => conf,
        Err(error) => {
            sys.event(Event::CmdScriptFailed {
                cmd: "upssched".to_string(),
                error,
            });
            return Ok(1);
        }
    };
    let daemon_sys = sys.clone();
    let daemon_conf = conf.clone();
    let start = move || {
        let (sys, conf) = (daemon_sys.clone(), daemon_conf.clone());
        async move {
            let daemon: std::pin::Pin<
                Box<dyn std::future::Future<Output = io::Result<()>> + Send>,
            > = Box::pin(nut_bins::upssched::daemon(SimNet, sys, conf));
            tokio::spawn(daemon);
            Ok(())
        }
    };
    match nut_bins::upssched::client(&SimNet, &sys, &conf, &notice, start).await {
        Ok(()) => Ok(0),
        Err(error) => {
            sys.event(Event::CmdScriptFailed {
                cmd: "upssched".to_string(),
                error,
            });
            Ok(1)
        }
    }
}

/// dummy-ups's data file on a simulated host, read from the world's files (the
/// harness writes it as the device's status changes; a missing file is a device that
/// does not answer, as for the real driver).
#[derive(Debug)]
pub struct SimFileSource {
    sys: SimSys,
    path: String,
    last: Option<Vec<u8>>,
}

impl SimFileSource {
    /// Reads `path` on the host of `sys`.
    pub fn new(sys: SimSys, path: &str) -> Self {
        SimFileSource {
            sys,
            path: path.to_string(),
            last: None,
        }
    }
}

impl SimFileSource {
    /// The file as last read.
    pub fn last(&self) -> Option<&[u8]> {
        self.last.as_deref()
    }
}

impl DataSource for SimFileSource {
    async fn read(&mut self) -> Reading {
        let Ok(text) = self.sys.read_config(&self.path) else {
            self.last = None;
            return Reading::Dead;
        };
        if self.last.as_ref() == Some(&text) {
            return Reading::Unchanged;
        }
        self.last = Some(text.clone());
        Reading::Changed(text)
    }
}

/// A modelled Megatec/Q1 UPS on a serial line, for nutdrv_qx. The harness keeps the
/// unit's current answers in the host's file `path` (hw-fixtures transcript format);
/// commands (`S..R..`, `C`, `T`...) go to the world's device inbox and are met with
/// silence, as a real unit acknowledges them; anything else is echoed back. A missing
/// file is a unit that does not answer (the read times out after `SER_WAIT_SEC`).
pub struct SimQxPort {
    world: SharedWorld,
    host: String,
    ups: String,
    path: String,
    /// Fixed time for a port used outside the simulation's hosts (the late shutdown
    /// runs `-k` between steps); `None`: simulated time, and silence takes as long as
    /// a real serial read.
    at_ms: Option<u64>,
    /// The fast engine's clock (it runs without turmoil).
    clock: Option<Arc<AtomicU64>>,
}

impl SimQxPort {
    /// The port of UPS `ups`, whose answers are in `path` on `host`.
    pub fn new(world: SharedWorld, host: &str, ups: &str, path: &str, at_ms: Option<u64>) -> Self {
        SimQxPort {
            world,
            host: host.to_string(),
            ups: ups.to_string(),
            path: path.to_string(),
            at_ms,
            clock: None,
        }
    }

    /// The same unit for the fast engine, stamped with its clock.
    pub fn clocked(
        world: SharedWorld,
        host: &str,
        ups: &str,
        path: &str,
        clock: Arc<AtomicU64>,
    ) -> Self {
        SimQxPort {
            clock: Some(clock),
            ..SimQxPort::new(world, host, ups, path, None)
        }
    }

    /// The unit's answer to `query` at once (`Timeout`: it stays silent; the caller
    /// lets `SER_WAIT_SEC` pass).
    pub fn answer(&self, query: &[u8]) -> nut_core::qx::Reply {
        use nut_core::qx::Reply;
        use nut_core::transcript::{Answer, Transcript};
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = w.files.get(&(self.host.clone(), self.path.clone())) else {
            return Reply::Timeout;
        };
        if is_megatec_command(query) {
            let t_ms = stamp(self.at_ms, self.clock.as_ref());
            w.device_inbox.push(DeviceWrite {
                t_ms,
                ups: self.ups.clone(),
                bytes: query.to_vec(),
            });
            return Reply::Timeout;
        }
        let transcript = Transcript::parse(&String::from_utf8_lossy(text)).unwrap_or_default();
        match transcript.answer(query) {
            Answer::Bytes(bytes) => Reply::Bytes(bytes),
            Answer::Silent => Reply::Timeout,
        }
    }
}

/// Commands a Megatec unit takes (and answers with silence).
pub fn is_megatec_command(query: &[u8]) -> bool {
    matches!(query, b"Q\r" | b"T\r" | b"TL\r" | b"CT\r" | b"C\r")
        || (query.len() > 2 && (query[0] == b'S' || query[0] == b'T') && query.ends_with(b"\r"))
}

impl nut_bins::qx::QxPort for SimQxPort {
    async fn transact(&mut self, query: Vec<u8>) -> nut_core::qx::Reply {
        let reply = self.answer(&query);
        if reply == nut_core::qx::Reply::Timeout && self.at_ms.is_none() {
            tokio::time::sleep(Duration::from_secs(nut_core::qx::SER_WAIT_SEC)).await;
        }
        reply
    }
}

/// A modelled APC Smart-UPS (crate::smartunit) on a serial line, for apcsmart: the site
/// keeps the unit's replies in the host's file `path` (transcript format); the port
/// plays them through nut-core's `SmartUps` over a `Link` on simulated time, and the
/// shutdown commands the unit carries out go to the world's device inbox (as `S`,
/// `@000`, `K`, `Z`). A missing file is a unit that does not answer.
pub struct SimApcPort {
    world: SharedWorld,
    host: String,
    ups: String,
    path: String,
    /// Fixed time for a port used outside the simulation's hosts (the late shutdown
    /// runs `-k` between steps); `None`: simulated time.
    at_ms: Option<u64>,
    /// The fast engine's clock (it runs without turmoil).
    clock: Option<Arc<AtomicU64>>,
    link: Option<nut_core::apcsmart::Link>,
    text: Vec<u8>,
}

impl SimApcPort {
    /// The unit of UPS `ups`, whose replies are in `path` on `host`.
    pub fn new(world: SharedWorld, host: &str, ups: &str, path: &str, at_ms: Option<u64>) -> Self {
        SimApcPort {
            world,
            host: host.to_string(),
            ups: ups.to_string(),
            path: path.to_string(),
            at_ms,
            clock: None,
            link: None,
            text: Vec::new(),
        }
    }

    /// The same unit for the fast engine, stamped with its clock.
    pub fn clocked(
        world: SharedWorld,
        host: &str,
        ups: &str,
        path: &str,
        clock: Arc<AtomicU64>,
    ) -> Self {
        SimApcPort {
            clock: Some(clock),
            ..SimApcPort::new(world, host, ups, path, None)
        }
    }

    /// Carries out one step at once: its result, and the milliseconds it takes on the
    /// line (waits for silence, pauses, pacing), which the caller lets pass.
    pub fn perform(&mut self, io: &nut_core::apcsmart::Io) -> (nut_core::apcsmart::IoResult, u64) {
        use nut_core::apcsmart::{Link, SmartUps};
        use nut_core::transcript::Transcript;
        let t_ms = stamp(self.at_ms, self.clock.as_ref());
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let text = w
            .files
            .get(&(self.host.clone(), self.path.clone()))
            .cloned();
        let link = self
            .link
            .get_or_insert_with(|| Link::new(SmartUps::new(&Transcript::default())));
        match text {
            Some(text) => {
                if text != self.text {
                    let t = Transcript::parse(&String::from_utf8_lossy(&text)).unwrap_or_default();
                    link.ups.refresh(&t);
                    self.text = text;
                }
                link.silent = false;
            }
            None => link.silent = true,
        }
        // A port on fixed time (the late shutdown's -k) keeps its own clock going, so
        // a confirmed command's second byte comes 1.5 s after the first, as on a line.
        let before = link.now.max(t_ms);
        link.now = before;
        let result = link.step(io);
        let took = link.now.saturating_sub(before);
        for done in std::mem::take(&mut link.ups.done) {
            w.device_inbox.push(DeviceWrite {
                t_ms,
                ups: self.ups.clone(),
                bytes: done.into_bytes(),
            });
        }
        (result, took)
    }
}

impl nut_bins::apcsmart::ApcPort for SimApcPort {
    async fn step(&mut self, io: nut_core::apcsmart::Io) -> nut_core::apcsmart::IoResult {
        let (result, took) = self.perform(&io);
        if took > 0 && self.at_ms.is_none() {
            tokio::time::sleep(Duration::from_millis(took)).await;
        }
        result
    }
}

/// A modelled USB HID UPS (crate::hidunit) for usbhid-ups: the harness keeps the unit's
/// feature reports in the host's file `path` (`get` lines); reports the driver writes go
/// to the world's device inbox. A missing file is a unit gone from the bus (every
/// transfer fails as "no device", and so does reconnecting).
pub struct SimHidPort {
    world: SharedWorld,
    host: String,
    ups: String,
    path: String,
    /// Fixed time for a port used outside the simulation's hosts (the late shutdown
    /// runs `-k` between steps); `None`: simulated time.
    at_ms: Option<u64>,
    /// The fast engine's clock (it runs without turmoil).
    clock: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl SimHidPort {
    /// The unit of UPS `ups`, whose reports are in `path` on `host`.
    pub fn new(world: SharedWorld, host: &str, ups: &str, path: &str, at_ms: Option<u64>) -> Self {
        SimHidPort {
            world,
            host: host.to_string(),
            ups: ups.to_string(),
            path: path.to_string(),
            at_ms,
            clock: None,
        }
    }

    /// The same unit for the fast engine, stamped with its clock.
    pub fn clocked(
        world: SharedWorld,
        host: &str,
        ups: &str,
        path: &str,
        clock: Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        SimHidPort {
            clock: Some(clock),
            ..SimHidPort::new(world, host, ups, path, None)
        }
    }

    fn now(&self) -> u64 {
        stamp(self.at_ms, self.clock.as_ref())
    }

    fn reports(&self) -> Option<std::collections::BTreeMap<u8, Vec<u8>>> {
        let w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        w.files
            .get(&(self.host.clone(), self.path.clone()))
            .map(|text| crate::hidunit::parse_reports(text))
    }
}

impl nut_bins::usbhid::HidPort for SimHidPort {
    fn device(&self) -> &nut_core::hidups::UsbDevice {
        &crate::hidunit::template().device
    }

    fn descriptor(&self) -> &[u8] {
        &crate::hidunit::template().rec.descriptor
    }

    async fn get_feature(&mut self, id: u8) -> Result<Vec<u8>, nut_core::hidups::ReadError> {
        use nut_core::hidups::ReadError;
        let reports = self.reports().ok_or(ReadError::Gone)?;
        reports.get(&id).cloned().ok_or(ReadError::Failed)
    }

    async fn get_string(&mut self, index: u8) -> Result<String, nut_core::hidups::ReadError> {
        use nut_core::hidups::ReadError;
        self.reports().ok_or(ReadError::Gone)?;
        crate::hidunit::template()
            .rec
            .string(index)
            .map(str::to_string)
            .ok_or(ReadError::Failed)
    }

    async fn set_feature(&mut self, report: Vec<u8>) -> Result<(), nut_core::hidups::ReadError> {
        if self.reports().is_none() {
            return Err(nut_core::hidups::ReadError::Gone);
        }
        let t_ms = self.now();
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        w.device_inbox.push(DeviceWrite {
            t_ms,
            ups: self.ups.clone(),
            bytes: report,
        });
        Ok(())
    }

    async fn interrupt(&mut self) -> Result<Option<Vec<u8>>, nut_core::hidups::ReadError> {
        // The model's changes reach the driver through its polls.
        if self.reports().is_none() {
            return Err(nut_core::hidups::ReadError::Gone);
        }
        Ok(None)
    }

    async fn reconnect(&mut self) -> Result<(), String> {
        match self.reports() {
            Some(_) => Ok(()),
            None => Err("No matching HID UPS found".to_string()),
        }
    }

    async fn pause(&mut self, ms: u64) {
        // Simulated time passes only on the simulation's own hosts; `-k` between
        // steps and the fast engine send a composite command's steps at once.
        if self.at_ms.is_none() && self.clock.is_none() {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

/// The modelled SNMP card of a UPS (sim/src/snmpcard.rs) as the real snmp-ups's
/// transport: each request is answered from the card's objects, which the site keeps in
/// a world file; no file (the card is dead) means no answer, and a SET the card takes
/// goes to the site as a device write.
pub struct SimSnmpPort {
    world: SharedWorld,
    host: String,
    ups: String,
    path: String,
    at_ms: Option<u64>,
    clock: Option<Arc<std::sync::atomic::AtomicU64>>,
    pending: std::collections::VecDeque<Vec<u8>>,
}

impl SimSnmpPort {
    /// The card of UPS `ups`, whose objects are in `path` on `host`.
    pub fn new(world: SharedWorld, host: &str, ups: &str, path: &str, at_ms: Option<u64>) -> Self {
        SimSnmpPort {
            world,
            host: host.to_string(),
            ups: ups.to_string(),
            path: path.to_string(),
            at_ms,
            clock: None,
            pending: Default::default(),
        }
    }

    /// The same card for the fast engine, stamped with its clock.
    pub fn clocked(
        world: SharedWorld,
        host: &str,
        ups: &str,
        path: &str,
        clock: Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        SimSnmpPort {
            clock: Some(clock),
            ..SimSnmpPort::new(world, host, ups, path, None)
        }
    }
}

impl nut_bins::snmp::SnmpPort for SimSnmpPort {
    async fn send(&mut self, request: Vec<u8>) -> std::io::Result<()> {
        let t_ms = stamp(self.at_ms, self.clock.as_ref());
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = w.files.get(&(self.host.clone(), self.path.clone())) else {
            return Ok(());
        };
        let Ok(mut agent) = nut_core::snmp::Agent::from_snmprec(&String::from_utf8_lossy(text))
        else {
            return Ok(());
        };
        let Ok(msg) = nut_core::snmp::Message::decode(&request) else {
            return Ok(());
        };
        if let Some(reply) = agent.answer(&msg) {
            if msg.pdu_type == nut_core::snmp::PduType::Set && reply.error_status == 0 {
                w.device_inbox.push(DeviceWrite {
                    t_ms,
                    ups: self.ups.clone(),
                    bytes: request,
                });
            }
            self.pending.push_back(reply.encode());
        }
        Ok(())
    }

    async fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        if let Some(reply) = self.pending.pop_front() {
            return Some(reply);
        }
        // A silent card costs the timeout on the simulation's own hosts; `-k` between
        // steps and the fast engine (which charges it on its own clock) do not wait.
        if self.at_ms.is_none() && self.clock.is_none() {
            tokio::time::sleep(timeout).await;
        }
        None
    }
}
