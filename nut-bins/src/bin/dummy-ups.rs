//! `dummy-ups -a <ups>`: serves a .dev/.seq file (or a `-x port=` file) to upsd.

use clap::Parser;
use nut_bins::confload::{confpath, load, statepath};
use nut_bins::driver::{run_dummy, DummyConfig, RepeaterSource};
use nut_bins::real::{FileSource, RealSys, TokioNet};
use nut_core::config::parse_ups_conf;
use nut_core::dummy::DummyMode;
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
    let conf_dir = confpath();
    let mut options: Vec<(String, Option<String>)> = Vec::new();
    let mut ups_statepath = None;
    let name = match (&args.ups, &args.standalone) {
        (Some(name), _) => {
            let conf = match load(&conf_dir, "ups.conf", parse_ups_conf) {
                Ok(conf) => conf,
                Err(e) => {
                    eprintln!("Fatal error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let Some(section) = conf.find(name) else {
                eprintln!("Fatal error: UPS [{name}] not found in ups.conf");
                return ExitCode::FAILURE;
            };
            options = section.options.clone();
            ups_statepath = conf.statepath.clone();
            section.name.clone()
        }
        (None, Some(name)) => name.clone(),
        (None, None) => {
            eprintln!("Error: specify a UPS with -a <name> (or -s <name> -x port=<file>)");
            return ExitCode::FAILURE;
        }
    };
    for extra in &args.extra {
        match extra.split_once('=') {
            Some((k, v)) => options.push((k.to_string(), Some(v.to_string()))),
            None => options.push((extra.clone(), None)),
        }
    }
    let option = |key: &str| {
        options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone())
    };
    if args.kill {
        println!("dummy-ups: kill power requested for [{name}]; a dummy UPS has no power to cut");
        return ExitCode::SUCCESS;
    }
    let Some(port) = option("port") else {
        eprintln!("Fatal error: no port given for UPS [{name}]");
        return ExitCode::FAILURE;
    };
    let repeater = port.contains('@') || option("mode").as_deref() == Some("repeater");
    let path = if port.starts_with('/') || port.starts_with("./") {
        PathBuf::from(&port)
    } else {
        conf_dir.join(&port)
    };
    let pollinterval_s = option("pollinterval")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let prefixed = |prefix: &str| -> Vec<(String, String)> {
        options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone()?)))
            .collect()
    };
    let config = DummyConfig {
        ups: name,
        mode: DummyMode::for_port(&port, option("mode").as_deref()),
        port,
        pollinterval_s,
        overrides: prefixed("override."),
        defaults: prefixed("default."),
    };
    let net = TokioNet::new(statepath(ups_statepath.as_deref()));
    let sys = RealSys::new("dummy-ups", args.debug > 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        eprintln!("Fatal error: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    let result = if repeater {
        let (ups, host, upstream_port) = match nut_core::config::parse_system_name(&config.port) {
            Ok(parts) => parts,
            Err(e) => {
                eprintln!("Fatal error: port = {}: {e}", config.port);
                return ExitCode::FAILURE;
            }
        };
        let addr = nut_bins::seam::socket_addr(&host, upstream_port);
        let source = RepeaterSource::new(net.clone(), &ups, &addr);
        runtime.block_on(until_stopped(run_dummy(net, sys, config, source)))
    } else {
        runtime.block_on(until_stopped(run_dummy(
            net,
            sys,
            config,
            FileSource::new(path),
        )))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the driver until it fails or SIGTERM. SIGHUP (a reload request) changes
/// nothing: the data file is re-read whenever it changes. Without a handler the signal
/// would kill the driver.
async fn until_stopped(
    driver: impl std::future::Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::pin!(driver);
    loop {
        tokio::select! {
            result = &mut driver => return result,
            _ = hup.recv() => {}
            _ = term.recv() => return Ok(()),
        }
    }
}
