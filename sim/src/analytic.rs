//! The planner's closed-form prediction: for a site with one UPS and one outage, an
//! interval for each host's safety margin (the time between the host halting and its
//! power going off), from the same parsed upsmon.conf values the daemons use.
//!
//! Timings come from upsmon's and the driver's loops (NUT's upsmon.c: a host that sees
//! the UPS on battery and low, or sees FSD, waits FINALDELAY and runs SHUTDOWNCMD; the
//! primary first sets FSD and waits up to HOSTSYNC for the secondaries to log out):
//!
//! ```text
//! LB      = when the battery reaches battery.charge.low (or the timeline's first LB)
//! start_p ∈ [LB, LB + pollinterval + POLLFREQALERT_p]        (driver poll, then upsmon poll: FSD)
//! start_s ∈ [start_p, start_p + POLLFREQALERT_s]              (a secondary waits for FSD)
//! early_h ∈ [off + T, off + pollinterval + POLLFREQ_h + T + 1] (upssched timer T -> upsmon -c fsd)
//! start_h = min(start_h, early_h)
//! logout_s = start_s + FINALDELAY_s    (SHUTDOWNEXIT yes; halted_s with SHUTDOWNEXIT no)
//! halted_s = start_s + FINALDELAY_s + shutdown_s                          (secondaries)
//! sync    = min(start_p + HOSTSYNC, max(start_p, max_s logout_s)) (+ up to 1 s: checked each second)
//! halted_p = sync + FINALDELAY_p + shutdown_p
//! lost    = min(empty, halted_p + ups.delay.shutdown)      (late shutdown with POWERDOWNFLAG)
//! margin_h = lost - halted_h
//! ```
//!
//! Each bound takes the earliest (or latest) end of every interval; the battery drains
//! at the load of the hosts still up (a halted host draws nothing). A cell is `safe`
//! when every lower bound is at least 0, `unsafe` when some upper bound is below 0, and
//! a `race` in between: there the poll phases decide, and only the simulation knows.
//! Hung shutdowns are handled (the host never halts). Sites outside this model get
//! `n/a` and a reason: several UPSes, supplies on several UPSes, faults, mains back
//! before every host has seen LB, a scripted device timeline without LB.

use crate::scenario::{Role, Scenario};

/// The prediction for one site.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// Margin bounds per host, in milliseconds: (host, lowest, highest).
    /// [`NEVER_HALTS`]: the host never halts; [`POWER_STAYS_ON`]: its power never goes
    /// off.
    Margins(Vec<(String, i64, i64)>),
    /// The site is outside the model.
    NotModelled(String),
}

/// What the prediction says about the whole site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Every host halts before its power goes off, whatever the poll phases.
    Safe,
    /// Some host loses power first, whatever the poll phases.
    Unsafe,
    /// It depends on the poll phases and latencies.
    Race,
    /// Outside the model.
    NotModelled,
}

impl Call {
    /// The word used in tables.
    pub fn word(self) -> &'static str {
        match self {
            Call::Safe => "safe",
            Call::Unsafe => "unsafe",
            Call::Race => "race",
            Call::NotModelled => "n/a",
        }
    }

    /// Parses [`Call::word`].
    pub fn from_word(word: &str) -> Option<Call> {
        [Call::Safe, Call::Unsafe, Call::Race, Call::NotModelled]
            .into_iter()
            .find(|c| c.word() == word)
    }
}

impl Prediction {
    /// The call on the whole site.
    pub fn call(&self) -> Call {
        match self {
            Prediction::NotModelled(_) => Call::NotModelled,
            Prediction::Margins(m) if m.iter().all(|(_, lo, _)| *lo >= 0) => Call::Safe,
            Prediction::Margins(m) if m.iter().any(|(_, _, hi)| *hi < 0) => Call::Unsafe,
            Prediction::Margins(_) => Call::Race,
        }
    }

