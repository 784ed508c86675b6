//! Runs a [`Scenario`] on turmoil: writes each host's NUT config files, starts the
//! daemons through nut-bins' `process` functions (the same wiring the binaries use:
//! config files parsed from the host's filesystem, environment, signals), steps the
//! simulation, applies the device timeline, faults and the power model, and collects
//! the timeline.
//!
//! This module never builds a daemon's runtime itself (no `UpsdCore`, `UpsdRuntime`,
//! `DummyConfig` or `UpsmonCore` here; checked by the tidy test): what runs is what the
//! files on the simulated host say, as on a real one.

use crate::scenario::{DriverKind, FaultAction, HostSpec, PollPhases, Scenario, UpsSpec};
use crate::world::{
    HostState, SharedWorld, SimFileSource, SimNet, SimQxPort, SimSys, World, WorldEvent,
};
use nut_bins::wiring::{NutEnv, Signal};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// upsd's port in the simulation.
pub const UPSD_PORT: u16 = 3493;
/// Fixed epoch, so nothing depends on the wall clock.
pub const EPOCH_S: u64 = 1_000_000_000;
/// Wall-clock guard: a scenario taking longer than this is reported as an error.
pub const WALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);
/// Config directory on simulated hosts.
pub const CONFPATH: &str = "/etc/nut";
/// Path of POWERDOWNFLAG on simulated hosts.
pub const POWERDOWNFLAG: &str = "/etc/killpower";

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Timeline entries in order.
    pub timeline: Vec<crate::world::Entry>,
    /// Final state per host.
    pub hosts: BTreeMap<String, HostState>,
    /// IP address of each host (for naming peers in upsd's log lines).
    pub addresses: BTreeMap<String, String>,
    /// Simulated milliseconds covered.
    pub end_ms: u64,
    /// Each host's files at the end (config files, POWERDOWNFLAG).
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// When mains came back for good on every UPS after an outage, if it did.
    pub mains_returned_ms: Option<u64>,
    /// The run ended early because nothing could change any more (every host down, no
    /// step, boot or UPS change pending).
    pub settled: bool,
}

/// The processes a scenario can crash, restart and signal.
pub const PROCESSES: [&str; 4] = ["dummy-ups", "nutdrv_qx", "upsd", "upsmon"];

fn upsmon_conf_text(scenario: &Scenario, host: &HostSpec) -> String {
    let mut text = String::new();
    for (ups, power, primary) in scenario.monitors_of(host) {
        let (user, password, role) = if primary {
            ("monprimary", "pp", "primary")
        } else {
            ("monsecondary", "sp", "secondary")
        };
        text.push_str(&format!(
            "MONITOR {}@{}:{UPSD_PORT} {power} {user} {password} {role}\n",
            ups.name,
            scenario.ups_host(ups)
        ));
    }
    text.push_str(&format!(
        "SHUTDOWNCMD \"/sbin/shutdown -h +0\"\nPOWERDOWNFLAG {POWERDOWNFLAG}\n"
    ));
    if scenario.tls {
        text.push_str(&format!(
            "CERTPATH {CONFPATH}/ca.pem\nCERTVERIFY 1\nFORCESSL 1\n"
        ));
    }
    for (key, value) in &host.upsmon {
        text.push_str(&format!("{key} {value}\n"));
    }
    for line in &host.upsmon_lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The UPSes whose driver and upsd run on `host`.
fn hosted<'a>(scenario: &'a Scenario, host: &HostSpec) -> Vec<&'a UpsSpec> {
    scenario
        .upses
        .iter()
        .filter(|u| scenario.ups_host(u) == host.name)
        .collect()
}

/// The data file of a UPS's dummy-ups (`port` in ups.conf, relative to the config dir).
pub fn device_file(ups: &str) -> String {
    format!("{ups}.dev")
}

/// The serial port of a UPS read by nutdrv_qx (the model keeps the unit's answers
/// there).
pub fn serial_port(ups: &str) -> String {
    format!("/dev/ttyS-{ups}")
}

/// The NUT config files of a host, as (path, text): upsmon.conf on every host; ups.conf,
/// upsd.conf and upsd.users on a host that runs UPS drivers and upsd.
pub fn config_files(scenario: &Scenario, host: &HostSpec) -> Vec<(String, String)> {
    let conf = |name: &str| format!("{CONFPATH}/{name}");
    let mut files = vec![(conf("upsmon.conf"), upsmon_conf_text(scenario, host))];
    let upses = hosted(scenario, host);
    if !upses.is_empty() {
        let mut ups_conf = String::new();
        for ups in &upses {
            let port = match ups.driver {
                DriverKind::DummyUps => device_file(&ups.name),
                DriverKind::NutdrvQx => serial_port(&ups.name),
            };
            ups_conf.push_str(&format!(
                "[{}]\n\tdriver = {}\n\tport = {port}\n\tpollinterval = {}\n\tdesc = \"simulated UPS\"\n",
                ups.name,
                ups.driver.program(),
                ups.pollinterval_s
            ));
            if ups.driver == DriverKind::NutdrvQx {
                // The driver's delays (NUT rounds them to what the unit can do).
                ups_conf.push_str(&format!(
                    "\toffdelay = {:.0}\n\tondelay = {:.0}\n",
                    ups.delay_shutdown_s, ups.delay_start_s
                ));
            }
            if let Some(order) = ups.sdorder {
                ups_conf.push_str(&format!("\tsdorder = {order}\n"));
            }
        }
        files.push((conf("ups.conf"), ups_conf));
        let mut upsd_conf = format!("LISTEN 0.0.0.0 {UPSD_PORT}\n");
        if scenario.tls {
            upsd_conf.push_str(&format!("CERTFILE {CONFPATH}/upsd.pem\n"));
        }
        files.push((conf("upsd.conf"), upsd_conf));
        files.push((
            conf("upsd.users"),
            "[monprimary]\n\tpassword = pp\n\tupsmon primary\n\
             [monsecondary]\n\tpassword = sp\n\tupsmon secondary\n"
                .to_string(),
        ));
    }
    if let Some(upssched) = &host.upssched {
        files.push((conf("upssched.conf"), upssched.clone()));
    }
    if scenario.tls {
        let (ca, other_ca) = test_cas();
        let trusted = if host.wrong_ca { &other_ca } else { &ca };
        files.push((conf("ca.pem"), trusted.pem.clone()));
        if !upses.is_empty() {
            files.push((conf("upsd.pem"), ca.server_pem(&host.name)));
        }
    }
    for (path, text) in &host.files {
        files.push((path.clone(), text.clone()));
    }
    files
}

