//! `upsmon`: monitors UPSes through upsd and shuts the system down safely.
//!
//! As root with RUN_AS_USER (or `-u`) and without `-p`, it splits like NUT's upsmon: a
//! root parent that alone writes POWERDOWNFLAG and runs SHUTDOWNCMD, and a child
//! running as that user that does everything else (see `nut_bins::privsep`). Like NUT
//! it goes to the background unless `-F` or `-D`, writes upsmon.pid and refuses to
//! start while that file names a live upsmon.

use clap::Parser;
use nut_bins::confload::{check, signal_exit};
use nut_bins::real::{background, is_background_child, runtime, signals, RealSys, TokioNet};
use nut_bins::upsmon::{killpower_check, run_controlled, wire, Control, Killpower};
use nut_bins::{privsep, service};
use nut_core::config::parse_upsmon_conf_for_startup;
use std::path::Path;
use std::process::ExitCode;

use nut_bins::cli::upsmon::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    if args.check_config {
        let dir = Path::new(&env.confpath);
        let nut_conf =
            nut_bins::confload::check_if_present(dir, "nut.conf", nut_core::config::parse_nut_conf);
        return if check(dir, "upsmon.conf", parse_upsmon_conf_for_startup) && nut_conf {
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
        return signal_exit(args.pid, Path::new(&pidfile), signal, "upsmon");
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
    let family = match (args.ipv4, args.ipv6) {
        (true, false) => Some(false),
        (false, true) => Some(true),
        _ => None,
    };
    let net = TokioNet::new(env.statepath(None)).with_family(family);
    if privsep::is_child() {
        // The unprivileged half: monitor and decide; the parent does the shutdown.
        let result = runtime().and_then(|rt| {
            rt.block_on(async {
                let (control_tx, control_rx) = tokio::sync::watch::channel(Control::default());
                let child = privsep::child_sys(sys, &wiring.conf, control_tx.clone())?;
                run_controlled(net, child, env, wiring, signals()?, control_tx, control_rx).await
            })
        });
        return exit_code(result);
    }
    let user_name = args
        .user
        .clone()
        .or_else(|| wiring.conf.run_as_user.clone());
    let split = !args.privileged
        && service::euid() == 0
        && user_name.as_deref().is_some_and(|u| u != "root");
    let user = match user_name
        .as_deref()
        .filter(|_| split)
        .map(service::lookup_user)
    {
        None => None,
        Some(Ok(user)) => Some(user),
        Some(Err(e)) => {
            eprintln!("Fatal error: RUN_AS_USER: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = service::check_not_running(Path::new(&pidfile), "upsmon") {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    if args.foreground == 0 && args.debug == 0 && !is_background_child() {
        return background();
    }
    let ready = service::on_ready("upsmon", Some(pidfile.clone().into()), None);
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            service::spawn_watchdog();
            match &user {
                Some(user) => {
                    let status = privsep::run_parent(user, &wiring.conf, &sys, ready).await?;
                    if status == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::other("the monitoring process exited"))
                    }
                }
                None => {
                    if let Some(ready) = ready {
                        ready();
                    }
                    let (control_tx, control_rx) = tokio::sync::watch::channel(Control::default());
                    run_controlled(net, sys, env, wiring, signals()?, control_tx, control_rx).await
                }
            }
        })
    });
    service::sd_notify("STOPPING=1");
    service::remove_pidfile(Path::new(&pidfile));
    exit_code(result)
}

fn exit_code(result: std::io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}
