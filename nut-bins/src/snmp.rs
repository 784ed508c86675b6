//! The snmp-ups shell: an SNMP transport (UDP, or a recorded agent), the driver socket,
//! the poll timer. Device logic lives in `nut_core::snmpups`; this module only sends
//! the GETs and SETs it asks for, with NUT's retries and timeout.

use crate::driver::{
    broadcast, open_socket, pollinterval, section_options, send_lines, DriverArgs, Input, Ready,
    NOT_PUBLISHED,
};
use crate::qx::report;
use crate::seam::{Net, Sys};
use crate::snmpv3::{Usm, UsmError};
use crate::wiring::{NutEnv, Signal};
use nut_core::dummy::{tracking, DriverState};
use nut_core::event::{Event, Level};
use nut_core::qx::Note;
use nut_core::snmp::{parse_oid, Agent, Message, PduType};
use nut_core::snmpups::{
    detect, key, Reads, Refused, Reply, Set, SnmpOptions, SnmpUps, Step, Walk, OPTIONS, SENSITIVE,
};
use nut_core::sock::{DriverLine, ServerLine};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The driver's name.
pub const DRIVER_NAME: &str = "snmp-ups";
/// NUT 2.8.0's snmp-ups DRIVER_VERSION.
pub const DRIVER_VERSION_INTERNAL: &str = "1.21";
/// The SNMP port when `port` names only the host.
pub const DEFAULT_SNMP_PORT: u16 = 161;
/// This implementation's own option: answer from a recorded walk (hw-fixtures/snmp
/// `.snmprec`) instead of the network, to try a configuration without the card.
pub const REPLAY_OPTION: &str = "replay";

/// A link to an SNMP agent: one request out, the datagrams that come back.
pub trait SnmpPort: Send + 'static {
    /// Sends one request.
    fn send(&mut self, request: Vec<u8>) -> impl Future<Output = io::Result<()>> + Send;
    /// The next datagram, or `None` after `timeout`.
    fn recv(&mut self, timeout: Duration) -> impl Future<Output = Option<Vec<u8>>> + Send;
}

/// snmp-ups' runtime as ups.conf and the command line define it.
#[derive(Debug, Clone)]
pub struct SnmpWiring {
    /// UPS section name.
    pub ups: String,
    /// `port`: host or host:port.
    pub host: String,
    /// Seconds between polls.
    pub pollinterval_s: u64,
    /// The driver's own options.
    pub options: SnmpOptions,
    /// A recorded walk to answer instead of the network.
    pub replay: Option<String>,
    /// `driver.parameter.*`, `driver.flag.*`, `default.*`.
    pub initial: Vec<(String, String)>,
    /// `override.*` values.
    pub overrides: Vec<(String, String)>,
    /// Where the socket goes.
    pub statepath: String,
    /// Where SNMPv3 privacy salts start (the binary takes the clock; the simulation 0).
    pub salt_seed: u64,
}

