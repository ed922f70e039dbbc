//! Every lifecycle scenario in vectors/scenarios runs, with its expectations checked after each
//! step (the same runner as `gpse scenario run`).

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
