//! `@hyperswarm/secret-stream` framing (`hyperdht_secret_stream::SecretStream`, sans-IO) and its
//! unordered datagrams (`Datagrams`), on the keys of the IK golden vector: the local side is the
//! responder, a second codec plays the initiator. The input is a sequence of [`Op`]s: frames
//! the peer encrypts (whole, split, batched, corrupted), its header, keep-alives, raw bytes,
//! writes in the other direction and datagrams.
//!
//! A model predicts every result as long as no raw bytes were fed: the header first (anything
//! else fails the stream), then each frame's plaintext exactly once and in order, a corrupted
//! frame fails the stream, and a failed stream stays failed and never yields data again.
//! After raw bytes only the last rule is checked. Every other feed goes through the
//! partial-frame buffer as the async adapter's reads do. Datagrams must open to what was sealed and
//! not open once a byte is flipped.

use arbitrary::Arbitrary;
use hyperdht_secret_stream::stream::StreamEvent;
use hyperdht_secret_stream::{Datagrams, HandshakeResult, SecretStream};

use crate::ops::Ops;

#[derive(Arbitrary, Debug, PartialEq)]
pub enum Op {
    /// The peer's 56-byte header message.
    Header,
    /// One frame of `len` input bytes encrypted by the peer.
    Frame { len: u16 },
    /// The same, fed in two pieces cut at `cut`.
    Split { len: u16, cut: u16 },
    /// `n` frames of `len` bytes fed in one piece.
    Batch { n: u8, len: u8 },
    /// The peer's keep-alive (an empty frame).
    KeepAlive,
    /// A peer frame with one byte after its length prefix flipped.
    Corrupt { len: u8, pos: u16, xor: u8 },
    /// `len` raw input bytes.
    Raw { len: u16 },
    /// `filterZeroByteMessages`.
    Filter(bool),
    /// A local write of `len` input bytes, fed to the peer.
    LocalWrite { len: u16 },
    /// A datagram the peer seals (`pos`/`xor` flip one byte of a copy).
    Datagram { len: u8, pos: u8, xor: u8 },
    /// `len` raw input bytes opened as a datagram.
    DatagramRaw { len: u8 },
    /// A datagram sealed earlier, opened again (there is no replay protection, as upstream).
    Replay { idx: u8 },
}

/// Number of [`Op`] variants (for seed writing).
pub const OP_COUNT: u32 = 12;
pub const OP_RAW: u32 = 6;
pub const OP_DATAGRAM_RAW: u32 = 10;

const MAX_OPS: usize = 4000;

/// The IK golden vector (`crates/secret-stream/tests/data/noise.json`).
pub const HANDSHAKE_HASH: &str = "72881d00be7444db169a3fdb53b94250b98f50e8e0361b10e404a9a3f6775a26e89b7313c75e08b10a8549dd2fcd7f542008d3ccedaeba6f7cb227998a736b7d";
pub const INITIATOR_TX: &str = "0449dc486159e766f752316ddeb055984cc0ad321ca030c4df8f52c054e8e813";
pub const INITIATOR_RX: &str = "556f6d151502cf93ef0534537a6f4a0a3d450fc2b7c134673493541d45db730b";
/// secretstream headers both sides used in `secretstream.json`.
pub const INITIATOR_HEADER: &str = "c46bbf2f87b21060a57c132ac687de853749747e95b1f82b";
pub const RESPONDER_HEADER: &str = "03c3beea63b20a1c7ba02de2b2f3796476a2643c8e977a9a";

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex constant");
    }
    out
}

fn result(initiator: bool) -> HandshakeResult {
    let (itx, irx) = (unhex::<32>(INITIATOR_TX), unhex::<32>(INITIATOR_RX));
    HandshakeResult {
        is_initiator: initiator,
        public_key: [initiator as u8; 32],
        remote_public_key: [!initiator as u8; 32],
        hash: unhex::<64>(HANDSHAKE_HASH),
        tx: if initiator { itx } else { irx },
        rx: if initiator { irx } else { itx },
        holepunch_secret: None,
    }
}

struct Model {
    local: SecretStream,
    peer: SecretStream,
    peer_header: Vec<u8>,
    connected: bool,
    failed: bool,
    filter: bool,
    /// raw bytes were fed: results are no longer predicted
    tainted: bool,
    /// feeds so far: every other one writes what it can through the partial-frame buffer
    feeds: u64,
}

/// Feeds `bytes` as a transport reading straight into the partial-frame buffer does
/// (`SecretStreamIo`): through [`SecretStream::partial_room`] while a frame is partial, the rest
/// through [`SecretStream::feed`].
fn feed_via_room(
    s: &mut SecretStream,
    mut bytes: &[u8],
) -> Result<Vec<StreamEvent>, hyperdht_secret_stream::SecretStreamError> {
    let mut events = Vec::new();
    while !bytes.is_empty() {
        let Some(room) = s.partial_room() else { break };
        let n = room.len().min(bytes.len());
        room[..n].copy_from_slice(&bytes[..n]);
        bytes = &bytes[n..];
        events.extend(s.partial_filled(n)?);
    }
    events.extend(s.feed(bytes)?);
    Ok(events)
}

