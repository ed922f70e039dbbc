//! CAP files (JCVM 3.0 Classic spec ch. 6): parsing what the card manager records from a loaded
//! package (package AID, version, applet class AIDs), the Load File Data Block a host sends
//! (GPCS §11.6; component order of JCVM §6.2, as GPP's `CAPFile.getLoadBlob` sends it), and a
//! small builder of spec-shaped CAP files for test fixtures.
//!
//! Two forms are read: the zip (JAR) form a converter writes, with one `*.cap` entry per
//! component under `…/javacard/`, and the raw form, the components concatenated
//! (`u1 tag, u2 size, info[size]`, JCVM §6.1), which is what travels in LOAD (`C4`).

use crate::card::Aid;
use std::fmt;

/// Component tags (JCVM T6-1).
pub mod tag {
    pub const HEADER: u8 = 1;
    pub const DIRECTORY: u8 = 2;
    pub const APPLET: u8 = 3;
    pub const IMPORT: u8 = 4;
    pub const CONSTANT_POOL: u8 = 5;
    pub const CLASS: u8 = 6;
    pub const METHOD: u8 = 7;
    pub const STATIC_FIELD: u8 = 8;
    pub const REF_LOCATION: u8 = 9;
    pub const EXPORT: u8 = 10;
    pub const DESCRIPTOR: u8 = 11;
    pub const DEBUG: u8 = 12;
}

/// The order components are sent in a Load File Data Block (JCVM §6.2; GPP `CAPFile`); the
/// Descriptor and Debug components are optional and not sent.
pub const LOAD_ORDER: [u8; 10] = [
    tag::HEADER,
    tag::DIRECTORY,
    tag::IMPORT,
    tag::APPLET,
    tag::CLASS,
    tag::METHOD,
    tag::STATIC_FIELD,
    tag::EXPORT,
    tag::CONSTANT_POOL,
    tag::REF_LOCATION,
];

/// Names of the component files inside a CAP zip, by tag.
const NAMES: [(&str, u8); 12] = [
    ("Header.cap", tag::HEADER),
    ("Directory.cap", tag::DIRECTORY),
    ("Applet.cap", tag::APPLET),
    ("Import.cap", tag::IMPORT),
    ("ConstantPool.cap", tag::CONSTANT_POOL),
    ("Class.cap", tag::CLASS),
    ("Method.cap", tag::METHOD),
    ("StaticField.cap", tag::STATIC_FIELD),
    ("RefLocation.cap", tag::REF_LOCATION),
    ("Export.cap", tag::EXPORT),
    ("Descriptor.cap", tag::DESCRIPTOR),
    ("Debug.cap", tag::DEBUG),
];

/// The Header component magic (JCVM §6.3).
pub const MAGIC: [u8; 4] = [0xDE, 0xCA, 0xFF, 0xED];

/// Why bytes are not a CAP file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CAP file: {0}")]
pub struct CapError(pub String);

fn err<T>(s: impl Into<String>) -> Result<T, CapError> {
    Err(CapError(s.into()))
}

/// One component: tag and the whole `tag size info` bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Component {
    pub tag: u8,
    pub bytes: Vec<u8>,
}

impl Component {
    /// The `info` part.
    pub fn info(&self) -> &[u8] {
        &self.bytes[3..]
    }
}

impl fmt::Debug for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Component({}, {} bytes)", self.tag, self.bytes.len())
    }
}

/// What the card manager records of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapInfo {
    pub package_aid: Aid,
    /// `[major, minor]` of the package (GPCS `CE` coding).
    pub version: [u8; 2],
    /// Applet class AIDs (the Applet component), in order.
    pub applets: Vec<Aid>,
    /// The CAP format version `[major, minor]` of the Header component.
    pub format: [u8; 2],
}

/// A parsed CAP file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapFile {
    pub components: Vec<Component>,
    pub info: CapInfo,
}

impl CapFile {
    /// Parses either form (zip or concatenated components).
    pub fn parse(b: &[u8]) -> Result<CapFile, CapError> {
        let components = if b.starts_with(b"PK\x03\x04") { components_from_zip(b)? } else { split_components(b)? };
        let info = info_of(&components)?;
        Ok(CapFile { components, info })
    }

    /// The Load File Data Block: the components in [`LOAD_ORDER`].
    pub fn load_file_data_block(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for t in LOAD_ORDER {
            if let Some(c) = self.components.iter().find(|c| c.tag == t) {
                out.extend_from_slice(&c.bytes);
            }
        }
        out
    }
}

