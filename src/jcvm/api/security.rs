//! The natives of `javacard.security` and `javacardx.crypto` (issue #16), with the exceptions
//! and reasons the Java Card 3.0.5 API specification gives each method ("JC API" below).
//!
//! - Engines (`MessageDigest`, `RandomData`, `Signature`, `Cipher`, `KeyPair`) are instances of
//!   the API class itself with an [`Engine`] as native state; `getInstance` makes them in the
//!   caller's context. Their running state ([`Run`]: the initialised key and mode, buffered
//!   input, the chaining value) is RAM: never written to the card image, lost at power loss
//!   (the object is then uninitialised: `CryptoException.INVALID_INIT`).
//! - Keys (`KeyBuilder.buildKey`) are instances of the project's implementation classes
//!   ([`KEY_CLASSES`], tokens from [`IMPL_TOKEN_BASE`] in `javacard/security`, which no export
//!   file uses) implementing the key interfaces; their material is a [`KeyState`], written as one
//!   atomic unit per setter (outside transactions, like `OwnerPIN`), zeroised on `clearKey`
//!   and on drop, and for the `TYPE_*_TRANSIENT_*` types cleared at reset / deselect and never
//!   written to the card image.
//! - What is not implemented answers `CryptoException.NO_SUCH_ALGORITHM` (reason 3) at
//!   `getInstance` / `buildKey`, never a fault.

use super::{cls, iface, ApiClass, ApiMethod, Native};
use crate::jcvm::heap::{accessible, Access, Handle, NativeState, Transience};
use crate::jcvm::interp::{Exec, Thrown};
use rsa::traits::PublicKeyParts;
use rsa::BigUint;
use serde::{Deserialize, Serialize};

type R = Result<Option<i16>, Thrown>;

// CryptoException reasons (JC API constant fields).
/// `CryptoException.ILLEGAL_VALUE`.
pub const ILLEGAL_VALUE: i16 = 1;
/// `CryptoException.UNINITIALIZED_KEY`.
pub const UNINITIALIZED_KEY: i16 = 2;
/// `CryptoException.NO_SUCH_ALGORITHM`.
pub const NO_SUCH_ALGORITHM: i16 = 3;
/// `CryptoException.INVALID_INIT`.
pub const INVALID_INIT: i16 = 4;
/// `CryptoException.ILLEGAL_USE`.
pub const ILLEGAL_USE: i16 = 5;

/// Most bytes a `MessageDigest`/`Signature` buffers between `update` and `doFinal`
/// (the engines hash at the end); more is `CryptoException.ILLEGAL_USE`.
pub const MAX_BUFFERED: usize = 1 << 20;

/// The first class token of the key implementation classes in `javacard/security`.
pub const IMPL_TOKEN_BASE: u8 = 0xC0;

/// A key component a getter/setter reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comp {
    /// RSA modulus.
    Modulus,
    /// RSA public or private exponent.
    Exponent,
    /// CRT prime p.
    P,
    /// CRT prime q.
    Q,
    /// CRT d mod (p-1).
    Dp1,
    /// CRT d mod (q-1).
    Dq1,
    /// CRT q^-1 mod p.
    Pq,
    /// A secret key's bytes (DES, AES, HMAC).
    Key,
    /// EC prime p (`setFieldFP`).
    Field,
    /// EC coefficient a.
    A,
    /// EC coefficient b.
    B,
    /// EC base point G (uncompressed).
    G,
    /// EC order r of G.
    R,
    /// EC cofactor k (two bytes).
    K,
    /// EC public point W (uncompressed).
    W,
    /// EC private scalar S.
    S,
}

/// The natives of this part (one per API method; the receiver is the first argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecNative {
    /// A method whose algorithms are all unimplemented: `CryptoException.NO_SUCH_ALGORITHM`.
    NoSuch {
        /// Argument words.
        args: u8,
        /// Whether it returns a value.
        ret: bool,
    },
    /// A method this VM does not support on an object it made: `CryptoException.ILLEGAL_USE`.
    Unsupported {
        /// Argument words.
        args: u8,
        /// Whether it returns a value.
        ret: bool,
    },
    /// `getAlgorithm()` of every engine.
    GetAlgorithm,
    /// `static MessageDigest.getInstance(byte, boolean)`.
    MdGetInstance,
    /// `static MessageDigest.getInitializedMessageDigestInstance(byte, boolean)`.
    MdGetInitialized,
    /// `static MessageDigest.isIntermediateMessageDigestSupported(byte)`.
    MdIsIntermediate,
    /// `doFinal(byte[], short, short, byte[], short)`.
    MdDoFinal,
    /// `getLength()`.
    MdGetLength,
    /// `reset()`.
    MdReset,
    /// `update(byte[], short, short)`.
    MdUpdate,
    /// `doIntermediateMessageDigest(byte[], short)`.
    MdIntermediate,
    /// `static RandomData.getInstance(byte)`.
    RdGetInstance,
    /// `static RandomData.getInstance(byte, boolean)`.
    RdGetInstance2,
    /// `generateData(byte[], short, short)` (3.0.4 name).
    RdGenerate,
    /// `setSeed(byte[], short, short)`.
    RdSetSeed,
    /// `nextBytes(byte[], short, short)`.
    RdNextBytes,
    /// `static KeyBuilder.buildKey(byte, short, boolean)`.
    KbBuildKey,
    /// `static KeyBuilder.buildKey(byte, byte, short, boolean)`.
    KbBuildKey4,
    /// `static KeyBuilder.getMemoryType(Key)`.
    KbGetMemoryType,
    /// `Key.clearKey()`.
    KeyClear,
    /// `Key.getSize()`.
    KeySize,
    /// `Key.getType()`.
    KeyType,
    /// `Key.isInitialized()`.
    KeyIsInit,
    /// A getter `getX(byte[], short)`.
    KeyGet(Comp),
    /// A setter `setX(byte[], short, short)`.
    KeySet(Comp),
    /// `DESKey.setKey(byte[], short)` / `AESKey.setKey(byte[], short)`: the key size's bytes.
    KeySetFixed,
    /// `KeyPair(byte, short)`.
    KpInit,
    /// `KeyPair(PublicKey, PrivateKey)`.
    KpInitKeys,
    /// `genKeyPair()`.
    KpGen,
    /// `getPrivate()`.
    KpGetPrivate,
    /// `getPublic()`.
    KpGetPublic,
    /// `static Signature.getInstance(byte, boolean)`.
    SigGetInstance,
    /// `static Signature.getInstance(byte, byte, byte, boolean)`.
    SigGetInstance4,
    /// `getLength()`.
    SigGetLength,
    /// `init(Key, byte)`.
    SigInit,
    /// `init(Key, byte, byte[], short, short)`.
    SigInit5,
    /// `sign(byte[], short, short, byte[], short)`.
    SigSign,
    /// `update(byte[], short, short)`.
    SigUpdate,
    /// `verify(byte[], short, short, byte[], short, short)`.
    SigVerify,
    /// `signPreComputedHash(byte[], short, short, byte[], short)`.
    SigSignPre,
    /// `verifyPreComputedHash(byte[], short, short, byte[], short, short)`.
    SigVerifyPre,
    /// `getMessageDigestAlgorithm()`.
    SigGetMdAlg,
    /// `getCipherAlgorithm()`.
    SigGetCipherAlg,
    /// `getPaddingAlgorithm()`.
    SigGetPadAlg,
    /// `static Cipher.getInstance(byte, boolean)`.
    CiGetInstance,
    /// `static Cipher.getInstance(byte, byte, boolean)`.
    CiGetInstance3,
    /// `doFinal(byte[], short, short, byte[], short)`.
    CiDoFinal,
    /// `init(Key, byte)`.
    CiInit,
    /// `init(Key, byte, byte[], short, short)`.
    CiInit5,
    /// `update(byte[], short, short, byte[], short)`.
    CiUpdate,
    /// `getCipherAlgorithm()`.
    CiGetCipherAlg,
    /// `getPaddingAlgorithm()`.
    CiGetPadAlg,
    /// `ECKey.setK(short)`.
    EcSetK,
    /// `ECKey.getK()`.
    EcGetK,
    /// `ECKey.copyDomainParametersFrom(ECKey)`.
    EcCopyDomain,
    /// `static KeyAgreement.getInstance(byte, boolean)`.
    KaGetInstance,
    /// `init(PrivateKey)`.
    KaInit,
    /// `generateSecret(byte[], short, short, byte[], short)`.
    KaGenerateSecret,
    /// `static Checksum.getInstance(byte, boolean)`.
    CsGetInstance,
    /// `Checksum.init(byte[], short, short)`: the initial checksum value.
    CsInit,
    /// `Checksum.update(byte[], short, short)`.
    CsUpdate,
    /// `Checksum.doFinal(byte[], short, short, byte[], short)`.
    CsDoFinal,
    /// `AEADCipher.init(Key, byte, byte[], short, short, short, short, short)`: nonce, AAD
    /// length, message length, tag size (9 argument words).
    AeInit8,
    /// `AEADCipher.updateAAD(byte[], short, short)`.
    AeUpdateAad,
    /// `AEADCipher.retrieveTag(byte[], short, short)`.
    AeRetrieveTag,
    /// `AEADCipher.verifyTag(byte[], short, short, short)`.
    AeVerifyTag,
}

impl SecNative {
    /// Argument words (receiver included) and whether a value is returned.
    pub fn signature(self) -> (u8, bool) {
        use SecNative::*;
        match self {
            NoSuch { args, ret } | Unsupported { args, ret } => (args, ret),
            GetAlgorithm | MdGetLength | KeySize | KeyType | KeyIsInit | KpGetPrivate | KpGetPublic | SigGetLength
            | SigGetMdAlg | SigGetCipherAlg | SigGetPadAlg | CiGetCipherAlg | CiGetPadAlg => (1, true),
            MdReset | KeyClear | KpGen => (1, false),
            MdGetInstance | MdGetInitialized | RdGetInstance2 | SigGetInstance | CiGetInstance => (2, true),
            MdIsIntermediate | RdGetInstance | KbGetMemoryType => (1, true),
            MdDoFinal | SigSign | SigSignPre | CiDoFinal | CiUpdate => (6, true),
            MdUpdate | RdGenerate | RdSetSeed | KeySet(_) | SigUpdate => (4, false),
            MdIntermediate | KeyGet(_) => (3, true),
            RdNextBytes => (4, true),
            KbBuildKey | CiGetInstance3 => (3, true),
            KbBuildKey4 | SigGetInstance4 => (4, true),
            KeySetFixed | KpInit | KpInitKeys | SigInit | CiInit => (3, false),
            SigInit5 | CiInit5 => (6, false),
            SigVerify | SigVerifyPre => (7, true),
            EcSetK | EcCopyDomain | KaInit => (2, false),
            EcGetK => (1, true),
            KaGetInstance => (2, true),
            KaGenerateSecret => (6, true),
            CsGetInstance => (2, true),
            CsInit | CsUpdate => (4, false),
            CsDoFinal => (6, true),
            AeInit8 => (9, false),
            AeUpdateAad => (4, false),
            AeRetrieveTag => (4, true),
            AeVerifyTag => (5, true),
        }
    }
}

/// Secret bytes: zeroised when dropped, never printed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret(pub Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// What kind of key a [`KeyState`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `TYPE_DES*`.
    Des,
    /// `TYPE_AES*`.
    Aes,
    /// `TYPE_HMAC*`.
    Hmac,
    /// `TYPE_RSA_PUBLIC`.
    RsaPublic,
    /// `TYPE_RSA_PRIVATE*`.
    RsaPrivate,
    /// `TYPE_RSA_CRT_PRIVATE*`.
    RsaCrt,
    /// `TYPE_EC_FP_PUBLIC`.
    EcPublic,
    /// `TYPE_EC_FP_PRIVATE*`.
    EcPrivate,
}

/// A key object's state (JC API `KeyBuilder`, the key interfaces).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The `KeyBuilder.TYPE_*` code.
    pub ty: u8,
    /// Key size in bits (`getSize`).
    pub bits: u16,
    /// Where the material lives (`getMemoryType`).
    pub transience: Transience,
    /// The components set so far.
    pub comps: Vec<(Comp, Secret)>,
}

impl KeyState {
    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        kind_of(self.ty).map_or(KeyKind::Aes, |(k, _)| k)
    }

    /// A component's bytes.
    pub fn get(&self, c: Comp) -> Option<&[u8]> {
        self.comps.iter().find(|(k, _)| *k == c).map(|(_, v)| v.0.as_slice())
    }

    fn set(&mut self, c: Comp, v: Vec<u8>) {
        self.comps.retain(|(k, _)| *k != c);
        self.comps.push((c, Secret(v)));
    }

    fn needed(&self) -> &'static [Comp] {
        match self.kind() {
            KeyKind::Des | KeyKind::Aes | KeyKind::Hmac => &[Comp::Key],
            KeyKind::RsaPublic | KeyKind::RsaPrivate => &[Comp::Modulus, Comp::Exponent],
            KeyKind::RsaCrt => &[Comp::P, Comp::Q, Comp::Dp1, Comp::Dq1, Comp::Pq],
            KeyKind::EcPublic => &[Comp::Field, Comp::A, Comp::B, Comp::G, Comp::R, Comp::W],
            KeyKind::EcPrivate => &[Comp::Field, Comp::A, Comp::B, Comp::G, Comp::R, Comp::S],
        }
    }

    /// `isInitialized()`: every component set.
    pub fn initialized(&self) -> bool {
        self.needed().iter().all(|c| self.get(*c).is_some())
    }

    /// Persistent bytes the key takes (its full size, reserved at `buildKey`).
    pub fn bytes(&self) -> usize {
        let n = (self.bits as usize).div_ceil(8);
        let material = match self.kind() {
            KeyKind::RsaPublic | KeyKind::RsaPrivate => 2 * n,
            KeyKind::RsaCrt => 5 * n.div_ceil(2),
            KeyKind::EcPublic | KeyKind::EcPrivate => 8 * n + 4,
            _ => n,
        };
        4 + if self.transience == Transience::Persistent { material } else { 0 }
    }

    /// Zeroises the material (`clearKey`, transient events).
    pub fn clear(&mut self) {
        self.comps.clear();
    }
}

/// What an engine object is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngineKind {
    /// `MessageDigest` / `InitializedMessageDigest`.
    #[default]
    Digest,
    /// `RandomData`.
    Random,
    /// `Signature`.
    Signature,
    /// `Cipher`.
    Cipher,
    /// `KeyPair`.
    KeyPair,
    /// `KeyAgreement`.
    KeyAgreement,
    /// `Checksum`.
    Checksum,
}

/// An engine's running state (RAM).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// The initialised key (0: not initialised).
    pub key: Handle,
    /// `MODE_*` of the init.
    pub mode: u8,
    /// Buffered input.
    pub buf: Vec<u8>,
    /// The IV given at init.
    pub iv0: Vec<u8>,
    /// The chaining value.
    pub iv: Vec<u8>,
    /// `AEADCipher`: what `init` set and what `updateAAD`/`doFinal` made.
    pub aead: AeadRun,
}

/// The running state of an `AEADCipher` (RAM, like the rest of [`Run`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AeadRun {
    /// Tag size in bytes.
    pub tag_len: usize,
    /// CCM: the AAD and message lengths given at `init` (8-argument form).
    pub lens: Option<(usize, usize)>,
    /// The AAD so far.
    pub aad: Vec<u8>,
    /// `update` has been called since `init`/`doFinal` (no more AAD: JC API `updateAAD`).
    pub started: bool,
    /// The tag of the last `doFinal` (computed over the ciphertext in both modes).
    pub tag: Option<Vec<u8>>,
}

/// An engine object's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    /// What it is.
    pub kind: EngineKind,
    /// The `ALG_*` code.
    pub alg: u8,
    /// `KeyPair`: key size in bits.
    pub bits: u16,
    /// `KeyPair`: public and private key objects.
    pub keys: [Handle; 2],
    /// Running state, never persistent.
    #[serde(skip)]
    pub run: Run,
}

impl Engine {
    /// Persistent bytes.
    pub fn bytes(&self) -> usize {
        8
    }

    /// Objects this one references (the collector traces them).
    pub fn refs(&self) -> [Handle; 3] {
        [self.keys[0], self.keys[1], self.run.key]
    }
}

// ---------------------------------------------------------------------------------------------
// The table: classes of javacard.security (package 2) and javacardx.crypto (package 3).

use ApiMethod::Native as N;
use SecNative::*;

const fn s(n: SecNative) -> Native {
    Native::Sec(n)
}
const fn v(n: SecNative) -> ApiMethod {
    N(Native::Sec(n))
}
const EQ: ApiMethod = N(Native::ObjectEquals);

const fn class(
    package: u8,
    token: u8,
    name: &'static str,
    super_class: ClassIdC,
    virtuals: &'static [ApiMethod],
    statics: &'static [Native],
) -> ApiClass {
    ApiClass {
        package,
        token,
        name,
        super_class: Some(super_class),
        interface: false,
        virtuals,
        statics,
        implements: &[],
        super_interfaces: &[],
    }
}

