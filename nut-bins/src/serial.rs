//! Real serial ports for the serial drivers (the simulation has its own port models).
//!
//! The port is opened and configured by the `serialport` crate (speed, raw mode, modem
//! lines), then driven without blocking through tokio's reactor: one query costs one
//! write, a readiness wake-up per chunk of the reply and a timer, with no thread of
//! its own. Deadlines use `tokio::time`.

use crate::apcsmart::ApcPort;
use crate::qx::QxPort;
use nut_core::apcsmart::{Io, IoResult, MAX_LINE_BYTES};
use nut_core::qx::{Reply, MAX_ANSWER_BYTES, SER_WAIT_SEC};
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// Serial speed of Megatec/Q1 units, in baud (NUT's `B2400`).
pub const BAUD: u32 = 2400;
/// Pause after opening the port so the cable's power lines settle (NUT: 100 ms).
pub const CABLEPOWER_SETTLE: Duration = Duration::from_millis(100);

/// A serial port (or a USB-to-serial adapter's tty) at 2400 baud. A port that fails
/// (an adapter unplugged) is closed and opened again on the next query, so an adapter
/// plugged back in is picked up.
pub struct SerialQx {
    path: String,
    cablepower: (bool, bool),
    port: Option<AsyncFd<serialport::TTYPort>>,
}

impl SerialQx {
    /// Opens `path` (NUT fails at start when the port cannot be opened; so does this).
    /// Must run inside a tokio runtime.
    pub fn open(path: &str, cablepower: (bool, bool)) -> io::Result<SerialQx> {
        let port = Self::open_port(path, cablepower)?;
        Ok(SerialQx {
            path: path.to_string(),
            cablepower,
            port: Some(port),
        })
    }

    pub(crate) fn open_port(
        path: &str,
        (dtr, rts): (bool, bool),
    ) -> io::Result<AsyncFd<serialport::TTYPort>> {
        use serialport::SerialPort;
        let mut port = serialport::new(path, BAUD)
            .timeout(Duration::from_secs(SER_WAIT_SEC))
            .open_native()
            .map_err(|e| io::Error::other(format!("Unable to open {path}: {e}")))?;
        // Pseudo-terminals and some adapters have no modem lines: NUT ignores that too.
        let _ = port.write_data_terminal_ready(dtr);
        let _ = port.write_request_to_send(rts);
        std::thread::sleep(CABLEPOWER_SETTLE);
        let fd = port.as_raw_fd();
        // SAFETY: fcntl on the descriptor `port` owns, which stays open while `port` lives.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: `port` owns `fd`, keeps it open until it is dropped (inside the
        // AsyncFd, after the registration ends) and always returns that same descriptor.
        unsafe { AsyncFd::register(port) }.map_err(io::Error::from)
    }
}

