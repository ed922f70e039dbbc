//! Shared harness of the end-to-end tests through pcscd + vpcd: starting pcscd (or using the
//! one running), `gpse serve` processes killed on drop, PC/SC helpers.

use gpse::transport::pcsc::PcscTransport;
use gpse::transport::Transport;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const R0: &str = "Virtual PCD 00 00";
pub const R1: &str = "Virtual PCD 00 01";
pub const ATR: &str = "3B8C800147502D53452D454D554C21211D";
pub const SELECT_ISD: &str = "00A4040008A000000151000000";
pub const ISD_FCI: &str = "6F5D8408A000000151000000A551734B06072A864886FC6B01600B06092A864886FC6B020203630906072A864886FC6B03640B06092A864886FC6B040370650D060B2A864886FC6B0507020000660C060A2B060104012A026E01039F6501FF9000";
pub const SELECT_TEST: &str = "00A404000AF0475053455445535401";
pub const SOCK: &str = "/run/pcscd/pcscd.comm";

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

pub fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes to the real stderr, past the test harness's output capture.
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Is something listening on TCP `port` (any address)? Read from /proc so that no connection is
/// made: a connection to a vpcd port would be a card insertion.
pub fn listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&want) && cols[3] == "0A"
        })
    })
}

/// pcscd for the test: an external one, or one started here and stopped on drop.
pub struct Pcscd {
    pub own: Option<PathBuf>, // PID file of the pcscd we started
    _dir: tempfile::TempDir,
}

impl Pcscd {
    pub fn get() -> Pcscd {
        let dir = tempfile::tempdir().unwrap();
        if Path::new(SOCK).exists() && listening(35963) {
            say("e2e_pcsc: using the pcscd already running");
            return Pcscd { own: None, _dir: dir };
        }
        let pid = dir.path().join("pcscd.pid");
        Pcscd::start(&pid, &dir.path().join("pcscd.log"));
        Pcscd { own: Some(pid), _dir: dir }
    }

