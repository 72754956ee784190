// Types for testnet.js (hyperdht's testnet.js: `require('hyperdht-rs/testnet')`).
import HyperDHT = require('./index')

/**
 * Starts `size` (default 10) persistent nodes on 127.0.0.1 (or `host`), the first one the
 * bootstrap node of the others. `opts` may be a teardown function, or an object with one
 * (e.g. a brittle test `t`): it gets `() => testnet.destroy()`.
 */
declare function createTestnet(size?: number, opts?: createTestnet.TestnetOptions | createTestnet.Teardown): Promise<createTestnet.Testnet>

declare namespace createTestnet {
  type Teardown = (fn: () => Promise<void>, opts: { order: number }) => void
  interface TestnetOptions {
    /** the host nodes are reached at (default '127.0.0.1'; other hosts bind 0.0.0.0) */
    host?: string | undefined
    /** the first node's port (default: any) */
    port?: number | undefined
    /** bootstrap nodes to join instead of starting a network of its own */
    bootstrap?: ReadonlyArray<string | number | HyperDHT.Address> | undefined
    teardown?: Teardown | undefined
  }
  interface Testnet extends Iterable<HyperDHT> {
    readonly nodes: HyperDHT[]
    /** what to pass as `bootstrap` to join the testnet */
    readonly bootstrap: Array<string | number | HyperDHT.Address>
    /** A new ephemeral node on the testnet (destroyed by `destroy()`). */
    createNode(opts?: HyperDHT.DHTOptions): HyperDHT
    /** Closes every server, then destroys every node (the newest first). */
    destroy(): Promise<void>
  }
}

export = createTestnet
