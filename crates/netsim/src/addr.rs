//! The address plan. Public hosts get addresses from 198.18.0.0/15 (RFC 2544 benchmarking),
//! NATs' public sides from 203.0.113.0/24 (TEST-NET-3, then 198.51.100.0/24 TEST-NET-2), hosts
//! behind a NAT private 10.x addresses (one /24 per NAT). None of these exists on a real
//! network, so nothing simulated can be mistaken for a real peer.
//!
//! Note: upstream's `bogon.isReserved` (used by hyperdht `lib/connect.js`) counts 198.18.0.0/15
//! and both TEST-NETs as reserved; the Rust port's `is_reserved` does not. A port that follows
//! upstream there would skip these addresses, so the plan is overridable: pass explicit
//! addresses to [`HostConfig`](crate::HostConfig) / [`NatConfig`](crate::NatConfig).

use std::net::Ipv4Addr;

/// First public host address.
pub const PUBLIC_BASE: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// Size of the public host range (a /15).
const PUBLIC_SPAN: u32 = 1 << 17;
/// NAT public addresses: TEST-NET-3 first, then TEST-NET-2.
const NAT_NETS: [[u8; 3]; 2] = [[203, 0, 113], [198, 51, 100]];

/// Addresses hyperdht treats as private (LAN-shareable): 10/8, 172.16/12, 192.168/16,
/// 100.64/10 (carrier-grade NAT), 169.254/16, 127/8.
pub fn is_private(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (o[0] == 100 && (64..128).contains(&o[1]))
}

/// Hands out addresses in a fixed order, so the same topology code gives the same addresses.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddrPlan {
    public: u32,
    nat: u32,
}

impl AddrPlan {
    /// The next public host address (skips .0 and .255).
    pub(crate) fn public(&mut self) -> Ipv4Addr {
        loop {
            assert!(
                self.public < PUBLIC_SPAN,
                "netsim: public address range 198.18.0.0/15 exhausted"
            );
            let ip = Ipv4Addr::from(u32::from(PUBLIC_BASE) + self.public);
            self.public += 1;
            let last = ip.octets()[3];
            if last != 0 && last != 255 {
                return ip;
            }
        }
    }

    /// The next NAT public address (.1 to .254 of each net).
    pub(crate) fn nat(&mut self) -> Ipv4Addr {
        let net = (self.nat / 254) as usize;
        assert!(
            net < NAT_NETS.len(),
            "netsim: {} NAT addresses used up; give NatConfig::public_ip explicitly",
            254 * NAT_NETS.len()
        );
        let [a, b, c] = NAT_NETS[net];
        let ip = Ipv4Addr::new(a, b, c, (self.nat % 254) as u8 + 1);
        self.nat += 1;
        ip
    }

    /// The `n`-th private address behind NAT number `nat`: 10.(nat / 256).(nat % 256).(n + 2).
    pub(crate) fn private(nat: usize, n: usize) -> Ipv4Addr {
        assert!(n < 253, "netsim: more than 253 hosts behind one NAT");
        assert!(nat < 1 << 16, "netsim: too many NATs for the 10/8 plan");
        Ipv4Addr::new(10, (nat >> 8) as u8, nat as u8, n as u8 + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_fixed_and_skips_network_and_broadcast() {
        let mut p = AddrPlan::default();
        assert_eq!(p.public(), Ipv4Addr::new(198, 18, 0, 1));
        for _ in 0..253 {
            p.public();
        }
        assert_eq!(p.public(), Ipv4Addr::new(198, 18, 1, 1));
        assert_eq!(p.nat(), Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(AddrPlan::private(3, 0), Ipv4Addr::new(10, 0, 3, 2));
        assert!(is_private(AddrPlan::private(300, 5)));
        assert!(!is_private(Ipv4Addr::new(198, 18, 0, 1)));
        assert!(!is_private(Ipv4Addr::new(203, 0, 113, 1)));
    }
}
