//! Runs nut-core's [`ClientSession`] over a stream: the one login dialogue of upsmon,
//! the command-line clients and dummy-ups's repeater.

use crate::lines::ClientConn;
use crate::tls::{upgrade_client, MaybeTls};
use nut_core::session::{ClientSession, Established, Next, SessionError, SessionPlan};
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

/// Runs the dialogue of `plan` on a fresh connection to `host` (the name TLS checks).
/// Returns the connection (in TLS after a successful STARTTLS) and how the dialogue
/// ended. An IO failure, including a failed TLS handshake, is an `Err`.
pub async fn establish<S>(
    stream: S,
    plan: SessionPlan,
    connector: Option<&TlsConnector>,
    host: &str,
) -> io::Result<(ClientConn<MaybeTls<S>>, Result<Established, SessionError>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = ClientConn::new(MaybeTls::Plain(stream));
    let mut session = ClientSession::new(plan);
    let mut next = session.start();
    loop {
        next = match next {
            Next::Send(line) => {
                let reply = conn.request(line.trim_end_matches('\n')).await?;
                session.reply(&reply)
            }
            Next::UpgradeTls => {
                let Some(connector) = connector else {
                    return Err(io::Error::other(
                        "STARTTLS accepted but no TLS client is set up",
                    ));
                };
                let upgraded = upgrade_client(conn.into_inner(), connector, host).await?;
                conn = ClientConn::new(upgraded);
                session.tls_ready(true)
            }
            Next::Done(result) => return Ok((conn, result)),
        };
    }
}
