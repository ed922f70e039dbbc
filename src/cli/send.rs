//! `gpse send`: APDUs in order to one powered card, optionally inside an SCP03 secure channel.

use super::common::{hex_arg, parse_keys, parse_kvn};
use super::{Fail, Globals};
use gpse::apdu::{Class, Command, Response};
use gpse::crypto::CardRng;
use gpse::hexutil::upper;
use gpse::scp03::host::{HostSession, OpenOptions};
use gpse::scp03::{SecurityLevel, StaticKeys};
use gpse::tlv;
use gpse::transport::scp::SessionIo;
use gpse::transport::{Transport, TransportError};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Each command prints `> CMD` and `< RESPONSE` in upper-case hex without spaces.
Example: gpse send --state ./card 00A4040008A000000151000000 80CA9F7F00

Every APDU is parsed as an ISO 7816-4 command (header, Lc, data, Le) before any is sent; a
malformed one is refused with its position and nothing is sent. --raw sends the bytes as given
(to see how a card answers a malformed command).

With --scp03 the APDUs are still sent in the order given. SELECT commands (CLA 0x, INS A4) go in
plain. Before the first other APDU, a secure channel is opened with the security domain selected
on that APDU's logical channel (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE at --level), and that APDU
and the following ones on the same channel are wrapped (C-MAC, C-DECRYPTION) and their responses
unwrapped (R-MAC, R-ENC). `>`/`<` show the plain command and response; -v adds the wire bytes
(`>>`/`<<`), including INITIALIZE UPDATE and EXTERNAL AUTHENTICATE. A later SELECT ends the session
on the card; the next APDU that is not a SELECT opens a new one. APDUs on other channels go plain.
Session keys are printed only with --show-keys.
Example: gpse send --state ./card --scp03 404142434445464748494A4B4C4D4E4F --level 33 \\
           00A4040008A000000151000000 80CA00CF00")]
pub struct SendArgs {
    #[command(flatten)]
    pub trace: super::common::TraceArgs,
    /// Print only the responses, one hex line each.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also print a decoded view (status word meaning, TLV structure) and, with --scp03, the
    /// wire bytes.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Send the APDUs as given, without checking their ISO 7816-4 structure (deliberately
    /// malformed commands); not with --scp03.
    #[arg(long, conflicts_with = "scp03")]
    pub raw: bool,
    /// Open an SCP03 secure channel with these static keys: ENC:MAC:DEK (hex, 16/24/32 bytes
    /// each) or one key for all three, with an optional key version number in hex, 0x accepted
    /// (default 00: the card's first key set), e.g. 404142434445464748494A4B4C4D4E4F@30.
    #[arg(long, value_name = "ENC:MAC:DEK[@KVN]")]
    pub scp03: Option<String>,
    /// SCP03 security level (EXTERNAL AUTHENTICATE P1): 00, 01 (C-MAC), 03 (+C-DEC),
    /// 11 (C-MAC+R-MAC), 13 (C-DEC+C-MAC+R-MAC) or 33 (all).
    #[arg(long, default_value = "01", requires = "scp03")]
    pub level: SecurityLevel,
    /// The 8-byte host challenge (hex) instead of a random one.
    #[arg(long, value_name = "HEX", requires = "scp03")]
    pub host_challenge: Option<String>,
    /// SCP03 S16 mode (Amendment D v1.2; GPP --s16): 16-byte host challenge, card challenge
    /// and cryptograms, for a key set whose i parameter has b1 set. A --host-challenge is then
    /// sent twice.
    #[arg(long, requires = "scp03")]
    pub s16: bool,
    /// Print the SCP03 session keys (S-ENC, S-MAC, S-RMAC). They are never printed otherwise.
    #[arg(long, requires = "scp03")]
    pub show_keys: bool,
    /// The APDUs, hex (spaces inside one argument are fine when quoted).
    #[arg(required = true, value_name = "APDU")]
    pub apdus: Vec<String>,
}

/// `ENC:MAC:DEK[@KVN]`.
fn parse_scp03(s: &str) -> Result<(StaticKeys, u8), String> {
    let (k, kvn) = match s.rsplit_once('@') {
        Some((k, v)) => (k, parse_kvn(v).map_err(|e| format!("--scp03: {e}"))?),
        None => (s, 0),
    };
    let (e, m, d) = parse_keys(k).map_err(|e| format!("--scp03: {e}"))?;
    let keys = StaticKeys::new(&e, &m, &d).map_err(|e| format!("--scp03: {e}"))?;
    Ok((keys, kvn))
}

