//! `pluginRequest` (PLUGIN request values, `hyperdht lib/messages.js`). The crate only decodes
//! it; the encoding written here (string, uint, uint, flags, buffer) must decode back to the
//! same request (the name is decoded lossily, so it is valid UTF-8 from then on).

use hyperdht_core::plugin::PluginRequest;
use hyperdht_encoding::Writer;

fn encode(p: &PluginRequest) -> Vec<u8> {
    let mut w = Writer::new();
    w.string(&p.plugin);
    w.uint(p.version);
    w.uint(p.command);
    w.uint(u64::from(p.value.is_some()));
    if let Some(v) = &p.value {
        w.buffer(v);
    }
    w.into_vec()
}

pub fn run(data: &[u8]) {
    let Some(p) = PluginRequest::decode(data) else {
        return;
    };
    let bytes = encode(&p);
    assert_eq!(PluginRequest::decode(&bytes).as_ref(), Some(&p));
}
