//! CAP loading (issue #14): the real CAPs of `../shared/javacard/caps` and the project's own
//! test applets parse, verify and disassemble like the converter's `.jca`; damaged CAPs are
//! refused with a typed error and never panic.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::jcvm::cap::{Cap, CapErrorKind, Tag};
use gpse::jcvm::verify::verify;
use std::path::PathBuf;

/// `../shared` as the build script found it (`GPSE_SHARED`, else next to the repository, else
/// `/work/shared`); the tests that need it are ignored without it (`cfg(gpse_shared)`, see
/// `build.rs`).
fn shared() -> PathBuf {
    match option_env!("GPSE_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => panic!("needs ../shared/javacard (set GPSE_SHARED): not found at build time"),
    }
}

/// A file of `../shared`; a missing one fails the test with its path.
fn read_shared(rel: &str) -> Vec<u8> {
    let p = shared().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn real_caps() -> Vec<(String, Vec<u8>)> {
    let dir = shared().join("javacard/caps");
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
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
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

const APPLETS: [&str; 12] = [
    "arith",
    "arrays",
    "flow",
    "objects",
    "framework",
    "txn",
    "lib",
    "fwserver",
    "fwclient",
    "multi",
    "crypto",
    "gpapi",
];

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

// ---------------------------------------------------------------------------------------------
// `.jca` comparison: the converter's assembly is the oracle for `gpse cap dump`.

use gpse::jcvm::cap::dump;
use gpse::jcvm::cap::{ClassRef, CpEntry, StaticRef};
use gpse::jcvm::opcode::{self, Format};

#[derive(Debug, Default)]
struct JcaMethod {
    class: String,
    name: String, // name(sig)
    token: Option<u8>,
    is_abstract: bool,
    stack: u8,
    locals: u8,
    /// Normalised instructions: `mnemonic operands` with labels as `L<pc>`.
    insns: Vec<String>,
    /// `start end handler catch` with labels as pcs.
    handlers: Vec<String>,
}

#[derive(Debug, Default)]
struct JcaClass {
    name: String,
    is_interface: bool,
    fields: Vec<(String, Option<u8>)>,
}

#[derive(Debug, Default)]
struct Jca {
    cp: Vec<String>,
    classes: Vec<JcaClass>,
    methods: Vec<JcaMethod>,
}

fn strip_comment(l: &str) -> &str {
    l.split("//").next().unwrap_or("").trim()
}

/// Length of one `.jca` instruction from the opcode table and its operand text (independent of
/// the decoder under test).
fn jca_len(mnemonic: &str, ops: &[&str]) -> usize {
    let o = (0..=255u8)
        .find_map(|o| opcode::info(o).filter(|i| i.name == mnemonic))
        .unwrap_or_else(|| panic!("{mnemonic}"));
    let n = |i: usize| ops[i].parse::<i64>().unwrap();
    match o.format {
        Format::STableSwitch => 7 + 2 * (n(2) - n(1) + 1) as usize,
        Format::ITableSwitch => 11 + 2 * (n(2) - n(1) + 1) as usize,
        Format::SLookupSwitch => 5 + 4 * n(1) as usize,
        Format::ILookupSwitch => 5 + 6 * n(1) as usize,
        f => 1 + f.fixed_len().unwrap(),
    }
}

fn parse_jca(text: &str) -> Jca {
    let mut j = Jca::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut in_cp = false;
    let mut cur_class: Option<usize> = None;
    while i < lines.len() {
        let l = strip_comment(lines[i]);
        i += 1;
        if l.starts_with(".constantPool") {
            in_cp = true;
            continue;
        }
        if in_cp {
            if l == "}" {
                in_cp = false;
            } else if !l.is_empty() && !l.starts_with(".descriptor") {
                j.cp.push(l.strip_suffix(";").unwrap_or(l).to_string());
            }
            continue;
        }
        let top = lines[i - 1].starts_with("\t.") && !lines[i - 1].starts_with("\t\t");
        if top && (l.starts_with(".class ") || l.starts_with(".interface ")) {
            let head = l.split(" extends ").next().unwrap().trim_end_matches('{').trim();
            let words: Vec<&str> = head.split_whitespace().collect();
            let name = if words.last().unwrap().parse::<u8>().is_ok() {
                words[words.len() - 2]
            } else {
                words[words.len() - 1]
            };
            j.classes.push(JcaClass { name: name.into(), is_interface: l.starts_with(".interface"), fields: vec![] });
            cur_class = Some(j.classes.len() - 1);
            continue;
        }
        if l.starts_with(".fields") {
            while strip_comment(lines[i]) != "}" {
                let f = strip_comment(lines[i]).trim_end_matches(';');
                let f = f.split(" = ").next().unwrap();
                let w: Vec<&str> = f.split_whitespace().collect();
                let (name, tok) = match w.last().unwrap().parse::<u8>() {
                    Ok(t) => (w[w.len() - 2], Some(t)),
                    Err(_) => (w[w.len() - 1], None),
                };
                j.classes[cur_class.unwrap()].fields.push((name.into(), tok));
                i += 1;
            }
            continue;
        }
        if l.starts_with(".method ") {
            let head = l.trim_end_matches('{').trim();
            let paren = head.find('(').unwrap();
            let before = &head[..paren];
            let name_start = before.rfind(' ').unwrap() + 1;
            let rest: Vec<&str> = head[paren..].split_whitespace().collect();
            let c = &j.classes[cur_class.unwrap()];
            let mut m = JcaMethod {
                class: c.name.clone(),
                name: format!("{}{}", &before[name_start..], rest[0]),
                token: rest.get(1).and_then(|t| t.parse().ok()),
                is_abstract: before.contains(" abstract"),
                ..Default::default()
            };
            let is_iface = c.is_interface;
            // Body: labels, instructions, exception table, until the closing brace.
            let mut labels: Vec<(String, usize)> = vec![];
            let mut raw: Vec<(usize, String, Vec<String>)> = vec![];
            let mut pc = 0;
            let mut handlers_raw: Vec<Vec<String>> = vec![];
            loop {
                let l = strip_comment(lines[i]);
                i += 1;
                if l == "}" {
                    break;
                }
                if let Some(v) = l.strip_prefix(".stack ") {
                    m.stack = v.trim_end_matches(';').parse().unwrap();
                } else if let Some(v) = l.strip_prefix(".locals ") {
                    m.locals = v.trim_end_matches(';').parse().unwrap();
                } else if l.starts_with(".exceptionTable") {
                    while strip_comment(lines[i]) != "}" {
                        let h = strip_comment(lines[i]).trim_end_matches(';');
                        if !h.is_empty() {
                            handlers_raw.push(h.split_whitespace().map(String::from).collect());
                        }
                        i += 1;
                    }
                    i += 1;
                } else if l.starts_with('.') || l.is_empty() {
                } else {
                    let mut body = l;
                    if let Some((lab, r)) = l.split_once(':') {
                        if lab.starts_with('L') && !lab.contains(' ') {
                            labels.push((lab.to_string(), pc));
                            body = r.trim();
                        }
                    }
                    let body = body.trim_end_matches(';');
                    let mut w = body.split_whitespace();
                    let mn = w.next().unwrap().to_string();
                    let ops: Vec<String> = w.map(String::from).collect();
                    let oref: Vec<&str> = ops.iter().map(|s| s.as_str()).collect();
                    let len = jca_len(&mn, &oref);
                    raw.push((pc, mn, ops));
                    pc += len;
                }
            }
            labels.push(("END".into(), pc));
            let lab = |s: &str| -> String {
                match labels.iter().find(|(n, _)| n == s) {
                    Some((_, p)) => format!("L{p}"),
                    None => s.to_string(),
                }
            };
            for (_, mn, ops) in raw {
                let ops: Vec<String> = ops.iter().map(|o| lab(o)).collect();
                m.insns.push(if ops.is_empty() { mn } else { format!("{mn} {}", ops.join(" ")) });
            }
            for h in handlers_raw {
                m.handlers.push(h.iter().map(|x| lab(x)).collect::<Vec<_>>().join(" "));
            }
            if !is_iface {
                j.methods.push(m);
            }
            continue;
        }
    }
    j
}

/// Erases class names inside `L...;` so signatures compare without export-file names.
fn erase_classes(s: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    let b = s.as_bytes();
    for (k, &c) in b.iter().enumerate() {
        if skip {
            if c == b';' {
                skip = false;
                out.push(';');
            }
            continue;
        }
        let prev_ok = k == 0 || matches!(b[k - 1], b'(' | b')' | b'[' | b';' | b'Z' | b'B' | b'S' | b'I' | b'V');
        if c == b'L' && prev_ok && s[k..].contains(';') && (s[..k].contains('(') || s[..k].ends_with(')')) {
            out.push('L');
            skip = true;
        } else {
            out.push(c as char);
        }
    }
    out
}

/// Compares the dump of `cap` with the converter's `.jca`; returns the differences.
fn compare_with_jca(cap: &Cap, jca_text: &str) -> Vec<String> {
    let j = parse_jca(jca_text);
    let mut diffs = vec![];
    let d = cap.descriptor.as_ref().expect("zip CAPs carry a Descriptor");
    // Class names: the .jca declares classes in Descriptor order.
    assert_eq!(j.classes.len(), d.classes.len(), "class count");
    let class_off = |name: &str| -> Option<u16> {
        let k = j.classes.iter().position(|c| c.name == name)?;
        match d.classes[k].this_class {
            ClassRef::Internal(o) => Some(o),
            _ => None,
        }
    };
    // Methods: the .jca lists them in Method component order.
    let ours: Vec<_> = cap.method.methods.iter().collect();
    if ours.len() != j.methods.len() {
        diffs.push(format!("method count: ours {} jca {}", ours.len(), j.methods.len()));
        return diffs;
    }
    let method_off = |class: &str, name: &str| -> Option<u16> {
        let k = j.methods.iter().position(|m| m.class == class && m.name == name)?;
        Some(ours[k].header.offset)
    };
    for (k, (m, jm)) in ours.iter().zip(&j.methods).enumerate() {
        let tag = format!("method {k} {}.{}", jm.class, jm.name);
        if m.header.is_abstract() != jm.is_abstract {
            diffs.push(format!("{tag}: abstract differs"));
        }
        if !jm.is_abstract && (m.header.max_stack, m.header.max_locals) != (jm.stack, jm.locals) {
            diffs.push(format!(
                "{tag}: stack/locals {}/{} vs {}/{}",
                m.header.max_stack, m.header.max_locals, jm.stack, jm.locals
            ));
        }
        let lines = dump::disassemble(cap, m).unwrap();
        let mine: Vec<String> = lines
            .iter()
            .map(|l| {
                let o = dump::operand_text(l);
                if o.is_empty() {
                    l.insn.op.name.to_string()
                } else {
                    format!("{} {o}", l.insn.op.name)
                }
            })
            .collect();
        if mine != jm.insns {
            let at = mine.iter().zip(&jm.insns).position(|(a, b)| a != b).unwrap_or(mine.len().min(jm.insns.len()));
            diffs.push(format!("{tag}: instruction {at}: ours {:?} jca {:?}", mine.get(at), jm.insns.get(at)));
        }
        let base = m.header.code_offset as u32;
        let hs: Vec<String> = cap
            .method
            .handlers_of(m)
            .map(|h| {
                format!(
                    "L{} L{} L{} {}",
                    h.start_offset as u32 - base,
                    h.end_offset() - base,
                    h.handler_offset as u32 - base,
                    h.catch_type_index
                )
            })
            .collect();
        if hs != jm.handlers {
            diffs.push(format!("{tag}: handlers ours {hs:?} jca {:?}", jm.handlers));
        }
    }
    // Constant pool: kinds, external tokens, internal targets, types.
    if j.cp.len() != cap.constant_pool.len() {
        diffs.push(format!("constant pool size ours {} jca {}", cap.constant_pool.len(), j.cp.len()));
        return diffs;
    }
    for (i, (e, jl)) in cap.constant_pool.iter().zip(&j.cp).enumerate() {
        let w: Vec<&str> = jl.split_whitespace().collect();
        let kind = w[0].trim_start_matches('.');
        if kind != e.kind_name() {
            diffs.push(format!("cp {i}: kind {} vs {kind}", e.kind_name()));
            continue;
        }
        let target = *w.last().unwrap();
        let ours_text = dump::cp_text(cap, i);
        // External references: the .jca prints `p.c[.t]sig`; ours the same tokens.
        let ext = target.split('(').next().unwrap();
        let is_ext = ext.split('.').all(|x| x.parse::<u8>().is_ok());
        let ok = match *e {
            CpEntry::ClassRef(ClassRef::External { package_token, class_token }) => {
                ext == format!("{package_token}.{class_token}")
            }
            CpEntry::ClassRef(ClassRef::Internal(o)) => !is_ext && class_off(target) == Some(o),
            CpEntry::InstanceFieldRef { class, token } => match class {
                ClassRef::External { .. } => is_ext,
                ClassRef::Internal(o) => {
                    let (cn, f) = target.split_once('/').unwrap();
                    let jt = j
                        .classes
                        .iter()
                        .find(|c| c.name == cn)
                        .and_then(|c| c.fields.iter().find(|x| x.0 == f))
                        .and_then(|x| x.1);
                    class_off(cn) == Some(o) && jt == Some(token)
                }
            },
            CpEntry::VirtualMethodRef { class, token } | CpEntry::SuperMethodRef { class, token } => match class {
                ClassRef::External { package_token, class_token } => {
                    ext == format!("{package_token}.{class_token}.{token}")
                }
                ClassRef::Internal(o) => {
                    let (cn, mname) = target.split_once('/').unwrap();
                    let jt = j.methods.iter().find(|m| m.class == cn && m.name == mname).and_then(|m| m.token);
                    class_off(cn) == Some(o) && (jt.is_none() || jt == Some(token))
                }
            },
            CpEntry::StaticMethodRef(StaticRef::External { package_token, class_token, token })
            | CpEntry::StaticFieldRef(StaticRef::External { package_token, class_token, token }) => {
                ext == format!("{package_token}.{class_token}.{token}")
            }
            CpEntry::StaticMethodRef(StaticRef::Internal(o)) => {
                let (cn, mname) = target.split_once('/').unwrap();
                method_off(cn, mname) == Some(o)
            }
            CpEntry::StaticFieldRef(StaticRef::Internal(o)) => {
                !is_ext
                    && o < cap.static_field.image_size
                    && cap.debug.as_ref().is_none_or(|_| ours_text.ends_with(&format!("s@{o}")))
            }
        };
        // Types: the signature (class names erased) or the field type word.
        let type_ok = match e {
            CpEntry::ClassRef(_) => true,
            CpEntry::InstanceFieldRef { .. } | CpEntry::StaticFieldRef(_) => {
                let t = dump::cp_type(cap, i).unwrap();
                let mine = dump::type_word(cap, &t[0]);
                let prim = ["boolean", "byte", "short", "int", "boolean[]", "byte[]", "short[]", "int[]"];
                w[1] == mine || (!prim.contains(&w[1]) && !prim.contains(&mine.as_str()))
            }
            _ => {
                let t = dump::cp_type(cap, i).unwrap();
                let sig = dump::signature(cap, &t);
                let jsig = &target[target.find('(').unwrap()..];
                erase_classes(&sig) == erase_classes(jsig)
            }
        };
        if !ok || !type_ok {
            diffs.push(format!("cp {i}: ours `{ours_text}` jca `{jl}` (target ok {ok}, type ok {type_ok})"));
        }
    }
    diffs
}

#[test]
fn dump_matches_jca_for_project_caps() {
    for name in APPLETS {
        let cap = Cap::parse(&project_cap(name)).unwrap();
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/applets/{name}/build/{name}.jca"));
        let jca = std::fs::read_to_string(p).unwrap();
        let diffs = compare_with_jca(&cap, &jca);
        assert!(diffs.is_empty(), "{name}: {diffs:#?}");
        // The text dump renders every method.
        let text = dump::dump_text(&cap).unwrap();
        assert_eq!(text.matches("\t.method").count(), cap.method.methods.len());
    }
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn dump_matches_jca_for_caprunner_javatest() {
    let cap = Cap::parse(&read_shared("javacard/caps/caprunner-javatest.cap")).unwrap();
    let jca = String::from_utf8(read_shared("javacard/caps/expected/caprunner/javatest.jca")).unwrap();
    let diffs = compare_with_jca(&cap, &jca);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

// ---------------------------------------------------------------------------------------------
// Damaged CAPs: refused with a typed error, never a panic.

/// Parses and verifies; `Ok` only if both accept. The dump runs too on accepted input.
fn load(b: &[u8]) -> Result<Cap, gpse::jcvm::cap::CapError> {
    let cap = Cap::parse(b)?;
    // The disassembler copes with unverified input too (`gpse cap dump` of a bad file).
    let _ = dump::dump_text(&cap);
    let _ = dump::info_text(&cap);
    verify(&cap)?;
    dump::dump_text(&cap)?;
    Ok(cap)
}

/// Start (in the LFDB) of each component's `tag`, and the component's info offset.
fn component_spans(lfdb: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut v = vec![];
    let mut p = 0;
    while p < lfdb.len() {
        let size = u16::from_be_bytes([lfdb[p + 1], lfdb[p + 2]]) as usize;
        v.push((lfdb[p], p, p + 3 + size));
        p += 3 + size;
    }
    v
}

fn test_lfdbs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> =
        APPLETS.iter().map(|n| (n.to_string(), Cap::parse(&project_cap(n)).unwrap().load_file_data_block())).collect();
    if cfg!(gpse_shared) {
        let b = read_shared("javacard/caps/caprunner-javatest.cap");
        v.push(("caprunner-javatest".into(), Cap::parse(&b).unwrap().load_file_data_block()));
    } else {
        eprintln!("caprunner-javatest.cap left out: needs ../shared/javacard (the project CAPs still run)");
    }
    v
}

#[test]
fn truncated_at_every_component_boundary_and_inside() {
    for (name, lfdb) in test_lfdbs() {
        assert!(load(&lfdb).is_ok(), "{name}");
        for (tag, start, end) in component_spans(&lfdb) {
            // At the boundary: the components so far are whole, a required one is missing.
            let e = load(&lfdb[..start]).unwrap_err();
            assert!(
                matches!(e.kind, CapErrorKind::MissingComponent | CapErrorKind::BadValue(_)),
                "{name} cut before {tag}: {e}"
            );
            // Inside the component: truncated.
            for cut in [start + 1, start + 2, start + 3, (start + end) / 2, end - 1] {
                if cut <= start || cut >= end {
                    continue;
                }
                let e = load(&lfdb[..cut]).unwrap_err();
                assert_eq!(e.kind, CapErrorKind::Truncated, "{name} cut at {cut} in {tag}: {e}");
            }
        }
        let zip = if name == "caprunner-javatest" {
            read_shared("javacard/caps/caprunner-javatest.cap")
        } else {
            project_cap(&name)
        };
        for cut in (0..zip.len()).step_by(97) {
            assert!(load(&zip[..cut]).is_err(), "{name} zip cut at {cut}");
        }
    }
}

#[test]
fn flipped_bytes_in_method_are_refused_or_harmless() {
    let mut total = 0;
    let mut refused = 0;
    for (name, lfdb) in test_lfdbs() {
        let (_, start, end) = component_spans(&lfdb).into_iter().find(|c| c.0 == Tag::Method as u8).unwrap();
        for at in start + 3..end {
            for x in [0xFFu8, 0x01, 0x80] {
                let mut d = lfdb.clone();
                d[at] ^= x;
                total += 1;
                if load(&d).is_err() {
                    refused += 1;
                }
            }
        }
        eprintln!("{name}: Method component {} bytes", end - start - 3);
    }
    eprintln!("flipped-byte sweep: {refused} of {total} refused, the rest still well-formed, none panicked");
    // Most flips break structure; the others change a constant, a local index or an offset
    // into another valid one.
    assert!(refused * 2 > total, "{refused}/{total}");
}

fn cap_with_method(lfdb: &[u8], f: impl Fn(&Cap, &mut Vec<u8>, usize)) -> Vec<u8> {
    let cap = Cap::parse(lfdb).unwrap();
    let (_, start, _) = component_spans(lfdb).into_iter().find(|c| c.0 == Tag::Method as u8).unwrap();
    let mut d = lfdb.to_vec();
    f(&cap, &mut d, start + 3);
    d
}

#[test]
fn out_of_range_constant_pool_index_and_package_token() {
    let lfdb = Cap::parse(&project_cap("objects")).unwrap().load_file_data_block();
    // The first 2-byte constant pool operand in Method gets index = pool size.
    let d = cap_with_method(&lfdb, |cap, d, base| {
        let at = base + cap.ref_location.byte2_indices[0] as usize;
        let n = cap.constant_pool.len() as u16;
        d[at..at + 2].copy_from_slice(&n.to_be_bytes());
    });
    let e = load(&d).unwrap_err();
    assert!(matches!(e.kind, CapErrorKind::BadIndex { what: "constant pool index", .. }), "{e}");
    assert_eq!(e.component, Some(Tag::Method));
    // A 1-byte one (getfield_x_this etc.) pointing at an entry of the wrong kind.
    let d = cap_with_method(&lfdb, |cap, d, base| {
        let at = base + cap.ref_location.byte_indices[0] as usize;
        let k = cap.constant_pool.iter().position(|c| matches!(c, CpEntry::ClassRef(_))).unwrap();
        d[at] = k as u8;
    });
    let e = load(&d).unwrap_err();
    assert!(matches!(e.kind, CapErrorKind::WrongConstantKind { .. }), "{e}");
    // An external reference to a package token beyond the Import component.
    let cap = Cap::parse(&lfdb).unwrap();
    let (_, cps, _) = component_spans(&lfdb).into_iter().find(|c| c.0 == Tag::ConstantPool as u8).unwrap();
    let k = cap
        .constant_pool
        .iter()
        .position(|c| matches!(c, CpEntry::StaticMethodRef(StaticRef::External { .. })))
        .unwrap();
    let mut d = lfdb.clone();
    d[cps + 3 + 2 + 4 * k + 1] = 0x80 | cap.imports.len() as u8;
    let e = load(&d).unwrap_err();
    assert!(matches!(e.kind, CapErrorKind::BadIndex { what: "package token", .. }), "{e}");
    assert_eq!(e.component, Some(Tag::ConstantPool));
}

#[test]
fn branch_into_the_middle_of_an_instruction() {
    let mut tested = 0;
    for (name, lfdb) in test_lfdbs() {
        let cap = Cap::parse(&lfdb).unwrap();
        // The first 1-byte branch whose target instruction is longer than one byte: aim one
        // byte further, inside it. Checked in the LOAD form (reachability) and the zip form.
        let mut found = None;
        'm: for m in &cap.method.methods {
            let Ok(lines) = dump::disassemble(&cap, m) else { continue };
            for l in &lines {
                if let gpse::jcvm::opcode::Operand::Branch(rel) = l.insn.operand {
                    let t = (l.pc as i32 + rel as i32) as u16;
                    let target = lines.iter().find(|x| x.pc == t);
                    if l.insn.len == 2 && rel > 0 && rel < 126 && target.is_some_and(|x| x.insn.len >= 2) {
                        found = Some(m.header.code_offset as usize + l.pc as usize + 1);
                        break 'm;
                    }
                }
            }
        }
        // Small packages (the library, the firewall pair) may have no such branch.
        let Some(at) = found else { continue };
        tested += 1;
        let d = cap_with_method(&lfdb, |_, d, base| d[base + at] += 1);
        let e = load(&d).unwrap_err();
        assert!(matches!(e.kind, CapErrorKind::BadBranch { .. }), "{name}: {e}");
        assert_eq!(e.component, Some(Tag::Method), "{name}");
    }
    assert!(tested >= 6, "only {tested} CAPs had a short forward branch into a longer instruction");
}

#[test]
fn header_refusals() {
    let lfdb = Cap::parse(&project_cap("flow")).unwrap().load_file_data_block();
    let mut d = lfdb.clone();
    d[3] = 0xCA; // magic
    assert_eq!(load(&d).unwrap_err().kind, CapErrorKind::BadMagic);
    let mut d = lfdb.clone();
    d[3 + 6] |= 0x08; // ACC_EXTENDED (JC 3.1)
    let e = load(&d).unwrap_err();
    assert_eq!(e.kind, CapErrorKind::ExtendedFormat);
    assert_eq!(e.component, Some(Tag::Header));
    assert!(e.to_string().contains("extended CAP format"), "{e}");
    let mut d = lfdb.clone();
    d[3 + 5] = 3; // major version 3
    assert_eq!(load(&d).unwrap_err().kind, CapErrorKind::UnsupportedFormat(3, 2));
    // An int bytecode without the int flag: arith has the flag; clearing it is refused.
    let a = Cap::parse(&project_cap("arith")).unwrap().load_file_data_block();
    let mut d = a.clone();
    d[3 + 6] &= !0x01;
    assert!(matches!(load(&d).unwrap_err().kind, CapErrorKind::IntWithoutFlag(_)));
    // Bytes after the last component, an unknown tag.
    let mut d = lfdb.clone();
    d.extend_from_slice(&[14, 0, 0]);
    assert_eq!(load(&d).unwrap_err().kind, CapErrorKind::UnknownComponent(14));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]
    /// Random mutations of a real CAP (LOAD form and zip form): parse, verify and dump never
    /// panic.
    #[test]
    fn random_mutations_never_panic(
        which in 0usize..APPLETS.len(),
        edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
        cut in proptest::option::of(proptest::num::usize::ANY),
        zip in proptest::bool::ANY,
    ) {
        let z = project_cap(APPLETS[which]);
        let mut d = if zip { z } else { Cap::parse(&z).unwrap().load_file_data_block() };
        for (at, v) in edits {
            let n = d.len();
            d[at % n] = v;
        }
        if let Some(c) = cut {
            let n = d.len();
            d.truncate(c % n);
        }
        let _ = load(&d);
    }
}

/// The committed CAPs are what `tests/applets/build.sh` makes from the sources: rebuilt into a
/// temp dir with the kit in `../shared/javacard` and compared component by component (the zip
/// timestamps and the `.jca` date line differ between builds; the components do not).
#[test]
#[cfg_attr(not(gpse_kit), ignore = "needs ../shared/javacard/build-cap and javac on PATH (the Java Card kit)")]
fn project_caps_rebuild_identically() {
    let sh = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join("tests/applets/build.sh"))
        .arg(tmp.path())
        .env("GPSE_SHARED", &sh)
        .output()
        .unwrap();
    assert!(out.status.success(), "build.sh: {}", String::from_utf8_lossy(&out.stderr));
    for name in APPLETS {
        let fresh = std::fs::read(tmp.path().join(format!("{name}/{name}.cap"))).unwrap();
        let a = Cap::parse(&fresh).unwrap();
        let b = Cap::parse(&project_cap(name)).unwrap();
        let mut ta: Vec<_> = a.raw.iter().map(|c| (c.tag, c.bytes.clone())).collect();
        let mut tb: Vec<_> = b.raw.iter().map(|c| (c.tag, c.bytes.clone())).collect();
        ta.sort();
        tb.sort();
        assert_eq!(ta, tb, "{name}: rebuilt components differ from tests/applets/{name}/build/{name}.cap");
        let ja = std::fs::read_to_string(tmp.path().join(format!("{name}/{name}.jca"))).unwrap();
        let jb = std::fs::read_to_string(root.join(format!("tests/applets/{name}/build/{name}.jca"))).unwrap();
        let body = |s: &str| s.lines().filter(|l| !l.starts_with("// ")).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&ja), body(&jb), "{name}.jca");
    }
}

