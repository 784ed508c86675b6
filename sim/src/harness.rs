//! Runs a [`Scenario`] on turmoil: builds NUT config texts, starts nut-bins' daemon
//! functions as simulated processes, steps the simulation, applies the device timeline,
//! faults and the power model, and collects the timeline.
//!
//! The daemons are exactly the functions the real binaries call (`driver::run_dummy`,
//! `upsd::serve`, `upsmon::run`); only the seams differ.

use crate::scenario::{FaultAction, HostSpec, Role, Scenario};
use crate::world::{DeviceState, Entry, HostState, SharedWorld, SimDevice, SimNet, SimSys, World};
use nut_bins::driver::{run_dummy, DummyConfig};
use nut_bins::upsd::{serve, UpsdRuntime};
use nut_bins::upsmon::{run as run_upsmon, Control};
use nut_core::config::{
    parse_ups_conf, parse_upsd_users, parse_upsmon_conf_for_startup, UpsmonConf,
};
use nut_core::desc::Descriptions;
use nut_core::dummy::DummyMode;
use nut_core::upsd::{UpsDefinition, UpsdCore, UpsdSettings};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::watch;

/// upsd's port in the simulation.
pub const UPSD_PORT: u16 = 3493;
/// Fixed epoch, so nothing depends on the wall clock.
pub const EPOCH_S: u64 = 1_000_000_000;
/// Wall-clock guard: a scenario taking longer than this is reported as an error.
pub const WALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);
/// Path of POWERDOWNFLAG on simulated hosts.
pub const POWERDOWNFLAG: &str = "/etc/killpower";

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Timeline entries in order.
    pub timeline: Vec<Entry>,
    /// Final state per host.
    pub hosts: BTreeMap<String, HostState>,
    /// IP address of each host (for naming peers in upsd's log lines).
    pub addresses: BTreeMap<String, String>,
    /// Simulated milliseconds covered.
    pub end_ms: u64,
}

const PROCESSES: [&str; 3] = ["dummy-ups", "upsd", "upsmon"];

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
    text
}

/// The upsmon configuration of a host, parsed by the real parser.
pub fn upsmon_conf(scenario: &Scenario, host: &HostSpec) -> Result<UpsmonConf, String> {
    let text = upsmon_conf_text(scenario, host);
    let name = format!("{}:upsmon.conf", host.name);
    let parsed = parse_upsmon_conf_for_startup(&name, text.as_bytes());
    if parsed.has_errors() {
        let errors: Vec<String> = parsed.errors().map(|d| d.to_string()).collect();
        return Err(errors.join("\n"));
    }
    Ok(parsed.value)
}

fn upsd_core(scenario: &Scenario, seed: u64) -> Result<UpsdCore, String> {
    let ups_conf = format!(
        "[{}]\n\tdriver = dummy-ups\n\tport = sim.dev\n\tdesc = \"simulated UPS\"\n",
        scenario.ups.name
    );
    let users = "[monprimary]\n\tpassword = pp\n\tupsmon primary\n\
                 [monsecondary]\n\tpassword = sp\n\tupsmon secondary\n";
    let ups = parse_ups_conf("ups.conf", ups_conf.as_bytes());
    let users = parse_upsd_users("upsd.users", users.as_bytes());
    if ups.has_errors() || users.has_errors() {
        return Err("internal: generated upsd configs do not parse".to_string());
    }
    let upses = ups
        .value
        .upses
        .iter()
        .map(|s| UpsDefinition {
            name: s.name.clone(),
            driver: s.driver.clone().unwrap_or_default(),
            desc: s.desc.clone(),
        })
        .collect();
    Ok(UpsdCore::new(
        upses,
        users.value,
        UpsdSettings::default(),
        Descriptions::builtin(),
        seed,
    ))
}

fn device_text(vars: &BTreeMap<String, String>, status: &str) -> Vec<u8> {
    let mut text = String::new();
    for (name, value) in vars {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&format!("ups.status: {status}\n"));
    text.into_bytes()
}

