//! upsd's state machine: UPS table, clients, authentication, staleness, FSD latch, tracking.
//!
//! The shell feeds it client lines, driver lines and clock ticks, each with `now`, and
//! performs the returned [`Action`]s (write to a client, write to a driver, close, log).
//! Error precedence and reply strings follow NUT 2.8.0 (nut-reference.md §1, appendix A).
//! This module must not do IO or read clocks; randomness (tracking ids) comes from a seed.

use crate::config::UpsdUsers;
use crate::desc::Descriptions;
use crate::proto::{
    format_err, format_list, format_value_line, parse_request_owned, push_value_line,
    truncate_response, ErrCode, GetRequest, ListRequest, Request, TrackingResult, HELP_TEXT,
    NUT_VERSION, PROTOCOL_VERSION, SERVER_INFO,
};
use crate::sock::{atoi, DriverLine, ServerLine};
use crate::state::VarTree;
use crate::status::with_fsd_prefix;
use crate::tokenizer::quote;
use crate::Millis;
use std::collections::BTreeMap;
use std::fmt;

/// A client connection, numbered by the shell.
pub type ClientId = u64;

/// Clients silent for longer than this are dropped (server/upsd.c, 60 s).
pub const CLIENT_IDLE_TIMEOUT_MS: Millis = 60_000;
/// How often the shell should call [`UpsdCore::tick`] (upsd's 2 s poll loop).
pub const TICK_INTERVAL_MS: Millis = 2_000;
/// Most tracking entries kept; the oldest are dropped beyond this.
pub const MAX_TRACKING_ENTRIES: usize = 10_000;

/// One `[ups]` section as upsd needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsDefinition {
    /// Section name.
    pub name: String,
    /// Driver program name (names the socket `<driver>-<ups>`).
    pub driver: String,
    /// The `desc` value, if any.
    pub desc: Option<String>,
}

impl UpsDefinition {
    /// Name of the driver socket in the state path.
    pub fn socket_name(&self) -> String {
        format!("{}-{}", self.driver, self.name)
    }
}

/// Settings of upsd that the state machine uses.
#[derive(Debug, Clone)]
pub struct UpsdSettings {
    /// MAXAGE in seconds.
    pub maxage_s: u64,
    /// TRACKINGDELAY in seconds.
    pub trackingdelay_s: u64,
    /// Whether STARTTLS can be offered (a certificate is configured and loaded).
    pub tls_configured: bool,
}

impl Default for UpsdSettings {
    fn default() -> Self {
        UpsdSettings {
            maxage_s: 15,
            trackingdelay_s: 3600,
            tls_configured: false,
        }
    }
}