/// A test certificate authority for scenarios with TLS.
struct TestCa {
    pem: String,
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519 key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("self-signed CA");
        TestCa {
            pem: cert.pem(),
            cert,
            key,
        }
    }

    /// upsd's CERTFILE for `host`: its certificate (signed by this CA) and key.
    fn server_pem(&self, host: &str) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519 key");
        let params = rcgen::CertificateParams::new(vec![host.to_string()]).expect("host name");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed certificate");
        format!("{}{}", cert.pem(), key.serialize_pem())
    }
}

/// The scenario CA and another one (for a host with a wrong CERTPATH), made once per
/// process: keys are random, but nothing in a timeline depends on their bytes.
fn test_cas() -> &'static (TestCa, TestCa) {
    static CAS: std::sync::OnceLock<(TestCa, TestCa)> = std::sync::OnceLock::new();
    CAS.get_or_init(|| (TestCa::new("nut-sim test CA"), TestCa::new("some other CA")))
}

/// The upsmon configuration of a host, as upsmon's own wiring reads it from the host's
/// files.
pub fn upsmon_conf(
    scenario: &Scenario,
    host: &HostSpec,
) -> Result<nut_core::config::UpsmonConf, String> {
    let (_, sys) = preflight_world(scenario, host);
    nut_bins::upsmon::wire(&sys, &nut_env())
        .map(|w| w.conf)
        .map_err(|e| format!("host {}: {e}", host.name))
}

/// The NUT environment of every simulated process.
pub fn nut_env() -> NutEnv {
    NutEnv {
        confpath: CONFPATH.to_string(),
        statepath: Some("/run/nut".to_string()),
        altpidpath: None,
    }
}

/// A throwaway world holding just `host`'s files, for checking its configuration before
/// the run.
fn preflight_world(scenario: &Scenario, host: &HostSpec) -> (SharedWorld, SimSys) {
    let mut world = World::default();
    for (path, text) in config_files(scenario, host) {
        world
            .files
            .insert((host.name.clone(), path), text.into_bytes());
    }
    let world = Arc::new(Mutex::new(world));
    let sys = SimSys::new(&host.name, "preflight", world.clone());
    (world, sys)
}

/// Checks every host's configuration through the daemons' own wiring, so a scenario
/// with settings NUT would reject fails before it runs, naming the host and the file.
pub fn preflight(scenario: &Scenario) -> Result<(), String> {
    for host in &scenario.hosts {
        let (_, sys) = preflight_world(scenario, host);
        let fail = |e: String| format!("host {}: {e}", host.name);
        nut_bins::upsmon::wire(&sys, &nut_env()).map_err(fail)?;
        if host.upssched.is_some() {
            nut_bins::upssched::wire(&sys, &nut_env()).map_err(fail)?;
        }
        let upses = hosted(scenario, host);
        if !upses.is_empty() {
            nut_bins::upsd::wire(&sys, &nut_env(), scenario.seed).map_err(fail)?;
        }
        for ups in upses {
            match ups.driver {
                DriverKind::DummyUps => {
                    nut_bins::driver::wire(&sys, &nut_env(), &driver_args(&ups.name))
                        .map(drop)
                        .map_err(fail)?
                }
                DriverKind::NutdrvQx => {
                    nut_bins::qx::wire(&sys, &nut_env(), &driver_args(&ups.name))
                        .map(drop)
                        .map_err(fail)?
                }
            }
        }
    }
    Ok(())
}

