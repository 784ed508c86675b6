//! A fake serial UPS on a pseudo-terminal, answering from a recorded transcript: real
//! drivers (ours and NUT's) open its path as they would `/dev/ttyS0`. For tests,
//! benchmarks and trying a setup without hardware.

use nut_core::transcript::{Answer, Transcript};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Longest query the fake accepts before it drops what it has, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;
/// How often the serving thread checks whether it should stop, in milliseconds.
pub const STOP_POLL_MS: i32 = 50;

/// A running fake UPS. Dropping it stops the thread and closes the terminal.
pub struct PtyUps {
    path: String,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    done: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// What the serving thread shares with its [`PtyUps`].
struct Shared {
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    done: Arc<Mutex<Vec<String>>>,
}

/// A device behind the fake terminal: bytes from the driver in, its answer out.
trait Device: Send + 'static {
    /// One byte from the driver; a complete query to log, and the bytes to send back.
    fn input(&mut self, byte: u8, now_ms: u64) -> (Option<Vec<u8>>, Vec<u8>);
    /// Commands the device carried out, for [`PtyUps::done`].
    fn done(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A Megatec/Q1 unit: queries end in `\r`, answered from the transcript.
struct LineDevice {
    transcript: Transcript,
    pending: Vec<u8>,
}

impl Device for LineDevice {
    fn input(&mut self, byte: u8, _now_ms: u64) -> (Option<Vec<u8>>, Vec<u8>) {
        self.pending.push(byte);
        if byte != b'\r' {
            if self.pending.len() > MAX_QUERY_BYTES {
                self.pending.clear();
            }
            return (None, Vec::new());
        }
        let query = std::mem::take(&mut self.pending);
        let reply = match self.transcript.answer(&query) {
            Answer::Bytes(reply) => reply,
            Answer::Silent => Vec::new(),
        };
        (Some(query), reply)
    }
}

/// An APC Smart-UPS: every byte is a command (`nut_core::apcsmart::SmartUps`).
struct ApcDevice(nut_core::apcsmart::SmartUps);

impl Device for ApcDevice {
    fn input(&mut self, byte: u8, now_ms: u64) -> (Option<Vec<u8>>, Vec<u8>) {
        (Some(vec![byte]), self.0.input(byte, now_ms))
    }
    fn done(&self) -> Vec<String> {
        self.0.done.clone()
    }
}

impl PtyUps {
    /// Opens a pseudo-terminal and serves `transcript` on it (a Megatec/Q1 unit).
    pub fn spawn(transcript: Transcript) -> io::Result<PtyUps> {
        Self::spawn_device(LineDevice {
            transcript,
            pending: Vec::new(),
        })
    }

    /// Opens a pseudo-terminal with an APC Smart-UPS answering as `transcript` records.
    pub fn spawn_apc(transcript: &Transcript) -> io::Result<PtyUps> {
        Self::spawn_device(ApcDevice(nut_core::apcsmart::SmartUps::new(transcript)))
    }

    /// Commands the device carried out (an APC unit's `@000`, `K`, `S`...), in order.
    pub fn done(&self) -> Vec<String> {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }

    fn spawn_device(device: impl Device) -> io::Result<PtyUps> {
        // SAFETY: plain libc calls on descriptors this function owns; every return
        // value is checked before use.
        let (master, slave, path) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let master = OwnedFd::from_raw_fd(fd);
            if libc::grantpt(fd) != 0 || libc::unlockpt(fd) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut buf = [0 as libc::c_char; 128];
            if libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let path = std::ffi::CStr::from_ptr(buf.as_ptr())
                .to_string_lossy()
                .into_owned();
            // Keep one slave descriptor open for the fake's lifetime: a driver closing
            // and reopening the port must not hang the terminal up. Raw mode, so the
            // terminal neither echoes nor translates until a driver sets its own mode.
            let cpath = std::ffi::CString::new(path.clone()).map_err(io::Error::other)?;
            let sfd = libc::open(cpath.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            if sfd < 0 {
                return Err(io::Error::last_os_error());
            }
            let slave = OwnedFd::from_raw_fd(sfd);
            let mut tio: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(sfd, &mut tio) == 0 {
                libc::cfmakeraw(&mut tio);
                libc::tcsetattr(sfd, libc::TCSANOW, &tio);
            }
            (master, slave, path)
        };
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let shared = Shared {
                stop: stop.clone(),
                queries: queries.clone(),
                log: log.clone(),
                done: done.clone(),
            };
            std::thread::spawn(move || {
                serve(master, device, &shared);
                drop(slave);
            })
        };
        Ok(PtyUps {
            path,
            stop,
            queries,
            log,
            done,
            thread: Some(thread),
        })
    }

    /// The terminal's path (`/dev/pts/N`), for a driver's `port`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Queries answered so far.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Every query received, in order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for PtyUps {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(master: OwnedFd, mut device: impl Device, shared: &Shared) {
    let fd = master.as_raw_fd();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    while !shared.stop.load(Ordering::Relaxed) {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, STOP_POLL_MS) };
        if ready <= 0 || pfd.revents & libc::POLLIN == 0 {
            continue;
        }
        // SAFETY: reading into a buffer of the length given.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            std::thread::sleep(std::time::Duration::from_millis(STOP_POLL_MS as u64));
            continue;
        }
        for &byte in &buf[..n as usize] {
            let now_ms = started.elapsed().as_millis() as u64;
            let (query, reply) = device.input(byte, now_ms);
            if let Some(query) = query {
                shared.queries.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut log) = shared.log.lock() {
                    log.push(query);
                }
            }
            if !reply.is_empty() {
                // One write, as a UART delivers a line: drivers that read once after
                // select (NUT's ser_get_buf) get the whole reply.
                // SAFETY: writing from a live buffer of the length given.
                unsafe { libc::write(fd, reply.as_ptr().cast(), reply.len()) };
            }
            if let Ok(mut done) = shared.done.lock() {
                let now = device.done();
                if now.len() != done.len() {
                    *done = now;
                }
            }
        }
    }
}
