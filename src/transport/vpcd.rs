//! The card side of vsmartcard's vpcd protocol: a virtual card connects to the vpcd driver
//! loaded by pcscd, and every PC/SC client then sees it in a reader (`Virtual PCD 00 00` on port
//! 35963, `Virtual PCD 00 01` on 35964 with Debian's shipped configuration).
//!
//! Wire protocol (`shared/reference/pcsc.md` §4): every message in both directions is a 2-byte
//! big-endian length N and N bytes. From vpcd, N = 1 is a control byte:
//!
//! | byte | meaning | the card answers |
//! |------|---------|------------------|
//! | `00` | power off | nothing |
//! | `01` | power on | nothing |
//! | `02` | warm reset | nothing |
//! | `04` | get ATR (presence poll, every 400 ms; side-effect free) | the ATR |
//!
//! N > 1 is a command APDU, exactly as the client passed it to SCardTransmit; the card answers
//! data ‖ SW1 SW2 in one message.
//!
//! Latency: vpcd 0.8 writes a message's length and payload in two `send()`s without
//! TCP_NODELAY, so the card's delayed ACK would cost ~40 ms per APDU. The card therefore re-arms
//! `TCP_QUICKACK` before every read (Linux clears it) and writes each answer in one write.
//!
//! Card-side limit: a response longer than 65535 bytes cannot be framed. The card then answers
//! `6700` (wrong length: the interface cannot carry the length the command asked for) instead.
//!
//! When the connection drops (pcscd stopped or restarted, or a frame cut in the middle), the
//! card loses power as a real card pulled from a reader would: volatile state is reset, the
//! image stays as the last per-APDU commit left it. [`serve`] then reconnects after a pause long
//! enough for pcscd to see the slot empty ([`DEFAULT_SETTLE`]).

use crate::card::Card;
use crate::sw::Sw;
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// vpcd's first port in Debian's shipped `/etc/reader.conf.d/vpcd` (0x8C7B); slot i is PORT+i.
pub const DEFAULT_PORT: u16 = 35963;
/// The largest message the 2-byte length can frame.
pub const MAX_MESSAGE: usize = 0xFFFF;
/// Pause between connection attempts when vpcd is not listening.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);
/// Pause before connecting where a card may just have left the slot: at start (a previous card
/// process may have died a moment ago) and after a lost connection. pcscd polls presence every
/// 400 ms, and vpcd accepts a waiting card only inside that poll; a card that connects before
/// pcscd has seen the slot empty replaces the old one unnoticed, and after a client's failed
/// transmit or reset in that gap pcsc-lite 1.9.9 keeps reporting the reader empty for good.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(600);
/// How long the rest of a message may take once its first byte has arrived. vpcd writes a
/// message's length and payload back to back over loopback, so a peer silent this long in the
/// middle of a frame is stuck or hostile; without the bound it would hold `serve` forever
/// (issue #19 §16). Between messages there is no bound: an idle reader is legitimate, and pcscd
/// polls every 400 ms anyway.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Control bytes from vpcd.
pub const CTRL_POWER_OFF: u8 = 0x00;
pub const CTRL_POWER_ON: u8 = 0x01;
pub const CTRL_RESET: u8 = 0x02;
pub const CTRL_GET_ATR: u8 = 0x04;

/// What a card behind vpcd must do. [`Card`] implements it; a benchmark's trivial responder
/// implements it too, so both go through the same framing and socket code.
pub trait VirtualCard {
    /// The ATR (side-effect free).
    fn atr(&self) -> Vec<u8>;
    /// Cold reset: volatile state cleared.
    fn power_on(&mut self);
    /// Power loss: volatile state gone.
    fn power_off(&mut self);
    /// Warm reset: volatile state cleared.
    fn reset(&mut self);
    /// One command APDU to data ‖ SW.
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// What the card wants its user to see about the last commands (Java stack traces).
    fn diagnostics(&mut self) -> Vec<crate::card::Diagnostic> {
        Vec::new()
    }
}

impl<C: VirtualCard + ?Sized> VirtualCard for Box<C> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on()
    }
    fn power_off(&mut self) {
        (**self).power_off()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).transmit(apdu)
    }
    fn diagnostics(&mut self) -> Vec<crate::card::Diagnostic> {
        (**self).diagnostics()
    }
}

