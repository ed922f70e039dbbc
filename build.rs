//! Finds the third-party Java Card files that some tests need, so that those tests are reported
//! as ignored when they are missing instead of passing without having run.
//!
//! `../shared` is `$GPSE_SHARED` when set (and then only that), else `../shared` next to the
//! repository, else `/work/shared` (worktrees live one level deeper). When its `javacard/caps`
//! is there, the package is built with `cfg(gpse_shared)` and `GPSE_SHARED_DIR` names it; when
//! its `javacard/build-cap` is there too and `javac` is on `PATH`, also with `cfg(gpse_kit)`.
//! The cfgs are decided at build time: the script reruns when `GPSE_SHARED` changes or the
//! directory found changes, not when a directory appears later or `PATH` changes.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(gpse_shared)");
    println!("cargo::rustc-check-cfg=cfg(gpse_kit)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=GPSE_SHARED");

    let candidates: Vec<PathBuf> = match std::env::var_os("GPSE_SHARED") {
        Some(s) => vec![PathBuf::from(s)],
        None => {
            let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            vec![manifest.join("../shared"), PathBuf::from("/work/shared")]
        }
    };
    // A missing path given to rerun-if-changed would rerun the script (and rebuild the
    // package) on every build: only the directory found is watched.
    let Some(shared) = candidates.into_iter().find(|p| p.join("javacard/caps").is_dir()) else {
        return;
    };
    let javacard = shared.join("javacard");
    println!("cargo::rerun-if-changed={}", javacard.display());
    println!("cargo::rustc-cfg=gpse_shared");
    println!("cargo::rustc-env=GPSE_SHARED_DIR={}", shared.display());
    if javacard.join("build-cap").is_file() && on_path("javac") {
        println!("cargo::rustc-cfg=gpse_kit");
    }
}

fn on_path(exe: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()))
}
