//! upsd's zeroconf announcer (real only): nut-core's mDNS responder
//! (`nut_core::mdns`) on IPv4 multicast sockets.
//!
//! Links come from upsd's LISTEN addresses: a loopback address is announced on the
//! loopback interface only (nothing leaves the machine), a wildcard address (`0.0.0.0`
//! or `::`) on every interface that is up and multicast-capable, and any other IPv4
//! address on its own interface. IPv6-only LISTEN addresses are not announced (not yet).
//!
//! One socket per link sends (bound to the link's address and port 5353, as RFC 6762
//! §6 wants answers to come from port 5353) and one socket bound to the group
//! receives. Both share the port with the system's responder and other browsers
//! (SO_REUSEADDR, SO_REUSEPORT). Any failure is logged once and upsd goes on serving
//! without announcements: zeroconf never stops upsd.

use crate::seam::Sys;
use nut_core::event::Event;
use nut_core::mdns::{self, Dest, Responder, Service};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::FromRawFd;
use tokio::net::UdpSocket;

/// An interface address and its netmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The address announced on this link.
    pub addr: Ipv4Addr,
    /// Its netmask: a query from inside the subnet is answered on this link only.
    pub netmask: Ipv4Addr,
}

impl Link {
    fn holds(&self, peer: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask);
        u32::from(self.addr) & mask == u32::from(peer) & mask
    }
}

/// An IPv4 interface address: address, netmask, flags.
#[derive(Debug, Clone, Copy)]
pub struct Interface {
    /// Address.
    pub addr: Ipv4Addr,
    /// Netmask.
    pub netmask: Ipv4Addr,
    /// Up and multicast-capable, not loopback.
    pub multicast: bool,
}

/// The machine's IPv4 interface addresses (`getifaddrs`).
pub fn interfaces() -> Vec<Interface> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we only read and free
    // with freeifaddrs; every pointer is checked for null before it is read.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cursor = list;
        while !cursor.is_null() {
            let entry = &*cursor;
            cursor = entry.ifa_next;
            if entry.ifa_addr.is_null() || entry.ifa_netmask.is_null() {
                continue;
            }
            if i32::from((*entry.ifa_addr).sa_family) != libc::AF_INET {
                continue;
            }
            let addr = &*(entry.ifa_addr as *const libc::sockaddr_in);
            let mask = &*(entry.ifa_netmask as *const libc::sockaddr_in);
            let flags = entry.ifa_flags as libc::c_int;
            let multicast = flags & libc::IFF_UP != 0
                && flags & libc::IFF_MULTICAST != 0
                && flags & libc::IFF_LOOPBACK == 0;
            out.push(Interface {
                addr: Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
                netmask: Ipv4Addr::from(u32::from_be(mask.sin_addr.s_addr)),
                multicast,
            });
        }
        libc::freeifaddrs(list);
    }
    out
}

/// The links and the port to announce for upsd's LISTEN addresses (`host:port`, IPv6 in
/// brackets). The port is the first announced address's.
pub fn links_for(listen: &[String], interfaces: &[Interface]) -> (Vec<Link>, Option<u16>) {
    let mut links: Vec<Link> = Vec::new();
    let mut port = None;
    for addr in listen {
        let Ok(addr) = addr.parse::<SocketAddr>() else {
            continue;
        };
        let found: Vec<Link> = match addr.ip() {
            ip if ip.is_unspecified() => interfaces
                .iter()
                .filter(|i| i.multicast)
                .map(|i| Link {
                    addr: i.addr,
                    netmask: i.netmask,
                })
                .collect(),
            std::net::IpAddr::V4(v4) if v4.is_loopback() => vec![Link {
                addr: v4,
                netmask: Ipv4Addr::new(255, 0, 0, 0),
            }],
            std::net::IpAddr::V4(v4) => interfaces
                .iter()
                .filter(|i| i.addr == v4)
                .map(|i| Link {
                    addr: i.addr,
                    netmask: i.netmask,
                })
                .collect(),
            std::net::IpAddr::V6(_) => Vec::new(),
        };
        if !found.is_empty() && port.is_none() {
            port = Some(addr.port());
        }
        for link in found {
            if !links.contains(&link) {
                links.push(link);
            }
        }
    }
    (links, port)
}

/// The host name (`gethostname`), first label only.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many
    // bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = if rc == 0 {
        String::from_utf8_lossy(&buf[..len]).into_owned()
    } else {
        String::new()
    };
    let first = name.split('.').next().unwrap_or("").to_string();
    if first.is_empty() {
        "upsd".to_string()
    } else {
        first
    }
}