    /// The smallest lower and upper margin bounds over the hosts.
    pub fn worst(&self) -> Option<(i64, i64)> {
        match self {
            Prediction::NotModelled(_) => None,
            Prediction::Margins(m) => Some((
                m.iter().map(|(_, lo, _)| *lo).min()?,
                m.iter().map(|(_, _, hi)| *hi).min()?,
            )),
        }
    }
}

/// Upsmon checks NUMLOGINS once a second while it waits out HOSTSYNC (upsmon.c).
const HOSTSYNC_CHECK_MS: i64 = 1_000;
/// upssched runs CMDSCRIPT within a second of the timer expiring.
const UPSSCHED_SLACK_MS: i64 = 1_000;
/// A time that never comes.
const NEVER: i64 = i64::MAX / 4;

/// One host's part in the formula.
struct Host {
    name: String,
    primary: bool,
    draw_w: f64,
    pollfreq_ms: i64,
    pollfreqalert_ms: i64,
    finaldelay_ms: i64,
    /// The shortest and longest its SHUTDOWNCMD takes.
    shutdown_ms: (i64, i64),
    hangs: bool,
    /// SHUTDOWNEXIT: upsmon logs out this long after SHUTDOWNCMD starts (None: never,
    /// only when the host halts).
    exit_after_ms: Option<i64>,
    /// upssched's early shutdown: ONBATT starts a timer of this many ms whose
    /// CMDSCRIPT runs `upsmon -c fsd`.
    early_ms: Option<i64>,
}

/// Predicts the margins of `scenario`'s hosts.
pub fn predict(scenario: &Scenario) -> Prediction {
    predict_jittered(scenario, 0.0, 0)
}

/// [`predict`] for runs whose shutdowns take their duration times a factor within
/// ±`shutdown_pct` percent and whose links add up to `latency_ms` per message (a poll
/// is a request and a reply; setting FSD one more of each).
pub fn predict_jittered(scenario: &Scenario, shutdown_pct: f64, latency_ms: u64) -> Prediction {
    match predict_inner(
        scenario,
        shutdown_pct / 100.0,
        i64::try_from(latency_ms.saturating_mul(4)).unwrap_or(NEVER),
    ) {
        Ok(m) => Prediction::Margins(m),
        Err(reason) => Prediction::NotModelled(reason),
    }
}

fn ms(s: f64) -> i64 {
    ms_at((s * 1000.0).round())
}

/// A time in milliseconds as an `f64`, within what the formula adds up safely.
fn ms_at(t: f64) -> i64 {
    if t.is_nan() {
        return NEVER;
    }
    t.clamp(-(NEVER as f64), NEVER as f64) as i64
}

/// Configured whole seconds in milliseconds, at most [`NEVER`].
fn secs_ms(s: u64) -> i64 {
    i64::try_from(nut_core::secs_to_ms(s))
        .unwrap_or(NEVER)
        .min(NEVER)
}