/// upsmon's start offset on `host`, in ms: `start_s` if given, else a phase drawn from
/// the seed below the host's POLLFREQ (`poll_phases: seeded`), else 0. Whole ticks, so
/// runs stay deterministic.
pub fn poll_phase_ms(scenario: &Scenario, host: &HostSpec) -> u64 {
    if let Some(start) = host.start_s {
        return (start * 1000.0) as u64;
    }
    if scenario.poll_phases != PollPhases::Seeded {
        return 0;
    }
    // POLLFREQ as the host's upsmon reads it (its own wiring and defaults).
    let pollfreq_s = upsmon_conf(scenario, host)
        .map(|c| c.pollfreq_s)
        .unwrap_or(1)
        .max(1);
    // splitmix64 of the seed and the host's name: stable across runs and platforms.
    let mut x = host
        .name
        .bytes()
        .fold(scenario.seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let tick = scenario.tick_ms.max(1);
    (x % (pollfreq_s * 1000)) / tick * tick
}

fn driver_args(ups: &str) -> nut_bins::driver::DriverArgs {
    nut_bins::driver::DriverArgs {
        ups: Some(ups.to_string()),
        ..Default::default()
    }
}

/// Runs drivers for upsdrvctl on a halted host: a driver's `-k` is its real kill-power
/// code, in process; the commands the UPS received are collected.
struct SimLauncher {
    sys: SimSys,
    /// (UPS, command) pairs the UPSes received.
    commands: Vec<(String, String)>,
    world: SharedWorld,
    host: String,
    at_ms: u64,
}

/// Runs a future that never waits (every await is ready at once, as the modelled
/// serial port is outside the simulation's hosts); `None` if it would wait.
fn run_ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

impl nut_bins::upsdrvctl::Launcher for SimLauncher {
    fn run(
        &mut self,
        program: &str,
        args: &[String],
        _limit: Duration,
    ) -> Result<nut_bins::upsdrvctl::Outcome, String> {
        let ups = args
            .iter()
            .position(|a| a == "-a")
            .and_then(|i| args.get(i + 1))
            .cloned();
        if !args.iter().any(|a| a == "-k") {
            return Err("only -k runs on a halted host".to_string());
        }
        let driver_args = nut_bins::driver::DriverArgs {
            ups: ups.clone(),
            ..Default::default()
        };
        // The driver upsdrvctl chose from ups.conf: nutdrv_qx's `-k` talks to the
        // modelled unit, whose model then carries out the command it received.
        let serial = Path::new(program)
            .file_name()
            .is_some_and(|n| n == "nutdrv_qx");
        if let Some(name) = ups.as_ref().filter(|_| serial) {
            let Ok(wiring) = nut_bins::qx::wire(&self.sys, &nut_env(), &driver_args) else {
                return Ok(nut_bins::upsdrvctl::Outcome::Exited(1));
            };
            let mut port = SimQxPort::new(
                self.world.clone(),
                &self.host,
                name,
                &wiring.port,
                Some(self.at_ms),
            );
            let sys = SimSys::at(&self.host, "nutdrv_qx", self.world.clone(), self.at_ms);
            let result = run_ready(nut_bins::qx::kill_power(&sys, &wiring, &mut port));
            return Ok(nut_bins::upsdrvctl::Outcome::Exited(match result {
                Some(Ok(_)) => 0,
                _ => 1,
            }));
        }
        match nut_bins::driver::kill_power(&self.sys, &nut_env(), &driver_args) {
            Ok(cmd) => {
                self.commands.push((ups.unwrap_or_default(), cmd));
                Ok(nut_bins::upsdrvctl::Outcome::Exited(0))
            }
            Err(_) => Ok(nut_bins::upsdrvctl::Outcome::Exited(1)),
        }
    }

    fn stop(&mut self, _pidfile: &str, _driver: &str) -> Result<(), String> {
        Ok(())
    }

    fn pause(&mut self, _duration: Duration) {}

    fn say(&mut self, _line: &str) {}
}

/// The signal channel of a running process (replaced at every start).
type SignalSlot = Arc<Mutex<Option<mpsc::Sender<Signal>>>>;

/// Runs `start` whenever `run` is true; stops it (dropping its future and so all its
/// tasks, as a process exit would) when `run` turns false.
async fn supervise<F, Fut>(mut run: watch::Receiver<bool>, slot: SignalSlot, sys: SimSys, start: F)
where
    F: Fn(mpsc::Receiver<Signal>) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    loop {
        while !*run.borrow_and_update() {
            if run.changed().await.is_err() {
                return;
            }
        }
        let (tx, rx) = mpsc::channel(8);
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        let process = start(rx);
        let exited = tokio::select! {
            biased;
            _ = run.wait_for(|running| !running) => false,
            result = process => {
                if let Err(e) = result {
                    let t = crate::world::now_ms();
                    sys.world().lock().unwrap_or_else(|e| e.into_inner()).record(
                        t,
                        sys.host(),
                        WorldEvent::ProcessFailed { error: e.to_string() },
                    );
                }
                true
            }
        };
        // A process that exited by itself (upsmon after shutdown) stays down until it
        // is crashed and restarted by the scenario.
        if exited && run.wait_for(|running| !running).await.is_err() {
            return;
        }
    }
}

struct Step {
    at_ms: u64,
    order: usize,
    kind: StepKind,
}

enum StepKind {
    Status(usize, Option<String>, BTreeMap<String, String>),
    Mains(usize, bool),
    Fault(FaultAction),
}

fn secs_to_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().clamp(0.0, u64::MAX as f64 / 2.0) as u64
}

/// How often a long run reports its progress on stderr (wall time).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the harness updates the UPS models when nothing is due (simulated ms).
const MODEL_PERIOD_MS: u64 = 100;

/// A UPS as the harness models it.
struct UpsModel {
    spec: UpsSpec,
    host: String,
    vars: BTreeMap<String, String>,
    /// The status the timeline dictates, if any (overrides the battery model).
    explicit: Option<String>,
    /// The device does not answer (its data file is gone).
    dead: bool,
    mains_on: bool,
    charge: f64,
    output_on: bool,
    off_at: Option<u64>,
    on_at: Option<u64>,
    battery_dead_ms: Option<u64>,
    /// A Megatec unit's last shutdown command: how long after mains returns the load
    /// comes back (`R<minutes>`; no `R`: at once), or `None` for the scenario's
    /// `delay_start_s`.
    start_delay_ms: Option<u64>,
    /// `S..R0000` (shutdown.stayoff): the load stays off even when mains returns.
    stay_off: bool,
}

/// Nominal power of a modelled Megatec unit without `ups.power.nominal`, in watts
/// (to turn the hosts' draw into the Q1 load percentage).
pub const QX_NOMINAL_W: f64 = 1000.0;
/// Battery voltages of the modelled unit (24 V nominal): NUT's guess of the low and
/// high limits from the nominal voltage (nutdrv_qx.c `qx_initbattery`), so the charge
/// nutdrv_qx derives from the voltage is the model's charge.
const QX_BATTERY_V: (f64, f64) = (20.8, 26.0);

/// A Megatec shutdown-related command a modelled unit received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MegatecCommand {
    /// `S<n>[R<m>]`: cut the load after `off_ms`; back `on_ms` after mains returns
    /// (`None`: stays off).
    Shutdown { off_ms: u64, on_ms: Option<u64> },
    /// `C`: cancel a pending shutdown.
    Cancel,
}