/// `setsockopt` with a plain value.
fn setsockopt<T>(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` is a live reference for the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A UDP socket sharing its port (SO_REUSEADDR and SO_REUSEPORT), bound to `bind`.
fn shared_udp(bind: SocketAddrV4) -> io::Result<std::net::UdpSocket> {
    // SAFETY: a fresh descriptor, owned by the returned socket (or closed on error).
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let socket = std::net::UdpSocket::from_raw_fd(fd);
        setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &1 as &libc::c_int)?;
        setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, &1 as &libc::c_int)?;
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: bind.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*bind.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(socket)
    }
}

/// Sets the interface multicast leaves by (IP_MULTICAST_IF).
fn multicast_if(socket: &std::net::UdpSocket, addr: Ipv4Addr) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::in_addr {
        s_addr: u32::from(addr).to_be(),
    };
    setsockopt(
        socket.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &value,
    )
}

struct Sockets {
    receive: UdpSocket,
    send: Vec<UdpSocket>,
}

fn open(links: &[Link]) -> io::Result<Sockets> {
    let group = Ipv4Addr::from(mdns::MDNS_GROUP_V4);
    let receive = shared_udp(SocketAddrV4::new(group, mdns::MDNS_PORT))?;
    for link in links {
        receive.join_multicast_v4(&group, &link.addr)?;
    }
    let mut send = Vec::new();
    for link in links {
        let socket = shared_udp(SocketAddrV4::new(link.addr, mdns::MDNS_PORT))?;
        multicast_if(&socket, link.addr)?;
        // RFC 6762 §11: mDNS packets carry IP TTL 255.
        socket.set_multicast_ttl_v4(255)?;
        socket.set_ttl(255)?;
        socket.set_multicast_loop_v4(true)?;
        send.push(UdpSocket::from_std(socket)?);
    }
    Ok(Sockets {
        receive: UdpSocket::from_std(receive)?,
        send,
    })
}

/// What the announcer is asked to announce.
#[derive(Debug, Clone)]
pub struct Announce {
    /// Instance name (the host name unless set).
    pub instance: String,
    /// upsd's LISTEN addresses.
    pub listen: Vec<String>,
    /// The UPS names (`device_list`).
    pub devices: Vec<String>,
}

/// Announces upsd until `stop` resolves, then says goodbye. Never returns an error:
/// a problem is logged once and the announcer stops.
pub async fn announce<S: Sys>(sys: S, what: Announce, stop: impl std::future::Future<Output = ()>) {
    let (links, port) = links_for(&what.listen, &interfaces());
    let Some(port) = port else {
        sys.event(Event::ZeroconfUnavailable {
            error: "no LISTEN address is on an IPv4 multicast interface".into(),
        });
        return;
    };
    let sockets = match open(&links) {
        Ok(sockets) => sockets,
        Err(e) => {
            sys.event(Event::ZeroconfUnavailable {
                error: format!("multicast socket on port {}: {e}", mdns::MDNS_PORT),
            });
            return;
        }
    };
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    // RFC 6762 §8.1: a random delay of up to 250 ms before the first probe.
    let jitter = u64::from(std::process::id()) % mdns::PROBE_INTERVAL_MS;
    let mut responder = Responder::new(
        Service {
            instance: what.instance,
            host: host_name(),
            port,
            devices: what.devices,
            links: links.iter().map(|l| l.addr.octets()).collect(),
        },
        now(),
        jitter,
    );
    let send = |out: mdns::Output| {
        for note in out.notes {
            sys.event(Event::Zeroconf(note));
        }
        for packet in out.packets {
            let Some(socket) = sockets.send.get(packet.link) else {
                continue;
            };
            let to = match packet.to {
                Dest::Multicast => {
                    SocketAddrV4::new(Ipv4Addr::from(mdns::MDNS_GROUP_V4), mdns::MDNS_PORT)
                }
                Dest::Unicast(ip, port) => SocketAddrV4::new(Ipv4Addr::from(ip), port),
            };
            // A full send buffer loses this packet; mDNS repeats what matters.
            if let Err(e) = socket.try_send_to(&packet.bytes, to.into()) {
                sys.log(format!("zeroconf: send to {to}: {e}"));
            }
        }
    };
    let mut buf = vec![0u8; mdns::MAX_PACKET_BYTES];
    tokio::pin!(stop);
    loop {
        let timer = responder.next_timer();
        let sleep = async {
            match timer {
                Some(at) => {
                    tokio::time::sleep_until(start + std::time::Duration::from_millis(at)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = &mut stop => {
                send(responder.goodbye());
                return;
            }
            received = sockets.receive.recv_from(&mut buf) => {
                let Ok((len, SocketAddr::V4(from))) = received else { continue };
                let link = links.iter().position(|l| l.holds(*from.ip()));
                let out = responder.on_packet(
                    link,
                    (from.ip().octets(), from.port()),
                    &buf[..len],
                    now(),
                );
                send(out);
            }
            () = sleep => {
                let out = responder.on_timer(now());
                send(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_follow_the_listen_addresses() {
        let ifaces = [
            Interface {
                addr: Ipv4Addr::new(127, 0, 0, 1),
                netmask: Ipv4Addr::new(255, 0, 0, 0),
                multicast: false,
            },
            Interface {
                addr: Ipv4Addr::new(192, 0, 2, 2),
                netmask: Ipv4Addr::new(255, 255, 255, 0),
                multicast: true,
            },
            Interface {
                addr: Ipv4Addr::new(10, 1, 1, 1),
                netmask: Ipv4Addr::new(255, 255, 0, 0),
                multicast: true,
            },
        ];
        let (links, port) = links_for(&["127.0.0.1:3493".into()], &ifaces);
        assert_eq!(port, Some(3493));
        assert_eq!(links.len(), 1);
        assert!(links[0].holds(Ipv4Addr::new(127, 0, 0, 9)));
        let (links, port) = links_for(&["[::]:3493".into(), "0.0.0.0:3493".into()], &ifaces);
        assert_eq!(port, Some(3493));
        let addrs: Vec<Ipv4Addr> = links.iter().map(|l| l.addr).collect();
        assert_eq!(
            addrs,
            vec![Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(10, 1, 1, 1)]
        );
        let (links, _) = links_for(&["10.1.1.1:4000".into(), "[::1]:3493".into()], &ifaces);
        assert_eq!(links.len(), 1);
        assert!(links[0].holds(Ipv4Addr::new(10, 1, 200, 3)));
        assert!(!links[0].holds(Ipv4Addr::new(192, 0, 2, 3)));
        assert_eq!(links_for(&["[::1]:3493".into()], &ifaces), (vec![], None));
    }
}
