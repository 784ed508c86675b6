//! `dummy-ups -a <ups>`: serves a .dev/.seq file (or a `-x port=` file) to upsd.

use clap::Parser;
use nut_bins::driver::{run_wired, wire, DriverArgs};
use nut_bins::real::{runtime, signals, FileSource, RealSys, TokioNet};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "dummy-ups",
    about = "Network UPS Tools dummy-ups driver (Rust)",
    version
)]
struct Args {
    /// UPS section of ups.conf to drive.
    #[arg(short = 'a')]
    ups: Option<String>,
    /// Standalone: run without ups.conf under this name (give -x port=...).
    #[arg(short = 's')]
    standalone: Option<String>,
    /// Extra driver option key=value (repeatable).
    #[arg(short = 'x')]
    extra: Vec<String>,
    /// Kill power: dummy-ups has no power to kill; it only says so.
    #[arg(short = 'k')]
    kill: bool,
    /// Debug (repeatable); implies foreground.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    debug: u8,
    /// Stay in the foreground (this implementation always does).
    #[arg(short = 'F')]
    foreground: bool,
    /// Background (accepted for compatibility; run under a service manager instead).
    #[arg(short = 'B')]
    background: bool,
    /// Run as this user (accepted for compatibility; not changed).
    #[arg(short = 'u')]
    user: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new("dummy-ups", args.debug > 0);
    let driver_args = DriverArgs {
        ups: args.ups.clone(),
        standalone: args.standalone.clone(),
        extra: args.extra.clone(),
    };
    let wiring = match wire(&sys, &env, &driver_args) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.kill {
        println!(
            "dummy-ups: kill power requested for [{}]; a dummy UPS has no power to cut",
            wiring.config.ups
        );
        return ExitCode::SUCCESS;
    }
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let net = TokioNet::new(&wiring.statepath);
            run_wired(net, sys, wiring, |path: &str| FileSource::new(path), signals()?).await
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}