/// Parses `S.3R0002\r`, `S01\r`, `C\r` (NUT's drivers/nutdrv_qx_blazer-common.c).
fn megatec_command(bytes: &[u8]) -> Option<MegatecCommand> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('\r')?;
    if text == "C" {
        return Some(MegatecCommand::Cancel);
    }
    let rest = text.strip_prefix('S')?;
    let (off, on) = match rest.split_once('R') {
        Some((off, on)) => (off, Some(on.parse::<u64>().ok()?)),
        None => (rest, None),
    };
    let off_ms = match off.strip_prefix('.') {
        Some(tenths) => tenths.parse::<u64>().ok()? * 6_000,
        None => off.parse::<u64>().ok()? * 60_000,
    };
    let on_ms = match on {
        None => Some(0),
        Some(0) => None,
        Some(minutes) => Some(minutes * 60_000),
    };
    Some(MegatecCommand::Shutdown { off_ms, on_ms })
}

impl UpsModel {
    fn status(&self) -> String {
        if let Some(status) = &self.explicit {
            return status.clone();
        }
        let low = self
            .spec
            .battery
            .as_ref()
            .is_some_and(|b| self.charge <= b.low);
        let mut tokens = vec![if self.mains_on { "OL" } else { "OB" }];
        if low {
            tokens.push("LB");
        }
        if !self.mains_on {
            tokens.push("DISCHRG");
        } else if self.charge < 100.0 && self.spec.battery.is_some() {
            tokens.push("CHRG");
        }
        tokens.join(" ")
    }

    /// A Megatec unit's answers (hw-fixtures transcript format) for nutdrv_qx: Q1 from
    /// the model (mains, output, load, battery voltage from the charge, LB, shutdown
    /// pending), F and I fixed.
    fn qx_text(&self, load_w: f64) -> Vec<u8> {
        let status = self.explicit.clone();
        let on_battery = match &status {
            Some(s) => s.split_whitespace().any(|t| t == "OB"),
            None => !self.mains_on,
        };
        let low = match &status {
            Some(s) => s.split_whitespace().any(|t| t == "LB"),
            None => self
                .spec
                .battery
                .as_ref()
                .is_some_and(|b| self.charge <= b.low),
        };
        let nominal = self
            .vars
            .get("ups.power.nominal")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(QX_NOMINAL_W);
        let load = if self.output_on {
            (load_w / nominal * 100.0).round().clamp(0.0, 999.0)
        } else {
            0.0
        };
        let (lo, hi) = QX_BATTERY_V;
        let volts = lo + self.charge / 100.0 * (hi - lo);
        let input = if on_battery { 0.0 } else { 230.0 };
        let output = if self.output_on { 230.0 } else { 0.0 };
        let bit = |b: bool| if b { '1' } else { '0' };
        let bits: String = [
            bit(on_battery),
            bit(low),
            '0',
            '0',
            '0',
            '0',
            bit(self.off_at.is_some()),
            '1',
        ]
        .iter()
        .collect();
        format!(
            "> Q1\\r\n< ({input:05.1} {input:05.1} {output:05.1} {load:03.0} 50.0 {volts:04.1} 25.0 {bits}\\r\n\
             > F\\r\n< #230.0 004 024.0 50.0\\r\n\
             > I\\r\n< #SimUPS          SIM-Q1     SIM 1.0   \\r\n"
        )
        .into_bytes()
    }

    /// Carries out a command the unit received at `t`; the world event to record.
    fn obey(&mut self, command: MegatecCommand, t: u64) -> Option<WorldEvent> {
        match command {
            MegatecCommand::Cancel => {
                self.off_at = None;
                self.stay_off = false;
                None
            }
            MegatecCommand::Shutdown { off_ms, on_ms } => {
                if self.mains_on && !self.spec.returns {
                    return Some(WorldEvent::KillIgnoredOnMains);
                }
                self.off_at = Some(t + off_ms);
                self.stay_off = on_ms.is_none();
                self.start_delay_ms = on_ms;
                Some(WorldEvent::LateShutdown { delay_ms: off_ms })
            }
        }
    }

    /// How long after mains returns the load comes back.
    fn start_delay(&self) -> u64 {
        self.start_delay_ms
            .unwrap_or_else(|| secs_to_ms(self.spec.delay_start_s))
    }

