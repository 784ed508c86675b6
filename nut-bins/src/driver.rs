//! The dummy-ups driver shell: serves the driver socket and polls the data source.
//!
//! One loop owns the [`DriverState`] and [`DummyDevice`]; connection tasks only pump
//! lines in and out. Decisions live in `nut_core::dummy`.

use crate::lines::WordReader;
use crate::seam::{DataSource, Net, Reading, Sys};
use crate::wiring::{load, NutEnv, Signal};
use nut_core::config::parse_ups_conf;
use nut_core::dummy::{DriverState, DummyDevice, DummyMode};
use nut_core::event::Event;
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

pub(crate) enum Input {
    Connected(u64, mpsc::Sender<String>),
    Line(u64, Vec<String>),
    Disconnected(u64),
}

/// Called once when a daemon is ready to serve (its socket listens): the binary uses it
/// to let the parent of a backgrounded driver exit, and for PID files.
pub type Ready = Option<Box<dyn FnOnce() + Send>>;

/// dummy-ups's variables before the first reading: its own `driver.*` values, then
/// `default.*` and `override.*` from ups.conf.
pub fn initial_state(config: &DummyConfig) -> DriverState {
    let mut state = DriverState::new();
    DummyDevice::publish_initial(&mut state, &config.port, config.mode, config.pollinterval_s);
    for (name, value) in &config.defaults {
        state.set(name, value);
    }
    for (name, value) in &config.overrides {
        state.tree_mut().set_immutable(name, value);
    }
    state
}