/// Reads ups.conf of `env` and builds snmp-ups' runtime (the binary's one wiring).
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, args: &DriverArgs) -> Result<SnmpWiring, String> {
    let (ups, options, statepath) = section_options(sys, env, args)?;
    let mut initial = Vec::new();
    let mut overrides = Vec::new();
    let mut poll = None;
    let mut replay = None;
    let mut host = None;
    for (key, value) in &options {
        if let Some(var) = key.strip_prefix("override.") {
            overrides.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        if let Some(var) = key.strip_prefix("default.") {
            initial.push((var.to_string(), value.clone().unwrap_or_default()));
            continue;
        }
        let known = NOT_PUBLISHED.contains(&key.as_str())
            || key == "pollinterval"
            || (key == REPLAY_OPTION && value.is_some())
            || OPTIONS
                .iter()
                .any(|(name, takes)| name.eq_ignore_ascii_case(key) && *takes == value.is_some());
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
            ("driver", Some(v)) if v != DRIVER_NAME => {
                return Err(format!(
                    "Error: UPS [{ups}] is for driver {v}, but I'm {DRIVER_NAME}!"
                ))
            }
            ("port", Some(v)) => {
                host = Some(v.clone());
                initial.push(("driver.parameter.port".to_string(), v.clone()));
            }
            ("pollinterval", Some(v)) => poll = Some(v.clone()),
            (REPLAY_OPTION, Some(v)) => replay = Some(env.resolve(v)),
            (k, Some(_)) if SENSITIVE.iter().any(|s| s.eq_ignore_ascii_case(k)) => {}
            (k, Some(v)) if !NOT_PUBLISHED.contains(&k) => {
                initial.push((format!("driver.parameter.{k}"), v.clone()));
            }
            (k, None) => initial.push((format!("driver.flag.{k}"), "enabled".to_string())),
            _ => {}
        }
    }
    let Some(host) = host else {
        return Err(format!("no port given for UPS [{ups}]"));
    };
    let snmp = SnmpOptions::from_options(&options).map_err(|e| format!("UPS [{ups}]: {e}"))?;
    Ok(SnmpWiring {
        pollinterval_s: pollinterval(&ups, poll)?,
        ups,
        host,
        options: snmp,
        replay,
        initial,
        overrides,
        statepath: env.statepath(statepath.as_deref()),
        salt_seed: 0,
    })
}

/// `host`, `host:port` or `[v6]:port` as a socket address string with NUT's port 161
/// as the default.
pub fn agent_address(host: &str) -> String {
    if host.starts_with('[') {
        if host.contains("]:") {
            host.to_string()
        } else {
            format!("{host}:{DEFAULT_SNMP_PORT}")
        }
    } else if host.matches(':').count() == 1 {
        host.to_string()
    } else if host.contains(':') {
        format!("[{host}]:{DEFAULT_SNMP_PORT}")
    } else {
        format!("{host}:{DEFAULT_SNMP_PORT}")
    }
}

/// The requests and their answers, with NUT's retries and timeout.
pub struct Agentlink<P: SnmpPort> {
    port: P,
    options: SnmpOptions,
    next_id: i32,
    /// Requests sent (each retry counts).
    pub sent: u64,
    /// Consecutive errors (NUT's `numerr`, for the log limiter).
    errors: u32,
    /// SNMPv3's security state.
    usm: Option<Usm>,
    /// The last SNMPv3 failure, until logged.
    v3_error: Option<String>,
    v3_logged: Option<String>,
    clock: tokio::time::Instant,
}

/// Start limiting error reports after this many in a row (snmp-ups.h SU_ERR_LIMIT).
pub const ERR_LIMIT: u32 = 10;
/// Then report only every this many (SU_ERR_RATE).
pub const ERR_RATE: u32 = 100;

impl<P: SnmpPort> Agentlink<P> {
    /// A link with `options`' community, version, retries and timeout.
    pub fn new(port: P, options: SnmpOptions, salt_seed: u64) -> Self {
        Agentlink {
            usm: options.v3.clone().map(|v3| Usm::new(v3, salt_seed)),
            port,
            options,
            // Not 1 on every start: a reply captured earlier must not match.
            next_id: ((salt_seed & 0x7fff_ffff) as i32).max(1),
            sent: 0,
            errors: 0,
            v3_error: None,
            v3_logged: None,
            clock: tokio::time::Instant::now(),
        }
    }

