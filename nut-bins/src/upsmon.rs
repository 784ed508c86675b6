//! The upsmon shell: connections to upsd, the poll loop, notifications, shutdown.
//!
//! It asks [`UpsmonCore`] what to do next and does it. Every network step has a timeout,
//! because a partitioned link can leave a TCP stream stuck forever. Decisions live in
//! `nut_core::upsmon`.

use crate::lines::ClientConn;
use crate::seam::{ExecPurpose, Net, Sys};
use crate::tls::{upgrade_client, MaybeTls};
use nut_core::config::{Monitor, ShutdownExit, UpsmonConf};
use nut_core::proto::{format_request, parse_reply};
use nut_core::upsmon::{Command, Notification, PollOutcome, UpsmonCore, POWERDOWNFLAG_MAGIC};
use std::io;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;

/// How long upsmon waits for a TCP connection (NUT's default is 10 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Control signals from outside (SIGUSR1 = FSD, SIGTERM = stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Control {
    /// `upsmon -c fsd` was requested.
    pub fsd: bool,
}

type Conn<N> = ClientConn<MaybeTls<<N as Net>::Stream>>;

/// A configuration re-read for `upsmon -c reload` (SIGHUP), already checked.
pub struct Reload {
    /// The new upsmon.conf.
    pub conf: UpsmonConf,
    /// The TLS client for it.
    pub tls: Option<TlsConnector>,
}

