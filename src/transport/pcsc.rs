//! The host side through PC/SC (pcsc-lite's `libpcsclite` via the `pcsc` crate): any reader, the
//! emulator behind vpcd or a real card alike.
//!
//! Errors are one line that says what to do: no pcscd, no such reader (with the readers there
//! are), no card. A card removed or reset by another client maps to [`TransportError::Removed`]
//! and [`TransportError::ResetByOther`]; [`PcscTransport::reconnect`] recovers from both.

use super::{Transport, TransportError};
use ::pcsc::{Context, Disposition, Error, Protocols, Scope, ShareMode, MAX_BUFFER_SIZE_EXTENDED};
use std::ffi::CString;

/// One card connection through a PC/SC reader.
pub struct PcscTransport {
    // Field order: the card handle goes before its context.
    card: ::pcsc::Card,
    _ctx: Context,
    reader: String,
    rbuf: Vec<u8>,
}

impl std::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscTransport").field("reader", &self.reader).finish()
    }
}

fn establish() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(|e| match e {
        Error::NoService | Error::ServiceStopped => {
            TransportError::Reader("PC/SC service not running: start pcscd (scripts/pcscd-start)".into())
        }
        e => TransportError::Reader(format!("PC/SC: {e}")),
    })
}

fn readers_of(ctx: &Context) -> Result<Vec<String>, TransportError> {
    let names =
        ctx.list_readers_owned().map_err(|e| TransportError::Reader(format!("PC/SC: cannot list readers: {e}")))?;
    Ok(names.into_iter().map(|n| n.to_string_lossy().into_owned()).collect())
}

/// The names of the PC/SC readers present, in PC/SC order (empty when there are none).
pub fn list_readers() -> Result<Vec<String>, TransportError> {
    readers_of(&establish()?)
}

/// Picks a reader: an exact name, else a number (index in [`list_readers`] order), else the one
/// reader whose name contains `spec`.
pub fn pick_reader(readers: &[String], spec: &str) -> Result<String, TransportError> {
    if let Some(r) = readers.iter().find(|r| r.as_str() == spec) {
        return Ok(r.clone());
    }
    if readers.is_empty() {
        return Err(TransportError::Reader(
            "no PC/SC reader present (for the emulator: is `gpse serve` running, and pcscd with vpcd?)".into(),
        ));
    }
    let list = || readers.iter().enumerate().map(|(i, r)| format!("{i}: {r}")).collect::<Vec<_>>().join(", ");
    if let Ok(i) = spec.parse::<usize>() {
        return readers
            .get(i)
            .cloned()
            .ok_or_else(|| TransportError::Reader(format!("no reader number {i}; readers are {}", list())));
    }
    let hits: Vec<&String> = readers.iter().filter(|r| r.contains(spec)).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(TransportError::Reader(format!("no reader '{spec}'; readers are {}", list()))),
        _ => Err(TransportError::Reader(format!("reader '{spec}' is ambiguous; readers are {}", list()))),
    }
}

fn map_err(reader: &str, e: Error) -> TransportError {
    match e {
        Error::RemovedCard => TransportError::Removed,
        Error::ResetCard => TransportError::ResetByOther,
        Error::NoSmartcard => TransportError::Reader(format!("no card in reader '{reader}'")),
        Error::UnknownReader | Error::ReaderUnavailable => TransportError::Reader(format!("reader '{reader}' is gone")),
        Error::NoService | Error::ServiceStopped => TransportError::Reader("PC/SC service (pcscd) stopped".into()),
        Error::NotTransacted => TransportError::Reader(format!(
            "reader '{reader}': the card did not answer (removed, or message over 65535 bytes?)"
        )),
        e => TransportError::Reader(format!("reader '{reader}': {e}")),
    }
}

/// A card that is absent, unpowered or silent: what a reader shows between a `gpse serve` that
/// stopped and the next one.
fn no_card(e: &Error) -> bool {
    matches!(
        e,
        Error::NoSmartcard | Error::NotTransacted | Error::RemovedCard | Error::UnresponsiveCard | Error::UnpoweredCard
    )
}

/// Why [`PcscTransport::connect_card`] failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The reader (named) exists but has no card, or its card does not answer yet.
    NoCardYet(String),
    Other(TransportError),
}

impl PcscTransport {
    /// Connects (shared mode, T=1 preferred, else any protocol) to the card in the reader named
    /// by `spec` (see [`pick_reader`]).
    pub fn connect(spec: &str) -> Result<PcscTransport, TransportError> {
        let ctx = establish()?;
        let reader = pick_reader(&readers_of(&ctx)?, spec)?;
        let cname =
            CString::new(reader.clone()).map_err(|_| TransportError::Reader("reader name contains NUL".into()))?;
        let card = match ctx.connect(&cname, ShareMode::Shared, Protocols::T1) {
            Ok(c) => c,
            Err(Error::ProtoMismatch) => {
                ctx.connect(&cname, ShareMode::Shared, Protocols::ANY).map_err(|e| map_err(&reader, e))?
            }
            Err(e) => return Err(map_err(&reader, e)),
        };
        Ok(PcscTransport { card, _ctx: ctx, reader, rbuf: vec![0u8; MAX_BUFFER_SIZE_EXTENDED] })
    }

