//! The API the VM implements in Rust: the project's own table of packages, classes and method
//! tokens (written from the token facts of the Java Card API export files, JCVM §4.3, as
//! listed in `shared/javacard/tokens/`), and the natives behind them ([`natives`]).
//!
//! A CAP's external references are `(package token → Import AID, class token, method token)`;
//! [`crate::jcvm::link`] looks them up here. What the table lists is linked to a [`Native`];
//! a reference to a token the table does not list links to a "not implemented" target that is
//! reported at load and raises a fault (`6F00`) if it is ever executed.
//!
//! Class ids: see [`api_class_id`]; the [`cls`] constants name the ones the VM itself needs
//! (the exceptions it throws, `APDU`, `AID`, `Applet`).

pub mod gp;
pub mod natives;
// javacard.security and javacardx.crypto (issue #16).
pub mod security;

use crate::jcvm::heap::ClassId;

/// One API package the VM knows (JCVM §4.3.1 package AIDs; versions from the kits' exports).
#[derive(Debug)]
pub struct ApiPackage {
    /// The package name, slash-separated.
    pub name: &'static str,
    /// The package AID.
    pub aid: &'static [u8],
    /// The highest major.minor whose tokens this table follows (imports above it are refused).
    pub major: u8,
    /// See [`ApiPackage::major`].
    pub minor: u8,
}

/// The packages, in the order [`ApiClass::package`] indexes.
pub const PACKAGES: &[ApiPackage] = &[
    ApiPackage { name: "java/lang", aid: &[0xA0, 0, 0, 0, 0x62, 0, 1], major: 1, minor: 0 },
    // Tokens are only ever added between versions (README: 2.2.2 → 3.2.0 removes none), so the
    // 3.2 (1.9) numbering links CAPs of every earlier kit.
    ApiPackage { name: "javacard/framework", aid: &[0xA0, 0, 0, 0, 0x62, 1, 1], major: 1, minor: 9 },
    ApiPackage { name: "javacard/security", aid: &[0xA0, 0, 0, 0, 0x62, 1, 2], major: 1, minor: 8 },
    ApiPackage { name: "javacardx/crypto", aid: &[0xA0, 0, 0, 0, 0x62, 2, 1], major: 1, minor: 8 },
    ApiPackage { name: "javacardx/apdu", aid: &[0xA0, 0, 0, 0, 0x62, 2, 9], major: 1, minor: 0 },
    // GP Card API (GPCS v2.3.1, `shared/javacard/tokens/globalplatform.json`, index gp::GP_PACKAGE).
    ApiPackage { name: "org/globalplatform", aid: &[0xA0, 0, 0, 0x01, 0x51, 0x00], major: 1, minor: 7 },
];

/// A method slot of an API class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiMethod {
    /// Implemented by a native.
    Native(Native),
    /// Abstract (`Applet.process`): calling it is a fault.
    Abstract,
}

/// One API class or interface.
#[derive(Debug)]
pub struct ApiClass {
    /// Index into [`PACKAGES`].
    pub package: u8,
    /// The class token.
    pub token: u8,
    /// Fully qualified name.
    pub name: &'static str,
    /// Superclass (a [`cls`] id), `None` for `Object` and interfaces.
    pub super_class: Option<ClassId>,
    /// Whether this is an interface.
    pub interface: bool,
    /// Public virtual methods by token; inherited entries are repeated (a full method table).
    pub virtuals: &'static [ApiMethod],
    /// Static methods and constructors by token.
    pub statics: &'static [Native],
    /// Interfaces implemented, each with its method-token → virtual-token map (JCVM §6.9
    /// `implemented_interface_info.index`).
    pub implements: &'static [(ClassId, &'static [u8])],
    /// Superinterfaces (for interfaces).
    pub super_interfaces: &'static [ClassId],
}

