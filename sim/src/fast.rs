//! The event-jumping driver: the same nut-core state machines (`UpsdCore`,
//! `UpsmonCore`, dummy-ups's `DummyDevice`, `ClientSession`) and the same wiring
//! functions and decision glue as the binaries (`nut_bins::{upsd, upsmon, driver}::wire`,
//! `upsmon::{notify_plan, status_reply, login_events, fsd_event, numlogins}`), run
//! without turmoil and without tokio: a small single-threaded executor whose clock jumps
//! straight to the next timer or site event, and a message-level network model.
//!
//! What it models, and how it differs from turmoil:
//! - every message between two hosts takes one `tick_ms` of the scenario (or a
//!   `latency` fault's value): turmoil draws 1..`max_latency_ms` per message and delivers
//!   it on the next tick, so a hop costs about one tick there too;
//! - a partition refuses new connections at once and loses requests and replies (the
//!   asker gives up after upsd's reply timeout); a connection closed across a cut link is
//!   never seen by upsd, which drops it once it is idle, as with turmoil;
//! - a stopped upsd or host answers requests with end of file;
//! - upsd and its drivers talk without delay (one host).
//!
//! upssched's client runs inside upsmon's NOTIFYCMD and its timer daemon is a task of
//! the host, both through nut-core's `client_steps` and `TimerDaemon` and nut-bins'
//! `upssched::{wire, run_cmdscript}`.
//!
//! STARTTLS is a real rustls handshake between upsmon's and upsd's own TLS settings, run
//! in memory (`nut_bins::tls::handshake_in_memory`).
//!
//! usbhid-ups runs as the binary's own `HidSession` (start-up, polls, reconnection,
//! commands) against the modelled unit, whose answers never make it wait; a composite
//! command's 125 ms pause is not taken here.
//!
//! nutdrv_qx runs its jobs (`QxDriver`, wired by `nut_bins::qx::wire`) as `run_qx` does,
//! a query the modelled unit leaves unanswered costing `SER_WAIT_SEC` of the fast clock.
//!
//! It does not run reloads of upsd and drivers ([`unsupported`] names what a scenario
//! needs that it lacks); such scenarios run on turmoil only.
//!
//! The site (UPS models, power, boots, late shutdown) is [`crate::site::Site`], shared
//! with the turmoil driver. A test checks that both drivers make the same decisions on
//! every scenario this one supports.
//!
//! Warps: most of a long run is periodic acts that change nothing (an upsmon poll that
//! gets the answer it got before, a upsd tick that only PINGs a dummy-ups that answers
//! at once, a dummy-ups poll of a file that did not change). Each such act parks as
//! [`Quiet`]; when nothing else is due before some horizon, one step skips all their
//! instants before it and each act catches up in one go (the last poll's requests, the
//! core given the last poll's answers; `UpsdCore::skip_ticks`). A check at the warp
//! confirms each act is still quiet. Tests check that a run with warps records exactly
//! what a run taking every instant ([`run_every_instant`]) records, on every scenario
//! and on random sites; debug builds also check that the upsmon core after the catch-up
//! is the one every skipped poll would have left.