/// Splits concatenated components, each `u1 tag, u2 size, info`.
pub fn split_components(mut b: &[u8]) -> Result<Vec<Component>, CapError> {
    let mut out: Vec<Component> = Vec::new();
    while !b.is_empty() {
        if b.len() < 3 {
            return err("component header truncated");
        }
        let t = b[0];
        let size = u16::from_be_bytes([b[1], b[2]]) as usize;
        if !(tag::HEADER..=tag::DEBUG).contains(&t) && t < 128 {
            return err(format!("unknown component tag {t}"));
        }
        let end = 3 + size;
        if b.len() < end {
            return err(format!("component {t} truncated"));
        }
        if out.iter().any(|c| c.tag == t) {
            return err(format!("component {t} twice"));
        }
        out.push(Component { tag: t, bytes: b[..end].to_vec() });
        b = &b[end..];
    }
    Ok(out)
}

fn info_of(components: &[Component]) -> Result<CapInfo, CapError> {
    let get = |t: u8| components.iter().find(|c| c.tag == t);
    let header = get(tag::HEADER).ok_or_else(|| CapError("no Header component".into()))?;
    if get(tag::DIRECTORY).is_none() {
        return err("no Directory component");
    }
    let h = header.info();
    // u4 magic, u1 minor, u1 major, u1 flags, package_info {u1 minor, u1 major, u1 AID_length, AID}
    if h.len() < 10 || h[..4] != MAGIC {
        return err("Header component without the DECAFFED magic");
    }
    let format = [h[5], h[4]];
    let (pminor, pmajor, alen) = (h[7], h[8], h[9] as usize);
    let aid = h.get(10..10 + alen).and_then(Aid::new).ok_or_else(|| CapError("package AID".into()))?;
    let mut applets = Vec::new();
    if let Some(a) = get(tag::APPLET) {
        let a = a.info();
        let count = *a.first().ok_or_else(|| CapError("empty Applet component".into()))? as usize;
        let mut p = 1;
        for _ in 0..count {
            let l = *a.get(p).ok_or_else(|| CapError("Applet component truncated".into()))? as usize;
            let id = a.get(p + 1..p + 1 + l).and_then(Aid::new).ok_or_else(|| CapError("applet AID".into()))?;
            if a.len() < p + 1 + l + 2 {
                return err("Applet component truncated");
            }
            applets.push(id);
            p += 1 + l + 2;
        }
        if p != a.len() {
            return err("Applet component has trailing bytes");
        }
    }
    Ok(CapInfo { package_aid: aid, version: [pmajor, pminor], applets, format })
}

/// The components of a CAP zip; the zip reading is the JCVM's ([`crate::jcvm::cap::components_from_zip`]).
fn components_from_zip(b: &[u8]) -> Result<Vec<Component>, CapError> {
    let comps = crate::jcvm::cap::components_from_zip(b).map_err(|e| CapError(e.to_string()))?;
    Ok(comps.into_iter().map(|c| Component { tag: c.tag, bytes: c.bytes }).collect())
}

/// A zip of `(name, data)` entries, deflated, with CRCs and a central directory.
// Zip32 fields: the CAPs written here are a few KiB with a handful of entries.
#[allow(clippy::cast_possible_truncation)]
pub fn write_zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let comp = miniz_oxide::deflate::compress_to_vec(data, 6);
        let crc = crc32fast::hash(data);
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&8u16.to_le_bytes()); // deflate
            v.extend_from_slice(&0u16.to_le_bytes()); // time
            v.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&(comp.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4B50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&comp);
        central.extend_from_slice(&0x0201_4B50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4B50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Builder

/// What [`build_applet_cap`] makes: one package with one applet class that extends
/// `javacard.framework.Applet`, whose `install` does `new C().register()` and whose `process`
/// returns. The components follow JCVM 3.0 Classic ch. 6 with CAP format 2.2.
#[derive(Debug, Clone)]
pub struct AppletCapSpec {
    /// Package name with `/` separators (`com/example/app`).
    pub package_name: String,
    pub package_aid: Aid,
    /// `[major, minor]`.
    pub version: [u8; 2],
    pub applet_aid: Aid,
}

// A CAP component's size is a u2 (JCVM §6.1); the builder's components are a few dozen bytes.
#[allow(clippy::cast_possible_truncation)]
fn component(t: u8, info: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&(info.len() as u16).to_be_bytes());
    v.extend_from_slice(info);
    v
}

