//! For applet authors (issue #17): the Java stack of an exception that escapes an applet, with
//! source lines from the CAP's Debug component, or the method and bytecode offset without one.

// Test code: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use common::capcard::{aid, load_install, new_card, project_cap, select, tx};

/// `gpse gp install --state DIR` of the project's test applet `name`, with `extra` arguments.
fn gp_install(state: &std::path::Path, name: &str, extra: &[&str]) {
    let cap = common::capcard::repo().join(format!("tests/applets/{name}/build/{name}.cap"));
    let o = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args(["gp", "install", "--state", state.to_str().unwrap(), cap.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "gp install {name}: {}", String::from_utf8_lossy(&o.stderr));
}

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
    gp_install(d.path(), "flow", &[]);
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

/// The line counts of an LCOV report, for one source file.
fn da(lcov: &str, file: &str) -> std::collections::BTreeMap<u32, u32> {
    let mut out = std::collections::BTreeMap::new();
    let mut inside = false;
    for l in lcov.lines() {
        if let Some(f) = l.strip_prefix("SF:") {
            inside = f == file;
        } else if let (true, Some(d)) = (inside, l.strip_prefix("DA:")) {
            let (line, n) = d.split_once(',').unwrap();
            out.insert(line.parse().unwrap(), n.parse().unwrap());
        }
    }
    out
}

/// The line of `Flow.java` that holds `text` (1-based).
fn flow_line(text: &str) -> u32 {
    let src = std::fs::read_to_string(common::capcard::repo().join("tests/applets/flow/src/gpse/test/flow/Flow.java"))
        .unwrap();
    let i = src.lines().position(|l| l.contains(text)).unwrap_or_else(|| panic!("{text}"));
    u32::try_from(i + 1).unwrap()
}

/// Runs a script of commands on `flow` with coverage on; returns the LCOV text.
fn flow_coverage() -> String {
    let d = tempfile::tempdir().unwrap();
    let mut c = new_card(d.path());
    load_install(&mut c, &project_cap("flow"), None, &[]);
    c.attach_debug(&project_cap("flow")).unwrap();
    c.set_coverage(true);
    assert_eq!(select(&mut c, &aid("A00000047667707365010301")), "9000");
    for _ in 0..3 {
        assert_eq!(tx(&mut c, "8050000000"), "419000");
    }
    assert_eq!(tx(&mut c, "8052050000"), "00059000");
    for _ in 0..2 {
        assert_eq!(tx(&mut c, "805B000000"), "6F00");
    }
    let (lcov, table) = c.coverage_report();
    assert!(table.is_empty(), "flow has a Debug component: {table}");
    lcov
}

/// Coverage (issue #17): the LCOV line counts are the number of times the script ran each
/// line: three `table(p1)` calls, one `fib(5)` (15 calls of fib: 2·fib(6) − 1), two null
/// dereferences (the line runs, then throws).
#[test]
fn coverage_counts_each_line_as_often_as_the_script_ran_it() {
    let lcov = flow_coverage();
    let lines = da(&lcov, "gpse/test/flow/Flow.java");
    assert_eq!(lines[&flow_line("buf[0] = table(p1);")], 3);
    assert_eq!(lines[&flow_line("n = Util.setShort(buf, (short) 0, fib(p1));")], 1);
    assert_eq!(lines[&flow_line("if (n < 2) {")], 15);
    assert_eq!(lines[&flow_line("buf[0] = (byte) ((byte[]) held).length;")], 2);
    // Lines of commands the script never sent ran 0 times.
    assert_eq!(lines[&flow_line("n = Util.setShort(buf, (short) 0, gcd(p1, p2));")], 0);
    // Functions: process ran 3 + 1 + 2 times plus the SELECT.
    assert!(lcov.contains("FNDA:7,Flow.process(Ljavacard/framework/APDU;)V"), "{lcov}");
    // Branches: fib's `n < 2` compare ran 15 times.
    assert!(lcov.contains("BRDA:"), "{lcov}");
}

/// `genhtml` (Debian package `lcov`, installed by scripts/install-deps) turns the report into
/// HTML from the applet's source directory. Run by scripts/test with --ignored.
#[test]
#[ignore = "needs genhtml (lcov): scripts/test runs it with --ignored"]
fn genhtml_reads_the_lcov_report() {
    let lcov = flow_coverage();
    let d = tempfile::tempdir().unwrap();
    let info = d.path().join("flow.info");
    std::fs::write(&info, &lcov).unwrap();
    let out = std::process::Command::new("genhtml")
        .args(["--branch-coverage", "-o", d.path().join("html").to_str().unwrap(), info.to_str().unwrap()])
        .current_dir(common::capcard::repo().join("tests/applets/flow/src"))
        .output()
        .expect("genhtml (scripts/install-deps installs lcov)");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(d.path().join("html/index.html").exists());
}

/// `gpse run --coverage FILE` writes LCOV for the CAPs with a Debug component and a
/// per-method table for the others beside it (`FILE.txt`).
#[test]
fn run_coverage_writes_lcov_and_a_table() {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("card");
    drop(new_card(&state));
    for cap in ["flow", "arrays"] {
        gp_install(&state, cap, &[]);
    }
    let script = d.path().join("s.scr");
    std::fs::write(
        &script,
        "powerup;\n0x00 0xA4 0x04 0x00 0x0C 0xA0 0x00 0x00 0x04 0x76 0x67 0x70 0x73 0x65 0x01 0x03 0x01 0x7F;\n\
         0x80 0x50 0x00 0x00 0x00 0x7F;\n0x80 0x50 0x00 0x00 0x00 0x7F;\n\
         0x00 0xA4 0x04 0x00 0x0C 0xA0 0x00 0x00 0x04 0x76 0x67 0x70 0x73 0x65 0x01 0x02 0x01 0x7F;\n\
         0x80 0x40 0x00 0x00 0x00 0x7F;\npowerdown;\n",
    )
    .unwrap();
    let info = d.path().join("cov.info");
    let o = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args([
            "run",
            "--state",
            state.to_str().unwrap(),
            "--coverage",
            info.to_str().unwrap(),
            script.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lcov = std::fs::read_to_string(&info).unwrap();
    assert_eq!(da(&lcov, "gpse/test/flow/Flow.java")[&flow_line("buf[0] = table(p1);")], 2);
    let table = std::fs::read_to_string(d.path().join("cov.info.txt")).unwrap();
    assert!(table.starts_with("# package A000000476677073650102: bytecode coverage per method"), "{table}");
    // process() of arrays ran (INS 40): some method shows bytecodes that ran.
    assert!(table.lines().any(|l| l.contains(" bytecodes ran") && !l.contains(": 0 of ")), "{table}");
}

/// `--trace-bytecode AID:N` prints at most N instructions of that instance with its operand
/// stack; `--trace-api` each API call with its argument words, never array contents (a VERIFY's
/// PIN does not appear).
#[test]
fn send_traces_bytecodes_and_api_calls_without_pins() {
    let d = tempfile::tempdir().unwrap();
    drop(new_card(d.path()));
    gp_install(d.path(), "framework", &["--params", "31323334"]);
    let out = assert_cmd::Command::cargo_bin("gpse")
        .unwrap()
        .args([
            "send",
            "--state",
            d.path().to_str().unwrap(),
            "--trace-bytecode",
            "A00000047667707365010501:5",
            "--trace-api",
            "00A404000CA0000004766770736501050100",
            "002000000431323334",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("< 9000"), "{text}");
    let bytecodes = text.lines().filter(|l| l.starts_with("! bytecode ") && l.contains(" | stack [")).count();
    assert_eq!(bytecodes, 5, "{text}");
    assert!(text.contains("! bytecode trace: limit reached"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("! api PinCheck(")), "{text}");
    assert!(
        !text.contains("31323334") || text.lines().filter(|l| l.contains("31323334")).all(|l| l.starts_with('>')),
        "{text}"
    );
}
