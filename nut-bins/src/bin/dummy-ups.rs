//! `dummy-ups -a <ups>`: serves a .dev/.seq file (or a `-x port=` file) to upsd, or
//! repeats another upsd's UPS (`port = ups@host`).
//!
//! Like NUT's drivers it goes to the background once its socket serves (the parent
//! exits 0 then, which is what `upsdrvctl start` waits for), unless `-F` or `-D`; it
//! writes `<driver>-<ups>.pid` in the PID directory; `-c exit|reload` signals the
//! running instance; `-k` tells the device to cut the load and exits.

use clap::Parser;
use nut_bins::driver::{kill_power, run_wired, wire};
use nut_bins::drivercli::{exit, pidfile, serve_daemon};
use nut_bins::real::{signals, FileSource, RealSys, TokioNet};
use std::process::ExitCode;

use nut_bins::cli::dummy_ups::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new("dummy-ups", args.cli.debug > 0);
    let driver_args = args.cli.driver_args();
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
    let pidfile = pidfile(&env, &wiring.statepath, "dummy-ups", &wiring.config.ups);
    if let Some(command) = &args.cli.command {
        return args.cli.signal_running(command, &pidfile, "dummy-ups");
    }
    if args.cli.kill {
        // As NUT's drivers: chroot and account before the device is opened.
        if let Err(e) = nut_bins::drivercli::confine(&args.cli, &env) {
            return exit(Err(e));
        }
        return exit(kill_power(&sys, &env, &driver_args).map(drop));
    }
    serve_daemon(&args.cli, pidfile, |ready| async move {
        let net = TokioNet::new(&wiring.statepath);
        let open = |path: &str| FileSource::new(path);
        run_wired(net, sys, wiring, open, signals()?, ready).await
    })
}