/// A seeded mutation loop over every real CAP of `../shared` (LOAD form and zip form): 100
/// damaged copies each, none may panic.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn real_caps_random_mutations_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut refused = 0;
    let mut n = 0;
    for (_, zip) in real_caps() {
        let lfdb = Cap::parse(&zip).unwrap().load_file_data_block();
        for round in 0..100 {
            let mut d = if round % 4 == 0 { zip.clone() } else { lfdb.clone() };
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % d.len();
                d[at] = next() as u8;
            }
            n += 1;
            if load(&d).is_err() {
                refused += 1;
            }
        }
    }
    eprintln!("real-CAP mutations: {refused} of {n} refused, none panicked");
    assert_eq!(n, real_caps().len() * 100);
    assert!(real_caps().len() >= 24);
}

#[test]
fn cli_cap_info_and_dump() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cap = root.join("tests/applets/flow/build/flow.cap");
    let out = assert_cmd::Command::cargo_bin("gpse").unwrap().args(["cap", "info"]).arg(&cap).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    for want in [
        "CAP format 2.2, flags 0x04 (applet)",
        "package A000000476677073650103 version 1.0",
        "  0: A0000000620101 1.6 javacard/framework",
        "  1: A0000000620001 1.0 java/lang",
        "  A00000047667707365010301 install method at Method offset 99 gpse/test/flow/Flow.install([BSB)V",
        "  12 Debug",
        "verifier: accepted",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    let out = assert_cmd::Command::cargo_bin("gpse").unwrap().args(["cap", "dump"]).arg(&cap).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("invokespecial 18;\t\t// staticMethodRef 0.3.0()V"), "{s}");
    assert!(s.contains("// gpse/test/flow/Flow.fib(S)S"));
    // A damaged file: one line on stderr, non-zero exit.
    let mut b = Cap::parse(&std::fs::read(&cap).unwrap()).unwrap().load_file_data_block();
    b[3] = 0;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.lfdb");
    std::fs::write(&bad, &b).unwrap();
    let out = assert_cmd::Command::cargo_bin("gpse").unwrap().args(["cap", "info"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("Header component, offset 0: Header magic is not DECAFFED"), "{e}");
}

