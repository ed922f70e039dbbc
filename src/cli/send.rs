//! `gpse send`: APDUs in order to one powered card.

use super::common::{hex_arg, open_transport, parse_num, CardDir};
use gpse::apdu::{Command, Response};
use gpse::hexutil::upper;
use gpse::tlv;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "Each command prints `> CMD` and `< RESPONSE` in upper-case hex without spaces.
Example: gpse send --state ./card 00A4040008A000000151000000 80CA9F7F00")]
pub struct SendArgs {
    #[command(flatten)]
    pub dir: CardDir,
    /// Talk to the card in this PC/SC reader (name, number, or unique part of the name) instead
    /// of the card image of --state.
    #[arg(long, value_name = "NAME", env = "GPSE_READER")]
    pub reader: Option<String>,
    /// Print only the responses, one hex line each.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also print a decoded view (status word meaning, TLV structure).
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Seed the card's RNG for reproducible challenges and keys.
    #[arg(long, value_parser = parse_num)]
    pub seed: Option<u64>,
    /// The APDUs, hex (spaces inside one argument are fine when quoted).
    #[arg(required = true, value_name = "APDU")]
    pub apdus: Vec<String>,
}

pub fn run(a: SendArgs) -> Result<ExitCode, String> {
    // Parse every APDU before touching the card: a typo sends nothing.
    let apdus = a
        .apdus
        .iter()
        .enumerate()
        .map(|(i, s)| hex_arg(&format!("APDU {}", i + 1), s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut card = open_transport(&a.dir, a.reader.as_deref(), a.seed)?;
    for apdu in apdus {
        let rsp = card.transmit(&apdu).map_err(|e| format!("{}: {e}", card.name()))?;
        if a.quiet {
            println!("{}", upper(&rsp));
            continue;
        }
        println!("> {}", upper(&apdu));
        println!("< {}", upper(&rsp));
        if a.verbose > 0 {
            print_decoded(&apdu, &rsp);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_decoded(apdu: &[u8], rsp: &[u8]) {
    match Command::parse(apdu) {
        Ok(c) => println!(
            "  command: CLA {:02X} INS {:02X} P1 {:02X} P2 {:02X}, Lc {}, Le {}",
            c.cla,
            c.ins,
            c.p1,
            c.p2,
            c.data.len(),
            c.ne.map_or("absent".to_string(), |n| n.to_string())
        ),
        Err(_) => println!("  command: malformed"),
    }
    if let Some(r) = Response::parse(rsp) {
        println!("  status: {} {}", r.sw, r.sw.meaning());
        if let Ok(nodes) = tlv::Node::parse_all(&r.data, tlv::Mode::Ber) {
            for n in &nodes {
                print_node(n, 2);
            }
        }
    }
}

fn print_node(n: &tlv::Node, indent: usize) {
    match n {
        tlv::Node::Primitive(t, v) => println!("{:indent$}{t:X}: {}", "", upper(v)),
        tlv::Node::Constructed(t, kids) => {
            println!("{:indent$}{t:X}:", "");
            for k in kids {
                print_node(k, indent + 2);
            }
        }
    }
}
