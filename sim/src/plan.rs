//! `nut-sim plan`: sweeps knobs (HOSTSYNC, FINALDELAY, shutdown durations, battery,
//! load, `ups.delay.shutdown`, upssched timers...) over a base scenario. Each cell runs
//! several times with seeded jitter (poll phases, link latencies, shutdown durations);
//! per cell the planner reports every host's worst safety margin (the time between the
//! host halting and its power going off), p(safe), and the closed-form prediction of
//! [`crate::analytic`] beside it.
//!
//! Cells split over shards (`--shard i/n`: the cells whose index is `i` modulo `n`); a
//! shard writes its rows as CSV, and [`merge`] turns any set of shard rows covering the
//! plan into the same outputs an unsharded run writes (an unsharded run goes through
//! the same path).

use crate::analytic::{self, Call};
use crate::scenario::{FaultAction, Scenario};
use crate::swarm::Rng;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Most cells a plan may have.
pub const MAX_CELLS: usize = 1_000_000;
/// Most jittered runs per cell.
pub const MAX_RUNS: u32 = 1_000;
/// Largest latency jitter, in milliseconds (a minute).
pub const MAX_LATENCY_JITTER_MS: u64 = 60_000;
/// Largest value a knob may take (seconds, watts or percent): a year of seconds.
pub const MAX_KNOB_VALUE: f64 = 31_536_000.0;

/// A plan file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The base scenario (relative to the plan file).
    pub base: PathBuf,
    /// Runs per cell: run 0 is the base as written, the others jittered.
    #[serde(default = "one")]
    pub runs: u32,
    /// Seed of the jitter.
    #[serde(default)]
    pub seed: u64,
    /// What varies between the runs of a cell.
    #[serde(default)]
    pub jitter: Jitter,
    /// The knobs swept (the cells are every combination of their values).
    pub knobs: Vec<KnobSpec>,
}

fn one() -> u32 {
    1
}

/// Seeded jitter between the runs of one cell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jitter {
    /// Each host's shutdown takes its duration times a factor within ±this percent.
    #[serde(default)]
    pub shutdown_pct: f64,
    /// Each link between a host and a UPS's host gets a latency of 1 ms to this many.
    #[serde(default)]
    pub latency_ms: u64,
    /// Each upsmon starts at a phase drawn from the run's seed (default true).
    #[serde(default = "yes")]
    pub poll_phases: bool,
}

fn yes() -> bool {
    true
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter {
            shutdown_pct: 0.0,
            latency_ms: 0,
            poll_phases: true,
        }
    }
}

/// One knob and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobSpec {
    /// Which knob (see [`KNOBS`]).
    pub knob: String,
    /// Only this host (default: every host).
    #[serde(default)]
    pub host: Option<String>,
    /// Only this UPS (default: every UPS).
    #[serde(default)]
    pub ups: Option<String>,
    /// The upssched timer (knob `upssched.timer`).
    #[serde(default)]
    pub timer: Option<String>,
    /// The values, or `from`/`to`/`step`.
    #[serde(default)]
    pub values: Vec<f64>,
    /// First value of a range.
    #[serde(default)]
    pub from: Option<f64>,
    /// Last value of a range (included).
    #[serde(default)]
    pub to: Option<f64>,
    /// Step of a range.
    #[serde(default)]
    pub step: Option<f64>,
}

/// The knobs a plan can sweep, and what each sets.
pub const KNOBS: [(&str, &str); 12] = [
    ("HOSTSYNC", "upsmon.conf HOSTSYNC, seconds"),
    ("FINALDELAY", "upsmon.conf FINALDELAY, seconds"),
    ("DEADTIME", "upsmon.conf DEADTIME, seconds"),
    ("POLLFREQ", "upsmon.conf POLLFREQ, seconds"),
    ("POLLFREQALERT", "upsmon.conf POLLFREQALERT, seconds"),
    ("shutdown_s", "how long a host's SHUTDOWNCMD takes, seconds"),
    ("draw_w", "a host's load, watts"),
    (
        "battery.runtime_s",
        "runtime from full at the reference load, seconds",
    ),
    (
        "battery.health_pct",
        "an aged battery: percent of the rated runtime it still holds",
    ),
    (
        "battery.low",
        "battery.charge.low: LB at or below this percent",
    ),
    (
        "ups.delay.shutdown",
        "seconds from the late shutdown to load off",
    ),
    (
        "upssched.timer",
        "an upssched START-TIMER's length, seconds (give `timer:`)",
    ),
];

/// A plan read and checked against its base.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The plan.
    pub plan: Plan,
    /// The base scenario.
    pub base: Scenario,
    /// Each knob's values, in order.
    pub values: Vec<Vec<f64>>,
    /// Column name of each knob.
    pub columns: Vec<String>,
}

