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
        };
        let mut tc = TestCase::new(r.vector.name.clone(), status);
        tc.set_classname(format!("gpse.vectors.{}", r.vector.set));
        tc.set_time(r.time);
        tc.set_system_out(r.log.clone());
        suite.add_test_case(tc);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().map_err(|e| e.to_string())
}