fn predict_inner(
    scenario: &Scenario,
    jitter: f64,
    latency_ms: i64,
) -> Result<Vec<(String, i64, i64)>, String> {
    if scenario.upses.len() != 1 {
        return Err("several UPSes".into());
    }
    if !scenario.faults.is_empty() {
        return Err("faults".into());
    }
    if scenario.tls && scenario.hosts.iter().any(|h| h.wrong_ca) {
        return Err("a host cannot connect (wrong CA)".into());
    }
    let ups = &scenario.upses[0];
    let mut hosts = Vec::new();
    // The primary's HOSTSYNC and POWERDOWNFLAG, from its upsmon.conf.
    let mut primary_conf = None;
    for spec in &scenario.hosts {
        if scenario.feeds_of(spec).len() != 1 {
            return Err(format!("host {} has several supplies", spec.name));
        }
        let conf = crate::harness::upsmon_conf(scenario, spec)?;
        if scenario.monitors_of(spec).len() != 1 {
            return Err(format!("host {} monitors several UPSes", spec.name));
        }
        if spec.role == Role::Primary && primary_conf.is_none() {
            primary_conf = Some((secs_ms(conf.hostsync_s), conf.powerdownflag.clone()));
        }
        hosts.push(Host {
            name: spec.name.clone(),
            primary: spec.role == Role::Primary,
            draw_w: spec.draw_w,
            pollfreq_ms: secs_ms(conf.pollfreq_s),
            pollfreqalert_ms: secs_ms(conf.pollfreqalert_s),
            finaldelay_ms: secs_ms(conf.finaldelay_s),
            shutdown_ms: (
                ms(spec.shutdown_s * (1.0 - jitter)),
                ms(spec.shutdown_s * (1.0 + jitter)),
            ),
            hangs: spec.shutdown_hangs,
            exit_after_ms: match conf.shutdownexit {
                nut_core::config::ShutdownExit::Yes => Some(0),
                nut_core::config::ShutdownExit::No => None,
                nut_core::config::ShutdownExit::AfterSeconds(s) => Some(secs_ms(s)),
            },
            early_ms: early_timer_ms(spec),
        });
    }
    let (Some(primary), Some((hostsync_ms, flag))) =
        (hosts.iter().position(|h| h.primary), primary_conf)
    else {
        return Err("no primary".into());
    };
    let site = Site {
        hosts: &hosts,
        primary,
        off_ms: first_outage_ms(ups)?,
        poll_ms: secs_ms(ups.pollinterval_s),
        latency_ms,
        hostsync_ms,
    };
    let back_ms = ups
        .mains
        .iter()
        .find(|m| m.on && ms(m.at_s) > site.off_ms)
        .map_or(NEVER, |m| ms(m.at_s));
    // The late shutdown cuts the load only when the primary wrote POWERDOWNFLAG.
    if let Some(path) = &flag {
        if scenario.hosts[primary].files.contains_key(path) {
            return Err("a file already lies at POWERDOWNFLAG".into());
        }
    }
    let delay_ms = if flag.is_some() && ups.sdorder != Some(-1) {
        match ups.driver {
            // What the real driver's -k writes to the modelled USB unit.
            crate::scenario::DriverKind::UsbhidUps => {
                crate::hidunit::kill_delay_s(ups.delay_shutdown_s, ups.delay_start_s)
                    .map_or(NEVER, |s| {
                        i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000)
                    })
            }
            // snmp-ups's -k on the modelled APC card: shutdown.return after the shutoff
            // delay it set from offdelay.
            _ => ms(ups.delay_shutdown_s),
        }
    } else {
        NEVER
    };
    let all = |late: bool| vec![late; hosts.len()];
    // Two passes: the battery drains at the load of the hosts still up, which depends on
    // when they halt. The earliest halts drain least: the battery's late bound uses them.
    let (mut early_halts, mut late_halts) = (vec![NEVER; hosts.len()], vec![NEVER; hosts.len()]);
    let mut result = Vec::new();
    for _ in 0..2 {
        let (lb_lo, empty_hi) = battery_times(scenario, &hosts, site.off_ms, &early_halts)?;
        let (lb_hi, empty_lo) = battery_times(scenario, &hosts, site.off_ms, &late_halts)?;
        // When upsd first has LB: the driver reads the device every pollinterval.
        let d_lo = lb_lo.min(lb_hi);
        let d_hi = lb_lo.max(lb_hi).saturating_add(site.poll_ms);
        early_halts = site.halts(d_lo, &all(false));
        late_halts = site.halts(d_hi, &all(true));
        // Mains back before every host has seen LB: not the outage the formula covers.
        let latest_start = d_hi.saturating_add(
            hosts
                .iter()
                .map(|h| h.pollfreqalert_ms)
                .max()
                .unwrap_or(0)
                .saturating_add(latency_ms),
        );
        if back_ms < latest_start {
            return Err("mains comes back before the site is down".into());
        }
        // Mains back before the battery is flat: the battery never cuts the load.
        let (empty_lo, empty_hi) = (
            if empty_lo < back_ms { empty_lo } else { NEVER },
            if empty_hi < back_ms { empty_hi } else { NEVER },
        );
        // A host's margin is min(empty - its halt, primary's halt + delay - its halt).
        // Its lowest: it sees LB as late as it can, every other host as early; the
        // battery term at the latest LB. Its highest: the other way round.
        let margin = |h: usize, halts: &[i64], empty: i64| -> i64 {
            if halts[h] >= NEVER {
                return NEVER_HALTS;
            }
            let mut late = halts[site.primary].saturating_add(delay_ms);
            // A contact-closure unit ignores the kill-power request on mains.
            if !ups.returns && late >= back_ms {
                late = NEVER;
            }
            let lost = empty.min(late);
            if lost >= NEVER {
                return POWER_STAYS_ON;
            }
            lost - halts[h]
        };
        result = (0..hosts.len())
            .map(|h| {
                let mut worst = vec![false; hosts.len()];
                worst[h] = true;
                let mut best = vec![true; hosts.len()];
                best[h] = false;
                if h == site.primary {
                    (worst, best) = (all(true), all(false));
                }
                let lo = margin(h, &site.halts(d_hi, &worst), empty_lo).min(margin(
                    h,
                    &site.halts(d_lo, &worst),
                    empty_lo,
                ));
                let hi = margin(h, &site.halts(d_lo, &best), empty_hi).max(margin(
                    h,
                    &site.halts(d_hi, &best),
                    empty_hi,
                ));
                (hosts[h].name.clone(), lo, hi.max(lo))
            })
            .collect();
    }
    Ok(result)
}

