package gpse.test.kat;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.CryptoException;
import javacard.security.DESKey;
import javacard.security.ECKey;
import javacard.security.ECPrivateKey;
import javacard.security.ECPublicKey;
import javacard.security.HMACKey;
import javacard.security.Key;
import javacard.security.KeyAgreement;
import javacard.security.KeyBuilder;
import javacard.security.KeyPair;
import javacard.security.MessageDigest;
import javacard.security.PrivateKey;
import javacard.security.RSAPrivateCrtKey;
import javacard.security.RSAPrivateKey;
import javacard.security.RSAPublicKey;
import javacard.security.Signature;
import javacardx.apdu.ExtendedLength;
import javacardx.crypto.Cipher;

/**
 * Kat: runs known-answer vectors (NIST CAVP, RFC, RSA PKCS#1, Wycheproof, Python cryptography:
 * vectors/kat) through javacard.security and javacardx.crypto (issue #16, tests/jcvm_kat.rs), and
 * is the CAP applet of the crypto benchmarks (benches/jcvm_crypto.rs).
 *
 * Engines (MessageDigest, Signature, Cipher, KeyAgreement) are made once per algorithm and kept;
 * keys once per (KeyBuilder type, size in bits) and kept, so thousands of vectors allocate
 * nothing after the first of each kind. A message longer than one APDU is fed by several UPDATE commands; a key
 * component or a signature longer than one APDU is first put in the stage buffer by STAGE.
 * Extended-length commands are accepted (ExtendedLength): the benchmarks send 1 KB at once.
 *
 * CLA 80, INS P1 P2 data → response (SW 9000 unless said). A CryptoException answers
 * SW 6F00 + its reason (6F01 ILLEGAL_VALUE, 6F02 UNINITIALIZED_KEY, 6F03 NO_SUCH_ALGORITHM,
 * 6F04 INVALID_INIT, 6F05 ILLEGAL_USE).
 *   01 00|01 -- bytes  → STAGE: P1 00 empties the stage first; appends the bytes; answers the
 *                        stage length (2 bytes)
 *   02 type comp  bits(2) → KEY: the key (type, bits) gets component comp = the stage's bytes:
 *                        0 setKey (DES, AES, HMAC), 1 modulus, 2 public exponent, 3 private
 *                        exponent, 4 P, 5 Q, 6 DP1, 7 DQ1, 8 PQ, 10 field, 11 A, 12 B, 13 G,
 *                        14 R, 15 K (a short), 16 W, 17 S (on both EC keys of that size for
 *                        10-15), 0x7F clearKey
 *   10 class alg  mode type bits(2) [iv] → INIT: class 1 MessageDigest (alg; no more data), 2
 *                        Signature, 3 Cipher, 4 KeyAgreement (mode ignored): getInstance(alg)
 *                        (kept), init(key (type, bits)[, mode][, iv]); it becomes the current
 *                        engine
 *   11 -- --  bytes  → UPDATE of the current engine (Cipher: its output)
 *   12 -- --  bytes  → FINAL: MessageDigest.doFinal, Signature.sign (MODE_SIGN) or
 *                        verify with the stage's bytes as the signature (MODE_VERIFY: 01 / 00),
 *                        Cipher.doFinal: the output, KeyAgreement.generateSecret (the bytes are
 *                        the other party's public point)
 *   20 alg -- bits(2) [e] → GENKEY: KeyPair(alg, bits) (kept), the public exponent e set first
 *                        if given, genKeyPair; its keys become those of (type, bits); answers the
 *                        modulus (RSA) or W (EC)
 *   21 -- --  --     → the current engine's algorithm (1 byte) and, for a Signature, its
 *                        getLength (2 bytes)
 *   other INS: 6D00.
 */
public class Kat extends Applet implements ExtendedLength {
    private static final short SLOTS = 24;
    private static final short OUT = 1200;

    private final Key[] keys = new Key[SLOTS];
    private final byte[] keyType = new byte[SLOTS];
    private final short[] keyBits = new short[SLOTS];
    private final KeyPair[] pairs = new KeyPair[8];
    private final byte[] pairAlg = new byte[8];
    private final short[] pairBits = new short[8];
    private final MessageDigest[] mds = new MessageDigest[8];
    private final Signature[] sigs = new Signature[64];
    private final Cipher[] ciphers = new Cipher[32];
    private final KeyAgreement[] kas = new KeyAgreement[8];

    private final byte[] stage;
    private final byte[] out;
    /** stageLen[0]: bytes in the stage; cur[0]: 0 none, 1 md, 2 signature, 3 cipher, 4 ka. */
    private final short[] stageLen;
    private final byte[] cur;
    private MessageDigest md;
    private Signature sig;
    private Cipher cipher;
    private KeyAgreement ka;
    private boolean verifying;

