//! `cargo xtask bench sim`: how fast the simulation runs, on this machine, in one run.
//!
//! - the whole scenario library on turmoil, and on the fast driver where it models the
//!   scenario (target: under 30 s of wall time for the library);
//! - a one-hour outage with 50 hosts (the capacity scenario widened), on both drivers,
//!   as simulated time over wall time (targets: 1,000x on turmoil, 1,000,000x fast);
//! - swarm seeds per minute on every core (target: 1,000);
//! - the planner: cells per second on a 10,000-cell plan of a 10-host site (target:
//!   the plan in under 60 s), and the ratio to turmoil on the same cells.

use sim::scenario::Scenario;
use std::path::Path;
use std::time::Instant;

/// Hosts in the capacity run.
const CAPACITY_HOSTS: usize = 50;
/// Fast-driver repetitions of the capacity run per batch (one run takes milliseconds).
const FAST_REPEAT: u32 = 20;
/// Batches of them; the fastest counts.
const FAST_BATCHES: u32 = 3;
/// Swarm seeds timed.
const SWARM_SEEDS: u64 = 600;

fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Scenario::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "meets"
    } else {
        "MISSES"
    }
}

/// Runs the simulation benchmark and prints its table.
pub fn run(root: &Path) -> Result<(), String> {
    let dir = root.join("scenarios");
    let mut files = sim::scenario_files(&dir)?;
    files.extend(sim::scenario_files(&dir.join("regressions"))?);
    let (mut turmoil_s, mut fast_s, mut fast_count) = (0.0, 0.0, 0);
    for file in &files {
        let scenario = load(file)?;
        let started = Instant::now();
        sim::harness::run(&scenario).map_err(|e| format!("{}: {e}", file.display()))?;
        turmoil_s += started.elapsed().as_secs_f64();
        if sim::fast::unsupported(&scenario).is_none() {
            let started = Instant::now();
            sim::fast::run(&scenario).map_err(|e| format!("{}: {e}", file.display()))?;
            fast_s += started.elapsed().as_secs_f64();
            fast_count += 1;
        }
    }
    println!("simulation benchmark (release build, this machine)");
    println!(
        "  scenario library, {} scenarios on turmoil: {turmoil_s:.1} s of wall time ({} the 30 s target)",
        files.len(),
        mark(turmoil_s < 30.0)
    );
    println!("  the {fast_count} of them the fast driver models, on it: {fast_s:.2} s");

    let mut capacity = load(&dir.join("capacity/one-hour-outage-20-secondaries.yaml"))?;
    let template = capacity.hosts[1].clone();
    while capacity.hosts.len() < CAPACITY_HOSTS {
        let mut host = template.clone();
        host.name = format!("host{:02}", capacity.hosts.len());
        capacity.hosts.push(host);
    }
    capacity.wall_limit_s = Some(3_600);
    let started = Instant::now();
    let outcome = sim::harness::run(&capacity)?;
    let wall = started.elapsed().as_secs_f64();
    let turmoil_x = outcome.end_ms as f64 / 1000.0 / wall;
    // The best of FAST_BATCHES batches: a run takes milliseconds, so one batch can
    // land on a moment this shared machine is busy elsewhere.
    let (mut fast_wall, mut simulated_ms, mut skipped) = (f64::MAX, 0, 0);
    for _ in 0..FAST_BATCHES {
        let started = Instant::now();
        let mut batch_ms = 0;
        for _ in 0..FAST_REPEAT {
            let outcome = sim::fast::run(&capacity)?;
            batch_ms += outcome.end_ms;
            skipped = outcome.skipped;
        }
        let wall = started.elapsed().as_secs_f64();
        if wall < fast_wall {
            (fast_wall, simulated_ms) = (wall, batch_ms);
        }
    }
    let fast_x = simulated_ms as f64 / 1000.0 / fast_wall;
    println!(
        "  one-hour outage, {CAPACITY_HOSTS} hosts, {:.0} simulated s: turmoil {wall:.1} s = {turmoil_x:.0}x real time ({} 1,000x); fast {:.2} ms = {fast_x:.0}x ({} 1,000,000x; best of {FAST_BATCHES} batches of {FAST_REPEAT}; {skipped} quiet instants skipped per run)",
        outcome.end_ms as f64 / 1000.0,
        mark(turmoil_x >= 1_000.0),
        fast_wall * 1000.0 / f64::from(FAST_REPEAT),
        mark(fast_x >= 1_000_000.0)
    );
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = sim::swarm::run_seeds(&sim::swarm::SwarmOptions {
        start: 0,
        seeds: SWARM_SEEDS,
        jobs,
        agree_every: 0,
        progress: false,
        shard: sim::plan::Shard::ALL,
    });
    let per_min = report.seeds as f64 / report.wall.as_secs_f64() * 60.0;
    println!(
        "  swarm: {} seeds on {jobs} threads in {:.1} s = {per_min:.0} seeds per minute ({} 1,000); {} failing",
        report.seeds,
        report.wall.as_secs_f64(),
        mark(per_min >= 1_000.0),
        report.failures.len()
    );
    if !report.failures.is_empty() {
        return Err(format!("swarm seeds failed: {:?}", report.failures));
    }
    plan(&dir, jobs)
}

