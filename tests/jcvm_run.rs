//! CAP applets from `../shared/javacard/caps/` run on the bare VM (issue #14 acceptance,
//! in-process): load, install with the GP parameter layout, select, commands.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::apdu::{Command, Response};
use gpse::jcvm::{Jcvm, NoEnv};
use gpse::sw::Sw;
use std::path::PathBuf;

/// `../shared` as the build script found it (`GPSE_SHARED`, else next to the repository, else
/// `/work/shared`); without it every test here is ignored (`cfg(gpse_shared)`, see `build.rs`).
fn shared() -> PathBuf {
    match option_env!("GPSE_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => panic!("needs ../shared/javacard (set GPSE_SHARED): not found at build time"),
    }
}

/// The CAP bytes; a missing file fails the test with its path.
fn cap(name: &str) -> Vec<u8> {
    let p = shared().join("javacard/caps").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn expected(rel: &str) -> String {
    // demo1.scr is Latin-1 (its copyright line): decode lossily, the commands are ASCII.
    let p = shared().join("javacard/caps/expected").join(rel);
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    String::from_utf8_lossy(&b).into_owned()
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn cmd(s: &str) -> Command {
    Command::parse(&h(s)).unwrap()
}

struct Card {
    vm: Jcvm,
    aid: Vec<u8>,
}

impl Card {
    /// Loads `name`, installs its first applet class under `instance` (or the class AID).
    fn new(name: &str, instance: Option<&str>, params: &[u8]) -> Card {
        let bytes = if let Some(n) = name.strip_prefix("project:") {
            std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/applets/{n}/build/{n}.cap")))
                .unwrap()
        } else {
            cap(name)
        };
        let _ = tracing_subscriber::fmt().with_env_filter("gpse=info").with_test_writer().try_init();
        let mut vm = Jcvm::new();
        let info = vm.load_package(&bytes).unwrap_or_else(|e| panic!("{name}: load: {e}"));
        let class = info.applets[0].clone();
        let aid = instance.map(h).unwrap_or_else(|| class.clone());
        let r = if name == "oracle212-wallet.cap" {
            // A 2.1.2 sample: it reads its PIN from bArray[bOffset..] (see install_raw).
            vm.install_raw(&mut NoEnv, &info.aid, &class, &aid, params, 0, params.len(), &[])
        } else {
            vm.install(&mut NoEnv, &info.aid, &class, &aid, params, &[0])
        };
        r.unwrap_or_else(|e| panic!("{name}: install: {e:?}"));
        Card { vm, aid }
    }

    fn select(&mut self) -> Result<Response, Sw> {
        let mut c = Command::new(0, 0xA4, 4, 0).with_data(self.aid.clone());
        c.ne = Some(256);
        self.vm.select(&mut NoEnv, &self.aid.clone(), 0, &c)
    }

    fn send(&mut self, c: &Command) -> Response {
        let aid = self.aid.clone();
        match self.vm.process(&mut NoEnv, &aid, 0, c) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    fn tx(&mut self, c: &str) -> String {
        hex::encode_upper(self.send(&cmd(c)).to_bytes())
    }
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn hello_world_echoes() {
    let mut c = Card::new("oracle212-HelloWorld.cap", None, &[]);
    assert_eq!(c.select().unwrap().sw, Sw::Ok);
    assert_eq!(c.tx("80100000 03 AABBCC 00"), "8010000003AABBCC9000");
}

/// An apdutool script (`demo1.scr`): commands as `CLA INS P1 P2 Lc data... Le;` in hex
/// (`0x..`) or decimal, comments `//`, `powerup;`/`powerdown;` skipped.
fn apdutool_commands(script: &str) -> Vec<Vec<u8>> {
    let body: String = script.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join(" ");
    body.split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.starts_with("power"))
        .map(|c| {
            c.split_whitespace()
                .map(|t| match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(x) => u8::from_str_radix(x, 16).unwrap(),
                    None => t.parse::<u8>().unwrap(),
                })
                .collect()
        })
        .collect()
}

/// The apdutool command bytes as a command: `Lc`, data, `Le` (0 = no Le).
fn apdutool_command(b: &[u8]) -> Command {
    let lc = b[4] as usize;
    let mut c = Command::new(b[0], b[1], b[2], b[3]).with_data(b[5..5 + lc].to_vec());
    let le = b[5 + lc];
    if le != 0 {
        c.ne = Some(le as usize);
    }
    c
}

/// apdutool's output line for a command and its response.
fn apdutool_line(b: &[u8], r: &Response) -> String {
    let lc = b[4] as usize;
    let mut s = format!("CLA: {:02x}, INS: {:02x}, P1: {:02x}, P2: {:02x}, Lc: {:02x}", b[0], b[1], b[2], b[3], lc);
    for x in &b[5..5 + lc] {
        s += &format!(", {x:02x}");
    }
    s += &format!(", Le: {:02x}", r.data.len());
    for x in &r.data {
        s += &format!(", {x:02x}");
    }
    let [s1, s2] = r.sw.to_bytes();
    s + &format!(", SW1: {s1:02x}, SW2: {s2:02x}")
}

/// The wallet lines of the SDK's demo1 trace, byte for byte; the `80 B8` CREATE APPLET line
/// is replaced by `install` with the same AID and parameters (`05 0102030405`).
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn oracle_wallet_demo1_trace() {
    let (script, out) = (expected("oracle212-demo/demo1.scr"), expected("oracle212-demo/demo1.scr.expected.out"));
    let bytes = cap("oracle212-wallet.cap");
    let mut vm = Jcvm::new();
    let info = vm.load_package(&bytes).unwrap();
    let cmds = apdutool_commands(&script);
    // "create wallet applet": 80 B8 00 00 11 | 0A <AID> 05 0102030405. The 2.1 reference
    // installer hands the applet its parameters (offset 12, length 5).
    let create = &cmds[3];
    assert_eq!(&create[..2], &[0x80, 0xB8]);
    let data = &create[5..5 + create[4] as usize];
    let aid = data[1..11].to_vec();
    vm.install_raw(&mut NoEnv, &info.aid, &info.applets[0], &aid, data, 12, data[11] as usize, &[]).unwrap();
    let mut c = Card { vm, aid };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(cmds.len(), lines.len(), "script and trace disagree");
    let first = lines.iter().position(|l| l.contains("0c, 06, 01, Le")).unwrap();
    let mut n = 0;
    for (b, want) in cmds[first..].iter().zip(&lines[first..]) {
        let command = apdutool_command(b);
        let r = if command.ins == 0xA4 {
            c.vm.select(&mut NoEnv, &c.aid.clone(), 0, &command).unwrap_or_else(Response::status)
        } else {
            c.send(&command)
        };
        assert_eq!(apdutool_line(b, &r), *want);
        n += 1;
    }
    assert_eq!(n, 20);
}

/// Every SW the ExceptionTests applet throws, in the order of its test file.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn noakes_exception_tests() {
    let js = expected("noakes/exceptions.js");
    let mut c = Card::new("noakes-ExceptionTests.cap", None, &[]);
    assert_eq!(c.select().unwrap().sw, Sw::Ok);
    // Pairs `name: [[0x80, 0xINS, ...]]` then `nameRes: '0xSSSS'` after the select.
    let mut ins = None;
    let mut checked = 0;
    for l in js.lines().skip_while(|l| !l.contains("selectApplet")).skip(1) {
        let l = l.trim();
        if let Some(i) = l.find("[[0x80, 0x") {
            ins = Some(u8::from_str_radix(&l[i + 10..i + 12], 16).unwrap());
        } else if let (Some(i), Some(code)) = (ins.take(), l.split('\'').nth(1)) {
            let want = u16::from_str_radix(code.trim_start_matches("0x"), 16).unwrap();
            let r = c.send(&Command::new(0x80, i, 0, 0).with_ne(127));
            assert_eq!(r.sw.to_u16(), want, "INS {i:02X}");
            assert!(r.data.is_empty());
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
    // Throwing the JCRE's exception instances is not a persistent write.
    c.vm.take_dirty();
    assert_eq!(c.send(&Command::new(0x80, 0x05, 0, 0)).sw.to_u16(), 0x6985);
    assert!(!c.vm.take_dirty());
    // The first SWs are the ISO7816 constants the applet throws by INS.
    assert_eq!(c.send(&Command::new(0x80, 0x00, 0, 0)).sw.to_u16(), 0x6100);
    assert_eq!(c.send(&Command::new(0x80, 0x11, 0, 0)).sw.to_u16(), 0x6A84);
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn null_app_and_minimal_applets() {
    let mut c = Card::new("oracle212-NullApp.cap", None, &[]);
    // NullApp.process throws Util.makeShort(0x6D, buffer[OFFSET_INS]) for every command,
    // the SELECT included (its Method component: bspush 6D, baload, makeShort, throwIt).
    assert_eq!(c.select().unwrap().sw.to_u16(), 0x6DA4);
    assert_eq!(c.tx("80CA000000"), "6DCA");

    let mut c = Card::new("gppro-empty-221.cap", None, &[]);
    // Its process() throws CryptoException(0x6666) (sspush 6666, invokestatic
    // CryptoException.throwIt): not an ISOException, so the JCRE answers 6F00.
    assert_eq!(c.select().unwrap().sw, Sw::Unknown);
    assert_eq!(c.tx("80010000"), "6F00");

    let mut c = Card::new("kaoh-helloworld.cap", None, &[]);
    // "Hello World!" to every command.
    let hello = format!("{}9000", hex::encode_upper(b"Hello World!"));
    assert_eq!(hex::encode_upper(c.select().unwrap().to_bytes()), hello);
    assert_eq!(c.tx("8002000003010203"), hello);
}

#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn caprunner_javatest_methods() {
    let mut c = Card::new("caprunner-javatest.cap", None, &[]);
    // process(): new MyPIN(); pin.blah(); ISOException.throwIt(SW_FUNC_NOT_SUPPORTED).
    let r = c.select().unwrap();
    assert_eq!(r.sw.to_u16(), 0x6A81);
    assert_eq!(c.tx("80000000"), "6A81");
    let aid = c.aid.clone();
    let mut call = |tok: usize, args: &[i16]| c.vm.call_virtual(&mut NoEnv, &aid, tok, args);
    // Tokens from javatest.jca; expected values from Test.java / testInterpreter.py.
    assert_eq!(call(9, &[4]), Ok(Some(62)), "testEasy");
    assert_eq!(call(8, &[3]), Ok(Some(5)), "testfinally");
    assert_eq!(call(10, &[4]), Ok(Some(12)), "testSomeIf even");
    assert_eq!(call(11, &[5]), Ok(Some(10)), "accessField");
    assert_eq!(call(11, &[5]), Ok(Some(20)), "accessField again");
    for (p, want) in [(0, 0xff), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4)] {
        assert_eq!(call(14, &[p]), Ok(Some(want)), "testExcpts({p})");
    }
    assert_eq!(call(12, &[]), Ok(None), "testLocalVariable");
    assert_eq!(call(13, &[]), Ok(None), "testCallAnotherFunction");
    // The static methods, found by their export tokens in the Descriptor component
    // (javatest.jca: gcdIteratif 2, gcdRecursif 3, testStatic 4).
    let bytes = cap("caprunner-javatest.cap");
    let parsed = gpse::jcvm::cap::Cap::parse(&bytes).unwrap();
    let pkg = parsed.header.package.aid.as_bytes().to_vec();
    let desc = parsed.descriptor.as_ref().unwrap();
    // ACC_STATIC is 0x08 in method_descriptor_info.access_flags (JCVM §6.14). The class with
    // static token 4 (testStatic) is Test.
    let is_static = |m: &&gpse::jcvm::cap::descriptor::MethodDescriptor| m.access_flags & 0x08 != 0;
    let test = desc.classes.iter().find(|c| c.methods.iter().filter(is_static).any(|m| m.token == 4)).unwrap();
    let stat =
        |tok: u8| test.methods.iter().filter(is_static).find(|m| m.token == tok).map(|m| m.method_offset).unwrap();
    assert_eq!(c.vm.call_static(&mut NoEnv, &pkg, stat(2), &[42, 56]), Ok(Some(14)), "gcdIteratif");
    assert_eq!(c.vm.call_static(&mut NoEnv, &pkg, stat(3), &[42, 56]), Ok(Some(14)), "gcdRecursif");
    assert_eq!(c.vm.call_static(&mut NoEnv, &pkg, stat(3), &[1071, 462]), Ok(Some(21)), "gcdRecursif");
    assert_eq!(c.vm.call_static(&mut NoEnv, &pkg, stat(4), &[]), Ok(None), "testStatic");
}

/// testSomeIf with an odd argument never ends (byte i < i + 5 always): the step budget stops
/// it with 6F00 and the VM keeps answering.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn endless_loop_hits_the_budget() {
    let mut c = Card::new("caprunner-javatest.cap", None, &[]);
    c.vm.set_step_budget(100_000);
    let aid = c.aid.clone();
    assert_eq!(c.vm.call_virtual(&mut NoEnv, &aid, 10, &[5]), Err(Sw::Unknown));
    assert_eq!(c.vm.call_virtual(&mut NoEnv, &aid, 9, &[1]), Ok(Some(59)));
}

/// NFC Forum Type 4 Tag session against the three openjavacard-ndef builds, installed as
/// the NDEF application D2760000850101.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn ndef_type4_tag_session() {
    // The tiny variant is read-only and takes its NDEF message as the install parameter.
    let rec = "D101055402656E6869";
    for name in ["ndef-tiny.cap", "ndef-full.cap"] {
        let params = if name == "ndef-tiny.cap" { h(rec) } else { Vec::new() };
        let mut c = Card::new(name, Some("D2760000850101"), &params);
        let sel = c.vm.select(&mut NoEnv, &c.aid.clone(), 0, &cmd("00A4040007D276000085010100")).unwrap();
        assert_eq!(sel.sw, Sw::Ok, "{name}");
        // CC file (T4T §5.1.1 / ISO 7816-4 SELECT by file id, P2 0C).
        assert_eq!(c.tx("00A4000C02E103"), "9000", "{name}");
        let cc = c.send(&cmd("00B000000F"));
        assert_eq!(cc.sw, Sw::Ok, "{name}");
        eprintln!("{name} CC {}", hex::encode_upper(&cc.data));
        assert_eq!(&cc.data[..2], &[0x00, 0x0F], "{name} CCLEN");
        assert_eq!(cc.data[7], 0x04, "{name}: NDEF file control TLV");
        let fid = format!("{:02X}{:02X}", cc.data[9], cc.data[10]);
        let writable = cc.data[14] == 0x00;
        assert_eq!(c.tx(&format!("00A4000C02{fid}")), "9000", "{name}");
        let nlen = c.send(&cmd("00B0000002"));
        assert_eq!(nlen.sw, Sw::Ok, "{name}");
        eprintln!("{name} NLEN {} writable {writable}", hex::encode_upper(&nlen.data));
        if name == "ndef-tiny.cap" {
            assert!(!writable);
            assert_eq!(nlen.data, [0, 9]);
            assert_eq!(c.tx("00B000000B"), format!("0009{rec}9000"));
            assert_eq!(c.tx("00D6000002 0000"), "6986", "read-only");
        }
        if writable {
            // A short NDEF text record "hi" (D1 01 05 54 02 'en' 'hi'), written after NLEN 0,
            // then NLEN (T4T §5.4.4 update procedure).
            assert_eq!(c.tx("00D6000002 0000"), "9000", "{name}");
            assert_eq!(c.tx(&format!("00D6000209{rec}")), "9000", "{name}");
            assert_eq!(c.tx("00D6000002 0009"), "9000", "{name}");
            assert_eq!(c.tx("00B000000B"), format!("0009{rec}9000"), "{name}");
        }
    }
}

