//! The seams between daemon code and the world: network ([`Net`]), system effects
//! ([`Sys`]) and the dummy device's data file ([`DataSource`]).
//!
//! Daemons are generic over these traits, so the same functions run on tokio for real
//! (`crate::real`) and inside turmoil (the `sim` crate). Time is not a seam: daemons use
//! `tokio::time`, which turmoil drives. Nothing here may read `std::time` clocks.

use nut_core::event::Event;
use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// Network access for daemons and clients.
pub trait Net: Clone + Send + Sync + 'static {
    /// A TCP stream (upsd's clients, upsmon's and upsc's connections).
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A TCP listener.
    type Listener: Send + Sync + 'static;
    /// A driver-socket stream (a unix socket for real, loopback TCP in turmoil).
    type LocalStream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A driver-socket listener.
    type LocalListener: Send + Sync + 'static;

    /// Listens on `host:port` (IPv6 as `[addr]:port`).
    fn bind(&self, addr: &str) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// Accepts one connection; returns the stream and the peer's IP address as text.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, String)>> + Send;
    /// Connects to `host:port`.
    fn connect(&self, addr: &str) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Listens on the driver socket called `name` (e.g. `dummy-ups-myups`).
    fn bind_local(
        &self,
        name: &str,
    ) -> impl Future<Output = io::Result<Self::LocalListener>> + Send;
    /// Accepts one driver-socket connection.
    fn accept_local(
        listener: &Self::LocalListener,
    ) -> impl Future<Output = io::Result<Self::LocalStream>> + Send;
    /// Connects to the driver socket called `name`.
    fn connect_local(
        &self,
        name: &str,
    ) -> impl Future<Output = io::Result<Self::LocalStream>> + Send;
}

/// System effects: logging, timeline events, processes and files. The simulation
/// records these instead of performing them.
pub trait Sys: Clone + Send + Sync + 'static {
    /// A typed event: a log line at the event's level for real, a timeline entry in the
    /// simulation. Text is produced only when it is rendered.
    fn event(&self, event: Event);
    /// A debug line (shown with `-D`; never used for anything a check relies on).
    fn log(&self, what: String);
    /// Reads a config file (or a certificate) at start or reload, synchronously as NUT
    /// does. A missing file is an `io::ErrorKind::NotFound` error.
    fn read_config(&self, path: &str) -> io::Result<Vec<u8>>;
    /// The file names in a directory, sorted; `Ok(None)` when `path` is not a directory.
    fn list_dir(&self, path: &str) -> io::Result<Option<Vec<String>>>;
    /// Runs a shell command line with extra environment variables and arguments
    /// (`$1`, ...); returns its exit code.
    fn exec(
        &self,
        purpose: ExecPurpose,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> impl Future<Output = io::Result<i32>> + Send;
    /// Writes a whole file.
    fn write_file(&self, path: &str, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads a whole file; `Ok(None)` when it does not exist.
    fn read_file(&self, path: &str) -> impl Future<Output = io::Result<Option<Vec<u8>>>> + Send;
    /// Removes a file; a missing file is not an error.
    fn remove_file(&self, path: &str) -> impl Future<Output = io::Result<()>> + Send;
    /// Creates an empty file only if none exists (`O_CREAT|O_EXCL`, for lock files);
    /// `Ok(false)` when it already exists.
    fn create_new(&self, path: &str) -> impl Future<Output = io::Result<bool>> + Send;
}

/// Why a command runs (the simulation models each differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecPurpose {
    /// upsmon's SHUTDOWNCMD: the host goes down when it finishes.
    Shutdown,
    /// upsmon's NOTIFYCMD.
    Notify,
    /// upssched's CMDSCRIPT: `command` is the program and `args` its arguments, run
    /// without a shell.
    CmdScript,
    /// NOTIFYFLAG WALL: `command` is the wall program, `args[0]` the message, given on
    /// its standard input.
    Wall,
}

/// What a device data source has to say on one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Nothing new since the last read.
    Unchanged,
    /// New content (the first read is always `Changed`).
    Changed(Vec<u8>),
    /// The device does not answer (the driver goes stale).
    Dead,
}

/// Where dummy-ups reads its data: a file for real, a harness-controlled value in turmoil.
pub trait DataSource: Send + 'static {
    /// Polls the source.
    fn read(&mut self) -> impl Future<Output = Reading> + Send;
}

/// `host:port` for [`Net::bind`] and [`Net::connect`], with IPv6 literals in brackets.
pub fn socket_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// How far away "never" is for a deadline that would overflow the clock (30 years).
pub const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 86_400);

/// `start + after`, saturating at [`FAR_FUTURE`]: a huge configured duration means
/// "not in this process's life", never a panic (`Instant + Duration` panics on
/// overflow).
pub fn deadline(start: tokio::time::Instant, after: std::time::Duration) -> tokio::time::Instant {
    start.checked_add(after.min(FAR_FUTURE)).unwrap_or(start)
}
