//! nutdrv_qx's device logic for the Megatec/Q1 family (NUT's `drivers/nutdrv_qx.c`,
//! `nutdrv_qx_megatec.c`, `nutdrv_qx_q1.c`, `nutdrv_qx_blazer-common.c`, NUT 2.8.0).
//!
//! The device speaks short ASCII queries ending in `\r` (`Q1`, `F`, `I`) and answers
//! fixed-column lines (`(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\r`). NUT reads
//! them through a table of items (variable, query, expected length, leading character,
//! column range, format, flags); this module keeps NUT's tables and walk so the variables,
//! their formatting and the failure handling match NUT's byte for byte.
//!
//! ## Sans-IO
//! Every operation (start, poll, instant command, SET, `-k`) is a [`Job`]. The shell
//! calls [`QxDriver::run`] with the replies it has so far; the driver answers
//! [`Progress::Send`] (write these bytes, read the reply, call again with one more reply)
//! or [`Progress::Done`] (the job's outcome, the driver-socket lines to broadcast and
//! the notes to log). The job is evaluated from the start on every call, recording its
//! changes over the untouched state, and they are applied only when it completes, so a
//! job written in NUT's straight-line style needs no hand-made state machine, and a
//! half-finished exchange (the device unplugged mid-job) leaves nothing half-applied.
//! Jobs exchange a handful of lines: a quick poll costs about 1.5 µs of CPU in the core
//! (measured in a loop), against a few hundred for the serial I/O around it.
//!
//! ## Differences from NUT, on purpose
//! - Every protocol of NUT 2.8.0 is implemented (`voltronic`, `voltronic-qs`,
//!   `voltronic-qs-hex`, `mustek`, `megatec/old`, `bestups`, `mecer`, `megatec`,
//!   `zinto`, `masterguard`, `hunnox`, `ablerex` and `q1`); `protocol=` naming a later
//!   NUT's protocol (`innovart31`) is refused with a clear message.
//! - masterguard claims its units as NUT 2.8.1 does (2.8.0's claim never succeeds),
//!   see [`masterguard`]'s notes.
//! - The voltronic protocol fixes three NUT flaws, listed in [`voltronic`]'s notes;
//!   bestups one, in [`family`]'s.
//! - NUT guesses `battery.charge` at start with one battery pack, before detecting the
//!   number of packs, so a unit reporting its voltage per cell shows 0 % until the first
//!   full update; here the guess is redone once the packs are known.

mod family;
mod masterguard;
mod voltronic;
mod voltronic_text;

use crate::dummy::{tracking, DriverState};
use crate::event::Level;
/// C's `strtol` (base 10), saturating: the driver-socket protocol's.
pub use crate::sock::atoi as strtol;
use crate::sock::DriverLine;
use crate::Millis;

/// NUT's `MAXTRIES`: attempts per claim, shutdown command and before data goes stale.
pub const MAXTRIES: u32 = 3;
/// How long a serial transport waits for a reply, in seconds (NUT's `SER_WAIT_SEC`).
pub const SER_WAIT_SEC: u64 = 1;
/// Longest reply kept, in bytes (NUT's `item_t.answer` buffer less the terminator).
pub const MAX_ANSWER_BYTES: usize = 511;
/// Full update period default, in seconds (`pollfreq`, NUT's `DEFAULT_POLLFREQ`).
pub const DEFAULT_POLLFREQ_S: i64 = 30;
/// `ups.delay.start` default, in seconds (NUT's `DEFAULT_ONDELAY`).
pub const DEFAULT_ONDELAY: &str = "180";
/// `ups.delay.shutdown` default, in seconds (NUT's `DEFAULT_OFFDELAY`).
pub const DEFAULT_OFFDELAY: &str = "30";
/// nutdrv_qx's `DRIVER_VERSION` in NUT 2.8.0 (published as `driver.version.internal`).
pub const DRIVER_VERSION_INTERNAL: &str = "0.32";

/// Item flags (NUT's `QX_FLAG_*`).
pub mod flag {
    /// Read once at start-up.
    pub const STATIC: u32 = 2;
    /// Read at start-up and again only after an instant command or a SET (the next
    /// full update).
    pub const SEMI_STATIC: u32 = 4;
    /// Not read from the device: a server-side variable with a default.
    pub const ABSENT: u32 = 8;
    /// Also read in quick updates (status bits): a failure here means "no device".
    pub const QUICK_POLL: u32 = 16;
    /// An instant command.
    pub const CMD: u32 = 32;
    /// A settable variable.
    pub const SETVAR: u32 = 64;
    /// Trim spaces and `#` around the value.
    pub const TRIM: u32 = 128;
    /// The variable has a list of settable values.
    pub const ENUM: u32 = 256;
    /// The variable has a settable range.
    pub const RANGE: u32 = 512;
    /// No NUT variable: the value is logged, and set only from a ups.conf option of
    /// the same name.
    pub const NONUT: u32 = 1024;
    /// Skipped from now on.
    pub const SKIP: u32 = 2048;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pre {
    None,
    StatusBits,
    Command,
    Setvar,
    /// voltronic-qs's `M` answer must be `V` (`voltronic_qs_protocol`).
    VoltronicProtocol,
    /// voltronic-qs-hex's `M` answer must be `P` or `T`; `T` units also report their
    /// ratings and take `T` (`voltronic_qs_hex_protocol`).
    HexProtocol,
    /// `voltronic_qs_hex_input_output_voltage`.
    HexVoltage,
    /// `voltronic_qs_hex_load`.
    HexLoad,
    /// `voltronic_qs_hex_frequency`.
    HexFrequency,
    /// `voltronic_qs_hex_battery_voltage`.
    HexBattery,
    /// `voltronic_qs_hex_process_ratings_bits`.
    HexRatings,
    /// One of the voltronic protocol's preprocess functions.
    Volt(voltronic::V),
    /// One of bestups's, mecer's preprocess functions.
    Family(family::F),
    /// One of masterguard's preprocess functions.
    Master(masterguard::M),
}

/// An `info_rw_t` entry: a range bound or enum value, with its optional filter
/// (voltronic's, see `voltronic_text::rw_allowed`).
#[derive(Debug, Clone, Copy)]
struct Rw {
    /// The value.
    value: &'static str,
    /// The preprocess filter, `None` for C's `0`.
    check: Option<voltronic_text::RwCheck>,
}

/// An unfiltered [`Rw`].
const fn rw(value: &'static str) -> Rw {
    Rw { value, check: None }
}

/// Where a variable's settable values come from (NUT's `item_t.info_rw`).
#[derive(Debug, Clone, Copy)]
enum InfoRw {
    /// None.
    None,
    /// A list of values (range bounds in pairs), each kept only if its check passes.
    List(&'static [Rw]),
    /// voltronic's ECO mode voltage limits, filled when `QHE` is read (high, low).
    EcoVolt(bool),
    /// masterguard's battery pack range, set by the unit's model.
    MasterPacks,
    /// masterguard's output voltages, as `MSO` lists them.
    MasterVolts,
}

/// One row of a protocol table (NUT's `item_t`).
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// NUT variable or instant command name.
    pub var: &'static str,
    rw: bool,
    info_rw: InfoRw,
    /// The query or command, `\r` included (may hold one `%s`/`%02d` for commands).
    pub command: &'static str,
    answer_len: usize,
    leading: u8,
    from: usize,
    to: usize,
    /// Output format (`%.1f`...), or the default value of an ABSENT variable.
    dfl: &'static str,
    /// `flag::*`.
    pub flags: u32,
    pre: Pre,
    /// How the answer is refined before the columns are read (`preprocess_answer`).
    answer: Answer,
}

/// An item's `preprocess_answer` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// None: the columns are read from the answer as it came.
    Plain,
    /// voltronic-qs-hex's binary `QS` reply, turned into hex text first
    /// (`voltronic_qs_hex_preprocess_qs_answer`).
    Hex,
    /// bestups's comma-separated `ID` reply, padded to fixed columns
    /// (`bestups_preprocess_id_answer`).
    BestupsId,
    /// A binary reply (ablerex's `Q5`, `At`, `TR`): read as it came, and also kept
    /// whole, bytes after a NUL included, for the preprocess function.
    Binary,
    /// masterguard's `SS` command: once it went out, the unit's new address is the one
    /// its later commands use (`masterguard_new_slaveaddr`).
    NewSlaveAddr,
}

/// One table row read from its columns as it comes (no `preprocess_answer`).
#[allow(clippy::too_many_arguments)]
const fn it(
    var: &'static str,
    rw: bool,
    info_rw: InfoRw,
    command: &'static str,
    answer_len: usize,
    leading: u8,
    (from, to): (usize, usize),
    dfl: &'static str,
    flags: u32,
    pre: Pre,
) -> Item {
    Item {
        var,
        rw,
        info_rw,
        command,
        answer_len,
        leading,
        from,
        to,
        dfl,
        flags,
        pre,
        answer: Answer::Plain,
    }
}

const fn q1(var: &'static str, from: usize, to: usize, dfl: &'static str, flags: u32) -> Item {
    Item {
        var,
        rw: false,
        info_rw: InfoRw::None,
        command: "Q1\r",
        answer_len: 47,
        leading: b'(',
        from,
        to,
        dfl,
        flags,
        pre: Pre::None,
        answer: Answer::Plain,
    }
}

const fn bits(var: &'static str, at: usize, dfl: &'static str, flags: u32) -> Item {
    let mut item = q1(var, at, at, dfl, flags);
    item.pre = Pre::StatusBits;
    item
}

const fn query(
    var: &'static str,
    command: &'static str,
    answer_len: usize,
    (from, to): (usize, usize),
    dfl: &'static str,
    flags: u32,
) -> Item {
    Item {
        var,
        rw: false,
        info_rw: InfoRw::None,
        command,
        answer_len,
        leading: b'#',
        from,
        to,
        dfl,
        flags,
        pre: Pre::None,
        answer: Answer::Plain,
    }
}

const fn cmd(var: &'static str, command: &'static str, pre: Pre) -> Item {
    Item {
        var,
        rw: false,
        info_rw: InfoRw::None,
        command,
        answer_len: 0,
        leading: 0,
        from: 0,
        to: 0,
        dfl: "",
        flags: flag::CMD,
        pre,
        answer: Answer::Plain,
    }
}

const fn delay(var: &'static str, range: &'static [Rw], dfl: &'static str) -> Item {
    Item {
        var,
        rw: true,
        info_rw: InfoRw::List(range),
        command: "",
        answer_len: 0,
        leading: 0,
        from: 0,
        to: 0,
        dfl,
        flags: flag::ABSENT | flag::SETVAR | flag::RANGE,
        pre: Pre::Setvar,
        answer: Answer::Plain,
    }
}

/// The `Q1` status query (nutdrv_qx_megatec.c, nutdrv_qx_q1.c).
const Q1_ITEMS: [Item; 15] = [
    q1("input.voltage", 1, 5, "%.1f", 0),
    q1("input.voltage.fault", 7, 11, "%.1f", 0),
    q1("output.voltage", 13, 17, "%.1f", 0),
    q1("ups.load", 19, 21, "%.0f", 0),
    q1("input.frequency", 23, 26, "%.1f", 0),
    q1("battery.voltage", 28, 31, "%.2f", 0),
    q1("ups.temperature", 33, 36, "%.1f", 0),
    bits("ups.status", 38, "", flag::QUICK_POLL),
    bits("ups.status", 39, "", flag::QUICK_POLL),
    bits("ups.status", 40, "", flag::QUICK_POLL),
    bits("ups.alarm", 41, "", 0),
    bits("ups.type", 42, "%s", flag::STATIC),
    bits("ups.status", 43, "", flag::QUICK_POLL),
    bits("ups.status", 44, "", flag::QUICK_POLL),
    bits("ups.beeper.status", 45, "%s", 0),
];

/// The `F` ratings query and the `I` vendor query (megatec only).
const RATING_ITEMS: [Item; 7] = [
    query(
        "input.voltage.nominal",
        "F\r",
        22,
        (1, 5),
        "%.0f",
        flag::STATIC,
    ),
    query(
        "input.current.nominal",
        "F\r",
        22,
        (7, 9),
        "%.1f",
        flag::STATIC,
    ),
    query(
        "battery.voltage.nominal",
        "F\r",
        22,
        (11, 15),
        "%.1f",
        flag::STATIC,
    ),
    query(
        "input.frequency.nominal",
        "F\r",
        22,
        (17, 20),
        "%.0f",
        flag::STATIC,
    ),
    query(
        "device.mfr",
        "I\r",
        39,
        (1, 15),
        "%s",
        flag::STATIC | flag::TRIM,
    ),
    query(
        "device.model",
        "I\r",
        39,
        (17, 26),
        "%s",
        flag::STATIC | flag::TRIM,
    ),
    query(
        "ups.firmware",
        "I\r",
        39,
        (28, 37),
        "%s",
        flag::STATIC | flag::TRIM,
    ),
];

