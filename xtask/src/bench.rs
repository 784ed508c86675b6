//! `cargo xtask bench`: our upsd and NUT's upsd side by side, same load, same run.
//!
//! Both servers serve the same dummy-ups data file on 127.0.0.1 (free ports, private
//! config/state directories, processes started and stopped by PID). The load generator
//! is in this process: each connection sends one request, waits for the whole reply,
//! and repeats, like real pollers. Reported: requests per second for GET VAR at 1, 10,
//! 100 and 1000 connections and LIST VAR at 100 connections, p99 latency, the most
//! connections held while still answering, MAXCONN refusal cost, and RSS. Both servers
//! run at once and each throughput row alternates between them ([`REPEATS`] times,
//! median reported), so drift in the machine's speed hits both alike.
//!
//! Fairness of the load itself ([`throughput`]): the clients run on one thread, first
//! come first served; they open their connections a few at a time ([`Opening::Ramp`]),
//! so that both servers serve all of them and latencies compare at the same
//! concurrency; measuring starts once every connection has been answered (or after
//! [`SETTLE_LIMIT`]); the server's CPU is read over the measured window alone; and the
//! connections a server leaves unanswered are counted and show in the p99 of the
//! longest wait per connection. One row opens 1,000 connections at once
//! ([`Opening::AtOnce`]): NUT 2.8.0 then leaves a quarter to a half of them unserved
//! for the whole run, and its per-request p99 covers the others only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long each throughput measurement runs.
const MEASURE: Duration = Duration::from_secs(3);
/// Connections to hold in the capacity test.
const HELD_TARGET: usize = 10_000;
/// Ten GET VARs in one write, as pollers that fetch several variables at once send them;
/// the `LIST` terminator makes the reader wait for all ten replies.
const PIPELINED_GETS: &[u8] = b"GET VAR bench ups.status\nGET VAR bench bench.value00\n\
GET VAR bench bench.value01\nGET VAR bench bench.value02\nGET VAR bench bench.value03\n\
GET VAR bench bench.value04\nGET VAR bench bench.value05\nGET VAR bench bench.value06\n\
GET VAR bench bench.value07\nGET VAR bench bench.value08\nLIST UPS\n";
/// Requests sampled for latency while connections are held.
const HELD_SAMPLES: usize = 500;

