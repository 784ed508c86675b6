//! `nut-sim check <dir>...`: reads a site's real NUT config directories (one per host,
//! each a copy of that host's /etc/nut, named after the host), works out who serves and
//! who monitors which UPS from MONITOR lines and LISTEN addresses, lints across hosts,
//! then simulates a standard outage against exactly those files (the hardware driver
//! replaced by a modelled UPS) and reports the timeline, the verdict and the
//! closed-form margins.
//!
//! Every finding names a file and line and says what to change. Exit status: 0 clean, 1
//! an error-level finding or an unsafe simulated outage, 2 the directories could not be
//! read.

use crate::scenario::{
    Battery, HostSpec, MainsStep, MonitorSpec, PollPhases, Role, Scenario, UpsSpec,
};
use nut_core::config::{
    parse_nut_conf, parse_ups_conf, parse_upsd_conf, parse_upsd_users, parse_upsmon_conf,
    parse_upssched_conf, AtAction, Diagnostic, NutConf, Parsed, Severity, ShutdownExit, UpsConf,
    UpsdConf, UpsdUsers, UpsmonConf, UpsmonRole, UpsschedConf,
};
use nut_core::notify::NotifyType;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The standard outage begins this long into the run, in seconds.
const OUTAGE_AT_S: f64 = 60.0;
/// Largest runtime `--runtime-s` takes (a day), in seconds.
pub const MAX_RUNTIME_S: f64 = 86_400.0;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The site will not do what it should (NUT refuses it, or a host is unprotected).
    Error,
    /// Probably a mistake, or a risk the simulation may show.
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, as `<dir>/<file>`.
    pub file: String,
    /// 1-based line (0: the whole file, or a directive left at its default).
    pub line: usize,
    /// How bad.
    pub level: Level,
    /// What is wrong.
    pub text: String,
    /// What to change.
    pub fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "{}:{}: {level}: {}", self.file, self.line, self.text)?;
        if !self.fix.is_empty() {
            write!(f, "\n    fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// What the site model needs that NUT's files do not say.
#[derive(Debug, Clone)]
pub struct Options {
    /// Battery runtime at the site's whole load, in seconds.
    pub runtime_s: f64,
    /// SHUTDOWNCMD duration per host, in seconds.
    pub shutdown_s: BTreeMap<String, f64>,
    /// For hosts not in `shutdown_s`.
    pub default_shutdown_s: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runtime_s: 600.0,
            shutdown_s: BTreeMap::new(),
            default_shutdown_s: 30.0,
        }
    }
}

/// One host's directory, read and parsed.
#[derive(Debug, Clone)]
pub struct HostDir {
    /// Host name (the directory's name).
    pub name: String,
    /// How files are named in findings (`<dir name>/`).
    prefix: String,
    /// Every regular file in the directory: name to text.
    pub files: BTreeMap<String, String>,
    upsmon: Option<UpsmonConf>,
    ups: Option<UpsConf>,
    upsd: Option<UpsdConf>,
    users: Option<UpsdUsers>,
    upssched: Option<UpsschedConf>,
    nut: Option<NutConf>,
}

