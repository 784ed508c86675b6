//! `upslog`: logs UPS variables to a file or stdout every interval, in NUT 2.8.0's
//! format language (`%VAR name%`, `%TIME fmt%`, `%HOST%`, `%UPSHOST%`, `%PID%`,
//! `%ETIME%`, `%%`; see `nut_core::clients`). Also takes the later-release options
//! `-d <count>` (exit after that many rounds) and repeatable `-m <ups,file>`
//! (when given, `-s`/`-l` are ignored, as in the release that added it).
//!
//! Every round sends `GET VAR <ups> <var>` for each valid `%VAR%` (once per distinct
//! name); anything upsd does not answer prints `NA`. A lost connection is re-opened at
//! the next round. On SIGTERM/SIGINT/SIGQUIT the current sleep ends, one last round is
//! logged (as NUT does), and upslog exits 0; SIGHUP re-opens the log files; SIGUSR1
//! logs at once.
//!
//! Differences from NUT: `%TIME%` is rendered in UTC (computed from the system clock
//! with std only, no time-zone database; on a UTC host this is NUT's local time), and
//! `%TIME%` without a format prints nothing (NUT crashes). upslog always stays in the
//! foreground and writes no PID file: `-F`, `-B`, `-p` and `-u` are accepted and ignored.

use clap::Parser;
use nut_bins::client::{self, connect, Conn, ReqError, INVALID_UPS};
use nut_core::clients::{
    compile_log_format, log_vars, render_log_line, LogContext, LogItem, UPSLOG_DEFAULT_FORMAT,
    UPSLOG_HELP,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

use nut_bins::cli::upslog::Args;

/// Where one UPS's lines go.
enum Sink {
    Stdout,
    File(String, std::fs::File),
}

impl Sink {
    fn open(name: &str) -> std::io::Result<Sink> {
        if name == "-" {
            return Ok(Sink::Stdout);
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(name)?;
        Ok(Sink::File(name.to_string(), file))
    }

    fn write_line(&mut self, line: &str) {
        let data = format!("{line}\n");
        let _ = match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(data.as_bytes()).and_then(|_| out.flush())
            }
            Sink::File(_, file) => file.write_all(data.as_bytes()),
        };
    }

    fn reopen(&mut self) {
        if let Sink::File(name, file) = self {
            if let Ok(Sink::File(_, new)) = Sink::open(name) {
                *file = new;
            }
        }
    }
}

