//! upsmon's decisions: per-UPS status tracking, notifications, the critical rule and the
//! shutdown sequence (nut-reference.md §3.3-3.6).
//!
//! The shell asks [`UpsmonCore::next_command`] what to do, does it (network IO, sleeping,
//! running SHUTDOWNCMD) and reports results back with `now`. Notifications queue up in
//! the core and are drained by the shell. No IO and no clocks here.

use crate::config::UpsmonConf;
use crate::event::Event;
use crate::notify::{format_message, NotifyType};
use crate::proto::ErrCode;
use crate::status::{Status, StatusToken};
use crate::Millis;

/// Pause between NUMLOGINS polls while the primary waits for secondaries (250 ms in NUT).
pub const HOSTSYNC_POLL_MS: Millis = 250;
/// The exact content of POWERDOWNFLAG.
pub const POWERDOWNFLAG_MAGIC: &str = "upsmon-shutdown-file";
/// How often NOPARENT is repeated while the parent stays gone (NUT: 2 minutes).
pub const NOPARENT_REPEAT_MS: Millis = 120_000;

/// A notification for the shell to log, broadcast and/or hand to NOTIFYCMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Event type (NOTIFYTYPE).
    pub kind: NotifyType,
    /// The MONITOR system string (UPSNAME), empty for events not tied to a UPS.
    pub system: String,
    /// The message (NOTIFYMSG or stock text, filled in).
    pub message: String,
}

/// How polling one UPS went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// `GET VAR <ups> ups.status` answered with this value.
    Status(String),
    /// The status holds ALARM: the shell also read `ups.alarm` (`None` when the
    /// driver does not publish it), whose text goes into the ALARM notification.
    StatusWithAlarm(String, Option<String>),
    /// upsd answered an error (DATA-STALE, DRIVER-NOT-CONNECTED, ...).
    Error(ErrCode),
    /// No usable connection (connect failed, timeout, EOF); the text says why.
    ConnectionLost(String),
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Poll every monitored UPS once (connect and log in where needed), report each
    /// with [`UpsmonCore::poll_result`], then call [`UpsmonCore::end_poll_cycle`].
    PollAll,
    /// Sleep until this time, then ask again (a user FSD may cut it short).
    SleepUntil(Millis),
    /// Send `FSD <ups>` for each of these monitors (primaries), then call
    /// [`UpsmonCore::fsd_sent`].
    SetFsd(Vec<usize>),
    /// Ask `GET NUMLOGINS` for these monitors and report the largest answer with
    /// [`UpsmonCore::numlogins_result`] (`None` when any of them could not be read).
    QueryNumLogins(Vec<usize>),
    /// Write POWERDOWNFLAG (if configured) with [`POWERDOWNFLAG_MAGIC`], run SHUTDOWNCMD,
    /// then call [`UpsmonCore::shutdown_done`].
    RunShutdown {
        /// The POWERDOWNFLAG path, if configured.
        powerdownflag: Option<String>,
        /// The SHUTDOWNCMD, if configured.
        shutdowncmd: Option<String>,
    },
    /// Close all connections (implicit logout) and exit.
    Exit,
}

#[derive(Debug, Clone, Default)]
struct Monitored {
    system: String,
    /// `ups.alarm` as read with the last status, and as last notified.
    alarm_text: Option<String>,
    alarm_notified: Option<String>,
    /// POLLFAIL_LOG_THROTTLE_MAX: the failure being throttled and the polls since it
    /// was last logged.
    pollfail_state: Option<String>,
    pollfail_count: i64,
    power_value: u32,
    primary: bool,
    ol: bool,
    ob: bool,
    lb: bool,
    fsd: bool,
    cal: bool,
    off: bool,
    bypass: bool,
    over: bool,
    trim: bool,
    boost: bool,
    eco: bool,
    alarm: bool,
    fsd_notified: bool,
    others: Vec<String>,
    /// -1 unknown, 0 lost, 1 ok.
    commstate: i8,
    /// -1 unknown, 0 on battery, 1 on line.
    linestate: i8,
    /// Last successful status read; `None` until the first one. NUT starts it at 0 on
    /// the wall clock, so a UPS never reached counts as unreachable "forever" (NOCOMM on
    /// the second failed poll, nut-reference.md §3.3); our clock starts at the shell's
    /// start, so "never" must be explicit.
    lastpoll: Option<Millis>,
    lastnoncrit: Millis,
    lastrbwarn: Option<Millis>,
    lastncwarn: Option<Millis>,
    offsince: Option<Millis>,
    oversince: Option<Millis>,
    oblbsince: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Monitoring {
        /// Next poll.
        next_poll: Millis,
    },
    SettingFsd,
    WaitingHostsync {
        /// Start.
        start: Millis,
        /// Next query.
        next_query: Millis,
        /// SHUTDOWN_HOSTSYNC was sent.
        announced: bool,
    },
    FinalDelay {
        /// Until.
        until: Millis,
    },
    ShuttingDown,
    Done,
}

