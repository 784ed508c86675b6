//! upsmon.conf: what upsmon watches and how it shuts the system down
//! (nut-reference.md §3.2, ecosystem.md §3.8).
//!
//! Keywords are case-sensitive except `DEBUG_MIN`. Besides per-line problems, the
//! parser reports upsmon's start-up checks: no `MONITOR` line and a sum of power values
//! below `MINSUPPLIES` ("insufficient power configured", fatal in NUT) are errors, a
//! missing `POWERDOWNFLAG` is a warning.

use std::collections::BTreeMap;

use super::{
    bad_number, parse_bool, parse_signed, parse_unsigned, usable_lines, Diagnostic, Diags, Parsed,
    Severity,
};
use crate::notify::{NotifyFlags, NotifyType};
use crate::tokenizer::Line;

/// Default upsd port.
const DEFAULT_PORT: u16 = 3493;

/// One `MONITOR` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// The system name exactly as written, e.g. `myups@localhost`.
    pub system: String,
    /// The UPS name part.
    pub ups: String,
    /// The host part (default `localhost`; IPv6 without brackets).
    pub host: String,
    /// The port part (default 3493).
    pub port: u16,
    /// Number of power supplies this UPS feeds (0 = monitor only).
    pub power_value: u32,
    /// upsd user name.
    pub username: String,
    /// upsd password.
    pub password: String,
    /// True for `primary`/`master`, false for any other role word.
    pub primary: bool,
    /// Line of the MONITOR directive.
    pub line: usize,
}

/// `SHUTDOWNEXIT`: whether upsmon exits after running SHUTDOWNCMD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownExit {
    /// Exit right away (default).
    Yes,
    /// Never exit (keep the login until killed).
    No,
    /// Exit after this many seconds.
    AfterSeconds(u64),
}

/// The whole of upsmon.conf.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsmonConf {
    /// `MONITOR` lines in order (duplicates left out).
    pub monitors: Vec<Monitor>,
    /// `MINSUPPLIES` (default 1).
    pub minsupplies: u32,
    /// `SHUTDOWNCMD` (words joined by spaces).
    pub shutdowncmd: Option<String>,
    /// `NOTIFYCMD` (words joined by spaces).
    pub notifycmd: Option<String>,
    /// `NOTIFYMSG` overrides.
    pub notify_messages: BTreeMap<NotifyType, String>,
    /// `NOTIFYFLAG` overrides.
    pub notify_flags: BTreeMap<NotifyType, NotifyFlags>,
    /// `POLLFREQ` seconds (default 5).
    pub pollfreq_s: u64,
    /// `POLLFREQALERT` seconds (default 5).
    pub pollfreqalert_s: u64,
    /// `DEADTIME` seconds (default 15).
    pub deadtime_s: u64,
    /// `HOSTSYNC` seconds (default 15).
    pub hostsync_s: u64,
    /// `FINALDELAY` seconds (default 5).
    pub finaldelay_s: u64,
    /// `RBWARNTIME` seconds (default 43200).
    pub rbwarntime_s: u64,
    /// `NOCOMMWARNTIME` seconds (default 300).
    pub nocommwarntime_s: u64,
    /// `POWERDOWNFLAG` path.
    pub powerdownflag: Option<String>,
    /// `RUN_AS_USER`.
    pub run_as_user: Option<String>,
    /// `OFFDURATION` seconds (default 30; negative = never).
    pub offduration_s: i64,
    /// `OVERDURATION` seconds (default -1 = never).
    pub overduration_s: i64,
    /// `ALARMCRITICAL` (default true).
    pub alarmcritical: bool,
    /// `OBLBDURATION` seconds (default 0).
    pub oblbduration_s: i64,
    /// `SHUTDOWNEXIT` (default yes).
    pub shutdownexit: ShutdownExit,
    /// `POLLFAIL_LOG_THROTTLE_MAX` (default -1).
    pub pollfail_log_throttle_max: i64,
    /// `CERTPATH`.
    pub certpath: Option<String>,
    /// `CERTIDENT <name> <password>`.
    pub certident: Option<(String, String)>,
    /// `CERTHOST <host> <certname> <verify> <forcessl>`.
    pub certhosts: Vec<(String, String, bool, bool)>,
    /// `CERTVERIFY`.
    pub certverify: bool,
    /// `FORCESSL`.
    pub forcessl: bool,
    /// `DEBUG_MIN`.
    pub debug_min: Option<u32>,
    /// Line and column of the MINSUPPLIES directive, for [`upsmon_startup_checks`].
    pub minsupplies_at: Option<(usize, usize)>,
}

