//! The YAML scenario schema: hosts with roles, power draw, supplies and NUT-spelled
//! config overrides; one or several UPSes, each with a mains timeline and a battery
//! model (or an explicit status timeline), `ups.delay.shutdown`/`ups.delay.start` and
//! how it returns power; and timed faults.
//!
//! A scenario is data only; [`crate::harness`] runs it. Unknown fields are rejected so a
//! typo in a scenario is an error, not a silently ignored setting.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name; also the snapshot name.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seed for turmoil's latencies and ordering.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated seconds to run at most.
    pub duration_s: f64,
    /// Simulation tick in milliseconds (NUT's timers are whole seconds; 10 ms is plenty).
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// Wall-clock bound in seconds: a run that takes longer stops with an error
    /// (`nut-sim run --wall-limit` overrides it).
    #[serde(default)]
    pub wall_limit_s: Option<u64>,
    /// Largest simulated network latency in milliseconds.
    #[serde(default = "default_latency_ms")]
    pub max_latency_ms: u64,
    /// The UPS (a scenario with one UPS may say `ups:`; several go in `upses:`).
    #[serde(default)]
    pub ups: Option<UpsSpec>,
    /// The UPSes.
    #[serde(default)]
    pub upses: Vec<UpsSpec>,
    /// Protected hosts; exactly one has role `primary` and runs the driver and upsd.
    pub hosts: Vec<HostSpec>,
    /// STARTTLS everywhere: upsd gets a certificate from a test CA (CERTFILE), every
    /// upsmon requires TLS and verifies upsd against that CA (FORCESSL, CERTVERIFY,
    /// CERTPATH).
    #[serde(default)]
    pub tls: bool,
    /// `seeded`: each host's upsmon starts at a phase drawn from the seed (within its
    /// POLLFREQ), as real hosts poll at unrelated instants; `aligned` (default): all at
    /// 0, unless a host gives `start_s`.
    #[serde(default)]
    pub poll_phases: PollPhases,
    /// Timed faults.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// What the scenario is expected to show.
    #[serde(default)]
    pub expect: Expect,
}

/// The longest simulated run a scenario may ask for (30 days).
pub const MAX_DURATION_S: f64 = 30.0 * 86_400.0;

fn default_seed() -> u64 {
    42
}
fn default_tick_ms() -> u64 {
    10
}
fn default_latency_ms() -> u64 {
    5
}

/// A UPS and its power model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpsSpec {
    /// UPS name in ups.conf.
    pub name: String,
    /// The host that runs its driver and upsd (default: the first primary).
    #[serde(default)]
    pub host: Option<String>,
    /// Extra variables published by the device (besides `ups.status`).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// What the device reports over time (`status: null` = the device stops answering).
    /// An explicit status overrides the battery model's.
    #[serde(default)]
    pub timeline: Vec<StatusStep>,
    /// Mains power over time (on at the start).
    #[serde(default)]
    pub mains: Vec<MainsStep>,
    /// Mains from a dummy-ups `.seq` text (pasted from a recorded sequence): each
    /// `ups.status` with OB turns mains off, with OL on; `TIMER n` advances n seconds.
    /// Appended to `mains`.
    #[serde(default)]
    pub mains_seq: Option<String>,
    /// The battery model; without one the status comes from `timeline` only.
    #[serde(default)]
    pub battery: Option<Battery>,
    /// `ups.delay.start`: after a `shutdown.return` the load comes back this long after
    /// mains does.
    #[serde(default = "default_delay_start")]
    pub delay_start_s: f64,
    /// True (default): the UPS cycles its load on `shutdown.return` even when mains is
    /// back. False: a contact-closure unit that cannot cut the load while on mains.
    #[serde(default = "default_true")]
    pub returns: bool,
    /// `sdorder` in ups.conf (-1: `upsdrvctl shutdown` never powers it off).
    #[serde(default)]
    pub sdorder: Option<i32>,
    /// Battery exhausted at this time (absolute): the load loses power unless mains has
    /// returned by then.
    #[serde(default)]
    pub battery_dead_at_s: Option<f64>,
    /// `ups.delay.shutdown`: after the primary halts with POWERDOWNFLAG set, the late
    /// shutdown powers the UPS off and the load loses power this many seconds later.
    #[serde(default = "default_delay_shutdown")]
    pub delay_shutdown_s: f64,
    /// Driver poll interval in seconds.
    #[serde(default = "default_pollinterval")]
    pub pollinterval_s: u64,
    /// The driver: `dummy-ups` (default: the device is a data file the model writes) or
    /// `nutdrv_qx` (the model is a Megatec unit on a serial line: the real driver reads
    /// its Q1/F/I answers and sends it its shutdown commands) or `usbhid-ups` (the model
    /// is an APC Back-UPS on USB: the real driver reads its HID reports and writes its
    /// shutdown timers).
    #[serde(default)]
    pub driver: DriverKind,
}

