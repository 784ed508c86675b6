//! `usbhid-ups -a <ups>`: the driver for USB HID Power Device Class UPSes (APC Back-UPS
//! and Smart-UPS with USB, ...), serving their variables to upsd.
//!
//! Command line as NUT's drivers: `-a`, `-s`, `-x key=value`, `-k` (tell the UPS to cut
//! the load), `-d <n>` (print the variables after n updates and exit), `-D`, `-F`, `-B`,
//! `-c exit|reload`. Goes to the background once its socket serves, unless `-F`/`-D`.
//! `replay = <file>` in the section serves a recorded device (hw-fixtures/hid) instead
//! of USB.

use clap::Parser;
use nut_bins::cli::usbhid_ups::Args;
use nut_bins::drivercli::{exit, pidfile, serve_daemon};
use nut_bins::real::{runtime, signals, RealSys, TokioNet};
use nut_bins::usb::UsbHid;
use nut_bins::usbhid::{dump, kill_power, run_hid, wire, HidPort, HidWiring, ReplayHid};
use nut_core::hidups::DRIVER_NAME;
use std::process::ExitCode;

/// The device: a recording, or the USB unit the options select.
enum Port {
    Usb(UsbHid),
    Replay(ReplayHid),
}

impl HidPort for Port {
    fn device(&self) -> &nut_core::hidups::UsbDevice {
        match self {
            Port::Usb(p) => p.device(),
            Port::Replay(p) => p.device(),
        }
    }
    fn descriptor(&self) -> &[u8] {
        match self {
            Port::Usb(p) => p.descriptor(),
            Port::Replay(p) => p.descriptor(),
        }
    }
    async fn get_feature(&mut self, id: u8) -> Result<Vec<u8>, nut_core::hidups::ReadError> {
        match self {
            Port::Usb(p) => p.get_feature(id).await,
            Port::Replay(p) => p.get_feature(id).await,
        }
    }
    async fn get_string(&mut self, index: u8) -> Result<String, nut_core::hidups::ReadError> {
        match self {
            Port::Usb(p) => p.get_string(index).await,
            Port::Replay(p) => p.get_string(index).await,
        }
    }
    async fn set_feature(&mut self, report: Vec<u8>) -> Result<(), nut_core::hidups::ReadError> {
        match self {
            Port::Usb(p) => p.set_feature(report).await,
            Port::Replay(p) => p.set_feature(report).await,
        }
    }
    async fn interrupt(&mut self) -> Result<Option<Vec<u8>>, nut_core::hidups::ReadError> {
        match self {
            Port::Usb(p) => p.interrupt().await,
            Port::Replay(p) => p.interrupt().await,
        }
    }
    async fn reconnect(&mut self) -> Result<(), String> {
        match self {
            Port::Usb(p) => p.reconnect().await,
            Port::Replay(p) => p.reconnect().await,
        }
    }
}

fn open(wiring: &HidWiring) -> Result<Port, String> {
    match &wiring.replay {
        Some(path) => nut_bins::usb::open_replay(path)
            .map(Port::Replay)
            .map_err(|e| e.to_string()),
        None => UsbHid::open(&wiring.matcher).map(Port::Usb),
    }
}

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
    // NUT prints the HID tree from debug level 1 (HIDDumpTree).
    wiring.options.dump_tree = args.cli.debug > 0;
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
                let port = open(&wiring)?;
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
        let port = open(&wiring).map_err(std::io::Error::other)?;
        let net = TokioNet::new(&wiring.statepath);
        run_hid(net, sys, wiring, port, ready, signals()?).await
    })
}
