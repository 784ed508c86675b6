//! Invariants checked on a run's typed timeline, and the text report that snapshots
//! store. Checks match event variants, never message text.
//!
//! Invariants:
//! - `no_unsafe_power_loss`: no host loses power before its shutdown completed.
//! - `primary_respects_hostsync`: in each life, every primary runs SHUTDOWNCMD only after
//!   every secondary logged in when it set FSD has logged out, or HOSTSYNC has expired.
//! - `shutdown_once`: no host runs SHUTDOWNCMD twice in one life (between two boots).
//! - `fsd_latched`: every client logged in to a UPS when FSD was set on it learns of it
//!   (notify FSD, its own shutdown, lost contact or lost power) before its session ends.
//! - `no_shutdown_without_trigger`: a host runs SHUTDOWNCMD only after its upsmon found
//!   too few healthy supplies or was asked to (`upsmon -c fsd`) in the same life.
//! - `killpower_after_powerdownflag`: a UPS is told to cut the load only by a host that
//!   wrote POWERDOWNFLAG and then halted (the late shutdown).
//! - `no_shutdown_on_transient`: an upssched timer armed by ONBATT never expires after
//!   its host's upsmon saw that UPS back on line (a blip shorter than the timer must not
//!   fire it: its CANCEL-TIMER must have worked).
//!
//! Coverage marks name rare branches a run went through (HOSTSYNC expiry, a dead UPS
//! assumed critical, a refused reload, ...); the report lists them.

use crate::harness::{ip_names, upsmon_conf, Outcome};
use crate::scenario::{Role, Scenario};
use crate::world::{Entry, HostState, What, WorldEvent};
use nut_core::event::Event;
use nut_core::notify::NotifyType;
use nut_core::upsd::Event as UpsdEvent;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Result of one invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Invariant name.
    pub name: &'static str,
    /// Problems found (empty = holds).
    pub problems: Vec<String>,
}

/// All invariants of a run, and whether they match the scenario's expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// One entry per invariant.
    pub checks: Vec<Check>,
    /// Violations that were not expected, and expected ones that did not happen.
    pub surprises: Vec<String>,
}

impl Verdict {
    /// True when the run matches the scenario's expectations.
    pub fn passed(&self) -> bool {
        self.surprises.is_empty()
    }
}

struct Session {
    ip: String,
    ups: String,
    login_ms: u64,
    logout_ms: Option<u64>,
}

fn sessions(outcome: &Outcome, primary: &str) -> Vec<Session> {
    let mut sessions: Vec<Session> = Vec::new();
    for entry in outcome.timeline.iter().filter(|e| e.host == primary) {
        match entry.event() {
            Some(Event::Upsd(UpsdEvent::Login { addr, ups, .. })) => sessions.push(Session {
                ip: addr.clone(),
                ups: ups.clone(),
                login_ms: entry.t_ms,
                logout_ms: None,
            }),
            // A upsd that starts again (after a crash) has no sessions: the old ones
            // ended with the old process.
            Some(Event::Listening { .. }) => {
                for s in sessions.iter_mut().filter(|s| s.logout_ms.is_none()) {
                    s.logout_ms = Some(entry.t_ms);
                }
            }
            Some(Event::Upsd(UpsdEvent::Logout { addr, .. })) => {
                if let Some(s) = sessions
                    .iter_mut()
                    .rev()
                    .find(|s| &s.ip == addr && s.logout_ms.is_none())
                {
                    s.logout_ms = Some(entry.t_ms);
                }
            }
            _ => {}
        }
    }
    // The primary's upsd dies with its host: open sessions end at the last entry.
    sessions
}

