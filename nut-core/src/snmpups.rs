//! snmp-ups' device logic (NUT 2.8.0's drivers/snmp-ups.c), sans-IO: OID values in,
//! variables, commands and SET requests out.
//!
//! A walk never performs IO. [`SnmpUps::walk`] (and [`detect`]) run over the replies the
//! shell has collected so far; when they need an OID not read yet they return
//! [`Step::Need`] with every such OID, and nothing is changed. The shell GETs those
//! OIDs and calls again with them added, until [`Step::Done`]. Reads that depend on
//! other reads (an OBJECT IDENTIFIER value to follow, a phase count, an outlet count)
//! simply come in a later round.
//!
//! Deliberate differences from NUT 2.8.0, all behaviour fixes with the same variables on
//! a healthy agent:
//! - v2c exceptions (noSuchObject, noSuchInstance) mean "absent" everywhere, as in NUT
//!   2.8.1 (commit 5a81345): 2.8.0 advertised every command of the table over v2c.
//! - The data is stale only when the agent answered none of a walk's requests (NUT
//!   2.8.0 used the outcome of the walk's last entry, so one missing OID made upsd's
//!   data flap between DATAOK and DATASTALE).
//! - One failing outlet at start-up disables only that outlet's variable, not the
//!   template for every outlet.
//! - "No matching MIB found for sysOID" is logged once, not three times.
//! - An outlet template without an OID takes the outlets' index base (NUT 2.8.0 starts
//!   it at -1: `outlet.-1.id: -1` on HPE's ePDU table, and no id for the last outlet).
//! - Time entries (`SU_TYPE_TIME`) are seconds, never scaled: NUT scales the APC card's
//!   `ups.delay.shutdown`/`ups.delay.start` by 3 (see [`multiplier`]), found by the
//!   simulation's modelled APC card.
//!
//! SNMPv3's options are parsed here ([`V3Options`]); its security (USM) is the shell's
//! (nut_bins::snmpv3), as it needs cryptography. A daisy-chain table (one with
//! `device.count`) is read for its first device (NUT's `daisychain_init` and device
//! index base); not yet: the other devices of a chain (`device.N.*`), powerware's
//! `ups.alarms` walk (never published).

use crate::dummy::DriverState;
use crate::event::Level;
use crate::qx::Note;
use crate::snmp::{format_oid, parse_oid, Value, Version};
use crate::snmpmib::{flag, mibs, st, Fun, Info, LookupRow, Mib, Nuf};
use crate::sock::DriverLine;
use std::collections::BTreeMap;

/// Default `pollfreq`: seconds between walks (snmp-ups.h DEFAULT_POLLFREQ).
pub const DEFAULT_POLLFREQ_S: u64 = 30;
/// Default `snmp_retries` (DEFAULT_NETSNMP_RETRIES).
pub const DEFAULT_RETRIES: u32 = 5;
/// Default `snmp_timeout`, seconds (DEFAULT_NETSNMP_TIMEOUT).
pub const DEFAULT_TIMEOUT_S: u64 = 1;
/// Default `semistaticfreq`, in walks (DEFAULT_SEMISTATICFREQ).
pub const DEFAULT_SEMISTATICFREQ: i64 = 10;
/// Largest `pollfreq`, `snmp_timeout` accepted, seconds (a day).
pub const MAX_SECONDS_OPTION: u64 = 86_400;
/// Most `snmp_retries` accepted.
pub const MAX_RETRIES: u32 = 100;
/// Most instances of one outlet (or group, or sensor) template.
pub const MAX_TEMPLATE_INSTANCES: i64 = 256;
/// dstate.c's status and alarm buffers, bytes with their NUL (ST_MAX_VALUE_LEN).
pub const MAX_VALUE_BYTES: usize = 256;
/// Longest string value published, bytes (SU_INFOSIZE - 1).
pub const MAX_STRING_BYTES: usize = 127;
/// OBJECT IDENTIFIER values followed in a row when reading a string (NUT follows
/// without limit; a loop on the agent would never end).
pub const MAX_OID_HOPS: usize = 4;
/// sysObjectID.0.
pub const SYSOID_OID: &str = ".1.3.6.1.2.1.1.2.0";
/// Options snmp-ups accepts besides main.c's: (name, takes a value).
pub const OPTIONS: [(&str, bool); 19] = [
    ("mibs", true),
    ("community", true),
    ("snmp_version", true),
    ("snmp_retries", true),
    ("snmp_timeout", true),
    ("semistaticfreq", true),
    ("pollfreq", true),
    ("notransferoids", false),
    ("symmetrathreephase", false),
    ("secLevel", true),
    ("secName", true),
    ("authPassword", true),
    ("privPassword", true),
    ("authProtocol", true),
    ("privProtocol", true),
    ("ondelay", true),
    ("offdelay", true),
    ("nolock", false),
    ("ignorelb", false),
];
/// Shortest SNMPv3 pass phrase, bytes (RFC 3414 section 11.2; net-snmp's
/// USM_LENGTH_P_MIN).
pub const MIN_PASSPHRASE_BYTES: usize = 8;
/// Options whose values are never published as driver.parameter.* (NUT's VAR_SENSITIVE).
pub const SENSITIVE: [&str; 4] = ["community", "secName", "authPassword", "privPassword"];

/// snmp-ups' own options (snmp-ups.c `upsdrv_makevartable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpOptions {
    /// `mibs`: "auto" or a mapping's name.
    pub mibs: String,
    /// `community`.
    pub community: Vec<u8>,
    /// `snmp_version`.
    pub version: Version,
    /// `pollfreq`, seconds.
    pub pollfreq_s: u64,
    /// `semistaticfreq`, walks.
    pub semistaticfreq: i64,
    /// `snmp_retries`.
    pub retries: u32,
    /// `snmp_timeout`, seconds.
    pub timeout_s: u64,
    /// `notransferoids`.
    pub notransferoids: bool,
    /// `symmetrathreephase`.
    pub symmetrathreephase: bool,
    /// `ondelay`.
    pub ondelay: Option<i64>,
    /// `offdelay`.
    pub offdelay: Option<i64>,
    /// `ignorelb` (main.c): LB from battery.charge.low / battery.runtime.low.
    pub ignorelb: bool,
    /// `snmp_version = v3`: the USM settings (PDUs then have v2c's semantics).
    pub v3: Option<V3Options>,
}

/// `secLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecLevel {
    /// noAuthNoPriv.
    NoAuthNoPriv,
    /// authNoPriv.
    AuthNoPriv,
    /// authPriv.
    AuthPriv,
}

/// `authProtocol` (NUT 2.8.0's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    /// MD5 (HMAC-MD5-96).
    Md5,
    /// SHA (HMAC-SHA-96).
    Sha,
    /// SHA256 (HMAC-SHA-256-192).
    Sha256,
    /// SHA384 (HMAC-SHA-384-256).
    Sha384,
    /// SHA512 (HMAC-SHA-512-384).
    Sha512,
}

/// `privProtocol` (NUT 2.8.0's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProtocol {
    /// DES (CBC-DES).
    Des,
    /// AES (CFB128-AES-128).
    Aes,
    /// AES192 (Blumenthal key extension).
    Aes192,
    /// AES256 (Blumenthal key extension).
    Aes256,
}

/// SNMPv3's USM settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Options {
    /// `secLevel`.
    pub level: SecLevel,
    /// `secName`.
    pub sec_name: String,
    /// `authPassword`.
    pub auth_password: String,
    /// `privPassword`.
    pub priv_password: String,
    /// `authProtocol`.
    pub auth_protocol: AuthProtocol,
    /// `privProtocol`.
    pub priv_protocol: PrivProtocol,
}

