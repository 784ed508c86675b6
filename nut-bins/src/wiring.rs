//! One wiring: what turns a daemon's config files, environment and command line into the
//! runtime it runs. The binaries and the simulation both start daemons through the
//! `process` functions of [`crate::upsd`], [`crate::upsmon`] and [`crate::driver`], which
//! read the config files through [`Sys::read_config`]; the simulation writes each host's
//! files and never builds a daemon's runtime itself (checked by the tidy test).

use crate::seam::Sys;
use nut_core::config::{Parsed, Severity};
use nut_core::event::Event;

/// Debian's config directory.
pub const DEFAULT_CONFPATH: &str = "/etc/nut";
/// Debian's state directory (driver sockets).
pub const DEFAULT_STATEPATH: &str = "/run/nut";

/// The environment NUT's programs read (`NUT_CONFPATH`, `NUT_STATEPATH`,
/// `NUT_ALTPIDPATH`), as explicit values so the simulation can give its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NutEnv {
    /// Config directory.
    pub confpath: String,
    /// `NUT_STATEPATH`, which beats the config files' STATEPATH.
    pub statepath: Option<String>,
    /// `NUT_ALTPIDPATH`: where PID files go instead of the state path.
    pub altpidpath: Option<String>,
}

impl Default for NutEnv {
    fn default() -> Self {
        NutEnv {
            confpath: DEFAULT_CONFPATH.to_string(),
            statepath: None,
            altpidpath: None,
        }
    }
}

impl NutEnv {
    /// The path of config file `name`.
    pub fn conf(&self, name: &str) -> String {
        format!("{}/{name}", self.confpath.trim_end_matches('/'))
    }

    /// A path from a config file: absolute as given, else relative to the config dir.
    pub fn resolve(&self, path: &str) -> String {
        if path.starts_with('/') || path.starts_with("./") {
            path.to_string()
        } else {
            self.conf(path)
        }
    }

    /// The state directory: `NUT_STATEPATH`, else the config's STATEPATH, else Debian's.
    pub fn statepath(&self, from_config: Option<&str>) -> String {
        self.statepath
            .clone()
            .or_else(|| from_config.map(str::to_string))
            .unwrap_or_else(|| DEFAULT_STATEPATH.to_string())
    }

    /// The PID file `name` (`upsd.pid`, ...) for a state directory.
    pub fn pidfile(&self, statepath: &str, name: &str) -> String {
        let dir = self.altpidpath.as_deref().unwrap_or(statepath);
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// Signals a daemon takes (`-c reload|stop|fsd`, SIGHUP, SIGTERM, SIGUSR1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Re-read the configuration (SIGHUP).
    Reload,
    /// Exit (SIGTERM).
    Stop,
    /// upsmon: shut down now (SIGUSR1).
    Fsd,
}

impl Signal {
    /// The Unix signal number.
    pub fn number(self) -> i32 {
        match self {
            Signal::Reload => 1,
            Signal::Stop => 15,
            Signal::Fsd => 10,
        }
    }
}

/// Reads and parses config file `name` of `env`. Warnings become [`Event::Config`]
/// events; errors make an `Err` that lists every one as `file:line:column: ...`.
pub fn load<S: Sys, T>(
    sys: &S,
    env: &NutEnv,
    name: &str,
    parse: fn(&str, &[u8]) -> Parsed<T>,
) -> Result<T, String> {
    let path = env.conf(name);
    let text = sys.read_config(&path).map_err(|e| format!("{path}: {e}"))?;
    checked(sys, parse(&path, &text))
}

/// A parse result: warnings reported as events, errors as one `Err` text.
pub fn checked<S: Sys, T>(sys: &S, parsed: Parsed<T>) -> Result<T, String> {
    let mut errors = Vec::new();
    for diagnostic in parsed.diagnostics {
        if diagnostic.severity == Severity::Error {
            errors.push(diagnostic.to_string());
        } else {
            sys.event(Event::Config(diagnostic));
        }
    }
    if errors.is_empty() {
        Ok(parsed.value)
    } else {
        Err(errors.join("\n"))
    }
}

/// The PEM texts of a trust path (a file, or every file of a directory, sorted). `what`
/// names the setting in error messages (`CERTPATH`, `NUT_CERTPATH`).
pub fn read_trust_pems<S: Sys>(sys: &S, path: &str, what: &str) -> Result<Vec<Vec<u8>>, String> {
    let files = match sys.list_dir(path) {
        Ok(Some(names)) => names
            .into_iter()
            .map(|n| format!("{}/{n}", path.trim_end_matches('/')))
            .collect(),
        Ok(None) => vec![path.to_string()],
        Err(e) => return Err(format!("{what} {path}: {e}")),
    };
    files
        .iter()
        .map(|file| {
            sys.read_config(file)
                .map_err(|e| format!("{what} {file}: {e}"))
        })
        .collect()
}
