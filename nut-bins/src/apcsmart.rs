//! The apcsmart shell: the serial transport's steps, the driver socket, the poll timer.
//! Device logic lives in `nut_core::apcsmart`; this module only moves bytes and runs
//! its jobs.

use crate::driver::{device_section, section_state, serve_jobs, DriverArgs, JobDriver, Ready};
use crate::qx::report;
use crate::seam::{Net, Sys};
use crate::wiring::{NutEnv, Signal};
use nut_core::apcsmart::{ApcDriver, ApcOptions, Io, IoResult, Job, Outcome, Progress};
use nut_core::dummy::DriverState;
use nut_core::sock::DriverLine;
use std::future::Future;
use std::io;
use tokio::sync::mpsc;

/// The driver's name (its socket is `apcsmart-<ups>`, its PID file `apcsmart-<ups>.pid`).
pub const DRIVER_NAME: &str = "apcsmart";

/// A link to the unit: carries out one I/O step of the driver.
pub trait ApcPort: Send + 'static {
    /// Does `io` and says how it went.
    fn step(&mut self, io: Io) -> impl Future<Output = IoResult> + Send;
}

/// Options NUT's apcsmart accepts (main.c's and the driver's `addvar` table, NUT 2.8.0).
const KNOWN_VALUES: [&str; 9] = [
    "ttymode",
    "cable",
    "awd",
    "sdtype",
    "advorder",
    "cshdelay",
    "pollinterval",
    "port",
    "driver",
];
const KNOWN_FLAGS: [&str; 2] = ["ignorelb", "nolock"];

/// apcsmart's runtime as ups.conf and the command line define it.
#[derive(Debug, Clone)]
pub struct ApcWiring {
    /// UPS section name.
    pub ups: String,
    /// Serial device path.
    pub port: String,
    /// Seconds between polls.
    pub pollinterval_s: u64,
    /// The driver's own options.
    pub options: ApcOptions,
    /// Variables set before the device is read.
    pub initial: Vec<(String, String)>,
    /// `override.*` values.
    pub overrides: Vec<(String, String)>,
    /// Where the socket goes.
    pub statepath: String,
}

/// Reads ups.conf of `env` and builds apcsmart's runtime (the binary's one wiring).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<ApcWiring, String> {
    let section = device_section(sys, env, args, DRIVER_NAME, &KNOWN_VALUES, &KNOWN_FLAGS)?;
    let options = ApcOptions::from_options(&section.port, &section.options)?;
    Ok(ApcWiring {
        ups: section.ups,
        port: section.port,
        pollinterval_s: section.pollinterval_s,
        options,
        initial: section.initial,
        overrides: section.overrides,
        statepath: section.statepath,
    })
}

fn initial_state(wiring: &ApcWiring) -> DriverState {
    section_state(&wiring.initial, &wiring.overrides)
}

/// Runs one job to completion against the unit.
pub async fn run_job<P: ApcPort>(
    driver: &mut ApcDriver,
    state: &mut DriverState,
    port: &mut P,
    job: &Job,
    now: nut_core::Millis,
) -> (Outcome, Vec<DriverLine>, Vec<nut_core::apcsmart::Note>) {
    let mut results = Vec::new();
    loop {
        match driver.run(state, job, now, &results) {
            Progress::Io(io) => results.push(port.step(io).await),
            Progress::Done {
                outcome,
                lines,
                notes,
            } => return (outcome, lines, notes),
        }
    }
}

/// Takes the unit out of smart mode as the driver exits (NUT's `upsdrv_cleanup`).
pub async fn cleanup<P: ApcPort>(driver: &mut ApcDriver, state: &mut DriverState, port: &mut P) {
    let mut results = Vec::new();
    while let Progress::Io(io) = driver.cleanup(state, 0, &results) {
        results.push(port.step(io).await);
    }
}

/// Reads the unit at start (NUT's `upsdrv_initinfo` and first update); the state, or
/// NUT's fatal message (the unit taken out of smart mode, as NUT's exit does).
async fn started<S: Sys, P: ApcPort>(
    sys: &S,
    wiring: &ApcWiring,
    driver: &mut ApcDriver,
    port: &mut P,
    now: nut_core::Millis,
) -> Result<DriverState, String> {
    let mut state = initial_state(wiring);
    let (outcome, _, notes) = run_job(driver, &mut state, port, &Job::Start, now).await;
    report(sys, &wiring.ups, notes);
    if let Outcome::Fatal(message) = outcome {
        cleanup(driver, &mut state, port).await;
        return Err(message);
    }
    crate::driver::publish_serving(&mut state, wiring.pollinterval_s);
    Ok(state)
}

/// Starts the driver on `port`: finds the unit, reads it, serves the socket and polls
/// every `pollinterval` until stopped. A unit that does not answer ends it with NUT's
/// fatal message, as NUT's does.
pub async fn run_apc<N: Net, S: Sys, P: ApcPort>(
    net: N,
    sys: S,
    wiring: ApcWiring,
    mut port: P,
    ready: Ready,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let mut driver = ApcDriver::new(wiring.options.clone());
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

impl<P: ApcPort> JobDriver<P> for ApcDriver {
    async fn job(
        &mut self,
        state: &mut DriverState,
        port: &mut P,
        job: &Job,
        now: nut_core::Millis,
    ) -> (Outcome, Vec<DriverLine>, Vec<nut_core::apcsmart::Note>) {
        run_job(self, state, port, job, now).await
    }

    async fn exit(&mut self, state: &mut DriverState, port: &mut P) {
        cleanup(self, state, port).await;
    }
}

/// `apcsmart -d <n>`: reads the unit, runs `n` more updates, returns the variables as
/// NUT's `dstate_dump` prints them (`name: value`, sorted).
pub async fn dump<S: Sys, P: ApcPort>(
    sys: &S,
    wiring: &ApcWiring,
    port: &mut P,
    updates: u32,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut driver = ApcDriver::new(wiring.options.clone());
    let mut state = started(sys, wiring, &mut driver, port, now()).await?;
    for _ in 0..=updates {
        let (_, _, notes) = run_job(&mut driver, &mut state, port, &Job::Update, now()).await;
        report(sys, &wiring.ups, notes);
    }
    cleanup(&mut driver, &mut state, port).await;
    Ok(state
        .tree()
        .vars()
        .map(|v| format!("{}: {}\n", v.name, v.value))
        .collect())
}

/// `apcsmart -k`: tells the unit to cut the load, by `sdtype` or `advorder`.
pub async fn kill_power<S: Sys, P: ApcPort>(
    sys: &S,
    wiring: &ApcWiring,
    port: &mut P,
) -> Result<String, String> {
    let mut state = initial_state(wiring);
    let mut driver = ApcDriver::new(wiring.options.clone());
    let (outcome, _, notes) = run_job(&mut driver, &mut state, port, &Job::Shutdown, 0).await;
    report(sys, &wiring.ups, notes);
    cleanup(&mut driver, &mut state, port).await;
    match outcome {
        Outcome::ShutdownSent(message) => Ok(message),
        Outcome::Fatal(message) => Err(message),
        _ => Err("Shutdown failed!".to_string()),
    }
}

/// apcsmart as a process: wires it from `env` and `args`, opens the port, then drives
/// until stopped (the one path of the binary's daemon mode and of the simulation).
pub async fn process<N: Net, S: Sys, P: ApcPort>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    args: DriverArgs,
    open: impl FnOnce(&ApcWiring) -> io::Result<P>,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, &args).map_err(io::Error::other)?;
    let port = open(&wiring)?;
    run_apc(net_for(&wiring.statepath), sys, wiring, port, None, signals).await
}
