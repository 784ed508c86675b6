//! The site model both drivers share: the UPSes (battery, mains, output, the commands
//! they receive), the hosts' power (running, shutting down, halted, off, booting), the
//! scenario's timed steps and faults, and each halted host's late shutdown through the
//! real `upsmon -K`, `upsdrvctl shutdown` and driver `-k` code.
//!
//! A driver (turmoil in [`crate::harness`], the event-jumping one in [`crate::fast`])
//! calls [`Site::before`] at each instant before it runs the hosts' software and
//! [`Site::after`] once it has, and carries out the [`Control`]s they return.

use crate::harness::{device_file, nut_env, serial_port, CONFPATH};
use crate::scenario::{DriverKind, FaultAction, Scenario, UpsSpec};
use crate::world::{HostState, SharedWorld, SimHidPort, SimQxPort, SimSys, World, WorldEvent};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

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
        let hid = Path::new(program)
            .file_name()
            .is_some_and(|n| n == "usbhid-ups");
        let snmp = Path::new(program)
            .file_name()
            .is_some_and(|n| n == "snmp-ups");
        let apc = Path::new(program)
            .file_name()
            .is_some_and(|n| n == "apcsmart");
        if let Some(name) = ups.as_ref().filter(|_| apc) {
            let Ok(wiring) = nut_bins::apcsmart::wire(&self.sys, &nut_env(), &driver_args) else {
                return Ok(nut_bins::upsdrvctl::Outcome::Exited(1));
            };
            let mut port = crate::world::SimApcPort::new(
                self.world.clone(),
                &self.host,
                name,
                &wiring.port,
                Some(self.at_ms),
            );
            let sys = SimSys::at(&self.host, "apcsmart", self.world.clone(), self.at_ms);
            let result = run_ready(nut_bins::apcsmart::kill_power(&sys, &wiring, &mut port));
            return Ok(nut_bins::upsdrvctl::Outcome::Exited(match result {
                Some(Ok(_)) => 0,
                _ => 1,
            }));
        }
        if let Some(name) = ups.as_ref().filter(|_| snmp) {
            let Ok(wiring) = nut_bins::snmp::wire(&self.sys, &nut_env(), &driver_args) else {
                return Ok(nut_bins::upsdrvctl::Outcome::Exited(1));
            };
            let port = crate::world::SimSnmpPort::new(
                self.world.clone(),
                &self.host,
                name,
                &crate::harness::snmp_card(name),
                Some(self.at_ms),
            );
            let sys = SimSys::at(&self.host, "snmp-ups", self.world.clone(), self.at_ms);
            let result = run_ready(nut_bins::snmp::kill_power(&sys, &wiring, port));
            return Ok(nut_bins::upsdrvctl::Outcome::Exited(match result {
                Some(Ok(_)) => 0,
                _ => 1,
            }));
        }
        if let Some(name) = ups.as_ref().filter(|_| hid) {
            let Ok(wiring) = nut_bins::usbhid::wire(&self.sys, &nut_env(), &driver_args) else {
                return Ok(nut_bins::upsdrvctl::Outcome::Exited(1));
            };
            let port = SimHidPort::new(
                self.world.clone(),
                &self.host,
                name,
                &crate::harness::hid_device(name),
                Some(self.at_ms),
            );
            let sys = SimSys::at(&self.host, "usbhid-ups", self.world.clone(), self.at_ms);
            let result = run_ready(nut_bins::usbhid::kill_power(&sys, &wiring, port));
            return Ok(nut_bins::upsdrvctl::Outcome::Exited(match result {
                Some(Ok(_)) => 0,
                _ => 1,
            }));
        }
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

struct Step {
    at_ms: u64,
    order: usize,
    kind: StepKind,
}

#[derive(Clone)]
enum StepKind {
    Status(usize, Option<String>, BTreeMap<String, String>),
    Mains(usize, bool),
    Fault(FaultAction),
}

pub(crate) fn secs_to_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().clamp(0.0, u64::MAX as f64 / 2.0) as u64
}

/// The step of the instants at which a UPS whose battery charges or discharges is
/// brought up to date (simulated ms): every one for a unit that shows its charge
/// itself, the first at which the file changes for dummy-ups.
const MODEL_PERIOD_MS: u64 = 100;
/// How far ahead a dummy-ups file's next change is looked for (simulated ms).
const VISIBLE_HORIZON_MS: u64 = 30 * 24 * 3_600_000;

/// What a dummy-ups device text is made from: whole charge, whole runtime, status and
/// the generation of the scripted variables.
type TextKey = (i64, i64, String, u64);