/// Line (1-based) of the `index`-th `knob:` in the plan text, for messages.
fn knob_line(text: &str, index: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("knob:"))
        .nth(index)
        .map_or(0, |(n, _)| n + 1)
}

/// Reads `path` and its base scenario; errors name the file and line.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let plan: Plan = yaml_serde::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&plan.base);
    let base_text = std::fs::read_to_string(&base_path)
        .map_err(|e| format!("{name}: base {}: {e}", base_path.display()))?;
    let base =
        Scenario::from_yaml(&base_text).map_err(|e| format!("{}: {e}", base_path.display()))?;
    if !(1..=MAX_RUNS).contains(&plan.runs) {
        return Err(format!(
            "{name}: runs must be 1 to {MAX_RUNS}, got {}",
            plan.runs
        ));
    }
    let j = &plan.jitter;
    if !(0.0..100.0).contains(&j.shutdown_pct) || j.latency_ms > MAX_LATENCY_JITTER_MS {
        return Err(format!(
            "{name}: jitter: shutdown_pct must be 0 to under 100 and latency_ms at most {MAX_LATENCY_JITTER_MS}"
        ));
    }
    let names = base
        .hosts
        .iter()
        .map(|h| &h.name)
        .chain(base.upses.iter().map(|u| &u.name));
    for name in names {
        if name.contains([',', '@', '\n']) {
            return Err(format!(
                "{}: host or UPS name {name:?}: a plan's CSV cannot hold ',', '@' or a newline in a name",
                base_path.display()
            ));
        }
    }
    if plan.knobs.is_empty() {
        return Err(format!(
            "{name}: no knobs: give at least one under `knobs:`"
        ));
    }
    let mut values = Vec::new();
    let mut columns = Vec::new();
    let mut cells: usize = 1;
    for (index, knob) in plan.knobs.iter().enumerate() {
        let at = format!("{name}:{}: knob {}", knob_line(&text, index), knob.knob);
        if !KNOBS.iter().any(|(k, _)| *k == knob.knob) {
            let known: Vec<&str> = KNOBS.iter().map(|(k, _)| *k).collect();
            return Err(format!("{at}: unknown knob (known: {})", known.join(", ")));
        }
        let list = knob_values(knob).map_err(|e| format!("{at}: {e}"))?;
        check_knob(&base, knob, &list).map_err(|e| format!("{at}: {e}"))?;
        cells = cells.saturating_mul(list.len());
        let mut column = knob.knob.clone();
        for part in [&knob.timer, &knob.host, &knob.ups].into_iter().flatten() {
            column.push('@');
            column.push_str(part);
        }
        if columns.contains(&column) {
            return Err(format!("{at}: swept twice"));
        }
        columns.push(column);
        values.push(list);
    }
    if cells > MAX_CELLS {
        return Err(format!("{name}: {cells} cells; at most {MAX_CELLS}"));
    }
    Ok(Loaded {
        plan,
        base,
        values,
        columns,
    })
}

fn knob_values(knob: &KnobSpec) -> Result<Vec<f64>, String> {
    let list = match (knob.from, knob.to, knob.step) {
        (None, None, None) => knob.values.clone(),
        (Some(from), Some(to), Some(step)) if knob.values.is_empty() => {
            if !(step > 0.0 && step.is_finite() && from.is_finite() && to.is_finite()) {
                return Err("step must be a positive number".into());
            }
            let n = ((to - from) / step + 1e-9).floor();
            if n < 0.0 {
                return Err(format!("empty range: from {from} is above to {to}"));
            }
            if n >= MAX_CELLS as f64 {
                return Err(format!("more than {MAX_CELLS} values"));
            }
            (0..=n as usize).map(|i| from + step * i as f64).collect()
        }
        _ => return Err("give either `values` or all of `from`, `to` and `step`".into()),
    };
    if list.is_empty() {
        return Err("no values".into());
    }
    if list
        .iter()
        .any(|v| !v.is_finite() || *v < 0.0 || *v > MAX_KNOB_VALUE)
    {
        return Err(format!("values must be numbers from 0 to {MAX_KNOB_VALUE}"));
    }
    Ok(list)
}

