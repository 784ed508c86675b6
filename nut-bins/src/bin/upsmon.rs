//! `upsmon`: monitors UPSes through upsd and shuts the system down safely.

use clap::Parser;
use nut_bins::confload::{check, confpath, load, pidpath, signal_exit, statepath, write_pidfile};
use nut_bins::real::{RealSys, TokioNet};
use nut_bins::upsmon::{run, Control, Reload};
use nut_core::config::parse_upsmon_conf_for_startup;
use nut_core::upsmon::POWERDOWNFLAG_MAGIC;
use std::process::ExitCode;
use tokio::sync::watch;

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
    let dir = confpath();
    if args.check_config {
        return if check(&dir, "upsmon.conf", parse_upsmon_conf_for_startup) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    // -c only signals the running upsmon; it needs no valid configuration (as NUT).
    let pidfile = pidpath(&statepath(None)).join("upsmon.pid");
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
        return signal_exit(args.pid, &pidfile, signal);
    }
    let conf = match load(&dir, "upsmon.conf", parse_upsmon_conf_for_startup) {
        Ok(conf) => conf,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.killpower_check {
        let set = conf
            .powerdownflag
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .is_some_and(|c| c.starts_with(POWERDOWNFLAG_MAGIC.as_bytes()));
        return if set {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let tls = match tls_connector(&conf) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::FAILURE;
        }
    };
    write_pidfile(&pidfile);
    let sys = RealSys::new("upsmon", args.debug > 0);
    let net = TokioNet::new(statepath(None));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Fatal error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (control_tx, control_rx) = watch::channel(Control::default());
        let mut usr1 = signal(SignalKind::user_defined1())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<Reload>(4);
        let monitor = run(net, sys, conf, control_rx, tls, reload_rx);
        tokio::pin!(monitor);
        loop {
            tokio::select! {
                result = &mut monitor => return result,
                _ = usr1.recv() => { control_tx.send_modify(|c| c.fsd = true); }
                _ = hup.recv() => {
                    // A config that would not start upsmon is refused; the running
                    // one stays in force (NUT's upsmon does the same).
                    match reload_conf(&dir) {
                        Ok(reload) => { let _ = reload_tx.try_send(reload); }
                        Err(e) => eprintln!("upsmon: reload failed, keeping the running configuration: {e}"),
                    }
                }
                _ = term.recv() => { eprintln!("upsmon: Signal 15: exiting"); return Ok(()); }
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
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

/// Re-reads upsmon.conf for `-c reload`.
fn reload_conf(dir: &std::path::Path) -> Result<Reload, String> {
    let conf = load(dir, "upsmon.conf", parse_upsmon_conf_for_startup)?;
    let tls = tls_connector(&conf)?;
    Ok(Reload { conf, tls })
}

/// The TLS client when upsmon.conf asks for it (FORCESSL, CERTVERIFY or CERTPATH).
/// CERTPATH is a PEM file or a directory of PEM files holding the trusted CAs.
fn tls_connector(
    conf: &nut_core::config::UpsmonConf,
) -> Result<Option<tokio_rustls::TlsConnector>, String> {
    if !conf.forcessl && !conf.certverify && conf.certpath.is_none() {
        return Ok(None);
    }
    let pems = match &conf.certpath {
        Some(path) => nut_bins::tls::read_trust_pems(path, "CERTPATH")?,
        None => Vec::new(),
    };
    nut_bins::tls::connector(&pems, conf.certverify).map(Some)
}