/// A UPS as the harness models it.
struct UpsModel {
    spec: UpsSpec,
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
    /// When the battery runs empty at the current load (set while discharging).
    empty_at: Option<u64>,
    /// A Megatec unit's last shutdown command: how long after mains returns the load
    /// comes back (`R<minutes>`; no `R`: at once), or `None` for the scenario's
    /// `delay_start_s`.
    start_delay_ms: Option<u64>,
    /// `S..R0000` (shutdown.stayoff): the load stays off even when mains returns.
    stay_off: bool,
    /// Bumped whenever `vars` changes.
    vars_gen: u64,
    /// A modelled SNMP card's shutoff and return delays, seconds (the driver sets them
    /// from ups.conf's offdelay/ondelay).
    card_delays_s: (u64, u64),
    /// Where the charge's current line starts: (ms, charge, percent per ms).
    anchor: Option<(u64, f64, f64)>,
    /// (host, path) of the device's file in the world: the dummy-ups data file, or the
    /// serial port nutdrv_qx reads.
    file_key: (String, String),
    /// The last dummy-ups device text and what it was made from (whole charge, whole
    /// runtime, status, `vars_gen`): the model writes the file often and it rarely
    /// changes.
    text_cache: Option<(TextKey, Vec<u8>)>,
    /// The dummy-ups file's template and the `vars_gen` it was made at.
    text_template: Option<(u64, Vec<TextPart>)>,
    /// The last search for the next status change along the charge's line: where it
    /// started, the line (start, charge and rate as bits, explicit status, mains), and
    /// what it found.
    status_search: std::cell::Cell<Option<(u64, StatusLine, Option<u64>)>>,
}