    fn device_text(&self, load_w: f64) -> Vec<u8> {
        let mut vars = self.vars.clone();
        if let Some(b) = &self.spec.battery {
            vars.insert(
                "battery.charge".into(),
                format!("{:.0}", self.charge.floor()),
            );
            vars.insert("battery.charge.low".into(), format!("{:.0}", b.low));
            let runtime = self.charge / 100.0 * b.runtime_s * b.at_load_w / load_w.max(1.0);
            vars.insert("battery.runtime".into(), format!("{:.0}", runtime.floor()));
        }
        vars.insert(
            "ups.delay.shutdown".into(),
            format!("{:.0}", self.spec.delay_shutdown_s),
        );
        vars.insert(
            "ups.delay.start".into(),
            format!("{:.0}", self.spec.delay_start_s),
        );
        let mut text = String::new();
        for (name, value) in &vars {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push_str(&format!("ups.status: {}\n", self.status()));
        text.into_bytes()
    }
}

/// Runs a scenario to its end and returns what happened.
pub fn run(scenario: &Scenario) -> Result<Outcome, String> {
    preflight(scenario)?;
    let wall_start = std::time::Instant::now();
    let world: SharedWorld = Arc::new(Mutex::new(World::default()));
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(365 * 86_400))
        .tick_duration(Duration::from_millis(scenario.tick_ms))
        .rng_seed(scenario.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_S))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(scenario.max_latency_ms.max(1)))
        .tcp_capacity(1024)
        .build();
    let mut controls: BTreeMap<(String, String), (watch::Sender<bool>, SignalSlot)> =
        BTreeMap::new();
    let mut upses: Vec<UpsModel> = scenario
        .upses
        .iter()
        .map(|spec| UpsModel {
            host: scenario.ups_host(spec).to_string(),
            vars: spec.vars.clone(),
            explicit: None,
            dead: false,
            mains_on: true,
            charge: spec.battery.as_ref().map_or(100.0, |b| b.charge),
            output_on: true,
            off_at: None,
            on_at: None,
            battery_dead_ms: spec.battery_dead_at_s.map(secs_to_ms),
            start_delay_ms: None,
            stay_off: false,
            spec: spec.clone(),
        })
        .collect();
    {
        let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
        for host in &scenario.hosts {
            w.hosts.insert(host.name.clone(), HostState::Running);
            w.shutdown_ms.insert(
                host.name.clone(),
                if host.shutdown_hangs {
                    u64::MAX
                } else {
                    secs_to_ms(host.shutdown_s)
                },
            );
            for (path, text) in config_files(scenario, host) {
                w.files.insert((host.name.clone(), path), text.into_bytes());
            }
            for (cmd, action) in &host.cmdscript {
                w.cmdscript_actions
                    .insert((host.name.clone(), cmd.clone()), action.clone());
            }
        }
    }
    for host in &scenario.hosts {
        let mut receivers = BTreeMap::new();
        for process in PROCESSES {
            let (tx, rx) = watch::channel(true);
            let slot: SignalSlot = Arc::new(Mutex::new(None));
            controls.insert((host.name.clone(), process.to_string()), (tx, slot.clone()));
            receivers.insert(process, (rx, slot));
        }
        let drivers: Vec<(String, DriverKind)> = hosted(scenario, host)
            .iter()
            .map(|u| (u.name.clone(), u.driver))
            .collect();
        let (world, seed, name) = (world.clone(), scenario.seed, host.name.clone());
        let phase = Duration::from_millis(poll_phase_ms(scenario, host));
        sim.host(host.name.as_str(), move || {
            let mut set = tokio::task::JoinSet::new();
            for (ups, kind) in &drivers {
                let sys = SimSys::new(&name, kind.program(), world.clone());
                let (run, slot) = receivers[kind.program()].clone();
                let args = driver_args(ups);
                if *kind == DriverKind::NutdrvQx {
                    let (world, host, ups) = (world.clone(), name.clone(), ups.clone());
                    set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                        let (world, host, ups) = (world.clone(), host.clone(), ups.clone());
                        nut_bins::qx::process(
                            |_| SimNet,
                            sys.clone(),
                            nut_env(),
                            args.clone(),
                            move |wiring: &nut_bins::qx::QxWiring| {
                                Ok(SimQxPort::new(world, &host, &ups, &wiring.port, None))
                            },
                            signals,
                        )
                    }));
                    continue;
                }
                set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                    let file_sys = sys.clone();
                    nut_bins::driver::process(
                        |_| SimNet,
                        sys.clone(),
                        nut_env(),
                        args.clone(),
                        move |path: &str| SimFileSource::new(file_sys, path),
                        signals,
                    )
                }));
            }
            if !drivers.is_empty() {
                let sys = SimSys::new(&name, "upsd", world.clone());
                let (run, slot) = receivers["upsd"].clone();
                set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                    nut_bins::upsd::process(|_| SimNet, sys.clone(), nut_env(), seed, signals)
                }));
            }
            let sys = SimSys::new(&name, "upsmon", world.clone());
            let (run, slot) = receivers["upsmon"].clone();
            // The poll phase: upsmon's first start after the host (re)starts waits for it.
            let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
            set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                let wait = if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                    phase
                } else {
                    Duration::ZERO
                };
                let sys = sys.clone();
                async move {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    nut_bins::upsmon::process(SimNet, sys, nut_env(), signals).await
                }
            }));
            async move {
                while set.join_next().await.is_some() {}
                Ok(())
            }
        });
    }
    let addresses: BTreeMap<String, String> = scenario
        .hosts
        .iter()
        .map(|h| (h.name.clone(), sim.lookup(h.name.as_str()).to_string()))
        .collect();

    let mut steps: Vec<Step> = Vec::new();
    for (index, ups) in scenario.upses.iter().enumerate() {
        for (order, step) in ups.timeline.iter().enumerate() {
            steps.push(Step {
                at_ms: secs_to_ms(step.at_s),
                order: index * 1_000 + order,
                kind: StepKind::Status(index, step.status.clone(), step.vars.clone()),
            });
        }
        for (order, step) in ups.mains.iter().enumerate() {
            steps.push(Step {
                at_ms: secs_to_ms(step.at_s),
                order: 100_000 + index * 1_000 + order,
                kind: StepKind::Mains(index, step.on),
            });
        }
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        steps.push(Step {
            at_ms: secs_to_ms(fault.at_s),
            order: 1_000_000 + index,
            kind: StepKind::Fault(fault.action.clone()),
        });
    }
    steps.sort_by_key(|s| (s.at_ms, s.order));
    let mut steps = steps.into_iter().peekable();

    let record = |t: u64, host: &str, what: WorldEvent| {
        world
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(t, host, what)
    };
    let end_ms = secs_to_ms(scenario.duration_s);
    // Hosts whose software is stopped (halted, without power, booting).
    let mut down: Vec<String> = Vec::new();
    let mut boots: BTreeMap<String, u64> = BTreeMap::new();
    let mut reboots: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_now = 0u64;
    let mut last_progress = std::time::Instant::now();
    let mut settled = false;
    // Set when a host halted (its power state must be looked at on the next pass).
    let mut model_dirty = true;
    loop {
        let now = sim.elapsed().as_millis() as u64;
        let mut stepped = false;
        while let Some(step) = steps.next_if(|s| s.at_ms <= now) {
            stepped = true;
            match step.kind {
                StepKind::Status(index, status, vars) => {
                    let ups = &mut upses[index];
                    ups.vars.extend(vars);
                    match status {
                        Some(status) => {
                            ups.mains_on = !status.split_whitespace().any(|t| t == "OB");
                            ups.explicit = Some(status.clone());
                            ups.dead = false;
                            record(now, &ups.spec.name, WorldEvent::UpsStatus { status });
                        }
                        None => {
                            ups.dead = true;
                            record(
                                now,
                                &ups.spec.name,
                                WorldEvent::UpsStopsAnswering {
                                    last_status: ups.status(),
                                },
                            );
                        }
                    }
                }
                StepKind::Mains(index, on) => {
                    let ups = &mut upses[index];
                    if ups.mains_on != on {
                        ups.mains_on = on;
                        record(now, &ups.spec.name, WorldEvent::Mains { on });
                    }
                    if on && !ups.output_on && ups.on_at.is_none() && !ups.stay_off {
                        ups.on_at = Some(now + ups.start_delay());
                    }
                }
                StepKind::Fault(FaultAction::PowerCycle { host }) => {
                    // A hard reset: the host goes down at once and boots again.
                    record(
                        now,
                        "scenario",
                        WorldEvent::Fault {
                            what: format!("power cycle {host}"),
                        },
                    );
                    if !down.contains(&host) {
                        sim.crash(host.as_str());
                        down.push(host.clone());
                    }
                    let boot_s = scenario
                        .hosts
                        .iter()
                        .find(|h| h.name == host)
                        .map_or(0.0, |h| h.boot_s);
                    let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
                    w.hosts.insert(host.clone(), HostState::Booting(now));
                    w.record(now, &host, WorldEvent::Booting);
                    boots.insert(host, now + secs_to_ms(boot_s));
                }
                StepKind::Fault(action) => {
                    apply_fault(
                        &mut sim,
                        &world,
                        &controls,
                        &action,
                        scenario.max_latency_ms,
                    );
                    record(
                        now,
                        "scenario",
                        WorldEvent::Fault {
                            what: describe_fault(&action),
                        },
                    );
                }
            }
        }
        // The UPSes and the hosts' power, every MODEL_PERIOD_MS of simulated time and at
        // once when something is due (a step, a scheduled output change, a host that
        // halted or boots): exact event times, without the cost of every 10 ms tick.
        // Commands the modelled serial units received (through nutdrv_qx).
        let writes =
            std::mem::take(&mut world.lock().unwrap_or_else(|e| e.into_inner()).device_inbox);
        for write in writes {
            let Some(ups) = upses.iter_mut().find(|u| u.spec.name == write.ups) else {
                continue;
            };
            if let Some(command) = megatec_command(&write.bytes) {
                if let Some(event) = ups.obey(command, write.t_ms) {
                    record(write.t_ms, &write.ups, event);
                }
                model_dirty = true;
            }
        }
        let due = stepped
            || now.saturating_sub(last_now) >= MODEL_PERIOD_MS
            || upses.iter().any(|u| {
                u.off_at.is_some_and(|t| now >= t)
                    || u.on_at.is_some_and(|t| now >= t)
                    || (u.output_on && u.battery_dead_ms.is_some_and(|t| now >= t))
            })
            || boots.values().chain(reboots.values()).any(|t| now >= *t)
            || model_dirty;
        model_dirty = false;
        if due {
            let states: BTreeMap<String, HostState> = world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .hosts
                .clone();
            let dt = now.saturating_sub(last_now);
            last_now = now;
            for index in 0..upses.len() {
                let load = load_on(scenario, &upses, &states, index);
                let ups = &mut upses[index];
                if let Some(b) = ups.spec.battery.clone() {
                    if ups.mains_on {
                        ups.charge =
                            (ups.charge + b.recharge_per_h * dt as f64 / 3_600_000.0).min(100.0);
                    } else if ups.output_on {
                        let per_ms = 100.0 / (b.runtime_s * 1000.0) * (load / b.at_load_w);
                        ups.charge = (ups.charge - per_ms * dt as f64).max(0.0);
                        if ups.charge <= 0.0 {
                            ups.output_on = false;
                            record(now, &ups.spec.name, WorldEvent::BatteryExhausted);
                        }
                    }
                }
                if ups.battery_dead_ms.is_some_and(|t| now >= t) && !ups.mains_on && ups.output_on {
                    ups.output_on = false;
                    record(now, &ups.spec.name, WorldEvent::BatteryExhausted);
                }
                if ups.off_at.is_some_and(|t| now >= t) {
                    ups.off_at = None;
                    if ups.output_on {
                        ups.output_on = false;
                        record(now, &ups.spec.name, WorldEvent::OutputOff);
                    }
                    // shutdown.return: the load comes back delay.start after mains does.
                    if ups.mains_on && ups.spec.returns && !ups.stay_off {
                        ups.on_at = Some(now + ups.start_delay());
                    }
                }
                if ups.on_at.is_some_and(|t| now >= t) && ups.mains_on {
                    ups.on_at = None;
                    ups.output_on = true;
                    record(now, &ups.spec.name, WorldEvent::OutputOn);
                }
                let path = match ups.spec.driver {
                    DriverKind::DummyUps => format!("{CONFPATH}/{}", device_file(&ups.spec.name)),
                    DriverKind::NutdrvQx => serial_port(&ups.spec.name),
                };
                let key = (ups.host.clone(), path);
                let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
                if ups.dead {
                    w.files.remove(&key);
                } else {
                    let text = match ups.spec.driver {
                        DriverKind::DummyUps => ups.device_text(load),
                        DriverKind::NutdrvQx => ups.qx_text(load),
                    };
                    if w.files.get(&key) != Some(&text) {
                        w.files.insert(key, text);
                    }
                }
            }
            // Host power: a host is up while any UPS that feeds it has its output on.
            for host in &scenario.hosts {
                let powered = scenario
                    .feeds_of(host)
                    .iter()
                    .any(|f| upses.iter().any(|u| &u.spec.name == f && u.output_on));
                let state = states
                    .get(&host.name)
                    .copied()
                    .unwrap_or(HostState::Running);
                let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
                match (powered, state) {
                    (false, HostState::Running) => {
                        w.hosts.insert(host.name.clone(), HostState::PowerLost(now));
                        w.record(now, &host.name, WorldEvent::PowerLostRunning);
                    }
                    (false, HostState::ShuttingDown(since)) => {
                        let total_ms = w.shutdown_ms.get(&host.name).copied().unwrap_or(0);
                        w.hosts.insert(host.name.clone(), HostState::PowerLost(now));
                        w.record(
                            now,
                            &host.name,
                            WorldEvent::PowerLostShuttingDown {
                                done_ms: now - since,
                                total_ms,
                            },
                        );
                    }
                    (false, HostState::Halted(_)) => {
                        w.hosts.insert(host.name.clone(), HostState::Off(now));
                        w.record(now, &host.name, WorldEvent::PowerOffHalted);
                        reboots.remove(&host.name);
                    }
                    (false, HostState::Booting(_)) => {
                        w.hosts.insert(host.name.clone(), HostState::Off(now));
                        boots.remove(&host.name);
                    }
                    (true, HostState::PowerLost(_) | HostState::Off(_)) => {
                        w.hosts.insert(host.name.clone(), HostState::Booting(now));
                        w.record(now, &host.name, WorldEvent::Booting);
                        boots.insert(host.name.clone(), now + secs_to_ms(host.boot_s));
                    }
                    _ => {}
                }
                let state = w.hosts.get(&host.name).copied();
                drop(w);
                if matches!(state, Some(HostState::PowerLost(_) | HostState::Off(_)))
                    && !down.contains(&host.name)
                {
                    sim.crash(host.name.as_str());
                    down.push(host.name.clone());
                }
            }
        }
        // Boots that finish, and POWEROFF_WAIT reboots.
        let mut booted: Vec<String> = boots
            .iter()
            .filter(|(_, t)| now >= **t)
            .map(|(h, _)| h.clone())
            .collect();
        for (host, t) in reboots.clone() {
            if now >= t {
                reboots.remove(&host);
                record(now, &host, WorldEvent::RebootAfterWait);
                booted.push(host);
            }
        }
        for host in booted {
            boots.remove(&host);
            record(now, &host, WorldEvent::Booted);
            world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .hosts
                .insert(host.clone(), HostState::Running);
            for process in PROCESSES {
                if let Some((tx, _)) = controls.get(&(host.clone(), process.to_string())) {
                    tx.send_replace(true);
                }
            }
            if down.contains(&host) {
                sim.bounce(host.as_str());
                down.retain(|h| h != &host);
            } else {
                sim.bounce(host.as_str());
            }
        }
        if now >= end_ms {
            break;
        }
        let quiet = steps.peek().is_none()
            && boots.is_empty()
            && reboots.is_empty()
            && upses
                .iter()
                .all(|u| u.off_at.is_none() && u.on_at.is_none());
        let all_down = scenario.hosts.iter().all(|h| down.contains(&h.name));
        if quiet && all_down {
            settled = true;
            break;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = std::time::Instant::now();
            eprintln!(
                "nut-sim: {}: simulated {} of {} ({:.0} s of wall time)",
                scenario.name,
                crate::verdict::clock(now),
                crate::verdict::clock(end_ms),
                wall_start.elapsed().as_secs_f64()
            );
        }
        let wall_limit = scenario
            .wall_limit_s
            .map_or(WALL_LIMIT, std::time::Duration::from_secs);
        if wall_start.elapsed() > wall_limit {
            return Err(format!(
                "stopped after {} s of wall time (wall_limit_s) at simulated {}; a longer run needs a larger wall_limit_s",
                wall_limit.as_secs(),
                crate::verdict::clock(now)
            ));
        }
        sim.step().map_err(|e| format!("simulation failed: {e}"))?;
        // A CMDSCRIPT that runs `upsmon -c fsd` signals that host's upsmon.
        let requests =
            std::mem::take(&mut world.lock().unwrap_or_else(|e| e.into_inner()).fsd_requests);
        for host in requests {
            apply_fault(
                &mut sim,
                &world,
                &controls,
                &FaultAction::Signal {
                    host,
                    process: "upsmon".to_string(),
                    signal: crate::scenario::SignalName::Fsd,
                },
                scenario.max_latency_ms,
            );
        }
        // Halted hosts stop running anything; each runs its late-shutdown hook.
        let halted: Vec<(String, u64)> = {
            let w = world.lock().unwrap_or_else(|e| e.into_inner());
            w.hosts
                .iter()
                .filter_map(|(h, s)| match s {
                    HostState::Halted(t) if !down.contains(h) => Some((h.clone(), *t)),
                    _ => None,
                })
                .collect()
        };
        for (host, t) in halted {
            model_dirty = true;
            sim.crash(host.as_str());
            down.push(host.clone());
            // The late-shutdown hook, through the real code of `upsmon -K`, `upsdrvctl
            // shutdown` and the driver's `-k`.
            let sys = SimSys::at(&host, "upsdrvctl", world.clone(), t);
            let mut launcher = SimLauncher {
                sys: SimSys::at(&host, "dummy-ups", world.clone(), t),
                commands: Vec::new(),
                world: world.clone(),
                host: host.clone(),
                at_ms: t,
            };
            let (flag, _) =
                nut_bins::upsdrvctl::late_shutdown(&sys, &nut_env(), &mut launcher, |_| false);
            if !flag {
                continue;
            }
            for (name, _cmd) in launcher.commands {
                let Some(ups) = upses.iter_mut().find(|u| u.spec.name == name) else {
                    continue;
                };
                if ups.mains_on && !ups.spec.returns {
                    record(t, &name, WorldEvent::KillIgnoredOnMains);
                    continue;
                }
                let delay_ms = secs_to_ms(ups.spec.delay_shutdown_s);
                ups.off_at = Some(t + delay_ms);
                record(t, &name, WorldEvent::LateShutdown { delay_ms });
            }
            let spec = scenario.hosts.iter().find(|h| h.name == host);
            if let Some(wait) = spec.and_then(|h| h.poweroff_wait_s) {
                reboots.insert(host.clone(), t + secs_to_ms(wait));
            }
        }
    }
    let end = sim.elapsed().as_millis() as u64;
    let w = world.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Outcome {
        timeline: w.timeline.clone(),
        hosts: w.hosts.clone(),
        addresses,
        end_ms: end,
        files: w.files.clone(),
        mains_returned_ms: mains_returned(scenario),
        settled,
    })
}

