//! apcsmart's device logic: APC Smart-UPS, Matrix-UPS and their kin on a serial line
//! (NUT's `drivers/apcsmart.c`, `apcsmart.h`, `apcsmart_tabs.c`, NUT 2.8.0, driver
//! version 3.2).
//!
//! The UPS takes one-character commands (`Y` smart mode, `Q` status, `B` battery
//! voltage...) and answers a line ending in `\r\n`; between answers it may send alert
//! characters on its own (`!` on battery, `$` back on line, `%` low battery...). It
//! lists the commands it knows (`a`) and the values each setting can take (`^Z`);
//! settings change by cycling them with `-`.
//!
//! ## Sans-IO
//! Every operation is a [`Job`] (shared with nutdrv_qx). The shell calls
//! [`ApcDriver::run`] with the results of the I/O steps so far; the driver answers
//! [`Progress::Io`] (do this step, call again with its result) or [`Progress::Done`].
//! As in `nut_core::qx`, a job is evaluated from the start on every call and its
//! changes are applied only when it completes. The shell reads raw bytes; this module
//! does what NUT's canonical-mode terminal and `apc_read` do with them (carriage
//! returns dropped, `\n` ends a line, alert characters handled or ignored, `*` taken as
//! a shutdown's `OK` where NUT does).
//!
//! ## Differences from NUT, on purpose
//! - `-k` reads the UPS status and picks the shutdown method from it. NUT 2.8.0 takes
//!   the status only when the reply is exactly one character long (`apc_read(...) ==
//!   1` in `upsdrv_shutdown`), so with every real status (`08`, two characters) it
//!   assumes "on battery, low battery" and sends `S`, the soft shutdown a UPS on mains
//!   ignores: when power came back during the host's shutdown, the UPS never cycles
//!   the load and the host stays off. Here `sdtype=0` sends `@000` on mains, as NUT's
//!   man page describes.
//! - A capability string (`^Z`) that does not parse is logged and its rest ignored
//!   (the variables stay read-only); NUT exits.
//! - Communication failures are logged once per outage (`Communications with UPS
//!   lost: ...`, then `... re-established`), naming the command instead of a C source
//!   line.
//! - `-k` exits non-zero when the unit accepted no shutdown command (NUT exits 0
//!   whatever happened), so upsdrvctl and the late-shutdown hook can tell.
//! - The first "nasty" instant command (load.off, shutdown.*) after start is outside
//!   the confirmation window, as in NUT, whatever the clock.

use crate::dummy::{tracking, DriverState};
use crate::event::Level;
use crate::qx::{commit, Op};
pub use crate::qx::{Job, Note, Outcome};
use crate::sock::DriverLine;
use crate::Millis;

/// apcsmart's `DRIVER_VERSION` in NUT 2.8.0 (published as `driver.version.internal`).
pub const DRIVER_VERSION_INTERNAL: &str = "3.2";
/// Serial speed of APC Smart units, in baud (NUT's `B2400`).
pub const BAUD: u32 = 2400;
/// Longest line the driver keeps, in bytes (NUT's `APC_LBUF` less its terminator);
/// longer is an overflow.
pub const MAX_LINE_BYTES: usize = 511;
/// Longest reply to a shutdown command, in bytes (NUT's `APC_SBUF` less one).
pub const MAX_SHORT_LINE_BYTES: usize = 31;
/// Longest string setting (`ups.id`, `battery.date`), in characters (`APC_STRLEN`).
pub const APC_STRLEN: usize = 8;
/// Fields of a packed variable kept (`APC_PACK_MAX`).
pub const APC_PACK_MAX: usize = 4;
/// Default wait for a reply, in milliseconds (`SER_D3`).
pub const WAIT_DEFAULT_MS: u64 = 3_000;
/// Short wait (`SER_D1`: smart mode, shutdown replies), in milliseconds.
pub const WAIT_SHORT_MS: u64 = 1_500;
/// Peek for an unexpected answer between the bytes of a long command (`SER_DX`), in
/// milliseconds.
pub const WAIT_PEEK_MS: u64 = 200;
/// Wait for the command and capability lists (`SER_CC`, `SER_CS`), in milliseconds.
pub const WAIT_LISTS_MS: u64 = 6_000;
/// Wait for whatever follows a `*` shutdown acknowledgement, in milliseconds.
pub const WAIT_AFTER_STAR_MS: u64 = 1_000;
/// Pause between the two bytes of a confirmed command (`K K`, `Z Z`), in milliseconds.
pub const REPEAT_PAUSE_MS: u64 = 1_300;
/// Pause between the bytes of a long command (`@nnn`, a string), in milliseconds.
pub const PACE_MS: u64 = 50;
/// Pause before retrying smart mode after a read error, in milliseconds.
pub const SMARTMODE_RETRY_MS: u64 = 1_000;
/// Default `cshdelay`, in milliseconds.
pub const CSHDELAY_DEFAULT_MS: u64 = 3_500;
/// A nasty command must be repeated within this window, in seconds (`MINCMDTIME`,
/// `MAXCMDTIME`).
pub const NASTY_WINDOW_S: (i64, i64) = (3, 15);
/// All variables are read again after this many seconds (NUT: hourly).
pub const FULL_UPDATE_S: i64 = 3_600;
/// Polls skipped while the UPS is lost before nudging it with `Y`.
pub const NUDGE_AFTER_POLLS: u32 = 10;
/// Tries of `-` when cycling an enumerated setting.
pub const MAX_CYCLES: usize = 32;
/// Comm failures before reporting is limited (NUT's `SER_ERR_LIMIT`).
pub const SER_ERR_LIMIT: u32 = 10;

const ESC: u8 = 27;
const APC_STATUS: u8 = b'Q';
const APC_GOSMART: u8 = b'Y';
const APC_GODUMB: u8 = b'R';
const APC_CMDSET: u8 = b'a';
const APC_CAPS: u8 = 0x1a;
const APC_NEXTVAL: u8 = b'-';
const APC_FW_OLD: u8 = b'V';
const APC_FW_NEW: u8 = b'b';
/// Commands and variables the driver does not map (`APC_UNR_CMDS`).
const APC_UNR_CMDS: &[u8] = b"\x1a\x7f~')-+8QRYayz";
/// Alert characters (`ALERT_CHARS`).
const ALERT_CHARS: &[u8] = b"$!%+#?=";
/// Ignored when alerts are handled (`IGN_AACHARS`; `\r` is dropped by the terminal).
const IGN_AACHARS: &[u8] = b"\r|&";
/// Ignored in the capability list (`IGN_CCCHARS`).
const IGN_CCCHARS: &[u8] = b"\r|&$!%+?=";

// Status bits of `Q` (APC_STAT_*).
const STAT_CAL: u32 = 1 << 0;
const STAT_TRIM: u32 = 1 << 1;
const STAT_BOOST: u32 = 1 << 2;
const STAT_OL: u32 = 1 << 3;
const STAT_OB: u32 = 1 << 4;
const STAT_OVER: u32 = 1 << 5;
const STAT_LB: u32 = 1 << 6;
const STAT_RB: u32 = 1 << 7;

// Variable flags (apcsmart_tabs.h).
const POLL: u32 = 1 << 0;
const STRING: u32 = 1 << 1;
const MULTI: u32 = 1 << 2;
const PACK: u32 = 1 << 3;

/// How a raw value becomes NUT's (`APC_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Leave,
    Hours,
    Minutes,
    Reason,
}

/// A regular expression of NUT's table, as a function.
type Check = fn(&[u8]) -> bool;

struct VarDef {
    name: &'static str,
    cmd: u8,
    flags: u32,
    fmt: Fmt,
    check: Option<Check>,
}

const fn var(name: &'static str, cmd: u8, flags: u32, fmt: Fmt) -> VarDef {
    VarDef {
        name,
        cmd,
        flags,
        fmt,
        check: None,
    }
}

/// NUT's `apc_vartab` (apcsmart_tabs.c), in its order (APC_MULTI entries by preference).
const VARTAB: [VarDef; 47] = [
    var("ups.temperature", b'C', POLL, Fmt::Leave),
    var("ups.load", b'P', POLL, Fmt::Leave),
    var("ups.test.interval", b'E', 0, Fmt::Hours),
    var("ups.test.result", b'X', POLL, Fmt::Leave),
    var("ups.delay.start", b'r', 0, Fmt::Leave),
    var("ups.delay.shutdown", b'p', 0, Fmt::Leave),
    var("ups.id", b'c', STRING, Fmt::Leave),
    var("ups.contacts", b'i', POLL, Fmt::Leave),
    var("ups.display.language", 0x0c, 0, Fmt::Leave),
    var("input.voltage", b'L', POLL, Fmt::Leave),
    var("input.frequency", b'F', POLL, Fmt::Leave),
    var("input.sensitivity", b's', 0, Fmt::Leave),
    var("input.quality", b'9', POLL, Fmt::Leave),
    var("input.transfer.low", b'l', 0, Fmt::Leave),
    var("input.transfer.high", b'u', 0, Fmt::Leave),
    var("input.transfer.reason", b'G', POLL, Fmt::Reason),
    var("input.voltage.maximum", b'M', POLL, Fmt::Leave),
    var("input.voltage.minimum", b'N', POLL, Fmt::Leave),
    var("output.current", b'/', POLL, Fmt::Leave),
    var("output.voltage", b'O', POLL, Fmt::Leave),
    var("output.voltage.nominal", b'o', 0, Fmt::Leave),
    var("ambient.humidity", b'h', POLL, Fmt::Leave),
    var("ambient.0.humidity", b'H', POLL | PACK, Fmt::Leave),
    var("ambient.0.humidity.high", b'{', POLL | PACK, Fmt::Leave),
    var("ambient.0.humidity.low", b'}', POLL | PACK, Fmt::Leave),
    var("ambient.temperature", b't', POLL, Fmt::Leave),
    VarDef {
        check: Some(re_temperature),
        ..var(
            "ambient.0.temperature",
            b'T',
            MULTI | POLL | PACK,
            Fmt::Leave,
        )
    },
    var("ambient.0.temperature.high", b'[', POLL | PACK, Fmt::Leave),
    var("ambient.0.temperature.low", b']', POLL | PACK, Fmt::Leave),
    var("battery.date", b'x', STRING, Fmt::Leave),
    var("battery.charge", b'f', POLL, Fmt::Leave),
    var("battery.charge.restart", b'e', 0, Fmt::Leave),
    var("battery.voltage", b'B', POLL, Fmt::Leave),
    var("battery.voltage.nominal", b'g', 0, Fmt::Leave),
    var("battery.runtime", b'j', POLL, Fmt::Minutes),
    var("battery.runtime.low", b'q', 0, Fmt::Minutes),
    var("battery.packs", b'>', 0, Fmt::Leave),
    var("battery.packs.bad", b'<', 0, Fmt::Leave),
    var("battery.alarm.threshold", b'k', 0, Fmt::Leave),
    VarDef {
        check: Some(re_uptime),
        ..var("device.uptime", b'T', MULTI | POLL, Fmt::Hours)
    },
    var("ups.serial", b'n', 0, Fmt::Leave),
    var("ups.mfr.date", b'm', 0, Fmt::Leave),
    var("ups.model", 0x01, 0, Fmt::Leave),
    var("ups.firmware.aux", b'v', 0, Fmt::Leave),
    VarDef {
        check: Some(re_firmware),
        ..var("ups.firmware", b'b', MULTI, Fmt::Leave)
    },
    var("ups.firmware", b'V', MULTI, Fmt::Leave),
    // NUT's table has 46 entries; this one never matches a command character (0 is
    // not a command) and keeps the table's length a constant for the state array.
    var("", 0, 0, Fmt::Leave),
];

