//! INSTALL (GPCS §11.5; `globalplatform.md` §B.5): [for load], [for install], [for make
//! selectable], [for install and make selectable], [for extradition], [for personalization],
//! [for registry update].

use super::{Privileges, GP_CLA};
use crate::aid::Aid;
use crate::apdu::Command;
use crate::proto::lv::{aid, opt_aid, put_ber_lv, put_lv, LvReader};
use crate::sw::Sw;
use crate::tlv::{self, Mode};

/// A typed INSTALL command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// P1 `02` (T11-42).
    ForLoad { elf: Aid, sd: Option<Aid>, hash: Vec<u8> },
    /// P1 `04`, or `0C` with `make_selectable` (T11-43).
    ForInstall { elf: Aid, module: Aid, instance: Aid, privileges: [u8; 3], params: Vec<u8>, make_selectable: bool },
    /// P1 `08` (T11-44).
    MakeSelectable { app: Aid, privileges: [u8; 3] },
    /// P1 `10` (T11-45).
    Extradition { sd: Aid, object: Aid },
    /// P1 `20` (T11-47).
    Personalization { app: Aid },
    /// P1 `40` (T11-46).
    RegistryUpdate { sd: Option<Aid>, app: Aid, privileges: Option<[u8; 3]> },
}

/// Privileges of 1 byte (bytes 2-3 default to `00`, GPCS §11.5.2.3.2) or 3.
fn privileges(b: &[u8]) -> Result<[u8; 3], Sw> {
    match b {
        [p] => Ok([*p, 0, 0]),
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err(Sw::WrongData),
    }
}

/// The application-specific parameters: the value of `C9`, which must be present (GPCS T11-49).
fn c9_value(params: &[u8]) -> Result<Vec<u8>, Sw> {
    let tlvs = tlv::parse_all(params, Mode::Ber).map_err(|_| Sw::WrongData)?;
    Ok(tlv::find(&tlvs, 0xC9).ok_or(Sw::WrongData)?.value.to_vec())
}

impl TryFrom<&Command> for Install {
    type Error = Sw;
    fn try_from(c: &Command) -> Result<Self, Sw> {
        if c.p2 != 0x00 {
            return Err(Sw::IncorrectP1P2);
        }
        let mut r = LvReader::new(&c.data);
        // P1 b8 is "more INSTALL commands follow" (GPCS T11-41), not needed here.
        let cmd = match c.p1 & 0x7F {
            0x02 => {
                let elf = aid(r.lv()?)?;
                let sd = opt_aid(r.lv()?)?;
                let hash = r.lv_opt()?.to_vec();
                if ![0, 20, 32, 48, 64].contains(&hash.len()) {
                    return Err(Sw::WrongData);
                }
                r.ber_lv_opt()?; // load parameters (memory quotas): not enforced
                r.ber_lv_opt()?; // load token: not verified (no delegated management)
                Install::ForLoad { elf, sd, hash }
            }
            p1 @ (0x04 | 0x0C) => {
                let elf = aid(r.lv()?)?;
                let module = aid(r.lv()?)?;
                let instance = aid(r.lv()?)?;
                let privileges = privileges(r.lv()?)?;
                let params = c9_value(r.ber_lv_opt()?)?;
                r.ber_lv_opt()?; // install token
                let make_selectable = p1 == 0x0C;
                if Privileges::from_bytes(privileges).contains(Privileges::CARD_RESET) && !make_selectable {
                    return Err(Sw::WrongData);
                }
                Install::ForInstall { elf, module, instance, privileges, params, make_selectable }
            }
            0x08 => {
                r.lv()?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                let p = r.lv_opt()?;
                let privileges = if p.is_empty() { [0; 3] } else { privileges(p)? };
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::MakeSelectable { app, privileges }
            }
            0x10 => {
                let sd = aid(r.lv()?)?;
                r.lv()?;
                let object = aid(r.lv()?)?;
                r.lv_opt()?;
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::Extradition { sd, object }
            }
            0x20 => {
                r.lv()?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                r.lv_opt()?;
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::Personalization { app }
            }
            0x40 => {
                let sd = opt_aid(r.lv()?)?;
                r.lv()?;
                let app = aid(r.lv()?)?;
                let p = r.lv_opt()?;
                let privileges = if p.is_empty() { None } else { Some(privileges(p)?) };
                r.ber_lv_opt()?;
                r.ber_lv_opt()?;
                Install::RegistryUpdate { sd, app, privileges }
            }
            _ => return Err(Sw::IncorrectP1P2),
        };
        r.finish()?;
        Ok(cmd)
    }
}

impl Install {
    /// P1 of this form (b8 "more INSTALL commands follow" is never set: one command each).
    pub fn p1(&self) -> u8 {
        match self {
            Install::ForLoad { .. } => 0x02,
            Install::ForInstall { make_selectable: false, .. } => 0x04,
            Install::ForInstall { make_selectable: true, .. } => 0x0C,
            Install::MakeSelectable { .. } => 0x08,
            Install::Extradition { .. } => 0x10,
            Install::Personalization { .. } => 0x20,
            Install::RegistryUpdate { .. } => 0x40,
        }
    }