/// When mains came back for good on every UPS (the last mains change of each is "on"
/// and some UPS lost it during the run), for the liveness check.
fn mains_returned(scenario: &Scenario) -> Option<u64> {
    let mut latest = None::<u64>;
    let mut any_outage = false;
    for ups in &scenario.upses {
        let outage_in_timeline = ups.timeline.iter().any(|s| {
            s.status
                .as_deref()
                .is_some_and(|st| st.split_whitespace().any(|t| t == "OB"))
        });
        let last_timeline_on = ups
            .timeline
            .iter()
            .rev()
            .find_map(|s| s.status.as_deref().map(|st| (s.at_s, !st.contains("OB"))));
        let last_mains = ups.mains.iter().max_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let off_any = ups.mains.iter().any(|m| !m.on) || outage_in_timeline;
        any_outage |= off_any;
        let back_at = match (last_mains, last_timeline_on) {
            (Some(m), _) if m.on => Some(m.at_s),
            (Some(_), _) => return None,
            (None, Some((at, true))) if outage_in_timeline => Some(at),
            (None, Some((_, false))) => return None,
            _ => None,
        };
        if let Some(at) = back_at {
            let at = secs_to_ms(at);
            latest = Some(latest.map_or(at, |l| l.max(at)));
        }
    }
    if any_outage {
        latest
    } else {
        None
    }
}

