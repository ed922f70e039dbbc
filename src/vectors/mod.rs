//! Conformance vectors: sets of native scripts under `vectors/<set>/`, each set with a README
//! naming its source and, optionally, the card profile its vectors need (`profile.toml`). Every
//! `*.gpse` file is one vector (one test case). The same runner serves `cargo test`, `gpse
//! vectors run` and real readers.

pub mod junit;

use crate::card::{Card, CardImage};
use crate::crypto::CardRng;
use crate::platform::profile::{Overrides, Profile};
use crate::script::runner::{self, Options, SessionOpener};
use crate::script::{parse_file, Format};
use crate::transport::Transport;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One vector file.
#[derive(Clone, Debug)]
pub struct Vector {
    pub set: String,
    pub name: String,
    pub path: PathBuf,
    /// The profile of a fresh in-process card for this vector (the set's `profile.toml`).
    pub profile: Option<PathBuf>,
    /// Card RNG seed (`# seed: N` in the file), for reproducible challenges.
    pub seed: u64,
}

/// A vector's result.
#[derive(Clone, Debug)]
pub struct VectorResult {
    pub vector: Vector,
    pub outcome: VectorOutcome,
    pub time: Duration,
    /// What the runner printed (exchanges, mismatch reports).
    pub log: String,
}

/// Pass, fail (a mismatch), error (could not run) or skipped (the card on the reader is not of
/// the set's profile, so its answers cannot be the vector's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VectorOutcome {
    Passed { checks: usize },
    Failed { message: String },
    Error { message: String },
    Skipped { reason: String },
}

/// Finds every vector under `root` (sets are its sub-directories, or `root` itself), sorted.
pub fn discover(root: &Path) -> Result<Vec<Vector>, String> {
    let mut sets: Vec<PathBuf> = vec![];
    if has_gpse(root) {
        sets.push(root.to_path_buf());
    }
    let rd = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
    for e in rd.flatten() {
        if e.path().is_dir() && has_gpse(&e.path()) {
            sets.push(e.path());
        }
    }
    sets.sort();
    let mut out = Vec::new();
    for dir in sets {
        if !dir.join("README.md").exists() {
            return Err(format!("{}: a vector set needs a README.md naming its source", dir.display()));
        }
        let set = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let profile = Some(dir.join("profile.toml")).filter(|p| p.exists());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "gpse"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let seed = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("# seed:").and_then(|s| s.trim().parse().ok()))
                .unwrap_or(1);
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            out.push(Vector { set: set.clone(), name, path, profile: profile.clone(), seed });
        }
    }
    Ok(out)
}

fn has_gpse(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().any(|e| e.path().extension().is_some_and(|x| x == "gpse")))
        .unwrap_or(false)
}

/// The card image a vector's set profile makes (the default profile without one).
fn profile_image(v: &Vector) -> Result<CardImage, String> {
    let profile = match &v.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Profile::parse(&text, &p.display().to_string()).map_err(|e| e.to_string())?
        }
        None => Profile::default_profile(),
    };
    profile.build(&Overrides::default(), &mut CardRng::new(Some(v.seed))).map_err(|e| e.to_string())
}

/// A new in-process card for a vector.
pub fn fresh_card(v: &Vector) -> Result<Card, String> {
    let img = profile_image(v)?;
    let mut c = Card::in_memory(img, Some(v.seed)).map_err(|e| e.to_string())?;
    c.power_on();
    Ok(c)
}

/// Runs one vector on `t` (which the caller has put in the vector's starting state).
pub fn run_one(v: &Vector, t: &mut dyn Transport, opener: Option<&mut SessionOpener>) -> VectorResult {
    let start = Instant::now();
    let mut log = Vec::new();
    let outcome = match parse_file(&v.path, Some(Format::Native)) {
        Err(e) => VectorOutcome::Error { message: e.to_string() },
        Ok(steps) => match runner::run(&steps, t, &Options::default(), opener, &mut log, None) {
            Err(e) => VectorOutcome::Error { message: e.to_string() },
            Ok(s) if s.failed > 0 => {
                VectorOutcome::Failed { message: s.failures.first().map(|f| f.report()).unwrap_or_default() }
            }
            Ok(s) => VectorOutcome::Passed { checks: s.passed },
        },
    };
    VectorResult { vector: v.clone(), outcome, time: start.elapsed(), log: String::from_utf8_lossy(&log).into_owned() }
}

/// Runs every vector on a fresh in-process card each; `scp03 open` directives use the SCP03 host
/// with host challenges seeded from the vector's seed.
pub fn run_in_process(vectors: &[Vector]) -> Vec<VectorResult> {
    vectors
        .iter()
        .map(|v| {
            // The vector's time includes making its card: that is part of running it in-process.
            let start = Instant::now();
            match fresh_card(v) {
                Ok(mut c) => {
                    let mut opener = crate::script::scp::opener(CardRng::new(Some(v.seed)));
                    VectorResult { time: start.elapsed(), ..run_one(v, &mut c, Some(&mut opener)) }
                }
                Err(e) => VectorResult {
                    vector: v.clone(),
                    outcome: VectorOutcome::Error { message: e },
                    time: start.elapsed(),
                    log: String::new(),
                },
            }
        })
        .collect()
}

