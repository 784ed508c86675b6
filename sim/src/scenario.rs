//! The YAML scenario schema: hosts with roles and NUT-spelled config overrides, one UPS
//! with a status timeline and a power model, and timed faults.
//!
//! A scenario is data only; [`crate::harness`] runs it. Unknown fields are rejected so a
//! typo in a scenario is an error, not a silently ignored setting.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
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
    /// Largest simulated network latency in milliseconds.
    #[serde(default = "default_latency_ms")]
    pub max_latency_ms: u64,
    /// The UPS.
    pub ups: UpsSpec,
    /// Protected hosts; exactly one has role `primary` and runs the driver and upsd.
    pub hosts: Vec<HostSpec>,
    /// Timed faults.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// What the scenario is expected to show.
    #[serde(default)]
    pub expect: Expect,
}

fn default_seed() -> u64 {
    42
}
fn default_tick_ms() -> u64 {
    10
}
fn default_latency_ms() -> u64 {
    5
}

/// The UPS and its power model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsSpec {
    /// UPS name in ups.conf.
    pub name: String,
    /// Extra variables published by the device (besides `ups.status`).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// What the device reports over time (`status: null` = the device stops answering).
    pub timeline: Vec<StatusStep>,
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
}

fn default_delay_shutdown() -> f64 {
    20.0
}
fn default_pollinterval() -> u64 {
    2
}

/// One entry of the device timeline.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the driver, upsd and the primary upsmon.
    Primary,
    /// Runs a secondary upsmon.
    Secondary,
}

/// A protected host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Host name (also its network name).
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// How long its SHUTDOWNCMD takes, in seconds.
    #[serde(default = "default_shutdown_s")]
    pub shutdown_s: f64,
    /// upsmon.conf directives, in NUT spelling, e.g. `HOSTSYNC: 15`.
    #[serde(default)]
    pub upsmon: BTreeMap<String, String>,
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
}

fn default_shutdown_s() -> f64 {
    10.0
}

/// A timed fault. (Unknown fields are caught by [`FaultAction`]; serde cannot deny them
/// on a struct with a flattened field.)
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    /// When (simulated seconds).
    pub at_s: f64,
    /// What happens.
    #[serde(flatten)]
    pub action: FaultAction,
}

/// Fault kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Cut the network between two hosts (both ways).
    Partition {
        /// One side.
        a: String,
        /// Other side.
        b: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Invariants this scenario is expected to violate (documenting an unsafe setup).
    #[serde(default)]
    pub violations: Vec<String>,
}

impl Scenario {
    /// Parses a scenario; the error names the line and column.
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
        scenario.validate()?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), String> {
        let primaries = self
            .hosts
            .iter()
            .filter(|h| h.role == Role::Primary)
            .count();
        if primaries != 1 {
            return Err(format!(
                "exactly one host must have role primary, found {primaries}"
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

    /// The primary host.
    pub fn primary(&self) -> &HostSpec {
        self.hosts
            .iter()
            .find(|h| h.role == Role::Primary)
            .expect("validated: one primary")
    }
}
