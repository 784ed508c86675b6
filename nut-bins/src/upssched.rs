//! The upssched shell: the client upsmon runs as NOTIFYCMD, and the timer daemon it
//! starts on demand. Decisions live in `nut_core::upssched`.
//!
//! The client reads upssched.conf, runs `EXECUTE` lines at once and sends timer
//! requests to the daemon's socket (PIPEFN). When no daemon answers, the client that
//! takes the lock file (LOCKFN, created exclusively) starts one and waits for its
//! socket; a lock left by a dead client is removed and the start retried, as NUT does
//! (clients/upssched.c `sendcmd`).

use crate::lines::{ClientConn, WordReader};
use crate::seam::{ExecPurpose, Net, Sys};
use crate::wiring::{load, NutEnv};
use nut_core::config::{parse_upssched_conf, UpsschedConf};
use nut_core::event::Event;
use nut_core::upssched::{client_steps, ClientStep, Notice, Request, Run, TimerDaemon};
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// How often the client tries to reach (or start) the daemon (NUT: 30).
pub const CLIENT_TRIES: u32 = 30;
/// Pause between tries when another client holds the lock (NUT: 0.25 s).
pub const LOCK_RETRY: Duration = Duration::from_millis(250);
/// How long a client waits for a daemon it started to listen.
pub const DAEMON_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the client waits for the daemon's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests queued from connections to the daemon's loop.
pub const DAEMON_QUEUE: usize = 256;

/// The checked upssched.conf of `env`: CMDSCRIPT, PIPEFN and LOCKFN must be set when an
/// AT line needs them.
pub fn wire<S: Sys>(sys: &S, env: &NutEnv) -> Result<UpsschedConf, String> {
    let conf = load(sys, env, "upssched.conf", parse_upssched_conf)?;
    let path = env.conf("upssched.conf");
    if !conf.rules.is_empty() && conf.cmdscript.is_none() {
        return Err(format!(
            "{path}: CMDSCRIPT must be set before the first AT line"
        ));
    }
    let timers = conf
        .rules
        .iter()
        .any(|r| !matches!(r.action, nut_core::config::AtAction::Execute { .. }));
    if timers && (conf.pipefn.is_none() || conf.lockfn.is_none()) {
        return Err(format!(
            "{path}: PIPEFN and LOCKFN must be set before the first AT line that uses a timer"
        ));
    }
    Ok(conf)
}

/// Runs `CMDSCRIPT [args...] <cmd>` with the event's environment (no shell).
pub async fn run_cmdscript<S: Sys>(sys: &S, conf: &UpsschedConf, run: &Run) {
    let Some(script) = &conf.cmdscript else {
        sys.event(Event::CmdScriptFailed {
            cmd: run.cmd.clone(),
            error: "no CMDSCRIPT defined".to_string(),
        });
        return;
    };
    if run.cmd.is_empty() {
        sys.event(Event::CmdScriptFailed {
            cmd: String::new(),
            error: "empty EXECUTE command argument".to_string(),
        });
        return;
    }
    let mut args = conf.cmdscript_args.clone();
    args.push(run.cmd.clone());
    let mut env = Vec::new();
    for (name, value) in [
        ("UPSNAME", &run.upsname),
        ("NOTIFYTYPE", &run.notifytype),
        ("NOTIFYMSG", &run.notifymsg),
    ] {
        if !value.is_empty() {
            env.push((name.to_string(), value.clone()));
        }
    }
    match sys.exec(ExecPurpose::CmdScript, script, &args, &env).await {
        Ok(status) => sys.event(Event::CmdScriptRan {
            cmd: run.cmd.clone(),
            status,
        }),
        Err(e) => sys.event(Event::CmdScriptFailed {
            cmd: run.cmd.clone(),
            error: e.to_string(),
        }),
    }
}

/// The client for one event: every matching AT line in file order. `start_daemon`
/// starts the timer daemon in the background (a new process for real, a task in the
/// simulation). The error is the message NUT prints before exiting 1.
pub async fn client<N, S, F, Fut>(
    net: &N,
    sys: &S,
    conf: &UpsschedConf,
    notice: &Notice,
    start_daemon: F,
) -> Result<(), String>
where
    N: Net,
    S: Sys,
    F: Fn() -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    for step in client_steps(conf, notice) {
        match step {
            ClientStep::Execute(run) => run_cmdscript(sys, conf, &run).await,
            ClientStep::Send(request) => send(net, sys, conf, &request, &start_daemon).await?,
        }
    }
    Ok(())
}

