//! snmp-ups' mapping tables: NUT's `mib2nut[]` (drivers/snmp-ups.c) with every
//! `snmp_info_t`, `info_lkp_t` and `alarms_info_t` of NUT's drivers/*-mib.c, in NUT's
//! order. The data is `snmp_mibs.tsv`, generated from NUT's own sources by
//! `xtask/snmp-mibs/gen.sh` (it compiles NUT's tables and prints them), so the
//! mappings are NUT's, not a transcription.

use std::sync::OnceLock;

/// `snmp_info_t.flags` bits (NUT's drivers/snmp-ups.h).
pub mod flag {
    /// Show the element (internal to the driver).
    pub const OK: u32 = 1 << 0;
    /// Read once.
    pub const STATIC: u32 = 1 << 1;
    /// Absent in the device: the default value is used.
    pub const ABSENT: u32 = 1 << 2;
    /// Stale, retried after [`super::STALE_RETRY`] walks.
    pub const STALE: u32 = 1 << 3;
    /// A negative value is invalid.
    pub const NEGINVALID: u32 = 1 << 4;
    /// Only one provider of this variable: the others are disabled.
    pub const UNIQUE: u32 = 1 << 5;
    /// A "0" value is invalid.
    pub const ZEROINVALID: u32 = 1 << 6;
    /// An "N/A" value is invalid.
    pub const NAINVALID: u32 = 1 << 7;
    /// Add 1 to the OID's index (commands).
    pub const CMD_OFFSET: u32 = 1 << 8;
    /// Refreshed once in `semistaticfreq` walks.
    pub const SEMI_STATIC: u32 = 1 << 9;
    /// Outlet group template.
    pub const OUTLET_GROUP: u32 = 1 << 10;
    /// Outlet template.
    pub const OUTLET: u32 = 1 << 11;
    /// Only with 1 input phase.
    pub const INPUT_1: u32 = 1 << 12;
    /// Only with 3 input phases.
    pub const INPUT_3: u32 = 1 << 13;
    /// Only with 1 output phase.
    pub const OUTPUT_1: u32 = 1 << 14;
    /// Only with 3 output phases.
    pub const OUTPUT_3: u32 = 1 << 15;
    /// Only with 1 bypass phase.
    pub const BYPASS_1: u32 = 1 << 16;
    /// Only with 3 bypass phases.
    pub const BYPASS_3: u32 = 1 << 17;
    /// All the phase bits.
    pub const PHASES: u32 = 0x3f << 12;
    /// SET as an integer.
    pub const TYPE_INT: u32 = 1 << 18;
    /// SET as a time (an integer).
    pub const TYPE_TIME: u32 = 1 << 19;
    /// An instant command.
    pub const TYPE_CMD: u32 = 1 << 20;
    /// Daisychain index is the first `%i`.
    pub const TYPE_DAISY_1: u32 = 1 << 21;
    /// Daisychain index is the second `%i`.
    pub const TYPE_DAISY_2: u32 = 1 << 22;
    /// Daisychain template (set at run time).
    pub const DAISY: u32 = 1 << 23;
    /// Only for the daisychain master.
    pub const TYPE_DAISY_MASTER_ONLY: u32 = 1 << 24;
    /// Ambient sensor template.
    pub const AMBIENT_TEMPLATE: u32 = 1 << 26;
    /// Power status element of ups.status.
    pub const STATUS_PWR: u32 = 1 << 28;
    /// Battery status element.
    pub const STATUS_BATT: u32 = 1 << 29;
    /// Calibration status element.
    pub const STATUS_CAL: u32 = 1 << 30;
    /// Replace-battery status element.
    pub const STATUS_RB: u32 = 1 << 31;
    /// Any status element.
    pub const STATUS: u32 = STATUS_PWR | STATUS_BATT | STATUS_CAL | STATUS_RB;
}

/// `ST_FLAG_*` of `info_flags` (NUT's include/extstate.h).
pub mod st {
    /// Writable.
    pub const RW: u32 = 0x0001;
    /// A string (`info_len` is its size, not a multiplier).
    pub const STRING: u32 = 0x0002;
}

