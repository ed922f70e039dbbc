//! For applet authors (issue #17): the Java stack of an exception that escapes an applet, with
//! source lines from the CAP's Debug component, or the method and bytecode offset without one.

// Test code: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::capcard::{aid, load_install, new_card, project_cap, select, tx};

/// `flow` is built with `-debug`; its INS 5B casts a null field to byte[] and takes its length
/// (`Flow.java` line 189): a NullPointerException escapes `process`.
#[test]
fn a_null_dereference_shows_the_java_stack_with_the_source_line() {
    let d = tempfile::tempdir().unwrap();
    let mut c = new_card(d.path());
    load_install(&mut c, &project_cap("flow"), None, &[]);
    // LOAD leaves the Debug component off the card; the CAP file gives it.
    c.attach_debug(&project_cap("flow")).unwrap();
    assert_eq!(select(&mut c, &aid("A00000047667707365010301")), "9000");
    let _ = c.take_diagnostics();
    // The SW on the wire stays the card's.
    assert_eq!(tx(&mut c, "805B000000"), "6F00");
    let d = c.take_diagnostics();
    assert_eq!(d.len(), 1, "{d:?}");
    let lines: Vec<&str> = d[0].text.lines().collect();
    assert_eq!(lines[0], "A00000047667707365010301 process(): uncaught java.lang.NullPointerException");
    assert_eq!(lines[1].trim(), "at gpse.test.flow.Flow.process(Flow.java:189)");
    assert!(!d[0].detail, "not an ISOException");
    // An ISOException is detail (the applet's way to answer a status word), with its frames.
    assert_eq!(tx(&mut c, "80EE000000"), "6D00");
    let d = c.take_diagnostics();
    assert!(d[0].detail && d[0].text.contains("uncaught javacard.framework.ISOException (reason 0x6D00)"), "{d:?}");
    assert!(d[0].text.contains("at gpse.test.flow.Flow.process(Flow.java:"), "{d:?}");
}

/// `arrays` has no Debug component: the frame is the method (its offset in the Method
/// component, as `gpse cap dump` names it) and the bytecode offset in it.
#[test]
fn without_debug_the_frame_is_the_method_and_offset() {
    let d = tempfile::tempdir().unwrap();
    let mut c = new_card(d.path());
    load_install(&mut c, &project_cap("arrays"), None, &[]);
    assert_eq!(select(&mut c, &aid("A00000047667707365010201")), "9000");
    let _ = c.take_diagnostics();
    // new int[0][-1]: ArrayIndexOutOfBoundsException.
    assert_eq!(tx(&mut c, "8046000000"), "6F00");
    let d = c.take_diagnostics();
    let lines: Vec<&str> = d[0].text.lines().collect();
    assert_eq!(lines[0], "A00000047667707365010201 process(): uncaught java.lang.ArrayIndexOutOfBoundsException");
    let f = lines[1].trim();
    assert!(f.starts_with("at A000000476677073650102.m@") && f.contains('+'), "{f}");
    // The method named is the one `cap dump` shows with that offset, and the offset is inside it.
    let cap = gpse::jcvm::cap::Cap::parse(&project_cap("arrays")).unwrap();
    let (m, off) = f["at A000000476677073650102.m@".len()..].split_once('+').unwrap();
    let m: u16 = m.parse().unwrap();
    let off: u16 = off.parse().unwrap();
    let info = cap.method.methods.iter().find(|x| x.header.offset == m).unwrap();
    assert!(info.header.code_offset + off < info.code_end, "{f}");
}

/// `gpse gp install --state` keeps the CAP's Debug component on the card; `gpse send -v` prints
/// the stack after the exchange, each line marked `! `.
#[test]
fn send_v_prints_the_stack() {
    let d = tempfile::tempdir().unwrap();
    drop(new_card(d.path()));
    let cap = common::capcard::repo().join("tests/applets/flow/build/flow.cap");
    let out = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args(["gp", "install", "--state", d.path().to_str().unwrap(), cap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args([
            "send",
            "--state",
            d.path().to_str().unwrap(),
            "-v",
            "00A404000CA0000004766770736501030100",
            "805B000000",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("< 6F00"), "{text}");
    assert!(text.contains("! A00000047667707365010301 process(): uncaught java.lang.NullPointerException"), "{text}");
    assert!(text.contains("!     at gpse.test.flow.Flow.process(Flow.java:189)"), "{text}");
}

/// Debug information of another build of the package is refused, and a CAP without a Debug
/// component has none to give.
#[test]
fn debug_information_must_match_the_loaded_package() {
    let d = tempfile::tempdir().unwrap();
    let mut c = new_card(d.path());
    let e = c.attach_debug(&project_cap("flow")).unwrap_err();
    assert!(e.contains("not loaded"), "{e}");
    load_install(&mut c, &project_cap("arrays"), None, &[]);
    let e = c.attach_debug(&project_cap("arrays")).unwrap_err();
    assert!(e.contains("no Debug component"), "{e}");
}