/// Once a upsd set FSD on a UPS, every other client logged in to it at that moment must
/// learn of it while its session lasts: a `notify FSD` for that UPS, its own shutdown,
/// or a lost connection (COMMBAD/NOCOMM), or its power gone. A client that went on
/// polling and never saw FSD means the flag did not stay set.
fn fsd_latched(scenario: &Scenario, outcome: &Outcome) -> Vec<String> {
    let names: BTreeMap<String, String> = ip_names(outcome).into_iter().collect();
    let mut problems = Vec::new();
    for server in scenario.hosts.iter().filter(|h| h.role == Role::Primary) {
        let all = sessions(outcome, &server.name);
        for set in outcome.timeline.iter().filter(|e| e.host == server.name) {
            let Some(Event::Upsd(UpsdEvent::FsdSet { ups, addr, .. })) = set.event() else {
                continue;
            };
            for session in all.iter().filter(|s| {
                &s.ups == ups
                    && &s.ip != addr
                    && s.login_ms <= set.t_ms
                    && s.logout_ms.is_none_or(|t| t > set.t_ms)
            }) {
                let Some(client) = names.get(&session.ip) else {
                    continue;
                };
                let until = session.logout_ms.unwrap_or(u64::MAX);
                let system = format!("{ups}@{}", server.name);
                // FSD seen after it was set; or the client gone from the session's
                // point of view (its own shutdown, lost contact, lost power) at any
                // time since it logged in: a stale login (a partitioned or halted
                // client) cannot see anything.
                let learned = outcome.timeline.iter().any(|e| {
                    e.host == *client
                        && e.t_ms >= session.login_ms
                        && e.t_ms <= until
                        && match &e.what {
                            What::Daemon(Event::Notify {
                                kind, system: s, ..
                            }) => {
                                s.starts_with(&system)
                                    && match kind {
                                        NotifyType::Fsd => e.t_ms >= set.t_ms,
                                        NotifyType::CommBad
                                        | NotifyType::NoComm
                                        | NotifyType::Shutdown => true,
                                        _ => false,
                                    }
                            }
                            What::Daemon(Event::ShutdownCmdStarted { .. }) => true,
                            What::World(w) => matches!(
                                w,
                                WorldEvent::PowerLostRunning
                                    | WorldEvent::PowerLostShuttingDown { .. }
                                    | WorldEvent::Halted
                            ),
                            _ => false,
                        }
                });
                // A session still open at the end of a run that stopped early has had
                // no chance yet.
                let open_at_end = session.logout_ms.is_none();
                if !learned && !open_at_end {
                    problems.push(format!(
                        "{client} stayed logged in to {ups} on {} from FSD at {} to {} without seeing it",
                        server.name,
                        clock(set.t_ms),
                        clock(until)
                    ));
                }
            }
        }
    }
    problems
}

/// The start of each life of `host`: time 0 and every time it finished booting.
fn lives(outcome: &Outcome, host: &str) -> Vec<(u64, u64)> {
    let mut starts = vec![0];
    starts.extend(
        outcome
            .timeline
            .iter()
            .filter(|e| e.host == host && e.world() == Some(&WorldEvent::Booted))
            .map(|e| e.t_ms),
    );
    let mut ends: Vec<u64> = starts[1..].to_vec();
    ends.push(u64::MAX);
    starts.into_iter().zip(ends).collect()
}

fn hostsync_check(scenario: &Scenario, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    for primary in scenario.hosts.iter().filter(|h| h.role == Role::Primary) {
        for (start, end) in lives(outcome, &primary.name) {
            let first = |wanted: fn(&Event) -> bool, after: u64| {
                outcome
                    .timeline
                    .iter()
                    .find(|e| {
                        e.host == primary.name
                            && e.t_ms >= after
                            && e.t_ms < end
                            && e.event().is_some_and(wanted)
                    })
                    .map(|e| e.t_ms)
            };
            let Some(fsd_ms) = first(|e| matches!(e, Event::FsdSet { .. }), start) else {
                continue;
            };
            let Some(cmd_ms) = first(|e| matches!(e, Event::ShutdownCmdStarted { .. }), fsd_ms)
            else {
                continue;
            };
            problems.extend(hostsync_life(scenario, outcome, primary, fsd_ms, cmd_ms));
        }
    }
    problems
}

fn hostsync_life(
    scenario: &Scenario,
    outcome: &Outcome,
    primary: &crate::scenario::HostSpec,
    fsd_ms: u64,
    cmd_ms: u64,
) -> Vec<String> {
    let hostsync_ms = upsmon_conf(scenario, primary)
        .map(|c| c.hostsync_s * 1000)
        .unwrap_or(0);
    let primary_ip = outcome
        .addresses
        .get(&primary.name)
        .cloned()
        .unwrap_or_default();
    let names: BTreeMap<String, String> = ip_names(outcome).into_iter().collect();
    let mut problems = Vec::new();
    for session in sessions(outcome, &primary.name) {
        let active_at_fsd =
            session.login_ms <= fsd_ms && session.logout_ms.is_none_or(|t| t > fsd_ms);
        if session.ip == primary_ip || !active_at_fsd {
            continue;
        }
        let logged_out_in_time = session.logout_ms.is_some_and(|t| t <= cmd_ms);
        if !logged_out_in_time && cmd_ms - fsd_ms < hostsync_ms {
            let who = names
                .get(&session.ip)
                .cloned()
                .unwrap_or(session.ip.clone());
            problems.push(format!(
                "{} ran SHUTDOWNCMD {} ms after FSD while {who} was still logged in (HOSTSYNC {} ms)",
                primary.name,
                cmd_ms - fsd_ms,
                hostsync_ms
            ));
        }
    }
    problems
}

