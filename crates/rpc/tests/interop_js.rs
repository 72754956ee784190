//! Interop with the real JS dht-rpc 6.27 (`node` child process running `tests/js/interop.js`):
//! JS nodes bootstrap off a Rust bootstrapper and Rust nodes off a JS one, routing tables mix,
//! findNode and ping work both ways, and Rust nodes end up persistent/firewalled exactly when the
//! JS nodes in the same mode do.
//!
//! Every test re-executes itself inside `unshare -rn` (a private loopback-only network namespace)
//! so it never touches the host network; if that is impossible the test fails with a clear message.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use hyperdht_rpc::driver::{Dht, DhtOptions, QueryEvent, QueryParams};
use hyperdht_rpc::peer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const NETNS_ENV: &str = "HYPERDHT_RPC_IN_NETNS";
const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Returns true when the caller should run the test body here (we are inside the namespace);
/// otherwise re-runs this very test inside `unshare -rn` and asserts it passed there.
fn netns(test: &str) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        return true;
    }
    // already inside the project's namespace runner (scripts/netns.js) with only `lo`
    if std::env::var("HYPERDHT_RS_NETNS").as_deref() == Ok("1") && loopback_only() {
        return true;
    }
    let exe = std::env::current_exe().expect("current test binary");
    let status = std::process::Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(NETNS_ENV, "1")
        .status()
        .unwrap_or_else(|e| {
            panic!("JS interop needs `unshare -rn` (user + network namespaces) to get a private loopback network: {e}")
        });
    assert!(
        status.success(),
        "{test} failed inside the loopback network namespace (exit {status})"
    );
    false
}

/// True when the only network interface is `lo` (`/proc/net/dev`).
fn loopback_only() -> bool {
    let Ok(dev) = std::fs::read_to_string("/proc/net/dev") else {
        return false;
    };
    dev.lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .all(|name| name.trim() == "lo")
}

fn node_modules() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../../node_modules"),
        PathBuf::from("/work/scratch/upstream/node_modules"),
    ];
    for c in candidates {
        if c.join("dht-rpc/index.js").exists() {
            return c;
        }
    }
    panic!("dht-rpc not found: run `npm install --ignore-scripts` at the repository root");
}

struct JsPeer {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next: u64,
}

