package gpse.test.crypto;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.Checksum;
import javacard.security.CryptoException;
import javacard.security.DESKey;
import javacard.security.ECPrivateKey;
import javacard.security.ECPublicKey;
import javacard.security.KeyAgreement;
import javacard.security.HMACKey;
import javacard.security.Key;
import javacard.security.KeyBuilder;
import javacard.security.KeyPair;
import javacard.security.MessageDigest;
import javacard.security.RSAPrivateCrtKey;
import javacard.security.RSAPublicKey;
import javacard.security.RandomData;
import javacard.security.Signature;
import javacardx.crypto.AEADCipher;
import javacardx.crypto.Cipher;

/**
 * Crypto: javacard.security and javacardx.crypto driven with known-answer vectors (issue #16).
 *
 * State: sk (the secret key last set by 20), kp (the RSA key pair of 30), tk (a
 * TYPE_AES_TRANSIENT_DESELECT key), buf (transient CLEAR_ON_DESELECT byte[600] work area).
 *
 * CLA 80, INS P1 P2 data → response (SW 9000 unless said; a CryptoException that escapes
 * answers 6F00):
 *   10 alg --   msg → MessageDigest.getInstance(alg): update(first half), doFinal(rest)
 *   11 alg --   msg → InitializedMessageDigest of alg: doFinal(msg); then getLength (1 byte)
 *               and getAlgorithm (1 byte) appended
 *   12 alg len  --  → RandomData.getInstance(alg).generateData(len)
 *   20 type --  key → buildKey(type, key length * 8) and setKey: the secret key (DES, AES, HMAC)
 *   21 --  --   --  → sk: getSize (2) getType (1) isInitialized (1), clearKey, isInitialized (1)
 *   22 alg mode [ivlen iv] in → Cipher.getInstance(alg) on sk, init(mode[, iv]); update(first
 *               half) and doFinal(rest) into buf: the output. ivlen 0: init(Key, byte)
 *   24 alg --   [ivlen iv] msg → Signature.getInstance(alg) on sk, MODE_SIGN: update(first
 *               half), sign(rest)
 *   25 alg --   siglen sig msg → MODE_VERIFY: verify → 01 / 00
 *   30 alg bits/256 [e] → new KeyPair(alg, bits); e given: preset on the public key;
 *               genKeyPair: the public exponent length (1) then the modulus
 *   31 --  --   --  → kp private key: getSize (2), isInitialized (1), and for CRT getP's length (2)
 *   34 alg --   msg → Signature alg with kp's private key: sign(msg)
 *   35 alg --   sig msg (sig is modulus-length) → verify with kp's public key → 01 / 00
 *   36 alg --   hash → signPreComputedHash(hash)
 *   38 alg mode in → Cipher alg on kp: mode 2 encrypts with the public key, 1 decrypts with
 *               the private key
 *   40 case --  --  → the CryptoException reason (2 bytes) of case P1:
 *                 0 MessageDigest.getInstance(99)                          → 3 NO_SUCH_ALGORITHM
 *                 1 Cipher AES ECB doFinal without init                    → 4 INVALID_INIT
 *                 2 Cipher AES ECB init with an unset AES key              → 2 UNINITIALIZED_KEY
 *                 3 RSAPublicKey(1024).setModulus of 64 bytes               → 1 ILLEGAL_VALUE
 *                 4 AES ECB NOPAD doFinal of 15 bytes                       → 5 ILLEGAL_USE
 *                 5 buildKey(TYPE_AES, 100)                                 → 3
 *                 6 Signature.getInstance(ALG_DSA_SHA)                      → 3 (not implemented)
 *                 7 Cipher AES CBC init with an 8-byte IV                   → 1
 *                 8 AES-GCM updateAAD after update                          → 5
 *                 9 AES-CCM init with a 5-byte tag                          → 1
 *                10 Checksum.getInstance(3)                                 → 3
 *                11 CRC16 init with 4 bytes                                 → 1
 *                12 AES-CCM init for 16 message bytes, doFinal of 15         → 5
 *                13 AES-GCM decryption's doFinal, then retrieveTag           → 5
 *               no exception: 0000
 *   41 --  --   key → tk: setKey (16 bytes), isInitialized (1)
 *   42 --  --   --  → tk.isInitialized (1) (0 after a reselect: CLEAR_ON_DESELECT)
 *   50 --  fieldbytes [p a b G r] → new KeyPair(ALG_EC_FP, bits) (bits = 8 × fieldbytes, 521
 *               for 66); with data (each field-size, G uncompressed) the domain parameters are
 *               set on both keys first; genKeyPair: W
 *   51 alg --   msg → Signature alg (ECDSA) with ec's private key: sign(msg) (DER)
 *   52 alg --   sig msg (sig: 1-byte length first) → verify with ec's public key → 01 / 00
 *   53 alg --   W   → KeyAgreement alg with ec's private key: generateSecret(W)
 *   54 --  --   --  → ec public key: getField, getA, getB, getG, getR lengths (1 byte each), getK (2)
 *   55 --  --   S   → ec private key: setS(S) (known-answer signatures with 51)
 *   60 alg --   initlen [init] msg → Checksum.getInstance(alg); init(init) when initlen > 0;
 *               update(first half), doFinal(rest); then doFinal(msg) again (after the reset to
 *               0) and getAlgorithm (1)
 *   62 alg form nlen nonce alen aad tlen msg → (AEADCipher) Cipher.getInstance(alg) on sk
 *               (form bit 0x80: getInstance(alg - 2 = CIPHER_AES_*, PAD_NULL)); form bit 0x01:
 *               init(sk, MODE_ENCRYPT, nonce) else init(sk, MODE_ENCRYPT, nonce, alen, msglen,
 *               tlen); updateAAD(first half), updateAAD(rest); update(first half of msg),
 *               doFinal(rest); retrieveTag(tlen): ciphertext || tag
 *   63 alg form nlen nonce alen aad tlen tag ct → the same with MODE_DECRYPT: plaintext,
 *               then verifyTag(tag, tlen, tlen) (1: 01 / 00)
 *   other INS: 6D00.
 */
