//! The upsd shell: listeners, client connections, driver connections, the 2 s tick,
//! reload.
//!
//! [`UpsdCore`] is one state machine behind a mutex. Every IO task feeds its input into
//! it synchronously (lock, handle, unlock), so the core still sees one ordered stream of
//! inputs, and a client's reply is written by that client's own task with no hop through
//! another task. That keeps a request at one read, one lock and one write. A client
//! that does not read its replies blocks only its own task (it is not read from either)
//! and is dropped by the idle timeout. Decisions live in `nut_core::upsd`.

use crate::driver::ACCEPT_ERROR_BACKOFF;
use crate::seam::{Net, Sys};
use crate::tls::{acceptor_from_pem, upgrade, MaybeTls};
use crate::wiring::{load, NutEnv, Signal};
use nut_core::config::{parse_ups_conf, parse_upsd_conf, parse_upsd_users, UpsConf, UpsdConf};
use nut_core::desc::Descriptions;
use nut_core::event::Event;
use nut_core::tokenizer::Tokenizer;
use nut_core::upsd::{
    Action, ClientId, ReloadOutcome, UpsDefinition, UpsdCore, UpsdSettings, TICK_INTERVAL_MS,
};
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// Bytes read from a client at a time (requests are short; this bounds per-client memory).
pub const CLIENT_READ_BYTES: usize = 512;
/// Lines queued for one driver before further lines to it are dropped.
pub const DRIVER_QUEUE_LINES: usize = 4096;
/// How long upsd waits before retrying a driver socket that is not there.
pub const DRIVER_RETRY: Duration = Duration::from_secs(2);

/// A configuration re-read by the binary, applied without dropping clients.
pub type Reload = Box<dyn FnOnce(&mut UpsdCore) -> ReloadOutcome + Send>;

/// What upsd needs to run.
pub struct UpsdRuntime {
    /// `host:port` addresses to listen on.
    pub listen: Vec<String>,
    /// The state machine, built from the configs.
    pub core: UpsdCore,
    /// Most simultaneous clients (MAXCONN); further connections are closed at once.
    pub maxconn: usize,
    /// STARTTLS, when CERTFILE is configured (the core must then be built with
    /// `tls_configured`).
    pub tls: Option<TlsAcceptor>,
    /// `host:port` for Prometheus scrapes (`--metrics`; off when `None`). A command-line
    /// flag, not a upsd.conf directive, so upsd.conf stays readable by NUT's upsd.
    pub metrics: Option<String>,
}

/// What a client's task must do after the actions of one of its lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct After {
    close: bool,
    start_tls: bool,
}

struct Shared<S> {
    core: Mutex<UpsdCore>,
    links: Mutex<Links>,
    sys: S,
    start: tokio::time::Instant,
    maxconn: usize,
    tls: Option<TlsAcceptor>,
}

#[derive(Default)]
struct Links {
    clients: BTreeMap<ClientId, AbortHandle>,
    drivers: BTreeMap<usize, mpsc::Sender<String>>,
    driver_tasks: BTreeMap<usize, AbortHandle>,
    next_client: ClientId,
}

impl<S: Sys> Shared<S> {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn core(&self) -> MutexGuard<'_, UpsdCore> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Performs actions; replies for `own` are appended to `out` (written by the caller),
    /// and returns what `own`'s task must do after writing them.
    fn perform(&self, actions: Vec<Action>, own: Option<ClientId>, out: &mut String) -> After {
        let mut after = After::default();
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Reply { client, text } if Some(client) == own => out.push_str(&text),
                // The core only ever replies to the client whose line it is handling.
                Action::Reply { .. } => {}
                Action::Close { client } if Some(client) == own => after.close = true,
                Action::Close { client } => {
                    if let Some(handle) = self.links().clients.remove(&client) {
                        handle.abort();
                    }
                }
                Action::StartTls { client } if Some(client) == own => after.start_tls = true,
                Action::StartTls { .. } => {}
                Action::ToDriver { ups, line } => {
                    if let Some(tx) = self.links().drivers.get(&ups) {
                        let _ = tx.try_send(line.format());
                    }
                }
                Action::Event(event) => self.sys.event(Event::Upsd(event)),
            }
        }
        after
    }
}

