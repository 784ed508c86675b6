//! Swarm testing: a random site per seed (topology, NUT knobs, battery, mains outages,
//! faults), run on the fast driver and judged by the always-true invariants. A failing
//! seed is shrunk (faults, hosts, outages and knobs removed while the same invariant
//! still fails) and written as a scenario file.
//!
//! Only invariants that no site design can excuse fail a seed: a random site may well
//! be too small for its battery (`no_unsafe_power_loss`) or never come back after a
//! contact-closure race (`every_host_back_after_mains`); those are counted, not failed.

use crate::scenario::{
    Battery, Fault, FaultAction, HostSpec, MainsStep, MonitorSpec, PollPhases, Role, Scenario,
    SignalName, UpsSpec,
};
use std::collections::BTreeMap;

/// Invariants that hold for every site, whatever its settings.
pub const ALWAYS_TRUE: [&str; 6] = [
    "primary_respects_hostsync",
    "fsd_latched",
    "shutdown_once",
    "no_shutdown_without_trigger",
    "killpower_after_powerdownflag",
    "no_shutdown_on_transient",
];

/// Most secondaries a generated site has.
pub const MAX_SECONDARIES: u64 = 6;
/// Most mains outages per UPS in a generated site.
pub const MAX_OUTAGES: u64 = 4;
/// Most faults in a generated site.
pub const MAX_FAULTS: u64 = 4;
/// How often a swarm run writes a progress line when stderr is not a terminal.
pub const PROGRESS_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Most shrinking passes over a failing scenario.
pub const MAX_SHRINK_PASSES: usize = 20;

/// A small deterministic generator (splitmix64): the same seed gives the same site on
/// every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_5eed_5eed_5eed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// A random site for `seed`.
pub fn generate(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let two_upses = rng.chance(30);
    let mut upses = vec![ups_spec(&mut rng, "ups1", "nas")];
    let mut hosts = vec![primary(&mut rng, "nas", "ups1")];
    if two_upses {
        upses.push(ups_spec(&mut rng, "ups2", "nas2"));
        hosts.push(primary(&mut rng, "nas2", "ups2"));
    }
    for index in 1..=rng.range(0, MAX_SECONDARIES) {
        let name = format!("host{index}");
        let (fed, monitors, minsupplies) = if two_upses && rng.chance(25) {
            // A dual-supply server on both UPSes.
            (
                vec!["ups1".to_string(), "ups2".to_string()],
                vec![
                    MonitorSpec {
                        ups: "ups1".into(),
                        power_value: 1,
                    },
                    MonitorSpec {
                        ups: "ups2".into(),
                        power_value: 1,
                    },
                ],
                Some("1"),
            )
        } else {
            let ups = if two_upses && rng.chance(50) {
                "ups2"
            } else {
                "ups1"
            };
            (
                vec![ups.to_string()],
                vec![MonitorSpec {
                    ups: ups.into(),
                    power_value: 1,
                }],
                None,
            )
        };
        let mut host = host_spec(&mut rng, &name, Role::Secondary);
        host.fed_by = Some(fed);
        host.monitors = Some(monitors);
        if let Some(min) = minsupplies {
            host.upsmon.insert("MINSUPPLIES".into(), min.into());
        }
        hosts.push(host);
    }
    if rng.chance(20) {
        // upssched's early-shutdown recipe on the first primary.
        let timer = rng.range(10, 300);
        hosts[0].upsmon_lines = vec![
            "NOTIFYCMD /usr/sbin/upssched".into(),
            "NOTIFYFLAG ONBATT SYSLOG+EXEC".into(),
            "NOTIFYFLAG ONLINE SYSLOG+EXEC".into(),
        ];
        hosts[0].upssched = Some(format!(
            "CMDSCRIPT /usr/local/bin/upssched-cmd\nPIPEFN /run/nut/upssched.pipe\nLOCKFN /run/nut/upssched.lock\n\
             AT ONBATT * START-TIMER onbatt {timer}\nAT ONLINE * CANCEL-TIMER onbatt\n"
        ));
        hosts[0]
            .cmdscript
            .insert("onbatt".into(), "upsmon -c fsd".into());
    }
    let mut last_s = 0.0f64;
    for ups in &mut upses {
        let mut at = rng.range(10, 300) as f64;
        for _ in 0..rng.range(1, MAX_OUTAGES) {
            let length = match rng.range(0, 9) {
                0..=4 => rng.range(1, 10),
                5..=7 => rng.range(30, 300),
                _ => rng.range(600, 5_000),
            } as f64;
            ups.mains.push(MainsStep {
                at_s: at,
                on: false,
            });
            ups.mains.push(MainsStep {
                at_s: at + length,
                on: true,
            });
            at += length + rng.range(5, 900) as f64;
        }
        last_s = last_s.max(at);
    }
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let mut faults = Vec::new();
    for _ in 0..rng.range(0, MAX_FAULTS) {
        let at_s = rng.range(5, last_s as u64) as f64;
        let lasts = rng.range(1, 120) as f64;
        let a = names[rng.range(0, names.len() as u64 - 1) as usize].clone();
        let b = names[rng.range(0, names.len() as u64 - 1) as usize].clone();
        let (start, end) = match rng.range(0, 5) {
            0 if a != b => (
                FaultAction::Partition {
                    a: a.clone(),
                    b: b.clone(),
                },
                Some(FaultAction::Repair { a, b }),
            ),
            1 if a != b => (
                FaultAction::PartitionOneway {
                    from: a.clone(),
                    to: b.clone(),
                },
                Some(FaultAction::RepairOneway { from: a, to: b }),
            ),
            2 if a != b => (
                FaultAction::Latency {
                    a: a.clone(),
                    b: b.clone(),
                    ms: rng.range(50, 3_000),
                },
                Some(FaultAction::Latency { a, b, ms: 0 }),
            ),
            3 => {
                let process = ["upsd", "dummy-ups", "upsmon"][rng.range(0, 2) as usize];
                (
                    FaultAction::Crash {
                        host: a.clone(),
                        process: process.into(),
                    },
                    Some(FaultAction::Restart {
                        host: a,
                        process: process.into(),
                    }),
                )
            }
            4 => (FaultAction::PowerCycle { host: a }, None),
            _ => (
                FaultAction::Signal {
                    host: a,
                    process: "upsmon".into(),
                    signal: SignalName::Fsd,
                },
                None,
            ),
        };
        faults.push(Fault {
            at_s,
            action: start,
        });
        if let Some(end) = end {
            faults.push(Fault {
                at_s: at_s + lasts,
                action: end,
            });
        }
    }
    faults.sort_by(|x, y| x.at_s.total_cmp(&y.at_s));
    Scenario {
        name: format!("swarm-{seed}"),
        description: format!("Generated by `nut-sim swarm` from seed {seed}."),
        seed,
        duration_s: (last_s + 1_800.0).min(6.0 * 3_600.0),
        tick_ms: 10,
        wall_limit_s: None,
        max_latency_ms: 5,
        ups: None,
        upses,
        hosts,
        tls: false,
        poll_phases: if rng.chance(50) {
            PollPhases::Seeded
        } else {
            PollPhases::Aligned
        },
        faults,
        expect: Default::default(),
    }
}