/// The stub variant forwards to a backend service applet through a Shareable interface
/// (part 2). Its install data is the service id and AID; without that applet, SELECT answers
/// what its connectService() throws: SW_CONDITIONS_NOT_SATISFIED.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn ndef_stub_without_service() {
    let mut c = Card::new("ndef-stub.cap", Some("D2760000850101"), &h("01D276000177100211010001"));
    let r = c.vm.select(&mut NoEnv, &c.aid.clone(), 0, &cmd("00A4040007D276000085010100")).unwrap();
    assert_eq!(r.sw, Sw::ConditionsNotSatisfied);
    assert_eq!(c.tx("00B0000002"), "6985");
    // Install data shorter than 6 bytes: SW_WRONG_DATA from its constructor.
    let bytes = cap("ndef-stub.cap");
    let mut vm = Jcvm::new();
    let info = vm.load_package(&bytes).unwrap();
    assert_eq!(
        vm.install(&mut NoEnv, &info.aid, &info.applets[0], &h("D2760000850101"), &[1, 2], &[]),
        Err(Sw::WrongData)
    );
    assert!(vm.instances().is_empty());
}

/// The 2.2.2 wallet sample (noakes): PIN from the install parameters, credit, debit, balance.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn noakes_wallet() {
    let mut c = Card::new("noakes-wallet.cap", None, &h("01020304"));
    assert_eq!(c.select().unwrap().sw, Sw::Ok);
    assert_eq!(c.tx("8050000002"), "00009000");
    assert_eq!(c.tx("8030000001 10"), "6301", "credit before PIN");
    assert_eq!(c.tx("8020000004 01020305"), "6300");
    assert_eq!(c.tx("8020000004 01020304"), "9000");
    assert_eq!(c.tx("8030000001 64"), "9000");
    assert_eq!(c.tx("8040000001 14"), "9000");
    assert_eq!(c.tx("8050000002"), "00509000");
    assert_eq!(c.tx("8040000001 7F"), "6A85", "negative balance");
}