impl V3Options {
    fn from_options(get: impl Fn(&str) -> Option<String>) -> Result<V3Options, String> {
        let level_text = get("secLevel").unwrap_or_else(|| "noAuthNoPriv".to_string());
        let level = match level_text.as_str() {
            "noAuthNoPriv" => SecLevel::NoAuthNoPriv,
            "authNoPriv" => SecLevel::AuthNoPriv,
            "authPriv" => SecLevel::AuthPriv,
            other => return Err(format!("Bad SNMPv3 securityLevel: {other}")),
        };
        let sec_name = get("secName").ok_or("securityName is required for SNMPv3")?;
        let auth_password = get("authPassword");
        let priv_password = get("privPassword");
        match level {
            SecLevel::AuthNoPriv if auth_password.is_none() => {
                return Err(format!(
                    "authPassword is required for SNMPv3 in {level_text} mode"
                ))
            }
            SecLevel::AuthPriv if auth_password.is_none() || priv_password.is_none() => {
                return Err(format!(
                    "authPassword and privPassword are required for SNMPv3 in {level_text} mode"
                ))
            }
            _ => {}
        }
        // net-snmp's generate_Ku refuses pass phrases under 8 bytes (RFC 3414 11.2);
        // NUT then stops with these messages.
        if level != SecLevel::NoAuthNoPriv
            && auth_password
                .as_ref()
                .is_some_and(|p| p.len() < MIN_PASSPHRASE_BYTES)
        {
            return Err("Error generating Ku from authentication pass phrase".to_string());
        }
        if level == SecLevel::AuthPriv
            && priv_password
                .as_ref()
                .is_some_and(|p| p.len() < MIN_PASSPHRASE_BYTES)
        {
            return Err("Error generating Ku from privacy pass phrase".to_string());
        }
        let auth_protocol = match get("authProtocol").as_deref().unwrap_or("MD5") {
            "MD5" => AuthProtocol::Md5,
            "SHA" => AuthProtocol::Sha,
            "SHA256" => AuthProtocol::Sha256,
            "SHA384" => AuthProtocol::Sha384,
            "SHA512" => AuthProtocol::Sha512,
            other => return Err(format!("Bad SNMPv3 authProtocol: {other}")),
        };
        let priv_protocol = match get("privProtocol").as_deref().unwrap_or("DES") {
            "DES" => PrivProtocol::Des,
            "AES" => PrivProtocol::Aes,
            "AES192" => PrivProtocol::Aes192,
            "AES256" => PrivProtocol::Aes256,
            other => return Err(format!("Bad SNMPv3 privProtocol: {other}")),
        };
        Ok(V3Options {
            level,
            sec_name,
            auth_password: auth_password.unwrap_or_default(),
            priv_password: priv_password.unwrap_or_default(),
            auth_protocol,
            priv_protocol,
        })
    }
}

impl Default for SnmpOptions {
    fn default() -> Self {
        SnmpOptions {
            mibs: "auto".to_string(),
            community: b"public".to_vec(),
            version: Version::V1,
            pollfreq_s: DEFAULT_POLLFREQ_S,
            semistaticfreq: DEFAULT_SEMISTATICFREQ,
            retries: DEFAULT_RETRIES,
            timeout_s: DEFAULT_TIMEOUT_S,
            notransferoids: false,
            symmetrathreephase: false,
            ondelay: None,
            offdelay: None,
            ignorelb: false,
            v3: None,
        }
    }
}

/// C's `atol` (saturating), as the driver-socket protocol reads numbers.
use crate::sock::atoi as atol;

impl SnmpOptions {
    /// From the section's options, checked as NUT checks them (same messages).
    pub fn from_options(options: &[(String, Option<String>)]) -> Result<SnmpOptions, String> {
        let mut out = SnmpOptions::default();
        let get = |name: &str| {
            options
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.clone())
        };
        let has = |name: &str| options.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if let Some(m) = get("mibs") {
            out.mibs = m;
        }
        if let Some(c) = get("community") {
            out.community = c.into_bytes();
        }
        match get("snmp_version").as_deref() {
            None | Some("v1") => {}
            Some("v2c") => out.version = Version::V2c,
            Some("v3") => {
                out.version = Version::V2c;
                out.v3 = Some(V3Options::from_options(get)?);
            }
            Some(other) => return Err(format!("Bad SNMP version: {other}")),
        }
        let seconds = |name: &str, v: &str| {
            u64::try_from(atol(v))
                .ok()
                .filter(|n| *n <= MAX_SECONDS_OPTION)
                .ok_or_else(|| {
                    format!("invalid {name} \"{v}\" (0 to {MAX_SECONDS_OPTION} seconds)")
                })
        };
        if let Some(v) = get("pollfreq") {
            out.pollfreq_s = seconds("pollfreq", &v)?;
        }
        if let Some(v) = get("snmp_timeout") {
            out.timeout_s = seconds("snmp_timeout", &v)?.max(1);
        }
        if let Some(v) = get("snmp_retries") {
            out.retries = u32::try_from(atol(&v))
                .ok()
                .filter(|n| *n <= MAX_RETRIES)
                .ok_or_else(|| format!("invalid snmp_retries \"{v}\" (0 to {MAX_RETRIES})"))?;
        }
        if let Some(v) = get("semistaticfreq") {
            let n = atol(&v);
            out.semistaticfreq = if n < 1 { DEFAULT_SEMISTATICFREQ } else { n };
        }
        out.notransferoids = has("notransferoids");
        out.ignorelb = has("ignorelb");
        out.symmetrathreephase = has("symmetrathreephase");
        out.ondelay = get("ondelay").map(|v| atol(&v));
        out.offdelay = get("offdelay").map(|v| atol(&v));
        if out.mibs != "auto" && out.mibs != LIST_MIBS && !mibs().iter().any(|m| m.name == out.mibs)
        {
            return Err(format!("Unknown 'mibs' value: {}", out.mibs));
        }
        Ok(out)
    }
}

/// `mibs = --list`: the driver prints [`list_mibs`] and exits (successfully).
pub const LIST_MIBS: &str = "--list";

/// `mibs=--list`: the table NUT prints (snmp-ups.c `upsdrv_initups`), on stdout.
pub fn list_mibs() -> String {
    let mut s = String::from(
        "The 'mibs' argument is '--list', so just listing the mappings this driver knows,\n\
         and for 'mibs=auto' these mappings will be tried in the following order until\n\
         the first one matches your device\n\n",
    );
    s.push_str(&format!(
        "{:>7}\t{:<23}\t{:<7}\t{:<31}\t{}\n",
        "NUMBER", "MAPPING NAME", "VERSION", "ENTRY POINT OID", "AUTO CHECK OID"
    ));
    let all = mibs();
    for (i, m) in all.iter().enumerate() {
        s.push_str(&format!(
            " {:>4} \t{:<23}\t{:>7}\t{:<31}\t{}\n",
            i + 1,
            m.name,
            m.version,
            m.sysoid.as_deref().unwrap_or("<NULL>"),
            m.auto_check.as_deref().unwrap_or("<NULL>")
        ));
    }
    s.push_str(&format!(
        "\nOverall this driver has loaded {} MIB-to-NUT mapping tables\n",
        all.len()
    ));
    s
}

/// What the agent said to one GET (or SET).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A value (maybe a v2c exception).
    Value(Value),
    /// A response with a non-zero error-status (noSuchName is 2).
    Error(i64),
    /// No response after every retry.
    Timeout,
}

/// Replies by OID, as NUT's tables spell it without the leading dot.
pub type Reads = BTreeMap<String, Reply>;

/// The key of `oid` in [`Reads`].
pub fn key(oid: &str) -> &str {
    oid.strip_prefix('.').unwrap_or(oid)
}

/// What a walk or a detection wants next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// GET these OIDs (keys as [`key`] gives them) and call again with the replies.
    Need(Vec<String>),
    /// Finished.
    Done(T),
}

