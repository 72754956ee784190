'use strict'
// The JS half of src/flow.rs, shared by connections and raw streams: data from a native stream
// is pushed into its Readable; when `push()` returns false the native reader is paused until
// streamx calls `_read()`, and bytes taken off the event queue are acknowledged in batches (the
// native side stops reading at 4 MiB unacknowledged, so the queue stays bounded while JS is busy).

// a 1 MiB readable buffer: the native side pauses reading (and UDX's window slows the peer) only
// when JS falls that far behind
const READ_HWM = 1024 * 1024
const ACK_BATCH = 256 * 1024

class ReadFlow {
  /** `ack(bytes)` and `setPaused(paused)` call the native object; `live()` says it still exists. */
  constructor ({ ack, setPaused, live }) {
    this._ack = ack
    this._setPaused = setPaused
    this._live = live
    this._unacked = 0
    this._paused = false
  }

  /** A native data event for `stream`. */
  push (stream, data) {
    this._unacked += data.byteLength
    if (this._unacked >= ACK_BATCH && this._live()) {
      this._ack(this._unacked)
      this._unacked = 0
    }
    if (!stream.push(data) && !this._paused && this._live()) {
      this._paused = true
      this._setPaused(true)
    }
  }

  /** streamx `_read()`: the readable buffer has room again. */
  read () {
    if (!this._paused) return
    this._paused = false
    if (this._live()) this._setPaused(false)
  }
}

module.exports = { ReadFlow, READ_HWM }
