//! JUnit XML for CI systems (quick-junit writes the Ant/Jenkins JUnit schema that GitLab, GitHub
//! Actions reporters and Jenkins read): one test suite per vector set, one test case per vector.

use super::{VectorOutcome, VectorResult};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;

/// The report as XML text.
pub fn report(results: &[VectorResult]) -> Result<String, String> {
    let mut report = Report::new("gpse vectors");
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for r in results {
        let suite = suites.entry(&r.vector.set).or_insert_with(|| TestSuite::new(r.vector.set.clone()));
        let status = match &r.outcome {
            VectorOutcome::Passed { .. } => TestCaseStatus::success(),
            VectorOutcome::Failed { message } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(message.lines().next().unwrap_or("").to_string());
                s.set_description(message.clone());
                // `type` is required by the Ant JUnit schema (windyroad JUnit.xsd).
                s.set_type("ResponseMismatch");
                s
            }
            VectorOutcome::Error { message } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(message.clone());
                s.set_type("VectorError");
                s
            }
            VectorOutcome::Skipped { reason } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason.clone());
                s
            }
        };
        let mut tc = TestCase::new(r.vector.name.clone(), status);
        tc.set_classname(format!("gpse.vectors.{}", r.vector.set));
        tc.set_time(r.time);
        tc.set_system_out(r.log.clone());
        suite.add_test_case(tc);
    }
    for suite in suites.values_mut() {
        suite.set_time(results.iter().filter(|r| r.vector.set == suite.name.as_str()).map(|r| r.time).sum());
    }
    report.set_time(results.iter().map(|r| r.time).sum());
    let sets: Vec<String> = suites.keys().map(|k| k.to_string()).collect();
    report.add_test_suites(suites.into_values());
    let mut xml = report.to_string().map_err(|e| e.to_string())?;
    // quick-junit writes times in whole milliseconds, and an in-process vector takes less: every
    // case would read 0.000. The schema's `time` is an xs:decimal, so write microseconds.
    let micros = |d: std::time::Duration| format!("{:.6}", d.as_secs_f64());
    for r in results {
        let tag = format!("<testcase name=\"{}\" classname=\"gpse.vectors.{}\"", r.vector.name, r.vector.set);
        set_time(&mut xml, &tag, &micros(r.time));
    }
    for set in &sets {
        let t = results.iter().filter(|r| &r.vector.set == set).map(|r| r.time).sum();
        set_time(&mut xml, &format!("<testsuite name=\"{set}\""), &micros(t));
    }
    set_time(&mut xml, "<testsuites ", &micros(results.iter().map(|r| r.time).sum()));
    Ok(xml)
}

/// Replaces the `time` attribute of the first element that starts with `start` (a name needing
/// XML escapes is not found, and keeps quick-junit's value).
fn set_time(xml: &mut String, start: &str, value: &str) {
    let Some(at) = xml.find(start) else { return };
    let end = xml[at..].find('>').map_or(xml.len(), |e| at + e);
    let Some(t) = xml[at..end].find(" time=\"").map(|t| at + t + 7) else { return };
    let Some(q) = xml[t..end].find('"').map(|q| t + q) else { return };
    xml.replace_range(t..q, value);
}