/// A counter in a field survives save/restore of the image; transients and the PIN's
/// validated flag do not.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn persistence_across_restore() {
    let mut c = Card::new("noakes-wallet.cap", None, &h("0102030405"));
    c.select().unwrap();
    assert_eq!(c.tx("8020000005 0102030405"), "9000");
    assert_eq!(c.tx("8030000001 2A"), "9000");
    assert!(c.vm.take_dirty());
    let img = c.vm.save();
    let mut vm = Jcvm::restore(&img).unwrap();
    let mut c2 = Card { vm, aid: c.aid.clone() };
    c2.select().unwrap();
    assert_eq!(c2.tx("8050000002"), "002A9000", "balance survives");
    assert_eq!(c2.tx("8030000001 01"), "6301", "PIN validation does not survive the restart");
    assert_eq!(c2.tx("8020000005 0102030405"), "9000");
    assert_eq!(c2.tx("8030000001 01"), "9000");
    vm = Jcvm::restore(&c2.vm.save()).unwrap();
    let mut c3 = Card { vm, aid: c.aid };
    c3.select().unwrap();
    assert_eq!(c3.tx("8050000002"), "002B9000");
    // Same image bytes when nothing changed.
    let img = c3.vm.save();
    assert_eq!(Jcvm::restore(&img).unwrap().save(), img);
    // A damaged image is an error, never a panic: every truncation and some flipped bytes.
    for n in (0..img.len()).step_by(7) {
        let _ = Jcvm::restore(&img[..n]);
    }
    for i in (0..img.len()).step_by(13) {
        let mut b = img.clone();
        b[i] ^= 0xFF;
        if let Ok(mut vm) = Jcvm::restore(&b) {
            let _ = vm.select(&mut NoEnv, &h("D1560001320A64656D9F01"), 0, &cmd("00A404000BD1560001320A64656D9F01"));
            let _ = vm.process(&mut NoEnv, &h("D1560001320A64656D9F01"), 0, &cmd("8050000002"));
        }
    }
}

