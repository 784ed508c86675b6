//! The usbhid-ups shell: a USB HID transport (or a recorded device), the driver socket,
//! the poll timer. Device logic lives in `nut_core::hidups`; this module only moves
//! reports and runs the walks it asks for.

use crate::driver::{
    broadcast, open_socket, pollinterval, section_options, send_lines, DriverArgs, Input, Ready,
    NOT_PUBLISHED,
};
use crate::qx::report;
use crate::seam::{Net, Sys};
use crate::wiring::{NutEnv, Signal};
use nut_core::dummy::{tracking, DriverState};
use nut_core::event::Event;
use nut_core::hidups::{
    HidOptions, HidUps, Matcher, ReadError, UsbDevice, Walk, Walked, Write, DRIVER_NAME, OPTIONS,
};
use nut_core::qx::Note;
use nut_core::sock::{DriverLine, ServerLine};
use nut_core::transcript::HidRecording;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long one interrupt-in read waits for a report, in milliseconds (libhid.c
/// `HIDGetEvents`).
pub const INTERRUPT_WAIT_MS: u64 = 750;

/// A link to a HID UPS.
pub trait HidPort: Send + 'static {
    /// The device found.
    fn device(&self) -> &UsbDevice;
    /// Its report descriptor.
    fn descriptor(&self) -> &[u8];
    /// GET_REPORT of a feature report (first byte of the result: its ID).
    fn get_feature(&mut self, id: u8) -> impl Future<Output = Result<Vec<u8>, ReadError>> + Send;
    /// The USB string descriptor `index` as ASCII (libusb's
    /// `libusb_get_string_descriptor_ascii`, which NUT's `HIDGetIndexString` calls).
    fn get_string(&mut self, index: u8) -> impl Future<Output = Result<String, ReadError>> + Send;
    /// SET_REPORT of a feature report (first byte: its ID).
    fn set_feature(
        &mut self,
        report: Vec<u8>,
    ) -> impl Future<Output = Result<(), ReadError>> + Send;
    /// One interrupt-in read, waiting up to [`INTERRUPT_WAIT_MS`]; `None`: nothing came.
    fn interrupt(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, ReadError>> + Send;
    /// Finds and opens the same device again (after it was unplugged).
    fn reconnect(&mut self) -> impl Future<Output = Result<(), String>> + Send;
    /// Waits between the steps of a composite command (the port's own clock).
    fn pause(&mut self, ms: u64) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(Duration::from_millis(ms))
    }
}

/// This implementation's own option: serve a recorded device (hw-fixtures/hid format)
/// instead of a USB one, to try a configuration without the UPS.
pub const REPLAY_OPTION: &str = "replay";

/// usbhid-ups's runtime as ups.conf and the command line define it.
#[derive(Debug, Clone)]
pub struct HidWiring {
    /// UPS section name.
    pub ups: String,
    /// Seconds between polls.
    pub pollinterval_s: u64,
    /// The driver's own options.
    pub options: HidOptions,
    /// Which USB device.
    pub matcher: Matcher,
    /// A recording to serve instead of USB.
    pub replay: Option<String>,
    /// `driver.parameter.*`, `driver.flag.*`, `default.*`.
    pub initial: Vec<(String, String)>,
    /// `override.*` values.
    pub overrides: Vec<(String, String)>,
    /// Where the socket goes.
    pub statepath: String,
}