/// Runs upsd until the process is stopped. `reloads` delivers re-read configurations.
/// Returns an error if no listener could bind.
pub async fn serve<N: Net, S: Sys>(
    net: N,
    sys: S,
    runtime: UpsdRuntime,
    mut reloads: mpsc::Receiver<Reload>,
    ready: crate::driver::Ready,
) -> io::Result<()> {
    let UpsdRuntime {
        listen,
        core,
        maxconn,
        tls,
        metrics,
    } = runtime;
    let shared = Arc::new(Shared {
        core: Mutex::new(core),
        links: Mutex::new(Links::default()),
        sys,
        start: tokio::time::Instant::now(),
        maxconn,
        tls,
    });
    // Every task lives in a JoinSet owned by this future, so stopping upsd (dropping the
    // future) closes every connection, as a process exit would.
    let mut tasks = JoinSet::new();
    let mut bound = 0;
    for addr in &listen {
        match net.bind(addr).await {
            Ok(listener) => {
                shared.sys.event(Event::Listening { addr: addr.clone() });
                bound += 1;
                tasks.spawn(accept_loop::<N, S>(listener, shared.clone()));
            }
            Err(e) => shared.sys.event(Event::NotListening {
                addr: addr.clone(),
                error: e.to_string(),
            }),
        }
    }
    if bound == 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no listening interface available",
        ));
    }
    if let Some(addr) = &metrics {
        match net.bind(addr).await {
            Ok(listener) => {
                shared
                    .sys
                    .event(Event::MetricsListening { addr: addr.clone() });
                let shared = shared.clone();
                tasks.spawn(crate::http::serve::<N, _, _>(listener, move |target| {
                    let response = metrics_response(&shared.core(), &target);
                    async move { response }
                }));
            }
            Err(e) => shared.sys.event(Event::NotListening {
                addr: addr.clone(),
                error: e.to_string(),
            }),
        }
    }
    // Listening: the binary may now drop privileges, write its PID file and tell its
    // parent or systemd.
    if let Some(ready) = ready {
        ready();
    }
    let sockets = shared.core().driver_sockets();
    for (ups, socket) in sockets {
        start_link(&mut tasks, &net, &shared, ups, socket);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reloads_open = true;
    loop {
        tokio::select! {
            biased;
            reload = reloads.recv(), if reloads_open => {
                let Some(reload) = reload else {
                    // No more reloads can come; keep serving.
                    reloads_open = false;
                    continue;
                };
                let outcome = reload(&mut shared.core());
                for ups in &outcome.stop_links {
                    let mut links = shared.links();
                    links.drivers.remove(ups);
                    if let Some(handle) = links.driver_tasks.remove(ups) {
                        handle.abort();
                    }
                }
                for (ups, socket) in outcome.start_links {
                    start_link(&mut tasks, &net, &shared, ups, socket);
                }
                shared.perform(outcome.actions, None, &mut String::new());
                shared.sys.event(Event::Reloaded);
            }
            _ = tick.tick() => {
                let actions = shared.core().tick(shared.now());
                shared.perform(actions, None, &mut String::new());
                while tasks.try_join_next().is_some() {}
            }
        }
    }
}

/// Paths answered on the metrics address: ours, and nut_exporter's scrape path so a
/// scrape config written for nut_exporter works unchanged (its `?ups=` selects one UPS).
pub const METRICS_PATHS: [&str; 2] = ["/metrics", "/ups_metrics"];

/// The reply to a scrape of `target`, rendered from the core under its lock (a few
/// tens of microseconds: upsd's clients are not held up).
pub fn metrics_response(core: &UpsdCore, target: &str) -> crate::http::Response {
    let (path, query) = crate::http::split_target(target);
    if !METRICS_PATHS.contains(&path.as_str()) {
        return crate::http::Response::not_found();
    }
    let (mut upses, server) = core.metrics();
    if let Some((_, wanted)) = query.iter().find(|(k, _)| k == "ups") {
        upses.retain(|u| u.name.eq_ignore_ascii_case(wanted));
    }
    let selection = nut_core::metrics::Selection::all();
    crate::http::Response {
        status: "200 OK",
        content_type: nut_core::metrics::CONTENT_TYPE,
        body: nut_core::metrics::render(&upses, Some(&server), &selection, core.descriptions()),
    }
}

