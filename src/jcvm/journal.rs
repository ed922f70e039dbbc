//! Atomicity of persistent writes (JCRE §7): the transaction's commit buffer and the meter that
//! lets tests cut the power between two persistent writes.
//!
//! On a card every update of a persistent field or array element is atomic by itself (JCRE
//! §7.4): a power loss in the middle of an APDU leaves the earlier writes done and the later
//! ones not. Inside `JCSystem.beginTransaction` … `commitTransaction` the writes are all or
//! nothing (JCRE §7.5): the VM keeps the old value of each location written in the
//! transaction (the *commit buffer*), and an abort, an uncaught exception out of `process`, or a
//! power loss puts them back (JCRE §7.6). Transient arrays are never part of it.
//!
//! The meter counts *atomic write units*: each persistent write outside a transaction, each
//! write inside one (a cut there rolls the whole transaction back) and the commit itself.
//! With a cut armed (the card hands the store's [`crate::store::Tearing`] budget to the VM),
//! the unit past the budget does not happen: the VM stops with a power loss and the card keeps
//! exactly what the completed units wrote.

use crate::jcvm::heap::Handle;
use std::collections::HashSet;

/// Bytes a commit-buffer entry costs beside the data it saves (location and length), as on a
/// card's journal; `getUnusedCommitCapacity` counts it.
pub const ENTRY_OVERHEAD: usize = 4;

/// The old value of one location written in a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// An instance field cell.
    Cell { h: Handle, cell: u32, old: i16 },
    /// A byte or boolean array element.
    Byte { h: Handle, i: u32, old: u8 },
    /// A short array element.
    Short { h: Handle, i: u32, old: i16 },
    /// An int array element.
    Int { h: Handle, i: u32, old: i32 },
    /// A reference array element.
    Ref { h: Handle, i: u32, old: Handle },
    /// A range of a byte array (`Util.arrayCopy`, `arrayFill`, `setShort` in a transaction).
    Bytes { h: Handle, off: u32, old: Vec<u8> },
    /// A range of a package's static field image.
    Static { pkg: u16, off: u16, old: Vec<u8> },
}

/// Why a write did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The armed cut was reached: the card lost power before this write.
    PowerLoss,
    /// The commit buffer cannot hold this write (`TransactionException.BUFFER_FULL`).
    CommitFull,
}

/// An open transaction.
#[derive(Clone, Debug, Default)]
pub struct TxLog {
    /// Old values, in write order (undone in reverse).
    pub undo: Vec<Undo>,
    /// Locations already saved (a second write to one costs no capacity).
    seen: HashSet<(Handle, u32)>,
    /// Commit capacity used, in bytes.
    pub used: usize,
    /// Objects created during the transaction (JCRE §7.6.3: unreachable after an abort).
    pub created: Vec<Handle>,
}

/// The journal of one VM: the open transaction and the power meter. Not persistent.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    /// The open transaction (`JCSystem.getTransactionDepth() == 1`).
    pub tx: Option<TxLog>,
    /// The commit buffer size in bytes (`getMaxCommitCapacity`).
    pub capacity: usize,
    cut: Option<u64>,
    units: u64,
    lost: bool,
}

impl Journal {
    /// Arms (or, with `None`, disarms) a cut after `budget` more atomic write units, and
    /// starts counting from zero.
    pub fn arm(&mut self, budget: Option<u64>) {
        self.cut = budget;
        self.units = 0;
        self.lost = false;
    }

    /// Units written since [`Journal::arm`], and whether the power was lost.
    pub fn used(&self) -> (u64, bool) {
        (self.units, self.lost)
    }

    /// Whether the power was lost: nothing more may be written until the card restarts.
    pub fn lost(&self) -> bool {
        self.lost
    }

    /// Counts one atomic write unit; `Err` when the cut is reached (the write must not happen).
    #[inline]
    pub fn unit(&mut self) -> Result<(), Stop> {
        if self.lost {
            return Err(Stop::PowerLoss);
        }
        if let Some(c) = self.cut {
            if self.units >= c {
                self.lost = true;
                return Err(Stop::PowerLoss);
            }
        }
        self.units += 1;
        Ok(())
    }

    /// Before a persistent write of `bytes` bytes at `key`: one atomic unit, and inside a
    /// transaction the old value (made by `undo`) goes to the commit buffer, once per location.
    #[inline]
    pub fn write(&mut self, key: (Handle, u32), bytes: usize, undo: impl FnOnce() -> Undo) -> Result<(), Stop> {
        if let Some(tx) = &self.tx {
            if !tx.seen.contains(&key) && tx.used + bytes + ENTRY_OVERHEAD > self.capacity {
                return Err(Stop::CommitFull);
            }
        }
        self.unit()?;
        if let Some(tx) = &mut self.tx {
            if tx.seen.insert(key) {
                tx.used += bytes + ENTRY_OVERHEAD;
                tx.undo.push(undo());
            }
        }
        Ok(())
    }

    /// Before a write of a range (byte array or static image): like [`Journal::write`], with
    /// the range saved whole (ranges are not merged; their cost is their length).
    pub fn write_range(&mut self, bytes: usize, undo: impl FnOnce() -> Undo) -> Result<(), Stop> {
        if let Some(tx) = &self.tx {
            if tx.used + bytes + ENTRY_OVERHEAD > self.capacity {
                return Err(Stop::CommitFull);
            }
        }
        self.unit()?;
        if let Some(tx) = &mut self.tx {
            tx.used += bytes + ENTRY_OVERHEAD;
            tx.undo.push(undo());
        }
        Ok(())
    }

    /// Records an object created while a transaction is open.
    pub fn created(&mut self, h: Handle) {
        if let Some(tx) = &mut self.tx {
            tx.created.push(h);
        }
    }

    /// `getUnusedCommitCapacity`.
    pub fn unused(&self) -> usize {
        self.capacity.saturating_sub(self.tx.as_ref().map_or(0, |t| t.used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_stops_the_unit_past_the_budget() {
        let mut j = Journal { capacity: 64, ..Journal::default() };
        j.arm(Some(2));
        assert!(j.unit().is_ok());
        assert!(j.unit().is_ok());
        assert_eq!(j.unit(), Err(Stop::PowerLoss));
        assert_eq!(j.unit(), Err(Stop::PowerLoss), "nothing after a power loss");
        assert_eq!(j.used(), (2, true));
    }

    #[test]
    fn commit_buffer_counts_each_location_once() {
        let mut j = Journal { capacity: 2 * (2 + ENTRY_OVERHEAD), ..Journal::default() };
        j.arm(None);
        j.tx = Some(TxLog::default());
        let u = || Undo::Cell { h: 1, cell: 0, old: 0 };
        assert!(j.write((1, 0), 2, u).is_ok());
        assert!(j.write((1, 0), 2, u).is_ok(), "same location: no new entry");
        assert!(j.write((1, 1), 2, u).is_ok());
        assert_eq!(j.unused(), 0);
        assert_eq!(j.write((2, 0), 2, u), Err(Stop::CommitFull));
        assert_eq!(j.tx.as_ref().map(|t| t.undo.len()), Some(2));
        assert_eq!(j.used().0, 3, "a refused write is no unit");
    }
}