/// Reads ups.conf of `env` and builds usbhid-ups's runtime (the binary's one wiring).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<HidWiring, String> {
    let (ups, options, statepath) = section_options(sys, env, args)?;
    let mut initial = Vec::new();
    let mut overrides = Vec::new();
    let mut poll = None;
    let mut replay = None;
    let mut has_port = false;
    for (key, value) in &options {
        if let Some(var) = key.strip_prefix("override.") {
            overrides.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        if let Some(var) = key.strip_prefix("default.") {
            initial.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        let known = NOT_PUBLISHED.contains(&key.as_str())
            || key == "pollinterval"
            || (key == REPLAY_OPTION && value.is_some())
            || OPTIONS
                .iter()
                .any(|(name, takes)| name == key && *takes == value.is_some());
        if !known {
            let what = if value.is_some() {
                "variable name"
            } else {
                "flag"
            };
            return Err(format!(
                "UPS [{ups}]: '{key}' is not a valid {what} for this driver"
            ));
        }
        match (key.as_str(), value) {
            ("driver", Some(v)) if v != DRIVER_NAME => {
                return Err(format!(
                    "Error: UPS [{ups}] is for driver {v}, but I'm {DRIVER_NAME}!"
                ))
            }
            ("port", Some(v)) => {
                has_port = true;
                initial.push(("driver.parameter.port".to_string(), v.clone()));
            }
            ("pollinterval", Some(v)) => poll = Some(v.clone()),
            (REPLAY_OPTION, Some(v)) => replay = Some(env.resolve(v)),
            (k, Some(v)) if !NOT_PUBLISHED.contains(&k) => {
                initial.push((format!("driver.parameter.{k}"), v.clone()));
            }
            (k, None) => initial.push((format!("driver.flag.{k}"), "enabled".to_string())),
            _ => {}
        }
    }
    if !has_port {
        return Err(format!("no port given for UPS [{ups}]"));
    }
    let mut hid_options =
        HidOptions::from_options(&options).map_err(|e| format!("UPS [{ups}]: {e}"))?;
    hid_options.upsname = ups.clone();
    let matcher = Matcher::from_options(&options).map_err(|e| format!("UPS [{ups}]: {e}"))?;
    Ok(HidWiring {
        pollinterval_s: pollinterval(&ups, poll)?,
        ups,
        options: hid_options,
        matcher,
        replay,
        initial,
        overrides,
        statepath: env.statepath(statepath.as_deref()),
    })
}

/// The variables a wiring sets before the device is read.
pub fn initial_state(wiring: &HidWiring) -> DriverState {
    let mut state = DriverState::new();
    for (name, value) in &wiring.initial {
        state.set(name, value);
    }
    for (name, value) in &wiring.overrides {
        state.tree_mut().set_immutable(name, value);
    }
    state
}

/// Reads what `walk` needs and runs it.
pub async fn run_walk<P: HidPort>(
    driver: &mut HidUps,
    state: &mut DriverState,
    port: &mut P,
    walk: Walk,
    now_s: u64,
) -> Walked {
    let mut reads = Vec::new();
    for id in driver.reports(walk) {
        let read = port.get_feature(id).await;
        let gone = read == Err(ReadError::Gone);
        reads.push((id, read));
        if gone {
            break;
        }
    }
    // Strings the unit's name needs before the walk (Eaton's iModel).
    let wanted = driver.identity_strings(&reads);
    if !wanted.is_empty() {
        let mut strings = Vec::new();
        for index in wanted {
            strings.push((index, port.get_string(index).await));
        }
        driver.identity_read(&strings);
    }
    let mut walked = driver.walk(state, walk, &reads, now_s);
    // String items (battery.type...): their descriptors, read as NUT reads them while
    // walking, so they are published in the same poll.
    if !walked.strings.is_empty() {
        let mut strings = Vec::new();
        for index in std::mem::take(&mut walked.strings) {
            strings.push((index, port.get_string(index).await));
        }
        walked.lines.extend(driver.strings(state, &strings));
    }
    walked
}

/// Sends `writes` in order (with their pauses); stops at the first failure.
pub async fn send_writes<P: HidPort, S: Sys>(
    sys: &S,
    port: &mut P,
    writes: Vec<Write>,
) -> Result<(), ReadError> {
    for write in writes {
        if write.pause_ms > 0 {
            port.pause(write.pause_ms).await;
        }
        let hex: Vec<String> = write.report.iter().map(|b| format!("{b:02x}")).collect();
        sys.log(format!(
            "{}: Report[set]: ({} bytes) => {}",
            write.what,
            write.report.len(),
            hex.join(" ")
        ));
        port.set_feature(write.report).await?;
    }
    Ok(())
}

/// The driver and its device: start-up, polls, reconnection.
pub struct HidSession<P: HidPort> {
    /// Device logic.
    pub driver: HidUps,
    /// Published state.
    pub state: DriverState,
    /// The link.
    pub port: P,
    connected: bool,
    last_reconnect_s: u64,
    pollinterval_s: u64,
}

impl<P: HidPort> HidSession<P> {
    /// Claims the device and reads it (NUT's `upsdrv_initups`): NUT's fatal message if no
    /// subdriver claims it or the first walk fails.
    pub async fn start<S: Sys>(sys: &S, wiring: &HidWiring, mut port: P) -> Result<Self, String> {
        let device = port.device().clone();
        let Some(sub) = wiring.matcher.claim(&device) else {
            return Err("No matching HID UPS found".to_string());
        };
        let mut driver = HidUps::new(sub, port.descriptor(), device, wiring.options.clone());
        // libhid.c HIDDumpTree, at debug level 1 and up, before the first walk.
        if wiring.options.dump_tree {
            let mut reads = Vec::new();
            for id in driver.tree_reports() {
                reads.push((id, port.get_feature(id).await));
            }
            let lines = driver.tree_lines(&reads);
            report(
                sys,
                &wiring.ups,
                lines
                    .into_iter()
                    .map(|l| Note::Log(nut_core::event::Level::Debug, l))
                    .collect(),
            );
        }
        let mut state = initial_state(wiring);
        let walked = run_walk(&mut driver, &mut state, &mut port, Walk::Init, 0).await;
        report(sys, &wiring.ups, walked.notes);
        if !walked.ok {
            return Err("Can't initialize data from HID UPS".to_string());
        }
        crate::driver::publish_serving(&mut state, wiring.pollinterval_s);
        Ok(HidSession {
            driver,
            state,
            port,
            connected: true,
            last_reconnect_s: 0,
            pollinterval_s: wiring.pollinterval_s,
        })
    }

    /// One poll (NUT's `upsdrv_updateinfo`): lines to broadcast, notes to log.
    pub async fn update(&mut self, now_s: u64) -> (Vec<DriverLine>, Vec<Note>) {
        let mut lines = Vec::new();
        let mut notes = Vec::new();
        if !self.connected {
            // Do not flood reconnection attempts.
            if now_s < self.last_reconnect_s.saturating_add(self.pollinterval_s) {
                return (lines, notes);
            }
            self.last_reconnect_s = now_s;
            if self.port.reconnect().await.is_err() {
                if let Some((line, note)) = self.driver.lost(&mut self.state) {
                    lines.push(line);
                    notes.push(note);
                }
                return (lines, notes);
            }
            let walked = run_walk(
                &mut self.driver,
                &mut self.state,
                &mut self.port,
                Walk::Init,
                now_s,
            )
            .await;
            lines.extend(walked.lines);
            notes.extend(walked.notes);
            if !walked.ok {
                return (lines, notes);
            }
            self.connected = true;
        }
        if self.driver.uses_interrupt() {
            match self.port.interrupt().await {
                Ok(Some(report)) => {
                    let (said, logged) = self.driver.interrupt(&mut self.state, &report);
                    lines.extend(said);
                    notes.extend(logged);
                }
                Ok(None) => {}
                Err(ReadError::Failed) => {}
                Err(ReadError::Gone) => {
                    self.gone(&mut notes);
                    return (lines, notes);
                }
            }
        }
        let walk = self.driver.due(now_s);
        let walked = run_walk(
            &mut self.driver,
            &mut self.state,
            &mut self.port,
            walk,
            now_s,
        )
        .await;
        lines.extend(walked.lines);
        notes.extend(walked.notes);
        if !walked.ok {
            self.gone(&mut notes);
        }
        (lines, notes)
    }

    fn gone(&mut self, notes: &mut Vec<Note>) {
        self.connected = false;
        self.last_reconnect_s = 0;
        // NUT says this at debug level 1.
        notes.push(Note::Log(
            nut_core::event::Level::Debug,
            "Got to reconnect!".to_string(),
        ));
    }

    /// Runs writes; on success the next walk is full.
    async fn write<S: Sys>(&mut self, sys: &S, writes: Vec<Write>) -> bool {
        if writes.is_empty() {
            return true;
        }
        let ok = send_writes(sys, &mut self.port, writes.clone())
            .await
            .is_ok();
        if ok {
            self.driver.written(&writes);
        }
        ok
    }

    /// INSTCMD from upsd: the TRACKING code.
    pub async fn instcmd<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        cmd: &str,
        arg: Option<&str>,
    ) -> i64 {
        let writes = match self.driver.command(&self.state, cmd, arg) {
            Ok(w) => w,
            Err(code) => return code,
        };
        if self.write(sys, writes).await {
            sys.event(Event::DeviceCommand {
                ups: ups.to_string(),
                cmd: cmd.to_string(),
                arg: arg.map(str::to_string),
            });
            tracking::SUCCESS
        } else {
            tracking::FAILED
        }
    }

    /// SET from upsd: the TRACKING code and lines to broadcast.
    pub async fn set<S: Sys>(&mut self, sys: &S, var: &str, value: &str) -> (i64, Vec<DriverLine>) {
        let mut lines = Vec::new();
        let writes = match self.driver.set_var(&mut self.state, var, value, &mut lines) {
            Ok(w) => w,
            Err(code) => return (code, lines),
        };
        // NUT answers a failed device write with STAT_SET_UNKNOWN.
        let code = if self.write(sys, writes).await {
            tracking::SUCCESS
        } else {
            tracking::UNKNOWN
        };
        (code, lines)
    }
}