impl Default for UpsmonConf {
    fn default() -> Self {
        UpsmonConf {
            monitors: Vec::new(),
            minsupplies: 1,
            shutdowncmd: None,
            notifycmd: None,
            notify_messages: BTreeMap::new(),
            notify_flags: BTreeMap::new(),
            pollfreq_s: 5,
            pollfreqalert_s: 5,
            deadtime_s: 15,
            hostsync_s: 15,
            finaldelay_s: 5,
            rbwarntime_s: 43200,
            nocommwarntime_s: 300,
            powerdownflag: None,
            run_as_user: None,
            offduration_s: 30,
            overduration_s: -1,
            alarmcritical: true,
            oblbduration_s: 0,
            shutdownexit: ShutdownExit::Yes,
            pollfail_log_throttle_max: -1,
            certpath: None,
            certident: None,
            certhosts: Vec::new(),
            certverify: false,
            forcessl: false,
            debug_min: None,
            minsupplies_at: None,
        }
    }
}

impl UpsmonConf {
    /// The flags for `t`: as configured by NOTIFYFLAG, else [`NotifyFlags::default_for`].
    pub fn flags_for(&self, t: NotifyType) -> NotifyFlags {
        self.notify_flags
            .get(&t)
            .copied()
            .unwrap_or_else(|| NotifyFlags::default_for(t))
    }

    /// The message template for `t`: as configured by NOTIFYMSG, else the stock text.
    pub fn message_for(&self, t: NotifyType) -> &str {
        self.notify_messages
            .get(&t)
            .map(String::as_str)
            .unwrap_or_else(|| t.default_message())
    }
}

