//! upsmon's RUN_AS_USER split (NUT's `start_pipe`): a root parent that alone may write
//! POWERDOWNFLAG and run SHUTDOWNCMD, and an unprivileged child that talks to upsd,
//! decides, and runs NOTIFYCMD. They share a socket pair (descriptor 3 in the child):
//! the child sends `SHUTDOWN`, the parent writes its own POWERDOWNFLAG, runs its own
//! SHUTDOWNCMD and answers `DONE <status>`. The parent never takes a path or a command
//! from the child. When the parent dies the child reports NOPARENT (every two minutes)
//! and keeps monitoring; a shutdown is then impossible, as in NUT.

use crate::real::RealSys;
use crate::seam::{ExecPurpose, Sys};
use crate::upsmon::Control;
use nut_core::config::UpsmonConf;
use nut_core::event::Event;
use std::io;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};

/// Set in the child's environment.
pub const CHILD_ENV: &str = "NUT_RS_UPSMON_CHILD";
/// The child's end of the socket pair.
pub const CHILD_FD: i32 = 3;

/// True in the unprivileged child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

type ShutdownRequest = oneshot::Sender<io::Result<i32>>;

/// The child's system effects: as [`RealSys`], except that POWERDOWNFLAG and
/// SHUTDOWNCMD belong to the parent.
#[derive(Clone)]
pub struct ChildSys {
    inner: RealSys,
    powerdownflag: Option<String>,
    requests: mpsc::Sender<ShutdownRequest>,
}