impl HostDir {
    fn file(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The line of the last `directive` in `file` (0 when absent: the default holds).
    fn line_of(&self, file: &str, directive: &str) -> usize {
        self.files.get(file).map_or(0, |text| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.split_whitespace().next() == Some(directive))
                .last()
                .map_or(0, |(n, _)| n + 1)
        })
    }

    /// The UPS sections this host's ups.conf declares.
    fn serves(&self) -> Vec<&str> {
        self.ups
            .iter()
            .flat_map(|u| u.upses.iter().map(|s| s.name.as_str()))
            .collect()
    }

    /// The addresses upsd listens on (NUT's default: loopback only).
    fn listens(&self) -> Vec<(String, u16)> {
        self.upsd
            .clone()
            .unwrap_or_default()
            .listen_or_default()
            .into_iter()
            .map(|l| (l.addr, l.port))
            .collect()
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

fn is_wildcard(addr: &str) -> bool {
    matches!(addr, "0.0.0.0" | "::" | "*")
}

/// The NUT files that make a directory a host's /etc/nut.
const NUT_FILES: [&str; 5] = [
    "upsmon.conf",
    "ups.conf",
    "upsd.conf",
    "upsd.users",
    "nut.conf",
];

/// A directory without NUT files but with subdirectories stands for its subdirectories
/// (a site directory: one subdirectory per host), in name order.
fn expand(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for dir in dirs {
        let has_nut = NUT_FILES.iter().any(|f| dir.join(f).is_file());
        if has_nut || !dir.is_dir() {
            out.push(dir.clone());
            continue;
        }
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        if subdirs.is_empty() {
            out.push(dir.clone());
        } else {
            out.extend(subdirs);
        }
    }
    Ok(out)
}

/// Reads each directory. Errors (exit 2): a directory that cannot be read or holds no
/// NUT file at all.
pub fn load(dirs: &[PathBuf]) -> Result<(Vec<HostDir>, Vec<Finding>), String> {
    let mut hosts: Vec<HostDir> = Vec::new();
    let mut findings = Vec::new();
    for dir in &expand(dirs)? {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| format!("{}: not a directory", dir.display()))?;
        if hosts.iter().any(|h| h.name == name) {
            return Err(format!(
                "{}: a second directory named {name}: each directory is one host, named after it",
                dir.display()
            ));
        }
        let mut files = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let file = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.insert(file, String::from_utf8_lossy(&bytes).into_owned());
        }
        if !NUT_FILES.iter().any(|f| files.contains_key(*f)) {
            return Err(format!(
                "{}: none of {} is there: give a copy of the host's /etc/nut (or a site directory with one such directory per host)",
                dir.display(),
                NUT_FILES.join(", ")
            ));
        }
        let prefix = format!("{name}/");
        let mut diags: Vec<Diagnostic> = Vec::new();
        let mut parse = ParseInto {
            files: &files,
            prefix: &prefix,
            diags: &mut diags,
        };
        let upsmon = parse.file("upsmon.conf", parse_upsmon_conf);
        let ups = parse.file("ups.conf", parse_ups_conf);
        let upsd = parse.file("upsd.conf", parse_upsd_conf);
        let users = parse.file("upsd.users", parse_upsd_users);
        let upssched = parse.file("upssched.conf", parse_upssched_conf);
        let nut = parse.file("nut.conf", parse_nut_conf);
        findings.extend(diags.into_iter().map(|d| Finding {
            file: d.file,
            line: d.line,
            level: match d.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warning,
            },
            text: if d.directive.is_empty() {
                d.message
            } else {
                format!("{}: {}", d.directive, d.message)
            },
            fix: String::new(),
        }));
        hosts.push(HostDir {
            name,
            prefix,
            files,
            upsmon,
            ups,
            upsd,
            users,
            upssched,
            nut,
        });
    }
    Ok((hosts, findings))
}

/// Parses a directory's files with nut-core's parsers, collecting every diagnostic.
struct ParseInto<'a> {
    files: &'a BTreeMap<String, String>,
    prefix: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl ParseInto<'_> {
    /// `name` parsed by `parser`, if the directory has it.
    fn file<T>(&mut self, name: &str, parser: fn(&str, &[u8]) -> Parsed<T>) -> Option<T> {
        let text = self.files.get(name)?;
        let parsed = parser(&format!("{}{name}", self.prefix), text.as_bytes());
        self.diags.extend(parsed.diagnostics);
        Some(parsed.value)
    }
}

/// A MONITOR line resolved to the host that serves it.
#[derive(Debug, Clone)]
pub struct Link {
    /// The monitoring host (index).
    pub host: usize,
    /// The MONITOR entry (index into its upsmon.conf's monitors).
    pub monitor: usize,
    /// The serving host (index).
    pub server: usize,
}