/// Longest `latency` fault, in milliseconds (an hour).
pub const MAX_LATENCY_FAULT_MS: u64 = 3_600_000;

/// The mains changes a dummy-ups `.seq` text describes (read with dummy-ups's own
/// parser): OB in `ups.status` turns mains off, OL on; `TIMER n` advances n seconds.
pub fn mains_from_seq(text: &str) -> Result<Vec<MainsStep>, String> {
    use nut_core::dummy::{parse_dummy_file, DummyStep};
    let mut at_s = 0.0;
    let mut on = true;
    let mut out = Vec::new();
    for step in parse_dummy_file(text.as_bytes()) {
        match step {
            DummyStep::Timer(seconds) => at_s += seconds as f64,
            DummyStep::Status(tokens) => {
                let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
                let now_on = if tokens.contains(&"OB") {
                    false
                } else if tokens.contains(&"OL") {
                    true
                } else {
                    continue;
                };
                if now_on != on {
                    on = now_on;
                    out.push(MainsStep { at_s, on });
                }
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err("no ups.status with OL or OB in the sequence".to_string());
    }
    Ok(out)
}

/// How upsmon's poll phases are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollPhases {
    /// Every upsmon starts at 0.
    #[default]
    Aligned,
    /// Drawn from the scenario's seed.
    Seeded,
}

/// Which driver reads a simulated UPS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum DriverKind {
    /// dummy-ups and a data file.
    #[default]
    #[serde(rename = "dummy-ups")]
    DummyUps,
    /// nutdrv_qx and a modelled Megatec unit.
    #[serde(rename = "nutdrv_qx")]
    NutdrvQx,
    /// usbhid-ups and a modelled USB HID unit (an APC Back-UPS).
    #[serde(rename = "usbhid-ups")]
    UsbhidUps,
    /// snmp-ups and a modelled SNMP management card (an APC Smart-UPS's).
    #[serde(rename = "snmp-ups")]
    SnmpUps,
    /// apcsmart and a modelled APC Smart-UPS on a serial line.
    #[serde(rename = "apcsmart")]
    Apcsmart,
}

impl DriverKind {
    /// The driver's program name (ups.conf `driver`, socket and process name).
    pub fn program(self) -> &'static str {
        match self {
            DriverKind::DummyUps => "dummy-ups",
            DriverKind::NutdrvQx => "nutdrv_qx",
            DriverKind::UsbhidUps => "usbhid-ups",
            DriverKind::SnmpUps => "snmp-ups",
            DriverKind::Apcsmart => "apcsmart",
        }
    }
}

fn default_delay_shutdown() -> f64 {
    20.0
}
fn default_delay_start() -> f64 {
    30.0
}
fn default_true() -> bool {
    true
}

/// One entry of a mains timeline.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MainsStep {
    /// When (simulated seconds).
    pub at_s: f64,
    /// Mains present from then on.
    pub on: bool,
}

/// A battery: charge falls with the load while on battery and rises on mains.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Battery {
    /// Runtime in seconds from full charge at the reference load.
    pub runtime_s: f64,
    /// The reference load in watts (runtime scales with it: half the load, twice the
    /// runtime).
    #[serde(default = "default_reference_w")]
    pub at_load_w: f64,
    /// Charge at the start, in percent.
    #[serde(default = "default_charge")]
    pub charge: f64,
    /// `battery.charge.low`: LB at or below this charge, in percent.
    #[serde(default = "default_low")]
    pub low: f64,
    /// Percent per hour regained on mains.
    #[serde(default = "default_recharge")]
    pub recharge_per_h: f64,
}

fn default_reference_w() -> f64 {
    100.0
}
fn default_charge() -> f64 {
    100.0
}
fn default_low() -> f64 {
    20.0
}
fn default_recharge() -> f64 {
    20.0
}
fn default_pollinterval() -> u64 {
    2
}