/// Whether `knob` fits `base` (its host, UPS or timer exist; whole seconds where NUT
/// wants them).
fn check_knob(base: &Scenario, knob: &KnobSpec, values: &[f64]) -> Result<(), String> {
    if let Some(host) = &knob.host {
        if !base.hosts.iter().any(|h| &h.name == host) {
            return Err(format!("unknown host {host:?} in the base scenario"));
        }
    }
    if let Some(ups) = &knob.ups {
        if !base.upses.iter().any(|u| &u.name == ups) {
            return Err(format!("unknown UPS {ups:?} in the base scenario"));
        }
    }
    let upsmon = knob.knob.chars().all(|c| c.is_ascii_uppercase());
    if upsmon && values.iter().any(|v| v.fract() != 0.0) {
        return Err("upsmon.conf wants whole seconds".into());
    }
    if knob.knob == "upssched.timer" && values.iter().any(|v| v.fract() != 0.0) {
        return Err("upssched.conf wants whole seconds".into());
    }
    if knob.knob.starts_with("battery.") && base.upses.iter().all(|u| u.battery.is_none()) {
        return Err("the base scenario's UPSes have no battery model".into());
    }
    if knob.knob == "battery.low" && values.iter().any(|v| *v > 100.0) {
        return Err("a percent is at most 100".into());
    }
    if knob.knob == "upssched.timer" {
        let Some(timer) = &knob.timer else {
            return Err("give `timer:` (the START-TIMER name)".into());
        };
        let found = base
            .hosts
            .iter()
            .filter(|h| knob.host.as_ref().is_none_or(|n| n == &h.name))
            .filter_map(|h| h.upssched.as_ref())
            .any(|t| set_timer(t, timer, 0).1);
        if !found {
            return Err(format!(
                "no upssched.conf in the base starts timer {timer:?}"
            ));
        }
    }
    Ok(())
}

/// `text` with every `START-TIMER name N` set to `seconds`, and whether one was found.
fn set_timer(text: &str, timer: &str, seconds: u64) -> (String, bool) {
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.iter().position(|w| *w == "START-TIMER") {
                Some(i) if words.get(i + 1) == Some(&timer) && words.len() == i + 3 => {
                    found = true;
                    let mut out: Vec<String> =
                        words[..=i + 1].iter().map(|w| w.to_string()).collect();
                    out.push(seconds.to_string());
                    out.join(" ")
                }
                _ => line.to_string(),
            }
        })
        .collect();
    (lines.join("\n") + "\n", found)
}

impl Loaded {
    /// How many cells.
    pub fn cells(&self) -> usize {
        self.values.iter().map(Vec::len).product()
    }

    /// The knob values of cell `index` (the last knob varies fastest).
    pub fn cell_values(&self, index: usize) -> Vec<f64> {
        let mut rest = index;
        let mut out = vec![0.0; self.values.len()];
        for (k, list) in self.values.iter().enumerate().rev() {
            out[k] = list[rest % list.len()];
            rest /= list.len();
        }
        out
    }

    /// The base scenario with cell `index`'s knobs set (no jitter).
    pub fn cell_scenario(&self, index: usize) -> Scenario {
        let mut s = self.base.clone();
        for (knob, value) in self.plan.knobs.iter().zip(self.cell_values(index)) {
            apply(&mut s, knob, value);
        }
        s.name = format!("{}-cell{index}", self.base.name);
        s
    }

    /// Cell `index`, run `run`: run 0 as written, the others jittered from the plan's
    /// seed.
    pub fn run_scenario(&self, index: usize, run: u32) -> Scenario {
        let mut s = self.cell_scenario(index);
        if run == 0 {
            return s;
        }
        let seed = self
            .plan
            .seed
            .wrapping_mul(0x100_0000_01b3)
            .wrapping_add(u64::from(run));
        s.seed = seed;
        let mut rng = Rng::new(seed);
        let j = &self.plan.jitter;
        if j.poll_phases {
            s.poll_phases = crate::scenario::PollPhases::Seeded;
        }
        for host in &mut s.hosts {
            if j.shutdown_pct > 0.0 {
                let u = rng.range(0, 2000) as f64 / 1000.0 - 1.0;
                host.shutdown_s = (host.shutdown_s * (1.0 + u * j.shutdown_pct / 100.0) * 1000.0)
                    .round()
                    / 1000.0;
            }
        }
        if j.latency_ms > 0 {
            let servers: Vec<String> = s.upses.iter().map(|u| s.ups_host(u).to_string()).collect();
            let mut links = Vec::new();
            for host in &s.hosts {
                for server in &servers {
                    if *server != host.name && !links.contains(&(server.clone(), host.name.clone()))
                    {
                        links.push((server.clone(), host.name.clone()));
                    }
                }
            }
            for (a, b) in links {
                let ms = rng.range(1, j.latency_ms);
                s.faults.insert(
                    0,
                    crate::scenario::Fault {
                        at_s: 0.0,
                        action: FaultAction::Latency { a, b, ms },
                    },
                );
            }
        }
        s.name = format!("{}-run{run}", s.name);
        s
    }
}

