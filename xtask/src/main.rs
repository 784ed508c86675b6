//! `cargo xtask <command>`: the project's one entry point for automation.
//!
//! - `test`: install the real NUT peers when missing (Debian packages, as root), run the
//!   whole test suite with cargo-nextest (or cargo test), then every bundled scenario.
//! - `sim [path]`: run the bundled scenarios (or the given file/directory).
//! - `bench`: our upsd against NUT's upsd, same load, one run (see `bench.rs`);
//!   `bench sim`: the simulation's drivers and swarm (see `simbench.rs`).
//! - `fuzz [seconds]`: every cargo-fuzz target in `fuzz/` for that long.
//! - `deb [--check]`: the Debian package (see `deb.rs`); `--check` verifies it and runs
//!   lintian.
//! - `tidy`: the structural checks (also run as a test, see `tidy.rs`).
//!
//! xtask may run processes and touch files; it is never linked into the daemons.

mod bench;
mod deb;
mod simbench;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn install_peers() -> Result<(), String> {
    run(Command::new("bash").arg(root().join("ci/install-peers.sh")))
}

fn test() -> Result<(), String> {
    install_peers()?;
    check_fuzz_targets()?;
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root());
    if have("cargo-nextest", "--version") || have("cargo", "nextest --version") {
        cargo.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cargo.args(["test", "--workspace", "--no-fail-fast"]);
    }
    run(&mut cargo)?;
    sim(None)
}

fn sim(path: Option<String>) -> Result<(), String> {
    let target = path.unwrap_or_else(|| root().join("scenarios").display().to_string());
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root())
            .args([
                "run", "--quiet", "-p", "sim", "--bin", "nut-sim", "--", "run", &target,
            ]),
    )
}

/// The fuzz targets live outside the workspace (cargo-fuzz builds them with its own
/// flags), so nothing else compiles them: checked here, so that a change to nut-core's
/// API cannot leave them broken until the next fuzzing run (two were, found 2026-12).
fn check_fuzz_targets() -> Result<(), String> {
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root())
            .env("CARGO_TARGET_DIR", root().join("target/fuzz-check"))
            .args([
                "check",
                "--quiet",
                "--manifest-path",
                "fuzz/Cargo.toml",
                "--bins",
            ]),
    )
}

/// Fuzz targets in `fuzz/` (cargo-fuzz layout).
const FUZZ_TARGETS: &[&str] = &[
    "tokenizer",
    "request",
    "socket",
    "configs",
    "upsmon_timeline",
    "dummy_timeline",
    "session",
    "qx_replies",
    "qx_bridges",
    "hid_descriptor",
    "hidups",
    "snmp",
    "apcsmart",
];

/// Runs every fuzz target for `seconds` each; installs cargo-fuzz when missing.
/// cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
fn fuzz(seconds: u64) -> Result<(), String> {
    if !have("cargo", "fuzz --version") {
        run(Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]))?;
    }
    let mut summary = Vec::new();
    for target in FUZZ_TARGETS {
        let output = Command::new("cargo")
            .current_dir(root().join("fuzz"))
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "fuzz",
                "run",
                target,
                "--",
                &format!("-max_total_time={seconds}"),
            ])
            .output()
            .map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let done = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("Done "))
            .unwrap_or("no summary line")
            .to_string();
        if !output.status.success() {
            eprintln!("{stderr}");
            return Err(format!(
                "fuzz target {target} failed (crash or build error)"
            ));
        }
        summary.push(format!("{target}: {done}"));
    }
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// The benchmark's load generator must not be the bottleneck: an unoptimized build
/// spends several times the CPU per request of an optimized one, and that CPU is taken
/// from the servers under test. So `cargo xtask bench` re-runs itself in release.
fn bench(what: Option<String>) -> Result<(), String> {
    if !cfg!(debug_assertions) {
        return match what.as_deref() {
            Some("driver") => bench::drivers(&root()),
            Some("sim") => simbench::run(&root()),
            Some("--quick") => bench::run_mode(&root(), bench::Mode::Quick),
            Some("--quick-nut") => bench::run_mode(&root(), bench::Mode::QuickNut),
            Some("--callgrind") => bench::run_mode(&root(), bench::Mode::Callgrind),
            _ => bench::run_mode(&root(), bench::Mode::Full),
        };
    }
    let mut args = vec!["run", "--release", "--package", "xtask", "--", "bench"];
    if let Some(what) = &what {
        args.push(what);
    }
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root())
            .args(&args)
            .status()
            .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("the release benchmark failed".to_string())
    }
}

/// The sans-IO cores whose mutants nut-core's own tests must catch.
const MUTANT_FILES: &[&str] = &["nut-core/src/upsmon.rs", "nut-core/src/upssched.rs"];

/// `cargo xtask mutants`: cargo-mutants over upsmon's and upssched's cores with
/// nut-core's own tests (installs cargo-mutants when missing); prints the caught ratio
/// and the surviving mutants (also in mutants.out/).
fn mutants() -> Result<(), String> {
    if !have("cargo", "mutants --version") {
        run(Command::new("cargo").args(["install", "--locked", "cargo-mutants"]))?;
    }
    let mut cargo = Command::new("cargo");
    cargo
        .current_dir(root())
        .args(["mutants", "--package", "nut-core", "--no-shuffle"]);
    for file in MUTANT_FILES {
        cargo.args(["--file", file]);
    }
    // cargo-mutants exits non-zero when any mutant survives; the summary says how many.
    let _ = cargo.status().map_err(|e| e.to_string())?;
    let outcomes = std::fs::read_to_string(root().join("mutants.out/outcomes.json"))
        .map_err(|e| format!("mutants.out/outcomes.json: {e}"))?;
    let count = |key: &str| {
        outcomes
            .split(&format!("\"{key}\":"))
            .nth(1)
            .and_then(|rest| {
                rest.trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
            })
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (caught, missed, timeout) = (count("caught"), count("missed"), count("timeout"));
    let viable = caught + missed + timeout;
    println!(
        "mutants of {}: {caught} caught, {missed} missed, {timeout} timed out of {viable} viable ({:.1}% caught)",
        MUTANT_FILES.join(", "),
        100.0 * (caught + timeout) as f64 / viable.max(1) as f64
    );
    if let Ok(missed_list) = std::fs::read_to_string(root().join("mutants.out/missed.txt")) {
        print!("{missed_list}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("test") => test(),
        Some("sim") => sim(args.next()),
        Some("bench") => bench(args.next()),
        Some("fuzz") => fuzz(args.next().and_then(|s| s.parse().ok()).unwrap_or(60)),
        Some("tidy") => tidy::check(&root()).map_err(|problems| problems.join("\n")),
        Some("mutants") => mutants(),
        Some("deb") => {
            let check = args.next().as_deref() == Some("--check");
            deb::build(&root()).and_then(|deb| {
                println!("deb: {}", deb.display());
                if check {
                    deb::check(&root(), &deb)
                } else {
                    Ok(())
                }
            })
        }
        _ => Err(
            "usage: cargo xtask <test|sim [path]|bench [--quick|--callgrind|driver|sim]|deb [--check]|fuzz [seconds per target]|mutants|tidy>"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