    /// `80 E6 P1 00 Lc data 00`, with the fields GPP sends (GPCS T11-42..47): empty load
    /// parameters and tokens; the C9 parameters of [for install] in a BER-length field.
    ///
    /// # Panics
    /// When a [for load] hash is longer than 255 bytes (a caller's error: the card accepts 0,
    /// 20, 32, 48 or 64).
    pub fn to_command(&self) -> Command {
        let mut d = Vec::new();
        match self {
            Install::ForLoad { elf, sd, hash } => {
                put_lv(&mut d, elf.as_bytes());
                put_lv(&mut d, sd.as_ref().map_or(&[][..], Aid::as_bytes));
                put_lv(&mut d, hash);
                d.extend([0x00, 0x00]); // no load parameters, no token
            }
            Install::ForInstall { elf, module, instance, privileges, params, .. } => {
                put_lv(&mut d, elf.as_bytes());
                put_lv(&mut d, module.as_bytes());
                put_lv(&mut d, instance.as_bytes());
                put_lv(&mut d, wire_privileges(privileges));
                put_ber_lv(&mut d, &tlv::tlv(0xC9, params));
                d.push(0x00); // no token
            }
            Install::MakeSelectable { app, privileges } => {
                d.extend([0x00, 0x00]);
                put_lv(&mut d, app.as_bytes());
                put_lv(&mut d, wire_privileges(privileges));
                d.push(0x00); // no parameters; GPP leaves the token length out
            }
            Install::Extradition { sd, object } => {
                put_lv(&mut d, sd.as_bytes());
                d.push(0x00);
                put_lv(&mut d, object.as_bytes());
                d.extend([0x00, 0x00, 0x00]);
            }
            Install::Personalization { app } => {
                d.extend([0x00, 0x00]);
                put_lv(&mut d, app.as_bytes());
                d.extend([0x00, 0x00, 0x00]);
            }
            Install::RegistryUpdate { sd, app, privileges } => {
                put_lv(&mut d, sd.as_ref().map_or(&[][..], Aid::as_bytes));
                d.push(0x00);
                put_lv(&mut d, app.as_bytes());
                put_lv(&mut d, privileges.as_ref().map_or(&[][..], wire_privileges));
                d.extend([0x00, 0x00]);
            }
        }
        Command::new(GP_CLA, 0xE6, self.p1(), 0x00).with_data(d).with_ne(256)
    }
}

/// The shortest privileges field for these bytes: one byte when bytes 2-3 are `00` (GPCS
/// §11.5.2.3.2 lets the card default them), else all three.
fn wire_privileges(p: &[u8; 3]) -> &[u8] {
    if p[1] == 0 && p[2] == 0 {
        &p[..1]
    } else {
        &p[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn aid() -> impl Strategy<Value = Aid> {
        proptest::collection::vec(any::<u8>(), 5..=16).prop_map(|v| Aid::new(&v).unwrap())
    }

    fn privileges() -> impl Strategy<Value = [u8; 3]> {
        any::<[u8; 3]>()
    }

    fn install() -> impl Strategy<Value = Install> {
        let hash = prop_oneof![Just(0usize), Just(20), Just(32), Just(48), Just(64)]
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n));
        prop_oneof![
            (aid(), proptest::option::of(aid()), hash).prop_map(|(elf, sd, hash)| Install::ForLoad { elf, sd, hash }),
            (aid(), aid(), aid(), privileges(), proptest::collection::vec(any::<u8>(), 0..300), any::<bool>())
                .prop_map(|(elf, module, instance, mut privileges, params, make_selectable)| {
                    if !make_selectable {
                        privileges = (Privileges::from_bytes(privileges) - Privileges::CARD_RESET).to_bytes();
                    }
                    Install::ForInstall { elf, module, instance, privileges, params, make_selectable }
                }),
            (aid(), privileges()).prop_map(|(app, privileges)| Install::MakeSelectable { app, privileges }),
            (aid(), aid()).prop_map(|(sd, object)| Install::Extradition { sd, object }),
            aid().prop_map(|app| Install::Personalization { app }),
            (proptest::option::of(aid()), aid(), proptest::option::of(privileges()))
                .prop_map(|(sd, app, privileges)| Install::RegistryUpdate { sd, app, privileges }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(x in install()) {
            prop_assert_eq!(Install::try_from(&x.to_command()), Ok(x));
        }
    }

    #[test]
    fn exact_bytes_of_the_flows() {
        // applet-spec/flows.md, SEI-TSM preparation: the SSD and the JPKI instance.
        let a = |h: &str| Aid::new(&hex::decode(h).unwrap()).unwrap();
        let ssd = Install::ForInstall {
            elf: a("A0000001515350"),
            module: a("A000000151535041"),
            instance: a("A00000015153504A504B49"),
            privileges: [0x80, 0, 0],
            params: vec![],
            make_selectable: true,
        };
        assert_eq!(
            hex::encode_upper(ssd.to_command().to_bytes()),
            "80E60C002307A000000151535008A0000001515350410BA00000015153504A504B49018002C9000000"
        );
        let load = Install::ForLoad { elf: a("A0000000620001"), sd: None, hash: vec![] };
        assert_eq!(hex::encode_upper(load.to_command().to_bytes()), "80E602000C07A00000006200010000000000");
    }

    #[test]
    fn card_reset_needs_make_selectable() {
        let mut c = Install::ForInstall {
            elf: Aid::from_static(&[1; 5]),
            module: Aid::from_static(&[2; 5]),
            instance: Aid::from_static(&[3; 5]),
            privileges: Privileges::CARD_RESET.to_bytes(),
            params: vec![],
            make_selectable: true,
        }
        .to_command();
        c.p1 = 0x04;
        assert_eq!(Install::try_from(&c), Err(Sw::WrongData));
    }
}