/// Runs dummy-ups until the process is stopped.
pub async fn run_dummy<N: Net, S: Sys, D: DataSource>(
    net: N,
    sys: S,
    config: DummyConfig,
    mut source: D,
    ready: Ready,
) -> io::Result<()> {
    // Tasks live in a JoinSet owned by this future: stopping the driver (dropping the
    // future) stops every connection too, as a process exit would.
    let mut tasks = JoinSet::new();
    let socket_name = format!("dummy-ups-{}", config.ups);
    let mut input_rx = open_socket(&net, &sys, &socket_name, ready, &mut tasks).await?;

    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut state = initial_state(&config);
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
                            sys.log(format!("ignoring malformed line from upsd: {}", words.join(" ")));
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

/// Binds a driver's socket (`name` in the state path), reports it, calls `ready` and
/// starts accepting upsd's connections; lines arrive on the returned channel. The
/// accept task lives in `tasks` (dropped with the driver, as a process exit would).
pub(crate) async fn open_socket<N: Net, S: Sys>(
    net: &N,
    sys: &S,
    name: &str,
    ready: Ready,
    tasks: &mut JoinSet<()>,
) -> io::Result<mpsc::Receiver<Input>> {
    let listener = net.bind_local(name).await?;
    sys.event(Event::DriverListening {
        socket: name.to_string(),
    });
    if let Some(ready) = ready {
        ready();
    }
    let (input_tx, input_rx) = mpsc::channel::<Input>(DRIVER_INPUT_QUEUE);
    tasks.spawn(accept_loop::<N>(listener, input_tx));
    Ok(input_rx)
}

/// Lines from upsd connections queued for a driver's loop.
pub const DRIVER_INPUT_QUEUE: usize = 1024;

pub(crate) fn send_lines(tx: &mpsc::Sender<String>, lines: &[DriverLine]) -> bool {
    if lines.is_empty() {
        return true;
    }
    let text: String = lines.iter().map(DriverLine::format).collect();
    tx.try_send(text).is_ok()
}

pub(crate) fn broadcast(clients: &mut BTreeMap<u64, mpsc::Sender<String>>, lines: &[DriverLine]) {
    if lines.is_empty() {
        return;
    }
    clients.retain(|_, tx| send_lines(tx, lines));
}

pub(crate) async fn accept_loop<N: Net>(listener: N::LocalListener, input: mpsc::Sender<Input>) {
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
    host: String,
    addr: String,
    tls: Option<tokio_rustls::TlsConnector>,
    conn: Option<crate::lines::ClientConn<crate::tls::MaybeTls<N::Stream>>>,
    last: Option<Vec<u8>>,
}

impl<N: Net> RepeaterSource<N> {
    /// Repeats UPS `ups` of the upsd on `host` port `port`. Like NUT's repeater it
    /// tries STARTTLS (without verifying the server) and goes on in plain text when
    /// upsd does not offer it.
    pub fn new(net: N, ups: &str, host: &str, port: u16) -> Self {
        RepeaterSource {
            net,
            ups: ups.to_string(),
            host: host.to_string(),
            addr: crate::seam::socket_addr(host, port),
            tls: crate::tls::connector(&[], false).ok(),
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
            let plan = nut_core::session::SessionPlan {
                tls: match self.tls {
                    Some(_) => nut_core::session::TlsMode::Try,
                    None => nut_core::session::TlsMode::Off,
                },
                ..Default::default()
            };
            let session = crate::session::establish(stream, plan, self.tls.as_ref(), &self.host);
            let (conn, result) = tokio::time::timeout(REPEATER_CONNECT_TIMEOUT, session)
                .await
                .ok()?
                .ok()?;
            result.ok()?;
            self.conn = Some(conn);
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

/// Where dummy-ups reads its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A `.dev`/`.seq` file (absolute path).
    File(String),
    /// Repeater mode: UPS `ups` of the upsd at `host:port`.
    Repeater {
        /// UPS name upstream.
        ups: String,
        /// upsd host.
        host: String,
        /// upsd port.
        port: u16,
    },
}

/// dummy-ups's command line, as far as the wiring needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverArgs {
    /// `-a <ups>`: the ups.conf section.
    pub ups: Option<String>,
    /// `-s <name>`: standalone, without ups.conf.
    pub standalone: Option<String>,
    /// `-x key=value` options.
    pub extra: Vec<String>,
}

/// dummy-ups's runtime as ups.conf and the command line define it.
#[derive(Debug, Clone)]
pub struct DummyWiring {
    /// The driver's settings.
    pub config: DummyConfig,
    /// Where it reads data.
    pub source: SourceSpec,
    /// Where its socket goes.
    pub statepath: String,
}

/// Reads ups.conf of `env` (unless standalone) and builds dummy-ups's runtime (the one
/// wiring of the binary and the simulation).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<DummyWiring, String> {
    let (name, options, ups_statepath) = section_options(sys, env, args)?;
    let option = |key: &str| {
        options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone())
    };
    let Some(port) = option("port") else {
        return Err(format!("no port given for UPS [{name}]"));
    };
    let pollinterval_s = pollinterval(&name, option("pollinterval"))?;
    let prefixed = |prefix: &str| -> Vec<(String, String)> {
        options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone()?)))
            .collect()
    };
    let repeater = port.contains('@') || option("mode").as_deref() == Some("repeater");
    let source = if repeater {
        let (ups, host, port) = nut_core::config::parse_system_name(&port)
            .map_err(|e| format!("port = {port}: {e}"))?;
        SourceSpec::Repeater { ups, host, port }
    } else {
        SourceSpec::File(env.resolve(&port))
    };
    Ok(DummyWiring {
        config: DummyConfig {
            ups: name,
            mode: DummyMode::for_port(&port, option("mode").as_deref()),
            port,
            pollinterval_s,
            overrides: prefixed("override."),
            defaults: prefixed("default."),
        },
        source,
        statepath: env.statepath(ups_statepath.as_deref()),
    })
}

/// A driver option list: `key` with its value, or `None` for a flag.
pub type DriverOptions = Vec<(String, Option<String>)>;

/// The UPS name, the options of its ups.conf section followed by the `-x` options, and
/// ups.conf's global `statepath` (every driver's first step, NUT's `main.c`).
pub fn section_options<S: Sys>(
    sys: &S,
    env: &NutEnv,
    args: &DriverArgs,
) -> Result<(String, DriverOptions, Option<String>), String> {
    let mut options: DriverOptions = Vec::new();
    let mut ups_statepath = None;
    let name = match (&args.ups, &args.standalone) {
        (Some(name), _) => {
            let conf = load(sys, env, "ups.conf", parse_ups_conf)?;
            let Some(section) = conf.find(name) else {
                return Err(format!("UPS [{name}] not found in ups.conf"));
            };
            options = section.options.clone();
            ups_statepath = conf.statepath.clone();
            section.name.clone()
        }
        (None, Some(name)) => name.clone(),
        (None, None) => {
            return Err("specify a UPS with -a <name> (or -s <name> -x port=<file>)".to_string())
        }
    };
    for extra in &args.extra {
        match extra.split_once('=') {
            Some((k, v)) => options.push((k.to_string(), Some(v.to_string()))),
            None => options.push((extra.clone(), None)),
        }
    }
    Ok((name, options, ups_statepath))
}

