//! `gpse card`: create and inspect card images.

use super::common::{open_card, parse_num, CardDir, KeysArg};
use gpse::card::profile::{Overrides, Profile};
use gpse::card::{Card, CardEvent};
use gpse::crypto::CardRng;
use gpse::hexutil::upper;
use gpse::store::Durability;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum CardCmd {
    /// Create a new card image from a profile (the built-in default unless --profile).
    #[command(
        after_help = "Example: gpse card init --state ./card --keys 404142434445464748494A4B4C4D4E4F:404142434445464748494A4B4C4D4E4F:404142434445464748494A4B4C4D4E4F --kvn 0x30"
    )]
    Init(InitArgs),
    /// Print what a card image holds (profile, ATR, registry, key sets without their values).
    Info(InfoArgs),
    /// Deliver the phone's factory-reset event to the card's applets.
    FactoryReset(InfoArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub dir: CardDir,
    /// A profile file (TOML); see profiles/default.toml.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// ISD key set (hex, 16/24/32 bytes each) [default: the profile's].
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number of the ISD key set.
    #[arg(long, value_parser = parse_num)]
    pub kvn: Option<u64>,
    /// Initial SCP03 sequence counter.
    #[arg(long, value_parser = parse_num)]
    pub seq_counter: Option<u64>,
    /// Seed for anything random made at install (reproducible cards).
    #[arg(long, value_parser = parse_num)]
    pub seed: Option<u64>,
    /// Replace an existing image in DIR.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub dir: CardDir,
}

pub fn run(c: CardCmd) -> Result<ExitCode, String> {
    match c {
        CardCmd::Init(a) => init(a),
        CardCmd::Info(a) => info(a),
        CardCmd::FactoryReset(a) => {
            let mut card = open_card(&a.dir, None)?;
            card.deliver_event(CardEvent::FactoryReset).map_err(|sw| format!("factory reset failed with {sw}"))?;
            println!("factory reset delivered to {}", a.dir.path().display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(a: InitArgs) -> Result<ExitCode, String> {
    let profile = match &a.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Profile::parse(&text, &p.display().to_string()).map_err(|e| e.to_string())?
        }
        None => Profile::default_profile(),
    };
    let ov = Overrides {
        keys: a.keys.get()?,
        kvn: a.kvn.map(|k| u8::try_from(k).map_err(|_| "--kvn is one byte".to_string())).transpose()?,
        seq_counter: a
            .seq_counter
            .map(|s| u32::try_from(s).map_err(|_| "--seq-counter is 3 bytes".to_string()))
            .transpose()?,
    };
    let image = profile.build(&ov, &mut CardRng::new(a.seed)).map_err(|e| e.to_string())?;
    let dir = a.dir.path();
    Card::create(&dir, image, Durability::Fsync, a.seed, a.force).map_err(|e| e.to_string())?;
    println!("card created in {} from profile {}", dir.display(), profile.name);
    Ok(ExitCode::SUCCESS)
}

fn info(a: InfoArgs) -> Result<ExitCode, String> {
    let card = open_card(&a.dir, None)?;
    let img = card.image();
    println!("image:       {}", a.dir.path().display());
    println!("profile:     {}", img.profile);
    println!("ATR:         {}", upper(&img.atr));
    println!("life cycle:  {:02X}", img.life_cycle);
    println!("channels:    {}", img.logical_channels);
    println!("CPLC:        {}", upper(&img.identity.cplc));
    println!("IIN / CIN:   {} / {}", upper(&img.identity.iin), upper(&img.identity.cin));
    println!("KDD:         {}", upper(&img.identity.kdd));
    for lf in &img.load_files {
        let mods: Vec<String> = lf.modules.iter().map(|m| m.to_string()).collect();
        println!("load file    {} v{} modules {}", lf.aid, upper(&lf.version), mods.join(","));
    }
    for i in &img.instances {
        println!(
            "instance     {} {:?} life cycle {:02X} privileges {}",
            i.aid,
            i.kind,
            i.life_cycle,
            upper(&i.privileges)
        );
        if let Some(k) = &i.keys {
            for ks in &k.key_sets {
                println!(
                    "  key set    KVN {:02X} AES-{} i={:02X} sequence counter {:06X}",
                    ks.kvn,
                    ks.enc.len() * 8,
                    k.scp_i,
                    ks.seq_counter
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