/// Walks after which a stale element is tried again (NUT's SU_STALE_RETRY).
pub const STALE_RETRY: u32 = 10;

/// A conversion function a lookup row names instead of a fixed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fun {
    /// `su_usdate_to_isodate_info_fun`: mm/dd/yyyy to yyyy-mm-dd.
    UsDateToIso,
    /// `su_temperature_read_fun`: tenths in the unit last seen, to Celsius.
    TemperatureRead,
    /// `eaton_sensor_temperature_unit_fun`: remembers the unit, publishes "celsius".
    TemperatureUnit,
    /// A function this implementation does not know (never in NUT 2.8.0's tables).
    Unknown,
}

/// One row of an `info_lkp_t` table.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupRow {
    /// The SNMP value.
    pub value: i64,
    /// The NUT text.
    pub text: String,
    /// A conversion function, used instead of `text` when present.
    pub fun: Option<Fun>,
    /// A text-to-number function (NUT's `nuf_s2l`).
    pub nuf: Option<Nuf>,
}

/// A text-to-number function a lookup row names (NUT's `nuf_s2l`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nuf {
    /// `marlin_device_count_fun`: the number of units in "0,3,4" (commas + 1).
    MarlinDeviceCount,
    /// A function this implementation does not know.
    Unknown,
}

/// One `snmp_info_t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// NUT variable or command name, maybe a template with `%i`.
    pub name: String,
    /// `ST_FLAG_*`.
    pub info_flags: u32,
    /// String size (strings) or multiplier (numbers).
    pub info_len: f64,
    /// The OID, maybe a template; `None` for server-side values.
    pub oid: Option<String>,
    /// The default value.
    pub dfl: Option<String>,
    /// `SU_*` flags.
    pub flags: u32,
    /// Index into [`Mib::lookups`].
    pub lookup: Option<usize>,
}

impl Info {
    /// True for instant commands.
    pub fn is_command(&self) -> bool {
        self.flags & (7 << 18) == flag::TYPE_CMD
    }
}

/// One `alarms_info_t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// The OID whose presence raises the alarm.
    pub oid: Option<String>,
    /// A status token to set.
    pub status: Option<String>,
    /// An alarm text.
    pub alarm: Option<String>,
}

/// One `mib2nut_info_t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mib {
    /// mib_name, as `mibs=` names it.
    pub name: String,
    /// mib_version.
    pub version: String,
    /// oid_pwr_status.
    pub pwr_status: Option<String>,
    /// oid_auto_check.
    pub auto_check: Option<String>,
    /// sysOID.
    pub sysoid: Option<String>,
    /// The mapping, in the table's order.
    pub info: Vec<Info>,
    /// The lookup tables the mapping refers to.
    pub lookups: Vec<Vec<LookupRow>>,
    /// The alarms.
    pub alarms: Vec<Alarm>,
}

const DATA: &str = include_str!("snmp_mibs.tsv");

/// Every mapping, in NUT's `mib2nut[]` order.
pub fn mibs() -> &'static [Mib] {
    static MIBS: OnceLock<Vec<Mib>> = OnceLock::new();
    MIBS.get_or_init(|| parse(DATA))
}