impl<P: HidPort> HidSession<P> {
    /// One line from upsd (see [`crate::driver::device_line`]).
    pub async fn handle_line<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        line: &ServerLine,
    ) -> nut_core::dummy::DriverReply {
        crate::driver::device_line(self, sys, ups, line).await
    }
}

/// Starts the driver on `port`: reads the device, serves the socket and polls every
/// `pollinterval` until stopped.
pub async fn run_hid<N: Net, S: Sys, P: HidPort>(
    net: N,
    sys: S,
    wiring: HidWiring,
    port: P,
    ready: Ready,
    mut signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let start = tokio::time::Instant::now();
    let now_s = || start.elapsed().as_secs();
    let mut session = HidSession::start(&sys, &wiring, port)
        .await
        .map_err(io::Error::other)?;
    let mut tasks = JoinSet::new();
    let socket_name = format!("{DRIVER_NAME}-{}", wiring.ups);
    let mut input_rx = open_socket(&net, &sys, &socket_name, ready, &mut tasks).await?;
    let mut clients: BTreeMap<u64, mpsc::Sender<String>> = BTreeMap::new();
    let period = Duration::from_secs(wiring.pollinterval_s.max(1));
    // NUT's main loop polls once right after start-up.
    let mut next_poll = tokio::time::Instant::now();
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Stop) | None => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
                    return Ok(());
                }
                Some(_) => {}
            },
            input = input_rx.recv() => {
                let Some(input) = input else { return Ok(()) };
                match input {
                    Input::Connected(id, tx) => { clients.insert(id, tx); }
                    Input::Disconnected(id) => { clients.remove(&id); }
                    Input::Line(id, words) => {
                        let Some(line) = ServerLine::parse(&words) else {
                            sys.log(format!("ignoring malformed line from upsd: {}", words.join(" ")));
                            continue;
                        };
                        let reply = session.handle_line(&sys, &wiring.ups, &line).await;
                        // NUT's setvar publishes the new value before it answers.
                        broadcast(&mut clients, &reply.broadcast);
                        if let Some(tx) = clients.get(&id) {
                            send_lines(tx, &reply.reply);
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_poll) => {
                next_poll += period;
                let (lines, notes) = session.update(now_s()).await;
                report(&sys, &wiring.ups, notes);
                broadcast(&mut clients, &lines);
            }
        }
    }
}

