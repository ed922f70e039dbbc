//! The card image on disk: one versioned file per card, replaced atomically per APDU.
//!
//! Layout of `DIR/card.gpse`:
//!
//! ```text
//! 0   8  magic "GPSE-IMG"
//! 8   2  format version (big-endian)
//! 10  2  reserved, 0000
//! 12  4  payload length (big-endian)
//! 16  4  CRC-32 of the payload (big-endian)
//! 20  n  payload (postcard-encoded card state)
//! ```
//!
//! A commit writes `card.gpse.new` in chunks, fsyncs it, renames it over `card.gpse` and fsyncs
//! the directory, so a power cut at any point leaves either the old or the new file under the
//! image name (Java Card transaction semantics, one transaction per APDU). A leftover `.new` file
//! is ignored and removed at the next open. The [`Tearing`] hook cuts power after the Nth write
//! step so tests can prove this at every index. A damaged or foreign file is reported and never
//! overwritten.

mod tearing;

pub use tearing::Tearing;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File magic of a card image.
pub const MAGIC: &[u8; 8] = b"GPSE-IMG";
/// The image format this build writes and reads.
/// 2: the payload holds the shared state of modules (the JCVM) after the registry.
/// 3: security domains keep a failed-authentication limit and counts (issue #19 §15). Two
/// branches each bumped 1 → 2 for their own change; the merge gives the second change its own
/// number so an image of either version-2 layout is refused rather than misread.
/// 4: `CardImage::jc21` appended. 5: `CardImage::global_pin` appended.
pub const FORMAT_VERSION: u16 = 5;
/// Older formats read: the same payload without the trailing fields later versions added,
/// which [`decode_image`] appends with the values every older card had.
const FORMAT_V3: u16 = 3;
const FORMAT_V4: u16 = 4;
/// What version 4 appended: `jc21 = false`.
const V4_FIELDS: &[u8] = &[0];
/// What version 5 appended: the global PIN NOT_READY (`GlobalPin::default()`: no value, no try
/// limit, counter 0, not blocked; `card::image` tests that this is its encoding).
pub const V5_FIELDS: &[u8] = &[0, 0, 0, 0];
const HEADER_LEN: usize = 20;
/// Bytes per write call, so a large image takes several writes (each one a tearing point).
pub const WRITE_CHUNK: usize = 4096;
/// The image file name inside a card directory.
pub const IMAGE_FILE: &str = "card.gpse";
const NEW_FILE: &str = "card.gpse.new";
const LOCK_FILE: &str = "lock";
/// Mode of the image and lock files: the image holds static SCP03 keys, PINs and RSA private
/// keys, so only the owner may read it.
pub const SECRET_FILE_MODE: u32 = 0o600;
/// Mode of directories gpse creates for secrets (card directories, the test CA's).
pub const SECRET_DIR_MODE: u32 = 0o700;

/// How hard a commit pushes bytes to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the new file and the directory: survives power loss (the default).
    #[default]
    Fsync,
    /// Rename without fsync: survives a process crash, not a power loss. For tests and benches.
    NoSync,
}

/// Why an image could not be opened or written. Messages name the file and say what is wrong
/// in one line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}: no card image here (create one with `gpse card init --state DIR`)")]
    NotFound(PathBuf),
    #[error("{0}: a card image already exists (use another --state directory, or --force)")]
    Exists(PathBuf),
    #[error("{0}: not a gpse card image (bad magic)")]
    Foreign(PathBuf),
    #[error("{0}: card image format version {1} is not supported by this gpse (supports {FORMAT_VERSION})")]
    UnsupportedVersion(PathBuf, u16),
    #[error("{0}: card image truncated ({1} of {2} bytes)")]
    Truncated(PathBuf, usize, usize),
    #[error("{0}: card image damaged (checksum mismatch)")]
    Damaged(PathBuf),
    #[error("{0}: card image unreadable ({1})")]
    Decode(PathBuf, String),
    #[error("{0}: card image is in use by another gpse process")]
    Locked(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    #[error("power cut (tearing injection) during commit")]
    PowerCut,
    #[error("{0}: the card directory is read-only; only commands that change nothing work")]
    ReadOnly(PathBuf),
}