/// Resolves every MONITOR line; unresolved ones become findings.
pub fn topology(hosts: &[HostDir], findings: &mut Vec<Finding>) -> Vec<Link> {
    let mut links = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        let Some(upsmon) = &host.upsmon else {
            continue;
        };
        for (m, monitor) in upsmon.monitors.iter().enumerate() {
            let file = host.file("upsmon.conf");
            let server = hosts.iter().position(|s| {
                s.serves().contains(&monitor.ups.as_str())
                    && (s.name == monitor.host
                        || (is_loopback(&monitor.host) && s.name == host.name)
                        // A loopback address names the monitoring host itself only.
                        || s.listens()
                            .iter()
                            .any(|(a, _)| *a == monitor.host && !is_loopback(a)))
            });
            let Some(server) = server else {
                findings.push(Finding {
                    file,
                    line: monitor.line,
                    level: Level::Error,
                    text: format!(
                        "MONITOR {}: no directory serves UPS {} at {} (none is named {} or listens there with a [{}] section in ups.conf)",
                        monitor.system, monitor.ups, monitor.host, monitor.host, monitor.ups
                    ),
                    fix: format!(
                        "check the UPS name and host, or give the directory of the host that runs UPS {}'s driver and upsd",
                        monitor.ups
                    ),
                });
                continue;
            };
            let s = &hosts[server];
            // Reachable: loopback from the same host, else a LISTEN address that is
            // not loopback on the port asked for.
            let listens = s.listens();
            let reachable = if server == h && is_loopback(&monitor.host) {
                listens
                    .iter()
                    .any(|(a, p)| *p == monitor.port && (is_loopback(a) || is_wildcard(a)))
            } else {
                listens.iter().any(|(a, p)| {
                    *p == monitor.port
                        && !is_loopback(a)
                        && (is_wildcard(a) || *a == monitor.host || s.name == monitor.host)
                })
            };
            if !reachable {
                let line = s.line_of("upsd.conf", "LISTEN");
                findings.push(Finding {
                    file: s.file("upsd.conf"),
                    line,
                    level: Level::Error,
                    text: format!(
                        "upsd on {} does not listen where {} looks for it ({}:{}; it listens on {})",
                        s.name,
                        host.name,
                        monitor.host,
                        monitor.port,
                        listens
                            .iter()
                            .map(|(a, p)| format!("{a}:{p}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    fix: format!(
                        "add `LISTEN <{}'s address> {}` to {}/upsd.conf",
                        s.name, monitor.port, s.name
                    ),
                });
            }
            links.push(Link {
                host: h,
                monitor: m,
                server,
            });
        }
    }
    links
}

fn monitor_of<'a>(hosts: &'a [HostDir], link: &Link) -> &'a nut_core::config::Monitor {
    &hosts[link.host]
        .upsmon
        .as_ref()
        .expect("linked hosts have upsmon.conf")
        .monitors[link.monitor]
}

