//! Typed events: what the daemons report to the world (the log for real, the timeline in
//! the simulation).
//!
//! Events cross the seam between a daemon and its shell as values, never as text. Text
//! is produced only when an event is rendered: [`Event`]'s `Display` gives the line NUT
//! itself logs for it (the words admins grep for), and [`Event::level`] NUT's syslog
//! priority. The simulation's invariants match on the variants, so rewording a message
//! can never silently disable a check.
//!
//! Message texts follow NUT 2.8's `clients/upsmon.c` and `server/upsd.c`.

use crate::config::Diagnostic;
use crate::notify::NotifyType;
use crate::Millis;
use std::fmt;

/// syslog priorities, most severe first (NUT logs with these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// LOG_ALERT.
    Alert,
    /// LOG_CRIT.
    Crit,
    /// LOG_ERR.
    Err,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
    /// Debug output (`-D`).
    Debug,
}

impl Level {
    /// The syslog priority number (`LOG_ALERT` = 1 ... `LOG_DEBUG` = 7).
    pub fn syslog_priority(self) -> u8 {
        match self {
            Level::Alert => 1,
            Level::Crit => 2,
            Level::Err => 3,
            Level::Warning => 4,
            Level::Notice => 5,
            Level::Info => 6,
            Level::Debug => 7,
        }
    }
}

