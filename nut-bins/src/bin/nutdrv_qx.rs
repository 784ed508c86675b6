//! `nutdrv_qx -a <ups>`: the driver for Megatec/Q1 UPSes on a serial port (or a
//! USB-to-serial adapter's tty), serving their variables to upsd.
//!
//! Command line as NUT's drivers: `-a`, `-s`, `-x key=value`, `-k` (tell the UPS to cut
//! the load), `-d <n>` (print the variables after n updates and exit), `-D`, `-F`, `-B`,
//! `-c exit|reload`. Goes to the background once its socket serves, unless `-F`/`-D`.

use clap::Parser;
use nut_bins::confload::signal_exit;
use nut_bins::driver::DriverArgs;
use nut_bins::qx::{dump, kill_power, run_qx, wire, DRIVER_NAME};
use nut_bins::real::{
    background, is_background_child, ready_actions, runtime, signals, RealSys, TokioNet,
};
use nut_bins::serial::SerialQx;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "nutdrv_qx",
    about = "Network UPS Tools driver for Megatec/Q1 UPSes (Rust)",
    version
)]
struct Args {
    /// UPS section of ups.conf to drive.
    #[arg(short = 'a')]
    ups: Option<String>,
    /// Standalone: run without ups.conf under this name (give -x port=...).
    #[arg(short = 's')]
    standalone: Option<String>,
    /// Extra driver option key=value or flag (repeatable).
    #[arg(short = 'x')]
    extra: Vec<String>,
    /// Kill power: tell the UPS to cut the load (shutdown.return) and exit.
    #[arg(short = 'k')]
    kill: bool,
    /// Print the variables after this many update loops and exit (NUT's -d).
    #[arg(short = 'd')]
    dump: Option<u32>,
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
    /// Read ups.conf and this UPS's section, print every problem, exit 1 on errors.
    #[arg(long = "check-config")]
    check_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new(DRIVER_NAME, args.debug > 0 || args.dump.is_some());
    let driver_args = DriverArgs {
        ups: args.ups.clone(),
        standalone: args.standalone.clone(),
        extra: args.extra.clone(),
    };
    let wiring = match wire(&sys, &env, &driver_args) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: {DRIVER_NAME} cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    if args.check_config {
        println!("{DRIVER_NAME}: UPS [{}]: configuration OK", wiring.ups);
        return ExitCode::SUCCESS;
    }
    let pidfile = PathBuf::from(env.pidfile(
        &wiring.statepath,
        &format!("{DRIVER_NAME}-{}.pid", wiring.ups),
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
        return signal_exit(args.pid, &pidfile, signal, DRIVER_NAME);
    }
    let (path, cablepower) = (wiring.port.clone(), wiring.cablepower);
    let open = move || SerialQx::open(&path, cablepower);
    if args.kill || args.dump.is_some() {
        let result = runtime().map_err(|e| e.to_string()).and_then(|rt| {
            rt.block_on(async {
                let mut port = open().map_err(|e| e.to_string())?;
                match args.dump {
                    Some(n) => dump(&sys, &wiring, &mut port, n).await,
                    None => kill_power(&sys, &wiring, &mut port).await,
                }
            })
        });
        return match result {
            Ok(text) if args.dump.is_some() => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Ok(message) => {
                eprintln!("{message}");
                ExitCode::SUCCESS
            }
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
            let port = open()?;
            let net = TokioNet::new(&wiring.statepath);
            run_qx(net, sys, wiring, port, ready, signals()?).await
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