    /// Sends `bytes` up to 1 + retries times, each time waiting for a datagram that
    /// `accept` takes (`Some`); `None` when nothing was accepted.
    async fn send_and_wait<T>(
        port: &mut P,
        sent: &mut u64,
        options: &SnmpOptions,
        bytes: Vec<u8>,
        mut accept: impl FnMut(&[u8]) -> Option<T>,
    ) -> Option<T> {
        let timeout = Duration::from_secs(options.timeout_s.max(1));
        for _ in 0..=options.retries {
            *sent += 1;
            if port.send(bytes.clone()).await.is_err() {
                continue;
            }
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                let Some(datagram) = port.recv(left).await else {
                    break;
                };
                if let Some(t) = accept(&datagram) {
                    return Some(t);
                }
            }
        }
        None
    }

    /// One v3 request: discovery first if needed, one resynchronisation after a
    /// time-window or engine report.
    async fn exchange_v3(&mut self, msg: Message) -> Option<Message> {
        let id = msg.request_id;
        let Agentlink {
            port,
            options,
            sent,
            usm,
            v3_error,
            clock,
            ..
        } = self;
        let usm = usm.as_mut()?;
        let clock = *clock;
        let now_s = move || clock.elapsed().as_secs();
        for _ in 0..2 {
            if !usm.discovered() {
                let (bytes, msg_id) = usm.discovery(id);
                let learned = Self::send_and_wait(port, sent, options, bytes, |d| {
                    match usm.unwrap(d, msg_id, now_s()) {
                        Err(UsmError::NotOurs | UsmError::Integrity(_)) => None,
                        _ => Some(()),
                    }
                })
                .await;
                if learned.is_none() || !usm.discovered() {
                    return None;
                }
            }
            let (bytes, msg_id) = usm.wrap(&msg, now_s());
            let mut rejected = None;
            let outcome = Self::send_and_wait(port, sent, options, bytes, |d| {
                match usm.unwrap(d, msg_id, now_s()) {
                    Ok(m) if m.request_id == id => Some(Ok(m)),
                    Ok(_) | Err(UsmError::NotOurs) => None,
                    // Forged or damaged: ignored; the agent's real answer may follow.
                    Err(UsmError::Integrity(r)) => {
                        rejected = Some(r);
                        None
                    }
                    Err(e) => Some(Err(e)),
                }
            })
            .await;
            let Some(outcome) = outcome else {
                if let Some(r) = rejected {
                    *v3_error = Some(format!("SNMPv3: {r}"));
                }
                return None;
            };
            match outcome {
                Ok(m) => {
                    *v3_error = None;
                    return Some(m);
                }
                Err(UsmError::Report(r))
                    if r == "not in time window" || r == "unknown engine ID" =>
                {
                    continue;
                }
                Err(UsmError::Report(r)) => {
                    *v3_error = Some(format!("SNMPv3: the agent reports {r}"))
                }
                Err(UsmError::Integrity(r)) => *v3_error = Some(format!("SNMPv3: {r}")),
                Err(UsmError::NotOurs) => {}
            }
            return None;
        }
        None
    }

    /// One request and its response (`None`: no response after every retry).
    async fn exchange(
        &mut self,
        pdu_type: PduType,
        oid: &str,
        value: Option<nut_core::snmp::Value>,
    ) -> Option<Message> {
        let oid = parse_oid(oid)?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let mut msg = Message::request(
            self.options.version,
            &self.options.community,
            pdu_type,
            id,
            &[oid],
        );
        if let Some(v) = value {
            msg.varbinds[0].1 = v;
        }
        if self.usm.is_some() {
            return self.exchange_v3(msg).await;
        }
        let community = self.options.community.clone();
        // Anything else (garbage, a late answer to an earlier request) is dropped.
        Self::send_and_wait(
            &mut self.port,
            &mut self.sent,
            &self.options,
            msg.encode(),
            |d| {
                Message::decode(d).ok().filter(|reply| {
                    reply.request_id == id
                        && reply.pdu_type == PduType::Response
                        && reply.community == community
                })
            },
        )
        .await
    }

    /// GET of one OID (NUT sends one per request).
    pub async fn get(&mut self, oid: &str) -> Reply {
        match self.exchange(PduType::Get, oid, None).await {
            None => Reply::Timeout,
            Some(r) if r.error_status != 0 => Reply::Error(r.error_status),
            Some(r) => match r.varbinds.into_iter().next() {
                Some((_, v)) => Reply::Value(v),
                None => Reply::Error(5),
            },
        }
    }

    /// Gathers `oids` into `reads`; notes the error limiter's lines.
    pub async fn gather(
        &mut self,
        oids: Vec<String>,
        reads: &mut Reads,
        notes: &mut Vec<Note>,
        counting: bool,
    ) {
        for oid in oids {
            let reply = self.get(&oid).await;
            if counting {
                self.count(&oid, &reply, notes);
            }
            // A v3 failure (wrong credentials, ...) is said once, until it changes.
            if let Some(e) = self.v3_error.take() {
                if self.v3_logged.as_ref() != Some(&e) {
                    notes.push(Note::Log(Level::Err, e.clone()));
                    self.v3_logged = Some(e);
                }
            } else if matches!(reply, Reply::Value(_)) {
                self.v3_logged = None;
            }
            reads.insert(key(&oid).to_string(), reply);
        }
    }

    /// NUT's error limiter (snmp-ups.c `nut_snmp_walk`): errors in a row are reported
    /// up to [`ERR_LIMIT`], then one in [`ERR_RATE`].
    fn count(&mut self, oid: &str, reply: &Reply, notes: &mut Vec<Note>) {
        let what = match reply {
            Reply::Value(_) => {
                self.errors = 0;
                return;
            }
            // No response at all is not counted nor logged (NUT's nut_snmp_walk breaks
            // out; the walk then says which data went stale).
            Reply::Timeout => return,
            // noSuchName is expected (optional OIDs): counted, said only at NUT's debug
            // level 2, which this driver does not print.
            Reply::Error(2) => None,
            Reply::Error(status) => Some(format!("{oid}: Error in packet: error-status {status}")),
        };
        self.errors = self.errors.saturating_add(1);
        if self.errors == ERR_LIMIT || self.errors.is_multiple_of(ERR_RATE) {
            notes.push(Note::Log(
                Level::Warning,
                format!("Warning: excessive poll failures, limiting error reporting (OID = {oid})"),
            ));
        }
        if self.errors < ERR_LIMIT || self.errors.is_multiple_of(ERR_RATE) {
            if let Some(what) = what {
                notes.push(Note::Log(Level::Err, what));
            }
        }
    }

    /// SET of one OID: true when the agent took it.
    pub async fn set(&mut self, set: &Set) -> bool {
        matches!(
            self.exchange(PduType::Set, &set.oid, Some(set.value.clone())).await,
            Some(r) if r.error_status == 0
        )
    }
}