/// Checks every invariant.
pub fn judge(scenario: &Scenario, outcome: &Outcome) -> Verdict {
    let mut checks = Vec::new();
    let power_loss: Vec<String> = outcome
        .timeline
        .iter()
        .filter(|e| {
            matches!(
                e.world(),
                Some(WorldEvent::PowerLostRunning | WorldEvent::PowerLostShuttingDown { .. })
            )
        })
        .map(|e| format!("{} lost power at {} before halting", e.host, clock(e.t_ms)))
        .collect();
    checks.push(Check {
        name: "no_unsafe_power_loss",
        problems: power_loss,
    });
    checks.push(Check {
        name: "primary_respects_hostsync",
        problems: hostsync_check(scenario, outcome),
    });
    // Once per life: a host that boots again may shut down again.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut twice = Vec::new();
    for entry in &outcome.timeline {
        if entry.world() == Some(&WorldEvent::Booted) {
            counts.remove(entry.host.as_str());
        }
        if matches!(entry.event(), Some(Event::ShutdownCmdStarted { .. })) {
            let n = counts.entry(entry.host.as_str()).or_default();
            *n += 1;
            if *n == 2 {
                twice.push(format!(
                    "{} ran SHUTDOWNCMD again at {} without booting in between",
                    entry.host,
                    clock(entry.t_ms)
                ));
            }
        }
    }
    checks.push(Check {
        name: "shutdown_once",
        problems: twice,
    });
    checks.push(Check {
        name: "fsd_latched",
        problems: fsd_latched(scenario, outcome),
    });
    checks.push(Check {
        name: "no_shutdown_without_trigger",
        problems: shutdown_triggers(outcome),
    });
    checks.push(Check {
        name: "killpower_after_powerdownflag",
        problems: killpower_order(outcome),
    });
    checks.push(Check {
        name: "no_shutdown_on_transient",
        problems: transient_check(outcome),
    });
    checks.push(Check {
        name: "every_host_back_after_mains",
        problems: back_after_mains(scenario, outcome),
    });
    let mut surprises = Vec::new();
    for check in &checks {
        let expected = scenario.expect.violations.iter().any(|v| v == check.name);
        match (check.problems.is_empty(), expected) {
            (false, false) => surprises.push(format!("{} violated", check.name)),
            (true, true) => {
                surprises.push(format!("{} expected to be violated but held", check.name))
            }
            _ => {}
        }
    }
    for name in &scenario.expect.violations {
        if !checks.iter().any(|c| c.name == name) {
            surprises.push(format!("unknown invariant {name:?} in expect.violations"));
        }
    }
    Verdict { checks, surprises }
}

/// After mains came back for good, every host must run again once the UPSes had time
/// to return the load and the hosts to boot (`ups.delay.start` + boot + a minute).
fn back_after_mains(scenario: &Scenario, outcome: &Outcome) -> Vec<String> {
    let Some(back_ms) = outcome.mains_returned_ms else {
        return Vec::new();
    };
    let settle_ms = scenario
        .upses
        .iter()
        .map(|u| u.delay_start_s)
        .fold(0.0, f64::max)
        + scenario.hosts.iter().map(|h| h.boot_s).fold(0.0, f64::max)
        + 60.0;
    // Judged once nothing can change any more, or once the hosts had time to return.
    if !outcome.settled && outcome.end_ms < back_ms + (settle_ms * 1000.0) as u64 {
        return Vec::new();
    }
    outcome
        .hosts
        .iter()
        .filter(|(_, state)| !matches!(state, HostState::Running))
        .map(|(host, state)| {
            let what = match state {
                HostState::Halted(_) => "still halted (the UPS never cycled its load)",
                HostState::ShuttingDown(_) => "still shutting down",
                HostState::Booting(_) => "still booting",
                _ => "still without power",
            };
            format!(
                "{host} is {what} at {}; mains returned at {}",
                clock(outcome.end_ms),
                clock(back_ms)
            )
        })
        .collect()
}

fn shutdown_triggers(outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, entry) in outcome.timeline.iter().enumerate() {
        if !matches!(entry.event(), Some(Event::ShutdownCmdStarted { .. })) {
            continue;
        }
        // In this life of the host: after it last finished booting.
        let triggered = outcome.timeline[..index]
            .iter()
            .rev()
            .filter(|e| e.host == entry.host)
            .take_while(|e| e.world() != Some(&WorldEvent::Booted))
            .any(|e| {
                matches!(
                    e.event(),
                    Some(Event::TooFewHealthy { .. } | Event::UserFsd)
                )
            });
        if !triggered {
            problems.push(format!(
                "{} ran SHUTDOWNCMD at {} without a critical UPS or an FSD request",
                entry.host,
                clock(entry.t_ms)
            ));
        }
    }
    problems
}