fn start_link<N: Net, S: Sys>(
    tasks: &mut JoinSet<()>,
    net: &N,
    shared: &Arc<Shared<S>>,
    ups: usize,
    socket: String,
) {
    let handle = tasks.spawn(driver_link(net.clone(), ups, socket, shared.clone()));
    shared.links().driver_tasks.insert(ups, handle);
}

/// Aborts every client task when dropped, that is when upsd stops (the accept loops
/// are dropped with the daemon future). Client tasks are not in a JoinSet, whose entry
/// would cost each held connection another hundred bytes; this guard gives the same
/// guarantee: no connection outlives the daemon.
struct AbortClients<S: Sys>(Arc<Shared<S>>);

impl<S: Sys> Drop for AbortClients<S> {
    fn drop(&mut self) {
        let clients = std::mem::take(&mut self.0.links().clients);
        for handle in clients.into_values() {
            handle.abort();
        }
    }
}

async fn accept_loop<N: Net, S: Sys>(listener: N::Listener, shared: Arc<Shared<S>>) {
    let _abort_clients = AbortClients(shared.clone());
    loop {
        let (stream, addr) = match N::accept(&listener).await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        // Beyond MAXCONN a connection is closed at once: the client fails fast instead
        // of hanging in the backlog (NUT stops accepting), and nothing spins.
        let mut links = shared.links();
        if links.clients.len() >= shared.maxconn {
            drop(links);
            shared.sys.event(Event::MaxConnReached {
                maxconn: shared.maxconn,
                addr,
            });
            drop(stream);
            continue;
        }
        links.next_client += 1;
        let id = links.next_client;
        shared.core().client_connected(shared.now(), id, &addr);
        // The task cannot remove itself from `links` before it is inserted: we hold the lock.
        let handle = tokio::spawn(client_task(id, stream, shared.clone())).abort_handle();
        links.clients.insert(id, handle);
    }
}

