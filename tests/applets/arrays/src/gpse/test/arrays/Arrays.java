package gpse.test.arrays;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * Arrays of every type (boolean, byte, short, int, reference), static arrays with initial
 * values, arraylength, and the exceptions of bad indices. Built for target 3.1.0 (CAP format
 * 2.3) with the int flag.
 *
 * CLA 80, INS P1 → response (SW 9000 unless said):
 *   40 -- → STATIC_BYTES (8 bytes 01 02 03 04 05 06 07 08)
 *   41 -- → STATIC_SHORTS as big-endian shorts: 0102 0304 FFFF 8000
 *   42 -- → STATIC_INTS as big-endian ints: 01020304 FFFFFFFE
 *   43 -- → STATIC_BOOLS as bytes: 01 00 01
 *   44 P1 → new byte[P1] filled with i*3, returned (P1 ≤ 32)
 *   45 P1 → new short[P1], s[i] = i*i; returns the sum as a short (2 bytes)
 *   46 P1 → new int[P1], n[i] = i * 100000; returns n[P1-1] (4 bytes); P1 = 0: 6F00 (index -1)
 *   47 P1 → new boolean[P1], every third true; returns the count of true (1 byte)
 *   48 -- → Object[3] holding an AID (this applet's), a byte[] and null: returns
 *           01 if [0] instanceof AID, 01 if [1] instanceof byte[], 01 if [2] == null (3 bytes)
 *   49 P1 → STATIC_BYTES[P1] (1 byte); P1 ≥ 8: caught ArrayIndexOutOfBoundsException → 6A86
 *   4A -- → negative array size: caught NegativeArraySizeException → 6A87
 *   4B -- → store into a null array: caught NullPointerException → 6A88
 *   4C -- → instance field counter (short[1] in the applet) incremented, returned (2 bytes)
 *   4D P1 → transient byte array (CLEAR_ON_DESELECT, 4 bytes): [0] += P1, returns [0] (1 byte)
 *   4E -- → Object[2] of byte[2] and byte[3], cast back: total length 5 (1 byte)
 *   other INS: 6D00.
 */
public class Arrays extends Applet {
    private static final byte[] STATIC_BYTES = {1, 2, 3, 4, 5, 6, 7, 8};
    private static final short[] STATIC_SHORTS = {0x0102, 0x0304, -1, (short) 0x8000};
    private static final int[] STATIC_INTS = {0x01020304, -2};
    private static final boolean[] STATIC_BOOLS = {true, false, true};
    private static byte[] nullArray;

    private final short[] counter;
    private final byte[] scratch;

    private Arrays() {
        counter = new short[1];
        scratch = JCSystem.makeTransientByteArray((short) 4, JCSystem.CLEAR_ON_DESELECT);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Arrays();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short p1 = (short) (buf[ISO7816.OFFSET_P1] & 0xFF);
        short n = 0;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x40:
                n = Util.arrayCopyNonAtomic(STATIC_BYTES, (short) 0, buf, (short) 0, (short) STATIC_BYTES.length);
                break;
            case 0x41:
                for (short i = 0; i < STATIC_SHORTS.length; i++) {
                    n = Util.setShort(buf, n, STATIC_SHORTS[i]);
                }
                break;
            case 0x42:
                for (short i = 0; i < STATIC_INTS.length; i++) {
                    int v = STATIC_INTS[i];
                    n = Util.setShort(buf, n, (short) (v >> 16));
                    n = Util.setShort(buf, n, (short) v);
                }
                break;
            case 0x43:
                for (short i = 0; i < STATIC_BOOLS.length; i++) {
                    buf[n++] = STATIC_BOOLS[i] ? (byte) 1 : (byte) 0;
                }
                break;
            case 0x44: {
                byte[] b = new byte[p1];
                for (short i = 0; i < b.length; i++) {
                    b[i] = (byte) (i * 3);
                }
                n = Util.arrayCopyNonAtomic(b, (short) 0, buf, (short) 0, (short) b.length);
                break;
            }
            case 0x45: {
                short[] s = new short[p1];
                short sum = 0;
                for (short i = 0; i < s.length; i++) {
                    s[i] = (short) (i * i);
                }
                for (short i = 0; i < s.length; i++) {
                    sum += s[i];
                }
                n = Util.setShort(buf, (short) 0, sum);
                break;
            }
            case 0x46: {
                int[] v = new int[p1];
                for (short i = 0; i < v.length; i++) {
                    v[i] = i * 100000;
                }
                int last = v[(short) (p1 - 1)];
                Util.setShort(buf, (short) 0, (short) (last >> 16));
                n = Util.setShort(buf, (short) 2, (short) last);
                break;
            }
            case 0x47: {
                boolean[] z = new boolean[p1];
                byte c = 0;
                for (short i = 0; i < z.length; i += 3) {
                    z[i] = true;
                }
                for (short i = 0; i < z.length; i++) {
                    if (z[i]) {
                        c++;
                    }
                }
                buf[0] = c;
                n = 1;
                break;
            }
            case 0x48: {
                Object[] o = new Object[3];
                o[0] = JCSystem.getAID();
                // A persistent byte[]: the APDU buffer may not be stored in an array (JCRE §6.2.2).
                o[1] = scratch;
                buf[0] = (byte) (o[0] instanceof AID ? 1 : 0);
                buf[1] = (byte) (o[1] instanceof byte[] ? 1 : 0);
                buf[2] = (byte) (o[2] == null ? 1 : 0);
                n = 3;
                break;
            }
            case 0x49:
                try {
                    buf[0] = STATIC_BYTES[p1];
                    n = 1;
                } catch (ArrayIndexOutOfBoundsException e) {
                    ISOException.throwIt(ISO7816.SW_WRONG_P1P2);
                }
                break;
            case 0x4A:
                try {
                    short[] s = new short[(short) (p1 - 300)];
                    n = (short) s.length;
                } catch (NegativeArraySizeException e) {
                    ISOException.throwIt(ISO7816.SW_RECORD_NOT_FOUND);
                }
                break;
            case 0x4B:
                try {
                    nullArray[0] = 1;
                } catch (NullPointerException e) {
                    ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
                }
                break;
            case 0x4C:
                counter[0]++;
                n = Util.setShort(buf, (short) 0, counter[0]);
                break;
            case 0x4D:
                scratch[0] += (byte) p1;
                buf[0] = scratch[0];
                n = 1;
                break;
            case 0x4E: {
                Object[] m = new Object[2];
                m[0] = new byte[2];
                m[1] = new byte[3];
                buf[0] = (byte) (((byte[]) m[0]).length + ((byte[]) m[1]).length);
                n = 1;
                break;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