/// The natives: one per implemented API method. Those that depend on the class (the
/// exceptions' `throwIt`) carry the class id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Native {
    /// A constructor or default method that does nothing (`Object.<init>`, `Applet.<init>`,
    /// `Applet.deselect`).
    Nop,
    /// `Object.equals(Object)`: reference equality.
    ObjectEquals,
    /// `<init>(short)` of the framework exceptions: sets the reason.
    ReasonInit,
    /// `UserException.<init>()`: reason 0.
    ReasonInit0,
    /// `getReason()`.
    GetReason,
    /// `setReason(short)`.
    SetReason,
    /// `static throwIt(short)`: throws the JCRE-owned instance of the class with the reason.
    ThrowIt(ClassId),
    /// `Applet.register()`.
    Register,
    /// `Applet.register(byte[], short, byte)`.
    RegisterAid,
    /// `Applet.selectingApplet()`.
    SelectingApplet,
    /// `Applet.select()`: true.
    SelectDefault,
    /// `Applet.getShareableInterfaceObject`: null.
    GetSio,
    /// `static Applet.install`: the API class itself cannot be installed.
    AppletInstall,
    /// `static Applet.reSelectingApplet()`.
    ReSelectingApplet,
    /// `AID.<init>(byte[], short, byte)`.
    AidInit,
    /// `AID.equals(Object)`.
    AidEqualsObject,
    /// `AID.RIDEquals(AID)`.
    AidRidEquals,
    /// `AID.equals(byte[], short, byte)`.
    AidEqualsBytes,
    /// `AID.getBytes(byte[], short)`.
    AidGetBytes,
    /// `AID.partialEquals(byte[], short, byte)`.
    AidPartialEquals,
    /// `AID.getPartialBytes(short, byte[], short, byte)`.
    AidGetPartialBytes,
    /// `OwnerPIN.<init>(byte, byte)`.
    PinInit,
    /// `check(byte[], short, byte)`.
    PinCheck,
    /// `getTriesRemaining()`.
    PinTries,
    /// `getValidatedFlag()` / `isValidated()`.
    PinIsValidated,
    /// `reset()`.
    PinReset,
    /// `resetAndUnblock()`.
    PinResetAndUnblock,
    /// `setValidatedFlag(boolean)`.
    PinSetValidated,
    /// `update(byte[], short, byte)`.
    PinUpdate,
    /// `APDU.getBuffer()`.
    ApduGetBuffer,
    /// `APDU.getNAD()`.
    ApduGetNad,
    /// `APDU.receiveBytes(short)`.
    ApduReceiveBytes,
    /// `APDU.sendBytes(short, short)`.
    ApduSendBytes,
    /// `APDU.sendBytesLong(byte[], short, short)`.
    ApduSendBytesLong,
    /// `APDU.setIncomingAndReceive()`.
    ApduSetIncomingAndReceive,
    /// `APDU.setOutgoing()`.
    ApduSetOutgoing,
    /// `APDU.setOutgoingAndSend(short, short)`.
    ApduSetOutgoingAndSend,
    /// `APDU.setOutgoingLength(short)`.
    ApduSetOutgoingLength,
    /// `APDU.setOutgoingNoChaining()`.
    ApduSetOutgoingNoChaining,
    /// `APDU.getCurrentState()`.
    ApduGetCurrentState,
    /// `APDU.isCommandChainingCLA()`.
    ApduIsChaining,
    /// `APDU.isSecureMessagingCLA()`.
    ApduIsSecureMessaging,
    /// `APDU.isISOInterindustryCLA()`.
    ApduIsInterindustry,
    /// `APDU.getIncomingLength()`.
    ApduGetIncomingLength,
    /// `APDU.getOffsetCdata()`.
    ApduGetOffsetCdata,
    /// `APDU.isValidCLA()`.
    ApduIsValidCla,
    /// `APDU.getLogicalChannelEncoding()`.
    ApduGetLcEncoding,
    /// `static APDU.getInBlockSize()`.
    ApduGetInBlockSize,
    /// `static APDU.getOutBlockSize()`.
    ApduGetOutBlockSize,
    /// `static APDU.getProtocol()`.
    ApduGetProtocol,
    /// `static APDU.waitExtension()`.
    ApduWaitExtension,
    /// `static APDU.getCurrentAPDU()`.
    ApduGetCurrent,
    /// `static APDU.getCurrentAPDUBuffer()`.
    ApduGetCurrentBuffer,
    /// `static APDU.getCLAChannel()`.
    ApduGetClaChannel,
    /// `JCSystem.abortTransaction()`.
    AbortTransaction,
    /// `JCSystem.beginTransaction()`.
    BeginTransaction,
    /// `JCSystem.commitTransaction()`.
    CommitTransaction,
    /// `JCSystem.getAID()`.
    GetAid,
    /// `JCSystem.getAppletShareableInterfaceObject(AID, byte)`.
    GetAppletSio,
    /// `JCSystem.getMaxCommitCapacity()`.
    CommitCapacity,
    /// `JCSystem.getUnusedCommitCapacity()`.
    UnusedCommitCapacity,
    /// `JCSystem.getPreviousContextAID()`.
    GetPreviousContextAid,
    /// `JCSystem.getTransactionDepth()`.
    GetTransactionDepth,
    /// `JCSystem.getVersion()`.
    GetVersion,
    /// `JCSystem.isTransient(Object)`.
    IsTransient,
    /// `JCSystem.lookupAID(byte[], short, byte)`.
    LookupAid,
    /// `JCSystem.makeTransientBooleanArray(short, byte)`.
    MakeTransientBooleans,
    /// `JCSystem.makeTransientByteArray(short, byte)`.
    MakeTransientBytes,
    /// `JCSystem.makeTransientObjectArray(short, byte)`.
    MakeTransientObjects,
    /// `JCSystem.makeTransientShortArray(short, byte)`.
    MakeTransientShorts,
    /// `JCSystem.getAvailableMemory(byte)`.
    GetAvailableMemory,
    /// `JCSystem.isObjectDeletionSupported()`.
    IsObjectDeletionSupported,
    /// `JCSystem.requestObjectDeletion()`.
    RequestObjectDeletion,
    /// `JCSystem.getAssignedChannel()`.
    GetAssignedChannel,
    /// `JCSystem.isAppletActive(AID)`.
    IsAppletActive,
    /// `JCSystem.makeGlobalArray(byte, short)` (3.0.5): not supported (`SystemException.ILLEGAL_VALUE`).
    MakeGlobalArray,
    /// `JCSystem.getAvailableMemory(short[], short, byte)` (3.0.4): the free bytes as an int in
    /// two shorts (high, low).
    GetAvailableMemoryInt,
    /// `Util.arrayCompare`.
    ArrayCompare,
    /// `Util.arrayCopy` (atomic; pass-through until transactions, part 2).
    ArrayCopy,
    /// `Util.arrayCopyNonAtomic`.
    ArrayCopyNonAtomic,
    /// `Util.arrayFillNonAtomic`.
    ArrayFill,
    /// `Util.arrayFill` (3.1: atomic, like `arrayCopy`).
    ArrayFillAtomic,
    /// `Util.getShort`.
    GetShort,
    /// `Util.makeShort`.
    MakeShort,
    /// `Util.setShort`.
    SetShort,
    /// javacard.security / javacardx.crypto ([`security`]).
    Sec(security::SecNative),
    /// `org.globalplatform` ([`gp`]).
    Gp(gp::GpNative),
}