/// Where the bytes of one card live.
enum Backend {
    Dir {
        dir: PathBuf,
        _lock: File,
    },
    /// A directory gpse may not write (read-only mount or permissions): the image is read and
    /// never written, so inspection works; a shared lock (when the lock file exists) still keeps
    /// a writer elsewhere off while we read.
    ReadOnly {
        dir: PathBuf,
        _lock: Option<File>,
    },
    Memory {
        committed: Vec<u8>,
    },
}

/// One card's persistent image.
pub struct Store {
    backend: Backend,
    durability: Durability,
    tearing: Option<Tearing>,
    dead: bool,
    commits: u64,
}

impl Store {
    /// A store that keeps the image in memory only (library use, tests, benches).
    pub fn memory() -> Store {
        Store {
            backend: Backend::Memory { committed: Vec::new() },
            durability: Durability::NoSync,
            tearing: None,
            dead: false,
            commits: 0,
        }
    }

    /// Creates the directory and a new image in it; refuses if an image (or anything under the
    /// image's name) already exists unless `overwrite`.
    pub fn create(dir: &Path, payload: &[u8], durability: Durability, overwrite: bool) -> Result<Store, StoreError> {
        create_private_dir(dir).map_err(|e| StoreError::Io(dir.to_path_buf(), e))?;
        let lock = lock_dir(dir)?;
        let img = dir.join(IMAGE_FILE);
        if img.exists() && !overwrite {
            return Err(StoreError::Exists(img));
        }
        let mut s = Store {
            backend: Backend::Dir { dir: dir.to_path_buf(), _lock: lock },
            durability,
            tearing: None,
            dead: false,
            commits: 0,
        };
        s.commit(payload)?;
        Ok(s)
    }

    /// Opens an existing image, returning the store and the payload.
    pub fn open(dir: &Path, durability: Durability) -> Result<(Store, Vec<u8>), StoreError> {
        let img = dir.join(IMAGE_FILE);
        if !img.exists() {
            return Err(StoreError::NotFound(dir.to_path_buf()));
        }
        let backend = match lock_dir(dir) {
            Ok(lock) => Backend::Dir { dir: dir.to_path_buf(), _lock: lock },
            Err(StoreError::Io(_, e)) if is_read_only_error(&e) => {
                Backend::ReadOnly { dir: dir.to_path_buf(), _lock: lock_shared(dir)? }
            }
            Err(e) => return Err(e),
        };
        let payload = read_image(&img)?;
        if matches!(backend, Backend::Dir { .. }) {
            // A `.new` left by a cut commit never became the image; drop it.
            let _ = fs::remove_file(dir.join(NEW_FILE));
        }
        let s = Store { backend, durability, tearing: None, dead: false, commits: 0 };
        Ok((s, payload))
    }

    /// Arms power-cut injection: the write step with index `n` (0-based) and all after it fail.
    pub fn set_tearing(&mut self, t: Option<Tearing>) {
        self.tearing = t;
    }

    /// The armed injection, to count steps made outside the store.
    pub fn tearing_mut(&mut self) -> Option<&mut Tearing> {
        self.tearing.as_mut()
    }

    /// The tearing hook, to read how many write steps happened.
    pub fn tearing(&self) -> Option<&Tearing> {
        self.tearing.as_ref()
    }