/// Something a daemon did or saw that is worth a log line or a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    // ---- upsd -------------------------------------------------------------------
    /// An event of upsd's state machine (logins, FSD, driver links, staleness, commands).
    Upsd(crate::upsd::Event),
    /// upsd listens on an address.
    Listening {
        /// `host:port`.
        addr: String,
    },
    /// upsd serves Prometheus scrapes on an address.
    MetricsListening {
        /// `host:port`.
        addr: String,
    },
    /// upsd's zeroconf announcer: name announced, renamed after a conflict, given up.
    Zeroconf(crate::mdns::Note),
    /// upsd cannot announce itself (no multicast socket).
    ZeroconfUnavailable {
        /// Why.
        error: String,
    },
    /// upsd could not listen on an address.
    NotListening {
        /// `host:port`.
        addr: String,
        /// Why.
        error: String,
    },
    /// MAXCONN connections are open; a new one was closed at once.
    MaxConnReached {
        /// The limit.
        maxconn: usize,
        /// The refused client's address.
        addr: String,
    },
    /// The open-file limit leaves room for fewer clients than MAXCONN, even after
    /// upsd raised its soft limit to the hard one.
    FdLimit {
        /// The configured limit on clients.
        maxconn: usize,
        /// The open-file limit upsd runs with.
        limit: u64,
        /// About how many clients fit in it.
        clients: u64,
    },
    /// A client's STARTTLS handshake failed.
    TlsHandshakeFailed {
        /// Client address.
        addr: String,
        /// Why.
        error: String,
    },

    // ---- drivers ----------------------------------------------------------------
    /// The driver serves its socket.
    DriverListening {
        /// Socket name (`dummy-ups-myups`).
        socket: String,
    },
    /// The driver received an instant command for the device.
    DeviceCommand {
        /// UPS name.
        ups: String,
        /// Command name (`shutdown.return`, ...).
        cmd: String,
        /// Optional argument.
        arg: Option<String>,
    },
    /// The driver stopped hearing from the device; data is stale.
    DeviceLost {
        /// UPS name.
        ups: String,
    },
    /// The device answers again after being lost.
    DeviceBack {
        /// UPS name.
        ups: String,
    },
    /// A hardware driver's own log line (NUT's `upslogx` text and level, e.g.
    /// `Using protocol: Megatec 0.06`).
    DriverLog {
        /// syslog level.
        level: Level,
        /// The text.
        text: String,
    },

    // ---- upsmon -----------------------------------------------------------------
    /// A notification (NOTIFYTYPE with its message).
    Notify {
        /// The event type.
        kind: NotifyType,
        /// MONITOR system name (`ups@host`), empty when not tied to one UPS.
        system: String,
        /// The message text (NOTIFYMSG or NUT's stock text, filled in).
        message: String,
        /// NOTIFYFLAG has SYSLOG for this type: the message goes to the log.
        syslog: bool,
    },
    /// upsmon logged into upsd for a UPS.
    LoggedIn {
        /// MONITOR system name.
        system: String,
        /// True when the connection is in TLS.
        tls: bool,
    },
    /// upsd refused upsmon's login; upsmon polls without being logged in.
    LoginFailed {
        /// MONITOR system name.
        system: String,
        /// upsd's reply.
        reply: String,
    },
    /// Neither PRIMARY nor MASTER was accepted.
    PrimaryUnavailable {
        /// MONITOR system name.
        system: String,
        /// upsd's reply.
        reply: String,
    },
    /// Connecting to upsd failed (refused, TLS required but not offered, ...).
    ConnectFailed {
        /// MONITOR system name.
        system: String,
        /// Why.
        error: String,
    },
    /// A poll of a UPS failed.
    PollFailed {
        /// MONITOR system name.
        system: String,
        /// Why.
        why: String,
    },
    /// POLLFAIL_LOG_THROTTLE_MAX: the kind of poll failure changed; repeats of it are
    /// logged only every `every_s` seconds (never, when `None`).
    PollFailureChanged {
        /// MONITOR system name.
        system: String,
        /// The earlier failure (`NONE` for none).
        from: String,
        /// The new failure.
        to: String,
        /// How often repeats are logged.
        every_s: Option<u64>,
    },
    /// POLLFAIL_LOG_THROTTLE_MAX: polling works again after a throttled failure.
    PollRecovered {
        /// MONITOR system name.
        system: String,
        /// The failure that ended.
        from: String,
    },
    /// A dead UPS last seen on battery is now assumed critical (DEADTIME).
    AssumedDead {
        /// MONITOR system name.
        system: String,
    },
    /// The critical rule fired: too few healthy supplies; the shutdown begins.
    TooFewHealthy {
        /// Power value of the healthy supplies.
        healthy: u64,
        /// MINSUPPLIES.
        minsupplies: u32,
        /// The critical UPSes.
        critical: Vec<String>,
    },
    /// `upsmon -c fsd` (SIGUSR1): the shutdown begins on request.
    UserFsd,
    /// upsmon set FSD on a UPS it is primary for.
    FsdSet {
        /// MONITOR system name.
        system: String,
    },
    /// upsd refused FSD, or it could not be sent.
    FsdFailed {
        /// MONITOR system name.
        system: String,
        /// upsd's reply or the connection error.
        error: String,
    },
    /// The primary waits for secondaries to log out.
    HostsyncWaiting {
        /// NUMLOGINS seen (`None`: upsd did not report it).
        logins: Option<u32>,
    },
    /// HOSTSYNC expired with secondaries still logged in.
    HostsyncExpired,
    /// The primary finished waiting for secondaries.
    HostsyncDone {
        /// NUMLOGINS seen last.
        logins: u32,
        /// How long the primary waited.
        waited_ms: Millis,
        /// True when HOSTSYNC expired with secondaries still logged in.
        expired: bool,
    },
    /// The shutdown proper begins (NOTIFY SHUTDOWN, then FINALDELAY).
    AutoShutdown,
    /// POWERDOWNFLAG was written.
    PowerdownFlagWritten {
        /// Path.
        path: String,
    },
    /// POWERDOWNFLAG could not be written.
    PowerdownFlagFailed {
        /// Path.
        path: String,
        /// Why.
        error: String,
    },
    /// A POWERDOWNFLAG of ours from an earlier shutdown was removed at start.
    PowerdownFlagCleared {
        /// Path.
        path: String,
    },
    /// A file at POWERDOWNFLAG's path exists at start with content upsmon did not
    /// write; it is left alone and POWERDOWNFLAG is disabled (as NUT's `clear_pdflag`).
    PowerdownFlagForeign {
        /// Path.
        path: String,
    },
    /// SHUTDOWNCMD was started.
    ShutdownCmdStarted {
        /// The command line.
        cmd: String,
    },
    /// SHUTDOWNCMD exited.
    ShutdownCmdFinished {
        /// Its exit status.
        status: i32,
    },
    /// SHUTDOWNCMD could not be run.
    ShutdownCmdFailed {
        /// Why.
        error: String,
    },
    /// No SHUTDOWNCMD is configured.
    NoShutdownCmd,
    /// upsmon closed its connections to upsd (the implicit logout).
    LoggedOut,
    /// The privileged parent of a RUN_AS_USER upsmon died: no shutdown is possible.
    ParentDied,
    /// The RUN_AS_USER parent exits after running SHUTDOWNCMD.
    ParentExiting {
        /// SHUTDOWNCMD's exit status.
        status: i32,
    },
    /// The RUN_AS_USER parent's monitoring child exited.
    ChildExited,
    /// NOTIFYCMD could not be run.
    NotifyCmdFailed {
        /// Why.
        error: String,
    },

    // ---- upssched ---------------------------------------------------------------
    /// CMDSCRIPT ran (for an EXECUTE line, an expired timer or a cancel's fallback).
    CmdScriptRan {
        /// CMDSCRIPT's argument.
        cmd: String,
        /// Its exit status.
        status: i32,
    },
    /// CMDSCRIPT could not be run.
    CmdScriptFailed {
        /// CMDSCRIPT's argument.
        cmd: String,
        /// Why.
        error: String,
    },
    /// A timer started (START-TIMER; a shared timer already running is not restarted).
    TimerStarted {
        /// The timer's name.
        name: String,
        /// Its length in seconds.
        seconds: u64,
        /// The UPSNAME of the notification that started it.
        ups: String,
        /// The NOTIFYTYPE whose AT line started it.
        notifytype: String,
    },
    /// A timer was cancelled (CANCEL-TIMER, CANCEL-TIMER-MATCHED).
    TimerCancelled {
        /// The timer's name.
        name: String,
    },
    /// A timer expired.
    TimerExpired {
        /// The timer's name.
        name: String,
    },
    /// The upssched timer daemon started.
    TimerDaemonStarted,
    /// The timer daemon had no timer for a while and exits.
    TimerDaemonExiting,

    // ---- every daemon -----------------------------------------------------------
    /// A problem (or warning) found in a config file.
    Config(Diagnostic),
    /// The configuration was re-read (`-c reload`, SIGHUP).
    Reloaded,
    /// A reload was refused; the running configuration stays.
    ReloadFailed {
        /// Why.
        error: String,
    },
    /// A signal asked the daemon to do something.
    Signal {
        /// Signal number (15, 1, 10, ...).
        number: i32,
        /// What it asks (`exiting`, `User requested FSD`, ...).
        what: &'static str,
    },
}

