// Types for lib/holepuncher.js (`require('hyperdht-rs/lib/holepuncher')`). Holepunching runs in the
// engine: the statics behave like hyperdht 6.34's, instances track the remote side but never punch
// (`punch()` resolves false).
import Nat = require('./nat')

declare namespace Holepuncher {
  interface Address { host: string; port: number }
  interface RemoteAddress extends Address { verified: boolean }
  /** A socket that sends probes (udx-native's `send(buffer, port, host, ttl)`, e.g. a `dht.udx` socket). */
  interface ProbeSocket {
    send(buffer: Uint8Array, port: number, host: string, ttl?: number): Promise<boolean>
  }
  /** A bound socket whose LAN addresses are asked for. */
  interface LocalSocket {
    address(): Address | null
    udx?: { networkInterfaces(): Array<{ host?: string; address?: string; family: number | string; internal: boolean }> }
  }
}

declare class Holepuncher {
  constructor(dht: Nat.Host, session: Nat.Session | null, isInitiator: boolean, remoteFirewall?: number)
  readonly dht: Nat.Host
  readonly session: Nat.Session | null
  readonly isInitiator: boolean
  readonly nat: Nat
  onconnect: (...args: any[]) => void
  onabort: () => void
  punching: boolean
  connected: boolean
  destroyed: boolean
  randomized: boolean
  remoteFirewall: number
  remoteAddresses: Holepuncher.RemoteAddress[]
  remoteHolepunching: boolean
  readonly socket: Holepuncher.ProbeSocket | null
  /** Takes the remote's latest holepunch payload; an address stays verified once it was. */
  updateRemote(remote: { punching: boolean; firewall: number; addresses: Holepuncher.Address[] | null; verified: string | null }): void
  ping(addr: Holepuncher.Address, socket?: Holepuncher.ProbeSocket | null): Promise<boolean>
  openSession(addr: Holepuncher.Address, socket?: Holepuncher.ProbeSocket | null): Promise<boolean>
  /** Whether our NAT is stable enough to punch. */
  analyze(allowReopen?: boolean): Promise<boolean>
  punch(): Promise<boolean>
  destroy(): void

  /** Sends the one-byte holepunch probe to `addr`. */
  static ping(socket: Holepuncher.ProbeSocket, addr: Holepuncher.Address): Promise<boolean>
  /** Our LAN addresses with the socket's port. */
  static localAddresses(socket: Holepuncher.LocalSocket): Holepuncher.Address[]
  /** The remote LAN address most likely reachable from ours (most shared leading octets), or null. */
  static matchAddress<T extends { host: string }>(myAddresses: Array<{ host: string }>, externalAddresses: T[]): T | null
}

export = Holepuncher