struct Server {
    port: u16,
    upsd: Child,
    driver: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in [&mut self.upsd, &mut self.driver] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn dev_file() -> String {
    let mut text =
        String::from("ups.status: OL CHRG\nups.mfr: Bench Corp\nups.model: Bench 1500\n");
    for i in 0..40 {
        text.push_str(&format!("bench.value{i:02}: {}\n", 1000 + i));
    }
    text
}

fn start(
    name: &'static str,
    dir: &Path,
    upsd: &Path,
    driver: &Path,
    maxconn: Option<usize>,
) -> Server {
    start_wrapped(name, dir, upsd, driver, maxconn, &[])
}

/// [`start`], with upsd run under `wrapper` (e.g. valgrind and its options).
fn start_wrapped(
    name: &'static str,
    dir: &Path,
    upsd: &Path,
    driver: &Path,
    maxconn: Option<usize>,
    wrapper: &[String],
) -> Server {
    let port = free_port();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(
        dir.join("ups.conf"),
        "[bench]\n\tdriver = dummy-ups\n\tport = bench.dev\n",
    )
    .unwrap();
    std::fs::write(dir.join("bench.dev"), dev_file()).unwrap();
    let mut upsd_conf = format!("LISTEN 127.0.0.1 {port}\n");
    if let Some(n) = maxconn {
        upsd_conf.push_str(&format!("MAXCONN {n}\n"));
    }
    std::fs::write(dir.join("upsd.conf"), upsd_conf).unwrap();
    std::fs::write(dir.join("upsd.users"), "[u]\n\tpassword = p\n").unwrap();
    let spawn = |program: &Path, args: &[&str]| {
        let mut command = match wrapper.split_first() {
            Some((first, rest)) if program == upsd => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            _ => Command::new(program),
        };
        command
            .args(args)
            .env("NUT_CONFPATH", dir)
            .env("NUT_STATEPATH", dir.join("state"))
            .env("NUT_ALTPIDPATH", dir.join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
    };
    let driver = spawn(driver, &["-a", "bench", "-u", "root", "-F"]);
    std::thread::sleep(Duration::from_secs(2));
    let upsd = spawn(upsd, &["-u", "root", "-F"]);
    let server = Server { port, upsd, driver };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{BufRead, Write};
            let _ = s.write_all(b"GET VAR bench ups.status\n");
            let mut line = String::new();
            let _ = std::io::BufReader::new(s).read_line(&mut line);
            if line.starts_with("VAR") {
                return server;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{name} did not come up on port {port}");
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

async fn one_request(
    reader: &mut BufReader<TcpStream>,
    request: &[u8],
    multi: bool,
    line: &mut String,
) -> std::io::Result<()> {
    reader.get_mut().write_all(request).await?;
    loop {
        line.clear();
        if reader.read_line(line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if !multi || line.starts_with("END LIST") || line.starts_with("ERR") {
            return Ok(());
        }
    }
}

/// Longest wait, before measuring, for every connection to have been answered once.
/// NUT 2.8.0's upsd listens with a backlog of 16 and accepts one connection per pass
/// of its main loop (server/upsd.c), so of 1,000 connections opened at once many are
/// dropped and retried by the kernel with back-off (1, 3, 7, 15 s...); measuring before
/// they are served would leave them out of the latency figures.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);
/// Requests run before the measured window, after every connection was answered.
const WARM_UP: Duration = Duration::from_millis(300);

/// What one throughput measurement saw.
struct Load {
    /// Requests answered per second in the window.
    rps: f64,
    /// Median latency (µs) of the requests sent in the window.
    p50_us: u64,
    /// p99 latency (µs) of the requests sent in the window; a request still unanswered
    /// when the window closes counts with the time it had waited.
    p99_us: u64,
    /// The longest of those latencies (µs).
    max_us: u64,
    /// Connections answered at least once before the window closed.
    answered: usize,
    /// p99 over the connections of each one's longest wait for an answer that came in
    /// the window or was still awaited when it closed (µs): a connection the server
    /// never serves shows here, where it adds only one sample to [`Load::p99_us`].
    worst_p99_us: u64,
    /// The server's CPU time per request answered in the window (µs).
    cpu_us: f64,
}

/// How a load opens its connections.
#[derive(Clone, Copy, PartialEq)]
enum Opening {
    /// At most [`RAMP_CONNECTS`] connections connecting or awaiting their first answer
    /// at a time, as pollers arrive over time: a server with a short listen queue
    /// (NUT's 16) then serves every connection, and latencies compare at the same
    /// concurrency.
    Ramp,
    /// All at once: shows what a server does with a burst (NUT 2.8.0 drops SYNs beyond
    /// its queue of 16, and the kernel retries them with back-off).
    AtOnce,
}

/// Connections a ramped load opens at a time ([`Opening::Ramp`]): half NUT's queue.
const RAMP_CONNECTS: usize = 8;

/// `conns` closed-loop clients against the server at `port` (process `pid`).
///
/// The load generator runs on one thread (a current-thread runtime, see [`client_rt`])
/// so it serves its connections first come, first served: a work-stealing runtime
/// reorders wake-ups under overload and adds its own queueing to the tail latency.
async fn throughput(
    port: u16,
    pid: u32,
    conns: usize,
    request: &'static [u8],
    multi: bool,
    opening: Opening,
) -> Load {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ramp =
        (opening == Opening::Ramp).then(|| Arc::new(tokio::sync::Semaphore::new(RAMP_CONNECTS)));
    let measuring = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (measuring, count, answered) = (measuring.clone(), count.clone(), answered.clone());
        let mut stop = stop_rx.clone();
        let ramp = ramp.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut worst = 0;
            let mut permit = match ramp {
                Some(ramp) => tokio::select! {
                    biased;
                    _ = stop.changed() => return (latencies, None),
                    permit = ramp.acquire_owned() => permit.ok(),
                },
                None => None,
            };
            // The first request's wait counts from the connect: a connection the
            // server leaves in its listen queue (or to SYN retries) waits all along.
            let connecting = Instant::now();
            let stream = tokio::select! {
                biased;
                _ = stop.changed() => {
                    return (latencies, Some(connecting.elapsed().as_micros() as u64));
                }
                stream = TcpStream::connect(("127.0.0.1", port)) => stream,
            };
            let Ok(stream) = stream else {
                return (latencies, None);
            };
            let _ = stream.set_nodelay(true);
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            let mut first = Some(connecting);
            while !*stop.borrow() {
                let started = first.unwrap_or_else(Instant::now);
                let sampled = measuring.load(Ordering::Relaxed);
                tokio::select! {
                    biased;
                    _ = stop.changed() => {
                        let waited = started.elapsed().as_micros() as u64;
                        if sampled {
                            latencies.push(waited);
                        }
                        worst = worst.max(waited);
                        break;
                    }
                    reply = one_request(&mut reader, request, multi, &mut line) => {
                        if reply.is_err() {
                            break;
                        }
                    }
                }
                if first.take().is_some() {
                    answered.fetch_add(1, Ordering::Relaxed);
                    drop(permit.take());
                }
                let took = started.elapsed().as_micros() as u64;
                // Throughput and CPU per request count what completes in the window;
                // latencies, the requests sent in it.
                if measuring.load(Ordering::Relaxed) {
                    worst = worst.max(took);
                    count.fetch_add(1, Ordering::Relaxed);
                }
                if sampled {
                    latencies.push(took);
                }
            }
            (latencies, Some(worst))
        }));
    }
    let settle_until = Instant::now() + SETTLE_LIMIT;
    while (answered.load(Ordering::Relaxed) as usize) < conns && Instant::now() < settle_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(WARM_UP).await;
    let ticks = cpu_ticks(pid);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let done = count.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    // /proc ticks are 10 ms: about 0.3 % of a 3 s window at one core.
    let used_us = (cpu_ticks(pid) - ticks) as f64 * 10_000.0;
    let answered = answered.load(Ordering::Relaxed) as usize;
    let _ = stop_tx.send(true);
    let mut all = Vec::new();
    let mut worst = Vec::new();
    for task in tasks {
        let (latencies, longest) = task.await.unwrap_or_default();
        all.extend(latencies);
        // A connection that could not connect waited for ever.
        worst.push(longest.unwrap_or(u64::MAX));
    }
    Load {
        rps: done as f64 / elapsed,
        p50_us: percentile(&mut all, 50.0),
        p99_us: percentile(&mut all, 99.0),
        max_us: all.iter().max().copied().unwrap_or(0),
        answered,
        worst_p99_us: percentile(&mut worst, 99.0),
        cpu_us: used_us / (done as f64).max(1.0),
    }
}

/// The load generator's runtime: one thread, first come first served (see
/// [`throughput`]); the servers under test get the machine's other core.
fn client_rt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let index = ((values.len() as f64 - 1.0) * p / 100.0).round() as usize;
    values[index]
}

