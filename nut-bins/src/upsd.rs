//! The upsd shell: listeners, client connections, driver connections, the 2 s tick.
//!
//! One loop owns [`UpsdCore`] and performs its actions; per-connection tasks only pump
//! bytes. A client whose output queue is full (it does not read) is dropped, so a slow
//! or hostile client never stalls the others. Decisions live in `nut_core::upsd`.

use crate::driver::ACCEPT_ERROR_BACKOFF;
use crate::lines::WordReader;
use crate::seam::{Net, Sys};
use nut_core::upsd::{Action, ClientId, UpsdCore, TICK_INTERVAL_MS};
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

/// Replies queued for one client before it counts as not reading and is dropped.
pub const CLIENT_QUEUE_REPLIES: usize = 256;
/// Inputs queued from all connections to the core loop.
pub const CORE_QUEUE_INPUTS: usize = 4096;
/// How long upsd waits before retrying a driver socket that is not there.
pub const DRIVER_RETRY: Duration = Duration::from_secs(2);

/// What upsd needs to run.
pub struct UpsdRuntime {
    /// `host:port` addresses to listen on.
    pub listen: Vec<String>,
    /// The state machine, built from the configs.
    pub core: UpsdCore,
    /// Most simultaneous clients (MAXCONN); further connections are closed at once.
    pub maxconn: usize,
}

enum Input {
    ClientConnected(ClientId, String, mpsc::Sender<Out>, AbortHandle),
    ClientLine(ClientId, Vec<String>),
    ClientGone(ClientId),
    DriverUp(usize, mpsc::Sender<String>),
    DriverLine(usize, Vec<String>),
    DriverDown(usize),
}

enum Out {
    Data(String),
    Close,
}

struct ClientHandle {
    tx: mpsc::Sender<Out>,
    reader: AbortHandle,
}

/// Runs upsd until the process is stopped. Returns an error if no listener could bind.
pub async fn serve<N: Net, S: Sys>(net: N, sys: S, runtime: UpsdRuntime) -> io::Result<()> {
    let UpsdRuntime {
        listen,
        mut core,
        maxconn,
    } = runtime;
    let (input_tx, mut input_rx) = mpsc::channel::<Input>(CORE_QUEUE_INPUTS);
    // Every task lives in a JoinSet owned by this future, so stopping upsd (dropping
    // the future) closes every connection, as a process exit would.
    let mut tasks = JoinSet::new();
    let mut bound = 0;
    for addr in &listen {
        match net.bind(addr).await {
            Ok(listener) => {
                sys.log(format!("listening on {addr}"));
                bound += 1;
                tasks.spawn(accept_loop::<N>(listener, input_tx.clone()));
            }
            Err(e) => sys.event(format!("not listening on {addr}: {e}")),
        }
    }
    if bound == 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no listening interface available",
        ));
    }
    let sockets: Vec<String> = core.ups_definitions().map(|d| d.socket_name()).collect();
    for (ups, socket) in sockets.into_iter().enumerate() {
        tasks.spawn(driver_link(net.clone(), ups, socket, input_tx.clone()));
    }
    drop(input_tx);

    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut clients: BTreeMap<ClientId, ClientHandle> = BTreeMap::new();
    let mut drivers: BTreeMap<usize, mpsc::Sender<String>> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let actions = tokio::select! {
            biased;
            input = input_rx.recv() => {
                let Some(input) = input else { return Ok(()) };
                match input {
                    Input::ClientConnected(id, addr, tx, reader) => {
                        if clients.len() >= maxconn {
                            sys.log(format!("MAXCONN reached, refusing {addr}"));
                            reader.abort();
                            let _ = tx.try_send(Out::Close);
                            continue;
                        }
                        core.client_connected(now(), id, &addr);
                        clients.insert(id, ClientHandle { tx, reader });
                        Vec::new()
                    }
                    Input::ClientLine(id, words) => core.client_line(now(), id, &words),
                    Input::ClientGone(id) => {
                        clients.remove(&id);
                        core.client_disconnected(id)
                    }
                    Input::DriverUp(ups, tx) => {
                        drivers.insert(ups, tx);
                        core.driver_connected_now(now(), ups)
                    }
                    Input::DriverLine(ups, words) => core.driver_line(now(), ups, &words),
                    Input::DriverDown(ups) => {
                        drivers.remove(&ups);
                        core.driver_disconnected(ups)
                    }
                }
            }
            _ = tick.tick() => core.tick(now()),
        };
        perform(&sys, &mut core, &mut clients, &drivers, actions);
    }
}

