//! The nutdrv_qx shell: a serial transport, the driver socket, the poll timer. Device
//! logic lives in `nut_core::qx`; this module only moves bytes and runs its jobs.

use crate::driver::{device_section, section_state, serve_jobs, DriverArgs, JobDriver, Ready};
use crate::seam::{Net, Sys};
use crate::wiring::{NutEnv, Signal};
use nut_core::dummy::DriverState;
use nut_core::event::Event;
use nut_core::qx::{Job, Note, Outcome, Progress, QxDriver, QxOptions, Reply};
use nut_core::sock::DriverLine;
use std::future::Future;
use std::io;
use tokio::sync::mpsc;

/// The driver's name (its socket is `nutdrv_qx-<ups>`, its PID file `nutdrv_qx-<ups>.pid`).
pub const DRIVER_NAME: &str = "nutdrv_qx";

/// A link to the device: writes one query, returns what came back.
pub trait QxPort: Send + 'static {
    /// Sends `query` and reads the reply up to `\r`, within `SER_WAIT_SEC`.
    fn transact(&mut self, query: Vec<u8>) -> impl Future<Output = Reply> + Send;
}

/// Options NUT's nutdrv_qx accepts (main.c's and the driver's `addvar` table, NUT 2.8.0).
/// Anything else in the section is an error, as in NUT.
const KNOWN_VALUES: [&str; 20] = [
    "ondelay",
    "offdelay",
    "pollfreq",
    "protocol",
    "runtimecal",
    "chargetime",
    "idleload",
    "subdriver",
    "vendorid",
    "productid",
    "vendor",
    "product",
    "serial",
    "bus",
    "langid_fix",
    "cablepower",
    "pollinterval",
    "usb_set_altinterface",
    "port",
    "driver",
];
const KNOWN_FLAGS: [&str; 7] = [
    "ignorelb",
    "stayoff",
    "noscanlangid",
    "norating",
    "novendor",
    "ignoresab",
    "nolock",
];
/// nutdrv_qx's runtime as ups.conf and the command line define it.
#[derive(Debug, Clone)]
pub struct QxWiring {
    /// UPS section name.
    pub ups: String,
    /// Serial device path.
    pub port: String,
    /// Seconds between polls.
    pub pollinterval_s: u64,
    /// The driver's own options.
    pub options: QxOptions,
    /// `cablepower`: DTR and RTS levels.
    pub cablepower: (bool, bool),
    /// Variables set before the device is read: `driver.parameter.*`, `driver.flag.*`,
    /// `default.*` (and `override.*`, immutable, in `overrides`).
    pub initial: Vec<(String, String)>,
    /// `override.*` values.
    pub overrides: Vec<(String, String)>,
    /// Where the socket goes.
    pub statepath: String,
    /// A unit on USB behind a bridge (`port = auto` or USB options), else serial.
    pub usb: Option<nut_core::qxusb::QxUsbSpec>,
}

/// Reads ups.conf of `env` and builds nutdrv_qx's runtime (the binary's one wiring).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<QxWiring, String> {
    // The protocols' own settings are known whatever the unit speaks (NUT's
    // upsdrv_makevartable adds every subdriver's).
    let values: Vec<&str> = KNOWN_VALUES
        .iter()
        .chain(nut_core::qx::PROTOCOL_VALUES.iter())
        .copied()
        .collect();
    let flags: Vec<&str> = KNOWN_FLAGS
        .iter()
        .chain(nut_core::qx::PROTOCOL_FLAGS.iter())
        .copied()
        .collect();
    let section = device_section(sys, env, args, DRIVER_NAME, &values, &flags)?;
    let ups = section.ups;
    let mut cablepower = (true, false);
    if let Some((_, Some(v))) = section.options.iter().find(|(k, _)| k == "cablepower") {
        cablepower = match v.to_ascii_lowercase().as_str() {
            "normal" => (true, false),
            "reverse" => (false, true),
            "both" => (true, true),
            "none" => (false, false),
            _ => return Err(format!("Value '{v}' not valid for 'cablepower'")),
        };
    }
    let port_value = section
        .options
        .iter()
        .find(|(k, _)| k == "port")
        .and_then(|(_, v)| v.as_deref());
    let usb = nut_core::qxusb::QxUsbSpec::from_options(port_value, &section.options)
        .map_err(|e| format!("UPS [{ups}]: {e}"))?;
    let qx_options =
        QxOptions::from_options(&section.options).map_err(|e| format!("UPS [{ups}]: {e}"))?;
    Ok(QxWiring {
        pollinterval_s: section.pollinterval_s,
        ups,
        port: section.port,
        options: qx_options,
        cablepower,
        initial: section.initial,
        overrides: section.overrides,
        statepath: section.statepath,
        usb,
    })
}

/// The variables a wiring sets before the device is read.
pub fn initial_state(wiring: &QxWiring) -> DriverState {
    section_state(&wiring.initial, &wiring.overrides)
}

