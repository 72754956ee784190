//! The only `unsafe` code of the addon: a libuv `uv_poll_t` on a socket's file descriptor in the
//! Node event loop of the JS thread (issue 16), the way udx-native drives its UDP sockets
//! (`udx_socket_init` → `uv_poll_init` + `uv_poll_start(UV_READABLE)` in libudx). Node exports
//! libuv's symbols to addons; `napi_get_uv_event_loop` gives the loop.
//!
//! [`CallbackScope`] lets the poll callback call JS functions directly (a connection's `data`
//! event without a ThreadsafeFunction round through the loop): a handle scope plus a node
//! callback scope (`napi_open_callback_scope`), whose close runs `process.nextTick` callbacks
//! and microtasks as after any libuv callback into JS.
//!
//! [`CopiedBuffer`] hands received bytes to JS as a copied Buffer (`napi_create_buffer_copy`)
//! instead of napi-rs's external Buffer over the Vec (a finalizer and a weak handle per
//! message; 40% dearer for small messages, see the napi-bridge notes §3.4).
//!
//! [`UvPoll`] is the safe face: created and dropped on the JS thread (it is neither `Send` nor
//! `Sync`), it calls its callback on that thread each time the fd is readable, and dropping it
//! stops the poll and closes the handle (libuv frees nothing itself: the handle's memory and
//! the callback are released in the close callback, after the loop is done with them).
//!
//! Soundness rests on: the handle memory is `uv_handle_size(UV_POLL)` bytes, 8-byte aligned,
//! owned by a heap block whose address never changes until the close callback; `handle->data`
//! (the first field of every libuv handle) points at that block; libuv calls back only on the
//! loop's thread, the one that created the handle; the fd stays open until the handle is closed
//! (the owner of [`UvPoll`] keeps the socket alive at least as long).

use std::ffi::{c_int, c_void};
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::{sys, Env, Error, Result, Status};

/// `uv_handle_type::UV_POLL` (uv.h: UNKNOWN, ASYNC, CHECK, FS_EVENT, FS_POLL, HANDLE, IDLE,
/// NAMED_PIPE, POLL, ...).
const UV_POLL: c_int = 8;
/// `uv_poll_event::UV_READABLE`
const UV_READABLE: c_int = 1;

type PollCb = extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = extern "C" fn(handle: *mut c_void);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: CloseCb);
    fn uv_unref(handle: *mut c_void);
}

/// The heap block behind a poll handle: the libuv handle storage first, then our callback.
struct Block {
    /// `uv_poll_t` storage (u64 words: 8-byte alignment, as every libuv handle needs)
    handle: Vec<u64>,
    cb: Box<dyn FnMut()>,
}

/// A readable-poll on an fd of the JS thread's event loop; see the module doc.
pub(crate) struct UvPoll {
    block: *mut Block,
}

impl UvPoll {
    /// Polls `fd` for readability on `env`'s loop, calling `cb` on the JS thread each time it is
    /// readable (level-triggered: until `cb` drains it). The handle is unref'd: it does not keep
    /// Node alive by itself (the objects using the socket do).
    pub(crate) fn readable(env: &Env, fd: RawFd, cb: Box<dyn FnMut()>) -> Result<UvPoll> {
        let mut lp: *mut sys::uv_loop_s = std::ptr::null_mut();
        // SAFETY: `env` is a live environment on this (its JS) thread; `lp` is a valid out-ptr.
        let status = unsafe { sys::napi_get_uv_event_loop(env.raw(), &mut lp) };
        if status != sys::Status::napi_ok || lp.is_null() {
            return Err(Error::new(Status::GenericFailure, "no uv loop"));
        }
        // SAFETY: plain query of a constant.
        let size = unsafe { uv_handle_size(UV_POLL) };
        let block = Box::into_raw(Box::new(Block {
            handle: vec![0u64; size.div_ceil(8)],
            cb,
        }));
        // SAFETY: `block` is a fresh, uniquely owned allocation; the handle storage is large
        // enough and aligned; `lp` is the loop of this thread.
        unsafe {
            let h = (*block).handle.as_mut_ptr().cast::<c_void>();
            let r = uv_poll_init(lp.cast(), h, fd);
            if r != 0 {
                // never initialised: libuv holds no reference, free it here
                drop(Box::from_raw(block));
                return Err(Error::new(
                    Status::GenericFailure,
                    format!("uv_poll_init {r}"),
                ));
            }
            // handle->data is the first field of uv_handle_t
            *h.cast::<*mut c_void>() = block.cast();
            uv_unref(h);
            let r = uv_poll_start(h, UV_READABLE, on_poll);
            if r != 0 {
                uv_close(h, on_close);
                return Err(Error::new(
                    Status::GenericFailure,
                    format!("uv_poll_start {r}"),
                ));
            }
        }
        Ok(UvPoll { block })
    }
}

