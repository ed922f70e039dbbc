package gpse.test.fwserver;

import gpse.test.lib.LibMath;
import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Shareable;
import javacard.framework.Util;

/**
 * Server: offers a `gpse.test.lib.Counter` through `getShareableInterfaceObject` (parameter 01),
 * whose `leak()` hands out the reference of a persistent array of this context, which other
 * contexts cannot use (JCRE §6.2.8.2). (An applet package exports only its Shareable
 * interfaces, JCVM §4.5, so no other package can name `Server` itself.)
 *
 * CLA 80, INS → response:
 *   80 -- → the counter's total (2 bytes)
 *   81 -- → LibMath.sum(secret) from the owning context: 000A (1+2+3+4)
 *   other INS: 6D00.
 */
public class Server extends Applet {
    /** Owned by this package's context. */
    static byte[] secret;
    private final CounterImpl counter;

    private Server() {
        secret = new byte[] {1, 2, 3, 4};
        counter = new CounterImpl();
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Server();
    }

    public Shareable getShareableInterfaceObject(AID clientAID, byte parameter) {
        return parameter == 1 ? counter : null;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case (byte) 0x80:
                Util.setShort(buf, (short) 0, counter.total());
                break;
            case (byte) 0x81:
                Util.setShort(buf, (short) 0, LibMath.sum(secret, (short) 0, (short) secret.length));
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }
}
