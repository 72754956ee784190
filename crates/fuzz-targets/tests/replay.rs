//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and crash reproducers
//! (`fuzz/artifacts/<target>/`) through the target bodies on stable, so `cargo test --workspace`
//! re-checks everything the fuzzers found interesting and every bug they found.

use std::path::{Path, PathBuf};

use hyperdht_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn replay(kind: &str, must_exist: bool) -> usize {
    let mut total = 0;
    for (name, run) in TARGETS {
        let dir = fuzz_dir().join(kind).join(name);
        let inputs = files(&dir);
        if must_exist {
            assert!(
                !inputs.is_empty(),
                "no {kind} for target {name} in {}",
                dir.display()
            );
        }
        for f in &inputs {
            let data = std::fs::read(f).expect("read input");
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{name}: {} fails", f.display());
        }
        total += inputs.len();
    }
    total
}

/// Every directory under corpus/ and artifacts/ belongs to a target.
#[test]
fn no_stray_directories() {
    for kind in ["corpus", "artifacts"] {
        let Ok(rd) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in rd {
            let name = e.expect("dir entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/{kind}/{name} is not a target"
            );
        }
    }
}

#[test]
fn corpora_replay() {
    let n = replay("corpus", true);
    assert!(n > 0);
}

#[test]
fn crash_reproducers_replay() {
    replay("artifacts", false);
}

/// The cargo-fuzz crate has exactly one wrapper per target.
#[test]
fn every_target_has_a_wrapper() {
    let toml = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        let wrapper = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let src = std::fs::read_to_string(&wrapper).expect("wrapper");
        assert!(src.contains(&format!("hyperdht_fuzz_targets::{name}::run")));
        assert!(toml.contains(&format!("name = \"{name}\"")));
    }
    let wrappers = files(&fuzz_dir().join("fuzz_targets")).len();
    assert_eq!(wrappers, TARGETS.len());
}
