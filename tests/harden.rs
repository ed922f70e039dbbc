//! Issue #19 (hardening): secrets at rest and in logs, resource limits, the EXTERNAL
//! AUTHENTICATE limit, read-only state, the vpcd port lock. Each test is an attack or misuse that
//! must fail cleanly.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use assert_cmd::Command as Cmd;
use gpse::card::{Card, CardImage};
use gpse::crypto::CardRng;
use gpse::platform::profile::{Overrides, Profile, DEFAULT_PROFILE};
use gpse::scp03::host::{initialize_update_command, HostSession};
use gpse::scp03::{SecurityLevel, StaticKeys};
use std::fs;
use std::path::Path;

fn gpse() -> Cmd {
    let mut c = Cmd::cargo_bin("gpse").unwrap();
    for v in ["GPSE_STATE", "GPSE_PIN", "GPSE_KEYS", "GPSE_NEW_KEYS", "GPSE_READER"] {
        c.env_remove(v);
    }
    c
}

fn sw(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn init(dir: &Path) {
    gpse().args(["card", "init", "--seed", "1", "--state"]).arg(dir).assert().success();
}

// ---- §15 EXTERNAL AUTHENTICATE failure limit -------------------------------------------------

fn card_from(profile_text: &str) -> Card {
    let img =
        Profile::parse(profile_text, "test").unwrap().build(&Overrides::default(), &mut CardRng::new(Some(1))).unwrap();
    let mut c = Card::in_memory(img, Some(1)).unwrap();
    c.power_on();
    c
}

fn test_keys() -> StaticKeys {
    let k = hex::decode("404142434445464748494A4B4C4D4E4F").unwrap();
    StaticKeys::new(&k, &k, &k).unwrap()
}

const HC: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// INITIALIZE UPDATE then EXTERNAL AUTHENTICATE, the host cryptogram spoilt when `bad`.
/// Returns (IU SW, EA SW or 0 when IU failed).
fn authenticate(card: &mut Card, bad: bool) -> (u16, u16) {
    let r = card.transmit(&initialize_update_command(0, 0, &HC).unwrap().to_bytes());
    if sw(&r) != 0x9000 {
        return (sw(&r), 0);
    }
    let (_s, mut ea) =
        HostSession::authenticate(&test_keys(), 0, &HC, &r[..r.len() - 2], SecurityLevel::from_p1(1).unwrap()).unwrap();
    if bad {
        ea.data[0] ^= 0x01;
    }
    (0x9000, sw(&card.transmit(&ea.to_bytes())))
}

fn seq_counter(card: &Card) -> u32 {
    card.image().instances[0].keys.as_ref().unwrap().key_sets[0].seq_counter
}

#[test]
fn external_authenticate_limit_blocks_key_set_with_6983_persistently() {
    let text = DEFAULT_PROFILE.replace("[isd]\n", "[isd]\nauth_failure_limit = 3\n");
    let mut card = card_from(&text);
    // Two failures, then a success resets the count.
    assert_eq!(authenticate(&mut card, true), (0x9000, 0x6300));
    assert_eq!(authenticate(&mut card, true), (0x9000, 0x6300));
    assert_eq!(authenticate(&mut card, false), (0x9000, 0x9000));
    // Three in a row block the key set: even the right keys get 6983 at INITIALIZE UPDATE, and
    // the blocked attempt does not move the sequence counter.
    for _ in 0..3 {
        assert_eq!(authenticate(&mut card, true), (0x9000, 0x6300));
    }
    let counter = seq_counter(&card);
    assert_eq!(authenticate(&mut card, false), (0x6983, 0));
    assert_eq!(seq_counter(&card), counter);
    // The block is in the image: a power cycle and a reopened image keep it.
    card.power_off();
    card.power_on();
    assert_eq!(authenticate(&mut card, false), (0x6983, 0));
    let img = CardImage::from_bytes(card.committed_payload()).unwrap();
    let mut again = Card::in_memory(img, Some(2)).unwrap();
    again.power_on();
    assert_eq!(authenticate(&mut again, false), (0x6983, 0));
}

#[test]
fn external_authenticate_without_limit_keeps_todays_behaviour() {
    let mut card = card_from(DEFAULT_PROFILE);
    for _ in 0..60 {
        assert_eq!(authenticate(&mut card, true), (0x9000, 0x6300));
    }
    assert_eq!(authenticate(&mut card, false), (0x9000, 0x9000));
}

// ---- §7 secrets at rest ----------------------------------------------------------------------

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn card_image_and_ca_key_are_0600_in_0700_dirs_and_wide_image_warns() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("new/card");
    init(&dir);
    assert_eq!(mode(&dir.join("card.gpse")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&d.path().join("new")), 0o700);
    // A change rewrites the image: still 0600 after someone widened it, with a warning first.
    fs::set_permissions(dir.join("card.gpse"), fs::Permissions::from_mode(0o644)).unwrap();
    let o = gpse().args(["send", "--state"]).arg(&dir).args(["80500000080102030405060708"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("card.gpse is readable by other users (mode 0644)"), "{e}");
    assert_eq!(e.lines().filter(|l| l.contains("readable by other users")).count(), 1, "{e}");
    assert_eq!(mode(&dir.join("card.gpse")), 0o600);
    let o = gpse().args(["card", "info", "--state"]).arg(&dir).output().unwrap();
    assert!(!stderr(&o).contains("readable"), "{}", stderr(&o));
    // The test CA's private key.
    let ca = gpse::host::ca::TestCa::new(&mut CardRng::new(Some(3)), "t").unwrap();
    let cadir = d.path().join("ca");
    ca.save(&cadir).unwrap();
    assert_eq!(mode(&cadir.join("ca.key")), 0o600);
    assert_eq!(mode(&cadir), 0o700);
    fs::set_permissions(cadir.join("ca.key"), fs::Permissions::from_mode(0o644)).unwrap();
    ca.save(&cadir).unwrap();
    assert_eq!(mode(&cadir.join("ca.key")), 0o600);
    assert!(gpse::host::ca::TestCa::load(&cadir).is_ok());
}

// ---- §14 read-only state directory -----------------------------------------------------------

/// Runs `script` (sh) with `$D` a read-only view of `dir` and `$G` the gpse binary: a read-only
/// bind mount in a private mount namespace when we are root (modes do not stop root), plain
/// `chmod 555` otherwise. `None` when neither can be arranged.
fn read_only(dir: &Path, script: &str) -> Option<std::process::Output> {
    let g = assert_cmd::cargo::cargo_bin("gpse");
    let is_root = std::process::Command::new("id").arg("-u").output().ok().is_some_and(|o| stdout(&o).trim() == "0");
    let o = if is_root {
        let wrapped = format!(
            "mount --bind \"$D\" \"$D\" || exit 99; mount -o remount,bind,ro \"$D\" || exit 99; \
             if touch \"$D/x\" 2>/dev/null; then exit 99; fi; {script}"
        );
        std::process::Command::new("unshare")
            .args(["-m", "sh", "-c", &wrapped])
            .env("D", dir)
            .env("G", &g)
            .env_remove("GPSE_STATE")
            .output()
            .ok()
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).ok()?;
        let o = std::process::Command::new("sh")
            .args(["-c", script])
            .env("D", dir)
            .env("G", &g)
            .env_remove("GPSE_STATE")
            .output()
            .ok();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).ok()?;
        o
    };
    o.filter(|o| o.status.code() != Some(99) && !stderr(o).contains("unshare:"))
}