/// Instant commands and the two server-side delays (blazer-common).
const COMMAND_ITEMS: [Item; 12] = [
    cmd("beeper.toggle", "Q\r", Pre::None),
    cmd("load.off", "S00R0000\r", Pre::None),
    cmd("load.on", "C\r", Pre::None),
    cmd("shutdown.return", "S%s\r", Pre::Command),
    cmd("shutdown.stayoff", "S%sR0000\r", Pre::Command),
    cmd("shutdown.stop", "C\r", Pre::None),
    cmd("test.battery.start", "T%02d\r", Pre::Command),
    cmd("test.battery.start.deep", "TL\r", Pre::None),
    cmd("test.battery.start.quick", "T\r", Pre::None),
    cmd("test.battery.stop", "CT\r", Pre::None),
    delay("ups.delay.start", &[rw("0"), rw("599940")], DEFAULT_ONDELAY),
    delay(
        "ups.delay.shutdown",
        &[rw("12"), rw("600")],
        DEFAULT_OFFDELAY,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Status and vendor (`blazer_claim`).
    Full,
    /// Status only (`blazer_claim_light`).
    Light,
    /// Protocol (`M` answers `V`), then status (`voltronic_qs_claim`).
    VoltronicQs,
    /// Protocol (`M` answers `P` or `T`), then the binary status
    /// (`voltronic_qs_hex_claim`).
    VoltronicQsHex,
    /// Status (`QGS`), then protocol (`QPI`) (`voltronic_claim`).
    Voltronic,
    /// Status, then `QPI` answered `(PI98` or refused `(NAK` (`mecer_claim`).
    Mecer,
    /// Status, then the model from `ID` (`bestups_claim`).
    Bestups,
    /// Identity, ratings, address and output voltages (`masterguard_claim`).
    Masterguard,
}

/// The voltronic-qs protocols' delay ranges (both tables list the same).
const QS_ONDELAY: &[Rw] = &[rw("60"), rw("599940")];
/// See [`QS_ONDELAY`].
const QS_OFFDELAY: &[Rw] = &[rw("12"), rw("540")];

/// The instant commands of the voltronic-qs protocols (both tables list the same).
const VOLTRONIC_QS_COMMANDS: [&str; 7] = [
    "beeper.toggle",
    "load.off",
    "load.on",
    "shutdown.return",
    "shutdown.stayoff",
    "shutdown.stop",
    "test.battery.start.quick",
];

/// voltronic-qs's table (nutdrv_qx_voltronic-qs.c): the `M` protocol query, Q1's status
/// layout behind `QS` (with the output frequency), output ratings from `F`, a shorter
/// command list and its own delay ranges.
fn voltronic_qs_table() -> Vec<Item> {
    let mut items = vec![Item {
        var: "ups.firmware.aux",
        rw: false,
        info_rw: InfoRw::None,
        command: "M\r",
        answer_len: 2,
        leading: 0,
        from: 0,
        to: 0,
        dfl: "PM-%s",
        flags: flag::STATIC,
        pre: Pre::VoltronicProtocol,
        answer: Answer::Plain,
    }];
    for mut item in Q1_ITEMS {
        item.command = "QS\r";
        if item.var == "input.frequency" {
            item.var = "output.frequency";
        }
        items.push(item);
    }
    for (var, from, to, dfl) in [
        ("output.voltage.nominal", 1, 5, "%.0f"),
        ("output.current.nominal", 7, 9, "%.1f"),
        ("battery.voltage.nominal", 11, 15, "%.1f"),
        ("output.frequency.nominal", 17, 20, "%.0f"),
    ] {
        items.push(query(var, "F\r", 22, (from, to), dfl, flag::STATIC));
    }
    for item in COMMAND_ITEMS {
        if VOLTRONIC_QS_COMMANDS.contains(&item.var) {
            items.push(item);
        }
    }
    items.push(delay("ups.delay.start", QS_ONDELAY, DEFAULT_ONDELAY));
    items.push(delay("ups.delay.shutdown", QS_OFFDELAY, DEFAULT_OFFDELAY));
    items
}

/// voltronic-qs-hex's table (nutdrv_qx_voltronic-qs-hex.c): the `M` protocol query and
/// a binary `QS` reply, turned into hex text laid out as Q1's status bits (the values
/// decoded by the `Hex*` preprocessing); `T` units add ratings bits.
fn voltronic_qs_hex_table() -> Vec<Item> {
    let qs = |var, (from, to), answer_len, dfl, flags, pre| Item {
        var,
        rw: false,
        info_rw: InfoRw::None,
        command: "QS\r",
        answer_len,
        leading: b'#',
        from,
        to,
        dfl,
        flags,
        pre,
        answer: Answer::Hex,
    };
    let mut items = vec![Item {
        var: "ups.firmware.aux",
        rw: false,
        info_rw: InfoRw::None,
        command: "M\r",
        answer_len: 2,
        leading: 0,
        from: 0,
        to: 0,
        dfl: "PM-%s",
        flags: flag::STATIC,
        pre: Pre::HexProtocol,
        answer: Answer::Plain,
    }];
    for (var, range, dfl, pre) in [
        ("input.voltage", (1, 7), "%.1f", Pre::HexVoltage),
        ("output.voltage", (9, 15), "%.1f", Pre::HexVoltage),
        ("ups.load", (17, 18), "%d", Pre::HexLoad),
        ("output.frequency", (20, 30), "%.1f", Pre::HexFrequency),
        ("battery.voltage", (32, 36), "%.2f", Pre::HexBattery),
    ] {
        items.push(qs(var, range, 47, dfl, 0, pre));
    }
    for item in Q1_ITEMS.iter().filter(|i| i.pre == Pre::StatusBits) {
        items.push(Item {
            command: "QS\r",
            leading: b'#',
            answer: Answer::Hex,
            ..*item
        });
    }
    for (var, range) in [
        ("output.frequency.nominal", (47, 47)),
        ("battery.voltage.nominal", (48, 49)),
        ("output.voltage.nominal", (52, 54)),
    ] {
        items.push(qs(var, range, 56, "%.1f", flag::SKIP, Pre::HexRatings));
    }
    for item in COMMAND_ITEMS {
        if VOLTRONIC_QS_COMMANDS.contains(&item.var) {
            let mut item = item;
            if item.var == "test.battery.start.quick" {
                item.flags |= flag::SKIP;
            }
            items.push(item);
        }
    }
    items.push(delay("ups.delay.start", QS_ONDELAY, DEFAULT_ONDELAY));
    items.push(delay("ups.delay.shutdown", QS_OFFDELAY, DEFAULT_OFFDELAY));
    items
}

/// `voltronic_qs_hex_preprocess_qs_answer`: the binary reply (`#`, space-separated
/// tokens of raw bytes, `(` escaping CR, XON, XOFF, LF and space, `\r`) as hex text, the
/// status and ratings tokens as binary digits; `None` when it does not have 10 or 11
/// tokens of the expected lengths.
fn hex_qs_answer(answer: &[u8], len: usize) -> Option<Vec<u8>> {
    use std::fmt::Write;
    let answer = &answer[..len.min(answer.len())];
    if answer.first() != Some(&b'#') {
        return None;
    }
    let mut refined = String::from("#");
    let mut token = 1;
    let binary = |b: u8| format!("{b:08b}");
    let mut i = 1;
    while i < answer.len() {
        let b = answer[i];
        if b == 0x20 {
            refined.push(' ');
            token += 1;
            i += 1;
            continue;
        }
        if b == 0x28 {
            let escaped = match answer.get(i + 1) {
                Some(0x00) => Some(0x0d),
                Some(0x01) => Some(0x11),
                Some(0x02) => Some(0x13),
                Some(0x03) => Some(0x0a),
                Some(0x04) => Some(0x20),
                _ => None,
            };
            match escaped {
                Some(e) => {
                    let _ = write!(refined, "{e:02x}");
                    i += 2;
                }
                None => {
                    if token != 10 && token != 11 {
                        let _ = write!(refined, "{b:02x}");
                    } else {
                        refined.push_str(&binary(b));
                    }
                    i += 1;
                }
            }
            continue;
        }
        if b == 0x0d {
            break;
        }
        if token != 10 && token != 11 {
            let _ = write!(refined, "{b:02x}");
        } else {
            refined.push_str(&binary(b));
        }
        i += 1;
    }
    // NUT's buffer is SMALLBUF (512) bytes; a longer text is cut, then refused below.
    refined.truncate(511);
    let ok = (token == 10 && refined.len() == 46) || (token == 11 && refined.len() == 55);
    if !ok {
        return None;
    }
    refined.push('\r');
    Some(refined.into_bytes())
}

/// C's `%.Nf` of a double that may be infinite or NaN (glibc spells them `inf`, `-nan`).
fn format_c(format: &str, value: f64) -> String {
    if value.is_nan() {
        return "-nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    format_number(format, value)
}

/// The `Hex*` preprocessing of voltronic-qs-hex's values; `None`: refused.
fn hex_value(item: &Item, value: &str) -> Option<String> {
    let hex_or_space = |extra: &str| {
        value
            .chars()
            .all(|c| c.is_ascii_hexdigit() || extra.contains(c))
    };
    match item.pre {
        Pre::HexVoltage => {
            if !hex_or_space(" ") {
                return None;
            }
            let (a, rest) = crate::sock::strtol16(value);
            let (b, _) = crate::sock::strtol16(rest);
            let val = a.saturating_mul(b) / 51;
            Some(format_c(item.dfl, val as f64 / 256.0))
        }
        Pre::HexLoad => {
            if !hex_or_space("") {
                return None;
            }
            Some(crate::sock::strtol16(value).0.to_string())
        }
        Pre::HexFrequency => {
            if !hex_or_space(" ") {
                return None;
            }
            let (a, rest) = crate::sock::strtol16(value);
            let (b, _) = crate::sock::strtol16(rest);
            let ret = b as f64 / a as f64;
            let ret = if ret > 99.9 { 99.9 } else { ret };
            Some(format_c(item.dfl, ret))
        }
        Pre::HexBattery => {
            if !hex_or_space(" ") {
                return None;
            }
            let (a, rest) = crate::sock::strtol16(value);
            let (b, _) = crate::sock::strtol16(rest);
            Some(format_c(item.dfl, a.saturating_mul(b) as f64 / 510.0))
        }
        Pre::HexRatings => {
            if !value.chars().all(|c| c == '0' || c == '1') {
                return None;
            }
            let val = strtol(value);
            let ret = match item.from {
                47 => {
                    if val == 0 {
                        50.0
                    } else {
                        60.0
                    }
                }
                48 => match val {
                    0 => 12.0,
                    1 => 24.0,
                    10 => 36.0,
                    _ => 48.0,
                },
                52 => match val {
                    0 => 110.0,
                    1 => 120.0,
                    10 => 220.0,
                    11 => 230.0,
                    100 => 240.0,
                    _ => return None,
                },
                _ => return None,
            };
            Some(format_c(item.dfl, ret))
        }
        _ => None,
    }
}

/// A protocol (NUT's `subdriver_t`).
#[derive(Debug)]
pub struct Subdriver {
    /// Name with version, published as `driver.version.data` (`Megatec 0.06`).
    pub name: &'static str,
    /// The status query (`Q1\r`; mustek's `QS\r`, megatec/old's `D\r`).
    pub status_query: &'static str,
    claim: Claim,
    table: Table,
    accepted: Option<&'static str>,
    /// The whole answer of a unit refusing a query (voltronic's `(NAK\r`).
    rejected: Option<&'static str>,
    /// What the subdriver's `initups` does once it has claimed the unit.
    initups: Initups,
}

/// A protocol's table (its `qx2nut`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// `Q1` behind the status query, with megatec's `F` and `I` (`ratings`) or without,
    /// and the commands (megatec, megatec/old, mustek, q1).
    Blazer {
        ratings: bool,
    },
    Zinto,
    Hunnox,
    Ablerex,
    Masterguard,
    Mecer,
    Bestups,
    VoltronicQs,
    VoltronicQsHex,
    Voltronic,
}

/// What the output voltage against the input tells of an active bypass/boost/buck bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VoltageMode {
    Trim,
    Bypass,
    Boost,
}

impl VoltageMode {
    /// Its `ups.status` word.
    fn word(self) -> &'static str {
        match self {
            VoltageMode::Trim => "TRIM",
            VoltageMode::Bypass => "BYPASS",
            VoltageMode::Boost => "BOOST",
        }
    }
}

/// A subdriver's `initups` (nutdrv_qx_blazer-common.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Initups {
    /// `blazer_initups`: `norating`, `novendor` and `ignoresab`.
    Blazer,
    /// `blazer_initups_light`: `ignoresab` only.
    Light,
    /// None (voltronic).
    None,
}

impl Subdriver {
    /// The `protocol=` spelling (the name without its version).
    pub fn protocol(&self) -> &'static str {
        self.name.split(' ').next().unwrap_or(self.name)
    }

    fn table(&self) -> Vec<Item> {
        let ratings = match self.table {
            Table::Blazer { ratings } => ratings,
            Table::Zinto => return family::zinto_table(false),
            Table::Hunnox => return family::zinto_table(true),
            Table::Ablerex => return family::ablerex_table(),
            Table::Masterguard => return masterguard::table(),
            Table::Mecer => return family::mecer_table(),
            Table::Bestups => return family::bestups_table(),
            Table::VoltronicQs => return voltronic_qs_table(),
            Table::VoltronicQsHex => return voltronic_qs_hex_table(),
            Table::Voltronic => return voltronic::table(),
        };
        let mut items = Q1_ITEMS.to_vec();
        for item in &mut items {
            item.command = self.status_query;
        }
        if ratings {
            items.extend(RATING_ITEMS);
        }
        items.extend(COMMAND_ITEMS);
        items
    }
}

