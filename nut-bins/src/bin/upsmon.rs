//! `upsmon`: monitors UPSes through upsd and shuts the system down safely.

use clap::Parser;
use nut_bins::confload::{check, signal_exit, write_pidfile};
use nut_bins::real::{runtime, signals, RealSys, TokioNet};
use nut_bins::upsmon::{killpower_check, run_wired, wire, Killpower};
use nut_core::config::parse_upsmon_conf_for_startup;
use std::path::Path;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "upsmon", about = "Network UPS Tools upsmon (Rust)", version)]
struct Args {
    /// Send a command to the running upsmon: fsd, stop or reload (prefix accepted).
    #[arg(short = 'c')]
    command: Option<String>,
    /// PID to signal with -c instead of the PID file.
    #[arg(short = 'P')]
    pid: Option<u32>,
    /// Exit 0 if POWERDOWNFLAG exists and holds the magic text, else 1.
    #[arg(short = 'K')]
    killpower_check: bool,
    /// Single privileged process (this implementation always is one).
    #[arg(short = 'p')]
    privileged: bool,
    /// Debug (repeatable); implies foreground.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    debug: u8,
    /// Foreground (this implementation always stays in the foreground).
    #[arg(short = 'F')]
    foreground: bool,
    /// Background (accepted for compatibility).
    #[arg(short = 'B')]
    background: bool,
    /// Run as this user (accepted for compatibility; not changed).
    #[arg(short = 'u')]
    user: Option<String>,
    /// Parse upsmon.conf, print every problem as file:line, exit 1 on errors.
    #[arg(long = "check-config")]
    check_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    if args.check_config {
        let dir = Path::new(&env.confpath);
        return if check(dir, "upsmon.conf", parse_upsmon_conf_for_startup) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    // -c only signals the running upsmon; it needs no valid configuration (as NUT).
    let pidfile = env.pidfile(&env.statepath(None), "upsmon.pid");
    if let Some(command) = &args.command {
        let signal = if "fsd".starts_with(command.as_str()) {
            "USR1"
        } else if "stop".starts_with(command.as_str()) {
            "TERM"
        } else if "reload".starts_with(command.as_str()) {
            "HUP"
        } else {
            eprintln!("Error: unknown command '{command}' (use fsd, stop or reload)");
            return ExitCode::FAILURE;
        };
        return signal_exit(args.pid, Path::new(&pidfile), signal);
    }
    let sys = RealSys::new("upsmon", args.debug > 0);
    if args.killpower_check {
        return match killpower_check(&sys, &env) {
            Ok(Killpower::Set) => {
                eprintln!("{}", Killpower::Set.message());
                ExitCode::SUCCESS
            }
            Ok(other) => {
                eprintln!("{}", other.message());
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("{e}");
                eprintln!("Fatal error: unusable configuration");
                ExitCode::FAILURE
            }
        };
    }
    let wiring = match wire(&sys, &env) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: upsmon cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    write_pidfile(Path::new(&pidfile));
    let net = TokioNet::new(env.statepath(None));
    let result = runtime().and_then(|rt| {
        rt.block_on(async { run_wired(net, sys, env, wiring, signals()?).await })
    });
    let _ = std::fs::remove_file(&pidfile);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}