/// Parses "ups[@host[:port]]" (IPv6 as "[addr]:port"); errors for "ups:port" without @ and "@host" without ups.
pub fn parse_system_name(system: &str) -> Result<(String, String, u16), String> {
    let (ups, rest) = match system.split_once('@') {
        None => {
            if system.contains(':') {
                return Err(format!(
                    "{system:?} has a port but no host; write ups@host:port"
                ));
            }
            (system, None)
        }
        Some((ups, rest)) => (ups, Some(rest)),
    };
    if ups.is_empty() {
        return Err(format!("{system:?} has no UPS name before '@'"));
    }
    let Some(rest) = rest else {
        return Ok((ups.to_string(), "localhost".to_string(), DEFAULT_PORT));
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(format!("{system:?}: IPv6 address lacks its closing ']'"));
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("{system:?}: unexpected text {after:?} after ']'")),
            },
        }
    } else {
        match rest.split_once(':') {
            None => (rest, None),
            Some((host, port)) => (host, Some(port)),
        }
    };
    if host.is_empty() {
        return Err(format!("{system:?} has no host name after '@'"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match parse_unsigned(p).and_then(|v| u16::try_from(v).ok()) {
            Some(port) if port > 0 => port,
            _ => {
                return Err(format!(
                    "{system:?}: port {p:?} is not a TCP port number (1-65535)"
                ))
            }
        },
    };
    Ok((ups.to_string(), host.to_string(), port))
}

/// How many words each directive needs (including itself).
fn needed_words(directive: &str) -> Option<usize> {
    Some(match directive {
        "MONITOR" => 6,
        "CERTHOST" => 5,
        "NOTIFYMSG" | "NOTIFYFLAG" | "CERTIDENT" => 3,
        "MINSUPPLIES"
        | "SHUTDOWNCMD"
        | "NOTIFYCMD"
        | "POLLFREQ"
        | "POLLFREQALERT"
        | "DEADTIME"
        | "HOSTSYNC"
        | "FINALDELAY"
        | "RBWARNTIME"
        | "NOCOMMWARNTIME"
        | "POWERDOWNFLAG"
        | "RUN_AS_USER"
        | "OFFDURATION"
        | "OVERDURATION"
        | "ALARMCRITICAL"
        | "OBLBDURATION"
        | "SHUTDOWNEXIT"
        | "POLLFAIL_LOG_THROTTLE_MAX"
        | "CERTPATH"
        | "CERTFILE"
        | "CERTVERIFY"
        | "FORCESSL"
        | "DEBUG_MIN" => 2,
        _ => return None,
    })
}

fn boolean(diags: &mut Diags, line: &Line, directive: &str, value: &str) -> Option<bool> {
    let parsed = parse_bool(value);
    if parsed.is_none() {
        diags.error(
            line,
            directive,
            format!("expected 0 or 1 (or yes/no), got {value:?}"),
        );
    }
    parsed
}

/// Parses upsmon.conf; `file` is used only in diagnostics.
pub fn parse_upsmon_conf(file: &str, text: &[u8]) -> Parsed<UpsmonConf> {
    let mut diags = Diags::new(file);
    let mut conf = UpsmonConf::default();
    let mut minsupplies_line: Option<(usize, usize)> = None;

    for line in usable_lines(text, &mut diags) {
        let words = &line.words;
        let directive = if words[0].eq_ignore_ascii_case("DEBUG_MIN") {
            "DEBUG_MIN"
        } else {
            words[0].as_str()
        };
        let Some(needed) = needed_words(directive) else {
            let hint = if needed_words(&directive.to_ascii_uppercase()).is_some() {
                " (keywords are case-sensitive: write it in upper case)"
            } else {
                ""
            };
            diags.error(
                &line,
                directive,
                format!("unknown directive; line ignored{hint}"),
            );
            continue;
        };
        if directive == "MONITOR" && words.len() == 5 {
            diags.error(
                &line,
                directive,
                "old-style MONITOR line without a user name; convert it to \
                 MONITOR <ups@host> <powervalue> <user> <password> primary|secondary",
            );
            continue;
        }
        if words.len() < needed {
            diags.error(
                &line,
                directive,
                format!(
                    "missing value: expected {} word(s) after {directive}, got {}",
                    needed - 1,
                    words.len() - 1
                ),
            );
            continue;
        }
        let multi_word = matches!(directive, "SHUTDOWNCMD" | "NOTIFYCMD");
        if !multi_word {
            super::warn_extra(&mut diags, &line, directive, needed);
        }
        let value = words[1].as_str();
        let seconds = |diags: &mut Diags, target: &mut u64| match parse_unsigned(value) {
            Some(v) => *target = v,
            None => bad_number(diags, &line, directive, "a whole number of seconds", value),
        };
        let signed = |diags: &mut Diags, target: &mut i64| match parse_signed(value) {
            Some(v) => *target = v,
            None => bad_number(
                diags,
                &line,
                directive,
                "a whole number of seconds (negative = never)",
                value,
            ),
        };

        match directive {
            "MONITOR" => monitor(&mut conf, &mut diags, &line),
            "MINSUPPLIES" => match parse_unsigned(value).and_then(|v| u32::try_from(v).ok()) {
                Some(v) => {
                    conf.minsupplies = v;
                    minsupplies_line = Some((line.line_no, line.column));
                }
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number of power supplies",
                    value,
                ),
            },
            "SHUTDOWNCMD" => conf.shutdowncmd = Some(words[1..].join(" ")),
            "NOTIFYCMD" => conf.notifycmd = Some(words[1..].join(" ")),
            "POLLFREQ" => seconds(&mut diags, &mut conf.pollfreq_s),
            "POLLFREQALERT" => seconds(&mut diags, &mut conf.pollfreqalert_s),
            "DEADTIME" => seconds(&mut diags, &mut conf.deadtime_s),
            "HOSTSYNC" => seconds(&mut diags, &mut conf.hostsync_s),
            "FINALDELAY" => seconds(&mut diags, &mut conf.finaldelay_s),
            "RBWARNTIME" => seconds(&mut diags, &mut conf.rbwarntime_s),
            "NOCOMMWARNTIME" => seconds(&mut diags, &mut conf.nocommwarntime_s),
            "OFFDURATION" => signed(&mut diags, &mut conf.offduration_s),
            "OVERDURATION" => signed(&mut diags, &mut conf.overduration_s),
            "OBLBDURATION" => signed(&mut diags, &mut conf.oblbduration_s),
            "POLLFAIL_LOG_THROTTLE_MAX" => match parse_signed(value) {
                Some(v) => conf.pollfail_log_throttle_max = v,
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number (-1 = no throttling)",
                    value,
                ),
            },
            "POWERDOWNFLAG" => conf.powerdownflag = Some(value.to_string()),
            "RUN_AS_USER" => conf.run_as_user = Some(value.to_string()),
            "CERTPATH" => conf.certpath = Some(value.to_string()),
            "CERTFILE" => {}
            "CERTIDENT" => conf.certident = Some((value.to_string(), words[2].clone())),
            "CERTHOST" => {
                let verify = boolean(&mut diags, &line, directive, &words[3]);
                let force = boolean(&mut diags, &line, directive, &words[4]);
                if let (Some(verify), Some(force)) = (verify, force) {
                    conf.certhosts
                        .push((value.to_string(), words[2].clone(), verify, force));
                }
            }
            "CERTVERIFY" => {
                if let Some(v) = boolean(&mut diags, &line, directive, value) {
                    conf.certverify = v;
                }
            }
            "FORCESSL" => {
                if let Some(v) = boolean(&mut diags, &line, directive, value) {
                    conf.forcessl = v;
                }
            }
            "ALARMCRITICAL" => {
                if let Some(v) = boolean(&mut diags, &line, directive, value) {
                    conf.alarmcritical = v;
                }
            }
            "SHUTDOWNEXIT" => {
                let parsed = match value.to_ascii_lowercase().as_str() {
                    "yes" | "true" | "on" => Some(ShutdownExit::Yes),
                    "no" | "false" | "off" => Some(ShutdownExit::No),
                    other => match parse_unsigned(other) {
                        Some(0) => Some(ShutdownExit::Yes),
                        Some(n) => Some(ShutdownExit::AfterSeconds(n)),
                        None => None,
                    },
                };
                match parsed {
                    Some(v) => conf.shutdownexit = v,
                    None => diags.error(
                        &line,
                        directive,
                        format!("expected yes, no or a number of seconds, got {value:?}"),
                    ),
                }
            }
            "DEBUG_MIN" => match parse_unsigned(value).and_then(|v| u32::try_from(v).ok()) {
                Some(v) => conf.debug_min = Some(v),
                None => bad_number(
                    &mut diags,
                    &line,
                    directive,
                    "a whole number (debug level)",
                    value,
                ),
            },
            "NOTIFYMSG" | "NOTIFYFLAG" => {
                let Some(t) = NotifyType::parse(value) else {
                    diags.error(
                        &line,
                        directive,
                        format!("unknown notification type {value:?} (types are upper case, e.g. ONBATT)"),
                    );
                    continue;
                };
                if directive == "NOTIFYMSG" {
                    conf.notify_messages.insert(t, words[2].clone());
                } else {
                    match NotifyFlags::parse(&words[2]) {
                        Ok(flags) => {
                            conf.notify_flags.insert(t, flags);
                        }
                        Err(bad) => diags.error(
                            &line,
                            directive,
                            format!("unknown flag {bad:?}; expected SYSLOG, WALL, EXEC or IGNORE joined by '+'"),
                        ),
                    }
                }
            }
            _ => {}
        }
    }

    conf.minsupplies_at = minsupplies_line;
    diags.finish(conf)
}