/// Something upsd logs that matters to operators (and to simulation timelines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client logged into a UPS.
    Login {
        /// UPS name, as the client spelled it.
        ups: String,
        /// User name.
        user: String,
        /// Client IP address.
        addr: String,
    },
    /// A logged-in client went away.
    Logout {
        /// UPS name, as the client spelled it.
        ups: String,
        /// User name.
        user: String,
        /// Client IP address.
        addr: String,
    },
    /// A client set the FSD latch.
    FsdSet {
        /// UPS name, as the client spelled it.
        ups: String,
        /// User name.
        user: String,
        /// Client IP address.
        addr: String,
    },
    /// The driver connection came up.
    DriverConnected {
        /// UPS name, as the client spelled it.
        ups: String,
        /// Driver socket name.
        socket: String,
    },
    /// The driver connection went away.
    DriverLost {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// Data became stale.
    Stale {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// Data is fresh again.
    NoLongerStale {
        /// UPS name, as the client spelled it.
        ups: String,
    },
    /// An instant command was sent to a driver.
    InstCmd {
        /// UPS name, as the client spelled it.
        ups: String,
        /// User name.
        user: String,
        /// Client IP address.
        addr: String,
        /// Instant command name.
        cmd: String,
    },
    /// A variable was set.
    SetVar {
        /// UPS name, as the client spelled it.
        ups: String,
        /// User name.
        user: String,
        /// Client IP address.
        addr: String,
        /// Variable name.
        var: String,
        /// Raw (unescaped) value.
        value: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Login { ups, user, addr } => {
                write!(f, "User {user}@{addr} logged into UPS [{ups}]")
            }
            Event::Logout { ups, user, addr } => {
                write!(f, "User {user}@{addr} logged out from UPS [{ups}]")
            }
            Event::FsdSet { ups, user, addr } => {
                write!(f, "Client {user}@{addr} set FSD on UPS [{ups}]")
            }
            Event::DriverConnected { ups, socket } => {
                write!(f, "Connected to UPS [{ups}]: {socket}")
            }
            Event::DriverLost { ups } => write!(f, "Driver for UPS [{ups}] disconnected"),
            Event::Stale { ups } => write!(f, "Data for UPS [{ups}] is stale - check driver"),
            Event::NoLongerStale { ups } => write!(f, "UPS [{ups}] data is no longer stale"),
            Event::InstCmd {
                ups,
                user,
                addr,
                cmd,
            } => {
                write!(f, "Instant command: {user}@{addr} did {cmd} on {ups}")
            }
            Event::SetVar {
                ups,
                user,
                addr,
                var,
                value,
            } => write!(
                f,
                "Set variable: {user}@{addr} set {var} on {ups} to {value}"
            ),
        }
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this text (one or more complete lines) to the client.
    Reply {
        /// Client connection.
        client: ClientId,
        /// Text to write.
        text: String,
    },
    /// Close the client's connection (after writing earlier replies).
    Close {
        /// Client connection.
        client: ClientId,
    },
    /// Start a TLS handshake on the client's connection (after `OK STARTTLS`).
    StartTls {
        /// Client connection.
        client: ClientId,
    },
    /// Write a line to a UPS's driver.
    ToDriver {
        /// UPS name, as the client spelled it.
        ups: usize,
        /// The line.
        line: ServerLine,
    },
    /// Log this event.
    Event(Event),
}

#[derive(Debug, Clone, Default)]
struct UpsEntry {
    def: Option<UpsDefinition>,
    connected: bool,
    stale: bool,
    dumpdone: bool,
    data_ok: bool,
    last_heard: Millis,
    last_ping: Millis,
    tree: VarTree,
    numlogins: u32,
    fsd: bool,
}

impl UpsEntry {
    /// Whether a tick at `now` PINGs this driver: quiet, and not PINGed, for more than
    /// `quiet_ms`.
    fn ping_due(&self, now: Millis, quiet_ms: Millis) -> bool {
        now.saturating_sub(self.last_heard) > quiet_ms
            && now.saturating_sub(self.last_ping) > quiet_ms
    }

    fn name(&self) -> &str {
        self.def.as_ref().map(|d| d.name.as_str()).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
struct Client {
    addr: String,
    username: Option<String>,
    password: Option<String>,
    logged_into: Option<usize>,
    tracking: bool,
    tls: bool,
    last_request: Millis,
    /// Connection order, for LIST CLIENT's newest-first order.
    serial: u64,
}

/// upsd's state machine; see the module documentation.
#[derive(Debug, Clone)]
pub struct UpsdCore {
    upses: Vec<UpsEntry>,
    users: UpsdUsers,
    settings: UpsdSettings,
    descriptions: Descriptions,
    /// Boxed: B-tree nodes are about half full when IDs only grow, and a node of
    /// pointers wastes far less than a node of clients (memory per held connection).
    clients: BTreeMap<ClientId, Box<Client>>,
    tracking: BTreeMap<String, (TrackingResult, Millis)>,
    next_serial: u64,
    rng_state: u64,
    /// LIST UPS order: ups.conf order, UPSes added by a reload first (as NUT does).
    list_order: Vec<usize>,
}

/// What the shell must change after [`UpsdCore::reload`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Driver links to start: (UPS index, socket name).
    pub start_links: Vec<(usize, String)>,
    /// Driver links to stop (UPS removed, or its driver changed).
    pub stop_links: Vec<usize>,
    /// Actions (clients of removed UPSes are closed).
    pub actions: Vec<Action>,
}

impl UpsdCore {
    /// A server for these UPSes (in ups.conf order) and users; `seed` drives tracking ids.
    pub fn new(
        upses: Vec<UpsDefinition>,
        users: UpsdUsers,
        settings: UpsdSettings,
        descriptions: Descriptions,
        seed: u64,
    ) -> UpsdCore {
        let count = upses.len();
        UpsdCore {
            list_order: (0..count).collect(),
            upses: upses
                .into_iter()
                .map(|def| UpsEntry {
                    def: Some(def),
                    stale: true,
                    ..UpsEntry::default()
                })
                .collect(),
            users,
            settings,
            descriptions,
            clients: BTreeMap::new(),
            tracking: BTreeMap::new(),
            next_serial: 0,
            rng_state: seed | 1,
        }
    }

    /// The names of the UPSes served, in LIST UPS order.
    pub fn ups_names(&self) -> Vec<String> {
        self.upses
            .iter()
            .filter_map(|u| u.def.as_ref().map(|d| d.name.clone()))
            .collect()
    }

    /// The driver sockets to connect to: (UPS index as used in driver actions, socket name).
    pub fn driver_sockets(&self) -> Vec<(usize, String)> {
        self.upses
            .iter()
            .enumerate()
            .filter_map(|(i, u)| u.def.as_ref().map(|d| (i, d.socket_name())))
            .collect()
    }

    /// Applies re-read configuration without dropping clients (`upsd -c reload`):
    /// new UPSes are added (listed first), removed ones are dropped and their logged-in
    /// clients closed, a changed driver is reconnected; FSD latches and login counts of
    /// kept UPSes survive.
    pub fn reload(
        &mut self,
        upses: Vec<UpsDefinition>,
        users: UpsdUsers,
        settings: UpsdSettings,
    ) -> ReloadOutcome {
        let mut outcome = ReloadOutcome::default();
        self.users = users;
        self.settings = settings;
        let live: Vec<usize> = self.list_order.clone();
        for index in live {
            let name = self.upses[index].name().to_string();
            if upses.iter().any(|d| d.name.eq_ignore_ascii_case(&name)) {
                continue;
            }
            let kicked: Vec<ClientId> = self
                .clients
                .iter()
                .filter(|(_, c)| c.logged_into == Some(index))
                .map(|(id, _)| *id)
                .collect();
            for client in kicked {
                outcome.actions.push(Action::Close { client });
                outcome.actions.extend(self.client_disconnected(client));
            }
            self.upses[index] = UpsEntry::default();
            self.list_order.retain(|&i| i != index);
            outcome.stop_links.push(index);
        }
        let mut added = Vec::new();
        for def in upses {
            match self.find_ups(&def.name) {
                Some(index) => {
                    let entry = &mut self.upses[index];
                    let old_driver = entry.def.as_ref().map(|d| d.driver.clone());
                    if old_driver.as_deref() != Some(def.driver.as_str()) {
                        entry.connected = false;
                        entry.stale = true;
                        entry.tree.clear();
                        outcome.stop_links.push(index);
                        outcome.start_links.push((index, def.socket_name()));
                    }
                    entry.def = Some(def);
                }
                None => {
                    let index = self.upses.len();
                    outcome.start_links.push((index, def.socket_name()));
                    self.upses.push(UpsEntry {
                        def: Some(def),
                        stale: true,
                        ..UpsEntry::default()
                    });
                    added.push(index);
                }
            }
        }
        added.reverse();
        for index in added {
            self.list_order.insert(0, index);
        }
        outcome
    }

    /// True while the driver of UPS `ups` is connected.
    pub fn driver_connected(&self, ups: usize) -> bool {
        self.upses.get(ups).is_some_and(|u| u.connected)
    }

    /// What `/metrics` shows: every configured UPS with its variables as clients see
    /// them (FSD latch applied), staleness and driver link; the client count.
    pub fn metrics(&self) -> (Vec<crate::metrics::UpsSample>, crate::metrics::ServerSample) {
        let upses = self
            .list_order
            .iter()
            .filter_map(|&i| {
                let ups = self.upses.get(i)?;
                ups.def.as_ref()?;
                let vars = ups
                    .tree
                    .vars()
                    .map(|v| {
                        let value = if v.name.eq_ignore_ascii_case("ups.status") {
                            self.status_value(i, &v.value)
                        } else {
                            v.value.clone()
                        };
                        (v.name.clone(), value)
                    })
                    .collect();
                Some(crate::metrics::UpsSample {
                    name: ups.name().to_string(),
                    vars,
                    stale: Some(ups.stale),
                    driver_connected: Some(ups.connected),
                })
            })
            .collect();
        (
            upses,
            crate::metrics::ServerSample {
                clients: self.clients.len(),
            },
        )
    }

    /// The variable and command descriptions upsd serves (GET DESC).
    pub fn descriptions(&self) -> &Descriptions {
        &self.descriptions
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Replaces the user table (reload).
    pub fn set_users(&mut self, users: UpsdUsers) {
        self.users = users;
    }

    /// The variable tree of a UPS (for tests and diagnostics).
    pub fn tree(&self, ups: usize) -> Option<&VarTree> {
        self.upses.get(ups).map(|u| &u.tree)
    }

    fn find_ups(&self, name: &str) -> Option<usize> {
        self.upses
            .iter()
            .position(|u| u.def.is_some() && u.name().eq_ignore_ascii_case(name))
    }

    /// The IP address of a connected client.
    pub fn client_addr(&self, client: ClientId) -> Option<String> {
        self.clients.get(&client).map(|c| c.addr.clone())
    }

    /// A new client connection from `addr` (IP address text).
    pub fn client_connected(&mut self, now: Millis, client: ClientId, addr: &str) {
        self.next_serial += 1;
        self.clients.insert(
            client,
            Box::new(Client {
                addr: addr.to_string(),
                username: None,
                password: None,
                logged_into: None,
                tracking: false,
                tls: false,
                last_request: now,
                serial: self.next_serial,
            }),
        );
    }

    /// The client's connection ended (any reason); undoes its LOGIN.
    pub fn client_disconnected(&mut self, client: ClientId) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(state) = self.clients.remove(&client) {
            if let Some(ups) = state.logged_into {
                let entry = &mut self.upses[ups];
                entry.numlogins = entry.numlogins.saturating_sub(1);
                actions.push(Action::Event(Event::Logout {
                    ups: entry.name().to_string(),
                    user: state.username.unwrap_or_default(),
                    addr: state.addr,
                }));
            }
        }
        actions
    }

    /// The TLS handshake finished on this client's connection.
    pub fn client_tls_established(&mut self, client: ClientId) {
        if let Some(state) = self.clients.get_mut(&client) {
            state.tls = true;
        }
    }

    /// One request line (already tokenized) from a client.
    pub fn client_line(&mut self, now: Millis, client: ClientId, words: &[String]) -> Vec<Action> {
        let mut text = String::new();
        let mut actions = self.client_line_into(now, client, words.to_vec(), &mut text);
        if !text.is_empty() {
            actions.insert(0, Action::Reply { client, text });
        }
        actions
    }

    /// [`UpsdCore::client_line_into`] for borrowed words (the tokenizer's
    /// [`crate::tokenizer::Tokenizer::feed_with`]): `GET VAR` (what pollers send) is
    /// answered without allocating; any other request gets the same treatment from
    /// [`UpsdCore::client_line_into`].
    pub fn client_words(
        &mut self,
        now: Millis,
        client: ClientId,
        words: &[&str],
        reply: &mut String,
    ) -> Vec<Action> {
        // parse_request's reading of `GET VAR <ups> <var> [ignored...]`.
        if let [get, var_kw, ups, var, ..] = words {
            if get.eq_ignore_ascii_case("GET") && var_kw.eq_ignore_ascii_case("VAR") {
                let Some(state) = self.clients.get_mut(&client) else {
                    return Vec::new();
                };
                state.last_request = now;
                self.push_var_reply(ups, var, reply);
                return Vec::new();
            }
        }
        let words = words.iter().map(|w| w.to_string()).collect();
        self.client_line_into(now, client, words, reply)
    }

    /// One line from upsd's tokenizer: [`UpsdCore::client_words`], except that a line
    /// the tokenizer rejected is skipped without a reply, as NUT's upsd does.
    pub fn client_tokens(
        &mut self,
        now: Millis,
        client: ClientId,
        line: &crate::tokenizer::LineRef<'_>,
        reply: &mut String,
    ) -> Vec<Action> {
        if line.error.is_some() {
            return Vec::new();
        }
        self.client_words(now, client, line.words, reply)
    }

    /// The reply to `GET VAR ups var`, LF-terminated, appended to `reply`.
    fn push_var_reply(&self, ups: &str, var: &str, reply: &mut String) {
        let start = reply.len();
        match self.push_var(ups, var, reply) {
            Ok(()) => {
                let kept = truncate_response(&reply[start..]).len();
                reply.truncate(start + kept);
                reply.push('\n');
            }
            Err(code) => push_lf_terminated(reply, &format_err(code)),
        }
    }

    /// [`UpsdCore::client_line`] taking the words, with the reply to this client
    /// appended to `reply` (LF-terminated) instead of returned as an [`Action::Reply`]:
    /// the shell answers from one buffer per connection, without a String per reply.
    pub fn client_line_into(
        &mut self,
        now: Millis,
        client: ClientId,
        words: Vec<String>,
        reply: &mut String,
    ) -> Vec<Action> {
        let Some(state) = self.clients.get_mut(&client) else {
            return Vec::new();
        };
        state.last_request = now;
        let parsed = parse_request_owned(words);
        let mut actions = Vec::new();
        let text = if parsed.needs_auth && state.username.is_none() {
            format_err(ErrCode::UsernameRequired)
        } else if parsed.needs_auth && state.password.is_none() {
            format_err(ErrCode::PasswordRequired)
        } else {
            match parsed.request {
                Ok(request) => match self.handle(now, client, request, &mut actions) {
                    Ok(text) => text,
                    Err(code) => format_err(code),
                },
                Err(code) => format_err(code),
            }
        };
        push_lf_terminated(reply, &text);
        actions
    }

    fn handle(
        &mut self,
        now: Millis,
        client: ClientId,
        request: Request,
        actions: &mut Vec<Action>,
    ) -> Result<String, ErrCode> {
        match request {
            Request::Ver => Ok(SERVER_INFO.to_string()),
            Request::NetVer | Request::ProtVer => Ok(PROTOCOL_VERSION.to_string()),
            Request::Help => Ok(HELP_TEXT.to_string()),
            Request::StartTls => self.starttls(client, actions),
            Request::Username(name) => {
                let state = self.client_mut(client);
                if state.username.is_some() {
                    return Err(ErrCode::AlreadySetUsername);
                }
                state.username = Some(name);
                Ok("OK".to_string())
            }
            Request::Password(password) => {
                let state = self.client_mut(client);
                if state.password.is_some() {
                    return Err(ErrCode::AlreadySetPassword);
                }
                state.password = Some(password);
                Ok("OK".to_string())
            }
            Request::Logout => {
                actions.push(Action::Close { client });
                Ok("OK Goodbye".to_string())
            }
            Request::Login(ups) => self.login(client, &ups, actions),
            Request::Primary { ups, master } => {
                self.find_ups(&ups).ok_or(ErrCode::UnknownUps)?;
                self.authorize(client, &["PRIMARY", "MASTER"])?;
                Ok(if master {
                    "OK MASTER-GRANTED"
                } else {
                    "OK PRIMARY-GRANTED"
                }
                .to_string())
            }
            Request::Fsd(ups) => {
                let index = self.find_ups(&ups).ok_or(ErrCode::UnknownUps)?;
                self.authorize(client, &["FSD"])?;
                self.upses[index].fsd = true;
                let (user, addr) = self.identity(client);
                actions.push(Action::Event(Event::FsdSet {
                    ups: self.upses[index].name().to_string(),
                    user,
                    addr,
                }));
                Ok("OK FSD-SET".to_string())
            }
            Request::Get(get) => self.get(client, get),
            Request::List(list) => self.list(list),
            Request::SetTracking(on) => {
                self.client_mut(client).tracking = on;
                Ok("OK".to_string())
            }
            Request::SetVar { ups, var, value } => {
                self.set_var(now, client, &ups, &var, &value, actions)
            }
            Request::InstCmd { ups, cmd, param } => {
                self.instcmd(now, client, &ups, &cmd, param, actions)
            }
        }
    }

    fn client_mut(&mut self, client: ClientId) -> &mut Client {
        self.clients
            .get_mut(&client)
            .expect("handlers run only for connected clients")
    }

    fn identity(&self, client: ClientId) -> (String, String) {
        let state = &self.clients[&client];
        (
            state.username.clone().unwrap_or_default(),
            state.addr.clone(),
        )
    }

    fn authorize(&self, client: ClientId, any_of: &[&str]) -> Result<(), ErrCode> {
        let state = &self.clients[&client];
        let user = self
            .users
            .authenticate(
                state.username.as_deref().unwrap_or(""),
                state.password.as_deref().unwrap_or(""),
            )
            .ok_or(ErrCode::AccessDenied)?;
        if any_of.iter().any(|action| user.has_action(action)) {
            Ok(())
        } else {
            Err(ErrCode::AccessDenied)
        }
    }

    fn available(&self, ups: usize) -> Result<(), ErrCode> {
        let entry = &self.upses[ups];
        if !entry.connected {
            return Err(ErrCode::DriverNotConnected);
        }
        if entry.stale {
            return Err(ErrCode::DataStale);
        }
        Ok(())
    }

    fn available_ups(&self, name: &str) -> Result<usize, ErrCode> {
        let index = self.find_ups(name).ok_or(ErrCode::UnknownUps)?;
        self.available(index)?;
        Ok(index)
    }

    fn starttls(&mut self, client: ClientId, actions: &mut Vec<Action>) -> Result<String, ErrCode> {
        if self.clients[&client].tls {
            return Err(ErrCode::AlreadySslMode);
        }
        if !self.settings.tls_configured {
            return Err(ErrCode::FeatureNotConfigured);
        }
        actions.push(Action::StartTls { client });
        Ok("OK STARTTLS".to_string())
    }

    fn login(
        &mut self,
        client: ClientId,
        ups: &str,
        actions: &mut Vec<Action>,
    ) -> Result<String, ErrCode> {
        if self.clients[&client].logged_into.is_some() {
            return Err(ErrCode::AlreadyLoggedIn);
        }
        let index = self.find_ups(ups).ok_or(ErrCode::UnknownUps)?;
        self.authorize(client, &["LOGIN"])?;
        self.client_mut(client).logged_into = Some(index);
        self.upses[index].numlogins += 1;
        let (user, addr) = self.identity(client);
        actions.push(Action::Event(Event::Login {
            ups: self.upses[index].name().to_string(),
            user,
            addr,
        }));
        Ok("OK".to_string())
    }

    fn status_value(&self, ups: usize, raw: &str) -> String {
        with_fsd_prefix(raw, self.upses[ups].fsd)
    }

    fn var_value<'a>(&self, ups: usize, name: &str, raw: &'a str) -> std::borrow::Cow<'a, str> {
        if name.eq_ignore_ascii_case("ups.status") && self.upses[ups].fsd {
            std::borrow::Cow::Owned(self.status_value(ups, raw))
        } else {
            std::borrow::Cow::Borrowed(raw)
        }
    }

    fn get(&self, client: ClientId, get: GetRequest) -> Result<String, ErrCode> {
        match get {
            GetRequest::Tracking { id: None } => Ok(if self.clients[&client].tracking {
                "ON"
            } else {
                "OFF"
            }
            .to_string()),
            GetRequest::Tracking { id: Some(id) } => {
                if !self.clients[&client].tracking {
                    return Err(ErrCode::FeatureNotConfigured);
                }
                let result = self
                    .tracking
                    .get(&id.to_ascii_uppercase())
                    .map(|(result, _)| *result)
                    .unwrap_or(TrackingResult::Unknown);
                Ok(result.reply().to_string())
            }
            GetRequest::NumLogins { ups } => {
                let index = self.available_ups(&ups)?;
                Ok(format!("NUMLOGINS {ups} {}", self.upses[index].numlogins))
            }
            GetRequest::UpsDesc { ups } => {
                let index = self.find_ups(&ups).ok_or(ErrCode::UnknownUps)?;
                let desc = self.upses[index]
                    .def
                    .as_ref()
                    .and_then(|d| d.desc.as_deref())
                    .unwrap_or("Unavailable");
                Ok(format!("UPSDESC {ups} {}", quote(desc)))
            }
            GetRequest::Var { ups, var } => self.get_var(&ups, &var),
            GetRequest::Type { ups, var } => {
                let index = self.available_ups(&ups)?;
                let entry = self.upses[index]
                    .tree
                    .get(&var)
                    .ok_or(ErrCode::VarNotSupported)?;
                let mut text = format!("TYPE {ups} {var}");
                if entry.flags.rw {
                    text.push_str(" RW");
                }
                if !entry.enums.is_empty() {
                    text.push_str(" ENUM");
                }
                if !entry.ranges.is_empty() {
                    text.push_str(" RANGE");
                }
                if entry.flags.string {
                    text.push_str(&format!(" STRING:{}", entry.aux));
                } else {
                    text.push_str(" NUMBER");
                }
                Ok(text)
            }
            GetRequest::Desc { ups, var } => {
                self.available_ups(&ups)?;
                Ok(format!(
                    "DESC {ups} {var} {}",
                    quote(self.descriptions.var(&var))
                ))
            }
            GetRequest::CmdDesc { ups, cmd } => {
                self.available_ups(&ups)?;
                Ok(format!(
                    "CMDDESC {ups} {cmd} {}",
                    quote(self.descriptions.cmd(&cmd))
                ))
            }
        }
    }

    /// The `VAR ups var "value"` line (without the LF) appended to `out`; nothing is
    /// written on an error.
    fn push_var(&self, ups: &str, var: &str, out: &mut String) -> Result<(), ErrCode> {
        if var
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("server."))
        {
            // upsd ignores the UPS name entirely for server.* variables.
            let value = match var.to_ascii_lowercase().as_str() {
                "server.info" => SERVER_INFO,
                "server.version" => NUT_VERSION,
                _ => return Err(ErrCode::VarNotSupported),
            };
            push_value_line(out, "VAR", ups, var, value);
            return Ok(());
        }
        let index = self.available_ups(ups)?;
        let raw = self.upses[index]
            .tree
            .value(var)
            .ok_or(ErrCode::VarNotSupported)?;
        push_value_line(out, "VAR", ups, var, &self.var_value(index, var, raw));
        Ok(())
    }

    fn get_var(&self, ups: &str, var: &str) -> Result<String, ErrCode> {
        let mut line = String::new();
        self.push_var(ups, var, &mut line)?;
        Ok(line)
    }

    /// LIST VAR, the most frequent LIST (every poller's), written straight into the
    /// reply.
    fn list_var(&self, ups: &str, query: &str) -> Result<String, ErrCode> {
        let index = self.available_ups(ups)?;
        let tree = &self.upses[index].tree;
        let mut out = String::with_capacity(64 + tree.len() * 48);
        out.push_str("BEGIN LIST ");
        out.push_str(query);
        out.push('\n');
        for v in tree.vars() {
            let start = out.len();
            let value = self.var_value(index, &v.name, &v.value);
            push_value_line(&mut out, "VAR", ups, &v.name, &value);
            let kept = truncate_response(&out[start..]).len();
            out.truncate(start + kept);
            out.push('\n');
        }
        out.push_str("END LIST ");
        out.push_str(query);
        Ok(out)
    }

    fn list(&self, list: ListRequest) -> Result<String, ErrCode> {
        let query = list.query_words();
        let items: Vec<String> = match &list {
            ListRequest::Ups => self
                .list_order
                .iter()
                .filter_map(|&i| self.upses[i].def.as_ref())
                .map(|d| {
                    let desc = d.desc.as_deref().unwrap_or("Description unavailable");
                    format!("UPS {} {}", d.name, quote(desc))
                })
                .collect(),
            ListRequest::Var { ups } => return self.list_var(ups, &query),
            ListRequest::Rw { ups } => {
                let index = self.available_ups(ups)?;
                self.upses[index]
                    .tree
                    .vars()
                    .filter(|v| v.flags.rw)
                    .map(|v| format_value_line("RW", ups, &v.name, &v.value))
                    .collect()
            }
            ListRequest::Cmd { ups } => {
                let index = self.available_ups(ups)?;
                self.upses[index]
                    .tree
                    .cmds()
                    .map(|c| format!("CMD {ups} {c}"))
                    .collect()
            }
            ListRequest::Enum { ups, var } => {
                let index = self.available_ups(ups)?;
                let entry = self.upses[index]
                    .tree
                    .get(var)
                    .ok_or(ErrCode::VarNotSupported)?;
                entry
                    .enums
                    .iter()
                    .map(|e| format_value_line("ENUM", ups, var, e))
                    .collect()
            }
            ListRequest::Range { ups, var } => {
                let index = self.available_ups(ups)?;
                let entry = self.upses[index]
                    .tree
                    .get(var)
                    .ok_or(ErrCode::VarNotSupported)?;
                entry
                    .ranges
                    .iter()
                    .map(|(min, max)| {
                        format!(
                            "RANGE {ups} {var} {} {}",
                            quote(&min.to_string()),
                            quote(&max.to_string())
                        )
                    })
                    .collect()
            }
            ListRequest::Client { ups } => {
                let index = self.find_ups(ups).ok_or(ErrCode::UnknownUps)?;
                let mut clients: Vec<&Client> = self
                    .clients
                    .values()
                    .map(|c| &**c)
                    .filter(|c| c.logged_into == Some(index))
                    .collect();
                clients.sort_by_key(|c| std::cmp::Reverse(c.serial));
                clients
                    .into_iter()
                    .map(|c| format!("CLIENT {ups} {}", c.addr))
                    .collect()
            }
        };
        let mut text = format_list(&query, &items);
        text.pop();
        Ok(text)
    }

    fn next_tracking_id(&mut self) -> String {
        // xorshift64*: deterministic from the seed, so simulations replay exactly.
        let mut next = || {
            self.rng_state ^= self.rng_state >> 12;
            self.rng_state ^= self.rng_state << 25;
            self.rng_state ^= self.rng_state >> 27;
            self.rng_state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let high = next();
        let low = next();
        let bytes: Vec<u8> = high
            .to_be_bytes()
            .into_iter()
            .chain(low.to_be_bytes())
            .collect();
        let mut b = bytes;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn start_tracking(&mut self, now: Millis, client: ClientId) -> Option<String> {
        if !self.clients[&client].tracking {
            return None;
        }
        let id = self.next_tracking_id();
        if self.tracking.len() >= MAX_TRACKING_ENTRIES {
            if let Some(oldest) = self
                .tracking
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                self.tracking.remove(&oldest);
            }
        }
        self.tracking
            .insert(id.clone(), (TrackingResult::Pending, now));
        Some(id)
    }

    fn set_var(
        &mut self,
        now: Millis,
        client: ClientId,
        ups: &str,
        var: &str,
        value: &str,
        actions: &mut Vec<Action>,
    ) -> Result<String, ErrCode> {
        let index = self.available_ups(ups)?;
        self.authorize(client, &["SET"])?;
        let entry = self.upses[index]
            .tree
            .get(var)
            .ok_or(ErrCode::VarNotSupported)?;
        if !entry.flags.rw {
            return Err(ErrCode::Readonly);
        }
        if entry.flags.string {
            if entry.aux < 1 {
                return Err(ErrCode::SetFailed);
            }
            if value.len() as i64 > entry.aux {
                return Err(ErrCode::TooLong);
            }
        }
        if !entry.enums.is_empty() && !entry.enums.iter().any(|e| e == value) {
            return Err(ErrCode::InvalidValue);
        }
        if !entry.ranges.is_empty() {
            let number = atoi(value);
            if !entry
                .ranges
                .iter()
                .any(|(lo, hi)| (*lo..=*hi).contains(&number))
            {
                return Err(ErrCode::InvalidValue);
            }
        }
        let tracking = self.start_tracking(now, client);
        actions.push(Action::ToDriver {
            ups: index,
            line: ServerLine::Set {
                var: var.to_string(),
                value: value.to_string(),
                tracking: tracking.clone(),
            },
        });
        let (user, addr) = self.identity(client);
        actions.push(Action::Event(Event::SetVar {
            ups: self.upses[index].name().to_string(),
            user,
            addr,
            var: var.to_string(),
            value: value.to_string(),
        }));
        Ok(ok_tracking(tracking))
    }

    fn instcmd(
        &mut self,
        now: Millis,
        client: ClientId,
        ups: &str,
        cmd: &str,
        param: Option<String>,
        actions: &mut Vec<Action>,
    ) -> Result<String, ErrCode> {
        let index = self.available_ups(ups)?;
        if !self.upses[index].tree.has_cmd(cmd) {
            return Err(ErrCode::CmdNotSupported);
        }
        let state = &self.clients[&client];
        let user = self
            .users
            .authenticate(
                state.username.as_deref().unwrap_or(""),
                state.password.as_deref().unwrap_or(""),
            )
            .ok_or(ErrCode::AccessDenied)?;
        if !user.may_instcmd(cmd) {
            return Err(ErrCode::AccessDenied);
        }
        let tracking = self.start_tracking(now, client);
        actions.push(Action::ToDriver {
            ups: index,
            line: ServerLine::InstCmd {
                cmd: cmd.to_string(),
                param,
                tracking: tracking.clone(),
            },
        });
        let (user, addr) = self.identity(client);
        actions.push(Action::Event(Event::InstCmd {
            ups: self.upses[index].name().to_string(),
            user,
            addr,
            cmd: cmd.to_string(),
        }));
        Ok(ok_tracking(tracking))
    }

    /// The shell connected to UPS `ups`'s driver socket.
    pub fn driver_connected_now(&mut self, now: Millis, ups: usize) -> Vec<Action> {
        let Some(entry) = self.upses.get_mut(ups) else {
            return Vec::new();
        };
        // A link of a UPS removed by a reload may still connect once: ignore it.
        let Some(def) = entry.def.clone() else {
            return Vec::new();
        };
        entry.connected = true;
        entry.stale = false;
        entry.dumpdone = false;
        entry.data_ok = true;
        entry.last_heard = now;
        entry.last_ping = now;
        entry.tree.clear();
        entry.tree.set("ups.status", "WAIT");
        vec![
            Action::Event(Event::DriverConnected {
                ups: def.name.clone(),
                socket: def.socket_name(),
            }),
            Action::ToDriver {
                ups,
                line: ServerLine::DumpAll,
            },
        ]
    }

    /// The driver connection of UPS `ups` ended. Variables are dropped; the FSD latch
    /// and login counter survive (nut-reference.md §1.8).
    pub fn driver_disconnected(&mut self, ups: usize) -> Vec<Action> {
        let Some(entry) = self.upses.get_mut(ups) else {
            return Vec::new();
        };
        if !entry.connected {
            return Vec::new();
        }
        entry.connected = false;
        entry.stale = true;
        entry.tree.clear();
        vec![Action::Event(Event::DriverLost {
            ups: entry.name().to_string(),
        })]
    }

    /// One line (tokenized) from UPS `ups`'s driver.
    pub fn driver_line<S: AsRef<str>>(
        &mut self,
        now: Millis,
        ups: usize,
        words: &[S],
    ) -> Vec<Action> {
        let Some(line) = DriverLine::parse(words) else {
            return Vec::new();
        };
        let Some(entry) = self.upses.get_mut(ups) else {
            return Vec::new();
        };
        entry.last_heard = now;
        match &line {
            DriverLine::DumpDone => entry.dumpdone = true,
            DriverLine::DataOk => entry.data_ok = true,
            DriverLine::DataStale => entry.data_ok = false,
            DriverLine::Tracking { id, result } => {
                if let Some(slot) = self.tracking.get_mut(&id.to_ascii_uppercase()) {
                    slot.0 = TrackingResult::from_driver(*result);
                }
            }
            _ => {
                entry.tree.apply(&line);
            }
        }
        self.update_staleness(now, ups)
    }

    fn update_staleness(&mut self, now: Millis, ups: usize) -> Vec<Action> {
        let entry = &mut self.upses[ups];
        if !entry.connected {
            return Vec::new();
        }
        let elapsed_s = now.saturating_sub(entry.last_heard) / 1000;
        let dead = elapsed_s > self.settings.maxage_s + 1 || (entry.dumpdone && !entry.data_ok);
        let name = entry.name().to_string();
        match (entry.stale, dead) {
            (false, true) => {
                entry.stale = true;
                vec![Action::Event(Event::Stale { ups: name })]
            }
            (true, false) => {
                entry.stale = false;
                vec![Action::Event(Event::NoLongerStale { ups: name })]
            }
            _ => Vec::new(),
        }
    }

    /// The reply a GET request from `client` would get now, without the request taking
    /// place (the client's idle time is not reset); `None` for anything but a GET.
    pub fn peek_get(&self, client: ClientId, words: &[String]) -> Option<String> {
        let state = self.clients.get(&client)?;
        let parsed = parse_request_owned(words.to_vec());
        let Ok(Request::Get(get)) = parsed.request else {
            return None;
        };
        if parsed.needs_auth && (state.username.is_none() || state.password.is_none()) {
            return None;
        }
        let text = self.get(client, get).unwrap_or_else(format_err);
        let mut reply = String::new();
        push_lf_terminated(&mut reply, &text);
        Some(reply)
    }

    /// When each client last sent a request (a client whose last request is more than
    /// [`CLIENT_IDLE_TIMEOUT_MS`] old is dropped at the next [`UpsdCore::tick`]).
    pub fn clients_last_request(&self) -> impl Iterator<Item = (ClientId, Millis)> + '_ {
        self.clients.iter().map(|(id, c)| (*id, c.last_request))
    }

    /// How long a driver may stay quiet before a tick PINGs it: a third of MAXAGE.
    fn ping_after_ms(&self) -> Millis {
        crate::secs_to_ms(self.settings.maxage_s) / 3
    }

    /// Whether [`UpsdCore::skip_ticks`] can stand for the coming ticks: every connected
    /// driver is fresh and stays so while it answers PING (MAXAGE of at least 3 s: a
    /// PING goes out once a third of MAXAGE passed without a line, so the oldest line at
    /// a tick is at most a third of MAXAGE and one tick old).
    pub fn ticks_skippable(&self) -> bool {
        self.ping_after_ms() + TICK_INTERVAL_MS < crate::secs_to_ms(self.settings.maxage_s)
            && self
                .upses
                .iter()
                .all(|e| !e.connected || (!e.stale && (!e.dumpdone || e.data_ok)))
    }

    /// What the ticks at `first`, `first + TICK_INTERVAL_MS`, ... up to `last` do when
    /// nothing else happens meanwhile, every connected driver answers PING with PONG at
    /// once and no client goes idle (the shell knows; [`UpsdCore::ticks_skippable`]
    /// holds): the PINGs' times, and tracking results purged as of `last`. For a shell
    /// that jumps over ticks it knows change nothing else.
    pub fn skip_ticks(&mut self, first: Millis, last: Millis) {
        let quiet_ms = self.ping_after_ms();
        for entry in self.upses.iter_mut().filter(|e| e.connected) {
            let mut tick = first;
            while tick <= last {
                if entry.ping_due(tick, quiet_ms) {
                    // The PING, and the PONG that answers it at once.
                    entry.last_ping = tick;
                    entry.last_heard = tick;
                }
                tick = tick.saturating_add(TICK_INTERVAL_MS);
            }
        }
        let keep_ms = crate::secs_to_ms(self.settings.trackingdelay_s);
        self.tracking
            .retain(|_, (_, at)| last.saturating_sub(*at) <= keep_ms);
    }

    /// The periodic pass (every [`TICK_INTERVAL_MS`]): PINGs quiet drivers, updates
    /// staleness, drops idle clients, purges old tracking results.
    pub fn tick(&mut self, now: Millis) -> Vec<Action> {
        let mut actions = Vec::new();
        let quiet_ms = self.ping_after_ms();
        for ups in 0..self.upses.len() {
            let entry = &mut self.upses[ups];
            if entry.connected && entry.ping_due(now, quiet_ms) {
                entry.last_ping = now;
                actions.push(Action::ToDriver {
                    ups,
                    line: ServerLine::Ping,
                });
            }
            actions.extend(self.update_staleness(now, ups));
        }
        let idle: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| now.saturating_sub(c.last_request) > CLIENT_IDLE_TIMEOUT_MS)
            .map(|(id, _)| *id)
            .collect();
        for client in idle {
            actions.push(Action::Close { client });
            actions.extend(self.client_disconnected(client));
        }
        let keep_ms = crate::secs_to_ms(self.settings.trackingdelay_s);
        self.tracking
            .retain(|_, (_, at)| now.saturating_sub(*at) <= keep_ms);
        actions
    }
}

fn ok_tracking(tracking: Option<String>) -> String {
    match tracking {
        Some(id) => format!("OK TRACKING {id}"),
        None => "OK".to_string(),
    }
}

/// Appends `text` and an LF; a one-line reply longer than NUT's limit is cut.
fn push_lf_terminated(out: &mut String, text: &str) {
    if text.contains('\n') {
        out.push_str(text);
    } else {
        out.push_str(truncate_response(text));
    }
    out.push('\n');
}
