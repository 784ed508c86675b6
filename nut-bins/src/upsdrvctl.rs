//! The upsdrvctl shell: runs nut-core's plan (`nut_core::upsdrvctl`) through a
//! [`Launcher`], with NUT's retries, timeouts, messages and exit status. The real binary
//! launches driver processes; the simulation runs the driver's `-k` code in process.
//! Also the late-shutdown hook (`upsmon -K && upsdrvctl shutdown`) as one function.

use crate::seam::Sys;
use crate::wiring::{load, NutEnv};
use nut_core::config::{parse_ups_conf, UpsConf};
use nut_core::upsdrvctl::{plan, Launch, PassThrough, Verb};
use std::time::Duration;

/// Where NUT's own drivers live on Debian, tried when a driver is not found next to
/// upsdrvctl and ups.conf sets no `driverpath`.
pub const NUT_DRIVERPATH: &str = "/lib/nut";

/// How a driver run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited with this status (a backgrounding driver: its parent).
    Exited(i32),
    /// It was killed by a signal.
    Signalled,
    /// It did not exit within the time allowed.
    TimedOut,
}

/// Runs driver programs.
pub trait Launcher {
    /// Runs `program` with `args` and waits at most `limit` for it to exit.
    fn run(&mut self, program: &str, args: &[String], limit: Duration) -> Result<Outcome, String>;
    /// Stops the driver program `driver` whose PID file is `pidfile`; the error is the
    /// message to log.
    fn stop(&mut self, pidfile: &str, driver: &str) -> Result<(), String>;
    /// Waits between attempts.
    fn pause(&mut self, duration: Duration);
    /// A line for the user (stderr for real).
    fn say(&mut self, line: &str);
}

/// What upsdrvctl was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// start, stop or shutdown.
    pub verb: Verb,
    /// One UPS, or all.
    pub ups: Option<String>,
    /// Passed to drivers.
    pub pass: PassThrough,
    /// `-t`: say what would be done, do nothing.
    pub test: bool,
    /// Directory of upsdrvctl's own program (our drivers live beside it).
    pub own_dir: Option<String>,
}

/// The path of `driver`: `driverpath` from ups.conf, else beside upsdrvctl when there,
/// else NUT's directory. `exists` says whether a path exists.
pub fn driver_program(
    conf: &UpsConf,
    driver: &str,
    own_dir: Option<&str>,
    exists: impl Fn(&str) -> bool,
) -> String {
    if let Some(dir) = &conf.driverpath {
        return format!("{}/{driver}", dir.trim_end_matches('/'));
    }
    if let Some(dir) = own_dir {
        let beside = format!("{}/{driver}", dir.trim_end_matches('/'));
        if exists(&beside) {
            return beside;
        }
    }
    format!("{NUT_DRIVERPATH}/{driver}")
}

/// Runs a request; returns the exit status (0 when every driver did what was asked).
pub fn execute<S: Sys, L: Launcher>(
    sys: &S,
    env: &NutEnv,
    request: &Request,
    launcher: &mut L,
    exists: impl Fn(&str) -> bool,
) -> i32 {
    let conf = match load(sys, env, "ups.conf", parse_ups_conf) {
        Ok(conf) => conf,
        Err(e) => {
            launcher.say(&e);
            return 1;
        }
    };
    let launches = match plan(&conf, request.verb, request.ups.as_deref(), &request.pass) {
        Ok(launches) => launches,
        Err(e) => {
            launcher.say(&e);
            return 1;
        }
    };
    if request.test {
        launcher.say("*** Testing mode: not calling exec/kill/signal");
    }
    let statepath = env.statepath(conf.statepath.as_deref());
    let mut errors = 0;
    for launch in &launches {
        let program = driver_program(&conf, &launch.driver, request.own_dir.as_deref(), &exists);
        let ok = match request.verb {
            Verb::Stop => {
                let pidfile = env.pidfile(&statepath, &launch.pidfile);
                if request.test {
                    launcher.say(&format!(
                        "Stopping UPS: {} (PID file {pidfile})",
                        launch.ups
                    ));
                    true
                } else {
                    match launcher.stop(&pidfile, &launch.driver) {
                        Ok(()) => true,
                        Err(e) => {
                            launcher.say(&e);
                            false
                        }
                    }
                }
            }
            Verb::Start | Verb::Shutdown => run_with_retries(launcher, &program, launch, request),
        };
        if !ok {
            errors += 1;
        }
    }
    i32::from(errors > 0)
}

fn run_with_retries<L: Launcher>(
    launcher: &mut L,
    program: &str,
    launch: &Launch,
    request: &Request,
) -> bool {
    let what = match request.verb {
        Verb::Shutdown => "Shutdown UPS",
        _ => "Starting UPS",
    };
    launcher.say(&format!("{what}: {}", launch.ups));
    if request.test {
        launcher.say(&format!("exec: {program} {}", launch.args.join(" ")));
        return true;
    }
    let limit = Duration::from_secs(launch.maxstartdelay_s.max(1));
    for attempt in 1..=launch.attempts {
        let failure = match launcher.run(program, &launch.args, limit) {
            Ok(Outcome::Exited(0)) => return true,
            Ok(Outcome::Exited(code)) => format!("Driver failed to start (exit status={code})"),
            Ok(Outcome::Signalled) => "Driver exited abnormally".to_string(),
            Ok(Outcome::TimedOut) => {
                "Startup timer elapsed and the child process did not change state".to_string()
            }
            Err(e) => format!("Can't start {program}: {e}"),
        };
        launcher.say(&failure);
        if attempt < launch.attempts {
            launcher.pause(Duration::from_secs(launch.retrydelay_s));
        }
    }
    false
}

/// The late-shutdown hook NUT installs (`upsmon -K && upsdrvctl shutdown`): when
/// POWERDOWNFLAG holds upsmon's magic, every driver's `-k` runs in sdorder. Returns
/// whether the flag was set and upsdrvctl's exit status.
pub fn late_shutdown<S: Sys, L: Launcher>(
    sys: &S,
    env: &NutEnv,
    launcher: &mut L,
    exists: impl Fn(&str) -> bool,
) -> (bool, i32) {
    match crate::upsmon::killpower_check(sys, env) {
        Ok(crate::upsmon::Killpower::Set) => {
            let request = Request {
                verb: Verb::Shutdown,
                ups: None,
                pass: PassThrough::default(),
                test: false,
                own_dir: None,
            };
            (true, execute(sys, env, &request, launcher, exists))
        }
        _ => (false, 0),
    }
}
