//! ups.conf: the device list shared by the drivers, upsdrvctl and upsd
//! (nut-reference.md §5.2).
//!
//! Global `key = value` lines and flags come before the first `[upsname]` section; each
//! section holds `key = value` options and single-word flags. As in NUT, lines of
//! exactly two words, or of three or more words whose second word is not `=`, are
//! ignored (here with a warning), and only the first word after `=` is used.

use super::{bad_number, section_name, usable_lines, warn_extra, Diags, Parsed};
use crate::tokenizer::Line;

/// The whole of ups.conf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsConf {
    /// Global `statepath` (directory of the driver sockets).
    pub statepath: Option<String>,
    /// Global `driverpath`.
    pub driverpath: Option<String>,
    /// Global `user` the drivers run as.
    pub user: Option<String>,
    /// Global `maxstartdelay` in seconds (NUT default 75).
    pub maxstartdelay_s: u64,
    /// Global `maxretry` (NUT default 1).
    pub maxretry: u32,
    /// Global `retrydelay` in seconds (NUT default 5).
    pub retrydelay_s: u64,
    /// Global `pollinterval` in seconds (NUT default 2).
    pub pollinterval_s: u64,
    /// Global `nowait` flag.
    pub nowait: bool,
    /// Every global key (value `Some`) or flag (`None`), in file order.
    pub globals: Vec<(String, Option<String>)>,
    /// The `[upsname]` sections in file order (duplicates and `[default]` left out).
    pub upses: Vec<UpsSection>,
}

/// One `[upsname]` section of ups.conf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsSection {
    /// The name between the brackets.
    pub name: String,
    /// Line of the `[name]` header.
    pub line: usize,
    /// `driver` (required).
    pub driver: Option<String>,
    /// `port` (required).
    pub port: Option<String>,
    /// `desc`.
    pub desc: Option<String>,
    /// `sdorder` (default 0; -1 = left out of `upsdrvctl shutdown`).
    pub sdorder: i32,
    /// Per-UPS `maxstartdelay` in seconds.
    pub maxstartdelay_s: Option<u64>,
    /// Per-UPS `pollinterval` in seconds.
    pub pollinterval_s: Option<u64>,
    /// The `ignorelb` flag.
    pub ignorelb: bool,
    /// `override.<var> = value`, stored as `(<var>, value)`.
    pub overrides: Vec<(String, String)>,
    /// `default.<var> = value`, stored as `(<var>, value)`.
    pub defaults: Vec<(String, String)>,
    /// Every `key = value` (value `Some`) and flag (`None`) of the section in file
    /// order, including driver, port and desc.
    pub options: Vec<(String, Option<String>)>,
}

impl UpsSection {
    /// The value of the last `key = value` line for `key` (case-sensitive).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, v)| k == key && v.is_some())
            .and_then(|(_, v)| v.as_deref())
    }

    /// True when the single-word flag `flag` is present (case-sensitive).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.options.iter().any(|(k, v)| k == flag && v.is_none())
    }
}

impl UpsConf {
    /// The section called `name`, compared case-insensitively as upsd does.
    pub fn find(&self, name: &str) -> Option<&UpsSection> {
        self.upses
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }

    fn empty() -> Self {
        UpsConf {
            maxstartdelay_s: 75,
            maxretry: 1,
            retrydelay_s: 5,
            pollinterval_s: 2,
            ..UpsConf::default()
        }
    }
}

const SECONDS: &str = "a whole number of seconds";

fn seconds(diags: &mut Diags, line: &Line, key: &str, value: &str) -> Option<u64> {
    let parsed = super::parse_unsigned(value);
    if parsed.is_none() {
        bad_number(diags, line, key, SECONDS, value);
    }
    parsed
}

/// Where lines currently go.
enum Target {
    Global,
    Section(Box<UpsSection>),
    /// A rejected section: its lines are read but dropped.
    Ignored,
}