/// How long one connect of the capacity test may take: longer means the server no
/// longer accepts (its listen queue is full and the kernel is retrying SYNs). The
/// count can also end early on a SYN dropped while the server was not scheduled (the
/// client opens connections flat out on both cores: ours once stopped at 4,773); a
/// retry or a longer limit made NUT 2.8.0 stop answering its first connection while
/// its accept queue was worked through, so its count fell from about 240 to 0.
const HELD_CONNECT_LIMIT: Duration = Duration::from_millis(500);

/// What holding idle connections showed.
struct Held {
    /// Connections that were accepted and answered (checked on every 100th).
    answering: usize,
    /// p99 of GET VAR on a fresh connection while they are held (µs).
    p99_us: u64,
    /// Server RSS growth per answering connection (bytes).
    bytes_per_conn: u64,
}

/// [`held`] for [`HELD_TARGET`] connections, opened from a two-thread runtime (a
/// single thread opening 10,000 connections one by one measures itself), from a
/// loopback address of their own (`127.0.0.<10 + which>`): the load phases before leave
/// tens of thousands of 127.0.0.1 ports in TIME_WAIT, and the ephemeral range would
/// run out before the server does.
fn held_on_threads(port: u16, pid: u32, which: u8) -> Held {
    let source = std::net::Ipv4Addr::new(127, 0, 0, 10 + which);
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(held(port, pid, HELD_TARGET, source)),
        Err(_) => Held {
            answering: 0,
            p99_us: 0,
            bytes_per_conn: 0,
        },
    }
}

/// Connects to 127.0.0.1:`port` from `source`.
async fn connect_from(source: std::net::Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    socket
        .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
        .await
}

