//! upssched's decisions, sans IO: which `AT` lines an event fires (the client that
//! upsmon runs as NOTIFYCMD), and the timer daemon (timers started, shared, cancelled,
//! expired; idle exit).
//!
//! Behaviour follows NUT's clients/upssched.c (2.8.x): `AT` lines fire in file order
//! for a matching NOTIFYTYPE (case-insensitive) and UPSNAME (exact, or `*`); EXECUTE
//! runs CMDSCRIPT at once; START-TIMER and CANCEL-TIMER go to the timer daemon, which is
//! started on demand, except for a CANCEL without a fallback command (nothing to cancel
//! when no daemon runs). Each timer keeps the UPSNAME, NOTIFYTYPE and NOTIFYMSG of the
//! events that started it (as NUT 2.8.5 does; 2.8.0 gave every timer the environment of
//! the first event), and CMDSCRIPT runs with them when it expires. The daemon exits
//! once it has had no timer for [`IDLE_EXIT_MS`].
//!
//! Wire format between client and daemon (one line each way, NUT's tokenizer):
//! `START <name> <seconds> <NOTIFYTYPE> <UPSNAME> <NOTIFYMSG>`, `START-SHARED ...`,
//! `CANCEL <name> <cmd> <NOTIFYTYPE> <UPSNAME> <NOTIFYMSG>`, `CANCEL-MATCHED ...`
//! (an empty `<cmd>` means none); the daemon answers `OK` or `ERR UNKNOWN`.

use crate::config::{AtAction, UpsschedConf};
use crate::tokenizer::quote;
use crate::{secs_to_ms, Millis};

/// The daemon exits after this long without any timer (NUT: 15 passes of a 1 s loop).
pub const IDLE_EXIT_MS: Millis = 15_000;
/// How often the daemon looks at its timers at the latest (NUT's select timeout).
pub const CHECK_INTERVAL_MS: Millis = 1_000;
/// Most timers the daemon keeps; further START requests are refused (`ERR`), so a
/// flood of events cannot grow it without bound.
pub const MAX_TIMERS: usize = 4_096;

/// The notification an upssched run is about (its environment and argument).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notice {
    /// `NOTIFYTYPE`.
    pub notifytype: String,
    /// `UPSNAME`.
    pub upsname: String,
    /// The message (argv[1]); may be empty.
    pub message: String,
}

/// A request to the timer daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Start a timer.
    Start {
        /// Timer name (CMDSCRIPT's argument when it expires).
        name: String,
        /// Seconds until it expires.
        seconds: u64,
        /// START-TIMER-SHARED: join a running timer of the same name.
        shared: bool,
        /// The event that started it.
        notice: Notice,
    },
    /// Cancel timers of that name.
    Cancel {
        /// Timer name.
        name: String,
        /// Run `CMDSCRIPT <cmd>` when no timer was cancelled.
        cmd: Option<String>,
        /// CANCEL-TIMER-MATCHED: only timers started for this event's UPS and type.
        matched: bool,
        /// The event that cancels it.
        notice: Notice,
    },
}

impl Request {
    /// The line sent to the daemon (with LF).
    pub fn format(&self) -> String {
        let notice = |n: &Notice| {
            format!(
                "{} {} {}",
                quote(&n.notifytype),
                quote(&n.upsname),
                quote(&n.message)
            )
        };
        match self {
            Request::Start {
                name,
                seconds,
                shared,
                notice: n,
            } => format!(
                "{} {} {} {}\n",
                if *shared { "START-SHARED" } else { "START" },
                quote(name),
                quote(&seconds.to_string()),
                notice(n)
            ),
            Request::Cancel {
                name,
                cmd,
                matched,
                notice: n,
            } => format!(
                "{} {} {} {}\n",
                if *matched { "CANCEL-MATCHED" } else { "CANCEL" },
                quote(name),
                quote(cmd.as_deref().unwrap_or("")),
                notice(n)
            ),
        }
    }