/// Random commands to every applet here never panic, and the VM answers afterwards.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn random_apdus_never_panic() {
    let names = [
        "oracle212-HelloWorld.cap",
        "oracle212-NullApp.cap",
        "oracle212-wallet.cap",
        "ndef-tiny.cap",
        "ndef-stub.cap",
        "ndef-full.cap",
        "noakes-wallet.cap",
        "noakes-ExceptionTests.cap",
        "caprunner-javatest.cap",
        "kaoh-helloworld.cap",
        "gppro-empty-221.cap",
        "gp-ara.cap",
        "gp-omapitest1.cap",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in names {
        let params = match name {
            n if n.contains("wallet") => h("01020304"),
            "ndef-tiny.cap" => h("D101055402656E6869"),
            "ndef-stub.cap" => h("01D276000177100211010001"),
            _ => Vec::new(),
        };
        let mut c = Card::new(name, None, &params);
        let _ = c.select();
        for i in 0..400 {
            let r = next();
            let n = (r >> 8) as usize % 40;
            let data: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let mut command =
                Command::new((r >> 16) as u8 & 0x8F, (r >> 24) as u8, (r >> 32) as u8, (r >> 40) as u8).with_data(data);
            if r & 1 == 1 {
                command.ne = Some(1 + (r >> 48) as usize % 256);
            }
            if i % 50 == 0 {
                let _ = c.select();
            }
            let _ = c.send(&command);
        }
        let img = c.vm.save();
        assert!(Jcvm::restore(&img).is_ok(), "{name}");
    }
}