/// `pollinterval` in seconds (NUT's default when absent, clamped to a day).
pub fn pollinterval(ups: &str, value: Option<String>) -> Result<u64, String> {
    match value {
        None => Ok(DEFAULT_POLLINTERVAL_S),
        Some(v) => Ok(v
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("UPS [{ups}]: pollinterval = {v}: not a number of seconds"))?
            .min(MAX_POLLINTERVAL_S)),
    }
}

/// A device driver's ups.conf section, read as NUT's main.c reads it: the driver's own
/// options checked against its `addvar` table, `driver.parameter.*` / `driver.flag.*`
/// published, `default.*` and `override.*` split off.
#[derive(Debug, Clone)]
pub struct DeviceSection {
    /// UPS section name.
    pub ups: String,
    /// The port, resolved against the environment.
    pub port: String,
    /// Seconds between polls.
    pub pollinterval_s: u64,
    /// Variables set before the device is read (`driver.parameter.*`, `driver.flag.*`,
    /// `default.*`).
    pub initial: Vec<(String, String)>,
    /// `override.*` values (immutable).
    pub overrides: Vec<(String, String)>,
    /// Every option of the section, as written.
    pub options: DriverOptions,
    /// Where the socket goes.
    pub statepath: String,
}

/// Options of a section that belong to upsd, upsdrvctl or main.c and are not
/// published as `driver.parameter.*` (NUT's `main_arg`).
pub const NOT_PUBLISHED: [&str; 12] = [
    "driver",
    "port",
    "desc",
    "sdorder",
    "sddelay",
    "synchronous",
    "user",
    "group",
    "debug_min",
    "maxstartdelay",
    "sdcommands",
    "allow_killpower",
];

/// Reads the section of a device driver called `driver` that takes `values` (key =
/// value) and `flags`; anything else is an error, as in NUT.
pub fn device_section<S: Sys>(
    sys: &S,
    env: &NutEnv,
    args: &DriverArgs,
    driver: &str,
    values: &[&str],
    flags: &[&str],
) -> Result<DeviceSection, String> {
    let (ups, options, statepath) = section_options(sys, env, args)?;
    let mut initial = Vec::new();
    let mut overrides = Vec::new();
    let mut port = None;
    let mut poll = None;
    for (key, value) in &options {
        if let Some(var) = key.strip_prefix("override.") {
            overrides.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        if let Some(var) = key.strip_prefix("default.") {
            initial.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        let known = match value {
            Some(_) => values.contains(&key.as_str()) || NOT_PUBLISHED.contains(&key.as_str()),
            None => flags.contains(&key.as_str()),
        };
        if !known {
            let what = if value.is_some() {
                "variable name"
            } else {
                "flag"
            };
            return Err(format!(
                "UPS [{ups}]: '{key}' is not a valid {what} for this driver"
            ));
        }
        match (key.as_str(), value) {
            ("driver", Some(v)) if v != driver => {
                return Err(format!(
                    "Error: UPS [{ups}] is for driver {v}, but I'm {driver}!"
                ))
            }
            ("port", Some(v)) => {
                port = Some(env.resolve(v));
                initial.push(("driver.parameter.port".to_string(), v.clone()));
            }
            ("pollinterval", Some(v)) => poll = Some(v.clone()),
            (k, Some(v)) if !NOT_PUBLISHED.contains(&k) => {
                initial.push((format!("driver.parameter.{k}"), v.clone()));
            }
            (k, None) => initial.push((format!("driver.flag.{k}"), "enabled".to_string())),
            _ => {}
        }
    }
    let Some(port) = port else {
        return Err(format!("no port given for UPS [{ups}]"));
    };
    Ok(DeviceSection {
        pollinterval_s: pollinterval(&ups, poll)?,
        ups,
        port,
        initial,
        overrides,
        options,
        statepath: env.statepath(statepath.as_deref()),
    })
}

/// The parameters NUT's `drivers/main.c` publishes once the device has been read and
/// the driver serves: its poll interval and `synchronous` (always `auto` here).
pub fn publish_serving(state: &mut DriverState, pollinterval_s: u64) {
    state.set("driver.parameter.pollinterval", &pollinterval_s.to_string());
    state.set("driver.parameter.synchronous", "auto");
}

/// The variables a section sets before the device is read.
pub fn section_state(initial: &[(String, String)], overrides: &[(String, String)]) -> DriverState {
    let mut state = DriverState::new();
    for (name, value) in initial {
        state.set(name, value);
    }
    for (name, value) in overrides {
        state.tree_mut().set_immutable(name, value);
    }
    state
}

/// dummy-ups's default poll interval in seconds (NUT's `pollinterval` default).
pub const DEFAULT_POLLINTERVAL_S: u64 = 2;
/// Longest poll interval accepted, in seconds (a day); longer values are clamped.
pub const MAX_POLLINTERVAL_S: u64 = 86_400;

/// A data file or a repeater, whichever the wiring chose.
pub enum AnySource<F, N: Net> {
    /// A data file.
    File(F),
    /// Repeater mode.
    Repeater(RepeaterSource<N>),
}

impl<F: DataSource, N: Net> DataSource for AnySource<F, N> {
    async fn read(&mut self) -> Reading {
        match self {
            AnySource::File(f) => f.read().await,
            AnySource::Repeater(r) => r.read().await,
        }
    }
}

/// dummy-ups as a process: wires it from `env` and `args`, then drives until stopped.
/// `net_for` gets the state path; `open_file` opens a data file. SIGHUP (reload)
/// changes nothing: the data file is re-read whenever it changes.
pub async fn process<N: Net, S: Sys, F: DataSource>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    args: DriverArgs,
    open_file: impl FnOnce(&str) -> F,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, &args).map_err(io::Error::other)?;
    run_wired(
        net_for(&wiring.statepath),
        sys,
        wiring,
        open_file,
        signals,
        None,
    )
    .await
}

