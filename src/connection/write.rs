//! A connection's writes from JS. lib/connection.js calls [`connection_write`] with the
//! [`Writer`] it took at attach, a plain function rather than a `NativeConnection` method:
//! napi-rs wraps every class method call in borrow bookkeeping (a global lock, a map insert and removal, a class identity
//! check), which was a tenth of our native time per message on a small-message echo.

use std::sync::Arc;

use napi::bindgen_prelude::External;
use napi_derive::napi;

use super::{Command, ConnCore};
use crate::flow::Pushed;

/// What JS writes a connection through (`NativeConnection.writer()`).
pub struct Writer(pub(super) Arc<ConnCore>);

/// `connection.write(data)` through `writer`: false = wait for `drain` and retry.
#[napi(
    js_name = "connectionWrite",
    catch_unwind,
    ts_args_type = "writer: unknown, data: Buffer"
)]
pub fn connection_write(writer: &External<Writer>, data: &[u8]) -> bool {
    write(&writer.0, data)
}

/// Each write is one secret-stream frame, taken whole or not at all (protomux and hypercore
/// read every received frame as one complete message); false = wait for `drain`.
///
/// Fast path: when nothing is queued and the stream takes the frame now, it is encrypted and
/// handed to UDX on the calling (JS) thread, which saves a thread wake-up per write (the
/// dominant cost of a small request/response). Anything else goes through the task's queue.
fn write(core: &ConnCore, data: &[u8]) -> bool {
    let Some(io) = core.io.get() else { return true };
    let mut taken = false;
    if io.gate.idle() {
        if let Ok(mut c) = io.stream.try_lock() {
            taken = crate::flow::write_now(&mut *c, data);
            // the noop waker cannot finish a partial drain: let the task do it
            if taken && !c.has_pending_output() {
                return true;
            }
        }
    }
    if taken {
        // a Flush is only queued when the queue was empty, so it fits (else the task
        // flushes after whatever filled the queue anyway)
        io.gate.push(&io.tx, 0, || Command::Flush);
        return true;
    }
    io.gate
        .push(&io.tx, data.len(), || Command::Write(data.to_vec()))
        != Pushed::Full
}
