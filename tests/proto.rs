//! The protocol layer between host and card: every host role opens its logical channel through
//! one place and survives a card that answers MANAGE CHANNEL oddly; the commands the host
//! clients build are the ones the card's parsers accept, end to end on the emulated card.

// Test and bench code: a failing unwrap is a failing run, and casts are of small test values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

use gpse::card::Card;
use gpse::host::ace::{Ace, AraState, Refresh};
use gpse::host::tsm::sp::SpSession;
use gpse::proto::gp::{GetData, IsdCommand};
use gpse::proto::iso::{ManageChannel, SelectAid};
use gpse::proto::jpki::{JpkiCommand, PairId, AID as JPKI_AID};
use gpse::scp03::StaticKeys;
use gpse::transport::{Transport, TransportError};
use gpse::{Command, Response, Sw};

mod common;

fn card() -> Card {
    let mut c = Card::in_memory(common::cards::default_image(5), Some(5)).unwrap();
    c.power_on();
    c
}

fn keys() -> StaticKeys {
    let k: Vec<u8> = (0x40..0x50).collect();
    StaticKeys::new(&k, &k, &k).unwrap()
}

/// The emulated card, except that MANAGE CHANNEL open gets a fixed (odd) answer.
struct OddChannels {
    card: Card,
    open_answer: Vec<u8>,
    opens: usize,
}

impl Transport for OddChannels {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let is_open = Command::parse(apdu).is_ok_and(|c| ManageChannel::try_from(&c) == Ok(ManageChannel::Open));
        if is_open {
            self.opens += 1;
            return Ok(self.open_answer.clone());
        }
        Ok(self.card.transmit(apdu))
    }
    fn reset(&mut self) -> Result<Vec<u8>, TransportError> {
        Ok(self.card.reset())
    }
    fn name(&self) -> String {
        "odd channels".into()
    }
}

/// Channel numbers no class byte codes, no number, two numbers, a refusal: each host role
/// gives a typed error (or, for the ACE, a failed refresh that denies everything), no panic.
#[test]
fn odd_manage_channel_answers_are_errors_in_every_role() {
    for answer in ["149000", "009000", "FF9000", "9000", "01029000", "6881"] {
        let mut t = OddChannels { card: card(), open_answer: hex::decode(answer).unwrap(), opens: 0 };
        let mut rng = gpse::crypto::CardRng::new(Some(1));

        let e = SpSession::open(&mut t, &keys(), 0, &mut rng).err().expect("SP-TSM session on an odd channel");
        assert!(e.to_string().contains("MANAGE CHANNEL"), "{answer}: {e}");

        let e = gpse::host::tsm::sei::allow_app(&mut t, &keys(), 0, &mut rng, &JPKI_AID, &[0x11; 20]).unwrap_err();
        assert!(e.to_string().contains("MANAGE CHANNEL"), "{answer}: {e}");

        let mut ace = Ace::new();
        assert_eq!(ace.refresh(&mut t).unwrap(), Refresh::Failed, "{answer}");
        match ace.state() {
            AraState::Error(m) => assert!(m.contains("could not open a logical channel"), "{answer}: {m}"),
            s => panic!("{answer}: ACE state {s:?}"),
        }
        assert!(!ace.check_open(&[vec![0x11; 20]], Some(&JPKI_AID)).allowed);
        assert_eq!(t.opens, 3, "each role opened its channel once");
    }
}

fn send(c: &mut Card, cmd: &Command) -> Response {
    Response::parse(&c.transmit(&cmd.to_bytes())).unwrap()
}

/// What the host encodes, the card's parser takes: on the basic channel and on an opened one.
#[test]
fn host_encodings_are_what_the_card_answers() {
    let mut c = card();
    // The ISD by GPP's discovery SELECT, then GET DATA as the GP client builds it.
    assert_eq!(send(&mut c, &SelectAid::fci(&[]).to_command()).sw, Sw::Ok);
    let cplc = GetData { tag: 0x9F7F }.to_command();
    assert_eq!(IsdCommand::try_from(&cplc), Ok(IsdCommand::GetData { tag: 0x9F7F }));
    let r = send(&mut c, &cplc);
    assert_eq!((r.sw, &r.data[..3]), (Sw::Ok, &[0x9F, 0x7F, 0x2A][..]));
    // A channel of its own, the JPKI AP there, the user path.
    let r = send(&mut c, &ManageChannel::Open.to_command().unwrap());
    let ch = ManageChannel::opened(&r).unwrap();
    let on = |cmd: Command| cmd.on_channel(ch).unwrap();
    assert_eq!(send(&mut c, &on(SelectAid::no_data(&JPKI_AID).to_command())).sw, Sw::Ok);
    let pin_ef = JpkiCommand::SelectEf { fid: gpse::proto::jpki::Ef::Pin(PairId::Auth).fid() };
    assert_eq!(send(&mut c, &on(pin_ef.to_command())).sw, Sw::Ok);
    // No PIN set on a fresh card: the empty VERIFY says it cannot be used.
    let verify = JpkiCommand::Verify { sfi: None, pin: None };
    assert_eq!(send(&mut c, &on(verify.to_command())).sw, Sw::ReferenceDataNotUsable);
    // Management without the SP-TSM's secure channel: refused.
    assert_eq!(send(&mut c, &on(JpkiCommand::PairStatus(PairId::Auth).to_command())).sw, Sw::SecurityNotSatisfied);
    assert_eq!(send(&mut c, &ManageChannel::Close(ch).to_command().unwrap()).sw, Sw::Ok);
}
