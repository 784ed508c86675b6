//! The upsmon shell: connections to upsd, the poll loop, notifications, shutdown.
//!
//! It asks [`UpsmonCore`] what to do next and does it. Every network step has a timeout,
//! because a partitioned link can leave a TCP stream stuck forever. Decisions live in
//! `nut_core::upsmon`.

use crate::lines::ClientConn;
use crate::seam::{ExecPurpose, Net, Sys};
use crate::session::establish;
use crate::tls::MaybeTls;
use crate::wiring::{load, read_trust_pems, NutEnv, Signal};
use nut_core::config::{parse_upsmon_conf_for_startup, Monitor, ShutdownExit, UpsmonConf};
use nut_core::event::Event;
use nut_core::proto::{format_request, parse_reply};
use nut_core::session::{Reply, SessionError, SessionPlan, Stage, TlsMode};
use nut_core::upsmon::{Command, PollOutcome, UpsmonCore, POWERDOWNFLAG_MAGIC};
use std::io;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;

/// The program NOTIFYFLAG WALL messages go through (the message on its stdin).
pub const WALLCMD: &str = "wall";

/// How long upsmon waits for a TCP connection (NUT's default is 10 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Control signals from outside (SIGUSR1 = FSD, SIGTERM = stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Control {
    /// `upsmon -c fsd` was requested.
    pub fsd: bool,
    /// The privileged parent (RUN_AS_USER split) is gone.
    pub parent_gone: bool,
}

type Conn<N> = ClientConn<MaybeTls<<N as Net>::Stream>>;

/// A configuration re-read for `upsmon -c reload` (SIGHUP), already checked.
pub struct Reload {
    /// The new upsmon.conf.
    pub conf: UpsmonConf,
    /// The TLS clients for it.
    pub tls: Option<TlsClients>,
}

/// upsmon's TLS clients: one that verifies upsd against CERTPATH's CAs (when CERTPATH
/// names any), and one that only encrypts (CERTVERIFY 0).
#[derive(Clone)]
pub struct TlsClients {
    verifying: Option<TlsConnector>,
    encrypting: TlsConnector,
}