impl Event {
    /// NUT's syslog priority for this event.
    pub fn level(&self) -> Level {
        use crate::upsd::Event as U;
        match self {
            Event::Upsd(U::Stale { .. } | U::NoLongerStale { .. }) => Level::Notice,
            Event::Upsd(U::DriverLost { .. }) => Level::Warning,
            Event::Upsd(_) => Level::Info,
            Event::Listening { .. } => Level::Info,
            Event::NotListening { .. } => Level::Err,
            Event::MaxConnReached { .. } => Level::Warning,
            Event::FdLimit { .. } => Level::Warning,
            Event::TlsHandshakeFailed { .. } => Level::Err,
            Event::DriverListening { .. } => Level::Debug,
            Event::MetricsListening { .. } => Level::Info,
            Event::Zeroconf(crate::mdns::Note::Announced { .. }) => Level::Info,
            Event::Zeroconf(_) | Event::ZeroconfUnavailable { .. } => Level::Warning,
            Event::DeviceCommand { .. } => Level::Info,
            Event::DeviceLost { .. } => Level::Warning,
            Event::DeviceBack { .. } => Level::Notice,
            Event::DriverLog { level, .. } => *level,
            Event::Notify { .. } => Level::Notice,
            Event::LoggedIn { .. } => Level::Info,
            Event::LoginFailed { .. } | Event::ConnectFailed { .. } | Event::PollFailed { .. } => {
                Level::Err
            }
            Event::PrimaryUnavailable { .. } => Level::Alert,
            Event::AssumedDead { .. } => Level::Warning,
            Event::PollFailureChanged { .. } | Event::PollRecovered { .. } => Level::Err,
            Event::TooFewHealthy { .. } | Event::UserFsd => Level::Warning,
            Event::FsdSet { .. } => Level::Info,
            Event::FsdFailed { .. } => Level::Err,
            Event::HostsyncWaiting { .. } => Level::Info,
            Event::HostsyncExpired => Level::Info,
            Event::HostsyncDone { .. } => Level::Info,
            Event::AutoShutdown => Level::Crit,
            Event::PowerdownFlagWritten { .. } | Event::PowerdownFlagCleared { .. } => Level::Info,
            Event::PowerdownFlagFailed { .. } | Event::PowerdownFlagForeign { .. } => Level::Err,
            Event::ShutdownCmdStarted { .. } => Level::Info,
            Event::ShutdownCmdFinished { .. } => Level::Info,
            Event::ShutdownCmdFailed { .. } => Level::Err,
            Event::NoShutdownCmd => Level::Err,
            Event::LoggedOut => Level::Info,
            Event::NotifyCmdFailed { .. } => Level::Err,
            Event::ParentDied => Level::Alert,
            Event::ParentExiting { .. } => Level::Warning,
            Event::ChildExited => Level::Err,
            Event::CmdScriptRan { .. } | Event::TimerExpired { .. } => Level::Info,
            Event::TimerStarted { .. } | Event::TimerCancelled { .. } => Level::Debug,
            Event::CmdScriptFailed { .. } => Level::Err,
            Event::TimerDaemonStarted | Event::TimerDaemonExiting => Level::Info,
            Event::Config(d) if d.severity == crate::config::Severity::Error => Level::Err,
            Event::Config(_) => Level::Warning,
            Event::Reloaded => Level::Info,
            Event::ReloadFailed { .. } => Level::Err,
            Event::Signal { .. } => Level::Info,
        }
    }