async fn send<N, S, F, Fut>(
    net: &N,
    sys: &S,
    conf: &UpsschedConf,
    request: &Request,
    start_daemon: &F,
) -> Result<(), String>
where
    N: Net,
    S: Sys,
    F: Fn() -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let (Some(pipefn), Some(lockfn)) = (&conf.pipefn, &conf.lockfn) else {
        return Err("PIPEFN and LOCKFN must be set for timers".to_string());
    };
    let line = request.format();
    for _ in 0..CLIENT_TRIES {
        if let Ok(stream) = net.connect_local(pipefn).await {
            let mut conn = ClientConn::new(stream);
            conn.set_timeout(REPLY_TIMEOUT);
            return match conn.request(line.trim_end()).await {
                Ok(reply) if reply == "OK" => Ok(()),
                Ok(reply) => Err(format!("read confirmation got [{reply}]")),
                Err(e) => Err(format!("read confirmation failed: {e}")),
            };
        }
        if !request.needs_daemon() {
            return Ok(());
        }
        match sys.create_new(lockfn).await {
            Ok(true) => {
                let started = start_daemon().await;
                let ready = match started {
                    Ok(()) => wait_ready(net, pipefn).await,
                    Err(e) => Err(e.to_string()),
                };
                let _ = sys.remove_file(lockfn).await;
                if let Err(e) = ready {
                    return Err(format!("Unable to start the timer daemon: {e}"));
                }
            }
            Ok(false) => {
                // Another client is starting it, or one died holding the lock: NUT
                // removes the lock and tries again.
                let _ = sys.remove_file(lockfn).await;
                tokio::time::sleep(LOCK_RETRY).await;
            }
            Err(e) => return Err(format!("LOCKFN {lockfn}: {e}")),
        }
    }
    Err("Unable to connect to daemon and unable to start daemon".to_string())
}

async fn wait_ready<N: Net>(net: &N, pipefn: &str) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    loop {
        if net.connect_local(pipefn).await.is_ok() {
            return Ok(());
        }
        if start.elapsed() >= DAEMON_READY_TIMEOUT {
            return Err(format!("{pipefn} did not start listening"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Pending = (Vec<String>, oneshot::Sender<&'static str>);

/// The timer daemon: serves PIPEFN, runs CMDSCRIPT for expired timers and cancel
/// fallbacks, and exits (removing PIPEFN) once idle for `IDLE_EXIT_MS`.
pub async fn daemon<N: Net, S: Sys>(net: N, sys: S, conf: UpsschedConf) -> io::Result<()> {
    let Some(pipefn) = conf.pipefn.clone() else {
        return Err(io::Error::other("PIPEFN is not set"));
    };
    let listener = net.bind_local(&pipefn).await?;
    sys.event(Event::TimerDaemonStarted);
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut core = TimerDaemon::new(now());
    let (tx, mut rx) = mpsc::channel::<Pending>(DAEMON_QUEUE);
    let mut tasks = JoinSet::new();
    tasks.spawn(accept_requests::<N>(listener, tx));
    loop {
        let wake = crate::seam::deadline(start, Duration::from_millis(core.next_wakeup(now())));
        tokio::select! {
            biased;
            request = rx.recv() => {
                let Some((words, reply)) = request else { break };
                let answer = core.handle(now(), &words);
                let _ = reply.send(answer.reply);
                if let Some((name, seconds, ups, notifytype)) = answer.started {
                    sys.event(Event::TimerStarted { name, seconds, ups, notifytype });
                }
                for name in answer.cancelled {
                    sys.event(Event::TimerCancelled { name });
                }
                for run in answer.runs {
                    run_cmdscript(&sys, &conf, &run).await;
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
        for run in core.expire(now()) {
            sys.event(Event::TimerExpired {
                name: run.cmd.clone(),
            });
            run_cmdscript(&sys, &conf, &run).await;
        }
        if core.should_exit(now()) {
            break;
        }
    }
    sys.event(Event::TimerDaemonExiting);
    let _ = sys.remove_file(&pipefn).await;
    Ok(())
}

async fn accept_requests<N: Net>(listener: N::LocalListener, tx: mpsc::Sender<Pending>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok(stream) = N::accept_local(&listener).await else {
            tokio::time::sleep(crate::driver::ACCEPT_ERROR_BACKOFF).await;
            continue;
        };
        let tx = tx.clone();
        connections.spawn(async move {
            let (read, mut write) = tokio::io::split(stream);
            let mut reader = WordReader::new(read);
            while let Ok(Some(line)) = reader.next_line().await {
                if line.words.is_empty() {
                    continue;
                }
                let (reply_tx, reply_rx) = oneshot::channel();
                if tx.send((line.words, reply_tx)).await.is_err() {
                    return;
                }
                let Ok(reply) = reply_rx.await else { return };
                if write.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}