/// The second half of [`process`], for a shell that does something between wiring and
/// running.
pub async fn run_wired<N: Net, S: Sys, F: DataSource>(
    net: N,
    sys: S,
    wiring: DummyWiring,
    open_file: impl FnOnce(&str) -> F,
    mut signals: mpsc::Receiver<Signal>,
    ready: Ready,
) -> io::Result<()> {
    let source = match &wiring.source {
        SourceSpec::File(path) => AnySource::File(open_file(path)),
        SourceSpec::Repeater { ups, host, port } => {
            AnySource::Repeater(RepeaterSource::new(net.clone(), ups, host, *port))
        }
    };
    let driver = run_dummy(net, sys.clone(), wiring.config, source, ready);
    tokio::pin!(driver);
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Stop) => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
                    return Ok(());
                }
                Some(_) => {}
                None => return driver.await,
            },
            result = &mut driver => return result,
        }
    }
}

/// `dummy-ups -k`: tells the device to cut the load (the killpower step of the late
/// shutdown). The dummy device accepts the first of the section's `sdcommands` (NUT's
/// default: `shutdown.return`, then `load.off.delay`) and reports it as an
/// [`Event::DeviceCommand`]; returns the command sent.
pub fn kill_power<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<String, String> {
    let wiring = wire(sys, env, args)?;
    let commands = match &args.ups {
        Some(name) => {
            let conf = load(sys, env, "ups.conf", parse_ups_conf)?;
            conf.find(name)
                .map(nut_core::upsdrvctl::shutdown_commands)
                .unwrap_or_default()
        }
        None => vec!["shutdown.return".to_string()],
    };
    let Some(cmd) = commands.into_iter().next() else {
        return Err(format!(
            "UPS [{}]: no shutdown command to send (sdcommands is empty)",
            wiring.config.ups
        ));
    };
    sys.event(Event::DeviceCommand {
        ups: wiring.config.ups,
        cmd: cmd.clone(),
        arg: None,
    });
    Ok(cmd)
}

/// A driver whose SET and INSTCMD go to its device (usbhid-ups, snmp-ups): each gives
/// the TRACKING code its device's answer means.
pub trait DeviceSession {
    /// The published state.
    fn state_mut(&mut self) -> &mut DriverState;
    /// INSTCMD: the TRACKING code.
    fn device_instcmd<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        cmd: &str,
        arg: Option<&str>,
    ) -> impl std::future::Future<Output = i64>;
    /// SET: the TRACKING code and lines to broadcast.
    fn device_set<S: Sys>(
        &mut self,
        sys: &S,
        var: &str,
        value: &str,
    ) -> impl std::future::Future<Output = (i64, Vec<DriverLine>)>;
}

