//! `nut-sim run <file|dir>`: runs scenarios, prints timeline and verdict, exits 1 when a
//! run does not match its scenario's expectations. `nut-sim swarm`: random sites on the
//! fast driver; a failing seed is shrunk to a scenario file.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nut-sim",
    about = "Deterministic simulation of NUT shutdown sequences",
    version
)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one scenario file or every scenario in a directory.
    Run {
        /// Scenario file or directory.
        path: PathBuf,
        /// Report format: text (timeline and verdict) or json (one object per event).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// Stop a scenario that takes longer than this many seconds of wall time.
        #[arg(long = "wall-limit")]
        wall_limit: Option<u64>,
        /// The engine: turmoil (the daemons' own tokio shells over simulated TCP) or
        /// fast (the same state machines on an event-jumping clock; no TLS, nutdrv_qx
        /// or reload of upsd and drivers).
        #[arg(long, default_value = "turmoil", value_parser = ["turmoil", "fast"])]
        driver: String,
    },
    /// Run random sites (topology, knobs, battery, outages, faults), one per seed, on the
    /// fast driver; fail on any always-true invariant, shrink the failing seeds.
    Swarm {
        /// How many seeds.
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also run every N-th seed on turmoil; the drivers must agree (0: never).
        #[arg(long = "agree-every", default_value_t = 0)]
        agree_every: u64,
        /// Where shrunk failing scenarios are written.
        #[arg(long, default_value = "scenarios/regressions")]
        out: PathBuf,
        /// Run only the seeds whose index is i modulo n (then `nut-sim merge` the
        /// summaries).
        #[arg(long, value_parser = sim::plan::Shard::parse)]
        shard: Option<sim::plan::Shard>,
        /// Also write a JSON summary (seeds run, failures, marks) here.
        #[arg(long)]
        summary: Option<PathBuf>,
    },
    /// Sweep knobs over a base scenario: per cell every host's worst safety margin,
    /// p(safe) over seeded jitter and the closed-form prediction; writes plan.csv,
    /// plan.md and plan.svg (a shard writes its rows only: plan.csv).
    Plan {
        /// The plan file (YAML: base, runs, seed, jitter, knobs).
        plan: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "plan-out")]
        out: PathBuf,
        /// Run only the cells whose index is i modulo n (then `nut-sim merge`).
        #[arg(long, value_parser = sim::plan::Shard::parse)]
        shard: Option<sim::plan::Shard>,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// The engine.
        #[arg(long, default_value = "fast", value_parser = ["turmoil", "fast"])]
        driver: String,
    },
    /// Lint a site's real NUT config directories (one per host, each a copy of its
    /// /etc/nut, named after the host) across hosts, then simulate a standard outage
    /// against exactly those files. Exit status: 0 clean, 1 errors found or the outage
    /// is unsafe, 2 the directories cannot be read.
    Check {
        /// The hosts' directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Battery runtime at the site's load, in seconds.
        #[arg(long = "runtime-s", default_value_t = 600.0)]
        runtime_s: f64,
        /// How long a host's SHUTDOWNCMD takes: host=seconds (repeat per host).
        #[arg(long = "shutdown-s", value_parser = sim::check::parse_shutdown)]
        shutdown_s: Vec<(String, f64)>,
        /// For hosts not named by --shutdown-s, in seconds.
        #[arg(long = "default-shutdown-s", default_value_t = 30.0)]
        default_shutdown_s: f64,
    },
    /// Merge shard outputs into what an unsharded run writes: `merge plan.yaml
    /// shard0/plan.csv shard1/plan.csv ...` (plan shards) or `merge s0.json s1.json ...`
    /// (swarm summaries).
    Merge {
        /// The plan file then each shard's plan.csv, or the swarm summaries.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory (plans) or file (swarm summaries; default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let (path, format, wall_limit, driver) = match Args::parse().command {
        Cmd::Run {
            path,
            format,
            wall_limit,
            driver,
        } => (path, format, wall_limit, driver),
        Cmd::Swarm {
            seeds,
            start,
            jobs,
            agree_every,
            out,
            shard,
            summary,
        } => {
            let options = sim::swarm::SwarmOptions {
                start,
                seeds,
                jobs: jobs.unwrap_or_else(cores),
                agree_every,
                progress: true,
                shard: shard.unwrap_or(sim::plan::Shard::ALL),
            };
            return swarm(&options, &out, summary.as_deref());
        }
        Cmd::Plan {
            plan,
            out,
            shard,
            jobs,
            driver,
        } => return plan_cmd(&plan, &out, shard, jobs, &driver),
        Cmd::Check {
            dirs,
            runtime_s,
            shutdown_s,
            default_shutdown_s,
        } => {
            let sane = runtime_s > 0.0
                && runtime_s <= sim::check::MAX_RUNTIME_S
                && default_shutdown_s.is_finite()
                && default_shutdown_s >= 0.0;
            if !sane {
                eprintln!(
                    "nut-sim: --runtime-s must be above 0 and at most {} s, --default-shutdown-s at least 0",
                    sim::check::MAX_RUNTIME_S
                );
                return ExitCode::from(2);
            }
            let options = sim::check::Options {
                runtime_s,
                shutdown_s: shutdown_s.into_iter().collect(),
                default_shutdown_s,
            };
            let report = sim::check::check(&dirs, &options);
            print!("{}", report.text);
            return ExitCode::from(report.exit);
        }
        Cmd::Merge { files, out } => {
            let plan = files[0]
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml");
            return if plan {
                let out = out.unwrap_or_else(|| PathBuf::from("plan-out"));
                merge_cmd(&files[0], &files[1..], &out)
            } else {
                merge_swarm(&files, out.as_deref())
            };
        }
    };
    let driver = if driver == "fast" {
        sim::Driver::Fast
    } else {
        sim::Driver::Turmoil
    };
    let format = if format == "json" {
        sim::Format::Json
    } else {
        sim::Format::Text
    };
    let files = if path.is_dir() {
        match sim::scenario_files(&path) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("nut-sim: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        vec![path]
    };
    let mut all_passed = true;
    for file in files {
        let started = std::time::Instant::now();
        match sim::run_file_with(&file, format, wall_limit, driver) {
            Ok((report, passed, end_ms)) => {
                print!("{report}");
                if format == sim::Format::Json {
                    all_passed &= passed;
                    continue;
                }
                let wall = started.elapsed().as_secs_f64();
                println!(
                    "(simulated {:.1} s in {wall:.2} s of wall time: {:.0} simulated seconds per second)\n",
                    end_ms as f64 / 1000.0,
                    end_ms as f64 / 1000.0 / wall.max(1e-9)
                );
                all_passed &= passed;
            }
            Err(e) => {
                eprintln!("nut-sim: {e}");
                all_passed = false;
            }
        }
    }
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Most failing seeds shrunk and written per swarm run.
const MAX_SHRUNK: usize = 5;

fn swarm(
    options: &sim::swarm::SwarmOptions,
    out: &std::path::Path,
    summary: Option<&std::path::Path>,
) -> ExitCode {
    let (start, seeds, jobs) = (options.start, options.seeds, options.jobs);
    let report = sim::swarm::run_seeds(options);
    if let Some(path) = summary {
        let text = format!("{:#}\n", report.summary(options));
        if let Err(e) = sim::plan::write_atomic(path, text.as_bytes()) {
            eprintln!("nut-sim: {e}");
            return ExitCode::FAILURE;
        }
    }
    let wall = report.wall.as_secs_f64();
    let shard = if options.shard.count > 1 {
        format!(", shard {}/{}", options.shard.index, options.shard.count)
    } else {
        String::new()
    };
    println!(
        "swarm: {} seeds ({start}..{}{shard}) in {wall:.1} s on {jobs} threads: {:.0} seeds per minute; {} also run on turmoil",
        report.seeds,
        start + seeds,
        report.seeds as f64 / wall.max(1e-9) * 60.0,
        report.cross_checked
    );
    for (name, count) in &report.marks {
        println!("  mark {name}: {count} seeds");
    }
    for (name, count) in &report.adequacy {
        println!("  adequacy {name} failed (the site was too small, not a bug): {count} seeds");
    }
    if report.failures.is_empty() {
        println!("no always-true invariant failed");
        return ExitCode::SUCCESS;
    }
    for (seed, invariant, problems) in &report.failures {
        println!("FAILED seed {seed}: {invariant}: {}", problems.join("; "));
        println!("  replay: nut-sim swarm --start {seed} --seeds 1");
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("nut-sim: {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    for (seed, invariant, _) in report.failures.iter().take(MAX_SHRUNK) {
        let scenario = sim::swarm::generate(*seed);
        let mut small = sim::swarm::shrink(&scenario, invariant);
        small.name = format!("swarm-{seed}-{invariant}");
        small.description = format!(
            "Found by `nut-sim swarm --start {seed} --seeds 1` (invariant {invariant}), shrunk."
        );
        let path = out.join(format!("swarm-{seed}-{invariant}.yaml"));
        match sim::plan::write_atomic(&path, sim::swarm::to_yaml(&small).as_bytes()) {
            Ok(()) => println!("  shrunk: {}", path.display()),
            Err(e) => eprintln!("nut-sim: {e}"),
        }
    }
    ExitCode::FAILURE
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn plan_cmd(
    path: &std::path::Path,
    out: &std::path::Path,
    shard: Option<sim::plan::Shard>,
    jobs: Option<usize>,
    driver: &str,
) -> ExitCode {
    let loaded = match sim::plan::load(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("nut-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let driver = if driver == "turmoil" {
        sim::Driver::Turmoil
    } else {
        sim::Driver::Fast
    };
    let jobs = jobs.unwrap_or_else(cores);
    let started = std::time::Instant::now();
    let rows = match sim::plan::run(
        &loaded,
        shard.unwrap_or(sim::plan::Shard::ALL),
        jobs,
        driver,
        true,
    ) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("nut-sim: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let runs = rows.len() as f64 * f64::from(loaded.plan.runs);
    println!(
        "plan: {} cells x {} runs in {wall:.1} s on {jobs} threads: {:.0} cells/s, {:.0} runs/s",
        rows.len(),
        loaded.plan.runs,
        rows.len() as f64 / wall.max(1e-9),
        runs / wall.max(1e-9)
    );
    let written = match shard {
        Some(s) if s.count > 1 => std::fs::create_dir_all(out)
            .map_err(|e| format!("{}: {e}", out.display()))
            .and_then(|()| {
                sim::plan::write_atomic(
                    &out.join("plan.csv"),
                    sim::plan::csv(&loaded, &rows).as_bytes(),
                )
            })
            .map(|()| {
                println!(
                    "shard {}/{}: {} (merge the shards with nut-sim merge)",
                    s.index,
                    s.count,
                    out.join("plan.csv").display()
                )
            }),
        _ => sim::plan::write_outputs(&loaded, &rows, out).map(|()| {
            println!("{}", sim::plan::recommendation(&loaded, &rows));
            println!("{}", sim::plan::agreement(&rows));
            println!("wrote plan.csv, plan.md and plan.svg in {}", out.display());
        }),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nut-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn merge_cmd(path: &std::path::Path, shards: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let merged = sim::plan::load(path).and_then(|loaded| {
        let mut parts = Vec::new();
        for shard in shards {
            let text =
                std::fs::read_to_string(shard).map_err(|e| format!("{}: {e}", shard.display()))?;
            let name = shard.display().to_string();
            let rows = sim::plan::parse_csv(&loaded, &name, &text)?;
            parts.push((name, rows));
        }
        let rows = sim::plan::merge(&loaded, parts)?;
        sim::plan::write_outputs(&loaded, &rows, out)?;
        Ok(sim::plan::recommendation(&loaded, &rows))
    });
    match merged {
        Ok(line) => {
            println!("{line}");
            println!("wrote plan.csv, plan.md and plan.svg in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nut-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn merge_swarm(files: &[PathBuf], out: Option<&std::path::Path>) -> ExitCode {
    let mut parts = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) => parts.push((name, v)),
            Err(e) => {
                eprintln!("nut-sim: {name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let merged = match sim::swarm::merge_summaries(&parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("nut-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = format!("{merged:#}\n");
    match out {
        Some(path) => {
            if let Err(e) = sim::plan::write_atomic(path, text.as_bytes()) {
                eprintln!("nut-sim: {e}");
                return ExitCode::FAILURE;
            }
        }
        None => print!("{text}"),
    }
    let failures = merged["failures"].as_array().map_or(0, Vec::len);
    println!("swarm: {} seeds run, {failures} failing", merged["run"]);
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