type ClassIdC = crate::jcvm::heap::ClassId;

/// Class ids (package 2 = javacard/security, 3 = javacardx/crypto).
pub mod ids {
    use crate::jcvm::heap::ClassId;
    pub const KEY: ClassId = 512;
    pub const PRIVATE_KEY: ClassId = 514;
    pub const PUBLIC_KEY: ClassId = 515;
    pub const SECRET_KEY: ClassId = 516;
    pub const RSA_CRT: ClassId = 519;
    pub const RSA_PRIVATE: ClassId = 520;
    pub const RSA_PUBLIC: ClassId = 521;
    pub const DES_KEY: ClassId = 522;
    pub const MESSAGE_DIGEST: ClassId = 523;
    pub const RANDOM_DATA: ClassId = 526;
    pub const SIGNATURE: ClassId = 527;
    pub const KEY_PAIR: ClassId = 528;
    pub const AES_KEY: ClassId = 532;
    pub const HMAC_KEY: ClassId = 535;
    pub const INIT_MESSAGE_DIGEST: ClassId = 538;
    pub const CIPHER: ClassId = 769;
    pub const AEAD_CIPHER: ClassId = 771;
    pub const EC_KEY: ClassId = 529;
    pub const EC_PRIVATE: ClassId = 530;
    pub const EC_PUBLIC: ClassId = 531;
    pub const KEY_AGREEMENT: ClassId = 534;
    pub const CHECKSUM: ClassId = 533;
    /// Implementation classes: RSA public, private, CRT, DES, AES, HMAC, EC public, EC private.
    pub const IMPL: [ClassId; 8] =
        [512 + 0xC0, 512 + 0xC1, 512 + 0xC2, 512 + 0xC3, 512 + 0xC4, 512 + 0xC5, 512 + 0xC6, 512 + 0xC7];
}

const KEY4: [ApiMethod; 5] = [EQ, v(KeyClear), v(KeySize), v(KeyType), v(KeyIsInit)];
const K4: &[u8] = &[1, 2, 3, 4];
const K8: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8];
const K6: &[u8] = &[1, 2, 3, 4, 5, 6];
const K14: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

const fn key_impl(
    token: u8,
    name: &'static str,
    virtuals: &'static [ApiMethod],
    implements: &'static [(ClassIdC, &'static [u8])],
) -> ApiClass {
    ApiClass {
        package: 2,
        token,
        name,
        super_class: Some(cls::OBJECT),
        interface: false,
        virtuals,
        statics: &[],
        implements,
        super_interfaces: &[],
    }
}

const K21: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
/// `ECKey` tokens 0-13 are the EC key classes' 4-17, its 14 (`copyDomainParametersFrom`) their 20.
const EC_KEY_MAP: &[u8] = &[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 21];

/// The virtual table of the EC key classes (`ECPublicKey`/`ECPrivateKey` tokens + 1); `own` is
/// `W` or `S` (tokens 18, 19).
const fn ec_v(own: Comp) -> [ApiMethod; 22] {
    [
        KEY4[0],
        KEY4[1],
        KEY4[2],
        KEY4[3],
        KEY4[4],
        v(KeySet(Comp::Field)),
        v(Unsupported { args: 2, ret: false }), // setFieldF2M(short)
        v(Unsupported { args: 4, ret: false }), // setFieldF2M(short, short, short)
        v(KeySet(Comp::A)),
        v(KeySet(Comp::B)),
        v(KeySet(Comp::G)),
        v(KeySet(Comp::R)),
        v(EcSetK),
        v(KeyGet(Comp::Field)),
        v(KeyGet(Comp::A)),
        v(KeyGet(Comp::B)),
        v(KeyGet(Comp::G)),
        v(KeyGet(Comp::R)),
        v(EcGetK),
        v(KeySet(own)),
        v(KeyGet(own)),
        v(EcCopyDomain),
    ]
}

const RSA_V: &[ApiMethod] = &[
    KEY4[0],
    KEY4[1],
    KEY4[2],
    KEY4[3],
    KEY4[4],
    v(KeyGet(Comp::Exponent)),
    v(KeyGet(Comp::Modulus)),
    v(KeySet(Comp::Exponent)),
    v(KeySet(Comp::Modulus)),
];

/// The API classes of this part, in token order per package (a contiguous block of
/// [`super::CLASSES`]).
pub const SECURITY_CLASSES: &[ApiClass] = &[
    iface(2, 0, "javacard/security/Key"),
    iface(2, 1, "javacard/security/DSAKey"),
    iface(2, 2, "javacard/security/PrivateKey"),
    iface(2, 3, "javacard/security/PublicKey"),
    iface(2, 4, "javacard/security/SecretKey"),
    iface(2, 5, "javacard/security/DSAPrivateKey"),
    iface(2, 6, "javacard/security/DSAPublicKey"),
    iface(2, 7, "javacard/security/RSAPrivateCrtKey"),
    iface(2, 8, "javacard/security/RSAPrivateKey"),
    iface(2, 9, "javacard/security/RSAPublicKey"),
    iface(2, 10, "javacard/security/DESKey"),
    class(
        2,
        11,
        "javacard/security/MessageDigest",
        cls::OBJECT,
        &[EQ, v(MdDoFinal), v(GetAlgorithm), v(MdGetLength), v(MdReset), v(MdUpdate), v(MdIntermediate)],
        &[s(MdGetInstance), Native::Nop, s(MdGetInitialized), s(MdIsIntermediate)],
    ),
    class(
        2,
        13,
        "javacard/security/KeyBuilder",
        cls::OBJECT,
        &[EQ],
        &[
            s(KbBuildKey),
            s(KbBuildKey4),
            s(NoSuch { args: 4, ret: true }), // buildKeyWithSharedDomain
            s(NoSuch { args: 3, ret: true }), // buildXECKey
            s(KbGetMemoryType),
        ],
    ),
    class(
        2,
        14,
        "javacard/security/RandomData",
        cls::OBJECT,
        &[EQ, v(RdGenerate), v(RdSetSeed), v(RdNextBytes), v(GetAlgorithm)],
        &[s(RdGetInstance), Native::Nop, s(RdGetInstance2)],
    ),
    class(
        2,
        15,
        "javacard/security/Signature",
        cls::OBJECT,
        &[
            EQ,
            v(GetAlgorithm),
            v(SigGetLength),
            v(SigInit),
            v(SigInit5),
            v(SigSign),
            v(SigUpdate),
            v(SigVerify),
            v(Unsupported { args: 7, ret: false }), // setInitialDigest
            v(SigSignPre),
            v(SigVerifyPre),
            v(SigGetMdAlg),
            v(SigGetCipherAlg),
            v(SigGetPadAlg),
        ],
        &[s(SigGetInstance), Native::Nop, s(SigGetInstance4)],
    ),
    class(
        2,
        16,
        "javacard/security/KeyPair",
        cls::OBJECT,
        &[EQ, v(KpGen), v(KpGetPrivate), v(KpGetPublic), v(Unsupported { args: 2, ret: false })],
        &[s(KpInit), s(KpInitKeys)],
    ),
    iface(2, 17, "javacard/security/ECKey"),
    iface(2, 18, "javacard/security/ECPrivateKey"),
    iface(2, 19, "javacard/security/ECPublicKey"),
    iface(2, 20, "javacard/security/AESKey"),
    class(
        2,
        21,
        "javacard/security/Checksum",
        cls::OBJECT,
        &[EQ, v(CsInit), v(GetAlgorithm), v(CsDoFinal), v(CsUpdate)],
        &[s(CsGetInstance), Native::Nop],
    ),
    class(
        2,
        22,
        "javacard/security/KeyAgreement",
        cls::OBJECT,
        &[EQ, v(KaInit), v(GetAlgorithm), v(KaGenerateSecret), v(Unsupported { args: 3, ret: false })],
        &[s(KaGetInstance), Native::Nop],
    ),
    iface(2, 23, "javacard/security/HMACKey"),
    iface(2, 24, "javacard/security/KoreanSEEDKey"),
    class(
        2,
        26,
        "javacard/security/InitializedMessageDigest",
        ids::MESSAGE_DIGEST,
        &[
            EQ,
            v(MdDoFinal),
            v(GetAlgorithm),
            v(MdGetLength),
            v(MdReset),
            v(MdUpdate),
            v(Unsupported { args: 7, ret: false }), // setInitialDigest
            v(MdIntermediate),
        ],
        &[Native::Nop],
    ),
    // The 3.0.5 one-shot forms: no algorithm (open → NO_SUCH_ALGORITHM).
    class(
        2,
        30,
        "javacard/security/MessageDigest$OneShot",
        ids::MESSAGE_DIGEST,
        &[EQ],
        &[s(NoSuch { args: 1, ret: true })],
    ),
    class(
        2,
        31,
        "javacard/security/InitializedMessageDigest$OneShot",
        ids::INIT_MESSAGE_DIGEST,
        &[EQ],
        &[s(NoSuch { args: 1, ret: true })],
    ),
    class(2, 32, "javacard/security/RandomData$OneShot", ids::RANDOM_DATA, &[EQ], &[s(NoSuch { args: 1, ret: true })]),
    class(2, 33, "javacard/security/Signature$OneShot", ids::SIGNATURE, &[EQ], &[s(NoSuch { args: 3, ret: true })]),
    iface(2, 34, "javacard/security/AlgorithmParameterSpec"),
    key_impl(
        0xC0,
        "gpse/security/RSAPublicKeyImpl",
        RSA_V,
        &[(ids::KEY, K4), (ids::PUBLIC_KEY, K4), (ids::RSA_PUBLIC, K8)],
    ),
    key_impl(
        0xC1,
        "gpse/security/RSAPrivateKeyImpl",
        RSA_V,
        &[(ids::KEY, K4), (ids::PRIVATE_KEY, K4), (ids::RSA_PRIVATE, K8)],
    ),
    key_impl(
        0xC2,
        "gpse/security/RSAPrivateCrtKeyImpl",
        &[
            KEY4[0],
            KEY4[1],
            KEY4[2],
            KEY4[3],
            KEY4[4],
            v(KeyGet(Comp::Dp1)),
            v(KeyGet(Comp::Dq1)),
            v(KeyGet(Comp::P)),
            v(KeyGet(Comp::Pq)),
            v(KeyGet(Comp::Q)),
            v(KeySet(Comp::Dp1)),
            v(KeySet(Comp::Dq1)),
            v(KeySet(Comp::P)),
            v(KeySet(Comp::Pq)),
            v(KeySet(Comp::Q)),
        ],
        &[(ids::KEY, K4), (ids::PRIVATE_KEY, K4), (ids::RSA_CRT, K14)],
    ),
    key_impl(
        0xC3,
        "gpse/security/DESKeyImpl",
        &[KEY4[0], KEY4[1], KEY4[2], KEY4[3], KEY4[4], v(KeyGet(Comp::Key)), v(KeySetFixed)],
        &[(ids::KEY, K4), (ids::SECRET_KEY, K4), (ids::DES_KEY, K6)],
    ),
    key_impl(
        0xC4,
        "gpse/security/AESKeyImpl",
        &[KEY4[0], KEY4[1], KEY4[2], KEY4[3], KEY4[4], v(KeySetFixed), v(KeyGet(Comp::Key))],
        &[(ids::KEY, K4), (ids::SECRET_KEY, K4), (ids::AES_KEY, K6)],
    ),
    key_impl(
        0xC5,
        "gpse/security/HMACKeyImpl",
        &[KEY4[0], KEY4[1], KEY4[2], KEY4[3], KEY4[4], v(KeySet(Comp::Key)), v(KeyGet(Comp::Key))],
        &[(ids::KEY, K4), (ids::SECRET_KEY, K4), (ids::HMAC_KEY, K6)],
    ),
    key_impl(
        0xC6,
        "gpse/security/ECPublicKeyImpl",
        &ec_v(Comp::W),
        &[(ids::KEY, K4), (ids::PUBLIC_KEY, K4), (ids::EC_KEY, EC_KEY_MAP), (ids::EC_PUBLIC, K21)],
    ),
    key_impl(
        0xC7,
        "gpse/security/ECPrivateKeyImpl",
        &ec_v(Comp::S),
        &[(ids::KEY, K4), (ids::PRIVATE_KEY, K4), (ids::EC_KEY, EC_KEY_MAP), (ids::EC_PRIVATE, K21)],
    ),
    // javacardx.crypto (A0000000620201)
    class(
        3,
        1,
        "javacardx/crypto/Cipher",
        cls::OBJECT,
        &[EQ, v(CiDoFinal), v(GetAlgorithm), v(CiInit), v(CiInit5), v(CiUpdate), v(CiGetCipherAlg), v(CiGetPadAlg)],
        &[s(CiGetInstance), Native::Nop, s(CiGetInstance3)],
    ),
    class(3, 2, "javacardx/crypto/Cipher$OneShot", ids::CIPHER, &[EQ], &[s(NoSuch { args: 2, ret: true })]),
    // AEADCipher.getInstance is Cipher's (ALG_AES_GCM/CCM make instances of this class).
    class(
        3,
        3,
        "javacardx/crypto/AEADCipher",
        ids::CIPHER,
        &[
            EQ,
            v(CiDoFinal),
            v(GetAlgorithm),
            v(CiInit),
            v(CiInit5),
            v(CiUpdate),
            v(CiGetCipherAlg),
            v(CiGetPadAlg),
            v(AeInit8),
            v(AeUpdateAad),
            v(AeRetrieveTag),
            v(AeVerifyTag),
        ],
        &[Native::Nop],
    ),
];

/// The key implementation class of each kind.
pub const KEY_CLASSES: [(KeyKind, ClassIdC); 8] = [
    (KeyKind::EcPublic, ids::IMPL[6]),
    (KeyKind::EcPrivate, ids::IMPL[7]),
    (KeyKind::RsaPublic, ids::IMPL[0]),
    (KeyKind::RsaPrivate, ids::IMPL[1]),
    (KeyKind::RsaCrt, ids::IMPL[2]),
    (KeyKind::Des, ids::IMPL[3]),
    (KeyKind::Aes, ids::IMPL[4]),
    (KeyKind::Hmac, ids::IMPL[5]),
];

// ---------------------------------------------------------------------------------------------
// Helpers.

fn cex(x: &mut Exec<'_>, reason: i16) -> Thrown {
    x.throw(cls::CRYPTO_EXCEPTION, reason)
}

fn heap<T>(x: &mut Exec<'_>, r: Result<T, Access>) -> Result<T, Thrown> {
    r.map_err(|a| x.access(a))
}

fn read(x: &mut Exec<'_>, h: i16, off: i16, len: i16) -> Result<Vec<u8>, Thrown> {
    let ctx = x.rt.session.context;
    let r = x.rt.heap.byte_window(h as u16, off, len, ctx);
    let (o, n) = heap(x, r)?;
    Ok(x.rt.heap.bytes(h as u16).map(|v| v[o..o + n].to_vec()).unwrap_or_default())
}

/// Checks that `len` bytes fit at `off` of array `h` (before anything is computed).
fn check_out(x: &mut Exec<'_>, h: i16, off: i16, len: usize) -> Result<(), Thrown> {
    let ctx = x.rt.session.context;
    let len = i16::try_from(len).unwrap_or(i16::MAX);
    let r = x.rt.heap.byte_window(h as u16, off, len, ctx);
    heap(x, r).map(|_| ())
}

/// Writes output bytes (non-atomically, as the engines' outputs are: JC API `Cipher.doFinal`).
fn write(x: &mut Exec<'_>, h: i16, off: i16, data: &[u8]) -> Result<(), Thrown> {
    check_out(x, h, off, data.len())?;
    let r = x.rt.heap.write_bytes(h as u16, off as usize, data, false);
    heap(x, r)
}

fn len16(n: usize) -> Option<i16> {
    Some(i16::try_from(n).unwrap_or(i16::MAX))
}

fn engine(x: &mut Exec<'_>, h: i16) -> Result<Engine, Thrown> {
    if h == 0 {
        return Err(x.throw(cls::NULL_POINTER, 0));
    }
    match x.rt.heap.native(h as u16) {
        Some(NativeState::Crypto(e)) => Ok(e.clone()),
        _ => Err(x.security()),
    }
}

fn run_mut<'x>(x: &'x mut Exec<'_>, h: i16) -> Option<&'x mut Run> {
    match x.rt.heap.native_mut_untracked(h as u16) {
        Some(NativeState::Crypto(e)) => Some(&mut e.run),
        _ => None,
    }
}

fn set_run(x: &mut Exec<'_>, h: i16, run: Run) {
    if let Some(r) = run_mut(x, h) {
        *r = run;
    }
}