fn transient_check(outcome: &Outcome) -> Vec<String> {
    // Per (host, timer name): when armed, for which UPS, and when that UPS came back.
    let mut armed: BTreeMap<(String, String), (u64, String, Option<u64>)> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in &outcome.timeline {
        match entry.event() {
            Some(Event::TimerStarted {
                name,
                ups,
                notifytype,
                ..
            }) if notifytype == "ONBATT" => {
                armed.insert(
                    (entry.host.clone(), name.clone()),
                    (entry.t_ms, ups.clone(), None),
                );
            }
            Some(Event::Notify { kind, system, .. })
                if *kind == nut_core::notify::NotifyType::Online =>
            {
                for ((host, _), (_, ups, back)) in armed.iter_mut() {
                    if *host == entry.host && ups == system && back.is_none() {
                        *back = Some(entry.t_ms);
                    }
                }
            }
            Some(Event::TimerCancelled { name }) => {
                armed.remove(&(entry.host.clone(), name.clone()));
            }
            Some(Event::TimerExpired { name }) => {
                if let Some((t0, ups, Some(back))) =
                    armed.remove(&(entry.host.clone(), name.clone()))
                {
                    problems.push(format!(
                        "{}: timer {name} armed by ONBATT at {} expired at {} although {ups} was back on line at {}",
                        entry.host,
                        clock(t0),
                        clock(entry.t_ms),
                        clock(back)
                    ));
                }
            }
            _ => {}
        }
        // A host that goes down takes its timers with it.
        if matches!(
            entry.world(),
            Some(WorldEvent::Halted | WorldEvent::PowerLostRunning | WorldEvent::Booting)
        ) {
            armed.retain(|(host, _), _| *host != entry.host);
        }
    }
    problems
}

fn killpower_order(outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, entry) in outcome.timeline.iter().enumerate() {
        if !matches!(entry.event(), Some(Event::DeviceCommand { .. })) {
            continue;
        }
        let before = &outcome.timeline[..=index];
        let flag = before.iter().any(|e| {
            e.host == entry.host && matches!(e.event(), Some(Event::PowerdownFlagWritten { .. }))
        });
        let halted = before
            .iter()
            .any(|e| e.host == entry.host && e.world() == Some(&WorldEvent::Halted));
        if !(flag && halted) {
            problems.push(format!(
                "{} told the UPS to cut the load at {} {}",
                entry.host,
                clock(entry.t_ms),
                if flag {
                    "before it halted"
                } else {
                    "without writing POWERDOWNFLAG"
                }
            ));
        }
    }
    problems
}

/// Rare branches a run went through, by name.
pub fn marks(outcome: &Outcome) -> std::collections::BTreeSet<&'static str> {
    let mut marks = std::collections::BTreeSet::new();
    for entry in &outcome.timeline {
        let mark = match &entry.what {
            What::Daemon(Event::HostsyncExpired) => "hostsync_expired",
            What::Daemon(Event::HostsyncWaiting { .. }) => "primary_waited_for_secondaries",
            What::Daemon(Event::AssumedDead { .. }) => "dead_ups_assumed_critical",
            What::Daemon(Event::UserFsd) => "fsd_requested",
            What::Daemon(Event::ReloadFailed { .. }) => "reload_refused",
            What::Daemon(Event::Reloaded) => "reloaded",
            What::Daemon(Event::PowerdownFlagForeign { .. }) => "powerdownflag_foreign",
            What::Daemon(Event::PowerdownFlagCleared { .. }) => "powerdownflag_cleared",
            What::Daemon(Event::TimerExpired { .. }) => "upssched_timer_expired",
            What::Daemon(Event::CmdScriptRan { .. }) => "upssched_cmdscript_ran",
            What::Daemon(Event::Upsd(nut_core::upsd::Event::Stale { .. })) => "data_stale",
            What::Daemon(Event::PollFailed { .. }) => "poll_failed",
            What::Daemon(Event::DeviceCommand { .. }) => "killpower_sent",
            What::World(WorldEvent::PowerLostShuttingDown { .. }) => {
                "power_lost_while_shutting_down"
            }
            What::World(WorldEvent::PowerLostRunning) => "power_lost_while_running",
            What::World(WorldEvent::ProcessFailed { .. }) => "process_failed",
            What::World(WorldEvent::Exec { .. }) => "notifycmd_ran",
            What::World(WorldEvent::Booted) => "host_rebooted",
            What::World(WorldEvent::KillIgnoredOnMains) => "kill_ignored_on_mains",
            What::World(WorldEvent::RebootAfterWait) => "reboot_after_poweroff_wait",
            What::World(WorldEvent::OutputOn) => "ups_returned_load",
            What::World(WorldEvent::BatteryExhausted) => "battery_exhausted",
            _ => continue,
        };
        marks.insert(mark);
    }
    marks
}