    /// How many commits this store made since it was opened.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// The card directory, when on disk.
    pub fn dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Dir { dir, .. } | Backend::ReadOnly { dir, .. } => Some(dir),
            Backend::Memory { .. } => None,
        }
    }

    /// Whether the image was opened from a directory gpse cannot write: every commit fails with
    /// [`StoreError::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        matches!(self.backend, Backend::ReadOnly { .. })
    }

    /// The last committed payload of a memory store.
    pub fn memory_payload(&self) -> Option<&[u8]> {
        match &self.backend {
            Backend::Memory { committed } => Some(committed),
            Backend::Dir { .. } | Backend::ReadOnly { .. } => None,
        }
    }

    fn step(&mut self) -> Result<(), StoreError> {
        if self.dead {
            return Err(StoreError::PowerCut);
        }
        match self.tearing.as_mut().map(Tearing::step) {
            Some(tearing::Step::PowerCut) => {
                self.dead = true;
                Err(StoreError::PowerCut)
            }
            Some(tearing::Step::Fail) => Err(StoreError::Io(
                self.dir().map(Path::to_path_buf).unwrap_or_default(),
                io::Error::from(io::ErrorKind::StorageFull),
            )),
            _ => Ok(()),
        }
    }

    /// Replaces the image with `payload`, atomically. A failed write (disk full) leaves the
    /// last image as it was and no partial new file.
    pub fn commit(&mut self, payload: &[u8]) -> Result<(), StoreError> {
        let r = self.write(payload);
        if let (Err(StoreError::Io(..)), Some(dir)) = (&r, self.dir()) {
            let _ = fs::remove_file(dir.join(NEW_FILE));
        }
        r
    }

    fn write(&mut self, payload: &[u8]) -> Result<(), StoreError> {
        let dir = match &mut self.backend {
            Backend::Memory { committed } => {
                // No header nor CRC in memory (nothing reads them back), and the last image's
                // allocation is reused.
                committed.clear();
                committed.extend_from_slice(payload);
                self.commits += 1;
                return Ok(());
            }
            Backend::Dir { dir, .. } => dir.clone(),
            Backend::ReadOnly { dir, .. } => return Err(StoreError::ReadOnly(dir.clone())),
        };
        let bytes = encode_image(payload);
        let io = |e| StoreError::Io(dir.clone(), e);
        let new = dir.join(NEW_FILE);
        self.step()?;
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).mode(SECRET_FILE_MODE).open(&new).map_err(io)?;
        // `mode` only applies to a file this call creates; a `.new` that survived (or was planted)
        // keeps its own mode, so set it on the open file (fchmod) before any byte goes in.
        f.set_permissions(fs::Permissions::from_mode(SECRET_FILE_MODE)).map_err(io)?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            self.step()?;
            f.write_all(chunk).map_err(io)?;
        }
        if self.durability == Durability::Fsync {
            self.step()?;
            f.sync_all().map_err(io)?;
        }
        drop(f);
        self.step()?;
        fs::rename(&new, dir.join(IMAGE_FILE)).map_err(io)?;
        if self.durability == Durability::Fsync {
            self.step()?;
            File::open(&dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        self.commits += 1;
        Ok(())
    }
}

/// Creates `dir` and its missing parents with mode 0700 (an existing directory keeps its mode).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(SECRET_DIR_MODE).create(dir)
}

/// A one-line warning when the image in `dir` can be read by other users (group or others
/// bits set), e.g. one written by an older gpse that used the umask's 0644.
pub fn exposure_warning(dir: &Path) -> Option<String> {
    let img = dir.join(IMAGE_FILE);
    let mode = fs::metadata(&img).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: {} is readable by other users (mode {mode:04o}) and holds keys and PINs; \
             `chmod 600` it (gpse writes it 0600 from the next change on)",
            img.display()
        )
    })
}

fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let p = dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(SECRET_FILE_MODE)
        .open(&p)
        .map_err(|e| StoreError::Io(p.clone(), e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(StoreError::Io(p, e)),
    }
}

/// Whether opening the lock file for writing failed because the directory (or the lock file) may
/// not be written, rather than for a reason a read-only open would share.
fn is_read_only_error(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem)
}

/// A shared lock on an existing lock file opened read-only (`None` when there is no lock file:
/// then no gpse ever wrote here and none can).
fn lock_shared(dir: &Path) -> Result<Option<File>, StoreError> {
    let p = dir.join(LOCK_FILE);
    let f = match File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Io(p, e)),
    };
    match f.try_lock_shared() {
        Ok(()) => Ok(Some(f)),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => Err(StoreError::Io(p, e)),
    }
}