/// Entries of [`VARTAB`] that are real.
const NVARS: usize = VARTAB.len() - 1;

/// How an instant command is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmdKind {
    /// `@nnn` (with `AT:n` argument).
    GraceDown,
    /// `S` (or the CS hack with `CS`).
    SoftDown,
    /// `K`, confirmed.
    Shutdown,
    /// `Z`, confirmed.
    Off,
    /// `^N`, confirmed.
    On,
    CalStart,
    CalStop,
    /// Any other: the character, `OK` expected.
    Plain,
}

struct CmdDef {
    name: &'static str,
    /// The argument must match this (`None`: no argument allowed).
    ext: Option<Check>,
    cmd: u8,
    kind: CmdKind,
    nasty: bool,
    repeat: bool,
}

/// NUT's `apc_cmdtab` (apcsmart_tabs.c), in its order.
const CMDTAB: [CmdDef; 13] = [
    CmdDef {
        name: "shutdown.return",
        ext: Some(re_ext_at),
        cmd: b'@',
        kind: CmdKind::GraceDown,
        nasty: true,
        repeat: false,
    },
    CmdDef {
        name: "shutdown.return",
        ext: Some(re_ext_cs),
        cmd: b'S',
        kind: CmdKind::SoftDown,
        nasty: true,
        repeat: false,
    },
    CmdDef {
        name: "shutdown.stayoff",
        ext: None,
        cmd: b'K',
        kind: CmdKind::Shutdown,
        nasty: true,
        repeat: true,
    },
    CmdDef {
        name: "load.off",
        ext: None,
        cmd: b'Z',
        kind: CmdKind::Off,
        nasty: true,
        repeat: true,
    },
    CmdDef {
        name: "load.on",
        ext: None,
        cmd: 0x0e,
        kind: CmdKind::On,
        nasty: false,
        repeat: true,
    },
    CmdDef {
        name: "calibrate.start",
        ext: None,
        cmd: b'D',
        kind: CmdKind::CalStart,
        nasty: false,
        repeat: false,
    },
    CmdDef {
        name: "calibrate.stop",
        ext: None,
        cmd: b'D',
        kind: CmdKind::CalStop,
        nasty: false,
        repeat: false,
    },
    plain("test.panel.start", b'A'),
    plain("test.failure.start", b'U'),
    plain("test.battery.start", b'W'),
    plain("test.battery.stop", b'W'),
    plain("bypass.start", b'^'),
    plain("bypass.stop", b'^'),
];

const fn plain(name: &'static str, cmd: u8) -> CmdDef {
    CmdDef {
        name,
        ext: None,
        cmd,
        kind: CmdKind::Plain,
        nasty: false,
        repeat: false,
    }
}

/// NUT's `apc_compattab`: firmware (`V` reply) and the command characters of units
/// that do not answer `a`.
const COMPATTAB: [(&[u8], &[u8]); 25] = [
    (
        b"0XI",
        b"@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16",
    ),
    (
        b"0XM",
        b"@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16",
    ),
    (b"0ZI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>"),
    (b"5UI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>"),
    (b"5ZM", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>"),
    (b"6QD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"6QI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"6TD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"6TI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"7QD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"7QI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"7TD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"7TI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"6JI", b"@789ABCFGKLMNOPQSTUVWXYZfg"),
    (b"7II", b"@79ABCEFGKLMNOPQRSUVWXYZcfg"),
    (b"9II", b"@79ABCEFGKLMNOPQRSUVWXYZcfg"),
    (b"9GI", b"@79ABCEFGKLMNOPQRSUVWXYZcfg"),
    (b"8II", b"@79ABCEFGKLMNOPQRSUVWXYZcfg"),
    (b"8GI", b"@79ABCEFGKLMNOPQRSUVWXYZfg"),
    (b"8QD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"8QI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"8TD", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"8TI", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"),
    (b"5.4.D", b"@\x01ABPQRSUYbdfgjmnx9"),
    (b"set\x01", b"@789ABCFGKLMNOPQRSUVWXYZ"),
];

// ---- NUT's regular expressions ------------------------------------------------------

fn digits(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

/// `^[0-9]{2}\.[0-9]{2}$`
fn re_temperature(s: &[u8]) -> bool {
    s.len() == 5 && s[2] == b'.' && digits(&s[..2]) && digits(&s[3..])
}

/// `^[0-9]{3}\.[0-9]{1}$`
fn re_uptime(s: &[u8]) -> bool {
    s.len() == 5 && s[3] == b'.' && digits(&s[..3]) && digits(&s[4..])
}

/// `^[[:alnum:]]+\.[[:alnum:]]+\.[[:alnum:]]+$`
fn re_firmware(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&b| b == b'.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.iter().all(u8::is_ascii_alphanumeric))
}

/// `APC_CMDSET_FMT`: `^[0-9]\.[^.]*\.[^.]+(\.[^.]+)?$`
fn re_cmdset(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&b| b == b'.').collect();
    (parts.len() == 3 || parts.len() == 4)
        && parts[0].len() == 1
        && parts[0][0].is_ascii_digit()
        && parts[2..].iter().all(|p| !p.is_empty())
}

/// `^[a-fA-F0-9]{2}$`
fn re_hex2(s: &[u8]) -> bool {
    s.len() == 2 && s.iter().all(u8::is_ascii_hexdigit)
}

/// `^[Aa][Tt]:[0-9]{1,3}$`
fn re_ext_at(s: &[u8]) -> bool {
    s.len() >= 4 && s.len() <= 6 && s[..3].eq_ignore_ascii_case(b"at:") && digits(&s[3..])
}

/// `^([Cc][Ss]|)$`
fn re_ext_cs(s: &[u8]) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case(b"cs")
}

/// C's `isprint ? "%c" : "0x%02x"` (NUT's `prtchr`).
fn prtchr(c: u8) -> String {
    if (0x20..0x7f).contains(&c) {
        (c as char).to_string()
    } else {
        format!("0x{c:02x}")
    }
}

/// C's `strtol(s, NULL, 16)`, saturating.
fn strtol16(s: &str) -> i64 {
    crate::sock::strtol16(s).0
}

/// NUT's `convert_data`.
fn convert(fmt: Fmt, raw: &str) -> String {
    match fmt {
        Fmt::Leave => raw.to_string(),
        Fmt::Hours => crate::sock::atoi(raw).saturating_mul(3_600).to_string(),
        Fmt::Minutes => crate::sock::atoi(raw).saturating_mul(60).to_string(),
        Fmt::Reason => match raw.as_bytes().first() {
            Some(b'R') => "unacceptable utility voltage rate of change".to_string(),
            Some(b'H') => "high utility voltage".to_string(),
            Some(b'L') => "low utility voltage".to_string(),
            Some(b'T') => "line voltage notch or spike".to_string(),
            Some(b'O') => "no transfers yet since turnon".to_string(),
            Some(b'S') => "simulated power failure or UPS test".to_string(),
            _ => raw.to_string(),
        },
    }
}

// ---- options --------------------------------------------------------------------------

/// apcsmart's own options (NUT's `upsdrv_makevartable`), checked as NUT's
/// `upsdrv_initups` checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApcOptions {
    /// The port, for messages.
    pub port: String,
    /// `ttymode=raw` (NUT: non-canonical terminal; the same bytes here).
    pub ttymode_raw: bool,
    /// `cable=940-0095B`: DTR up, RTS down.
    pub cable_0095b: bool,
    /// `awd`: hard hibernate's additional wake-up delay (0-999, units of 6 minutes).
    pub awd: Option<String>,
    /// `sdtype`: simple shutdown method, 0-5.
    pub sdtype: u8,
    /// `advorder`: shutdown methods to try in order (digits 0-4), or `None`.
    pub advorder: Option<Vec<u8>>,
    /// `cshdelay`, in milliseconds.
    pub cshdelay_ms: u64,
    /// `ignorelb`.
    pub ignorelb: bool,
}

/// `^([0-9]\.?|[0-9]?\.[0-9])$`
fn re_cshdelay(s: &[u8]) -> bool {
    matches!(
        s,
        [d] | [d, b'.'] if d.is_ascii_digit()
    ) || matches!(s, [b'.', d] if d.is_ascii_digit())
        || matches!(s, [a, b'.', d] if a.is_ascii_digit() && d.is_ascii_digit())
}

