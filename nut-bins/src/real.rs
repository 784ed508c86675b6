//! The real implementations of the seams: tokio TCP, unix sockets in the state path,
//! `/bin/sh`, the real filesystem, and a data file watched by modification time.

use crate::seam::{DataSource, ExecPurpose, Net, Reading, Sys};
use nut_core::event::{Event, Level};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// tokio networking; driver sockets live in `statepath`.
#[derive(Debug, Clone)]
pub struct TokioNet {
    statepath: Arc<PathBuf>,
    /// `-4` (`Some(false)`) or `-6` (`Some(true)`): the address family of outgoing
    /// connections.
    family: Option<bool>,
}

impl TokioNet {
    /// Driver sockets will be created in (or looked up in) `statepath`.
    pub fn new(statepath: impl Into<PathBuf>) -> Self {
        TokioNet {
            statepath: Arc::new(statepath.into()),
            family: None,
        }
    }

    /// Outgoing connections over IPv6 only (`Some(true)`), IPv4 only (`Some(false)`)
    /// or either (`None`).
    pub fn with_family(mut self, ipv6: Option<bool>) -> Self {
        self.family = ipv6;
        self
    }

    fn local_path(&self, name: &str) -> PathBuf {
        self.statepath.join(name)
    }
}

/// The listen queue of upsd's sockets, in connections: a burst of clients connecting
/// at once (every secondary reconnecting after a network blip, a moment when upsd is
/// not scheduled) waits there until upsd accepts it; beyond it the kernel drops the SYN
/// and the client retries a second later. NUT's upsd listens with 16 (server/upsd.c).
/// Deeper is not better: under a connection flood whose clients each send a large
/// payload (tests/it/hostile.rs), a new client was answered 0.3 s after the flood with
/// 128, 3.6 s with 512 and 26 s with 4096, as upsd first works through every queued
/// connection, and the pollers got 2.3 and 6 times fewer answers during it.
pub const LISTEN_BACKLOG: u32 = 128;

/// A listening socket on `addr` with [`LISTEN_BACKLOG`]; `SO_REUSEADDR` as NUT sets it,
/// so a restarted upsd binds again while old connections sit in TIME_WAIT.
fn listen_on(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl Net for TokioNet {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type LocalStream = UnixStream;
    type LocalListener = UnixListener;

    async fn bind(&self, addr: &str) -> io::Result<TcpListener> {
        let mut last = None;
        for candidate in tokio::net::lookup_host(addr).await? {
            match listen_on(candidate) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr}: could not resolve to any address"),
            )
        }))
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, String)> {
        let (stream, peer) = listener.accept().await?;
        // Replies are written whole; NODELAY avoids the 40 ms delayed-ACK stall NUT has.
        stream.set_nodelay(true)?;
        Ok((stream, peer.ip().to_string()))
    }

    async fn connect(&self, addr: &str) -> io::Result<TcpStream> {
        let stream = match self.family {
            None => TcpStream::connect(addr).await?,
            Some(ipv6) => {
                let mut last = io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("{addr}: no {} address", if ipv6 { "IPv6" } else { "IPv4" }),
                );
                let mut found = None;
                for candidate in tokio::net::lookup_host(addr).await? {
                    if candidate.is_ipv6() != ipv6 {
                        continue;
                    }
                    match TcpStream::connect(candidate).await {
                        Ok(stream) => {
                            found = Some(stream);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                found.ok_or(last)?
            }
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn bind_local(&self, name: &str) -> io::Result<UnixListener> {
        let path = self.local_path(name);
        // A stale socket is replaced (as NUT does); anything else at that path is a
        // user's file and is never removed.
        use std::os::unix::fs::FileTypeExt;
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(&path)?,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a socket; not replacing it",
                        path.display()
                    ),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(&path)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))?;
        Ok(listener)
    }

    async fn accept_local(listener: &UnixListener) -> io::Result<UnixStream> {
        Ok(listener.accept().await?.0)
    }

    async fn connect_local(&self, name: &str) -> io::Result<UnixStream> {
        UnixStream::connect(self.local_path(name)).await
    }
}

/// Real system effects; logs go to stderr with the program name (in the foreground) or
/// to the system logger (in the background, as NUT's daemons).
#[derive(Debug, Clone)]
pub struct RealSys {
    program: Arc<str>,
    verbose: bool,
    syslog: bool,
}

