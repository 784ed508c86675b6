//! The driver core (drivers/dstate.c) and dummy-ups's device logic (drivers/dummy-ups.c).
//!
//! [`DriverState`] is what every driver shares: the variable tree, the stale flag, and the
//! answers to upsd's lines (DUMPALL, PING, SET, INSTCMD). [`DummyDevice`] reads `.dev` and
//! `.seq` files (nut-reference.md §6.2) and turns them into variable updates, honouring
//! TIMER lines against `now`. No IO: the shell supplies file text and the clock.

use crate::sock::{DriverLine, ServerLine};
use crate::state::{VarFlags, VarTree};
use crate::tokenizer::{LineRef, Tokenizer};
use crate::Millis;

/// Longest value dummy-ups keeps from a data file line, in bytes.
pub const MAX_DUMMY_VALUE_BYTES: usize = 127;
/// dummy-ups treats every name starting with this (case-sensitive) as the status.
const STATUS_PREFIX: &str = "ups.status";
/// Driver version string published as `driver.version`.
pub const DRIVER_VERSION: &str = "2.8.0";
/// Size of a driver's value buffer, in bytes (NUT's `ST_MAX_VALUE_LEN`,
/// include/extstate.h): a value keeps at most one byte less.
pub const ST_MAX_VALUE_LEN: usize = 256;

/// One step of a dummy data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DummyStep {
    /// Set a variable (the value is already joined and cut to size).
    Set {
        /// Variable name.
        name: String,
        /// Raw (unescaped) value.
        value: String,
    },
    /// Set `ups.status` from these tokens (may be empty).
    Status(Vec<String>),
    /// Pause for this many seconds.
    Timer(u64),
}

/// Parses a `.dev`/`.seq` file into steps. Differences from NUT, on purpose: a name
/// with no value is ignored (NUT reuses the previous line's value by accident).
pub fn parse_dummy_file(text: &[u8]) -> Vec<DummyStep> {
    // Lines are borrowed from the tokenizer: only the steps' own strings are allocated
    // (dummy-ups reads its file again whenever it changes).
    let mut steps = Vec::new();
    let mut tokenizer = Tokenizer::new();
    tokenizer.feed_with(text, |line| parse_dummy_line(line, &mut steps));
    tokenizer.finish_with(|line| parse_dummy_line(line, &mut steps));
    steps
}

/// One line of a dummy-ups file (see [`parse_dummy_file`]).
fn parse_dummy_line(line: LineRef<'_>, steps: &mut Vec<DummyStep>) {
    let Some((first, rest)) = line.words.split_first() else {
        return;
    };
    if line.error.is_some() {
        return;
    }
    if first.starts_with("TIMER") {
        let seconds = rest.first().map(|w| crate::sock::atoi(w)).unwrap_or(0);
        steps.push(DummyStep::Timer(seconds.max(0) as u64));
        return;
    }
    let name = first.split(':').next().unwrap_or("");
    if name.is_empty() || name.starts_with("driver.") {
        return;
    }
    if name.starts_with(STATUS_PREFIX) {
        steps.push(DummyStep::Status(
            rest.iter().map(|w| w.to_string()).collect(),
        ));
        return;
    }
    if rest.is_empty() {
        return;
    }
    let mut value = rest.join(" ");
    if value.len() > MAX_DUMMY_VALUE_BYTES {
        value.truncate(MAX_DUMMY_VALUE_BYTES);
    }
    steps.push(DummyStep::Set {
        name: name.to_string(),
        value,
    });
}

/// State every driver keeps and serves to upsd.
#[derive(Debug, Clone, Default)]
pub struct DriverState {
    tree: VarTree,
    stale: bool,
}

impl DriverState {
    /// A driver that has not read its device yet (stale, as NUT drivers start).
    pub fn new() -> DriverState {
        DriverState {
            tree: VarTree::new(),
            stale: true,
        }
    }

    /// The published variables.
    pub fn tree(&self) -> &VarTree {
        &self.tree
    }

