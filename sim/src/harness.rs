//! Runs a [`Scenario`] on turmoil: writes each host's NUT config files, starts the
//! daemons through nut-bins' `process` functions (the same wiring the binaries use:
//! config files parsed from the host's filesystem, environment, signals), steps the
//! simulation, applies the device timeline, faults and the power model, and collects
//! the timeline.
//!
//! This module never builds a daemon's runtime itself (no `UpsdCore`, `UpsdRuntime`,
//! `DummyConfig` or `UpsmonCore` here; checked by the tidy test): what runs is what the
//! files on the simulated host say, as on a real one.

use crate::scenario::{FaultAction, HostSpec, Role, Scenario};
use crate::world::{HostState, SharedWorld, SimFileSource, SimNet, SimSys, World, WorldEvent};
use nut_bins::wiring::{NutEnv, Signal};
use std::collections::BTreeMap;
use std::future::Future;
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
/// The simulated device's data file (`port` in ups.conf, relative to the config dir).
pub const DEVICE_FILE: &str = "sim.dev";

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
}

/// The processes a scenario can crash, restart and signal.
pub const PROCESSES: [&str; 3] = ["dummy-ups", "upsd", "upsmon"];

fn upsmon_conf_text(scenario: &Scenario, host: &HostSpec) -> String {
    let primary = scenario.primary();
    let (user, password, role) = match host.role {
        Role::Primary => ("monprimary", "pp", "primary"),
        Role::Secondary => ("monsecondary", "sp", "secondary"),
    };
    let mut text = format!(
        "MONITOR {}@{}:{UPSD_PORT} 1 {user} {password} {role}\n\
         SHUTDOWNCMD \"/sbin/shutdown -h +0\"\n\
         POWERDOWNFLAG {POWERDOWNFLAG}\n",
        scenario.ups.name, primary.name
    );
    for (key, value) in &host.upsmon {
        text.push_str(&format!("{key} {value}\n"));
    }
    for line in &host.upsmon_lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The NUT config files of a host, as (path, text): upsmon.conf on every host; ups.conf,
/// upsd.conf and upsd.users on the primary, which runs the driver and upsd.
pub fn config_files(scenario: &Scenario, host: &HostSpec) -> Vec<(String, String)> {
    let conf = |name: &str| format!("{CONFPATH}/{name}");
    let mut files = vec![(conf("upsmon.conf"), upsmon_conf_text(scenario, host))];
    if host.role == Role::Primary {
        files.push((
            conf("ups.conf"),
            format!(
                "[{}]\n\tdriver = dummy-ups\n\tport = {DEVICE_FILE}\n\tpollinterval = {}\n\tdesc = \"simulated UPS\"\n",
                scenario.ups.name, scenario.ups.pollinterval_s
            ),
        ));
        files.push((conf("upsd.conf"), format!("LISTEN 0.0.0.0 {UPSD_PORT}\n")));
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
    for (path, text) in &host.files {
        files.push((path.clone(), text.clone()));
    }
    files
}

/// The upsmon configuration of a host, as upsmon's own wiring reads it from the host's
/// files.
pub fn upsmon_conf(
    scenario: &Scenario,
    host: &HostSpec,
) -> Result<nut_core::config::UpsmonConf, String> {
    let (_, sys) = preflight_world(scenario, host);
    nut_bins::upsmon::wire(&sys, &env())
        .map(|w| w.conf)
        .map_err(|e| format!("host {}: {e}", host.name))
}

/// The NUT environment of every simulated process.
pub fn nut_env() -> NutEnv {
    env()
}

fn env() -> NutEnv {
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
        nut_bins::upsmon::wire(&sys, &env()).map_err(fail)?;
        if host.upssched.is_some() {
            nut_bins::upssched::wire(&sys, &env()).map_err(fail)?;
        }
        if host.role == Role::Primary {
            nut_bins::upsd::wire(&sys, &env(), scenario.seed).map_err(fail)?;
            nut_bins::driver::wire(&sys, &env(), &driver_args(scenario)).map_err(fail)?;
        }
    }
    Ok(())
}

fn driver_args(scenario: &Scenario) -> nut_bins::driver::DriverArgs {
    nut_bins::driver::DriverArgs {
        ups: Some(scenario.ups.name.clone()),
        ..Default::default()
    }
}

fn device_text(vars: &BTreeMap<String, String>, status: &str) -> Vec<u8> {
    let mut text = String::new();
    for (name, value) in vars {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&format!("ups.status: {status}\n"));
    text.into_bytes()
}

/// Runs drivers for upsdrvctl on a halted host: a driver's `-k` is its real kill-power
/// code, in process; the commands the UPS received are collected.
struct SimLauncher {
    sys: SimSys,
    commands: Vec<String>,
}

impl nut_bins::upsdrvctl::Launcher for SimLauncher {
    fn run(
        &mut self,
        _program: &str,
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
            ups,
            ..Default::default()
        };
        match nut_bins::driver::kill_power(&self.sys, &env(), &driver_args) {
            Ok(cmd) => {
                self.commands.push(cmd);
                Ok(nut_bins::upsdrvctl::Outcome::Exited(0))
            }
            Err(_) => Ok(nut_bins::upsdrvctl::Outcome::Exited(1)),
        }
    }

    fn stop(&mut self, _pidfile: &str) -> Result<(), String> {
        Ok(())
    }

    fn pause(&mut self, _duration: Duration) {}

    fn say(&mut self, _line: &str) {}
}

