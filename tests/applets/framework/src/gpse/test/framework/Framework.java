package gpse.test.framework;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.OwnerPIN;
import javacard.framework.Util;

/**
 * javacard.framework: APDU in and out, ISOException status words, JCSystem transient arrays,
 * Util, OwnerPIN, AID. The install parameters (GP layout: instance AID, privileges, C9 data)
 * set the PIN: application parameter bytes are the PIN if 4-8 bytes long, else 31 32 33 34.
 *
 * SELECT → 9000 (select() returns true; no data). CLA 80 (00 for VERIFY), INS → response:
 *   00 20 00 00 Lc PIN → VERIFY: 9000, or 63Cx with x tries left (limit 3); blocked: 6983 (SW_FILE_INVALID, as the JC samples do)
 *   00 20 00 00 (no data) → 9000 if validated, else 63Cx
 *   80 70 -- Lc data → echo: setIncomingAndReceive, data back (setOutgoingAndSend)
 *   80 71 P1 -- → setOutgoing/setOutgoingLength(P1)/sendBytesLong of P1 bytes 00 01 02 ...
 *   80 72 P1 P2 → ISOException.throwIt(P1P2): the SW is P1P2 (e.g. 80 72 6A 82 → 6A82)
 *   80 73 -- → transient arrays: CLEAR_ON_RESET byte[2] and CLEAR_ON_DESELECT byte[2], each [0]
 *              incremented and returned: RESET DESELECT (2 bytes); isTransient of each: 01 02
 *              appended (4 bytes)
 *   80 74 -- Lc data → Util: arrayCompare(data[0..2], data[2..4]) (1 byte: FF/00/01),
 *              makeShort(data[0], data[1]) (2 bytes), getShort(data, 2) (2 bytes),
 *              arrayFill of 3 bytes with data[4] (3 bytes): 8 bytes in all
 *   80 75 -- → JCSystem.getAID(): this instance's AID bytes (AID.getBytes)
 *   80 76 -- Lc AID → 01 if AID.equals(bytes) for this instance, else 00; partialEquals with the
 *              first 5 bytes: second byte
 *   80 77 -- → PIN: tries remaining (1 byte), isValidated (1 byte)
 *   80 78 -- → JCSystem.getVersion() (2 bytes: 0305 on a 3.0.5 card)
 *   80 79 -- → APDU.getCLAChannel() (1 byte: 00 on the basic channel)
 *   80 7A -- Lc data → receiveBytes loop: sum of all data bytes as a short (2 bytes)
 *   80 7B -- → PIN reset (resetAndUnblock): 9000
 *   other INS: 6D00; CLA other than 00/80: 6E00.
 */
public class Framework extends Applet {
    private static final byte[] DEFAULT_PIN = {0x31, 0x32, 0x33, 0x34};
    private final OwnerPIN pin;
    private final byte[] onReset;
    private final byte[] onDeselect;

    private Framework(byte[] b, short off, byte len) {
        pin = new OwnerPIN((byte) 3, (byte) 8);
        // GP install parameters: [len AID] [len privileges] [len application parameters].
        short p = off;
        p += (short) (1 + b[p]);
        p += (short) (1 + b[p]);
        byte plen = b[p];
        if (plen >= 4 && plen <= 8) {
            pin.update(b, (short) (p + 1), plen);
        } else {
            pin.update(DEFAULT_PIN, (short) 0, (byte) DEFAULT_PIN.length);
        }
        onReset = JCSystem.makeTransientByteArray((short) 2, JCSystem.CLEAR_ON_RESET);
        onDeselect = JCSystem.makeTransientByteArray((short) 2, JCSystem.CLEAR_ON_DESELECT);
        register(b, (short) (off + 1), b[off]);
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Framework(bArray, bOffset, bLength);
    }

    public boolean select() {
        return true;
    }