/// The reads of one call, recording what is missing.
struct Ctx<'a> {
    reads: &'a Reads,
    missing: Vec<String>,
    answered: bool,
}

impl<'a> Ctx<'a> {
    fn new(reads: &'a Reads) -> Self {
        Ctx {
            reads,
            missing: Vec::new(),
            answered: false,
        }
    }

    fn raw(&mut self, oid: &str) -> Option<&'a Reply> {
        let k = key(oid);
        match self.reads.get(k) {
            Some(r) => {
                if !matches!(r, Reply::Timeout) {
                    self.answered = true;
                }
                Some(r)
            }
            None => {
                if !self.missing.iter().any(|m| m == k) {
                    self.missing.push(k.to_string());
                }
                None
            }
        }
    }

    /// A value that exists (not an error, not an exception).
    fn value(&mut self, oid: &str) -> Option<&'a Value> {
        match self.raw(oid)? {
            Reply::Value(v) if !v.is_exception() => Some(v),
            _ => None,
        }
    }

    /// NUT's `nut_snmp_get_int`.
    fn int(&mut self, oid: &str) -> Option<i64> {
        self.int_at(oid, 0)
    }

    /// [`Ctx::int`], following at most [`MAX_OID_HOPS`] OBJECT IDENTIFIER values (NUT
    /// reads the value they point to the same way; when that fails, the OID's last arc).
    fn int_at(&mut self, oid: &str, hops: usize) -> Option<i64> {
        match self.value(oid)? {
            Value::Integer(n) => Some(*n),
            Value::Counter32(n) | Value::Gauge32(n) => Some(i64::from(*n)),
            Value::TimeTicks(n) => Some(i64::from(*n) / 100),
            Value::OctetString(s) | Value::Opaque(s) => Some(strtol0(&String::from_utf8_lossy(s))),
            Value::ObjectId(o) => {
                let target = format_oid(o);
                let followed = if hops < MAX_OID_HOPS {
                    self.int_at(&target, hops + 1)
                } else {
                    None
                };
                Some(followed.unwrap_or_else(|| o.last().map_or(0, |n| i64::from(*n))))
            }
            _ => None,
        }
    }

    /// NUT's `nut_snmp_get_str` (`decode_str`), without the final `su_find_strval`.
    fn text(
        &mut self,
        oid: &str,
        lookup: Option<&[LookupRow]>,
        units: &mut Units,
    ) -> Option<String> {
        self.text_at(oid, lookup, units, 0)
    }

    /// [`Ctx::text`], following at most [`MAX_OID_HOPS`] OBJECT IDENTIFIER values (an
    /// agent's pointers can form a loop).
    fn text_at(
        &mut self,
        oid: &str,
        lookup: Option<&[LookupRow]>,
        units: &mut Units,
        hops: usize,
    ) -> Option<String> {
        Some(match self.value(oid)? {
            Value::OctetString(s) | Value::Opaque(s) => octets(s),
            Value::Integer(_) | Value::Counter32(_) | Value::Gauge32(_) => {
                let n = self.int(oid)?;
                match lookup {
                    Some(rows) => find_infoval(rows, n, units)?,
                    None => n.to_string(),
                }
            }
            Value::TimeTicks(t) => (i64::from(*t) / 100).to_string(),
            Value::ObjectId(o) => {
                let target = format_oid(o);
                let followed = if hops < MAX_OID_HOPS {
                    self.text_at(&target, lookup, units, hops + 1)
                } else {
                    None
                };
                match followed {
                    Some(t) => t,
                    None => o.last().map_or(String::new(), |n| n.to_string()),
                }
            }
            _ => return None,
        })
    }
}

/// C's `strtol(s, NULL, 0)`: leading blanks, sign, 0x/0 prefixes.
fn strtol0(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let mut n: i64 = 0;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => {
                n = n
                    .saturating_mul(i64::from(radix))
                    .saturating_add(i64::from(d))
            }
            None => break,
        }
    }
    if neg {
        -n
    } else {
        n
    }
}

/// An OCTET STRING as NUT publishes it: as is when printable, else net-snmp's hex dump.
fn octets(s: &[u8]) -> String {
    let printable = s
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
    let mut out = if printable {
        String::from_utf8_lossy(s).into_owned()
    } else {
        let mut h = String::new();
        for (i, b) in s.iter().enumerate() {
            h.push_str(&format!("{b:02X} "));
            if (i + 1) % 16 == 0 && i + 1 < s.len() {
                h.push('\n');
            }
        }
        h
    };
    if out.len() > MAX_STRING_BYTES {
        let mut cut = MAX_STRING_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// The temperature unit an Eaton table reported (snmp-ups-helpers.c).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Units {
    #[default]
    Unknown,
    Kelvin,
    Celsius,
    Fahrenheit,
}

/// NUT's `su_find_infoval`.
fn find_infoval(rows: &[LookupRow], value: i64, units: &mut Units) -> Option<String> {
    if let Some(fun) = rows.first().and_then(|r| r.fun) {
        return apply_fun(fun, value, units);
    }
    rows.iter()
        .take_while(|r| r.text != "NULL")
        .find(|r| r.value == value)
        .map(|r| r.text.clone())
}

fn apply_fun(fun: Fun, value: i64, units: &mut Units) -> Option<String> {
    match fun {
        Fun::TemperatureUnit => {
            *units = match value {
                0 => Units::Kelvin,
                1 => Units::Celsius,
                2 => Units::Fahrenheit,
                _ => Units::Unknown,
            };
            Some("celsius".to_string())
        }
        Fun::TemperatureRead => Some(match *units {
            Units::Kelvin => (((value / 10) as f64 - 273.15) as i64).to_string(),
            Units::Celsius => (value / 10).to_string(),
            Units::Fahrenheit => ((((value / 10) - 32) * 5) / 9).to_string(),
            Units::Unknown => String::new(),
        }),
        Fun::UsDateToIso | Fun::Unknown => None,
    }
}

/// `su_find_strval`: a string through the table's function (dates).
fn find_strval(rows: Option<&[LookupRow]>, text: String) -> String {
    match rows.and_then(|r| r.first()).and_then(|r| r.fun) {
        Some(Fun::UsDateToIso) => {
            let mut parts = text.trim().split('/').map(|p| p.trim().parse::<u32>().ok());
            match (parts.next(), parts.next(), parts.next()) {
                (Some(Some(m)), Some(Some(d)), Some(Some(y)))
                    if (1..=12).contains(&m) && (1..=31).contains(&d) =>
                {
                    format!("{y:04}-{m:02}-{d:02}")
                }
                _ => text,
            }
        }
        _ => text,
    }
}

/// The multiplier of a numeric entry: its `info_len`, except for time entries
/// (`SU_TYPE_TIME`), whose value is seconds. NUT 2.8.0 (and NUT's master at the time of
/// writing) multiplies those too, and apc-mib.c gives the APC card's
/// `ups.delay.shutdown` and `ups.delay.start` an `info_len` of 3 (a field size, not a
/// multiplier): NUT then reports three times the card's delay and sets a third of
/// `offdelay` (offdelay = 20 cuts the load 6 s after `-k`). Here they are seconds.
fn multiplier(e: &Info) -> f64 {
    if e.flags & (7 << 18) == flag::TYPE_TIME {
        1.0
    } else {
        e.info_len
    }
}

/// A number as NUT prints `value * info_len`: an integer when it is one (compared in
/// float precision, as NUT's f_equal), else two decimals of the float.
pub fn format_scaled(value: i64, multiplier: f64) -> String {
    let d = value as f64 * multiplier;
    let i = d as i32;
    if ((i as f32) - (d as f32)).abs() <= f32::EPSILON {
        i.to_string()
    } else {
        format!("{:.2}", d as f32)
    }
}

/// Detection's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// Index into [`mibs`].
    pub mib: usize,
    /// The model the log line names.
    pub model: String,
}