/// The protocols, in NUT's autodetection order (`subdriver_list` in nutdrv_qx.c, every
/// one; `q1` is the fallback).
pub const SUBDRIVERS: [Subdriver; 13] = [
    // nutdrv_qx_voltronic.c: `QGS` status and `QPI` protocol; `(ACK`/`(NAK` replies.
    Subdriver {
        name: "Voltronic 0.06",
        status_query: "QGS\r",
        claim: Claim::Voltronic,
        table: Table::Voltronic,
        accepted: Some("ACK"),
        rejected: Some("(NAK\r"),
        initups: Initups::None,
    },
    // nutdrv_qx_voltronic-qs.c: `M` must answer `V`; no ACK for commands.
    Subdriver {
        name: "Voltronic-QS 0.07",
        status_query: "QS\r",
        claim: Claim::VoltronicQs,
        table: Table::VoltronicQs,
        accepted: None,
        rejected: None,
        initups: Initups::Light,
    },
    // nutdrv_qx_voltronic-qs-hex.c: `M` must answer `P` or `T`; a binary `QS`.
    Subdriver {
        name: "Voltronic-QS-Hex 0.10",
        status_query: "QS\r",
        claim: Claim::VoltronicQsHex,
        table: Table::VoltronicQsHex,
        accepted: None,
        rejected: None,
        initups: Initups::Light,
    },
    // nutdrv_qx_mustek.c: Q1's layout behind `QS`, status-only claim.
    Subdriver {
        name: "Mustek 0.07",
        status_query: "QS\r",
        claim: Claim::Light,
        table: Table::Blazer { ratings: true },
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Blazer,
    },
    // nutdrv_qx_megatec-old.c: Q1's layout behind `D`, status-only claim.
    Subdriver {
        name: "Megatec/old 0.07",
        status_query: "D\r",
        claim: Claim::Light,
        table: Table::Blazer { ratings: true },
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Blazer,
    },
    // nutdrv_qx_bestups.c: `Q1` and the `ID` model query; no ACK for commands.
    Subdriver {
        name: "BestUPS 0.06",
        status_query: "Q1\r",
        claim: Claim::Bestups,
        table: Table::Bestups,
        accepted: None,
        rejected: None,
        initups: Initups::Light,
    },
    // nutdrv_qx_mecer.c: `Q1`, then `QPI` answered `(PI98` or `(NAK`.
    Subdriver {
        name: "Mecer 0.07",
        status_query: "Q1\r",
        claim: Claim::Mecer,
        table: Table::Mecer,
        accepted: Some("ACK"),
        rejected: Some("(NAK\r"),
        initups: Initups::Blazer,
    },
    Subdriver {
        name: "Megatec 0.06",
        status_query: "Q1\r",
        claim: Claim::Full,
        table: Table::Blazer { ratings: true },
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Blazer,
    },
    // nutdrv_qx_zinto.c: megatec with the vendor query `FW?`.
    Subdriver {
        name: "Zinto 0.06",
        status_query: "Q1\r",
        claim: Claim::Full,
        table: Table::Zinto,
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Blazer,
    },
    // nutdrv_qx_masterguard.c: `WH` identity, `Q3` status, slave-addressed queries.
    Subdriver {
        name: "Masterguard 0.02",
        status_query: "Q3\r",
        claim: Claim::Masterguard,
        table: Table::Masterguard,
        accepted: None,
        rejected: None,
        initups: Initups::None,
    },
    // nutdrv_qx_hunnox.c: zinto's queries; commands acknowledged `UPS No Ack`.
    Subdriver {
        name: "Hunnox 0.01",
        status_query: "Q1\r",
        claim: Claim::Full,
        table: Table::Hunnox,
        accepted: Some("UPS No Ack"),
        rejected: None,
        initups: Initups::Blazer,
    },
    // nutdrv_qx_ablerex.c: megatec's queries, the binary `Q5` status, `At` runtime
    // and `TR` test result (Ablerex units, on their own USB bridge).
    Subdriver {
        name: "Ablerex 0.01",
        status_query: "Q1\r",
        claim: Claim::Full,
        table: Table::Ablerex,
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Blazer,
    },
    Subdriver {
        name: "Q1 0.07",
        status_query: "Q1\r",
        claim: Claim::Light,
        table: Table::Blazer { ratings: false },
        accepted: Some("ACK"),
        rejected: None,
        initups: Initups::Light,
    },
];

/// Protocols of NUT's nutdrv_qx that this driver does not speak yet.
pub const NOT_YET: [&str; 1] = ["innovart31"];

/// The driver's own ups.conf options (`upsdrv_makevartable` and the subdrivers').
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QxOptions {
    /// `protocol`: skip autodetection.
    pub protocol: Option<String>,
    /// `ondelay`.
    pub ondelay: Option<String>,
    /// `offdelay`.
    pub offdelay: Option<String>,
    /// `pollfreq`, seconds between full updates.
    pub pollfreq: Option<i64>,
    /// `stayoff`: `-k` sends shutdown.stayoff.
    pub stayoff: bool,
    /// `runtimecal = runtime_high,load_high,runtime_low,load_low`.
    pub runtimecal: Option<(f64, f64, f64, f64)>,
    /// `chargetime`, seconds from empty to full.
    pub chargetime: Option<i64>,
    /// `idleload`, percent.
    pub idleload: Option<f64>,
    /// `norating`: skip the F query.
    pub norating: bool,
    /// `novendor`: skip the I query.
    pub novendor: bool,
    /// `ignoresab`: ignore the "shutdown active" bit.
    pub ignoresab: bool,
    /// `ignorelb` (a driver core flag): ignore the device's LB and raise LB when
    /// `battery.charge` < `battery.charge.low` or `battery.runtime` <
    /// `battery.runtime.low` (set them with `override.*`).
    pub ignorelb: bool,
    /// The protocols' own settings ([`PROTOCOL_VALUES`], [`PROTOCOL_FLAGS`]) as given
    /// (flags without a value).
    pub settings: Vec<(String, Option<String>)>,
}

/// The protocols' own ups.conf settings that take a value: voltronic's
/// (`voltronic_makevartable`: the unit's capability options, bypass limits, P31 grid
/// range, output phase angle and battery count) and bestups's `pins_shutdown_mode`
/// (`bestups_makevartable`), set once at start-up; and masterguard's
/// (`masterguard_makevartable`), of which its claim reads `slave_address`.
pub const PROTOCOL_VALUES: [&str; 34] = [
    "bypass_alarm",
    "battery_alarm",
    "bypass_when_off",
    "alarm_control",
    "converter_mode",
    "eco_mode",
    "battery_open_status_check",
    "bypass_forbidding",
    "site_fault_detection",
    "advanced_eco_mode",
    "constant_phase_angle",
    "limited_runtime_on_battery",
    "max_bypass_volt",
    "min_bypass_volt",
    "max_bypass_freq",
    "min_bypass_freq",
    "work_range_type",
    "output_phase_angle",
    "battery_number",
    "pins_shutdown_mode",
    "series",
    "slave_address",
    "input_fault_voltage",
    "number_of_battery_cells",
    "nominal_cell_voltage",
    "runtime_half",
    "runtime_full",
    "recharge_time",
    "output_voltages",
    "fault_1",
    "fault_2",
    "fault_3",
    "fault_4",
    "fault_5",
];

/// The protocols' own ups.conf flags, all voltronic's: `reset_to_default` (capability options
/// back to the unit's defaults, only in standby) and `testing`.
pub const PROTOCOL_FLAGS: [&str; 2] = ["reset_to_default", "testing"];

impl QxOptions {
    /// `getval`: a protocol setting's value.
    fn getval(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// `testvar`: whether a protocol setting or flag is given.
    fn testvar(&self, name: &str) -> bool {
        self.settings
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

impl QxOptions {
    /// Reads the driver's options from a ups.conf section (later settings win). Values
    /// NUT would refuse at start-up are refused here, naming the option.
    pub fn from_options(options: &[(String, Option<String>)]) -> Result<QxOptions, String> {
        let value = |key: &str| {
            options
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone().unwrap_or_default())
        };
        let flag = |key: &str| options.iter().any(|(k, _)| k.eq_ignore_ascii_case(key));
        let mut out = QxOptions {
            protocol: value("protocol"),
            ondelay: value("ondelay"),
            offdelay: value("offdelay"),
            stayoff: flag("stayoff"),
            norating: flag("norating"),
            novendor: flag("novendor"),
            ignoresab: flag("ignoresab"),
            ignorelb: flag("ignorelb"),
            settings: options
                .iter()
                .filter(|(k, _)| {
                    PROTOCOL_VALUES
                        .iter()
                        .chain(PROTOCOL_FLAGS.iter())
                        .any(|n| n.eq_ignore_ascii_case(k))
                })
                .cloned()
                .collect(),
            ..QxOptions::default()
        };
        if let Some(p) = &out.protocol {
            let known = SUBDRIVERS
                .iter()
                .any(|s| s.protocol().eq_ignore_ascii_case(p));
            if !known {
                let implemented: Vec<&str> = SUBDRIVERS.iter().map(Subdriver::protocol).collect();
                return Err(if NOT_YET.iter().any(|n| n.eq_ignore_ascii_case(p)) {
                    format!(
                        "protocol = {p}: not implemented by this driver yet (implemented: {})",
                        implemented.join(", ")
                    )
                } else {
                    format!(
                        "protocol = {p}: unknown protocol (implemented: {})",
                        implemented.join(", ")
                    )
                });
            }
        }
        // NUT refuses these at start-up ("Shutdown delay '900' out of range"), against
        // the ranges of the protocol it detected: the blazer items' 12..600 s
        // (nutdrv_qx_blazer-common.c), voltronic's 12..5940 s. A value no protocol the
        // `protocol` option allows would take is refused here already; the detected
        // protocol's range is checked at start-up.
        let long_offdelay_possible = out.protocol.as_deref().is_none_or(|p| {
            ["voltronic", "bestups", "masterguard"]
                .iter()
                .any(|n| p.eq_ignore_ascii_case(n))
        });
        let offdelay_max = if long_offdelay_possible { 5940 } else { 600 };
        // masterguard's shutdown delay starts at 0.
        let offdelay_min = if out
            .protocol
            .as_deref()
            .is_none_or(|p| p.eq_ignore_ascii_case("masterguard"))
        {
            0
        } else {
            12
        };
        for (key, what, (lo, hi)) in [
            ("ondelay", "Start", (0, 599_940)),
            ("offdelay", "Shutdown", (offdelay_min, offdelay_max)),
        ] {
            if let Some(v) = value(key) {
                let numeric = v
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b' ' || c == b'.');
                let n = strtol(&v);
                if v.is_empty() || !numeric || n < lo || n > hi {
                    return Err(format!(
                        "{key} = {v}: {what} delay '{v}' out of range ({lo}..{hi} seconds)"
                    ));
                }
            }
        }
        if let Some(v) = value("pollfreq") {
            out.pollfreq = Some(strtol(&v));
        }
        if let Some(v) = value("runtimecal") {
            let parts: Vec<Option<f64>> = v.split(',').map(|p| parse_f64(p.trim())).collect();
            let [Some(rh), Some(lh), Some(rl), Some(ll)] = parts[..] else {
                return Err(format!(
                    "runtimecal = {v}: Insufficient parameters for runtimecal"
                ));
            };
            if rl < rh || rh <= 0.0 {
                return Err(format!(
                    "runtimecal = {v}: Parameter out of range (runtime)"
                ));
            }
            if lh > 100.0 || ll > lh || ll <= 0.0 {
                return Err(format!("runtimecal = {v}: Parameter out of range (load)"));
            }
            out.runtimecal = Some((rh, lh, rl, ll));
        }
        if let Some(v) = value("chargetime") {
            let t = strtol(&v);
            if t <= 0 {
                return Err(format!("chargetime = {v}: Charge time out of range [1..s]"));
            }
            out.chargetime = Some(t);
        }
        if let Some(v) = value("idleload") {
            let l = strtod(&v) / 100.0;
            if l <= 0.0 || l > 1.0 {
                return Err(format!("idleload = {v}: Idle load out of range [0..100]"));
            }
            out.idleload = Some(l);
        }
        Ok(out)
    }
}

/// What the transport got back for one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Bytes read (up to and including `\r`, or whatever came before the timeout).
    Bytes(Vec<u8>),
    /// Nothing within [`SER_WAIT_SEC`] (NUT's read returning 0).
    Timeout,
    /// The port failed (unplugged, I/O error).
    Error,
    /// An answer whose length (what a USB bridge returned: the length checks use it)
    /// is not its size (the buffer the values are read from, as a C string): see
    /// [`crate::qxusb::Counted`].
    Counted {
        /// The buffer.
        bytes: Vec<u8>,
        /// The length.
        len: usize,
    },
}

/// Something the driver does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Detect the protocol and read everything (`upsdrv_initups`, `upsdrv_initinfo`,
    /// the first `upsdrv_updateinfo`).
    Start,
    /// One poll (`upsdrv_updateinfo`): quick, or full every `pollfreq`.
    Update,
    /// `INSTCMD` from upsd.
    InstCmd {
        /// Command.
        cmd: String,
        /// Optional argument.
        arg: Option<String>,
    },
    /// `SET` from upsd.
    Set {
        /// Variable.
        var: String,
        /// Value.
        value: String,
    },
    /// `-k`: detect the protocol, then tell the UPS to cut the load (`upsdrv_shutdown`).
    Shutdown,
}

impl Job {
    /// The job a line from upsd asks for: SET and INSTCMD go to the device.
    pub fn for_line(line: &crate::sock::ServerLine) -> Option<Job> {
        use crate::sock::ServerLine;
        match line {
            ServerLine::InstCmd { cmd, param, .. } => Some(Job::InstCmd {
                cmd: cmd.clone(),
                arg: param.clone(),
            }),
            ServerLine::Set { var, value, .. } => Some(Job::Set {
                var: var.clone(),
                value: value.clone(),
            }),
            _ => None,
        }
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Start-up done; the driver serves.
    Started,
    /// A poll ran (successful or not: staleness is in the lines).
    Polled,
    /// A TRACKING result for INSTCMD or SET (`dummy::tracking` codes, 3 = failed).
    Tracking(i64),
    /// The driver cannot go on (NUT's `fatalx`): the message.
    Fatal(String),
    /// `-k` done: NUT's closing message (`Shutting down in 30 seconds`).
    ShutdownSent(String),
}

/// A thing worth logging or recording, in NUT's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A log line (`upslogx`).
    Log(Level, String),
    /// The device stopped answering: data is stale.
    Lost,
    /// The device answers again (`Communications with the UPS re-established`).
    Restored,
    /// An instant command went to the device.
    Command {
        /// Command.
        cmd: String,
        /// Argument.
        arg: Option<String>,
    },
}

/// What [`QxDriver::run`] wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Write these bytes to the device, read its reply, call `run` again with it added.
    Send(Vec<u8>),
    /// The job is complete and committed.
    Done {
        /// How it ended.
        outcome: Outcome,
        /// Driver-socket lines to broadcast.
        lines: Vec<DriverLine>,
        /// Things to log.
        notes: Vec<Note>,
    },
}

// Status bits (NUT's `STATUS(x)` over the enum in nutdrv_qx.h).
const OL: u32 = 1 << 0;
const LB: u32 = 1 << 1;
const RB: u32 = 1 << 2;
const CHRG: u32 = 1 << 3;
const DISCHRG: u32 = 1 << 4;
const BYPASS: u32 = 1 << 5;
const CAL: u32 = 1 << 6;
const OFF: u32 = 1 << 7;
const OVER: u32 = 1 << 8;
const TRIM: u32 = 1 << 9;
const BOOST: u32 = 1 << 10;
const FSD: u32 = 1 << 11;

const STATUS_NAMES: [(&str, u32); 12] = [
    ("OL", OL),
    ("LB", LB),
    ("RB", RB),
    ("CHRG", CHRG),
    ("DISCHRG", DISCHRG),
    ("BYPASS", BYPASS),
    ("CAL", CAL),
    ("OFF", OFF),
    ("OVER", OVER),
    ("TRIM", TRIM),
    ("BOOST", BOOST),
    ("FSD", FSD),
];

#[derive(Debug, Clone, PartialEq)]
struct Battery {
    packs: f64,
    runt_act: f64,
    runt_nom: f64,
    runt_est: f64,
    runt_exp: f64,
    volt_act: f64,
    volt_high: f64,
    volt_nom: f64,
    volt_low: f64,
    chrg_act: f64,
    chrg_time: i64,
}