public class Crypto extends Applet {
    private Key sk;
    private KeyPair kp;
    private KeyPair ec;
    private AESKey tk;
    private byte[] buf;

    private Crypto() {
        buf = JCSystem.makeTransientByteArray((short) 600, JCSystem.CLEAR_ON_DESELECT);
        tk = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES_TRANSIENT_DESELECT, KeyBuilder.LENGTH_AES_128, false);
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Crypto().register();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] b = apdu.getBuffer();
        short len = apdu.setIncomingAndReceive();
        byte p1 = b[ISO7816.OFFSET_P1];
        byte p2 = b[ISO7816.OFFSET_P2];
        short off = ISO7816.OFFSET_CDATA;
        short n = 0;
        switch (b[ISO7816.OFFSET_INS]) {
        case 0x10: {
            MessageDigest md = MessageDigest.getInstance(p1, false);
            short half = (short) (len / 2);
            md.update(b, off, half);
            n = md.doFinal(b, (short) (off + half), (short) (len - half), buf, (short) 0);
            break;
        }
        case 0x11: {
            MessageDigest md = MessageDigest.getInitializedMessageDigestInstance(p1, false);
            n = md.doFinal(b, off, len, buf, (short) 0);
            buf[n++] = md.getLength();
            buf[n++] = md.getAlgorithm();
            break;
        }
        case 0x12: {
            RandomData rd = RandomData.getInstance(p1);
            n = (short) (p2 & 0xFF);
            rd.generateData(buf, (short) 0, n);
            break;
        }
        case 0x20: {
            byte type = p1;
            short bits = (short) (len * 8);
            sk = KeyBuilder.buildKey(type, bits, false);
            if (sk instanceof AESKey) {
                ((AESKey) sk).setKey(b, off);
            } else if (sk instanceof DESKey) {
                ((DESKey) sk).setKey(b, off);
            } else {
                ((HMACKey) sk).setKey(b, off, len);
            }
            break;
        }
        case 0x21: {
            n = Util.setShort(buf, (short) 0, sk.getSize());
            buf[n++] = sk.getType();
            buf[n++] = (byte) (sk.isInitialized() ? 1 : 0);
            sk.clearKey();
            buf[n++] = (byte) (sk.isInitialized() ? 1 : 0);
            break;
        }
        case 0x22: {
            Cipher c = Cipher.getInstance(p1, false);
            short ivlen = (short) (b[off] & 0xFF);
            if (ivlen == 0) {
                c.init(sk, p2);
            } else {
                c.init(sk, p2, b, (short) (off + 1), ivlen);
            }
            short in = (short) (off + 1 + ivlen);
            short inLen = (short) (len - 1 - ivlen);
            short half = (short) (inLen / 2);
            n = c.update(b, in, half, buf, (short) 0);
            n += c.doFinal(b, (short) (in + half), (short) (inLen - half), buf, n);
            break;
        }
        case 0x24: {
            Signature s = Signature.getInstance(p1, false);
            short ivlen = (short) (b[off] & 0xFF);
            if (ivlen == 0) {
                s.init(sk, Signature.MODE_SIGN);
            } else {
                s.init(sk, Signature.MODE_SIGN, b, (short) (off + 1), ivlen);
            }
            short in = (short) (off + 1 + ivlen);
            short inLen = (short) (len - 1 - ivlen);
            short half = (short) (inLen / 2);
            s.update(b, in, half);
            n = s.sign(b, (short) (in + half), (short) (inLen - half), buf, (short) 0);
            break;
        }
        case 0x25: {
            Signature s = Signature.getInstance(p1, false);
            s.init(sk, Signature.MODE_VERIFY);
            short sl = (short) (b[off] & 0xFF);
            short msg = (short) (off + 1 + sl);
            buf[0] = (byte) (s.verify(b, msg, (short) (len - 1 - sl), b, (short) (off + 1), sl) ? 1 : 0);
            n = 1;
            break;
        }
        case 0x30: {
            kp = new KeyPair(p1, (short) ((p2 & 0xFF) * 256));
            if (len > 0) {
                ((RSAPublicKey) kp.getPublic()).setExponent(b, off, len);
            }
            kp.genKeyPair();
            RSAPublicKey pub = (RSAPublicKey) kp.getPublic();
            short el = pub.getExponent(buf, (short) 1);
            buf[0] = (byte) el;
            n = pub.getModulus(buf, (short) 0);
            // buf = modulus; send exponent length first.
            Util.arrayCopyNonAtomic(buf, (short) 0, buf, (short) 1, n);
            buf[0] = (byte) el;
            n++;
            break;
        }
        case 0x31: {
            Key k = kp.getPrivate();
            n = Util.setShort(buf, (short) 0, k.getSize());
            buf[n++] = (byte) (k.isInitialized() ? 1 : 0);
            if (k instanceof RSAPrivateCrtKey) {
                short pl = ((RSAPrivateCrtKey) k).getP(buf, (short) 100);
                n = Util.setShort(buf, n, pl);
            }
            break;
        }
        case 0x34: {
            Signature s = Signature.getInstance(p1, false);
            s.init(kp.getPrivate(), Signature.MODE_SIGN);
            n = s.sign(b, off, len, buf, (short) 0);
            break;
        }
        case 0x35: {
            Signature s = Signature.getInstance(p1, false);
            s.init(kp.getPublic(), Signature.MODE_VERIFY);
            short sl = (short) (kp.getPublic().getSize() / 8);
            buf[0] = (byte) (s.verify(b, (short) (off + sl), (short) (len - sl), b, off, sl) ? 1 : 0);
            n = 1;
            break;
        }
        case 0x36: {
            Signature s = Signature.getInstance(p1, false);
            s.init(kp.getPrivate(), Signature.MODE_SIGN);
            n = s.signPreComputedHash(b, off, len, buf, (short) 0);
            break;
        }
        case 0x38: {
            Cipher c = Cipher.getInstance(p1, false);
            c.init(p2 == Cipher.MODE_ENCRYPT ? (Key) kp.getPublic() : (Key) kp.getPrivate(), p2);
            n = c.doFinal(b, off, len, buf, (short) 0);
            break;
        }
        case 0x40: {
            short r = 0;
            try {
                cryptoCase(p1, b);
            } catch (CryptoException e) {
                r = e.getReason();
            }
            n = Util.setShort(buf, (short) 0, r);
            break;
        }
        case 0x41:
            tk.setKey(b, off);
            buf[0] = (byte) (tk.isInitialized() ? 1 : 0);
            n = 1;
            break;
        case 0x42:
            buf[0] = (byte) (tk.isInitialized() ? 1 : 0);
            n = 1;
            break;
        case 0x50: {
            short bits = (short) ((p2 & 0xFF) == 66 ? 521 : (p2 & 0xFF) * 8);
            ec = new KeyPair(KeyPair.ALG_EC_FP, bits);
            if (len > 0) {
                short f = (short) ((p2 & 0xFF));
                ECPublicKey pub = (ECPublicKey) ec.getPublic();
                ECPrivateKey priv = (ECPrivateKey) ec.getPrivate();
                short o = off;
                pub.setFieldFP(b, o, f); priv.setFieldFP(b, o, f); o += f;
                pub.setA(b, o, f); priv.setA(b, o, f); o += f;
                pub.setB(b, o, f); priv.setB(b, o, f); o += f;
                short gl = (short) (2 * f + 1);
                pub.setG(b, o, gl); priv.setG(b, o, gl); o += gl;
                pub.setR(b, o, f); priv.setR(b, o, f);
                pub.setK((short) 1); priv.setK((short) 1);
            }
            ec.genKeyPair();
            n = ((ECPublicKey) ec.getPublic()).getW(buf, (short) 0);
            break;
        }
        case 0x51: {
            Signature s = Signature.getInstance(p1, false);
            s.init(ec.getPrivate(), Signature.MODE_SIGN);
            n = s.sign(b, off, len, buf, (short) 0);
            break;
        }
        case 0x52: {
            Signature s = Signature.getInstance(p1, false);
            s.init(ec.getPublic(), Signature.MODE_VERIFY);
            short sl = (short) (b[off] & 0xFF);
            short msg = (short) (off + 1 + sl);
            buf[0] = (byte) (s.verify(b, msg, (short) (len - 1 - sl), b, (short) (off + 1), sl) ? 1 : 0);
            n = 1;
            break;
        }
        case 0x53: {
            KeyAgreement ka = KeyAgreement.getInstance(p1, false);
            ka.init(ec.getPrivate());
            n = ka.generateSecret(b, off, len, buf, (short) 0);
            break;
        }
        case 0x55:
            ((ECPrivateKey) ec.getPrivate()).setS(b, off, len);
            break;
        case 0x54: {
            ECPublicKey pub = (ECPublicKey) ec.getPublic();
            buf[0] = (byte) pub.getField(buf, (short) 10);
            buf[1] = (byte) pub.getA(buf, (short) 10);
            buf[2] = (byte) pub.getB(buf, (short) 10);
            buf[3] = (byte) pub.getG(buf, (short) 10);
            buf[4] = (byte) pub.getR(buf, (short) 10);
            n = Util.setShort(buf, (short) 5, pub.getK());
            break;
        }
        case 0x60: {
            Checksum cs = Checksum.getInstance(p1, false);
            short il = (short) (b[off] & 0xFF);
            if (il > 0) {
                cs.init(b, (short) (off + 1), il);
            }
            short in = (short) (off + 1 + il);
            short inLen = (short) (len - 1 - il);
            short half = (short) (inLen / 2);
            cs.update(b, in, half);
            n = cs.doFinal(b, (short) (in + half), (short) (inLen - half), buf, (short) 0);
            n += cs.doFinal(b, in, inLen, buf, n);
            buf[n++] = cs.getAlgorithm();
            break;
        }
        case 0x62:
        case 0x63: {
            boolean enc = b[ISO7816.OFFSET_INS] == 0x62;
            AEADCipher c = (AEADCipher) ((p2 & 0x80) != 0
                ? Cipher.getInstance((byte) (p1 - 2), Cipher.PAD_NULL, false)
                : Cipher.getInstance(p1, false));
            short o = off;
            short nl = (short) (b[o++] & 0xFF);
            short nonce = o;
            o += nl;
            short al = (short) (b[o++] & 0xFF);
            short aad = o;
            o += al;
            short tl = (short) (b[o++] & 0xFF);
            short tag = o;
            if (!enc) {
                o += tl;
            }
            short ml = (short) (off + len - o);
            byte mode = enc ? Cipher.MODE_ENCRYPT : Cipher.MODE_DECRYPT;
            if ((p2 & 0x01) != 0) {
                c.init(sk, mode, b, nonce, nl);
            } else {
                c.init(sk, mode, b, nonce, nl, al, ml, tl);
            }
            short ah = (short) (al / 2);
            c.updateAAD(b, aad, ah);
            c.updateAAD(b, (short) (aad + ah), (short) (al - ah));
            short mh = (short) (ml / 2);
            n = c.update(b, o, mh, buf, (short) 0);
            n += c.doFinal(b, (short) (o + mh), (short) (ml - mh), buf, n);
            if (enc) {
                n += c.retrieveTag(buf, n, tl);
            } else {
                buf[n++] = (byte) (c.verifyTag(b, tag, tl, tl) ? 1 : 0);
            }
            break;
        }
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoing();
        apdu.setOutgoingLength(n);
        apdu.sendBytesLong(buf, (short) 0, n);
    }

    private void cryptoCase(byte c, byte[] b) {
        switch (c) {
        case 0:
            MessageDigest.getInstance((byte) 99, false);
            break;
        case 1:
            Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_ECB_NOPAD, false).doFinal(b, (short) 0, (short) 16, buf, (short) 0);
            break;
        case 2: {
            Key k = KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_ECB_NOPAD, false).init(k, Cipher.MODE_ENCRYPT);
            break;
        }
        case 3: {
            RSAPublicKey k = (RSAPublicKey) KeyBuilder.buildKey(KeyBuilder.TYPE_RSA_PUBLIC, KeyBuilder.LENGTH_RSA_1024, false);
            k.setModulus(b, (short) 0, (short) 64);
            break;
        }
        case 4: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            Cipher ci = Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_ECB_NOPAD, false);
            ci.init(k, Cipher.MODE_ENCRYPT);
            ci.doFinal(b, (short) 0, (short) 15, buf, (short) 0);
            break;
        }
        case 5:
            KeyBuilder.buildKey(KeyBuilder.TYPE_AES, (short) 100, false);
            break;
        case 6:
            Signature.getInstance(Signature.ALG_DSA_SHA, false);
            break;
        case 7: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_CBC_NOPAD, false).init(k, Cipher.MODE_ENCRYPT, b, (short) 0, (short) 8);
            break;
        }
        case 8: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            AEADCipher g = (AEADCipher) Cipher.getInstance(AEADCipher.ALG_AES_GCM, false);
            g.init(k, Cipher.MODE_ENCRYPT, b, (short) 0, (short) 12);
            g.update(b, (short) 0, (short) 16, buf, (short) 0);
            g.updateAAD(b, (short) 0, (short) 4);
            break;
        }
        case 9: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            AEADCipher g = (AEADCipher) Cipher.getInstance(AEADCipher.ALG_AES_CCM, false);
            g.init(k, Cipher.MODE_ENCRYPT, b, (short) 0, (short) 12, (short) 0, (short) 16, (short) 5);
            break;
        }
        case 10:
            Checksum.getInstance((byte) 3, false);
            break;
        case 12: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            AEADCipher g = (AEADCipher) Cipher.getInstance(AEADCipher.ALG_AES_CCM, false);
            g.init(k, Cipher.MODE_ENCRYPT, b, (short) 0, (short) 12, (short) 0, (short) 16, (short) 16);
            g.doFinal(b, (short) 0, (short) 15, buf, (short) 0);
            break;
        }
        case 13: {
            AESKey k = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            k.setKey(b, (short) 0);
            AEADCipher g = (AEADCipher) Cipher.getInstance(AEADCipher.ALG_AES_GCM, false);
            g.init(k, Cipher.MODE_DECRYPT, b, (short) 0, (short) 12);
            g.doFinal(b, (short) 0, (short) 16, buf, (short) 0);
            g.retrieveTag(buf, (short) 100, (short) 16);
            break;
        }
        case 11:
            Checksum.getInstance(Checksum.ALG_ISO3309_CRC16, false).init(b, (short) 0, (short) 4);
            break;
        default:
            break;
        }
    }
}