/// Runs upsmon until it has shut the system down (returns `Ok`) or fails. `reloads`
/// delivers re-read configurations.
pub async fn run<N: Net, S: Sys>(
    net: N,
    sys: S,
    mut conf: UpsmonConf,
    mut control: watch::Receiver<Control>,
    mut tls: Option<TlsConnector>,
    mut reloads: mpsc::Receiver<Reload>,
) -> io::Result<()> {
    check_powerdownflag_at_start(&sys, &conf).await;
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut core = UpsmonCore::new(now(), conf.clone());
    let mut conns: Vec<Option<Conn<N>>> = conf.monitors.iter().map(|_| None).collect();
    let mut reloads_open = true;
    let mut pending: Option<Reload> = None;
    loop {
        if control.borrow_and_update().fsd {
            core.user_fsd();
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
                    conf = reload.conf;
                    tls = reload.tls;
                    sys.event("configuration reloaded".to_string());
                }
                Err(e) => sys.event(format!("reload: {e}")),
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
                let deadline = start + Duration::from_millis(at);
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
                    match reply {
                        Ok(line) if line.starts_with("OK") => {
                            sys.event(format!("set FSD on {}", monitor.system))
                        }
                        Ok(line) => sys.event(format!("FSD on {} refused: {line}", monitor.system)),
                        Err(e) => sys.event(format!("FSD on {} failed: {e}", monitor.system)),
                    }
                }
                core.fsd_sent(now());
            }
            Command::QueryNumLogins(primaries) => {
                let mut max = 0;
                for index in primaries {
                    let monitor = &conf.monitors[index];
                    let request = format_request(&["GET", "NUMLOGINS", &monitor.ups]);
                    if let Ok(line) = ask(&mut conns[index], request.trim_end()).await {
                        if let Ok(words) = parse_reply(&line) {
                            let count = words.get(2).and_then(|w| w.parse::<u32>().ok());
                            max = max.max(count.unwrap_or(0));
                        }
                    }
                }
                core.numlogins_result(now(), max);
            }
            Command::RunShutdown {
                powerdownflag,
                shutdowncmd,
            } => {
                if let Some(path) = &powerdownflag {
                    match sys.write_file(path, POWERDOWNFLAG_MAGIC.as_bytes()).await {
                        Ok(()) => sys.event(format!("wrote POWERDOWNFLAG {path}")),
                        Err(e) => sys.event(format!("cannot write POWERDOWNFLAG {path}: {e}")),
                    }
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
                        sys.event(format!("SHUTDOWNCMD {cmd}"));
                        let run = sys.exec(ExecPurpose::Shutdown, cmd, &[], &[]);
                        let keep = stay_logged_in(&conf, &mut conns, linger);
                        let result = run_while(run, keep).await;
                        if let Err(e) = result {
                            sys.event(format!("SHUTDOWNCMD failed: {e}"));
                        }
                    }
                    None => sys.event("no SHUTDOWNCMD configured".to_string()),
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
fn same_login(a: &Monitor, b: &Monitor) -> bool {
    (&a.ups, &a.host, a.port, &a.username, &a.password, a.primary)
        == (&b.ups, &b.host, b.port, &b.username, &b.password, b.primary)
}

async fn check_powerdownflag_at_start<S: Sys>(sys: &S, conf: &UpsmonConf) {
    let Some(path) = &conf.powerdownflag else {
        return;
    };
    match sys.read_file(path).await {
        Ok(Some(content)) if content.starts_with(POWERDOWNFLAG_MAGIC.as_bytes()) => {
            let _ = sys.remove_file(path).await;
        }
        Ok(Some(_)) => sys.event(format!(
            "POWERDOWNFLAG {path} exists but is not ours; leaving it alone"
        )),
        _ => {}
    }
}

fn dispatch<S: Sys>(sys: &S, core: &mut UpsmonCore) {
    let conf = core.conf().clone();
    for notification in core.take_notifications() {
        notify(sys, &conf, notification);
    }
    for event in core.take_events() {
        sys.log(format!("{event:?}"));
        if let nut_core::upsmon::LogEvent::Critical(why) = &event {
            sys.event(format!("critical: {why}"));
        }
        if let nut_core::upsmon::LogEvent::HostsyncDone {
            logins,
            waited_ms,
            expired,
        } = &event
        {
            sys.event(format!(
                "hostsync done logins={logins} waited={}.{:03}s{}",
                waited_ms / 1000,
                waited_ms % 1000,
                if *expired { " (HOSTSYNC expired)" } else { "" }
            ));
        }
    }
}

fn notify<S: Sys>(sys: &S, conf: &UpsmonConf, notification: Notification) {
    let flags = conf.flags_for(notification.kind);
    if flags.ignore {
        return;
    }
    sys.event(format!(
        "notify {} {}",
        notification.kind,
        if notification.system.is_empty() {
            "-"
        } else {
            &notification.system
        }
    ));
    if !flags.exec {
        return;
    }
    let Some(cmd) = conf.notifycmd.clone() else {
        return;
    };
    let sys = sys.clone();
    let env = vec![
        (
            "NOTIFYTYPE".to_string(),
            notification.kind.as_str().to_string(),
        ),
        ("UPSNAME".to_string(), notification.system.clone()),
    ];
    // Handlers run in the background so a slow one never delays polling (as NUT forks).
    tokio::spawn(async move {
        let _ = sys
            .exec(ExecPurpose::Notify, &cmd, &[notification.message], &env)
            .await;
    });
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
    tls: Option<&TlsConnector>,
    monitor: &Monitor,
) -> io::Result<Conn<N>> {
    let addr = crate::seam::socket_addr(&monitor.host, monitor.port);
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, net.connect(&addr)).await {
        Ok(result) => result?,
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout")),
    };
    let mut conn = ClientConn::new(MaybeTls::Plain(stream));
    if let Some(connector) = tls {
        // STARTTLS before the credentials, as NUT's upsmon does.
        let reply = conn.request("STARTTLS").await?;
        if reply.starts_with("OK STARTTLS") {
            let upgraded = upgrade_client(conn.into_inner(), connector, &monitor.host).await?;
            conn = ClientConn::new(upgraded);
        } else if conf.forcessl {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("FORCESSL is set but upsd answered STARTTLS with [{reply}]"),
            ));
        }
    }
    let steps: Vec<String> = vec![
        format_request(&["USERNAME", &monitor.username]),
        format_request(&["PASSWORD", &monitor.password]),
        format_request(&["LOGIN", &monitor.ups]),
    ];
    for step in &steps {
        let reply = conn.request(step.trim_end()).await?;
        if !reply.starts_with("OK") {
            // NUT keeps the connection and polls without being logged in.
            sys.event(format!(
                "Login on UPS [{}] failed - got [{reply}]",
                monitor.system
            ));
            return Ok(conn);
        }
    }
    sys.event(format!("logged into {}", monitor.system));
    if monitor.primary {
        let reply = conn
            .request(format_request(&["PRIMARY", &monitor.ups]).trim_end())
            .await?;
        if !reply.starts_with("OK") {
            let reply = conn
                .request(format_request(&["MASTER", &monitor.ups]).trim_end())
                .await?;
            if !reply.starts_with("OK") {
                sys.event(format!(
                    "Primary managerial privileges unavailable on UPS [{}]",
                    monitor.system
                ));
            }
        }
    }
    Ok(conn)
}

async fn poll_one<N: Net, S: Sys>(
    net: &N,
    sys: &S,
    conf: &UpsmonConf,
    tls: Option<&TlsConnector>,
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
    match ask(conn, request.trim_end()).await {
        Ok(line) => match parse_reply(&line) {
            Ok(words) if words.len() >= 4 && words[0] == "VAR" => {
                PollOutcome::Status(words[3].clone())
            }
            Ok(_) => PollOutcome::ConnectionLost(format!("protocol error: {line}")),
            Err(code) => PollOutcome::Error(code),
        },
        Err(e) => PollOutcome::ConnectionLost(e.to_string()),
    }
}

fn drop_all<S: Sys, T>(sys: &S, conns: &mut [Option<T>]) {
    if conns.iter().any(Option::is_some) {
        sys.event("logout (connections closed)".to_string());
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
    let until = tokio::time::Instant::now().checked_add(linger);
    let period = Duration::from_secs(conf.pollfreq_s.max(1));
    loop {
        let next = tokio::time::Instant::now() + period;
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
