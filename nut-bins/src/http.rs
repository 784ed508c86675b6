//! A minimal HTTP/1.x server for Prometheus scrapes: `GET <path>` in, one response out,
//! connection closed. Bounded in every direction, so a scrape storm or a slow client
//! costs at most [`MAX_HTTP_CONNECTIONS`] tasks and never touches what upsd serves.

use crate::seam::Net;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// Longest request head read, in bytes; a longer one gets 431 and is closed.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Scrape connections served at once; more are closed without a reply.
pub const MAX_HTTP_CONNECTIONS: usize = 64;
/// Time a client gets to send its request and read the reply.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept, so a descriptor shortage never becomes a busy loop.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// A response: status code and reason, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `200 OK`, `404 Not Found`...
    pub status: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// 404 with a short text.
    pub fn not_found() -> Response {
        Response {
            status: "404 Not Found",
            content_type: "text/plain; charset=utf-8",
            body: "not found\n".into(),
        }
    }
}

/// The request target (`/metrics?ups=x`) of a request head, if it is a `GET` or `HEAD`.
pub fn request_target(head: &[u8]) -> Option<(bool, String)> {
    let line_end = head.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?.trim_end();
    let mut words = line.split(' ');
    let method = words.next()?;
    let target = words.next()?;
    let version = words.next()?;
    if !version.starts_with("HTTP/1.") || words.next().is_some() {
        return None;
    }
    match method {
        "GET" => Some((false, target.to_string())),
        "HEAD" => Some((true, target.to_string())),
        _ => None,
    }
}

/// Splits `/path?a=1&b=2` into the path and its query pairs (`%xx` and `+` decoded).
pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match std::str::from_utf8(&bytes[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path.to_string(), pairs)
}

/// Serves `handler` on `listener` until dropped. The handler gets the request target.
pub async fn serve<N, H, F>(listener: N::Listener, handler: H)
where
    N: Net,
    H: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let active = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let Ok((stream, _)) = N::accept(&listener).await else {
            tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            continue;
        };
        if active.load(Ordering::Relaxed) >= MAX_HTTP_CONNECTIONS {
            drop(stream);
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        let (active, handler) = (active.clone(), handler.clone());
        tasks.spawn(async move {
            let _ = tokio::time::timeout(HTTP_TIMEOUT, answer(stream, handler)).await;
            active.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn answer<S, H, F>(mut stream: S, handler: H) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    H: Fn(String) -> F,
    F: Future<Output = Response>,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let complete = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() > MAX_REQUEST_BYTES {
            break false;
        }
    };
    let (head_only, response) = if !complete {
        (
            false,
            Response {
                status: "431 Request Header Fields Too Large",
                content_type: "text/plain; charset=utf-8",
                body: "request too large\n".into(),
            },
        )
    } else {
        match request_target(&head) {
            Some((head_only, target)) => (head_only, handler(target).await),
            None => (
                false,
                Response {
                    status: "400 Bad Request",
                    content_type: "text/plain; charset=utf-8",
                    body: "bad request\n".into(),
                },
            ),
        }
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(response.body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_and_queries() {
        assert_eq!(
            request_target(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some((false, "/metrics".to_string()))
        );
        assert_eq!(request_target(b"POST /metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(request_target(b"GET /metrics\r\n\r\n"), None);
        assert_eq!(request_target(b"\xff\xfe\n"), None);
        let (path, query) = split_target("/ups_metrics?ups=my%20ups&x=a+b&bad=%zz&trail=%4");
        assert_eq!(path, "/ups_metrics");
        assert_eq!(
            query,
            vec![
                ("ups".to_string(), "my ups".to_string()),
                ("x".to_string(), "a b".to_string()),
                ("bad".to_string(), "%zz".to_string()),
                ("trail".to_string(), "%4".to_string()),
            ]
        );
    }
}
