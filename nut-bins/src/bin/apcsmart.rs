//! `apcsmart -a <ups>`: the driver for APC Smart-UPS and Matrix-UPS units on a serial
//! port (APC's Smart protocol), serving their variables to upsd.
//!
//! Command line as NUT's drivers: `-a`, `-s`, `-x key=value`, `-k` (tell the UPS to cut
//! the load), `-d <n>` (print the variables after n updates and exit), `-D`, `-F`, `-B`,
//! `-c exit|reload`. Goes to the background once its socket serves, unless `-F`/`-D`.

use clap::Parser;
use nut_bins::apcsmart::{dump, kill_power, run_apc, wire, DRIVER_NAME};
use nut_bins::cli::apcsmart::Args;
use nut_bins::drivercli::{exit, pidfile, serve_daemon};
use nut_bins::real::{runtime, signals, RealSys, TokioNet};
use nut_bins::serial::SerialApc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new(DRIVER_NAME, args.cli.debug > 0 || args.dump.is_some());
    let driver_args = args.cli.driver_args();
    let wiring = match wire(&sys, &env, &driver_args) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: {DRIVER_NAME} cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    if args.cli.check_config {
        println!("{DRIVER_NAME}: UPS [{}]: configuration OK", wiring.ups);
        return ExitCode::SUCCESS;
    }
    let pidfile = pidfile(&env, &wiring.statepath, DRIVER_NAME, &wiring.ups);
    if let Some(command) = &args.cli.command {
        return args.cli.signal_running(command, &pidfile, DRIVER_NAME);
    }
    if args.cli.kill || args.dump.is_some() {
        // As NUT's drivers: chroot and account before the device is opened.
        if let Err(e) = nut_bins::drivercli::confine(&args.cli, &env) {
            return exit(Err(e));
        }
        let result = runtime().map_err(|e| e.to_string()).and_then(|rt| {
            rt.block_on(async {
                let mut port = SerialApc::open(&wiring.port, wiring.options.cable_0095b)
                    .map_err(|e| e.to_string())?;
                match args.dump {
                    Some(n) => dump(&sys, &wiring, &mut port, n).await,
                    None => kill_power(&sys, &wiring, &mut port).await,
                }
            })
        });
        return exit(result.map(|text| {
            if args.dump.is_some() {
                print!("{text}");
            } else {
                eprintln!("{text}");
            }
        }));
    }
    serve_daemon(&args.cli, pidfile, |ready| async move {
        let port = SerialApc::open(&wiring.port, wiring.options.cable_0095b)?;
        let net = TokioNet::new(&wiring.statepath);
        run_apc(net, sys, wiring, port, ready, signals()?).await
    })
}