fn ups_spec(rng: &mut Rng, name: &str, host: &str) -> UpsSpec {
    UpsSpec {
        name: name.into(),
        host: Some(host.into()),
        vars: BTreeMap::new(),
        timeline: Vec::new(),
        mains: Vec::new(),
        mains_seq: None,
        battery: Some(Battery {
            runtime_s: rng.range(120, 3_600) as f64,
            at_load_w: rng.range(100, 600) as f64,
            charge: 100.0,
            low: rng.range(10, 50) as f64,
            recharge_per_h: rng.range(10, 100) as f64,
        }),
        delay_start_s: rng.range(5, 60) as f64,
        returns: rng.chance(80),
        sdorder: None,
        battery_dead_at_s: None,
        delay_shutdown_s: rng.range(5, 60) as f64,
        pollinterval_s: rng.range(1, 5),
        driver: Default::default(),
    }
}

fn primary(rng: &mut Rng, name: &str, ups: &str) -> HostSpec {
    let mut host = host_spec(rng, name, Role::Primary);
    host.fed_by = Some(vec![ups.to_string()]);
    host.monitors = Some(vec![MonitorSpec {
        ups: ups.into(),
        power_value: 1,
    }]);
    host.upsmon
        .insert("HOSTSYNC".into(), rng.range(5, 120).to_string());
    host
}