/// A host whose power never goes off (mains returns first, no late shutdown) has this
/// margin.
pub const POWER_STAYS_ON: i64 = i64::MAX;

/// A host that never halts (its SHUTDOWNCMD hangs) has this margin.
pub const NEVER_HALTS: i64 = i64::MIN + 1;

/// The site's timing inputs.
struct Site<'a> {
    hosts: &'a [Host],
    primary: usize,
    off_ms: i64,
    poll_ms: i64,
    latency_ms: i64,
    hostsync_ms: i64,
}

impl Site<'_> {
    /// Each host's halt time when upsd has LB from `d` on and each host sees it (and
    /// runs its upssched timer) as late as it can (`late[h]`) or at once.
    fn halts(&self, d: i64, late: &[bool]) -> Vec<i64> {
        // upssched's early shutdown: the ONBATT timer runs `upsmon -c fsd`.
        let early = |i: usize| -> i64 {
            let h = &self.hosts[i];
            match h.early_ms {
                Some(t) if late[i] => [
                    self.poll_ms,
                    h.pollfreq_ms,
                    t,
                    UPSSCHED_SLACK_MS,
                    self.latency_ms,
                ]
                .into_iter()
                .fold(self.off_ms, i64::saturating_add),
                Some(t) => self.off_ms.saturating_add(t),
                None => NEVER,
            }
        };
        // The primary acts on its own sight of LB.
        let start = |i: usize| -> i64 {
            let h = &self.hosts[i];
            let seen = if late[i] {
                d.saturating_add(h.pollfreqalert_ms.saturating_add(self.latency_ms))
            } else {
                d
            };
            seen.min(early(i))
        };
        let done = |i: usize, s: i64| {
            let h = &self.hosts[i];
            if h.hangs {
                NEVER
            } else {
                let took = if late[i] {
                    h.shutdown_ms.1
                } else {
                    h.shutdown_ms.0
                };
                s.saturating_add(h.finaldelay_ms.saturating_add(took))
            }
        };
        let mut halts = vec![NEVER; self.hosts.len()];
        let mut logout = i64::MIN;
        // The primary sets FSD when it sees LB; a secondary that sees the UPS critical
        // waits for that FSD (upsmon.c) and acts on its next poll after it.
        let p = self.primary;
        let fsd = start(p);
        for i in (0..self.hosts.len()).filter(|i| *i != p) {
            let h = &self.hosts[i];
            let after_fsd = if late[i] {
                fsd.saturating_add(h.pollfreqalert_ms.saturating_add(self.latency_ms))
            } else {
                fsd
            };
            let s = after_fsd.min(early(i));
            halts[i] = done(i, s);
            logout = logout.max(match self.hosts[i].exit_after_ms {
                Some(after) => s
                    .saturating_add(self.hosts[i].finaldelay_ms.saturating_add(after))
                    .min(halts[i]),
                None => halts[i],
            });
        }
        let s = fsd;
        let slack = if late[p] { HOSTSYNC_CHECK_MS } else { 0 };
        let sync = s
            .saturating_add(self.hostsync_ms)
            .min(s.max(logout))
            .saturating_add(slack);
        halts[p] = done(p, sync);
        halts
    }
}

