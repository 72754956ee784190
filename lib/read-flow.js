'use strict'
// The JS half of src/flow.rs, shared by connections and raw streams: data from a native stream
// is pushed into its Readable; when `push()` returns false the native reader is paused until
// streamx calls `_read()`. (The other bound, bytes queued towards JS, is kept natively: a data
// event's bytes count as taken when it is handed to JS.)

// a 1 MiB readable buffer: the native side pauses reading (and UDX's window slows the peer) only
// when JS falls that far behind
const READ_HWM = 1024 * 1024

// the writable side keeps streamx's default, as NoiseSecretStream and udx-native's streams do:
// write() returns false once 16 KiB wait in streamx (a single 64 KiB write already does) and
// `drain` follows when they went to the native queue, which holds up to 1 MiB more (src/flow.rs)
const WRITE_HWM = 16 * 1024

/** Gives `stream` (a streamx Duplex made with `highWaterMark: READ_HWM`) the write threshold. */
function setWriteHighWaterMark (stream) {
  stream._writableState.highWaterMark = WRITE_HWM
}

class ReadFlow {
  /** `setPaused(paused)` calls the native object; `live()` says it still exists. */
  constructor ({ setPaused, live }) {
    this._setPaused = setPaused
    this._live = live
    this._paused = false
  }

  /** A native data event for `stream`. */
  push (stream, data) {
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

module.exports = { ReadFlow, READ_HWM, setWriteHighWaterMark }