/// `mm:ss.mmm` (hours added when needed).
pub fn clock(t_ms: u64) -> String {
    let (h, rest) = (t_ms / 3_600_000, t_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{m:02}:{s:02}.{ms:03}")
    }
}

/// The report printed by `nut-sim run` and stored in snapshots.
pub fn render(scenario: &Scenario, outcome: &Outcome, verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", scenario.name);
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "about: {}", scenario.description.trim());
    }
    let _ = writeln!(out, "seed: {}", scenario.seed);
    let _ = writeln!(out, "timeline:");
    let names = ip_names(outcome);
    for entry in &outcome.timeline {
        let what = entry_text(entry, &names);
        let _ = writeln!(
            out,
            "  {:>10}  {:<9} {:<9} {}",
            clock(entry.t_ms),
            entry.host,
            entry.program,
            what
        );
    }
    let _ = writeln!(out, "end: {}", clock(outcome.end_ms));
    let flags: Vec<String> = outcome
        .files
        .iter()
        .filter(|((_, path), _)| path == crate::harness::POWERDOWNFLAG)
        .map(|((host, path), content)| {
            let text = String::from_utf8_lossy(content);
            format!("{host}:{path} = {:?}", text.lines().next().unwrap_or(""))
        })
        .collect();
    if !flags.is_empty() {
        let _ = writeln!(out, "powerdownflag files at the end:");
        for flag in flags {
            let _ = writeln!(out, "  {flag}");
        }
    }
    let _ = writeln!(out, "verdict:");
    for check in &verdict.checks {
        let expected = scenario.expect.violations.iter().any(|v| v == check.name);
        if check.problems.is_empty() {
            let _ = writeln!(out, "  {}: ok", check.name);
        } else {
            let tag = if expected {
                "VIOLATED (expected)"
            } else {
                "VIOLATED"
            };
            let _ = writeln!(out, "  {}: {tag}", check.name);
            for problem in &check.problems {
                let _ = writeln!(out, "    - {problem}");
            }
        }
    }
    let marks: Vec<&str> = marks(outcome).into_iter().collect();
    let _ = writeln!(out, "marks: {}", marks.join(" "));
    let _ = writeln!(
        out,
        "result: {}",
        if verdict.passed() { "PASS" } else { "FAIL" }
    );
    for surprise in &verdict.surprises {
        let _ = writeln!(out, "  - {surprise}");
    }
    out
}

/// The text of one timeline entry, with peers' IP addresses replaced by host names.
/// Notifications are shown by type and UPS (the message is in the JSON output).
pub fn entry_text(entry: &Entry, names: &[(String, String)]) -> String {
    let mut what = match &entry.what {
        What::Daemon(Event::Notify { kind, system, .. }) => format!(
            "notify {kind} {}",
            if system.is_empty() { "-" } else { system }
        ),
        What::Daemon(event) => event.to_string(),
        What::World(event) => event.to_string(),
    };
    for (ip, host) in names {
        what = what.replace(&format!("@{ip}"), &format!("@{host}"));
        what = what.replace(&format!(" {ip}"), &format!(" {host}"));
    }
    what
}

/// The timeline as JSON lines: one object per event with its time, host, program,
/// kind, rendered text and typed fields.
pub fn json_lines(outcome: &Outcome) -> String {
    let names = ip_names(outcome);
    let mut out = String::new();
    for entry in &outcome.timeline {
        let mut object = serde_json::Map::new();
        object.insert("t_ms".into(), entry.t_ms.into());
        object.insert("host".into(), entry.host.clone().into());
        object.insert("program".into(), entry.program.into());
        let (kind, fields): (&str, Vec<(&str, String)>) = match &entry.what {
            What::Daemon(event) => (event.kind(), event.fields()),
            What::World(event) => (event.kind(), Vec::new()),
        };
        object.insert("kind".into(), kind.into());
        object.insert("text".into(), entry_text(entry, &names).into());
        for (name, value) in fields {
            object.insert(name.into(), value.into());
        }
        out.push_str(&serde_json::Value::Object(object).to_string());
        out.push('\n');
    }
    out
}