    /// Parses a request line's words; `None` for anything malformed. Also accepts
    /// NUT 2.8.0's short forms (`START <name> <seconds>`, `CANCEL <name> [<cmd>]`).
    pub fn parse(words: &[String]) -> Option<Request> {
        let word = |i: usize| words.get(i).cloned().unwrap_or_default();
        let notice = |from: usize| Notice {
            notifytype: word(from),
            upsname: word(from + 1),
            message: word(from + 2),
        };
        match words.first()?.as_str() {
            verb @ ("START" | "START-SHARED") if (3..=6).contains(&words.len()) => {
                let seconds = words[2].trim().parse::<u64>().ok()?;
                Some(Request::Start {
                    name: words[1].clone(),
                    seconds,
                    shared: verb == "START-SHARED",
                    notice: notice(3),
                })
            }
            verb @ ("CANCEL" | "CANCEL-MATCHED") if (2..=6).contains(&words.len()) => {
                Some(Request::Cancel {
                    name: words[1].clone(),
                    cmd: words.get(2).filter(|c| !c.is_empty()).cloned(),
                    matched: verb == "CANCEL-MATCHED",
                    notice: notice(3),
                })
            }
            _ => None,
        }
    }

    /// A CANCEL without a fallback command needs no daemon: with none running there is
    /// nothing to cancel and nothing to run (NUT's `check_parent`).
    pub fn needs_daemon(&self) -> bool {
        !matches!(self, Request::Cancel { cmd: None, .. })
    }
}

/// What the upssched client does for one event, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// `EXECUTE`: run `CMDSCRIPT <cmd>` now, with the event's environment.
    Execute(Run),
    /// Send this to the timer daemon (starting it when needed).
    Send(Request),
}

/// The steps `notice` fires in `conf` (every matching `AT` line, in file order).
pub fn client_steps(conf: &UpsschedConf, notice: &Notice) -> Vec<ClientStep> {
    conf.rules
        .iter()
        .filter(|rule| rule.matches(&notice.notifytype, &notice.upsname))
        .map(|rule| match &rule.action {
            AtAction::Execute { cmd } => ClientStep::Execute(Run::for_notice(cmd, notice)),
            AtAction::StartTimer { name, seconds }
            | AtAction::StartTimerShared { name, seconds } => ClientStep::Send(Request::Start {
                name: name.clone(),
                seconds: *seconds,
                shared: matches!(rule.action, AtAction::StartTimerShared { .. }),
                notice: notice.clone(),
            }),
            AtAction::CancelTimer { name, cmd } | AtAction::CancelTimerMatched { name, cmd } => {
                ClientStep::Send(Request::Cancel {
                    name: name.clone(),
                    cmd: cmd.clone(),
                    matched: matches!(rule.action, AtAction::CancelTimerMatched { .. }),
                    notice: notice.clone(),
                })
            }
        })
        .collect()
}

/// A command the daemon runs: `CMDSCRIPT <cmd>` with this environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// CMDSCRIPT's argument (the timer's name, or a CANCEL's fallback command).
    pub cmd: String,
    /// `UPSNAME` (several UPSes of a shared timer joined by `,`).
    pub upsname: String,
    /// `NOTIFYTYPE` (joined by `,`).
    pub notifytype: String,
    /// `NOTIFYMSG` (joined by `.\t`, as NUT does).
    pub notifymsg: String,
}

impl Run {
    /// `CMDSCRIPT <cmd>` with the environment of one event.
    pub fn for_notice(cmd: &str, notice: &Notice) -> Run {
        Run {
            cmd: cmd.to_string(),
            upsname: notice.upsname.clone(),
            notifytype: notice.notifytype.clone(),
            notifymsg: notice.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Timer {
    name: String,
    expires: Millis,
    upsnames: Vec<String>,
    notifytypes: Vec<String>,
    messages: Vec<String>,
}

impl Timer {
    fn add(&mut self, notice: &Notice) {
        for (list, value) in [
            (&mut self.upsnames, &notice.upsname),
            (&mut self.notifytypes, &notice.notifytype),
            (&mut self.messages, &notice.message),
        ] {
            if !value.is_empty() && !list.contains(value) {
                list.push(value.clone());
            }
        }
    }

    fn run(&self, cmd: &str) -> Run {
        Run {
            cmd: cmd.to_string(),
            upsname: self.upsnames.join(","),
            notifytype: self.notifytypes.join(","),
            notifymsg: self.messages.join(".\t"),
        }
    }
}

/// The timer daemon; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct TimerDaemon {
    timers: Vec<Timer>,
    idle_since: Option<Millis>,
}

/// The daemon's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The reply line (`OK` or `ERR UNKNOWN`, with LF).
    pub reply: &'static str,
    /// Commands to run now (a CANCEL's fallback).
    pub runs: Vec<Run>,
    /// A timer this request started: name, seconds, and the UPSNAME and NOTIFYTYPE of
    /// the notification that armed it.
    pub started: Option<(String, u64, String, String)>,
    /// Timers this request cancelled.
    pub cancelled: Vec<String>,
}

impl TimerDaemon {
    /// A daemon with no timers, started at `now`.
    pub fn new(now: Millis) -> TimerDaemon {
        TimerDaemon {
            timers: Vec::new(),
            idle_since: Some(now),
        }
    }