/// The cross-host lints.
pub fn lint(hosts: &[HostDir], links: &[Link], options: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |file: String, line: usize, level: Level, text: String, fix: String| {
        out.push(Finding {
            file,
            line,
            level,
            text,
            fix,
        })
    };
    for host in hosts {
        let Some(conf) = &host.upsmon else {
            if !host.serves().is_empty() {
                push(
                    host.file("upsmon.conf"),
                    0,
                    Level::Error,
                    format!(
                        "{} runs a UPS's driver but has no upsmon.conf: nothing shuts it down",
                        host.name
                    ),
                    "add upsmon.conf with a MONITOR ... primary line".into(),
                );
            }
            continue;
        };
        let file = host.file("upsmon.conf");
        if conf.monitors.is_empty() {
            push(
                file.clone(),
                0,
                Level::Error,
                "no MONITOR line: upsmon refuses to start and this host is not protected".into(),
                "add MONITOR <ups>@<host> <power value> <user> <password> primary|secondary".into(),
            );
        }
        if conf.shutdowncmd.is_none() {
            push(
                file.clone(),
                0,
                Level::Error,
                "no SHUTDOWNCMD: upsmon cannot shut this host down".into(),
                "add SHUTDOWNCMD \"/sbin/shutdown -h +0\"".into(),
            );
        }
        let power: u64 = conf.monitors.iter().map(|m| u64::from(m.power_value)).sum();
        if !conf.monitors.is_empty() && power < u64::from(conf.minsupplies) {
            push(
                file.clone(),
                host.line_of("upsmon.conf", "MINSUPPLIES"),
                Level::Error,
                format!(
                    "MINSUPPLIES {} but the MONITOR lines' power values add up to {power}: upsmon refuses to start",
                    conf.minsupplies
                ),
                "lower MINSUPPLIES or raise the power values".into(),
            );
        }
        let slowest = conf.pollfreq_s.max(conf.pollfreqalert_s);
        if conf.deadtime_s < slowest.saturating_mul(3) {
            push(
                file.clone(),
                host.line_of("upsmon.conf", "DEADTIME"),
                Level::Warning,
                format!(
                    "DEADTIME {} is below 3 x the slower of POLLFREQ and POLLFREQALERT ({slowest}): a UPS is declared dead between two polls (upsmon.conf(5))",
                    conf.deadtime_s
                ),
                format!("set DEADTIME {}", slowest.saturating_mul(3)),
            );
        }
        let serves = !host.serves().is_empty();
        match (&conf.powerdownflag, serves) {
            (None, true) => push(
                file.clone(),
                0,
                Level::Warning,
                "no POWERDOWNFLAG on the host that runs the driver: the late shutdown never tells the UPS to cut the load, so if mains returns mid-shutdown the hosts stay halted (the power race)".into(),
                "add POWERDOWNFLAG /etc/killpower (and keep the late-shutdown hook that runs upsdrvctl shutdown)".into(),
            ),
            (Some(flag), false) => push(
                file.clone(),
                host.line_of("upsmon.conf", "POWERDOWNFLAG"),
                Level::Warning,
                format!("POWERDOWNFLAG {flag} does nothing here: no UPS driver runs on {}, only the host that runs it powers the UPS off", host.name),
                "remove it, or make sure the UPS's own host has it".into(),
            ),
            _ => {}
        }
        // upssched: AT lines whose notification never reaches it; timers past the
        // runtime.
        if let Some(sched) = &host.upssched {
            let via_upssched = conf.notifycmd.as_deref().is_some_and(|c| {
                c.split_whitespace()
                    .next()
                    .unwrap_or("")
                    .ends_with("upssched")
            });
            if !via_upssched {
                if let Some(first) = sched.rules.first() {
                    push(
                        host.file("upssched.conf"),
                        first.line,
                        Level::Warning,
                        "upssched.conf has AT rules, but upsmon.conf's NOTIFYCMD is not upssched: none of them ever fires".into(),
                        format!("set NOTIFYCMD /usr/sbin/upssched in {}/upsmon.conf (and EXEC in the NOTIFYFLAGs)", host.name),
                    );
                }
            }
            for rule in &sched.rules {
                if via_upssched {
                    if let Some(kind) = NotifyType::parse(&rule.notify_type) {
                        let flags =
                            conf.notify_flags.get(&kind).copied().unwrap_or_else(|| {
                                nut_core::notify::NotifyFlags::default_for(kind)
                            });
                        if !flags.exec || flags.ignore {
                            push(
                                host.file("upssched.conf"),
                                rule.line,
                                Level::Error,
                                format!(
                                    "AT {} never fires: upsmon.conf has no NOTIFYFLAG {} with EXEC, so upsmon never runs upssched for it",
                                    rule.notify_type, rule.notify_type
                                ),
                                format!("add `NOTIFYFLAG {} SYSLOG+WALL+EXEC` to {}/upsmon.conf", rule.notify_type, host.name),
                            );
                        }
                    }
                }
                if let AtAction::StartTimer { name, seconds }
                | AtAction::StartTimerShared { name, seconds } = &rule.action
                {
                    if *seconds as f64 >= options.runtime_s {
                        push(
                            host.file("upssched.conf"),
                            rule.line,
                            Level::Warning,
                            format!(
                                "timer {name} ({seconds} s) is not shorter than the battery's runtime ({} s): it fires after the battery is flat",
                                options.runtime_s
                            ),
                            format!("shorten it well below {} s", options.runtime_s),
                        );
                    }
                }
            }
        }
    }
    // Across hosts: logins against the serving upsd.users, HOSTSYNC against the
    // secondaries' FINALDELAY and shutdowns, TLS.
    for link in links {
        let host = &hosts[link.host];
        let server = &hosts[link.server];
        let monitor = monitor_of(hosts, link);
        let file = host.file("upsmon.conf");
        let users_file = server.file("upsd.users");
        match server.users.as_ref().and_then(|u| u.find(&monitor.username)) {
            None => push(
                file.clone(),
                monitor.line,
                Level::Error,
                format!("user {} is not in {users_file}: upsd refuses the login, so the primary does not wait for {} before cutting the power", monitor.username, host.name),
                format!("add [{}] with its password and `upsmon {}` to {users_file}", monitor.username, if monitor.primary { "primary" } else { "secondary" }),
            ),
            Some(user) => {
                if user.password.as_deref() != Some(monitor.password.as_str()) {
                    push(
                        file.clone(),
                        monitor.line,
                        Level::Error,
                        format!("the password for {} differs from {users_file}: upsd refuses the login, so the primary does not wait for {} before cutting the power", monitor.username, host.name),
                        format!("use the password of [{}] in {users_file}", monitor.username),
                    );
                }
                match (user.upsmon, monitor.primary) {
                    (None, _) => push(
                        users_file.clone(),
                        0,
                        Level::Error,
                        format!("[{}] has no `upsmon primary|secondary` line: upsmon on {} cannot log in", user.name, host.name),
                        format!("add `upsmon {}` to [{}]", if monitor.primary { "primary" } else { "secondary" }, user.name),
                    ),
                    (Some(UpsmonRole::Secondary), true) => push(
                        file.clone(),
                        monitor.line,
                        Level::Error,
                        format!("MONITOR ... primary, but [{}] in {users_file} is `upsmon secondary`: upsd refuses PRIMARY and this host cannot set FSD", user.name),
                        format!("make [{}] `upsmon primary`, or use a primary user", user.name),
                    ),
                    _ => {}
                }
            }
        }
        let conf = host.upsmon.as_ref().expect("linked hosts have upsmon.conf");
        let tls_wanted = conf.forcessl || conf.certverify;
        let certfile = server.upsd.as_ref().and_then(|u| u.certfile.clone());
        // NSS builds of upsd take CERTPATH and CERTIDENT instead of CERTFILE.
        let nss = server
            .upsd
            .as_ref()
            .is_some_and(|u| u.certpath.is_some() && u.certident.is_some());
        if tls_wanted && certfile.is_none() && !nss {
            push(
                file.clone(),
                host.line_of(
                    "upsmon.conf",
                    if conf.forcessl {
                        "FORCESSL"
                    } else {
                        "CERTVERIFY"
                    },
                ),
                Level::Error,
                format!(
                    "{} requires TLS but upsd on {} has no CERTFILE: the connection is refused",
                    host.name, server.name
                ),
                format!(
                    "add CERTFILE to {}/upsd.conf, or drop FORCESSL/CERTVERIFY",
                    server.name
                ),
            );
        }
        if conf.certverify && conf.certpath.is_none() {
            push(
                file.clone(),
                host.line_of("upsmon.conf", "CERTVERIFY"),
                Level::Error,
                "CERTVERIFY 1 without CERTPATH: upsd's certificate cannot be verified".into(),
                "add CERTPATH (the CA certificates upsd's certificate chains to)".into(),
            );
        }
        if let Some(cert) = &certfile {
            let base = cert.rsplit('/').next().unwrap_or(cert);
            if !server.files.contains_key(base) {
                push(
                    server.file("upsd.conf"),
                    server.line_of("upsd.conf", "CERTFILE"),
                    Level::Warning,
                    format!("CERTFILE {cert} is not in the directory: upsd cannot start TLS (or the copy of /etc/nut is incomplete)"),
                    "copy the certificate file beside upsd.conf".into(),
                );
            }
        }
        if monitor.primary {
            continue;
        }
        // The primary of this UPS: the host whose MONITOR of it says primary.
        let Some(primary) = links.iter().find(|l| {
            l.server == link.server
                && monitor_of(hosts, l).ups == monitor.ups
                && monitor_of(hosts, l).primary
        }) else {
            continue;
        };
        let p = &hosts[primary.host];
        let pconf = p.upsmon.as_ref().expect("linked hosts have upsmon.conf");
        let shutdown_s = options
            .shutdown_s
            .get(&host.name)
            .copied()
            .unwrap_or(options.default_shutdown_s);
        // It sees FSD up to POLLFREQALERT after the primary set it, waits FINALDELAY,
        // and logs out as SHUTDOWNEXIT says.
        let (stays, exit_s) = match conf.shutdownexit {
            ShutdownExit::Yes => (None, 0.0),
            ShutdownExit::No => (Some("no"), shutdown_s),
            ShutdownExit::AfterSeconds(n) => (Some("n"), (n as f64).min(shutdown_s)),
        };
        let needed = conf.pollfreqalert_s as f64 + conf.finaldelay_s as f64 + exit_s;
        if needed > pconf.hostsync_s as f64 {
            let what = match stays {
                Some(_) => format!(
                    "FINALDELAY {} plus {exit_s} s of its shutdown logged in (SHUTDOWNEXIT) and up to POLLFREQALERT {} s to see FSD",
                    conf.finaldelay_s, conf.pollfreqalert_s
                ),
                None => format!(
                    "FINALDELAY {} plus up to POLLFREQALERT {} s to see FSD",
                    conf.finaldelay_s, conf.pollfreqalert_s
                ),
            };
            push(
                file.clone(),
                host.line_of("upsmon.conf", "FINALDELAY"),
                Level::Warning,
                format!(
                    "{what} on {} exceeds HOSTSYNC {} on the primary {} ({}:{}): the primary stops waiting before {} logs out",
                    host.name,
                    pconf.hostsync_s,
                    p.name,
                    p.file("upsmon.conf"),
                    p.line_of("upsmon.conf", "HOSTSYNC"),
                    host.name
                ),
                format!("raise HOSTSYNC on {} above {needed:.0} s, or lower FINALDELAY here", p.name),
            );
        }
    }
    // LB thresholds the battery model never reaches usefully.
    for host in hosts {
        for section in host.ups.iter().flat_map(|u| &u.upses) {
            for (var, value) in section.overrides.iter().chain(&section.defaults) {
                if var == "battery.charge.low" && value.parse::<f64>().is_ok_and(|v| v >= 90.0) {
                    push(
                        host.file("ups.conf"),
                        section.line,
                        Level::Warning,
                        format!("[{}]: battery.charge.low {value}: the UPS reports LB almost as soon as it is on battery", section.name),
                        "use the unit's own threshold, or a value that leaves the runtime you need".into(),
                    );
                }
                if var == "battery.runtime.low"
                    && value.parse::<f64>().is_ok_and(|v| v >= options.runtime_s)
                {
                    push(
                        host.file("ups.conf"),
                        section.line,
                        Level::Warning,
                        format!("[{}]: battery.runtime.low {value} is not below the runtime ({} s): LB at once on battery", section.name, options.runtime_s),
                        "lower it below the runtime".into(),
                    );
                }
            }
            let primaries = links
                .iter()
                .filter(|l| {
                    hosts[l.server].name == host.name
                        && monitor_of(hosts, l).ups == section.name
                        && monitor_of(hosts, l).primary
                })
                .count();
            if primaries == 0 {
                push(
                    host.file("ups.conf"),
                    section.line,
                    Level::Error,
                    format!(
                        "nobody monitors UPS {} as primary: nobody sets FSD or powers it off",
                        section.name
                    ),
                    format!(
                        "add `MONITOR {}@localhost 1 <user> <password> primary` to {}/upsmon.conf",
                        section.name, host.name
                    ),
                );
            }
        }
    }
    out
}