fn monitor(conf: &mut UpsmonConf, diags: &mut Diags, line: &Line) {
    let words = &line.words;
    let system = &words[1];
    let (ups, host, port) = match parse_system_name(system) {
        Ok(parts) => parts,
        Err(message) => {
            diags.error(line, "MONITOR", message);
            return;
        }
    };
    let power_value = match parse_unsigned(&words[2]).and_then(|v| u32::try_from(v).ok()) {
        Some(v) => v,
        None => {
            bad_number(
                diags,
                line,
                "MONITOR",
                "a power value (whole number, 0 = monitor only)",
                &words[2],
            );
            return;
        }
    };
    if conf.monitors.iter().any(|m| m.system == *system) {
        diags.warning(line, "MONITOR", format!("duplicate UPS [{system}] ignored"));
        return;
    }
    let role = words[5].to_ascii_lowercase();
    let primary = role == "primary" || role == "master";
    if !primary && role != "secondary" && role != "slave" {
        diags.warning(
            line,
            "MONITOR",
            format!(
                "role {:?} is not primary or secondary; treated as secondary",
                words[5]
            ),
        );
    }
    conf.monitors.push(Monitor {
        system: system.clone(),
        ups,
        host,
        port,
        power_value,
        username: words[3].clone(),
        password: words[4].clone(),
        primary,
        line: line.line_no,
    });
}