/// Opens up to `target` idle connections from `source`, then samples GET VAR latency on
/// a fresh one.
async fn held(port: u16, pid: u32, target: usize, source: std::net::Ipv4Addr) -> Held {
    let rss_before = rss_kb(pid, "VmRSS:");
    let mut held = Vec::new();
    for _ in 0..target {
        match tokio::time::timeout(HELD_CONNECT_LIMIT, connect_from(source, port)).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    // Make sure the server accepted them: one request on every 100th connection; the
    // first one that gets no answer ends the count.
    let mut answering = 0;
    let mut line = String::new();
    let mut kept = Vec::new();
    let mut counting = true;
    for (index, stream) in held.into_iter().enumerate() {
        if index % 100 == 0 && counting {
            let mut reader = BufReader::new(stream);
            let ok = tokio::time::timeout(
                Duration::from_secs(2),
                one_request(&mut reader, b"GET VAR bench ups.status\n", false, &mut line),
            )
            .await
            .is_ok_and(|r| r.is_ok());
            if ok {
                answering = index + 1;
            } else {
                counting = false;
            }
            kept.push(reader.into_inner());
        } else {
            if counting {
                answering = index + 1;
            }
            kept.push(stream);
        }
    }
    let rss_after = rss_kb(pid, "VmRSS:");
    let mut latencies = Vec::new();
    if let Ok(Ok(stream)) =
        tokio::time::timeout(Duration::from_secs(2), connect_from(source, port)).await
    {
        let mut reader = BufReader::new(stream);
        for _ in 0..HELD_SAMPLES {
            let started = Instant::now();
            let ok = tokio::time::timeout(
                Duration::from_secs(2),
                one_request(&mut reader, b"GET VAR bench ups.status\n", false, &mut line),
            )
            .await;
            if !matches!(ok, Ok(Ok(()))) {
                latencies.push(2_000_000);
                break;
            }
            latencies.push(started.elapsed().as_micros() as u64);
        }
    }
    drop(kept);
    let answering = answering.min(target);
    Held {
        answering,
        p99_us: percentile(&mut latencies, 99.0),
        bytes_per_conn: rss_after.saturating_sub(rss_before) * 1024 / answering.max(1) as u64,
    }
}

/// CPU ticks upsd burns while 2x MAXCONN clients try to connect for 2 s.
async fn over_maxconn(server: &Server, maxconn: usize) -> (u64, usize) {
    let mut streams = Vec::new();
    for _ in 0..maxconn {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", server.port)).await {
            streams.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_ticks(server.upsd.id());
    let mut refused_or_waiting = 0;
    for _ in 0..maxconn {
        match tokio::time::timeout(Duration::from_millis(20), async {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).await?;
            s.write_all(b"VER\n").await?;
            let mut buf = [0u8; 64];
            use tokio::io::AsyncReadExt;
            s.read(&mut buf).await
        })
        .await
        {
            Ok(Ok(n)) if n > 0 => {}
            _ => refused_or_waiting += 1,
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ticks = cpu_ticks(server.upsd.id()) - before;
    drop(streams);
    (ticks, refused_or_waiting)
}

/// Each throughput row is measured this many times per server, alternating between
/// the servers, and the median is reported: the machine's speed drifts by ±20% over a
/// run, and alternating spreads that drift over both servers alike.
const REPEATS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// One throughput row of the full run.
struct LoadSpec {
    label: &'static str,
    /// Closed-loop clients.
    conns: usize,
    /// What each sends per exchange.
    request: &'static [u8],
    /// The reply ends with `END LIST` (or an error).
    multi: bool,
    /// Requests per exchange.
    per_exchange: f64,
    opening: Opening,
}

/// The figures of both servers, row by row: `(label, [ours, NUT])`.
fn measure(servers: [&Server; 2], rt: &tokio::runtime::Runtime) -> Vec<(String, [String; 2])> {
    let mut rows = Vec::new();
    let pids = servers.map(|s| s.upsd.id());
    rows.push((
        "idle RSS (KiB)".to_string(),
        pids.map(|pid| rss_kb(pid, "VmRSS:").to_string()),
    ));
    const GET: &[u8] = b"GET VAR bench ups.status\n";
    let spec = |label, conns, request, multi, per_exchange, opening| LoadSpec {
        label,
        conns,
        request,
        multi,
        per_exchange,
        opening,
    };
    let loads = [
        spec("GET VAR x1", 1, GET, false, 1.0, Opening::Ramp),
        spec("GET VAR x10", 10, GET, false, 1.0, Opening::Ramp),
        spec("GET VAR x100", 100, GET, false, 1.0, Opening::Ramp),
        spec("GET VAR x1000", 1000, GET, false, 1.0, Opening::Ramp),
        spec(
            "GET VAR x1000 opened at once",
            1000,
            GET,
            false,
            1.0,
            Opening::AtOnce,
        ),
        spec(
            "GET VAR x100, 10 per write",
            100,
            PIPELINED_GETS,
            true,
            10.0,
            Opening::Ramp,
        ),
        spec(
            "LIST VAR x100",
            100,
            b"LIST VAR bench\n",
            true,
            1.0,
            Opening::Ramp,
        ),
    ];
    for load in loads {
        let (label, per_exchange) = (load.label, load.per_exchange);
        // [server][repeat], per request (an exchange of 10 requests counts 10)
        let mut runs: [Vec<Load>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..REPEATS {
            for (which, server) in servers.iter().enumerate() {
                let load = rt.block_on(throughput(
                    server.port,
                    pids[which],
                    load.conns,
                    load.request,
                    load.multi,
                    load.opening,
                ));
                runs[which].push(Load {
                    rps: load.rps * per_exchange,
                    cpu_us: load.cpu_us / per_exchange,
                    ..load
                });
            }
        }
        let pick = |f: fn(&Load) -> f64| runs.each_ref().map(|r| median(r.iter().map(f).collect()));
        rows.push((
            format!("{label} (req/s)"),
            pick(|r| r.rps).map(|v| format!("{v:.0}")),
        ));
        if per_exchange == 1.0 {
            rows.push((
                format!("{label} p99 (µs)"),
                pick(|r| r.p99_us as f64).map(|v| format!("{v:.0}")),
            ));
        }
        rows.push((
            format!("{label} server CPU per request (µs)"),
            pick(|r| r.cpu_us).map(|v| format!("{v:.2}")),
        ));
        if load.conns >= 100 {
            rows.push((
                format!("{label} connections answered"),
                pick(|r| r.answered as f64).map(|v| format!("{v:.0}")),
            ));
            rows.push((
                format!("{label} p99 of longest wait per connection (µs)"),
                pick(|r| r.worst_p99_us as f64).map(|v| format!("{v:.0}")),
            ));
        }
    }
    rows.push((
        "loaded peak RSS (KiB)".into(),
        pids.map(|pid| rss_kb(pid, "VmHWM:").to_string()),
    ));
    let mut answering = [String::new(), String::new()];
    let mut held_p99 = [String::new(), String::new()];
    let mut per_conn = [String::new(), String::new()];
    for (which, server) in servers.iter().enumerate() {
        let outcome = held_on_threads(server.port, pids[which], which as u8);
        answering[which] = outcome.answering.to_string();
        held_p99[which] = outcome.p99_us.to_string();
        per_conn[which] = outcome.bytes_per_conn.to_string();
        // Let the held connections close before the other server is measured.
        std::thread::sleep(Duration::from_secs(1));
    }
    rows.push((format!("held of {HELD_TARGET} (answering)"), answering));
    rows.push(("held: p99 GET VAR (µs)".into(), held_p99));
    rows.push(("held: RSS per idle connection (bytes)".into(), per_conn));
    rows.push((
        "peak RSS after held (KiB)".into(),
        pids.map(|pid| rss_kb(pid, "VmHWM:").to_string()),
    ));
    rows
}

/// GET VAR at 100 and 1,000 connections and LIST VAR at 100 against our upsd only,
/// with the server's CPU per request: for profiling between full runs.
fn quick(root: &Path, rt: &tokio::runtime::Runtime, with_nut: bool) {
    let release = root.join("target/release");
    let server = start(
        "ours",
        &root.join("target/bench/ours"),
        &release.join("upsd"),
        &release.join("dummy-ups"),
        None,
    );
    let pid = server.upsd.id();
    let loads: [(&str, usize, &'static [u8], bool, Opening); 4] = [
        (
            "GET VAR",
            100,
            b"GET VAR bench ups.status\n",
            false,
            Opening::Ramp,
        ),
        (
            "GET VAR",
            1000,
            b"GET VAR bench ups.status\n",
            false,
            Opening::Ramp,
        ),
        (
            "GET VAR (opened at once)",
            1000,
            b"GET VAR bench ups.status\n",
            false,
            Opening::AtOnce,
        ),
        ("LIST VAR", 100, b"LIST VAR bench\n", true, Opening::Ramp),
    ];
    let nut = with_nut.then(|| {
        start(
            "NUT 2.8.0",
            &root.join("target/bench/nut"),
            Path::new("/lib/nut/upsd"),
            Path::new("/lib/nut/dummy-ups"),
            None,
        )
    });
    for (what, conns, request, multi, opening) in loads {
        let mut servers = vec![("ours", &server)];
        servers.extend(nut.iter().map(|n| ("NUT", n)));
        for (name, server) in servers {
            let load = rt.block_on(throughput(
                server.port,
                server.upsd.id(),
                conns,
                request,
                multi,
                opening,
            ));
            println!(
                "{name}: {what} x{conns}: {:.0} req/s, latency p50 {} µs, p99 {} µs, max {} µs, \
                 server CPU {:.2} µs/request, {} connections answered, \
                 p99 of longest wait per connection {} µs",
                load.rps,
                load.p50_us,
                load.p99_us,
                load.max_us,
                load.cpu_us,
                load.answered,
                load.worst_p99_us
            );
        }
    }
    drop(nut);
    let outcome = held_on_threads(server.port, pid, 0);
    println!(
        "held {} idle connections: {} bytes of RSS each, p99 GET VAR {} µs",
        outcome.answering, outcome.bytes_per_conn, outcome.p99_us
    );
}

/// GET VARs per callgrind run: the difference between the two runs, divided by the
/// difference in requests, is the cost of one request without start-up and shutdown.
const CALLGRIND_REQUESTS: [u64; 2] = [500, 2500];

/// Instructions upsd executes per GET VAR (one connection, one request at a time),
/// counted by callgrind: stable on a noisy machine, unlike CPU time.
fn instructions_per_get(
    name: &'static str,
    dir: &Path,
    upsd: &Path,
    driver: &Path,
) -> Result<f64, String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
    }
    let mut totals = Vec::new();
    for requests in CALLGRIND_REQUESTS {
        let run_dir = dir.join(format!("callgrind-{requests}"));
        let out = run_dir.join("callgrind.out");
        let wrapper = vec![
            "valgrind".to_string(),
            "--tool=callgrind".to_string(),
            format!("--callgrind-out-file={}", out.display()),
        ];
        let mut server = start_wrapped(name, &run_dir, upsd, driver, None, &wrapper);
        {
            use std::io::{BufRead, Write};
            let stream = std::net::TcpStream::connect(("127.0.0.1", server.port))
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
            let mut reader = std::io::BufReader::new(stream);
            let mut line = String::new();
            for _ in 0..requests {
                writer
                    .write_all(b"GET VAR bench ups.status\n")
                    .map_err(|e| e.to_string())?;
                line.clear();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
            }
        }
        // SIGTERM, so callgrind writes its counts as the process exits.
        let _ = Command::new("kill")
            .arg(server.upsd.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && matches!(server.upsd.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(server);
        let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let total = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("summary:")
                    .or_else(|| l.strip_prefix("totals:"))
            })
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("{}: no totals line", out.display()))?;
        totals.push(total);
    }
    let extra = CALLGRIND_REQUESTS[1] - CALLGRIND_REQUESTS[0];
    Ok(totals[1].saturating_sub(totals[0]) as f64 / extra as f64)
}

/// Both servers' instructions per GET VAR, printed (`cargo xtask bench --callgrind`).
fn callgrind_only(root: &Path) -> Result<(), String> {
    let release = root.join("target/release");
    let ours = instructions_per_get(
        "ours",
        &root.join("target/bench/cg-ours"),
        &release.join("upsd"),
        &release.join("dummy-ups"),
    )?;
    let nut = instructions_per_get(
        "NUT 2.8.0",
        &root.join("target/bench/cg-nut"),
        Path::new("/lib/nut/upsd"),
        Path::new("/lib/nut/dummy-ups"),
    )?;
    println!(
        "instructions per GET VAR (callgrind): ours {ours:.0}, NUT 2.8.0 {nut:.0}, ratio {:.2}x",
        ours / nut
    );
    Ok(())
}

/// `cargo build --release` of every nut-bins binary (the benchmark's and the package's).
pub fn release_build(root: &Path) -> Result<(), String> {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(root)
        .args(["build", "--release", "-p", "nut-bins", "--bins"]);
    // ring's build script watches the package variables `cargo xtask` sets; without them
    // the release build is shared with a plain `cargo build --release`.
    for (key, _) in std::env::vars() {
        let package_var = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| key.starts_with(prefix));
        if package_var || key == "CARGO_PRIMARY_PACKAGE" {
            build.env_remove(key);
        }
    }
    let status = build.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("release build failed".into());
    }
    Ok(())
}

