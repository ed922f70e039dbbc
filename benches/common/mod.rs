//! What the bench binaries share: the one-line summary of a set of timings.

use std::time::Duration;

/// Prints `name: n=… median … p10 … p90 … min … max …`.
// Percentile indexes of small sample counts.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let pct = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name}: n={} median {:.3?} p10 {:.3?} p90 {:.3?} min {:.3?} max {:.3?}",
        v.len(),
        pct(0.5),
        pct(0.1),
        pct(0.9),
        v[0],
        v[v.len() - 1]
    );
}