async fn client_task<T, S>(id: ClientId, stream: T, shared: Arc<Shared<S>>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    S: Sys,
{
    let mut stream = MaybeTls::Plain(stream);
    let mut tokenizer = Tokenizer::new();
    let mut out = String::new();
    loop {
        let mut after = After::default();
        // The read buffer lives on the stack only while the stream is polled, and the
        // bytes go to the tokenizer right there: an idle connection's task holds no
        // buffer (a third of the memory each held connection cost).
        let read = std::future::poll_fn(|cx| {
            // Uninitialised: zeroing it would cost more than the request itself.
            let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); CLIENT_READ_BYTES];
            let mut buf = tokio::io::ReadBuf::uninit(&mut chunk);
            let stream = std::pin::Pin::new(&mut stream);
            match tokio::io::AsyncRead::poll_read(stream, cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    // Each request is answered as its line completes, from the words
                    // in the tokenizer's buffer (no allocation for a GET VAR).
                    tokenizer.feed_with(buf.filled(), |line| {
                        // Nothing after LOGOUT or STARTTLS is a request.
                        if after.close || after.start_tls {
                            return;
                        }
                        let actions =
                            shared
                                .core()
                                .client_tokens(shared.now(), id, &line, &mut out);
                        after = shared.perform(actions, Some(id), &mut out);
                    });
                    Poll::Ready(Ok(buf.filled().len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
        if !out.is_empty() {
            // Everything answered in this read goes out in one write (NUT writes a LIST
            // line by line, without TCP_NODELAY).
            if stream.write_all(out.as_bytes()).await.is_err() {
                break;
            }
            out.clear();
        }
        if after.close {
            let _ = stream.shutdown().await;
            break;
        }
        if after.start_tls {
            // Anything sent after STARTTLS but before the handshake is not a request.
            tokenizer = Tokenizer::new();
            let Some(acceptor) = shared.tls.clone() else {
                break;
            };
            // Boxed: the handshake state is large and would otherwise size every
            // connection's task, TLS or not.
            match Box::pin(upgrade(stream, &acceptor)).await {
                Ok(tls) => {
                    stream = tls;
                    shared.core().client_tls_established(id);
                }
                Err(e) => {
                    let addr = shared.core().client_addr(id).unwrap_or_default();
                    shared.sys.event(Event::TlsHandshakeFailed {
                        addr,
                        error: e.to_string(),
                    });
                    break;
                }
            }
        }
    }
    let actions = shared.core().client_disconnected(id);
    shared.links().clients.remove(&id);
    shared.perform(actions, None, &mut String::new());
}

async fn driver_link<N: Net, S: Sys>(net: N, ups: usize, socket: String, shared: Arc<Shared<S>>) {
    loop {
        if let Ok(stream) = net.connect_local(&socket).await {
            let (mut read_half, mut write_half) = tokio::io::split(stream);
            let (tx, mut rx) = mpsc::channel::<String>(DRIVER_QUEUE_LINES);
            shared.links().drivers.insert(ups, tx);
            let actions = shared.core().driver_connected_now(shared.now(), ups);
            shared.perform(actions, None, &mut String::new());
            let mut writer = JoinSet::new();
            writer.spawn(async move {
                while let Some(text) = rx.recv().await {
                    if write_half.write_all(text.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
            let mut tokenizer = Tokenizer::new();
            let mut buffer = vec![0u8; 4096];
            let mut lines = Vec::new();
            while let Ok(n) = read_half.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                tokenizer.feed(&buffer[..n], &mut lines);
                let now = shared.now();
                let mut actions = Vec::new();
                {
                    let mut core = shared.core();
                    for line in lines.drain(..) {
                        if line.words.is_empty() || line.error.is_some() {
                            continue;
                        }
                        actions.extend(core.driver_line(now, ups, &line.words));
                    }
                }
                shared.perform(actions, None, &mut String::new());
            }
            writer.abort_all();
            shared.links().drivers.remove(&ups);
            let actions = shared.core().driver_disconnected(ups);
            shared.perform(actions, None, &mut String::new());
        }
        tokio::time::sleep(DRIVER_RETRY).await;
    }
}

/// Most clients when upsd.conf sets no MAXCONN.
pub const DEFAULT_MAXCONN: usize = 16_384;
/// Where Debian installs NUT's description table (used when DATAPATH has none).
pub const SYSTEM_CMDVARTAB: &str = "/usr/share/nut/cmdvartab";

/// upsd's runtime as its config files and environment define it.
pub struct UpsdWiring {
    /// What [`serve`] runs.
    pub runtime: UpsdRuntime,
    /// Where the driver sockets are.
    pub statepath: String,
    /// upsd's PID file.
    pub pidfile: String,
}

/// Reads upsd.conf, ups.conf and upsd.users of `env` and builds upsd's runtime (the
/// one wiring of the binary and the simulation). `seed` seeds the core's tracking IDs.
pub fn wire<S: Sys>(sys: &S, env: &NutEnv, seed: u64) -> Result<UpsdWiring, String> {
    let upsd_conf = load(sys, env, "upsd.conf", parse_upsd_conf)?;
    let ups_conf = load(sys, env, "ups.conf", parse_ups_conf)?;
    let users = load(sys, env, "upsd.users", parse_upsd_users)?;
    let upses = definitions(&ups_conf);
    if upses.is_empty() && !upsd_conf.allow_no_device {
        return Err("at least one UPS must be defined in ups.conf".to_string());
    }
    let table = upsd_conf
        .datapath
        .as_ref()
        .map(|d| format!("{}/cmdvartab", d.trim_end_matches('/')));
    let descriptions = [table, Some(SYSTEM_CMDVARTAB.to_string())]
        .into_iter()
        .flatten()
        .find_map(|path| sys.read_config(&path).ok())
        .map(|text| Descriptions::parse(&text))
        .unwrap_or_else(Descriptions::builtin);
    let tls = match &upsd_conf.certfile {
        None => None,
        Some(path) => {
            let pem = sys
                .read_config(path)
                .map_err(|e| format!("CERTFILE {path}: {e}"))?;
            Some(acceptor_from_pem(path, &pem)?)
        }
    };
    let core = UpsdCore::new(upses, users, settings_of(&upsd_conf), descriptions, seed);
    let listen = upsd_conf
        .listen_or_default()
        .into_iter()
        .map(|l| crate::seam::socket_addr(&l.addr, l.port))
        .collect();
    let statepath = env.statepath(
        ups_conf
            .statepath
            .as_deref()
            .or(upsd_conf.statepath.as_deref()),
    );
    Ok(UpsdWiring {
        pidfile: env.pidfile(&statepath, "upsd.pid"),
        statepath,
        runtime: UpsdRuntime {
            listen,
            core,
            maxconn: upsd_conf.maxconn.unwrap_or(DEFAULT_MAXCONN),
            tls,
            metrics: None,
        },
    })
}

fn definitions(ups_conf: &UpsConf) -> Vec<UpsDefinition> {
    ups_conf
        .upses
        .iter()
        .filter_map(|s| {
            Some(UpsDefinition {
                name: s.name.clone(),
                driver: s.driver.clone()?,
                desc: s.desc.clone(),
            })
        })
        .collect()
}

fn settings_of(upsd_conf: &UpsdConf) -> UpsdSettings {
    UpsdSettings {
        maxage_s: upsd_conf.maxage_s,
        trackingdelay_s: upsd_conf.trackingdelay_s,
        tls_configured: upsd_conf.certfile.is_some(),
    }
}

/// Re-reads ups.conf, upsd.conf (not LISTEN) and upsd.users for `upsd -c reload`.
pub fn wire_reload<S: Sys>(sys: &S, env: &NutEnv) -> Result<Reload, String> {
    let upsd_conf = load(sys, env, "upsd.conf", parse_upsd_conf)?;
    let ups_conf = load(sys, env, "ups.conf", parse_ups_conf)?;
    let users = load(sys, env, "upsd.users", parse_upsd_users)?;
    let upses = definitions(&ups_conf);
    let settings = settings_of(&upsd_conf);
    Ok(Box::new(move |core: &mut UpsdCore| {
        core.reload(upses, users, settings)
    }))
}

/// upsd as a process: wires it from `env`, serves, and handles signals (reload, stop)
/// until stopped. `net_for` gets the state path (the driver sockets' directory).
pub async fn process<N: Net, S: Sys>(
    net_for: impl FnOnce(&str) -> N,
    sys: S,
    env: NutEnv,
    seed: u64,
    signals: mpsc::Receiver<Signal>,
) -> io::Result<()> {
    let wiring = wire(&sys, &env, seed).map_err(io::Error::other)?;
    run_wired(net_for(&wiring.statepath), sys, env, wiring, signals, None).await
}

/// The second half of [`process`], for a shell that does something between wiring and
/// running (the binary writes its PID file).
pub async fn run_wired<N: Net, S: Sys>(
    net: N,
    sys: S,
    env: NutEnv,
    wiring: UpsdWiring,
    mut signals: mpsc::Receiver<Signal>,
    ready: crate::driver::Ready,
) -> io::Result<()> {
    let (reload_tx, reload_rx) = mpsc::channel::<Reload>(4);
    let server = serve(net, sys.clone(), wiring.runtime, reload_rx, ready);
    tokio::pin!(server);
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Reload) => match wire_reload(&sys, &env) {
                    Ok(apply) => {
                        let _ = reload_tx.send(apply).await;
                    }
                    Err(error) => sys.event(Event::ReloadFailed { error }),
                },
                Some(Signal::Stop) => {
                    sys.event(Event::Signal { number: 15, what: "exiting" });
                    return Ok(());
                }
                // upsd has no FSD signal; a closed channel means nobody will signal.
                Some(Signal::Fsd) => {}
                None => return server.await,
            },
            result = &mut server => return result,
        }
    }
}
