package gpse.test.fwclient;

import gpse.test.lib.Counter;
import gpse.test.lib.LibMath;
import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;

/**
 * Client: uses `fwserver`'s Counter through the firewall (JCRE §6.2.4-6.2.8), and tries to use
 * the server's array that `Counter.leak()` hands out.
 *
 * CLA 80, INS P1 → response (SW 9000 unless said):
 *   50 P1 → getAppletShareableInterfaceObject(server, P1): null → 6A88; else Counter.add(1),
 *           the new total (2 bytes)
 *   51 -- → Counter.whoCalled(APDU buffer, 0): the previous context's AID as the server saw it
 *           (this instance's AID)
 *   52 P1 → reads leak()[0]: SecurityException; P1=0 catches it → 01, P1=1 does not → 6F00
 *   53 -- → leak().length (arraylength of another context's array): SecurityException caught
 *           → 01
 *   54 -- → LibMath.sum(APDU buffer 0..3 = 01 02 03 04) run in this context: 000A
 *   other INS: 6D00.
 */
public class Client extends Applet {
    private static final byte[] SERVER = {
        (byte) 0xA0, 0x00, 0x00, 0x04, 0x76, 0x67, 0x70, 0x73, 0x65, 0x01, 0x08, 0x01
    };

    private Client() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Client();
    }

    private Counter counter(byte parameter) {
        AID server = JCSystem.lookupAID(SERVER, (short) 0, (byte) SERVER.length);
        if (server == null) {
            ISOException.throwIt(ISO7816.SW_FILE_NOT_FOUND);
        }
        Counter c = (Counter) JCSystem.getAppletShareableInterfaceObject(server, parameter);
        if (c == null) {
            ISOException.throwIt(ISO7816.SW_RECORD_NOT_FOUND);
        }
        return c;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        short n = 2;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x50:
                Util.setShort(buf, (short) 0, counter(p1).add((short) 1));
                break;
            case 0x51:
                n = counter((byte) 1).whoCalled(buf, (short) 0);
                break;
            case 0x52: {
                byte[] secret = counter((byte) 1).leak();
                if (p1 == 0) {
                    try {
                        buf[0] = secret[0];
                        buf[0] = 0;
                    } catch (SecurityException e) {
                        buf[0] = 1;
                    }
                } else {
                    buf[0] = secret[0];
                }
                n = 1;
                break;
            }
            case 0x53:
                try {
                    buf[0] = (byte) counter((byte) 1).leak().length;
                    buf[0] = 0;
                } catch (SecurityException e) {
                    buf[0] = 1;
                }
                n = 1;
                break;
            case 0x54:
                buf[0] = 1;
                buf[1] = 2;
                buf[2] = 3;
                buf[3] = 4;
                Util.setShort(buf, (short) 0, LibMath.sum(buf, (short) 0, (short) 4));
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