fn close_section(target: Target, conf: &mut UpsConf, diags: &mut Diags) {
    if let Target::Section(section) = target {
        let missing: Vec<String> = [
            ("driver", section.driver.is_none()),
            ("port", section.port.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(k, _)| format!("no {k} setting"))
        .collect();
        if !missing.is_empty() {
            diags.push(
                section.line,
                1,
                &format!("[{}]", section.name),
                super::Severity::Error,
                format!(
                    "UPS [{}] has {}; upsd ignores this section",
                    section.name,
                    missing.join(" and ")
                ),
            );
        }
        conf.upses.push(*section);
    }
}

/// Parses ups.conf; `file` is used only in diagnostics.
pub fn parse_ups_conf(file: &str, text: &[u8]) -> Parsed<UpsConf> {
    let mut diags = Diags::new(file);
    let mut conf = UpsConf::empty();
    let mut target = Target::Global;

    for line in usable_lines(text, &mut diags) {
        let words = &line.words;
        let first = words[0].as_str();

        if first.starts_with('[') {
            let Some(name) = section_name(first) else {
                diags.error(
                    &line,
                    first,
                    "section header lacks its closing ']' (quote or escape names with spaces)",
                );
                close_section(
                    std::mem::replace(&mut target, Target::Ignored),
                    &mut conf,
                    &mut diags,
                );
                continue;
            };
            warn_extra(&mut diags, &line, first, 1);
            close_section(
                std::mem::replace(&mut target, Target::Ignored),
                &mut conf,
                &mut diags,
            );
            if name.is_empty() {
                diags.error(&line, first, "empty UPS name; section ignored");
            } else if name.eq_ignore_ascii_case("default") {
                diags.error(
                    &line,
                    first,
                    "the section name \"default\" is reserved; section ignored",
                );
            } else if conf.find(name).is_some() {
                diags.error(
                    &line,
                    first,
                    format!("UPS name [{name}] is already in use! Section ignored"),
                );
            } else {
                target = Target::Section(Box::new(UpsSection {
                    name: name.to_string(),
                    line: line.line_no,
                    ..UpsSection::default()
                }));
            }
            continue;
        }

        let (key, value) = match words.len() {
            1 => (first, None),
            2 => {
                diags.warning(
                    &line,
                    first,
                    format!(
                        "line of two words ignored (expected \"{first} = value\" or a single flag)"
                    ),
                );
                continue;
            }
            _ if words[1] != "=" => {
                diags.warning(
                    &line,
                    first,
                    format!(
                        "line ignored: second word is {:?}, expected \"=\"",
                        words[1]
                    ),
                );
                continue;
            }
            _ => {
                warn_extra(&mut diags, &line, first, 3);
                (first, Some(words[2].as_str()))
            }
        };

        match &mut target {
            Target::Ignored => {}
            Target::Global => global(&mut conf, &mut diags, &line, key, value),
            Target::Section(section) => ups_option(section, &mut diags, &line, key, value),
        }
    }
    close_section(target, &mut conf, &mut diags);
    diags.finish(conf)
}

fn global(conf: &mut UpsConf, diags: &mut Diags, line: &Line, key: &str, value: Option<&str>) {
    conf.globals
        .push((key.to_string(), value.map(str::to_string)));
    let Some(value) = value else {
        if key == "nowait" {
            conf.nowait = true;
        }
        return;
    };
    match key {
        "statepath" => conf.statepath = Some(value.to_string()),
        "driverpath" => conf.driverpath = Some(value.to_string()),
        "user" => conf.user = Some(value.to_string()),
        "maxstartdelay" => {
            if let Some(v) = seconds(diags, line, key, value) {
                conf.maxstartdelay_s = v;
            }
        }
        "retrydelay" => {
            if let Some(v) = seconds(diags, line, key, value) {
                conf.retrydelay_s = v;
            }
        }
        "pollinterval" => {
            if let Some(v) = seconds(diags, line, key, value) {
                conf.pollinterval_s = v;
            }
        }
        "maxretry" => match super::parse_unsigned(value).and_then(|v| u32::try_from(v).ok()) {
            Some(v) => conf.maxretry = v,
            None => bad_number(diags, line, key, "a whole number of attempts", value),
        },
        "nowait" => match super::parse_bool(value) {
            Some(v) => conf.nowait = v,
            None => diags.error(line, key, format!("expected yes or no, got {value:?}")),
        },
        _ => {}
    }
}

fn ups_option(
    section: &mut UpsSection,
    diags: &mut Diags,
    line: &Line,
    key: &str,
    value: Option<&str>,
) {
    section
        .options
        .push((key.to_string(), value.map(str::to_string)));
    let Some(value) = value else {
        if key == "ignorelb" {
            section.ignorelb = true;
        }
        return;
    };
    if let Some(var) = key.strip_prefix("override.") {
        section.overrides.push((var.to_string(), value.to_string()));
        return;
    }
    if let Some(var) = key.strip_prefix("default.") {
        section.defaults.push((var.to_string(), value.to_string()));
        return;
    }
    match key {
        "driver" => section.driver = Some(value.to_string()),
        "port" => section.port = Some(value.to_string()),
        "desc" => section.desc = Some(value.to_string()),
        "sdorder" => match super::parse_signed(value).and_then(|v| i32::try_from(v).ok()) {
            Some(v) => section.sdorder = v,
            None => bad_number(diags, line, key, "a whole number (-1 to exclude)", value),
        },
        "maxstartdelay" => {
            section.maxstartdelay_s = seconds(diags, line, key, value).or(section.maxstartdelay_s)
        }
        "pollinterval" => {
            section.pollinterval_s = seconds(diags, line, key, value).or(section.pollinterval_s)
        }
        "maxretry" | "retrydelay" if super::parse_unsigned(value).is_none() => {
            bad_number(diags, line, key, "a whole number", value);
        }
        _ => {}
    }
}
