//! Writes the seed corpora `fuzz/corpus/<target>/seed-*` from the golden vectors in
//! `crates/*/tests/data/*.json` (run from anywhere: `cargo run -p hyperdht-fuzz-targets
//! --example seeds`). Decoder targets get the vector encodings as they are; operation-stream
//! targets get the vectors wrapped in operations ([`SeedWriter`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hyperdht_fuzz_targets::ops::SeedWriter;
use hyperdht_fuzz_targets::{hd_persistent, noise_ik, rpc_node, secret_stream, udx_stream};
use hyperdht_udx::header::{self, Header};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(rel: &str) -> Value {
    let p = root().join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("vector file")).expect("json")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

#[derive(Default)]
struct Seeds(BTreeMap<&'static str, Vec<(String, Vec<u8>)>>);

impl Seeds {
    fn add(&mut self, target: &'static str, label: impl Into<String>, data: Vec<u8>) {
        let label: String = label
            .into()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        self.0.entry(target).or_default().push((label, data));
    }

    fn write(&self) {
        for (target, seeds) in &self.0 {
            let dir = root().join("fuzz/corpus").join(target);
            std::fs::create_dir_all(&dir).expect("mkdir");
            for (i, (label, data)) in seeds.iter().enumerate() {
                let name = format!("seed-{i:02}-{}", &label[..label.len().min(40)]);
                std::fs::write(dir.join(name), data).expect("write seed");
            }
            println!("{target}: {} seeds", seeds.len());
        }
    }
}

fn rpc(s: &mut Seeds) {
    let v = json("crates/rpc/tests/data/dht-rpc-packets.json");
    let packets = v["packets"].as_array().expect("packets");
    for p in packets {
        let name = p["name"].as_str().expect("name");
        s.add("rpc_message", name, h(&p["hex"]));
    }
    // the node: each setup mode, the captured packets as raw datagrams from pool addresses
    for mode in 0..3u8 {
        let mut w = SeedWriter::new();
        w.u8(mode).bool(mode != 1).bool(true).u8(80).bool(mode == 1);
        for (i, p) in packets.iter().enumerate() {
            let d = h(&p["hex"]);
            w.variant(rpc_node::OP_RAW, rpc_node::OP_COUNT)
                .u8(i as u8)
                .bool(i % 2 == 1)
                .bool(false)
                .u16(d.len() as u16)
                .raw(&d);
        }
        s.add(
            "rpc_node",
            format!("captured-packets-mode{mode}"),
            w.finish(),
        );
    }
}

fn records(s: &mut Seeds) {
    let v = json("crates/hyperdht/tests/data/hyperdht-records.json");
    for p in v["peer_record"].as_array().expect("peers") {
        s.add("hd_peer", "peer-record", h(&p["hex"]));
    }
    let mut announces = Vec::new();
    for list in ["announce", "unannounce"] {
        for a in v[list].as_array().expect("announces") {
            let label = a["label"].as_str().expect("label").to_string();
            s.add("hd_peer", format!("{list}-peer"), h(&a["peer_encoding"]));
            s.add("hd_announce", label.clone(), h(&a["announce_encoding"]));
            announces.push(h(&a["announce_encoding"]));
        }
    }
    s.add(
        "hd_announce",
        "refresh-only",
        h(&v["refresh_only_announce"]["encoding"]),
    );
    for l in v["lookup_reply"].as_array().expect("lookup") {
        s.add("hd_lookup_reply", "lookup-reply", h(&l["hex"]));
    }
    let mut puts = Vec::new();
    for m in v["mutable"].as_array().expect("mutable") {
        s.add(
            "hd_mutable_put",
            "mutable-put",
            h(&m["mutablePutRequest_encoding"]),
        );
        s.add(
            "hd_mutable_get",
            "mutable-get",
            h(&m["mutableGetResponse_encoding"]),
        );
        puts.push((h(&m["target"]), h(&m["mutablePutRequest_encoding"])));
    }
    for p in v["plugin_request"].as_array().expect("plugin") {
        s.add("hd_plugin_request", "plugin-request", h(&p["hex"]));
    }
    // the store: raw ANNOUNCE (4) / MUTABLE_PUT (6) / IMMUTABLE_PUT (8) values
    let raw = |w: &mut SeedWriter, cmd: u8, value: &[u8]| {
        w.variant(hd_persistent::OP_RAW, hd_persistent::OP_COUNT)
            .u8(cmd)
            .u8(1)
            .u8(0)
            .bool(true)
            .bool(true)
            .u16(value.len() as u16)
            .raw(value);
    };
    let mut w = SeedWriter::new();
    w.u8(7).u16(600).bool(false);
    for a in &announces {
        raw(&mut w, 4, a);
        raw(&mut w, 5, a);
    }
    for (_, p) in &puts {
        raw(&mut w, 6, p);
    }
    for i in v["immutable"].as_array().expect("immutable") {
        raw(&mut w, 8, &h(&i["value_hex"]));
    }
    s.add("hd_persistent", "vector-values-as-raw-requests", w.finish());
}

fn messages(s: &mut Seeds) {
    let v = json("crates/hyperdht/tests/data/messages.json");
    for m in v["noisePayload"].as_array().expect("noise payloads") {
        s.add(
            "hd_noise_payload",
            m["name"].as_str().expect("name"),
            h(&m["encoded"]),
        );
    }
    for m in v["handshake_message"].as_array().expect("handshakes") {
        let e = h(&m["encoded"]);
        s.add("hd_handshake", m["name"].as_str().expect("name"), e.clone());
        for flags in [0u8, 2, 6] {
            let mut d = vec![flags];
            d.extend(&e);
            s.add("hd_router", format!("handshake-{flags}"), d);
        }
    }
    for m in v["holepunch_message"].as_array().expect("holepunches") {
        let e = h(&m["encoded"]);
        s.add("hd_holepunch", m["name"].as_str().expect("name"), e.clone());
        for flags in [1u8, 3] {
            let mut d = vec![flags];
            d.extend(&e);
            s.add("hd_router", format!("holepunch-{flags}"), d);
        }
    }
    for m in v["holepunchPayload_plain"].as_array().expect("payloads") {
        let e = h(&m["encoded"]);
        s.add(
            "hd_holepunch_payload",
            m["name"].as_str().expect("name"),
            e.clone(),
        );
        let mut d = vec![1u8];
        d.extend([0x42; 24]);
        d.extend([5, 0]);
        d.extend(&e);
        s.add("hd_secure_payload", "seal-plaintext", d);
    }
    for m in v["secure_payload"].as_array().expect("secure payloads") {
        let mut d = vec![0u8];
        d.extend(h(&m["wire"]));
        s.add("hd_secure_payload", "open-wire", d);
    }
}

fn noise(s: &mut Seeds) {
    let v = json("crates/secret-stream/tests/data/noise.json");
    let ik = &v["ik"];
    s.add(
        "hd_noise_payload",
        "ik-client-payload",
        h(&ik["client_payload_encoded"]),
    );
    s.add(
        "hd_noise_payload",
        "ik-server-payload",
        h(&ik["server_payload_encoded"]),
    );
    // the vectors blank the ephemeral keys: put the real ones back (from the vector seeds)
    let with_e = |e: &Value, msg: &Value| {
        let mut m = h(&e["publicKey"]);
        m.extend(&h(msg)[32..]);
        m
    };
    let m1 = with_e(&ik["client_ephemeral"], &ik["message1"]);
    let m2 = with_e(&ik["server_ephemeral"], &ik["message2"]);
    let mut w = SeedWriter::new();
    w.variant(0, noise_ik::CASE_COUNT)
        .u16(m1.len() as u16)
        .raw(&m1);
    s.add("noise_ik", "genuine-message1", w.finish());
    w.variant(1, noise_ik::CASE_COUNT)
        .u16(m2.len() as u16)
        .raw(&m2);
    s.add("noise_ik", "message2-for-another-ephemeral", w.finish());
    for mask in [0u8, 1, 2, 3] {
        w.variant(2, noise_ik::CASE_COUNT)
            .u8(20)
            .u16(40)
            .u8(mask)
            .u8(3)
            .u8(0xaa);
        w.raw(&h(&ik["client_payload_encoded"]));
        s.add("noise_ik", format!("tamper1-{mask}"), w.finish());
        w.variant(3, noise_ik::CASE_COUNT)
            .u8(20)
            .u8(41)
            .u16(7)
            .u8(mask)
            .u8(1)
            .u8(0);
        w.raw(&h(&ik["client_payload_encoded"]));
        w.raw(&h(&ik["server_payload_encoded"]));
        s.add("noise_ik", format!("tamper2-{mask}"), w.finish());
    }
    let xx = &v["xx"];
    let mut framed = vec![32, 0, 0];
    framed.extend(h(&xx["initiator_ephemeral"]["publicKey"]));
    framed.extend(h(&xx["message3_framed"]));
    for cut in [0u16, 10, 35] {
        w.variant(4, noise_ik::CASE_COUNT)
            .bool(true)
            .u16(cut)
            .raw(&framed);
        s.add("noise_ik", format!("framed-xx-{cut}"), w.finish());
    }
}

fn secret_stream(s: &mut Seeds) {
    let v = json("crates/secret-stream/tests/data/secretstream.json");
    let mut w = SeedWriter::new();
    for wire in v["initiator"]["wires"].as_array().expect("wires") {
        let Ok(d) = hex::decode(wire.as_str().expect("wire")) else {
            continue; // "<END>"
        };
        w.variant(secret_stream::OP_RAW, secret_stream::OP_COUNT)
            .u16(d.len() as u16)
            .raw(&d);
    }
    for m in v["initiator"]["udx_messages_sent"]
        .as_array()
        .expect("messages")
    {
        let d = h(m);
        w.variant(secret_stream::OP_DATAGRAM_RAW, secret_stream::OP_COUNT)
            .u8(d.len() as u8)
            .raw(&d);
    }
    s.add("secret_stream", "vector-wires-and-messages", w.finish());
    // the model's path: header, frames of several shapes, a local write, a datagram
    let c = secret_stream::OP_COUNT;
    w.variant(0, c);
    w.variant(1, c).u16(5).raw(b"hello");
    w.variant(2, c).u16(12).u16(7).raw(b"split frame!");
    w.variant(3, c).u8(3).u8(2).raw(b"abcdef");
    w.variant(4, c);
    w.variant(7, c).bool(true);
    w.variant(4, c);
    w.variant(8, c).u16(5).raw(b"world");
    w.variant(9, c).u8(4).u8(3).u8(0x80).raw(b"ping");
    w.variant(11, c).u8(0);
    w.variant(5, c).u8(4).u16(9).u8(1).raw(b"oops");
    w.variant(1, c).u16(4).raw(b"gone");
    s.add("secret_stream", "model-walk", w.finish());
}

fn udx(s: &mut Seeds) {
    let hdr = |kind: u8, off: u8, seq: u32, ack: u32, payload: &[u8]| {
        let h = Header {
            kind,
            data_offset: off,
            remote_id: 1,
            rwnd: 4 << 20,
            seq,
            ack,
        };
        let mut d = Vec::new();
        h.write(&mut d);
        d.resize(d.len() + usize::from(off), 0);
        d.extend_from_slice(payload);
        d
    };
    let mut sack = Vec::new();
    for (a, b) in [(2u32, 4u32), (6, 9), (12, 13)] {
        sack.extend(a.to_le_bytes());
        sack.extend(b.to_le_bytes());
    }
    let cases = [
        ("ack", hdr(0, 0, 0, 1, &[])),
        ("sack", hdr(header::SACK, 0, 0, 1, &sack)),
        ("sack-offset", hdr(header::SACK, 16, 0, 1, &sack)),
        ("data", hdr(header::DATA, 0, 0, 0, b"payload")),
        ("data-padded", hdr(header::DATA, 8, 0, 0, b"payload")),
        ("end", hdr(header::END, 0, 0, 2, &[])),
        ("message", hdr(header::MESSAGE, 0, 0, 0, b"datagram")),
        ("destroy", hdr(header::DESTROY, 0, 0, 0, &[])),
        ("heartbeat", hdr(header::HEARTBEAT, 0, 0, 0, &[])),
        ("zero-window", {
            let mut d = hdr(0, 0, 0, 3, &[]);
            d[8..12].copy_from_slice(&0u32.to_le_bytes());
            d
        }),
    ];
    for (label, d) in cases {
        s.add("udx_header", label, d);
    }
    // stream pairs: write / deliver / end walks, one with loss and reordering
    let c = udx_stream::OP_COUNT;
    let mut w = SeedWriter::new();
    w.variant(0, c).bool(true).u16(5000);
    w.variant(0, c).bool(false).u16(3000);
    for _ in 0..4 {
        w.variant(5, c).bool(true).u8(255);
        w.variant(5, c).bool(false).u8(255);
        w.variant(1, c).bool(true).u16(u16::MAX);
        w.variant(1, c).bool(false).u16(u16::MAX);
    }
    w.variant(2, c).bool(true);
    w.variant(2, c).bool(false);
    w.variant(5, c).bool(true).u8(255);
    w.variant(5, c).bool(false).u8(255);
    s.add("udx_stream", "write-deliver-end", w.finish());
    w.variant(0, c).bool(true).u16(12000);
    w.variant(6, c).bool(true).u8(1);
    w.variant(7, c).bool(true).u8(2);
    w.variant(8, c).bool(true).u8(0);
    w.variant(5, c).bool(true).u8(255);
    w.variant(5, c).bool(false).u8(255);
    w.variant(12, c).u16(1500);
    w.variant(13, c);
    w.variant(5, c).bool(true).u8(255);
    w.variant(4, c).bool(false).u8(4).raw(b"ping");
    w.variant(5, c).bool(false).u8(255);
    s.add("udx_stream", "loss-dup-reorder-message", w.finish());
    w.variant(0, c).bool(true).u16(3000);
    w.variant(10, c)
        .bool(false)
        .u8(header::SACK)
        .u8(0)
        .bool(true)
        .u32(1 << 20)
        .u16(0)
        .u16(1)
        .u16(16);
    w.raw(&1u32.to_le_bytes()).raw(&2u32.to_le_bytes());
    w.raw(&2u32.to_le_bytes()).raw(&3u32.to_le_bytes());
    w.variant(12, c).u16(2000);
    s.add("udx_stream", "forged-sack", w.finish());
}

fn main() {
    let mut s = Seeds::default();
    rpc(&mut s);
    records(&mut s);
    messages(&mut s);
    noise(&mut s);
    secret_stream(&mut s);
    udx(&mut s);
    s.write();
}