impl ApcOptions {
    /// Reads the options of a ups.conf section (key, value or `None` for a flag);
    /// errors are NUT's fatal messages.
    pub fn from_options(
        port: &str,
        options: &[(String, Option<String>)],
    ) -> Result<ApcOptions, String> {
        let get = |key: &str| {
            options
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.as_deref())
        };
        let invalid = |v: &str, key: &str| format!("invalid value ({v}) for option '{key}'");
        let mut out = ApcOptions {
            port: port.to_string(),
            cshdelay_ms: CSHDELAY_DEFAULT_MS,
            ignorelb: options.iter().any(|(k, v)| k == "ignorelb" && v.is_none()),
            ..ApcOptions::default()
        };
        if let Some(v) = get("awd") {
            if !(1..=3).contains(&v.len()) || !digits(v.as_bytes()) {
                return Err(invalid(v, "awd"));
            }
            out.awd = Some(v.to_string());
        }
        if let Some(v) = get("sdtype") {
            match v.as_bytes() {
                [d @ b'0'..=b'5'] => out.sdtype = d - b'0',
                _ => return Err(invalid(v, "sdtype")),
            }
        }
        if let Some(v) = get("advorder") {
            let b = v.as_bytes();
            let order = (1..=5).contains(&b.len()) && b.iter().all(|c| (b'0'..=b'4').contains(c));
            if !order && !v.eq_ignore_ascii_case("no") {
                return Err(invalid(v, "advorder"));
            }
            if order {
                out.advorder = Some(b.iter().map(|c| c - b'0').collect());
            }
        }
        if let Some(v) = get("cshdelay") {
            if !re_cshdelay(v.as_bytes()) {
                return Err(invalid(v, "cshdelay"));
            }
            let seconds: f64 = if v.starts_with('.') {
                format!("0{v}").parse().unwrap_or(0.0)
            } else {
                v.trim_end_matches('.').parse().unwrap_or(0.0)
            };
            out.cshdelay_ms = (seconds * 1000.0) as u64;
        }
        if let Some(v) = get("ttymode") {
            out.ttymode_raw = v == "raw";
        }
        if let Some(v) = get("cable") {
            out.cable_0095b = v.eq_ignore_ascii_case("940-0095B");
        }
        Ok(out)
    }
}

// ---- the I/O seam ----------------------------------------------------------------------

/// One step of I/O the driver asks the shell for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Discard unread input and unsent output (`tcflush(TCIOFLUSH)`).
    Flush,
    /// Write these bytes, pausing `pace_ms` after each.
    Write {
        /// Bytes.
        bytes: Vec<u8>,
        /// Pause after each byte, in milliseconds (0: one write).
        pace_ms: u64,
    },
    /// Read up to a line end: `\n`, or `*` too when `star`. `timeout_ms` bounds the wait
    /// for each chunk (NUT's `select_read`).
    Read {
        /// Wait for each chunk, in milliseconds.
        timeout_ms: u64,
        /// `*` also ends the read (a shutdown's acknowledgement).
        star: bool,
    },
    /// Read whatever arrives within `timeout_ms` (0: what is already there), once.
    Drain {
        /// Wait, in milliseconds.
        timeout_ms: u64,
    },
    /// Pause.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// One command as the driver sends most of them, in one step: discard unread input
    /// (with `alerts`: take what is pending instead, without waiting, and return it so
    /// its alert characters count), write `code`, then read as [`Io::Read`] does
    /// (`star` false). Answered with [`IoResult::Answer`].
    Command {
        /// The command character.
        code: u8,
        /// Take pending input instead of discarding it.
        alerts: bool,
        /// Wait for each chunk of the reply, in milliseconds.
        timeout_ms: u64,
    },
}

/// What an [`Io`] step gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoResult {
    /// Done (flush, write, sleep).
    Done,
    /// A read ended at its line end (the bytes include it); a drain's bytes.
    Line(Vec<u8>),
    /// A read's wait ran out; whatever came before.
    Timeout(Vec<u8>),
    /// The port failed.
    Error,
    /// An [`Io::Command`]'s outcome: the pending input taken first (with `alerts`),
    /// and the read's result.
    Answer {
        /// Pending input taken before the command.
        pending: Vec<u8>,
        /// The reply's read.
        read: Box<IoResult>,
    },
}

/// What [`ApcDriver::run`] wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Do this step and call `run` again with its result added.
    Io(Io),
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

// ---- the driver -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct VarState {
    present: bool,
    rw: bool,
    enumerated: bool,
    string: bool,
    /// Fields of a packed variable published.
    cnt: usize,
}

/// apcsmart's state for one UPS.
#[derive(Debug, Clone)]
pub struct ApcDriver {
    options: std::sync::Arc<ApcOptions>,
    vars: [VarState; VARTAB.len()],
    cmds: [bool; CMDTAB.len()],
    ups_status: u32,
    last_full_s: Option<i64>,
    last_worked: u32,
    last_nasty_s: Option<i64>,
    comm_failures: u32,
    lost: bool,
}

struct Suspend(Io);
type Step<T> = Result<T, Suspend>;

struct Ctx<'a> {
    drv: ApcDriver,
    base: &'a DriverState,
    ops: Vec<Op>,
    results: &'a [IoResult],
    used: usize,
    now_s: i64,
    notes: Vec<Note>,
}

/// How `apc_read` reads (NUT's `SER_*` flags).
#[derive(Debug, Clone, Copy, Default)]
struct ReadFlags {
    timeout_ms: u64,
    /// A timeout is not a failure (`SER_TO`).
    timeout_ok: bool,
    /// Handle alert characters (`SER_AA`).
    alerts: bool,
    /// The capability list's ignore set (`SER_CC`).
    caps: bool,
    /// The command list: nothing ignored (`SER_CS`).
    cmdset: bool,
    /// `*` means `OK` (`SER_HA`).
    star: bool,
    /// The buffer holds [`MAX_SHORT_LINE_BYTES`] (`APC_SBUF`).
    short: bool,
    /// Names the command for failure messages.
    what: u8,
}

/// `apc_read`'s result: the line, or 0 (timeout), or -1 (failure).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    Line(String),
    Timeout,
    Failed,
}

impl Read {
    /// NUT's `ret < 1 || !strcmp(buf, "NA")`.
    fn value(&self) -> Option<&str> {
        match self {
            Read::Line(s) if !s.is_empty() && s != "NA" => Some(s),
            _ => None,
        }
    }
    fn text(&self) -> &str {
        match self {
            Read::Line(s) => s,
            _ => "",
        }
    }
    /// `ret < 1`.
    fn empty(&self) -> bool {
        !matches!(self, Read::Line(s) if !s.is_empty())
    }
}

impl ApcDriver {
    /// A driver with these options; nothing is sent until [`Job::Start`].
    pub fn new(options: ApcOptions) -> ApcDriver {
        ApcDriver {
            options: std::sync::Arc::new(options),
            vars: [VarState::default(); VARTAB.len()],
            cmds: [false; CMDTAB.len()],
            ups_status: 0,
            last_full_s: None,
            last_worked: 0,
            last_nasty_s: None,
            comm_failures: 0,
            lost: false,
        }
    }

    /// The options.
    pub fn options(&self) -> &ApcOptions {
        &self.options
    }

    /// Runs `job` given the results of the I/O steps asked for so far (in order).
    pub fn run(
        &mut self,
        state: &mut DriverState,
        job: &Job,
        now: Millis,
        results: &[IoResult],
    ) -> Progress {
        self.run_with(state, now, results, |ctx| match job {
            Job::Start => ctx.start(),
            Job::Update => ctx.updateinfo().map(|()| Outcome::Polled),
            Job::InstCmd { cmd, arg } => ctx.instcmd(cmd, arg.as_deref()).map(Outcome::Tracking),
            Job::Set { var, value } => ctx.setvar(var, value).map(Outcome::Tracking),
            Job::Shutdown => ctx.shutdown(),
        })
    }

    /// NUT's `upsdrv_cleanup`, for a driver that exits (after `-d`, after `-k`, when
    /// stopped, after a failed start): takes the unit out of smart mode (`R`, which it
    /// answers `BYE`). Same protocol as [`ApcDriver::run`].
    pub fn cleanup(
        &mut self,
        state: &mut DriverState,
        now: Millis,
        results: &[IoResult],
    ) -> Progress {
        self.run_with(state, now, results, |ctx| ctx.cleanup())
    }

