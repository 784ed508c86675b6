//! `upsd`: the NUT data server.
//!
//! Like NUT's it goes to the background once it listens (the parent exits 0), unless
//! `-F` or `-D`; with `-u <user>` it drops root privileges right after binding its
//! ports; with `-r <dir>` it chroots there before reading its configuration (NUT's
//! order; the background parent leaves the chroot to its child). It writes its PID file (and refuses to start while that file names a live
//! upsd), tells systemd READY/STOPPING and answers its watchdog.

use clap::Parser;
use nut_bins::confload::{check, signal_exit};
use nut_bins::real::{background, is_background_child, runtime, signals, RealSys, TokioNet};
use nut_bins::service;
use nut_bins::upsd::{run_wired, wire};
use nut_bins::wiring::load;
use nut_core::config::{parse_ups_conf, parse_upsd_conf, parse_upsd_users};
use std::path::Path;
use std::process::ExitCode;

use nut_bins::cli::upsd::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let dir = Path::new(&env.confpath);
    if args.check_config {
        let ok = [
            check(dir, "upsd.conf", parse_upsd_conf),
            check(dir, "ups.conf", parse_ups_conf),
            check(dir, "upsd.users", parse_upsd_users),
            nut_bins::confload::check_if_present(dir, "nut.conf", nut_core::config::parse_nut_conf),
        ];
        return if ok.iter().all(|ok| *ok) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let sys = RealSys::new("upsd", args.debug > 0);
    if let Some(command) = &args.command {
        let signal = match command.as_str() {
            "reload" => "HUP",
            "stop" => "TERM",
            other => {
                eprintln!("Error: unknown command '{other}' (use reload or stop)");
                return ExitCode::FAILURE;
            }
        };
        // The PID file is in the state path, which ups.conf or upsd.conf may set.
        let from_config = load(&sys, &env, "ups.conf", parse_ups_conf)
            .ok()
            .and_then(|c| c.statepath)
            .or_else(|| {
                load(&sys, &env, "upsd.conf", parse_upsd_conf)
                    .ok()
                    .and_then(|c| c.statepath)
            });
        let pidfile = env.pidfile(&env.statepath(from_config.as_deref()), "upsd.pid");
        return signal_exit(args.pid, Path::new(&pidfile), signal, "upsd");
    }
    // Looked up before a chroot, where /etc/passwd may be missing (as NUT's upsd).
    let user = match args.user.as_deref().map(service::lookup_user).transpose() {
        Ok(user) => user,
        Err(e) => {
            nut_bins::real::fatal(&format!("Fatal error: -u: {e}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = &args.chroot {
        // As NUT's upsd, the chroot comes before the configuration is read. The parent
        // that goes to the background does not chroot (it starts the child from its
        // own program path): the child chroots, reads its files and reports.
        if args.foreground == 0 && args.debug == 0 && !is_background_child() {
            return background();
        }
        if let Err(e) = service::chroot_start(dir) {
            nut_bins::real::fatal(&format!("Fatal error: {e}"));
            return ExitCode::FAILURE;
        }
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id()).rotate_left(32);
    let mut wiring = match wire(&sys, &env, seed) {
        Ok(wiring) => wiring,
        Err(e) => {
            nut_bins::real::fatal(&e.to_string());
            nut_bins::real::fatal("Fatal error: upsd cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    if args.ipv4 || args.ipv6 {
        // An IPv6 address is written in brackets ([::1]:3493).
        let keep_v6 = args.ipv6;
        wiring
            .runtime
            .listen
            .retain(|addr| addr.starts_with('[') == keep_v6);
    }
    if let Some(addr) = &args.metrics {
        if addr.parse::<std::net::SocketAddr>().is_err() {
            nut_bins::real::fatal(&format!("Fatal error: --metrics {addr}: expected HOST:PORT with an IP address (e.g. 127.0.0.1:9199 or [::1]:9199)"));
            return ExitCode::FAILURE;
        }
        wiring.runtime.metrics = Some(addr.clone());
    }
    let announce = (!args.no_zeroconf).then(|| nut_bins::zeroconf::Announce {
        instance: args
            .zeroconf_name
            .clone()
            .unwrap_or_else(nut_bins::zeroconf::host_name),
        listen: wiring.runtime.listen.clone(),
        devices: wiring.runtime.core.ups_names(),
    });
    if let Some((limit, clients)) = service::raise_fd_limit(wiring.runtime.maxconn) {
        use nut_bins::seam::Sys;
        sys.event(nut_core::event::Event::FdLimit {
            maxconn: wiring.runtime.maxconn,
            limit,
            clients,
        });
    }
    let pidfile = wiring.pidfile.clone();
    if let Err(e) = service::check_not_running(Path::new(&pidfile), "upsd") {
        nut_bins::real::fatal(&e.to_string());
        return ExitCode::FAILURE;
    }
    if args.foreground == 0 && args.debug == 0 && !is_background_child() {
        return background();
    }
    let ready = service::on_ready("upsd", Some(pidfile.clone().into()), user);
    // One thread, like NUT's upsd. Measured with `cargo xtask bench` on 2 cores: the
    // multi-thread runtime answered fewer GET VAR and LIST VAR per second (the core's
    // mutex and cross-thread wakeups cost more than a second core brings, as nearly all
    // of a request's CPU is the kernel's TCP path) and had twice the p99 latency.
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            service::spawn_watchdog();
            let net = TokioNet::new(&wiring.statepath);
            // The announcer stops (saying goodbye) when upsd does.
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let announcer = announce.map(|what| {
                tokio::spawn(nut_bins::zeroconf::announce(sys.clone(), what, async {
                    let _ = stopped.await;
                }))
            });
            let result = run_wired(net, sys, env, wiring, signals()?, ready).await;
            let _ = stop.send(());
            if let Some(announcer) = announcer {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), announcer).await;
            }
            result
        })
    });
    service::sd_notify("STOPPING=1");
    service::remove_pidfile(Path::new(&pidfile));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            nut_bins::real::fatal(&format!("Fatal error: {e}"));
            ExitCode::FAILURE
        }
    }
}