/// upsmon's state machine; see the module documentation.
#[derive(Debug, Clone)]
pub struct UpsmonCore {
    /// Shared: a copy of the core (a simulation's look ahead) does not copy it.
    conf: std::sync::Arc<UpsmonConf>,
    monitors: Vec<Monitored>,
    phase: Phase,
    sleep_ms: Millis,
    user_fsd: bool,
    events: Vec<Event>,
    noparent_warned: Option<Millis>,
}

impl UpsmonCore {
    /// A monitor for this configuration, started at `now`.
    pub fn new(now: Millis, conf: UpsmonConf) -> UpsmonCore {
        let monitors = conf
            .monitors
            .iter()
            .map(|m| Monitored {
                system: m.system.clone(),
                power_value: m.power_value,
                primary: m.primary,
                commstate: -1,
                linestate: -1,
                ..Monitored::default()
            })
            .collect();
        let sleep_ms = crate::secs_to_ms(conf.pollfreq_s);
        UpsmonCore {
            conf: std::sync::Arc::new(conf),
            monitors,
            phase: Phase::Monitoring { next_poll: now },
            sleep_ms,
            user_fsd: false,
            events: Vec::new(),
            noparent_warned: None,
        }
    }

    /// Whether polls that keep getting the answers they got can only repeat what they
    /// did: monitoring, every UPS reachable, and none in a state whose meaning changes
    /// with time alone (RB warned again after RBWARNTIME, OFF and OVER durations, on
    /// battery and low: OBLBDURATION, or a secondary's wait of HOSTSYNC for FSD). A
    /// simulation may then skip such polls and apply only the last.
    ///
    /// `gaps_ms`: for each UPS, the time from its answer to the end of the poll cycle.
    /// DEADTIME counts whole seconds between the two (see `end_poll_cycle`), so where
    /// a poll falls within a second matters once a gap can reach it.
    pub fn timeless(&self, gaps_ms: &[Millis]) -> bool {
        let deadtime_s = self.conf.deadtime_s;
        let reaches = |gap: Millis| gap > 0 && gap / 1000 + 1 > deadtime_s;
        !gaps_ms.iter().any(|&gap| reaches(gap))
            && matches!(self.phase, Phase::Monitoring { .. })
            && !self.user_fsd
            && self.monitors.iter().all(|m| {
                let timed = m.off || m.over || m.fsd || (m.ob && m.lb);
                m.commstate == 1 && m.lastrbwarn.is_none() && !timed
            })
    }

    /// The configuration in use.
    pub fn conf(&self) -> &UpsmonConf {
        &self.conf
    }

