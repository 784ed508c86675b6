//! STARTTLS with rustls: upsd's side (CERTFILE, a PEM file holding the certificate
//! chain and the private key, as NUT's OpenSSL build expects), upsmon's side (CERTPATH
//! trust anchors, CERTVERIFY, FORCESSL), and a stream type that starts plain and becomes
//! TLS in the middle of a connection. The PEM files are read by the caller (no IO here).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

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
    /// After a successful handshake (either side).
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
        MaybeTls::Plain(plain) => Ok(MaybeTls::Tls(Box::new(TlsStream::Server(
            acceptor.accept(plain).await?,
        )))),
        MaybeTls::Tls(_) => Err(io::Error::other("already in TLS mode")),
    }
}

/// Upgrades a plain client stream after `OK STARTTLS`, checking the server's name.
pub async fn upgrade_client<T: AsyncRead + AsyncWrite + Unpin>(
    stream: MaybeTls<T>,
    connector: &TlsConnector,
    host: &str,
) -> io::Result<MaybeTls<T>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
    match stream {
        MaybeTls::Plain(plain) => Ok(MaybeTls::Tls(Box::new(TlsStream::Client(
            connector.connect(name, plain).await?,
        )))),
        MaybeTls::Tls(_) => Err(io::Error::other("already in TLS mode")),
    }
}

/// upsd's TLS side (CERTFILE), as `upsd::wire` builds it.
pub type Acceptor = TlsAcceptor;
/// A TLS client (upsmon's CERTPATH, CERTVERIFY), as `upsmon::wire` builds it.
pub type Connector = TlsConnector;

/// Most flights of a handshake run in memory ([`handshake_in_memory`]).
pub const MAX_HANDSHAKE_FLIGHTS: usize = 16;

/// A whole TLS handshake between `connector` (for `host`) and `acceptor`, in memory,
/// with the same configurations and checks as a handshake over a socket: the event-
/// jumping simulation uses it to learn whether a STARTTLS would succeed.
pub fn handshake_in_memory(
    connector: &TlsConnector,
    acceptor: &TlsAcceptor,
    host: &str,
) -> Result<(), String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
    let mut client = rustls::ClientConnection::new(connector.config().clone(), name)
        .map_err(|e| e.to_string())?;
    let mut server =
        rustls::ServerConnection::new(acceptor.config().clone()).map_err(|e| e.to_string())?;
    for _ in 0..MAX_HANDSHAKE_FLIGHTS {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut flight = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut flight).map_err(|e| e.to_string())?;
        }
        server
            .read_tls(&mut flight.as_slice())
            .map_err(|e| e.to_string())?;
        server.process_new_packets().map_err(|e| e.to_string())?;
        let mut flight = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut flight).map_err(|e| e.to_string())?;
        }
        client
            .read_tls(&mut flight.as_slice())
            .map_err(|e| e.to_string())?;
        client.process_new_packets().map_err(|e| e.to_string())?;
    }
    Err("TLS handshake did not finish".to_string())
}

/// The TLS client of upsmon and the CLIs: trust anchors are every certificate in the PEM texts of
/// CERTPATH (a file, or the files of a directory). With `verify` false (CERTVERIFY 0)
/// the connection is encrypted but the server is not authenticated, as in NUT.
pub fn connector(trust_pems: &[Vec<u8>], verify: bool) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        for pem in trust_pems {
            for cert in CertificateDer::pem_slice_iter(pem).flatten() {
                roots
                    .add(cert)
                    .map_err(|e| format!("CERTPATH: unusable certificate: {e}"))?;
            }
        }
        if roots.is_empty() {
            return Err("CERTVERIFY 1 needs CERTPATH with at least one CA certificate".into());
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Accepts any server certificate (CERTVERIFY 0) but still checks handshake signatures.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
