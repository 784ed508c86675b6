//! `nutdrv_qx -a <ups>`: the driver for Megatec/Q1 UPSes on a serial port (or a
//! USB-to-serial adapter's tty), serving their variables to upsd.
//!
//! Command line as NUT's drivers: `-a`, `-s`, `-x key=value`, `-k` (tell the UPS to cut
//! the load), `-d <n>` (print the variables after n updates and exit), `-D`, `-F`, `-B`,
//! `-c exit|reload`. Goes to the background once its socket serves, unless `-F`/`-D`.

use clap::Parser;
use nut_bins::drivercli::{exit, pidfile, serve_daemon};
use nut_bins::qx::{dump, kill_power, run_qx, wire, DRIVER_NAME};
use nut_bins::qx::{QxPort, QxWiring};
use nut_bins::real::{runtime, signals, RealSys, TokioNet};
use nut_bins::serial::SerialQx;
use nut_bins::usb::{open_bridge, BridgeQx, RusbBridge};
use std::process::ExitCode;

/// The unit: on a serial line, or on USB behind a bridge (`port = auto`).
enum Port {
    Serial(SerialQx),
    Usb(BridgeQx<RusbBridge>),
}

impl QxPort for Port {
    async fn transact(&mut self, query: Vec<u8>) -> nut_core::qx::Reply {
        match self {
            Port::Serial(p) => p.transact(query).await,
            Port::Usb(p) => p.transact(query).await,
        }
    }
}

/// Opens the unit the wiring names; a USB unit's IDs join the variables (NUT sets
/// ups.vendorid and ups.productid once it has the device).
fn open(wiring: &mut QxWiring) -> std::io::Result<Port> {
    match wiring.usb.clone() {
        Some(spec) => {
            let (mut io, bridge, dev) = open_bridge(&spec).map_err(std::io::Error::other)?;
            if spec.scan_langid {
                let _ = nut_core::qxusb::scan_langid(&mut io);
            }
            wiring
                .initial
                .push(("ups.vendorid".to_string(), format!("{:04x}", dev.vendor_id)));
            wiring.initial.push((
                "ups.productid".to_string(),
                format!("{:04x}", dev.product_id),
            ));
            let langid = spec.langid_fix;
            // Reopen exactly this unit (NUT's reopen_matcher).
            let exact = nut_core::qxusb::QxUsbSpec {
                matcher: nut_core::hidups::Matcher::exact(&dev),
                bridge: Some(bridge),
                langid_fix: langid,
                // NUT reads the language list at start-up only.
                scan_langid: false,
            };
            let reopen = Box::new(move || open_bridge(&exact).ok().map(|(io, _, _)| io));
            Ok(Port::Usb(BridgeQx::new(io, bridge, langid, reopen)))
        }
        None => SerialQx::open(&wiring.port, wiring.cablepower).map(Port::Serial),
    }
}

use nut_bins::cli::nutdrv_qx::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new(DRIVER_NAME, args.cli.debug > 0 || args.dump.is_some());
    let driver_args = args.cli.driver_args();
    let mut wiring = match wire(&sys, &env, &driver_args) {
        Ok(wiring) => wiring,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fatal error: {DRIVER_NAME} cannot start with this configuration");
            return ExitCode::FAILURE;
        }
    };
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
                let mut port = open(&mut wiring).map_err(|e| e.to_string())?;
                match args.dump {
                    Some(n) => dump(&sys, &wiring, &mut port, n).await,
                    None => kill_power(&sys, &wiring, &mut port).await,
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
        let port = open(&mut wiring)?;
        let net = TokioNet::new(&wiring.statepath);
        run_qx(net, sys, wiring, port, ready, signals()?).await
    })
}