/// The driver and its agent: detection, walks, commands.
pub struct SnmpSession<P: SnmpPort> {
    /// Device logic.
    pub driver: SnmpUps,
    /// Published state.
    pub state: DriverState,
    /// The link.
    pub link: Agentlink<P>,
    lost: bool,
}

/// Runs one walk to its end, GETting what it asks for.
async fn run_walk<P: SnmpPort>(
    driver: &mut SnmpUps,
    state: &mut DriverState,
    link: &mut Agentlink<P>,
    walk: Walk,
) -> nut_core::snmpups::Walked {
    let mut reads = Reads::new();
    let mut notes = Vec::new();
    loop {
        match driver.walk(state, walk, &reads) {
            Step::Need(oids) => link.gather(oids, &mut reads, &mut notes, true).await,
            Step::Done(mut walked) => {
                notes.append(&mut walked.notes);
                walked.notes = notes;
                return walked;
            }
        }
    }
}

impl<P: SnmpPort> SnmpSession<P> {
    /// Detects the mapping and reads the agent (NUT's `upsdrv_initups` and
    /// `upsdrv_initinfo`): NUT's fatal message when nothing matches.
    pub async fn start<S: Sys>(sys: &S, wiring: &SnmpWiring, port: P) -> Result<Self, String> {
        let mut session = Self::connect(sys, wiring, port).await?;
        let SnmpSession {
            driver,
            state,
            link,
            ..
        } = &mut session;
        let walked = run_walk(driver, state, link, Walk::Init).await;
        report(sys, &wiring.ups, walked.notes);
        if wiring.options.ignorelb {
            // main.c: ignorelb needs a way to tell the charge.
            let methods = nut_core::status::ignorelb_methods(|v| state.tree().get(v).is_some())?;
            for what in methods {
                sys.log(format!("using '{what}' to set battery low state"));
            }
        }
        crate::driver::publish_serving(state, wiring.pollinterval_s);
        Ok(session)
    }

