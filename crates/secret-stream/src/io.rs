//! `SecretStreamIo<T>`: the secret-stream protocol over any tokio `AsyncRead + AsyncWrite`
//! transport (a UDX stream in hyperdht). Each `write` becomes one encrypted frame; reads yield
//! decrypted bytes; `shutdown` half-closes the transport. A bad frame fails the stream for good.
//! Keep-alive (`setKeepAlive`) and the receive timeout (`setTimeout`) are driven from
//! `poll_read`, which an application keeps pending while the connection lives.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::datagram::Datagrams;
use crate::dh::DhKeyPair;
use crate::handshake::HandshakeResult;
use crate::standalone::{FramedHandshake, FramedStep};
use crate::stream::{SecretStream, StreamEvent, MAX_FRAME};
use crate::SecretStreamError;

/// A timer restarted on every write (keep-alive) or read (timeout). A restart only notes the new
/// deadline; the tokio sleep keeps its old one and, when that comes, moves on to the noted one
/// (one clock read per message instead of a timer-wheel update).
struct Timer {
    every: Duration,
    sleep: Pin<Box<Sleep>>,
    /// the timer's real deadline (the sleep's, or later after a restart)
    due: Instant,
}

impl Timer {
    fn new(every: Duration) -> Self {
        let due = Instant::now() + every;
        Timer {
            every,
            sleep: Box::pin(tokio::time::sleep_until(due)),
            due,
        }
    }
    fn refresh(&mut self) {
        self.due = Instant::now() + self.every;
    }
    /// The deadline passed (the waker is registered for it otherwise).
    fn fired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            if self.sleep.deadline() >= self.due {
                return true;
            }
            // restarted since the sleep was set: sleep on until the noted deadline
            let due = self.due;
            self.sleep.as_mut().reset(due);
        }
    }
}

fn hs_err(e: SecretStreamError) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("Noise handshake failed: {e}"),
    )
}

pub struct SecretStreamIo<T> {
    inner: T,
    codec: SecretStream,
    result: HandshakeResult,
    wbuf: Vec<u8>,
    wpos: usize,
    plain: VecDeque<Vec<u8>>,
    plain_off: usize,
    eof: bool,
    connected: bool,
    failed: Option<(io::ErrorKind, String)>,
    keep_alive: Option<Timer>,
    timeout: Option<Timer>,
    datagrams: Datagrams,
}

impl<T: AsyncRead + AsyncWrite + Unpin> SecretStreamIo<T> {
    /// Starts the stream: the 56-byte header message is the first thing written.
    pub fn new(inner: T, hs: HandshakeResult) -> Self {
        let (codec, header) = SecretStream::new(&hs);
        let datagrams = Datagrams::new(&hs);
        SecretStreamIo {
            inner,
            codec,
            result: hs,
            wbuf: header,
            wpos: 0,
            plain: VecDeque::new(),
            plain_off: 0,
            eof: false,
            connected: false,
            failed: None,
            keep_alive: None,
            timeout: None,
            datagrams,
        }
    }

    /// `send`/`trySend` payload: seals `m` as an unordered datagram for the peer; the caller
    /// puts it in a UDX message (`UdxStream::send_message`). An error (counter exhausted)
    /// means the stream must be destroyed, as in JS.
    pub fn seal_message(&mut self, m: &[u8]) -> Result<Vec<u8>, SecretStreamError> {
        self.datagrams.seal(m)
    }

    /// Opens a received UDX message (the `message` event); `None` = dropped (short or forged).
    pub fn open_message(&self, d: &[u8]) -> Option<Vec<u8>> {
        self.datagrams.open(d)
    }

    /// [`Self::open_message`] away from the stream (e.g. in the UDX stream's message hook).
    pub fn message_opener(&self) -> crate::datagram::Opener {
        self.datagrams.opener()
    }

    /// Runs secret-stream's standalone Noise XX handshake on `inner` (what
    /// `new NoiseSecretStream(isInitiator, rawStream, { keyPair })` does without a `handshake`
    /// option), then starts the stream.
    pub async fn handshake_xx(inner: T, initiator: bool, key_pair: DhKeyPair) -> io::Result<Self> {
        Self::run_handshake(inner, FramedHandshake::xx(initiator, key_pair)).await
    }