fn host_spec(rng: &mut Rng, name: &str, role: Role) -> HostSpec {
    let pollfreq = [1, 2, 5, 10][rng.range(0, 3) as usize];
    let mut upsmon = BTreeMap::new();
    upsmon.insert("POLLFREQ".to_string(), pollfreq.to_string());
    upsmon.insert(
        "POLLFREQALERT".to_string(),
        [1, 2, 5][rng.range(0, 2) as usize].to_string(),
    );
    upsmon.insert(
        "DEADTIME".to_string(),
        (pollfreq * rng.range(3, 6)).to_string(),
    );
    upsmon.insert("FINALDELAY".to_string(), rng.range(0, 30).to_string());
    if rng.chance(30) {
        let exit = match rng.range(0, 1) {
            0 => "no".to_string(),
            _ => rng.range(1, 60).to_string(),
        };
        upsmon.insert("SHUTDOWNEXIT".to_string(), exit);
    }
    HostSpec {
        name: name.into(),
        role,
        shutdown_s: rng.range(1, 120) as f64,
        shutdown_hangs: false,
        upsmon,
        monitors: None,
        fed_by: None,
        draw_w: rng.range(50, 400) as f64,
        boot_s: rng.range(10, 120) as f64,
        poweroff_wait_s: rng.chance(30).then(|| rng.range(60, 600) as f64),
        wrong_ca: false,
        files: BTreeMap::new(),
        upsmon_lines: Vec::new(),
        upssched: None,
        cmdscript: BTreeMap::new(),
        start_s: None,
    }
}

/// How one seed went.
#[derive(Debug, Clone)]
pub enum SeedResult {
    /// Every always-true invariant held; the adequacy checks that failed (a site too
    /// small for its battery, ...) and the coverage marks the run hit.
    Held(Vec<&'static str>, std::collections::BTreeSet<&'static str>),
    /// An always-true invariant failed (its name and problems), or the run failed.
    Failed {
        /// The invariant, or `run` for a run that failed.
        invariant: String,
        /// What went wrong.
        problems: Vec<String>,
    },
}

/// Runs `scenario` on the fast driver and judges it by the always-true invariants.
pub fn judge(scenario: &Scenario) -> SeedResult {
    let outcome =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::fast::run(scenario)))
        {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                return SeedResult::Failed {
                    invariant: "run".into(),
                    problems: vec![e],
                }
            }
            Err(_) => {
                return SeedResult::Failed {
                    invariant: "run".into(),
                    problems: vec!["the fast driver panicked".into()],
                }
            }
        };
    let verdict = crate::verdict::judge(scenario, &outcome);
    let marks = crate::verdict::marks(&outcome);
    let mut adequacy = Vec::new();
    for check in verdict.checks {
        if check.problems.is_empty() {
            continue;
        }
        if ALWAYS_TRUE.contains(&check.name) {
            return SeedResult::Failed {
                invariant: check.name.to_string(),
                problems: check.problems,
            };
        }
        adequacy.push(check.name);
    }
    SeedResult::Held(adequacy, marks)
}

/// Whether `scenario` still fails `invariant` (any check of the verdict, or `run`).
pub fn fails_with(scenario: &Scenario, invariant: &str) -> bool {
    if scenario.validate().is_err() {
        return false;
    }
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::fast::run(scenario)));
    match run {
        Ok(Ok(outcome)) => crate::verdict::judge(scenario, &outcome)
            .checks
            .iter()
            .any(|c| c.name == invariant && !c.problems.is_empty()),
        _ => invariant == "run",
    }
}

/// The smaller variants of `scenario` to try: each fault, host, outage and knob
/// removed in turn.
fn variants(scenario: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    for index in 0..scenario.faults.len() {
        let mut s = scenario.clone();
        s.faults.remove(index);
        out.push(s);
    }
    for index in 0..scenario.hosts.len() {
        if scenario.hosts[index].role == Role::Primary {
            continue;
        }
        let mut s = scenario.clone();
        let name = s.hosts.remove(index).name;
        s.faults.retain(|f| !fault_names(&f.action, &name));
        out.push(s);
    }
    for (u, ups) in scenario.upses.iter().enumerate() {
        for index in (0..ups.mains.len()).step_by(2) {
            let mut s = scenario.clone();
            let mains = &mut s.upses[u].mains;
            mains.drain(index..(index + 2).min(mains.len()));
            out.push(s);
        }
    }
    for (h, host) in scenario.hosts.iter().enumerate() {
        for key in host.upsmon.keys() {
            let mut s = scenario.clone();
            s.hosts[h].upsmon.remove(key);
            out.push(s);
        }
        if host.upssched.is_some() {
            let mut s = scenario.clone();
            s.hosts[h].upssched = None;
            s.hosts[h].upsmon_lines.clear();
            s.hosts[h].cmdscript.clear();
            out.push(s);
        }
    }
    if scenario.poll_phases != PollPhases::Aligned {
        let mut s = scenario.clone();
        s.poll_phases = PollPhases::Aligned;
        out.push(s);
    }
    out
}