/// `usbhid-ups -d <n>`: reads the device, runs `n` more updates, returns the variables
/// as NUT's `dstate_dump` prints them (`name: value`, sorted).
pub async fn dump<S: Sys, P: HidPort>(
    sys: &S,
    wiring: &HidWiring,
    port: P,
    updates: u32,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let mut session = HidSession::start(sys, wiring, port).await?;
    for _ in 0..=updates {
        let (_, notes) = session.update(start.elapsed().as_secs()).await;
        report(sys, &wiring.ups, notes);
    }
    Ok(session
        .state
        .tree()
        .vars()
        .map(|v| format!("{}: {}\n", v.name, v.value))
        .collect())
}

/// `usbhid-ups -k`: reads the device and tells it to cut the load (NUT's
/// `upsdrv_shutdown`: shutdown.return, else shutdown.reboot, else load.off.delay).
pub async fn kill_power<S: Sys, P: HidPort>(
    sys: &S,
    wiring: &HidWiring,
    port: P,
) -> Result<String, String> {
    let mut session = HidSession::start(sys, wiring, port).await?;
    // NUT's upsdrv_shutdown: the next way when the unit refuses one.
    for writes in session.driver.shutdown_candidates(&session.state) {
        let what = writes
            .iter()
            .map(|w| w.what.clone())
            .collect::<Vec<_>>()
            .join(", ");
        if send_writes(sys, &mut session.port, writes).await.is_ok() {
            return Ok(format!("Shutdown sent: {what}"));
        }
        sys.log(format!("{what}: the UPS refused it"));
    }
    Err("Shutdown failed!".to_string())
}

/// A recorded device (hw-fixtures/hid): answers each GET_REPORT with the last recorded
/// read of that report, records every SET_REPORT, and can be unplugged.
#[derive(Debug, Clone)]
pub struct ReplayHid {
    device: UsbDevice,
    descriptor: Vec<u8>,
    /// String descriptors by index.
    strings: BTreeMap<u8, String>,
    reports: BTreeMap<u8, Vec<u8>>,
    shared: Arc<Mutex<ReplayShared>>,
}

