//! The client side shared by the CLIs (`upsc`, `upscmd`, `upsrw`, `upslog`):
//! connecting to `ups[@host[:port]]`, GET and LIST with NUT's reply checks, error texts
//! as NUT's client library prints them, STARTTLS, and waiting for a TRACKING result.
//!
//! STARTTLS follows NUT's client library: every connection first tries it
//! (`UPSCLI_CONN_TRYSSL`) and goes on in plain text when upsd does not offer it. Three
//! environment variables, named after upsmon.conf's directives, tighten that for every
//! client at once: `NUT_FORCESSL=1` refuses to go on without TLS, `NUT_CERTVERIFY=1`
//! also verifies upsd's certificate and name, against the CAs in `NUT_CERTPATH` (a PEM
//! file or a directory of them; the system's bundle when unset).

use crate::lines::ClientConn;
use crate::real::{RealSys, TokioNet};
use crate::seam::Net;
use crate::session::establish;
use crate::tls::MaybeTls;
use nut_core::config::parse_system_name;
use nut_core::proto::{format_request, parse_reply, ErrCode};
use nut_core::session::{SessionError, SessionPlan, TlsMode};
use std::io;
use std::time::Duration;
use tokio::net::TcpStream;

/// A connection to upsd, in TLS after a successful STARTTLS.
pub type Conn = ClientConn<MaybeTls<TcpStream>>;

/// The CA bundle verification uses when `NUT_CERTPATH` is not set (Debian's).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How a client uses STARTTLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsPolicy {
    /// Fail when upsd does not offer STARTTLS (`NUT_FORCESSL=1`).
    pub force: bool,
    /// Verify upsd's certificate and name (`NUT_CERTVERIFY=1`; implies `force`).
    pub verify: bool,
    /// Trusted CAs for `verify`: a PEM file or a directory of PEM files.
    pub certpath: Option<String>,
}

impl TlsPolicy {
    /// The policy from `NUT_FORCESSL`, `NUT_CERTVERIFY` and `NUT_CERTPATH`.
    pub fn from_env() -> TlsPolicy {
        let flag = |name: &str| std::env::var(name).is_ok_and(|v| v.trim() == "1");
        let verify = flag("NUT_CERTVERIFY");
        TlsPolicy {
            force: verify || flag("NUT_FORCESSL"),
            verify,
            certpath: std::env::var("NUT_CERTPATH").ok().filter(|p| !p.is_empty()),
        }
    }

    fn connector(&self) -> Result<tokio_rustls::TlsConnector, String> {
        let pems = if self.verify {
            let path = self.certpath.as_deref().unwrap_or(SYSTEM_CA_BUNDLE);
            crate::wiring::read_trust_pems(&RealSys::new("client", false), path, "NUT_CERTPATH")?
        } else {
            Vec::new()
        };
        crate::tls::connector(&pems, self.verify)
    }
}

/// upsd's default TCP port.
const DEFAULT_PORT: u16 = 3493;

/// Usage message NUT prints for a malformed `ups[@host[:port]]`.
pub const INVALID_UPS: &str =
    "Error: invalid UPS definition.  Required format: upsname[@hostname[:port]]";

/// Splits `ups[@host[:port]]` the way NUT 2.8.0's `upscli_splitname` does: without `@`
/// the whole text is the UPS name on localhost:3493 (so `ups:port` is a UPS name), and
/// an empty name before `@` is accepted (upsd then answers `UNKNOWN-UPS`).
pub fn split_name(spec: &str) -> Result<(String, String, u16), String> {
    match spec.split_once('@') {
        None => Ok((spec.to_string(), "localhost".to_string(), DEFAULT_PORT)),
        Some((ups, rest)) => parse_system_name(&format!("x@{rest}"))
            .map(|(_, host, port)| (ups.to_string(), host, port)),
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReqError {
    /// upsd answered `ERR <code>`.
    Server(ErrCode),
    /// The reply did not echo the query.
    Protocol,
    /// The connection failed (text as NUT's clients print it).
    Io(String),
}

impl ReqError {
    /// The text `upscli_strerror` gives for this failure.
    pub fn message(&self) -> String {
        match self {
            ReqError::Server(code) => code.client_message().to_string(),
            ReqError::Protocol => "Protocol error".to_string(),
            ReqError::Io(text) => text.clone(),
        }
    }
}

/// The text NUT's client library prints for a socket error.
pub fn io_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "Connection refused".to_string(),
        io::ErrorKind::UnexpectedEof => "Server disconnected".to_string(),
        io::ErrorKind::TimedOut => "Connection timed out".to_string(),
        _ => e.to_string(),
    }
}

/// Connects to `host:port` and tries STARTTLS as the environment says
/// ([`TlsPolicy::from_env`]); the error reads like NUT's `Connection failure: ...` or
/// `SSL error: ...`.
pub async fn connect(host: &str, port: u16) -> Result<Conn, String> {
    connect_with(host, port, &TlsPolicy::from_env()).await
}