fn fault_names(action: &FaultAction, host: &str) -> bool {
    match action {
        FaultAction::Partition { a, b }
        | FaultAction::Repair { a, b }
        | FaultAction::Latency { a, b, .. } => a == host || b == host,
        FaultAction::PartitionOneway { from, to } | FaultAction::RepairOneway { from, to } => {
            from == host || to == host
        }
        FaultAction::Crash { host: h, .. }
        | FaultAction::Restart { host: h, .. }
        | FaultAction::Signal { host: h, .. }
        | FaultAction::PowerCycle { host: h }
        | FaultAction::WriteFile { host: h, .. } => h == host,
    }
}

/// The smallest variant of `scenario` found that still fails `invariant`.
pub fn shrink(scenario: &Scenario, invariant: &str) -> Scenario {
    let mut best = scenario.clone();
    for _ in 0..MAX_SHRINK_PASSES {
        let Some(smaller) = variants(&best)
            .into_iter()
            .find(|s| fails_with(s, invariant))
        else {
            break;
        };
        best = smaller;
    }
    best
}

/// A scenario as YAML in the schema's field order, without empty fields.
pub fn to_yaml(scenario: &Scenario) -> String {
    use yaml_serde::Value;
    fn prune(value: &mut Value) -> bool {
        match value {
            Value::Null => false,
            Value::Sequence(items) => {
                items.iter_mut().for_each(|v| {
                    prune(v);
                });
                !items.is_empty()
            }
            Value::Mapping(map) => {
                map.retain(|_, v| prune(v));
                !map.is_empty()
            }
            _ => true,
        }
    }
    let mut value = yaml_serde::to_value(scenario).unwrap_or(Value::Null);
    prune(&mut value);
    yaml_serde::to_string(&value).unwrap_or_default()
}

/// What `nut-sim swarm` runs.
#[derive(Debug, Clone)]
pub struct SwarmOptions {
    /// First seed.
    pub start: u64,
    /// How many seeds.
    pub seeds: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Every this many seeds also run on turmoil, which must make the same decisions
    /// (0: never).
    pub agree_every: u64,
    /// Print progress on stderr.
    pub progress: bool,
    /// Run only the seeds of this shard (seed index `i` modulo `n`).
    pub shard: crate::plan::Shard,
}

/// What a swarm run found.
#[derive(Debug, Default)]
pub struct SwarmReport {
    /// Seeds run.
    pub seeds: u64,
    /// Failing seeds: seed, invariant, problems.
    pub failures: Vec<(u64, String, Vec<String>)>,
    /// How many seeds failed each adequacy check.
    pub adequacy: BTreeMap<&'static str, u64>,
    /// How many seeds hit each coverage mark.
    pub marks: BTreeMap<&'static str, u64>,
    /// Seeds also run on turmoil.
    pub cross_checked: u64,
    /// Wall time.
    pub wall: std::time::Duration,
}

/// Runs `options.seeds` seeds from `options.start` on `options.jobs` threads.
pub fn run_seeds(options: &SwarmOptions) -> SwarmReport {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    let started = std::time::Instant::now();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let report = Mutex::new(SwarmReport::default());
    let mine: Vec<u64> = (0..options.seeds)
        .filter(|i| options.shard.has(*i))
        .map(|i| options.start + i)
        .collect();
    let total = mine.len() as u64;
    let work = || loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(&seed) = mine.get(index as usize) else {
            return;
        };
        let scenario = generate(seed);
        let mut result = judge(&scenario);
        let mut cross = false;
        if options.agree_every > 0 && seed.is_multiple_of(options.agree_every) {
            cross = true;
            if let (Ok(a), Ok(b)) = (crate::harness::run(&scenario), crate::fast::run(&scenario)) {
                let problems = crate::agree::compare_verdicts(&scenario, &a, &b);
                if !problems.is_empty() && matches!(result, SeedResult::Held(..)) {
                    result = SeedResult::Failed {
                        invariant: "drivers_agree".into(),
                        problems,
                    };
                }
            }
        }
        let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
        r.seeds += 1;
        r.cross_checked += u64::from(cross);
        match result {
            SeedResult::Held(adequacy, marks) => {
                for name in adequacy {
                    *r.adequacy.entry(name).or_default() += 1;
                }
                for mark in marks {
                    *r.marks.entry(mark).or_default() += 1;
                }
            }
            SeedResult::Failed {
                invariant,
                problems,
            } => r.failures.push((seed, invariant, problems)),
        }
        drop(r);
        done.fetch_add(1, Ordering::Relaxed);
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(work);
        }
        if options.progress {
            progress(
                &started,
                total,
                || done.load(Ordering::Relaxed),
                |n, per_min| {
                    let failing = report.lock().map(|r| r.failures.len()).unwrap_or(0);
                    format!(
                        "nut-sim swarm: {n}/{total} seeds, {failing} failing, {per_min:.0} seeds/min"
                    )
                },
                || false,
            );
        }
    });
    let mut report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    report.failures.sort_by_key(|(seed, ..)| *seed);
    report.wall = started.elapsed();
    report
}

