package gpse.test.flow;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

/**
 * Control flow and exceptions: if/else chains, loops, tableswitch and lookupswitch, recursion,
 * try/catch/finally (nested, rethrown), a user exception class extending ISOException, athrow of
 * API exceptions. Built with -debug (Debug component, CAP format 2.2).
 *
 * CLA 80, INS P1 P2 → response (SW 9000 unless said):
 *   50 P1 → tableswitch on P1 (0-5): 0→'A' 1→'B' 2→'C' 3→'D' 4→'E' 5→'F', else '?' (1 byte)
 *   51 P1 → lookupswitch on P1: 0x01→10, 0x10→20, 0x7F→30, 0x80(-128)→40, else 0 (1 byte)
 *   52 P1 → fib(P1) recursively, as a short (2 bytes); P1 > 23: overflows wrap
 *   53 P1 P2 → gcd(P1, P2) iteratively (2 bytes)
 *   54 P1 → try { if P1==1 throw ISOException(6A82) } finally { counter++ }: P1=1 → 6A82,
 *           else the finally count so far (2 bytes, starts at 0 for a new instance)
 *   55 P1 → user exception FlowException(0x6300 | P1) thrown and caught, its reason
 *           returned (2 bytes)
 *   56 P1 → FlowException(0x6300 | P1) thrown and not caught → SW 63xx
 *   57 -- → 1/0 caught as ArithmeticException → 01, rethrown as ISOException 6F01 → SW 6F01
 *   58 P1 → nested try: inner finally runs, outer catch sees the inner exception: returns
 *           the trace bytes: P1=0 → 01 02 04; P1=1 → 01 03 02 04 (1 = try, 2 = inner
 *           finally, 3 = inner catch, 4 = after)
 *   59 P1 → while/do-while/for loops counting to P1: returns 3 * P1 (2 bytes)
 *   5A P1 → a ClassCastException caught (casting a byte[] held as Object to short[]) → 01
 *   5B -- → an uncaught NullPointerException → SW 6F00
 *   other INS: 6D00.
 */
public class Flow extends Applet {
    private short finallyCount;
    private Object held;
    private byte[] trace;

    private Flow() {
        trace = new byte[8];
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Flow();
    }

    static short fib(short n) {
        if (n < 2) {
            return n;
        }
        return (short) (fib((short) (n - 1)) + fib((short) (n - 2)));
    }

    static short gcd(short a, short b) {
        while (b != 0) {
            short t = (short) (a % b);
            a = b;
            b = t;
        }
        return a;
    }

    private byte table(short v) {
        switch (v) {
            case 0: return 'A';
            case 1: return 'B';
            case 2: return 'C';
            case 3: return 'D';
            case 4: return 'E';
            case 5: return 'F';
            default: return '?';
        }
    }

    private byte lookup(byte v) {
        switch (v) {
            case 0x01: return 10;
            case 0x10: return 20;
            case 0x7F: return 30;
            case -128: return 40;
            default: return 0;
        }
    }

    private short nested(byte p1, short t) {
        try {
            trace[t++] = 1;
            try {
                if (p1 == 1) {
                    FlowException.throwIt((short) 0x6301);
                }
            } catch (FlowException e) {
                trace[t++] = 3;
            } finally {
                trace[t++] = 2;
            }
        } catch (ISOException e) {
            trace[t++] = 9;
        }
        trace[t++] = 4;
        return t;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        short n = 1;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x50:
                buf[0] = table(p1);
                break;
            case 0x51:
                buf[0] = lookup(p1);
                break;
            case 0x52:
                n = Util.setShort(buf, (short) 0, fib(p1));
                break;
            case 0x53:
                n = Util.setShort(buf, (short) 0, gcd(p1, p2));
                break;
            case 0x54:
                try {
                    if (p1 == 1) {
                        ISOException.throwIt(ISO7816.SW_FILE_NOT_FOUND);
                    }
                } finally {
                    finallyCount++;
                }
                n = Util.setShort(buf, (short) 0, (short) (finallyCount - 1));
                break;
            case 0x55:
                try {
                    FlowException.throwIt((short) (0x6300 | (p1 & 0xFF)));
                } catch (FlowException e) {
                    n = Util.setShort(buf, (short) 0, e.getReason());
                }
                break;
            case 0x56:
                FlowException.throwIt((short) (0x6300 | (p1 & 0xFF)));
                break;
            case 0x57:
                try {
                    buf[0] = (byte) (p1 / p2);
                } catch (ArithmeticException e) {
                    ISOException.throwIt((short) 0x6F01);
                }
                break;
            case 0x58: {
                short t = nested(p1, (short) 0);
                n = Util.arrayCopyNonAtomic(trace, (short) 0, buf, (short) 0, t);
                break;
            }
            case 0x59: {
                short c = 0;
                short i = 0;
                while (i < p1) {
                    c++;
                    i++;
                }
                i = 0;
                if (p1 > 0) {
                    do {
                        c++;
                        i++;
                    } while (i < p1);
                }
                for (i = 0; i < p1; i++) {
                    c++;
                }
                n = Util.setShort(buf, (short) 0, c);
                break;
            }
            case 0x5A:
                // A persistent byte[]: the APDU buffer itself may not be stored (JCRE §6.2.2).
                held = trace;
                try {
                    short[] s = (short[]) held;
                    buf[0] = (byte) s.length;
                } catch (ClassCastException e) {
                    buf[0] = 1;
                }
                break;
            case 0x5B:
                held = null;
                buf[0] = (byte) ((byte[]) held).length;
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