/// Runs upsmon until it has shut the system down (returns `Ok`) or fails. `reloads`
/// delivers re-read configurations.
pub async fn run<N: Net, S: Sys>(
    net: N,
    sys: S,
    mut conf: UpsmonConf,
    mut control: watch::Receiver<Control>,
    mut tls: Option<TlsClients>,
    mut reloads: mpsc::Receiver<Reload>,
) -> io::Result<()> {
    check_powerdownflag_at_start(&sys, &mut conf).await;
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut core = UpsmonCore::new(now(), conf.clone());
    let mut conns: Vec<Option<Conn<N>>> = conf.monitors.iter().map(|_| None).collect();
    let mut reloads_open = true;
    let mut pending: Option<Reload> = None;
    loop {
        let control_now = *control.borrow_and_update();
        if control_now.fsd {
            core.user_fsd();
        }
        if control_now.parent_gone {
            core.parent_gone(now());
        }
        if let Some(reload) = pending.take() {
            match core.reload(reload.conf.clone()) {
                Ok(kept) => {
                    let mut old = std::mem::take(&mut conns);
                    conns = kept
                        .iter()
                        .zip(&reload.conf.monitors)
                        .map(|(was, monitor)| match was {
                            Some(i) if same_login(&conf.monitors[*i], monitor) => old[*i].take(),
                            _ => None,
                        })
                        .collect();
                    // Connections of dropped or changed MONITOR lines close here: the
                    // implicit logout.
                    drop(old);
                    // A POWERDOWNFLAG disabled at start stays disabled (NUT keeps its
                    // NULL until restart).
                    let disabled = conf.powerdownflag.is_none();
                    conf = reload.conf;
                    if disabled {
                        conf.powerdownflag = None;
                    }
                    tls = reload.tls;
                    sys.event(Event::Reloaded);
                }
                Err(e) => sys.event(Event::ReloadFailed {
                    error: e.to_string(),
                }),
            }
        }
        let command = core.next_command(now());
        match command {
            Command::PollAll => {
                for (index, monitor) in conf.monitors.iter().enumerate() {
                    let outcome =
                        poll_one(&net, &sys, &conf, tls.as_ref(), monitor, &mut conns[index]).await;
                    core.poll_result(now(), index, outcome);
                }
                core.end_poll_cycle(now());
            }
            Command::SleepUntil(at) => {
                let deadline = crate::seam::deadline(start, Duration::from_millis(at));
                tokio::select! {
                    biased;
                    _ = control.changed() => {}
                    reload = reloads.recv(), if reloads_open => match reload {
                        Some(reload) => pending = Some(reload),
                        None => reloads_open = false,
                    },
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
            Command::SetFsd(primaries) => {
                for index in primaries {
                    let monitor = &conf.monitors[index];
                    let request = format_request(&["FSD", &monitor.ups]);
                    let reply = ask(&mut conns[index], request.trim_end()).await;
                    sys.event(fsd_event(&monitor.system, reply));
                }
                core.fsd_sent(now());
            }
            Command::QueryNumLogins(primaries) => {
                let mut max = Some(0);
                for index in primaries {
                    let monitor = &conf.monitors[index];
                    let request = format_request(&["GET", "NUMLOGINS", &monitor.ups]);
                    let reply = ask(&mut conns[index], request.trim_end()).await;
                    max = most_logins(max, reply);
                }
                core.numlogins_result(now(), max);
            }
            Command::RunShutdown {
                powerdownflag,
                shutdowncmd,
            } => {
                if let Some(path) = &powerdownflag {
                    write_powerdownflag(&sys, path).await;
                }
                let linger = match conf.shutdownexit {
                    // NUT's default: the monitoring process exits (logging out) while
                    // the privileged parent runs SHUTDOWNCMD.
                    ShutdownExit::Yes => Duration::ZERO,
                    ShutdownExit::No => Duration::MAX,
                    ShutdownExit::AfterSeconds(s) => Duration::from_secs(s),
                };
                if linger.is_zero() {
                    drop_all(&sys, &mut conns);
                }
                match &shutdowncmd {
                    Some(cmd) => {
                        sys.event(Event::ShutdownCmdStarted { cmd: cmd.clone() });
                        let run = sys.exec(ExecPurpose::Shutdown, cmd, &[], &[]);
                        let keep = stay_logged_in(&conf, &mut conns, linger);
                        sys.event(match run_while(run, keep).await {
                            Ok(status) => Event::ShutdownCmdFinished { status },
                            Err(e) => Event::ShutdownCmdFailed {
                                error: e.to_string(),
                            },
                        });
                    }
                    None => sys.event(Event::NoShutdownCmd),
                }
                core.shutdown_done();
            }
            Command::Exit => {
                // Dropping the connections is the implicit logout NUT relies on.
                drop(conns);
                return Ok(());
            }
        }
        dispatch(&sys, &mut core);
    }
}

/// Whether two MONITOR lines log in the same way, so a connection can be kept.
pub fn same_login(a: &Monitor, b: &Monitor) -> bool {
    (&a.ups, &a.host, a.port, &a.username, &a.password, a.primary)
        == (&b.ups, &b.host, b.port, &b.username, &b.password, b.primary)
}

/// Writes POWERDOWNFLAG with upsmon's magic text and reports how it went.
pub async fn write_powerdownflag<S: Sys>(sys: &S, path: &str) {
    let path = path.to_string();
    match sys.write_file(&path, POWERDOWNFLAG_MAGIC.as_bytes()).await {
        Ok(()) => sys.event(Event::PowerdownFlagWritten { path }),
        Err(e) => sys.event(Event::PowerdownFlagFailed {
            path,
            error: e.to_string(),
        }),
    }
}

/// At start, a POWERDOWNFLAG of ours from the last shutdown is removed; a file there
/// with other content is left alone and POWERDOWNFLAG is disabled, so it is never
/// overwritten (NUT's `clear_pdflag`).
pub async fn check_powerdownflag_at_start<S: Sys>(sys: &S, conf: &mut UpsmonConf) {
    let Some(path) = conf.powerdownflag.clone() else {
        return;
    };
    match sys.read_file(&path).await {
        Ok(Some(content)) if content.starts_with(POWERDOWNFLAG_MAGIC.as_bytes()) => {
            let removed = sys.remove_file(&path).await.is_ok();
            if removed {
                sys.event(Event::PowerdownFlagCleared { path });
            }
        }
        Ok(Some(_)) => {
            sys.event(Event::PowerdownFlagForeign { path });
            conf.powerdownflag = None;
        }
        _ => {}
    }
}

fn dispatch<S: Sys>(sys: &S, core: &mut UpsmonCore) {
    let events = core.take_events();
    let conf = core.conf();
    for event in events {
        match event {
            Event::Notify { .. } => notify(sys, conf, event),
            event => sys.event(event),
        }
    }
}

/// What to do for a notification, as NOTIFYFLAG says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyPlan {
    /// Log it (the event carries SYSLOG).
    pub log: Option<Event>,
    /// The message for every terminal (WALL).
    pub wall: Option<String>,
    /// NOTIFYCMD with its argument and environment (EXEC).
    pub exec: Option<NotifyExec>,
}

/// NOTIFYCMD as it runs for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyExec {
    /// The command.
    pub cmd: String,
    /// Its argument: the message.
    pub args: Vec<String>,
    /// `NOTIFYTYPE` and `UPSNAME`.
    pub env: Vec<(String, String)>,
}