impl Native {
    /// Argument words the native pops (receiver included) and whether it returns a value (one
    /// word; no native returns an int).
    pub fn signature(self) -> (u8, bool) {
        use Native::*;
        match self {
            Nop | PinReset | PinResetAndUnblock | ApduWaitExtension => (1, false),
            ObjectEquals | AidEqualsObject | AidRidEquals => (2, true),
            ReasonInit | SetReason | PinSetValidated | ApduSetOutgoingLength => (2, false),
            ReasonInit0 => (1, false),
            GetReason
            | SelectingApplet
            | SelectDefault
            | PinTries
            | PinIsValidated
            | ApduGetBuffer
            | ApduGetNad
            | ApduSetIncomingAndReceive
            | ApduSetOutgoing
            | ApduSetOutgoingNoChaining
            | ApduGetCurrentState
            | ApduIsChaining
            | ApduIsSecureMessaging
            | ApduIsInterindustry
            | ApduGetIncomingLength
            | ApduGetOffsetCdata
            | ApduIsValidCla
            | ApduGetLcEncoding => (1, true),
            ThrowIt(_) => (1, false),
            Register => (1, false),
            RegisterAid => (4, false),
            GetSio => (3, true),
            AppletInstall => (3, false),
            ReSelectingApplet | ApduGetInBlockSize | ApduGetOutBlockSize | ApduGetProtocol | ApduGetCurrent
            | ApduGetCurrentBuffer | ApduGetClaChannel => (0, true),
            AidInit => (4, false),
            AidEqualsBytes | AidPartialEquals => (4, true),
            AidGetBytes => (3, true),
            AidGetPartialBytes => (5, true),
            PinInit => (3, false),
            PinCheck => (4, true),
            PinUpdate => (4, false),
            ApduReceiveBytes => (2, true),
            ApduSendBytes | ApduSetOutgoingAndSend => (3, false),
            ApduSendBytesLong => (4, false),
            AbortTransaction | BeginTransaction | CommitTransaction | RequestObjectDeletion => (0, false),
            GetAid
            | CommitCapacity
            | UnusedCommitCapacity
            | GetPreviousContextAid
            | GetTransactionDepth
            | GetVersion
            | IsObjectDeletionSupported
            | GetAssignedChannel => (0, true),
            GetAppletSio | MakeTransientBooleans | MakeTransientBytes | MakeTransientObjects | MakeTransientShorts => {
                (2, true)
            }
            IsTransient | GetAvailableMemory | IsAppletActive => (1, true),
            MakeGlobalArray => (2, true),
            GetAvailableMemoryInt => (3, false),
            LookupAid => (3, true),
            ArrayCompare | ArrayCopy | ArrayCopyNonAtomic => (5, true),
            ArrayFill | ArrayFillAtomic => (4, true),
            GetShort | MakeShort => (2, true),
            SetShort => (3, true),
            Sec(s) => s.signature(),
            Gp(g) => g.signature(),
        }
    }
}

