//! `nut-sim run <file|dir>`: runs scenarios, prints timeline and verdict, exits 1 when a
//! run does not match its scenario's expectations.

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
        /// fast (the same state machines on an event-jumping clock; no TLS, nutdrv_qx,
        /// upssched or reload).
        #[arg(long, default_value = "turmoil", value_parser = ["turmoil", "fast"])]
        driver: String,
    },
}

fn main() -> ExitCode {
    let Cmd::Run {
        path,
        format,
        wall_limit,
        driver,
    } = Args::parse().command;
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