/// Runs every vector on one transport (a reader): a power cycle before each, so each starts
/// from a freshly powered card. Vectors that need their set's profile pass only on such a card.
pub fn run_on(vectors: &[Vector], t: &mut dyn Transport) -> Vec<VectorResult> {
    vectors
        .iter()
        .map(|v| {
            if let Err(e) = t.power_cycle() {
                return VectorResult {
                    vector: v.clone(),
                    outcome: VectorOutcome::Error { message: e.to_string() },
                    time: Duration::ZERO,
                    log: String::new(),
                };
            }
            // A set with its own profile (pySim's eUICC ISD-R and keys) runs only on a card of
            // that profile: on another card it is skipped, saying what differs.
            match profile_mismatch(v, t) {
                Ok(None) => {}
                Ok(Some(reason)) => {
                    return VectorResult {
                        vector: v.clone(),
                        outcome: VectorOutcome::Skipped { reason },
                        time: Duration::ZERO,
                        log: String::new(),
                    }
                }
                Err(message) => {
                    return VectorResult {
                        vector: v.clone(),
                        outcome: VectorOutcome::Error { message },
                        time: Duration::ZERO,
                        log: String::new(),
                    }
                }
            }
            let mut opener = crate::script::scp::opener(CardRng::new(Some(v.seed)));
            run_one(v, t, Some(&mut opener))
        })
        .collect()
}

/// Whether the freshly powered card on `t` is of the vector's set profile, as far as plain
/// commands can tell: its ISD answers SELECT by the profile's AID, and GET DATA reports the
/// profile's key information (`E0`: KVN and key lengths), sequence counter (`C1`) and key
/// diversification data (`CF`), which the vectors' challenges and cryptograms depend on. `None`
/// when it is (or the set has no profile); else why not. The card is power-cycled again after
/// the probe, so the vector starts from a fresh card.
pub fn profile_mismatch(v: &Vector, t: &mut dyn Transport) -> Result<Option<String>, String> {
    if v.profile.is_none() {
        return Ok(None);
    }
    let img = profile_image(v)?;
    let isd = img.isd().aid.clone();
    let mut ask = |apdu: Vec<u8>| -> Result<(Vec<u8>, u16), String> {
        let r = t.transmit(&apdu).map_err(|e| e.to_string())?;
        let n = r.len().checked_sub(2).ok_or("a response shorter than a status word")?;
        Ok((r[..n].to_vec(), u16::from_be_bytes([r[n], r[n + 1]])))
    };
    // An AID is 5 to 16 bytes.
    #[allow(clippy::cast_possible_truncation)]
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, isd.as_bytes().len() as u8];
    select.extend_from_slice(isd.as_bytes());
    select.push(0x00);
    let (_, sw) = ask(select)?;
    if !matches!(sw, 0x9000 | 0x6283) {
        return Ok(Some(format!("card is not of the set's profile: SELECT of its ISD {isd} answered {sw:04X}")));
    }
    let keys = img.isd().keys.as_ref();
    let expected: [(u16, &str, Vec<u8>); 3] = [
        (0x00E0, "key information (E0)", crate::tlv::tlv(0xE0, &crate::gp::get_data::key_information(&img, &isd))),
        (
            0x00C1,
            "sequence counter (C1)",
            crate::tlv::tlv(
                0xC1,
                &keys.and_then(|k| k.key_sets.first()).map_or(0, |k| k.seq_counter).to_be_bytes()[1..],
            ),
        ),
        (0x00CF, "key diversification data (CF)", crate::tlv::tlv(0xCF, &img.identity.kdd)),
    ];
    for (tag, what, want) in expected {
        let [p1, p2] = tag.to_be_bytes();
        let (got, sw) = ask(vec![0x80, 0xCA, p1, p2, 0x00])?;
        if sw != 0x9000 || got != want {
            let shown = if sw == 0x9000 { hex::encode_upper(&got) } else { format!("SW {sw:04X}") };
            return Ok(Some(format!(
                "card is not of the set's profile: {what} is {shown}, the profile's {}",
                hex::encode_upper(&want)
            )));
        }
    }
    t.power_cycle().map_err(|e| e.to_string())?;
    Ok(None)
}

/// The pass/fail table people read.
pub fn table(results: &[VectorResult]) -> String {
    let w = results.iter().map(|r| r.vector.set.len() + r.vector.name.len() + 1).max().unwrap_or(10).max(6);
    let mut s = format!("{:<w$}  {:<6}  {}\n", "vector", "result", "detail");
    for r in results {
        let id = format!("{}/{}", r.vector.set, r.vector.name);
        let (res, detail) = match &r.outcome {
            VectorOutcome::Passed { checks } => ("pass", format!("{checks} checks")),
            VectorOutcome::Failed { message } => ("FAIL", message.lines().next().unwrap_or("").to_string()),
            VectorOutcome::Error { message } => ("ERROR", message.clone()),
            VectorOutcome::Skipped { reason } => ("skip", reason.clone()),
        };
        s.push_str(&format!("{id:<w$}  {res:<6}  {detail}\n"));
    }
    let passed = results.iter().filter(|r| matches!(r.outcome, VectorOutcome::Passed { .. })).count();
    let skipped = results.iter().filter(|r| matches!(r.outcome, VectorOutcome::Skipped { .. })).count();
    s.push_str(&format!("vectors: {} of {} passed", passed, results.len() - skipped));
    if skipped > 0 {
        s.push_str(&format!(", {skipped} skipped (card not of their set's profile)"));
    }
    s.push('\n');
    s
}