/// Progress on stderr until `done()` reaches `total` (or `stop()`): on a terminal one
/// line updated in place; in a log a line every [`PROGRESS_LOG_EVERY`]. `line` gets the
/// count done and the rate per minute.
pub fn progress(
    started: &std::time::Instant,
    total: u64,
    done: impl Fn() -> u64,
    line: impl Fn(u64, f64) -> String,
    stop: impl Fn() -> bool,
) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let mut last = 0;
    let mut last_line = std::time::Instant::now();
    while done() < total && !stop() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let n = done();
        let due = if terminal {
            n != last
        } else {
            last_line.elapsed() >= PROGRESS_LOG_EVERY
        };
        if due {
            last = n;
            last_line = std::time::Instant::now();
            let per_min = n as f64 / started.elapsed().as_secs_f64().max(1e-9) * 60.0;
            let text = line(n, per_min);
            if terminal {
                eprint!("\r{text} ");
            } else {
                eprintln!("{text}");
            }
        }
    }
    if terminal {
        eprintln!();
    }
}

impl SwarmReport {
    /// The shard-independent summary (`nut-sim swarm --summary`): merging the shards'
    /// summaries with [`merge_summaries`] gives what one unsharded run writes.
    pub fn summary(&self, options: &SwarmOptions) -> serde_json::Value {
        serde_json::json!({
            "start": options.start,
            "seeds": options.seeds,
            "shard": format!("{}/{}", options.shard.index, options.shard.count),
            "run": self.seeds,
            "cross_checked": self.cross_checked,
            "failures": self.failures.iter().map(|(seed, invariant, problems)| serde_json::json!({
                "seed": seed, "invariant": invariant, "problems": problems,
            })).collect::<Vec<_>>(),
            "adequacy": self.adequacy,
            "marks": self.marks,
        })
    }
}

/// Merges shard summaries (each named for messages) into the summary of the whole run:
/// the same range, every shard of the same count exactly once.
pub fn merge_summaries(parts: &[(String, serde_json::Value)]) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let Some((_, first)) = parts.first() else {
        return Err("no summaries".into());
    };
    let range = (first["start"].clone(), first["seeds"].clone());
    let count = first["shard"]
        .as_str()
        .and_then(|s| crate::plan::Shard::parse(s).ok())
        .map(|s| s.count)
        .ok_or("the first summary has no shard")?;
    let mut seen = vec![false; count];
    let (mut run, mut cross) = (0u64, 0u64);
    let mut failures: Vec<Value> = Vec::new();
    let mut adequacy: BTreeMap<String, u64> = BTreeMap::new();
    let mut marks: BTreeMap<String, u64> = BTreeMap::new();
    for (name, part) in parts {
        if (part["start"].clone(), part["seeds"].clone()) != range {
            return Err(format!("{name}: another seed range than {}", parts[0].0));
        }
        let shard = part["shard"]
            .as_str()
            .and_then(|s| crate::plan::Shard::parse(s).ok())
            .filter(|s| s.count == count)
            .ok_or_else(|| format!("{name}: not one of {count} shards"))?;
        if std::mem::replace(&mut seen[shard.index], true) {
            return Err(format!("{name}: shard {}/{count} given twice", shard.index));
        }
        run += part["run"].as_u64().unwrap_or(0);
        cross += part["cross_checked"].as_u64().unwrap_or(0);
        failures.extend(part["failures"].as_array().cloned().unwrap_or_default());
        for (into, key) in [(&mut adequacy, "adequacy"), (&mut marks, "marks")] {
            for (k, v) in part[key].as_object().into_iter().flatten() {
                *into.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(format!("shard {missing}/{count} is missing"));
    }
    failures.sort_by_key(|f| f["seed"].as_u64());
    Ok(serde_json::json!({
        "start": range.0,
        "seeds": range.1,
        "shard": "0/1",
        "run": run,
        "cross_checked": cross,
        "failures": failures,
        "adequacy": adequacy,
        "marks": marks,
    }))
}