    /// NUT's `upsdrv_initups` alone: detection, the driver's variables, the delays
    /// (`set_delays`); what `-k` needs before it cuts the load (no walk yet).
    pub async fn connect<S: Sys>(sys: &S, wiring: &SnmpWiring, port: P) -> Result<Self, String> {
        let mut link = Agentlink::new(port, wiring.options.clone(), wiring.salt_seed);
        let mut reads = Reads::new();
        let mut notes = Vec::new();
        let detected = loop {
            match detect(&wiring.options, &reads, &mut notes) {
                Step::Need(oids) => link.gather(oids, &mut reads, &mut notes, false).await,
                Step::Done(d) => break d,
            }
            // No answer at all to the first request: the agent is not there (NUT
            // would go on probing every mapping, minutes of timeouts).
            if reads.values().all(|r| *r == Reply::Timeout) {
                report(sys, &wiring.ups, std::mem::take(&mut notes));
                let why = link
                    .v3_logged
                    .clone()
                    .unwrap_or_else(|| "Timeout: no response from the agent".to_string());
                return Err(format!("{why} at {} (host {})", wiring.ups, wiring.host));
            }
        };
        report(sys, &wiring.ups, std::mem::take(&mut notes));
        let detected =
            detected.map_err(|e| format!("{e} at [{}] (host {})", wiring.ups, wiring.host))?;
        let driver = SnmpUps::new(wiring.options.clone(), &detected);
        let mib = driver.mib();
        sys.log(format!(
            "Detected {} on host {} (mib: {} {})",
            detected.model, wiring.host, mib.name, mib.version
        ));
        let mut state = DriverState::new();
        for (name, value) in &wiring.initial {
            state.set(name, value);
        }
        for (name, value) in &wiring.overrides {
            state.tree_mut().set_immutable(name, value);
        }
        state.set("driver.version", nut_core::dummy::DRIVER_VERSION);
        state.set("driver.version.internal", DRIVER_VERSION_INTERNAL);
        state.set("driver.name", DRIVER_NAME);
        state.set(
            "driver.version.data",
            &format!("{} MIB {}", mib.name, mib.version),
        );
        // initups' set_delays.
        for set in driver.delays(&state) {
            if !link.set(&set).await {
                sys.log(format!("{}: the agent refused it", set.what));
            }
        }
        Ok(SnmpSession {
            driver,
            state,
            link,
            lost: false,
        })
    }

    /// One walk (NUT's `upsdrv_updateinfo` when pollfreq has passed): lines to
    /// broadcast, notes to log.
    pub async fn update(&mut self) -> (Vec<DriverLine>, Vec<Note>) {
        let walked = run_walk(
            &mut self.driver,
            &mut self.state,
            &mut self.link,
            Walk::Update,
        )
        .await;
        self.walked(walked)
    }

    /// What an update walk ends with (the data goes stale when the agent answered
    /// none of its requests); also the fast simulation's, which runs the walk itself.
    pub fn walked(&mut self, walked: nut_core::snmpups::Walked) -> (Vec<DriverLine>, Vec<Note>) {
        let mut lines = walked.lines;
        let mut notes = walked.notes;
        let stale = !walked.answered;
        if let Some(line) = self.state.set_stale(stale) {
            lines.push(line);
            if stale {
                self.lost = true;
                notes.push(Note::Lost);
            } else if std::mem::take(&mut self.lost) {
                notes.push(Note::Restored);
            }
        }
        (lines, notes)
    }

    async fn send<S: Sys>(&mut self, sys: &S, set: Result<Set, Refused>) -> i64 {
        let set = match set {
            Ok(s) => s,
            Err(Refused::Unknown) => return tracking::UNKNOWN,
            Err(Refused::Invalid) => return tracking::INVALID,
        };
        if self.link.set(&set).await {
            sys.log(format!(
                "{}: sent to the agent ({} = {:?})",
                set.what, set.oid, set.value
            ));
            tracking::SUCCESS
        } else {
            tracking::FAILED
        }
    }