use crate::harness::{driver_args, hosted, mains_returned, nut_env, poll_phase_ms, Outcome};
use crate::scenario::{DriverKind, FaultAction, Scenario, SignalName};
use crate::site::{secs_to_ms, Control, Site};
use crate::world::{
    env_value, is_upssched, SharedWorld, SimApcPort, SimFileSource, SimHidPort, SimQxPort,
    SimSnmpPort, SimSys, World, WorldEvent,
};
use nut_bins::seam::{DataSource, ExecPurpose, Reading, Sys};
use nut_bins::upsmon::{
    alarm_reply, check_powerdownflag_at_start, fsd_event, has_alarm, login_events, most_logins,
    notify_plan, same_login, status_reply, tls_plan, write_powerdownflag, TlsClients,
};
use nut_core::config::{Monitor, ShutdownExit, UpsmonConf, UpsschedConf};
use nut_core::dummy::{DriverState, DummyDevice};
use nut_core::event::Event;
use nut_core::proto::format_request;
use nut_core::session::{ClientSession, Next};
use nut_core::sock::DriverLine;
use nut_core::tokenizer::Tokenizer;
use nut_core::upsd::{Action, ClientId, UpsdCore, TICK_INTERVAL_MS};
use nut_core::upsmon::{Command, PollOutcome, UpsmonCore};
use nut_core::upssched::{client_steps, ClientStep, Notice, TimerDaemon};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// What in `scenario` the fast driver does not model, if anything.
pub fn unsupported(scenario: &Scenario) -> Option<String> {
    let mut missing = Vec::new();

    if scenario.faults.iter().any(|f| {
        matches!(
            &f.action,
            FaultAction::Signal {
                signal: SignalName::Reload,
                process,
                ..
            } if process != "upsmon"
        )
    }) {
        missing.push("reload of a process other than upsmon");
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

// ---------------------------------------------------------------------------------
// The executor: tasks, a virtual clock, timers.

/// The virtual clock and its timers.
struct Clock {
    now: Cell<u64>,
    /// The same time for the `SimSys` seams (events are stamped with it).
    shared: Arc<AtomicU64>,
    /// By (due, armed at and task, sequence): the time a timer was armed, then the task
    /// that armed it, order timers due at the same instant; the time is the clock's,
    /// or for an act that caught up after a warp the time it would have armed it had
    /// every instant been taken.
    timers: RefCell<BTreeMap<TimerKey, Waker>>,
    seq: Cell<u64>,
    /// The timers (by sequence number) of periodic acts parked as quiet: see [`warp`].
    quiet: RefCell<BTreeMap<u64, Quiet>>,
    /// Instants skipped by warps so far.
    skipped: Cell<u64>,
    /// The task being polled (its slot).
    task: Cell<u64>,
    /// The timers (by sequence number) of acts that cannot change a UPS's status
    /// while their check holds (a dummy-ups poll while the status lines of its file
    /// are those it last read: see [`warp`]).
    status_safe: RefCell<BTreeMap<u64, QuietCheck>>,
}

/// A periodic act that changes nothing while nothing else happens (a poll that gets the
/// answer it got before, a tick that only PINGs a driver that answers at once). A warp
/// skips its instants up to the next thing that may change something, and the act
/// catches up in one step ([`Clock::quiet_sleep`] returns the last instant skipped).
struct Quiet {
    /// Its instants are its timer's, then every `period` ms.
    period: u64,
    /// How long one act takes from its instant (an upsmon's poll cycle, round trips
    /// included); an instant is skipped only if its act is over before the horizon.
    margin: u64,
    /// Connections (upsd client ids) the act keeps busy: upsd never finds them idle.
    keeps: Vec<u64>,
    /// Where a warp leaves the last instant it skipped.
    skipped: Rc<Cell<Option<u64>>>,
    /// Whether the act is still quiet (nothing it reads changed since it parked).
    check: QuietCheck,
    /// It reads nothing but UPS statuses (an upsmon's polls): acts that cannot change
    /// one do not end its warps.
    reads_status: bool,
}

/// See [`Quiet::check`].
type QuietCheck = Box<dyn Fn(&Fast) -> bool>;

impl Clock {
    fn now(&self) -> u64 {
        self.now.get()
    }

    fn set(&self, t: u64) {
        self.now.set(t);
        self.shared.store(t, Ordering::Relaxed);
    }

    fn sleep_until(self: &Rc<Self>, at: u64) -> Sleep {
        Sleep {
            clock: self.clone(),
            at,
            as_of: None,
            armed: None,
            status_safe: None,
        }
    }

    fn sleep(self: &Rc<Self>, ms: u64) -> Sleep {
        self.sleep_until(self.now().saturating_add(ms))
    }

    fn next_timer(&self) -> Option<u64> {
        self.timers.borrow().keys().next().map(|(t, _, _)| *t)
    }

    /// A sleep until `at` for a periodic act known to be quiet (see [`Quiet`]): `None`
    /// at `at` as [`Clock::sleep_until`], or `Some(last)` at once when a warp skipped
    /// the act's instants up to `last` (the act brings its state to after `last`).
    fn quiet_sleep(
        self: &Rc<Self>,
        at: u64,
        period: u64,
        margin: u64,
        keeps: Vec<u64>,
        check: QuietCheck,
        reads_status: bool,
    ) -> QuietSleep {
        let skipped = Rc::new(Cell::new(None));
        QuietSleep {
            sleep: self.sleep_until(at),
            quiet: Some(Quiet {
                period: period.max(1),
                margin,
                keeps,
                skipped: skipped.clone(),
                check,
                reads_status,
            }),
            skipped,
        }
    }

    /// Wakes every timer due by now; whether there was one.
    fn fire(&self) -> bool {
        let now = self.now();
        let mut fired = false;
        loop {
            let due = {
                let mut timers = self.timers.borrow_mut();
                match timers.first_key_value() {
                    Some((&key, _)) if key.0 <= now => {
                        self.status_safe.borrow_mut().remove(&key.2);
                        timers.remove(&key)
                    }
                    _ => None,
                }
            };
            match due {
                Some(waker) => {
                    waker.wake();
                    fired = true;
                }
                None => return fired,
            }
        }
    }
}

/// A timer's place: due; when it was armed, then by which task (see [`arm_order`]);
/// sequence number.
type TimerKey = (u64, u64, u64);

/// Tasks told apart in [`arm_order`] (a run has a few hundred at most).
const TASK_BITS: u32 = 16;

/// The order of timers due at the same instant: by when they were armed, then by task.
/// Not by the order they were armed in, which depends on how the instant before was
/// reached: a task that caught up after a warp arms its timer as of the time it would
/// have, and must land where it would have.
fn arm_order(armed_at: u64, task: u64) -> u64 {
    (armed_at << TASK_BITS) | (task & ((1 << TASK_BITS) - 1))
}

impl Clock {
    /// A new key for a timer due `at`, armed now or as of `as_of`, by the task running.
    fn key(&self, at: u64, as_of: Option<u64>) -> TimerKey {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let armed_at = as_of.unwrap_or_else(|| self.now());
        (at, arm_order(armed_at, self.task.get()), seq)
    }
}

/// A timer future.
struct Sleep {
    clock: Rc<Clock>,
    at: u64,
    /// Armed as of this time rather than now (see [`Clock::timers`]).
    as_of: Option<u64>,
    armed: Option<TimerKey>,
    /// Its act cannot change a UPS's status while this holds (see
    /// [`Clock::status_safe`]); moved to the clock's table when armed.
    status_safe: Option<QuietCheck>,
}

impl Sleep {
    /// The same sleep, for an act that cannot change a UPS's status while `check`
    /// holds.
    fn status_safe_while(mut self, check: QuietCheck) -> Sleep {
        self.status_safe = Some(check);
        self
    }

    /// The same sleep, armed as of `as_of` if given.
    fn armed_as_of(mut self, as_of: Option<u64>) -> Sleep {
        self.as_of = as_of;
        self
    }

    /// Its timer's key, arming it first if it is not.
    fn arm(&mut self, cx: &Context<'_>) -> TimerKey {
        if let Some(key) = self.armed {
            return key;
        }
        let key = self.clock.key(self.at, self.as_of);
        self.clock
            .timers
            .borrow_mut()
            .insert(key, cx.waker().clone());
        if let Some(check) = self.status_safe.take() {
            self.clock.status_safe.borrow_mut().insert(key.2, check);
        }
        self.armed = Some(key);
        key
    }

    /// Takes its timer away, if armed; its key.
    fn disarm(&mut self) -> Option<TimerKey> {
        let key = self.armed.take()?;
        self.clock.timers.borrow_mut().remove(&key);
        self.clock.status_safe.borrow_mut().remove(&key.2);
        Some(key)
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.at {
            self.disarm();
            return Poll::Ready(());
        }
        self.arm(cx);
        Poll::Pending
    }
}

/// A sleep given up before its time takes its timer with it, so no stale wake-up
/// reorders the acts due at that instant.
impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The future of [`Clock::quiet_sleep`]: a [`Sleep`] whose timer is in the clock's
/// table of quiet acts while armed.
struct QuietSleep {
    sleep: Sleep,
    /// Moved into the clock's table when armed.
    quiet: Option<Quiet>,
    skipped: Rc<Cell<Option<u64>>>,
}

impl QuietSleep {
    /// The same sleep, armed as of `as_of` if given.
    fn armed_as_of(mut self, as_of: Option<u64>) -> QuietSleep {
        self.sleep.as_of = as_of;
        self
    }

    fn disarm(&mut self) {
        if let Some(key) = self.sleep.disarm() {
            self.sleep.clock.quiet.borrow_mut().remove(&key.2);
        }
    }
}

impl Future for QuietSleep {
    type Output = Option<u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u64>> {
        if let Some(last) = self.skipped.take() {
            // The warp took the timer and its entry.
            self.sleep.armed = None;
            return Poll::Ready(Some(last));
        }
        if self.sleep.clock.now() >= self.sleep.at {
            self.disarm();
            return Poll::Ready(None);
        }
        if self.sleep.armed.is_none() {
            let key = self.sleep.arm(cx);
            let quiet = self.quiet.take().expect("armed once");
            self.sleep.clock.quiet.borrow_mut().insert(key.2, quiet);
        }
        Poll::Pending
    }
}

impl Drop for QuietSleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Skips, in one step, the instants of the parked quiet acts (see [`Quiet`]) that come
/// before `horizon` and before anything else the clock has: the next timer that is not
/// a quiet act's, and the time a upsd would drop a client that no quiet act keeps busy.
/// Each act skipped is woken at once with its last instant skipped, in the order of
/// those instants (then of the timers): the timers they set next come in the order a
/// run that took every instant would have set them. Whether anything was skipped.
fn warp(fast: &Fast, horizon: u64, status_horizon: u64) -> bool {
    let clock = &fast.clock;
    if clock.quiet.borrow().is_empty() {
        return false;
    }
    // Two horizons: the first thing that may change anything, and the first that may
    // change a UPS's status (what an upsmon poll reads).
    let (mut loud, mut loud_status) = (None, None);
    {
        let quiet = clock.quiet.borrow();
        let safe = clock.status_safe.borrow();
        for &(t, _, seq) in clock.timers.borrow().keys() {
            if quiet.contains_key(&seq) {
                continue;
            }
            loud = loud.or(Some(t));
            if !safe.get(&seq).is_some_and(|check| check(fast)) {
                loud_status = Some(t);
                break;
            }
        }
    }
    let mut until = loud.map_or(horizon, |t| horizon.min(t));
    let mut until_status = loud_status.map_or(status_horizon, |t| status_horizon.min(t));
    // An act no longer quiet is done at its instant, as anything else.
    let mut valid = BTreeSet::new();
    {
        let quiet = clock.quiet.borrow();
        for &(at, _, seq) in clock.timers.borrow().keys() {
            if at >= until.max(until_status) {
                break;
            }
            match quiet.get(&seq) {
                Some(q) if (q.check)(fast) => {
                    valid.insert(seq);
                }
                Some(_) => {
                    until = until.min(at);
                    until_status = until_status.min(at);
                }
                None => {}
            }
        }
    }
    {
        let quiet = clock.quiet.borrow();
        let kept: BTreeSet<u64> = quiet
            .iter()
            .filter(|(seq, _)| valid.contains(seq))
            .flat_map(|(_, q)| q.keeps.iter().copied())
            .collect();
        let net = fast.net.borrow();
        for node in net.upsd.values() {
            for (client, last) in node.core.clients_last_request() {
                if !kept.contains(&client) {
                    let idle_at = node
                        .start
                        .saturating_add(last)
                        .saturating_add(nut_core::upsd::CLIENT_IDLE_TIMEOUT_MS);
                    until = until.min(idle_at);
                    until_status = until_status.min(idle_at);
                }
            }
        }
    }
    let mut skips: Vec<(u64, TimerKey, u64)> = Vec::new();
    {
        let quiet = clock.quiet.borrow();
        for &key in clock.timers.borrow().keys() {
            let (at, _, seq) = key;
            if at >= until.max(until_status) {
                break;
            }
            let Some(q) = quiet.get(&seq).filter(|_| valid.contains(&seq)) else {
                continue;
            };
            let until = if q.reads_status { until_status } else { until };
            if at.saturating_add(q.margin) >= until {
                continue;
            }
            let count = (until - q.margin - at - 1) / q.period;
            skips.push((at + count * q.period, key, count + 1));
        }
    }
    if skips.is_empty() {
        return false;
    }
    skips.sort_unstable();
    for (last, key, count) in skips {
        let waker = clock.timers.borrow_mut().remove(&key);
        let quiet = clock.quiet.borrow_mut().remove(&key.2);
        if let (Some(waker), Some(quiet)) = (waker, quiet) {
            quiet.skipped.set(Some(last));
            clock.skipped.set(clock.skipped.get() + count);
            waker.wake();
        }
    }
    true
}

/// Signals for one upsmon (`-c fsd`, `-c stop`).
#[derive(Default)]
struct Mailbox {
    pending: RefCell<Vec<SignalName>>,
    waker: RefCell<Option<Waker>>,
}

impl Mailbox {
    fn post(&self, signal: SignalName) {
        self.pending.borrow_mut().push(signal);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn take(&self) -> Vec<SignalName> {
        std::mem::take(&mut *self.pending.borrow_mut())
    }

    /// Resolves once a signal is pending.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.pending.borrow().is_empty() {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }
}

/// Wakes a task that waits for it (the timer daemon after a request).
#[derive(Default)]
struct Wakeup {
    due: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Wakeup {
    fn wake(&self) {
        self.due.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Resolves once woken since the last wait.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.due.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Runs `work` to completion while `side` runs alongside (polled after `work`).
async fn run_while<T>(work: impl Future<Output = T>, side: impl Future<Output = ()>) -> T {
    let mut work = std::pin::pin!(work);
    let mut side = std::pin::pin!(side);
    let mut side_done = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = work.as_mut().poll(cx) {
            return Poll::Ready(value);
        }
        if !side_done && side.as_mut().poll(cx).is_ready() {
            side_done = true;
        }
        Poll::Pending
    })
    .await
}

/// Waits for whichever comes first (polled in order).
async fn first_of(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs a future that never waits (the simulated filesystem and exec seams answer at
/// once); `None` if it would wait.
fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Which process a task belongs to.
type Tag = (String, &'static str);

struct TaskWaker {
    id: usize,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(self.id);
    }
}

#[derive(Default)]
struct Tasks {
    slots: Vec<Option<(Tag, Task)>>,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

impl Tasks {
    fn spawn(&mut self, tag: Tag, task: Task) {
        let id = match self.slots.iter().position(Option::is_none) {
            Some(id) => id,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[id] = Some((tag, task));
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(id);
    }

    /// Drops every task of `host` (and `process`, if given), as stopping it would.
    fn kill(&mut self, host: &str, process: Option<&str>) {
        for slot in &mut self.slots {
            if slot
                .as_ref()
                .is_some_and(|((h, p), _)| h == host && process.is_none_or(|want| want == *p))
            {
                *slot = None;
            }
        }
    }

    fn running(&self, host: &str, process: &str) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|((h, p), _)| h == host && *p == process)
    }

    fn next_ready(&self) -> Option<usize> {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn has_ready(&self) -> bool {
        !self
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

// ---------------------------------------------------------------------------------
// The network and the daemons' shared state.

struct UpsdNode {
    core: UpsdCore,
    /// CERTFILE's TLS side, when upsd.conf has one.
    tls: Option<nut_bins::tls::Acceptor>,
    sys: SimSys,
    /// Changes at every start, so connections to an earlier upsd see end of file.
    incarnation: u64,
    /// Driver links up, by UPS index.
    linked: BTreeSet<usize>,
    /// upsd's time is its own uptime.
    start: u64,
    /// Each UPS with a driver: its index and its driver's key in `Net::drivers`
    /// (host, socket), from upsd.conf and ups.conf as upsd read them at its start.
    drivers: Vec<(usize, (String, String))>,
}

impl UpsdNode {
    /// The UPS whose driver listens on `socket`.
    fn ups_of(&self, socket: &str) -> Option<usize> {
        self.drivers
            .iter()
            .find(|(_, (_, s))| s == socket)
            .map(|(ups, _)| *ups)
    }
}

/// upssched's timer daemon on a host, while it runs.
struct TimerNode {
    daemon: TimerDaemon,
    conf: UpsschedConf,
    sys: SimSys,
    /// The daemon's time is its own uptime.
    start: u64,
    /// Wakes the daemon's task after a request changed its timers.
    wake: Rc<Wakeup>,
}

enum DriverNode {
    /// dummy-ups: its device and published state.
    Dummy {
        state: DriverState,
        device: DummyDevice,
    },
    /// usbhid-ups: the binary's own session (device logic, state, the modelled unit).
    Hid(Box<HidNode>),
    /// nutdrv_qx: its device logic and state, shared with the driver's poll task.
    Qx(Rc<RefCell<JobNode<QxDevice>>>),
    /// snmp-ups: the binary's own session (device logic, state, the modelled card).
    Snmp(Box<SnmpNode>),
    /// apcsmart: its device logic and state, shared with the driver's poll task.
    Apc(Rc<RefCell<JobNode<ApcDevice>>>),
}

struct SnmpNode {
    session: nut_bins::snmp::SnmpSession<SimSnmpPort>,
    sys: SimSys,
    ups: String,
    /// In a walk that waits on the card: `run_snmp` reads upsd's lines only after it
    /// (they queue here and are answered then).
    busy: bool,
    queued: Vec<nut_core::sock::ServerLine>,
}

/// A job's end (nutdrv_qx's and apcsmart's share the types): outcome, lines, notes.
type JobDone = (
    nut_core::qx::Outcome,
    Vec<DriverLine>,
    Vec<nut_core::qx::Note>,
);

/// The device side of a job driver on the fast engine: its sans-IO logic and the
/// modelled unit on the other end of its line.
trait JobDevice {
    /// What a job accumulates between steps (replies, I/O results).
    type Results: Default;
    /// One step of `job`: the end, or (`Err`) the time the step takes on the line.
    fn step(
        &mut self,
        state: &mut DriverState,
        job: &nut_core::qx::Job,
        now: u64,
        results: &mut Self::Results,
    ) -> Result<JobDone, u64>;
}

/// nutdrv_qx: a query the unit leaves unanswered costs `SER_WAIT_SEC`.
struct QxDevice {
    driver: nut_core::qx::QxDriver,
    port: SimQxPort,
}

impl JobDevice for QxDevice {
    type Results = Vec<nut_core::qx::Reply>;

    fn step(
        &mut self,
        state: &mut DriverState,
        job: &nut_core::qx::Job,
        now: u64,
        replies: &mut Self::Results,
    ) -> Result<JobDone, u64> {
        use nut_core::qx::{Progress, Reply};
        match self.driver.run(state, job, now, replies) {
            Progress::Send(query) => {
                let reply = self.port.answer(&query);
                let took = if reply == Reply::Timeout {
                    nut_core::qx::SER_WAIT_SEC * 1000
                } else {
                    0
                };
                replies.push(reply);
                Err(took)
            }
            Progress::Done {
                outcome,
                lines,
                notes,
            } => Ok((outcome, lines, notes)),
        }
    }
}

/// apcsmart: each I/O step costs the time it takes on the line (a silent unit's wait,
/// the pauses of a confirmed command).
struct ApcDevice {
    driver: nut_core::apcsmart::ApcDriver,
    port: SimApcPort,
}

impl JobDevice for ApcDevice {
    type Results = Vec<nut_core::apcsmart::IoResult>;

    fn step(
        &mut self,
        state: &mut DriverState,
        job: &nut_core::qx::Job,
        now: u64,
        results: &mut Self::Results,
    ) -> Result<JobDone, u64> {
        use nut_core::apcsmart::Progress;
        match self.driver.run(state, job, now, results) {
            Progress::Io(io) => {
                let (result, took) = self.port.perform(&io);
                results.push(result);
                Err(took)
            }
            Progress::Done {
                outcome,
                lines,
                notes,
            } => Ok((outcome, lines, notes)),
        }
    }
}

/// A job driver (nutdrv_qx, apcsmart): its device and published state, shared by its
/// poll task and upsd's requests.
struct JobNode<D> {
    device: D,
    state: DriverState,
    sys: SimSys,
    ups: String,
    start: u64,
    /// The fast clock's time, for jobs that upsd's requests start.
    clock: Arc<AtomicU64>,
}

impl<D: JobDevice> JobNode<D> {
    fn step(
        &mut self,
        job: &nut_core::qx::Job,
        now: u64,
        results: &mut D::Results,
    ) -> Result<JobDone, u64> {
        self.device.step(&mut self.state, job, now, results)
    }

    /// A line from upsd, as `serve_jobs` answers it: SET and INSTCMD run as jobs (here
    /// without the time the line takes), the driver core answers the rest.
    fn handle(&mut self, line: &nut_core::sock::ServerLine) -> nut_core::dummy::DriverReply {
        let mut result = None;
        let mut changed = Vec::new();
        if let Some(job) = nut_core::qx::Job::for_line(line) {
            let now = self
                .clock
                .load(Ordering::Relaxed)
                .saturating_sub(self.start);
            let mut results = D::Results::default();
            let (outcome, lines, notes) = loop {
                if let Ok(done) = self.step(&job, now, &mut results) {
                    break done;
                }
            };
            nut_bins::qx::report(&self.sys, &self.ups, notes);
            changed = lines;
            if let nut_core::qx::Outcome::Tracking(code) = outcome {
                result = Some(code);
            }
        }
        let mut reply = nut_core::dummy::device_reply(&mut self.state, line, result);
        changed.append(&mut reply.broadcast);
        reply.broadcast = changed;
        reply
    }
}

/// Runs a job as the shells' `run_job` do, on the fast clock.
async fn run_job<D: JobDevice>(
    fast: &Rc<Fast>,
    node: &Rc<RefCell<JobNode<D>>>,
    job: &nut_core::qx::Job,
) -> JobDone {
    let now = fast.clock.now() - node.borrow().start;
    let mut results = D::Results::default();
    loop {
        let step = node.borrow_mut().step(job, now, &mut results);
        let took = match step {
            Ok(done) => return done,
            Err(took) => took,
        };
        if took > 0 {
            fast.clock.sleep(took).await;
        }
    }
}

/// What the job drivers' wirings have in common.
struct JobWiring {
    ups: String,
    pollinterval_s: u64,
    /// NUT's program name (the socket's prefix).
    driver_name: &'static str,
}

/// A job driver on `host` (its device, its state from ups.conf): its start-up job,
/// then an update every pollinterval, as `nut_bins::driver::serve_jobs` runs them;
/// `into_node` files it where upsd finds it.
async fn job_driver<D: JobDevice>(
    fast: Rc<Fast>,
    host: String,
    sys: SimSys,
    (device, state, wiring): (D, DriverState, JobWiring),
    into_node: fn(Rc<RefCell<JobNode<D>>>) -> DriverNode,
) {
    use nut_core::qx::{Job, Outcome};
    let node = Rc::new(RefCell::new(JobNode {
        device,
        state,
        sys: sys.clone(),
        ups: wiring.ups.clone(),
        start: fast.clock.now(),
        clock: fast.clock.shared.clone(),
    }));
    let (outcome, _, notes) = run_job(&fast, &node, &Job::Start).await;
    nut_bins::qx::report(&sys, &wiring.ups, notes);
    if let Outcome::Fatal(error) = outcome {
        return fast.record(&host, WorldEvent::ProcessFailed { error });
    }
    nut_bins::driver::publish_serving(&mut node.borrow_mut().state, wiring.pollinterval_s);
    let socket = format!("{}-{}", wiring.driver_name, wiring.ups);
    sys.event(Event::DriverListening {
        socket: socket.clone(),
    });
    let key = (host.clone(), socket.clone());
    fast.net
        .borrow_mut()
        .drivers
        .insert(key.clone(), into_node(node.clone()));
    let period = wiring.pollinterval_s.max(1) * 1000;
    let mut next_poll = fast.clock.now().saturating_add(period);
    loop {
        fast.clock.sleep_until(next_poll).await;
        next_poll = next_poll.saturating_add(period);
        if !fast.net.borrow().drivers.contains_key(&key) {
            return;
        }
        let (_, lines, notes) = run_job(&fast, &node, &Job::Update).await;
        nut_bins::qx::report(&sys, &wiring.ups, notes);
        fast.driver_said(&host, &socket, &lines);
    }
}

/// apcsmart on `host` for `ups`: its wiring (`nut_bins::apcsmart::wire`) and jobs
/// against the modelled unit.
async fn apcsmart(fast: Rc<Fast>, host: String, ups: String) {
    let sys = fast.sys(&host, "apcsmart");
    let wiring = match nut_bins::apcsmart::wire(&sys, &nut_env(), &driver_args(&ups)) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let port = SimApcPort::clocked(
        fast.world.clone(),
        &host,
        &ups,
        &wiring.port,
        fast.clock.shared.clone(),
    );
    let device = ApcDevice {
        driver: nut_core::apcsmart::ApcDriver::new(wiring.options.clone()),
        port,
    };
    let state = nut_bins::driver::section_state(&wiring.initial, &wiring.overrides);
    let common = JobWiring {
        ups: wiring.ups,
        pollinterval_s: wiring.pollinterval_s,
        driver_name: nut_bins::apcsmart::DRIVER_NAME,
    };
    job_driver(fast, host, sys, (device, state, common), DriverNode::Apc).await;
}

/// nutdrv_qx on `host` for `ups`: its wiring (`nut_bins::qx::wire`) and jobs against
/// the modelled unit.
async fn nutdrv_qx(fast: Rc<Fast>, host: String, ups: String) {
    let sys = fast.sys(&host, "nutdrv_qx");
    let wiring = match nut_bins::qx::wire(&sys, &nut_env(), &driver_args(&ups)) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let port = SimQxPort::clocked(
        fast.world.clone(),
        &host,
        &ups,
        &wiring.port,
        fast.clock.shared.clone(),
    );
    let device = QxDevice {
        driver: nut_core::qx::QxDriver::new(wiring.options.clone()),
        port,
    };
    let state = nut_bins::qx::initial_state(&wiring);
    let common = JobWiring {
        ups: wiring.ups,
        pollinterval_s: wiring.pollinterval_s,
        driver_name: nut_bins::qx::DRIVER_NAME,
    };
    job_driver(fast, host, sys, (device, state, common), DriverNode::Qx).await;
}

struct HidNode {
    session: nut_bins::usbhid::HidSession<SimHidPort>,
    sys: SimSys,
    ups: String,
}

impl DriverNode {
    /// A line from upsd, answered as the driver's shell answers it.
    fn handle(&mut self, line: &nut_core::sock::ServerLine) -> nut_core::dummy::DriverReply {
        match self {
            DriverNode::Dummy { state, device } => device.handle(state, line),
            // The modelled unit answers at once, so the shell's future never waits.
            DriverNode::Hid(h) => {
                now_or_never(h.session.handle_line(&h.sys, &h.ups, line)).unwrap_or_default()
            }
            // The modelled card answers at once (a dead one at once too: no timeout
            // is charged for a SET here).
            DriverNode::Snmp(s) => {
                if s.busy {
                    s.queued.push(line.clone());
                    return nut_core::dummy::DriverReply::default();
                }
                now_or_never(s.session.handle_line(&s.sys, &s.ups, line)).unwrap_or_default()
            }
            DriverNode::Apc(node) => node.borrow_mut().handle(line),
            DriverNode::Qx(node) => node.borrow_mut().handle(line),
        }
    }
}

/// One client connection to a upsd; its id in [`Net::conns`] is upsd's `ClientId`.
struct Conn {
    client_host: String,
    server_host: String,
    incarnation: u64,
    /// upsd closed it (or went away): the client reads end of file.
    closed: bool,
}

#[derive(Default)]
struct Net {
    addresses: BTreeMap<String, String>,
    /// One-way cuts (from, to).
    cut: BTreeSet<(String, String)>,
    /// Latency per host pair (sorted), in ms.
    latency: BTreeMap<(String, String), u64>,
    /// Latency of a pair without a `latency` fault, in ms.
    base_latency: u64,
    /// Hosts that are off (halted, without power, booting).
    down: BTreeSet<String>,
    upsd: BTreeMap<String, UpsdNode>,
    /// Drivers by (host, socket name).
    drivers: BTreeMap<(String, String), DriverNode>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    next_incarnation: u64,
}

impl Net {
    fn latency(&self, a: &str, b: &str) -> u64 {
        if self.latency.is_empty() {
            return self.base_latency;
        }
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.latency.get(&key).copied().unwrap_or(self.base_latency)
    }

    fn is_cut(&self, from: &str, to: &str) -> bool {
        !self.cut.is_empty() && from != to && self.cut.contains(&(from.to_string(), to.to_string()))
    }

    /// Whether the upsd a connection went to is still the one serving.
    fn conn_alive(&self, id: u64) -> bool {
        self.conns.get(&id).is_some_and(|c| {
            !c.closed
                && self
                    .upsd
                    .get(&c.server_host)
                    .is_some_and(|u| u.incarnation == c.incarnation)
        })
    }
}

/// Everything the tasks share.
struct Fast {
    clock: Rc<Clock>,
    world: SharedWorld,
    seed: u64,
    net: RefCell<Net>,
    mailboxes: RefCell<BTreeMap<String, Rc<Mailbox>>>,
    /// upssched's timer daemons, by host.
    timers: RefCell<BTreeMap<String, TimerNode>>,
    /// Daemons to start (the run loop spawns their tasks), by host.
    timer_starts: RefCell<Vec<String>>,
    /// Whether quiet periodic acts may be skipped (see [`Quiet`]); off, every instant of
    /// every act is taken (the tests compare both).
    warp: bool,
}

impl Fast {
    fn sys(&self, host: &str, program: &'static str) -> SimSys {
        SimSys::clocked(host, program, self.world.clone(), self.clock.shared.clone())
    }

    fn record(&self, host: &str, what: WorldEvent) {
        let t = self.clock.now();
        self.world
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(t, host, what);
    }

    /// Carries out what a upsd core asked for outside a client's own request.
    fn perform(&self, host: &str, actions: Vec<Action>) {
        let mut queue = VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            let mut guard = self.net.borrow_mut();
            let net = &mut *guard;
            let Some(node) = net.upsd.get_mut(host) else {
                return;
            };
            match action {
                // The core only ever replies to the client whose line it handles.
                Action::Reply { .. } | Action::StartTls { .. } => {}
                Action::Event(event) => node.sys.event(Event::Upsd(event)),
                Action::Close { client } => {
                    queue.extend(node.core.client_disconnected(client));
                    // Connection ids are upsd's client ids (unique over the run).
                    if let Some(conn) = net.conns.get_mut(&client) {
                        conn.closed = true;
                    }
                }
                Action::ToDriver { ups, line } => {
                    let key = node
                        .drivers
                        .iter()
                        .find(|(index, _)| *index == ups)
                        .map(|(_, key)| key.clone());
                    if !node.linked.contains(&ups) {
                        continue;
                    }
                    let Some(key) = key else { continue };
                    let Some(driver) = net.drivers.get_mut(&key) else {
                        continue;
                    };
                    let reply = driver.handle(&line);
                    let lines: Vec<DriverLine> =
                        reply.reply.into_iter().chain(reply.broadcast).collect();
                    let node = net.upsd.get_mut(host).expect("looked up above");
                    let now = self.clock.now() - node.start;
                    driver_words(&lines, |words| {
                        queue.extend(node.core.driver_line(now, ups, words))
                    });
                }
            }
        }
    }

    /// A driver session that the modelled device must start without waiting (its
    /// answers come at once); `None`, recorded as the process failing, otherwise.
    fn started<T>(&self, host: &str, start: Option<Result<T, String>>, device: &str) -> Option<T> {
        let error = match start {
            Some(Ok(session)) => return Some(session),
            Some(Err(error)) => error,
            None => format!("{device} made the driver wait"),
        };
        self.record(host, WorldEvent::ProcessFailed { error });
        None
    }

    /// Lines a driver on `host` sends on its socket `socket`.
    fn driver_said(&self, host: &str, socket: &str, lines: &[DriverLine]) {
        let actions = {
            let mut guard = self.net.borrow_mut();
            let net = &mut *guard;
            let Some(node) = net.upsd.get_mut(host) else {
                return;
            };
            let Some(ups) = node.ups_of(socket) else {
                return;
            };
            if !node.linked.contains(&ups) {
                return;
            }
            let now = self.clock.now() - node.start;
            let mut actions = Vec::new();
            driver_words(lines, |words| {
                actions.extend(node.core.driver_line(now, ups, words))
            });
            actions
        };
        self.perform(host, actions);
    }

    /// Whether every request of `cycle` (an upsmon's on `host`) would get the same reply
    /// now, over a link that is as it was.
    fn same_answers(&self, host: &str, cycle: &Cycle) -> bool {
        let net = self.net.borrow();
        cycle.asked.iter().all(|a| {
            net.conn_alive(a.conn)
                && !net.is_cut(host, &a.server)
                && !net.is_cut(&a.server, host)
                && net.latency(host, &a.server) == a.latency
                && net.upsd.get(&a.server).is_some_and(|node| {
                    node.core
                        .peek_get(a.conn, &a.words)
                        .is_some_and(|reply| reply.lines().next() == Some(a.reply.as_str()))
                })
        })
    }

    /// `asked` made again, reaching upsd at `at` (a skipped poll's request: upsd takes
    /// it as any other, and its reply is the one recorded).
    fn ask_again(&self, asked: &Asked, at: u64) {
        let mut net = self.net.borrow_mut();
        let Some(node) = net.upsd.get_mut(&asked.server) else {
            return;
        };
        let (reply, actions) = answer(node, asked.conn, &asked.line, at - node.start);
        debug_assert_eq!(reply.lines().next(), Some(asked.reply.as_str()));
        debug_assert!(actions.is_empty());
    }

    /// Whether upsd on `host`'s ticks and driver links do nothing but PING drivers that
    /// answer at once (see [`Quiet`]): every driver it has is linked and is dummy-ups,
    /// and the core says its drivers stay fresh.
    fn upsd_quiet(&self, host: &str) -> bool {
        if !self.warp {
            return false;
        }
        let net = self.net.borrow();
        let Some(node) = net.upsd.get(host) else {
            return false;
        };
        node.core.ticks_skippable()
            && node
                .drivers
                .iter()
                .all(|(ups, key)| match net.drivers.get(key) {
                    None => !node.linked.contains(ups),
                    Some(DriverNode::Dummy { .. }) => node.linked.contains(ups),
                    Some(_) => false,
                })
    }

    /// upsd on `host` connects to the drivers it is not linked to (as its driver links
    /// retry every `DRIVER_RETRY`).
    fn link_drivers(&self, host: &str) {
        let mut actions = Vec::new();
        {
            let mut net = self.net.borrow_mut();
            let Net { upsd, drivers, .. } = &mut *net;
            let Some(node) = upsd.get_mut(host) else {
                return;
            };
            let now = self.clock.now() - node.start;
            for (ups, key) in &node.drivers {
                if node.linked.contains(ups) || !drivers.contains_key(key) {
                    continue;
                }
                node.linked.insert(*ups);
                actions.extend(node.core.driver_connected_now(now, *ups));
            }
        }
        self.perform(host, actions);
    }

    /// The driver with socket `socket` on `host` stopped.
    fn driver_gone(&self, host: &str, socket: &str) {
        let actions = {
            let mut net = self.net.borrow_mut();
            net.drivers.remove(&(host.to_string(), socket.to_string()));
            let Some(node) = net.upsd.get_mut(host) else {
                return;
            };
            match node.ups_of(socket) {
                Some(ups) if node.linked.remove(&ups) => node.core.driver_disconnected(ups),
                _ => Vec::new(),
            }
        };
        self.perform(host, actions);
    }

    /// upsmon on `host` closes connection `id` (upsd hears of it unless the link toward
    /// it is cut).
    fn close(&self, id: u64) {
        let (host, actions) = {
            let mut net = self.net.borrow_mut();
            let alive = net.conn_alive(id);
            let Some(conn) = net.conns.remove(&id) else {
                return;
            };
            if !alive || net.is_cut(&conn.client_host, &conn.server_host) {
                return;
            }
            let Some(node) = net.upsd.get_mut(&conn.server_host) else {
                return;
            };
            (conn.server_host.clone(), node.core.client_disconnected(id))
        };
        self.perform(&host, actions);
    }

    /// Opens a connection from `from` to upsd on `to`.
    async fn open(&self, from: &str, to: &str) -> io::Result<u64> {
        let refused = || io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused");
        let (latency, host_down) = {
            let net = self.net.borrow();
            if net.is_cut(from, to) || net.is_cut(to, from) {
                return Err(refused());
            }
            (net.latency(from, to), net.down.contains(to))
        };
        if host_down {
            // Nobody answers the SYN of a host that is off: upsmon gives up.
            self.clock
                .sleep(nut_bins::upsmon::CONNECT_TIMEOUT.as_millis() as u64)
                .await;
            return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timeout"));
        }
        // The SYN travels; a host without a listening upsd refuses it.
        self.clock.sleep(latency).await;
        if !self.net.borrow().upsd.contains_key(to) {
            self.clock.sleep(latency).await;
            return Err(refused());
        }
        let id = {
            let mut net = self.net.borrow_mut();
            let addr = net.addresses.get(from).cloned().unwrap_or_default();
            net.next_conn += 1;
            let id = net.next_conn;
            let Some(node) = net.upsd.get_mut(to) else {
                return Err(refused());
            };
            let now = self.clock.now() - node.start;
            node.core.client_connected(now, id, &addr);
            let incarnation = node.incarnation;
            net.conns.insert(
                id,
                Conn {
                    client_host: from.to_string(),
                    server_host: to.to_string(),
                    incarnation,
                    closed: false,
                },
            );
            id
        };
        self.clock.sleep(latency).await;
        Ok(id)
    }

    /// STARTTLS accepted on connection `id`: a real handshake between the client's and
    /// upsd's TLS settings, in memory, taking two round trips.
    async fn start_tls(
        &self,
        id: u64,
        connector: Option<&nut_bins::tls::Connector>,
        name: &str,
    ) -> io::Result<()> {
        let Some(connector) = connector else {
            return Err(io::Error::other(
                "STARTTLS accepted but no TLS client is set up",
            ));
        };
        let latency = {
            let net = self.net.borrow();
            let conn = net
                .conns
                .get(&id)
                .ok_or_else(|| io::Error::other("closed"))?;
            net.latency(&conn.client_host, &conn.server_host)
        };
        self.clock.sleep(latency.saturating_mul(4)).await;
        let mut net = self.net.borrow_mut();
        let alive = net.conn_alive(id);
        let (server, client) = match net.conns.get(&id) {
            Some(c) if alive => (c.server_host.clone(), id),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "Server disconnected",
                ))
            }
        };
        let node = net.upsd.get_mut(&server).expect("conn_alive checked it");
        let Some(acceptor) = &node.tls else {
            return Err(io::Error::other("upsd has no TLS set up"));
        };
        nut_bins::tls::handshake_in_memory(connector, acceptor, name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        node.core.client_tls_established(client);
        Ok(())
    }

    /// Sends one request line on connection `id` and reads its one-line reply.
    async fn request(&self, id: u64, line: &str) -> io::Result<String> {
        let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "Server disconnected");
        let timeout = || io::Error::new(io::ErrorKind::TimedOut, "read timeout");
        let reply_timeout_ms = nut_bins::lines::REPLY_TIMEOUT.as_millis() as u64;
        let sent = self.clock.now();
        let (from, to, latency) = {
            let net = self.net.borrow();
            let Some(conn) = net.conns.get(&id) else {
                return Err(eof());
            };
            (
                conn.client_host.clone(),
                conn.server_host.clone(),
                net.latency(&conn.client_host, &conn.server_host),
            )
        };
        let deadline = sent.saturating_add(reply_timeout_ms);
        let give_up = |fast: &Fast| fast.clock.sleep_until(deadline);
        if !self.net.borrow().conn_alive(id) {
            return Err(eof());
        }
        if self.net.borrow().is_cut(&from, &to) {
            give_up(self).await;
            return Err(timeout());
        }
        // The request arrives (and takes effect) even when its reply will come too late.
        self.clock.sleep(latency).await;
        let (reply, actions) = {
            let mut net = self.net.borrow_mut();
            if !net.conn_alive(id) {
                return Err(eof());
            }
            let node = net.upsd.get_mut(&to).expect("conn_alive checked it");
            let now = self.clock.now() - node.start;
            answer(node, id, line, now)
        };
        self.perform(&to, actions);
        let late = self.clock.now().saturating_add(latency) > deadline;
        if self.net.borrow().is_cut(&to, &from) || reply.is_empty() || late {
            give_up(self).await;
            return Err(timeout());
        }
        self.clock.sleep(latency).await;
        let line = reply.lines().next().unwrap_or_default().to_string();
        Ok(line)
    }
}

/// upsd on `node` answers `line` from `client` at `now` (its time) as upsd's shell
/// answers: the first line, from the tokenizer's borrowed words (a rejected line gets no
/// reply: the request times out). The reply, and the other actions.
fn answer(node: &mut UpsdNode, client: ClientId, line: &str, now: u64) -> (String, Vec<Action>) {
    let mut reply = String::new();
    let mut actions = Vec::new();
    let mut answered = false;
    let mut tokenizer = Tokenizer::for_line(line.len());
    for bytes in [line.as_bytes(), b"\n".as_slice()] {
        tokenizer.feed_with(bytes, |l| {
            if answered {
                return;
            }
            answered = true;
            actions = node.core.client_tokens(now, client, &l, &mut reply);
        });
    }
    let mut others = Vec::new();
    for action in actions {
        match action {
            Action::Reply { client: c, text } if c == client => reply.push_str(&text),
            Action::Close { client: c } if c == client => others.push(Action::Close { client: c }),
            other => others.push(other),
        }
    }
    (reply, others)
}

/// The words of a client request line, as upsd's tokenizer reads them.
fn request_words(line: &str) -> Vec<String> {
    let mut tokenizer = Tokenizer::new();
    let mut words: Option<Vec<String>> = None;
    for bytes in [line.as_bytes(), b"\n"] {
        tokenizer.feed_with(bytes, |l| {
            if words.is_none() {
                words = Some(l.words.iter().map(|w| w.to_string()).collect());
            }
        });
    }
    words.unwrap_or_default()
}

/// The words of driver-socket lines, as upsd's tokenizer reads them, each handed to `each`.
fn driver_words(lines: &[DriverLine], mut each: impl FnMut(&[&str])) {
    let mut tokenizer = Tokenizer::new();
    for line in lines {
        tokenizer.feed_with(line.format().as_bytes(), |l| {
            if !l.words.is_empty() && l.error.is_none() {
                each(l.words);
            }
        });
    }
}

// ---------------------------------------------------------------------------------
// The daemons, as the binaries' shells run them.

/// dummy-ups on `host` for `ups`.
async fn dummy_ups(fast: Rc<Fast>, host: String, ups: String) {
    let sys = fast.sys(&host, "dummy-ups");
    let wiring = match nut_bins::driver::wire(&sys, &nut_env(), &driver_args(&ups)) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let nut_bins::driver::SourceSpec::File(path) = &wiring.source else {
        return fast.record(
            &host,
            WorldEvent::ProcessFailed {
                error: "repeater mode is not modelled by the fast driver".to_string(),
            },
        );
    };
    let config = wiring.config;
    let socket = format!("dummy-ups-{}", config.ups);
    sys.event(Event::DriverListening {
        socket: socket.clone(),
    });
    let key = (host.clone(), socket.clone());
    fast.net.borrow_mut().drivers.insert(
        key.clone(),
        DriverNode::Dummy {
            state: nut_bins::driver::initial_state(&config),
            device: DummyDevice::new(b"", config.mode),
        },
    );
    let file = (host.clone(), path.clone());
    let mut source = SimFileSource::new(sys, path);
    let start = fast.clock.now();
    let period = (config.pollinterval_s * 1000)
        .saturating_add(nut_bins::driver::DUMMY_EXTRA_SLEEP.as_millis() as u64);
    let mut next_poll = start;
    // The last poll read the file as it was and the device had nothing left to say: the
    // next polls change nothing until the site writes the file.
    let mut quiet = false;
    // After a warp: when the last act skipped would have armed the next timer.
    let mut as_of = None;
    loop {
        if quiet && fast.warp {
            let check = file_reads_as(&file, &key, source.last(), same_file);
            let parked = fast
                .clock
                .quiet_sleep(next_poll, period, 0, Vec::new(), check, false)
                .armed_as_of(as_of.take());
            if let Some(last) = parked.await {
                next_poll = last.saturating_add(period);
                as_of = Some(last);
                continue;
            }
        } else {
            let check = file_reads_as(&file, &key, source.last(), same_status);
            fast.clock
                .sleep_until(next_poll)
                .armed_as_of(as_of.take())
                .status_safe_while(check)
                .await;
        }
        next_poll = next_poll.saturating_add(period);
        let reading = source.read().await;
        let unchanged = matches!(reading, Reading::Unchanged);
        let lines = {
            let mut net = fast.net.borrow_mut();
            let Some(DriverNode::Dummy { state, device }) = net.drivers.get_mut(&key) else {
                return;
            };
            let now = fast.clock.now() - start;
            let lines = match reading {
                Reading::Dead => state.set_stale(true).into_iter().collect(),
                Reading::Changed(text) => {
                    device.reload(&text);
                    device.poll(now, state)
                }
                Reading::Unchanged => device.poll(now, state),
            };
            quiet = unchanged && lines.is_empty() && device.idle();
            lines
        };
        fast.driver_said(&host, &socket, &lines);
    }
}

/// The lines of a dummy-ups file that make a UPS's status and alarm.
fn status_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    // memchr finds the line ends: this check runs at every warp, on a file the site
    // rewrites every second.
    let ends = memchr::memchr_iter(b'\n', text).chain([text.len()]);
    ends.scan(0, move |start, end| {
        let line = text.get(*start..end).unwrap_or_default();
        *start = end + 1;
        Some(line)
    })
    .filter(|line| line.starts_with(b"ups.status") || line.starts_with(b"ups.alarm"))
}

/// Whether two dummy-ups files make the same status and alarm.
fn same_status(a: &[u8], b: &[u8]) -> bool {
    a == b || status_lines(a).eq(status_lines(b))
}

/// Whether two files are the same.
fn same_file(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// A check that dummy-ups's data file (`file`: host and path) still reads as it did
/// when the driver last read `read` (`same` tells: the whole file, or only what makes
/// the status), and that its device (on `driver`) has nothing left to say.
fn file_reads_as(
    file: &(String, String),
    driver: &(String, String),
    read: Option<&[u8]>,
    same: fn(&[u8], &[u8]) -> bool,
) -> QuietCheck {
    let (file, driver, read) = (file.clone(), driver.clone(), read.map(<[u8]>::to_vec));
    Box::new(move |fast: &Fast| {
        let unchanged = {
            let w = fast.world.lock().unwrap_or_else(|e| e.into_inner());
            match (w.files.get(&file), &read) {
                (Some(now), Some(read)) => same(now, read),
                (None, None) => true,
                _ => false,
            }
        };
        unchanged
            && matches!(
                fast.net.borrow().drivers.get(&driver),
                Some(DriverNode::Dummy { device, .. }) if device.idle()
            )
    })
}

/// usbhid-ups on `host` for `ups`: the binary's session (`HidSession`: start-up,
/// polls, reconnection, commands) against the modelled unit, polled as `run_hid` polls.
async fn usbhid_ups(fast: Rc<Fast>, host: String, ups: String) {
    use nut_bins::usbhid::HidSession;
    let sys = fast.sys(&host, "usbhid-ups");
    let wiring = match nut_bins::usbhid::wire(&sys, &nut_env(), &driver_args(&ups)) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let port = SimHidPort::clocked(
        fast.world.clone(),
        &host,
        &ups,
        &crate::harness::hid_device(&ups),
        fast.clock.shared.clone(),
    );
    let start = fast.clock.now();
    let Some(session) = fast.started(
        &host,
        now_or_never(HidSession::start(&sys, &wiring, port)),
        "the modelled HID unit",
    ) else {
        return;
    };
    let socket = format!("{}-{}", nut_core::hidups::DRIVER_NAME, wiring.ups);
    sys.event(Event::DriverListening {
        socket: socket.clone(),
    });
    let key = (host.clone(), socket.clone());
    fast.net.borrow_mut().drivers.insert(
        key.clone(),
        DriverNode::Hid(Box::new(HidNode {
            session,
            sys: sys.clone(),
            ups: wiring.ups.clone(),
        })),
    );
    let period = wiring.pollinterval_s.max(1) * 1000;
    // run_hid polls once right after start-up.
    let mut next_poll = start;
    loop {
        fast.clock.sleep_until(next_poll).await;
        next_poll = next_poll.saturating_add(period);
        let (lines, notes) = {
            let mut net = fast.net.borrow_mut();
            let Some(DriverNode::Hid(node)) = net.drivers.get_mut(&key) else {
                return;
            };
            let now_s = (fast.clock.now() - start) / 1000;
            now_or_never(node.session.update(now_s)).unwrap_or_default()
        };
        nut_bins::qx::report(&sys, &wiring.ups, notes);
        fast.driver_said(&host, &socket, &lines);
    }
}

/// snmp-ups on `host` for `ups`: the binary's session (`SnmpSession`: detection, walks,
/// commands) against the modelled card, walked every pollfreq as `run_snmp` does. A GET
/// the card leaves unanswered costs the link's retries times its timeout on the fast
/// clock, as on turmoil.
async fn snmp_ups(fast: Rc<Fast>, host: String, ups: String) {
    use nut_bins::snmp::SnmpSession;
    use nut_core::snmpups::{key, Reads, Reply, Step, Walk};
    let sys = fast.sys(&host, "snmp-ups");
    let wiring = match nut_bins::snmp::wire(&sys, &nut_env(), &driver_args(&ups)) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let port = SimSnmpPort::clocked(
        fast.world.clone(),
        &host,
        &ups,
        &crate::harness::snmp_card(&ups),
        fast.clock.shared.clone(),
    );
    let start = fast.clock.now();
    let Some(session) = fast.started(
        &host,
        now_or_never(SnmpSession::start(&sys, &wiring, port)),
        "the modelled SNMP card",
    ) else {
        return;
    };
    let socket = format!("{}-{}", nut_bins::snmp::DRIVER_NAME, wiring.ups);
    sys.event(Event::DriverListening {
        socket: socket.clone(),
    });
    let key_ = (host.clone(), socket.clone());
    fast.net.borrow_mut().drivers.insert(
        key_.clone(),
        DriverNode::Snmp(Box::new(SnmpNode {
            session,
            sys: sys.clone(),
            ups: wiring.ups.clone(),
            busy: false,
            queued: Vec::new(),
        })),
    );
    let period = wiring.pollinterval_s.max(1) * 1000;
    let walk_every = wiring.options.pollfreq_s.saturating_mul(1000);
    let timeout_cost = (u64::from(wiring.options.retries) + 1)
        .saturating_mul(wiring.options.timeout_s.max(1))
        .saturating_mul(1000);
    let mut next_poll = start;
    let mut next_walk = start;
    loop {
        fast.clock.sleep_until(next_poll).await;
        next_poll = next_poll.saturating_add(period);
        if fast.clock.now() < next_walk {
            continue;
        }
        // One walk, round by round; each unanswered GET costs its timeouts.
        let mut reads = Reads::new();
        let mut notes = Vec::new();
        let walked = loop {
            let (step, silent) = {
                let mut net = fast.net.borrow_mut();
                let Some(DriverNode::Snmp(node)) = net.drivers.get_mut(&key_) else {
                    return;
                };
                let s = &mut node.session;
                match s.driver.walk(&mut s.state, Walk::Update, &reads) {
                    Step::Done(walked) => (Some(walked), 0),
                    Step::Need(oids) => {
                        let mut silent = 0u64;
                        for oid in oids {
                            let _ = now_or_never(s.link.gather(
                                vec![oid.clone()],
                                &mut reads,
                                &mut notes,
                                true,
                            ));
                            if reads.get(key(&oid)) == Some(&Reply::Timeout) {
                                silent += 1;
                            }
                        }
                        (None, silent)
                    }
                }
            };
            if silent > 0 {
                if let Some(DriverNode::Snmp(node)) = fast.net.borrow_mut().drivers.get_mut(&key_) {
                    node.busy = true;
                }
                fast.clock.sleep(timeout_cost.saturating_mul(silent)).await;
            }
            if let Some(walked) = step {
                break walked;
            }
        };
        let (lines, more, queued) = {
            let mut net = fast.net.borrow_mut();
            let Some(DriverNode::Snmp(node)) = net.drivers.get_mut(&key_) else {
                return;
            };
            node.busy = false;
            let (lines, more) = node.session.walked(walked);
            (lines, more, std::mem::take(&mut node.queued))
        };
        notes.extend(more);
        // As run_snmp: NUT walks once strictly past lastpoll + pollfreq.
        next_walk = fast
            .clock
            .now()
            .saturating_add(walk_every)
            .saturating_add(1000);
        nut_bins::qx::report(&sys, &wiring.ups, notes);
        fast.driver_said(&host, &socket, &lines);
        // What upsd sent during the walk, answered now (as run_snmp's loop does).
        for line in queued {
            let reply = {
                let mut net = fast.net.borrow_mut();
                let Some(driver) = net.drivers.get_mut(&key_) else {
                    return;
                };
                driver.handle(&line)
            };
            let lines: Vec<DriverLine> = reply.reply.into_iter().chain(reply.broadcast).collect();
            fast.driver_said(&host, &socket, &lines);
        }
    }
}

/// upsd on `host`: its core, ticked every `TICK_INTERVAL_MS`, linking its drivers.
async fn upsd(fast: Rc<Fast>, host: String) {
    let sys = fast.sys(&host, "upsd");
    let wiring = match nut_bins::upsd::wire(&sys, &nut_env(), fast.seed) {
        Ok(wiring) => wiring,
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    for addr in &wiring.runtime.listen {
        sys.event(Event::Listening { addr: addr.clone() });
    }
    let start = fast.clock.now();
    {
        let mut net = fast.net.borrow_mut();
        net.next_incarnation += 1;
        let incarnation = net.next_incarnation;
        let drivers = wiring
            .runtime
            .core
            .driver_sockets()
            .into_iter()
            .map(|(ups, socket)| (ups, (host.clone(), socket)))
            .collect();
        net.upsd.insert(
            host.clone(),
            UpsdNode {
                core: wiring.runtime.core,
                tls: wiring.runtime.tls,
                sys,
                incarnation,
                linked: BTreeSet::new(),
                start,
                drivers,
            },
        );
    }
    let retry_ms = nut_bins::upsd::DRIVER_RETRY.as_millis() as u64;
    let mut next_tick = start;
    let mut next_link = start;
    // After a warp: when the last tick skipped would have armed the next timer.
    let mut as_of = None;
    loop {
        let now = fast.clock.now();
        if now >= next_link {
            fast.link_drivers(&host);
            next_link = now + retry_ms;
        }
        if now >= next_tick {
            let actions = {
                let mut net = fast.net.borrow_mut();
                let Some(node) = net.upsd.get_mut(&host) else {
                    return;
                };
                node.core.tick(now - node.start)
            };
            fast.perform(&host, actions);
            next_tick = now + TICK_INTERVAL_MS;
        }
        if next_tick == next_link && retry_ms == TICK_INTERVAL_MS && fast.upsd_quiet(&host) {
            let parked = fast.clock.quiet_sleep(
                next_tick,
                TICK_INTERVAL_MS,
                0,
                Vec::new(),
                Box::new({
                    let host = host.clone();
                    move |fast: &Fast| fast.upsd_quiet(&host)
                }),
                false,
            );
            if let Some(last) = parked.armed_as_of(as_of.take()).await {
                let mut net = fast.net.borrow_mut();
                let Some(node) = net.upsd.get_mut(&host) else {
                    return;
                };
                let start = node.start;
                node.core.skip_ticks(next_tick - start, last - start);
                next_tick = last + TICK_INTERVAL_MS;
                next_link = next_tick;
                as_of = Some(last);
            }
        } else {
            fast.clock
                .sleep_until(next_tick.min(next_link))
                .armed_as_of(as_of.take())
                .await;
        }
    }
}

/// upsmon on `host`, as `nut_bins::upsmon::run` runs it (no TLS, no reload).
async fn upsmon(fast: Rc<Fast>, host: String, phase_ms: u64) {
    if phase_ms > 0 {
        fast.clock.sleep(phase_ms).await;
    }
    let sys = fast.sys(&host, "upsmon");
    let (mut conf, mut tls) = match nut_bins::upsmon::wire(&sys, &nut_env()) {
        Ok(wiring) => (wiring.conf, wiring.tls),
        Err(error) => return fast.record(&host, WorldEvent::ProcessFailed { error }),
    };
    let mailbox = fast
        .mailboxes
        .borrow_mut()
        .entry(host.clone())
        .or_default()
        .clone();
    now_or_never(check_powerdownflag_at_start(&sys, &mut conf));
    let start = fast.clock.now();
    let now = || fast.clock.now() - start;
    let mut core = UpsmonCore::new(now(), conf.clone());
    let mut conns: Vec<Option<u64>> = conf.monitors.iter().map(|_| None).collect();
    let mut fsd = false;
    // The last poll cycle, if it changed nothing (see `Quiet`).
    let mut steady: Option<Rc<Cycle>> = None;
    // After a warp: when the last poll skipped would have armed the next timer.
    let mut as_of = None;
    loop {
        for signal in mailbox.take() {
            match signal {
                SignalName::Fsd => {
                    sys.event(Event::Signal {
                        number: 10,
                        what: "User requested FSD",
                    });
                    fsd = true;
                }
                SignalName::Stop => {
                    sys.event(Event::Signal {
                        number: 15,
                        what: "exiting",
                    });
                    close_all(&fast, &mut conns);
                    return;
                }
                SignalName::Reload => {
                    sys.event(Event::Signal {
                        number: 1,
                        what: "User requested RELOAD",
                    });
                    match nut_bins::upsmon::wire(&sys, &nut_env()) {
                        Ok(wiring) => {
                            steady = None;
                            reload(&fast, &sys, &mut core, &mut conf, &mut conns, wiring.conf);
                            tls = wiring.tls;
                        }
                        Err(error) => sys.event(Event::ReloadFailed { error }),
                    }
                }
            }
        }
        if fsd {
            core.user_fsd();
        }
        match core.next_command(now()) {
            Command::PollAll => {
                let began = fast.clock.now();
                let mut cycle = Cycle {
                    asked: Vec::new(),
                    results: Vec::new(),
                    end: 0,
                };
                let mut clean = true;
                for (index, monitor) in conf.monitors.iter().enumerate() {
                    let login = (&conf, tls.as_ref());
                    clean &= conns[index].is_some();
                    let outcome = poll_one(
                        &fast,
                        &sys,
                        &host,
                        login,
                        monitor,
                        &mut conns[index],
                        &mut cycle.asked,
                    )
                    .await;
                    clean &= matches!(
                        outcome,
                        PollOutcome::Status(_) | PollOutcome::StatusWithAlarm(..)
                    );
                    cycle
                        .results
                        .push((fast.clock.now() - began, outcome.clone()));
                    core.poll_result(now(), index, outcome);
                }
                core.end_poll_cycle(now());
                cycle.end = fast.clock.now() - began;
                for asked in &mut cycle.asked {
                    asked.arrival -= began;
                }
                steady = clean.then(|| Rc::new(cycle));
            }
            Command::SleepUntil(at) => {
                let wake = start.saturating_add(at);
                let quiet = steady
                    .clone()
                    .filter(|_| fast.warp && !fsd && mailbox.pending.borrow().is_empty())
                    .and_then(|cycle| Some((cycle.period(&core, at)?, cycle)))
                    .filter(|(period, cycle)| {
                        period.saturating_add(cycle.end) < nut_core::upsd::CLIENT_IDLE_TIMEOUT_MS
                    });
                let armed = as_of.take();
                match quiet {
                    Some((period, cycle)) => {
                        let wait = Parked {
                            start,
                            at,
                            period,
                            armed,
                        };
                        as_of = park(&fast, &host, &mailbox, &mut core, wait, &cycle).await;
                    }
                    None => {
                        let sleep = fast.clock.sleep_until(wake).armed_as_of(armed);
                        first_of(mailbox.wait(), sleep).await
                    }
                }
            }
            Command::SetFsd(primaries) => {
                for index in primaries {
                    let monitor = &conf.monitors[index];
                    let request = format_request(&["FSD", &monitor.ups]);
                    let reply = ask(&fast, &mut conns[index], request.trim_end()).await;
                    sys.event(fsd_event(&monitor.system, reply));
                }
                core.fsd_sent(now());
            }
            Command::QueryNumLogins(primaries) => {
                let mut max = Some(0);
                for index in primaries {
                    let monitor = &conf.monitors[index];
                    let request = format_request(&["GET", "NUMLOGINS", &monitor.ups]);
                    let reply = ask(&fast, &mut conns[index], request.trim_end()).await;
                    max = most_logins(max, reply);
                }
                core.numlogins_result(now(), max);
            }
            Command::RunShutdown {
                powerdownflag,
                shutdowncmd,
            } => {
                if let Some(path) = &powerdownflag {
                    now_or_never(write_powerdownflag(&sys, path));
                }
                let linger = match conf.shutdownexit {
                    ShutdownExit::Yes => Some(0),
                    ShutdownExit::No => None,
                    ShutdownExit::AfterSeconds(s) => Some(s.saturating_mul(1000)),
                };
                if linger == Some(0) {
                    if conns.iter().any(Option::is_some) {
                        sys.event(Event::LoggedOut);
                    }
                    close_all(&fast, &mut conns);
                }
                match &shutdowncmd {
                    Some(cmd) => {
                        sys.event(Event::ShutdownCmdStarted { cmd: cmd.clone() });
                        // As `SimSys::exec`: the site halts the host when the time is up.
                        let duration = fast
                            .world
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .begin_shutdown(&host, fast.clock.now());
                        let keep = stay_logged_in(&fast, &conf, &mut conns, linger);
                        run_while(fast.clock.sleep(duration), keep).await;
                        sys.event(Event::ShutdownCmdFinished { status: 0 });
                    }
                    None => sys.event(Event::NoShutdownCmd),
                }
                core.shutdown_done();
            }
            Command::Exit => {
                close_all(&fast, &mut conns);
                return;
            }
        }
        let events = core.take_events();
        let conf = core.conf();
        for event in events {
            let plan = notify_plan(conf, event.clone());
            if !matches!(event, Event::Notify { .. }) {
                sys.event(event);
                continue;
            }
            if let Some(event) = plan.log {
                sys.event(event);
            }
            if let Some(run) = plan.exec {
                if is_upssched(&run.cmd) {
                    upssched(&fast, &host, &run.args, &run.env);
                    continue;
                }
                let exec = sys.exec(ExecPurpose::Notify, &run.cmd, &run.args, &run.env);
                if let Some(Err(e)) = now_or_never(exec) {
                    sys.event(Event::NotifyCmdFailed {
                        error: e.to_string(),
                    });
                }
            }
        }
    }
}

/// upsmon parked until its next poll at `at` (core time), quiet (see [`Quiet`]): the
/// polls a warp skips are caught up in one step, upsd getting the last one's requests
/// (its clients stay busy) and the core the last one's answers.
async fn park(
    fast: &Fast,
    host: &str,
    mailbox: &Rc<Mailbox>,
    core: &mut UpsmonCore,
    wait: Parked,
    cycle: &Rc<Cycle>,
) -> Option<u64> {
    let Parked {
        start,
        at,
        period,
        armed,
    } = wait;
    let keeps = cycle.asked.iter().map(|a| a.conn).collect();
    let check = {
        let (cycle, mailbox, host) = (cycle.clone(), mailbox.clone(), host.to_string());
        move |fast: &Fast| mailbox.pending.borrow().is_empty() && fast.same_answers(&host, &cycle)
    };
    let parked = fast
        .clock
        .quiet_sleep(
            start.saturating_add(at),
            period,
            cycle.end,
            keeps,
            Box::new(check),
            true,
        )
        .armed_as_of(armed);
    let mut parked = std::pin::pin!(parked);
    let mut signal = std::pin::pin!(mailbox.wait());
    let skipped = std::future::poll_fn(|cx| {
        if let Poll::Ready(skipped) = parked.as_mut().poll(cx) {
            return Poll::Ready(skipped);
        }
        if signal.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    let last = skipped?;
    for asked in &cycle.asked {
        fast.ask_again(asked, last + asked.arrival);
    }
    #[cfg(debug_assertions)]
    let every = {
        let mut every = core.clone();
        let mut t = at;
        while t <= last - start {
            cycle.replay(&mut every, t);
            t += period;
        }
        every
    };
    let polled = cycle.replay(core, last - start);
    debug_assert!(polled, "{host}: a skipped instant was not a poll");
    #[cfg(debug_assertions)]
    assert_eq!(
        format!("{core:?}"),
        format!("{every:?}"),
        "{host}: skipping polls up to {last} ms left upsmon where polling would not"
    );
    Some(last + cycle.end)
}

/// Where a parked upsmon's polls stand: its start (clock time), the next poll and the
/// period (core time), and the time its timer is armed as of (after a warp).
struct Parked {
    start: u64,
    at: u64,
    period: u64,
    armed: Option<u64>,
}

/// upssched as upsmon's NOTIFYCMD on `host`: its AT lines for the notification, run at
/// once (EXECUTE) or sent to the timer daemon, started when a request needs it.
fn upssched(fast: &Fast, host: &str, args: &[String], env: &[(String, String)]) {
    let sys = fast.sys(host, "upssched");
    let conf = match nut_bins::upssched::wire(&sys, &nut_env()) {
        Ok(conf) => conf,
        Err(error) => {
            return sys.event(Event::CmdScriptFailed {
                cmd: "upssched".to_string(),
                error,
            })
        }
    };
    let notice = Notice {
        notifytype: env_value(env, "NOTIFYTYPE"),
        upsname: env_value(env, "UPSNAME"),
        message: args.first().cloned().unwrap_or_default(),
    };
    for step in client_steps(&conf, &notice) {
        match step {
            ClientStep::Execute(run) => {
                now_or_never(nut_bins::upssched::run_cmdscript(&sys, &conf, &run));
            }
            ClientStep::Send(request) => {
                let mut timers = fast.timers.borrow_mut();
                if !timers.contains_key(host) {
                    if !request.needs_daemon() {
                        continue;
                    }
                    let daemon_sys = fast.sys(host, "upssched");
                    daemon_sys.event(Event::TimerDaemonStarted);
                    let now = fast.clock.now();
                    timers.insert(
                        host.to_string(),
                        TimerNode {
                            daemon: TimerDaemon::new(0),
                            conf: conf.clone(),
                            sys: daemon_sys,
                            start: now,
                            wake: Rc::new(Wakeup::default()),
                        },
                    );
                    fast.timer_starts.borrow_mut().push(host.to_string());
                }
                let node = timers.get_mut(host).expect("inserted above");
                let now = fast.clock.now() - node.start;
                let answer = node
                    .daemon
                    .handle(now, &request_words(request.format().trim_end()));
                if let Some((name, seconds, ups, notifytype)) = answer.started {
                    node.sys.event(Event::TimerStarted {
                        name,
                        seconds,
                        ups,
                        notifytype,
                    });
                }
                for name in answer.cancelled {
                    node.sys.event(Event::TimerCancelled { name });
                }
                for run in answer.runs {
                    now_or_never(nut_bins::upssched::run_cmdscript(
                        &node.sys, &node.conf, &run,
                    ));
                }
                node.wake.wake();
            }
        }
    }
}

/// upssched's timer daemon on `host`: expires timers, exits when idle.
async fn timer_daemon(fast: Rc<Fast>, host: String) {
    loop {
        let (wake, at) = {
            let mut timers = fast.timers.borrow_mut();
            let Some(node) = timers.get_mut(&host) else {
                return;
            };
            let now = fast.clock.now() - node.start;
            for run in node.daemon.expire(now) {
                node.sys.event(Event::TimerExpired {
                    name: run.cmd.clone(),
                });
                now_or_never(nut_bins::upssched::run_cmdscript(
                    &node.sys, &node.conf, &run,
                ));
            }
            if node.daemon.should_exit(now) {
                node.sys.event(Event::TimerDaemonExiting);
                timers.remove(&host);
                return;
            }
            node.wake.due.set(false);
            (node.wake.clone(), node.start + node.daemon.next_wakeup(now))
        };
        first_of(wake.wait(), fast.clock.sleep_until(at)).await;
    }
}

/// `upsmon -c reload`, as `nut_bins::upsmon::run` applies it: connections of unchanged
/// MONITOR lines are kept, the others closed; a POWERDOWNFLAG disabled at start stays
/// disabled.
fn reload(
    fast: &Fast,
    sys: &SimSys,
    core: &mut UpsmonCore,
    conf: &mut UpsmonConf,
    conns: &mut Vec<Option<u64>>,
    new: UpsmonConf,
) {
    match core.reload(new.clone()) {
        Ok(kept) => {
            let mut old = std::mem::take(conns);
            *conns = kept
                .iter()
                .zip(&new.monitors)
                .map(|(was, monitor)| match was {
                    Some(i) if same_login(&conf.monitors[*i], monitor) => old[*i].take(),
                    _ => None,
                })
                .collect();
            close_all(fast, &mut old);
            let disabled = conf.powerdownflag.is_none();
            *conf = new;
            if disabled {
                conf.powerdownflag = None;
            }
            sys.event(Event::Reloaded);
        }
        Err(e) => sys.event(Event::ReloadFailed {
            error: e.to_string(),
        }),
    }
}

fn close_all(fast: &Fast, conns: &mut [Option<u64>]) {
    for conn in conns.iter_mut() {
        if let Some(id) = conn.take() {
            fast.close(id);
        }
    }
}

/// While SHUTDOWNCMD runs with SHUTDOWNEXIT no (or a number of seconds), upsmon stays
/// logged in, asking NUMLOGINS every POLLFREQ so upsd does not drop it as idle.
async fn stay_logged_in(
    fast: &Fast,
    conf: &UpsmonConf,
    conns: &mut [Option<u64>],
    linger_ms: Option<u64>,
) {
    if linger_ms == Some(0) {
        return;
    }
    let until = linger_ms.map(|l| fast.clock.now().saturating_add(l));
    let period = conf.pollfreq_s.max(1) * 1000;
    loop {
        let next = fast.clock.now().saturating_add(period);
        if let Some(until) = until.filter(|u| *u <= next) {
            fast.clock.sleep_until(until).await;
            close_all(fast, conns);
            return;
        }
        fast.clock.sleep_until(next).await;
        for (index, monitor) in conf.monitors.iter().enumerate() {
            let request = format_request(&["GET", "NUMLOGINS", &monitor.ups]);
            let _ = ask(fast, &mut conns[index], request.trim_end()).await;
        }
    }
}

async fn ask(fast: &Fast, conn: &mut Option<u64>, line: &str) -> io::Result<String> {
    let Some(id) = *conn else {
        return Err(io::Error::new(io::ErrorKind::NotConnected, "not connected"));
    };
    let result = fast.request(id, line).await;
    if result.is_err() {
        fast.close(id);
        *conn = None;
    }
    result
}

/// A request of an upsmon poll that got its reply: enough to tell whether the same
/// request would get the same reply, and to make it again at a later instant.
#[derive(Clone)]
struct Asked {
    conn: u64,
    server: String,
    latency: u64,
    words: Vec<String>,
    line: String,
    reply: String,
    /// When it reached upsd (from the start of its poll cycle, once the cycle is over).
    arrival: u64,
}

/// [`ask`], noting in `trace` a request that got its reply.
async fn ask_traced(
    fast: &Fast,
    conn: &mut Option<u64>,
    line: &str,
    trace: &mut Vec<Asked>,
) -> io::Result<String> {
    let sent = fast.clock.now();
    let route = conn.and_then(|id| {
        let net = fast.net.borrow();
        let c = net.conns.get(&id)?;
        Some((
            id,
            c.server_host.clone(),
            net.latency(&c.client_host, &c.server_host),
        ))
    });
    let result = ask(fast, conn, line).await;
    if let (Ok(reply), Some((conn, server, latency))) = (&result, route) {
        trace.push(Asked {
            conn,
            server,
            latency,
            words: request_words(line),
            line: line.to_string(),
            reply: reply.clone(),
            arrival: sent + latency,
        });
    }
    result
}

/// One poll cycle of an upsmon that changed nothing: its requests (times from the
/// cycle's start) and the outcome of each UPS, and when the cycle ended.
struct Cycle {
    asked: Vec<Asked>,
    results: Vec<(u64, PollOutcome)>,
    end: u64,
}

impl Cycle {
    /// The period of the polls to come if each gets this cycle's answers and the core
    /// makes nothing of them, or `None`: the core must be `timeless` (then every such
    /// poll does what the next one does), and the next poll, tried on a copy of `core`
    /// at `at`, must change nothing.
    fn period(&self, core: &UpsmonCore, at: u64) -> Option<u64> {
        // From each UPS's answer to the end of the cycle (see `UpsmonCore::timeless`).
        let gaps: Vec<u64> = self
            .results
            .iter()
            .map(|(offset, _)| self.end - offset)
            .collect();
        if !core.timeless(&gaps) {
            return None;
        }
        let mut probe = core.clone();
        if !self.replay(&mut probe, at) || !probe.take_events().is_empty() || !probe.timeless(&gaps)
        {
            return None;
        }
        let Command::SleepUntil(next) = probe.next_command(at + self.end) else {
            return None;
        };
        next.checked_sub(at)
    }

    /// The cycle's outcomes given to `core` as if it polled at `at` (core time);
    /// whether it was time to poll.
    fn replay(&self, core: &mut UpsmonCore, at: u64) -> bool {
        if !matches!(core.next_command(at), Command::PollAll) {
            return false;
        }
        for (index, (offset, outcome)) in self.results.iter().enumerate() {
            core.poll_result(at + offset, index, outcome.clone());
        }
        core.end_poll_cycle(at + self.end);
        true
    }
}

async fn connect(
    fast: &Fast,
    sys: &SimSys,
    host: &str,
    (conf, tls): Login<'_>,
    monitor: &Monitor,
) -> io::Result<u64> {
    let id = fast.open(host, &monitor.host).await?;
    let (plan, connector, tls_name) = tls_plan(conf, tls, monitor);
    let mut session = ClientSession::new(plan);
    let mut next = session.start();
    let result = loop {
        next = match next {
            Next::Send(line) => match fast.request(id, line.trim_end_matches('\n')).await {
                Ok(reply) => session.reply(&reply),
                Err(e) => {
                    fast.close(id);
                    return Err(e);
                }
            },
            Next::UpgradeTls => match fast.start_tls(id, connector, &tls_name).await {
                Ok(()) => session.tls_ready(true),
                Err(e) => {
                    fast.close(id);
                    return Err(e);
                }
            },
            Next::Done(result) => break result,
        };
    };
    match login_events(&monitor.system, result) {
        Ok(events) => {
            for event in events {
                sys.event(event);
            }
            Ok(id)
        }
        Err(e) => {
            fast.close(id);
            Err(e)
        }
    }
}

/// upsmon.conf and its TLS clients: how upsmon logs in.
type Login<'a> = (&'a UpsmonConf, Option<&'a TlsClients>);

async fn poll_one(
    fast: &Fast,
    sys: &SimSys,
    host: &str,
    login: Login<'_>,
    monitor: &Monitor,
    conn: &mut Option<u64>,
    trace: &mut Vec<Asked>,
) -> PollOutcome {
    if conn.is_none() {
        match connect(fast, sys, host, login, monitor).await {
            Ok(id) => *conn = Some(id),
            Err(e) => return PollOutcome::ConnectionLost(e.to_string()),
        }
    }
    let request = format_request(&["GET", "VAR", &monitor.ups, "ups.status"]);
    let status = match ask_traced(fast, conn, request.trim_end(), trace).await {
        Ok(line) => match status_reply(&line) {
            Ok(status) => status,
            Err(outcome) => return outcome,
        },
        Err(e) => return PollOutcome::ConnectionLost(e.to_string()),
    };
    if !has_alarm(&status) {
        return PollOutcome::Status(status);
    }
    let request = format_request(&["GET", "VAR", &monitor.ups, "ups.alarm"]);
    let alarm = match ask_traced(fast, conn, request.trim_end(), trace).await {
        Ok(line) => alarm_reply(&line),
        Err(_) => None,
    };
    PollOutcome::StatusWithAlarm(status, alarm)
}

// ---------------------------------------------------------------------------------
// The run loop.

/// The processes of a host and how each starts.
fn start_process(
    tasks: &mut Tasks,
    fast: &Rc<Fast>,
    scenario: &Scenario,
    host: &str,
    process: &'static str,
    phase_ms: u64,
) {
    let Some(spec) = scenario.hosts.iter().find(|h| h.name == host) else {
        return;
    };
    match process {
        "dummy-ups" => {
            for ups in hosted(scenario, spec) {
                if ups.driver != DriverKind::DummyUps {
                    continue;
                }
                tasks.spawn(
                    (host.to_string(), "dummy-ups"),
                    Box::pin(dummy_ups(fast.clone(), host.to_string(), ups.name.clone())),
                );
            }
        }
        "nutdrv_qx" => {
            for ups in hosted(scenario, spec) {
                if ups.driver != DriverKind::NutdrvQx {
                    continue;
                }
                tasks.spawn(
                    (host.to_string(), "nutdrv_qx"),
                    Box::pin(nutdrv_qx(fast.clone(), host.to_string(), ups.name.clone())),
                );
            }
        }
        "usbhid-ups" => {
            for ups in hosted(scenario, spec) {
                if ups.driver != DriverKind::UsbhidUps {
                    continue;
                }
                tasks.spawn(
                    (host.to_string(), "usbhid-ups"),
                    Box::pin(usbhid_ups(fast.clone(), host.to_string(), ups.name.clone())),
                );
            }
        }
        "apcsmart" => {
            for ups in hosted(scenario, spec) {
                if ups.driver != DriverKind::Apcsmart {
                    continue;
                }
                tasks.spawn(
                    (host.to_string(), "apcsmart"),
                    Box::pin(apcsmart(fast.clone(), host.to_string(), ups.name.clone())),
                );
            }
        }
        "snmp-ups" => {
            for ups in hosted(scenario, spec) {
                if ups.driver != DriverKind::SnmpUps {
                    continue;
                }
                tasks.spawn(
                    (host.to_string(), "snmp-ups"),
                    Box::pin(snmp_ups(fast.clone(), host.to_string(), ups.name.clone())),
                );
            }
        }
        "upsd" if !hosted(scenario, spec).is_empty() => tasks.spawn(
            (host.to_string(), "upsd"),
            Box::pin(upsd(fast.clone(), host.to_string())),
        ),
        "upsmon" => tasks.spawn(
            (host.to_string(), "upsmon"),
            Box::pin(upsmon(fast.clone(), host.to_string(), phase_ms)),
        ),
        _ => {}
    }
}

/// The processes that should run, as (host, process).
type Wanted = BTreeSet<(String, &'static str)>;

/// The processes the fast driver runs, in start order.
const FAST_PROCESSES: [&str; 7] = [
    "dummy-ups",
    "nutdrv_qx",
    "usbhid-ups",
    "snmp-ups",
    "apcsmart",
    "upsd",
    "upsmon",
];

/// Stops `process` (or every process) on `host`, with what stopping does to its peers.
fn stop_process(tasks: &mut Tasks, fast: &Fast, host: &str, process: Option<&str>) {
    tasks.kill(host, process);
    let all = process.is_none();
    if all || process == Some("upsmon") {
        let ids: Vec<u64> = fast
            .net
            .borrow()
            .conns
            .iter()
            .filter(|(_, c)| c.client_host == host)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            fast.close(id);
        }
    }
    if all || process == Some("upsd") {
        fast.net.borrow_mut().upsd.remove(host);
    }
    if all {
        fast.timers.borrow_mut().remove(host);
    }
    if all
        || matches!(
            process,
            Some("dummy-ups" | "nutdrv_qx" | "usbhid-ups" | "snmp-ups" | "apcsmart")
        )
    {
        let prefix = process.map(|p| format!("{p}-"));
        let sockets: Vec<String> = fast
            .net
            .borrow()
            .drivers
            .keys()
            .filter(|(h, s)| h == host && prefix.as_ref().is_none_or(|p| s.starts_with(p)))
            .map(|(_, s)| s.clone())
            .collect();
        for socket in sockets {
            fast.driver_gone(host, &socket);
        }
    }
}

/// Runs a scenario on the fast driver and returns what happened.
pub fn run(scenario: &Scenario) -> Result<Outcome, String> {
    run_with(scenario, true)
}

/// [`run`] taking every instant of every periodic act, none skipped by a warp (see
/// [`Quiet`]): slower, and the same timeline (the tests check it).
pub fn run_every_instant(scenario: &Scenario) -> Result<Outcome, String> {
    run_with(scenario, false)
}

fn run_with(scenario: &Scenario, warp_on: bool) -> Result<Outcome, String> {
    if let Some(missing) = unsupported(scenario) {
        return Err(format!(
            "the fast driver does not model: {missing} (run it on turmoil)"
        ));
    }
    crate::harness::preflight(scenario)?;
    let wall_start = std::time::Instant::now();
    let world: SharedWorld = Arc::new(Mutex::new(World::default()));
    let clock = Rc::new(Clock {
        now: Cell::new(0),
        shared: Arc::new(AtomicU64::new(0)),
        timers: RefCell::new(BTreeMap::new()),
        seq: Cell::new(0),
        quiet: RefCell::new(BTreeMap::new()),
        status_safe: RefCell::new(BTreeMap::new()),
        skipped: Cell::new(0),
        task: Cell::new(0),
    });
    let fast = Rc::new(Fast {
        clock: clock.clone(),
        world: world.clone(),
        seed: scenario.seed,
        net: RefCell::new(Net::default()),
        mailboxes: RefCell::new(BTreeMap::new()),
        timers: RefCell::new(BTreeMap::new()),
        timer_starts: RefCell::new(Vec::new()),
        warp: warp_on,
    });
    let addresses: BTreeMap<String, String> = scenario
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.clone(), format!("192.168.0.{}", i + 1)))
        .collect();
    fast.net.borrow_mut().addresses = addresses.clone();
    fast.net.borrow_mut().base_latency = scenario.tick_ms.max(1);
    let mut site = Site::new(scenario, &world);
    let mut tasks = Tasks::default();
    // Which processes should run (a crash fault clears, a restart sets; a process that
    // exited by itself stays down until crashed and restarted, as on turmoil).
    let mut wanted: Wanted = BTreeSet::new();
    let start_host = |tasks: &mut Tasks, wanted: &mut Wanted, host: &str| {
        let spec = scenario.hosts.iter().find(|h| h.name == host);
        let phase = spec.map_or(0, |h| poll_phase_ms(scenario, h));
        for process in FAST_PROCESSES {
            wanted.insert((host.to_string(), process));
            start_process(tasks, &fast, scenario, host, process, phase);
        }
    };
    for host in &scenario.hosts {
        start_host(&mut tasks, &mut wanted, &host.name);
    }
    let end_ms = secs_to_ms(scenario.duration_s);
    let wall_limit = scenario
        .wall_limit_s
        .map_or(crate::harness::WALL_LIMIT, std::time::Duration::from_secs);
    let mut settled = false;
    let mut now = 0u64;
    loop {
        clock.set(now);
        let controls = site.before(now, &world);
        carry_out(
            controls,
            &mut tasks,
            &fast,
            scenario,
            &mut wanted,
            &start_host,
        );
        if now >= end_ms {
            break;
        }
        if site.settled() {
            settled = true;
            break;
        }
        if wall_start.elapsed() > wall_limit {
            return Err(format!(
                "stopped after {} s of wall time (wall_limit_s) at simulated {}; a longer run needs a larger wall_limit_s",
                wall_limit.as_secs(),
                crate::verdict::clock(now)
            ));
        }
        // Everything due now, until nothing more is.
        loop {
            clock.fire();
            for host in fast.timer_starts.take() {
                tasks.spawn(
                    (host.clone(), "upssched"),
                    Box::pin(timer_daemon(fast.clone(), host)),
                );
            }
            let Some(id) = tasks.next_ready() else {
                if clock.next_timer().is_some_and(|t| t <= now) {
                    continue;
                }
                break;
            };
            let Some((tag, mut task)) = tasks.slots.get_mut(id).and_then(Option::take) else {
                continue;
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                ready: tasks.ready.clone(),
            }));
            let mut cx = Context::from_waker(&waker);
            clock.task.set(id as u64);
            if task.as_mut().poll(&mut cx).is_pending() && tasks.slots[id].is_none() {
                tasks.slots[id] = Some((tag, task));
            }
        }
        let controls = site.after(&world);
        carry_out(
            controls,
            &mut tasks,
            &fast,
            scenario,
            &mut wanted,
            &start_host,
        );
        if tasks.has_ready() {
            continue;
        }
        let due = site.next_due(now, &world);
        let status_due = site.next_status_due(now, &world);
        let bound = |due: Option<u64>| due.map_or(end_ms, |t| t.min(end_ms));
        if warp(&fast, bound(due), bound(status_due)) {
            continue;
        }
        let next = [clock.next_timer(), due, Some(end_ms)]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
            .unwrap_or(end_ms);
        now = next.min(end_ms);
    }
    let w = world.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Outcome {
        timeline: w.timeline.clone(),
        hosts: w.hosts().clone(),
        addresses,
        end_ms: now,
        files: w.files.clone(),
        mains_returned_ms: mains_returned(scenario),
        settled,
        skipped: clock.skipped.get(),
    })
}

/// Carries out the site's controls on the fast driver's processes and network.
fn carry_out(
    controls: Vec<Control>,
    tasks: &mut Tasks,
    fast: &Rc<Fast>,
    scenario: &Scenario,
    wanted: &mut Wanted,
    start_host: &dyn Fn(&mut Tasks, &mut Wanted, &str),
) {
    for control in controls {
        match control {
            Control::Crash(host) => {
                stop_process(tasks, fast, &host, None);
                fast.net.borrow_mut().down.insert(host);
            }
            Control::Bounce(host) => {
                stop_process(tasks, fast, &host, None);
                fast.net.borrow_mut().down.remove(&host);
                start_host(tasks, wanted, &host);
            }
            Control::Fault(action) => match action {
                FaultAction::Partition { a, b } => {
                    let mut net = fast.net.borrow_mut();
                    net.cut.insert((a.clone(), b.clone()));
                    net.cut.insert((b, a));
                }
                FaultAction::Repair { a, b } => {
                    let mut net = fast.net.borrow_mut();
                    net.cut.remove(&(a.clone(), b.clone()));
                    net.cut.remove(&(b, a));
                }
                FaultAction::PartitionOneway { from, to } => {
                    fast.net.borrow_mut().cut.insert((from, to));
                }
                FaultAction::RepairOneway { from, to } => {
                    fast.net.borrow_mut().cut.remove(&(from, to));
                }
                FaultAction::Latency { a, b, ms } => {
                    let key = if a <= b { (a, b) } else { (b, a) };
                    let mut net = fast.net.borrow_mut();
                    if ms == 0 {
                        net.latency.remove(&key);
                    } else {
                        net.latency.insert(key, ms);
                    }
                }
                FaultAction::Crash { host, process } => {
                    if let Some(p) = FAST_PROCESSES.iter().find(|p| **p == process) {
                        wanted.remove(&(host.clone(), *p));
                        stop_process(tasks, fast, &host, Some(p));
                    }
                }
                FaultAction::Restart { host, process } => {
                    if let Some(p) = FAST_PROCESSES.iter().find(|p| **p == process) {
                        let was = wanted.contains(&(host.clone(), *p));
                        wanted.insert((host.clone(), p));
                        // A host that is off starts nothing (its processes start when
                        // it boots).
                        let off = fast.net.borrow().down.contains(&host);
                        if !was && !off && !tasks.running(&host, p) {
                            start_process(tasks, fast, scenario, &host, p, 0);
                        }
                    }
                }
                FaultAction::Signal {
                    host,
                    process,
                    signal,
                } => {
                    if process == "upsmon" && tasks.running(&host, "upsmon") {
                        if let Some(mailbox) = fast.mailboxes.borrow().get(&host) {
                            mailbox.post(signal);
                        }
                    }
                }
                FaultAction::PowerCycle { .. } | FaultAction::WriteFile { .. } => {}
            },
        }
    }
}