    /// Mutable access for drivers describing variables (flags, enums) at start-up.
    pub fn tree_mut(&mut self) -> &mut VarTree {
        &mut self.tree
    }

    /// True while the device is not answering.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Sets a value (cut to [`ST_MAX_VALUE_LEN`] - 1 bytes, as NUT's `dstate_setinfo`
    /// formats it into a buffer of that size); returns the line to broadcast if it
    /// changed.
    pub fn set(&mut self, name: &str, value: &str) -> Option<DriverLine> {
        let value = cut(value, ST_MAX_VALUE_LEN - 1);
        self.tree.set(name, value).then(|| DriverLine::SetInfo {
            var: name.to_string(),
            value: self.tree.value(name).unwrap_or(value).to_string(),
        })
    }

    /// Deletes a variable; returns the line to broadcast if it existed.
    pub fn delete(&mut self, name: &str) -> Option<DriverLine> {
        self.tree.delete(name).then(|| DriverLine::DelInfo {
            var: name.to_string(),
        })
    }

    /// Adds a settable range; returns the lines to broadcast. A new range also marks
    /// the variable NUMBER, as NUT's `dstate_addrange` does (drivers/dstate.c), so
    /// `upsrw` shows `Type: RANGE NUMBER`.
    pub fn add_range(&mut self, name: &str, min: i64, max: i64) -> Vec<DriverLine> {
        let range = DriverLine::AddRange {
            var: name.to_string(),
            min,
            max,
        };
        if !self.tree.apply(&range) {
            return Vec::new();
        }
        let mut lines = vec![range];
        if let Some(var) = self.tree.get(name) {
            if !var.flags.number && !var.flags.immutable {
                let mut flags = var.flags.words();
                flags.push("NUMBER".to_string());
                let line = DriverLine::SetFlags {
                    var: name.to_string(),
                    flags,
                };
                if self.tree.apply(&line) {
                    lines.push(line);
                }
            }
        }
        lines
    }

    /// Marks the device data good or stale; returns the line to broadcast on a change
    /// (DATAOK/DATASTALE are edge-triggered).
    pub fn set_stale(&mut self, stale: bool) -> Option<DriverLine> {
        if self.stale == stale {
            return None;
        }
        self.stale = stale;
        Some(if stale {
            DriverLine::DataStale
        } else {
            DriverLine::DataOk
        })
    }

    /// The full answer to DUMPALL (nut-reference.md §2.3).
    pub fn dump(&self) -> Vec<DriverLine> {
        let mut lines = Vec::new();
        if self.stale {
            lines.push(DriverLine::DataStale);
        }
        lines.extend(self.tree.dump_lines());
        if !self.stale {
            lines.push(DriverLine::DataOk);
        }
        lines.push(DriverLine::DumpDone);
        lines
    }
}

/// The first `max` bytes of `text` at most, cut on a character boundary (C's buffers
/// cut bytes; values here stay UTF-8).
pub(crate) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Result codes for TRACKING replies.
pub mod tracking {
    /// Handled.
    pub const SUCCESS: i64 = 0;
    /// Unknown command or variable.
    pub const UNKNOWN: i64 = 1;
    /// Invalid argument.
    pub const INVALID: i64 = 2;
    /// Handled, but the device refused or did not take it.
    pub const FAILED: i64 = 3;
}

/// A device driver's answer to one line from upsd (the shells of nutdrv_qx and
/// usbhid-ups, in every world): the TRACKING code of the SET or INSTCMD the device ran
/// (`None`: unknown), everything else as [`handle_common`] answers it.
pub fn device_reply(
    state: &mut DriverState,
    line: &ServerLine,
    result: Option<i64>,
) -> DriverReply {
    handle_common(state, line, |_, request| match request {
        Request::Set { .. } | Request::InstCmd { .. } => {
            (result.unwrap_or(tracking::UNKNOWN), Vec::new())
        }
    })
}

