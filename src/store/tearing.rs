//! Power-loss and write-failure injection: counts the write steps of commits and cuts power
//! (or fails the write, as a full disk does) at a chosen one.

/// Cuts power before the write step with index `cut_at` (0-based), and every step after it; or,
/// with `fail`, makes that one step fail with an I/O error and lets later ones through.
#[derive(Clone, Debug, Default)]
pub struct Tearing {
    cut_at: Option<u64>,
    steps: u64,
    fail: bool,
}

/// What the injection does to one write step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Go,
    PowerCut,
    /// The write fails (ENOSPC); the card stays powered.
    Fail,
}

impl Tearing {
    /// Counts steps and lets the first `n` through; step `n` fails.
    pub fn cut_after(n: u64) -> Self {
        Tearing { cut_at: Some(n), steps: 0, fail: false }
    }

    /// Counts steps; step `n` fails with "no space left on device", once.
    pub fn fail_at(n: u64) -> Self {
        Tearing { cut_at: Some(n), steps: 0, fail: true }
    }

    /// Only counts.
    pub fn count_only() -> Self {
        Tearing { cut_at: None, steps: 0, fail: false }
    }

    /// How many steps were allowed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Steps left before the cut (`None` when only counting).
    /// A write failure (not a power cut) is the store's alone: `None` then too.
    pub fn remaining(&self) -> Option<u64> {
        if self.fail {
            return None;
        }
        self.cut_at.map(|c| c.saturating_sub(self.steps))
    }

    /// Counts `n` steps made elsewhere (the VM's atomic writes during a command, which the
    /// runtime hands the budget of [`Tearing::remaining`]); a write-failure injection counts
    /// the store's steps only.
    pub fn advance(&mut self, n: u64) {
        if !self.fail {
            self.steps += n;
        }
    }

    /// Records one step.
    pub(super) fn step(&mut self) -> Step {
        if self.cut_at.is_some_and(|c| self.steps >= c) {
            if self.fail {
                self.cut_at = None;
                return Step::Fail;
            }
            return Step::PowerCut;
        }
        self.steps += 1;
        Step::Go
    }
}
