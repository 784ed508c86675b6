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
use crate::site::{secs_to_ms, Control, Site};
use crate::world::{
    HostState, SharedWorld, SimApcPort, SimFileSource, SimHidPort, SimNet, SimQxPort, SimSnmpPort,
    SimSys, World, WorldEvent,
};
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
    /// Instants of quiet periodic acts the fast driver skipped (0 on turmoil).
    pub skipped: u64,
}

/// The processes a scenario can crash, restart and signal.
pub const PROCESSES: [&str; 7] = [
    "dummy-ups",
    "nutdrv_qx",
    "usbhid-ups",
    "snmp-ups",
    "apcsmart",
    "upsd",
    "upsmon",
];

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
pub(crate) fn hosted<'a>(scenario: &'a Scenario, host: &HostSpec) -> Vec<&'a UpsSpec> {
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

/// Where the modelled USB HID unit of a UPS keeps its reports (the driver finds the
/// unit on the simulated bus; ups.conf says `port = auto` as for a real one).
pub fn hid_device(ups: &str) -> String {
    format!("/dev/bus/usb/sim-{ups}")
}

/// The host name of the modelled SNMP card of a UPS (ups.conf's `port`), also where the
/// model keeps the card's objects.
pub fn snmp_card(ups: &str) -> String {
    format!("card-{ups}")
}

/// The port ups.conf names for a UPS's driver.
pub fn ups_port(ups: &UpsSpec) -> String {
    match ups.driver {
        DriverKind::DummyUps => device_file(&ups.name),
        DriverKind::NutdrvQx => serial_port(&ups.name),
        DriverKind::UsbhidUps => "auto".to_string(),
        DriverKind::SnmpUps => snmp_card(&ups.name),
        DriverKind::Apcsmart => serial_port(&ups.name),
    }
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
            let port = ups_port(ups);
            ups_conf.push_str(&format!(
                "[{}]\n\tdriver = {}\n\tport = {port}\n\tpollinterval = {}\n\tdesc = \"simulated UPS\"\n",
                ups.name,
                ups.driver.program(),
                ups.pollinterval_s
            ));
            // The driver's delays (NUT rounds them to what the unit can do); an APC
            // Smart unit keeps its own (its `p` and `r` settings).
            if !matches!(ups.driver, DriverKind::DummyUps | DriverKind::Apcsmart) {
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
                DriverKind::UsbhidUps => {
                    nut_bins::usbhid::wire(&sys, &nut_env(), &driver_args(&ups.name))
                        .map(drop)
                        .map_err(fail)?
                }
                DriverKind::SnmpUps => {
                    nut_bins::snmp::wire(&sys, &nut_env(), &driver_args(&ups.name))
                        .map(drop)
                        .map_err(fail)?
                }
                DriverKind::Apcsmart => {
                    nut_bins::apcsmart::wire(&sys, &nut_env(), &driver_args(&ups.name))
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

pub(crate) fn driver_args(ups: &str) -> nut_bins::driver::DriverArgs {
    nut_bins::driver::DriverArgs {
        ups: Some(ups.to_string()),
        ..Default::default()
    }
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

/// How often a long run reports its progress on stderr (wall time).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
    let mut site = Site::new(scenario, &world);
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
                if *kind == DriverKind::SnmpUps {
                    let (world, host, ups) = (world.clone(), name.clone(), ups.clone());
                    set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                        let (world, host, ups) = (world.clone(), host.clone(), ups.clone());
                        nut_bins::snmp::process(
                            |_| SimNet,
                            sys.clone(),
                            nut_env(),
                            args.clone(),
                            move |_: &nut_bins::snmp::SnmpWiring| {
                                Ok(SimSnmpPort::new(world, &host, &ups, &snmp_card(&ups), None))
                            },
                            signals,
                        )
                    }));
                    continue;
                }
                if *kind == DriverKind::UsbhidUps {
                    let (world, host, ups) = (world.clone(), name.clone(), ups.clone());
                    set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                        let (world, host, ups) = (world.clone(), host.clone(), ups.clone());
                        nut_bins::usbhid::process(
                            |_| SimNet,
                            sys.clone(),
                            nut_env(),
                            args.clone(),
                            move |_: &nut_bins::usbhid::HidWiring| {
                                Ok(SimHidPort::new(world, &host, &ups, &hid_device(&ups), None))
                            },
                            signals,
                        )
                    }));
                    continue;
                }
                if *kind == DriverKind::Apcsmart {
                    let (world, host, ups) = (world.clone(), name.clone(), ups.clone());
                    set.spawn(supervise(run, slot, sys.clone(), move |signals| {
                        let (world, host, ups) = (world.clone(), host.clone(), ups.clone());
                        nut_bins::apcsmart::process(
                            |_| SimNet,
                            sys.clone(),
                            nut_env(),
                            args.clone(),
                            move |wiring: &nut_bins::apcsmart::ApcWiring| {
                                Ok(SimApcPort::new(world, &host, &ups, &wiring.port, None))
                            },
                            signals,
                        )
                    }));
                    continue;
                }
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

    let end_ms = secs_to_ms(scenario.duration_s);
    let mut last_progress = std::time::Instant::now();
    let mut settled = false;
    let carry_out = |sim: &mut turmoil::Sim<'_>, control: Control| match control {
        Control::Crash(host) => sim.crash(host.as_str()),
        Control::Bounce(host) => {
            for process in PROCESSES {
                if let Some((tx, _)) = controls.get(&(host.clone(), process.to_string())) {
                    tx.send_replace(true);
                }
            }
            sim.bounce(host.as_str());
        }
        Control::Fault(action) => apply_fault(sim, &controls, &action, scenario.max_latency_ms),
    };
    loop {
        let now = sim.elapsed().as_millis() as u64;
        for control in site.before(now, &world) {
            carry_out(&mut sim, control);
        }
        if now >= end_ms {
            break;
        }
        if site.settled() {
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
        for control in site.after(&world) {
            carry_out(&mut sim, control);
        }
    }
    let end = sim.elapsed().as_millis() as u64;
    let w = world.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Outcome {
        timeline: w.timeline.clone(),
        hosts: w.hosts().clone(),
        addresses,
        end_ms: end,
        files: w.files.clone(),
        mains_returned_ms: mains_returned(scenario),
        settled,
        skipped: 0,
    })
}

/// When mains came back for good on every UPS (the last mains change of each is "on"
/// and some UPS lost it during the run), for the liveness check.
pub(crate) fn mains_returned(scenario: &Scenario) -> Option<u64> {
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

fn apply_fault(
    sim: &mut turmoil::Sim<'_>,
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
        // Carried out by the site model (boots, the host's files).
        FaultAction::PowerCycle { .. } | FaultAction::WriteFile { .. } => {}
    }
}

pub(crate) fn describe_fault(action: &FaultAction) -> String {
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
