//! `snmp-ups -a <ups>`: the driver for UPSes and PDUs with an SNMP management card,
//! serving their variables to upsd.
//!
//! Command line as NUT's drivers: `-a`, `-s`, `-x key=value`, `-k` (tell the UPS to cut
//! the load), `-d <n>` (print the variables after n updates and exit), `-D`, `-F`, `-B`,
//! `-c exit|reload`. Goes to the background once its socket serves, unless `-F`/`-D`.
//! `replay = <file>` in the section answers from a recorded walk (hw-fixtures/snmp)
//! instead of the network.

use clap::Parser;
use nut_bins::cli::snmp_ups::Args;
use nut_bins::drivercli::{exit, pidfile, serve_daemon};
use nut_bins::real::{runtime, signals, RealSys, TokioNet};
use nut_bins::snmp::{
    dump, kill_power, run_snmp, wire, ReplayAgent, SnmpPort, SnmpWiring, DRIVER_NAME,
};
use nut_bins::udp::UdpAgent;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// The agent: a recording, or the card on the network.
enum Port {
    Udp(UdpAgent),
    Replay(ReplayAgent),
}

impl SnmpPort for Port {
    async fn send(&mut self, request: Vec<u8>) -> io::Result<()> {
        match self {
            Port::Udp(p) => p.send(request).await,
            Port::Replay(p) => p.send(request).await,
        }
    }
    async fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        match self {
            Port::Udp(p) => p.recv(timeout).await,
            Port::Replay(p) => p.recv(timeout).await,
        }
    }
}

async fn open(wiring: &SnmpWiring) -> io::Result<Port> {
    match &wiring.replay {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| io::Error::other(format!("{path}: {e}")))?;
            ReplayAgent::new(&String::from_utf8_lossy(&bytes))
                .map(Port::Replay)
                .map_err(|e| io::Error::other(format!("{path}: {e}")))
        }
        None => UdpAgent::connect(&wiring.host).await.map(Port::Udp),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new(DRIVER_NAME, args.cli.debug > 0 || args.dump.is_some());
    let driver_args = args.cli.driver_args();
    let wiring = match wire(&sys, &env, &driver_args) {
        Ok(mut wiring) => {
            // SNMPv3 privacy salts must not repeat across restarts (RFC 3414 8.1.1.1).
            wiring.salt_seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            wiring
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: {DRIVER_NAME} cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
    if wiring.options.mibs == nut_core::snmpups::LIST_MIBS {
        print!("{}", nut_core::snmpups::list_mibs());
        return ExitCode::SUCCESS;
    }
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
                let port = open(&wiring).await.map_err(|e| e.to_string())?;
                match args.dump {
                    Some(n) => dump(&sys, &wiring, port, n).await,
                    None => kill_power(&sys, &wiring, port).await,
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
        let port = open(&wiring).await?;
        let net = TokioNet::new(&wiring.statepath);
        run_snmp(net, sys, wiring, port, ready, signals()?).await
    })
}