/// What a driver does with one line from upsd: lines to reply to that connection, and
/// lines to broadcast to every connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverReply {
    /// Lines for the connection that sent the request.
    pub reply: Vec<DriverLine>,
    /// Lines for all connections (state changes).
    pub broadcast: Vec<DriverLine>,
}

/// Most recent physical reading of a dummy device is a file; this holds its parsed steps
/// and where the sequence stands.
#[derive(Debug, Clone)]
pub struct DummyDevice {
    steps: Vec<DummyStep>,
    position: usize,
    resume_at: Millis,
    repeat: bool,
    finished: bool,
    /// `device.mfr/model/serial` were copied from `ups.*` (once, after the first pass).
    mirrored: bool,
}

/// How dummy-ups treats the end of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DummyMode {
    /// Read once; re-read only when the file changes (default for `.dev`).
    Once,
    /// Start again from the top (default for `.seq` and other names).
    Loop,
}

impl DummyMode {
    /// The default mode for a port name, and the `mode` option if given.
    pub fn for_port(port: &str, mode_option: Option<&str>) -> DummyMode {
        match mode_option {
            Some("dummy-once") => DummyMode::Once,
            Some("dummy-loop") | Some("dummy") => DummyMode::Loop,
            _ if port.ends_with(".dev") => DummyMode::Once,
            _ => DummyMode::Loop,
        }
    }

    /// The value published as `driver.parameter.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            DummyMode::Once => "dummy-once",
            DummyMode::Loop => "dummy-loop",
        }
    }
}

/// dummy-ups's table of known variables (drivers/dummy-ups.h `nut_data`, 2.8.0):
/// name, STRING flag, length (used only for STRING). Every entry is RW. The first
/// match wins (`ups.serial` is listed twice; the first says 32).
const DUMMY_VARS: &[(&str, bool, i64)] = &[
    ("ups.mfr", true, 32),
    ("ups.model", true, 32),
    ("ups.status", true, 32),
    ("ups.serial", true, 32),
    ("ups.load", false, 32),
    ("ups.alarm", true, 32),
    ("ups.time", true, 16),
    ("ups.date", true, 16),
    ("ups.mfr.date", true, 16),
    ("ups.firmware", true, 16),
    ("ups.firmware.aux", true, 16),
    ("ups.temperature", false, 1),
    ("ups.id", true, 16),
    ("ups.delay.start", false, 1),
    ("ups.delay.reboot", false, 1),
    ("ups.delay.shutdown", false, 1),
    ("ups.test.interval", false, 1),
    ("ups.test.result", true, 16),
    ("input.voltage", false, 1),
    ("input.voltage.maximum", false, 1),
    ("input.voltage.minimum", false, 1),
    ("input.voltage.nominal", false, 1),
    ("input.transfer.reason", true, 1),
    ("input.transfer.low", false, 1),
    ("input.transfer.high", false, 1),
    ("input.sensitivity", true, 1),
    ("input.quality", true, 6),
    ("input.frequency", false, 1),
    ("input.transfer.boost.low", false, 1),
    ("input.transfer.boost.high", false, 1),
    ("input.transfer.trim.low", false, 1),
    ("input.transfer.trim.high", false, 1),
    ("output.voltage", false, 1),
    ("output.frequency", false, 1),
    ("output.current", false, 1),
    ("battery.charge", false, 1),
    ("battery.charge.low", false, 1),
    ("battery.voltage", false, 1),
    ("battery.current", false, 1),
    ("battery.runtime", false, 1),
    ("battery.runtime.low", false, 1),
    ("battery.charge.restart", false, 1),
    ("battery.temperature", false, 1),
    ("battery.voltage.nominal", false, 1),
    ("ambient.temperature", false, 1),
    ("ambient.temperature.alarm", false, 1),
    ("ambient.temperature.high", false, 1),
    ("ambient.temperature.low", false, 1),
    ("ambient.humidity", false, 1),
    ("ambient.humidity.alarm", false, 1),
    ("ambient.humidity.high", false, 1),
    ("ambient.humidity.low", false, 1),
];

