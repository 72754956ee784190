//! `SecretStreamIo<T>`: the secret-stream protocol over any tokio `AsyncRead + AsyncWrite`
//! transport (a UDX stream in hyperdht). Each `write` becomes one encrypted frame; reads yield
//! decrypted bytes; `shutdown` half-closes the transport. A bad frame fails the stream for good.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::handshake::HandshakeResult;
use crate::stream::{SecretStream, StreamEvent};

/// Largest plaintext put in one frame by `poll_write` (bigger writes are accepted partially).
const MAX_WRITE: usize = 64 * 1024;

pub struct SecretStreamIo<T> {
    inner: T,
    codec: SecretStream,
    result: HandshakeResult,
    wbuf: Vec<u8>,
    wpos: usize,
    plain: VecDeque<Vec<u8>>,
    plain_off: usize,
    rbuf: Vec<u8>,
    eof: bool,
    connected: bool,
    failed: Option<String>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> SecretStreamIo<T> {
    /// Starts the stream: the 56-byte header message is the first thing written.
    pub fn new(inner: T, hs: HandshakeResult) -> Self {
        let (codec, header) = SecretStream::new(&hs);
        SecretStreamIo {
            inner,
            codec,
            result: hs,
            wbuf: header,
            wpos: 0,
            plain: VecDeque::new(),
            plain_off: 0,
            rbuf: vec![0u8; 64 * 1024],
            eof: false,
            connected: false,
            failed: None,
        }
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
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for SecretStreamIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // keep the header flowing even if the application only reads
        if this.wpos < this.wbuf.len() {
            let _ = this.poll_drain(cx);
        }
        loop {
            if let Some(e) = &this.failed {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e.clone())));
            }
            if let Some(front) = this.plain.front() {
                let n = (front.len() - this.plain_off).min(out.remaining());
                out.put_slice(&front[this.plain_off..this.plain_off + n]);
                this.plain_off += n;
                if this.plain_off == front.len() {
                    this.plain.pop_front();
                    this.plain_off = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.rbuf);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        this.eof = true;
                        continue;
                    }
                    let filled = this.rbuf[..n].to_vec();
                    match this.codec.feed(&filled) {
                        Ok(events) => {
                            for ev in events {
                                match ev {
                                    StreamEvent::Connected => this.connected = true,
                                    StreamEvent::Data(d) if !d.is_empty() => {
                                        this.plain.push_back(d)
                                    }
                                    StreamEvent::Data(_) => {}
                                }
                            }
                        }
                        Err(e) => this.failed = Some(e.to_string()),
                    }
                }
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
        if let Some(e) = &this.failed {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e.clone())));
        }
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map(|r| r.map(|_| 0)),
        }
        let n = buf.len().min(MAX_WRITE);
        this.codec
            .encrypt_into(&buf[..n], &mut this.wbuf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        // push what we can now; the rest goes out on the next call / flush
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
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
