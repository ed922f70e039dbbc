//! Standard output that survives a closed pipe.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`gpse gp list | head -1`):
//! "failed printing to stdout: Broken pipe", exit 101. Rust ignores SIGPIPE, so the write fails
//! with `EPIPE` instead of killing the process. Two fixes were possible: restore SIGPIPE's
//! default action at start-up (needs `unsafe` libc calls, which the crate forbids, and kills the
//! process between two writes: a `tsm setup | head -1` would personalise the card and die before
//! saving the test CA), or handle the error where we write. We do the latter: the first
//! `BrokenPipe` marks stdout closed, every later write is dropped, and the command finishes its
//! work and exits with its own code. Any other write error (a full disk behind `>`) is reported
//! once on stderr.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout unless it was found closed.
pub fn write(args: fmt::Arguments<'_>) {
    put(|o| o.write_fmt(args));
}

fn put(f: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = f(&mut o).and_then(|()| o.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = writeln!(std::io::stderr(), "gpse: standard output: {e}");
        }
    }
}

/// An `io::Write` over [`write`], for library code that writes its report to a writer.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        put(|o| o.write_all(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