/// What a status search along the battery's line depends on (see `status_search`).
type StatusLine = (u64, u64, u64, bool, bool);

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
    /// Whether its battery charges or feeds a load (only then does the model change
    /// with time alone).
    fn changing(&self) -> bool {
        self.spec.battery.is_some()
            && (if self.mains_on {
                self.charge < 100.0
            } else {
                self.output_on
            })
    }

    /// How fast the charge changes (percent per ms) under `load_w`.
    fn rate(&self, b: &crate::scenario::Battery, load_w: f64) -> f64 {
        if self.mains_on {
            b.recharge_per_h / 3_600_000.0
        } else {
            -(100.0 / (b.runtime_s * 1000.0) * (load_w / b.at_load_w))
        }
    }

    /// The first instants `from + k * MODEL_PERIOD_MS` (k >= 1) at which the file of a
    /// dummy-ups UPS whose battery charges or discharges would read differently, and at
    /// which its status (LB, CHRG) would, on the line the charge follows: what the file
    /// is made from (whole charge, whole runtime, LB, CHRG) only moves one way along it,
    /// so a doubling search and a bisection find them. `None` within
    /// [`VISIBLE_HORIZON_MS`].
    fn next_file_change(&self, from: u64, load_w: f64) -> (Option<u64>, Option<u64>) {
        let Some(b) = self.spec.battery.as_ref() else {
            return (None, None);
        };
        let rate = self.rate(b, load_w);
        let (t0, c0) = match self.anchor {
            Some((t0, c0, r)) if r == rate => (t0, c0),
            _ => (from, self.charge),
        };
        let explicit = self.explicit.is_some();
        let key = |k: u64| {
            let t = from.saturating_add(k.saturating_mul(MODEL_PERIOD_MS));
            let line = c0 + rate * t.saturating_sub(t0) as f64;
            let charge = if self.mains_on {
                line.min(100.0)
            } else {
                line.max(0.0)
            };
            let runtime = charge / 100.0 * b.runtime_s * b.at_load_w / load_w.max(1.0);
            (
                (charge.floor() as i64, runtime.floor() as i64),
                (
                    !explicit && charge <= b.low,
                    !explicit && self.mains_on && charge < 100.0,
                ),
            )
        };
        let first = |same: &dyn Fn(u64) -> bool| {
            let limit = VISIBLE_HORIZON_MS / MODEL_PERIOD_MS;
            let mut hi = 1;
            while same(hi) {
                if hi > limit {
                    return None;
                }
                hi *= 2;
            }
            let mut lo = hi / 2;
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if same(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            Some(from.saturating_add(hi * MODEL_PERIOD_MS))
        };
        let here = key(0);
        let visible = first(&|k| key(k) == here);
        // The status only moves at LB and CHRG, far apart: the last search's answer
        // holds while the line is the same and `from` is on its grid before the answer.
        let line = (t0, c0.to_bits(), rate.to_bits(), explicit, self.mains_on);
        let status = match self.status_search.get() {
            Some((at, l, Some(found)))
                if l == line
                    && at <= from
                    && (from - at).is_multiple_of(MODEL_PERIOD_MS)
                    && from < found =>
            {
                Some(found)
            }
            _ => {
                let found = first(&|k| key(k).1 == here.1);
                self.status_search.set(Some((from, line, found)));
                found
            }
        };
        (visible, status)
    }

    fn status(&self) -> std::borrow::Cow<'_, str> {
        if let Some(status) = &self.explicit {
            return status.as_str().into();
        }
        let low = self
            .spec
            .battery
            .as_ref()
            .is_some_and(|b| self.charge <= b.low);
        let charging = self.charge < 100.0 && self.spec.battery.is_some();
        match (self.mains_on, low, charging) {
            (false, false, _) => "OB DISCHRG",
            (false, true, _) => "OB LB DISCHRG",
            (true, false, false) => "OL",
            (true, false, true) => "OL CHRG",
            (true, true, false) => "OL LB",
            (true, true, true) => "OL LB CHRG",
        }
        .into()
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

    /// What a modelled unit shows at `load_w`: mains, low battery, runtime left (s) and
    /// load (%), from the model or from an explicit status.
    fn shown(&self, load_w: f64) -> (bool, bool, f64, f64) {
        let status = self.explicit.as_ref();
        let has = |t: &str| status.is_some_and(|s| s.split_whitespace().any(|x| x == t));
        let battery = self.spec.battery.as_ref();
        let mains = match status {
            Some(_) => !has("OB"),
            None => self.mains_on,
        };
        let low = match status {
            Some(_) => has("LB"),
            None => battery.is_some_and(|b| self.charge <= b.low),
        };
        let runtime_s = battery.map_or(3600.0, |b| {
            self.charge / 100.0 * b.runtime_s * b.at_load_w / load_w.max(1.0)
        });
        let nominal = self
            .vars
            .get("ups.power.nominal")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(QX_NOMINAL_W);
        let load_pct = if self.output_on {
            (load_w / nominal * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        };
        (mains, low, runtime_s, load_pct)
    }

    /// A USB HID unit's feature reports (crate::hidunit) for usbhid-ups: charge,
    /// runtime, load, mains and LB from the model (or from an explicit status).
    fn hid_text(&self, load_w: f64) -> Vec<u8> {
        let (mains, low, runtime_s, load_pct) = self.shown(load_w);
        let battery = self.spec.battery.as_ref();
        crate::hidunit::template().text(&crate::hidunit::HidState {
            mains,
            charge: self.charge.clamp(0.0, 100.0),
            runtime_s: runtime_s.clamp(0.0, 65_000.0),
            low,
            charging: mains && self.charge < 100.0 && battery.is_some(),
            load_pct,
            charge_low: battery.map_or(10.0, |b| b.low),
        })
    }

    /// The modelled SNMP card's objects (`.snmprec` text) at `load_w`.
    fn card_text(&self, load_w: f64) -> Vec<u8> {
        let (mains, low, runtime_s, load_pct) = self.shown(load_w);
        crate::snmpcard::text(&crate::snmpcard::CardState {
            mains,
            output_on: self.output_on,
            charge: self.charge.clamp(0.0, 100.0),
            runtime_s: runtime_s.clamp(0.0, 4e7),
            low,
            load_pct,
            shutoff_delay_s: self.card_delays_s.0,
            return_delay_s: self.card_delays_s.1,
        })
    }

    /// The modelled APC Smart-UPS's replies (crate::smartunit) at `load_w`.
    fn smart_text(&self, load_w: f64) -> Vec<u8> {
        let (mains, low, runtime_s, load_pct) = self.shown(load_w);
        crate::smartunit::text(&crate::smartunit::SmartState {
            mains,
            output_on: self.output_on,
            charge: self.charge.clamp(0.0, 100.0),
            runtime_s: runtime_s.clamp(0.0, 600_000.0),
            low,
            load_pct,
            delay_shutdown_s: self.card_delays_s.0,
            delay_start_s: self.card_delays_s.1,
        })
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

    /// Brings `text_cache` to [`UpsModel::device_text`], rebuilding it only when what
    /// it is made from changed.
    fn refresh_text(&mut self, load_w: f64) {
        let runtime = self.spec.battery.as_ref().map_or(-1, |b| {
            (self.charge / 100.0 * b.runtime_s * b.at_load_w / load_w.max(1.0)).floor() as i64
        });
        let (charge, status) = (self.charge.floor() as i64, self.status());
        let current = self.text_cache.as_ref().is_some_and(|((c, r, s, g), _)| {
            (*c, *r, s.as_str(), *g) == (charge, runtime, &*status, self.vars_gen)
        });
        if !current {
            let key = (charge, runtime, status.into_owned(), self.vars_gen);
            let parts = match self.text_template.take() {
                Some((made_at, parts)) if made_at == self.vars_gen => parts,
                _ => self.text_template(),
            };
            let text = self.device_text(&parts, load_w);
            self.text_template = Some((self.vars_gen, parts));
            self.text_cache = Some((key, text));
        }
    }

    /// The dummy-ups file as [`UpsModel::device_text`] writes it, with the charge's and
    /// the runtime's values left as slots: the file is rewritten at every whole second
    /// of runtime, and its other lines change only with `vars`.
    fn text_template(&self) -> Vec<TextPart> {
        let mut vars: BTreeMap<&str, TextPart> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), TextPart::Fixed(v.clone())))
            .collect();
        if let Some(b) = &self.spec.battery {
            vars.insert("battery.charge", TextPart::Charge);
            vars.insert("battery.charge.low", TextPart::Fixed(whole(b.low)));
            vars.insert("battery.runtime", TextPart::Runtime);
        }
        vars.insert(
            "ups.delay.shutdown",
            TextPart::Fixed(whole(self.spec.delay_shutdown_s)),
        );
        vars.insert(
            "ups.delay.start",
            TextPart::Fixed(whole(self.spec.delay_start_s)),
        );
        let mut parts = Vec::new();
        let mut fixed = String::new();
        for (name, value) in vars {
            fixed.push_str(name);
            fixed.push_str(": ");
            match value {
                TextPart::Fixed(v) => fixed.push_str(&v),
                slot => {
                    parts.push(TextPart::Fixed(std::mem::take(&mut fixed)));
                    parts.push(slot);
                }
            }
            fixed.push('\n');
        }
        parts.push(TextPart::Fixed(fixed));
        parts
    }

    /// The dummy-ups file: every variable (the scenario's and the battery model's) in
    /// name order, then `ups.status`. Made from `parts` ([`UpsModel::text_template`]).
    fn device_text(&self, parts: &[TextPart], load_w: f64) -> Vec<u8> {
        let last = self.text_cache.as_ref().map_or(0, |(_, t)| t.len());
        let mut text = String::with_capacity(last + 16);
        for part in parts {
            match part {
                TextPart::Fixed(t) => text.push_str(t),
                TextPart::Charge => text.push_str(&whole(self.charge.floor())),
                TextPart::Runtime => {
                    if let Some(b) = &self.spec.battery {
                        let runtime =
                            self.charge / 100.0 * b.runtime_s * b.at_load_w / load_w.max(1.0);
                        text.push_str(&whole(runtime.floor()));
                    }
                }
            }
        }
        text.push_str("ups.status: ");
        text.push_str(&self.status());
        text.push('\n');
        text.into_bytes()
    }
}

