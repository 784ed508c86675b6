//! Real serial ports for the serial drivers (the simulation has its own port models).
//! Blocking reads run on tokio's blocking pool; this is the one place of the drivers
//! that uses the wall clock (a read deadline).

use crate::qx::QxPort;
use nut_core::qx::Reply;
use std::io;
use std::time::Duration;

/// Serial speed of Megatec/Q1 units, in baud (NUT's `B2400`).
pub const BAUD: u32 = 2400;
/// Pause after opening the port so the cable's power lines settle (NUT: 100 ms).
pub const CABLEPOWER_SETTLE: Duration = Duration::from_millis(100);

/// A serial port (or a USB-to-serial adapter's tty) at 2400 baud. Reads run on tokio's
/// blocking pool; a port that fails is closed and opened again on the next query, so a
/// USB adapter unplugged and plugged back is picked up.
pub struct SerialQx {
    path: String,
    cablepower: (bool, bool),
    port: Option<Box<dyn serialport::SerialPort>>,
}

impl SerialQx {
    /// Opens `path` (NUT fails at start when the port cannot be opened; so does this).
    pub fn open(path: &str, cablepower: (bool, bool)) -> io::Result<SerialQx> {
        let port = Self::open_port(path, cablepower)?;
        Ok(SerialQx {
            path: path.to_string(),
            cablepower,
            port: Some(port),
        })
    }

    fn open_port(
        path: &str,
        (dtr, rts): (bool, bool),
    ) -> io::Result<Box<dyn serialport::SerialPort>> {
        let mut port = serialport::new(path, BAUD)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| io::Error::other(format!("Unable to open {path}: {e}")))?;
        // Pseudo-terminals and some adapters have no modem lines: NUT ignores that too.
        let _ = port.write_data_terminal_ready(dtr);
        let _ = port.write_request_to_send(rts);
        std::thread::sleep(CABLEPOWER_SETTLE);
        Ok(port)
    }
}

/// One query on a blocking port: flush, write, read up to `\r` or the deadline.
fn serial_transact(port: &mut dyn serialport::SerialPort, query: &[u8]) -> Result<Reply, ()> {
    let _ = port.clear(serialport::ClearBuffer::Input);
    port.write_all(query).map_err(|_| ())?;
    let _ = port.flush();
    let deadline = std::time::Instant::now() + Duration::from_secs(nut_core::qx::SER_WAIT_SEC);
    let mut answer = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = port.set_timeout(left);
        match port.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.contains(&b'\r') || answer.len() >= nut_core::qx::MAX_ANSWER_BYTES {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(()),
        }
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
        let port = match self.port.take() {
            Some(port) => Some(port),
            None => Self::open_port(&self.path, self.cablepower).ok(),
        };
        let Some(mut port) = port else {
            return Reply::Error;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let reply = serial_transact(port.as_mut(), &query);
            (port, reply)
        })
        .await;
        match joined {
            Ok((port, Ok(reply))) => {
                self.port = Some(port);
                reply
            }
            // The port failed: drop it, reopen on the next query.
            Ok((_, Err(()))) | Err(_) => Reply::Error,
        }
    }
}