/// Sets `knob` to `value` in `s`.
fn apply(s: &mut Scenario, knob: &KnobSpec, value: f64) {
    let host_ok = |name: &str| knob.host.as_deref().is_none_or(|h| h == name);
    let ups_ok = |name: &str| knob.ups.as_deref().is_none_or(|u| u == name);
    match knob.knob.as_str() {
        "shutdown_s" => s
            .hosts
            .iter_mut()
            .filter(|h| host_ok(&h.name))
            .for_each(|h| h.shutdown_s = value),
        "draw_w" => s
            .hosts
            .iter_mut()
            .filter(|h| host_ok(&h.name))
            .for_each(|h| h.draw_w = value),
        "battery.runtime_s" | "battery.health_pct" | "battery.low" => {
            for ups in s.upses.iter_mut().filter(|u| ups_ok(&u.name)) {
                if let Some(b) = &mut ups.battery {
                    match knob.knob.as_str() {
                        "battery.runtime_s" => b.runtime_s = value.max(1.0),
                        "battery.health_pct" => {
                            b.runtime_s = (b.runtime_s * value / 100.0).max(1.0)
                        }
                        _ => b.low = value,
                    }
                }
            }
        }
        "ups.delay.shutdown" => s
            .upses
            .iter_mut()
            .filter(|u| ups_ok(&u.name))
            .for_each(|u| u.delay_shutdown_s = value),
        "upssched.timer" => {
            let timer = knob.timer.as_deref().unwrap_or_default();
            for host in s.hosts.iter_mut().filter(|h| host_ok(&h.name)) {
                if let Some(text) = &host.upssched {
                    host.upssched = Some(set_timer(text, timer, value as u64).0);
                }
            }
        }
        directive => s
            .hosts
            .iter_mut()
            .filter(|h| host_ok(&h.name))
            .for_each(|h| {
                h.upsmon
                    .insert(directive.to_string(), format!("{}", value as u64));
            }),
    }
}

/// One host's safety margin in one run, in milliseconds: power off minus halted;
/// negative when the power went off mid-shutdown (minus what was left of it);
/// [`LOST_RUNNING`] when it went off before the shutdown began. `None`: its power never
/// went off while the run lasted.
pub fn margins(
    scenario: &Scenario,
    outcome: &crate::harness::Outcome,
) -> BTreeMap<String, Option<i64>> {
    use crate::world::WorldEvent;
    let mut out = BTreeMap::new();
    for host in &scenario.hosts {
        let mut halted = None;
        let mut margin = None;
        for entry in outcome.timeline.iter().filter(|e| e.host == host.name) {
            match entry.world() {
                Some(WorldEvent::Halted) if halted.is_none() => halted = Some(entry.t_ms),
                Some(WorldEvent::PowerOffHalted) => {
                    if let Some(h) = halted {
                        margin = Some(entry.t_ms as i64 - h as i64);
                    }
                }
                Some(WorldEvent::PowerLostShuttingDown { done_ms, total_ms }) => {
                    // A hung SHUTDOWNCMD never ends.
                    let left = total_ms.saturating_sub(*done_ms);
                    margin = Some(match i64::try_from(left) {
                        Ok(left) if left < i64::MAX / 4 => -left,
                        _ => analytic::NEVER_HALTS,
                    });
                }
                Some(WorldEvent::PowerLostRunning) => margin = Some(LOST_RUNNING),
                _ => {}
            }
            if margin.is_some() {
                break;
            }
        }
        out.insert(host.name.clone(), margin);
    }
    out
}

/// The margin of a host that lost power before its shutdown began.
pub const LOST_RUNNING: i64 = i64::MIN;

/// One cell's result: one CSV row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Cell index.
    pub cell: usize,
    /// Knob values.
    pub values: Vec<f64>,
    /// Runs.
    pub runs: u32,
    /// Runs where no host lost power before its shutdown completed.
    pub safe_runs: u32,
    /// Worst margin per host over the runs (same order as the base's hosts).
    pub margins: Vec<Option<i64>>,
    /// The prediction's call.
    pub call: Call,
    /// The prediction's worst margin bounds.
    pub predicted: Option<(i64, i64)>,
}

impl Row {
    /// p(safe).
    pub fn p_safe(&self) -> f64 {
        f64::from(self.safe_runs) / f64::from(self.runs.max(1))
    }

    /// The worst margin over the hosts, and whose.
    pub fn worst(&self, hosts: &[String]) -> Option<(i64, String)> {
        self.margins
            .iter()
            .zip(hosts)
            .filter_map(|(m, h)| m.map(|m| (m, h.clone())))
            .min_by_key(|(m, _)| *m)
    }
}