impl JsPeer {
    fn spawn() -> JsPeer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/interop.js");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .arg(node_modules())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node (is Node.js installed?)");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        JsPeer {
            child,
            stdin,
            lines,
            next: 1,
        }
    }

    async fn call(&mut self, op: &str, mut args: Value) -> Value {
        let id = self.next;
        self.next += 1;
        args["id"] = json!(id);
        args["op"] = json!(op);
        let line = format!("{args}\n");
        self.stdin.write_all(line.as_bytes()).await.expect("write");
        let read = async {
            loop {
                let l = self
                    .lines
                    .next_line()
                    .await
                    .expect("read")
                    .expect("js peer exited");
                let Ok(v) = serde_json::from_str::<Value>(&l) else {
                    continue;
                };
                if v["id"] == json!(id) {
                    return v;
                }
            }
        };
        let v = tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .unwrap_or_else(|_| panic!("js {op} timed out"));
        assert_eq!(v["ok"], json!(true), "js {op} failed: {}", v["error"]);
        v["result"].clone()
    }

    async fn exit(mut self) {
        let _ = self.call("exit", json!({})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

fn hex_id(v: &Value) -> Option<[u8; 32]> {
    let s = v.as_str()?;
    hex::decode(s).ok()?.try_into().ok()
}

fn js_addr(v: &Value) -> SocketAddrV4 {
    SocketAddrV4::new(
        v["host"].as_str().expect("host").parse().expect("ip"),
        v["port"].as_u64().expect("port") as u16,
    )
}

fn js_table(state: &Value) -> Vec<SocketAddrV4> {
    state["table"]
        .as_array()
        .expect("table")
        .iter()
        .map(js_addr)
        .collect()
}

fn js_server(state: &Value) -> SocketAddrV4 {
    SocketAddrV4::new(
        LOCALHOST,
        state["serverPort"].as_u64().expect("port") as u16,
    )
}

async fn rust_node(bootstrap: SocketAddrV4, ephemeral: Option<bool>) -> Dht {
    let dht = Dht::bind(DhtOptions {
        bootstrap: vec![bootstrap.to_string()],
        host: LOCALHOST,
        ephemeral,
        ..DhtOptions::default()
    })
    .await
    .expect("bind");
    tokio::time::timeout(Duration::from_secs(30), dht.ready())
        .await
        .expect("rust node bootstrap timed out")
        .expect("ready");
    dht
}

fn rust_server(d: &Dht) -> SocketAddrV4 {
    SocketAddrV4::new(LOCALHOST, d.server_address().port())
}

fn rust_table(d: &Dht) -> Vec<SocketAddrV4> {
    d.to_array(0).into_iter().map(|n| n.addr).collect()
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Checks the mode a node ended in after bootstrapping matches between JS and Rust.
fn assert_same_mode(label: &str, js: &Value, rs: &Dht) {
    let js_mode = (
        js["ephemeral"].as_bool().unwrap(),
        js["firewalled"].as_bool().unwrap(),
    );
    let rs_mode = (rs.is_ephemeral(), rs.is_firewalled());
    assert_eq!(
        js_mode, rs_mode,
        "{label}: (ephemeral, firewalled) JS vs Rust"
    );
}

/// Everything that must hold on a mixed network whatever kind of bootstrapper it has.
async fn check_mixed_network(js: &mut JsPeer, boot: SocketAddrV4, boot_id: [u8; 32]) {
    // Default (adaptive) nodes joining a network that is just the bootstrapper: the bootstrap
    // query ends with the bootstrapper's reply, before the quick PING_NAT answer can arrive, so
    // both implementations deterministically stay ephemeral and firewalled.
    let j0 = js
        .call(
            "node",
            json!({"name": "j0", "bootstrap": [boot.to_string()]}),
        )
        .await;
    let r0 = rust_node(boot, None).await;
    assert_eq!(
        (j0["ephemeral"].as_bool(), j0["firewalled"].as_bool()),
        (Some(true), Some(true))
    );
    assert_same_mode("default, lone bootstrapper", &j0, &r0);
    assert_eq!(
        r0.address(),
        r0.client_address(),
        "firewalled: requests from the client socket"
    );
    js.call("destroy", json!({"name": "j0"})).await;
    r0.destroy().await;

    // JS persistent + JS default node, Rust persistent + Rust default node
    let j1 = js
        .call(
            "node",
            json!({"name": "j1", "bootstrap": [boot.to_string()], "ephemeral": false}),
        )
        .await;
    let r1 = rust_node(boot, Some(false)).await;
    let j2 = js
        .call(
            "node",
            json!({"name": "j2", "bootstrap": [boot.to_string()]}),
        )
        .await;
    let r2 = rust_node(boot, None).await;

    // ephemeral:false nodes become persistent with id = hash(public addr); defaults stay
    // ephemeral but pass the quick firewall test — the same on both sides.
    assert_eq!(
        j1["ephemeral"],
        json!(false),
        "JS ephemeral:false node persistent"
    );
    assert_eq!(hex_id(&j1["id"]), Some(peer::id(&js_server(&j1))));
    assert_eq!(r1.id(), Some(peer::id(&rust_server(&r1))));
    assert_same_mode("ephemeral:false", &j1, &r1);
    // With more nodes the quick firewall test is a race between the PING_NAT reply and the
    // end of the bootstrap query, in JS as well; only the ephemeral part is deterministic.
    assert_eq!(j2["ephemeral"], json!(true));
    assert!(r2.is_ephemeral() && r2.id().is_none());
    let want = if r2.is_firewalled() {
        r2.client_address()
    } else {
        r2.server_address()
    };
    assert_eq!(r2.address(), want);
    assert_eq!(r1.remote_address(), Some(rust_server(&r1)));
    assert_eq!(
        j1["remoteAddress"],
        json!({"host": "127.0.0.1", "port": js_server(&j1).port()})
    );

    // pings both ways; replies carry the persistent responder's validated id
    let pong = js
        .call(
            "ping",
            json!({"name": "j2", "host": "127.0.0.1", "port": rust_server(&r1).port()}),
        )
        .await;
    assert_eq!(hex_id(&pong["id"]), r1.id(), "JS ping -> Rust persistent");
    let pong = js
        .call(
            "ping",
            json!({"name": "j1", "host": "127.0.0.1", "port": boot.port()}),
        )
        .await;
    assert_eq!(
        hex_id(&pong["id"]),
        Some(boot_id),
        "JS ping -> bootstrapper"
    );
    let res = r2.ping(js_server(&j1)).await.expect("Rust ping -> JS");
    assert_eq!(res.from_id, hex_id(&j1["id"]), "Rust ping -> JS persistent");
    assert_eq!(
        res.to.port(),
        r2.address().port(),
        "JS saw our request socket"
    );
    let res = r2.ping(boot).await.expect("Rust ping -> bootstrapper");
    assert_eq!(res.from_id, Some(boot_id));
    let res = r1
        .ping(js_server(&j2))
        .await
        .expect("Rust ping -> JS ephemeral");
    assert_eq!(res.from_id, None, "ephemeral JS node sends no id");

    // DELAYED_PING both ways: answered no earlier than asked
    let dp = js
        .call("delayedPing", json!({"name": "j2", "host": "127.0.0.1", "port": rust_server(&r1).port(), "delay": 150}))
        .await;
    assert_eq!(hex_id(&dp["id"]), r1.id());
    assert!(dp["elapsed"].as_u64().unwrap() >= 140, "{dp}");
    let t = std::time::Instant::now();
    let res = r2
        .delayed_ping(js_server(&j1), 150)
        .await
        .expect("Rust delayed ping -> JS");
    assert!(t.elapsed() >= Duration::from_millis(140));
    assert_eq!(res.from_id, hex_id(&j1["id"]));

    // findNode from JS for the Rust node's id reaches it, and puts it into the JS table
    let r1_id = r1.id().unwrap();
    let found = js
        .call(
            "findNode",
            json!({"name": "j2", "target": hex::encode(r1_id)}),
        )
        .await;
    let closest = found["closest"].as_array().unwrap();
    assert_eq!(
        closest.first().and_then(|c| hex_id(&c["id"])),
        Some(r1_id),
        "JS findNode(rust id): closest reply is the Rust node: {found}"
    );
    // findNode from Rust for the JS node's id
    let j1_id = hex_id(&j1["id"]).unwrap();
    let closest = r2.find_node(j1_id).finish().await.expect("rust findNode");
    assert_eq!(closest.first().and_then(|r| r.from_id), Some(j1_id));
    assert_eq!(closest.first().map(|r| r.from), Some(js_server(&j1)));
    let mut q = r1.find_node(j1_id);
    let mut replies = 0;
    while let Some(ev) = q.next().await {
        match ev {
            QueryEvent::Reply(_) => replies += 1,
            QueryEvent::Done { closest, error } => {
                assert!(error.is_none());
                assert!(closest.iter().any(|r| r.from_id == Some(j1_id)));
            }
        }
    }
    assert!(replies >= 2, "replies from bootstrapper and JS node");

    // mixed routing tables: persistent nodes of both kinds everywhere, ephemeral ones nowhere
    let (j1a, r1a) = (js_server(&j1), rust_server(&r1));
    let j1s = js.call("refresh", json!({"name": "j1"})).await;
    let t = js_table(&j1s);
    assert!(t.contains(&r1a), "JS table holds the Rust node: {t:?}");
    assert!(t.contains(&boot));
    assert!(!t.contains(&rust_server(&r2)));
    eventually("Rust persistent node learns the JS persistent node", || {
        rust_table(&r1).contains(&j1a)
    })
    .await;
    assert!(rust_table(&r1).contains(&boot));
    let r2t = rust_table(&r2);
    assert!(r2t.contains(&j1a) && r2t.contains(&r1a), "{r2t:?}");
    assert!(
        !r2t.contains(&js_server(&j2)),
        "ephemeral JS node not routed"
    );

    for d in [&r1, &r2] {
        assert_eq!(d.stats().dropped, 0, "no malformed datagrams from JS");
        d.destroy().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_nodes_on_rust_bootstrapper() {
    if !netns("js_nodes_on_rust_bootstrapper") {
        return;
    }
    let boot = SocketAddrV4::new(LOCALHOST, 20001);
    let b = Dht::bind(DhtOptions::bootstrapper(boot.port(), LOCALHOST))
        .await
        .expect("bind bootstrapper");
    b.ready().await.expect("ready");
    assert_eq!(
        b.id(),
        Some(peer::id(&boot)),
        "bootstrapper persistent at ready"
    );
    let mut js = JsPeer::spawn();
    check_mixed_network(&mut js, boot, peer::id(&boot)).await;
    let t = rust_table(&b);
    assert!(
        t.len() >= 2,
        "Rust bootstrapper table holds both persistent nodes: {t:?}"
    );
    js.exit().await;
    b.destroy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_nodes_on_js_bootstrapper() {
    if !netns("rust_nodes_on_js_bootstrapper") {
        return;
    }
    let boot = SocketAddrV4::new(LOCALHOST, 20101);
    let mut js = JsPeer::spawn();
    let b = js
        .call("bootstrapper", json!({"name": "boot", "port": boot.port()}))
        .await;
    assert_eq!(hex_id(&b["id"]), Some(peer::id(&boot)));
    check_mixed_network(&mut js, boot, peer::id(&boot)).await;
    let b = js.call("state", json!({"name": "boot"})).await;
    assert!(js_table(&b).len() >= 2, "JS bootstrapper table: {b}");
    js.exit().await;
}

/// Full hyperdht JS nodes (which run dht-rpc underneath, default port 49737) on a Rust
/// bootstrapper, and Rust nodes on a hyperdht JS bootstrapper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyperdht_js_nodes_and_rust_nodes() {
    if !netns("hyperdht_js_nodes_and_rust_nodes") {
        return;
    }
    let boot = SocketAddrV4::new(LOCALHOST, 20201);
    let b = Dht::bind(DhtOptions::bootstrapper(boot.port(), LOCALHOST))
        .await
        .expect("bind bootstrapper");
    b.ready().await.expect("ready");
    let mut js = JsPeer::spawn();
    let h1 = js
        .call(
            "hyperdht",
            json!({"name": "h1", "bootstrap": [boot.to_string()], "ephemeral": false}),
        )
        .await;
    assert_eq!(h1["ephemeral"], json!(false));
    let h1_addr = js_server(&h1);
    assert_eq!(hex_id(&h1["id"]), Some(peer::id(&h1_addr)));
    let r1 = rust_node(boot, Some(false)).await;
    assert!(r1.id().is_some());
    let h2 = js
        .call(
            "hyperdht",
            json!({"name": "h2", "bootstrap": [boot.to_string()], "ephemeral": false}),
        )
        .await;
    let h2_addr = js_server(&h2);
    // Rust finds the hyperdht nodes by id, hyperdht finds the Rust node by id
    for (addr, id) in [(h1_addr, hex_id(&h1["id"])), (h2_addr, hex_id(&h2["id"]))] {
        let closest = r1.find_node(id.unwrap()).finish().await.expect("findNode");
        assert_eq!(
            closest.first().map(|r| (r.from, r.from_id)),
            Some((addr, id))
        );
    }
    let found = js
        .call(
            "findNode",
            json!({"name": "h2", "target": hex::encode(r1.id().unwrap())}),
        )
        .await;
    assert_eq!(
        found["closest"][0]["id"].as_str().map(String::from),
        Some(hex::encode(r1.id().unwrap()))
    );
    let pong = js
        .call(
            "ping",
            json!({"name": "h1", "host": "127.0.0.1", "port": rust_server(&r1).port()}),
        )
        .await;
    assert_eq!(hex_id(&pong["id"]), r1.id());
    assert!(rust_table(&b).contains(&h1_addr) && rust_table(&b).contains(&h2_addr));

    // application commands with tokens through the mixed network (hyperdht's immutable
    // storage, commands 8/9): Rust queries IMMUTABLE_GET, commits IMMUTABLE_PUT with the
    // tokens, and JS reads the value back; JS stores a value and Rust finds it
    let value = b"stored by a rust node".to_vec();
    let target: [u8; 32] = {
        use blake2::digest::consts::U32;
        use blake2::{Blake2b, Digest};
        Blake2b::<U32>::digest(&value).into()
    };
    let params = QueryParams {
        target,
        command: 9,
        internal: false,
        value: None,
        concurrency: None,
        nodes: Vec::new(),
        only_closest_nodes: false,
        force: false,
    };
    let closest = r1
        .query(params)
        .finish()
        .await
        .expect("IMMUTABLE_GET query");
    let js_ids = [hex_id(&h1["id"]), hex_id(&h2["id"])];
    assert!(!closest.is_empty() && closest.iter().all(|r| js_ids.contains(&r.from_id)));
    let stored = r1
        .commit(&closest, |r| {
            let mut spec = hyperdht_rpc::RequestSpec::new(r.from, false, 8);
            spec.token = r.token;
            spec.target = Some(target);
            spec.value = Some(value.clone());
            Some(spec)
        })
        .await
        .expect("IMMUTABLE_PUT commit");
    assert!(stored.iter().all(|r| r.error == 0));
    let got = js
        .call(
            "immutableGet",
            json!({"name": "h2", "target": hex::encode(target)}),
        )
        .await;
    assert_eq!(
        got["value"],
        json!(hex::encode(&value)),
        "JS reads what Rust stored"
    );
    let value2 = b"stored by a js node".to_vec();
    let put = js
        .call(
            "immutablePut",
            json!({"name": "h1", "value": hex::encode(&value2)}),
        )
        .await;
    let target2 = hex_id(&put["hash"]).unwrap();
    let mut q = r1.query(QueryParams {
        target: target2,
        command: 9,
        internal: false,
        value: None,
        concurrency: None,
        nodes: Vec::new(),
        only_closest_nodes: false,
        force: false,
    });
    let mut found = false;
    while let Some(ev) = q.next().await {
        if let QueryEvent::Reply(r) = ev {
            found |= r.value.as_deref() == Some(&value2[..]);
        }
    }
    assert!(found, "Rust reads what JS stored");

    // and the other way round: a hyperdht bootstrapper serving Rust nodes
    let boot2 = SocketAddrV4::new(LOCALHOST, 20301);
    js.call(
        "hyperdht",
        json!({"name": "hb", "bootstrapperPort": boot2.port()}),
    )
    .await;
    let r2 = rust_node(boot2, Some(false)).await;
    let r3 = rust_node(boot2, None).await;
    assert!(r2.id().is_some() && r3.id().is_none());
    let res = r3.ping(boot2).await.expect("ping hyperdht bootstrapper");
    assert_eq!(res.from_id, Some(peer::id(&boot2)));
    let closest = r3
        .find_node(r2.id().unwrap())
        .finish()
        .await
        .expect("findNode");
    assert_eq!(closest.first().and_then(|r| r.from_id), r2.id());
    let hb = js.call("state", json!({"name": "hb"})).await;
    assert!(js_table(&hb).contains(&rust_server(&r2)), "{hb}");
    assert!(!js_table(&hb).contains(&rust_server(&r3)));

    for d in [&r1, &r2, &r3, &b] {
        assert_eq!(d.stats().dropped, 0);
        d.destroy().await;
    }
    js.exit().await;
}

/// A larger mixed swarm: 12 JS and 12 Rust persistent nodes on a Rust bootstrapper; every node
/// of one kind is found by id from a node of the other kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_swarm_lookups_both_ways() {
    if !netns("mixed_swarm_lookups_both_ways") {
        return;
    }
    let boot = SocketAddrV4::new(LOCALHOST, 20401);
    let b = Dht::bind(DhtOptions::bootstrapper(boot.port(), LOCALHOST))
        .await
        .expect("bind bootstrapper");
    b.ready().await.expect("ready");
    let mut js = JsPeer::spawn();
    let mut js_nodes = Vec::new();
    let mut rs_nodes = Vec::new();
    let (mut js_boot_requests, mut rs_boot_requests) = (0u64, 0u64);
    for i in 0..12 {
        let s = js
            .call("node", json!({"name": format!("s{i}"), "bootstrap": [boot.to_string()], "ephemeral": false}))
            .await;
        assert_eq!(s["ephemeral"], json!(false));
        js_boot_requests += s["requestsTotal"].as_u64().unwrap_or(0);
        if std::env::var_os("INTEROP_VERBOSE").is_some() {
            eprintln!("js s{i}: {} {}", s["requestsTotal"], s["commandsTx"]);
        }
        js_nodes.push((format!("s{i}"), hex_id(&s["id"]).unwrap(), js_server(&s)));
        let r = rust_node(boot, Some(false)).await;
        rs_boot_requests += r.stats().requests_out;
        if std::env::var_os("INTEROP_VERBOSE").is_some() {
            eprintln!(
                "rs {i}: {} {:?}",
                r.stats().requests_out,
                r.stats().internal.map(|c| c.tx)
            );
        }
        rs_nodes.push(r);
    }
    // informational: requests each implementation needed to bootstrap into the same swarm
    // (nodes join alternately, JS first, so each Rust node sees one more peer; with
    // INTEROP_VERBOSE=1 the per-node FIND_NODE/PING_NAT counts show identical growth)
    eprintln!(
        "bootstrap requests per node: JS {:.1}, Rust {:.1}",
        js_boot_requests as f64 / 12.0,
        rs_boot_requests as f64 / 12.0
    );
    for (i, r) in rs_nodes.iter().enumerate() {
        assert!(r.id().is_some(), "rust node {i} persistent");
    }
    for (i, (_, id, addr)) in js_nodes.iter().enumerate() {
        let asker = &rs_nodes[(i + 5) % rs_nodes.len()];
        let closest = asker.find_node(*id).finish().await.expect("rust findNode");
        assert_eq!(
            closest.first().map(|r| (r.from, r.from_id)),
            Some((*addr, Some(*id))),
            "Rust finds JS node {i}"
        );
    }
    for (i, r) in rs_nodes.iter().enumerate() {
        let (asker, _, _) = &js_nodes[(i + 5) % js_nodes.len()];
        let id = r.id().unwrap();
        let found = js
            .call(
                "findNode",
                json!({"name": asker, "target": hex::encode(id)}),
            )
            .await;
        assert_eq!(
            hex_id(&found["closest"][0]["id"]),
            Some(id),
            "JS finds Rust node {i}: {found}"
        );
    }
    // routing tables are mixed: every Rust node knows some JS nodes and vice versa
    let js_addrs: Vec<SocketAddrV4> = js_nodes.iter().map(|n| n.2).collect();
    let rs_addrs: Vec<SocketAddrV4> = rs_nodes.iter().map(rust_server).collect();
    for r in &rs_nodes {
        let t = rust_table(r);
        assert!(t.iter().any(|a| js_addrs.contains(a)), "rust table {t:?}");
    }
    for (name, _, _) in &js_nodes {
        let s = js.call("state", json!({ "name": name })).await;
        let t = js_table(&s);
        assert!(t.iter().any(|a| rs_addrs.contains(a)), "js table {t:?}");
    }
    for r in &rs_nodes {
        assert_eq!(r.stats().dropped, 0);
        r.destroy().await;
    }
    assert_eq!(b.stats().dropped, 0);
    b.destroy().await;
    js.exit().await;
}