/// Runs `start` whenever `run` is true; stops it (dropping its future and so all its
/// tasks, as a process exit would) when `run` turns false.
async fn supervise<F, Fut>(mut run: watch::Receiver<bool>, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    loop {
        while !*run.borrow_and_update() {
            if run.changed().await.is_err() {
                return;
            }
        }
        let process = start();
        let exited = tokio::select! {
            biased;
            _ = run.wait_for(|running| !running) => false,
            _ = process => true,
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
    let wall_start = std::time::Instant::now();
    let world: SharedWorld = Arc::new(Mutex::new(World::default()));
    let device = Arc::new(Mutex::new(DeviceState::default()));
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(365 * 86_400))
        .tick_duration(Duration::from_millis(scenario.tick_ms))
        .rng_seed(scenario.seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_S))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(scenario.max_latency_ms.max(1)))
        .tcp_capacity(1024)
        .build();
    let mut controls: BTreeMap<(String, String), watch::Sender<bool>> = BTreeMap::new();
    let mut ups_vars = scenario.ups.vars.clone();
    {
        let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
        for host in &scenario.hosts {
            w.hosts.insert(host.name.clone(), HostState::Running);
            w.shutdown_ms
                .insert(host.name.clone(), secs_to_ms(host.shutdown_s));
        }
    }
    for host in &scenario.hosts {
        let mut receivers = BTreeMap::new();
        for process in PROCESSES {
            let (tx, rx) = watch::channel(true);
            controls.insert((host.name.clone(), process.to_string()), tx);
            receivers.insert(process, rx);
        }
        let upsmon = upsmon_conf(scenario, host)?;
        let is_primary = host.role == Role::Primary;
        let core = upsd_core(scenario, scenario.seed)?;
        let sys = SimSys::new(&host.name, world.clone());
        let device = device.clone();
        let dummy = DummyConfig {
            ups: scenario.ups.name.clone(),
            port: "sim.dev".to_string(),
            mode: DummyMode::Once,
            pollinterval_s: scenario.ups.pollinterval_s,
            overrides: Vec::new(),
            defaults: Vec::new(),
        };
        sim.host(host.name.as_str(), move || {
            let mut set = tokio::task::JoinSet::new();
            if is_primary {
                let (sys_d, dev, cfg) = (sys.clone(), device.clone(), dummy.clone());
                set.spawn(supervise(receivers["dummy-ups"].clone(), move || {
                    run_dummy(
                        SimNet,
                        sys_d.clone(),
                        cfg.clone(),
                        SimDevice::new(dev.clone()),
                    )
                }));
                let (sys_u, core_u) = (sys.clone(), core.clone());
                set.spawn(supervise(receivers["upsd"].clone(), move || {
                    let runtime = UpsdRuntime {
                        listen: vec![format!("0.0.0.0:{UPSD_PORT}")],
                        core: core_u.clone(),
                        maxconn: 1024,
                        tls: None,
                    };
                    // No reloads in the simulation: the sender is dropped at once.
                    let (_, reloads) = tokio::sync::mpsc::channel(1);
                    serve(SimNet, sys_u.clone(), runtime, reloads)
                }));
            }
            let (sys_m, conf_m) = (sys.clone(), upsmon.clone());
            set.spawn(supervise(receivers["upsmon"].clone(), move || {
                let (_tx, rx) = watch::channel(Control::default());
                let sys = sys_m.clone();
                let conf = conf_m.clone();
                async move {
                    // No reloads in the simulation: the sender is dropped at once.
                    let (_, reloads) = tokio::sync::mpsc::channel(1);
                    let result = run_upsmon(SimNet, sys, conf, rx, None, reloads).await;
                    drop(_tx);
                    result
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

    let record = |t: u64, host: &str, what: String| {
        world
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(t, host, what)
    };
    let primary = scenario.primary().name.clone();
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
                    let mut dev = device.lock().unwrap_or_else(|e| e.into_inner());
                    match status {
                        Some(status) => {
                            mains_on = !status.split_whitespace().any(|t| t == "OB");
                            current_status = status.clone();
                            dev.dead = false;
                            dev.text = device_text(&ups_vars, &status);
                            dev.version += 1;
                            drop(dev);
                            record(now, "ups", format!("status {status}"));
                        }
                        None => {
                            dev.dead = true;
                            drop(dev);
                            record(
                                now,
                                "ups",
                                format!("stops answering (last status {current_status})"),
                            );
                        }
                    }
                }
                StepKind::Fault(action) => {
                    apply_fault(&mut sim, &controls, &action);
                    record(now, "scenario", describe_fault(&action));
                }
            }
        }
        // Power model: the load loses power when the battery is exhausted on battery,
        // or when the late shutdown powers the UPS off after the primary halted.
        if output_off_at.is_none() {
            if let Some(dead) = battery_dead_ms {
                if now >= dead && !mains_on {
                    output_off_at = Some(now);
                    record(now, "ups", "battery exhausted: load off".to_string());
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
                let flag = world
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .files
                    .contains_key(&(host.clone(), POWERDOWNFLAG.to_string()));
                if flag {
                    let off = t + secs_to_ms(scenario.ups.delay_shutdown_s);
                    output_off_at = Some(off);
                    record(
                        t,
                        "ups",
                        format!(
                            "late shutdown (upsdrvctl shutdown): load off in {} s",
                            scenario.ups.delay_shutdown_s
                        ),
                    );
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
    w.record(now, "ups", "output off".to_string());
    for (host, state) in hosts {
        let what = match state {
            HostState::Running => "POWER LOST while running".to_string(),
            HostState::ShuttingDown(since) => {
                let total = w.shutdown_ms.get(&host).copied().unwrap_or(0);
                format!(
                    "POWER LOST while shutting down ({:.1} s of {:.1} s done)",
                    (now - since) as f64 / 1000.0,
                    total as f64 / 1000.0
                )
            }
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
    controls: &BTreeMap<(String, String), watch::Sender<bool>>,
    action: &FaultAction,
) {
    match action {
        FaultAction::Partition { a, b } => sim.partition(a.as_str(), b.as_str()),
        FaultAction::Repair { a, b } => sim.repair(a.as_str(), b.as_str()),
        FaultAction::Crash { host, process } | FaultAction::Restart { host, process } => {
            let running = matches!(action, FaultAction::Restart { .. });
            if let Some(tx) = controls.get(&(host.clone(), process.clone())) {
                tx.send_replace(running);
            }
        }
    }
}

fn describe_fault(action: &FaultAction) -> String {
    match action {
        FaultAction::Partition { a, b } => format!("partition {a} <-> {b}"),
        FaultAction::Repair { a, b } => format!("repair {a} <-> {b}"),
        FaultAction::Crash { host, process } => format!("crash {process} on {host}"),
        FaultAction::Restart { host, process } => format!("restart {process} on {host}"),
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