/// Runs cell `index` (every run) on `driver`.
pub fn run_cell(loaded: &Loaded, index: usize, driver: crate::Driver) -> Result<Row, String> {
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    let mut worst: Vec<Option<i64>> = vec![None; hosts.len()];
    let mut safe_runs = 0;
    for run in 0..loaded.plan.runs {
        let scenario = loaded.run_scenario(index, run);
        let outcome = driver
            .run(&scenario)
            .map_err(|e| format!("cell {index} run {run}: {e}"))?;
        let verdict = crate::verdict::judge(&scenario, &outcome);
        let safe = verdict
            .checks
            .iter()
            .any(|c| c.name == "no_unsafe_power_loss" && c.problems.is_empty());
        safe_runs += u32::from(safe);
        let m = margins(&scenario, &outcome);
        for (slot, host) in worst.iter_mut().zip(&hosts) {
            if let Some(Some(v)) = m.get(host) {
                *slot = Some(slot.map_or(*v, |w: i64| w.min(*v)));
            }
        }
    }
    let j = &loaded.plan.jitter;
    let prediction = if loaded.plan.runs > 1 {
        analytic::predict_jittered(&loaded.cell_scenario(index), j.shutdown_pct, j.latency_ms)
    } else {
        analytic::predict(&loaded.cell_scenario(index))
    };
    Ok(Row {
        cell: index,
        values: loaded.cell_values(index),
        runs: loaded.plan.runs,
        safe_runs,
        margins: worst,
        call: prediction.call(),
        predicted: prediction.worst(),
    })
}

/// Most shards a plan or swarm splits into.
pub const MAX_SHARDS: usize = 100_000;

/// `--shard i/n`: which cells this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The whole plan.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?}: want i/n, for example 0/4"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: i is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: n is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("--shard {text:?}: want 0 <= i < n"));
        }
        if count > MAX_SHARDS {
            return Err(format!("--shard {text:?}: at most {MAX_SHARDS} shards"));
        }
        Ok(Shard { index, count })
    }

    /// Whether item `n` belongs to this shard.
    pub fn has(self, n: u64) -> bool {
        n % self.count as u64 == self.index as u64
    }
}

/// Runs this shard's cells on `jobs` threads; rows in cell order.
pub fn run(
    loaded: &Loaded,
    shard: Shard,
    jobs: usize,
    driver: crate::Driver,
    progress: bool,
) -> Result<Vec<Row>, String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let cells: Vec<usize> = (0..loaded.cells())
        .filter(|c| shard.has(*c as u64))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::new());
    let failed = Mutex::new(None);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&cell) = cells.get(i) else { return };
                if failed.lock().is_ok_and(|f| f.is_some()) {
                    return;
                }
                match run_cell(loaded, cell, driver) {
                    Ok(row) => rows.lock().unwrap_or_else(|e| e.into_inner()).push(row),
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        if progress {
            crate::swarm::progress(
                &started,
                cells.len() as u64,
                || done.load(Ordering::Relaxed) as u64,
                |n, per_min| {
                    format!(
                        "nut-sim plan: {n}/{} cells, {:.0} cells/s",
                        cells.len(),
                        per_min / 60.0
                    )
                },
                || failed.lock().is_ok_and(|f| f.is_some()),
            );
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by_key(|r| r.cell);
    Ok(rows)
}

fn seconds(ms: i64) -> String {
    if ms == LOST_RUNNING {
        return "lost-running".into();
    }
    if ms == analytic::POWER_STAYS_ON {
        return "stays-on".into();
    }
    if ms == analytic::NEVER_HALTS {
        return "never-halts".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

fn parse_seconds(text: &str) -> Result<i64, String> {
    match text {
        "lost-running" => return Ok(LOST_RUNNING),
        "stays-on" => return Ok(analytic::POWER_STAYS_ON),
        "never-halts" => return Ok(analytic::NEVER_HALTS),
        _ => {}
    }
    let bad = || format!("bad seconds {text:?} (want [-]digits.ddd)");
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    // Exactly what `seconds` writes: digits, a point, three digits.
    let (whole, frac) = t.split_once('.').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.len() != 3 || !digits(frac) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = frac.parse().map_err(|_| bad())?;
    let v = whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

/// The CSV header for `loaded`.
pub fn csv_header(loaded: &Loaded) -> String {
    let mut cols = vec!["cell".to_string()];
    cols.extend(loaded.columns.iter().cloned());
    cols.extend(
        [
            "runs",
            "safe_runs",
            "p_safe",
            "worst_margin_s",
            "worst_host",
            "predicted",
            "predicted_worst_lo_s",
            "predicted_worst_hi_s",
        ]
        .map(String::from),
    );
    cols.extend(
        loaded
            .base
            .hosts
            .iter()
            .map(|h| format!("margin_s@{}", h.name)),
    );
    cols.join(",")
}

/// The CSV of `rows` (header first).
pub fn csv(loaded: &Loaded, rows: &[Row]) -> String {
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    let mut out = csv_header(loaded);
    out.push('\n');
    for row in rows {
        let mut cols = vec![row.cell.to_string()];
        cols.extend(row.values.iter().map(|v| format!("{v}")));
        let worst = row.worst(&hosts);
        cols.push(row.runs.to_string());
        cols.push(row.safe_runs.to_string());
        cols.push(format!("{:.3}", row.p_safe()));
        cols.push(worst.as_ref().map_or(String::new(), |(m, _)| seconds(*m)));
        cols.push(worst.map_or(String::new(), |(_, h)| h));
        cols.push(row.call.word().to_string());
        cols.push(row.predicted.map_or(String::new(), |(lo, _)| seconds(lo)));
        cols.push(row.predicted.map_or(String::new(), |(_, hi)| seconds(hi)));
        cols.extend(row.margins.iter().map(|m| m.map_or(String::new(), seconds)));
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    out
}

/// Reads rows back from a CSV written by [`csv`] for the same plan.
pub fn parse_csv(loaded: &Loaded, name: &str, text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != csv_header(loaded) {
        return Err(format!(
            "{name}:1: not a shard of this plan (its columns differ)"
        ));
    }
    let knobs = loaded.columns.len();
    let hosts = loaded.base.hosts.len();
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let at = format!("{name}:{}", n + 2);
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() != 1 + knobs + 8 + hosts {
            return Err(format!(
                "{at}: {} columns, want {}",
                cols.len(),
                1 + knobs + 8 + hosts
            ));
        }
        let num = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("{at}: bad number {s:?}"))
        };
        let int = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("{at}: bad count {s:?}"))
        };
        let opt = |s: &str| -> Result<Option<i64>, String> {
            if s.is_empty() {
                Ok(None)
            } else {
                parse_seconds(s).map(Some).map_err(|e| format!("{at}: {e}"))
            }
        };
        let cell = usize::try_from(int(cols[0])?).map_err(|_| format!("{at}: bad cell"))?;
        if cell >= loaded.cells() {
            return Err(format!("{at}: cell {cell} is not in this plan"));
        }
        let values = cols[1..=knobs]
            .iter()
            .map(|s| num(s))
            .collect::<Result<Vec<_>, _>>()?;
        if values != loaded.cell_values(cell) {
            return Err(format!(
                "{at}: cell {cell}'s knob values differ from the plan's"
            ));
        }
        let rest = &cols[1 + knobs..];
        let call = Call::from_word(rest[5])
            .ok_or_else(|| format!("{at}: bad prediction {:?}", rest[5]))?;
        let predicted = match (opt(rest[6])?, opt(rest[7])?) {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            _ => None,
        };
        let runs = u32::try_from(int(rest[0])?).map_err(|_| format!("{at}: bad runs"))?;
        let safe_runs = u32::try_from(int(rest[1])?).map_err(|_| format!("{at}: bad safe_runs"))?;
        if runs != loaded.plan.runs || safe_runs > runs {
            return Err(format!(
                "{at}: {safe_runs} safe of {runs} runs, but the plan runs {} per cell",
                loaded.plan.runs
            ));
        }
        rows.push(Row {
            cell,
            values,
            runs,
            safe_runs,
            margins: rest[8..]
                .iter()
                .map(|s| opt(s))
                .collect::<Result<Vec<_>, _>>()?,
            call,
            predicted,
        });
    }
    Ok(rows)
}