/// STRING flag and maximum length dummy-ups gives a variable it sets (always RW):
/// its `nut_data` entry, else STRING of length 32.
fn dummy_var_kind(name: &str) -> (bool, i64) {
    DUMMY_VARS
        .iter()
        .find(|(known, _, _)| known.eq_ignore_ascii_case(name))
        .map_or((true, 32), |&(_, string, len)| (string, len))
}

impl DummyDevice {
    /// A device reading `text` in `mode`.
    pub fn new(text: &[u8], mode: DummyMode) -> DummyDevice {
        DummyDevice {
            steps: parse_dummy_file(text),
            position: 0,
            resume_at: 0,
            repeat: mode == DummyMode::Loop,
            finished: false,
            mirrored: false,
        }
    }

    /// Whether polls change nothing until the file changes (read once, to its end).
    pub fn idle(&self) -> bool {
        self.finished && !self.repeat
    }

    /// The file changed: start reading it again from the top.
    pub fn reload(&mut self, text: &[u8]) {
        self.steps = parse_dummy_file(text);
        self.position = 0;
        self.resume_at = 0;
        self.finished = false;
    }

    /// The variables dummy-ups publishes before reading its file.
    pub fn publish_initial(
        state: &mut DriverState,
        port: &str,
        mode: DummyMode,
        pollinterval_s: u64,
    ) {
        let tree = state.tree_mut();
        for (name, value) in [
            ("device.type", "ups"),
            ("driver.name", "dummy-ups"),
            ("driver.parameter.mode", mode.as_str()),
            ("driver.parameter.pollinterval", &pollinterval_s.to_string()),
            ("driver.parameter.port", port),
            ("driver.parameter.synchronous", "auto"),
            ("driver.version", DRIVER_VERSION),
            ("driver.version.internal", "0.15"),
        ] {
            tree.set(name, value);
        }
        for (name, value) in [
            ("ups.mfr", "Dummy Manufacturer"),
            ("ups.model", "Dummy UPS"),
            ("ups.status", "OL"),
        ] {
            Self::set_var(state, name, value);
        }
        mirror_lines(state);
        state.tree_mut().add_cmd("load.off");
    }

    /// dummy-ups's `setvar`: an empty value deletes the variable (nut-reference.md §6.2,
    /// e.g. `upsrw -s var=`), except `ups.status`, which goes through the status
    /// functions and may be published empty. Every set also applies the variable's
    /// flags and length ([`dummy_var_kind`], RW always), broadcast as SETFLAGS/SETAUX
    /// when they change (`dstate_setflags`/`dstate_setaux`), so a variable the driver
    /// core published (e.g. `device.type`) becomes RW once the file sets it.
    fn set_var(state: &mut DriverState, name: &str, value: &str) -> Vec<DriverLine> {
        if value.is_empty() && !name.starts_with(STATUS_PREFIX) {
            return state.delete(name).into_iter().collect();
        }
        let mut lines: Vec<DriverLine> = state.set(name, value).into_iter().collect();
        let (string, aux) = dummy_var_kind(name);
        if let Some(var) = state.tree_mut().get_mut(name) {
            if var.flags.immutable {
                return lines;
            }
            let flags = VarFlags {
                rw: true,
                string,
                ..VarFlags::default()
            };
            if var.flags != flags {
                var.flags = flags;
                lines.push(DriverLine::SetFlags {
                    var: name.to_string(),
                    flags: flags.words(),
                });
            }
            if string && var.aux != aux {
                var.aux = aux;
                lines.push(DriverLine::SetAux {
                    var: name.to_string(),
                    aux,
                });
            }
        }
        lines
    }