/// The load on UPS `index` in watts: every up host it feeds, each host's draw shared
/// among its supplies that have power.
fn load_on(
    scenario: &Scenario,
    upses: &[UpsModel],
    states: &BTreeMap<String, HostState>,
    index: usize,
) -> f64 {
    let name = &upses[index].spec.name;
    scenario
        .hosts
        .iter()
        .filter(|h| {
            matches!(
                states.get(&h.name),
                Some(HostState::Running | HostState::ShuttingDown(_) | HostState::Booting(_))
            )
        })
        .filter_map(|h| {
            let feeds = scenario.feeds_of(h);
            if !feeds.contains(name) {
                return None;
            }
            let live = feeds
                .iter()
                .filter(|f| upses.iter().any(|u| &u.spec.name == *f && u.output_on))
                .count()
                .max(1);
            Some(h.draw_w / live as f64)
        })
        .sum()
}

fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
    world: &SharedWorld,
    controls: &BTreeMap<(String, String), (watch::Sender<bool>, SignalSlot)>,
    action: &FaultAction,
    max_latency_ms: u64,
) {
    match action {
        FaultAction::Partition { a, b } => sim.partition(a.as_str(), b.as_str()),
        FaultAction::Repair { a, b } => sim.repair(a.as_str(), b.as_str()),
        FaultAction::Latency { a, b, ms } => {
            if *ms == 0 {
                sim.set_link_latency(a.as_str(), b.as_str(), Duration::from_millis(1));
                sim.set_link_max_message_latency(
                    a.as_str(),
                    b.as_str(),
                    Duration::from_millis(max_latency_ms.max(1)),
                );
            } else {
                sim.set_link_latency(a.as_str(), b.as_str(), Duration::from_millis(*ms));
            }
        }
        FaultAction::PartitionOneway { from, to } => {
            sim.partition_oneway(from.as_str(), to.as_str())
        }
        FaultAction::RepairOneway { from, to } => sim.repair_oneway(from.as_str(), to.as_str()),
        FaultAction::Crash { host, process } | FaultAction::Restart { host, process } => {
            let running = matches!(action, FaultAction::Restart { .. });
            if let Some((tx, _)) = controls.get(&(host.clone(), process.clone())) {
                tx.send_replace(running);
            }
        }
        FaultAction::Signal {
            host,
            process,
            signal,
        } => {
            if let Some((_, slot)) = controls.get(&(host.clone(), process.clone())) {
                if let Some(tx) = slot.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = tx.try_send(signal.signal());
                }
            }
        }
        // Handled by the run loop (it owns boots).
        FaultAction::PowerCycle { .. } => {}
        FaultAction::WriteFile { host, path, text } => {
            world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .files
                .insert((host.clone(), path.clone()), text.clone().into_bytes());
        }
    }
}

