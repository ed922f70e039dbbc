package gpse.test.arith;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * Arithmetic and logic on short, byte and int (built with the int flag, converter -i).
 * Operands come from the command data: A = bytes 0-1, B = bytes 2-3 (shorts, big-endian);
 * int INS read A = bytes 0-3, B = bytes 4-7. Responses are big-endian.
 *
 * CLA 80, INS → response (SW 9000 unless said):
 *   10 A+B (2 bytes)          11 A-B          12 A*B          13 A/B (B=0: SW 6F00, ArithmeticException)
 *   14 A%B                    15 -A           16 A<<B         17 A>>B (arithmetic)      18 A>>>B (on short, 0xFFFF mask)
 *   19 A&B                    1A A|B          1B A^B          1C ~A
 *   1D (byte)A as short, e.g. A=0x0180 → 0xFF80   1E (byte)(A+B) as short
 *   1F sinc: A + 1 + 100 - 3 (local increments)
 *   20 A+B int (4 bytes)      21 A-B int      22 A*B int      23 A/B int (B=0: 6F00)
 *   24 A%B int                25 -A int       26 A<<B int     27 A>>B int    28 A>>>B int
 *   29 A&B int                2A A|B int      2B A^B int
 *   2C compare A B (int): 01 if A<B, 00 if equal, FF if A>B (1 byte)
 *   2D (short)A int → 2 bytes; 2E (byte)A int → 1 byte; 2F iinc: A + 1000000 (4 bytes)
 *   30 max(A,B) short via conditional (2 bytes)  31 sum 1..A (short loop)
 *   other INS: 6D00; CLA not 80: 6E00.
 */
public class Arith extends Applet {
    private Arith() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Arith();
    }

    private static int getInt(byte[] b, short off) {
        return ((int) Util.getShort(b, off) << 16) | (Util.getShort(b, (short) (off + 2)) & 0xFFFF);
    }

    private static void putInt(byte[] b, short off, int v) {
        Util.setShort(b, off, (short) (v >> 16));
        Util.setShort(b, (short) (off + 2), (short) v);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != (byte) 0x80) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        apdu.setIncomingAndReceive();
        short d = ISO7816.OFFSET_CDATA;
        short a = Util.getShort(buf, d);
        short b = Util.getShort(buf, (short) (d + 2));
        int ia = getInt(buf, d);
        int ib = getInt(buf, (short) (d + 4));
        short r = 0;
        short len = 2;
        int ir = 0;
        boolean isInt = false;
        byte ins = buf[ISO7816.OFFSET_INS];
        switch (ins) {
            case 0x10: r = (short) (a + b); break;
            case 0x11: r = (short) (a - b); break;
            case 0x12: r = (short) (a * b); break;
            case 0x13: r = (short) (a / b); break;
            case 0x14: r = (short) (a % b); break;
            case 0x15: r = (short) -a; break;
            case 0x16: r = (short) (a << b); break;
            case 0x17: r = (short) (a >> b); break;
            case 0x18: r = (short) ((a & 0xFFFF) >>> b); break;
            case 0x19: r = (short) (a & b); break;
            case 0x1A: r = (short) (a | b); break;
            case 0x1B: r = (short) (a ^ b); break;
            case 0x1C: r = (short) ~a; break;
            case 0x1D: r = (byte) a; break;
            case 0x1E: r = (byte) (a + b); break;
            case 0x1F: {
                short x = a;
                x++;
                x += 100;
                x -= 3;
                r = x;
                break;
            }
            case 0x20: ir = ia + ib; isInt = true; break;
            case 0x21: ir = ia - ib; isInt = true; break;
            case 0x22: ir = ia * ib; isInt = true; break;
            case 0x23: ir = ia / ib; isInt = true; break;
            case 0x24: ir = ia % ib; isInt = true; break;
            case 0x25: ir = -ia; isInt = true; break;
            case 0x26: ir = ia << ib; isInt = true; break;
            case 0x27: ir = ia >> ib; isInt = true; break;
            case 0x28: ir = ia >>> ib; isInt = true; break;
            case 0x29: ir = ia & ib; isInt = true; break;
            case 0x2A: ir = ia | ib; isInt = true; break;
            case 0x2B: ir = ia ^ ib; isInt = true; break;
            case 0x2C:
                buf[0] = (byte) (ia < ib ? 1 : (ia == ib ? 0 : -1));
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case 0x2D: r = (short) ia; break;
            case 0x2E:
                buf[0] = (byte) ia;
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case 0x2F: {
                int x = ia;
                x += 1000000;
                ir = x;
                isInt = true;
                break;
            }
            case 0x30: r = a > b ? a : b; break;
            case 0x31: {
                short s = 0;
                for (short i = 1; i <= a; i++) {
                    s += i;
                }
                r = s;
                break;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        if (isInt) {
            putInt(buf, (short) 0, ir);
            len = 4;
        } else {
            Util.setShort(buf, (short) 0, r);
        }
        apdu.setOutgoingAndSend((short) 0, len);
    }
}