/// A notification, as NOTIFYFLAG says: logged (the event carries SYSLOG), on every
/// terminal (WALL), to NOTIFYCMD (EXEC), or nothing (IGNORE).
pub fn notify_plan(conf: &UpsmonConf, event: Event) -> NotifyPlan {
    let Event::Notify {
        kind,
        ref system,
        ref message,
        ..
    } = event
    else {
        return NotifyPlan::default();
    };
    let flags = conf.flags_for(kind);
    if flags.ignore {
        return NotifyPlan::default();
    }
    NotifyPlan {
        wall: flags.wall.then(|| message.clone()),
        exec: conf.notifycmd.clone().filter(|_| flags.exec).map(|cmd| {
            let env = vec![
                ("NOTIFYTYPE".to_string(), kind.as_str().to_string()),
                ("UPSNAME".to_string(), system.clone()),
            ];
            NotifyExec {
                cmd,
                args: vec![message.clone()],
                env,
            }
        }),
        log: Some(event),
    }
}

fn notify<S: Sys>(sys: &S, conf: &UpsmonConf, event: Event) {
    let plan = notify_plan(conf, event);
    if let Some(event) = plan.log {
        sys.event(event);
    }
    if let Some(message) = plan.wall {
        // To every logged-in terminal (NUT pipes the message into wall).
        let sys = sys.clone();
        tokio::spawn(async move {
            let _ = sys.exec(ExecPurpose::Wall, WALLCMD, &[message], &[]).await;
        });
    }
    if let Some(NotifyExec { cmd, args, env }) = plan.exec {
        let sys = sys.clone();
        // Handlers run in the background so a slow one never delays polling (as NUT
        // forks).
        tokio::spawn(async move {
            if let Err(e) = sys.exec(ExecPurpose::Notify, &cmd, &args, &env).await {
                sys.event(Event::NotifyCmdFailed {
                    error: e.to_string(),
                });
            }
        });
    }
}

/// upsmon's event for the reply to `FSD <ups>`.
pub fn fsd_event(system: &str, reply: io::Result<String>) -> Event {
    let system = system.to_string();
    match reply.as_deref().map(Reply::parse) {
        Ok(Reply::Ok(_)) => Event::FsdSet { system },
        Ok(_) => Event::FsdFailed {
            system,
            error: reply.unwrap_or_default(),
        },
        Err(e) => Event::FsdFailed {
            system,
            error: e.to_string(),
        },
    }
}

/// The largest NUMLOGINS so far, with one more reply: `None` once any reply was not a
/// count (an error or a lost connection), as [`UpsmonCore::numlogins_result`] wants.
pub fn most_logins(so_far: Option<u32>, reply: io::Result<String>) -> Option<u32> {
    let count = reply.ok().and_then(|line| numlogins(&line));
    so_far.zip(count).map(|(a, b)| a.max(b))
}

/// The count in a reply to `GET NUMLOGINS <ups>`.
pub fn numlogins(line: &str) -> Option<u32> {
    parse_reply(line).ok()?.get(2)?.parse::<u32>().ok()
}

/// The status in a reply to `GET VAR <ups> ups.status`, or the poll's outcome when the
/// reply is not one.
pub fn status_reply(line: &str) -> Result<String, PollOutcome> {
    nut_core::proto::with_reply(line, |reply| match reply {
        Ok(words) if words.len() >= 4 && words[0] == "VAR" => Ok(words[3].to_string()),
        Ok(_) => Err(PollOutcome::ConnectionLost(format!(
            "protocol error: {line}"
        ))),
        Err(code) => Err(PollOutcome::Error(code)),
    })
}

