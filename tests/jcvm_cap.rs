//! CAP loading (issue #14): the real CAPs of `../shared/javacard/caps` and the project's own
//! test applets parse, verify and disassemble like the converter's `.jca`; damaged CAPs are
//! refused with a typed error and never panic.

use gpse::jcvm::cap::{Cap, CapErrorKind, Tag};
use gpse::jcvm::verify::verify;
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let mut c = vec![];
    if let Ok(p) = std::env::var("GPSE_SHARED") {
        c.push(PathBuf::from(p));
    }
    c.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    c.push(PathBuf::from("/work/shared"));
    c.into_iter().find(|p| p.join("javacard/caps").is_dir())
}

fn real_caps() -> Vec<(String, Vec<u8>)> {
    let dir = shared().expect("needs ../shared/javacard/caps").join("javacard/caps");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn real_caps_parse() {
    let mut bad = vec![];
    for (name, b) in real_caps() {
        let cap = match Cap::parse(&b) {
            Ok(c) => c,
            Err(e) => {
                bad.push(format!("{name}: {e}"));
                continue;
            }
        };
        assert!(cap.applets.is_empty() || !cap.method.methods.is_empty(), "{name}");
        if let Err(e) = verify(&cap) {
            bad.push(format!("{name} verify: {e}"));
        }
        // The LOAD form parses to the same model (less Descriptor/Debug).
        let lfdb = cap.load_file_data_block();
        let c2 = Cap::parse(&lfdb).unwrap_or_else(|e| panic!("{name} LFDB: {e}"));
        assert_eq!(c2.constant_pool, cap.constant_pool);
        assert_eq!(c2.class, cap.class);
        if let Err(e) = verify(&c2) {
            bad.push(format!("{name} LFDB verify: {e}"));
        }
        let _ = (Tag::Method, CapErrorKind::Truncated);
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
