//! Whether two runs of a scenario made the same decisions: the turmoil driver and the
//! fast driver must agree on every scenario the fast driver models.
//!
//! A decision is what a sysadmin would read off the timeline: each notification, FSD
//! set, POWERDOWNFLAG written, SHUTDOWNCMD started, CMDSCRIPT run, halted, power lost, booted, the
//! UPS's late shutdown and output changes, per host and in order, at about the same
//! time; and the same verdict on every check. Log lines that only reflect network
//! timing (logins, connection errors' wording, upsd's own reports) are not decisions.

use crate::harness::{upsmon_conf, Outcome};
use crate::scenario::Scenario;
use crate::world::{What, WorldEvent};
use nut_core::event::Event;

/// The least time, in ms, the two drivers may put the same decision apart: turmoil
/// steps in ticks and draws each message's latency, so a poll cycle lasts a few ms more
/// or less on each driver.
pub const AGREEMENT_TOLERANCE_MS: u64 = 6_000;

/// How far apart in time the two drivers may put the same decision in `scenario`, in
/// ms. Over a long run those few ms per poll cycle add up and move each upsmon's poll
/// phase: a change is then seen up to one driver poll and one upsmon poll (on each of
/// the primary and a secondary) earlier on one driver than on the other.
pub fn tolerance_ms(scenario: &Scenario) -> u64 {
    let driver_ms = scenario
        .upses
        .iter()
        .map(|u| u.pollinterval_s.saturating_add(1).saturating_mul(1000))
        .max()
        .unwrap_or(0);
    let poll_ms = scenario
        .hosts
        .iter()
        .filter_map(|h| upsmon_conf(scenario, h).ok())
        .map(|c| c.pollfreq_s.max(c.pollfreqalert_s).saturating_mul(1000))
        .max()
        .unwrap_or(0);
    AGREEMENT_TOLERANCE_MS.max(driver_ms.saturating_add(poll_ms.saturating_mul(2)))
}

/// One decision: when, where, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Simulated time in ms.
    pub t_ms: u64,
    /// Host (or UPS, for the UPS's own events).
    pub host: String,
    /// What was decided (a stable name).
    pub what: String,
}

/// The decisions in an outcome, in timeline order.
pub fn decisions(outcome: &Outcome) -> Vec<Decision> {
    outcome
        .timeline
        .iter()
        .filter_map(|entry| {
            let what = match &entry.what {
                What::Daemon(Event::Notify { kind, .. }) => format!("notify {}", kind.as_str()),
                What::Daemon(Event::FsdSet { .. }) => "FSD set".to_string(),
                What::Daemon(Event::PowerdownFlagWritten { .. }) => {
                    "POWERDOWNFLAG written".to_string()
                }
                What::Daemon(Event::ShutdownCmdStarted { .. }) => "SHUTDOWNCMD".to_string(),
                What::Daemon(Event::CmdScriptRan { cmd, .. }) => format!("CMDSCRIPT {cmd}"),
                What::World(
                    event @ (WorldEvent::Halted
                    | WorldEvent::PowerLostRunning
                    | WorldEvent::PowerLostShuttingDown { .. }
                    | WorldEvent::PowerOffHalted
                    | WorldEvent::Booted
                    | WorldEvent::LateShutdown { .. }
                    | WorldEvent::OutputOff
                    | WorldEvent::OutputOn
                    | WorldEvent::BatteryExhausted
                    | WorldEvent::KillIgnoredOnMains
                    | WorldEvent::RebootAfterWait),
                ) => event.kind().to_string(),
                _ => return None,
            };
            Some(Decision {
                t_ms: entry.t_ms,
                host: entry.host.clone(),
                what,
            })
        })
        .collect()
}

/// Where two runs' decisions differ (empty when they agree): per host, the same
/// decisions in the same order, each within `tolerance_ms`.
pub fn compare(a: &Outcome, b: &Outcome, tolerance_ms: u64) -> Vec<String> {
    let (a, b) = (decisions(a), decisions(b));
    let mut hosts: Vec<&str> = a.iter().chain(&b).map(|d| d.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut problems = Vec::new();
    for host in hosts {
        let of = |list: &[Decision]| -> Vec<Decision> {
            list.iter().filter(|d| d.host == host).cloned().collect()
        };
        let (x, y) = (of(&a), of(&b));
        for index in 0..x.len().max(y.len()) {
            match (x.get(index), y.get(index)) {
                (Some(p), Some(q)) if p.what == q.what => {
                    if p.t_ms.abs_diff(q.t_ms) > tolerance_ms {
                        problems.push(format!(
                            "{host}: {} at {} vs {}",
                            p.what,
                            crate::verdict::clock(p.t_ms),
                            crate::verdict::clock(q.t_ms)
                        ));
                    }
                }
                (p, q) => {
                    let show = |d: Option<&Decision>| {
                        d.map_or("nothing".to_string(), |d| {
                            format!("{} at {}", d.what, crate::verdict::clock(d.t_ms))
                        })
                    };
                    problems.push(format!(
                        "{host}: decision {} differs: {} vs {}",
                        index + 1,
                        show(p),
                        show(q)
                    ));
                    break;
                }
            }
        }
    }
    problems
}

/// Where two runs' verdicts differ (empty when every invariant held or failed alike).
/// A random site often sits on a timing boundary (a blip as long as a poll interval, a
/// battery that empties as a shutdown ends), where a few ms of latency decide which
/// poll sees a change; the swarm's cross-check therefore compares verdicts, while the
/// bundled scenarios are compared decision by decision ([`compare`]).
pub fn compare_verdicts(scenario: &Scenario, a: &Outcome, b: &Outcome) -> Vec<String> {
    let (x, y) = (
        crate::verdict::judge(scenario, a),
        crate::verdict::judge(scenario, b),
    );
    x.checks
        .iter()
        .zip(&y.checks)
        .filter(|(p, q)| p.problems.is_empty() != q.problems.is_empty())
        .map(|(p, q)| {
            format!(
                "{}: {} on turmoil, {} on the fast driver",
                p.name,
                if p.problems.is_empty() {
                    "held"
                } else {
                    "violated"
                },
                if q.problems.is_empty() {
                    "held"
                } else {
                    "violated"
                },
            )
        })
        .collect()
}