#[test]
fn read_only_state_dir_allows_inspection() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    init(&dir);
    let before = fs::read(dir.join("card.gpse")).unwrap();
    // Inspection works; a change (INITIALIZE UPDATE moves the sequence counter) answers 6581
    // and leaves the image as it was.
    let Some(o) = read_only(
        &dir,
        r#"set -e; "$G" card info --state "$D"; "$G" jpki --state "$D" status; "$G" send --state "$D" 00A4040008A000000151000000 80CA9F7F00; "$G" send --state "$D" --quiet 80500000080102030405060708"#,
    ) else {
        eprintln!("SKIPPED read_only_state_dir_allows_inspection: cannot make a read-only directory here");
        return;
    };
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("profile:     default"), "{out}");
    assert!(out.contains("auth: 10 tries left") || out.contains("auth: no usable PIN"), "{out}");
    assert!(out.contains("< 9F7F2A"), "{out}");
    assert!(out.trim_end().ends_with("6581"), "{out}");
    assert!(err.contains("directory not writable, card opened read-only"), "{err}");
    assert!(!err.contains("lock"), "{err}");
    assert_eq!(fs::read(dir.join("card.gpse")).unwrap(), before);
}

// ---- §10 BER-TLV nesting ---------------------------------------------------------------------

/// `depth` nested constructed `E1` TLVs, the innermost empty.
fn nested_tlv(depth: usize) -> Vec<u8> {
    let mut sizes = vec![0usize; depth];
    let mut inner = 0;
    for s in sizes.iter_mut().rev() {
        *s = inner;
        let mut len = Vec::new();
        gpse::tlv::encode_len(inner, &mut len);
        inner += 1 + len.len();
    }
    let mut out = Vec::with_capacity(inner);
    for s in sizes {
        out.push(0xE1);
        gpse::tlv::encode_len(s, &mut out);
    }
    out
}

