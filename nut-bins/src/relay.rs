//! nut-notify's delivery: a bounded on-disk queue per sink (webhook, ntfy, MQTT), each
//! delivered in order with retries inside a deadline, so an unreachable or slow sink
//! costs one short-lived process and never holds up upsmon (which runs NOTIFYCMD and
//! goes on). Formats and packets come from `nut_core::relay`.

use nut_core::relay::{mqtt, mqtt_messages, MqttTarget, RelayConf, RelayEvent};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Each network step (connect, request, acknowledgement) gets this long.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest HTTP response head read, in bytes.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// First retry pause; doubles up to the deadline.
pub const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Where a sink's events wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A JSON webhook.
    Webhook(String),
    /// An ntfy topic URL.
    Ntfy(String),
    /// An MQTT broker.
    Mqtt(MqttTarget),
}

impl Sink {
    /// The queue directory name.
    pub fn dir_name(&self, index: usize) -> String {
        match self {
            Sink::Webhook(_) => format!("webhook-{index}"),
            Sink::Ntfy(_) => format!("ntfy-{index}"),
            Sink::Mqtt(_) => "mqtt".into(),
        }
    }
}

/// The sinks a config names, with their queue directory names.
pub fn sinks(conf: &RelayConf) -> Vec<(String, Sink)> {
    let mut out = Vec::new();
    for (i, url) in conf.webhooks.iter().enumerate() {
        let sink = Sink::Webhook(url.clone());
        out.push((sink.dir_name(i), sink));
    }
    for (i, url) in conf.ntfy.iter().enumerate() {
        let sink = Sink::Ntfy(url.clone());
        out.push((sink.dir_name(i), sink));
    }
    if let Some(target) = &conf.mqtt {
        let sink = Sink::Mqtt(target.clone());
        out.push((sink.dir_name(0), sink));
    }
    out
}

/// Adds `event` to `dir`'s queue, dropping the oldest beyond `max`; returns what was
/// dropped (for the log).
pub fn enqueue(dir: &Path, event: &RelayEvent, max: usize, stamp: u128) -> io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let name = format!("{stamp:032}-{:010}.json", std::process::id());
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, event.json())?;
    std::fs::rename(&tmp, dir.join(&name))?;
    let queued = queued(dir)?;
    let mut dropped = Vec::new();
    if queued.len() > max {
        for path in &queued[..queued.len() - max] {
            if let Some(e) = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| RelayEvent::from_json(&t))
            {
                dropped.push(format!("{} {} at {}", e.kind, e.ups, e.time));
            }
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(dropped)
}

/// The queued event files of `dir`, oldest first.
pub fn queued(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// An exclusive lock on a queue (flock on `.lock`), held while the value lives;
/// `None` when another nut-notify is delivering this queue already.
pub struct QueueLock {
    /// Closing the file releases the lock.
    _file: std::fs::File,
}

impl QueueLock {
    /// Tries to lock `dir`'s queue.
    pub fn try_lock(dir: &Path) -> io::Result<Option<QueueLock>> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        Ok((r == 0).then_some(QueueLock { _file: file }))
    }
}

/// Delivers `dir`'s queue to `sink` in order until it is empty or the deadline passes.
/// Returns how many were delivered and the last error, if any remain.
pub async fn drain(dir: &Path, sink: &Sink, conf: &RelayConf) -> (usize, Option<String>) {
    let Ok(Some(_lock)) = QueueLock::try_lock(dir) else {
        return (0, None);
    };
    let limit = Duration::from_secs(conf.deadline_s);
    let deadline = tokio::time::Instant::now() + limit;
    let mut delivered = 0;
    let mut pause = FIRST_RETRY;
    loop {
        let files = queued(dir).unwrap_or_default();
        if files.is_empty() {
            return (delivered, None);
        }
        let events: Vec<(PathBuf, RelayEvent)> = files
            .into_iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(&p).ok()?;
                match RelayEvent::from_json(&text) {
                    Some(e) => Some((p, e)),
                    None => {
                        // Not ours (or damaged): never block the queue on it.
                        let _ = std::fs::remove_file(&p);
                        None
                    }
                }
            })
            .collect();
        let result = match sink {
            Sink::Mqtt(target) => send_mqtt(target, &events, conf).await,
            Sink::Webhook(url) => match events.first() {
                Some((_, e)) => post(
                    url,
                    &[("Content-Type", "application/json".into())],
                    e.json(),
                )
                .await
                .map(|()| 1),
                None => Ok(0),
            },
            Sink::Ntfy(url) => match events.first() {
                Some((_, e)) => {
                    let (title, priority) = e.ntfy_headers();
                    post(
                        url,
                        &[
                            ("Title", title),
                            ("Priority", priority.to_string()),
                            ("Tags", "electric_plug".into()),
                        ],
                        e.message.clone(),
                    )
                    .await
                    .map(|()| 1)
                }
                None => Ok(0),
            },
        };
        match result {
            Ok(n) => {
                for (path, _) in events.iter().take(n) {
                    let _ = std::fs::remove_file(path);
                }
                delivered += n;
                pause = FIRST_RETRY;
            }
            Err(e) => {
                if tokio::time::Instant::now() + pause >= deadline {
                    return (delivered, Some(e));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(limit);
            }
        }
    }
}

struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("{url}: not an http:// or https:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(p) => (h.trim_matches(['[', ']']).to_string(), p),
            Err(_) => return Err(format!("{url}: bad port")),
        },
        _ => (
            authority.trim_matches(['[', ']']).to_string(),
            if tls { 443 } else { 80 },
        ),
    };
    Ok(Url {
        tls,
        host,
        port,
        path: path.to_string(),
    })
}

async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = io::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {STEP_TIMEOUT:?}")),
    }
}

async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    url: &Url,
    headers: &[(&str, String)],
    body: &str,
) -> Result<(), String> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: nut-notify\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.path,
        url.host,
        body.len()
    );
    for (k, v) in headers {
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    timed("send", stream.write_all(head.as_bytes())).await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.windows(2).any(|w| w == b"\r\n") && reply.len() < MAX_RESPONSE_HEAD {
        let n = timed("read", stream.read(&mut buf)).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&reply);
    let code = status
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(c) if (200..300).contains(&c) => Ok(()),
        Some(c) => Err(format!("HTTP {c}")),
        None => Err("no HTTP status line".into()),
    }
}

async fn post(url_text: &str, headers: &[(&str, String)], body: String) -> Result<(), String> {
    let url = parse_url(url_text)?;
    let addr = crate::seam::socket_addr(&url.host, url.port);
    let tcp = timed(
        &format!("connect {addr}"),
        tokio::net::TcpStream::connect(addr.clone()),
    )
    .await?;
    if !url.tls {
        return request(tcp, &url, headers, &body).await;
    }
    let pem = std::fs::read(crate::client::SYSTEM_CA_BUNDLE)
        .map_err(|e| format!("{}: {e}", crate::client::SYSTEM_CA_BUNDLE))?;
    let connector = crate::tls::connector(&[pem], true)?;
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| format!("{}: {e}", url.host))?;
    let tls = timed("TLS handshake", connector.connect(name, tcp)).await?;
    request(tls, &url, headers, &body).await
}

async fn read_packet(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Result<mqtt::Incoming, String> {
    loop {
        match mqtt::decode(buf) {
            Err(mqtt::Malformed) => return Err("malformed packet from the broker".into()),
            Ok(Some((packet, used))) => {
                buf.drain(..used);
                return Ok(packet);
            }
            Ok(None) => {
                let mut chunk = [0u8; 512];
                let n = timed("read", stream.read(&mut chunk)).await?;
                if n == 0 {
                    return Err("broker closed the connection".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// Publishes every queued event (QoS 1, each acknowledged); returns how many went out
/// completely.
async fn send_mqtt(
    target: &MqttTarget,
    events: &[(PathBuf, RelayEvent)],
    conf: &RelayConf,
) -> Result<usize, String> {
    let addr = crate::seam::socket_addr(&target.host, target.port);
    let mut stream = timed(
        &format!("connect {addr}"),
        tokio::net::TcpStream::connect(addr.clone()),
    )
    .await?;
    let login = target.login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let client_id = format!("nut-notify-{}", std::process::id());
    timed(
        "send",
        stream.write_all(&mqtt::connect(&client_id, login, 30)),
    )
    .await?;
    let mut buf = Vec::new();
    match read_packet(&mut stream, &mut buf).await? {
        mqtt::Incoming::ConnAck(0) => {}
        mqtt::Incoming::ConnAck(rc) => {
            return Err(format!("broker refused the connection (code {rc})"))
        }
        _ => return Err("no CONNACK from the broker".into()),
    }
    let mut id: u16 = 0;
    let mut sent = 0;
    for (_, event) in events {
        for message in mqtt_messages(event, &conf.mqtt_prefix, conf.ha_discovery) {
            id = id.wrapping_add(1).max(1);
            let packet = mqtt::publish(
                &message.topic,
                message.payload.as_bytes(),
                message.retain,
                id,
            );
            timed("publish", stream.write_all(&packet)).await?;
            loop {
                match read_packet(&mut stream, &mut buf).await? {
                    mqtt::Incoming::PubAck(acked) if acked == id => break,
                    _ => continue,
                }
            }
        }
        sent += 1;
    }
    let _ = stream.write_all(&mqtt::disconnect()).await;
    Ok(sent)
}

/// RFC 3339 UTC text for a Unix time (civil-from-days, H. Hinnant's algorithm).
pub fn rfc3339(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_urls() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_029_200), "2026-11-30T09:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let u = parse_url("http://127.0.0.1:8080/hook?x=1").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (false, "127.0.0.1", 8080, "/hook?x=1")
        );
        let u = parse_url("https://ntfy.sh/topic").unwrap();
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 443, "/topic"));
        let u = parse_url("http://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert!(parse_url("ftp://x").is_err());
    }

    #[test]
    fn the_queue_is_bounded_and_ordered() {
        let dir = std::env::temp_dir().join(format!("nut-notify-q-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let event = |n: usize| RelayEvent {
            ups: "u".into(),
            kind: format!("T{n}"),
            message: String::new(),
            time: "t".into(),
            host: "h".into(),
        };
        for n in 0..5 {
            let dropped = enqueue(&dir, &event(n), 3, n as u128).unwrap();
            assert_eq!(dropped.len(), usize::from(n >= 3), "{n}");
        }
        let left: Vec<String> = queued(&dir)
            .unwrap()
            .iter()
            .map(|p| {
                RelayEvent::from_json(&std::fs::read_to_string(p).unwrap())
                    .unwrap()
                    .kind
            })
            .collect();
        assert_eq!(left, vec!["T2", "T3", "T4"]);
        let lock = QueueLock::try_lock(&dir).unwrap();
        assert!(lock.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