/// The OID of `device.model` (else `ups.model`), a template taking index 0
/// (`match_model_OID`).
fn model_oid(mib: &Mib, device_first: bool) -> Option<String> {
    let order: [&str; 2] = if device_first {
        ["device.model", "ups.model"]
    } else {
        ["ups.model", "device.model"]
    };
    let entry = order
        .iter()
        .find_map(|n| mib.info.iter().find(|i| i.name == *n))?;
    entry.oid.as_ref().map(|o| fill(o, &[0]))
}

/// Picks the mapping as NUT's `load_mib2nut` does: an exact sysObjectID match whose
/// model OID answers, else (or with `mibs=<name>`) the first mapping whose model OID
/// answers. `Done(Err)` is NUT's fatal message.
pub fn detect(
    opts: &SnmpOptions,
    reads: &Reads,
    notes: &mut Vec<Note>,
) -> Step<Result<Detected, String>> {
    let mut mine = Vec::new();
    let step = detect_inner(opts, reads, &mut mine);
    if matches!(step, Step::Done(_)) {
        notes.extend(mine);
    }
    step
}

fn detect_inner(
    opts: &SnmpOptions,
    reads: &Reads,
    notes: &mut Vec<Note>,
) -> Step<Result<Detected, String>> {
    let mut ctx = Ctx::new(reads);
    let mut units = Units::default();
    let all = mibs();
    let mut chosen = None;
    if opts.mibs == "auto" {
        if let Some(Value::ObjectId(sysoid)) = ctx.value(SYSOID_OID) {
            let sysoid_text = format_oid(sysoid);
            for (i, m) in all.iter().enumerate() {
                let same = m
                    .sysoid
                    .as_deref()
                    .and_then(parse_oid)
                    .is_some_and(|o| &o == sysoid);
                if !same {
                    continue;
                }
                let Some(oid) = model_oid(m, true) else {
                    continue;
                };
                if ctx.text(&oid, None, &mut units).is_some() {
                    chosen = Some(i);
                    break;
                }
                if !ctx.missing.is_empty() {
                    return Step::Need(ctx.missing);
                }
            }
            if chosen.is_none() && ctx.missing.is_empty() {
                notes.push(Note::Log(
                    Level::Err,
                    format!(
                        "No matching MIB found for sysOID '{sysoid_text}'!\nPlease report it to NUT developers, with an 'upsc' output for your device.\nGoing back to the classic MIB detection method."
                    ),
                ));
            }
        }
        if !ctx.missing.is_empty() {
            return Step::Need(ctx.missing);
        }
    }
    if chosen.is_none() {
        for (i, m) in all.iter().enumerate() {
            if opts.mibs != "auto" && opts.mibs != m.name {
                continue;
            }
            let Some(oid) = model_oid(m, true) else {
                continue;
            };
            if ctx.text(&oid, None, &mut units).is_some() {
                chosen = Some(i);
                break;
            }
            if !ctx.missing.is_empty() {
                return Step::Need(ctx.missing);
            }
        }
    }
    let Some(i) = chosen else {
        return Step::Done(Err(if opts.mibs == "auto" {
            "No supported device detected".to_string()
        } else {
            format!(
                "Requested 'mibs' value '{}' did not match this device",
                opts.mibs
            )
        }));
    };
    // The log line reads ups.model first (upsdrv_initups).
    let model = model_oid(&all[i], false).and_then(|oid| ctx.text(&oid, None, &mut units));
    if !ctx.missing.is_empty() {
        return Step::Need(ctx.missing);
    }
    match model {
        Some(model) => Step::Done(Ok(Detected { mib: i, model })),
        None => Step::Done(Err(format!("{} MIB wasn't found", opts.mibs))),
    }
}

/// An alarm as `su_alarm_set` words it: outlet (group) alarms name their outlet,
/// phase alarms (`L1.alarm`) their phase.
fn alarm_text(name: &str, flags: u32, text: String) -> String {
    // device.N.L1.alarm -> L1.alarm
    let base = match name.strip_prefix("device.") {
        Some(rest) => rest.split_once('.').map_or(rest, |(_, r)| r),
        None => name,
    };
    let mut text = text;
    if flags & (flag::OUTLET | flag::OUTLET_GROUP) != 0 {
        let number = base
            .split('.')
            .find_map(|part| part.parse::<i64>().ok())
            .unwrap_or(-1);
        let group = if flags & flag::OUTLET_GROUP != 0 {
            " group"
        } else {
            ""
        };
        text = format!("outlet{group} {number} {text}");
    }
    if let Some(rest) = base.strip_prefix('L') {
        text = format!("phase L{} {text}", atol(rest));
    }
    text
}

/// `marlin_device_count_fun` (eaton-pdu-marlin-helpers.c): units in "0,3,4".
fn marlin_device_count(list: &str) -> i64 {
    let commas = list.matches(',').count() as i64;
    if list.is_empty() {
        0
    } else if list.ends_with(',') {
        commas
    } else {
        commas + 1
    }
}

/// Formats a template: each `%i` takes the next index.
fn fill(template: &str, indexes: &[i64]) -> String {
    let mut out = String::with_capacity(template.len() + 4);
    let mut rest = template;
    let mut next = indexes.iter();
    while let Some(pos) = rest.find("%i") {
        out.push_str(&rest[..pos]);
        out.push_str(&next.next().copied().unwrap_or(0).to_string());
        rest = &rest[pos + 2..];
    }
    out.push_str(rest);
    out
}

/// Which walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// `SU_WALKMODE_INIT` (with initups' sysDescr/sysContact/sysLocation).
    Init,
    /// `SU_WALKMODE_UPDATE`.
    Update,
}

/// What a finished walk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walked {
    /// Lines to broadcast.
    pub lines: Vec<DriverLine>,
    /// Things to log.
    pub notes: Vec<Note>,
    /// False when the agent answered no request of the walk.
    pub answered: bool,
}

/// A SET to send (a command, a variable, a delay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The OID.
    pub oid: String,
    /// The value.
    pub value: Value,
    /// What it does, for the log (`shutdown.return`).
    pub what: String,
}

/// Why a command or a SET was refused (NUT's STAT_SET_* / STAT_INSTCMD_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown or not supported by this device.
    Unknown,
    /// A value it cannot take.
    Invalid,
}

/// The driver for one agent, after detection.
#[derive(Debug, Clone)]
pub struct SnmpUps {
    opts: SnmpOptions,
    mib: usize,
    /// Run-time flags per table entry (NUT edits the table's flags).
    flags: Vec<u32>,
    /// Run-time flags of template instances, by (entry, index).
    instances: BTreeMap<(usize, i64), u32>,
    /// Template base index by kind (outlet, outlet group, ambient).
    bases: BTreeMap<u32, i64>,
    /// Phases by kind (input, output, bypass); None until read.
    phases: [Option<i64>; 3],
    semistatic_countdown: i64,
    units: Units,
    walks: u64,
    /// NUT's `daisychain_enabled`: the table has `device.count`.
    daisy: bool,
    /// NUT's `devices_count`.
    devices: i64,
    /// NUT's `device_template_offset`: a device's OID index is its number plus this.
    dev_offset: i64,
}

impl SnmpUps {
    /// The driver for the mapping detection chose.
    pub fn new(opts: SnmpOptions, detected: &Detected) -> SnmpUps {
        let mib = &mibs()[detected.mib];
        SnmpUps {
            flags: mib.info.iter().map(|i| i.flags).collect(),
            semistatic_countdown: opts.semistaticfreq,
            opts,
            mib: detected.mib,
            instances: BTreeMap::new(),
            bases: BTreeMap::new(),
            phases: [None; 3],
            units: Units::default(),
            walks: 0,
            daisy: false,
            devices: 1,
            dev_offset: -1,
        }
    }

