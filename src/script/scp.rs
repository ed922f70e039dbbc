//! The runner's SCP03 host: `scp03 open` directives open a real host session
//! (`scp03::host::HostSession`) on the script's transport.

use super::runner::SecureSession;
use super::Scp03Open;
use crate::apdu::{Command, Response};
use crate::crypto::CardRng;
use crate::scp03::host::{HostSession, OpenOptions};
use crate::scp03::{SecurityLevel, StaticKeys};
use crate::transport::scp::SessionIo;
use crate::transport::Transport;
use rand_core::RngCore;

struct ScriptSession {
    s: HostSession,
    hc: [u8; 8],
}

impl SecureSession for ScriptSession {
    fn wrap(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        let cmd = Command::parse(apdu).map_err(|sw| format!("malformed APDU ({sw})"))?;
        self.s.wrap(&cmd).map(|c| c.to_bytes()).map_err(|e| e.to_string())
    }

    fn unwrap(&mut self, rsp: &[u8]) -> Result<Vec<u8>, String> {
        let r = Response::parse(rsp).ok_or("response shorter than a status word")?;
        self.s.unwrap(&r).map(|r| r.to_bytes()).map_err(|e| e.to_string())
    }

    fn host_challenge(&self) -> [u8; 8] {
        self.hc
    }
}

/// Opens sessions for a script run. Host challenges not fixed by the script come from `rng`.
pub fn opener(
    mut rng: CardRng,
) -> impl FnMut(&mut dyn Transport, &Scp03Open, u8) -> Result<Box<dyn SecureSession>, String> {
    move |t, p, channel| {
        let keys = StaticKeys::new(&p.enc, &p.mac, &p.dek).map_err(|e| e.to_string())?;
        let level = SecurityLevel::from_p1(p.level).ok_or_else(|| format!("security level {:02X}", p.level))?;
        let hc = p.host_challenge.unwrap_or_else(|| {
            let mut h = [0u8; 8];
            rng.fill_bytes(&mut h);
            h
        });
        let opts = OpenOptions { kvn: p.kvn, level, host_challenge: Some(hc), channel, s16: false };
        let s = HostSession::open(t, &keys, &opts, &mut rng).map_err(|e| e.to_string())?;
        Ok(Box::new(ScriptSession { s, hc }))
    }
}
