//! The UDX header (`libudx src/udx.c: udx_write_header`, `process_packet`) and the SACK blocks
//! an ACK carries. The input is one datagram:
//! * the header parser must agree with the layout (magic, version, `data_offset` padding),
//!   and parse → write → parse must give the same header and payload;
//! * the datagram is then handed, as if from the peer, to a connected stream with packets in
//!   flight (so ACK / SACK / window handling runs on it), and the stream's timers must still
//!   be sane afterwards.

use std::time::{Duration, Instant};

use hyperdht_udx::header::{Header, HEADER_SIZE, MAGIC, VERSION};
use hyperdht_udx::{Stream, StreamEvent};

fn check_parse(data: &[u8]) {
    let parsed = Header::parse(data);
    let looks_udx = data.len() >= HEADER_SIZE && data[0] == MAGIC && data[1] == VERSION;
    assert_eq!(Header::peek_id(data).is_some(), looks_udx);
    let Some((h, payload)) = parsed else {
        assert!(!looks_udx || HEADER_SIZE + data[3] as usize > data.len());
        return;
    };
    assert!(looks_udx);
    assert_eq!(Header::peek_id(data), Some(h.remote_id));
    assert_eq!(
        payload,
        &data[HEADER_SIZE + h.data_offset as usize..],
        "payload starts after the padding"
    );
    let mut out = Vec::new();
    h.write(&mut out);
    assert_eq!(out.len(), HEADER_SIZE);
    assert_eq!(out[..], data[..HEADER_SIZE]);
    out.resize(HEADER_SIZE + h.data_offset as usize, 0);
    out.extend_from_slice(payload);
    assert_eq!(Header::parse(&out), Some((h, payload)));
}

pub fn run(data: &[u8]) {
    check_parse(data);
    let t0 = Instant::now();
    let mut s = Stream::new_at(1, t0);
    s.connect(2, t0);
    s.write(&[0x5a; 24 * 1152], t0);
    while s.poll_transmit().is_some() {}
    let sent = s.inflight();
    let now = t0 + Duration::from_millis(20);
    s.handle_datagram(data, now);
    let mut out = 0;
    while let Some(d) = s.poll_transmit() {
        assert!(
            Header::parse(&d).is_some(),
            "the stream sent a non-UDX datagram"
        );
        out += 1;
        assert!(out <= 4 * sent + 64, "one datagram triggered {out} sends");
    }
    while let Some(ev) = s.poll_event() {
        if let StreamEvent::Message(m) = ev {
            assert!(m.len() <= data.len());
        }
    }
    assert!(s.readable_bytes() <= data.len());
    // the timers must move forward: a deadline at or before `now` after handling it would make
    // a driver spin
    let mut t = now;
    for _ in 0..16 {
        let Some(next) = s.poll_timeout() else { break };
        t = t.max(next);
        s.handle_timeout(t);
        while s.poll_transmit().is_some() {}
        if let Some(after) = s.poll_timeout() {
            assert!(after > t, "timer did not advance past {:?}", t - t0);
        }
    }
}
