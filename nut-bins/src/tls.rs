//! STARTTLS for upsd with rustls: loading CERTFILE (a PEM file holding the certificate
//! chain and the private key, as NUT's OpenSSL build expects) and a stream type that
//! starts plain and becomes TLS in the middle of a connection.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Builds the TLS acceptor from CERTFILE's contents. Errors name what is wrong, so a
/// bad certificate stops upsd at start-up with a clear message instead of failing
/// quietly at the first client (NUT's P7 pain point).
pub fn acceptor_from_pem(path: &str, pem: &[u8]) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("CERTFILE {path}: unreadable certificate: {e:?}"))?;
    if certs.is_empty() {
        return Err(format!("CERTFILE {path}: no CERTIFICATE block found"));
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!("CERTFILE {path}: no usable PRIVATE KEY block (it must hold the certificate and its key): {e:?}")
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!("CERTFILE {path}: certificate and key do not match or are unsupported: {e}")
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A client connection: plain until STARTTLS, then TLS.
pub enum MaybeTls<T> {
    /// Before (or without) STARTTLS.
    Plain(T),
    /// After a successful handshake.
    Tls(Box<TlsStream<T>>),
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Upgrades a plain stream with the acceptor; a stream already in TLS is an error.
pub async fn upgrade<T: AsyncRead + AsyncWrite + Unpin>(
    stream: MaybeTls<T>,
    acceptor: &TlsAcceptor,
) -> io::Result<MaybeTls<T>> {
    match stream {
        MaybeTls::Plain(plain) => Ok(MaybeTls::Tls(Box::new(acceptor.accept(plain).await?))),
        MaybeTls::Tls(_) => Err(io::Error::other("already in TLS mode")),
    }
}
