//! Writes the CAP file test fixture `vectors/gp-cap/testapp.cap`: a package with the test
//! applet's package and applet class AIDs (so the card binds it to the native test applet),
//! built by `gpse::gp::cap` from the JCVM 3.0 component formats.
//!
//! Run from the repository root: `cargo run --example make_test_cap`
//! (`tests/gp_cli.rs` checks that the file in `vectors/` is exactly what this writes).

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

fn main() {
    let spec = gpse::gp::cap::AppletCapSpec {
        package_name: "gpse/testapp".into(),
        package_aid: "F04750534554455354".parse().expect("AID"),
        version: [1, 1],
        applet_aid: "F0475053455445535401".parse().expect("AID"),
    };
    let out = std::path::Path::new("vectors/gp-cap/testapp.cap");
    std::fs::write(out, gpse::gp::cap::build_applet_cap(&spec)).expect("write the CAP file");
    println!("wrote {}", out.display());
}