impl RealSys {
    /// Effects for `program` (used as the log prefix). Logs go to the system logger in
    /// the background copy of a daemon, to stderr otherwise.
    pub fn new(program: &str, verbose: bool) -> Self {
        RealSys {
            program: program.into(),
            verbose,
            syslog: is_background_child(),
        }
    }
}

impl Sys for RealSys {
    fn event(&self, event: Event) {
        // A notification reaches the log only with NOTIFYFLAG SYSLOG (NUT's rule).
        if let Event::Notify { syslog: false, .. } = event {
            if !self.verbose {
                return;
            }
        }
        if event.level() < Level::Debug || self.verbose {
            if self.syslog {
                syslog(&self.program, event.level(), &event.to_string());
            } else {
                eprintln!("{}: {}", self.program, event);
            }
        }
    }

    fn read_config(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn list_dir(&self, path: &str) -> io::Result<Option<Vec<String>>> {
        let dir = std::path::Path::new(path);
        if !dir.is_dir() {
            return Ok(None);
        }
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(Some(names))
    }

    fn log(&self, what: String) {
        if self.verbose {
            eprintln!("{}: {}", self.program, what);
        }
    }

    async fn exec(
        &self,
        purpose: ExecPurpose,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> io::Result<i32> {
        if purpose == ExecPurpose::Wall {
            use tokio::io::AsyncWriteExt;
            let mut child = tokio::process::Command::new(command)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                let message = args.first().cloned().unwrap_or_default();
                let _ = stdin.write_all(format!("{message}\n").as_bytes()).await;
            }
            let status = child.wait().await?;
            return Ok(status.code().unwrap_or(-1));
        }
        if purpose == ExecPurpose::CmdScript {
            // upssched's CMDSCRIPT: argv, no shell (NUT 2.8.x).
            let status = tokio::process::Command::new(command)
                .args(args)
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .status()
                .await?;
            return Ok(status.code().unwrap_or(-1));
        }
        // The command line goes through the shell like NUT's system(); arguments are
        // passed as $1... so a message can never inject shell syntax.
        let script = if args.is_empty() {
            command.to_string()
        } else {
            format!("{command} \"$@\"")
        };
        let status = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .status()
            .await?;
        Ok(status.code().unwrap_or(-1))
    }

    async fn write_file(&self, path: &str, data: &[u8]) -> io::Result<()> {
        tokio::fs::write(path, data).await
    }

    async fn read_file(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(path).await {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn remove_file(&self, path: &str) -> io::Result<()> {
        match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn create_new(&self, path: &str) -> io::Result<bool> {
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A dummy-ups data file, re-read when its modification time or size changes.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    last_seen: Option<(std::time::SystemTime, u64)>,
}

impl FileSource {
    /// Watches `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            last_seen: None,
        }
    }
}

impl DataSource for FileSource {
    async fn read(&mut self) -> Reading {
        let Ok(meta) = tokio::fs::metadata(&self.path).await else {
            return Reading::Dead;
        };
        let stamp = (meta.modified().unwrap_or(std::time::UNIX_EPOCH), meta.len());
        if self.last_seen == Some(stamp) {
            return Reading::Unchanged;
        }
        match tokio::fs::read(&self.path).await {
            Ok(data) => {
                self.last_seen = Some(stamp);
                Reading::Changed(data)
            }
            Err(_) => Reading::Dead,
        }
    }
}

/// Unix signals as [`crate::wiring::Signal`]s: SIGHUP reload, SIGTERM and SIGINT stop,
/// SIGUSR1 fsd. Must be called inside the tokio runtime.
pub fn signals() -> io::Result<tokio::sync::mpsc::Receiver<crate::wiring::Signal>> {
    use crate::wiring::Signal;
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = hup.recv() => Signal::Reload,
                _ = term.recv() => Signal::Stop,
                _ = int.recv() => Signal::Stop,
                _ = usr1.recv() => Signal::Fsd,
            };
            if tx.send(signal).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// A current-thread tokio runtime (every daemon runs on one thread, like NUT's).
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// NUT's environment of this process (`NUT_CONFPATH`, `NUT_STATEPATH`, `NUT_ALTPIDPATH`).
pub fn nut_env() -> crate::wiring::NutEnv {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    crate::wiring::NutEnv {
        confpath: var("NUT_CONFPATH")
            .unwrap_or_else(|| crate::wiring::DEFAULT_CONFPATH.to_string()),
        statepath: var("NUT_STATEPATH"),
        altpidpath: var("NUT_ALTPIDPATH"),
    }
}

/// Set in the environment of the copy of itself a daemon starts to go to the
/// background; that copy reports readiness on its stdout.
pub const BACKGROUND_CHILD_ENV: &str = "NUT_RS_BACKGROUND_CHILD";
/// The line the background copy writes once it serves.
const READY_LINE: &str = "READY";
/// How long the parent waits for the background copy to be ready.
pub const BACKGROUND_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// True in the background copy of a daemon.
pub fn is_background_child() -> bool {
    std::env::var_os(BACKGROUND_CHILD_ENV).is_some()
}

/// Goes to the background like NUT's daemons: starts a copy of this program with the
/// same arguments in its own process group, without a terminal, and returns the exit
/// code for this (parent) process once the copy says it serves (0), exits (its code,
/// or 1), or does not get ready in time (1). Call only when not
/// [`is_background_child`].
pub fn background() -> std::process::ExitCode {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("Fatal error: cannot find my own program to go to the background: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let child = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(BACKGROUND_CHILD_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("Fatal error: cannot go to the background: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let Some(stdout) = child.stdout.take() else {
        return std::process::ExitCode::FAILURE;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let ready = std::io::BufReader::new(stdout).read_line(&mut line).is_ok()
            && line.trim_end() == READY_LINE;
        let _ = tx.send(ready);
    });
    match rx.recv_timeout(BACKGROUND_READY_TIMEOUT) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
            eprintln!("Fatal error: the background process exited with status {code} before it was ready (see the system log)");
            std::process::ExitCode::from(u8::try_from(code).unwrap_or(1).max(1))
        }
        Err(_) => {
            eprintln!(
                "Fatal error: the background process was not ready within {} s",
                BACKGROUND_READY_TIMEOUT.as_secs()
            );
            std::process::ExitCode::FAILURE
        }
    }
}

/// What a daemon does once it serves: writes its PID file and, in the background
/// copy, tells the waiting parent.
pub fn ready_actions(pidfile: Option<std::path::PathBuf>) -> crate::driver::Ready {
    Some(Box::new(move || {
        if let Some(pidfile) = &pidfile {
            crate::confload::write_pidfile(pidfile);
        }
        if is_background_child() {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{READY_LINE}");
            let _ = out.flush();
        }
        crate::service::sd_notify("READY=1");
    }))
}

/// Sends one message to the system logger (`/dev/log`, or `NUT_SYSLOG_SOCKET`;
/// facility daemon), as NUT's daemons log when in the background. Errors are ignored: logging must never stop a
/// daemon.
pub fn syslog(program: &str, level: nut_core::event::Level, message: &str) {
    const LOG_DAEMON: u8 = 3;
    let priority = LOG_DAEMON * 8 + level.syslog_priority();
    let line = format!("<{priority}>{program}[{}]: {message}", std::process::id());
    let path = syslog_path();
    // The socket connected before a chroot keeps working inside it (NUT opens its
    // syslog connection before it chroots, for the same reason).
    if let Some(Some(socket)) = SYSLOG.get() {
        if socket.send(line.as_bytes()).is_ok() {
            return;
        }
    }
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.send_to(line.as_bytes(), path);
    }
}

/// Prints a fatal error on stderr and, in a background child (whose stderr goes
/// nowhere), also to syslog at LOG_ERR, as NUT's `fatalx` reaches the log once a
/// daemon is in the background.
pub fn fatal(message: &str) {
    eprintln!("{message}");
    if is_background_child() {
        let program = std::env::args_os()
            .next()
            .map(std::path::PathBuf::from)
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        syslog(&program, nut_core::event::Level::Err, message);
    }
}

/// The system logger's socket connected once, before a chroot ([`connect_syslog`]).
static SYSLOG: std::sync::OnceLock<Option<std::os::unix::net::UnixDatagram>> =
    std::sync::OnceLock::new();

/// `/dev/log`, or `NUT_SYSLOG_SOCKET` (for tests).
fn syslog_path() -> std::ffi::OsString {
    std::env::var_os("NUT_SYSLOG_SOCKET").unwrap_or_else(|| "/dev/log".into())
}

/// Connects to the system logger now, so that [`syslog`] still reaches it from inside
/// a chroot.
pub fn connect_syslog() {
    SYSLOG.get_or_init(|| {
        let socket = std::os::unix::net::UnixDatagram::unbound().ok()?;
        socket.connect(syslog_path()).ok()?;
        Some(socket)
    });
}