    /// A short stable name of the variant (`notify`, `fsd_set`, ...), for JSON output.
    pub fn kind(&self) -> &'static str {
        use crate::upsd::Event as U;
        match self {
            Event::Upsd(U::Login { .. }) => "client_login",
            Event::Upsd(U::Logout { .. }) => "client_logout",
            Event::Upsd(U::FsdSet { .. }) => "client_set_fsd",
            Event::Upsd(U::DriverConnected { .. }) => "driver_connected",
            Event::Upsd(U::DriverLost { .. }) => "driver_lost",
            Event::Upsd(U::Stale { .. }) => "data_stale",
            Event::Upsd(U::NoLongerStale { .. }) => "data_fresh",
            Event::Upsd(U::InstCmd { .. }) => "instcmd",
            Event::Upsd(U::SetVar { .. }) => "setvar",
            Event::Listening { .. } => "listening",
            Event::NotListening { .. } => "not_listening",
            Event::MaxConnReached { .. } => "maxconn_reached",
            Event::FdLimit { .. } => "fd_limit",
            Event::TlsHandshakeFailed { .. } => "tls_handshake_failed",
            Event::DriverListening { .. } => "driver_listening",
            Event::MetricsListening { .. } => "metrics_listening",
            Event::Zeroconf(crate::mdns::Note::Announced { .. }) => "zeroconf_announced",
            Event::Zeroconf(crate::mdns::Note::Renamed { .. }) => "zeroconf_renamed",
            Event::Zeroconf(crate::mdns::Note::GaveUp { .. }) => "zeroconf_gave_up",
            Event::ZeroconfUnavailable { .. } => "zeroconf_unavailable",
            Event::DeviceCommand { .. } => "device_command",
            Event::DeviceLost { .. } => "device_lost",
            Event::DeviceBack { .. } => "device_back",
            Event::DriverLog { .. } => "driver_log",
            Event::Notify { .. } => "notify",
            Event::LoggedIn { .. } => "logged_in",
            Event::LoginFailed { .. } => "login_failed",
            Event::PrimaryUnavailable { .. } => "primary_unavailable",
            Event::ConnectFailed { .. } => "connect_failed",
            Event::PollFailed { .. } => "poll_failed",
            Event::AssumedDead { .. } => "assumed_dead",
            Event::PollFailureChanged { .. } => "poll_failure_changed",
            Event::PollRecovered { .. } => "poll_recovered",
            Event::TooFewHealthy { .. } => "too_few_healthy",
            Event::UserFsd => "user_fsd",
            Event::FsdSet { .. } => "fsd_set",
            Event::FsdFailed { .. } => "fsd_failed",
            Event::HostsyncWaiting { .. } => "hostsync_waiting",
            Event::HostsyncExpired => "hostsync_expired",
            Event::HostsyncDone { .. } => "hostsync_done",
            Event::AutoShutdown => "auto_shutdown",
            Event::PowerdownFlagWritten { .. } => "powerdownflag_written",
            Event::PowerdownFlagFailed { .. } => "powerdownflag_failed",
            Event::PowerdownFlagCleared { .. } => "powerdownflag_cleared",
            Event::PowerdownFlagForeign { .. } => "powerdownflag_foreign",
            Event::ShutdownCmdStarted { .. } => "shutdowncmd_started",
            Event::ShutdownCmdFinished { .. } => "shutdowncmd_finished",
            Event::ShutdownCmdFailed { .. } => "shutdowncmd_failed",
            Event::NoShutdownCmd => "no_shutdowncmd",
            Event::LoggedOut => "logged_out",
            Event::NotifyCmdFailed { .. } => "notifycmd_failed",
            Event::ParentDied => "parent_died",
            Event::ParentExiting { .. } => "parent_exiting",
            Event::ChildExited => "child_exited",
            Event::CmdScriptRan { .. } => "cmdscript_ran",
            Event::CmdScriptFailed { .. } => "cmdscript_failed",
            Event::TimerExpired { .. } => "timer_expired",
            Event::TimerStarted { .. } => "timer_started",
            Event::TimerCancelled { .. } => "timer_cancelled",
            Event::TimerDaemonStarted => "timer_daemon_started",
            Event::TimerDaemonExiting => "timer_daemon_exiting",
            Event::Config(_) => "config",
            Event::Reloaded => "reloaded",
            Event::ReloadFailed { .. } => "reload_failed",
            Event::Signal { .. } => "signal",
        }
    }

    /// The event's fields as (name, value) text pairs, for structured output (JSON).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        use crate::upsd::Event as U;
        let s = |v: &str| v.to_string();
        match self {
            Event::Upsd(U::Login { ups, user, addr })
            | Event::Upsd(U::Logout { ups, user, addr })
            | Event::Upsd(U::FsdSet { ups, user, addr }) => {
                vec![("ups", s(ups)), ("user", s(user)), ("addr", s(addr))]
            }
            Event::Upsd(U::DriverConnected { ups, socket }) => {
                vec![("ups", s(ups)), ("socket", s(socket))]
            }
            Event::Upsd(U::DriverLost { ups } | U::Stale { ups } | U::NoLongerStale { ups }) => {
                vec![("ups", s(ups))]
            }
            Event::Upsd(U::InstCmd {
                ups,
                user,
                addr,
                cmd,
            }) => vec![
                ("ups", s(ups)),
                ("user", s(user)),
                ("addr", s(addr)),
                ("cmd", s(cmd)),
            ],
            Event::Upsd(U::SetVar {
                ups,
                user,
                addr,
                var,
                value,
            }) => vec![
                ("ups", s(ups)),
                ("user", s(user)),
                ("addr", s(addr)),
                ("var", s(var)),
                ("value", s(value)),
            ],
            Event::Listening { addr } => vec![("addr", s(addr))],
            Event::NotListening { addr, error } | Event::TlsHandshakeFailed { addr, error } => {
                vec![("addr", s(addr)), ("error", s(error))]
            }
            Event::MaxConnReached { maxconn, addr } => {
                vec![("maxconn", maxconn.to_string()), ("addr", s(addr))]
            }
            Event::FdLimit {
                maxconn,
                limit,
                clients,
            } => vec![
                ("maxconn", maxconn.to_string()),
                ("limit", limit.to_string()),
                ("clients", clients.to_string()),
            ],
            Event::DriverListening { socket } => vec![("socket", s(socket))],
            Event::MetricsListening { addr } => vec![("addr", s(addr))],
            Event::Zeroconf(
                crate::mdns::Note::Announced { instance } | crate::mdns::Note::GaveUp { instance },
            ) => vec![("instance", s(instance))],
            Event::Zeroconf(crate::mdns::Note::Renamed { from, to }) => {
                vec![("from", s(from)), ("to", s(to))]
            }
            Event::ZeroconfUnavailable { error } => vec![("error", s(error))],
            Event::DeviceCommand { ups, cmd, arg } => {
                let mut f = vec![("ups", s(ups)), ("cmd", s(cmd))];
                if let Some(arg) = arg {
                    f.push(("arg", s(arg)));
                }
                f
            }
            Event::DeviceLost { ups } | Event::DeviceBack { ups } => vec![("ups", s(ups))],
            Event::DriverLog { text, .. } => vec![("text", s(text))],
            Event::Notify {
                kind,
                system,
                message,
                ..
            } => vec![
                ("type", kind.as_str().to_string()),
                ("system", s(system)),
                ("message", s(message)),
            ],
            Event::LoggedIn { system, tls } => {
                vec![("system", s(system)), ("tls", tls.to_string())]
            }
            Event::LoginFailed { system, reply } | Event::PrimaryUnavailable { system, reply } => {
                vec![("system", s(system)), ("reply", s(reply))]
            }
            Event::ConnectFailed { system, error } | Event::FsdFailed { system, error } => {
                vec![("system", s(system)), ("error", s(error))]
            }
            Event::PollFailed { system, why } => vec![("system", s(system)), ("why", s(why))],
            Event::PollFailureChanged {
                system,
                from,
                to,
                every_s,
            } => vec![
                ("system", s(system)),
                ("from", s(from)),
                ("to", s(to)),
                (
                    "every_s",
                    every_s.map(|e| e.to_string()).unwrap_or_default(),
                ),
            ],
            Event::PollRecovered { system, from } => {
                vec![("system", s(system)), ("from", s(from))]
            }
            Event::AssumedDead { system } | Event::FsdSet { system } => vec![("system", s(system))],
            Event::TooFewHealthy {
                healthy,
                minsupplies,
                critical,
            } => vec![
                ("healthy", healthy.to_string()),
                ("minsupplies", minsupplies.to_string()),
                ("critical", critical.join(",")),
            ],
            Event::HostsyncWaiting { logins } => vec![(
                "logins",
                logins.map_or("unknown".to_string(), |n| n.to_string()),
            )],
            Event::HostsyncDone {
                logins,
                waited_ms,
                expired,
            } => vec![
                ("logins", logins.to_string()),
                ("waited_ms", waited_ms.to_string()),
                ("expired", expired.to_string()),
            ],
            Event::PowerdownFlagWritten { path }
            | Event::PowerdownFlagCleared { path }
            | Event::PowerdownFlagForeign { path } => vec![("path", s(path))],
            Event::PowerdownFlagFailed { path, error } => {
                vec![("path", s(path)), ("error", s(error))]
            }
            Event::ShutdownCmdStarted { cmd } => vec![("cmd", s(cmd))],
            Event::ShutdownCmdFinished { status } | Event::ParentExiting { status } => {
                vec![("status", status.to_string())]
            }
            Event::ShutdownCmdFailed { error }
            | Event::NotifyCmdFailed { error }
            | Event::ReloadFailed { error } => vec![("error", s(error))],
            Event::CmdScriptRan { cmd, status } => {
                vec![("cmd", s(cmd)), ("status", status.to_string())]
            }
            Event::CmdScriptFailed { cmd, error } => vec![("cmd", s(cmd)), ("error", s(error))],
            Event::TimerExpired { name } | Event::TimerCancelled { name } => {
                vec![("name", s(name))]
            }
            Event::TimerStarted {
                name,
                seconds,
                ups,
                notifytype,
            } => vec![
                ("name", s(name)),
                ("seconds", seconds.to_string()),
                ("ups", s(ups)),
                ("notifytype", s(notifytype)),
            ],
            Event::Config(d) => vec![("diagnostic", d.to_string())],
            Event::Signal { number, what } => {
                vec![("signal", number.to_string()), ("what", s(what))]
            }
            Event::HostsyncExpired
            | Event::UserFsd
            | Event::AutoShutdown
            | Event::NoShutdownCmd
            | Event::LoggedOut
            | Event::ParentDied
            | Event::ChildExited
            | Event::TimerDaemonStarted
            | Event::TimerDaemonExiting
            | Event::Reloaded => Vec::new(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Upsd(event) => write!(f, "{event}"),
            Event::Listening { addr } => write!(f, "listening on {addr}"),
            Event::NotListening { addr, error } => write!(f, "not listening on {addr}: {error}"),
            Event::MaxConnReached { maxconn, addr } => {
                write!(f, "MAXCONN ({maxconn}) reached, refusing {addr}")
            }
            Event::FdLimit {
                maxconn,
                limit,
                clients,
            } => write!(
                f,
                "open file limit {limit} leaves room for about {clients} clients, \
                 fewer than MAXCONN ({maxconn})"
            ),
            Event::TlsHandshakeFailed { addr, error } => {
                write!(f, "SSL handshake with {addr} failed: {error}")
            }
            Event::DriverListening { socket } => write!(f, "listening on driver socket {socket}"),
            Event::MetricsListening { addr } => write!(f, "serving metrics on {addr}"),
            Event::Zeroconf(note) => write!(f, "{note}"),
            Event::ZeroconfUnavailable { error } => {
                write!(f, "zeroconf: cannot announce upsd: {error}")
            }
            Event::DeviceCommand { ups, cmd, arg } => match arg {
                Some(arg) => write!(f, "UPS [{ups}]: instant command {cmd} {arg}"),
                None => write!(f, "UPS [{ups}]: instant command {cmd}"),
            },
            Event::DeviceLost { ups } => write!(f, "UPS [{ups}]: device not answering"),
            Event::DeviceBack { .. } => write!(f, "Communications with the UPS re-established"),
            Event::DriverLog { text, .. } => write!(f, "{text}"),
            Event::Notify { message, .. } => write!(f, "{message}"),
            Event::LoggedIn { system, tls } => {
                write!(f, "Logged into UPS [{system}]")?;
                if *tls {
                    write!(f, " (SSL)")?;
                }
                Ok(())
            }
            Event::LoginFailed { system, reply } => {
                write!(f, "Login on UPS [{system}] failed - got [{reply}]")
            }
            Event::PrimaryUnavailable { system, reply } => write!(
                f,
                "Primary managerial privileges unavailable on UPS [{system}] - got [{reply}]"
            ),
            Event::ConnectFailed { system, error } => {
                write!(f, "UPS [{system}]: connect failed: {error}")
            }
            Event::PollFailed { system, why } => write!(f, "Poll UPS [{system}] failed - {why}"),
            Event::PollFailureChanged {
                system,
                from,
                to,
                every_s,
            } => match every_s {
                Some(every) => write!(
                    f,
                    "Poll UPS [{system}] failure state code changed from {from} to {to}; report below will only be repeated to syslog every {every} sec:"
                ),
                None => write!(
                    f,
                    "Poll UPS [{system}] failure state code changed from {from} to {to}; report below will not be repeated to syslog:"
                ),
            },
            Event::PollRecovered { system, from } => write!(
                f,
                "Poll UPS [{system}] recovered from failure state code {from} - now NONE"
            ),
            Event::AssumedDead { system } => write!(
                f,
                "UPS [{system}] was last known to be on battery and is now unavailable - assuming it is dead"
            ),
            Event::TooFewHealthy {
                healthy,
                minsupplies,
                critical,
            } => write!(
                f,
                "Too few UPS(es) are healthy ({healthy}<{minsupplies}), initiating forced shutdown (critical: {})",
                critical.join(", ")
            ),
            Event::UserFsd => write!(f, "Got an FSD signal, initiating forced shutdown"),
            Event::FsdSet { system } => write!(f, "Set FSD on UPS [{system}]"),
            Event::FsdFailed { system, error } => {
                write!(f, "FSD set on UPS {system} failed: {error}")
            }
            Event::HostsyncWaiting { logins: Some(logins) } => write!(
                f,
                "Waiting for secondaries to log out ({} still logged in)",
                logins.saturating_sub(1)
            ),
            Event::HostsyncWaiting { logins: None } => write!(
                f,
                "Waiting for secondaries to log out (upsd did not report the number of logins; waiting up to HOSTSYNC)"
            ),
            Event::HostsyncExpired => write!(f, "Host sync timer expired, forcing shutdown"),
            Event::HostsyncDone {
                logins,
                waited_ms,
                expired,
            } => write!(
                f,
                "Host sync done: logins={logins} waited={}.{:03}s{}",
                waited_ms / 1000,
                waited_ms % 1000,
                if *expired { " (HOSTSYNC expired)" } else { "" }
            ),
            Event::AutoShutdown => write!(f, "Executing automatic power-fail shutdown"),
            Event::PowerdownFlagWritten { path } => write!(f, "Power down flag {path} written"),
            Event::PowerdownFlagFailed { path, error } => {
                write!(f, "Failed to create power down flag! ({path}: {error})")
            }
            Event::PowerdownFlagCleared { path } => {
                write!(f, "Removed power down flag {path} left by the last shutdown")
            }
            Event::PowerdownFlagForeign { path } => write!(
                f,
                "POWERDOWNFLAG ({path}) does not contain the upsmon magic string (not a NUT file) - disabling!"
            ),
            Event::ShutdownCmdStarted { cmd } => write!(f, "Executing SHUTDOWNCMD: {cmd}"),
            Event::ShutdownCmdFinished { status } => {
                write!(f, "SHUTDOWNCMD exited with status {status}")
            }
            Event::ShutdownCmdFailed { error } => {
                write!(f, "Unable to call shutdown command: {error}")
            }
            Event::NoShutdownCmd => write!(f, "No SHUTDOWNCMD configured, cannot shut down"),
            Event::LoggedOut => write!(f, "Logged out (connections to upsd closed)"),
            Event::NotifyCmdFailed { error } => write!(f, "Can't run NOTIFYCMD: {error}"),
            Event::ParentDied => write!(f, "Parent died - shutdown impossible"),
            Event::ParentExiting { status } => write!(
                f,
                "upsmon parent: Exiting after calling ({status}) shutdown command"
            ),
            Event::ChildExited => write!(f, "upsmon parent: exiting (child exited)"),
            Event::CmdScriptRan { cmd, status } => {
                write!(f, "Execute command \"{cmd}\" OK (exit status {status})")
            }
            Event::CmdScriptFailed { cmd, error } => {
                write!(f, "Execute command failure: \"{cmd}\": {error}")
            }
            Event::TimerExpired { name } => write!(f, "Event: {name}"),
            Event::TimerStarted { name, seconds, .. } => {
                write!(f, "New timer: {name} ({seconds} seconds)")
            }
            Event::TimerCancelled { name } => write!(f, "Cancelling timer: {name}"),
            Event::TimerDaemonStarted => write!(f, "Timer daemon started"),
            Event::TimerDaemonExiting => write!(f, "Timer queue empty, exiting"),
            Event::Config(d) => write!(f, "{d}"),
            Event::Reloaded => write!(f, "Configuration reloaded"),
            Event::ReloadFailed { error } => write!(
                f,
                "Reload failed, keeping the running configuration: {error}"
            ),
            Event::Signal { number, what } => write!(f, "Signal {number}: {what}"),
        }
    }
}
