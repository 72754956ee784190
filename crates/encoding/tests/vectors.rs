//! Golden tests from tests/data/compact-encoding.json (copied from shared/protocol/vectors, produced by the real JS).

use hyperdht_encoding::{DecodeError, Reader, Writer};
use serde_json::Value;
use std::net::{Ipv6Addr, SocketAddrV4, SocketAddrV6};

fn vectors() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/compact-encoding.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).expect("vectors file")).expect("json")
}

fn hexval(v: &Value) -> Vec<u8> {
    if let Some(h) = v["hex"].as_str() {
        return hex::decode(h).expect("hex");
    }
    // {"hex_of_content": "11 repeated 253 times", "length": 253}
    let desc = v["hex_of_content"].as_str().expect("hex or hex_of_content");
    let byte = u8::from_str_radix(&desc[..2], 16).expect("byte");
    vec![byte; v["length"].as_u64().expect("length") as usize]
}

fn addr4(v: &Value) -> SocketAddrV4 {
    SocketAddrV4::new(
        v["host"].as_str().unwrap().parse().unwrap(),
        v["port"].as_u64().unwrap() as u16,
    )
}

/// Encodes `value` with `codec`; None for codecs we do not encode from JSON.
fn encode(codec: &str, value: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    match codec {
        "uint" => w.uint(value.as_u64().unwrap()),
        "uint16" => w.uint16(value.as_u64().unwrap() as u16),
        "uint32" => w.uint32(value.as_u64().unwrap() as u32),
        "fixed32" => w.fixed32(&hexval(value).try_into().unwrap()),
        "fixed64" => w.fixed64(&hexval(value).try_into().unwrap()),
        "buffer" => w.buffer(&hexval(value)),
        "raw" => w.raw(&hexval(value)),
        "string (utf8)" => w.string(value.as_str().unwrap()),
        "ipv4Address" => w.ipv4_address(&addr4(value)),
        "array(ipv4Address)" => {
            let list: Vec<SocketAddrV4> = value.as_array().unwrap().iter().map(addr4).collect();
            w.ipv4_array(&list)
        }
        "ipv6Address" => {
            let host = value["host"].as_str().unwrap();
            let ip: Ipv6Addr = host.parse().unwrap();
            w.ipv6_address(&SocketAddrV6::new(
                ip,
                value["port"].as_u64().unwrap() as u16,
                0,
                0,
            ))
        }
        "bool" => w.bool(value.as_bool().unwrap()),
        other => panic!("unknown codec {other}"),
    }
    w.into_vec()
}

/// Decodes and renders the result as the JSON the vectors use.
fn decode(codec: &str, bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(bytes);
    let hexv = |b: &[u8]| serde_json::json!({ "hex": hex::encode(b) });
    Ok(match codec {
        "uint" => r.uint()?.into(),
        "uint16" => r.uint16()?.into(),
        "uint32" => r.uint32()?.into(),
        "fixed32" => hexv(&r.fixed32()?),
        "fixed64" => hexv(&r.fixed64()?),
        "buffer" => hexv(r.buffer()?),
        "raw" => hexv(r.raw_rest()),
        "string (utf8)" => r.string()?.into(),
        "ipv4Address" => {
            let a = r.ipv4_address()?;
            serde_json::json!({"host": a.ip().to_string(), "family": 4, "port": a.port()})
        }
        "array(ipv4Address)" => Value::Array(
            r.ipv4_array()?
                .iter()
                .map(|a| serde_json::json!({"host": a.ip().to_string(), "family": 4, "port": a.port()}))
                .collect(),
        ),
        "ipv6Address" => {
            let a = r.ipv6_address()?;
            let s = a.ip().segments().iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
            serde_json::json!({"host": s, "family": 6, "port": a.port()})
        }
        "bool" => r.bool()?.into(),
        other => panic!("unknown codec {other}"),
    })
}

#[test]
fn encode_vectors() {
    let v = vectors();
    let cases = v["encode"].as_array().unwrap();
    assert!(cases.len() > 20);
    for c in cases {
        let codec = c["codec"].as_str().unwrap();
        let want = hex::decode(c["hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode(encode(codec, &c["value"])),
            hex::encode(&want),
            "encode {c}"
        );
        let decoded = decode(codec, &want).unwrap();
        if c["decoded"].get("hex_of_content").is_some() {
            assert_eq!(
                decoded["hex"].as_str().unwrap(),
                hex::encode(hexval(&c["decoded"]))
            );
        } else {
            assert_eq!(decoded, c["decoded"], "decode {c}");
        }
    }
}

#[test]
fn decode_vectors() {
    let v = vectors();
    for c in v["decode"].as_array().unwrap() {
        let codec = c["codec"].as_str().unwrap();
        let bytes = hex::decode(c["hex"].as_str().unwrap()).unwrap();
        let got = decode(codec, &bytes);
        if let Some(err) = c.get("error") {
            let e = got.expect_err(&format!("expected error for {c}"));
            let want = match err.as_str().unwrap() {
                "Out of bounds" => DecodeError::OutOfBounds,
                "Array is too big" => DecodeError::ArrayTooBig,
                s if s.starts_with("uint must be") => DecodeError::UnsafeInteger,
                s => panic!("unmapped error {s}"),
            };
            assert_eq!(e, want, "{c}");
        } else {
            assert_eq!(got.unwrap(), c["result"], "{c}");
        }
    }
}

#[test]
fn random_and_truncated_input_never_panics() {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20000 {
        let len = (next() % 48) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        for codec in [
            "uint",
            "buffer",
            "string (utf8)",
            "ipv4Address",
            "array(ipv4Address)",
            "fixed32",
            "ipv6Address",
        ] {
            let _ = decode(codec, &bytes);
        }
    }
}