/// What `cargo xtask bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything, both servers.
    Full,
    /// Ours only, three loads (for profiling).
    Quick,
    /// The same three loads, ours then NUT's, each row side by side.
    QuickNut,
    /// Instructions per GET VAR under callgrind, both servers.
    Callgrind,
}

/// Runs one [`Mode`]; [`Mode::Full`] prints the comparison table.
pub fn run_mode(root: &Path, mode: Mode) -> Result<(), String> {
    release_build(root)?;
    let nut_upsd = PathBuf::from("/lib/nut/upsd");
    let nut_driver = PathBuf::from("/lib/nut/dummy-ups");
    if !nut_upsd.exists() {
        return Err("NUT's upsd is not installed (run ci/install-peers.sh as root)".into());
    }
    let ours_dir = root.join("target/bench/ours");
    let nut_dir = root.join("target/bench/nut");
    let _ = std::fs::remove_dir_all(root.join("target/bench"));
    let rt = client_rt()?;
    match mode {
        Mode::Quick => {
            quick(root, &rt, false);
            return Ok(());
        }
        Mode::QuickNut => {
            quick(root, &rt, true);
            return Ok(());
        }
        Mode::Callgrind => return callgrind_only(root),
        Mode::Full => {}
    }
    let release = root.join("target/release");
    eprintln!("bench: measuring ours and NUT 2.8.0, alternating, {REPEATS} runs per row");
    let ours = start(
        "ours",
        &ours_dir,
        &release.join("upsd"),
        &release.join("dummy-ups"),
        None,
    );
    let nut = start("NUT 2.8.0", &nut_dir, &nut_upsd, &nut_driver, None);
    let mut rows = measure([&ours, &nut], &rt);
    drop(ours);
    drop(nut);
    let cg = |name, dir: &str, upsd: &Path, driver: &Path| {
        instructions_per_get(name, &root.join(dir), upsd, driver)
            .map_or_else(|e| format!("error: {e}"), |v| format!("{v:.0}"))
    };
    rows.push((
        "instructions per GET VAR (callgrind)".into(),
        [
            cg(
                "ours",
                "target/bench/cg-ours",
                &release.join("upsd"),
                &release.join("dummy-ups"),
            ),
            cg("NUT 2.8.0", "target/bench/cg-nut", &nut_upsd, &nut_driver),
        ],
    ));
    std::thread::sleep(Duration::from_millis(500));
    let mut maxconn_rows = Vec::new();
    for (name, dir, upsd, driver) in [
        (
            "ours",
            root.join("target/bench/ours-maxconn"),
            release.join("upsd"),
            release.join("dummy-ups"),
        ),
        (
            "NUT 2.8.0",
            root.join("target/bench/nut-maxconn"),
            nut_upsd,
            nut_driver,
        ),
    ] {
        let server = start(name, &dir, &upsd, &driver, Some(100));
        let (ticks, refused) = rt.block_on(over_maxconn(&server, 100));
        maxconn_rows.push((name, ticks, refused));
    }
    println!("| measurement | ours | NUT 2.8.0 | ratio |");
    println!("|---|---:|---:|---:|");
    for (label, [a, b]) in &rows {
        let ratio = match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) if y > 0.0 => format!("{:.2}x", x / y),
            _ => "-".into(),
        };
        println!("| {label} | {a} | {b} | {ratio} |");
    }
    for (name, ticks, refused) in maxconn_rows {
        println!(
            "| {name}: CPU ticks in 2 s with MAXCONN 100 full | {ticks} | {refused} of 100 extra connects not served | |"
        );
    }
    Ok(())
}