/// One entry of the device timeline.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusStep {
    /// When (simulated seconds).
    pub at_s: f64,
    /// `ups.status` from then on; `null` means the device stops answering.
    pub status: Option<String>,
    /// Variables changed at the same time.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

/// Role of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the driver, upsd and the primary upsmon.
    Primary,
    /// Runs a secondary upsmon.
    Secondary,
}

/// A protected host.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Host name (also its network name).
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// How long its SHUTDOWNCMD takes, in seconds.
    #[serde(default = "default_shutdown_s")]
    pub shutdown_s: f64,
    /// Its SHUTDOWNCMD hangs: the host never halts by itself.
    #[serde(default)]
    pub shutdown_hangs: bool,
    /// upsmon.conf directives, in NUT spelling, e.g. `HOSTSYNC: 15`.
    #[serde(default)]
    pub upsmon: BTreeMap<String, String>,
    /// The UPSes it monitors, with their power values (default: every UPS, power 1).
    /// It is the primary for the UPSes it hosts, a secondary for the others.
    #[serde(default)]
    pub monitors: Option<Vec<MonitorSpec>>,
    /// The UPSes whose outputs feed its power supplies (default: every UPS); it has
    /// power while any of them does.
    #[serde(default)]
    pub fed_by: Option<Vec<String>>,
    /// Power it draws while up, in watts (shared among the supplies that feed it).
    #[serde(default = "default_draw")]
    pub draw_w: f64,
    /// Seconds from power-on to a running system (its daemons start again).
    #[serde(default = "default_boot")]
    pub boot_s: f64,
    /// nut.conf POWEROFF_WAIT: after the late shutdown, reboot after this long if the
    /// UPS did not cut the power (the remedy for mains returning mid-shutdown).
    #[serde(default)]
    pub poweroff_wait_s: Option<f64>,
    /// With `tls`: this host trusts another CA than the one that signed upsd's
    /// certificate (a misconfigured CERTPATH).
    #[serde(default)]
    pub wrong_ca: bool,
    /// Extra files on the host (path to text), e.g. a POWERDOWNFLAG left over.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Lines appended to upsmon.conf verbatim (for directives that repeat, such as
    /// NOTIFYFLAG).
    #[serde(default)]
    pub upsmon_lines: Vec<String>,
    /// The host's upssched.conf (used when upsmon's NOTIFYCMD is upssched).
    #[serde(default)]
    pub upssched: Option<String>,
    /// What the upssched CMDSCRIPT does per argument: `upsmon -c fsd` makes this host's
    /// upsmon shut down; any other text is only recorded.
    #[serde(default)]
    pub cmdscript: BTreeMap<String, String>,
    /// upsmon starts this long after the simulation does (its poll phase). Without it,
    /// a scenario with `poll_phases: seeded` draws one from the seed below the host's
    /// POLLFREQ; otherwise every upsmon starts at 0 and polls in step with the others.
    #[serde(default)]
    pub start_s: Option<f64>,
}

fn default_shutdown_s() -> f64 {
    10.0
}
fn default_draw() -> f64 {
    100.0
}
fn default_boot() -> f64 {
    60.0
}

/// One MONITOR line of a host.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// UPS name.
    pub ups: String,
    /// Its power value (how many of the host's supplies it feeds).
    #[serde(default = "default_power_value")]
    pub power_value: u32,
}

fn default_power_value() -> u32 {
    1
}

/// A timed fault. (Unknown fields are caught by [`FaultAction`]; serde cannot deny them
/// on a struct with a flattened field.)
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    /// When (simulated seconds).
    pub at_s: f64,
    /// What happens.
    #[serde(flatten)]
    pub action: FaultAction,
}

/// Fault kinds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Cut the network between two hosts (both ways).
    Partition {
        /// One side.
        a: String,
        /// Other side.
        b: String,
    },
    /// Cut the network one way: messages from `from` to `to` are lost.
    PartitionOneway {
        /// Sender side.
        from: String,
        /// Receiver side.
        to: String,
    },
    /// Heal a one-way partition.
    RepairOneway {
        /// Sender side.
        from: String,
        /// Receiver side.
        to: String,
    },
    /// Every message between two hosts takes `ms` (both ways, no variance); `ms: 0`
    /// restores the scenario's latency.
    Latency {
        /// One side.
        a: String,
        /// Other side.
        b: String,
        /// Milliseconds per message (at most an hour).
        ms: u64,
    },
    /// Heal a partition.
    Repair {
        /// One side.
        a: String,
        /// Other side.
        b: String,
    },
    /// Stop one process on a host (`dummy-ups`, `upsd` or `upsmon`).
    Crash {
        /// Host.
        host: String,
        /// Process.
        process: String,
    },
    /// Start a crashed process again.
    Restart {
        /// Host.
        host: String,
        /// Process.
        process: String,
    },
    /// `<process> -c <signal>`: reload, stop or (upsmon) fsd.
    Signal {
        /// Host.
        host: String,
        /// Process.
        process: String,
        /// Which.
        signal: SignalName,
    },
    /// Cut a host's power and give it back at once (a hard reset): it boots again.
    PowerCycle {
        /// Host.
        host: String,
    },
    /// Write a file on a host (edit a config file before a reload, say).
    WriteFile {
        /// Host.
        host: String,
        /// Absolute path.
        path: String,
        /// The new content.
        text: String,
    },
}