/// Class ids of the API classes the VM names ([`api_class_id`]).
pub mod cls {
    use crate::jcvm::heap::ClassId;
    pub const OBJECT: ClassId = 0;
    pub const THROWABLE: ClassId = 1;
    pub const EXCEPTION: ClassId = 2;
    pub const RUNTIME_EXCEPTION: ClassId = 3;
    pub const INDEX_OUT_OF_BOUNDS: ClassId = 4;
    pub const ARRAY_INDEX_OUT_OF_BOUNDS: ClassId = 5;
    pub const NEGATIVE_ARRAY_SIZE: ClassId = 6;
    pub const NULL_POINTER: ClassId = 7;
    pub const CLASS_CAST: ClassId = 8;
    pub const ARITHMETIC: ClassId = 9;
    pub const SECURITY: ClassId = 10;
    pub const ARRAY_STORE: ClassId = 11;
    pub const ISO7816: ClassId = 256;
    pub const PIN: ClassId = 257;
    pub const SHAREABLE: ClassId = 258;
    pub const APPLET: ClassId = 259;
    pub const CARD_EXCEPTION: ClassId = 260;
    pub const CARD_RUNTIME_EXCEPTION: ClassId = 261;
    pub const AID: ClassId = 262;
    pub const ISO_EXCEPTION: ClassId = 263;
    pub const JCSYSTEM: ClassId = 264;
    pub const OWNER_PIN: ClassId = 265;
    pub const APDU: ClassId = 266;
    pub const PIN_EXCEPTION: ClassId = 267;
    pub const APDU_EXCEPTION: ClassId = 268;
    pub const SYSTEM_EXCEPTION: ClassId = 269;
    pub const TRANSACTION_EXCEPTION: ClassId = 270;
    pub const USER_EXCEPTION: ClassId = 271;
    pub const UTIL: ClassId = 272;
    pub const MULTI_SELECTABLE: ClassId = 273;
    pub const APPLET_EVENT: ClassId = 274;
    pub const CRYPTO_EXCEPTION: ClassId = 524;
    pub const EXTENDED_LENGTH: ClassId = 1024;
}

use ApiMethod::{Abstract, Native as N};
use Native::*;

const OBJ_V: &[ApiMethod] = &[N(ObjectEquals)];
const INIT: &[Native] = &[Nop];
const REASON_V: &[ApiMethod] = &[N(ObjectEquals), N(GetReason), N(SetReason)];

const fn lang_exc(token: u8, name: &'static str, sup: ClassId) -> ApiClass {
    ApiClass {
        package: 0,
        token,
        name,
        super_class: Some(sup),
        interface: false,
        virtuals: OBJ_V,
        statics: INIT,
        implements: &[],
        super_interfaces: &[],
    }
}

const fn iface(package: u8, token: u8, name: &'static str) -> ApiClass {
    ApiClass {
        package,
        token,
        name,
        super_class: None,
        interface: true,
        virtuals: &[],
        statics: &[],
        implements: &[],
        super_interfaces: &[],
    }
}

const fn reason_exc(package: u8, token: u8, name: &'static str, sup: ClassId, statics: &'static [Native]) -> ApiClass {
    ApiClass {
        package,
        token,
        name,
        super_class: Some(sup),
        interface: false,
        virtuals: REASON_V,
        statics,
        implements: &[],
        super_interfaces: &[],
    }
}

const fn plain(
    package: u8,
    token: u8,
    name: &'static str,
    virtuals: &'static [ApiMethod],
    statics: &'static [Native],
) -> ApiClass {
    ApiClass {
        package,
        token,
        name,
        super_class: Some(cls::OBJECT),
        interface: false,
        virtuals,
        statics,
        implements: &[],
        super_interfaces: &[],
    }
}