fn describe_fault(action: &FaultAction) -> String {
    match action {
        FaultAction::Partition { a, b } => format!("partition {a} <-> {b}"),
        FaultAction::Repair { a, b } => format!("repair {a} <-> {b}"),
        FaultAction::PartitionOneway { from, to } => format!("partition {from} -> {to}"),
        FaultAction::RepairOneway { from, to } => format!("repair {from} -> {to}"),
        FaultAction::Latency { a, b, ms: 0 } => format!("latency {a} <-> {b} back to normal"),
        FaultAction::Latency { a, b, ms } => format!("latency {a} <-> {b}: {ms} ms per message"),
        FaultAction::Crash { host, process } => format!("crash {process} on {host}"),
        FaultAction::Restart { host, process } => format!("restart {process} on {host}"),
        FaultAction::Signal {
            host,
            process,
            signal,
        } => format!("{process} -c {} on {host}", signal.name()),
        FaultAction::WriteFile { host, path, .. } => format!("edit {path} on {host}"),
        FaultAction::PowerCycle { host } => format!("power cycle {host}"),
    }
}

/// IP address text of each host, from an outcome (used to name peers).
pub fn ip_names(outcome: &Outcome) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = outcome
        .addresses
        .iter()
        .map(|(host, ip)| (ip.clone(), host.clone()))
        .collect();
    // Longest addresses first so 192.168.0.10 is replaced before 192.168.0.1.
    pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    pairs
}