impl Default for Battery {
    fn default() -> Self {
        Battery {
            packs: 1.0,
            runt_act: -1.0,
            runt_nom: -1.0,
            runt_est: 0.0,
            runt_exp: 0.0,
            volt_act: -1.0,
            volt_high: -1.0,
            volt_nom: -1.0,
            volt_low: -1.0,
            chrg_act: -1.0,
            chrg_time: 43_200,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    Init,
    Quick,
    Full,
}

/// nutdrv_qx's state for one UPS.
#[derive(Debug, Clone)]
pub struct QxDriver {
    // Shared between a job's evaluations (cloned for every evaluation, written rarely).
    options: std::sync::Arc<QxOptions>,
    subdriver: Option<&'static Subdriver>,
    items: std::sync::Arc<Vec<Item>>,
    ups_status: u32,
    alarm_buf: String,
    alarm_active: bool,
    batt: Battery,
    load_low: f64,
    load_eff: f64,
    battery_lastpoll_s: i64,
    pollfreq_s: i64,
    lastpoll_s: i64,
    data_has_changed: bool,
    retry: u32,
    /// battery.charge was guessed from the voltage (the device does not report it).
    charge_guessed: bool,
    /// The voltronic protocol's own state (capabilities, limits read).
    volt: voltronic::VoltState,
    /// bestups's own state.
    best: family::BestState,
    /// masterguard's own state.
    master: masterguard::MasterState,
    /// ablerex's own state.
    ablerex: family::AblerexState,
    /// Status words a protocol sets itself (dstate's `status_set`, as ablerex's
    /// preprocess functions call it), ahead of those of the status bits; cleared at
    /// each update (`status_init`).
    status_words: Vec<&'static str>,
    /// The last answer of a binary query, bytes after a NUL included (NUT's
    /// `item->answer`, which ablerex reads byte by byte).
    raw_answer: Vec<u8>,
}

struct Suspend(Vec<u8>);

/// A change to the driver's variables, applied when the job completes (shared with
/// `apcsmart`, whose jobs are replayed the same way).
pub(crate) enum Op {
    Set(String, String),
    Delete(String),
    Apply(DriverLine),
    AddCmd(String),
    Stale(bool),
}

/// One evaluation of a job: a copy of the driver, the variables as they were plus the
/// changes made so far (applied to the real state only when the job completes), the
/// replies so far.
struct Ctx<'a> {
    drv: QxDriver,
    base: &'a DriverState,
    ops: Vec<Op>,
    replies: &'a [Reply],
    used: usize,
    now_s: i64,
    notes: Vec<Note>,
}

type Step<T> = Result<T, Suspend>;

/// Applies a completed job's changes to the real state; the lines to broadcast.
pub(crate) fn commit(state: &mut DriverState, ops: Vec<Op>) -> Vec<DriverLine> {
    let mut lines = Vec::new();
    for op in ops {
        match op {
            Op::Set(var, value) => lines.extend(state.set(&var, &value)),
            Op::Delete(var) => lines.extend(state.delete(&var)),
            Op::Apply(DriverLine::AddRange { var, min, max }) => {
                lines.extend(state.add_range(&var, min, max));
            }
            Op::Apply(line) => {
                if state.tree_mut().apply(&line) {
                    lines.push(line);
                }
            }
            Op::AddCmd(cmd) => {
                if state.tree_mut().add_cmd(&cmd) {
                    lines.push(DriverLine::AddCmd { cmd });
                }
            }
            Op::Stale(stale) => lines.extend(state.set_stale(stale)),
        }
    }
    lines
}

impl QxDriver {
    /// A driver with these options; nothing is sent until [`Job::Start`].
    pub fn new(options: QxOptions) -> QxDriver {
        QxDriver {
            pollfreq_s: options.pollfreq.unwrap_or(DEFAULT_POLLFREQ_S),
            options: std::sync::Arc::new(options),
            subdriver: None,
            items: std::sync::Arc::new(Vec::new()),
            ups_status: 0,
            alarm_buf: String::new(),
            alarm_active: false,
            batt: Battery::default(),
            load_low: 0.1,
            load_eff: 1.0,
            battery_lastpoll_s: 0,
            lastpoll_s: 0,
            data_has_changed: false,
            retry: 0,
            charge_guessed: false,
            volt: voltronic::VoltState::default(),
            best: family::BestState::default(),
            master: masterguard::MasterState::default(),
            ablerex: family::AblerexState::default(),
            status_words: Vec::new(),
            raw_answer: Vec::new(),
        }
    }

    /// The protocol in use, once detected.
    pub fn subdriver(&self) -> Option<&'static Subdriver> {
        self.subdriver
    }

    /// Runs `job` given the device's `replies` to the queries sent so far for it (in
    /// order). Returns the next query to send, or the completed job (then the driver
    /// and `state` are updated).
    pub fn run(
        &mut self,
        state: &mut DriverState,
        job: &Job,
        now: Millis,
        replies: &[Reply],
    ) -> Progress {
        let mut ctx = Ctx {
            drv: self.clone(),
            base: state,
            ops: Vec::new(),
            replies,
            used: 0,
            now_s: i64::try_from(now / 1000).unwrap_or(i64::MAX),
            notes: Vec::new(),
        };
        let result = match job {
            Job::Start => ctx.start(),
            Job::Update => ctx.updateinfo().map(|()| Outcome::Polled),
            Job::InstCmd { cmd, arg } => ctx.instcmd(cmd, arg.as_deref()).map(Outcome::Tracking),
            Job::Set { var, value } => ctx.setvar(var, value).map(Outcome::Tracking),
            Job::Shutdown => ctx.shutdown(),
        };
        match result {
            Err(Suspend(bytes)) => Progress::Send(bytes),
            Ok(outcome) => {
                let Ctx {
                    drv, ops, notes, ..
                } = ctx;
                *self = drv;
                let lines = commit(state, ops);
                Progress::Done {
                    outcome,
                    lines,
                    notes,
                }
            }
        }
    }
}