impl Drop for UvPoll {
    fn drop(&mut self) {
        // SAFETY: the handle is initialised and not closed yet (only this drop closes it); we are
        // on its loop's thread (UvPoll is !Send). The block is freed by `on_close`, later.
        unsafe {
            let h = (*std::ptr::addr_of_mut!((*self.block).handle))
                .as_mut_ptr()
                .cast::<c_void>();
            uv_poll_stop(h);
            uv_close(h, on_close);
        }
    }
}

/// The block a handle's `data` points at.
///
/// # Safety
/// `handle` must be one of our poll handles, not yet freed.
unsafe fn block_of(handle: *mut c_void) -> *mut Block {
    *handle.cast::<*mut Block>()
}

extern "C" fn on_poll(handle: *mut c_void, _status: c_int, _events: c_int) {
    // SAFETY: libuv calls back with our live handle, on the JS thread. Only the `cb` field is
    // borrowed: the callback may drop its UvPoll, whose drop touches only `handle` (the block
    // itself lives until `on_close`, which runs on a later loop iteration). The callback is
    // not re-entered (libuv does not poll from inside it).
    let cb = unsafe { &mut *std::ptr::addr_of_mut!((*block_of(handle)).cb) };
    // a panic must not unwind into C; the callback's owner reports its own failures
    let _ = catch_unwind(AssertUnwindSafe(cb));
}

extern "C" fn on_close(handle: *mut c_void) {
    // SAFETY: the close callback is libuv's last use of the handle; the block was leaked by
    // `readable` and is reclaimed exactly once, here.
    unsafe { drop(Box::from_raw(block_of(handle))) };
}

/// An async context for [`CallbackScope`]s (`napi_async_init`); one per environment, kept for
/// its lifetime.
pub(crate) struct AsyncContext {
    ctx: sys::napi_async_context,
    /// the resource object of every callback scope (a strong reference, kept as long as the
    /// context: one object instead of a new one per scope)
    resource: sys::napi_ref,
}

// SAFETY: the pointer is only handed to napi on the JS thread that created it (CallbackScope
// takes the Env of that thread); elsewhere it is just carried around.
unsafe impl Send for AsyncContext {}
unsafe impl Sync for AsyncContext {}

impl AsyncContext {
    /// Call on `env`'s JS thread.
    pub(crate) fn new(env: &Env) -> Result<Self> {
        let mut ctx = std::ptr::null_mut();
        // SAFETY: live env on its thread; the name string and resource object are created in
        // the current handle scope (napi keeps what it needs).
        unsafe {
            let mut resource = std::ptr::null_mut();
            let mut name = std::ptr::null_mut();
            let n = "hyperdht-rs";
            if sys::napi_create_object(env.raw(), &mut resource) != sys::Status::napi_ok
                || sys::napi_create_string_utf8(
                    env.raw(),
                    n.as_ptr().cast(),
                    n.len() as isize,
                    &mut name,
                ) != sys::Status::napi_ok
                || sys::napi_async_init(env.raw(), resource, name, &mut ctx) != sys::Status::napi_ok
            {
                return Err(Error::new(Status::GenericFailure, "napi_async_init"));
            }
            let mut r = std::ptr::null_mut();
            if sys::napi_create_reference(env.raw(), resource, 1, &mut r) != sys::Status::napi_ok {
                return Err(Error::new(Status::GenericFailure, "napi_create_reference"));
            }
            Ok(AsyncContext { ctx, resource: r })
        }
    }
}