/// [`connect`] with an explicit TLS policy.
pub async fn connect_with(host: &str, port: u16, policy: &TlsPolicy) -> Result<Conn, String> {
    let addr = crate::seam::socket_addr(host, port);
    let net = TokioNet::new("/nonexistent");
    let stream = net
        .connect(&addr)
        .await
        .map_err(|e| format!("Connection failure: {}", io_text(&e)))?;
    // The connector is built first, so a bad NUT_CERTPATH is reported as such.
    let connector = policy.connector().map_err(|e| format!("SSL error: {e}"))?;
    let plan = SessionPlan {
        tls: if policy.force {
            TlsMode::Require
        } else {
            TlsMode::Try
        },
        ..Default::default()
    };
    let (conn, result) = establish(stream, plan, Some(&connector), host)
        .await
        .map_err(|e| format!("SSL error: {}", io_text(&e)))?;
    match result {
        Ok(_) => Ok(conn),
        Err(SessionError::TlsRequired { reply }) => Err(format!(
            "SSL error: upsd answered STARTTLS with [{reply}], and TLS is required (NUT_FORCESSL or NUT_CERTVERIFY)"
        )),
        Err(SessionError::TlsFailed) => Err("SSL error: handshake failed".to_string()),
    }
}

/// Sends one request line built from words (quoted where needed).
pub async fn send(conn: &mut Conn, words: &[&str]) -> Result<(), ReqError> {
    let request = format_request(words);
    conn.send(request.trim_end_matches('\n'))
        .await
        .map_err(|e| ReqError::Io(io_text(&e)))
}

/// Reads one raw reply line.
pub async fn read_line(conn: &mut Conn) -> Result<String, ReqError> {
    conn.read_line()
        .await
        .map_err(|e| ReqError::Io(io_text(&e)))
}

/// Sends a request and reads the raw reply line (no error check, like `upscli_readline`).
pub async fn request(conn: &mut Conn, words: &[&str]) -> Result<String, ReqError> {
    send(conn, words).await?;
    read_line(conn).await
}

fn echoes(reply: &[String], query: &[&str]) -> bool {
    reply.len() >= query.len()
        && reply
            .iter()
            .zip(query)
            .all(|(r, q)| r.eq_ignore_ascii_case(q))
}

/// `GET <query...>`: the reply words, checked to echo the query (upscli_get).
pub async fn get(conn: &mut Conn, query: &[&str]) -> Result<Vec<String>, ReqError> {
    let mut words = vec!["GET"];
    words.extend_from_slice(query);
    let line = request(conn, &words).await?;
    let reply = parse_reply(&line).map_err(ReqError::Server)?;
    if echoes(&reply, query) {
        Ok(reply)
    } else {
        Err(ReqError::Protocol)
    }
}

/// `LIST <query...>`: the item lines as words, each checked to echo the query.
pub async fn list(conn: &mut Conn, query: &[&str]) -> Result<Vec<Vec<String>>, ReqError> {
    let request = format_request(query);
    let items = conn
        .list(request.trim_end_matches('\n'))
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => ReqError::Protocol,
            _ => ReqError::Io(io_text(&e)),
        })?;
    let lines = match items {
        Ok(lines) => lines,
        Err(err_line) => {
            return Err(ReqError::Server(
                parse_reply(&err_line).err().unwrap_or(ErrCode::Unknown),
            ))
        }
    };
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let words = parse_reply(&line).map_err(ReqError::Server)?;
        if !echoes(&words, query) {
            return Err(ReqError::Protocol);
        }
        out.push(words);
    }
    Ok(out)
}

/// Polls `GET TRACKING <id>` until the answer is no longer `PENDING` (one second apart,
/// as NUT's clients do) and returns that answer; the error is the fatal message.
pub async fn wait_tracking(conn: &mut Conn, id: &str, timeout_secs: u32) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    conn.set_timeout(Duration::from_secs(u64::from(timeout_secs)));
    loop {
        if start.elapsed().as_secs() >= u64::from(timeout_secs) {
            return Err("Can't receive status tracking information: timeout".to_string());
        }
        send(conn, &["GET", "TRACKING", id])
            .await
            .map_err(|e| format!("Can't send status tracking request: {}", e.message()))?;
        let line = read_line(conn)
            .await
            .map_err(|e| format!("Can't receive status tracking information: {}", e.message()))?;
        if !line.starts_with("PENDING") {
            return Ok(line);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Parses `-t <timeout>` like NUT's `str_to_uint`.
pub fn parse_timeout(text: &str) -> Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| {
        "Could not convert the provided value for timeout ('-t' option) to unsigned int: Invalid argument"
            .to_string()
    })
}

/// Runs `fut` on a current-thread runtime.
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> io::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(fut))
}

/// How an administrative client run ended.
pub enum End {
    /// Exit 0.
    Ok,
    /// Print the usage text and exit 0.
    Usage,
    /// Print the message on stderr and exit 1.
    Fatal(String),
}

/// Turns an [`End`] into NUT's output and exit code (`usage` printed for `End::Usage`).
pub fn finish(end: End, usage: &str) -> std::process::ExitCode {
    match end {
        End::Ok => std::process::ExitCode::SUCCESS,
        End::Usage => {
            print!("{usage}");
            std::process::ExitCode::SUCCESS
        }
        End::Fatal(message) => {
            eprintln!("{message}");
            std::process::ExitCode::FAILURE
        }
    }
}