impl Ctx<'_> {
    fn transact(&mut self, command: &str) -> Step<Reply> {
        match self.replies.get(self.used) {
            Some(reply) => {
                self.used += 1;
                Ok(reply.clone())
            }
            None => Err(Suspend(command.as_bytes().to_vec())),
        }
    }

    /// The subdriver's refusal answer.
    fn rejected(&self) -> Option<&'static str> {
        self.drv.subdriver.and_then(|s| s.rejected)
    }

    fn log(&mut self, level: Level, text: impl Into<String>) {
        self.notes.push(Note::Log(level, text.into()));
    }

    fn get(&self, var: &str) -> Option<String> {
        let base = self.base.tree().get(var);
        if base.is_some_and(|v| v.flags.immutable) {
            return base.map(|v| v.value.clone());
        }
        for op in self.ops.iter().rev() {
            match op {
                Op::Set(name, value) if name.eq_ignore_ascii_case(var) => {
                    return Some(value.clone())
                }
                Op::Delete(name) if name.eq_ignore_ascii_case(var) => return None,
                _ => {}
            }
        }
        base.map(|v| v.value.clone())
    }

    fn set(&mut self, var: &str, value: &str) {
        self.ops.push(Op::Set(var.to_string(), value.to_string()));
    }

    fn delete(&mut self, var: &str) {
        self.ops.push(Op::Delete(var.to_string()));
    }

    fn apply(&mut self, line: DriverLine) {
        self.ops.push(Op::Apply(line));
    }

    fn is_stale(&self) -> bool {
        self.ops
            .iter()
            .rev()
            .find_map(|op| match op {
                Op::Stale(stale) => Some(*stale),
                _ => None,
            })
            .unwrap_or_else(|| self.base.is_stale())
    }

    fn set_stale(&mut self, stale: bool) {
        self.ops.push(Op::Stale(stale));
    }

    /// The ranges of `var`: those it had, plus those this job added.
    fn ranges(&self, var: &str) -> Vec<(i64, i64)> {
        let mut ranges = self
            .base
            .tree()
            .get(var)
            .map(|v| v.ranges.clone())
            .unwrap_or_default();
        for op in &self.ops {
            if let Op::Apply(DriverLine::AddRange {
                var: name,
                min,
                max,
            }) = op
            {
                if name.eq_ignore_ascii_case(var) {
                    ranges.push((*min, *max));
                }
            }
        }
        ranges
    }

    fn find(&self, var: &str, with: u32, without: u32) -> Option<usize> {
        self.drv.items.iter().position(|item| {
            item.var.eq_ignore_ascii_case(var)
                && item.flags & with == with
                && (without == 0 || item.flags & without == 0)
        })
    }

    // ---- start-up ---------------------------------------------------------------

    fn start(&mut self) -> Step<Outcome> {
        self.set("device.type", "ups");
        if let Some(fatal) = self.initups()? {
            return Ok(Outcome::Fatal(fatal));
        }
        self.set("driver.version", crate::dummy::DRIVER_VERSION);
        self.set("driver.version.internal", DRIVER_VERSION_INTERNAL);
        self.set("driver.name", "nutdrv_qx");
        if let Some(fatal) = self.initinfo()? {
            return Ok(Outcome::Fatal(fatal));
        }
        self.updateinfo()?;
        if self.drv.options.ignorelb {
            // NUT's main.c: ignorelb needs a way to tell the charge.
            match crate::status::ignorelb_methods(|v| self.get(v).is_some()) {
                Ok(methods) => {
                    for what in methods {
                        self.log(
                            Level::Info,
                            format!("using '{what}' to set battery low state"),
                        );
                    }
                }
                Err(fatal) => return Ok(Outcome::Fatal(fatal.to_string())),
            }
        }
        Ok(Outcome::Started)
    }

    /// `upsdrv_initups`: choose the subdriver; `Some(message)` when none claims the
    /// device.
    fn initups(&mut self) -> Step<Option<String>> {
        let protocol = self.drv.options.protocol.clone();
        for sub in &SUBDRIVERS {
            if let Some(p) = &protocol {
                if !sub.protocol().eq_ignore_ascii_case(p) {
                    continue;
                }
            }
            self.drv.subdriver = Some(sub);
            self.drv.items = std::sync::Arc::new(sub.table());
            for _ in 0..MAXTRIES {
                if self.claim()? {
                    self.log(Level::Info, format!("Using protocol: {}", sub.name));
                    self.subdriver_initups(sub.initups);
                    return Ok(None);
                }
            }
            self.drv.subdriver = None;
        }
        self.log(Level::Err, "Device not supported!");
        Ok(Some("Device not supported!".to_string()))
    }

    /// The subdriver's `initups`, once it claimed the unit (nutdrv_qx.c's
    /// `upsdrv_initups`).
    fn subdriver_initups(&mut self, kind: Initups) {
        let blazer = kind == Initups::Blazer;
        let (nr, nv, isb) = (
            blazer && self.drv.options.norating,
            blazer && self.drv.options.novendor,
            kind != Initups::None && self.drv.options.ignoresab,
        );
        for item in std::sync::Arc::make_mut(&mut self.drv.items).iter_mut() {
            let vendor = item.command == "I\r" || item.command == "FW?\r";
            if (nr && item.command == "F\r") || (nv && vendor) {
                item.flags |= flag::SKIP;
            }
            if isb && item.var == "ups.status" && item.from == 44 {
                item.flags |= flag::SKIP;
            }
        }
    }

    /// A claim reading two items: `first` must be set, then `second` (else `first` is
    /// removed again).
    fn claim_both(&mut self, first: &str, second: &str) -> Step<bool> {
        let Some(i) = self.find(first, 0, 0) else {
            return Ok(false);
        };
        let (ok, _, value) = self.qx_process(i, None)?;
        if !ok || self.infoval_set(i, &value) != 1 {
            return Ok(false);
        }
        let Some(i) = self.find(second, 0, 0) else {
            self.delete(first);
            return Ok(false);
        };
        let (ok, _, value) = self.qx_process(i, None)?;
        if !ok || self.infoval_set(i, &value) != 1 {
            self.delete(first);
            return Ok(false);
        }
        Ok(true)
    }

    /// The status bit "bypass/boost or buck active" read against the voltages
    /// (`blazer_process_status_bits`, `voltronic_status`): output below half the input
    /// or 1.5 times above it is refused (`None`).
    fn voltage_mode(&self) -> Option<VoltageMode> {
        let vi = strtod(&self.get("input.voltage").unwrap_or_default());
        let vo = strtod(&self.get("output.voltage").unwrap_or_default());
        if vo < 0.5 * vi {
            None
        } else if vo < 0.95 * vi {
            Some(VoltageMode::Trim)
        } else if vo < 1.05 * vi {
            Some(VoltageMode::Bypass)
        } else if vo < 1.5 * vi {
            Some(VoltageMode::Boost)
        } else {
            None
        }
    }

    fn claim(&mut self) -> Step<bool> {
        let Some(sub) = self.drv.subdriver else {
            return Ok(false);
        };
        if sub.claim == Claim::Voltronic {
            // voltronic_claim: the status, then the protocol.
            return self.claim_both("input.voltage", "ups.firmware.aux");
        }
        if matches!(sub.claim, Claim::VoltronicQs | Claim::VoltronicQsHex) {
            return self.claim_both("ups.firmware.aux", "input.voltage");
        }
        if sub.claim == Claim::Bestups {
            return self.claim_both("input.voltage", "device.model");
        }
        if sub.claim == Claim::Mecer {
            return self.mecer_claim();
        }
        if sub.claim == Claim::Masterguard {
            return self.master_claim();
        }
        let Some(i) = self.find("input.voltage", 0, 0) else {
            return Ok(false);
        };
        let (ok, _, value) = self.qx_process(i, None)?;
        if !ok || self.infoval_set(i, &value) != 1 {
            return Ok(false);
        }
        if sub.claim == Claim::Light || self.drv.options.novendor {
            return Ok(true);
        }
        let Some(i) = self.find("ups.firmware", 0, 0) else {
            self.delete("input.voltage");
            return Ok(false);
        };
        let (ok, _, value) = self.qx_process(i, None)?;
        if !ok || self.infoval_set(i, &value) != 1 {
            self.delete("input.voltage");
            return Ok(false);
        }
        Ok(true)
    }

    /// `upsdrv_initinfo`; `Some(message)` on a fatal error.
    fn initinfo(&mut self) -> Step<Option<String>> {
        let name = self.drv.subdriver.map(|s| s.name).unwrap_or_default();
        self.set("driver.version.data", name);
        if !self.walk(Walk::Init)? {
            return Ok(Some("Can't initialise data from the UPS".to_string()));
        }
        if let Some(fatal) = self.initbattery() {
            return Ok(Some(fatal));
        }
        for (var, value) in [
            ("ups.delay.start", self.drv.options.ondelay.clone()),
            ("ups.delay.shutdown", self.drv.options.offdelay.clone()),
        ] {
            if let (Some(value), Some(_)) = (value, self.get(var)) {
                if self.setvar(var, &value)? != tracking::SUCCESS {
                    let what = if var == "ups.delay.start" {
                        "Start"
                    } else {
                        "Shutdown"
                    };
                    return Ok(Some(format!("{what} delay '{value}' out of range")));
                }
            }
        }
        let pollfreq = self.drv.pollfreq_s;
        self.set("driver.parameter.pollfreq", &pollfreq.to_string());
        self.drv.lastpoll_s = self.now_s;
        Ok(None)
    }

    /// `qx_initbattery`: battery voltage limits, packs, runtime calibration.
    fn initbattery(&mut self) -> Option<String> {
        if self.get("battery.charge").is_some() && self.get("battery.runtime").is_some() {
            return None;
        }
        let read = |ctx: &Self, var: &str| ctx.get(var).map(|v| strtod(&v));
        if let Some(v) = read(self, "battery.voltage.high") {
            self.drv.batt.volt_high = v;
        }
        if let Some(v) = read(self, "battery.voltage.low") {
            self.drv.batt.volt_low = v;
        }
        if let Some(v) = read(self, "battery.voltage.nominal") {
            self.drv.batt.volt_nom = v;
        }
        let b = &self.drv.batt;
        if b.volt_nom != -1.0 && (b.volt_low == -1.0 || b.volt_high == -1.0) {
            self.log(Level::Info, "No values for battery high/low voltages");
            let nom = self.drv.batt.volt_nom;
            self.drv.batt.volt_low = 104.0 * nom / 120.0;
            self.drv.batt.volt_high = 130.0 * nom / 120.0;
            let (low, high) = (self.drv.batt.volt_low, self.drv.batt.volt_high);
            self.set("battery.voltage.low", &format!("{low:.2}"));
            self.set("battery.voltage.high", &format!("{high:.2}"));
            self.log(
                Level::Info,
                format!("Using 'guesstimation' (low: {low:.6}, high: {high:.6})!"),
            );
        }
        match self.get("battery.packs") {
            Some(v)
                if v.bytes()
                    .all(|c| c.is_ascii_digit() || c == b' ' || c == b'.') =>
            {
                self.drv.batt.packs = strtod(&v);
            }
            _ => {
                if self.qx_battery() && self.drv.batt.volt_nom != -1.0 {
                    let (act, nom) = (self.drv.batt.volt_act, self.drv.batt.volt_nom);
                    for packs in [
                        120.0, 100.0, 80.0, 60.0, 48.0, 36.0, 30.0, 24.0, 18.0, 12.0, 8.0, 6.0,
                        4.0, 3.0, 2.0, 1.0, 0.5,
                    ] {
                        if packs * act > 1.2 * nom {
                            continue;
                        }
                        if packs * act < 0.8 * nom {
                            self.log(
                                Level::Info,
                                format!(
                                    "Can't autodetect number of battery packs [{nom:.0}/{act:.2}]"
                                ),
                            );
                            break;
                        }
                        self.drv.batt.packs = packs;
                        break;
                    }
                } else {
                    let (act, nom) = (self.drv.batt.volt_act, self.drv.batt.volt_nom);
                    self.log(
                        Level::Info,
                        format!("Can't autodetect number of battery packs [{nom:.0}/{act:.2}]"),
                    );
                }
            }
        }
        // NUT guesses the charge above with one pack, before detecting the packs: a
        // unit reporting per-cell voltage then shows 0 % until the first full update
        // (30 s later by default), which would trip `ignorelb` or any client watching
        // battery.charge. The guess is made again with the packs found.
        if self.drv.charge_guessed && self.drv.batt.packs != 1.0 {
            self.drv.batt.chrg_act = -1.0;
        }
        self.qx_battery();
        let Some((rh, lh, rl, ll)) = self.drv.options.runtimecal else {
            self.log(
                Level::Info,
                "Battery runtime will not be calculated (runtimecal not set)",
            );
            return None;
        };
        self.drv.battery_lastpoll_s = self.now_s;
        self.drv.batt.runt_exp = (rl / rh).ln() / (lh / ll).ln();
        self.drv.batt.runt_nom = rh * (lh / 100.0).powf(self.drv.batt.runt_exp);
        let mut charge = self.get("battery.charge");
        if charge.is_none() && self.drv.batt.volt_nom != -1.0 {
            self.drv.batt.volt_low = self.drv.batt.volt_nom;
            self.drv.batt.volt_high = 1.15 * self.drv.batt.volt_nom;
            if !self.qx_battery() {
                return Some("Initial battery charge undetermined".to_string());
            }
            charge = self.get("battery.charge");
        }
        let Some(charge) = charge else {
            return Some("Initial battery charge undetermined".to_string());
        };
        self.drv.batt.runt_est = self.drv.batt.runt_nom * strtod(&charge) / 100.0;
        match self.drv.options.chargetime {
            Some(t) => self.drv.batt.chrg_time = t,
            None => {
                let t = self.drv.batt.chrg_time;
                self.log(
                    Level::Info,
                    format!("No charge time specified, using built in default [{t} seconds]"),
                );
            }
        }
        match self.drv.options.idleload {
            Some(l) => self.drv.load_low = l,
            None => {
                let l = 100.0 * self.drv.load_low;
                self.log(
                    Level::Info,
                    format!("No idle load specified, using built in default [{l:.1} %]"),
                );
            }
        }
        None
    }

    /// `qx_battery`: actual battery voltage, and the charge guessed from it when the
    /// device does not report one. False when there is no battery voltage.
    fn qx_battery(&mut self) -> bool {
        let Some(v) = self.get("battery.voltage") else {
            return false;
        };
        let b = &mut self.drv.batt;
        b.volt_act = b.packs * strtod(&v);
        if b.chrg_act == -1.0 && b.volt_low > 0.0 && b.volt_high > b.volt_low {
            b.chrg_act =
                (100.0 * (b.volt_act - b.volt_low) / (b.volt_high - b.volt_low)).clamp(0.0, 100.0);
            let charge = format!("{:.0}", b.chrg_act);
            self.drv.charge_guessed = true;
            self.set("battery.charge", &charge);
        }
        true
    }

    fn qx_load(&mut self) -> bool {
        let Some(v) = self.get("ups.load") else {
            return false;
        };
        self.drv.load_eff = (strtod(&v) / 100.0)
            .powf(self.drv.batt.runt_exp)
            .max(self.drv.load_low);
        true
    }

    // ---- polling ----------------------------------------------------------------

    /// `upsdrv_updateinfo`.
    fn updateinfo(&mut self) -> Step<()> {
        let full = self.now_s > self.drv.lastpoll_s.saturating_add(self.drv.pollfreq_s)
            || self.drv.data_has_changed;
        self.drv.status_words.clear();
        let ok = if full {
            self.drv.ups_status = 0;
            self.drv.alarm_active = false;
            self.drv.alarm_buf.clear();
            self.walk(Walk::Full)?
        } else {
            self.walk(Walk::Quick)?
        };
        if !ok {
            if self.drv.retry <= MAXTRIES {
                self.drv.retry += 1;
            } else {
                if !self.is_stale() {
                    self.notes.push(Note::Lost);
                }
                self.set_stale(true);
            }
            return Ok(());
        }
        if full {
            self.drv.lastpoll_s = self.now_s;
            self.drv.data_has_changed = false;
            if self.drv.ups_status & RB != 0 {
                self.alarm_set("Replace battery!");
            }
            if self.drv.ups_status & FSD != 0 {
                self.alarm_set("Shutdown imminent!");
            }
            if self.drv.alarm_buf.is_empty() {
                self.delete("ups.alarm");
                self.drv.alarm_active = false;
            } else {
                let alarm = self.drv.alarm_buf.clone();
                self.set("ups.alarm", &alarm);
                self.drv.alarm_active = true;
            }
        }
        let mut tokens: Vec<&str> = self.drv.status_words.clone();
        tokens.push(if self.drv.ups_status & OL != 0 {
            "OL"
        } else {
            "OB"
        });
        for (name, bit) in [
            ("DISCHRG", DISCHRG),
            ("CHRG", CHRG),
            ("LB", LB),
            ("OVER", OVER),
            ("RB", RB),
            ("TRIM", TRIM),
            ("BOOST", BOOST),
            ("BYPASS", BYPASS),
            ("OFF", OFF),
            ("CAL", CAL),
            ("FSD", FSD),
        ] {
            if self.drv.ups_status & bit != 0 {
                tokens.push(name);
            }
        }
        // The driver core's `ignorelb` (NUT's dstate.c status_set/status_commit): the
        // device's LB is dropped, and LB comes from the charge or runtime thresholds.
        let mut status = tokens.join(" ");
        if self.drv.options.ignorelb {
            status = crate::status::ignorelb_word(&status, |v| self.get(v));
        }
        if self.drv.alarm_active {
            status = format!("ALARM {status}");
        }
        self.set("ups.status", &status);
        if self.drv.retry > MAXTRIES {
            self.notes.push(Note::Restored);
        }
        self.drv.retry = 0;
        self.set_stale(false);
        Ok(())
    }

    /// `alarm_set` (drivers/dstate.c): NUT's buffer holds ST_MAX_VALUE_LEN bytes; the
    /// first alarm fills up to 255 of them, each later one is appended with
    /// `snprintfcat`, which stops at 254.
    fn alarm_set(&mut self, text: &str) {
        let buf = &mut self.drv.alarm_buf;
        if buf.is_empty() {
            buf.push_str(text);
            truncate_bytes(buf, crate::dummy::ST_MAX_VALUE_LEN - 1);
        } else if buf.len() < crate::dummy::ST_MAX_VALUE_LEN - 2 {
            buf.push(' ');
            buf.push_str(text);
            truncate_bytes(buf, crate::dummy::ST_MAX_VALUE_LEN - 2);
        }
    }

    /// `qx_ups_walk`: false when a status query failed (no device).
    fn walk(&mut self, mode: Walk) -> Step<bool> {
        if mode == Walk::Full {
            self.drv.batt.runt_act = -1.0;
            self.drv.batt.chrg_act = -1.0;
        }
        let mut previous: Option<(&'static str, Vec<u8>)> = None;
        for i in 0..self.drv.items.len() {
            let item = self.drv.items[i];
            if item.flags & flag::SKIP != 0 {
                continue;
            }
            match mode {
                Walk::Init => {
                    if item.flags & flag::ABSENT != 0 {
                        if self.get(item.var).is_none() {
                            self.set(item.var, item.dfl);
                            self.set_var(i);
                        }
                        continue;
                    }
                    let multi =
                        item.var.starts_with("ups.alarm") || item.var.starts_with("ups.status");
                    if !multi && self.get(item.var).is_some() {
                        continue;
                    }
                }
                Walk::Quick => {
                    if item.flags & flag::QUICK_POLL == 0 {
                        continue;
                    }
                }
                Walk::Full => {
                    let once = flag::ABSENT | flag::CMD | flag::SETVAR | flag::STATIC;
                    if item.flags & once != 0 {
                        continue;
                    }
                    if item.flags & flag::SEMI_STATIC != 0 && !self.drv.data_has_changed {
                        continue;
                    }
                }
            }
            if item.flags & flag::CMD != 0 {
                self.ops.push(Op::AddCmd(item.var.to_string()));
                continue;
            }
            if item.flags & flag::SETVAR != 0 {
                if item.flags & flag::NONUT != 0 {
                    // A setting from ups.conf, applied once at start-up.
                    self.setvar(item.var, "")?;
                    std::sync::Arc::make_mut(&mut self.drv.items)[i].flags |= flag::SKIP;
                }
                continue;
            }
            let (ok, answer, value) = match &previous {
                Some((command, answer))
                    if !answer.is_empty() && command.eq_ignore_ascii_case(item.command) =>
                {
                    let answer = answer.clone();
                    let len = answer.len();
                    match process_answer(&item, &answer, len, self.rejected()) {
                        Some(value) => (true, answer, value),
                        None => (false, answer, String::new()),
                    }
                }
                _ => self.qx_process(i, None)?,
            };
            previous = Some((item.command, answer));
            if !ok {
                if item.flags & flag::QUICK_POLL != 0 {
                    return Ok(false);
                }
                if mode == Walk::Init {
                    std::sync::Arc::make_mut(&mut self.drv.items)[i].flags |= flag::SKIP;
                }
                continue;
            }
            let retcode = self.infoval_set(i, &value);
            if retcode == -1 {
                if item.flags & flag::QUICK_POLL != 0 {
                    return Ok(false);
                }
                continue;
            }
            if retcode == 1 && mode == Walk::Init {
                self.set_var(i);
            }
        }
        let b = &self.drv.batt;
        if mode == Walk::Full && (b.runt_act == -1.0 || b.chrg_act == -1.0) {
            if self.drv.options.runtimecal.is_some() {
                self.runtime_estimate();
            } else {
                self.qx_battery();
            }
        }
        Ok(true)
    }

    /// The runtimecal branch at the end of a full walk.
    fn runtime_estimate(&mut self) {
        let now = self.now_s;
        let elapsed = (now - self.drv.battery_lastpoll_s) as f64;
        let online = self.drv.ups_status & OL != 0;
        {
            let b = &mut self.drv.batt;
            if online {
                b.runt_est += b.runt_nom * elapsed / b.chrg_time as f64;
                if b.runt_est > b.runt_nom {
                    b.runt_est = b.runt_nom;
                }
            } else {
                b.runt_est -= self.drv.load_eff * elapsed;
                if b.runt_est < 0.0 {
                    b.runt_est = 0.0;
                }
            }
        }
        if let Some(v) = self.get("battery.voltage") {
            let b = &mut self.drv.batt;
            b.volt_act = b.packs * strtod(&v);
            if b.volt_act > 0.0 && b.volt_low > 0.0 && b.volt_high > b.volt_low {
                let by_voltage =
                    ((b.volt_act - b.volt_low) / (b.volt_high - b.volt_low)).clamp(0.0, 1.0);
                if by_voltage < b.runt_est / b.runt_nom {
                    b.runt_est = by_voltage * b.runt_nom;
                }
            }
        }
        if self.drv.batt.chrg_act == -1.0 {
            let charge = format!(
                "{:.0}",
                100.0 * self.drv.batt.runt_est / self.drv.batt.runt_nom
            );
            self.set("battery.charge", &charge);
        }
        if self.drv.batt.runt_act == -1.0 && self.qx_load() {
            let runtime = format!("{:.0}", self.drv.batt.runt_est / self.drv.load_eff);
            self.set("battery.runtime", &runtime);
        }
        self.drv.battery_lastpoll_s = now;
    }

    /// `qx_process`: sends the item's query (or `command`), returns (ok, answer, value).
    fn qx_process(&mut self, i: usize, command: Option<&str>) -> Step<(bool, Vec<u8>, String)> {
        let item = self.drv.items[i];
        let mut cmd = command.unwrap_or(item.command).to_string();
        if item.command.ends_with(",XX\r")
            && self
                .drv
                .subdriver
                .is_some_and(|s| s.table == Table::Masterguard)
        {
            match self.master_address(&cmd) {
                Some(addressed) => cmd = addressed,
                None => return Ok((false, Vec::new(), String::new())),
            }
        }
        // What the port read, and the length it gave (a bridge's may differ).
        let (mut bytes, len) = match self.transact(&cmd)? {
            Reply::Error => return Ok((false, Vec::new(), String::new())),
            Reply::Timeout => (Vec::new(), 0),
            Reply::Bytes(bytes) => {
                let len = bytes.len();
                (bytes, len)
            }
            Reply::Counted { bytes, len } => (bytes, len),
        };
        bytes.truncate(MAX_ANSWER_BYTES);
        let len = len.min(MAX_ANSWER_BYTES);
        let refined = match item.answer {
            Answer::BestupsId => Some(family::bestups_id_answer(&bytes[..len.min(bytes.len())])),
            Answer::Hex => Some(hex_qs_answer(&bytes, len)),
            _ => None,
        };
        let (answer, len) = match refined {
            Some(Some(refined)) => {
                let len = refined.len();
                (refined, len)
            }
            // NUT clears a failed answer, so no later item reuses it.
            Some(None) => return Ok((false, Vec::new(), String::new())),
            None => {
                if item.answer == Answer::Binary {
                    self.drv.raw_answer = bytes.clone();
                }
                // A C string: the answer ends at the first NUL.
                if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                    bytes.truncate(nul);
                }
                (bytes, len)
            }
        };
        if item.answer == Answer::NewSlaveAddr && !self.master_new_slaveaddr() {
            return Ok((false, Vec::new(), String::new()));
        }
        Ok(match process_answer(&item, &answer, len, self.rejected()) {
            Some(value) => (true, answer, value),
            None => (false, answer, String::new()),
        })
    }

    /// `ups_infoval_set`: -1 error, 0 status/alarm handled, 1 variable set.
    fn infoval_set(&mut self, i: usize, raw: &str) -> i32 {
        let item = self.drv.items[i];
        let mut value;
        if item.pre == Pre::StatusBits {
            let Some(v) = self.status_bits(&item, raw) else {
                return -1;
            };
            if item.var.starts_with("ups.status") {
                if !v.is_empty() {
                    self.update_status(v);
                }
                return 0;
            }
            if item.var.starts_with("ups.alarm") {
                if !v.is_empty() {
                    self.alarm_set(v);
                }
                return 0;
            }
            value = v.to_string();
        } else if item.pre == Pre::VoltronicProtocol {
            if !raw.eq_ignore_ascii_case("V") {
                return -1;
            }
            value = item.dfl.replace("%s", raw);
        } else if item.pre == Pre::HexProtocol {
            if !raw.eq_ignore_ascii_case("P") && !raw.eq_ignore_ascii_case("T") {
                return -1;
            }
            value = item.dfl.replace("%s", raw);
            // Units of the `T` protocol report their ratings and take `T`.
            if raw.eq_ignore_ascii_case("T") {
                for unskip in std::sync::Arc::make_mut(&mut self.drv.items).iter_mut() {
                    let ratings = unskip.pre == Pre::HexRatings;
                    let test =
                        unskip.var == "test.battery.start.quick" && unskip.flags & flag::CMD != 0;
                    if ratings || test {
                        unskip.flags &= !flag::SKIP;
                    }
                }
            }
        } else if matches!(
            item.pre,
            Pre::HexVoltage | Pre::HexLoad | Pre::HexFrequency | Pre::HexBattery | Pre::HexRatings
        ) {
            let Some(v) = hex_value(&item, raw) else {
                return -1;
            };
            value = v;
        } else if let Pre::Volt(_) | Pre::Family(_) | Pre::Master(_) = item.pre {
            let v = match item.pre {
                Pre::Volt(pre) => self.volt_pre(i, pre, raw),
                Pre::Family(pre) => self.family_pre(i, pre, raw),
                Pre::Master(pre) => self.master_pre(i, pre, raw),
                _ => None,
            };
            let Some(v) = v else {
                return -1;
            };
            if item.var.starts_with("ups.status") {
                if !v.is_empty() {
                    self.update_status(&v);
                }
                return 0;
            }
            if item.var.starts_with("ups.alarm") {
                if !v.is_empty() {
                    self.alarm_set(&v);
                }
                return 0;
            }
            value = v;
        } else {
            value = raw.to_string();
            if item.flags & flag::TRIM != 0 {
                value = value.trim_matches(|c| c == '#' || c == ' ').to_string();
            }
            if item.dfl != "%s" {
                if !value
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b' ' || c == b'.')
                {
                    return -1;
                }
                value = format_number(item.dfl, strtod(&value));
            }
        }
        if item.flags & flag::NONUT != 0 {
            self.log(Level::Info, format!("{}: {value}", item.var));
            return 1;
        }
        if value.is_empty() {
            return -1;
        }
        self.set(item.var, &value);
        if item.var.eq_ignore_ascii_case("battery.charge") {
            self.drv.batt.chrg_act = strtol(&value) as f64;
        } else if item.var.eq_ignore_ascii_case("battery.runtime") {
            self.drv.batt.runt_act = strtol(&value) as f64;
        }
        1
    }

    /// `blazer_process_status_bits`.
    fn status_bits(&self, item: &Item, value: &str) -> Option<&'static str> {
        let bytes = value.as_bytes();
        if bytes.len() != 1 || !matches!(bytes[0], b'0' | b'1') {
            return None;
        }
        let on = bytes[0] == b'1';
        Some(match item.from {
            38 => {
                if on {
                    "!OL"
                } else {
                    "OL"
                }
            }
            39 => {
                if on {
                    "LB"
                } else {
                    "!LB"
                }
            }
            40 => {
                if !on {
                    return Some("");
                }
                self.voltage_mode()?.word()
            }
            41 => {
                if on {
                    "UPS selftest failed!"
                } else {
                    ""
                }
            }
            42 => {
                if on {
                    "offline / line interactive"
                } else {
                    "online"
                }
            }
            43 => {
                if on {
                    "CAL"
                } else {
                    "!CAL"
                }
            }
            44 => {
                if on {
                    "FSD"
                } else {
                    "!FSD"
                }
            }
            45 => {
                if on {
                    "enabled"
                } else {
                    "disabled"
                }
            }
            _ => return None,
        })
    }

    fn update_status(&mut self, value: &str) {
        let (clear, name) = match value.strip_prefix('!') {
            Some(name) => (true, name),
            None => (false, value),
        };
        if let Some((_, bit)) = STATUS_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            if clear {
                self.drv.ups_status &= !bit;
            } else {
                self.drv.ups_status |= bit;
            }
        }
    }

    /// `qx_set_var`: flags, enumeration and ranges of a variable (logged for an item
    /// without a NUT variable).
    fn set_var(&mut self, i: usize) {
        let item = self.drv.items[i];
        let nonut = item.flags & flag::NONUT != 0;
        if item.rw && !nonut {
            self.apply(DriverLine::SetFlags {
                var: item.var.to_string(),
                flags: vec!["RW".to_string()],
            });
        }
        let values = self.rw_values(&item);
        if item.flags & flag::ENUM != 0 {
            if nonut {
                let listed: String = values.iter().map(|v| format!(" {v}")).collect();
                let listed = if listed.is_empty() {
                    " none".to_string()
                } else {
                    listed
                };
                self.log(
                    Level::Info,
                    format!("{}, settable values:{listed}", item.var),
                );
            } else {
                for value in &values {
                    self.apply(DriverLine::AddEnum {
                        var: item.var.to_string(),
                        value: value.clone(),
                    });
                }
            }
        }
        if item.flags & flag::RANGE != 0 {
            let mut logged = false;
            for pair in values.chunks_exact(2) {
                if nonut {
                    self.log(
                        Level::Info,
                        format!("{}, settable range: {}..{}", item.var, pair[0], pair[1]),
                    );
                    logged = true;
                } else {
                    self.apply(DriverLine::AddRange {
                        var: item.var.to_string(),
                        min: strtol(&pair[0]),
                        max: strtol(&pair[1]),
                    });
                }
            }
            if nonut && !logged {
                self.log(Level::Info, format!("{}, settable range: none", item.var));
            }
        }
    }

    /// The settable values of an item's `info_rw` list that apply to this unit (each
    /// value's check passed), in order; an unfilled list ends at its first empty value.
    fn rw_values(&self, item: &Item) -> Vec<String> {
        match item.info_rw {
            InfoRw::None => Vec::new(),
            InfoRw::List(list) => {
                let get = |var: &str| self.get(var);
                list.iter()
                    .filter(|rw| {
                        rw.check
                            .is_none_or(|c| voltronic_text::rw_allowed(c, rw.value, &get))
                    })
                    .map(|rw| rw.value.to_string())
                    .collect()
            }
            InfoRw::EcoVolt(high) => self
                .drv
                .volt
                .eco_range(high)
                .iter()
                .take_while(|v| !v.is_empty())
                .cloned()
                .collect(),
            InfoRw::MasterPacks => self.drv.master.packs_range(),
            InfoRw::MasterVolts => self.drv.master.volts(),
        }
    }

    /// The enumeration of `var`: what it had plus what this job added; `None` when the
    /// variable does not exist.
    fn enums(&self, var: &str) -> Option<Vec<String>> {
        let base = self.base.tree().get(var);
        let mut enums = base.map(|v| v.enums.clone()).unwrap_or_default();
        let mut added = false;
        for op in &self.ops {
            if let Op::Apply(DriverLine::AddEnum { var: name, value }) = op {
                if name.eq_ignore_ascii_case(var) {
                    enums.push(value.clone());
                    added = true;
                }
            }
        }
        (base.is_some() || added || self.get(var).is_some()).then_some(enums)
    }

    // ---- commands and settings ----------------------------------------------------

    /// `instcmd`: a TRACKING result.
    fn instcmd(&mut self, name: &str, extra: Option<&str>) -> Step<i64> {
        if name.eq_ignore_ascii_case("beeper.off") || name.eq_ignore_ascii_case("beeper.on") {
            let new = if name.eq_ignore_ascii_case("beeper.off") {
                "beeper.disable"
            } else {
                "beeper.enable"
            };
            self.log(
                Level::Warning,
                format!("The '{name}' command has been renamed to '{new}'"),
            );
            return self.instcmd(new, None);
        }
        self.log(
            Level::Info,
            format!("instcmd({name}, {})", extra.unwrap_or("[NULL]")),
        );
        let Some(i) = self.find(name, flag::CMD, flag::SKIP) else {
            return Ok(tracking::INVALID);
        };
        let item = self.drv.items[i];
        let command = match item.pre {
            Pre::Command => match self.command_text(&item, extra.unwrap_or("")) {
                Some(command) => Some(command),
                None => {
                    self.log(Level::Err, "instcmd: FAILED");
                    return Ok(crate::dummy::tracking::FAILED);
                }
            },
            Pre::Master(pre) => match self.master_command(pre, extra.unwrap_or("")) {
                Some(command) => Some(command),
                None => {
                    self.log(Level::Err, "instcmd: FAILED");
                    return Ok(crate::dummy::tracking::FAILED);
                }
            },
            Pre::Volt(voltronic::V::ProcessCommand) | Pre::Family(family::F::MecerTest) => {
                let command = if item.pre == Pre::Family(family::F::MecerTest) {
                    self.mecer_test(&item, extra.unwrap_or(""))
                } else {
                    self.volt_command(&item, extra.unwrap_or(""))
                };
                match command {
                    Some(command) => Some(command),
                    None => {
                        self.log(Level::Err, "instcmd: FAILED");
                        return Ok(crate::dummy::tracking::FAILED);
                    }
                }
            }
            _ => None,
        };
        let (ok, _, value) = self.qx_process(i, command.as_deref())?;
        let accepted = self.drv.subdriver.and_then(|s| s.accepted);
        if !ok || (!value.is_empty() && accepted.is_none_or(|a| !value.eq_ignore_ascii_case(a))) {
            self.log(Level::Err, "instcmd: FAILED");
            return Ok(crate::dummy::tracking::FAILED);
        }
        self.log(Level::Info, "instcmd: SUCCEED");
        self.notes.push(Note::Command {
            cmd: item.var.to_string(),
            arg: extra.map(str::to_string),
        });
        self.drv.data_has_changed = true;
        Ok(tracking::SUCCESS)
    }

    /// `blazer_process_command`: the device command for shutdown.* and
    /// test.battery.start.
    fn command_text(&mut self, item: &Item, value: &str) -> Option<String> {
        let offdelay = strtol(&self.get("ups.delay.shutdown").unwrap_or_default());
        let ondelay = strtol(&self.get("ups.delay.start").unwrap_or_default()) / 60;
        let off = |offdelay: i64| {
            if offdelay < 60 {
                format!(".{}", offdelay / 6)
            } else {
                format!("{:02}", offdelay / 60)
            }
        };
        match item.var {
            "shutdown.return" | "shutdown.stayoff" => {
                if offdelay < 0 {
                    self.log(
                        Level::Err,
                        format!("{}: offdelay '{offdelay}' should not be negative", item.var),
                    );
                    return None;
                }
                let arg = if item.var == "shutdown.stayoff" || ondelay <= 0 {
                    off(offdelay)
                } else {
                    format!("{}R{ondelay:04}", off(offdelay))
                };
                Some(item.command.replace("%s", &arg))
            }
            "test.battery.start" => {
                let delay = if value.is_empty() { 600 } else { strtol(value) };
                if !(60..=5940).contains(&delay) {
                    self.log(
                        Level::Err,
                        format!(
                            "{}: battery test time '{delay}' out of range [60..5940] seconds",
                            item.var
                        ),
                    );
                    return None;
                }
                Some(item.command.replace("%02d", &format!("{:02}", delay / 60)))
            }
            _ => None,
        }
    }

    /// `setvar`: a TRACKING result. An item without a NUT variable takes its value
    /// from the ups.conf option of its name (`value` is ignored), as at start-up.
    fn setvar(&mut self, var: &str, value: &str) -> Step<i64> {
        let Some(i) = self.find(var, flag::SETVAR, flag::SKIP) else {
            return Ok(tracking::UNKNOWN);
        };
        let item = self.drv.items[i];
        let nonut = item.flags & flag::NONUT != 0;
        let mut value = if nonut {
            if !self.drv.options.testvar(item.var) {
                return Ok(tracking::SUCCESS);
            }
            let userval = self.drv.options.getval(item.var).map(str::to_string);
            self.log(
                Level::Info,
                format!("setvar({var}, {})", userval.as_deref().unwrap_or("[NULL]")),
            );
            userval.unwrap_or_default()
        } else {
            self.log(
                Level::Info,
                format!(
                    "setvar({var}, {})",
                    if value.is_empty() { "[NULL]" } else { value }
                ),
            );
            if value.is_empty() {
                self.log(
                    Level::Err,
                    format!("setvar: value not given for {}", item.var),
                );
                return Ok(tracking::UNKNOWN);
            }
            if self
                .get(item.var)
                .is_some_and(|current| current.eq_ignore_ascii_case(value))
            {
                self.log(
                    Level::Info,
                    format!("setvar: nothing to do... [{}]", item.var),
                );
                return Ok(tracking::SUCCESS);
            }
            value.to_string()
        };
        let range = item.flags & flag::RANGE != 0;
        let listed = range || item.flags & flag::ENUM != 0;
        let numeric = value
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b' ' || c == b'.');
        if range && !numeric {
            self.log(
                Level::Err,
                format!("setvar: non numerical value [{}: {value}]", item.var),
            );
            return Ok(tracking::UNKNOWN);
        }
        if listed && nonut && value.is_empty() {
            self.log(
                Level::Err,
                format!("setvar: value not given for {}", item.var),
            );
            return Ok(tracking::UNKNOWN);
        }
        // Checked against the table's values (no NUT variable) or the published ones.
        let allowed = if !listed {
            true
        } else if range {
            let ranges: Vec<(i64, i64)> = if nonut {
                self.rw_values(&item)
                    .chunks_exact(2)
                    .map(|p| (strtol(&p[0]), strtol(&p[1])))
                    .collect()
            } else {
                self.ranges(item.var)
            };
            if ranges.is_empty() && !nonut {
                // NUT: no range list for the variable.
                return Ok(tracking::UNKNOWN);
            }
            let wanted = strtol(&value);
            ranges.iter().any(|&(lo, hi)| lo <= wanted && wanted <= hi)
        } else {
            let values = if nonut {
                self.rw_values(&item)
            } else {
                match self.enums(item.var) {
                    Some(enums) => enums,
                    None => return Ok(tracking::UNKNOWN),
                }
            };
            values.iter().any(|a| a.eq_ignore_ascii_case(&value))
        };
        if !allowed {
            self.log(
                Level::Err,
                format!("setvar: value out of range [{}: {value}]", item.var),
            );
            return Ok(tracking::UNKNOWN);
        }
        value = match item.pre {
            // blazer_process_setvar: delays go in whole minutes (and 6 s steps below one).
            Pre::Setvar => {
                let wanted = strtol(&value);
                let truncated = if item.var == "ups.delay.start" {
                    wanted - wanted % 60
                } else if wanted < 60 {
                    wanted - wanted % 6
                } else {
                    wanted - wanted % 60
                };
                truncated.to_string()
            }
            Pre::Volt(pre) => match self.volt_setvar(i, pre, &value) {
                Some(value) => value,
                None => {
                    self.log(Level::Err, "setvar: FAILED");
                    return Ok(tracking::UNKNOWN);
                }
            },
            Pre::Family(family::F::BestupsSetvar) => match self.bestups_setvar(&item, &value) {
                Some(value) => value,
                None => {
                    self.log(Level::Err, "setvar: FAILED");
                    return Ok(tracking::UNKNOWN);
                }
            },
            Pre::Master(pre) => match self.master_setvar(&item, pre, &value) {
                Some(value) => value,
                None => {
                    self.log(Level::Err, "setvar: FAILED");
                    return Ok(tracking::UNKNOWN);
                }
            },
            // No preprocess function: a server-side variable takes the value as given,
            // a device's gets the item's command alone.
            _ if item.flags & flag::ABSENT != 0 => value,
            _ => String::new(),
        };
        if item.flags & flag::ABSENT != 0 {
            self.set(item.var, &value);
            self.log(Level::Info, "setvar: SUCCEED");
            return Ok(tracking::SUCCESS);
        }
        let command = (!value.is_empty()).then_some(value);
        let (ok, _, answer) = self.qx_process(i, command.as_deref())?;
        let accepted = self.drv.subdriver.and_then(|s| s.accepted);
        if !ok || (!answer.is_empty() && accepted.is_none_or(|a| !answer.eq_ignore_ascii_case(a))) {
            self.log(Level::Err, "setvar: FAILED");
            return Ok(tracking::UNKNOWN);
        }
        self.log(Level::Info, "setvar: SUCCEED");
        self.drv.data_has_changed = true;
        Ok(tracking::SUCCESS)
    }

    /// `forceshutdown` + `upsdrv_shutdown`.
    fn shutdown(&mut self) -> Step<Outcome> {
        if let Some(fatal) = self.initups()? {
            return Ok(Outcome::Fatal(fatal));
        }
        self.log(Level::Notice, "Initiating UPS shutdown");
        for (var, option, what) in [
            ("ups.delay.start", self.drv.options.ondelay.clone(), "Start"),
            (
                "ups.delay.shutdown",
                self.drv.options.offdelay.clone(),
                "Shutdown",
            ),
        ] {
            let Some(i) = self.find(var, 0, flag::SKIP) else {
                return Ok(Outcome::Fatal(format!(
                    "Unable to set {} delay",
                    what.to_lowercase()
                )));
            };
            let dfl = self.drv.items[i].dfl;
            self.set(var, dfl);
            self.set_var(i);
            if let Some(value) = option {
                if self.setvar(var, &value)? != tracking::SUCCESS {
                    return Ok(Outcome::Fatal(format!(
                        "{what} delay '{value}' out of range"
                    )));
                }
            }
        }
        if self.find("shutdown.stop", flag::CMD, flag::SKIP).is_some() {
            let mut stopped = false;
            for _ in 0..MAXTRIES {
                if self.instcmd("shutdown.stop", None)? == tracking::SUCCESS {
                    stopped = true;
                    break;
                }
            }
            if !stopped {
                self.log(Level::Notice, "No shutdown pending");
            }
        }
        let command = if self.drv.options.stayoff {
            "shutdown.stayoff"
        } else {
            "shutdown.return"
        };
        for _ in 0..MAXTRIES {
            if self.instcmd(command, None)? == tracking::SUCCESS {
                let delay = self.get("ups.delay.shutdown").unwrap_or_default();
                return Ok(Outcome::ShutdownSent(format!(
                    "Shutting down in {delay} seconds"
                )));
            }
        }
        Ok(Outcome::Fatal("Shutdown failed!".to_string()))
    }
}

