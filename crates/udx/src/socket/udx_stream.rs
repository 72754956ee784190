//! A UDX stream's handle: the methods the owner calls and its `AsyncRead` / `AsyncWrite`
//! (the socket's driver, in `socket.rs`, feeds the same shared state).

use super::*;

/// A UDX stream: `AsyncRead` + `AsyncWrite` (`shutdown` sends END, i.e. half-close).
pub struct UdxStream {
    pub(super) shared: Shared,
}

impl UdxStream {
    pub fn local_id(&self) -> u32 {
        lock(&self.shared).stream.local_id
    }
    pub fn rtt(&self) -> Option<Duration> {
        lock(&self.shared).stream.rtt()
    }
    /// udx-native's stream statistics (`bytesTransmitted`, `packetsReceived`, `cwnd`, ...).
    pub fn stats(&self) -> crate::StreamStats {
        lock(&self.shared).stream.stats()
    }
    pub fn retransmits(&self) -> u64 {
        lock(&self.shared).stream.retransmits
    }
    /// The path MTU the stream currently uses (udx-native `stream.mtu`; grows by probing).
    pub fn mtu(&self) -> usize {
        lock(&self.shared).stream.mtu() as usize
    }
    /// Where the socket the stream lives on is bound; `None` for a socket on an external
    /// transport (a DHT node's server socket, whose owner knows its address).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let home = lock(&self.shared).home.clone();
        home.local_addr().ok()
    }
    pub fn remote(&self) -> Option<SocketAddr> {
        lock(&self.shared).remote
    }
    /// The peer's stream id (0 until connected).
    pub fn remote_id(&self) -> u32 {
        lock(&self.shared).stream.remote_id()
    }
    /// Hands every UDX message to `hook` as it arrives (those already queued first) instead of
    /// queueing them for [`Self::poll_message`]: an owner that only forwards messages needs no
    /// task waiting for them.
    pub fn on_message(&self, mut hook: MessageHook) {
        let mut g = lock(&self.shared);
        for m in std::mem::take(&mut g.messages) {
            hook(m);
        }
        g.message_hook = Some(hook);
    }

    /// A [`UdxStreamRef`] on this stream.
    pub fn downgrade(&self) -> UdxStreamRef {
        UdxStreamRef(Arc::downgrade(&self.shared))
    }
    /// True once the stream knows its peer (connected locally or via the firewall hook).
    pub fn is_connected(&self) -> bool {
        lock(&self.shared).stream.is_connected()
    }
    /// Resolves once the stream is connected (e.g. by its first packet through the firewall
    /// hook); false if it closed first.
    pub async fn connected(&self) -> bool {
        std::future::poll_fn(|cx| {
            poll_state(&mut lock(&self.shared), cx, |g| g.stream.is_connected())
        })
        .await
    }
    /// Connects a reserved or accepted stream that is still unconnected to `remote_id` at
    /// `addr` (udx-native `stream.connect`); datagrams it kept are processed now. A stream the
    /// firewall hook already connected stays as it is.
    pub fn connect(&self, remote_id: u32, addr: SocketAddr) {
        let mut g = lock(&self.shared);
        if g.stream.is_connected() || g.closed {
            return;
        }
        let fwd = connect_locked(&mut g, remote_id, addr);
        flush(&mut g);
        let home = g.home.clone();
        drop(g);
        relay_out(&home, &self.shared, fwd);
        home.notify.notify_one();
    }
    /// Where the first datagram a reserved stream is holding came from (the peer that already
    /// talks to it), if any.
    pub fn kept_source(&self) -> Option<SocketAddr> {
        lock(&self.shared).early.front().map(|(from, _)| *from)
    }
    /// Datagrams an unconnected reserved stream is holding for its [`UdxStream::connect`].
    pub fn kept_datagrams(&self) -> usize {
        lock(&self.shared).early.len()
    }
    /// Lets the first datagram for an unconnected stream decide its peer (like
    /// [`UdxSocket::accept`]); a datagram the stream already kept is asked at once.
    pub fn set_firewall(&self, mut firewall: Firewall) {
        let mut g = lock(&self.shared);
        if g.stream.is_connected() || g.closed {
            return;
        }
        match g.early.front().and_then(|(from, _)| firewall(*from)) {
            Some((remote_id, addr)) => {
                let fwd = connect_locked(&mut g, remote_id, addr);
                flush(&mut g);
                let home = g.home.clone();
                drop(g);
                relay_out(&home, &self.shared, fwd);
                home.notify.notify_one();
            }
            None => g.firewall = Some(firewall),
        }
    }
    /// Sends HEARTBEATs while idle (`setKeepalive`).
    pub fn set_keepalive(&self, ka: Option<Duration>) {
        let mut g = lock(&self.shared);
        g.stream.set_keepalive(ka, Instant::now().into_std());
        g.home.notify.notify_one();
    }
    /// [`UdxStreamRef::move_to`]: the stream now lives on socket `to`.
    pub fn move_to(&self, to: &UdxSocket) -> bool {
        self.downgrade().move_to(to)
    }
    /// `changeRemote`: new packets go to `remote_id` at `addr`.
    pub fn change_remote(&self, remote_id: u32, addr: SocketAddr) {
        handle::change_remote_locked(&mut lock(&self.shared), remote_id, addr);
    }
    /// `relayTo(destination)`: from now on datagrams for this stream go, unprocessed and with
    /// the id rewritten, to `destination`'s peer (both streams must be on this socket).
    pub fn relay_to(&self, destination: &UdxStream) {
        let (cell, id) = {
            let d = lock(&destination.shared);
            (d.ext.peer.clone(), d.stream.local_id)
        };
        lock(&self.shared).ext.relay_to = Some((cell, id));
    }
    /// Runs `hook` with the source of the first datagram this unconnected stream keeps (at
    /// once if it holds one already): udx-native's stream `firewall` callback, for owners that
    /// decide asynchronously and then [`UdxStream::connect`].
    pub fn on_first_datagram(&self, hook: EarlyHook) {
        let mut g = lock(&self.shared);
        if g.stream.is_connected() || g.closed {
            return;
        }
        match g.early.front().map(|(from, _)| *from) {
            Some(from) => hook(from),
            None => g.ext.early_hook = Some(hook),
        }
    }
    /// Sends DESTROY and closes. The driver is woken so it re-reads the stream's timers (a
    /// closed stream's linger) and forgets it once done, freeing its id.
    pub fn destroy(&self) {
        let mut g = lock(&self.shared);
        g.stream.destroy();
        flush(&mut g);
        g.home.notify.notify_one();
    }
    /// An unreliable datagram on this stream.
    pub fn send_message(&self, data: &[u8]) -> bool {
        let mut g = lock(&self.shared);
        let ok = g.stream.send_message(data);
        flush(&mut g);
        ok
    }
    pub fn try_recv_message(&self) -> Option<Vec<u8>> {
        lock(&self.shared).messages.pop_front()
    }
    /// The next unreliable message (udx-native's `message` event); `Ready(None)` once the
    /// stream is closed and no message is left. One task at a time may wait here.
    pub fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut g = lock(&self.shared);
        if let Some(m) = g.messages.pop_front() {
            return Poll::Ready(Some(m));
        }
        if g.closed {
            return Poll::Ready(None);
        }
        g.message_waker = Some(cx.waker().clone());
        Poll::Pending
    }
    /// Resolves once the stream is closed (both sides ended, destroyed, or failed).
    pub async fn closed(&self) -> Option<UdxError> {
        std::future::poll_fn(|cx| {
            let mut g = lock(&self.shared);
            if g.closed {
                return Poll::Ready(g.error);
            }
            wait_close(&mut g, cx);
            Poll::Pending
        })
        .await
    }
}