/// The implemented API classes (id: [`api_class_id`]; see [`cls`]). Tokens from the export files
/// (`shared/javacard/tokens/oracle-api-3.2.0.txt`); a test checks each name/token pair.
pub const CLASSES: &[ApiClass] = &[
    // java.lang (A0000000620001)
    ApiClass {
        package: 0,
        token: 0,
        name: "java/lang/Object",
        super_class: None,
        interface: false,
        virtuals: OBJ_V,
        statics: INIT,
        implements: &[],
        super_interfaces: &[],
    },
    lang_exc(1, "java/lang/Throwable", cls::OBJECT),
    lang_exc(2, "java/lang/Exception", cls::THROWABLE),
    lang_exc(3, "java/lang/RuntimeException", cls::EXCEPTION),
    lang_exc(4, "java/lang/IndexOutOfBoundsException", cls::RUNTIME_EXCEPTION),
    lang_exc(5, "java/lang/ArrayIndexOutOfBoundsException", cls::INDEX_OUT_OF_BOUNDS),
    lang_exc(6, "java/lang/NegativeArraySizeException", cls::RUNTIME_EXCEPTION),
    lang_exc(7, "java/lang/NullPointerException", cls::RUNTIME_EXCEPTION),
    lang_exc(8, "java/lang/ClassCastException", cls::RUNTIME_EXCEPTION),
    lang_exc(9, "java/lang/ArithmeticException", cls::RUNTIME_EXCEPTION),
    lang_exc(10, "java/lang/SecurityException", cls::RUNTIME_EXCEPTION),
    lang_exc(11, "java/lang/ArrayStoreException", cls::RUNTIME_EXCEPTION),
    // javacard.framework (A0000000620101)
    iface(1, 0, "javacard/framework/ISO7816"),
    iface(1, 1, "javacard/framework/PIN"),
    iface(1, 2, "javacard/framework/Shareable"),
    plain(
        1,
        3,
        "javacard/framework/Applet",
        &[
            N(ObjectEquals),
            N(Register),
            N(RegisterAid),
            N(SelectingApplet),
            N(Nop), // deselect()
            N(GetSio),
            N(SelectDefault),
            Abstract, // process(APDU)
        ],
        &[Nop, AppletInstall, ReSelectingApplet],
    ),
    reason_exc(1, 4, "javacard/framework/CardException", cls::EXCEPTION, &[ReasonInit, ThrowIt(cls::CARD_EXCEPTION)]),
    reason_exc(
        1,
        5,
        "javacard/framework/CardRuntimeException",
        cls::RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::CARD_RUNTIME_EXCEPTION)],
    ),
    plain(
        1,
        6,
        "javacard/framework/AID",
        &[
            N(AidEqualsObject),
            N(AidRidEquals),
            N(AidEqualsBytes),
            N(AidGetBytes),
            N(AidPartialEquals),
            N(AidGetPartialBytes),
        ],
        &[AidInit],
    ),
    reason_exc(
        1,
        7,
        "javacard/framework/ISOException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::ISO_EXCEPTION)],
    ),
    plain(
        1,
        8,
        "javacard/framework/JCSystem",
        OBJ_V,
        &[
            AbortTransaction,
            BeginTransaction,
            CommitTransaction,
            GetAid,
            GetAppletSio,
            CommitCapacity,
            GetPreviousContextAid,
            GetTransactionDepth,
            UnusedCommitCapacity,
            GetVersion,
            IsTransient,
            LookupAid,
            MakeTransientBooleans,
            MakeTransientBytes,
            MakeTransientObjects,
            MakeTransientShorts,
            GetAvailableMemory,
            IsObjectDeletionSupported,
            RequestObjectDeletion,
            GetAssignedChannel,
            IsAppletActive,
            MakeGlobalArray,
            GetAvailableMemoryInt,
        ],
    ),
    ApiClass {
        package: 1,
        token: 9,
        name: "javacard/framework/OwnerPIN",
        super_class: Some(cls::OBJECT),
        interface: false,
        virtuals: &[
            N(ObjectEquals),
            N(PinCheck),
            N(PinTries),
            N(PinIsValidated), // getValidatedFlag
            N(PinIsValidated),
            N(PinReset),
            N(PinResetAndUnblock),
            N(PinSetValidated),
            N(PinUpdate),
        ],
        statics: &[PinInit],
        // PIN: check 0, getTriesRemaining 1, isValidated 2, reset 3.
        implements: &[(cls::PIN, &[1, 2, 4, 5])],
        super_interfaces: &[],
    },
    plain(
        1,
        10,
        "javacard/framework/APDU",
        &[
            N(ObjectEquals),
            N(ApduGetBuffer),
            N(ApduGetNad),
            N(ApduReceiveBytes),
            N(ApduSendBytes),
            N(ApduSendBytesLong),
            N(ApduSetIncomingAndReceive),
            N(ApduSetOutgoing),
            N(ApduSetOutgoingAndSend),
            N(ApduSetOutgoingLength),
            N(ApduSetOutgoingNoChaining),
            N(ApduGetCurrentState),
            N(ApduIsChaining),
            N(ApduIsSecureMessaging),
            N(ApduIsInterindustry),
            N(ApduGetIncomingLength),
            N(ApduGetOffsetCdata),
            N(ApduIsValidCla),
            N(ApduGetLcEncoding),
        ],
        &[
            ApduGetInBlockSize,
            ApduGetOutBlockSize,
            ApduGetProtocol,
            ApduWaitExtension,
            ApduGetCurrent,
            ApduGetCurrentBuffer,
            ApduGetClaChannel,
        ],
    ),
    reason_exc(
        1,
        11,
        "javacard/framework/PINException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::PIN_EXCEPTION)],
    ),
    reason_exc(
        1,
        12,
        "javacard/framework/APDUException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::APDU_EXCEPTION)],
    ),
    reason_exc(
        1,
        13,
        "javacard/framework/SystemException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::SYSTEM_EXCEPTION)],
    ),
    reason_exc(
        1,
        14,
        "javacard/framework/TransactionException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::TRANSACTION_EXCEPTION)],
    ),
    reason_exc(
        1,
        15,
        "javacard/framework/UserException",
        cls::CARD_EXCEPTION,
        &[ReasonInit0, ReasonInit, ThrowIt(cls::USER_EXCEPTION)],
    ),
    plain(
        1,
        16,
        "javacard/framework/Util",
        OBJ_V,
        &[ArrayCompare, ArrayCopy, ArrayCopyNonAtomic, ArrayFill, GetShort, MakeShort, SetShort, ArrayFillAtomic],
    ),
    iface(1, 17, "javacard/framework/MultiSelectable"),
    iface(1, 18, "javacard/framework/AppletEvent"),
    // javacard.security (A0000000620102): only the exception so far (part 3 adds the rest).
    reason_exc(
        2,
        12,
        "javacard/security/CryptoException",
        cls::CARD_RUNTIME_EXCEPTION,
        &[ReasonInit, ThrowIt(cls::CRYPTO_EXCEPTION)],
    ),
    // javacardx.apdu (A0000000620209)
    iface(4, 0, "javacardx/apdu/ExtendedLength"),
    // org.globalplatform (A00000015100), GP Card API: see gp.rs.
    ApiClass { super_interfaces: &[cls::SHAREABLE], ..iface(5, 1, "org/globalplatform/CVM") },
    ApiClass { super_interfaces: &[cls::SHAREABLE], ..iface(5, 2, "org/globalplatform/SecureChannel") },
    plain(
        5,
        3,
        "org/globalplatform/GPSystem",
        OBJ_V,
        &[
            Nop,
            Gp(gp::GpNative::GetCardContentState),
            Gp(gp::GpNative::GetCardState),
            Gp(gp::GpNative::GetCvm),
            Gp(gp::GpNative::GetSecureChannel),
            Gp(gp::GpNative::LockCard),
            Gp(gp::GpNative::TerminateCard),
            Gp(gp::GpNative::SetAtrHistBytes),
            Gp(gp::GpNative::SetCardContentState),
            Gp(gp::GpNative::GetRegistryEntry),
        ],
    ),
    ApiClass { super_interfaces: &[cls::SHAREABLE], ..iface(5, 4, "org/globalplatform/GPRegistryEntry") },
    // The JCRE-owned object behind `GPSystem.getSecureChannel()` (no export token).
    ApiClass {
        implements: &[(gp::SECURE_CHANNEL, &[1, 2, 3, 4, 5, 6, 7])],
        ..plain(
            5,
            0xF2,
            "org/globalplatform/$SecureChannel",
            &[
                N(ObjectEquals),
                N(Gp(gp::GpNative::ProcessSecurity)),
                N(Gp(gp::GpNative::Wrap)),
                N(Gp(gp::GpNative::Unwrap)),
                N(Gp(gp::GpNative::DecryptData)),
                N(Gp(gp::GpNative::EncryptData)),
                N(Gp(gp::GpNative::ResetSecurity)),
                N(Gp(gp::GpNative::GetSecurityLevel)),
            ],
            &[],
        )
    },
    // The JCRE-owned registry entries `GPSystem.getRegistryEntry` returns (no export token).
    ApiClass {
        implements: &[(gp::REGISTRY_ENTRY, &[1, 2, 3, 4, 5, 6, 7, 8])],
        ..plain(
            5,
            0xF4,
            "org/globalplatform/$GPRegistryEntry",
            &[
                N(ObjectEquals),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::DeregisterService))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::GetAid))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::GetPrivileges))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::GetState))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::IsAssociated))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::IsPrivileged))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::RegisterService))),
                N(Gp(gp::GpNative::Registry(gp::RegistryMethod::SetState))),
            ],
            &[],
        )
    },
    // The JCRE-owned global PIN behind `GPSystem.getCVM(CVM_GLOBAL_PIN)` (no export token).
    ApiClass {
        implements: &[(gp::CVM, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])],
        ..plain(
            5,
            0xF3,
            "org/globalplatform/$CVM",
            &[
                N(ObjectEquals),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::IsActive))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::IsSubmitted))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::IsVerified))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::IsBlocked))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::GetTriesRemaining))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::Update))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::ResetState))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::BlockState))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::ResetAndUnblockState))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::SetTryLimit))),
                N(Gp(gp::GpNative::Cvm(gp::CvmMethod::Verify))),
            ],
            &[],
        )
    },
];