    /// Names and expiry times of the running timers, in order.
    pub fn timers(&self) -> Vec<(String, Millis)> {
        self.timers
            .iter()
            .map(|t| (t.name.clone(), t.expires))
            .collect()
    }

    /// One request line's words.
    pub fn handle(&mut self, now: Millis, words: &[String]) -> Answer {
        let refused = Answer {
            reply: "ERR UNKNOWN\n",
            runs: Vec::new(),
            started: None,
            cancelled: Vec::new(),
        };
        let Some(request) = Request::parse(words) else {
            return refused;
        };
        let mut runs = Vec::new();
        let mut started = None;
        let mut cancelled = Vec::new();
        match request {
            Request::Start {
                name,
                seconds,
                shared,
                notice,
            } => {
                if shared {
                    if let Some(timer) = self.timers.iter_mut().find(|t| t.name == name) {
                        timer.add(&notice);
                        return Answer {
                            reply: "OK\n",
                            runs,
                            started: None,
                            cancelled: Vec::new(),
                        };
                    }
                }
                if self.timers.len() >= MAX_TIMERS {
                    return refused;
                }
                started = Some((
                    name.clone(),
                    seconds,
                    notice.upsname.clone(),
                    notice.notifytype.clone(),
                ));
                let mut timer = Timer {
                    name,
                    expires: now.saturating_add(secs_to_ms(seconds)),
                    upsnames: Vec::new(),
                    notifytypes: Vec::new(),
                    messages: Vec::new(),
                };
                timer.add(&notice);
                self.timers.push(timer);
                self.idle_since = None;
            }
            Request::Cancel {
                name,
                cmd,
                matched,
                notice,
            } => {
                let before = self.timers.len();
                self.timers.retain(|t| {
                    if t.name != name {
                        return true;
                    }
                    if !matched {
                        cancelled.push(t.name.clone());
                        return false;
                    }
                    // CANCEL-TIMER-MATCHED: only timers this UPS and event type started.
                    let type_ok =
                        notice.notifytype.is_empty() || t.notifytypes.contains(&notice.notifytype);
                    let ups_ok = notice.upsname.is_empty() || t.upsnames.contains(&notice.upsname);
                    if type_ok && ups_ok {
                        cancelled.push(t.name.clone());
                    }
                    !(type_ok && ups_ok)
                });
                if self.timers.len() == before {
                    if let Some(cmd) = cmd {
                        runs.push(Run::for_notice(&cmd, &notice));
                    }
                }
                if self.timers.is_empty() && self.idle_since.is_none() {
                    self.idle_since = Some(now);
                }
            }
        }
        Answer {
            reply: "OK\n",
            runs,
            started,
            cancelled,
        }
    }

    /// Expired timers, removed, as the commands to run (in timer order).
    pub fn expire(&mut self, now: Millis) -> Vec<Run> {
        let mut runs = Vec::new();
        self.timers.retain(|t| {
            if now >= t.expires {
                runs.push(t.run(&t.name));
                false
            } else {
                true
            }
        });
        if self.timers.is_empty() && self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
        runs
    }

    /// True once the daemon has had no timer for [`IDLE_EXIT_MS`]: it should exit.
    pub fn should_exit(&self, now: Millis) -> bool {
        self.idle_since
            .is_some_and(|t| now.saturating_sub(t) >= IDLE_EXIT_MS)
    }

    /// When to look again at the latest: the next expiry or the idle exit, no later
    /// than [`CHECK_INTERVAL_MS`] from `now`.
    pub fn next_wakeup(&self, now: Millis) -> Millis {
        let soonest = self
            .timers
            .iter()
            .map(|t| t.expires)
            .chain(self.idle_since.map(|t| t.saturating_add(IDLE_EXIT_MS)))
            .min()
            .unwrap_or(Millis::MAX);
        soonest.clamp(now, now.saturating_add(CHECK_INTERVAL_MS))
    }
}