#[test]
fn model_facts_of_project_caps() {
    // arrays: static arrays with initial values (JCVM §6.11 array_init), in declaration order.
    let a = Cap::parse(&project_cap("arrays")).unwrap();
    let s = &a.static_field;
    let inits: Vec<(u8, Vec<u8>)> = s.array_inits.iter().map(|x| (x.elem_type, x.values.clone())).collect();
    assert_eq!(
        inits,
        vec![
            (3, vec![1, 2, 3, 4, 5, 6, 7, 8]),
            (4, vec![0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0x80, 0x00]),
            (5, vec![0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0xFE]),
            (2, vec![1, 0, 1]),
        ]
    );
    assert_eq!((s.reference_count, s.image_size), (5, 10)); // 4 initialised arrays + nullArray
    assert!(s.primitive_image().is_empty());
    // objects: primitive statics SB=0x12, SS=0x3456, SZ=true, COUNT=7 all non-default.
    let o = Cap::parse(&project_cap("objects")).unwrap();
    let img = o.static_field.primitive_image();
    assert_eq!(img.len() as u16, o.static_field.image_size - o.static_field.primitive_start());
    let mut sorted = img.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0x00, 0x01, 0x07, 0x12, 0x34, 0x56]); // 12 | 3456 | 01 | 0007
                                                                  // The applet class's public table: process() is token 7 (javacard.framework.Applet), and
                                                                  // resolves to a method of this package; inherited tokens are below the base.
    let applet = o.class.classes.iter().find(|c| c.public_method_table_base == 7).unwrap();
    let process = applet.virtual_method(7).unwrap();
    assert!(o.method.method_at(process).is_some());
    assert_eq!(applet.virtual_method(3), None);
    // Method headers: install(byte[], short, byte) has nargs 3.
    let m = o.method.method_at(o.applets[0].install_method_offset).unwrap();
    assert_eq!(m.header.nargs, 3);
    assert!(m.exact);
    // flow: the Debug component maps bytecode to source lines.
    let f = Cap::parse(&project_cap("flow")).unwrap();
    let d = f.debug.as_ref().unwrap();
    let fib = f
        .method
        .methods
        .iter()
        .find(|m| dump::method_name(&f, m.header.offset).as_deref() == Some("gpse/test/flow/Flow.fib(S)S"))
        .unwrap();
    let line = d.line_of(fib.header.offset, 0).unwrap();
    let src = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/applets/flow/src/gpse/test/flow/Flow.java"),
    )
    .unwrap();
    assert_eq!(src.lines().nth(line as usize - 1).unwrap().trim(), "if (n < 2) {");
}