/// A signal a scenario sends, by its `-c` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalName {
    /// `-c reload` (SIGHUP).
    Reload,
    /// `-c stop` (SIGTERM).
    Stop,
    /// `upsmon -c fsd` (SIGUSR1).
    Fsd,
}

impl SignalName {
    /// The signal.
    pub fn signal(self) -> nut_bins::wiring::Signal {
        match self {
            SignalName::Reload => nut_bins::wiring::Signal::Reload,
            SignalName::Stop => nut_bins::wiring::Signal::Stop,
            SignalName::Fsd => nut_bins::wiring::Signal::Fsd,
        }
    }

    /// The `-c` name.
    pub fn name(self) -> &'static str {
        match self {
            SignalName::Reload => "reload",
            SignalName::Stop => "stop",
            SignalName::Fsd => "fsd",
        }
    }
}

/// Expected outcome.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Invariants this scenario is expected to violate (documenting an unsafe setup).
    #[serde(default)]
    pub violations: Vec<String>,
}

impl Scenario {
    /// Parses a scenario; the error names the line and column.
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        let mut scenario: Scenario = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
        if let Some(ups) = scenario.ups.take() {
            scenario.upses.insert(0, ups);
        }
        for ups in &mut scenario.upses {
            if let Some(seq) = ups.mains_seq.take() {
                let steps = mains_from_seq(&seq)
                    .map_err(|e| format!("UPS {}: mains_seq: {e}", ups.name))?;
                ups.mains.extend(steps);
                ups.mains.sort_by(|a, b| {
                    a.at_s
                        .partial_cmp(&b.at_s)
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
            }
        }
        scenario.validate()?;
        Ok(scenario)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        for host in &self.hosts {
            if let Some(start) = host.start_s {
                if !start.is_finite() || start < 0.0 || start > self.duration_s {
                    return Err(format!(
                        "host {}: start_s {start} must be between 0 and duration_s ({})",
                        host.name, self.duration_s
                    ));
                }
            }
        }
        let primaries = self
            .hosts
            .iter()
            .filter(|h| h.role == Role::Primary)
            .count();
        if primaries == 0 {
            return Err(
                "at least one host must have role primary (it runs a UPS's driver and upsd)"
                    .to_string(),
            );
        }
        if self.upses.is_empty() {
            return Err("no UPS: give `ups:` or `upses:`".to_string());
        }
        let mut ups_names: Vec<&str> = self.upses.iter().map(|u| u.name.as_str()).collect();
        ups_names.sort();
        ups_names.dedup();
        if ups_names.len() != self.upses.len() {
            return Err("UPS names must be unique".to_string());
        }
        for ups in &self.upses {
            let host = self.ups_host(ups);
            match self.hosts.iter().find(|h| h.name == host) {
                Some(h) if h.role == Role::Primary => {}
                Some(_) => {
                    return Err(format!(
                        "UPS {}: its host {host} must have role primary",
                        ups.name
                    ))
                }
                None => return Err(format!("UPS {}: unknown host {host:?}", ups.name)),
            }
            if let Some(b) = &ups.battery {
                let sane = b.runtime_s > 0.0
                    && b.at_load_w > 0.0
                    && (0.0..=100.0).contains(&b.charge)
                    && (0.0..=100.0).contains(&b.low);
                if !sane {
                    return Err(format!(
                        "UPS {}: battery needs runtime_s > 0, at_load_w > 0, charge and low in 0..=100",
                        ups.name
                    ));
                }
            }
        }
        for host in &self.hosts {
            let named = host
                .monitors
                .iter()
                .flatten()
                .map(|m| &m.ups)
                .chain(host.fed_by.iter().flatten());
            for ups in named {
                if !self.upses.iter().any(|u| &u.name == ups) {
                    return Err(format!("host {}: unknown UPS {ups:?}", host.name));
                }
            }
            if !(host.draw_w >= 0.0 && host.boot_s >= 0.0 && host.shutdown_s >= 0.0) {
                return Err(format!(
                    "host {}: negative draw_w, boot_s or shutdown_s",
                    host.name
                ));
            }
        }
        // Absurd durations would run for ever at 10 ms ticks.
        if !(self.duration_s > 0.0 && self.duration_s <= MAX_DURATION_S) {
            return Err(format!(
                "duration_s must be more than 0 and at most {MAX_DURATION_S} (30 days), got {}",
                self.duration_s
            ));
        }
        let mut names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
        names.sort();
        names.dedup();
        if names.len() != self.hosts.len() {
            return Err("host names must be unique".to_string());
        }
        if self.tick_ms == 0 {
            return Err("tick_ms must be at least 1".to_string());
        }
        for fault in &self.faults {
            let hosts: Vec<&String> = match &fault.action {
                FaultAction::Partition { a, b } | FaultAction::Repair { a, b } => vec![a, b],
                FaultAction::Latency { a, b, ms } => {
                    if *ms > MAX_LATENCY_FAULT_MS {
                        return Err(format!(
                            "latency {ms} ms between {a} and {b}: at most {MAX_LATENCY_FAULT_MS} ms"
                        ));
                    }
                    vec![a, b]
                }
                FaultAction::PartitionOneway { from, to }
                | FaultAction::RepairOneway { from, to } => vec![from, to],
                FaultAction::PowerCycle { host } => vec![host],
                FaultAction::WriteFile { host, path, .. } => {
                    if !path.starts_with('/') {
                        return Err(format!("write_file path {path:?} must be absolute"));
                    }
                    vec![host]
                }
                FaultAction::Crash { host, process }
                | FaultAction::Restart { host, process }
                | FaultAction::Signal { host, process, .. } => {
                    if !["dummy-ups", "upsd", "upsmon"].contains(&process.as_str()) {
                        return Err(format!(
                            "unknown process {process:?} (dummy-ups, upsd, upsmon)"
                        ));
                    }
                    vec![host]
                }
            };
            for host in hosts {
                if !self.hosts.iter().any(|h| &h.name == host) {
                    return Err(format!(
                        "fault at {} s names unknown host {host:?}",
                        fault.at_s
                    ));
                }
            }
        }
        Ok(())
    }

    /// The first primary host.
    pub fn primary(&self) -> &HostSpec {
        self.hosts
            .iter()
            .find(|h| h.role == Role::Primary)
            .expect("validated: a primary")
    }

    /// The host that runs `ups`'s driver and upsd.
    pub fn ups_host<'a>(&'a self, ups: &'a UpsSpec) -> &'a str {
        ups.host.as_deref().unwrap_or(&self.primary().name)
    }

    /// The MONITOR lines of `host`: (UPS, power value, primary?).
    pub fn monitors_of<'a>(&'a self, host: &'a HostSpec) -> Vec<(&'a UpsSpec, u32, bool)> {
        let wanted: Vec<(String, u32)> = match &host.monitors {
            Some(list) => list
                .iter()
                .map(|m| (m.ups.clone(), m.power_value))
                .collect(),
            None => self.upses.iter().map(|u| (u.name.clone(), 1)).collect(),
        };
        wanted
            .into_iter()
            .filter_map(|(name, power)| {
                let ups = self.upses.iter().find(|u| u.name == name)?;
                Some((ups, power, self.ups_host(ups) == host.name))
            })
            .collect()
    }

    /// The names of the UPSes that feed `host`, without allocating (the site model asks
    /// at every event).
    pub fn feeds<'a>(&'a self, host: &'a HostSpec) -> impl Iterator<Item = &'a str> + Clone {
        let listed = host.fed_by.as_deref().map(|l| l.iter().map(String::as_str));
        let all = host
            .fed_by
            .is_none()
            .then(|| self.upses.iter().map(|u| u.name.as_str()));
        listed
            .into_iter()
            .flatten()
            .chain(all.into_iter().flatten())
    }

    /// The UPSes that feed `host`.
    pub fn feeds_of(&self, host: &HostSpec) -> Vec<String> {
        self.feeds(host).map(String::from).collect()
    }
}