/// Class ids of API classes are `package index * 256 + class token`, so they stay the same
/// when later parts add classes (heap objects and array element types store them).
// package indexes API_PACKAGES (a dozen entries), so package * 256 + token fits a u16.
#[allow(clippy::cast_possible_truncation)]
pub const fn api_class_id(package: usize, token: u8) -> ClassId {
    (package * 256) as ClassId + token as ClassId
}

/// Ids below this are API classes (implemented or not); loaded classes start here.
pub const USER_CLASS_BASE: ClassId = 0x1000;

/// The implemented API class with this id.
pub fn api_class(id: ClassId) -> Option<&'static ApiClass> {
    CLASSES.iter().chain(security::SECURITY_CLASSES).find(|c| api_class_id(c.package as usize, c.token) == id)
}

/// The API package with this AID.
pub fn package_by_aid(aid: &[u8]) -> Option<usize> {
    PACKAGES.iter().position(|p| p.aid == aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every native of the table fits the interpreter's argument array (the longest, 9 words,
    /// is `AEADCipher.init` with nonce, AAD and message lengths and tag size).
    #[test]
    fn natives_fit_the_argument_array() {
        let mut longest = 0;
        for c in CLASSES.iter().chain(security::SECURITY_CLASSES) {
            let virt = c.virtuals.iter().filter_map(|m| match m {
                ApiMethod::Native(n) => Some(*n),
                ApiMethod::Abstract => None,
            });
            for n in virt.chain(c.statics.iter().copied()) {
                longest = longest.max(n.signature().0 as usize);
            }
        }
        assert!(longest <= crate::jcvm::interp::exec::MAX_NATIVE_ARGS);
        assert_eq!(longest, 9);
    }

    #[test]
    fn ids_match_table() {
        let check = [
            (cls::OBJECT, "java/lang/Object"),
            (cls::NULL_POINTER, "java/lang/NullPointerException"),
            (cls::ARRAY_STORE, "java/lang/ArrayStoreException"),
            (cls::APPLET, "javacard/framework/Applet"),
            (cls::ISO_EXCEPTION, "javacard/framework/ISOException"),
            (cls::APDU, "javacard/framework/APDU"),
            (cls::UTIL, "javacard/framework/Util"),
            (cls::APPLET_EVENT, "javacard/framework/AppletEvent"),
            (cls::CRYPTO_EXCEPTION, "javacard/security/CryptoException"),
            (cls::EXTENDED_LENGTH, "javacardx/apdu/ExtendedLength"),
        ];
        for (id, name) in check {
            assert_eq!(api_class(id).unwrap().name, name);
        }
        for c in CLASSES.iter().chain(security::SECURITY_CLASSES) {
            if let Some(s) = c.super_class {
                assert!(api_class(s).is_some(), "{}", c.name);
            }
            for (i, _) in c.implements {
                assert!(api_class(*i).is_some_and(|i| i.interface));
            }
        }
    }

    /// Every name/token pair of the table against the token facts extracted from the kits'
    /// export files, when `shared/javacard` is there.
    #[test]
    fn tokens_match_export_files() {
        let Some(txt) = crate::jcvm::shared_file("javacard/tokens/oracle-api-3.2.0.txt") else {
            eprintln!("ignored: needs ../shared/javacard/tokens");
            return;
        };
        // The key implementation classes (gpse/...) are the project's own, under tokens no
        // export file uses; org.globalplatform is not in the Oracle kits (gp.rs checks its own).
        for c in CLASSES
            .iter()
            .chain(security::SECURITY_CLASSES)
            .filter(|c| !c.name.starts_with("gpse/") && (c.package as usize) < gp::GP_PACKAGE)
        {
            let line = format!("class {:>3} {} ", c.token, c.name);
            assert!(txt.contains(&line), "{line}");
        }
        // Method tokens of the classes with natives, by descriptor.
        let methods = [
            ("javacard/framework/APDU", "virtual", 16, "getOffsetCdata()S"),
            ("javacard/framework/APDU", "static", 6, "getCLAChannel()B"),
            ("javacard/framework/JCSystem", "static", 13, "makeTransientByteArray(SB)[B"),
            ("javacard/framework/JCSystem", "static", 20, "isAppletActive(Ljavacard/framework/AID;)Z"),
            ("javacard/framework/JCSystem", "static", 22, "getAvailableMemory([SSB)V"),
            ("javacard/framework/Util", "static", 7, "arrayFill([BSSB)S"),
            ("javacard/framework/OwnerPIN", "virtual", 8, "update([BSB)V"),
            ("javacard/framework/Applet", "virtual", 7, "process(Ljavacard/framework/APDU;)V"),
            ("javacard/framework/AID", "virtual", 5, "getPartialBytes(S[BSB)B"),
            ("javacard/framework/UserException", "static", 2, "throwIt(S)V"),
            // javacard.security / javacardx.crypto (security.rs).
            ("javacard/security/MessageDigest", "virtual", 1, "doFinal([BSS[BS)S"),
            ("javacard/security/MessageDigest", "virtual", 6, "doIntermediateMessageDigest([BS)S"),
            (
                "javacard/security/MessageDigest",
                "static",
                2,
                "getInitializedMessageDigestInstance(BZ)Ljavacard/security/InitializedMessageDigest;",
            ),
            ("javacard/security/InitializedMessageDigest", "virtual", 7, "doIntermediateMessageDigest([BS)S"),
            ("javacard/security/RandomData", "virtual", 3, "nextBytes([BSS)S"),
            ("javacard/security/RandomData", "static", 2, "getInstance(BZ)Ljavacard/security/RandomData;"),
            ("javacard/security/KeyBuilder", "static", 1, "buildKey(BBSZ)Ljavacard/security/Key;"),
            ("javacard/security/KeyBuilder", "static", 4, "getMemoryType(Ljavacard/security/Key;)B"),
            ("javacard/security/Signature", "virtual", 7, "verify([BSS[BSS)Z"),
            ("javacard/security/Signature", "virtual", 9, "signPreComputedHash([BSS[BS)S"),
            ("javacard/security/Signature", "virtual", 13, "getPaddingAlgorithm()B"),
            ("javacard/security/Signature", "static", 2, "getInstance(BBBZ)Ljavacard/security/Signature;"),
            (
                "javacard/security/KeyPair",
                "static",
                1,
                "<init>(Ljavacard/security/PublicKey;Ljavacard/security/PrivateKey;)V",
            ),
            ("javacard/security/KeyPair", "virtual", 3, "getPublic()Ljavacard/security/PublicKey;"),
            ("javacard/security/RSAPublicKey", "virtual", 7, "setModulus([BSS)V"),
            ("javacard/security/RSAPrivateCrtKey", "virtual", 12, "setPQ([BSS)V"),
            ("javacard/security/RSAPrivateCrtKey", "virtual", 4, "getDP1([BS)S"),
            ("javacard/security/AESKey", "virtual", 4, "setKey([BS)V"),
            ("javacard/security/DESKey", "virtual", 5, "setKey([BS)V"),
            ("javacard/security/HMACKey", "virtual", 4, "setKey([BSS)V"),
            ("javacardx/crypto/Cipher", "virtual", 5, "update([BSS[BS)S"),
            ("javacardx/crypto/Cipher", "static", 2, "getInstance(BBZ)Ljavacardx/crypto/Cipher;"),
        ];
        // Each key implementation class maps every method of each interface it implements.
        for c in security::SECURITY_CLASSES.iter().filter(|c| c.name.starts_with("gpse/")) {
            for (i, map) in c.implements {
                let iname = api_class(*i).unwrap().name;
                let start = txt.find(&format!(" {iname} ")).unwrap();
                let body = &txt[start..];
                let end = body[1..].find("\nclass").map(|e| e + 1).unwrap_or(body.len());
                let n = body[..end].matches("method virtual").count();
                assert_eq!(map.len(), n, "{} implements {iname}", c.name);
                assert!(map.iter().all(|t| (*t as usize) < c.virtuals.len()));
            }
        }
        for (class, kind, tok, desc) in methods {
            let start = txt.find(&format!(" {class} ")).unwrap();
            let body = &txt[start..];
            let end = body[1..].find("\nclass").map(|e| e + 1).unwrap_or(body.len());
            let line = format!("method {kind:<7} {tok:>3} {desc}");
            assert!(body[..end].contains(&line), "{class}: {line}");
        }
    }
}