fn perform<S: Sys>(
    sys: &S,
    core: &mut UpsdCore,
    clients: &mut BTreeMap<ClientId, ClientHandle>,
    drivers: &BTreeMap<usize, mpsc::Sender<String>>,
    actions: Vec<Action>,
) {
    let mut queue = std::collections::VecDeque::from(actions);
    while let Some(action) = queue.pop_front() {
        match action {
            Action::Reply { client, text } => {
                let full = match clients.get(&client) {
                    Some(handle) => handle.tx.try_send(Out::Data(text)).is_err(),
                    None => false,
                };
                if full {
                    sys.log(format!(
                        "client {client} does not read its replies; dropping it"
                    ));
                    if let Some(handle) = clients.remove(&client) {
                        handle.reader.abort();
                    }
                    queue.extend(core.client_disconnected(client));
                }
            }
            Action::Close { client } => {
                if let Some(handle) = clients.remove(&client) {
                    handle.reader.abort();
                    let _ = handle.tx.try_send(Out::Close);
                }
                queue.extend(core.client_disconnected(client));
            }
            Action::StartTls { client } => {
                sys.log(format!(
                    "STARTTLS for client {client} not available in this build"
                ));
            }
            Action::ToDriver { ups, line } => {
                if let Some(tx) = drivers.get(&ups) {
                    let _ = tx.try_send(line.format());
                }
            }
            Action::Event(event) => sys.event(event.to_string()),
        }
    }
}

async fn accept_loop<N: Net>(listener: N::Listener, input: mpsc::Sender<Input>) {
    let mut next_id: ClientId = 0;
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
        next_id += 1;
        let id = next_id;
        let (tx, rx) = mpsc::channel::<Out>(CLIENT_QUEUE_REPLIES);
        let (read_half, write_half) = tokio::io::split(stream);
        tasks.spawn(client_writer(write_half, rx));
        let reader = tasks.spawn(client_reader(id, read_half, input.clone()));
        if input
            .send(Input::ClientConnected(id, addr, tx, reader))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn client_writer<W: AsyncWrite + Unpin>(mut writer: W, mut rx: mpsc::Receiver<Out>) {
    while let Some(out) = rx.recv().await {
        match out {
            Out::Data(text) => {
                // Write every reply that is already queued in one go (one segment for a
                // LIST block instead of NUT's write per line).
                let mut batch = text;
                let mut close = false;
                while let Ok(more) = rx.try_recv() {
                    match more {
                        Out::Data(t) => batch.push_str(&t),
                        Out::Close => {
                            close = true;
                            break;
                        }
                    }
                }
                if writer.write_all(batch.as_bytes()).await.is_err() || close {
                    break;
                }
            }
            Out::Close => break,
        }
    }
    let _ = writer.shutdown().await;
}

async fn client_reader<R: AsyncRead + Unpin>(id: ClientId, reader: R, input: mpsc::Sender<Input>) {
    let mut reader = WordReader::new(reader);
    while let Ok(Some(line)) = reader.next_line().await {
        if line.error.is_some() {
            // NUT skips a line the tokenizer rejects; the client gets no reply for it.
            continue;
        }
        if input.send(Input::ClientLine(id, line.words)).await.is_err() {
            return;
        }
    }
    let _ = input.send(Input::ClientGone(id)).await;
}

async fn driver_link<N: Net>(net: N, ups: usize, socket: String, input: mpsc::Sender<Input>) {
    loop {
        if let Ok(stream) = net.connect_local(&socket).await {
            let (read_half, mut write_half) = tokio::io::split(stream);
            let (tx, mut rx) = mpsc::channel::<String>(CORE_QUEUE_INPUTS);
            if input.send(Input::DriverUp(ups, tx)).await.is_err() {
                return;
            }
            let mut writer = JoinSet::new();
            writer.spawn(async move {
                while let Some(text) = rx.recv().await {
                    if write_half.write_all(text.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
            let mut reader = WordReader::new(read_half);
            while let Ok(Some(line)) = reader.next_line().await {
                if line.words.is_empty() || line.error.is_some() {
                    continue;
                }
                if input
                    .send(Input::DriverLine(ups, line.words))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            writer.abort_all();
            if input.send(Input::DriverDown(ups)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(DRIVER_RETRY).await;
    }
}