/// `qx_process_answer`: the item's columns of `answer` (`len` = bytes read), or `None`
/// for a short reply or a wrong leading character.
fn process_answer(
    item: &Item,
    answer: &[u8],
    len: usize,
    rejected: Option<&str>,
) -> Option<String> {
    if rejected.is_some_and(|r| answer.eq_ignore_ascii_case(r.as_bytes())) {
        return None;
    }
    if item.answer_len > 0 && len < item.answer_len {
        return None;
    }
    if item.leading != 0 && answer.first() != Some(&item.leading) {
        return None;
    }
    if item.to != 0 && item.to < item.from {
        return None;
    }
    if answer.is_empty() {
        return Some(String::new());
    }
    let rest = answer.get(item.from..).unwrap_or_default();
    let take = if item.to != 0 {
        1 + item.to - item.from
    } else {
        let line = answer
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(answer.len());
        line.saturating_sub(item.from)
    };
    let slice = &rest[..take.min(rest.len())];
    Some(String::from_utf8_lossy(slice).into_owned())
}

/// Cuts `text` to at most `max` bytes (on a character boundary).
fn truncate_bytes(text: &mut String, max: usize) {
    let end = crate::dummy::cut(text, max).len();
    text.truncate(end);
}

/// `%.Nf` of NUT's tables (nutdrv_qx's and usbhid-ups's).
pub fn format_number(format: &str, value: f64) -> String {
    match format {
        "%.0f" => format!("{value:.0}"),
        "%.1f" => format!("{value:.1}"),
        "%.2f" => format!("{value:.2}"),
        _ => format!("{value}"),
    }
}

