//! Line IO over async streams: tokenized request lines for servers, raw reply lines for
//! clients, both with bounded memory and read timeouts.

use nut_core::tokenizer::{Line, Tokenizer};
use std::collections::VecDeque;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read from a socket at a time.
pub const READ_CHUNK_BYTES: usize = 4096;
/// Longest reply line a client accepts, in bytes (upsd's own limit is 512).
pub const MAX_REPLY_LINE_BYTES: usize = 64 * 1024;
/// How long a client waits for a reply line (NUT's clients: 5 s).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads tokenized logical lines from a stream (server side).
pub struct WordReader<R> {
    reader: R,
    tokenizer: Tokenizer,
    pending: VecDeque<Line>,
    buffer: Box<[u8]>,
}

impl<R: AsyncRead + Unpin> WordReader<R> {
    /// Wraps a stream.
    pub fn new(reader: R) -> Self {
        WordReader {
            reader,
            tokenizer: Tokenizer::new(),
            pending: VecDeque::new(),
            buffer: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
        }
    }

    /// The next logical line, or `None` at end of stream.
    pub async fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Ok(Some(line));
            }
            let n = self.reader.read(&mut self.buffer).await?;
            if n == 0 {
                return Ok(self.tokenizer.finish());
            }
            let mut lines = Vec::new();
            self.tokenizer.feed(&self.buffer[..n], &mut lines);
            self.pending.extend(lines);
        }
    }
}

/// A client's request/reply connection to upsd.
pub struct ClientConn<S> {
    stream: S,
    buffer: Vec<u8>,
    timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientConn<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        ClientConn {
            stream,
            buffer: Vec::new(),
            timeout: REPLY_TIMEOUT,
        }
    }

    /// Sets the per-line read timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends one request line (LF added).
    pub async fn send(&mut self, line: &str) -> io::Result<()> {
        let mut data = Vec::with_capacity(line.len() + 1);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        self.stream.write_all(&data).await?;
        self.stream.flush().await
    }

    /// Reads one reply line (without LF), bounded in size and time.
    pub async fn read_line(&mut self) -> io::Result<String> {
        match tokio::time::timeout(self.timeout, self.read_line_inner()).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "read timeout")),
        }
    }

    async fn read_line_inner(&mut self) -> io::Result<String> {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        loop {
            if let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                return Ok(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            if self.buffer.len() > MAX_REPLY_LINE_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "reply line too long",
                ));
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "Server disconnected",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a request and reads its one-line reply.
    pub async fn request(&mut self, line: &str) -> io::Result<String> {
        self.send(line).await?;
        self.read_line().await
    }

    /// Sends a LIST request and reads the block; returns the item lines, or the ERR line
    /// as an `Err` string when upsd refused.
    pub async fn list(&mut self, query: &str) -> io::Result<Result<Vec<String>, String>> {
        let first = self.request(&format!("LIST {query}")).await?;
        if first.starts_with("ERR") {
            return Ok(Err(first));
        }
        if !first.starts_with("BEGIN LIST") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("protocol error: {first}"),
            ));
        }
        let mut items = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line.starts_with("END LIST") {
                return Ok(Ok(items));
            }
            items.push(line);
        }
    }

    /// The underlying stream.
    pub fn into_inner(self) -> S {
        self.stream
    }
}