/// The signal channel of a running process (replaced at every start).
type SignalSlot = Arc<Mutex<Option<mpsc::Sender<Signal>>>>;

/// Runs `start` whenever `run` is true; stops it (dropping its future and so all its
/// tasks, as a process exit would) when `run` turns false.
async fn supervise<F, Fut>(
    mut run: watch::Receiver<bool>,
    slot: SignalSlot,
    sys: SimSys,
    start: F,
) where
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
    Status(Option<String>, BTreeMap<String, String>),
    Fault(FaultAction),
}

fn secs_to_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
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
    let mut ups_vars = scenario.ups.vars.clone();
    let primary = scenario.primary().name.clone();
    let device_path = format!("{CONFPATH}/{DEVICE_FILE}");
    {
        let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
        for host in &scenario.hosts {
            w.hosts.insert(host.name.clone(), HostState::Running);
            w.shutdown_ms
                .insert(host.name.clone(), secs_to_ms(host.shutdown_s));
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
        let is_primary = host.role == Role::Primary;
        let (world, seed, name) = (world.clone(), scenario.seed, host.name.clone());
        let args = driver_args(scenario);
        sim.host(host.name.as_str(), move || {
            let mut set = tokio::task::JoinSet::new();
            if is_primary {
                let sys = SimSys::new(&name, "dummy-ups", world.clone());
                let (run, slot) = receivers["dummy-ups"].clone();
                let args = args.clone();
                set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                    let file_sys = sys.clone();
                    nut_bins::driver::process(
                        |_| SimNet,
                        sys.clone(),
                        env(),
                        args.clone(),
                        move |path: &str| SimFileSource::new(file_sys, path),
                        signals,
                    )
                }));
                let sys = SimSys::new(&name, "upsd", world.clone());
                let (run, slot) = receivers["upsd"].clone();
                set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                    nut_bins::upsd::process(|_| SimNet, sys.clone(), env(), seed, signals)
                }));
            }
            let sys = SimSys::new(&name, "upsmon", world.clone());
            let (run, slot) = receivers["upsmon"].clone();
            set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                nut_bins::upsmon::process(SimNet, sys.clone(), env(), signals)
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
    for (order, step) in scenario.ups.timeline.iter().enumerate() {
        steps.push(Step {
            at_ms: secs_to_ms(step.at_s),
            order,
            kind: StepKind::Status(step.status.clone(), step.vars.clone()),
        });
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        steps.push(Step {
            at_ms: secs_to_ms(fault.at_s),
            order: 10_000 + index,
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
    let battery_dead_ms = scenario.ups.battery_dead_at_s.map(secs_to_ms);
    let mut mains_on = true;
    let mut output_off_at: Option<u64> = None;
    let mut crashed: Vec<String> = Vec::new();
    let mut current_status = String::from("OL");
    loop {
        let now = sim.elapsed().as_millis() as u64;
        while let Some(step) = steps.next_if(|s| s.at_ms <= now) {
            match step.kind {
                StepKind::Status(status, vars) => {
                    ups_vars.extend(vars);
                    let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
                    let key = (primary.clone(), device_path.clone());
                    match status {
                        Some(status) => {
                            mains_on = !status.split_whitespace().any(|t| t == "OB");
                            current_status = status.clone();
                            w.files.insert(key, device_text(&ups_vars, &status));
                            w.record(now, "ups", WorldEvent::UpsStatus { status });
                        }
                        None => {
                            // The data file disappears: the driver reads no device.
                            w.files.remove(&key);
                            w.record(
                                now,
                                "ups",
                                WorldEvent::UpsStopsAnswering {
                                    last_status: current_status.clone(),
                                },
                            );
                        }
                    }
                }
                StepKind::Fault(action) => {
                    apply_fault(&mut sim, &world, &controls, &action);
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
        // Power model: the load loses power when the battery is exhausted on battery,
        // or when the late shutdown powers the UPS off after the primary halted.
        if output_off_at.is_none() {
            if let Some(dead) = battery_dead_ms {
                if now >= dead && !mains_on {
                    output_off_at = Some(now);
                    record(now, "ups", WorldEvent::BatteryExhausted);
                }
            }
        }
        if output_off_at.is_some_and(|t| now >= t) {
            power_off_all(&mut sim, &world, now, &mut crashed);
            break;
        }
        if now >= end_ms {
            break;
        }
        if wall_start.elapsed() > WALL_LIMIT {
            return Err(format!(
                "scenario took longer than {WALL_LIMIT:?} of wall time"
            ));
        }
        sim.step().map_err(|e| format!("simulation failed: {e}"))?;
        // A CMDSCRIPT that runs `upsmon -c fsd` signals that host's upsmon.
        let requests = std::mem::take(
            &mut world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .fsd_requests,
        );
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
            );
        }
        // Halted hosts stop running anything; the primary's halt triggers the late
        // shutdown (upsdrvctl shutdown) when POWERDOWNFLAG is set.
        let halted: Vec<(String, u64)> = {
            let w = world.lock().unwrap_or_else(|e| e.into_inner());
            w.hosts
                .iter()
                .filter_map(|(h, s)| match s {
                    HostState::Halted(t) if !crashed.contains(h) => Some((h.clone(), *t)),
                    _ => None,
                })
                .collect()
        };
        for (host, t) in halted {
            sim.crash(host.as_str());
            crashed.push(host.clone());
            if host == primary && output_off_at.is_none() {
                // The halted primary's late-shutdown hook, through the real code of
                // `upsmon -K`, `upsdrvctl shutdown` and the driver's `-k`.
                let sys = SimSys::at(&host, "upsdrvctl", world.clone(), t);
                let mut launcher = SimLauncher {
                    sys: SimSys::at(&host, "dummy-ups", world.clone(), t),
                    commands: Vec::new(),
                };
                let (flag, _) =
                    nut_bins::upsdrvctl::late_shutdown(&sys, &env(), &mut launcher, |_| false);
                if flag && !launcher.commands.is_empty() {
                    let delay_ms = secs_to_ms(scenario.ups.delay_shutdown_s);
                    output_off_at = Some(t + delay_ms);
                    record(t, "ups", WorldEvent::LateShutdown { delay_ms });
                }
            }
        }
        let all_down = crashed.len() == scenario.hosts.len();
        if all_down && steps.peek().is_none() && output_off_at.is_none() {
            break;
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
    })
}

fn power_off_all(
    sim: &mut turmoil::Sim<'_>,
    world: &SharedWorld,
    now: u64,
    crashed: &mut Vec<String>,
) {
    let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
    let hosts: Vec<(String, HostState)> = w.hosts.iter().map(|(h, s)| (h.clone(), *s)).collect();
    w.record(now, "ups", WorldEvent::OutputOff);
    for (host, state) in hosts {
        let what = match state {
            HostState::Running => WorldEvent::PowerLostRunning,
            HostState::ShuttingDown(since) => WorldEvent::PowerLostShuttingDown {
                done_ms: now - since,
                total_ms: w.shutdown_ms.get(&host).copied().unwrap_or(0),
            },
            HostState::Halted(_) | HostState::PowerLost(_) => continue,
        };
        w.hosts.insert(host.clone(), HostState::PowerLost(now));
        w.record(now, &host, what);
        if !crashed.contains(&host) {
            sim.crash(host.as_str());
            crashed.push(host);
        }
    }
}

fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
    world: &SharedWorld,
    controls: &BTreeMap<(String, String), (watch::Sender<bool>, SignalSlot)>,
    action: &FaultAction,
) {
    match action {
        FaultAction::Partition { a, b } => sim.partition(a.as_str(), b.as_str()),
        FaultAction::Repair { a, b } => sim.repair(a.as_str(), b.as_str()),
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
        FaultAction::Crash { host, process } => format!("crash {process} on {host}"),
        FaultAction::Restart { host, process } => format!("restart {process} on {host}"),
        FaultAction::Signal {
            host,
            process,
            signal,
        } => format!("{process} -c {} on {host}", signal.name()),
        FaultAction::WriteFile { host, path, .. } => format!("edit {path} on {host}"),
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
