//! `upsd`: the NUT data server.

use clap::Parser;
use nut_bins::confload::{check, confpath, load, pidpath, signal_exit, statepath, write_pidfile};
use nut_bins::real::{RealSys, TokioNet};
use nut_bins::tls::acceptor_from_pem;
use nut_bins::upsd::{serve, Reload, UpsdRuntime};
use nut_core::config::{parse_ups_conf, parse_upsd_conf, parse_upsd_users, UpsConf, UpsdConf};
use nut_core::desc::Descriptions;
use nut_core::upsd::{UpsDefinition, UpsdCore, UpsdSettings};
use std::process::ExitCode;

/// Most clients when upsd.conf sets no MAXCONN.
const DEFAULT_MAXCONN: usize = 16_384;
/// Where Debian installs NUT's description table.
const SYSTEM_CMDVARTAB: &str = "/usr/share/nut/cmdvartab";

#[derive(Parser, Debug)]
#[command(name = "upsd", about = "Network UPS Tools upsd (Rust)", version)]
struct Args {
    /// Send a command to the running upsd: reload or stop.
    #[arg(short = 'c')]
    command: Option<String>,
    /// PID to signal with -c instead of the PID file.
    #[arg(short = 'P')]
    pid: Option<u32>,
    /// Debug (repeatable); implies foreground.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    debug: u8,
    /// Foreground (this implementation always stays in the foreground).
    #[arg(short = 'F', action = clap::ArgAction::Count)]
    foreground: u8,
    /// Background (accepted for compatibility).
    #[arg(short = 'B')]
    background: bool,
    /// Run as this user (accepted for compatibility; not changed).
    #[arg(short = 'u')]
    user: Option<String>,
    /// Parse the configuration, print every problem as file:line, exit 1 on errors.
    #[arg(long = "check-config")]
    check_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = confpath();
    if args.check_config {
        let ok = [
            check(&dir, "upsd.conf", parse_upsd_conf),
            check(&dir, "ups.conf", parse_ups_conf),
            check(&dir, "upsd.users", parse_upsd_users),
        ];
        return if ok.iter().all(|ok| *ok) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let configs = (|| {
        Ok::<_, String>((
            load(&dir, "upsd.conf", parse_upsd_conf)?,
            load(&dir, "ups.conf", parse_ups_conf)?,
            load(&dir, "upsd.users", parse_upsd_users)?,
        ))
    })();
    let (upsd_conf, ups_conf, users) = match configs {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = statepath(
        ups_conf
            .statepath
            .as_deref()
            .or(upsd_conf.statepath.as_deref()),
    );
    let pidfile = pidpath(&state).join("upsd.pid");
    if let Some(command) = &args.command {
        let signal = match command.as_str() {
            "reload" => "HUP",
            "stop" => "TERM",
            other => {
                eprintln!("Error: unknown command '{other}' (use reload or stop)");
                return ExitCode::FAILURE;
            }
        };
        return signal_exit(args.pid, &pidfile, signal);
    }
    let upses = definitions(&ups_conf);
    if upses.is_empty() && !upsd_conf.allow_no_device {
        eprintln!("Fatal error: at least one UPS must be defined in ups.conf");
        return ExitCode::FAILURE;
    }
    let datapath_table = upsd_conf
        .datapath
        .as_ref()
        .map(|d| std::path::Path::new(d).join("cmdvartab"));
    let descriptions = [datapath_table, Some(SYSTEM_CMDVARTAB.into())]
        .into_iter()
        .flatten()
        .find_map(|path| std::fs::read(path).ok())
        .map(|text| Descriptions::parse(&text))
        .unwrap_or_else(Descriptions::builtin);
    let settings = settings_of(&upsd_conf);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id()).rotate_left(32);
    let tls = match &upsd_conf.certfile {
        None => None,
        Some(path) => {
            let loaded = std::fs::read(path)
                .map_err(|e| format!("CERTFILE {path}: {e}"))
                .and_then(|pem| acceptor_from_pem(path, &pem));
            match loaded {
                Ok(acceptor) => Some(acceptor),
                Err(e) => {
                    eprintln!("Fatal error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let core = UpsdCore::new(upses, users, settings, descriptions, seed);
    let listen = upsd_conf
        .listen_or_default()
        .into_iter()
        .map(|l| nut_bins::seam::socket_addr(&l.addr, l.port))
        .collect();
    let runtime = UpsdRuntime {
        listen,
        core,
        maxconn: upsd_conf.maxconn.unwrap_or(DEFAULT_MAXCONN),
        tls,
    };
    write_pidfile(&pidfile);
    let net = TokioNet::new(state);
    let sys = RealSys::new("upsd", args.debug > 0);
    // One thread, like NUT's upsd. Measured with `cargo xtask bench` on 2 cores: the
    // multi-thread runtime answered fewer GET VAR and LIST VAR per second (the core's
    // mutex and cross-thread wakeups cost more than a second core brings, as nearly all
    // of a request's CPU is the kernel's TCP path) and had twice the p99 latency.
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
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<Reload>(4);
        let server = serve(net, sys, runtime, reload_rx);
        tokio::pin!(server);
        loop {
            tokio::select! {
                result = &mut server => return result,
                _ = term.recv() => { eprintln!("upsd: Signal 15: exiting"); return Ok(()) }
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = hup.recv() => match reload(&dir) {
                    Ok(apply) => { let _ = reload_tx.send(apply).await; }
                    Err(e) => eprintln!("upsd: reload failed, keeping the old configuration: {e}"),
                },
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

fn definitions(ups_conf: &UpsConf) -> Vec<UpsDefinition> {
    ups_conf
        .upses
        .iter()
        .filter_map(|s| {
            Some(UpsDefinition {
                name: s.name.clone(),
                driver: s.driver.clone()?,
                desc: s.desc.clone(),
            })
        })
        .collect()
}

fn settings_of(upsd_conf: &UpsdConf) -> UpsdSettings {
    UpsdSettings {
        maxage_s: upsd_conf.maxage_s,
        trackingdelay_s: upsd_conf.trackingdelay_s,
        tls_configured: upsd_conf.certfile.is_some(),
    }
}

/// Re-reads ups.conf, upsd.conf (not LISTEN) and upsd.users for `upsd -c reload`.
fn reload(dir: &std::path::Path) -> Result<Reload, String> {
    let upsd_conf = load(dir, "upsd.conf", parse_upsd_conf)?;
    let ups_conf = load(dir, "ups.conf", parse_ups_conf)?;
    let users = load(dir, "upsd.users", parse_upsd_users)?;
    let upses = definitions(&ups_conf);
    let settings = settings_of(&upsd_conf);
    Ok(Box::new(move |core: &mut UpsdCore| {
        core.reload(upses, users, settings)
    }))
}