/// One line from upsd for a [`DeviceSession`]: SET and INSTCMD go to the device; the
/// driver core answers the rest and frames the TRACKING reply around the device's
/// result (NUT's setvar publishes the new value before it answers).
pub async fn device_line<D: DeviceSession, S: Sys>(
    session: &mut D,
    sys: &S,
    ups: &str,
    line: &ServerLine,
) -> nut_core::dummy::DriverReply {
    let mut result = None;
    let mut changed = Vec::new();
    match line {
        ServerLine::InstCmd { cmd, param, .. } => {
            result = Some(
                session
                    .device_instcmd(sys, ups, cmd, param.as_deref())
                    .await,
            );
        }
        ServerLine::Set { var, value, .. } => {
            let (code, lines) = session.device_set(sys, var, value).await;
            changed = lines;
            result = Some(code);
        }
        _ => {}
    }
    let mut reply = nut_core::dummy::device_reply(session.state_mut(), line, result);
    changed.append(&mut reply.broadcast);
    reply.broadcast = changed;
    reply
}

/// A device driver whose operations are jobs (nutdrv_qx, apcsmart): what the shared
/// serving loop ([`serve_jobs`]) needs from it, with `P` the link to the device.
pub trait JobDriver<P>: Send {
    /// Runs one job to completion against the device.
    fn job(
        &mut self,
        state: &mut DriverState,
        port: &mut P,
        job: &nut_core::qx::Job,
        now: nut_core::Millis,
    ) -> impl std::future::Future<
        Output = (
            nut_core::qx::Outcome,
            Vec<DriverLine>,
            Vec<nut_core::qx::Note>,
        ),
    > + Send;

    /// What the driver does with the device as it exits (apcsmart leaves smart mode).
    fn exit(
        &mut self,
        _state: &mut DriverState,
        _port: &mut P,
    ) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}

/// A job driver that has read its device: serves its socket `<driver>-<ups>` and runs
/// a poll every `pollinterval_s` (the loop of NUT's main.c), SET and INSTCMD from upsd
/// as jobs, until stopped.
#[allow(clippy::too_many_arguments)]
pub async fn serve_jobs<N: Net, S: Sys, P: Send, D: JobDriver<P>>(
    net: N,
    sys: S,
    (driver_name, ups): (&str, &str),
    pollinterval_s: u64,
    mut driver: D,
    mut state: DriverState,
    mut port: P,
    ready: Ready,
    mut signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut tasks = JoinSet::new();
    let socket_name = format!("{driver_name}-{ups}");
    let mut input_rx = open_socket(&net, &sys, &socket_name, ready, &mut tasks).await?;
    let mut clients: BTreeMap<u64, mpsc::Sender<String>> = BTreeMap::new();
    let period = Duration::from_secs(pollinterval_s.max(1));
    let mut next_poll = tokio::time::Instant::now() + period;
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Stop) | None => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
                    driver.exit(&mut state, &mut port).await;
                    return Ok(());
                }
                Some(_) => {}
            },
            input = input_rx.recv() => {
                let Some(input) = input else { return Ok(()) };
                match input {
                    Input::Connected(id, tx) => { clients.insert(id, tx); }
                    Input::Disconnected(id) => { clients.remove(&id); }
                    Input::Line(id, words) => {
                        let Some(line) = ServerLine::parse(&words) else {
                            sys.log(format!("ignoring malformed line from upsd: {}", words.join(" ")));
                            continue;
                        };
                        // SET and INSTCMD go to the device; the driver core answers the
                        // rest and formats the TRACKING reply around the job's result.
                        let mut result = None;
                        if let Some(job) = &nut_core::qx::Job::for_line(&line) {
                            let (outcome, lines, notes) = driver.job(&mut state, &mut port, job, now()).await;
                            crate::qx::report(&sys, ups, notes);
                            broadcast(&mut clients, &lines);
                            if let nut_core::qx::Outcome::Tracking(code) = outcome {
                                result = Some(code);
                            }
                        }
                        let reply = nut_core::dummy::device_reply(&mut state, &line, result);
                        if let Some(tx) = clients.get(&id) {
                            send_lines(tx, &reply.reply);
                        }
                        broadcast(&mut clients, &reply.broadcast);
                    }
                }
            }
            _ = tokio::time::sleep_until(next_poll) => {
                next_poll += period;
                let (_, lines, notes) = driver.job(&mut state, &mut port, &nut_core::qx::Job::Update, now()).await;
                crate::qx::report(&sys, ups, notes);
                broadcast(&mut clients, &lines);
            }
        }
    }
}