    public void deselect() {
        pin.reset();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        byte cla = buf[ISO7816.OFFSET_CLA];
        byte ins = buf[ISO7816.OFFSET_INS];
        if (cla == 0 && ins == 0x20) {
            verify(apdu, buf);
            return;
        }
        if (cla != (byte) 0x80) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        short n = 0;
        switch (ins) {
            case 0x70:
                n = apdu.setIncomingAndReceive();
                apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, n);
                return;
            case 0x71: {
                short len = (short) (buf[ISO7816.OFFSET_P1] & 0xFF);
                apdu.setOutgoing();
                apdu.setOutgoingLength(len);
                for (short i = 0; i < len; i++) {
                    buf[i] = (byte) i;
                }
                apdu.sendBytesLong(buf, (short) 0, len);
                return;
            }
            case 0x72:
                ISOException.throwIt(Util.getShort(buf, ISO7816.OFFSET_P1));
                return;
            case 0x73:
                buf[0] = ++onReset[0];
                buf[1] = ++onDeselect[0];
                buf[2] = JCSystem.isTransient(onReset);
                buf[3] = JCSystem.isTransient(onDeselect);
                n = 4;
                break;
            case 0x74: {
                apdu.setIncomingAndReceive();
                short d = ISO7816.OFFSET_CDATA;
                byte c = Util.arrayCompare(buf, d, buf, (short) (d + 2), (short) 2);
                short m = Util.makeShort(buf[d], buf[(short) (d + 1)]);
                short g = Util.getShort(buf, (short) (d + 2));
                byte f = buf[(short) (d + 4)];
                buf[0] = c;
                Util.setShort(buf, (short) 1, m);
                Util.setShort(buf, (short) 3, g);
                Util.arrayFillNonAtomic(buf, (short) 5, (short) 3, f);
                n = 8;
                break;
            }
            case 0x75: {
                AID aid = JCSystem.getAID();
                n = aid.getBytes(buf, (short) 0);
                break;
            }
            case 0x76: {
                short len = apdu.setIncomingAndReceive();
                AID aid = JCSystem.getAID();
                boolean eq = aid.equals(buf, ISO7816.OFFSET_CDATA, (byte) len);
                boolean part = aid.partialEquals(buf, ISO7816.OFFSET_CDATA, (byte) 5);
                buf[0] = eq ? (byte) 1 : (byte) 0;
                buf[1] = part ? (byte) 1 : (byte) 0;
                n = 2;
                break;
            }
            case 0x77:
                buf[0] = pin.getTriesRemaining();
                buf[1] = pin.isValidated() ? (byte) 1 : (byte) 0;
                n = 2;
                break;
            case 0x78:
                n = Util.setShort(buf, (short) 0, JCSystem.getVersion());
                break;
            case 0x79:
                buf[0] = APDU.getCLAChannel();
                n = 1;
                break;
            case 0x7A: {
                short sum = 0;
                short got = apdu.setIncomingAndReceive();
                while (got > 0) {
                    for (short i = 0; i < got; i++) {
                        sum += (short) (buf[(short) (ISO7816.OFFSET_CDATA + i)] & 0xFF);
                    }
                    got = apdu.receiveBytes(ISO7816.OFFSET_CDATA);
                }
                n = Util.setShort(buf, (short) 0, sum);
                break;
            }
            case 0x7B:
                pin.resetAndUnblock();
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }

    private void verify(APDU apdu, byte[] buf) {
        if (pin.getTriesRemaining() == 0) {
            ISOException.throwIt(ISO7816.SW_FILE_INVALID);
        }
        if (buf[ISO7816.OFFSET_LC] == 0) {
            if (!pin.isValidated()) {
                ISOException.throwIt((short) (0x63C0 | pin.getTriesRemaining()));
            }
            return;
        }
        short len = apdu.setIncomingAndReceive();
        if (!pin.check(buf, ISO7816.OFFSET_CDATA, (byte) len)) {
            if (pin.getTriesRemaining() == 0) {
                ISOException.throwIt(ISO7816.SW_FILE_INVALID);
            }
            ISOException.throwIt((short) (0x63C0 | pin.getTriesRemaining()));
        }
    }
}
