//! `gpse card`: create and inspect card images.

use super::common::{open_card, parse_kvn, parse_num, KeysArg, Opt};
use super::{Fail, Globals};
use gpse::card::{Card, CardEvent};
use gpse::crypto::CardRng;
use gpse::hexutil::upper;
use gpse::platform::profile::{Overrides, Profile};
use gpse::store::Durability;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum CardCmd {
    /// Create a new card image from a profile (the built-in default unless --profile).
    #[command(
        after_help = "Example: gpse card init --state ./card --keys 404142434445464748494A4B4C4D4E4F:404142434445464748494A4B4C4D4E4F:404142434445464748494A4B4C4D4E4F --kvn 30"
    )]
    Init(InitArgs),
    /// Print what a card image holds (profile, ATR, registry, key sets without their values).
    Info,
    /// Deliver the phone's factory-reset event to the card's applets.
    FactoryReset,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A profile file (TOML); see profiles/default.toml.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// ISD key set (hex, 16/24/32 bytes each) [default: the profile's].
    #[command(flatten)]
    pub keys: KeysArg,
    /// Key version number of the ISD key set (hex, 0x accepted) [default: the profile's, 01].
    #[arg(long, value_name = "HEX", value_parser = parse_kvn)]
    pub kvn: Option<u8>,
    /// Initial SCP03 sequence counter.
    #[arg(long, value_parser = parse_num)]
    pub seq_counter: Option<u64>,
    /// Replace an existing image in DIR.
    #[arg(long)]
    pub force: bool,
}

pub fn run(c: CardCmd, g: &Globals) -> Result<ExitCode, Fail> {
    // Card images only: no reader, no APDUs to show. The seed matters only when a card is made.
    g.unused("card", &[Opt::Reader, Opt::Debug])?;
    match c {
        CardCmd::Init(a) => Ok(init(a, g)?),
        CardCmd::Info => {
            g.unused("card info", &[Opt::Seed])?;
            Ok(info(g)?)
        }
        CardCmd::FactoryReset => {
            g.unused("card factory-reset", &[Opt::Seed])?;
            let dir = g.card_dir();
            let mut card = open_card(&dir, None)?;
            card.deliver_event(CardEvent::FactoryReset).map_err(|sw| format!("factory reset failed with {sw}"))?;
            outln!("factory reset delivered to {}", dir.path().display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(a: InitArgs, g: &Globals) -> Result<ExitCode, String> {
    let seed = g.seed;
    let profile = match &a.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Profile::parse(&text, &p.display().to_string()).map_err(|e| e.to_string())?
        }
        None => Profile::default_profile(),
    };
    let ov = Overrides {
        keys: a.keys.get()?,
        kvn: a.kvn,
        seq_counter: a
            .seq_counter
            .map(|s| u32::try_from(s).map_err(|_| "--seq-counter is 3 bytes".to_string()))
            .transpose()?,
    };
    let image = profile.build(&ov, &mut CardRng::new(seed)).map_err(|e| e.to_string())?;
    let dir = g.card_dir().path();
    Card::create(&dir, image, Durability::Fsync, seed, a.force).map_err(|e| e.to_string())?;
    outln!("card created in {} from profile {}", dir.display(), profile.name);
    Ok(ExitCode::SUCCESS)
}

fn info(g: &Globals) -> Result<ExitCode, String> {
    let dir = g.card_dir();
    let card = open_card(&dir, None)?;
    let img = card.image();
    outln!("image:       {}", dir.path().display());
    outln!("profile:     {}", img.profile);
    outln!("ATR:         {}", upper(&img.atr));
    outln!("life cycle:  {:02X}", img.life_cycle.byte());
    outln!("channels:    {}", img.logical_channels);
    outln!("CPLC:        {}", upper(&img.identity.cplc));
    outln!("IIN / CIN:   {} / {}", upper(&img.identity.iin), upper(&img.identity.cin));
    outln!("KDD:         {}", upper(&img.identity.kdd));
    for lf in &img.load_files {
        let mods: Vec<String> = lf.modules.iter().map(|m| m.to_string()).collect();
        outln!("load file    {} v{} modules {}", lf.aid, upper(&lf.version), mods.join(","));
    }
    for i in &img.instances {
        outln!(
            "instance     {} {:?} life cycle {:02X} privileges {}",
            i.aid,
            i.kind,
            i.life_cycle.byte(),
            upper(&i.privileges.to_bytes())
        );
        if let Some(k) = &i.keys {
            for ks in &k.key_sets {
                outln!(
                    "  key set    KVN {:02X} AES-{} i={:02X} sequence counter {:06X}",
                    ks.kvn,
                    ks.enc.len() * 8,
                    k.scp_i,
                    ks.seq_counter
                );
            }
        }
    }
    if let Some(state) = img.shared_state(gpse::jcvm::hosted::NAME) {
        let vm = gpse::jcvm::Jcvm::restore(state).map_err(|e| format!("the card's Java Card VM state: {e}"))?;
        print_memory(&vm.memory());
    }
    Ok(ExitCode::SUCCESS)
}

/// The Java Card VM's memory: the card's sizes and what is used, per package (its context's
/// objects and static fields) and per instance (what its applet object reaches).
pub(super) fn print_memory(m: &gpse::jcvm::vm::MemoryReport) {
    let l = &m.limits;
    let u = &m.used;
    outln!(
        "JCVM memory: persistent {} of {} bytes used ({} free); CLEAR_ON_RESET {} of {}; CLEAR_ON_DESELECT {} of {}; commit buffer {}",
        u.persistent,
        l.persistent,
        (l.persistent as usize).saturating_sub(u.persistent),
        u.transient_reset,
        l.transient_reset,
        u.transient_deselect,
        l.transient_deselect,
        l.commit_capacity
    );
    for p in &m.packages {
        outln!(
            "  package  {}: persistent {} (static fields {}), CLEAR_ON_RESET {}, CLEAR_ON_DESELECT {}",
            upper(&p.aid),
            p.usage.persistent,
            p.statics,
            p.usage.transient_reset,
            p.usage.transient_deselect
        );
        for (aid, iu) in &p.instances {
            outln!(
                "    instance {}: persistent {}, CLEAR_ON_RESET {}, CLEAR_ON_DESELECT {}",
                upper(aid),
                iu.persistent,
                iu.transient_reset,
                iu.transient_deselect
            );
        }
    }
}