impl VirtualCard for Card {
    fn atr(&self) -> Vec<u8> {
        Card::atr(self).to_vec()
    }
    fn power_on(&mut self) {
        Card::power_on(self);
    }
    fn power_off(&mut self) {
        Card::power_off(self);
    }
    fn reset(&mut self) {
        Card::reset(self);
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        Card::transmit(self, apdu)
    }
    fn diagnostics(&mut self) -> Vec<crate::card::Diagnostic> {
        Card::take_diagnostics(self)
    }
}

/// What happened on a vpcd connection, for logs. APDU events are reported after the answer has
/// been written, so logging never delays the client.
#[derive(Debug)]
pub enum Event<'a> {
    /// Waiting for vpcd to listen (reported once per outage, not per attempt).
    Waiting(&'a io::Error),
    /// Connected to vpcd.
    Connected,
    /// The connection ended; the card lost power.
    Disconnected(&'a Ended),
    /// A control byte (power off / on / reset; GET ATR polls are not reported).
    Control(u8),
    /// An unknown control byte, ignored.
    UnknownControl(u8),
    /// A command APDU and the response sent.
    Apdu { command: &'a [u8], response: &'a [u8] },
    /// What the card said about that command (a Java stack trace), after its `Apdu`.
    Diagnostic(&'a crate::card::Diagnostic),
    /// The response was too long to frame and was replaced by `6700`.
    ResponseTooLong(usize),
}

/// Why one connection ended.
#[derive(Debug)]
pub enum Ended {
    /// vpcd closed the connection between messages (pcscd stopped, or vpcd dropped the card).
    Closed,
    /// The connection closed in the middle of a message (`got` of `want` bytes).
    HalfFrame { got: usize, want: usize },
    /// The peer sent part of a message (`got` of `want` bytes) and then nothing for the frame
    /// timeout ([`Config::frame_timeout`]); the card dropped the connection.
    Stalled { got: usize, want: usize },
    /// [`Stop::stop`] was called.
    Stopped,
    /// A socket error.
    Io(io::Error),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Closed => write!(f, "vpcd closed the connection"),
            Ended::HalfFrame { got, want } => {
                write!(f, "connection lost in the middle of a message ({got} of {want} bytes)")
            }
            Ended::Stalled { got, want } => {
                write!(f, "peer silent in the middle of a message ({got} of {want} bytes); connection dropped")
            }
            Ended::Stopped => write!(f, "stopped"),
            Ended::Io(e) => write!(f, "connection error: {e}"),
        }
    }
}

/// Stops [`serve`] loops from another thread (a signal handler thread): the APDU in flight is
/// finished and answered, blocked reads return at once, back-off sleeps end.
#[derive(Default)]
pub struct Stop {
    state: Mutex<StopState>,
    cv: Condvar,
}