/// Merges shard rows (each with its file's name): every cell exactly once.
pub fn merge(loaded: &Loaded, shards: Vec<(String, Vec<Row>)>) -> Result<Vec<Row>, String> {
    let mut by_cell: BTreeMap<usize, (String, Row)> = BTreeMap::new();
    for (name, rows) in shards {
        for row in rows {
            let cell = row.cell;
            if let Some((first, _)) = by_cell.insert(cell, (name.clone(), row)) {
                return Err(format!(
                    "{name}: cell {cell} is in two shards (also in {first})"
                ));
            }
        }
    }
    let missing: Vec<usize> = (0..loaded.cells())
        .filter(|c| !by_cell.contains_key(c))
        .collect();
    if let Some(first) = missing.first() {
        return Err(format!(
            "{} cells missing (first: cell {first}): a shard is missing",
            missing.len()
        ));
    }
    Ok(by_cell.into_values().map(|(_, row)| row).collect())
}

/// The recommended cell: highest p(safe), then the largest worst margin, then the
/// lowest index.
pub fn recommend<'a>(loaded: &Loaded, rows: &'a [Row]) -> Option<&'a Row> {
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    rows.iter().min_by(|a, b| {
        b.safe_runs
            .cmp(&a.safe_runs)
            .then_with(|| {
                // No host's power went off: better than any margin.
                let w = |r: &Row| r.worst(&hosts).map_or(i64::MAX, |(m, _)| m);
                w(b).cmp(&w(a))
            })
            .then(a.cell.cmp(&b.cell))
    })
}