/// The planner's 10,000-cell plan runs in shards of this many (the figure for the whole
/// plan is the shard's, scaled: every shard has the same site and the same count).
const PLAN_SHARDS: usize = 10;
/// Battery runtime of the plan's second, typical site, in seconds (20 minutes).
const TYPICAL_RUNTIME_S: f64 = 1_200.0;
/// Cells of the same plan timed on turmoil for the ratio.
const PLAN_TURMOIL_CELLS: usize = 4;

/// `nut-sim plan` on scenarios/plans/ten-hosts-10k-cells.yaml: cells per second through
/// the fast driver (target: the 10,000 cells in under 60 s) and against turmoil.
fn plan(dir: &Path, jobs: usize) -> Result<(), String> {
    let loaded = sim::plan::load(&dir.join("plans/ten-hosts-10k-cells.yaml"))?;
    let shard = sim::plan::Shard {
        index: 0,
        count: PLAN_SHARDS,
    };
    let started = Instant::now();
    let rows = sim::plan::run(&loaded, shard, jobs, sim::Driver::Fast, false)?;
    let fast_per_s = rows.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for cell in 0..PLAN_TURMOIL_CELLS {
        sim::plan::run_cell(&loaded, cell, sim::Driver::Turmoil)?;
    }
    let turmoil_per_s = PLAN_TURMOIL_CELLS as f64 / started.elapsed().as_secs_f64();
    let whole_s = loaded.cells() as f64 / fast_per_s;
    println!(
        "  plan: {} cells (10-host site, one-hour outage, a battery that lasts the hour) on {jobs} threads: {fast_per_s:.0} cells/s, the whole {} cells in {whole_s:.0} s ({} 60 s); turmoil {turmoil_per_s:.2} cells/s on one thread, fast/turmoil {:.0}x; prediction contradicted in {} cells",
        rows.len(),
        loaded.cells(),
        mark(whole_s < 60.0),
        fast_per_s / jobs as f64 / turmoil_per_s,
        sim::plan::contradictions(&rows).len()
    );
    // The same plan with a 20-minute battery: the site is down a third of the way into
    // the outage and its hosts stop polling.
    let mut typical = loaded.clone();
    for ups in &mut typical.base.upses {
        if let Some(b) = &mut ups.battery {
            b.runtime_s = TYPICAL_RUNTIME_S;
        }
    }
    let started = Instant::now();
    let rows = sim::plan::run(&typical, shard, jobs, sim::Driver::Fast, false)?;
    let per_s = rows.len() as f64 / started.elapsed().as_secs_f64();
    let whole_s = typical.cells() as f64 / per_s;
    println!(
        "  plan, the same site with a {:.0}-minute battery: {per_s:.0} cells/s, the whole {} cells in {whole_s:.0} s ({} 60 s)",
        TYPICAL_RUNTIME_S / 60.0,
        typical.cells(),
        mark(whole_s < 60.0)
    );
    Ok(())
}
