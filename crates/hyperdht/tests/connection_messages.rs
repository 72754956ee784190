//! Golden vectors for the routed messages (vectors-connection/messages.json).
use std::net::SocketAddrV4;

use hyperdht_core::messages::{HandshakeMessage, HolepunchMessage};
use hyperdht_encoding::Codec;
use serde_json::Value;

fn load() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/messages.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn addr(v: &Value) -> Option<SocketAddrV4> {
    if v.is_null() {
        return None;
    }
    Some(SocketAddrV4::new(
        v["host"].as_str().unwrap().parse().unwrap(),
        v["port"].as_u64().unwrap() as u16,
    ))
}

#[test]
fn handshake_and_holepunch_messages() {
    let v = load();
    for c in v["handshake_message"].as_array().unwrap() {
        let m = HandshakeMessage {
            mode: c["value"]["mode"].as_u64().unwrap(),
            noise: hex::decode(c["value"]["noise"].as_str().unwrap()).unwrap(),
            peer_address: addr(&c["value"]["peerAddress"]),
            relay_address: addr(&c["value"]["relayAddress"]),
        };
        let enc = hex::encode(m.to_bytes());
        assert_eq!(enc, c["encoded"].as_str().unwrap(), "{}", c["name"]);
        assert_eq!(HandshakeMessage::from_bytes(&m.to_bytes()).unwrap(), m);
    }
    for c in v["holepunch_message"].as_array().unwrap() {
        let m = HolepunchMessage {
            mode: c["value"]["mode"].as_u64().unwrap(),
            id: c["value"]["id"].as_u64().unwrap(),
            payload: hex::decode(c["value"]["payload"].as_str().unwrap()).unwrap(),
            peer_address: addr(&c["value"]["peerAddress"]),
        };
        assert_eq!(
            hex::encode(m.to_bytes()),
            c["encoded"].as_str().unwrap(),
            "{}",
            c["name"]
        );
        assert_eq!(HolepunchMessage::from_bytes(&m.to_bytes()).unwrap(), m);
    }
    // truncated input never panics
    for c in v["handshake_message"].as_array().unwrap() {
        let b = hex::decode(c["encoded"].as_str().unwrap()).unwrap();
        for n in 0..b.len() {
            let _ = HandshakeMessage::from_bytes(&b[..n]);
            let _ = HolepunchMessage::from_bytes(&b[..n]);
        }
    }
}

#[test]
fn noise_payload_vectors() {
    use hyperdht_core::noise_payload::NoisePayload;
    let v = load();
    for c in v["noisePayload"].as_array().unwrap() {
        let bytes = hex::decode(c["encoded"].as_str().unwrap()).unwrap();
        let p = NoisePayload::from_bytes(&bytes).unwrap();
        let d = &c["decoded"];
        assert_eq!(p.version, d["version"].as_u64().unwrap(), "{}", c["name"]);
        if p.version != 1 {
            assert!(p.udx.is_none() && p.addresses4.is_empty());
            continue;
        }
        assert_eq!(p.error, d["error"].as_u64().unwrap());
        assert_eq!(p.firewall, d["firewall"].as_u64().unwrap());
        assert_eq!(
            p.addresses4.len(),
            d["addresses4"].as_array().unwrap().len()
        );
        assert_eq!(
            p.addresses6.len(),
            d["addresses6"].as_array().unwrap().len()
        );
        assert_eq!(p.udx.map(|u| u.id), d["udx"]["id"].as_u64());
        assert_eq!(
            p.holepunch.as_ref().map(|h| h.relays.len() as u64),
            d["holepunch"]["relays"].as_array().map(|a| a.len() as u64)
        );
        assert_eq!(p.relay_addresses.is_some(), !d["relayAddresses"].is_null());
        assert_eq!(p.relay_through.is_some(), !d["relayThrough"].is_null());
        // our encoder reproduces the JS bytes
        assert_eq!(
            hex::encode(p.to_bytes()),
            c["encoded"].as_str().unwrap(),
            "{}",
            c["name"]
        );
        for n in 0..bytes.len() {
            let _ = NoisePayload::from_bytes(&bytes[..n]);
        }
    }
}

fn token(v: &Value) -> Option<[u8; 32]> {
    v.as_str()
        .map(|s| hex::decode(s).unwrap().try_into().unwrap())
}

fn holepunch_payload(d: &Value) -> hyperdht_core::messages::HolepunchPayload {
    hyperdht_core::messages::HolepunchPayload {
        error: d["error"].as_u64().unwrap(),
        firewall: d["firewall"].as_u64().unwrap(),
        round: d["round"].as_u64().unwrap(),
        connected: d["connected"].as_bool().unwrap(),
        punching: d["punching"].as_bool().unwrap(),
        addresses: d["addresses"]
            .as_array()
            .map(|a| a.iter().map(|x| addr(x).unwrap()).collect()),
        remote_address: addr(&d["remoteAddress"]),
        token: token(&d["token"]),
        remote_token: token(&d["remoteToken"]),
    }
}

#[test]
fn holepunch_payloads_and_secure_payload() {
    use hyperdht_core::messages::HolepunchPayload;
    use hyperdht_core::secure_payload::SecurePayload;
    let v = load();
    for c in v["holepunchPayload_plain"].as_array().unwrap() {
        let p = holepunch_payload(&c["value"]);
        let enc = hex::decode(c["encoded"].as_str().unwrap()).unwrap();
        assert_eq!(p.to_bytes(), enc, "{}", c["name"]);
        assert_eq!(HolepunchPayload::from_bytes(&enc).unwrap(), p);
    }
    for c in v["secure_payload"].as_array().unwrap() {
        let key: [u8; 32] = hex::decode(c["key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let sp = SecurePayload::new(&key);
        let wire = hex::decode(c["wire"].as_str().unwrap()).unwrap();
        if c["nonce"].is_null() {
            // made by JS with a random nonce: decrypts to the recorded payload
            let want = holepunch_payload(&c["decoded"]);
            assert_eq!(sp.decrypt(&wire), Some(want), "{}", c["name"]);
            continue;
        }
        let nonce: [u8; 24] = hex::decode(c["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let plain = hex::decode(c["plaintext"].as_str().unwrap()).unwrap();
        let p = HolepunchPayload::from_bytes(&plain).unwrap();
        assert_eq!(sp.encrypt_with_nonce(&p, &nonce), wire, "{}", c["name"]);
        assert_eq!(sp.decrypt(&wire), Some(p));
        let mut bad = wire.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(sp.decrypt(&bad), None, "forged payloads are rejected");
        assert_eq!(sp.decrypt(&wire[..40]), None, "too short");
    }
    let t = &v["secure_payload_token"];
    let secret: [u8; 32] = hex::decode(t["localSecret"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sp = SecurePayload::with_local_secret(&[0; 32], secret);
    let host: std::net::Ipv4Addr = t["host"].as_str().unwrap().parse().unwrap();
    for port in [1, 40000] {
        assert_eq!(
            hex::encode(sp.token(&SocketAddrV4::new(host, port))),
            t["token"].as_str().unwrap(),
            "the token ignores the port"
        );
    }
}