/// Whether a status carries ALARM (upsmon then reads `ups.alarm` for the notification).
pub fn has_alarm(status: &str) -> bool {
    status.split_whitespace().any(|t| t == "ALARM")
}

/// The text in a reply to `GET VAR <ups> ups.alarm`.
pub fn alarm_reply(line: &str) -> Option<String> {
    nut_core::proto::with_reply(line, |reply| {
        reply
            .ok()
            .filter(|w| w.len() >= 4 && w[0] == "VAR")
            .map(|w| w[3].to_string())
    })
}

/// How upsmon logs in for `monitor`: the dialogue (STARTTLS required, tried or off),
/// the TLS client to use, and the name upsd's certificate must carry. CERTHOST <host>
/// <certname> <verify> <forcessl> overrides CERTVERIFY and FORCESSL for one upsd host;
/// its certificate name is the name checked in upsd's certificate (rustls checks names,
/// where NUT's NSS looks up a nickname).
pub fn tls_plan<'a>(
    conf: &UpsmonConf,
    tls: Option<&'a TlsClients>,
    monitor: &Monitor,
) -> (SessionPlan, Option<&'a TlsConnector>, String) {
    let certhost = conf
        .certhosts
        .iter()
        .find(|(host, ..)| host.eq_ignore_ascii_case(&monitor.host));
    let (tls_name, verify, force) = match certhost {
        Some((_, name, verify, force)) => (name.as_str(), *verify, *force),
        None => (monitor.host.as_str(), conf.certverify, conf.forcessl),
    };
    let connector = tls.and_then(|t| {
        if verify {
            t.verifying.as_ref()
        } else {
            Some(&t.encrypting)
        }
    });
    let mode = match (connector.is_some(), force) {
        (_, true) => TlsMode::Require,
        (true, false) => TlsMode::Try,
        (false, false) => TlsMode::Off,
    };
    (monitor_plan(monitor, mode), connector, tls_name.to_string())
}

/// The login dialogue for a MONITOR line.
pub fn monitor_plan(monitor: &Monitor, tls: TlsMode) -> SessionPlan {
    SessionPlan {
        tls,
        username: Some(monitor.username.clone()),
        password: Some(monitor.password.clone()),
        login: Some(monitor.ups.clone()),
        primary: monitor.primary.then(|| monitor.ups.clone()),
    }
}

/// What upsmon reports when its login dialogue ends, or why it gives the connection
/// up. NUT keeps a connection whose PRIMARY (and MASTER) was refused and polls without
/// being logged in.
pub fn login_events(
    system: &str,
    result: Result<nut_core::session::Established, SessionError>,
) -> io::Result<Vec<Event>> {
    let system = system.to_string();
    match result {
        Err(SessionError::TlsRequired { reply }) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("FORCESSL is set but upsd answered STARTTLS with [{reply}]"),
        )),
        Err(SessionError::TlsFailed) => Err(io::Error::other("SSL handshake failed")),
        Ok(done) => Ok(match done.refused {
            Some(refusal) if refusal.stage == Stage::Master => vec![
                Event::LoggedIn {
                    system: system.clone(),
                    tls: done.tls,
                },
                Event::PrimaryUnavailable {
                    system,
                    reply: refusal.reply,
                },
            ],
            Some(refusal) => vec![Event::LoginFailed {
                system,
                reply: refusal.reply,
            }],
            None => vec![Event::LoggedIn {
                system,
                tls: done.tls,
            }],
        }),
    }
}

async fn ask<S>(conn: &mut Option<ClientConn<S>>, line: &str) -> io::Result<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(c) = conn.as_mut() else {
        return Err(io::Error::new(io::ErrorKind::NotConnected, "not connected"));
    };
    let result = c.request(line).await;
    if result.is_err() {
        *conn = None;
    }
    result
}

async fn connect<N: Net, S: Sys>(
    net: &N,
    sys: &S,
    conf: &UpsmonConf,
    tls: Option<&TlsClients>,
    monitor: &Monitor,
) -> io::Result<Conn<N>> {
    let addr = crate::seam::socket_addr(&monitor.host, monitor.port);
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, net.connect(&addr)).await {
        Ok(result) => result?,
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout")),
    };
    let (plan, connector, tls_name) = tls_plan(conf, tls, monitor);
    let (conn, result) = establish(stream, plan, connector, &tls_name).await?;
    for event in login_events(&monitor.system, result)? {
        sys.event(event);
    }
    Ok(conn)
}