/// Every byte of the Method component flipped in turn (no verifier in front): load, install,
/// select and a few commands either refuse or raise Java Card exceptions; none panics.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn flipped_method_bytes_never_panic() {
    for name in ["oracle212-wallet.cap", "noakes-ExceptionTests.cap", "ndef-full.cap", "caprunner-javatest.cap"] {
        let bytes = cap(name);
        let comps = gpse::jcvm::cap::Cap::parse(&bytes).unwrap().raw;
        // Concatenated components (the LOAD form), with the Method component's bytes flipped.
        let mut flat = Vec::new();
        let mut method_at = 0..0;
        for c in &comps {
            if c.tag == 7 {
                method_at = flat.len() + 3..flat.len() + c.bytes.len();
            }
            flat.extend_from_slice(&c.bytes);
        }
        let mut outcomes = [0usize; 3];
        for i in method_at.clone() {
            for mask in [0xFFu8] {
                let mut b = flat.clone();
                b[i] ^= mask;
                let mut vm = Jcvm::new();
                vm.set_step_budget(20_000);
                let Ok(info) = vm.load_package(&b) else {
                    outcomes[0] += 1;
                    continue;
                };
                let class = info.applets[0].clone();
                let params = if name.contains("wallet") { h("01020304") } else { Vec::new() };
                let inst = if name.contains("wallet") {
                    vm.install_raw(&mut NoEnv, &info.aid, &class, &class, &params, 0, params.len(), &[])
                } else {
                    vm.install(&mut NoEnv, &info.aid, &class, &class, &params, &[])
                };
                if inst.is_err() {
                    outcomes[1] += 1;
                    continue;
                }
                outcomes[2] += 1;
                let sel = Command::new(0, 0xA4, 4, 0).with_data(class.clone());
                let _ = vm.select(&mut NoEnv, &class, 0, &sel);
                for c in ["B0500000 02", "80300000 01 10", "00B0000002", "80000000", "80120000"] {
                    let _ = vm.process(&mut NoEnv, &class, 0, &cmd(c));
                }
                assert!(Jcvm::restore(&vm.save()).is_ok());
            }
        }
        eprintln!(
            "{name}: {} mutants: refused at load {}, install failed {}, ran {}",
            method_at.len(),
            outcomes[0],
            outcomes[1],
            outcomes[2]
        );
    }
}