/// What a test sees and steers of a [`ReplayHid`].
#[derive(Debug, Default)]
pub struct ReplayShared {
    /// Every report written, in order.
    pub written: Vec<Vec<u8>>,
    /// Interrupt reports waiting to be read.
    pub interrupts: Vec<Vec<u8>>,
    /// Unplugged: every transfer fails as "no device", reconnection too.
    pub unplugged: bool,
    /// Reports that now read differently from the recording (by ID).
    pub changed: BTreeMap<u8, Vec<u8>>,
    /// Report IDs whose SET_REPORT the unit refuses (a stall).
    pub refuse: Vec<u8>,
    /// GET_REPORT calls served.
    pub reads: usize,
}

impl ReplayHid {
    /// From a recording (the device's identity: `nut_core::hidups::recorded_device`).
    pub fn new(rec: &HidRecording) -> Result<ReplayHid, String> {
        let mut reports = BTreeMap::new();
        for r in &rec.reports {
            reports.insert(r[0], r.clone());
        }
        Ok(ReplayHid {
            device: nut_core::hidups::recorded_device(rec)?,
            descriptor: rec.descriptor.clone(),
            strings: rec.strings.iter().cloned().collect(),
            reports,
            shared: Arc::default(),
        })
    }

    /// The handle a test steers the device through.
    pub fn shared(&self) -> Arc<Mutex<ReplayShared>> {
        self.shared.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayShared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl HidPort for ReplayHid {
    fn device(&self) -> &UsbDevice {
        &self.device
    }

    fn descriptor(&self) -> &[u8] {
        &self.descriptor
    }

    async fn get_feature(&mut self, id: u8) -> Result<Vec<u8>, ReadError> {
        let mut shared = self.lock();
        if shared.unplugged {
            return Err(ReadError::Gone);
        }
        shared.reads += 1;
        if let Some(report) = shared.changed.get(&id) {
            return Ok(report.clone());
        }
        self.reports.get(&id).cloned().ok_or(ReadError::Failed)
    }

    async fn get_string(&mut self, index: u8) -> Result<String, ReadError> {
        if self.lock().unplugged {
            return Err(ReadError::Gone);
        }
        self.strings.get(&index).cloned().ok_or(ReadError::Failed)
    }

    async fn set_feature(&mut self, report: Vec<u8>) -> Result<(), ReadError> {
        let mut shared = self.lock();
        if shared.unplugged {
            return Err(ReadError::Gone);
        }
        if report.first().is_some_and(|id| shared.refuse.contains(id)) {
            return Err(ReadError::Failed);
        }
        shared.written.push(report);
        Ok(())
    }

    async fn interrupt(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let mut shared = self.lock();
        if shared.unplugged {
            return Err(ReadError::Gone);
        }
        if shared.interrupts.is_empty() {
            return Ok(None);
        }
        let report = shared.interrupts.remove(0);
        drop(shared);
        // The device's later feature reads agree with what it announced.
        if let Some(&id) = report.first() {
            self.reports.insert(id, report.clone());
        }
        Ok(Some(report))
    }

    async fn reconnect(&mut self) -> Result<(), String> {
        if self.lock().unplugged {
            Err("No matching HID UPS found".to_string())
        } else {
            Ok(())
        }
    }
}

/// usbhid-ups as a process: wires it from `env` and `args`, opens the device, then
/// drives until stopped (the one path of the binary's daemon mode and of the
/// simulation).
pub async fn process<N: Net, S: Sys, P: HidPort>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    args: DriverArgs,
    open: impl FnOnce(&HidWiring) -> io::Result<P>,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, &args).map_err(io::Error::other)?;
    let port = open(&wiring)?;
    run_hid(net_for(&wiring.statepath), sys, wiring, port, None, signals).await
}

impl<P: HidPort> crate::driver::DeviceSession for HidSession<P> {
    fn state_mut(&mut self) -> &mut DriverState {
        &mut self.state
    }

    async fn device_instcmd<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        cmd: &str,
        arg: Option<&str>,
    ) -> i64 {
        self.instcmd(sys, ups, cmd, arg).await
    }

    async fn device_set<S: Sys>(
        &mut self,
        sys: &S,
        var: &str,
        value: &str,
    ) -> (i64, Vec<DriverLine>) {
        self.set(sys, var, value).await
    }
}
