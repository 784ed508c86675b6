//! `nut-scanner -U`: lists the USB UPSes this project's drivers support, as ups.conf
//! sections (NUT's default and `-N`) or parsable lines (`-P`). With no bus option it
//! scans every bus this build has (`-C`): USB. Serial probing (`-S`), SNMP, XML, NUT
//! and IPMI scans: not yet.

use clap::Parser;
use nut_bins::cli::nut_scanner::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    // -U, -C and no bus option all scan USB: the only bus this build has.
    let _ = (args.usb, args.complete, args.nut_conf);
    let mut found = Vec::new();
    {
        // NUT prints this at debug level 0 unless -q (then it needs -D).
        if !args.quiet || args.debug > 0 {
            eprintln!("Scanning USB bus.");
        }
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
    if args.parsable {
        print!("{}", nut_core::scan::parsable(&found));
    } else {
        print!("{}", nut_core::scan::ups_conf(&found, 1));
    }
    ExitCode::SUCCESS
}
