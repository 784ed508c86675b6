//! `upsdrvctl`: starts, stops and shuts down the UPS drivers of ups.conf, like NUT's.
//!
//! `start` runs each driver (`<driverpath>/<driver> -a <ups>`) and waits up to
//! `maxstartdelay` for it to go to the background, retrying `maxretry` times;
//! `stop` sends SIGTERM to the PID in `<driver>-<ups>.pid`; `shutdown` runs each
//! driver's `-k` in ascending `sdorder`. Exit status 1 when any driver failed.

use clap::Parser;
use nut_bins::real::RealSys;
use nut_bins::upsdrvctl::{execute, Launcher, Outcome, Request};
use nut_core::upsdrvctl::{PassThrough, Verb};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long `stop` waits for a driver to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(10);

use nut_bins::cli::upsdrvctl::Args;

struct Processes {
    debug: bool,
}

impl Launcher for Processes {
    fn run(&mut self, program: &str, args: &[String], limit: Duration) -> Result<Outcome, String> {
        if self.debug {
            eprintln!("exec: {program} {}", args.join(" "));
        }
        let mut child = std::process::Command::new(program)
            .args(args)
            .spawn()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(match status.code() {
                    Some(code) => Outcome::Exited(code),
                    None => Outcome::Signalled,
                });
            }
            if start.elapsed() >= limit {
                return Ok(Outcome::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self, pidfile: &str, driver: &str) -> Result<(), String> {
        let text =
            std::fs::read_to_string(pidfile).map_err(|e| format!("Can't open {pidfile}: {e}"))?;
        let pid: u32 = text
            .trim()
            .parse()
            .map_err(|_| format!("{pidfile} does not hold a PID"))?;
        // Only a PID file that names the driver itself is acted on.
        nut_bins::confload::signal_process(None, std::path::Path::new(pidfile), "TERM", driver)?;
        let start = Instant::now();
        while nut_bins::service::alive(pid) {
            if start.elapsed() >= STOP_WAIT {
                return Err(format!(
                    "Driver with PID {pid} did not exit within {} s",
                    STOP_WAIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn pause(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn say(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let verb = match args.command.as_str() {
        "start" => Verb::Start,
        "stop" => Verb::Stop,
        "shutdown" => Verb::Shutdown,
        other => {
            eprintln!("Error: unrecognized command [{other}]");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Network UPS Tools - UPS driver controller {}",
        env!("CARGO_PKG_VERSION")
    );
    let env = nut_bins::real::nut_env();
    let sys = RealSys::new("upsdrvctl", args.debug > 0);
    let request = Request {
        verb,
        ups: args.ups,
        pass: PassThrough {
            debug: if args.pass_debug { args.debug } else { 0 },
            foreground: if args.foreground {
                Some(true)
            } else if args.background {
                Some(false)
            } else {
                None
            },
            user: args.user,
            chroot: args.chroot,
        },
        test: args.test,
        own_dir: std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string())),
    };
    // One driver in the foreground (`-F start <ups>`): upsdrvctl becomes that driver,
    // as NUT's does, so a service manager supervises the driver itself.
    if verb == Verb::Start && args.foreground && request.ups.is_some() && !args.test {
        return exec_foreground(&sys, &env, &request);
    }
    let mut launcher = Processes {
        debug: args.debug > 0,
    };
    let exists = |path: &str| std::path::Path::new(path).exists();
    match execute(&sys, &env, &request, &mut launcher, exists) {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// Replaces this process with the one driver of `request` (`-F start <ups>`).
fn exec_foreground(sys: &RealSys, env: &nut_bins::wiring::NutEnv, request: &Request) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let conf = match nut_bins::wiring::load(sys, env, "ups.conf", nut_core::config::parse_ups_conf)
    {
        Ok(conf) => conf,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let launches = match nut_core::upsdrvctl::plan(
        &conf,
        Verb::Start,
        request.ups.as_deref(),
        &request.pass,
    ) {
        Ok(launches) => launches,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(launch) = launches.first() else {
        return ExitCode::FAILURE;
    };
    let program = nut_bins::upsdrvctl::driver_program(
        &conf,
        &launch.driver,
        request.own_dir.as_deref(),
        |p| std::path::Path::new(p).exists(),
    );
    let error = std::process::Command::new(&program)
        .args(&launch.args)
        .exec();
    eprintln!("Can't start {program}: {error}");
    ExitCode::FAILURE
}