/// The components of a minimal applet package, in tag order.
// Offsets into a fixed method component of a few dozen bytes; AIDs are 5-16 bytes; the package names are short test constants.
#[allow(clippy::cast_possible_truncation)]
pub fn build_applet_components(s: &AppletCapSpec) -> Vec<Component> {
    // Import: javacard.framework 1.3 is package token 0.
    const FRAMEWORK: [u8; 7] = [0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01];
    // External class reference to javacard.framework.Applet (package token 0, class token 3).
    const APPLET_CLASS: [u8; 2] = [0x80, 0x03];
    // Method component: no handlers; then <init>, install, process (JCVM §6.9).
    let mut method = vec![0x00];
    let init_off = method.len() as u16;
    // <init>(): aload_0; invokespecial CP#1 (Applet.<init>); return. max_stack 1, nargs 1.
    method.extend_from_slice(&[0x01, 0x10, 0x18, 0x8C, 0x00, 0x01, 0x7A]);
    let install_off = method.len() as u16;
    // install(byte[], short, byte): new CP#4; dup; invokespecial CP#3 (<init>);
    // invokevirtual CP#2 (register); return. max_stack 2, nargs 3.
    method.extend_from_slice(&[0x02, 0x30, 0x8F, 0x00, 0x04, 0x3D, 0x8C, 0x00, 0x03, 0x8B, 0x00, 0x02, 0x7A]);
    let process_off = method.len() as u16;
    // process(APDU): return. nargs 2.
    method.extend_from_slice(&[0x00, 0x20, 0x7A]);
    // Offsets of the 2-byte constant pool indices in the Method component, as deltas.
    let cp_refs = [init_off + 4, install_off + 3, install_off + 7, install_off + 10];

    // Class component (2.2): empty signature pool, one class_info.
    let mut class = vec![0x00, 0x00];
    let class_off = class.len() as u16;
    class.push(0x00); // flags 0, interface_count 0
    class.extend_from_slice(&APPLET_CLASS); // super_class_ref
    class.extend_from_slice(&[0x00, 0xFF, 0x00]); // declared_instance_size, first_reference_token, reference_count
    class.extend_from_slice(&[0x07, 0x01]); // public_method_table_base 7 (process), count 1
    class.extend_from_slice(&[0x00, 0x00]); // package method table base, count
    class.extend_from_slice(&process_off.to_be_bytes());

    // Constant pool (JCVM §6.7), 4 bytes each.
    let mut cp = Vec::new();
    cp.extend_from_slice(&5u16.to_be_bytes());
    cp.extend_from_slice(&[0x01, APPLET_CLASS[0], APPLET_CLASS[1], 0x00]); // 0 Classref Applet
    cp.extend_from_slice(&[0x06, 0x80, 0x03, 0x00]); // 1 StaticMethodref Applet.<init> (token 0)
    cp.extend_from_slice(&[0x03, APPLET_CLASS[0], APPLET_CLASS[1], 0x01]); // 2 VirtualMethodref register() (token 1)
    cp.extend_from_slice(&[0x06, 0x00, (init_off >> 8) as u8, init_off as u8]); // 3 StaticMethodref <init>
    cp.extend_from_slice(&[0x01, (class_off >> 8) as u8, class_off as u8, 0x00]); // 4 Classref this class

    let mut reloc = vec![0x00, 0x00]; // no 1-byte indices
    reloc.extend_from_slice(&(cp_refs.len() as u16).to_be_bytes());
    let mut prev = 0u16;
    for r in cp_refs {
        reloc.push((r - prev) as u8);
        prev = r;
    }
    let static_field = [0u8; 10];
    let mut import = vec![0x01, 0x03, 0x01, FRAMEWORK.len() as u8];
    import.extend_from_slice(&FRAMEWORK);
    let mut applet = vec![0x01, s.applet_aid.as_bytes().len() as u8];
    applet.extend_from_slice(s.applet_aid.as_bytes());
    applet.extend_from_slice(&install_off.to_be_bytes());
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&[0x02, 0x02, 0x04]); // CAP format 2.2, ACC_APPLET
    header.extend_from_slice(&[s.version[1], s.version[0], s.package_aid.as_bytes().len() as u8]);
    header.extend_from_slice(s.package_aid.as_bytes());
    header.push(s.package_name.len() as u8);
    header.extend_from_slice(s.package_name.as_bytes());

    let sizes = |i: &[u8]| (i.len() as u16).to_be_bytes();
    // Directory (JCVM §6.5, 2.2): component_sizes[12], static_field_size_info, import_count,
    // applet_count, custom_count.
    let mut directory = Vec::new();
    let dir_size = 2 * 12 + 6 + 3;
    for (t, info) in [
        (tag::HEADER, &header[..]),
        (tag::DIRECTORY, &vec![0; dir_size][..]),
        (tag::APPLET, &applet),
        (tag::IMPORT, &import),
        (tag::CONSTANT_POOL, &cp),
        (tag::CLASS, &class),
        (tag::METHOD, &method),
        (tag::STATIC_FIELD, &static_field),
        (tag::REF_LOCATION, &reloc),
        (tag::EXPORT, &[][..]),
        (tag::DESCRIPTOR, &[][..]),
        (tag::DEBUG, &[][..]),
    ] {
        let _ = t;
        directory.extend_from_slice(&sizes(info));
    }
    directory.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // image size, array init count, array init size
    directory.extend_from_slice(&[0x01, 0x01, 0x00]);

    [
        (tag::HEADER, header),
        (tag::DIRECTORY, directory),
        (tag::APPLET, applet),
        (tag::IMPORT, import),
        (tag::CONSTANT_POOL, cp),
        (tag::CLASS, class),
        (tag::METHOD, method),
        (tag::STATIC_FIELD, static_field.to_vec()),
        (tag::REF_LOCATION, reloc),
    ]
    .into_iter()
    .map(|(t, info)| Component { tag: t, bytes: component(t, &info) })
    .collect()
}

