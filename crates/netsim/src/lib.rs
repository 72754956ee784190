//! A deterministic in-memory IPv4/UDP network with a virtual clock and NAT models, for running
//! many sans-IO hyperdht / dht-rpc nodes in one test thread.
//!
//! # Model
//!
//! * **Time** is virtual ([`clock`]): it starts at one `Instant::now()` captured per process
//!   and moves only when the simulation moves it.
//! * **Randomness** (loss, jitter, NAT ports) comes from one seeded PRNG ([`rng::Rng`]): the
//!   same seed and the same calls give the same packet order, ports and losses. Endpoints
//!   with their own randomness should be seeded too ([`Net::sub_seed`]); dht-rpc's `Node`
//!   uses the thread RNG for ids and tids, so runs with it repeat the network, not the nodes.
//!   Put [`seed_tag`] / [`Net::tag`] in assertion messages and read the seed from
//!   `NETSIM_SEED` with [`seed_from_env`].
//! * **Topology** ([`topology`]): public hosts sit on the internet (198.18.0.0/15); hosts
//!   behind a NAT ([`NatConfig`]) sit on its LAN with private 10.x addresses and reach each
//!   other directly; NATs' public sides are 203.0.113.x. A firewall is a NAT device that does
//!   not translate, with public hosts behind it. See [`addr`] for the address plan.
//! * **Paths** ([`path`]): sender's access link → its NAT (mapping made or refreshed, 1
//!   router) → internet ([`NetConfig::internet_hops`] routers, [`NetConfig::internet`] link)
//!   → receiver's NAT (1 router; mapping and filter checked at arrival) → receiver's access
//!   link. Hosts on one LAN skip NAT and internet ([`NetConfig::lan`] link). Each router
//!   spends one TTL; a datagram whose TTL runs out is dropped there, so a low-TTL probe opens
//!   the sender's mapping yet never arrives. Defaults: 10 ms one-way on the internet, 1 ms on
//!   a LAN, no loss, no jitter, FIFO per flow.
//! * **NATs** ([`nat`]): [`Mapping`] (none / endpoint-independent port-preserving / random per
//!   destination) × [`Filtering`] (endpoint-independent / address / address+port), hairpin on
//!   or off, idle timeout (30 s, refreshed by outbound traffic), [`Net::reset_nats`].
//!   [`NatClass`] gives the four classes hyperdht tells apart as one-call presets.
//!
//! # API
//!
//! ```text
//! Net::new(seed) / Net::with_config(seed, NetConfig{internet, lan, internet_hops, trace_capacity})
//! net.now() ; advance_to(t) ; advance(d) ; seed() ; tag() -> "seed=N" ; sub_seed(i)
//! net.add_nat(NatConfig::{firewall(), consistent(ip), random(ip)}.filtering(..).hairpin(..)
//!             .timeout(..)) -> NatId                     // try_add_nat -> Result<_, TopologyError>
//! net.add_host(HostConfig::public(ip) | HostConfig::behind(ip, nat) .link(..)) -> HostId
//! net.add_host_class(NatClass::{Open, Firewalled, Consistent, Random}) -> HostId
//! net.add_public_host() ; add_lan_host(nat) ; alloc_public_ip() ; alloc_nat_ip() ; alloc_lan_ip(nat)
//! net.bind(host, port) ; bind_any(host) ; unbind(host, port)   // unbound ports: no-listener
//! net.send(host, src_port, dst, data, ttl: Option<u32>)
//! net.next_delivery_time() ; pop_due(now) -> Option<Delivery{host, dst_port, from, data, at}>
//! net.counters() -> Counters{sent, delivered, loss, filtered, ttl, no_route, no_listener,
//!                            hairpin, mappings} ; host_counters(host)
//! net.nat_mappings(nat) ; reset_nat(nat) ; reset_nats() ; nat_config_mut(nat) ; set_host_link(..)
//! net.trace() ; trace_dump(n) -> String (seed first) ; set_trace_capacity(n)
//!
//! trait Endpoint { handle_datagram(local_port, from, &data, now) ; handle_timeout(now) ;
//!                  poll_transmit() -> Option<Transmit{src_port, to, data, ttl}> ;
//!                  poll_timeout() -> Option<Instant> }
//! World::<E>::new(net) ; world.add(host, endpoint) -> usize ; endpoint(i) ; endpoint_mut(i)
//! world.step() -> bool ; run_until(t) ; run_for(d) ; run_until_cond(deadline, |w| ..) -> bool
//! world.settle() ; set_event_limit(n)   // default 100 000 events at one instant, then panic
//! ```
//!
//! A [`World`] hands an endpoint every datagram that reaches its host, whatever the port: the
//! endpoint decides what an unused port does. Deliveries run before timers at the same
//! instant; ties go by send order and endpoint index.
//!
//! # Example
//!
//! ```
//! use hyperdht_netsim::{NatClass, Net};
//! use std::net::SocketAddrV4;
//!
//! let mut net = Net::new(hyperdht_netsim::seed_from_env(1));
//! let client = net.add_host_class(NatClass::Consistent);
//! let server = net.add_host_class(NatClass::Open);
//! net.bind(server, 80);
//! net.send(client, 5000, SocketAddrV4::new(net.host_ip(server), 80), b"hi".to_vec(), None);
//! let t = net.next_delivery_time().unwrap();
//! let d = net.pop_due(t).expect("delivered");
//! // port kept by the masquerade-like NAT
//! assert_eq!(d.from, SocketAddrV4::new(net.public_ip(client), 5000), "{}", net.tag());
//! ```
//!
//! # What dht-rpc concludes (`tests/dht_rpc_nat.rs`)
//!
//! With a default (adaptive) dht-rpc node bootstrapping from public nodes: open → not
//! firewalled, sampler = own address with the *server* port (the firewall check's sampler is
//! adopted); firewalled → firewalled, own address and client port; consistent (any filtering,
//! even full cone) → firewalled, NAT address and the preserved client port; random →
//! firewalled, NAT address with port 0 (samples disagree), each node sees another port.
//! After ~20 minutes only the open node turns persistent.
//!
//! Latency is not needed for the quick firewall check (`_bootstrap`: one PING_NAT after the
//! first bootstrap reply), but network size is: the reply only counts while the bootstrap
//! query still runs, and with the bootstrapper plus at most two nodes the query ends in the
//! same round trip, so an open node stays firewalled (always with fixed latency, on about
//! half the seeds with jitter) until the 20-minute check. Use at least three nodes besides
//! the bootstrapper.
#![forbid(unsafe_code)]

pub mod addr;
pub mod clock;
pub mod link;
pub mod nat;
mod net;
pub mod path;
pub mod rng;
pub mod seed;
pub mod stats;
pub mod topology;
pub mod trace;
pub mod world;

pub use link::Link;
pub use nat::{Filtering, Mapping, MappingView, NatConfig};
pub use net::{Delivery, Net, NetConfig};
pub use path::DEFAULT_TTL;
pub use seed::{seed_from_env, seed_tag, SEED_ENV};
pub use stats::{Counters, DropReason, HostCounters};
pub use topology::{HostConfig, HostId, NatClass, NatId, TopologyError};
pub use trace::{TraceEntry, TraceKind};
pub use world::{Endpoint, Transmit, World};