fn key(x: &mut Exec<'_>, h: i16) -> Result<KeyState, Thrown> {
    if h == 0 {
        return Err(x.throw(cls::NULL_POINTER, 0));
    }
    let ctx = x.rt.session.context;
    match x.rt.heap.get(h as u16) {
        Some(o) if !accessible(o.owner, ctx) => return Err(x.security()),
        None => return Err(x.security()),
        _ => {}
    }
    match x.rt.heap.native(h as u16) {
        Some(NativeState::Key(k)) => Ok(k.clone()),
        _ => Err(x.security()),
    }
}

fn put_key(x: &mut Exec<'_>, h: i16, k: KeyState) -> Result<(), Thrown> {
    let r = x.rt.heap.set_native(h as u16, NativeState::Key(k));
    heap(x, r)
}

fn new_object(x: &mut Exec<'_>, class: ClassIdC, n: NativeState) -> Result<Handle, Thrown> {
    let owner = x.rt.session.context;
    let h = x.rt.heap.new_instance(class, 0, owner).map_err(|_| x.throw(cls::SYSTEM_EXCEPTION, 5))?;
    let r = x.rt.heap.set_native(h, n);
    heap(x, r)?;
    let (u, l) = (x.rt.heap.usage(), x.rt.heap.limits);
    if u.persistent > l.persistent as usize {
        x.rt.heap.free(h);
        return Err(x.throw(cls::SYSTEM_EXCEPTION, 5));
    }
    Ok(h)
}

fn new_engine(x: &mut Exec<'_>, class: ClassIdC, kind: EngineKind, alg: u8) -> R {
    let e = Engine { kind, alg, ..Engine::default() };
    Ok(Some(new_object(x, class, NativeState::Crypto(e))? as i16))
}

/// A deterministic RNG seeded from the card RNG (`--seed` reproduces key generation and
/// padding).
fn rng(x: &mut Exec<'_>) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    let mut seed = [0u8; 32];
    x.env.random(&mut seed);
    rand_chacha::ChaCha20Rng::from_seed(seed)
}

fn random(x: &mut Exec<'_>, n: usize) -> Vec<u8> {
    use rand_core::RngCore;
    let mut v = vec![0u8; n];
    rng(x).fill_bytes(&mut v);
    v
}

// ---------------------------------------------------------------------------------------------
// Digests.

/// Digest length of a `MessageDigest.ALG_*`.
pub fn digest_len(alg: u8) -> Option<usize> {
    Some(match alg {
        1 => 20,
        4 => 32,
        5 => 48,
        6 => 64,
        7 => 28,
        _ => return None,
    })
}

/// The digest of `data` (`MessageDigest.ALG_SHA` 1, `SHA_256` 4, `SHA_384` 5, `SHA_512` 6,
/// `SHA_224` 7).
pub fn digest(alg: u8, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    Some(match alg {
        1 => sha1::Sha1::digest(data).to_vec(),
        4 => sha2::Sha256::digest(data).to_vec(),
        5 => sha2::Sha384::digest(data).to_vec(),
        6 => sha2::Sha512::digest(data).to_vec(),
        7 => sha2::Sha224::digest(data).to_vec(),
        _ => return None,
    })
}

fn hmac(alg: u8, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    use hmac::{Hmac, Mac};
    macro_rules! h {
        ($t:ty) => {{
            let mut m = Hmac::<$t>::new_from_slice(key).ok()?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }};
    }
    Some(match alg {
        1 => h!(sha1::Sha1),
        4 => h!(sha2::Sha256),
        5 => h!(sha2::Sha384),
        6 => h!(sha2::Sha512),
        7 => h!(sha2::Sha224),
        _ => return None,
    })
}