fn describe(loaded: &Loaded, row: &Row) -> String {
    loaded
        .columns
        .iter()
        .zip(&row.values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cells where the simulation contradicts a decisive prediction: predicted safe but a
/// run lost power, or predicted unsafe but a run was safe.
pub fn contradictions(rows: &[Row]) -> Vec<usize> {
    rows.iter()
        .filter(|r| match r.call {
            Call::Safe => r.safe_runs < r.runs,
            Call::Unsafe => r.safe_runs > 0,
            Call::Race | Call::NotModelled => false,
        })
        .map(|r| r.cell)
        .collect()
}

/// What the prediction said over the plan: counts per call and the contradictions.
pub fn agreement(rows: &[Row]) -> String {
    let count = |c: Call| rows.iter().filter(|r| r.call == c).count();
    let wrong = contradictions(rows);
    format!(
        "prediction: {} safe, {} unsafe, {} race (the poll phases decide), {} n/a; the simulation contradicts it in {} cells{}",
        count(Call::Safe),
        count(Call::Unsafe),
        count(Call::Race),
        count(Call::NotModelled),
        wrong.len(),
        if wrong.is_empty() { String::new() } else { format!(" ({wrong:?})") }
    )
}

/// The recommendation line.
pub fn recommendation(loaded: &Loaded, rows: &[Row]) -> String {
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    match recommend(loaded, rows) {
        None => "no cells".into(),
        Some(row) => {
            let worst = row
                .worst(&hosts)
                .map_or("no host shut down".to_string(), |(m, h)| {
                    format!("worst margin {} s ({h})", seconds(m))
                });
            let safe = if row.safe_runs == row.runs {
                ""
            } else {
                " (no cell is safe in every run)"
            };
            format!(
                "recommended: {}: p(safe) {:.3}, {worst}, predicted {}{safe}",
                describe(loaded, row),
                row.p_safe(),
                row.call.word()
            )
        }
    }
}

/// The Markdown table.
pub fn markdown(loaded: &Loaded, rows: &[Row]) -> String {
    let hosts: Vec<String> = loaded.base.hosts.iter().map(|h| h.name.clone()).collect();
    let mut out = format!(
        "# Plan over {}\n\n{} cells, {} runs each. Margin: seconds between a host halting and its power going off (worst run); `lost-running`: power went off before its shutdown began; `-`: its power never went off. Predicted: the closed-form bounds (sim/src/analytic.rs).\n\n{}\n\n{}\n\n",
        loaded.base.name,
        rows.len(),
        loaded.plan.runs,
        recommendation(loaded, rows),
        agreement(rows)
    );
    let mut head: Vec<String> = loaded.columns.clone();
    head.extend(
        [
            "p(safe)",
            "worst margin s",
            "predicted",
            "predicted worst s",
        ]
        .map(String::from),
    );
    head.extend(hosts.iter().cloned());
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for row in rows {
        let mut cols: Vec<String> = row.values.iter().map(|v| format!("{v}")).collect();
        cols.push(format!("{:.3}", row.p_safe()));
        cols.push(row.worst(&hosts).map_or("-".into(), |(m, _)| seconds(m)));
        cols.push(row.call.word().into());
        cols.push(row.predicted.map_or("-".into(), |(lo, hi)| {
            format!("{} .. {}", seconds(lo), seconds(hi))
        }));
        cols.extend(row.margins.iter().map(|m| m.map_or("-".into(), seconds)));
        out.push_str(&format!("| {} |\n", cols.join(" | ")));
    }
    out
}

/// Writes `text` to `path` through a temporary name, so a reader never sees half a file.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: {e}", path.display())
        })
}