impl Model {
    /// Feeds `bytes` and checks the outcome against `expect` (the plaintexts of the complete
    /// frames in it; `None` = must fail).
    fn feed(&mut self, bytes: &[u8], expect: Option<Vec<StreamEvent>>) {
        self.feeds += 1;
        let got = if self.feeds.is_multiple_of(2) {
            feed_via_room(&mut self.local, bytes)
        } else {
            self.local.feed(bytes)
        };
        if self.failed {
            assert!(got.is_err(), "a failed stream accepted bytes again");
            return;
        }
        match got {
            Err(_) => {
                assert!(self.tainted || expect.is_none(), "unexpected failure");
                self.failed = true;
                assert!(self.local.is_failed());
            }
            Ok(events) => {
                if !self.tainted {
                    let expect = expect.expect("a bad frame was accepted");
                    assert_eq!(events, expect);
                }
                for e in events {
                    if e == StreamEvent::Connected {
                        self.connected = true;
                    }
                }
            }
        }
    }

    /// What one well-formed peer frame with plaintext `m` yields.
    fn expect_frame(&self, m: &[u8]) -> Option<Vec<StreamEvent>> {
        if !self.connected {
            return None;
        }
        if m.is_empty() && self.filter {
            return Some(Vec::new());
        }
        Some(vec![StreamEvent::Data(m.to_vec())])
    }
}

pub fn run(data: &[u8]) {
    let (local_hs, peer_hs) = (result(false), result(true));
    let (local, local_header) = SecretStream::with_header(&local_hs, unhex(RESPONDER_HEADER));
    let (mut peer, peer_header) = SecretStream::with_header(&peer_hs, unhex(INITIATOR_HEADER));
    assert_eq!(
        peer.feed(&local_header).expect("local header"),
        vec![StreamEvent::Connected]
    );
    let mut m = Model {
        local,
        peer,
        peer_header,
        connected: false,
        failed: false,
        filter: false,
        tainted: false,
        feeds: 0,
    };
    let mut local_dg = Datagrams::with_counter(&local_hs, [0; 8]);
    let mut peer_dg = Datagrams::with_counter(&peer_hs, [0xff; 8]);
    let mut sealed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut ops = Ops::new(data, MAX_OPS);
    while let Some(op) = ops.op::<Op>() {
        match op {
            Op::Header => {
                let h = m.peer_header.clone();
                let expect = (!m.connected).then(|| vec![StreamEvent::Connected]);
                m.feed(&h, expect);
            }
            Op::Frame { len } => {
                let pt = ops.bytes(usize::from(len));
                let f = m.peer.encrypt(pt).expect("fits a frame");
                let expect = m.expect_frame(pt);
                m.feed(&f, expect);
            }
            Op::Split { len, cut } => {
                let pt = ops.bytes(usize::from(len));
                let f = m.peer.encrypt(pt).expect("fits a frame");
                let cut = usize::from(cut) % f.len();
                m.feed(&f[..cut], Some(Vec::new()));
                let expect = m.expect_frame(pt);
                m.feed(&f[cut..], expect);
            }
            Op::Batch { n, len } => {
                let mut all = Vec::new();
                let mut expect = Some(Vec::new());
                for _ in 0..n % 16 {
                    let pt = ops.bytes(usize::from(len));
                    all.extend(m.peer.encrypt(pt).expect("fits a frame"));
                    match (m.expect_frame(pt), expect.as_mut()) {
                        (Some(e), Some(v)) => v.extend(e),
                        _ => expect = None,
                    }
                }
                m.feed(&all, expect);
            }
            Op::KeepAlive => {
                let f = m.peer.keep_alive_frame();
                let expect = m.expect_frame(&[]);
                m.feed(&f, expect);
            }
            Op::Corrupt { len, pos, xor } => {
                let pt = ops.bytes(usize::from(len));
                let mut f = m.peer.encrypt(pt).expect("fits a frame");
                let i = 3 + usize::from(pos) % (f.len() - 3);
                f[i] ^= xor.max(1);
                m.feed(&f, None);
            }
            Op::Raw { len } => {
                let bytes = ops.bytes(usize::from(len));
                m.tainted = true;
                m.feed(bytes, None);
            }
            Op::Filter(on) => {
                m.filter = on;
                m.local.set_filter_empty_messages(on);
            }
            Op::LocalWrite { len } => {
                let pt = ops.bytes(usize::from(len));
                let f = m.local.encrypt(pt).expect("fits a frame");
                let got = m.peer.feed(&f).expect("the peer reads our frames");
                assert_eq!(got, vec![StreamEvent::Data(pt.to_vec())]);
            }
            Op::Datagram { len, pos, xor } => {
                let pt = ops.bytes(usize::from(len));
                let d = match peer_dg.seal(pt) {
                    Ok(d) => d,
                    Err(e) => panic!("seal failed: {e:?}"),
                };
                assert_eq!(local_dg.open(&d).as_deref(), Some(pt));
                let mut bad = d.clone();
                let i = usize::from(pos) % bad.len();
                bad[i] ^= xor.max(1);
                assert_eq!(
                    local_dg.open(&bad),
                    None,
                    "flipped datagram byte {i} opened"
                );
                // our own datagrams are for the peer, not for us
                let mine = local_dg.seal(pt).expect("seal");
                assert_eq!(local_dg.open(&mine), None);
                assert_eq!(peer_dg.open(&mine).as_deref(), Some(pt));
                if sealed.len() < 64 {
                    sealed.push((d, pt.to_vec()));
                }
            }
            Op::DatagramRaw { len } => {
                let _ = local_dg.open(ops.bytes(usize::from(len)));
            }
            Op::Replay { idx } => {
                if let Some((d, pt)) = sealed.get(usize::from(idx) % sealed.len().max(1)) {
                    assert_eq!(local_dg.open(d).as_ref(), Some(pt));
                }
            }
        }
    }
}
