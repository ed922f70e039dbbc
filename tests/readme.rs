//! The README as a newcomer uses it: every command line of its `sh` code blocks runs, in order,
//! as written, in a temporary directory laid out like a clone (the repository's `tests/`,
//! `vectors/` and `profiles/`, and `target/release/gpse` being the binary `cargo test` built),
//! starting from no card at all. Lines marked `[pcscd]` (they need pcscd, vpcd and a running
//! `gpse serve`; the end-to-end tests drive those paths) and `[slow]` (builds and benchmarks)
//! are skipped, and each skip is printed with its marker. The `[pcscd]` lines (an `#[ignore]`d
//! test that scripts/test runs) go through pcscd and vpcd, each `gpse serve` in the background as the README's "another
//! terminal" suggests.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod common;

use std::fmt::Write as _;
use std::path::Path;

/// One command line of the README: its line number (of the first physical line), the command
/// with continuation lines joined, and the marker that skips it.
#[derive(Debug)]
struct CommandLine {
    line: usize,
    text: String,
    skip: Option<&'static str>,
}

/// The command lines of the README's ```sh blocks: not blank, not comments (`# …`, which also
/// show expected output), `\`-continued lines joined.
fn command_lines(readme: &str) -> Vec<CommandLine> {
    let mut out = Vec::new();
    let (mut in_block, mut is_sh) = (false, false);
    let mut pending = String::new();
    let mut first = 0;
    for (i, l) in readme.lines().enumerate() {
        let t = l.trim_end();
        if t.trim_start().starts_with("```") {
            if in_block {
                assert!(pending.is_empty(), "README.md:{first}: a continued line ends its block");
                in_block = false;
            } else {
                in_block = true;
                is_sh = t.trim() == "```sh";
            }
            continue;
        }
        if !in_block || !is_sh {
            continue;
        }
        if pending.is_empty() {
            let s = t.trim();
            if s.is_empty() || s.starts_with('#') {
                continue;
            }
            first = i + 1;
        }
        if let Some(p) = t.strip_suffix('\\') {
            pending.push_str(p);
            continue;
        }
        pending.push_str(t);
        let text = std::mem::take(&mut pending);
        // A marker counts in the line's comment only.
        let comment = text.find(" # ").map(|c| &text[c..]).unwrap_or("");
        let skip = if comment.contains("[slow]") {
            Some("[slow]")
        } else if comment.contains("[pcscd]") {
            Some("[pcscd]")
        } else {
            None
        };
        out.push(CommandLine { line: first, text, skip });
    }
    out
}