/// When the outage begins: the first mains off, or the first OB in the timeline.
fn first_outage_ms(ups: &crate::scenario::UpsSpec) -> Result<i64, String> {
    if let Some(m) = ups.mains.iter().find(|m| !m.on) {
        return Ok(ms(m.at_s));
    }
    ups.timeline
        .iter()
        .find(|s| s.status.as_deref().is_some_and(|t| t.contains("OB")))
        .map(|s| ms(s.at_s))
        .ok_or_else(|| "no outage".to_string())
}

/// The timer of upssched's early-shutdown recipe on `host`: `AT ONBATT * START-TIMER
/// name T` whose CMDSCRIPT argument `name` runs `upsmon -c fsd`.
fn early_timer_ms(host: &crate::scenario::HostSpec) -> Option<i64> {
    let text = host.upssched.as_ref()?;
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["AT", "ONBATT", _, "START-TIMER", name, secs] => Some((*name, *secs)),
                _ => None,
            }
        })
        .filter(|(name, _)| {
            host.cmdscript
                .get(*name)
                .is_some_and(|c| c.trim() == "upsmon -c fsd")
        })
        .filter_map(|(_, secs)| secs.parse::<i64>().ok())
        .map(|s| s.saturating_mul(1000).min(NEVER))
        .min()
}