#[test]
fn trace_of_14165_nested_tlv_levels_says_too_deep_instead_of_aborting() {
    let data = nested_tlv(14_165);
    assert!(data.len() < 65_535, "{}", data.len());
    let mut apdu = hex::decode("80E29000").unwrap();
    apdu.push(0);
    apdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
    apdu.extend_from_slice(&data);
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("deep.gpse");
    fs::write(&f, format!("{} => 9000\n", hex::encode_upper(&apdu))).unwrap();
    let o = gpse().arg("trace").arg(&f).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("(data not decoded: TLV nested deeper than 64 levels)"), "{}", &out[..out.len().min(2000)]);
    assert_eq!(gpse::tlv::Node::parse_all(&data, gpse::tlv::Mode::Ber), Err(gpse::tlv::TlvError::TooDeep));
}

// ---- §11 script resource limits --------------------------------------------------------------

#[test]
fn script_captures_and_includes_are_bounded() {
    use gpse::script::parse_file;
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = d.path().join(name);
        fs::write(&p, text).unwrap();
        p
    };
    let e = parse_file(&w("cap.gpse", "80CA9F7F00 => $x:999999999999 9000\n"), None).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "cap.gpse:1: '$x:999999999999': capture length 999999999999 exceeds the longest response (65538 bytes)"
        ),
        "{e}"
    );
    let e = parse_file(&w("zero.gpse", "include /dev/zero\n"), None).unwrap_err().to_string();
    assert!(e.ends_with("zero.gpse:1: include /dev/zero: not a regular file"), "{e}");
    let e = parse_file(Path::new("/dev/zero"), None).unwrap_err().to_string();
    assert_eq!(e, "/dev/zero:0: cannot read: not a regular file");
    let e = parse_file(d.path(), None).unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
    // An include bomb: each level includes the next one 16 times (16^7 copies of one line).
    w("l7.gpse", &format!("00A4040000 # {}\n", "x".repeat(65_536)));
    for l in (0..7).rev() {
        w(&format!("l{l}.gpse"), &format!("include l{}.gpse\n", l + 1).repeat(16));
    }
    let t = std::time::Instant::now();
    let e = parse_file(&d.path().join("l0.gpse"), None).unwrap_err().to_string();
    assert!(e.contains("script text over 16777216 bytes (with its includes)"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(30));
    // The CLI says it in one line.
    let o = gpse().args(["run", "--fresh"]).arg(d.path().join("zero.gpse")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

// ---- §12 vpcd port lock ----------------------------------------------------------------------

/// A TCP port nothing listens on (so `serve` waits for vpcd and keeps running).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `gpse serve ARGS` and waits until it says it runs; returns the child and its stderr.
/// The caller waits for the child ([`stop_serve`]).
#[allow(clippy::zombie_processes)]
fn start_serve(
    args: &[&str],
    envs: &[(&str, &Path)],
    cwd: &Path,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("gpse"));
    c.arg("serve").args(args).current_dir(cwd).env_remove("GPSE_STATE").stderr(std::process::Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let l = rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())).expect("serve started");
        if l.contains("running") {
            return (child, rx);
        }
    }
}

