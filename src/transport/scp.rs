//! SCP03 over a [`Transport`]: drives the host-side state machine of [`crate::scp03::host`]
//! (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, then wrap → transmit → unwrap). The protocol is
//! there; the wire is here.
//!
//! ```no_run
//! use gpse::transport::scp::SessionIo;
//! use gpse::scp03::{host::{HostSession, OpenOptions}, SecurityLevel, StaticKeys};
//! # fn f(t: &mut dyn gpse::transport::Transport) -> Result<(), gpse::transport::scp::ScpError> {
//! let k = [0x40u8, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];
//! let keys = StaticKeys::new(&k, &k, &k).unwrap();
//! let mut s = HostSession::open(t, &keys, &OpenOptions::new(SecurityLevel::ALL), &mut rand_core::OsRng)?;
//! let rsp = s.transmit(t, &gpse::Command::parse(&[0x80, 0xCA, 0x00, 0xCF, 0x00]).unwrap())?;
//! # Ok(()) }
//! ```

use super::{Transport, TransportError};
use crate::apdu::{Command, Response};
use crate::scp03::host::{HostError, HostSession, OpenOptions, Opening};
use crate::scp03::StaticKeys;
use rand_core::RngCore;

/// Why a session could not be opened or used over a transport.
#[derive(Debug, thiserror::Error)]
pub enum ScpError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the card's answer is not a response APDU (fewer than 2 bytes)")]
    NoResponse,
    #[error(transparent)]
    Session(#[from] HostError),
}

/// One protected exchange: what went on the wire and the plain response.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub wire_command: Vec<u8>,
    pub wire_response: Vec<u8>,
    pub response: Response,
}

/// Sends a plain command, parses the answer.
pub fn send<T: Transport + ?Sized>(t: &mut T, cmd: &Command) -> Result<Response, ScpError> {
    let wire = t.transmit(&cmd.to_bytes())?;
    Response::parse(&wire).ok_or(ScpError::NoResponse)
}

/// The I/O side of a [`HostSession`], as methods (`HostSession::open(t, …)`, `s.transmit(t, …)`).
pub trait SessionIo: Sized {
    /// Opens a session on `opts.channel`: INITIALIZE UPDATE, checks, EXTERNAL AUTHENTICATE. The
    /// security domain must already be selected on that channel.
    fn open<T: Transport + ?Sized, R: RngCore + ?Sized>(
        t: &mut T,
        keys: &StaticKeys,
        opts: &OpenOptions,
        rng: &mut R,
    ) -> Result<Self, ScpError>;

    /// Wraps, sends, unwraps; returns the wire bytes too.
    fn exchange<T: Transport + ?Sized>(&mut self, t: &mut T, cmd: &Command) -> Result<Exchange, ScpError>;

    /// Wraps, sends, unwraps; the plain response.
    fn transmit<T: Transport + ?Sized>(&mut self, t: &mut T, cmd: &Command) -> Result<Response, ScpError> {
        Ok(self.exchange(t, cmd)?.response)
    }
}

impl SessionIo for HostSession {
    fn open<T: Transport + ?Sized, R: RngCore + ?Sized>(
        t: &mut T,
        keys: &StaticKeys,
        opts: &OpenOptions,
        rng: &mut R,
    ) -> Result<HostSession, ScpError> {
        let (opening, iu) = Opening::new(keys, opts, rng)?;
        let (auth, ea) = opening.initialize_update_response(&send(t, &iu)?)?;
        Ok(auth.external_authenticate_response(&send(t, &ea)?)?)
    }

    fn exchange<T: Transport + ?Sized>(&mut self, t: &mut T, cmd: &Command) -> Result<Exchange, ScpError> {
        let wire_command = self.wrap(cmd)?.to_bytes();
        let wire_response = t.transmit(&wire_command)?;
        let r = Response::parse(&wire_response).ok_or(ScpError::NoResponse)?;
        let response = self.unwrap(&r)?;
        Ok(Exchange { wire_command, wire_response, response })
    }
}