/// One monitored UPS.
struct Target {
    spec: String,
    ups: String,
    host: String,
    port: u16,
    conn: Option<Conn>,
    sink: Sink,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.help || matches!(args.rest.len(), 1 | 2) {
        print!("{UPSLOG_HELP}");
        return ExitCode::SUCCESS;
    }
    println!("Network UPS Tools upslog 2.8.0");
    if args.version {
        return ExitCode::SUCCESS;
    }
    match client::block_on(run(args)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(message)) => {
            let _ = std::io::stdout().flush();
            eprintln!("{message}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// C `atoi` of the interval.
fn interval_of(text: &str) -> i64 {
    i64::from(nut_core::clients::c_atoi(text))
}

async fn run(args: Args) -> Result<(), String> {
    let mut system = args.system.clone();
    let mut logfile = args.logfile.clone();
    let mut interval = args.interval.as_deref().map(interval_of).unwrap_or(30);
    let mut format = args
        .format
        .clone()
        .unwrap_or_else(|| UPSLOG_DEFAULT_FORMAT.to_string());
    if args.rest.len() >= 3 {
        system = Some(args.rest[0].clone());
        logfile = Some(args.rest[1].clone());
        interval = interval_of(&args.rest[2]);
    }
    if args.rest.len() >= 4 {
        format = args.rest[3..].iter().map(|w| format!("{w} ")).collect();
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for tuple in &args.tuples {
        let parts: Vec<&str> = tuple.split(',').collect();
        if parts.len() != 2 {
            return Err(
                "Argument '-m upsspec,logfile' requires exactly 2 components in the tuple"
                    .to_string(),
            );
        }
        pairs.push((parts[0].to_string(), parts[1].to_string()));
    }
    if pairs.is_empty() {
        let system = system.ok_or("No UPS defined for monitoring - use -s <system>")?;
        let logfile = logfile.ok_or("No filename defined for logging - use -l <file>")?;
        pairs.push((system, logfile));
    }
    let mut targets = Vec::with_capacity(pairs.len());
    for (spec, logfn) in pairs {
        println!("logging status of {spec} to {logfn} ({interval}s intervals)");
        let (ups, host, port) = client::split_name(&spec).map_err(|_| INVALID_UPS.to_string())?;
        let conn = match connect(&host, port).await {
            Ok(conn) => Some(conn),
            Err(message) => {
                eprintln!("Warning: initial connect failed: {message}");
                None
            }
        };
        let sink =
            Sink::open(&logfn).map_err(|e| format!("could not open logfile {logfn}: {e}"))?;
        targets.push(Target {
            spec,
            ups,
            host,
            port,
            conn,
            sink,
        });
    }
    let _ = std::io::stdout().flush();
    let items = compile_log_format(&format);
    let vars = log_vars(&items);
    let mut signals = Signals::new().map_err(|e| format!("Can't install signal handlers: {e}"))?;
    let hostname = local_hostname();
    let step = Duration::from_secs(interval.max(0) as u64);
    let mut next_poll: Option<tokio::time::Instant> = None;
    let mut rounds = 0u64;
    let mut exit_signal: Option<i32> = None;
    while exit_signal.is_none() {
        let now = tokio::time::Instant::now();
        match next_poll {
            Some(at) if at > now => {
                match signals.sleep_until(at).await {
                    Woke::Exit(n) => exit_signal = Some(n),
                    Woke::Reopen => {
                        for target in &mut targets {
                            target.sink.reopen();
                        }
                    }
                    Woke::Timer | Woke::Now => {}
                }
                next_poll = Some(at + step);
            }
            _ => next_poll = Some(now + step),
        }
        for target in &mut targets {
            log_round(target, &items, &vars, &hostname).await;
            if interval > 30 {
                if let Some(mut conn) = target.conn.take() {
                    let _ = client::send(&mut conn, &["LOGOUT"]).await;
                }
            }
        }
        if let Some(max) = args.count.filter(|&n| n > 0) {
            rounds += 1;
            if rounds >= max {
                eprintln!("{max} loops have elapsed");
                exit_signal = Some(1);
            }
        }
    }
    eprintln!("Signal {}: exiting", exit_signal.unwrap_or(0));
    for target in &mut targets {
        if let Some(conn) = target.conn.as_mut() {
            let _ = client::send(conn, &["LOGOUT"]).await;
        }
    }
    Ok(())
}

/// Fetches the variables and writes one line for `target`.
async fn log_round(target: &mut Target, items: &[LogItem], vars: &[String], hostname: &str) {
    if target.conn.is_none() {
        target.conn = connect(&target.host, target.port).await.ok();
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for var in vars {
        let Some(conn) = target.conn.as_mut() else {
            break;
        };
        match client::get(conn, &["VAR", &target.ups, var]).await {
            Ok(words) => {
                if let Some(value) = words.get(3) {
                    values.insert(var.clone(), value.clone());
                }
            }
            Err(ReqError::Io(_)) => target.conn = None,
            Err(_) => {}
        }
    }
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ctx = LogContext {
        host: hostname,
        upshost: &target.spec,
        pid: std::process::id(),
        epoch,
    };
    let line = render_log_line(items, &ctx, &mut |name| values.get(name).cloned());
    target.sink.write_line(&line);
}

/// The local host name (what gethostname returns), read from the kernel.
fn local_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_default()
}

/// Why a sleep ended.
enum Woke {
    Timer,
    Exit(i32),
    Reopen,
    Now,
}

struct Signals {
    term: Signal,
    int: Signal,
    quit: Signal,
    hup: Signal,
    usr1: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    async fn sleep_until(&mut self, at: tokio::time::Instant) -> Woke {
        tokio::select! {
            biased;
            _ = self.term.recv() => Woke::Exit(15),
            _ = self.int.recv() => Woke::Exit(2),
            _ = self.quit.recv() => Woke::Exit(3),
            _ = self.hup.recv() => Woke::Reopen,
            _ = self.usr1.recv() => Woke::Now,
            _ = tokio::time::sleep_until(at) => Woke::Timer,
        }
    }
}
