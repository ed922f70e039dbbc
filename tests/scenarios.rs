//! Every lifecycle scenario in vectors/scenarios runs, with its expectations checked after each
//! step (the same runner as `gpse scenario run`).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::host::scenario;
use std::path::Path;

#[test]
fn every_scenario_runs_to_its_expected_end_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{} scenarios", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let sc = scenario::load(f).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut log = Vec::new();
        match scenario::run(&sc, tmp.path(), 7, &mut |l| log.push(l.to_string())) {
            Ok(n) => assert_eq!(n, sc.steps.len()),
            Err(e) => failures.push(format!("{}: {e}\n  {}", f.display(), log.join("\n  "))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_expectation_fails_at_its_step() {
    let sc: scenario::Scenario = toml::from_str(
        r#"
name = "wrong on purpose"
phones = ["p"]
[[step]]
op = "sp-setup"
phone = "p"
pairs = "auth"
[step.expect]
auth = "active"
"#,
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let e = scenario::run(&sc, tmp.path(), 1, &mut |_| {}).unwrap_err();
    assert_eq!(e.step, 1);
    assert!(e.to_string().contains("state is 'temporary PIN', expected 'active'"), "{e}");
}

/// A power cut at every write of the SEI-TSM's preparation and of the SP-TSM's set-up: running
/// the flow again always ends in a usable phone, and no step in between leaves a pair that signs
/// before the user set a PIN.
#[test]
fn power_cut_at_every_write_of_prepare_and_setup() {
    let step = |op: &str, extra: &str| format!("[[step]]\nop = \"{op}\"\nphone = \"p\"\n{extra}");
    for (flow, max) in [("sei-prepare", 60u64), ("sp-setup", 40)] {
        // The set-up needs a prepared phone before the cut.
        let before = if flow == "sp-setup" { step("sei-prepare", "") } else { String::new() };
        let cut_step = if flow == "sp-setup" { 3 } else { 2 };
        for n in 0.. {
            assert!(n < max, "{flow}: still cut after {max} writes");
            let text = [
                "name = \"cut\"\nphones = [\"p\"]\n".to_string(),
                before.clone(),
                step("power-cut", &format!("after_writes = {n}\n")),
                step(flow, "may_fail = true\n"),
                step("app-sign", "pair = \"auth\"\npin = \"1234\"\nfails = true\n"),
                step("sei-prepare", ""),
                step("sp-setup", ""),
                step("app-activate", "pair = \"auth\"\npin = \"1234\"\n"),
                step("app-sign", "pair = \"auth\"\npin = \"1234\"\n[step.expect]\nauth = \"active\"\napplet = true\n"),
            ]
            .concat();
            let sc: scenario::Scenario = toml::from_str(&text).unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let mut log = Vec::new();
            scenario::run(&sc, tmp.path(), 3, &mut |l| log.push(l.to_string()))
                .unwrap_or_else(|e| panic!("{flow}, cut at write {n}: {e}\n{}", log.join("\n")));
            // Done once the cut no longer lands inside the flow.
            if log.iter().any(|l| l.starts_with(&format!("step {cut_step}: ")) && l.ends_with(": ok")) {
                assert!(n > 5, "{flow}: only {n} writes");
                break;
            }
        }
    }
}