/// A piece of the dummy-ups file's template: fixed text, or where the battery
/// model's charge or runtime goes.
#[derive(Debug, Clone)]
enum TextPart {
    Fixed(String),
    Charge,
    Runtime,
}

/// `x` as `format!("{x:.0}")` writes it, without float formatting when it is a whole
/// number (the model writes device files often; float formatting dominated its cost).
fn whole(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        (x as i64).to_string()
    } else {
        format!("{x:.0}")
    }
}

/// The load on UPS `index` in watts: every up host it feeds, each host's draw shared
/// among its supplies that have power. `states` and `feeds` are in the scenario's host
/// order (`feeds[h]`: the indices of the UPSes feeding host `h`).
fn load_on(
    scenario: &Scenario,
    upses: &[UpsModel],
    feeds: &[Vec<usize>],
    states: &[Option<HostState>],
    index: usize,
) -> f64 {
    scenario
        .hosts
        .iter()
        .zip(feeds)
        .zip(states)
        .filter(|(_, state)| {
            matches!(
                state,
                Some(HostState::Running | HostState::ShuttingDown(_) | HostState::Booting(_))
            )
        })
        .filter_map(|((h, fed), _)| {
            if !fed.contains(&index) {
                return None;
            }
            let live = fed.iter().filter(|u| upses[**u].output_on).count().max(1);
            Some(h.draw_w / live as f64)
        })
        .sum()
}

/// Each host's state in the scenario's host order, read from the world again only
/// when some host's state was set since the last read (the site reads them at every
/// pass; looking ten names up each time was a tenth of a planner cell's cost).
#[derive(Debug, Default)]
struct HostStates {
    /// [`World::host_changes`] when `states` was read.
    seen: Option<u64>,
    states: Vec<Option<HostState>>,
}

impl HostStates {
    fn read(&mut self, scenario: &Scenario, w: &World) -> &[Option<HostState>] {
        if self.seen != Some(w.host_changes()) {
            self.states.clear();
            self.states.extend(
                scenario
                    .hosts
                    .iter()
                    .map(|h| w.hosts().get(&h.name).copied()),
            );
            self.seen = Some(w.host_changes());
        }
        &self.states
    }
}

/// Appends a world event to the timeline.
fn record(world: &SharedWorld, t: u64, host: &str, what: WorldEvent) {
    world
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(t, host, what)
}

/// What a driver must do to the hosts' software for the site model.
#[derive(Debug, Clone)]
pub enum Control {
    /// Stop every process of the host (it halted or lost power).
    Crash(String),
    /// Start the host's processes again (it booted).
    Bounce(String),
    /// A scenario fault for the driver to apply (network, process crash or restart,
    /// signal, file edit).
    Fault(FaultAction),
}

/// The site: UPS models, host power, scripted steps, boots and reboots.
pub struct Site<'s> {
    scenario: &'s Scenario,
    upses: Vec<UpsModel>,
    /// The scripted steps in time order, and how many have been applied.
    steps: Vec<Step>,
    applied: usize,
    /// Hosts whose software is stopped (halted, without power, booting).
    down: BTreeSet<String>,
    boots: BTreeMap<String, u64>,
    reboots: BTreeMap<String, u64>,
    /// Until when the batteries' charge is computed (ms).
    last_now: u64,
    /// Set when something changed that the models must look at on the next pass.
    model_dirty: bool,
    /// The hosts' states as last read from the world.
    host_states: HostStates,
    /// A host halted since the last [`Site::after`] (only `before` halts hosts).
    new_halts: bool,
    /// When a battery that charges or discharges shows something new (see
    /// [`UpsModel::next_file_change`]): the same instants on every engine, however
    /// often it steps.
    next_visible: Option<u64>,
    /// When a battery that charges or discharges changes a status (LB, CHRG): the
    /// first of the `next_visible` instants that does.
    next_status: Option<u64>,
    /// Per host (scenario order), the indices of the UPSes that feed it.
    feeds: Vec<Vec<usize>>,
}