    private Kat() {
        // 4352: Wycheproof's longest ECDSA signatures (r or s of 4129 bytes) fit.
        stage = JCSystem.makeTransientByteArray((short) 4352, JCSystem.CLEAR_ON_DESELECT);
        out = JCSystem.makeTransientByteArray(OUT, JCSystem.CLEAR_ON_DESELECT);
        stageLen = JCSystem.makeTransientShortArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
        cur = JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Kat().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] b = apdu.getBuffer();
        short len = receiveAll(apdu);
        short off = apdu.getOffsetCdata();
        short n = 0;
        try {
            n = command(b, off, len);
        } catch (CryptoException e) {
            ISOException.throwIt((short) (0x6F00 | (e.getReason() & 0xFF)));
        }
        apdu.setOutgoing();
        apdu.setOutgoingLength(n);
        apdu.sendBytesLong(out, (short) 0, n);
    }

    /** The whole command data in the APDU buffer (a card may give it in several blocks). */
    private static short receiveAll(APDU apdu) {
        short got = apdu.setIncomingAndReceive();
        short total = apdu.getIncomingLength();
        short off = (short) (apdu.getOffsetCdata() + got);
        while (got < total) {
            short r = apdu.receiveBytes(off);
            got += r;
            off += r;
        }
        return total;
    }

    private short command(byte[] b, short off, short len) {
        byte p1 = b[ISO7816.OFFSET_P1];
        byte p2 = b[ISO7816.OFFSET_P2];
        switch (b[ISO7816.OFFSET_INS]) {
        case 0x01: {
            short s = p1 == 0 ? 0 : stageLen[0];
            if ((short) (s + len) > (short) stage.length) {
                ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            }
            Util.arrayCopyNonAtomic(b, off, stage, s, len);
            stageLen[0] = (short) (s + len);
            return Util.setShort(out, (short) 0, stageLen[0]);
        }
        case 0x02:
            setComponent(p1, Util.getShort(b, off), p2);
            return 0;
        case 0x10:
            init(p1, p2, b, off, len);
            return 0;
        case 0x11:
            switch (cur[0]) {
            case 1:
                md.update(b, off, len);
                return 0;
            case 2:
                sig.update(b, off, len);
                return 0;
            case 3:
                return cipher.update(b, off, len, out, (short) 0);
            default:
                CryptoException.throwIt(CryptoException.INVALID_INIT);
            }
            return 0;
        case 0x12:
            switch (cur[0]) {
            case 1:
                return md.doFinal(b, off, len, out, (short) 0);
            case 2:
                if (verifying) {
                    out[0] = (byte) (sig.verify(b, off, len, stage, (short) 0, stageLen[0]) ? 1 : 0);
                    return 1;
                }
                return sig.sign(b, off, len, out, (short) 0);
            case 3:
                return cipher.doFinal(b, off, len, out, (short) 0);
            case 4:
                return ka.generateSecret(b, off, len, out, (short) 0);
            default:
                CryptoException.throwIt(CryptoException.INVALID_INIT);
            }
            return 0;
        case 0x20:
            return genKey(p1, Util.getShort(b, off), b, (short) (off + 2), (short) (len - 2));
        case 0x21:
            switch (cur[0]) {
            case 1:
                out[0] = md.getAlgorithm();
                return 1;
            case 2:
                out[0] = sig.getAlgorithm();
                return Util.setShort(out, (short) 1, sig.getLength());
            case 3:
                out[0] = cipher.getAlgorithm();
                return 1;
            default:
                return 0;
            }
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        return 0;
    }

    /** The key of (type, bits): made by the first use, then the same object. */
    private Key key(byte type, short bits) {
        for (short i = 0; i < SLOTS; i++) {
            if (keys[i] != null && keyType[i] == type && keyBits[i] == bits) {
                return keys[i];
            }
        }
        Key k = KeyBuilder.buildKey(type, bits, false);
        put(type, bits, k);
        return k;
    }

    private void put(byte type, short bits, Key k) {
        short free = -1;
        for (short i = 0; i < SLOTS; i++) {
            if (keys[i] != null && keyType[i] == type && keyBits[i] == bits) {
                free = i;
                break;
            }
            if (keys[i] == null && free < 0) {
                free = i;
            }
        }
        if (free < 0) {
            ISOException.throwIt(ISO7816.SW_FILE_FULL);
        }
        keys[free] = k;
        keyType[free] = type;
        keyBits[free] = bits;
    }

    private void setComponent(byte type, short bits, byte comp) {
        Key k = key(type, bits);
        short l = stageLen[0];
        switch (comp) {
        case 0:
            if (k instanceof HMACKey) {
                ((HMACKey) k).setKey(stage, (short) 0, l);
            } else if (k instanceof AESKey) {
                ((AESKey) k).setKey(stage, (short) 0);
            } else {
                ((DESKey) k).setKey(stage, (short) 0);
            }
            break;
        case 1:
            if (k instanceof RSAPublicKey) {
                ((RSAPublicKey) k).setModulus(stage, (short) 0, l);
            } else {
                ((RSAPrivateKey) k).setModulus(stage, (short) 0, l);
            }
            break;
        case 2:
            ((RSAPublicKey) k).setExponent(stage, (short) 0, l);
            break;
        case 3:
            ((RSAPrivateKey) k).setExponent(stage, (short) 0, l);
            break;
        case 4:
            ((RSAPrivateCrtKey) k).setP(stage, (short) 0, l);
            break;
        case 5:
            ((RSAPrivateCrtKey) k).setQ(stage, (short) 0, l);
            break;
        case 6:
            ((RSAPrivateCrtKey) k).setDP1(stage, (short) 0, l);
            break;
        case 7:
            ((RSAPrivateCrtKey) k).setDQ1(stage, (short) 0, l);
            break;
        case 8:
            ((RSAPrivateCrtKey) k).setPQ(stage, (short) 0, l);
            break;
        case 10:
        case 11:
        case 12:
        case 13:
        case 14:
        case 15:
            // Domain parameters go on both EC keys of the size (a key pair shares them).
            domain((ECKey) key(KeyBuilder.TYPE_EC_FP_PUBLIC, bits), comp, l);
            domain((ECKey) key(KeyBuilder.TYPE_EC_FP_PRIVATE, bits), comp, l);
            break;
        case 16:
            ((ECPublicKey) k).setW(stage, (short) 0, l);
            break;
        case 17:
            ((ECPrivateKey) k).setS(stage, (short) 0, l);
            break;
        case 0x7F:
            k.clearKey();
            break;
        default:
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
    }

    private void domain(ECKey k, byte comp, short l) {
        switch (comp) {
        case 10:
            k.setFieldFP(stage, (short) 0, l);
            break;
        case 11:
            k.setA(stage, (short) 0, l);
            break;
        case 12:
            k.setB(stage, (short) 0, l);
            break;
        case 13:
            k.setG(stage, (short) 0, l);
            break;
        case 14:
            k.setR(stage, (short) 0, l);
            break;
        default:
            k.setK(Util.getShort(stage, (short) 0));
            break;
        }
    }

    private void init(byte cls, byte alg, byte[] b, short off, short len) {
        cur[0] = 0;
        if (cls == 1) {
            if (mds[alg] == null) {
                mds[alg] = MessageDigest.getInstance(alg, false);
            }
            md = mds[alg];
            md.reset();
            cur[0] = 1;
            return;
        }
        byte mode = b[off];
        Key k = key(b[(short) (off + 1)], Util.getShort(b, (short) (off + 2)));
        short iv = (short) (off + 4);
        short ivLen = (short) (len - 4);
        if (cls == 2) {
            if (sigs[alg] == null) {
                sigs[alg] = Signature.getInstance(alg, false);
            }
            sig = sigs[alg];
            if (ivLen > 0) {
                sig.init(k, mode, b, iv, ivLen);
            } else {
                sig.init(k, mode);
            }
            verifying = mode == Signature.MODE_VERIFY;
            cur[0] = 2;
        } else if (cls == 3) {
            if (ciphers[alg] == null) {
                ciphers[alg] = Cipher.getInstance(alg, false);
            }
            cipher = ciphers[alg];
            if (ivLen > 0) {
                cipher.init(k, mode, b, iv, ivLen);
            } else {
                cipher.init(k, mode);
            }
            cur[0] = 3;
        } else if (cls == 4) {
            if (kas[alg] == null) {
                kas[alg] = KeyAgreement.getInstance(alg, false);
            }
            ka = kas[alg];
            ka.init((PrivateKey) k);
            cur[0] = 4;
        } else {
            ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
    }

    private short genKey(byte alg, short bits, byte[] b, short e, short eLen) {
        KeyPair kp = null;
        short free = -1;
        for (short i = 0; i < (short) pairs.length; i++) {
            if (pairs[i] != null && pairAlg[i] == alg && pairBits[i] == bits) {
                kp = pairs[i];
                break;
            }
            if (pairs[i] == null && free < 0) {
                free = i;
            }
        }
        if (kp == null) {
            if (free < 0) {
                ISOException.throwIt(ISO7816.SW_FILE_FULL);
            }
            kp = new KeyPair(alg, bits);
            pairs[free] = kp;
            pairAlg[free] = alg;
            pairBits[free] = bits;
        }
        if (eLen > 0) {
            ((RSAPublicKey) kp.getPublic()).setExponent(b, e, eLen);
        }
        kp.genKeyPair();
        Key pub = kp.getPublic();
        Key priv = kp.getPrivate();
        put(pub.getType(), bits, pub);
        put(priv.getType(), bits, priv);
        if (pub instanceof RSAPublicKey) {
            return ((RSAPublicKey) pub).getModulus(out, (short) 0);
        }
        return ((ECPublicKey) pub).getW(out, (short) 0);
    }
}