    /// Runs the file from where it stands until a TIMER pauses it or it ends; returns
    /// the lines to broadcast. Call every poll interval.
    pub fn poll(&mut self, now: Millis, state: &mut DriverState) -> Vec<DriverLine> {
        let mut out = Vec::new();
        if now < self.resume_at {
            return out;
        }
        if self.finished {
            if !self.repeat {
                return out;
            }
            self.position = 0;
            self.finished = false;
        }
        while let Some(step) = self.steps.get(self.position) {
            self.position += 1;
            match step {
                DummyStep::Timer(seconds) => {
                    self.resume_at = now.saturating_add(crate::secs_to_ms(*seconds));
                    break;
                }
                DummyStep::Set { name, value } => out.extend(Self::set_var(state, name, value)),
                DummyStep::Status(tokens) => {
                    out.extend(Self::set_var(state, "ups.status", &tokens.join(" ")))
                }
            }
        }
        if self.position >= self.steps.len() && now >= self.resume_at {
            self.finished = true;
        }
        // NUT's driver core copies ups.mfr/model/serial to device.* once, after
        // upsdrv_initinfo (which reads the file up to its first TIMER), never again.
        if !self.mirrored {
            self.mirrored = true;
            out.extend(mirror_lines(state));
        }
        out.extend(state.set_stale(false));
        out
    }

    /// dummy-ups's answer to a line from upsd: SET changes the variable and succeeds,
    /// every instant command is "unknown" (as in NUT).
    pub fn handle(&mut self, state: &mut DriverState, line: &ServerLine) -> DriverReply {
        handle_common(state, line, |state, request| match request {
            Request::Set { var, value } => {
                if state.tree().get(var).is_none() {
                    return (tracking::UNKNOWN, Vec::new());
                }
                (tracking::SUCCESS, Self::set_var(state, var, value))
            }
            Request::InstCmd { .. } => (tracking::UNKNOWN, Vec::new()),
        })
    }
}

/// A SET or INSTCMD request handed to a driver's device logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// `SET <var> <value>`
    Set {
        /// Variable.
        var: &'a str,
        /// New value.
        value: &'a str,
    },
    /// `INSTCMD <cmd> [<param>]`
    InstCmd {
        /// Command.
        cmd: &'a str,
        /// Optional parameter.
        param: Option<&'a str>,
    },
}

/// Handles the lines every driver answers the same way (DUMPALL, PING) and hands SET and
/// INSTCMD to `device`, which returns a TRACKING result and lines to broadcast.
pub fn handle_common(
    state: &mut DriverState,
    line: &ServerLine,
    mut device: impl FnMut(&mut DriverState, Request<'_>) -> (i64, Vec<DriverLine>),
) -> DriverReply {
    let mut out = DriverReply::default();
    let (tracking_id, request) = match line {
        ServerLine::DumpAll => {
            out.reply = state.dump();
            return out;
        }
        ServerLine::Ping => {
            out.reply.push(DriverLine::Pong);
            return out;
        }
        ServerLine::Set {
            var,
            value,
            tracking,
        } => (tracking, Request::Set { var, value }),
        ServerLine::InstCmd {
            cmd,
            param,
            tracking,
        } => (
            tracking,
            Request::InstCmd {
                cmd,
                param: param.as_deref(),
            },
        ),
        ServerLine::NoBroadcast | ServerLine::Broadcast(_) | ServerLine::Logout => return out,
    };
    let (result, broadcast) = device(state, request);
    out.broadcast = broadcast;
    if let Some(id) = tracking_id {
        out.reply.push(DriverLine::Tracking {
            id: id.clone(),
            result,
        });
    }
    out
}

/// `device.mfr/model/serial` mirror `ups.mfr/model/serial` (as NUT's driver core does
/// once at start-up, main.c "remap the device.* info from ups.*").
fn mirror_lines(state: &mut DriverState) -> Vec<DriverLine> {
    let mut out = Vec::new();
    for (from, to) in [
        ("ups.mfr", "device.mfr"),
        ("ups.model", "device.model"),
        ("ups.serial", "device.serial"),
    ] {
        if let Some(value) = state.tree().value(from).map(str::to_string) {
            out.extend(state.set(to, &value));
        }
    }
    out
}
