package gpse.test.objects;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * Objects: virtual dispatch (public and package methods), an interface call, super calls,
 * static methods, static fields with initial values (byte, short, boolean, int-free), instance
 * fields of every kind of the `_this` and `_w` forms, checkcast and instanceof.
 *
 * CLA 80, INS P1 P2 → response (SW 9000 unless said):
 *   60 P1 → Square(P1).area() (2 bytes)           61 P1 P2 → Rect(P1,P2).area() (2 bytes)
 *   62 P1 P2 → Rect(P1,P2).twiceArea() (inherited, calls the override) (2 bytes)
 *   63 P1 P2 → Rect(P1,P2).squareArea() = P1*P1 (super call) (2 bytes)
 *   64 P1 P2 → ((Measured) Rect(P1,P2)).measure() = P1+P2 (interface, super) (2 bytes)
 *   65 P1 → kind() of Square(P1) and Rect(P1,1) via Shape (package-private virtual): 01 02
 *   66 -- → static fields: SB (byte 0x12), SS (short 0x3456), SZ (true → 01), COUNT (short,
 *           initial 7) — returns 12 3456 01 then COUNT (2 bytes), and COUNT is incremented
 *   67 P1 → instanceof: Shape s = P1==0 ? Square : Rect; returns s instanceof Rect,
 *           s instanceof Square, s instanceof Measured as 3 bytes (P1=0: 00 01 01; else 01 01 01)
 *   68 P1 → checkcast: (Rect) of a Square (P1=0) → ClassCastException caught → SW 6982;
 *           of a Rect (P1≠0) → 01
 *   69 -- → instance fields: b (byte), s (short), flag (boolean), ref (Object) set and read back
 *           through this: returns b=05 s=0607 flag=01 ref!=null=01 (5 bytes)
 *   6A P1 P2 → static method Objects.mix(P1, P2) = P1 * 256 + P2 (2 bytes)
 *   other INS: 6D00.
 */
public class Objects extends Applet {
    static byte SB = 0x12;
    static short SS = 0x3456;
    static boolean SZ = true;
    static short COUNT = 7;

    private byte b;
    private short s;
    private boolean flag;
    private Object ref;

    private Objects() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Objects();
    }

    static short mix(byte hi, byte lo) {
        return Util.makeShort(hi, lo);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short p1 = buf[ISO7816.OFFSET_P1];
        short p2 = buf[ISO7816.OFFSET_P2];
        short n = 2;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x60:
                Util.setShort(buf, (short) 0, new Square(p1).area());
                break;
            case 0x61:
                Util.setShort(buf, (short) 0, new Rect(p1, p2).area());
                break;
            case 0x62:
                Util.setShort(buf, (short) 0, new Rect(p1, p2).twiceArea());
                break;
            case 0x63:
                Util.setShort(buf, (short) 0, new Rect(p1, p2).squareArea());
                break;
            case 0x64: {
                Measured m = new Rect(p1, p2);
                Util.setShort(buf, (short) 0, m.measure());
                break;
            }
            case 0x65: {
                Shape a = new Square(p1);
                Shape c = new Rect(p1, (short) 1);
                buf[0] = (byte) a.kind();
                buf[1] = (byte) c.kind();
                break;
            }
            case 0x66:
                buf[0] = SB;
                Util.setShort(buf, (short) 1, SS);
                buf[3] = SZ ? (byte) 1 : (byte) 0;
                Util.setShort(buf, (short) 4, COUNT);
                COUNT++;
                n = 6;
                break;
            case 0x67: {
                Shape sh = p1 == 0 ? (Shape) new Square((short) 1) : (Shape) new Rect((short) 1, (short) 1);
                Object o = sh;
                buf[0] = (byte) (o instanceof Rect ? 1 : 0);
                buf[1] = (byte) (o instanceof Square ? 1 : 0);
                buf[2] = (byte) (o instanceof Measured ? 1 : 0);
                n = 3;
                break;
            }
            case 0x68: {
                Object o = p1 == 0 ? (Object) new Square((short) 1) : (Object) new Rect((short) 1, (short) 1);
                try {
                    Rect r = (Rect) o;
                    buf[0] = (byte) (r != null ? 1 : 0);
                } catch (ClassCastException e) {
                    ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
                }
                n = 1;
                break;
            }
            case 0x69:
                b = 5;
                s = 0x0607;
                flag = true;
                // Not the APDU buffer: a global array may not be stored in a field (JCRE §6.2.2).
                ref = this;
                buf[0] = b;
                Util.setShort(buf, (short) 1, s);
                buf[3] = flag ? (byte) 1 : (byte) 0;
                buf[4] = ref != null ? (byte) 1 : (byte) 0;
                n = 5;
                break;
            case 0x6A:
                Util.setShort(buf, (short) 0, mix((byte) p1, (byte) p2));
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