    /// Takes the queued notifications out of the event queue (the other events stay,
    /// in order, for [`UpsmonCore::take_events`]).
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        let mut notifications = Vec::new();
        self.events.retain(|event| match event {
            Event::Notify {
                kind,
                system,
                message,
                ..
            } => {
                notifications.push(Notification {
                    kind: *kind,
                    system: system.clone(),
                    message: message.clone(),
                });
                false
            }
            _ => true,
        });
        notifications
    }

    /// Takes the queued log events.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// True once the shutdown sequence has started.
    pub fn shutting_down(&self) -> bool {
        !matches!(self.phase, Phase::Monitoring { .. })
    }

    /// `upsmon -c reload` (SIGHUP): continues with `conf`. A UPS whose MONITOR system
    /// name is in both configurations keeps everything upsmon knows of it (on battery,
    /// low battery, last contact), as NUT's upsmon does; new ones start unknown and
    /// dropped ones are forgotten. Returns, for each new MONITOR, the index it had
    /// before, so the shell can keep its connection. Once the shutdown sequence has
    /// begun, nothing changes and the error says so.
    pub fn reload(&mut self, conf: UpsmonConf) -> Result<Vec<Option<usize>>, String> {
        if self.shutting_down() {
            return Err("shutdown in progress, configuration not reloaded".to_string());
        }
        let mut kept = Vec::with_capacity(conf.monitors.len());
        let mut monitors = Vec::with_capacity(conf.monitors.len());
        for monitor in &conf.monitors {
            let old = self
                .monitors
                .iter()
                .position(|m| m.system == monitor.system);
            let mut state = match old {
                Some(i) => self.monitors[i].clone(),
                None => Monitored {
                    commstate: -1,
                    linestate: -1,
                    ..Monitored::default()
                },
            };
            state.system = monitor.system.clone();
            state.power_value = monitor.power_value;
            state.primary = monitor.primary;
            kept.push(old);
            monitors.push(state);
        }
        // Polling continues at the new POLLFREQ, or POLLFREQALERT while on battery.
        self.sleep_ms = if monitors.iter().any(|m| m.ob) {
            crate::secs_to_ms(conf.pollfreqalert_s)
        } else {
            crate::secs_to_ms(conf.pollfreq_s)
        };
        self.monitors = monitors;
        self.conf = std::sync::Arc::new(conf);
        Ok(kept)
    }

    /// The privileged parent is gone (RUN_AS_USER split): no shutdown is possible any
    /// more. NOTIFY NOPARENT now and every two minutes while it lasts, as NUT does.
    pub fn parent_gone(&mut self, now: Millis) {
        if self
            .noparent_warned
            .is_some_and(|t| now.saturating_sub(t) < NOPARENT_REPEAT_MS)
        {
            return;
        }
        self.noparent_warned = Some(now);
        self.events.push(Event::ParentDied);
        self.notify(NotifyType::NoParent, None, "");
    }

    /// `upsmon -c fsd` (SIGUSR1): shut down as if a UPS were critical.
    pub fn user_fsd(&mut self) {
        self.user_fsd = true;
    }

    /// What to do next.
    pub fn next_command(&mut self, now: Millis) -> Command {
        if self.user_fsd && matches!(self.phase, Phase::Monitoring { .. }) {
            self.events.push(Event::UserFsd);
            self.begin_shutdown();
        }
        match self.phase.clone() {
            Phase::Monitoring { next_poll } => {
                if now >= next_poll {
                    Command::PollAll
                } else {
                    Command::SleepUntil(next_poll)
                }
            }
            Phase::SettingFsd => Command::SetFsd(self.primaries()),
            Phase::WaitingHostsync { next_query, .. } => {
                if now >= next_query {
                    Command::QueryNumLogins(self.primaries())
                } else {
                    Command::SleepUntil(next_query)
                }
            }
            Phase::FinalDelay { until } => {
                if now >= until {
                    self.phase = Phase::ShuttingDown;
                    Command::RunShutdown {
                        powerdownflag: self.conf.powerdownflag.clone(),
                        shutdowncmd: self.conf.shutdowncmd.clone(),
                    }
                } else {
                    Command::SleepUntil(until)
                }
            }
            Phase::ShuttingDown | Phase::Done => Command::Exit,
        }
    }

    fn primaries(&self) -> Vec<usize> {
        (0..self.monitors.len())
            .filter(|&i| self.monitors[i].primary)
            .collect()
    }

    fn notify(&mut self, kind: NotifyType, ups: Option<usize>, detail: &str) {
        let system = ups
            .map(|i| self.monitors[i].system.clone())
            .unwrap_or_default();
        let message = format_message(self.conf.message_for(kind), &system, detail);
        // Notifications are events, in order with everything else.
        self.events.push(Event::Notify {
            kind,
            system,
            message,
            syslog: self.conf.flags_for(kind).syslog,
        });
    }

    /// Result of polling monitor `ups` in this cycle.
    pub fn poll_result(&mut self, now: Millis, ups: usize, outcome: PollOutcome) {
        let outcome = match outcome {
            PollOutcome::StatusWithAlarm(text, alarm) => {
                self.monitors[ups].alarm_text = alarm;
                PollOutcome::Status(text)
            }
            other => {
                self.monitors[ups].alarm_text = None;
                other
            }
        };
        match outcome {
            PollOutcome::Status(text) if !text.trim().is_empty() => {
                self.poll_recovered(ups);
                self.ups_is_alive(now, ups);
                self.parse_status(now, ups, &text);
            }
            PollOutcome::Status(_) => {
                self.ups_is_gone(now, ups, "EMPTY-STATUS", "empty status".to_string())
            }
            PollOutcome::Error(code) => {
                self.ups_is_gone(now, ups, code.as_str(), code.client_message().to_string())
            }
            PollOutcome::ConnectionLost(why) => self.ups_is_gone(now, ups, "CONNECTION", why),
            PollOutcome::StatusWithAlarm(..) => {}
        }
    }

    fn ups_is_alive(&mut self, now: Millis, ups: usize) {
        self.monitors[ups].lastpoll = Some(now);
        if self.monitors[ups].commstate == 0 {
            self.notify(NotifyType::CommOk, Some(ups), "");
        }
        self.monitors[ups].commstate = 1;
    }

    /// POLLFAIL_LOG_THROTTLE_MAX: after a failure was throttled, say it is over.
    fn poll_recovered(&mut self, ups: usize) {
        let monitor = &mut self.monitors[ups];
        if let Some(from) = monitor.pollfail_state.take() {
            if self.conf.pollfail_log_throttle_max >= 0 {
                let system = monitor.system.clone();
                self.events.push(Event::PollRecovered { system, from });
            }
        }
    }

    /// Whether this failure is logged, with NUT's throttling: every failure when
    /// POLLFAIL_LOG_THROTTLE_MAX is negative (the default); else the first of a kind,
    /// then every MAX-th (never again with 0) until it changes or recovers.
    fn pollfail_logged(&mut self, ups: usize, state: &str) -> bool {
        let max = self.conf.pollfail_log_throttle_max;
        if max < 0 {
            return true;
        }
        let pollfreq_s = self.conf.pollfreq_s;
        let monitor = &mut self.monitors[ups];
        if monitor.pollfail_state.as_deref() == Some(state) {
            if max == 0 {
                return false;
            }
            let due = monitor.pollfail_count >= max - 1;
            monitor.pollfail_count = if due { 0 } else { monitor.pollfail_count + 1 };
            return due;
        }
        let system = monitor.system.clone();
        let from = monitor.pollfail_state.replace(state.to_string());
        monitor.pollfail_count = 0;
        self.events.push(Event::PollFailureChanged {
            system,
            from: from.unwrap_or_else(|| "NONE".to_string()),
            to: state.to_string(),
            every_s: (max > 0).then(|| (max as u64).saturating_mul(pollfreq_s)),
        });
        true
    }

    fn ups_is_gone(&mut self, now: Millis, ups: usize, state: &str, why: String) {
        let system = self.monitors[ups].system.clone();
        if self.pollfail_logged(ups, state) {
            self.events.push(Event::PollFailed {
                system: system.clone(),
                why,
            });
        }
        if self.monitors[ups].commstate != 0 {
            self.monitors[ups].commstate = 0;
            self.notify(NotifyType::CommBad, Some(ups), "");
            return;
        }
        let nocomm_ms = crate::secs_to_ms(self.conf.nocommwarntime_s);
        let monitor = &self.monitors[ups];
        let since_poll = monitor.lastpoll.map(|t| now.saturating_sub(t));
        let since_warn = monitor.lastncwarn.map(|t| now.saturating_sub(t));
        if since_poll.is_none_or(|d| d >= nocomm_ms) && since_warn.is_none_or(|d| d > nocomm_ms) {
            self.monitors[ups].lastncwarn = Some(now);
            self.notify(NotifyType::NoComm, Some(ups), "");
        }
    }

    fn set_alert_sleep(&mut self) {
        self.sleep_ms = crate::secs_to_ms(self.conf.pollfreqalert_s);
    }

    fn parse_status(&mut self, now: Millis, ups: usize, text: &str) {
        let status = Status::parse(text);
        // Tokens that vanished: clear flags and send the NOT* notifications.
        if !text.contains("LB") {
            self.monitors[ups].lb = false;
        }
        if !text.contains("FSD") {
            self.monitors[ups].fsd = false;
            self.monitors[ups].fsd_notified = false;
        }
        self.clear_flag(ups, &status, StatusToken::Cal, NotifyType::NotCal);
        self.clear_flag(ups, &status, StatusToken::Off, NotifyType::NotOff);
        self.clear_flag(ups, &status, StatusToken::Bypass, NotifyType::NotBypass);
        self.clear_flag(ups, &status, StatusToken::Alarm, NotifyType::NotAlarm);
        self.clear_flag(ups, &status, StatusToken::Over, NotifyType::NotOver);
        self.clear_flag(ups, &status, StatusToken::Trim, NotifyType::NotTrim);
        self.clear_flag(ups, &status, StatusToken::Boost, NotifyType::NotBoost);
        self.clear_flag(ups, &status, StatusToken::Eco, NotifyType::NotEco);
        for token in &status.tokens {
            self.status_token(now, ups, token);
            let monitor = &mut self.monitors[ups];
            if !(monitor.ob && monitor.lb) || monitor.cal {
                monitor.lastnoncrit = now;
            }
        }
        let unknown: Vec<String> = status
            .unknown_tokens()
            .into_iter()
            .map(str::to_string)
            .collect();
        if unknown != self.monitors[ups].others {
            if unknown.is_empty() {
                self.notify(NotifyType::NotOther, Some(ups), "");
            } else {
                self.notify(NotifyType::Other, Some(ups), &unknown.join(" "));
            }
            self.monitors[ups].others = unknown;
        }
        let monitor = &mut self.monitors[ups];
        if monitor.ob && monitor.lb {
            monitor.oblbsince.get_or_insert(now);
        } else {
            monitor.oblbsince = None;
        }
    }

    fn flag_mut(&mut self, ups: usize, token: &StatusToken) -> Option<&mut bool> {
        let monitor = &mut self.monitors[ups];
        Some(match token {
            StatusToken::Cal => &mut monitor.cal,
            StatusToken::Off => &mut monitor.off,
            StatusToken::Bypass => &mut monitor.bypass,
            StatusToken::Alarm => &mut monitor.alarm,
            StatusToken::Over => &mut monitor.over,
            StatusToken::Trim => &mut monitor.trim,
            StatusToken::Boost => &mut monitor.boost,
            StatusToken::Eco => &mut monitor.eco,
            _ => return None,
        })
    }

    fn clear_flag(&mut self, ups: usize, status: &Status, token: StatusToken, kind: NotifyType) {
        if status.has(&token) {
            return;
        }
        let was_set = self
            .flag_mut(ups, &token)
            .map(std::mem::take)
            .unwrap_or(false);
        if was_set {
            self.notify(kind, Some(ups), "");
            if token == StatusToken::Off {
                self.monitors[ups].offsince = None;
            }
            if token == StatusToken::Over {
                self.monitors[ups].oversince = None;
            }
            if !self.any_alert() {
                self.sleep_ms = crate::secs_to_ms(self.conf.pollfreq_s);
            }
        }
    }

    fn any_alert(&self) -> bool {
        self.monitors
            .iter()
            .any(|m| m.ob || m.off || m.bypass || m.alarm || m.cal || m.over || m.trim || m.boost)
    }

    fn status_token(&mut self, now: Millis, ups: usize, token: &StatusToken) {
        match token {
            StatusToken::Ol => {
                self.sleep_ms = crate::secs_to_ms(self.conf.pollfreq_s);
                let monitor = &mut self.monitors[ups];
                if !monitor.ol {
                    let silent = monitor.linestate == -1;
                    monitor.linestate = 1;
                    monitor.ol = true;
                    monitor.ob = false;
                    if !silent {
                        self.notify(NotifyType::Online, Some(ups), "");
                    }
                }
            }
            StatusToken::Ob if !self.monitors[ups].ob => {
                self.set_alert_sleep();
                let monitor = &mut self.monitors[ups];
                monitor.linestate = 0;
                monitor.ob = true;
                monitor.ol = false;
                self.notify(NotifyType::OnBatt, Some(ups), "");
            }
            StatusToken::Lb if !self.monitors[ups].lb => {
                self.monitors[ups].lb = true;
                self.notify(NotifyType::LowBatt, Some(ups), "");
            }
            StatusToken::Rb => {
                let rbwarn_ms = crate::secs_to_ms(self.conf.rbwarntime_s);
                let due = self.monitors[ups]
                    .lastrbwarn
                    .is_none_or(|t| now.saturating_sub(t) > rbwarn_ms);
                if due {
                    self.monitors[ups].lastrbwarn = Some(now);
                    self.notify(NotifyType::ReplBatt, Some(ups), "");
                }
            }
            StatusToken::Fsd if !self.monitors[ups].fsd => {
                self.monitors[ups].fsd = true;
                if !self.monitors[ups].fsd_notified {
                    self.monitors[ups].fsd_notified = true;
                    self.notify(NotifyType::Fsd, Some(ups), "");
                }
            }
            StatusToken::Cal
            | StatusToken::Off
            | StatusToken::Bypass
            | StatusToken::Alarm
            | StatusToken::Over
            | StatusToken::Trim
            | StatusToken::Boost
            | StatusToken::Eco => self.alert_token(now, ups, token),
            _ => {}
        }
    }

    fn alert_token(&mut self, now: Millis, ups: usize, token: &StatusToken) {
        let already = self
            .flag_mut(ups, token)
            .map(|f| std::mem::replace(f, true));
        if *token == StatusToken::Alarm {
            // NUT puts ups.alarm's text in the ALARM notification and sends it again
            // when the text changes while the alarm lasts.
            let monitor = &mut self.monitors[ups];
            let text = monitor.alarm_text.clone();
            if already == Some(true) {
                if text.is_some() && text != monitor.alarm_notified {
                    monitor.alarm_notified = text.clone();
                    self.notify(
                        NotifyType::Alarm,
                        Some(ups),
                        text.as_deref().unwrap_or("n/a"),
                    );
                }
                return;
            }
            monitor.alarm_notified = text.clone();
            self.set_alert_sleep();
            self.notify(
                NotifyType::Alarm,
                Some(ups),
                text.as_deref().unwrap_or("n/a"),
            );
            return;
        }
        if already != Some(false) {
            return;
        }
        let kind = match token {
            StatusToken::Cal => NotifyType::Cal,
            StatusToken::Off => {
                self.monitors[ups].offsince = Some(now);
                NotifyType::Off
            }
            StatusToken::Bypass => NotifyType::Bypass,
            StatusToken::Alarm => NotifyType::Alarm,
            StatusToken::Over => {
                self.monitors[ups].oversince = Some(now);
                NotifyType::Over
            }
            StatusToken::Trim => NotifyType::Trim,
            StatusToken::Boost => NotifyType::Boost,
            _ => NotifyType::Eco,
        };
        if matches!(
            token,
            StatusToken::Cal | StatusToken::Off | StatusToken::Bypass | StatusToken::Alarm
        ) {
            self.set_alert_sleep();
        }
        self.notify(kind, Some(ups), "n/a");
    }

    fn critical(&self, now: Millis, ups: usize) -> bool {
        let m = &self.monitors[ups];
        if m.fsd {
            return true;
        }
        let since = |t: Option<Millis>| t.map(|t| now.saturating_sub(t) / 1000);
        if m.commstate == 0 {
            let over_s = since(m.oversince);
            if m.over
                && self.conf.overduration_s >= 0
                && over_s >= Some(self.conf.overduration_s as u64)
            {
                return true;
            }
            if (m.alarm && self.conf.alarmcritical) || m.cal || m.bypass {
                return true;
            }
            if m.off && self.conf.offduration_s >= 0 {
                return true;
            }
        }
        if m.off && self.conf.offduration_s >= 0 {
            let off_s = since(m.offsince).unwrap_or(0) as i64;
            if off_s >= self.conf.offduration_s {
                return true;
            }
        }
        if !(m.ob && m.lb) || m.cal {
            return false;
        }
        if self.conf.oblbduration_s > 0 {
            let oblb_s = since(m.oblbsince).unwrap_or(0) as i64;
            if oblb_s < self.conf.oblbduration_s {
                return false;
            }
        }
        if m.primary {
            return true;
        }
        whole_seconds_between(m.lastnoncrit, now) > self.conf.hostsync_s
    }

    /// After all monitors were polled: applies the critical rule and schedules the next
    /// poll. Returns true when the shutdown sequence started.
    pub fn end_poll_cycle(&mut self, now: Millis) -> bool {
        let mut healthy: u64 = 0;
        for ups in 0..self.monitors.len() {
            let m = &self.monitors[ups];
            // Whole seconds, strict "greater than", as NUT's `now - lastpoll > deadtime`.
            let dead = m
                .lastpoll
                .is_none_or(|t| whole_seconds_between(t, now) > self.conf.deadtime_s);
            if dead && m.ob && !m.lb {
                let system = m.system.clone();
                self.monitors[ups].lb = true;
                self.events.push(Event::AssumedDead { system });
            }
            if !self.critical(now, ups) {
                healthy += u64::from(self.monitors[ups].power_value);
            }
        }
        if healthy < u64::from(self.conf.minsupplies) {
            let critical: Vec<String> = (0..self.monitors.len())
                .filter(|&i| self.critical(now, i))
                .map(|i| self.monitors[i].system.clone())
                .collect();
            self.events.push(Event::TooFewHealthy {
                healthy,
                minsupplies: self.conf.minsupplies,
                critical,
            });
            self.begin_shutdown();
            return true;
        }
        self.phase = Phase::Monitoring {
            next_poll: now.saturating_add(self.sleep_ms),
        };
        false
    }

    fn begin_shutdown(&mut self) {
        self.phase = Phase::SettingFsd;
    }

    /// FSD was sent to every primary UPS (the replies do not change the sequence).
    pub fn fsd_sent(&mut self, now: Millis) {
        if self.primaries().is_empty() {
            self.do_shutdown(now);
        } else {
            self.phase = Phase::WaitingHostsync {
                start: now,
                next_query: now,
                announced: false,
            };
        }
    }

    /// The largest NUMLOGINS over the primary UPSes (errors count as 0).
    ///
    /// `max_logins` is `None` when upsd did not report a count (an error reply such as
    /// DRIVER-NOT-CONNECTED, or a lost connection). NUT 2.8.0's `sync_secondaries`
    /// counts that as no login and shuts down at once, cutting the power under
    /// secondaries that are still stopping; here an unknown count keeps the primary
    /// waiting until HOSTSYNC expires.
    pub fn numlogins_result(&mut self, now: Millis, max_logins: Option<u32>) {
        let Phase::WaitingHostsync {
            start, announced, ..
        } = self.phase
        else {
            return;
        };
        let waited_ms = now.saturating_sub(start);
        // NUT compares whole seconds with a strict "greater than" (`difftime(now,
        // start) > hostsync` on time() values), so HOSTSYNC 15 waits between 15 and
        // 16 seconds, never less.
        let expired = whole_seconds_between(start, now) > self.conf.hostsync_s;
        let gone = max_logins.is_some_and(|n| n <= 1);
        if gone || expired {
            if !gone {
                self.events.push(Event::HostsyncExpired);
            }
            self.events.push(Event::HostsyncDone {
                logins: max_logins.unwrap_or(0),
                waited_ms,
                expired: !gone,
            });
            self.do_shutdown(now);
            return;
        }
        // Secondaries are still logged in: say once that the primary waits for them
        // (NUT 2.8.5's SHUTDOWN_HOSTSYNC, sent on the first query).
        if !announced {
            self.notify(NotifyType::ShutdownHostsync, None, "");
            self.events
                .push(Event::HostsyncWaiting { logins: max_logins });
        }
        self.phase = Phase::WaitingHostsync {
            start,
            next_query: now.saturating_add(HOSTSYNC_POLL_MS),
            announced: true,
        };
    }

    fn do_shutdown(&mut self, now: Millis) {
        self.events.push(Event::AutoShutdown);
        self.notify(NotifyType::Shutdown, None, "");
        self.phase = Phase::FinalDelay {
            until: now.saturating_add(crate::secs_to_ms(self.conf.finaldelay_s)),
        };
    }

    /// SHUTDOWNCMD has been run.
    pub fn shutdown_done(&mut self) {
        self.phase = Phase::Done;
    }
}

/// Whole seconds between two times as NUT counts them: both truncated to seconds (as
/// `time()` values), then subtracted.
fn whole_seconds_between(earlier: Millis, later: Millis) -> u64 {
    (later / 1000).saturating_sub(earlier / 1000)
}