fn stop_serve(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
}

#[test]
fn vpcd_port_lock_follows_no_symlink_needs_no_tmpdir_and_names_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let (tmp, cwd) = (d.path().join("tmp"), d.path().join("cwd"));
    fs::create_dir_all(&tmp).unwrap();
    fs::create_dir_all(&cwd).unwrap();
    let port = free_port();
    // The old lock file's place, planted with a symlink to a file it overwrote.
    let victim = d.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, tmp.join(format!("gpse-vpcd-{port}.lock"))).unwrap();
    let s1 = d.path().join("s1");
    let p = port.to_string();
    let (child, _rx) = start_serve(&["--state", s1.to_str().unwrap(), "--port", &p], &[("TMPDIR", &tmp)], &cwd);
    // A second serve on that port, with another state and an empty TMPDIR: refused, naming the
    // first one.
    let o = gpse()
        .args(["serve", "--state"])
        .arg(d.path().join("s2"))
        .args(["--port", &p])
        .env("TMPDIR", "")
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "gpse: vpcd port {port} is already served by another `gpse serve` (pid {}) with state {}",
            child.id(),
            s1.display()
        )
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(fs::read_dir(&cwd).unwrap().count(), 0, "nothing written into the working directory");
    // Another network namespace has its own port space: no collision there (needs root).
    let g = assert_cmd::cargo::cargo_bin("gpse");
    let ns = std::process::Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up 2>/dev/null; timeout -s TERM 3 \"$G\" serve --state \"$S\" --port \"$P\"",
        ])
        .env("G", &g)
        .env("S", d.path().join("s3"))
        .env("P", &p)
        .output()
        .unwrap();
    if stderr(&ns).contains("unshare:") {
        eprintln!("SKIPPED (part): another network namespace cannot be made here");
    } else {
        assert!(stderr(&ns).contains("running"), "{}", stderr(&ns));
        assert!(!stderr(&ns).contains("already served"), "{}", stderr(&ns));
    }
    stop_serve(child);
    // The lock went with the process.
    let (child, _rx) = start_serve(&["--state", d.path().join("s4").to_str().unwrap(), "--port", &p], &[], &cwd);
    stop_serve(child);
}

// ---- §9 secrets off the command line ---------------------------------------------------------