/// Writes plan.csv, plan.md and plan.svg into `dir`.
pub fn write_outputs(loaded: &Loaded, rows: &[Row], dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let svg = crate::heatmap::svg(loaded, rows)?;
    write_atomic(&dir.join("plan.csv"), csv(loaded, rows).as_bytes())?;
    write_atomic(&dir.join("plan.md"), markdown(loaded, rows).as_bytes())?;
    write_atomic(&dir.join("plan.svg"), svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(plan: &str) -> Result<Loaded, String> {
        let dir = std::env::temp_dir().join(format!(
            "nut-plan-test-{}-{}",
            std::process::id(),
            plan.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("base.yaml"),
            "name: base\nduration_s: 1200\nups:\n  name: ups1\n  battery: { runtime_s: 600, at_load_w: 200, low: 20 }\n  mains: [{ at_s: 30, on: false }]\nhosts:\n  - { name: nas, role: primary, shutdown_s: 10, upsmon: { HOSTSYNC: \"15\", FINALDELAY: \"0\" } }\n  - { name: db1, role: secondary, shutdown_s: 20, upsmon: { SHUTDOWNEXIT: \"no\" } }\n",
        )
        .unwrap();
        std::fs::write(dir.join("plan.yaml"), plan).unwrap();
        let out = load(&dir.join("plan.yaml"));
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    #[test]
    fn bad_plans_name_file_line_and_knob() {
        let e = loaded("base: base.yaml\nknobs:\n  - { knob: HOSTSYNC, values: [10] }\n  - { knob: HOSTSINK, values: [10] }\n").unwrap_err();
        assert!(
            e.contains("plan.yaml:4: knob HOSTSINK: unknown knob"),
            "{e}"
        );
        let e =
            loaded("base: base.yaml\nknobs:\n  - { knob: FINALDELAY, from: 30, to: 0, step: 5 }\n")
                .unwrap_err();
        assert!(
            e.contains("plan.yaml:3: knob FINALDELAY: empty range"),
            "{e}"
        );
        let e =
            loaded("base: base.yaml\nknobs:\n  - { knob: shutdown_s, host: web9, values: [1] }\n")
                .unwrap_err();
        assert!(e.contains("unknown host \"web9\""), "{e}");
        let e = loaded("base: base.yaml\nknobz: []\n").unwrap_err();
        assert!(e.contains("plan.yaml") && e.contains("knobz"), "{e}");
        let e =
            loaded("base: base.yaml\nknobs:\n  - { knob: HOSTSYNC, values: [1.5] }\n").unwrap_err();
        assert!(e.contains("whole seconds"), "{e}");
    }

    #[test]
    fn cells_are_every_combination_last_knob_fastest() {
        let l = loaded("base: base.yaml\nknobs:\n  - { knob: HOSTSYNC, values: [10, 20] }\n  - { knob: FINALDELAY, host: db1, from: 0, to: 10, step: 5 }\n").unwrap();
        assert_eq!(l.cells(), 6);
        assert_eq!(l.cell_values(4), vec![20.0, 5.0]);
        let s = l.cell_scenario(4);
        assert_eq!(s.hosts[0].upsmon["HOSTSYNC"], "20");
        assert_eq!(s.hosts[1].upsmon["FINALDELAY"], "5");
        assert!(
            !s.hosts[0].upsmon.contains_key("FINALDELAY") || s.hosts[0].upsmon["FINALDELAY"] == "0"
        );
    }

    #[test]
    fn jitter_is_seeded_and_run_zero_is_the_base() {
        let l = loaded("base: base.yaml\nruns: 3\nseed: 9\njitter: { shutdown_pct: 20, latency_ms: 300 }\nknobs:\n  - { knob: HOSTSYNC, values: [10] }\n").unwrap();
        let base = l.run_scenario(0, 0);
        assert_eq!(base.hosts[1].shutdown_s, 20.0);
        assert!(base.faults.is_empty());
        let a = l.run_scenario(0, 1);
        let b = l.run_scenario(0, 1);
        assert_eq!(a.hosts[1].shutdown_s, b.hosts[1].shutdown_s);
        assert!((16.0..=24.0).contains(&a.hosts[1].shutdown_s));
        assert_eq!(a.faults.len(), 1);
        assert_ne!(l.run_scenario(0, 2).seed, a.seed);
    }

    #[test]
    fn csv_round_trips_and_merge_checks_coverage() {
        let l =
            loaded("base: base.yaml\nruns: 2\nknobs:\n  - { knob: HOSTSYNC, values: [10, 20] }\n")
                .unwrap();
        let rows = vec![
            Row {
                cell: 0,
                values: vec![10.0],
                runs: 2,
                safe_runs: 1,
                margins: vec![Some(20_000), Some(-1_500)],
                call: Call::Race,
                predicted: Some((-3000, 4000)),
            },
            Row {
                cell: 1,
                values: vec![20.0],
                runs: 2,
                safe_runs: 2,
                margins: vec![Some(LOST_RUNNING), None],
                call: Call::NotModelled,
                predicted: None,
            },
        ];
        let text = csv(&l, &rows);
        assert_eq!(parse_csv(&l, "x.csv", &text).unwrap(), rows);
        let merged = merge(
            &l,
            vec![
                ("a".into(), vec![rows[1].clone()]),
                ("b".into(), vec![rows[0].clone()]),
            ],
        )
        .unwrap();
        assert_eq!(merged, rows);
        assert!(merge(&l, vec![("a".into(), vec![rows[1].clone()])])
            .unwrap_err()
            .contains("cell 0"));
        assert!(merge(
            &l,
            vec![
                ("a".into(), rows.clone()),
                ("b".into(), vec![rows[0].clone()])
            ]
        )
        .unwrap_err()
        .contains("two shards"));
        assert!(parse_seconds("1.5").is_err() && parse_seconds("--5.000").is_err());
        assert!(parse_seconds("99999999999999999.000").is_err());
        assert_eq!(parse_seconds("-1.500"), Ok(-1500));
        let lying = text.replacen(",2,1,", ",2,3,", 1);
        assert!(parse_csv(&l, "x.csv", &lying)
            .unwrap_err()
            .contains("x.csv:2"));
        assert!(parse_csv(&l, "x.csv", "cell,oops\n")
            .unwrap_err()
            .contains("x.csv:1"));
    }
}