pub fn run(a: SendArgs, g: &Globals) -> Result<ExitCode, Fail> {
    // Parse every APDU before touching the card: a typo sends nothing.
    let apdus = a
        .apdus
        .iter()
        .enumerate()
        .map(|(i, s)| hex_arg(&format!("APDU {}", i + 1), s))
        .collect::<Result<Vec<_>, _>>()?;
    let commands = apdus
        .iter()
        .enumerate()
        .map(|(i, b)| match (Command::parse(b), a.raw) {
            (Ok(c), _) => Ok(Some(c)),
            (Err(_), true) => Ok(None),
            (Err(_), false) => Err(format!(
                "APDU {} '{}': {}; nothing was sent (--raw sends malformed APDUs as given)",
                i + 1,
                a.apdus[i],
                malformed(b)
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scp = a.scp03.as_deref().map(parse_scp03).transpose()?;
    let host_challenge = match &a.host_challenge {
        Some(h) => Some(
            <[u8; 8]>::try_from(hex_arg("--host-challenge", h)?)
                .map_err(|_| "--host-challenge is 8 bytes".to_string())?,
        ),
        None => None,
    };
    // $GPSE_READER, unless --state names a card image.
    let env_reader = std::env::var("GPSE_READER").ok().filter(|r| !r.is_empty() && g.state.is_none());
    let reader = g.one_reader()?.map(str::to_string).or(env_reader);
    let mut card = g.transport_to(reader.as_deref())?;
    if let Some(spec) = a.trace.spec()? {
        if !card.set_trace(&spec) {
            return Err("--trace-bytecode/--trace-api need a card in this process (--state), not a reader".into());
        }
    }
    let Some((keys, kvn)) = scp else {
        for apdu in apdus {
            let rsp = card.transmit(&apdu).map_err(|e| format!("{}: {e}", card.name()))?;
            print_exchange(&a, &apdu, &rsp);
            print_diagnostics(&mut *card, a.verbose);
        }
        return Ok(ExitCode::SUCCESS);
    };
    // --raw conflicts with --scp03: every APDU parsed.
    let commands: Vec<Command> = commands.into_iter().flatten().collect();
    // Host challenges: OS randomness, or a stream of their own when --seed makes the card
    // reproducible.
    let mut host_rng = CardRng::new(g.seed.map(|s| s ^ 0x5343_5030_3348_4F53));
    let verbose = a.verbose > 0 && !a.quiet;
    let mut t = Traced { inner: &mut *card, show: false };
    let mut session: Option<HostSession> = None;
    for (apdu, cmd) in apdus.iter().zip(&commands) {
        let class = Class::parse(cmd.cla).ok();
        let is_select = class.is_some_and(|c| !c.proprietary) && cmd.ins == 0xA4;
        let channel = class.map_or(0, |c| c.channel);
        if is_select {
            if session.as_ref().is_some_and(|s| s.channel() == channel) && !a.quiet {
                outln!("# SELECT ends the secure channel session on channel {channel}");
            }
            session = session.filter(|s| s.channel() != channel);
            let rsp = t.transmit(apdu).map_err(|e| e.to_string())?;
            print_exchange(&a, apdu, &rsp);
            print_diagnostics(&mut t, a.verbose);
            continue;
        }
        if session.is_none() {
            let opts = OpenOptions { kvn, level: a.level, host_challenge, channel, s16: a.s16 };
            t.show = verbose;
            let s = HostSession::open(&mut t, &keys, &opts, &mut host_rng)
                .map_err(|e| format!("opening the SCP03 secure channel: {e}"))?;
            t.show = false;
            if !a.quiet {
                let i = s.info();
                outln!(
                    "# SCP03 session on channel {channel}: KVN {:02X}, i {:02X}, level {}, AES-{}{}",
                    i.kvn,
                    i.i,
                    s.level(),
                    keys.len() * 8,
                    i.seq_counter.map_or(String::new(), |c| format!(", sequence counter {c:06X}"))
                );
                if a.show_keys {
                    let [e, m, r] = s.session_keys().expose();
                    outln!("# session keys: S-ENC {} S-MAC {} S-RMAC {}", upper(e), upper(m), upper(r));
                }
            }
            session = Some(s);
        }
        let s = session.as_mut().filter(|s| s.channel() == channel);
        let Some(s) = s else {
            let rsp = t.transmit(apdu).map_err(|e| e.to_string())?;
            print_exchange(&a, apdu, &rsp);
            print_diagnostics(&mut t, a.verbose);
            continue;
        };
        let x = s.exchange(&mut t, cmd).map_err(|e| format!("secure channel: {e}"))?;
        let plain = x.response.to_bytes();
        if a.quiet {
            outln!("{}", upper(&plain));
            continue;
        }
        outln!("> {}", upper(&cmd.to_bytes()));
        if verbose {
            outln!(">> {}", upper(&x.wire_command));
            outln!("<< {}", upper(&x.wire_response));
        }
        outln!("< {}", upper(&plain));
        if a.verbose > 0 {
            print_decoded(&cmd.to_bytes(), &plain);
        }
        print_diagnostics(&mut t, a.verbose);
        if !x.response.sw.is_success_or_warning() && s.level().c_mac() {
            // The card may have ended the session (a security error does); GP commands that
            // follow would fail, so say so rather than guess.
            if x.response.sw == gpse::Sw::SecurityNotSatisfied {
                outln!("# 6982: the card ended the secure channel session");
                session = None;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the wire exchanges of INITIALIZE UPDATE and EXTERNAL AUTHENTICATE with -v.
struct Traced<'a> {
    inner: &'a mut dyn Transport,
    show: bool,
}

impl Transport for Traced<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.inner.transmit(apdu)?;
        if self.show {
            outln!(">> {}", upper(apdu));
            outln!("<< {}", upper(&r));
        }
        Ok(r)
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        self.inner.reset()
    }
    fn name(&self) -> String {
        self.inner.name()
    }
    fn diagnostics(&mut self) -> Vec<gpse::card::Diagnostic> {
        self.inner.diagnostics()
    }
}

/// With -v, the Java stack of an exception that escaped a CAP applet (with -vv also the
/// `ISOException`s, an applet's normal way of answering a status word), each line `! `.
fn print_diagnostics(t: &mut dyn Transport, verbose: u8) {
    for l in super::common::diagnostic_lines(t, verbose) {
        outln!("{l}");
    }
}

fn print_exchange(a: &SendArgs, apdu: &[u8], rsp: &[u8]) {
    if a.quiet {
        outln!("{}", upper(rsp));
        return;
    }
    outln!("> {}", upper(apdu));
    outln!("< {}", upper(rsp));
    if a.verbose > 0 {
        print_decoded(apdu, rsp);
    }
}

fn print_decoded(apdu: &[u8], rsp: &[u8]) {
    match Command::parse(apdu) {
        // Lc is absent, not 0, when there is no data (cases 1 and 2; ISO 7816-4 §5.1).
        Ok(c) => outln!(
            "  command: CLA {:02X} INS {:02X} P1 {:02X} P2 {:02X}, Lc {}, Le {}",
            c.cla,
            c.ins,
            c.p1,
            c.p2,
            if c.data.is_empty() { "absent".to_string() } else { c.data.len().to_string() },
            c.ne.map_or("absent".to_string(), |n| n.to_string())
        ),
        Err(_) => outln!("  command: malformed"),
    }
    if let Some(r) = Response::parse(rsp) {
        outln!("  status: {} {}", r.sw, r.sw.meaning());
        match tlv::Node::parse_all(&r.data, tlv::Mode::Ber) {
            Ok(nodes) => nodes.iter().for_each(|n| print_node(n, 2)),
            // Not TLV at all is common (plain data); say so only when it is TLV too deep to show.
            Err(e @ tlv::TlvError::TooDeep) => outln!("  data not decoded: {e}"),
            Err(_) => {}
        }
    }
}

fn print_node(n: &tlv::Node, indent: usize) {
    match n {
        tlv::Node::Primitive(t, v) => outln!("{:indent$}{}: {}", "", tlv::tag_hex(*t), upper(v)),
        tlv::Node::Constructed(t, kids) => {
            outln!("{:indent$}{}:", "", tlv::tag_hex(*t));
            for k in kids {
                print_node(k, indent + 2);
            }
        }
    }
}

/// Why `b` is not an ISO 7816-4 command APDU (§5.1: header, then nothing, Le, Lc and data, or
/// Lc, data and Le; short or extended lengths), naming the byte at fault (1-based).
fn malformed(b: &[u8]) -> String {
    let follow = |n: usize| format!("{n} {}", if n == 1 { "follows" } else { "follow" });
    if b.len() < 4 {
        return format!("{} byte(s), but a command APDU starts with the 4 header bytes CLA INS P1 P2", b.len());
    }
    let body = &b[4..];
    if body[0] != 0 {
        let lc = usize::from(body[0]);
        let rest = body.len() - 1;
        return if rest < lc {
            format!("Lc (byte 5) is {lc:02X}: {lc} data bytes, but {}", follow(rest))
        } else {
            format!("Lc (byte 5) is {lc:02X}: {lc} data bytes and at most an Le byte may follow, but {}", follow(rest))
        };
    }
    if body.len() == 2 {
        return "byte 5 is 00, an extended length, but only one byte follows (extended Le is 00 Le1 Le2)".into();
    }
    let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
    if lc == 0 {
        return "extended Lc (bytes 6-7) is 0000 with data following".into();
    }
    let rest = body.len() - 3;
    format!(
        "extended Lc (bytes 6-7) is {lc:04X}: {lc} data bytes and at most 2 Le bytes may follow, but {}",
        follow(rest)
    )
}