impl Sys for ChildSys {
    fn event(&self, event: Event) {
        self.inner.event(event)
    }
    fn log(&self, what: String) {
        self.inner.log(what)
    }
    fn read_config(&self, path: &str) -> io::Result<Vec<u8>> {
        self.inner.read_config(path)
    }
    fn list_dir(&self, path: &str) -> io::Result<Option<Vec<String>>> {
        self.inner.list_dir(path)
    }
    async fn exec(
        &self,
        purpose: ExecPurpose,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> io::Result<i32> {
        if purpose != ExecPurpose::Shutdown {
            return self.inner.exec(purpose, command, args, env).await;
        }
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(tx)
            .await
            .map_err(|_| io::Error::other("Parent died - shutdown impossible"))?;
        rx.await
            .map_err(|_| io::Error::other("Parent died - shutdown impossible"))?
    }
    async fn write_file(&self, path: &str, data: &[u8]) -> io::Result<()> {
        if self.powerdownflag.as_deref() == Some(path) {
            // The parent writes POWERDOWNFLAG when it runs SHUTDOWNCMD.
            return Ok(());
        }
        self.inner.write_file(path, data).await
    }
    async fn read_file(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        self.inner.read_file(path).await
    }
    async fn remove_file(&self, path: &str) -> io::Result<()> {
        self.inner.remove_file(path).await
    }
    async fn create_new(&self, path: &str) -> io::Result<bool> {
        self.inner.create_new(path).await
    }
}

/// In the child (inside its runtime): the effects that go through the parent, and a
/// task that watches the parent and sets `parent_gone` when it dies.
pub fn child_sys(
    inner: RealSys,
    conf: &UpsmonConf,
    control: watch::Sender<Control>,
) -> io::Result<ChildSys> {
    use std::os::fd::FromRawFd;
    // SAFETY: descriptor 3 is the socket the parent put there for us (CHILD_ENV says
    // so); nothing else in this process owns it.
    let std_stream = unsafe { std::os::unix::net::UnixStream::from_raw_fd(CHILD_FD) };
    std_stream.set_nonblocking(true)?;
    let stream = tokio::net::UnixStream::from_std(std_stream)?;
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<ShutdownRequest>(1);
    tokio::spawn(async move {
        let mut lines = BufReader::new(read).lines();
        let mut waiting: Option<ShutdownRequest> = None;
        loop {
            tokio::select! {
                biased;
                line = lines.next_line() => match line {
                    Ok(Some(line)) => {
                        let status = line.strip_prefix("DONE ").and_then(|s| s.trim().parse().ok());
                        if let (Some(status), Some(reply)) = (status, waiting.take()) {
                            let _ = reply.send(Ok(status));
                        }
                    }
                    _ => {
                        if let Some(reply) = waiting.take() {
                            let _ = reply.send(Err(io::Error::other("Parent died - shutdown impossible")));
                        }
                        control.send_modify(|c| c.parent_gone = true);
                        return;
                    }
                },
                request = rx.recv(), if waiting.is_none() => {
                    let Some(request) = request else { return };
                    if write.write_all(b"SHUTDOWN\n").await.is_err() {
                        let _ = request.send(Err(io::Error::other("Parent died - shutdown impossible")));
                        control.send_modify(|c| c.parent_gone = true);
                        return;
                    }
                    waiting = Some(request);
                }
            }
        }
    });
    Ok(ChildSys {
        inner,
        powerdownflag: conf.powerdownflag.clone(),
        requests: tx,
    })
}

/// The root parent: starts the monitoring child as `user` with this program's own
/// arguments, forwards reload/fsd/stop to it, and on its `SHUTDOWN` writes
/// POWERDOWNFLAG and runs SHUTDOWNCMD from its own configuration. Returns the exit
/// status. `ready` runs once the child is started.
pub async fn run_parent(
    user: &crate::service::User,
    conf: &UpsmonConf,
    sys: &RealSys,
    ready: crate::driver::Ready,
) -> io::Result<i32> {
    use std::os::fd::AsRawFd;
    let (parent_end, child_end) = std::os::unix::net::UnixStream::pair()?;
    let child_fd = child_end.as_raw_fd();
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .uid(user.uid)
        .gid(user.gid);
    // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(child_fd, CHILD_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    drop(child_end);
    let child_pid = child.id().unwrap_or(0);
    if let Some(ready) = ready {
        ready();
    }
    parent_end.set_nonblocking(true)?;
    let stream = tokio::net::UnixStream::from_std(parent_end)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut signals = crate::real::signals()?;
    let forward = |signal: &str| {
        let _ = crate::confload::signal_process(
            Some(child_pid),
            std::path::Path::new(""),
            signal,
            "upsmon",
        );
    };
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(crate::wiring::Signal::Reload) => forward("HUP"),
                Some(crate::wiring::Signal::Fsd) => forward("USR1"),
                Some(crate::wiring::Signal::Stop) | None => {
                    forward("TERM");
                    let _ = child.wait().await;
                    return Ok(0);
                }
            },
            line = lines.next_line() => match line {
                Ok(Some(line)) if line.trim() == "SHUTDOWN" => {
                    let status = shutdown(conf, sys).await;
                    let _ = write.write_all(format!("DONE {status}\n").as_bytes()).await;
                    let _ = child.wait().await;
                    sys.event(Event::ParentExiting { status });
                    return Ok(0);
                }
                Ok(Some(other)) => {
                    // Anything else is a broken or hostile child: never act on it.
                    sys.log(format!("upsmon parent: got bogus pipe command [{other}]"));
                    forward("TERM");
                    return Ok(1);
                }
                _ => {
                    sys.event(Event::ChildExited);
                    let _ = child.wait().await;
                    return Ok(1);
                }
            },
        }
    }
}

/// The parent's half of the shutdown: its own POWERDOWNFLAG and SHUTDOWNCMD.
async fn shutdown(conf: &UpsmonConf, sys: &RealSys) -> i32 {
    if let Some(path) = &conf.powerdownflag {
        crate::upsmon::write_powerdownflag(sys, path).await;
    }
    let Some(cmd) = &conf.shutdowncmd else {
        sys.event(Event::NoShutdownCmd);
        return 1;
    };
    match sys.exec(ExecPurpose::Shutdown, cmd, &[], &[]).await {
        Ok(status) => status,
        Err(e) => {
            sys.event(Event::ShutdownCmdFailed {
                error: e.to_string(),
            });
            -1
        }
    }
}
