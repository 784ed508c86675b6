//! `nut-fake-ups <transcript>`: a fake serial UPS on a pseudo-terminal, answering from a
//! recorded transcript (hw-fixtures format). Prints the terminal's path, then serves
//! until stopped. Point a driver's `port` at the path to try a setup (or NUT's own
//! drivers) without hardware; `-v` logs every query on stderr.

use clap::Parser;
use nut_bins::fakeups::PtyUps;
use nut_core::transcript::Transcript;
use std::io::Write;
use std::process::ExitCode;

use nut_bins::cli::nut_fake_ups::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let text = match std::fs::read_to_string(&args.transcript) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", args.transcript.display());
            return ExitCode::FAILURE;
        }
    };
    let transcript = match Transcript::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", args.transcript.display());
            return ExitCode::FAILURE;
        }
    };
    let spawned = if args.apcsmart {
        PtyUps::spawn_apc(&transcript)
    } else {
        PtyUps::spawn(transcript)
    };
    let ups = match spawned {
        Ok(ups) => ups,
        Err(e) => {
            eprintln!("cannot open a pseudo-terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", ups.path());
    let _ = std::io::stdout().flush();
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if args.verbose {
            let received = ups.received();
            for query in &received[seen..] {
                eprintln!("> {}", String::from_utf8_lossy(query).escape_debug());
            }
            seen = received.len();
        }
    }
}