    fn run_with(
        &mut self,
        state: &mut DriverState,
        now: Millis,
        results: &[IoResult],
        job: impl FnOnce(&mut Ctx) -> Step<Outcome>,
    ) -> Progress {
        let mut ctx = Ctx {
            drv: self.clone(),
            base: state,
            ops: Vec::new(),
            results,
            used: 0,
            now_s: i64::try_from(now / 1000).unwrap_or(i64::MAX),
            notes: Vec::new(),
        };
        match job(&mut ctx) {
            Err(Suspend(io)) => Progress::Io(io),
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

// The variable table and the per-variable state are indexed together.
#[allow(clippy::needless_range_loop)]
impl Ctx<'_> {
    fn io(&mut self, io: Io) -> Step<IoResult> {
        match self.results.get(self.used) {
            Some(r) => {
                self.used += 1;
                Ok(r.clone())
            }
            None => Err(Suspend(io)),
        }
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

    fn datastale(&mut self) {
        if !self.drv.lost {
            self.drv.lost = true;
            self.notes.push(Note::Lost);
        }
        self.ops.push(Op::Stale(true));
    }

    fn dataok(&mut self) {
        if self.drv.lost {
            self.drv.lost = false;
            self.notes.push(Note::Restored);
        }
        self.ops.push(Op::Stale(false));
    }

    // ---- serial primitives (apc_read, apc_write, apc_flush) ------------------------

    fn comm_fail(&mut self, why: String) {
        self.drv.comm_failures = self.drv.comm_failures.saturating_add(1);
        // Once per outage; NUT repeats it for every failure up to SER_ERR_LIMIT.
        if self.drv.comm_failures == 1 {
            self.log(
                Level::Warning,
                format!("Communications with UPS lost: {why}"),
            );
        }
        if self.drv.comm_failures == SER_ERR_LIMIT {
            self.log(
                Level::Warning,
                "Warning: excessive comm failures, limiting error reporting",
            );
        }
    }

    fn comm_good(&mut self) {
        if self.drv.comm_failures > 0 {
            self.log(Level::Warning, "Communications with UPS re-established");
        }
        self.drv.comm_failures = 0;
    }

    fn alert(&mut self, ch: u8) {
        let s = &mut self.drv.ups_status;
        match ch {
            b'!' => *s = (*s & !STAT_OL) | STAT_OB,
            b'$' => *s = (*s & !STAT_OB) | STAT_OL,
            b'%' => *s |= STAT_LB,
            b'+' => *s &= !STAT_LB,
            b'#' => *s |= STAT_RB,
            b'?' => *s |= STAT_OVER,
            b'=' => *s &= !STAT_OVER,
            _ => {}
        }
        self.status_set();
    }

    /// NUT's `ups_status_set`.
    fn status_set(&mut self) {
        let s = self.drv.ups_status;
        let mut words: Vec<&str> = Vec::new();
        for (bit, word) in [
            (STAT_CAL, "CAL"),
            (STAT_TRIM, "TRIM"),
            (STAT_BOOST, "BOOST"),
            (STAT_OL, "OL"),
            (STAT_OB, "OB"),
            (STAT_OVER, "OVER"),
            (STAT_LB, "LB"),
            (STAT_RB, "RB"),
        ] {
            if s & bit != 0 {
                words.push(word);
            }
        }
        if s == 0 {
            words.push("OFF");
        }
        let mut status = words.join(" ");
        if self.drv.options.ignorelb {
            status = crate::status::ignorelb_word(&status, |v| self.get(v));
        }
        self.set("ups.status", &status);
    }

    /// NUT's `apc_read`.
    fn read(&mut self, f: ReadFlags) -> Step<Read> {
        let result = self.io(Io::Read {
            timeout_ms: f.timeout_ms,
            star: f.star,
        })?;
        self.take(result, f)
    }

    /// What `apc_read` makes of the bytes a read gave.
    fn take(&mut self, result: IoResult, f: ReadFlags) -> Step<Read> {
        let (bytes, ended) = match result {
            IoResult::Line(b) => (b, true),
            IoResult::Timeout(b) => (b, false),
            IoResult::Done | IoResult::Error | IoResult::Answer { .. } => {
                self.comm_fail(format!("serial port read error ({})", prtchr(f.what)));
                return Ok(Read::Failed);
            }
        };
        let (ignore, alerts): (&[u8], &[u8]) = if f.cmdset {
            (b"\r", b"")
        } else if f.caps {
            (IGN_CCCHARS, b"")
        } else if f.alerts {
            (IGN_AACHARS, ALERT_CHARS)
        } else {
            (b"\r|&$!%+#?=", b"")
        };
        let limit = if f.short {
            MAX_SHORT_LINE_BYTES
        } else {
            MAX_LINE_BYTES
        };
        let mut line = Vec::new();
        for &b in &bytes {
            if line.len() == limit {
                self.comm_fail(format!("serial port read overflow ({})", prtchr(f.what)));
                self.io(Io::Flush)?;
                return Ok(Read::Failed);
            }
            if b == b'\n' {
                self.comm_good();
                return Ok(Read::Line(String::from_utf8_lossy(&line).into_owned()));
            }
            if f.star && b == b'*' {
                // NUT drains what may follow for a second, then takes it as OK.
                if self.io(Io::Drain {
                    timeout_ms: WAIT_AFTER_STAR_MS,
                })? == IoResult::Error
                {
                    self.comm_fail(format!("serial port read error ({})", prtchr(f.what)));
                    return Ok(Read::Failed);
                }
                self.comm_good();
                return Ok(Read::Line("OK".to_string()));
            }
            // NUT's `strchr(iset, c)` finds a NUL too (the set's terminator): NULs
            // are skipped like the ignored characters.
            if ignore.contains(&b) || b == b'*' || b == 0 {
                continue;
            }
            if alerts.contains(&b) {
                self.alert(b);
                continue;
            }
            line.push(b);
        }
        if ended {
            // The line end was a `*` the read did not take as OK: NUT reads on.
            return self.read(f);
        }
        if !line.is_empty() {
            self.comm_fail(format!("serial port partial timeout ({})", prtchr(f.what)));
            return Ok(Read::Failed);
        }
        if !f.timeout_ok {
            self.comm_fail(format!("serial port read timeout ({})", prtchr(f.what)));
        }
        Ok(Read::Timeout)
    }

    fn flags(&self, what: u8) -> ReadFlags {
        ReadFlags {
            timeout_ms: WAIT_DEFAULT_MS,
            what,
            ..ReadFlags::default()
        }
    }

    /// `apc_write`: true when the byte went out.
    fn write(&mut self, code: u8) -> Step<bool> {
        self.write_bytes(vec![code], 0)
    }

    fn write_bytes(&mut self, bytes: Vec<u8>, pace_ms: u64) -> Step<bool> {
        let what = bytes.first().copied().unwrap_or(0);
        match self.io(Io::Write { bytes, pace_ms })? {
            IoResult::Error => {
                self.comm_fail(format!("serial port write error ({})", prtchr(what)));
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// `apc_write_long`: the first byte, a peek for an unexpected answer (an `NA` to
    /// `@` on a sleeping UPS: the rest would be taken as commands), then the rest paced.
    fn write_long(&mut self, code: &[u8]) -> Step<bool> {
        let Some((&first, rest)) = code.split_first() else {
            return Ok(false);
        };
        if !self.write(first)? {
            return Ok(false);
        }
        let peek = self.read(ReadFlags {
            timeout_ms: WAIT_PEEK_MS,
            timeout_ok: true,
            ..self.flags(first)
        })?;
        if !matches!(&peek, Read::Timeout) && !matches!(&peek, Read::Line(s) if s.is_empty()) {
            return Ok(false);
        }
        if rest.is_empty() {
            return Ok(true);
        }
        self.write_bytes(rest.to_vec(), PACE_MS)
    }

    /// `apc_write_rep`: the byte, a peek, 1.3 s, the byte again.
    fn write_rep(&mut self, code: u8) -> Step<bool> {
        if !self.write(code)? {
            return Ok(false);
        }
        let peek = self.read(ReadFlags {
            timeout_ms: WAIT_PEEK_MS,
            timeout_ok: true,
            ..self.flags(code)
        })?;
        if !matches!(&peek, Read::Timeout) && !matches!(&peek, Read::Line(s) if s.is_empty()) {
            return Ok(false);
        }
        self.io(Io::Sleep {
            ms: REPEAT_PAUSE_MS,
        })?;
        self.write(code)
    }

    /// `apc_flush(0)`: discard input.
    fn flush(&mut self) -> Step<()> {
        self.io(Io::Flush)?;
        Ok(())
    }

    /// `apc_flush(SER_AA)`: read what is pending, acting on alerts in it.
    fn flush_alerts(&mut self) -> Step<()> {
        if let IoResult::Line(bytes) = self.io(Io::Drain { timeout_ms: 0 })? {
            for b in bytes {
                if ALERT_CHARS.contains(&b) {
                    self.alert(b);
                }
            }
        }
        Ok(())
    }

    /// One command, its reply with `flags` (the common `flush, write, read`).
    /// `apc_flush`, `apc_write`, `apc_read` in one step ([`Io::Command`]).
    fn query(&mut self, code: u8, alerts: bool, timeout_ok: bool) -> Step<Read> {
        let f = ReadFlags {
            alerts,
            timeout_ok,
            ..self.flags(code)
        };
        let result = self.io(Io::Command {
            code,
            alerts,
            timeout_ms: f.timeout_ms,
        })?;
        match result {
            IoResult::Answer { pending, read } => {
                if alerts {
                    for b in pending {
                        if ALERT_CHARS.contains(&b) {
                            self.alert(b);
                        }
                    }
                }
                self.take(*read, f)
            }
            IoResult::Done | IoResult::Error => {
                self.comm_fail(format!("serial port write error ({})", prtchr(code)));
                Ok(Read::Failed)
            }
            other => self.take(other, f),
        }
    }

    // ---- variables --------------------------------------------------------------------

    fn vt_lookup_char(&self, c: u8) -> Option<usize> {
        (0..NVARS).find(|&i| self.drv.vars[i].present && VARTAB[i].cmd == c)
    }

    fn vt_lookup_name(&self, name: &str) -> Option<usize> {
        (0..NVARS).find(|&i| self.drv.vars[i].present && VARTAB[i].name.eq_ignore_ascii_case(name))
    }

    fn packed_name(name: &str, index: usize) -> String {
        name.replacen(".0.", &format!(".{}.", index + 1), 1)
    }

    /// `apc_dstate_setinfo`.
    fn setinfo(&mut self, i: usize, raw: &str) {
        let def = &VARTAB[i];
        if def.flags & PACK == 0 {
            self.set(def.name, &convert(def.fmt, raw));
            return;
        }
        let mut fields: Vec<&str> = raw.splitn(APC_PACK_MAX + 1, ',').collect();
        if fields.len() > APC_PACK_MAX {
            fields.truncate(APC_PACK_MAX);
            self.log(
                Level::Warning,
                format!(
                    "packed variable {} [{}] longer than {APC_PACK_MAX} fields,\nignoring remaining fields",
                    def.name,
                    prtchr(def.cmd)
                ),
            );
        }
        if self.drv.vars[i].cnt > fields.len() {
            self.delinfo(i, fields.len());
        }
        self.drv.vars[i].cnt = fields.len();
        for (n, field) in fields.iter().enumerate().rev() {
            let name = Self::packed_name(def.name, n);
            if field.is_empty() {
                self.set(&name, "N/A");
            } else {
                self.set(&name, &convert(def.fmt, field));
            }
        }
    }

    /// `apc_dstate_delinfo`.
    fn delinfo(&mut self, i: usize, skip: usize) {
        let def = &VARTAB[i];
        if def.flags & PACK == 0 {
            self.delete(def.name);
            return;
        }
        for n in skip..self.drv.vars[i].cnt {
            let name = Self::packed_name(def.name, n);
            self.delete(&name);
        }
        self.drv.vars[i].cnt = 0;
    }

    /// `preread_data`.
    fn preread(&mut self, i: usize) -> Step<Option<String>> {
        let cmd = VARTAB[i].cmd;
        let r = self.query(cmd, false, true)?;
        if let Some(v) = r.value() {
            return Ok(Some(v.to_string()));
        }
        if r != Read::Failed {
            self.log(
                Level::Err,
                format!(
                    "preread_data: {} [{}] timed out or not supported",
                    VARTAB[i].name,
                    prtchr(cmd)
                ),
            );
        }
        Ok(None)
    }

    /// `poll_data`: false aborts the scan.
    fn poll_data(&mut self, i: usize) -> Step<bool> {
        if !self.drv.vars[i].present {
            return Ok(true);
        }
        let cmd = VARTAB[i].cmd;
        let r = self.query(cmd, true, false)?;
        if r.empty() {
            return Ok(false);
        }
        if r.text() == "NA" {
            self.log(
                Level::Warning,
                format!(
                    "poll_data: verified variable {} [{}] returned NA, removing",
                    VARTAB[i].name,
                    prtchr(cmd)
                ),
            );
            self.drv.vars[i].present = false;
            self.delinfo(i, 0);
        } else {
            let text = r.text().to_string();
            self.setinfo(i, &text);
        }
        Ok(true)
    }

    fn warn_cv(&mut self, cmd: u8, tag: Option<(&str, &str)>) {
        let text = match tag {
            Some((tag, name)) => format!("{name} [{}] - {tag} invalid", prtchr(cmd)),
            None => format!("[{}] unrecognized", prtchr(cmd)),
        };
        self.log(Level::Warning, text);
    }

    /// `var_string_setup`.
    fn string_setup(&mut self, i: usize) {
        if VARTAB[i].flags & STRING != 0 {
            let name = VARTAB[i].name.to_string();
            self.ops.push(Op::Apply(DriverLine::SetFlags {
                var: name.clone(),
                flags: vec!["RW".to_string(), "STRING".to_string()],
            }));
            self.ops.push(Op::Apply(DriverLine::SetAux {
                var: name,
                aux: APC_STRLEN as i64,
            }));
            self.drv.vars[i].rw = true;
            self.drv.vars[i].string = true;
        }
    }

    /// `var_verify`.
    fn var_verify(&mut self, i: usize) -> Step<()> {
        if VARTAB[i].flags & MULTI != 0 {
            self.drv.vars[i].present = true;
            return Ok(());
        }
        let value = self.preread(i)?;
        let ok = value
            .as_deref()
            .is_some_and(|v| VARTAB[i].check.is_none_or(|c| c(v.as_bytes())));
        let Some(value) = value.filter(|_| ok) else {
            self.warn_cv(VARTAB[i].cmd, Some(("variable", VARTAB[i].name)));
            return Ok(());
        };
        self.drv.vars[i].present = true;
        self.setinfo(i, &value);
        self.string_setup(i);
        Ok(())
    }

    /// `deprecate_vars`: of the variables several commands give, keep the first that
    /// answers in its expected shape.
    fn deprecate_vars(&mut self) -> Step<()> {
        for i in 0..NVARS {
            if VARTAB[i].flags & MULTI == 0 || !self.drv.vars[i].present {
                continue;
            }
            let value = self.preread(i)?;
            let ok = value
                .as_deref()
                .is_some_and(|v| VARTAB[i].check.is_none_or(|c| c(v.as_bytes())));
            let Some(value) = value.filter(|_| ok) else {
                self.drv.vars[i].present = false;
                self.warn_cv(
                    VARTAB[i].cmd,
                    Some(("variable combination", VARTAB[i].name)),
                );
                continue;
            };
            for j in i + 1..NVARS {
                if VARTAB[j].name == VARTAB[i].name || VARTAB[j].cmd == VARTAB[i].cmd {
                    self.drv.vars[j].present = false;
                }
            }
            self.setinfo(i, &value);
            self.string_setup(i);
        }
        Ok(())
    }

    /// `protocol_verify`.
    fn protocol_verify(&mut self, cmd: u8) -> Step<()> {
        if APC_UNR_CMDS.contains(&cmd) {
            return Ok(());
        }
        let vars: Vec<usize> = (0..NVARS).filter(|&i| VARTAB[i].cmd == cmd).collect();
        if !vars.is_empty() {
            for i in vars {
                self.var_verify(i)?;
            }
            return Ok(());
        }
        let mut found = false;
        for (n, def) in CMDTAB.iter().enumerate() {
            if def.cmd != cmd {
                continue;
            }
            self.drv.cmds[n] = true;
            self.ops.push(Op::AddCmd(def.name.to_string()));
            found = true;
        }
        if !found {
            self.warn_cv(cmd, None);
        }
        Ok(())
    }

    fn legacy_verify(&mut self, name: &str) -> Step<()> {
        for i in 0..NVARS {
            if VARTAB[i].name == name {
                self.var_verify(i)?;
            }
        }
        Ok(())
    }

    /// `oldapcsetup`: a unit that lists nothing.
    fn oldapcsetup(&mut self) -> Step<()> {
        for name in [
            "ups.temperature",
            "ups.load",
            "input.voltage",
            "output.voltage",
            "battery.charge",
            "battery.voltage",
            "ups.model",
            "ups.serial",
            "ups.firmware",
            "output.current",
        ] {
            self.legacy_verify(name)?;
        }
        self.deprecate_vars()?;
        if self.vt_lookup_name("output.current").is_some() {
            self.set("ups.model", "Matrix-UPS");
        } else if self.vt_lookup_name("ups.model").is_none() {
            self.set("ups.model", "Smart-UPS");
        }
        Ok(())
    }

    /// `firmware_table_lookup`: 1 matched, 2 quirky firmware, 0 neither.
    fn firmware_table_lookup(&mut self) -> Step<u8> {
        self.flush()?;
        if !self.write(APC_FW_OLD)? {
            return Ok(0);
        }
        let mut r = self.read(ReadFlags {
            timeout_ok: true,
            ..self.flags(APC_FW_OLD)
        })?;
        if r == Read::Failed {
            return Ok(0);
        }
        if r.value().is_none() {
            if !self.write(APC_FW_NEW)? {
                return Ok(0);
            }
            r = self.read(ReadFlags {
                timeout_ok: true,
                ..self.flags(APC_FW_NEW)
            })?;
            if r.empty() {
                return Ok(0);
            }
        }
        let mut buf = r.text().as_bytes().to_vec();
        if buf == b"451.2.I" {
            return Ok(2);
        }
        if re_hex2(&buf) {
            buf = b"set\x01".to_vec();
        }
        let Some((firmware, chars)) = COMPATTAB.iter().find(|(f, _)| *f == buf.as_slice()) else {
            return Ok(0);
        };
        // NUT's `strspn(firmware, "05")`: a leading 0 or 5 means a Matrix-UPS.
        let model = if matches!(firmware.first(), Some(b'0' | b'5')) {
            "Matrix-UPS"
        } else {
            "Smart-UPS"
        };
        self.set("ups.model", model);
        for &c in *chars {
            self.protocol_verify(c)?;
        }
        self.deprecate_vars()?;
        Ok(1)
    }

    /// `getbaseinfo`.
    fn getbaseinfo(&mut self) -> Step<bool> {
        let qco = self.firmware_table_lookup()?;
        if qco == 1 {
            return Ok(true);
        }
        self.flush()?;
        if !self.write(APC_CMDSET)? {
            return Ok(false);
        }
        let r = self.read(ReadFlags {
            timeout_ms: WAIT_LISTS_MS,
            timeout_ok: true,
            cmdset: true,
            ..self.flags(APC_CMDSET)
        })?;
        if r == Read::Failed {
            return Ok(false);
        }
        let text = r.text().as_bytes().to_vec();
        if r.value().is_none() || !re_cmdset(&text) {
            self.log(
                Level::Notice,
                "very old or unknown APC model, support will be limited",
            );
            self.oldapcsetup()?;
            return Ok(true);
        }
        // ver.alerts.commands[.stuff]
        let cmds: Vec<u8> = text.split(|&b| b == b'.').nth(2).unwrap_or(&[]).to_vec();
        for &c in &cmds {
            self.protocol_verify(c)?;
        }
        self.deprecate_vars()?;
        if cmds.contains(&APC_CAPS) {
            self.getcaps(qco == 2)?;
        }
        Ok(true)
    }

    /// `apc_getcaps`: the values each setting can take.
    fn getcaps(&mut self, quirk: bool) -> Step<()> {
        let upsloc = self
            .get("ups.firmware")
            .and_then(|f| f.as_bytes().last().copied())
            .unwrap_or(0);
        self.flush()?;
        if !self.write(APC_CAPS)? {
            return Ok(());
        }
        let r = self.read(ReadFlags {
            timeout_ms: WAIT_LISTS_MS,
            timeout_ok: true,
            caps: true,
            ..self.flags(APC_CAPS)
        })?;
        if r.value().is_none() {
            if r != Read::Failed {
                self.log(
                    Level::Warning,
                    "APC cannot do capabilities but said it could !",
                );
            }
            return Ok(());
        }
        let temp = r.text().as_bytes().to_vec();
        if temp.first() != Some(&b'#') {
            self.log(
                Level::Warning,
                format!("unknown capability start char [{}] !", temp[0] as char),
            );
            return Ok(());
        }
        let matrix = temp.get(1) == Some(&b'#');
        let at = |p: usize| temp.get(p).copied().unwrap_or(0);
        let mut ptr = if matrix { 0 } else { 1 };
        while at(ptr) != 0 {
            if matrix {
                ptr += 2;
            }
            if ptr >= temp.len() {
                if !quirk {
                    self.log(
                        Level::Warning,
                        "capability string has overflowed, ignoring the rest",
                    );
                }
                return Ok(());
            }
            let (cmd, loc) = (at(ptr), at(ptr + 1));
            // NUT compares signed chars: bytes from 0x80 are out of range too.
            if !(b'0'..0x80).contains(&at(ptr + 2)) || !(b'0'..0x80).contains(&at(ptr + 3)) {
                self.log(
                    Level::Warning,
                    "nument or entlen out of range in the capability string, ignoring the rest",
                );
                return Ok(());
            }
            let nument = usize::from(at(ptr + 2) - b'0');
            let entlen = usize::from(at(ptr + 3) - b'0');
            let mut entptr = ptr + 4;
            let vt = self.vt_lookup_char(cmd);
            let valid =
                vt.filter(|&i| (loc == upsloc || loc == b'4') && VARTAB[i].flags & PACK == 0);
            if let Some(i) = valid {
                self.ops.push(Op::Apply(DriverLine::SetFlags {
                    var: VARTAB[i].name.to_string(),
                    flags: vec!["RW".to_string()],
                }));
                self.drv.vars[i].rw = true;
                self.drv.vars[i].enumerated = true;
            } else if let Some(i) = vt.filter(|&i| VARTAB[i].flags & PACK != 0) {
                self.log(
                    Level::Warning,
                    format!(
                        "WARN: packed APC variable {} [{}] reported as enumerable,\nplease report it on the mailing list",
                        VARTAB[i].name,
                        prtchr(cmd)
                    ),
                );
            }
            for _ in 0..nument {
                if let Some(i) = valid {
                    // snprintf(etmp, entlen + 1, "%s", entptr): up to entlen bytes,
                    // stopping at the end of the string.
                    let end = entptr.saturating_add(entlen).min(temp.len());
                    let raw = temp.get(entptr..end).unwrap_or(&[]);
                    let value = convert(VARTAB[i].fmt, &String::from_utf8_lossy(raw));
                    self.ops.push(Op::Apply(DriverLine::AddEnum {
                        var: VARTAB[i].name.to_string(),
                        value,
                    }));
                }
                entptr = entptr.saturating_add(entlen);
            }
            ptr = entptr;
        }
        Ok(())
    }

    /// `smartmode(cnt)`.
    fn smartmode(&mut self, tries: u32) -> Step<bool> {
        for _ in 0..tries {
            self.flush()?;
            if !self.write(APC_GOSMART)? {
                return Ok(false);
            }
            let r = self.read(ReadFlags {
                timeout_ms: WAIT_SHORT_MS,
                timeout_ok: true,
                ..self.flags(APC_GOSMART)
            })?;
            if r.text() == "SM" {
                return Ok(true);
            }
            if r == Read::Failed {
                self.io(Io::Sleep {
                    ms: SMARTMODE_RETRY_MS,
                })?;
            }
            if !self.write(ESC)? {
                return Ok(false);
            }
            self.read(ReadFlags {
                timeout_ms: WAIT_SHORT_MS,
                timeout_ok: true,
                ..self.flags(ESC)
            })?;
        }
        Ok(false)
    }

    // ---- start-up and polling -------------------------------------------------------

    fn start(&mut self) -> Step<Outcome> {
        self.set("device.type", "ups");
        self.set("driver.version", crate::dummy::DRIVER_VERSION);
        self.set("driver.version.internal", DRIVER_VERSION_INTERNAL);
        self.set("driver.name", "apcsmart");
        let port = self.drv.options.port.clone();
        if !self.smartmode(5)? {
            return Ok(Outcome::Fatal(format!(
                "unable to detect an APC Smart protocol UPS on port {port}\ncheck the cabling, port name or model name and try again"
            )));
        }
        if !self.getbaseinfo()? {
            return Ok(Outcome::Fatal(format!(
                "Problems with communicating APC UPS on port {port}\n"
            )));
        }
        self.set("ups.mfr", "APC");
        self.dataok();
        self.updateinfo()?;
        if self.drv.options.ignorelb {
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
        // main.c: "remap the device.* info from ups.*".
        for (from, to) in [
            ("ups.mfr", "device.mfr"),
            ("ups.model", "device.model"),
            ("ups.serial", "device.serial"),
        ] {
            if let Some(v) = self.get(from) {
                self.set(to, &v);
            }
        }
        Ok(Outcome::Started)
    }

    /// `upsdrv_cleanup`.
    fn cleanup(&mut self) -> Step<Outcome> {
        self.flush()?;
        if self.write(APC_GODUMB)? {
            self.read(ReadFlags {
                timeout_ok: true,
                ..self.flags(APC_GODUMB)
            })?;
        }
        Ok(Outcome::Polled)
    }

    /// `update_status`.
    fn update_status(&mut self) -> Step<bool> {
        let r = self.query(APC_STATUS, true, false)?;
        let Some(v) = r.value().map(str::to_string) else {
            if r != Read::Failed {
                self.log(Level::Warning, "update_status: failed");
            }
            return Ok(false);
        };
        self.drv.ups_status = (strtol16(&v) & 0xff) as u32;
        self.status_set();
        Ok(true)
    }

    /// `upsdrv_updateinfo`.
    fn updateinfo(&mut self) -> Step<()> {
        if self.is_stale() {
            self.drv.last_full_s = None;
            self.drv.last_worked += 1;
            if self.drv.last_worked < NUDGE_AFTER_POLLS {
                return Ok(());
            }
            if !self.smartmode(1)? {
                return Ok(());
            }
            self.drv.last_worked = 0;
        }
        if !self.update_status()? {
            self.datastale();
            return Ok(());
        }
        let all = self
            .drv
            .last_full_s
            .is_none_or(|t| self.now_s.saturating_sub(t) > FULL_UPDATE_S);
        if all {
            self.drv.last_full_s = Some(self.now_s);
        }
        for i in 0..NVARS {
            if !all && VARTAB[i].flags & POLL == 0 {
                continue;
            }
            if !self.poll_data(i)? {
                self.datastale();
                return Ok(());
            }
        }
        self.dataok();
        Ok(())
    }

    // ---- instant commands and settings ----------------------------------------------

    /// `sdok`: the UPS acknowledged a shutdown command (`OK` or `*`).
    fn sdok(&mut self, silence_ok: bool, what: u8) -> Step<bool> {
        let r = self.read(ReadFlags {
            timeout_ms: WAIT_SHORT_MS,
            timeout_ok: true,
            star: true,
            short: true,
            ..self.flags(what)
        })?;
        Ok(match r {
            Read::Failed => false,
            Read::Timeout => silence_ok,
            Read::Line(s) => s == "OK" || (s.is_empty() && silence_ok),
        })
    }

    fn sdcmd_s(&mut self) -> Step<bool> {
        self.flush()?;
        if !self.write(b'S')? {
            return Ok(false);
        }
        self.sdok(false, b'S')
    }

    fn sdcmd_cs(&mut self) -> Step<bool> {
        if self.drv.ups_status & STAT_OL != 0 {
            self.flush()?;
            if !self.write(b'U')? {
                return Ok(false);
            }
            let r = self.read(ReadFlags {
                timeout_ms: WAIT_SHORT_MS,
                timeout_ok: true,
                short: true,
                ..self.flags(b'U')
            })?;
            if r == Read::Failed {
                return Ok(false);
            }
            let ms = self.drv.options.cshdelay_ms;
            self.io(Io::Sleep { ms })?;
        }
        self.sdcmd_s()
    }

    fn sdcmd_at(&mut self, awd: Option<&str>) -> Step<bool> {
        let awd = awd.unwrap_or("000");
        let padto: usize = if awd.len() == 2 { 2 } else { 3 };
        let mut code = vec![b'@'];
        code.extend(std::iter::repeat_n(b'0', padto.saturating_sub(awd.len())));
        code.extend_from_slice(awd.as_bytes());
        self.flush()?;
        if !self.write_long(&code)? {
            self.log(
                Level::Err,
                format!("issuing [@] with {padto} digits failed"),
            );
            return Ok(false);
        }
        let ok = self.sdok(false, b'@')?;
        if ok || padto == 3 {
            return Ok(ok);
        }
        self.log(
            Level::Err,
            "command [@] with 2 digits doesn't work - try 3 digits",
        );
        self.write(APC_GOSMART)?;
        self.read(ReadFlags {
            timeout_ms: WAIT_SHORT_MS,
            timeout_ok: true,
            short: true,
            ..self.flags(APC_GOSMART)
        })?;
        Ok(false)
    }

    fn sdcmd_k(&mut self) -> Step<bool> {
        self.flush()?;
        if !self.write_rep(b'K')? {
            return Ok(false);
        }
        self.sdok(false, b'K')
    }

    fn sdcmd_z(&mut self) -> Step<bool> {
        self.flush()?;
        if !self.write_rep(b'Z')? {
            return Ok(false);
        }
        // The UPS says nothing after Z.
        self.sdok(true, b'Z')
    }

    /// Shutdown method `n` of `advorder` (NUT's `sdlist`).
    fn sdmethod(&mut self, n: u8) -> Step<bool> {
        let awd = self.drv.options.awd.clone();
        match n {
            0 => self.sdcmd_s(),
            1 => self.sdcmd_at(awd.as_deref()),
            2 => self.sdcmd_k(),
            3 => self.sdcmd_z(),
            _ => self.sdcmd_cs(),
        }
    }

    /// `-k`: NUT's `upsdrv_shutdown`.
    fn shutdown(&mut self) -> Step<Outcome> {
        self.log(Level::Notice, "Initiating UPS shutdown");
        if !self.smartmode(1)? {
            self.log(
                Level::Warning,
                "upsdrv_shutdown: setting SmartMode failed !",
            );
        }
        let status = if self.write(APC_STATUS)? {
            let r = self.read(ReadFlags {
                timeout_ms: WAIT_SHORT_MS,
                ..self.flags(APC_STATUS)
            })?;
            // NUT takes the status only when it is one character long (never, in
            // practice); any status is taken here (see the module's notes).
            match r.value() {
                Some(v) => Some(strtol16(v) as u32),
                None => {
                    self.log(
                        Level::Warning,
                        "upsdrv_shutdown: status read failed, assuming LB+OB",
                    );
                    None
                }
            }
        } else {
            self.log(
                Level::Warning,
                "upsdrv_shutdown: status write failed, assuming LB+OB",
            );
            None
        };
        self.drv.ups_status = status.unwrap_or(STAT_LB | STAT_OB);
        let ok = if let Some(order) = self.drv.options.advorder.clone() {
            let mut ok = false;
            for n in order {
                if self.sdmethod(n)? {
                    ok = true;
                    break;
                }
            }
            ok
        } else {
            let awd = self.drv.options.awd.clone();
            let online = self.drv.ups_status & STAT_OL != 0;
            match self.drv.options.sdtype {
                5 => self.sdcmd_at(awd.as_deref())?,
                4 => self.sdcmd_cs()?,
                3 => self.sdcmd_k()?,
                2 => self.sdcmd_z()?,
                1 => {
                    (self.drv.ups_status & STAT_OB != 0 && self.sdcmd_s()?)
                        || self.sdcmd_at(awd.as_deref())?
                }
                _ if online => self.sdcmd_at(awd.as_deref())?,
                _ => self.sdcmd_s()?,
            }
        };
        Ok(if ok {
            Outcome::ShutdownSent("UPS accepted the shutdown command".to_string())
        } else {
            Outcome::Fatal("Shutdown failed!".to_string())
        })
    }

    /// `do_cal`.
    fn do_cal(&mut self, start: bool) -> Step<i64> {
        let r = self.query(APC_STATUS, true, false)?;
        let Some(v) = r.value().map(str::to_string) else {
            self.log(Level::Warning, "runtime calibration state undeterminable");
            return Ok(tracking::SUCCESS);
        };
        let running = strtol16(&v) as u32 & STAT_CAL != 0;
        match (running, start) {
            (true, true) => {
                self.log(Level::Notice, "runtime calibration already in progress");
                return Ok(tracking::SUCCESS);
            }
            (false, false) => {
                self.log(Level::Notice, "runtime calibration not occurring");
                return Ok(tracking::SUCCESS);
            }
            (true, false) => self.log(Level::Notice, "stopping runtime calibration"),
            (false, true) => self.log(Level::Notice, "starting runtime calibration"),
        }
        if !self.write(b'D')? {
            return Ok(tracking::SUCCESS);
        }
        let r = self.read(ReadFlags {
            alerts: true,
            ..self.flags(b'D')
        })?;
        if r.value().is_none() || r.text() == "NO" {
            let what = if start { "start" } else { "stop" };
            self.log(
                Level::Warning,
                format!("{what} calibration failed, cmd returned: {}", r.text()),
            );
        }
        Ok(tracking::SUCCESS)
    }

    fn handled(ok: bool) -> i64 {
        if ok {
            tracking::SUCCESS
        } else {
            tracking::FAILED
        }
    }

    /// `instcmd`.
    fn instcmd(&mut self, cmd: &str, ext: Option<&str>) -> Step<i64> {
        let found = CMDTAB.iter().position(|def| {
            def.name.eq_ignore_ascii_case(cmd)
                && match def.ext {
                    Some(check) => check(ext.unwrap_or("").as_bytes()),
                    None => ext.is_none(),
                }
        });
        let shown = ext.map(|e| format!(" {e}")).unwrap_or_default();
        let Some(n) = found else {
            self.log(
                Level::Warning,
                format!("instcmd: unknown command [{cmd}{shown}]"),
            );
            return Ok(tracking::INVALID);
        };
        if !self.drv.cmds[n] {
            self.log(
                Level::Warning,
                format!(
                    "instcmd: command [{cmd}{shown}] recognized, but not supported by your UPS model"
                ),
            );
            return Ok(tracking::INVALID);
        }
        let def = &CMDTAB[n];
        if def.nasty {
            let elapsed = self.drv.last_nasty_s.map(|t| self.now_s.saturating_sub(t));
            self.drv.last_nasty_s = Some(self.now_s);
            let inside =
                elapsed.is_some_and(|e| (NASTY_WINDOW_S.0..=NASTY_WINDOW_S.1).contains(&e));
            if !inside {
                // NUT: the command must be sent twice, 3 to 15 seconds apart.
                return Ok(tracking::SUCCESS);
            }
        }
        self.notes.push(Note::Command {
            cmd: def.name.to_string(),
            arg: ext.map(str::to_string),
        });
        Ok(match def.kind {
            CmdKind::CalStart => self.do_cal(true)?,
            CmdKind::CalStop => self.do_cal(false)?,
            CmdKind::On => {
                self.flush()?;
                Self::handled(self.write_rep(0x0e)?)
            }
            CmdKind::Off => Self::handled(self.sdcmd_z()?),
            CmdKind::Shutdown => Self::handled(self.sdcmd_k()?),
            CmdKind::SoftDown | CmdKind::GraceDown => {
                let ext = ext.unwrap_or("");
                match ext.as_bytes().first().map(u8::to_ascii_uppercase) {
                    None => Self::handled(self.sdcmd_s()?),
                    Some(b'A') => Self::handled(self.sdcmd_at(ext.get(3..))?),
                    Some(b'C') => Self::handled(self.sdcmd_cs()?),
                    Some(_) => self.do_cmd(n)?,
                }
            }
            CmdKind::Plain => self.do_cmd(n)?,
        })
    }

    /// `do_cmd`: the character (twice when confirmed), `OK` expected.
    fn do_cmd(&mut self, n: usize) -> Step<i64> {
        let def = &CMDTAB[n];
        self.flush_alerts()?;
        let sent = if def.repeat {
            self.write_rep(def.cmd)?
        } else {
            self.write(def.cmd)?
        };
        if !sent {
            return Ok(tracking::FAILED);
        }
        let r = self.read(ReadFlags {
            alerts: true,
            ..self.flags(def.cmd)
        })?;
        if r.empty() {
            return Ok(tracking::FAILED);
        }
        if r.text() != "OK" {
            self.log(
                Level::Warning,
                format!("do_cmd: got [{}] after command [{}]", r.text(), def.name),
            );
            return Ok(tracking::FAILED);
        }
        self.log(Level::Info, format!("do_cmd: {} completed", def.name));
        Ok(tracking::SUCCESS)
    }

    /// `setvar`.
    fn setvar(&mut self, var: &str, value: &str) -> Step<i64> {
        let Some(i) = self.vt_lookup_name(var) else {
            return Ok(tracking::UNKNOWN);
        };
        if !self.drv.vars[i].rw {
            self.log(Level::Warning, format!("setvar: [{var}] is not writable"));
            return Ok(tracking::UNKNOWN);
        }
        if self.drv.vars[i].enumerated {
            return self.setvar_enum(i, value);
        }
        if self.drv.vars[i].string {
            return self.setvar_string(i, value);
        }
        self.log(Level::Warning, format!("setvar: unknown type for [{var}]"));
        Ok(tracking::UNKNOWN)
    }

    fn setvar_enum(&mut self, i: usize, val: &str) -> Step<i64> {
        let def = &VARTAB[i];
        let r = self.query(def.cmd, true, false)?;
        let Some(orig) = r.value().map(str::to_string) else {
            return Ok(tracking::FAILED);
        };
        if convert(def.fmt, &orig) == val {
            self.log(
                Level::Info,
                format!(
                    "setvar_enum: ignoring SET {}='{val}' (unchanged value)",
                    def.name
                ),
            );
            return Ok(tracking::SUCCESS);
        }
        let aa = |s: &Self, what| ReadFlags {
            alerts: true,
            ..s.flags(what)
        };
        for _ in 0..MAX_CYCLES {
            if !self.write(APC_NEXTVAL)? {
                return Ok(tracking::FAILED);
            }
            let r = self.read(aa(self, APC_NEXTVAL))?;
            if r.value() != Some("OK") {
                return Ok(tracking::FAILED);
            }
            if !self.write(def.cmd)? {
                return Ok(tracking::FAILED);
            }
            let r = self.read(aa(self, def.cmd))?;
            let Some(now) = r.value().map(str::to_string) else {
                return Ok(tracking::FAILED);
            };
            // NUT compares the converted value with the raw original for wrap-around.
            let got = convert(def.fmt, &now);
            if got == val {
                self.log(
                    Level::Info,
                    format!("setvar_enum: SET {}='{val}'", def.name),
                );
                self.poll_data(i)?;
                return Ok(tracking::SUCCESS);
            }
            if got == orig {
                self.log(
                    Level::Err,
                    format!("setvar_enum: variable {} wrapped", def.name),
                );
                return Ok(tracking::FAILED);
            }
        }
        self.log(
            Level::Err,
            format!("setvar_enum: gave up after 6 tries for {}", def.name),
        );
        self.poll_data(i)?;
        Ok(tracking::FAILED)
    }

    fn setvar_string(&mut self, i: usize, val: &str) -> Step<i64> {
        let def = &VARTAB[i];
        if val.len() > APC_STRLEN {
            self.log(Level::Err, format!("setvar_string: value ({val}) too long"));
            return Ok(tracking::FAILED);
        }
        let r = self.query(def.cmd, true, false)?;
        let Some(current) = r.value().map(str::to_string) else {
            return Ok(tracking::FAILED);
        };
        if current == val {
            self.log(
                Level::Info,
                format!(
                    "setvar_string: ignoring SET {}='{val}' (unchanged value)",
                    def.name
                ),
            );
            return Ok(tracking::SUCCESS);
        }
        let mut code = vec![APC_NEXTVAL];
        code.extend_from_slice(val.as_bytes());
        code.resize(APC_STRLEN + 1, b'\r');
        if !self.write_long(&code)? {
            return Ok(tracking::FAILED);
        }
        let r = self.read(ReadFlags {
            alerts: true,
            ..self.flags(APC_NEXTVAL)
        })?;
        if r.empty() {
            self.log(Level::Err, "setvar_string: short final read");
            return Ok(tracking::FAILED);
        }
        if r.text() == "NO" {
            self.log(Level::Err, "setvar_string: got NO at final read");
            return Ok(tracking::FAILED);
        }
        self.poll_data(i)?;
        self.log(
            Level::Info,
            format!("setvar_string: SET {}='{val}'", def.name),
        );
        Ok(tracking::SUCCESS)
    }
}

// ---- a modelled APC Smart-UPS (the device side) ---------------------------------------

/// What a [`SmartUps`] is in the middle of.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    None,
    /// `@` and the digits so far.
    Grace(Vec<u8>),
    /// `-` after a string setting: its command and the characters so far.
    Text(u8, Vec<u8>),
    /// The first press of a confirmed command, when (ms).
    Confirm(u8, Millis),
}

/// A window in which the second press of a confirmed command (`K`, `Z`, `^N`) counts,
/// in milliseconds after the first.
pub const CONFIRM_WINDOW_MS: (Millis, Millis) = (1_000, 5_000);

/// An APC Smart-UPS answering from a recording (`hw-fixtures/apcsmart/*.txt`: one
/// `> c` / `< reply` pair per command character, replies without their `\r\n`), with
/// the protocol's stateful parts modelled: settings cycle through the values the
/// capability list (`^Z`) gives for them and strings are written with `-`; `@nnn`,
/// `K K`, `Z Z`, `^N ^N` and `S` are taken as a real unit takes them (`S` only on
/// battery). Unknown commands answer `NA`.
#[derive(Debug, Clone)]
pub struct SmartUps {
    replies: std::collections::BTreeMap<u8, Vec<u8>>,
    enums: std::collections::BTreeMap<u8, Vec<Vec<u8>>>,
    pending: Pending,
    last: u8,
    /// Commands the unit carried out, in order (`@000`, `K`, `S`, `Z`, `^N`, `W`...).
    pub done: Vec<String>,
}

impl SmartUps {
    /// A unit answering as `transcript` records.
    pub fn new(transcript: &crate::transcript::Transcript) -> SmartUps {
        let mut replies = std::collections::BTreeMap::new();
        for (query, reply) in &transcript.exchanges {
            if let ([c], Some(r)) = (query.as_slice(), reply) {
                replies.entry(*c).or_insert_with(|| r.clone());
            }
        }
        let mut ups = SmartUps {
            replies,
            enums: std::collections::BTreeMap::new(),
            pending: Pending::None,
            last: 0,
            done: Vec::new(),
        };
        ups.enums = ups.parse_caps();
        ups
    }

    /// The values of each setting, from the `^Z` reply (the unit's own locale or `4`).
    fn parse_caps(&self) -> std::collections::BTreeMap<u8, Vec<Vec<u8>>> {
        let mut out = std::collections::BTreeMap::new();
        let Some(caps) = self.replies.get(&APC_CAPS) else {
            return out;
        };
        let loc = self
            .replies
            .get(&APC_FW_NEW)
            .or_else(|| self.replies.get(&APC_FW_OLD))
            .and_then(|f| f.last().copied())
            .unwrap_or(b'4');
        let matrix = caps.get(1) == Some(&b'#');
        let mut p = if matrix { 0 } else { 1 };
        while p < caps.len() {
            if matrix {
                p += 2;
            }
            let (Some(&cmd), Some(&l), Some(&n), Some(&len)) = (
                caps.get(p),
                caps.get(p + 1),
                caps.get(p + 2),
                caps.get(p + 3),
            ) else {
                break;
            };
            let (n, len) = (
                usize::from(n.saturating_sub(b'0')),
                usize::from(len.saturating_sub(b'0')),
            );
            let mut values = Vec::new();
            let mut q = p + 4;
            for _ in 0..n {
                values.push(
                    caps.get(q..(q + len).min(caps.len()))
                        .unwrap_or(&[])
                        .to_vec(),
                );
                q += len;
            }
            if l == loc || l == b'4' {
                out.entry(cmd).or_insert(values);
            }
            p = q;
        }
        out
    }

    /// Takes the replies of `transcript` (a model's new readings), keeping what the
    /// unit is in the middle of and what it carried out.
    pub fn refresh(&mut self, transcript: &crate::transcript::Transcript) {
        let fresh = SmartUps::new(transcript);
        self.replies = fresh.replies;
        self.enums = fresh.enums;
    }

    /// The unit's current reply to `cmd` (without `\r\n`).
    pub fn value(&self, cmd: u8) -> Option<&[u8]> {
        self.replies.get(&cmd).map(Vec::as_slice)
    }

    /// Sets the reply to `cmd` (a model changing a reading).
    pub fn set_value(&mut self, cmd: u8, value: &[u8]) {
        self.replies.insert(cmd, value.to_vec());
    }

    fn on_battery(&self) -> bool {
        self.value(APC_STATUS)
            .is_some_and(|s| strtol16(&String::from_utf8_lossy(s)) as u32 & STAT_OB != 0)
    }

    fn line(reply: &[u8]) -> Vec<u8> {
        let mut out = reply.to_vec();
        out.extend_from_slice(b"\r\n");
        out
    }

    /// One byte from the driver at `now`; the bytes the unit sends back.
    pub fn input(&mut self, byte: u8, now: Millis) -> Vec<u8> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::Grace(mut digits) if byte.is_ascii_digit() => {
                digits.push(byte);
                if digits.len() < 3 {
                    self.pending = Pending::Grace(digits);
                    return Vec::new();
                }
                self.done
                    .push(format!("@{}", String::from_utf8_lossy(&digits)));
                return Self::line(b"OK");
            }
            Pending::Text(cmd, mut text) => {
                text.push(byte);
                if text.len() < APC_STRLEN {
                    self.pending = Pending::Text(cmd, text);
                    return Vec::new();
                }
                while text.last() == Some(&b'\r') {
                    text.pop();
                }
                self.replies.insert(cmd, text);
                return Self::line(b"OK");
            }
            Pending::Confirm(cmd, at) if cmd == byte => {
                let gap = now.saturating_sub(at);
                if (CONFIRM_WINDOW_MS.0..=CONFIRM_WINDOW_MS.1).contains(&gap) {
                    self.done.push(prtchr(cmd));
                    return match cmd {
                        b'K' => Self::line(b"OK"),
                        _ => Vec::new(),
                    };
                }
            }
            _ => {}
        }
        let last = std::mem::replace(&mut self.last, byte);
        match byte {
            b'@' => {
                self.pending = Pending::Grace(Vec::new());
                Vec::new()
            }
            b'K' | b'Z' | 0x0e => {
                self.pending = Pending::Confirm(byte, now);
                Vec::new()
            }
            ESC => Vec::new(),
            b'R' => Self::line(b"BYE"),
            b'S' => {
                if self.on_battery() {
                    self.done.push("S".to_string());
                    Self::line(b"OK")
                } else {
                    Self::line(b"NA")
                }
            }
            APC_NEXTVAL => {
                if matches!(last, b'c' | b'x') && self.replies.contains_key(&last) {
                    self.pending = Pending::Text(last, Vec::new());
                    return Vec::new();
                }
                let Some(values) = self.enums.get(&last).filter(|v| !v.is_empty()) else {
                    return Self::line(b"NO");
                };
                let current = self.replies.get(&last).cloned().unwrap_or_default();
                let next = match values.iter().position(|v| *v == current) {
                    Some(i) => values[(i + 1) % values.len()].clone(),
                    None => values[0].clone(),
                };
                self.replies.insert(last, next);
                Self::line(b"OK")
            }
            b'A' | b'U' | b'W' | b'D' | b'^' if !self.replies.contains_key(&byte) => {
                self.done.push(prtchr(byte));
                Self::line(b"OK")
            }
            _ => match self.replies.get(&byte) {
                Some(reply) => {
                    if matches!(byte, b'A' | b'U' | b'W' | b'D' | b'^') {
                        self.done.push(prtchr(byte));
                    }
                    Self::line(reply)
                }
                None => Self::line(b"NA"),
            },
        }
    }
}

/// A serial line to a [`SmartUps`] on simulated time, for tests, fuzzing and the
/// simulation: written bytes reach the unit at once, its answers wait in the line until
/// read; a read with no line end in the buffer waits out its time.
#[derive(Debug, Clone)]
pub struct Link {
    /// The unit.
    pub ups: SmartUps,
    /// Bytes the unit sent that were not read yet.
    pub input: Vec<u8>,
    /// Simulated time, in milliseconds.
    pub now: Millis,
    /// The unit says nothing (cable pulled, unit dead).
    pub silent: bool,
    /// Every byte written, in order.
    pub written: Vec<u8>,
}

impl Link {
    /// A line to `ups` at time 0.
    pub fn new(ups: SmartUps) -> Link {
        Link {
            ups,
            input: Vec::new(),
            now: 0,
            silent: false,
            written: Vec::new(),
        }
    }

    /// Carries out one step.
    pub fn step(&mut self, io: &Io) -> IoResult {
        match io {
            Io::Flush => {
                self.input.clear();
                IoResult::Done
            }
            Io::Write { bytes, pace_ms } => {
                for &b in bytes {
                    self.written.push(b);
                    if !self.silent {
                        let out = self.ups.input(b, self.now);
                        self.input.extend(out);
                    }
                    self.now = self.now.saturating_add(*pace_ms);
                }
                IoResult::Done
            }
            Io::Read { timeout_ms, star } => {
                let end = self
                    .input
                    .iter()
                    .position(|&b| b == b'\n' || (*star && b == b'*'));
                match end {
                    Some(i) => IoResult::Line(self.input.drain(..=i).collect()),
                    None => {
                        self.now = self.now.saturating_add(*timeout_ms);
                        IoResult::Timeout(std::mem::take(&mut self.input))
                    }
                }
            }
            Io::Drain { timeout_ms } => {
                if self.input.is_empty() {
                    self.now = self.now.saturating_add(*timeout_ms);
                }
                IoResult::Line(std::mem::take(&mut self.input))
            }
            Io::Sleep { ms } => {
                self.now = self.now.saturating_add(*ms);
                IoResult::Done
            }
            Io::Command {
                code,
                alerts,
                timeout_ms,
            } => {
                let pending = std::mem::take(&mut self.input);
                let pending = if *alerts { pending } else { Vec::new() };
                self.step(&Io::Write {
                    bytes: vec![*code],
                    pace_ms: 0,
                });
                let read = self.step(&Io::Read {
                    timeout_ms: *timeout_ms,
                    star: false,
                });
                IoResult::Answer {
                    pending,
                    read: Box::new(read),
                }
            }
        }
    }

    /// Runs `job` to completion over this line.
    pub fn run(
        &mut self,
        driver: &mut ApcDriver,
        state: &mut DriverState,
        job: &Job,
    ) -> (Outcome, Vec<DriverLine>, Vec<Note>) {
        let mut results = Vec::new();
        let start = self.now;
        loop {
            match driver.run(state, job, start, &results) {
                Progress::Io(io) => {
                    let r = self.step(&io);
                    results.push(r);
                }
                Progress::Done {
                    outcome,
                    lines,
                    notes,
                } => return (outcome, lines, notes),
            }
        }
    }
}