/// A temporary directory laid out like a clone after `cargo build --release`, with a home of its
/// own (the default card images go to `home/.local/share/gpse`).
#[cfg(unix)]
fn clone_dir() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for d in ["tests", "vectors", "profiles", "applet-spec", "scripts"] {
        std::os::unix::fs::symlink(root.join(d), dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(dir.join("target/release")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gpse"), dir.join("target/release/gpse")).unwrap();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    tmp
}

/// `bash -c` in `dir` with the README's `G` and a clean environment.
fn shell(dir: &Path, script: &str) -> std::process::Command {
    let mut c = std::process::Command::new("bash");
    c.arg("-c")
        .arg(format!("G=target/release/gpse\n{script}"))
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_DATA_HOME")
        .env_remove("GPSE_STATE")
        .env_remove("GPSE_READER")
        .env_remove("GPSE_PIN");
    c
}

#[cfg(unix)]
#[test]
fn every_readme_command_runs_in_order_on_a_fresh_card() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = command_lines(&readme);
    let tmp = clone_dir();
    let dir = tmp.path();

    // One shell runs them all, so `G=…` holds for the lines after it; it stops at the first
    // failure and names the README line.
    let mut script = String::from("set -u\n");
    let mut ran = 0;
    for l in &lines {
        if let Some(m) = l.skip {
            println!("SKIPPED {m}: README.md:{}: {}", l.line, l.text);
            continue;
        }
        ran += 1;
        writeln!(
            script,
            "echo '### README.md:{n}'\n{cmd}\nrc=$?\nif [ $rc -ne 0 ]; then echo \"README.md:{n}: exit $rc\" >&2; exit 1; fi",
            n = l.line,
            cmd = l.text
        )
        .unwrap();
    }
    let o = shell(dir, &script).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let tail: Vec<&str> = out.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(o.status.success(), "{err}\nlast output:\n{}", tail.join("\n"));
    println!("README: {ran} command lines ran, {} skipped", lines.len() - ran);
    // Every section with commands is covered: the gpse lines that run are most of them.
    assert!(ran >= 40, "only {ran} README command lines ran");
    // What the README shows is what the commands did.
    assert!(out.contains("temporary PIN 0000"), "{out}");
    assert!(dir.join("ca/ca.key").exists() && dir.join("sign.pem").exists() && dir.join("doc.sig").exists());
}

#[test]
fn only_marked_lines_are_skipped_and_markers_are_known() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let lines = command_lines(&readme);
    for l in &lines {
        // Placeholders a shell would run (`<KEYS>` redirects, `a | b` pipes that are choices).
        assert!(!l.text.contains(" <") || l.skip.is_some(), "README.md:{}: placeholder: {}", l.line, l.text);
        assert!(!l.text.contains(" | reset-pin"), "README.md:{}: {}", l.line, l.text);
    }
    let serve: Vec<&CommandLine> = lines.iter().filter(|l| l.text.starts_with("$G serve")).collect();
    assert!(!serve.is_empty());
    for l in serve {
        assert_eq!(l.skip, Some("[pcscd]"), "README.md:{}: {}", l.line, l.text);
        assert!(l.text.contains("foreground"), "README.md:{}: say it runs in the foreground", l.line);
    }
}

/// A `gpse serve` line of the README running in the background, killed on drop.
struct Background(std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
#[ignore = "needs pcscd + vpcd: scripts/test runs it with --ignored (GPSE_E2E=0 skips)"]
fn readme_pcscd_lines_run_through_pcscd() {
    use common::e2e::{say, Pcscd, R0, SELECT_ISD};
    use gpse::transport::Transport;
    let _pcscd = Pcscd::get();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let tmp = clone_dir();
    let dir = tmp.path();
    let mut serve: Option<Background> = None;
    for l in command_lines(&readme).iter().filter(|l| l.skip == Some("[pcscd]")) {
        let t = l.text.as_str();
        // The harness does these: pcscd is up (started by Pcscd::get or already there, and
        // stopped by it); scripts/run would make a release build of its own.
        if t.starts_with("scripts/install-deps") || t.starts_with("scripts/pcscd-stop") || t.starts_with("scripts/run")
        {
            say(&format!("readme: README.md:{}: done by the test harness: {t}", l.line));
            continue;
        }
        if t.starts_with("$G serve") {
            drop(serve.take());
            let log = std::fs::File::create(dir.join(format!("serve-{}.log", l.line))).unwrap();
            let child = shell(dir, &format!("exec {t}"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            serve = Some(Background(child));
            // The card shows up in the reader within a few seconds.
            let start = std::time::Instant::now();
            loop {
                let up = gpse::transport::pcsc::PcscTransport::connect(R0)
                    .and_then(|mut c| c.transmit(&hex::decode(SELECT_ISD).unwrap()))
                    .is_ok();
                if up {
                    break;
                }
                let log = std::fs::read_to_string(dir.join(format!("serve-{}.log", l.line))).unwrap_or_default();
                assert!(start.elapsed().as_secs() < 15, "README.md:{}: no card after 15 s: {log}", l.line);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            say(&format!("readme: README.md:{}: running in the background: {t}", l.line));
            continue;
        }
        assert!(serve.is_some(), "README.md:{}: a [pcscd] client line before any `gpse serve`", l.line);
        let o = shell(dir, t).output().unwrap();
        assert!(
            o.status.success(),
            "README.md:{}: {t}\n{}{}",
            l.line,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        say(&format!("readme: README.md:{}: ok: {t}", l.line));
    }
}