#[derive(Default)]
struct StopState {
    stopped: bool,
    next_id: u64,
    streams: Vec<(u64, TcpStream)>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    fn lock(&self) -> MutexGuard<'_, StopState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks every loop using this handle to end.
    pub fn stop(&self) {
        let mut s = self.lock();
        s.stopped = true;
        for (_, st) in &s.streams {
            // Wakes a reader blocked in recv; writes of an answer in flight still go out.
            let _ = st.shutdown(Shutdown::Read);
        }
        self.cv.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Sleeps up to `d`; returns true when stopped.
    fn sleep(&self, d: Duration) -> bool {
        let s = self.lock();
        let (s, _) = self.cv.wait_timeout_while(s, d, |s| !s.stopped).unwrap_or_else(PoisonError::into_inner);
        s.stopped
    }

    fn register(&self, stream: &TcpStream) -> io::Result<u64> {
        let clone = stream.try_clone()?;
        let mut s = self.lock();
        if s.stopped {
            let _ = clone.shutdown(Shutdown::Read);
        }
        s.next_id += 1;
        let id = s.next_id;
        s.streams.push((id, clone));
        Ok(id)
    }

    fn unregister(&self, id: u64) {
        self.lock().streams.retain(|(i, _)| *i != id);
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Config {
    /// vpcd's listening address (127.0.0.1:PORT: vpcd listens on all interfaces, the card only
    /// ever connects over loopback).
    pub addr: SocketAddr,
    /// Pause between connection attempts while vpcd is not listening.
    pub backoff: Duration,
    /// Pause before the first connection and after a lost one ([`DEFAULT_SETTLE`]).
    pub settle: Duration,
    /// Longest silence inside one message ([`DEFAULT_FRAME_TIMEOUT`]).
    pub frame_timeout: Duration,
}

impl Config {
    /// 127.0.0.1:`port` with the default back-off.
    pub fn local(port: u16) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            backoff: DEFAULT_BACKOFF,
            settle: DEFAULT_SETTLE,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
        }
    }
}

/// Connects to vpcd and serves `card` until `stop` is triggered, reconnecting after every
/// disconnection (pcscd absent, stopped or restarted). The card is powered off at every
/// disconnection and when the loop ends.
pub fn serve<C: VirtualCard>(cfg: &Config, card: &mut C, stop: &Stop, log: &mut dyn FnMut(&Event<'_>)) {
    let mut waiting_reported = false;
    if stop.sleep(cfg.settle) {
        card.power_off();
        return;
    }
    while !stop.is_stopped() {
        let stream = match TcpStream::connect(cfg.addr) {
            Ok(s) => s,
            Err(e) => {
                if !waiting_reported {
                    log(&Event::Waiting(&e));
                    waiting_reported = true;
                }
                if stop.sleep(cfg.backoff) {
                    break;
                }
                continue;
            }
        };
        waiting_reported = false;
        let ended = match stop.register(&stream) {
            Ok(id) => {
                log(&Event::Connected);
                let ended = serve_connection(stream, card, stop, cfg.frame_timeout, log);
                stop.unregister(id);
                ended
            }
            Err(e) => Ended::Io(e),
        };
        card.power_off();
        let stopped = matches!(ended, Ended::Stopped) || stop.is_stopped();
        if stopped {
            log(&Event::Disconnected(&Ended::Stopped));
            break;
        }
        log(&Event::Disconnected(&ended));
        if stop.sleep(cfg.settle) {
            break;
        }
    }
    card.power_off();
}

/// Serves one established connection until it ends. Does not power the card off. A message
/// whose bytes stop coming for `frame_timeout` after its first one ends the connection
/// ([`Ended::Stalled`]).
pub fn serve_connection<C: VirtualCard>(
    mut stream: TcpStream,
    card: &mut C,
    stop: &Stop,
    frame_timeout: Duration,
    log: &mut dyn FnMut(&Event<'_>),
) -> Ended {
    if let Err(e) = stream.set_nodelay(true) {
        return Ended::Io(e);
    }
    // One timeout for every read; a timeout before the first byte of a message only means the
    // reader is idle (read_full goes on waiting), after it the frame is stalled.
    if let Err(e) = stream.set_read_timeout(Some(frame_timeout.max(Duration::from_millis(1)))) {
        return Ended::Io(e);
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut out = Vec::with_capacity(MAX_MESSAGE + 2);
    loop {
        let mut hdr = [0u8; 2];
        match read_full(&mut stream, &mut hdr, true) {
            Ok(()) => {}
            Err(ReadEnd::Eof(0)) => return if stop.is_stopped() { Ended::Stopped } else { Ended::Closed },
            Err(e) => return e.into_ended(2, stop),
        }
        let n = u16::from_be_bytes(hdr) as usize;
        let msg = &mut buf[..n];
        if let Err(e) = read_full(&mut stream, msg, false) {
            return e.into_ended(n, stop).plus_header();
        }
        match n {
            0 => {} // vpcd never sends this; nothing to do.
            1 => match msg[0] {
                CTRL_GET_ATR => {
                    if let Err(e) = send(&mut stream, &mut out, &card.atr()) {
                        return Ended::Io(e);
                    }
                }
                c @ (CTRL_POWER_OFF | CTRL_POWER_ON | CTRL_RESET) => {
                    match c {
                        CTRL_POWER_OFF => card.power_off(),
                        CTRL_POWER_ON => card.power_on(),
                        _ => card.reset(),
                    }
                    log(&Event::Control(c));
                }
                c => log(&Event::UnknownControl(c)),
            },
            _ => {
                let mut rsp = card.transmit(msg);
                let too_long = rsp.len() > MAX_MESSAGE;
                let len = rsp.len();
                if too_long {
                    rsp = Sw::WrongLength.to_bytes().to_vec();
                }
                if let Err(e) = send(&mut stream, &mut out, &rsp) {
                    return Ended::Io(e);
                }
                if too_long {
                    log(&Event::ResponseTooLong(len));
                }
                log(&Event::Apdu { command: msg, response: &rsp });
                for d in card.diagnostics() {
                    log(&Event::Diagnostic(&d));
                }
            }
        }
    }
}

/// Writes one message (length ‖ data) in one write.
fn send(stream: &mut TcpStream, out: &mut Vec<u8>, data: &[u8]) -> io::Result<()> {
    let len = u16::try_from(data.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
    out.clear();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    stream.write_all(out)
}

enum ReadEnd {
    /// End of stream after this many bytes of the buffer.
    Eof(usize),
    /// The read timeout struck after this many bytes of a message had come.
    Stalled(usize),
    Io(io::Error),
}

impl ReadEnd {
    fn into_ended(self, want: usize, stop: &Stop) -> Ended {
        match self {
            ReadEnd::Eof(_) if stop.is_stopped() => Ended::Stopped,
            ReadEnd::Eof(got) => Ended::HalfFrame { got, want },
            ReadEnd::Stalled(got) => Ended::Stalled { got, want },
            ReadEnd::Io(e) => Ended::Io(e),
        }
    }
}

impl Ended {
    /// Counts the 2 header bytes in a half frame cut inside the payload.
    fn plus_header(self) -> Ended {
        match self {
            Ended::HalfFrame { got, want } => Ended::HalfFrame { got: got + 2, want: want + 2 },
            Ended::Stalled { got, want } => Ended::Stalled { got: got + 2, want: want + 2 },
            e => e,
        }
    }
}

/// `read_exact` that re-arms TCP_QUICKACK before every `recv` and tells how far it got. A read
/// timeout is [`ReadEnd::Stalled`], except before the first byte when `idle_ok` (between
/// messages), where it goes on waiting.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], idle_ok: bool) -> Result<(), ReadEnd> {
    let mut got = 0;
    while got < buf.len() {
        // Linux clears QUICKACK after it has acked; without it vpcd's split length/payload
        // writes wait ~40 ms for our delayed ACK (Nagle on vpcd's side).
        let _ = SockRef::from(&*stream).set_quickack(true);
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(ReadEnd::Eof(got)),
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if !(idle_ok && got == 0) {
                    return Err(ReadEnd::Stalled(got));
                }
            }
            Err(e) => return Err(ReadEnd::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// A responder that answers 9000 to everything and counts power events.
    #[derive(Default)]
    struct Echo {
        powered: bool,
        offs: u32,
    }

    impl VirtualCard for Echo {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn power_on(&mut self) {
            self.powered = true;
        }
        fn power_off(&mut self) {
            self.powered = false;
            self.offs += 1;
        }
        fn reset(&mut self) {
            self.powered = true;
        }
        fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
            if apdu[1] == 0x02 {
                // A response too long to frame.
                return vec![0; MAX_MESSAGE + 1];
            }
            let mut r = apdu.to_vec();
            r.extend_from_slice(&Sw::Ok.to_bytes());
            r
        }
    }

    // Test frames are a few bytes.
    #[allow(clippy::cast_possible_truncation)]
    fn frame(b: &[u8]) -> Vec<u8> {
        let mut v = (b.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(b);
        v
    }

    fn read_msg(s: &mut TcpStream) -> Vec<u8> {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).unwrap();
        let mut b = vec![0u8; u16::from_be_bytes(h) as usize];
        s.read_exact(&mut b).unwrap();
        b
    }

    #[test]
    fn protocol_split_writes_half_frames_and_reconnect() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let cfg = Config {
            addr: l.local_addr().unwrap(),
            backoff: Duration::from_millis(20),
            settle: Duration::from_millis(20),
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
        };
        let stop = Arc::new(Stop::new());
        let st = stop.clone();
        let h = std::thread::spawn(move || {
            let mut card = Echo::default();
            let mut events = Vec::new();
            serve(&cfg, &mut card, &st, &mut |e| events.push(format!("{e:?}")));
            (card, events)
        });
        let (mut s, _) = l.accept().unwrap();
        // GET ATR, then power on, then an APDU whose length and payload arrive separately.
        s.write_all(&frame(&[CTRL_GET_ATR])).unwrap();
        assert_eq!(read_msg(&mut s), vec![0x3B, 0x00]);
        s.write_all(&frame(&[CTRL_POWER_ON])).unwrap();
        let apdu = frame(&[0x80, 0x01, 0x00, 0x00]);
        s.write_all(&apdu[..1]).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        s.write_all(&apdu[1..3]).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        s.write_all(&apdu[3..]).unwrap();
        assert_eq!(read_msg(&mut s), vec![0x80, 0x01, 0x00, 0x00, 0x90, 0x00]);
        // Too long to frame: 6700.
        s.write_all(&frame(&[0x80, 0x02, 0x00, 0x00])).unwrap();
        assert_eq!(read_msg(&mut s), Sw::WrongLength.to_bytes().to_vec());
        // A frame cut in the middle, then the connection drops: the card reconnects.
        s.write_all(&[0x00, 0x10, 0x80]).unwrap();
        drop(s);
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&frame(&[CTRL_GET_ATR])).unwrap();
        assert_eq!(read_msg(&mut s), vec![0x3B, 0x00]);
        stop.stop();
        let (card, events) = h.join().unwrap();
        assert!(!card.powered);
        assert!(card.offs >= 2, "{}", card.offs);
        let all = events.join("\n");
        assert!(all.contains("HalfFrame { got: 3, want: 18 }"), "{all}");
        assert!(all.contains("ResponseTooLong(65536)"), "{all}");
        assert!(all.contains("Disconnected(Stopped)"), "{all}");
    }

    #[test]
    fn peer_silent_in_half_a_frame_is_dropped_idle_peer_is_not() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let cfg = Config {
            addr: l.local_addr().unwrap(),
            backoff: Duration::from_millis(20),
            settle: Duration::from_millis(20),
            frame_timeout: Duration::from_millis(200),
        };
        let stop = Arc::new(Stop::new());
        let st = stop.clone();
        let h = std::thread::spawn(move || {
            let mut events = Vec::new();
            serve(&cfg, &mut Echo::default(), &st, &mut |e| events.push(format!("{e:?}")));
            events
        });
        let (mut s, _) = l.accept().unwrap();
        // Idle for three timeouts between messages: still served on the same connection.
        std::thread::sleep(Duration::from_millis(600));
        s.write_all(&frame(&[CTRL_GET_ATR])).unwrap();
        assert_eq!(read_msg(&mut s), vec![0x3B, 0x00]);
        // Half a frame, then silence with the socket held open: dropped after the timeout and
        // the card connects again.
        let t = std::time::Instant::now();
        s.write_all(&[0x00, 0x10, 0x80]).unwrap();
        let (mut s2, _) = l.accept().unwrap();
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).unwrap(), 0, "the stalled connection was closed");
        // A header cut after its first byte is stalled too.
        s2.write_all(&[0x00]).unwrap();
        let (mut s3, _) = l.accept().unwrap();
        s3.write_all(&frame(&[CTRL_GET_ATR])).unwrap();
        assert_eq!(read_msg(&mut s3), vec![0x3B, 0x00]);
        stop.stop();
        let all = h.join().unwrap().join("\n");
        assert!(all.contains("Stalled { got: 3, want: 18 }"), "{all}");
        assert!(all.contains("Stalled { got: 1, want: 2 }"), "{all}");
        assert_eq!(
            Ended::Stalled { got: 3, want: 18 }.to_string(),
            "peer silent in the middle of a message (3 of 18 bytes); connection dropped"
        );
    }

    #[test]
    fn waits_for_vpcd_and_stops_during_backoff() {
        // A port with nothing listening.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = Config::local(port);
        let stop = Arc::new(Stop::new());
        let st = stop.clone();
        let h = std::thread::spawn(move || {
            let mut n = 0;
            serve(&cfg, &mut Echo::default(), &st, &mut |e| {
                if matches!(e, Event::Waiting(_)) {
                    n += 1
                }
            });
            n
        });
        std::thread::sleep(Duration::from_millis(1200));
        let t = std::time::Instant::now();
        stop.stop();
        assert_eq!(h.join().unwrap(), 1);
        assert!(t.elapsed() < Duration::from_millis(300));
    }
}