/// Writes all of `bytes` to `port`.
async fn write_all(port: &AsyncFd<serialport::TTYPort>, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        let mut guard = port.writable().await?;
        match guard.try_io(|inner| {
            let rest = &bytes[written..];
            // SAFETY: writing from a live buffer of the length given.
            let n = unsafe { libc::write(inner.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }) {
            Ok(result) => written += result?,
            Err(_would_block) => continue,
        }
    }
    Ok(())
}

/// Waits until `port` has input, then reads what is there (at least one byte).
async fn read_some(port: &AsyncFd<serialport::TTYPort>) -> io::Result<Vec<u8>> {
    let mut buf = [0u8; 64];
    loop {
        let mut guard = port.readable().await?;
        match guard.try_io(|inner| {
            // SAFETY: reading into a buffer of the length given.
            let n = unsafe { libc::read(inner.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }) {
            Ok(Ok(0)) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(Ok(n)) => return Ok(buf[..n].to_vec()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {}
        }
    }
}

/// Reads what is already there without waiting (the descriptor is non-blocking): no
/// timer, no wake-up.
fn read_now(port: &AsyncFd<serialport::TTYPort>) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a buffer of the length given, from the descriptor `port` owns.
        let n = unsafe {
            libc::read(
                port.get_ref().as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n > 0 {
            got.extend_from_slice(&buf[..n as usize]);
            if got.len() > MAX_LINE_BYTES * 4 {
                return Ok(got);
            }
            continue;
        }
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock => Ok(got),
            io::ErrorKind::Interrupted => continue,
            _ => Err(e),
        };
    }
}

/// Discards unread input (and unsent output when `output`).
fn flush(port: &AsyncFd<serialport::TTYPort>, output: bool) {
    let fd = port.get_ref().as_raw_fd();
    let what = if output {
        libc::TCIOFLUSH
    } else {
        libc::TCIFLUSH
    };
    // SAFETY: tcflush on a descriptor owned by `port`.
    unsafe { libc::tcflush(fd, what) };
}

/// One query: drop stale input, write, read up to `\r` or [`SER_WAIT_SEC`].
async fn transact_on(port: &AsyncFd<serialport::TTYPort>, query: &[u8]) -> io::Result<Reply> {
    flush(port, false);
    write_all(port, query).await?;
    let mut answer = Vec::new();
    let read = async {
        loop {
            answer.extend(read_some(port).await?);
            if answer.contains(&b'\r') || answer.len() >= MAX_ANSWER_BYTES {
                return Ok::<(), io::Error>(());
            }
        }
    };
    // A timeout keeps what came so far (NUT's read returns whatever arrived).
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(SER_WAIT_SEC), read).await {
        return Err(e);
    }
    if let Some(end) = answer.iter().position(|&b| b == b'\r') {
        answer.truncate(end + 1);
    }
    Ok(if answer.is_empty() {
        Reply::Timeout
    } else {
        Reply::Bytes(answer)
    })
}

impl QxPort for SerialQx {
    async fn transact(&mut self, query: Vec<u8>) -> Reply {
        if self.port.is_none() {
            self.port = Self::open_port(&self.path, self.cablepower).ok();
        }
        let Some(port) = &self.port else {
            return Reply::Error;
        };
        match transact_on(port, &query).await {
            Ok(reply) => reply,
            Err(_) => {
                // The port failed: close it, open it again on the next query.
                self.port = None;
                Reply::Error
            }
        }
    }
}

/// An APC Smart unit's serial port at 2400 baud, raw mode (the driver core does what
/// NUT's canonical terminal does with the bytes). Bytes read past a line end wait for
/// the next read. A failed port is opened again on the next step.
pub struct SerialApc {
    path: String,
    cable_0095b: bool,
    port: Option<AsyncFd<serialport::TTYPort>>,
    pending: Vec<u8>,
}

impl SerialApc {
    /// Opens `path`; `cable_0095b` sets DTR and clears RTS (NUT's `cable=940-0095B`).
    /// Must run inside a tokio runtime.
    pub fn open(path: &str, cable_0095b: bool) -> io::Result<SerialApc> {
        let port = Self::open_port(path, cable_0095b)?;
        Ok(SerialApc {
            path: path.to_string(),
            cable_0095b,
            port: Some(port),
            pending: Vec::new(),
        })
    }

    fn open_port(path: &str, cable_0095b: bool) -> io::Result<AsyncFd<serialport::TTYPort>> {
        let lines = if cable_0095b {
            (true, false)
        } else {
            // NUT leaves the lines as opening the port set them.
            (true, true)
        };
        let fd = SerialQx::open_port(path, lines)?;
        flush(&fd, true);
        Ok(fd)
    }

    async fn step_on(&mut self, io: &Io) -> io::Result<IoResult> {
        let Some(port) = &self.port else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        match io {
            Io::Flush => {
                flush(port, true);
                self.pending.clear();
                Ok(IoResult::Done)
            }
            Io::Write { bytes, pace_ms } => {
                if *pace_ms == 0 {
                    write_all(port, bytes).await?;
                } else {
                    for b in bytes {
                        write_all(port, std::slice::from_ref(b)).await?;
                        tokio::time::sleep(Duration::from_millis(*pace_ms)).await;
                    }
                }
                Ok(IoResult::Done)
            }
            Io::Sleep { ms } => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(IoResult::Done)
            }
            Io::Drain { timeout_ms } => {
                let mut got = std::mem::take(&mut self.pending);
                if got.is_empty() && *timeout_ms > 0 {
                    if let Ok(more) =
                        tokio::time::timeout(Duration::from_millis(*timeout_ms), read_some(port))
                            .await
                    {
                        got.extend(more?);
                    }
                }
                got.extend(read_now(port)?);
                Ok(IoResult::Line(got))
            }
            Io::Read { timeout_ms, star } => self.read_line(*timeout_ms, *star).await,
            Io::Command {
                code,
                alerts,
                timeout_ms,
            } => {
                let mut pending = std::mem::take(&mut self.pending);
                if *alerts {
                    pending.extend(read_now(port)?);
                } else {
                    flush(port, true);
                    pending.clear();
                }
                write_all(port, &[*code]).await?;
                let read = self.read_line(*timeout_ms, false).await?;
                Ok(IoResult::Answer {
                    pending,
                    read: Box::new(read),
                })
            }
        }
    }

    /// Reads up to a line end (`\n`, or `*` when `star`), each chunk within `timeout_ms`.
    async fn read_line(&mut self, timeout_ms: u64, star: bool) -> io::Result<IoResult> {
        let Some(port) = &self.port else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let ends = |b: &u8| *b == b'\n' || (star && *b == b'*');
        let mut got = std::mem::take(&mut self.pending);
        loop {
            if let Some(i) = got.iter().position(ends) {
                self.pending = got.split_off(i + 1);
                return Ok(IoResult::Line(got));
            }
            if got.len() > MAX_LINE_BYTES {
                // Let the driver see the overflow.
                return Ok(IoResult::Line(got));
            }
            match tokio::time::timeout(Duration::from_millis(timeout_ms), read_some(port)).await {
                Ok(more) => got.extend(more?),
                Err(_) => return Ok(IoResult::Timeout(got)),
            }
        }
    }
}

impl ApcPort for SerialApc {
    async fn step(&mut self, io: Io) -> IoResult {
        if self.port.is_none() {
            self.port = Self::open_port(&self.path, self.cable_0095b).ok();
            self.pending.clear();
        }
        match self.step_on(&io).await {
            Ok(result) => result,
            Err(_) => {
                // The port failed: close it, open it again on the next step.
                self.port = None;
                IoResult::Error
            }
        }
    }
}

/// How long `nut-scanner -E` waits for a `Q1` reply, in seconds (NUT's scan uses 1).
pub const PROBE_Q1_WAIT: Duration = Duration::from_secs(1);
/// Tries of `Q1` per port (NUT's scan: 3).
pub const PROBE_Q1_TRIES: u32 = 3;
/// How long `nut-scanner -E` waits for an APC unit's `SM`.
pub const PROBE_SMART_WAIT: Duration = Duration::from_millis(1_500);

/// Reads until what came satisfies `done` or `wait` passes; what came.
async fn read_until(
    port: &AsyncFd<serialport::TTYPort>,
    done: impl Fn(&[u8]) -> bool,
    wait: Duration,
) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        while !done(&got) && got.len() < MAX_LINE_BYTES {
            match read_some(port).await {
                Ok(more) => got.extend(more),
                Err(_) => break,
            }
        }
    })
    .await;
    got
}

/// `nut-scanner -E`: probes the serial port at `path` for a unit one of the drivers
/// claims: a Megatec/Q1 unit as NUT's scan does (2400 baud, DTR on and RTS off, `Q1`
/// up to three times), then an APC Smart unit (`Y` answered `SM`). The driver, or
/// `None` (no port, no answer, something else).
pub async fn probe(path: &str) -> Option<&'static str> {
    let port = SerialQx::open_port(path, (true, false)).ok()?;
    for _ in 0..PROBE_Q1_TRIES {
        flush(&port, true);
        write_all(&port, b"Q1\r").await.ok()?;
        let reply = read_until(&port, |got| got.contains(&b'\r'), PROBE_Q1_WAIT).await;
        if nut_core::scan::q1_reply_matches(&reply) {
            return Some("nutdrv_qx");
        }
    }
    flush(&port, true);
    write_all(&port, b"Y").await.ok()?;
    // Answers to the Q1 probes may still come in ahead of it: any line will do.
    let smart = |got: &[u8]| {
        got.split(|&b| b == b'\n')
            .any(nut_core::scan::smart_reply_matches)
    };
    let reply = read_until(&port, smart, PROBE_SMART_WAIT).await;
    smart(&reply).then_some("apcsmart")
}
