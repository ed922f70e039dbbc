//! Structural verifier.