/// C's `strtod` on the characters NUT lets through: leading blanks, then the longest
/// decimal prefix; 0 when there is none.
pub fn strtod(text: &str) -> f64 {
    let t = text.trim_start();
    let mut end = 0;
    let bytes = t.as_bytes();
    if end < bytes.len() && matches!(bytes[end], b'+' | b'-') {
        end += 1;
    }
    let mut seen_dot = false;
    let mut digits = 0;
    while end < bytes.len() {
        match bytes[end] {
            b'0'..=b'9' => digits += 1,
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end += 1;
    }
    if digits == 0 {
        return 0.0;
    }
    t[..end].trim_end_matches('.').parse().unwrap_or(0.0)
}

fn parse_f64(text: &str) -> Option<f64> {
    let t = text.trim();
    (!t.is_empty()).then(|| strtod(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q1: &[u8] = b"(215.0 195.0 230.0 014 49.0 22.7 30.0 00000000\r";
    const F: &[u8] = b"#230.0 000 024.0 50.0\r";
    const I: &[u8] = b"#NOT_A_LIVE_UPS  TESTING    TESTING   \r";

    /// A device answering from a table (NUT's TESTING table in nutdrv_qx_megatec.c);
    /// unknown queries are echoed back as Megatec units do.
    fn answer(table: &[(&[u8], &[u8])], query: &[u8]) -> Reply {
        match table.iter().find(|(q, _)| *q == query) {
            Some((_, [])) => Reply::Timeout,
            Some((_, a)) => Reply::Bytes(a.to_vec()),
            None => Reply::Bytes(query.to_vec()),
        }
    }

    fn drive(
        drv: &mut QxDriver,
        state: &mut DriverState,
        job: &Job,
        now: Millis,
        table: &[(&[u8], &[u8])],
        sent: &mut Vec<Vec<u8>>,
    ) -> (Outcome, Vec<Note>) {
        let mut replies = Vec::new();
        loop {
            match drv.run(state, job, now, &replies) {
                Progress::Send(bytes) => {
                    replies.push(answer(table, &bytes));
                    sent.push(bytes);
                }
                Progress::Done { outcome, notes, .. } => return (outcome, notes),
            }
        }
    }

    fn megatec() -> Vec<(&'static [u8], &'static [u8])> {
        vec![
            (b"Q1\r", Q1),
            (b"F\r", F),
            (b"I\r", I),
            (b"Q\r", b""),
            (b"C\r", b""),
            (b"T\r", b""),
            (b"S.5R0003\r", b""),
        ]
    }

    #[test]
    fn megatec_start_publishes_nuts_variables() {
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        let (outcome, notes) = drive(&mut drv, &mut state, &Job::Start, 0, &megatec(), &mut sent);
        assert_eq!(outcome, Outcome::Started);
        assert!(notes.contains(&Note::Log(
            Level::Info,
            "Using protocol: Megatec 0.06".into()
        )));
        let v = |name: &str| state.tree().value(name).unwrap_or("-").to_string();
        assert_eq!(v("input.voltage"), "215.0");
        assert_eq!(v("ups.load"), "14");
        assert_eq!(v("battery.voltage"), "22.70");
        assert_eq!(v("input.voltage.nominal"), "230");
        assert_eq!(v("battery.voltage.nominal"), "24.0");
        assert_eq!(v("battery.voltage.low"), "20.80");
        assert_eq!(v("battery.voltage.high"), "26.00");
        // (22.7 - 20.8) / (26 - 20.8) = 36.5 %
        assert_eq!(v("battery.charge"), "37");
        assert_eq!(v("device.mfr"), "NOT_A_LIVE_UPS");
        assert_eq!(v("ups.firmware"), "TESTING");
        assert_eq!(v("ups.status"), "OL");
        assert_eq!(v("ups.type"), "online");
        assert_eq!(v("ups.delay.shutdown"), "30");
        assert_eq!(v("driver.version.data"), "Megatec 0.06");
        assert!(!state.is_stale());
        let var = state.tree().get("ups.delay.start").unwrap();
        assert!(var.flags.rw);
        assert_eq!(var.ranges, vec![(0, 599_940)]);
        assert!(state.tree().has_cmd("shutdown.return"));
        // voltronic's, voltronic-qs's, voltronic-qs-hex's, mustek's and megatec/old's
        // claims (three tries each, echoed), bestups's (Q1, then ID echoed) and mecer's
        // (Q1, then QPI echoed), three tries each,
        // Q1 and I for megatec's claim, then Q1/F/I of the init walk, Q1 of the first
        // (quick) update.
        let queries: Vec<&[u8]> = sent.iter().map(Vec::as_slice).collect();
        assert_eq!(
            queries,
            vec![
                &b"QGS\r"[..],
                b"QGS\r",
                b"QGS\r",
                b"M\r",
                b"M\r",
                b"M\r",
                b"M\r",
                b"M\r",
                b"M\r",
                b"QS\r",
                b"QS\r",
                b"QS\r",
                b"D\r",
                b"D\r",
                b"D\r",
                b"Q1\r",
                b"ID\r",
                b"Q1\r",
                b"ID\r",
                b"Q1\r",
                b"ID\r",
                b"Q1\r",
                b"QPI\r",
                b"Q1\r",
                b"QPI\r",
                b"Q1\r",
                b"QPI\r",
                b"Q1\r",
                b"I\r",
                b"Q1\r",
                b"F\r",
                b"I\r",
                b"Q1\r"
            ]
        );
    }

    #[test]
    fn status_bits_and_full_update_alarm() {
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &megatec(), &mut sent);
        let mut table = megatec();
        // On battery, low, failed self-test, test in progress, beeper on.
        table[0].1 = b"(000.0 000.0 230.0 030 50.0 21.0 30.0 11010101\r";
        drive(&mut drv, &mut state, &Job::Update, 2_000, &table, &mut sent);
        assert_eq!(state.tree().value("ups.status"), Some("OB LB CAL"));
        drive(
            &mut drv,
            &mut state,
            &Job::Update,
            31_000,
            &table,
            &mut sent,
        );
        assert_eq!(state.tree().value("ups.status"), Some("ALARM OB LB CAL"));
        assert_eq!(
            state.tree().value("ups.alarm"),
            Some("UPS selftest failed!")
        );
        assert_eq!(state.tree().value("ups.beeper.status"), Some("enabled"));
    }

    #[test]
    fn silence_goes_stale_after_maxtries_and_recovers() {
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &megatec(), &mut sent);
        let dead: Vec<(&[u8], &[u8])> = vec![(b"Q1\r", b"")];
        for n in 1..=4 {
            drive(
                &mut drv,
                &mut state,
                &Job::Update,
                n * 2_000,
                &dead,
                &mut sent,
            );
            assert!(!state.is_stale(), "stale after {n} failures");
        }
        let (_, notes) = drive(&mut drv, &mut state, &Job::Update, 10_000, &dead, &mut sent);
        assert!(state.is_stale());
        assert!(notes.contains(&Note::Lost));
        let (_, notes) = drive(
            &mut drv,
            &mut state,
            &Job::Update,
            12_000,
            &megatec(),
            &mut sent,
        );
        assert!(!state.is_stale());
        assert!(notes.contains(&Note::Restored));
    }

    #[test]
    fn commands_follow_the_delays() {
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &megatec(), &mut sent);
        let set = Job::Set {
            var: "ups.delay.shutdown".into(),
            value: "35".into(),
        };
        let (outcome, _) = drive(&mut drv, &mut state, &set, 1_000, &megatec(), &mut sent);
        assert_eq!(outcome, Outcome::Tracking(tracking::SUCCESS));
        assert_eq!(state.tree().value("ups.delay.shutdown"), Some("30"));
        let too_long = Job::Set {
            var: "ups.delay.shutdown".into(),
            value: "601".into(),
        };
        let (outcome, _) = drive(
            &mut drv,
            &mut state,
            &too_long,
            1_000,
            &megatec(),
            &mut sent,
        );
        assert_eq!(outcome, Outcome::Tracking(tracking::UNKNOWN));
        sent.clear();
        let job = Job::InstCmd {
            cmd: "shutdown.return".into(),
            arg: None,
        };
        let (outcome, notes) = drive(&mut drv, &mut state, &job, 1_000, &megatec(), &mut sent);
        assert_eq!(outcome, Outcome::Tracking(tracking::SUCCESS));
        assert_eq!(sent, vec![b"S.5R0003\r".to_vec()]);
        assert!(notes
            .iter()
            .any(|n| matches!(n, Note::Command { cmd, .. } if cmd == "shutdown.return")));
        // A unit that echoes the command back refused it.
        let job = Job::InstCmd {
            cmd: "test.battery.start.deep".into(),
            arg: None,
        };
        let (outcome, _) = drive(&mut drv, &mut state, &job, 1_000, &megatec(), &mut sent);
        assert_eq!(outcome, Outcome::Tracking(3));
        let job = Job::InstCmd {
            cmd: "test.battery.start".into(),
            arg: Some("59".into()),
        };
        let (outcome, _) = drive(&mut drv, &mut state, &job, 1_000, &megatec(), &mut sent);
        assert_eq!(outcome, Outcome::Tracking(3));
    }

    #[test]
    fn blank_vendor_falls_back_to_q1_and_shutdown_sends_the_delay() {
        let table: Vec<(&[u8], &[u8])> = vec![
            (b"Q1\r", Q1),
            (b"I\r", b"#                                      \r"),
            (b"C\r", b""),
            (b"S.5R0003\r", b""),
        ];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        let (outcome, _) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(outcome, Outcome::Started);
        assert_eq!(state.tree().value("driver.version.data"), Some("Q1 0.07"));
        assert_eq!(state.tree().value("input.voltage.nominal"), None);
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        sent.clear();
        let (outcome, _) = drive(&mut drv, &mut state, &Job::Shutdown, 0, &table, &mut sent);
        assert_eq!(
            outcome,
            Outcome::ShutdownSent("Shutting down in 30 seconds".into())
        );
        assert_eq!(sent.last().map(Vec::as_slice), Some(&b"S.5R0003\r"[..]));
    }

    #[test]
    fn mustek_and_megatec_old_read_q1_layout_behind_their_own_query() {
        // NUT's TESTING tables (nutdrv_qx_mustek.c, nutdrv_qx_megatec-old.c): the
        // status answer is Q1's; unknown queries are echoed (so Q1 claims fail).
        for (query, protocol) in [(&b"QS\r"[..], "Mustek 0.07"), (b"D\r", "Megatec/old 0.07")] {
            let table: Vec<(&[u8], &[u8])> = vec![(query, Q1), (b"F\r", F), (b"I\r", I)];
            let mut drv = QxDriver::new(QxOptions::default());
            let mut state = DriverState::new();
            let mut sent = Vec::new();
            let (outcome, _) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
            assert_eq!(outcome, Outcome::Started);
            assert_eq!(state.tree().value("driver.version.data"), Some(protocol));
            assert_eq!(state.tree().value("input.voltage"), Some("215.0"));
            assert_eq!(state.tree().value("device.mfr"), Some("NOT_A_LIVE_UPS"));
            assert_eq!(sent.last().map(Vec::as_slice), Some(query));
        }
        let opts = vec![("protocol".to_string(), Some("megatec/old".to_string()))];
        assert!(QxOptions::from_options(&opts).is_ok());
    }

    #[test]
    fn voltronic_qs_hex_decodes_the_binary_status() {
        // NUT's TESTING table in nutdrv_qx_voltronic-qs-hex.c (a 'P' unit), then the
        // same unit speaking 'T' with a ratings byte (50 Hz, 24 V, 230 V: 0b0_01_00_011).
        let qs: &[u8] =
            b"#\x6C\x01 \x35 \x6C\x01 \x35 \x03 \x51\x9A \x28\x02\x12\xD0 \xE6 \x1E \x09\r";
        let table: Vec<(&[u8], &[u8])> = vec![(b"M\r", b"P\r"), (b"QS\r", qs)];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        let (outcome, _) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(outcome, Outcome::Started);
        let v = |state: &DriverState, name: &str| state.tree().value(name).map(str::to_string);
        let want = [
            ("driver.version.data", "Voltronic-QS-Hex 0.10"),
            ("ups.firmware.aux", "PM-P"),
            // 0x6C01 * 0x35 / 51 / 256
            ("input.voltage", "112.2"),
            ("output.voltage", "112.2"),
            ("ups.load", "3"),
            // 0x1312D0 (XOFF escaped as 28 02) / 0x519A
            ("output.frequency", "59.8"),
            // 0xE6 * 0x1E / 510
            ("battery.voltage", "13.53"),
            ("ups.status", "OL"),
            ("ups.type", "offline / line interactive"),
            ("ups.beeper.status", "enabled"),
        ];
        for (name, value) in want {
            assert_eq!(v(&state, name).as_deref(), Some(value), "{name}");
        }
        assert_eq!(v(&state, "output.voltage.nominal"), None);
        assert!(!state.tree().cmds().any(|c| c == "test.battery.start.quick"));
        let mut qs_t = qs[..qs.len() - 1].to_vec();
        qs_t.extend_from_slice(b" \x23\r");
        let table: Vec<(&[u8], &[u8])> = vec![(b"M\r", b"T\r"), (b"QS\r", &qs_t)];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(v(&state, "ups.firmware.aux").as_deref(), Some("PM-T"));
        assert_eq!(
            v(&state, "output.frequency.nominal").as_deref(),
            Some("50.0")
        );
        assert_eq!(
            v(&state, "battery.voltage.nominal").as_deref(),
            Some("24.0")
        );
        assert_eq!(
            v(&state, "output.voltage.nominal").as_deref(),
            Some("230.0")
        );
        assert!(state.tree().cmds().any(|c| c == "test.battery.start.quick"));
        // A reply with the wrong number of tokens is refused (and so is the unit).
        let short: &[u8] = b"#\x6C\x01 \x35\r";
        let table: Vec<(&[u8], &[u8])> = vec![(b"M\r", b"P\r"), (b"QS\r", short)];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_ne!(
            v(&state, "driver.version.data").as_deref(),
            Some("Voltronic-QS-Hex 0.10")
        );
    }

    #[test]
    fn voltronic_qs_checks_the_protocol_and_reads_output_ratings() {
        // NUT's TESTING table in nutdrv_qx_voltronic-qs.c.
        let table: Vec<(&[u8], &[u8])> = vec![
            (b"M\r", b"V\r"),
            (b"QS\r", b"(215.0 195.0 230.0 014 49.0 22.7 30.0 00000000\r"),
            (b"F\r", b"#220.0 003 12.00 50.0\r"),
        ];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut sent = Vec::new();
        let (outcome, _) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(outcome, Outcome::Started);
        let v = |name: &str| state.tree().value(name).map(str::to_string);
        assert_eq!(
            v("driver.version.data").as_deref(),
            Some("Voltronic-QS 0.07")
        );
        assert_eq!(v("ups.firmware.aux").as_deref(), Some("PM-V"));
        assert_eq!(v("output.frequency").as_deref(), Some("49.0"));
        assert_eq!(v("output.voltage.nominal").as_deref(), Some("220"));
        assert_eq!(v("input.frequency"), None);
        assert_eq!(
            state.tree().get("ups.delay.shutdown").unwrap().ranges,
            vec![(12, 540)]
        );
        // A unit answering M with another protocol letter is not voltronic-qs.
        let other: Vec<(&[u8], &[u8])> = vec![(b"M\r", b"P\r"), (b"QS\r", table[1].1)];
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        drive(&mut drv, &mut state, &Job::Start, 0, &other, &mut sent);
        assert_eq!(
            state.tree().value("driver.version.data"),
            Some("Mustek 0.07")
        );
    }

    #[test]
    fn ignorelb_takes_lb_from_the_charge_threshold() {
        let options = QxOptions {
            ignorelb: true,
            ..QxOptions::default()
        };
        // The device says LB at 37 % charge; the admin wants LB below 50 %, and not the
        // device's.
        let mut table = megatec();
        table[0].1 = b"(215.0 195.0 230.0 014 49.0 22.7 30.0 01000000\r";
        let mut drv = QxDriver::new(options.clone());
        let mut state = DriverState::new();
        state.tree_mut().set_immutable("battery.charge.low", "30");
        let mut sent = Vec::new();
        let (outcome, notes) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(outcome, Outcome::Started);
        assert!(notes.contains(&Note::Log(
            Level::Info,
            "using 'battery.charge' to set battery low state".into()
        )));
        assert_eq!(state.tree().value("battery.charge"), Some("37"));
        assert_eq!(
            state.tree().value("ups.status"),
            Some("OL"),
            "device LB ignored"
        );
        let mut drv = QxDriver::new(options.clone());
        let mut state = DriverState::new();
        state.tree_mut().set_immutable("battery.charge.low", "50");
        drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert_eq!(state.tree().value("ups.status"), Some("OL LB"), "37 < 50");
        // Without thresholds the driver refuses to start, as NUT's.
        let mut drv = QxDriver::new(options);
        let mut state = DriverState::new();
        let (outcome, _) = drive(&mut drv, &mut state, &Job::Start, 0, &table, &mut sent);
        assert!(matches!(outcome, Outcome::Fatal(m) if m.contains("'ignorelb' flag is set")));
    }

    #[test]
    fn options_nut_refuses_are_refused() {
        let opts = |k: &str, v: &str| vec![(k.to_string(), Some(v.to_string()))];
        assert!(QxOptions::from_options(&opts("runtimecal", "240,100"))
            .unwrap_err()
            .contains("Insufficient parameters"));
        assert!(QxOptions::from_options(&opts("protocol", "innovart31"))
            .unwrap_err()
            .contains("not implemented"));
        assert!(QxOptions::from_options(&opts("protocol", "bestups")).is_ok());
        assert!(QxOptions::from_options(&opts("idleload", "0")).is_err());
        let megatec = |k: &str, v: &str| {
            let mut o = opts(k, v);
            o.push(("protocol".to_string(), Some("megatec".to_string())));
            o
        };
        assert!(QxOptions::from_options(&megatec("offdelay", "900"))
            .unwrap_err()
            .contains("Shutdown delay '900' out of range"));
        // Without a protocol, voltronic's longer range may apply (checked at start-up).
        assert!(QxOptions::from_options(&opts("offdelay", "900")).is_ok());
        assert!(QxOptions::from_options(&opts("offdelay", "6000"))
            .unwrap_err()
            .contains("Shutdown delay '6000' out of range"));
        assert!(QxOptions::from_options(&opts("ondelay", "soon")).is_err());
        assert!(QxOptions::from_options(&opts("offdelay", "12")).is_ok());
        assert!(QxOptions::from_options(&opts("protocol", "MEGATEC")).is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        let mut drv = QxDriver::new(QxOptions::default());
        let mut state = DriverState::new();
        let mut seed = 7u64;
        let mut replies = Vec::new();
        for _ in 0..2000 {
            match drv.run(&mut state, &Job::Start, 0, &replies) {
                Progress::Send(_) => {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let len = (seed >> 58) as usize;
                    let bytes: Vec<u8> = (0..len).map(|k| (seed >> (k % 56)) as u8).collect();
                    replies.push(Reply::Bytes(bytes));
                }
                Progress::Done { .. } => break,
            }
        }
        assert_eq!(strtod(" 12.5.3"), 12.5);
        assert_eq!(strtod("."), 0.0);
        assert_eq!(strtol("99999999999999999999999"), i64::MAX);
    }
}