/// The project's opcode table agrees with `../shared/javacard/tools/jcopcodes.py` (names and
/// operand lengths of all 187 opcodes; switch lengths on samples). The `.py` is evaluated by
/// Python as data; the table itself is the project's own (`src/jcvm/opcode.rs`).
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn opcode_table_matches_jcopcodes_py() {
    let py = shared().join("javacard/tools/jcopcodes.py");
    let script = format!(
        "import importlib.util as u\ns=u.spec_from_file_location('j', {py:?})\nm=u.module_from_spec(s)\ns.loader.exec_module(m)\n\
         for o,(n,l) in sorted(m.OPCODES.items()): print(o, n, -1 if l is None else l)\n\
         for code in ([0x73,0,9,0,1,0,3,0,1,0,2,0,3], [0x74,0,9,0,0,0,1,0,0,0,2,0,1,0,2], [0x75,0,9,0,2,0,1,0,5,0,2,0,6], [0x76,0,9,0,1,0,0,0,1,0,5]):\n    print('len', code[0], m.insn_len(bytes(code), 0))"
    );
    let out = match std::process::Command::new("python3").arg("-c").arg(&script).output() {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap(),
        other => panic!("python3 cannot evaluate {}: {other:?}", py.display()),
    };
    let mut n = 0;
    for l in out.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w[0] == "len" {
            let code: u8 = w[1].parse().unwrap();
            let sample: &[u8] = match code {
                0x73 => &[0x73, 0, 9, 0, 1, 0, 3, 0, 1, 0, 2, 0, 3],
                0x74 => &[0x74, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 2],
                0x75 => &[0x75, 0, 9, 0, 2, 0, 1, 0, 5, 0, 2, 0, 6],
                _ => &[0x76, 0, 9, 0, 1, 0, 0, 0, 1, 0, 5],
            };
            assert_eq!(opcode::decode(sample, 0).unwrap().len, w[2].parse::<usize>().unwrap(), "{l}");
            continue;
        }
        let o: u8 = w[0].parse().unwrap();
        let info = opcode::info(o).unwrap_or_else(|| panic!("opcode {o} missing"));
        assert_eq!(info.name, w[1], "opcode {o:#04x}");
        let len: i64 = w[2].parse().unwrap();
        assert_eq!(info.format.fixed_len().map_or(-1, |x| x as i64), len, "{} operand bytes", w[1]);
        n += 1;
    }
    assert_eq!(n, 187);
    assert_eq!((0..=255u8).filter(|&o| opcode::info(o).is_some()).count(), 187);
}