/// Header + payload.
// The image header's length is a u32; card images are a few hundred KiB.
#[allow(clippy::cast_possible_truncation)]
pub fn encode_image(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks the header and returns the payload. `path` is only for messages.
pub fn decode_image(path: &Path, b: &[u8]) -> Result<Vec<u8>, StoreError> {
    let p = || path.to_path_buf();
    if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
        // A short prefix of our magic is a truncated image, anything else is foreign.
        if !b.is_empty() && MAGIC.starts_with(b) {
            return Err(StoreError::Truncated(p(), b.len(), HEADER_LEN));
        }
        return Err(StoreError::Foreign(p()));
    }
    if b.len() < HEADER_LEN {
        return Err(StoreError::Truncated(p(), b.len(), HEADER_LEN));
    }
    let version = u16::from_be_bytes([b[8], b[9]]);
    if version != FORMAT_VERSION && version != FORMAT_V3 && version != FORMAT_V4 {
        return Err(StoreError::UnsupportedVersion(p(), version));
    }
    let len = u32::from_be_bytes([b[12], b[13], b[14], b[15]]) as usize;
    let crc = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let want = HEADER_LEN + len;
    if b.len() < want {
        return Err(StoreError::Truncated(p(), b.len(), want));
    }
    if b.len() > want {
        return Err(StoreError::Damaged(p()));
    }
    let payload = &b[HEADER_LEN..];
    if crc32fast::hash(payload) != crc {
        return Err(StoreError::Damaged(p()));
    }
    let mut out = payload.to_vec();
    // postcard writes a struct as its fields in order: an older payload plus the fields added
    // since, at their old values.
    if version == FORMAT_V3 {
        out.extend_from_slice(V4_FIELDS);
    }
    if version <= FORMAT_V4 {
        out.extend_from_slice(V5_FIELDS);
    }
    Ok(out)
}