fn append(x: &mut Exec<'_>, h: i16, data: &[u8]) -> Result<(), Thrown> {
    let too_long = run_mut(x, h).is_some_and(|r| r.buf.len() + data.len() > MAX_BUFFERED);
    if too_long {
        return Err(cex(x, ILLEGAL_USE));
    }
    if let Some(r) = run_mut(x, h) {
        r.buf.extend_from_slice(data);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Keys.

fn kind_of(ty: u8) -> Option<(KeyKind, Transience)> {
    use KeyKind::*;
    use Transience::*;
    Some(match ty {
        1 => (Des, ClearOnReset),
        2 => (Des, ClearOnDeselect),
        3 => (Des, Persistent),
        4 => (RsaPublic, Persistent),
        5 => (RsaPrivate, Persistent),
        6 => (RsaCrt, Persistent),
        13 => (Aes, ClearOnReset),
        14 => (Aes, ClearOnDeselect),
        15 => (Aes, Persistent),
        19 => (Hmac, ClearOnReset),
        20 => (Hmac, ClearOnDeselect),
        21 => (Hmac, Persistent),
        22 => (RsaPrivate, ClearOnReset),
        23 => (RsaPrivate, ClearOnDeselect),
        24 => (RsaCrt, ClearOnReset),
        25 => (RsaCrt, ClearOnDeselect),
        11 => (EcPublic, Persistent),
        12 => (EcPrivate, Persistent),
        30 => (EcPrivate, ClearOnReset),
        31 => (EcPrivate, ClearOnDeselect),
        _ => return None,
    })
}

/// `KeyBuilder.buildKey(byte keyType, short keyLength, boolean)`.
fn build_key(x: &mut Exec<'_>, ty: u8, bits: i16) -> R {
    let Some((kind, transience)) = kind_of(ty) else { return Err(cex(x, NO_SUCH_ALGORITHM)) };
    let ok = match kind {
        KeyKind::Des => matches!(bits, 64 | 128 | 192),
        KeyKind::Aes => matches!(bits, 128 | 192 | 256),
        KeyKind::Hmac => bits > 0 && bits % 8 == 0 && bits <= 1024,
        KeyKind::EcPublic | KeyKind::EcPrivate => matches!(bits, 256 | 384 | 521),
        _ => (512..=4096).contains(&bits) && bits % 32 == 0,
    };
    if !ok {
        return Err(cex(x, NO_SUCH_ALGORITHM));
    }
    let class = KEY_CLASSES.iter().find(|(k, _)| *k == kind).map_or(ids::IMPL[4], |(_, c)| *c);
    let k = KeyState { ty, bits: bits as u16, transience, comps: Vec::new() };
    Ok(Some(new_object(x, class, NativeState::Key(k))? as i16))
}

/// `KeyBuilder.buildKey(byte algorithmicKeyType, byte keyMemoryType, short, boolean)`:
/// `ALG_TYPE_*` and `JCSystem.MEMORY_TYPE_*` mapped to the `TYPE_*` codes.
fn build_key4(x: &mut Exec<'_>, alg: u8, mem: u8, bits: i16) -> R {
    let ty = match (alg, mem) {
        (1, 0) => 3,
        (1, 1) => 1,
        (1, 2) => 2,
        (2, 0) => 15,
        (2, 1) => 13,
        (2, 2) => 14,
        (9, 0) => 21,
        (9, 1) => 19,
        (9, 2) => 20,
        (11, 0) => 4,
        (12, 0) => 5,
        (12, 1) => 22,
        (12, 2) => 23,
        (13, 0) => 6,
        (13, 1) => 24,
        (13, 2) => 25,
        (7, 0) => 11,
        (8, 0) => 12,
        (8, 1) => 30,
        (8, 2) => 31,
        _ => return Err(cex(x, NO_SUCH_ALGORITHM)),
    };
    build_key(x, ty, bits)
}

fn strip(v: &[u8]) -> Vec<u8> {
    let i = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v[i..].to_vec()
}

/// A setter (JC API `RSAPublicKey.setModulus` etc.): `ILLEGAL_VALUE` when the value does not
/// fit the key size.
fn key_set(x: &mut Exec<'_>, h: i16, c: Comp, data: Vec<u8>) -> R {
    let mut k = key(x, h)?;
    let n = (k.bits as usize).div_ceil(8);
    let value = match (k.kind(), c) {
        (KeyKind::Hmac, Comp::Key) => {
            if data.is_empty() || data.len() > n.max(128) {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            data
        }
        (KeyKind::Des | KeyKind::Aes, Comp::Key) => data,
        (KeyKind::EcPublic | KeyKind::EcPrivate, Comp::G | Comp::W) => {
            // Uncompressed points only (SEC 1 §2.3.3: 04 || X || Y).
            if data.len() != 2 * n + 1 || data[0] != 4 {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            data
        }
        (KeyKind::EcPublic | KeyKind::EcPrivate, _) => {
            let v = strip(&data);
            if v.len() > n {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            let mut out = vec![0u8; n - v.len()];
            out.extend(v);
            out
        }
        (_, Comp::Modulus) => {
            let v = strip(&data);
            if v.len() != n {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            v
        }
        (_, Comp::Exponent) => {
            let v = strip(&data);
            if v.is_empty() || v.len() > n {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            v
        }
        (_, _) => {
            let v = strip(&data);
            if v.is_empty() || v.len() > n.div_ceil(2) + 1 {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            v
        }
    };
    k.set(c, value);
    put_key(x, h, k)?;
    Ok(None)
}

/// A getter: the component's bytes; `UNINITIALIZED_KEY` when not set.
fn key_get(x: &mut Exec<'_>, h: i16, c: Comp, out: i16, off: i16) -> R {
    let k = key(x, h)?;
    let Some(v) = k.get(c).map(<[u8]>::to_vec) else { return Err(cex(x, UNINITIALIZED_KEY)) };
    write(x, out, off, &v)?;
    Ok(len16(v.len()))
}

// ---------------------------------------------------------------------------------------------
// RSA (RFC 8017): raw operations on `rsa` crate types, paddings here.

fn big(v: &[u8]) -> BigUint {
    BigUint::from_bytes_be(v)
}

fn pad_to(v: BigUint, k: usize) -> Vec<u8> {
    let b = v.to_bytes_be();
    let mut out = vec![0u8; k.saturating_sub(b.len())];
    out.extend_from_slice(&b[b.len().saturating_sub(k)..]);
    out
}

fn rsa_len(k: &KeyState) -> usize {
    (k.bits as usize).div_ceil(8)
}

/// The public (or, for a private key, private) RSA primitive on `input` (RFC 8017 §5.1.1,
/// §5.2.1); `None` when the input is not below the modulus.
///
/// Private keys go through [`crate::crypto::rsa`] (OpenSSL's constant-time Montgomery
/// exponentiation in assembly: the CRT for `RSAPrivateCrtKey`, (n, d) for `RSAPrivateKey`),
/// several times the `BigUint` arithmetic (`rsa_raw_paths_agree` prints both); what OpenSSL
/// refuses (an even modulus, a result longer than the key size) is computed as given by
/// [`rsa_raw_biguint`], as a card would.
fn rsa_raw(k: &KeyState, input: &[u8]) -> Option<Vec<u8>> {
    let n_len = rsa_len(k);
    let fast = match k.kind() {
        KeyKind::RsaPrivate => {
            let (n, d) = (k.get(Comp::Modulus)?, k.get(Comp::Exponent)?);
            crate::crypto::rsa::raw_exponent(n, d, input, n_len).ok()
        }
        KeyKind::RsaCrt => {
            let comps = [Comp::P, Comp::Q, Comp::Dp1, Comp::Dq1, Comp::Pq].map(|c| k.get(c).unwrap_or_default());
            crate::crypto::rsa::raw_crt(comps, input, n_len).ok()
        }
        _ => None,
    };
    fast.or_else(|| rsa_raw_biguint(k, input))
}

/// [`rsa_raw`] on `rsa::BigUint` (the public operation, and private keys as given).
fn rsa_raw_biguint(k: &KeyState, input: &[u8]) -> Option<Vec<u8>> {
    let n_len = rsa_len(k);
    let c = big(input);
    match k.kind() {
        KeyKind::RsaPublic | KeyKind::RsaPrivate => {
            let n = big(k.get(Comp::Modulus)?);
            if c >= n {
                return None;
            }
            let e = big(k.get(Comp::Exponent)?);
            // rsa's own public primitive (`hazmat::rsa_encrypt`) is this modpow.
            Some(pad_to(c.modpow(&e, &n), n_len))
        }
        KeyKind::RsaCrt => {
            // RFC 8017 §5.1.2 step 2.b (CRT form).
            let (p, q) = (big(k.get(Comp::P)?), big(k.get(Comp::Q)?));
            let (dp, dq, qinv) = (big(k.get(Comp::Dp1)?), big(k.get(Comp::Dq1)?), big(k.get(Comp::Pq)?));
            let n = &p * &q;
            if c >= n {
                return None;
            }
            let m1 = c.modpow(&dp, &p);
            let m2 = c.modpow(&dq, &q);
            let diff = (&m1 + &p - (&m2 % &p)) % &p;
            let h = (diff * qinv) % &p;
            Some(pad_to(m2 + h * q, n_len))
        }
        _ => None,
    }
}

fn is_private(k: &KeyState) -> bool {
    matches!(k.kind(), KeyKind::RsaPrivate | KeyKind::RsaCrt)
}

/// DigestInfo prefixes (RFC 8017 §9.2 note 1).
fn digest_info(alg: u8) -> Option<&'static [u8]> {
    Some(match alg {
        1 => &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14],
        7 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04,
            0x1c,
        ],
        4 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ],
        5 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
            0x30,
        ],
        6 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
            0x40,
        ],
        _ => return None,
    })
}

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of a hash.
fn emsa_pkcs1(md: u8, hash: &[u8], k: usize) -> Option<Vec<u8>> {
    let mut t = digest_info(md)?.to_vec();
    t.extend_from_slice(hash);
    if k < t.len() + 11 {
        return None;
    }
    let mut em = vec![0x00, 0x01];
    em.resize(k - t.len() - 1, 0xFF);
    em.push(0);
    em.extend_from_slice(&t);
    Some(em)
}

/// EME-PKCS1-v1_5 (RFC 8017 §7.2.1) with block type 2 (public-key encryption) or 1 (private).
fn eme_pkcs1(x: &mut Exec<'_>, m: &[u8], k: usize, bt: u8) -> Option<Vec<u8>> {
    if m.len() + 11 > k {
        return None;
    }
    let mut em = vec![0x00, bt];
    let n = k - m.len() - 3;
    if bt == 2 {
        let mut ps = random(x, n);
        let mut more = 0u8;
        for b in ps.iter_mut() {
            while *b == 0 {
                more = more.wrapping_add(0x5B);
                *b = random(x, 1)[0] | (more & 1);
            }
        }
        em.extend_from_slice(&ps);
    } else {
        em.resize(2 + n, 0xFF);
    }
    em.push(0);
    em.extend_from_slice(m);
    Some(em)
}

fn eme_pkcs1_decode(em: &[u8], bt: u8) -> Option<Vec<u8>> {
    if em.len() < 11 || em[0] != 0 || em[1] != bt {
        return None;
    }
    let sep = em[2..].iter().position(|b| *b == 0)? + 2;
    if sep < 10 || (bt == 1 && em[2..sep].iter().any(|b| *b != 0xFF)) {
        return None;
    }
    Some(em[sep + 1..].to_vec())
}

/// MGF1 (RFC 8017 §B.2.1) with the digest `md`.
fn mgf1(md: u8, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter = 0u32;
    while out.len() < len {
        let mut d = seed.to_vec();
        d.extend_from_slice(&counter.to_be_bytes());
        let Some(h) = digest(md, &d) else { break };
        out.extend(h);
        counter += 1;
    }
    out.resize(len, 0);
    out
}

fn mgf1_sha1(seed: &[u8], len: usize) -> Vec<u8> {
    mgf1(1, seed, len)
}

/// EMSA-PSS encoding (RFC 8017 §9.1.1) for a modulus of `k` bytes whose bit length is a
/// multiple of 8 (emLen = k, the top bit cleared); MGF1 and the salt length follow the hash
/// (JC API `ALG_RSA_SHA_*_PKCS1_PSS`).
fn emsa_pss(md: u8, hash: &[u8], salt: &[u8], k: usize) -> Option<Vec<u8>> {
    let hl = hash.len();
    if k < hl + salt.len() + 2 {
        return None;
    }
    let mut m = vec![0u8; 8];
    m.extend_from_slice(hash);
    m.extend_from_slice(salt);
    let h = digest(md, &m)?;
    let mut db = vec![0u8; k - salt.len() - hl - 2];
    db.push(1);
    db.extend_from_slice(salt);
    let mask = mgf1(md, &h, k - hl - 1);
    let mut em: Vec<u8> = db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
    em[0] &= 0x7F;
    em.extend_from_slice(&h);
    em.push(0xBC);
    Some(em)
}

/// EMSA-PSS verification (RFC 8017 §9.1.2), salt length = hash length.
fn emsa_pss_verify(md: u8, hash: &[u8], em: &[u8]) -> bool {
    let hl = hash.len();
    let k = em.len();
    if k < 2 * hl + 2 || em[k - 1] != 0xBC || em[0] & 0x80 != 0 {
        return false;
    }
    let (masked, h) = (&em[..k - hl - 1], &em[k - hl - 1..k - 1]);
    let mut db: Vec<u8> = masked.iter().zip(mgf1(md, h, masked.len())).map(|(a, b)| a ^ b).collect();
    db[0] &= 0x7F;
    let ps = db.len() - hl - 1;
    if db[..ps].iter().any(|b| *b != 0) || db[ps] != 1 {
        return false;
    }
    emsa_pss(md, hash, &db[ps + 1..], k).is_some_and(|want| want == em)
}

/// EME-OAEP with SHA-1 and MGF1-SHA-1, empty label (RFC 8017 §7.1.1), as
/// `Cipher.ALG_RSA_PKCS1_OAEP`.
fn oaep_encode(x: &mut Exec<'_>, m: &[u8], k: usize) -> Option<Vec<u8>> {
    let h = 20;
    if m.len() + 2 * h + 2 > k {
        return None;
    }
    let mut db = digest(1, &[])?;
    db.resize(k - m.len() - h - 2, 0);
    db.push(1);
    db.extend_from_slice(m);
    let seed = random(x, h);
    let mask = mgf1_sha1(&seed, db.len());
    let masked_db: Vec<u8> = db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
    let smask = mgf1_sha1(&masked_db, h);
    let mut em = vec![0u8];
    em.extend(seed.iter().zip(&smask).map(|(a, b)| a ^ b));
    em.extend(masked_db);
    Some(em)
}

fn oaep_decode(em: &[u8]) -> Option<Vec<u8>> {
    let h = 20;
    if em.len() < 2 * h + 2 || em[0] != 0 {
        return None;
    }
    let (ms, mdb) = (&em[1..1 + h], &em[1 + h..]);
    let seed: Vec<u8> = ms.iter().zip(mgf1_sha1(mdb, h)).map(|(a, b)| a ^ b).collect();
    let db: Vec<u8> = mdb.iter().zip(mgf1_sha1(&seed, mdb.len())).map(|(a, b)| a ^ b).collect();
    if db[..h] != digest(1, &[])?[..] {
        return None;
    }
    let one = db[h..].iter().position(|b| *b != 0)? + h;
    if db[one] != 1 {
        return None;
    }
    Some(db[one + 1..].to_vec())
}

/// `KeyPair.genKeyPair()` for RSA: the public exponent the public key holds if preset, else
/// 65537 (JC API `KeyPair.genKeyPair`). The key is `crypto::rsa::RsaPrivate::generate`'s: prime
/// candidates from the card RNG (so `--seed` reproduces the key), OpenSSL's primality test
/// (the card's native applets use the same; `cargo bench --bench rsa` times it).
fn gen_rsa(x: &mut Exec<'_>, kp: &Engine) -> Result<(), Thrown> {
    use crate::crypto::rsa::Component as C;
    let (hpub, hpriv) = (kp.keys[0] as i16, kp.keys[1] as i16);
    let mut kpub = key(x, hpub)?;
    let mut kpriv = key(x, hpriv)?;
    let e = kpub.get(Comp::Exponent).map_or_else(|| vec![1, 0, 1], <[u8]>::to_vec);
    let mut r = rng(x);
    let Ok(sk) = crate::crypto::rsa::RsaPrivate::generate(&mut r, kp.bits as usize, &e) else {
        return Err(cex(x, ILLEGAL_VALUE));
    };
    let n = kp.bits as usize / 8;
    let half = n.div_ceil(2);
    let fit = |v: Vec<u8>, len: usize| pad_to(big(&v), len);
    let mut comps = || -> Option<()> {
        kpub.set(Comp::Modulus, pad_to(sk.public_key().n().clone(), n));
        kpub.set(Comp::Exponent, sk.public_key().e().to_bytes_be());
        if kpriv.kind() == KeyKind::RsaCrt {
            kpriv.set(Comp::P, fit(sk.component(C::P)?, half));
            kpriv.set(Comp::Q, fit(sk.component(C::Q)?, half));
            kpriv.set(Comp::Dp1, fit(sk.component(C::Dp)?, half));
            kpriv.set(Comp::Dq1, fit(sk.component(C::Dq)?, half));
            kpriv.set(Comp::Pq, fit(sk.component(C::Qinv)?, half));
        } else {
            kpriv.set(Comp::Modulus, pad_to(sk.public_key().n().clone(), n));
            kpriv.set(Comp::Exponent, fit(sk.component(C::D)?, n));
        }
        Some(())
    };
    if comps().is_none() {
        return Err(cex(x, ILLEGAL_VALUE));
    }
    put_key(x, hpub, kpub)?;
    put_key(x, hpriv, kpriv)
}

// ---------------------------------------------------------------------------------------------
// Block ciphers (AES FIPS 197, DES/3DES SP 800-67) and their modes.

enum Blk {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
    D1(des::Des),
    D2(des::TdesEde2),
    D3(des::TdesEde3),
}

impl Blk {
    fn new(k: &KeyState) -> Option<Blk> {
        use aes::cipher::KeyInit;
        let key = k.get(Comp::Key)?;
        Some(match (k.kind(), key.len()) {
            (KeyKind::Aes, 16) => Blk::A128(aes::Aes128::new_from_slice(key).ok()?),
            (KeyKind::Aes, 24) => Blk::A192(aes::Aes192::new_from_slice(key).ok()?),
            (KeyKind::Aes, 32) => Blk::A256(aes::Aes256::new_from_slice(key).ok()?),
            (KeyKind::Des, 8) => Blk::D1(des::Des::new_from_slice(key).ok()?),
            (KeyKind::Des, 16) => Blk::D2(des::TdesEde2::new_from_slice(key).ok()?),
            (KeyKind::Des, 24) => Blk::D3(des::TdesEde3::new_from_slice(key).ok()?),
            _ => return None,
        })
    }

    fn bs(&self) -> usize {
        match self {
            Blk::A128(_) | Blk::A192(_) | Blk::A256(_) => 16,
            _ => 8,
        }
    }

    fn enc(&self, b: &mut [u8]) {
        use aes::cipher::{generic_array::GenericArray, BlockEncrypt};
        match self {
            Blk::A128(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Blk::A192(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Blk::A256(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D1(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D2(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D3(c) => c.encrypt_block(GenericArray::from_mut_slice(b)),
        }
    }

    fn dec(&self, b: &mut [u8]) {
        use aes::cipher::{generic_array::GenericArray, BlockDecrypt};
        match self {
            Blk::A128(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Blk::A192(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Blk::A256(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D1(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D2(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
            Blk::D3(c) => c.decrypt_block(GenericArray::from_mut_slice(b)),
        }
    }

    /// ECB or CBC over whole blocks, updating the chaining value `iv` (empty for ECB).
    fn run(&self, data: &mut [u8], iv: &mut [u8], encrypt: bool) {
        let bs = self.bs();
        for b in data.chunks_mut(bs) {
            if iv.is_empty() {
                if encrypt {
                    self.enc(b)
                } else {
                    self.dec(b)
                }
            } else if encrypt {
                b.iter_mut().zip(iv.iter()).for_each(|(a, c)| *a ^= c);
                self.enc(b);
                iv.copy_from_slice(b);
            } else {
                let ct = b.to_vec();
                self.dec(b);
                b.iter_mut().zip(iv.iter()).for_each(|(a, c)| *a ^= c);
                iv.copy_from_slice(&ct);
            }
        }
    }
}

/// Paddings (`Cipher.PAD_*`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pad {
    None,
    M1,
    M2,
    Pkcs5,
}

fn pad(data: &mut Vec<u8>, p: Pad, bs: usize) -> bool {
    match p {
        Pad::None => data.len().is_multiple_of(bs),
        // ISO/IEC 9797-1 method 1: zeros up to a block (one block for empty data).
        Pad::M1 => {
            if data.is_empty() || !data.len().is_multiple_of(bs) {
                let n = data.len().div_ceil(bs).max(1) * bs;
                data.resize(n, 0);
            }
            true
        }
        // Method 2: 0x80 then zeros.
        Pad::M2 => {
            data.push(0x80);
            let n = data.len().div_ceil(bs) * bs;
            data.resize(n, 0);
            true
        }
        // PKCS #5 (RFC 8018 §6.1.1 step 4).
        Pad::Pkcs5 => {
            let k = bs - data.len() % bs;
            data.resize(data.len() + k, u8::try_from(k).unwrap_or(0));
            true
        }
    }
}

fn unpad(data: &mut Vec<u8>, p: Pad, bs: usize) -> bool {
    match p {
        Pad::None | Pad::M1 => true,
        Pad::M2 => match data.iter().rposition(|b| *b != 0) {
            Some(i) if data[i] == 0x80 && data.len() - i <= bs => {
                data.truncate(i);
                true
            }
            _ => false,
        },
        Pad::Pkcs5 => match data.last().copied() {
            Some(k) if k >= 1 && k as usize <= bs && data.len() >= k as usize => {
                let n = data.len() - k as usize;
                if data[n..].iter().all(|b| *b == k) {
                    data.truncate(n);
                    true
                } else {
                    false
                }
            }
            _ => false,
        },
    }
}

/// What a `Cipher.ALG_*` is: (key kind, cbc, padding), or RSA with its padding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CipherAlg {
    Block {
        kind: KeyKind,
        cbc: bool,
        pad: Pad,
    },
    RsaPkcs1,
    RsaNoPad,
    RsaOaep,
    /// `AEADCipher.ALG_AES_GCM` (NIST SP 800-38D).
    Gcm,
    /// `AEADCipher.ALG_AES_CCM` (RFC 3610, NIST SP 800-38C).
    Ccm,
}

fn cipher_alg(alg: u8) -> Option<CipherAlg> {
    use CipherAlg::*;
    let d = |cbc, pad| Block { kind: KeyKind::Des, cbc, pad };
    let a = |cbc, pad| Block { kind: KeyKind::Aes, cbc, pad };
    Some(match alg {
        1 => d(true, Pad::None),
        2 => d(true, Pad::M1),
        3 => d(true, Pad::M2),
        4 => d(true, Pad::Pkcs5),
        5 => d(false, Pad::None),
        6 => d(false, Pad::M1),
        7 => d(false, Pad::M2),
        8 => d(false, Pad::Pkcs5),
        10 => RsaPkcs1,
        12 => RsaNoPad,
        13 => a(true, Pad::None),
        14 => a(false, Pad::None),
        15 => RsaOaep,
        22 => a(true, Pad::M1),
        23 => a(true, Pad::M2),
        24 => a(true, Pad::Pkcs5),
        25 => a(false, Pad::M1),
        26 => a(false, Pad::M2),
        27 => a(false, Pad::Pkcs5),
        // AEADCipher.ALG_AES_GCM = -13, ALG_AES_CCM = -12 (the 3.0.5 API's values).
        0xF3 => Gcm,
        0xF4 => Ccm,
        _ => return None,
    })
}

/// `Cipher.getInstance(byte cipherAlgorithm, byte paddingAlgorithm, boolean)` mapped to the
/// single-byte `ALG_*` (JC API `Cipher`: `CIPHER_*`, `PAD_*`).
fn cipher_alg3(c: u8, p: u8) -> Option<u8> {
    Some(match (c, p) {
        (1, 1) => 13,
        (1, 2) => 22,
        (1, 3) => 23,
        (1, 6) => 24,
        (2, 1) => 14,
        (2, 2) => 25,
        (2, 3) => 26,
        (2, 6) => 27,
        (3, 1) => 1,
        (3, 2) => 2,
        (3, 3) => 3,
        (3, 6) => 4,
        (4, 1) => 5,
        (4, 2) => 6,
        (4, 3) => 7,
        (4, 6) => 8,
        (7, 0 | 1) => 12,
        (7, 7) => 10,
        (7, 9) => 15,
        // AEADCipher.CIPHER_AES_GCM = -15, CIPHER_AES_CCM = -14, with PAD_NULL (0).
        (0xF1, 0) => 0xF3,
        (0xF2, 0) => 0xF4,
        _ => return None,
    })
}

fn cipher_codes(alg: u8) -> (u8, u8) {
    match cipher_alg(alg) {
        Some(CipherAlg::Block { kind, cbc, pad }) => {
            let c = match (kind, cbc) {
                (KeyKind::Aes, true) => 1,
                (KeyKind::Aes, false) => 2,
                (_, true) => 3,
                (_, false) => 4,
            };
            let p = match pad {
                Pad::None => 1,
                Pad::M1 => 2,
                Pad::M2 => 3,
                Pad::Pkcs5 => 6,
            };
            (c, p)
        }
        Some(CipherAlg::RsaPkcs1) => (7, 7),
        Some(CipherAlg::RsaNoPad) => (7, 1),
        Some(CipherAlg::RsaOaep) => (7, 9),
        Some(CipherAlg::Gcm) => (0xF1, 0),
        Some(CipherAlg::Ccm) => (0xF2, 0),
        None => (0, 0),
    }
}

/// Checks a key for an engine and returns the chaining IV: `ILLEGAL_VALUE` for a key of the
/// wrong kind or a bad IV, `UNINITIALIZED_KEY` for one not initialised (JC API `Cipher.init`).
fn init_key(x: &mut Exec<'_>, hkey: i16, kinds: &[KeyKind]) -> Result<KeyState, Thrown> {
    let k = key(x, hkey)?;
    if !kinds.contains(&k.kind()) {
        return Err(cex(x, ILLEGAL_VALUE));
    }
    if !k.initialized() {
        return Err(cex(x, UNINITIALIZED_KEY));
    }
    Ok(k)
}

/// What `init(Key, byte mode[, byte[] bArray, short bOff, short bLen])` of `Signature` and
/// `Cipher` share: the engine, the mode (`ILLEGAL_VALUE` unless `MODE_*` 1 or 2) and the
/// parameter bytes.
fn init_args(x: &mut Exec<'_>, a: &[i16], with_iv: bool) -> Result<(Engine, u8, Option<Vec<u8>>), Thrown> {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let e = engine(x, arg(0))?;
    let mode = u8::try_from(arg(2)).unwrap_or(0);
    if mode != 1 && mode != 2 {
        return Err(cex(x, ILLEGAL_VALUE));
    }
    let iv_given = if with_iv { Some(read(x, arg(3), arg(4), arg(5))?) } else { None };
    Ok((e, mode, iv_given))
}

fn cipher_init(x: &mut Exec<'_>, a: &[i16], with_iv: bool) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let (e, mode, iv_given) = init_args(x, a, with_iv)?;
    let Some(alg) = cipher_alg(e.alg) else { return Err(cex(x, NO_SUCH_ALGORITHM)) };
    if matches!(alg, CipherAlg::Gcm | CipherAlg::Ccm) {
        return aead_init(x, arg(0), alg, arg(1), mode, iv_given, None);
    }
    let iv0 = match alg {
        CipherAlg::Block { kind, cbc, .. } => {
            let k = init_key(x, arg(1), &[kind])?;
            let bs = Blk::new(&k).map_or(16, |b| b.bs());
            match (cbc, iv_given) {
                (false, Some(_)) => return Err(cex(x, ILLEGAL_VALUE)),
                (false, None) => Vec::new(),
                (true, None) => vec![0; bs],
                (true, Some(v)) if v.len() == bs => v,
                (true, Some(_)) => return Err(cex(x, ILLEGAL_VALUE)),
            }
        }
        _ => {
            init_key(x, arg(1), &[KeyKind::RsaPublic, KeyKind::RsaPrivate, KeyKind::RsaCrt])?;
            if iv_given.is_some() {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            Vec::new()
        }
    };
    set_run(x, arg(0), Run { key: arg(1) as u16, mode, iv: iv0.clone(), iv0, ..Run::default() });
    Ok(None)
}

/// `Cipher.update` / `doFinal`: the output bytes.
fn cipher_op(x: &mut Exec<'_>, a: &[i16], last: bool) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let h = arg(0);
    let e = engine(x, h)?;
    let input = read(x, arg(1), arg(2), arg(3))?;
    if e.run.key == 0 {
        return Err(cex(x, INVALID_INIT));
    }
    let k = key(x, e.run.key as i16)?;
    if !k.initialized() {
        return Err(cex(x, UNINITIALIZED_KEY));
    }
    let encrypt = e.run.mode == 2;
    let mut run = e.run.clone();
    let out = match cipher_alg(e.alg) {
        Some(CipherAlg::Block { pad: p, .. }) => {
            let Some(blk) = Blk::new(&k) else { return Err(cex(x, UNINITIALIZED_KEY)) };
            let bs = blk.bs();
            run.buf.extend_from_slice(&input);
            if !last {
                let mut n = run.buf.len() / bs * bs;
                if !encrypt && p != Pad::None && n == run.buf.len() && n > 0 {
                    n -= bs;
                }
                let mut chunk: Vec<u8> = run.buf.drain(..n).collect();
                blk.run(&mut chunk, &mut run.iv, encrypt);
                chunk
            } else {
                let mut data = std::mem::take(&mut run.buf);
                let ok = if encrypt { pad(&mut data, p, bs) } else { data.len().is_multiple_of(bs) };
                if !ok {
                    run.iv = run.iv0.clone();
                    set_run(x, h, run);
                    return Err(cex(x, ILLEGAL_USE));
                }
                blk.run(&mut data, &mut run.iv, encrypt);
                run.iv = run.iv0.clone();
                if !encrypt && !unpad(&mut data, p, bs) {
                    set_run(x, h, run);
                    return Err(cex(x, ILLEGAL_USE));
                }
                data
            }
        }
        Some(CipherAlg::Gcm | CipherAlg::Ccm) => {
            let gcm = cipher_alg(e.alg) == Some(CipherAlg::Gcm);
            match aead_op(&k, gcm, &mut run, &input, last) {
                Ok(v) => v,
                Err(r) => {
                    set_run(x, h, run);
                    return Err(cex(x, r));
                }
            }
        }
        Some(rsa_alg) => {
            run.buf.extend_from_slice(&input);
            if !last {
                set_run(x, h, run);
                return Ok(Some(0));
            }
            let data = std::mem::take(&mut run.buf);
            set_run(x, h, run.clone());
            let n = rsa_len(&k);
            let r = rsa_cipher(x, &k, rsa_alg, &data, encrypt, n);
            match r {
                Some(v) => v,
                None => return Err(cex(x, ILLEGAL_USE)),
            }
        }
        None => return Err(cex(x, NO_SUCH_ALGORITHM)),
    };
    check_out(x, arg(4), arg(5), out.len())?;
    set_run(x, h, run);
    write(x, arg(4), arg(5), &out)?;
    Ok(len16(out.len()))
}

fn rsa_cipher(x: &mut Exec<'_>, k: &KeyState, alg: CipherAlg, data: &[u8], encrypt: bool, n: usize) -> Option<Vec<u8>> {
    let private = is_private(k);
    if encrypt {
        let em = match alg {
            CipherAlg::RsaNoPad => {
                if data.len() != n {
                    return None;
                }
                data.to_vec()
            }
            CipherAlg::RsaPkcs1 => eme_pkcs1(x, data, n, if private { 1 } else { 2 })?,
            _ => oaep_encode(x, data, n)?,
        };
        rsa_raw(k, &em)
    } else {
        if data.len() != n {
            return None;
        }
        let em = rsa_raw(k, data)?;
        match alg {
            CipherAlg::RsaNoPad => Some(em),
            CipherAlg::RsaPkcs1 => eme_pkcs1_decode(&em, if private { 2 } else { 1 }),
            _ => oaep_decode(&em),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AEAD ciphers (JC API `AEADCipher`): AES-GCM (NIST SP 800-38D, `aes-gcm`) and AES-CCM (RFC 3610
// = NIST SP 800-38C, written here on the `aes` block cipher: the `ccm` crate fixes the tag and
// nonce sizes as types, 7 × 7 of them). Input is buffered until `doFinal` (JC API
// `Cipher.update` may output less than its input), which outputs the whole ciphertext or
// plaintext and keeps the tag for `retrieveTag` / `verifyTag`: the API verifies a decryption's
// tag after `doFinal`, so the tag is always computed over the ciphertext.

/// `init` of an AEAD cipher: `nonce` from the 5- or 8-argument form, `lens` (AAD length, message
/// length, tag size) from the 8-argument form only.
fn aead_init(
    x: &mut Exec<'_>,
    h: i16,
    alg: CipherAlg,
    hkey: i16,
    mode: u8,
    nonce: Option<Vec<u8>>,
    lens: Option<(i16, i16, i16)>,
) -> R {
    init_key(x, hkey, &[KeyKind::Aes])?;
    // init(Key, byte) gives no nonce: nothing to encrypt with.
    let Some(nonce) = nonce else { return Err(cex(x, ILLEGAL_USE)) };
    let (tag_len, ccm_lens) = match lens {
        Some((a, m, t)) => {
            if a < 0 || m < 0 || t < 0 {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            (t as usize, Some((a as usize, m as usize)))
        }
        None => (16, None),
    };
    let ok = if alg == CipherAlg::Gcm {
        // SP 800-38D §5.2.1.2: tags of 128, 120, 112, 104, 96 bits (and 64, 32 for some
        // applications); IVs of any length from 1 byte (§5.2.1.1: 1 ≤ len(IV) ≤ 2^64 − 1 bits).
        !nonce.is_empty() && matches!(tag_len, 4 | 8 | 12..=16)
    } else {
        // RFC 3610 §2: M in 4, 6, ..., 16; a 15 - L byte nonce with L in 2..8; the message
        // length must fit in L bytes.
        let l = 15usize.saturating_sub(nonce.len());
        (7..=13).contains(&nonce.len())
            && matches!(tag_len, 4 | 6 | 8 | 10 | 12 | 14 | 16)
            && ccm_lens.is_none_or(|(_, m)| l >= 8 || (m as u64) < (1u64 << (8 * l)))
    };
    if !ok {
        return Err(cex(x, ILLEGAL_VALUE));
    }
    let aead = AeadRun { tag_len, lens: ccm_lens, ..AeadRun::default() };
    set_run(x, h, Run { key: hkey as u16, mode, iv0: nonce.clone(), iv: nonce, aead, ..Run::default() });
    Ok(None)
}

/// `update` (buffers, outputs nothing) and `doFinal` (the whole output) of an AEAD cipher; the
/// error is a `CryptoException` reason.
fn aead_op(k: &KeyState, gcm: bool, run: &mut Run, input: &[u8], last: bool) -> Result<Vec<u8>, i16> {
    if run.buf.len() + input.len() > MAX_BUFFERED {
        return Err(ILLEGAL_USE);
    }
    run.buf.extend_from_slice(input);
    run.aead.started = true;
    if !last {
        return Ok(Vec::new());
    }
    let data = std::mem::take(&mut run.buf);
    let aad = std::mem::take(&mut run.aead.aad);
    run.aead.started = false;
    let key = k.get(Comp::Key).ok_or(UNINITIALIZED_KEY)?;
    let encrypt = run.mode == 2;
    if let Some((a, m)) = run.aead.lens {
        // RFC 3610 §2.2: B0 and the AAD encoding carry both lengths; what was announced at init
        // must be what came.
        if !gcm && (aad.len() != a || data.len() != m) {
            return Err(ILLEGAL_USE);
        }
    }
    let (out, tag) = if gcm {
        // Decryption is the same keystream; the tag is over the ciphertext, so a decryption
        // encrypts its output again to get it.
        let (out, tag) = gcm_seal(key, &run.iv0, &aad, &data).ok_or(ILLEGAL_USE)?;
        let tag = if encrypt { tag } else { gcm_seal(key, &run.iv0, &aad, &out).ok_or(ILLEGAL_USE)?.1 };
        (out, tag)
    } else {
        let blk = Blk::new(k).ok_or(UNINITIALIZED_KEY)?;
        let out = ccm_ctr(&blk, &run.iv0, &data);
        let pt = if encrypt { &data } else { &out };
        let tag = ccm_tag(&blk, &run.iv0, &aad, pt, run.aead.tag_len);
        (out, tag)
    };
    let mut tag = tag;
    tag.truncate(run.aead.tag_len);
    run.aead.tag = Some(tag);
    Ok(out)
}

/// AES-GCM (SP 800-38D §7.1): the output and the full 16-byte tag; `aes-gcm` for the 96-bit IV
/// (§8.2's recommended length), [`gcm_any_iv`] for the others.
fn gcm_seal(key: &[u8], nonce: &[u8], aad: &[u8], data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    if nonce.len() != 12 {
        return gcm_any_iv(key, nonce, aad, data);
    }
    let mut buf = data.to_vec();
    let n = aes_gcm::Nonce::from_slice(nonce);
    let tag = match key.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(key).ok()?.encrypt_in_place_detached(n, aad, &mut buf).ok()?,
        24 => aes_gcm::AesGcm::<aes::Aes192, aes_gcm::aead::consts::U12>::new_from_slice(key)
            .ok()?
            .encrypt_in_place_detached(n, aad, &mut buf)
            .ok()?,
        _ => aes_gcm::Aes256Gcm::new_from_slice(key).ok()?.encrypt_in_place_detached(n, aad, &mut buf).ok()?,
    };
    Some((buf, tag.to_vec()))
}

/// GCM-AE's steps (SP 800-38D §7.1 Algorithm 4) for an IV of any length: H = E(0^128),
/// J0 = GHASH_H(IV || 0^(s+64) || [len(IV)]_64) (96 bits: IV || 0^31 || 1), C = GCTR(inc32(J0),
/// P), S = GHASH_H(A || 0^v || C || 0^u || [len(A)]_64 || [len(C)]_64), T = E(J0) ^ S.
fn gcm_any_iv(key: &[u8], iv: &[u8], aad: &[u8], data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use ghash::universal_hash::{KeyInit, UniversalHash};
    use ghash::GHash;
    let mut k = KeyState { ty: 15, bits: 0, transience: Transience::Persistent, comps: Vec::new() };
    k.set(Comp::Key, key.to_vec());
    let blk = Blk::new(&k)?;
    let mut h = [0u8; 16];
    blk.enc(&mut h);
    let ghash = |parts: &[&[u8]], lens: Option<[u64; 2]>| -> [u8; 16] {
        let mut g = GHash::new(&h.into());
        for p in parts {
            g.update_padded(p);
        }
        if let Some([a, b]) = lens {
            let mut l = [0u8; 16];
            l[..8].copy_from_slice(&a.to_be_bytes());
            l[8..].copy_from_slice(&b.to_be_bytes());
            g.update_padded(&l);
        }
        g.finalize().into()
    };
    let bits = |n: usize| (n as u64).wrapping_mul(8);
    let j0 = if iv.len() == 12 {
        let mut j = [0u8; 16];
        j[..12].copy_from_slice(iv);
        j[15] = 1;
        j
    } else {
        ghash(&[iv], Some([0, bits(iv.len())]))
    };
    let inc32 = |cb: &mut [u8; 16]| {
        let c = u32::from_be_bytes([cb[12], cb[13], cb[14], cb[15]]).wrapping_add(1);
        cb[12..].copy_from_slice(&c.to_be_bytes());
    };
    let mut cb = j0;
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(16) {
        inc32(&mut cb);
        let mut ks = cb;
        blk.enc(&mut ks);
        out.extend(chunk.iter().zip(ks.iter()).map(|(a, b)| a ^ b));
    }
    let s = ghash(&[aad, &out], Some([bits(aad.len()), bits(out.len())]));
    let mut t = j0;
    blk.enc(&mut t);
    Some((out, t.iter().zip(s.iter()).map(|(a, b)| a ^ b).collect()))
}

/// CCM's counter block A_i (RFC 3610 §2.3): flags L' = L - 1, the nonce, i in L bytes.
fn ccm_ctr_block(nonce: &[u8], i: u64) -> [u8; 16] {
    let l = 15 - nonce.len();
    let mut a = [0u8; 16];
    a[0] = u8::try_from(l - 1).unwrap_or(0);
    a[1..=nonce.len()].copy_from_slice(nonce);
    let ib = i.to_be_bytes();
    for j in 0..l.min(8) {
        a[15 - j] = ib[7 - j];
    }
    a
}

/// CCM encryption / decryption (RFC 3610 §2.3): the data xor'd with E(A_1), E(A_2), ...
fn ccm_ctr(blk: &Blk, nonce: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (i, chunk) in data.chunks(16).enumerate() {
        let mut s = ccm_ctr_block(nonce, i as u64 + 1);
        blk.enc(&mut s);
        out.extend(chunk.iter().zip(s.iter()).map(|(a, b)| a ^ b));
    }
    out
}

/// The CCM tag (RFC 3610 §2.2-2.3): CBC-MAC over B_0 (flags, nonce, l(m)), the AAD with its
/// length prefix, the message, each zero-padded to a block; its first M bytes xor'd with E(A_0).
fn ccm_tag(blk: &Blk, nonce: &[u8], aad: &[u8], msg: &[u8], m: usize) -> Vec<u8> {
    let l = 15 - nonce.len();
    let mut b0 = [0u8; 16];
    let flags = (if aad.is_empty() { 0 } else { 0x40 }) | (((m - 2) / 2) << 3) | (l - 1);
    b0[0] = u8::try_from(flags).unwrap_or(0);
    b0[1..=nonce.len()].copy_from_slice(nonce);
    let lb = (msg.len() as u64).to_be_bytes();
    for j in 0..l.min(8) {
        b0[15 - j] = lb[7 - j];
    }
    let mut input = b0.to_vec();
    if !aad.is_empty() {
        // §2.2: l(a) in 2 bytes below 2^16 - 2^8, else FF FE and 4 bytes (FF FF and 8 bytes
        // beyond 2^32: not reachable under MAX_BUFFERED).
        match u16::try_from(aad.len()) {
            Ok(la) if la < 0xFF00 => input.extend_from_slice(&la.to_be_bytes()),
            _ => {
                input.extend_from_slice(&[0xFF, 0xFE]);
                input.extend_from_slice(&u32::try_from(aad.len()).unwrap_or(u32::MAX).to_be_bytes());
            }
        }
        input.extend_from_slice(aad);
        input.resize(input.len().div_ceil(16) * 16, 0);
    }
    input.extend_from_slice(msg);
    input.resize(input.len().div_ceil(16) * 16, 0);
    let mut chain = [0u8; 16];
    for b in input.chunks(16) {
        chain.iter_mut().zip(b).for_each(|(c, v)| *c ^= v);
        blk.enc(&mut chain);
    }
    let mut s0 = ccm_ctr_block(nonce, 0);
    blk.enc(&mut s0);
    chain.iter().zip(s0.iter()).take(m).map(|(a, b)| a ^ b).collect()
}

/// `AEADCipher.updateAAD`, `retrieveTag`, `verifyTag`.
fn aead_call(x: &mut Exec<'_>, n: SecNative, a: &[i16]) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let h = arg(0);
    let e = engine(x, h)?;
    if !matches!(cipher_alg(e.alg), Some(CipherAlg::Gcm | CipherAlg::Ccm)) {
        return Err(x.security());
    }
    if e.run.key == 0 {
        return Err(cex(x, INVALID_INIT));
    }
    let data = read(x, arg(1), arg(2), arg(3))?;
    let encrypt = e.run.mode == 2;
    match n {
        AeUpdateAad => {
            // JC API updateAAD: ILLEGAL_USE once update has been called (the AAD comes first),
            // or past the AAD length a CCM init announced.
            let over = e.run.aead.lens.is_some_and(|(l, _)| e.run.aead.aad.len() + data.len() > l);
            if e.run.aead.started || over || e.run.aead.aad.len() + data.len() > MAX_BUFFERED {
                return Err(cex(x, ILLEGAL_USE));
            }
            if let Some(r) = run_mut(x, h) {
                r.aead.aad.extend_from_slice(&data);
            }
            Ok(None)
        }
        AeRetrieveTag => {
            // The tag of an encryption's doFinal; tagLen a prefix of it for GCM (SP 800-38D
            // §5.2.1.2 MSB_t), exactly M for CCM (M is in B_0).
            let len = arg(3);
            let Some(tag) = e.run.aead.tag.clone().filter(|_| encrypt) else { return Err(cex(x, ILLEGAL_USE)) };
            let gcm = cipher_alg(e.alg) == Some(CipherAlg::Gcm);
            let ok = len > 0 && (len as usize) <= tag.len() && (gcm || len as usize == tag.len());
            if !ok {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            write(x, arg(1), arg(2), &tag[..len as usize])?;
            Ok(Some(len))
        }
        _ => {
            // verifyTag(receivedTagBuf, off, receivedTagLen, requiredTagLen): the received tag
            // must be the required length and equal the computed tag's first bytes.
            let required = arg(4);
            let Some(tag) = e.run.aead.tag.clone().filter(|_| !encrypt) else { return Err(cex(x, ILLEGAL_USE)) };
            let gcm = cipher_alg(e.alg) == Some(CipherAlg::Gcm);
            let n = data.len();
            let fits = n > 0 && n <= tag.len() && (gcm || n == tag.len());
            // Every byte compared (no early exit on the first difference).
            let diff = tag.iter().zip(&data).fold(0u8, |acc, (a, b)| acc | (a ^ b));
            let ok = fits && required >= 0 && required as usize == n && diff == 0;
            Ok(Some(i16::from(ok)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures.

#[derive(Clone, Copy, PartialEq, Eq)]
enum SigAlg {
    /// RSA PKCS#1 v1.5 with this `MessageDigest.ALG_*`.
    RsaPkcs1(u8),
    /// RSA PSS (RFC 8017 §8.1) with this digest, MGF1 of it, salt of its length.
    RsaPss(u8),
    /// HMAC with this digest.
    Hmac(u8),
    /// AES-CMAC (NIST SP 800-38B).
    AesCmac,
    /// AES CBC-MAC, no padding.
    AesMac,
    /// DES/3DES CBC-MAC (ISO/IEC 9797-1 algorithm 1): MAC length, padding.
    DesMac(usize, Pad),
    /// ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC" of EMV and ICAO): single-DES CBC-MAC
    /// under K1, the last block then decrypted under K2 and encrypted under K1; MAC length,
    /// padding.
    DesRetail(usize, Pad),
    /// ECDSA (FIPS 186-4, DER signature) with this `MessageDigest.ALG_*`.
    Ecdsa(u8),
}

fn sig_alg(alg: u8) -> Option<SigAlg> {
    use SigAlg::*;
    Some(match alg {
        1 => DesMac(4, Pad::None),
        2 => DesMac(8, Pad::None),
        3 => DesMac(4, Pad::M1),
        4 => DesMac(8, Pad::M1),
        5 => DesMac(4, Pad::M2),
        6 => DesMac(8, Pad::M2),
        7 => DesMac(4, Pad::Pkcs5),
        8 => DesMac(8, Pad::Pkcs5),
        // JC API Signature: ALG_DES_MAC4/MAC8_ISO9797_1_M2_ALG3 (19, 20), _M1_ALG3 (47, 48).
        19 => DesRetail(4, Pad::M2),
        20 => DesRetail(8, Pad::M2),
        47 => DesRetail(4, Pad::M1),
        48 => DesRetail(8, Pad::M1),
        10 => RsaPkcs1(1),
        21 => RsaPss(1),
        43 => RsaPss(7),
        44 => RsaPss(4),
        45 => RsaPss(5),
        46 => RsaPss(6),
        18 => AesMac,
        24 => Hmac(1),
        25 => Hmac(4),
        26 => Hmac(5),
        27 => Hmac(6),
        39 => RsaPkcs1(7),
        40 => RsaPkcs1(4),
        41 => RsaPkcs1(5),
        42 => RsaPkcs1(6),
        49 => AesCmac,
        17 => Ecdsa(1),
        33 => Ecdsa(4),
        34 => Ecdsa(5),
        37 => Ecdsa(7),
        38 => Ecdsa(6),
        _ => return None,
    })
}

/// `Signature.getInstance(byte messageDigestAlgorithm, byte cipherAlgorithm, byte
/// paddingAlgorithm, boolean)` mapped to the single-byte `ALG_*`.
fn sig_alg4(md: u8, c: u8, p: u8) -> Option<u8> {
    Some(match (md, c, p) {
        (1, 3, 7) => 10,
        (7, 3, 7) => 39,
        (4, 3, 7) => 40,
        (5, 3, 7) => 41,
        (6, 3, 7) => 42,
        (1, 3, 8) => 21,
        (7, 3, 8) => 43,
        (4, 3, 8) => 44,
        (5, 3, 8) => 45,
        (6, 3, 8) => 46,
        (1, 7, 0) => 24,
        (4, 7, 0) => 25,
        (5, 7, 0) => 26,
        (6, 7, 0) => 27,
        (0, 10, 0) => 49,
        (0, 6, 1) => 18,
        (0, 2, 1) => 2,
        (0, 2, 2) => 4,
        (0, 2, 3) => 6,
        (0, 2, 6) => 8,
        (0, 1, 1) => 1,
        (0, 1, 2) => 3,
        (0, 1, 3) => 5,
        (0, 1, 6) => 7,
        (1, 5, 0) => 17,
        (4, 5, 0) => 33,
        (5, 5, 0) => 34,
        (7, 5, 0) => 37,
        (6, 5, 0) => 38,
        _ => return None,
    })
}

fn sig_codes(alg: u8) -> (u8, u8, u8) {
    match sig_alg(alg) {
        Some(SigAlg::RsaPkcs1(md)) => (md, 3, 7),
        Some(SigAlg::RsaPss(md)) => (md, 3, 8),
        Some(SigAlg::Hmac(md)) => (md, 7, 0),
        Some(SigAlg::AesCmac) => (0, 10, 0),
        Some(SigAlg::AesMac) => (0, 6, 1),
        Some(SigAlg::Ecdsa(md)) => (md, 5, 0),
        Some(SigAlg::DesMac(n, p)) => {
            let pc = match p {
                Pad::None => 1,
                Pad::M1 => 2,
                Pad::M2 => 3,
                Pad::Pkcs5 => 6,
            };
            (0, if n == 4 { 1 } else { 2 }, pc)
        }
        // JC API Signature.PAD_ISO9797_1_M1_ALG3 (4), PAD_ISO9797_1_M2_ALG3 (5).
        Some(SigAlg::DesRetail(n, p)) => (0, if n == 4 { 1 } else { 2 }, if p == Pad::M1 { 4 } else { 5 }),
        None => (0, 0, 0),
    }
}

fn sig_len(alg: SigAlg, k: Option<&KeyState>) -> usize {
    match alg {
        SigAlg::RsaPkcs1(_) | SigAlg::RsaPss(_) => k.map_or(0, rsa_len),
        SigAlg::Hmac(md) => digest_len(md).unwrap_or(0),
        SigAlg::AesCmac | SigAlg::AesMac => 16,
        SigAlg::DesMac(n, _) | SigAlg::DesRetail(n, _) => n,
        // The longest DER SEQUENCE of two INTEGERs of the order's size.
        SigAlg::Ecdsa(_) => k.map_or(72, |k| 2 * (k.bits as usize).div_ceil(8) + 8),
    }
}

fn sig_init(x: &mut Exec<'_>, a: &[i16], with_iv: bool) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let (e, mode, iv_given) = init_args(x, a, with_iv)?;
    let Some(alg) = sig_alg(e.alg) else { return Err(cex(x, NO_SUCH_ALGORITHM)) };
    let iv0 = match alg {
        SigAlg::RsaPkcs1(_) | SigAlg::RsaPss(_) => {
            let kinds: &[KeyKind] =
                if mode == 1 { &[KeyKind::RsaPrivate, KeyKind::RsaCrt] } else { &[KeyKind::RsaPublic] };
            init_key(x, arg(1), kinds)?;
            if iv_given.is_some() {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            Vec::new()
        }
        SigAlg::Hmac(_) => {
            init_key(x, arg(1), &[KeyKind::Hmac])?;
            Vec::new()
        }
        SigAlg::Ecdsa(_) => {
            let kinds: &[KeyKind] = if mode == 1 { &[KeyKind::EcPrivate] } else { &[KeyKind::EcPublic] };
            let k = init_key(x, arg(1), kinds)?;
            if Curve::of(&k).is_none() {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            Vec::new()
        }
        SigAlg::AesCmac => {
            init_key(x, arg(1), &[KeyKind::Aes])?;
            Vec::new()
        }
        SigAlg::AesMac | SigAlg::DesMac(..) | SigAlg::DesRetail(..) => {
            let kind = if alg == SigAlg::AesMac { KeyKind::Aes } else { KeyKind::Des };
            let bs = if kind == KeyKind::Aes { 16 } else { 8 };
            init_key(x, arg(1), &[kind])?;
            match iv_given {
                None => vec![0; bs],
                Some(v) if v.len() == bs => v,
                Some(_) => return Err(cex(x, ILLEGAL_VALUE)),
            }
        }
    };
    set_run(x, arg(0), Run { key: arg(1) as u16, mode, iv: iv0.clone(), iv0, ..Run::default() });
    Ok(None)
}

/// The MAC or signature over `data` (a hash for `pre`computed RSA); `Err(reason)` on failure.
fn sig_compute(x: &mut Exec<'_>, alg: SigAlg, k: &KeyState, iv: &[u8], data: &[u8], pre: bool) -> Result<Vec<u8>, i16> {
    match alg {
        SigAlg::RsaPkcs1(md) => {
            let hash = if pre {
                if Some(data.len()) != digest_len(md) {
                    return Err(ILLEGAL_USE);
                }
                data.to_vec()
            } else {
                digest(md, data).ok_or(NO_SUCH_ALGORITHM)?
            };
            let em = emsa_pkcs1(md, &hash, rsa_len(k)).ok_or(ILLEGAL_USE)?;
            if is_private(k) {
                rsa_raw(k, &em).ok_or(ILLEGAL_USE)
            } else {
                Ok(em)
            }
        }
        SigAlg::Hmac(md) => hmac(md, k.get(Comp::Key).unwrap_or_default(), data).ok_or(ILLEGAL_USE),
        SigAlg::Ecdsa(md) => {
            let hash = if pre { data.to_vec() } else { digest(md, data).ok_or(NO_SUCH_ALGORITHM)? };
            ecdsa_sign(k, md, &hash).ok_or(ILLEGAL_USE)
        }
        SigAlg::RsaPss(md) => {
            let hash = if pre {
                if Some(data.len()) != digest_len(md) {
                    return Err(ILLEGAL_USE);
                }
                data.to_vec()
            } else {
                digest(md, data).ok_or(NO_SUCH_ALGORITHM)?
            };
            let salt = random(x, hash.len());
            let em = emsa_pss(md, &hash, &salt, rsa_len(k)).ok_or(ILLEGAL_USE)?;
            rsa_raw(k, &em).ok_or(ILLEGAL_USE)
        }
        SigAlg::AesCmac => {
            use cmac::Mac;
            let key = k.get(Comp::Key).unwrap_or_default();
            macro_rules! c {
                ($t:ty) => {{
                    let mut m = cmac::Cmac::<$t>::new_from_slice(key).map_err(|_| ILLEGAL_USE)?;
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }};
            }
            Ok(match key.len() {
                16 => c!(aes::Aes128),
                24 => c!(aes::Aes192),
                _ => c!(aes::Aes256),
            })
        }
        SigAlg::AesMac | SigAlg::DesMac(..) => {
            let _ = x;
            let blk = Blk::new(k).ok_or(UNINITIALIZED_KEY)?;
            let bs = blk.bs();
            let (n, p) = match alg {
                SigAlg::DesMac(n, p) => (n, p),
                _ => (16, Pad::None),
            };
            let mut d = data.to_vec();
            if !pad(&mut d, p, bs) || d.is_empty() {
                return Err(ILLEGAL_USE);
            }
            let mut chain = iv.to_vec();
            blk.run(&mut d, &mut chain, true);
            Ok(chain[..n].to_vec())
        }
        SigAlg::DesRetail(n, p) => {
            let _ = x;
            let (k1, k2) = retail_keys(k).ok_or(UNINITIALIZED_KEY)?;
            let mut d = data.to_vec();
            if !pad(&mut d, p, 8) || d.is_empty() {
                return Err(ILLEGAL_USE);
            }
            let mut chain = iv.to_vec();
            k1.run(&mut d, &mut chain, true);
            // ISO/IEC 9797-1 §7.1.3 output transformation 3: G = e_K(d_K'(H_q)).
            k2.dec(&mut chain);
            k1.enc(&mut chain);
            Ok(chain[..n].to_vec())
        }
    }
}

/// The two single-DES keys of MAC algorithm 3: K1 and K2 of a 2- or 3-key DES key (the third
/// key is not used, as on cards and in jCardSim); a single DES key is both (the MAC is then
/// algorithm 1's).
fn retail_keys(k: &KeyState) -> Option<(Blk, Blk)> {
    use aes::cipher::KeyInit;
    let key = k.get(Comp::Key)?;
    if k.kind() != KeyKind::Des {
        return None;
    }
    let k2 = key.get(8..16).or_else(|| key.get(..8))?;
    Some((Blk::D1(des::Des::new_from_slice(key.get(..8)?).ok()?), Blk::D1(des::Des::new_from_slice(k2).ok()?)))
}

/// `sign` / `verify` (and their precomputed-hash forms).
fn sig_op(x: &mut Exec<'_>, a: &[i16], verify: bool, pre: bool) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let h = arg(0);
    let e = engine(x, h)?;
    let input = read(x, arg(1), arg(2), arg(3))?;
    let Some(alg) = sig_alg(e.alg) else { return Err(cex(x, NO_SUCH_ALGORITHM)) };
    if e.run.key == 0 || (e.run.mode == 2) != verify {
        return Err(cex(x, INVALID_INIT));
    }
    if pre && !matches!(alg, SigAlg::RsaPkcs1(_) | SigAlg::RsaPss(_) | SigAlg::Ecdsa(_)) {
        return Err(cex(x, ILLEGAL_USE));
    }
    let k = key(x, e.run.key as i16)?;
    if !k.initialized() {
        return Err(cex(x, UNINITIALIZED_KEY));
    }
    let mut data = if pre { Vec::new() } else { e.run.buf.clone() };
    data.extend_from_slice(&input);
    // Back to the state after init (JC API Signature.sign).
    if let Some(r) = run_mut(x, h) {
        r.buf.clear();
    }
    if verify {
        let sig = read(x, arg(4), arg(5), arg(6))?;
        let ok = match alg {
            SigAlg::RsaPkcs1(md) => {
                let n = rsa_len(&k);
                let hash = if pre { Some(data.clone()) } else { digest(md, &data) };
                sig.len() == n
                    && match (rsa_raw(&k, &sig), hash.and_then(|hh| emsa_pkcs1(md, &hh, n))) {
                        (Some(em), Some(want)) => em == want,
                        _ => false,
                    }
            }
            SigAlg::Ecdsa(md) => {
                let hash = if pre { Some(data.clone()) } else { digest(md, &data) };
                hash.is_some_and(|hh| ecdsa_verify(&k, &hh, &sig))
            }
            SigAlg::RsaPss(md) => {
                let hash = if pre { Some(data.clone()) } else { digest(md, &data) };
                sig.len() == rsa_len(&k)
                    && match (hash, rsa_raw(&k, &sig)) {
                        (Some(hh), Some(em)) => emsa_pss_verify(md, &hh, &em),
                        _ => false,
                    }
            }
            _ => match sig_compute(x, alg, &k, &e.run.iv0, &data, pre) {
                Ok(m) => m == sig,
                Err(r) => return Err(cex(x, r)),
            },
        };
        Ok(Some(i16::from(ok)))
    } else {
        let out = match sig_compute(x, alg, &k, &e.run.iv0, &data, pre) {
            Ok(v) => v,
            Err(r) => return Err(cex(x, r)),
        };
        write(x, arg(4), arg(5), &out)?;
        Ok(len16(out.len()))
    }
}

// ---------------------------------------------------------------------------------------------
// Elliptic curves over F_p (SEC 1, FIPS 186-4): the curves are recognised by their domain
// parameters, as applets set them (`setFieldFP`, `setA`, `setB`, `setG`, `setR`).

/// A curve the VM computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// secp256k1 (SEC 2 §2.4.1; Bitcoin's curve).
    Secp256k1,
}

/// Domain parameters (p, a, b, G uncompressed, r) of SEC 2 v2 §2.4.2 (P-256), §2.5.1 (P-384),
/// §2.6.1 (P-521) and §2.4.1 (secp256k1); checked against the curve crates by the unit tests.
fn params(c: Curve) -> [&'static str; 5] {
    match c {
        Curve::P256 => [
            "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
            "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
            "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        ],
        Curve::P384 => [
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        ],
        Curve::P521 => [
            "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc",
            "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
            "0400c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
            "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        ],
        Curve::Secp256k1 => [
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000007",
            "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        ],
    }
}

const PARAM_COMPS: [Comp; 5] = [Comp::Field, Comp::A, Comp::B, Comp::G, Comp::R];

impl Curve {
    /// The curve whose parameters the key holds.
    pub fn of(k: &KeyState) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1].into_iter().find(|c| {
            PARAM_COMPS.iter().zip(params(*c)).all(|(comp, hexv)| {
                k.get(*comp).is_some_and(|v| strip(v) == strip(&hex::decode(hexv).unwrap_or_default()))
            })
        })
    }

    /// The curve a key pair gets when the applet sets no parameters: the NIST curve of that
    /// size (secp256k1 only by its parameters).
    fn for_bits(bits: u16) -> Option<Curve> {
        match bits {
            256 => Some(Curve::P256),
            384 => Some(Curve::P384),
            521 => Some(Curve::P521),
            _ => None,
        }
    }

    /// Bytes of a field element (and of the order: none of these curves has r > p).
    fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// `KeyPair.genKeyPair()` for `ALG_EC_FP`: the domain parameters the keys hold, or the NIST
/// curve of the key size when none are set (then written to both keys).
fn gen_ec(x: &mut Exec<'_>, kp: &Engine) -> Result<(), Thrown> {
    let (hpub, hpriv) = (kp.keys[0] as i16, kp.keys[1] as i16);
    let mut kpub = key(x, hpub)?;
    let mut kpriv = key(x, hpriv)?;
    let curve = match Curve::of(&kpub).or_else(|| Curve::of(&kpriv)) {
        Some(c) => c,
        None if kpub.get(Comp::Field).is_none() && kpriv.get(Comp::Field).is_none() => {
            match Curve::for_bits(kpub.bits) {
                Some(c) => c,
                None => return Err(cex(x, ILLEGAL_VALUE)),
            }
        }
        None => return Err(cex(x, ILLEGAL_VALUE)),
    };
    for k in [&mut kpub, &mut kpriv] {
        for (comp, hexv) in PARAM_COMPS.iter().zip(params(curve)) {
            k.set(*comp, hex::decode(hexv).unwrap_or_default());
        }
    }
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut r = rng(x);
    macro_rules! gen {
        ($c:ident) => {{
            // Uncompressed (SEC 1 §2.3.3; `k256` would compress by default).
            let sk = $c::SecretKey::random(&mut r);
            let w = sk.public_key().to_encoded_point(false).as_bytes().to_vec();
            (sk.to_bytes().to_vec(), w)
        }};
    }
    let (s, w) = match curve {
        Curve::P256 => gen!(p256),
        Curve::P384 => gen!(p384),
        Curve::P521 => gen!(p521),
        Curve::Secp256k1 => gen!(k256),
    };
    kpub.set(Comp::W, w);
    kpriv.set(Comp::S, s);
    put_key(x, hpub, kpub)?;
    put_key(x, hpriv, kpriv)
}

/// The hash as the curve crates take it: one shorter than the field left-padded with zeros.
/// FIPS 186-4 §6.4 takes the leftmost min(N, outlen) bits as the integer e, so a shorter hash
/// is e as it stands, and the padding keeps its value; the `ecdsa` crate refuses a prehash
/// below half the field size (SHA-1 on P-384/P-521), which a card does not.
fn ec_hash(c: Curve, hash: &[u8]) -> Vec<u8> {
    let n = c.field_len();
    if hash.len() >= n {
        return hash.to_vec();
    }
    let mut v = vec![0u8; n - hash.len()];
    v.extend_from_slice(hash);
    v
}

/// The RFC 6979 §3.2 nonce with HMAC over the message's hash `md` (`MessageDigest.ALG_*`), as
/// RFC 6979 defines it for every hash and curve: the crates' own signers key the HMAC with the
/// curve's hash instead (equal only for SHA-256 on P-256, SHA-384 on P-384...), and `p521`
/// 0.13 draws a random nonce. bits2int keeps the leftmost qlen bits (P-521: 521 of a 528-bit
/// T). `x` is the private key, `h1` the hash; the nonce is rlen bytes.
fn rfc6979_k(c: Curve, md: u8, x: &[u8], h1: &[u8]) -> Option<Vec<u8>> {
    let q = big(&hex::decode(params(c)[4]).ok()?);
    let qlen = q.bits();
    let rlen = c.field_len();
    let bits2int = |b: &[u8]| {
        let v = big(b);
        let blen = 8 * b.len();
        if blen > qlen {
            v >> (blen - qlen)
        } else {
            v
        }
    };
    let int2octets = |v: &BigUint| pad_to(v.clone(), rlen);
    let z1 = bits2int(h1);
    let z2 = if z1 >= q { &z1 - &q } else { z1 };
    let seed = [int2octets(&big(x)), int2octets(&z2)].concat();
    let hlen = digest_len(md)?;
    let mut v = vec![0x01u8; hlen];
    let mut kk = vec![0x00u8; hlen];
    for tag in [0x00u8, 0x01] {
        kk = hmac(md, &kk, &[&v[..], &[tag], &seed].concat())?;
        v = hmac(md, &kk, &v)?;
    }
    loop {
        let mut t = Vec::new();
        while 8 * t.len() < qlen {
            v = hmac(md, &kk, &v)?;
            t.extend_from_slice(&v);
        }
        let k = bits2int(&t);
        if k > BigUint::from(0u8) && k < q {
            return Some(int2octets(&k));
        }
        kk = hmac(md, &kk, &[&v[..], &[0x00]].concat())?;
        v = hmac(md, &kk, &v)?;
    }
}

/// bits2field of the hash for a byte-aligned field or P-521's (FIPS 186-4 §6.4: the leftmost
/// field-size bytes of a longer hash, a shorter one as its integer, zero-extended).
fn ec_field_hash(c: Curve, hash: &[u8]) -> Vec<u8> {
    let n = c.field_len();
    let mut v = ec_hash(c, hash);
    v.truncate(n);
    v
}

/// ECDSA over a hash, DER-encoded (JC API `ALG_ECDSA_*`): s = k⁻¹(z + r·d) (FIPS 186-4
/// §6.4.1, `ecdsa` hazmat) with the RFC 6979 nonce of [`rfc6979_k`]; on secp256k1 the low s
/// (BIP 62, what `k256` and wallets give; both verify).
fn ecdsa_sign(k: &KeyState, md: u8, hash: &[u8]) -> Option<Vec<u8>> {
    use p256::elliptic_curve::ff::PrimeField;
    let sk = k.get(Comp::S)?;
    let c = Curve::of(k)?;
    let z = ec_field_hash(c, hash);
    macro_rules! sign {
        ($c:ident, $curve:ty) => {{
            let d = $c::SecretKey::from_slice(sk).ok()?;
            let kb = rfc6979_k(c, md, &d.to_bytes(), hash)?;
            let kn = Option::<$c::Scalar>::from($c::Scalar::from_repr($c::FieldBytes::clone_from_slice(&kb)))?;
            let z = $c::FieldBytes::clone_from_slice(&z);
            let (sig, _) = ecdsa::hazmat::sign_prehashed::<$curve, _>(d.to_nonzero_scalar().as_ref(), kn, &z).ok()?;
            sig
        }};
    }
    Some(match c {
        Curve::P256 => sign!(p256, p256::NistP256).to_der().as_bytes().to_vec(),
        Curve::P384 => sign!(p384, p384::NistP384).to_der().as_bytes().to_vec(),
        Curve::P521 => sign!(p521, p521::NistP521).to_der().as_bytes().to_vec(),
        Curve::Secp256k1 => {
            let sig = sign!(k256, k256::Secp256k1);
            sig.normalize_s().unwrap_or(sig).to_der().as_bytes().to_vec()
        }
    })
}

/// ECDSA verification (FIPS 186-4 §6.4.2). A high s is accepted: plain ECDSA has both (r, s)
/// and (r, n - s), while `k256` wants the low one (BIP 62/146), so s is normalised first.
fn ecdsa_verify(k: &KeyState, hash: &[u8], der: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (Some(w), Some(c)) = (k.get(Comp::W), Curve::of(k)) else { return false };
    let hash = ec_hash(c, hash);
    macro_rules! verify {
        ($c:ident) => {{
            let (Ok(key), Ok(sig)) = ($c::ecdsa::VerifyingKey::from_sec1_bytes(w), $c::ecdsa::Signature::from_der(der))
            else {
                return false;
            };
            let sig = sig.normalize_s().unwrap_or(sig);
            key.verify_prehash(&hash, &sig).is_ok()
        }};
    }
    match c {
        Curve::P256 => verify!(p256),
        Curve::P384 => verify!(p384),
        Curve::P521 => verify!(p521),
        Curve::Secp256k1 => verify!(k256),
    }
}

/// S × the peer's point (SEC 1 §3.3.1), uncompressed; `None` for a point not on the curve.
fn ecdh(k: &KeyState, public: &[u8]) -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let s = k.get(Comp::S)?;
    macro_rules! dh {
        ($c:ident) => {{
            let sk = $c::SecretKey::from_slice(s).ok()?;
            let pk = $c::PublicKey::from_sec1_bytes(public).ok()?;
            let p = (pk.to_projective() * *sk.to_nonzero_scalar()).to_affine();
            Some(p.to_encoded_point(false).as_bytes().to_vec())
        }};
    }
    match Curve::of(k)? {
        Curve::P256 => dh!(p256),
        Curve::P384 => dh!(p384),
        Curve::P521 => dh!(p521),
        Curve::Secp256k1 => dh!(k256),
    }
}

// ---------------------------------------------------------------------------------------------
// Checksums (JC API `Checksum`, ISO/IEC 3309 / ISO/IEC 13239 §4.2.5 frame checking sequences).

/// The CRC register after `data`, for `Checksum.ALG_ISO3309_CRC16` (1, two bytes) or
/// `ALG_ISO3309_CRC32` (2, four bytes); `reg` is the register as `init` set it (big-endian, 0
/// when never set).
///
/// The JC API (3.0.5, `Checksum` field details) gives both algorithms exactly: CRC16 uses the
/// polynomial 0x1021 with the input and the FCS not reflected; CRC32 uses 0x04C11DB7 with the
/// input and the FCS reflected (hence crc32fast, whose state is that reflected register). The
/// default initial value 0 is the register's: `init` with FFFF / FFFFFFFF gives the CCITT /
/// PKZIP values. NXP JCOP cards answer CRC16 C46A3D01F5494013F9DFF3C5392C64 with 0B93 (jCardSim's
/// CRC16Test), which is this CRC16; jCardSim issue #203 reports NXP and ST cards' CRC32
/// reflected as the API says.
fn crc_update(alg: u8, reg: u32, data: &[u8]) -> u32 {
    if alg == 1 {
        let mut fcs = reg & 0xFFFF;
        for b in data {
            fcs ^= u32::from(*b) << 8;
            for _ in 0..8 {
                let shifted = (fcs << 1) & 0xFFFF;
                fcs = if fcs & 0x8000 != 0 { shifted ^ 0x1021 } else { shifted };
            }
        }
        fcs
    } else {
        // crc32fast's state is the ones' complement of the register (zlib's convention).
        let mut h = crc32fast::Hasher::new_with_initial(!reg);
        h.update(data);
        !h.finalize()
    }
}

/// The checksum `doFinal` outputs from the register: the FCS xor'd with all ones (JC API
/// "The 16 bit FCS is xor'd with 0xFFFF" / "The reversed 32 bit FCS is xor'd with
/// 0xFFFFFFFF"), most significant byte first.
fn crc_output(alg: u8, reg: u32) -> Vec<u8> {
    let v = !reg;
    if alg == 1 {
        v.to_be_bytes()[2..].to_vec()
    } else {
        v.to_be_bytes().to_vec()
    }
}

fn crc_len(alg: u8) -> usize {
    if alg == 1 {
        2
    } else {
        4
    }
}

fn crc_reg(run: &Run) -> u32 {
    run.iv.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b))
}

fn set_crc_reg(x: &mut Exec<'_>, h: i16, alg: u8, reg: u32) {
    let bytes = reg.to_be_bytes()[4 - crc_len(alg)..].to_vec();
    if let Some(r) = run_mut(x, h) {
        r.iv = bytes;
    }
}

/// `Checksum.init/update/doFinal`: the register lives in the engine's RAM state (a tear or a
/// reset brings the object back to its state upon construction, JC API `Checksum`; it is not
/// part of transactions).
fn checksum_call(x: &mut Exec<'_>, n: SecNative, a: &[i16]) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let e = engine(x, arg(0))?;
    if e.kind != EngineKind::Checksum {
        return Err(x.security());
    }
    let data = read(x, arg(1), arg(2), arg(3))?;
    match n {
        CsInit => {
            // "CRC16 expects 2 bytes of parameter information ... CRC32 expects 4 bytes";
            // another length is ILLEGAL_VALUE.
            if data.len() != crc_len(e.alg) {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            let reg = data.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            set_crc_reg(x, arg(0), e.alg, reg);
            Ok(None)
        }
        CsUpdate => {
            let reg = crc_update(e.alg, crc_reg(&e.run), &data);
            set_crc_reg(x, arg(0), e.alg, reg);
            Ok(None)
        }
        _ => {
            let reg = crc_update(e.alg, crc_reg(&e.run), &data);
            let out = crc_output(e.alg, reg);
            write(x, arg(4), arg(5), &out)?;
            // "The ALG_ISO3309_CRC16 and ALG_ISO3309_CRC32 algorithms reset the initial
            // checksum value to 0."
            set_crc_reg(x, arg(0), e.alg, 0);
            Ok(len16(out.len()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The natives.

/// Runs native `n` with its argument words (receiver first).
// Byte arguments arrive widened to short and are narrowed with two's-complement truncation
// (JCVM §3.1); returned lengths are below 32768.
#[allow(clippy::cast_possible_truncation)]
pub fn call(x: &mut Exec<'_>, n: SecNative, a: &[i16]) -> R {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    match n {
        NoSuch { .. } => Err(cex(x, NO_SUCH_ALGORITHM)),
        Unsupported { .. } => Err(cex(x, ILLEGAL_USE)),
        GetAlgorithm => Ok(Some(engine(x, arg(0))?.alg as i8 as i16)),

        MdGetInstance | MdGetInitialized => {
            let alg = arg(0) as u8;
            if digest_len(alg).is_none() {
                return Err(cex(x, NO_SUCH_ALGORITHM));
            }
            let class = if n == MdGetInstance { ids::MESSAGE_DIGEST } else { ids::INIT_MESSAGE_DIGEST };
            new_engine(x, class, EngineKind::Digest, alg)
        }
        MdIsIntermediate => Ok(Some(i16::from(digest_len(arg(0) as u8).is_some()))),
        MdGetLength => {
            let e = engine(x, arg(0))?;
            Ok(Some(digest_len(e.alg).unwrap_or(0) as i16))
        }
        MdReset => {
            engine(x, arg(0))?;
            set_run(x, arg(0), Run::default());
            Ok(None)
        }
        MdUpdate => {
            engine(x, arg(0))?;
            let d = read(x, arg(1), arg(2), arg(3))?;
            append(x, arg(0), &d)?;
            Ok(None)
        }
        MdDoFinal | MdIntermediate => {
            let e = engine(x, arg(0))?;
            let mut data = e.run.buf.clone();
            let (out, off) = if n == MdDoFinal {
                data.extend(read(x, arg(1), arg(2), arg(3))?);
                (arg(4), arg(5))
            } else {
                (arg(1), arg(2))
            };
            let d = digest(e.alg, &data).unwrap_or_default();
            write(x, out, off, &d)?;
            if n == MdDoFinal {
                set_run(x, arg(0), Run::default());
            }
            Ok(len16(d.len()))
        }

        RdGetInstance | RdGetInstance2 => {
            // ALG_PSEUDO_RANDOM 1, ALG_SECURE_RANDOM 2, ALG_TRNG 3, ALG_PRESEEDED_DRBG 4,
            // ALG_FAST 5, ALG_KEYGENERATION 6: all from the card RNG.
            let alg = arg(0) as u8;
            if !(1..=6).contains(&alg) {
                return Err(cex(x, NO_SUCH_ALGORITHM));
            }
            new_engine(x, ids::RANDOM_DATA, EngineKind::Random, alg)
        }
        RdGenerate | RdNextBytes => {
            engine(x, arg(0))?;
            let len = arg(3);
            if len < 0 {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            check_out(x, arg(1), arg(2), len as usize)?;
            let mut v = vec![0u8; len as usize];
            x.env.random(&mut v);
            write(x, arg(1), arg(2), &v)?;
            Ok(if n == RdNextBytes { Some(arg(2).wrapping_add(len)) } else { None })
        }
        RdSetSeed => {
            // The card RNG is not reseeded from applet data (the run stays reproducible).
            engine(x, arg(0))?;
            read(x, arg(1), arg(2), arg(3))?;
            Ok(None)
        }

        KbBuildKey => build_key(x, arg(0) as u8, arg(1)),
        KbBuildKey4 => build_key4(x, arg(0) as u8, arg(1) as u8, arg(2)),
        KbGetMemoryType => Ok(Some(key(x, arg(0))?.transience.code() as i16)),
        KeyClear => {
            let mut k = key(x, arg(0))?;
            k.clear();
            put_key(x, arg(0), k)?;
            Ok(None)
        }
        KeySize => Ok(Some(key(x, arg(0))?.bits as i16)),
        KeyType => Ok(Some(key(x, arg(0))?.ty as i16)),
        KeyIsInit => Ok(Some(i16::from(key(x, arg(0))?.initialized()))),
        KeyGet(c) => key_get(x, arg(0), c, arg(1), arg(2)),
        KeySet(c) => {
            let len = arg(3);
            let d = read(x, arg(1), arg(2), len)?;
            key_set(x, arg(0), c, d)
        }
        KeySetFixed => {
            let k = key(x, arg(0))?;
            let d = read(x, arg(1), arg(2), (k.bits / 8) as i16)?;
            key_set(x, arg(0), Comp::Key, d)
        }

        KpInit => {
            let (alg, bits) = (arg(1) as u8, arg(2));
            let (tpub, tpriv) = match alg {
                1 => (4, 5),
                2 => (4, 6),
                5 => (11, 12),
                _ => return Err(cex(x, NO_SUCH_ALGORITHM)),
            };
            let hpub = build_key(x, tpub, bits)?.unwrap_or(0) as u16;
            let hpriv = build_key(x, tpriv, bits)?.unwrap_or(0) as u16;
            let e =
                Engine { kind: EngineKind::KeyPair, alg, bits: bits as u16, keys: [hpub, hpriv], run: Run::default() };
            let r = x.rt.heap.set_native(arg(0) as u16, NativeState::Crypto(e));
            heap(x, r)?;
            Ok(None)
        }
        KpInitKeys => {
            let (kpub, kpriv) = (key(x, arg(1))?, key(x, arg(2))?);
            let alg = match (kpub.kind(), kpriv.kind()) {
                (KeyKind::RsaPublic, KeyKind::RsaPrivate) => 1,
                (KeyKind::RsaPublic, KeyKind::RsaCrt) => 2,
                (KeyKind::EcPublic, KeyKind::EcPrivate) => 5,
                _ => return Err(cex(x, ILLEGAL_VALUE)),
            };
            if kpub.bits != kpriv.bits {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            let e = Engine {
                kind: EngineKind::KeyPair,
                alg,
                bits: kpub.bits,
                keys: [arg(1) as u16, arg(2) as u16],
                run: Run::default(),
            };
            let r = x.rt.heap.set_native(arg(0) as u16, NativeState::Crypto(e));
            heap(x, r)?;
            Ok(None)
        }
        KpGen => {
            let e = engine(x, arg(0))?;
            if e.kind != EngineKind::KeyPair {
                return Err(x.security());
            }
            if e.alg == 5 {
                gen_ec(x, &e)?;
            } else {
                gen_rsa(x, &e)?;
            }
            Ok(None)
        }
        KpGetPublic | KpGetPrivate => {
            let e = engine(x, arg(0))?;
            Ok(Some(e.keys[usize::from(n == KpGetPrivate)] as i16))
        }

        SigGetInstance | SigGetInstance4 => {
            let alg = if n == SigGetInstance {
                Some(arg(0) as u8)
            } else {
                sig_alg4(arg(0) as u8, arg(1) as u8, arg(2) as u8)
            };
            match alg.filter(|a| sig_alg(*a).is_some()) {
                Some(a) => new_engine(x, ids::SIGNATURE, EngineKind::Signature, a),
                None => Err(cex(x, NO_SUCH_ALGORITHM)),
            }
        }
        SigGetLength => {
            let e = engine(x, arg(0))?;
            let Some(alg) = sig_alg(e.alg) else { return Err(cex(x, NO_SUCH_ALGORITHM)) };
            let k = if e.run.key != 0 { Some(key(x, e.run.key as i16)?) } else { None };
            if matches!(alg, SigAlg::RsaPkcs1(_)) && k.is_none() {
                return Err(cex(x, INVALID_INIT));
            }
            Ok(len16(sig_len(alg, k.as_ref())))
        }
        SigInit => sig_init(x, a, false),
        SigInit5 => sig_init(x, a, true),
        SigUpdate => {
            let e = engine(x, arg(0))?;
            if e.run.key == 0 {
                return Err(cex(x, INVALID_INIT));
            }
            let d = read(x, arg(1), arg(2), arg(3))?;
            append(x, arg(0), &d)?;
            Ok(None)
        }
        SigSign => sig_op(x, a, false, false),
        SigVerify => sig_op(x, a, true, false),
        SigSignPre => sig_op(x, a, false, true),
        SigVerifyPre => sig_op(x, a, true, true),
        SigGetMdAlg | SigGetCipherAlg | SigGetPadAlg => {
            let (m, c, p) = sig_codes(engine(x, arg(0))?.alg);
            Ok(Some(match n {
                SigGetMdAlg => m,
                SigGetCipherAlg => c,
                _ => p,
            } as i16))
        }

        CiGetInstance | CiGetInstance3 => {
            let alg = if n == CiGetInstance { Some(arg(0) as u8) } else { cipher_alg3(arg(0) as u8, arg(1) as u8) };
            match alg.filter(|a| cipher_alg(*a).is_some()) {
                Some(a @ (0xF3 | 0xF4)) => new_engine(x, ids::AEAD_CIPHER, EngineKind::Cipher, a),
                Some(a) => new_engine(x, ids::CIPHER, EngineKind::Cipher, a),
                None => Err(cex(x, NO_SUCH_ALGORITHM)),
            }
        }
        CiInit => cipher_init(x, a, false),
        CiInit5 => cipher_init(x, a, true),
        CiUpdate => cipher_op(x, a, false),
        CiDoFinal => cipher_op(x, a, true),
        EcSetK => {
            let mut k = key(x, arg(0))?;
            k.set(Comp::K, arg(1).to_be_bytes().to_vec());
            put_key(x, arg(0), k)?;
            Ok(None)
        }
        EcGetK => {
            let k = key(x, arg(0))?;
            match k.get(Comp::K) {
                Some(v) if v.len() == 2 => Ok(Some(i16::from_be_bytes([v[0], v[1]]))),
                Some(_) => Ok(Some(1)),
                None if k.get(Comp::R).is_some() => Ok(Some(1)),
                None => Err(cex(x, UNINITIALIZED_KEY)),
            }
        }
        EcCopyDomain => {
            let from = key(x, arg(1))?;
            let mut k = key(x, arg(0))?;
            if from.bits != k.bits || !matches!(from.kind(), KeyKind::EcPublic | KeyKind::EcPrivate) {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            for c in [Comp::Field, Comp::A, Comp::B, Comp::G, Comp::R, Comp::K] {
                match from.get(c) {
                    Some(v) => k.set(c, v.to_vec()),
                    None if c == Comp::K => {}
                    None => return Err(cex(x, UNINITIALIZED_KEY)),
                }
            }
            put_key(x, arg(0), k)?;
            Ok(None)
        }
        KaGetInstance => {
            // ALG_EC_SVDP_DH 1, _DHC 2 (cofactor 1 on these curves), _DH_PLAIN 3, _DHC_PLAIN 4,
            // _DH_PLAIN_XY 6.
            let alg = arg(0) as u8;
            if !matches!(alg, 1 | 2 | 3 | 4 | 6) {
                return Err(cex(x, NO_SUCH_ALGORITHM));
            }
            new_engine(x, ids::KEY_AGREEMENT, EngineKind::KeyAgreement, alg)
        }
        KaInit => {
            engine(x, arg(0))?;
            let k = init_key(x, arg(1), &[KeyKind::EcPrivate])?;
            if Curve::of(&k).is_none() {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            set_run(x, arg(0), Run { key: arg(1) as u16, ..Run::default() });
            Ok(None)
        }
        KaGenerateSecret => {
            let e = engine(x, arg(0))?;
            if e.run.key == 0 {
                return Err(cex(x, INVALID_INIT));
            }
            let k = key(x, e.run.key as i16)?;
            let public = read(x, arg(1), arg(2), arg(3))?;
            let Some(point) = ecdh(&k, &public) else { return Err(cex(x, ILLEGAL_VALUE)) };
            let n = (k.bits as usize).div_ceil(8);
            let out = match e.alg {
                1 | 2 => digest(1, &point[1..=n]).unwrap_or_default(),
                3 | 4 => point[1..=n].to_vec(),
                _ => point,
            };
            write(x, arg(4), arg(5), &out)?;
            Ok(len16(out.len()))
        }
        CiGetCipherAlg | CiGetPadAlg => {
            let (c, p) = cipher_codes(engine(x, arg(0))?.alg);
            // A byte result is sign-extended (CIPHER_AES_GCM is -15).
            Ok(Some(if n == CiGetCipherAlg { c } else { p } as i8 as i16))
        }
        CsGetInstance => {
            // ALG_ISO3309_CRC16 1, ALG_ISO3309_CRC32 2.
            let alg = arg(0) as u8;
            if !matches!(alg, 1 | 2) {
                return Err(cex(x, NO_SUCH_ALGORITHM));
            }
            new_engine(x, ids::CHECKSUM, EngineKind::Checksum, alg)
        }
        CsInit | CsUpdate | CsDoFinal => checksum_call(x, n, a),
        AeInit8 => {
            let e = engine(x, arg(0))?;
            let mode = arg(2) as u8;
            if mode != 1 && mode != 2 {
                return Err(cex(x, ILLEGAL_VALUE));
            }
            let Some(alg) = cipher_alg(e.alg).filter(|a| matches!(a, CipherAlg::Gcm | CipherAlg::Ccm)) else {
                return Err(x.security());
            };
            let nonce = read(x, arg(3), arg(4), arg(5))?;
            aead_init(x, arg(0), alg, arg(1), mode, Some(nonce), Some((arg(6), arg(7), arg(8))))
        }
        AeUpdateAad | AeRetrieveTag | AeVerifyTag => aead_call(x, n, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paddings_round_trip() {
        for p in [Pad::M2, Pad::Pkcs5] {
            for n in 0..33 {
                let mut d = vec![0xAB; n];
                assert!(pad(&mut d, p, 16));
                assert_eq!(d.len() % 16, 0);
                assert!(unpad(&mut d, p, 16));
                assert_eq!(d, vec![0xAB; n]);
            }
        }
        let mut d = vec![1, 2, 3, 0, 0];
        assert!(!unpad(&mut d, Pad::M2, 8), "no 0x80 marker");
    }

    #[test]
    fn emsa_pkcs1_sha256_layout() {
        // RFC 8017 §9.2: 00 01 FF.. 00 || DigestInfo || H.
        let em = emsa_pkcs1(4, &[0x11; 32], 64).unwrap();
        assert_eq!(&em[..2], &[0, 1]);
        assert_eq!(em.len(), 64);
        assert_eq!(&em[64 - 32 - 19 - 1..64 - 32 - 19], &[0]);
        assert!(emsa_pkcs1(6, &[0; 64], 64).is_none(), "SHA-512 does not fit a 512-bit key");
    }

    /// The SEC 2 parameters written here: G and r as the curve crates have them, and G on
    /// y² = x³ + ax + b mod p.
    #[test]
    fn curve_parameters() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let g256 = p256::AffinePoint::GENERATOR.to_encoded_point(false).as_bytes().to_vec();
        let g384 = p384::AffinePoint::GENERATOR.to_encoded_point(false).as_bytes().to_vec();
        let g521 = p521::AffinePoint::GENERATOR.to_encoded_point(false).as_bytes().to_vec();
        let gk1 = k256::AffinePoint::GENERATOR.to_encoded_point(false).as_bytes().to_vec();
        for (c, g) in [(Curve::P256, g256), (Curve::P384, g384), (Curve::P521, g521), (Curve::Secp256k1, gk1)] {
            let [p, a, b, gh, _r] = params(c).map(|h| hex::decode(h).unwrap());
            assert_eq!(gh, g, "{c:?} G");
            let n = (gh.len() - 1) / 2;
            let (p, a, b) = (big(&p), big(&a), big(&b));
            let (x, y) = (big(&gh[1..=n]), big(&gh[n + 1..]));
            assert_eq!((&y * &y) % &p, (&x * &x * &x + &a * &x + &b) % &p, "{c:?}");
        }
        // r: signing with the crate and checking r < order would be indirect; the order's
        // bytes are the crates' ORDER constants.
        use p256::elliptic_curve::Curve as _;
        assert_eq!(format!("{:x}", p256::NistP256::ORDER), params(Curve::P256)[4]);
        assert_eq!(format!("{:x}", p384::NistP384::ORDER), params(Curve::P384)[4]);
        // P-521's order printed without its leading zero nibble of the 66-byte form.
        assert_eq!(
            format!("{:x}", p521::NistP521::ORDER).trim_start_matches('0'),
            params(Curve::P521)[4].trim_start_matches('0')
        );
        assert_eq!(format!("{:x}", k256::Secp256k1::ORDER), params(Curve::Secp256k1)[4]);
    }

    /// The CRC catalogue's check values over "123456789" (Greg Cook's reveng catalogue):
    /// CRC-16/GSM (0x1021, init 0, not reflected, xorout FFFF) = CE3C and CRC-16/GENIBUS (the
    /// same with init FFFF) = D64E; CRC-32/ISO-HDLC (init FFFFFFFF, reflected) = CBF43926;
    /// with the register at 0, Python's `binascii.crc32(b"123456789", 0xFFFFFFFF)` = D202D277.
    #[test]
    fn crc_check_values() {
        let m = b"123456789";
        assert_eq!(crc_output(1, crc_update(1, 0, m)), [0xCE, 0x3C]);
        assert_eq!(crc_output(1, crc_update(1, 0xFFFF, m)), [0xD6, 0x4E]);
        assert_eq!(crc_output(2, crc_update(2, 0xFFFF_FFFF, m)), [0xCB, 0xF4, 0x39, 0x26]);
        assert_eq!(crc_output(2, crc_update(2, 0, m)), [0xD2, 0x02, 0xD2, 0x77]);
        // In two parts: the same.
        let r = crc_update(2, 0, &m[..4]);
        assert_eq!(crc_output(2, crc_update(2, r, &m[4..])), [0xD2, 0x02, 0xD2, 0x77]);
    }

    /// The OpenSSL path of [`rsa_raw`] and the `BigUint` one agree, for a CRT key and for the
    /// (n, d) form of the same key (a 2048-bit key of the `rsa` crate), and print how long each
    /// takes (`--nocapture`).
    #[test]
    fn rsa_raw_paths_agree() {
        use rand_core::SeedableRng;
        use rsa::traits::PrivateKeyParts;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let sk = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let half = 128;
        let crt = KeyState {
            ty: 6,
            bits: 2048,
            transience: Transience::Persistent,
            comps: vec![
                (Comp::P, Secret(pad_to(sk.primes()[0].clone(), half))),
                (Comp::Q, Secret(pad_to(sk.primes()[1].clone(), half))),
                (Comp::Dp1, Secret(pad_to(sk.dp().unwrap().clone(), half))),
                (Comp::Dq1, Secret(pad_to(sk.dq().unwrap().clone(), half))),
                (Comp::Pq, Secret(pad_to(sk.crt_coefficient().unwrap(), half))),
            ],
        };
        let plain = KeyState {
            ty: 5,
            bits: 2048,
            transience: Transience::Persistent,
            comps: vec![
                (Comp::Modulus, Secret(pad_to(sk.n().clone(), 256))),
                (Comp::Exponent, Secret(pad_to(sk.d().clone(), 256))),
            ],
        };
        let mut m = vec![0x5Au8; 256];
        m[0] = 0;
        for k in [&crt, &plain] {
            let median = |f: &dyn Fn() -> Vec<u8>| {
                let mut t: Vec<_> = (0..15)
                    .map(|_| {
                        let t0 = std::time::Instant::now();
                        f();
                        t0.elapsed()
                    })
                    .collect();
                t.sort();
                t[7]
            };
            let fast = rsa_raw(k, &m).unwrap();
            assert_eq!(fast, rsa_raw_biguint(k, &m).unwrap(), "type {}", k.ty);
            let t_fast = median(&|| rsa_raw(k, &m).unwrap());
            let t_slow = median(&|| rsa_raw_biguint(k, &m).unwrap());
            eprintln!("type {}: OpenSSL {t_fast:?}, BigUint {t_slow:?} (medians of 15)", k.ty);
        }
        // The input at or above the modulus: None on both paths.
        assert!(rsa_raw(&plain, &[0xFF; 256]).is_none());
        assert!(rsa_raw(&crt, &[0xFF; 256]).is_none());
    }

    /// The any-IV GCM path equals `aes-gcm` on 96-bit IVs, and gives the GCM specification's
    /// test cases 5 (64-bit IV) and 6 (480-bit IV) (McGrew & Viega; Python `cryptography` 48
    /// `AESGCM(k).encrypt(iv, p, a)` gives the same).
    #[test]
    fn gcm_any_iv_vectors() {
        let k = hex::decode("feffe9928665731c6d6a8f9467308308").unwrap();
        let p = hex::decode("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39").unwrap();
        let a = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
        for n in [0usize, 1, 15, 16, 17, 60] {
            let iv = hex::decode("cafebabefacedbaddecaf888").unwrap();
            assert_eq!(gcm_any_iv(&k, &iv, &a, &p[..n]), gcm_seal(&k, &iv, &a, &p[..n]), "{n} bytes");
        }
        let (c, t) = gcm_any_iv(&k, &hex::decode("cafebabefacedbad").unwrap(), &a, &p).unwrap();
        assert_eq!(hex::encode(c), "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598");
        assert_eq!(hex::encode(t), "3612d2e79e3b0785561be14aaca2fccb");
        let iv6 = hex::decode("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b").unwrap();
        let (c, t) = gcm_any_iv(&k, &iv6, &a, &p).unwrap();
        assert_eq!(hex::encode(c), "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca701e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5");
        assert_eq!(hex::encode(t), "619cc5aefffe0bfa462af43c1699d050");
    }

    /// A key holding a curve's SEC 2 parameters is that curve (P-521's cannot come in one short
    /// APDU through the crypto applet); another b is no curve (`ILLEGAL_VALUE` at init).
    #[test]
    fn curves_recognised_by_parameters() {
        for c in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            let n = c.field_len();
            let mut k = KeyState { ty: 12, bits: 0, transience: Transience::Persistent, comps: Vec::new() };
            for (comp, hexv) in PARAM_COMPS.iter().zip(params(c)) {
                // As setA etc. store them: field-size, leading zeros kept.
                let v = hex::decode(hexv).unwrap();
                let v = if *comp == Comp::G { v } else { pad_to(big(&v), n) };
                k.set(*comp, v);
            }
            assert_eq!(Curve::of(&k), Some(c));
            let mut b = k.get(Comp::B).unwrap().to_vec();
            b[n - 1] ^= 1;
            k.set(Comp::B, b);
            assert_eq!(Curve::of(&k), None);
        }
    }

    #[test]
    fn secret_debug_hides_bytes() {
        assert_eq!(format!("{:?}", Secret(vec![1, 2, 3])), "Secret(3 bytes)");
    }
}