    /// Like [`Self::handshake_xx`] with `pattern: 'IK'` (initiator passes the responder's key).
    pub async fn handshake_ik(
        inner: T,
        initiator: bool,
        key_pair: DhKeyPair,
        remote_public_key: Option<[u8; 32]>,
    ) -> io::Result<Self> {
        let fh = FramedHandshake::ik(initiator, key_pair, remote_public_key).map_err(hs_err)?;
        Self::run_handshake(inner, fh).await
    }

    async fn run_handshake(mut inner: T, mut fh: FramedHandshake) -> io::Result<Self> {
        let first = fh.start().map_err(hs_err)?;
        if !first.is_empty() {
            inner.write_all(&first).await?;
            inner.flush().await?;
        }
        let mut buf = vec![0u8; 4096];
        loop {
            let n = inner.read(&mut buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "Noise handshake failed: stream ended",
                ));
            }
            match fh.feed(&buf[..n]).map_err(hs_err)? {
                FramedStep::Continue(w) => {
                    if !w.is_empty() {
                        inner.write_all(&w).await?;
                        inner.flush().await?;
                    }
                }
                FramedStep::Done {
                    write,
                    result,
                    leftover,
                } => {
                    // the peer's handshake waits for our last message: send it now
                    if !write.is_empty() {
                        inner.write_all(&write).await?;
                        inner.flush().await?;
                    }
                    let mut s = Self::new(inner, *result);
                    s.absorb(&leftover);
                    return Ok(s);
                }
            }
        }
    }

    /// The finished handshake this stream runs on.
    pub fn handshake_result(&self) -> &HandshakeResult {
        &self.result
    }

    /// `setKeepAlive(ms)`: send an empty frame whenever nothing was written for `every`
    /// (`None` turns it off). Any keep-alive also filters received empty frames, as in JS.
    /// Call inside a tokio runtime (the timer is a tokio `Sleep`).
    pub fn set_keep_alive(&mut self, every: Option<Duration>) {
        self.keep_alive = every.filter(|d| !d.is_zero()).map(Timer::new);
        if self.keep_alive.is_some() {
            self.codec.set_filter_empty_messages(true);
        }
    }

    pub fn keep_alive(&self) -> Option<Duration> {
        self.keep_alive.as_ref().map(|t| t.every)
    }

    /// `setTimeout(ms)`: fail with `Stream timed out` (`ErrorKind::TimedOut`) when nothing was
    /// received for `after` (`None` turns it off).
    pub fn set_timeout(&mut self, after: Option<Duration>) {
        self.timeout = after.filter(|d| !d.is_zero()).map(Timer::new);
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.as_ref().map(|t| t.every)
    }

    /// Keep-alive frames sent, and empty frames received and filtered (see
    /// [`SecretStream::keep_alive_counts`](crate::SecretStream::keep_alive_counts)).
    pub fn keep_alive_counts(&self) -> (u64, u64) {
        self.codec.keep_alive_counts()
    }

    /// `filterZeroByteMessages`: drop received empty frames (implied by a keep-alive).
    pub fn set_filter_empty_messages(&mut self, on: bool) {
        self.codec.set_filter_empty_messages(on);
    }

    /// Queues a keep-alive frame now (`sendKeepAlive()`); it is written on the next poll.
    pub fn send_keep_alive(&mut self) {
        let f = self.codec.keep_alive_frame();
        self.wbuf.extend_from_slice(&f);
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    pub fn into_inner(self) -> T {
        self.inner
    }

    fn absorb(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.received(|codec| codec.feed(bytes));
        }
    }

    /// Bytes arrived and `feed` gave them to the codec: the events it returned are taken.
    fn received(
        &mut self,
        feed: impl FnOnce(&mut SecretStream) -> Result<Vec<StreamEvent>, SecretStreamError>,
    ) {
        if let Some(t) = self.timeout.as_mut() {
            t.refresh();
        }
        match feed(&mut self.codec) {
            Ok(events) => {
                for ev in events {
                    match ev {
                        StreamEvent::Connected => self.connected = true,
                        // an empty message (a keep-alive) gets here only while empty frames
                        // are not filtered: secret-stream pushes it then (`poll_read_chunk`
                        // hands it out; `poll_read` skips it, a byte stream has no empty read)
                        StreamEvent::Data(d) => self.plain.push_back(d),
                    }
                }
            }
            Err(e) => self.failed = Some((io::ErrorKind::InvalidData, e.to_string())),
        }
    }

    /// Encrypted bytes not yet accepted by the transport (a `poll_flush` drains them).
    pub fn has_pending_output(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    pub fn handshake_hash(&self) -> &[u8; 64] {
        &self.result.hash
    }
    pub fn public_key(&self) -> &[u8; 32] {
        &self.result.public_key
    }
    pub fn remote_public_key(&self) -> &[u8; 32] {
        &self.result.remote_public_key
    }
    pub fn is_initiator(&self) -> bool {
        self.result.is_initiator
    }
    /// True once the peer's header message arrived.
    pub fn is_connected(&self) -> bool {
        self.connected
    }
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.wpos < self.wbuf.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.wbuf[self.wpos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.wpos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        if self.wbuf.capacity() > crate::stream::IDLE_KEEP {
            // written out: the largest message ever sent does not stay allocated
            self.wbuf = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Bytes allocated for pending output, undelivered plaintext and a partial frame (a
    /// diagnostic for memory tests).
    pub fn buffer_capacity(&self) -> usize {
        self.wbuf.capacity()
            + self.plain.iter().map(Vec::capacity).sum::<usize>()
            + self.codec.buffer_capacity()
    }

    /// The stream is closed: frees its buffers now (pending output, undelivered plaintext,
    /// a partial frame) instead of when the last handle goes.
    pub fn release_buffers(&mut self) {
        self.wbuf = Vec::new();
        self.wpos = 0;
        self.plain = VecDeque::new();
        self.plain_off = 0;
        self.codec.release_buffers();
    }
}

thread_local! {
    /// Ciphertext scratch for `poll_fill`: one per thread instead of one per stream, so an idle
    /// connection holds no receive buffer (hundreds of connections are common).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One read from `inner` into `buf`: how many bytes came (0 = the peer ended).
fn read_into<T: AsyncRead + Unpin>(
    inner: &mut T,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    Pin::new(inner)
        .poll_read(cx, &mut rb)
        .map_ok(|()| rb.filled().len())
}

/// Ciphertext read from the transport per `poll_fill` step.
const READ_CHUNK: usize = 64 * 1024;

impl<T: AsyncRead + AsyncWrite + Unpin> SecretStreamIo<T> {
    /// Drives timers and the transport until decrypted bytes are queued (`Ready(Ok(true))`),
    /// the peer ended (`Ready(Ok(false))`) or the stream failed.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if let Err(e) = self.poll_keep_alive(cx) {
            return Poll::Ready(Err(e));
        }
        loop {
            if let Some(e) = self.failure() {
                return Poll::Ready(Err(e));
            }
            if !self.plain.is_empty() {
                return Poll::Ready(Ok(true));
            }
            if self.eof {
                return Poll::Ready(Ok(false));
            }
            // the rest of a partial frame goes straight into its buffer, anything else through
            // the scratch buffer
            let step = match self.codec.partial_room() {
                Some(room) => match read_into(&mut self.inner, cx, room) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.received(|codec| codec.partial_filled(n));
                        Poll::Ready(Ok(n))
                    }
                    other => other,
                },
                None => SCRATCH.with(|cell| {
                    let mut scratch = cell.borrow_mut();
                    if scratch.len() < READ_CHUNK {
                        scratch.resize(READ_CHUNK, 0);
                    }
                    match read_into(&mut self.inner, cx, &mut scratch[..]) {
                        Poll::Ready(Ok(n)) if n > 0 => {
                            self.absorb(&scratch[..n]);
                            Poll::Ready(Ok(n))
                        }
                        other => other,
                    }
                }),
            };
            match step {
                Poll::Pending => {
                    if self.check_timeout(cx) {
                        continue;
                    }
                    self.codec.trim_idle();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    /// Sends a keep-alive when its timer fired (re-arming it) and pushes pending output (the
    /// header, keep-alives) even if the application only reads.
    fn poll_keep_alive(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if let Some(ka) = self.keep_alive.as_mut() {
            if ka.fired(cx) {
                ka.refresh();
                let f = self.codec.keep_alive_frame();
                self.wbuf.extend_from_slice(&f);
                // re-arm the waker on the new deadline
                let _ = ka.fired(cx);
            }
        }
        if self.wpos < self.wbuf.len() {
            if let Poll::Ready(Err(e)) = self.poll_drain(cx) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Drives the keep-alive and the receive timeout once nothing reads any more (the peer
    /// ended while our side is open): secret-stream's timers run until the stream closes, so
    /// keep-alives still go out and a quiet peer still times out (`Stream timed out`). Never
    /// `Ready(Ok)`.
    pub fn poll_timers(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.poll_keep_alive(cx) {
            return Poll::Ready(Err(e));
        }
        if self.failed.is_none() {
            self.check_timeout(cx);
        }
        match self.failure() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Pending,
        }
    }

    /// The receive timeout fired (arming it otherwise): the stream fails with
    /// `Stream timed out` from now on.
    fn check_timeout(&mut self, cx: &mut Context<'_>) -> bool {
        let fired = self.timeout.as_mut().is_some_and(|t| t.fired(cx));
        if fired {
            self.failed = Some((io::ErrorKind::TimedOut, "Stream timed out".into()));
        }
        fired
    }

    /// The error every call returns once the stream failed.
    fn failure(&self) -> Option<io::Error> {
        self.failed
            .as_ref()
            .map(|(kind, e)| io::Error::new(*kind, e.clone()))
    }

    /// Reads the next decrypted message whole (no copy into a caller buffer); `None` = the
    /// peer ended. Same semantics as `poll_read` otherwise (timers, failures).
    pub fn poll_read_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Vec<u8>>>> {
        match self.poll_fill(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(false)) => Poll::Ready(Ok(None)),
            Poll::Ready(Ok(true)) => {
                let Some(mut front) = self.plain.pop_front() else {
                    return Poll::Ready(Ok(None));
                };
                if self.plain_off > 0 {
                    front.drain(..self.plain_off);
                    self.plain_off = 0;
                }
                Poll::Ready(Ok(Some(front)))
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for SecretStreamIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_fill(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(false)) => Poll::Ready(Ok(())),
            Poll::Ready(Ok(true)) => {
                while this.plain.front().is_some_and(Vec::is_empty) {
                    this.plain.pop_front();
                }
                if this.plain.is_empty() {
                    // only empty messages were waiting: look again
                    return Pin::new(this).poll_read(cx, out);
                }
                if let Some(front) = this.plain.front() {
                    let n = (front.len() - this.plain_off).min(out.remaining());
                    out.put_slice(&front[this.plain_off..this.plain_off + n]);
                    this.plain_off += n;
                    if this.plain_off == front.len() {
                        this.plain.pop_front();
                        this.plain_off = 0;
                    }
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for SecretStreamIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(e) = this.failure() {
            return Poll::Ready(Err(e));
        }
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map(|r| r.map(|_| 0)),
        }
        // One write = one frame, whole (NoiseSecretStream's atomic writes): receivers such as
        // protomux take each received frame as one complete message, so a write must never be
        // split. Too large for a u24 frame is an error, as in JS.
        this.codec.encrypt_into(buf, &mut this.wbuf).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{e}. Max size is {MAX_FRAME} bytes."),
            )
        })?;
        if let Some(ka) = this.keep_alive.as_mut() {
            ka.refresh();
        }
        // push what we can now; the rest goes out on the next call / flush
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod timer_tests {
    use super::*;

    async fn fired_now(t: &mut Timer) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(t.fired(cx))).await
    }

    /// Fires once `every` passed since the last restart, however often it was restarted.
    #[tokio::test(start_paused = true)]
    async fn a_restarted_timer_fires_at_its_last_deadline() {
        let every = Duration::from_millis(100);
        let mut t = Timer::new(every);
        let start = Instant::now();
        // restarted every 60 ms for 300 ms: never fires
        for _ in 0..5 {
            tokio::time::advance(Duration::from_millis(60)).await;
            assert!(!fired_now(&mut t).await);
            t.refresh();
        }
        // then it fires 100 ms after the last restart, not before
        tokio::time::advance(Duration::from_millis(99)).await;
        assert!(!fired_now(&mut t).await);
        std::future::poll_fn(|cx| match t.fired(cx) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        assert_eq!(Instant::now() - start, Duration::from_millis(400));
        // and again after a restart
        t.refresh();
        assert!(!fired_now(&mut t).await);
    }
}