async fn poll_one<N: Net, S: Sys>(
    net: &N,
    sys: &S,
    conf: &UpsmonConf,
    tls: Option<&TlsClients>,
    monitor: &Monitor,
    conn: &mut Option<Conn<N>>,
) -> PollOutcome {
    if conn.is_none() {
        match connect(net, sys, conf, tls, monitor).await {
            Ok(c) => *conn = Some(c),
            Err(e) => return PollOutcome::ConnectionLost(e.to_string()),
        }
    }
    let request = format_request(&["GET", "VAR", &monitor.ups, "ups.status"]);
    let status = match ask(conn, request.trim_end()).await {
        Ok(line) => match status_reply(&line) {
            Ok(status) => status,
            Err(outcome) => return outcome,
        },
        Err(e) => return PollOutcome::ConnectionLost(e.to_string()),
    };
    if !has_alarm(&status) {
        return PollOutcome::Status(status);
    }
    // ALARM: its text goes into the notification, as NUT's upsmon does.
    let request = format_request(&["GET", "VAR", &monitor.ups, "ups.alarm"]);
    let alarm = match ask(conn, request.trim_end()).await {
        Ok(line) => alarm_reply(&line),
        Err(_) => None,
    };
    PollOutcome::StatusWithAlarm(status, alarm)
}

fn drop_all<S: Sys, T>(sys: &S, conns: &mut [Option<T>]) {
    if conns.iter().any(Option::is_some) {
        sys.event(Event::LoggedOut);
    }
    for conn in conns.iter_mut() {
        *conn = None;
    }
}

/// Keeps the logins alive while SHUTDOWNCMD runs (SHUTDOWNEXIT no / seconds), so the
/// primary keeps waiting for this host; after `linger` the connections are closed.
async fn stay_logged_in<S>(conf: &UpsmonConf, conns: &mut [Option<ClientConn<S>>], linger: Duration)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let until = (linger != Duration::MAX)
        .then(|| crate::seam::deadline(tokio::time::Instant::now(), linger));
    let period = Duration::from_secs(conf.pollfreq_s.max(1));
    loop {
        let next = crate::seam::deadline(tokio::time::Instant::now(), period);
        let stop = until.is_some_and(|u| u <= next);
        tokio::time::sleep_until(if stop { until.unwrap_or(next) } else { next }).await;
        if stop {
            for conn in conns.iter_mut() {
                *conn = None;
            }
            std::future::pending::<()>().await;
        }
        for (index, monitor) in conf.monitors.iter().enumerate() {
            let request = format_request(&["GET", "NUMLOGINS", &monitor.ups]);
            let _ = ask(&mut conns[index], request.trim_end()).await;
        }
    }
}

/// Runs `work` to completion while `side` runs alongside; `side` is dropped afterwards.
async fn run_while<T>(
    work: impl std::future::Future<Output = T>,
    side: impl std::future::Future<Output = ()>,
) -> T {
    tokio::pin!(work);
    tokio::select! {
        biased;
        result = &mut work => result,
        _ = side => work.await,
    }
}

/// upsmon's runtime as upsmon.conf defines it.
pub struct UpsmonWiring {
    /// upsmon.conf, checked as upsmon checks it at start.
    pub conf: UpsmonConf,
    /// The TLS clients, when FORCESSL, CERTVERIFY, CERTPATH or CERTHOST ask for TLS.
    pub tls: Option<TlsClients>,
}

/// Reads upsmon.conf of `env` and builds upsmon's runtime (the one wiring of the binary
/// and the simulation).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv) -> Result<UpsmonWiring, String> {
    let conf = load(sys, env, "upsmon.conf", parse_upsmon_conf_for_startup)?;
    let tls = tls_clients(sys, &conf)?;
    Ok(UpsmonWiring { conf, tls })
}

