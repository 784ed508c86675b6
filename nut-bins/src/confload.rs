//! `--check-config` and `-c` signalling for the real binaries (the config paths and
//! the wiring itself are in [`crate::wiring`]).

use nut_core::config::Parsed;
use std::path::Path;

/// Reads and parses one config file; prints every diagnostic to stderr as
/// `file:line:col: severity: ...`. Returns `Err` with a message when the file cannot be
/// read or has errors.
pub fn load<T>(dir: &Path, name: &str, parse: fn(&str, &[u8]) -> Parsed<T>) -> Result<T, String> {
    let path = dir.join(name);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = parse(&path.display().to_string(), &text);
    for diagnostic in &parsed.diagnostics {
        eprintln!("{diagnostic}");
    }
    if parsed.has_errors() {
        return Err(format!("{}: configuration has errors", path.display()));
    }
    Ok(parsed.value)
}

/// Like [`load`] but only prints diagnostics and returns whether there were errors
/// (for `--check-config`).
pub fn check<T>(dir: &Path, name: &str, parse: fn(&str, &[u8]) -> Parsed<T>) -> bool {
    match load(dir, name, parse) {
        Ok(_) => true,
        Err(message) => {
            eprintln!("{message}");
            false
        }
    }
}

/// The program name of a running process: the base name of its argv[0].
pub fn program_of(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|&b| b == 0).next()?;
    let text = String::from_utf8_lossy(argv0);
    Some(text.rsplit('/').next().unwrap_or("").to_string())
}

/// Sends a signal (`HUP`, `TERM`, `USR1`) to `pid` (as given with `-P`), or to the
/// process whose PID is in `pidfile`. A PID read from a file must name a running
/// `program`: a stale file that now names someone else's process is refused, so no
/// signal ever reaches a process we did not start.
pub fn signal_process(
    pid: Option<u32>,
    pidfile: &Path,
    signal: &str,
    program: &str,
) -> Result<(), String> {
    let pid = match pid {
        Some(pid) => pid,
        None => {
            let text = std::fs::read_to_string(pidfile)
                .map_err(|e| format!("can't read PID file {}: {e}", pidfile.display()))?;
            let pid: u32 = text
                .trim()
                .parse()
                .map_err(|_| format!("PID file {} does not hold a PID", pidfile.display()))?;
            match program_of(pid) {
                Some(name) if name == program => {}
                Some(name) => {
                    return Err(format!(
                    "PID file {} names process {pid} ({name}), not {program}: not signalling it",
                    pidfile.display()
                ))
                }
                None => {
                    return Err(format!(
                        "PID file {} names process {pid}, which is not running",
                        pidfile.display()
                    ))
                }
            }
            pid
        }
    };
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("could not signal PID {pid}"))
    }
}

/// [`signal_process`] as a process exit code, printing the error.
pub fn signal_exit(
    pid: Option<u32>,
    pidfile: &Path,
    signal: &str,
    program: &str,
) -> std::process::ExitCode {
    match signal_process(pid, pidfile, signal, program) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes our PID to `pidfile`.
pub fn write_pidfile(pidfile: &Path) {
    if let Err(e) = std::fs::write(pidfile, format!("{}\n", std::process::id())) {
        eprintln!("can't write PID file {}: {e}", pidfile.display());
    }
}

/// [`check`] for a file that may be missing (nut.conf): a missing file is fine.
pub fn check_if_present<T>(dir: &Path, name: &str, parse: fn(&str, &[u8]) -> Parsed<T>) -> bool {
    if !dir.join(name).exists() {
        return true;
    }
    check(dir, name, parse)
}

/// Every error our parser finds in `text`, read as the NUT config file `name` (ups.conf,
/// upsd.conf, upsd.users, upsmon.conf, upssched.conf, nut.conf); an unknown name is one
/// error.
pub fn errors_in(name: &str, text: &[u8]) -> Vec<String> {
    use nut_core::config as c;
    fn errors<T>(parsed: Parsed<T>) -> Vec<String> {
        parsed.errors().map(|d| d.to_string()).collect()
    }
    match name {
        "ups.conf" => errors(c::parse_ups_conf(name, text)),
        "upsd.conf" => errors(c::parse_upsd_conf(name, text)),
        "upsd.users" => errors(c::parse_upsd_users(name, text)),
        "upsmon.conf" => errors(c::parse_upsmon_conf(name, text)),
        "upssched.conf" => errors(c::parse_upssched_conf(name, text)),
        "nut.conf" => errors(c::parse_nut_conf(name, text)),
        other => vec![format!("{other}: not a NUT config file")],
    }
}
