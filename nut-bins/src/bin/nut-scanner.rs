//! `nut-scanner`: lists the UPSes this project's drivers support, as ups.conf sections
//! (NUT's default and `-N`) or parsable lines (`-P`). `-U` scans USB; `-E <ports>`
//! probes serial ports for Megatec/Q1 units (nutdrv_qx) and APC Smart units (apcsmart),
//! only on request as in NUT. With no bus option it scans every bus but serial (`-C`):
//! USB. SNMP, XML, NUT and IPMI scans: not yet.

use clap::Parser;
use nut_bins::cli::nut_scanner::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = args.nut_conf;
    // NUT prints the bus being scanned at debug level 0 unless -q (then it needs -D).
    let say = |text: &str| {
        if !args.quiet || args.debug > 0 {
            eprintln!("{text}");
        }
    };
    let mut found = Vec::new();
    let usb = args.usb || args.complete || args.serial.is_none();
    if usb {
        say("Scanning USB bus.");
        match nut_bins::usb::enumerate() {
            Ok((devices, skipped)) => {
                for line in skipped {
                    eprintln!("{line}");
                }
                found.extend(nut_core::scan::usb(&devices));
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    if let Some(range) = &args.serial {
        say("Scanning serial bus for Eaton devices.");
        let ports = match nut_core::scan::serial_ports(range) {
            Ok(ports) => ports,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let probed = nut_bins::real::runtime().map(|rt| {
            rt.block_on(async {
                let mut out = Vec::new();
                for port in &ports {
                    if let Some(driver) = nut_bins::serial::probe(port).await {
                        out.push(nut_core::scan::serial(port, driver));
                    }
                }
                out
            })
        });
        match probed {
            Ok(units) => found.extend(units),
            Err(e) => eprintln!("{e}"),
        }
    }
    if args.parsable {
        print!("{}", nut_core::scan::parsable(&found));
    } else {
        print!("{}", nut_core::scan::ups_conf(&found, 1));
    }
    ExitCode::SUCCESS
}