    /// An ordinary entry's OID: a `%i` in it is the (first) device's index (NUT's
    /// `su_ups_get`: current_device_number + device_template_offset).
    fn device_oid(&self, oid: &str) -> String {
        if oid.contains("%i") {
            fill(oid, &[1 + self.dev_offset])
        } else {
            oid.to_string()
        }
    }

    /// A template instance's OID (`process_template`): daisy-chain templates also take
    /// the device's index, first (`SU_TYPE_DAISY_1`) or second (`SU_TYPE_DAISY_2`).
    fn instance_oid(&self, oid: &str, flags: u32, n: i64) -> String {
        let dev = 1 + self.dev_offset;
        if self.daisy && flags & flag::TYPE_DAISY_1 != 0 {
            fill(oid, &[dev, n])
        } else if self.daisy && flags & flag::TYPE_DAISY_2 != 0 {
            fill(oid, &[n + self.dev_offset, 1 - self.dev_offset])
        } else {
            fill(oid, &[n])
        }
    }

    /// `base_snmp_template_index`: 0 or 1, whichever answers first (2 when neither).
    /// `None` while a read is missing.
    fn base_index(&self, ctx: &mut Ctx, oid: &str, flags: u32) -> Option<i64> {
        for idx in [0, 1] {
            let test = if oid.matches("%i").count() > 1 {
                let dev = 1 + self.dev_offset;
                if flags & flag::TYPE_DAISY_1 != 0 {
                    fill(oid, &[dev, idx])
                } else {
                    fill(oid, &[idx, dev])
                }
            } else {
                fill(oid, &[idx])
            };
            match ctx.raw(&test) {
                None => return None,
                Some(Reply::Value(v)) if !v.is_exception() => {
                    let zero = flags & flag::ZEROINVALID != 0 && v.as_i64() == Some(0);
                    let na = flags & flag::NAINVALID != 0
                        && matches!(v, Value::OctetString(s) if s.starts_with(b"N/A"));
                    if !zero && !na {
                        return Some(idx);
                    }
                }
                Some(_) => {}
            }
        }
        Some(2)
    }

    /// NUT's `daisychain_init` (in `upsdrv_initups`): whether the table has a
    /// `device.count`, how many devices there are, the devices' index base. Only the
    /// first device of a chain is read (not yet the others).
    fn daisy_init(&mut self, state: &mut DriverState, ctx: &mut Ctx, out: &mut Walked) {
        let mib = self.mib();
        let find = |n: &str| mib.info.iter().find(|e| e.name == n);
        if let Some(dc) = find("device.count") {
            self.daisy = true;
            let mut count = -1;
            match dc.oid.as_deref() {
                Some(oid) if !oid.contains("%i") => {
                    let nuf = self
                        .lookup(dc)
                        .and_then(|rows| rows.first())
                        .and_then(|r| r.nuf);
                    if nuf == Some(Nuf::MarlinDeviceCount) {
                        if let Some(text) = ctx.text(oid, None, &mut self.units) {
                            count = marlin_device_count(&text);
                        }
                    }
                    if count == -1 {
                        count = ctx.int(oid).unwrap_or(1);
                    }
                }
                Some(oid) => {
                    // guestimate_template_count
                    let base = match ctx.raw(&fill(oid, &[0])) {
                        None => return,
                        Some(Reply::Value(v)) if !v.is_exception() => {
                            if dc.flags & flag::ZEROINVALID != 0 && v.as_i64() == Some(0) {
                                1
                            } else {
                                0
                            }
                        }
                        Some(_) => 1,
                    };
                    let mut n = 0;
                    while n < MAX_TEMPLATE_INSTANCES {
                        match ctx.raw(&fill(oid, &[base + n])) {
                            None => return,
                            Some(Reply::Value(v)) if !v.is_exception() => n += 1,
                            Some(_) => break,
                        }
                    }
                    count = n;
                }
                None => count = 1,
            }
            if count < 1 {
                count = 1;
                self.daisy = false;
            } else {
                Self::set(state, out, "device.count", &count.to_string());
                if find("device.mfr").is_some() {
                    if let Some(mfr) = find("ups.mfr") {
                        self.setinfo(state, out, mfr, &mfr.name, None);
                    }
                }
                match find("device.type").and_then(|e| e.dfl.clone()) {
                    Some(kind) => {
                        Self::set(
                            state,
                            out,
                            "device.model",
                            &format!("daisychain {kind} (1+{})", count - 1),
                        );
                        Self::set(state, out, "device.type", &kind);
                    }
                    None => Self::set(
                        state,
                        out,
                        "device.model",
                        &format!("daisychain (1+{})", count - 1),
                    ),
                }
                if count > 1 {
                    out.notes.push(Note::Log(
                        Level::Warning,
                        format!("daisy chain of {count} devices: only the first is read (the others are not supported yet)"),
                    ));
                }
            }
            self.devices = count;
        }
        if let Some(model) = find("device.model") {
            if let Some(oid) = model.oid.as_deref() {
                let Some(base) = self.base_index(ctx, oid, model.flags) else {
                    return;
                };
                self.dev_offset = base - 1;
            }
        }
    }

