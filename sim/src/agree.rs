//! Whether two runs of a scenario made the same decisions: the turmoil driver and the
//! fast driver must agree on every scenario the fast driver models.
//!
//! A decision is what a sysadmin would read off the timeline: each notification, FSD
//! set, POWERDOWNFLAG written, SHUTDOWNCMD started, CMDSCRIPT run, halted, power lost, booted, the
//! UPS's late shutdown and output changes, per host and in order, at about the same
//! time; and the same verdict on every check. Log lines that only reflect network
//! timing (logins, connection errors' wording, upsd's own reports) are not decisions.

use crate::harness::Outcome;
use crate::world::{What, WorldEvent};
use nut_core::event::Event;

/// How far apart in time the two drivers may put the same decision, in ms: the two
/// network models differ by a few ms per message, turmoil steps in ticks, and a poll
/// that lands just before or after a change moves a decision by one POLLFREQ at most.
pub const AGREEMENT_TOLERANCE_MS: u64 = 6_000;

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
/// decisions in the same order, each within [`AGREEMENT_TOLERANCE_MS`].
pub fn compare(a: &Outcome, b: &Outcome) -> Vec<String> {
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
                    if p.t_ms.abs_diff(q.t_ms) > AGREEMENT_TOLERANCE_MS {
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