/// How long the driver benchmark watches each driver, after start-up.
const DRIVER_MEASURE: Duration = Duration::from_secs(30);
/// Start-up left out of the driver measurement.
const DRIVER_SETTLE: Duration = Duration::from_secs(6);

/// CPU time of a process's threads in nanoseconds (`/proc/<pid>/task/*/schedstat`).
fn cpu_ns(pid: u32) -> u64 {
    threads(pid)
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/task/{t}/schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// Context switches of a process's threads (each one a wake-up of a sleeping thread).
fn switches(pid: u32) -> u64 {
    threads(pid)
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/task/{t}/status")).ok())
        .map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .sum::<u64>()
        })
        .sum()
}

fn threads(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `cargo xtask bench driver`: our nutdrv_qx and apcsmart and Debian's, each against
/// its own fake unit on a pseudo-terminal (same transcript), at the same time: CPU per
/// poll, wake-ups per second, RSS.
pub fn drivers(root: &Path) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "nut-bins",
            "--bin",
            "nutdrv_qx",
            "--bin",
            "apcsmart",
            "--bin",
            "nut-fake-ups",
            "--bin",
            "usbhid-ups",
            "--bin",
            "snmp-ups",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("release build failed".into());
    }
    let nut_qx = PathBuf::from("/lib/nut/nutdrv_qx");
    if !nut_qx.exists() {
        return Err("NUT's nutdrv_qx is not installed (run ci/install-peers.sh as root)".into());
    }
    let nut_apc = PathBuf::from("/lib/nut/apcsmart");
    if !nut_apc.exists() {
        return Err("NUT's apcsmart is not installed (run ci/install-peers.sh as root)".into());
    }
    let release = root.join("target/release");
    let qx_fixture = root.join("hw-fixtures/qx/fideltronik-inigo-viper-1200.txt");
    let volt_fixture = root.join("hw-fixtures/qx/voltronic-fsp-champ-1000va.txt");
    let apc_fixture = root.join("hw-fixtures/apcsmart/apc-smart-ups-420inet.txt");
    /// The driver and unit of a row.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// nutdrv_qx, megatec: one query per quick poll.
        Megatec,
        /// nutdrv_qx, voltronic: QGS per quick poll, some twenty queries per full one.
        Voltronic,
        /// apcsmart: one command per polled variable.
        Apc,
    }
    struct Run {
        kind: Kind,
        name: &'static str,
        fake: Child,
        driver: Child,
        queries: Arc<AtomicU64>,
    }
    impl Drop for Run {
        fn drop(&mut self) {
            for child in [&mut self.driver, &mut self.fake] {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    let mut runs = Vec::new();
    let snmp = snmp_runs(root, &release)?;
    // usbhid-ups against a recorded unit (no USB here, and NUT's cannot replay one): its
    // own cost per poll, for the table below the Megatec one.
    let hid_dir = root.join("target/bench-driver/usbhid-ups");
    let _ = std::fs::remove_dir_all(&hid_dir);
    std::fs::create_dir_all(hid_dir.join("state")).map_err(|e| e.to_string())?;
    std::fs::write(
        hid_dir.join("ups.conf"),
        format!(
            "[bench]\n\tdriver = usbhid-ups\n\tport = auto\n\treplay = {}\n",
            root.join("hw-fixtures/hid/apc-back-ups-bk650m2-ch.txt")
                .display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut hid = Command::new(release.join("usbhid-ups"))
        .args(["-a", "bench", "-F"])
        .env("NUT_CONFPATH", &hid_dir)
        .env("NUT_STATEPATH", hid_dir.join("state"))
        .env("NUT_ALTPIDPATH", hid_dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("usbhid-ups: {e}"))?;
    for (kind, name, program, extra) in [
        (Kind::Megatec, "ours", release.join("nutdrv_qx"), vec!["-F"]),
        (
            Kind::Megatec,
            "NUT 2.8.0",
            nut_qx.clone(),
            vec!["-F", "-u", "root"],
        ),
        (
            Kind::Voltronic,
            "ours",
            release.join("nutdrv_qx"),
            vec!["-F"],
        ),
        (
            Kind::Voltronic,
            "NUT 2.8.0",
            nut_qx,
            vec!["-F", "-u", "root"],
        ),
        (Kind::Apc, "ours", release.join("apcsmart"), vec!["-F"]),
        (Kind::Apc, "NUT 2.8.0", nut_apc, vec!["-F", "-u", "root"]),
    ] {
        let dir = root.join("target/bench-driver").join(format!(
            "{}-{}",
            match kind {
                Kind::Megatec => "qx",
                Kind::Voltronic => "voltronic",
                Kind::Apc => "apcsmart",
            },
            name.replace(' ', "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).map_err(|e| e.to_string())?;
        let mut fake = Command::new(release.join("nut-fake-ups"));
        match kind {
            Kind::Apc => fake.arg("--apcsmart").arg(&apc_fixture),
            Kind::Voltronic => fake.arg(&volt_fixture),
            Kind::Megatec => fake.arg(&qx_fixture),
        };
        let mut fake = fake
            .arg("-v")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut path = String::new();
        {
            use std::io::BufRead;
            let out = fake.stdout.take().ok_or("no stdout")?;
            std::io::BufReader::new(out)
                .read_line(&mut path)
                .map_err(|e| e.to_string())?;
        }
        let queries = Arc::new(AtomicU64::new(0));
        {
            let queries = queries.clone();
            let err = fake.stderr.take().ok_or("no stderr")?;
            std::thread::spawn(move || {
                use std::io::BufRead;
                for _ in std::io::BufReader::new(err).lines() {
                    queries.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let conf = match kind {
            Kind::Apc => format!("[bench]\n\tdriver = apcsmart\n\tport = {}\n", path.trim()),
            Kind::Megatec | Kind::Voltronic => format!(
                "[bench]\n\tdriver = nutdrv_qx\n\tport = {}\n\tprotocol = {}\n",
                path.trim(),
                if kind == Kind::Megatec {
                    "megatec"
                } else {
                    "voltronic"
                }
            ),
        };
        std::fs::write(dir.join("ups.conf"), conf).map_err(|e| e.to_string())?;
        let driver = Command::new(&program)
            .args(["-a", "bench"])
            .args(&extra)
            .env("NUT_CONFPATH", &dir)
            .env("NUT_STATEPATH", dir.join("state"))
            .env("NUT_ALTPIDPATH", dir.join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        runs.push(Run {
            kind,
            name,
            fake,
            driver,
            queries,
        });
    }
    std::thread::sleep(DRIVER_SETTLE);
    let hid_before = (cpu_ns(hid.id()), switches(hid.id()));
    let snmp_before: Vec<(u64, u64)> = snmp
        .drivers
        .iter()
        .map(|(_, c)| (cpu_ns(c.id()), switches(c.id())))
        .collect();
    let before: Vec<(u64, u64, u64)> = runs
        .iter()
        .map(|r| {
            let pid = r.driver.id();
            (
                cpu_ns(pid),
                switches(pid),
                r.queries.load(Ordering::Relaxed),
            )
        })
        .collect();
    eprintln!(
        "bench: watching both drivers for {}s",
        DRIVER_MEASURE.as_secs()
    );
    std::thread::sleep(DRIVER_MEASURE);
    let mut header = None;
    for (run, (cpu0, sw0, q0)) in runs.iter().zip(before) {
        let pid = run.driver.id();
        let queries = run.queries.load(Ordering::Relaxed) - q0;
        // A Megatec poll is one query; voltronic and APC polls are several queries,
        // every pollinterval (2 s).
        let polls = if run.kind == Kind::Megatec {
            queries
        } else {
            (DRIVER_MEASURE.as_secs() / 2).max(1)
        };
        if header != Some(run.kind) {
            if header.is_some() {
                println!();
            }
            header = Some(run.kind);
            let (what, count) = match run.kind {
                Kind::Megatec => ("nutdrv_qx idle (megatec, pollinterval 2 s)", "queries"),
                Kind::Voltronic => (
                    "nutdrv_qx idle (voltronic, FSP Champ 1000 VA, pollinterval 2 s)",
                    "queries",
                ),
                Kind::Apc => (
                    "apcsmart idle (Smart-UPS 420INET, pollinterval 2 s)",
                    "commands",
                ),
            };
            println!("| {what} | CPU per poll | wake-ups/s | RSS | {count} |");
            println!("|---|---:|---:|---:|---:|");
        }
        let cpu_us = (cpu_ns(pid) - cpu0) as f64 / 1000.0;
        let wakeups = (switches(pid) - sw0) as f64 / DRIVER_MEASURE.as_secs_f64();
        println!(
            "| {} | {:.0} µs | {wakeups:.1} | {} kB | {queries} |",
            run.name,
            cpu_us / polls.max(1) as f64,
            rss_kb(pid, "VmRSS:"),
        );
    }
    // pollinterval 2 s: one walk per poll, a full one every pollfreq (30 s).
    let polls = (DRIVER_MEASURE.as_secs() / 2).max(1) as f64;
    let pid = hid.id();
    println!();
    println!("| usbhid-ups idle (replayed APC BK650M2, pollinterval 2 s) | CPU per poll | wake-ups/s | RSS |");
    println!("|---|---:|---:|---:|");
    println!(
        "| ours | {:.0} µs | {:.1} | {} kB |",
        (cpu_ns(pid) - hid_before.0) as f64 / 1000.0 / polls,
        (switches(pid) - hid_before.1) as f64 / DRIVER_MEASURE.as_secs_f64(),
        rss_kb(pid, "VmRSS:"),
    );
    let _ = hid.kill();
    let _ = hid.wait();
    // snmp-ups: pollinterval 1, pollfreq 1: a walk every 2 s (NUT walks once strictly
    // past lastpoll + pollfreq, in whole seconds; ours does the same).
    let walks = (DRIVER_MEASURE.as_secs() / 2).max(1) as f64;
    println!();
    println!("| snmp-ups (Huawei UPS5000-E walk from snmpsim, SNMPv1, a walk every 2 s) | CPU per walk | wake-ups/s | RSS |");
    println!("|---|---:|---:|---:|");
    for ((name, child), (cpu0, sw0)) in snmp.drivers.iter().zip(snmp_before) {
        let pid = child.id();
        println!(
            "| {name} | {:.0} µs | {:.1} | {} kB |",
            (cpu_ns(pid) - cpu0) as f64 / 1000.0 / walks,
            (switches(pid) - sw0) as f64 / DRIVER_MEASURE.as_secs_f64(),
            rss_kb(pid, "VmRSS:"),
        );
    }
    drop(snmp);
    Ok(())
}

/// snmpsim and the two snmp-ups (ours, Debian's) reading the same walk.
struct SnmpRuns {
    sim: Child,
    drivers: Vec<(&'static str, Child)>,
}

impl Drop for SnmpRuns {
    fn drop(&mut self) {
        for child in self
            .drivers
            .iter_mut()
            .map(|(_, c)| c)
            .chain([&mut self.sim])
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn snmp_runs(root: &Path, release: &Path) -> Result<SnmpRuns, String> {
    const SNMPSIM: &str = "/opt/nut-rs-peers/bin/snmpsim-command-responder";
    let nut = PathBuf::from("/lib/nut/snmp-ups");
    if !nut.exists() || !Path::new(SNMPSIM).exists() {
        return Err(
            "NUT's snmp-ups or snmpsim is not installed (run ci/install-peers.sh as root)".into(),
        );
    }
    let dir = std::env::temp_dir().join(format!("nut-rs-bench-snmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["data", "cache"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    std::fs::copy(
        root.join("hw-fixtures/snmp/huawei-gse200m.snmprec"),
        dir.join("data/bench.snmprec"),
    )
    .map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    for d in [dir.clone(), dir.join("data"), dir.join("cache")] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
    }
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let sim = Command::new(SNMPSIM)
        .arg(format!("--data-dir={}", dir.join("data").display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
        .args(["--process-user", "nobody", "--process-group", "nogroup"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("snmpsim: {e}"))?;
    let mut runs = SnmpRuns {
        sim,
        drivers: Vec::new(),
    };
    // snmpsim indexes the walk before it answers.
    std::thread::sleep(Duration::from_secs(8));
    for (name, program, extra) in [
        ("ours", release.join("snmp-ups"), vec!["-F"]),
        ("NUT 2.8.0", nut, vec!["-F", "-u", "root"]),
    ] {
        let conf = dir.join(name.replace(' ', "-"));
        std::fs::create_dir_all(conf.join("state")).map_err(|e| e.to_string())?;
        std::fs::write(
            conf.join("ups.conf"),
            format!(
                "[bench]\n\tdriver = snmp-ups\n\tport = 127.0.0.1:{port}\n\tcommunity = bench\n\tpollinterval = 1\n\tpollfreq = 1\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let child = Command::new(&program)
            .args(["-a", "bench"])
            .args(&extra)
            .env("NUT_CONFPATH", &conf)
            .env("NUT_STATEPATH", conf.join("state"))
            .env("NUT_ALTPIDPATH", conf.join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        runs.drivers.push((name, child));
    }
    Ok(runs)
}