/// The TLS clients when upsmon.conf asks for TLS (FORCESSL, CERTVERIFY, CERTPATH or
/// CERTHOST). CERTPATH is a PEM file or a directory of PEM files holding the trusted
/// CAs; verifying (CERTVERIFY 1, or a CERTHOST that verifies) needs at least one.
/// CERTIDENT names a client certificate in NUT's NSS database; upsd never asks for one
/// from upsmon, so it is accepted and not used.
fn tls_clients<S: Sys>(sys: &S, conf: &UpsmonConf) -> Result<Option<TlsClients>, String> {
    let any_verify = conf.certverify || conf.certhosts.iter().any(|(_, _, verify, _)| *verify);
    if !conf.forcessl && !any_verify && conf.certpath.is_none() && conf.certhosts.is_empty() {
        return Ok(None);
    }
    let pems = match &conf.certpath {
        Some(path) => read_trust_pems(sys, path, "CERTPATH")?,
        None => Vec::new(),
    };
    let verifying = if any_verify || !pems.is_empty() {
        match crate::tls::connector(&pems, true) {
            Ok(connector) => Some(connector),
            Err(e) if any_verify => return Err(e),
            Err(_) => None,
        }
    } else {
        None
    };
    Ok(Some(TlsClients {
        verifying,
        encrypting: crate::tls::connector(&[], false)?,
    }))
}

/// What `upsmon -K` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Killpower {
    /// POWERDOWNFLAG exists and holds the magic text: exit 0.
    Set,
    /// No POWERDOWNFLAG configured, or the file is not there: exit 1.
    NotSet,
    /// The file exists with other content: exit 1.
    Foreign(String),
}

impl Killpower {
    /// NUT's log line for the result (`check_pdflag`).
    pub fn message(&self) -> String {
        match self {
            Killpower::Set => "Power down flag is set".to_string(),
            Killpower::NotSet => "Power down flag is not set".to_string(),
            Killpower::Foreign(path) => {
                format!("POWERDOWNFLAG ({path}) does not contain the upsmon magic string")
            }
        }
    }
}

/// `upsmon -K`: is POWERDOWNFLAG set, with upsmon's magic text in it?
pub fn killpower_check<S: Sys>(sys: &S, env: &NutEnv) -> Result<Killpower, String> {
    let conf = load(sys, env, "upsmon.conf", parse_upsmon_conf_for_startup)?;
    let Some(path) = conf.powerdownflag else {
        return Ok(Killpower::NotSet);
    };
    Ok(match sys.read_config(&path) {
        Ok(content) if content.starts_with(POWERDOWNFLAG_MAGIC.as_bytes()) => Killpower::Set,
        Ok(_) => Killpower::Foreign(path),
        Err(_) => Killpower::NotSet,
    })
}

/// upsmon as a process: wires it from `env`, then monitors until it has shut the
/// system down or is stopped. Signals: reload (a config that would not start upsmon is
/// refused and the running one stays, as NUT does), stop, fsd.
pub async fn process<N: Net, S: Sys>(
    net: N,
    sys: S,
    env: NutEnv,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env).map_err(io::Error::other)?;
    run_wired(net, sys, env, wiring, signals).await
}

/// The second half of [`process`], for a shell that does something between wiring and
/// running (the binary writes its PID file).
pub async fn run_wired<N: Net, S: Sys>(
    net: N,
    sys: S,
    env: NutEnv,
    wiring: UpsmonWiring,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let (control_tx, control_rx) = watch::channel(Control::default());
    run_controlled(net, sys, env, wiring, signals, control_tx, control_rx).await
}

/// [`run_wired`] with the control channel made by the caller (the RUN_AS_USER child
/// also reports its parent's death through it).
pub async fn run_controlled<N: Net, S: Sys>(
    net: N,
    sys: S,
    env: NutEnv,
    wiring: UpsmonWiring,
    mut signals: mpsc::Receiver<Signal>,
    control_tx: watch::Sender<Control>,
    control_rx: watch::Receiver<Control>,
) -> io::Result<()> {
    let (reload_tx, reload_rx) = mpsc::channel::<Reload>(4);
    let monitor = run(
        net,
        sys.clone(),
        wiring.conf,
        control_rx,
        wiring.tls,
        reload_rx,
    );
    tokio::pin!(monitor);
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Fsd) => {
                    sys.event(Event::Signal { number: 10, what: "User requested FSD" });
                    control_tx.send_modify(|c| c.fsd = true);
                }
                Some(Signal::Reload) => {
                    sys.event(Event::Signal { number: 1, what: "User requested RELOAD" });
                    match wire(&sys, &env) {
                        Ok(w) => {
                            let _ = reload_tx.try_send(Reload { conf: w.conf, tls: w.tls });
                        }
                        Err(error) => sys.event(Event::ReloadFailed { error }),
                    }
                }
                Some(Signal::Stop) => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
                    return Ok(());
                }
                None => return monitor.await,
            },
            result = &mut monitor => return result,
        }
    }
}