/// Runs one job to completion against the device.
pub async fn run_job<P: QxPort>(
    driver: &mut QxDriver,
    state: &mut DriverState,
    port: &mut P,
    job: &Job,
    now: nut_core::Millis,
) -> (Outcome, Vec<DriverLine>, Vec<Note>) {
    let mut replies = Vec::new();
    loop {
        match driver.run(state, job, now, &replies) {
            Progress::Send(query) => replies.push(port.transact(query).await),
            Progress::Done {
                outcome,
                lines,
                notes,
            } => return (outcome, lines, notes),
        }
    }
}

/// Logs and records a driver's notes (shared by the device drivers).
pub fn report<S: Sys>(sys: &S, ups: &str, notes: Vec<Note>) {
    for note in notes {
        sys.event(match note {
            Note::Log(level, text) => Event::DriverLog { level, text },
            Note::Lost => Event::DeviceLost {
                ups: ups.to_string(),
            },
            Note::Restored => Event::DeviceBack {
                ups: ups.to_string(),
            },
            Note::Command { cmd, arg } => Event::DeviceCommand {
                ups: ups.to_string(),
                cmd,
                arg,
            },
        });
    }
}

/// Starts the driver on `port`: detects the protocol, reads the device, serves the
/// socket and polls every `pollinterval` until stopped. A device nobody claims (or one
/// that cannot be read at start) ends it with NUT's fatal message, as NUT's does.
pub async fn run_qx<N: Net, S: Sys, P: QxPort>(
    net: N,
    sys: S,
    wiring: QxWiring,
    mut port: P,
    ready: Ready,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let mut driver = QxDriver::new(wiring.options.clone());
    let state = started(&sys, &wiring, &mut driver, &mut port, 0)
        .await
        .map_err(io::Error::other)?;
    serve_jobs(
        net,
        sys,
        (DRIVER_NAME, &wiring.ups),
        wiring.pollinterval_s,
        driver,
        state,
        port,
        ready,
        signals,
    )
    .await
}

impl<P: QxPort> JobDriver<P> for QxDriver {
    async fn job(
        &mut self,
        state: &mut DriverState,
        port: &mut P,
        job: &Job,
        now: nut_core::Millis,
    ) -> (Outcome, Vec<DriverLine>, Vec<Note>) {
        run_job(self, state, port, job, now).await
    }
}

/// The start-up job (detection and the first full read); on success the state with
/// the serving parameters, as [`run_qx`] and [`dump`] go on from it.
async fn started<S: Sys, P: QxPort>(
    sys: &S,
    wiring: &QxWiring,
    driver: &mut QxDriver,
    port: &mut P,
    now: nut_core::Millis,
) -> Result<DriverState, String> {
    let mut state = initial_state(wiring);
    let (outcome, _, notes) = run_job(driver, &mut state, port, &Job::Start, now).await;
    report(sys, &wiring.ups, notes);
    if let Outcome::Fatal(message) = outcome {
        return Err(message);
    }
    crate::driver::publish_serving(&mut state, wiring.pollinterval_s);
    Ok(state)
}

/// `nutdrv_qx -d <n>`: reads the device, runs `n` more updates, returns the variables
/// as NUT's `dstate_dump` prints them (`name: value`, sorted).
pub async fn dump<S: Sys, P: QxPort>(
    sys: &S,
    wiring: &QxWiring,
    port: &mut P,
    updates: u32,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut driver = QxDriver::new(wiring.options.clone());
    let mut state = started(sys, wiring, &mut driver, port, now()).await?;
    // NUT's main loop: update, count, and dump once the count is reached.
    for _ in 0..=updates {
        let (_, _, notes) = run_job(&mut driver, &mut state, port, &Job::Update, now()).await;
        report(sys, &wiring.ups, notes);
    }
    Ok(state
        .tree()
        .vars()
        .map(|v| format!("{}: {}\n", v.name, v.value))
        .collect())
}

/// `nutdrv_qx -k`: detects the protocol and tells the UPS to cut the load after
/// `ups.delay.shutdown` (and come back after `ups.delay.start` unless `stayoff`).
pub async fn kill_power<S: Sys, P: QxPort>(
    sys: &S,
    wiring: &QxWiring,
    port: &mut P,
) -> Result<String, String> {
    let mut state = initial_state(wiring);
    let mut driver = QxDriver::new(wiring.options.clone());
    let (outcome, _, notes) = run_job(&mut driver, &mut state, port, &Job::Shutdown, 0).await;
    report(sys, &wiring.ups, notes);
    match outcome {
        Outcome::ShutdownSent(message) => Ok(message),
        Outcome::Fatal(message) => Err(message),
        _ => Err("Shutdown failed!".to_string()),
    }
}

/// nutdrv_qx as a process: wires it from `env` and `args`, opens the port, then drives
/// until stopped (the one path of the binary's daemon mode and of the simulation).
pub async fn process<N: Net, S: Sys, P: QxPort>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    args: DriverArgs,
    open: impl FnOnce(&QxWiring) -> io::Result<P>,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, &args).map_err(io::Error::other)?;
    let port = open(&wiring)?;
    run_qx(net_for(&wiring.statepath), sys, wiring, port, None, signals).await
}