/// Every API reference of the acceptance CAPs links to an implemented native; the other CAPs
/// here load with what they use beyond the implemented API reported as not implemented.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn api_references_resolve_or_are_reported() {
    let dir = shared().join("javacard/caps");
    let must_be_complete = [
        "oracle212-HelloWorld.cap",
        "oracle212-NullApp.cap",
        "oracle212-wallet.cap",
        "oracle212-JavaPurse.cap",
        "oracle212-JavaLoyalty.cap",
        "oracle212-SampleLibrary.cap",
        "ndef-tiny.cap",
        "ndef-stub.cap",
        "ndef-full.cap",
        "noakes-wallet.cap",
        "noakes-ExceptionTests.cap",
        "caprunner-javatest.cap",
        "kaoh-helloworld.cap",
        "gppro-empty-221.cap",
        "gp-ara.cap",
        "gp-omapitest1.cap",
    ];
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".cap"))
        .collect();
    names.sort();
    let lib = std::fs::read(dir.join("oracle212-SampleLibrary.cap")).unwrap();
    let mut report = Vec::new();
    for n in &names {
        let b = std::fs::read(dir.join(n)).unwrap();
        // One VM per CAP (the algtest builds share a package AID); JavaPurse and JavaLoyalty
        // import the library, loaded first.
        let mut vm = Jcvm::new();
        if n.contains("JavaPurse") || n.contains("JavaLoyalty") {
            vm.load_package(&lib).unwrap();
        }
        match vm.load_package(&b) {
            Ok(info) => {
                if must_be_complete.contains(&n.as_str()) {
                    assert!(info.missing.is_empty(), "{n}: {:?}", info.missing);
                }
                report.push(format!("{n}: {} not implemented", info.missing.len()));
            }
            // Only imports beyond the API table (org.globalplatform, part 3) may refuse a load.
            Err(e) => {
                assert!(!must_be_complete.contains(&n.as_str()), "{n}: {e}");
                assert_eq!(e.sw(), Sw::ReferencedDataNotFound, "{n}: {e}");
                report.push(format!("{n}: refused: {e}"));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(report.len() >= 20);
}

/// Imports the card cannot satisfy are typed errors with the LOAD status word.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn unknown_import_and_newer_version_are_refused() {
    let purse = cap("oracle212-JavaPurse.cap");
    let mut vm = Jcvm::new();
    let e = vm.load_package(&purse).unwrap_err();
    assert!(
        matches!(e, gpse::jcvm::JcvmError::Link(gpse::jcvm::link::LinkError::UnknownImport(ref a)) if a == &h("A00000006203010C04")),
        "{e}"
    );
    assert_eq!(e.sw(), Sw::ReferencedDataNotFound);
    assert!(vm.packages().is_empty());

    // HelloWorld with its javacard.framework import claiming minor version 10 (the card has 1.9).
    let hello = cap("oracle212-HelloWorld.cap");
    let mut comps = gpse::jcvm::cap::Cap::parse(&hello).unwrap().raw;
    let imp = comps.iter_mut().find(|c| c.tag == 4).unwrap();
    // Import info: count, then {minor, major, AID length, AID}.
    assert_eq!(imp.bytes[3], 1);
    imp.bytes[4] = 10;
    let flat: Vec<u8> = comps.iter().flat_map(|c| c.bytes.clone()).collect();
    let e = vm.load_package(&flat).unwrap_err();
    assert!(
        matches!(e, gpse::jcvm::JcvmError::Link(gpse::jcvm::link::LinkError::ImportVersion { need: (1, 10), .. })),
        "{e}"
    );
    assert_eq!(e.sw(), Sw::ReferencedDataNotFound);

    // The library loaded first, the purse links; the library cannot go while the purse is there.
    let lib = cap("oracle212-SampleLibrary.cap");
    vm.load_package(&lib).unwrap();
    vm.load_package(&purse).unwrap();
    assert_eq!(vm.delete_package(&h("A00000006203010C04")), Err(Sw::ConditionsNotSatisfied));
    assert_eq!(vm.delete_package(&h("A00000006203010C02")), Ok(()));
    assert_eq!(vm.delete_package(&h("A00000006203010C04")), Ok(()));
    assert!(vm.packages().is_empty());
}

/// DELETE of instance and package; a re-load reuses the slot and the image restores.
#[test]
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
fn delete_and_reload() {
    let mut c = Card::new("noakes-wallet.cap", None, &h("01020304"));
    let pkg = c.vm.packages()[0].aid.clone();
    assert_eq!(c.vm.delete_package(&pkg), Err(Sw::ConditionsNotSatisfied), "instance still there");
    assert_eq!(c.vm.delete_instance(&c.aid.clone()), Ok(()));
    assert_eq!(c.select(), Err(Sw::FileNotFound));
    assert_eq!(c.vm.delete_package(&pkg), Ok(()));
    let hello = cap("oracle212-HelloWorld.cap");
    let info = c.vm.load_package(&hello).unwrap();
    c.vm.install(&mut NoEnv, &info.aid, &info.applets[0], &info.applets[0], &[], &[]).unwrap();
    let mut vm = Jcvm::restore(&c.vm.save()).unwrap();
    let sel = Command::new(0, 0xA4, 4, 0).with_data(info.applets[0].clone());
    assert_eq!(vm.select(&mut NoEnv, &info.applets[0], 0, &sel).unwrap().sw, Sw::Ok);
}
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
#[test]
fn hello_world_case1_echoes_the_header() {
    let mut c = Card::new("oracle212-HelloWorld.cap", None, &[]);
    c.select().unwrap();
    assert!(c.vm.take_dirty(), "load and install changed the image");
    // Echoing data copies it into the applet's persistent echoBytes array: a persistent write.
    assert_eq!(c.tx("8010000003AABBCC"), "8010000003AABBCC9000");
    assert!(c.vm.take_dirty());
    // Without data only the APDU buffer (transient) is written: the image stays as it was.
    assert_eq!(c.tx("80100000"), "80100000009000");
    assert!(!c.vm.take_dirty());
    // An extended-length command to an applet that does not implement ExtendedLength: 6700.
    let mut ext = Command::new(0x80, 0x10, 0, 0).with_data(vec![0x11; 300]);
    ext.extended = true;
    assert_eq!(c.send(&ext).sw, Sw::WrongLength);
    // On logical channel 1 too (the VM takes the channel from the runtime).
    let sel = Command::new(0x01, 0xA4, 4, 0).with_data(c.aid.clone());
    // Not MultiSelectable: selecting it on channel 1 while it is active on 0 is refused (JCRE
    // §4.2); once deselected there, it can be.
    assert_eq!(c.vm.select(&mut NoEnv, &c.aid.clone(), 1, &sel).unwrap_err(), Sw::ConditionsNotSatisfied);
    c.vm.deselect(&mut NoEnv, &c.aid.clone(), 0);
    assert_eq!(c.vm.select(&mut NoEnv, &c.aid.clone(), 1, &sel).unwrap().sw, Sw::Ok);
    let r = c.vm.process(&mut NoEnv, &c.aid.clone(), 1, &cmd("81100000")).unwrap();
    assert_eq!(hex::encode_upper(r.to_bytes()), "81100000009000");
    assert_eq!(c.tx("80100000"), "80100000009000");
}

// The project's own test applets (tests/applets/, each answering as the table at the top of
// its source says).

fn project(name: &str, params: &[u8]) -> Card {
    let mut c = Card::new(&format!("project:{name}"), None, params);
    assert_eq!(c.select().unwrap(), Response::ok(), "{name} SELECT");
    c
}

#[test]
fn project_arith() {
    let mut c = project("arith", &[]);
    let t = |c: &mut Card, ins: u8, data: &str| c.tx(&format!("80{ins:02X}0000{:02X}{data}", data.len() / 2));
    assert_eq!(t(&mut c, 0x10, "7FFF0001"), "80009000", "short add wraps");
    assert_eq!(t(&mut c, 0x11, "00010002"), "FFFF9000");
    assert_eq!(t(&mut c, 0x12, "01000100"), "00009000");
    assert_eq!(t(&mut c, 0x13, "FFF90002"), "FFFD9000", "-7/2 = -3");
    assert_eq!(t(&mut c, 0x13, "00070000"), "6F00", "division by zero");
    assert_eq!(t(&mut c, 0x13, "8000FFFF"), "80009000", "-32768 / -1 wraps");
    assert_eq!(t(&mut c, 0x14, "FFF90002"), "FFFF9000", "-7 % 2 = -1");
    assert_eq!(t(&mut c, 0x15, "8000"), "80009000");
    assert_eq!(t(&mut c, 0x16, "00010011"), "00009000", "1 << 17 truncated to a short");
    assert_eq!(t(&mut c, 0x16, "00010021"), "00029000", "shift count masked to 5 bits");
    assert_eq!(t(&mut c, 0x17, "80000004"), "F8009000");
    assert_eq!(t(&mut c, 0x18, "80000004"), "08009000", "(a & 0xFFFF) >>> b");
    assert_eq!(t(&mut c, 0x19, "0FF000FF"), "00F09000");
    assert_eq!(t(&mut c, 0x1A, "0F0000F0"), "0FF09000");
    assert_eq!(t(&mut c, 0x1B, "FFFF0F0F"), "F0F09000");
    assert_eq!(t(&mut c, 0x1C, "00FF"), "FF009000");
    assert_eq!(t(&mut c, 0x1D, "0180"), "FF809000");
    assert_eq!(t(&mut c, 0x1E, "007F0001"), "FF809000");
    assert_eq!(t(&mut c, 0x1F, "0010"), "00729000", "16 + 1 + 100 - 3");
    assert_eq!(t(&mut c, 0x20, "7FFFFFFF00000001"), "800000009000", "int add wraps");
    assert_eq!(t(&mut c, 0x21, "0000000000000001"), "FFFFFFFF9000");
    assert_eq!(t(&mut c, 0x22, "0001000000010000"), "000000009000");
    assert_eq!(t(&mut c, 0x23, "FFFFFFF900000002"), "FFFFFFFD9000");
    assert_eq!(t(&mut c, 0x23, "0000000100000000"), "6F00");
    assert_eq!(t(&mut c, 0x24, "FFFFFFF900000002"), "FFFFFFFF9000");
    assert_eq!(t(&mut c, 0x25, "00000001"), "FFFFFFFF9000");
    assert_eq!(t(&mut c, 0x26, "0000000100000021"), "000000029000");
    assert_eq!(t(&mut c, 0x27, "8000000000000004"), "F80000009000");
    assert_eq!(t(&mut c, 0x28, "8000000000000004"), "080000009000");
    assert_eq!(t(&mut c, 0x29, "FF00FF000FF00FF0"), "0F000F009000");
    assert_eq!(t(&mut c, 0x2A, "FF000000000000FF"), "FF0000FF9000");
    assert_eq!(t(&mut c, 0x2B, "FFFFFFFF0000FFFF"), "FFFF00009000");
    assert_eq!(t(&mut c, 0x2C, "0000000100000002"), "019000");
    assert_eq!(t(&mut c, 0x2C, "0000000200000002"), "009000");
    assert_eq!(t(&mut c, 0x2C, "0000000300000002"), "FF9000");
    assert_eq!(t(&mut c, 0x2D, "12345678"), "56789000");
    assert_eq!(t(&mut c, 0x2E, "123456F0"), "F09000");
    assert_eq!(t(&mut c, 0x2F, "00000001"), "000F42419000");
    assert_eq!(t(&mut c, 0x30, "0005FFFF"), "00059000");
    assert_eq!(t(&mut c, 0x31, "0064"), "13BA9000");
    assert_eq!(c.tx("80990000"), "6D00");
    assert_eq!(c.tx("00100000"), "6E00");
}

#[test]
fn project_arrays() {
    let mut c = project("arrays", &[]);
    assert_eq!(c.tx("80400000"), "01020304050607089000");
    assert_eq!(c.tx("80410000"), "01020304FFFF80009000");
    assert_eq!(c.tx("80420000"), "01020304FFFFFFFE9000");
    assert_eq!(c.tx("80430000"), "0100019000");
    assert_eq!(c.tx("80440500"), "000306090C9000");
    assert_eq!(c.tx("80450400"), "000E9000", "0+1+4+9");
    assert_eq!(c.tx("80460300"), "00030D409000", "2 * 100000");
    assert_eq!(c.tx("80460000"), "6F00");
    assert_eq!(c.tx("80470700"), "039000", "0, 3, 6");
    assert_eq!(c.tx("80480000"), "0101019000");
    assert_eq!(c.tx("80490300"), "049000");
    assert_eq!(c.tx("80490800"), "6B00", "AIOOBE caught, SW_WRONG_P1P2 (source)");
    assert_eq!(c.tx("804A0000"), "6A83", "NegativeArraySizeException caught (source: SW_RECORD_NOT_FOUND)");
    assert_eq!(c.tx("804B0000"), "6A86", "NullPointerException caught (source: SW_INCORRECT_P1P2)");
    assert_eq!(c.tx("804C0000"), "00019000");
    assert_eq!(c.tx("804C0000"), "00029000");
    assert_eq!(c.tx("804D0200"), "029000");
    assert_eq!(c.tx("804D0300"), "059000");
    // CLEAR_ON_DESELECT: a new SELECT (deselect, select) clears it.
    c.select().unwrap();
    assert_eq!(c.tx("804D0100"), "019000");
    assert_eq!(c.tx("804E0000"), "059000");
    assert_eq!(c.tx("80FF0000"), "6D00");
}

#[test]
fn project_flow() {
    let mut c = project("flow", &[]);
    for (p1, ch) in [(0, b'A'), (3, b'D'), (5, b'F'), (6, b'?'), (0xFF, b'?')] {
        assert_eq!(c.tx(&format!("8050{p1:02X}00")), format!("{ch:02X}9000"));
    }
    for (p1, v) in [(0x01, 10), (0x10, 20), (0x7F, 30), (0x80, 40), (0x02, 0)] {
        assert_eq!(c.tx(&format!("8051{p1:02X}00")), format!("{v:02X}9000"));
    }
    assert_eq!(c.tx("80520A00"), "00379000", "fib(10) = 55");
    assert_eq!(c.tx("8053300C"), "000C9000", "gcd(48, 12)");
    assert_eq!(c.tx("80531B12"), "00099000", "gcd(27, 18)");
    // Returns finallyCount - 1 after the finally ran.
    assert_eq!(c.tx("80540000"), "00009000");
    assert_eq!(c.tx("80540100"), "6A82");
    assert_eq!(c.tx("80540000"), "00029000", "the finally ran on the throw too");
    assert_eq!(c.tx("80554200"), "63429000");
    assert_eq!(c.tx("80560700"), "6307");
    assert_eq!(c.tx("80570000"), "6F01");
    assert_eq!(c.tx("80580000"), "0102049000");
    assert_eq!(c.tx("80580100"), "010302049000");
    assert_eq!(c.tx("80590700"), "00159000");
    assert_eq!(c.tx("805A0000"), "019000");
    assert_eq!(c.tx("805B0000"), "6F00");
    assert_eq!(c.tx("80EE0000"), "6D00");
}

#[test]
fn project_objects() {
    let mut c = project("objects", &[]);
    assert_eq!(c.tx("80600500"), "00199000");
    assert_eq!(c.tx("80610304"), "000C9000");
    assert_eq!(c.tx("80620304"), "00189000");
    assert_eq!(c.tx("80630304"), "00099000");
    assert_eq!(c.tx("80640304"), "00079000");
    assert_eq!(c.tx("80650300"), "01029000");
    assert_eq!(c.tx("80660000"), "12345601".to_string() + "00079000");
    assert_eq!(c.tx("80660000"), "1234560100089000");
    assert_eq!(c.tx("80670000"), "0001019000");
    assert_eq!(c.tx("80670100"), "0101019000");
    assert_eq!(c.tx("80680000"), "6982");
    assert_eq!(c.tx("80680100"), "019000");
    assert_eq!(c.tx("80690000"), "050607 0101".replace(' ', "") + "9000");
    assert_eq!(c.tx("806A0102"), "01029000");
    assert_eq!(c.tx("80FE0000"), "6D00");
}

#[test]
fn project_framework() {
    let mut c = project("framework", &h("3132333435"));
    assert_eq!(c.tx("0020000004 31323334"), "63C2");
    assert_eq!(c.tx("00200000"), "63C2");
    assert_eq!(c.tx("0020000005 3132333435"), "9000");
    assert_eq!(c.tx("00200000"), "9000");
    assert_eq!(c.tx("8077000000"), "03019000");
    assert_eq!(c.tx("8070000003 AABBCC"), "AABBCC9000");
    assert_eq!(c.tx("8071040000"), "000102039000");
    assert_eq!(c.tx("80726A82"), "6A82");
    assert_eq!(c.tx("80729000"), "9000");
    assert_eq!(c.tx("80730000"), "010101029000");
    assert_eq!(c.tx("80730000"), "020201029000");
    c.select().unwrap();
    assert_eq!(c.tx("80730000"), "030101029000", "deselect cleared one of them");
    assert_eq!(c.tx("8074000005 0102010377"), "FF010201037777779000");
    assert_eq!(c.tx("80750000"), format!("{}9000", "A00000047667707365010501"));
    assert_eq!(c.tx("807600000C A00000047667707365010501"), "01019000");
    assert_eq!(c.tx("8076000005 A000000476"), "00019000");
    assert_eq!(c.tx("80780000"), "03059000");
    assert_eq!(c.tx("80790000"), "009000");
    assert_eq!(c.tx("807A000004 01020304"), "000A9000");
    // Three wrong PINs block it.
    for left in [2, 1] {
        assert_eq!(c.tx("0020000002 0000"), format!("63C{left}"));
    }
    assert_eq!(c.tx("0020000002 0000"), "6983", "the last try blocks it");
    assert_eq!(c.tx("0020000005 3132333435"), "6983");
    assert_eq!(c.tx("807B0000"), "9000");
    assert_eq!(c.tx("0020000005 3132333435"), "9000");
    // After a power cycle the PIN is not validated, transients are zero.
    c.vm.power_reset();
    c.select().unwrap();
    assert_eq!(c.tx("8077000000"), "03009000");
    assert_eq!(c.tx("80730000"), "010101029000");
    assert_eq!(c.tx("80FF0000"), "6D00");
    assert_eq!(c.tx("90700000"), "6E00");
}
/// GlobalPlatform's ARA-M test build answers GET DATA (all rules, refresh tag) from its
/// built-in rule set; the full differential against the native ARA-M is the runtime's test.
#[cfg_attr(not(gpse_shared), ignore = "needs ../shared/javacard (third-party CAPs and kit)")]
#[test]
fn gp_ara_get_data() {
    let mut c = Card::new("gp-ara.cap", None, &[]);
    assert_eq!(c.select().unwrap(), Response::ok());
    let all = c.send(&cmd("80CAFF4000"));
    assert_eq!(all.sw, Sw::Ok);
    // FF40 81 A5 <165 bytes of REF-AR-DO>.
    assert_eq!(&all.data[..4], &h("FF4081A5")[..]);
    assert_eq!(all.data.len(), 4 + 0xA5);
    assert_eq!(c.tx("80CADF2000"), "DF200801020304050607089000");
}
