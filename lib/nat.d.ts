// Types for lib/nat.js (hyperdht 6.34's lib/nat.js: `require('hyperdht-rs/lib/nat')`): NAT
// sampling that classifies our firewall from how DHT nodes see us. The engine samples on its own;
// this class is for code that uses the module directly.

declare namespace Nat {
  interface Address { host: string; port: number }
  /** One observed address and how many nodes reported it. */
  interface Sample extends Address { hits: number }
  /** What a ping resolves to: the node that answered (`from`) and how it saw us (`to`). */
  interface Pong { from?: Address | null; to?: Address | null }
  /** What Nat needs of the DHT: `firewalled`; for `autoSample`, its routing table and `ping`. */
  interface Host {
    readonly firewalled: boolean
    toArray?(): Address[]
    ping?(node: Address, opts?: any): Promise<Pong | null>
  }
  /** A dht-rpc session; its `ping` is used instead of the DHT's when given. */
  interface Session {
    ping(node: Address, opts?: any): Promise<Pong | null>
  }
}

declare class Nat {
  constructor(dht: Nat.Host, session: Nat.Session | null, socket: unknown)
  readonly dht: Nat.Host
  readonly session: Nat.Session | null
  readonly socket: unknown
  /** samples taken */
  readonly sampled: number
  /** a `FIREWALL` code (lib/constants) */
  firewall: number
  /** our addresses as far as the samples tell (null while UNKNOWN) */
  addresses: Nat.Sample[] | null
  frozen?: boolean
  /** resolves once enough samples arrived (or sampling gave up) */
  readonly analyzing: Promise<void>
  /** Pings up to 4 routing-table nodes (newest first) and adds what they report; retries once. */
  autoSample(retry?: boolean): void
  /** One sample: `from` saw us at `addr` (one per node counts). */
  add(addr: Nat.Address, from: Nat.Address): void
  update(): void
  freeze(): void
  unfreeze(): void
  destroy(): void
}

export = Nat