    /// The mapping in use.
    pub fn mib(&self) -> &'static Mib {
        &mibs()[self.mib]
    }

    /// The options.
    pub fn options(&self) -> &SnmpOptions {
        &self.opts
    }

    /// One walk over the replies collected so far. `Need` changes nothing.
    pub fn walk(&mut self, state: &mut DriverState, walk: Walk, reads: &Reads) -> Step<Walked> {
        let mut scratch = self.clone();
        let mut st = state.clone();
        let mut ctx = Ctx::new(reads);
        let mut out = Walked::default();
        scratch.run(&mut st, walk, &mut ctx, &mut out);
        if !ctx.missing.is_empty() {
            return Step::Need(ctx.missing);
        }
        out.answered = ctx.answered;
        *self = scratch;
        *state = st;
        Step::Done(out)
    }

    fn emit(state: &mut DriverState, out: &mut Walked, line: DriverLine) {
        if state.tree_mut().apply(&line) {
            out.lines.push(line);
        }
    }

    fn set(state: &mut DriverState, out: &mut Walked, var: &str, value: &str) {
        if let Some(line) = state.set(var, value) {
            out.lines.push(line);
        }
    }

    fn run(&mut self, state: &mut DriverState, walk: Walk, ctx: &mut Ctx, out: &mut Walked) {
        let mib = self.mib();
        let mut status: Vec<String> = Vec::new();
        let mut alarms: Vec<String> = Vec::new();
        if walk == Walk::Init {
            Self::set(state, out, "device.type", "ups");
            self.daisy_init(state, ctx, out);
            for (var, oid) in [
                ("device.description", ".1.3.6.1.2.1.1.1.0"),
                ("device.contact", ".1.3.6.1.2.1.1.4.0"),
                ("device.location", ".1.3.6.1.2.1.1.6.0"),
            ] {
                if state.tree().get(var).is_none() {
                    if let Some(v) = ctx.text(oid, None, &mut self.units) {
                        Self::set(state, out, var, &v);
                    }
                }
            }
            self.register_commands(state, ctx, out);
            for f in self.flags.iter_mut() {
                *f |= flag::OK;
            }
            if self.opts.notransferoids {
                for (i, e) in mib.info.iter().enumerate() {
                    if e.name == "input.transfer.low" || e.name == "input.transfer.high" {
                        self.flags[i] &= !flag::OK;
                    }
                }
            }
        } else {
            self.semistatic_countdown -= 1;
            if self.semistatic_countdown < 0 {
                self.semistatic_countdown = self.opts.semistaticfreq;
            }
        }
        for (i, e) in mib.info.iter().enumerate() {
            let f = self.flags[i];
            if walk == Walk::Init && e.name.starts_with("device.count") {
                self.flags[i] &= !flag::OK;
                continue;
            }
            let template = f & (flag::OUTLET | flag::OUTLET_GROUP | flag::AMBIENT_TEMPLATE) != 0;
            if e.is_command() && !template {
                continue;
            }
            if walk == Walk::Update
                && (f & flag::OK == 0
                    || f & flag::STATIC != 0
                    || (f & flag::SEMI_STATIC != 0 && self.semistatic_countdown != 0))
            {
                continue;
            }
            if f & flag::ABSENT != 0 && !template {
                if walk == Walk::Init {
                    if e.dfl.is_some() {
                        self.setinfo(state, out, e, &e.name, None);
                    }
                    self.flags[i] |= flag::STATIC;
                }
                continue;
            }
            if !self.phase_ok(state, ctx, out, i) {
                continue;
            }
            if template {
                self.template(state, ctx, out, walk, i, e, &mut status, &mut alarms);
                continue;
            }
            self.get_and_process(
                state,
                ctx,
                out,
                walk,
                i,
                e,
                &e.name,
                e.oid.as_deref().map(|o| self.device_oid(o)),
                &mut status,
                &mut alarms,
            );
        }
        if walk == Walk::Update {
            let mut text = status.join(" ");
            if self.opts.ignorelb {
                text = crate::status::ignorelb_word(&text, |v| {
                    state.tree().value(v).map(str::to_string)
                });
            }
            if !alarms.is_empty() {
                // A daisy-chain table's status is committed before its alarms
                // (snmp-ups.c upsdrv_updateinfo), so NUT never shows ALARM there.
                if !self.daisy {
                    text = if text.is_empty() {
                        "ALARM".to_string()
                    } else {
                        format!("ALARM {text}")
                    };
                }
                // dstate.c's alarm buffer: ST_MAX_VALUE_LEN bytes, of which NUT's
                // snprintfcat (common.c) fills at most all but two.
                let mut all = alarms.join(" ");
                if all.len() > MAX_VALUE_BYTES - 2 {
                    let mut cut = MAX_VALUE_BYTES - 2;
                    while !all.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    all.truncate(cut);
                }
                Self::set(state, out, "ups.alarm", &all);
            } else if let Some(line) = state.delete("ups.alarm") {
                out.lines.push(line);
            }
            Self::set(state, out, "ups.status", &text);
            self.walks += 1;
            if self.walks == 1 {
                // main.c after the first update: one-time copies.
                for (from, to) in [
                    ("ups.mfr", "device.mfr"),
                    ("ups.model", "device.model"),
                    ("ups.serial", "device.serial"),
                ] {
                    if let Some(v) = state.tree().value(from).map(str::to_string) {
                        Self::set(state, out, to, &v);
                    }
                }
            }
        }
    }

    /// initinfo's `su_addcmd` and initups' composite commands.
    fn register_commands(&mut self, state: &mut DriverState, ctx: &mut Ctx, out: &mut Walked) {
        let mib = self.mib();
        let has = |n: &str| mib.info.iter().any(|i| i.name == n);
        let mut cmds: Vec<String> = Vec::new();
        if has("load.off.delay") {
            cmds.push("load.off".into());
        }
        if has("load.on.delay") {
            cmds.push("load.on".into());
        }
        if has("load.off.delay") && has("load.on.delay") {
            cmds.push("shutdown.return".into());
            cmds.push("shutdown.stayoff".into());
        }
        for (i, e) in mib.info.iter().enumerate() {
            let template = self.flags[i] & (flag::OUTLET | flag::OUTLET_GROUP) != 0;
            if !e.is_command() || template {
                continue;
            }
            if let Some(oid) = &e.oid {
                if ctx.value(oid).is_some() {
                    cmds.push(e.name.clone());
                }
            }
        }
        for c in cmds {
            Self::emit(state, out, DriverLine::AddCmd { cmd: c });
        }
    }

    /// `process_phase_data`: false when the entry is for another phase count.
    fn phase_ok(
        &mut self,
        state: &mut DriverState,
        ctx: &mut Ctx,
        out: &mut Walked,
        i: usize,
    ) -> bool {
        let f = self.flags[i];
        // NUT 2.8.0 tests bypass entries against the input flags, which they never
        // carry: bypass entries are always processed (kept).
        for (kind, name, one, three) in [
            (0, "input", flag::INPUT_1, flag::INPUT_3),
            (1, "output", flag::OUTPUT_1, flag::OUTPUT_3),
        ] {
            if f & (one | three) == 0 {
                continue;
            }
            let Some(nb) = self.phases(kind, &format!("{name}.phases"), state, ctx, out) else {
                return false;
            };
            let ok = if f & one != 0 { nb == 1 } else { nb == 3 };
            if ok {
                self.flags[i] &= !(one | three);
            } else {
                self.flags[i] &= !flag::OK;
                return false;
            }
        }
        if f & (flag::BYPASS_1 | flag::BYPASS_3) != 0
            && self
                .phases(2, "input.bypass.phases", state, ctx, out)
                .is_none()
        {
            return false;
        }
        true
    }

    /// The phase count `var` (`<type>.phases`) of kind `kind` (input, output, bypass):
    /// published already, else read from its entry (1 when it has none or the read
    /// fails), published and kept. `None` while the read is missing.
    fn phases(
        &mut self,
        kind: usize,
        var: &str,
        state: &mut DriverState,
        ctx: &mut Ctx,
        out: &mut Walked,
    ) -> Option<i64> {
        if let Some(n) = self.phases[kind] {
            return Some(n);
        }
        let n = match state.tree().value(var) {
            Some(v) => atol(v),
            None => {
                let entry = self.mib().info.iter().find(|x| x.name == var);
                match entry.and_then(|x| x.oid.as_deref()) {
                    Some(oid) => match ctx.int(&self.device_oid(oid)) {
                        Some(n) => n,
                        None if ctx.missing.is_empty() => 1,
                        None => return None,
                    },
                    None => 1,
                }
            }
        };
        Self::set(state, out, var, &n.to_string());
        self.phases[kind] = Some(n);
        Some(n)
    }

    /// `process_template`: outlets, outlet groups, ambient sensors.
    #[allow(clippy::too_many_arguments)]
    fn template(
        &mut self,
        state: &mut DriverState,
        ctx: &mut Ctx,
        out: &mut Walked,
        walk: Walk,
        i: usize,
        e: &Info,
        status: &mut Vec<String>,
        alarms: &mut Vec<String>,
    ) {
        let kind = self.flags[i] & (flag::OUTLET | flag::OUTLET_GROUP | flag::AMBIENT_TEMPLATE);
        let count_var = if kind == flag::OUTLET {
            "outlet.count"
        } else if kind == flag::OUTLET_GROUP {
            "outlet.group.count"
        } else {
            "ambient.count"
        };
        if e.is_command() && walk == Walk::Update {
            return;
        }
        let count = match state.tree().value(count_var) {
            Some(v) => atol(v).clamp(0, MAX_TEMPLATE_INSTANCES),
            None => {
                // guestimate_template_count: consecutive answers from the base.
                let Some(oid) = &e.oid else { return };
                let base = match ctx.raw(&fill(oid, &[0])) {
                    None => return,
                    Some(Reply::Value(v)) if !v.is_exception() => 0,
                    Some(_) => 1,
                };
                let mut n = 0;
                while n < MAX_TEMPLATE_INSTANCES {
                    match ctx.raw(&fill(oid, &[base + n])) {
                        None => return,
                        Some(Reply::Value(v)) if !v.is_exception() => n += 1,
                        Some(_) => break,
                    }
                }
                if n > 0 {
                    Self::set(state, out, count_var, &n.to_string());
                }
                n
            }
        };
        if count == 0 {
            return;
        }
        let base = match self.bases.get(&kind) {
            Some(b) => *b,
            None => {
                let Some(oid) = &e.oid else { return };
                let Some(base) = self.base_index(ctx, oid, self.flags[i]) else {
                    return;
                };
                self.bases.insert(kind, base);
                base
            }
        };
        for n in base..base + count {
            let name = fill(&e.name, &[n]);
            if e.is_command() {
                Self::emit(state, out, DriverLine::AddCmd { cmd: name });
                continue;
            }
            let f = *self.instances.entry((i, n)).or_insert(self.flags[i]);
            if walk == Walk::Update && f & flag::OK == 0 {
                continue;
            }
            let mut inst = e.clone();
            inst.dfl = e.dfl.as_ref().map(|d| {
                if d.contains("%i") {
                    fill(d, &[n])
                } else {
                    d.clone()
                }
            });
            match &e.oid {
                None => self.setinfo(state, out, &inst, &name, None),
                Some(oid) => {
                    let saved = self.flags[i];
                    self.flags[i] = f;
                    self.get_and_process(
                        state,
                        ctx,
                        out,
                        walk,
                        i,
                        &inst,
                        &name,
                        Some(self.instance_oid(oid, e.flags, n)),
                        status,
                        alarms,
                    );
                    self.instances.insert((i, n), self.flags[i]);
                    self.flags[i] = saved;
                }
            }
        }
    }

    /// `get_and_process_data` (with `su_ups_get`).
    #[allow(clippy::too_many_arguments)]
    fn get_and_process(
        &mut self,
        state: &mut DriverState,
        ctx: &mut Ctx,
        out: &mut Walked,
        walk: Walk,
        i: usize,
        e: &Info,
        name: &str,
        oid: Option<String>,
        status: &mut Vec<String>,
        alarms: &mut Vec<String>,
    ) {
        let ok = self.ups_get(state, ctx, out, i, e, name, oid.as_deref(), status, alarms);
        let f = &mut self.flags[i];
        if ok {
            if *f & flag::STALE != 0 {
                out.notes.push(Note::Log(
                    Level::Info,
                    format!("get_and_process_data: data resumed for {name}"),
                ));
                *f &= !flag::STALE;
            }
            if *f & flag::UNIQUE != 0 {
                *f &= !flag::UNIQUE;
                self.disable_competition(i, name);
            }
        } else if walk == Walk::Init {
            *f &= !flag::OK;
        } else if *f & flag::STALE == 0 {
            out.notes.push(Note::Log(
                Level::Info,
                format!("snmp_ups_walk: data stale for {name}"),
            ));
            *f |= flag::STALE;
        }
    }

    fn disable_competition(&mut self, winner: usize, name: &str) {
        for (j, e) in self.mib().info.iter().enumerate() {
            if j != winner && e.name == name {
                self.flags[j] &= !flag::OK;
            }
        }
    }

    fn lookup(&self, e: &Info) -> Option<&'static [LookupRow]> {
        e.lookup.map(|l| self.mib().lookups[l].as_slice())
    }

    #[allow(clippy::too_many_arguments)]
    fn ups_get(
        &mut self,
        state: &mut DriverState,
        ctx: &mut Ctx,
        out: &mut Walked,
        i: usize,
        e: &Info,
        name: &str,
        oid: Option<&str>,
        status: &mut Vec<String>,
        alarms: &mut Vec<String>,
    ) -> bool {
        let lookup = self.lookup(e);
        if name.eq_ignore_ascii_case("ups.status") {
            let Some(v) = oid.and_then(|o| ctx.int(o)) else {
                return false;
            };
            if let Some(s) = lookup.and_then(|l| find_infoval(l, v, &mut self.units)) {
                if !s.is_empty() {
                    status.push(s);
                }
            }
            return true;
        }
        if name.ends_with(".alarm") {
            let Some(v) = oid.and_then(|o| ctx.int(o)) else {
                return false;
            };
            if let Some(s) = lookup.and_then(|l| find_infoval(l, v, &mut self.units)) {
                if !s.is_empty() {
                    alarms.push(alarm_text(name, e.flags, s));
                }
            }
            return true;
        }
        // powerware's alarm table walk: never published as a variable (not yet walked).
        if name.eq_ignore_ascii_case("ups.alarms") {
            return true;
        }
        if name == "ambient.temperature" {
            let Some(oid) = oid else { return false };
            let Some(v) = ctx.int(oid) else { return false };
            let t = if key(oid) == "1.3.6.1.4.1.318.1.1.10.2.3.2.1.4.1" {
                match ctx.int(".1.3.6.1.4.1.318.1.1.10.2.3.2.1.5.1") {
                    Some(2) | None => (v as f64 - 32.0) / 1.8,
                    Some(_) => v as f64,
                }
            } else {
                v as f64 * e.info_len
            };
            self.setinfo(state, out, e, name, Some(&format!("{t:.1}")));
            return true;
        }
        let Some(oid) = oid else {
            if e.dfl.is_some() {
                self.setinfo(state, out, e, name, None);
                return true;
            }
            return false;
        };
        let value = if e.info_flags & st::STRING != 0 {
            let Some(mut text) = ctx.text(oid, lookup, &mut self.units) else {
                return false;
            };
            if self.opts.symmetrathreephase
                && (name == "input.transfer.low" || name == "input.transfer.high")
            {
                text = format!("{:.2}", crate::qx::strtod(&text) * 0.707);
            }
            find_strval(lookup, text)
        } else {
            let Some(v) = ctx.int(oid) else { return false };
            let f = self.flags[i];
            if (f & flag::NEGINVALID != 0 && v < 0) || (f & flag::ZEROINVALID != 0 && v == 0) {
                self.flags[i] &= !flag::OK;
                if f & flag::UNIQUE != 0 {
                    self.flags[i] &= !flag::UNIQUE;
                    self.disable_competition(i, name);
                }
                return false;
            }
            match lookup.and_then(|l| find_infoval(l, v, &mut self.units)) {
                Some(s) => s,
                None => format_scaled(v, multiplier(e)),
            }
        };
        self.setinfo(state, out, e, name, Some(&value));
        true
    }

    /// `su_setinfo`: the value (or the default), its flags, its enums.
    fn setinfo(
        &self,
        state: &mut DriverState,
        out: &mut Walked,
        e: &Info,
        name: &str,
        value: Option<&str>,
    ) {
        if e.is_command() || name.eq_ignore_ascii_case("ups.status") || name.ends_with(".alarm") {
            return;
        }
        let Some(value) = value.or(e.dfl.as_deref()) else {
            return;
        };
        if state.tree().get(name).is_some_and(|v| v.flags.immutable) {
            return;
        }
        Self::set(state, out, name, value);
        let rw = e.info_flags & st::RW != 0;
        let string = e.info_flags & st::STRING != 0;
        if rw || string {
            let mut words = Vec::new();
            if rw {
                words.push("RW".to_string());
            }
            if string {
                words.push("STRING".to_string());
            }
            let changed = state
                .tree()
                .get(name)
                .is_some_and(|v| v.flags.rw != rw || v.flags.string != string);
            if changed {
                Self::emit(
                    state,
                    out,
                    DriverLine::SetFlags {
                        var: name.to_string(),
                        flags: words,
                    },
                );
            }
            let aux = e.info_len as i64;
            if string && state.tree().get(name).is_some_and(|v| v.aux != aux) {
                Self::emit(
                    state,
                    out,
                    DriverLine::SetAux {
                        var: name.to_string(),
                        aux,
                    },
                );
            }
        }
        if rw {
            if let Some(rows) = self.lookup(e) {
                for r in rows.iter().take_while(|r| r.text != "NULL") {
                    Self::emit(
                        state,
                        out,
                        DriverLine::AddEnum {
                            var: name.to_string(),
                            value: r.text.clone(),
                        },
                    );
                }
            }
        }
    }

    /// The table entry for `name` (`su_find_info`, outlet names through their template)
    /// with the index it takes.
    fn find(&self, name: &str) -> Option<(usize, Option<i64>)> {
        let mib = self.mib();
        if let Some(i) = mib
            .info
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(name))
        {
            return Some((i, None));
        }
        // outlet.N.rest / outlet.group.N.rest
        let (prefix, rest) = if let Some(r) = name.strip_prefix("outlet.group.") {
            ("outlet.group.", r)
        } else {
            ("outlet.", name.strip_prefix("outlet.")?)
        };
        let (n, tail) = rest.split_once('.')?;
        let n: i64 = n.parse().ok()?;
        let template = format!("{prefix}%i.{tail}");
        let i = mib
            .info
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(&template))?;
        Some((i, Some(n)))
    }

    /// An instant command as a SET (`su_instcmd`).
    pub fn command(
        &self,
        state: &DriverState,
        cmd: &str,
        extra: Option<&str>,
    ) -> Result<Set, Refused> {
        self.set_oid(state, cmd, extra, true)
    }

    /// SET VAR as a SET (`su_setvar`).
    pub fn set_var(&self, state: &DriverState, var: &str, value: &str) -> Result<Set, Refused> {
        self.set_oid(state, var, Some(value), false)
    }

    fn set_oid(
        &self,
        state: &DriverState,
        name: &str,
        arg: Option<&str>,
        instcmd: bool,
    ) -> Result<Set, Refused> {
        let (i, n) = self.find(name).ok_or(Refused::Unknown)?;
        let e = &self.mib().info[i];
        if self.flags[i] & flag::OK == 0 {
            return Err(Refused::Unknown);
        }
        if let Some(n) = n {
            let count_var = if e.flags & flag::OUTLET_GROUP != 0 {
                "outlet.group.count"
            } else {
                "outlet.count"
            };
            let count = state.tree().value(count_var).map_or(0, atol);
            if n > count {
                return Err(Refused::Invalid);
            }
        }
        let oid = e.oid.as_ref().ok_or(Refused::Unknown)?;
        let oid = match n {
            Some(n) => self.instance_oid(oid, e.flags, n),
            None => self.device_oid(oid),
        };
        let given = arg.or(e.dfl.as_deref());
        if instcmd && given.is_none() {
            return Err(Refused::Invalid);
        }
        let value = if e.info_flags & st::STRING != 0 {
            Value::OctetString(given.unwrap_or("").as_bytes().to_vec())
        } else {
            let text = given.ok_or(Refused::Invalid)?;
            let v = if instcmd {
                text.trim().parse::<i64>().map_err(|_| Refused::Invalid)?
            } else if let Some(rows) = self.lookup(e) {
                rows.iter()
                    .take_while(|r| r.text != "NULL")
                    .find(|r| r.text == text)
                    .map(|r| r.value)
                    .ok_or(Refused::Invalid)?
            } else {
                let v = text.trim().parse::<i64>().map_err(|_| Refused::Invalid)?;
                let m = multiplier(e);
                if m == 0.0 {
                    v
                } else {
                    (v as f64 / m) as i64
                }
            };
            if e.flags & (7 << 18) == flag::TYPE_TIME {
                Value::TimeTicks(
                    u32::try_from(v.saturating_mul(100)).map_err(|_| Refused::Invalid)?,
                )
            } else {
                Value::Integer(v)
            }
        };
        let what = match arg {
            Some(a) if !instcmd => format!("{name} {a}"),
            _ => name.to_string(),
        };
        Ok(Set { oid, value, what })
    }

    /// `set_delays`: ondelay/offdelay as SETs of ups.delay.start/ups.delay.shutdown.
    pub fn delays(&self, state: &DriverState) -> Vec<Set> {
        let mut sets = Vec::new();
        for (var, v) in [
            ("ups.delay.start", self.opts.ondelay),
            ("ups.delay.shutdown", self.opts.offdelay),
        ] {
            if let Some(v) = v.filter(|v| *v >= 0) {
                if let Ok(set) = self.set_var(state, var, &v.to_string()) {
                    sets.push(set);
                }
            }
        }
        sets
    }

    /// `-k` (`upsdrv_shutdown`, before initinfo: only entries the table itself marks
    /// OK): the commands to try in NUT's order; the first the agent takes ends it.
    pub fn shutdown_candidates(&self, state: &DriverState) -> Vec<Set> {
        let table_only = SnmpUps {
            flags: self.mib().info.iter().map(|i| i.flags).collect(),
            ..self.clone()
        };
        ["shutdown.return", "shutdown.reboot", "load.off.delay"]
            .iter()
            .filter_map(|c| table_only.command(state, c, None).ok())
            .collect()
    }
}