#[test]
fn keys_new_keys_and_pin_come_from_files_or_environment_and_help_says_so() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("card");
    init(&dir);
    let good = "404142434445464748494A4B4C4D4E4F";
    let bad = "000102030405060708090A0B0C0D0E0F";
    let kf = d.path().join("keys");
    fs::write(&kf, format!("{good}\n")).unwrap();
    // From a file, from the environment; wrong keys from the environment fail, proving it is read.
    gpse().args(["gp", "--state"]).arg(&dir).arg("--keys-file").arg(&kf).arg("info").assert().success();
    gpse().args(["gp", "--state"]).arg(&dir).arg("info").env("GPSE_KEYS", good).assert().success();
    let o = gpse().args(["gp", "--state"]).arg(&dir).arg("info").env("GPSE_KEYS", bad).output().unwrap();
    assert!(!o.status.success());
    // The command line wins over the environment.
    gpse().args(["gp", "--state"]).arg(&dir).args(["--keys", good, "info"]).env("GPSE_KEYS", bad).assert().success();
    // PUT KEY's new keys from GPSE_NEW_KEYS, then the new set opens from a file.
    let newk = "303132333435363738393A3B3C3D3E3F";
    gpse()
        .args(["gp", "--state"])
        .arg(&dir)
        .args(["put-key", "--new-kvn", "30"])
        .env("GPSE_NEW_KEYS", newk)
        .assert()
        .success();
    let nf = d.path().join("newkeys");
    fs::write(&nf, newk).unwrap();
    gpse()
        .args(["gp", "--state"])
        .arg(&dir)
        .args(["--kvn", "30", "--keys-file"])
        .arg(&nf)
        .arg("info")
        .assert()
        .success();
    let o = gpse().args(["gp", "--state"]).arg(&dir).args(["put-key", "--new-kvn", "31"]).output().unwrap();
    assert_eq!(stderr(&o).trim(), "gpse: give the new keys with --new-keys, --new-keys-file FILE or GPSE_NEW_KEYS");
    let o = gpse()
        .args(["gp", "--state"])
        .arg(&dir)
        .arg("--keys-file")
        .arg(d.path().join("nope"))
        .arg("info")
        .output()
        .unwrap();
    assert!(stderr(&o).starts_with("gpse: --keys-file ") && stderr(&o).lines().count() == 1, "{}", stderr(&o));
    // The PIN: no PIN given is a clear error; the file is read (a wrong PIN from it costs a try).
    let o = gpse().args(["jpki", "--state"]).arg(&dir).args(["verify", "--pair", "auth"]).output().unwrap();
    assert_eq!(stderr(&o).trim(), "gpse: give the PIN with --pin, --pin-file FILE or GPSE_PIN");
    let pf = d.path().join("pin");
    fs::write(&pf, "9999\n").unwrap();
    let o = gpse()
        .args(["jpki", "--state"])
        .arg(&dir)
        .args(["verify", "--pair", "auth", "--pin-file"])
        .arg(&pf)
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(!o.status.success() && !e.contains("give the PIN"), "{e}");
    // --help names the file options and the variables.
    for (args, words) in [
        (&["gp", "--help"][..], &["--keys-file", "GPSE_KEYS"][..]),
        (&["gp", "put-key", "--help"], &["--new-keys-file", "GPSE_NEW_KEYS"]),
        (&["jpki", "verify", "--help"], &["--pin-file", "GPSE_PIN"]),
        (&["tsm", "sign", "--help"], &["--pin-file", "GPSE_PIN"]),
        (&["tsm", "--help"], &["--keys-file", "GPSE_KEYS"]),
        (&["card", "init", "--help"], &["--keys-file", "GPSE_KEYS"]),
        (&["run", "--help"], &["--keys-file", "GPSE_KEYS"]),
    ] {
        let out = stdout(&gpse().args(args).output().unwrap());
        for w in words {
            assert!(out.contains(w), "{args:?} --help lacks {w}:\n{out}");
        }
    }
}

// ---- §8 PINs and keys masked in logs, named in recordings -------------------------------------

const PIN_HEX: &str = "31323334";
const KEYS: &str = "404142434445464748494A4B4C4D4E4F";

