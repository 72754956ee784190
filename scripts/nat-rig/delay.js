'use strict'
// DHT node latency in userspace, in place of `tc qdisc ... netem delay`: the kernels of these
// machines have no sch_netem (CONFIG_NET_SCH_NETEM unset), and a per-node delay is what the rig
// needs anyway. Every datagram a JS hyperdht node sends leaves its UDX socket `ms` later; all of
// dht-rpc's traffic goes out through socket.trySend (dht-rpc lib/io.js), so wrapping it delays
// every reply, ping and relayed message.
// Why the DHT needs latency: dht-rpc's quick firewall check (index.js _bootstrap, ondata) only
// counts if the PING_NAT it sends to the first node that answered the bootstrap query comes back
// before that query ends. On the real network the query crosses several hops and PING_NAT is one
// round trip; in a small rig with equal (or sub-millisecond) round trips the query ends about as
// soon as PING_NAT returns and open hosts often stay firewalled. So the rig's bootstrap node is
// fast and the rest of the DHT is slower (dht-nodes.js): PING_NAT to the bootstrap node wins.

function delaySocket (socket, ms) {
  if (!socket || socket._natRigDelayed) return
  socket._natRigDelayed = true
  const trySend = socket.trySend
  socket.trySend = function (buffer, port, host, ttl) {
    const copy = Buffer.from(buffer) // the caller may reuse its buffer
    setTimeout(() => {
      if (socket.closing) return
      try { trySend.call(socket, copy, port, host, ttl) } catch {}
    }, ms)
  }
  const send = socket.send
  socket.send = function (buffer, port, host, ttl) {
    const copy = Buffer.from(buffer)
    return new Promise((resolve) => setTimeout(resolve, ms))
      .then(() => (socket.closing ? false : send.call(socket, copy, port, host, ttl)))
  }
}

/** Delays both dht-rpc sockets of a JS hyperdht node. */
function delayNode (dht, ms) {
  delaySocket(dht.io.serverSocket, ms)
  delaySocket(dht.io.clientSocket, ms)
}

module.exports = { delayNode, delaySocket }
