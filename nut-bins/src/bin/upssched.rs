//! `upssched`: turns upsmon notifications into timers. Run by upsmon as NOTIFYCMD with
//! `UPSNAME` and `NOTIFYTYPE` in the environment and the message as the argument.

use clap::Parser;
use nut_bins::confload::check;
use nut_bins::real::{runtime, RealSys, TokioNet};
use nut_bins::upssched::{client, daemon, wire};
use nut_core::config::parse_upssched_conf;
use nut_core::upssched::Notice;
use std::path::Path;
use std::process::{ExitCode, Stdio};

/// The hidden argument the client gives the timer daemon it starts.
const DAEMON_MARKER: &str = "--timer-daemon";

use nut_bins::cli::upssched::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    if args.check_config {
        return if check(
            Path::new(&env.confpath),
            "upssched.conf",
            parse_upssched_conf,
        ) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let sys = RealSys::new("upssched", args.debug > 0);
    let conf = match wire(&sys, &env) {
        Ok(conf) => conf,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: upssched cannot run with this configuration");
            return ExitCode::FAILURE;
        }
    };
    // Driver sockets are not used; the PIPEFN path is absolute or relative to here.
    let net = TokioNet::new(".");
    if args.timer_daemon {
        return match runtime().and_then(|rt| rt.block_on(daemon(net, sys, conf))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Fatal error: timer daemon: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (Ok(upsname), Ok(notifytype)) = (std::env::var("UPSNAME"), std::env::var("NOTIFYTYPE"))
    else {
        println!("Error: environment variables UPSNAME and NOTIFYTYPE must be set.");
        println!("This program should only be run from upsmon(8).");
        return ExitCode::FAILURE;
    };
    let notice = Notice {
        notifytype,
        upsname,
        message: args.message.unwrap_or_default(),
    };
    let result = runtime().map_err(|e| e.to_string()).and_then(|rt| {
        rt.block_on(client(&net, &sys, &conf, &notice, || async {
            start_daemon(args.debug)
        }))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the timer daemon as a new process of this program, detached from upsmon's
/// process group, with no terminal; the client then waits for its socket.
fn start_daemon(debug: u8) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let mut command = std::process::Command::new(exe);
    command
        .arg(DAEMON_MARKER)
        .env_remove("UPSNAME")
        .env_remove("NOTIFYTYPE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if debug > 0 {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .process_group(0);
    // The daemon outlives this process; it is not waited for.
    command.spawn().map(drop)
}