    /// INSTCMD from upsd: the TRACKING code.
    pub async fn instcmd<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        cmd: &str,
        arg: Option<&str>,
    ) -> i64 {
        let set = self.driver.command(&self.state, cmd, arg);
        let code = self.send(sys, set).await;
        if code == tracking::SUCCESS {
            sys.event(Event::DeviceCommand {
                ups: ups.to_string(),
                cmd: cmd.to_string(),
                arg: arg.map(str::to_string),
            });
        }
        code
    }

    /// SET from upsd: the TRACKING code and lines to broadcast.
    pub async fn set<S: Sys>(&mut self, sys: &S, var: &str, value: &str) -> (i64, Vec<DriverLine>) {
        let set = self.driver.set_var(&self.state, var, value);
        let code = self.send(sys, set).await;
        let mut lines = Vec::new();
        if code == tracking::SUCCESS {
            if let Some(line) = self.state.set(var, value) {
                lines.push(line);
            }
        }
        (code, lines)
    }

    /// One line from upsd (see [`crate::driver::device_line`]).
    pub async fn handle_line<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        line: &ServerLine,
    ) -> nut_core::dummy::DriverReply {
        crate::driver::device_line(self, sys, ups, line).await
    }
}

/// Starts the driver on `port`: reads the agent, serves the socket and walks every
/// `pollfreq` (checked every `pollinterval`) until stopped.
pub async fn run_snmp<N: Net, S: Sys, P: SnmpPort>(
    net: N,
    sys: S,
    wiring: SnmpWiring,
    port: P,
    ready: Ready,
    mut signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let mut session = SnmpSession::start(&sys, &wiring, port)
        .await
        .map_err(io::Error::other)?;
    let mut tasks = JoinSet::new();
    let socket_name = format!("{DRIVER_NAME}-{}", wiring.ups);
    let mut input_rx = open_socket(&net, &sys, &socket_name, ready, &mut tasks).await?;
    let mut clients: BTreeMap<u64, mpsc::Sender<String>> = BTreeMap::new();
    let period = Duration::from_secs(wiring.pollinterval_s.max(1));
    let walk_every = Duration::from_secs(wiring.options.pollfreq_s);
    // main.c updates right after initinfo; NUT's first walk is then due at once.
    let mut next_poll = tokio::time::Instant::now();
    let mut next_walk = tokio::time::Instant::now();
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Stop) | None => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
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
                        let reply = session.handle_line(&sys, &wiring.ups, &line).await;
                        broadcast(&mut clients, &reply.broadcast);
                        if let Some(tx) = clients.get(&id) {
                            send_lines(tx, &reply.reply);
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_poll) => {
                next_poll += period;
                let now = tokio::time::Instant::now();
                if now >= next_walk {
                    let (lines, notes) = session.update().await;
                    // NUT sets lastpoll (whole seconds) after the walk and walks once
                    // the clock is strictly past lastpoll + pollfreq: a second more.
                    next_walk = tokio::time::Instant::now() + walk_every + Duration::from_secs(1);
                    report(&sys, &wiring.ups, notes);
                    broadcast(&mut clients, &lines);
                }
            }
        }
    }
}

/// `snmp-ups -d <n>`: reads the agent, runs `n` more updates, returns the variables as
/// NUT's `dstate_dump` prints them (`name: value`, sorted).
pub async fn dump<S: Sys, P: SnmpPort>(
    sys: &S,
    wiring: &SnmpWiring,
    port: P,
    updates: u32,
) -> Result<String, String> {
    let mut session = SnmpSession::start(sys, wiring, port).await?;
    // The first update walks; the next ones fall within pollfreq (as NUT's -d run).
    let (_, notes) = session.update().await;
    report(sys, &wiring.ups, notes);
    let _ = updates;
    Ok(session
        .state
        .tree()
        .vars()
        .map(|v| format!("{}: {}\n", v.name, v.value))
        .collect())
}

