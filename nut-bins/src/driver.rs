//! The dummy-ups driver shell: serves the driver socket and polls the data source.
//!
//! One loop owns the [`DriverState`] and [`DummyDevice`]; connection tasks only pump
//! lines in and out. Decisions live in `nut_core::dummy`.

use crate::lines::WordReader;
use crate::seam::{DataSource, Net, Reading, Sys};
use nut_core::dummy::{DriverState, DummyDevice, DummyMode};
use nut_core::sock::{DriverLine, ServerLine};
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Lines queued for one socket client before it counts as too slow and is dropped.
pub const CLIENT_QUEUE_LINES: usize = 4096;
/// Pause after a failed accept, so a descriptor shortage never becomes a busy loop.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// dummy-ups sleeps this long on top of pollinterval each cycle (as NUT does).
pub const DUMMY_EXTRA_SLEEP: Duration = Duration::from_secs(1);

/// Settings of one dummy-ups instance.
#[derive(Debug, Clone)]
pub struct DummyConfig {
    /// The UPS section name.
    pub ups: String,
    /// The `port` value (data file name), published as `driver.parameter.port`.
    pub port: String,
    /// Once or loop.
    pub mode: DummyMode,
    /// Poll interval in seconds.
    pub pollinterval_s: u64,
    /// `override.*` values: published and never replaced.
    pub overrides: Vec<(String, String)>,
    /// `default.*` values: published at start, replaced by readings.
    pub defaults: Vec<(String, String)>,
}

enum Input {
    Connected(u64, mpsc::Sender<String>),
    Line(u64, Vec<String>),
    Disconnected(u64),
}

/// Runs dummy-ups until the process is stopped.
pub async fn run_dummy<N: Net, S: Sys, D: DataSource>(
    net: N,
    sys: S,
    config: DummyConfig,
    mut source: D,
) -> io::Result<()> {
    let socket_name = format!("dummy-ups-{}", config.ups);
    let listener = net.bind_local(&socket_name).await?;
    sys.log(format!("listening on driver socket {socket_name}"));
    let (input_tx, mut input_rx) = mpsc::channel::<Input>(1024);
    // Tasks live in a JoinSet owned by this future: stopping the driver (dropping the
    // future) stops every connection too, as a process exit would.
    let mut tasks = JoinSet::new();
    tasks.spawn(accept_loop::<N>(listener, input_tx));

    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut state = DriverState::new();
    DummyDevice::publish_initial(&mut state, &config.port, config.mode, config.pollinterval_s);
    for (name, value) in &config.defaults {
        state.set(name, value);
    }
    for (name, value) in &config.overrides {
        state.tree_mut().set_immutable(name, value);
    }
    let mut device = DummyDevice::new(b"", config.mode);
    let mut clients: BTreeMap<u64, mpsc::Sender<String>> = BTreeMap::new();
    let period = Duration::from_secs(config.pollinterval_s) + DUMMY_EXTRA_SLEEP;
    let mut next_poll = tokio::time::Instant::now();
    loop {
        tokio::select! {
            biased;
            input = input_rx.recv() => {
                let Some(input) = input else { return Ok(()) };
                match input {
                    Input::Connected(id, tx) => { clients.insert(id, tx); }
                    Input::Disconnected(id) => { clients.remove(&id); }
                    Input::Line(id, words) => {
                        let Some(line) = ServerLine::parse(&words) else {
                            sys.log(format!("ignoring malformed line {words:?}"));
                            continue;
                        };
                        let reply = device.handle(&mut state, &line);
                        if let Some(tx) = clients.get(&id) {
                            send_lines(tx, &reply.reply);
                        }
                        broadcast(&mut clients, &reply.broadcast);
                    }
                }
            }
            _ = tokio::time::sleep_until(next_poll) => {
                next_poll += period;
                let mut lines = Vec::new();
                match source.read().await {
                    Reading::Dead => lines.extend(state.set_stale(true)),
                    Reading::Changed(text) => {
                        device.reload(&text);
                        lines.extend(device.poll(now(), &mut state));
                    }
                    Reading::Unchanged => lines.extend(device.poll(now(), &mut state)),
                }
                broadcast(&mut clients, &lines);
            }
        }
    }
}