/// The zip form of [`build_applet_components`], with a manifest, as a converter writes it.
pub fn build_applet_cap(s: &AppletCapSpec) -> Vec<u8> {
    let mut entries = vec![(
        "META-INF/MANIFEST.MF".to_string(),
        format!(
            "Manifest-Version: 1.0\r\nCreated-By: gpse cap builder\r\nJava-Card-Package-Name: {}\r\nJava-Card-Package-AID: {}\r\n\r\n",
            s.package_name.replace('/', "."),
            s.package_aid
        )
        .into_bytes(),
    )];
    for c in build_applet_components(s) {
        let name = NAMES.iter().find(|(_, t)| *t == c.tag).map_or("x", |(n, _)| n);
        entries.push((format!("{}/javacard/{name}", s.package_name), c.bytes));
    }
    write_zip(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AppletCapSpec {
        AppletCapSpec {
            package_name: "gpse/testapp".into(),
            package_aid: "F04750534554455354".parse().unwrap(),
            version: [1, 2],
            applet_aid: "F0475053455445535401".parse().unwrap(),
        }
    }

    #[test]
    fn zip_and_raw_forms_parse_alike() {
        let zip = build_applet_cap(&spec());
        let a = CapFile::parse(&zip).unwrap();
        assert_eq!(a.info.package_aid.to_string(), "F04750534554455354");
        assert_eq!(a.info.version, [1, 2]);
        assert_eq!(a.info.applets, vec!["F0475053455445535401".parse::<Aid>().unwrap()]);
        assert_eq!(a.info.format, [2, 2]);
        let lfdb = a.load_file_data_block();
        // Header first, then Directory, Import, Applet (JCVM §6.2).
        assert_eq!(lfdb[0], tag::HEADER);
        let b = CapFile::parse(&lfdb).unwrap();
        assert_eq!(b.info, a.info);
        let order: Vec<u8> = b.components.iter().map(|c| c.tag).collect();
        assert_eq!(order, vec![1, 2, 4, 3, 6, 7, 8, 5, 9]);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let zip = build_applet_cap(&spec());
        for n in [0, 3, 10, 30, zip.len() / 2, zip.len() - 1] {
            let _ = CapFile::parse(&zip[..n]);
        }
        let lfdb = CapFile::parse(&zip).unwrap().load_file_data_block();
        for n in 0..lfdb.len() {
            let _ = CapFile::parse(&lfdb[..n]);
            let mut d = lfdb.clone();
            d[n] ^= 0xFF;
            let _ = CapFile::parse(&d);
        }
        assert!(CapFile::parse(&[]).is_err());
    }
}
