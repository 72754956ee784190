//! `Holepuncher.localAddresses(dht.io.serverSocket)` (hyperdht lib/holepuncher.js): the
//! addresses a peer on our LAN can reach our server socket at, which a server shares in its
//! handshake payload (`shareLocalAddress`) and a client in its own (`localConnection`), and
//! which both match against the other side's private addresses (`matchAddress`) when the two
//! share a public IP (the same NAT).
//!
//! Upstream: a socket bound to 127.0.0.1 has only that address; otherwise every running,
//! non-internal IPv4 interface address (udx-native `networkInterfaces()`, libuv
//! `uv_interface_addresses`) with the socket's port, 127.0.0.1 when there is none. The bound
//! address itself is not used: a socket bound to 0.0.0.0 (the default) is reachable at all of
//! them.
//!
//! Upstream's server also pings each address from a socket bound to it before sharing it
//! (`validateLocalAddresses`, cached per host); we share the list as is, like upstream's client
//! does (an address that does not answer costs the peer one unanswered LAN ping, after which it
//! holepunches as it would have anyway).

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

/// The local addresses of a server socket bound to `bound` (see the module doc).
pub fn local_addresses(bound: SocketAddrV4) -> Vec<SocketAddrV4> {
    let port = bound.port();
    if *bound.ip() == Ipv4Addr::LOCALHOST {
        return vec![bound];
    }
    from_interfaces(interface_ipv4s(), port)
}

/// Every running interface's IPv4 address with whether it is internal (loopback); empty when
/// the list cannot be read.
fn interface_ipv4s() -> Vec<(Ipv4Addr, bool)> {
    if_addrs::get_if_addrs()
        .map(|list| {
            list.into_iter()
                .filter(|i| i.is_oper_up())
                .filter_map(|i| match i.ip() {
                    IpAddr::V4(ip) => Some((ip, i.is_loopback())),
                    IpAddr::V6(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The rule itself, on a given interface list: the non-internal ones, else 127.0.0.1.
fn from_interfaces(ifaces: Vec<(Ipv4Addr, bool)>, port: u16) -> Vec<SocketAddrV4> {
    let mut out: Vec<SocketAddrV4> = ifaces
        .into_iter()
        .filter(|(_, internal)| !internal)
        .map(|(ip, _)| SocketAddrV4::new(ip, port))
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_bound_socket_has_only_its_address() {
        assert_eq!(
            local_addresses(a("127.0.0.1:4000")),
            vec![a("127.0.0.1:4000")]
        );
    }

    #[test]
    fn every_non_internal_interface_with_the_port() {
        let ifaces = vec![
            ("127.0.0.1".parse().unwrap(), true),
            ("10.0.0.3".parse().unwrap(), false),
            ("172.17.0.1".parse().unwrap(), false),
        ];
        assert_eq!(
            from_interfaces(ifaces, 5000),
            vec![a("10.0.0.3:5000"), a("172.17.0.1:5000")]
        );
    }

    #[test]
    fn only_internal_interfaces_fall_back_to_localhost() {
        let ifaces = vec![("127.0.0.1".parse().unwrap(), true)];
        assert_eq!(from_interfaces(ifaces, 7), vec![a("127.0.0.1:7")]);
        assert_eq!(from_interfaces(Vec::new(), 7), vec![a("127.0.0.1:7")]);
    }

    #[test]
    fn an_unspecified_bind_lists_this_hosts_interfaces() {
        // whatever this machine has: never the unspecified address itself, always the port
        let got = local_addresses(a("0.0.0.0:6000"));
        assert!(!got.is_empty());
        for g in got {
            assert_eq!(g.port(), 6000);
            assert!(!g.ip().is_unspecified());
        }
    }
}