impl<'s> Site<'s> {
    /// The site of `scenario` at time 0; fills `world` with the hosts, their config
    /// files, shutdown durations and CMDSCRIPT actions.
    pub fn new(scenario: &'s Scenario, world: &SharedWorld) -> Site<'s> {
        let upses = scenario
            .upses
            .iter()
            .map(|spec| UpsModel {
                vars: spec.vars.clone(),
                explicit: None,
                dead: false,
                mains_on: true,
                charge: spec.battery.as_ref().map_or(100.0, |b| b.charge),
                output_on: true,
                off_at: None,
                on_at: None,
                battery_dead_ms: spec.battery_dead_at_s.map(secs_to_ms),
                empty_at: None,
                start_delay_ms: None,
                stay_off: false,
                vars_gen: 0,
                card_delays_s: (spec.delay_shutdown_s as u64, spec.delay_start_s as u64),
                anchor: None,
                text_cache: None,
                text_template: None,
                status_search: std::cell::Cell::new(None),
                file_key: (
                    scenario.ups_host(spec).to_string(),
                    match spec.driver {
                        DriverKind::DummyUps => format!("{CONFPATH}/{}", device_file(&spec.name)),
                        DriverKind::NutdrvQx => serial_port(&spec.name),
                        DriverKind::UsbhidUps => crate::harness::hid_device(&spec.name),
                        DriverKind::SnmpUps => crate::harness::snmp_card(&spec.name),
                        DriverKind::Apcsmart => serial_port(&spec.name),
                    },
                ),
                spec: spec.clone(),
            })
            .collect();
        {
            let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
            for host in &scenario.hosts {
                w.set_host(&host.name, HostState::Running);
                w.shutdown_ms.insert(
                    host.name.clone(),
                    if host.shutdown_hangs {
                        u64::MAX
                    } else {
                        secs_to_ms(host.shutdown_s)
                    },
                );
                for (path, text) in crate::harness::config_files(scenario, host) {
                    w.files.insert((host.name.clone(), path), text.into_bytes());
                }
                for (cmd, action) in &host.cmdscript {
                    w.cmdscript_actions
                        .insert((host.name.clone(), cmd.clone()), action.clone());
                }
            }
        }
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
        let feeds = scenario
            .hosts
            .iter()
            .map(|h| {
                scenario
                    .feeds(h)
                    .filter_map(|f| scenario.upses.iter().position(|u| u.name == f))
                    .collect()
            })
            .collect();
        Site {
            scenario,
            upses,
            steps,
            applied: 0,
            down: BTreeSet::new(),
            boots: BTreeMap::new(),
            reboots: BTreeMap::new(),
            last_now: 0,
            model_dirty: true,
            host_states: HostStates::default(),
            next_visible: None,
            next_status: None,
            new_halts: true,
            feeds,
        }
    }

    /// Whether `host`'s software is stopped.
    pub fn is_down(&self, host: &str) -> bool {
        self.down.contains(host)
    }

    fn crash(&mut self, host: &str, controls: &mut Vec<Control>) {
        if !self.is_down(host) {
            controls.push(Control::Crash(host.to_string()));
            self.down.insert(host.to_string());
        }
    }

    /// Everything due at `now` before the hosts' software runs: scripted steps, the
    /// commands serial units received, the UPS and power models, finished boots.
    pub fn before(&mut self, now: u64, world: &SharedWorld) -> Vec<Control> {
        // Nothing due: the battery's charge is linear until the next change of load or
        // output, all of which come through here; it is integrated when one does.
        if self.quiet(now, world) {
            return Vec::new();
        }
        let scenario = self.scenario;
        let record = |t: u64, host: &str, what: WorldEvent| record(world, t, host, what);
        self.charge_until(now, world);
        let mut controls = Vec::new();
        let mut stepped = false;
        // Shutdowns that are done: the host halts (SHUTDOWNCMD is not upsmon's child;
        // the system goes down even if upsmon dies meanwhile).
        {
            let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
            let done: Vec<(String, u64)> = w
                .shutdowns_end()
                .filter(|(_, end)| *end <= now)
                .map(|(h, end)| (h.to_string(), end))
                .collect();
            for (host, t) in done {
                w.set_host(&host, HostState::Halted(t));
                self.new_halts = true;
                w.record(t, &host, WorldEvent::Halted);
            }
        }
        while let Some(step) = self.steps.get(self.applied).filter(|s| s.at_ms <= now) {
            let kind = step.kind.clone();
            self.applied += 1;
            stepped = true;
            match kind {
                StepKind::Status(index, status, vars) => {
                    let ups = &mut self.upses[index];
                    ups.vars.extend(vars);
                    ups.vars_gen += 1;
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
                                    last_status: ups.status().into_owned(),
                                },
                            );
                        }
                    }
                }
                StepKind::Mains(index, on) => {
                    let ups = &mut self.upses[index];
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
                    self.crash(&host, &mut controls);
                    let boot_s = scenario
                        .hosts
                        .iter()
                        .find(|h| h.name == host)
                        .map_or(0.0, |h| h.boot_s);
                    let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
                    w.set_host(&host, HostState::Booting(now));
                    w.record(now, &host, WorldEvent::Booting);
                    self.boots.insert(host, now + secs_to_ms(boot_s));
                }
                StepKind::Fault(action) => {
                    // A host that is shutting down, halted, off or booting starts no
                    // process (its processes start when it has booted).
                    if let FaultAction::Restart { host, .. } = &action {
                        let state = world
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .hosts()
                            .get(host)
                            .copied();
                        if !matches!(state, Some(HostState::Running) | None) {
                            let what = format!(
                                "{} (ignored: the host is not running)",
                                crate::harness::describe_fault(&action)
                            );
                            record(now, "scenario", WorldEvent::Fault { what });
                            continue;
                        }
                    }
                    if let FaultAction::WriteFile { host, path, text } = &action {
                        world
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .files
                            .insert((host.clone(), path.clone()), text.clone().into_bytes());
                    }
                    let what = crate::harness::describe_fault(&action);
                    controls.push(Control::Fault(action));
                    record(now, "scenario", WorldEvent::Fault { what });
                }
            }
        }
        // The UPSes and the hosts' power, every MODEL_PERIOD_MS of simulated time and at
        // once when something is due (a step, a scheduled output change, a host that
        // halted or boots): exact event times, without the cost of every tick.
        // Commands the modelled serial units received (through nutdrv_qx).
        let writes =
            std::mem::take(&mut world.lock().unwrap_or_else(|e| e.into_inner()).device_inbox);
        for write in writes {
            let Some(ups) = self.upses.iter_mut().find(|u| u.spec.name == write.ups) else {
                continue;
            };
            if ups.spec.driver == DriverKind::SnmpUps {
                use crate::snmpcard::CardCommand;
                for command in crate::snmpcard::commands(&write.bytes) {
                    match command {
                        CardCommand::ShutoffDelay(s) => ups.card_delays_s.0 = s,
                        CardCommand::ReturnDelay(s) => ups.card_delays_s.1 = s,
                        CardCommand::Off { returns, now } => {
                            let command = MegatecCommand::Shutdown {
                                off_ms: if now {
                                    0
                                } else {
                                    ups.card_delays_s.0.saturating_mul(1000)
                                },
                                on_ms: returns.then_some(ups.card_delays_s.1.saturating_mul(1000)),
                            };
                            if let Some(event) = ups.obey(command, write.t_ms) {
                                record(write.t_ms, &write.ups, event);
                            }
                        }
                    }
                }
                self.model_dirty = true;
                continue;
            }
            let command = match ups.spec.driver {
                DriverKind::Apcsmart => crate::smartunit::command(&write.bytes).map(
                    |crate::smartunit::SmartCommand::Off { wake_s, now }| {
                        MegatecCommand::Shutdown {
                            off_ms: if now {
                                0
                            } else {
                                ups.card_delays_s.0.saturating_mul(1000)
                            },
                            on_ms: wake_s.map(|s| {
                                s.saturating_add(ups.card_delays_s.1).saturating_mul(1000)
                            }),
                        }
                    },
                ),
                DriverKind::UsbhidUps => {
                    crate::hidunit::template()
                        .command(&write.bytes)
                        .map(|delay| match delay {
                            // A Back-UPS turns the load back on once mains is present.
                            Some(s) => MegatecCommand::Shutdown {
                                off_ms: s.saturating_mul(1000),
                                on_ms: Some(0),
                            },
                            None => MegatecCommand::Cancel,
                        })
                }
                _ => megatec_command(&write.bytes),
            };
            if let Some(command) = command {
                if let Some(event) = ups.obey(command, write.t_ms) {
                    record(write.t_ms, &write.ups, event);
                }
                self.model_dirty = true;
            }
        }
        let due = stepped || self.model_due(now);
        self.model_dirty = false;
        if due {
            self.update_power(now, world, &mut controls);
        }
        // Boots that finish, and POWEROFF_WAIT reboots.
        let mut booted: Vec<String> = self
            .boots
            .iter()
            .filter(|(_, t)| now >= **t)
            .map(|(h, _)| h.clone())
            .collect();
        for (host, t) in self.reboots.clone() {
            if now >= t {
                self.reboots.remove(&host);
                record(now, &host, WorldEvent::RebootAfterWait);
                booted.push(host);
            }
        }
        for host in booted {
            self.boots.remove(&host);
            record(now, &host, WorldEvent::Booted);
            world
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_host(&host, HostState::Running);
            self.down.remove(&host);
            controls.push(Control::Bounce(host));
        }
        controls
    }

    /// The batteries' charge from the last call to `now`, under the state (mains,
    /// output, load) that held in between: called before anything at `now` changes it.
    fn charge_until(&mut self, now: u64, world: &SharedWorld) {
        if now <= self.last_now {
            return;
        }
        let dt = now - self.last_now;
        self.last_now = now;
        let changing = UpsModel::changing;
        if !self.upses.iter().any(changing) {
            for ups in &mut self.upses {
                ups.anchor = None;
            }
            return;
        }
        let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
        let states = self.host_states.read(self.scenario, &w);
        for index in 0..self.upses.len() {
            if !changing(&self.upses[index]) {
                self.upses[index].anchor = None;
                continue;
            }
            let load = load_on(self.scenario, &self.upses, &self.feeds, states, index);
            let ups = &mut self.upses[index];
            let Some(b) = ups.spec.battery.clone() else {
                continue;
            };
            // The charge is a line from the last change of rate, so it is the same at a
            // given instant however often it is computed (both engines, any step).
            let rate = ups.rate(&b, load);
            let since = now - dt;
            if ups.anchor.is_none_or(|(_, _, r)| r != rate) {
                ups.anchor = Some((since, ups.charge, rate));
            }
            let (t0, c0, _) = ups.anchor.unwrap_or((since, ups.charge, rate));
            let line = c0 + rate * (now - t0) as f64;
            if ups.mains_on {
                ups.charge = line.min(100.0);
            } else if ups.output_on {
                ups.charge = line.max(0.0);
                if ups.charge <= 0.0 {
                    ups.output_on = false;
                    self.model_dirty = true;
                    w.record(now, &ups.spec.name, WorldEvent::BatteryExhausted);
                }
            }
        }
    }

    /// The UPS models and the hosts' power at `now`.
    fn update_power(&mut self, now: u64, world: &SharedWorld, controls: &mut Vec<Control>) {
        let scenario = self.scenario;
        let record = |t: u64, host: &str, what: WorldEvent| record(world, t, host, what);
        let ordered = self
            .host_states
            .read(scenario, &world.lock().unwrap_or_else(|e| e.into_inner()))
            .to_vec();
        for index in 0..self.upses.len() {
            let load = load_on(scenario, &self.upses, &self.feeds, &ordered, index);
            let ups = &mut self.upses[index];
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
            // When it runs empty at this load, so a driver that jumps from event to
            // event stops there.
            ups.empty_at = ups.spec.battery.as_ref().and_then(|b| {
                let per_ms = 100.0 / (b.runtime_s * 1000.0) * (load / b.at_load_w);
                (!ups.mains_on && ups.output_on && per_ms > 0.0)
                    .then(|| now.saturating_add((ups.charge / per_ms).ceil().min(1e15) as u64))
            });
            let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
            if ups.dead {
                w.files.remove(&ups.file_key);
            } else {
                match ups.spec.driver {
                    DriverKind::DummyUps => {
                        ups.refresh_text(load);
                        let text = ups
                            .text_cache
                            .as_ref()
                            .map_or(&[][..], |(_, t)| t.as_slice());
                        match w.files.get_mut(&ups.file_key) {
                            Some(file) if file.as_slice() == text => {}
                            Some(file) => {
                                file.clear();
                                file.extend_from_slice(text);
                            }
                            None => {
                                w.files.insert(ups.file_key.clone(), text.to_vec());
                            }
                        }
                    }
                    DriverKind::NutdrvQx => {
                        let text = ups.qx_text(load);
                        if w.files.get(&ups.file_key) != Some(&text) {
                            w.files.insert(ups.file_key.clone(), text);
                        }
                    }
                    DriverKind::UsbhidUps => {
                        let text = ups.hid_text(load);
                        if w.files.get(&ups.file_key) != Some(&text) {
                            w.files.insert(ups.file_key.clone(), text);
                        }
                    }
                    DriverKind::SnmpUps => {
                        let text = ups.card_text(load);
                        if w.files.get(&ups.file_key) != Some(&text) {
                            w.files.insert(ups.file_key.clone(), text);
                        }
                    }
                    DriverKind::Apcsmart => {
                        let text = ups.smart_text(load);
                        if w.files.get(&ups.file_key) != Some(&text) {
                            w.files.insert(ups.file_key.clone(), text);
                        }
                    }
                }
            }
        }
        // Host power: a host is up while any UPS that feeds it has its output on.
        let mut touched = false;
        for (index, host) in scenario.hosts.iter().enumerate() {
            let powered = self.feeds[index].iter().any(|u| self.upses[*u].output_on);
            let state = ordered[index].unwrap_or(HostState::Running);
            if powered
                && matches!(
                    state,
                    HostState::Running
                        | HostState::ShuttingDown(_)
                        | HostState::Halted(_)
                        | HostState::Booting(_)
                )
            {
                // Nothing changes for a powered host that is up, halted or booting.
                continue;
            }
            touched = true;
            let mut w = world.lock().unwrap_or_else(|e| e.into_inner());
            match (powered, state) {
                (false, HostState::Running) => {
                    w.set_host(&host.name, HostState::PowerLost(now));
                    w.record(now, &host.name, WorldEvent::PowerLostRunning);
                }
                (false, HostState::ShuttingDown(since)) => {
                    let total_ms = w.shutdown_ms.get(&host.name).copied().unwrap_or(0);
                    w.set_host(&host.name, HostState::PowerLost(now));
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
                    w.set_host(&host.name, HostState::Off(now));
                    w.record(now, &host.name, WorldEvent::PowerOffHalted);
                    self.reboots.remove(&host.name);
                }
                (false, HostState::Booting(_)) => {
                    w.set_host(&host.name, HostState::Off(now));
                    self.boots.remove(&host.name);
                }
                (true, HostState::PowerLost(_) | HostState::Off(_)) => {
                    w.set_host(&host.name, HostState::Booting(now));
                    w.record(now, &host.name, WorldEvent::Booting);
                    self.boots
                        .insert(host.name.clone(), now + secs_to_ms(host.boot_s));
                }
                _ => {}
            }
            let state = w.hosts().get(&host.name).copied();
            drop(w);
            if matches!(state, Some(HostState::PowerLost(_) | HostState::Off(_))) {
                self.crash(&host.name, controls);
            }
        }
        let ordered = if touched {
            self.host_states
                .read(scenario, &world.lock().unwrap_or_else(|e| e.into_inner()))
                .to_vec()
        } else {
            ordered
        };
        let changes: Vec<(Option<u64>, Option<u64>)> = (0..self.upses.len())
            .filter(|&i| self.upses[i].changing() && !self.upses[i].dead)
            .map(|i| {
                let ups = &self.upses[i];
                if ups.spec.driver != DriverKind::DummyUps {
                    let next = Some(now.saturating_add(MODEL_PERIOD_MS));
                    return (next, next);
                }
                let load = load_on(scenario, &self.upses, &self.feeds, &ordered, i);
                ups.next_file_change(now, load)
            })
            .collect();
        self.next_visible = changes.iter().filter_map(|c| c.0).min();
        self.next_status = changes.iter().filter_map(|c| c.1).min();
    }

    /// Whether the UPS and power models must be brought up to `now`: a battery that
    /// shows something new (see `next_visible`), an output change, a battery running
    /// empty, a boot finishing, or something marked the model dirty.
    fn model_due(&self, now: u64) -> bool {
        self.next_visible.is_some_and(|t| now >= t)
            || self.upses.iter().any(|u| {
                u.off_at.is_some_and(|t| now >= t)
                    || u.on_at.is_some_and(|t| now >= t)
                    || (u.output_on && u.battery_dead_ms.is_some_and(|t| now >= t))
                    || u.empty_at.is_some_and(|t| now >= t)
            })
            || self
                .boots
                .values()
                .chain(self.reboots.values())
                .any(|t| now >= *t)
            || self.model_dirty
    }

    /// Nothing is due at `now`: no step, no shutdown ending, no command from a serial
    /// unit, no model update.
    fn quiet(&self, now: u64, world: &SharedWorld) -> bool {
        if self.steps.get(self.applied).is_some_and(|s| s.at_ms <= now) || self.model_due(now) {
            return false;
        }
        let w = world.lock().unwrap_or_else(|e| e.into_inner());
        w.device_inbox.is_empty() && w.shutdowns_end().all(|(_, end)| end > now)
    }

    /// After the hosts' software ran up to now: `upsmon -c fsd` asked for by CMDSCRIPTs,
    /// and each newly halted host stops and runs its late-shutdown hook.
    pub fn after(&mut self, world: &SharedWorld) -> Vec<Control> {
        let record = |t: u64, host: &str, what: WorldEvent| record(world, t, host, what);
        let mut controls = Vec::new();
        // A CMDSCRIPT that runs `upsmon -c fsd` signals that host's upsmon.
        let requests =
            std::mem::take(&mut world.lock().unwrap_or_else(|e| e.into_inner()).fsd_requests);
        for host in requests {
            controls.push(Control::Fault(FaultAction::Signal {
                host,
                process: "upsmon".to_string(),
                signal: crate::scenario::SignalName::Fsd,
            }));
        }
        // Halted hosts stop running anything; each runs its late-shutdown hook.
        if !std::mem::take(&mut self.new_halts) {
            return controls;
        }
        let halted: Vec<(String, u64)> = {
            let w = world.lock().unwrap_or_else(|e| e.into_inner());
            w.hosts()
                .iter()
                .filter_map(|(h, s)| match s {
                    HostState::Halted(t) if !self.is_down(h) => Some((h.clone(), *t)),
                    _ => None,
                })
                .collect()
        };
        for (host, t) in halted {
            self.model_dirty = true;
            self.crash(&host, &mut controls);
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
                let Some(ups) = self.upses.iter_mut().find(|u| u.spec.name == name) else {
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
            let spec = self.scenario.hosts.iter().find(|h| h.name == host);
            if let Some(wait) = spec.and_then(|h| h.poweroff_wait_s) {
                self.reboots.insert(host.clone(), t + secs_to_ms(wait));
            }
        }
        controls
    }

    /// Nothing can change any more: no step, boot or UPS change pending and every host
    /// down.
    pub fn settled(&self) -> bool {
        let quiet = self.applied == self.steps.len()
            && self.boots.is_empty()
            && self.reboots.is_empty()
            && self
                .upses
                .iter()
                .all(|u| u.off_at.is_none() && u.on_at.is_none());
        quiet && self.scenario.hosts.iter().all(|h| self.is_down(&h.name))
    }

    /// The next instant after `now` at which the model has something due (a step, a
    /// boot, an output change, a battery running empty, a shutdown done), for a driver that jumps from
    /// event to event. Between those instants the battery's charge changes linearly,
    /// so updating it whenever [`Site::before`] runs (at least at every driver poll)
    /// gives the device's readings.
    pub fn next_due(&self, now: u64, world: &SharedWorld) -> Option<u64> {
        self.due(now, world, self.next_visible)
    }

    /// [`Site::next_due`] leaving out the instants at which a battery's charge shows
    /// new figures in a dummy-ups file without changing a status: before it, no UPS
    /// status can change, so no driver can publish a new `ups.status`.
    pub fn next_status_due(&self, now: u64, world: &SharedWorld) -> Option<u64> {
        self.due(now, world, self.next_status)
    }

    fn due(&self, now: u64, world: &SharedWorld, visible: Option<u64>) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut take = |t: u64| {
            if t > now {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let Some(step) = self.steps.get(self.applied) {
            take(step.at_ms.max(now + 1));
        }
        for t in self.boots.values().chain(self.reboots.values()) {
            take((*t).max(now + 1));
        }
        for ups in &self.upses {
            for t in [
                ups.off_at,
                ups.on_at,
                ups.battery_dead_ms.filter(|_| ups.output_on),
            ]
            .into_iter()
            .flatten()
            {
                take(t.max(now + 1));
            }
            if let Some(t) = ups.empty_at {
                take(t.max(now + 1));
            }
        }
        if self.model_dirty {
            take(now + 1);
        }
        if let Some(t) = visible {
            take(t.max(now + 1));
        }
        let w = world.lock().unwrap_or_else(|e| e.into_inner());
        // A command a serial unit received is carried out at the next instant.
        if !w.device_inbox.is_empty() {
            take(now + 1);
        }
        for (_, end) in w.shutdowns_end() {
            take(end.max(now + 1));
        }
        next
    }
}