/// The `name)` case labels of a CMDSCRIPT shell script whose branch runs `upsmon -c
/// fsd` (the early-shutdown recipe of upssched(8)).
fn fsd_labels(script: &str) -> Vec<String> {
    let mut label: Option<String> = None;
    let mut out = Vec::new();
    for line in script.lines() {
        let t = line.trim();
        if let Some(l) = t
            .strip_suffix(')')
            .filter(|l| !l.contains(' ') && !l.is_empty())
        {
            label = Some(l.trim_matches('"').to_string());
        } else if t.contains("upsmon -c fsd") {
            if let Some(l) = &label {
                out.push(l.clone());
            }
        }
    }
    out
}

/// The standard outage against the site's own files: each host gets every file of its
/// directory in /etc/nut, MONITOR and LISTEN pointed at the simulated hosts, and the UPS
/// becomes a modelled one (dummy-ups) with the battery `options` says.
pub fn scenario(hosts: &[HostDir], links: &[Link], options: &Options) -> Result<Scenario, String> {
    let mut upses = Vec::new();
    let draw_w = 100.0;
    for host in hosts {
        for section in host.ups.iter().flat_map(|u| &u.upses) {
            if upses.iter().any(|u: &UpsSpec| u.name == section.name) {
                return Err(format!(
                    "two UPSes are named {}: the simulation needs unique names",
                    section.name
                ));
            }
            let fed: usize = links
                .iter()
                .filter(|l| {
                    hosts[l.server].name == host.name && monitor_of(hosts, l).ups == section.name
                })
                .count()
                .max(1);
            let value = |var: &str| {
                section
                    .overrides
                    .iter()
                    .chain(&section.defaults)
                    .find(|(k, _)| k == var)
                    .and_then(|(_, v)| v.parse::<f64>().ok())
                    .filter(|v| v.is_finite())
            };
            let delay = value("ups.delay.shutdown")
                .or_else(|| section.option("offdelay").and_then(|v| v.parse().ok()))
                .unwrap_or(20.0);
            upses.push(UpsSpec {
                name: section.name.clone(),
                host: Some(host.name.clone()),
                vars: BTreeMap::new(),
                timeline: Vec::new(),
                mains: vec![
                    MainsStep {
                        at_s: OUTAGE_AT_S,
                        on: false,
                    },
                    MainsStep {
                        at_s: OUTAGE_AT_S + options.runtime_s * 1.5 + 300.0,
                        on: true,
                    },
                ],
                mains_seq: None,
                battery: Some(Battery {
                    runtime_s: options.runtime_s,
                    at_load_w: draw_w * fed as f64,
                    charge: 100.0,
                    low: value("battery.charge.low")
                        .unwrap_or(20.0)
                        .clamp(0.0, 100.0),
                    recharge_per_h: 20.0,
                }),
                delay_start_s: value("ups.delay.start")
                    .or_else(|| section.option("ondelay").and_then(|v| v.parse().ok()))
                    .unwrap_or(30.0),
                returns: true,
                sdorder: (section.sdorder != 0).then_some(section.sdorder),
                battery_dead_at_s: None,
                delay_shutdown_s: delay,
                pollinterval_s: section.pollinterval_s.unwrap_or(2).max(1),
                driver: crate::scenario::DriverKind::DummyUps,
            });
        }
    }
    if upses.is_empty() {
        return Err("no ups.conf declares a UPS: nothing to simulate".into());
    }
    let mut specs = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        let Some(conf) = &host.upsmon else {
            continue;
        };
        let mine: Vec<&Link> = links.iter().filter(|l| l.host == h).collect();
        let mut text = host.files.get("upsmon.conf").cloned().unwrap_or_default();
        // MONITOR lines point at the simulated host names on NUT's port.
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for link in &mine {
            let m = &conf.monitors[link.monitor];
            if let Some(line) = lines.get_mut(m.line.saturating_sub(1)) {
                *line = line.replacen(
                    &m.system,
                    &format!(
                        "{}@{}:{}",
                        m.ups,
                        hosts[link.server].name,
                        crate::harness::UPSD_PORT
                    ),
                    1,
                );
            }
        }
        text = lines.join("\n") + "\n";
        let mut files: BTreeMap<String, String> = host
            .files
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "ups.conf" | "upsmon.conf" | "upssched.conf")
            })
            .map(|(name, text)| (format!("{}/{name}", crate::harness::CONFPATH), text.clone()))
            .collect();
        files.insert(format!("{}/upsmon.conf", crate::harness::CONFPATH), text);
        if let Some(upsd) = host.files.get("upsd.conf") {
            let rewritten: Vec<String> = upsd
                .lines()
                .filter(|l| l.split_whitespace().next() != Some("LISTEN"))
                .map(String::from)
                .chain([format!("LISTEN 0.0.0.0 {}", crate::harness::UPSD_PORT)])
                .collect();
            files.insert(
                format!("{}/upsd.conf", crate::harness::CONFPATH),
                rewritten.join("\n") + "\n",
            );
        }
        let cmdscript: BTreeMap<String, String> = host
            .upssched
            .as_ref()
            .and_then(|s| s.cmdscript.as_deref())
            .and_then(|path| host.files.get(path.rsplit('/').next().unwrap_or(path)))
            .map(|script| {
                fsd_labels(script)
                    .into_iter()
                    .map(|l| (l, "upsmon -c fsd".to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let poweroff_wait_s = host
            .nut
            .as_ref()
            .and_then(|n| n.vars.iter().find(|(k, _)| k == "POWEROFF_WAIT"))
            .and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        let monitors: Vec<MonitorSpec> = mine
            .iter()
            .map(|l| MonitorSpec {
                ups: conf.monitors[l.monitor].ups.clone(),
                power_value: conf.monitors[l.monitor].power_value,
            })
            .collect();
        let fed_by: Vec<String> = monitors
            .iter()
            .filter(|m| m.power_value > 0)
            .map(|m| m.ups.clone())
            .collect();
        specs.push(HostSpec {
            name: host.name.clone(),
            role: if host.serves().is_empty() {
                Role::Secondary
            } else {
                Role::Primary
            },
            shutdown_s: options
                .shutdown_s
                .get(&host.name)
                .copied()
                .unwrap_or(options.default_shutdown_s),
            shutdown_hangs: false,
            upsmon: BTreeMap::new(),
            monitors: Some(monitors),
            fed_by: Some(if fed_by.is_empty() {
                upses.iter().map(|u| u.name.clone()).collect()
            } else {
                fed_by
            }),
            draw_w,
            boot_s: 60.0,
            poweroff_wait_s,
            wrong_ca: false,
            files,
            upsmon_lines: Vec::new(),
            upssched: host.files.get("upssched.conf").cloned(),
            cmdscript,
            start_s: None,
        });
    }
    let back = OUTAGE_AT_S + options.runtime_s * 1.5 + 300.0;
    let scenario = Scenario {
        name: "check".into(),
        description: "nut-sim check: a standard outage against the site's own files".into(),
        seed: 1,
        duration_s: back + 600.0,
        tick_ms: 10,
        wall_limit_s: None,
        max_latency_ms: 5,
        ups: None,
        upses,
        hosts: specs,
        tls: false,
        poll_phases: PollPhases::Seeded,
        faults: Vec::new(),
        expect: Default::default(),
    };
    scenario.validate()?;
    Ok(scenario)
}

/// What `nut-sim check` found.
pub struct Report {
    /// Findings, errors first, then by file and line.
    pub findings: Vec<Finding>,
    /// The report text.
    pub text: String,
    /// 0, 1 or 2 (see the module docs).
    pub exit: u8,
}

/// Checks the site in `dirs`.
pub fn check(dirs: &[PathBuf], options: &Options) -> Report {
    let (hosts, mut findings) = match load(dirs) {
        Ok(x) => x,
        Err(e) => {
            return Report {
                findings: Vec::new(),
                text: format!("nut-sim check: {e}\n"),
                exit: 2,
            }
        }
    };
    let links = topology(&hosts, &mut findings);
    findings.extend(lint(&hosts, &links, options));
    findings.sort_by(|a, b| (a.level, &a.file, a.line).cmp(&(b.level, &b.file, b.line)));
    findings.dedup();
    let mut text = String::new();
    text.push_str("topology:\n");
    for link in &links {
        let m = monitor_of(&hosts, link);
        text.push_str(&format!(
            "  {} monitors {} on {} ({}, power {})\n",
            hosts[link.host].name,
            m.ups,
            hosts[link.server].name,
            if m.primary { "primary" } else { "secondary" },
            m.power_value
        ));
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    text.push_str(&format!(
        "findings: {errors} errors, {} warnings\n",
        findings.len() - errors
    ));
    for f in &findings {
        text.push_str(&format!("{f}\n"));
    }
    let unsafe_run;
    match scenario(&hosts, &links, options) {
        Err(e) => {
            // Nothing could be shown safe.
            text.push_str(&format!("not simulated: {e}\n"));
            unsafe_run = true;
        }
        Ok(s) => {
            text.push_str(&format!(
                "\nstandard outage: mains off at {OUTAGE_AT_S} s, a {} s battery at this load, mains back at {} s\n",
                options.runtime_s,
                OUTAGE_AT_S + options.runtime_s * 1.5 + 300.0
            ));
            match crate::analytic::predict(&s) {
                crate::analytic::Prediction::Margins(m) => {
                    for (host, lo, hi) in m {
                        if lo == crate::analytic::NEVER_HALTS {
                            text.push_str(&format!("  predicted margin {host}: never halts\n"));
                        } else if lo == crate::analytic::POWER_STAYS_ON {
                            text.push_str(&format!(
                                "  predicted margin {host}: its power stays on (mains returns first)\n"
                            ));
                        } else if hi == crate::analytic::POWER_STAYS_ON {
                            text.push_str(&format!(
                                "  predicted margin {host}: at least {:.1} s\n",
                                lo as f64 / 1000.0
                            ));
                        } else {
                            text.push_str(&format!(
                                "  predicted margin {host}: {:.1} .. {:.1} s\n",
                                lo as f64 / 1000.0,
                                hi as f64 / 1000.0
                            ));
                        }
                    }
                }
                crate::analytic::Prediction::NotModelled(why) => {
                    text.push_str(&format!("  no closed-form prediction: {why}\n"))
                }
            }
            match crate::fast::run(&s) {
                Err(e) => {
                    text.push_str(&format!("the simulated site does not start: {e}\n"));
                    unsafe_run = true;
                }
                Ok(outcome) => {
                    let verdict = crate::verdict::judge(&s, &outcome);
                    unsafe_run = !verdict.passed();
                    text.push_str(&crate::verdict::render(&s, &outcome, &verdict));
                }
            }
        }
    }
    let exit = u8::from(errors > 0 || unsafe_run);
    Report {
        findings,
        text,
        exit,
    }
}

/// Parses `host=seconds` for `--shutdown-s`.
pub fn parse_shutdown(text: &str) -> Result<(String, f64), String> {
    let (host, secs) = text
        .split_once('=')
        .ok_or_else(|| format!("--shutdown-s {text:?}: want host=seconds"))?;
    let secs: f64 = secs
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| format!("--shutdown-s {text:?}: seconds must be a number of at least 0"))?;
    Ok((host.to_string(), secs))
}

/// A directory's name as the host name (for messages before loading).
pub fn host_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdscript_labels_that_run_upsmon_fsd() {
        let script = "#!/bin/sh\ncase $1 in\n  onbatt)\n    logger on battery\n    /sbin/upsmon -c fsd\n    ;;\n  online)\n    logger back\n    ;;\nesac\n";
        assert_eq!(fsd_labels(script), vec!["onbatt".to_string()]);
    }

    #[test]
    fn shutdown_option_parses() {
        assert_eq!(parse_shutdown("db=90"), Ok(("db".into(), 90.0)));
        assert!(parse_shutdown("db").is_err());
        assert!(parse_shutdown("db=-1").is_err());
    }
}
