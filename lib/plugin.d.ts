// Types for lib/plugin.js (hyperdht 6.34's lib/plugin.js: `require('hyperdht-rs/lib/plugin')`),
// the base class for `dht.register(name, plugin)` plugins. Subclasses implement onrequest,
// onpersistent and destroy (the base versions throw).
import HyperDHT = require('../index')

declare class Plugin implements HyperDHT.DHTPlugin {
  constructor(name: string, version: number)
  readonly name: string
  readonly version: number
  /** set by `onregister` */
  dht: HyperDHT | null
  onregister(dht: HyperDHT): void
  onrequest(req: HyperDHT.PluginRequest, outerReq: HyperDHT.PluginOuterRequest): void
  onpersistent(): void
  destroy(): void
  /** One plugin command to one node (a PLUGIN request carrying `command` and `value`). */
  request(
    req: { token?: Uint8Array | null; command: number; target?: Uint8Array | null; value?: Uint8Array | null },
    to: HyperDHT.Address,
    opts?: { retry?: boolean }
  ): Promise<HyperDHT.RpcReply>
  /** A plugin command sent along a DHT query towards `target`. */
  query<T = HyperDHT.RpcReply>(
    q: { command: number; target: Uint8Array; value?: Uint8Array | null },
    opts?: HyperDHT.RawQueryOptions<T>
  ): HyperDHT.Query<T>
}

export = Plugin
