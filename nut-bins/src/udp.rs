//! The real SNMP transport: a UDP socket connected to the agent (the simulation has
//! its own [`crate::snmp::SnmpPort`]).

use crate::snmp::{agent_address, SnmpPort};
use nut_core::snmp::MAX_MESSAGE_BYTES;
use std::io;
use std::time::Duration;
use tokio::net::UdpSocket;

/// A UDP socket connected to one agent.
pub struct UdpAgent {
    socket: UdpSocket,
}

impl UdpAgent {
    /// Resolves `host` (`host`, `host:port`, `[v6]:port`; port 161 by default) and
    /// connects a socket of the same family to it.
    pub async fn connect(host: &str) -> io::Result<UdpAgent> {
        let address = agent_address(host);
        let target = tokio::net::lookup_host(&address)
            .await?
            .next()
            .ok_or_else(|| io::Error::other(format!("cannot resolve {address}")))?;
        let local = if target.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(target).await?;
        Ok(UdpAgent { socket })
    }
}

impl SnmpPort for UdpAgent {
    async fn send(&mut self, request: Vec<u8>) -> io::Result<()> {
        self.socket.send(&request).await.map(|_| ())
    }

    async fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; MAX_MESSAGE_BYTES];
        match tokio::time::timeout(timeout, self.socket.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                buf.truncate(n);
                Some(buf)
            }
            // ICMP port unreachable shows as an error: wait out the timeout as for
            // silence, so retries keep NUT's pace.
            Ok(Err(_)) => {
                tokio::time::sleep(timeout).await;
                None
            }
            Err(_) => None,
        }
    }
}
