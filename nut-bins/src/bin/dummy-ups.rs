//! `dummy-ups -a <ups>`: serves a .dev/.seq file (or a `-x port=` file) to upsd, or
//! repeats another upsd's UPS (`port = ups@host`).
//!
//! Like NUT's drivers it goes to the background once its socket serves (the parent
//! exits 0 then, which is what `upsdrvctl start` waits for), unless `-F` or `-D`; it
//! writes `<driver>-<ups>.pid` in the PID directory; `-c exit|reload` signals the
//! running instance; `-k` tells the device to cut the load and exits.

use clap::Parser;
use nut_bins::driver::{kill_power, run_wired, wire};
use nut_bins::drivercli::DriverCli;
use nut_bins::real::{
    background, is_background_child, ready_actions, runtime, signals, FileSource, RealSys, TokioNet,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "dummy-ups",
    about = "Network UPS Tools dummy-ups driver (Rust)",
    version
)]
struct Args {
    #[command(flatten)]
    cli: DriverCli,
    /// Chroot directory (accepted; not supported yet: refused).
    #[arg(short = 'r')]
    chroot: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new("dummy-ups", args.cli.debug > 0);
    let driver_args = args.cli.driver_args();
    if args.chroot.is_some() {
        eprintln!("Fatal error: -r (chroot) is not supported by this implementation");
        return ExitCode::FAILURE;
    }
    let wiring = match wire(&sys, &env, &driver_args) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: dummy-ups cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    if args.cli.check_config {
        println!("dummy-ups: UPS [{}]: configuration OK", wiring.config.ups);
        return ExitCode::SUCCESS;
    }
    let pidfile = PathBuf::from(env.pidfile(
        &wiring.statepath,
        &format!("dummy-ups-{}.pid", wiring.config.ups),
    ));
    if let Some(command) = &args.cli.command {
        return args.cli.signal_running(command, &pidfile, "dummy-ups");
    }
    if args.cli.kill {
        return match kill_power(&sys, &env, &driver_args) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Fatal error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let foreground = args.cli.foreground();
    if !foreground && !is_background_child() {
        return background();
    }
    let ready = ready_actions(Some(pidfile.clone()));
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let net = TokioNet::new(&wiring.statepath);
            let open = |path: &str| FileSource::new(path);
            run_wired(net, sys, wiring, open, signals()?, ready).await
        })
    });
    nut_bins::service::remove_pidfile(&pidfile);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}
