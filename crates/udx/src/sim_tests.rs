//! Two sans-IO [`Stream`]s over a simulated path on a virtual clock: a bottleneck of fixed
//! packet rate, a propagation delay, random loss and reordering. Checks byte-exact delivery
//! both ways with half-close, and that BBR + pacing use the bottleneck without collapsing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::stream::{Stream, StreamEvent};

struct Link {
    /// arrival time (+ tiebreak) → datagram
    queue: BTreeMap<(Instant, u64), Vec<u8>>,
    free_at: Instant,
    service: Duration,
    delay: Duration,
    loss_permille: u64,
    reorder_permille: u64,
    rng: u64,
    n: u64,
    /// the bottleneck buffer, in packets (tail drop beyond it)
    buffer: usize,
}

impl Link {
    fn new(now: Instant, pps: f64, delay: Duration, loss: u64, reorder: u64) -> Self {
        Link {
            queue: BTreeMap::new(),
            free_at: now,
            service: Duration::from_secs_f64(1.0 / pps),
            delay,
            loss_permille: loss,
            reorder_permille: reorder,
            rng: 0x9e37_79b9_7f4a_7c15,
            n: 0,
            buffer: 1000,
        }
    }

    fn rnd(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 1000
    }

    fn send(&mut self, now: Instant, d: &[u8]) {
        self.n += 1;
        if self.rnd() < self.loss_permille {
            return;
        }
        let start = self.free_at.max(now);
        let queued =
            start.saturating_duration_since(now).as_secs_f64() / self.service.as_secs_f64();
        if queued as usize >= self.buffer {
            return; // tail drop
        }
        self.free_at = start + self.service;
        let mut at = self.free_at + self.delay;
        if self.rnd() < self.reorder_permille {
            at += Duration::from_millis(3);
        }
        self.queue.insert((at, self.n), d.to_vec());
    }

    fn next(&self) -> Option<Instant> {
        self.queue.keys().next().map(|k| k.0)
    }

    fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        let k = *self.queue.keys().next()?;
        if k.0 > now {
            return None;
        }
        self.queue.remove(&k)
    }
}

fn byte(i: u64, seed: u8) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed
}

struct End {
    s: Stream,
    written: u64,
    read: u64,
    eof: bool,
    closed: Option<Option<crate::UdxError>>,
    seed_out: u8,
    seed_in: u8,
}

impl End {
    fn pump_writes(&mut self, total: u64, now: Instant) {
        let mut chunk = vec![0u8; 65536];
        while self.written < total && !self.s.is_write_blocked() {
            let n = (total - self.written).min(chunk.len() as u64) as usize;
            for (k, b) in chunk[..n].iter_mut().enumerate() {
                *b = byte(self.written + k as u64, self.seed_out);
            }
            self.s.write(&chunk[..n], now);
            self.written += n as u64;
            if self.written == total {
                self.s.end(now);
            }
        }
    }

    fn drain_reads(&mut self) {
        let (a, b) = self.s.read_slices();
        for (k, &x) in a.iter().chain(b.iter()).enumerate() {
            assert_eq!(
                x,
                byte(self.read + k as u64, self.seed_in),
                "byte {}",
                self.read
            );
        }
        let n = a.len() + b.len();
        self.s.consume(n);
        self.read += n as u64;
        while let Some(ev) = self.s.poll_event() {
            match ev {
                StreamEvent::End => self.eof = true,
                StreamEvent::Close(e) => self.closed = Some(e),
                _ => {}
            }
        }
    }
}

/// Runs `bytes` each way; returns the virtual time the transfer took.
/// `strict_close`: both must close cleanly. Under heavy loss the final ACK can be lost more
/// often than the closing side lingers to repeat it (`LINGER` in `stream.rs`), and the other
/// side then ends with `TimedOut`; the data must still be exact.
fn run(
    bytes: u64,
    pps: f64,
    delay: Duration,
    loss: u64,
    reorder: u64,
    strict_close: bool,
) -> Duration {
    let t0 = Instant::now();
    let mut now = t0;
    let mut ab = Link::new(now, pps, delay, loss, reorder);
    let mut ba = Link::new(now, pps, delay, loss, reorder);
    ba.rng ^= 0x1234_5678;
    let mut a = End {
        s: Stream::new(1),
        written: 0,
        read: 0,
        eof: false,
        closed: None,
        seed_out: 0xa5,
        seed_in: 0x3c,
    };
    let mut b = End {
        s: Stream::new(2),
        written: 0,
        read: 0,
        eof: false,
        closed: None,
        seed_out: 0x3c,
        seed_in: 0xa5,
    };
    a.s.connect(2, now);
    b.s.connect(1, now);
    for _ in 0..5_000_000 {
        a.pump_writes(bytes, now);
        b.pump_writes(bytes, now);
        a.s.drain_transmit(64, |d, seg| {
            for p in d.chunks(seg) {
                ab.send(now, p);
            }
        });
        b.s.drain_transmit(64, |d, seg| {
            for p in d.chunks(seg) {
                ba.send(now, p);
            }
        });
        a.drain_reads();
        b.drain_reads();
        if a.closed.is_some() && b.closed.is_some() {
            if strict_close {
                assert_eq!(a.closed, Some(None));
                assert_eq!(b.closed, Some(None));
            }
            assert_eq!((a.read, b.read), (bytes, bytes));
            assert!(a.eof && b.eof);
            return now - t0;
        }
        let next = [ab.next(), ba.next(), a.s.poll_timeout(), b.s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .expect("something is pending");
        now = now.max(next);
        while let Some(d) = ab.pop_due(now) {
            b.s.handle_datagram(&d, now);
        }
        while let Some(d) = ba.pop_due(now) {
            a.s.handle_datagram(&d, now);
        }
        if a.s.poll_timeout().is_some_and(|t| t <= now) {
            a.s.handle_timeout(now);
        }
        if b.s.poll_timeout().is_some_and(|t| t <= now) {
            b.s.handle_timeout(now);
        }
    }
    panic!(
        "transfer did not finish: a read {}, b read {}",
        a.read, b.read
    );
}

#[test]
fn clean_path_runs_near_the_bottleneck() {
    // 10 000 packets/s ≈ 11.5 MB/s, 10 ms one way; 8 MiB each way
    let bytes = 8 << 20;
    let t = run(bytes, 10_000.0, Duration::from_millis(10), 0, 0, true);
    let pkts = bytes as f64 / 1152.0;
    let ideal = pkts / 10_000.0;
    assert!(
        t.as_secs_f64() < ideal * 1.35 + 0.3,
        "took {t:?}, ideal {ideal:.2}s"
    );
}

#[test]
fn lossy_reordering_path_delivers_exactly() {
    // 3% loss and 5% reordering both ways; a lost final ACK is repaired by the linger
    let bytes = 4 << 20;
    let t = run(bytes, 20_000.0, Duration::from_millis(5), 30, 50, true);
    let ideal = bytes as f64 / 1152.0 / 20_000.0;
    // random loss must not collapse the window (BBR is not loss-driven)
    assert!(
        t.as_secs_f64() < ideal * 3.0 + 0.5,
        "took {t:?}, ideal {ideal:.2}s"
    );
}

#[test]
fn heavy_loss_still_completes() {
    run(
        256 << 10,
        5_000.0,
        Duration::from_millis(20),
        200,
        100,
        false,
    );
}