fn unescape(field: &str) -> Option<String> {
    if field == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn fun(name: &str) -> Option<Fun> {
    match name {
        "\\N" => None,
        "su_usdate_to_isodate_info_fun" => Some(Fun::UsDateToIso),
        "su_temperature_read_fun" => Some(Fun::TemperatureRead),
        "eaton_sensor_temperature_unit_fun" => Some(Fun::TemperatureUnit),
        _ => Some(Fun::Unknown),
    }
}

/// Parses the generated table. The data is generated and tested, so a malformed line
/// is skipped rather than reported.
fn parse(data: &str) -> Vec<Mib> {
    let mut mibs: Vec<Mib> = Vec::new();
    // Lookup table names of each mib, by index, and every table's rows by name.
    let mut names: Vec<Vec<String>> = Vec::new();
    let mut rows: std::collections::BTreeMap<String, Vec<LookupRow>> = Default::default();
    for line in data.lines() {
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        match (f[0], mibs.last_mut()) {
            ("mib", _) if f.len() == 6 => {
                names.push(Vec::new());
                mibs.push(Mib {
                    name: unescape(f[1]).unwrap_or_default(),
                    version: unescape(f[2]).unwrap_or_default(),
                    pwr_status: unescape(f[3]),
                    auto_check: unescape(f[4]),
                    sysoid: unescape(f[5]),
                    info: Vec::new(),
                    lookups: Vec::new(),
                    alarms: Vec::new(),
                });
            }
            ("info", Some(mib)) if f.len() == 8 => {
                let names = names.last_mut().expect("a mib line came first");
                let lookup = (f[7] != "\\N").then(|| table(names, f[7]));
                mib.info.push(Info {
                    name: unescape(f[1]).unwrap_or_default(),
                    info_flags: f[2].parse().unwrap_or(0),
                    info_len: f[3].parse().unwrap_or(0.0),
                    oid: unescape(f[4]),
                    dfl: unescape(f[5]),
                    flags: f[6].parse().unwrap_or(0),
                    lookup,
                });
            }
            // Each table is printed once, under the first mib that uses it.
            ("lkp", Some(_)) if f.len() == 6 => {
                rows.entry(f[1].to_string()).or_default().push(LookupRow {
                    value: f[2].parse().unwrap_or(0),
                    text: unescape(f[3]).unwrap_or_default(),
                    fun: fun(f[4]),
                    nuf: match f[5] {
                        "\\N" => None,
                        "marlin_device_count_fun" => Some(Nuf::MarlinDeviceCount),
                        _ => Some(Nuf::Unknown),
                    },
                })
            }
            ("alarm", Some(mib)) if f.len() == 4 => mib.alarms.push(Alarm {
                oid: unescape(f[1]),
                status: unescape(f[2]),
                alarm: unescape(f[3]),
            }),
            _ => {}
        }
    }
    for (mib, names) in mibs.iter_mut().zip(names) {
        mib.lookups = names
            .iter()
            .map(|n| rows.get(n).cloned().unwrap_or_default())
            .collect();
    }
    mibs
}

/// The index of lookup table `name` among a mib's tables, added on first mention.
fn table(names: &mut Vec<String>, name: &str) -> usize {
    if let Some(i) = names.iter().position(|n| n == name) {
        return i;
    }
    names.push(name.to_string());
    names.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapping_of_nut_is_there_in_order() {
        let names: Vec<&str> = mibs().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 30);
        assert_eq!(names[0], "apc_ats");
        assert_eq!(&names[28..], ["tripplite", "ietf"]);
        let ietf = &mibs()[29];
        assert_eq!(ietf.pwr_status.as_deref(), Some("1.3.6.1.2.1.33.1.4.1.0"));
        let status = ietf
            .info
            .iter()
            .find(|i| i.name == "ups.status" && i.flags & flag::STATUS_PWR != 0)
            .unwrap();
        assert_eq!(status.oid.as_deref(), ietf.pwr_status.as_deref());
        let rows = &ietf.lookups[status.lookup.unwrap()];
        assert!(rows.iter().any(|r| r.value == 5 && r.text == "OB"));
    }

    #[test]
    fn functions_and_unterminated_tables_are_resolved() {
        let apcc = mibs().iter().find(|m| m.name == "apcc").unwrap();
        let reason = apcc
            .info
            .iter()
            .find(|i| i.name == "input.transfer.reason")
            .unwrap();
        let rows = &apcc.lookups[reason.lookup.unwrap()];
        assert_eq!(rows.last().unwrap().text, "rateOfVoltageChange");
        let funs: Vec<Fun> = mibs()
            .iter()
            .flat_map(|m| m.lookups.iter().flatten())
            .filter_map(|r| r.fun)
            .collect();
        assert!(funs.contains(&Fun::UsDateToIso) && funs.contains(&Fun::TemperatureRead));
        assert!(!funs.contains(&Fun::Unknown));
    }
}