impl AsyncRead for UdxStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut g = lock(&self.shared);
        let n = g.stream.peek_into(out.initialize_unfilled());
        out.advance(n);
        if n > 0 {
            g.stream.consume(n);
            // a window update the read made due goes out now, not at the driver's next turn
            // (a writer stalled on our closed window would otherwise wait for its next probe);
            // a plain pending ACK waits for the socket's flush (a reply may carry it)
            if g.stream.window_update_due() {
                flush(&mut g);
            }
            return Poll::Ready(Ok(()));
        }
        if g.eof {
            return Poll::Ready(Ok(()));
        }
        if g.closed {
            return match g.error {
                Some(e) => Poll::Ready(Err(io::Error::other(e))),
                None => Poll::Ready(Ok(())),
            };
        }
        g.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for UdxStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut g = lock(&self.shared);
        if g.closed {
            return Poll::Ready(Err(io::Error::other(
                g.error.unwrap_or(UdxError::Destroyed),
            )));
        }
        if g.stream.wait_writable() {
            g.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        g.stream.write(buf, Instant::now().into_std());
        flush(&mut g);
        // the driver re-computes its timers only if the new packets armed one earlier than
        // its planned wake-up
        let after = g.stream.poll_timeout();
        g.home.wake_for(after);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut g = lock(&self.shared);
        g.stream.end(Instant::now().into_std());
        flush(&mut g);
        g.home.notify.notify_one();
        Poll::Ready(Ok(()))
    }
}
