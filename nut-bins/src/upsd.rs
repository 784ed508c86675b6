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
use crate::tls::{upgrade, MaybeTls};
use nut_core::tokenizer::{Line, Tokenizer};
use nut_core::upsd::{Action, ClientId, ReloadOutcome, UpsdCore, TICK_INTERVAL_MS};
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
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
    fn perform(&self, actions: Vec<Action>, own: Option<ClientId>, out: &mut Vec<u8>) -> After {
        let mut after = After::default();
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Reply { client, text } if Some(client) == own => {
                    out.extend_from_slice(text.as_bytes())
                }
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
                Action::Event(event) => self.sys.event(event.to_string()),
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
) -> io::Result<()> {
    let UpsdRuntime {
        listen,
        core,
        maxconn,
        tls,
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
                shared.sys.log(format!("listening on {addr}"));
                bound += 1;
                tasks.spawn(accept_loop::<N, S>(listener, shared.clone()));
            }
            Err(e) => shared.sys.event(format!("not listening on {addr}: {e}")),
        }
    }
    if bound == 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no listening interface available",
        ));
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
                shared.perform(outcome.actions, None, &mut Vec::new());
                shared.sys.event("configuration reloaded".to_string());
            }
            _ = tick.tick() => {
                let actions = shared.core().tick(shared.now());
                shared.perform(actions, None, &mut Vec::new());
                while tasks.try_join_next().is_some() {}
            }
        }
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

async fn accept_loop<N: Net, S: Sys>(listener: N::Listener, shared: Arc<Shared<S>>) {
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
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
            shared.sys.log(format!(
                "MAXCONN ({}) reached, refusing {addr}",
                shared.maxconn
            ));
            drop(stream);
            continue;
        }
        links.next_client += 1;
        let id = links.next_client;
        shared.core().client_connected(shared.now(), id, &addr);
        // The task cannot remove itself from `links` before it is inserted: we hold the lock.
        let handle = tasks.spawn(client_task(id, stream, shared.clone()));
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
    let mut buffer = [0u8; CLIENT_READ_BYTES];
    let mut lines: Vec<Line> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tokenizer.feed(&buffer[..n], &mut lines);
        let mut after = After::default();
        for line in lines.drain(..) {
            // NUT skips a line the tokenizer rejects; the client gets no reply for it.
            if line.error.is_some() {
                continue;
            }
            let actions = shared.core().client_line(shared.now(), id, &line.words);
            after = shared.perform(actions, Some(id), &mut out);
            if after.close || after.start_tls {
                break;
            }
        }
        if !out.is_empty() {
            // Everything answered in this read goes out in one write (NUT writes a LIST
            // line by line, without TCP_NODELAY).
            if stream.write_all(&out).await.is_err() {
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
            lines.clear();
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
                    shared
                        .sys
                        .log(format!("TLS handshake with client {id} failed: {e}"));
                    break;
                }
            }
        }
    }
    let actions = shared.core().client_disconnected(id);
    shared.links().clients.remove(&id);
    shared.perform(actions, None, &mut Vec::new());
}

async fn driver_link<N: Net, S: Sys>(net: N, ups: usize, socket: String, shared: Arc<Shared<S>>) {
    loop {
        if let Ok(stream) = net.connect_local(&socket).await {
            let (mut read_half, mut write_half) = tokio::io::split(stream);
            let (tx, mut rx) = mpsc::channel::<String>(DRIVER_QUEUE_LINES);
            shared.links().drivers.insert(ups, tx);
            let actions = shared.core().driver_connected_now(shared.now(), ups);
            shared.perform(actions, None, &mut Vec::new());
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
                shared.perform(actions, None, &mut Vec::new());
            }
            writer.abort_all();
            shared.links().drivers.remove(&ups);
            let actions = shared.core().driver_disconnected(ups);
            shared.perform(actions, None, &mut Vec::new());
        }
        tokio::time::sleep(DRIVER_RETRY).await;
    }
}