    pub fn start(pid: &Path, log: &Path) {
        let out = Command::new(root().join("scripts/pcscd-start"))
            .env("GPSE_PCSCD_PID", pid)
            .env("GPSE_PCSCD_LOG", log)
            .output()
            .expect("run scripts/pcscd-start");
        assert!(
            out.status.success(),
            "GPSE_E2E=1 but pcscd could not be started (scripts/install-deps, then scripts/pcscd-start):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn stop_pid(pid: &Path) {
        let _ = Command::new(root().join("scripts/pcscd-stop")).env("GPSE_PCSCD_PID", pid).output();
    }

    /// Stops and starts our own pcscd; false when pcscd is external.
    pub fn restart(&self) -> bool {
        let Some(pid) = &self.own else { return false };
        Pcscd::stop_pid(pid);
        Pcscd::start(pid, &self._dir.path().join("pcscd2.log"));
        true
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(pid) = &self.own {
            Pcscd::stop_pid(pid);
        }
    }
}

/// A `gpse serve` process, killed on drop.
pub struct Serve {
    child: Option<Child>,
    log: PathBuf,
}

impl Serve {
    pub fn start(state: &Path, args: &[&str]) -> Serve {
        let log = state.with_extension(format!("serve{}.log", std::process::id()));
        let log = unique(log);
        let child = Command::new(env!("CARGO_BIN_EXE_gpse"))
            .arg("serve")
            .arg("--state")
            .arg(state)
            .args(args)
            .env_remove("GPSE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start gpse serve");
        Serve { child: Some(child), log }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(pid: u32, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
        assert!(ok.success(), "kill -{sig} {pid}");
    }

    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return st;
            }
            assert!(t.elapsed() < within, "gpse serve did not exit; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    pub fn term(&mut self) -> ExitStatus {
        Serve::signal(self.pid(), "TERM");
        self.wait(Duration::from_secs(10))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn unique(p: PathBuf) -> PathBuf {
    let mut i = 0;
    loop {
        let q = p.with_extension(format!("{i}.log"));
        if !q.exists() {
            return q;
        }
        i += 1;
    }
}

/// Connects to `reader` once its card is there and answers (the card connects and pcscd polls
/// every 0.4 s, so a card that just went away may still look present for a moment). The probe
/// leaves the ISD selected, as after power-on.
pub fn wait_card(reader: &str, serve: &Serve) -> PcscTransport {
    let t = Instant::now();
    loop {
        let e = match PcscTransport::connect(reader) {
            Ok(mut c) => match c.transmit(&h(SELECT_ISD)) {
                Ok(_) => return c,
                Err(e) => e,
            },
            Err(e) => e,
        };
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no card in {reader} after 15 s: {e}; gpse serve log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn tx(t: &mut PcscTransport, apdu: &str) -> String {
    up(&t.transmit(&h(apdu)).unwrap_or_else(|e| panic!("{apdu}: {e}")))
}

/// Extended case 4E echo of `n` bytes.
pub fn echo_ext(t: &mut PcscTransport, n: usize) {
    let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
    let mut apdu = vec![0x80, 0x01, 0x00, 0x00, 0x00, (n >> 8) as u8, n as u8];
    apdu.extend_from_slice(&data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    let rsp = t.transmit(&apdu).unwrap();
    assert_eq!(rsp.len(), n + 2, "echo {n}");
    assert_eq!(&rsp[..n], &data[..]);
    assert_eq!(&rsp[n..], &[0x90, 0x00]);
}

pub fn counter(t: &mut PcscTransport) -> u32 {
    let r = t.transmit(&h("8003000000")).unwrap();
    assert_eq!(r.len(), 6, "{}", up(&r));
    assert_eq!(&r[4..], &[0x90, 0x00]);
    u32::from_be_bytes([r[0], r[1], r[2], r[3]])
}

/// Runs a tool with a time limit and returns (status, stdout, stderr).
pub fn tool(cmd: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new("timeout")
        .arg("60")
        .arg(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    (out.status, String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Runs `gpse` (the binary under test) without `$GPSE_STATE` and asserts it succeeded; its
/// stdout.
pub fn gpse_ok(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_gpse")).args(args).env_remove("GPSE_STATE").output().unwrap();
    assert!(o.status.success(), "gpse {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into()
}

/// A card image directory with `../shared/javacard/caps/<cap>` installed by `gpse card init`
/// and `gpse gp install`: the temp dir (keep it), the images directory `gpse serve` takes
/// (`DIR/0` is the card) and the card's own directory.
pub fn card_with_shared_cap(cap: &str) -> (tempfile::TempDir, PathBuf, String) {
    let cap = root().join("../shared/javacard/caps").join(cap);
    assert!(cap.exists(), "{}: this test needs ../shared/javacard", cap.display());
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("cards");
    let card = images.join("0").display().to_string();
    gpse_ok(&["card", "init", "--state", &card]);
    gpse_ok(&["gp", "install", "--state", &card, cap.to_str().unwrap()]);
    (tmp, images, card)
}

/// Runs a client tool (with extra environment) under a 60 s timeout, asserts it succeeded
/// (showing its output and the serve log otherwise), says so; its stdout and stderr.
pub fn client_ok(test: &str, cmd: &str, args: &[&str], env: &[(&str, &str)], serve: &Serve) -> String {
    let o =
        Command::new("timeout").arg("60").arg(cmd).args(args).envs(env.iter().copied()).stdin(Stdio::null()).output();
    let o = o.unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd} {args:?}: {}\n{out}\n{err}\ngpse serve log:\n{}", o.status, serve.log());
    say(&format!("{test}: {cmd} {}: ok", args.join(" ")));
    format!("{out}{err}")
}

pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// OpenSC's PKCS#11 module, wherever the architecture's lib directory is.
pub fn pkcs11_module() -> String {
    for d in std::fs::read_dir("/usr/lib").unwrap().flatten() {
        let p = d.path().join("opensc-pkcs11.so");
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("opensc-pkcs11.so not found under /usr/lib/*/ (package opensc-pkcs11)");
}
