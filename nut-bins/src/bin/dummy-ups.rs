//! `dummy-ups -a <ups>`: serves a .dev/.seq file (or a `-x port=` file) to upsd, or
//! repeats another upsd's UPS (`port = ups@host`).
//!
//! Like NUT's drivers it goes to the background once its socket serves (the parent
//! exits 0 then, which is what `upsdrvctl start` waits for), unless `-F` or `-D`; it
//! writes `<driver>-<ups>.pid` in the PID directory; `-c exit|reload` signals the
//! running instance; `-k` tells the device to cut the load and exits.

use clap::Parser;
use nut_bins::confload::signal_exit;
use nut_bins::driver::{kill_power, run_wired, wire, DriverArgs};
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
    /// UPS section of ups.conf to drive.
    #[arg(short = 'a')]
    ups: Option<String>,
    /// Standalone: run without ups.conf under this name (give -x port=...).
    #[arg(short = 's')]
    standalone: Option<String>,
    /// Extra driver option key=value (repeatable).
    #[arg(short = 'x')]
    extra: Vec<String>,
    /// Kill power: tell the UPS to cut the load (shutdown.return) and exit.
    #[arg(short = 'k')]
    kill: bool,
    /// Send a command to the running driver: exit or reload.
    #[arg(short = 'c')]
    command: Option<String>,
    /// PID to signal with -c instead of the PID file.
    #[arg(short = 'P')]
    pid: Option<u32>,
    /// Debug (repeatable); implies foreground.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    debug: u8,
    /// Stay in the foreground.
    #[arg(short = 'F', action = clap::ArgAction::Count)]
    foreground: u8,
    /// Go to the background (the default without -F and -D).
    #[arg(short = 'B')]
    background: bool,
    /// Run as this user (accepted; privileges are not changed yet).
    #[arg(short = 'u')]
    user: Option<String>,
    /// Chroot directory (accepted; not supported yet: refused).
    #[arg(short = 'r')]
    chroot: Option<String>,
    /// Read ups.conf and this UPS's section, print every problem, exit 1 on errors.
    #[arg(long = "check-config")]
    check_config: bool,
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
    if args.check_config {
        println!("dummy-ups: UPS [{}]: configuration OK", wiring.config.ups);
        return ExitCode::SUCCESS;
    }
    let pidfile = PathBuf::from(env.pidfile(
        &wiring.statepath,
        &format!("dummy-ups-{}.pid", wiring.config.ups),
    ));
    if let Some(command) = &args.command {
        let signal = match command.as_str() {
            "exit" | "stop" => "TERM",
            "reload" | "reload-or-error" => "HUP",
            other => {
                eprintln!("Error: unknown command '{other}' (use exit or reload)");
                return ExitCode::FAILURE;
            }
        };
        return signal_exit(args.pid, &pidfile, signal, "dummy-ups");
    }
    if args.kill {
        return match kill_power(&sys, &env, &driver_args) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Fatal error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let foreground = args.foreground > 0 || args.debug > 0;
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