/// `snmp-ups -k`: detects the agent and tells it to cut the load (NUT's
/// `upsdrv_shutdown`: the delays, then shutdown.return, else shutdown.reboot, else
/// load.off.delay).
pub async fn kill_power<S: Sys, P: SnmpPort>(
    sys: &S,
    wiring: &SnmpWiring,
    port: P,
) -> Result<String, String> {
    // As NUT's main.c: -k runs after upsdrv_initups, before any walk.
    let session = SnmpSession::connect(sys, wiring, port).await?;
    let SnmpSession {
        driver,
        state,
        mut link,
        ..
    } = session;
    for set in driver.delays(&state) {
        link.set(&set).await;
    }
    for set in driver.shutdown_candidates(&state) {
        if link.set(&set).await {
            return Ok(format!("Shutdown sent: {}", set.what));
        }
        sys.log(format!("{}: the agent refused it", set.what));
    }
    Err("Shutdown failed!".to_string())
}

/// A recorded agent (hw-fixtures/snmp): answers requests from the walk, records every
/// SET, and can go silent.
#[derive(Debug, Clone)]
pub struct ReplayAgent {
    shared: Arc<Mutex<ReplayShared>>,
    pending: Vec<Vec<u8>>,
}

/// What a test sees and steers of a [`ReplayAgent`].
#[derive(Debug, Default)]
pub struct ReplayShared {
    /// The agent.
    pub agent: Agent,
    /// Every SET taken: (OID, value).
    pub sets: Vec<(String, nut_core::snmp::Value)>,
    /// Silent: no request is answered.
    pub silent: bool,
    /// Requests received.
    pub requests: u64,
}

impl ReplayAgent {
    /// From a `.snmprec` text.
    pub fn new(snmprec: &str) -> Result<ReplayAgent, String> {
        Ok(ReplayAgent {
            shared: Arc::new(Mutex::new(ReplayShared {
                agent: Agent::from_snmprec(snmprec)?,
                ..ReplayShared::default()
            })),
            pending: Vec::new(),
        })
    }

    /// The handle a test steers the agent through.
    pub fn shared(&self) -> Arc<Mutex<ReplayShared>> {
        self.shared.clone()
    }
}

impl SnmpPort for ReplayAgent {
    async fn send(&mut self, request: Vec<u8>) -> io::Result<()> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.requests += 1;
        if shared.silent {
            return Ok(());
        }
        let Ok(msg) = Message::decode(&request) else {
            return Ok(());
        };
        if let Some(reply) = shared.agent.answer(&msg) {
            if msg.pdu_type == PduType::Set && reply.error_status == 0 {
                for (oid, value) in &msg.varbinds {
                    shared
                        .sets
                        .push((nut_core::snmp::format_oid(oid), value.clone()));
                }
            }
            self.pending.push(reply.encode());
        }
        Ok(())
    }

    async fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            tokio::time::sleep(timeout).await;
            return None;
        }
        Some(self.pending.remove(0))
    }
}

/// snmp-ups as a process: wires it from `env` and `args`, opens the agent, then drives
/// until stopped (the one path of the binary's daemon mode and of the simulation).
pub async fn process<N: Net, S: Sys, P: SnmpPort>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    args: DriverArgs,
    open: impl FnOnce(&SnmpWiring) -> io::Result<P>,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, &args).map_err(io::Error::other)?;
    let port = open(&wiring)?;
    run_snmp(net_for(&wiring.statepath), sys, wiring, port, None, signals).await
}

impl<P: SnmpPort> crate::driver::DeviceSession for SnmpSession<P> {
    fn state_mut(&mut self) -> &mut DriverState {
        &mut self.state
    }

    async fn device_instcmd<S: Sys>(
        &mut self,
        sys: &S,
        ups: &str,
        cmd: &str,
        arg: Option<&str>,
    ) -> i64 {
        self.instcmd(sys, ups, cmd, arg).await
    }

    async fn device_set<S: Sys>(
        &mut self,
        sys: &S,
        var: &str,
        value: &str,
    ) -> (i64, Vec<DriverLine>) {
        self.set(sys, var, value).await
    }
}