/// A SET's outcome from the agent's reply.
pub fn set_taken(reply: &Reply) -> bool {
    matches!(reply, Reply::Value(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_name_their_outlet_or_phase_as_nut_words_them() {
        let t = |name: &str, flags: u32| alarm_text(name, flags, "high current".to_string());
        assert_eq!(t("outlet.3.alarm", flag::OUTLET), "outlet 3 high current");
        assert_eq!(
            t("outlet.group.2.alarm", flag::OUTLET_GROUP),
            "outlet group 2 high current"
        );
        assert_eq!(t("L2.alarm", 0), "phase L2 high current");
        assert_eq!(t("device.6.L1.alarm", 0), "phase L1 high current");
        assert_eq!(t("ups.alarm", 0), "high current");
    }

    #[test]
    fn time_entries_are_seconds_and_other_numbers_scale() {
        let apcc = mibs().iter().find(|m| m.name == "apcc").unwrap();
        let delay = apcc
            .info
            .iter()
            .find(|i| i.name == "ups.delay.shutdown")
            .unwrap();
        assert_eq!(delay.info_len, 3.0, "NUT's table gives it a field size");
        assert_eq!(multiplier(delay), 1.0);
        let voltage = apcc
            .info
            .iter()
            .find(|i| i.name == "input.voltage")
            .unwrap();
        assert_eq!(multiplier(voltage), voltage.info_len);
        assert_eq!(format_scaled(5385, 0.1), "538.50");
        assert_eq!(format_scaled(2300, 0.1), "230");
        assert_eq!(format_scaled(-5, 0.1), "-0.50");
    }

    #[test]
    fn v3_options_are_checked_with_nut_s_messages() {
        let opts = |pairs: &[(&str, &str)]| {
            let v: Vec<(String, Option<String>)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect();
            SnmpOptions::from_options(&v)
        };
        assert_eq!(
            opts(&[("snmp_version", "v3")]).unwrap_err(),
            "securityName is required for SNMPv3"
        );
        assert_eq!(
            opts(&[
                ("snmp_version", "v3"),
                ("secName", "u"),
                ("secLevel", "authPriv"),
                ("authPassword", "abcdefgh"),
                ("privPassword", "short")
            ])
            .unwrap_err(),
            "Error generating Ku from privacy pass phrase"
        );
        assert_eq!(
            opts(&[
                ("snmp_version", "v3"),
                ("secName", "u"),
                ("authProtocol", "SHA1")
            ])
            .unwrap_err(),
            "Bad SNMPv3 authProtocol: SHA1"
        );
        let ok = opts(&[
            ("snmp_version", "v3"),
            ("secName", "u"),
            ("secLevel", "authNoPriv"),
            ("authPassword", "abcdefgh"),
            ("authProtocol", "SHA256"),
        ])
        .unwrap();
        let v3 = ok.v3.unwrap();
        assert_eq!(
            (v3.level, v3.auth_protocol),
            (SecLevel::AuthNoPriv, AuthProtocol::Sha256)
        );
        assert_eq!(
            opts(&[("mibs", "nope")]).unwrap_err(),
            "Unknown 'mibs' value: nope"
        );
    }
}