    /// [`PcscTransport::connect`], telling apart a reader that has no card (yet): pcscd lists
    /// vpcd's reader before `gpse serve` has connected a card to it, and a connection then fails
    /// with "no smartcard" or "not transacted" for a moment.
    pub fn connect_card(spec: &str) -> Result<PcscTransport, ConnectError> {
        let ctx = establish().map_err(ConnectError::Other)?;
        let reader = pick_reader(&readers_of(&ctx).map_err(ConnectError::Other)?, spec).map_err(ConnectError::Other)?;
        let cname = CString::new(reader.clone())
            .map_err(|_| ConnectError::Other(TransportError::Reader("reader name contains NUL".into())))?;
        let r = match ctx.connect(&cname, ShareMode::Shared, Protocols::T1) {
            Err(Error::ProtoMismatch) => ctx.connect(&cname, ShareMode::Shared, Protocols::ANY),
            r => r,
        };
        match r {
            Ok(card) => Ok(PcscTransport { card, _ctx: ctx, reader, rbuf: vec![0u8; MAX_BUFFER_SIZE_EXTENDED] }),
            Err(e) if no_card(&e) => Err(ConnectError::NoCardYet(reader)),
            Err(e) => Err(ConnectError::Other(map_err(&reader, e))),
        }
    }

    /// [`Transport::transmit`], telling apart a card that is not there (yet): right after
    /// `gpse serve` restarts, pcscd still holds the old card for up to its 0.4 s poll and a
    /// connection succeeds, but the command reaches no card ("not transacted"). The command
    /// was then not processed, so the caller may reconnect and send it again. The same for a
    /// card reset since the connection.
    pub fn transmit_or_no_card(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ConnectError> {
        let mut r = self.card.transmit(apdu, &mut self.rbuf).map(|r| r.to_vec());
        if r == Err(Error::ResetCard) {
            // A new card arrived since the connection (the new `gpse serve`): PC/SC reports the
            // reset before it sends anything. Take the card as it is and send the command.
            self.reconnect().map_err(ConnectError::Other)?;
            r = self.card.transmit(apdu, &mut self.rbuf).map(|r| r.to_vec());
        }
        match r {
            Ok(r) if r.len() >= 2 => Ok(r),
            Ok(_) => Err(ConnectError::NoCardYet(self.reader.clone())),
            Err(e) if no_card(&e) => Err(ConnectError::NoCardYet(self.reader.clone())),
            Err(e) => Err(ConnectError::Other(map_err(&self.reader, e))),
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's ATR as the reader reports it.
    pub fn atr(&self) -> Result<Vec<u8>, TransportError> {
        self.card.status2_owned().map(|s| s.atr().to_vec()).map_err(|e| map_err(&self.reader, e))
    }

    /// Reconnects the same handle without resetting the card: after [`TransportError::Removed`]
    /// (once a card is back) or [`TransportError::ResetByOther`].
    pub fn reconnect(&mut self) -> Result<(), TransportError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
            .map_err(|e| map_err(&self.reader, e))
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let rsp = self.card.transmit(apdu, &mut self.rbuf).map_err(|e| map_err(&self.reader, e))?;
        // vpcd reports success with no bytes when the card's connection closed mid-APDU.
        if rsp.len() < 2 {
            return Err(TransportError::Reader(format!(
                "reader '{}': the card answered no status word (removed during the command?)",
                self.reader
            )));
        }
        Ok(rsp.to_vec())
    }

    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| map_err(&self.reader, e))?;
        self.atr()
    }

    /// SCardReconnect(UNPOWER_CARD): vpcd sends power off, then power on (pcsc.md §4).
    fn power_cycle(&mut self) -> Result<Vec<u8>, TransportError> {
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::UnpowerCard)
            .map_err(|e| map_err(&self.reader, e))?;
        self.atr()
    }

    fn name(&self) -> String {
        self.reader.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_choice() {
        let r = vec!["Virtual PCD 00 00".to_string(), "Virtual PCD 00 01".into()];
        assert_eq!(pick_reader(&r, "Virtual PCD 00 01").unwrap(), r[1]);
        assert_eq!(pick_reader(&r, "0").unwrap(), r[0]);
        assert_eq!(pick_reader(&r, "00 01").unwrap(), r[1]);
        let e = pick_reader(&r, "Virtual").unwrap_err().to_string();
        assert!(e.contains("ambiguous") && !e.contains('\n'), "{e}");
        let e = pick_reader(&r, "7").unwrap_err().to_string();
        assert!(e.contains("no reader number 7"), "{e}");
        assert!(pick_reader(&[], "x").unwrap_err().to_string().contains("no PC/SC reader"));
    }
}