/// Runs `f` inside a handle scope and a node callback scope on `env` (the JS thread, with no
/// JS on the stack: a libuv callback). JS functions called by `f` then behave as if called from
/// a libuv callback: ticks and microtasks run when the scope closes. `f` is told whether the
/// scopes opened (not while the environment is being torn down): if not, it must not call JS.
pub(crate) fn with_callback_scope<R>(
    env: &Env,
    ctx: &AsyncContext,
    f: impl FnOnce(bool) -> R,
) -> R {
    let raw = env.raw();
    let mut hs = std::ptr::null_mut();
    let mut cs = std::ptr::null_mut();
    // SAFETY: `env` is live on this thread; the scopes are closed below in reverse order, on
    // every path (a panic in `f` is caught so the scopes still close).
    unsafe {
        let mut resource = std::ptr::null_mut();
        let opened = sys::napi_open_handle_scope(raw, &mut hs) == sys::Status::napi_ok
            && sys::napi_get_reference_value(raw, ctx.resource, &mut resource)
                == sys::Status::napi_ok
            && !resource.is_null()
            && sys::napi_open_callback_scope(raw, resource, ctx.ctx, &mut cs)
                == sys::Status::napi_ok;
        let r = catch_unwind(AssertUnwindSafe(|| f(opened)));
        if !cs.is_null() {
            sys::napi_close_callback_scope(raw, cs);
        }
        if !hs.is_null() {
            sys::napi_close_handle_scope(raw, hs);
        }
        match r {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

/// Bytes that become a JS `Buffer` by copy when converted (see the module doc).
pub struct CopiedBuffer(pub Vec<u8>);

impl CopiedBuffer {
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<Vec<u8>> for CopiedBuffer {
    fn from(v: Vec<u8>) -> Self {
        CopiedBuffer(v)
    }
}

impl napi::bindgen_prelude::TypeName for CopiedBuffer {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl napi::bindgen_prelude::ToNapiValue for CopiedBuffer {
    /// # Safety
    /// `env` is a live environment on its JS thread (napi calls this while converting values).
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        // SAFETY: the caller's contract
        unsafe { copy_to_buffer(env, &val.0) }
    }
}

/// A new JS Buffer holding a copy of `bytes`.
///
/// # Safety
/// `env` is a live environment and this is its JS thread.
unsafe fn copy_to_buffer(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let mut out = std::ptr::null_mut();
    let mut data = std::ptr::null_mut();
    // SAFETY: `bytes` is valid for its length; napi copies it before returning.
    let status = unsafe {
        sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out)
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "napi_create_buffer_copy",
        ));
    }
    Ok(out)
}

/// Largest chunk written into a [`SlabData`] slab; bigger ones get a Buffer of their own.
pub(crate) const SLAB_MAX_CHUNK: usize = 2048;
/// Bytes per slab (like Node's `Buffer.poolSize` pool, which `Buffer.allocUnsafe` slices).
const SLAB_SIZE: usize = 16 * 1024;

/// The slab small received chunks are copied into on this JS thread: a Buffer kept by a strong
/// reference, `used` bytes of it handed out. A slab is never written below `used` again: the
/// views JS got stay valid and keep it alive after it is replaced.
struct Slab {
    env: usize,
    buf: sys::napi_ref,
    used: usize,
}

impl Slab {
    /// Lets go of the slab: its reference is deleted if it belongs to `env` (a slab of another
    /// environment is only forgotten).
    ///
    /// # Safety
    /// `env` is a live environment and this is its JS thread.
    unsafe fn release(self, env: sys::napi_env) {
        if self.env == env as usize {
            // SAFETY: our reference, of this live env (the caller's contract)
            unsafe { sys::napi_delete_reference(env, self.buf) };
        }
    }
}

thread_local! {
    static SLAB: std::cell::RefCell<Option<Slab>> = const { std::cell::RefCell::new(None) };
}

/// One received chunk as the arguments `(buffer, start, end)` of a JS data callback: small ones
/// are copied into this thread's shared slab (no Buffer and backing store per message, the cost
/// that dominated a small delivery after the thread hops were gone), bigger ones into a Buffer
/// of their own (start 0, end its length). JS takes `buffer.subarray(start, end)`.
pub struct SlabData(pub Vec<u8>);

impl napi::bindgen_prelude::JsValuesTupleIntoVec for SlabData {
    fn into_vec(self, env: sys::napi_env) -> Result<Vec<sys::napi_value>> {
        use napi::bindgen_prelude::ToNapiValue;
        let bytes = self.0;
        let n = bytes.len();
        let (buf, start) = if n <= SLAB_MAX_CHUNK {
            // SAFETY: called by napi-rs while converting a call's arguments: `env` is live and
            // this is its JS thread.
            unsafe { slab_write(env, &bytes)? }
        } else {
            // SAFETY: as above
            let buf = unsafe { copy_to_buffer(env, &bytes)? };
            // copied: the decrypted message's buffer takes the next one
            hyperdht_secret_stream::plain_pool::recycle(bytes);
            (buf, 0)
        };
        let end = start + n;
        // SAFETY: as above
        unsafe {
            Ok(vec![
                buf,
                u32::to_napi_value(env, start as u32)?,
                u32::to_napi_value(env, end as u32)?,
            ])
        }
    }
}

/// Copies `bytes` into this thread's slab for `env` (a new slab when it is full, belongs to
/// another environment, or was detached by JS), returning the slab Buffer and where they start.
///
/// # Safety
/// `env` is a live environment and this is its JS thread.
unsafe fn slab_write(env: sys::napi_env, bytes: &[u8]) -> Result<(sys::napi_value, usize)> {
    SLAB.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(s) = slot.as_mut().filter(|s| s.env == env as usize) {
            if s.used + bytes.len() <= SLAB_SIZE {
                let mut value = std::ptr::null_mut();
                let mut data = std::ptr::null_mut();
                let mut len = 0usize;
                // SAFETY: the reference is ours and of this live env; the data pointer and
                // length are read fresh, so a slab JS detached meanwhile shows length 0 (and
                // is not written). The range written lies past every view handed out, inside
                // the buffer, and nothing else runs on this thread meanwhile.
                unsafe {
                    if sys::napi_get_reference_value(env, s.buf, &mut value) == sys::Status::napi_ok
                        && !value.is_null()
                        && sys::napi_get_buffer_info(env, value, &mut data, &mut len)
                            == sys::Status::napi_ok
                        && len == SLAB_SIZE
                        && !data.is_null()
                    {
                        let at = s.used;
                        std::ptr::copy_nonoverlapping(
                            bytes.as_ptr(),
                            data.cast::<u8>().add(at),
                            bytes.len(),
                        );
                        s.used += bytes.len();
                        return Ok((value, at));
                    }
                }
            }
        }
        // a new slab; the old one's reference goes (its views keep it alive)
        if let Some(old) = slot.take() {
            // SAFETY: live env on its thread (this function's contract)
            unsafe { old.release(env) };
        }
        let mut value = std::ptr::null_mut();
        let mut data = std::ptr::null_mut();
        let mut r = std::ptr::null_mut();
        // SAFETY: live env on its thread; `data` points at SLAB_SIZE fresh bytes of the new
        // Buffer, written only at its start.
        unsafe {
            if sys::napi_create_buffer(env, SLAB_SIZE, &mut data, &mut value)
                != sys::Status::napi_ok
                || data.is_null()
                || sys::napi_create_reference(env, value, 1, &mut r) != sys::Status::napi_ok
            {
                return Err(Error::new(Status::GenericFailure, "slab buffer"));
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len());
        }
        *slot = Some(Slab {
            env: env as usize,
            buf: r,
            used: bytes.len(),
        });
        Ok((value, 0))
    })
}

/// Forgets this thread's slab of `env` (its environment is being torn down: the reference is
/// released while napi still can).
pub(crate) fn slab_release(env: &Env) {
    SLAB.with(|cell| {
        if let Some(old) = cell.borrow_mut().take() {
            // SAFETY: the env runs its cleanup hooks on this, its JS thread
            unsafe { old.release(env.raw()) };
        }
    });
}

#[cfg(test)]
mod tests {
    // The FFI needs a Node process (libuv's symbols come from it): exercised by
    // __test__/jsloop.test.js. Here: the constants match libuv's headers as napi-sys sees them.
    #[test]
    fn handle_kind_constants() {
        assert_eq!(super::UV_POLL, 8);
        assert_eq!(super::UV_READABLE, 1);
    }
}