/// upsmon's start-up checks on a parsed configuration (NUT refuses to start on the
/// errors): no MONITOR line, power values summing below MINSUPPLIES ("insufficient
/// power configured"), and a warning when POWERDOWNFLAG is not set. Kept apart from
/// parsing, so a file can be free of syntax errors (like Debian's stock upsmon.conf)
/// yet not be ready to run.
pub fn upsmon_startup_checks(file: &str, conf: &UpsmonConf) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut push = |(line, column): (usize, usize), directive: &str, severity, message: String| {
        out.push(Diagnostic {
            file: file.to_string(),
            line,
            column,
            directive: directive.to_string(),
            severity,
            message,
        })
    };
    let total: u64 = conf.monitors.iter().map(|m| u64::from(m.power_value)).sum();
    if conf.monitors.is_empty() {
        push(
            (0, 0),
            "MONITOR",
            Severity::Error,
            "no MONITOR line: upsmon has no UPS to watch".to_string(),
        );
    }
    if total < u64::from(conf.minsupplies) {
        push(
            conf.minsupplies_at.unwrap_or((0, 0)),
            "MINSUPPLIES",
            Severity::Error,
            format!(
                "insufficient power configured: sum of power values is {total} but MINSUPPLIES is {}",
                conf.minsupplies
            ),
        );
    }
    // Only the primary's flag tells the late shutdown to power the UPS off; a host that
    // is secondary for every UPS it watches needs none.
    if conf.powerdownflag.is_none() && conf.monitors.iter().any(|m| m.primary) {
        push(
            (0, 0),
            "POWERDOWNFLAG",
            Severity::Warning,
            "no POWERDOWNFLAG configured: the UPS will not be told to cut power after shutdown"
                .to_string(),
        );
    }
    out
}

/// [`parse_upsmon_conf`] followed by [`upsmon_startup_checks`]: what upsmon runs before
/// it starts.
pub fn parse_upsmon_conf_for_startup(file: &str, text: &[u8]) -> Parsed<UpsmonConf> {
    let mut parsed = parse_upsmon_conf(file, text);
    let checks = upsmon_startup_checks(file, &parsed.value);
    parsed.diagnostics.extend(checks);
    parsed
}
