//! Power-loss injection: counts the write steps of commits and cuts power at a chosen one.

/// Cuts power before the write step with index `cut_at` (0-based), and every step after it.
#[derive(Clone, Debug, Default)]
pub struct Tearing {
    cut_at: Option<u64>,
    steps: u64,
}

impl Tearing {
    /// Counts steps and lets the first `n` through; step `n` fails.
    pub fn cut_after(n: u64) -> Self {
        Tearing { cut_at: Some(n), steps: 0 }
    }

    /// Only counts.
    pub fn count_only() -> Self {
        Tearing { cut_at: None, steps: 0 }
    }

    /// How many steps were allowed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Records one step; false when the power is cut.
    pub(super) fn step(&mut self) -> bool {
        if self.cut_at.is_some_and(|c| self.steps >= c) {
            return false;
        }
        self.steps += 1;
        true
    }
}