#[test]
fn run_output_recording_and_trace_mask_pins_and_keys_and_replay_takes_them_by_name() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("s.gpse");
    fs::write(
        &script,
        format!(
            "00A4040008A000000151000000 => * 9000\n0020008004{PIN_HEX} => *\n002401800831323334{PIN_HEX} => *\n\
             scp03 open {KEYS} 01 0102030405060708\n80D8010102AABB => *\nscp03 close\n"
        ),
    )
    .unwrap();
    let rec = d.path().join("rec.gpse");
    let o = gpse().args(["run", "--fresh", "--seed", "5", "--record"]).arg(&rec).arg(&script).output().unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("> 0020008004********\n"), "{out}");
    assert!(out.contains("> 0024018008****************\n"), "{out}");
    assert!(out.contains("> 80D8010102****\n"), "{out}");
    let text = fs::read_to_string(&rec).unwrap();
    for secret in [PIN_HEX, KEYS, "AABB"] {
        assert!(!text.contains(secret), "{secret} in the recording:\n{text}");
    }
    assert!(text.contains("\n0020008004 $pin1 => "), "{text}");
    // The same PIN value is the same variable; a new value a new one.
    assert!(text.contains("\n0024018008 $pin2 => "), "{text}");
    assert!(
        text.contains(
            "# $pin1: a PIN (4 bytes), not recorded; give it at replay: gpse run --var pin1=HEX (or GPSE_VAR_pin1)"
        ),
        "{text}"
    );
    assert!(text.contains("\nscp03 open $keys 00 01 0102030405060708\n"), "{text}");
    assert!(text.contains("# $keys: the SCP03 static keys ENC‖MAC‖DEK (48 bytes), not recorded; give it at replay: gpse run --keys ENC:MAC:DEK (or --keys-file FILE, or GPSE_KEYS)"), "{text}");
    assert!(text.contains("\n80D8010102 $key1 => "), "{text}");
    // trace masks the original script too, and decodes nothing secret.
    let t = stdout(&gpse().arg("trace").arg(&script).output().unwrap());
    assert!(t.contains("> 0020008004********  "), "{t}");
    assert!(!t.contains(PIN_HEX), "{t}");
    // Replay: with the values by name (command line and environment) every byte matches.
    let o = gpse()
        .args(["run", "--fresh", "--seed", "5", "--keys", KEYS, "--var", &format!("pin1={PIN_HEX}")])
        .env("GPSE_VAR_pin2", format!("31323334{PIN_HEX}"))
        .env("GPSE_VAR_key1", "AABB")
        .arg(&rec)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("expectations met, 0 not met"), "{}", stdout(&o));
    // Without the keys: one clear line naming what is missing.
    let o = gpse()
        .args(["run", "--fresh", "--seed", "5", "--var", &format!("pin1={PIN_HEX}"), "--var", "pin2=3132333431323334"])
        .arg(&rec)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("scp03 open: $keys is not set (give the keys with --keys, --keys-file or GPSE_KEYS)"),
        "{}",
        stderr(&o)
    );
}

fn vpcd_frame(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn vpcd_read(s: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    let mut b = vec![0u8; u16::from_be_bytes(h) as usize];
    s.read_exact(&mut b).unwrap();
    b
}

#[test]
fn serve_log_and_recording_mask_the_pin_and_the_recording_replays() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    // We play vpcd: serve connects to our listener.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let rec = d.path().join("live.gpse");
    let state = d.path().join("cards");
    let (child, rx) = start_serve(
        &["--state", state.to_str().unwrap(), "--port", &port, "--seed", "9", "-vv", "--record", rec.to_str().unwrap()],
        &[],
        d.path(),
    );
    let (mut s, _) = l.accept().unwrap();
    s.write_all(&vpcd_frame(&[0x01])).unwrap();
    let verify = hex::decode(format!("0020008004{PIN_HEX}")).unwrap();
    for apdu in [hex::decode("00A4040008A000000151000000").unwrap(), verify] {
        s.write_all(&vpcd_frame(&apdu)).unwrap();
        vpcd_read(&mut s);
    }
    drop(s);
    let mut log = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !log.iter().any(|l: &String| l.contains("disconnected")) && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            log.push(l);
        }
    }
    stop_serve(child);
    let log = log.join("\n");
    assert!(log.contains("> 0020008004********"), "{log}");
    assert!(!log.contains(PIN_HEX), "{log}");
    let text = fs::read_to_string(&rec).unwrap();
    assert!(!text.contains(PIN_HEX), "{text}");
    assert!(text.contains("\n0020008004 $pin1 => "), "{text}");
    let o = gpse().args(["run", "--fresh", "--seed", "9"]).env("GPSE_VAR_pin1", PIN_HEX).arg(&rec).output().unwrap();
    assert!(o.status.success(), "{}{}\n{text}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 exchanges, 2 expectations met, 0 not met"), "{}", stdout(&o));
}