fn read_image(path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut b = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut b)).map_err(|e| StoreError::Io(path.to_path_buf(), e))?;
    decode_image(path, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_open_commit() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("c");
        let mut s = Store::create(&dir, b"one", Durability::Fsync, false).unwrap();
        s.commit(b"two").unwrap();
        drop(s);
        let (_s, p) = Store::open(&dir, Durability::Fsync).unwrap();
        assert_eq!(p, b"two");
    }

    #[test]
    fn images_of_both_version_2_layouts_are_refused_not_misread() {
        // Version 2 was written by main (module state after the registry) and by the harden
        // branch (auth-limit counts in the key sets); neither layout is version 3's.
        let mut b = encode_image(b"payload");
        assert_eq!(&b[8..10], &[0, 5]);
        b[8..10].copy_from_slice(&2u16.to_be_bytes());
        assert!(matches!(decode_image(Path::new("x"), &b), Err(StoreError::UnsupportedVersion(_, 2))));
    }

    #[test]
    fn older_images_read_with_the_fields_later_versions_added() {
        // Version 4 appended `CardImage::jc21` (false), version 5 `CardImage::global_pin`.
        let mut b = encode_image(b"payload");
        b[8..10].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(decode_image(Path::new("x"), &b).unwrap(), b"payload\0\0\0\0\0");
        b[8..10].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(decode_image(Path::new("x"), &b).unwrap(), b"payload\0\0\0\0");
        b[8..10].copy_from_slice(&5u16.to_be_bytes());
        assert_eq!(decode_image(Path::new("x"), &b).unwrap(), b"payload");
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn image_lock_and_dir_are_private_on_create_and_every_rewrite() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/b");
        let mut s = Store::create(&dir, b"one", Durability::NoSync, false).unwrap();
        let img = dir.join(IMAGE_FILE);
        assert_eq!(mode(&img), 0o600);
        assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(exposure_warning(&dir), None);
        // Someone widened it, and a stale world-readable `.new` waits: the next commit narrows both.
        fs::set_permissions(&img, fs::Permissions::from_mode(0o644)).unwrap();
        let w = exposure_warning(&dir).unwrap();
        assert!(w.contains("readable by other users (mode 0644)") && !w.contains('\n'), "{w}");
        fs::write(dir.join(NEW_FILE), b"stale").unwrap();
        fs::set_permissions(dir.join(NEW_FILE), fs::Permissions::from_mode(0o666)).unwrap();
        s.commit(b"two").unwrap();
        assert_eq!(mode(&img), 0o600);
        assert_eq!(exposure_warning(&dir), None);
        drop(s);
        let (mut s, p) = Store::open(&dir, Durability::Fsync).unwrap();
        assert_eq!(p, b"two");
        s.commit(b"three").unwrap();
        assert_eq!(mode(&img), 0o600);
    }

    #[test]
    fn read_only_store_reads_and_refuses_commits() {
        let d = tempfile::tempdir().unwrap();
        drop(Store::create(d.path(), b"x", Durability::NoSync, false).unwrap());
        // Built directly: a read-only directory cannot be made for root with modes alone (the
        // CLI test `read_only_state_dir_allows_inspection` uses a read-only bind mount).
        let mut s = Store {
            backend: Backend::ReadOnly { dir: d.path().to_path_buf(), _lock: lock_shared(d.path()).unwrap() },
            durability: Durability::NoSync,
            tearing: None,
            dead: false,
            commits: 0,
        };
        assert!(s.is_read_only());
        assert!(matches!(s.commit(b"y"), Err(StoreError::ReadOnly(_))));
        assert_eq!(read_image(&d.path().join(IMAGE_FILE)).unwrap(), b"x");
        // A writer holding the lock keeps a read-only opener out, as it keeps writers out.
        drop(s);
        let _w = Store::open(d.path(), Durability::NoSync).unwrap();
        assert!(matches!(lock_shared(d.path()), Err(StoreError::Locked(_))));
        assert!(is_read_only_error(&io::Error::from(io::ErrorKind::ReadOnlyFilesystem)));
        assert!(is_read_only_error(&io::Error::from(io::ErrorKind::PermissionDenied)));
        assert!(!is_read_only_error(&io::Error::from(io::ErrorKind::NotFound)));
    }

    #[test]
    fn second_opener_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let _s = Store::create(d.path(), b"x", Durability::NoSync, false).unwrap();
        assert!(matches!(Store::open(d.path(), Durability::NoSync), Err(StoreError::Locked(_))));
    }

    #[test]
    fn bad_images_are_reported_not_touched() {
        let d = tempfile::tempdir().unwrap();
        let img = d.path().join(IMAGE_FILE);
        let good = encode_image(b"payload");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"hello world, not an image".to_vec(), "bad magic"),
            (good[..5].to_vec(), "truncated"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            (
                {
                    let mut g = good.clone();
                    *g.last_mut().unwrap() ^= 1;
                    g
                },
                "damaged",
            ),
            (
                {
                    let mut g = good.clone();
                    g[9] = 9;
                    g
                },
                "version 9",
            ),
        ];
        for (bytes, what) in cases {
            fs::write(&img, &bytes).unwrap();
            let e = Store::open(d.path(), Durability::NoSync).err().unwrap();
            assert!(e.to_string().contains(what), "{e}");
            assert!(!e.to_string().contains('\n'));
            assert_eq!(fs::read(&img).unwrap(), bytes);
        }
    }

    #[test]
    fn tearing_at_every_step_leaves_old_or_new() {
        let big_old = vec![1u8; WRITE_CHUNK * 2 + 10];
        let big_new = vec![2u8; WRITE_CHUNK * 3 + 10];
        let mut n = 0;
        loop {
            let d = tempfile::tempdir().unwrap();
            let mut s = Store::create(d.path(), &big_old, Durability::Fsync, false).unwrap();
            s.set_tearing(Some(Tearing::cut_after(n)));
            let r = s.commit(&big_new);
            drop(s);
            let (_s, p) = Store::open(d.path(), Durability::Fsync).unwrap();
            match r {
                Ok(()) => {
                    assert_eq!(p, big_new);
                    break;
                }
                Err(StoreError::PowerCut) => assert!(p == big_old || p == big_new, "cut at {n}"),
                Err(e) => panic!("{e}"),
            }
            n += 1;
        }
        // create, 4 chunks, fsync, rename, dir fsync
        assert_eq!(n, 8);
    }
}
