//! upsdrvctl's decisions, sans IO: which drivers a command concerns, in which order,
//! with which command line, retries and timeouts (NUT's drivers/upsdrvctl.c).
//!
//! `start` and `stop` take the ups.conf sections in file order; `shutdown` takes them by
//! ascending `sdorder` (file order within one value) and leaves out `sdorder = -1`.
//! NUT 2.8.3 and later forget to restart the section list for each sdorder value, so
//! only sdorder 0 is shut down there; this implementation does what the documentation
//! says (and 2.8.0 does): every sdorder value in turn.

use crate::config::{UpsConf, UpsSection};

/// NUT's default `maxstartdelay` in seconds.
pub const DEFAULT_MAXSTARTDELAY_S: u64 = 75;
/// NUT's default `maxretry`.
pub const DEFAULT_MAXRETRY: u32 = 1;
/// NUT's default `retrydelay` in seconds.
pub const DEFAULT_RETRYDELAY_S: u64 = 5;

/// What upsdrvctl is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Start drivers (each backgrounds itself when ready).
    Start,
    /// Stop running drivers (SIGTERM through their PID files).
    Stop,
    /// Run each driver's `-k` (kill power) in sdorder.
    Shutdown,
}

/// Options upsdrvctl passes on to drivers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassThrough {
    /// `-d`: debug level passed to drivers (as `-D...`).
    pub debug: u8,
    /// `-F` (true) or `-B` (false) for drivers; `None` lets them choose.
    pub foreground: Option<bool>,
    /// `-u <user>`.
    pub user: Option<String>,
    /// `-r <chroot>`.
    pub chroot: Option<String>,
}

/// One driver launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// UPS section name.
    pub ups: String,
    /// Driver program name (`dummy-ups`, `usbhid-ups`, ...).
    pub driver: String,
    /// Arguments after the program path.
    pub args: Vec<String>,
    /// How long to wait for the driver to background itself (or, for `-k`, to finish).
    pub maxstartdelay_s: u64,
    /// Attempts in all (NUT's `maxretry`; at least 1).
    pub attempts: u32,
    /// Pause between attempts in seconds.
    pub retrydelay_s: u64,
    /// The driver's PID file name (`<driver>-<ups>.pid`) in the PID directory.
    pub pidfile: String,
}

fn number<T: std::str::FromStr>(section: &UpsSection, key: &str) -> Option<T> {
    section.option(key).and_then(|v| v.trim().parse().ok())
}

fn launch(conf: &UpsConf, section: &UpsSection, verb: Verb, pass: &PassThrough) -> Launch {
    let driver = section.driver.clone().unwrap_or_default();
    let mut args = Vec::new();
    if verb == Verb::Start && pass.debug > 0 {
        args.push(format!("-{}", "D".repeat(usize::from(pass.debug))));
    }
    if verb == Verb::Start {
        match pass.foreground {
            Some(true) => args.push("-F".to_string()),
            Some(false) => args.push("-B".to_string()),
            None => {}
        }
    }
    args.extend(["-a".to_string(), section.name.clone()]);
    if verb == Verb::Shutdown {
        args.push("-k".to_string());
    }
    if let Some(chroot) = &pass.chroot {
        args.extend(["-r".to_string(), chroot.clone()]);
    }
    if let Some(user) = &pass.user {
        args.extend(["-u".to_string(), user.clone()]);
    }
    let global_delay = if conf.maxstartdelay_s > 0 {
        conf.maxstartdelay_s
    } else {
        DEFAULT_MAXSTARTDELAY_S
    };
    Launch {
        ups: section.name.clone(),
        pidfile: format!("{driver}-{}.pid", section.name),
        driver,
        args,
        maxstartdelay_s: section.maxstartdelay_s.unwrap_or(global_delay),
        attempts: number::<u32>(section, "maxretry")
            .unwrap_or(if conf.maxretry > 0 {
                conf.maxretry
            } else {
                DEFAULT_MAXRETRY
            })
            .max(1),
        retrydelay_s: number(section, "retrydelay").unwrap_or(if conf.retrydelay_s > 0 {
            conf.retrydelay_s
        } else {
            DEFAULT_RETRYDELAY_S
        }),
    }
}

/// The launches of `verb` for every section, or for the one named `ups` (compared
/// exactly, as NUT's `strcmp`). The error is NUT's message.
pub fn plan(
    conf: &UpsConf,
    verb: Verb,
    ups: Option<&str>,
    pass: &PassThrough,
) -> Result<Vec<Launch>, String> {
    let sections: Vec<&UpsSection> = conf.upses.iter().filter(|s| s.driver.is_some()).collect();
    if sections.is_empty() {
        return Err("Error: no UPS definitions found in ups.conf".to_string());
    }
    if let Some(name) = ups {
        let section = sections
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("UPS {name} not found in ups.conf"))?;
        return Ok(vec![launch(conf, section, verb, pass)]);
    }
    if verb != Verb::Shutdown {
        return Ok(sections
            .iter()
            .map(|s| launch(conf, s, verb, pass))
            .collect());
    }
    let max = sections.iter().map(|s| s.sdorder).max().unwrap_or(0);
    let mut launches = Vec::new();
    for order in 0..=max {
        for section in sections.iter().filter(|s| s.sdorder == order) {
            launches.push(launch(conf, section, verb, pass));
        }
    }
    Ok(launches)
}

/// The instant commands a driver's `-k` tries, in order: the section's `sdcommands`
/// (comma-separated) or NUT's default (`shutdown.return`, falling back to
/// `load.off.delay`).
pub fn shutdown_commands(section: &UpsSection) -> Vec<String> {
    match section.option("sdcommands") {
        Some(list) => list
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        None => vec!["shutdown.return".to_string(), "load.off.delay".to_string()],
    }
}
