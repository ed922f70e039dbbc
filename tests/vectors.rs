//! The conformance vector sets in `vectors/`, run in-process as `gpse vectors run` runs them, and
//! the JUnit XML checked for the structure CI tools read.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::vectors::{self, junit, VectorOutcome};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::Path;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

#[test]
fn every_vector_set_passes_in_process() {
    let found = vectors::discover(&root()).unwrap();
    assert!(found.len() >= 5, "{} vectors", found.len());
    let results = vectors::run_in_process(&found);
    let table = vectors::table(&results);
    for r in &results {
        assert!(matches!(r.outcome, VectorOutcome::Passed { .. }), "{table}\n{}", r.log);
    }
}

/// The elements and attributes of the JUnit schema that Jenkins, GitLab and the GitHub test
/// reporters read (Ant's `junit` task format): `testsuites/testsuite/testcase` with `name`,
/// `tests`, `failures`, `errors`, `classname`, `time`, and `failure`/`error` with `message`.
fn check_junit(xml: &str) -> (usize, usize) {
    let mut r = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let (mut cases, mut failures) = (0, 0);
    loop {
        let (e, empty) = match r.read_event().unwrap() {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let attrs: Vec<String> =
            e.attributes().map(|a| String::from_utf8(a.unwrap().key.as_ref().to_vec()).unwrap()).collect();
        let need: &[&str] = match name.as_str() {
            "testsuites" => &["tests", "failures", "errors"],
            "testsuite" => &["name", "tests", "failures", "errors"],
            "testcase" => &["name", "classname", "time"],
            "failure" | "error" => &["message", "type"],
            _ => &[],
        };
        for a in need {
            assert!(attrs.iter().any(|x| x == a), "<{name}> without {a}: {xml}");
        }
        let parent = stack.last().map(String::as_str);
        match name.as_str() {
            "testsuites" => assert_eq!(parent, None),
            "testsuite" => assert_eq!(parent, Some("testsuites")),
            "testcase" => {
                assert_eq!(parent, Some("testsuite"));
                cases += 1
            }
            "failure" | "error" => {
                assert_eq!(parent, Some("testcase"));
                failures += 1
            }
            "system-out" | "system-err" | "description" => assert_eq!(parent, Some("testcase"), "<{name}>"),
            other => panic!("unexpected element <{other}>"),
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(stack.is_empty());
    (cases, failures)
}

#[test]
fn junit_has_one_case_per_vector_and_reports_failures() {
    let found = vectors::discover(&root()).unwrap();
    let mut results = vectors::run_in_process(&found);
    // Turn one into a failure, as a changed card would.
    results[0].outcome = VectorOutcome::Failed { message: "x.gpse:3: response mismatch (byte 0)\n  details".into() };
    let xml = junit::report(&results).unwrap();
    let (cases, failures) = check_junit(&xml);
    assert_eq!((cases, failures), (found.len(), 1));
    assert!(xml.contains(r#"message="x.gpse:3: response mismatch (byte 0)""#), "{xml}");
}

/// Issue #18 #6: on a reader whose card is not of a set's profile (here the default card, whose
/// ISD is `A000000151000000`), the pySim sets (eUICC ISD-R and their own keys) are skipped, saying
/// why; on a card of that profile the probe passes and the set runs.
#[test]
fn sets_with_their_own_profile_are_skipped_on_another_card() {
    let found = vectors::discover(&root()).unwrap();
    let img = gpse::platform::profile::Profile::default_profile()
        .build(&Default::default(), &mut gpse::crypto::CardRng::new(Some(1)))
        .unwrap();
    let mut card = gpse::card::Card::in_memory(img, Some(1)).unwrap();
    let results = vectors::run_on(&found, &mut card);
    let table = vectors::table(&results);
    let mut skipped = 0;
    for r in &results {
        if r.vector.set.starts_with("scp03-pysim") {
            assert_eq!(
                r.outcome,
                VectorOutcome::Skipped {
                    reason: "card is not of the set's profile: SELECT of its ISD A0000005591010FFFFFFFF8900000100 \
                             answered 6A82"
                        .into()
                },
                "{table}"
            );
            skipped += 1;
        }
    }
    assert!(skipped >= 3, "{table}");
    assert!(table.contains(&format!("{skipped} skipped (card not of their set's profile)")), "{table}");
    // A card made from the pySim AES-128 profile matches it: the probe passes.
    let v = found.iter().find(|v| v.set == "scp03-pysim-aes128").unwrap();
    let mut own = vectors::fresh_card(v).unwrap();
    assert_eq!(vectors::profile_mismatch(v, &mut own), Ok(None));
    // The same card with a used key set (counter 1) is not the profile's fresh card.
    let mut used = vectors::fresh_card(v).unwrap();
    let r = vectors::run_on(std::slice::from_ref(v), &mut used);
    assert!(matches!(r[0].outcome, VectorOutcome::Passed { .. }), "{}", r[0].log);
    let why = vectors::profile_mismatch(v, &mut used).unwrap().unwrap();
    assert!(why.starts_with("card is not of the set's profile: sequence counter (C1) is C103"), "{why}");
}