/// When the UPS reports LB and when it runs empty, with the hosts halting at `halted`.
fn battery_times(
    scenario: &Scenario,
    hosts: &[Host],
    off_ms: i64,
    halted: &[i64],
) -> Result<(i64, i64), String> {
    let ups = &scenario.upses[0];
    let dead = ups.battery_dead_at_s.map_or(NEVER, ms);
    let Some(b) = &ups.battery else {
        let lb = ups
            .timeline
            .iter()
            .find(|s| s.status.as_deref().is_some_and(|t| t.contains("LB")))
            .map(|s| ms(s.at_s))
            .ok_or("the device timeline never reports LB")?;
        return Ok((lb, dead));
    };
    // Drain in segments between halts: percent per ms at the load then.
    let mut halts: Vec<(i64, f64)> = hosts
        .iter()
        .zip(halted)
        .map(|(h, t)| (*t, h.draw_w))
        .filter(|(t, _)| *t < NEVER)
        .collect();
    halts.sort_by_key(|(t, _)| *t);
    let mut load: f64 = hosts.iter().map(|h| h.draw_w).sum();
    let mut charge = b.charge;
    let mut now = off_ms;
    let mut lb = None;
    let mut empty = None;
    let mut next = halts.into_iter().peekable();
    while empty.is_none() {
        let rate = 100.0 / (b.runtime_s * 1000.0) * (load / b.at_load_w);
        let until = next.peek().map_or(NEVER, |(t, _)| (*t).max(now));
        let reach = |target: f64| -> Option<i64> {
            if charge <= target {
                return Some(now);
            }
            (rate > 0.0).then(|| ms_at(now as f64 + ((charge - target) / rate).ceil()))
        };
        if lb.is_none() {
            if let Some(t) = reach(b.low).filter(|t| *t <= until) {
                lb = Some(t);
            }
        }
        if let Some(t) = reach(0.0).filter(|t| *t <= until) {
            empty = Some(t);
            break;
        }
        if until >= NEVER {
            break;
        }
        charge -= rate * (until - now) as f64;
        now = until;
        if let Some((_, w)) = next.next() {
            load = (load - w).max(0.0);
        }
    }
    let lb = lb.ok_or("the battery never reaches battery.charge.low")?;
    Ok((lb, empty.unwrap_or(NEVER).min(dead)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::from_yaml(text).expect("scenario")
    }

    #[test]
    fn finaldelay_above_hostsync_is_unsafe_and_within_is_safe() {
        let site = |finaldelay: u32| {
            scenario(&format!(
                "name: t\nduration_s: 900\nups:\n  name: ups1\n  battery: {{ runtime_s: 600, at_load_w: 200, low: 20 }}\n  mains: [{{ at_s: 30, on: false }}]\nhosts:\n  - {{ name: nas, role: primary, shutdown_s: 10, upsmon: {{ HOSTSYNC: \"15\", FINALDELAY: \"0\" }} }}\n  - {{ name: db1, role: secondary, shutdown_s: 20, upsmon: {{ FINALDELAY: \"{finaldelay}\", SHUTDOWNEXIT: \"no\" }} }}\n"
            ))
        };
        assert_eq!(predict(&site(60)).call(), Call::Unsafe);
        assert_eq!(predict(&site(0)).call(), Call::Safe);
    }

    #[test]
    fn battery_times_follow_the_load() {
        // 200 W on a 600 s / 200 W battery: LB (20 %) after 480 s, empty after 600 s at
        // full load, later once hosts halt.
        let s = scenario(
            "name: t\nduration_s: 900\nups:\n  name: ups1\n  battery: { runtime_s: 600, at_load_w: 200, low: 20 }\n  mains: [{ at_s: 30, on: false }]\nhosts:\n  - { name: nas, role: primary }\n  - { name: db1, role: secondary }\n",
        );
        let hosts: Vec<Host> = s
            .hosts
            .iter()
            .map(|h| Host {
                name: h.name.clone(),
                primary: h.role == Role::Primary,
                draw_w: h.draw_w,
                pollfreq_ms: 5000,
                pollfreqalert_ms: 5000,
                finaldelay_ms: 5000,
                shutdown_ms: (10_000, 10_000),
                hangs: false,
                exit_after_ms: Some(0),
                early_ms: None,
            })
            .collect();
        let none = vec![NEVER; 2];
        assert_eq!(
            battery_times(&s, &hosts, 30_000, &none),
            Ok((510_000, 630_000))
        );
        // db1 halts at 520 s: from then 100 W, the remaining 20 - 10/6 % lasts twice as
        // long.
        let halted = vec![NEVER, 520_000];
        let (lb, empty) = battery_times(&s, &hosts, 30_000, &halted).unwrap();
        assert_eq!(lb, 510_000);
        assert!((740_000..=741_000).contains(&empty), "{empty}");
    }

    #[test]
    fn outside_the_model_says_why() {
        let s = scenario(
            "name: t\nduration_s: 900\nups:\n  name: ups1\n  battery: { runtime_s: 600 }\n  mains: [{ at_s: 30, on: false }, { at_s: 60, on: true }]\nhosts:\n  - { name: nas, role: primary }\n",
        );
        assert_eq!(
            predict(&s),
            Prediction::NotModelled("mains comes back before the site is down".into())
        );
    }
}