fn send_lines(tx: &mpsc::Sender<String>, lines: &[DriverLine]) -> bool {
    if lines.is_empty() {
        return true;
    }
    let text: String = lines.iter().map(DriverLine::format).collect();
    tx.try_send(text).is_ok()
}

fn broadcast(clients: &mut BTreeMap<u64, mpsc::Sender<String>>, lines: &[DriverLine]) {
    if lines.is_empty() {
        return;
    }
    clients.retain(|_, tx| send_lines(tx, lines));
}

async fn accept_loop<N: Net>(listener: N::LocalListener, input: mpsc::Sender<Input>) {
    let mut next_id = 0u64;
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let Ok(stream) = N::accept_local(&listener).await else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            continue;
        };
        next_id += 1;
        let id = next_id;
        let (read_half, mut write_half) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::channel::<String>(CLIENT_QUEUE_LINES);
        if input.send(Input::Connected(id, tx)).await.is_err() {
            return;
        }
        tasks.spawn(async move {
            while let Some(text) = rx.recv().await {
                if write_half.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        let input = input.clone();
        tasks.spawn(async move {
            let mut reader = WordReader::new(read_half);
            while let Ok(Some(line)) = reader.next_line().await {
                if line.words.is_empty() {
                    continue;
                }
                if input.send(Input::Line(id, line.words)).await.is_err() {
                    return;
                }
            }
            let _ = input.send(Input::Disconnected(id)).await;
        });
    }
}

/// dummy-ups in repeater mode (`port = ups@host[:port]`): re-serves another upsd's UPS.
/// Each poll reads `LIST VAR` upstream (except `driver.*`) and presents it as data-file
/// text, so the same dummy-ups logic publishes it. Connection loss or an `ERR` makes
/// the data stale. SET and INSTCMD are not forwarded upstream (not implemented yet).
pub struct RepeaterSource<N: Net> {
    net: N,
    ups: String,
    addr: String,
    conn: Option<crate::lines::ClientConn<N::Stream>>,
    last: Option<Vec<u8>>,
}

impl<N: Net> RepeaterSource<N> {
    /// Repeats UPS `ups` of the upsd at `addr` (`host:port`).
    pub fn new(net: N, ups: &str, addr: &str) -> Self {
        RepeaterSource {
            net,
            ups: ups.to_string(),
            addr: addr.to_string(),
            conn: None,
            last: None,
        }
    }

    async fn fetch(&mut self) -> Option<Vec<u8>> {
        if self.conn.is_none() {
            let stream =
                tokio::time::timeout(REPEATER_CONNECT_TIMEOUT, self.net.connect(&self.addr))
                    .await
                    .ok()?
                    .ok()?;
            self.conn = Some(crate::lines::ClientConn::new(stream));
        }
        let conn = self.conn.as_mut()?;
        let query = nut_core::proto::format_request(&["VAR", &self.ups]);
        let items = match conn.list(query.trim_end()).await {
            Ok(Ok(items)) => items,
            Ok(Err(_)) => return None,
            Err(_) => {
                self.conn = None;
                return None;
            }
        };
        let mut text = String::new();
        for item in items {
            let Ok(words) = nut_core::proto::parse_reply(&item) else {
                continue;
            };
            if words.len() < 4 || words[2].starts_with("driver.") {
                continue;
            }
            let value = if words[2].eq_ignore_ascii_case("ups.status") {
                words[3].clone()
            } else {
                nut_core::tokenizer::quote(&words[3])
            };
            text.push_str(&format!("{}: {value}\n", words[2]));
        }
        Some(text.into_bytes())
    }
}

/// How long the repeater waits for the upstream upsd to accept a connection.
pub const REPEATER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl<N: Net> DataSource for RepeaterSource<N> {
    async fn read(&mut self) -> Reading {
        match self.fetch().await {
            None => {
                self.last = None;
                Reading::Dead
            }
            Some(text) if self.last.as_ref() == Some(&text) => Reading::Unchanged,
            Some(text) => {
                self.last = Some(text.clone());
                Reading::Changed(text)
            }
        }
    }
}
